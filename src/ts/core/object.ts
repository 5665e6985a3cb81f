// BpfObject: one clang-compiled *.bpf.o, opened, configured, loaded (CO-RE relocation
// and verification against the running kernel), attached and closed.
import * as fs from 'node:fs';
import { argRangeError, argTypeError, checkFilePath, checkOptionalString, checkOptions, checkInteger, checkString } from '../base/args';
import type { BtfType } from '../btf/btf';
import { Btf } from '../btf/btf';
import { validateBtf } from '../btf/validate';
import { linkDwarf } from '../dwarf/fallback';
import { verifierLogs } from '../errors/bpf-error';
import { refineLoadError } from '../errors/hints';
import { refineAttachError } from '../errors/attach-hints';
import { CLOSED, NOT_LOADED } from '../errors/state';
import { makeGlobals, type Globals } from './globals';
import { INTERNAL } from '../base/internal';
import { Link, nativeLinkOf, swapNativeLink } from './link';
import { BpfMap, checkMapDefinitions, checkMapMemory, innerMapShapes, refineMapLoadError, type MapShape } from './map';
import { addon, type NativeLink, type NativeMap, type NativeObject, type NativeProgram } from '../base/native';
import { attachBySection, Program, type LinkRecipe } from './program';

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
  /**
   * A BPF token (Linux 6.9+) for load(): the root of a bpffs mounted with delegation
   * options (`delegate_cmds`, `delegate_maps`, `delegate_progs`, `delegate_attachs`) by a
   * privileged process for this process's user namespace. libbpf creates the token from it
   * at load and uses it for every map, BTF and program it creates, so a process without
   * CAP_BPF in the initial user namespace (an agent in a user-namespaced container) can
   * load what the mount delegates. `false`: no token, even where LIBBPF_BPF_TOKEN_PATH is
   * set. Default: LIBBPF_BPF_TOKEN_PATH when set (then required), else libbpf tries
   * /sys/fs/bpf and goes on without a token when it has no delegation.
   * @example
   * ```ts
   * const obj = BpfObject.open('agent.bpf.o', { bpfToken: '/sys/fs/bpf' });
   * ```
   */
  bpfToken?: string | false;
}

const OPTION_NAMES = ['btfCustomPath', 'kconfig', 'pinRoot', 'name', 'logLevel', 'maxMapMemory', 'bpfToken'] as const;

// A directory path (a bpffs mount), or false for "no token" (libbpf's empty path).
function tokenPath(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (value === false) return '';
  if (typeof value !== 'string' || value.length === 0) throw argTypeError('options.bpfToken', 'a path to a bpffs mount, or false', value);
  checkString(value, 'options.bpfToken');
  const st = fs.statSync(value, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) throw argRangeError('options.bpfToken', 'a directory (a bpffs mount)', value);
  return value;
}

/** Options of `obj.upgrade(next, options)`: how the next version opens, and what it may change. */
export interface UpgradeOptions extends OpenOptions {
  /**
   * A map of the running version whose shape the next version changed (type, key or value
   * size, max entries, flags, or BTF layout) starts empty in the next version:
   * 'replace' (the default) does that and reports it; 'refuse' rejects the upgrade
   * (RangeError, the running version untouched) when any map holding state would be
   * replaced. Read-only maps (.rodata, .kconfig) always come from the next version.
   */
  onMapChange?: 'replace' | 'refuse';
  /** Configure the opened next version before it loads (globals, autoload); only valid during the call. */
  configure?: (next: BpfObject) => void;
}

/** What `obj.upgrade()` did. */
export interface UpgradeResult {
  /** Maps the next version took over from the running one, state included. */
  reused: string[];
  /** Maps of both versions that the next one created anew, and why (their state is gone). */
  replaced: {
    /** The map's name. */
    name: string;
    /** What changed ("max entries 4 -> 8", "value type layout", ...). */
    reason: string;
  }[];
  /** Maps only the next version has. */
  added: string[];
  /** Maps only the running version had (closed with it). */
  dropped: string[];
  /** Links swapped in place (BPF_LINK_UPDATE), links re-attached (new attached, then old detached), and struct_ops or other links that ended with the old version. */
  links: {
    /** Links whose program was swapped in place (BPF_LINK_UPDATE). */
    updated: number;
    /** Links attached anew to the next version's program, then detached from the old one. */
    reattached: number;
    /** Links that could not move (no attach recipe, struct_ops): ended with the old version. */
    ended: number;
  };
}

// A map's BTF type as a layout string: two versions' maps are compatible when equal. A
// struct or union is spelled out once and then named by its order of first appearance
// (`#n`), so the string grows with the number of types, not with the paths to them (a
// struct reached through many members would otherwise be repeated at every level).
function btfShape(btf: Btf | undefined, root: number): string {
  if (!btf) return 'void';
  const composites = new Map<number, number>();
  const shape = (id: number | undefined, depth: number): string => {
    if (!id) return 'void';
    if (depth > 64) return '...';
    const t: BtfType = btf.typeById(id);
    const inner = (i: number | undefined): string => shape(i, depth + 1);
    switch (t.kind) {
      case 'typedef': case 'const': case 'volatile': case 'restrict': case 'type_tag': case 'var':
        return inner(t.type);
      case 'int': return `i${t.size}${t.signed ? 's' : 'u'}${t.bits}`;
      case 'float': return `f${t.size}`;
      case 'ptr': return 'p';
      case 'enum': case 'enum64': return `e${t.size}`;
      case 'array': return `${inner(t.elemType)}[${t.nelems}]`;
      case 'struct': case 'union': {
        const seen = composites.get(id);
        if (seen !== undefined) return `#${seen}`;
        composites.set(id, composites.size);
        return `${t.kind}${t.size}{${(t.members ?? []).map((m) => `${m.name}@${m.bitOffset}:${m.bitSize}:${inner(m.type)}`).join(',')}}`;
      }
      case 'datasec':
        return `sec${t.size}{${(t.vars ?? []).map((v) => `${btf.typeById(v.type).name}@${v.offset}:${inner(v.type)}`).join(',')}}`;
      default: return t.kind;
    }
  };
  return shape(root, 0);
}

const READ_ONLY = /\.(rodata|kconfig)/;

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
  #upgrading = false;
  #programs: Program[] = [];
  #nativePrograms: NativeProgram[] = [];
  #maps: BpfMap[] = [];
  #nativeMaps: NativeMap[] = [];
  // Links made from its programs, with how each was made (upgrade() makes them again).
  #links = new Map<Link, LinkRecipe | undefined>();
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
      bpfToken: tokenPath(o.bpfToken),
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
    this.#bind(native);
  }

  // Programs and maps are views of `native`'s (again after an upgrade).
  #bind(native: NativeObject): void {
    this.#native = native;
    this.#btf = undefined;
    this.#globals = undefined;
    const programOwner = {
      adoptLink: (n: NativeLink, kind?: typeof Link, recipe?: LinkRecipe) => this.#adopt(n, kind, recipe),
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
    const own = this.#objectBtf();
    if (own) checkMapDefinitions(own); // a struct_ops map in .maps crashed libbpf's load
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
        if (native) made.push(this.#adopt(native, Link, { program: program.name(), attach: attachBySection }));
      }
    } catch (e) {
      for (const link of made) link.destroy();
      throw e;
    }
    return made;
  }

  /**
   * Replace the running programs with the next version's, keeping state: open `next`
   * (a path or the object's bytes), make it reuse every map of the running version whose
   * name and shape (type, key/value size, max entries, flags, BTF layout where both have
   * BTF) match (`bpf_map__reuse_fd`), load it off the JS thread, then move every link:
   * swapped in place where the kernel can (BPF_LINK_UPDATE: cgroup, XDP, tcx, iterator,
   * netns, ...), else attached to the new program with the same call, then detached from
   * the old one (tracepoints, kprobes: during that instant both versions run). Ring and
   * perf buffers reading a reused map keep reading (same objects). Then the old
   * programs and the maps not reused are closed.
   *
   * After it, this same BpfObject holds the next version: `obj.program('x')` and
   * `obj.map('m')` give the new version's; Program and BpfMap objects taken before
   * are closed (take them again), Link objects stay valid and run the new programs.
   * If the next version fails to open, load or verify (BpfError, VerifierError), or an
   * option refuses it (RangeError), the running version is untouched.
   * @example
   * ```ts
   * const result = await obj.upgrade('exec-v2.bpf.o', { onMapChange: 'refuse' });
   * console.log(result.reused, result.links);
   * ```
   */
  async upgrade(next: string | Uint8Array, options?: UpgradeOptions): Promise<UpgradeResult> {
    this.#check();
    if (!this.#loaded) throw new TypeError(NOT_LOADED);
    if (this.#upgrading) throw new TypeError('BpfObject is upgrading');
    const o = checkOptions<UpgradeOptions>(options, 'options', [...OPTION_NAMES, 'onMapChange', 'configure']);
    const { onMapChange = 'replace', configure, ...openOptions } = o;
    if (onMapChange !== 'replace' && onMapChange !== 'refuse') throw argRangeError('options.onMapChange', "'replace' or 'refuse'", onMapChange);
    if (configure !== undefined && typeof configure !== 'function') throw argTypeError('options.configure', 'a function', configure);
    this.#upgrading = true;
    try {
      return await this.#upgrade(next, onMapChange, configure, { name: this.name, ...openOptions });
    } finally {
      this.#upgrading = false;
    }
  }

  async #upgrade(next: string | Uint8Array, onMapChange: string, configure: UpgradeOptions['configure'], open: OpenOptions): Promise<UpgradeResult> {
    const nextObj = BpfObject.open(next, open);
    const result: UpgradeResult = { reused: [], replaced: [], added: [], dropped: [], links: { updated: 0, reattached: 0, ended: 0 } };
    const live = [...this.#links].filter(([link]) => !link.destroyed);
    try {
      configure?.(nextObj);
      const names = new Set(nextObj.#programs.map((p) => p.name));
      const missing = live.filter(([, r]) => r && !names.has(r.program)).map(([, r]) => r!.program);
      if (missing.length) throw argRangeError('next', `an object with the linked programs (${[...new Set(missing)].join(', ')})`, 'an object without them');
      const oldBtf = this.#objectBtf(), newBtf = nextObj.#objectBtf();
      for (const nm of nextObj.#nativeMaps) {
        const name = nm.name();
        const om = this.#nativeMaps.find((m) => m.name() === name);
        if (!om) { result.added.push(name); continue; }
        const reason = this.#mapChange(om, nm, oldBtf, newBtf);
        if (reason) result.replaced.push({ name, reason });
        else { nm.reuseFd(om); result.reused.push(name); }
      }
      for (const om of this.#nativeMaps) if (!nextObj.#nativeMaps.some((m) => m.name() === om.name())) result.dropped.push(om.name());
      const stateful = result.replaced.filter((r) => !READ_ONLY.test(r.name));
      if (onMapChange === 'refuse' && stateful.length) {
        const changed = stateful.map((r) => `${r.name}: ${r.reason}`).join('; ');
        throw new RangeError(`next: expected an object whose maps keep their shape (onMapChange: 'refuse'), got changed maps (${changed})`);
      }
      await nextObj.load();
    } catch (e) {
      nextObj.close();
      throw e;
    }
    // Move the links: every step is undone if a later one fails (the running version stays).
    const undo: (() => void)[] = [];
    const oldNatives: NativeLink[] = [];
    try {
      for (const [link, recipe] of live) {
        if (!recipe) { result.links.ended++; continue; }
        const program = nextObj.program(recipe.program);
        const current = nativeLinkOf(link);
        try {
          current.update(program.fd);
          const back = this.program(recipe.program).fd;
          undo.push(() => current.update(back));
          result.links.updated++;
        } catch {
          const made = recipe.attach(program);
          const old = swapNativeLink(link, made);
          undo.push(() => { swapNativeLink(link, old); made.destroy(); });
          oldNatives.push(old);
          result.links.reattached++;
        }
      }
    } catch (e) {
      for (const step of undo.reverse()) {
        try { step(); } catch { /* best effort: the old link stays */ }
      }
      nextObj.close();
      throw e;
    }
    for (const old of oldNatives) old.destroy();
    for (const [link, recipe] of live) if (recipe) nativeLinkOf(link).moveTo(nextObj.#native);
    const oldNative = this.#native;
    const nextNative = nextObj.#native;
    nextNative.adoptChildren(oldNative); // ring/perf buffers of reused maps keep reading
    this.#verifierLogs = nextObj.#verifierLogs;
    nextObj.#closed = true; // its native object is now this one's
    this.#bind(nextNative);
    this.#links = new Map(live.filter(([l, r]) => r && !l.destroyed));
    oldNative.close(); // old programs, maps not reused, links that could not move
    return result;
  }

  // Why the next version's map `nm` cannot take over `om` ('' if it can).
  #mapChange(om: NativeMap, nm: NativeMap, oldBtf: Btf | undefined, newBtf: Btf | undefined): string {
    if (READ_ONLY.test(om.name())) return 'read-only data: the next version\'s values';
    const diffs: string[] = [];
    const cmp = (what: string, a: unknown, b: unknown): void => { if (a !== b) diffs.push(`${what} ${String(a)} -> ${String(b)}`); };
    cmp('type', om.type(), nm.type());
    cmp('key size', om.keySize(), nm.keySize());
    cmp('value size', om.valueSize(), nm.valueSize());
    cmp('max entries', om.maxEntries(), nm.maxEntries());
    cmp('flags', om.flags(), nm.flags());
    if (!diffs.length) {
      if (om.btfKeyTypeId() && nm.btfKeyTypeId() && btfShape(oldBtf, om.btfKeyTypeId()) !== btfShape(newBtf, nm.btfKeyTypeId())) diffs.push('key type layout');
      if (om.btfValueTypeId() && nm.btfValueTypeId() && btfShape(oldBtf, om.btfValueTypeId()) !== btfShape(newBtf, nm.btfValueTypeId())) diffs.push('value type layout');
    }
    return diffs.join(', ');
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

  #adopt(native: NativeLink, kind: typeof Link = Link, recipe?: LinkRecipe): Link {
    const link = new kind(INTERNAL, native);
    for (const l of this.#links.keys()) if (l.destroyed) this.#links.delete(l);
    this.#links.set(link, recipe);
    return link;
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
