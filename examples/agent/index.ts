// agent: a node agent in one file. Process exec/exit, TCP connection lifecycle and connect
// latency, run-queue latency, and events per container, served on /metrics for Prometheus
// (and sent to an OpenTelemetry collector with --otlp). Logs are JSON lines on stderr.
//
//   node build/examples/agent/index.js [--port 9464] [--host 127.0.0.1] [--otlp URL]
//        [--features exec,tcp,runqlat,containers] [--log-events]
//
// SIGHUP reloads agent.bpf.o from disk (obj.upgrade: maps keep their state, links move to
// the new programs); SIGINT and SIGTERM stop it cleanly.
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { BpfObject, ContainerResolver, readCString, RingBuffer, type BpfMap, type RawEvent } from 'node-libbpf';
import { OpenTelemetryExporter, PrometheusExporter, type MeterLike } from 'node-libbpf/metrics';
import { Counter, Registry } from 'prom-client';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '9464' },
    host: { type: 'string', default: '127.0.0.1' },
    features: { type: 'string', default: 'exec,tcp,runqlat,containers' },
    otlp: { type: 'string' }, // an OTLP/HTTP metrics endpoint, e.g. http://collector:4318/v1/metrics
    'otlp-interval': { type: 'string', default: '10' }, // seconds between OTLP exports
    'log-events': { type: 'boolean', default: false }, // every event as a log line too
    object: { type: 'string', default: path.join(__dirname, 'agent.bpf.o') },
  },
});
const features = new Set(args.features.split(','));
const PROGRAMS: Record<string, string[]> = { exec: ['exec_start', 'exec_exit'], tcp: ['tcp_state'], runqlat: ['runq_wakeup', 'runq_wakeup_new', 'runq_switch'] };
const EVENTS = ['exec', 'exit', 'connect', 'connect_failed']; // enum event_type
const TCP_EVENTS = ['started', 'established', 'failed', 'accepted', 'closed']; // enum tcp_event

function log(level: 'info' | 'error', msg: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
}

// A feature turned off is a program never loaded (and so costs nothing in the kernel).
function configure(obj: BpfObject): void {
  for (const [feature, programs] of Object.entries(PROGRAMS)) for (const p of programs) obj.program(p).autoload = features.has(feature);
}

// Events per cgroup (struct event: u64 cgroup_id, u64 value, u32 type, u32 pid, char comm[16]),
// counted as they arrive; the cgroup becomes container labels once, through the resolver.
const resolver = features.has('containers') ? new ContainerResolver() : undefined;
type Labels = Record<string, string>;
const perCgroup = new Map<number, { counts: Float64Array; labels?: Labels }>();
const MAX_CGROUPS = 10000; // past it, new cgroups count together as cgroup="other"
const OTHER: Labels = { cgroup: 'other', runtime: 'unknown', container: '', pod: '' };

function cgroupLabels(id: number): Labels | undefined {
  const info = resolver!.resolve(id);
  if (!info) return undefined;
  return { cgroup: info.cgroupPath, runtime: info.runtime, container: info.containerId?.slice(0, 12) ?? '', pod: info.pod?.uid ?? '' };
}

function onEvent(e: RawEvent): void {
  const { view, offset } = e;
  const type = view.getUint32(offset + 16, true);
  const cgroupId = view.getUint32(offset, true) + view.getUint32(offset + 4, true) * 2 ** 32;
  if (resolver) {
    const key = perCgroup.size < MAX_CGROUPS || perCgroup.has(cgroupId) ? cgroupId : -1;
    let c = perCgroup.get(key);
    if (!c) perCgroup.set(key, (c = { counts: new Float64Array(EVENTS.length), labels: key === -1 ? OTHER : cgroupLabels(key) }));
    c.counts[type]++;
  }
  if (args['log-events']) {
    const value = view.getUint32(offset + 8, true) + view.getUint32(offset + 12, true) * 2 ** 32;
    log('info', EVENTS[type], { pid: view.getUint32(offset + 20, true), comm: readCString(view, offset + 24, 16), cgroupId, value });
  }
}

// Each sample once per cgroup id; cgroups not known at their first event are looked up again here.
function* cgroupSamples(): Generator<[Labels, number]> {
  for (const [id, c] of perCgroup) {
    c.labels ??= cgroupLabels(id);
    const labels = c.labels ?? { cgroup: `id:${id}`, runtime: 'unknown', container: '', pod: '' };
    for (let i = 0; i < EVENTS.length; i++) if (c.counts[i]) yield [{ ...labels, event: EVENTS[i] }, c.counts[i]];
  }
}

// The maps as metric families, the same for both exporters (read when collected).
interface Exporter { counter(m: BpfMap, o: object): unknown; histogram(m: BpfMap, o: object): unknown; builtins(o: object): unknown; close(): void }
function exportMaps<E extends Exporter>(e: E, obj: BpfObject, rb: RingBuffer, prom: boolean): E {
  const named = (name: string, text: string, total = ''): object => (prom ? { name: name + total, help: text } : { name, description: text });
  e.counter(obj.map('execs'), { ...named('agent_process_execs', 'exec() calls by command name', '_total'), maxSeries: 1000 });
  e.counter(obj.map('exits'), named('agent_process_exits', 'Process exits by exit code and signal', '_total'));
  e.counter(obj.map('tcp_events'), { ...named('agent_tcp_connections', 'TCP connections started, established, failed, accepted, closed', '_total'), labels: (i: number) => ({ event: TCP_EVENTS[i] }) });
  const hist = { sumField: 'total', lastSlotOpen: true };
  e.histogram(obj.map('connect_latency'), { ...named('agent_tcp_connect_latency_microseconds', 'connect() to established'), ...hist });
  e.histogram(obj.map('runq_latency'), { ...named('agent_runqueue_latency_microseconds', 'Wakeup or preemption to running on a CPU'), ...hist });
  e.builtins({ objects: [obj], buffers: { events: rb } });
  return e;
}

async function main(): Promise<void> {
  for (const f of features) if (!['exec', 'tcp', 'runqlat', 'containers'].includes(f)) throw new RangeError(`--features: expected exec, tcp, runqlat or containers, got '${f}'`);
  // SIGINT/SIGTERM abort `stop` (even during startup); then everything closes in order and the process exits on its own.
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort('SIGINT'));
  process.once('SIGTERM', () => stop.abort('SIGTERM'));
  const obj = BpfObject.open(args.object);
  configure(obj);
  await obj.load();
  obj.attach();
  const rb = new RingBuffer(obj.map('events'), onEvent, { raw: true });

  const registry = new Registry();
  let prometheus = exportMaps(new PrometheusExporter({ registry }), obj, rb, true);
  new Counter({
    name: 'agent_cgroup_events_total',
    help: 'Exec, exit and connect events by cgroup and container',
    labelNames: ['cgroup', 'runtime', 'container', 'pod', 'event'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, n] of cgroupSamples()) this.inc(labels, n);
    },
  });

  // OpenTelemetry: the same families as observable instruments, pushed over OTLP/HTTP.
  let otel: OpenTelemetryExporter | undefined;
  let meter: MeterLike | undefined;
  let shutdownOtel = async (): Promise<void> => undefined;
  if (args.otlp) {
    const { OTLPMetricExporter } = await import('@opentelemetry/exporter-metrics-otlp-http');
    const { MeterProvider, PeriodicExportingMetricReader } = await import('@opentelemetry/sdk-metrics');
    const reader = new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter({ url: args.otlp }), exportIntervalMillis: Number(args['otlp-interval']) * 1000 });
    const provider = new MeterProvider({ readers: [reader] });
    meter = provider.getMeter('node-libbpf-agent');
    otel = exportMaps(new OpenTelemetryExporter(meter), obj, rb, false);
    meter.createObservableCounter('agent_cgroup_events').addCallback((r) => {
      for (const [labels, n] of cgroupSamples()) r.observe(n, labels);
    });
    shutdownOtel = () => provider.shutdown(); // a last export, then stop
  }

  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end('metrics are on /metrics\n');
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (e: Error) => res.writeHead(500).end(`${e.message}\n`),
    );
  });
  server.listen(Number(args.port), args.host);
  await once(server, 'listening');
  const { address, port } = server.address() as AddressInfo;

  // SIGHUP: the next version takes over the maps whose shape it kept, so counters keep counting.
  // The exporters hold the old version's maps: they are made again from the new ones.
  let upgrading = Promise.resolve();
  process.on('SIGHUP', () => {
    upgrading = upgrading.then(async () => {
      try {
        const r = await obj.upgrade(args.object, { configure });
        prometheus.close();
        prometheus = exportMaps(new PrometheusExporter({ registry }), obj, rb, true);
        otel?.close();
        if (meter) otel = exportMaps(new OpenTelemetryExporter(meter), obj, rb, false);
        log('info', 'upgraded', { reused: r.reused, replaced: r.replaced, added: r.added, dropped: r.dropped, links: r.links });
      } catch (e) {
        log('error', 'upgrade failed, the running version stays', { error: (e as Error).message });
      }
    });
  });

  log('info', 'started', { metrics: `http://${address}:${port}/metrics`, features: [...features], programs: obj.programs().filter((p) => p.autoload).map((p) => p.name), otlp: args.otlp ?? null, loadMs: Number(obj.loadDurationNs ?? 0n) / 1e6 });

  if (!stop.signal.aborted) await once(stop.signal, 'abort');
  log('info', 'stopping', { signal: stop.signal.reason, delivered: rb.stats().delivered, dropped: rb.stats().dropped });
  await upgrading;
  server.close();
  server.closeAllConnections();
  await shutdownOtel();
  prometheus.close();
  otel?.close();
  resolver?.close();
  rb.close();
  obj.close(); // detaches every program, frees the maps
  process.removeAllListeners('SIGHUP');
  log('info', 'stopped');
}

main().catch((e: unknown) => {
  log('error', 'failed', { error: (e as Error).message, code: (e as { code?: string }).code, hint: (e as { hint?: string }).hint });
  process.exit(1);
});
