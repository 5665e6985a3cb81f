'use strict';
// The map benchmark: a BPF_MAP_TYPE_HASH u32 -> u64 with N (200,000) entries, driven
// from user space through node-libbpf's public API (require('../dist')), against the
// C/libbpf baseline measured in the same run (/work/shared/bench/c/run.sh map N) and
// against the npm package `bpf` (node_bpf) as a peer binding.
//
//   node bench/run.js maps [--n 200000] [--rounds 3] [--cpu 1|none] [--json FILE]
//   node bench/maps.js --worker ours|bpf --n N --obj FILE [--floor ADDON]    one measurement, JSON on stdout
//
// Each round runs C, then ours, then `bpf`, each as its own process pinned to one CPU;
// the printed rates are medians over rounds and each ratio is the median of the
// per-round ratios (ours / C of the same round), so drift between rounds cancels out.
const fs = require('node:fs');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const common = require('./common');

const TARGETS = { get: 0.9, set: 0.9, dump: 0.5 };
const BATCH = 4096; // the C baseline's batch size, used for bpf's getBatch() too

// ---------------------------------------------------------------- workers

// N single set()s then N single get()s (checked) on any map with get/set: ours and bpf's.
function timeSetGet(map, n, values, label) {
  let t0 = now();
  for (let k = 0; k < n; k++) map.set(k, values[k]);
  const set = n / (now() - t0);
  t0 = now();
  let sum = 0n, missing = 0;
  for (let k = 0; k < n; k++) {
    const v = map.get(k);
    if (v === undefined) missing++;
    else sum += v;
  }
  const get = n / (now() - t0);
  if (missing || sum !== expectSum(n)) throw new Error(`${label}: ${missing} missing, sum ${sum} (want ${expectSum(n)})`);
  return { set, get };
}

/**
 * The floor (bench/fixtures/napi_floor.c) on the same map: lookups looped in C inside
 * this process, then one minimal N-API call per get and per set, as timeSetGet() does
 * them (the map holds keys 0..n-1 on entry and again on return).
 */
function timeFloor(floor, map, n, values) {
  const fd = map.fd;
  const W = Math.min(20000, n);
  for (let i = 0; i < W; i++) floor.lookup(fd, i);
  const inProcess = 1e9 / floor.lookupLoop(fd, n);
  let t0 = now();
  let sum = 0n, missing = 0;
  for (let k = 0; k < n; k++) {
    const v = floor.lookup(fd, k);
    if (v === undefined) missing++;
    else sum += v;
  }
  const floorGet = n / (now() - t0);
  if (missing || sum !== expectSum(n)) throw new Error(`floor lookup: ${missing} missing, sum ${sum}`);
  for (let k = 0; k < n; k++) map.delete(k);
  for (let i = 0; i < W; i++) floor.update(fd, n + i, values[i]);
  for (let i = 0; i < W; i++) map.delete(n + i);
  t0 = now();
  for (let k = 0; k < n; k++) floor.update(fd, k, values[k]);
  const floorSet = n / (now() - t0);
  return { inProcess, floorGet, floorSet };
}

const now = () => performance.now() / 1000;
const expectSum = (n) => (BigInt(n) * BigInt(n - 1)) / 2n;

/** Drive one library's map; each phase is timed on its own. */
async function workerOurs(n, objPath, floorPath) {
  const lib = require(path.join(common.ROOT, 'dist'));
  const obj = lib.BpfObject.open(objPath);
  await obj.load();
  const map = obj.map('counts');
  const rates = {};
  const notes = [];
  const values = Array.from({ length: n }, (_, i) => BigInt(i));

  // Warm up the JIT and every measured path on W keys outside 0..n-1, then remove
  // them, so the timed set() inserts n fresh keys into an empty map as the C loop does.
  const W = Math.min(20000, n);
  const hasDrain = typeof map.drain === 'function';
  for (let i = 0; i < W; i++) map.set(n + i, values[i]);
  for (let i = 0; i < W; i++) map.get(n + i);
  const k4 = Buffer.alloc(4), v8 = Buffer.alloc(8);
  for (let i = 0; i < W; i++) { k4.writeUInt32LE(n + i, 0); v8.writeBigUInt64LE(values[i], 0); map.raw.set(k4, v8); map.raw.get(k4); }
  for (let r = 0; r < 3; r++) for (const e of map.entries()) void e;
  if (hasDrain) map.drain();
  for (let i = 0; i < W; i++) map.delete(n + i);

  let t0;

  Object.assign(rates, timeSetGet(map, n, values, 'get'));
  if (floorPath) Object.assign(rates, timeFloor(require(floorPath), map, n, values));

  // Buffer-level: what is left once the codecs are out of the way (the caller encodes).
  t0 = now();
  for (let k = 0; k < n; k++) {
    k4.writeUInt32LE(k, 0);
    v8.writeBigUInt64LE(values[k], 0);
    map.raw.set(k4, v8);
  }
  rates.rawSet = n / (now() - t0);
  t0 = now();
  let missing = 0;
  for (let k = 0; k < n; k++) {
    k4.writeUInt32LE(k, 0);
    if (map.raw.get(k4) === undefined) missing++;
  }
  rates.rawGet = n / (now() - t0);
  if (missing) throw new Error(`raw.get: ${missing} missing`);

  rates.dump = timeDump(map.entries(), n, 'entries()');

  if (hasDrain) {
    t0 = now();
    let got = map.drain();
    if (got && typeof got.then === 'function') got = await got;
    let count = 0;
    if (typeof got === 'number') count = got;
    else if (got instanceof Map) count = got.size;
    else if (got && typeof got[Symbol.iterator] === 'function') for (const e of got) { void e; count++; }
    else throw new Error(`drain() returned ${typeof got}`);
    rates.drain = count / (now() - t0);
    if (count !== n) notes.push(`drain() gave ${count} entries, expected ${n}`);
    if (map.get(0) !== undefined) notes.push('drain() left entries behind');
  } else {
    notes.push('no BpfMap.drain() in this build');
  }
  obj.close?.();
  return { impl: 'node-libbpf', n, rates, notes };
}

// Iterate a decoded dump of every [number, bigint] pair, checking it is complete.
function timeDump(iterable, n, what) {
  const t0 = now();
  let count = 0, keys = 0, sum = 0n;
  for (const [k, v] of iterable) {
    count++;
    keys += k;
    sum += v;
  }
  const rate = count / (now() - t0);
  if (count !== n || sum !== expectSum(n) || keys !== Number(expectSum(n))) {
    throw new Error(`${what}: ${count} entries (want ${n}), value sum ${sum}, key sum ${keys}`);
  }
  return rate;
}

async function workerBpf(n) {
  let bpf;
  try {
    bpf = require('bpf');
  } catch (e) {
    return { impl: 'bpf', n, error: `require('bpf') failed: ${e.message.split('\n')[0]}` };
  }
  const version = require('bpf/package.json').version;
  // The same map as ours; node_bpf has no ELF loader, it creates maps itself.
  const ref = bpf.createMap({ type: bpf.MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 1 << 20, name: 'counts' });
  const u64 = { parse: (b) => b.readBigUInt64LE(0), format: (b, x) => { b.writeBigUInt64LE(x, 0); } };
  const map = new bpf.ConvMap(ref, bpf.u32type, u64);
  const rates = {};
  const values = Array.from({ length: n }, (_, i) => BigInt(i));

  const W = Math.min(20000, n);
  for (let i = 0; i < W; i++) map.set(n + i, values[i]);
  for (let i = 0; i < W; i++) map.get(n + i);
  for (let r = 0; r < 3; r++) {
    for (const e of map.entries()) void e;
    for (const e of flatten(map.getBatch(BATCH))) void e;
  }
  for (const e of map.consumeEntries()) void e;
  for (let i = 0; i < W; i++) map.delete(n + i);

  Object.assign(rates, timeSetGet(map, n, values, 'bpf get'));

  rates.dump = timeDump(map.entries(), n, 'bpf entries()');
  rates.dumpBatch = timeDump(flatten(map.getBatch(BATCH)), n, `bpf getBatch(${BATCH})`);

  // Its drain: BPF_MAP_LOOKUP_AND_DELETE_ELEM per key (hash maps: Linux 5.14+).
  const t0 = now();
  let count = 0;
  for (const e of map.consumeEntries()) { void e; count++; }
  rates.drain = count / (now() - t0);
  ref.close();
  return { impl: 'bpf', version, libbpf: bpf.versions?.libbpf, n, rates, notes: count === n ? [] : [`consumeEntries() gave ${count}`] };
}

function* flatten(batches) {
  for (const batch of batches) yield* batch;
}

// ---------------------------------------------------------------- the bpf package

/**
 * Make sure `bpf` loads: its package ships prebuilds (linux-x64 among them); when none
 * loads, build its native part from source (npm 11 runs no dependency install scripts).
 * Returns undefined when usable, else one line saying why not.
 */
function ensureBpfPackage(log) {
  let dir;
  try {
    dir = path.dirname(require.resolve('bpf/package.json', { paths: [common.ROOT] }));
  } catch {
    return "npm package 'bpf' is not installed (npm install in the project, it is a devDependency)";
  }
  const probe = () => {
    try {
      common.run(process.execPath, ['-e', "require('bpf').createMap"], { cwd: common.ROOT });
      return undefined;
    } catch (e) {
      return e.message.split('\n').slice(-1)[0];
    }
  };
  let why = probe();
  if (!why) return undefined;
  log(`bpf: its prebuilt addon does not load (${why}); building it with node-gyp`);
  const env = { ...process.env };
  if (!env.npm_config_nodedir) {
    try {
      const nodedir = common.run('npm', ['config', 'get', 'nodedir']).trim();
      if (nodedir && nodedir !== 'undefined' && nodedir !== 'null') env.npm_config_nodedir = nodedir;
    } catch { /* node-gyp finds headers itself */ }
  }
  try {
    const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [common.ROOT] });
    common.run(process.execPath, [nodeGyp, 'rebuild', '-j', '2'], { cwd: dir, env });
  } catch (e) {
    return `cannot build the npm package bpf's native addon: ${e.message.split('\n').slice(-3).join(' | ')}`;
  }
  why = probe();
  return why ? `the npm package bpf does not load even after a rebuild: ${why}` : undefined;
}

// ---------------------------------------------------------------- orchestration

const C_RE = /update (\d+) ops\/s, lookup (\d+) ops\/s, iterate\+lookup (\d+) entries\/s, batch-lookup (\d+) entries\/s/;

/**
 * bench/fixtures/napi_floor.c built with cc against Node's own headers into
 * build/bench/napi_floor.node (undefined, said why, when it cannot be built).
 */
function buildNapiFloor(log) {
  const src = path.join(__dirname, 'fixtures', 'napi_floor.c');
  const out = path.join(common.BUILD, 'bench', 'napi_floor.node');
  const include = [
    process.env.npm_config_nodedir && path.join(process.env.npm_config_nodedir, 'include', 'node'),
    path.resolve(path.dirname(process.execPath), '..', 'include', 'node'),
    path.join(require('node:os').homedir(), '.cache', 'node-gyp', process.versions.node, 'include', 'node'),
  ].find((dir) => dir && fs.existsSync(path.join(dir, 'node_api.h')));
  if (!include) {
    log('no N-API floor: node_api.h not found (Node headers: npm_config_nodedir, or run node-gyp once)');
    return undefined;
  }
  try {
    if (!fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(src).mtimeMs) {
      fs.mkdirSync(path.dirname(out), { recursive: true });
      common.run('cc', ['-O2', '-shared', '-fPIC', `-I${include}`, src, '-o', out]);
    }
    return out;
  } catch (e) {
    log(`no N-API floor: ${e.message.split('\n')[0]}`);
    return undefined;
  }
}

function parseC(line) {
  const m = C_RE.exec(line);
  if (!m) throw new Error(`unexpected C baseline output: ${line}`);
  return { update: +m[1], lookup: +m[2], iterate: +m[3], batch: +m[4] };
}

async function main(args = {}) {
  const n = Number(args.n ?? 200000);
  const rounds = Math.max(1, Number(args.rounds ?? 3));
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(rounds)) throw new Error('--n and --rounds take positive integers');
  const cpu = args.cpu ?? 1;
  const log = (s) => process.stderr.write(`maps: ${s}\n`);
  const started = now();

  common.ensureDist(log);
  const objPath = common.buildFixture('maps');
  log('preparing the C baseline (libbpf from deps/libbpf/src)');
  common.prepareC(['map', '1000']);
  const floorAddon = buildNapiFloor(log);
  const pin = common.pinning(cpu);
  const bpfWhy = ensureBpfPackage(log);

  const c = [], ours = [], peer = [];
  let peerError = bpfWhy;
  for (let r = 0; r < rounds; r++) {
    c.push(parseC(common.runC(pin.prefix, ['map', String(n)])));
    ours.push(common.runWorker(pin.prefix, __filename, ['ours', '--n', String(n), '--obj', objPath, ...(floorAddon ? ['--floor', floorAddon] : [])]));
    if (!peerError) {
      try {
        const p = common.runWorker(pin.prefix, __filename, ['bpf', '--n', String(n)]);
        if (p.error) peerError = p.error;
        else peer.push(p);
      } catch (e) {
        peerError = `its worker failed: ${e.message.split('\n').slice(-1)[0]}`;
      }
    }
    const last = ours[ours.length - 1].rates;
    log(`round ${r + 1}/${rounds}: C update ${common.fmtRate(c[r].update)}/s, ours set ${common.fmtRate(last.set)}/s, ` +
        `get ${common.fmtRate(last.get)}/s, dump ${common.fmtRate(last.dump)}/s`);
  }

  const cMed = Object.fromEntries(Object.keys(c[c.length - 1]).map((k) => [k, common.median(c.map((x) => x[k]))]));
  const rate = (runs, key) => common.median(runs.map((x) => x.rates[key]));
  // Paired: each round's own C numbers.
  const ratio = (runs, key, cKey) => common.median(runs.map((x, i) => x.rates[key] / c[i][cKey]));

  const rows = [];
  const row = (who, runs, key, label, cKey, target) => {
    if (!runs.length || runs.some((x, i) => x.rates[key] === undefined || c[i][cKey] === undefined)) return;
    const rt = ratio(runs, key, cKey);
    rows.push({ who, label, rate: rate(runs, key), vs: cKey, ratio: rt, target, pass: target === undefined ? undefined : rt >= target });
  };
  const CNAME = { update: 'update', lookup: 'lookup', iterate: 'iterate+lookup', batch: 'batch-lookup' };
  row('node-libbpf', ours, 'set', 'set(k, v)', 'update', TARGETS.set);
  row('node-libbpf', ours, 'get', 'get(k) decoded', 'lookup', TARGETS.get);
  row('node-libbpf', ours, 'dump', 'entries() full dump', 'batch', TARGETS.dump);
  row('node-libbpf', ours, 'dump', 'entries() full dump', 'iterate');
  row('node-libbpf', ours, 'drain', 'drain()', 'batch');
  row('node-libbpf', ours, 'rawSet', 'raw.set(Buffer, Buffer)', 'update');
  row('node-libbpf', ours, 'rawGet', 'raw.get(Buffer)', 'lookup');
  row('N-API floor', ours, 'floorSet', 'minimal binding: update', 'update');
  row('N-API floor', ours, 'floorGet', 'minimal binding: lookup', 'lookup');
  row('N-API floor', ours, 'inProcess', 'C lookup loop in Node', 'lookup');
  const peerName = peer.length ? `bpf ${peer[0].version}` : 'bpf';
  row(peerName, peer, 'set', 'ConvMap set(k, v)', 'update');
  row(peerName, peer, 'get', 'ConvMap get(k) decoded', 'lookup');
  row(peerName, peer, 'dump', 'entries() full dump', 'batch');
  row(peerName, peer, 'dump', 'entries() full dump', 'iterate');
  row(peerName, peer, 'dumpBatch', `getBatch(${BATCH}) full dump`, 'batch');
  row(peerName, peer, 'drain', 'consumeEntries()', 'batch');

  const out = [];
  out.push('');
  out.push(`maps: BPF_MAP_TYPE_HASH u32 -> u64, ${n.toLocaleString('en-US')} entries; ${rounds} round(s), medians; ${pin.note}`);
  out.push(`C/libbpf ${libbpfVersion()} (run.sh map ${n}): update ${common.fmtRate(cMed.update)} ops/s, lookup ${common.fmtRate(cMed.lookup)} ops/s, ` +
           `iterate+lookup ${common.fmtRate(cMed.iterate)} entries/s, batch-lookup ${common.fmtRate(cMed.batch)} entries/s`);
  out.push('');
  const head = ['', 'operation', 'per second', 'vs C', '', 'target'];
  const table = rows.map((r) => [
    r.who, r.label, common.fmtRate(r.rate), common.fmtRatio(r.ratio), CNAME[r.vs],
    r.target === undefined ? '' : `>= ${r.target}x ${r.pass ? 'PASS' : 'FAIL'}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
  const fmt = (cells) => cells.map((s, i) => (i === 2 || i === 3 ? s.padStart(widths[i]) : s.padEnd(widths[i]))).join('  ').trimEnd();
  out.push(fmt(head));
  for (const t of table) out.push(fmt(t));
  const floorGet = rows.find((r) => r.who === 'N-API floor' && r.vs === 'lookup' && r.label.startsWith('minimal'));
  const inProc = rows.find((r) => r.label === 'C lookup loop in Node');
  const ourGet = rows.find((r) => r.label === 'get(k) decoded');
  if (floorGet && inProc && ourGet) {
    const us = (rt) => (1e6 / rt).toFixed(2);
    out.push(`floor: a lookup takes ${us(cMed.lookup)} us from C, ${us(inProc.rate)} us looped in C inside Node, ` +
             `${us(floorGet.rate)} us through one minimal N-API call (${common.fmtRatio(floorGet.ratio)} of C: the most any ` +
             `one-call-per-get binding reaches here), ${us(ourGet.rate)} us through get()`);
  }
  if (peerError) out.push(`bpf (npm, node_bpf): not measured: ${peerError}`);
  const notes = [...new Set([...ours, ...peer].flatMap((x) => x.notes ?? []))];
  for (const note of notes) out.push(`note: ${note}`);
  if (peer.length) out.push(`note: bpf ${peer[0].version} bundles its own libbpf ${peer[0].libbpf}; its maps are made by createMap(), ours comes from bench/fixtures/maps.bpf.c`);
  const targeted = rows.filter((r) => r.target !== undefined);
  out.push(`targets: ${targeted.filter((r) => r.pass).length}/${targeted.length} met (a benchmark, not a test: exit status 0 either way); ` +
           `${(now() - started).toFixed(0)} s`);
  process.stdout.write(`${out.join('\n')}\n`);

  if (args.json && args.json !== true) {
    fs.writeFileSync(String(args.json), JSON.stringify({ bench: 'maps', n, rounds, pinned: pin.note, c, ours, bpf: peer, bpfError: peerError, rows }, null, 2));
  }
  return { rows };
}

function libbpfVersion() {
  try {
    return /version=(\S+)/.exec(fs.readFileSync(path.join(common.ROOT, 'deps', 'libbpf', 'VERSION'), 'utf8'))[1];
  } catch {
    return '';
  }
}

module.exports = { name: 'maps', summary: 'hash map u32 -> u64: set, get, decoded full dump vs C/libbpf and the npm package bpf', main };

if (require.main === module) {
  const args = common.parseArgs(process.argv.slice(2));
  const job = args.worker === 'ours' ? workerOurs(Number(args.n), String(args.obj), args.floor ? String(args.floor) : undefined)
    : args.worker === 'bpf' ? workerBpf(Number(args.n))
    : args.worker ? Promise.reject(new Error(`unknown worker ${args.worker}`))
    : main(args);
  job.then(
    (result) => { if (args.worker) process.stdout.write(`${JSON.stringify(result)}\n`); },
    (e) => { process.stderr.write(`maps: ${e.stack || e}\n`); process.exit(1); },
  );
}
