// Fuzz target: raw BTF through our parser (Btf.parse), libbpf's (btf__new, via Btf.fromFile's
// path: the addon's btfRawData), validateBtf() and libbpf's btf_dump (toCHeader).
'use strict';
const path = require('node:path');

const dist = path.join(__dirname, '..', '..', '..', 'dist');

module.exports = {
  weight: 4, // relative share of the inputs
  name: 'btf',
  /** Where its seeds live besides test/fuzz/corpus/btf: the fixtures' .BTF sections. */
  extraSeeds(root, { elfSection }) {
    const fs = require('node:fs');
    const dir = path.join(root, 'build', 'fixtures');
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir).filter((f) => f.endsWith('.bpf.o'))
      .map((f) => elfSection(fs.readFileSync(path.join(dir, f)), '.BTF'))
      .filter((b) => b && b.length < 64 * 1024);
  },
  async run(bytes) {
    const { Btf } = require(dist);
    const { addon } = require(path.join(dist, 'base', 'native'));
    let btf;
    try {
      btf = Btf.fromLibbpf(addon.btfRawData(bytes), undefined, 'input'); // libbpf parses first
    } catch (e) {
      expected(e);
      try {
        btf = Btf.parse(bytes);
      } catch (e2) {
        expected(e2);
        return 'rejected';
      }
    }
    for (let id = 1; id <= Math.min(btf.typeCount, 300); id++) {
      try {
        const t = btf.typeById(id);
        btf.typeName(id);
        if (t.name) btf.find(t.name);
        btf.type(id);
      } catch (e) {
        expected(e);
      }
    }
    try {
      btf.toCHeader();
      return 'header';
    } catch (e) {
      expected(e);
      return 'refused';
    }
  },
};

// What a bad input may throw: our errors. Anything else (a V8 TypeError about undefined, an
// internal assertion) is a finding too, reported as 'unexpected'.
function expected(e) {
  const { BpfError } = require(dist);
  if (e instanceof BpfError) return; // libbpf's or the kernel's words, whatever they say
  if (e instanceof TypeError || e instanceof RangeError) {
    if (/Cannot read properties|is not a function|is not iterable|Maximum call stack/.test(e.message)) throw e;
    return;
  }
  throw e;
}
