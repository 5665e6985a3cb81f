// Arrays: typed arrays for numeric elements (small ones on shared slabs), JS arrays otherwise.
import type { BtfType } from '../btf';
import { Gen, offsetExpr } from './gen';
import { Dec, Enc, HOST_LE, Impl, U8, at, fail, isArrayLike, lazy, zeroBytes } from './shared';

const TYPED: Record<string, TypedArrayClass> = {
  u1: Uint8Array, s1: Int8Array, u2: Uint16Array, s2: Int16Array, u4: Uint32Array, s4: Int32Array,
  u8: BigUint64Array, s8: BigInt64Array, f4: Float32Array, f8: Float64Array,
};

/** The typed array class for an element type, per the ARRAY RULE at the top. */
export function typedArrayClass(elem: BtfType): TypedArrayClass | undefined {
  if (elem.kind === 'float') return TYPED[`f${elem.size}`];
  if (elem.kind !== 'int' || elem.bool || elem.name === '_Bool') return undefined;
  return TYPED[`${elem.signed ? 's' : 'u'}${elem.size}`];
}


export function arrayEnc(elem: Impl, n: number, copyFrom?: Function): Enc {
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
export function typedArrayImpl(elem: Impl, n: number, Ctor: TypedArrayClass, le: boolean): Impl {
  const size = elem.size * n;
  const dec = le !== HOST_LE ? typedFill(elem, n, Ctor) : size > 64 ? typedCopy(elem.size, n, Ctor) : typedSlab(size, n, Ctor);
  const es = elem.size;
  const part = (view: DataView, off: number, avail: number): unknown => {
    const k = Math.floor(avail / es);
    const out = new Ctor(k) as unknown as unknown[];
    for (let i = 0; i < k; i++) out[i] = elem.dec(view, off + i * es);
    return out;
  };
  return { size, dec, enc: arrayEnc(elem, n, le === HOST_LE && size > 64 ? Ctor : undefined), part };
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

export function jsArrayImpl(elem: Impl, n: number): Impl {
  const es = elem.size;
  const dec: Dec = (view, off) => {
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = elem.dec(view, off + i * es);
    return out;
  };
  const part = (view: DataView, off: number, avail: number): unknown => {
    const k = Math.floor(avail / es);
    const out = new Array<unknown>(k);
    for (let i = 0; i < k; i++) out[i] = elem.dec(view, off + i * es);
    return out;
  };
  const impl: Impl = { size: es * n, dec, enc: arrayEnc(elem, n), part };
  const elemMask = elem.mask;
  if (elemMask) impl.mask = lazy(() => repeatMask(elemMask(), n));
  return impl;
}

function repeatMask(m: Uint8Array, n: number): Uint8Array {
  const out = new U8(m.length * n);
  for (let i = 0; i < n; i++) out.set(m, i * m.length);
  return out;
}
