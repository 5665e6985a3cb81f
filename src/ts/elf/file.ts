// An ELF reader over a Buffer: the file header, program headers, section headers with their
// names, and section contents (SHF_COMPRESSED zlib sections inflated). ELF32 and ELF64, little
// and big endian. Every offset and count is checked against the buffer before it is used, so a
// truncated or malformed file gives an ElfFormatError and never an out-of-bounds read or a loop
// that does not end.
//
//   const elf = ElfFile.parse(fs.readFileSync('prog.bpf.o'));
//   elf.section('.BTF')            // the header, or undefined
//   elf.sectionData('.debug_info') // its bytes (a view on the file, or inflated)
import type * as Zlib from 'node:zlib';

/** The input is not a well-formed ELF file (the message says what is wrong and where). */
export class ElfFormatError extends Error {
  override name = 'ElfFormatError';
}

export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_RELA = 4;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;
export const SHT_DYNSYM = 11;
export const SHF_COMPRESSED = 0x800;
export const PT_LOAD = 1;
export const PT_NOTE = 4;
const ELFCOMPRESS_ZLIB = 1;
const ELFCOMPRESS_ZSTD = 2;
const SHN_XINDEX = 0xffff;
const SHN_LORESERVE = 0xff00;
/** Sections inflate to at most this many bytes (a compressed header may claim anything). */
const MAX_INFLATED = 1 << 30;

export interface ElfSection {
  /** Index in the section header table. */
  readonly index: number;
  readonly name: string;
  readonly type: number;
  /** sh_flags (the low 32 bits; the rest are OS/processor masks no reader here needs). */
  readonly flags: number;
  readonly addr: bigint;
  /** File offset and size of the bytes as stored (compressed, if SHF_COMPRESSED). */
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly addralign: number;
  readonly entsize: number;
}

export interface ElfProgramHeader {
  readonly type: number;
  readonly flags: number;
  readonly offset: number;
  readonly vaddr: bigint;
  readonly paddr: bigint;
  readonly filesz: number;
  readonly memsz: bigint;
  readonly align: bigint;
}

/** A parsed ELF file. Parsing reads the headers only; section data is read on demand. */
export class ElfFile {
  /** 32 or 64 (EI_CLASS). */
  readonly bits: 32 | 64;
  readonly littleEndian: boolean;
  /** e_type (1 relocatable, 2 executable, 3 shared object, 4 core), e_machine (247 is BPF). */
  readonly type: number;
  readonly machine: number;
  readonly entry: bigint;
  readonly programHeaders: readonly ElfProgramHeader[];
  readonly sections: readonly ElfSection[];
  /** Index of the section holding the section names (e_shstrndx, SHN_XINDEX resolved). */
  readonly shstrndx: number;
  /** e_shoff and e_shentsize: where the section header table is, and its entries' size. */
  readonly shoff: number;
  readonly shentsize: number;
  private readonly view: DataView;
  private readonly byName = new Map<string, ElfSection>();
  private readonly inflated = new Map<number, Buffer>();
  /** Compressed sections inflated in part: the first bytes of their contents. */
  private readonly prefixes = new Map<number, Buffer>();

  private constructor(readonly buffer: Buffer) {
    if (buffer.length < 16 || buffer.readUInt32BE(0) !== 0x7f454c46) fail('not an ELF file (no \\x7fELF magic)');
    const cls = buffer[4];
    const data = buffer[5];
    if (cls !== 1 && cls !== 2) fail(`unknown EI_CLASS ${cls}`);
    if (data !== 1 && data !== 2) fail(`unknown EI_DATA ${data}`);
    this.bits = cls === 2 ? 64 : 32;
    this.littleEndian = data === 1;
    this.view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    const is64 = this.bits === 64;
    const ehsize = is64 ? 64 : 52;
    if (buffer.length < ehsize) fail(`file header truncated (${buffer.length} of ${ehsize} bytes)`);
    this.type = this.u16(16);
    this.machine = this.u16(18);
    this.entry = this.addr(24);
    const phoff = this.off(is64 ? 32 : 28);
    const shoff = this.off(is64 ? 40 : 32);
    const at = is64 ? 54 : 42;
    const [phentsize, phnum, shentsize, shnum0, shstrndx0] = [0, 2, 4, 6, 8].map((d) => this.u16(at + d));
    this.programHeaders = this.readProgramHeaders(phoff, phentsize, phnum);
    this.shoff = shoff;
    this.shentsize = shentsize;
    const { sections, shstrndx } = this.readSectionHeaders(shoff, shentsize, shnum0, shstrndx0);
    this.shstrndx = shstrndx;
    const names = shstrndx > 0 && shstrndx < sections.length ? sections[shstrndx] : undefined;
    if (names && names.type === SHT_NOBITS) fail(`section names section ${shstrndx} has no bytes`);
    this.sections = sections.map(({ nameOffset, ...s }) =>
      Object.freeze({ ...s, name: names ? this.stringIn(names, nameOffset, `name of section ${s.index}`) : '' }));
    for (const s of this.sections) if (s.name && !this.byName.has(s.name)) this.byName.set(s.name, s);
  }

  /** Parses the headers of an ELF file. Throws ElfFormatError when they are malformed. */
  static parse(data: Uint8Array): ElfFile {
    if (!(data instanceof Uint8Array)) throw new TypeError(`data: expected a Buffer or Uint8Array, got ${typeof data}`);
    const buffer = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return new ElfFile(buffer);
  }

  /** The first section with this name, or undefined. */
  section(name: string): ElfSection | undefined {
    return this.byName.get(name);
  }

  /**
   * The contents of a section (by name or index): a view on the file, or the inflated bytes
   * of a SHF_COMPRESSED (zlib) section. SHT_NOBITS sections are empty. Throws ElfFormatError
   * for a section that lies outside the file or does not inflate, and a RangeError for an
   * index or name that is not there.
   */
  sectionData(which: string | number): Buffer {
    const s = typeof which === 'number' ? this.sections[which] : this.byName.get(which);
    if (!s) throw new RangeError(`section: expected a section of this file, got ${typeof which === 'string' ? JSON.stringify(which) : which}`);
    if (s.type === SHT_NOBITS || s.type === SHT_NULL) return Buffer.alloc(0);
    const raw = this.buffer.subarray(s.offset, s.offset + s.size);
    if ((s.flags & SHF_COMPRESSED) === 0) return raw;
    let out = this.inflated.get(s.index);
    if (!out) {
      out = this.inflate(s, raw);
      this.inflated.set(s.index, out);
      this.prefixes.delete(s.index);
    }
    return out;
  }

  /**
   * At least the first `length` bytes of a section's contents (all of them when it has
   * fewer): what sectionData() gives, except that a compressed section is inflated only as
   * far as needed (a reader of one DWARF unit need not inflate a library's whole
   * .debug_info). The bytes given are a prefix of the contents, never other bytes.
   */
  sectionPrefix(which: string | number, wanted: number): Buffer {
    let length = wanted;
    const s = typeof which === 'number' ? this.sections[which] : this.byName.get(which);
    if (!s || (s.flags & SHF_COMPRESSED) === 0 || this.inflated.has(s.index)) return this.sectionData(which);
    const have = this.prefixes.get(s.index);
    if (have && have.length >= length) return have;
    const chdr = this.bits === 64 ? 24 : 12;
    const raw = this.buffer.subarray(s.offset, s.offset + s.size);
    if (raw.length < chdr) return this.sectionData(which);
    const ctype = this.view.getUint32(s.offset, this.littleEndian);
    const size = this.bits === 64 ? this.off(s.offset + 8) : this.view.getUint32(s.offset + 4, this.littleEndian);
    // Past three quarters, all of it; a prefix at least twice the last, so growing costs at most twice the whole.
    if (have) length = Math.max(length, have.length * 2);
    if (ctype !== ELFCOMPRESS_ZLIB || size > MAX_INFLATED || length >= size * 0.75) return this.sectionData(which);
    const zlib = require('node:zlib') as typeof Zlib;
    // Compressed bytes in proportion to the bytes wanted, with a margin; more when short.
    let take = Math.ceil(((length + 65536) / size) * (raw.length - chdr) * 1.25);
    for (;;) {
      if (chdr + take >= raw.length) return this.sectionData(which);
      let out: Buffer;
      try {
        // One output chunk of about the size wanted: no concatenation of 16 KB chunks.
        const chunkSize = Math.min(size, Math.max(length + 65536, zlib.constants.Z_MIN_CHUNK));
        out = zlib.inflateSync(raw.subarray(chdr, chdr + take), { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: Math.max(size, 1), chunkSize });
      } catch {
        return this.sectionData(which); // the whole section says what is wrong
      }
      if (out.length >= length) {
        this.prefixes.set(s.index, out);
        return out;
      }
      take *= 2;
    }
  }

  /** The NUL-terminated string at `offset` in a string table section. */
  stringAt(section: ElfSection | number, offset: number): string {
    const s = typeof section === 'number' ? this.sections[section] : section;
    if (!s) throw new RangeError(`section: expected a section of this file, got ${section}`);
    return this.stringIn(s, offset, `string at ${offset} of section ${s.index}`);
  }

  private stringIn(s: ElfSection | { index: number; offset: number; size: number; type: number; flags: number }, offset: number, what: string): string {
    const bytes = 'name' in s ? this.sectionData(s.index) : this.buffer.subarray(s.offset, s.offset + s.size);
    if (offset >= bytes.length) fail(`${what}: offset ${offset} is past the end of its string table (${bytes.length} bytes)`);
    const end = bytes.indexOf(0, offset);
    if (end < 0) fail(`${what}: string at ${offset} is not NUL-terminated`);
    return bytes.toString('latin1', offset, end);
  }

  private inflate(s: ElfSection, raw: Buffer): Buffer {
    const chdr = this.bits === 64 ? 24 : 12;
    if (raw.length < chdr) fail(`section ${s.name || s.index}: compressed but shorter than its header`);
    const ctype = this.view.getUint32(s.offset, this.littleEndian);
    const size = this.bits === 64 ? this.off(s.offset + 8) : this.view.getUint32(s.offset + 4, this.littleEndian);
    if (ctype === ELFCOMPRESS_ZSTD) fail(`section ${s.name}: zstd compression is not supported (recompress with --compress-debug-sections=zlib, or none)`);
    if (ctype !== ELFCOMPRESS_ZLIB) fail(`section ${s.name}: unknown compression type ${ctype}`);
    if (size > MAX_INFLATED) fail(`section ${s.name}: claims ${size} bytes uncompressed (more than ${MAX_INFLATED})`);
    let out: Buffer;
    try {
      // Loaded here: the runtime entry reads ELF files (DWARF types) but must not load zlib for it.
      const zlib = require('node:zlib') as typeof Zlib;
      out = zlib.inflateSync(raw.subarray(chdr), { maxOutputLength: Math.max(size, 1), chunkSize: Math.max(size + 1, zlib.constants.Z_MIN_CHUNK) });
    } catch (e) {
      fail(`section ${s.name}: does not inflate (${(e as Error).message})`);
    }
    if (out.length !== size) fail(`section ${s.name}: inflated to ${out.length} bytes, its header says ${size}`);
    return out;
  }

  private readProgramHeaders(phoff: number, entsize: number, count: number): ElfProgramHeader[] {
    if (count === 0) return [];
    const is64 = this.bits === 64;
    const need = is64 ? 56 : 32;
    if (entsize < need) fail(`program header entry size ${entsize} is smaller than ${need}`);
    this.checkRange(phoff, entsize * count, 'program header table');
    const out: ElfProgramHeader[] = [];
    for (let i = 0; i < count; i++) {
      const p = phoff + i * entsize;
      const ph = is64
        ? { type: this.u32(p), flags: this.u32(p + 4), offset: this.off(p + 8), vaddr: this.addr(p + 16), paddr: this.addr(p + 24), filesz: this.off(p + 32), memsz: this.addr(p + 40), align: this.addr(p + 48) }
        : { type: this.u32(p), offset: this.u32(p + 4), vaddr: this.addr(p + 8), paddr: this.addr(p + 12), filesz: this.u32(p + 16), memsz: this.addr(p + 20), flags: this.u32(p + 24), align: this.addr(p + 28) };
      out.push(Object.freeze(ph));
    }
    return out;
  }

  private readSectionHeaders(shoff: number, entsize: number, shnum: number, shstrndx: number) {
    type Raw = Omit<ElfSection, 'name'> & { nameOffset: number };
    if (shoff === 0) return { sections: [] as Raw[], shstrndx: 0 };
    const is64 = this.bits === 64;
    const need = is64 ? 64 : 40;
    if (entsize < need) fail(`section header entry size ${entsize} is smaller than ${need}`);
    this.checkRange(shoff, entsize, 'section header table');
    const read = (i: number): Raw => {
      const p = shoff + i * entsize;
      const s: Raw = is64
        ? { index: i, nameOffset: this.u32(p), type: this.u32(p + 4), flags: Number(this.u64(p + 8) & 0xffffffffn), addr: this.addr(p + 16), offset: this.off(p + 24), size: this.off(p + 32), link: this.u32(p + 40), info: this.u32(p + 44), addralign: this.off(p + 48), entsize: this.off(p + 56) }
        : { index: i, nameOffset: this.u32(p), type: this.u32(p + 4), flags: this.u32(p + 8), addr: this.addr(p + 12), offset: this.u32(p + 16), size: this.u32(p + 20), link: this.u32(p + 24), info: this.u32(p + 28), addralign: this.u32(p + 32), entsize: this.u32(p + 36) };
      if (i > 0 && s.type !== SHT_NOBITS && s.type !== SHT_NULL) this.checkRange(s.offset, s.size, `section ${i}`);
      return s;
    };
    const first = read(0);
    // More than SHN_LORESERVE sections: the count and the names' index live in section 0.
    const count = shnum === 0 ? first.size : shnum;
    const strndx = shstrndx === SHN_XINDEX ? first.link : shstrndx;
    this.checkRange(shoff, entsize * count, 'section header table');
    const sections = [first];
    for (let i = 1; i < count; i++) sections.push(read(i));
    if (strndx >= count && strndx !== 0 && strndx < SHN_LORESERVE) fail(`e_shstrndx ${strndx} is not a section (${count} sections)`);
    return { sections, shstrndx: strndx < count ? strndx : 0 };
  }

  private checkRange(offset: number, length: number, what: string): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.buffer.length) {
      fail(`${what} (offset ${offset}, ${length} bytes) lies outside the file (${this.buffer.length} bytes)`);
    }
  }

  private u16(at: number): number {
    this.checkRange(at, 2, 'field');
    return this.view.getUint16(at, this.littleEndian);
  }

  private u32(at: number): number {
    this.checkRange(at, 4, 'field');
    return this.view.getUint32(at, this.littleEndian);
  }

  private u64(at: number): bigint {
    this.checkRange(at, 8, 'field');
    return this.view.getBigUint64(at, this.littleEndian);
  }

  /** An address-sized field as a bigint. */
  private addr(at: number): bigint {
    return this.bits === 64 ? this.u64(at) : BigInt(this.u32(at));
  }

  /** An address-sized offset or size, as a number (a value past 2^53 cannot be in a Buffer). */
  private off(at: number): number {
    if (this.bits === 32) return this.u32(at);
    const v = this.u64(at);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`offset or size ${v} at ${at} is larger than any file`);
    return Number(v);
  }
}

function fail(message: string): never {
  throw new ElfFormatError(`malformed ELF: ${message}`);
}
