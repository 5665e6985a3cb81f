// execcount: a live top-10 of exec() calls per command name.
//
//   npm run demo                      (from the repository root: sets up, builds, runs)
//   node build/examples/execcount/index.js [--duration SECONDS] [--interval SECONDS] [--parent PID]
//
// Load a CO-RE object, configure it through its globals, attach, read a BTF-typed
// map every second, close on Ctrl-C.
import * as path from 'node:path';
import { setInterval } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { BpfObject } from 'node-libbpf';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string' }, // stop after this many seconds (default: until Ctrl-C)
    interval: { type: 'string', default: '1' },
    parent: { type: 'string' }, // only count children of this pid
  },
});

async function main(): Promise<void> {
  // 1. Open the object compiled from execcount.bpf.c (next to this file once built).
  const obj = BpfObject.open(path.join(__dirname, 'execcount.bpf.o'));

  // 2. Configure before load: .rodata globals become constants the verifier sees.
  if (args.parent) obj.globals.parent_tgid = Number(args.parent);

  // 3. Load (CO-RE relocation + verification, off the JS thread) and attach.
  await obj.load();
  obj.attach();

  // The map's key is `struct comm_key { char comm[16]; }`, its value a u64: BTF makes
  // them { comm: string } and bigint, with no codec written here.
  const counts = obj.map<{ comm: string }, bigint>('counts');

  const print = (): void => {
    const top = [...counts.entries()].sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : 0)).slice(0, 10);
    const lines = top.map(([key, n]) => `${n.toString().padStart(8)}  ${key.comm}`);
    console.log(`${new Date().toISOString()}  ${obj.globals.total} execs\n${lines.join('\n') || '   (none yet)'}\n`);
  };

  // 4. Stop on Ctrl-C, SIGTERM or --duration: each aborts `stop`, which ends the loop.
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  if (args.duration) setTimeout(() => stop.abort(), Number(args.duration) * 1000).unref();
  console.log(`counting exec() calls${args.parent ? ` by children of ${args.parent}` : ''}; Ctrl-C to stop`);

  // 5. Print every --interval seconds until then; once more at the end, then close.
  try {
    for await (const _ of setInterval(Number(args.interval) * 1000, undefined, { signal: stop.signal })) print();
  } catch (e) {
    if (!stop.signal.aborted) throw e;
  }
  print();
  obj.close(); // detaches the program and frees the maps
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
