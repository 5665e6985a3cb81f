'use strict';
// Helpers shared by the benchmarks: paths, CPU pinning, the C/libbpf baseline
// (/work/shared/bench/c/run.sh, built against the project's own libbpf source),
// keeping dist/ fresh, and formatting.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const BUILD = path.join(ROOT, 'build');
/** Where the C baseline lives; BENCH_C_DIR overrides it. */
const C_DIR = process.env.BENCH_C_DIR || '/work/shared/bench/c';
/** run.sh's output directory (libbpf.a, vmlinux.h, the baseline binary), per project. */
const C_OUT = path.join(BUILD, 'bench-c');
/** The libbpf source tree the addon links (deps/libbpf/fetch.sh unpacks it). */
const LIBBPF_SRC = path.join(ROOT, 'deps', 'libbpf', 'src');

function median(xs) {
  const s = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Run a command to completion; throws with its stderr when it fails. */
function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) {
    const err = (r.stderr || '').trim().split('\n').slice(-15).join('\n');
    throw new Error(`${[cmd, ...args].join(' ')} exited ${r.status ?? r.signal}${err ? `:\n${err}` : ''}`);
  }
  return r.stdout;
}

/**
 * The command prefix that pins a child to one CPU: ['taskset', '-c', cpu], or [] with
 * a note when taskset is missing or the CPU is not ours to use.
 */
function pinning(cpu) {
  if (cpu === 'none') return { prefix: [], note: 'not pinned (--cpu none)' };
  const r = spawnSync('taskset', ['-c', String(cpu), 'true'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : (r.stderr || '').trim();
    return { prefix: [], note: `not pinned: taskset -c ${cpu} failed (${why})` };
  }
  return { prefix: ['taskset', '-c', String(cpu)], note: `pinned to CPU ${cpu} (taskset -c ${cpu})` };
}

function newestMtime(dir, ext) {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p, ext));
    else if (e.name.endsWith(ext)) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** Rebuild dist/ (npm run build:ts) when a src/ts file is newer than dist/index.js. */
function ensureDist(log) {
  const index = path.join(ROOT, 'dist', 'index.js');
  const src = path.join(ROOT, 'src', 'ts');
  const stale = !fs.existsSync(index) || (fs.existsSync(src) && newestMtime(src, '.ts') > fs.statSync(index).mtimeMs);
  if (!stale) return;
  log('dist/ is older than src/ts: npm run build:ts');
  try {
    run('npm', ['run', '--silent', 'build:ts']);
  } catch (e) {
    if (!fs.existsSync(index)) throw e;
    log(`build:ts failed, measuring the existing dist/ (${e.message.split('\n')[0]})`);
  }
}

/** Compile a bench/fixtures/*.bpf.c with the project's CLI unless the .o is newer. */
function buildFixture(name) {
  const src = path.join(__dirname, 'fixtures', `${name}.bpf.c`);
  const out = path.join(BUILD, 'bench', `${name}.bpf.o`);
  if (!fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(src).mtimeMs) {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    run(process.execPath, [path.join(ROOT, 'dist', 'cli', 'main.js'), 'build', src, '-o', out]);
  }
  return out;
}

const cEnv = () => ({ ...process.env, BENCH_OUT: C_OUT, LIBBPF_SRC });

/**
 * Get the C baseline ready to time: libbpf's source fetched, a vmlinux.h from the
 * project's CLI (so bpftool is not needed), and run.sh's one-off build of libbpf.a and
 * the baseline binary done now (`warmArgs` is a quick run of it), not inside a timed run.
 */
function prepareC(warmArgs) {
  const runSh = path.join(C_DIR, 'run.sh');
  if (!fs.existsSync(runSh)) throw new Error(`${runSh} not found (set BENCH_C_DIR)`);
  if (!fs.existsSync(path.join(LIBBPF_SRC, 'src', 'libbpf.c'))) run('bash', [path.join(ROOT, 'deps', 'libbpf', 'fetch.sh')]);
  fs.mkdirSync(C_OUT, { recursive: true });
  const header = path.join(C_OUT, 'vmlinux.h');
  if (!fs.existsSync(header)) run(process.execPath, [path.join(ROOT, 'dist', 'cli', 'main.js'), 'vmlinux', '-o', header]);
  run('bash', [runSh, ...warmArgs], { env: cEnv() });
}

/** One run of the C baseline (already prepared), pinned with `prefix`; its stdout. */
function runC(prefix, args) {
  const runSh = path.join(C_DIR, 'run.sh');
  const [cmd, ...rest] = [...prefix, 'bash', runSh, ...args];
  return run(cmd, rest, { env: cEnv() }).trim();
}

/** Run a worker script under `prefix` and parse the JSON it prints last. */
function runWorker(prefix, script, args) {
  const [cmd, ...rest] = [...prefix, process.execPath, script, '--worker', ...args];
  const out = run(cmd, rest).trim().split('\n');
  return JSON.parse(out[out.length - 1]);
}

/** 1234567 -> '1,234,567' */
function fmtRate(x) {
  return Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-';
}

function fmtRatio(x) {
  return Number.isFinite(x) ? `${x.toFixed(x < 0.1 ? 3 : 2)}x` : '-';
}

/** Command-line flags as { name: value } (--x=1 or --x 1); bare words in `_`. */
function parseArgs(argv) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) { out._.push(a); continue; }
    const eq = a.indexOf('=');
    if (eq > 0) out[a.slice(2, eq)] = a.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) out[a.slice(2)] = argv[++i];
    else out[a.slice(2)] = true;
  }
  return out;
}

module.exports = {
  ROOT, BUILD, C_DIR, C_OUT, LIBBPF_SRC,
  median, run, pinning, ensureDist, buildFixture, prepareC, runC, runWorker, fmtRate, fmtRatio, parseArgs,
};
