// A cursor over BPF_MAP_LOOKUP_(AND_DELETE_)BATCH: each next() fills keys/values with
// up to `chunk` entries.
import type { NativeMap } from '../../base/native';
import type { Layout } from './map';
import { view } from './memory';

export class BatchCursor<K> {
  keys: DataView;
  values: DataView;
  count = 0;
  done = false;
  started = false;
  #chunk: number;
  #keyBytes: Buffer;
  #valueBytes: Buffer;
  readonly #tokens: [Buffer, Buffer];
  #in: Buffer | null = null;

  constructor(
    readonly native: NativeMap,
    readonly layout: Layout<K>,
    readonly andDelete: boolean,
    maxEntries: number,
  ) {
    this.#chunk = Math.max(64, Math.min(4096, maxEntries));
    this.#keyBytes = Buffer.alloc(layout.keySize * this.#chunk);
    this.#valueBytes = Buffer.alloc(layout.stride * this.#chunk);
    this.keys = view(this.#keyBytes);
    this.values = view(this.#valueBytes);
    const token = Math.max(layout.keySize, 4);
    this.#tokens = [Buffer.alloc(token), Buffer.alloc(token)];
  }

  next(): void {
    const out = this.#in === this.#tokens[0] ? this.#tokens[1] : this.#tokens[0];
    for (;;) {
      try {
        const r = this.native.lookupBatch(this.andDelete, this.#in, out, this.#keyBytes, this.#valueBytes, this.#chunk, 0);
        this.count = r.count;
        this.done = r.done;
        this.started = true;
        this.#in = out;
        return;
      } catch (e) {
        // ENOSPC: one hash bucket holds more entries than a chunk; retry with a bigger one.
        if ((e as { code?: string }).code !== 'ENOSPC' || this.#chunk >= 1 << 20) throw e;
        this.#chunk *= 4;
        this.#keyBytes = Buffer.alloc(this.layout.keySize * this.#chunk);
        this.#valueBytes = Buffer.alloc(this.layout.stride * this.#chunk);
        this.keys = view(this.#keyBytes);
        this.values = view(this.#valueBytes);
      }
    }
  }
}
