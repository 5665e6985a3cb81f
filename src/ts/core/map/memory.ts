// MapMemory: a map's mmap()ed memory (mmapable arrays, .data/.bss), element by element.
import { checkInteger } from '../../base/args';
import { checkInternal } from '../../base/internal';
import type { Codec } from '../../btf/codec';

export function view(bytes: Buffer): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** Live element access over a map's mmap()ed memory: no syscalls. */
export class MapMemory<V = any> {
  readonly #buffer: ArrayBuffer;
  readonly #view: DataView;
  readonly #codec: Codec<V>;
  readonly #stride: number;
  readonly #path: string;
  readonly #closed: string;
  /** Number of elements. */
  readonly length: number;

  /** @internal */
  constructor(token: symbol, buffer: ArrayBuffer, codec: Codec<V>, stride: number, length: number, path: string, closed: string) {
    checkInternal(token, 'MapMemory');
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

  /** The raw bytes, live. */
  get bytes(): Uint8Array {
    this.#check();
    return new Uint8Array(this.#buffer, 0, this.#stride * this.length);
  }

  get(index: number): V {
    this.#check();
    return this.#codec.decode(this.#view, this.#index(index) * this.#stride);
  }

  set(index: number, value: V): void {
    this.#check();
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
