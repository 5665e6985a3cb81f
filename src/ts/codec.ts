/**
 * BTF-driven codecs: compiled once per (Btf, type id), then used per value.
 *
 * Decoded representation (encode is the exact inverse and validates):
 *  - int of 1/2/4 bytes and enum -> number; int of 8/16 bytes and pointer -> bigint;
 *    bool (BOOL encoding or `_Bool`) -> boolean; enum64 -> number, bigint beyond a safe integer;
 *    float/double -> number (other float sizes: 2 -> number, 12/16 -> Buffer of the raw bytes).
 *  - char arrays (element resolves to an int named `char` or with the CHAR encoding) -> string,
 *    UTF-8 up to the first NUL. `unsigned char`/`u8` arrays are bytes, not strings.
 *  - ARRAY RULE: an array whose element resolves to a non-bool, non-char int of 1/2/4/8 bytes
 *    or to a 4/8-byte float decodes to a typed array copy of the matching class (Uint8Array,
 *    Int16Array, BigUint64Array, Float64Array, ...). Every other array (enums, bools, pointers,
 *    structs, nested arrays, 16-byte ints) decodes to a JS array. Encode accepts any
 *    array-like of at most the array's length; missing trailing elements are zero.
 *  - struct/union/datasec -> plain object, one key per named member, anonymous struct/union
 *    members flattened into the parent. A union decodes every member; encode writes the member
 *    present, or with several present (a decoded union) merges them and requires that each one
 *    reads back as given, so decoded unions round-trip and real conflicts are a RangeError.
 *  - Zero-size members (flexible or zero-length arrays, empty structs) decode as empty
 *    arrays/objects; a zero-size type on its own cannot be decoded.
 * Encoding zero-fills the whole value first, so padding and missing fields are zero.
 */
import { Btf, BtfType } from './btf';

export interface Codec<T = unknown> {
  readonly size: number;
  readonly typeName: string;
  decode(view: DataView, offset: number): T;
  encode(value: T, view: DataView, offset: number, path?: string): void;
  zero(): T;
  /** enum/enum64 only: enumerator names to values */
  readonly enumValues?: Readonly<Record<string, number | bigint>>;
}

type Dec = (view: DataView, off: number) => unknown;
type Enc = (value: unknown, view: DataView, off: number) => void;

/** A compiled codec before it gets a public face; `expr`/`fast*` let struct codegen inline it. */
interface Impl {
  size: number;
  dec: Dec;
  enc: Enc;
  /** JS expression decoding at offset expression `o`, with `view` and helpers in scope */
  expr?: (o: string, g: Gen) => string;
  /** condition on `x` under which `fastWrite` is a complete, valid encode */
  fastCheck?: (x: string) => string;
  fastWrite?: (x: string, o: string) => string;
  /** number of leaf expressions `expr` expands to (structs); absent means 1 */
  cost?: number;
  /** bits of the value's bytes that carry data (not padding or unnamed bits); absent means all */
  mask?: () => Uint8Array;
  enumValues?: Readonly<Record<string, number | bigint>>;
}

/** Internal encode failure; the public encode turns it into a TypeError/RangeError with the path. */
class EncodeFail {
  suffix = '';
  constructor(readonly range: boolean, readonly what: string, readonly got: string) {}
}

// Builtins used per value are captured once: inside vm contexts (jest, for one) every global
// lookup goes through an interceptor and costs more than a whole struct decode.
const { isInteger, isSafeInteger } = Number;
const { imul, floor, clz32 } = Math;
const { isArray } = Array;
const { fromCharCode } = String;
const { asIntN, asUintN } = BigInt;
const toBigInt = BigInt;
const toNumber = Number;
const DataViewClass = DataView;
const BufferClass = Buffer;
const U8 = Uint8Array;

const HOST_LE = new U8(new Uint16Array([1]).buffer)[0] === 1;
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

function fail(range: boolean, what: string, value: unknown): EncodeFail {
  return new EncodeFail(range, what, describeValue(value));
}

/** Prefixes a path segment to an in-flight encode failure while unwinding. */
function at(e: unknown, segment: string): unknown {
  if (e instanceof EncodeFail) e.suffix = segment + e.suffix;
  return e;
}

function finish(e: unknown, prefix: string): unknown {
  if (!(e instanceof EncodeFail)) return e;
  const label = e.suffix ? `${prefix} ${e.suffix}` : prefix;
  const message = `${label}: expected ${e.what}, got ${e.got}`;
  return e.range ? new RangeError(message) : new TypeError(message);
}

/** How a value is shown after "got" in encode errors. */
export function describeValue(v: unknown): string {
  switch (typeof v) {
    case 'string': return v.length > 40 ? `${JSON.stringify(v.slice(0, 40))}…` : JSON.stringify(v);
    case 'bigint': return `${v}n`;
    case 'number': return Object.is(v, -0) ? '-0' : String(v);
    case 'boolean': case 'undefined': return String(v);
    case 'symbol': return v.toString();
    case 'function': return 'a function';
  }
  if (v === null) return 'null';
  if (isArray(v)) return `an array of length ${v.length}`;
  if (ArrayBuffer.isView(v)) {
    const len = (v as unknown as { length?: number }).length ?? v.byteLength;
    return `a ${v.constructor.name} of length ${len}`;
  }
  const ctor = (v as object).constructor;
  return ctor && ctor !== Object ? `a ${ctor.name}` : 'an object';
}

function zeroBytes(view: DataView, off: number, n: number): void {
  if (n > 64) {
    new U8(view.buffer, view.byteOffset + off, n).fill(0);
    return;
  }
  let i = 0;
  for (; i + 4 <= n; i += 4) view.setUint32(off + i, 0);
  for (; i < n; i++) view.setUint8(off + i, 0);
}

function toSafe(v: bigint): number | bigint {
  return v >= -0x1fffffffffffffn && v <= 0x1fffffffffffffn ? toNumber(v) : v;
}

// ---------------------------------------------------------------------------------------------
// Strings

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

function charArrayImpl(n: number): Impl {
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

// ---------------------------------------------------------------------------------------------
// Scalars

/** Compiles `(view, off) => expr` so accessors get literal endianness arguments. */
function compileDec(expr: (o: string, g: Gen) => string): Dec {
  const g = new Gen();
  return g.compile(`return function dec(view, off) { return ${expr('off', g)}; };`) as Dec;
}

/** Arguments with a literal endianness flag (absent for single bytes). */
function accessor(args: string, size: number, le: boolean): string {
  return size === 1 ? args : `${args}, ${le}`;
}

function rangeWhat(min: number | bigint, max: number | bigint): string {
  return `an integer ${min}..${max}`;
}

/** Ints of 1/2/4 bytes: numbers, also accepting in-range bigints. */
function smallIntImpl(size: number, signed: boolean, le: boolean, what?: string): Impl {
  const bits = size * 8;
  const min = signed ? -(2 ** (bits - 1)) : 0;
  const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  const w = what ?? rangeWhat(min, max);
  const method = `${signed ? 'Int' : 'Uint'}${bits}`;
  const expr = (o: string): string => `view.get${method}(${accessor(o, size, le)})`;
  const set = new Function('view', 'off', 'x', `view.set${method}(${accessor('off, x', size, le)});`) as
    (view: DataView, off: number, x: number) => void;
  const enc: Enc = (x, view, off) => {
    if (typeof x !== 'number') x = bigToNumber(x, min, max, w);
    else if (!isInteger(x) || (x as number) < min || (x as number) > max) throw fail(true, w, x);
    set(view, off, x as number);
  };
  return {
    size, dec: compileDec(expr), enc, expr,
    fastCheck: (x) => `typeof ${x} === 'number' && ${x} >= ${min} && ${x} <= ${max} && isInteger(${x})`,
    fastWrite: (x, o) => `view.set${method}(${accessor(`${o}, ${x}`, size, le)})`,
  };
}

function bigToNumber(x: unknown, min: number, max: number, what: string): number {
  if (typeof x !== 'bigint') throw fail(false, what, x);
  if (x < toBigInt(min) || x > toBigInt(max)) throw fail(true, what, x);
  return toNumber(x);
}

// 64-bit integers are read through a BigUint64Array (BigInt64Array) over the view's
// memory where they sit 8-aligned: V8 compiles a typed array element load, the BigInt
// included, inline, while DataView's getBigUint64 stays a call into a builtin (8 ns of a
// 45 ns eager event decode in Node 20). The aliases are those of the last view read (a
// walk decodes many records of one view), until the end of the current task: held any
// longer, they would keep that view's buffer alive, and with an mmap()ed one the whole
// BpfObject it belongs to, unclosed, past its garbage collection.
let aliasView: DataView | undefined;
let aliasU64: BigUint64Array<ArrayBufferLike> = new BigUint64Array(0);
let aliasS64: BigInt64Array<ArrayBufferLike> = new BigInt64Array(0);
/** Offsets below this are in the aliases (at most 4 GiB, so `off >>> 3` is exact). */
let aliasEnd = 0;

let aliasDropQueued = false;

function dropAliases(): void {
  aliasDropQueued = false;
  aliasView = undefined;
  aliasU64 = new BigUint64Array(0);
  aliasS64 = new BigInt64Array(0);
  aliasEnd = 0;
}

function aliasFor(view: DataView): void {
  if (!aliasDropQueued) {
    aliasDropQueued = true;
    queueMicrotask(dropAliases);
  }
  aliasView = view;
  const aligned = HOST_LE && view.byteOffset % 8 === 0;
  const n = aligned ? Math.min(floor(view.byteLength / 8), 0x1fffffff) : 0;
  aliasU64 = new BigUint64Array(view.buffer, aligned ? view.byteOffset : 0, n);
  aliasS64 = new BigInt64Array(view.buffer, aligned ? view.byteOffset : 0, n);
  aliasEnd = n * 8;
}

/**
 * `view.getBigUint64(off, true)`, read through a typed array where `off` is 8-aligned in
 * memory (the same value, and the same errors). Exported as `readBigUint64`.
 */
export function u64le(view: DataView, off: number): bigint {
  if (view !== aliasView) aliasFor(view);
  return (off & 7) === 0 && off >= 0 && off < aliasEnd ? aliasU64[off >>> 3] : view.getBigUint64(off, true);
}

/** `view.getBigInt64(off, true)`, the same way. Exported as `readBigInt64`. */
export function s64le(view: DataView, off: number): bigint {
  if (view !== aliasView) aliasFor(view);
  return (off & 7) === 0 && off >= 0 && off < aliasEnd ? aliasS64[off >>> 3] : view.getBigInt64(off, true);
}

function int64Impl(signed: boolean, le: boolean, what?: string): Impl {
  const w = what ?? `an integer ${signed ? '-2^63..2^63-1' : '0..2^64-1'} (bigint or safe integer number)`;
  const [min, max] = signed ? [I64_MIN, I64_MAX] : [0n, U64_MAX];
  const method = signed ? 'BigInt64' : 'BigUint64';
  const expr = (o: string): string => (le ? `${signed ? 's64le' : 'u64le'}(view, ${o})` : `view.get${method}(${o}, false)`);
  const enc: Enc = (x, view, off) => {
    if (typeof x === 'number') {
      if (!isSafeInteger(x) || (!signed && x < 0)) throw fail(true, w, x);
      x = toBigInt(x);
    } else if (typeof x !== 'bigint') throw fail(false, w, x);
    else if (x < min || x > max) throw fail(true, w, x);
    if (signed) view.setBigInt64(off, x as bigint, le);
    else view.setBigUint64(off, x as bigint, le);
  };
  return {
    size: 8, dec: compileDec(expr), enc, expr,
    fastCheck: (x) => `typeof ${x} === 'bigint' && ${x} >= ${min}n && ${x} <= ${max}n`,
    fastWrite: (x, o) => `view.set${method}(${o}, ${x}, ${le})`,
  };
}

function int128Impl(signed: boolean, le: boolean): Impl {
  const w = `an integer ${signed ? '-2^127..2^127-1' : '0..2^128-1'} (bigint or safe integer number)`;
  const min = signed ? -(1n << 127n) : 0n;
  const max = signed ? (1n << 127n) - 1n : (1n << 128n) - 1n;
  const [loAt, hiAt] = le ? [0, 8] : [8, 0];
  const dec: Dec = (view, off) => {
    const hi = signed ? view.getBigInt64(off + hiAt, le) : view.getBigUint64(off + hiAt, le);
    return (hi << 64n) | view.getBigUint64(off + loAt, le);
  };
  const enc: Enc = (x, view, off) => {
    const v = checkBigInt(x, min, max, w);
    view.setBigUint64(off + loAt, asUintN(64, v), le);
    view.setBigUint64(off + hiAt, asUintN(64, v >> 64n), le);
  };
  return { size: 16, dec, enc };
}

/** Slow-path integer validation: bigint or safe-integer number within [min, max]. */
function checkBigInt(x: unknown, min: bigint, max: bigint, what: string): bigint {
  let v: bigint;
  if (typeof x === 'bigint') v = x;
  else if (typeof x !== 'number') throw fail(false, what, x);
  else if (!isSafeInteger(x)) throw fail(true, what, x);
  else v = toBigInt(x);
  if (v < min || v > max) throw fail(true, what, x);
  return v;
}

function boolImpl(size: number, le: boolean): Impl {
  const what = 'a boolean (or 0/1)';
  const inner = size <= 4 ? smallIntImpl(size, false, le) : int64Impl(false, le);
  const zero = size <= 4 ? '0' : '0n';
  const expr = (o: string, g: Gen): string => `${(inner.expr as (o: string, g: Gen) => string)(o, g)} !== ${zero}`;
  const enc: Enc = (x, view, off) => {
    let b: number;
    if (x === true || x === 1) b = 1;
    else if (x === false || x === 0) b = 0;
    else throw fail(typeof x === 'number', what, x);
    inner.enc(size <= 4 ? b : toBigInt(b), view, off);
  };
  return { size, dec: compileDec(expr), enc, expr };
}

function intImpl(t: BtfType, le: boolean): Impl | undefined {
  const size = t.size as number;
  if (t.bool || t.name === '_Bool') return size <= 8 ? boolImpl(size, le) : undefined;
  if (size === 1 || size === 2 || size === 4) return smallIntImpl(size, !!t.signed, le);
  if (size === 8) return int64Impl(!!t.signed, le);
  if (size === 16) return int128Impl(!!t.signed, le);
  return undefined;
}

function pointerImpl(size: number, le: boolean): Impl {
  const what = `an address 0..2^${size * 8}-1 (bigint or safe integer number)`;
  if (size === 8) return int64Impl(false, le, what);
  const inner = smallIntImpl(4, false, le, what);
  return { size: 4, dec: (view, off) => toBigInt(view.getUint32(off, le)), enc: inner.enc };
}

function floatImpl(size: number, le: boolean): Impl | undefined {
  if (size === 2) return halfImpl(le);
  if (size === 12 || size === 16) return rawImpl(size);
  if (size !== 4 && size !== 8) return undefined;
  const method = `Float${size * 8}`;
  const what = 'a number';
  const expr = (o: string): string => `view.get${method}(${o}, ${le})`;
  const enc: Enc = (x, view, off) => {
    if (typeof x !== 'number') throw fail(false, what, x);
    if (size === 4) view.setFloat32(off, x, le);
    else view.setFloat64(off, x, le);
  };
  return {
    size, dec: compileDec(expr), enc, expr,
    fastCheck: (x) => `typeof ${x} === 'number'`,
    fastWrite: (x, o) => `view.set${method}(${o}, ${x}, ${le})`,
  };
}

function halfImpl(le: boolean): Impl {
  const enc: Enc = (x, view, off) => {
    if (typeof x !== 'number') throw fail(false, 'a number', x);
    view.setUint16(off, numberToHalf(x), le);
  };
  return { size: 2, dec: (view, off) => halfToNumber(view.getUint16(off, le)), enc };
}

function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function numberToHalf(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00;
  if (a < 2 ** -14) return sign | Math.round(a * 2 ** 24);
  let exp = floor(Math.log2(a));
  if (a / 2 ** exp >= 2) exp++;
  if (a / 2 ** exp < 1) exp--;
  let frac = Math.round((a / 2 ** exp - 1) * 1024);
  if (frac === 1024) [exp, frac] = [exp + 1, 0];
  return sign | ((exp + 15) << 10) | frac;
}

function rawImpl(size: number): Impl {
  const what = `a Buffer or Uint8Array of ${size} bytes`;
  const dec: Dec = (view, off) => {
    if (off < 0 || off + size > view.byteLength) throw new RangeError(`offset ${off} + ${size} is outside the DataView`);
    return Buffer.from(new U8(view.buffer, view.byteOffset + off, size));
  };
  const enc: Enc = (x, view, off) => {
    if (!(x instanceof Uint8Array)) throw fail(false, what, x);
    if (x.length !== size) throw fail(true, what, x);
    new U8(view.buffer, view.byteOffset + off, size).set(x);
  };
  return { size, dec, enc };
}

function enumImpl(t: BtfType, le: boolean, typeName: string): Impl | undefined {
  const size = t.size as number;
  const signed = !!t.signed;
  const bits = size * 8;
  const names = new Map((t.values ?? []).map((v) => [v.name, v.value] as const));
  let base: Impl;
  let what: string;
  if (size === 1 || size === 2 || size === 4) {
    what = `an enumerator of ${typeName} or ${signed ? rangeWhat(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) : rangeWhat(0, 2 ** bits - 1)}`;
    base = smallIntImpl(size, signed, le, what);
  } else if (size === 8) {
    what = `an enumerator of ${typeName} or ${signed ? rangeWhat(I64_MIN, I64_MAX) : rangeWhat(0, U64_MAX)} (bigint or safe integer number)`;
    const ints = int64Impl(signed, le, what);
    const expr = (o: string): string => `toSafe(view.get${signed ? 'BigInt64' : 'BigUint64'}(${o}, ${le}))`;
    base = { size, dec: compileDec(expr), enc: ints.enc, expr };
  } else {
    return undefined;
  }
  const enc: Enc = (x, view, off) => {
    if (typeof x === 'string') {
      const v = names.get(x);
      if (v === undefined) throw fail(true, what, x);
      x = v;
    }
    base.enc(x, view, off);
  };
  return { ...base, enc, enumValues: Object.freeze(Object.fromEntries(names)) };
}

// ---------------------------------------------------------------------------------------------
// Arrays

const TYPED: Record<string, TypedArrayClass> = {
  u1: Uint8Array, s1: Int8Array, u2: Uint16Array, s2: Int16Array, u4: Uint32Array, s4: Int32Array,
  u8: BigUint64Array, s8: BigInt64Array, f4: Float32Array, f8: Float64Array,
};

/** The typed array class for an element type, per the ARRAY RULE at the top. */
function typedArrayClass(elem: BtfType): TypedArrayClass | undefined {
  if (elem.kind === 'float') return TYPED[`f${elem.size}`];
  if (elem.kind !== 'int' || elem.bool || elem.name === '_Bool') return undefined;
  return TYPED[`${elem.signed ? 's' : 'u'}${elem.size}`];
}

function isArrayLike(x: unknown): x is ArrayLike<unknown> {
  if (isArray(x)) return true;
  if (typeof x !== 'object' || x === null || x instanceof DataViewClass) return false;
  return typeof (x as { length?: unknown }).length === 'number';
}

function arrayEnc(elem: Impl, n: number, copyFrom?: Function): Enc {
  const es = elem.size;
  const what = `an array-like of at most ${n} elements`;
  return (x, view, off) => {
    if (!isArrayLike(x)) throw fail(false, what, x);
    const len = x.length;
    if (len > n) throw fail(true, what, x);
    if (copyFrom && x instanceof copyFrom) {
      const src = x as unknown as ArrayBufferView;
      new U8(view.buffer, view.byteOffset + off, len * es).set(new U8(src.buffer, src.byteOffset, len * es));
    } else {
      encodeElements(x, len, elem, view, off);
    }
    zeroBytes(view, off + len * es, (n - len) * es);
  };
}

function encodeElements(x: ArrayLike<unknown>, len: number, elem: Impl, view: DataView, off: number): void {
  const es = elem.size;
  let i = 0;
  try {
    for (; i < len; i++) {
      const v = x[i];
      if (v === undefined) zeroBytes(view, off + i * es, es);
      else elem.enc(v, view, off + i * es);
    }
  } catch (e) {
    throw at(e, `[${i}]`);
  }
}

type TypedArrayClass = new (lengthOrBuffer: number | ArrayBufferLike, byteOffset?: number, length?: number) => ArrayLike<unknown> & { slice(): ArrayLike<unknown> };

/**
 * Small arrays (up to 64 bytes) in the host's byte order are copied word by word into a
 * shared slab and returned as views of it (see slabFor); in the other byte order they
 * are filled element by element. Large ones are copied.
 */
function typedArrayImpl(elem: Impl, n: number, Ctor: TypedArrayClass, le: boolean): Impl {
  const size = elem.size * n;
  const dec = le !== HOST_LE ? typedFill(elem, n, Ctor) : size > 64 ? typedCopy(elem.size, n, Ctor) : typedSlab(size, n, Ctor);
  return { size, dec, enc: arrayEnc(elem, n, le === HOST_LE && size > 64 ? Ctor : undefined) };
}

// Small typed arrays share 8 KiB slabs, as Node's small Buffers share an 8 KiB pool: a
// fresh `new BigUint64Array(2)` costs an ArrayBuffer of its own (and two BigInts to fill
// it), which made a decoded event's u64 pad[2] cost more than every other field together;
// each slab is one allocation outside the JS heap, so 1 KiB slabs cost ~5 ns more per
// 16-byte array than 8 KiB ones. A view keeps its whole slab alive: `slice()` gives a
// standalone copy.
const SLAB_BYTES = 8192;
const firstSlab = new ArrayBuffer(SLAB_BYTES);
const SLAB = { buffer: firstSlab, view: new DataView(firstSlab), used: 0 };

/** Reserves `size` bytes (8-aligned) of the current slab; returns their offset. */
function slabFor(size: number): number {
  let at = SLAB.used;
  if (at + size > SLAB_BYTES) {
    SLAB.buffer = new ArrayBuffer(SLAB_BYTES);
    SLAB.view = new DataView(SLAB.buffer);
    at = 0;
  }
  SLAB.used = (at + size + 7) & ~7;
  return at;
}

function typedSlab(size: number, n: number, Ctor: TypedArrayClass): Dec {
  const g = new Gen();
  const copy: string[] = [];
  let i = 0;
  for (; i + 4 <= size; i += 4) copy.push(`sv.setInt32(at + ${i}, view.getInt32(${offsetExpr('off', i)}, true), true);`);
  for (; i < size; i++) copy.push(`sv.setUint8(at + ${i}, view.getUint8(${offsetExpr('off', i)}));`);
  const ctor = (globalThis as Record<string, unknown>)[Ctor.name] === Ctor ? Ctor.name : g.dep(Ctor);
  const reserve = g.dep(slabFor);
  const slabs = g.dep(SLAB);
  return g.compile(`return function dec(view, off) { const at = ${reserve}(${size}); const sv = ${slabs}.view; ${copy.join(' ')} return new ${ctor}(${slabs}.buffer, at, ${n}); };`) as Dec;
}

function typedFill(elem: Impl, n: number, Ctor: TypedArrayClass): Dec {
  const g = new Gen();
  const es = elem.size;
  const body = n <= 16
    ? Array.from({ length: n }, (_, i) => `out[${i}] = ${g.decodeExpr(elem, offsetExpr('off', i * es))};`).join('\n')
    : `for (let i = 0; i < ${n}; i++) out[i] = ${g.decodeExpr(elem, `off + i * ${es}`)};`;
  // By its global name: TurboFan inlines `new Uint8Array(n)` for a known builtin, not
  // for a constructor passed in (an order of magnitude slower per decode).
  const ctor = (globalThis as Record<string, unknown>)[Ctor.name] === Ctor ? Ctor.name : g.dep(Ctor);
  return g.compile(`return function dec(view, off) { const out = new ${ctor}(${n}); ${body} return out; };`) as Dec;
}

function typedCopy(es: number, n: number, Ctor: TypedArrayClass): Dec {
  return (view, off) => {
    const at0 = view.byteOffset + off;
    if (at0 % es === 0) return new Ctor(view.buffer, at0, n).slice();
    return new Ctor(new U8(view.buffer, at0, es * n).slice().buffer);
  };
}

function jsArrayImpl(elem: Impl, n: number): Impl {
  const es = elem.size;
  const dec: Dec = (view, off) => {
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = elem.dec(view, off + i * es);
    return out;
  };
  const impl: Impl = { size: es * n, dec, enc: arrayEnc(elem, n) };
  const elemMask = elem.mask;
  if (elemMask) impl.mask = lazy(() => repeatMask(elemMask(), n));
  return impl;
}

function repeatMask(m: Uint8Array, n: number): Uint8Array {
  const out = new U8(m.length * n);
  for (let i = 0; i < n; i++) out.set(m, i * m.length);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Structs and unions: a flat plan of fields (anonymous members flattened), then codegen.

interface Field { kind: 'field'; key: string; off: number; impl: Impl }
interface Alt { label: string; keys: string[]; fields: Field[]; write: Enc; mask: () => Uint8Array }
interface Group { kind: 'group'; off: number; end: number; alts: Alt[]; fields: Field[]; write: Enc }
type Entry = Field | Group;

/** Collects helper functions for generated code; they become `d0`, `d1`, ... */
class Gen {
  private readonly deps: unknown[] = [];

  dep(fn: unknown): string {
    let i = this.deps.indexOf(fn);
    if (i < 0) i = this.deps.push(fn) - 1;
    return `d${i}`;
  }

  decodeExpr(impl: Impl, o: string): string {
    return impl.expr ? impl.expr(o, this) : `${this.dep(impl.dec)}(view, ${o})`;
  }

  compile(body: string): unknown {
    const names = this.deps.map((_, i) => `d${i}`);
    return new Function('cstr', 'u64le', 's64le', 'toSafe', 'zeroBytes', 'at', 'isInteger', 'isArray', ...names, body)(
      cstr, u64le, s64le, toSafe, zeroBytes, at, isInteger, isArray, ...this.deps);
  }
}

function offsetExpr(base: string, delta: number): string {
  return delta === 0 ? base : `${base} + ${delta}`;
}

function propKey(key: string): string {
  return key === '__proto__' ? '["__proto__"]' : JSON.stringify(key);
}

function allFields(entries: Entry[]): Field[] {
  return entries.flatMap((e) => (e.kind === 'field' ? [e] : e.fields));
}

const INLINE_LIMIT = 64;

class StructCompiler {
  constructor(private readonly typeName: string) {}

  compile(entries: Entry[], size: number): Impl {
    const fields = allFields(entries);
    // `o` is always a sum like `off + 8`, so appending `+ n` needs no parentheses.
    const literal = (o: string, g: Gen): string =>
      `{${fields.map((f) => `${propKey(f.key)}: ${g.decodeExpr(f.impl, offsetExpr(o, f.off))}`).join(', ')}}`;
    const g = new Gen();
    const dec = g.compile(`return function decode(view, off) { return ${literal('off', g)}; };`) as Dec;
    const impl: Impl = { size, dec, enc: this.encoder(entries, size), mask: fieldsMask(fields, size, 0) };
    const cost = fields.reduce((sum, f) => sum + (f.impl.cost ?? 1), 0);
    if (cost <= INLINE_LIMIT) Object.assign(impl, { expr: literal, cost }); // small structs inline into parents
    return impl;
  }

  private encoder(entries: Entry[], size: number): Enc {
    const g = new Gen();
    const what = `an object (${this.typeName})`;
    const suffixes: string[] = [];
    const lines = entries.map((e, k) => {
      suffixes.push(e.kind === 'field' ? `.${e.key}` : '');
      return `k = ${k}; ${e.kind === 'field' ? this.fieldWrite(e, g) : `${g.dep(e.write)}(v, view, off);`}`;
    });
    const src = `return function encode(v, view, off) {
      if (typeof v !== 'object' || v === null || isArray(v)) throw ${g.dep(notObject)}(${JSON.stringify(what)}, v);
      zeroBytes(view, off, ${size});
      let k = 0, x;
      try { ${lines.join('\n')} } catch (e) { throw at(e, ${g.dep(suffixes)}[k]); }
    };`;
    return g.compile(src) as Enc;
  }

  private fieldWrite(f: Field, g: Gen): string {
    const o = offsetExpr('off', f.off);
    const slow = `${g.dep(f.impl.enc)}(x, view, ${o});`;
    const write = f.impl.fastCheck && f.impl.fastWrite
      ? `if (${f.impl.fastCheck('x')}) ${f.impl.fastWrite('x', o)}; else ${slow}`
      : slow;
    return `x = v[${JSON.stringify(f.key)}]; if (x !== undefined) { ${write} }`;
  }
}

function notObject(what: string, v: unknown): EncodeFail {
  return fail(false, what, v);
}

/**
 * A flattened anonymous union (or a union's own members): one alternative per member. With
 * several members present (as in a decoded union), each member's data bits are merged into the
 * bytes and every member must then read back as given; otherwise they conflict (RangeError).
 */
function groupWrite(alts: Alt[], off: number, end: number, label: string): Enc {
  return (v, view, base) => {
    const obj = v as Record<string, unknown>;
    const present = alts.filter((a) => a.keys.some((k) => obj[k] !== undefined));
    if (present.length === 1) present[0].write(v, view, base);
    else if (present.length > 1) mergeAlts(present, v, view, base + off, end - off, off, label);
  };
}

function mergeAlts(
  present: Alt[], v: unknown, view: DataView, at0: number, len: number, groupOff: number, label: string,
): void {
  const out = new U8(view.buffer, view.byteOffset + at0, len);
  const alone = present.map((alt) => {
    const bytes = new U8(len);
    const own = new DataViewClass(bytes.buffer);
    alt.write(v, own, -groupOff);
    const m = alt.mask();
    for (let i = 0; i < len; i++) out[i] = (out[i] & ~m[i]) | (bytes[i] & m[i]);
    return own;
  });
  const base = at0 - groupOff; // field offsets are relative to the struct start
  const agree = present.every((alt, j) =>
    alt.fields.every((f) => sameDecoded(f.impl.dec(alone[j], f.off - groupOff), f.impl.dec(view, base + f.off))));
  if (!agree) {
    const names = present.map((a) => a.label).join(', ');
    throw new EncodeFail(true, `one member of ${label}, or members that agree`, `conflicting members ${names}`);
  }
}

/** Structural equality of two decoded values (same codec, so same shapes). */
function sameDecoded(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return a !== a && b !== b; // NaN
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (isArrayLike(a) && isArrayLike(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameDecoded(a[i], b[i])) return false;
    return true;
  }
  const rb = b as Record<string, unknown>;
  return Object.keys(a).every((k) => sameDecoded((a as Record<string, unknown>)[k], rb[k]));
}

function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

/** ORs the data bits of `impl` placed at byte `at` into `into`. */
function orMask(into: Uint8Array, at: number, impl: Impl): void {
  if (!impl.mask) {
    into.fill(0xff, at, at + impl.size);
    return;
  }
  const m = impl.mask();
  for (let i = 0; i < m.length; i++) into[at + i] |= m[i];
}

function fieldsMask(fields: Field[], size: number, shift: number): () => Uint8Array {
  return lazy(() => {
    const m = new U8(size);
    for (const f of fields) orMask(m, f.off - shift, f.impl);
    return m;
  });
}

function entriesWrite(entries: Entry[]): Enc {
  const writers = entries.map((e): Enc => (e.kind === 'group' ? e.write : fieldWriter(e)));
  return (v, view, off) => {
    for (const w of writers) w(v, view, off);
  };
}

function fieldWriter(f: Field): Enc {
  const suffix = `.${f.key}`;
  return (v, view, off) => {
    const x = (v as Record<string, unknown>)[f.key];
    if (x === undefined) return;
    try {
      f.impl.enc(x, view, off + f.off);
    } catch (e) {
      throw at(e, suffix);
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Bitfields

interface BitSpec { bitOff: number; bitSize: number; le: boolean }
type ValueKind = { kind: 'bool' } | { kind: 'number' | 'bigint' | 'enum64'; signed: boolean; names?: Map<string, number | bigint>; typeName: string };

function readWindow(view: DataView, off: number, n: number, le: boolean): number {
  let w = 0;
  if (le) for (let i = n - 1; i >= 0; i--) w = w * 256 + view.getUint8(off + i);
  else for (let i = 0; i < n; i++) w = w * 256 + view.getUint8(off + i);
  return w;
}

function writeWindow(view: DataView, off: number, n: number, le: boolean, w: number): void {
  for (let i = 0; i < n; i++) {
    view.setUint8(le ? off + i : off + n - 1 - i, w % 256);
    w = floor(w / 256);
  }
}

function readWindowBig(view: DataView, off: number, n: number, le: boolean): bigint {
  let w = 0n;
  if (le) for (let i = n - 1; i >= 0; i--) w = (w << 8n) | toBigInt(view.getUint8(off + i));
  else for (let i = 0; i < n; i++) w = (w << 8n) | toBigInt(view.getUint8(off + i));
  return w;
}

function writeWindowBig(view: DataView, off: number, n: number, le: boolean, w: bigint): void {
  for (let i = 0; i < n; i++) {
    view.setUint8(le ? off + i : off + n - 1 - i, toNumber(w & 0xffn));
    w >>= 8n;
  }
}

/** A bitfield as an Impl positioned at the first byte of its window. */
function bitfieldImpl(spec: BitSpec, vk: ValueKind): Impl {
  const { bitSize, le } = spec;
  const inner = spec.bitOff % 8;
  const n = Math.ceil((inner + bitSize) / 8);
  const shift = le ? inner : n * 8 - inner - bitSize;
  const signed = vk.kind !== 'bool' && vk.signed;
  const min = signed ? -(1n << toBigInt(bitSize - 1)) : 0n;
  const max = signed ? (1n << toBigInt(bitSize - 1)) - 1n : (1n << toBigInt(bitSize)) - 1n;
  const what = vk.kind === 'bool'
    ? 'a boolean (or 0/1)'
    : `${vk.names ? `an enumerator of ${vk.typeName} or ` : ''}${rangeWhat(min, max)} (${bitSize}-bit field)`;
  const raw = bitSize <= 32 ? numberBits(n, shift, bitSize, le) : bigBits(n, shift, bitSize, le);
  const dec: Dec = (view, off) => fromRaw(raw.get(view, off), vk, bitSize);
  const fast = bitSize <= 32 && vk.kind !== 'bool';
  const [minN, maxN, m] = [toNumber(min), toNumber(max), 2 ** bitSize];
  const enc: Enc = (x, view, off) => {
    if (fast && typeof x === 'number' && x >= minN && x <= maxN && isInteger(x)) raw.set(view, off, x < 0 ? x + m : x);
    else raw.set(view, off, toRaw(x, vk, min, max, what, bitSize));
  };
  return { size: n, dec, enc, mask: lazy(() => bitMask(n, shift, bitSize, le)) };
}

function bitMask(n: number, shift: number, bitSize: number, le: boolean): Uint8Array {
  const m = new U8(n);
  for (let j = shift; j < shift + bitSize; j++) m[le ? j >> 3 : n - 1 - (j >> 3)] |= 1 << (j & 7);
  return m;
}

/** Reads/writes the field's bits as an unsigned value (number when at most 32 bits). */
interface RawBits { get(view: DataView, off: number): number | bigint; set(view: DataView, off: number, u: number | bigint): void }

function numberBits(n: number, shift: number, bits: number, le: boolean): RawBits {
  const p = 2 ** shift;
  const m = 2 ** bits;
  return {
    get: (view, off) => floor(readWindow(view, off, n, le) / p) % m,
    set: (view, off, u) => {
      const w = readWindow(view, off, n, le);
      const old = floor(w / p) % m;
      writeWindow(view, off, n, le, w + (toNumber(u) - old) * p);
    },
  };
}

function bigBits(n: number, shift: number, bits: number, le: boolean): RawBits {
  const s = toBigInt(shift);
  const b = toBigInt(bits);
  const mask = ((1n << b) - 1n) << s;
  return {
    get: (view, off) => (readWindowBig(view, off, n, le) & mask) >> s,
    set: (view, off, u) => writeWindowBig(view, off, n, le, (readWindowBig(view, off, n, le) & ~mask) | (toBigInt(u) << s)),
  };
}

function fromRaw(u: number | bigint, vk: ValueKind, bits: number): unknown {
  if (vk.kind === 'bool') return u !== 0 && u !== 0n;
  if (vk.kind === 'number') {
    const v = toNumber(u);
    return vk.signed && v >= 2 ** (bits - 1) ? v - 2 ** bits : v;
  }
  const big = vk.signed ? asIntN(bits, toBigInt(u)) : toBigInt(u);
  return vk.kind === 'enum64' ? toSafe(big) : big;
}

function toRaw(x: unknown, vk: ValueKind, min: bigint, max: bigint, what: string, bits: number): bigint {
  if (vk.kind === 'bool') {
    if (x === true || x === 1) return 1n;
    if (x === false || x === 0) return 0n;
    throw fail(typeof x === 'number', what, x);
  }
  if (typeof x === 'string' && vk.names) {
    const named = vk.names.get(x);
    if (named === undefined) throw fail(true, what, x);
    x = named;
  }
  return asUintN(bits, checkBigInt(x, min, max, what));
}

// ---------------------------------------------------------------------------------------------
// The compiler: BTF type -> Impl, cached per (Btf, id).

const BUILDING = Symbol('building');
const caches = new WeakMap<Btf, Map<number, CompiledCodec | typeof BUILDING>>();

class CompiledCodec implements Codec {
  readonly size: number;
  readonly decode: Dec;
  readonly enumValues?: Readonly<Record<string, number | bigint>>;
  private zeroView: DataView | undefined;

  constructor(readonly impl: Impl, readonly typeName: string) {
    this.size = impl.size;
    this.decode = impl.dec;
    if (impl.enumValues) this.enumValues = impl.enumValues;
  }

  encode(value: unknown, view: DataView, offset: number, path?: string): void {
    const prefix = path || this.typeName;
    if (!(offset >= 0 && offset + this.size <= view.byteLength)) {
      throw new RangeError(`${prefix}: ${this.size} bytes at offset ${offset} do not fit a DataView of ${view.byteLength} bytes`);
    }
    try {
      this.impl.enc(value, view, offset);
    } catch (e) {
      throw finish(e, prefix);
    }
  }

  zero(): unknown {
    this.zeroView ??= new DataView(new ArrayBuffer(this.size));
    return this.decode(this.zeroView, 0);
  }
}

class Compiler {
  readonly le: boolean;

  constructor(readonly btf: Btf) {
    this.le = btf.littleEndian;
  }

  /** Impl for a type used as a member or element; zero-size types become empty values. */
  member(id: number): Impl {
    const t = this.btf.resolve(id);
    if (t.kind === 'array' && (t.nelems === 0 || this.isEmpty(t.elemType as number))) return this.emptyArray(t);
    if ((t.kind === 'struct' || t.kind === 'union') && t.size === 0) return emptyStruct();
    return (codecFor(this.btf, id) as CompiledCodec).impl;
  }

  build(id: number): Impl {
    const btf = this.btf;
    const t = btf.resolve(id);
    if (t.id !== id) return (codecFor(btf, t.id) as CompiledCodec).impl;
    const impl = this.buildResolved(t);
    if (!impl || impl.size === 0) throw new TypeError(`cannot decode ${btf.typeName(id)}`);
    return impl;
  }

  private buildResolved(t: BtfType): Impl | undefined {
    switch (t.kind) {
      case 'int': return intImpl(t, this.le);
      case 'ptr': return pointerImpl(this.btf.pointerSize, this.le);
      case 'float': return floatImpl(t.size as number, this.le);
      case 'enum': case 'enum64': return enumImpl(t, this.le, this.btf.typeName(t.id));
      case 'array': return this.array(t);
      case 'struct': case 'datasec': return this.struct(t);
      case 'union': return this.union(t);
      case 'var': return this.member(t.type as number);
      default: return undefined; // void, fwd, func, func_proto, decl_tag
    }
  }

  private isEmpty(id: number): boolean {
    const t = this.btf.resolve(id);
    if (t.kind === 'array') return t.nelems === 0 || this.isEmpty(t.elemType as number);
    return (t.kind === 'struct' || t.kind === 'union') && t.size === 0;
  }

  private emptyArray(t: BtfType): Impl {
    const elem = this.btf.resolve(t.elemType as number);
    const Ctor = this.isChar(elem) ? undefined : typedArrayClass(elem);
    const dec: Dec = Ctor ? () => new Ctor(0) : () => [];
    return { size: 0, dec, enc: arrayEnc({ size: 0, dec, enc: () => undefined }, 0) };
  }

  private isChar(t: BtfType): boolean {
    return t.kind === 'int' && t.size === 1 && !t.bool && (!!t.char || t.name === 'char');
  }

  private array(t: BtfType): Impl | undefined {
    const n = t.nelems as number;
    const elemType = this.btf.resolve(t.elemType as number);
    if (this.isChar(elemType)) return charArrayImpl(n);
    const elem = this.member(t.elemType as number);
    if (elem.size === 0) return undefined;
    const Ctor = typedArrayClass(elemType);
    return Ctor ? typedArrayImpl(elem, n, Ctor, this.le) : jsArrayImpl(elem, n);
  }

  private struct(t: BtfType): Impl {
    const entries: Entry[] = [];
    if (t.kind === 'datasec') this.planDatasec(t, entries);
    else this.planStruct(t, 0, entries);
    return new StructCompiler(this.btf.typeName(t.id)).compile(entries, t.size as number);
  }

  private union(t: BtfType): Impl {
    return new StructCompiler(this.btf.typeName(t.id)).compile([this.planUnion(t, 0)], t.size as number);
  }

  private planDatasec(t: BtfType, out: Entry[]): void {
    for (const v of t.vars ?? []) {
      const vt = this.btf.typeById(v.type);
      if (vt.kind === 'var') out.push({ kind: 'field', key: vt.name, off: v.offset, impl: this.member(vt.type as number) });
    }
  }

  private planStruct(t: BtfType, bitBase: number, out: Entry[]): void {
    for (const m of t.members ?? []) {
      const bitOff = bitBase + m.bitOffset;
      if (m.name) {
        out.push(this.planField(m.name, m.type, bitOff, m.bitSize));
        continue;
      }
      const rt = this.btf.resolve(m.type);
      if (rt.kind === 'struct') this.planStruct(rt, bitOff, out);
      else if (rt.kind === 'union') out.push(this.planUnion(rt, bitOff));
      // other anonymous members are unnamed bitfields: padding
    }
  }

  private planUnion(t: BtfType, bitBase: number): Group {
    const off = bitBase / 8;
    const end = off + (t.size as number);
    const alts: Alt[] = [];
    const fields: Field[] = [];
    this.collectAlts(t, bitBase, { off, end }, alts, fields);
    return { kind: 'group', off, end, alts, fields, write: groupWrite(alts, off, end, this.btf.typeName(t.id)) };
  }

  /** Members of a union, and of anonymous unions nested in it, as alternatives of one group. */
  private collectAlts(t: BtfType, bitBase: number, group: { off: number; end: number }, alts: Alt[], fields: Field[]): void {
    for (const m of t.members ?? []) {
      const bitOff = bitBase + m.bitOffset;
      const entries: Entry[] = [];
      if (m.name) entries.push(this.planField(m.name, m.type, bitOff, m.bitSize));
      else {
        const rt = this.btf.resolve(m.type);
        if (rt.kind === 'union') {
          this.collectAlts(rt, bitOff, group, alts, fields);
          continue;
        }
        if (rt.kind !== 'struct') continue;
        this.planStruct(rt, bitOff, entries);
      }
      const altFields = allFields(entries);
      const keys = altFields.map((f) => f.key);
      const mask = fieldsMask(altFields, group.end - group.off, group.off);
      alts.push({ label: m.name || `{${keys.join(', ')}}`, keys, fields: altFields, write: entriesWrite(entries), mask });
      fields.push(...altFields);
    }
  }

  private planField(key: string, typeId: number, bitOff: number, bitSize: number): Field {
    const rt = this.btf.resolve(typeId);
    let spec: BitSpec | undefined;
    if (bitSize > 0) spec = { bitOff, bitSize, le: this.le };
    else if (rt.kind === 'int' && ((rt.bits as number) < (rt.size as number) * 8 || rt.bitOffset)) {
      spec = { bitOff: bitOff + (rt.bitOffset as number), bitSize: rt.bits as number, le: this.le }; // pre-kind_flag bitfield
    } else if (bitOff % 8 !== 0) {
      throw new TypeError(`cannot decode member ${key}: ${this.btf.typeName(typeId)} at bit offset ${bitOff}`);
    }
    if (!spec) return { kind: 'field', key, off: bitOff / 8, impl: this.member(typeId) };
    return { kind: 'field', key, off: floor(spec.bitOff / 8), impl: bitfieldImpl(spec, this.valueKind(rt, typeId)) };
  }

  private valueKind(rt: BtfType, typeId: number): ValueKind {
    const typeName = this.btf.typeName(typeId);
    if (rt.kind === 'int') {
      if (rt.bool || rt.name === '_Bool') return { kind: 'bool' };
      return { kind: (rt.size as number) <= 4 ? 'number' : 'bigint', signed: !!rt.signed, typeName };
    }
    if (rt.kind === 'enum' || rt.kind === 'enum64') {
      const names = new Map((rt.values ?? []).map((v) => [v.name, v.value] as const));
      return { kind: (rt.size as number) <= 4 ? 'number' : 'enum64', signed: !!rt.signed, names, typeName };
    }
    throw new TypeError(`cannot decode bitfield of type ${typeName}`);
  }
}

function emptyStruct(): Impl {
  return {
    size: 0,
    dec: () => ({}),
    enc: (x) => {
      if (typeof x !== 'object' || x === null) throw fail(false, 'an object', x);
    },
  };
}

/** The codec for a BTF type id, compiled on first use and cached per Btf. */
export function codecFor<T = unknown>(btf: Btf, typeId: number): Codec<T> {
  let cache = caches.get(btf);
  if (!cache) caches.set(btf, (cache = new Map()));
  const hit = cache.get(typeId);
  if (hit === BUILDING) throw new TypeError(`cannot decode ${btf.typeName(typeId)}: it contains itself`);
  if (hit) return hit as Codec<T>;
  const typeName = btf.typeName(typeId); // also range-checks the id
  cache.set(typeId, BUILDING);
  try {
    const codec = new CompiledCodec(new Compiler(btf).build(typeId), typeName);
    cache.set(typeId, codec);
    return codec as Codec<T>;
  } catch (e) {
    cache.delete(typeId);
    throw e;
  }
}

/** A codec for opaque bytes: decode copies into a new Buffer; encode takes exactly `size` bytes. */
export function rawCodec(size: number): Codec<Buffer> {
  if (!isSafeInteger(size) || size < 0) {
    throw new RangeError(`rawCodec: expected a byte size 0..2^53-1, got ${describeValue(size)}`);
  }
  return new CompiledCodec(rawImpl(size), `bytes[${size}]`) as unknown as Codec<Buffer>;
}
