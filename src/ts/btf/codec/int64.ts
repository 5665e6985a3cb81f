// 64-bit little-endian reads, inlined by V8 where the value sits 8-aligned.
import { HOST_LE } from './shared';

// Builtins captured once (see shared.ts).
const { floor } = Math;
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
