// fentry: every file removal (unlink, unlinkat, rm) as the kernel's do_unlinkat() sees
// it (filename_unlinkat() in newer kernels, 7.2 among them: the same function renamed): the file's name at
// entry, and at exit the result (0, or -errno such as -2, ENOENT).
//
//   node build/examples/fentry/index.js [--duration SECONDS]
//
// fentry/fexit programs attach through BPF trampolines: they need a kernel with BTF and
// a BPF JIT, and may be refused by its security policy (lockdown, LSMs): then load()
// throws a BpfError (EPERM) saying so.
import { once } from 'node:events';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { BpfObject, Btf, RingBuffer } from 'node-libbpf';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string' }, // stop after this many seconds (default: until Ctrl-C)
  },
});

/** `struct unlink_event` in fentry.bpf.c, decoded from the object's BTF. */
interface UnlinkEvent {
  pid: number;
  ret: number;
  exit: boolean;
  comm: string;
  filename: string;
}

async function main(): Promise<void> {
  // 1. Open; the sections say fentry/do_unlinkat and fexit/do_unlinkat. Where the running
  //    kernel has the function under its newer name, point both programs at it.
  const obj = BpfObject.open(path.join(__dirname, 'fentry.bpf.o'));
  const target = Btf.fromKernel().find('do_unlinkat', 'func') ? 'do_unlinkat' : 'filename_unlinkat';
  if (target !== 'do_unlinkat') for (const name of ['unlink_entry', 'unlink_exit']) obj.program(name).setAttachTarget(target);

  // 2. Load (the verifier checks each program against the function's BTF) and attach both.
  await obj.load();
  obj.attach();

  // 3. Stop on Ctrl-C, SIGTERM or --duration: each aborts `stop`.
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  if (args.duration) setTimeout(() => stop.abort(), Number(args.duration) * 1000).unref();

  // 4. One line per event; the open RingBuffer keeps Node running until the abort closes it.
  new RingBuffer<UnlinkEvent>(
    obj.map('events'),
    (e) => {
      const where = e.exit ? 'fexit ' : 'fentry';
      console.log(`${where} ${e.comm.padEnd(16)} ${String(e.pid).padStart(7)}  ${e.filename}${e.exit ? ` = ${e.ret}` : ''}`);
    },
    { type: 'struct unlink_event', signal: stop.signal },
  );
  console.log(`tracing ${target}() with fentry/fexit; Ctrl-C to stop`);

  // 5. Wait for the abort, then close: detaches both programs.
  await once(stop.signal, 'abort');
  obj.close();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
