// examples/sockfilter against the real kernel: datagrams this test sends over loopback
// from two sockets reach the example's UDP socket through its BPF filter, which reports
// every one and drops those from --drop-port before the socket sees them.
import * as dgram from 'node:dgram';
import { once } from 'node:events';
import { cleanupAfterEach } from '../support/helpers';
import { startExample } from '../support/examples';

const cleanup = cleanupAfterEach();

async function sender(): Promise<{ port: number; send(payload: string, to: number): Promise<void> }> {
  const s = dgram.createSocket('udp4');
  cleanup(() => s.close());
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  return {
    port: s.address().port,
    send: (payload, to) => new Promise((resolve, reject) => s.send(payload, to, '127.0.0.1', (e) => (e ? reject(e) : resolve()))),
  };
}

describe('examples/sockfilter', () => {
  test('reports every datagram and drops those from --drop-port before the socket', async () => {
    const kept = await sender();
    const dropped = await sender();
    const run = startExample('sockfilter', ['--drop-port', String(dropped.port)], cleanup);
    const ready = await run.waitFor((l) => l.startsWith('listening'), 'the agent to start');
    const port = Number(/^listening on udp 127\.0\.0\.1:(\d+); Ctrl-C to stop$/.exec(ready)![1]);
    // The dropped ones first: once the last kept one is received, a dropped one would have been too.
    await dropped.send('drop me', port);
    await dropped.send('and me', port);
    await kept.send('hello', port);
    await kept.send('world!', port);
    await kept.send('bye', port);
    await run.waitForLines((ls) => ls.filter((l) => l.startsWith('filter: ')).length === 5 && ls.some((l) => l.startsWith('received 3 ')), 'five reports, three receptions');
    const { code, stdout, stderr } = await run.stop();
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    const from = (p: number): string => `127.0.0.1:${p} -> 127.0.0.1:${port}`;
    expect(lines.filter((l) => l.startsWith('filter: '))).toEqual([
      `filter: ${from(dropped.port)}  7 bytes  dropped`,
      `filter: ${from(dropped.port)}  6 bytes  dropped`,
      `filter: ${from(kept.port)}  5 bytes  passed`,
      `filter: ${from(kept.port)}  6 bytes  passed`,
      `filter: ${from(kept.port)}  3 bytes  passed`,
    ]);
    expect(lines.filter((l) => l.startsWith('received '))).toEqual([
      `received 5 bytes from 127.0.0.1:${kept.port}`,
      `received 6 bytes from 127.0.0.1:${kept.port}`,
      `received 3 bytes from 127.0.0.1:${kept.port}`,
    ]);
  }, 30000);
});
