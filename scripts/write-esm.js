// The package is compiled to CommonJS; for every entry in package.json's `exports` whose
// `import` condition names a .mjs file, this writes that file (real named exports over the
// CommonJS module, so `import { BpfObject } from 'node-libbpf'` and `import { build } from
// 'node-libbpf/toolchain'` work) and its types beside
// it as .d.mts (so TypeScript sees an ES module there, not CommonJS types masquerading).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const { exports: entries } = require(path.join(root, 'package.json'));

for (const [entry, conditions] of Object.entries(entries)) {
  const esm = conditions?.import?.default;
  const cjs = conditions?.require?.default;
  if (!esm?.endsWith('.mjs') || !cjs) continue;
  const cjsFile = path.join(root, cjs);
  const esmFile = path.join(root, esm);
  const rel = `./${path.basename(cjs)}`;
  const names = Object.keys(require(cjsFile)).filter((n) => n !== 'default' && n !== '__esModule');
  fs.writeFileSync(esmFile, [
    `import cjs from '${rel}';`,
    ...names.map((n) => `export const ${n} = cjs.${n};`),
    'export default cjs;',
    '',
  ].join('\n'));
  const types = conditions.import.types;
  if (types) {
    fs.writeFileSync(path.join(root, types), [
      `// ES module types of ${entry}: the same declarations as the CommonJS entry.`,
      `export * from '${rel}';`,
      `import * as cjs from '${rel}';`,
      'export default cjs;',
      '',
    ].join('\n'));
  }
}
