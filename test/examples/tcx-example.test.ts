// examples/tcx against the real kernel: the agent counts on the host side of a veth pair
// while a process inside the peer's network namespace sends a known number of UDP
// datagrams of a known size, and this process sends some back; the totals it prints when
// stopped must show exactly those.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { cleanupAfterEach } from '../support/helpers';
import { makeVeth, nodeInNetns, udpReceiver, udpSend, udpSendScript } from '../support/net';

const root = path.join(__dirname, '..', '..');
const agent = path.join(root, 'build/examples/tcx/index.js');
const cleanup = cleanupAfterEach();

/** Starts the agent; resolves once it printed its first line, with a stop() that SIGINTs it. */
function startAgent(args: string[]): Promise<{ stop(): Promise<{ code: number | null; stdout: string; stderr: string }> }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [agent, ...args], { cwd: root });
    cleanup(() => proc.kill('SIGKILL'));
    let stdout = '';
    let stderr = '';
    const closed = new Promise<{ code: number | null; stdout: string; stderr: string }>((res) => proc.on('close', (code) => res({ code, stdout, stderr })));
    proc.stderr.on('data', (d) => (stderr += d));
    proc.on('error', reject);
    proc.stdout.on('data', (d) => {
      const first = stdout === '';
      stdout += d;
      if (first) resolve({ stop: () => (proc.kill('SIGINT'), closed) });
    });
    void closed.then((r) => (r.stdout === '' ? reject(new Error(`agent exited: ${r.stderr}`)) : undefined));
  });
}

function totals(stdout: string): Map<string, [number, number]> {
  const last = stdout.split('total on ')[1] ?? '';
  const rows = new Map<string, [number, number]>();
  for (const [, dir, proto, packets, bytes] of last.matchAll(/^(ingress|egress)\s+(\w+)\s+(\d+)\s+(\d+)$/gm)) {
    rows.set(`${dir} ${proto}`, [Number(packets), Number(bytes)]);
  }
  return rows;
}

describe('examples/tcx', () => {
  test('counts UDP packets and bytes per direction on a veth, by interface name', async () => {
    const veth = makeVeth();
    cleanup(() => veth.remove());
    const rx = await udpReceiver(veth.hostIp);
    cleanup(() => rx.close());
    const agentRun = await startAgent([veth.host, '--interval', '1']);
    const payload = 'x'.repeat(100); // frames of 14 + 20 + 8 + 100 = 142 bytes
    await nodeInNetns(veth.ns, udpSendScript(veth.hostIp, rx.port, [payload, payload, payload, payload, payload]));
    await rx.until((r) => r.length === 5);
    await udpSend(veth.peerIp, 9, [payload, payload, payload]); // to the namespace: egress
    const { code, stdout, stderr } = await agentRun.stop();
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^counting packets on ${veth.host}; Ctrl-C to stop$`, 'm'));
    const t = totals(stdout);
    expect(t.get('ingress udp')).toEqual([5, 710]);
    expect(t.get('egress udp')).toEqual([3, 426]);
    expect(t.get('ingress tcp')).toEqual([0, 0]);
    expect(t.get('egress tcp')).toEqual([0, 0]);
  }, 30000);

  test('an unknown interface name: a RangeError naming it, exit code 1', async () => {
    const out = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const proc = spawn(process.execPath, [agent, 'nlb-nope0'], { cwd: root });
      let stderr = '';
      proc.stderr.on('data', (d) => (stderr += d));
      proc.on('close', (code) => resolve({ code, stderr }));
    });
    expect(out).toEqual({ code: 1, stderr: 'ifname: expected the name of an existing network interface, got "nlb-nope0"\n' });
  });
});
