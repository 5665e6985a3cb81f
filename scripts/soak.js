#!/usr/bin/env node
// `npm run soak`: the library's lifetimes over many cycles, watching this process's file
// descriptors and RSS. Each cycle:
//   - opens, loads, attaches and closes an object (test/fixtures/basic.bpf.o);
//   - opens a RingBuffer, a PerfBuffer and a UserRingBuffer (plus the RingBuffer its
//     echoes come back through) on three objects loaded once, feeds them (one getpgid() in
//     a helper child fires all three programs; the user ring gets a message the program
//     drains and echoes), waits for every event, and closes the buffers;
//   - creates a standalone hash map, writes, reads and deletes through it, closes it;
//   - opens and loads an object and drops it without close(), for the GC to reclaim.
// Every --every cycles it runs the GC (twice, with the finalizers' turns between) and
// samples the fd count (/proc/self/fd) and RSS. After the warm-up (--warmup cycles, default
// a tenth) it fails, exit status 1, when the fd count at the end is above the count after
// the warm-up, or when RSS grows faster than --max-slope bytes per cycle (the median slope over
// the samples after the warm-up). Default 1024 B/cycle: an object or buffer that leaked
// would cost more than ten times that (libbpf keeps a copy of the ~13 KB object file, and
// each buffer maps at least a page), while malloc and V8 heap noise over 10,000 cycles stay
// below it. Prints a table of the samples and writes build/soak/summary.json.
//
//   npm run soak -- [--cycles 10000] [--every N] [--warmup N] [--max-slope BYTES]
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');

const ROOT = path.resolve(__dirname, '..');
const FIXTURES = path.join(ROOT, 'build', 'fixtures');

function parseArgs(argv) {
  const o = { cycles: 10000, every: undefined, warmup: undefined, maxSlope: 1024 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => Number(argv[++i]);
    if (a === '--cycles') o.cycles = v();
    else if (a === '--every') o.every = v();
    else if (a === '--warmup') o.warmup = v();
    else if (a === '--max-slope') o.maxSlope = v();
    else throw new Error(`unknown option ${a}`);
  }
  if (!(Number.isInteger(o.cycles) && o.cycles >= 20)) throw new Error('--cycles: expected an integer >= 20');
  o.every ??= Math.max(1, Math.floor(o.cycles / 50));
  o.warmup ??= Math.max(o.every, Math.floor(o.cycles / 10));
  return o;
}

// V8 sizes its young generation by the allocation rate (up to 16 MB per semi-space here),
// which shows up as RSS steps of several MB long after the warm-up. Capped at 1 MB, RSS
// follows what is retained. The script runs itself again with that flag.
const FLAGS = ['--max-semi-space-size=1', '--expose-gc'];
if (!FLAGS.every((f) => process.execArgv.includes(f))) {
  const { spawnSync } = require('node:child_process');
  const r = spawnSync(process.execPath, [...FLAGS, __filename, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 2);
}
const gc = globalThis.gc;

/** A python child making one getpgid() per line it reads (Node has no getpgid binding). */
class Trigger {
  constructor() {
    const code = 'import os, sys\nprint("ready", flush=True)\nfor line in iter(sys.stdin.readline, ""):\n    os.getpgid(0)\n    print("ok", flush=True)\n';
    this.child = spawn('python3', ['-c', code], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = [];
    this.wake = undefined;
    readline.createInterface({ input: this.child.stdout }).on('line', (l) => {
      this.lines.push(l);
      this.wake?.();
    });
  }

  async line() {
    while (this.lines.length === 0) await new Promise((r) => (this.wake = r));
    return this.lines.shift();
  }

  async fire() {
    this.child.stdin.write('1\n');
    await this.line();
  }

  close() {
    this.child.stdin.end();
  }
}

async function until(cond, what, ms = 10000) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`soak: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

async function settle() {
  for (let i = 0; i < 2; i++) {
    gc();
    for (let k = 0; k < 4; k++) await new Promise((r) => setImmediate(r)); // deferred finalizers
  }
}

function sample(cycle) {
  const m = process.memoryUsage();
  return { cycle, fds: fs.readdirSync('/proc/self/fd').length, rss: m.rss, heap: m.heapUsed, external: m.external };
}

/**
 * The Theil-Sen slope of rss over cycle (the median of the slopes between every two
 * samples): a leak moves every pair, while a one-time step (an arena or heap space grown
 * once) moves only the pairs across it, so it does not make a slope of its own.
 */
function slope(points) {
  const slopes = [];
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) slopes.push((points[j].rss - points[i].rss) / (points[j].cycle - points[i].cycle));
  }
  if (slopes.length === 0) return 0;
  slopes.sort((a, b) => a - b);
  const mid = slopes.length >> 1;
  return slopes.length % 2 ? slopes[mid] : (slopes[mid - 1] + slopes[mid]) / 2;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const { BpfMap, BpfObject, PerfBuffer, RingBuffer, UserRingBuffer } = require(path.join(ROOT, 'dist'));
  const fixture = (name) => fs.readFileSync(path.join(FIXTURES, `${name}.bpf.o`));
  const basic = fixture('basic');
  const trigger = new Trigger();
  await trigger.line(); // ready

  // The event objects, loaded once; their buffers come and go every cycle.
  const load = async (name, globals) => {
    const obj = BpfObject.open(fixture(name), { name });
    Object.assign(obj.globals, globals);
    await obj.load();
    obj.attach();
    return obj;
  };
  const rbObj = await load('ringbuf_events', { target_pid: trigger.child.pid });
  const pbObj = await load('perfbuf_events', { target_pid: trigger.child.pid });
  const urObj = await load('userringbuf_echo', { target_ppid: process.pid });
  const command = new Uint8Array(32);

  const cycle = async (i) => {
    const obj = BpfObject.open(basic, { name: 'soak' });
    await obj.load();
    obj.attach();
    obj.close();

    let ring = 0;
    let perf = 0;
    let echoed = 0;
    const rb = new RingBuffer(rbObj.map('events'), () => { ring++; });
    const pb = new PerfBuffer(pbObj.map('events'), () => { perf++; });
    const seen = new RingBuffer(urObj.map('seen'), () => { echoed++; });
    const urb = new UserRingBuffer(urObj.map('commands'));
    new DataView(command.buffer).setUint32(0, i, true);
    urb.send(command);
    await trigger.fire();
    await until(() => ring > 0 && perf > 0 && echoed > 0, `the events of cycle ${i} (ring ${ring}, perf ${perf}, user ring echo ${echoed})`);
    urb.close();
    seen.close();
    pb.close();
    rb.close();

    const m = BpfMap.create({ type: 'hash', key: 'u32', value: 'u64', maxEntries: 64, name: 'soak' });
    m.set(i & 63, BigInt(i));
    if (m.get(i & 63) !== BigInt(i)) throw new Error(`soak: map read back ${m.get(i & 63)}, wrote ${i}`);
    m.delete(i & 63);
    m.close();

    const dropped = BpfObject.open(basic, { name: 'dropped' });
    await dropped.load(); // never closed: the GC's to reclaim
  };

  const samples = [];
  const started = Date.now();
  await settle();
  samples.push(sample(0));
  for (let i = 1; i <= o.cycles; i++) {
    await cycle(i);
    if (i % o.every === 0 || i === o.cycles) {
      await settle();
      samples.push(sample(i));
    }
  }
  const seconds = (Date.now() - started) / 1000;
  for (const obj of [rbObj, pbObj, urObj]) obj.close();
  trigger.close();

  const afterWarmup = samples.find((s) => s.cycle >= o.warmup) ?? samples[0];
  const end = samples[samples.length - 1];
  const steady = samples.filter((s) => s.cycle >= afterWarmup.cycle);
  const rssSlope = slope(steady);
  const fdGrowth = end.fds - afterWarmup.fds;
  const mb = (b) => (b / 1048576).toFixed(1);
  console.log(' cycle    fds   rss MB  heap MB');
  for (const s of samples) console.log(`${String(s.cycle).padStart(6)}  ${String(s.fds).padStart(5)}  ${mb(s.rss).padStart(7)}  ${mb(s.heap).padStart(7)}${s === afterWarmup ? '  (after warm-up)' : ''}`);
  const failures = [];
  if (fdGrowth > 0) failures.push(`fd count grew by ${fdGrowth} after the warm-up (${afterWarmup.fds} -> ${end.fds})`);
  if (rssSlope > o.maxSlope) failures.push(`RSS grew ${rssSlope.toFixed(0)} B/cycle after the warm-up (limit ${o.maxSlope})`);
  const summary = {
    date: new Date().toISOString(), cycles: o.cycles, seconds, every: o.every, warmup: o.warmup, maxSlope: o.maxSlope,
    start: samples[0], afterWarmup, end, fdGrowth, rssSlope: Math.round(rssSlope), failures, samples,
  };
  fs.mkdirSync(path.join(ROOT, 'build', 'soak'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'build', 'soak', 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  console.log(`soak: ${o.cycles} cycles in ${seconds.toFixed(0)} s; fds ${samples[0].fds} at start, ${afterWarmup.fds} after warm-up (cycle ${afterWarmup.cycle}), ${end.fds} at the end; ` +
    `RSS ${mb(samples[0].rss)} / ${mb(afterWarmup.rss)} / ${mb(end.rss)} MB, slope after warm-up ${rssSlope.toFixed(0)} B/cycle (limit ${o.maxSlope})`);
  for (const f of failures) console.log(`soak: FAIL: ${f}`);
  process.exitCode = failures.length ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
