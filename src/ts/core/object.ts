// BpfObject: one clang-compiled *.bpf.o, opened, configured, loaded (CO-RE relocation
// and verification against the running kernel), attached and closed.
import * as fs from 'node:fs';
import { argRangeError, argTypeError, checkFilePath, checkOptionalString, checkOptions, checkInteger, checkString } from '../base/args';
import { Btf } from '../btf/btf';
import { validateBtf } from '../btf/validate';
import { linkDwarf } from '../dwarf/fallback';
import { verifierLogs } from '../errors/bpf-error';
import { refineLoadError } from '../errors/hints';
import { refineAttachError } from '../errors/attach-hints';
import { CLOSED } from '../errors/state';
import { makeGlobals, type Globals } from './globals';
import { INTERNAL } from '../base/internal';
import { Link } from './link';
import { BpfMap, checkMapMemory, innerMapShapes, refineMapLoadError, type MapShape } from './map';
import { addon, type NativeLink, type NativeMap, type NativeObject, type NativeProgram } from '../base/native';
import { Program } from './program';

/** Options of `BpfObject.open(source, options)`: what libbpf needs to know before load. */
export interface OpenOptions {
  /** A BTF file to relocate against instead of /sys/kernel/btf/vmlinux (kernels without BTF). */
  btfCustomPath?: string;
  /** Kconfig values for `extern` CONFIG_* variables: "CONFIG_X=y\n..." or { CONFIG_X: true }. */
  kconfig?: string | Record<string, string | number | boolean>;
  /** Directory for maps declared with LIBBPF_PIN_BY_NAME (default /sys/fs/bpf). */
  pinRoot?: string;
  /** Object name (default: the file name, or 'object' for a Buffer); prefixes internal maps' names. */
  name?: string;
  /** Kernel verifier log level for every program: 1 basic, 2 verbose, 4 statistics (a bitmask). */
  logLevel?: number;
  /**
   * Refuse to load (BpfError E2BIG, before anything reaches the kernel) when the object's
   * maps, inner map templates included, would make the kernel allocate more than this many
   * bytes (entries x (key + value), per CPU for per-CPU maps). Without it an untrusted
   * object decides alone how much kernel memory load() takes.
   */
  maxMapMemory?: number;
}

const OPTION_NAMES = ['btfCustomPath', 'kconfig', 'pinRoot', 'name', 'logLevel', 'maxMapMemory'] as const;

function kconfigString(kconfig: OpenOptions['kconfig']): string | undefined {
  if (kconfig === undefined) return undefined;
  if (typeof kconfig === 'string') return noNul(kconfig, 'options.kconfig');
  if (typeof kconfig !== 'object' || kconfig === null) throw argTypeError('options.kconfig', 'a string or an object', kconfig);
  return Object.entries(kconfig)
    .map(([k, v]) => {
      noNul(k, `options.kconfig key ${JSON.stringify(k)}`);
      if (typeof v === 'string') noNul(v, `options.kconfig.${k}`);
      if (typeof v === 'boolean') return `${k}=${v ? 'y' : 'n'}`;
      if (typeof v === 'number' || typeof v === 'string') return `${k}=${typeof v === 'string' ? JSON.stringify(v) : v}`;
      throw argTypeError(`options.kconfig.${k}`, 'a boolean, number or string', v);
    })
    .join('\n');
}

// libbpf reads kconfig as a C string: a NUL would silently cut it short.
function noNul(value: string, name: string): string {
  if (value.includes('\0')) throw argRangeError(name, 'a string without NUL characters', value);
  return value;
}

/**
 * One clang-compiled BPF object (`*.bpf.o`): its programs, maps and global variables, in
 * three phases. `open()` parses the ELF (nothing reaches the kernel); then programs,
 * maps and globals are configured; `load()` creates the maps, relocates (CO-RE) against
 * the running kernel and verifies every program; then programs are attached. `close()`
 * ends it all: the event buffers made from its maps and its links first, then the maps
 * and programs. Not closing an object is a bug: garbage collection is only a backstop.
 *
 * @example
 * ```ts
 * using obj = BpfObject.open('exec.bpf.o');
 * obj.globals.target_ppid = process.pid;
 * await obj.load();
 * obj.attach();
 * console.log(obj.map('counts').get(0));
 * // the end of the block closes obj (or call obj.close())
 * ```
 */
export class BpfObject implements Disposable {
  #native: NativeObject;
  #closed = false;
  #loaded = false;
  readonly #programs: Program[];
  readonly #nativePrograms: NativeProgram[];
  readonly #maps: BpfMap[];
  readonly #nativeMaps: NativeMap[];
  #btf: Btf | null | undefined;
  // Where the ELF file is read again for types only its DWARF has (a path, or the caller's bytes).
  #source: string | Uint8Array | undefined;
  #globals: Globals | undefined;
  #verifierLogs = new Map<string, string>();
  #loadDurationNs: bigint | undefined;
  #btfCustomPath: string | undefined;
  #maxMapMemory: number | undefined;

  /**
   * Open a BPF object file (or its bytes). Nothing reaches the kernel until load().
   * @example
   * const obj = BpfObject.open('exec.bpf.o');
   * obj.globals.target_ppid = 42;
   * await obj.load();
   * obj.attach();
   */
  static open(source: string | Uint8Array, options?: OpenOptions): BpfObject {
    if (typeof source !== 'string' && !(source instanceof Uint8Array)) {
      throw argTypeError('source', 'a path or a Buffer with an ELF object', source);
    }
    if (typeof source === 'string' && source.length === 0) throw argTypeError('source', 'a path or a Buffer with an ELF object', source);
    if (source instanceof Uint8Array && source.length === 0) throw argRangeError('source', 'a non-empty Buffer', source);
    if (typeof source === 'string') checkFilePath(source, 'source'); // a FIFO would block forever, a NUL cut the path
    const o = checkOptions<OpenOptions>(options, 'options', OPTION_NAMES);
    const btfCustomPath = o.btfCustomPath === undefined ? undefined : checkFilePath(o.btfCustomPath, 'options.btfCustomPath');
    const native = addon.NativeObject.open(source, {
      name: checkOptionalString(o.name, 'options.name') ?? (typeof source === 'string' ? undefined : 'object'),
      btfCustomPath,
      pinRoot: checkOptionalString(o.pinRoot, 'options.pinRoot'),
      kconfig: kconfigString(o.kconfig),
      kernelLogLevel: o.logLevel === undefined ? undefined : checkInteger(o.logLevel, 'options.logLevel', 0, 7),
    });
    const obj = new BpfObject(INTERNAL, native);
    obj.#source = source;
    obj.#btfCustomPath = btfCustomPath;
    obj.#maxMapMemory = o.maxMapMemory === undefined ? undefined : checkInteger(o.maxMapMemory, 'options.maxMapMemory', 0, Number.MAX_SAFE_INTEGER);
    return obj;
  }

  /** @internal Use BpfObject.open(). */
  constructor(token: symbol, native: NativeObject) {
    if (token !== INTERNAL) throw new TypeError('Illegal constructor: use BpfObject.open()');
    this.#native = native;
    const programOwner = {
      adoptLink: (n: NativeLink, kind?: typeof Link) => this.#adopt(n, kind),
      verifierLog: (name: string) => this.#verifierLogs.get(name),
    };
    const mapOwner = {
      btf: () => this.#objectBtf(),
      check: () => this.#check(),
      adoptLink: (n: NativeLink) => this.#adopt(n),
    };
    this.#nativePrograms = native.programs();
    this.#programs = this.#nativePrograms.map((p) => new Program(INTERNAL, p, programOwner));
    this.#nativeMaps = native.maps();
    this.#maps = this.#nativeMaps.map((m) => new BpfMap(INTERNAL, m, mapOwner));
  }

  /** The object's name (internal maps are named after it). */
  get name(): string {
    return this.#native.name();
  }

  /** True after load() succeeded, until close(). */
  get loaded(): boolean {
    return this.#loaded && !this.#closed;
  }

  /** True once close() ran: every method of the object, its programs and maps then throws a TypeError. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Every program in the object. */
  programs(): Program[] {
    this.#check();
    return [...this.#programs];
  }

  /** The program named `name` (its C function name); throws RangeError if absent. */
  program(name: string): Program {
    this.#check();
    checkString(name, 'name');
    const found = this.#programs.find((p) => p.name === name);
    if (!found) throw argRangeError('name', `one of this object's programs (${this.#programs.map((p) => p.name).join(', ')})`, name);
    return found;
  }

  /** Every map, internal ones (.data, .rodata, .bss, .kconfig) included. */
  maps(): BpfMap[] {
    this.#check();
    return [...this.#maps];
  }

  /** The map named `name`; internal maps also answer to their section (".bss"). Throws RangeError if absent. */
  map<K = any, V = any>(name: string): BpfMap<K, V> {
    this.#check();
    checkString(name, 'name');
    const found = this.#maps.find((m) => m.name === name) ?? this.#maps.find((m) => m.internal && m.name.endsWith(name) && name.startsWith('.'));
    if (!found) throw argRangeError('name', `one of this object's maps (${this.#maps.map((m) => m.name).join(', ')})`, name);
    return found as BpfMap<K, V>;
  }

  /** Global variables by name, typed by BTF: initial values before load, live memory after. */
  get globals(): Globals {
    this.#check();
    return (this.#globals ??= makeGlobals({
      btf: () => this.#objectBtf(),
      internalMaps: () => this.#nativeMaps.filter((m) => m.isInternal()),
      loaded: () => this.loaded,
      check: () => this.#check(),
    }));
  }

  /** The object's own BTF (types of its maps, globals and programs), if it has any. */
  get btf(): Btf | undefined {
    this.#check();
    return this.#objectBtf();
  }

  /**
   * How long the successful load() took (wall time, nanoseconds): map creation, CO-RE
   * relocation and the verifier for every program. Undefined before load.
   * @example await obj.load(); console.log(Number(obj.loadDurationNs) / 1e6, 'ms');
   */
  get loadDurationNs(): bigint | undefined {
    return this.#loadDurationNs;
  }

  /**
   * Create the maps, apply CO-RE relocations against the kernel's BTF and load every
   * program (autoload) into the kernel. Runs off the JS thread.
   * Rejects with VerifierError (with the full log) when the verifier refuses a program.
   */
  async load(): Promise<void> {
    this.#check();
    const trace: { stack?: string } = {};
    Error.captureStackTrace(trace, BpfObject.prototype.load);
    this.#validateBtf(); // libbpf's CO-RE relocation never returns on some malformed BTF
    if (this.#maxMapMemory !== undefined) this.#checkMapMemory(this.#maxMapMemory);
    try {
      const started = process.hrtime.bigint();
      const lines = await this.#native.load();
      this.#loadDurationNs = process.hrtime.bigint() - started;
      this.#verifierLogs = verifierLogs(lines);
      this.#loaded = true;
    } catch (caught) {
      // Trampoline kinds: why the kernel refused; map kinds newer than the kernel: what brings them.
      const e = refineMapLoadError(refineLoadError(caught, this.#programs), this.#maps);
      if (e instanceof Error && trace.stack) e.stack = `${e.name}: ${e.message}\n${trace.stack.split('\n').slice(1).join('\n')}`;
      throw e;
    }
  }

  /**
   * Attach every loaded program whose section names its target (tp/..., raw_tp/x, ...).
   * All or nothing: if one fails, the links made so far are destroyed.
   */
  attach(): Link[] {
    this.#check();
    const made: Link[] = [];
    try {
      for (const program of this.#nativePrograms) {
        if (!program.autoload() || !program.autoattach()) continue;
        let native: NativeLink | null;
        try {
          native = program.attach(); // null: the section names no target
        } catch (e) {
          throw refineAttachError(e, program.name(), program.sectionName());
        }
        if (native) made.push(this.#adopt(native));
      }
    } catch (e) {
      for (const link of made) link.destroy();
      throw e;
    }
    return made;
  }

  /** Close the ring buffers made from its maps and destroy its links, then unload and free everything. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#native.close(); // the addon's close cascade: event buffers (each told), links, map memory, the object
  }

  /** close(), for `using obj = BpfObject.open(...)`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #check(): void {
    if (this.#closed) throw new TypeError(CLOSED);
  }

  #adopt(native: NativeLink, kind: typeof Link = Link): Link {
    return new kind(INTERNAL, native);
  }

  #checkMapMemory(limit: number): void {
    const maps: MapShape[] = this.#maps.filter((m) => this.#nativeMaps[this.#maps.indexOf(m)].autocreate());
    const btf = this.#objectBtf();
    checkMapMemory([...maps, ...(btf ? innerMapShapes(btf) : [])], limit);
  }

  #validateBtf(): void {
    const own = this.#objectBtf();
    if (own) validateBtf(own, "the object's BTF");
    if (this.#btfCustomPath === undefined) return;
    let custom: Btf;
    try {
      custom = Btf.fromFile(this.#btfCustomPath);
    } catch {
      return; // not BTF at all: bpf_object__load fails on it the same way, with its own words
    }
    validateBtf(custom, 'options.btfCustomPath');
  }

  #objectBtf(): Btf | undefined {
    if (this.#btf === undefined) {
      const bytes = this.#native.btf();
      this.#btf = bytes ? Btf.fromLibbpf(bytes, undefined, "the object's BTF") : null;
      const source = this.#source;
      if (this.#btf && source !== undefined) linkDwarf(this.#btf, () => (typeof source === 'string' ? fs.readFileSync(source) : source));
    }
    return this.#btf ?? undefined;
  }
}
