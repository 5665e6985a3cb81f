// kprobe: every file removal (unlink, unlinkat, rm) from a kprobe on the kernel's
// do_unlinkat() (filename_unlinkat() in newer kernels, 7.2 among them: the same function
// renamed): the file's name at entry, and from a kretprobe the result (0, or -errno).
//
//   node build/examples/kprobe/index.js [--duration SECONDS]
//
// kprobes need a kernel built with CONFIG_KPROBES: elsewhere the program loads but
// attaching throws a BpfError (ENOENT) saying so.
import { once } from 'node:events';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { BpfObject, Btf, RingBuffer } from 'node-libbpf';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string' }, // stop after this many seconds (default: until Ctrl-C)
  },
});

/** `struct unlink_event` in kprobe.bpf.c, decoded from the object's BTF. */
interface UnlinkEvent {
  pid: number;
  ret: number;
  exit: boolean;
  comm: string;
  filename: string;
}

async function main(): Promise<void> {
  // 1. Open and load (CO-RE: the BPF_CORE_READ of struct filename's field relocates here).
  const obj = BpfObject.open(path.join(__dirname, 'kprobe.bpf.o'));
  await obj.load();

  // 2. Attach both. The sections kprobe/do_unlinkat and kretprobe/do_unlinkat say where;
  //    where the running kernel has the function under its newer name, attach by hand.
  const target = Btf.fromKernel().find('do_unlinkat', 'func') ? 'do_unlinkat' : 'filename_unlinkat';
  if (target === 'do_unlinkat') obj.attach();
  else {
    obj.program('unlink_entry').attachKprobe(target);
    obj.program('unlink_exit').attachKprobe(target, { retprobe: true });
  }

  // 3. Stop on Ctrl-C, SIGTERM or --duration: each aborts `stop`.
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  if (args.duration) setTimeout(() => stop.abort(), Number(args.duration) * 1000).unref();

  // 4. One line per event; the open RingBuffer keeps Node running until the abort closes it.
  new RingBuffer<UnlinkEvent>(
    obj.map('events'),
    (e) => {
      const where = e.exit ? 'kretprobe' : 'kprobe   ';
      console.log(`${where} ${e.comm.padEnd(16)} ${String(e.pid).padStart(7)}  ${e.filename}${e.exit ? ` = ${e.ret}` : ''}`);
    },
    { type: 'struct unlink_event', signal: stop.signal },
  );
  console.log(`tracing ${target}() with a kprobe and a kretprobe; Ctrl-C to stop`);

  // 5. Wait for the abort, then close: detaches both probes.
  await once(stop.signal, 'abort');
  obj.close();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
