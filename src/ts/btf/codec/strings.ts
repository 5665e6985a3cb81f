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
  return { size: n, dec: (view, off) => cstr(view, off, n), enc, expr: (o) => `cstr(view, ${o}, ${n})` };
}

function writeUtf8(x: string, n: number, what: string, view: DataView, off: number): number {
  const bytes = Buffer.from(x, 'utf8');
  if (bytes.length > n) throw new EncodeFail(true, what, `${describeValue(x)} (${bytes.length} bytes)`);
  for (let j = 0; j < bytes.length; j++) view.setUint8(off + j, bytes[j]);
  return bytes.length;
}
