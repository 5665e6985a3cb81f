// BPF_PROG_TEST_RUN (Program.testRun / testRunAsync) against the real kernel, one program
// type at a time, with the packet and context the kernel hands back checked byte by byte.
// Layouts of the kernel's context structs come from the kernel's own BTF.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import { BpfError, BpfObject, Btf, TEST_RUN_SYNC_MAX_REPEAT, TestRunFlags } from 'node-libbpf';
import { addon } from '../../src/ts/base/native';
import { cleanupAfterEach, distDir, expectRejects, expectThrows, fixture, loadFixture, thrown } from '../support/helpers';

const TESTRUN = fixture('net_testrun');
const cleanup = cleanupAfterEach();
const kernelBtf = Btf.parse(fs.readFileSync('/sys/kernel/btf/vmlinux'));

/** A kernel struct's size and member byte offsets. */
function layout(name: string): { size: number; offset: (member: string) => number } {
  const t = kernelBtf.find(name, 'struct')!;
  return {
    size: t.size!,
    offset: (member) => t.members!.find((m) => m.name === member)!.bitOffset / 8,
  };
}

/** Ethernet + IPv4 + UDP to `dport`, `length` bytes in all. */
function udpFrame(dport: number, length = 64): Buffer {
  const f = Buffer.alloc(length);
  f.writeUInt16BE(0x0800, 12); // ETH_P_IP
  f[14] = 0x45; // IPv4, 20-byte header
  f.writeUInt16BE(length - 14, 16);
  f[22] = 64; // ttl
  f[23] = 17; // UDP
  f.writeUInt32BE(0x7f000001, 26);
  f.writeUInt32BE(0x7f000001, 30);
  f.writeUInt16BE(5555, 34);
  f.writeUInt16BE(dport, 36);
  f.writeUInt16BE(length - 34, 38);
  return f;
}

describe('testRun', () => {
  test('xdp: the packet grows by 4 bytes of 0xab, retval XDP_TX', async () => {
    const obj = await loadFixture(TESTRUN);
    const frame = udpFrame(9);
    const { retval, data, durationNs } = obj.program('tr_xdp').testRun({ data: frame });
    expect(retval).toBe(3); // XDP_TX
    expect(typeof durationNs).toBe('number');
    expect(data!.length).toBe(frame.length + 4);
    expect(data!.subarray(0, frame.length)).toEqual(frame);
    expect(data!.subarray(frame.length)).toEqual(Buffer.from([0xab, 0xab, 0xab, 0xab]));
    expect(frame.length).toBe(64); // the input is not touched
  });

  test('an output buffer too small -> BpfError ENOSPC saying what was needed', async () => {
    const obj = await loadFixture(TESTRUN);
    const e = thrown(() => obj.program('tr_xdp').testRun({ data: udpFrame(9), dataSizeOut: 10 }));
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('ENOSPC');
    expect(e.message).toBe('bpf_prog_test_run_opts: ENOSPC (no space left on device): the output did not fit (data: 68 bytes, dataSizeOut was 10). Hint: pass a larger dataSizeOut (or ctxSizeOut)');
  });

  test('sched_cls: drops UDP to port 9, marks the rest (the __sk_buff ctx comes back)', async () => {
    const obj = await loadFixture(TESTRUN);
    const skb = layout('__sk_buff');
    const prog = obj.program('tr_tc');
    expect(prog.testRun({ data: udpFrame(9) }).retval).toBe(2); // TC_ACT_SHOT
    const { retval, ctx, data } = prog.testRun({ data: udpFrame(53), ctx: Buffer.alloc(skb.size) });
    expect(retval).toBe(0);
    expect(ctx!.length).toBe(skb.size);
    expect(ctx!.readUInt32LE(skb.offset('mark'))).toBe(42);
    expect(data).toEqual(udpFrame(53));
  });

  test('socket_filter and cgroup_skb: the kernel passes them the packet from the IP header', async () => {
    const obj = await loadFixture(TESTRUN);
    expect(obj.program('tr_socket').testRun({ data: udpFrame(1, 64) }).retval).toBe(20);
    const short = Buffer.alloc(30);
    short.writeUInt16BE(0x88b5, 12); // an experimental EtherType: no IP header to check
    expect(obj.program('tr_socket').testRun({ data: short }).retval).toBe(16); // 30 - 14
    expect(obj.program('tr_cgroup_skb').testRun({ data: udpFrame(1, 100) }).retval).toBe(1);
    expect(obj.program('tr_cgroup_skb').testRun({ data: udpFrame(1, 200) }).retval).toBe(0);
  });

  test('raw_tp: ctx holds the u64 arguments; cpu runs it on that CPU', async () => {
    const obj = await loadFixture(TESTRUN);
    const args = Buffer.alloc(16);
    args.writeBigUInt64LE(5n, 0);
    args.writeBigUInt64LE(37n, 8);
    const cpu = os.cpus().length - 1;
    const r = obj.program('tr_raw_tp').testRun({ ctx: args, cpu });
    expect(r.retval).toBe(cpu);
    expect(r.ctx).toBeUndefined();
    expect(obj.globals.raw_sum).toBe(42n);
    expect(obj.program('tr_raw_tp').testRun({ ctx: args, cpu: 0 }).retval).toBe(0);
    // raw_tp takes no repeat: the kernel says EINVAL, with the hint
    const e = thrown(() => obj.program('tr_raw_tp').testRun({ ctx: args, repeat: 5 }));
    expect([e.code, e.syscall]).toEqual(['EINVAL', 'bpf_prog_test_run_opts']);
    expect(e.hint).toMatch(/raw_tp and syscall programs take only ctx/);
  });

  test('syscall: the program writes its ctx, which comes back', async () => {
    const obj = await loadFixture(TESTRUN);
    const args = Buffer.alloc(12);
    args.writeInt32LE(30, 0);
    args.writeInt32LE(12, 4);
    const { retval, ctx } = obj.program('tr_syscall').testRun({ ctx: args });
    expect(retval).toBe(7);
    expect(ctx!.readInt32LE(8)).toBe(42);
    expect(args.readInt32LE(8)).toBe(0); // the caller's buffer is not written
  });

  test('flow_dissector: the flow keys come back as data', async () => {
    const obj = await loadFixture(TESTRUN);
    const keys = layout('bpf_flow_keys');
    const { retval, data } = obj.program('tr_flow').testRun({ data: udpFrame(53) });
    expect(retval).toBe(0); // BPF_OK
    expect(data!.length).toBe(keys.size);
    expect(data!.readUInt16BE(keys.offset('sport'))).toBe(1111);
    expect(data!.readUInt16BE(keys.offset('dport'))).toBe(2222);
  });

  test('sk_lookup: a struct bpf_sk_lookup in, SK_DROP or SK_PASS out', async () => {
    const obj = await loadFixture(TESTRUN);
    const lk = layout('bpf_sk_lookup');
    const lookup = (port: number): Buffer => {
      const ctx = Buffer.alloc(lk.size);
      ctx.writeUInt32LE(2, lk.offset('family')); // AF_INET
      ctx.writeUInt32LE(6, lk.offset('protocol')); // TCP
      ctx.writeUInt32BE(0x7f000001, lk.offset('local_ip4'));
      ctx.writeUInt32BE(0x7f000001, lk.offset('remote_ip4'));
      ctx.writeUInt32LE(port, lk.offset('local_port'));
      return ctx;
    };
    expect(obj.program('tr_sk_lookup').testRun({ ctx: lookup(7777) }).retval).toBe(0); // SK_DROP
    expect(obj.program('tr_sk_lookup').testRun({ ctx: lookup(8888) }).retval).toBe(1); // SK_PASS
  });

  test('testRunAsync runs off the JS thread with any repeat, even if the object closes meanwhile', async () => {
    const obj = await loadFixture(TESTRUN);
    const pending = obj.program('tr_tc').testRunAsync({ data: udpFrame(9), repeat: 100_000 });
    obj.close();
    const r = await pending;
    expect(r.retval).toBe(2);
    expect(r.data).toEqual(udpFrame(9));
    expect(TEST_RUN_SYNC_MAX_REPEAT).toBe(1000);
    expect(TestRunFlags.ON_CPU).toBe(1);
  });

  test('in a worker thread: testRun, testRunAsync and an interface lookup', async () => {
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      const { BpfObject } = require(workerData.dist);
      (async () => {
        const obj = BpfObject.open(workerData.fixture);
        await obj.load();
        const frame = Buffer.alloc(64);
        frame.writeUInt16BE(0x0800, 12); frame[14] = 0x45; frame[23] = 17; frame.writeUInt16BE(9, 36);
        const sync = obj.program('tr_tc').testRun({ data: frame }).retval;
        const async = (await obj.program('tr_tc').testRunAsync({ data: frame, repeat: 10 })).retval;
        let badIf;
        try { obj.program('tr_tc').attachTcx('nlb-nope0', { direction: 'ingress' }); } catch (e) { badIf = e.name; }
        obj.close();
        parentPort.postMessage({ sync, async, badIf });
      })();`;
    const result = await new Promise((resolve, reject) => {
      const worker = new Worker(code, { eval: true, workerData: { dist: distDir(), fixture: TESTRUN } });
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    expect(result).toEqual({ sync: 2, async: 2, badIf: 'RangeError' });
  });

  test('misuse: options, repeat cap, not loaded, closed, unsupported program type', async () => {
    const obj = await loadFixture(TESTRUN);
    const p = obj.program('tr_tc');
    expectThrows(() => p.testRun({ data: 'abc' as never }), 'TypeError', 'options.data: expected a Buffer or Uint8Array, got "abc"');
    expectThrows(() => p.testRun({ repeat: 1001, data: udpFrame(9) }), 'RangeError', 'options.repeat: expected an integer 0..1000 (testRunAsync() takes more), got 1001');
    expectThrows(() => p.testRun({ cpu: -1 }), 'RangeError', 'options.cpu: expected an integer 0..2^32-1, got -1');
    expectThrows(() => p.testRun({ size: 1 } as never), 'TypeError', /^options.size: expected one of the known options/);
    expect(p.testRun({ data: udpFrame(9), repeat: 1000 }).retval).toBe(2);
    const basic = BpfObject.open(fixture('basic'));
    cleanup(() => basic.close());
    expectThrows(() => basic.program('count_getpgid').testRun(), 'TypeError', 'BpfObject is not loaded');
    await basic.load();
    const e = thrown(() => basic.program('count_getpgid').testRun({ ctx: Buffer.alloc(8) }));
    expect(e).toBeInstanceOf(BpfError);
    expect([e.code, e.errno, e.syscall]).toEqual(['ENOTSUPP', 524, 'bpf_prog_test_run_opts']);
    expect(e.hint).toMatch(/^BPF_PROG_TEST_RUN cannot run this program type/);
    await expectRejects(basic.program('count_getpgid').testRunAsync(), 'BpfError', /ENOTSUPP/);
    const NativeProgram = addon.NativeProgram as unknown as { prototype: Record<string, (...a: unknown[]) => unknown> };
    expectThrows(() => NativeProgram.prototype.testRun.call({}, {}), 'TypeError', 'Illegal invocation: receiver is not a NativeProgram');
    expectThrows(() => NativeProgram.prototype.tcAttach.call({}, 1, false, 1, 1), 'TypeError', 'Illegal invocation: receiver is not a NativeProgram');
    obj.close();
    expectThrows(() => p.testRun({ data: udpFrame(9) }), 'TypeError', 'BpfObject is closed');
  });
});
