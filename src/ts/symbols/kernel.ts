// Kernel symbols from /proc/kallsyms: the text symbols of the kernel, its modules and BPF
// programs (`bpf_prog_<tag>_<name> [bpf]`), sorted for binary search. Names are sliced
// from the file's text only when an address asks for them.
import * as fs from 'node:fs';
import { lastAtOrBefore, sortedOrder } from '../elf/address-table';

const TWO32 = 2 ** 32;
/** Kernel addresses differ from the table's base in their high word by less than this. */
const HIGH_SPAN = 1 << 20;

/** One kernel symbol hit: the name as kallsyms gives it, its module, and its start. */
export interface KernelHit {
  symbol: string;
  /** 'vmlinux', a module name, or 'bpf' (BPF programs, trampolines, dispatchers). */
  module: string;
  offset: number;
  /** The BPF program's tag and function name when the symbol is a `bpf_prog_<tag>_<name>`. */
  bpfTag?: string;
  bpfName?: string;
}

const BPF_PROG = /^bpf_prog_([0-9a-f]{16})_(.*)$/;

/**
 * The text symbols of /proc/kallsyms. Without the privilege to see addresses (kallsyms
 * shows zeros: kptr_restrict, no CAP_SYSLOG) the table is empty and `available` is false.
 */
export class KernelSymbols {
  readonly available: boolean;
  readonly #text: Buffer;
  /** Start of each symbol, relative to #baseHigh * 2^32; ascending, one entry per address. */
  readonly #starts: Float64Array;
  readonly #nameStart: Int32Array;
  readonly #nameEnd: Int32Array;
  readonly #module: Uint16Array;
  readonly #modules: string[];
  readonly #count: number;
  readonly #baseHigh: number;

  constructor(text: Buffer | string) {
    const buf = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
    this.#text = buf;
    // Pass 1 over the bytes: every text symbol's address (high, low words), name span, module.
    let cap = 1024;
    let high = new Float64Array(cap);
    let low = new Float64Array(cap);
    let ns = new Int32Array(cap);
    let ne = new Int32Array(cap);
    let mod = new Uint16Array(cap);
    const modules = ['vmlinux'];
    const moduleIndex = new Map<string, number>([['vmlinux', 0]]);
    let n = 0;
    let pos = 0;
    const len = buf.length;
    while (pos < len) {
      let eol = buf.indexOf(0x0a, pos);
      if (eol < 0) eol = len;
      // "ffffffff81000000 T _stext" or "... t name\t[module]"
      let hi = 0;
      let lo = 0;
      let p = pos;
      let digits = 0;
      for (; p < eol; p++, digits++) {
        const c = buf[p];
        const v = c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57;
        if (c === 0x20 || v < 0 || v > 15) break;
        // Shift one hex digit into (hi, lo): hi takes lo's top nibble.
        hi = hi * 16 + (lo >>> 28);
        lo = ((lo << 4) | v) >>> 0;
      }
      const type = buf[p + 1];
      // t T (text), w W (weak, mostly text here)
      if (buf[p] === 0x20 && digits > 0 && p + 3 < eol && (type === 0x74 || type === 0x54 || type === 0x77 || type === 0x57)) {
        const nameStart = p + 3;
        let nameEnd = eol;
        let m = 0;
        if (buf[eol - 1] === 0x5d) {
          // "\t[module]" ends the line of a module's symbol
          const tab = buf.lastIndexOf(0x09, eol);
          if (tab >= nameStart) {
            nameEnd = tab;
            const modName = buf.toString('latin1', tab + 2, eol - 1);
            let idx = moduleIndex.get(modName);
            if (idx === undefined) {
              idx = modules.length;
              modules.push(modName);
              moduleIndex.set(modName, idx);
            }
            m = idx;
          }
        }
        if ((hi !== 0 || lo !== 0) && nameEnd > nameStart) {
          if (n === cap) {
            cap *= 2;
            high = grow(high, cap);
            low = grow(low, cap);
            ns = grow(ns, cap);
            ne = grow(ne, cap);
            mod = grow(mod, cap);
          }
          high[n] = hi;
          low[n] = lo;
          ns[n] = nameStart;
          ne[n] = nameEnd;
          mod[n] = m;
          n++;
        }
      }
      pos = eol + 1;
    }
    this.#modules = modules;
    this.available = n > 0;
    // The base: the smallest high word (the kernel's text and modules share 0xffffffff on
    // x86-64; other layouts stay within HIGH_SPAN of it).
    let baseHigh = Infinity;
    for (let i = 0; i < n; i++) if (high[i] < baseHigh) baseHigh = high[i];
    this.#baseHigh = n ? baseHigh : 0;
    const rel = new Float64Array(n);
    for (let i = 0; i < n; i++) rel[i] = high[i] - baseHigh < HIGH_SPAN ? (high[i] - baseHigh) * TWO32 + low[i] : Infinity;
    // Sorted by address, stable: of aliases at one address the first listed wins, as the
    // kernel's own lookup (kallsyms_lookup, %pS) picks it.
    const order = sortedOrder(rel, n);
    const starts = new Float64Array(n);
    const nameStart = new Int32Array(n);
    const nameEnd = new Int32Array(n);
    const module = new Uint16Array(n);
    let k = 0;
    for (let j = 0; j < n; j++) {
      const i = order[j];
      if (rel[i] === Infinity || (k > 0 && starts[k - 1] === rel[i])) continue;
      starts[k] = rel[i];
      nameStart[k] = ns[i];
      nameEnd[k] = ne[i];
      module[k] = mod[i];
      k++;
    }
    this.#starts = starts;
    this.#nameStart = nameStart;
    this.#nameEnd = nameEnd;
    this.#module = module;
    this.#count = k;
  }

  /** Reads /proc/kallsyms (or another file in its format). */
  static read(path = '/proc/kallsyms'): KernelSymbols {
    return new KernelSymbols(fs.readFileSync(path));
  }

  /** Number of distinct symbol addresses. */
  get size(): number {
    return this.#count;
  }

  /**
   * The symbol containing the address given as its high and low 32-bit words, or
   * undefined (below the first symbol, or no symbols visible).
   */
  lookup(high: number, low: number): KernelHit | undefined {
    const dh = high - this.#baseHigh;
    if (dh < 0 || dh >= HIGH_SPAN) return undefined;
    const rel = dh * TWO32 + low;
    const i = lastAtOrBefore(this.#starts, this.#count, rel);
    if (i < 0) return undefined;
    const symbol = this.#text.toString('latin1', this.#nameStart[i], this.#nameEnd[i]);
    const module = this.#modules[this.#module[i]];
    const hit: KernelHit = { symbol, module, offset: rel - this.#starts[i] };
    if (module === 'bpf') {
      const m = BPF_PROG.exec(symbol);
      if (m) {
        hit.bpfTag = m[1];
        hit.bpfName = m[2];
      }
    }
    return hit;
  }
}

function grow<T extends Float64Array | Int32Array | Uint16Array>(a: T, cap: number): T {
  const b = new (a.constructor as new (n: number) => T)(cap);
  b.set(a);
  return b;
}
