// `for await` over an event buffer (RingBuffer, PerfBuffer): a bounded queue between
// the buffer's walk and the iterator. While the queue is full the owner stops reading
// its buffers (backpressure: the kernel side then drops, and counts), and reads again
// once the consumer drained half of it. An AbortSignal or a failure ends the iteration
// with that error; close() ends it with done.
import { argTypeError } from '../base/args';

interface Waiter<T> {
  resolve(result: IteratorResult<T>): void;
  reject(error: unknown): void;
}

export function checkSignal(value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  const ok = !!value && typeof value === 'object' && typeof (value as AbortSignal).aborted === 'boolean' && typeof (value as AbortSignal).addEventListener === 'function';
  if (!ok) throw argTypeError('options.signal', 'an AbortSignal', value);
  return value as AbortSignal;
}

/**
 * Calls `abort(reason)` when `signal` aborts (at once if it did already); returns the
 * function that stops watching it.
 */
export function watchSignal(signal: AbortSignal | undefined, abort: (reason: unknown) => void): () => void {
  if (!signal) return () => undefined;
  if (signal.aborted) {
    abort(signal.reason);
    return () => undefined;
  }
  const onAbort = (): void => abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

export interface EventSource {
  /** The class name, for messages: 'RingBuffer'. */
  readonly name: string;
  /** Stop (false) or resume (true) reading the kernel's buffers. */
  reading(on: boolean): void;
  /** Close the whole buffer (the iterator's return(), a failure, an abort). */
  close(): void;
}

export class EventStream<T> {
  readonly #highWaterMark: number;
  readonly #source: EventSource;
  #queue: (T | undefined)[] = [];
  #head = 0;
  #waiters: Waiter<T>[] = [];
  #paused = false;
  #iterating = false;
  #ended = false;
  #failure: { error: unknown } | undefined;

  constructor(source: EventSource, highWaterMark: number) {
    this.#source = source;
    this.#highWaterMark = highWaterMark;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Events waiting in the queue. */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  /** How many more events the queue takes before it is full (pending next() calls count as room). */
  room(): number {
    return this.#highWaterMark - this.queued + this.#waiters.length;
  }

  push(event: T): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve({ value: event, done: false });
    else this.#queue.push(event);
  }

  /** After a walk: stop reading while the queue is full. */
  settle(): void {
    if (this.room() <= 0) this.#pause();
  }

  iterator(): AsyncIterableIterator<T> {
    if (this.#iterating) throw new TypeError(`this ${this.#source.name} is already being iterated`);
    this.#iterating = true;
    const iterator: AsyncIterableIterator<T> = {
      next: () => this.#next(),
      return: (value?: unknown) => {
        this.#source.close();
        return Promise.resolve({ value: value as T, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** Ends the iteration with `error` (the next next() rejects with it) and closes the source. */
  fail(error: unknown): void {
    if (this.#ended) return;
    this.#failure = { error };
    this.#source.close();
  }

  /** The source closed: queued events are dropped, pending next() calls settle. */
  end(): void {
    this.#ended = true;
    this.#queue = [];
    this.#head = 0;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) this.#settle(w);
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
      if (this.#paused && this.queued <= this.#highWaterMark >>> 1) this.#resume();
      return Promise.resolve({ value, done: false });
    }
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      if (this.#ended) this.#settle(waiter);
      else {
        this.#waiters.push(waiter);
        this.#resume();
      }
    });
  }

  // A waiter once ended: the failure that ended the iteration (once), else done.
  #settle(waiter: Waiter<T>): void {
    const failure = this.#failure;
    this.#failure = undefined;
    if (failure) waiter.reject(failure.error);
    else waiter.resolve({ value: undefined as T, done: true });
  }

  #pause(): void {
    if (this.#paused || this.#ended) return;
    this.#paused = true;
    this.#source.reading(false);
  }

  #resume(): void {
    if (!this.#paused || this.#ended) return;
    this.#paused = false;
    this.#source.reading(true);
  }
}
