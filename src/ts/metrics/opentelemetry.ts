// OpenTelemetry adapter: observable instruments on a user's Meter (@opentelemetry/api, an
// optional peer dependency, typed here structurally so it is never loaded). The SDK calls
// the callbacks when its reader collects; each family reads its map once per collection
// (batch callbacks).
//
// Histograms: OpenTelemetry has no observable histogram, and feeding a synchronous one
// would mean one record() per counted event with made-up values. So a histogram map
// becomes three observable gauges with the Prometheus classic-histogram shape:
// `<name>_bucket` (cumulative count per `le` attribute, the same exact bounds as the
// Prometheus adapter, plus le="+Inf"), `<name>_count` and `<name>_sum`. Through the SDK's
// Prometheus exporter they arrive under those names, and histogram_quantile() works on
// `<name>_bucket`. Gauges, not counters, so the exporter does not rename them `_total`.
import type { BpfMap } from '../core/map/map';
import { argTypeError, checkOptions, checkString } from '../base/args';
import { Builtins, BUILTIN_FAMILIES, BUILTIN_OPTIONS, type BuiltinOptions } from './builtins';
import { checkHistogramOptions, HISTOGRAM_OPTIONS, readHistograms, type HistogramOptions } from './histogram';
import { checkMap, checkSeriesOptions, checkValueOption, readValues, VALUE_OPTIONS, type Labels, type ValueOptions } from './read';
import { SERIES_DROPPED } from './prometheus';

/** An observable instrument, as @opentelemetry/api's Meter makes them. */
export interface ObservableLike {
  /** Adds a callback the SDK calls at each collection. */
  addCallback(callback: (result: { observe(value: number, attributes?: Labels): void }) => void): void;
  /** Removes a callback added with addCallback(). */
  removeCallback(callback: (result: { observe(value: number, attributes?: Labels): void }) => void): void;
}

/** A batch callback's result, as @opentelemetry/api passes it. */
export interface BatchResultLike {
  /** Records `value` with `attributes` for `observable` at this collection. */
  observe(observable: any, value: number, attributes?: Labels): void;
}

/** What this adapter needs of an @opentelemetry/api Meter. */
export interface MeterLike {
  /** An observable (monotonic) counter: map counters. */
  createObservableCounter(name: string, options?: { description?: string; unit?: string }): ObservableLike;
  /** An observable gauge: map gauges and the three parts of a histogram. */
  createObservableGauge(name: string, options?: { description?: string; unit?: string }): ObservableLike;
  /** One callback for several instruments: a family reads its map once per collection. */
  addBatchObservableCallback(callback: (result: BatchResultLike) => void, observables: any[]): void;
  /** Removes a batch callback (close()). */
  removeBatchObservableCallback(callback: (result: BatchResultLike) => void, observables: any[]): void;
}

/** The name, description and unit of one OpenTelemetry instrument. */
export interface InstrumentNaming {
  /** The instrument name. */
  name: string;
  /** Its description (default: says which map it comes from). */
  description?: string;
  /** Its unit (counters and gauges; e.g. 'ns', 'By', '1'). */
  unit?: string;
}

const FAMILY_OPTIONS = ['name', 'description', 'unit', ...VALUE_OPTIONS] as const;
const HIST_OPTIONS = ['name', 'description', ...HISTOGRAM_OPTIONS] as const;

/**
 * Exports BPF maps and builtin metrics as observable instruments of an OpenTelemetry Meter.
 * @example
 * import { metrics } from '@opentelemetry/api';
 * import { OpenTelemetryExporter } from 'node-libbpf/metrics';
 * const exporter = new OpenTelemetryExporter(metrics.getMeter('agent'))
 *   .counter(obj.map('calls'), { name: 'getpgid_calls' })
 *   .histogram(obj.map('hist'), { name: 'getpgid_arg' })
 *   .builtins({ objects: [obj] });
 */
export class OpenTelemetryExporter {
  readonly #meter: MeterLike;
  readonly #batches: [(r: BatchResultLike) => void, ObservableLike[]][] = [];
  readonly #names = new Set<string>();
  #dropped: ObservableLike | undefined;
  #builtins: Builtins | undefined;
  #closed = false;

  /**
   * An exporter making observable instruments on `meter` (an @opentelemetry/api Meter).
   * @example
   * const exporter = new OpenTelemetryExporter(meterProvider.getMeter('agent'));
   * exporter.counter(obj.map('counts'), { name: 'getpgid_calls' });
   */
  constructor(meter: MeterLike) {
    if (meter === null || typeof meter !== 'object' || typeof meter.createObservableGauge !== 'function' || typeof meter.addBatchObservableCallback !== 'function') {
      throw argTypeError('meter', 'an @opentelemetry/api Meter', meter);
    }
    this.#meter = meter;
  }

  /**
   * A map as an observable counter: one data point per entry (per attribute set), per-CPU values summed.
   * @example exporter.counter(obj.map('calls'), { name: 'getpgid.calls' });
   */
  counter<K, V>(map: BpfMap<K, V>, options: InstrumentNaming & ValueOptions<K, V>): this {
    return this.#values('counter', map, options);
  }

  /**
   * A map as an observable gauge.
   * @example exporter.gauge(obj.map('inflight'), { name: 'inflight.requests' });
   */
  gauge<K, V>(map: BpfMap<K, V>, options: InstrumentNaming & ValueOptions<K, V>): this {
    return this.#values('gauge', map, options);
  }

  /**
   * A log2 or linear histogram map as `<name>_bucket` / `_count` / `_sum` observable gauges (see above).
   * @example exporter.histogram(obj.map('hist'), { name: 'runq_latency_usecs' });
   */
  histogram<K, V>(map: BpfMap<K, V>, options: InstrumentNaming & HistogramOptions<K, V>): this {
    this.#check();
    checkMap(map);
    const o = checkOptions<InstrumentNaming & HistogramOptions>(options, 'options', HIST_OPTIONS);
    const name = this.#name(o.name);
    checkHistogramOptions(o);
    const description = this.#description(o.description, map, 'histogram');
    const bucket = this.#meter.createObservableGauge(`${name}_bucket`, { description: `${description} (cumulative count per le)` });
    const count = this.#meter.createObservableGauge(`${name}_count`, { description: `${description} (count)` });
    const sum = this.#meter.createObservableGauge(`${name}_sum`, { description: `${description} (sum; NaN when the map keeps none)` });
    const dropped = this.#droppedGauge();
    this.#batch((r) => {
      const reading = readHistograms(map, o);
      for (const s of reading.samples) {
        s.bounds.forEach((le, i) => r.observe(bucket, s.cumulative[i], { ...s.labels, le: String(le) }));
        r.observe(bucket, s.count, { ...s.labels, le: '+Inf' });
        r.observe(count, s.count, s.labels);
        r.observe(sum, s.sum, s.labels);
      }
      r.observe(dropped, reading.dropped, { metric: name });
    }, [bucket, count, sum, dropped]);
    return this;
  }

  /**
   * The builtin metrics (see BUILTIN_FAMILIES): counters as observable counters, the rest as gauges.
   * Run statistics stay on until close().
   * @example exporter.builtins({ objects: [obj], buffers: { events: rb } });
   */
  builtins(options: BuiltinOptions): this {
    this.#check();
    if (this.#builtins) throw new TypeError('builtins(): this OpenTelemetryExporter already exports builtins');
    checkOptions<BuiltinOptions>(options, 'options', BUILTIN_OPTIONS);
    const builtins = new Builtins(options);
    this.#builtins = builtins;
    const instruments = BUILTIN_FAMILIES.map((f) =>
      f.type === 'counter' ? this.#meter.createObservableCounter(f.name, { description: f.help }) : this.#meter.createObservableGauge(f.name, { description: f.help }));
    this.#batch((r) => {
      const reading = builtins.read();
      BUILTIN_FAMILIES.forEach((f, i) => {
        for (const s of reading.get(f.name)!) r.observe(instruments[i], s.value, s.labels);
      });
    }, instruments);
    return this;
  }

  /** True while the builtins hold the kernel's run statistics on. */
  get statsEnabled(): boolean {
    return this.#builtins?.statsEnabled ?? false;
  }

  /** Removes every callback (the instruments stop reporting) and turns the run statistics off. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [callback, observables] of this.#batches) this.#meter.removeBatchObservableCallback(callback, observables);
    this.#builtins?.close();
  }

  #values(type: 'counter' | 'gauge', map: BpfMap, options: InstrumentNaming & ValueOptions): this {
    this.#check();
    checkMap(map);
    const o = checkOptions<InstrumentNaming & ValueOptions>(options, 'options', FAMILY_OPTIONS);
    const name = this.#name(o.name);
    checkSeriesOptions(o);
    checkValueOption(o.value);
    if (o.unit !== undefined && typeof o.unit !== 'string') throw argTypeError('options.unit', 'a string', o.unit);
    const opts = { description: this.#description(o.description, map, type), ...(o.unit !== undefined ? { unit: o.unit } : {}) };
    const instrument = type === 'counter' ? this.#meter.createObservableCounter(name, opts) : this.#meter.createObservableGauge(name, opts);
    const dropped = this.#droppedGauge();
    this.#batch((r) => {
      const reading = readValues(map, o);
      for (const s of reading.samples) r.observe(instrument, s.value, s.labels);
      r.observe(dropped, reading.dropped, { metric: name });
    }, [instrument, dropped]);
    return this;
  }

  #batch(callback: (r: BatchResultLike) => void, observables: ObservableLike[]): void {
    this.#meter.addBatchObservableCallback(callback, observables);
    this.#batches.push([callback, observables]);
  }

  #droppedGauge(): ObservableLike {
    return (this.#dropped ??= this.#meter.createObservableGauge(SERIES_DROPPED, {
      description: 'Series a metric family left out at its last collection because of its maxSeries cap (0: none)',
    }));
  }

  #name(name: unknown): string {
    checkString(name, 'options.name');
    if (this.#names.has(name as string)) throw new TypeError(`options.name: '${name}' is already exported by this OpenTelemetryExporter`);
    this.#names.add(name as string);
    return name as string;
  }

  #description(description: unknown, map: BpfMap, type: string): string {
    if (description === undefined) return `BPF map ${map.name} as a ${type}`;
    if (typeof description !== 'string') throw argTypeError('options.description', 'a string', description);
    return description;
  }

  #check(): void {
    if (this.#closed) throw new TypeError('OpenTelemetryExporter is closed');
  }
}
