// The smoke suite a user's agent would run first, for every runtime the package claims:
// open, load and attach a tracepoint program, receive ring buffer events, read a typed
// map, and get a BpfError for a refusal. Prints one line `SMOKE <json>`; exit 0 when
// every step passed.
//
//   <runtime> smoke.mjs [--no-events] [smoke.bpf.o]      (node, bun, deno run -A)
//
// --no-events leaves the ring buffer out (the rest for a runtime that cannot poll one).
import { BpfObject, BpfError, RingBuffer, libbpfVersion } from 'node-libbpf';

const runtime = globalThis.Bun ? `bun ${globalThis.Bun.version}`
  : globalThis.Deno ? `deno ${globalThis.Deno.version.deno}` : `node ${process.versions.node}`;
const args = globalThis.Deno ? globalThis.Deno.args : process.argv.slice(2);
const withEvents = !args.includes('--no-events');
const file = args.find((a) => !a.startsWith('--')) ?? new URL('./smoke.bpf.o', import.meta.url).pathname;
const steps = {};
const check = (name, ok, detail) => { steps[name] = ok ? 'ok' : `FAILED: ${detail}`; };

const obj = BpfObject.open(file);
try {
  obj.globals.target_tgid = process.pid;
  await obj.load();
  const link = obj.program('on_kill').attach();
  check('load+attach', link.fd > 0, `link fd ${link.fd}`);

  const events = withEvents ? new RingBuffer(obj.map('events'), { type: 'struct hit', signal: AbortSignal.timeout(10000) }) : null;
  for (let i = 0; i < 3; i++) process.kill(process.pid, 0);
  if (events) {
    const got = [];
    for await (const e of events) {
      got.push(e);
      if (got.length === 3) break;
    }
    check('ring buffer', got.length === 3 && got.every((e, i) => e.pid === process.pid && e.sig === 0 && e.count === BigInt(i + 1)),
      JSON.stringify(got, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)));
  }

  const counts = obj.map('counts');
  const stats = counts.get(0);
  check('typed map', stats?.calls === 3n && stats.last_pid === process.pid, JSON.stringify(stats, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)));

  try {
    counts.set(0, { calls: 0n, last_pid: 0, pad: 0 }, 'noexist');
    check('BpfError', false, 'set(noexist) on an existing key was accepted');
  } catch (e) {
    check('BpfError', e instanceof BpfError && e.code === 'EEXIST', `${e?.constructor?.name}: ${e?.message}`);
  }
} catch (e) {
  steps.error = `${e?.constructor?.name}: ${e?.message}`;
} finally {
  obj.close();
}
const passed = Object.keys(steps).length === (withEvents ? 4 : 3) && Object.values(steps).every((s) => s === 'ok');
console.log(`SMOKE ${JSON.stringify({ runtime, arch: process.arch, libbpf: libbpfVersion(), passed, steps })}`);
process.exit(passed ? 0 : 1);
