// Sharing maps: pins on bpffs reopened with BpfMap.fromPinned (typed from the map's BTF in
// the kernel), across processes, past the object's lifetime, reuse through pinRoot and
// LIBBPF_PIN_BY_NAME, and BpfMap.fromId.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BpfError, BpfMap, BpfObject, type OpenOptions } from 'node-libbpf';
import { bpffsPath, cleanupAfterEach, distDir, expectThrows, fdInfo, fixture, loadFixture, removeBpffs, spawnGatedGetpgid, thrown, triggerGetpgid } from '../support/helpers';

const PINNED = fixture('maptypes_pinned');

const onCleanup = cleanupAfterEach();

/** The fixture, loaded; its by-name pin (shared_calls) goes to a fresh pinRoot unless one is given. */
function loadPinned(options?: OpenOptions): Promise<BpfObject> {
  let pinRoot = options?.pinRoot;
  if (pinRoot === undefined) {
    pinRoot = pinPath('root');
    fs.mkdirSync(pinRoot);
  }
  return loadFixture(PINNED, { ...options, pinRoot });
}
/** A fresh bpffs path, removed after the test. */
function pinPath(label: string): string {
  const p = bpffsPath(label);
  onCleanup(() => removeBpffs(p));
  return p;
}
function track<T extends { close(): void }>(x: T): T {
  onCleanup(() => x.close());
  return x;
}
function expectBpfError(fn: () => unknown, code: string, syscall?: string): BpfError {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(BpfError);
  expect(e.code).toBe(code);
  if (syscall) expect(e.syscall).toBe(syscall);
  return e;
}

/** Runs `code` in a child node process with `BpfMap` and `args` in scope; resolves with its stdout JSON. */
function inChild(code: string, args: unknown): Promise<any> {
  const script = `
    const { BpfMap } = require(${JSON.stringify(distDir())});
    const args = JSON.parse(process.argv[1]);
    const out = (() => { ${code} })();
    process.stdout.write(JSON.stringify(out, (k, v) => (typeof v === 'bigint' ? v.toString() + 'n' : v)));
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`child exited with ${code}: ${stderr}`));
      else resolve(JSON.parse(stdout, (k, v) => (typeof v === 'string' && /^\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v)));
    });
  });
}

describe('fromPinned in the same process', () => {
  test("typed from the map's kernel BTF: u32 -> number, u64 -> bigint, structs -> objects", async () => {
    const obj = await loadPinned();
    const counts = obj.map('plain_counts');
    counts.set(1, 10n).set(0xffffffff, 1n << 63n);
    const p = pinPath('plain_counts');
    counts.pin(p);
    expect(fs.existsSync(p)).toBe(true);
    const shared = track(BpfMap.fromPinned(p));
    expect(shared).toBeInstanceOf(BpfMap);
    expect(shared.name).toBe('plain_counts');
    expect(shared.type).toBe('hash');
    expect(shared.keySize).toBe(4);
    expect(shared.valueSize).toBe(8);
    expect(shared.maxEntries).toBe(64);
    expect(shared.info().id).toBe(counts.info().id);
    expect(shared.info().btfId).toBe(counts.info().btfId);
    expect(shared.get(1)).toBe(10n);
    expect(new Map(shared.entries())).toEqual(
      new Map([
        [1, 10n],
        [0xffffffff, 1n << 63n],
      ]),
    );
    // Writes are visible both ways.
    shared.set(2, 20n);
    expect(counts.get(2)).toBe(20n);
    counts.set(3, 30n);
    expect(shared.get(3)).toBe(30n);
    expect(shared.delete(1)).toBe(true);
    expect(counts.has(1)).toBe(false);
    expectThrows(() => shared.set(4, -1n), 'RangeError', /^plain_counts value: /);

    const recs = obj.map('recs');
    recs.set(2, { id: 5, tag: 'hi', total: 9n });
    const rp = pinPath('recs');
    recs.pin(rp);
    const sharedRecs = track(BpfMap.fromPinned(rp));
    expect(sharedRecs.get(2)).toEqual({ id: 5, tag: 'hi', total: 9n });
    expect([...sharedRecs.keys()]).toEqual([0, 1, 2, 3]);
    sharedRecs.set(3, { id: 7, tag: 'back', total: 1n });
    expect(recs.get(3)).toEqual({ id: 7, tag: 'back', total: 1n });
  });

  test('a map without BTF types reopens with Buffers; a standalone map pins and unpins', () => {
    const m = track(BpfMap.create({ type: 'hash', keySize: 2, valueSize: 3, maxEntries: 4, name: 'raw_pin' }));
    m.set(Buffer.from([1, 2]), Buffer.from([3, 4, 5]));
    const p = pinPath('raw_pin');
    m.pin(p);
    expect(m.pinPath).toBe(p);
    const again = track(BpfMap.fromPinned(p));
    expect(again.info().btfId).toBe(0);
    expect(again.get(Buffer.from([1, 2]))).toEqual(Buffer.from([3, 4, 5]));
    expect([...again.entries()].map(([k, v]) => [Buffer.from(k).toString('hex'), Buffer.from(v).toString('hex')])).toEqual([['0102', '030405']]);
    expectThrows(() => again.set(Buffer.from([1]), Buffer.alloc(3)), 'RangeError', /^raw_pin key: /);
    m.unpin();
    expect(fs.existsSync(p)).toBe(false);
    expect(m.pinPath).toBeUndefined();
    expect(again.get(Buffer.from([1, 2]))).toEqual(Buffer.from([3, 4, 5])); // open fds keep the map
  });

  test("close() of a reopened map closes only that fd; the pin and the object's map stay", async () => {
    const obj = await loadPinned();
    const counts = obj.map('plain_counts');
    const p = pinPath('close_one');
    counts.pin(p);
    const a = BpfMap.fromPinned(p);
    const fd = a.fd;
    expect(fdInfo(fd).map_id).toBe(String(counts.info().id));
    a.close();
    a.close();
    expectThrows(() => a.get(1), 'TypeError', 'BpfMap is closed');
    expectThrows(() => a.fd, 'TypeError', 'BpfMap is closed');
    counts.set(1, 1n);
    expect(fs.existsSync(p)).toBe(true);
    const b = track(BpfMap.fromPinned(p));
    expect(b.get(1)).toBe(1n);
  });
});

describe('across processes', () => {
  test('a child node process opens the pin with fromPinned and writes; the parent reads the writes', async () => {
    const obj = await loadPinned();
    const counts = obj.map('plain_counts');
    const recs = obj.map('recs');
    counts.set(1, 41n);
    const p = pinPath('xproc_counts');
    const rp = pinPath('xproc_recs');
    counts.pin(p);
    recs.pin(rp);
    const out = await inChild(
      `
      const m = BpfMap.fromPinned(args.p);
      const r = BpfMap.fromPinned(args.rp);
      const seen = m.get(1);
      m.set(1, seen + 1n);
      m.set(2, 2n ** 40n);
      r.set(1, { id: process.pid, tag: 'child', total: seen });
      return { type: m.type, name: m.name, seen, keyType: typeof [...m.keys()][0], pid: process.pid };
    `,
      { p, rp },
    );
    expect(out).toMatchObject({ type: 'hash', name: 'plain_counts', seen: 41n, keyType: 'number' });
    expect(counts.get(1)).toBe(42n);
    expect(counts.get(2)).toBe(1n << 40n);
    expect(recs.get(1)).toEqual({ id: out.pid, tag: 'child', total: 41n });
  });
});

describe('a map outlives its object through a pin', () => {
  test('after obj.close() the pinned map keeps its data; unpin removes it', async () => {
    const obj = await loadPinned();
    const counts = obj.map('plain_counts');
    const id = counts.info().id;
    counts.set(5, 55n).set(6, 66n);
    const p = pinPath('outlives');
    counts.pin(p);
    obj.close();
    expectThrows(() => counts.get(5), 'TypeError', 'BpfObject is closed');
    expect(fs.existsSync(p)).toBe(true);
    const again = BpfMap.fromPinned(p);
    expect(again.info().id).toBe(id);
    expect(new Map(again.entries())).toEqual(
      new Map([
        [5, 55n],
        [6, 66n],
      ]),
    );
    again.set(7, 77n);
    again.unpin(p);
    expect(fs.existsSync(p)).toBe(false);
    expect(again.get(7)).toBe(77n); // still open through this fd
    again.close();
    // Without pin or fd the kernel frees it (after an RCU grace period).
    for (let i = 0; i < 100; i++) {
      try {
        BpfMap.fromId(id).close();
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    expectBpfError(() => BpfMap.fromId(id), 'ENOENT', 'bpf_map_get_fd_by_id');
  });

  test('fs.unlinkSync removes a pin too', async () => {
    const obj = await loadPinned();
    const p = pinPath('unlink');
    obj.map('plain_counts').set(1, 1n).pin(p);
    obj.close();
    const again = track(BpfMap.fromPinned(p));
    fs.unlinkSync(p);
    expect(fs.existsSync(p)).toBe(false);
    expect(again.get(1)).toBe(1n);
    expectBpfError(() => BpfMap.fromPinned(p), 'ENOENT', 'bpf_obj_get');
  });
});

describe('pinRoot + LIBBPF_PIN_BY_NAME', () => {
  test('two objects with the same pinRoot share one map; the pin is pinRoot/<map name>', async () => {
    const root = pinPath('pinroot');
    fs.mkdirSync(root);
    const a = await loadPinned({ pinRoot: root });
    const pinFile = path.join(root, 'shared_calls');
    expect(fs.existsSync(pinFile)).toBe(true);
    expect(a.map('shared_calls').pinPath).toBe(pinFile);
    expect(fs.existsSync(path.join(root, 'plain_counts'))).toBe(false); // not pinned by name
    const b = await loadPinned({ pinRoot: root });
    const ma = a.map('shared_calls'), mb = b.map('shared_calls');
    expect(mb.info().id).toBe(ma.info().id);
    expect(b.map('plain_counts').info().id).not.toBe(a.map('plain_counts').info().id);
    // A write by a's program is seen through b.
    a.attach();
    const pid = await triggerGetpgid(3);
    expect(mb.get(pid)).toBe(3n);
    // b's program writes the same map.
    a.close();
    b.attach();
    const child = await spawnGatedGetpgid(2);
    mb.set(child.pid, 100n);
    await child.go();
    expect(mb.get(child.pid)).toBe(102n);
    // A third object still finds it after both are closed.
    b.close();
    const c = await loadPinned({ pinRoot: root });
    expect(c.map('shared_calls').get(pid)).toBe(3n);
    expect(c.map('shared_calls').get(child.pid)).toBe(102n);
    const viaPin = track(BpfMap.fromPinned(pinFile));
    expect(viaPin.get(pid)).toBe(3n);
  });
});

describe('fromId', () => {
  test('fromId(map.info().id) opens the same map, typed from its BTF', async () => {
    const obj = await loadPinned();
    const recs = obj.map('recs');
    recs.set(0, { id: 1, tag: 'zero', total: 2n });
    const byId = track(BpfMap.fromId(recs.info().id));
    expect(byId.info()).toEqual(recs.info());
    expect(byId.name).toBe('recs');
    expect(byId.get(0)).toEqual({ id: 1, tag: 'zero', total: 2n });
    byId.set(1, { id: 2, tag: 'one', total: 3n });
    expect(recs.get(1)).toEqual({ id: 2, tag: 'one', total: 3n });
    expect(byId.fd).not.toBe(recs.fd);
    const standalone = track(BpfMap.create({ type: 'array', key: 'u32', value: 'u32', maxEntries: 2, name: 'sa' }));
    standalone.set(1, 9);
    const sameStandalone = track(BpfMap.fromId(standalone.info().id));
    // No BTF: an array's key is still its index; the value is bytes.
    expect(sameStandalone.get(1)).toEqual(Buffer.from([9, 0, 0, 0]));
    expect(sameStandalone.info().id).toBe(standalone.info().id);
  });

  test('bad ids', () => {
    expectThrows(() => BpfMap.fromId(0), 'RangeError', 'id: expected an integer 1..2^32-1, got 0');
    expectThrows(() => BpfMap.fromId('1' as any), 'TypeError', /^id: /);
    expectBpfError(() => BpfMap.fromId(0x7ffffff0), 'ENOENT', 'bpf_map_get_fd_by_id');
  });
});

describe('fromPinned errors', () => {
  test('a path that is not pinned -> BpfError ENOENT', () => {
    expectBpfError(() => BpfMap.fromPinned(bpffsPath('nothing_here')), 'ENOENT', 'bpf_obj_get');
    expectBpfError(() => BpfMap.fromPinned('/tmp'), 'EACCES', 'bpf_obj_get'); // not on bpffs
    expectThrows(() => BpfMap.fromPinned(''), 'TypeError', 'path: expected a non-empty string, got ""');
    expectThrows(() => BpfMap.fromPinned(3 as any), 'TypeError', 'path: expected a non-empty string, got 3');
  });

  test('a pinned program -> TypeError', async () => {
    const obj = await loadPinned();
    const p = pinPath('prog');
    obj.program('shared_getpgid').pin(p);
    expect(fs.existsSync(p)).toBe(true);
    expectThrows(() => track(BpfMap.fromPinned(p)), 'TypeError', `'${p}' is pinned, but not a map`);
  });
});
