// examples/agent against the real kernel and a real Prometheus: the test starts the built
// agent on a free loopback port, makes execs, loopback TCP connections (to a server it
// starts on 127.0.0.1, and to a port where none listens) and a process in a cgroup it
// creates, then asks Prometheus' query API (and the OTLP receiver it runs on loopback) for
// those series, with values at least what the test caused. Then SIGHUP (obj.upgrade: the
// counters keep their values and keep counting) and SIGTERM (exit 0).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cgroup2Root, gatedNode, makeCgroup } from '../support/net';
import { freePort, startPrometheus, values, type PrometheusServer } from '../support/prometheus';

const root = path.join(__dirname, '..', '..');
const agentJs = path.join(root, 'build/examples/agent/index.js');

interface LogLine { level: string; msg: string; [k: string]: unknown }

interface Agent {
  proc: ChildProcess;
  logs: LogLine[];
  stderr(): string;
  waitLog(msg: string, after?: number): Promise<LogLine>;
  exited: Promise<number | null>;
}

function startAgent(args: string[]): Agent {
  const proc = spawn(process.execPath, [agentJs, ...args], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let partial = '';
  const logs: LogLine[] = [];
  const waiters: (() => void)[] = [];
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d;
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    for (const l of lines) {
      try {
        logs.push(JSON.parse(l) as LogLine);
      } catch {
        logs.push({ level: 'not JSON', msg: l });
      }
    }
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => {
    resolve(code);
    for (const w of waiters.splice(0)) w();
  }));
  return {
    proc,
    logs,
    stderr: () => stderr,
    exited,
    waitLog(msg, after = 0) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = logs.slice(after).find((l) => l.msg === msg);
          if (found) return resolve(found);
          if (proc.exitCode !== null) return reject(new Error(`agent exited before logging '${msg}': ${stderr}`));
          waiters.push(check);
        };
        check();
      });
    },
  };
}

/** The agent's own /metrics: value of the first sample line that starts with `series`. */
async function scrape(url: string, series: string): Promise<number> {
  const text = await (await fetch(url)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : NaN;
}

// In the test's cgroup: 5 execs of /bin/true, one of sh exiting 3, three connections to the
// test's server and one to a port where nothing listens.
const WORKLOAD = (port: number, closed: number): string => `
  const { execFileSync } = require('node:child_process');
  const net = require('node:net');
  for (let i = 0; i < 5; i++) execFileSync('/bin/true');
  try { execFileSync('/bin/sh', ['-c', 'exit 3']); } catch {}
  const connect = (p) => new Promise((res) => {
    const s = net.connect(p, '127.0.0.1');
    s.on('connect', () => { s.end(); res('ok'); });
    s.on('error', (e) => res(e.code));
  });
  (async () => {
    const out = [];
    for (let i = 0; i < 3; i++) out.push(await connect(${port}));
    out.push(await connect(${closed}));
    console.log(out.join(','));
  })();
`;

let agent: Agent;
let prometheus: PrometheusServer;
let server: net.Server;
let otlp: http.Server;
const otlpBodies: any[] = [];
let cgroup: ReturnType<typeof makeCgroup>;
let cgroupPath: string;
let metricsUrl: string;
let accepted = 0;
let workload: string;

beforeAll(async () => {
  cgroup = makeCgroup();
  cgroupPath = `/${path.relative(cgroup2Root(), cgroup.path)}`;
  server = net.createServer((s) => {
    accepted++;
    s.resume().on('end', () => s.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  otlp = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d)).on('end', () => {
      otlpBodies.push(JSON.parse(body));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => otlp.listen(0, '127.0.0.1', r));
  const port = await freePort();
  agent = startAgent(['--port', String(port), '--otlp', `http://127.0.0.1:${(otlp.address() as AddressInfo).port}/v1/metrics`, '--otlp-interval', '1']);
  const started = await agent.waitLog('started');
  expect(started).toMatchObject({ level: 'info', metrics: `http://127.0.0.1:${port}/metrics`, features: ['exec', 'tcp', 'runqlat', 'containers'] });
  metricsUrl = started.metrics as string;
  prometheus = await startPrometheus([{ name: 'agent', target: `127.0.0.1:${port}`, metricsPath: '/metrics' }]);

  const child = await gatedNode(WORKLOAD((server.address() as AddressInfo).port, await freePort()));
  fs.writeFileSync(path.join(cgroup.path, 'cgroup.procs'), String(child.pid));
  workload = await child.go();
}, 120000);

afterAll(async () => {
  if (agent && agent.proc.exitCode === null) {
    agent.proc.kill('SIGKILL');
    await agent.exited;
  }
  await prometheus?.stop();
  await new Promise((r) => server?.close(r));
  await new Promise((r) => otlp?.close(r));
  cgroup?.remove();
});

test('the workload ran as the test meant it to', () => {
  expect(workload.trim()).toBe('ok,ok,ok,ECONNREFUSED');
  expect(accepted).toBe(3);
});

test('Prometheus: execs by command, exits by exit code, TCP lifecycle and both latency histograms', async () => {
  const [execs] = await prometheus.query('agent_process_execs_total{comm="true"}', (r) => r.length === 1 && Number(r[0].value[1]) >= 5);
  expect(Number(execs.value[1])).toBeGreaterThanOrEqual(5);
  const [exit3] = await prometheus.query('agent_process_exits_total{exit_code="3",signal="0"}', (r) => r.length === 1);
  expect(Number(exit3.value[1])).toBeGreaterThanOrEqual(1);
  const tcp = values(await prometheus.query('agent_tcp_connections_total', (r) => r.length === 5 && values(r, 'event').accepted >= 3), 'event');
  expect(tcp.started).toBeGreaterThanOrEqual(4);
  expect(tcp.established).toBeGreaterThanOrEqual(3);
  expect(tcp.failed).toBeGreaterThanOrEqual(1);
  expect(tcp.accepted).toBeGreaterThanOrEqual(3);
  expect(tcp.closed).toBeGreaterThanOrEqual(0);
  const [connects] = await prometheus.query('agent_tcp_connect_latency_microseconds_count', (r) => r.length === 1 && Number(r[0].value[1]) >= 3);
  expect(Number(connects.value[1])).toBeGreaterThanOrEqual(3);
  // histogram_quantile works on the log2 buckets: a loopback connect takes more than 0 and less than a second
  const [p50] = await prometheus.query('histogram_quantile(0.5, agent_tcp_connect_latency_microseconds_bucket)', (r) => r.length === 1);
  expect(Number(p50.value[1])).toBeGreaterThan(0);
  expect(Number(p50.value[1])).toBeLessThan(1e6);
  const [runq] = await prometheus.query('agent_runqueue_latency_microseconds_count', (r) => r.length === 1 && Number(r[0].value[1]) > 0);
  expect(Number(runq.value[1])).toBeGreaterThan(0);
});

test('Prometheus: the events of the cgroup the test made, counted by the container resolver', async () => {
  const expr = `agent_cgroup_events_total{cgroup="${cgroupPath}"}`;
  const done = (r: { metric: Record<string, string>; value: [number, string] }[]): boolean => values(r, 'event').connect_failed >= 1 && values(r, 'event').exit >= 6;
  const byEvent = values(await prometheus.query(expr, done), 'event');
  expect(byEvent.exec).toBeGreaterThanOrEqual(6); // 5 true, 1 sh
  expect(byEvent.exit).toBeGreaterThanOrEqual(6);
  expect(byEvent.connect).toBeGreaterThanOrEqual(3);
  expect(byEvent.connect_failed).toBeGreaterThanOrEqual(1);
  const [one] = await prometheus.query(expr, (r) => r.length > 0);
  // a plain cgroup: no container, no pod (Prometheus stores no empty labels)
  expect([one.metric.runtime, one.metric.container, one.metric.pod]).toEqual(['none', undefined, undefined]);
});

test('Prometheus: the builtin metrics (ring buffer delivered and dropped, program runs)', async () => {
  const [delivered] = await prometheus.query('bpf_buffer_delivered_total{buffer="events"}', (r) => r.length === 1 && Number(r[0].value[1]) >= 16);
  expect(Number(delivered.value[1])).toBeGreaterThanOrEqual(16);
  const [dropped] = await prometheus.query('bpf_buffer_dropped_total{buffer="events"}', (r) => r.length === 1);
  expect(Number(dropped.value[1])).toBeGreaterThanOrEqual(0);
  const runs = values(await prometheus.query('bpf_program_runs_total', (r) => r.length === 6), 'program');
  expect(Object.keys(runs).sort()).toEqual(['exec_exit', 'exec_start', 'runq_switch', 'runq_wakeup', 'runq_wakeup_new', 'tcp_state']);
});

test('OTLP: the same counters pushed to the collector URL as OTLP/HTTP JSON', async () => {
  type Point = { attributes: { key: string; value: { stringValue?: string } }[]; asInt?: string | number; asDouble?: number };
  const points = (name: string): Point[] =>
    otlpBodies.flatMap((b) => b.resourceMetrics.flatMap((rm: any) => rm.scopeMetrics.flatMap((sm: any) => sm.metrics.filter((m: any) => m.name === name).flatMap((m: any) => (m.sum ?? m.gauge).dataPoints as Point[]))));
  const attr = (p: Point, key: string): string | undefined => p.attributes.find((a) => a.key === key)?.value.stringValue;
  const value = (p: Point): number => Number(p.asInt ?? p.asDouble);
  const cgroupExec = (): number => Math.max(0, ...points('agent_cgroup_events').filter((p) => attr(p, 'cgroup') === cgroupPath && attr(p, 'event') === 'exec').map(value));
  for (let i = 0; i < 60 && cgroupExec() < 6; i++) await new Promise((r) => setTimeout(r, 500));
  expect(cgroupExec()).toBeGreaterThanOrEqual(6);
  expect(Math.max(0, ...points('agent_process_execs').filter((p) => attr(p, 'comm') === 'true').map(value))).toBeGreaterThanOrEqual(5);
});

test('SIGHUP: obj.upgrade() takes over every map, logs it, and the counters keep counting', async () => {
  const execs = 'agent_process_execs_total{comm="true"}';
  const cgroupExecs = `agent_cgroup_events_total{cgroup="${cgroupPath}",runtime="none",container="",pod="",event="exec"}`;
  const before = await scrape(metricsUrl, execs);
  const beforeCgroup = await scrape(metricsUrl, cgroupExecs);
  expect(before).toBeGreaterThanOrEqual(5);
  const at = agent.logs.length;
  agent.proc.kill('SIGHUP');
  const upgraded = await agent.waitLog('upgraded', at);
  expect(upgraded).toMatchObject({ level: 'info', replaced: [], added: [], dropped: [] });
  expect(upgraded.reused).toEqual(expect.arrayContaining(['events', 'execs', 'exits', 'tcp_events', 'connecting', 'connect_latency', 'runq_start', 'runq_latency']));
  const links = upgraded.links as { updated: number; reattached: number; ended: number };
  expect(links.updated + links.reattached).toBe(6);
  expect(links.ended).toBe(0);
  expect(await scrape(metricsUrl, execs)).toBeGreaterThanOrEqual(before);
  // Counting goes on in the kernel (the map) and through the ring buffer (the cgroup's events).
  const child = await gatedNode("require('node:child_process').execFileSync('/bin/true'); require('node:child_process').execFileSync('/bin/true');");
  fs.writeFileSync(path.join(cgroup.path, 'cgroup.procs'), String(child.pid));
  await child.go();
  execFileSync('/bin/true');
  let after = NaN;
  for (let i = 0; i < 50 && !((after = await scrape(metricsUrl, cgroupExecs)) >= beforeCgroup + 2); i++) await new Promise((r) => setTimeout(r, 100));
  expect(after).toBeGreaterThanOrEqual(beforeCgroup + 2);
  expect(await scrape(metricsUrl, execs)).toBeGreaterThanOrEqual(before + 3);
  const [seen] = await prometheus.query(execs, (r) => r.length === 1 && Number(r[0].value[1]) >= before + 3);
  expect(Number(seen.value[1])).toBeGreaterThanOrEqual(before + 3);
}, 60000);

test('SIGTERM: a clean stop, exit code 0, every log line JSON', async () => {
  const at = agent.logs.length;
  agent.proc.kill('SIGTERM');
  expect(await agent.exited).toBe(0);
  expect(agent.logs.slice(at).map((l) => l.msg)).toEqual(['stopping', 'stopped']);
  expect(agent.logs.filter((l) => l.level !== 'info')).toEqual([]);
});

test('--features loads only the programs of the features named, and refuses an unknown one', async () => {
  const only = startAgent(['--port', '0', '--features', 'exec']);
  expect((await only.waitLog('started')).programs).toEqual(['exec_start', 'exec_exit']);
  only.proc.kill('SIGINT');
  expect(await only.exited).toBe(0);
  const bad = startAgent(['--port', '0', '--features', 'exec,disk']);
  expect(await bad.exited).toBe(1);
  expect(bad.logs).toEqual([expect.objectContaining({ level: 'error', msg: 'failed', error: "--features: expected exec, tcp, runqlat or containers, got 'disk'" })]);
}, 60000);

test("npm run demo's runner (scripts/demo.js): the agent, where its /metrics is, a sample of it, then a clean stop", async () => {
  const demo = spawn(process.execPath, [path.join(root, 'scripts', 'demo.js'), '--duration', '1', '--port', '0'], { cwd: root });
  let stdout = '';
  let stderr = '';
  demo.stdout.on('data', (d) => (stdout += d));
  demo.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise((r) => demo.on('close', r));
  expect([code, stderr.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as LogLine).msg)]).toEqual([0, ['started', 'stopping', 'stopped']]);
  const url = /serves Prometheus metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics); a sample:/.exec(stdout);
  expect(url).not.toBeNull();
  expect(stdout).toMatch(/^agent_tcp_connections_total\{event="started"\} \d+$/m);
  expect(stdout).toMatch(/^agent_runqueue_latency_microseconds_count \d+$/m);
}, 60000);
