// task_iter: list the processes (or threads) on this machine from a BPF task iterator:
// each read of the iterator runs the program over every task and returns what it printed.
//
//   node build/examples/task_iter/index.js [--pid PID] [--threads] [--interval SECONDS] [--duration SECONDS]
//
// Without --interval: one listing, then exit. With it: a new listing every interval.
import * as path from 'node:path';
import { setInterval } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { BpfObject } from 'node-libbpf';

const { values: args } = parseArgs({
  options: {
    pid: { type: 'string' }, // only this process's tasks
    threads: { type: 'boolean', default: false }, // every thread, not only each process's main thread
    interval: { type: 'string' }, // list again every this many seconds
    duration: { type: 'string' }, // with --interval: stop after this many seconds (default: Ctrl-C)
  },
});

async function main(): Promise<void> {
  // 1. Open, configure (a .rodata constant), load.
  const obj = BpfObject.open(path.join(__dirname, 'task_iter.bpf.o'));
  obj.globals.threads = args.threads!;
  await obj.load();

  // 2. Attach the iterator: with --pid the kernel walks only that process's threads.
  const iter = obj.program('list_tasks').attachIter(args.pid ? { task: { pid: Number(args.pid) } } : undefined);

  // 3. One listing: every read runs the program from the first task to the last.
  const list = async (): Promise<void> => {
    process.stdout.write((await iter.readAsync()).toString());
  };
  await list();

  // 4. With --interval: list again until Ctrl-C, SIGTERM or --duration abort `stop`.
  if (args.interval) {
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    process.once('SIGTERM', () => stop.abort());
    if (args.duration) setTimeout(() => stop.abort(), Number(args.duration) * 1000).unref();
    try {
      for await (const _ of setInterval(Number(args.interval) * 1000, undefined, { signal: stop.signal })) {
        console.log();
        await list();
      }
    } catch (e) {
      if (!stop.signal.aborted) throw e;
    }
  }
  obj.close(); // destroys the iterator's link
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
