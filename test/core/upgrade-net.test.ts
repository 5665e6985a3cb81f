// obj.upgrade(next) on network links: XDP, tcx and netns links are swapped in place by the
// kernel (BPF_LINK_UPDATE). Host only, like test/attach/net.test.ts: the traffic runs over a
// veth pair into a namespace the test makes, and the kernel matrix's guests have no veth
// driver. Fixtures: test/fixtures/upgrade_net_v1.bpf.c and upgrade_net_v2.bpf.c.
import type { BpfObject, Link, Program } from '../../src/ts/index';
import { cleanupAfterEach, fixture, loadFixture } from '../support/helpers';
import { kernelAtLeast } from '../support/kernel';
import { makeVeth, nodeInNetns, udpReceiver, udpSendScript, type Veth } from '../support/net';

const cleanup = cleanupAfterEach();

// XDP, tcx and netns links: the kernel swaps the program under the same link (BPF_LINK_UPDATE);
// packets the namespace sends afterwards are counted by version 2 only.
describe('network links are swapped in place', () => {
  async function sendFromPeer(veth: Veth, n: number): Promise<void> {
    const rx = await udpReceiver(veth.hostIp);
    try {
      await nodeInNetns(veth.ns, udpSendScript(veth.hostIp, rx.port, Array.from({ length: n }, (_, i) => String(i))));
      await rx.until((r) => r.length === n);
    } finally {
      rx.close();
    }
  }
  const netCounts = (obj: BpfObject): bigint[] => [1, 2].map((v) => obj.map('counts').get(v) as bigint);

  async function swapped(program: string, attach: (p: Program, veth: Veth) => Link, traffic: (veth: Veth, n: number) => Promise<void>, inPlace: boolean): Promise<void> {
    const veth = makeVeth();
    cleanup(() => veth.remove());
    const obj = await loadFixture('upgrade_net_v1');
    const link = attach(obj.program(program), veth);
    await traffic(veth, 3);
    const [v1] = netCounts(obj);
    expect(v1).toBeGreaterThanOrEqual(3n);
    const before = inPlace ? link.info() : undefined;
    const result = await obj.upgrade(fixture('upgrade_net_v2'));
    expect(result.reused).toEqual(['counts']);
    expect(result.links).toEqual(inPlace ? { updated: 1, reattached: 0, ended: 0 } : { updated: 0, reattached: 1, ended: 0 });
    if (before) {
      const after = link.info();
      expect(after.id).toBe(before.id);
      expect(after.programId).toBe(obj.program(program).info().id);
      expect(after.programId).not.toBe(before.programId);
    }
    await traffic(veth, 4);
    const [v1After, v2] = netCounts(obj);
    expect(v1After).toBe(v1); // version 1 no longer runs
    expect(v2).toBeGreaterThanOrEqual(4n);
    link.destroy();
    obj.close();
  }

  test('XDP', () => swapped('on_xdp', (p, veth) => p.attachXdp(veth.host), sendFromPeer, true));

  // tcx links are 6.6+; before, attachTcx falls back to classic tc (no link to update), and
  // upgrade() attaches the new program before it detaches the old.
  test('tcx', () => swapped('on_tcx', (p, veth) => p.attachTcx(veth.host), sendFromPeer, kernelAtLeast(6, 6)));

  test('netns (sk_lookup)', () => swapped(
    'on_sk_lookup',
    (p, veth) => p.attachNetns(`/var/run/netns/${veth.ns}`),
    // sk_lookup runs where a datagram is received: a receiver and a sender inside the namespace
    async (veth, n) => {
      await nodeInNetns(veth.ns, `const s = require('dgram').createSocket('udp4'); let left = ${n};
        s.on('message', () => { if (--left === 0) { s.close(); } }); s.bind(0, '${veth.peerIp}', () => {
          const c = require('dgram').createSocket('udp4'); const port = s.address().port;
          const send = (i) => i === ${n} ? c.close() : c.send(String(i), port, '${veth.peerIp}', () => send(i + 1)); send(0); });`);
    },
    true));
});
