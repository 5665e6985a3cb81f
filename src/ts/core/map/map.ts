// BpfMap: a BPF map, either of a BpfObject or standalone (create, fromPinned, fromId),
// with keys and values decoded from the map's BTF (u32 -> number, u64 -> bigint,
// char[] -> string, structs -> objects, ...) and the natural API of each map kind.
// Maps without BTF type info use Buffers; `map.raw` gives byte-level access to any map.
import { argRangeError, argTypeError, checkInteger, checkIterable, checkOptions, checkString, checkUint64, describe } from '../../base/args';
import { checkInternal, INTERNAL } from '../../base/internal';
import { addon, type NativeLink, type NativeMap, type NativeSlotOps } from '../../base/native';
import { Btf } from '../../btf/btf';
import { codecFor, rawCodec, type Codec } from '../../btf/codec';
import { BpfError, withDetail } from '../../errors/bpf-error';
import { checkUnpinPath, pinWithHint } from '../../errors/bpffs';
import { CLOSED, MAP_CLOSED } from '../../errors/state';
import type { Link } from '../link';
import { BatchCursor } from './batch';
import { Decoders, fdCodec, lpmCodec, resolveSpec, scalarCodec, TypeSpec, withDecoder } from './key-codecs';
import { FD_KEYED, FD_VALUED, INDEX_KEYED, KEYLESS, mapTypeId, numPossibleCpus, PER_CPU, UNSUPPORTED_BATCH, UpdateFlag, updateFlags } from './kinds';
import { missingTypeHint } from './load-hints';
import { MapMemory } from './memory';
import { RawMap } from './raw';

/**
 * Options of `BpfMap.create(options)`: the kind, the key and value (a type, or a size in
 * bytes), the capacity, and the flags a map is created with.
 */
export interface CreateOptions {
  /** Map type as libbpf names it: 'hash', 'array', 'percpu_hash', 'lru_hash', 'lpm_trie', 'queue', ... */
  type: string;
  /** Key type (sets keySize): 'u32', 'u64', ..., or { btf, type: 'struct key' }. */
  key?: TypeSpec;
  /** Value type (sets valueSize). */
  value?: TypeSpec;
  /** Key size in bytes, when no `key` type is given (default 4 for index-keyed kinds, 0 for queue/stack/bloom_filter). */
  keySize?: number;
  /** Value size in bytes, when no `value` type is given; keys and values are then Buffers. */
  valueSize?: number;
  /** Capacity (for ringbuf: its size in bytes, a power-of-2 multiple of the page size). */
  maxEntries: number;
  /** BPF_F_* flags (see MapFlags). */
  flags?: number;
  /** The map's name in the kernel (up to 15 characters; what `bpftool map` shows). */
  name?: string;
  /** Template inner map for array_of_maps / hash_of_maps. */
  innerMap?: BpfMap;
  /** NUMA node to allocate on (takes effect with MapFlags.NUMA_NODE). */
  numaNode?: number;
  /** map_extra: the number of hash functions of a bloom filter, for one. */
  mapExtra?: number | bigint;
}
const CREATE_OPTIONS = ['type', 'key', 'value', 'keySize', 'valueSize', 'maxEntries', 'flags', 'name', 'innerMap', 'numaNode', 'mapExtra'] as const;

/** What the kernel reports about a live map. */
export interface MapInfo {
  /** The map's kernel id (see `bpftool map`; BpfMap.fromId()). */
  id: number;
  /** The map type as libbpf names it: 'hash', 'array', ... */
  type: string;
  /** The name the kernel keeps (up to 15 characters). */
  name: string;
  /** Key size in bytes. */
  keySize: number;
  /** Value size in bytes (of one CPU's value, for per-CPU maps). */
  valueSize: number;
  /** Capacity. */
  maxEntries: number;
  /** BPF_F_* flags (see MapFlags). */
  flags: number;
  /** Id of the BTF object describing its key and value (0: none). */
  btfId: number;
  /** The key's type id in that BTF (0: none). */
  btfKeyTypeId: number;
  /** The value's type id in that BTF (0: none). */
  btfValueTypeId: number;
  /** map_extra (a bloom filter's number of hash functions). */
  mapExtra: bigint;
  /** The device an offloaded map is bound to (0: not offloaded). */
  ifindex: number;
}

/** Where a map's types come from, and whether it may still be used. */
export interface MapOwner {
  btf(): Btf | undefined;
  /** Throws the fixed TypeError once the map's object is closed. */
  check(): void;
  /** A link made from this map (struct_ops), held like the object's program links. */
  adoptLink?(native: NativeLink): Link;
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

export interface Layout<K> {
  key: Slot<K>;
  value: Slot<unknown>;
  /** Error-message prefixes, built once: `${name} key`, `${name} value`. */
  keyPath: string;
  valuePath: string;
  keySize: number;
  perCpu: number;
  /** Bytes per element in value buffers: valueSize, or all CPUs' 8-aligned values. */
  stride: number;
  valueSize: number;
  /** lookup/update/delete on the two slots, bound to the native map (bindSlots()). */
  ops: NativeSlotOps;
  /** Encode into the key slot / the value slot (codecs bound to them: see bindSlot). */
  encodeKey: (key: unknown) => void;
  encodeValue: (value: unknown) => void;
}

// The codec's encoder for a slot (Codec.bind: bounds checked once, a u64 written inline),
// or encode() each time when it has none, or its size does not fit (encode then throws
// the RangeError, as before).
function bindSlot<T>(codec: Codec<T>, view: DataView, path: string): (value: unknown) => void {
  if (codec.bind && codec.size <= view.byteLength) return codec.bind(view, 0, path);
  return (value) => codec.encode(value as T, view, 0, path);
}

/**
 * A BPF map: one of a {@link BpfObject} (`obj.map(name)`, alive as long as its object) or
 * standalone (`create`, `fromPinned`, `fromId`, closed by its own `close()`). Keys and
 * values are decoded from the map's BTF (u32 -> number, u64 -> bigint, char[] -> string,
 * structs -> objects; per-CPU maps: one value per possible CPU) and each kind has its
 * natural methods (get/set/delete, push/pop, add/has, iteration). Maps without BTF take
 * and return Buffers; `map.raw` gives byte-level access to any map.
 *
 * @example
 * ```ts
 * const counts = obj.map('counts'); // u32 pid -> u64 count
 * counts.set(1234, 0n);
 * for (const [pid, n] of counts) console.log(pid, n);
 * ```
 */
export class BpfMap<K = any, V = any> implements Iterable<[K, V]>, Disposable {
  readonly #native: NativeMap;
  readonly #owner: MapOwner;
  #layout: Layout<K> | undefined;
  #raw: RawMap | undefined;
  #memory: MapMemory<V> | undefined;
  #batch = true; // until the kernel says BPF_MAP_LOOKUP_BATCH is not there for this map
  #lookupThenDelete = false; // when BPF_MAP_LOOKUP_AND_DELETE_ELEM is not there for it
  #decoders: Decoders = {};
  #created: { key?: Codec; value?: Codec } = {}; // create(): the codecs of its key and value specs
  #pinPath: string | undefined; // standalone maps
  #closed = false; // standalone maps: close() ran

  /** @internal Maps come from BpfObject.map(), create(), fromPinned() and fromId(). */
  constructor(token: symbol, native: NativeMap, owner: MapOwner) {
    checkInternal(token, 'BpfMap');
    this.#native = native;
    this.#owner = owner;
  }

  /**
   * A new map, not tied to any object.
   * @example const counts = BpfMap.create({ type: 'hash', key: 'u32', value: 'u64', maxEntries: 1024 });
   */
  static create<K = any, V = any>(options: CreateOptions): BpfMap<K, V> {
    const o = checkOptions<CreateOptions>(options, 'options', CREATE_OPTIONS);
    if (typeof o.type !== 'string') throw argTypeError('options.type', 'a map type name', o.type);
    const key = o.key === undefined ? undefined : resolveSpec(o.key, 'options.key');
    const value = o.value === undefined ? undefined : resolveSpec(o.value, 'options.value');
    const keySize = key ? key.btf.sizeOf(key.id) : o.keySize ?? (KEYLESS.has(o.type) ? 0 : INDEX_KEYED.has(o.type) ? 4 : undefined);
    const valueSize = value ? value.btf.sizeOf(value.id) : o.valueSize;
    if (keySize === undefined) throw argTypeError('options.key', 'a key type or options.keySize', undefined);
    if (valueSize === undefined) throw argTypeError('options.value', 'a value type or options.valueSize', undefined);
    if (o.innerMap !== undefined && !(o.innerMap instanceof BpfMap)) throw argTypeError('options.innerMap', 'a BpfMap', o.innerMap);
    const attributes = {
      type: mapTypeId(o.type),
      name: o.name === undefined ? undefined : checkString(o.name, 'options.name'),
      keySize: checkInteger(keySize, 'options.keySize', 0, 0xffffffff),
      valueSize: checkInteger(valueSize, 'options.valueSize', 0, 0xffffffff),
      maxEntries: checkInteger(o.maxEntries, 'options.maxEntries', 0, 0xffffffff),
      flags: o.flags === undefined ? 0 : checkInteger(o.flags, 'options.flags', 0, 0xffffffff),
      numaNode: o.numaNode === undefined ? undefined : checkInteger(o.numaNode, 'options.numaNode', 0, 0xffff),
      mapExtra: o.mapExtra === undefined ? undefined : checkUint64(o.mapExtra, 'options.mapExtra'),
      innerMap: o.innerMap ? o.innerMap.#native : undefined,
    };
    let native: NativeMap;
    try {
      native = addon.NativeMap.create(attributes);
    } catch (e) {
      const hint = e instanceof BpfError ? missingTypeHint(e, o.type) : undefined;
      throw hint ? withDetail(e as BpfError, `${o.type} map${attributes.name ? ` '${attributes.name}'` : ''}`, hint) : e;
    }
    const map: BpfMap<K, V> = new BpfMap<K, V>(INTERNAL, native, { btf: () => undefined, check: () => map.#checkOpen() });
    map.#created = { key: key ? codecFor(key.btf, key.id) : undefined, value: value ? codecFor(value.btf, value.id) : undefined };
    map.#layout = map.#makeLayout(map.#created.key, map.#created.value);
    return map;
  }

  /**
   * A map pinned on bpffs (by this or another process). Typed from the map's BTF when it
   * carries any; otherwise keys and values are Buffers.
   * @example const shared = BpfMap.fromPinned('/sys/fs/bpf/counts');
   */
  static fromPinned<K = any, V = any>(path: string): BpfMap<K, V> {
    return BpfMap.#standalone(addon.NativeMap.fromPinned(checkString(path, 'path')));
  }

  /** A map by its kernel id (see info().id). */
  static fromId<K = any, V = any>(id: number): BpfMap<K, V> {
    return BpfMap.#standalone(addon.NativeMap.fromId(checkInteger(id, 'id', 1, 0xffffffff)));
  }

  static #standalone<K, V>(native: NativeMap): BpfMap<K, V> {
    let btf: Btf | null | undefined;
    const map: BpfMap<K, V> = new BpfMap<K, V>(INTERNAL, native, {
      check: () => map.#checkOpen(),
      btf: () => {
        if (btf === undefined) {
          const id = native.info().btfId;
          const bytes = id ? addon.NativeMap.btfById(id) : null;
          btf = bytes ? Btf.parse(bytes) : null;
        }
        return btf ?? undefined;
      },
    });
    return map;
  }

  /** The map's name: its C variable's, libbpf's for internal maps (.data, .bss, ...), '' for an unnamed standalone map. */
  get name(): string {
    return this.#native.name();
  }

  /** The map type as libbpf names it: 'hash', 'array', 'percpu_hash', 'ringbuf', ... */
  get type(): string {
    return this.#native.type();
  }

  /** Key size in bytes. Settable before load only. */
  get keySize(): number {
    return this.#native.keySize();
  }

  /** Before load only. */
  set keySize(n: number) {
    this.#native.setKeySize(checkInteger(n, 'keySize', 0, 0xffffffff));
    this.#layout = undefined;
  }

  /** Value size in bytes. Settable before load only (e.g. to size a .bss array at run time). */
  get valueSize(): number {
    return this.#native.valueSize();
  }

  /** Before load only. */
  set valueSize(n: number) {
    this.#native.setValueSize(checkInteger(n, 'valueSize', 0, 0xffffffff));
    this.#layout = undefined;
    this.#memory = undefined;
  }

  /** Capacity. Settable before load only (size maps from user space at run time). */
  get maxEntries(): number {
    return this.#native.maxEntries();
  }

  /** Before load only; at least 1. */
  set maxEntries(n: number) {
    this.#native.setMaxEntries(checkInteger(n, 'maxEntries', 1, 0xffffffff));
  }

  /** BPF_F_* map flags (see MapFlags). Settable before load only. */
  get flags(): number {
    return this.#native.flags();
  }

  /** Before load only. */
  set flags(n: number) {
    this.#native.setFlags(checkInteger(n, 'flags', 0, 0xffffffff));
  }

  /** NUMA node to allocate on. Set before load only. */
  set numaNode(node: number) {
    this.#native.setNumaNode(checkInteger(node, 'numaNode', 0, 0xffff));
  }

  /** map_extra (a bloom filter's number of hash functions). Set before load only. */
  set mapExtra(value: number | bigint) {
    this.#native.setMapExtra(checkUint64(value, 'mapExtra'));
  }

  /** The inner map template of an array_of_maps / hash_of_maps. Set before load only. */
  set innerMap(map: BpfMap) {
    if (!(map instanceof BpfMap)) throw argTypeError('innerMap', 'a BpfMap', map);
    this.#native.setInnerMap(map.#native);
  }

  /**
   * Whether load() creates this map (default true). Settable before load only. Turn it off
   * for a map the running kernel cannot create (a kind newer than the kernel, see
   * probe.mapType()) or that this run does not need; the rest of the object loads without
   * it. Programs that use the map must not be loaded either (their `autoload = false`):
   * the verifier refuses a program whose reachable code references a map that was not
   * created. After load, every operation on a map not created throws the TypeError
   * 'BpfMap is not created (its autocreate was off)'. A standalone map is always created.
   * @example
   * const obj = BpfObject.open('agent.bpf.o');
   * if (!probe.mapType('cgrp_storage').supported) {
   *   obj.map('cgroup_state').autocreate = false;
   *   obj.program('on_cgroup_mkdir').autoload = false;
   * }
   * await obj.load();
   */
  get autocreate(): boolean {
    return this.#native.autocreate();
  }

  /** Before load only; a TypeError for anything but a boolean. */
  set autocreate(on: boolean) {
    if (typeof on !== 'boolean') throw new TypeError(`autocreate: expected a boolean, got ${typeof on}`);
    this.#native.setAutocreate(on);
  }

  /** The map's file descriptor (after load; a map not created has none: TypeError). */
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
    return this.#native.isStandalone() ? this.#pinPath : this.#native.pinPath() ?? undefined;
  }

  /**
   * True once the map was closed, or the object it belongs to was.
   * @example if (!map.closed) console.log(map.get(0));
   */
  get closed(): boolean {
    if (this.#closed) return true;
    try {
      this.#owner.check();
      return false;
    } catch {
      return true;
    }
  }

  /** @internal For RingBuffer: the native map, and the owner its BTF and lifetime come from. */
  internals(token: symbol): { native: NativeMap; owner: MapOwner } {
    checkInternal(token, 'BpfMap.internals');
    return { native: this.#native, owner: this.#owner };
  }

  /**
   * Decode keys and/or values with these functions instead of the BTF-driven codecs
   * (encoding, and so validation, stays BTF-driven). The typed wrappers `node-libbpf gen`
   * writes pass their generated decoders here. For per-CPU maps `value` decodes one
   * CPU's value. Returns this map, retyped.
   * @example const counts = obj.map('counts').useDecoders<number, bigint>({ value: (v, o) => v.getBigUint64(o, true) });
   */
  useDecoders<K2 = K, V2 = V>(decoders: { key?: (view: DataView, offset: number) => K2; value?: (view: DataView, offset: number) => unknown }): BpfMap<K2, V2> {
    const d = checkOptions<{ key?: unknown; value?: unknown }>(decoders, 'decoders', ['key', 'value'] as const);
    for (const k of ['key', 'value'] as const) {
      if (d[k] !== undefined && typeof d[k] !== 'function') throw argTypeError(`decoders.${k}`, 'a function (view, offset) => value', d[k]);
    }
    this.#decoders = { ...this.#decoders, ...(decoders as Decoders) };
    this.#layout = undefined;
    this.#memory = undefined;
    return this as unknown as BpfMap<K2, V2>;
  }

  /** Byte-level access (Buffers in and out), always available. */
  get raw(): RawMap {
    return (this.#raw ??= new RawMap(this.#native, () => this.#slots()));
  }

  /**
   * The value for `key`, or undefined when the key is absent.
   * @example const n = obj.map('counts').get(1234); // u32 key -> u64 value: bigint
   */
  get(key: K): V | undefined {
    const l = this.#slots();
    l.encodeKey(key);
    if (!l.ops.lookup(0)) return undefined;
    return this.#decodeValue(l.value.view, 0);
  }

  /** True when `key` is in the map; for a bloom filter, when `key` (a value) may be in it. */
  has(key: K): boolean {
    const l = this.#slots();
    if (this.#keyless()) this.#encodeValue(key as unknown as V, l.value.view, 0, l.valuePath);
    else l.key.codec.encode(key, l.key.view, 0, l.keyPath);
    return l.ops.lookup(0);
  }

  /**
   * Create or update `key`. For per-CPU maps `value` is one value for every CPU or an
   * array with one value per possible CPU; fd-holding maps take a BpfMap, a Program, a
   * socket or an fd.
   * @example counts.set(1, 2n); counts.set(1, 3n, 'exist');
   */
  set(key: K, value: V, flags?: UpdateFlag | number): this {
    const l = this.#slots();
    const f = flags === undefined ? 0 : updateFlags(flags);
    l.encodeKey(key);
    l.encodeValue(value);
    l.ops.update(f);
    return this;
  }

  /** Remove `key`; false when it was absent. */
  delete(key: K): boolean {
    const l = this.#slots();
    l.encodeKey(key);
    return l.ops.delete(0);
  }

  /** Remove `key` and return its value (undefined when absent). */
  getAndDelete(key: K): V | undefined {
    const l = this.#slots();
    l.key.codec.encode(key, l.key.view, 0, l.keyPath);
    return l.ops.lookupAndDelete(0) ? this.#decodeValue(l.value.view, 0) : undefined;
  }

  /** Queue/stack: add a value ('exist' replaces the oldest when full). */
  push(value: V, flags?: 'any' | 'exist'): this {
    const l = this.#slots();
    this.#requireKind('push', ['queue', 'stack']);
    const f = updateFlags(flags);
    this.#encodeValue(value, l.value.view, 0, l.valuePath);
    l.ops.update(f);
    return this;
  }

  /** Queue/stack: remove and return the next value, or undefined when empty. */
  pop(): V | undefined {
    const l = this.#slots();
    this.#requireKind('pop', ['queue', 'stack']);
    return l.ops.lookupAndDelete(0) ? this.#decodeValue(l.value.view, 0) : undefined;
  }

  /** Queue/stack: the next value without removing it, or undefined when empty. */
  peek(): V | undefined {
    const l = this.#slots();
    this.#requireKind('peek', ['queue', 'stack']);
    return l.ops.lookup(0) ? this.#decodeValue(l.value.view, 0) : undefined;
  }

  /** Bloom filter: add a value (then has(value) is true). */
  add(value: V): this {
    const l = this.#slots();
    this.#requireKind('add', ['bloom_filter']);
    this.#encodeValue(value, l.value.view, 0, l.valuePath);
    l.ops.update(0);
    return this;
  }

  /** Every key, decoded (batched under the hood). */
  *keys(): IterableIterator<K> {
    for (const [key] of this.#scan(false, false)) yield key;
  }

  /** Every value, decoded. */
  *values(): IterableIterator<V> {
    for (const [, value] of this.#scan(false, true)) yield value;
  }

  /**
   * Every [key, value] pair, decoded lazily, read with BPF_MAP_LOOKUP_BATCH in chunks
   * where the kernel supports it (BPF_MAP_GET_NEXT_KEY otherwise).
   */
  entries(): IterableIterator<[K, V]> {
    return this.#scan(false, true);
  }

  /**
   * `for (const [key, value] of map)`: entries().
   * @example
   * for (const [pid, count] of obj.map('counts')) console.log(pid, count);
   */
  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  /**
   * Read and remove every entry in one pass (lookup-and-delete in batches): periodic
   * export of counters. Entries added meanwhile stay for the next drain.
   * @example for (const [pid, count] of counts.drain()) report(pid, count);
   */
  drain(): Array<[K, V]> {
    return [...this.#scan(true, true)];
  }

  /** Set many entries (BPF_MAP_UPDATE_BATCH where supported). Returns how many were set. */
  setMany(entries: Iterable<[K, V]>, flags?: UpdateFlag | number): number {
    const f = updateFlags(flags);
    const list = checkIterable<[K, V]>(entries, 'entries');
    list.forEach((entry, i) => {
      if (!Array.isArray(entry) || entry.length !== 2) throw argTypeError(`entries[${i}]`, 'a [key, value] pair', entry);
    });
    if (list.length === 0) return 0;
    const { keySize, stride } = this.#slots();
    const keys = Buffer.alloc(Math.max(keySize, 1) * list.length);
    const values = Buffer.alloc(stride * list.length);
    const kv = new DataView(keys.buffer, keys.byteOffset, keys.length);
    const vv = new DataView(values.buffer, values.byteOffset, values.length);
    const { keyPath, valuePath } = this.#layout!;
    list.forEach(([key, value], i) => {
      this.#layout!.key.codec.encode(key, kv, i * keySize, `${keyPath}[${i}]`);
      this.#encodeValue(value, vv, i * stride, `${valuePath}[${i}]`);
    });
    if (this.#batch) {
      try {
        return this.#native.updateBatch(keys, values, list.length, f);
      } catch (e) {
        if (!this.#batchUnsupported(e)) throw e;
      }
    }
    list.forEach((_, i) => this.#native.update(keys.subarray(i * keySize, (i + 1) * keySize), values.subarray(i * stride, (i + 1) * stride), f));
    return list.length;
  }

  /** Delete many keys (BPF_MAP_DELETE_BATCH where supported). Returns how many were deleted. */
  deleteMany(keys: Iterable<K>): number {
    const list = checkIterable<K>(keys, 'keys');
    if (list.length === 0) return 0;
    const { keySize } = this.#slots();
    const bytes = Buffer.alloc(keySize * list.length);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    list.forEach((key, i) => this.#layout!.key.codec.encode(key, view, i * keySize, `${this.#layout!.keyPath}[${i}]`));
    let n = 0;
    let from = 0;
    // The kernel's batch delete stops at the first absent key: skip it, go on batching.
    while (this.#batch && from < list.length) {
      try {
        const done = this.#native.deleteBatch(bytes.subarray(from * keySize), list.length - from, 0);
        n += done;
        from += done + 1;
      } catch (e) {
        if (!this.#batchUnsupported(e)) throw e;
      }
    }
    if (this.#batch) return n;
    for (let i = from; i < list.length; i++) if (this.#native.delete(bytes.subarray(i * keySize, (i + 1) * keySize), 0)) n++;
    return n;
  }

  /** Remove every entry (arrays: reset every element to zero). Returns how many entries there were. */
  clear(): number {
    if (INDEX_KEYED.has(this.type) && !FD_VALUED.has(this.type)) {
      const { value } = this.#slots();
      const zero = this.perCpu ? Array(this.#layout!.perCpu).fill(value.codec.zero()) : value.codec.zero();
      return this.setMany([...this.keys()].map((k) => [k, zero as V]));
    }
    return this.deleteMany([...this.keys()]);
  }

  /** Make the map read-only for user space (programs may still write it, unless they also can't). */
  freeze(): void {
    this.#native.freeze();
  }

  /**
   * Register a loaded struct_ops map (`SEC(".struct_ops")` / `SEC(".struct_ops.link")`)
   * with the kernel subsystem its type names: a TCP congestion control, a sched_ext
   * scheduler, ... The returned Link unregisters it on destroy(); the object holds it
   * like its program links. Kernels that refuse struct_ops programs refuse the load.
   * @example
   * const link = obj.map('my_cc').attachStructOps(); // tcp_congestion_ops 'my_cc' is available
   */
  attachStructOps(): Link {
    if (this.type !== 'struct_ops') throw new TypeError(`attachStructOps: expected a struct_ops map, got ${describe(this.name)} (a ${this.type} map)`);
    const adopt = this.#owner.adoptLink;
    if (!adopt) throw new TypeError('attachStructOps() needs a struct_ops map of a BpfObject');
    return adopt(this.#native.attachStructOps());
  }

  /** What the kernel reports about the live map: id, flags, BTF ids, sizes. */
  info(): MapInfo {
    return this.#native.info();
  }

  /**
   * Live memory of an mmap()able map (a BPF_F_MMAPABLE array, .data, .bss, .rodata):
   * element reads and writes without syscalls. Valid while the map (or its object) is open.
   */
  get memory(): MapMemory<V> {
    if (this.#memory?.valid) return this.#memory;
    const buffer = this.#native.memory();
    if (!buffer) throw new TypeError(`map ${this.name}: not mmap()able (an array created with MapFlags.MMAPABLE, or .data/.bss/.rodata)`);
    const { value } = this.#slots();
    const stride = this.internal ? this.valueSize : Math.ceil(this.valueSize / 8) * 8;
    const closed = this.#native.isStandalone() ? MAP_CLOSED : CLOSED;
    const readOnly = this.#native.memoryReadOnly();
    return (this.#memory = new MapMemory<V>(INTERNAL, buffer, value.codec as Codec<V>, stride, this.internal ? 1 : this.maxEntries, `${this.#label()} memory`, closed, readOnly));
  }

  /** Pin the map on bpffs so other processes (and BpfMap.fromPinned) can open it. */
  pin(path: string): void {
    pinWithHint(checkString(path, 'path'), (p) => this.#native.pin(p));
    if (this.#native.isStandalone()) this.#pinPath = path;
  }

  /**
   * Remove the pin (at `path`, or where pin() or the object's pinRoot put it). A path whose
   * directory is not on bpffs is refused (BpfError EINVAL) and nothing is unlinked.
   */
  unpin(path?: string): void {
    const target = path === undefined ? this.#pinPath : checkString(path, 'path');
    if (this.#native.isStandalone() && target === undefined) throw argTypeError('path', 'the path to unpin', path);
    if (target !== undefined) checkUnpinPath(target, this.#native.isStandalone() ? 'unlink' : 'bpf_map__unpin');
    this.#native.unpin(target);
    if (target === this.#pinPath) this.#pinPath = undefined;
  }

  /** Close a standalone map (idempotent). A map of a BpfObject closes with its object. */
  close(): void {
    this.#native.close();
    this.#closed = true;
  }

  // A standalone map's liveness without a native call (iteration checks it per element).
  #checkOpen(): void {
    if (this.#closed) throw new TypeError(MAP_CLOSED);
  }

  /** close(), for `using map = BpfMap.create(...)`. */
  [Symbol.dispose](): void {
    this.close();
  }

  // The map's name for messages (standalone maps may have none).
  #label(): string {
    return this.name || `(${this.type} map)`;
  }

  #keyless(): boolean {
    return KEYLESS.has(this.type);
  }

  #requireKind(method: string, kinds: string[]): void {
    if (!kinds.includes(this.type)) throw new TypeError(`${method}() is for ${kinds.join('/')} maps; ${this.name} is a ${this.type} map`);
  }

  // Codecs come from BTF on first use: sizes may change until load.
  #slots(): Layout<K> {
    return (this.#layout ??= this.#makeLayout(this.#created.key, this.#created.value));
  }

  #makeLayout(keyCodec?: Codec, valueCodec?: Codec): Layout<K> {
    const btf = this.#owner.btf();
    const type = this.type;
    const keyId = this.#native.btfKeyTypeId(), valueId = this.#native.btfValueTypeId();
    const keySize = this.#native.keySize(), valueSize = this.#native.valueSize();
    keyCodec ??=
      btf && keyId ? codecFor(btf, keyId)
      : (INDEX_KEYED.has(type) || FD_KEYED.has(type)) && keySize === 4 ? scalarCodec('u32')
      : type === 'lpm_trie' && keySize > 4 ? lpmCodec(keySize)
      : rawCodec(keySize);
    const fdValued = FD_VALUED.has(type) && (valueSize === 4 || (valueSize === 8 && type.startsWith('sock')));
    valueCodec ??= fdValued ? fdCodec(valueSize as 4 | 8) : btf && valueId ? codecFor(btf, valueId) : rawCodec(valueSize);
    keyCodec = withDecoder(keyCodec, this.#decoders.key);
    valueCodec = withDecoder(valueCodec, this.#decoders.value);
    const perCpu = PER_CPU.has(type) ? numPossibleCpus() : 0;
    const stride = perCpu ? Math.ceil(valueSize / 8) * 8 * perCpu : valueSize;
    const name = this.#label();
    const keySlot = new Slot(keyCodec as Codec<K>, Math.max(keySize, 1));
    const valueSlot = new Slot(valueCodec, Math.max(stride, 1));
    const keyPath = `${name} key`, valuePath = `${name} value`;
    const layout: Layout<K> = {
      key: keySlot,
      value: valueSlot,
      keyPath,
      valuePath,
      keySize,
      perCpu,
      stride,
      valueSize,
      ops: this.#native.bindSlots(keySize ? keySlot.bytes : null, valueSlot.bytes),
      encodeKey: bindSlot(keySlot.codec, keySlot.view, keyPath),
      encodeValue: perCpu ? (value) => this.#encodeValue(value as V, valueSlot.view, 0, valuePath) : bindSlot(valueSlot.codec, valueSlot.view, valuePath),
    };
    return layout;
  }

  #decodeValue(view: DataView, offset: number): V {
    const { value, perCpu } = this.#layout!;
    if (!perCpu) return value.codec.decode(view, offset) as V;
    const step = this.#layout!.stride / perCpu;
    const out = new Array(perCpu);
    for (let cpu = 0; cpu < perCpu; cpu++) out[cpu] = value.codec.decode(view, offset + cpu * step);
    return out as V;
  }

  #encodeValue(input: V, view: DataView, offset: number, path: string): void {
    const { value, perCpu, stride } = this.#layout!;
    if (!perCpu) {
      value.codec.encode(input, view, offset, path);
      return;
    }
    const many = Array.isArray(input);
    if (many && input.length !== perCpu) throw argRangeError(path, `one value, or an array of ${perCpu} (one per possible CPU)`, input);
    new Uint8Array(view.buffer, view.byteOffset + offset, stride).fill(0);
    const step = stride / perCpu;
    for (let cpu = 0; cpu < perCpu; cpu++) {
      value.codec.encode(many ? input[cpu] : input, view, offset + cpu * step, many ? `${path}[${cpu}]` : path);
    }
  }

  #batchUnsupported(e: unknown): boolean {
    if (e instanceof Error && UNSUPPORTED_BATCH.has((e as { code?: string }).code ?? '')) {
      this.#batch = false;
      return true;
    }
    return false;
  }

  // Entries in chunks: batch lookup (optionally deleting) or get_next_key + lookup.
  *#scan(andDelete: boolean, withValues: boolean): IterableIterator<[K, V]> {
    const layout = this.#slots();
    if (this.#keyless()) throw new TypeError(`${this.#label()} is a ${this.type} map: use ${this.type === 'bloom_filter' ? 'has()' : 'pop() or peek()'}`);
    const batch = this.#batch ? new BatchCursor(this.#native, layout, andDelete, this.maxEntries) : undefined;
    if (batch && this.#step(batch)) {
      const { keySize, stride, key } = layout;
      const owner = this.#owner;
      do {
        const { keys, values, count } = batch;
        for (let i = 0; i < count; i++) {
          owner.check(); // an iterator outliving close() throws, even mid-chunk
          yield [key.codec.decode(keys, i * keySize), this.#decodeValue(values, i * stride)];
        }
      } while (!batch.done && this.#step(batch));
      return;
    }
    yield* this.#scanByKey(layout, andDelete, withValues);
  }

  // One batch call; false when the kernel has no batch operations for this map.
  #step(cursor: BatchCursor<K>): boolean {
    try {
      cursor.next();
      return true;
    } catch (e) {
      if (cursor.started || !this.#batchUnsupported(e)) throw e;
      return false;
    }
  }

  // BPF_MAP_LOOKUP_AND_DELETE_ELEM exists for hash maps, queues and stacks only; other
  // maps are read, then deleted.
  #lookupAndDelete(key: Buffer, value: Buffer): boolean {
    if (this.#lookupThenDelete) return this.#native.lookup(key, value, 0) && this.#native.delete(key, 0);
    try {
      return this.#native.lookupAndDelete(key, value, 0);
    } catch (e) {
      if (!UNSUPPORTED_BATCH.has((e as { code?: string }).code ?? '')) throw e;
      this.#lookupThenDelete = true;
      return this.#lookupAndDelete(key, value);
    }
  }

  *#scanByKey(layout: Layout<K>, andDelete: boolean, withValues: boolean): IterableIterator<[K, V]> {
    const { keySize, stride, key } = layout;
    const value = Buffer.alloc(stride);
    const vv = new DataView(value.buffer, value.byteOffset, value.length);
    let cur: Buffer | null = null;
    for (;;) {
      const next = Buffer.alloc(Math.max(keySize, 1));
      if (!this.#native.nextKey(andDelete ? null : cur, next)) return;
      const kv = new DataView(next.buffer, next.byteOffset, next.length);
      if (andDelete) {
        if (this.#lookupAndDelete(next, value)) yield [key.codec.decode(kv, 0), this.#decodeValue(vv, 0)];
        continue;
      }
      cur = next;
      if (!withValues) {
        yield [key.codec.decode(kv, 0), undefined as V];
      } else if (this.#native.lookup(next, value, 0)) {
        yield [key.codec.decode(kv, 0), this.#decodeValue(vv, 0)];
      }
    }
  }
}
