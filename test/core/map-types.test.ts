// Every map type with its natural API, against the real kernel: maps declared with BTF types
// in BPF objects (test/fixtures/maptypes_*.bpf.c) and standalone maps from BpfMap.create().
// Programs that write maps run on getpgid() (triggered from a child) and only count calls
// from the pid a test names, so other processes calling getpgid() cannot disturb them.
// Map kinds newer than the running kernel (the kernel matrix runs this file on 5.10 and
// up) are left uncreated there (autocreate), and their tests assert the refusal instead.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { BpfError, BpfMap, BpfObject, Btf, MapFlags, MapMemory, numPossibleCpus, VerifierError, type OpenOptions } from 'node-libbpf';
import {
  cleanupAfterEach,
  expectMapKindRefused,
  expectThrows,
  fdInfo,
  fixture,
  loadFixture,
  openFixture,
  rejection,
  spawnGatedGetpgid,
  thrown,
  triggerGetpgid,
} from '../support/helpers';
import { kernelAtLeast } from '../support/kernel';

const KINDS = fixture('maptypes_kinds');
const NESTED = fixture('maptypes_nested');
const UNSIZED = fixture('maptypes_unsized');
const SYSCALLS = fixture('maptypes_syscalls');

// Everything a test opens is closed after it, in reverse order.
const onCleanup = cleanupAfterEach();

// Map kinds of the fixtures that older kernels lack, and the release that brings each.
const KIND_SINCE = { task_storage: [5, 11], bloom_filter: [5, 16], cgrp_storage: [6, 2] } as const;
type NewerKind = keyof typeof KIND_SINCE;
const kernelHas = (kind: NewerKind): boolean => kernelAtLeast(KIND_SINCE[kind][0], KIND_SINCE[kind][1]);
const since = (kind: NewerKind): string => `Linux ${KIND_SINCE[kind].join('.')}`;
// maptypes_kinds.bpf.c's maps of those kinds, and the programs that use them.
const NEWER_MAPS: { map: string; kind: NewerKind; programs: string[] }[] = [
  { map: 'task_store', kind: 'task_storage', programs: ['kinds_task_storage'] },
  { map: 'obj_bloom', kind: 'bloom_filter', programs: [] },
  { map: 'cgrp_store', kind: 'cgrp_storage', programs: [] },
];
const NOT_CREATED = 'BpfMap is not created (its autocreate was off)';

/** Turns off the maps of kinds this kernel lacks (but `keep`), and the programs using them. */
function withoutMissingKinds(obj: BpfObject, keep?: string): void {
  for (const { map, kind, programs } of NEWER_MAPS) {
    if (kernelHas(kind) || map === keep) continue;
    obj.map(map).autocreate = false;
    for (const p of programs) obj.program(p).autoload = false;
  }
}

/** maptypes_kinds.bpf.c, loaded without the maps of kinds this kernel lacks. */
function loadedKinds(): Promise<BpfObject> {
  return loadFixture(KINDS, (obj) => withoutMissingKinds(obj));
}

/** A map left uncreated: `fd` and every operation (these, and `typed`) throw the fixed TypeError. */
function expectNotCreated(map: BpfMap, typed: (() => unknown)[] = []): void {
  expect(map.autocreate).toBe(false);
  const key = Buffer.alloc(map.keySize);
  const value = Buffer.alloc(map.valueSize * (map.perCpu ? numPossibleCpus() : 1));
  for (const f of [
    () => map.fd,
    () => map.info(),
    () => map.raw.get(key),
    () => map.raw.set(key, value),
    () => map.raw.delete(key),
    () => [...map.raw.keys()],
    () => map.freeze(),
    () => map.pin('/sys/fs/bpf/nlb_never'),
    () => map.unpin('/sys/fs/bpf/nlb_never'),
    ...typed,
  ]) {
    expectThrows(f, 'TypeError', NOT_CREATED);
  }
}

/**
 * On a kernel that predates the kind of maptypes_kinds.bpf.c's `name`: loading the object
 * with that map left on fails with a BpfError naming the release that brings the kind; with
 * it off (and the programs using it), the rest of the object loads and works.
 */
async function expectKindMissing(name: string, typed: (map: BpfMap) => (() => unknown)[]): Promise<void> {
  const { kind, programs } = NEWER_MAPS.find((m) => m.map === name)!;
  const refused = openFixture(KINDS);
  withoutMissingKinds(refused, name);
  const e = await rejection(refused.load());
  expect(e).toBeInstanceOf(BpfError);
  expectMapKindRefused(e, name, kind, since(kind));
  const obj = await loadedKinds();
  const map = obj.map(name);
  expect(map.type).toBe(kind); // from the object file, not from the kernel
  expectNotCreated(map, typed(map));
  for (const p of programs) expectThrows(() => obj.program(p).fd, 'TypeError', 'Program is not loaded (its autoload was off)');
  const h = obj.map('h_struct');
  h.set(sampleKey, sampleValue);
  expect(h.get(sampleKey)).toEqual(sampleDecoded);
}

function create<K = any, V = any>(options: Parameters<typeof BpfMap.create>[0]): BpfMap<K, V> {
  const map = BpfMap.create<K, V>(options);
  onCleanup(() => map.close());
  return map;
}
function openFd(path: string, flags = 'r'): number {
  const fd = fs.openSync(path, flags);
  onCleanup(() => fs.closeSync(fd));
  return fd;
}

/** spawnGatedGetpgid(), released after the test if the test did not get to it. */
async function gatedChild(n: number): Promise<{ pid: number; go(): Promise<void> }> {
  const child = await spawnGatedGetpgid(n);
  let started: Promise<void> | undefined;
  const go = (): Promise<void> => (started ??= child.go());
  onCleanup(() => void go().catch(() => undefined));
  return { pid: child.pid, go };
}

/** `fn` throws a BpfError with this errno name (and the libbpf call, when given). */
function expectBpfError(fn: () => unknown, code: string, syscall?: string): BpfError {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(BpfError);
  expect(e.code).toBe(code);
  if (syscall) expect(e.syscall).toBe(syscall);
  return e;
}

const numSort = (xs: Iterable<number>): number[] => [...xs].sort((a, b) => a - b);
const bytes = (x: ArrayLike<number>): number[] => Array.from(x);

/** A connected TCP pair on 127.0.0.1. */
async function tcpPair(): Promise<{ client: net.Socket; server: net.Socket }> {
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  onCleanup(() => listener.close());
  const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
  const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => client.once('connect', resolve).once('error', reject));
  const server = await accepted;
  onCleanup(() => {
    client.destroy();
    server.destroy();
  });
  return { client, server };
}
const socketFd = (s: net.Socket): number => (s as unknown as { _handle: { fd: number } })._handle.fd;

function readLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString();
      const i = buf.indexOf('\n');
      if (i >= 0) {
        child.stdout!.off('data', onData);
        resolve(buf.slice(0, i));
      }
    };
    child.stdout!.on('data', onData);
    child.once('error', reject);
  });
}

/**
 * A python child holding a pidfd of itself (Node has no pidfd_open): `pidfdPath`, its
 * /proc/<pid>/fd/<n>, reopened, gives this process a pidfd of the child (where the kernel
 * allows it: see the task_storage test). The child calls getpgid() `n` times on go(), then
 * waits until end().
 */
async function pidfdChild(n: number): Promise<{ pid: number; pidfdPath: string; go(): Promise<void>; end(): Promise<void> }> {
  const child = spawn(
    'python3',
    ['-c', `import os, sys\nfd = os.pidfd_open(os.getpid())\nprint(fd, flush=True)\nsys.stdin.readline()\nfor _ in range(${n}): os.getpgid(0)\nprint('done', flush=True)\nsys.stdin.readline()\n`],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  onCleanup(() => child.kill());
  const fdNumber = Number(await readLine(child));
  return {
    pid: child.pid!,
    pidfdPath: `/proc/${child.pid}/fd/${fdNumber}`,
    go: async () => {
      const done = readLine(child);
      child.stdin!.write('go\n');
      expect(await done).toBe('done');
    },
    end: () => {
      child.stdin!.end('end\n');
      return exited;
    },
  };
}

// bpf() commands (enum bpf_cmd), as counted by maptypes_syscalls.bpf.c.
const CMD = {
  LOOKUP_ELEM: 1,
  UPDATE_ELEM: 2,
  DELETE_ELEM: 3,
  GET_NEXT_KEY: 4,
  LOOKUP_AND_DELETE_ELEM: 21,
  LOOKUP_BATCH: 24,
  LOOKUP_AND_DELETE_BATCH: 25,
  UPDATE_BATCH: 26,
  DELETE_BATCH: 27,
} as const;

/** Counts this process's bpf() calls per command; reading the counts makes no bpf() call. */
async function bpfCalls(): Promise<{ count(cmd: number): number; total(): number; delta<T>(fn: () => T): { result: T; calls: (cmd: number) => number; total: number } }> {
  const obj = await loadFixture(SYSCALLS);
  obj.attach();
  const memory = obj.map<number, bigint>('bpf_cmds').memory;
  const count = (cmd: number): number => Number(memory.get(cmd));
  const total = (): number => {
    let n = 0;
    for (let i = 0; i < memory.length; i++) n += Number(memory.get(i));
    return n;
  };
  obj.globals.watch_tgid = process.pid;
  return {
    count,
    total,
    delta<T>(fn: () => T) {
      const before = Array.from({ length: memory.length }, (_, i) => count(i));
      const result = fn();
      const after = Array.from({ length: memory.length }, (_, i) => count(i));
      return { result, calls: (cmd: number) => after[cmd] - before[cmd], total: after.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0) };
    },
  };
}

// struct mt_value of maptypes_kinds.bpf.c, as decoded from BTF
const zeroValue = {
  count: 0n,
  dims: { w: 0, h: 0 },
  u: { as_u32: 0, as_bytes: new Uint8Array(4) },
  kind: 0,
  level: 0,
  flag: 0,
  name: '',
  delta: 0,
};
const sampleKey = { pid: 4242, comm: 'node', port: 8080, proto: 6 };
const sampleValue = {
  count: 123456789012n,
  dims: { w: 640, h: 480 },
  u: { as_u32: 0x04030201 },
  kind: 9,
  level: 4095,
  flag: 1,
  name: 'sixteen-chars-ok',
  delta: -77,
};
const sampleDecoded = { ...sampleValue, u: { as_u32: 0x04030201, as_bytes: new Uint8Array([1, 2, 3, 4]) } };

function keyBytes(k: { pid: number; comm: string; port: number; proto: number }): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt32LE(k.pid, 0);
  b.write(k.comm, 4, 16, 'utf8');
  b.writeUInt16LE(k.port, 20);
  b.writeUInt8(k.proto, 22);
  return b;
}

describe('hash, lru_hash, array: BTF struct keys and values', () => {
  test('hash: struct key (char[16], u16, u8) -> struct value (nested struct, union, bitfields, char[16])', async () => {
    const obj = await loadedKinds();
    const h = obj.map('h_struct');
    expect(h.type).toBe('hash');
    expect(h.keySize).toBe(24);
    expect(h.valueSize).toBe(40);
    expect(h.get(sampleKey)).toBeUndefined();
    h.set(sampleKey, sampleValue);
    const got = h.get(sampleKey);
    expect(got).toEqual(sampleDecoded);
    expect(got.u.as_bytes).toBeInstanceOf(Uint8Array);
    expect(bytes(got.u.as_bytes)).toEqual([1, 2, 3, 4]);
    // The bytes in the kernel are the C layout.
    const raw = h.raw.get(keyBytes(sampleKey))!;
    expect(raw).toBeDefined();
    expect(raw.readBigUInt64LE(0)).toBe(123456789012n);
    expect(raw.readUInt16LE(8)).toBe(640);
    expect(raw.readUInt16LE(10)).toBe(480);
    expect(raw.readUInt32LE(12)).toBe(0x04030201);
    expect(raw.readUIntLE(16, 3)).toBe(9 | (4095 << 4) | (1 << 16)); // 17 bits of bitfields
    expect(raw.subarray(19, 35).toString()).toBe('sixteen-chars-ok'); // char[] right after them
    expect(raw.readInt32LE(36)).toBe(-77);
    // Every key field matters; missing fields are zero.
    expect(h.get({ ...sampleKey, comm: 'nodf' })).toBeUndefined();
    expect(h.get({ ...sampleKey, proto: 17 })).toBeUndefined();
    h.set({ pid: 1 }, { count: 1n });
    expect(h.get({ pid: 1, comm: '', port: 0, proto: 0 })).toEqual({ ...zeroValue, count: 1n });
    const entries = [...h.entries()].sort((a, b) => a[0].pid - b[0].pid);
    expect(entries).toEqual([
      [{ pid: 1, comm: '', port: 0, proto: 0 }, { ...zeroValue, count: 1n }],
      [sampleKey, sampleDecoded],
    ]);
    // A decoded value writes back unchanged (the union included).
    h.set({ pid: 2 }, got);
    expect(h.get({ pid: 2 })).toEqual(sampleDecoded);
    if (kernelAtLeast(5, 14)) {
      expect(h.getAndDelete(sampleKey)).toEqual(sampleDecoded);
    } else {
      // BPF_MAP_LOOKUP_AND_DELETE_ELEM took hash maps in 5.14 (queues and stacks before).
      const e = expectBpfError(() => h.getAndDelete(sampleKey), 'ENOTSUPP', 'bpf_map_lookup_and_delete_elem');
      expect(e.hint).toMatch(/hash, lru_hash, percpu_hash and lru_percpu_hash maps since Linux 5\.14$/);
      expect(h.delete(sampleKey)).toBe(true);
    }
    expect(h.has(sampleKey)).toBe(false);
    expect(h.delete({ pid: 1 })).toBe(true);
    expect(h.delete({ pid: 1 })).toBe(false);
  });

  test('lru_hash: past maxEntries the oldest entries go', async () => {
    const lru = create<number, number>({ type: 'lru_hash', key: 'u32', value: 'u32', maxEntries: 8, name: 'lru8' });
    for (let i = 0; i < 24; i++) lru.set(i, i * 10);
    // The kernel's LRU is approximate (per-CPU free lists): assert what holds on any CPU.
    const keys = numSort(lru.keys());
    expect(keys.length).toBeLessThanOrEqual(8);
    expect(keys.length).toBeGreaterThanOrEqual(4);
    for (let i = 22; i < 24; i++) expect(lru.get(i)).toBe(i * 10); // the newest stay
    for (let i = 0; i < 8; i++) expect(lru.has(i)).toBe(false); // the oldest went
    // The object's lru_hash of struct values, the same way.
    const obj = await loadedKinds();
    const m = obj.map('lru_struct');
    expect(m.type).toBe('lru_hash');
    for (let i = 0; i < 192; i++) m.set(i, { count: BigInt(i), name: `n${i}` });
    const objKeys = numSort(m.keys());
    expect(objKeys.length).toBeLessThanOrEqual(64);
    expect(objKeys.length).toBeGreaterThanOrEqual(32);
    expect(objKeys.every((k) => k >= 64)).toBe(true);
    for (let i = 176; i < 192; i++) expect(m.get(i)).toEqual({ ...zeroValue, count: BigInt(i), name: `n${i}` });
  });

  test('array: keys are the indexes, values start zeroed, delete -> BpfError EINVAL', async () => {
    const arr = (await loadedKinds()).map('arr_struct');
    expect(arr.type).toBe('array');
    expect([...arr.keys()]).toEqual([0, 1, 2, 3]);
    expect(arr.get(2)).toEqual(zeroValue);
    arr.set(2, sampleValue);
    expect(arr.get(2)).toEqual(sampleDecoded);
    expect([...arr.values()]).toEqual([zeroValue, zeroValue, sampleDecoded, zeroValue]);
    expect(arr.get(4)).toBeUndefined();
    expect(arr.has(3)).toBe(true);
    expect(arr.has(4)).toBe(false);
    expectBpfError(() => arr.delete(2), 'EINVAL', 'bpf_map_delete_elem');
    const e = expectBpfError(() => arr.getAndDelete(2), 'ENOTSUPP', 'bpf_map_lookup_and_delete_elem');
    expect(e.hint).toMatch(/^the kernel looks up and deletes an element in one step for queue and stack maps, and for hash, /);
    expect(arr.get(2)).toEqual(sampleDecoded);
    expectBpfError(() => arr.set(4, zeroValue), 'E2BIG', 'bpf_map_update_elem');
    expectBpfError(() => arr.set(0, zeroValue, 'noexist'), 'EEXIST'); // every index exists
  });
});

describe('per-CPU maps: one value per possible CPU', () => {
  const ncpu = numPossibleCpus();

  test('numPossibleCpus() matches /sys/devices/system/cpu/possible', () => {
    const possible = fs.readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim();
    const n = possible.split(',').reduce((acc, r) => {
      const [a, b] = r.split('-').map(Number);
      return acc + (b === undefined ? 1 : b - a + 1);
    }, 0);
    expect(ncpu).toBe(n);
  });

  test('percpu_hash: struct key -> struct value; one value fills every CPU, an array sets each', async () => {
    const m = (await loadedKinds()).map('pcpu_hash');
    expect(m.type).toBe('percpu_hash');
    expect(m.perCpu).toBe(true);
    m.set(sampleKey, { w: 3, h: 4 });
    expect(m.get(sampleKey)).toEqual(Array(ncpu).fill({ w: 3, h: 4 }));
    const each = Array.from({ length: ncpu }, (_, i) => ({ w: i + 1, h: 100 + i }));
    m.set(sampleKey, each);
    expect(m.get(sampleKey)).toEqual(each);
    // Raw: each CPU's 4-byte value in an 8-byte slot.
    const raw = m.raw.get(keyBytes(sampleKey))!;
    expect(raw.length).toBe(8 * ncpu);
    expect(raw.readUInt16LE(8 * (ncpu - 1))).toBe(ncpu);
    expect(raw.readUInt16LE(8 * (ncpu - 1) + 2)).toBe(100 + ncpu - 1);
    expect([...m.entries()]).toEqual([[sampleKey, each]]);
  });

  test('percpu_array and lru_percpu_hash', async () => {
    const obj = await loadedKinds();
    const pa = obj.map('pcpu_array');
    expect(pa.get(0)).toEqual(Array(ncpu).fill(zeroValue));
    pa.set(1, sampleValue);
    expect(pa.get(1)).toEqual(Array(ncpu).fill(sampleDecoded));
    const lp = obj.map('lru_pcpu');
    expect(lp.type).toBe('lru_percpu_hash');
    const values = Array.from({ length: ncpu }, (_, i) => BigInt(i) << 40n);
    lp.set(7, values);
    expect(lp.get(7)).toEqual(values);
    lp.set(8, 5n);
    expect(lp.get(8)).toEqual(Array(ncpu).fill(5n));
    expect(numSort(lp.keys())).toEqual([7, 8]);
  });

  test('an array of the wrong length -> RangeError naming the map', async () => {
    const obj = await loadedKinds();
    const lp = obj.map('lru_pcpu');
    const wrong = ncpu > 1 ? 1 : 2; // a wrong length on a one-CPU machine too
    expectThrows(() => lp.set(1, Array(wrong).fill(1n)), 'RangeError', `lru_pcpu value: expected one value, or an array of ${ncpu} (one per possible CPU), got an array of length ${wrong}`);
    expectThrows(() => lp.set(1, Array(ncpu + 1).fill(1n)), 'RangeError', /^lru_pcpu value: /);
    expectThrows(() => lp.set(1, Array(ncpu).fill(-1n)), 'RangeError', /^lru_pcpu value\[0\]: /);
    expectThrows(() => obj.map('pcpu_hash').set(sampleKey, Array(wrong).fill({ w: 1 })), 'RangeError', /^pcpu_hash value: /);
    expect(lp.has(1)).toBe(false);
  });
});

describe('lpm_trie', () => {
  test('BTF key { prefixlen, data: u8[4] }: longest prefix match', async () => {
    const lpm = (await loadedKinds()).map('lpm');
    expect(lpm.type).toBe('lpm_trie');
    expect(lpm.flags & MapFlags.NO_PREALLOC).toBe(MapFlags.NO_PREALLOC);
    lpm.set({ prefixlen: 8, data: [10, 0, 0, 0] }, 8);
    lpm.set({ prefixlen: 16, data: [10, 1, 0, 0] }, 16);
    expect(lpm.get({ prefixlen: 32, data: [10, 1, 2, 3] })).toBe(16);
    expect(lpm.get({ prefixlen: 32, data: [10, 2, 2, 3] })).toBe(8);
    expect(lpm.get({ prefixlen: 32, data: [11, 1, 2, 3] })).toBeUndefined();
    const keys = [...lpm.keys()].sort((a, b) => a.prefixlen - b.prefixlen);
    expect(keys.map((k) => k.prefixlen)).toEqual([8, 16]);
    expect(keys[1].data).toBeInstanceOf(Uint8Array);
    expect(bytes(keys[1].data)).toEqual([10, 1, 0, 0]);
    expect(lpm.delete({ prefixlen: 16, data: [10, 1, 0, 0] })).toBe(true);
    expect(lpm.get({ prefixlen: 32, data: [10, 1, 2, 3] })).toBe(8);
    expectThrows(() => lpm.get({ prefixlen: 32, data: [10, 1, 2, 3, 4] }), 'RangeError', /^lpm key \.data: /);
    expectThrows(() => lpm.get({ prefixlen: 32, data: [256] }), 'RangeError', /^lpm key \.data\[0\]: /);
  });

  test('standalone, keySize 8 and no BTF key: the lpm key codec { prefixlen, data }', () => {
    const lpm = create({ type: 'lpm_trie', keySize: 8, value: 'u32', maxEntries: 16, flags: MapFlags.NO_PREALLOC, name: 'lpm8' });
    lpm.set({ prefixlen: 8, data: Buffer.from([10, 0, 0, 0]) }, 8);
    lpm.set({ prefixlen: 16, data: new Uint8Array([10, 1]) }, 16); // shorter data is zero-padded
    lpm.set({ prefixlen: 0, data: Buffer.alloc(0) }, 0); // the default route
    expect(lpm.get({ prefixlen: 32, data: Buffer.from([10, 1, 2, 3]) })).toBe(16);
    expect(lpm.get({ prefixlen: 32, data: Buffer.from([10, 9, 2, 3]) })).toBe(8);
    expect(lpm.get({ prefixlen: 32, data: Buffer.from([192, 168, 0, 1]) })).toBe(0);
    const keys = [...lpm.keys()].sort((a, b) => a.prefixlen - b.prefixlen);
    expect(keys.map((k) => [k.prefixlen, bytes(k.data)])).toEqual([
      [0, [0, 0, 0, 0]],
      [8, [10, 0, 0, 0]],
      [16, [10, 1, 0, 0]],
    ]);
    expectThrows(() => lpm.get({ prefixlen: 33, data: Buffer.alloc(4) }), 'RangeError', 'lpm8 key .prefixlen: expected an integer 0..32, got 33');
    expectThrows(() => lpm.get({ prefixlen: 8, data: Buffer.alloc(5) }), 'RangeError', /^lpm8 key \.data: expected at most 4 bytes/);
    expectThrows(() => lpm.get(5 as any), 'TypeError', 'lpm8 key: expected { prefixlen, data }, got 5');
  });

  test('lpm_trie without BPF_F_NO_PREALLOC -> BpfError EINVAL', () => {
    expectBpfError(() => create({ type: 'lpm_trie', keySize: 8, valueSize: 4, maxEntries: 16, name: 'lpm_pre' }), 'EINVAL', 'bpf_map_create');
  });

  test('drain() of an lpm_trie returns every prefix and empties it', async () => {
    const lpm = (await loadedKinds()).map('lpm');
    lpm.set({ prefixlen: 8, data: [10, 0, 0, 0] }, 8);
    lpm.set({ prefixlen: 24, data: [10, 1, 2, 0] }, 24);
    const drained = lpm.drain();
    expect(drained.map(([k, v]) => [k.prefixlen, bytes(k.data), v]).sort((a, b) => (a[0] as number) - (b[0] as number))).toEqual([
      [8, [10, 0, 0, 0], 8],
      [24, [10, 1, 2, 0], 24],
    ]);
    expect([...lpm.keys()]).toEqual([]);
  });
});

describe('queue and stack', () => {
  test('queue: FIFO, peek, pop on empty -> undefined, full -> E2BIG, push(v, "exist") replaces the oldest', () => {
    const q = create<never, number>({ type: 'queue', value: 'u32', maxEntries: 3, name: 'q3' });
    expect(q.keySize).toBe(0);
    expect(q.pop()).toBeUndefined();
    expect(q.peek()).toBeUndefined();
    q.push(1).push(2).push(3);
    expect(q.peek()).toBe(1);
    const e = expectBpfError(() => q.push(4), 'E2BIG', 'bpf_map_update_elem');
    expect(e.errno).toBe(7);
    q.push(4, 'exist'); // drops 1
    expect(q.pop()).toBe(2);
    expect(q.pop()).toBe(3);
    expect(q.pop()).toBe(4);
    expect(q.pop()).toBeUndefined();
  });

  test('stack: LIFO; push(v, "exist") on a full stack drops the oldest', () => {
    const s = create<never, bigint>({ type: 'stack', value: 'u64', maxEntries: 3, name: 's3' });
    s.push(1n).push(2n).push(3n);
    expect(s.peek()).toBe(3n);
    expectBpfError(() => s.push(4n), 'E2BIG');
    s.push(4n, 'exist');
    expect([s.pop(), s.pop(), s.pop(), s.pop()]).toEqual([4n, 3n, 2n, undefined]);
  });

  test('keys(), values(), entries() and iteration -> TypeError', () => {
    const q = create({ type: 'queue', value: 'u32', maxEntries: 3, name: 'q_iter' });
    const s = create({ type: 'stack', value: 'u32', maxEntries: 3, name: 's_iter' });
    q.push(1);
    expectThrows(() => [...q.keys()], 'TypeError', 'q_iter is a queue map: use pop() or peek()');
    expectThrows(() => [...q.entries()], 'TypeError', 'q_iter is a queue map: use pop() or peek()');
    expectThrows(() => [...q.values()], 'TypeError', /^q_iter is a queue map/);
    expectThrows(() => [...q], 'TypeError', /^q_iter is a queue map/);
    expectThrows(() => [...s.keys()], 'TypeError', 's_iter is a stack map: use pop() or peek()');
    expectThrows(() => q.add(1), 'TypeError', 'add() is for bloom_filter maps; q_iter is a queue map');
    expectThrows(() => q.push('x' as any), 'TypeError', /^q_iter value: /);
    expectThrows(() => q.push(-1), 'RangeError', /^q_iter value: /);
    expect(q.pop()).toBe(1);
  });

  test("an object's queue declared with __type(value, u32) takes and returns numbers", async () => {
    const q = (await loadedKinds()).map('obj_queue');
    expect(q.type).toBe('queue');
    q.push(5).push(6);
    expect(q.pop()).toBe(5);
    expect(q.peek()).toBe(6);
  });
});

describe('bloom_filter', () => {
  if (kernelHas('bloom_filter')) {
    test('add then has; values never added are absent; mapExtra = number of hashes', () => {
      const bf = create({ type: 'bloom_filter', value: 'u32', maxEntries: 1000, mapExtra: 3, flags: MapFlags.ZERO_SEED, name: 'bf' });
      expect(bf.info().mapExtra).toBe(3n);
      expect(bf.info().type).toBe('bloom_filter');
      for (const v of [0, 42, 0xdeadbeef]) expect(bf.has(v)).toBe(false);
      bf.add(42).add(0xdeadbeef).add(7);
      for (const v of [42, 0xdeadbeef, 7]) expect(bf.has(v)).toBe(true);
      for (const v of [0, 1, 43, 8, 0xdeadbeee, 1000000]) expect(bf.has(v)).toBe(false);
    });

    test("an object's bloom filter: map_extra from the .bpf.c, u64 values", async () => {
      const bf = (await loadedKinds()).map('obj_bloom');
      expect(bf.info().mapExtra).toBe(3n);
      bf.add(1n << 40n);
      expect(bf.has(1n << 40n)).toBe(true);
      expect(bf.has(12345n)).toBe(false);
      expectThrows(() => bf.add(-1n), 'RangeError', /^obj_bloom value: /);
    });

    test('no keys: iteration and queue methods -> TypeError', () => {
      const bf = create({ type: 'bloom_filter', value: 'u32', maxEntries: 100, name: 'bf_iter' });
      expectThrows(() => bf.push(1), 'TypeError', 'push() is for queue/stack maps; bf_iter is a bloom_filter map');
      expectThrows(() => bf.pop(), 'TypeError', 'pop() is for queue/stack maps; bf_iter is a bloom_filter map');
      const e = thrown(() => [...bf.keys()]);
      expect(e).toBeInstanceOf(TypeError);
      expect(e.message).toMatch(/^bf_iter is a bloom_filter map: use has\(\)/); // not pop()/peek(), which throw
    });
  } else {
    test(`before 5.16: create() fails with a BpfError naming ${since('bloom_filter')}`, () => {
      const e = expectBpfError(() => create({ type: 'bloom_filter', value: 'u32', maxEntries: 1000, mapExtra: 3, name: 'bf' }), 'EINVAL', 'bpf_map_create');
      expect(e.message).toContain("bloom_filter map 'bf'");
      expect(e.hint).toBe(`this kernel cannot create bloom_filter maps: bloom_filter needs ${since('bloom_filter')}`);
      // A refusal of the attributes of a kind the kernel has names no release.
      expect(expectBpfError(() => create({ type: 'hash', key: 'u32', value: 'u32', maxEntries: 0 }), 'EINVAL').hint).toBeUndefined();
    });

    test(`before 5.16: loading obj_bloom fails naming ${since('bloom_filter')}; with autocreate off the rest loads`, async () => {
      await expectKindMissing('obj_bloom', (bf) => [() => bf.add(1n), () => bf.has(1n)]);
    });
  }
});

describe('map-in-map', () => {
  test('array_of_maps from __array(values, struct inner): set(k, innerMap), get(k) = inner id, a program reads through', async () => {
    const obj = await loadFixture(NESTED);
    const outer = obj.map('outer_arr');
    expect(outer.type).toBe('array_of_maps');
    expect(outer.info().keySize).toBe(4);
    expect(outer.info().valueSize).toBe(4);
    expect(outer.get(0)).toBeUndefined(); // empty slot
    const inner = create<number, bigint>({ type: 'array', key: 'u32', value: 'u64', maxEntries: 4, name: 'inner_ok' });
    outer.set(0, inner);
    expect(outer.get(0)).toBe(inner.info().id);
    expect(inner.info().id).toBeGreaterThan(0);
    expect([...outer.entries()]).toEqual([[0, inner.info().id]]);
    obj.program('through_outer').attach();
    const child = await gatedChild(5);
    obj.globals.arr_pid = child.pid;
    await child.go();
    expect(inner.get(0)).toBe(5n);
    expect(inner.get(1)).toBe(0n);
    // The kernel checks the inner map's shape against the template.
    const wrongValue = create({ type: 'array', key: 'u32', value: 'u32', maxEntries: 4, name: 'inner_u32' });
    expectBpfError(() => outer.set(1, wrongValue), 'EINVAL', 'bpf_map_update_elem');
    const wrongType = create({ type: 'hash', key: 'u32', value: 'u64', maxEntries: 4, name: 'inner_hash' });
    expectBpfError(() => outer.set(1, wrongType), 'EINVAL');
    expectThrows(() => outer.set(1, 'x' as any), 'TypeError', /^outer_arr value: expected a file descriptor, a BpfMap, a Program or a socket/);
    expect(outer.delete(0)).toBe(true);
    expect(outer.get(0)).toBeUndefined();
  });

  test('hash_of_maps: u32 keys (the calling pid) -> inner maps', async () => {
    const obj = await loadFixture(NESTED);
    const outer = obj.map('outer_hash');
    expect(outer.type).toBe('hash_of_maps');
    const inner = create<number, bigint>({ type: 'array', key: 'u32', value: 'u64', maxEntries: 4, name: 'inner_h' });
    obj.program('through_outer').attach();
    const child = await gatedChild(3);
    outer.set(child.pid, inner);
    expect(outer.get(child.pid)).toBe(inner.info().id);
    expect([...outer.keys()]).toEqual([child.pid]);
    await child.go();
    expect(inner.get(1)).toBe(3n);
    expect(outer.delete(child.pid)).toBe(true);
    expect(outer.has(child.pid)).toBe(false);
  });
});

describe('prog_array', () => {
  test('set(0, program) wires a tail call; get(0) is the program id', async () => {
    const obj = await loadFixture(NESTED);
    const jmp = obj.map('jmp_table');
    expect(jmp.type).toBe('prog_array');
    obj.program('tail_entry').attach();
    const before = await triggerGetpgid(2);
    expect(obj.map('fell_through').get(before)).toBe(2n);
    expect(obj.map('tail_hits').get(before)).toBeUndefined();
    const target = obj.program('tail_target');
    jmp.set(0, target);
    const id = jmp.get(0);
    expect(id).toBe(Number(fdInfo(target.fd).prog_id));
    expect(id).toBeGreaterThan(0);
    const after = await triggerGetpgid(4);
    expect(obj.map('tail_hits').get(after)).toBe(4n);
    expect(obj.map('fell_through').get(after)).toBeUndefined();
    expect(jmp.get(1)).toBeUndefined();
    // A map is no program; a raw fd works like the Program.
    const notProg = create({ type: 'array', key: 'u32', value: 'u32', maxEntries: 1, name: 'not_prog' });
    expectBpfError(() => jmp.set(1, notProg), 'EINVAL', 'bpf_map_update_elem');
    jmp.set(1, target.fd);
    expect(jmp.get(1)).toBe(id);
    expect(jmp.delete(0)).toBe(true);
    expect(jmp.delete(0)).toBe(false);
    const fell = await triggerGetpgid(1);
    expect(obj.map('fell_through').get(fell)).toBe(1n);
  });
});

describe('sockmap and sockhash', () => {
  test('sockmap: set a connected TCP socket and a raw fd; a non-socket -> TypeError / ENOTSOCK', async () => {
    const { client, server } = await tcpPair();
    const socks = create({ type: 'sockmap', keySize: 4, valueSize: 4, maxEntries: 4, name: 'socks' });
    socks.set(0, client);
    socks.set(1, socketFd(server));
    expectBpfError(() => socks.set(1, client, 'noexist'), 'EEXIST'); // slot 1 is taken
    expectThrows(() => socks.set(2, 'x' as any), 'TypeError', 'socks value: expected a file descriptor, a BpfMap, a Program or a socket, got "x"');
    expectThrows(() => socks.set(2, {} as any), 'TypeError', /^socks value: /);
    const file = openFd('/proc/self/status');
    expectBpfError(() => socks.set(2, file), 'ENOTSOCK', 'bpf_map_update_elem');
    // With 4-byte values the kernel gives user space no lookups (only 8-byte values read back a cookie).
    expectBpfError(() => socks.get(0), 'ENOSPC', 'bpf_map_lookup_elem');
    expect(socks.delete(0)).toBe(true);
    expectBpfError(() => socks.delete(0), 'EINVAL', 'bpf_map_delete_elem'); // the kernel's answer for an empty slot
    expect([...socks.keys()]).toEqual([0, 1, 2, 3]); // array-like: every index
  });

  test('sockmap with 8-byte values: set(k, socket), get(k) is the socket cookie', async () => {
    const a = await tcpPair();
    const b = await tcpPair();
    const socks = create({ type: 'sockmap', keySize: 4, valueSize: 8, maxEntries: 4, name: 'socks8' });
    socks.set(0, a.client);
    socks.set(1, b.client);
    socks.set(2, a.client);
    const c0 = socks.get(0), c1 = socks.get(1), c2 = socks.get(2);
    expect(typeof c0).toBe('bigint');
    expect(c0).toBeGreaterThan(0n);
    expect(c2).toBe(c0); // the same socket
    expect(c1).not.toBe(c0);
  });

  test('sockhash: u32 keys -> sockets', async () => {
    const { client } = await tcpPair();
    const sh = create({ type: 'sockhash', key: 'u32', valueSize: 4, maxEntries: 8, name: 'sockh' });
    sh.set(1234, client);
    sh.set(99, socketFd(client));
    expect(numSort(sh.keys())).toEqual([99, 1234]);
    expect(sh.delete(1234)).toBe(true);
    expect(sh.delete(1234)).toBe(false);
    expect([...sh.keys()]).toEqual([99]);
    expectThrows(() => sh.set(5, null as any), 'TypeError', /^sockh value: /);
  });
});

describe('devmap, devmap_hash, cpumap, xskmap', () => {
  test('devmap: ifindex values (lo = 1); an unknown ifindex -> EINVAL', () => {
    const dm = create({ type: 'devmap', key: 'u32', value: 'u32', maxEntries: 4, name: 'devs' });
    expect(dm.get(0)).toBeUndefined();
    dm.set(0, 1);
    expect(dm.get(0)).toBe(1);
    expectBpfError(() => dm.set(1, 0x7ffffff0), 'EINVAL', 'bpf_map_update_elem');
    expectBpfError(() => dm.set(4, 1), 'E2BIG');
    expect(dm.delete(0)).toBe(true);
    expect(dm.get(0)).toBeUndefined();
  });

  test('devmap_hash: sparse keys', () => {
    const dh = create({ type: 'devmap_hash', key: 'u32', value: 'u32', maxEntries: 4, name: 'devh' });
    dh.set(700, 1).set(9, 1);
    expect([...dh.entries()].sort((x, y) => x[0] - y[0])).toEqual([
      [9, 1],
      [700, 1],
    ]);
    expect(dh.delete(700)).toBe(true);
    expect(dh.delete(700)).toBe(false);
  });

  test('cpumap: a u32 qsize value, or struct bpf_cpumap_val from the kernel BTF', () => {
    const ncpu = numPossibleCpus();
    const cm = create({ type: 'cpumap', key: 'u32', value: 'u32', maxEntries: ncpu, name: 'cpus' });
    cm.set(0, 192);
    expect(cm.get(0)).toBe(192);
    expectBpfError(() => cm.set(ncpu, 192), 'E2BIG');
    const vmlinux = Btf.parse(fs.readFileSync('/sys/kernel/btf/vmlinux'));
    const cm2 = create({ type: 'cpumap', key: 'u32', value: { btf: vmlinux, type: 'struct bpf_cpumap_val' }, maxEntries: ncpu, name: 'cpus_val' });
    expect(cm2.valueSize).toBe(8);
    cm2.set(ncpu - 1, { qsize: 64 });
    expect(cm2.get(ncpu - 1)).toEqual({ qsize: 64, bpf_prog: { fd: 0, id: 0 } });
    expect(cm2.get(0)).toEqual(ncpu > 1 ? undefined : { qsize: 64, bpf_prog: { fd: 0, id: 0 } }); // entry 0 is the one set on a one-CPU machine
  });

  test('xskmap: creating works; a non-AF_XDP fd is refused (ENOTSOCK, EOPNOTSUPP); lookups -> EOPNOTSUPP', async () => {
    const xm = create({ type: 'xskmap', keySize: 4, valueSize: 4, maxEntries: 4, name: 'xsks' });
    expect(xm.info().type).toBe('xskmap');
    const file = openFd('/proc/self/status');
    expectBpfError(() => xm.set(0, file), 'ENOTSOCK', 'bpf_map_update_elem');
    const { client } = await tcpPair();
    expectBpfError(() => xm.set(0, client), 'EOPNOTSUPP', 'bpf_map_update_elem');
    expectBpfError(() => xm.get(0), 'EOPNOTSUPP', 'bpf_map_lookup_elem');
  });
});

describe('local storage maps', () => {
  test('sk_storage: set(socket fd, value) with noexist/exist semantics, get, delete; no iteration', async () => {
    const sk = (await loadedKinds()).map('sk_store');
    expect(sk.type).toBe('sk_storage');
    expect(sk.flags & MapFlags.NO_PREALLOC).toBe(MapFlags.NO_PREALLOC);
    const { client, server } = await tcpPair();
    const fd = socketFd(client);
    expect(sk.get(fd)).toBeUndefined();
    sk.set(fd, { cookie: 5n, mark: 7, label: 'abc' }, 'noexist');
    expect(sk.get(fd)).toEqual({ cookie: 5n, mark: 7, label: 'abc' });
    expectBpfError(() => sk.set(fd, { cookie: 6n }, 'noexist'), 'EEXIST', 'bpf_map_update_elem');
    sk.set(fd, { cookie: 6n, label: 'xyz' }, 'exist');
    expect(sk.get(fd)).toEqual({ cookie: 6n, mark: 0, label: 'xyz' });
    expect(sk.get(socketFd(server))).toBeUndefined(); // per socket
    expectBpfError(() => [...sk.keys()], 'ENOTSUPP', 'bpf_map_get_next_key');
    expect(sk.delete(fd)).toBe(true);
    expect(sk.get(fd)).toBeUndefined();
    expect(sk.delete(fd)).toBe(false);
    expectBpfError(() => sk.set(fd, { cookie: 1n }, 'exist'), 'ENOENT');
    const file = openFd('/proc/self/status');
    expectBpfError(() => sk.set(file, { cookie: 1n }), 'ENOTSOCK');
  });

  if (kernelHas('task_storage')) {
    test("task_storage: a program creates each task's storage; user space addresses it by pidfd", async () => {
      const obj = await loadedKinds();
      const ts = obj.map('task_store');
      expect(ts.type).toBe('task_storage');
      obj.attach();
      const seen = obj.map<number, bigint>('mm_arr'); // [2]: the calling task's storage, after each call
      const child = await pidfdChild(4);
      obj.globals.target_pid = child.pid;
      await child.go();
      expect(seen.get(2)).toBe(4n);
      const other = await pidfdChild(2); // another task: its own storage, from zero
      obj.globals.target_pid = other.pid;
      await other.go();
      expect(seen.get(2)).toBe(2n);
      // A /proc/<pid> directory is no pidfd.
      expectBpfError(() => ts.get(openFd(`/proc/${child.pid}`)), 'EBADF', 'bpf_map_lookup_elem');
      if (!kernelAtLeast(6, 9)) {
        // Before pidfs (6.9) a pidfd cannot be reopened through /proc, and Node has no
        // pidfd_open: this process has no pidfd to address a task's storage with.
        expect(thrown(() => openFd(child.pidfdPath)).code).toBe('ENXIO');
        return;
      }
      const pidfd = openFd(child.pidfdPath);
      expect(ts.get(pidfd)).toBe(4n);
      ts.set(pidfd, 100n, 'exist');
      expect(ts.get(pidfd)).toBe(100n);
      expect(ts.delete(pidfd)).toBe(true);
      expect(ts.get(pidfd)).toBeUndefined();
      ts.set(pidfd, 7n, 'noexist');
      expect(ts.get(pidfd)).toBe(7n);
      // Not a pidfd -> EBADF; the task gone -> ENOENT.
      const file = openFd('/proc/self/status');
      expectBpfError(() => ts.set(file, 1n), 'EBADF', 'bpf_map_update_elem');
      await child.end();
      expect(ts.get(pidfd)).toBeUndefined();
      expectBpfError(() => ts.set(pidfd, 1n), 'ENOENT');
    });
  } else {
    test(`before 5.11: loading task_store fails naming ${since('task_storage')}; with it and its program off the rest loads`, async () => {
      await expectKindMissing('task_store', (ts) => [() => ts.get(0), () => ts.set(0, 1n), () => ts.delete(0)]);
    });
  }

  test('inode_storage: keyed by an fd of the file', async () => {
    const ino = (await loadedKinds()).map('inode_store');
    expect(ino.type).toBe('inode_storage');
    const a = openFd('/proc/self/status');
    const tmp = `/tmp/nlb_inode_${process.pid}`;
    fs.writeFileSync(tmp, 'x');
    onCleanup(() => fs.rmSync(tmp, { force: true }));
    const b1 = openFd(tmp);
    const b2 = openFd(tmp); // another fd of the same inode
    ino.set(b1, 11n);
    expect(ino.get(b2)).toBe(11n);
    expect(ino.get(a)).toBeUndefined();
    expect(ino.delete(b2)).toBe(true);
    expect(ino.get(b1)).toBeUndefined();
    expectBpfError(() => ino.get(987654), 'EBADF');
  });

  if (kernelHas('cgrp_storage')) {
    test('cgrp_storage: keyed by an fd of a cgroup directory', async () => {
      const cg = (await loadedKinds()).map('cgrp_store');
      expect(cg.type).toBe('cgrp_storage');
      const cgroup2 = fs
        .readFileSync('/proc/mounts', 'utf8')
        .split('\n')
        .map((l) => l.split(' '))
        .find((f) => f[2] === 'cgroup2')?.[1];
      expect(cgroup2).toBeDefined();
      const dir = openFd(cgroup2!);
      cg.set(dir, 9n);
      expect(cg.get(dir)).toBe(9n);
      expectBpfError(() => cg.set(dir, 10n, 'noexist'), 'EEXIST');
      const file = openFd('/proc/self/status');
      expectBpfError(() => cg.set(file, 1n), 'EBADF', 'bpf_map_update_elem');
      expect(cg.delete(dir)).toBe(true);
      expect(cg.get(dir)).toBeUndefined();
    });
  } else {
    test(`before 6.2: loading cgrp_store fails naming ${since('cgrp_storage')}; with it off the rest loads`, async () => {
      await expectKindMissing('cgrp_store', (cg) => [() => cg.get(0), () => cg.set(0, 1n), () => cg.delete(0)]);
    });
  }
});

describe('update flags', () => {
  test('noexist / exist / any on a hash of structs', async () => {
    const h = (await loadedKinds()).map('h_struct');
    const k = { pid: 9 };
    expectBpfError(() => h.set(k, { count: 1n }, 'exist'), 'ENOENT', 'bpf_map_update_elem');
    h.set(k, { count: 1n }, 'noexist');
    expectBpfError(() => h.set(k, { count: 2n }, 'noexist'), 'EEXIST');
    expect(h.get(k).count).toBe(1n);
    h.set(k, { count: 3n }, 'exist');
    expect(h.get(k).count).toBe(3n);
    h.set(k, { count: 4n }, 'any');
    h.set(k, { count: 5n });
    expect(h.get(k).count).toBe(5n);
  });

  test("'lock': a value with struct bpf_spin_lock", async () => {
    const obj = await loadedKinds();
    const locked = obj.map('locked');
    locked.set(1, { counter: 5n, tag: 2 }, 'lock');
    expect(locked.get(1)).toEqual({ lock: { val: 0 }, counter: 5n, tag: 2 });
    locked.set(1, { counter: 6n, tag: 3 }, 'lock');
    expect(locked.get(1)).toEqual({ lock: { val: 0 }, counter: 6n, tag: 3 });
    // Without a spin lock in the value the kernel refuses BPF_F_LOCK.
    expectBpfError(() => obj.map('h_struct').set({ pid: 1 }, { count: 1n }, 'lock'), 'EINVAL', 'bpf_map_update_elem');
  });
});

describe('bulk: batched iteration, drain, setMany, deleteMany, clear', () => {
  const N = 10000;

  test('hash of 10,000: keys/values/entries equal what was set, read with BPF_MAP_LOOKUP_BATCH', async () => {
    const calls = await bpfCalls();
    const h = create<number, bigint>({ type: 'hash', key: 'u32', value: 'u64', maxEntries: N, name: 'big_hash' });
    const data = Array.from({ length: N }, (_, i) => [i * 7 + 1, BigInt(i) * 3n + (1n << 40n)] as [number, bigint]);
    const set = calls.delta(() => h.setMany(data));
    expect(set.result).toBe(N);
    expect(set.calls(CMD.UPDATE_BATCH)).toBeGreaterThanOrEqual(1);
    expect(set.calls(CMD.UPDATE_ELEM)).toBe(0);
    const read = calls.delta(() => [...h.entries()]);
    expect(new Map(read.result)).toEqual(new Map(data));
    expect(read.result).toHaveLength(N);
    expect(read.calls(CMD.LOOKUP_BATCH)).toBeGreaterThanOrEqual(1);
    expect(read.calls(CMD.LOOKUP_BATCH)).toBeLessThanOrEqual(Math.ceil(N / 64) + 1);
    expect(read.calls(CMD.GET_NEXT_KEY)).toBe(0);
    expect(read.calls(CMD.LOOKUP_ELEM)).toBe(0);
    expect(numSort(h.keys())).toEqual(data.map(([k]) => k));
    expect([...h.values()].sort((a, b) => (a < b ? -1 : 1))).toEqual(data.map(([, v]) => v));
  });

  test('array and per-CPU maps of 10,000', () => {
    const ncpu = numPossibleCpus();
    const arr = create<number, number>({ type: 'array', key: 'u32', value: 's32', maxEntries: N, name: 'big_arr' });
    expect(arr.setMany(Array.from({ length: N }, (_, i) => [i, -i]))).toBe(N);
    const got = [...arr.entries()];
    expect(got).toHaveLength(N);
    expect(got.every(([k, v], i) => k === i && v === (i === 0 ? 0 : -i))).toBe(true);
    const pa = create<number, bigint[]>({ type: 'percpu_array', key: 'u32', value: 'u64', maxEntries: N, name: 'big_pa' });
    pa.setMany(Array.from({ length: N }, (_, i) => [i, Array.from({ length: ncpu }, (_, c) => BigInt(i * 10 + c))]));
    const pvals = [...pa.values()];
    expect(pvals).toHaveLength(N);
    expect(pvals[N - 1]).toEqual(Array.from({ length: ncpu }, (_, c) => BigInt((N - 1) * 10 + c)));
    expect(pvals.every((v, i) => v.length === ncpu && v[0] === BigInt(i * 10))).toBe(true);
    const ph = create<number, any>({ type: 'percpu_hash', key: 'u32', value: 'u32', maxEntries: N, name: 'big_ph' });
    expect(ph.setMany(Array.from({ length: N }, (_, i) => [i, i]))).toBe(N);
    const pentries = new Map([...ph.entries()]);
    expect(pentries.size).toBe(N);
    expect(pentries.get(1234)).toEqual(Array(ncpu).fill(1234));
    const drained = ph.drain();
    expect(drained).toHaveLength(N);
    expect(new Map(drained)).toEqual(pentries);
    expect([...ph.keys()]).toEqual([]);
  });

  test('a map type without batch operations still iterates (get_next_key fallback)', async () => {
    const calls = await bpfCalls();
    const dh = create<number, number>({ type: 'devmap_hash', key: 'u32', value: 'u32', maxEntries: 256, name: 'nobatch' });
    for (let i = 0; i < 100; i++) dh.set(i * 3, 1);
    const first = calls.delta(() => [...dh.entries()]);
    expect(numSort(first.result.map(([k]) => k))).toEqual(Array.from({ length: 100 }, (_, i) => i * 3));
    expect(first.result.every(([, v]) => v === 1)).toBe(true);
    expect(first.calls(CMD.LOOKUP_BATCH)).toBe(1); // refused by the kernel (ENOTSUPP)
    expect(first.calls(CMD.GET_NEXT_KEY)).toBe(101);
    const second = calls.delta(() => [...dh.keys()]);
    expect(second.result).toHaveLength(100);
    expect(second.calls(CMD.LOOKUP_BATCH)).toBe(0); // remembered
    // lpm_trie: this kernel has the generic batch operations for it.
    const lpm = create({ type: 'lpm_trie', keySize: 8, value: 'u32', maxEntries: 300, flags: MapFlags.NO_PREALLOC, name: 'lpm_iter' });
    for (let i = 0; i < 200; i++) lpm.set({ prefixlen: 24, data: Buffer.from([10, i >> 8, i & 255, 0]) }, i);
    const lpmRead = calls.delta(() => [...lpm.entries()]);
    expect(lpmRead.result).toHaveLength(200);
    expect(lpmRead.result.every(([k, v]) => k.prefixlen === 24 && k.data[2] === v)).toBe(true);
    expect(lpmRead.calls(CMD.LOOKUP_BATCH) + lpmRead.calls(CMD.GET_NEXT_KEY)).toBeGreaterThan(0);
  });

  test('drain() returns everything (lookup-and-delete batches) and leaves the map empty', async () => {
    const calls = await bpfCalls();
    const h = create<number, bigint>({ type: 'hash', key: 'u32', value: 'u64', maxEntries: N, name: 'drain_me' });
    const data = Array.from({ length: N }, (_, i) => [i, BigInt(i) + 1n] as [number, bigint]);
    h.setMany(data);
    const d = calls.delta(() => h.drain());
    expect(new Map(d.result)).toEqual(new Map(data));
    expect(d.calls(CMD.LOOKUP_AND_DELETE_BATCH)).toBeGreaterThanOrEqual(1);
    expect(d.calls(CMD.DELETE_ELEM)).toBe(0);
    expect([...h.keys()]).toEqual([]);
    expect(h.drain()).toEqual([]);
    h.set(5, 6n);
    expect(h.drain()).toEqual([[5, 6n]]);
  });

  test('setMany and deleteMany return counts; flags apply to every entry', () => {
    const h = create<number, number>({ type: 'hash', key: 'u32', value: 'u32', maxEntries: 64, name: 'many' });
    expect(h.setMany([])).toBe(0);
    expect(h.setMany(new Map([[1, 10], [2, 20], [3, 30]]))).toBe(3);
    expect(h.get(2)).toBe(20);
    expectBpfError(() => h.setMany([[4, 40], [1, 11]], 'noexist'), 'EEXIST');
    expect(h.get(1)).toBe(10);
    expect(h.setMany([[1, 12], [2, 22]], 'exist')).toBe(2);
    expect(h.get(1)).toBe(12);
    expect(h.deleteMany([])).toBe(0);
    expect(h.deleteMany([1, 3])).toBe(2);
    // The refused batch stopped at [1, 11]: the entry before it (4) was set.
    expect(numSort(h.keys())).toEqual([2, 4]);
    expectThrows(() => h.setMany([[1, -1]]), 'RangeError', /^many value\[0\]: /);
    expectThrows(() => h.deleteMany(['x' as any]), 'TypeError', /^many key\[0\]: /);
  });

  test('deleteMany with absent keys among present ones deletes every present one', () => {
    const h = create<number, number>({ type: 'hash', key: 'u32', value: 'u32', maxEntries: 64, name: 'holes' });
    h.setMany([[1, 1], [2, 2], [3, 3], [4, 4]]);
    expect(h.deleteMany([1, 99, 2, 98, 3])).toBe(3);
    expect([...h.keys()]).toEqual([4]);
  });

  test('clear(): a hash ends empty, an array ends zeroed', async () => {
    const obj = await loadedKinds();
    const h = obj.map('h_struct');
    for (let i = 0; i < 10; i++) h.set({ pid: i }, { count: BigInt(i) });
    expect(h.clear()).toBe(10);
    expect([...h.keys()]).toEqual([]);
    expect(h.clear()).toBe(0);
    const arr = obj.map('arr_struct');
    arr.set(1, sampleValue).set(3, sampleValue);
    expect(arr.clear()).toBe(4);
    expect([...arr.entries()]).toEqual([0, 1, 2, 3].map((i) => [i, zeroValue]));
    const pa = obj.map('pcpu_array');
    pa.set(2, sampleValue);
    pa.clear();
    expect(pa.get(2)).toEqual(Array(numPossibleCpus()).fill(zeroValue));
  });
});

describe('pre-load shaping of unsized maps', () => {
  // Each shaping step makes the load fail on the next unsized map, then succeed.
  const steps: [string, (obj: BpfObject) => void][] = [
    ['no_max', (o) => (o.map('no_max').maxEntries = 32)],
    ['byte_buf', (o) => (o.map('byte_buf').valueSize = 64)],
    ['no_key', (o) => (o.map('no_key').keySize = 4)],
    ['lpm_prealloc', (o) => (o.map('lpm_prealloc').flags = MapFlags.NO_PREALLOC)],
  ];

  test('as is, and after each step, load fails naming the next unsized map', async () => {
    for (let i = 0; i <= steps.length; i++) {
      const obj = openFixture(UNSIZED);
      for (const [, shape] of steps.slice(0, i)) shape(obj);
      const failing = i < steps.length ? steps[i][0] : 'no_inner'; // a map-in-map without an inner template
      const e = await obj.load().then(
        () => undefined,
        (err) => err,
      );
      expect(e).toBeInstanceOf(BpfError);
      expect(e.syscall).toBe('bpf_object__load');
      expect(e.code).toBe('EINVAL');
      expect(e.message).toContain(`map '${failing}': failed to create`);
      obj.close();
    }
  });

  test('once sized from TypeScript it loads, with the sizes, flags and inner map given', async () => {
    const template = create({ type: 'hash', key: 'u32', value: 'u32', maxEntries: 4, name: 'tmpl' });
    const obj = openFixture(UNSIZED);
    expect(obj.map('no_max').maxEntries).toBe(0);
    expect(obj.map('byte_buf').valueSize).toBe(0);
    expect(obj.map('no_key').keySize).toBe(0);
    for (const [, shape] of steps) shape(obj);
    obj.map('no_inner').innerMap = template;
    obj.map('bloom_later').mapExtra = 4;
    if (!kernelHas('bloom_filter')) obj.map('bloom_later').autocreate = false;
    obj.map('no_max').numaNode = 0;
    expect(obj.map('byte_buf').valueSize).toBe(64);
    await obj.load();
    const info = (name: string) => obj.map(name).info();
    expect(info('no_max')).toMatchObject({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 32 });
    expect(info('byte_buf')).toMatchObject({ type: 'array', keySize: 4, valueSize: 64, maxEntries: 2 });
    expect(info('no_key')).toMatchObject({ type: 'hash', keySize: 4, valueSize: 4 });
    expect(info('lpm_prealloc')).toMatchObject({ type: 'lpm_trie', flags: MapFlags.NO_PREALLOC, keySize: 20 });
    if (kernelHas('bloom_filter')) expect(info('bloom_later').mapExtra).toBe(4n);
    else expectThrows(() => info('bloom_later'), 'TypeError', NOT_CREATED); // left uncreated before 5.16
    // And they work: typed from BTF where libbpf kept it, Buffers otherwise.
    obj.map('no_max').set(1, 2n);
    expect(obj.map('no_max').get(1)).toBe(2n);
    const buf = obj.map('byte_buf');
    buf.set(1, Buffer.alloc(64, 7));
    expect(buf.get(1)).toEqual(Buffer.alloc(64, 7));
    expectThrows(() => buf.set(0, Buffer.alloc(63)), 'RangeError', /^byte_buf value: /);
    const inner = create({ type: 'hash', key: 'u32', value: 'u32', maxEntries: 4, name: 'inner2' });
    const outer = obj.map('no_inner');
    const k = Buffer.from([1, 0, 0, 0]);
    outer.set(k, inner);
    expect(outer.get(k)).toBe(inner.info().id);
    const lpm = obj.map('lpm_prealloc');
    lpm.set({ prefixlen: 16, addr: [0x20, 0x01] }, 1);
    expect(lpm.get({ prefixlen: 128, addr: [0x20, 0x01, 0, 0, 5] })).toBe(1);
  });

  test('numaNode set before load reaches the kernel (BPF_F_NUMA_NODE), as with create()', async () => {
    const standalone = create({ type: 'hash', key: 'u32', value: 'u32', maxEntries: 4, numaNode: 0, name: 'numa0' });
    expect(standalone.info().flags & MapFlags.NUMA_NODE).toBe(MapFlags.NUMA_NODE);
    const obj = await loadFixture(UNSIZED, (o) => {
      for (const [, shape] of steps) shape(o);
      o.map('no_inner').innerMap = standalone;
      o.map('no_max').numaNode = 0;
      if (!kernelHas('bloom_filter')) o.map('bloom_later').autocreate = false;
    });
    expect(obj.map('no_max').info().flags & MapFlags.NUMA_NODE).toBe(MapFlags.NUMA_NODE);
  });

  test('setters after load, or on a standalone map -> TypeError; bad values -> RangeError/TypeError', async () => {
    const obj = await loadedKinds();
    const h = obj.map('h_struct');
    const inner = create({ type: 'array', key: 'u32', value: 'u64', maxEntries: 4, name: 'x' });
    for (const set of [
      () => (h.maxEntries = 8),
      () => (h.keySize = 8),
      () => (h.valueSize = 8),
      () => (h.flags = 0),
      () => (h.numaNode = 0),
      () => (h.mapExtra = 1),
      () => (h.innerMap = inner),
    ]) {
      expectThrows(set, 'TypeError', 'BpfObject is already loaded');
    }
    for (const set of [() => (inner.maxEntries = 8), () => (inner.keySize = 8), () => (inner.flags = 1)]) {
      expectThrows(set, 'TypeError', 'BpfMap is already created: its shape is fixed');
    }
    const fresh = openFixture(UNSIZED).map('no_max');
    expectThrows(() => (fresh.keySize = -1), 'RangeError', /^keySize: expected an integer 0\.\.2\^32-1, got -1$/);
    expectThrows(() => (fresh.valueSize = 1.5), 'RangeError', /^valueSize: /);
    expectThrows(() => (fresh.flags = '1' as any), 'TypeError', /^flags: /);
    expectThrows(() => (fresh.numaNode = 70000), 'RangeError', /^numaNode: /);
    expectThrows(() => (fresh.mapExtra = '3' as any), 'TypeError', 'mapExtra: expected an integer 0..2^64-1 (a number or a bigint), got "3"');
    expectThrows(() => (fresh.innerMap = {} as any), 'TypeError', 'innerMap: expected a BpfMap, got an object');
  });
});

describe('autocreate', () => {
  /** The names of the BPF maps this process holds an fd of: what the kernel created. */
  function mapsInKernel(): string[] {
    const names: string[] = [];
    for (const fd of fs.readdirSync('/proc/self/fd').map(Number)) {
      let target = '';
      try {
        target = fs.readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        continue; // the directory's own fd, closed by now
      }
      if (target !== 'anon_inode:bpf-map') continue;
      const map = BpfMap.fromId(Number(fdInfo(fd).map_id));
      names.push(map.name);
      map.close();
    }
    return names;
  }

  test('false: that map is not created, the rest of the object loads and works', async () => {
    const obj = openFixture(KINDS);
    withoutMissingKinds(obj);
    const h = obj.map('h_struct');
    expect(h.autocreate).toBe(true);
    h.autocreate = false;
    expect(h.autocreate).toBe(false);
    obj.map('lpm').autocreate = false;
    obj.map('lpm').autocreate = true; // and back on
    await obj.load();
    const inKernel = mapsInKernel();
    expect(inKernel).toEqual(expect.arrayContaining(['arr_struct', 'lpm', 'mm_arr']));
    expect(inKernel).not.toContain('h_struct');
    expectNotCreated(h, [
      () => h.get(sampleKey),
      () => h.has(sampleKey),
      () => h.set(sampleKey, sampleValue),
      () => h.delete(sampleKey),
      () => h.getAndDelete(sampleKey),
      () => [...h.keys()],
      () => [...h.entries()],
      () => h.drain(),
      () => h.setMany([[sampleKey, sampleValue]]),
      () => h.deleteMany([sampleKey]),
      () => h.clear(),
      () => h.memory,
    ]);
    expect(h.type).toBe('hash'); // what the object file says stays readable
    expect(h.keySize).toBe(24);
    // The others work, and so do the programs.
    obj.map('lpm').set({ prefixlen: 8, data: [10, 0, 0, 0] }, 8);
    expect(obj.map('lpm').get({ prefixlen: 32, data: [10, 1, 2, 3] })).toBe(8);
    obj.attach();
    const child = await gatedChild(3);
    obj.globals.target_pid = child.pid;
    await child.go();
    expect(obj.map('mm_arr').get(0)).toBe(3n);
  });

  test('a program that uses a map left uncreated is refused by the verifier, naming the map; with the programs off the object loads', async () => {
    const refused = openFixture(KINDS);
    withoutMissingKinds(refused);
    refused.map('mm_arr').autocreate = false;
    const e = await rejection(refused.load());
    expect(e).toBeInstanceOf(VerifierError);
    expect(e.program).toBe('kinds_getpgid');
    expect(e.log).toContain("BPF map 'mm_arr' is referenced but wasn't created");
    expectThrows(() => (refused.map('mm_arr').autocreate = true), 'TypeError', 'BpfObject failed to load; open it again');
    const obj = openFixture(KINDS);
    withoutMissingKinds(obj);
    const mm = obj.map('mm_arr');
    mm.autocreate = false;
    for (const p of obj.programs()) p.autoload = false; // both write mm_arr
    await obj.load();
    expectNotCreated(mm, [() => mm.get(0), () => mm.memory]);
    expect(mapsInKernel()).not.toContain('mm_arr');
    expect(obj.map('arr_struct').get(0)).toEqual(zeroValue);
  });

  test('.bss left uncreated: its globals are initial values before load, a TypeError after', async () => {
    const obj = openFixture(KINDS);
    withoutMissingKinds(obj);
    for (const p of obj.programs()) p.autoload = false; // both read target_pid
    const bss = obj.map('.bss');
    bss.autocreate = false;
    obj.globals.target_pid = 5;
    expect(obj.globals.target_pid).toBe(5);
    await obj.load();
    expectThrows(() => obj.globals.target_pid, 'TypeError', NOT_CREATED);
    expectThrows(() => (obj.globals.bss_calls = 1n), 'TypeError', NOT_CREATED);
    expectThrows(() => bss.memory, 'TypeError', NOT_CREATED);
    expectNotCreated(bss);
  });

  test('misuse: a non-boolean -> TypeError; after load, on a standalone map, after close -> the fixed TypeErrors', async () => {
    const fresh = openFixture(KINDS).map('h_struct');
    for (const v of [1, 'false', null, undefined, {}]) {
      expectThrows(() => (fresh.autocreate = v as any), 'TypeError', /^autocreate: expected a boolean, got /);
    }
    expect(fresh.autocreate).toBe(true);
    const obj = await loadedKinds();
    const h = obj.map('h_struct');
    expectThrows(() => (h.autocreate = false), 'TypeError', 'BpfObject is already loaded');
    expect(h.autocreate).toBe(true);
    expect(Number(fdInfo(h.fd).map_id)).toBe(h.info().id); // still created
    const standalone = BpfMap.create({ type: 'hash', key: 'u32', value: 'u32', maxEntries: 4, name: 'alone' });
    expect(standalone.autocreate).toBe(true);
    expectThrows(() => (standalone.autocreate = false), 'TypeError', 'BpfMap is already created: its shape is fixed');
    standalone.close();
    expectThrows(() => standalone.autocreate, 'TypeError', 'BpfMap is closed');
    obj.close();
    expectThrows(() => h.autocreate, 'TypeError', 'BpfObject is closed');
    expectThrows(() => (h.autocreate = false), 'TypeError', 'BpfObject is closed');
  });
});

describe('MapMemory', () => {
  test('an MMAPABLE array: writes through memory are seen by get() and vice versa', () => {
    const m = create<number, bigint>({ type: 'array', key: 'u32', value: 'u64', maxEntries: 16, flags: MapFlags.MMAPABLE, name: 'mm16' });
    const mem = m.memory;
    expect(mem).toBeInstanceOf(MapMemory);
    expect(m.memory).toBe(mem);
    expect(mem.length).toBe(16);
    expect(mem.bytes.length).toBe(128);
    expect(mem.valid).toBe(true);
    mem.set(3, 77n);
    expect(m.get(3)).toBe(77n);
    m.set(4, 0xfedcba9876543210n);
    expect(mem.get(4)).toBe(0xfedcba9876543210n);
    expect(Buffer.from(mem.bytes.subarray(32, 40)).readBigUInt64LE(0)).toBe(0xfedcba9876543210n);
    expectThrows(() => mem.get(16), 'RangeError', 'index: expected an integer 0..15, got 16');
    expectThrows(() => mem.set(0, -1n), 'RangeError', /^mm16 memory\[0\]: /);
    m.close();
    expect(mem.valid).toBe(false);
    expectThrows(() => mem.get(3), 'TypeError', 'BpfMap is closed');
    expectThrows(() => mem.set(3, 1n), 'TypeError', 'BpfMap is closed');
    expectThrows(() => mem.bytes, 'TypeError', 'BpfMap is closed');
    expectThrows(() => m.memory, 'TypeError', 'BpfMap is closed');
  });

  test("create({ type: 'array', value: 'u64', maxEntries: 16, flags: MMAPABLE }): an array's key is its u32 index", () => {
    const m = create({ type: 'array', value: 'u64', maxEntries: 16, flags: MapFlags.MMAPABLE, name: 'mm_nokey' });
    expect(m.keySize).toBe(4);
    m.memory.set(1, 5n);
    expect(m.get(1)).toBe(5n);
  });

  test("an object's BPF_F_MMAPABLE array written by a program, read through memory without bpf() calls", async () => {
    const calls = await bpfCalls();
    const obj = await loadedKinds();
    obj.attach();
    const mem = obj.map<number, bigint>('mm_arr').memory;
    expect(mem.length).toBe(8);
    const child = await gatedChild(6);
    obj.globals.target_pid = child.pid;
    await child.go();
    const read = calls.delta(() => [mem.get(0), mem.get(1)]);
    expect(read.result).toEqual([6n, BigInt(child.pid)]);
    expect(read.total).toBe(0);
    expect(obj.map('mm_arr').get(0)).toBe(6n); // the syscall agrees
    // .bss of the same object, through its map's memory
    const bss = obj.map('.bss').memory;
    expect(bss.length).toBe(1);
    expect(bss.get(0)).toEqual({ target_pid: child.pid, bss_calls: 6n, bss_last_pid: child.pid });
    bss.set(0, { target_pid: 0, bss_calls: 100n, bss_last_pid: 0 });
    expect(obj.globals.bss_calls).toBe(100n);
    expect(obj.globals.target_pid).toBe(0);
    obj.close();
    expect(mem.valid).toBe(false);
    expectThrows(() => mem.get(0), 'TypeError', 'BpfObject is closed');
  });

  test('a map without mmap()able memory -> TypeError', async () => {
    const h = (await loadedKinds()).map('h_struct');
    expectThrows(() => h.memory, 'TypeError', /^map h_struct: not mmap\(\)able/);
    const plain = create({ type: 'array', key: 'u32', value: 'u32', maxEntries: 4, name: 'plain_arr' });
    expectThrows(() => plain.memory, 'TypeError', /^map plain_arr: not mmap\(\)able/);
  });
});

describe('freeze and info', () => {
  test('freeze(): set/delete -> BpfError EPERM; get still works', async () => {
    const m = create<number, number>({ type: 'hash', key: 'u32', value: 'u32', maxEntries: 4, name: 'frozen' });
    m.set(1, 1);
    m.freeze();
    const e = expectBpfError(() => m.set(1, 2), 'EPERM', 'bpf_map_update_elem');
    expect(e.errno).toBe(1);
    expectBpfError(() => m.delete(1), 'EPERM', 'bpf_map_delete_elem');
    expect(m.get(1)).toBe(1);
    expect([...m.entries()]).toEqual([[1, 1]]);
    const obj = await loadedKinds();
    const arr = obj.map('arr_struct');
    arr.set(0, sampleValue);
    arr.freeze();
    expectBpfError(() => arr.set(0, zeroValue), 'EPERM');
    expect(arr.get(0)).toEqual(sampleDecoded);
    // Frozen once and for all: the kernel refuses to freeze it again. Newer kernels check
    // the fd's write permission first, which freezing took away (EPERM); older ones find
    // the map already frozen (EBUSY). The order changed after 6.1; 6.12 has the new one.
    const again = thrown(() => arr.freeze());
    expect(again).toBeInstanceOf(BpfError);
    expect(again.syscall).toBe('bpf_map_freeze');
    expect(kernelAtLeast(6, 12) ? ['EPERM'] : kernelAtLeast(6, 2) ? ['EPERM', 'EBUSY'] : ['EBUSY']).toContain(again.code);
  });

  test('info(): what the kernel reports', async () => {
    const obj = await loadedKinds();
    const h = obj.map('h_struct');
    const info = h.info();
    expect(info).toMatchObject({ type: 'hash', name: 'h_struct', keySize: 24, valueSize: 40, maxEntries: 64, flags: 0, ifindex: 0, mapExtra: 0n });
    expect(info.id).toBe(Number(fdInfo(h.fd).map_id));
    expect(info.id).toBeGreaterThan(0);
    expect(info.btfId).toBeGreaterThan(0);
    expect(info.btfKeyTypeId).toBeGreaterThan(0);
    expect(info.btfValueTypeId).toBeGreaterThan(0);
    expect(obj.btf!.typeName(info.btfValueTypeId)).toBe('struct mt_value');
    expect(obj.map('lpm').info()).toMatchObject({ type: 'lpm_trie', flags: MapFlags.NO_PREALLOC, keySize: 8, valueSize: 4 });
    expect(obj.map('mm_arr').info().flags).toBe(MapFlags.MMAPABLE);
    if (kernelHas('bloom_filter')) expect(obj.map('obj_bloom').info()).toMatchObject({ type: 'bloom_filter', keySize: 0, mapExtra: 3n });
    else expectThrows(() => obj.map('obj_bloom').info(), 'TypeError', NOT_CREATED); // left uncreated before 5.16
    const s = create({ type: 'percpu_hash', key: 'u64', value: 'u16', maxEntries: 9, flags: MapFlags.NO_PREALLOC, name: 'pcpu_info' });
    expect(s.info()).toMatchObject({ type: 'percpu_hash', name: 'pcpu_info', keySize: 8, valueSize: 2, maxEntries: 9, flags: MapFlags.NO_PREALLOC, btfId: 0 });
    expect(s.info().id).toBe(Number(fdInfo(s.fd).map_id));
  });
});

describe('misuse', () => {
  test('wrong key/value types and ranges -> TypeError/RangeError naming the map', async () => {
    const obj = await loadedKinds();
    const h = obj.map('h_struct');
    expectThrows(() => h.get(5), 'TypeError', 'h_struct key: expected an object (struct mt_key), got 5');
    expectThrows(() => h.get({ comm: 'x'.repeat(17) }), 'RangeError', /^h_struct key \.comm: /);
    expectThrows(() => h.set({ pid: -1 }, {}), 'RangeError', /^h_struct key \.pid: /);
    expectThrows(() => h.set({}, { kind: 16 }), 'RangeError', 'h_struct value .kind: expected an integer 0..15 (4-bit field), got 16');
    expectThrows(() => h.set({}, { name: 5 }), 'TypeError', /^h_struct value \.name: /);
    expectThrows(() => h.set({}, { dims: { w: 70000 } }), 'RangeError', /^h_struct value \.dims\.w: /);
    expectThrows(() => obj.map('arr_struct').get(-1), 'RangeError', /^arr_struct key: /);
    expectThrows(() => obj.map('arr_struct').set(0, 'x'), 'TypeError', /^arr_struct value: /);
    expectThrows(() => obj.map('lru_pcpu').set(1, 'x'), 'TypeError', /^lru_pcpu value: /);
    expectThrows(() => obj.map('lpm').get({ prefixlen: -1, data: [] }), 'RangeError', /^lpm key \.prefixlen: /);
    expectThrows(() => obj.map('sk_store').get('fd' as any), 'TypeError', /^sk_store key: /);
    expect([...h.keys()]).toEqual([]); // nothing was written
  });

  test('kind-specific methods on the wrong kind -> TypeError', async () => {
    const h = (await loadedKinds()).map('h_struct');
    expectThrows(() => h.push({}), 'TypeError', 'push() is for queue/stack maps; h_struct is a hash map');
    expectThrows(() => h.pop(), 'TypeError', 'pop() is for queue/stack maps; h_struct is a hash map');
    expectThrows(() => h.peek(), 'TypeError', 'peek() is for queue/stack maps; h_struct is a hash map');
    expectThrows(() => h.add({}), 'TypeError', 'add() is for bloom_filter maps; h_struct is a hash map');
  });

  test("methods after close() of a standalone map -> TypeError 'BpfMap is closed'", () => {
    const m = BpfMap.create({ type: 'hash', key: 'u32', value: 'u32', maxEntries: 4, name: 'closing' });
    const q = BpfMap.create({ type: 'queue', value: 'u32', maxEntries: 4, name: 'closing_q' });
    m.set(1, 1);
    const it = m.entries();
    m.close();
    q.close();
    m.close(); // idempotent
    const closed = 'BpfMap is closed';
    for (const f of [
      () => m.get(1),
      () => m.set(1, 1),
      () => m.has(1),
      () => m.delete(1),
      () => m.getAndDelete(1),
      () => [...m.keys()],
      () => [...m.values()],
      () => [...m],
      () => it.next(),
      () => m.drain(),
      () => m.setMany([[1, 1]]),
      () => m.deleteMany([1]),
      () => m.clear(),
      () => m.freeze(),
      () => m.info(),
      () => m.fd,
      () => m.name,
      () => m.type,
      () => m.raw.get(Buffer.alloc(4)),
      () => m.pin('/sys/fs/bpf/nlb_never'),
      () => q.push(1),
      () => q.pop(),
      () => q.peek(),
    ]) {
      expectThrows(f, 'TypeError', closed);
    }
  });

  test('create(): a bad type -> RangeError listing the types; missing sizes -> TypeError', () => {
    expectThrows(
      () => BpfMap.create({ type: 'hashmap', keySize: 4, valueSize: 4, maxEntries: 1 }),
      'RangeError',
      /^options\.type: expected a map type libbpf knows \(.*\bhash, array, prog_array\b.*\blpm_trie\b.*\bbloom_filter\b.*\), got "hashmap"$/,
    );
    expectThrows(() => BpfMap.create({ type: 7 as any, keySize: 4, valueSize: 4, maxEntries: 1 }), 'TypeError', /^options\.type: /);
    expectThrows(() => BpfMap.create({ type: 'hash', valueSize: 4, maxEntries: 1 }), 'TypeError', 'options.key: expected a key type or options.keySize, got undefined');
    expectThrows(() => BpfMap.create({ type: 'hash', key: 'u32', maxEntries: 1 }), 'TypeError', 'options.value: expected a value type or options.valueSize, got undefined');
    expectThrows(() => BpfMap.create({ type: 'hash', key: 'u32', value: 'u32' } as any), 'TypeError', /^options\.maxEntries: /);
    expectThrows(() => BpfMap.create({ type: 'hash', key: 'u128' as any, value: 'u32', maxEntries: 1 }), 'RangeError', /^options\.key: /);
    expectThrows(() => BpfMap.create({ type: 'hash', key: 'u32', value: 'u32', maxEntries: 1, size: 3 } as any), 'TypeError', /^options\.size: /);
    expectThrows(() => BpfMap.create(undefined as any), 'TypeError');
    // The kernel's own refusals
    expectBpfError(() => BpfMap.create({ type: 'hash', key: 'u32', value: 'u32', maxEntries: 0 }), 'EINVAL', 'bpf_map_create');
    expectBpfError(() => BpfMap.create({ type: 'array', key: 'u64', value: 'u32', maxEntries: 4 }), 'EINVAL', 'bpf_map_create');
    // A kind with a known first release, refused for its attributes: the kernel has queues,
    // so the hint names no release.
    const queue = expectBpfError(() => BpfMap.create({ type: 'queue', keySize: 4, value: 'u32', maxEntries: 4 }), 'EINVAL', 'bpf_map_create');
    expect(queue.hint).toBeUndefined();
  });
});
