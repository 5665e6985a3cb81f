// User-space attach kinds against the real kernel: uprobes and uretprobes (by symbol,
// symbol+offset, in executables and in libc by its bare name), uprobe.multi (pattern,
// funcs with cookies, offsets) and USDT probes, on a gcc-built target process
// (test/fixtures/uprobe_target.c) driven over stdin, observed through ring events that
// carry the pid, the cookie and the arguments the probe saw.
import * as fs from 'node:fs';
import { BpfError, BpfObject, RingBuffer, type Program } from 'node-libbpf';
import { resolveBinary } from '../../src/ts/attach/trace';
import { cleanupAfterEach, expectThrows, fixture, loadFixture, thrown } from '../support/helpers';
import { spawnTarget, targetBinary } from '../support/targets';

const FIXTURE = fixture('uprobe_user');
const K_UPROBE = 1;
const K_URETPROBE = 2;
const K_MULTI = 3;
const K_USDT = 4;

interface UprobeEvent {
  kind: number;
  pid: number;
  cookie: bigint;
  a: bigint;
  b: bigint;
  c: bigint;
}

const cleanup = cleanupAfterEach();

/** Collects the ring's events; read() delivers what the kernel wrote so far. */
function events(obj: BpfObject): { read(): UprobeEvent[] } {
  const seen: UprobeEvent[] = [];
  const rb = new RingBuffer<UprobeEvent>(obj.map('uprobe_events'), (e) => seen.push({ ...e }), { type: 'struct uprobe_event' });
  cleanup(() => rb.close());
  return {
    read: () => {
      rb.consume();
      return seen.splice(0);
    },
  };
}

const summary = (evs: UprobeEvent[]): string[] => evs.map((e) => `${e.kind} ${e.pid} ${e.cookie} ${e.a} ${e.b} ${e.c}`);

describe('Program.attachUprobe', () => {
  test('a uprobe on a function of an executable sees its arguments, the cookie, and only the chosen pid', async () => {
    const obj = await loadFixture(FIXTURE, { programs: ['on_uprobe'] });
    const ring = events(obj);
    const [t1, t2] = [await spawnTarget(cleanup), await spawnTarget(cleanup)];
    const link = obj.program('on_uprobe').attachUprobe({ binary: targetBinary(), func: 'nlb_target_add', pid: t1.pid, cookie: 0xfeedn });
    await t2.send('call 4 1 1'); // another process running the same code: filtered out
    await t1.send('call 3 40 2');
    expect(summary(ring.read())).toEqual(Array(3).fill(`${K_UPROBE} ${t1.pid} ${0xfeed} 40 2 0`));
    link.destroy();
    await t1.send('call 2 1 2');
    expect(ring.read()).toEqual([]);
  });

  test('without a pid, every process running the binary fires', async () => {
    const obj = await loadFixture(FIXTURE, { programs: ['on_uprobe'] });
    const ring = events(obj);
    const [t1, t2] = [await spawnTarget(cleanup), await spawnTarget(cleanup)];
    obj.program('on_uprobe').attachUprobe({ binary: targetBinary(), func: 'nlb_target_add' });
    await t1.send('call 1 5 6');
    await t2.send('call 2 7 8');
    expect(summary(ring.read()).sort()).toEqual([`1 ${t1.pid} 0 5 6 0`, `1 ${t2.pid} 0 7 8 0`, `1 ${t2.pid} 0 7 8 0`].sort());
  });

  test('a uretprobe sees the return value', async () => {
    const obj = await loadFixture(FIXTURE, { programs: ['on_uretprobe'] });
    const ring = events(obj);
    const t = await spawnTarget(cleanup);
    obj.program('on_uretprobe').attachUprobe({ binary: targetBinary(), func: 'nlb_target_mul', pid: t.pid, retprobe: true, cookie: 3 });
    await t.send('mul 2 6 7');
    expect(summary(ring.read())).toEqual([`${K_URETPROBE} ${t.pid} 3 42 0 0`, `${K_URETPROBE} ${t.pid} 3 42 0 0`]);
  });

  test("'func+0x4' and { func, offset } probe inside the function (the arguments are still in registers)", async () => {
    const obj = await loadFixture(FIXTURE, { programs: ['on_uprobe'] });
    const ring = events(obj);
    const t = await spawnTarget(cleanup);
    const l1 = obj.program('on_uprobe').attachUprobe({ binary: targetBinary(), func: 'nlb_target_add+0x4', pid: t.pid, cookie: 4 });
    const l2 = obj.program('on_uprobe').attachUprobe({ binary: targetBinary(), func: 'nlb_target_add', offset: 1, pid: t.pid, cookie: 1 });
    await t.send('call 1 9 10');
    expect(summary(ring.read()).sort()).toEqual([`1 ${t.pid} 1 9 10 0`, `1 ${t.pid} 4 9 10 0`]);
    l1.destroy();
    l2.destroy();
  });

  test("a bare library name: 'libc' resolves to the libc.so.6 this system uses, and malloc() sizes are counted", async () => {
    const mapped = fs.readFileSync('/proc/self/maps', 'utf8').split('\n').map((l) => l.slice(l.indexOf('/'))).find((f) => /\/libc\.so\.6$/.test(f));
    expect(mapped).toBeDefined();
    expect(resolveBinary('libc', 'x')).toBe(mapped);
    expect(resolveBinary('libc.so.6', 'x')).toMatch(/\/libc\.so\.6$/);
    const obj = await loadFixture(FIXTURE, { programs: ['on_malloc'] });
    const t = await spawnTarget(cleanup);
    obj.program('on_malloc').attachUprobe({ binary: 'libc', func: 'malloc', pid: t.pid });
    await t.send('malloc 7 12345');
    await t.send('malloc 3 23456');
    const sizes = obj.map<bigint, bigint>('malloc_sizes');
    expect(sizes.get(12345n)).toBe(7n);
    expect(sizes.get(23456n)).toBe(3n);
  });

  test('a missing symbol is a BpfError naming it; a missing library or program names what was searched', async () => {
    const obj = await loadFixture(FIXTURE, { programs: ['on_uprobe'] });
    const prog = obj.program('on_uprobe');
    const e = thrown(() => prog.attachUprobe({ binary: targetBinary(), func: 'nlb_no_such_function' }));
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('ENOENT');
    expect(e.syscall).toBe('bpf_program__attach_uprobe_opts');
    expect(e.message).toContain("'nlb_no_such_function'");
    expect(e.hint).toMatch(/no such function symbol/);
    const lib = thrown(() => prog.attachUprobe({ binary: 'libnlbnosuchlib', func: 'f' }));
    expect(lib).toBeInstanceOf(BpfError);
    expect(lib.code).toBe('ENOENT');
    expect(lib.message).toMatch(/library 'libnlbnosuchlib' not found \(searched \/proc\/self\/maps, .*\/usr\/lib/);
    const so = thrown(() => prog.attachUprobe({ binary: 'libnlbnosuch.so.1', func: 'f' }));
    expect(so.message).toMatch(/library 'libnlbnosuch\.so\.1' not found/);
    const exe = thrown(() => prog.attachUprobe({ binary: 'nlb-no-such-program', func: 'f' }));
    expect(exe.message).toMatch(/program 'nlb-no-such-program' not found \(searched .*\/usr\/bin/);
    const abs = thrown(() => prog.attachUprobe({ binary: '/nonexistent/nlb', func: 'f' }));
    expect(abs.message).toMatch(/binary '\/nonexistent\/nlb' not found/);
  });

  test('bad arguments are TypeError/RangeError; not loaded is the fixed TypeError', async () => {
    const obj = await loadFixture(FIXTURE, { programs: ['on_uprobe'] });
    const prog = obj.program('on_uprobe');
    expectThrows(() => prog.attachUprobe(undefined as never), 'TypeError', 'options: expected an options object with a binary, got undefined');
    expectThrows(() => prog.attachUprobe({ binary: '' }), 'TypeError', 'options.binary: expected a non-empty string, got ""');
    expectThrows(() => prog.attachUprobe({ binary: 'libc' }), 'TypeError', /^options: expected a func or an offset/);
    expectThrows(() => prog.attachUprobe({ binary: 'libc', func: 'malloc', pid: 0 }), 'RangeError', 'options.pid: expected an integer 1..4194304, got 0');
    expectThrows(() => prog.attachUprobe({ binary: 'libc', func: 'malloc', pid: '1' as never }), 'TypeError', /^options.pid: expected an integer/);
    expectThrows(() => prog.attachUprobe({ binary: 'libc', func: 'malloc', cookie: -1 }), 'RangeError', /^options.cookie: expected a bigint/);
    expectThrows(() => prog.attachUprobe({ binary: 'libc', func: 'malloc', retprobe: 1 as never }), 'TypeError', 'options.retprobe: expected a boolean, got 1');
    expectThrows(() => prog.attachUprobe({ binary: 'libc', func: 'malloc', nope: 1 } as never), 'TypeError', /^options.nope: expected one of the known options/);
    const other = BpfObject.open(FIXTURE);
    cleanup(() => other.close());
    expectThrows(() => other.program('on_uprobe').attachUprobe({ binary: 'libc', func: 'malloc' }), 'TypeError', 'BpfObject is not loaded');
    expectThrows(() => obj.program('on_uretprobe').attachUprobe({ binary: 'libc', func: 'malloc' }), 'TypeError', 'Program is not loaded (its autoload was off)');
    obj.close();
    expectThrows(() => prog.attachUprobe({ binary: 'libc', func: 'malloc' }), 'TypeError', 'BpfObject is closed');
  });
});

describe('Program.attachUprobeMulti', () => {
  const attachMulti = (prog: Program, o: object) => prog.attachUprobeMulti({ binary: targetBinary(), ...o });

  test('a pattern attaches one link to every matching function', async () => {
    const obj = await loadFixture(FIXTURE, { programs: ['on_multi'] });
    const ring = events(obj);
    const t = await spawnTarget(cleanup);
    const link = attachMulti(obj.program('on_multi'), { pattern: 'nlb_target_*', pid: t.pid });
    expect(link.fd).toBeGreaterThan(0);
    await t.send('call 1 1 2');
    await t.send('mul 1 3 4');
    expect(summary(ring.read())).toEqual([`${K_MULTI} ${t.pid} 0 1 2 0`, `${K_MULTI} ${t.pid} 0 3 4 0`]);
  });

  test('funcs with one cookie each; only the chosen pid', async () => {
    const obj = await loadFixture(FIXTURE, { programs: ['on_multi'] });
    const ring = events(obj);
    const [t, other] = [await spawnTarget(cleanup), await spawnTarget(cleanup)];
    attachMulti(obj.program('on_multi'), { funcs: ['nlb_target_add', 'nlb_target_mul'], cookies: [11n, 22n], pid: t.pid });
    await other.send('call 1 0 0');
    await t.send('mul 1 5 5');
    await t.send('call 1 6 6');
    expect(summary(ring.read())).toEqual([`3 ${t.pid} 22 5 5 0`, `3 ${t.pid} 11 6 6 0`]);
  });

  test('retprobe, and misuse', async () => {
    const obj = await loadFixture(FIXTURE, { programs: ['on_multi', 'on_multi_ret'] });
    const ring = events(obj);
    const t = await spawnTarget(cleanup);
    attachMulti(obj.program('on_multi_ret'), { funcs: ['nlb_target_mul'], pid: t.pid, retprobe: true, cookies: [5] });
    await t.send('mul 1 6 7');
    expect(summary(ring.read())).toEqual([`3 ${t.pid} 5 42 0 0`]); // the return value
    const prog = obj.program('on_multi');
    expectThrows(() => attachMulti(prog, {}), 'TypeError', /^options: expected exactly one of pattern, funcs and offsets/);
    expectThrows(() => attachMulti(prog, { funcs: ['a'], cookies: [1n, 2n] }), 'RangeError', 'options.cookies: expected 1 cookies (one per target), got an array of length 2');
    expectThrows(() => attachMulti(prog, { pattern: 'x', cookies: [1n] }), 'TypeError', /^options.cookies: expected cookies only with funcs or offsets/);
    const e = thrown(() => attachMulti(prog, { funcs: ['nlb_no_such_function'] }));
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('ENOENT');
    expect(e.message).toContain('nlb_no_such_function');
  });
});

describe('Program.attachUsdt', () => {
  test('a USDT probe delivers its arguments and cookie, for the chosen pid only', async () => {
    const obj = await loadFixture(FIXTURE, { programs: ['on_usdt'] });
    const ring = events(obj);
    const [t, other] = [await spawnTarget(cleanup), await spawnTarget(cleanup)];
    const link = obj.program('on_usdt').attachUsdt({ binary: targetBinary(), provider: 'nlbtest', name: 'add', pid: t.pid, cookie: 99n });
    await other.send('call 2 1 1');
    await t.send('call 2 20 22');
    expect(summary(ring.read())).toEqual(Array(2).fill(`${K_USDT} ${t.pid} 99 20 22 42`));
    link.destroy();
    await t.send('call 1 1 1');
    expect(ring.read()).toEqual([]);
  });

  test('a missing probe is a BpfError; bad arguments are TypeErrors', async () => {
    const obj = await loadFixture(FIXTURE, { programs: ['on_usdt'] });
    const prog = obj.program('on_usdt');
    const e = thrown(() => prog.attachUsdt({ binary: targetBinary(), provider: 'nlbtest', name: 'nosuchprobe' }));
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('ENOENT');
    expect(e.syscall).toBe('bpf_program__attach_usdt');
    expect(e.message).toContain('nlbtest:nosuchprobe');
    expect(e.hint).toMatch(/no such USDT probe/);
    expectThrows(() => prog.attachUsdt({ binary: targetBinary(), provider: 'nlbtest' } as never), 'TypeError', 'options.name: expected a non-empty string, got undefined');
  });
});
