// BpfMap: a BPF map of a BpfObject, with keys and values decoded from the map's BTF
// (u32 -> number, u64 -> bigint, char[] -> string, structs -> objects, ...). Maps
// without BTF type info use Buffers. `map.raw` gives byte-level access to any map.
import { argRangeError, argTypeError, checkBytes, checkString } from './args';
import type { Btf } from './btf';
import { codecFor, rawCodec, type Codec } from './codec';
import { checkInternal } from './internal';
import { addon, type NativeMap } from './native';

/** How set() treats an existing key: 'any' (default), 'noexist' (create only), 'exist' (update only). */
export type UpdateFlag = 'any' | 'noexist' | 'exist' | 'lock';
const UPDATE_FLAGS: Record<UpdateFlag, number> = { any: 0, noexist: 1, exist: 2, lock: 4 };

const PER_CPU = new Set(['percpu_hash', 'percpu_array', 'lru_percpu_hash', 'percpu_cgroup_storage']);
const ARRAY_KEYED = new Set(['array', 'percpu_array', 'prog_array', 'perf_event_array', 'cgroup_array', 'array_of_maps']);

let possibleCpus: number | undefined;
/** The number of possible CPUs: the length of a per-CPU map's values. */
export function numPossibleCpus(): number {
  return (possibleCpus ??= addon.numPossibleCpus());
}

function updateFlags(flags: UpdateFlag | number | undefined): number {
  if (flags === undefined) return 0;
  if (typeof flags === 'number' && Number.isInteger(flags) && flags >= 0) return flags;
  if (typeof flags === 'string' && flags in UPDATE_FLAGS) return UPDATE_FLAGS[flags];
  throw argTypeError('flags', "'any', 'noexist', 'exist', 'lock' or a number", flags);
}

const u32Codec: Codec<number> = {
  size: 4,
  typeName: 'u32',
  decode: (view, offset) => view.getUint32(offset, true),
  encode(value, view, offset, path = 'key') {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw (typeof value === 'number' ? argRangeError : argTypeError)(path, 'an integer 0..2^32-1', value);
    }
    view.setUint32(offset, value, true);
  },
  zero: () => 0,
};

/** What a BpfMap needs from its BpfObject. */
export interface MapOwner {
  btf(): Btf | undefined;
}

// Encodes into and decodes from one reusable buffer.
class Slot<T> {
  readonly bytes: Buffer;
  readonly view: DataView;
  constructor(
    readonly codec: Codec<T>,
    size: number,
  ) {
    this.bytes = Buffer.alloc(size);
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, size);
  }
}

export class BpfMap<K = any, V = any> implements Iterable<[K, V]> {
  readonly #native: NativeMap;
  readonly #owner: MapOwner;
  #layout: { key: Slot<K>; value: Slot<unknown>; perCpu: number; stride: number } | undefined;
  #raw: RawMap | undefined;

  /** @internal Maps come from BpfObject.maps() and map(). */
  constructor(token: symbol, native: NativeMap, owner: MapOwner) {
    checkInternal(token, 'BpfMap');
    this.#native = native;
    this.#owner = owner;
  }

  get name(): string {
    return this.#native.name();
  }

  /** The map type as libbpf names it: 'hash', 'array', 'percpu_hash', 'ringbuf', ... */
  get type(): string {
    return this.#native.type();
  }

  get keySize(): number {
    return this.#native.keySize();
  }

  get valueSize(): number {
    return this.#native.valueSize();
  }

  /** Capacity. Settable before load only (size maps from user space at run time). */
  get maxEntries(): number {
    return this.#native.maxEntries();
  }

  set maxEntries(n: number) {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 0xffffffff) {
      throw (typeof n === 'number' ? argRangeError : argTypeError)('maxEntries', 'an integer 1..2^32-1', n);
    }
    this.#native.setMaxEntries(n);
  }

  /** BPF_F_* map flags. */
  get flags(): number {
    return this.#native.flags();
  }

  /** The map's file descriptor (after load). */
  get fd(): number {
    return this.#native.fd();
  }

  /** True for the maps libbpf makes from .data, .rodata, .bss and .kconfig. */
  get internal(): boolean {
    return this.#native.isInternal();
  }

  /** True for per-CPU maps, whose values are arrays with one entry per possible CPU. */
  get perCpu(): boolean {
    return PER_CPU.has(this.type);
  }

  /** The bpffs path the map is pinned at, if any. */
  get pinPath(): string | undefined {
    return this.#native.pinPath() ?? undefined;
  }

  /** Byte-level access (Buffers in and out), always available. */
  get raw(): RawMap {
    return (this.#raw ??= new RawMap(this.#native));
  }

  /**
   * The value for `key`, or undefined when the key is absent.
   * @example const n = obj.map('counts').get(1234); // u32 key -> u64 value: bigint
   */
  get(key: K): V | undefined {
    const { key: k, value: v } = this.#slots();
    k.codec.encode(key, k.view, 0, `${this.name} key`);
    if (!this.#native.lookup(k.bytes, v.bytes, 0)) return undefined;
    return this.#decodeValue(v.view);
  }

  /** True when `key` is in the map. */
  has(key: K): boolean {
    const { key: k, value: v } = this.#slots();
    k.codec.encode(key, k.view, 0, `${this.name} key`);
    return this.#native.lookup(k.bytes, v.bytes, 0);
  }

  /**
   * Create or update `key`. For per-CPU maps, `value` is either one value for every CPU
   * or an array with one value per possible CPU.
   * @example counts.set(1, 2n); counts.set(1, 3n, 'exist');
   */
  set(key: K, value: V, flags?: UpdateFlag | number): this {
    const { key: k, value: v } = this.#slots();
    const f = updateFlags(flags);
    k.codec.encode(key, k.view, 0, `${this.name} key`);
    this.#encodeValue(value, v);
    this.#native.update(k.bytes, v.bytes, f);
    return this;
  }

  /** Remove `key`; false when it was absent. */
  delete(key: K): boolean {
    const { key: k } = this.#slots();
    k.codec.encode(key, k.view, 0, `${this.name} key`);
    return this.#native.delete(k.bytes, 0);
  }

  /** Every key, decoded. */
  *keys(): IterableIterator<K> {
    const { key } = this.#slots();
    for (const bytes of iterateKeys(this.#native, key.bytes.length)) {
      yield key.codec.decode(new DataView(bytes.buffer, bytes.byteOffset, bytes.length), 0);
    }
  }

  /** Every value, decoded (keys removed meanwhile are skipped). */
  *values(): IterableIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  /** Every [key, value] pair, decoded. */
  *entries(): IterableIterator<[K, V]> {
    const { key, value } = this.#slots();
    const out = Buffer.alloc(value.bytes.length);
    const outView = new DataView(out.buffer, out.byteOffset, out.length);
    for (const bytes of iterateKeys(this.#native, key.bytes.length)) {
      if (!this.#native.lookup(bytes, out, 0)) continue;
      yield [key.codec.decode(new DataView(bytes.buffer, bytes.byteOffset, bytes.length), 0), this.#decodeValue(outView)];
    }
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  /** Pin the map on bpffs so other processes can open it. */
  pin(path: string): void {
    this.#native.pin(checkString(path, 'path'));
  }

  /** Remove the pin (at `path`, or where pin() or the object's pinRoot put it). */
  unpin(path?: string): void {
    this.#native.unpin(path === undefined ? undefined : checkString(path, 'path'));
  }

  // Codecs are chosen from BTF on first use: sizes may change until load.
  #slots(): { key: Slot<K>; value: Slot<unknown> } {
    if (this.#layout) return this.#layout;
    const btf = this.#owner.btf();
    const keyId = this.#native.btfKeyTypeId(), valueId = this.#native.btfValueTypeId();
    const keySize = this.#native.keySize(), valueSize = this.#native.valueSize();
    const keyCodec = (btf && keyId ? codecFor(btf, keyId) : ARRAY_KEYED.has(this.type) && keySize === 4 ? u32Codec : rawCodec(keySize)) as Codec<K>;
    const valueCodec = btf && valueId ? codecFor(btf, valueId) : rawCodec(valueSize);
    const perCpu = this.perCpu ? numPossibleCpus() : 0;
    const stride = perCpu ? Math.ceil(valueSize / 8) * 8 : valueSize;
    this.#layout = {
      key: new Slot(keyCodec, Math.max(keySize, 1)),
      value: new Slot(valueCodec, perCpu ? stride * perCpu : valueSize),
      perCpu,
      stride,
    };
    return this.#layout;
  }

  #decodeValue(view: DataView): V {
    const { value, perCpu, stride } = this.#layout!;
    if (!perCpu) return value.codec.decode(view, 0) as V;
    const out = new Array(perCpu);
    for (let cpu = 0; cpu < perCpu; cpu++) out[cpu] = value.codec.decode(view, cpu * stride);
    return out as V;
  }

  #encodeValue(input: V, slot: Slot<unknown>): void {
    const { perCpu, stride } = this.#layout!;
    const path = `${this.name} value`;
    if (!perCpu) {
      slot.codec.encode(input, slot.view, 0, path);
      return;
    }
    const many = Array.isArray(input);
    if (many && input.length !== perCpu) throw argRangeError(path, `one value, or an array of ${perCpu} (one per possible CPU)`, input);
    slot.bytes.fill(0);
    for (let cpu = 0; cpu < perCpu; cpu++) {
      slot.codec.encode(many ? input[cpu] : input, slot.view, cpu * stride, many ? `${path}[${cpu}]` : path);
    }
  }
}

// Keys via BPF_MAP_GET_NEXT_KEY; each yielded Buffer is the iterator's own.
function* iterateKeys(native: NativeMap, size: number): IterableIterator<Buffer> {
  let cur: Buffer | null = null;
  for (;;) {
    const next = Buffer.alloc(size);
    if (!native.nextKey(cur, next)) return;
    yield next;
    cur = next;
  }
}

/** Byte-level access to a map: keys and values are Buffers of the map's exact sizes. */
export class RawMap {
  readonly #native: NativeMap;

  /** @internal */
  constructor(native: NativeMap) {
    this.#native = native;
  }

  #check(bytes: unknown, name: string, size: number): Uint8Array {
    const b = checkBytes(bytes, name);
    if (b.length !== size) throw argRangeError(name, `${size} bytes`, b);
    return b;
  }

  #valueSize(): number {
    const size = this.#native.valueSize();
    return PER_CPU.has(this.#native.type()) ? Math.ceil(size / 8) * 8 * numPossibleCpus() : size;
  }

  /** The value bytes for `key` (per-CPU maps: every CPU's value, 8-byte aligned), or undefined. */
  get(key: Uint8Array): Buffer | undefined {
    const value = Buffer.alloc(this.#valueSize());
    return this.#native.lookup(this.#check(key, 'key', this.#native.keySize()), value, 0) ? value : undefined;
  }

  has(key: Uint8Array): boolean {
    return this.get(key) !== undefined;
  }

  set(key: Uint8Array, value: Uint8Array, flags?: UpdateFlag | number): this {
    const f = updateFlags(flags);
    this.#native.update(this.#check(key, 'key', this.#native.keySize()), this.#check(value, 'value', this.#valueSize()), f);
    return this;
  }

  delete(key: Uint8Array): boolean {
    return this.#native.delete(this.#check(key, 'key', this.#native.keySize()), 0);
  }

  keys(): IterableIterator<Buffer> {
    return iterateKeys(this.#native, this.#native.keySize());
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
