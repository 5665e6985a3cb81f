// minimal: count one process's write() calls and bytes from a tracepoint, print them
// every second. Without --pid it watches itself: each line it prints is one more write().
//
//   node build/examples/minimal/index.js [--pid PID] [--duration SECONDS] [--interval SECONDS]
//
// Open, set a .rodata global, load, attach, read .bss globals live, close on Ctrl-C.
import * as path from 'node:path';
import { setInterval } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { BpfObject } from 'node-libbpf';

const { values: args } = parseArgs({
  options: {
    pid: { type: 'string' }, // the process to watch (default: this one)
    duration: { type: 'string' }, // stop after this many seconds (default: until Ctrl-C)
    interval: { type: 'string', default: '1' },
  },
});

async function main(): Promise<void> {
  const pid = args.pid ? Number(args.pid) : process.pid;

  // 1. Open the object compiled from minimal.bpf.c; set the pid before load (a constant
  //    for the verifier: `const volatile` in C).
  const obj = BpfObject.open(path.join(__dirname, 'minimal.bpf.o'));
  obj.globals.target_pid = pid;

  // 2. Load and attach: the section name tp/syscalls/sys_enter_write says where.
  await obj.load();
  obj.attach();

  // 3. `writes` and `bytes` are u64 .bss globals: read live, as bigint.
  const print = (): void => console.log(`pid ${pid}: ${obj.globals.writes} write() calls, ${obj.globals.bytes} bytes`);

  // 4. Stop on Ctrl-C, SIGTERM or --duration: each aborts `stop`, which ends the loop.
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  if (args.duration) setTimeout(() => stop.abort(), Number(args.duration) * 1000).unref();
  console.log(`counting write() calls of pid ${pid}; Ctrl-C to stop`);

  // 5. Print every --interval seconds until then; once more at the end, then close.
  try {
    for await (const _ of setInterval(Number(args.interval) * 1000, undefined, { signal: stop.signal })) print();
  } catch (e) {
    if (!stop.signal.aborted) throw e;
  }
  print();
  obj.close(); // detaches the program and frees its memory
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
