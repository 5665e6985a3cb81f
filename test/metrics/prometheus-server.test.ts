// A real Prometheus (Debian's package, installed by scripts/setup.sh) on 127.0.0.1 scrapes
// this process twice, prom-client's Registry at /metrics and OpenTelemetry's Prometheus
// exporter at /otel, both fed by a real loaded program; the tests then ask Prometheus' HTTP
// query API for the series and values the BPF side produced (test/support/prometheus.ts).
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrometheusExporter as OtelPrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { Registry } from 'prom-client';
import { OpenTelemetryExporter, PrometheusExporter } from 'node-libbpf/metrics';
import { triggerGetpgid } from '../support/helpers';
import { EXPECTED, traced, type Traced } from '../support/metrics';
import { startPrometheus, values, type PrometheusServer, type PromSample } from '../support/prometheus';

let t: Traced;
let server: http.Server;
let prometheus: PrometheusServer | undefined;
let exporter: PrometheusExporter;
let otel: OpenTelemetryExporter;
let otelReader: OtelPrometheusExporter;
let provider: MeterProvider;

const query = (expr: string, done: (r: PromSample[]) => boolean): Promise<PromSample[]> => prometheus!.query(expr, done);

beforeAll(async () => {
  t = await traced();
  await t.run();
  const registry = new Registry();
  exporter = new PrometheusExporter({ registry })
    .counter(t.obj.map('calls'), { name: 'getpgid_calls_total', help: 'getpgid() calls by pid', labels: (pid: number) => ({ pid }) })
    .counter(t.obj.map('calls_by_key'), { name: 'getpgid_by_key_total' })
    .histogram(t.obj.map('hist_by_pid'), { name: 'getpgid_arg', labels: (pid: number) => ({ pid }), sumField: 'total' })
    .builtins({ objects: [t.obj], buffers: { events: t.rb } });
  otelReader = new OtelPrometheusExporter({ preventServerStart: true });
  provider = new MeterProvider({ readers: [otelReader] });
  otel = new OpenTelemetryExporter(provider.getMeter('node-libbpf-test'))
    .counter(t.obj.map('calls'), { name: 'otel_getpgid_calls', labels: (pid: number) => ({ pid }) })
    .histogram(t.obj.map('hist'), { name: 'otel_getpgid_arg' });

  server = http.createServer((req, res) => {
    if (req.url === '/otel') return otelReader.getMetricsRequestHandler(req, res);
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (e: Error) => res.writeHead(500).end(String(e)),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const target = `127.0.0.1:${(server.address() as AddressInfo).port}`;

  prometheus = await startPrometheus([
    { name: 'bpf', target, metricsPath: '/metrics' },
    { name: 'otel', target, metricsPath: '/otel' },
  ]);
}, 120000);

afterAll(async () => {
  // First what holds kernel state (the run statistics are system-wide), then Prometheus and its directory.
  exporter?.close();
  otel?.close();
  await prometheus?.stop();
  await provider?.shutdown();
  await new Promise((r) => server?.close(r));
  t?.close();
});

test('prom-client: the per-pid counter and the struct-keyed counter, as Prometheus stored them', async () => {
  const calls = await query('getpgid_calls_total', (r) => r.length > 0);
  expect(calls.map((s) => [s.metric.pid, s.metric.job, s.value[1]])).toEqual([[String(t.pid), 'bpf', String(EXPECTED.calls)]]);
  const byKey = await query(`getpgid_by_key_total{pid="${t.pid}"}`, (r) => r.length === 2);
  expect(values(byKey, 'arg_class')).toEqual({ 0: EXPECTED.argClass[0], 1: EXPECTED.argClass[1] });
  expect(byKey.every((s) => s.metric.comm === 'python3')).toBe(true);
});

test('prom-client: the log2 histogram, its exact bounds, sum and count; histogram_quantile works on it', async () => {
  const buckets = await query(`getpgid_arg_bucket{pid="${t.pid}"}`, (r) => r.length === 28);
  const byLe = values(buckets, 'le');
  for (const [le, n] of Object.entries(EXPECTED.log2)) expect(byLe[le]).toBe(n);
  expect(byLe['+Inf']).toBe(EXPECTED.calls);
  const [sum] = await query(`getpgid_arg_sum{pid="${t.pid}"}`, (r) => r.length === 1);
  expect(Number(sum.value[1])).toBe(EXPECTED.sum);
  const [count] = await query(`getpgid_arg_count{pid="${t.pid}"}`, (r) => r.length === 1);
  expect(Number(count.value[1])).toBe(EXPECTED.calls);
  // The median of 10 values lies in slot 2 ("4 -> 7"): Prometheus interpolates within (3, 7].
  const [median] = await query(`histogram_quantile(0.5, getpgid_arg_bucket{pid="${t.pid}"})`, (r) => r.length === 1);
  expect(Number(median.value[1])).toBeGreaterThan(3);
  expect(Number(median.value[1])).toBeLessThanOrEqual(7);
});

test('builtins through Prometheus: buffer delivered, map entries, program runs', async () => {
  const [delivered] = await query('bpf_buffer_delivered_total{buffer="events"}', (r) => r.length === 1);
  expect(Number(delivered.value[1])).toBe(EXPECTED.calls);
  const [entries] = await query('bpf_map_entries{map="calls_by_key"}', (r) => r.length === 1);
  expect(Number(entries.value[1])).toBe(2);
  // Run statistics are on while the exporter lives: five more getpgid() calls run the program five more times.
  await triggerGetpgid(5);
  const runs = await query('bpf_program_runs_total{program="on_getpgid"}', (r) => r.length === 1 && Number(r[0].value[1]) >= 5);
  expect(Number(runs[0]?.value[1])).toBeGreaterThanOrEqual(5);
});

test('OpenTelemetry through its Prometheus exporter: the counter (with _total) and the histogram gauges', async () => {
  const calls = await query('otel_getpgid_calls_total', (r) => r.length > 0);
  expect(calls.map((s) => [s.metric.pid, s.metric.job, s.value[1]])).toEqual([[String(t.pid), 'otel', String(EXPECTED.calls)]]);
  const buckets = await query('otel_getpgid_arg_bucket', (r) => r.length === 28);
  const byLe = values(buckets, 'le');
  for (const [le, n] of Object.entries(EXPECTED.log2)) expect(byLe[le]).toBe(n);
  expect(byLe['+Inf']).toBe(EXPECTED.calls);
  const [count] = await query('otel_getpgid_arg_count', (r) => r.length === 1);
  expect(Number(count.value[1])).toBe(EXPECTED.calls);
});
