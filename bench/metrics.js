'use strict';
// The metrics benchmark: what one Prometheus scrape of a BPF map costs through
// node-libbpf/metrics (require('../dist/metrics')), against two baselines measured in the
// same process and round: the bare decoded walk of the same map (map.entries(), what any
// exporter must do), and the way one writes it by hand with prom-client: a Gauge whose
// collect() callback walks the map and set()s each entry.
//
//   node bench/run.js metrics [--n 10000] [--rounds 3] [--cpu 1|none] [--json FILE]
//   node bench/metrics.js --worker --n N          one measurement, JSON on stdout
//
// Maps: a hash u32 -> u64 with N entries (a counter family, one series each), and a hash
// u32 -> 27 u32 slots with N/10 entries (keyed log2 histograms, 29 series each).
const fs = require('node:fs');
const path = require('node:path');
const common = require('./common');

const now = () => Number(process.hrtime.bigint()) / 1e6; // ms

function timeIt(fn, reps) {
  for (let i = 0; i < 2; i++) fn(); // warm up
  const t0 = now();
  for (let i = 0; i < reps; i++) fn();
  return (now() - t0) / reps;
}

async function timeAsync(fn, reps) {
  for (let i = 0; i < 2; i++) await fn();
  const t0 = now();
  for (let i = 0; i < reps; i++) await fn();
  return (now() - t0) / reps;
}

async function worker(args) {
  const { BpfMap } = require(path.join(common.ROOT, 'dist'));
  const { PrometheusExporter } = require(path.join(common.ROOT, 'dist', 'metrics'));
  const { Registry, Gauge } = require('prom-client');
  const n = Number(args.n ?? 10000);
  const reps = Number(args.reps ?? 10);
  const counts = BpfMap.create({ type: 'hash', key: 'u32', value: 'u64', maxEntries: n, name: 'counts' });
  counts.setMany(Array.from({ length: n }, (_, i) => [i, BigInt(i)]));
  const hists = BpfMap.create({ type: 'hash', key: 'u32', keySize: 4, valueSize: 27 * 4, maxEntries: Math.max(1, n / 10), name: 'hists' });
  const slots = Buffer.alloc(27 * 4);
  for (let s = 0; s < 27; s++) slots.writeUInt32LE(s + 1, s * 4);
  for (let i = 0; i < n / 10; i++) {
    const k = Buffer.alloc(4);
    k.writeUInt32LE(i);
    hists.raw.set(k, slots);
  }
  const decodeSlots = (view, offset) => Array.from({ length: 27 }, (_, s) => view.getUint32(offset + s * 4, true));
  const typedHists = hists.useDecoders({ key: (view, offset) => view.getUint32(offset, true), value: decodeSlots });

  const walk = timeIt(() => {
    let s = 0;
    for (const _ of counts.entries()) s++;
    if (s !== n) throw new Error(`walked ${s} of ${n}`);
  }, reps);

  const ours = new Registry();
  const exporter = new PrometheusExporter({ registry: ours }).counter(counts, { name: 'calls_total', labels: (pid) => ({ pid }) });
  const scrape = await timeAsync(() => ours.metrics(), reps);

  const hand = new Registry();
  new Gauge({
    name: 'calls_total',
    help: 'by hand',
    labelNames: ['pid'],
    registers: [hand],
    collect() {
      this.reset();
      for (const [pid, v] of counts.entries()) this.set({ pid }, Number(v));
    },
  });
  const byHand = await timeAsync(() => hand.metrics(), reps);
  const lines = (text) => text.split('\n').filter((l) => l.startsWith('calls_total{')).sort();
  if (JSON.stringify(lines(await hand.metrics())) !== JSON.stringify(lines(await ours.metrics()))) throw new Error('the two registries disagree');

  const histWalk = timeIt(() => {
    for (const _ of typedHists.entries());
  }, reps);
  const histRegistry = new Registry();
  new PrometheusExporter({ registry: histRegistry }).histogram(typedHists, { name: 'lat', labels: (k) => ({ k }) });
  const histScrape = await timeAsync(() => histRegistry.metrics(), reps);

  exporter.close();
  counts.close();
  hists.close();
  return { n, walk, scrape, byHand, histograms: n / 10, histWalk, histScrape };
}

async function main(args) {
  const log = (s) => process.stdout.write(`${s}\n`);
  common.ensureDist(log);
  const { prefix, note } = common.pinning(args.cpu ?? 1);
  const rounds = Number(args.rounds ?? 3);
  const n = Number(args.n ?? 10000);
  log(`metrics: one scrape of a ${n}-entry counter map and ${n / 10} keyed log2 histograms; ${rounds} rounds, ${note}`);
  const results = [];
  for (let r = 0; r < rounds; r++) results.push(common.runWorker(prefix, __filename, ['--n', String(n)]));
  const med = (f) => common.median(results.map(f));
  log(`  counter family: scrape ${med((r) => r.scrape).toFixed(1)} ms; bare map walk ${med((r) => r.walk).toFixed(1)} ms; prom-client Gauge by hand ${med((r) => r.byHand).toFixed(1)} ms`);
  log(`    scrape / walk ${common.fmtRatio(med((r) => r.scrape / r.walk))}   scrape / by hand ${common.fmtRatio(med((r) => r.scrape / r.byHand))}`);
  log(`  ${n / 10} histograms: scrape ${med((r) => r.histScrape).toFixed(1)} ms; walk ${med((r) => r.histWalk).toFixed(1)} ms; scrape / walk ${common.fmtRatio(med((r) => r.histScrape / r.histWalk))}`);
  if (args.json) fs.writeFileSync(args.json, JSON.stringify(results, null, 2));
}

if (require.main === module) {
  const args = common.parseArgs(process.argv.slice(2));
  if (args.worker) {
    worker(args).then((r) => process.stdout.write(`${JSON.stringify(r)}\n`), (e) => {
      process.stderr.write(`${e.stack}\n`);
      process.exit(1);
    });
  } else {
    main(args).catch((e) => {
      process.stderr.write(`${e.stack}\n`);
      process.exit(1);
    });
  }
}

module.exports = { name: 'metrics', summary: 'one scrape of BPF maps through node-libbpf/metrics vs the bare walk and prom-client by hand', main };
