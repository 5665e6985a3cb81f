// Reading DWARF: a bounds-checked byte reader (fixed-size integers, LEB128, C strings, 32/64-bit
// DWARF offsets and initial lengths) and the value of an attribute in any DW_FORM of DWARF 2..5
// (plus the GNU split-DWARF forms). Nothing here resolves a value against other sections: a
// strx is an index into .debug_str_offsets, a strp an offset into .debug_str, and so on; the
// caller, who knows the unit's bases, looks them up.
//
// Every read checks the bounds and throws DwarfFormatError past the end, so a truncated or
// garbage section never reads out of bounds; LEB128 stops after 10 bytes.

/** The input is not well-formed DWARF (the message says what and at which offset). */
export class DwarfFormatError extends Error {
  override name = 'DwarfFormatError';
}

/** Offsets are 4 bytes in 32-bit DWARF and 8 in 64-bit DWARF (initial length 0xffffffff). */
export type OffsetSize = 4 | 8;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A cursor over bytes: every read advances `offset` and checks it stays inside `end`. */
export class ByteReader {
  private readonly view: DataView;
  /** Position of the next read, relative to the start of `bytes`. */
  offset: number;
  /** The reader does not read at or past this position. */
  readonly end: number;

  constructor(readonly bytes: Uint8Array, readonly littleEndian = true, offset = 0, end = bytes.length) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (!Number.isInteger(offset) || !Number.isInteger(end) || offset < 0 || end > bytes.length || offset > end) {
      throw new DwarfFormatError(`malformed DWARF: range ${offset}..${end} lies outside ${bytes.length} bytes`);
    }
    this.offset = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  get atEnd(): boolean {
    return this.offset >= this.end;
  }

  /** A reader over the next `length` bytes (which this one skips). */
  sub(length: number): ByteReader {
    this.need(length, 'sub-range');
    const r = new ByteReader(this.bytes, this.littleEndian, this.offset, this.offset + length);
    this.offset += length;
    return r;
  }

  /** A reader over the same bytes, starting at `offset` (checked against this reader's end). */
  at(offset: number): ByteReader {
    if (!Number.isInteger(offset) || offset < 0 || offset > this.end) this.fail(`offset ${offset} is outside 0..${this.end}`);
    return new ByteReader(this.bytes, this.littleEndian, offset, this.end);
  }

  skip(n: number): void {
    this.need(n, 'skip');
    this.offset += n;
  }

  u8(): number {
    this.need(1, 'u8');
    return this.bytes[this.offset++];
  }

  u16(): number {
    this.need(2, 'u16');
    const v = this.view.getUint16(this.offset, this.littleEndian);
    this.offset += 2;
    return v;
  }

  /** A 3-byte unsigned integer (DW_FORM_strx3, addrx3). */
  u24(): number {
    this.need(3, 'u24');
    const [a, b, c] = [this.bytes[this.offset], this.bytes[this.offset + 1], this.bytes[this.offset + 2]];
    this.offset += 3;
    return this.littleEndian ? a | (b << 8) | (c << 16) : (a << 16) | (b << 8) | c;
  }

  u32(): number {
    this.need(4, 'u32');
    const v = this.view.getUint32(this.offset, this.littleEndian);
    this.offset += 4;
    return v;
  }

  u64(): bigint {
    this.need(8, 'u64');
    const v = this.view.getBigUint64(this.offset, this.littleEndian);
    this.offset += 8;
    return v;
  }

  s8(): number {
    const v = this.u8();
    return v >= 0x80 ? v - 0x100 : v;
  }

  /** An unsigned integer of `size` bytes (1, 2, 4 or 8) as a number; throws past 2^53. */
  uint(size: number): number {
    switch (size) {
      case 1: return this.u8();
      case 2: return this.u16();
      case 4: return this.u32();
      case 8: return this.safe(this.u64(), 'u64');
      default: return this.fail(`unsupported integer size ${size}`);
    }
  }

  bytesOf(n: number): Uint8Array {
    this.need(n, 'block');
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  /** Unsigned LEB128 as a bigint (at most 10 bytes, i.e. 64 bits and a bit). */
  uleb128Big(): bigint {
    let result = 0n;
    for (let shift = 0n, i = 0; i < 10; i++, shift += 7n) {
      const b = this.u8();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
    return this.fail('LEB128 longer than 10 bytes');
  }

  /** Signed LEB128 as a bigint. */
  sleb128Big(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.u8();
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) return (b & 0x40) !== 0 ? result - (1n << shift) : result;
    }
    return this.fail('LEB128 longer than 10 bytes');
  }

  /** Unsigned LEB128 as a number; throws when it is past 2^53 (sizes, counts, offsets, codes). */
  uleb128(): number {
    // The common case (< 2^28) without bigints.
    let result = 0;
    const start = this.offset;
    for (let shift = 0; shift < 28; shift += 7) {
      const b = this.u8();
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
    }
    this.offset = start;
    return this.safe(this.uleb128Big(), 'ULEB128');
  }

  /** Signed LEB128 as a number; throws outside +-2^53. */
  sleb128(): number {
    const v = this.sleb128Big();
    if (v > MAX_SAFE || v < -MAX_SAFE) this.fail(`SLEB128 ${v} is outside the safe integer range`);
    return Number(v);
  }

  /** A NUL-terminated string (UTF-8). */
  cstr(): string {
    const end = this.bytes.indexOf(0, this.offset);
    if (end < 0 || end >= this.end) this.fail('string is not NUL-terminated');
    const s = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.offset, end - this.offset).toString('utf8');
    this.offset = end + 1;
    return s;
  }

  /** A section offset of the unit's offset size (4 or 8 bytes). */
  sectionOffset(size: OffsetSize): number {
    return size === 4 ? this.u32() : this.safe(this.u64(), 'offset');
  }

  /**
   * A unit's initial length: 4 bytes, or 0xffffffff and 8 more in 64-bit DWARF. Returns the
   * length (checked to fit in what is left) and the offset size it implies.
   */
  initialLength(): { length: number; offsetSize: OffsetSize } {
    const first = this.u32();
    let length: number;
    let offsetSize: OffsetSize = 4;
    if (first === 0xffffffff) {
      length = this.safe(this.u64(), 'initial length');
      offsetSize = 8;
    } else if (first >= 0xfffffff0) {
      return this.fail(`reserved initial length 0x${first.toString(16)}`);
    } else {
      length = first;
    }
    if (length > this.remaining) this.fail(`unit length ${length} runs past the end (${this.remaining} bytes left)`);
    return { length, offsetSize };
  }

  fail(message: string): never {
    throw new DwarfFormatError(`malformed DWARF: ${message} (at offset ${this.offset})`);
  }

  private need(n: number, what: string): void {
    if (!Number.isInteger(n) || n < 0 || this.offset + n > this.end) {
      this.fail(`${what} of ${n} bytes runs past the end (${this.end - this.offset} bytes left)`);
    }
  }

  private safe(v: bigint, what: string): number {
    if (v > MAX_SAFE) this.fail(`${what} ${v} is larger than 2^53`);
    return Number(v);
  }
}

/** DW_FORM_* codes (DWARF 5, section 7.5.6), with the GNU extensions. */
export const DW_FORM = {
  addr: 0x01, block2: 0x03, block4: 0x04, data2: 0x05, data4: 0x06, data8: 0x07, string: 0x08,
  block: 0x09, block1: 0x0a, data1: 0x0b, flag: 0x0c, sdata: 0x0d, strp: 0x0e, udata: 0x0f,
  ref_addr: 0x10, ref1: 0x11, ref2: 0x12, ref4: 0x13, ref8: 0x14, ref_udata: 0x15, indirect: 0x16,
  sec_offset: 0x17, exprloc: 0x18, flag_present: 0x19, strx: 0x1a, addrx: 0x1b, ref_sup4: 0x1c,
  strp_sup: 0x1d, data16: 0x1e, line_strp: 0x1f, ref_sig8: 0x20, implicit_const: 0x21,
  loclistx: 0x22, rnglistx: 0x23, ref_sup8: 0x24, strx1: 0x25, strx2: 0x26, strx3: 0x27,
  strx4: 0x28, addrx1: 0x29, addrx2: 0x2a, addrx3: 0x2b, addrx4: 0x2c,
  GNU_addr_index: 0x1f01, GNU_str_index: 0x1f02, GNU_ref_alt: 0x1f20, GNU_strp_alt: 0x1f21,
} as const;

/** What a form's value needs from its unit. */
export interface FormContext {
  /** DWARF version of the unit (2..5). */
  readonly version: number;
  readonly offsetSize: OffsetSize;
  /** Size of a target address (8 for BPF). */
  readonly addressSize: number;
}

/**
 * An attribute value, by form class. Constants keep their raw bits (`signed` says whether the
 * form itself is signed: sdata, implicit_const); a data1..data8 value is unsigned as read, and
 * the attribute's meaning decides whether to sign-extend it.
 */
export type FormValue =
  | { readonly kind: 'constant'; readonly value: bigint; readonly signed: boolean; readonly size: number }
  | { readonly kind: 'address'; readonly value: bigint }
  /** An index into .debug_addr from the unit's DW_AT_addr_base. */
  | { readonly kind: 'addrx'; readonly index: number }
  | { readonly kind: 'string'; readonly value: string }
  /** An offset into .debug_str (strp), .debug_line_str (line_strp) or the supplementary file (sup). */
  | { readonly kind: 'strp'; readonly section: '.debug_str' | '.debug_line_str' | 'sup'; readonly offset: number }
  /** An index into .debug_str_offsets from the unit's DW_AT_str_offsets_base. */
  | { readonly kind: 'strx'; readonly index: number }
  /** A DIE: unit-relative (ref1..ref_udata), .debug_info-relative (ref_addr), or in the supplementary file. */
  | { readonly kind: 'reference'; readonly offset: number; readonly base: 'unit' | 'section' | 'sup' }
  | { readonly kind: 'signature'; readonly value: bigint }
  | { readonly kind: 'flag'; readonly value: boolean }
  | { readonly kind: 'block'; readonly value: Uint8Array }
  | { readonly kind: 'exprloc'; readonly value: Uint8Array }
  /** An offset into another section (line table, location/range lists, ...). */
  | { readonly kind: 'sectionOffset'; readonly value: number }
  | { readonly kind: 'loclistx' | 'rnglistx'; readonly index: number }
  /** 16 bytes (DW_FORM_data16: MD5 sums in line tables, 128-bit constants). */
  | { readonly kind: 'data16'; readonly value: Uint8Array };

/**
 * Reads the value of one attribute of form `form` at the reader's position. `implicitConst` is
 * the value stored in the abbreviation for DW_FORM_implicit_const (it takes no bytes here).
 * Throws DwarfFormatError for an unknown form or a value that runs past the end.
 */
export function readForm(r: ByteReader, form: number, ctx: FormContext, implicitConst?: bigint): FormValue {
  return read(r, form, ctx, implicitConst, 0);
}

function constant(value: bigint, size: number, signed = false): FormValue {
  return { kind: 'constant', value, signed, size };
}

function read(r: ByteReader, form: number, ctx: FormContext, implicitConst: bigint | undefined, depth: number): FormValue {
  const F = DW_FORM;
  switch (form) {
    case F.addr: return { kind: 'address', value: ctx.addressSize === 8 ? r.u64() : BigInt(r.uint(ctx.addressSize)) };
    case F.data1: return constant(BigInt(r.u8()), 1);
    case F.data2: return constant(BigInt(r.u16()), 2);
    case F.data4: return constant(BigInt(r.u32()), 4);
    case F.data8: return constant(r.u64(), 8);
    case F.sdata: return constant(r.sleb128Big(), 0, true);
    case F.udata: return constant(r.uleb128Big(), 0);
    case F.implicit_const:
      if (implicitConst === undefined) return r.fail('DW_FORM_implicit_const without its value from the abbreviation');
      return constant(implicitConst, 0, true);
    case F.data16: return { kind: 'data16', value: r.bytesOf(16) };
    case F.string: return { kind: 'string', value: r.cstr() };
    case F.strp: return { kind: 'strp', section: '.debug_str', offset: r.sectionOffset(ctx.offsetSize) };
    case F.line_strp: return { kind: 'strp', section: '.debug_line_str', offset: r.sectionOffset(ctx.offsetSize) };
    case F.strp_sup:
    case F.GNU_strp_alt: return { kind: 'strp', section: 'sup', offset: r.sectionOffset(ctx.offsetSize) };
    case F.strx:
    case F.GNU_str_index: return { kind: 'strx', index: r.uleb128() };
    case F.strx1: return { kind: 'strx', index: r.u8() };
    case F.strx2: return { kind: 'strx', index: r.u16() };
    case F.strx3: return { kind: 'strx', index: r.u24() };
    case F.strx4: return { kind: 'strx', index: r.u32() };
    case F.addrx:
    case F.GNU_addr_index: return { kind: 'addrx', index: r.uleb128() };
    case F.addrx1: return { kind: 'addrx', index: r.u8() };
    case F.addrx2: return { kind: 'addrx', index: r.u16() };
    case F.addrx3: return { kind: 'addrx', index: r.u24() };
    case F.addrx4: return { kind: 'addrx', index: r.u32() };
    case F.ref1: return { kind: 'reference', offset: r.u8(), base: 'unit' };
    case F.ref2: return { kind: 'reference', offset: r.u16(), base: 'unit' };
    case F.ref4: return { kind: 'reference', offset: r.u32(), base: 'unit' };
    case F.ref8: return { kind: 'reference', offset: r.uint(8), base: 'unit' };
    case F.ref_udata: return { kind: 'reference', offset: r.uleb128(), base: 'unit' };
    // DWARF 2 wrote ref_addr with the address size; 3 and later with the offset size.
    case F.ref_addr: return { kind: 'reference', offset: ctx.version <= 2 ? r.uint(ctx.addressSize) : r.sectionOffset(ctx.offsetSize), base: 'section' };
    case F.ref_sup4: return { kind: 'reference', offset: r.u32(), base: 'sup' };
    case F.ref_sup8: return { kind: 'reference', offset: r.uint(8), base: 'sup' };
    case F.GNU_ref_alt: return { kind: 'reference', offset: r.sectionOffset(ctx.offsetSize), base: 'sup' };
    case F.ref_sig8: return { kind: 'signature', value: r.u64() };
    case F.flag: return { kind: 'flag', value: r.u8() !== 0 };
    case F.flag_present: return { kind: 'flag', value: true };
    case F.block1: return { kind: 'block', value: r.bytesOf(r.u8()) };
    case F.block2: return { kind: 'block', value: r.bytesOf(r.u16()) };
    case F.block4: return { kind: 'block', value: r.bytesOf(r.u32()) };
    case F.block: return { kind: 'block', value: r.bytesOf(r.uleb128()) };
    case F.exprloc: return { kind: 'exprloc', value: r.bytesOf(r.uleb128()) };
    case F.sec_offset: return { kind: 'sectionOffset', value: r.sectionOffset(ctx.offsetSize) };
    case F.loclistx: return { kind: 'loclistx', index: r.uleb128() };
    case F.rnglistx: return { kind: 'rnglistx', index: r.uleb128() };
    case F.indirect: {
      // The form is in the data; an indirect form naming indirect again is legal but pointless.
      if (depth > 4) return r.fail('DW_FORM_indirect nested too deeply');
      const inner = r.uleb128();
      return read(r, inner, ctx, implicitConst, depth + 1);
    }
    default: return r.fail(`unknown DW_FORM 0x${form.toString(16)}`);
  }
}

/** The value of a constant-class form as a number, or undefined for other classes (or past 2^53). */
export function constantOf(v: FormValue | undefined): number | undefined {
  if (!v || v.kind !== 'constant') return undefined;
  const n = v.value;
  return n <= MAX_SAFE && n >= -MAX_SAFE ? Number(n) : undefined;
}

/**
 * Where the unit (or line program) at `offset` ends and its offset size, from its initial
 * length alone: `head` needs only its first 4 or 12 bytes there (a prefix of a compressed
 * section will do). Undefined when those bytes are missing or the length is reserved.
 */
export function unitExtent(head: Uint8Array, offset: number, littleEndian: boolean): { end: number; offsetSize: OffsetSize } | undefined {
  if (offset < 0 || offset + 4 > head.length) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const first = view.getUint32(offset, littleEndian);
  if (first < 0xfffffff0) return { end: offset + 4 + first, offsetSize: 4 };
  if (first !== 0xffffffff || offset + 12 > head.length) return undefined;
  const a = view.getUint32(offset + 4, littleEndian);
  const b = view.getUint32(offset + 8, littleEndian);
  return { end: offset + 12 + (littleEndian ? b * 2 ** 32 + a : a * 2 ** 32 + b), offsetSize: 8 };
}
