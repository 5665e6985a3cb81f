// Fuzz target: an ELF object through BpfObject.open(), its maps/programs/BTF/globals, and
// load() (bounded by maxMapMemory, so a mutated map size cannot take the machine's memory).
'use strict';
const path = require('node:path');

const dist = path.join(__dirname, '..', '..', '..', 'dist');

module.exports = {
  weight: 1, // relative share of the inputs
  name: 'elf',
  extraSeeds(root) {
    const fs = require('node:fs');
    const dir = path.join(root, 'build', 'fixtures');
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir).filter((f) => f.endsWith('.bpf.o'))
      .map((f) => fs.readFileSync(path.join(dir, f)))
      .filter((b) => b.length < 256 * 1024);
  },
  /** Mutations land in these sections more often than elsewhere. */
  hotSections: ['.BTF', '.BTF.ext', '.maps', '.rodata', '.data'],
  async run(bytes) {
    const { BpfObject, BpfError } = require(dist);
    let obj;
    try {
      obj = BpfObject.open(bytes, { maxMapMemory: 64 << 20, name: 'fuzz' });
    } catch (e) {
      expected(e, BpfError);
      return 'rejected';
    }
    try {
      for (const m of obj.maps()) void [m.name, m.type, m.keySize, m.valueSize, m.maxEntries];
      for (const p of obj.programs()) void [p.name, p.type];
      try {
        const btf = obj.btf;
        if (btf) for (const t of btf) btf.typeName(t.id);
        void Object.keys(obj.globals);
      } catch (e) {
        expected(e, BpfError);
      }
      try {
        await obj.load();
        return 'loaded';
      } catch (e) {
        expected(e, BpfError);
        return 'refused';
      }
    } finally {
      obj.close();
    }
  },
};

// Ours: a BpfError (whatever the kernel or libbpf said: a verifier log may well read "is
// not a function"), or a TypeError/RangeError in our words, not V8's.
function expected(e, BpfError) {
  if (e instanceof BpfError) return;
  if (e instanceof TypeError || e instanceof RangeError) {
    if (/Cannot read properties|is not a function|is not iterable|Maximum call stack/.test(e.message)) throw e;
    return;
  }
  throw e;
}
