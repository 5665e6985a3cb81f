#!/usr/bin/env node
'use strict';
// Benchmark runner: `npm run bench -- [NAME...] [options]`; no NAME runs them all.
// Each benchmark is a module in this folder exporting { name, summary, main(args) }:
// add a new one to BENCHMARKS below. Benchmarks are not tests: the exit
// status is 0 whether targets are met or not, and non-zero only when one could not run.
const { parseArgs } = require('./common');

const BENCHMARKS = {
  symbols: () => require('./symbols'),
  maps: () => require('./maps'),
  ringbuf: () => require('./ringbuf'),
  gen: () => require('./gen'),
  containers: () => require('./containers'),
  metrics: () => require('./metrics'),
  agent: () => require('./agent'),
};

const USAGE = `usage: npm run bench -- [NAME...] [--rounds N] [--cpu N|none] [--n N] [--json FILE]
  NAME        ${Object.keys(BENCHMARKS).join(', ')} (default: all)
  --rounds N  alternating C / node rounds; medians are reported (default 3)
  --cpu N     the CPU every measured process is pinned to with taskset (default 1; 'none')
  --n N       maps: entries in the hash map; gen: records per run (default 200000);
              containers: resolve() calls per timing (default 1000000)
  --pods N    containers: pods of 3 containers in the cgroup tree (default 100)
  --k N       containers: mkdir/rmdir cycles timed (default 200)
              symbols: addresses per target (default 100000)
  --secs S    ringbuf: seconds per pipeline run; agent: seconds per run (default 3)
  --json FILE also write every round's numbers as JSON
`;

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.help || args.h) {
    process.stdout.write(USAGE);
    return 0;
  }
  const names = args._.length ? args._ : Object.keys(BENCHMARKS);
  const unknown = names.filter((n) => !BENCHMARKS[n]);
  if (unknown.length) {
    process.stderr.write(`unknown benchmark ${unknown.join(', ')}\n${USAGE}`);
    return 2;
  }
  let failed = 0;
  for (const name of names) {
    try {
      await BENCHMARKS[name]().main(args);
    } catch (e) {
      failed++;
      process.stderr.write(`bench ${name}: could not run: ${e.stack || e}\n`);
    }
  }
  return failed ? 1 : 0;
}

main().then((code) => process.exit(code));
