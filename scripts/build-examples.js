// Compiles every examples/<name>/*.bpf.c next to its compiled index.js
// (build/examples/<name>/), with the package's own build().
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { build } = require('../dist/toolchain/build');

const root = path.join(__dirname, '..');
async function main() {
  const jobs = [];
  for (const name of fs.readdirSync(path.join(root, 'examples'))) {
    const dir = path.join(root, 'examples', name);
    if (!fs.statSync(dir).isDirectory()) continue;
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.bpf.c'))) {
      jobs.push(build(path.join(dir, file), { output: path.join(root, 'build', 'examples', name, file.replace(/\.c$/, '.o')) }));
    }
  }
  await Promise.all(jobs);
}
main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
