// PerfBuffer: samples of BPF_MAP_TYPE_PERF_EVENT_ARRAY maps (bpf_perf_event_output),
// one perf ring per CPU, delivered on the event loop. The addon polls libbpf's epoll fd
// with a uv_poll_t (no thread while idle); a wake-up is one call into JS, which has the
// addon stage a batch (samples copied into one arena, with an index of cpu, offset,
// length and lost-sample notices) and walks it: at most maxBatch samples per wake-up,
// the rest on the next loop turn.
import { argRangeError, argTypeError, checkInteger, checkOptions, describe } from '../base/args';
import type { Btf } from '../btf/btf';
import { addCounts, decoding, deliverer, type DecodedCounts, type Deliver, type Deliverer, type RecordCounts } from './records';
import { TYPE_NOWHERE } from '../dwarf/fallback';
import type { CharMode } from '../btf/codec';
import { EventBuffer } from './buffer';
import { PERF_BUFFER_CLOSED } from '../errors/state';
import { checkSignal } from './stream';
import { INTERNAL } from '../base/internal';
import { BpfMap } from '../core/map';
import { addon, type NativePerfBuffer } from '../base/native';

/** Options of `new PerfBuffer(map, callback, options)`: how samples are decoded and delivered. */
export interface PerfBufferOptions {
  /** The samples' BTF type: 'struct event', 'event' or a typedef name. Default: raw. */
  type?: string;
  /**
   * The BTF `type` is looked up in, instead of the map's object's: for a program that
   * fills its samples in local variables only, which leaves the type out of the object's
   * BTF. Make one from the program's header with `node-libbpf btf` or headerBtf().
   * @example
   * // node-libbpf btf events.h --type 'struct event' -o events.btf
   * const pb = new PerfBuffer(obj.map('events'), (e, cpu) => console.log(cpu, e.pid), {
   *   type: 'struct event',
   *   btf: Btf.fromFile('events.btf'),
   * });
   */
  btf?: Btf;
  /**
   * `char[]` members decoded as 'bytes' (a Uint8Array) or 'strings' (the NUL-separated
   * strings in it, such as an exec tracer's argv) instead of one 'string' (see RingBufferOptions.chars).
   * @example new PerfBuffer(obj.map('events'), (e) => console.log(e.args), { type: 'struct event', chars: { args: 'strings' } });
   */
  chars?: Readonly<Record<string, CharMode>>;
  /** Deliver RawEvents (view, offset, length) instead of decoded values. */
  raw?: boolean;
  /** Decode fields on access, from a reused object valid during the callback only. */
  lazy?: boolean;
  /** Pages per CPU buffer, a power of two (default 64: 256 KiB with 4 KiB pages). */
  pageCount?: number;
  /** Samples delivered per wake-up at most (default 4096); the rest come on the next loop turn. */
  maxBatch?: number;
  /** Called with the CPU and the number of samples the kernel dropped there (its buffer was full). */
  onLost?: (cpu: number, count: number) => void;
  /** Closes the PerfBuffer when aborted; a `for await` over it rejects with signal.reason. */
  signal?: AbortSignal;
}

/** Options of `new PerfBuffer(map, options)`, read with `for await` (no `lazy`: a queued sample must outlive the callback). */
export interface PerfBufferIterateOptions extends Omit<PerfBufferOptions, 'lazy'> {
  /** Samples queued for the iterator at most (default 1024); the buffers are not read while the queue is full. */
  highWaterMark?: number;
}

/** `perfBuffer.stats()`: what was delivered, lost and is waiting, and the buffers' sizes. */
export interface PerfBufferStats {
  /** Samples delivered (to the callback, or to the iterator's queue). */
  delivered: number;
  /** Samples the kernel dropped because a CPU's buffer was full (as reported so far). */
  lost: number;
  /** Samples waiting in the iterator's queue. */
  queued: number;
  /** Per-CPU buffers. */
  buffers: number;
  /** Pages per CPU buffer. */
  pageCount: number;
  /** Samples delivered, by how they were decoded: full, short (fewer bytes than the type), raw. */
  records: DecodedCounts;
}

const BASE_OPTIONS = ['type', 'btf', 'chars', 'raw', 'pageCount', 'maxBatch', 'onLost', 'signal'] as const;
const CALLBACK_OPTIONS = [...BASE_OPTIONS, 'lazy'] as const;
const ITERATE_OPTIONS = [...BASE_OPTIONS, 'highWaterMark'] as const;
const DEFAULT_PAGE_COUNT = 64;
const DEFAULT_MAX_BATCH = 4096;
const DEFAULT_HIGH_WATER_MARK = 1024;
const NO_LIMIT = 0x7fffffff;
const TYPE_MISSING = TYPE_NOWHERE;
// The arena's index (see perf_buffer.cc): a 4-word header, then 3 words per entry.
const HEADER = 4;
const LOST = 0x80000000;
const TWO32 = 4294967296;

function checkPageCount(value: unknown): number {
  if (value === undefined) return DEFAULT_PAGE_COUNT;
  const n = checkInteger(value, 'options.pageCount', 1, 1 << 20);
  if ((n & (n - 1)) !== 0) throw argRangeError('options.pageCount', 'a power of two', value);
  return n;
}

/**
 * Samples from perf event array maps (BPF_MAP_TYPE_PERF_EVENT_ARRAY, written with
 * bpf_perf_event_output), read on the event loop: to a callback, which also gets the CPU
 * the sample came from, or with `for await`. Samples are decoded from BTF (`type`),
 * lazily (`lazy`) or handed over raw (`raw`; their length includes the kernel's padding
 * to 8 bytes with its 4-byte size word). When a CPU's buffer is full the kernel drops
 * samples and says how many later: `onLost(cpu, count)` and `stats().lost`. An open
 * PerfBuffer keeps the process alive (see unref()) until close(). Errors a callback
 * throws are emitted as 'error' (the sample counts as consumed); without an 'error'
 * listener they are uncaught exceptions.
 * @example
 * const pb = new PerfBuffer(obj.map('events'), (e, cpu) => console.log(cpu, e.pid), {
 *   type: 'struct event',
 *   onLost: (cpu, n) => console.warn(`cpu ${cpu} lost ${n}`),
 * });
 * // or:
 * for await (const e of new PerfBuffer(obj.map('events'), { type: 'event', signal })) console.log(e);
 */
export class PerfBuffer<T = any> extends EventBuffer<T> {
  readonly #native: NativePerfBuffer;
  readonly #deliverFor: Deliverer;
  #deliver: Deliver;
  readonly #onLost: ((cpu: number, count: number) => void) | undefined;
  readonly #maxBatch: number;
  readonly #pageCount: number;
  #entries: Uint32Array;
  #draining = false;
  #delivered = 0;
  readonly #counts: RecordCounts = { short: 0 };
  readonly #typed: boolean;
  #lost = 0;
  #failed: { error: unknown } | undefined;

  /**
   * Read the perf_event_array `map` (one buffer per CPU), calling `callback` with each
   * sample and the CPU it came from.
   */
  constructor(map: BpfMap, callback: (event: T, cpu: number) => void, options?: PerfBufferOptions);
  /** Read the perf_event_array `map` with `for await`: samples queue up to `highWaterMark`. */
  constructor(map: BpfMap, options?: PerfBufferIterateOptions);
  constructor(map: BpfMap, callbackOrOptions?: ((event: T, cpu: number) => void) | PerfBufferIterateOptions, options?: PerfBufferOptions) {
    super('PerfBuffer', PERF_BUFFER_CLOSED);
    const callback = typeof callbackOrOptions === 'function' ? callbackOrOptions : undefined;
    if (!callback && options !== undefined) throw argTypeError('callback', 'a function', callbackOrOptions);
    const o = checkOptions<PerfBufferIterateOptions & PerfBufferOptions>(callback ? options : callbackOrOptions, 'options', callback ? CALLBACK_OPTIONS : ITERATE_OPTIONS);
    if (!(map instanceof BpfMap)) throw argTypeError('map', 'a BpfMap', map);
    const { native: nativeMap, owner } = map.internals(INTERNAL);
    owner.check();
    if (map.type !== 'perf_event_array') throw new TypeError(`map: expected a perf_event_array map, got ${describe(map.name)} (a ${map.type} map)`);
    const highWaterMark = o.highWaterMark === undefined ? DEFAULT_HIGH_WATER_MARK : checkInteger(o.highWaterMark, 'options.highWaterMark', 1, 0x7fffffff);
    this.#maxBatch = o.maxBatch === undefined ? DEFAULT_MAX_BATCH : checkInteger(o.maxBatch, 'options.maxBatch', 1, 0x7fffffff);
    this.#pageCount = checkPageCount(o.pageCount);
    if (o.onLost !== undefined && typeof o.onLost !== 'function') throw argTypeError('options.onLost', 'a function', o.onLost);
    this.#onLost = o.onLost;
    const signal = checkSignal(o.signal);
    // Perf event arrays carry no value type (their values are fds): raw unless options.type.
    const { typed, lazy } = decoding(o, map.name, 0, owner.btf(), TYPE_MISSING);
    if (!callback) this.iterate(highWaterMark);
    // onClosed: the map's object closed this buffer (the addon closes an object's buffers first).
    this.#native = addon.NativePerfBuffer.open(nativeMap, (error) => this.#readable(error), { pageCount: this.#pageCount, onClosed: () => this.close() });
    const arena = this.#native.arena();
    this.#entries = new Uint32Array(arena.entries);
    const push = (event: T): void => this.stream!.push(event);
    this.#typed = typed !== undefined;
    this.#deliverFor = deliverer({ callback, push, typed, lazy, label: `perf buffer ${map.name}`, counts: this.#counts });
    this.#deliver = this.#deliverFor(new DataView(arena.bytes));
    this.watch(signal);
  }

  /**
   * Deliver what the per-CPU buffers hold now, synchronously, without waiting for a
   * wake-up (an iterated PerfBuffer: as many as its queue takes). Returns the number of samples.
   * @example const n = pb.consume();
   */
  consume(): number {
    this.check();
    if (this.#draining) throw new TypeError('consume() cannot be called from a PerfBuffer callback');
    let n = 0;
    // What an earlier batch left staged, then one pass over every CPU's buffer.
    for (let round = 0; round < 2 && !this.closed; round++) {
      const limit = this.stream ? this.stream.room() : NO_LIMIT;
      if (limit <= 0) break;
      n += this.#take(limit);
      const failed = this.#failed;
      this.#failed = undefined;
      if (failed) throw failed.error;
    }
    return n;
  }

  /**
   * Counters: samples delivered and lost (reported by the kernel), the iterator's queue.
   * @example const { delivered, lost } = pb.stats();
   */
  stats(): PerfBufferStats {
    this.check();
    const lost = this.#lost + this.#native.arena().ownLost;
    const records = { full: 0, short: 0, raw: 0 };
    addCounts(records, this.#delivered, this.#typed, this.#counts);
    return { delivered: this.#delivered, lost, queued: this.stream?.queued ?? 0, buffers: this.#native.bufferCount(), pageCount: this.#pageCount, records };
  }

  // A wake-up from the addon: one bounded batch.
  #readable(error?: Error): void {
    if (this.closed) return;
    if (error) return this.fail(error);
    const stream = this.stream;
    const max = stream ? Math.min(this.#maxBatch, stream.room()) : this.#maxBatch;
    if (max > 0) this.#take(max);
    stream?.settle();
    const failed = this.#failed;
    this.#failed = undefined;
    if (failed) this.fail(failed.error);
  }

  // Stages and walks one batch: at most `max` samples, lost notices as they come; stops
  // after a delivery that threw (kept in #failed) or closed the buffer.
  #take(max: number): number {
    let n = this.#native.stage(max);
    if (n < 0) {
      n = -n - 1;
      const arena = this.#native.arena();
      this.#entries = new Uint32Array(arena.entries);
      this.#deliver = this.#deliverFor(new DataView(arena.bytes));
    }
    if (n === 0) return 0;
    const entries = this.#entries;
    const deliver = this.#deliver;
    const first = entries[0];
    const end = first + n;
    let i = first;
    let delivered = 0;
    this.#draining = true;
    try {
      while (i < end && delivered < max && !this.closed) {
        const at = HEADER + i * 3;
        const word = entries[at];
        i++;
        try {
          if (word & LOST) {
            const count = entries[at + 1] * TWO32 + entries[at + 2];
            this.#lost += count;
            this.#onLost?.(word & ~LOST, count);
          } else {
            delivered++;
            deliver(entries[at + 1], entries[at + 2], word);
          }
        } catch (e) {
          this.#failed = { error: e };
          break;
        }
      }
    } finally {
      this.#draining = false;
    }
    this.#delivered += delivered;
    if (!this.closed) this.#native.advance(i - first);
    return delivered;
  }

  /** @internal */
  protected closeBuffers(): void {
    this.#native.close();
  }

  /** @internal */
  protected setRef(on: boolean): void {
    this.#native.ref(on);
  }

  /** @internal */
  protected reading(on: boolean): void {
    this.#native.poll(on);
  }
}
