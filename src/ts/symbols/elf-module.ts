// One ELF file as the symbolizer uses it: its symbols (llvm-symbolizer's rules), its build
// ID, its executable segments (file offset -> virtual address), and, found when first
// needed, its separate debug file (/usr/lib/debug/.build-id/xx/yyyy.debug, or
// .gnu_debuglink) and DWARF line table.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { elfInMemory, type ElfSource, LazyElfFile, readBytesAt } from '../elf/lazy-file';
import { buildId, debugLink } from '../elf/notes';
import { ElfSymbolTable } from '../elf/symbols';
import { FunctionTable } from '../dwarf/functions';
import { LineTable } from '../dwarf/lines';
import type { InlinedFrame } from './frame';

const PT_LOAD = 1;
const PF_X = 1;

/** Where separate debug files are looked for (as gdb and llvm-symbolizer do). */
export const DEBUG_ROOT = '/usr/lib/debug';

/** Bytes of a process's memory (the vDSO image), through /proc/PID/mem. */
export function readProcessMemory(pid: number, address: number, length: number): Buffer {
  return readBytesAt(`/proc/${pid}/mem`, address, length);
}

export interface Resolved {
  name?: string;
  offset?: number;
  file?: string;
  line?: number;
  inlined?: InlinedFrame[];
}

export class ElfModule {
  readonly buildId: string | undefined;
  readonly #src: ElfSource;
  #symbolTable: ElfSymbolTable | undefined;
  readonly #loads: { offset: number; vaddr: number; filesz: number }[];
  readonly #path: string;
  #debug: ElfModule | null | undefined;
  #debugSymbols: ElfSymbolTable | undefined;
  #lines: LineTable | null | undefined;
  #functions: FunctionTable | null | undefined;
  #functionsSrc: ElfSource | undefined;
  readonly #unitLineTables = new Map<number, LineTable | null>();
  #lineSections: ReturnType<typeof LineTable.sectionsOf> | null | undefined;

  readonly #debugFileSymbols: boolean;

  constructor(src: ElfSource, filePath: string, debugFileSymbols = false) {
    this.#src = src;
    this.#debugFileSymbols = debugFileSymbols;
    this.#path = filePath;
    this.buildId = safe(() => buildId(src));
    this.#loads = src.elf.programHeaders
      .filter((p) => p.type === PT_LOAD)
      .map((p) => ({ offset: p.offset, vaddr: Number(p.vaddr), filesz: p.filesz, x: (p.flags & PF_X) !== 0 }))
      .sort((a, b) => Number(b.x) - Number(a.x)); // executable segments first
  }

  /** The symbol table, read when first needed (a debug file's only when its symbols are asked for). */
  get #symbols(): ElfSymbolTable {
    return (this.#symbolTable ??= safe(() => ElfSymbolTable.fromElf(this.#src)) ?? ElfSymbolTable.empty());
  }

  /** An ELF image already in memory (the vDSO). */
  static fromBytes(bytes: Buffer, name: string, debugFileSymbols = false): ElfModule {
    return new ElfModule(elfInMemory(bytes), name, debugFileSymbols);
  }

  /**
   * Opens a file on disk (its headers only); throws when it cannot be read as ELF.
   * `seenAs`: where the file lives, when opened through another path (/proc/PID/map_files):
   * its .gnu_debuglink is looked for beside it.
   */
  static open(filePath: string, seenAs = filePath, debugFileSymbols = false): ElfModule {
    return new ElfModule(LazyElfFile.open(filePath), seenAs, debugFileSymbols);
  }

  /** The ELF virtual address of a file offset (through the PT_LOAD segment holding it). */
  toVirtual(fileOffset: number): number {
    for (const l of this.#loads) {
      if (fileOffset >= l.offset && fileOffset < l.offset + l.filesz) return fileOffset - l.offset + l.vaddr;
    }
    return fileOffset; // no segments (a relocatable object): offsets are addresses
  }

  /** The file offset of an ELF virtual address. */
  toFileOffset(vaddr: number): number {
    for (const l of this.#loads) {
      if (vaddr >= l.vaddr && vaddr < l.vaddr + l.filesz) return vaddr - l.vaddr + l.offset;
    }
    return vaddr;
  }

  /**
   * Name (and with `lines`, file:line) of an ELF virtual address, found as llvm-symbolizer
   * finds it: the file's own symbol table, else the function DWARF describes (in the file
   * or its debug file); then, with `debugFileSymbols`, where neither knows the code (no
   * DWARF: assembly, libgcc), the debug file's symbol table.
   */
  resolve(vaddr: number, lines: boolean, inlines = false): Resolved {
    const out: Resolved = {};
    const symbols = this.#symbols;
    const i = symbols.find(vaddr);
    if (i >= 0) {
      out.name = symbols.name(i);
      out.offset = vaddr - symbols.start(i);
    } else {
      const f = this.#functionTable()?.lookup(vaddr);
      if (f) {
        out.name = f.name;
        out.offset = vaddr - f.start;
      } else if (this.#debugFileSymbols) {
        const table = this.#fallbackSymbols();
        const j = table.find(vaddr);
        if (j >= 0) {
          out.name = table.name(j);
          out.offset = vaddr - table.start(j);
        }
      }
    }
    if (lines) {
      // The unit .debug_aranges names (as llvm-symbolizer looks), else every unit's rows.
      const unit = this.#unitLines(vaddr);
      const row = unit ? unit.lookup(vaddr) : this.#lineTable()?.lookup(vaddr);
      if (row) {
        out.file = row.file;
        out.line = row.line;
      }
    }
    if (inlines) {
      const inlined = this.#inlined(vaddr);
      if (inlined) out.inlined = inlined;
    }
    return out;
  }

  /**
   * The functions DWARF says were inlined at `vaddr`, innermost first, each with the
   * place it was inlined at (DW_AT_call_file and DW_AT_call_line); undefined for none.
   */
  #inlined(vaddr: number): InlinedFrame[] | undefined {
    const found = this.#functionTable()?.inlinedAt(vaddr);
    if (!found || found.calls.length === 0) return undefined;
    const unit = found.lineProgram === undefined ? undefined : this.#unitLineTableAt(found.lineProgram.offset, found.lineProgram.compDir);
    return found.calls.map((c) => {
      const frame: InlinedFrame = { name: c.name ?? '??' };
      const file = unit?.fileName(c.callFile);
      if (file !== undefined) frame.file = file;
      if (c.callLine > 0) frame.line = c.callLine;
      return frame;
    });
  }

  /** The separate debug file, when there is one (looked for once). */
  debugFile(): ElfModule | undefined {
    if (this.#debug === undefined) this.#debug = this.#findDebugFile() ?? null;
    return this.#debug ?? undefined;
  }

  #fallbackSymbols(): ElfSymbolTable {
    if (!this.#debugSymbols) {
      const debug = this.debugFile();
      this.#debugSymbols = debug ? debug.#symbols : ElfSymbolTable.empty();
    }
    return this.#debugSymbols;
  }

  #functionTable(): FunctionTable | undefined {
    if (this.#functions === undefined) {
      this.#functions = safe(() => FunctionTable.fromElf(this.#src)) ?? null;
      this.#functionsSrc = this.#src;
      if (!this.#functions) {
        const debug = this.debugFile();
        this.#functions = (debug && safe(() => FunctionTable.fromElf(debug.#src))) ?? null;
        this.#functionsSrc = debug ? debug.#src : undefined;
      }
    }
    return this.#functions ?? undefined;
  }

  /**
   * The line table of just the unit holding `vaddr` (through .debug_aranges), so the first
   * answer does not parse a whole library's line tables; undefined when aranges do not say.
   */
  #unitLines(vaddr: number): LineTable | undefined {
    if (this.#lines) return undefined; // the whole table is parsed already
    const functions = this.#functionTable();
    const program = functions?.lineProgramFor(vaddr);
    return program === undefined ? undefined : this.#unitLineTableAt(program.offset, program.compDir);
  }

  /** The line table of the unit whose program is at `offset` in .debug_line (parsed once). */
  #unitLineTableAt(offset: number, compDir: string | undefined): LineTable | undefined {
    if (!this.#functionsSrc) return undefined;
    let table = this.#unitLineTables.get(offset);
    if (table === undefined) {
      const src = this.#functionsSrc;
      if (this.#lineSections === undefined) this.#lineSections = safe(() => LineTable.sectionsOf(src)) ?? null;
      const sections = this.#lineSections;
      table = sections ? safe(() => LineTable.unitFrom(sections, offset, src.elf.littleEndian, compDir)) ?? null : null;
      this.#unitLineTables.set(offset, table);
    }
    return table ?? undefined;
  }

  #lineTable(): LineTable | undefined {
    if (this.#lines === undefined) {
      this.#lines = safe(() => LineTable.fromElf(this.#src)) ?? null;
      if (!this.#lines) {
        const debug = this.debugFile();
        this.#lines = (debug && safe(() => LineTable.fromElf(debug.#src))) ?? null;
      }
    }
    return this.#lines ?? undefined;
  }

  #findDebugFile(): ElfModule | undefined {
    const candidates: string[] = [];
    if (this.buildId && this.buildId.length > 2) {
      candidates.push(path.join(DEBUG_ROOT, '.build-id', this.buildId.slice(0, 2), `${this.buildId.slice(2)}.debug`));
    }
    const link = safe(() => debugLink(this.#src));
    if (link) {
      const dir = path.dirname(this.#path);
      candidates.push(path.join(dir, link.file), path.join(dir, '.debug', link.file), path.join(DEBUG_ROOT, dir, link.file));
    }
    for (const c of candidates) {
      if (c === this.#path || !fs.existsSync(c)) continue;
      const m = safe(() => ElfModule.open(c));
      // A debug file of another build would name the wrong functions.
      if (m && (!this.buildId || !m.buildId || m.buildId === this.buildId)) return m;
    }
    return undefined;
  }
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}
