// ContainerResolver against real cgroup v2 directories, named as each runtime names them,
// with real processes moved into them and a BPF program (test/fixtures/containers_cgroup)
// reporting bpf_get_current_cgroup_id() from those processes through a ring buffer and a map.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BpfError, BpfObject, ContainerResolver, RingBuffer, parseCgroupPath, readBigUint64, type CgroupInfo, type RawEvent } from '../../src/ts/index';
import { cgroup2MountPoint } from '../../src/ts/containers/mount';
import { distDir, fixture, spawnGatedGetpgid } from '../support/helpers';
import { removeCgroup } from '../support/net';

/** The machine's cgroup2 mount, or one this file mounts (as root) when there is none. */
function cgroup2Root(): { root: string; unmount?: () => void } {
  try {
    return { root: cgroup2MountPoint() };
  } catch {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlb-cgroup2-'));
    const r = spawnSync('mount', ['-t', 'cgroup2', 'none', dir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`no cgroup2 mount, and mounting one failed: ${r.stderr}`);
    const unmount = (): void => {
      spawnSync('umount', [dir]);
      fs.rmdirSync(dir);
    };
    return { root: dir, unmount };
  }
}
const { root, unmount } = cgroup2Root();
/** Every cgroup this file makes is below this one, removed in afterAll even when a test failed. */
const base = path.join(root, `nlb_containers_${process.pid}`);
const hex64 = (): string => randomBytes(32).toString('hex');
const under = (abs: string): string => `/${path.relative(root, abs)}`;

let testDir = '';
let counter = 0;
beforeAll(() => fs.mkdirSync(base));
beforeEach(() => {
  testDir = path.join(base, `t${counter++}`);
  fs.mkdirSync(testDir);
});
afterEach(() => removeCgroup(testDir, root));
afterAll(() => {
  removeCgroup(base, root);
  unmount?.();
});

/** mkdir -p of `parts` below this test's directory; the leaf's absolute path. */
function mkCgroup(...parts: string[]): string {
  const dir = path.join(testDir, ...parts);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Resolves once `resolver` knows the cgroup at `abs` (at once if it does already). */
function known<M>(resolver: ContainerResolver<M>, abs: string): Promise<CgroupInfo<M>> {
  const want = under(abs);
  const have = [...resolver.values()].find((i) => i.cgroupPath === want && !i.removed);
  if (have) return Promise.resolve(have);
  return new Promise((resolve) => {
    const onAdd = (i: CgroupInfo<M>): void => {
      if (i.cgroupPath !== want) return;
      resolver.off('add', onAdd);
      resolve(i);
    };
    resolver.on('add', onAdd);
  });
}

function removed(resolver: ContainerResolver, abs: string): Promise<CgroupInfo> {
  const want = under(abs);
  return new Promise((resolve) => {
    const onRemove = (i: CgroupInfo): void => {
      if (i.cgroupPath !== want) return;
      resolver.off('remove', onRemove);
      resolve(i);
    };
    resolver.on('remove', onRemove);
  });
}

interface Reporter {
  obj: BpfObject;
  ring: RingBuffer<RawEvent>;
  /** (pid, cgroup id) pairs the program sent through the ring buffer. */
  seen: { pid: number; cgroupId: bigint }[];
}

let reporter: Reporter | undefined;
async function bpf(): Promise<Reporter> {
  if (reporter) return reporter;
  const obj = BpfObject.open(fixture('containers_cgroup'));
  await obj.load();
  obj.attach();
  obj.globals.target_ppid = process.pid;
  const seen: Reporter['seen'] = [];
  const ring = new RingBuffer<RawEvent>(
    obj.map('events'),
    (e) => seen.push({ cgroupId: readBigUint64(e.view, e.offset), pid: e.view.getUint32(e.offset + 8, true) }),
    { raw: true },
  );
  reporter = { obj, ring, seen };
  return reporter;
}
afterAll(() => {
  reporter?.ring.close();
  reporter?.obj.close();
});

/**
 * Runs a process in the cgroup `dir` (written to its cgroup.procs before it acts) that calls
 * getpgid(); returns what the program saw: its pid and cgroup id (map and ring buffer agree).
 */
async function runIn(dir: string, beforeGo?: (pid: number) => void): Promise<{ pid: number; cgroupId: bigint }> {
  const r = await bpf();
  const child = await spawnGatedGetpgid(1);
  fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(child.pid));
  beforeGo?.(child.pid);
  await child.go();
  const cgroupId = r.obj.map('cgroup_of').get(child.pid) as bigint;
  r.ring.consume();
  expect(r.seen.filter((s) => s.pid === child.pid)).toEqual([{ pid: child.pid, cgroupId }]);
  return { pid: child.pid, cgroupId };
}

describe('parseCgroupPath (names only)', () => {
  const id = 'a'.repeat(64);
  test.each([
    ['/system.slice/docker-' + id + '.scope', { runtime: 'docker', containerId: id }],
    ['/docker/' + id, { runtime: 'docker', containerId: id }],
    ['/docker/' + id + '/init.scope', { runtime: 'docker', containerId: id }],
    ['/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12345678_aaaa_bbbb_cccc_1234567890ab.slice/cri-containerd-' + id + '.scope',
      { runtime: 'containerd', containerId: id, pod: { uid: '12345678-aaaa-bbbb-cccc-1234567890ab', qosClass: 'burstable' } }],
    ['/kubepods.slice/kubepods-pod12345678_aaaa_bbbb_cccc_1234567890ab.slice',
      { runtime: 'none', pod: { uid: '12345678-aaaa-bbbb-cccc-1234567890ab', qosClass: 'guaranteed' } }],
    ['/kubepods-pod12345678_aaaa_bbbb_cccc_1234567890ab.slice:cri-containerd:' + id,
      { runtime: 'containerd', containerId: id, pod: { uid: '12345678-aaaa-bbbb-cccc-1234567890ab', qosClass: 'guaranteed' } }],
    ['/kubepods/besteffort/pod12345678-aaaa-bbbb-cccc-1234567890ab/' + id,
      { runtime: 'cri', containerId: id, pod: { uid: '12345678-aaaa-bbbb-cccc-1234567890ab', qosClass: 'besteffort' } }],
    ['/kubepods/burstable/pod12345678-aaaa-bbbb-cccc-1234567890ab/crio-' + id,
      { runtime: 'cri-o', containerId: id, pod: { uid: '12345678-aaaa-bbbb-cccc-1234567890ab', qosClass: 'burstable' } }],
    ['/machine.slice/libpod-conmon-' + id + '.scope', { runtime: 'podman', containerId: id, conmon: true }],
    ['/libpod_parent/libpod-' + id + '/conmon', { runtime: 'podman', containerId: id, conmon: true }],
    ['/system.slice/system-getty.slice/getty@tty1.service', { runtime: 'systemd', unit: 'getty@tty1.service' }],
    ['/system.slice/systemd-fsck@dev-disk-by\\x2duuid-1234.service', { runtime: 'systemd', unit: 'systemd-fsck@dev-disk-by-uuid-1234.service' }],
    ['/user.slice/user-1000.slice/session-3.scope', { runtime: 'systemd', unit: 'session-3.scope' }],
    // Not containers: a short id, a pod-less bare id, a plain directory, the root.
    ['/system.slice/docker-abc.scope', { runtime: 'systemd', unit: 'docker-abc.scope' }],
    ['/other/' + id, { runtime: 'none' }],
    ['/nlb/plain', { runtime: 'none' }],
    ['/', { runtime: 'none' }],
  ])('%s', (p, want) => {
    expect(parseCgroupPath(p)).toEqual(want);
  });
});

describe('ContainerResolver on real cgroups', () => {
  const uid = randomUUID();
  const uid_ = uid.replace(/-/g, '_');
  const layouts = (): [string, string[], Partial<CgroupInfo>][] => {
    const id = hex64();
    return [
      ['docker, systemd driver', ['system.slice', `docker-${id}.scope`], { runtime: 'docker', containerId: id }],
      ['docker, cgroupfs driver', ['docker', id], { runtime: 'docker', containerId: id }],
      ['containerd CRI, systemd, burstable',
        ['kubepods.slice', 'kubepods-burstable.slice', `kubepods-burstable-pod${uid_}.slice`, `cri-containerd-${id}.scope`],
        { runtime: 'containerd', containerId: id, pod: { uid, qosClass: 'burstable' } }],
      ['containerd CRI, systemd, guaranteed', ['kubepods.slice', `kubepods-pod${uid_}.slice`, `cri-containerd-${id}.scope`],
        { runtime: 'containerd', containerId: id, pod: { uid, qosClass: 'guaranteed' } }],
      ['containerd CRI without SystemdCgroup under a systemd kubelet', [`kubepods-burstable-pod${uid_}.slice:cri-containerd:${id}`],
        { runtime: 'containerd', containerId: id, pod: { uid, qosClass: 'burstable' } }],
      ['CRI, cgroupfs driver, besteffort', ['kubepods', 'besteffort', `pod${uid}`, id],
        { runtime: 'cri', containerId: id, pod: { uid, qosClass: 'besteffort' } }],
      ['CRI, cgroupfs driver, guaranteed', ['kubepods', `pod${uid}`, id], { runtime: 'cri', containerId: id, pod: { uid, qosClass: 'guaranteed' } }],
      ['CRI-O, systemd', ['kubepods.slice', 'kubepods-besteffort.slice', `kubepods-besteffort-pod${uid_}.slice`, `crio-${id}.scope`],
        { runtime: 'cri-o', containerId: id, pod: { uid, qosClass: 'besteffort' } }],
      ['CRI-O, a cgroup below the container\'s', ['kubepods.slice', 'kubepods-besteffort.slice', `kubepods-besteffort-pod${uid_}.slice`, `crio-${id}.scope`, 'container'],
        { runtime: 'cri-o', containerId: id, pod: { uid, qosClass: 'besteffort' } }],
      ['CRI-O conmon', ['kubepods.slice', 'kubepods-besteffort.slice', `kubepods-besteffort-pod${uid_}.slice`, `crio-conmon-${id}.scope`],
        { runtime: 'cri-o', containerId: id, conmon: true, pod: { uid, qosClass: 'besteffort' } }],
      ['podman, systemd', ['machine.slice', `libpod-${id}.scope`], { runtime: 'podman', containerId: id }],
      ['podman conmon', ['machine.slice', `libpod-conmon-${id}.scope`], { runtime: 'podman', containerId: id, conmon: true }],
      ['podman rootless', ['user.slice', 'user-1000.slice', 'user@1000.service', 'user.slice', `libpod-${id}.scope`], { runtime: 'podman', containerId: id }],
      ['podman, cgroupfs manager', ['libpod_parent', `libpod-${id}`], { runtime: 'podman', containerId: id }],
      ['systemd service', ['system.slice', 'nlb-test.service'], { runtime: 'systemd', unit: 'nlb-test.service' }],
      ['plain cgroup', ['nlb-plain'], { runtime: 'none' }],
    ];
  };

  test('names the container and pod of a process in each runtime layout, by pid and by the id BPF reports', async () => {
    const resolver = new ContainerResolver({ retainRemovedMs: 0 });
    try {
      for (const [, parts, want] of layouts()) {
        const dir = mkCgroup(...parts);
        const cgroupPath = under(dir);
        let byPid: CgroupInfo | undefined;
        const { cgroupId } = await runIn(dir, (pid) => (byPid = resolver.resolvePid(pid)));
        expect(byPid).toMatchObject({ ...want, cgroupPath, id: cgroupId });
        expect(cgroupId).toBe(fs.statSync(dir, { bigint: true }).ino);
        expect(await known(resolver, dir)).toBe(resolver.resolve(cgroupId));
        const info = resolver.resolve(cgroupId)!;
        expect(info).toEqual({ ...parseCgroupPath(cgroupPath), ...want, cgroupPath, id: cgroupId });
        expect(resolver.resolve(Number(cgroupId))).toBe(info);
      }
    } finally {
      resolver.close();
    }
  });

  test('a resolver made after the cgroups finds them in its first walk', async () => {
    const made = layouts().map(([, parts, want]) => ({ dir: mkCgroup(...parts), want }));
    const ids: bigint[] = [];
    for (const m of made) ids.push((await runIn(m.dir)).cgroupId);
    using resolver = new ContainerResolver({ watch: false });
    made.forEach((m, i) => expect(resolver.resolve(ids[i])).toMatchObject({ ...m.want, cgroupPath: under(m.dir) }));
  });

  test('follows cgroups created and removed while it runs', async () => {
    const resolver = new ContainerResolver({ retainRemovedMs: 0 });
    try {
      const id = hex64();
      const podDir = path.join(testDir, 'kubepods.slice', 'kubepods-burstable.slice', `kubepods-burstable-pod${uid_}.slice`);
      const dir = path.join(podDir, `cri-containerd-${id}.scope`);
      const seen = known(resolver, dir);
      mkCgroup(path.relative(testDir, dir));
      const added = await seen; // from inotify alone: nothing asked for it
      const { cgroupId } = await runIn(dir);
      expect(resolver.resolve(cgroupId)).toBe(added);
      expect(added).toMatchObject({ id: cgroupId, runtime: 'containerd', containerId: id, pod: { uid, qosClass: 'burstable' } });

      // A second container of the pod, then the first one goes: the second stays.
      const id2 = hex64();
      const dir2 = path.join(podDir, `cri-containerd-${id2}.scope`);
      const seen2 = known(resolver, dir2);
      fs.mkdirSync(dir2);
      const { cgroupId: cgroupId2 } = await runIn(dir2);
      await seen2;
      const gone = removed(resolver, dir);
      fs.rmdirSync(dir); // its process exited
      expect(await gone).toMatchObject({ id: cgroupId, removed: true });
      expect(resolver.resolve(cgroupId)).toBeUndefined();
      expect(resolver.resolve(cgroupId2)).toMatchObject({ containerId: id2 });

      // The whole pod goes at once (deepest first, as the kubelet does): every level is forgotten.
      const podGone = removed(resolver, podDir);
      fs.rmdirSync(dir2);
      fs.rmdirSync(podDir);
      await podGone;
      expect(resolver.resolve(cgroupId2)).toBeUndefined();
      expect([...resolver.values()].filter((i) => i.cgroupPath.startsWith(under(podDir)))).toEqual([]);

      // A cgroup recreated under the same name is a new cgroup with a new id.
      const again = known(resolver, dir);
      fs.mkdirSync(dir, { recursive: true });
      const reborn = await again;
      expect(reborn.id).not.toBe(cgroupId);
      expect(reborn.id).toBe(fs.statSync(dir, { bigint: true }).ino);
    } finally {
      resolver.close();
    }
  });

  test('a removed cgroup stays resolvable, marked removed, for retainRemovedMs', async () => {
    const resolver = new ContainerResolver({ retainRemovedMs: 60_000 });
    try {
      const dir = mkCgroup('system.slice', `docker-${hex64()}.scope`);
      const { cgroupId } = await runIn(dir);
      await known(resolver, dir);
      const gone = removed(resolver, dir);
      fs.rmdirSync(dir);
      await gone;
      expect(resolver.resolve(cgroupId)).toMatchObject({ runtime: 'docker', removed: true });
    } finally {
      resolver.close();
    }
  });

  test('enrich: called once per container, cached, its result set as metadata', async () => {
    const calls: string[] = [];
    const resolver = new ContainerResolver<{ name: string }>({
      enrich: async (info) => {
        calls.push(info.cgroupPath);
        return { name: `pod ${info.pod?.uid} container ${info.containerId!.slice(0, 8)}` };
      },
    });
    try {
      const id = hex64();
      const scope = mkCgroup('kubepods.slice', 'kubepods-besteffort.slice', `kubepods-besteffort-pod${uid_}.slice`, `crio-${id}.scope`);
      const inner = mkCgroup(path.relative(testDir, scope), 'container');
      const a = await runIn(scope);
      const b = await runIn(inner);
      await known(resolver, inner);
      const name = `pod ${uid} container ${id.slice(0, 8)}`;
      expect((await resolver.enriched(a.cgroupId))?.metadata).toEqual({ name });
      expect((await resolver.enriched(b.cgroupId))?.metadata).toEqual({ name }); // the same container: cached
      expect(calls).toEqual([under(scope)]);
      expect(resolver.resolve(b.cgroupId)?.metadata).toEqual({ name }); // sync now
      expect(await resolver.enriched(123456789n ** 2n)).toBeUndefined();
    } finally {
      resolver.close();
    }
  });

  test('enrich: a rejection reaches the caller and is not cached', async () => {
    let fail = true;
    const resolver = new ContainerResolver({ enrich: () => (fail ? Promise.reject(new Error('kubelet unreachable')) : 'ok') });
    try {
      const dir = mkCgroup('docker', hex64());
      const { cgroupId } = await runIn(dir);
      await known(resolver, dir);
      await expect(resolver.enriched(cgroupId)).rejects.toThrow('kubelet unreachable');
      fail = false;
      expect((await resolver.enriched(cgroupId))?.metadata).toBe('ok');
    } finally {
      resolver.close();
    }
  });
});

/** inotify watches this process holds (one `inotify wd:` line per watch in fdinfo). */
function inotifyWatches(): number {
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fdinfo')) {
    try {
      n += fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').split('\n').filter((l) => l.startsWith('inotify wd:')).length;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

describe('the cgroup2 mount', () => {
  test('found in mountinfo (escaped paths decoded); none is a BpfError ENOENT with a hint', () => {
    const hybrid = [
      '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
      '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
      '41 31 0:38 / /sys/fs/cgroup/uni\\040fied rw,relatime shared:9 - cgroup2 cgroup2 rw',
    ].join('\n');
    expect(cgroup2MountPoint(hybrid)).toBe('/sys/fs/cgroup/uni fied');
    let err: unknown;
    try {
      cgroup2MountPoint(hybrid.split('\n').slice(0, 2).join('\n'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfError);
    expect(err).toMatchObject({ code: 'ENOENT', hint: expect.stringContaining('mount -t cgroup2') });
  });
});

describe('ContainerResolver lifetime and arguments', () => {
  test('one inotify watch per cgroup while open; close() (or dispose) frees them all', () => {
    for (let i = 0; i < 5; i++) mkCgroup(`c${i}`, 'leaf');
    const before = inotifyWatches();
    const resolver = new ContainerResolver();
    expect(inotifyWatches() - before).toBe(resolver.size);
    expect(resolver.size).toBeGreaterThanOrEqual(12); // the root, this file's, this test's and the 10 above
    resolver.close();
    expect(inotifyWatches()).toBe(before);
    resolver.close(); // idempotent
    const disposed = new ContainerResolver();
    disposed[Symbol.dispose]();
    expect(inotifyWatches()).toBe(before);
    expect(() => disposed.resolve(1n)).toThrow(new TypeError('ContainerResolver is closed'));
  });

  test('the watches keep the process alive only after ref()', async () => {
    // A node child with a resolver: it says 'ready', then waits for `dir` to appear.
    const dir = path.join(testDir, `docker-${hex64()}.scope`);
    const child = (ref: boolean): Promise<{ out: string; err: string; code: number | null }> =>
      new Promise((resolve) => {
        // The listener closes the resolver from inside the 'add' event (what a one-shot waiter does).
        const script = `const { ContainerResolver } = require(${JSON.stringify(distDir())});
          const r = new ContainerResolver();${ref ? ' r.ref();' : ''}
          r.on('add', (i) => { if (i.cgroupPath === ${JSON.stringify(under(dir))}) { console.log('seen', i.runtime); r.close(); } });
          console.log('ready');`;
        const p = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        p.stdout.on('data', (d: Buffer) => {
          out += d;
          if (ref && out === 'ready\n') fs.mkdirSync(dir);
        });
        p.stderr.on('data', (d: Buffer) => (err += d));
        p.on('close', (code) => resolve({ out, err, code }));
      });
    expect(await child(false)).toEqual({ out: 'ready\n', err: '', code: 0 }); // exited at once: nothing else kept it alive
    expect(fs.existsSync(dir)).toBe(false);
    // Waited for the cgroup, exited once closed (and closing inside the listener threw nothing).
    expect(await child(true)).toEqual({ out: 'ready\nseen docker\n', err: '', code: 0 });
  });

  test('close() inside an add or remove listener stops the walk: no throw, no watch left behind', () => {
    const top = mkCgroup('closing');
    for (const d of ['a', 'a/b', 'a/b/c', 'd']) fs.mkdirSync(path.join(top, d));
    const before = inotifyWatches();
    const resolver = new ContainerResolver({ root: top });
    expect(resolver.size).toBe(5);
    const seen: string[] = [];
    resolver.on('add', (i) => {
      seen.push(i.cgroupPath);
      resolver.close();
    });
    fs.mkdirSync(path.join(top, 'e'));
    fs.mkdirSync(path.join(top, 'e', 'f'));
    resolver.refresh(); // what an inotify event does: the walk meets e, the listener closes
    expect(seen).toEqual(['/e']);
    expect(inotifyWatches()).toBe(before);
    const again = new ContainerResolver({ root: top });
    again.on('remove', () => again.close());
    fs.rmdirSync(path.join(top, 'a', 'b', 'c'));
    fs.rmdirSync(path.join(top, 'a', 'b'));
    again.refresh();
    expect(inotifyWatches()).toBe(before);
    expect(() => again.resolve(1n)).toThrow(new TypeError('ContainerResolver is closed'));
  });

  test('watch: false holds no watches and sees no new cgroups', () => {
    const before = inotifyWatches();
    using resolver = new ContainerResolver({ watch: false });
    expect(inotifyWatches()).toBe(before);
    const dir = mkCgroup('later');
    expect(resolver.resolve(fs.statSync(dir, { bigint: true }).ino)).toBeUndefined();
    resolver.refresh();
    expect(resolver.resolve(fs.statSync(dir, { bigint: true }).ino)).toMatchObject({ cgroupPath: under(dir) });
  });

  test('every method throws the fixed TypeError once closed', () => {
    const resolver = new ContainerResolver({ watch: false });
    resolver.close();
    const closed = new TypeError('ContainerResolver is closed');
    expect(() => resolver.resolve(1n)).toThrow(closed);
    expect(() => resolver.resolvePid(process.pid)).toThrow(closed);
    expect(() => resolver.values()).toThrow(closed);
    expect(() => resolver.refresh()).toThrow(closed);
    expect(() => resolver.ref()).toThrow(closed);
    expect(() => resolver.unref()).toThrow(closed);
    return expect(resolver.enriched(1n)).rejects.toThrow(closed);
  });

  test('bad arguments: TypeError or RangeError naming the parameter', () => {
    using resolver = new ContainerResolver({ watch: false });
    expect(() => resolver.resolve('1' as unknown as bigint)).toThrow(new TypeError('cgroupId: expected a bigint or number, got "1"'));
    expect(() => resolver.resolvePid(0)).toThrow(new RangeError('pid: expected an integer 1..2^31-1, got 0'));
    expect(() => resolver.resolvePid(1.5)).toThrow(RangeError);
    expect(() => new ContainerResolver({ root: 5 } as never)).toThrow(new TypeError('options.root: expected a non-empty string, got 5'));
    expect(() => new ContainerResolver({ watch: 'yes' } as never)).toThrow(new TypeError('options.watch: expected a boolean, got "yes"'));
    expect(() => new ContainerResolver({ enrich: {} } as never)).toThrow(new TypeError('options.enrich: expected a function, got an object'));
    expect(() => new ContainerResolver({ retainRemovedMs: -1 })).toThrow(RangeError);
    expect(() => new ContainerResolver({ colour: 1 } as never)).toThrow(TypeError);
  });

  test('a root that is no directory is a BpfError ENOENT; unknown ids and gone pids are undefined', async () => {
    const missing = path.join(testDir, 'nope');
    let err: unknown;
    try {
      new ContainerResolver({ root: missing });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfError);
    expect(err).toMatchObject({ code: 'ENOENT' });
    using resolver = new ContainerResolver({ watch: false });
    expect(resolver.resolve(0n)).toBeUndefined();
    expect(resolver.resolve(2n ** 64n - 1n)).toBeUndefined();
    const child = await spawnGatedGetpgid(0);
    await child.go();
    expect(resolver.resolvePid(child.pid)).toBeUndefined(); // exited and reaped
    expect(resolver.resolvePid(process.pid)).toMatchObject({ id: expect.any(BigInt) });
  });
});
