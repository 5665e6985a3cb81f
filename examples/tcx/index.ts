// tcx: packets and bytes per protocol (tcp, udp, icmp, other), ingress and egress, on one
// network interface, every second.
//
//   node build/examples/tcx/index.js IFNAME [--duration SECONDS] [--interval SECONDS]
//
// Load, attach two tc programs to the interface as tcx links (classic tc on kernels
// before 6.6), read an array map of counters each interval, close on Ctrl-C.
import * as path from 'node:path';
import { setInterval } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { BpfObject } from 'node-libbpf';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    duration: { type: 'string' }, // stop after this many seconds (default: until Ctrl-C)
    interval: { type: 'string', default: '1' },
  },
});
const ifname = positionals[0];
if (!ifname) {
  console.error('usage: node build/examples/tcx/index.js IFNAME [--duration SECONDS] [--interval SECONDS]');
  process.exit(2);
}

const PROTOS = ['tcp', 'udp', 'icmp', 'other'] as const;
const DIRECTIONS = ['ingress', 'egress'] as const;
type Counter = { packets: bigint; bytes: bigint };

async function main(): Promise<void> {
  // 1. Open and load the object compiled from tcx.bpf.c (next to this file once built).
  const obj = BpfObject.open(path.join(__dirname, 'tcx.bpf.o'));
  await obj.load();

  // 2. Attach each program to the interface: the direction comes from its section
  //    (tcx/ingress, tcx/egress). A bad name throws a RangeError naming the interface.
  obj.program('count_ingress').attachTcx(ifname);
  obj.program('count_egress').attachTcx(ifname);

  // The map is an array indexed by direction * 4 + protocol, with a
  // `struct counter { u64 packets; u64 bytes; }` decoded from BTF as { packets, bytes }.
  const stats = obj.map<number, Counter>('stats');
  const snapshot = (): Counter[] => [...stats.values()];
  const start = snapshot();
  let last = start;

  const table = (now: Counter[], since: Counter[]): string => {
    const rows = DIRECTIONS.flatMap((dir, d) =>
      PROTOS.map((proto, p) => {
        const i = d * PROTOS.length + p;
        const packets = now[i].packets - since[i].packets;
        const bytes = now[i].bytes - since[i].bytes;
        return `${dir.padEnd(9)}  ${proto.padEnd(6)}${String(packets).padStart(10)}${String(bytes).padStart(12)}`;
      }),
    );
    return `DIRECTION  PROTO    PACKETS       BYTES\n${rows.join('\n')}`;
  };

  // 3. Stop on Ctrl-C, SIGTERM or --duration: each aborts `stop`, which ends the loop.
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  if (args.duration) setTimeout(() => stop.abort(), Number(args.duration) * 1000).unref();
  console.log(`counting packets on ${ifname}; Ctrl-C to stop`);

  // 4. Every interval until then: what the kernel counted since the last one.
  try {
    for await (const _ of setInterval(Number(args.interval) * 1000, undefined, { signal: stop.signal })) {
      const now = snapshot();
      console.log(`${new Date().toISOString()}  ${ifname}, last ${args.interval} s\n${table(now, last)}\n`);
      last = now;
    }
  } catch (e) {
    if (!stop.signal.aborted) throw e;
  }

  // 5. The totals, then close: destroying the links detaches the programs.
  console.log(`total on ${ifname}\n${table(snapshot(), start)}`);
  obj.close();
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
