// Perf maps (/tmp/perf-PID.map): the names of JIT-ed code, one "START SIZE name" line (hex)
// per function, appended as the runtime compiles (node --perf-basic-prof, the JVM's
// perf-map-agent, .NET, LuaJIT, ...). Later lines win where code was moved or replaced.
import * as fs from 'node:fs';
import { lastAtOrBefore, sortedOrder } from '../elf/address-table';

export interface PerfMapHit {
  name: string;
  offset: number;
}

export class PerfMap {
  readonly #starts: Float64Array;
  readonly #ends: Float64Array;
  readonly #names: string[];
  readonly #count: number;

  constructor(text: string) {
    const lines = text.split('\n');
    const starts = new Float64Array(lines.length);
    const ends = new Float64Array(lines.length);
    const names: string[] = [];
    let n = 0;
    for (const line of lines) {
      const sp1 = line.indexOf(' ');
      const sp2 = line.indexOf(' ', sp1 + 1);
      if (sp1 <= 0 || sp2 < 0) continue;
      const start = parseInt(line.slice(0, sp1), 16);
      const size = parseInt(line.slice(sp1 + 1, sp2), 16);
      if (!Number.isFinite(start) || !Number.isFinite(size)) continue;
      starts[n] = start;
      ends[n] = start + size;
      names[n] = line.slice(sp2 + 1);
      n++;
    }
    // Sorted by start; of entries starting at one address the last written wins, and an
    // entry keeps only the part before the next one starts (code replaced in place).
    const order = sortedOrder(starts, n);
    this.#starts = new Float64Array(n);
    this.#ends = new Float64Array(n);
    this.#names = [];
    let k = 0;
    for (let j = 0; j < n; j++) {
      const i = order[j];
      if (k > 0 && this.#starts[k - 1] === starts[i]) k--;
      this.#starts[k] = starts[i];
      this.#ends[k] = ends[i];
      this.#names[k] = names[i];
      k++;
    }
    this.#count = k;
  }

  get size(): number {
    return this.#count;
  }

  lookup(address: number): PerfMapHit | undefined {
    const i = lastAtOrBefore(this.#starts, this.#count, address);
    if (i < 0 || address >= this.#ends[i]) return undefined;
    return { name: this.#names[i], offset: address - this.#starts[i] };
  }
}

/** A perf map file read again only when it changed (size or mtime), as runtimes append to it. */
export class PerfMapFile {
  #map: PerfMap | undefined;
  #stamp = '';

  constructor(readonly path: string) {}

  current(): PerfMap | undefined {
    let st: fs.Stats;
    try {
      st = fs.statSync(this.path);
    } catch {
      this.#map = undefined;
      this.#stamp = '';
      return undefined;
    }
    const stamp = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    if (stamp !== this.#stamp) {
      try {
        this.#map = new PerfMap(fs.readFileSync(this.path, 'utf8'));
        this.#stamp = stamp;
      } catch {
        this.#map = undefined;
      }
    }
    return this.#map;
  }
}
