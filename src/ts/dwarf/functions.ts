// The functions DWARF describes (.debug_info, versions 2 to 5): each DW_TAG_subprogram
// with code, its address ranges (low_pc/high_pc or DW_AT_ranges) and its name as
// llvm-symbolizer reports it: DW_AT_linkage_name, else DW_AT_name, looked for through
// DW_AT_abstract_origin and DW_AT_specification. Sorted for binary search, so an address
// in a function the symbol table does not cover (a stripped binary's static functions,
// read from its debug file) still gets the function's name.
//
// Only subprogram DIEs (and each unit's root) have their attributes decoded; every other
// DIE is skipped form by form.
import { orderByStart } from '../elf/address-table';
import type { ElfSource } from '../elf/lazy-file';
import { ByteReader, DW_FORM as F, type FormContext, type FormValue, readForm, unitExtent } from './reader';

const DW_TAG_subprogram = 0x2e;
const DW_TAG_inlined_subroutine = 0x1d;
const DW_AT_name = 0x03;
const DW_AT_stmt_list = 0x10;
const DW_AT_comp_dir = 0x1b;
const DW_AT_low_pc = 0x11;
const DW_AT_high_pc = 0x12;
const DW_AT_abstract_origin = 0x31;
const DW_AT_call_file = 0x58;
const DW_AT_call_line = 0x59;
const DW_AT_declaration = 0x3c;
const DW_AT_specification = 0x47;
const DW_AT_ranges = 0x55;
const DW_AT_linkage_name = 0x6e;
const DW_AT_MIPS_linkage_name = 0x2007;
const DW_AT_str_offsets_base = 0x72;
const DW_AT_addr_base = 0x73;
const DW_AT_rnglists_base = 0x74;
const DW_AT_GNU_addr_base = 0x2133;
const DW_AT_GNU_ranges_base = 0x2132;
const TWO32 = 2 ** 32;
/** The attributes decoded (of subprograms and unit roots); others are skipped. */
const WANTED = new Set([
  DW_AT_name, DW_AT_low_pc, DW_AT_high_pc, DW_AT_abstract_origin, DW_AT_declaration, DW_AT_specification, DW_AT_ranges,
  DW_AT_linkage_name, DW_AT_MIPS_linkage_name, DW_AT_str_offsets_base, DW_AT_addr_base, DW_AT_rnglists_base,
  DW_AT_GNU_addr_base, DW_AT_GNU_ranges_base, DW_AT_stmt_list, DW_AT_call_file, DW_AT_call_line, DW_AT_comp_dir,
]);

interface Abbrev {
  tag: number;
  children: boolean;
  attrs: number[];
  forms: number[];
  consts: (bigint | undefined)[];
  /** Bytes of all its values when every form has a fixed size for this unit, else -1. */
  fixed: number;
}

interface Sections {
  info: Uint8Array;
  abbrev: Uint8Array;
  str?: Uint8Array;
  lineStr?: Uint8Array;
  strOffsets?: Uint8Array;
  addr?: Uint8Array;
  ranges?: Uint8Array;
  rnglists?: Uint8Array;
  aranges?: Uint8Array;
}

/** Names of subprogram DIEs by section offset, with the DIE they defer to. */
interface DieName {
  linkage?: string | number;
  name?: string | number;
  ref?: number;
}

/**
 * The scopes of one unit that inline code: subprograms with code and the
 * DW_TAG_inlined_subroutine DIEs inside them (nodes in DIE order, so a node's descendants
 * follow it), and the inlined ones' address ranges (entries, in node order).
 */
class UnitInlines {
  /** Enclosing subprogram or inlined node, -1 for none. */
  readonly parent: number[] = [];
  /** The inlined function's DIE (DW_AT_abstract_origin), -1 when unknown. */
  readonly origin: number[] = [];
  readonly callFile: number[] = [];
  readonly callLine: number[] = [];
  /** The node's own and its descendants' entries: [entryStart, entryEnd). */
  readonly entryStart: number[] = [];
  readonly entryEnd: number[] = [];
  readonly lo: number[] = [];
  readonly hi: number[] = [];
  readonly node: number[] = [];
  /** Subprogram DIE offset -> its node. */
  readonly byDie = new Map<number, number>();

  add(parent: number, origin: number, callFile: number, callLine: number): number {
    this.parent.push(parent);
    this.origin.push(origin);
    this.callFile.push(callFile);
    this.callLine.push(callLine);
    this.entryStart.push(this.lo.length);
    this.entryEnd.push(-1);
    return this.parent.length - 1;
  }

  range(node: number, lo: number, hi: number): void {
    this.lo.push(lo);
    this.hi.push(hi);
    this.node.push(node);
  }

  close(node: number): void {
    this.entryEnd[node] = this.lo.length;
  }

  /** The innermost inlined node of subprogram `sub` holding `address`, or -1. */
  innermost(sub: number, address: number): number {
    let best = -1;
    const end = this.entryEnd[sub] < 0 ? this.lo.length : this.entryEnd[sub];
    // The last entry in DIE order that holds the address is the deepest (children follow
    // their parent, siblings do not overlap).
    for (let k = this.entryStart[sub]; k < end; k++) if (this.lo[k] <= address && address < this.hi[k]) best = this.node[k];
    return best;
  }
}

/** Where a unit's line program is in .debug_line, and the unit's compilation directory. */
export interface LineProgram {
  offset: number;
  compDir?: string;
}

/** Longer prefixes of compressed sections (Infinity: all of it). */
interface MoreBytes {
  info?: (length: number) => Uint8Array;
  abbrev?: (length: number) => Uint8Array;
}

interface UnitInfo {
  stmtList?: number;
  compDir?: string | number;
  /** When given, the root DIE's address ranges are put here and the rest is not read. */
  rootSpans?: [number, number][];
}

/** A function inlined at an address: its name and where it was inlined (file number in the unit's line table). */
export interface InlinedCall {
  name: string | undefined;
  callFile: number;
  callLine: number;
}

/** The functions of one compilation unit, sorted by start. */
class UnitFunctions {
  readonly lo: Float64Array;
  readonly hi: Float64Array;
  readonly die: number[];
  readonly names: (string | null | undefined)[];

  constructor(ranges: { lo: number; hi: number; die: number }[]) {
    ranges.sort((a, b) => a.lo - b.lo || b.hi - a.hi);
    this.lo = Float64Array.from(ranges, (r) => r.lo);
    this.hi = Float64Array.from(ranges, (r) => r.hi);
    this.die = ranges.map((r) => r.die);
    this.names = new Array(ranges.length);
  }

  find(address: number): number {
    const lo = this.lo;
    let a = 0;
    let b = lo.length - 1;
    let i = -1;
    while (a <= b) {
      const mid = (a + b) >>> 1;
      if (lo[mid] <= address) {
        i = mid;
        a = mid + 1;
      } else {
        b = mid - 1;
      }
    }
    for (let k = i; k >= 0 && k > i - 8; k--) if (address < this.hi[k]) return k;
    return -1;
  }
}

/**
 * An address's function, found as llvm-symbolizer finds it: .debug_aranges names the unit
 * holding the address, and only that unit is read (once), so the first answer does not
 * wait for all of a large library's debug information. Without .debug_aranges (or for an
 * address it does not cover) every unit is read, once.
 */
export class FunctionTable {
  readonly #s: Sections;
  readonly #le: boolean;
  /** Offsets of all units in .debug_info, ascending (read when first needed: it inflates all of .debug_info). */
  #unitList: number[] | undefined;
  /** Units' end and offset size, by start. */
  readonly #headers = new Map<number, { end: number; offsetSize: 4 | 8 } | null>();
  /** More of a compressed section than was inflated so far (see ElfFile.sectionPrefix). */
  readonly #more: MoreBytes;
  readonly #units = new Map<number, UnitFunctions>();
  readonly #inlines = new Map<number, UnitInlines | null>();
  readonly #stmtLists = new Map<number, number>();
  readonly #compDirs = new Map<number, string>();
  readonly #names = new Map<number, DieName>();
  readonly #abbrevs = new Map<number, Map<number, Abbrev>>();
  readonly #fixed = new Map<string, Map<number, number>>();
  /** .debug_aranges: [lo, hi) -> unit offset, sorted by lo. */
  #arLo: Float64Array | undefined;
  #arHi = new Float64Array(0);
  #arUnit = new Float64Array(0);
  #all: UnitFunctions | undefined;

  private constructor(s: Sections, littleEndian: boolean, more: MoreBytes = {}) {
    this.#s = s;
    this.#le = littleEndian;
    this.#more = more;
  }

  /** .debug_info up to at least `end` (all of it for Infinity). */
  #info(end: number): Uint8Array {
    if (this.#s.info.length < end && this.#more.info) this.#s.info = this.#more.info(end);
    return this.#s.info;
  }

  /** Every unit's start (the whole of .debug_info is read for it). */
  #allUnits(): number[] {
    if (this.#unitList) return this.#unitList;
    const list: number[] = [];
    const r = new ByteReader(this.#info(Infinity), this.#le);
    while (r.remaining > 0) {
      const start = r.offset;
      try {
        const { length, offsetSize } = r.initialLength();
        r.skip(length);
        list.push(start);
        this.#headers.set(start, { end: r.offset, offsetSize });
      } catch {
        break;
      }
    }
    return (this.#unitList = list);
  }

  /** The unit at `start`: its end and offset size, reading only as far into .debug_info as it. */
  #header(start: number): { end: number; offsetSize: 4 | 8 } | undefined {
    let h = this.#headers.get(start);
    if (h === undefined) {
      h = null;
      const extent = unitExtent(this.#info(start + 12), start, this.#le);
      if (extent && this.#info(extent.end).length >= extent.end) h = extent;
      this.#headers.set(start, h);
    }
    return h ?? undefined;
  }

  /**
   * Reads one unit (see parseUnit), its abbreviation table read first from as little of a
   * compressed .debug_abbrev as holds it. Throws for a malformed unit.
   */
  #readUnit(start: number, pending: { lo: number; hi: number; die: number }[], unitInfo: UnitInfo, inl?: UnitInlines): void {
    const h = this.#header(start);
    if (!h) return;
    const r = new ByteReader(this.#s.info, this.#le, start, h.end);
    r.initialLength();
    const version = r.u16();
    if (version >= 2 && version <= 5) {
      const at = new ByteReader(r.bytes, r.littleEndian, r.offset, r.end);
      if (version >= 5) at.skip(2);
      const abbrevOffset = at.sectionOffset(h.offsetSize);
      if (!this.#abbrevs.has(abbrevOffset)) this.#abbrevs.set(abbrevOffset, this.#abbrevTable(abbrevOffset));
    }
    r.offset -= 2;
    parseUnit(r, start, h.offsetSize, this.#s, this.#abbrevs, this.#fixed, this.#names, pending, unitInfo, inl);
  }

  #abbrevTable(offset: number): Map<number, Abbrev> {
    // Tables are a few KB: 64 KB past the offset nearly always holds one; else all.
    if (this.#more.abbrev && this.#s.abbrev.length < offset + 65536) this.#s.abbrev = this.#more.abbrev(offset + 65536);
    try {
      return readAbbrevs(this.#s.abbrev, offset, this.#le);
    } catch (e) {
      if (!this.#more.abbrev) throw e;
      this.#s.abbrev = this.#more.abbrev(Infinity);
      return readAbbrevs(this.#s.abbrev, offset, this.#le);
    }
  }

  /**
   * The unit address index: .debug_aranges, or without it (clang does not write it by
   * default) the ranges of each unit's root DIE, read root only (as llvm-symbolizer does).
   */
  #aranges(): Float64Array {
    if (this.#arLo) return this.#arLo;
    const ar = this.#s.aranges ? readAranges(this.#s.aranges, this.#le) : this.#unitRanges();
    const n = ar.length;
    const lo = new Float64Array(n);
    for (let i = 0; i < n; i++) lo[i] = ar[i].lo;
    const order = orderByStart(lo);
    const sortedLo = new Float64Array(n);
    this.#arHi = new Float64Array(n);
    this.#arUnit = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      const x = ar[order[j]];
      sortedLo[j] = x.lo;
      this.#arHi[j] = x.hi;
      this.#arUnit[j] = x.unit;
    }
    return (this.#arLo = sortedLo);
  }

  #unitRanges(): { lo: number; hi: number; unit: number }[] {
    const out: { lo: number; hi: number; unit: number }[] = [];
    for (const start of this.#allUnits()) {
      const unitInfo: UnitInfo = { rootSpans: [] };
      try {
        this.#readUnit(start, [], unitInfo);
      } catch {
        continue;
      }
      this.#rootRead(start, unitInfo);
      for (const [lo, hi] of unitInfo.rootSpans!) if (hi > lo) out.push({ lo, hi, unit: start });
    }
    return out;
  }

  /** The functions of an ELF file's .debug_info, or undefined when it has none. */
  static fromElf(src: ElfSource): FunctionTable | undefined {
    const get = (name: string): Uint8Array | undefined => {
      const s = src.elf.section(name);
      return s && s.size > 0 ? src.sectionData(s) : undefined;
    };
    // .debug_info and .debug_abbrev as far as the units asked for (when compressed).
    const infoSection = src.elf.section('.debug_info');
    const abbrevSection = src.elf.section('.debug_abbrev');
    if (!infoSection?.size || !abbrevSection?.size) return undefined;
    const info = src.sectionPrefix(infoSection, 0);
    const abbrev = src.sectionPrefix(abbrevSection, 0);
    const more = {
      info: (n: number) => (n === Infinity ? src.sectionData(infoSection) : src.sectionPrefix(infoSection, n)),
      abbrev: (n: number) => (n === Infinity ? src.sectionData(abbrevSection) : src.sectionPrefix(abbrevSection, n)),
    };
    return new FunctionTable({
      info, abbrev, str: get('.debug_str'), lineStr: get('.debug_line_str'), strOffsets: get('.debug_str_offsets'),
      addr: get('.debug_addr'), ranges: get('.debug_ranges'), rnglists: get('.debug_rnglists'), aranges: get('.debug_aranges'),
    }, src.elf.littleEndian, more);
  }

  static parse(s: Sections, littleEndian = true): FunctionTable {
    return new FunctionTable(s, littleEndian);
  }

  /** The name of the function whose code holds `address` and its start, or undefined. */
  lookup(address: number): { name: string; start: number } | undefined {
    const unit = this.#unitFor(address);
    const fns = unit === undefined ? this.#everything() : this.#unit(unit);
    const i = fns.find(address);
    if (i < 0) return undefined;
    let name = fns.names[i];
    if (name === undefined) name = fns.names[i] = this.#resolve(fns.die[i]) ?? null;
    return name === null ? undefined : { name, start: fns.lo[i] };
  }

  /**
   * The offset in .debug_line of the line program of the unit holding `address` (found
   * through .debug_aranges), or undefined: then only a whole-table parse can tell.
   */
  lineProgramFor(address: number): LineProgram | undefined {
    const unit = this.#unitFor(address);
    if (unit === undefined) return undefined;
    if (!this.#stmtLists.has(unit) && !this.#units.has(unit)) {
      // The unit's root DIE only: its DW_AT_stmt_list and DW_AT_comp_dir.
      const unitInfo: UnitInfo = { rootSpans: [] };
      try {
        this.#readUnit(unit, [], unitInfo);
      } catch {
        return undefined;
      }
      this.#rootRead(unit, unitInfo);
    }
    return this.#lineProgram(unit);
  }

  /** Keeps what a unit's root DIE said (its line program and compilation directory). */
  #rootRead(unit: number, unitInfo: UnitInfo): void {
    if (unitInfo.stmtList !== undefined) this.#stmtLists.set(unit, unitInfo.stmtList);
    const dir = typeof unitInfo.compDir === 'number' ? cstrAt(unitInfo.compDir % 2 ? this.#s.lineStr : this.#s.str, Math.floor(unitInfo.compDir / 2)) : unitInfo.compDir;
    if (dir !== undefined) this.#compDirs.set(unit, dir);
  }

  #lineProgram(unit: number): LineProgram | undefined {
    const offset = this.#stmtLists.get(unit);
    return offset === undefined ? undefined : { offset, compDir: this.#compDirs.get(unit) };
  }

  /**
   * The functions inlined at `address`, innermost first, each with its call site (a file
   * number of the unit's line table, whose .debug_line offset is `lineProgram`); an empty
   * list when none is. Reads the unit's inlined subroutines the first time it is asked.
   */
  inlinedAt(address: number): { calls: InlinedCall[]; lineProgram: LineProgram | undefined } | undefined {
    let unit = this.#unitFor(address);
    let fns: UnitFunctions;
    let i: number;
    if (unit === undefined) {
      fns = this.#everything();
      i = fns.find(address);
      if (i < 0) return undefined;
      unit = this.#unitOf(fns.die[i]);
      if (unit === undefined) return undefined;
    } else {
      fns = this.#unit(unit);
      i = fns.find(address);
      if (i < 0) return undefined;
    }
    const inl = this.#unitInlines(unit);
    const sub = inl?.byDie.get(fns.die[i]);
    if (!inl || sub === undefined) return undefined;
    const calls: InlinedCall[] = [];
    for (let n = inl.innermost(sub, address), guard = 0; n >= 0 && n !== sub && guard < 256; n = inl.parent[n], guard++) {
      calls.push({ name: inl.origin[n] >= 0 ? this.#resolve(inl.origin[n]) : undefined, callFile: inl.callFile[n], callLine: inl.callLine[n] });
    }
    return { calls, lineProgram: this.#lineProgram(unit) };
  }

  /** The unit holding a DIE offset. */
  #unitOf(die: number): number | undefined {
    let unit: number | undefined;
    for (const u of this.#allUnits()) if (u <= die) unit = u;
    return unit;
  }

  #unitInlines(start: number): UnitInlines | undefined {
    let inl = this.#inlines.get(start);
    if (inl === undefined) {
      inl = this.#header(start) ? new UnitInlines() : null;
      if (inl) {
        try {
          this.#readUnit(start, [], {}, inl);
        } catch {
          // a malformed unit: the nodes read before stay
        }
      }
      this.#inlines.set(start, inl);
    }
    return inl ?? undefined;
  }

  #unitFor(address: number): number | undefined {
    const lo = this.#aranges();
    let a = 0;
    let b = lo.length - 1;
    let i = -1;
    while (a <= b) {
      const mid = (a + b) >>> 1;
      if (lo[mid] <= address) {
        i = mid;
        a = mid + 1;
      } else {
        b = mid - 1;
      }
    }
    for (let k = i; k >= 0 && k > i - 8; k--) if (address < this.#arHi[k]) return this.#arUnit[k];
    return undefined;
  }

  #unit(start: number): UnitFunctions {
    let fns = this.#units.get(start);
    if (!fns) {
      const pending: { lo: number; hi: number; die: number }[] = [];
      this.#parse(start, pending);
      fns = new UnitFunctions(pending);
      this.#units.set(start, fns);
    }
    return fns;
  }

  #everything(): UnitFunctions {
    if (!this.#all) {
      const pending: { lo: number; hi: number; die: number }[] = [];
      for (const start of this.#allUnits()) {
        const fns = this.#unit(start);
        for (let i = 0; i < fns.lo.length; i++) pending.push({ lo: fns.lo[i], hi: fns.hi[i], die: fns.die[i] });
      }
      this.#all = new UnitFunctions(pending);
    }
    return this.#all;
  }

  #parse(start: number, pending: { lo: number; hi: number; die: number }[]): void {
    const unitInfo: UnitInfo = {};
    try {
      this.#readUnit(start, pending, unitInfo);
      this.#rootRead(start, unitInfo);
    } catch {
      // a malformed unit: what was read before stays
    }
  }

  /** linkage name first, then name, each through the chain of references (across units). */
  #resolve(off: number): string | undefined {
    let linkage: string | number | undefined;
    let name: string | number | undefined;
    for (let o: number | undefined = off, depth = 0; o !== undefined && depth < 8; depth++) {
      let d = this.#names.get(o);
      if (!d) {
        // a DIE of a unit not read yet (DW_FORM_ref_addr)
        const unit = this.#unitOf(o);
        if (unit === undefined || this.#units.has(unit)) break;
        this.#unit(unit);
        d = this.#names.get(o);
        if (!d) break;
      }
      linkage ??= d.linkage;
      name ??= d.name;
      o = d.ref;
    }
    const v = linkage ?? name;
    return typeof v === 'number' ? cstrAt(v % 2 ? this.#s.lineStr : this.#s.str, Math.floor(v / 2)) : v;
  }
}

function readAranges(bytes: Uint8Array, le: boolean): { lo: number; hi: number; unit: number }[] {
  const out: { lo: number; hi: number; unit: number }[] = [];
  const r = new ByteReader(bytes, le);
  try {
    while (r.remaining > 0) {
      const setStart = r.offset;
      const { length, offsetSize } = r.initialLength();
      const set = r.sub(length);
      set.u16(); // version 2
      const unit = set.sectionOffset(offsetSize);
      const addressSize = set.u8();
      set.u8(); // segment selector size
      const align = 2 * addressSize;
      const pad = (align - ((set.offset - setStart) % align)) % align;
      set.skip(pad);
      if (addressSize === 8) {
        // The common case read straight from a DataView (a library has thousands of ranges).
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const [a, b] = le ? [0, 4] : [4, 0];
        let p = set.offset;
        for (; p + 16 <= set.end; p += 16) {
          const lo = view.getUint32(p + b, le) * TWO32 + view.getUint32(p + a, le);
          const len = view.getUint32(p + 8 + b, le) * TWO32 + view.getUint32(p + 8 + a, le);
          if (lo === 0 && len === 0) break;
          if (len > 0) out.push({ lo, hi: lo + len, unit });
        }
        continue;
      }
      while (set.remaining >= 2 * addressSize) {
        const lo = readAddr(set, addressSize);
        const len = readAddr(set, addressSize);
        if (lo === 0 && len === 0) break;
        if (len > 0) out.push({ lo, hi: lo + len, unit });
      }
    }
  } catch {
    // a malformed set ends the table
  }
  return out;
}

function readAbbrevs(bytes: Uint8Array, offset: number, le: boolean): Map<number, Abbrev> {
  const r = new ByteReader(bytes, le, offset);
  const out = new Map<number, Abbrev>();
  for (;;) {
    const code = r.uleb128();
    if (code === 0) break;
    const tag = r.uleb128();
    const children = r.u8() !== 0;
    const attrs: number[] = [];
    const forms: number[] = [];
    const consts: (bigint | undefined)[] = [];
    for (;;) {
      const at = r.uleb128();
      const form = r.uleb128();
      if (at === 0 && form === 0) break;
      attrs.push(at);
      forms.push(form);
      consts.push(form === F.implicit_const ? r.sleb128Big() : undefined);
    }
    out.set(code, { tag, children, attrs, forms, consts, fixed: -1 });
  }
  return out;
}

/** The bytes a DIE of these forms takes when all of them have a fixed size, else -1. */
function fixedSize(forms: number[], ctx: FormContext): number {
  let n = 0;
  for (const form of forms) {
    switch (form) {
      case F.flag_present: case F.implicit_const: break;
      case F.data1: case F.ref1: case F.flag: case F.strx1: case F.addrx1: n += 1; break;
      case F.data2: case F.ref2: case F.strx2: case F.addrx2: n += 2; break;
      case F.strx3: case F.addrx3: n += 3; break;
      case F.data4: case F.ref4: case F.strx4: case F.addrx4: case F.ref_sup4: n += 4; break;
      case F.data8: case F.ref8: case F.ref_sig8: case F.ref_sup8: n += 8; break;
      case F.data16: n += 16; break;
      case F.addr: n += ctx.addressSize; break;
      case F.strp: case F.line_strp: case F.sec_offset: case F.strp_sup: case F.GNU_strp_alt: case F.GNU_ref_alt: n += ctx.offsetSize; break;
      case F.ref_addr: n += ctx.version <= 2 ? ctx.addressSize : ctx.offsetSize; break;
      default: return -1;
    }
  }
  return n;
}

/** Skips one attribute value of `form` without making an object for it. */
function skipForm(r: ByteReader, form: number, ctx: FormContext): void {
  switch (form) {
    case F.flag_present: case F.implicit_const: return;
    case F.data1: case F.ref1: case F.flag: case F.strx1: case F.addrx1: r.skip(1); return;
    case F.data2: case F.ref2: case F.strx2: case F.addrx2: r.skip(2); return;
    case F.strx3: case F.addrx3: r.skip(3); return;
    case F.data4: case F.ref4: case F.strx4: case F.addrx4: case F.ref_sup4: r.skip(4); return;
    case F.data8: case F.ref8: case F.ref_sig8: case F.ref_sup8: r.skip(8); return;
    case F.data16: r.skip(16); return;
    case F.addr: r.skip(ctx.addressSize); return;
    case F.strp: case F.line_strp: case F.sec_offset: case F.strp_sup: case F.GNU_strp_alt: case F.GNU_ref_alt: r.skip(ctx.offsetSize); return;
    case F.ref_addr: r.skip(ctx.version <= 2 ? ctx.addressSize : ctx.offsetSize); return;
    case F.udata: case F.sdata: case F.ref_udata: case F.strx: case F.addrx: case F.loclistx: case F.rnglistx: case F.GNU_addr_index: case F.GNU_str_index:
      while (r.u8() & 0x80);
      return;
    case F.string: {
      const end = r.bytes.indexOf(0, r.offset);
      if (end < 0 || end >= r.end) r.fail('string is not NUL-terminated');
      r.offset = end + 1;
      return;
    }
    case F.block1: r.skip(r.u8()); return;
    case F.block2: r.skip(r.u16()); return;
    case F.block4: r.skip(r.u32()); return;
    case F.block: case F.exprloc: r.skip(r.uleb128()); return;
    default: readForm(r, form, ctx);
  }
}

function parseUnit(r: ByteReader, unitStart: number, offsetSize: 4 | 8, s: Sections, cache: Map<number, Map<number, Abbrev>>, fixedSizes: Map<string, Map<number, number>>, names: Map<number, DieName>, pending: { lo: number; hi: number; die: number }[], unitInfo: UnitInfo = {}, inl?: UnitInlines): void {
  const le = r.littleEndian;
  const version = r.u16();
  if (version < 2 || version > 5) return;
  let addressSize: number;
  let abbrevOffset: number;
  if (version >= 5) {
    const unitType = r.u8();
    addressSize = r.u8();
    abbrevOffset = r.sectionOffset(offsetSize);
    if (unitType === 2 || unitType === 6) return; // type units: no code
    if (unitType === 4 || unitType === 5) r.skip(8); // dwo_id
  } else {
    abbrevOffset = r.sectionOffset(offsetSize);
    addressSize = r.u8();
  }
  let abbrevs = cache.get(abbrevOffset);
  if (!abbrevs) {
    abbrevs = readAbbrevs(s.abbrev, abbrevOffset, le);
    cache.set(abbrevOffset, abbrevs);
  }
  const ctx: FormContext = { version, offsetSize, addressSize };
  // Sizes depend on the unit (address and offset size): computed per abbreviation table and unit kind.
  const sizeKey = `${abbrevOffset}:${version}:${offsetSize}:${addressSize}`;
  let fixed = fixedSizes.get(sizeKey);
  if (!fixed) {
    fixed = new Map();
    for (const [code, ab] of abbrevs) fixed.set(code, fixedSize(ab.forms, ctx));
    fixedSizes.set(sizeKey, fixed);
  }
  // The unit root's bases, for strx/addrx/rnglistx values and range lists.
  let base = 0;
  let strOffsetsBase = 8;
  let addrBase = 8;
  let rnglistsBase = 0;
  let rangesBase = 0;
  // A name as a string, or as where it is (offset * 2 + 0 for .debug_str, + 1 for
  // .debug_line_str): decoded only for the functions that end up in the table.
  const lazyStr = (v: FormValue): string | number | undefined => {
    if (v.kind === 'string') return v.value;
    if (v.kind === 'strp') return v.section === '.debug_str' ? v.offset * 2 : v.section === '.debug_line_str' ? v.offset * 2 + 1 : undefined;
    if (v.kind === 'strx' && s.strOffsets) return readOffset(s.strOffsets, strOffsetsBase + v.index * offsetSize, offsetSize, le) * 2;
    return undefined;
  };
  const address = (v: FormValue): number | undefined => {
    if (v.kind === 'address') return Number(v.value);
    if (v.kind === 'addrx' && s.addr) return readAddress(s.addr, addrBase + v.index * addressSize, addressSize, le);
    return undefined;
  };
  const ref = (v: FormValue): number | undefined => {
    if (v.kind !== 'reference' || v.base === 'sup') return undefined;
    return v.base === 'unit' ? unitStart + v.offset : v.offset;
  };

  let depth = 0;
  let first = true;
  // With `inl`: the open subprogram and inlined scopes, with the depth of their DIE.
  const scopeDepth: number[] = [];
  const scopeNode: number[] = [];
  try {
  while (r.remaining > 0) {
    const at = r.offset; // the DIE's offset in .debug_info (the reader spans the section)
    const code = r.uleb128();
    if (code === 0) {
      if (--depth <= 0 && !first) break;
      continue;
    }
    const ab = abbrevs.get(code);
    if (!ab) return;
    const isSub = ab.tag === DW_TAG_subprogram;
    const isInlined = inl !== undefined && ab.tag === DW_TAG_inlined_subroutine;
    if (inl) {
      while (scopeDepth.length > 0 && scopeDepth[scopeDepth.length - 1] >= depth) {
        scopeDepth.pop();
        inl.close(scopeNode.pop()!);
      }
    }
    if (first || isSub || isInlined) {
      let low: FormValue | undefined;
      let hi: FormValue | undefined;
      let ranges: FormValue | undefined;
      const d: DieName = {};
      let declaration = false;
      let callFile = 0;
      let callLine = 0;
      for (let i = 0; i < ab.attrs.length; i++) {
        const attr = ab.attrs[i];
        if (!WANTED.has(attr)) {
          skipForm(r, ab.forms[i], ctx);
          continue;
        }
        const v = readForm(r, ab.forms[i], ctx, ab.consts[i]);
        switch (attr) {
          case DW_AT_low_pc: low = v; break;
          case DW_AT_high_pc: hi = v; break;
          case DW_AT_ranges: ranges = v; break;
          case DW_AT_name: d.name = lazyStr(v); break;
          case DW_AT_linkage_name: case DW_AT_MIPS_linkage_name: d.linkage = lazyStr(v); break;
          case DW_AT_abstract_origin: case DW_AT_specification: d.ref = ref(v); break;
          case DW_AT_declaration: declaration = true; break;
          case DW_AT_call_file: if (v.kind === 'constant') callFile = Number(v.value); break;
          case DW_AT_call_line: if (v.kind === 'constant') callLine = Number(v.value); break;
          case DW_AT_str_offsets_base: if (v.kind === 'sectionOffset') strOffsetsBase = v.value; break;
          case DW_AT_addr_base: case DW_AT_GNU_addr_base: if (v.kind === 'sectionOffset') addrBase = v.value; break;
          case DW_AT_rnglists_base: if (v.kind === 'sectionOffset') rnglistsBase = v.value; break;
          case DW_AT_GNU_ranges_base: if (v.kind === 'sectionOffset') rangesBase = v.value; break;
          case DW_AT_comp_dir: if (first) unitInfo.compDir = lazyStr(v); break;
          case DW_AT_stmt_list:
            if (first && (v.kind === 'sectionOffset' || v.kind === 'constant')) unitInfo.stmtList = v.kind === 'constant' ? Number(v.value) : v.value;
            break;
        }
      }
      // (addresses resolved after the loop: the root's bases may follow its low_pc)
      const lo = low && address(low);
      if (first) {
        first = false;
        base = lo ?? 0;
        if (unitInfo.rootSpans) {
          if (lo !== undefined && hi) {
            const end = hi.kind === 'address' || hi.kind === 'addrx' ? address(hi) : hi.kind === 'constant' ? lo + Number(hi.value) : undefined;
            if (end !== undefined) unitInfo.rootSpans.push([lo, end]);
          } else if (ranges) {
            unitInfo.rootSpans.push(...rangeList(ranges, version, base, s, rnglistsBase, rangesBase, addrBase, addressSize, offsetSize, le));
          }
          return;
        }
      } else {
        const dieAt = at;
        const spans: [number, number][] = [];
        if (!declaration) {
          if (lo !== undefined && hi) {
            const end = hi.kind === 'address' || hi.kind === 'addrx' ? address(hi) : hi.kind === 'constant' ? lo + Number(hi.value) : undefined;
            if (end !== undefined) spans.push([lo, end]);
          } else if (ranges) {
            spans.push(...rangeList(ranges, version, base, s, rnglistsBase, rangesBase, addrBase, addressSize, offsetSize, le));
          }
        }
        if (isInlined) {
          const parent = scopeNode.length > 0 ? scopeNode[scopeNode.length - 1] : -1;
          const node = inl.add(parent, d.ref ?? -1, callFile, callLine);
          for (const [a, b] of spans) inl.range(node, a, b);
          if (ab.children) {
            scopeDepth.push(depth);
            scopeNode.push(node);
          } else {
            inl.close(node);
          }
        } else {
          names.set(dieAt, d);
          for (const [a, b] of spans) pending.push({ lo: a, hi: b, die: dieAt });
          if (inl && spans.length > 0) {
            const node = inl.add(-1, dieAt, 0, 0);
            inl.byDie.set(dieAt, node);
            if (ab.children) {
              scopeDepth.push(depth);
              scopeNode.push(node);
            } else {
              inl.close(node);
            }
          }
        }
      }
    } else {
      const n = fixed.get(code)!;
      if (n >= 0) r.skip(n);
      else for (let i = 0; i < ab.forms.length; i++) skipForm(r, ab.forms[i], ctx);
    }
    if (ab.children) depth++;
    else if (depth === 0) break; // a root without children
  }
  } finally {
    while (scopeNode.length > 0) inl?.close(scopeNode.pop()!);
  }
}

function rangeList(v: FormValue, version: number, base: number, s: Sections, rnglistsBase: number, rangesBase: number, addrBase: number, addressSize: number, offsetSize: 4 | 8, le: boolean): [number, number][] {
  const out: [number, number][] = [];
  if (version < 5) {
    if (v.kind !== 'sectionOffset' || !s.ranges) return out;
    const r = new ByteReader(s.ranges, le, v.value + rangesBase);
    for (;;) {
      const a = readAddr(r, addressSize);
      const b = readAddr(r, addressSize);
      if (a === 0 && b === 0) break;
      if (a === maxAddress(addressSize)) {
        base = b;
        continue;
      }
      out.push([base + a, base + b]);
    }
    return out;
  }
  if (!s.rnglists) return out;
  let offset: number;
  if (v.kind === 'sectionOffset') offset = v.value;
  else if (v.kind === 'rnglistx') offset = rnglistsBase + readOffset(s.rnglists, rnglistsBase + v.index * offsetSize, offsetSize, le);
  else return out;
  const r = new ByteReader(s.rnglists, le, offset);
  const addrx = (i: number): number => (s.addr ? readAddress(s.addr, addrBase + i * addressSize, addressSize, le) : 0);
  for (;;) {
    const kind = r.u8();
    switch (kind) {
      case 0: return out; // end_of_list
      case 1: base = addrx(r.uleb128()); break; // base_addressx
      case 2: { const a = addrx(r.uleb128()); const b = addrx(r.uleb128()); out.push([a, b]); break; }
      case 3: { const a = addrx(r.uleb128()); out.push([a, a + r.uleb128()]); break; }
      case 4: { const a = r.uleb128(); const b = r.uleb128(); out.push([base + a, base + b]); break; }
      case 5: base = readAddr(r, addressSize); break;
      case 6: { const a = readAddr(r, addressSize); out.push([a, readAddr(r, addressSize)]); break; }
      case 7: { const a = readAddr(r, addressSize); out.push([a, a + r.uleb128()]); break; }
      default: return out;
    }
  }
}

function maxAddress(size: number): number {
  return size === 8 ? 2 ** 64 : 2 ** (8 * size) - 1;
}

function readAddr(r: ByteReader, size: number): number {
  if (size !== 8) return r.uint(size);
  const a = r.u32();
  const b = r.u32();
  return r.littleEndian ? b * TWO32 + a : a * TWO32 + b;
}

function readAddress(bytes: Uint8Array, at: number, size: number, le: boolean): number {
  return readAddr(new ByteReader(bytes, le, at), size);
}

function readOffset(bytes: Uint8Array, at: number, size: 4 | 8, le: boolean): number {
  return new ByteReader(bytes, le, at).sectionOffset(size);
}

function cstrAt(bytes: Uint8Array | undefined, offset: number): string | undefined {
  if (!bytes || offset >= bytes.length) return undefined;
  let end = bytes.indexOf(0, offset);
  if (end < 0) end = bytes.length;
  return Buffer.from(bytes.buffer, bytes.byteOffset + offset, end - offset).toString('utf8');
}
