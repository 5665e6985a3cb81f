// Least privilege: the library run by `nobody` without capabilities, and by a non-root
// uid holding only CAP_BPF + CAP_PERFMON (+ CAP_NET_ADMIN), in child processes (setpriv).
// What the kernel allows such a process depends on kernel.unprivileged_bpf_disabled,
// read here; every refusal must be a BpfError whose hint names the missing capability
// (or the file permission), never "needs Linux 5.8", "is tracefs mounted" or lockdown.
import * as fs from 'node:fs';
import { probe } from 'node-libbpf';
import { runAs, type Outcome } from '../support/privilege';

const unprivilegedDisabled = Number(fs.readFileSync('/proc/sys/kernel/unprivileged_bpf_disabled', 'utf8'));

function refusal(o: Outcome, code: string, hint: RegExp): void {
  expect(o).toMatchObject({ ok: false, name: 'BpfError', code });
  if (!o.ok) expect(o.hint).toMatch(hint);
}

describe('as nobody, without capabilities', () => {
  let r: Record<string, Outcome>;
  beforeAll(() => {
    r = runAs({ caps: [] }, `
      await step('probeHash', () => lib.probe.mapType('hash'));
      await step('probeKprobe', () => lib.probe.programType('kprobe'));
      await step('probeSocket', () => lib.probe.programType('socket_filter'));
      await step('createMap', () => { const m = lib.BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4 }); m.close(); return 'created'; });
      await step('loadTracing', async () => { const o = lib.BpfObject.open(fixture('basic')); try { await o.load(); return 'loaded'; } finally { o.close(); } });
      await step('tracefs', () => require('node:fs').readdirSync('/sys/kernel/tracing/events').length);
      await step('doctor', () => { const d = toolchain.doctor(); return { mounts: d.mounts, tracepoint: d.attach.tracepoint, effective: d.privileges.effective, text: toolchain.formatDoctor(d) }; });
    `);
  });

  test('probes answer EPERM (this process may not), not "the kernel lacks it"', () => {
    const expectDenied = (o: Outcome) => {
      expect(o.ok).toBe(true);
      const v = (o as { value: { supported: boolean; code?: string; reason?: string; needs?: string } }).value;
      expect(v).toMatchObject({ supported: false, code: 'EPERM', errno: 1 });
      expect(v.reason).toMatch(/^EPERM \(this process \(uid 65534\) lacks CAP_BPF/);
      expect(v.needs).toBeUndefined();
    };
    if (unprivilegedDisabled === 0) {
      // Unprivileged BPF: hash maps and socket filters, never tracing programs.
      expect(r.probeHash).toEqual({ ok: true, value: { supported: true } });
      expect(r.probeSocket).toEqual({ ok: true, value: { supported: true } });
    } else {
      expectDenied(r.probeHash);
      expectDenied(r.probeSocket);
      expectDenied(r.probeKprobe);
    }
  });

  test('creating a map and loading programs: refused with a hint naming CAP_BPF', () => {
    if (unprivilegedDisabled === 0) expect(r.createMap).toEqual({ ok: true, value: 'created' });
    else refusal(r.createMap, 'EPERM', /lacks CAP_BPF: .*CAP_BPF \(CAP_SYS_ADMIN before Linux 5\.8\) or root/);
    refusal(r.loadTracing, 'EPERM', unprivilegedDisabled === 0 ? /lacks CAP_PERFMON/ : /lacks CAP_BPF/);
    expect(r.loadTracing.ok || (r.loadTracing.hint ?? '')).not.toMatch(/lockdown|Linux 5\.8\+/);
  });

  test('doctor tells tracefs it cannot read from no tracefs, and lists no capabilities', () => {
    const d = r.doctor;
    expect(d.ok).toBe(true);
    const v = (d as { value: { mounts: { tracefs: string | null; tracefsReadable: boolean | null }; tracepoint: { reason?: string }; effective: string[]; text: string } }).value;
    expect(v.effective).toEqual([]);
    expect(v.text).toMatch(/effective: none/);
    if (v.mounts.tracefs === null) return expect(v.mounts.tracefsReadable).toBeNull();
    // The child's own attempt to read tracefs is the reference.
    expect(v.mounts.tracefsReadable).toBe(r.tracefs.ok);
    if (!r.tracefs.ok) {
      expect(v.text).toContain(`tracefs      ${v.mounts.tracefs}, mounted but not readable by uid 65534`);
      expect(v.tracepoint.reason).toMatch(/^tracefs is mounted but this user may not read it \(EACCES on /);
      expect(v.text).not.toMatch(/no tracefs with syscall tracepoints/);
    }
  });
});

describe('as uid 65534 with CAP_BPF + CAP_PERFMON only', () => {
  let r: Record<string, Outcome>;
  beforeAll(() => {
    r = runAs({ caps: ['bpf', 'perfmon'] }, `
      const fs = require('node:fs');
      await step('probeHash', () => lib.probe.mapType('hash'));
      await step('probeKprobe', () => lib.probe.programType('kprobe'));
      await step('probeXdp', () => lib.probe.programType('xdp'));
      await step('tracefs', () => fs.readdirSync('/sys/kernel/tracing/events/syscalls').length);
      const o = lib.BpfObject.open(fixture('basic'));
      await step('load', async () => { await o.load(); return 'loaded'; });
      await step('rawTp', () => { const l = o.program('raw_any').attachRawTracepoint('sys_enter'); l.destroy(); return 'attached'; });
      await step('tracepoint', () => { const l = o.program('count_getpgid').attach(); l.destroy(); return 'attached'; });
      await step('mapOps', () => { const m = o.map('counts'); m.set(1, 2n); return String(m.get(1)); });
      await step('fromId', () => { const m = lib.BpfMap.fromId(o.map('counts').info().id); m.close(); return 'opened'; });
      await step('pinOutside', () => o.map('counts').pin('/tmp/nlb-priv-' + process.pid));
      o.close();
      const net = lib.BpfObject.open(fixture('net_testrun'));
      for (const p of net.programs()) p.autoload = p.name === 'tr_xdp';
      await step('xdp', async () => { await net.load(); return 'loaded'; });
      net.close();
    `);
  });

  test('maps and tracing programs load; probes agree with root', () => {
    expect(r.probeHash).toEqual({ ok: true, value: probe.mapType('hash') });
    expect(r.probeKprobe).toEqual({ ok: true, value: probe.programType('kprobe') });
    expect(r.load).toEqual({ ok: true, value: 'loaded' });
    expect(r.rawTp).toEqual({ ok: true, value: 'attached' });
    expect(r.mapOps).toEqual({ ok: true, value: '2' });
  });

  test('network programs: refused with a hint naming CAP_NET_ADMIN', () => {
    const v = (r.probeXdp as { value: { supported: boolean; code?: string; reason?: string } }).value;
    expect(v).toMatchObject({ supported: false, code: 'EPERM' });
    expect(v.reason).toMatch(/lacks CAP_NET_ADMIN/);
    refusal(r.xdp, 'EPERM', /this process \(uid 65534\) lacks CAP_NET_ADMIN: network programs/);
  });

  test('a tracepoint attach that cannot read tracefs says so, not "is tracefs mounted"', () => {
    if (r.tracefs.ok) return expect(r.tracepoint).toEqual({ ok: true, value: 'attached' });
    refusal(r.tracepoint, 'EACCES', /^tracefs is mounted but this process may not read '[^']+\/events\/syscalls\/sys_enter_getpgid\/id': .*CAP_DAC_OVERRIDE/);
    expect((r.tracepoint as { hint: string }).hint).not.toMatch(/is tracefs mounted/);
  });

  test('opening a map by id: refused with a hint naming CAP_SYS_ADMIN', () => {
    refusal(r.fromId, 'EPERM', /lacks CAP_SYS_ADMIN: opening BPF objects by id/);
  });

  test('a pin outside bpffs: the hint says where the path is, not lockdown', () => {
    refusal(r.pinOutside, 'EINVAL', /^'\/tmp' is not on a BPF filesystem \(statfs type 0x[0-9a-f]+, bpffs is 0xcafe4a11\)/);
  });
});

describe('as uid 65534 with CAP_BPF + CAP_PERFMON + CAP_NET_ADMIN', () => {
  test('network programs load and run', () => {
    const r = runAs({ caps: ['bpf', 'perfmon', 'net_admin'] }, `
      const net = lib.BpfObject.open(fixture('net_testrun'));
      for (const p of net.programs()) p.autoload = p.name === 'tr_xdp';
      await step('xdp', async () => { await net.load(); return net.program('tr_xdp').testRun({ data: Buffer.alloc(64) }).retval; });
      net.close();
    `);
    expect(r.xdp).toMatchObject({ ok: true });
    expect(typeof (r.xdp as { value: unknown }).value).toBe('number');
  });
});
