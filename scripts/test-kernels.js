#!/usr/bin/env node
// `npm run test:kernels`: the kernel-dependent test files on this host, then inside each
// guest kernel under qemu (two VMs at a time), and one table of the results.
//
//   node scripts/test-kernels.js [--kernels 5.10,6.1,6.12,newest] [-j N] [--files a,b]
//                                [--fixtures DIR | --strip-core] [--no-host] [--timeout SEC]
//
// The fixtures are compiled once, on the host, by the host run (test/support/global-setup.ts);
// the guests load those very files (NODE_LIBBPF_FIXTURES), they never compile.
// --fixtures DIR points the guests at other objects; --strip-core points them at copies of
// the fixtures without their CO-RE relocations (.BTF.ext removed), which must fail.
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const dist = path.join(root, 'dist', 'vm');
const { fetchKernel, KNOWN_KERNELS } = require(path.join(dist, 'debian.js'));
const { runInVm } = require(path.join(dist, 'qemu.js'));
const { kernelAllowsFor } = require(path.join(dist, 'allows.js'));

// The test files that exercise the kernel. Left out: pure codecs and error classes
// (btf-codec, errors, vm), packaging and style checks (package, tool-style), the README
// and example runner (examples), which compiles and spawns npm, and lifetime, which
// checks the addon's handles and GC with 1000 load/attach cycles under fixed 60 s
// timeouts: none of them says anything about the kernel version, and each costs minutes
// of emulated CPU in a guest (lifetime alone times out under TCG).
const KERNEL_TEST_FILES = [
  'attach/kernel-gated', 'core/object', 'core/program', 'core/link', 'core/map', 'core/map-types', 'core/map-shared',
  'core/globals', 'core/globals-structs', 'events/ring-buffer', 'events/perf-buffer', 'events/user-ring-buffer',
  'core/upgrade', 'examples/syscount',
];

function parseArgs(argv) {
  const opts = {
    kernels: Object.keys(KNOWN_KERNELS), jobs: Math.min(2, os.cpus().length), files: KERNEL_TEST_FILES,
    fixtures: undefined, stripCore: false, host: true, timeout: 1200,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => { if (i + 1 >= argv.length) throw new Error(`${a} needs a value`); return argv[++i]; };
    if (a === '--kernels') opts.kernels = value().split(',').filter(Boolean);
    else if (a === '-j' || a === '--jobs') opts.jobs = Number(value());
    else if (a === '--files') opts.files = value().split(',').filter(Boolean);
    else if (a === '--fixtures') opts.fixtures = path.resolve(value());
    else if (a === '--strip-core') opts.stripCore = true;
    else if (a === '--no-host') opts.host = false;
    else if (a === '--timeout') opts.timeout = Number(value());
    else if (a === '-h' || a === '--help') { process.stdout.write(fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 11).join('\n').replace(/^\/\/ ?/gm, '') + '\n'); process.exit(0); }
    else throw new Error(`unknown option ${a}`);
  }
  if (!Number.isInteger(opts.jobs) || opts.jobs < 1) throw new Error('-j: expected a positive integer');
  return opts;
}

const testPaths = (files) => files.map((f) => `test/${f}.test.ts`);

function jestArgs(files, cacheDir, jsonOut) {
  return [
    path.join(root, 'node_modules', 'jest', 'bin', 'jest.js'),
    '--config', 'test/kernels/jest.config.js', '--ci', '--runInBand',
    '--cacheDirectory', cacheDir, '--json', '--outputFile', jsonOut, ...testPaths(files),
  ];
}

/** passed/failed/skipped of a jest --json file; failed includes files that failed to run. */
function readJest(file) {
  if (!fs.existsSync(file)) return undefined;
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  const failedNames = [];
  for (const t of r.testResults) {
    for (const a of t.assertionResults) if (a.status === 'failed') failedNames.push(`${path.basename(t.name)}: ${a.fullName}`);
    if (t.status === 'failed' && t.assertionResults.every((a) => a.status !== 'failed')) failedNames.push(`${path.basename(t.name)}: ${(t.message || 'failed to run').split('\n').find((l) => l.trim()) ?? ''}`);
  }
  // Seconds per test file, slowest first: where a kernel's time went.
  const files = r.testResults
    .map((t) => ({ file: path.basename(t.name).replace(/\.test\.ts$/, ''), seconds: (t.endTime - t.startTime) / 1000 }))
    .sort((a, b) => b.seconds - a.seconds);
  return {
    passed: r.numPassedTests,
    failed: r.numFailedTests + r.numRuntimeErrorTestSuites,
    skipped: r.numPendingTests + r.numTodoTests,
    failedNames,
    files,
  };
}

function runHost(opts, outDir, cacheDir) {
  const json = path.join(outDir, 'host.json');
  const log = fs.openSync(path.join(outDir, 'host.log'), 'w');
  const env = { ...process.env };
  delete env.NODE_LIBBPF_FIXTURES; // the host run compiles them into build/fixtures
  delete env.NODE_LIBBPF_KERNEL_ALLOWS;
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, jestArgs(opts.files, cacheDir, json), { cwd: root, env, stdio: ['ignore', log, log] });
    child.on('close', (code) => {
      fs.closeSync(log);
      resolve({ name: `host ${os.release()}`, seconds: (Date.now() - t0) / 1000, exitCode: code, results: readJest(json), allows: '' });
    });
  });
}

function llvmObjcopy() {
  for (const bin of ['llvm-objcopy', ...Array.from({ length: 12 }, (_, i) => `llvm-objcopy-${22 - i}`)]) {
    try {
      execFileSync(bin, ['--version'], { stdio: 'ignore' });
      return bin;
    } catch { /* next */ }
  }
  throw new Error('--strip-core needs llvm-objcopy (Debian: apt-get install llvm-19)');
}

/** Copies of the fixtures without CO-RE relocations: field offsets stay those of the host's vmlinux.h. */
function stripCore(from, to) {
  const objcopy = llvmObjcopy();
  fs.rmSync(to, { recursive: true, force: true });
  fs.mkdirSync(to, { recursive: true });
  for (const f of fs.readdirSync(from).filter((n) => n.endsWith('.bpf.o'))) {
    execFileSync(objcopy, ['--remove-section=.BTF.ext', '--remove-section=.rel.BTF.ext', path.join(from, f), path.join(to, f)]);
  }
  return to;
}

// Ctrl-C or a kill (CI's timeout) stops the VMs too: qemu is a child process.
const stopAll = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => stopAll.abort());

async function runGuest(spec, opts, outDir, cacheDir, fixtures) {
  let kernel;
  try {
    kernel = fetchKernel(spec, { log: (l) => console.log(`# ${spec}: ${l}`) });
  } catch (e) {
    return { name: spec, seconds: 0, exitCode: null, failure: e.message, allows: '' };
  }
  const allows = kernelAllowsFor(kernel).join(',');
  const guestOut = path.join(outDir, kernel.release);
  fs.mkdirSync(guestOut, { recursive: true });
  const log = fs.createWriteStream(path.join(outDir, `${kernel.release}.log`));
  // The guest sees the project read-only. jest's transform cache, warmed by the host run,
  // is keyed by the whole configuration (cacheDirectory included), so the guest uses the
  // same path: a writable copy in its tmpfs, bound over the read-only original.
  const jest = ['node', ...jestArgs(opts.files, cacheDir, '/tmp/nlb-vm/out/jest.json')];
  const prepare = `mkdir -p ${cacheDir} && cp -a ${cacheDir} /tmp/jest-cache && mount --bind /tmp/jest-cache ${cacheDir}`;
  const command = ['sh', '-c', `${prepare} || echo "no writable jest cache"; exec "$@"`, 'sh', ...jest];
  const result = await runInVm(kernel, {
    command,
    cwd: root,
    env: { NODE_LIBBPF_FIXTURES: fixtures, NODE_LIBBPF_KERNEL_ALLOWS: allows, CI: '1' },
    outDir: guestOut,
    memoryMiB: 1536,
    timeoutSec: opts.timeout,
    onLine: (line) => log.write(`${line}\n`),
    signal: stopAll.signal,
  });
  await new Promise((r) => log.end(r));
  return {
    name: kernel.release, seconds: result.seconds, bootSeconds: result.bootSeconds, exitCode: result.exitCode, accel: result.accel,
    failure: result.failure, results: readJest(path.join(guestOut, 'jest.json')), allows,
  };
}

async function pool(items, jobs, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  }));
  return out;
}

function table(rows) {
  const head = ['kernel', 'passed', 'failed', 'skipped', 'seconds', 'allows'];
  const body = rows.map((r) => [
    r.name,
    String(r.results?.passed ?? '-'),
    String(r.results ? r.results.failed : '-'),
    String(r.results?.skipped ?? '-'),
    r.seconds.toFixed(0),
    r.allows || '-',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) => cells.map((c, i) => (i >= 1 && i <= 4 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(head), ...body.map(line)].join('\n');
}

function ok(row) {
  return row.exitCode === 0 && row.results && row.results.failed === 0 && row.results.passed > 0;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const outDir = path.join(root, 'build', 'kernels', new Date().toISOString().replace(/[:.]/g, '-'));
  fs.mkdirSync(outDir, { recursive: true });
  const cacheDir = path.join(root, 'build', 'jest-cache');
  fs.mkdirSync(cacheDir, { recursive: true }); // the guests see the host's tree read-only (--no-host made none)
  const fixturesDir = path.join(root, 'build', 'fixtures');
  // Fetch (or find in the cache) every kernel before starting any VM: downloads don't race the VMs.
  for (const spec of opts.kernels) {
    try {
      fetchKernel(spec, { log: (l) => console.log(`# ${spec}: ${l}`) });
    } catch (e) {
      console.log(`# ${spec}: ${e.message}`);
    }
  }
  const rows = [];
  if (opts.host) {
    console.log(`# host: ${opts.files.length} test files (compiles the fixtures, warms jest's cache)`);
    rows.push(await runHost(opts, outDir, cacheDir));
  } else if (!fs.existsSync(fixturesDir) && !opts.fixtures) {
    throw new Error('--no-host needs fixtures built by a host run (npm test) or --fixtures DIR');
  }
  let fixtures = opts.fixtures ?? fixturesDir;
  if (opts.stripCore) fixtures = stripCore(fixturesDir, path.join(root, 'build', 'fixtures-nocore'));
  console.log(`# guests: ${opts.kernels.join(', ')}, ${opts.jobs} at a time; fixtures ${path.relative(root, fixtures) || fixtures}`);
  const guests = await pool(opts.kernels, opts.jobs, async (spec) => {
    const row = await runGuest(spec, opts, outDir, cacheDir, fixtures);
    const how = row.accel === 'tcg' ? ' under software emulation' : '';
    console.log(`# ${row.name}: ${ok(row) ? 'ok' : 'FAILED'} in ${row.seconds.toFixed(0)} s${how}${row.failure ? ` (${row.failure})` : ''}`);
    return row;
  });
  rows.push(...guests);
  console.log('');
  console.log(table(rows));
  console.log('');
  for (const r of rows.filter((x) => x.results?.files.length)) {
    console.log(`# ${r.name} per file (s): ${r.results.files.map((f) => `${f.file} ${f.seconds.toFixed(0)}`).join(', ')}`);
  }
  for (const r of rows.filter((x) => !ok(x))) {
    console.log(`\n${r.name}: ${r.failure ?? `exit ${r.exitCode}`}`);
    for (const n of r.results?.failedNames ?? []) console.log(`  ✕ ${n}`);
  }
  const failed = rows.filter((r) => !ok(r)).length;
  // The guests' totals for .ci/run (`passed failed skipped`); a VM that never reported counts as one failure.
  const sum = (k) => guests.reduce((n, r) => n + (r.results ? r.results[k] : k === 'failed' ? 1 : 0), 0);
  fs.writeFileSync(path.join(root, 'build', 'kernels', 'summary.txt'), `${sum('passed')} ${sum('failed')} ${sum('skipped')}\n`);
  console.log(`\n# ${rows.length - failed}/${rows.length} kernels passed in ${((Date.now() - t0) / 1000).toFixed(0)} s; logs in ${path.relative(root, outDir)}`);
  return failed ? 1 : 0;
}

main().then((code) => process.exit(code), (e) => {
  console.error(`test-kernels: ${e.message}`);
  process.exit(2);
});
