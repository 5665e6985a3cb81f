// Inputs a reliability probe found mishandled (issue 16): paths that block or are cut
// short, unvalidated options, V8's wording instead of ours, handles without a GC backstop,
// BTF our decoder rejects, and a map definition that makes the kernel allocate gigabytes.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { BpfError, BpfMap, BpfObject, Btf, enableStats } from 'node-libbpf';
import { expectRejects, expectThrows, fixture } from '../support/helpers';
import { elfSection, typeOffsets } from '../support/raw-btf';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nlb-inputs-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('paths', () => {
  const fifo = path.join(tmp, 'fifo');
  beforeAll(() => execFileSync('mkfifo', [fifo]));

  test('a FIFO is refused, not opened (opening it blocked the JS thread forever)', () => {
    const msg = /: expected a path to a regular file, got ".*fifo" \(a FIFO\)$/;
    expectThrows(() => BpfObject.open(fifo), 'RangeError', new RegExp(`^source${msg.source}`));
    expectThrows(() => Btf.fromFile(fifo), 'RangeError', new RegExp(`^path${msg.source}`));
    expectThrows(() => BpfObject.open(fixture('basic'), { btfCustomPath: fifo }), 'RangeError', new RegExp(`^options.btfCustomPath${msg.source}`));
    expectThrows(() => BpfObject.open(tmp), 'RangeError', /\(a directory\)$/);
    expectThrows(() => Btf.fromFile('/dev/zero'), 'RangeError', /\(a character device\)$/);
  });

  test('a NUL byte in a path or in kconfig is refused (libbpf would read a shorter string)', () => {
    expectThrows(() => BpfObject.open(`${fixture('basic')}\0.ignored`), 'RangeError', /^source: expected a string without NUL characters/);
    expectThrows(() => Btf.fromFile(`${fixture('basic')}\0x`), 'RangeError', /^path: expected a string without NUL/);
    expectThrows(() => BpfObject.open(fixture('basic'), { kconfig: 'CONFIG_A=y\0CONFIG_B=n' }), 'RangeError', /^options.kconfig: expected a string without NUL/);
    expectThrows(() => BpfObject.open(fixture('basic'), { kconfig: { CONFIG_A: 'a\0b' } }), 'RangeError', /^options.kconfig.CONFIG_A: expected a string without NUL/);
  });
});

describe('arguments get our wording', () => {
  test('mapExtra: NaN, "4", {} and negatives are refused (they silently became 0)', () => {
    const create = (mapExtra: unknown) => () => BpfMap.create({ type: 'hash', key: 'u32', value: 'u32', maxEntries: 1, mapExtra: mapExtra as number });
    expectThrows(create(NaN), 'RangeError', /^options.mapExtra: expected an integer 0..2\^64-1 \(a number or a bigint\), got NaN$/);
    expectThrows(create('4'), 'TypeError', /^options.mapExtra: expected an integer 0..2\^64-1/);
    expectThrows(create({}), 'TypeError', /^options.mapExtra: .*got an object$/);
    expectThrows(create(-1n), 'RangeError', /^options.mapExtra/);
    using obj = BpfObject.open(fixture('basic'));
    const m = obj.maps()[0];
    expectThrows(() => { m.mapExtra = NaN; }, 'RangeError', /^mapExtra: expected an integer/);
    expectThrows(() => { m.mapExtra = '4' as unknown as number; }, 'TypeError', /^mapExtra: expected an integer/);
  });

  test('setMany/deleteMany and map(1): messages of ours, not V8\'s', () => {
    const m = BpfMap.create({ type: 'hash', key: 'u32', value: 'u32', maxEntries: 4 });
    try {
      expectThrows(() => m.setMany(5 as never), 'TypeError', /^entries: expected an iterable .*got 5$/);
      expectThrows(() => m.setMany([1] as never), 'TypeError', /^entries\[0\]: expected a \[key, value\] pair, got 1$/);
      expectThrows(() => m.deleteMany(null as never), 'TypeError', /^keys: expected an iterable .*got null$/);
      expect(m.setMany([[1, 2]])).toBe(1);
    } finally {
      m.close();
    }
    using obj = BpfObject.open(fixture('basic'));
    expectThrows(() => obj.map(1 as never), 'TypeError', /^name: expected a non-empty string, got 1$/);
    expectThrows(() => obj.program({} as never), 'TypeError', /^name: expected a non-empty string, got an object$/);
  });
});

describe('BTF', () => {
  test('a string offset that is not a number throws (a private lookup looped forever)', () => {
    const btf = Btf.fromFile(fixture('basic'));
    const hashAt = (btf as unknown as { hashAt(off: unknown): number }).hashAt.bind(btf);
    expectThrows(() => hashAt('x'), 'TypeError', /string offset x is out of range/);
    expectThrows(() => hashAt(-1), 'TypeError', /out of range/);
  });

  test('BTF that libbpf accepted but our parser cannot decode is a BpfError', () => {
    const e = (() => {
      try {
        return Btf.fromLibbpf(Buffer.alloc(30), undefined, 'x.btf');
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(BpfError);
    expect((e as BpfError).code).toBe('EINVAL');
    expect((e as BpfError).message).toMatch(/^btf_parse: EINVAL .*: x.btf: not BTF data: bad magic/);
  });
});

describe('enableStats() handles', () => {
  const gc = (() => {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  })();
  const fds = (): number => fs.readdirSync('/proc/self/fd').length;

  test('dropped without close(), they are closed by GC (100 handles, 100 fds before)', async () => {
    const before = fds();
    (() => {
      for (let i = 0; i < 100; i++) enableStats();
    })();
    expect(fds()).toBeGreaterThanOrEqual(before + 100);
    for (let i = 0; i < 20 && fds() > before; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(fds()).toBeLessThanOrEqual(before);
  });

  test('close() stays idempotent and GC after close() closes nothing twice', async () => {
    const h = enableStats();
    h.close();
    h.close();
    expect(h.closed).toBe(true);
    gc();
    await new Promise((r) => setTimeout(r, 10));
  });
});

describe('maxMapMemory: a bound on what load() makes the kernel allocate', () => {
  // maptypes_nested's inner map template, `__uint(max_entries, 4)`, made 2.6e9 entries.
  function hugeInner(): Buffer {
    const elf = Buffer.from(fs.readFileSync(fixture('maptypes_nested')));
    const btf = elfSection(elf, '.BTF') as Buffer;
    for (const off of typeOffsets(btf)) {
      const kind = (btf.readUInt32LE(off + 4) >>> 24) & 0x1f;
      if (kind === 3 && btf.readUInt32LE(off + 20) === 4) btf.writeUInt32LE(2_600_000_000, off + 20);
    }
    return elf;
  }

  test('an inner map of 2.6e9 entries is refused before anything reaches the kernel', async () => {
    const obj = BpfObject.open(hugeInner(), { maxMapMemory: 1 << 30 });
    try {
      await expectRejects(obj.load(), 'BpfError', /^bpf_object__load: E2BIG .*more than options.maxMapMemory \(1073741824\); the largest is outer_(arr|hash) \(inner map\) \(\d+ bytes\)/);
      expect(obj.loaded).toBe(false);
    } finally {
      obj.close();
    }
  });

  test('a bound the maps fit in loads; maxEntries set before load counts', async () => {
    const obj = BpfObject.open(fixture('maptypes_nested'), { maxMapMemory: 1 << 20 });
    try {
      obj.map('tail_hits').maxEntries = 1 << 20;
      await expectRejects(obj.load(), 'BpfError', /the largest is tail_hits/);
    } finally {
      obj.close();
    }
    const ok = BpfObject.open(fixture('maptypes_nested'), { maxMapMemory: 1 << 20 });
    try {
      await ok.load();
      expect(ok.loaded).toBe(true);
    } finally {
      ok.close();
    }
  });

  test('maxMapMemory itself is checked', () => {
    expectThrows(() => BpfObject.open(fixture('basic'), { maxMapMemory: -1 }), 'RangeError', /^options.maxMapMemory: expected an integer 0\.\./);
    expectThrows(() => BpfObject.open(fixture('basic'), { maxMapMemory: '1' as never }), 'TypeError', /^options.maxMapMemory/);
  });
});
