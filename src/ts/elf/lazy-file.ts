// An ElfFile over a file on disk that reads only what is used: the headers when opened, a
// section's or segment's bytes the first time they are asked for. A symbolizer needs the
// symbol tables of a 100 MB executable, not its 30 MB of code: the file's bytes live in
// one buffer of the file's size that is filled range by range (memory the process never
// writes is never committed).
import * as fs from 'node:fs';
import { ElfFile, ElfFormatError, type ElfProgramHeader, type ElfSection, SHT_NOBITS } from './file';

/** `length` bytes of a file from `offset` (a process's memory through /proc/PID/mem: the vDSO image). */
export function readBytesAt(path: string, offset: number, length: number): Buffer {
  const fd = fs.openSync(path, 'r');
  try {
    const out = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(fd, out, done, length - done, offset + done);
      if (n <= 0) break;
      done += n;
    }
    return out.subarray(0, done);
  } finally {
    fs.closeSync(fd);
  }
}

/** An ELF file and the way to its bytes: read on demand from disk, or all in memory. */
export interface ElfSource {
  readonly elf: ElfFile;
  sectionData(section: ElfSection): Buffer;
  /** At least the first `length` bytes of a section's contents (see ElfFile.sectionPrefix). */
  sectionPrefix(section: ElfSection, length: number): Buffer;
  segmentData(ph: ElfProgramHeader): Buffer;
}

/** An ElfSource over bytes already in memory (a vDSO image, a file read whole). */
export function elfInMemory(bytes: Buffer): ElfSource {
  const elf = ElfFile.parse(bytes);
  return {
    elf,
    sectionData: (s) => elf.sectionData(s.index),
    sectionPrefix: (s, length) => elf.sectionPrefix(s.index, length),
    segmentData: (ph) => {
      if (ph.offset + ph.filesz > bytes.length) throw new ElfFormatError(`malformed ELF: segment at ${ph.offset} lies outside the file`);
      return bytes.subarray(ph.offset, ph.offset + ph.filesz);
    },
  };
}

export class LazyElfFile implements ElfSource {
  readonly elf: ElfFile;
  readonly #fd: number;
  readonly #buffer: Buffer;
  /** Ranges already read, as [start, end) pairs. */
  readonly #loaded: [number, number][] = [];
  #closed = false;

  private constructor(fd: number, size: number) {
    this.#fd = fd;
    this.#buffer = Buffer.allocUnsafe(size);
    this.#read(0, Math.min(size, 64));
    const b = this.#buffer;
    if (size < 16 || b.readUInt32BE(0) !== 0x7f454c46) throw new ElfFormatError('malformed ELF: not an ELF file (no \\x7fELF magic)');
    const is64 = b[4] === 2;
    const le = b[5] === 1;
    const u16 = (o: number): number => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const off = (o: number): number => (is64 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : u32(o));
    if (size >= (is64 ? 64 : 52)) {
      const phoff = off(is64 ? 32 : 28);
      const shoff = off(is64 ? 40 : 32);
      const at = is64 ? 54 : 42;
      const [phentsize, phnum, shentsize, shnum, shstrndx] = [0, 2, 4, 6, 8].map((d) => u16(at + d));
      this.#read(phoff, phentsize * phnum);
      if (shoff) {
        this.#read(shoff, shentsize);
        const count = shnum || (is64 ? off(shoff + 32) : u32(shoff + 20));
        this.#read(shoff, shentsize * count);
        const strndx = shstrndx === 0xffff ? u32(shoff + (is64 ? 40 : 24)) : shstrndx;
        if (strndx < count) {
          const s = shoff + strndx * shentsize;
          if (s + shentsize <= size) this.#read(off(s + (is64 ? 24 : 16)), off(s + (is64 ? 32 : 20)));
        }
      }
    }
    this.elf = ElfFile.parse(this.#buffer);
  }

  /** Opens and parses the headers; throws (ENOENT, EACCES, ElfFormatError) when it cannot. */
  static open(path: string): LazyElfFile {
    const fd = fs.openSync(path, 'r');
    try {
      return new LazyElfFile(fd, fs.fstatSync(fd).size);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /** A section's contents (inflated when compressed), read from the file the first time. */
  sectionData(section: ElfSection): Buffer {
    if (section.type !== SHT_NOBITS) this.#read(section.offset, section.size);
    return this.elf.sectionData(section.index);
  }

  /** At least the first `length` bytes of a section's contents, inflating no more of a compressed one than that. */
  sectionPrefix(section: ElfSection, length: number): Buffer {
    if (section.type !== SHT_NOBITS) this.#read(section.offset, section.size);
    return this.elf.sectionPrefix(section.index, length);
  }

  /** A segment's bytes in the file (p_filesz of them). */
  segmentData(ph: ElfProgramHeader): Buffer {
    this.#read(ph.offset, ph.filesz);
    return this.#buffer.subarray(ph.offset, ph.offset + ph.filesz);
  }

  /** Closes the file; data already read stays usable. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    fs.closeSync(this.#fd);
  }

  #read(offset: number, length: number): void {
    const end = Math.min(offset + length, this.#buffer.length);
    if (!(offset >= 0) || offset >= end) return;
    if (this.#loaded.some(([s, e]) => s <= offset && end <= e)) return;
    if (this.#closed) throw new TypeError('LazyElfFile is closed');
    let pos = offset;
    while (pos < end) {
      const n = fs.readSync(this.#fd, this.#buffer, pos, end - pos, pos);
      if (n <= 0) throw new ElfFormatError(`malformed ELF: the file ended at ${pos} while reading ${offset}..${end}`);
      pos += n;
    }
    this.#loaded.push([offset, end]);
  }
}
