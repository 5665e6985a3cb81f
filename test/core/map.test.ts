// BpfMap: BTF-typed keys and values for every map of basic.bpf.c, raw access, update
// flags, maxEntries, pinning, and the state errors.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { BpfError, BpfMap, BpfObject, RawMap, numPossibleCpus } from 'node-libbpf';
import {
  bpffsPath,
  expectError,
  expectThrows,
  fdInfo,
  fixture,
  loadFixture,
  openFixture,
  removeBpffs,
  spawnGatedGetpgid,
  thrown,
  triggerGetpgid,
} from '../support/helpers';

const BASIC = fixture('basic');

const pins: string[] = [];
afterEach(() => {
  for (const p of pins.splice(0)) removeBpffs(p);
});
const sorted = <T>(xs: Iterable<T>): T[] => [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

describe('metadata', () => {
  test('name, type, sizes, maxEntries, fd', async () => {
    const obj = await loadFixture(BASIC);
    const counts = obj.map('counts');
    expect(counts).toBeInstanceOf(BpfMap);
    expect(counts.name).toBe('counts');
    expect(counts.type).toBe('hash');
    expect(counts.keySize).toBe(4);
    expect(counts.valueSize).toBe(8);
    expect(counts.maxEntries).toBe(1024);
    expect(counts.perCpu).toBe(false);
    expect(obj.map('per_cpu').perCpu).toBe(true);
    expect(obj.map('per_cpu').type).toBe('percpu_array');
    expect(typeof counts.fd).toBe('number');
    const info = fdInfo(counts.fd);
    expect(info.map_type).toBe('1'); // BPF_MAP_TYPE_HASH
    expect(info.key_size).toBe('4');
    expect(info.value_size).toBe('8');
    expect(info.max_entries).toBe('1024');
  });
});

describe('counts: u32 -> u64', () => {
  test('get/set/has/delete', async () => {
    const counts = (await loadFixture(BASIC)).map('counts');
    expect(counts.get(1)).toBeUndefined();
    expect(counts.has(1)).toBe(false);
    expect(counts.set(1, 2n)).toBe(counts);
    expect(counts.get(1)).toBe(2n);
    expect(counts.has(1)).toBe(true);
    counts.set(0xffffffff, 0xffffffffffffffffn);
    expect(counts.get(0xffffffff)).toBe(0xffffffffffffffffn);
    expect(counts.delete(1)).toBe(true);
    expect(counts.delete(1)).toBe(false);
    expect(counts.get(1)).toBeUndefined();
    expect(counts.delete(424242)).toBe(false);
  });

  test('keys, values, entries, iteration', async () => {
    const counts = (await loadFixture(BASIC)).map('counts');
    expect([...counts]).toEqual([]);
    const data = new Map<number, bigint>([
      [3, 30n],
      [1, 10n],
      [2, 20n],
      [100000, 1n << 40n],
    ]);
    for (const [k, v] of data) counts.set(k, v);
    expect(sorted(counts.keys())).toEqual([1, 2, 3, 100000]);
    expect(sorted(counts.values())).toEqual([10n, 20n, 30n, 1n << 40n]);
    expect(new Map(counts.entries())).toEqual(data);
    const seen = new Map<number, bigint>();
    for (const [k, v] of counts) seen.set(k, v);
    expect(seen).toEqual(data);
  });

  test('values written by the program', async () => {
    const obj = await loadFixture(BASIC);
    obj.attach();
    const pid = await triggerGetpgid(6);
    const counts = obj.map('counts');
    expect(counts.get(pid)).toBe(6n);
    expect([...counts.keys()]).toContain(pid);
    // A value we set is what the program increments from.
    const child = await spawnGatedGetpgid(3);
    counts.set(child.pid, 100n);
    await child.go();
    expect(counts.get(child.pid)).toBe(103n);
  });

  test('bad keys and values: the map name and key/value in the message', async () => {
    const counts = (await loadFixture(BASIC)).map('counts');
    expectThrows(() => counts.get(-1), 'RangeError', /^counts key: expected .*got -1$/);
    expectThrows(() => counts.get(2 ** 32), 'RangeError', /^counts key: /);
    expectThrows(() => counts.get(1.5), 'RangeError', /^counts key: /);
    expectThrows(() => counts.get('1' as any), 'TypeError', /^counts key: .*got "1"$/);
    expectThrows(() => counts.set(1, -1n), 'RangeError', /^counts value: /);
    expectThrows(() => counts.set(1, 1n << 64n), 'RangeError', /^counts value: /);
    expectThrows(() => counts.set(1, 'x' as any), 'TypeError', /^counts value: /);
    expect(counts.get(1)).toBeUndefined(); // nothing written by the failed sets
  });
});

describe('update flags', () => {
  test("'noexist' on an existing key -> BpfError EEXIST", async () => {
    const counts = (await loadFixture(BASIC)).map('counts');
    counts.set(7, 1n, 'noexist');
    const e = thrown(() => counts.set(7, 2n, 'noexist'));
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('EEXIST');
    expect(e.errno).toBe(os.constants.errno.EEXIST);
    expect(e.syscall).toMatch(/update/);
    expect(counts.get(7)).toBe(1n);
  });

  test("'exist' on a missing key -> BpfError ENOENT", async () => {
    const counts = (await loadFixture(BASIC)).map('counts');
    const e = thrown(() => counts.set(8, 2n, 'exist'));
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('ENOENT');
    expect(counts.has(8)).toBe(false);
    counts.set(8, 1n);
    counts.set(8, 3n, 'exist');
    expect(counts.get(8)).toBe(3n);
    counts.set(8, 4n, 'any');
    expect(counts.get(8)).toBe(4n);
  });

  test('bad flags -> TypeError', async () => {
    const counts = (await loadFixture(BASIC)).map('counts');
    expectThrows(() => counts.set(1, 1n, 'bogus' as any), 'TypeError', /^flags: expected /);
    expectThrows(() => counts.set(1, 1n, -1), 'TypeError', /^flags: expected /);
    expect(counts.has(1)).toBe(false);
  });
});

describe('signed_array: u32 -> s32 (array)', () => {
  test('negative values; every index exists; out of range is undefined', async () => {
    const arr = (await loadFixture(BASIC)).map('signed_array');
    expect(arr.type).toBe('array');
    expect([...arr.keys()]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(arr.get(0)).toBe(0);
    arr.set(3, -7);
    arr.set(7, -2147483648);
    arr.set(0, 2147483647);
    expect(arr.get(3)).toBe(-7);
    expect(arr.get(7)).toBe(-2147483648);
    expect(arr.get(0)).toBe(2147483647);
    expect([...arr.values()]).toEqual([2147483647, 0, 0, -7, 0, 0, 0, -2147483648]);
    expect(arr.get(8)).toBeUndefined();
    expect(arr.has(8)).toBe(false);
    expectThrows(() => arr.set(1, 2147483648), 'RangeError', /^signed_array value: /);
    expect(thrown(() => arr.set(8, 1))).toBeInstanceOf(BpfError); // E2BIG from the kernel
  });
});

describe('by_name: char[16] -> u16', () => {
  test('string keys, up to exactly 16 bytes without a NUL', async () => {
    const m = (await loadFixture(BASIC)).map('by_name');
    m.set('abcdefghijklmnop', 65535);
    m.set('x', 3);
    expect(m.get('abcdefghijklmnop')).toBe(65535);
    expect(m.get('x')).toBe(3);
    expect(m.get('abcdefghijklmno')).toBeUndefined();
    expect(sorted(m.keys())).toEqual(['abcdefghijklmnop', 'x']);
    expect(new Map(m.entries())).toEqual(
      new Map([
        ['abcdefghijklmnop', 65535],
        ['x', 3],
      ]),
    );
    // The key bytes are the string, NUL-padded.
    const raw = m.raw.get(Buffer.from('x'.padEnd(16, '\0')));
    expect(raw).toEqual(Buffer.from([3, 0]));
  });

  test('a 17-byte key -> RangeError', async () => {
    const m = (await loadFixture(BASIC)).map('by_name');
    expectThrows(() => m.set('abcdefghijklmnopq', 1), 'RangeError', /^by_name key: .*"abcdefghijklmnopq"/);
    expectThrows(() => m.get('abcdefghijklmnopq'), 'RangeError', /^by_name key: /);
    expectThrows(() => m.get(5 as any), 'TypeError', /^by_name key: /);
    expect([...m.keys()]).toEqual([]);
  });

  test('u16 values out of range or of the wrong type', async () => {
    const m = (await loadFixture(BASIC)).map('by_name');
    expectThrows(() => m.set('a', 65536), 'RangeError', 'by_name value: expected an integer 0..65535, got 65536');
    expectThrows(() => m.set('a', -1), 'RangeError', "by_name value: expected an integer 0..65535; for C's (u16)-1 write 0xffff, got -1");
    expectThrows(() => m.set('a', 1.5), 'RangeError', 'by_name value: expected an integer 0..65535, got 1.5');
    expectThrows(() => m.set('a', '1' as any), 'TypeError', 'by_name value: expected an integer 0..65535, got "1"');
    expect(m.has('a')).toBe(false);
  });
});

describe('flags64: s64 -> bool', () => {
  test('bigint keys (negative, beyond 2^53), boolean values', async () => {
    const m = (await loadFixture(BASIC)).map('flags64');
    m.set(-5n, true);
    m.set(9007199254740993n, false);
    m.set(-9223372036854775808n, true);
    expect(m.get(-5n)).toBe(true);
    expect(m.get(9007199254740993n)).toBe(false);
    expect(m.get(-9223372036854775808n)).toBe(true);
    expect(m.get(5n)).toBeUndefined();
    expect(new Map(m.entries())).toEqual(
      new Map<bigint, boolean>([
        [-5n, true],
        [9007199254740993n, false],
        [-9223372036854775808n, true],
      ]),
    );
    expectThrows(() => m.set(1n << 63n, true), 'RangeError', /^flags64 key: /);
    expectThrows(() => m.set(1n, 'yes' as any), 'TypeError', /^flags64 value: /);
  });
});

describe('modes: u32 -> enum mode', () => {
  test('enum values as numbers, and set by enumerator name', async () => {
    const m = (await loadFixture(BASIC)).map('modes');
    m.set(1, 7);
    expect(m.get(1)).toBe(7);
    m.set(2, 'MODE_TRACE');
    expect(m.get(2)).toBe(7);
    m.set(3, 'MODE_COUNT');
    expect(m.get(3)).toBe(1);
    expect(m.raw.get(Buffer.from([2, 0, 0, 0]))).toEqual(Buffer.from([7, 0, 0, 0]));
    expectThrows(() => m.set(4, 'MODE_NOPE'), 'RangeError', /^modes value: /);
    expect(m.has(4)).toBe(false);
  });
});

describe('per_cpu: percpu_array of u64', () => {
  test('get returns one bigint per possible CPU', async () => {
    const m = (await loadFixture(BASIC)).map('per_cpu');
    const ncpu = numPossibleCpus();
    const possible = fs.readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim();
    const expected = possible
      .split(',')
      .map((r) => r.split('-').map(Number))
      .reduce((n, [a, b]) => n + (b === undefined ? 1 : b - a + 1), 0);
    expect(ncpu).toBe(expected);
    const v = m.get(0);
    expect(Array.isArray(v)).toBe(true);
    expect(v).toHaveLength(ncpu);
    expect(v).toEqual(new Array(ncpu).fill(0n));
  });

  test('set with one value fills every CPU; with an array sets each', async () => {
    const m = (await loadFixture(BASIC)).map('per_cpu');
    const ncpu = numPossibleCpus();
    m.set(1, 3n);
    expect(m.get(1)).toEqual(new Array(ncpu).fill(3n));
    const values = Array.from({ length: ncpu }, (_, i) => BigInt(i + 10));
    m.set(2, values);
    expect(m.get(2)).toEqual(values);
    // Raw: 8-byte slots, one per CPU.
    const raw = m.raw.get(Buffer.from([2, 0, 0, 0]))!;
    expect(raw.length).toBe(8 * ncpu);
    expect(raw.readBigUInt64LE(8 * (ncpu - 1))).toBe(BigInt(ncpu - 1 + 10));
  });

  test('an array of the wrong length -> RangeError', async () => {
    const m = (await loadFixture(BASIC)).map('per_cpu');
    const ncpu = numPossibleCpus();
    const tooShortOrLong = new Array(ncpu > 1 ? 1 : 2).fill(1n); // a one-CPU guest takes [1n]
    expectThrows(() => m.set(1, tooShortOrLong), 'RangeError', new RegExp(`^per_cpu value: .*${ncpu}`));
    expectThrows(() => m.set(1, new Array(ncpu + 1).fill(1n)), 'RangeError', /^per_cpu value: /);
    expectThrows(() => m.set(1, new Array(ncpu).fill(-1n)), 'RangeError', /^per_cpu value\[0\]: /);
    expect(m.get(1)).toEqual(new Array(ncpu).fill(0n));
  });
});

describe('untyped: 3-byte keys, 5-byte values (no BTF types)', () => {
  test('Buffers in and out', async () => {
    const m = (await loadFixture(BASIC)).map('untyped');
    expect(m.keySize).toBe(3);
    expect(m.valueSize).toBe(5);
    m.set(Buffer.from([1, 2, 3]), Buffer.from([1, 2, 3, 4, 5]));
    m.set(new Uint8Array([9, 9, 9]), new Uint8Array([5, 4, 3, 2, 1]));
    const v = m.get(Buffer.from([1, 2, 3]));
    expect(Buffer.isBuffer(v)).toBe(true);
    expect(v).toEqual(Buffer.from([1, 2, 3, 4, 5]));
    expect(m.get(Buffer.from([9, 9, 9]))).toEqual(Buffer.from([5, 4, 3, 2, 1]));
    expect(m.get(Buffer.from([0, 0, 0]))).toBeUndefined();
    const entries = [...m].map(([k, val]) => [Buffer.from(k).toString('hex'), Buffer.from(val).toString('hex')]).sort();
    expect(entries).toEqual([
      ['010203', '0102030405'],
      ['090909', '0504030201'],
    ]);
    expect(m.delete(Buffer.from([1, 2, 3]))).toBe(true);
    expect(m.has(Buffer.from([1, 2, 3]))).toBe(false);
  });

  test('wrong sizes -> RangeError, wrong types -> TypeError', async () => {
    const m = (await loadFixture(BASIC)).map('untyped');
    expectThrows(() => m.set(Buffer.from([1, 2]), Buffer.alloc(5)), 'RangeError', /^untyped key: .*3 bytes/);
    expectThrows(() => m.set(Buffer.alloc(3), Buffer.alloc(4)), 'RangeError', /^untyped value: .*5 bytes/);
    expectThrows(() => m.get(Buffer.alloc(4)), 'RangeError', /^untyped key: /);
    expectThrows(() => m.set('abc' as any, Buffer.alloc(5)), 'TypeError', /^untyped key: /);
    expect([...m.keys()]).toEqual([]);
  });
});

describe('raw access', () => {
  test('counts.raw: Buffers of the exact sizes', async () => {
    const obj = await loadFixture(BASIC);
    const counts = obj.map('counts');
    const raw = counts.raw;
    expect(raw).toBeInstanceOf(RawMap);
    expect(counts.raw).toBe(raw);
    const key = Buffer.alloc(4);
    key.writeUInt32LE(1234);
    const value = Buffer.alloc(8);
    value.writeBigUInt64LE(99n);
    expect(raw.get(key)).toBeUndefined();
    expect(raw.has(key)).toBe(false);
    raw.set(key, value);
    expect(raw.has(key)).toBe(true);
    expect(raw.get(key)).toEqual(value);
    expect(counts.get(1234)).toBe(99n); // the typed view agrees
    counts.set(5, 6n);
    const keys = [...raw.keys()].map((k) => k.readUInt32LE(0)).sort((a, b) => a - b);
    expect(keys).toEqual([5, 1234]);
    const entries = new Map([...raw.entries()].map(([k, v]) => [k.readUInt32LE(0), v.readBigUInt64LE(0)]));
    expect(entries).toEqual(
      new Map([
        [5, 6n],
        [1234, 99n],
      ]),
    );
    expect(new Map([...raw].map(([k, v]) => [k.readUInt32LE(0), v.readBigUInt64LE(0)]))).toEqual(entries);
    expect(raw.delete(key)).toBe(true);
    expect(raw.delete(key)).toBe(false);
    const e = thrown(() => raw.set(Buffer.from([5, 0, 0, 0]), value, 'noexist'));
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('EEXIST');
  });

  test('wrong-size Buffer -> RangeError, non-Buffer -> TypeError', async () => {
    const raw = (await loadFixture(BASIC)).map('counts').raw;
    expectThrows(() => raw.get(Buffer.alloc(3)), 'RangeError', 'key: expected 4 bytes, got a Buffer of 3 bytes');
    expectThrows(() => raw.set(Buffer.alloc(4), Buffer.alloc(4)), 'RangeError', 'value: expected 8 bytes, got a Buffer of 4 bytes');
    expectThrows(() => raw.delete(Buffer.alloc(5)), 'RangeError', /^key: expected 4 bytes/);
    expectThrows(() => raw.has(Buffer.alloc(0)), 'RangeError', /^key: expected 4 bytes/);
    expectThrows(() => raw.get(5 as any), 'TypeError', 'key: expected a Buffer or Uint8Array, got 5');
    expectThrows(() => raw.set(Buffer.alloc(4), 'x' as any), 'TypeError', /^value: expected a Buffer or Uint8Array/);
    expectThrows(() => raw.get([1, 2, 3, 4] as any), 'TypeError', /^key: expected a Buffer or Uint8Array/);
  });
});

describe('maxEntries', () => {
  test('settable before load: the kernel map gets the new size', async () => {
    const obj = openFixture(BASIC);
    const modes = obj.map('modes');
    expect(modes.maxEntries).toBe(16);
    modes.maxEntries = 40;
    expect(modes.maxEntries).toBe(40);
    await obj.load();
    expect(fdInfo(modes.fd).max_entries).toBe('40');
    for (let i = 0; i < 40; i++) modes.set(i, 1); // past the old limit of 16
    expect([...modes.keys()]).toHaveLength(40);
    const e = thrown(() => modes.set(40, 1));
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('E2BIG'); // a full hash map
  });

  test('shrinking works too', async () => {
    const obj = openFixture(BASIC);
    const counts = obj.map('counts');
    counts.maxEntries = 2;
    await obj.load();
    counts.set(1, 1n).set(2, 2n);
    expect(thrown(() => counts.set(3, 3n))).toBeInstanceOf(BpfError);
  });

  test('after load -> TypeError "BpfObject is already loaded"', async () => {
    const m = (await loadFixture(BASIC)).map('counts');
    expectThrows(
      () => {
        m.maxEntries = 5;
      },
      'TypeError',
      'BpfObject is already loaded',
    );
    expect(m.maxEntries).toBe(1024);
  });

  test('0, negative, fractional -> RangeError; non-number -> TypeError', () => {
    const m = openFixture(BASIC).map('counts');
    for (const n of [0, -1, 1.5, 2 ** 32]) {
      expectThrows(
        () => {
          m.maxEntries = n;
        },
        'RangeError',
        /^maxEntries: expected an integer 1\.\.2\^32-1, got /,
      );
    }
    expectThrows(
      () => {
        m.maxEntries = '5' as any;
      },
      'TypeError',
      /^maxEntries: expected /,
    );
    expect(m.maxEntries).toBe(1024);
  });
});

describe('state', () => {
  test('element operations before load -> TypeError "BpfObject is not loaded"', () => {
    const counts = openFixture(BASIC).map('counts');
    const notLoaded = 'BpfObject is not loaded';
    expectThrows(() => counts.get(1), 'TypeError', notLoaded);
    expectThrows(() => counts.set(1, 1n), 'TypeError', notLoaded);
    expectThrows(() => counts.has(1), 'TypeError', notLoaded);
    expectThrows(() => counts.delete(1), 'TypeError', notLoaded);
    expectThrows(() => [...counts.keys()], 'TypeError', notLoaded);
    expectThrows(() => [...counts], 'TypeError', notLoaded);
    expectThrows(() => counts.fd, 'TypeError', notLoaded);
    expectThrows(() => counts.raw.get(Buffer.alloc(4)), 'TypeError', notLoaded);
    // Metadata is readable before load.
    expect(counts.keySize).toBe(4);
  });

  test('after close -> TypeError "BpfObject is closed", iteration included', async () => {
    const obj = BpfObject.open(BASIC);
    await obj.load();
    const counts = obj.map('counts');
    counts.set(1, 1n).set(2, 2n);
    const it = counts.entries();
    expect(it.next().done).toBe(false);
    const keys = counts.raw.keys();
    obj.close();
    const closed = 'BpfObject is closed';
    expectThrows(() => counts.get(1), 'TypeError', closed);
    expectThrows(() => counts.set(1, 1n), 'TypeError', closed);
    expectThrows(() => counts.delete(1), 'TypeError', closed);
    expectThrows(() => counts.has(1), 'TypeError', closed);
    expectThrows(() => [...counts], 'TypeError', closed);
    expectThrows(() => it.next(), 'TypeError', closed); // an iterator started before close
    expectThrows(() => keys.next(), 'TypeError', closed);
    expectThrows(() => counts.name, 'TypeError', closed);
    expectThrows(() => counts.maxEntries, 'TypeError', closed);
    expectThrows(() => counts.fd, 'TypeError', closed);
    expectThrows(() => counts.raw.get(Buffer.alloc(4)), 'TypeError', closed);
    expectThrows(() => counts.pin(bpffsPath('closed')), 'TypeError', closed);
  });
});

describe('pin', () => {
  test('pin(path) creates the file, pinPath reports it, unpin() removes it', async () => {
    const counts = (await loadFixture(BASIC)).map('counts');
    expect(counts.pinPath).toBeUndefined();
    const p = bpffsPath('map');
    pins.push(p);
    counts.pin(p);
    expect(fs.existsSync(p)).toBe(true);
    expect(counts.pinPath).toBe(p);
    counts.unpin();
    expect(fs.existsSync(p)).toBe(false);
    expect(counts.pinPath).toBeUndefined();
  });

  test('unpin(path) with an explicit path', async () => {
    const counts = (await loadFixture(BASIC)).map('counts');
    const p = bpffsPath('map_explicit');
    pins.push(p);
    counts.pin(p);
    counts.unpin(p);
    expect(fs.existsSync(p)).toBe(false);
  });

  test('the pin outlives the object', async () => {
    const obj = await loadFixture(BASIC);
    const p = bpffsPath('map_survives');
    pins.push(p);
    obj.map('counts').pin(p);
    obj.close();
    expect(fs.existsSync(p)).toBe(true);
  });

  test('pin outside bpffs -> BpfError; bad path -> TypeError', async () => {
    const counts = (await loadFixture(BASIC)).map('counts');
    const e = thrown(() => counts.pin(`${os.tmpdir()}/nlb_map_not_bpffs_${process.pid}`));
    expect(e).toBeInstanceOf(BpfError);
    expect(e.syscall).toBe('bpf_map__pin');
    expectThrows(() => counts.pin(7 as any), 'TypeError', 'path: expected a non-empty string, got 7');
    expectThrows(() => counts.pin(''), 'TypeError', 'path: expected a non-empty string, got ""');
  });
});

describe('receivers', () => {
  test('BpfMap methods on a foreign object throw TypeError', () => {
    const e = thrown(() => BpfMap.prototype.get.call({}, 1));
    expectError(e, 'TypeError');
    expectThrows(() => BpfMap.prototype.set.call({}, 1, 1n), 'TypeError');
    expectThrows(() => Object.getOwnPropertyDescriptor(BpfMap.prototype, 'fd')!.get!.call({}), 'TypeError');
    expectThrows(() => RawMap.prototype.get.call({}, Buffer.alloc(4)), 'TypeError');
  });

  test('new BpfMap() throws TypeError', () => {
    expectThrows(() => new (BpfMap as any)(), 'TypeError', /^Illegal constructor/);
  });
});
