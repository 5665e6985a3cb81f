// Strings: C char arrays as UTF-8 up to the first NUL, with a cache for repeated ones.
import { BufferClass, Enc, EncodeFail, Impl, describeValue, fail, zeroBytes } from './shared';

// Builtins captured once (see shared.ts).
const { clz32, imul } = Math;
const { fromCharCode } = String;

const STR_CACHE_SLOTS = 4096;
const STR_CACHE = new Array<string>(STR_CACHE_SLOTS).fill('');
/** Cached strings of up to 32 bytes, as 8 little-endian words per slot: a hit is confirmed word by word. */
const STR_WORDS = new Int32Array(STR_CACHE_SLOTS * 8);
const STR_WORDS_MAX = 32;
/** The words of the string being decoded (its last one masked to the string's bytes). */
const SCAN = new Int32Array(STR_WORDS_MAX / 4);

/**
 * Decodes a NUL-terminated UTF-8 string of at most `n` bytes at `off` (a C `char[n]`);
 * repeated ASCII strings come from a small cache. Exported as `readCString`.
 * The scan reads 4 bytes at a time (a word with a zero byte ends it, masked to the bytes
 * before that zero) and a cache hit is confirmed against the cached bytes word by word,
 * never by a hash alone: a comm or a path is chosen by whoever runs the process, so a
 * collision must not be able to pass.
 */
export function cstr(view: DataView, off: number, n: number): string {
  let h = 0;
  let high = 0;
  let i = 0;
  let k = 0;
  for (; i + 4 <= n; i += 4) {
    let w = view.getInt32(off + i, true);
    // The lowest set bit of `zero` is exact: the first zero byte (later bits may be false).
    const zero = (w - 0x01010101) & ~w & 0x80808080;
    if (zero !== 0) {
      const bytes = (31 - clz32(zero & -zero)) >>> 3;
      if (bytes === 0) break;
      w &= 0xffffffff >>> (32 - bytes * 8);
      i += bytes;
      high |= w;
      h = imul(h ^ w, 0x01000193);
      if (k < 8) SCAN[k++] = w;
      break;
    }
    high |= w;
    h = imul(h ^ w, 0x01000193);
    if (k < 8) SCAN[k++] = w;
  }
  if (i + 4 > n && i < n && (i & 3) === 0) {
    // The last n % 4 bytes, one at a time (reading a word there could leave the array).
    let w = 0;
    let j = 0;
    for (; i < n; i++, j += 8) {
      const b = view.getUint8(off + i);
      if (b === 0) break;
      w |= b << j;
    }
    if (j > 0) {
      high |= w;
      h = imul(h ^ w, 0x01000193);
      if (k < 8) SCAN[k++] = w;
    }
  }
  if (i === 0) return '';
  if ((high & 0x80808080) !== 0) return BufferClass.from(view.buffer, view.byteOffset + off, i).toString('utf8');
  const slot = (h ^ (h >>> 16)) & (STR_CACHE_SLOTS - 1);
  const cached = STR_CACHE[slot];
  if (cached.length === i && (i <= STR_WORDS_MAX ? sameWords(slot, k) : sameAscii(cached, view, off))) return cached;
  const s = asciiString(view, off, i);
  STR_CACHE[slot] = s;
  if (i <= STR_WORDS_MAX) {
    const base = slot << 3;
    for (let j = 0; j < k; j++) STR_WORDS[base + j] = SCAN[j];
  }
  return s;
}

function sameWords(slot: number, k: number): boolean {
  const base = slot << 3;
  for (let j = 0; j < k; j++) if (SCAN[j] !== STR_WORDS[base + j]) return false;
  return true;
}

function sameAscii(s: string, view: DataView, off: number): boolean {
  for (let j = 0; j < s.length; j++) if (s.charCodeAt(j) !== view.getUint8(off + j)) return false;
  return true;
}

function asciiString(view: DataView, off: number, n: number): string {
  let s = '';
  for (let j = 0; j < n; j++) s += fromCharCode(view.getUint8(off + j));
  return s;
}

export function charArrayImpl(n: number): Impl {
  const what = `a string of at most ${n} UTF-8 bytes`;
  const enc: Enc = (x, view, off) => {
    if (typeof x !== 'string') throw fail(false, what, x);
    const len = x.length;
    let i = 0;
    if (len <= n) {
      for (; i < len; i++) {
        const c = x.charCodeAt(i);
        if (c >= 0x80) break;
        view.setUint8(off + i, c);
      }
    }
    if (i < len) i = writeUtf8(x, n, what, view, off);
    zeroBytes(view, off + i, n - i);
  };
  return { size: n, dec: (view, off) => cstr(view, off, n), enc, expr: (o) => `cstr(view, ${o}, ${n})`, part: (view, off, avail) => cstr(view, off, avail) };
}

function writeUtf8(x: string, n: number, what: string, view: DataView, off: number): number {
  const bytes = Buffer.from(x, 'utf8');
  if (bytes.length > n) throw new EncodeFail(true, what, `${describeValue(x)} (${bytes.length} bytes)`);
  for (let j = 0; j < bytes.length; j++) view.setUint8(off + j, bytes[j]);
  return bytes.length;
}

/**
 * How a `char[]` member decodes: 'string' (the default: UTF-8 up to the first NUL), 'bytes'
 * (a Uint8Array copy of every byte) or 'strings' (NUL-separated strings, such as the argv an
 * exec tracer copies: `"ls\0-l\0/tmp\0"` decodes to ['ls', '-l', '/tmp']; the list ends at
 * an empty string (two NULs in a row) or at the end of the array or record).
 */
export type CharMode = 'string' | 'bytes' | 'strings';

/** A char[n] decoded as bytes (a Uint8Array copy); encodes any array-like of at most n bytes. */
export function charBytesImpl(n: number): Impl {
  const what = `a Uint8Array or array of at most ${n} bytes`;
  const copy = (view: DataView, off: number, len: number): Uint8Array => new Uint8Array(view.buffer, view.byteOffset + off, len).slice();
  const enc: Enc = (x, view, off) => {
    if (!(x instanceof Uint8Array) && !Array.isArray(x)) throw fail(false, what, x);
    if (x.length > n) throw fail(true, what, x);
    for (let i = 0; i < x.length; i++) {
      const b = x[i];
      if (typeof b !== 'number' || !(b >= 0 && b <= 255) || b % 1 !== 0) throw fail(true, what, x);
      view.setUint8(off + i, b);
    }
    zeroBytes(view, off + x.length, n - x.length);
  };
  return { size: n, dec: (view, off) => copy(view, off, n), enc, part: copy };
}

/** A char[n] decoded as the NUL-separated strings in it; encodes an array of strings. */
export function charStringsImpl(n: number): Impl {
  const what = `an array of strings of at most ${n} UTF-8 bytes with their NULs`;
  const dec = (view: DataView, off: number, len: number): string[] => {
    const bytes = BufferClass.from(view.buffer, view.byteOffset + off, len);
    const out: string[] = [];
    let start = 0;
    while (start < len) {
      let end = bytes.indexOf(0, start);
      if (end < 0) end = len;
      if (end === start) break;
      out.push(bytes.toString('utf8', start, end));
      start = end + 1;
    }
    return out;
  };
  const enc: Enc = (x, view, off) => {
    if (!Array.isArray(x) || x.some((s) => typeof s !== 'string' || s.length === 0 || s.includes('\0'))) throw fail(false, what, x);
    const bytes = BufferClass.from(x.map((s) => `${s}\0`).join(''), 'utf8');
    if (bytes.length > n) throw new EncodeFail(true, what, `${x.length} strings of ${bytes.length} bytes`);
    for (let i = 0; i < bytes.length; i++) view.setUint8(off + i, bytes[i]);
    zeroBytes(view, off + bytes.length, n - bytes.length);
  };
  return { size: n, dec: (view, off) => dec(view, off, n), enc, part: dec };
}
