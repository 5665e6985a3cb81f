'use strict';
// The gen benchmark: decoding the same records with the decoders `node-libbpf gen`
// writes (straight-line DataView code, in the generated module) against the runtime
// codecs compiled from BTF (codecFor), for the three types of test/fixtures/gen_agent.bpf.c:
// struct gen_key (u32 + char[16]), struct gen_event (u64, u32, char[16], enum) and
// struct gen_value (80 bytes: bitfields, nested structs, arrays, a union, a double).
//
//   node bench/run.js gen [--rounds 3] [--cpu 1|none] [--n 200000]
//   node bench/gen.js --worker --n N --obj FILE --module FILE   one measurement, JSON on stdout
//
// No kernel is involved: records are random bytes (ASCII names) in one ArrayBuffer. Each
// round is its own process pinned to one CPU, timing both decoders alternately; the ratio
// is generated / runtime (records per second), the median over rounds.
const fs = require('node:fs');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const common = require('./common');

const TYPES = [['gen_key', 'struct gen_key'], ['gen_event', 'struct gen_event'], ['gen_value', 'struct gen_value']];
const NAMES = ['bash', 'python3', 'node', 'systemd-journal', 'sshd', 'kworker/0:1'];

function records(size, n) {
  const buf = new Uint8Array(size * n);
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 2654435761) >>> 24;
  const view = new DataView(buf.buffer);
  // char[16] members hold short ASCII names (as comm does), NUL-terminated
  for (let r = 0; r < n; r++) {
    const name = NAMES[r % NAMES.length];
    const at = size === 20 ? 4 : size === 32 ? 12 : -1;
    if (at < 0) continue;
    for (let j = 0; j < 16; j++) view.setUint8(r * size + at + j, j < name.length ? name.charCodeAt(j) : 0);
  }
  return view;
}

function time(decode, view, size, n) {
  let sink = 0;
  const t0 = performance.now();
  for (let r = 0; r < n; r++) {
    const v = decode(view, r * size);
    if (v !== undefined) sink++;
  }
  const s = (performance.now() - t0) / 1000;
  if (sink !== n) throw new Error('decoder returned undefined');
  return n / s;
}

function worker(args) {
  const n = Number(args.n || 200000);
  const lib = require(path.join(common.ROOT, 'dist', 'index.js'));
  const { codecFor } = require(path.join(common.ROOT, 'dist', 'btf', 'codec', 'index.js'));
  const generated = require(args.module);
  const btf = lib.Btf.fromFile(args.obj);
  const out = {};
  for (const [name, cName] of TYPES) {
    const codec = codecFor(btf, btf.type(cName).id);
    const gen = generated[`dec_${name}`];
    const view = records(codec.size, n);
    // same result first: the benchmark compares equal work
    const a = JSON.stringify(gen(view, 0), replacer);
    const b = JSON.stringify(codec.decode(view, 0), replacer);
    if (a !== b) throw new Error(`${name}: generated ${a} != runtime ${b}`);
    const runtime = (v, o) => codec.decode(v, o);
    for (let warm = 0; warm < 3; warm++) {
      time(gen, view, codec.size, n);
      time(runtime, view, codec.size, n);
    }
    const g = [], r = [];
    for (let i = 0; i < 5; i++) {
      g.push(time(gen, view, codec.size, n));
      r.push(time(runtime, view, codec.size, n));
    }
    out[name] = { generated: common.median(g), runtime: common.median(r) };
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function replacer(_k, v) {
  if (typeof v === 'bigint') return `${v}n`;
  if (ArrayBuffer.isView(v)) return Array.from(v, (x) => (typeof x === 'bigint' ? `${x}n` : x));
  return v;
}

/** Builds the fixture, generates its module and transpiles it to build/bench/gen_agent.js. */
function prepare() {
  const cli = path.join(common.ROOT, 'dist', 'cli', 'main.js');
  const dir = path.join(common.BUILD, 'bench');
  fs.mkdirSync(dir, { recursive: true });
  const obj = path.join(dir, 'gen_agent.bpf.o');
  common.run(process.execPath, [cli, 'build', path.join(common.ROOT, 'test', 'fixtures', 'gen_agent.bpf.c'), '-o', obj]);
  const ts = path.join(dir, 'gen_agent.ts');
  common.run(process.execPath, [cli, 'gen', obj, '-o', ts]);
  const typescript = require('typescript');
  const js = typescript.transpileModule(fs.readFileSync(ts, 'utf8'), {
    compilerOptions: { module: typescript.ModuleKind.CommonJS, target: typescript.ScriptTarget.ES2022 },
  }).outputText.replace(/require\("node-libbpf"\)/g, `require(${JSON.stringify(path.join(common.ROOT, 'dist', 'index.js'))})`);
  const module = path.join(dir, 'gen_agent.js');
  fs.writeFileSync(module, js);
  return { obj, module };
}

async function main(args) {
  const log = (m) => process.stderr.write(`gen: ${m}\n`);
  common.ensureDist(log);
  const { obj, module } = prepare();
  const rounds = Number(args.rounds || 3);
  const pin = common.pinning(args.cpu ?? 1);
  const n = String(args.n || 200000);
  const results = [];
  for (let i = 0; i < rounds; i++) results.push(common.runWorker(pin.prefix, __filename, ['--n', n, '--obj', obj, '--module', module]));
  console.log(`\ngen: generated decoders vs runtime BTF codecs, ${n} records per run, ${rounds} rounds, ${pin.note}`);
  console.log('type         generated rec/s   runtime rec/s   generated/runtime');
  for (const [name] of TYPES) {
    const g = common.median(results.map((r) => r[name].generated));
    const r = common.median(results.map((x) => x[name].runtime));
    const ratio = common.median(results.map((x) => x[name].generated / x[name].runtime));
    console.log(`${name.padEnd(12)} ${common.fmtRate(g).padStart(15)} ${common.fmtRate(r).padStart(15)}   ${common.fmtRatio(ratio).padStart(8)}`);
  }
}

module.exports = { name: 'gen', summary: 'generated decoders vs runtime codecs', main };

if (require.main === module) {
  const args = common.parseArgs(process.argv.slice(2));
  if (args.worker) worker(args);
  else main(args).catch((e) => { console.error(e); process.exit(1); });
}
