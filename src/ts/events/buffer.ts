// What every kernel -> JS event buffer (RingBuffer, PerfBuffer) shares around its own
// reading: closed state and close(), ref()/unref(), the AbortSignal, errors (to the
// iterator, else 'error'), and `for await` through an EventStream.
import { EventEmitter } from 'node:events';
import { EventStream, watchSignal } from './stream';

export abstract class EventBuffer<T> extends EventEmitter implements AsyncIterable<T>, Disposable {
  readonly #name: string;
  readonly #closedMessage: string;
  #closed = false;
  #stream: EventStream<T> | undefined;
  #unwatch: () => void = () => undefined;

  /** @internal */
  protected constructor(name: string, closedMessage: string) {
    super();
    this.#name = name;
    this.#closedMessage = closedMessage;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Keep the process alive while open (the default).
   * @example events.ref();
   */
  ref(): this {
    this.check();
    this.setRef(true);
    return this;
  }

  /**
   * Do not keep the process alive just for this buffer (like timer.unref()).
   * @example events.unref();
   */
  unref(): this {
    this.check();
    this.setRef(false);
    return this;
  }

  /**
   * Stop reading and free the kernel buffers' mappings. Idempotent; allowed inside a
   * callback (the batch stops there). Ends a `for await` (done).
   * @example events.close();
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.closeBuffers();
    this.#unwatch();
    this.#stream?.end();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Events as they come, decoded (or copied, raw) since they outlive any callback. At
   * most highWaterMark wait in the queue: while it is full the kernel buffers are not
   * read, and the BPF side's writes fail (and are counted).
   * @example for await (const e of new RingBuffer(obj.map('events'), { type: 'event' })) console.log(e);
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    if (!this.#stream) throw new TypeError(`this ${this.#name} delivers to a callback; iterate one made without a callback`);
    return this.#stream.iterator();
  }

  /** @internal The iterator's queue (undefined: a callback gets the events). */
  protected get stream(): EventStream<T> | undefined {
    return this.#stream;
  }

  /** @internal Deliver to an iterator through a queue of at most highWaterMark events. */
  protected iterate(highWaterMark: number): void {
    const source = { name: this.#name, reading: (on: boolean) => !this.#closed && this.reading(on), close: () => this.close() };
    this.#stream = new EventStream<T>(source, highWaterMark);
  }

  /** @internal Close when `signal` aborts (an iterator then rejects with its reason). */
  protected watch(signal: AbortSignal | undefined): void {
    this.#unwatch = watchSignal(signal, (reason) => {
      if (this.#closed) return;
      if (this.#stream) this.#stream.fail(reason);
      else this.close();
    });
  }

  /** @internal What the reading threw: ends the iteration, or is emitted as 'error'. */
  protected fail(error: unknown): void {
    if (this.#stream) this.#stream.fail(error);
    else this.emit('error', error);
  }

  /** @internal Throws the fixed TypeError once closed. */
  protected check(): void {
    if (this.#closed) throw new TypeError(this.#closedMessage);
  }

  /** @internal */
  protected abstract closeBuffers(): void;
  /** @internal */
  protected abstract setRef(on: boolean): void;
  /** @internal Stop (backpressure) or resume reading the kernel buffers. */
  protected abstract reading(on: boolean): void;
}
