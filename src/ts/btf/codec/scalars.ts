// Scalars: ints, bools, pointers, floats, enums, raw bytes.
import type { BtfType } from '../btf';
import { Gen } from './gen';
import { Dec, Enc, HOST_LE, I64_MAX, I64_MIN, Impl, U64_MAX, U8, fail, toBigInt, toNumber } from './shared';

// Builtins captured once (see shared.ts).
const { asIntN, asUintN } = BigInt;
const { floor } = Math;
const { isInteger, isSafeInteger } = Number;

/** Compiles `(view, off) => expr` so accessors get literal endianness arguments. */
function compileDec(expr: (o: string, g: Gen) => string): Dec {
  const g = new Gen();
  return g.compile(`return function dec(view, off) { return ${expr('off', g)}; };`) as Dec;
}

/** Arguments with a literal endianness flag (absent for single bytes). */
function accessor(args: string, size: number, le: boolean): string {
  return size === 1 ? args : `${args}, ${le}`;
}

export function rangeWhat(min: number | bigint, max: number | bigint): string {
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
  // At an 8-aligned place in host order: a typed array store (inline, where DataView's
  // setBigUint64 stays a call into a builtin), the range checked by a truncation that
  // changes nothing (no BigInt comparison builtins); anything else goes through enc.
  const bindEnc = (view: DataView, off: number): ((x: unknown) => void) | undefined => {
    const at = view.byteOffset + off;
    if (le !== HOST_LE || at % 8 !== 0) return undefined;
    if (signed) {
      const word = new BigInt64Array(view.buffer, at, 1);
      return (x) => {
        if (typeof x === 'bigint' && asIntN(64, x) === x) word[0] = x;
        else enc(x, view, off);
      };
    }
    const word = new BigUint64Array(view.buffer, at, 1);
    return (x) => {
      if (typeof x === 'bigint' && asUintN(64, x) === x) word[0] = x;
      else enc(x, view, off);
    };
  };
  return {
    size: 8, dec: compileDec(expr), enc, expr, bindEnc,
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
export function checkBigInt(x: unknown, min: bigint, max: bigint, what: string): bigint {
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

export function intImpl(t: BtfType, le: boolean): Impl | undefined {
  const size = t.size as number;
  if (t.bool || t.name === '_Bool') return size <= 8 ? boolImpl(size, le) : undefined;
  if (size === 1 || size === 2 || size === 4) return smallIntImpl(size, !!t.signed, le);
  if (size === 8) return int64Impl(!!t.signed, le);
  if (size === 16) return int128Impl(!!t.signed, le);
  return undefined;
}

export function pointerImpl(size: number, le: boolean): Impl {
  const what = `an address 0..2^${size * 8}-1 (bigint or safe integer number)`;
  if (size === 8) return int64Impl(false, le, what);
  const inner = smallIntImpl(4, false, le, what);
  return { size: 4, dec: (view, off) => toBigInt(view.getUint32(off, le)), enc: inner.enc };
}

export function floatImpl(size: number, le: boolean): Impl | undefined {
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

export function rawImpl(size: number): Impl {
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

export function enumImpl(t: BtfType, le: boolean, typeName: string): Impl | undefined {
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
