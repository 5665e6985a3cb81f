// The package is compiled to CommonJS; this writes an .mjs beside each entry (dist/index.mjs,
// dist/toolchain/index.mjs, dist/metrics/index.mjs) so that `import { BpfObject } from 'node-libbpf'` and
// `import { build } from 'node-libbpf/toolchain'` get real named exports too.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist');
for (const entry of ['index', 'toolchain/index', 'metrics/index']) {
  const file = path.join(dist, `${entry}.js`);
  const names = Object.keys(require(file)).filter((n) => n !== 'default' && n !== '__esModule');
  const lines = [
    "import cjs from './index.js';",
    ...names.map((n) => `export const ${n} = cjs.${n};`),
    'export default cjs;',
    '',
  ];
  fs.writeFileSync(path.join(dist, `${entry}.mjs`), lines.join('\n'));
}
