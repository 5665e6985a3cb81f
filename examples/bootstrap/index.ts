// bootstrap: every process's exec and exit, with how long it lived and how it ended.
//
//   node build/examples/bootstrap/index.js [--min-duration MS] [--duration SECONDS]
//
// Load a CO-RE object with a filter set through its globals, attach its two
// tracepoints, and read its events with `for await` until Ctrl-C (or --duration).
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { BpfObject, RingBuffer } from 'node-libbpf';

const { values: args } = parseArgs({
  options: {
    'min-duration': { type: 'string' }, // only processes that lived this long (ms); no exec lines then
    duration: { type: 'string' }, // stop after this many seconds (default: until Ctrl-C)
  },
});

/** `struct event` in bootstrap.bpf.c, as RingBuffer decodes it from the object's BTF. */
interface ProcEvent {
  duration_ns: bigint;
  pid: number;
  ppid: number;
  exit_code: number;
  signal: number;
  exit_event: boolean;
  comm: string;
  filename: string;
}

function line(e: ProcEvent): string {
  const time = new Date().toISOString().slice(11, 19);
  const head = `${time} ${e.exit_event ? 'EXIT' : 'EXEC'} ${e.comm.padEnd(16)} ${String(e.pid).padStart(7)} ${String(e.ppid).padStart(7)}`;
  if (!e.exit_event) return `${head} ${e.filename}`;
  const how = e.signal ? `signal ${e.signal}` : `exit ${e.exit_code}`;
  // duration_ns is 0 for a process whose exec came before the agent started.
  const lived = e.duration_ns > 0n ? ` (${(Number(e.duration_ns) / 1e6).toFixed(0)}ms)` : '';
  return `${head} [${how}]${lived}`;
}

async function main(): Promise<void> {
  const minMs = args['min-duration'] === undefined ? 0 : Number(args['min-duration']);
  if (!Number.isFinite(minMs) || minMs < 0) throw new Error(`--min-duration: expected milliseconds, got ${args['min-duration']}`);

  // 1. Open, then configure before load: min_duration_ns is `const volatile`, so the
  //    verifier sees it as a constant and drops the branches it makes dead.
  const obj = BpfObject.open(path.join(__dirname, 'bootstrap.bpf.o'));
  obj.globals.min_duration_ns = BigInt(Math.round(minMs * 1e6));

  // 2. Load (CO-RE relocations against this kernel's BTF, verification) and attach both
  //    programs where their section names say: tp/sched/sched_process_exec and _exit.
  await obj.load();
  obj.attach();

  // 3. Stop on Ctrl-C, SIGTERM or --duration: each aborts `stop`, which ends the `for await`.
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  if (args.duration) setTimeout(() => stop.abort(), Number(args.duration) * 1000).unref();

  // 4. Events, decoded from BTF by their struct's name, in the order the kernel wrote them.
  const events = new RingBuffer<ProcEvent>(obj.map('events'), { type: 'struct event', signal: stop.signal });
  console.log(minMs ? `tracing processes that live ${minMs}ms or more; Ctrl-C to stop` : 'tracing execs and exits; Ctrl-C to stop');
  console.log(`${'TIME'.padEnd(8)} EVENT ${'COMM'.padEnd(16)} ${'PID'.padStart(7)} ${'PPID'.padStart(7)} FILENAME/EXIT`);
  let dropped = 0n;
  try {
    for await (const e of events) console.log(line(e));
  } catch (e) {
    if (!stop.signal.aborted) throw e;
  } finally {
    // NLB_RINGBUF_DROPS(events) counts failed reservations per CPU (a full ring).
    for (const n of obj.map<number, bigint[]>('events_drops').get(0) ?? []) dropped += n;
    obj.close(); // closes the RingBuffer and detaches both programs
  }
  if (dropped) console.error(`${dropped} events were dropped (the ring was full)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
