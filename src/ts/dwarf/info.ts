// The debugging information entries of .debug_info (DWARF 2..5): unit headers, abbreviation
// tables, and the DIE tree of each compile unit with its attributes, strings resolved
// (.debug_str, .debug_str_offsets, inline). Enough to read types; locations, ranges and
// line tables are left as the raw form values.
//
// Malformed input gives DwarfFormatError: every read is bounds-checked (reader.ts), every
// DIE takes at least one byte, nesting is limited, so a loop always ends.
import type { ElfFile } from '../elf/file';
import { ByteReader, DwarfFormatError, readForm, type FormContext, type FormValue, type OffsetSize } from './reader';

export const DW_TAG = {
  array_type: 0x01, class_type: 0x02, enumeration_type: 0x04, member: 0x0d, pointer_type: 0x0f,
  reference_type: 0x10, compile_unit: 0x11, structure_type: 0x13, subroutine_type: 0x15, typedef: 0x16,
  union_type: 0x17, subrange_type: 0x21, base_type: 0x24, const_type: 0x26, enumerator: 0x28,
  volatile_type: 0x35, restrict_type: 0x37, unspecified_type: 0x3b, partial_unit: 0x3c, atomic_type: 0x47,
} as const;

export const DW_AT = {
  sibling: 0x01, name: 0x03, byte_size: 0x0b, bit_offset: 0x0c, bit_size: 0x0d, const_value: 0x1c,
  upper_bound: 0x2f, count: 0x37, data_member_location: 0x38, declaration: 0x3c, encoding: 0x3e,
  type: 0x49, data_bit_offset: 0x6b, str_offsets_base: 0x72,
} as const;

/** Nesting deeper than this is taken for garbage (clang's type DIEs nest a few levels). */
const MAX_DEPTH = 256;

export interface Abbrev {
  readonly tag: number;
  readonly children: boolean;
  readonly attrs: readonly { at: number; form: number; implicitConst?: bigint }[];
}

/**
 * A DIE's attributes: the Map-like view of two parallel arrays (a DIE has a handful, and a
 * Map per DIE made parsing a kernel-typed object's ~24k DIEs mostly garbage collection).
 */
export class Attributes implements Pick<ReadonlyMap<number, FormValue>, 'get' | 'has' | 'size'> {
  constructor(private readonly ats: number[], private readonly values: FormValue[]) {}

  get size(): number {
    return this.ats.length;
  }

  get(at: number): FormValue | undefined {
    const i = this.ats.indexOf(at);
    return i < 0 ? undefined : this.values[i];
  }

  has(at: number): boolean {
    return this.ats.includes(at);
  }

  *[Symbol.iterator](): IterableIterator<[number, FormValue]> {
    for (let i = 0; i < this.ats.length; i++) yield [this.ats[i], this.values[i]];
  }
}

export interface Die {
  /** Offset in .debug_info: what DW_FORM_ref_addr and unit-relative references (plus the unit's offset) point at. */
  readonly offset: number;
  readonly tag: number;
  readonly attrs: Attributes;
  readonly children: Die[];
  readonly unit: Unit;
}

export interface Unit {
  /** Offset of the unit header in .debug_info. */
  readonly offset: number;
  readonly version: number;
  readonly ctx: FormContext;
  /** The compile unit's DIE (undefined for type and skeleton units, which are not read). */
  root: Die | undefined;
  /** DW_AT_str_offsets_base (DWARF 5), or 8 (the first entry after the table's header). */
  strOffsetsBase: number;
}

/** Reads .debug_abbrev's table at `offset`: abbreviation code -> shape. */
export function readAbbrevs(bytes: Uint8Array, offset: number, le = true): Map<number, Abbrev> {
  const r = new ByteReader(bytes, le).at(offset);
  const out = new Map<number, Abbrev>();
  while (!r.atEnd) {
    const code = r.uleb128();
    if (code === 0) break;
    const tag = r.uleb128();
    const children = r.u8() !== 0;
    const attrs: { at: number; form: number; implicitConst?: bigint }[] = [];
    for (;;) {
      const at = r.uleb128();
      const form = r.uleb128();
      if (at === 0 && form === 0) break;
      attrs.push(form === 0x21 ? { at, form, implicitConst: r.sleb128Big() } : { at, form });
    }
    out.set(code, { tag, children, attrs });
  }
  return out;
}

/** The .debug_* sections of an ELF file, and its compile units read on demand. */
export class DebugInfo {
  readonly info: Uint8Array;
  readonly abbrev: Uint8Array;
  readonly str: Uint8Array;
  readonly strOffsets: Uint8Array;
  readonly littleEndian: boolean;
  private unitList: Unit[] | undefined;
  private readonly byOffset = new Map<number, Die>();
  private readonly abbrevTables = new Map<number, Map<number, Abbrev>>();

  /** undefined when the file has no .debug_info (stripped, or built without -g). */
  static of(elf: ElfFile): DebugInfo | undefined {
    if (!elf.section('.debug_info')?.size) return undefined; // none, or emptied by stripSections()
    const data = (name: string): Uint8Array => (elf.section(name) ? elf.sectionData(name) : new Uint8Array(0));
    return new DebugInfo(data('.debug_info'), data('.debug_abbrev'), data('.debug_str'), data('.debug_str_offsets'), elf.littleEndian);
  }

  constructor(info: Uint8Array, abbrev: Uint8Array, str: Uint8Array, strOffsets: Uint8Array, littleEndian = true) {
    this.info = info;
    this.abbrev = abbrev;
    this.str = str;
    this.strOffsets = strOffsets;
    this.littleEndian = littleEndian;
  }

  /** Every compile unit, with its DIE tree (read once). */
  units(): Unit[] {
    if (this.unitList) return this.unitList;
    const list: Unit[] = [];
    const r = new ByteReader(this.info, this.littleEndian);
    while (r.remaining > 0) {
      const offset = r.offset;
      const { length, offsetSize } = r.initialLength();
      const body = r.sub(length);
      const unit = this.readUnit(offset, body, offsetSize);
      if (unit) list.push(unit);
    }
    this.unitList = list;
    return list;
  }

  /** The DIE at a .debug_info offset (after units() read them). */
  dieAt(offset: number): Die | undefined {
    this.units();
    return this.byOffset.get(offset);
  }

  /** The DIE an attribute refers to, or undefined (no such attribute, or a reference out of this file). */
  ref(die: Die, at: number): Die | undefined {
    const v = die.attrs.get(at);
    if (!v || v.kind !== 'reference' || v.base === 'sup') return undefined;
    return this.dieAt(v.base === 'unit' ? die.unit.offset + v.offset : v.offset);
  }

  /** The string value of an attribute (inline, strp or strx), or undefined. */
  string(die: Die, at: number): string | undefined {
    const v = die.attrs.get(at);
    if (!v) return undefined;
    if (v.kind === 'string') return v.value;
    if (v.kind === 'strp' && v.section === '.debug_str') return this.strAt(v.offset);
    if (v.kind === 'strx') {
      const size = die.unit.ctx.offsetSize;
      const r = new ByteReader(this.strOffsets, this.littleEndian).at(die.unit.strOffsetsBase + v.index * size);
      return this.strAt(r.sectionOffset(size));
    }
    return undefined;
  }

  private strAt(offset: number): string {
    return new ByteReader(this.str, this.littleEndian).at(offset).cstr();
  }

  private readUnit(offset: number, r: ByteReader, offsetSize: OffsetSize): Unit | undefined {
    const version = r.u16();
    if (version < 2 || version > 5) r.fail(`unsupported DWARF version ${version}`);
    let unitType = 1; // DW_UT_compile
    let addressSize: number;
    let abbrevOffset: number;
    if (version >= 5) {
      unitType = r.u8();
      addressSize = r.u8();
      abbrevOffset = r.sectionOffset(offsetSize);
    } else {
      abbrevOffset = r.sectionOffset(offsetSize);
      addressSize = r.u8();
    }
    if (addressSize !== 4 && addressSize !== 8) r.fail(`unsupported address size ${addressSize}`);
    const unit: Unit = { offset, version, ctx: { version, offsetSize, addressSize }, root: undefined, strOffsetsBase: 8 };
    if (unitType !== 1 && unitType !== 3) return unit; // type, skeleton and split units: not read
    const abbrevs = this.abbrevsAt(abbrevOffset);
    unit.root = this.readDies(r, abbrevs, unit);
    return unit;
  }

  private abbrevsAt(offset: number): Map<number, Abbrev> {
    let table = this.abbrevTables.get(offset);
    if (!table) {
      table = readAbbrevs(this.abbrev, offset, this.littleEndian);
      this.abbrevTables.set(offset, table);
    }
    return table;
  }

  // The unit's DIEs, as a tree; a stack instead of recursion.
  private readDies(r: ByteReader, abbrevs: Map<number, Abbrev>, unit: Unit): Die | undefined {
    let root: Die | undefined;
    const stack: Die[] = [];
    while (!r.atEnd) {
      const offset = r.offset; // r reads this.info itself (a sub-range of it)
      const code = r.uleb128();
      if (code === 0) {
        stack.pop();
        if (stack.length === 0 && root) break;
        continue;
      }
      const abbrev = abbrevs.get(code);
      if (!abbrev) r.fail(`unknown abbreviation code ${code}`);
      const ats: number[] = [];
      const values: FormValue[] = [];
      for (const a of abbrev.attrs) {
        ats.push(a.at);
        values.push(readForm(r, a.form, unit.ctx, a.implicitConst));
      }
      const attrs = new Attributes(ats, values);
      const die: Die = { offset, tag: abbrev.tag, attrs, children: [], unit };
      this.byOffset.set(offset, die);
      if (stack.length > 0) stack[stack.length - 1].children.push(die);
      else if (!root) {
        root = die;
        const base = attrs.get(DW_AT.str_offsets_base);
        if (base?.kind === 'sectionOffset') unit.strOffsetsBase = base.value;
      } else break; // a second top-level DIE: not DWARF clang writes
      if (abbrev.children) {
        if (stack.length >= MAX_DEPTH) throw new DwarfFormatError(`malformed DWARF: DIEs nested deeper than ${MAX_DEPTH} (at offset ${offset})`);
        stack.push(die);
      } else if (stack.length === 0) break;
    }
    return root;
  }
}
