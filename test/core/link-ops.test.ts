// Link operations: info() per link type (checked against fdinfo and the program's own
// info), update() swapping a live link's program, Link.fromPinned() in this and another
// process, and misuse. The counters that move are the kernel's.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { BpfError, BpfMap, BpfObject, IterLink, Link } from 'node-libbpf';
import { bpffsPath, cleanupAfterEach, distDir, expectThrows, fdInfo, fixture, loadFixture, thrown, triggerGetpgid } from '../support/helpers';

const TARGETS = fixture('linkops_targets');
const cleanup = cleanupAfterEach();

/** getpgid() calls of a fresh python child, as counted in `map` by its pid. */
async function hits(obj: BpfObject, map: string, n = 2): Promise<bigint> {
  const pid = await triggerGetpgid(n);
  return (obj.map(map).get(pid) as bigint | undefined) ?? 0n;
}

function pinned(link: Link, label: string): string {
  const p = bpffsPath(label);
  link.pin(p);
  cleanup(() => fs.rmSync(p, { force: true }));
  return p;
}

describe('info()', () => {
  test('raw_tracepoint: the tracepoint name; id and program id as the kernel reports them', async () => {
    const obj = await loadFixture(TARGETS);
    const link = obj.program('ops_raw').attachRawTracepoint('sys_enter');
    const info = link.info();
    expect(info).toEqual({ type: 'raw_tracepoint', id: expect.any(Number), programId: obj.program('ops_raw').info().id, tracepoint: 'sys_enter', cookie: 0n });
    expect(String(info.id)).toBe(fdInfo(link.fd).link_id);
    expect(String(info.programId)).toBe(fdInfo(obj.program('ops_raw').fd).prog_id);
  });

  test('tracepoint: a perf_event link of kind tracepoint, which counts', async () => {
    const obj = await loadFixture(TARGETS);
    const link = obj.program('ops_tp').attach();
    expect(link.info()).toEqual({
      type: 'perf_event',
      kind: 'tracepoint',
      id: expect.any(Number),
      programId: obj.program('ops_tp').info().id,
      tracepoint: 'sys_enter_getpgid',
      cookie: 0n,
    });
    expect(await hits(obj, 'tp_hits', 3)).toBe(3n);
  });

  test('uprobe: a perf_event link of kind uprobe with libc\'s path and getpgid\'s offset, which counts', async () => {
    const obj = await loadFixture(TARGETS);
    const link = obj.program('ops_uprobe').attach();
    const info = link.info();
    expect(info).toMatchObject({ type: 'perf_event', kind: 'uprobe', programId: obj.program('ops_uprobe').info().id, cookie: 0n, refCtrOffset: 0n });
    if (info.type !== 'perf_event' || info.kind !== 'uprobe') throw new Error('not a uprobe link');
    expect(info.path).toMatch(/\/libc\.so\.6$/);
    expect(fs.existsSync(info.path)).toBe(true);
    expect(info.offset).toBeGreaterThan(0);
    expect(await hits(obj, 'uprobe_hits', 4)).toBe(4n);
  });

  test('iter: the target, and for task iterators the thread', async () => {
    const obj = await loadFixture(TARGETS);
    const link = obj.program('ops_iter_v1').attachIter({ task: { tid: process.pid } });
    expect(link.info()).toEqual({ type: 'iter', id: expect.any(Number), programId: obj.program('ops_iter_v1').info().id, target: 'task', tid: process.pid, pid: 0 });
    expect(obj.program('ops_iter_progs').attachIter().info()).toEqual({ type: 'iter', id: expect.any(Number), programId: obj.program('ops_iter_progs').info().id, target: 'bpf_prog' });
  });

  test('a destroyed link -> TypeError "Link is destroyed"', async () => {
    const obj = await loadFixture(TARGETS);
    const link = obj.program('ops_raw').attachRawTracepoint('sys_enter');
    link.destroy();
    expectThrows(() => link.info(), 'TypeError', 'Link is destroyed');
    expectThrows(() => link.update(obj.program('ops_raw')), 'TypeError', 'Link is destroyed');
  });
});

describe('update()', () => {
  test('swaps the program of a live iterator link: output, counters and programId follow', async () => {
    const obj = await loadFixture(TARGETS);
    const [v1, v2] = [obj.program('ops_iter_v1'), obj.program('ops_iter_v2')];
    const link = obj.program('ops_iter_v1').attachIter({ task: { tid: process.pid } });
    expect(link.readText()).toBe(`v1 ${process.pid}\n`);
    expect([obj.globals.v1_runs, obj.globals.v2_runs]).toEqual([1n, 0n]);
    const id = link.info().id;

    link.update(v2);
    expect(link.info()).toMatchObject({ id, programId: v2.info().id });
    expect(link.readText()).toBe(`v2 ${process.pid}\n`);
    expect(link.readText()).toBe(`v2 ${process.pid}\n`);
    expect([obj.globals.v1_runs, obj.globals.v2_runs]).toEqual([1n, 2n]);

    link.update(v1); // and back
    expect(link.readText()).toBe(`v1 ${process.pid}\n`);
    expect([obj.globals.v1_runs, obj.globals.v2_runs]).toEqual([2n, 2n]);
    expect(link.info().programId).toBe(v1.info().id);
  });

  test('the kernel refuses: another iterator target, and link types that cannot swap (raw_tp, tracepoint)', async () => {
    const obj = await loadFixture(TARGETS);
    const iter = obj.program('ops_iter_v1').attachIter();
    const e = thrown(() => iter.update(obj.program('ops_iter_progs')));
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('EINVAL');
    expect(e.syscall).toBe('bpf_link__update_program');
    expect(e.hint).toMatch(/cannot swap programs/);
    expect(iter.info().programId).toBe(obj.program('ops_iter_v1').info().id); // unchanged

    const raw = obj.program('ops_raw').attachRawTracepoint('sys_enter');
    expect(() => raw.update(obj.program('ops_raw'))).toThrow(BpfError);
    const tp = obj.program('ops_tp').attach();
    const tpError = thrown(() => tp.update(obj.program('ops_tp')));
    expect(tpError.code).toBe('EINVAL');
    expect(await hits(obj, 'tp_hits', 2)).toBe(2n); // still attached
  });

  test('argument checks; a program whose object is closed', async () => {
    const obj = await loadFixture(TARGETS);
    const link = obj.program('ops_iter_v1').attachIter();
    expectThrows(() => link.update(3 as any), 'TypeError', 'program: expected a Program, got 3');
    expectThrows(() => link.update({ fd: 3 } as any), 'TypeError', 'program: expected a Program, got an object');
    const other = BpfObject.open(TARGETS);
    other.close();
    expectThrows(() => link.update(other.program('ops_iter_v2')), 'TypeError', 'BpfObject is closed');
  });
});

describe('Link.fromPinned()', () => {
  test('opens the same kernel link; destroying it leaves the attachment to the pin', async () => {
    const obj = await loadFixture(TARGETS);
    const link = obj.program('ops_tp').attach();
    const p = pinned(link, 'ops_tp');
    const opened = Link.fromPinned(p);
    expect(opened).toBeInstanceOf(Link);
    expect(opened).not.toBeInstanceOf(IterLink);
    expect(opened.pinPath).toBe(p);
    expect(opened.info()).toEqual(link.info());
    opened.destroy();
    expect(opened.destroyed).toBe(true);
    expect(await hits(obj, 'tp_hits', 2)).toBe(2n);
  });

  test('owned by nobody: outlives the object; unpin() then destroy() detaches', async () => {
    const obj = await loadFixture(TARGETS);
    const counts = obj.map('tp_hits');
    const mapPin = bpffsPath('ops_tp_hits');
    counts.pin(mapPin);
    cleanup(() => fs.rmSync(mapPin, { force: true }));
    const p = pinned(obj.program('ops_tp').attach(), 'ops_tp_owned');
    const opened = Link.fromPinned(p);
    cleanup(() => opened.destroy());
    const { id, programId } = opened.info();
    obj.close();
    expect(opened.destroyed).toBe(false);
    expect(opened.info()).toMatchObject({ id, programId });

    const shared = BpfMap.fromPinned<number, bigint>(mapPin);
    cleanup(() => shared.close());
    let pid = await triggerGetpgid(3);
    expect(shared.get(pid)).toBe(3n); // the closed object's program still runs
    opened.unpin();
    expect(fs.existsSync(p)).toBe(false);
    opened.destroy(); // the last reference
    pid = await triggerGetpgid(3);
    expect(shared.get(pid)).toBeUndefined();
  });

  test('a child process opens the pin and sees the same link id and program id', async () => {
    const obj = await loadFixture(TARGETS);
    const link = obj.program('ops_raw').attachRawTracepoint('sys_exit');
    const p = pinned(link, 'ops_raw_child');
    const script = `const { Link } = require(${JSON.stringify(distDir())});
      const l = Link.fromPinned(${JSON.stringify(p)});
      const { type, id, programId, tracepoint } = l.info();
      l.destroy();
      console.log(JSON.stringify({ type, id, programId, tracepoint }));`;
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    const { id, programId } = link.info();
    expect(JSON.parse(out)).toEqual({ type: 'raw_tracepoint', id, programId, tracepoint: 'sys_exit' });
    const calls = obj.globals.raw_runs as bigint;
    await triggerGetpgid(1);
    expect(obj.globals.raw_runs).toBeGreaterThan(calls); // the child's destroy() did not detach
  });

  test('misuse: a map pin -> BpfError EINVAL; nothing pinned -> BpfError ENOENT; bad path -> TypeError', async () => {
    const map = BpfMap.create({ type: 'array', key: 'u32', value: 'u32', maxEntries: 1 });
    cleanup(() => map.close());
    const mapPin = bpffsPath('ops_not_a_link');
    map.pin(mapPin);
    cleanup(() => fs.rmSync(mapPin, { force: true }));
    const e = thrown(() => Link.fromPinned(mapPin));
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('EINVAL');
    expect(e.syscall).toBe('bpf_link__open');
    expect(e.message).toContain('is a pinned bpf-map, not a link');
    expect(e.hint).toMatch(/BpfMap\.fromPinned/);

    const missing = thrown(() => Link.fromPinned(bpffsPath('ops_missing')));
    expect(missing).toBeInstanceOf(BpfError);
    expect(missing.code).toBe('ENOENT');
    expect(missing.syscall).toBe('bpf_link__open');
    expect(missing.hint).toMatch(/bpffs/);

    expectThrows(() => Link.fromPinned(7 as any), 'TypeError', 'path: expected a non-empty string, got 7');
    expectThrows(() => Link.fromPinned(''), 'TypeError', 'path: expected a non-empty string, got ""');
  });

  test('a pinned program is not a link either', async () => {
    const obj = await loadFixture(TARGETS);
    const p = bpffsPath('ops_prog_pin');
    obj.program('ops_raw').pin(p);
    cleanup(() => fs.rmSync(p, { force: true }));
    const e = thrown(() => Link.fromPinned(p));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toContain('is a pinned bpf-prog, not a link');
  });

  test('no fd is left behind by a refused open', async () => {
    const map = BpfMap.create({ type: 'array', key: 'u32', value: 'u32', maxEntries: 1 });
    cleanup(() => map.close());
    const mapPin = bpffsPath('ops_fd_leak');
    map.pin(mapPin);
    cleanup(() => fs.rmSync(mapPin, { force: true }));
    const before = fs.readdirSync('/proc/self/fd').length;
    for (let i = 0; i < 5; i++) thrown(() => Link.fromPinned(mapPin));
    expect(fs.readdirSync('/proc/self/fd').length).toBe(before);
  });
});
