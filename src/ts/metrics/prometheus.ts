// prom-client adapter. Each family is a collector registered into a prom-client Registry
// (`registry.registerMetric`): prom-client calls its get() when scraped (registry.metrics()),
// and get() reads the map then. Nothing runs between scrapes: no timers, no copies. A custom
// collector rather than prom-client's own Counter/Gauge/Histogram: label names come from the
// map's keys at collection time, and a Histogram cannot be given bucket counts, only fed
// observations one by one.
import type { BpfMap } from '../core/map/map';
import { argTypeError, checkOptions, checkString } from '../base/args';
import { Builtins, BUILTIN_FAMILIES, BUILTIN_OPTIONS, type BuiltinOptions } from './builtins';
import { checkHistogramOptions, HISTOGRAM_OPTIONS, readHistograms, type HistogramOptions } from './histogram';
import { checkMap, checkSeriesOptions, checkValueOption, readValues, sanitizeName, VALUE_OPTIONS, type Labels, type ValueOptions } from './read';

/** What this adapter needs of a prom-client Registry (prom-client is an optional peer dependency). */
export interface RegistryLike {
  /** Adds a collector (a family this exporter reads when scraped). */
  registerMetric(metric: any): void;
  /** Removes a family by name (close() removes the exporter's own). */
  removeSingleMetric(name: string): void;
  /** A registered family by name (used to refuse a name taken twice). */
  getSingleMetric?(name: string): unknown;
}

/** Where a PrometheusExporter registers its families. */
export interface PrometheusExporterOptions {
  /** The prom-client Registry to register into (default: prom-client's global `register`). */
  registry?: RegistryLike;
  /** Prefix of the builtin metrics' names (default ''). */
  prefix?: string;
}

/** The name and HELP text of one exported family. */
export interface MetricNaming {
  /** The metric name (sanitized: characters outside [a-zA-Z0-9_:] become '_'). */
  name: string;
  /** HELP text (default: says which map it comes from). */
  help?: string;
}

interface PromValue {
  labels: Labels;
  value: number;
  metricName?: string;
  /** Labels many values share (a histogram series' labels under each bucket): prom-client formats them once. */
  sharedLabels?: Labels;
}

// prom-client formats `sharedLabels` once per object (a WeakMap cache) and makes a new {}
// for every value that has none: one shared empty object spares that garbage.
const NO_SHARED: Labels = Object.freeze({}) as Labels;
const leLabels = new Map<number, Labels>();
function le(bound: number): Labels {
  let l = leLabels.get(bound);
  if (!l) {
    l = Object.freeze({ le: String(bound) }) as Labels;
    if (leLabels.size < 65536) leLabels.set(bound, l);
  }
  return l;
}
const INF: Labels = Object.freeze({ le: '+Inf' }) as Labels;

interface PromMetric {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: string; values: PromValue[]; aggregator: 'sum' }>;
  getForPromString(): Promise<{ name: string; help: string; type: string; values: PromValue[]; aggregator: 'sum' }>;
  reset(): void;
}

const FAMILY_OPTIONS = ['name', 'help', ...VALUE_OPTIONS] as const;
const HIST_OPTIONS = ['name', 'help', ...HISTOGRAM_OPTIONS] as const;
/** The metric saying how many series a family's maxSeries left out at its last collection. */
export const SERIES_DROPPED = 'node_libbpf_metrics_series_dropped';

function metricName(name: unknown): string {
  checkString(name, 'options.name');
  return (name as string).replace(/[^a-zA-Z0-9_:]/g, '_').replace(/^([0-9])/, '_$1');
}

/**
 * Exports BPF maps and builtin metrics into a prom-client Registry, read when scraped.
 * @example
 * import { Registry } from 'prom-client';
 * import { PrometheusExporter } from 'node-libbpf/metrics';
 * const registry = new Registry();
 * const exporter = new PrometheusExporter({ registry })
 *   .counter(obj.map('calls'), { name: 'getpgid_calls_total', labels: (pid) => ({ pid }) })
 *   .histogram(obj.map('hist'), { name: 'getpgid_arg', kind: 'log2' })
 *   .builtins({ objects: [obj] });
 * // on GET /metrics: res.end(await registry.metrics());
 */
export class PrometheusExporter {
  readonly #registry: RegistryLike;
  readonly #prefix: string;
  readonly #names: string[] = [];
  readonly #dropped = new Map<string, number>();
  #builtins: Builtins | undefined;
  #closed = false;
  #droppedMetric: PromMetric | undefined;

  /**
   * An exporter registering into `options.registry` (prom-client's global one by default).
   * @example
   * const exporter = new PrometheusExporter({ registry });
   * exporter.counter(obj.map('counts'), { name: 'getpgid_calls' });
   * // registry.metrics() reads the map at each scrape
   */
  constructor(options?: PrometheusExporterOptions) {
    const o = checkOptions<PrometheusExporterOptions>(options, 'options', ['registry', 'prefix']);
    if (o.registry !== undefined && (o.registry === null || typeof o.registry !== 'object' || typeof o.registry.registerMetric !== 'function')) {
      throw argTypeError('options.registry', 'a prom-client Registry', o.registry);
    }
    if (o.prefix !== undefined && typeof o.prefix !== 'string') throw argTypeError('options.prefix', 'a string', o.prefix);
    this.#registry = o.registry ?? defaultRegistry();
    this.#prefix = o.prefix === undefined ? '' : sanitizeName(o.prefix);
  }

  /**
   * A map as a counter family: one series per entry (per label set), its value (per-CPU summed) as the count.
   * @example exporter.counter(obj.map('calls'), { name: 'getpgid_calls_total', help: 'getpgid() calls by pid' });
   */
  counter<K, V>(map: BpfMap<K, V>, options: MetricNaming & ValueOptions<K, V>): this {
    return this.#values('counter', map, options);
  }

  /**
   * A map as a gauge family (values that go down too: queue lengths, sizes, last-seen values).
   * @example exporter.gauge(obj.map('inflight'), { name: 'inflight_requests' });
   */
  gauge<K, V>(map: BpfMap<K, V>, options: MetricNaming & ValueOptions<K, V>): this {
    return this.#values('gauge', map, options);
  }

  /**
   * A log2 or linear histogram map as a Prometheus histogram with the slots' exact bounds
   * (log2: le = 1, 3, 7, ... 2^(k+1)-1; see HistogramOptions).
   * @example exporter.histogram(obj.map('hists'), { name: 'runq_latency_usecs', labels: (cpu) => ({ cpu }) });
   */
  histogram<K, V>(map: BpfMap<K, V>, options: MetricNaming & HistogramOptions<K, V>): this {
    this.#check();
    checkMap(map);
    const o = checkOptions<MetricNaming & HistogramOptions>(options, 'options', HIST_OPTIONS);
    const name = metricName(o.name);
    checkHistogramOptions(o);
    this.#add({
      name,
      help: this.#help(o.help, map, 'histogram'),
      type: 'histogram',
      read: () => {
        const { samples, dropped } = readHistograms(map, o);
        this.#dropped.set(name, dropped);
        const values: PromValue[] = [];
        for (const s of samples) {
          const shared = s.labels;
          for (let i = 0; i < s.bounds.length; i++) values.push({ metricName: `${name}_bucket`, labels: le(s.bounds[i]), sharedLabels: shared, value: s.cumulative[i] });
          values.push({ metricName: `${name}_bucket`, labels: INF, sharedLabels: shared, value: s.count });
          values.push({ metricName: `${name}_sum`, labels: NO_SHARED, sharedLabels: shared, value: s.sum });
          values.push({ metricName: `${name}_count`, labels: NO_SHARED, sharedLabels: shared, value: s.count });
        }
        return values;
      },
    });
    return this;
  }

  /**
   * The builtin metrics (bpf_program_runs_total, bpf_buffer_delivered_total, bpf_map_entries, ...:
   * see BUILTIN_FAMILIES) for these objects and buffers. Run statistics stay on until close().
   * @example exporter.builtins({ objects: [obj], buffers: { events: rb } });
   */
  builtins(options: BuiltinOptions): this {
    this.#check();
    if (this.#builtins) throw new TypeError('builtins(): this PrometheusExporter already exports builtins');
    checkOptions<BuiltinOptions>(options, 'options', BUILTIN_OPTIONS);
    const builtins = new Builtins(options);
    this.#builtins = builtins;
    let reading: Map<string, PromValue[]> | undefined;
    // One read serves every builtin family of a scrape: the first family's get() reads, the last one lets go.
    BUILTIN_FAMILIES.forEach((f, i) => {
      const last = i === BUILTIN_FAMILIES.length - 1;
      this.#add({
        name: `${this.#prefix}${f.name}${f.type === 'counter' ? '_total' : ''}`,
        help: f.help,
        type: f.type,
        read: () => {
          reading ??= builtins.read();
          const values = reading.get(f.name)!;
          if (last) reading = undefined;
          return values;
        },
      });
    });
    return this;
  }

  /** True while the builtins hold the kernel's run statistics on. */
  get statsEnabled(): boolean {
    return this.#builtins?.statsEnabled ?? false;
  }

  /** The names this exporter registered. */
  get names(): string[] {
    return [...this.#names, ...(this.#droppedMetric ? [this.#droppedMetric.name] : [])];
  }

  /** Unregisters every metric and turns the run statistics off. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const name of this.#names) this.#registry.removeSingleMetric(name);
    if (this.#droppedMetric) this.#registry.removeSingleMetric(this.#droppedMetric.name);
    this.#builtins?.close();
  }

  #values(type: 'counter' | 'gauge', map: BpfMap, options: MetricNaming & ValueOptions): this {
    this.#check();
    checkMap(map);
    const o = checkOptions<MetricNaming & ValueOptions>(options, 'options', FAMILY_OPTIONS);
    const name = metricName(o.name);
    checkSeriesOptions(o);
    checkValueOption(o.value);
    this.#add({
      name,
      help: this.#help(o.help, map, type),
      type,
      read: () => {
        const { samples, dropped } = readValues(map, o);
        this.#dropped.set(name, dropped);
        for (const v of samples as PromValue[]) v.sharedLabels = NO_SHARED;
        return samples;
      },
    });
    return this;
  }

  #help(help: unknown, map: BpfMap, type: string): string {
    if (help === undefined) return `BPF map ${map.name} as a ${type}`;
    if (typeof help !== 'string') throw argTypeError('options.help', 'a string', help);
    return help;
  }

  #add(spec: { name: string; help: string; type: PromMetric['type']; read: () => PromValue[] }): void {
    const { name, help, type, read } = spec;
    if (this.#names.includes(name)) throw new TypeError(`options.name: '${name}' is already exported by this PrometheusExporter`);
    const metric: PromMetric = {
      name,
      help,
      type,
      aggregator: 'sum',
      // registry.metrics() calls getForPromString(); getMetricsAsJSON() calls get(), which merges the shared labels.
      getForPromString: async () => ({ name, help, type, values: read(), aggregator: 'sum' }),
      get: async () => ({ name, help, type, values: read().map(merged), aggregator: 'sum' }),
      reset: () => undefined,
    };
    this.#registry.registerMetric(metric);
    this.#names.push(name);
    // The series-dropped gauge stays registered last, so a scrape reads it after the families it reports on.
    const dropped = (this.#droppedMetric ??= this.#makeDroppedMetric());
    if (!this.#registry.getSingleMetric || this.#registry.getSingleMetric(dropped.name) === dropped) this.#registry.removeSingleMetric(dropped.name);
    this.#registry.registerMetric(dropped);
  }

  #makeDroppedMetric(): PromMetric {
    const name = `${this.#prefix}${SERIES_DROPPED}`;
    const help = 'Series a metric family left out at its last collection because of its maxSeries cap (0: none)';
    const read = (): PromValue[] => [...this.#dropped].map(([metric, value]) => ({ labels: { metric }, value }));
    const get = async (): Promise<{ name: string; help: string; type: string; values: PromValue[]; aggregator: 'sum' }> => ({ name, help, type: 'gauge', values: read(), aggregator: 'sum' });
    return { name, help, type: 'gauge', aggregator: 'sum', get, getForPromString: get, reset: () => undefined };
  }

  #check(): void {
    if (this.#closed) throw new TypeError('PrometheusExporter is closed');
  }
}

function merged(v: PromValue): PromValue {
  const { sharedLabels, ...rest } = v;
  return sharedLabels && sharedLabels !== NO_SHARED ? { ...rest, labels: { ...sharedLabels, ...v.labels } } : rest;
}

function defaultRegistry(): RegistryLike {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('prom-client').register as RegistryLike;
  } catch {
    throw new TypeError("PrometheusExporter: prom-client is not installed (npm install prom-client), or pass options.registry");
  }
}
