// What a shipped .node may depend on, read with readelf: its NEEDED libraries and the
// glibc symbol versions it requires. Used by scripts/prebuild.sh after each build, by
// scripts/prepack.js before `npm pack`, and by test/reach/shipped-binaries.test.ts.
//
//   node scripts/shipped-binaries.js FILE...       prints each binary's facts; exit 1 on a problem
//   node scripts/shipped-binaries.js --fingerprint  the native sources' hash (prebuilds/sources.sha256)
//   node scripts/shipped-binaries.js --fresh        exit 0 when every prebuild is there and current
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const GLIBC_FLOOR = '2.31';
// glibc's own libraries; anything else (libelf, libz, libstdc++, libgcc_s) must be linked in.
const ALLOWED_NEEDED = new Set([
  'libc.so.6', 'libm.so.6', 'libpthread.so.0', 'libdl.so.2',
  'ld-linux-x86-64.so.2', 'ld-linux-aarch64.so.1',
]);
const MACHINES = { x64: 'Advanced Micro Devices X86-64', arm64: 'AArch64' };
// The platforms the package ships a binary for: package.json's cpu list, glibc.
const root = path.join(__dirname, '..');
const PLATFORMS = require(path.join(root, 'package.json')).cpu.map((arch) => ({
  arch,
  file: path.join(root, 'prebuilds', `linux-${arch}`, 'node.napi.glibc.node'),
}));

const readelf = (args, file) => execFileSync('readelf', [...args, file], { encoding: 'utf8' });

function compareVersions(a, b) {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The facts of one binary: machine, NEEDED libraries, required symbol versions. */
function inspect(file) {
  const machine = /Machine:\s+(.+)/.exec(readelf(['-h'], file))[1].trim();
  const needed = [...readelf(['-d'], file).matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  // -V lists .gnu.version_r: every version the binary needs, per library.
  const versions = [...new Set([...readelf(['-V', '--wide'], file).matchAll(/Name: ([A-Z_]+[0-9][0-9.]*)\s+Flags/g)].map((m) => m[1]))];
  const glibc = versions.filter((v) => v.startsWith('GLIBC_')).map((v) => v.slice(6)).sort(compareVersions);
  return { file, machine, needed, versions, glibcMax: glibc.at(-1) };
}

/** What is wrong with a binary for `arch` (empty when nothing is). */
function problems(facts, arch) {
  const out = [];
  if (arch && facts.machine !== MACHINES[arch]) out.push(`machine is ${facts.machine}, expected ${MACHINES[arch]}`);
  for (const lib of facts.needed) if (!ALLOWED_NEEDED.has(lib)) out.push(`needs ${lib} (only glibc's libraries may be NEEDED)`);
  for (const v of facts.versions) {
    if (v.startsWith('GLIBC_') && compareVersions(v.slice(6), GLIBC_FLOOR) > 0) out.push(`needs ${v} (floor GLIBC_${GLIBC_FLOOR})`);
    else if (!v.startsWith('GLIBC_')) out.push(`needs symbol version ${v} (not glibc's)`);
  }
  return out;
}

// The inputs of a native build: when they change, the prebuilds are stale. Content hashes
// (not mtimes: a checkout resets those), written by scripts/prebuild.sh beside the binaries.
const FINGERPRINT_FILE = path.join(root, 'prebuilds', 'sources.sha256');
function listFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]);
}
function sourceFingerprint() {
  const files = [
    'binding.gyp', 'deps/libbpf.gyp', 'deps/elfutils.gyp', 'deps/zlib.gyp',
    'deps/libbpf/VERSION', 'deps/elfutils/VERSION', 'deps/elfutils/config.h.in', 'deps/zlib/VERSION',
  ].map((f) => path.join(root, f));
  for (const dir of ['src/native', 'deps/elfutils/patches', 'deps/zlib/patches', 'deps/libbpf/patches']) {
    files.push(...listFiles(path.join(root, dir)));
  }
  const hash = require('node:crypto').createHash('sha256');
  for (const f of files.filter((f) => fs.existsSync(f)).sort()) {
    hash.update(`${path.relative(root, f)}\0`).update(fs.readFileSync(f)).update('\0');
  }
  return hash.digest('hex');
}
const prebuildsFresh = () =>
  fs.existsSync(FINGERPRINT_FILE) && fs.readFileSync(FINGERPRINT_FILE, 'utf8').trim() === sourceFingerprint();

const archOf = (file) => /linux-(x64|arm64)/.exec(file)?.[1];

if (require.main === module) {
  if (process.argv[2] === '--fingerprint') {
    console.log(sourceFingerprint());
    process.exit(0);
  }
  if (process.argv[2] === '--fresh') {
    const fresh = prebuildsFresh() && PLATFORMS.every((p) => fs.existsSync(p.file));
    process.exit(fresh ? 0 : 1);
  }
  const files = process.argv.slice(2);
  let bad = 0;
  for (const file of files) {
    if (!fs.existsSync(file)) { console.error(`${file}: missing`); bad++; continue; }
    const facts = inspect(file);
    const found = problems(facts, archOf(file));
    console.log(`${path.relative(process.cwd(), file)}: ${facts.machine}; NEEDED ${facts.needed.join(', ')}; newest GLIBC_${facts.glibcMax}`);
    for (const p of found) console.error(`  ${p}`);
    bad += found.length;
  }
  process.exit(bad ? 1 : 0);
}

module.exports = {
  GLIBC_FLOOR, ALLOWED_NEEDED, PLATFORMS, FINGERPRINT_FILE,
  inspect, problems, compareVersions, sourceFingerprint, prebuildsFresh,
};
