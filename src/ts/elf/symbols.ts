// An ELF file's symbol table (.symtab, or .dynsym when the file is stripped), sorted for
// binary search by address, with the rules llvm-symbolizer applies, so both name an address
// alike:
//   - defined symbols of allocated sections, of type FUNC, OBJECT, GNU_IFUNC (named by the
//     ifunc symbol, as the resolver's address is its value) or NOTYPE (assembly);
//   - of several symbols at one address (aliases), the one with the largest size, the last
//     in table order among equal sizes;
//   - an address belongs to the last symbol starting at or before it, unless that symbol
//     has a size and the address lies past its end (then no symbol: padding, or code the
//     table does not describe).
// Names are decoded from the string table when first asked for.
import { lastAtOrBefore, orderByStart } from './address-table';
import type { ElfSection } from './file';
import type { ElfSource } from './lazy-file';

export const SHT_SYMTAB = 2;
export const SHT_DYNSYM = 11;
const SHF_ALLOC = 2;
const SHN_LORESERVE = 0xff00;
const STT_NOTYPE = 0;
const STT_OBJECT = 1;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const TWO32 = 2 ** 32;

// Lookups answered by a linear scan before the address index is built: one answer (a
// symbolizer's cold start) then costs a pass over the table instead of a sort of it (node's
// 110,000 symbols: ~1 ms against ~10-40 ms); a batch pays the sort at its fifth address.
const LINEAR_LOOKUPS = 4;

export class ElfSymbolTable {
  // The symbols kept (the rules above), in table order: find() returns indices into these.
  readonly #starts: Float64Array;
  readonly #sizes: Float64Array;
  readonly #nameOffsets: Uint32Array;
  readonly #strtab: Buffer;
  readonly #names: (string | undefined)[];
  /** How many symbols were kept (aliases included). */
  readonly length: number;
  // The address index, built when the linear lookups are used up: start addresses
  // ascending, one per address (the alias the rules choose), and that symbol's index.
  #indexStarts: Float64Array | undefined;
  #indexSymbols: Uint32Array | undefined;
  #indexLength = 0;
  #linearLeft = LINEAR_LOOKUPS;

  private constructor(starts: Float64Array, sizes: Float64Array, nameOffsets: Uint32Array, strtab: Buffer, length: number) {
    this.#starts = starts;
    this.#sizes = sizes;
    this.#nameOffsets = nameOffsets;
    this.#strtab = strtab;
    this.length = length;
    this.#names = new Array<string | undefined>(length);
  }

  /** An empty table (a file without symbols). */
  static empty(): ElfSymbolTable {
    return new ElfSymbolTable(new Float64Array(0), new Float64Array(0), new Uint32Array(0), Buffer.alloc(0), 0);
  }

  /**
   * The symbols llvm-symbolizer would use: those of .symtab, or of .dynsym when there is no
   * .symtab (a stripped file). `prefer: 'dynsym'` reads .dynsym even when .symtab is there.
   */
  static fromElf(src: ElfSource, prefer: 'symtab' | 'dynsym' = 'symtab'): ElfSymbolTable {
    const tables = src.elf.sections.filter((s) => s.type === SHT_SYMTAB || s.type === SHT_DYNSYM);
    const symtab = tables.find((s) => s.type === SHT_SYMTAB && s.size > 0);
    const dynsym = tables.find((s) => s.type === SHT_DYNSYM && s.size > 0);
    const section = prefer === 'dynsym' ? dynsym ?? symtab : symtab ?? dynsym;
    return section ? ElfSymbolTable.fromSection(src, section) : ElfSymbolTable.empty();
  }

  /** The symbols of one SHT_SYMTAB or SHT_DYNSYM section. */
  static fromSection(src: ElfSource, section: ElfSection): ElfSymbolTable {
    const { elf } = src;
    const strSection = elf.sections[section.link];
    if (!strSection) return ElfSymbolTable.empty();
    const data = src.sectionData(section);
    const strtab = src.sectionData(strSection);
    const is64 = elf.bits === 64;
    const entsize = section.entsize || (is64 ? 24 : 16);
    const count = Math.floor(data.length / entsize);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const le = elf.littleEndian;
    const allocated = new Uint8Array(elf.sections.length);
    for (const s of elf.sections) allocated[s.index] = (s.flags & SHF_ALLOC) !== 0 ? 1 : 0;

    const starts = new Float64Array(count);
    const sizes = new Float64Array(count);
    const names = new Uint32Array(count);
    let n = 0;
    for (let i = 1; i < count; i++) {
      const p = i * entsize;
      let info: number;
      let shndx: number;
      let value: number;
      let size: number;
      if (is64) {
        info = data[p + 4];
        shndx = view.getUint16(p + 6, le);
        value = le ? view.getUint32(p + 8, true) + view.getUint32(p + 12, true) * TWO32 : view.getUint32(p + 12, false) + view.getUint32(p + 8, false) * TWO32;
        size = le ? view.getUint32(p + 16, true) + view.getUint32(p + 20, true) * TWO32 : view.getUint32(p + 20, false) + view.getUint32(p + 16, false) * TWO32;
      } else {
        value = view.getUint32(p + 4, le);
        size = view.getUint32(p + 8, le);
        info = data[p + 12];
        shndx = view.getUint16(p + 14, le);
      }
      const type = info & 0xf;
      if (type !== STT_FUNC && type !== STT_NOTYPE && type !== STT_OBJECT && type !== STT_GNU_IFUNC) continue;
      if (shndx === 0 || shndx >= SHN_LORESERVE || shndx >= allocated.length || allocated[shndx] === 0) continue;
      if (value > Number.MAX_SAFE_INTEGER) continue; // kernel images: not symbolized from files
      starts[n] = value;
      sizes[n] = size;
      names[n] = view.getUint32(p, le);
      n++;
    }
    return new ElfSymbolTable(starts, sizes, names, strtab, n);
  }

  /** Index of the symbol holding `address` (an ELF virtual address), or -1. */
  find(address: number): number {
    let found: number;
    if (this.#indexStarts === undefined && this.#linearLeft > 0) {
      this.#linearLeft--;
      found = this.#scan(address);
    } else {
      const starts = this.#indexStarts ?? this.#buildIndex();
      const at = lastAtOrBefore(starts, this.#indexLength, address);
      found = at < 0 ? -1 : this.#indexSymbols![at];
    }
    if (found < 0) return -1;
    const size = this.#sizes[found];
    return size !== 0 && this.#starts[found] + size <= address ? -1 : found;
  }

  // The symbol the index would give, in one pass: the last start at or before `address`; of
  // aliases there, the largest size, the last in table order among equal sizes.
  #scan(address: number): number {
    const starts = this.#starts;
    const sizes = this.#sizes;
    let best = -1;
    let bestStart = -1;
    let bestSize = -1;
    for (let i = 0; i < this.length; i++) {
      const s = starts[i];
      if (s > address || s < bestStart) continue;
      if (s > bestStart || sizes[i] >= bestSize) {
        best = i;
        bestStart = s;
        bestSize = sizes[i];
      }
    }
    return best;
  }

  // Sorts by address, stable (table order among equals), and keeps, of each address, the
  // largest size, the last in table order among equal sizes.
  #buildIndex(): Float64Array {
    const n = this.length;
    const starts = this.#starts;
    const sizes = this.#sizes;
    const order = orderByStart(starts, n);
    const outStarts = new Float64Array(n);
    const outSymbols = new Uint32Array(n);
    let k = 0;
    for (let j = 0; j < n; j++) {
      const i = order[j];
      if (k > 0 && outStarts[k - 1] === starts[i]) {
        if (sizes[i] < sizes[outSymbols[k - 1]]) continue; // a smaller alias: keep the larger
        k--;
      }
      outStarts[k] = starts[i];
      outSymbols[k] = i;
      k++;
    }
    this.#indexSymbols = outSymbols;
    this.#indexLength = k;
    this.#indexStarts = outStarts;
    return outStarts;
  }

  name(i: number): string {
    let s = this.#names[i];
    if (s === undefined) {
      const off = this.#nameOffsets[i];
      const end = this.#strtab.indexOf(0, off);
      s = off < this.#strtab.length ? this.#strtab.toString('latin1', off, end < 0 ? this.#strtab.length : end) : '';
      this.#names[i] = s;
    }
    return s;
  }

  start(i: number): number {
    return this.#starts[i];
  }

  size(i: number): number {
    return this.#sizes[i];
  }
}
