// DWARF line tables (.debug_line, versions 2 to 5): every unit's line-number program run
// into rows (address, file, line), kept per sequence and sorted, so an address finds its
// source position with two binary searches. The row for an address is the last row at or
// before it within the sequence holding it, as llvm-symbolizer and addr2line choose it.
import type { ElfSource } from '../elf/lazy-file';
import { ByteReader, type FormContext, readForm, unitExtent } from './reader';

const DW_LNS_copy = 1;
const DW_LNS_advance_pc = 2;
const DW_LNS_advance_line = 3;
const DW_LNS_set_file = 4;
const DW_LNS_set_column = 5;
const DW_LNS_negate_stmt = 6;
const DW_LNS_set_basic_block = 7;
const DW_LNS_const_add_pc = 8;
const DW_LNS_fixed_advance_pc = 9;
const DW_LNE_end_sequence = 1;
const DW_LNE_set_address = 2;
const DW_LNE_define_file = 3;
const DW_LNCT_path = 1;
const DW_LNCT_directory_index = 2;
const TWO32 = 2 ** 32;

export interface LineRow {
  file: string;
  line: number;
}

/** Column-wise storage that grows. */
class Rows {
  address = new Float64Array(1024);
  file = new Int32Array(1024);
  line = new Int32Array(1024);
  length = 0;

  push(address: number, file: number, line: number): void {
    if (this.length === this.address.length) {
      const cap = this.length * 2;
      const a = new Float64Array(cap);
      a.set(this.address);
      this.address = a;
      const f = new Int32Array(cap);
      f.set(this.file);
      this.file = f;
      const l = new Int32Array(cap);
      l.set(this.line);
      this.line = l;
    }
    this.address[this.length] = address;
    this.file[this.length] = file;
    this.line[this.length] = line;
    this.length++;
  }
}

/** A one-unit table's file numbering: its files' indices in the table, the first file number, its compilation directory. */
interface UnitFiles {
  unitFiles: number[];
  fileBase: number;
  compDir?: string;
}

/** Where a unit's file names are: the byte sections line_strp and strp forms point into. */
interface StringSections {
  lineStr?: Uint8Array;
  str?: Uint8Array;
}

export class LineTable {
  readonly #rows: Rows;
  /** Sequences sorted by start: [start, end) and their rows [first, last). */
  readonly #seqStart: Float64Array;
  readonly #seqEnd: Float64Array;
  readonly #seqFirst: Int32Array;
  readonly #seqLast: Int32Array;
  readonly #files: string[];
  /** A one-unit table's file numbers (DW_AT_call_file's): indices into #files, and the first number. */
  #unitFiles: number[] = [];
  #fileBase = 1;

  private constructor(rows: Rows, seqs: { start: number; end: number; first: number; last: number }[], files: string[]) {
    this.#rows = rows;
    seqs.sort((a, b) => a.start - b.start || a.end - b.end);
    this.#seqStart = Float64Array.from(seqs, (s) => s.start);
    this.#seqEnd = Float64Array.from(seqs, (s) => s.end);
    this.#seqFirst = Int32Array.from(seqs, (s) => s.first);
    this.#seqLast = Int32Array.from(seqs, (s) => s.last);
    this.#files = files;
  }

  /** The line table of an ELF file's .debug_line, or undefined when it has none. */
  static fromElf(src: ElfSource): LineTable | undefined {
    const section = src.elf.section('.debug_line');
    if (!section || section.size === 0) return undefined;
    const lineStr = src.elf.section('.debug_line_str');
    const str = src.elf.section('.debug_str');
    return LineTable.parse(src.sectionData(section), {
      lineStr: lineStr && src.sectionData(lineStr),
      str: str && src.sectionData(str),
    }, src.elf.littleEndian);
  }

  /** Parses the bytes of a .debug_line section. A malformed unit ends the parse (rows before it stay). */
  static parse(bytes: Uint8Array, strings: StringSections = {}, littleEndian = true): LineTable {
    const rows = new Rows();
    const seqs: { start: number; end: number; first: number; last: number }[] = [];
    const files: string[] = [];
    const r = new ByteReader(bytes, littleEndian);
    while (r.remaining > 0) {
      try {
        const { length, offsetSize } = r.initialLength();
        const unit = r.sub(length);
        runUnit(unit, offsetSize, strings, rows, seqs, files);
      } catch {
        break;
      }
    }
    return new LineTable(rows, seqs, files);
  }

  /** The line table of the one unit whose program starts at `offset` in .debug_line. */
  static parseUnitAt(bytes: Uint8Array, offset: number, strings: StringSections = {}, littleEndian = true, compDir?: string): LineTable {
    const rows = new Rows();
    const seqs: { start: number; end: number; first: number; last: number }[] = [];
    const files: string[] = [];
    let unit: UnitFiles | undefined;
    try {
      const r = new ByteReader(bytes, littleEndian, offset);
      const { length, offsetSize } = r.initialLength();
      unit = { unitFiles: [], fileBase: 1, compDir };
      runUnit(r.sub(length), offsetSize, strings, rows, seqs, files, unit);
    } catch {
      // a malformed unit: its rows so far
    }
    const table = new LineTable(rows, seqs, files);
    if (unit) {
      table.#unitFiles = unit.unitFiles;
      table.#fileBase = unit.fileBase;
    }
    return table;
  }

  /** The path of file number `n` of a one-unit table (parseUnitAt), as DW_AT_call_file numbers it. */
  fileName(n: number): string | undefined {
    const i = this.#unitFiles[n - this.#fileBase];
    return i === undefined ? undefined : this.#files[i];
  }

  /**
   * The sections a unit's line program reads, for parseUnitAt(): `bytes(end)` gives at
   * least the first `end` bytes of .debug_line (a compressed one is inflated only that far).
   */
  static sectionsOf(src: ElfSource): { bytes: (end: number) => Uint8Array; strings: StringSections } | undefined {
    const section = src.elf.section('.debug_line');
    if (!section || section.size === 0) return undefined;
    const lineStr = src.elf.section('.debug_line_str');
    const str = src.elf.section('.debug_str');
    return { bytes: (end) => src.sectionPrefix(section, end), strings: { lineStr: lineStr && src.sectionData(lineStr), str: str && src.sectionData(str) } };
  }

  /** The line table of the unit at `offset`, reading .debug_line only as far as that unit. */
  static unitFrom(sections: NonNullable<ReturnType<typeof LineTable.sectionsOf>>, offset: number, littleEndian: boolean, compDir?: string): LineTable {
    const end = unitExtent(sections.bytes(offset + 12), offset, littleEndian)?.end ?? offset + 12;
    return LineTable.parseUnitAt(sections.bytes(end), offset, sections.strings, littleEndian, compDir);
  }

  get rowCount(): number {
    return this.#rows.length;
  }

  /** The source position of an address, or undefined when no sequence holds it. */
  lookup(address: number): LineRow | undefined {
    const starts = this.#seqStart;
    let lo = 0;
    let hi = starts.length - 1;
    let s = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid] <= address) {
        s = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    // Sequences can overlap (discarded code at address 0): look a few back for one holding it.
    const first = s;
    while (s >= 0 && s > first - 8 && address >= this.#seqEnd[s]) s--;
    if (s < 0 || address >= this.#seqEnd[s]) return undefined;
    const a = this.#rows.address;
    lo = this.#seqFirst[s];
    hi = this.#seqLast[s] - 1;
    let row = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid] <= address) {
        row = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (row < 0) return undefined;
    return { file: this.#files[this.#rows.file[row]] ?? '??', line: this.#rows.line[row] };
  }
}

/** Runs one unit's line-number program, appending its rows and sequences. */
function runUnit(r: ByteReader, offsetSize: 4 | 8, strings: StringSections, rows: Rows, seqs: { start: number; end: number; first: number; last: number }[], files: string[], unit?: UnitFiles): void {
  const version = r.u16();
  if (version < 2 || version > 5) return;
  let addressSize = 8;
  if (version >= 5) {
    addressSize = r.u8();
    r.u8(); // segment selector size
  }
  const headerLength = r.sectionOffset(offsetSize);
  const programStart = r.offset + headerLength;
  const minInst = r.u8();
  if (version >= 4) r.u8(); // maximum operations per instruction (VLIW only)
  r.u8(); // default_is_stmt: every row counts for a lookup
  const lineBase = r.s8();
  const lineRange = r.u8();
  const opcodeBase = r.u8();
  if (lineRange === 0) return;
  const opLengths = new Uint8Array(opcodeBase);
  for (let i = 1; i < opcodeBase; i++) opLengths[i] = r.u8();

  // The unit's files, as indices into the table-wide `files` (file numbers are 1-based
  // before DWARF 5, 0-based from 5 on).
  const ctx: FormContext = { version, offsetSize, addressSize };
  const unitFiles: number[] = unit?.unitFiles ?? [];
  const fileBase = version >= 5 ? 0 : 1;
  if (unit) unit.fileBase = fileBase;
  if (version >= 5) {
    const dirs = readEntries(r, ctx, strings).map((e) => e.path);
    // Relative directories are relative to the compilation directory, entry 0.
    const dirOf = (i: number): string => (i === 0 || (dirs[i] ?? '').startsWith('/') ? dirs[i] ?? '' : joinPath(dirs[0] ?? '', dirs[i] ?? ''));
    for (const e of readEntries(r, ctx, strings)) unitFiles.push(files.push(joinPath(dirOf(e.dir), e.path)) - 1);
  } else {
    // Directory 0 and relative directories are the compilation directory's (DW_AT_comp_dir,
    // when the caller knows it), as llvm-symbolizer and addr2line make paths absolute.
    const compDir = unit?.compDir ?? '';
    const dirs = [compDir];
    for (let d = r.cstr(); d !== ''; d = r.cstr()) dirs.push(joinPath(compDir, d));
    for (let f = r.cstr(); f !== ''; f = r.cstr()) {
      const dir = r.uleb128();
      r.uleb128(); // mtime
      r.uleb128(); // length
      unitFiles.push(files.push(joinPath(dirs[dir] ?? '', f)) - 1);
    }
    // DW_LNE_define_file may add more; kept as '??'.
  }
  const fileOf = (n: number): number => unitFiles[n - fileBase] ?? -1;

  const p = r.at(programStart);
  let address = 0;
  let file = 1;
  let line = 1;
  let seqFirst = rows.length;
  let seqStart = -1;
  const emit = (): void => {
    if (seqStart < 0) seqStart = address;
    rows.push(address, fileOf(file), line);
  };
  while (p.remaining > 0) {
    const op = p.u8();
    if (op >= opcodeBase) {
      const adj = op - opcodeBase;
      address += Math.floor(adj / lineRange) * minInst;
      line += lineBase + (adj % lineRange);
      emit();
      continue;
    }
    switch (op) {
      case 0: {
        const len = p.uleb128();
        if (len === 0) break;
        const end = p.offset + len;
        const sub = p.u8();
        if (sub === DW_LNE_end_sequence) {
          if (seqStart >= 0 && rows.length > seqFirst) seqs.push({ start: seqStart, end: address, first: seqFirst, last: rows.length });
          address = 0;
          file = 1;
          line = 1;
          seqFirst = rows.length;
          seqStart = -1;
        } else if (sub === DW_LNE_set_address) {
          const n = len - 1;
          if (n === 8) {
            const lo = p.u32();
            const hi = p.u32();
            address = p.littleEndian ? hi * TWO32 + lo : lo * TWO32 + hi;
          } else {
            address = p.uint(n);
          }
        } else if (sub === DW_LNE_define_file) {
          // Rare (DWARF 2/3): a file defined inside the program.
          const name = p.cstr();
          p.uleb128();
          p.uleb128();
          p.uleb128();
          unitFiles.push(files.push(name) - 1);
        }
        p.offset = end;
        break;
      }
      case DW_LNS_copy:
        emit();
        break;
      case DW_LNS_advance_pc:
        address += p.uleb128() * minInst;
        break;
      case DW_LNS_advance_line:
        line += p.sleb128();
        break;
      case DW_LNS_set_file:
        file = p.uleb128();
        break;
      case DW_LNS_set_column:
        p.uleb128();
        break;
      case DW_LNS_negate_stmt:
      case DW_LNS_set_basic_block:
        break;
      case DW_LNS_const_add_pc:
        address += Math.floor((255 - opcodeBase) / lineRange) * minInst;
        break;
      case DW_LNS_fixed_advance_pc:
        address += p.u16();
        break;
      default:
        for (let i = 0; i < opLengths[op]; i++) p.uleb128();
    }
  }
}

/** DWARF 5 directory or file entries: each described by (content type, form) pairs. */
function readEntries(r: ByteReader, ctx: FormContext, strings: StringSections): { path: string; dir: number }[] {
  const formatCount = r.u8();
  const format: [number, number][] = [];
  for (let i = 0; i < formatCount; i++) format.push([r.uleb128(), r.uleb128()]);
  const count = r.uleb128();
  const out: { path: string; dir: number }[] = [];
  for (let i = 0; i < count; i++) {
    let path = '';
    let dir = 0;
    for (const [type, form] of format) {
      const v = readForm(r, form, ctx);
      if (type === DW_LNCT_path) {
        if (v.kind === 'string') path = v.value;
        else if (v.kind === 'strp') path = cstrAt(v.section === '.debug_line_str' ? strings.lineStr : v.section === '.debug_str' ? strings.str : undefined, v.offset);
      } else if (type === DW_LNCT_directory_index && v.kind === 'constant') {
        dir = Number(v.value);
      }
    }
    out.push({ path, dir });
  }
  return out;
}

function cstrAt(bytes: Uint8Array | undefined, offset: number): string {
  if (!bytes || offset >= bytes.length) return '??';
  let end = bytes.indexOf(0, offset);
  if (end < 0) end = bytes.length;
  return Buffer.from(bytes.buffer, bytes.byteOffset + offset, end - offset).toString('utf8');
}

function joinPath(dir: string, file: string): string {
  if (file.startsWith('/') || dir === '') return file;
  return dir.endsWith('/') ? dir + file : `${dir}/${file}`;
}

