// MapMemory: a map's mmap()ed memory (mmapable arrays, .data/.bss), element by element.
import { checkInteger } from '../../base/args';
import { checkInternal } from '../../base/internal';
import type { Codec } from '../../btf/codec';

export function view(bytes: Buffer): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * Live element access over a map's mmap()ed memory (`map.memory`): reads and writes are
 * plain memory accesses, no syscalls; the program sees each write at once. Valid while
 * the map (or its object) is open; then every access throws a TypeError.
 * @example
 * ```ts
 * const hist = obj.map('hist').memory; // a BPF_F_MMAPABLE array of u64
 * for (let i = 0; i < hist.length; i++) console.log(i, hist.get(i));
 * ```
 */
export class MapMemory<V = any> {
  readonly #buffer: ArrayBuffer;
  readonly #view: DataView;
  readonly #codec: Codec<V>;
  readonly #stride: number;
  readonly #path: string;
  readonly #closed: string;
  /** Number of elements. */
  readonly length: number;
  /**
   * True when the mapping is read-only (.rodata after load, a frozen array): set() throws
   * and `bytes` is a copy, since a store into it would kill the process (SIGSEGV).
   */
  readonly readOnly: boolean;

  /** @internal */
  constructor(token: symbol, buffer: ArrayBuffer, codec: Codec<V>, stride: number, length: number, path: string, closed: string, readOnly = false) {
    checkInternal(token, 'MapMemory');
    this.readOnly = readOnly;
    this.#closed = closed;
    this.#buffer = buffer;
    this.#view = new DataView(buffer);
    this.#codec = codec;
    this.#stride = stride;
    this.length = length;
    this.#path = path;
  }

  /** False once the map (or its object) was closed. */
  get valid(): boolean {
    return this.#buffer.byteLength > 0;
  }

  /**
   * The raw bytes, live; for read-only memory a copy (Node has no read-only ArrayBuffer, and
   * a write into the mapping itself would be SIGSEGV): read it again for fresh values.
   */
  get bytes(): Uint8Array {
    this.#check();
    const live = new Uint8Array(this.#buffer, 0, this.#stride * this.length);
    return this.readOnly ? live.slice() : live;
  }

  /** Element `index`, decoded (RangeError outside 0..length-1). */
  get(index: number): V {
    this.#check();
    return this.#codec.decode(this.#view, this.#index(index) * this.#stride);
  }

  /** Encode `value` into element `index` (RangeError outside 0..length-1); a byte copy, not one atomic write. */
  set(index: number, value: V): void {
    this.#check();
    if (this.readOnly) throw new TypeError(`${this.#path} is read-only (.rodata after load, or a frozen map): writing it is refused`);
    const i = this.#index(index);
    const scratch = new DataView(new ArrayBuffer(this.#codec.size));
    this.#codec.encode(value, scratch, 0, `${this.#path}[${i}]`);
    new Uint8Array(this.#buffer, i * this.#stride, this.#codec.size).set(new Uint8Array(scratch.buffer));
  }

  #index(index: number): number {
    return checkInteger(index, 'index', 0, this.length - 1);
  }

  #check(): void {
    if (!this.valid) throw new TypeError(this.#closed);
  }
}
