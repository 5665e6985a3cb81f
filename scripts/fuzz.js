#!/usr/bin/env node
// `npm run fuzz`: mutation-based fuzzing of what reads untrusted bytes (ELF objects through
// BpfObject.open/load, raw BTF through libbpf's parser, ours, validateBtf and btf_dump; more
// targets in test/fuzz/targets/). Seeds: test/fuzz/corpus/<target>/ and the built fixtures.
// Each input runs in a child process (test/fuzz/worker.js); a signal or a timeout saves the
// input, after it reproduces alone in a fresh child, under test/fuzz/crashes/, where
// test/fuzz/replay.test.ts replays it in every test run.
//
//   npm run fuzz -- [--time SECONDS] [--count N] [--targets btf,elf] [--seed N] [--asan]
//                   [--timeout MS] [--workers N]
// --asan loads the AddressSanitizer build (npm run build:asan). Prints a summary line and
// writes build/fuzz/summary.json.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { CRASHES, loadTargets, seeds, mutate, rng, sha, sectionRange, Worker, asanEnv, ROOT } = require('../test/fuzz/lib');

function parseArgs(argv) {
  const o = { time: 60, count: Infinity, targets: undefined, seed: Date.now() >>> 0, asan: false, timeout: 10000, workers: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => argv[++i];
    if (a === '--time') o.time = Number(v());
    else if (a === '--count') o.count = Number(v());
    else if (a === '--targets') o.targets = v().split(',');
    else if (a === '--seed') o.seed = Number(v()) >>> 0;
    else if (a === '--asan') o.asan = true;
    else if (a === '--timeout') o.timeout = Number(v());
    else if (a === '--workers') o.workers = Number(v());
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

// A target's share of the inputs follows its weight (an ELF load costs ~20 BTF inputs).
function pick(pools, r) {
  const total = pools.reduce((n, p) => n + (p.target.weight ?? 1), 0);
  let x = r.below(total);
  for (const p of pools) if ((x -= p.target.weight ?? 1) < 0) return p;
  return pools[0];
}

async function confirm(target, file, env, timeout) {
  const w = new Worker(env);
  try {
    return await w.run(target, file, timeout);
  } finally {
    w.stop();
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const all = loadTargets();
  const names = o.targets ?? Object.keys(all);
  const env = o.asan ? asanEnv() : {};
  const pools = names.map((n) => {
    if (!all[n]) throw new Error(`no fuzz target ${n} (have ${Object.keys(all).join(', ')})`);
    return { target: all[n], seeds: seeds(all[n]) };
  }).filter((p) => p.seeds.length > 0);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nlb-fuzz-'));
  fs.mkdirSync(CRASHES, { recursive: true });
  const stats = { started: new Date().toISOString(), seed: o.seed, asan: o.asan, inputs: 0, crashes: 0, hangs: 0, unexpected: 0, unreproduced: 0, outcomes: {}, saved: [] };
  const deadline = Date.now() + o.time * 1000;
  const save = (name, bytes, kind, detail) => {
    const file = path.join(CRASHES, `${name}-${kind}-${sha(bytes)}.bin`);
    fs.writeFileSync(file, bytes);
    fs.writeFileSync(file.replace(/\.bin$/, '.txt'), `${kind} (${new Date().toISOString()}, seed ${o.seed})\n${detail}\n`);
    stats.saved.push(path.relative(ROOT, file));
  };

  const loop = async (index) => {
    const r = rng(o.seed + index * 7919);
    const worker = new Worker(env);
    const file = path.join(work, `input-${index}`);
    let last = Date.now();
    while (Date.now() < deadline && stats.inputs < o.count) {
      const pool = pick(pools, r);
      const { target } = pool;
      const seed = pool.seeds[r.below(pool.seeds.length)];
      const other = pool.seeds[r.below(pool.seeds.length)];
      let region;
      if (target.hotSections && r.chance(0.75)) region = sectionRange(seed, target.hotSections[r.below(target.hotSections.length)]);
      const input = mutate(seed, r, other, region);
      fs.writeFileSync(file, input);
      stats.inputs++;
      const result = await worker.run(target.name, file, o.timeout);
      if (result.outcome) {
        stats.outcomes[`${target.name}:${result.outcome}`] = (stats.outcomes[`${target.name}:${result.outcome}`] ?? 0) + 1;
        if (result.outcome === 'unexpected') {
          stats.unexpected++;
          save(target.name, input, 'unexpected', result.error);
        }
      } else {
        // Does it reproduce alone, in a fresh child? (Else an earlier input left state behind.)
        const again = await confirm(target.name, file, env, o.timeout);
        if (again.crash || again.hang) {
          if (result.crash) stats.crashes++; else stats.hangs++;
          save(target.name, input, result.crash ? 'crash' : 'hang', `${result.crash ?? 'timeout'}\n${(again.stderr ?? '').slice(-4000)}`);
        } else {
          stats.unreproduced++;
        }
      }
      if (Date.now() - last > 30000) {
        last = Date.now();
        console.error(`fuzz: ${stats.inputs} inputs, ${stats.crashes} crashes, ${stats.hangs} hangs, ${stats.unexpected} unexpected`);
      }
    }
    worker.stop();
  };
  await Promise.all(Array.from({ length: o.workers }, (_, i) => loop(i)));
  fs.rmSync(work, { recursive: true, force: true });
  stats.finished = new Date().toISOString();
  fs.mkdirSync(path.join(ROOT, 'build', 'fuzz'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'build', 'fuzz', 'summary.json'), `${JSON.stringify(stats, null, 2)}\n`);
  console.log(`fuzz: ${stats.inputs} inputs (${names.join(', ')}${o.asan ? ', ASAN' : ''}), ${stats.crashes} crashes, ${stats.hangs} hangs, ${stats.unexpected} unexpected, ${stats.unreproduced} not reproduced alone; seed ${o.seed}`);
  for (const f of stats.saved) console.log(`fuzz: saved ${f}`);
  if (stats.saved.length) console.log(`fuzz: the fixtures seeding these inputs were built in ${ROOT} and carry that path: the same --seed makes the same inputs only in a checkout there (docs/fuzzing.md)`);
  process.exitCode = stats.crashes + stats.hangs + stats.unexpected > 0 ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
