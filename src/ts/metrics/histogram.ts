// Histogram maps as the BPF tools keep them, read into cumulative buckets with exact bounds.
//
// Two layouts:
// - 'slots' (libbpf-tools): each map value is `struct hist { u32 slots[N]; ... }` (or the
//   array itself); the key, if the map has more than one entry, becomes labels.
// - 'indexed' (BCC's BPF_HISTOGRAM): the key is the slot number (or a struct whose `slot`
//   field is), the value its count; the other key fields become labels.
//
// Bounds, for integer values (what the tools histogram: nanoseconds, bytes, ...):
// - log2: slot k holds v with floor(log2(v)) = k (slot 0 also holds 0), i.e. [2^k, 2^(k+1)-1]
//   and [0, 1] for slot 0. Its Prometheus bucket is le = 2^(k+1) - 1: 1, 3, 7, 15, ... The
//   C tools print the same ranges ("0 -> 1", "2 -> 3", "4 -> 7").
// - linear: slot i holds [base + i*step, base + (i+1)*step - 1]: le = base + (i+1)*step - 1.
// Programs usually clamp into the last slot (`if (slot >= MAX_SLOTS) slot = MAX_SLOTS - 1`):
// with `lastSlotOpen: true` the last slot only counts toward le="+Inf", since its values may
// lie above its bound. Without it the last slot keeps its bound and +Inf equals it.
// A Prometheus histogram needs `_sum`: slots do not keep one, so it is read from `sumField`
// (a field of the value, like a `u64 total` kept beside the slots) or exported as NaN.
import type { BpfMap } from '../core/map/map';
import { argRangeError, argTypeError, checkInteger, checkString, describe } from '../base/args';
import { checkSeriesOptions, DEFAULT_MAX_SERIES, entriesOf, labelId, labelsOf, toNumber, type Labels, type Reading, type SeriesOptions } from './read';

/** How a histogram map is laid out (slots in each value, or one slot per key) and bucketed. */
export interface HistogramOptions<K = any, V = any> extends SeriesOptions<K, V> {
  /** 'log2' (default) or 'linear' slots. */
  kind?: 'log2' | 'linear';
  /** 'slots' (default: a slots array in each value) or 'indexed' (BCC: the key is the slot). */
  layout?: 'slots' | 'indexed';
  /** The slots array's field in the value (layout 'slots'; default 'slots', or the value itself when it is an array). */
  field?: string;
  /** The slot number's field in a struct key (layout 'indexed'; default 'slot'). */
  slotField?: string;
  /** Linear histograms: the first slot's lowest value (default 0) and each slot's width (required). */
  base?: number;
  /** Linear histograms: each slot's width (required for kind 'linear'). */
  step?: number;
  /** A field of the value holding the sum of the observed values (layout 'slots'); without it `_sum` is NaN. */
  sumField?: string;
  /** The last slot collects everything above it (the usual clamp): count it only in +Inf. */
  lastSlotOpen?: boolean;
}

export const HISTOGRAM_OPTIONS = ['labels', 'maxSeries', 'kind', 'layout', 'field', 'slotField', 'base', 'step', 'sumField', 'lastSlotOpen'] as const;

/** One histogram series read from a map: its labels, exact bounds and counts. */
export interface HistogramSample {
  /** The series' labels (from the key). */
  labels: Labels;
  /** Inclusive upper bounds, ascending; +Inf is implied. */
  bounds: number[];
  /** Cumulative counts, one per bound. */
  cumulative: number[];
  /** Everything counted, +Inf included. */
  count: number;
  /** The sum of the observed values (the value's sumField), NaN when the map keeps none. */
  sum: number;
}

/** The upper bound (inclusive) of slot `i`, as defined above. */
export function slotBound(o: HistogramOptions, i: number): number {
  if ((o.kind ?? 'log2') === 'log2') return 2 ** (i + 1) - 1;
  return (o.base ?? 0) + (i + 1) * o.step! - 1;
}

export function checkHistogramOptions(o: HistogramOptions): void {
  checkSeriesOptions(o);
  if (o.kind !== undefined && o.kind !== 'log2' && o.kind !== 'linear') throw argTypeError('options.kind', "'log2' or 'linear'", o.kind);
  if (o.layout !== undefined && o.layout !== 'slots' && o.layout !== 'indexed') throw argTypeError('options.layout', "'slots' or 'indexed'", o.layout);
  if (o.kind === 'linear') {
    if (o.step === undefined) throw argTypeError('options.step', 'an integer 1..2^53-1 (required for linear histograms)', o.step);
    checkInteger(o.step, 'options.step', 1, Number.MAX_SAFE_INTEGER);
    if (o.base !== undefined) checkInteger(o.base, 'options.base', 0, Number.MAX_SAFE_INTEGER);
  } else if (o.step !== undefined || o.base !== undefined) {
    throw argTypeError(o.step !== undefined ? 'options.step' : 'options.base', "nothing for a log2 histogram (kind: 'linear' takes it)", o.step ?? o.base);
  }
  for (const f of ['field', 'slotField', 'sumField'] as const) if (o[f] !== undefined) checkString(o[f], `options.${f}`);
  if (o.layout === 'indexed' && o.sumField !== undefined) throw argTypeError('options.sumField', "nothing for layout 'indexed' (slots keep no sum)", o.sumField);
  if (o.lastSlotOpen !== undefined && typeof o.lastSlotOpen !== 'boolean') throw argTypeError('options.lastSlotOpen', 'a boolean', o.lastSlotOpen);
}

/** Every histogram the map holds now. */
export function readHistograms(map: BpfMap, o: HistogramOptions): Reading<HistogramSample> {
  const raw = (o.layout ?? 'slots') === 'slots' ? slotsLayout(map, o) : indexedLayout(map, o);
  const max = o.maxSeries ?? DEFAULT_MAX_SERIES;
  const samples: HistogramSample[] = [];
  let dropped = 0;
  for (const { labels, slots, sum } of raw.values()) {
    if (samples.length >= max) {
      dropped++;
      continue;
    }
    samples.push(cumulate(labels, slots, sum, o));
  }
  return { samples, dropped };
}

interface RawHistogram {
  labels: Labels;
  slots: number[];
  sum: number;
}

function cumulate(labels: Labels, slots: number[], sum: number, o: HistogramOptions): HistogramSample {
  const n = o.lastSlotOpen ? slots.length - 1 : slots.length;
  const bounds: number[] = [];
  const cumulative: number[] = [];
  let running = 0;
  for (let i = 0; i < n; i++) {
    running += slots[i];
    bounds.push(slotBound(o, i));
    cumulative.push(running);
  }
  const count = slots.reduce((a, b) => a + b, 0);
  return { labels, bounds, cumulative, count, sum };
}

function slotsOf(value: unknown, field: string | undefined, mapName: string): number[] {
  let arr: unknown = value;
  if (field !== undefined || !(Array.isArray(value) || ArrayBuffer.isView(value))) {
    const f = field ?? 'slots';
    if (value === null || typeof value !== 'object' || !(f in value)) {
      throw new TypeError(`options.field: map '${mapName}' has no value field '${f}' holding slots (value: ${describe(value)})`);
    }
    arr = (value as Record<string, unknown>)[f];
  }
  if (!(Array.isArray(arr) || ArrayBuffer.isView(arr))) throw new TypeError(`map '${mapName}': expected an array of slot counts, got ${describe(arr)}`);
  return Array.from(arr as ArrayLike<unknown>, (v) => toNumber(v, `map '${mapName}' slot`));
}

function slotsLayout(map: BpfMap, o: HistogramOptions): Map<string, RawHistogram> {
  const out = new Map<string, RawHistogram>();
  for (const [key, value] of entriesOf(map)) {
    const labels = labelsOf(map, o.labels, key, value);
    if (!labels) continue;
    const slots = slotsOf(value, o.field, map.name);
    let sum = NaN;
    if (o.sumField !== undefined) {
      if (value === null || typeof value !== 'object' || !(o.sumField in value)) throw new TypeError(`options.sumField: map '${map.name}' has no value field '${o.sumField}'`);
      sum = toNumber((value as Record<string, unknown>)[o.sumField], `map '${map.name}' field '${o.sumField}'`);
    }
    const id = labelId(labels);
    const seen = out.get(id);
    if (!seen) out.set(id, { labels, slots, sum });
    else {
      // A mapper that merges keys merges their histograms.
      slots.forEach((c, i) => (seen.slots[i] = (seen.slots[i] ?? 0) + c));
      seen.sum += sum;
    }
  }
  return out;
}

function indexedLayout(map: BpfMap, o: HistogramOptions): Map<string, RawHistogram> {
  const slotField = o.slotField ?? 'slot';
  const out = new Map<string, RawHistogram>();
  for (const [key, value] of entriesOf(map)) {
    let slot: number;
    let rest: unknown;
    if (key !== null && typeof key === 'object' && !ArrayBuffer.isView(key)) {
      if (!(slotField in key)) throw new TypeError(`options.slotField: map '${map.name}' has no key field '${slotField}'`);
      const { [slotField]: s, ...others } = key as Record<string, unknown>;
      slot = toNumber(s, `map '${map.name}' key field '${slotField}'`);
      rest = others;
    } else {
      slot = toNumber(key, `map '${map.name}' key`);
      rest = {};
    }
    if (!Number.isInteger(slot) || slot < 0 || slot > 1024) throw argRangeError(`map '${map.name}' slot`, 'an integer 0..1024', slot);
    const labels = o.labels ? labelsOf(map, o.labels, rest, value) : labelsOf(map, undefined, rest, value);
    if (!labels) continue;
    const id = labelId(labels);
    let h = out.get(id);
    if (!h) out.set(id, (h = { labels, slots: [], sum: NaN }));
    while (h.slots.length <= slot) h.slots.push(0);
    h.slots[slot] += toNumber(value, `map '${map.name}' value`);
  }
  // Every histogram of the map gets the same buckets: the largest slot count seen.
  const width = Math.max(0, ...[...out.values()].map((h) => h.slots.length));
  for (const h of out.values()) while (h.slots.length < width) h.slots.push(0);
  return out;
}
