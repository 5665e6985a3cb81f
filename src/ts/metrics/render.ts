// Histograms as text, the way libbpf-tools' trace_helpers.c prints them (print_log2_hist,
// print_linear_hist): the same columns, widths and stars, so a port of a C tool prints
// what the C tool printed.
import { argTypeError, checkInteger } from '../base/args';

/** Slot counts: numbers or bigints (u64 slots decode as bigint). */
export type SlotCounts = ArrayLike<number | bigint>;

const STARS_MAX = 40;

function counts(slots: SlotCounts, name: string): bigint[] {
  if (slots === null || typeof slots !== 'object' || typeof slots.length !== 'number') throw argTypeError(name, 'an array of counts', slots);
  const out: bigint[] = [];
  for (let i = 0; i < slots.length; i++) {
    const v = slots[i];
    if (typeof v === 'bigint' && v >= 0n) out.push(v);
    else if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) out.push(BigInt(v));
    else throw argTypeError(`${name}[${i}]`, 'a non-negative integer', v);
  }
  return out;
}

function stars(val: bigint, max: bigint, width: number): string {
  const n = Number(((val < max ? val : max) * BigInt(width)) / max);
  return '*'.repeat(n) + ' '.repeat(width - n) + (val > max ? '+' : '');
}

const padStart = (s: string | bigint | number, width: number): string => String(s).padStart(width);
const padEnd = (s: string | bigint | number, width: number): string => String(s).padEnd(width);

/**
 * A log2 histogram (slot k counts values v with floor(log2(v)) = k; slot 0 also holds 0)
 * as libbpf-tools' print_log2_hist() prints it: `low -> high : count |stars|`, from slot 0
 * to the last non-empty one. Empty when every slot is 0, as in C. Ends with a newline.
 * @example
 * console.log(renderLog2Histogram(obj.map('hist').get(0).slots, 'usecs'));
 * //      usecs               : count    distribution
 * //          0 -> 1          : 3        |****************************************|
 */
export function renderLog2Histogram(slots: SlotCounts, unit = 'value'): string {
  const vals = counts(slots, 'slots');
  if (typeof unit !== 'string') throw argTypeError('unit', 'a string', unit);
  let idxMax = -1;
  let valMax = 0n;
  vals.forEach((v, i) => {
    if (v > 0n) idxMax = i;
    if (v > valMax) valMax = v;
  });
  if (idxMax < 0) return '';
  const narrow = idxMax <= 32;
  const lines = [`${padStart('', narrow ? 5 : 15)}${padEnd(unit, narrow ? 19 : 29)} : count    distribution`];
  const width = narrow ? 10 : 20;
  for (let i = 0; i <= idxMax; i++) {
    let low = (1n << BigInt(i + 1)) >> 1n;
    const high = (1n << BigInt(i + 1)) - 1n;
    if (low === high) low -= 1n;
    lines.push(`${padStart(low, width)} -> ${padEnd(high, width)} : ${padEnd(vals[i], 8)} |${stars(vals[i], valMax, narrow ? STARS_MAX : STARS_MAX / 2)}|`);
  }
  return lines.join('\n') + '\n';
}

/**
 * A linear histogram (slot i counts values in [base + i*step, base + (i+1)*step)) as
 * libbpf-tools' print_linear_hist() prints it: the non-empty slots between the first and
 * the last non-empty one, each as `base + i*step : count |stars|`. Ends with a newline.
 * @example
 * console.log(renderLinearHistogram(obj.map('linear').get(0).slots, { base: 0, step: 4, unit: 'ms' }));
 */
export function renderLinearHistogram(slots: SlotCounts, options: { base?: number; step: number; unit?: string }): string {
  const vals = counts(slots, 'slots');
  if (options === null || typeof options !== 'object') throw argTypeError('options', 'an object', options);
  const base = options.base === undefined ? 0 : checkInteger(options.base, 'options.base', 0, Number.MAX_SAFE_INTEGER);
  const step = checkInteger(options.step, 'options.step', 1, Number.MAX_SAFE_INTEGER);
  const unit = options.unit ?? 'value';
  if (typeof unit !== 'string') throw argTypeError('options.unit', 'a string', unit);
  let idxMin = -1;
  let idxMax = -1;
  let valMax = 0n;
  vals.forEach((v, i) => {
    if (v > 0n) {
      idxMax = i;
      if (idxMin < 0) idxMin = i;
    }
    if (v > valMax) valMax = v;
  });
  if (idxMax < 0) return '';
  const lines = [`     ${padEnd(unit, 13)} : count     distribution`];
  for (let i = idxMin; i <= idxMax; i++) {
    if (vals[i] === 0n) continue;
    lines.push(`        ${padEnd(base + i * step, 10)} : ${padEnd(vals[i], 8)} |${stars(vals[i], valMax, STARS_MAX)}|`);
  }
  return lines.join('\n') + '\n';
}
