// Reading BPF iterators. Every pass opens a new iterator instance (bpf_iter_create) on
// the link and reads it to the end; the iterator program runs inside each read(2), in
// the reading thread. Sync reads (readIterator) run on the JS thread and suit small
// outputs; async reads (iterateChunks) run one read(2) per chunk on the libuv thread
// pool, so a large walk (every task, every socket) never blocks the event loop.
import { argTypeError, checkInteger, checkOptions } from '../base/args';
import { addon } from '../base/native';

export interface IterReadOptions {
  /** Bytes per read(2) and per chunk yielded (default 64 KiB). */
  chunkSize?: number;
  /** Stops the walk between chunks: the pending `next()` rejects with the signal's reason. */
  signal?: AbortSignal;
}

const DEFAULT_CHUNK = 64 * 1024;

export function checkReadOptions(options: unknown): { chunkSize: number; signal?: AbortSignal } {
  const o = checkOptions<IterReadOptions>(options, 'options', ['chunkSize', 'signal']);
  const chunkSize = o.chunkSize === undefined ? DEFAULT_CHUNK : checkInteger(o.chunkSize, 'options.chunkSize', 1, 2 ** 30);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw argTypeError('options.signal', 'an AbortSignal', o.signal);
  return { chunkSize, signal: o.signal };
}

/** Everything one pass of the iterator prints, read on the JS thread. */
export function readIterator(linkFd: number): Buffer {
  const iter = addon.NativeIter.open(linkFd);
  try {
    const scratch = Buffer.allocUnsafe(DEFAULT_CHUNK);
    const chunks: Buffer[] = [];
    for (let n; (n = iter.readSync(scratch)) > 0; ) chunks.push(Buffer.from(scratch.subarray(0, n)));
    return Buffer.concat(chunks);
  } finally {
    iter.close();
  }
}

/** One pass of the iterator as chunks, each read off the JS thread. Opens the instance on the first next(). */
export async function* iterateChunks(linkFd: () => number, options: { chunkSize: number; signal?: AbortSignal }): AsyncGenerator<Buffer, void, undefined> {
  const { chunkSize, signal } = options;
  signal?.throwIfAborted();
  const iter = addon.NativeIter.open(linkFd());
  try {
    for (;;) {
      const chunk = await iter.read(chunkSize);
      if (chunk.length === 0) return;
      signal?.throwIfAborted();
      yield chunk;
    }
  } finally {
    iter.close();
  }
}
