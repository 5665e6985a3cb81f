// profile: a sampling CPU profiler printing folded stacks for flame graphs.
//
//   node build/examples/profile/index.js [--frequency HZ] [--duration SECONDS] [--pid PID]
//
// Sample every CPU at --frequency Hz (a software cpu-clock perf event per CPU, one Link
// for all), record each sample's kernel and user stacks in a stack-trace map, and on
// Ctrl-C (or after --duration) print one line per distinct stack:
//   comm;outermost_user_frame;...;innermost_kernel_frame count
// which flamegraph.pl and speedscope read directly. The Symbolizer names the frames:
// kernel ones from /proc/kallsyms, user ones from the ELF symbols of the process's mapped
// files, JIT-ed code (node --perf-basic-prof) from the process's perf map.
import * as path from 'node:path';
import { setInterval } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { BpfObject, StackTraces, Symbolizer, type Frame } from 'node-libbpf';

const { values: args } = parseArgs({
  options: {
    frequency: { type: 'string', default: '99' },
    duration: { type: 'string' },
    pid: { type: 'string' }, // only this process (default: every process but idle)
  },
});

// A frame as folded stacks show it: the function, else module+offset, else the address
// (no ';' or spaces: they separate frames and the count).
function label(f: Frame): string {
  const text = f.name ?? (f.module !== undefined ? `${path.basename(f.module)}+0x${(f.offset ?? 0).toString(16)}` : `0x${f.address.toString(16)}`);
  return text.replace(/[;\s]+/g, '_');
}

async function main(): Promise<void> {
  // 1. Open, configure (.rodata: the pid filter), load.
  const obj = BpfObject.open(path.join(__dirname, 'profile.bpf.o'));
  if (args.pid) obj.globals.target_pid = Number(args.pid);
  await obj.load();

  // 2. One cpu-clock perf event per online CPU, all owned by the one Link returned.
  const link = obj.program('on_sample').attachPerfEvent({ type: 'software', config: 'cpu-clock', frequency: Number(args.frequency) });

  // 3. Sample until Ctrl-C, SIGTERM or --duration: each aborts `stop` (a second abort
  //    does nothing), which ends the wait below; everything after it runs once.
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  if (args.duration) setTimeout(() => stop.abort(), Number(args.duration) * 1000).unref();
  console.error(`sampling all CPUs at ${args.frequency} Hz${args.pid ? ` (pid ${args.pid})` : ''}; Ctrl-C to print folded stacks`); // once Ctrl-C is handled
  try {
    // Signal handlers do not keep Node running: this ticking timer does, until the abort.
    for await (const _ of setInterval(1000, undefined, { signal: stop.signal })) {
      // nothing to do meanwhile: the kernel counts
    }
  } catch (e) {
    if (!stop.signal.aborted) throw e;
  }

  // 4. Stop sampling, then read the counts and stacks and name the frames in batches:
  //    every kernel stack in one call, each process's in one (a process gone by now keeps
  //    hexadecimal addresses).
  link.destroy();
  const counts = obj.map<{ pid: number; kernel_stack: number; user_stack: number; comm: string }, bigint>('counts');
  const stacks = new StackTraces(obj.map('stack_traces')); // id -> BigUint64Array, innermost first
  const samples = [...counts];
  const symbolizer = new Symbolizer({ lines: false });
  const kernelStacks = samples.map(([key]) => stacks.get(key.kernel_stack));
  const kernelNames = labels(await symbolizer.symbolize(concat(kernelStacks), { kernel: true }), kernelStacks);
  const userNames: string[][] = [];
  for (const pid of new Set(samples.map(([key]) => key.pid))) {
    const mine = samples.flatMap(([key], i) => (key.pid === pid ? [i] : []));
    const userStacks = mine.map((i) => stacks.get(samples[i][0].user_stack));
    const names = labels(await symbolizer.symbolize(concat(userStacks), { pid }), userStacks);
    mine.forEach((i, j) => (userNames[i] = names[j]));
  }
  const folded = new Map<string, bigint>();
  samples.forEach(([key, n], i) => {
    const line = [key.comm.replace(/[; ]/g, '_'), ...userNames[i], ...kernelNames[i]].join(';');
    folded.set(line, (folded.get(line) ?? 0n) + n);
  });

  // 5. Folded stacks, most frequent first; then close (frees the maps).
  const sorted = [...folded].sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : 0));
  process.stdout.write(sorted.map(([line, n]) => `${line} ${n}\n`).join(''));
  obj.close();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

function concat(stacks: (BigUint64Array | undefined)[]): BigUint64Array {
  const out = new BigUint64Array(stacks.reduce((n, s) => n + (s?.length ?? 0), 0));
  let at = 0;
  for (const s of stacks) {
    if (s) out.set(s, at);
    at += s?.length ?? 0;
  }
  return out;
}

// The frames of concatenated stacks, split back per stack, outermost first.
function labels(frames: Frame[], stacks: (BigUint64Array | undefined)[]): string[][] {
  let at = 0;
  return stacks.map((s) => frames.slice(at, (at += s?.length ?? 0)).reverse().map(label));
}
