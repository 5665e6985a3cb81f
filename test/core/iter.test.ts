// Iterators: attachIter() with each kind of option, reading (sync, async, for await),
// pins read by other processes, and misuse. What the iterators print comes from the
// kernel's own walk, checked against /proc, cgroupfs and the ids the kernel reports.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BpfError, BpfMap, BpfObject, IterLink, Link } from 'node-libbpf';
import { kernelAllows, kernelAtLeast } from '../support/kernel';
import { bpffsPath, cleanupAfterEach, distDir, expectRejects, expectThrows, fdCount, fixture, loadFixture, rejection, thrown } from '../support/helpers';

const WALKS = fixture('iter_walks');
const MAP_SUM = fixture('iter_map_sum');

const cleanup = cleanupAfterEach();

/** Lines split into fields. */
function rows(text: string): string[][] {
  return text.split('\n').filter(Boolean).map((l) => l.split(' '));
}

const comm = (pid: number | 'self'): string => fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();

describe('task iterator', () => {
  test('walks every thread on the system: this process and a child with their comm', async () => {
    const obj = await loadFixture(WALKS);
    const sleeper: ChildProcess = spawn('sleep', ['60'], { stdio: 'ignore' });
    cleanup(() => sleeper.kill());
    const it = obj.program('iter_tasks').attachIter();
    expect(it).toBeInstanceOf(IterLink);
    expect(it).toBeInstanceOf(Link);
    const lines = rows(it.readText());
    expect(lines).toContainEqual([String(process.pid), String(process.pid), comm('self')]);
    expect(lines).toContainEqual([String(sleeper.pid), String(sleeper.pid), 'sleep']);
    expect(lines).toContainEqual(['2', '2', 'kthreadd']);
    // (This kernel's walk starts after pid 1: init is never listed.)
  });

  test('{ pid } walks only this process\'s threads; { tid } only one thread', async () => {
    const obj = await loadFixture(WALKS);
    const own = rows(obj.program('iter_tasks').attachIter({ task: { pid: process.pid } }).readText());
    expect(own.length).toBeGreaterThan(1); // node runs several threads
    for (const [tgid] of own) expect(tgid).toBe(String(process.pid));
    const threads = new Set(fs.readdirSync('/proc/self/task'));
    expect(own.map(([, tid]) => tid).filter((t) => threads.has(t)).length).toBeGreaterThan(1);
    const one = rows(obj.program('iter_tasks').attachIter({ task: { tid: process.pid } }).readText());
    expect(one).toEqual([[String(process.pid), String(process.pid), comm('self')]]);
  });

  test('the link info names the target and the task filter', async () => {
    const obj = await loadFixture(WALKS);
    const it = obj.program('iter_tasks').attachIter({ task: { pid: process.pid } });
    expect(it.info()).toEqual({
      type: 'iter',
      id: expect.any(Number),
      programId: obj.program('iter_tasks').info().id,
      target: 'task',
      pid: process.pid,
      tid: 0,
    });
  });

  test('every read is a new pass from the start; readText, readAsync, chunks and for await agree', async () => {
    const obj = await loadFixture(WALKS);
    const it = obj.program('iter_tasks').attachIter({ task: { tid: process.pid } });
    const expected = `${process.pid} ${process.pid} ${comm('self')}\n`;
    expect(it.read()).toEqual(Buffer.from(expected));
    expect(it.read().toString()).toBe(expected); // not empty: a new instance
    expect(it.readText()).toBe(expected);
    expect(it.readText('latin1')).toBe(expected);
    expect((await it.readAsync()).toString()).toBe(expected);
    const parts: Buffer[] = [];
    for await (const chunk of it.chunks({ chunkSize: 3 })) {
      expect(chunk.length).toBeLessThanOrEqual(3);
      parts.push(chunk);
    }
    expect(parts.length).toBe(Math.ceil(expected.length / 3));
    expect(Buffer.concat(parts).toString()).toBe(expected);
    const again: Buffer[] = [];
    for await (const chunk of it) again.push(chunk);
    expect(Buffer.concat(again).toString()).toBe(expected);
  });
});

describe('ksym iterator: a large walk', () => {
  test('async reads leave the event loop running between chunks; the sync read does not', async () => {
    const obj = await loadFixture(WALKS);
    const it = obj.program('iter_ksyms').attachIter();
    let ticks = 0;
    const tick = (): void => {
      ticks++;
      timer = setImmediate(tick);
    };
    let timer = setImmediate(tick);
    cleanup(() => clearImmediate(timer));

    let chunks = 0;
    const parts: Buffer[] = [];
    for await (const chunk of it.chunks({ chunkSize: 64 * 1024 })) {
      chunks++;
      parts.push(chunk);
    }
    const during = ticks;
    const text = Buffer.concat(parts).toString();
    expect(text.length).toBeGreaterThan(100 * 1024); // every kernel symbol
    expect(chunks).toBeGreaterThan(1);
    expect(during).toBeGreaterThan(0); // setImmediate callbacks ran while the kernel walked
    expect(text).toMatch(/^[tT] schedule$/m);
    expect(text).toMatch(/^[tT] bpf_iter_run_prog$/m);

    const before = ticks;
    const sync = it.readText();
    expect(ticks).toBe(before); // blocking: nothing else ran
    expect(sync).toMatch(/^[tT] schedule$/m);
  });

  test('break ends the pass and closes the iterator instance; an abort signal stops it', async () => {
    const obj = await loadFixture(WALKS);
    const it = obj.program('iter_ksyms').attachIter();
    const fds = fdCount();
    for await (const chunk of it.chunks({ chunkSize: 4096 })) {
      expect(chunk.length).toBeGreaterThan(0);
      expect(fdCount()).toBe(fds + 1); // the instance's fd
      break;
    }
    expect(fdCount()).toBe(fds);

    const controller = new AbortController();
    let seen = 0;
    const e = await rejection(
      (async () => {
        for await (const chunk of it.chunks({ chunkSize: 4096, signal: controller.signal })) {
          seen += chunk.length;
          controller.abort();
        }
      })(),
    );
    expect(e.name).toBe('AbortError');
    expect(seen).toBe(4096);
    expect(fdCount()).toBe(fds);
  });

  test('two passes at once each get the whole walk', async () => {
    const obj = await loadFixture(WALKS);
    const it = obj.program('iter_ksyms').attachIter();
    const [a, b] = await Promise.all([it.readAsync({ chunkSize: 32768 }), it.readAsync()]);
    for (const text of [a.toString(), b.toString()]) {
      expect(text).toMatch(/^[tT] schedule$/m);
      expect(text).toMatch(/^[tT] bpf_iter_run_prog$/m);
    }
  });
});

describe('bpf_prog and bpf_map iterators', () => {
  test('bpf_prog lists this object\'s programs by the ids the kernel gives them', async () => {
    const obj = await loadFixture(WALKS);
    const it = obj.program('iter_progs').attachIter();
    const lines = rows(it.readText());
    for (const name of ['iter_tasks', 'iter_progs', 'iter_cgroups']) {
      const { id, name: kernelName } = obj.program(name).info();
      expect(lines).toContainEqual([String(id), kernelName]);
    }
    expect(it.info()).toMatchObject({ type: 'iter', target: 'bpf_prog' });
  });

  test('bpf_map lists a map created here', async () => {
    const obj = await loadFixture(WALKS);
    const map = BpfMap.create({ type: 'hash', key: 'u32', value: 'u64', maxEntries: 4, name: 'nlb_iter_seen' });
    cleanup(() => map.close());
    const lines = rows(obj.program('iter_maps').attachIter().readText());
    expect(lines).toContainEqual([String(map.info().id), 'nlb_iter_seen']);
  });
});

describe('cgroup iterator', () => {
  const unified = ((): string | undefined => {
    const line = fs.readFileSync('/proc/mounts', 'utf8').split('\n').find((l) => l.split(' ')[2] === 'cgroup2');
    return line?.split(' ')[1];
  })();

  /** root/{a, b/{c}} under the cgroup v2 mount, removed after the test. */
  function tree(): { root: string; a: string; b: string; c: string; ids: Record<string, string> } {
    expect(unified).toBeDefined();
    const root = path.join(unified!, `nlb_iter_${process.pid}_${Date.now().toString(36)}`);
    const [a, b] = [path.join(root, 'a'), path.join(root, 'b')];
    const c = path.join(b, 'c');
    for (const dir of [root, a, b, c]) fs.mkdirSync(dir);
    cleanup(() => {
      for (const dir of [c, b, a, root]) fs.rmdirSync(dir);
    });
    const ids: Record<string, string> = {};
    for (const [name, dir] of Object.entries({ root, a, b, c })) ids[name] = String(fs.statSync(dir, { bigint: true }).ino);
    return { root, a, b, c, ids };
  }

  test('walks in each order; ids are the cgroup directories\' inode numbers', async () => {
    const obj = await loadFixture(WALKS);
    const t = tree();
    const prog = obj.program('iter_cgroups');
    const walk = (options: Parameters<typeof prog.attachIter>[0]): string[] => rows(prog.attachIter(options).readText()).map(([id]) => id);
    const { root, a, b, c } = t.ids;
    expect(walk({ cgroup: { path: t.root, order: 'self' } })).toEqual([root]);
    expect(walk({ cgroup: { path: t.root, order: 'descendants-pre' } })).toEqual([root, a, b, c]);
    expect(walk({ cgroup: { path: t.root, order: 'descendants-post' } })).toEqual([a, c, b, root]);
    expect(walk({ cgroup: { path: t.root } })).toEqual([root, a, b, c]); // the default order
    if (kernelAtLeast(6, 19)) {
      expect(walk({ cgroup: { path: t.root, order: 'children' } })).toEqual([a, b]);
    } else {
      // BPF_CGROUP_ITER_CHILDREN is in libbpf 1.7.0's headers, not in this kernel.
      const e = thrown(() => walk({ cgroup: { path: t.root, order: 'children' } }));
      expect(e).toBeInstanceOf(BpfError);
      expect(e.code).toBe('EINVAL');
      expect(e.syscall).toBe('bpf_program__attach_iter');
    }
    const up = walk({ cgroup: { path: t.c, order: 'ancestors' } });
    expect(up.slice(0, 3)).toEqual([c, b, root]);
    expect(up[up.length - 1]).toBe('1'); // the hierarchy's root cgroup
    expect(walk({ cgroup: { id: BigInt(b), order: 'descendants-pre' } })).toEqual([b, c]);
    const fd = fs.openSync(t.a, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    cleanup(() => fs.closeSync(fd));
    expect(walk({ cgroup: { fd, order: 'self' } })).toEqual([a]);
    // The printed level and name come from the kernel's kernfs node.
    expect(rows(prog.attachIter({ cgroup: { path: t.c, order: 'self' } }).readText())[0].slice(2)).toEqual(['c']);
  });

  test('the link info names the start cgroup and the order', async () => {
    const obj = await loadFixture(WALKS);
    const t = tree();
    const it = obj.program('iter_cgroups').attachIter({ cgroup: { path: t.b, order: 'descendants-post' } });
    expect(it.info()).toMatchObject({ type: 'iter', target: 'cgroup', cgroupId: BigInt(t.ids.b), order: 'descendants-post' });
  });

  test('a missing cgroup path -> BpfError ENOENT', async () => {
    const obj = await loadFixture(WALKS);
    const e = thrown(() => obj.program('iter_cgroups').attachIter({ cgroup: { path: '/sys/fs/cgroup/nlb_no_such_cgroup' } }));
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('ENOENT');
    expect(e.syscall).toBe('open');
  });
});

describe('map-element iterator', () => {
  if (kernelAllows('iter_map_elem')) {
    test('walks a hash map the link names and sums its values', async () => {
      const obj = await loadFixture(MAP_SUM);
      const map = BpfMap.create<number, bigint>({ type: 'hash', key: 'u32', value: 'u64', maxEntries: 64 });
      cleanup(() => map.close());
      map.setMany([[1, 10n], [2, 20n], [7, 12n]]);
      const it = obj.program('iter_sum').attachIter({ map });
      const lines = it.readText().trim().split('\n');
      expect(lines.pop()).toBe('sum 42');
      expect(lines.sort()).toEqual(['1 10', '2 20', '7 12']);
      expect(it.info()).toMatchObject({ type: 'iter', target: 'bpf_map_elem', mapId: map.info().id });
      map.set(3, 100n);
      expect(it.readText()).toMatch(/^sum 142$/m);
    });
  } else {
    test('this kernel refuses to load map-element iterators: BpfError EPERM naming the program', async () => {
      const obj = BpfObject.open(MAP_SUM);
      cleanup(() => obj.close());
      const e = await rejection(obj.load());
      expect(e).toBeInstanceOf(BpfError);
      expect(e.code).toBe('EPERM');
      expect(e.syscall).toBe('bpf_object__load');
      expect(e.program).toBe('iter_sum');
      expect(e.hint).toMatch(/refused although running as root/);
    });
  }
});

describe('pinned iterators', () => {
  test('another process reads a pinned iterator with readFileSync; Link.fromPinned gives an IterLink', async () => {
    const obj = await loadFixture(WALKS);
    const it = obj.program('iter_progs').attachIter();
    const p = bpffsPath('iter');
    it.pin(p);
    cleanup(() => fs.rmSync(p, { force: true }));
    const { id } = obj.program('iter_progs').info();
    const child = spawnSync(process.execPath, ['-e', `process.stdout.write(require('fs').readFileSync(${JSON.stringify(p)}))`], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(rows(child.stdout)).toContainEqual([String(id), 'iter_progs']);

    const opened = Link.fromPinned(p);
    cleanup(() => opened.destroy());
    expect(opened).toBeInstanceOf(IterLink);
    expect(rows((opened as IterLink).readText())).toContainEqual([String(id), 'iter_progs']);
    expect(opened.info().id).toBe(it.info().id);
  });

  test('a child process opens the pin with Link.fromPinned and reads it', async () => {
    const obj = await loadFixture(WALKS);
    const it = obj.program('iter_tasks').attachIter({ task: { tid: process.pid } });
    const p = bpffsPath('iter_child');
    it.pin(p);
    cleanup(() => fs.rmSync(p, { force: true }));
    const script = `const { Link } = require(${JSON.stringify(distDir())});
      const it = Link.fromPinned(${JSON.stringify(p)});
      it.readAsync().then((b) => { process.stdout.write(it.constructor.name + '\\n' + b); it.destroy(); });`;
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(child.stdout).toBe(`IterLink\n${process.pid} ${process.pid} ${comm('self')}\n`);
  });
});

describe('misuse', () => {
  test('bad options -> TypeError / RangeError', async () => {
    const obj = await loadFixture(WALKS);
    const prog = obj.program('iter_tasks');
    expectThrows(() => prog.attachIter(5 as any), 'TypeError', 'options: expected an options object, got 5');
    expectThrows(() => prog.attachIter({ maps: 1 } as any), 'TypeError', /^options\.maps: expected one of the known options/);
    expectThrows(() => prog.attachIter({ map: {} as any }), 'TypeError', 'options.map: expected a BpfMap, got an object');
    expectThrows(() => prog.attachIter({ task: { pid: 1 }, cgroup: { id: 1n } }), 'TypeError', /^options: expected at most one of map, task, cgroup/);
    expectThrows(() => prog.attachIter({ task: {} }), 'TypeError', 'options.task: expected exactly one of pid, tid, fd, got an object');
    expectThrows(() => prog.attachIter({ task: { pid: -1 } }), 'RangeError', 'options.task.pid: expected an integer 1..2^31-1, got -1');
    expectThrows(() => prog.attachIter({ task: { tid: '1' as any } }), 'TypeError', 'options.task.tid: expected an integer 1..2^31-1, got "1"');
    expectThrows(() => prog.attachIter({ cgroup: { order: 'up' as any } }), 'RangeError', /^options\.cgroup\.order: expected one of self, descendants-pre/);
    expectThrows(() => prog.attachIter({ cgroup: { id: 1 as any } }), 'TypeError', 'options.cgroup.id: expected a bigint 1..2^64-1, got 1');
    expectThrows(() => prog.attachIter({ cgroup: { path: '/a', fd: 3 } }), 'TypeError', /^options\.cgroup: expected at most one of path, fd, id/);
    const it = prog.attachIter();
    expectThrows(() => it.chunks({ chunkSize: 0 }), 'RangeError', 'options.chunkSize: expected an integer 1..1073741824, got 0');
    expectThrows(() => it.chunks({ signal: 1 as any }), 'TypeError', 'options.signal: expected an AbortSignal, got 1');
    expectThrows(() => it.readText('utf9' as any), 'TypeError', 'encoding: expected a Buffer encoding, got "utf9"');
  });

  test('a program that is not an iterator -> BpfError EINVAL with a hint', async () => {
    const obj = BpfObject.open(fixture('basic'));
    cleanup(() => obj.close());
    await obj.load();
    const e = thrown(() => obj.program('raw_any').attachIter());
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('EINVAL');
    expect(e.syscall).toBe('bpf_program__attach_iter');
    expect(e.hint).toMatch(/not an iterator program/);
  });

  test('a destroyed iterator link, or one whose object closed -> TypeError "Link is destroyed"', async () => {
    const obj = await loadFixture(WALKS);
    const it = obj.program('iter_tasks').attachIter();
    const pending = it.chunks(); // opens on the first next()
    it.destroy();
    expectThrows(() => it.read(), 'TypeError', 'Link is destroyed');
    expectThrows(() => it.readText(), 'TypeError', 'Link is destroyed');
    await expectRejects(it.readAsync(), 'TypeError', 'Link is destroyed');
    await expectRejects(pending.next(), 'TypeError', 'Link is destroyed');
    const other = obj.program('iter_tasks').attachIter();
    obj.close();
    expect(other.destroyed).toBe(true);
    expectThrows(() => other.read(), 'TypeError', 'Link is destroyed');
  });

  test('a pass already open keeps reading after its link is destroyed (the instance holds the program)', async () => {
    const obj = await loadFixture(WALKS);
    const it = obj.program('iter_ksyms').attachIter();
    const chunks = it.chunks({ chunkSize: 4096 });
    expect((await chunks.next()).done).toBe(false);
    it.destroy();
    let rest = 0;
    for (let r = await chunks.next(); !r.done; r = await chunks.next()) rest += r.value.length;
    expect(rest).toBeGreaterThan(100 * 1024);
  });
});
