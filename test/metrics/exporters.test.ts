// The adapters in process, against a real loaded program: prom-client's Registry text and
// OpenTelemetry's SDK reader both carry the exact counts the BPF side made.
import { MeterProvider, MetricReader, DataPointType, type GaugeMetricData, type SumMetricData } from '@opentelemetry/sdk-metrics';
import { Registry } from 'prom-client';
import { BpfMap, BpfObject, RingBuffer } from 'node-libbpf';
import { Builtins, OpenTelemetryExporter, PrometheusExporter, SERIES_DROPPED } from 'node-libbpf/metrics';
import { fixture } from '../support/helpers';
import { ARGS, EXPECTED, traced, type Traced } from '../support/metrics';

/** `name{labels} value` lines of a Prometheus text exposition, as label-string (names sorted) -> value. */
function series(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels = [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => `${l[1]}="${l[2]}"`).sort();
    out.set(labels.length ? `{${labels.join(',')}}` : '', Number(m[3]));
  }
  return out;
}

class InProcessReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

let t: Traced;
beforeAll(async () => {
  t = await traced();
  await t.run();
});
afterAll(() => t.close());

test('the BPF side counted what the child did (the ground truth for the rest)', () => {
  expect(t.obj.map('calls').get(t.pid)).toBe(BigInt(ARGS.length));
  expect(t.records).toEqual(ARGS);
});

describe('prom-client', () => {
  let registry: Registry;
  let exporter: PrometheusExporter;
  beforeEach(() => {
    registry = new Registry();
    exporter = new PrometheusExporter({ registry });
  });
  afterEach(() => exporter.close());

  test('counters: a u32 key as label, per-CPU values summed, struct keys as labels (char arrays as strings)', async () => {
    exporter
      .counter(t.obj.map('calls'), { name: 'getpgid_calls_total', help: 'getpgid() calls', labels: (pid: number) => ({ pid }) })
      .counter(t.obj.map('calls_percpu'), { name: 'getpgid_percpu_calls_total' })
      .counter(t.obj.map('calls_by_key'), { name: 'getpgid_by_key_total' });
    const text = await registry.metrics();
    expect(text).toContain('# TYPE getpgid_calls_total counter');
    expect(text).toContain('# HELP getpgid_calls_total getpgid() calls');
    expect(series(text, 'getpgid_calls_total')).toEqual(new Map([[`{pid="${t.pid}"}`, EXPECTED.calls]]));
    expect(series(text, 'getpgid_percpu_calls_total')).toEqual(new Map([[`{key="${t.pid}"}`, EXPECTED.calls]]));
    expect(series(text, 'getpgid_by_key_total')).toEqual(new Map([
      [`{arg_class="0",comm="python3",pid="${t.pid}"}`, EXPECTED.argClass[0]],
      [`{arg_class="1",comm="python3",pid="${t.pid}"}`, EXPECTED.argClass[1]],
    ]));
    expect(series(text, SERIES_DROPPED)).toEqual(new Map([
      ['{metric="getpgid_calls_total"}', 0], ['{metric="getpgid_percpu_calls_total"}', 0], ['{metric="getpgid_by_key_total"}', 0],
    ]));
  });

  test('a label mapper that merges keys sums them; one returning undefined leaves entries out', async () => {
    exporter
      .gauge(t.obj.map('calls_by_key'), { name: 'merged', labels: (k: { comm: string }) => ({ comm: k.comm }) })
      .gauge(t.obj.map('calls_by_key'), { name: 'filtered', labels: (k: { arg_class: number }) => (k.arg_class === 1 ? { big: 'yes' } : undefined) });
    const text = await registry.metrics();
    expect(series(text, 'merged')).toEqual(new Map([['{comm="python3"}', EXPECTED.calls]]));
    expect(series(text, 'filtered')).toEqual(new Map([['{big="yes"}', EXPECTED.argClass[1]]]));
  });

  test('maxSeries caps a family, and the series-dropped gauge says by how much', async () => {
    exporter.counter(t.obj.map('calls_by_key'), { name: 'capped_total', maxSeries: 1 });
    const text = await registry.metrics();
    expect(series(text, 'capped_total').size).toBe(1);
    expect(series(text, SERIES_DROPPED)).toEqual(new Map([['{metric="capped_total"}', 1]]));
  });

  test('log2 histogram (libbpf-tools slots): exact le bounds 2^(k+1)-1, +Inf, count; _sum NaN without a sum field', async () => {
    exporter.histogram(t.obj.map('hist'), { name: 'getpgid_arg', help: 'getpgid() argument' });
    const text = await registry.metrics();
    expect(text).toContain('# TYPE getpgid_arg histogram');
    const buckets = series(text, 'getpgid_arg_bucket');
    expect(buckets.size).toBe(27 + 1);
    for (const [le, n] of Object.entries(EXPECTED.log2)) expect(buckets.get(`{le="${le}"}`)).toBe(n);
    expect(buckets.get('{le="+Inf"}')).toBe(EXPECTED.calls);
    expect(buckets.get(`{le="${2 ** 27 - 1}"}`)).toBe(EXPECTED.calls);
    expect(series(text, 'getpgid_arg_count')).toEqual(new Map([['', EXPECTED.calls]]));
    expect(series(text, 'getpgid_arg_sum').get('')).toBeNaN();
  });

  test('keyed log2 histogram with a sum field; BCC-style indexed histogram (per-CPU array of slots)', async () => {
    exporter
      .histogram(t.obj.map('hist_by_pid'), { name: 'by_pid', labels: (pid: number) => ({ pid }), sumField: 'total' })
      .histogram(t.obj.map('bcc_dist'), { name: 'bcc', layout: 'indexed' });
    const text = await registry.metrics();
    const byPid = series(text, 'by_pid_bucket');
    for (const [le, n] of Object.entries(EXPECTED.log2)) expect(byPid.get(`{le="${le}",pid="${t.pid}"}`)).toBe(n);
    expect(series(text, 'by_pid_sum')).toEqual(new Map([[`{pid="${t.pid}"}`, EXPECTED.sum]]));
    // getMetricsAsJSON() (get(), not the text path) carries each bucket's full label set.
    const json = (await registry.getMetricsAsJSON()).find((m) => m.name === 'by_pid')!;
    expect(json.values).toContainEqual({ metricName: 'by_pid_bucket', labels: { pid: String(t.pid), le: '1023' }, value: EXPECTED.log2[1023] });
    const bcc = series(text, 'bcc_bucket');
    for (const [le, n] of Object.entries(EXPECTED.log2)) expect(bcc.get(`{le="${le}"}`)).toBe(n);
    expect(series(text, 'bcc_count')).toEqual(new Map([['', EXPECTED.calls]]));
  });

  test("BCC's keyed BPF_HISTOGRAM (the slot a u64 key field, the other fields labels): buckets up to the largest slot seen", async () => {
    exporter.histogram(t.obj.map('bcc_by_comm'), { name: 'by_comm', layout: 'indexed' });
    const text = await registry.metrics();
    const buckets = series(text, 'by_comm_bucket');
    expect(buckets.size).toBe(17 + 1); // slots 0..16 (70000 is in slot 16), and +Inf
    for (const [le, n] of Object.entries(EXPECTED.log2)) expect(buckets.get(`{comm="python3",le="${le}"}`)).toBe(n);
    expect(series(text, 'by_comm_count')).toEqual(new Map([['{comm="python3"}', EXPECTED.calls]]));
  });

  test('linear histogram: le = base + (i+1)*step - 1; lastSlotOpen moves the clamped slot to +Inf only', async () => {
    exporter
      .histogram(t.obj.map('linear'), { name: 'lin', kind: 'linear', step: 4 })
      .histogram(t.obj.map('linear'), { name: 'lin_open', kind: 'linear', step: 4, lastSlotOpen: true });
    const text = await registry.metrics();
    const lin = series(text, 'lin_bucket');
    for (const [le, n] of Object.entries(EXPECTED.linear)) expect(lin.get(`{le="${le}"}`)).toBe(n);
    const open = series(text, 'lin_open_bucket');
    expect(open.has('{le="39"}')).toBe(false);
    expect(open.get('{le="35"}')).toBe(6);
    expect(open.get('{le="+Inf"}')).toBe(EXPECTED.calls);
  });

  test('builtins: run counts with statistics on while exporting, buffer delivered, map entries, load and verification time', async () => {
    exporter.builtins({ objects: [t.obj], buffers: { events: t.rb } });
    expect(exporter.statsEnabled).toBe(true);
    await t.run().catch(() => undefined); // the child has exited: nothing new, the ring is drained
    const before = t.obj.program('on_getpgid').info().runCount;
    // Runs now count: any getpgid() on the system runs the program (filtered by pid inside).
    const { triggerGetpgid } = await import('../support/helpers');
    await triggerGetpgid(5);
    const text = await registry.metrics();
    const labels = `{object="metrics_hist",program="on_getpgid"}`;
    expect(series(text, 'bpf_program_runs_total').get(labels)).toBeGreaterThanOrEqual(Number(before) + 5);
    expect(series(text, 'bpf_program_run_time_seconds_total').get(labels)).toBeGreaterThan(0);
    expect(series(text, 'bpf_program_verified_instructions').get(labels)).toBe(t.obj.program('on_getpgid').info().verifiedInstructions);
    expect(series(text, 'bpf_program_verification_seconds').get(labels)).toBeGreaterThanOrEqual(0);
    expect(series(text, 'bpf_object_load_seconds').get('{object="metrics_hist"}')).toBe(Number(t.obj.loadDurationNs) / 1e9);
    expect(series(text, 'bpf_buffer_delivered_total')).toEqual(new Map([['{buffer="events"}', EXPECTED.calls]]));
    expect(series(text, 'bpf_buffer_size_bytes')).toEqual(new Map([['{buffer="events"}', 4096]]));
    expect(series(text, 'bpf_buffer_available_bytes')).toEqual(new Map([['{buffer="events"}', 0]]));
    const entries = series(text, 'bpf_map_entries');
    expect(entries.get('{map="calls",object="metrics_hist"}')).toBe(1);
    expect(entries.get('{map="calls_by_key",object="metrics_hist"}')).toBe(2);
    expect(entries.get('{map="bcc_dist",object="metrics_hist"}')).toBe(27);
    expect(series(text, 'bpf_map_max_entries').get('{map="calls",object="metrics_hist"}')).toBe(1024);
    exporter.close();
    expect(exporter.statsEnabled).toBe(false);
    expect(await registry.metrics()).not.toContain('bpf_program_runs_total');
  });

  test("builtins: a ring buffer's fill before it is consumed, then delivered, and the drops the BPF side counted", async () => {
    // `burst` was written while nothing read it: 7 records of 512 bytes (+8 header) fit in its page, 3 did not.
    const burst = new RingBuffer(t.obj.map('burst'), () => undefined);
    try {
      const before = new Builtins({ buffers: { burst } }).read(); // synchronously: nothing consumed yet
      expect(before.get('bpf_buffer_available_bytes')).toEqual([{ labels: { buffer: 'burst' }, value: 7 * 520 }]);
      expect(before.get('bpf_buffer_delivered')).toEqual([{ labels: { buffer: 'burst' }, value: 0 }]);
      burst.consume();
      exporter.builtins({ buffers: { burst } });
      expect(exporter.statsEnabled).toBe(false); // no objects: no programs to count
      const text = await registry.metrics();
      expect(series(text, 'bpf_buffer_delivered_total')).toEqual(new Map([['{buffer="burst"}', 7]]));
      expect(series(text, 'bpf_buffer_dropped_total')).toEqual(new Map([['{buffer="burst"}', ARGS.length - 7]]));
      expect(series(text, 'bpf_buffer_available_bytes')).toEqual(new Map([['{buffer="burst"}', 0]]));
      burst.close();
      expect(series(await registry.metrics(), 'bpf_buffer_delivered_total').size).toBe(0); // a closed buffer is skipped
    } finally {
      burst.close();
    }
  });

  test('a closed map (or a map of a closed object) exports no series; the scrape still works', async () => {
    const standalone = BpfMap.create({ type: 'hash', key: 'u32', value: 'u64', maxEntries: 4, name: 'standalone' });
    standalone.set(1, 2n);
    const other = BpfObject.open(fixture('metrics_hist'));
    await other.load();
    other.map('calls').set(7, 3n);
    exporter.counter(standalone, { name: 'standalone_total' }).gauge(other.map('calls'), { name: 'other_calls' });
    let text = await registry.metrics();
    expect(series(text, 'standalone_total')).toEqual(new Map([['{key="1"}', 2]]));
    expect(series(text, 'other_calls')).toEqual(new Map([['{key="7"}', 3]]));
    const map = other.map('calls');
    expect([standalone.closed, map.closed]).toEqual([false, false]);
    standalone.close();
    other.close();
    expect([standalone.closed, map.closed]).toEqual([true, true]);
    text = await registry.metrics();
    expect(series(text, 'standalone_total').size + series(text, 'other_calls').size).toBe(0);
    expect(text).toContain('# TYPE standalone_total counter');
  });

  test('bad arguments: TypeError naming the parameter', () => {
    expect(() => exporter.counter({} as BpfMap, { name: 'x' })).toThrow('map: expected a BpfMap, got an object');
    expect(() => exporter.counter(t.obj.map('calls'), { name: '' })).toThrow('options.name: expected a non-empty string, got ""');
    expect(() => exporter.histogram(t.obj.map('hist'), { name: 'h', kind: 'linear' })).toThrow('options.step: expected an integer 1..2^53-1 (required for linear histograms), got undefined');
    expect(() => exporter.histogram(t.obj.map('hist'), { name: 'h', step: 4 })).toThrow(TypeError);
    expect(() => exporter.counter(t.obj.map('calls'), { name: 'x', maxSeries: 0 })).toThrow(RangeError);
    expect(() => exporter.counter(t.obj.map('calls'), { name: 'x', nope: 1 } as never)).toThrow('options.nope: expected one of the known options');
    exporter.counter(t.obj.map('calls'), { name: 'twice' });
    expect(() => exporter.counter(t.obj.map('calls'), { name: 'twice' })).toThrow("options.name: 'twice' is already exported by this PrometheusExporter");
    exporter.close();
    expect(() => exporter.counter(t.obj.map('calls'), { name: 'y' })).toThrow('PrometheusExporter is closed');
  });

  test('a value field that is not there is a TypeError at collection', async () => {
    exporter.counter(t.obj.map('calls'), { name: 'bad', value: 'count' });
    await expect(registry.metrics()).rejects.toThrow("options.value: map 'calls' has no value field 'count'");
  });
});

describe('OpenTelemetry SDK, in-process reader', () => {
  test('counters, histograms as _bucket/_count/_sum gauges, builtins; close() stops reading and stats', async () => {
    const reader = new InProcessReader();
    const provider = new MeterProvider({ readers: [reader] });
    const exporter = new OpenTelemetryExporter(provider.getMeter('bpf-test'))
      .counter(t.obj.map('calls'), { name: 'getpgid_calls', labels: (pid: number) => ({ pid }) })
      .histogram(t.obj.map('hist_by_pid'), { name: 'by_pid', labels: (pid: number) => ({ pid }), sumField: 'total' })
      .builtins({ objects: [t.obj], buffers: { events: t.rb } });
    try {
      expect(exporter.statsEnabled).toBe(true);
      const { resourceMetrics } = await reader.collect();
      const all = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
      const byName = (n: string) => all.find((m) => m.descriptor.name === n)!;
      const calls = byName('getpgid_calls') as SumMetricData;
      expect(calls.dataPointType).toBe(DataPointType.SUM);
      expect(calls.isMonotonic).toBe(true);
      expect(calls.dataPoints.map((p) => [p.attributes, p.value])).toEqual([[{ pid: String(t.pid) }, EXPECTED.calls]]);
      const bucket = byName('by_pid_bucket') as GaugeMetricData;
      const at = (le: string) => bucket.dataPoints.find((p) => p.attributes.le === le && p.attributes.pid === String(t.pid))?.value;
      for (const [le, n] of Object.entries(EXPECTED.log2)) expect(at(le)).toBe(n);
      expect(at('+Inf')).toBe(EXPECTED.calls);
      expect((byName('by_pid_count') as GaugeMetricData).dataPoints[0].value).toBe(EXPECTED.calls);
      expect((byName('by_pid_sum') as GaugeMetricData).dataPoints[0].value).toBe(EXPECTED.sum);
      const delivered = byName('bpf_buffer_delivered') as SumMetricData;
      expect(delivered.dataPoints.map((p) => [p.attributes, p.value])).toEqual([[{ buffer: 'events' }, EXPECTED.calls]]);
      const dropped = byName(SERIES_DROPPED) as GaugeMetricData;
      expect(dropped.dataPoints.map((p) => [p.attributes.metric, p.value]).sort()).toEqual([['by_pid', 0], ['getpgid_calls', 0]]);
    } finally {
      exporter.close();
    }
    expect(exporter.statsEnabled).toBe(false);
    // The SDK keeps reporting the last cumulative values; the map is no longer read.
    t.obj.map('calls').set(1, 5n);
    try {
      const after = (await reader.collect()).resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
      const calls = after.find((m) => m.descriptor.name === 'getpgid_calls') as SumMetricData | undefined;
      expect((calls?.dataPoints ?? []).map((p) => p.attributes.pid)).not.toContain('1');
    } finally {
      t.obj.map('calls').delete(1);
    }
    await provider.shutdown();
  });

  test('a non-Meter is a TypeError', () => {
    expect(() => new OpenTelemetryExporter({} as never)).toThrow('meter: expected an @opentelemetry/api Meter, got an object');
  });
});
