// UserRingBuffer: messages from JS to BPF programs through BPF_MAP_TYPE_USER_RINGBUF
// maps, which programs drain with bpf_user_ringbuf_drain(). A sample is reserved in the
// ring at once (so a full ring fails where the caller can act), written in a JS buffer
// (typed through the BTF codec, or byte by byte), and copied into the reservation on
// submit(): no view into the shared ring ever outlives its sample.
import { argRangeError, argTypeError, checkInteger, checkOptions, describe } from '../base/args';
import type { Btf } from '../btf/btf';
import type { Codec } from '../btf/codec';
import { BpfError } from '../errors/bpf-error';
import { SAMPLE_DISCARDED, SAMPLE_SUBMITTED, USER_RING_CLOSED } from '../errors/state';
import { namedType } from './records';
import { TYPE_NOWHERE } from '../dwarf/fallback';
import { checkSignal } from './stream';
import { INTERNAL } from '../base/internal';
import { BpfMap } from '../core/map';
import { addon, type NativeUserRingBuffer } from '../base/native';

/** Options of `new UserRingBuffer(map, options)`: how messages are encoded. */
export interface UserRingBufferOptions {
  /** The messages' BTF type ('struct command', 'command' or a typedef): sample.write(obj) and send(obj) encode it. Default: bytes only. */
  type?: string;
  /**
   * The BTF `type` is looked up in, instead of the map's object's: for a program that
   * reads its messages through local variables only (see RingBufferOptions.btf).
   * @example new UserRingBuffer(obj.map('commands'), { type: 'struct command', btf: Btf.fromFile('commands.btf') });
   */
  btf?: Btf;
}

/** Options of `userRingBuffer.reserveBlocking(size, timeoutMs, options)`. */
export interface ReserveBlockingOptions {
  /** Gives up waiting (the promise rejects with signal.reason). */
  signal?: AbortSignal;
}

const TYPE_MISSING = TYPE_NOWHERE;
const MAX_SAMPLE = 0x3fffffff; // the ring's record length field
const MAX_TIMEOUT = 0x7fffffff;
// reserveBlocking(): retries after 1, 2, 4, 8, then every 16 ms.
const FIRST_RETRY_MS = 1;
const LAST_RETRY_MS = 16;

/** Where a UserRingBufferSample is in its life: reserved, then submitted or discarded. */
type State = 'reserved' | 'submitted' | 'discarded';

/**
 * One reserved message: write it (`write(value)` with a typed ring, or `view`/`bytes`),
 * then `submit()` it or `discard()` it. Messages reach the BPF side in reservation
 * order, and one reserved but not yet submitted holds back those after it.
 */
export class UserRingBufferSample<T = any> {
  readonly #ring: UserRingBuffer<T>;
  readonly #slot: number;
  readonly #bytes: Buffer;
  #view: DataView | undefined;
  #state: State = 'reserved';

  /** @internal Made by UserRingBuffer.reserve(). */
  constructor(token: symbol, ring: UserRingBuffer<T>, slot: number, size: number) {
    if (token !== INTERNAL) throw new TypeError('Illegal constructor: use UserRingBuffer.reserve()');
    this.#ring = ring;
    this.#slot = slot;
    this.#bytes = Buffer.alloc(size);
  }

  /** Reserved bytes. */
  get size(): number {
    return this.#bytes.length;
  }

  /** 'reserved', then 'submitted' or 'discarded' (also when its ring closed first). */
  get state(): State {
    return this.#ring.closed && this.#state === 'reserved' ? 'discarded' : this.#state;
  }

  /**
   * The message's bytes, to write in place (zero-filled at first).
   * @example sample.bytes.write('hello');
   */
  get bytes(): Buffer {
    this.#check();
    return this.#bytes;
  }

  /**
   * A DataView over the message's bytes.
   * @example sample.view.setUint32(0, 42, true);
   */
  get view(): DataView {
    this.#check();
    return (this.#view ??= new DataView(this.#bytes.buffer, this.#bytes.byteOffset, this.#bytes.length));
  }

  /**
   * Encode `value` with the ring's type (all of the type's bytes; fields left out are zero).
   * @example ring.reserve().write({ op: 1, pid: 42 }).submit();
   */
  write(value: T): this {
    this.#check();
    const codec = this.#ring.codec(INTERNAL);
    if (!codec) throw new TypeError('write(): this UserRingBuffer has no type; write bytes through view or bytes');
    if (codec.size > this.#bytes.length) throw argRangeError('write', `a sample of at least ${codec.size} bytes for ${codec.typeName}`, this.#bytes);
    codec.encode(value, this.view, 0, 'sample');
    return this;
  }

  /**
   * Hand the message to the kernel; bpf_user_ringbuf_drain() in a BPF program will see it.
   * @example sample.submit();
   */
  submit(): void {
    this.#check();
    this.#ring.native(INTERNAL).submit(this.#slot, this.#bytes);
    this.#state = 'submitted';
  }

  /**
   * Give the reservation back: the BPF side never sees this message.
   * @example sample.discard();
   */
  discard(): void {
    this.#check();
    this.#ring.native(INTERNAL).discard(this.#slot);
    this.#state = 'discarded';
  }

  #check(): void {
    if (this.#state === 'submitted') throw new TypeError(SAMPLE_SUBMITTED);
    if (this.#state === 'discarded') throw new TypeError(SAMPLE_DISCARDED);
    if (this.#ring.closed) throw new TypeError(USER_RING_CLOSED);
  }
}

function isNoSpace(e: unknown): boolean {
  return e instanceof BpfError && e.code === 'ENOSPC';
}

/**
 * Messages from JS to BPF through a user ring buffer map (BPF_MAP_TYPE_USER_RINGBUF):
 * BPF programs drain it with bpf_user_ringbuf_drain(). With `type`, messages are
 * encoded from objects by BTF. A full ring makes reserve() and send() throw BpfError
 * ENOSPC; reserveBlocking() waits for room without blocking the JS thread.
 * @example
 * const commands = new UserRingBuffer(obj.map('commands'), { type: 'struct command' });
 * commands.send({ op: 1, pid: 42 });
 * const sample = commands.reserve();
 * sample.write({ op: 2, pid: 7 }).submit();
 */
export class UserRingBuffer<T = any> implements Disposable {
  readonly #native: NativeUserRingBuffer;
  readonly #codec: Codec | undefined;
  readonly #waits = new Set<() => void>(); // pending reserveBlocking() calls: end them on close
  #closed = false;

  /** Open the user_ringbuf `map` for writing; it closes with its object. */
  constructor(map: BpfMap, options?: UserRingBufferOptions) {
    const o = checkOptions<UserRingBufferOptions>(options, 'options', ['type', 'btf']);
    if (!(map instanceof BpfMap)) throw argTypeError('map', 'a BpfMap', map);
    const { native: nativeMap, owner } = map.internals(INTERNAL);
    owner.check();
    if (map.type !== 'user_ringbuf') throw new TypeError(`map: expected a user_ringbuf map, got ${describe(map.name)} (a ${map.type} map)`);
    // User ring buffer maps carry no value type: raw unless options.type.
    this.#codec = namedType(o, map.name, 0, owner.btf(), TYPE_MISSING)?.codec;
    // onClosed: the map's object closed this ring (the addon closes an object's buffers first).
    this.#native = addon.NativeUserRingBuffer.open(nativeMap, { onClosed: () => this.close() });
  }

  /** True once close() ran (or the map's object was closed). */
  get closed(): boolean {
    return this.#closed;
  }

  /** The ring's size in bytes (maxEntries); each message takes its size plus 8, rounded up to 8. */
  get size(): number {
    this.#check();
    return this.#native.size();
  }

  /**
   * Reserve a message of `size` bytes (default: the type's size). Throws BpfError
   * ENOSPC when the ring has no room now, E2BIG when it never will.
   * @example const sample = ring.reserve(16); sample.bytes.write('hello'); sample.submit();
   */
  reserve(size?: number): UserRingBufferSample<T> {
    this.#check();
    const n = this.#size(size);
    return new UserRingBufferSample<T>(INTERNAL, this, this.#native.reserve(n), n);
  }

  /**
   * Reserve, write and submit in one call: an object encoded with the ring's type, or bytes.
   * @example ring.send({ op: 1, pid: 42 }); ring.send(Buffer.from('raw bytes'));
   */
  send(value: T | Uint8Array): void {
    this.#check();
    if (value instanceof Uint8Array) {
      const slot = this.#native.reserve(this.#size(value.length));
      this.#native.submit(slot, value);
      return;
    }
    if (!this.#codec) throw argTypeError('value', 'a Buffer or Uint8Array (this UserRingBuffer has no type)', value);
    const sample = this.reserve();
    try {
      sample.write(value as T);
    } catch (e) {
      sample.discard();
      throw e;
    }
    sample.submit();
  }

  /**
   * Reserve a message, waiting up to `timeoutMs` for room. The JS thread is never
   * blocked: the reservation is retried on the event loop (after 1, 2, 4, 8, then every
   * 16 ms) until it succeeds, `timeoutMs` passed (then it rejects with the BpfError
   * ENOSPC), the signal aborts, or the ring closes (TypeError). A BPF program makes room
   * by draining (bpf_user_ringbuf_drain).
   * @example const sample = await ring.reserveBlocking(undefined, 1000); sample.write(cmd).submit();
   */
  reserveBlocking(size: number | undefined, timeoutMs: number, options?: ReserveBlockingOptions): Promise<UserRingBufferSample<T>> {
    try {
      this.#check();
      const n = this.#size(size);
      const timeout = checkInteger(timeoutMs, 'timeoutMs', 0, MAX_TIMEOUT);
      const signal = checkSignal(checkOptions<ReserveBlockingOptions>(options, 'options', ['signal']).signal);
      return this.#wait(n, timeout, signal);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Discard the messages reserved and not submitted, and unmap the ring. Idempotent;
   * pending reserveBlocking() calls reject with TypeError('UserRingBuffer is closed').
   * @example ring.close();
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#native.close();
    for (const end of [...this.#waits]) end();
  }

  /** close(), for `using commands = new UserRingBuffer(...)`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal */
  native(token: symbol): NativeUserRingBuffer {
    if (token !== INTERNAL) throw new TypeError('UserRingBuffer.native is internal');
    return this.#native;
  }

  /** @internal */
  codec(token: symbol): Codec | undefined {
    if (token !== INTERNAL) throw new TypeError('UserRingBuffer.codec is internal');
    return this.#codec;
  }

  #check(): void {
    if (this.#closed) throw new TypeError(USER_RING_CLOSED);
  }

  #size(size: number | undefined): number {
    if (size === undefined) {
      if (!this.#codec) throw argTypeError('size', 'a byte count (this UserRingBuffer has no type)', size);
      return this.#codec.size;
    }
    return checkInteger(size, 'size', 1, MAX_SAMPLE);
  }

  #wait(size: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<UserRingBufferSample<T>> {
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let delay = FIRST_RETRY_MS;
      const finish = (): void => {
        clearTimeout(timer);
        this.#waits.delete(closed);
        signal?.removeEventListener('abort', aborted);
      };
      const closed = (): void => {
        finish();
        reject(new TypeError(USER_RING_CLOSED));
      };
      const aborted = (): void => {
        finish();
        reject(signal!.reason);
      };
      const attempt = (): void => {
        try {
          const sample = this.reserve(size);
          finish();
          resolve(sample);
        } catch (e) {
          const left = deadline - Date.now();
          if (!isNoSpace(e) || left <= 0) {
            finish();
            reject(e);
            return;
          }
          timer = setTimeout(attempt, Math.min(delay, left));
          delay = Math.min(delay * 2, LAST_RETRY_MS);
        }
      };
      if (signal?.aborted) return reject(signal.reason);
      this.#waits.add(closed);
      signal?.addEventListener('abort', aborted, { once: true });
      attempt();
    });
  }
}
