// Bitfields
import { checkBigInt, rangeWhat } from './scalars';
import { Dec, Enc, Impl, U8, fail, lazy, toBigInt, toNumber, toSafe } from './shared';

// Builtins captured once (see shared.ts).
const { asIntN, asUintN } = BigInt;
const { floor } = Math;
const { isInteger } = Number;

export interface BitSpec { bitOff: number; bitSize: number; le: boolean }
export type ValueKind = { kind: 'bool' } | { kind: 'number' | 'bigint' | 'enum64'; signed: boolean; names?: Map<string, number | bigint>; typeName: string };

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
export function bitfieldImpl(spec: BitSpec, vk: ValueKind): Impl {
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
