// Reading a BPF map as metric series, at collection time: key fields become labels (or what
// a label mapper makes of the key), per-CPU values are summed, and at most `maxSeries` series
// come out (the rest are counted, so the cap is visible). Used by both adapters.
import { BpfMap } from '../core/map/map';
import { argTypeError, checkInteger, checkString, describe } from '../base/args';

/** Label values by label name. */
export type Labels = Record<string, string>;

/**
 * Turns a map entry's key (decoded from BTF: a number, bigint, string, or a plain object for a
 * struct) into labels. Returning undefined leaves the entry out.
 */
export type LabelMapper<K = any, V = any> = (key: K, value: V) => Record<string, string | number | bigint | boolean> | undefined;

/** What every map family takes: labels from keys, and a cap on series. */
export interface SeriesOptions<K = any, V = any> {
  /** Key to labels. Default: a struct key's fields (nested as `outer_inner`), a scalar key as `key`; none for a one-entry array. */
  labels?: LabelMapper<K, V>;
  /** At most this many series per collection (default 10000); the rest are left out and counted. */
  maxSeries?: number;
}

/** A counter or gauge family: which number of each value to export. */
export interface ValueOptions<K = any, V = any> extends SeriesOptions<K, V> {
  /** The number to export: a field of a struct value, or a function of the value (per-CPU values summed first). Default: the value itself. */
  value?: string | ((value: V, key: K) => number | bigint);
}

/** One series of a counter or gauge family at a collection. */
export interface Sample {
  /** The series' labels (from the key). */
  labels: Labels;
  /** Its value (per-CPU values summed). */
  value: number;
}

/** What one collection read from a map. */
export interface Reading<S> {
  /** The series, at most maxSeries of them. */
  samples: S[];
  /** Series left out by maxSeries at this collection. */
  dropped: number;
}

export const DEFAULT_MAX_SERIES = 10000;
const SERIES_OPTIONS = ['labels', 'maxSeries'] as const;
export const VALUE_OPTIONS = [...SERIES_OPTIONS, 'value'] as const;

/** A Prometheus/OpenTelemetry-safe label or metric name part. */
const sanitized = new Map<string, string>();
export function sanitizeName(name: string): string {
  let s = sanitized.get(name);
  if (s === undefined) {
    s = name.replace(/[^a-zA-Z0-9_]/g, '_');
    if (/^[0-9]/.test(s)) s = `_${s}`;
    if (sanitized.size < 4096) sanitized.set(name, s);
  }
  return s;
}

function labelValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return Array.from(v as ArrayLike<unknown>, labelValue).join(',');
  return String(v);
}

function flatten(prefix: string, v: unknown, out: Labels): void {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v)) {
    for (const [k, inner] of Object.entries(v)) flatten(prefix ? `${prefix}_${k}` : k, inner, out);
  } else {
    out[sanitizeName(prefix || 'key')] = labelValue(v);
  }
}

/** The default label mapper, and the checks on what a user's mapper returns. */
export function labelsOf(map: BpfMap, mapper: LabelMapper | undefined, key: unknown, value: unknown): Labels | undefined {
  if (!mapper) {
    if (map.type === 'array' || map.type === 'percpu_array') {
      if (map.maxEntries === 1) return {};
    }
    const out: Labels = {};
    flatten('', key, out);
    return out;
  }
  const mapped = mapper(key, value);
  if (mapped === undefined) return undefined;
  if (mapped === null || typeof mapped !== 'object') throw argTypeError('labels() result', 'an object of label values or undefined', mapped);
  const out: Labels = {};
  for (const [k, v] of Object.entries(mapped)) out[sanitizeName(k)] = labelValue(v);
  return out;
}

/** Adds up per-CPU values: numbers and bigints, element-wise over arrays, field-wise over structs. */
export function sumCpus(values: unknown[]): unknown {
  return values.reduce((acc, v) => add(acc, v));
}

function add(a: unknown, b: unknown): unknown {
  if (typeof a === 'bigint' || typeof b === 'bigint') return BigInt(a as bigint) + BigInt(b as bigint);
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (Array.isArray(a) || ArrayBuffer.isView(a)) {
    const bs = b as ArrayLike<unknown>;
    return Array.from(a as ArrayLike<unknown>, (x, i) => add(x, bs[i]));
  }
  if (a !== null && typeof a === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(a)) out[k] = add(v, (b as Record<string, unknown>)[k]);
    return out;
  }
  return a;
}

/** The map's entries with per-CPU values summed; none once the map (or its object) is closed. */
export function* entriesOf(map: BpfMap): Generator<[unknown, unknown]> {
  if (map.closed) return;
  const perCpu = map.perCpu;
  for (const [k, v] of map.entries()) yield [k, perCpu ? sumCpus(v as unknown[]) : v];
}

export function toNumber(v: unknown, what: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new TypeError(`${what}: expected a number or bigint, got ${describe(v)}`);
}

export function checkSeriesOptions(o: SeriesOptions): void {
  if (o.labels !== undefined && typeof o.labels !== 'function') throw argTypeError('options.labels', 'a function', o.labels);
  if (o.maxSeries !== undefined) checkInteger(o.maxSeries, 'options.maxSeries', 1, 0x7fffffff);
}

export function checkValueOption(value: unknown): void {
  if (value === undefined || typeof value === 'function') return;
  if (typeof value !== 'string') throw argTypeError('options.value', 'a field name or a function', value);
  checkString(value, 'options.value');
}

/** A counter or gauge family: one sample per map entry (per label set, summed when a mapper merges keys). */
export function readValues(map: BpfMap, o: ValueOptions): Reading<Sample> {
  const max = o.maxSeries ?? DEFAULT_MAX_SERIES;
  const series = new Map<string, Sample>();
  let dropped = 0;
  for (const [key, value] of entriesOf(map)) {
    const labels = labelsOf(map, o.labels, key, value);
    if (!labels) continue;
    const n = pick(o.value, value, key, map.name);
    const id = labelId(labels);
    const seen = series.get(id);
    if (seen) seen.value += n;
    else if (series.size < max) series.set(id, { labels, value: n });
    else dropped++;
  }
  return { samples: [...series.values()], dropped };
}

function pick(how: ValueOptions['value'], value: unknown, key: unknown, mapName: string): number {
  if (typeof how === 'function') return toNumber(how(value, key), `options.value() for map '${mapName}'`);
  if (typeof how === 'string') {
    if (value === null || typeof value !== 'object' || !(how in value)) {
      throw new TypeError(`options.value: map '${mapName}' has no value field '${how}' (value: ${describe(value)})`);
    }
    return toNumber((value as Record<string, unknown>)[how], `map '${mapName}' value field '${how}'`);
  }
  return toNumber(value, `map '${mapName}' value`);
}

/** A label set's identity: names sorted, each value prefixed by its length (so no value can fake a separator). */
export function labelId(labels: Labels): string {
  const names = Object.keys(labels);
  if (names.length > 1) names.sort();
  let id = '';
  for (const n of names) id += `${n}\u0000${labels[n].length}\u0000${labels[n]}\u0000`;
  return id;
}

export function checkMap(map: unknown, name = 'map'): BpfMap {
  if (!(map instanceof BpfMap)) throw argTypeError(name, 'a BpfMap', map);
  return map;
}
