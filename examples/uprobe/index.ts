// uprobe: a histogram of the sizes a process passes to malloc(), in log2 buckets.
//
//   node build/examples/uprobe/index.js --pid PID [--duration SECONDS] [--libc PATH]
//   node build/examples/uprobe/index.js [--duration SECONDS] -- command [args...]
//
// Attach a uprobe to libc's malloc for one process, count its calls by size in the
// kernel, print the histogram on Ctrl-C (or when the command exits, or after --duration).
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { setInterval } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { BpfObject } from 'node-libbpf';

const { values: args, positionals: command } = parseArgs({
  options: {
    pid: { type: 'string' },
    duration: { type: 'string' },
    libc: { type: 'string', default: 'libc' }, // a path, or 'libc': the libc.so.6 this system uses
  },
  allowPositionals: true,
});

function histogram(counts: bigint[]): string {
  let last = counts.length - 1;
  while (last >= 0 && counts[last] === 0n) last--;
  if (last < 0) return '(no malloc calls)';
  const max = counts.reduce((a, b) => (b > a ? b : a), 0n);
  const lines = ['           bytes         : count      distribution'];
  for (let b = 0; b <= last; b++) {
    const low = b === 0 ? 0n : 1n << BigInt(b);
    const high = (1n << BigInt(b + 1)) - 1n;
    const bar = '*'.repeat(Number((counts[b] * 40n) / max));
    lines.push(`${`${low} -> ${high}`.padStart(24)} : ${String(counts[b]).padEnd(10)} |${bar.padEnd(40)}|`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  if (!args.pid && command.length === 0) throw new Error('usage: --pid PID, or -- command [args...]');

  // 1. Open and load the object compiled from uprobe.bpf.c.
  const obj = BpfObject.open(path.join(__dirname, 'uprobe.bpf.o'));
  await obj.load();

  // 2. The process to watch: --pid, or a command started here (its first mallocs, before
  //    the probe is attached, are missed).
  const child = command.length > 0 ? spawn(command[0], command.slice(1), { stdio: 'inherit' }) : undefined;
  const pid = child ? child.pid! : Number(args.pid);

  // 3. Attach to malloc in libc for that process only: the kernel fires the probe in no other.
  obj.program('on_malloc').attachUprobe({ binary: args.libc!, func: 'malloc', pid });

  // 4. Count until Ctrl-C, SIGTERM, --duration or the command's exit: each aborts `stop`
  //    (a second abort does nothing), which ends the wait below.
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  child?.once('exit', () => stop.abort());
  if (args.duration) setTimeout(() => stop.abort(), Number(args.duration) * 1000).unref();
  console.log(`tracing malloc() in pid ${pid}; Ctrl-C to stop`); // once Ctrl-C is handled
  try {
    // Signal handlers do not keep Node running: this ticking timer does, until the abort.
    for await (const _ of setInterval(1000, undefined, { signal: stop.signal })) {
      // nothing to do meanwhile: the kernel counts
    }
  } catch (e) {
    if (!stop.signal.aborted) throw e;
  }

  // 5. Read the 64 buckets (an array map: one get per bucket), print, close.
  const sizes = obj.map<number, bigint>('sizes');
  const counts = Array.from({ length: 64 }, (_, b) => sizes.get(b) ?? 0n);
  const total = counts.reduce((a, b) => a + b, 0n);
  console.log(`${total} malloc() calls by pid ${pid}\n${histogram(counts)}`);
  obj.close();
  child?.kill();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
