// sockfilter: a UDP server whose socket has a BPF filter: every datagram is reported by
// the filter (addresses, ports, size), and those from --drop-port never reach the socket.
//
//   node build/examples/sockfilter/index.js [--port PORT] [--drop-port PORT] [--duration SECONDS]
//
// Try it: `echo hi > /dev/udp/127.0.0.1/PORT` from a shell.
import * as dgram from 'node:dgram';
import { once } from 'node:events';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { BpfObject, RingBuffer } from 'node-libbpf';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' }, // the UDP port to listen on, on 127.0.0.1 (0: any free one)
    'drop-port': { type: 'string' }, // drop datagrams from this source port
    duration: { type: 'string' }, // stop after this many seconds (default: until Ctrl-C)
  },
});

/** `struct packet` in sockfilter.bpf.c, decoded from the object's BTF. */
interface Packet {
  saddr: number;
  daddr: number;
  sport: number;
  dport: number;
  len: number;
  dropped: boolean;
}

const ip = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

async function main(): Promise<void> {
  // 1. Open, set the port to drop (a constant for the verifier), load.
  const obj = BpfObject.open(path.join(__dirname, 'sockfilter.bpf.o'));
  if (args['drop-port']) obj.globals.drop_port = Number(args['drop-port']);
  await obj.load();

  // 2. The socket, bound, then filtered (SO_ATTACH_BPF): from now on the kernel runs the
  //    program on each datagram before queueing it.
  const socket = dgram.createSocket('udp4');
  socket.bind(Number(args.port), '127.0.0.1');
  await once(socket, 'listening');
  obj.program('filter').attachSocket(socket);
  socket.on('message', (msg, from) => console.log(`received ${msg.length} bytes from ${from.address}:${from.port}`));

  // 3. Stop on Ctrl-C, SIGTERM or --duration: each aborts `stop`.
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  if (args.duration) setTimeout(() => stop.abort(), Number(args.duration) * 1000).unref();

  // 4. What the filter saw, one line per datagram; the socket prints its own line for
  //    each datagram it receives (the passed ones only).
  new RingBuffer<Packet>(
    obj.map('events'),
    (p) => console.log(`filter: ${ip(p.saddr)}:${p.sport} -> ${ip(p.daddr)}:${p.dport}  ${p.len} bytes  ${p.dropped ? 'dropped' : 'passed'}`),
    { type: 'struct packet', signal: stop.signal },
  );
  console.log(`listening on udp 127.0.0.1:${socket.address().port}; Ctrl-C to stop`);

  // 5. Wait for the abort, then close the socket and the object.
  await once(stop.signal, 'abort');
  socket.close();
  obj.close();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
