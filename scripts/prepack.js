// `npm pack` / `npm publish` stop here unless every platform package.json lists (cpu x libc)
// has its prebuild in prebuilds/, and each passes scripts/shipped-binaries.js (only glibc's
// libraries NEEDED, nothing above the glibc floor, the right machine). Without this a pack
// with no prebuilds/ silently ships a package that only works where a compiler is.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { PLATFORMS, inspect, problems, prebuildsFresh } = require('./shipped-binaries.js');

const root = path.join(__dirname, '..');
const errors = [];
// Licence texts of the statically linked libraries, copied from their verified sources
// (third-party files are never committed; they ship in the tarball). THIRD_PARTY_NOTICES.md
// names them.
const LICENSES = {
  'libbpf-LICENSE.BSD-2-Clause': 'deps/libbpf/src/LICENSE.BSD-2-Clause',
  'elfutils-COPYING-LGPLV3': 'deps/elfutils/src/COPYING-LGPLV3',
  'elfutils-COPYING': 'deps/elfutils/src/COPYING',
  'zlib-LICENSE': 'deps/zlib/src/LICENSE',
};
fs.mkdirSync(path.join(root, 'licenses'), { recursive: true });
for (const [name, from] of Object.entries(LICENSES)) {
  if (fs.existsSync(path.join(root, from))) fs.copyFileSync(path.join(root, from), path.join(root, 'licenses', name));
  else errors.push(`${from} is missing (run the fetch scripts: bash scripts/setup.sh)`);
}
for (const { arch, file } of PLATFORMS) {
  const rel = path.relative(root, file);
  if (!fs.existsSync(file)) {
    errors.push(`${rel} is missing (package.json lists cpu ${arch}); run \`npm run prebuilds\` (as root)`);
    continue;
  }
  for (const p of problems(inspect(file), arch)) errors.push(`${rel}: ${p}`);
}
if (!prebuildsFresh()) {
  errors.push('prebuilds/ were built from other native sources than these (prebuilds/sources.sha256); run `npm run prebuilds`');
}
for (const f of ['LICENSE', 'THIRD_PARTY_NOTICES.md']) {
  if (!fs.existsSync(path.join(root, f))) errors.push(`${f} is missing`);
}
if (errors.length) {
  console.error(`prepack: not packing a broken package:\n  ${errors.join('\n  ')}`);
  process.exit(1);
}
console.error(`prepack: prebuilds for ${PLATFORMS.map((p) => `linux-${p.arch}`).join(', ')} checked`);
