// usdt: every firing of one USDT probe in a binary, with its arguments, e.g. a probe
// compiled in with <sys/sdt.h>'s STAP_PROBE3(provider, name, a, b, c).
//
//   node build/examples/usdt/index.js --binary PATH --provider P --name N [--pid PID] [--duration SECONDS]
//
// List a binary's probes with `readelf -n PATH` (the stapsdt notes).
import { once } from 'node:events';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { BpfObject, RingBuffer } from 'node-libbpf';

const { values: args } = parseArgs({
  options: {
    binary: { type: 'string' }, // an executable or shared library (a path, or a library's name)
    provider: { type: 'string' },
    name: { type: 'string' },
    pid: { type: 'string' }, // only this process (default: every process running the binary)
    duration: { type: 'string' }, // stop after this many seconds (default: until Ctrl-C)
  },
});

/** `struct usdt_event` in usdt.bpf.c, decoded from the object's BTF. */
interface UsdtEvent {
  pid: number;
  argc: number;
  args: bigint[];
  comm: string;
}

async function main(): Promise<void> {
  const { binary, provider, name } = args;
  if (!binary || !provider || !name) throw new Error('usage: --binary PATH --provider P --name N [--pid PID]');

  // 1. Open and load the object compiled from usdt.bpf.c.
  const obj = BpfObject.open(path.join(__dirname, 'usdt.bpf.o'));
  await obj.load();

  // 2. Attach to the probe: libbpf reads the binary's stapsdt note, puts a uprobe on the
  //    probe's address and records where each argument lives for bpf_usdt_arg().
  obj.program('on_probe').attachUsdt({ binary, provider, name, pid: args.pid ? Number(args.pid) : undefined });

  // 3. Stop on Ctrl-C, SIGTERM or --duration: each aborts `stop`.
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  if (args.duration) setTimeout(() => stop.abort(), Number(args.duration) * 1000).unref();

  // 4. One line per firing; the open RingBuffer keeps Node running until the abort closes it.
  new RingBuffer<UsdtEvent>(
    obj.map('events'),
    (e) => console.log(`${e.comm.padEnd(16)} ${String(e.pid).padStart(7)}  ${provider}:${name}(${e.args.slice(0, e.argc).join(', ')})`),
    { type: 'struct usdt_event', signal: stop.signal },
  );
  console.log(`tracing ${provider}:${name} in ${binary}${args.pid ? ` (pid ${args.pid})` : ''}; Ctrl-C to stop`);

  // 5. Wait for the abort, then close: detaches the probe.
  await once(stop.signal, 'abort');
  obj.close();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
