// A small ELF64 (little-endian) symbol reader: the function symbols of .symtab and
// .dynsym, keyed by file offset, so a sampled user address maps to a name through
// /proc/PID/maps (address - mapping start + mapping file offset).
import * as fs from 'node:fs';

const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const STT_FUNC = 2;
const PT_LOAD = 1;

export interface ElfSymbol {
  /** File offset of the function's first byte. */
  offset: number;
  size: number;
  name: string;
}

/** The file's function symbols sorted by file offset; [] when it is not an ELF64 LE file. */
export function readFunctionSymbols(file: string): ElfSymbol[] {
  const elf = fs.readFileSync(file);
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) return [];
  const num = (off: number): number => Number(elf.readBigUInt64LE(off));
  const phoff = num(0x20);
  const shoff = num(0x28);
  const [phentsize, phnum, shentsize, shnum] = [0x36, 0x38, 0x3a, 0x3c].map((o) => elf.readUInt16LE(o));

  // Loadable segments: virtual address -> file offset.
  const loads: { vaddr: number; offset: number; size: number }[] = [];
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    if (elf.readUInt32LE(p) === PT_LOAD) loads.push({ offset: num(p + 8), vaddr: num(p + 16), size: num(p + 40) });
  }
  const toOffset = (vaddr: number): number | undefined => {
    const seg = loads.find((l) => vaddr >= l.vaddr && vaddr < l.vaddr + l.size);
    return seg && vaddr - seg.vaddr + seg.offset;
  };

  const sections = Array.from({ length: shnum }, (_, i) => {
    const s = shoff + i * shentsize;
    return { type: elf.readUInt32LE(s + 4), offset: num(s + 24), size: num(s + 32), link: elf.readUInt32LE(s + 40), entsize: num(s + 56) };
  });
  const symbols = new Map<number, ElfSymbol>();
  for (const sec of sections.filter((s) => s.type === SHT_SYMTAB || s.type === SHT_DYNSYM)) {
    const strtab = sections[sec.link];
    for (let p = sec.offset; p + 24 <= sec.offset + sec.size; p += sec.entsize || 24) {
      const value = num(p + 8);
      if ((elf[p + 4] & 0xf) !== STT_FUNC || value === 0) continue;
      const offset = toOffset(value);
      if (offset === undefined || symbols.has(offset)) continue;
      const nameStart = strtab.offset + elf.readUInt32LE(p);
      const name = elf.toString('latin1', nameStart, elf.indexOf(0, nameStart));
      symbols.set(offset, { offset, size: num(p + 16), name: name.replace(/@.*/, '') });
    }
  }
  return [...symbols.values()].sort((a, b) => a.offset - b.offset);
}

/** The symbol containing `offset` (or, for symbols without a size, the closest before it). */
export function findSymbol(symbols: ElfSymbol[], offset: number): ElfSymbol | undefined {
  let lo = 0;
  let hi = symbols.length - 1;
  let found: ElfSymbol | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (symbols[mid].offset <= offset) {
      found = symbols[mid];
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found && (found.size === 0 || offset < found.offset + found.size) ? found : undefined;
}
