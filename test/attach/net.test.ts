// Network attach kinds against the real kernel: XDP and tcx/classic tc on loopback and on
// a veth pair into a network namespace this file creates, cgroup programs in a cgroup v2
// subtree with a child moved into it, socket filters, sk_lookup, sockmaps, netfilter.
// Every effect is observed: counters in the programs' globals, datagrams that arrive or
// not, call order recorded in the kernel, what iproute2 reports.
import { execFileSync } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { BpfError, BpfObject, Link, type Program } from 'node-libbpf';
import { addon } from '../../src/ts/base/native';
import { bpffsPath, cleanupAfterEach, expectThrows, fdInfo, fixture, loadFixture, removeBpffs, thrown } from '../support/helpers';
import { kernelAtLeast } from '../support/kernel';
import { gatedNode, makeCgroup, makeVeth, nodeInNetns, udpReceiver, udpSend, udpSendScript, xdpMode, type Veth } from '../support/net';

const XDP_TC = fixture('net_xdp_tc');
const CGROUP = fixture('net_cgroup');
const SOCK = fixture('net_sock');
const NETFILTER = fixture('net_netfilter');

const cleanup = cleanupAfterEach();

/** A UDP port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const r = await udpReceiver('127.0.0.1');
  const { port } = r;
  r.close();
  return port;
}

/** The name libbpf gives attach type number `n` (what link fdinfo shows as attach_type). */
const attachTypeName = (n: number): string => addon.attachTypes()[n];
/** The attach type of a link, from its fdinfo ("46 (ingress)" for tcx, "2" for cgroups). */
const linkAttachType = (fd: number): string => attachTypeName(parseInt(fdInfo(fd).attach_type, 10));

function tcFilters(dev: string, direction: 'ingress' | 'egress'): string {
  return execFileSync('tc', ['filter', 'show', 'dev', dev, direction], { encoding: 'utf8' });
}

describe('attachXdp', () => {
  test('on loopback: counts our datagrams in generic mode; destroy() detaches', async () => {
    const rx = await udpReceiver('127.0.0.1');
    cleanup(() => rx.close());
    const obj = await loadFixture(XDP_TC, { globals: { port: rx.port } });
    const link = obj.program('xdp_count').attachXdp('lo');
    expect(link).toBeInstanceOf(Link);
    expect(fdInfo(link.fd).link_type).toBe('xdp');
    expect(xdpMode('lo')).toBe(2); // lo has no native XDP: the kernel chose generic
    await udpSend('127.0.0.1', rx.port, ['a', 'b', 'c']);
    await rx.until((r) => r.length === 3);
    expect(obj.globals.xdp_packets).toBe(3n);
    link.destroy();
    expect(xdpMode('lo')).toBeUndefined();
    await udpSend('127.0.0.1', rx.port, ['d']);
    await rx.until((r) => r.length === 4);
    expect(obj.globals.xdp_packets).toBe(3n);
  });

  test("by index with mode 'skb'; 'driver' on loopback -> BpfError EOPNOTSUPP", async () => {
    const obj = await loadFixture(XDP_TC, { globals: { port: 1 } });
    const lo = addon.NativeProgram.ifNameToIndex('lo');
    const link = obj.program('xdp_count').attachXdp(lo, { mode: 'skb' });
    cleanup(() => link.destroy());
    expect(fdInfo(link.fd).link_type).toBe('xdp');
    expect(xdpMode('lo')).toBe(2);
    // A link made by bpf_link_create (no libbpf bpf_link) still has info() and update().
    const info = link.info();
    expect(info).toMatchObject({ type: 'xdp', ifindex: lo, programId: obj.program('xdp_count').info().id });
    link.update(obj.program('xdp_drop'));
    expect(link.info().programId).toBe(obj.program('xdp_drop').info().id);
    link.update(obj.program('xdp_count'));
    link.destroy();
    const e = thrown(() => obj.program('xdp_count').attachXdp('lo', { mode: 'driver' }));
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('EOPNOTSUPP');
    expect(e.syscall).toBe('bpf_link_create');
  });

  test('a pinned mode link stays attached after destroy() until unpin', async () => {
    const obj = await loadFixture(XDP_TC, { globals: { port: 1 } });
    const pin = bpffsPath('xdp_mode_link');
    cleanup(() => removeBpffs(pin));
    const link = obj.program('xdp_count').attachXdp('lo', { mode: 'skb' });
    link.pin(pin);
    expect(link.pinPath).toBe(pin);
    link.destroy();
    expect(xdpMode('lo')).toBe(2);
    removeBpffs(pin);
    expect(xdpMode('lo')).toBeUndefined();
  });

  test('closing the object detaches a link made by bpf_link_create (the addon owns its fd), and the Link reads destroyed', async () => {
    const obj = await loadFixture(XDP_TC, { globals: { port: 1 } });
    const link = obj.program('xdp_count').attachXdp('lo', { mode: 'skb' });
    const fd = link.fd;
    expect(fdInfo(fd).link_type).toBe('xdp');
    expect(xdpMode('lo')).toBe(2);
    obj.close();
    expect(link.destroyed).toBe(true);
    expect(xdpMode('lo')).toBeUndefined();
    expectThrows(() => link.fd, 'TypeError', 'Link is destroyed');
  });

  describe('on a veth pair into a network namespace', () => {
    let veth: Veth;
    beforeAll(() => {
      veth = makeVeth();
    });
    afterAll(() => veth?.remove());

    test('native (driver) mode by default; counts datagrams sent from inside the namespace', async () => {
      const rx = await udpReceiver(veth.hostIp);
      cleanup(() => rx.close());
      const obj = await loadFixture(XDP_TC, { globals: { port: rx.port } });
      const link = obj.program('xdp_count').attachXdp(veth.host);
      cleanup(() => link.destroy());
      expect(xdpMode(veth.host)).toBe(1);
      await nodeInNetns(veth.ns, udpSendScript(veth.hostIp, rx.port, ['1', '2', '3', '4', '5']));
      await rx.until((r) => r.length === 5);
      expect(obj.globals.xdp_packets).toBe(5n);
    });

    test('XDP_DROP: dropped datagrams never arrive, a later one on another port does', async () => {
      const dropped = await udpReceiver(veth.hostIp);
      const sentinel = await udpReceiver(veth.hostIp);
      cleanup(() => dropped.close());
      cleanup(() => sentinel.close());
      const obj = await loadFixture(XDP_TC, { globals: { port: dropped.port } });
      const link = obj.program('xdp_drop').attachXdp(veth.host, { mode: 'skb' });
      cleanup(() => link.destroy());
      expect(xdpMode(veth.host)).toBe(2);
      const script = `${udpSendScript(veth.hostIp, dropped.port, ['x', 'y', 'z'])}
        s.on('close', () => { ${udpSendScript(veth.hostIp, sentinel.port, ['done'])} });`;
      await nodeInNetns(veth.ns, script);
      await sentinel.until((r) => r.length === 1); // sent after the three, on the same path
      expect(dropped.received).toEqual([]);
      expect(obj.globals.xdp_dropped).toBe(3n);
    });
  });
});

describe('attachTcx', () => {
  test('ingress and egress on loopback, direction from the section; tcx links', async () => {
    const rx = await udpReceiver('127.0.0.1');
    cleanup(() => rx.close());
    const obj = await loadFixture(XDP_TC, { globals: { port: rx.port } });
    const ingress = obj.program('tc_ingress').attachTcx('lo');
    const egress = obj.program('tc_egress').attachTcx('lo', { direction: 'egress' });
    cleanup(() => ingress.destroy());
    cleanup(() => egress.destroy());
    expect(fdInfo(ingress.fd).link_type).toBe('tcx');
    expect(linkAttachType(ingress.fd)).toBe('tcx_ingress');
    expect(linkAttachType(egress.fd)).toBe('tcx_egress');
    await udpSend('127.0.0.1', rx.port, ['a', 'b', 'c', 'd']);
    await rx.until((r) => r.length === 4);
    expect(obj.globals.tc_ingress_packets).toBe(4n);
    expect(obj.globals.tc_egress_packets).toBe(4n);
    ingress.destroy();
    await udpSend('127.0.0.1', rx.port, ['e']);
    await rx.until((r) => r.length === 5);
    expect(obj.globals.tc_ingress_packets).toBe(4n);
    expect(obj.globals.tc_egress_packets).toBe(5n);
  });

  test('a SEC("tc") program goes to the direction asked for', async () => {
    const rx = await udpReceiver('127.0.0.1');
    cleanup(() => rx.close());
    const obj = await loadFixture(XDP_TC, { globals: { port: rx.port } });
    const link = obj.program('tc_any').attachTcx('lo', { direction: 'egress' });
    cleanup(() => link.destroy());
    expect(linkAttachType(link.fd)).toBe('tcx_egress');
    await udpSend('127.0.0.1', rx.port, ['a', 'b']);
    await rx.until((r) => r.length === 2);
    expect(obj.globals.tc_any_packets).toBe(2n);
  });

  test('before/after a Link or a Program: the kernel runs them in that order', async () => {
    const rx = await udpReceiver('127.0.0.1');
    cleanup(() => rx.close());
    const obj = await loadFixture(XDP_TC, { globals: { port: rx.port } });
    const a = obj.program('order_a').attachTcx('lo');
    cleanup(() => a.destroy());
    const b = obj.program('order_b').attachTcx('lo', { before: a });
    cleanup(() => b.destroy());
    const c = obj.program('order_c').attachTcx('lo', { after: obj.program('order_a') });
    cleanup(() => c.destroy());
    await udpSend('127.0.0.1', rx.port, ['one']);
    await rx.until((r) => r.length === 1);
    expect(obj.globals.order).toBe('BAC');
    // A stale expectedRevision (the hook changed since): the kernel refuses with ESTALE.
    const stale = thrown(() => obj.program('tc_ingress').attachTcx('lo', { expectedRevision: 1 }));
    expect(stale).toBeInstanceOf(BpfError);
    expect([stale.code, stale.syscall]).toEqual(['ESTALE', 'bpf_program__attach_tcx']);
  });

  test("mode 'tc': a clsact qdisc and a direct-action filter, removed by destroy()", async () => {
    const veth = makeVeth();
    cleanup(() => veth.remove());
    const rx = await udpReceiver(veth.hostIp);
    cleanup(() => rx.close());
    const obj = await loadFixture(XDP_TC, { globals: { port: rx.port } });
    const link = obj.program('tc_any').attachTcx(veth.host, { direction: 'ingress', mode: 'tc', priority: 7 });
    cleanup(() => link.destroy());
    expect(tcFilters(veth.host, 'ingress')).toMatch(/pref 7 bpf .*tc_any.* direct-action/s);
    await nodeInNetns(veth.ns, udpSendScript(veth.hostIp, rx.port, ['1', '2', '3']));
    await rx.until((r) => r.length === 3);
    expect(obj.globals.tc_any_packets).toBe(3n);
    expect(link.fd).toBe(-1); // not a kernel link
    const e = thrown(() => link.pin(bpffsPath('tc_pin')));
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('EOPNOTSUPP');
    for (const call of [() => link.info(), () => link.update(obj.program('tc_any'))]) {
      const refused = thrown(call);
      expect(refused).toBeInstanceOf(BpfError);
      expect(refused.code).toBe('EOPNOTSUPP');
      expect(refused.message).toMatch(/is not a BPF link/);
    }
    link.destroy();
    expect(link.destroyed).toBe(true);
    expect(tcFilters(veth.host, 'ingress')).not.toMatch(/tc_any/);
    expectThrows(() => link.fd, 'TypeError', 'Link is destroyed');
  });

  test('closing the object removes its classic tc filters too', async () => {
    const veth = makeVeth();
    cleanup(() => veth.remove());
    const obj = await loadFixture(XDP_TC, { globals: { port: 1 } });
    obj.program('tc_any').attachTcx(veth.host, { direction: 'egress', mode: 'tc' });
    expect(tcFilters(veth.host, 'egress')).toMatch(/tc_any/);
    obj.close();
    expect(tcFilters(veth.host, 'egress')).not.toMatch(/tc_any/);
  });

  test('on a veth pair: ingress counts what the namespace sends', async () => {
    const veth = makeVeth();
    cleanup(() => veth.remove());
    const rx = await udpReceiver(veth.hostIp);
    cleanup(() => rx.close());
    const obj = await loadFixture(XDP_TC, { globals: { port: rx.port } });
    const link = obj.program('tc_ingress').attachTcx(veth.host);
    cleanup(() => link.destroy());
    // 'auto' picked tcx on this kernel (6.6+); older kernels get the classic tc fallback
    if (kernelAtLeast(6, 6)) expect(fdInfo(link.fd).link_type).toBe('tcx');
    else expect(link.fd).toBe(-1);
    await nodeInNetns(veth.ns, udpSendScript(veth.hostIp, rx.port, ['1', '2']));
    await rx.until((r) => r.length === 2);
    expect(obj.globals.tc_ingress_packets).toBe(2n);
  });

  test('misuse: bad interface, direction, mode, anchor, program type, not loaded', async () => {
    const obj = await loadFixture(XDP_TC, { globals: { port: 1 } });
    const prog = obj.program('tc_any');
    expectThrows(() => prog.attachTcx('nlb-nope0', { direction: 'ingress' }), 'RangeError', 'ifname: expected the name of an existing network interface, got "nlb-nope0"');
    expectThrows(() => prog.attachTcx(999999, { direction: 'ingress' }), 'RangeError', 'ifname: expected the index of an existing network interface, got 999999');
    expectThrows(() => prog.attachTcx({} as never), 'TypeError', 'ifname: expected an interface name or index, got an object');
    expectThrows(() => prog.attachTcx('lo'), 'RangeError', "options.direction: expected 'ingress' or 'egress' (the section names no direction), got undefined");
    expectThrows(() => prog.attachTcx('lo', { direction: 'sideways' as never }), 'RangeError', `options.direction: expected 'ingress' or 'egress', got "sideways"`);
    expectThrows(() => prog.attachTcx('lo', { direction: 'ingress', mode: 'x' as never }), 'RangeError', `options.mode: expected 'auto', 'tcx' or 'tc', got "x"`);
    expectThrows(() => prog.attachTcx('lo', { direction: 'ingress', before: 3 as never }), 'TypeError', 'options.before: expected a Program or a Link, got 3');
    expectThrows(() => prog.attachTcx('lo', { direction: 'ingress', bogus: 1 } as never), 'TypeError', /^options.bogus: expected one of the known options/);
    expectThrows(() => obj.program('xdp_count').attachTcx('lo'), 'TypeError', "attachTcx: expected a sched_cls program, got 'xdp_count' of type xdp");
    expectThrows(() => obj.program('tc_any').attachXdp('lo'), 'TypeError', "attachXdp: expected a xdp program, got 'tc_any' of type sched_cls");
    expectThrows(() => obj.program('xdp_count').attachXdp('lo', { mode: 'fast' as never }), 'RangeError', `options.mode: expected 'skb', 'driver' or 'hw', got "fast"`);
    const fresh = BpfObject.open(XDP_TC);
    cleanup(() => fresh.close());
    expectThrows(() => fresh.program('tc_ingress').attachTcx('lo'), 'TypeError', 'BpfObject is not loaded');
    expectThrows(() => fresh.program('xdp_count').attachXdp('lo'), 'TypeError', 'BpfObject is not loaded');
  });
});

describe('attachCgroup', () => {
  /** A child in a fresh cgroup (with `programs` attached to it) that runs `script` once released. */
  async function inCgroup(obj: BpfObject, programs: Program[], script: string): Promise<string> {
    const cg = makeCgroup();
    const child = await gatedNode(script);
    cleanup(() => cg.remove());
    cleanup(() => child.kill());
    for (const p of programs) {
      const link = p.attachCgroup(cg.path);
      cleanup(() => link.destroy());
    }
    fs.writeFileSync(`${cg.path}/cgroup.procs`, String(child.pid));
    return child.go();
  }

  test('cgroup_skb egress and ingress count the datagrams of the processes in the cgroup', async () => {
    const echo = await udpReceiver('127.0.0.1');
    cleanup(() => echo.close());
    echo.socket.on('message', (msg, from) => echo.socket.send(msg, from.port, from.address));
    const obj = await loadFixture(CGROUP, { globals: { port: echo.port } });
    const script = `const s = require('dgram').createSocket('udp4'); let got = 0;
      s.on('message', () => { if (++got === 4) { console.log('echoed', got); s.close(); } });
      for (let i = 0; i < 4; i++) s.send('ping' + i, ${echo.port}, '127.0.0.1');`;
    const out = await inCgroup(obj, [obj.program('cg_egress'), obj.program('cg_ingress')], script);
    expect(out).toBe('echoed 4\n');
    expect(obj.globals.egress_packets).toBe(4n);
    expect(obj.globals.ingress_packets).toBe(4n);
    // This process is not in the cgroup: its own datagrams are not counted.
    await udpSend('127.0.0.1', echo.port, ['mine']);
    await echo.until((r) => r.length === 5);
    expect(obj.globals.egress_packets).toBe(4n);
  });

  test('cgroup/connect4 rewrites one destination port and refuses another (EPERM)', async () => {
    const server = net.createServer((s) => s.end('hello from the real port'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup(() => server.close());
    const realPort = (server.address() as net.AddressInfo).port;
    const [from, refused] = [await freePort(), await freePort()];
    const obj = await loadFixture(CGROUP, { globals: { rewrite_from: from, rewrite_to: realPort, refuse_port: refused } });
    const script = `const net = require('net'); const out = {};
      const c = net.connect(${from}, '127.0.0.1'); let data = '';
      c.on('data', (d) => (data += d)); c.on('error', (e) => { out.rewritten = e.code; });
      c.on('close', () => { out.rewritten ??= data;
        const r = net.connect(${refused}, '127.0.0.1');
        r.on('connect', () => { out.refused = 'connected'; r.destroy(); });
        r.on('error', (e) => { out.refused = e.code; console.log(JSON.stringify(out)); });
      });`;
    const out = JSON.parse(await inCgroup(obj, [obj.program('cg_connect4')], script));
    expect(out).toEqual({ rewritten: 'hello from the real port', refused: 'EPERM' });
    expect(obj.globals.connects).toBe(2n);
  });

  test('cgroup/sock_create and cgroup/sysctl see what the child does', async () => {
    const obj = await loadFixture(CGROUP);
    const script = `const s1 = require('dgram').createSocket('udp4'); s1.bind(0, () => { s1.close();
      require('fs').readFileSync('/proc/sys/net/ipv4/ip_forward'); console.log('done'); });`;
    const out = await inCgroup(obj, [obj.program('cg_sock_create'), obj.program('cg_sysctl')], script);
    expect(out).toBe('done\n');
    expect(obj.globals.sockets_created).toBeGreaterThanOrEqual(1n);
    expect(obj.globals.sysctl_reads).toBeGreaterThanOrEqual(1n);
  });

  test('every other cgroup attach type attaches from its section; a cgroup/skb needs attachType', async () => {
    const obj = await loadFixture(CGROUP);
    const cg = makeCgroup();
    cleanup(() => cg.remove());
    const expected: [string, string][] = [
      ['cg_sendmsg4', 'cgroup_udp4_sendmsg'],
      ['cg_recvmsg4', 'cgroup_udp4_recvmsg'],
      ['cg_bind4', 'cgroup_inet4_bind'],
      ['cg_connect6', 'cgroup_inet6_connect'],
      ['cg_post_bind4', 'cgroup_inet4_post_bind'],
      ['cg_sock_release', 'cgroup_inet_sock_release'],
      ['cg_getsockopt', 'cgroup_getsockopt'],
      ['cg_setsockopt', 'cgroup_setsockopt'],
      ['cg_dev', 'cgroup_device'],
      ['cg_sockops', 'cgroup_sock_ops'],
    ];
    for (const [name, type] of expected) {
      const link = obj.program(name).attachCgroup(cg.path);
      cleanup(() => link.destroy());
      expect([name, fdInfo(link.fd).link_type, linkAttachType(link.fd)]).toEqual([name, 'cgroup', type]);
    }
    const fd = fs.openSync(cg.path, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    cleanup(() => fs.closeSync(fd));
    const skb = obj.program('cg_skb_any');
    expect(skb.expectedAttachType).toBe('cgroup_inet_ingress'); // libbpf's default for cgroup/skb
    const egress = skb.attachCgroup(fd, { attachType: 'cgroup_inet_egress' });
    cleanup(() => egress.destroy());
    expect(linkAttachType(egress.fd)).toBe('cgroup_inet_egress');
    expectThrows(() => skb.attachCgroup(cg.path, { attachType: 'xdp' }), 'RangeError', /^options.attachType: expected one of cgroup_inet_ingress, /);
    expectThrows(() => obj.program('cg_dev').attachCgroup(3.5), 'RangeError', 'path: expected an integer 0..2^31-1, got 3.5');
    const missing = thrown(() => skb.attachCgroup('/sys/fs/cgroup/nlb-no-such-cgroup'));
    expect(missing).toBeInstanceOf(BpfError);
    expect([missing.code, missing.syscall]).toEqual(['ENOENT', 'open']);
    const notCgroup = thrown(() => obj.program('cg_egress').attachCgroup('/tmp'));
    expect(notCgroup).toBeInstanceOf(BpfError);
    expect(notCgroup.code).toBe('EBADF');
    const xdp = await loadFixture(XDP_TC);
    expectThrows(() => xdp.program('xdp_count').attachCgroup(cg.path), 'TypeError', /^attachCgroup: expected one of cgroup_skb, .* program, got 'xdp_count' of type xdp$/);
  });
});

describe('socket programs', () => {
  test('attachSocket: a filter on a UDP socket drops some datagrams; destroy() detaches it', async () => {
    const rx = await udpReceiver('127.0.0.1');
    cleanup(() => rx.close());
    const obj = await loadFixture(SOCK);
    const link = obj.program('drop_d').attachSocket(rx.socket);
    cleanup(() => link.destroy());
    expect(link.fd).toBe(-1);
    await udpSend('127.0.0.1', rx.port, ['keep1', 'Drop1', 'keep2', 'Drop2', 'end']);
    await rx.until((r) => r.includes('end'));
    expect(rx.received).toEqual(['keep1', 'keep2', 'end']);
    expect(obj.globals.filtered).toBe(2n);
    link.destroy();
    await udpSend('127.0.0.1', rx.port, ['Dafter']);
    await rx.until((r) => r.includes('Dafter'));
    expect(obj.globals.filtered).toBe(2n);
  });

  test('attachSocket: the socket closed first, destroy() (or close()) has nothing to undo', async () => {
    const obj = await loadFixture(SOCK);
    const rx = await udpReceiver('127.0.0.1');
    const link = obj.program('drop_d').attachSocket(rx.socket);
    rx.close();
    await new Promise((r) => setImmediate(r));
    const other = await udpReceiver('127.0.0.1'); // likely reuses the fd number
    cleanup(() => other.close());
    const otherLink = obj.program('drop_d').attachSocket(other.socket);
    link.destroy(); // the fd no longer names that socket: nothing is touched
    expect(link.destroyed).toBe(true);
    await udpSend('127.0.0.1', other.port, ['Dstill', 'end']);
    await other.until((r) => r.includes('end'));
    expect(other.received).toEqual(['end']); // the other socket's filter is still there
    obj.close();
    expect(otherLink.destroyed).toBe(true);
  });

  test('attachSocket takes an fd number and a net.Socket; misuse', async () => {
    const obj = await loadFixture(SOCK);
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup(() => server.close());
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    cleanup(() => client.destroy());
    await new Promise((r) => client.once('connect', r));
    const a = obj.program('drop_d').attachSocket(client);
    a.destroy();
    const fd = (client as unknown as { _handle: { fd: number } })._handle.fd;
    const b = obj.program('drop_d').attachSocket(fd);
    b.destroy();
    expectThrows(() => obj.program('drop_d').attachSocket(dgram.createSocket('udp4')), 'RangeError', 'socket: expected a bound dgram socket, got an instance of Socket');
    expectThrows(() => obj.program('drop_d').attachSocket('x' as never), 'TypeError', 'socket: expected a file descriptor, a net.Socket or a dgram.Socket, got "x"');
    const notSocket = thrown(() => obj.program('drop_d').attachSocket(0));
    expect([notSocket.code, notSocket.syscall]).toEqual(['ENOTSOCK', 'fstat']);
    expectThrows(() => obj.program('count_msg').attachSocket(fd), 'TypeError', "attachSocket: expected a socket_filter program, got 'count_msg' of type sk_msg");
  });

  test('attachNetns: sk_lookup steers connections for one port to a listening socket', async () => {
    const server = net.createServer((s) => s.end('steered'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup(() => server.close());
    const port = await freePort(); // nothing listens on it: without the program, ECONNREFUSED
    const obj = await loadFixture(SOCK, { globals: { lookup_port: port } });
    obj.map('lookup_socks').set(0, (server as unknown as { _handle: { fd: number } })._handle.fd);
    const link = obj.program('steer').attachNetns('/proc/self/ns/net');
    cleanup(() => link.destroy());
    expect(fdInfo(link.fd).link_type).toBe('netns');
    const reply = await new Promise<string>((resolve, reject) => {
      let data = '';
      const c = net.connect(port, '127.0.0.1');
      c.on('data', (d) => (data += d));
      c.on('close', () => resolve(data));
      c.on('error', reject);
    });
    expect(reply).toBe('steered');
    expect(obj.globals.steered).toBeGreaterThanOrEqual(1n);
    link.destroy();
    const refused = await new Promise<string>((resolve) => net.connect(port, '127.0.0.1').on('error', (e: NodeJS.ErrnoException) => resolve(e.code!)));
    expect(refused).toBe('ECONNREFUSED');
    const e = thrown(() => obj.program('steer').attachNetns('/run/netns/nlb-no-such-netns'));
    expect([e.code, e.syscall]).toEqual(['ENOENT', 'open']);
    expectThrows(() => obj.program('drop_d').attachNetns('/proc/self/ns/net'), 'TypeError', "attachNetns: expected one of sk_lookup, flow_dissector program, got 'drop_d' of type socket_filter");
  });

  test('attachSockmap: sk_msg and sk_skb stream_verdict count a TCP exchange through a sockmap', async () => {
    const obj = await loadFixture(SOCK);
    const socks = obj.map('socks');
    const msg = obj.program('count_msg').attachSockmap(socks);
    cleanup(() => msg.destroy());
    const verdict = obj.program('count_verdict').attachSockmap(socks);
    cleanup(() => verdict.destroy());
    expect(fdInfo(msg.fd).link_type).toBe('sockmap');
    expect(linkAttachType(verdict.fd)).toBe('sk_skb_stream_verdict');
    let accepted: net.Socket | undefined;
    let received = '';
    const gotAll = new Promise<void>((resolve) => {
      const server = net.createServer((s) => {
        accepted = s;
        s.on('data', (d) => {
          received += d;
          if (received.length === 11) resolve();
        });
      });
      server.listen(0, '127.0.0.1', () => {
        const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1', () => {
          const wait = (): void => {
            if (!accepted) return void setImmediate(wait);
            socks.set(0, client);
            socks.set(1, accepted);
            client.write('hello world');
          };
          wait();
        });
        cleanup(() => client.destroy());
      });
      cleanup(() => server.close());
      cleanup(() => accepted?.destroy());
    });
    await gotAll;
    expect(received).toBe('hello world');
    expect(obj.globals.msg_bytes).toBe(11n);
    expect(obj.globals.verdict_bytes).toBe(11n);
    expect(obj.globals.verdict_skbs).toBeGreaterThanOrEqual(1n);
    const parser = obj.program('any_skb').attachSockmap(socks, { attachType: 'sk_skb_stream_parser' });
    cleanup(() => parser.destroy());
    expect(linkAttachType(parser.fd)).toBe('sk_skb_stream_parser');
    expectThrows(() => obj.program('count_msg').attachSockmap(obj.map('.bss')), 'RangeError', /^map: expected a sockmap or sockhash map/);
    expectThrows(() => obj.program('any_skb').attachSockmap(socks, { attachType: 'cgroup_inet_ingress' }), 'RangeError', /^options.attachType: expected one of sk_skb_stream_parser, sk_skb_stream_verdict, sk_msg_verdict, sk_skb_verdict, got "cgroup_inet_ingress"/);
  });
});

describe('attachNetfilter', () => {
  test('ipv4 output hook: counts this process\'s datagrams to one port', async () => {
    const rx = await udpReceiver('127.0.0.1');
    cleanup(() => rx.close());
    const obj = await loadFixture(NETFILTER, { globals: { port: rx.port } });
    const link = obj.program('nf_count').attachNetfilter({ family: 'ipv4', hook: 'output', priority: -100 });
    cleanup(() => link.destroy());
    expect(fdInfo(link.fd).link_type).toBe('netfilter');
    await udpSend('127.0.0.1', rx.port, ['a', 'b', 'c']);
    await rx.until((r) => r.length === 3);
    expect(obj.globals.nf_packets).toBe(3n);
    link.destroy();
    await udpSend('127.0.0.1', rx.port, ['d']);
    await rx.until((r) => r.length === 4);
    expect(obj.globals.nf_packets).toBe(3n);
  });

  test('misuse: options checked, kernel refusals are BpfErrors', async () => {
    const obj = await loadFixture(NETFILTER);
    const p = obj.program('nf_count');
    expectThrows(() => p.attachNetfilter(undefined as never), 'TypeError', 'options: expected an options object with family, hook and priority, got undefined');
    expectThrows(() => p.attachNetfilter({ family: 'ipx' as never, hook: 'input', priority: 1 }), 'RangeError', `options.family: expected 'ipv4' or 'ipv6', got "ipx"`);
    expectThrows(() => p.attachNetfilter({ family: 'ipv4', hook: 'in' as never, priority: 1 }), 'RangeError', 'options.hook: expected one of prerouting, input, forward, output, postrouting, got "in"');
    expectThrows(() => p.attachNetfilter({ family: 'ipv4', hook: 'input', priority: 2 ** 31 }), 'RangeError', 'options.priority: expected an integer -2147483647..2147483646, got 2147483648');
    const a = p.attachNetfilter({ family: 'ipv6', hook: 'prerouting', priority: 5, defrag: true });
    cleanup(() => a.destroy());
    // Two programs at one hook and priority: the kernel refuses the second.
    const e = thrown(() => p.attachNetfilter({ family: 'ipv6', hook: 'prerouting', priority: 5 }));
    expect(e).toBeInstanceOf(BpfError);
    expect([e.code, e.syscall]).toEqual(['EBUSY', 'bpf_program__attach_netfilter']);
  });
});
