// The ELF reader: real BPF objects (checked against llvm-readelf), synthetic files in every
// class and byte order (with a zlib-compressed section), and malformed input (every
// truncation, random corruption) that must give ElfFormatError and nothing worse.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { ElfFile, ElfFormatError, SHF_COMPRESSED, SHT_PROGBITS, SHT_STRTAB } from '../../src/ts/elf/file';
import { fixture } from '../support/helpers';

interface SynthSection { name: string; type?: number; flags?: number; data: Buffer }

/** A relocatable ELF with the given sections (plus the null section and .shstrtab). */
function synthElf(bits: 32 | 64, le: boolean, sections: SynthSection[]): Buffer {
  const names = ['', ...sections.map((s) => s.name), '.shstrtab'];
  const nameOff: number[] = [];
  let strtab = Buffer.alloc(0);
  for (const n of names) {
    nameOff.push(n === '' ? 0 : strtab.length);
    strtab = Buffer.concat([strtab, Buffer.from(n + '\0', 'latin1')]);
  }
  const all = [...sections, { name: '.shstrtab', type: SHT_STRTAB, data: strtab }];
  const ehsize = bits === 64 ? 64 : 52;
  const shentsize = bits === 64 ? 64 : 40;
  const offsets: number[] = [];
  let at = ehsize;
  for (const s of all) { offsets.push(at); at += s.data.length; }
  at = (at + 7) & ~7;
  const shoff = at;
  const out = Buffer.alloc(shoff + shentsize * (all.length + 1));
  const w16 = (o: number, v: number) => (le ? out.writeUInt16LE(v, o) : out.writeUInt16BE(v, o));
  const w32 = (o: number, v: number) => (le ? out.writeUInt32LE(v, o) : out.writeUInt32BE(v, o));
  const w64 = (o: number, v: number) => (le ? out.writeBigUInt64LE(BigInt(v), o) : out.writeBigUInt64BE(BigInt(v), o));
  out.writeUInt32BE(0x7f454c46, 0);
  out[4] = bits === 64 ? 2 : 1; out[5] = le ? 1 : 2; out[6] = 1;
  w16(16, 1); w16(18, 247); w32(20, 1);
  if (bits === 64) { w64(40, shoff); w16(52, ehsize); w16(58, shentsize); w16(60, all.length + 1); w16(62, all.length); }
  else { w32(32, shoff); w16(40, ehsize); w16(46, shentsize); w16(48, all.length + 1); w16(50, all.length); }
  all.forEach((s, i) => {
    s.data.copy(out, offsets[i]);
    const p = shoff + shentsize * (i + 1);
    w32(p, nameOff[i + 1]); w32(p + 4, s.type ?? SHT_PROGBITS);
    if (bits === 64) { w64(p + 8, s.flags ?? 0); w64(p + 24, offsets[i]); w64(p + 32, s.data.length); w64(p + 48, 1); }
    else { w32(p + 8, s.flags ?? 0); w32(p + 16, offsets[i]); w32(p + 20, s.data.length); w32(p + 32, 1); }
  });
  return out;
}

/** A SHF_COMPRESSED section's bytes: the Elf32/64_Chdr, then the zlib stream. */
function compressed(bits: 32 | 64, le: boolean, plain: Buffer): Buffer {
  const hdr = Buffer.alloc(bits === 64 ? 24 : 12);
  const w32 = (o: number, v: number) => (le ? hdr.writeUInt32LE(v, o) : hdr.writeUInt32BE(v, o));
  w32(0, 1);
  if (bits === 64) le ? hdr.writeBigUInt64LE(BigInt(plain.length), 8) : hdr.writeBigUInt64BE(BigInt(plain.length), 8);
  else w32(4, plain.length);
  return Buffer.concat([hdr, zlib.deflateSync(plain)]);
}

const payload = Buffer.from('hello, sections\0'.repeat(20));

describe('ElfFile on a BPF object', () => {
  const file = fixture('foreign_events');
  const elf = ElfFile.parse(fs.readFileSync(file));

  test('the header: ELF64, little endian, relocatable, EM_BPF', () => {
    expect([elf.bits, elf.littleEndian, elf.type, elf.machine]).toEqual([64, true, 1, 247]);
    expect(elf.programHeaders).toEqual([]);
  });

  test('section names, types, offsets and sizes agree with llvm-readelf', () => {
    const r = spawnSync('llvm-readelf', ['-S', '--wide', file], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const rows = r.stdout.split('\n').map((l) => /^\s*\[\s*(\d+)\]\s+(\S*)\s+\S+\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)/.exec(l)).filter((m) => m !== null);
    expect(rows.length).toBe(elf.sections.length);
    for (const m of rows.slice(1)) { // row 0, the null section, has no name to parse
      const s = elf.sections[Number(m![1])];
      expect([s.name, s.offset, s.size]).toEqual([m![2], parseInt(m![3], 16), parseInt(m![4], 16)]);
    }
    expect(elf.sections[0]).toMatchObject({ name: '', type: 0, size: 0 });
  });

  test('sectionData by name and by index: .BTF starts with its magic', () => {
    const btf = elf.sectionData('.BTF');
    expect(btf.readUInt16LE(0)).toBe(0xeb9f);
    expect(elf.sectionData(elf.section('.BTF')!.index).equals(btf)).toBe(true);
    expect(elf.section('.debug_info')).toBeDefined();
    expect(elf.section('.nope')).toBeUndefined();
    expect(() => elf.sectionData('.nope')).toThrow(RangeError);
    expect(() => elf.sectionData(elf.sections.length)).toThrow(RangeError);
  });
});

describe.each([[64, true], [64, false], [32, true], [32, false]] as const)('ElfFile, ELF%d little endian %s', (bits, le) => {
  const buf = synthElf(bits, le, [
    { name: '.data', data: payload },
    { name: '.zdata', flags: SHF_COMPRESSED, data: compressed(bits, le, payload) },
  ]);
  const elf = ElfFile.parse(buf);

  test('header and sections', () => {
    expect([elf.bits, elf.littleEndian, elf.machine]).toEqual([bits, le, 247]);
    expect(elf.sections.map((s) => s.name)).toEqual(['', '.data', '.zdata', '.shstrtab']);
    expect(elf.sectionData('.data').equals(payload)).toBe(true);
  });

  test('a SHF_COMPRESSED zlib section inflates', () => {
    expect(elf.sectionData('.zdata').equals(payload)).toBe(true);
  });

  test('sectionPrefix() inflates a compressed section only as far as asked, and gives a true prefix', () => {
    // 4 MB of varied bytes: a prefix of a few hundred KB inflates from a part of the stream.
    const big = Buffer.alloc(4 << 20);
    for (let i = 0, x = 1; i < big.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      big[i] = i % 64 < 40 ? (x >>> 24) & 0x0f : i & 0xff;
    }
    const e = ElfFile.parse(synthElf(bits, le, [{ name: '.data', data: payload }, { name: '.zbig', flags: SHF_COMPRESSED, data: compressed(bits, le, big) }]));
    const head = e.sectionPrefix('.zbig', 300000);
    expect(head.length).toBeGreaterThanOrEqual(300000);
    expect(head.length).toBeLessThan(big.length);
    expect(head.equals(big.subarray(0, head.length))).toBe(true);
    const more = e.sectionPrefix('.zbig', head.length + 1);
    expect(more.length).toBeGreaterThan(head.length);
    expect(more.equals(big.subarray(0, more.length))).toBe(true);
    expect(e.sectionPrefix('.zbig', 4 << 20).equals(big)).toBe(true); // all of it
    expect(e.sectionPrefix('.zbig', 10).equals(big)).toBe(true); // once whole, whole
    expect(e.sectionPrefix('.data', 3).equals(payload)).toBe(true); // not compressed: all of it
  });

  test('a compressed section that lies about its size, or does not inflate, is an ElfFormatError', () => {
    const bad = compressed(bits, le, payload);
    bad[bad.length - 3] ^= 0xff;
    const liar = compressed(bits, le, payload);
    if (bits === 64) le ? liar.writeBigUInt64LE(10n, 8) : liar.writeBigUInt64BE(10n, 8);
    else le ? liar.writeUInt32LE(10, 4) : liar.writeUInt32BE(10, 4);
    for (const data of [bad, liar, Buffer.alloc(3)]) {
      const e = ElfFile.parse(synthElf(bits, le, [{ name: '.z', flags: SHF_COMPRESSED, data }]));
      expect(() => e.sectionData('.z')).toThrow(ElfFormatError);
    }
  });
});

describe('ElfFile on malformed input', () => {
  test('not an ELF, bad class or data', () => {
    expect(() => ElfFile.parse(Buffer.from('hello world, not elf'))).toThrow(/no \\x7fELF magic/);
    const bad = synthElf(64, true, []);
    bad[4] = 9;
    expect(() => ElfFile.parse(bad)).toThrow(/EI_CLASS 9/);
    expect(() => ElfFile.parse('x' as unknown as Buffer)).toThrow(TypeError);
  });

  // Every prefix of a file either parses (and then reads every section) or is refused with
  // ElfFormatError: no RangeError from a Buffer, no other exception, no hang.
  test('every truncation of a small file', () => {
    const full = synthElf(64, true, [{ name: '.data', data: payload }, { name: '.z', flags: SHF_COMPRESSED, data: compressed(64, true, payload) }]);
    for (let n = 0; n < full.length; n++) expect(tryAll(full.subarray(0, n))).toBe('ok');
  });

  test('random corruption of a real object', () => {
    const real = fs.readFileSync(fixture('foreign_events'));
    let seed = 12345;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    for (let round = 0; round < 300; round++) {
      const b = Buffer.from(real);
      // Corrupt the headers more often than the data: that is where the reader could go wrong.
      for (let k = 0; k < 8; k++) {
        const where = rand(3) === 0 ? rand(64) : rand(2) === 0 ? b.length - 1 - rand(Math.min(b.length, 2048)) : rand(b.length);
        b[where] = rand(256);
      }
      expect(tryAll(b)).toBe('ok');
    }
  });
});

function tryAll(b: Buffer): string {
  try {
    const elf = ElfFile.parse(b);
    for (const s of elf.sections) {
      try {
        elf.sectionData(s.index);
      } catch (e) {
        if (!(e instanceof ElfFormatError)) return `sectionData: ${String(e)}`;
      }
    }
  } catch (e) {
    if (!(e instanceof ElfFormatError)) return `parse: ${String(e)}`;
  }
  return 'ok';
}
