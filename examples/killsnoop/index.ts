// killsnoop: who sends which signal to whom, as it happens.
//
//   node build/examples/killsnoop/index.js [--duration SECONDS] [--parent PID] [--ignore SIG]...
//
// Samples come from a perf event array through PerfBuffer (each with the CPU it was
// written on); commands go the other way, JS -> BPF, through a UserRingBuffer that the
// BPF program drains on its next kill().
import { once } from 'node:events';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { BpfObject, PerfBuffer, UserRingBuffer } from 'node-libbpf';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string' }, // stop after this many seconds (default: until Ctrl-C)
    parent: { type: 'string' }, // only kill() calls by children of this process
    ignore: { type: 'string', multiple: true, default: [] }, // signals to leave out (e.g. 0, the probe)
  },
});

interface KillEvent {
  pid: number;
  target: number;
  sig: number;
  comm: string;
}

async function main(): Promise<void> {
  // 1. Open, configure (.rodata before load), load, attach (the section says where).
  const obj = BpfObject.open(path.join(__dirname, 'killsnoop.bpf.o'));
  if (args.parent) obj.globals.parent_tgid = Number(args.parent);
  await obj.load();
  obj.attach();

  // 2. JS -> BPF: one typed command per ignored signal.
  const commands = new UserRingBuffer(obj.map('commands'), { type: 'struct command' });
  for (const sig of args.ignore ?? []) commands.send({ op: 'IGNORE_SIGNAL', sig: Number(sig) });

  // 3. Stop on Ctrl-C, SIGTERM or --duration: each aborts `stop`.
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  if (args.duration) setTimeout(() => stop.abort(), Number(args.duration) * 1000).unref();

  // 4. BPF -> JS: samples decoded from BTF, with the CPU; drops reported by the kernel.
  //    The open PerfBuffer keeps Node running; the abort closes it (its `signal`).
  let count = 0;
  let lost = 0;
  const events = new PerfBuffer<KillEvent>(
    obj.map('events'),
    (e, cpu) => {
      count++;
      console.log(`${e.comm.padEnd(16)} ${String(e.pid).padStart(7)} -> ${String(e.target).padStart(7)}  signal ${e.sig}  (cpu ${cpu})`);
    },
    { type: 'struct kill_event', onLost: (_cpu, n) => (lost += n), signal: stop.signal },
  );
  console.log(`tracing kill()${args.parent ? ` by children of ${args.parent}` : ''}; Ctrl-C to stop`);

  // 5. Wait for the abort, then close: the object closes the buffers made from its
  //    maps (the UserRingBuffer here) before it detaches the program.
  await once(stop.signal, 'abort');
  obj.close();
  console.log(`${count} kill() call(s), ${lost} lost`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
