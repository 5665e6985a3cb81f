'use strict';
// The containers benchmark: ContainerResolver on a kubelet-shaped cgroup tree made for it.
//
//   node bench/run.js containers [--rounds 3] [--cpu 1|none] [--pods 100] [--n 1000000] [--k 200]
//   node bench/containers.js --worker ...   one round, JSON on stdout
//
// Each round is its own process pinned to one CPU. It makes, under the cgroup2 mount,
// nlb_bench_<pid>/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice/
// cri-containerd-<id>.scope for --pods pods of 3 containers, and measures:
//   walk       new ContainerResolver() over that tree (the cold start: stat + parse + watch)
//   resolve    warm resolve(id) of bigint ids (what readBigUint64 gives for an event's
//              bpf_get_current_cgroup_id()), cycling over every container, ns per call;
//              the baseline is a bare Map<bigint, object>.get() of the same ids in the same
//              process: the floor any JS lookup table has
//   resolvePid resolvePid(pid) (reads /proc/PID/cgroup), us per call
//   inotify    --k times: mkdir of a new container cgroup -> the resolver's 'add' event for
//              it (its id resolvable), us; then rmdir -> 'remove'
//   bpf        the alternative: tp/cgroup/cgroup_mkdir (bench/fixtures/cgroup_mkdir.bpf.c)
//              sending id and path through a ring buffer: mkdir -> the event in JS, us
//   cost       CPU time per mkdir+rmdir cycle with the resolver watching, minus the same
//              cycles with nothing watching; inotify watches and heap per cgroup
// Every cgroup made is removed at the end (and on failure).
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { performance } = require('node:perf_hooks');
const common = require('./common');

const hex64 = () => crypto.randomBytes(32).toString('hex');

function removeTree(dir) {
  if (!fs.existsSync(dir)) return;
  for (const d of fs.readdirSync(dir, { withFileTypes: true })) if (d.isDirectory()) removeTree(path.join(dir, d.name));
  fs.rmdirSync(dir);
}

function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** Waits for `event` on `resolver` about `rel`; resolves with performance.now() at that moment. */
function onceFor(resolver, event, rel) {
  return new Promise((resolve) => {
    const f = (info) => {
      if (info.cgroupPath !== rel) return;
      const t = performance.now();
      resolver.off(event, f);
      resolve(t);
    };
    resolver.on(event, f);
  });
}

function timeResolve(resolve, ids, n) {
  let hits = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (resolve(ids[i % ids.length]) !== undefined) hits++;
  const ns = Number(process.hrtime.bigint() - t0) / n;
  if (hits !== n) throw new Error(`${n - hits} ids did not resolve`);
  return ns;
}

async function worker(args) {
  const lib = require(path.join(common.ROOT, 'dist', 'index.js'));
  const { cgroup2MountPoint } = require(path.join(common.ROOT, 'dist', 'containers', 'mount.js'));
  const pods = Number(args.pods || 100);
  const n = Number(args.n || 1000000);
  const k = Number(args.k || 200);
  const root = cgroup2MountPoint();
  const base = path.join(root, `nlb_bench_${process.pid}`);
  const qos = path.join(base, 'kubepods.slice', 'kubepods-burstable.slice');
  const out = {};
  // What an earlier round killed before its cleanup left behind.
  for (const d of fs.readdirSync(root)) {
    const m = /^nlb_bench_(\d+)$/.exec(d);
    if (m && !fs.existsSync(`/proc/${m[1]}`)) removeTree(path.join(root, d));
  }
  try {
    fs.mkdirSync(qos, { recursive: true });
    const leaves = [];
    for (let p = 0; p < pods; p++) {
      const pod = path.join(qos, `kubepods-burstable-pod${crypto.randomUUID().replace(/-/g, '_')}.slice`);
      fs.mkdirSync(pod);
      for (let c = 0; c < 3; c++) {
        const leaf = path.join(pod, `cri-containerd-${hex64()}.scope`);
        fs.mkdirSync(leaf);
        leaves.push(leaf);
      }
    }
    const ids = leaves.map((l) => fs.statSync(l, { bigint: true }).ino);

    // Cold start.
    const heap0 = process.memoryUsage().heapUsed;
    let t = performance.now();
    const resolver = new lib.ContainerResolver({ retainRemovedMs: 0 }).ref();
    out.walkMs = performance.now() - t;
    out.cgroups = resolver.size;
    out.heapPerCgroup = (process.memoryUsage().heapUsed - heap0) / resolver.size;
    out.watches = resolver.size;

    // Warm resolve, against the bare Map floor.
    const floor = new Map(ids.map((id) => [id, { id }]));
    const viaMap = (id) => floor.get(id);
    const viaResolver = (id) => resolver.resolve(id);
    for (let w = 0; w < 3; w++) {
      timeResolve(viaMap, ids, n / 10);
      timeResolve(viaResolver, ids, n / 10);
    }
    const m = [], r = [];
    for (let i = 0; i < 5; i++) {
      m.push(timeResolve(viaMap, ids, n));
      r.push(timeResolve(viaResolver, ids, n));
    }
    out.resolveNs = common.median(r);
    out.mapNs = common.median(m);
    const info = resolver.resolve(ids[0]);
    if (info.runtime !== 'containerd' || !info.pod) throw new Error(`wrong answer: ${JSON.stringify(info, (_k, v) => (typeof v === 'bigint' ? `${v}` : v))}`);

    // resolvePid (reads /proc each time).
    t = performance.now();
    const pidN = 20000;
    for (let i = 0; i < pidN; i++) if (!resolver.resolvePid(process.pid)) throw new Error('resolvePid failed');
    out.resolvePidUs = ((performance.now() - t) * 1000) / pidN;

    // mkdir -> 'add' (resolvable), rmdir -> 'remove', through inotify.
    const pod0 = path.dirname(leaves[0]);
    const add = [], remove = [];
    for (let i = 0; i < k; i++) {
      const dir = path.join(pod0, `cri-containerd-${hex64()}.scope`);
      const rel = `/${path.relative(root, dir)}`;
      const added = onceFor(resolver, 'add', rel);
      const t0 = performance.now();
      fs.mkdirSync(dir);
      add.push((await added) - t0);
      if (!resolver.resolve(fs.statSync(dir, { bigint: true }).ino)) throw new Error('added but not resolvable');
      const gone = onceFor(resolver, 'remove', rel);
      const t1 = performance.now();
      fs.rmdirSync(dir);
      remove.push((await gone) - t1);
    }
    out.addUs = { p50: pct(add, 50) * 1000, p99: pct(add, 99) * 1000 };
    out.removeUs = { p50: pct(remove, 50) * 1000, p99: pct(remove, 99) * 1000 };

    // CPU per mkdir+rmdir cycle: watched by the resolver, and with nothing watching.
    const cycles = async (label) => {
      const c0 = process.cpuUsage();
      for (let i = 0; i < k; i++) {
        const dir = path.join(pod0, `${label}-${i}`);
        fs.mkdirSync(dir);
        fs.rmdirSync(dir);
        await new Promise((res) => setImmediate(res)); // let the events be handled
      }
      const c = process.cpuUsage(c0);
      return (c.user + c.system) / k;
    };
    const watched = await cycles('w');
    resolver.close();
    const bare = await cycles('b');
    out.cpuPerCycleUs = watched - bare;
    out.cpuBareUs = bare;

    // The BPF alternative: tp/cgroup/cgroup_mkdir -> ring buffer -> JS.
    out.bpf = await bpfLatency(lib, args.obj, pod0, k);
  } finally {
    removeTree(base);
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

async function bpfLatency(lib, objPath, dir, k) {
  const obj = lib.BpfObject.open(objPath);
  try {
    await obj.load();
    obj.attach();
    let want = '';
    let got;
    const ring = new lib.RingBuffer(obj.map('events'), (e) => {
      const t = performance.now();
      // The tracepoint's path is the whole path below the hierarchy's root: match its leaf.
      const p = lib.readCString(e.view, e.offset + 16, 240);
      if (p.slice(p.lastIndexOf('/') + 1) === want) got?.({ t, id: lib.readBigUint64(e.view, e.offset) });
    }, { raw: true });
    try {
      const lat = [];
      for (let i = 0; i < k; i++) {
        want = `bpf-${i}`;
        const d = path.join(dir, want);
        const seen = new Promise((res) => (got = res));
        const t0 = performance.now();
        fs.mkdirSync(d);
        const ev = await seen;
        lat.push(ev.t - t0);
        if (ev.id !== fs.statSync(d, { bigint: true }).ino) throw new Error(`tracepoint id ${ev.id} is not ${d}'s inode`);
        fs.rmdirSync(d);
      }
      return { p50: pct(lat, 50) * 1000, p99: pct(lat, 99) * 1000 };
    } finally {
      ring.close();
    }
  } finally {
    obj.close();
  }
}

async function main(args) {
  const log = (m) => process.stderr.write(`containers: ${m}\n`);
  common.ensureDist(log);
  const obj = common.buildFixture('cgroup_mkdir');
  const rounds = Number(args.rounds || 3);
  const pin = common.pinning(args.cpu ?? 1);
  const pass = ['--obj', obj, '--pods', String(args.pods || 100), '--n', String(args.n || 1000000), '--k', String(args.k || 200)];
  const results = [];
  for (let i = 0; i < rounds; i++) results.push(common.runWorker(pin.prefix, __filename, pass));
  const med = (f) => common.median(results.map(f));
  const f1 = (x) => x.toFixed(1);
  console.log(`\ncontainers: ContainerResolver on ${results[0].cgroups} cgroups (${args.pods || 100} pods x 3 containers), ${rounds} rounds, ${pin.note}`);
  console.log(`cold walk (new ContainerResolver)     ${f1(med((r) => r.walkMs))} ms   (${f1(med((r) => r.heapPerCgroup))} heap bytes and 1 inotify watch per cgroup)`);
  console.log(`warm resolve(bigint id)               ${f1(med((r) => r.resolveNs))} ns/call   target < 1000 ns`);
  console.log(`  bare Map<bigint>.get, same ids      ${f1(med((r) => r.mapNs))} ns/call   resolve/Map ${common.fmtRatio(med((r) => r.resolveNs / r.mapNs))}`);
  console.log(`resolvePid (reads /proc/PID/cgroup)   ${f1(med((r) => r.resolvePidUs))} us/call`);
  console.log(`mkdir -> resolvable (inotify 'add')   p50 ${f1(med((r) => r.addUs.p50))} us   p99 ${f1(med((r) => r.addUs.p99))} us`);
  console.log(`rmdir -> forgotten ('remove')         p50 ${f1(med((r) => r.removeUs.p50))} us   p99 ${f1(med((r) => r.removeUs.p99))} us`);
  console.log(`mkdir -> BPF cgroup_mkdir event in JS p50 ${f1(med((r) => r.bpf.p50))} us   p99 ${f1(med((r) => r.bpf.p99))} us`);
  console.log(`CPU per mkdir+rmdir, watched - bare   ${f1(med((r) => r.cpuPerCycleUs))} us   (bare cycle ${f1(med((r) => r.cpuBareUs))} us)`);
}

module.exports = { name: 'containers', summary: 'cgroup id -> container resolution, and mkdir-to-resolvable latency', main };

if (require.main === module) {
  const args = common.parseArgs(process.argv.slice(2));
  if (args.worker) worker(args).catch((e) => { console.error(e); process.exit(1); });
  else main(args).catch((e) => { console.error(e); process.exit(1); });
}
