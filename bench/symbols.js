'use strict';
// The symbols benchmark: the Symbolizer against llvm-symbolizer (Debian's llvm-19) and
// addr2line, on --n addresses sampled uniformly in the .text of libc and of node, and in
// the kernel's text (kallsyms; no vmlinux with symbols here, so the kernel is checked
// against a plain reference reading of /proc/kallsyms instead of llvm-symbolizer).
//
//   node bench/run.js symbols [--rounds 3] [--cpu 1|none] [--n 100000] [--a2l-n 10000] [--show 15]
//   node bench/symbols.js --worker ...   one measurement, JSON on stdout
//
// Every tool runs as its own process pinned to one CPU and answers the addresses twice:
//   cold start  spawn -> first answer (process start, opening the file, its tables)
//   cold        spawn -> all N answered once
//   warm        the same N again, in the same process (tables and caches built)
// llvm-symbolizer and addr2line read addresses on stdin and flush each answer, so both
// passes are timed from outside as the answers arrive. Names are compared with
// llvm-symbolizer --no-demangle (the Symbolizer gives linkage names, as the symbol table
// has them); file:line by base name and line.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const common = require('./common');

const LLVM_SYMBOLIZER = ['/usr/lib/llvm-19/bin/llvm-symbolizer', 'llvm-symbolizer-19'];
const LIBC = '/lib/x86_64-linux-gnu/libc.so.6';

function findLlvm() {
  for (const c of LLVM_SYMBOLIZER) {
    if (c.startsWith('/') ? fs.existsSync(c) : spawnOk(c)) return c;
  }
  throw new Error('llvm-symbolizer of llvm-19 not found (bash scripts/setup.sh installs llvm-19)');
}

function spawnOk(cmd) {
  try {
    common.run(cmd, ['--version']);
    return true;
  } catch {
    return false;
  }
}

/** xorshift32: the same sample every run. */
function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

/** N addresses uniformly in the file's .text, as ELF virtual addresses. */
function sampleElf(file, n, seed) {
  const { LazyElfFile } = require(path.join(common.ROOT, 'dist', 'elf', 'lazy-file.js'));
  const f = LazyElfFile.open(file);
  const text = f.elf.section('.text');
  f.close();
  const start = Number(text.addr);
  const r = rng(seed);
  const out = new BigUint64Array(n);
  for (let i = 0; i < n; i++) out[i] = BigInt(start + Math.floor(r() * text.size));
  return out;
}

/** The kernel's text symbols as a plain reference: sorted by address, first alias first. */
function kallsymsReference() {
  const syms = [];
  const lines = fs.readFileSync('/proc/kallsyms', 'latin1').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const [addr, type, name, mod] = lines[i].split(/[ \t]/);
    if (!name || !/^[tTwW]$/.test(type) || /^0+$/.test(addr)) continue;
    syms.push({ addr: BigInt(`0x${addr}`), name, mod: mod ? mod.slice(1, -1) : 'vmlinux', i });
  }
  syms.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : a.i - b.i));
  return syms.filter((s, i) => i === 0 || syms[i - 1].addr !== s.addr);
}

function referenceName(syms, a) {
  let lo = 0;
  let hi = syms.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (syms[mid].addr <= a) {
      best = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return best < 0 ? undefined : syms[best].name.replace(/^bpf_prog_[0-9a-f]{16}_/, '');
}

function sampleKernel(syms, n, seed) {
  const core = syms.filter((s) => s.mod === 'vmlinux');
  const start = Number(core[0].addr - core[0].addr);
  const span = Number(core[core.length - 1].addr - core[0].addr);
  const r = rng(seed);
  const out = new BigUint64Array(n);
  for (let i = 0; i < n; i++) out[i] = core[0].addr + BigInt(start + Math.floor(r() * span));
  return out;
}

/**
 * Runs a process that answers one address per input line, timing from outside: spawn ->
 * first answer, -> N answers (cold), then the same N again (warm). `answers(text)` counts
 * the complete answers in the output so far.
 */
function timeStreaming(prefix, cmd, args, input, n, parse) {
  return new Promise((resolve, reject) => {
    const [c, ...rest] = [...prefix, cmd, ...args];
    const t0 = performance.now();
    const p = spawn(c, rest, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let firstAt = 0;
    let coldAt = 0;
    let stderr = '';
    let count = 0;
    let scan = 0;
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.stdout.setEncoding('latin1');
    p.stdout.on('data', (d) => {
      out += d;
      const r = parse.count(out, scan);
      count += r.count;
      scan = r.scan;
      if (!firstAt && count >= 1) firstAt = performance.now();
      if (!coldAt && count >= n) {
        coldAt = performance.now();
        p.stdin.end(input.rest);
      }
    });
    p.on('close', (code) => {
      const end = performance.now();
      if (count < 2 * n) return reject(new Error(`${cmd} gave ${count} of ${2 * n} answers (exit ${code}): ${stderr.slice(0, 500)}`));
      resolve({ firstMs: firstAt - t0, coldMs: coldAt - t0, warmMs: end - coldAt, answers: parse.answers(out, n) });
    });
    p.stdin.write(input.first);
  });
}

// llvm-symbolizer: "name\nfile:line:col\n" per frame (inlined ones first), "\n" after each address.
const llvmParse = {
  count(out, scan) {
    let count = 0;
    let i = out.indexOf('\n\n', scan);
    while (i >= 0) {
      count++;
      scan = i + 2;
      i = out.indexOf('\n\n', scan);
    }
    return { count, scan };
  },
  answers(out, n) {
    const blocks = out.split('\n\n').slice(0, n);
    return blocks.map((b) => {
      // With inlined frames: innermost first; the last pair is the function itself, the
      // first location the innermost source line.
      const l = b.split('\n');
      const name = l[l.length - 2];
      const loc = l[1] ?? '';
      const m = /^(.*):(\d+):\d+$/.exec(loc);
      return { name: name === '??' ? undefined : name, file: m && m[1] !== '??' ? m[1] : undefined, line: m && m[2] !== '0' ? Number(m[2]) : undefined };
    });
  },
};

// addr2line -f: "name\nfile:line\n" per address (two lines).
const addr2lineParse = {
  count(out, scan) {
    let lines = 0;
    let i = out.indexOf('\n', scan);
    while (i >= 0) {
      lines++;
      scan = i + 1;
      i = out.indexOf('\n', scan);
    }
    // answers are pairs of lines; carry an odd line by not consuming it
    if (lines % 2) {
      scan = out.lastIndexOf('\n', scan - 2) + 1;
      lines--;
    }
    return { count: lines / 2, scan };
  },
  answers(out, n) {
    const l = out.split('\n');
    const res = [];
    for (let i = 0; i < n; i++) res.push({ name: l[2 * i] === '??' ? undefined : l[2 * i] });
    return res;
  },
};

function hexLines(addrs) {
  let s = '';
  for (const a of addrs) s += `0x${a.toString(16)}\n`;
  return s;
}

/** What bounds our cold start from below: a bare node process, spawn -> its first line. */
function timeNodeFloor(prefix) {
  return new Promise((resolve, reject) => {
    const [c, ...rest] = [...prefix, process.execPath, '-e', 'process.stdout.write("x\\n")'];
    const t0 = performance.now();
    const p = spawn(c, rest, { stdio: ['ignore', 'pipe', 'ignore'] });
    let at = 0;
    p.stdout.once('data', () => (at = performance.now()));
    p.on('error', reject);
    p.on('close', () => resolve(at - t0));
  });
}

/** One worker run of the Symbolizer, timed from outside like the others. */
function timeOurs(prefix, target, file, addrsFile, n, lines) {
  return new Promise((resolve, reject) => {
    const args = [__filename, '--worker', '--target', target, '--addrs', addrsFile, '--lines', lines ? '1' : '0'];
    if (file) args.push('--file', file);
    const [c, ...rest] = [...prefix, process.execPath, ...args];
    const t0 = performance.now();
    const p = spawn(c, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let firstAt = 0;
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    p.stdout.on('data', (d) => {
      out += d;
      if (!firstAt && out.includes('\n')) firstAt = performance.now();
    });
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`worker exited ${code}: ${stderr.slice(0, 2000)}`));
      const r = JSON.parse(out.trim().split('\n').pop());
      resolve({ firstMs: firstAt - t0, coldMs: firstAt - t0 + r.restColdMs, warmMs: r.warmMs, startup: r.startup, answers: r.answers, n });
    });
  });
}

async function worker(args) {
  const started = performance.now(); // ms since the process started
  const { Symbolizer } = require(path.join(common.ROOT, 'dist', 'index.js'));
  const loaded = performance.now();
  // The addresses are read as llvm-symbolizer reads its stdin: the first one is answered
  // before the others are parsed (parsing all 100k first took ~30 ms of the cold start).
  const input = fs.readFileSync(args.addrs, 'latin1');
  const lines = args.lines === '1';
  const target = args.target === 'kernel' ? { kernel: true } : { file: args.file, lines };
  const sym = new Symbolizer({ lines });
  // First answer (the cold start), printed at once so the parent sees when it came.
  const first = sym.symbolizeSync(BigUint64Array.of(BigInt(input.slice(0, input.indexOf('\n')))), target);
  process.stdout.write(`${first[0].name ?? '??'}\n`);
  const answered = performance.now();
  let t = performance.now();
  const addrs = BigUint64Array.from(input.trim().split('\n'), (l) => BigInt(l));
  sym.symbolizeSync(addrs.subarray(1), target);
  const restColdMs = performance.now() - t;
  t = performance.now();
  const frames = sym.symbolizeSync(addrs, target);
  const warmMs = performance.now() - t;
  const answers = frames.map((f) => ({ name: f.name, file: f.file, line: f.line }));
  const startup = { nodeMs: started, loadMs: loaded - started, firstMs: answered - loaded };
  process.stdout.write(`${JSON.stringify({ restColdMs, warmMs, startup, answers })}\n`);
}

/** Disagreements of names, with what explains them. */
function compareNames(addrs, ours, theirs) {
  const diffs = [];
  for (let i = 0; i < addrs.length; i++) {
    if ((ours[i].name ?? '??') !== (theirs[i].name ?? '??')) diffs.push({ address: `0x${addrs[i].toString(16)}`, ours: ours[i].name ?? '??', theirs: theirs[i].name ?? '??' });
  }
  return diffs;
}

function compareLines(ours, theirs) {
  let both = 0;
  let same = 0;
  for (let i = 0; i < ours.length; i++) {
    if (!theirs[i].line) continue;
    both++;
    if (ours[i].line === theirs[i].line && path.basename(ours[i].file ?? '') === path.basename(theirs[i].file ?? '')) same++;
  }
  return { both, same };
}

async function main(args) {
  if (args.worker) return worker(args);
  const n = Number(args.n ?? 100000);
  const rounds = Number(args.rounds ?? 3);
  const a2lN = Math.min(n, Number(args['a2l-n'] ?? 10000));
  const pin = common.pinning(args.cpu ?? 1);
  const log = (s) => process.stdout.write(`${s}\n`);
  common.ensureDist(log);
  const llvm = findLlvm();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nlb-bench-symbols-'));
  log(`symbols: ${n} addresses per target, ${rounds} rounds, ${pin.note}; llvm-symbolizer: ${llvm}`);
  const results = [];
  try {
    const targets = [['libc', LIBC], ['node', fs.realpathSync(process.execPath)]];
    for (const [name, file] of targets) {
      const addrs = sampleElf(file, n, name === 'libc' ? 1 : 2);
      const addrsFile = path.join(tmp, `${name}.txt`);
      fs.writeFileSync(addrsFile, hexLines(addrs));
      const input = { first: hexLines(addrs), rest: hexLines(addrs) };
      const rows = { llvm: [], a2l: [], names: [], lines: [], floor: [] };
      let last;
      for (let r = 0; r < rounds; r++) {
        const l = await timeStreaming(pin.prefix, llvm, [`--obj=${file}`, '--no-demangle'], input, n, llvmParse);
        rows.llvm.push(l);
        rows.names.push(await timeOurs(pin.prefix, name, file, addrsFile, n, false));
        rows.lines.push(await timeOurs(pin.prefix, name, file, addrsFile, n, true));
        // in every round, beside the others: the machine's load moves all of them alike
        rows.floor.push(await timeNodeFloor(pin.prefix));
        // addr2line is slow on node (a linear search per address): timed on the first a2lN only.
        if (r === 0) rows.a2l.push({ ...(await timeStreaming(pin.prefix, 'addr2line', ['-f', '-e', file], { first: hexLines(addrs.subarray(0, a2lN)), rest: hexLines(addrs.subarray(0, a2lN)) }, a2lN, addr2lineParse)) });
        last = { llvm: l, names: rows.names[r], lines: rows.lines[r] };
      }
      const med = (xs, k) => common.median(xs.map((x) => x[k]));
      const nodeFloorMs = common.median(rows.floor);
      const rate = (ms) => (n * 1000) / ms;
      const diffs = compareNames(addrs, last.names.answers, last.llvm.answers);
      const lineCmp = compareLines(last.lines.answers, last.llvm.answers);
      const a2lDiffs = compareNames(addrs.subarray(0, a2lN), last.names.answers, rows.a2l[0].answers);
      const res = {
        target: name,
        file,
        n,
        llvm: { firstMs: med(rows.llvm, 'firstMs'), coldMs: med(rows.llvm, 'coldMs'), warmMs: med(rows.llvm, 'warmMs') },
        // scaled to n addresses (measured on a2lN)
        addr2line: { firstMs: rows.a2l[0].firstMs, coldMs: (rows.a2l[0].coldMs * n) / a2lN, warmMs: (rows.a2l[0].warmMs * n) / a2lN },
        names: { firstMs: med(rows.names, 'firstMs'), coldMs: med(rows.names, 'coldMs'), warmMs: med(rows.names, 'warmMs') },
        lines: { firstMs: med(rows.lines, 'firstMs'), coldMs: med(rows.lines, 'coldMs'), warmMs: med(rows.lines, 'warmMs') },
        // where our cold start goes: node's own start, loading node-libbpf, the Symbolizer's first answer
        startup: ['nodeMs', 'loadMs', 'firstMs'].reduce((o, k) => ({ ...o, [k]: common.median(rows.names.map((x) => x.startup[k])) }), {}),
        startupLines: ['nodeMs', 'loadMs', 'firstMs'].reduce((o, k) => ({ ...o, [k]: common.median(rows.lines.map((x) => x.startup[k])) }), {}),
        nameAgreement: 1 - diffs.length / n,
        disagreements: diffs,
        addr2lineNameAgreement: 1 - a2lDiffs.length / a2lN,
        lineAgreement: lineCmp.both ? lineCmp.same / lineCmp.both : NaN,
        nodeFloorMs,
      };
      results.push(res);
      log(`\n${name} (${file})`);
      log(`  warm addresses/s: llvm-symbolizer ${common.fmtRate(rate(res.llvm.warmMs))}, addr2line ${common.fmtRate(rate(res.addr2line.warmMs))}, ours names ${common.fmtRate(rate(res.names.warmMs))} (${common.fmtRatio(res.llvm.warmMs / res.names.warmMs)} of llvm), ours file:line ${common.fmtRate(rate(res.lines.warmMs))} (${common.fmtRatio(res.llvm.warmMs / res.lines.warmMs)})`);
      log(`  cold start (spawn -> first answer): llvm-symbolizer ${res.llvm.firstMs.toFixed(0)} ms, addr2line ${res.addr2line.firstMs.toFixed(0)} ms, ours names ${res.names.firstMs.toFixed(0)} ms (${common.fmtRatio(res.names.firstMs / res.llvm.firstMs)} of llvm's time), ours file:line ${res.lines.firstMs.toFixed(0)} ms (${common.fmtRatio(res.lines.firstMs / res.llvm.firstMs)})`);
      log(`  bound: a bare node process alone takes ${common.fmtRatio(nodeFloorMs / res.llvm.firstMs)} of llvm-symbolizer's cold start (${nodeFloorMs.toFixed(0)} vs ${res.llvm.firstMs.toFixed(0)} ms)`);
      log(`  our cold start, split: node starts ${res.startup.nodeMs.toFixed(0)} ms, require('node-libbpf') ${res.startup.loadMs.toFixed(0)} ms, Symbolizer to its first answer ${res.startup.firstMs.toFixed(0)} ms names / ${res.startupLines.firstMs.toFixed(0)} ms file:line`);
      log(`  cold, all ${n} once: llvm-symbolizer ${res.llvm.coldMs.toFixed(0)} ms, addr2line ${res.addr2line.coldMs.toFixed(0)} ms, ours names ${res.names.coldMs.toFixed(0)} ms (${common.fmtRatio(res.names.coldMs / res.llvm.coldMs)}), ours file:line ${res.lines.coldMs.toFixed(0)} ms (${common.fmtRatio(res.lines.coldMs / res.llvm.coldMs)})`);
      log(`  names agree with llvm-symbolizer: ${(100 * res.nameAgreement).toFixed(3)}% (${diffs.length} differ); with addr2line: ${(100 * res.addr2lineNameAgreement).toFixed(3)}%; file:line agree: ${(100 * res.lineAgreement).toFixed(3)}% of ${lineCmp.both} llvm gave`);
      for (const d of diffs.slice(0, Number(args.show ?? 15))) log(`    ${d.address}: ours ${d.ours}, llvm-symbolizer ${d.theirs}`);
    }

    // The kernel: ours against a plain reading of kallsyms (the same rule as the kernel's
    // own lookup: the last symbol at or before the address, the first listed of aliases).
    const syms = kallsymsReference();
    const kaddrs = sampleKernel(syms, n, 3);
    const kfile = path.join(tmp, 'kernel.txt');
    fs.writeFileSync(kfile, hexLines(kaddrs));
    const kr = [];
    for (let r = 0; r < rounds; r++) kr.push(await timeOurs(pin.prefix, 'kernel', undefined, kfile, n, false));
    const kdiff = [];
    const lastK = kr[kr.length - 1];
    for (let i = 0; i < n; i++) {
      const ref = referenceName(syms, kaddrs[i]);
      if (ref !== lastK.answers[i].name) kdiff.push({ address: `0x${kaddrs[i].toString(16)}`, ours: lastK.answers[i].name, reference: ref });
    }
    const kres = {
      target: 'kernel',
      n,
      names: { firstMs: common.median(kr.map((x) => x.firstMs)), coldMs: common.median(kr.map((x) => x.coldMs)), warmMs: common.median(kr.map((x) => x.warmMs)) },
      kallsymsAgreement: 1 - kdiff.length / n,
      disagreements: kdiff,
    };
    results.push(kres);
    log(`\nkernel (/proc/kallsyms, ${syms.length} text symbols)`);
    const ks = ['nodeMs', 'loadMs', 'firstMs'].map((k) => common.median(kr.map((x) => x.startup[k])).toFixed(0));
    log(`  ours: warm ${common.fmtRate((n * 1000) / kres.names.warmMs)} addresses/s, cold start ${kres.names.firstMs.toFixed(0)} ms (node ${ks[0]}, require ${ks[1]}, first answer ${ks[2]}), cold all ${kres.names.coldMs.toFixed(0)} ms; agree with kallsyms: ${(100 * kres.kallsymsAgreement).toFixed(3)}%`);
    for (const d of kdiff.slice(0, 10)) log(`    ${d.address}: ours ${d.ours}, kallsyms ${d.reference}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  if (args.json) fs.writeFileSync(args.json, JSON.stringify(results.map((r) => ({ ...r, disagreements: r.disagreements.slice(0, 200) })), null, 1));
}

if (require.main === module) {
  main(common.parseArgs(process.argv.slice(2))).catch((e) => {
    process.stderr.write(`${e.stack || e}\n`);
    process.exit(1);
  });
}

module.exports = { name: 'symbols', summary: 'Symbolizer vs llvm-symbolizer and addr2line', main };
