// RingBuffer: records of BPF_MAP_TYPE_RINGBUF maps, delivered on the event loop.
// The addon mmap()s each ring and watches it with a uv_poll_t (no thread while idle);
// a wake-up is one call into JS, and JS walks the ring's memory itself: records are
// read in place, at most maxBatch per wake-up, and the consumer position is written
// back once per batch. Where external ArrayBuffers are refused (a V8 sandbox), the
// addon copies batches of records into a JS buffer instead, walked the same way.
import { argTypeError, checkInteger, checkOptions, describe } from '../base/args';
import type { Btf } from '../btf/btf';
import { addCounts, checkBoolean, decoding, deliverer, type DecodedCounts, type Deliver, type Deliverer, type RecordCounts } from './records';
import { TYPE_NOWHERE } from '../dwarf/fallback';
import type { CharMode } from '../btf/codec';
import { EventBuffer } from './buffer';
import { RING_BUFFER_CLOSED } from '../errors/state';
import { checkSignal } from './stream';
import { INTERNAL } from '../base/internal';
import { BpfMap } from '../core/map';
import { addon, type NativeRingBuffer } from '../base/native';

export type { DecodedCounts, LazyEvent, RawEvent } from './records';

/** Options of `new RingBuffer(map, callback, options)`: how records are decoded and delivered. */
export interface RingBufferOptions {
  /** The records' BTF type: 'struct exec_event', 'exec_event' or a typedef name. Default: the map's value type if it has one, else raw. */
  type?: string;
  /**
   * The BTF `type` is looked up in, instead of the map's object's: for a program that
   * uses its record type only through local variables (`e = bpf_ringbuf_reserve(...)`),
   * which leaves the type out of the object's BTF. Make one from the header the program
   * was written against with `node-libbpf btf` or headerBtf(), where clang is; load it
   * with Btf.fromFile() wherever the agent runs.
   * @example
   * // node-libbpf btf bootstrap.h --type 'struct event' -o bootstrap.btf
   * const rb = new RingBuffer(obj.map('rb'), (e) => console.log(e.pid, e.comm), {
   *   type: 'struct event',
   *   btf: Btf.fromFile('bootstrap.btf'),
   * });
   */
  btf?: Btf;
  /**
   * `char[]` members decoded as 'bytes' (a Uint8Array) or 'strings' (the NUL-separated
   * strings in it) instead of one 'string' up to the first NUL: the argv an exec tracer
   * copies into `char args[N]` comes out as ['ls', '-l', '/tmp'].
   * @example
   * new RingBuffer(obj.map('events'), (e) => console.log(e.args.join(' ')), {
   *   type: 'struct event',
   *   chars: { args: 'strings' },
   * });
   */
  chars?: Readonly<Record<string, CharMode>>;
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

/** Options of `new RingBuffer(map, options)`, read with `for await` (no `lazy`: a queued event must outlive the callback). */
export interface RingBufferIterateOptions extends Omit<RingBufferOptions, 'lazy'> {
  /** Events queued for the iterator at most (default 1024); the ring is not read while the queue is full. */
  highWaterMark?: number;
}

/** `ringBuffer.stats()`: what was delivered, dropped and is waiting. */
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
  /**
   * Records delivered, by how they were decoded: `full` (the whole type), `short` (fewer
   * bytes than the type: the fields wholly inside decoded, the others absent), `raw`.
   */
  records: DecodedCounts;
}

const RING_OPTIONS = ['type', 'btf', 'chars', 'raw', 'lazy', 'maxBatch', 'copy'] as const;
const CALLBACK_OPTIONS = [...RING_OPTIONS, 'signal'] as const;
const ADD_ITERATED_OPTIONS = ['type', 'btf', 'chars', 'raw', 'maxBatch', 'copy'] as const;
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
// Records per walkSlice() call at most. V8 compiles a loop that runs long within one call
// while it runs (OSR), and that code re-checks every loop variable's type on every
// iteration; a function called often with short loops is compiled whole instead, its
// arguments checked once per call (measured on the raw drain: ~9% faster, and steadier).
const SLICE = 256;
const TYPE_MISSING = TYPE_NOWHERE;

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
  deliver: Deliver;
  delivered = 0;
  // Short records, counted by the deliverer; whether records are decoded at all.
  counts: RecordCounts = { short: 0 };
  typed = false;
  closed = false;
  // What a delivery threw, in the last walk.
  failed = false;
  error: unknown = undefined;
  // Reading in place:
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
    readonly deliverFor: Deliverer,
  ) {
    const memory = copy || size > IN_PLACE_MAX ? null : native.memory();
    if (!memory) {
      this.batch = new Batch(Math.min(size, COPY_BATCH));
      this.deliver = deliverFor(this.batch.view);
      return;
    }
    this.deliver = deliverFor(new DataView(memory.data));
    this.headers = new Int32Array(memory.data);
    this.producer = new Uint32Array(memory.producer, 0, 2);
    this.consumer = new Uint32Array(memory.consumer, 0, 2);
    this.consumer64 = new BigUint64Array(memory.consumer, 0, 1);
    this.consHi = this.consumer[HI];
    this.cons = this.consHi * TWO32 + this.consumer[LO];
    this.offset = this.cons % size | 0;
  }

  /** A bigger copy batch, for a record the current one cannot hold. */
  grow(bytes: number): void {
    this.batch = new Batch(bytes);
    this.deliver = this.deliverFor(this.batch.view);
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

// The hot loop: records from byte `start` up to `end` of the ring's (or batch's) memory,
// at most `max` (a slice) delivered. Returns where it stopped: at `end`, at a record
// still being written (busy: the length reads negative), after `max` records, after the
// record whose delivery threw, or after the one whose callback closed the ring.
function walkOrdered(ring: Ring, headers: Int32Array, start: number, end: number, max: number): number {
  const deliver = ring.deliver;
  const stop = end | 0;
  const most = max | 0;
  let p = start | 0;
  let n = 0;
  while (p < stop && n < most) {
    const len = headers[p >>> 2];
    // Busy (bit 31: negative), or undefined once close() in a callback detached the
    // memory: that read is the only check per record for a close (see closeBuffers()).
    if (!(len >= 0)) break;
    const next = p + (((len & Rec.LENGTH) + Rec.HEADER + 7) & ~7);
    if ((len & Rec.DISCARD) === 0) {
      n++;
      try {
        deliver(p + Rec.HEADER, len & Rec.LENGTH);
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
function walkAcquire(ring: Ring, headers: Int32Array, start: number, end: number, max: number): number {
  const deliver = ring.deliver;
  const stop = end | 0;
  const most = max | 0;
  let p = start | 0;
  let n = 0;
  while (p < stop && n < most) {
    if (p >= headers.byteLength) break; // detached by close() (Atomics.load would throw)
    const len = Atomics.load(headers, p >>> 2);
    if (len < 0) break;
    const next = p + (((len & Rec.LENGTH) + Rec.HEADER + 7) & ~7);
    if ((len & Rec.DISCARD) === 0) {
      n++;
      try {
        deliver(p + Rec.HEADER, len & Rec.LENGTH);
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

const walkSlice = ORDERED ? walkOrdered : walkAcquire;

// Records from byte `start` up to `end`, at most `max` delivered, a slice at a time.
// Stops where a slice made no progress (busy record), or at `end` or `max`, or after a
// throw or a close.
function walk(ring: Ring, headers: Int32Array, start: number, end: number, max: number): number {
  let p = start;
  let n = 0;
  while (p < end && n < max) {
    const q = walkSlice(ring, headers, p, end, Math.min(max - n, SLICE));
    n += walked;
    const stuck = q === p;
    p = q;
    if (stuck || ring.failed || ring.closed) break;
  }
  walked = n;
  return p;
}

// In place: up to the producer position read once, released a quarter ring at a time
// so a long batch frees space for the producer as it goes.
function drainInPlace(ring: Ring, max: number): number {
  let left = producerPosition(ring.producer!) - ring.cons;
  const chunk = ring.size >>> 2;
  let total = 0;
  while (left > 0 && total < max && !ring.closed) {
    const start = ring.offset;
    const p = walk(ring, ring.headers!, start, (start + Math.min(left, chunk)) | 0, max - total);
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
        ring.grow(-bytes);
        return total + drainCopied(ring, max - total, all);
      }
      batch.pos = 0;
      batch.end = bytes;
      read += bytes;
      if (bytes === 0) break;
    }
    batch.pos = walk(ring, batch.headers, batch.pos, batch.end, max - total);
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
export class RingBuffer<T = any> extends EventBuffer<T> {
  readonly #rings: Ring[] = [];
  #refed = true;
  #draining = false;

  /**
   * Read the ringbuf `map`, calling `callback` with each record (on the event loop, in
   * the order the ring holds them).
   */
  constructor(map: BpfMap, callback: (event: T) => void, options?: RingBufferOptions);
  /** Read the ringbuf `map` with `for await`: records queue up to `highWaterMark`. */
  constructor(map: BpfMap, options?: RingBufferIterateOptions);
  constructor(map: BpfMap, callbackOrOptions?: ((event: T) => void) | RingBufferIterateOptions, options?: RingBufferOptions) {
    super('RingBuffer', RING_BUFFER_CLOSED);
    const callback = typeof callbackOrOptions === 'function' ? callbackOrOptions : undefined;
    if (!callback && options !== undefined) throw argTypeError('callback', 'a function', callbackOrOptions);
    const raw = callback ? options : callbackOrOptions;
    const o = checkOptions<RingBufferIterateOptions & RingBufferOptions>(raw, 'options', callback ? CALLBACK_OPTIONS : ITERATE_OPTIONS);
    const highWaterMark = o.highWaterMark === undefined ? DEFAULT_HIGH_WATER_MARK : checkInteger(o.highWaterMark, 'options.highWaterMark', 1, 0x7fffffff);
    const signal = checkSignal(o.signal);
    if (!callback) this.iterate(highWaterMark);
    this.#add(map, callback, o);
    this.watch(signal);
  }

  /**
   * Read another ring too, with its own callback and decoding (or, for an iterated
   * RingBuffer, into the same queue: add(map, options)).
   * @example rb.add(obj.map('errors'), (e) => report(e), { type: 'struct error_event' });
   */
  add(map: BpfMap, callback: (event: any) => void, options?: RingBufferOptions): this;
  add(map: BpfMap, options?: Omit<RingBufferIterateOptions, 'highWaterMark' | 'signal'>): this;
  add(map: BpfMap, callbackOrOptions?: ((event: any) => void) | RingBufferOptions, options?: RingBufferOptions): this {
    this.check();
    const callback = typeof callbackOrOptions === 'function' ? callbackOrOptions : undefined;
    if (this.stream && callback) throw new TypeError('add(): this RingBuffer is iterated, so it takes add(map, options) without a callback');
    if (!this.stream && !callback) throw argTypeError('callback', 'a function', callbackOrOptions);
    const o = checkOptions<RingBufferOptions>(callback ? options : callbackOrOptions, 'options', callback ? RING_OPTIONS : ADD_ITERATED_OPTIONS);
    this.#add(map, callback, o);
    return this;
  }

  /**
   * Deliver what the rings hold now, synchronously, without waiting for a wake-up. Returns the number of records.
   * @example const n = rb.consume();
   */
  consume(): number {
    this.check();
    if (this.#draining) throw new TypeError('consume() cannot be called from a RingBuffer callback');
    let n = 0;
    for (const ring of this.#rings) {
      n += this.#drain(ring, this.stream ? this.stream.room() : NO_LIMIT, true);
      if (ring.failed) throw ring.takeError();
    }
    return n;
  }

  /**
   * Counters and fill levels, summed over the rings.
   * @example const { delivered, dropped } = rb.stats();
   */
  stats(): RingBufferStats {
    this.check();
    const records = { full: 0, short: 0, raw: 0 };
    const out: RingBufferStats = { delivered: 0, dropped: undefined, availableBytes: 0, size: 0, queued: this.stream?.queued ?? 0, records };
    for (const ring of this.#rings) {
      const [cons, prod] = ring.native.positions();
      const dropped = ring.native.dropped();
      out.delivered += ring.delivered;
      addCounts(records, ring.delivered, ring.typed, ring.counts);
      out.availableBytes += prod - cons;
      out.size += ring.size;
      if (dropped !== null) out.dropped = (out.dropped ?? 0) + dropped;
    }
    return out;
  }

  #add(map: BpfMap, callback: ((event: any) => void) | undefined, o: RingBufferOptions): void {
    if (!(map instanceof BpfMap)) throw argTypeError('map', 'a BpfMap', map);
    const { native: nativeMap, owner } = map.internals(INTERNAL);
    owner.check();
    if (map.type !== 'ringbuf') throw new TypeError(`map: expected a ringbuf map, got ${describe(map.name)} (a ${map.type} map)`);
    const maxBatch = o.maxBatch === undefined ? DEFAULT_MAX_BATCH : checkInteger(o.maxBatch, 'options.maxBatch', 1, 0x7fffffff);
    const copy = checkBoolean(o.copy, 'options.copy');
    const { typed, lazy } = decoding(o, map.name, nativeMap.btfValueTypeId(), owner.btf(), TYPE_MISSING);
    let ring: Ring | undefined;
    // onClosed: the map's object closed this ring (the addon closes an object's buffers first).
    const native = addon.NativeRingBuffer.open(nativeMap, (error) => this.#readable(ring!, error), { drops: `${map.name}_drops`, onClosed: () => this.close() });
    try {
      const push = (event: T): void => this.stream!.push(event);
      const counts: RecordCounts = { short: 0 };
      ring = new Ring(native, map, native.size(), maxBatch, copy, deliverer({ callback, push, typed, lazy, label: `ring ${map.name}`, counts }));
      ring.counts = counts;
      ring.typed = typed !== undefined;
      if (!this.#refed) native.ref(false);
      if (this.stream?.paused) native.poll(false);
    } catch (e) {
      native.close();
      throw e;
    }
    this.#rings.push(ring);
  }

  /** @internal */
  protected closeBuffers(): void {
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
  }

  // A wake-up from the addon: one bounded batch.
  #readable(ring: Ring, error?: Error): void {
    if (this.closed || ring.closed) return;
    if (error) return this.fail(error);
    const stream = this.stream;
    const max = stream ? Math.min(ring.maxBatch, stream.room()) : ring.maxBatch;
    if (max > 0) this.#drain(ring, max, false);
    stream?.settle();
    if (!ring.failed) return;
    const e = ring.takeError();
    // Copied records after the one that threw are out of the ring already: no wake-up brings them.
    if (ring.batch && ring.batch.pos < ring.batch.end) setImmediate(() => this.#readable(ring));
    this.fail(e);
  }

  #drain(ring: Ring, max: number, all: boolean): number {
    this.#draining = true;
    try {
      return drain(ring, max, all);
    } finally {
      this.#draining = false;
    }
  }

  /** @internal */
  protected setRef(on: boolean): void {
    this.#refed = on;
    for (const ring of this.#rings) ring.native.ref(on);
  }

  /** @internal */
  protected reading(on: boolean): void {
    for (const ring of this.#rings) ring.native.poll(on);
  }
}
