// ksyscall: every kill() and tgkill() call (who signals whom, with which signal), from
// kprobes on the syscalls' entry points that read the syscall's own arguments.
//
//   node build/examples/ksyscall/index.js [--duration SECONDS]
//
// ksyscall programs are kprobes: they need a kernel built with CONFIG_KPROBES; elsewhere
// attaching throws a BpfError (ENOENT) saying so.
import { once } from 'node:events';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { BpfObject, RingBuffer } from 'node-libbpf';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string' }, // stop after this many seconds (default: until Ctrl-C)
  },
});

/** `struct signal_event` in ksyscall.bpf.c, decoded from the object's BTF. */
interface SignalEvent {
  pid: number;
  target: number;
  tid: number;
  sig: number;
  comm: string;
}

async function main(): Promise<void> {
  // 1. Open, load, attach: libbpf resolves ksyscall/kill to this architecture's
  //    syscall symbol (__x64_sys_kill on x86-64) and attaches a kprobe there.
  const obj = BpfObject.open(path.join(__dirname, 'ksyscall.bpf.o'));
  await obj.load();
  obj.attach();

  // 2. Stop on Ctrl-C, SIGTERM or --duration: each aborts `stop`.
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  if (args.duration) setTimeout(() => stop.abort(), Number(args.duration) * 1000).unref();

  // 3. One line per call; the open RingBuffer keeps Node running until the abort closes it.
  new RingBuffer<SignalEvent>(
    obj.map('events'),
    (e) => {
      const call = e.tid ? `tgkill(${e.target}, ${e.tid}, ${e.sig})` : `kill(${e.target}, ${e.sig})`;
      console.log(`${e.comm.padEnd(16)} ${String(e.pid).padStart(7)}  ${call}`);
    },
    { type: 'struct signal_event', signal: stop.signal },
  );
  console.log('tracing kill() and tgkill(); Ctrl-C to stop');

  // 4. Wait for the abort, then close: detaches both kprobes.
  await once(stop.signal, 'abort');
  obj.close();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
