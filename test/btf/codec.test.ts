import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { Btf, BtfMember, BtfType } from '../../src/ts/btf/btf';
import { Codec, codecFor, cstr, rawCodec, s64le, u64le } from '../../src/ts/btf/codec';

// ---------------------------------------------------------------------------------------------
// Helpers

/** The bytes of one section of an ELF64 object (enough of ELF to find .BTF). */
function elfSection(file: Uint8Array, name: string): Uint8Array {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (view.getUint32(0, false) !== 0x7f454c46) throw new Error('not an ELF file');
  if (file[4] !== 2) throw new Error('not ELF64');
  const le = file[5] === 1;
  const shoff = Number(view.getBigUint64(0x28, le));
  const shentsize = view.getUint16(0x3a, le);
  const shnum = view.getUint16(0x3c, le);
  const shstrndx = view.getUint16(0x3e, le);
  const header = (i: number) => {
    const at = shoff + i * shentsize;
    return {
      name: view.getUint32(at, le),
      offset: Number(view.getBigUint64(at + 24, le)),
      size: Number(view.getBigUint64(at + 32, le)),
    };
  };
  const strtab = header(shstrndx);
  const nameAt = (off: number) => {
    const start = strtab.offset + off;
    return Buffer.from(file.buffer, file.byteOffset + start, file.indexOf(0, start) - start).toString('latin1');
  };
  for (let i = 0; i < shnum; i++) {
    const sh = header(i);
    if (nameAt(sh.name) === name) return file.subarray(sh.offset, sh.offset + sh.size);
  }
  throw new Error(`no ${name} section`);
}

function fixtureBtfBytes(): Uint8Array {
  const dir = process.env.NODE_LIBBPF_FIXTURES;
  if (!dir) throw new Error('NODE_LIBBPF_FIXTURES must name the directory holding codec_types.bpf.o');
  // A plain copy: Buffer#slice would alias the file, and tests below mutate copies.
  return new Uint8Array(elfSection(readFileSync(join(dir, 'codec_types.bpf.o')), '.BTF'));
}

/** Deterministic bytes for "known pattern" checks. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s >>> 24;
  };
}

function viewOf(size: number, fill = 0): DataView {
  return new DataView(new Uint8Array(size).fill(fill).buffer);
}

function bytes(view: DataView): number[] {
  return Array.from(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
}

/** A whole little-endian byte range as one bigint: the oracle for bit-level layout. */
function leBig(view: DataView): bigint {
  let v = 0n;
  for (let i = view.byteLength - 1; i >= 0; i--) v = (v << 8n) | BigInt(view.getUint8(i));
  return v;
}

function beBig(view: DataView): bigint {
  let v = 0n;
  for (let i = 0; i < view.byteLength; i++) v = (v << 8n) | BigInt(view.getUint8(i));
  return v;
}

/** A field of the oracle integer: LE counts bit offsets from the LSB, BE from the MSB. */
function bitsOf(whole: bigint, bitOff: number, bitSize: number, signed: boolean, totalBits?: number): bigint {
  const shift = totalBits === undefined ? bitOff : totalBits - bitOff - bitSize;
  const raw = (whole >> BigInt(shift)) & ((1n << BigInt(bitSize)) - 1n);
  return signed ? BigInt.asIntN(bitSize, raw) : raw;
}

function member(struct: BtfType, name: string): BtfMember {
  const m = struct.members?.find((x) => x.name === name);
  if (!m) throw new Error(`${struct.name} has no member ${name}`);
  return m;
}

// ---------------------------------------------------------------------------------------------
// Kernel BTF

const VMLINUX = '/sys/kernel/btf/vmlinux';
// The project needs kernel BTF: without it these fail rather than skip.
const withVmlinux = describe;

withVmlinux('Btf on /sys/kernel/btf/vmlinux', () => {
  const raw = existsSync(VMLINUX) ? readFileSync(VMLINUX) : Buffer.alloc(0);

  test('parses the whole kernel BTF', () => {
    const btf = Btf.parse(raw);
    expect(btf.typeCount).toBeGreaterThan(50000);
    expect(btf.littleEndian).toBe(true);
  });

  test('task_struct has pid (int) and comm (char[16])', () => {
    const btf = Btf.parse(raw);
    const task = btf.find('task_struct', 'struct') as BtfType;
    expect(task.kind).toBe('struct');
    expect(task.size).toBeGreaterThan(1000);
    const pid = member(task, 'pid');
    expect(btf.resolve(pid.type)).toMatchObject({ kind: 'int', size: 4, signed: true });
    expect(btf.typeName(pid.type)).toBe('pid_t');
    const comm = member(task, 'comm');
    expect(btf.typeName(comm.type)).toBe('char[16]');
    expect(btf.sizeOf(comm.type)).toBe(16);
    expect(btf.find('no_such_type_anywhere')).toBeUndefined();
  });

  test('task_struct round-trips through its codec', () => {
    const btf = Btf.parse(raw);
    const task = btf.find('task_struct', 'struct') as BtfType;
    const codec = codecFor(btf, task.id);
    const view = viewOf(codec.size, 0xaa);
    codec.encode({ pid: 4242, comm: 'systemd' }, view, 0);
    const back = codec.decode(view, 0) as Record<string, unknown>;
    expect(back.pid).toBe(4242);
    expect(back.comm).toBe('systemd');
    expect(back.tgid).toBe(0);
    const comm = member(task, 'comm');
    expect(view.getUint8(comm.bitOffset / 8)).toBe('s'.charCodeAt(0));
  });
});

// ---------------------------------------------------------------------------------------------
// Fixture BTF: parsing

describe('Btf on the codec_types fixture', () => {
  let raw: Uint8Array;
  let btf: Btf;
  beforeAll(() => {
    raw = fixtureBtfBytes();
    btf = Btf.parse(raw);
  });
  const byName = (name: string, kind?: BtfType['kind']): BtfType => {
    const t = btf.find(name, kind);
    if (!t) throw new Error(`fixture lacks ${name}`);
    return t;
  };

  test('ids, caching and iteration', () => {
    expect(btf.typeById(0)).toEqual({ id: 0, kind: 'void', name: '' });
    const event = byName('codec_event');
    expect(btf.typeById(event.id)).toBe(event);
    expect(() => btf.typeById(btf.typeCount + 1)).toThrow(RangeError);
    expect(() => btf.typeById(-1)).toThrow(RangeError);
    const ids = [...btf].map((t) => t.id);
    expect(ids.length).toBe(btf.typeCount);
    expect(ids[0]).toBe(1);
    expect(ids[ids.length - 1]).toBe(btf.typeCount);
  });

  test('every kind the fixture uses is decoded', () => {
    const kinds = new Set([...btf].map((t) => t.kind));
    for (const k of ['int', 'ptr', 'array', 'struct', 'union', 'enum', 'enum64', 'fwd', 'typedef', 'volatile', 'const',
      'func', 'func_proto', 'var', 'datasec', 'float', 'decl_tag', 'type_tag'] as const) {
      expect(kinds).toContain(k);
    }
  });

  test('ints and floats', () => {
    expect(byName('unsigned int', 'int')).toMatchObject({ size: 4, signed: false, bits: 32, bitOffset: 0, bool: false });
    expect(byName('_Bool', 'int')).toMatchObject({ size: 1, bool: true });
    expect(byName('__int128', 'int')).toMatchObject({ size: 16, signed: true, bits: 128 });
    expect(byName('double', 'float')).toMatchObject({ size: 8 });
  });

  test('enums: signedness and 64-bit values', () => {
    const color = byName('codec_color');
    expect(color).toMatchObject({ kind: 'enum', size: 4, signed: true });
    expect(color.values).toContainEqual({ name: 'COLOR_NEG', value: -2 });
    expect(byName('codec_unsigned')).toMatchObject({ signed: false, values: [{ name: 'UNS_A', value: 0 }, { name: 'UNS_TOP', value: 0xffffffff }] });
    const f64 = byName('codec_flags64');
    expect(f64).toMatchObject({ kind: 'enum64', size: 8, signed: false });
    expect(f64.values).toEqual([
      { name: 'F64_ONE', value: 1 },
      { name: 'F64_HIGH', value: 1n << 63n },
      { name: 'F64_ALL', value: (1n << 64n) - 1n },
    ]);
    expect(byName('codec_signed64').values).toEqual([
      { name: 'S64_MIN', value: -(1n << 63n) },
      { name: 'S64_MINUS_ONE', value: -1 },
      { name: 'S64_BIG', value: 0x100000000 },
    ]);
  });

  test('struct members and bitfields', () => {
    const bits = byName('codec_bits');
    expect(member(bits, 'a')).toMatchObject({ bitOffset: 0, bitSize: 3 });
    expect(member(bits, 'd')).toMatchObject({ bitOffset: 15, bitSize: 12 });
    expect(member(bits, 'last')).toMatchObject({ bitSize: 0 });
    expect(bits.size).toBe(24);
    const withUnion = byName('codec_with_union');
    const anon = btf.typeById(withUnion.members?.[1].type as number);
    expect(anon).toMatchObject({ kind: 'union', name: '', size: 4 });
    expect(anon.members?.map((m) => m.name)).toEqual(['as_u32', 'as_bytes', '']);
  });

  test('tags, fwd, func, var and datasec', () => {
    const ptrs = byName('codec_with_ptr');
    const tag = byName('codec_member_tag', 'decl_tag');
    expect(tag).toMatchObject({ type: ptrs.id, componentIdx: 4 });
    const uptr = btf.typeById(member(ptrs, 'uptr').type);
    expect(btf.typeById(uptr.type as number)).toMatchObject({ kind: 'type_tag', name: 'user' });
    expect(byName('task_struct')).toMatchObject({ kind: 'fwd', fwdUnion: false });
    const func = byName('codec_touch', 'func');
    expect(func.linkage).toBe(1);
    const proto = btf.typeById(func.type as number);
    expect(proto.kind).toBe('func_proto');
    expect(proto.params?.map((p) => btf.typeName(p.type))).toEqual(['void *']);
    expect(byName('codec_level', 'var')).toMatchObject({ linkage: 1 });
    const maps = byName('.maps', 'datasec');
    expect(maps.vars?.map((v) => btf.typeById(v.type).name)).toContain('event_map');
  });

  test('resolve, sizeOf and typeName', () => {
    const nested = byName('codec_nested');
    expect(btf.resolve(member(nested, 'origin').type)).toBe(byName('codec_point', 'struct'));
    expect(btf.typeName(member(nested, 'origin').type)).toBe('codec_point_t');
    expect(btf.typeName(member(nested, 'cv').type)).toBe('const volatile __u32');
    expect(btf.resolve(member(nested, 'cv').type).name).toBe('unsigned int');
    const arrays = byName('codec_arrays');
    expect(btf.typeName(member(arrays, 'matrix').type)).toBe('__s32[2][3]');
    expect(btf.sizeOf(member(arrays, 'matrix').type)).toBe(24);
    const ptrs = byName('codec_with_ptr');
    expect(btf.typeName(member(ptrs, 'str').type)).toBe('const char *');
    expect(btf.typeName(member(ptrs, 'task').type)).toBe('struct task_struct *');
    expect(btf.sizeOf(member(ptrs, 'task').type)).toBe(8);
    expect(btf.typeName(byName('codec_event').id)).toBe('struct codec_event');
    expect(btf.sizeOf(byName('codec_event').id)).toBe(48);
    expect(() => btf.sizeOf(0)).toThrow(TypeError);
    expect(() => btf.sizeOf(byName('codec_touch').id)).toThrow(TypeError);
    expect(() => btf.sizeOf(byName('task_struct').id)).toThrow(TypeError);
  });

  test('find and findAll', () => {
    expect(btf.find('codec_point', 'typedef')).toBeUndefined();
    expect(btf.find('codec_point_t')?.kind).toBe('typedef');
    expect(btf.findAll('char').map((t) => t.kind)).toEqual(['int']);
    expect(btf.findAll('nope')).toEqual([]);
  });

  test('rejects damaged input with TypeError only', () => {
    expect(() => Btf.parse(new Uint8Array([1, 2, 3]))).toThrow(/^not BTF data/);
    const badMagic = raw.slice();
    badMagic[0] ^= 0xff;
    expect(() => Btf.parse(badMagic)).toThrow(TypeError);
    for (let len = 0; len < raw.length; len += 7) {
      let err: unknown;
      try {
        Btf.parse(raw.subarray(0, len));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TypeError);
      expect((err as Error).message).toMatch(/^not BTF data: /);
    }
  });

  test('big-endian BTF parses to the same types', () => {
    const be = toBigEndian(raw);
    const beBtf = Btf.parse(be);
    expect(beBtf.littleEndian).toBe(false);
    expect(beBtf.typeCount).toBe(btf.typeCount);
    for (let id = 1; id <= btf.typeCount; id++) expect(beBtf.typeById(id)).toEqual(btf.typeById(id));
  });

  test('split BTF continues ids and strings from its base', () => {
    const split = Btf.parse(buildSplit(btf, raw), btf);
    const n = btf.typeCount;
    expect(split.base).toBe(btf);
    expect(split.typeCount).toBe(n + 5);
    expect([...split].map((t) => t.id)).toEqual([n + 1, n + 2, n + 3, n + 4, n + 5]);
    const pair = split.find('split_pair') as BtfType;
    expect(pair.id).toBe(n + 1);
    expect(pair.members).toEqual([
      { name: 'first', type: btf.find('__u32')?.id, bitOffset: 0, bitSize: 0 },
      { name: 'seq', type: btf.find('int')?.id, bitOffset: 32, bitSize: 0 },
    ]);
    expect(split.typeName(n + 2)).toBe('struct split_pair *');
    expect(split.find('codec_event')).toBe(btf.find('codec_event'));
    expect(split.typeById(1)).toBe(btf.typeById(1));
    expect(split.findAll('split_pair').length).toBe(1);

    const sec = codecFor(split, n + 5);
    expect(sec.size).toBe(16);
    const view = viewOf(16);
    sec.encode({ split_counter: 7n, split_pair_var: { first: 1, seq: -1 } }, view, 0);
    expect(sec.decode(view, 0)).toEqual({ split_counter: 7n, split_pair_var: { first: 1, seq: -1 } });
    expect(view.getInt32(12, true)).toBe(-1);
  });
});

/** Byte-swaps every 32-bit word of the header and type section; strings stay as they are. */
function toBigEndian(le: Uint8Array): Uint8Array {
  const out = new Uint8Array(le);
  const src = new DataView(le.buffer, le.byteOffset, le.byteLength);
  const dst = new DataView(out.buffer);
  dst.setUint16(0, 0xeb9f, false);
  const hdrLen = src.getUint32(4, true);
  const typeOff = hdrLen + src.getUint32(8, true);
  const typeEnd = typeOff + src.getUint32(12, true);
  const swap = (at: number) => dst.setUint32(at, src.getUint32(at, true), false);
  for (let at = 4; at < hdrLen; at += 4) swap(at);
  for (let at = typeOff; at < typeEnd; at += 4) swap(at);
  return out;
}

/** A split BTF: struct split_pair, a pointer to it, and a datasec with two vars. */
function buildSplit(base: Btf, baseRaw: Uint8Array): Uint8Array {
  const bv = new DataView(baseRaw.buffer, baseRaw.byteOffset, baseRaw.byteLength);
  const baseStrStart = bv.getUint32(0x4, true) + bv.getUint32(0x10, true);
  const baseStrLen = bv.getUint32(0x14, true);
  const baseStrings = Buffer.from(baseRaw.subarray(baseStrStart, baseStrStart + baseStrLen));
  const seqOff = baseStrings.indexOf('\0seq\0') + 1; // a name reused from the base's strings
  const strs: string[] = [];
  let strLen = 0;
  const str = (s: string) => {
    strs.push(s);
    strLen += Buffer.byteLength(s) + 1;
    return baseStrLen + strLen - Buffer.byteLength(s) - 1;
  };
  const n = base.typeCount;
  const u32 = base.find('__u32')?.id as number;
  const int = base.find('int')?.id as number;
  const u64 = base.find('__u64')?.id as number;
  const info = (kind: number, vlen: number) => ((kind << 24) | vlen) >>> 0;
  const words = [
    str('split_pair'), info(4, 2), 8, str('first'), u32, 0, seqOff, int, 32, // n+1 struct
    0, info(2, 0), n + 1, // n+2 ptr
    str('split_counter'), info(14, 0), u64, 1, // n+3 var
    str('split_pair_var'), info(14, 0), n + 1, 1, // n+4 var
    str('.split'), info(15, 2), 16, n + 3, 0, 8, n + 4, 8, 8, // n+5 datasec
  ];
  const types = new Uint8Array(words.length * 4);
  const tv = new DataView(types.buffer);
  words.forEach((w, i) => tv.setUint32(i * 4, w, true));
  const strings = Buffer.from(strs.map((s) => `${s}\0`).join(''));
  const header = new DataView(new ArrayBuffer(24));
  header.setUint16(0, 0xeb9f, true);
  header.setUint8(2, 1);
  [24, 0, types.length, types.length, strings.length].forEach((v, i) => header.setUint32(4 + i * 4, v, true));
  return Buffer.concat([new Uint8Array(header.buffer), types, strings]);
}

// ---------------------------------------------------------------------------------------------
// Fixture BTF: codecs

describe('codecs on the codec_types fixture', () => {
  let btf: Btf;
  beforeAll(() => {
    btf = Btf.parse(fixtureBtfBytes());
  });
  const codec = (name: string): Codec => codecFor(btf, (btf.find(name, 'struct') ?? btf.find(name, 'union') ?? btf.find(name))?.id as number);
  const roundTrip = (c: Codec, value: unknown): unknown => {
    const view = viewOf(c.size, 0x5a);
    c.encode(value, view, 0);
    return c.decode(view, 0);
  };
  const encodeError = (c: Codec, value: unknown, path?: string): Error => {
    try {
      c.encode(value, viewOf(c.size), 0, path);
    } catch (e) {
      return e as Error;
    }
    throw new Error(`encoding ${String(value)} did not throw`);
  };

  test('codecs are cached per type id', () => {
    const c = codec('codec_event');
    expect(codecFor(btf, (btf.find('codec_event') as BtfType).id)).toBe(c);
    const u32 = codecFor(btf, (btf.find('__u32') as BtfType).id);
    expect(u32.typeName).toBe('__u32');
    expect(u32.size).toBe(4);
  });

  describe('bind(): an encoder for one place writes and throws what encode() does', () => {
    const attempt = (f: () => void): string => {
      try {
        f();
        return 'ok';
      } catch (e) {
        return `${(e as Error).constructor.name}: ${(e as Error).message}`;
      }
    };
    test.each(['__u64', '__s64', '__u32'])('%s, aligned and not, good and bad values', (name) => {
      const c = codec(name);
      const values: unknown[] = [0n, 1n, 7, -1, -1n, (1n << 63n) - 1n, -(1n << 63n), (1n << 64n) - 1n, 1n << 64n, 2 ** 53, 1.5, 'x', null];
      for (const offset of [0, 3, 8]) {
        const encoded = new DataView(new ArrayBuffer(24));
        const bound = new DataView(new ArrayBuffer(24));
        const encode = c.bind!(bound, offset, 'the slot');
        for (const v of values) {
          const want = attempt(() => c.encode(v, encoded, offset, 'the slot'));
          expect([v, attempt(() => encode(v))]).toEqual([v, want]);
          expect(Buffer.from(bound.buffer)).toEqual(Buffer.from(encoded.buffer));
        }
      }
      expect(attempt(() => c.bind!(new DataView(new ArrayBuffer(4)), 2, 'small'))).toBe(`RangeError: small: ${c.size} bytes at offset 2 do not fit a DataView of 4 bytes`);
    });
  });

  describe('integers', () => {
    const limits: [string, bigint, bigint][] = [
      ['u8', 0n, 255n], ['s8', -128n, 127n], ['u16', 0n, 65535n], ['s16', -32768n, 32767n],
      ['u32', 0n, 4294967295n], ['s32', -2147483648n, 2147483647n],
      ['u64', 0n, (1n << 64n) - 1n], ['s64', -(1n << 63n), (1n << 63n) - 1n],
      ['c', -128n, 127n], ['uc', 0n, 255n], ['sc', -128n, 127n],
      ['i128', -(1n << 127n), (1n << 127n) - 1n], ['u128', 0n, (1n << 128n) - 1n],
    ];
    const wide: Record<string, string> = {
      u64: '0..2^64-1', s64: '-2^63..2^63-1', i128: '-2^127..2^127-1', u128: '0..2^128-1',
    };
    const what = (field: string, min: bigint, max: bigint): string =>
      (wide[field] ? `an integer ${wide[field]} (bigint or safe integer number)` : `an integer ${min}..${max}`);
    const js = (field: string, v: bigint): number | bigint => (wide[field] ? v : Number(v));

    test.each(limits)('%s accepts its limits and rejects one past them', (field, min, max) => {
      const c = codec('codec_ints');
      for (const v of [min, max, 0n]) {
        expect((roundTrip(c, { [field]: js(field, v) }) as Record<string, unknown>)[field]).toBe(js(field, v));
        expect((roundTrip(c, { [field]: v }) as Record<string, unknown>)[field]).toBe(js(field, v)); // bigint input
      }
      for (const bad of [max + 1n, min - 1n]) {
        const e = encodeError(c, { [field]: bad });
        expect(e).toBeInstanceOf(RangeError);
        expect(e.message).toBe(`struct codec_ints .${field}: expected ${what(field, min, max)}, got ${bad}n`);
      }
      expect(encodeError(c, { [field]: 1.5 })).toBeInstanceOf(RangeError);
      expect(encodeError(c, { [field]: '5' }).message).toBe(`struct codec_ints .${field}: expected ${what(field, min, max)}, got "5"`);
      expect(encodeError(c, { [field]: '5' })).toBeInstanceOf(TypeError);
      expect(encodeError(c, { [field]: null })).toBeInstanceOf(TypeError);
      if (min === 0n) expect(encodeError(c, { [field]: -1 })).toBeInstanceOf(RangeError);
    });

    test('64-bit fields take safe-integer numbers and reject unsafe ones', () => {
      const c = codec('codec_ints');
      expect(roundTrip(c, { u64: 5, s64: -5 })).toMatchObject({ u64: 5n, s64: -5n });
      expect(encodeError(c, { u64: 2 ** 53 }).message).toBe(
        'struct codec_ints .u64: expected an integer 0..2^64-1 (bigint or safe integer number), got 9007199254740992');
      expect(encodeError(c, { u64: -1 }, 'by_comm value').message).toBe(
        "by_comm value .u64: expected an integer 0..2^64-1 (bigint or safe integer number); for C's (u64)-1 write 0xffffffffffffffffn, got -1");
    });

    test('decode matches the raw little-endian bytes', () => {
      const c = codec('codec_ints');
      const t = btf.find('codec_ints') as BtfType;
      const view = viewOf(c.size);
      const next = prng(1);
      for (let i = 0; i < c.size; i++) view.setUint8(i, next());
      const v = c.decode(view, 0) as Record<string, unknown>;
      for (const [field, min] of limits) {
        const m = member(t, field);
        const size = btf.sizeOf(m.type);
        const expected = bitsOf(leBig(view), m.bitOffset, size * 8, min < 0n);
        expect(v[field]).toBe(js(field, expected));
      }
      expect(v.b).toBe(view.getUint8(member(t, 'b').bitOffset / 8) !== 0);
    });

    test('bool takes booleans and 0/1', () => {
      const c = codec('codec_ints');
      expect(roundTrip(c, { b: true, b2: 1 })).toMatchObject({ b: true, b2: true });
      expect(roundTrip(c, { b: 0, b2: false })).toMatchObject({ b: false, b2: false });
      expect(encodeError(c, { b: 2 })).toBeInstanceOf(RangeError);
      expect(encodeError(c, { b: 'yes' }).message).toBe('struct codec_ints .b: expected a boolean (or 0/1), got "yes"');
    });
  });

  describe('enums', () => {
    test('decode to numbers, enum64 beyond safe integers to bigint', () => {
      const c = codec('codec_enums');
      const v = roundTrip(c, { color: 'COLOR_NEG', uns: 'UNS_TOP', f64: 'F64_ALL', s64: 'S64_MIN' });
      expect(v).toEqual({ color: -2, uns: 0xffffffff, f64: (1n << 64n) - 1n, s64: -(1n << 63n) });
      expect(roundTrip(c, { f64: 1, s64: -1 })).toEqual({ color: 0, uns: 0, f64: 1, s64: -1 });
      expect(roundTrip(c, { s64: 'S64_BIG' })).toMatchObject({ s64: 0x100000000 });
    });

    test('enumValues and name errors', () => {
      const color = codecFor(btf, (btf.find('codec_color') as BtfType).id);
      expect(color.enumValues).toEqual({ COLOR_NEG: -2, COLOR_ZERO: 0, COLOR_RED: 1, COLOR_MAX: 0x7fffffff });
      const c = codec('codec_enums');
      const e = encodeError(c, { color: 'COLOR_BLUE' });
      expect(e).toBeInstanceOf(RangeError);
      expect(e.message).toBe('struct codec_enums .color: expected an enumerator of enum codec_color or an integer -2147483648..2147483647, got "COLOR_BLUE"');
      expect(encodeError(c, { uns: -1 })).toBeInstanceOf(RangeError);
      expect(encodeError(c, { color: true })).toBeInstanceOf(TypeError);
    });
  });

  test('floats', () => {
    const c = codec('codec_floats');
    expect(roundTrip(c, { f: 1.5, d: -0.1 })).toEqual({ f: 1.5, d: -0.1 });
    expect(roundTrip(c, { f: 0.1 })).toEqual({ f: Math.fround(0.1), d: 0 });
    expect(Number.isNaN((roundTrip(c, { d: NaN }) as { d: number }).d)).toBe(true);
    expect(encodeError(c, { d: 1n })).toBeInstanceOf(TypeError);
  });

  describe('arrays', () => {
    // Decoded strings come from a cache keyed by a hash; a hit must be confirmed byte for
    // byte. 20,000 random strings over 4096 slots collide often, and strings that differ
    // in one byte (any position, the partial last word included) share lengths.
    test('char array strings from the cache are exactly the bytes', () => {
      const c = codec('codec_arrays');
      const next = prng(7);
      const view = viewOf(c.size);
      const base = view.byteOffset + member(btf.find('codec_arrays', 'struct')!, 'name').bitOffset / 8;
      const all: string[] = [];
      for (let i = 0; i < 20000; i++) {
        const len = 1 + (next() % 16);
        let s = '';
        for (let j = 0; j < len; j++) s += String.fromCharCode(0x21 + (next() % 94));
        all.push(s);
        if (i % 3 === 0) all.push(s.slice(0, -1) + String.fromCharCode(0x21 + ((s.charCodeAt(len - 1) - 0x21 + 1) % 94)));
      }
      for (const round of [0, 1]) {
        for (const s of all) {
          new Uint8Array(view.buffer, base, 16).fill(0).set(Buffer.from(s, 'latin1'));
          const got = (c.decode(view, 0) as { name: string }).name;
          if (got !== s) throw new Error(`round ${round}: decoded ${JSON.stringify(got)} from ${JSON.stringify(s)}`);
        }
      }
    });

    test('readCString: every array size, bytes after the NUL ignored, near-collisions told apart', () => {
      // Whole words, a last word cut by the NUL, n % 4 trailing bytes read one by one,
      // strings past the 32 bytes the cache keeps as words; garbage after the NUL.
      const next = prng(11);
      for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 16, 31, 32, 33, 40, 64]) {
        const view = viewOf(n + 8, 0xff); // 0xff past the array: a read past n would show
        const cases: string[] = [];
        for (let i = 0; i < 400; i++) {
          const len = next() % (n + 1);
          let s = '';
          for (let j = 0; j < len; j++) s += String.fromCharCode(0x21 + (next() % 94));
          cases.push(s);
          if (len > 0) cases.push(s.slice(0, -1) + String.fromCharCode(0x21 + ((s.charCodeAt(len - 1) - 0x21 + 1) % 94)));
        }
        for (const round of [0, 1]) {
          for (const s of cases) {
            const arr = new Uint8Array(view.buffer, 4, n);
            for (let j = 0; j < n; j++) arr[j] = 0x21 + (next() % 94); // garbage, then the string and its NUL
            arr.set(Buffer.from(s, 'latin1'));
            if (s.length < n) arr[s.length] = 0;
            const got = cstr(view, 4, n);
            if (got !== s) throw new Error(`char[${n}], round ${round}: decoded ${JSON.stringify(got)} from ${JSON.stringify(s)}`);
          }
        }
      }
    });

    test('readBigUint64/readBigInt64: what getBigUint64/getBigInt64(off, true) give, aligned or not, view after view', () => {
      const next = prng(5);
      const buffer = new ArrayBuffer(256);
      new Uint8Array(buffer).forEach((_, i, a) => (a[i] = next()));
      // Views starting aligned and not; reads at aligned and unaligned offsets, alternating views.
      const views = [0, 8, 3, 16, 1].map((start) => new DataView(buffer, start, 256 - start - 8));
      for (let round = 0; round < 3; round++) {
        for (const view of views) {
          for (let off = 0; off + 8 <= view.byteLength; off += 1 + (off % 3)) {
            expect([u64le(view, off), s64le(view, off)]).toEqual([view.getBigUint64(off, true), view.getBigInt64(off, true)]);
          }
        }
      }
      const view = views[1];
      view.setBigUint64(8, 0xffffffffffffffffn, true);
      expect([u64le(view, 8), s64le(view, 8)]).toEqual([0xffffffffffffffffn, -1n]);
      // Past the end, negative or fractional: the DataView's own errors and rounding.
      for (const off of [view.byteLength - 7, view.byteLength, view.byteLength + 8, -8]) {
        expect(() => u64le(view, off)).toThrow(RangeError);
        expect(() => s64le(view, off)).toThrow(RangeError);
      }
      expect(u64le(view, 8.5)).toBe(view.getBigUint64(8.5, true));
    });

    test('char arrays are strings up to NUL', () => {
      const c = codec('codec_arrays');
      expect((roundTrip(c, { name: 'abcdefghijklmnop' }) as { name: string }).name).toBe('abcdefghijklmnop');
      expect((roundTrip(c, { name: 'héllo ✓' }) as { name: string }).name).toBe('héllo ✓');
      expect((roundTrip(c, { name: 'é'.repeat(8) }) as { name: string }).name).toBe('é'.repeat(8));
      const long = encodeError(c, { name: 'abcdefghijklmnopq' });
      expect(long).toBeInstanceOf(RangeError);
      expect(long.message).toBe('struct codec_arrays .name: expected a string of at most 16 UTF-8 bytes, got "abcdefghijklmnopq" (17 bytes)');
      expect(encodeError(c, { name: 'é'.repeat(9) })).toBeInstanceOf(RangeError);
      expect(encodeError(c, { name: 42 })).toBeInstanceOf(TypeError);
      const view = viewOf(c.size, 0xff);
      c.encode({ name: 'ab' }, view, 0);
      expect(bytes(view).slice(0, 16)).toEqual([97, 98, ...new Array(14).fill(0)]);
      view.setUint8(1, 0);
      expect((c.decode(view, 0) as { name: string }).name).toBe('a');
    });

    test('numeric arrays are typed array copies', () => {
      const c = codec('codec_arrays');
      const value = {
        uname: [1, 2, 255], mac: new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0, 1]), shorts: [-1, 2, -32768],
        counts: [1n, (1n << 64n) - 1n, 3], deltas: new BigInt64Array([-5n, 5n]), weights: [0.5, -2], avgs: [1e300, -0],
      };
      const v = roundTrip(c, value) as Record<string, unknown>;
      expect(v.uname).toEqual(new Uint8Array([1, 2, 255, 0, 0, 0, 0, 0]));
      expect(v.mac).toEqual(new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0, 1]));
      expect(v.shorts).toEqual(new Int16Array([-1, 2, -32768]));
      expect(v.counts).toEqual(new BigUint64Array([1n, (1n << 64n) - 1n, 3n]));
      expect(v.deltas).toEqual(new BigInt64Array([-5n, 5n]));
      expect(v.weights).toEqual(new Float32Array([0.5, -2]));
      expect(v.avgs).toEqual(new Float64Array([1e300, -0]));
      const view = viewOf(c.size);
      c.encode(v, view, 0);
      const copy = c.decode(view, 0) as { mac: Uint8Array };
      copy.mac[0] = 7;
      expect((c.decode(view, 0) as { mac: Uint8Array }).mac[0]).toBe(0xde);
    });

    test('other arrays are JS arrays', () => {
      const c = codec('codec_arrays');
      const v = roundTrip(c, {
        matrix: [[1, 2, 3], new Int32Array([-4, -5, -6])], pts: [{ x: 1, y: -1 }], colors: ['COLOR_RED', -2], flags: [true, false, 1],
      }) as Record<string, unknown>;
      expect(v.matrix).toEqual([new Int32Array([1, 2, 3]), new Int32Array([-4, -5, -6])]);
      expect(v.pts).toEqual([{ x: 1, y: -1 }, { x: 0, y: 0 }]);
      expect(v.colors).toEqual([1, -2]);
      expect(v.flags).toEqual([true, false, true]);
    });

    test('length and element errors carry the path', () => {
      const c = codec('codec_arrays');
      const long = encodeError(c, { counts: [1n, 2n, 3n, 4n] }, 'arrays value');
      expect(long).toBeInstanceOf(RangeError);
      expect(long.message).toBe('arrays value .counts: expected an array-like of at most 3 elements, got an array of length 4');
      expect(encodeError(c, { pts: [{}, { x: 1.5 }] }).message).toBe(
        'struct codec_arrays .pts[1].x: expected an integer -2147483648..2147483647, got 1.5');
      expect(encodeError(c, { matrix: [[0, 0, 0], [0, 0, 2 ** 31]] }).message).toMatch(/^struct codec_arrays \.matrix\[1\]\[2\]: /);
      expect(encodeError(c, { mac: 'de:ad' })).toBeInstanceOf(TypeError);
    });
  });

  test('nested structs, typedefs and qualifiers', () => {
    const c = codec('codec_nested');
    const value = { origin: { x: -1, y: 2 }, size: { w: 640, h: 480 }, cv: 9, corners: [{ x: 1, y: 1 }, { x: 2, y: 2 }] };
    expect(roundTrip(c, value)).toEqual(value);
    expect(roundTrip(c, { size: { h: 1 } })).toEqual({ origin: { x: 0, y: 0 }, size: { w: 0, h: 1 }, cv: 0, corners: [{ x: 0, y: 0 }, { x: 0, y: 0 }] });
    expect(encodeError(c, { origin: 5 }).message).toBe('struct codec_nested .origin: expected an object (struct codec_point), got 5');
    expect(encodeError(c, { size: { w: -1 } }).message).toMatch(/^struct codec_nested \.size\.w: expected an integer 0\.\.65535/);
  });

  describe('unions', () => {
    test('an anonymous union is flattened and decodes every view', () => {
      const c = codec('codec_with_union');
      const view = viewOf(c.size);
      view.setUint32(4, 0x04030201, true);
      expect(c.decode(view, 0)).toEqual({ kind: 0, as_u32: 0x04030201, as_bytes: new Uint8Array([1, 2, 3, 4]), lo: 0x0201, hi: 0x0403, tail: 0n });
    });

    test('encode writes the member present; agreeing members are fine', () => {
      const c = codec('codec_with_union');
      expect(roundTrip(c, { kind: 1, lo: 1, hi: 2 })).toMatchObject({ kind: 1, as_u32: 0x00020001 });
      expect(roundTrip(c, { as_bytes: [0xff] })).toMatchObject({ as_u32: 0xff, lo: 0xff, hi: 0 });
      const decoded = roundTrip(c, { as_u32: 0xdeadbeef, tail: 9n });
      expect(roundTrip(c, decoded)).toEqual(decoded);
    });

    test('conflicting members are a RangeError naming them', () => {
      const c = codec('codec_with_union');
      const e = encodeError(c, { as_u32: 1, lo: 2 });
      expect(e).toBeInstanceOf(RangeError);
      expect(e.message).toBe('struct codec_with_union: expected one member of union (anon), or members that agree, got conflicting members as_u32, {lo, hi}');
    });

    test('decoded unions round-trip even where one member\'s padding is another\'s data', () => {
      for (const name of ['codec_padded_union', 'codec_top_union', 'codec_with_union']) {
        const c = codec(name);
        const next = prng(7);
        for (let round = 0; round < 20; round++) {
          const view = viewOf(c.size);
          for (let i = 0; i < c.size; i++) view.setUint8(i, next());
          const again = viewOf(c.size, 0xee);
          c.encode(c.decode(view, 0), again, 0);
          expect(bytes(again)).toEqual(bytes(view));
        }
      }
      const c = codec('codec_padded_union');
      expect(roundTrip(c, { tagged: { tag: 1, val: 2 } })).toEqual({ tagged: { tag: 1, val: 2 }, raw: 0x0000000200000001n });
      expect(encodeError(c, { tagged: { tag: 1, val: 2 }, raw: 0n }).message).toBe(
        'union codec_padded_union: expected one member of union codec_padded_union, or members that agree, got conflicting members tagged, raw');
    });

    test('a named union type', () => {
      const c = codec('codec_top_union');
      expect(c.size).toBe(8);
      expect(roundTrip(c, { pt: { x: -1, y: 2 } })).toEqual({ word: 0xffffffff, halves: new Uint16Array([0xffff, 0xffff]), pt: { x: -1, y: 2 } });
      expect(roundTrip(c, { word: 0x12345678 })).toMatchObject({ halves: new Uint16Array([0x5678, 0x1234]), pt: { x: 0x12345678, y: 0 } });
      expect(encodeError(c, { word: 1, halves: [2] })).toBeInstanceOf(RangeError);
    });
  });

  describe('bitfields', () => {
    const fields = (name: string) => {
      const t = btf.find(name) as BtfType;
      return (t.members ?? []).map((m) => {
        const rt = btf.resolve(m.type);
        return { name: m.name, bitOffset: m.bitOffset, bitSize: m.bitSize || btf.sizeOf(m.type) * 8, signed: !!rt.signed, rt };
      });
    };
    const asJs = (f: ReturnType<typeof fields>[number], raw: bigint): unknown => {
      if (f.rt.bool) return raw !== 0n;
      return f.rt.kind === 'int' && (f.rt.size as number) > 4 ? raw : Number(raw);
    };

    test.each(['codec_bits', 'codec_packed_bits'])('%s decodes random bytes like the bit-level oracle', (name) => {
      const c = codec(name);
      const next = prng(name.length);
      for (let round = 0; round < 50; round++) {
        const view = viewOf(c.size);
        for (let i = 0; i < c.size; i++) view.setUint8(i, next());
        const whole = leBig(view);
        const v = c.decode(view, 0) as Record<string, unknown>;
        for (const f of fields(name)) expect(v[f.name]).toEqual(asJs(f, bitsOf(whole, f.bitOffset, f.bitSize, f.signed)));
        const again = viewOf(c.size, 0xff);
        c.encode(v, again, 0);
        expect(c.decode(again, 0)).toEqual(v);
      }
    });

    test.each(['codec_bits', 'codec_packed_bits'])('%s: writing one field leaves its neighbours zero', (name) => {
      const c = codec(name);
      for (const f of fields(name)) {
        const max = f.signed ? (1n << BigInt(f.bitSize - 1)) - 1n : (1n << BigInt(f.bitSize)) - 1n;
        const min = f.signed ? -(1n << BigInt(f.bitSize - 1)) : 0n;
        for (const raw of [max, min]) {
          const view = viewOf(c.size, 0xff);
          c.encode({ [f.name]: f.rt.bool ? raw !== 0n : raw }, view, 0);
          const expected = BigInt.asUintN(f.bitSize, raw) << BigInt(f.bitOffset);
          expect(leBig(view)).toBe(expected);
        }
      }
    });

    test('range errors name the field width', () => {
      const c = codec('codec_bits');
      expect(encodeError(c, { a: 8 }).message).toBe('struct codec_bits .a: expected an integer 0..7 (3-bit field), got 8');
      expect(encodeError(c, { c: -65 }).message).toBe('struct codec_bits .c: expected an integer -64..63 (7-bit field), got -65');
      expect(roundTrip(c, { c: -64, g: -(1n << 32n), f: 2 ** 40 - 1 })).toMatchObject({ c: -64, g: -(1n << 32n), f: (1n << 40n) - 1n });
      expect(roundTrip(c, { col: 'COLOR_NEG', h: true })).toMatchObject({ col: -2, h: true });
      expect(encodeError(c, { col: 'COLOR_MAX' })).toBeInstanceOf(RangeError);
      expect(encodeError(c, { d: '1' })).toBeInstanceOf(TypeError);
    });
  });

  describe('big-endian BTF', () => {
    let be: Btf;
    beforeAll(() => {
      be = Btf.parse(toBigEndian(fixtureBtfBytes()));
    });
    const beCodec = (name: string): Codec => codecFor(be, (be.find(name) as BtfType).id);

    test('scalars and arrays are stored big-endian', () => {
      const c = beCodec('codec_event');
      const view = viewOf(c.size);
      const value = { seq: 0x0102030405060708n, pid: 0x0a0b0c0d, cpu: 1, comm: 'be', pad: [1n, 2n] };
      c.encode(value, view, 0);
      expect(bytes(view).slice(0, 12)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 0x0a, 0x0b, 0x0c, 0x0d]);
      expect(view.getBigUint64(40, false)).toBe(2n);
      expect(c.decode(view, 0)).toEqual({ ...value, pad: new BigUint64Array([1n, 2n]) });
    });

    test.each(['codec_bits', 'codec_packed_bits'])('%s bitfields count bit offsets from the MSB', (name) => {
      const c = beCodec(name);
      const t = be.find(name) as BtfType;
      const next = prng(3);
      for (let round = 0; round < 30; round++) {
        const view = viewOf(c.size);
        for (let i = 0; i < c.size; i++) view.setUint8(i, next());
        const v = c.decode(view, 0) as Record<string, unknown>;
        for (const m of t.members ?? []) {
          const rt = be.resolve(m.type);
          const size = m.bitSize || be.sizeOf(m.type) * 8;
          const raw = bitsOf(beBig(view), m.bitOffset, size, !!rt.signed, c.size * 8);
          const expected = rt.bool ? raw !== 0n : rt.kind === 'int' && (rt.size as number) > 4 ? raw : Number(raw);
          expect(v[m.name]).toEqual(expected);
        }
        const again = viewOf(c.size);
        c.encode(v, again, 0);
        expect(c.decode(again, 0)).toEqual(v);
      }
    });
  });

  test('padding and missing fields are zero', () => {
    const c = codec('codec_padded');
    const view = viewOf(c.size, 0xff);
    c.encode({ a: 1, c: 2 }, view, 0);
    expect(bytes(view)).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
    expect(c.zero()).toEqual({ a: 0, b: 0n, c: 0 });
    expect(c.zero()).not.toBe(c.zero());
  });

  test('pointers are bigint addresses', () => {
    const c = codec('codec_with_ptr');
    expect(roundTrip(c, { ptr: 0xffff888000000000n, task: 4096, tagged: 3 })).toEqual({ ptr: 0xffff888000000000n, task: 4096n, str: 0n, uptr: 0n, tagged: 3 });
    expect(encodeError(c, { str: -1 })).toBeInstanceOf(RangeError);
    expect(encodeError(c, { str: {} }).message).toBe('struct codec_with_ptr .str: expected an address 0..2^64-1 (bigint or safe integer number), got an object');
  });

  test('flexible array member decodes empty', () => {
    const c = codec('codec_flex');
    expect(c.size).toBe(4);
    expect(roundTrip(c, { len: 3, data: [] })).toEqual({ len: 3, data: new Uint8Array(0) });
    expect(encodeError(c, { data: [1] })).toBeInstanceOf(RangeError);
  });

  // Small typed arrays are views into shared 8 KiB slabs: every decoded array must keep
  // its own values across slab changes, and writing one must not touch another.
  test('small typed arrays from many decodes stay independent', () => {
    const c = codec('codec_event');
    const view = viewOf(c.size);
    const kept: { seq: bigint; pad: BigUint64Array }[] = [];
    for (let i = 0; i < 2000; i++) {
      c.encode({ seq: BigInt(i), pad: [BigInt(i), BigInt(-i >>> 0) << 32n] }, view, 0);
      kept.push(c.decode(view, 0) as { seq: bigint; pad: BigUint64Array });
    }
    kept[10].pad[0] = 99n;
    const copy = kept[11].pad.slice();
    kept[11].pad[1] = 1n;
    for (let i = 0; i < 2000; i++) {
      expect(kept[i].pad).toBeInstanceOf(BigUint64Array);
      expect(kept[i].pad.byteOffset % 8).toBe(0);
      if (i === 10 || i === 11) continue;
      expect([...kept[i].pad]).toEqual([BigInt(i), BigInt(-i >>> 0) << 32n]);
    }
    expect([...kept[10].pad]).toEqual([99n, BigInt(-10 >>> 0) << 32n]);
    expect([...copy]).toEqual([11n, BigInt(-11 >>> 0) << 32n]);
    expect(copy.buffer.byteLength).toBe(16);
    expect(new Set(kept.map((k) => k.pad.buffer)).size).toBeGreaterThan(2); // slabs changed on the way
  });

  // How fast it decodes is measured by `npm run bench -- ringbuf` (eager rows), not here.
  test('the event struct decodes at an offset, a fresh object each time', () => {
    const c = codec('codec_event');
    const view = viewOf(c.size * 4);
    c.encode({ seq: 1n, pid: 42, cpu: 3, comm: 'node', pad: [7n] }, view, 48);
    const first = c.decode(view, 48) as { pad: BigUint64Array };
    expect(first).toEqual({ seq: 1n, pid: 42, cpu: 3, comm: 'node', pad: new BigUint64Array([7n, 0n]) });
    const again = c.decode(view, 48) as { pad: BigUint64Array };
    expect(again).toEqual(first);
    expect(again).not.toBe(first);
    again.pad[0] = 8n;
    expect(first.pad[0]).toBe(7n);
  });

  test('encode checks the offset and the value type', () => {
    const c = codec('codec_event');
    expect(() => c.encode({}, viewOf(47), 0)).toThrow(RangeError);
    expect(encodeError(c, [1, 2]).message).toBe('struct codec_event: expected an object (struct codec_event), got an array of length 2');
    expect(encodeError(c, undefined, 'events value')).toBeInstanceOf(TypeError);
  });

  test('types without a value cannot be decoded', () => {
    const id = (name: string) => (btf.find(name) as BtfType).id;
    expect(() => codecFor(btf, 0)).toThrow(new TypeError('cannot decode void'));
    expect(() => codecFor(btf, id('codec_touch'))).toThrow(TypeError);
    expect(() => codecFor(btf, id('task_struct'))).toThrow(new TypeError('cannot decode struct task_struct'));
    expect(() => codecFor(btf, id('.bss'))).toThrow(TypeError); // clang leaves datasec sizes to libbpf
    expect(() => codecFor(btf, btf.typeCount + 1)).toThrow(RangeError);
  });
});

describe('rawCodec', () => {
  test('copies bytes in and out', () => {
    const c = rawCodec(4);
    const view = new DataView(new Uint8Array([9, 1, 2, 3, 4, 9]).buffer);
    const got = c.decode(view, 1);
    expect(Buffer.isBuffer(got)).toBe(true);
    expect([...got]).toEqual([1, 2, 3, 4]);
    view.setUint8(1, 0);
    expect(got[0]).toBe(1);
    c.encode(Buffer.from([5, 6, 7, 8]), view, 2);
    expect(bytes(view)).toEqual([9, 0, 5, 6, 7, 8]);
    expect(c.zero()).toEqual(Buffer.alloc(4));
    expect(() => c.encode(Buffer.alloc(3), view, 0)).toThrow(RangeError);
    expect(() => c.encode('abcd' as unknown as Buffer, view, 0)).toThrow(TypeError);
  });
});
