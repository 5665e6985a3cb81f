// RawMap: byte-level access to any map, keys and values as Buffers of the map's exact sizes.
import { argRangeError, checkBytes } from '../../base/args';
import type { NativeMap } from '../../base/native';
import { type UpdateFlag, updateFlags } from './kinds';
import type { Layout } from './map';

/** Byte-level access to a map: keys and values are Buffers of the map's exact sizes. */
export class RawMap {
  readonly #native: NativeMap;
  readonly #slots: () => Layout<unknown>;

  /** @internal */
  constructor(native: NativeMap, slots: () => Layout<unknown>) {
    this.#native = native;
    this.#slots = slots;
  }

  #check(bytes: unknown, name: string, size: number): Uint8Array {
    const b = checkBytes(bytes, name);
    if (b.length !== size) throw argRangeError(name, `${size} bytes`, b);
    return b;
  }

  // Copies `key` into the bound key buffer (single-element calls go through the same
  // bound buffers and functions as BpfMap.get/set).
  #key(key: Uint8Array): Layout<unknown> {
    const l = this.#slots();
    const b = this.#check(key, 'key', l.keySize);
    if (l.keySize) l.key.bytes.set(b);
    return l;
  }

  /** The value bytes for `key` (per-CPU maps: every CPU's value, 8-byte aligned), or undefined. */
  get(key: Uint8Array): Buffer | undefined {
    const l = this.#key(key);
    if (!l.ops.lookup(0)) return undefined;
    const value = Buffer.allocUnsafe(l.stride);
    value.set(l.value.bytes);
    return value;
  }

  has(key: Uint8Array): boolean {
    return this.#key(key).ops.lookup(0);
  }

  set(key: Uint8Array, value: Uint8Array, flags?: UpdateFlag | number): this {
    const f = updateFlags(flags);
    const l = this.#slots();
    const v = this.#check(value, 'value', l.stride);
    this.#key(key);
    l.value.bytes.set(v);
    l.ops.update(f);
    return this;
  }

  delete(key: Uint8Array): boolean {
    return this.#key(key).ops.delete(0);
  }

  *keys(): IterableIterator<Buffer> {
    let cur: Buffer | null = null;
    for (;;) {
      const next = Buffer.alloc(this.#native.keySize());
      if (!this.#native.nextKey(cur, next)) return;
      yield next;
      cur = next;
    }
  }

  *entries(): IterableIterator<[Buffer, Buffer]> {
    for (const key of this.keys()) {
      const value = this.get(key);
      if (value) yield [key, value];
    }
  }

  [Symbol.iterator](): IterableIterator<[Buffer, Buffer]> {
    return this.entries();
  }
}
