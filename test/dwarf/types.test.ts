// Types from DWARF as BTF (dwarf/types.ts): the same layout and the same decoded values as
// the BTF clang makes from the header, for DWARF 5 (clang's default) and DWARF 4 objects;
// names of every kind; and malformed sections (truncated, garbage) that must end in
// DwarfFormatError/ElfFormatError, never a crash or a hang.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Btf, decode } from 'node-libbpf';
import { buildCommand, headerBtf } from 'node-libbpf/toolchain';
import { codecFor } from '../../src/ts/btf/codec';
import { ElfFile, ElfFormatError } from '../../src/ts/elf/file';
import { stripSections } from '../../src/ts/elf/strip';
import { DebugInfo } from '../../src/ts/dwarf/info';
import { DwarfFormatError } from '../../src/ts/dwarf/reader';
import { DwarfTypes } from '../../src/ts/dwarf/types';
import { fixture, root } from '../support/helpers';

const FIXTURES = path.join(root, 'test', 'fixtures');
// Every type the two foreign fixtures declare in their headers.
const SHORT_TYPES = ['struct short_event', 'enum short_kind', 'enum short_big', 'struct short_span', 'short_span_t', 'union short_addr', 'short_u32'];
const EVENT_TYPES = ['struct event', 'span_t', 'union addr', 'enum phase'];

let tmp: string;
let dwarf4: string;
let fromHeader: { short: Btf; events: Btf };
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nlb-dwarf-'));
  // The same program as DWARF 4 (what older clang and -gdwarf-4 builds carry).
  dwarf4 = path.join(tmp, 'foreign_short.dwarf4.bpf.o');
  const { clang, args } = buildCommand(path.join(FIXTURES, 'foreign_short.bpf.c'), { output: dwarf4, cflags: ['-gdwarf-4'] });
  execFileSync(clang, args);
  fromHeader = {
    short: await headerBtf(path.join(FIXTURES, 'foreign_short.h'), { types: SHORT_TYPES }),
    events: await headerBtf(path.join(FIXTURES, 'foreign_events.h'), { types: EVENT_TYPES }),
  };
}, 60000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The C a Btf prints for a type and what it contains (libbpf's btf_dump), without the pragma lines. */
function cOf(btf: Btf): string {
  return btf.toCHeader().split('\n').filter((l) => l && !l.startsWith('#')).sort().join('\n');
}

/** Member names, bit offsets, bit sizes and type names of a struct or union, recursively. */
function layout(btf: Btf, id: number, depth = 0): unknown {
  const t = btf.resolve(id);
  if (depth > 4 || (t.kind !== 'struct' && t.kind !== 'union')) return btf.typeName(id);
  return { kind: t.kind, size: t.size, members: t.members!.map((m) => [m.name, m.bitOffset, m.bitSize, layout(btf, m.type, depth + 1)]) };
}

function pseudoRandom(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = (seed = (seed * 1103515245 + 12345) & 0x7fffffff) >>> 16;
  return out;
}

describe.each([
  ['DWARF 5', () => fixture('foreign_short')],
  ['DWARF 4', () => dwarf4],
])('struct short_event from %s', (_, file) => {
  let types: DwarfTypes;
  beforeAll(() => {
    types = DwarfTypes.fromElf(fs.readFileSync(file()))!;
  });

  test('the DWARF version is the one asked for', () => {
    const units = DebugInfo.of(ElfFile.parse(fs.readFileSync(file())))!.units();
    expect(units[0].version).toBe(_ === 'DWARF 5' ? 5 : 4);
  });

  test.each(SHORT_TYPES)('%s: the same C as the BTF clang makes from the header', (name) => {
    const found = types.find(name)!;
    expect(found).toBeDefined();
    const header = fromHeader.short;
    expect(found.btf.typeName(found.id)).toBe(name);
    expect(layout(found.btf, found.id)).toEqual(layout(header, header.type(name).id));
    expect(found.btf.type(found.id).size ?? found.btf.sizeOf(found.id)).toBe(header.sizeOf(header.type(name).id));
  });

  test('the whole struct prints as the header declares it (bitfields, enums, anonymous members, const volatile, 2-D arrays)', () => {
    const found = types.find('struct short_event')!;
    expect(cOf(found.btf)).toEqual(cOf(fromHeader.short));
  });

  test('decodes random bytes exactly as the header\'s BTF does, whole and cut short', () => {
    const found = types.find('struct short_event')!;
    const mine = codecFor(found.btf, found.id);
    const theirs = fromHeader.short.codec('struct short_event');
    for (let seed = 1; seed < 40; seed++) {
      const bytes = pseudoRandom(mine.size, seed);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
      expect(mine.decode(view, 0)).toEqual(theirs.decode(view, 0));
      const cut = seed * 9;
      expect(mine.decodePartial(view, 0, cut)).toEqual(theirs.decodePartial(view, 0, cut));
    }
  });

  test('enums keep their values and signedness; a 64-bit enum is enum64', () => {
    expect(types.find('enum short_kind')!.btf.type('enum short_kind').values).toEqual([{ name: 'SHORT_EXEC', value: 3 }, { name: 'SHORT_EXIT', value: 7 }]);
    const big = types.find('enum short_big')!;
    expect(big.btf.type(big.id)).toMatchObject({ kind: 'enum64', size: 8, signed: true, values: [{ name: 'SHORT_BIG_NEG', value: -2 }, { name: 'SHORT_BIG_HUGE', value: 0x123456789a }] });
  });

  test('names of types not there are undefined; names() lists struct, union, enum, typedef and base types', () => {
    expect(types.find('struct nope')).toBeUndefined();
    expect(types.find('short_event')).toBeUndefined(); // a struct is found as 'struct short_event'
    const names = types.names();
    expect(names).toEqual(expect.arrayContaining(['struct short_event', 'union short_addr', 'enum short_kind', 'short_u32', 'unsigned int']));
  });
});

describe('struct event of foreign_events', () => {
  test('the same layout as from the header', () => {
    const types = DwarfTypes.fromElf(fs.readFileSync(fixture('foreign_events')))!;
    for (const name of EVENT_TYPES) {
      const found = types.find(name)!;
      expect(layout(found.btf, found.id)).toEqual(layout(fromHeader.events, fromHeader.events.type(name).id));
    }
  });
});

describe('decode()', () => {
  const btf = (): Btf => DwarfTypes.fromElf(fs.readFileSync(fixture('foreign_short')))!.find('struct short_event')!.btf;

  test('a buffer the user holds, whole or cut, with chars', () => {
    const bytes = Buffer.alloc(360);
    bytes.writeBigUInt64LE(42n, 0);
    bytes.write('a\0bc\0', 100, 'latin1');
    expect(decode(bytes, 'struct short_event', { btf: btf() }).seq).toBe(42n);
    expect(decode(bytes, 'struct short_event', { btf: btf(), length: 105, chars: { args: 'strings' } }).args).toEqual(['a', 'bc']);
    expect(decode(bytes, 'struct short_event', { btf: btf(), length: 8 })).toEqual({ seq: 42n });
    expect(decode(new DataView(bytes.buffer, bytes.byteOffset, 360), 'short_u32', { btf: btf(), offset: 0 })).toBe(42);
  });

  test('bad arguments', () => {
    expect(() => decode(Buffer.alloc(8), 'struct short_event', {} as never)).toThrow(/^options\.btf: expected a Btf, got undefined$/);
    expect(() => decode('x' as never, 'short_u32', { btf: btf() })).toThrow(/^data: expected a Buffer, Uint8Array or DataView/);
    expect(() => decode(Buffer.alloc(8), 'short_u32', { btf: btf(), offset: 9 })).toThrow(RangeError);
    expect(() => decode(Buffer.alloc(8), 'short_u32', { btf: btf(), length: 9 })).toThrow(RangeError);
    expect(() => decode(Buffer.alloc(2), 'short_u32', { btf: btf() })).toThrow(/^data: expected at least part of short_u32 \(4 bytes\)/);
    expect(() => decode(Buffer.alloc(2), 'struct nope', { btf: btf() })).toThrow(RangeError);
  });
});

describe('no DWARF, malformed DWARF', () => {
  test('a stripped object has none', () => {
    expect(DwarfTypes.fromElf(stripSections(fs.readFileSync(fixture('foreign_short'))))).toBeUndefined();
  });

  // Sections cut short or overwritten with garbage: every lookup ends (no hang) in a result
  // or in DwarfFormatError / ElfFormatError, never another exception.
  test('truncated and garbage .debug_info, .debug_abbrev, .debug_str_offsets', () => {
    const file = fs.readFileSync(fixture('foreign_short'));
    const elf = ElfFile.parse(file);
    const outcomes = new Set<string>();
    for (const name of ['.debug_info', '.debug_abbrev', '.debug_str_offsets', '.debug_str']) {
      const s = elf.section(name)!;
      const variants: Buffer[] = [];
      for (const keep of [0, 1, 7, 11, 64, Math.floor(s.size / 3), s.size - 1]) {
        const b = Buffer.from(file);
        b.fill(0, s.offset + keep, s.offset + s.size); // the section ends early (zeros: null DIEs, code 0)
        variants.push(b);
      }
      for (let seed = 1; seed <= 12; seed++) {
        const b = Buffer.from(file);
        const start = s.offset + ((seed * 7919) % Math.max(1, s.size - 256));
        pseudoRandom(Math.min(256, s.size), seed).copy(b, start);
        variants.push(b);
      }
      for (const b of variants) outcomes.add(lookup(b));
    }
    expect([...outcomes].filter((o) => !['found', 'not found', 'DwarfFormatError', 'ElfFormatError'].includes(o))).toEqual([]);
    expect(outcomes.has('DwarfFormatError')).toBe(true);
  });
});

function lookup(file: Buffer): string {
  try {
    const types = DwarfTypes.fromElf(file);
    return types?.find('struct short_event') ? 'found' : 'not found';
  } catch (e) {
    if (e instanceof DwarfFormatError || e instanceof ElfFormatError) return e.name;
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}
