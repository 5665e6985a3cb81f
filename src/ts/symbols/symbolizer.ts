// Symbolizer: stack addresses to names, for the kernel and for any process's user space.
import * as fs from 'node:fs';
import { argRangeError, argTypeError, checkInteger, checkOptions, checkString } from '../base/args';
import type { ElfModule } from './elf-module';
import type { Frame, NormalizedAddress } from './frame';
import { BpfLines } from './bpf-lines';
import { KernelSymbols } from './kernel';
import { PerfMapFile } from './perf-map';
import { type Mapping, ProcessMaps } from './process-maps';

const TWO32 = 2 ** 32;

// The ELF and DWARF readers load when a user address is first symbolized: the runtime
// entry does not load them (nor zlib, for compressed sections) for programs that never do.
let elfModules: typeof import('./elf-module') | undefined;
const elf = (): typeof import('./elf-module') => (elfModules ??= require('./elf-module') as typeof import('./elf-module'));

/** What a Symbolizer reads besides symbol tables, and how long it keeps kernel symbols. */
export interface SymbolizerOptions {
  /** Also give file:line from DWARF line tables (default true; names alone are faster cold). */
  lines?: boolean;
  /**
   * Also give the functions inlined at each address (`Frame.inlined`, from DWARF's
   * DW_TAG_inlined_subroutine; default false: it reads each unit's DIEs a second time, when
   * an address in it is first asked about).
   */
  inlines?: boolean;
  /**
   * Name code that neither the file's symbol table nor DWARF describes (libgcc's helpers,
   * assembly without debug info) from the separate debug file's symbol table (default
   * false: names then agree with llvm-symbolizer's, which leaves such code unnamed).
   */
  debugFileSymbols?: boolean;
  /** Read JIT-ed function names from perf maps (/tmp/perf-PID.map; default true). */
  perfMaps?: boolean;
  /**
   * How long the kernel's symbols (/proc/kallsyms) are kept before they are read again for
   * an address outside the kernel's own text (modules and BPF programs come and go), in
   * milliseconds (default 1000).
   */
  kernelRefreshMs?: number;
}

/** What to symbolize: one process's user space, the kernel, or addresses in one ELF file. */
export type SymbolizeTarget =
  | {
      /** User-space addresses of this process. */
      pid: number;
      /** file:line from DWARF for this call (default: the Symbolizer's `lines`). */
      lines?: boolean;
      /** Inlined functions for this call (default: the Symbolizer's `inlines`). */
      inlines?: boolean;
    }
  | {
      /** Kernel addresses (kallsyms, modules, BPF programs). */
      kernel: true;
    }
  | {
      /** ELF virtual addresses (or file offsets) in this file. */
      file: string;
      /** The addresses are file offsets (what normalize() gives), not virtual addresses. */
      offsets?: boolean;
      /** file:line from DWARF for this call (default: the Symbolizer's `lines`). */
      lines?: boolean;
      /** Inlined functions for this call (default: the Symbolizer's `inlines`). */
      inlines?: boolean;
    };

/** Addresses as stacks hold them: a BigUint64Array (no object per frame) or bigints. */
export type Addresses = BigUint64Array | readonly bigint[];

interface CachedModule {
  module: ElfModule | undefined;
  stamp: string;
}

/**
 * Turns stack addresses into frames: kernel addresses through /proc/kallsyms (with module
 * names, and BPF programs named by their function), user addresses of any process through
 * /proc/PID/maps and the mapped files' ELF symbols, DWARF line tables and separate debug
 * files, JIT-ed code through perf maps. Batched: one call per stack (or many stacks). Files
 * are cached by identity (device, inode, size, mtime), so a changed file is read again and
 * a process that exec()s maps to its new files.
 *
 * A bad address never throws: a gone process, an unreadable or stripped file give frames
 * with what is known (module and file offset, or only the address).
 * @example
 *   const symbolizer = new Symbolizer();
 *   const frames = await symbolizer.symbolize(stacks.get(key.user_stack) ?? [], { pid: key.pid });
 *   console.log(frames.map((f) => f.name ?? `${f.module}+0x${f.offset?.toString(16)}`).join(';'));
 */
export class Symbolizer {
  readonly #lines: boolean;
  readonly #inlines: boolean;
  readonly #perfMaps: boolean;
  readonly #debugFileSymbols: boolean;
  readonly #kernelRefreshMs: number;
  #kernel: KernelSymbols | undefined;
  #kernelReadAt = 0;
  readonly #modules = new Map<string, CachedModule>();
  readonly #perfMapFiles = new Map<string, PerfMapFile>();
  /** BPF programs' line info by tag (a tag is a hash of the program's instructions). */
  readonly #bpfLines = new Map<string, BpfLines | null>();

  /**
   * A Symbolizer with its own caches (keep one for the agent's lifetime).
   * @example
   * const sym = new Symbolizer();
   * const frames = await sym.symbolize(stack, { pid });
   * console.log(frames.map((f) => f.name ?? f.address.toString(16)).join(';'));
   */
  constructor(options?: SymbolizerOptions) {
    const o = checkOptions<SymbolizerOptions>(options, 'options', ['lines', 'inlines', 'debugFileSymbols', 'perfMaps', 'kernelRefreshMs']);
    this.#debugFileSymbols = optionalBoolean(o.debugFileSymbols, 'options.debugFileSymbols') ?? false;
    this.#lines = optionalBoolean(o.lines, 'options.lines') ?? true;
    this.#inlines = optionalBoolean(o.inlines, 'options.inlines') ?? false;
    this.#perfMaps = optionalBoolean(o.perfMaps, 'options.perfMaps') ?? true;
    this.#kernelRefreshMs = o.kernelRefreshMs === undefined ? 1000 : checkInteger(o.kernelRefreshMs, 'options.kernelRefreshMs', 0, 2 ** 31 - 1);
  }

  /**
   * One frame per address, in order. `{ pid }`: user-space addresses of that process;
   * `{ kernel: true }`: kernel addresses; `{ file }`: ELF virtual addresses in that file
   * (as llvm-symbolizer --obj takes them), or file offsets with `offsets: true` (what
   * normalize() gives).
   */
  async symbolize(addresses: Addresses, target: SymbolizeTarget): Promise<Frame[]> {
    return this.symbolizeSync(addresses, target);
  }

  /** symbolize(), on the calling thread without a promise (for scripts and benchmarks). */
  symbolizeSync(addresses: Addresses, target: SymbolizeTarget): Frame[] {
    const words = toWords(addresses);
    const t = checkTarget(target);
    if (t.kind === 'kernel') return this.#kernelFrames(words);
    if (t.kind === 'file') return this.#fileFrames(words, t.file, t.offsets, t.lines ?? this.#lines, t.inlines ?? this.#inlines);
    return this.#processFrames(words, t.pid, t.lines ?? this.#lines, t.inlines ?? this.#inlines);
  }

  /**
   * User addresses of a process made independent of it: file, build ID and file offset,
   * to symbolize later (even elsewhere) with `symbolize(offsets, { file, offsets: true })`.
   */
  normalize(addresses: Addresses, target: { pid: number }): NormalizedAddress[] {
    const words = toWords(addresses);
    const t = checkTarget(target);
    if (t.kind !== 'pid') throw argTypeError('target', 'an object { pid }', target);
    const maps = ProcessMaps.read(t.pid);
    const out: NormalizedAddress[] = [];
    const modules: (ElfModule | undefined | null)[] = [];
    for (let i = 0; i < words.length >>> 1; i++) {
      const address = addressAt(words, i);
      const a = words[2 * i + 1] * TWO32 + words[2 * i];
      const m = maps ? maps.find(a) : -1;
      if (m < 0 || !maps) {
        out.push({ address });
        continue;
      }
      const mapping = maps.mappings[m];
      if (modules[m] === undefined) modules[m] = mapping.path.startsWith('/') ? this.#moduleFor(t.pid, mapping) ?? null : null;
      const module = modules[m] ?? undefined;
      out.push({
        address,
        module: mapping.path || undefined,
        buildId: module?.buildId,
        fileOffset: a - mapping.start + mapping.offset,
      });
    }
    return out;
  }

  /** Drops every cached file, perf map and the kernel's symbols. */
  clear(): void {
    this.#modules.clear();
    this.#perfMapFiles.clear();
    this.#bpfLines.clear();
    this.#kernel = undefined;
  }

  #kernelSymbols(refresh: boolean): KernelSymbols {
    const now = Date.now();
    if (!this.#kernel || (refresh && now - this.#kernelReadAt >= this.#kernelRefreshMs)) {
      try {
        this.#kernel = KernelSymbols.read();
      } catch {
        this.#kernel = new KernelSymbols('');
      }
      this.#kernelReadAt = now;
    }
    return this.#kernel;
  }

  #kernelFrames(words: Uint32Array): Frame[] {
    const n = words.length >>> 1;
    let ksyms = this.#kernelSymbols(false);
    const out: Frame[] = new Array(n);
    let refreshed = false;
    for (let i = 0; i < n; i++) {
      const hi = words[2 * i + 1];
      const lo = words[2 * i];
      let hit = ksyms.lookup(hi, lo);
      // Outside the kernel's own text: modules and BPF programs may have come since.
      if (!refreshed && (!hit || hit.module !== 'vmlinux')) {
        refreshed = true;
        ksyms = this.#kernelSymbols(true);
        hit = ksyms.lookup(hi, lo);
      }
      const frame: Frame = { address: addressAt(words, i) };
      if (hit) {
        frame.name = hit.bpfName ?? hit.symbol;
        frame.offset = hit.offset;
        frame.module = hit.module;
        if (hit.bpfTag) {
          let lines = this.#bpfLines.get(hit.bpfTag);
          if (lines === undefined) this.#bpfLines.set(hit.bpfTag, (lines = BpfLines.forTag(hit.bpfTag) ?? null));
          const row = lines?.lookup(hi, lo);
          if (row) {
            frame.file = row.file;
            frame.line = row.line;
          }
        }
      }
      out[i] = frame;
    }
    return out;
  }

  #fileFrames(words: Uint32Array, file: string, offsets: boolean, lines: boolean, inlines: boolean): Frame[] {
    const n = words.length >>> 1;
    const module = this.#moduleAt(file);
    const out: Frame[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const frame: Frame = { address: addressAt(words, i), module: file };
      const a = words[2 * i + 1] * TWO32 + words[2 * i];
      if (module) {
        const vaddr = offsets ? module.toVirtual(a) : a;
        Object.assign(frame, module.resolve(vaddr, lines, inlines));
        if (frame.name === undefined) frame.offset = offsets ? a : module.toFileOffset(a);
      }
      out[i] = frame;
    }
    return out;
  }

  #processFrames(words: Uint32Array, pid: number, lines: boolean, inlines: boolean): Frame[] {
    const n = words.length >>> 1;
    const out: Frame[] = new Array(n);
    const maps = ProcessMaps.read(pid);
    // Per mapping of this call: its module (null: none), looked up once.
    const modules: (ElfModule | null | undefined)[] = [];
    let perfMapRead = false;
    let perfMap: ReturnType<PerfMapFile['current']>;
    for (let i = 0; i < n; i++) {
      const frame: Frame = { address: addressAt(words, i) };
      out[i] = frame;
      const a = words[2 * i + 1] * TWO32 + words[2 * i];
      const m = maps ? maps.find(a) : -1;
      const mapping = m >= 0 && maps ? maps.mappings[m] : undefined;
      if (mapping && mapping.path !== '' && !mapping.path.startsWith('[') ? true : mapping?.path === '[vdso]') {
        if (modules[m] === undefined) modules[m] = this.#moduleFor(pid, mapping!) ?? null;
        const module = modules[m];
        const fileOffset = a - mapping!.start + mapping!.offset;
        frame.module = mapping!.path;
        if (module) {
          Object.assign(frame, module.resolve(module.toVirtual(fileOffset), lines, inlines));
        }
        if (frame.name === undefined) frame.offset = fileOffset;
        continue;
      }
      // Anonymous executable memory (or memory unmapped since): JIT-ed code.
      if (this.#perfMaps) {
        if (!perfMapRead) {
          perfMapRead = true;
          perfMap = this.#perfMap(pid);
        }
        const hit = perfMap?.lookup(a);
        if (hit) {
          frame.name = hit.name;
          frame.offset = hit.offset;
          frame.module = '[perf-map]';
          continue;
        }
      }
      if (mapping && mapping.path) frame.module = mapping.path;
    }
    return out;
  }

  #perfMap(pid: number): ReturnType<PerfMapFile['current']> {
    // A process in another pid namespace names its map by its own pid, under its own /tmp.
    const nspid = namespacePid(pid);
    const file = nspid === pid ? `/tmp/perf-${pid}.map` : `/proc/${pid}/root/tmp/perf-${nspid}.map`;
    let pm = this.#perfMapFiles.get(file);
    if (!pm) {
      pm = new PerfMapFile(file);
      this.#perfMapFiles.set(file, pm);
    }
    return pm.current();
  }

  /** The module of a file mapping (or the vDSO), cached by file identity. */
  #moduleFor(pid: number, mapping: Mapping): ElfModule | undefined {
    if (mapping.path === '[vdso]') return this.#vdso(pid, mapping);
    // The exact file mapped, even when deleted, replaced or in another mount namespace;
    // then the process's root (containers); then the path as this process sees it.
    const candidates = [`/proc/${pid}/map_files/${mapping.range}`, `/proc/${pid}/root${mapping.path}`];
    if (!mapping.deleted) candidates.push(mapping.path);
    for (const file of candidates) {
      let st: fs.Stats;
      try {
        st = fs.statSync(file);
      } catch {
        continue;
      }
      if (st.ino !== mapping.inode && st.dev === mapping.dev) continue; // another file now
      const key = `${mapping.dev}:${mapping.inode}`;
      const stamp = `${st.size}:${st.mtimeMs}`;
      const cached = this.#modules.get(key);
      if (cached && cached.stamp === stamp) return cached.module;
      let module: ElfModule | undefined;
      try {
        module = elf().ElfModule.open(file, `/proc/${pid}/root${mapping.path}`, this.#debugFileSymbols);
      } catch {
        module = undefined;
      }
      this.#modules.set(key, { module, stamp });
      return module;
    }
    return undefined;
  }

  #moduleAt(file: string): ElfModule | undefined {
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      return undefined;
    }
    const key = `${st.dev}:${st.ino}`;
    const stamp = `${st.size}:${st.mtimeMs}`;
    const cached = this.#modules.get(key);
    if (cached && cached.stamp === stamp) return cached.module;
    let module: ElfModule | undefined;
    try {
      module = elf().ElfModule.open(file, file, this.#debugFileSymbols);
    } catch {
      module = undefined;
    }
    this.#modules.set(key, { module, stamp });
    return module;
  }

  /** The vDSO image, read from the process's memory (the same for every process of an ABI). */
  #vdso(pid: number, mapping: Mapping): ElfModule | undefined {
    let image: Buffer;
    try {
      image = elf().readProcessMemory(pid, mapping.start, mapping.end - mapping.start);
    } catch {
      return undefined;
    }
    const key = `vdso:${image.length}:${hash(image)}`;
    const cached = this.#modules.get(key);
    if (cached) return cached.module;
    let module: ElfModule | undefined;
    try {
      module = elf().ElfModule.fromBytes(image, '[vdso]', this.#debugFileSymbols);
    } catch {
      module = undefined;
    }
    this.#modules.set(key, { module, stamp: '' });
    return module;
  }
}

function hash(b: Buffer): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i += 7) h = Math.imul(h ^ b[i], 0x01000193);
  return h >>> 0;
}

/** The process's pid in its own (innermost) pid namespace, from /proc/PID/status's NSpid. */
function namespacePid(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
    const m = /^NSpid:\s*([\d\s]+)$/m.exec(status);
    const ids = m ? m[1].trim().split(/\s+/) : [];
    return ids.length ? Number(ids[ids.length - 1]) : pid;
  } catch {
    return pid;
  }
}

function optionalBoolean(v: unknown, name: string): boolean | undefined {
  if (v !== undefined && typeof v !== 'boolean') throw argTypeError(name, 'a boolean', v);
  return v as boolean | undefined;
}

type Target = { kind: 'pid'; pid: number; lines?: boolean; inlines?: boolean } | { kind: 'kernel' } | { kind: 'file'; file: string; offsets: boolean; lines?: boolean; inlines?: boolean };

function checkTarget(target: unknown): Target {
  const expected = 'an object { pid }, { kernel: true } or { file }';
  if (typeof target !== 'object' || target === null || Array.isArray(target)) throw argTypeError('target', expected, target);
  const t = target as Record<string, unknown>;
  const kinds = ['pid', 'kernel', 'file'].filter((k) => t[k] !== undefined);
  if (kinds.length !== 1) throw argTypeError('target', expected, target);
  if (kinds[0] === 'kernel') {
    checkOptions(target, 'target', ['kernel']);
    if (t.kernel !== true) throw argTypeError('target.kernel', 'true', t.kernel);
    return { kind: 'kernel' };
  }
  if (kinds[0] === 'pid') {
    checkOptions(target, 'target', ['pid', 'lines', 'inlines']);
    return { kind: 'pid', pid: checkInteger(t.pid, 'target.pid', 1, 2 ** 31 - 1), lines: optionalBoolean(t.lines, 'target.lines'), inlines: optionalBoolean(t.inlines, 'target.inlines') };
  }
  checkOptions(target, 'target', ['file', 'offsets', 'lines', 'inlines']);
  return { kind: 'file', file: checkString(t.file, 'target.file'), offsets: optionalBoolean(t.offsets, 'target.offsets') ?? false, lines: optionalBoolean(t.lines, 'target.lines'), inlines: optionalBoolean(t.inlines, 'target.inlines') };
}

/** The addresses as little-endian 32-bit words (low, high), without a bigint per address. */
function toWords(addresses: unknown): Uint32Array {
  if (addresses instanceof BigUint64Array) {
    // A view when 4-aligned (always, unless a subarray of odd bytes); else a copy.
    if (addresses.byteOffset % 4 === 0) return new Uint32Array(addresses.buffer, addresses.byteOffset, addresses.length * 2);
    return new Uint32Array(addresses.slice().buffer);
  }
  if (!Array.isArray(addresses)) throw argTypeError('addresses', 'a BigUint64Array or an array of bigints', addresses);
  const a = new BigUint64Array(addresses.length);
  for (let i = 0; i < addresses.length; i++) {
    const v: unknown = addresses[i];
    if (typeof v !== 'bigint') throw argTypeError(`addresses[${i}]`, 'a bigint', v);
    if (v < 0n || v >= 1n << 64n) throw argRangeError(`addresses[${i}]`, 'a bigint 0..2^64-1', v);
    a[i] = v;
  }
  return new Uint32Array(a.buffer);
}

function addressAt(words: Uint32Array, i: number): bigint {
  return (BigInt(words[2 * i + 1]) << 32n) | BigInt(words[2 * i]);
}
