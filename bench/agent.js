'use strict';
// The example agent's overhead (examples/agent), everything pinned to one CPU with taskset.
//
//   node bench/run.js agent [--rounds 3] [--secs 3] [--cpu 1|none] [--json FILE]
//   node bench/agent.js --worker ppid|exec|tcp --secs S [--rate R]   one load generator, JSON out
//
// event path  The agent built with -DAGENT_BENCH (build/bench/agent-bench.bpf.o: its own
//             programs plus one on sys_enter_getppid that emits 1000 exec events into the
//             agent's ring per call) and a getppid() loop on the same CPU: events/s the agent
//             consumes (bpf_buffer_delivered_total) and drops (bpf_buffer_dropped_total),
//             against `run.sh rb SECS` (a C producer thread and ring_buffer__poll on the same
//             CPU) in the same round; then the same load paced (the generator sleeping
//             between bursts), bisecting the highest rate it sustains with no drops.
//             Rounds alternate C and the agent.
// features    The agent as shipped, with an exec storm (spawnSync('/bin/true') in a loop) and
//             a loopback TCP connect storm (connect, close, in a loop) beside it on the same
//             CPU, once with every feature, once without each of exec, tcp, runqlat,
//             containers, and once with /metrics scraped 10 times a second: the agent's CPU
//             seconds (/proc/PID/stat), the BPF programs' run time (its own
//             bpf_program_run_time_seconds_total), events delivered, load achieved, RSS.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const common = require('./common');

const AGENT = path.join(common.ROOT, 'build', 'examples', 'agent', 'index.js');
const BENCH_OBJ = path.join(common.BUILD, 'bench', 'agent-bench.bpf.o');
const FEATURES = ['exec', 'tcp', 'runqlat', 'containers'];
// examples/agent's programs per feature (its PROGRAMS): their kernel run time is each feature's exact BPF cost.
const PROGRAMS = { exec: ['exec_start', 'exec_exit'], tcp: ['tcp_state'], runqlat: ['runq_wakeup', 'runq_wakeup_new', 'runq_switch'] };
const TARGET = 0.5;
const C_RB = /^rb: (\d+) events\/s consumed .*?(\d+) consumed, (\d+) dropped/;
const TICK = 100; // USER_HZ: /proc/PID/stat's clock ticks per second

// ---------------------------------------------------------------- load workers

async function workerPpid(secs, rate) {
  // each getppid() (process.ppid reads it anew) makes the bench program emit 1000 events.
  // Paced (rate > 0): call k is due at k * 1000 / rate seconds, and the worker sleeps until
  // then. It must sleep, not spin: it shares its one CPU with the agent, and a spinning
  // generator took that CPU from the consumer, so every paced run dropped (1-25%).
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(secs * 1e9));
  const nap = new Int32Array(new SharedArrayBuffer(4));
  let calls = 0;
  for (let now = t0; now < end; now = process.hrtime.bigint()) {
    if (rate) {
      const aheadMs = (calls * 1000 * 1000) / rate - Number(now - t0) / 1e6;
      if (aheadMs > 0) {
        Atomics.wait(nap, 0, 0, aheadMs);
        continue;
      }
    }
    process.ppid;
    calls++;
  }
  return { calls, events: calls * 1000, secs };
}

async function workerExec(secs) {
  const { spawnSync } = require('node:child_process');
  const end = Date.now() + secs * 1000;
  let n = 0;
  while (Date.now() < end) {
    spawnSync('/bin/true');
    n++;
  }
  return { execs: n, secs };
}

async function workerTcp(secs) {
  const server = net.createServer((s) => s.resume().on('end', () => s.end()));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  const end = Date.now() + secs * 1000;
  let n = 0;
  while (Date.now() < end) {
    await new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => s.end());
      s.on('close', resolve).on('error', reject);
      s.resume();
    });
    n++;
  }
  server.close();
  return { connects: n, secs };
}

// ---------------------------------------------------------------- driver

/** A child under `prefix`; resolves with the JSON it prints last. */
function worker(prefix, kind, args) {
  const [cmd, ...rest] = [...prefix, process.execPath, __filename, '--worker', kind, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`worker ${kind} exited ${code}: ${err.trim()}`));
      resolve(JSON.parse(out.trim().split('\n').pop()));
    });
  });
}

/** The agent under `prefix`, once it logged 'started' (it serves on a free loopback port). */
function startAgent(prefix, args) {
  const [cmd, ...rest] = [...prefix, process.execPath, AGENT, '--port', '0', ...args];
  const proc = spawn(cmd, rest, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const exited = new Promise((r) => proc.on('close', r));
  return new Promise((resolve, reject) => {
    proc.stderr.on('data', (d) => {
      err += d;
      const started = err.split('\n').map((l) => { try { return JSON.parse(l); } catch { return {}; } }).find((l) => l.msg === 'started');
      if (started && !proc.started) {
        proc.started = true;
        resolve({
          pid: proc.pid,
          url: started.metrics,
          async stop() {
            proc.kill('SIGTERM');
            const code = await exited;
            if (code !== 0) throw new Error(`agent exited ${code}: ${err.slice(-2000)}`);
          },
        });
      }
    });
    exited.then((code) => { if (!proc.started) reject(new Error(`agent exited ${code} before starting: ${err.slice(-2000)}`)); });
  });
}

/** Sum of the samples of `name` (any labels) in the agent's /metrics; `where` filters by label text. */
async function metric(url, name, where = '') {
  const text = await (await fetch(url)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if ((line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && line.includes(where)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
}

function rssMiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)[1]);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Context switches on the machine so far (/proc/stat's ctxt): what runqlat's programs run on. */
function contextSwitches() {
  return Number(/^ctxt (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'))[1]);
}

/** The agent (bench build) fed by getppid() bursts for `secs`, at `rate` events/s (0: as fast as it goes). */
async function eventPath(prefix, secs, rate) {
  const agent = await startAgent(prefix, ['--object', BENCH_OBJ]);
  try {
    // warm-up: the first pass over the ring's pages and the JIT
    await worker(prefix, 'ppid', ['--secs', '0.3']);
    await sleep(300);
    const d0 = await metric(agent.url, 'bpf_buffer_delivered_total');
    const x0 = await metric(agent.url, 'bpf_buffer_dropped_total');
    const cpu0 = cpuSeconds(agent.pid);
    const load = await worker(prefix, 'ppid', ['--secs', String(secs), ...(rate ? ['--rate', String(rate)] : [])]);
    await sleep(300); // what the last wake-up left
    const delivered = (await metric(agent.url, 'bpf_buffer_delivered_total')) - d0;
    const dropped = (await metric(agent.url, 'bpf_buffer_dropped_total')) - x0;
    const cpu = cpuSeconds(agent.pid) - cpu0;
    return { rate: delivered / load.secs, offered: load.events / load.secs, delivered, dropped, cpu, cpuPerMillion: cpu / (delivered / 1e6), ...rssMiB(agent.pid) };
  } finally {
    await agent.stop();
  }
}

/** The shipped agent with `features`, under the exec and TCP storms for `secs`; `scrapeHz` scrapes of /metrics meanwhile. */
async function featureRun(prefix, features, secs, scrapeHz) {
  const agent = await startAgent(prefix, ['--features', features.join(',')]);
  try {
    await sleep(300);
    const runTime = () => metric(agent.url, 'bpf_program_run_time_seconds_total');
    const sum = (name, progs) => Promise.all(progs.map((p) => metric(agent.url, name, `program="${p}"`))).then((v) => v.reduce((a, b) => a + b, 0));
    const perFeature = async () => Object.fromEntries(await Promise.all(Object.entries(PROGRAMS).map(async ([f, progs]) =>
      [f, { time: await sum('bpf_program_run_time_seconds_total', progs), runs: await sum('bpf_program_runs_total', progs) }])));
    const b0 = await runTime();
    const f0 = await perFeature();
    const ctxt0 = contextSwitches();
    const d0 = await metric(agent.url, 'bpf_buffer_delivered_total');
    const cpu0 = cpuSeconds(agent.pid);
    let scrapes = 0;
    let scraping = true;
    const scraper = (async () => {
      while (scrapeHz && scraping) {
        await (await fetch(agent.url)).text();
        scrapes++;
        await sleep(1000 / scrapeHz);
      }
    })();
    const [exec, tcp] = await Promise.all([worker(prefix, 'exec', ['--secs', String(secs)]), worker(prefix, 'tcp', ['--secs', String(secs)])]);
    scraping = false;
    await scraper;
    await sleep(300);
    const cpu = cpuSeconds(agent.pid) - cpu0; // the agent process: user + system
    const bpf = (await runTime()) - b0; // its programs, in the kernel, wherever they ran
    const f1 = await perFeature();
    const bpfByFeature = Object.fromEntries(Object.keys(f1).map((f) => [f, { time: f1[f].time - f0[f].time, runs: f1[f].runs - f0[f].runs }]));
    const switches = contextSwitches() - ctxt0;
    const events = (await metric(agent.url, 'bpf_buffer_delivered_total')) - d0;
    return { features: features.join(',') || '-', scrapes, execs: exec.execs, connects: tcp.connects, switches, execsPerSec: exec.execs / exec.secs, connectsPerSec: tcp.connects / tcp.secs, cpu, bpf, bpfByFeature, events, ...rssMiB(agent.pid) };
  } finally {
    await agent.stop();
  }
}

async function buildAll(log) {
  common.ensureDist(log);
  const agentSrc = path.join(common.ROOT, 'examples', 'agent');
  const newest = Math.max(...fs.readdirSync(agentSrc).map((f) => fs.statSync(path.join(agentSrc, f)).mtimeMs));
  if (!fs.existsSync(AGENT) || fs.statSync(AGENT).mtimeMs < newest || !fs.existsSync(path.join(path.dirname(AGENT), 'agent.bpf.o'))) {
    log('examples are older than examples/agent: npm run build:examples');
    common.run('npm', ['run', '--silent', 'build:examples']);
  }
  const { build } = require(path.join(common.ROOT, 'dist', 'toolchain', 'build'));
  fs.mkdirSync(path.dirname(BENCH_OBJ), { recursive: true });
  await build(path.join(agentSrc, 'agent.bpf.c'), { output: BENCH_OBJ, cflags: ['-DAGENT_BENCH'] });
}

const f2 = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '-');

async function main(args) {
  const rounds = Number(args.rounds ?? 3);
  const secs = Number(args.secs ?? 3);
  const { prefix, note } = common.pinning(args.cpu ?? 1);
  const log = (m) => process.stderr.write(`bench agent: ${m}\n`);
  await buildAll(log);
  common.prepareC(['rb', '0.2']);
  console.log(`agent overhead (${note}; ${rounds} rounds of ${secs} s; ${new Date().toISOString()})`);

  // 1. the event path at saturation, C and the agent alternating
  const c = [];
  const ours = [];
  for (let r = 0; r < rounds; r++) {
    const m = C_RB.exec(common.runC(prefix, ['rb', String(secs)]));
    if (!m) throw new Error('run.sh rb printed no result');
    c.push({ rate: Number(m[1]), consumed: Number(m[2]), dropped: Number(m[3]) });
    ours.push(await eventPath(prefix, secs, 0));
  }
  const ratio = common.median(ours.map((o, i) => o.rate / c[i].rate));
  const sat = common.median(ours.map((o) => o.rate));
  console.log('\nevent path (ring buffer -> the agent\'s handler, container counting included), saturated:');
  console.log(`  C run.sh rb:  ${common.fmtRate(common.median(c.map((x) => x.rate)))} events/s consumed (drops: ${c.map((x) => x.dropped).join(', ')})`);
  console.log(`  agent:        ${common.fmtRate(sat)} events/s consumed of ${common.fmtRate(common.median(ours.map((o) => o.offered)))} offered (drops: ${ours.map((o) => o.dropped).join(', ')})`);
  console.log(`                ${f2(common.median(ours.map((o) => o.cpuPerMillion)))} agent CPU s per million events; RSS ${f2(common.median(ours.map((o) => o.rss)), 1)} MiB (peak ${f2(common.median(ours.map((o) => o.peak)), 1)})`);
  console.log(`  agent event path / C raw consumption: ${common.fmtRatio(ratio)} (target >= ${TARGET}x)`);

  // 2. paced: the highest rate it sustains with no drops, by bisection between 0 and the
  // saturated rate (six runs: to 1/64 of it); every run is printed.
  const paced = [];
  let lo = 0;
  let hi = sat;
  let best;
  for (let step = 0; step < 6; step++) {
    const rate = Math.round((lo + hi) / 2);
    const o = await eventPath(prefix, secs, rate);
    paced.push({ rate, ...o });
    const clean = o.dropped === 0 && o.offered >= 0.95 * rate; // no drops, and the load really came at that rate
    if (clean) {
      lo = rate;
      best = { rate, ...o };
    } else {
      hi = rate;
    }
    console.log(`  paced at ${common.fmtRate(rate)}/s (${f2(rate / sat)} of saturated): ${common.fmtRate(o.rate)} events/s delivered, ${o.dropped} dropped, ${f2(o.cpuPerMillion)} CPU s per million events${clean ? '' : ' (not sustained)'}`);
  }
  console.log(best
    ? `  sustained without drops: ${common.fmtRate(best.rate)} events/s (${f2(best.rate / sat)} of saturated, ${common.fmtRatio(best.rate / common.median(c.map((x) => x.rate)))} of C's raw rate), ${f2(best.cpuPerMillion)} agent CPU s per million events, RSS ${f2(best.rss, 1)} MiB`
    : `  sustained without drops: none of the rates tried (lowest ${common.fmtRate(paced[paced.length - 1].rate)}/s)`);

  // 3. per feature, under the exec and TCP storms
  const configs = [
    { name: 'all features', features: FEATURES, scrapeHz: 0 },
    ...FEATURES.map((f) => ({ name: `without ${f}`, features: FEATURES.filter((x) => x !== f), scrapeHz: 0 })),
    { name: 'all + scrape 10/s', features: FEATURES, scrapeHz: 10 },
  ];
  const feat = [];
  for (const cfg of configs) feat.push({ name: cfg.name, ...(await featureRun(prefix, cfg.features, secs, cfg.scrapeHz)) });
  const all = feat[0];
  console.log(`\nper feature, with an exec storm and a loopback TCP connect storm on the same CPU (${secs} s each):`);
  console.log('  config               execs/s  connects/s  events  agent CPU s  BPF run s  CPU s/M events  RSS MiB');
  for (const r of feat) {
    console.log(`  ${r.name.padEnd(19)} ${f2(r.execsPerSec, 0).padStart(8)} ${f2(r.connectsPerSec, 0).padStart(11)} ${String(r.events).padStart(7)} ${f2(r.cpu).padStart(12)} ${f2(r.bpf, 3).padStart(10)} ${f2(r.cpu / (r.events / 1e6)).padStart(15)} ${f2(r.rss, 1).padStart(8)}`);
  }
  console.log('  feature cost (all minus without it; agent CPU + BPF run time, as % of one CPU):');
  for (const r of feat.slice(1, 1 + FEATURES.length)) {
    const cost = ((all.cpu + all.bpf) - (r.cpu + r.bpf)) / secs;
    console.log(`    ${r.name.replace('without ', '').padEnd(11)} ${f2(cost * 100, 1)}%`);
  }
  // Per unit of load, from the all-features run alone (no difference of two noisy runs):
  // each feature's programs' kernel run time, and the agent's user-space CPU per event.
  const unit = { exec: ['exec', 'execs', all.execs], tcp: ['connection', 'connections', all.connects], runqlat: ['context switch', 'context switches', all.switches] };
  console.log('  per unit of load (all-features run; BPF: the feature\'s programs\' own runs and run time, as the kernel counts them machine-wide):');
  for (const [f, [one, many, n]] of Object.entries(unit)) {
    const b = all.bpfByFeature[f];
    console.log(`    ${f.padEnd(11)} BPF ${f2((b.time / n) * 1e6, 2)} µs per ${one} (${n} ${many}; ${b.runs} runs of ${f2((b.time / Math.max(1, b.runs)) * 1e9, 0)} ns; ${f2((b.time / secs) * 100, 2)}% of a CPU)`);
  }
  console.log(`    user space  ${f2((all.cpu / all.events) * 1e6, 1)} µs of agent CPU per ring event (${all.events} events: exec/exit/connect records, counted per container)`);
  const scrape = feat[feat.length - 1];
  console.log(`    scrape      ${f2(((scrape.cpu - all.cpu) / secs) * 100, 1)}% (${scrape.scrapes} scrapes: ${f2(((scrape.cpu - all.cpu) / Math.max(1, scrape.scrapes)) * 1000, 1)} ms each)`);

  if (args.json) fs.writeFileSync(args.json, JSON.stringify({ c, ours, ratio, paced, features: feat }, null, 2));
}

if (require.main === module && process.argv.includes('--worker')) {
  const a = common.parseArgs(process.argv.slice(2));
  const kinds = { ppid: () => workerPpid(Number(a.secs), Number(a.rate ?? 0)), exec: () => workerExec(Number(a.secs)), tcp: () => workerTcp(Number(a.secs)) };
  kinds[a.worker]().then((r) => console.log(JSON.stringify(r)), (e) => {
    console.error(e.stack || e);
    process.exit(1);
  });
}

module.exports = { name: 'agent', summary: 'examples/agent: event path vs C/libbpf, CPU per feature, RSS', main };
