// lsm: protect one process from signals. A BPF LSM program on the task_kill hook refuses
// every signal sent to it (kill, Ctrl-C from its terminal, even root's) with EPERM,
// until this agent stops; signal 0 (the "is it alive" check) still works.
//
//   node build/examples/lsm/index.js --pid PID [--duration SECONDS]
//
// BPF LSM needs a kernel built with CONFIG_BPF_LSM and booted with `bpf` in its lsm=
// list; elsewhere, or under a policy that forbids it, load() throws a BpfError (EPERM).
import { once } from 'node:events';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { BpfObject, RingBuffer } from 'node-libbpf';

const { values: args } = parseArgs({
  options: {
    pid: { type: 'string' }, // the process to protect
    duration: { type: 'string' }, // stop after this many seconds (default: until Ctrl-C)
  },
});

/** `struct refusal` in lsm.bpf.c, decoded from the object's BTF. */
interface Refusal {
  sender: number;
  target: number;
  sig: number;
  comm: string;
}

async function main(): Promise<void> {
  if (!args.pid) throw new Error('usage: --pid PID (the process to protect)');

  // 1. Open, set the pid to protect (a constant for the verifier), load, attach: the
  //    section lsm/task_kill names the hook.
  const obj = BpfObject.open(path.join(__dirname, 'lsm.bpf.o'));
  obj.globals.protected_pid = Number(args.pid);
  await obj.load();
  obj.attach();

  // 2. Stop on Ctrl-C, SIGTERM or --duration: each aborts `stop`. (This agent's own
  //    signals are not refused: only the protected pid's are.)
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  if (args.duration) setTimeout(() => stop.abort(), Number(args.duration) * 1000).unref();

  // 3. One line per refused signal; the open RingBuffer keeps Node running until the abort.
  let refused = 0;
  new RingBuffer<Refusal>(
    obj.map('events'),
    (e) => {
      refused++;
      console.log(`refused signal ${e.sig} to ${e.target} from ${e.comm} (pid ${e.sender})`);
    },
    { type: 'struct refusal', signal: stop.signal },
  );
  console.log(`protecting pid ${args.pid} from signals; Ctrl-C to stop`);

  // 4. Wait for the abort, then close: the policy ends with the program's link.
  await once(stop.signal, 'abort');
  obj.close();
  console.log(`${refused} signal(s) refused`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
