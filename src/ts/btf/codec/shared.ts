// What every codec module shares: the Impl shape a compiled codec has before it gets its
// public face, encode failures and their paths, and the builtins captured once.
import type { Gen } from './gen';

/** A value's encoder and decoder, compiled from its BTF type (Btf#codec(), codecFor()). */
export interface Codec<T = unknown> {
  /** Bytes a value takes. */
  readonly size: number;
  /** The C name of the type ('struct event'). */
  readonly typeName: string;
  /** The value at `offset` of `view` (all `size` bytes must be there). */
  decode(view: DataView, offset: number): T;
  /** Writes `value` at `offset` of `view` (padding and missing members zero); TypeError/RangeError naming `path` for a bad value. */
  encode(value: T, view: DataView, offset: number, path?: string): void;
  /**
   * encode() for one place, `view` at `offset`, fixed for the encoder's life: the bounds
   * are checked once, here; values and errors are encode()'s. For a buffer written over
   * and over (BpfMap's key and value slots). Codecs without it: encode() each time.
   */
  bind?(view: DataView, offset: number, path: string): (value: unknown) => void;
  /** The value of all-zero bytes. */
  zero(): T;
  /**
   * Decodes a value of which only `length` bytes are there (a short record): members
   * wholly inside are decoded, members past the end are absent, arrays and structs cut
   * by the end keep what is wholly inside them (a char array the bytes there). With
   * `length` >= size this is decode(). Undefined when nothing of the value can be decoded
   * (a scalar cut short).
   */
  decodePartial(view: DataView, offset: number, length: number): T | undefined;
  /** enum/enum64 only: enumerator names to values */
  readonly enumValues?: Readonly<Record<string, number | bigint>>;
}

export type Dec = (view: DataView, off: number) => unknown;
export type Enc = (value: unknown, view: DataView, off: number) => void;

/** A compiled codec before it gets a public face; `expr`/`fast*` let struct codegen inline it. */
export interface Impl {
  size: number;
  dec: Dec;
  enc: Enc;
  /** JS expression decoding at offset expression `o`, with `view` and helpers in scope */
  expr?: (o: string, g: Gen) => string;
  /** condition on `x` under which `fastWrite` is a complete, valid encode */
  fastCheck?: (x: string) => string;
  fastWrite?: (x: string, o: string) => string;
  /** enc at one fixed place (Codec.bind), when that can be faster than enc itself */
  bindEnc?: (view: DataView, off: number) => ((value: unknown) => void) | undefined;
  /** number of leaf expressions `expr` expands to (structs); absent means 1 */
  cost?: number;
  /** bits of the value's bytes that carry data (not padding or unnamed bits); absent means all */
  mask?: () => Uint8Array;
  enumValues?: Readonly<Record<string, number | bigint>>;
  /**
   * Decodes a value cut by the end of the data: `avail` bytes (0 < avail < size) of it are
   * there. Structs decode the members wholly inside (and cut ones by this rule), arrays
   * their whole elements, char arrays the bytes there. Absent: the value is not decoded.
   */
  part?: (view: DataView, off: number, avail: number) => unknown;
}

/** Internal encode failure; the public encode turns it into a TypeError/RangeError with the path. */
export class EncodeFail {
  suffix = '';
  constructor(readonly range: boolean, readonly what: string, readonly got: string) {}
}

// Builtins used per value are captured once, in each module that uses them: inside vm
// contexts (jest, for one) every global lookup goes through an interceptor and costs more
// than a whole struct decode.
const { isArray } = Array;
export const toBigInt = BigInt;
export const toNumber = Number;
export const DataViewClass = DataView;
export const BufferClass = Buffer;
export const U8 = Uint8Array;

export const HOST_LE = new U8(new Uint16Array([1]).buffer)[0] === 1;
export const U64_MAX = (1n << 64n) - 1n;
export const I64_MIN = -(1n << 63n);
export const I64_MAX = (1n << 63n) - 1n;

export function fail(range: boolean, what: string, value: unknown): EncodeFail {
  return new EncodeFail(range, what, describeValue(value));
}

/** Prefixes a path segment to an in-flight encode failure while unwinding. */
export function at(e: unknown, segment: string): unknown {
  if (e instanceof EncodeFail) e.suffix = segment + e.suffix;
  return e;
}

export function finish(e: unknown, prefix: string): unknown {
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

export function zeroBytes(view: DataView, off: number, n: number): void {
  if (n > 64) {
    new U8(view.buffer, view.byteOffset + off, n).fill(0);
    return;
  }
  let i = 0;
  for (; i + 4 <= n; i += 4) view.setUint32(off + i, 0);
  for (; i < n; i++) view.setUint8(off + i, 0);
}

export function toSafe(v: bigint): number | bigint {
  return v >= -0x1fffffffffffffn && v <= 0x1fffffffffffffn ? toNumber(v) : v;
}

export function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

export function isArrayLike(x: unknown): x is ArrayLike<unknown> {
  if (isArray(x)) return true;
  if (typeof x !== 'object' || x === null || x instanceof DataViewClass) return false;
  return typeof (x as { length?: unknown }).length === 'number';
}
