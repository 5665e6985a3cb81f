// RingBuffer: records of BPF_MAP_TYPE_RINGBUF maps, delivered on the event loop.
// The addon mmap()s each ring and watches it with a uv_poll_t (no thread while idle);
// a wake-up is one call into JS, and JS walks the ring's memory itself: records are
// read in place, at most maxBatch per wake-up, and the consumer position is written
// back once per batch. Where external ArrayBuffers are refused (a V8 sandbox), the
// addon copies batches of records into a JS buffer instead, walked the same way.
import { EventEmitter } from 'node:events';
import { argRangeError, argTypeError, checkInteger, checkOptions, describe } from './args';
import type { Btf, BtfKind, BtfType } from './btf';
import { codecFor, type Codec } from './codec';
import { INTERNAL } from './internal';
import { BpfMap } from './map';
import { addon, type NativeRingBuffer } from './native';

const RING_CLOSED = 'RingBuffer is closed';

/** A record as it sits in the ring: valid during the callback only (one object, reused). */
export interface RawEvent {
  /** Over the ring's memory (read-only: writing to it kills the process) or a copy of it. */
  readonly view: DataView;
  readonly offset: number;
  readonly length: number;
  /** The record's bytes, copied: keep this beyond the callback. */
  copy(): Buffer;
}

/** A record decoded on access (options.lazy): valid during the callback only. */
export interface LazyEvent {
  /** Every field, decoded into a plain object. */
  materialize(): Record<string, unknown>;
  toJSON(): Record<string, unknown>;
}

export interface RingBufferOptions {
  /** The records' BTF type: 'struct exec_event', 'exec_event' or a typedef name. Default: the map's value type if it has one, else raw. */
  type?: string;
  /** Deliver RawEvents (view, offset, length) instead of decoded values. */
  raw?: boolean;
  /** Decode fields on access, from a reused object valid during the callback only. */
  lazy?: boolean;
  /** Records delivered per wake-up at most (default 4096); the rest comes on the next loop turn. */
  maxBatch?: number;
  /** Copy records out of the ring instead of reading them in place (what a V8 sandbox forces). */
  copy?: boolean;
  /** Closes the RingBuffer when aborted; a `for await` over it rejects with signal.reason. */
  signal?: AbortSignal;
}

export interface RingBufferIterateOptions extends Omit<RingBufferOptions, 'lazy'> {
  /** Events queued for the iterator at most (default 1024); the ring is not read while the queue is full. */
  highWaterMark?: number;
}

export interface RingBufferStats {
  /** Records delivered (to the callback, or to the iterator's queue). */
  delivered: number;
  /** Reservations the BPF side failed, from `<ring>_drops` (NLB_RINGBUF_DROPS in <node_libbpf/ringbuf.h>); undefined without it. */
  dropped: number | undefined;
  /** Bytes written by the producer and not consumed yet (headers included). */
  availableBytes: number;
  /** Ring size in bytes. */
  size: number;
  /** Events waiting in the iterator's queue. */
  queued: number;
}

const RING_OPTIONS = ['type', 'raw', 'lazy', 'maxBatch', 'copy'] as const;
const CALLBACK_OPTIONS = [...RING_OPTIONS, 'signal'] as const;
const ADD_ITERATED_OPTIONS = ['type', 'raw', 'maxBatch', 'copy'] as const;
const ITERATE_OPTIONS = [...ADD_ITERATED_OPTIONS, 'signal', 'highWaterMark'] as const;
const DEFAULT_MAX_BATCH = 4096;
const DEFAULT_HIGH_WATER_MARK = 1024;

// Record header: u32 length with the busy (bit 31) and discard (bit 30) flags, u32 page
// offset. Records are 8-byte aligned; positions are u64 byte counters. A const enum:
// the hot loop gets literals, not loads.
const enum Rec {
  DISCARD = 0x40000000,
  LENGTH = 0x3fffffff,
  HEADER = 8,
}
const TWO32 = 4294967296;
const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LE ? 0 : 1;
const HI = LE ? 1 : 0;
// x86 never reorders loads with loads or stores with older loads: plain typed-array
// accesses are enough. Elsewhere, acquire loads of headers and producer, release store.
const ORDERED = process.arch === 'x64' || process.arch === 'ia32';
const COPY_BATCH = 1 << 18;
// Rings read in place at most this big: every offset in the double mapping (2 * size)
// stays a small integer, which V8 keeps in registers; bigger rings are copied.
const IN_PLACE_MAX = 1 << 30;
const NO_LIMIT = 0x7fffffff;

// A delivery gets the ring's one cursor record, pointed at the current record: a raw
// callback is the delivery itself (no call in between), decoders read view and offset.
type Deliver = (record: RawRecord) => void;

class RawRecord implements RawEvent {
  offset = 0;
  length = 0;
  constructor(public view: DataView) {}

  copy(): Buffer {
    return Buffer.from(new Uint8Array(this.view.buffer, this.view.byteOffset + this.offset, this.length));
  }
}

// A batch of records the addon copied out of the ring (copying mode).
class Batch {
  bytes: Uint8Array;
  view: DataView;
  headers: Int32Array;
  pos = 0;
  end = 0;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
    this.headers = new Int32Array(this.bytes.buffer);
  }
}

// One ring: its native handle, where JS is in it, and how its records are delivered.
class Ring {
  deliver: Deliver = () => undefined;
  readonly record: RawRecord;
  delivered = 0;
  closed = false;
  // What a delivery threw, in the last walk.
  failed = false;
  error: unknown = undefined;
  // Reading in place:
  view: DataView | undefined;
  headers: Int32Array | undefined;
  producer: Uint32Array | undefined;
  consumer: Uint32Array | undefined;
  consumer64: BigUint64Array | undefined;
  cons = 0; // consumer position (exact below 2^53)
  consHi = 0;
  offset = 0; // cons % size: the walk stays on small integers
  // Copying:
  batch: Batch | undefined;

  constructor(
    readonly native: NativeRingBuffer,
    readonly map: BpfMap,
    readonly size: number,
    readonly maxBatch: number,
    copy: boolean,
  ) {
    const memory = copy || size > IN_PLACE_MAX ? null : native.memory();
    if (!memory) {
      this.batch = new Batch(Math.min(size, COPY_BATCH));
      this.record = new RawRecord(this.batch.view);
      return;
    }
    this.view = new DataView(memory.data);
    this.headers = new Int32Array(memory.data);
    this.producer = new Uint32Array(memory.producer, 0, 2);
    this.consumer = new Uint32Array(memory.consumer, 0, 2);
    this.consumer64 = new BigUint64Array(memory.consumer, 0, 1);
    this.consHi = this.consumer[HI];
    this.cons = this.consHi * TWO32 + this.consumer[LO];
    this.offset = this.cons % size | 0;
    this.record = new RawRecord(this.view);
  }

  takeError(): unknown {
    const e = this.error;
    this.failed = false;
    this.error = undefined;
    return e;
  }
}

function load(a: Uint32Array, i: number): number {
  return ORDERED ? a[i] : Atomics.load(a, i);
}

// Two 32-bit reads: hi, lo, hi again, so a carry between them is never half-seen.
function producerPosition(p: Uint32Array): number {
  let hi = load(p, HI);
  for (;;) {
    const lo = load(p, LO);
    const again = load(p, HI);
    if (again === hi) return hi * TWO32 + lo;
    hi = again;
  }
}

// Hands `bytes` back to the producer. A 32-bit store while the high word stays (a
// single aligned store is atomic); a 64-bit one (one BigInt) every 4 GiB.
function release(ring: Ring, bytes: number): void {
  const cons = ring.cons + bytes;
  const hi = Math.floor(cons / TWO32);
  ring.cons = cons;
  ring.offset = (ring.offset + bytes) % ring.size | 0;
  if (hi !== ring.consHi) {
    ring.consHi = hi;
    Atomics.store(ring.consumer64!, 0, BigInt(cons));
  } else if (ORDERED) {
    ring.consumer![LO] = cons - hi * TWO32;
  } else {
    Atomics.store(ring.consumer!, LO, cons - hi * TWO32);
  }
}

// Records the last walk delivered. A module variable, not a property: V8 compiles the
// loop while it runs (OSR), before the code after it ever ran, and a property store
// there would deoptimize on every call.
let walked = 0;

// The hot loop: records from byte `start` up to `end` of `view`, at most `max` delivered.
// Returns where it stopped: at `end`, at a record still being written (busy: the length
// reads negative), after `max` records, after the record whose delivery threw, or after
// the one whose callback closed the ring.
function walkOrdered(ring: Ring, view: DataView, headers: Int32Array, start: number, end: number, max: number): number {
  const deliver = ring.deliver;
  const record = ring.record;
  if (record.view !== view) record.view = view; // a copying ring's new batch
  let p = start;
  let n = 0;
  while (p < end && n < max) {
    const len = headers[p >>> 2];
    // Busy (bit 31: negative), or undefined once close() in a callback detached the
    // memory: that read is the only check per record for a close (see close()).
    if (!(len >= 0)) break;
    const next = p + (((len & Rec.LENGTH) + Rec.HEADER + 7) & ~7);
    if ((len & Rec.DISCARD) === 0) {
      n++;
      try {
        record.offset = p + Rec.HEADER;
        record.length = len & Rec.LENGTH;
        deliver(record);
      } catch (e) {
        ring.failed = true;
        ring.error = e;
        p = next;
        break;
      }
    }
    p = next;
  }
  walked = n;
  return p;
}

// The same with an acquire load of each header, so the record's bytes are read after it.
// A copy rather than a branch: the branch alone costs a quarter of the loop on x86.
function walkAcquire(ring: Ring, view: DataView, headers: Int32Array, start: number, end: number, max: number): number {
  const deliver = ring.deliver;
  const record = ring.record;
  if (record.view !== view) record.view = view; // a copying ring's new batch
  let p = start;
  let n = 0;
  while (p < end && n < max) {
    if (p >= headers.byteLength) break; // detached by close() (Atomics.load would throw)
    const len = Atomics.load(headers, p >>> 2);
    if (len < 0) break;
    const next = p + (((len & Rec.LENGTH) + Rec.HEADER + 7) & ~7);
    if ((len & Rec.DISCARD) === 0) {
      n++;
      try {
        record.offset = p + Rec.HEADER;
        record.length = len & Rec.LENGTH;
        deliver(record);
      } catch (e) {
        ring.failed = true;
        ring.error = e;
        p = next;
        break;
      }
    }
    p = next;
  }
  walked = n;
  return p;
}

const walk = ORDERED ? walkOrdered : walkAcquire;

// In place: up to the producer position read once, released a quarter ring at a time
// so a long batch frees space for the producer as it goes.
function drainInPlace(ring: Ring, max: number): number {
  let left = producerPosition(ring.producer!) - ring.cons;
  const chunk = ring.size >>> 2;
  let total = 0;
  while (left > 0 && total < max && !ring.closed) {
    const start = ring.offset;
    const p = walk(ring, ring.view!, ring.headers!, start, (start + Math.min(left, chunk)) | 0, max - total);
    total += walked;
    if (p === start || ring.closed) break;
    release(ring, p - start);
    left -= p - start;
    if (ring.failed) break;
  }
  return total;
}

// Copying: a batch of at most `max` records, then walked like the ring itself. `all`:
// batches until the ring is empty (or a ring's worth was read, against a fast producer).
function drainCopied(ring: Ring, max: number, all: boolean): number {
  const batch = ring.batch!;
  let total = 0;
  let read = 0;
  while (total < max && !ring.closed) {
    if (batch.pos >= batch.end) {
      if (read >= ring.size) break;
      const bytes = ring.native.read(batch.bytes, max - total);
      if (bytes < 0) {
        ring.batch = new Batch(-bytes);
        return total + drainCopied(ring, max - total, all);
      }
      batch.pos = 0;
      batch.end = bytes;
      read += bytes;
      if (bytes === 0) break;
    }
    batch.pos = walk(ring, batch.view, batch.headers, batch.pos, batch.end, max - total);
    total += walked;
    if (ring.failed || !all) break;
  }
  return total;
}

function drain(ring: Ring, max: number, all: boolean): number {
  const n = ring.batch ? drainCopied(ring, max, all) : drainInPlace(ring, max);
  ring.delivered += n;
  return n;
}

const KINDS: BtfKind[] = ['struct', 'union', 'typedef', 'enum', 'enum64', 'int', 'float'];

// 'struct x', 'union x', 'enum x', or a bare name: a struct first, then a typedef, ...
function findType(btf: Btf, name: string): BtfType | undefined {
  const m = /^(struct|union|enum) (.+)$/.exec(name);
  if (m) return btf.find(m[2], m[1] as BtfKind) ?? (m[1] === 'enum' ? btf.find(m[2], 'enum64') : undefined);
  for (const kind of KINDS) {
    const t = btf.find(name, kind);
    if (t) return t;
  }
  return undefined;
}

const VIEW = Symbol('view');
const OFFSET = Symbol('offset');

interface Accessor extends LazyEvent {
  [VIEW]: DataView;
  [OFFSET]: number;
}

interface LazyField {
  key: string;
  offset: number;
  decode: (view: DataView, offset: number) => unknown;
}

// Named members with their byte offsets, anonymous structs/unions flattened. Members
// without a codec of their own (bitfields, zero-size arrays) read the whole record.
function lazyFields(btf: Btf, t: BtfType, bitBase: number, whole: Codec, out: LazyField[]): LazyField[] {
  for (const m of t.members ?? []) {
    const bits = bitBase + m.bitOffset;
    const rt = btf.resolve(m.type);
    if (!m.name) {
      if (rt.kind === 'struct' || rt.kind === 'union') lazyFields(btf, rt, bits, whole, out);
      continue;
    }
    const bitfield = m.bitSize > 0 || bits % 8 !== 0 || (rt.kind === 'int' && ((rt.bits as number) < (rt.size as number) * 8 || !!rt.bitOffset));
    let codec: Codec | undefined;
    try {
      codec = bitfield ? undefined : codecFor(btf, m.type);
    } catch {
      codec = undefined;
    }
    const key = m.name;
    out.push(
      codec
        ? { key, offset: bits / 8, decode: codec.decode }
        : { key, offset: 0, decode: (view, offset) => (whole.decode(view, offset) as Record<string, unknown>)[key] },
    );
  }
  return out;
}

const lazyClasses = new WeakMap<Btf, Map<number, new () => Accessor>>();

// One class per record type, with a getter per field decoding it where the record is.
function lazyClass(btf: Btf, id: number, codec: Codec): new () => Accessor {
  let byId = lazyClasses.get(btf);
  if (!byId) lazyClasses.set(btf, (byId = new Map()));
  const hit = byId.get(id);
  if (hit) return hit;
  const t = btf.resolve(id);
  if (t.kind !== 'struct' && t.kind !== 'union') throw argTypeError('options.lazy', 'a struct or union record type', btf.typeName(id));
  const decodeAll = codec.decode;
  class Lazy implements Accessor {
    [VIEW] = new DataView(new ArrayBuffer(0));
    [OFFSET] = 0;
    materialize(): Record<string, unknown> {
      return decodeAll(this[VIEW], this[OFFSET]) as Record<string, unknown>;
    }
    toJSON(): Record<string, unknown> {
      return this.materialize();
    }
  }
  for (const { key, offset, decode } of lazyFields(btf, t, 0, codec, [])) {
    Object.defineProperty(Lazy.prototype, key, {
      get(this: Accessor) {
        return decode(this[VIEW], this[OFFSET] + offset);
      },
      enumerable: true,
      configurable: true,
    });
  }
  byId.set(id, Lazy);
  return Lazy;
}

function tooShort(ring: Ring, codec: Codec, length: number): RangeError {
  return new RangeError(`ring ${ring.map.name}: a record of ${length} bytes is smaller than ${codec.typeName} (${codec.size} bytes)`);
}

function isAbortSignal(value: unknown): value is AbortSignal {
  return !!value && typeof value === 'object' && typeof (value as AbortSignal).aborted === 'boolean' && typeof (value as AbortSignal).addEventListener === 'function';
}

function checkBoolean(value: unknown, name: string): boolean {
  if (value !== undefined && typeof value !== 'boolean') throw argTypeError(name, 'a boolean', value);
  return value === true;
}

interface Waiter<T> {
  resolve(result: IteratorResult<T>): void;
  reject(error: unknown): void;
}

/**
 * Events from ring buffer maps (BPF_MAP_TYPE_RINGBUF), read on the event loop: to a
 * callback, or with `for await`. Records are decoded from BTF (`type`), lazily (`lazy`)
 * or handed over raw (`raw`). An open RingBuffer keeps the process alive (see unref())
 * until close(). Errors a callback throws are emitted as 'error' (the record counts as
 * consumed); without an 'error' listener they are uncaught exceptions.
 * @example
 * const rb = new RingBuffer(obj.map('events'), (e) => console.log(e.pid, e.comm), { type: 'struct event' });
 * // or:
 * for await (const e of new RingBuffer(obj.map('events'), { type: 'event', signal })) console.log(e);
 */
export class RingBuffer<T = any> extends EventEmitter implements AsyncIterable<T>, Disposable {
  readonly #rings: Ring[] = [];
  readonly #releases: (() => void)[] = []; // from the objects whose maps these rings read
  readonly #iterate: boolean;
  #closed = false;
  #refed = true;
  #draining = false;
  // Iteration: a bounded queue; the rings are not polled while it is full.
  readonly #highWaterMark: number;
  #queue: (T | undefined)[] = [];
  #head = 0;
  #waiters: Waiter<T>[] = [];
  #paused = false;
  #iterating = false;
  #failure: { error: unknown } | undefined;
  #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => this.#abort(this.#signal!.reason);

  constructor(map: BpfMap, callback: (event: T) => void, options?: RingBufferOptions);
  constructor(map: BpfMap, options?: RingBufferIterateOptions);
  constructor(map: BpfMap, callbackOrOptions?: ((event: T) => void) | RingBufferIterateOptions, options?: RingBufferOptions) {
    super();
    const callback = typeof callbackOrOptions === 'function' ? callbackOrOptions : undefined;
    if (!callback && options !== undefined) throw argTypeError('callback', 'a function', callbackOrOptions);
    const raw = callback ? options : callbackOrOptions;
    const o = checkOptions<RingBufferIterateOptions & RingBufferOptions>(raw, 'options', callback ? CALLBACK_OPTIONS : ITERATE_OPTIONS);
    this.#iterate = !callback;
    this.#highWaterMark = o.highWaterMark === undefined ? DEFAULT_HIGH_WATER_MARK : checkInteger(o.highWaterMark, 'options.highWaterMark', 1, 0x7fffffff);
    if (o.signal !== undefined && !isAbortSignal(o.signal)) throw argTypeError('options.signal', 'an AbortSignal', o.signal);
    this.#add(map, callback, o);
    if (o.signal) {
      this.#signal = o.signal;
      if (o.signal.aborted) this.#abort(o.signal.reason);
      else o.signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  /**
   * Read another ring too, with its own callback and decoding (or, for an iterated
   * RingBuffer, into the same queue: add(map, options)).
   * @example rb.add(obj.map('errors'), (e) => report(e), { type: 'struct error_event' });
   */
  add(map: BpfMap, callback: (event: any) => void, options?: RingBufferOptions): this;
  add(map: BpfMap, options?: Omit<RingBufferIterateOptions, 'highWaterMark' | 'signal'>): this;
  add(map: BpfMap, callbackOrOptions?: ((event: any) => void) | RingBufferOptions, options?: RingBufferOptions): this {
    this.#check();
    const callback = typeof callbackOrOptions === 'function' ? callbackOrOptions : undefined;
    if (this.#iterate && callback) throw new TypeError('add(): this RingBuffer is iterated, so it takes add(map, options) without a callback');
    if (!this.#iterate && !callback) throw argTypeError('callback', 'a function', callbackOrOptions);
    const o = checkOptions<RingBufferOptions>(callback ? options : callbackOrOptions, 'options', callback ? RING_OPTIONS : ADD_ITERATED_OPTIONS);
    this.#add(map, callback, o);
    return this;
  }

  /** Deliver what the rings hold now, synchronously, without waiting for a wake-up. Returns the number of records. */
  consume(): number {
    this.#check();
    if (this.#draining) throw new TypeError('consume() cannot be called from a RingBuffer callback');
    let n = 0;
    for (const ring of this.#rings) {
      n += this.#drain(ring, this.#iterate ? this.#room() : NO_LIMIT, true);
      if (ring.failed) throw ring.takeError();
    }
    return n;
  }

  /** Keep the process alive while open (the default). */
  ref(): this {
    return this.#setRef(true);
  }

  /** Do not keep the process alive just for this RingBuffer (like timer.unref()). */
  unref(): this {
    return this.#setRef(false);
  }

  stats(): RingBufferStats {
    this.#check();
    const out: RingBufferStats = { delivered: 0, dropped: undefined, availableBytes: 0, size: 0, queued: this.#queue.length - this.#head };
    for (const ring of this.#rings) {
      const [cons, prod] = ring.native.positions();
      const dropped = ring.native.dropped();
      out.delivered += ring.delivered;
      out.availableBytes += prod - cons;
      out.size += ring.size;
      if (dropped !== null) out.dropped = (out.dropped ?? 0) + dropped;
    }
    return out;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Stop reading and unmap the rings. Idempotent. Ends a `for await` (done). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const ring of this.#rings) {
      ring.closed = true;
      // Detaches the views over the ring before unmapping it; a copying ring's batch is
      // detached here. A walk in progress (close() from a callback) stops at its next
      // header read, which then reads undefined.
      ring.native.close();
      if (ring.batch) {
        const buffer = ring.batch.bytes.buffer as ArrayBuffer;
        structuredClone(buffer, { transfer: [buffer] });
      }
    }
    for (const release of this.#releases.splice(0)) release();
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#queue = [];
    this.#head = 0;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) this.#settle(w);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Events as they come, decoded (or copied, raw) since they outlive any callback. At
   * most highWaterMark wait in the queue: while it is full the rings are not read, and
   * the BPF side's reservations fail (count them with <node_libbpf/ringbuf.h>).
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    if (!this.#iterate) throw new TypeError('this RingBuffer delivers to a callback; iterate one made without a callback');
    if (this.#iterating) throw new TypeError('this RingBuffer is already being iterated');
    this.#iterating = true;
    const iterator: AsyncIterableIterator<T> = {
      next: () => this.#next(),
      return: (value?: unknown) => {
        this.close();
        return Promise.resolve({ value: value as T, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  #check(): void {
    if (this.#closed) throw new TypeError(RING_CLOSED);
  }

  #add(map: BpfMap, callback: ((event: any) => void) | undefined, o: RingBufferOptions): void {
    if (!(map instanceof BpfMap)) throw argTypeError('map', 'a BpfMap', map);
    const { native: nativeMap, owner } = map.internals(INTERNAL);
    owner.check();
    if (map.type !== 'ringbuf') throw new TypeError(`map: expected a ringbuf map, got ${describe(map.name)} (a ${map.type} map)`);
    const maxBatch = o.maxBatch === undefined ? DEFAULT_MAX_BATCH : checkInteger(o.maxBatch, 'options.maxBatch', 1, 0x7fffffff);
    const raw = checkBoolean(o.raw, 'options.raw');
    const lazy = checkBoolean(o.lazy, 'options.lazy');
    const copy = checkBoolean(o.copy, 'options.copy');
    if (raw && o.type !== undefined) throw argTypeError('options.type', 'no type with raw: true', o.type);
    if (raw && lazy) throw argTypeError('options.lazy', 'false with raw: true', o.lazy);
    const typed = raw ? undefined : this.#recordType(map, nativeMap.btfValueTypeId(), owner.btf(), o.type);
    if (lazy && !typed) throw argTypeError('options.lazy', `false for a map without a record type (give options.type)`, o.lazy);
    let ring: Ring | undefined;
    const native = addon.NativeRingBuffer.open(nativeMap, (error) => this.#readable(ring!, error), { drops: `${map.name}_drops` });
    try {
      ring = new Ring(native, map, native.size(), maxBatch, copy);
      ring.deliver = this.#deliverer(ring, callback, typed, lazy);
      if (!this.#refed) native.ref(false);
      if (this.#paused) native.poll(false);
    } catch (e) {
      native.close();
      throw e;
    }
    this.#rings.push(ring);
    const release = owner.adopt?.(this); // the map's object closes this RingBuffer first
    if (release) this.#releases.push(release);
  }

  #recordType(map: BpfMap, valueTypeId: number, btf: Btf | undefined, type: unknown): { btf: Btf; id: number; codec: Codec } | undefined {
    if (type === undefined) return btf && valueTypeId ? { btf, id: valueTypeId, codec: codecFor(btf, valueTypeId) } : undefined;
    if (typeof type !== 'string' || type.length === 0) throw argTypeError('options.type', 'a BTF type name', type);
    if (!btf) throw argTypeError('options.type', `no type: ${map.name} has no BTF`, type);
    const t = findType(btf, type);
    if (!t) throw argRangeError('options.type', "a type in the object's BTF (one only used by local variables needs NLB_RINGBUF_TYPE(), <node_libbpf/ringbuf.h>)", type);
    return { btf, id: t.id, codec: codecFor(btf, t.id) };
  }

  #deliverer(ring: Ring, callback: ((event: any) => void) | undefined, typed: { btf: Btf; id: number; codec: Codec } | undefined, lazy: boolean): Deliver {
    const push = (event: T): void => this.#push(event);
    if (!typed) return callback ?? ((record) => push(record.copy() as T));
    const { codec } = typed;
    const { size, decode } = codec;
    if (lazy) {
      const lazyRecord = new (lazyClass(typed.btf, typed.id, codec))();
      return (record) => {
        if (record.length < size) throw tooShort(ring, codec, record.length);
        lazyRecord[VIEW] = record.view;
        lazyRecord[OFFSET] = record.offset;
        callback!(lazyRecord);
      };
    }
    const deliver = callback ?? push;
    return (record) => {
      if (record.length < size) throw tooShort(ring, codec, record.length);
      deliver(decode(record.view, record.offset) as T);
    };
  }

  // A wake-up from the addon: one bounded batch.
  #readable(ring: Ring, error?: Error): void {
    if (this.#closed || ring.closed) return;
    if (error) return this.#fail(error);
    const max = this.#iterate ? Math.min(ring.maxBatch, this.#room()) : ring.maxBatch;
    if (max > 0) this.#drain(ring, max, false);
    if (this.#iterate && this.#room() <= 0) this.#pause();
    if (!ring.failed) return;
    const e = ring.takeError();
    // Copied records after the one that threw are out of the ring already: no wake-up brings them.
    if (ring.batch && ring.batch.pos < ring.batch.end) setImmediate(() => this.#readable(ring));
    if (this.#iterate) this.#fail(e);
    else this.emit('error', e);
  }

  #drain(ring: Ring, max: number, all: boolean): number {
    this.#draining = true;
    try {
      return drain(ring, max, all);
    } finally {
      this.#draining = false;
    }
  }

  #setRef(on: boolean): this {
    this.#check();
    this.#refed = on;
    for (const ring of this.#rings) ring.native.ref(on);
    return this;
  }

  // Iteration

  #room(): number {
    return this.#highWaterMark - (this.#queue.length - this.#head) + this.#waiters.length;
  }

  #push(event: T): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve({ value: event, done: false });
    else this.#queue.push(event);
  }

  #next(): Promise<IteratorResult<T>> {
    if (this.#head < this.#queue.length) {
      const value = this.#queue[this.#head] as T;
      this.#queue[this.#head++] = undefined;
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      } else if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      if (this.#paused && this.#queue.length - this.#head <= this.#highWaterMark >>> 1) this.#resume();
      return Promise.resolve({ value, done: false });
    }
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      if (this.#closed || this.#failure) this.#settle(waiter);
      else {
        this.#waiters.push(waiter);
        this.#resume();
      }
    });
  }

  // A waiter once closed: the failure that ended the iteration (once), else done.
  #settle(waiter: Waiter<T>): void {
    const failure = this.#failure;
    this.#failure = undefined;
    if (failure) waiter.reject(failure.error);
    else waiter.resolve({ value: undefined as T, done: true });
  }

  #fail(error: unknown): void {
    if (!this.#iterate) {
      this.emit('error', error);
      return;
    }
    this.#failure = { error };
    this.close();
  }

  #abort(reason: unknown): void {
    if (this.#closed) return;
    if (this.#iterate) this.#failure = { error: reason };
    this.close();
  }

  #pause(): void {
    if (this.#paused || this.#closed) return;
    this.#paused = true;
    for (const ring of this.#rings) ring.native.poll(false);
  }

  #resume(): void {
    if (!this.#paused || this.#closed) return;
    this.#paused = false;
    for (const ring of this.#rings) ring.native.poll(true);
  }
}
