// What an ELF file says about where its debug information is: its build ID (the
// NT_GNU_BUILD_ID note) and its .gnu_debuglink (a debug file's name and CRC32).
import type { ElfSource } from './lazy-file';

const PT_NOTE = 4;
const SHT_NOTE = 7;
const NT_GNU_BUILD_ID = 3;

/** The build ID as lower-case hex, or undefined when the file has none. */
export function buildId(src: ElfSource): string | undefined {
  const { elf } = src;
  // Program headers first (what a loaded image has), then note sections.
  for (const ph of elf.programHeaders) {
    if (ph.type !== PT_NOTE) continue;
    const id = findBuildId(src.segmentData(ph), elf.littleEndian);
    if (id) return id;
  }
  for (const s of elf.sections) {
    if (s.type !== SHT_NOTE) continue;
    const id = findBuildId(src.sectionData(s), elf.littleEndian);
    if (id) return id;
  }
  return undefined;
}

function findBuildId(notes: Buffer, le: boolean): string | undefined {
  let p = 0;
  while (p + 12 <= notes.length) {
    const namesz = le ? notes.readUInt32LE(p) : notes.readUInt32BE(p);
    const descsz = le ? notes.readUInt32LE(p + 4) : notes.readUInt32BE(p + 4);
    const type = le ? notes.readUInt32LE(p + 8) : notes.readUInt32BE(p + 8);
    const name = p + 12;
    const desc = name + ((namesz + 3) & ~3);
    const next = desc + ((descsz + 3) & ~3);
    if (desc + descsz > notes.length) return undefined;
    if (type === NT_GNU_BUILD_ID && namesz === 4 && notes.toString('latin1', name, name + 3) === 'GNU') {
      return notes.toString('hex', desc, desc + descsz);
    }
    p = next;
  }
  return undefined;
}

/** The .gnu_debuglink section: the debug file's base name and the CRC32 of its contents. */
export function debugLink(src: ElfSource): { file: string; crc: number } | undefined {
  const s = src.elf.section('.gnu_debuglink');
  if (!s) return undefined;
  const data = src.sectionData(s);
  const end = data.indexOf(0);
  if (end <= 0) return undefined;
  const crcAt = (end + 4) & ~3;
  if (crcAt + 4 > data.length) return undefined;
  return { file: data.toString('latin1', 0, end), crc: src.elf.littleEndian ? data.readUInt32LE(crcAt) : data.readUInt32BE(crcAt) };
}
