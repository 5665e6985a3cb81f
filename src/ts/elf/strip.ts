// Removing the contents of sections from a relocatable ELF file (what `gen` does to the
// DWARF of the object it embeds): the file is rewritten with those sections empty, every
// other section's bytes where its alignment wants them, and the same section headers, so
// no index changes and no symbol or relocation needs rewriting. The emptied sections keep
// their (empty) headers and names, a few bytes each.
import { ElfFile, SHT_NOBITS, SHT_NULL } from './file';

/** Sections whose contents strip() removes by default: DWARF, and relocations against it. */
export const isDebugSection = (name: string): boolean => /^(\.rela?)?\.z?debug_/.test(name);

/**
 * The ELF file `data` with the contents of the sections `remove` picks (default: .debug_*
 * and their relocation sections) taken out. Only relocatable files (no program headers:
 * moving bytes would move segments). Throws ElfFormatError for a malformed file.
 * @example fs.writeFileSync('small.bpf.o', stripSections(fs.readFileSync('prog.bpf.o')));
 */
export function stripSections(data: Uint8Array, remove: (name: string) => boolean = isDebugSection): Buffer {
  const elf = ElfFile.parse(data);
  if (elf.programHeaders.length > 0) throw new TypeError('stripSections: expected a relocatable ELF file (no program headers), got one with segments');
  const is64 = elf.bits === 64;
  const le = elf.littleEndian;
  const ehsize = is64 ? 64 : 52;
  const parts: Buffer[] = [Buffer.from(elf.buffer.subarray(0, ehsize))];
  let at = ehsize;
  const placed = elf.sections.map((s) => {
    if (s.index === 0 || s.type === SHT_NULL || s.type === SHT_NOBITS) return { offset: s.type === SHT_NOBITS ? at : s.offset, size: s.size };
    if (remove(s.name)) return { offset: at, size: 0 };
    const align = Math.max(1, s.addralign);
    const pad = (align - (at % align)) % align;
    if (pad) parts.push(Buffer.alloc(pad));
    at += pad;
    parts.push(elf.buffer.subarray(s.offset, s.offset + s.size));
    const out = { offset: at, size: s.size };
    at += s.size;
    return out;
  });
  const pad = (8 - (at % 8)) % 8;
  if (pad) parts.push(Buffer.alloc(pad));
  at += pad;
  const shoff = at;
  const table = Buffer.from(elf.buffer.subarray(elf.shoff, elf.shoff + elf.shentsize * elf.sections.length));
  const view = new DataView(table.buffer, table.byteOffset, table.byteLength);
  placed.forEach((p, i) => {
    const h = i * elf.shentsize;
    if (is64) {
      view.setBigUint64(h + 24, BigInt(p.offset), le);
      view.setBigUint64(h + 32, BigInt(p.size), le);
    } else {
      view.setUint32(h + 16, p.offset, le);
      view.setUint32(h + 20, p.size, le);
    }
  });
  parts.push(table);
  const out = Buffer.concat(parts);
  const header = new DataView(out.buffer, out.byteOffset, ehsize);
  if (is64) header.setBigUint64(40, BigInt(shoff), le);
  else header.setUint32(32, shoff, le);
  return out;
}
