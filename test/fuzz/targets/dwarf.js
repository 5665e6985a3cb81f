// Fuzz target: the DWARF reader (src/ts/dwarf/) on ELF objects built with -g: the type
// lookup the event buffers and map codecs fall back on (DwarfTypes: every named type found
// and converted to BTF), and what the symbolizer reads (FunctionTable over .debug_info and
// .debug_aranges, LineTable over .debug_line, whole and one unit at a time).
'use strict';
const path = require('node:path');

const dist = path.join(__dirname, '..', '..', '..', 'dist');

module.exports = {
  weight: 3, // relative share of the inputs (cheaper than an ELF load, dearer than raw BTF)
  name: 'dwarf',
  /** The fixtures that kept their DWARF (.debug_info). */
  extraSeeds(root, { elfSection }) {
    const fs = require('node:fs');
    const dir = path.join(root, 'build', 'fixtures');
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir).filter((f) => f.endsWith('.bpf.o'))
      .map((f) => fs.readFileSync(path.join(dir, f)))
      .filter((b) => b.length < 256 * 1024 && elfSection(b, '.debug_info')?.length);
  },
  /** Mutations land in these sections more often than elsewhere. */
  hotSections: ['.debug_info', '.debug_abbrev', '.debug_line', '.debug_str', '.debug_str_offsets', '.debug_line_str', '.debug_aranges'],
  async run(bytes) {
    const { DwarfTypes } = require(path.join(dist, 'dwarf', 'types'));
    const { FunctionTable } = require(path.join(dist, 'dwarf', 'functions'));
    const { LineTable } = require(path.join(dist, 'dwarf', 'lines'));
    const { elfInMemory } = require(path.join(dist, 'elf', 'lazy-file'));
    let src;
    try {
      src = elfInMemory(Buffer.from(bytes));
    } catch (e) {
      expected(e);
      return 'rejected';
    }
    let found = 0;
    try {
      const types = DwarfTypes.fromElf(src.elf);
      for (const name of (types?.names() ?? []).slice(0, 200)) {
        try {
          const t = types.find(name);
          if (t) {
            t.btf.typeById(t.id);
            found++;
          }
        } catch (e) {
          expected(e);
        }
      }
    } catch (e) {
      expected(e);
    }
    // The symbolizer's lookups over the first pages of code (a .o's functions start at 0).
    const probe = (f) => {
      try {
        return f();
      } catch (e) {
        expected(e);
        return undefined;
      }
    };
    const functions = probe(() => FunctionTable.fromElf(src));
    const lines = probe(() => LineTable.fromElf(src));
    const sections = probe(() => LineTable.sectionsOf(src));
    for (let a = 0; a < 0x1000; a += 8) {
      if (functions) probe(() => functions.lookup(a));
      if (lines) probe(() => lines.lookup(a));
      const at = functions && probe(() => functions.lineProgramFor(a));
      if (sections && at !== undefined) probe(() => LineTable.parseUnitAt(sections.bytes, at, sections.strings, src.elf.littleEndian).lookup(a));
    }
    return found > 0 ? 'loaded' : 'refused';
  },
};

// The reader's own errors for malformed input; V8's (an out-of-bounds DataView read, a
// property of undefined, a too-large array, stack overflow) are findings.
function expected(e) {
  const { DwarfFormatError } = require(path.join(dist, 'dwarf', 'reader'));
  const { ElfFormatError } = require(path.join(dist, 'elf', 'file'));
  const { BpfError } = require(dist);
  if (e instanceof DwarfFormatError || e instanceof ElfFormatError || e instanceof BpfError) return;
  if (e instanceof TypeError || e instanceof RangeError) {
    if (/Cannot read properties|is not a function|is not iterable|Maximum call stack|outside the bounds|Invalid (typed )?array length|Array buffer allocation/.test(e.message)) throw e;
    return;
  }
  throw e;
}
