// The DWARF byte reader and form values: LEB128 vectors from the DWARF standard, every
// DW_FORM in both byte orders and offset sizes, truncation (always DwarfFormatError), and the
// unit header of a real clang -g object.
import * as fs from 'node:fs';
import { ElfFile } from '../../src/ts/elf/file';
import { ByteReader, constantOf, DW_FORM, DwarfFormatError, FormContext, readForm } from '../../src/ts/dwarf/reader';
import { fixture } from '../support/helpers';

const r = (bytes: number[], le = true) => new ByteReader(Uint8Array.from(bytes), le);

describe('ByteReader', () => {
  // DWARF 5, section 7.6, figures 7.2 and 7.3.
  test.each([[2, [2]], [127, [0x7f]], [128, [0x80, 1]], [129, [0x81, 1]], [130, [0x82, 1]], [12857, [0xb9, 0x64]]])('uleb128 %d', (v, bytes) => {
    const reader = r(bytes);
    expect(reader.uleb128()).toBe(v);
    expect(reader.atEnd).toBe(true);
    expect(r(bytes).uleb128Big()).toBe(BigInt(v));
  });

  test.each([[2, [2]], [-2, [0x7e]], [127, [0xff, 0]], [-127, [0x81, 0x7f]], [128, [0x80, 1]], [-128, [0x80, 0x7f]], [129, [0x81, 1]], [-129, [0xff, 0x7e]]])('sleb128 %d', (v, bytes) => {
    expect(r(bytes).sleb128()).toBe(v);
    expect(r(bytes).sleb128Big()).toBe(BigInt(v));
  });

  test('64-bit LEB128 values, and one too large for a number', () => {
    const max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    expect(r(max).uleb128Big()).toBe(0xffffffffffffffffn);
    expect(() => r(max).uleb128()).toThrow(/larger than 2\^53/);
    expect(r([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f]).sleb128Big()).toBe(-(1n << 63n));
    expect(() => r(new Array(11).fill(0x80)).uleb128Big()).toThrow(/longer than 10 bytes/);
  });

  test('fixed sizes in both byte orders', () => {
    const bytes = [1, 2, 3, 4, 5, 6, 7, 8];
    const le = r(bytes);
    expect([le.u8(), le.u16(), le.u24(), le.u16()]).toEqual([1, 0x0302, 0x060504, 0x0807]);
    const be = r(bytes, false);
    expect([be.u8(), be.u16(), be.u24(), be.u16()]).toEqual([1, 0x0203, 0x040506, 0x0708]);
    expect(r(bytes).u64()).toBe(0x0807060504030201n);
    expect(r(bytes, false).u32()).toBe(0x01020304);
    expect(r([0xff]).s8()).toBe(-1);
  });

  test('cstr, sub and at stay inside their range', () => {
    const reader = r([0x61, 0x62, 0, 0x63, 0, 0x64]);
    expect(reader.cstr()).toBe('ab');
    const sub = reader.sub(2);
    expect(sub.cstr()).toBe('c');
    expect(() => reader.cstr()).toThrow(/not NUL-terminated/);
    // A string whose NUL lies past the sub-reader's end is not terminated for it.
    expect(() => r([0x61, 0x62, 0]).sub(2).cstr()).toThrow(DwarfFormatError);
    expect(() => r([1, 2]).at(3)).toThrow(DwarfFormatError);
    expect(() => new ByteReader(new Uint8Array(2), true, 0, 3)).toThrow(DwarfFormatError);
  });

  test('initial length: 32-bit, 64-bit, reserved, and longer than the data', () => {
    expect(r([4, 0, 0, 0, 1, 2, 3, 4]).initialLength()).toEqual({ length: 4, offsetSize: 4 });
    expect(r([0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 0, 0, 0, 1, 2]).initialLength()).toEqual({ length: 2, offsetSize: 8 });
    expect(() => r([0xf0, 0xff, 0xff, 0xff]).initialLength()).toThrow(/reserved initial length/);
    expect(() => r([9, 0, 0, 0, 1]).initialLength()).toThrow(/runs past the end/);
  });

  test('every read past the end throws DwarfFormatError', () => {
    const reads: ((x: ByteReader) => unknown)[] = [(x) => x.u8(), (x) => x.u16(), (x) => x.u24(), (x) => x.u32(), (x) => x.u64(), (x) => x.uleb128(), (x) => x.sleb128(), (x) => x.cstr(), (x) => x.bytesOf(1), (x) => x.skip(1), (x) => x.sectionOffset(8)];
    for (const read of reads) expect(() => read(r([]))).toThrow(DwarfFormatError);
    expect(() => r([0x80]).uleb128()).toThrow(DwarfFormatError);
    expect(() => r([1]).uint(3)).toThrow(/unsupported integer size 3/);
  });
});

describe('readForm', () => {
  const ctx = (offsetSize: 4 | 8, version = 5): FormContext => ({ version, offsetSize, addressSize: 8 });
  // [form, bytes (little endian), offset size, expected value]
  const cases: [string, number[], 4 | 8, unknown][] = [
    ['addr', [1, 0, 0, 0, 0, 0, 0, 0x80], 4, { kind: 'address', value: 0x8000000000000001n }],
    ['data1', [0xff], 4, { kind: 'constant', value: 255n, signed: false, size: 1 }],
    ['data2', [1, 2], 4, { kind: 'constant', value: 0x201n, signed: false, size: 2 }],
    ['data4', [1, 2, 3, 4], 4, { kind: 'constant', value: 0x4030201n, signed: false, size: 4 }],
    ['data8', [1, 0, 0, 0, 0, 0, 0, 1], 4, { kind: 'constant', value: 0x0100000000000001n, signed: false, size: 8 }],
    ['sdata', [0x7f], 4, { kind: 'constant', value: -1n, signed: true, size: 0 }],
    ['udata', [0x80, 1], 4, { kind: 'constant', value: 128n, signed: false, size: 0 }],
    ['data16', [...Array(16).keys()], 4, { kind: 'data16', value: Uint8Array.from(Array(16).keys()) }],
    ['string', [0x68, 0x69, 0], 4, { kind: 'string', value: 'hi' }],
    ['strp', [4, 0, 0, 0], 4, { kind: 'strp', section: '.debug_str', offset: 4 }],
    ['strp', [4, 0, 0, 0, 0, 0, 0, 0], 8, { kind: 'strp', section: '.debug_str', offset: 4 }],
    ['line_strp', [5, 0, 0, 0], 4, { kind: 'strp', section: '.debug_line_str', offset: 5 }],
    ['strp_sup', [6, 0, 0, 0], 4, { kind: 'strp', section: 'sup', offset: 6 }],
    ['GNU_strp_alt', [6, 0, 0, 0], 4, { kind: 'strp', section: 'sup', offset: 6 }],
    ['strx', [0x81, 1], 4, { kind: 'strx', index: 129 }],
    ['GNU_str_index', [3], 4, { kind: 'strx', index: 3 }],
    ['strx1', [7], 4, { kind: 'strx', index: 7 }],
    ['strx2', [7, 1], 4, { kind: 'strx', index: 0x107 }],
    ['strx3', [7, 1, 2], 4, { kind: 'strx', index: 0x20107 }],
    ['strx4', [7, 1, 2, 3], 4, { kind: 'strx', index: 0x3020107 }],
    ['addrx', [2], 4, { kind: 'addrx', index: 2 }],
    ['GNU_addr_index', [2], 4, { kind: 'addrx', index: 2 }],
    ['addrx1', [2], 4, { kind: 'addrx', index: 2 }],
    ['addrx2', [2, 1], 4, { kind: 'addrx', index: 0x102 }],
    ['addrx3', [2, 1, 1], 4, { kind: 'addrx', index: 0x10102 }],
    ['addrx4', [2, 0, 0, 1], 4, { kind: 'addrx', index: 0x1000002 }],
    ['ref1', [9], 4, { kind: 'reference', offset: 9, base: 'unit' }],
    ['ref2', [9, 1], 4, { kind: 'reference', offset: 0x109, base: 'unit' }],
    ['ref4', [9, 0, 0, 1], 4, { kind: 'reference', offset: 0x1000009, base: 'unit' }],
    ['ref8', [9, 0, 0, 0, 0, 0, 0, 0], 4, { kind: 'reference', offset: 9, base: 'unit' }],
    ['ref_udata', [0x89, 1], 4, { kind: 'reference', offset: 137, base: 'unit' }],
    ['ref_addr', [9, 0, 0, 0], 4, { kind: 'reference', offset: 9, base: 'section' }],
    ['ref_addr', [9, 0, 0, 0, 0, 0, 0, 0], 8, { kind: 'reference', offset: 9, base: 'section' }],
    ['ref_sup4', [9, 0, 0, 0], 4, { kind: 'reference', offset: 9, base: 'sup' }],
    ['ref_sup8', [9, 0, 0, 0, 0, 0, 0, 0], 4, { kind: 'reference', offset: 9, base: 'sup' }],
    ['GNU_ref_alt', [9, 0, 0, 0], 4, { kind: 'reference', offset: 9, base: 'sup' }],
    ['ref_sig8', [1, 2, 3, 4, 5, 6, 7, 8], 4, { kind: 'signature', value: 0x0807060504030201n }],
    ['flag', [0], 4, { kind: 'flag', value: false }],
    ['flag_present', [], 4, { kind: 'flag', value: true }],
    ['block1', [2, 0xa, 0xb], 4, { kind: 'block', value: Uint8Array.from([0xa, 0xb]) }],
    ['block2', [1, 0, 0xa], 4, { kind: 'block', value: Uint8Array.from([0xa]) }],
    ['block4', [1, 0, 0, 0, 0xa], 4, { kind: 'block', value: Uint8Array.from([0xa]) }],
    ['block', [1, 0xa], 4, { kind: 'block', value: Uint8Array.from([0xa]) }],
    ['exprloc', [2, 0x91, 0x08], 4, { kind: 'exprloc', value: Uint8Array.from([0x91, 0x08]) }],
    ['sec_offset', [0x10, 0, 0, 0], 4, { kind: 'sectionOffset', value: 16 }],
    ['sec_offset', [0x10, 0, 0, 0, 0, 0, 0, 0], 8, { kind: 'sectionOffset', value: 16 }],
    ['loclistx', [3], 4, { kind: 'loclistx', index: 3 }],
    ['rnglistx', [4], 4, { kind: 'rnglistx', index: 4 }],
    ['indirect', [DW_FORM.data1, 0x2a], 4, { kind: 'constant', value: 42n, signed: false, size: 1 }],
  ];

  test.each(cases)('DW_FORM_%s (%j, offset size %d)', (name, bytes, offsetSize, expected) => {
    const reader = r(bytes);
    expect(readForm(reader, DW_FORM[name as keyof typeof DW_FORM], ctx(offsetSize))).toEqual(expected);
    expect(reader.atEnd).toBe(true);
    // One byte short is an error, never a value read from past the end.
    if (bytes.length > 0) expect(() => readForm(r(bytes.slice(0, -1)), DW_FORM[name as keyof typeof DW_FORM], ctx(offsetSize))).toThrow(DwarfFormatError);
  });

  test('every form has a case above (DWARF 5 and the GNU extensions)', () => {
    expect(new Set(cases.map((c) => c[0]))).toEqual(new Set(Object.keys(DW_FORM).filter((f) => f !== 'implicit_const')));
  });

  test('big endian', () => {
    expect(readForm(r([1, 2, 3, 4], false), DW_FORM.data4, ctx(4))).toMatchObject({ value: 0x01020304n });
    expect(readForm(r([0, 0, 0, 9], false), DW_FORM.strp, ctx(4))).toEqual({ kind: 'strp', section: '.debug_str', offset: 9 });
  });

  test('implicit_const takes its value from the abbreviation, and no bytes', () => {
    const reader = r([]);
    expect(readForm(reader, DW_FORM.implicit_const, ctx(4), -3n)).toEqual({ kind: 'constant', value: -3n, signed: true, size: 0 });
    expect(() => readForm(r([]), DW_FORM.implicit_const, ctx(4))).toThrow(DwarfFormatError);
  });

  test('DWARF 2 writes ref_addr with the address size', () => {
    expect(readForm(r([9, 0, 0, 0, 0, 0, 0, 0]), DW_FORM.ref_addr, { version: 2, offsetSize: 4, addressSize: 8 })).toEqual({ kind: 'reference', offset: 9, base: 'section' });
  });

  test('unknown forms and endless indirection are errors', () => {
    expect(() => readForm(r([0]), 0x02, ctx(4))).toThrow(/unknown DW_FORM 0x2/);
    expect(() => readForm(r(new Array(20).fill(DW_FORM.indirect)), DW_FORM.indirect, ctx(4))).toThrow(/nested too deeply/);
  });

  test('constantOf', () => {
    expect(constantOf(readForm(r([0x7f]), DW_FORM.sdata, ctx(4)))).toBe(-1);
    expect(constantOf(readForm(r([1]), DW_FORM.strx1, ctx(4)))).toBeUndefined();
    expect(constantOf(undefined)).toBeUndefined();
  });
});

describe('a clang -g object', () => {
  test('its first compile unit header: DWARF 5, a compile unit, 8-byte addresses', () => {
    const elf = ElfFile.parse(fs.readFileSync(fixture('foreign_events')));
    const info = new ByteReader(elf.sectionData('.debug_info'));
    const { length, offsetSize } = info.initialLength();
    expect(offsetSize).toBe(4);
    const unit = info.sub(length);
    expect(unit.u16()).toBe(5); // version
    expect(unit.u8()).toBe(1); // DW_UT_compile
    expect(unit.u8()).toBe(8); // address size
    expect(unit.sectionOffset(offsetSize)).toBeLessThan(elf.sectionData('.debug_abbrev').length);
  });
});
