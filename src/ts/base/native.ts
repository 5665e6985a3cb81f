// The only file that loads the addon. It declares the native classes' shapes; the rest
// of src/ts composes them into the public API.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LibbpfLine } from '../errors/bpf-error';
import { makeBpfError } from '../errors/factory';
import { STATE_MESSAGES } from '../errors/state';
import { AddonLoadError } from './load-error';

export type { LibbpfLine };
export { AddonLoadError };

export interface NativeObject {
  name(): string;
  programs(): NativeProgram[];
  maps(): NativeMap[];
  load(): Promise<LibbpfLine[]>;
  btf(): Buffer | null;
  close(): void;
  /** Moves the event buffers of `old` whose maps this loaded object reuses; returns how many. */
  adoptChildren(old: NativeObject): number;
}

export interface NativeProgram {
  name(): string;
  sectionName(): string;
  type(): string;
  expectedAttachType(): string | null;
  autoload(): boolean;
  setAutoload(on: boolean): void;
  autoattach(): boolean;
  setAutoattach(on: boolean): void;
  insnCount(): number;
  fd(): number;
  attach(): NativeLink | null;
  attachTracepoint(category: string, name: string): NativeLink;
  attachRawTracepoint(name: string): NativeLink;
  pin(path: string): void;
  unpin(path: string): void;
  // iterators and introspection (program_iter.cc)
  attachIter(options: NativeIterOptions): NativeLink;
  info(): NativeProgramInfo;
  // tracing, user-space and sampling attach kinds (program_trace.cc)
  setAttachTarget(programFd: number, func: string | null): void;
  attachKprobe(func: string, retprobe: boolean, offset: number, cookie: bigint): NativeLink;
  attachKprobeMulti(pattern: string | null, funcs: string[] | null, cookies: bigint[] | null, retprobe: boolean): NativeLink;
  attachKsyscall(name: string, retprobe: boolean, cookie: bigint): NativeLink;
  attachUprobe(binary: string, func: string | null, offset: number, pid: number, retprobe: boolean, cookie: bigint): NativeLink;
  attachUprobeMulti(binary: string, pattern: string | null, funcs: string[] | null, offsets: number[] | null, cookies: bigint[] | null, pid: number, retprobe: boolean): NativeLink;
  attachUsdt(binary: string, provider: string, name: string, pid: number, cookie: bigint): NativeLink;
  attachPerfEvent(type: number, config: bigint, freq: boolean, sample: bigint, cpu: number, pid: number, cookie: bigint): NativeLink;
  // --- network attach kinds and BPF_PROG_TEST_RUN (program_net.cc) ---
  attachXdp(ifindex: number): NativeLink;
  attachTcx(ifindex: number, flags: number, relativeFd: number, relativeId: number, expectedRevision: number): NativeLink;
  /** bpf_link_create(): a link owning the new link's fd. `target`: an ifindex, an fd, or a cgroup directory's path. */
  linkCreate(target: string | number, attachType: string, flags: number, relativeFd: number, relativeId: number, expectedRevision: number): NativeLink;
  attachCgroup(target: string | number): NativeLink;
  attachNetns(target: string | number): NativeLink;
  attachSockmap(mapFd: number): NativeLink;
  attachNetfilter(pf: number, hooknum: number, priority: number, flags: number): NativeLink;
  /** A classic tc filter: a link that is no kernel link (fd -1); destroy() removes the filter. */
  tcAttach(ifindex: number, egress: boolean, handle: number, priority: number): NativeLink;
  /** SO_ATTACH_BPF: a link that is no kernel link; destroy() detaches if `fd` still names that socket. */
  socketAttach(fd: number): NativeLink;
  testRun(options: NativeTestRunOptions): NativeTestRunResult;
  testRunAsync(options: NativeTestRunOptions): Promise<NativeTestRunResult>;
}

/** bpf_iter_link_info, one union member at most (checked in TypeScript). */
export interface NativeIterOptions {
  mapFd?: number;
  order?: number;
  cgroupFd?: number;
  /** Opened (and closed) by the addon for the attach. */
  cgroupPath?: string;
  cgroupId?: bigint;
  tid?: number;
  pid?: number;
  pidFd?: number;
}

export interface NativeProgramInfo {
  id: number;
  name: string;
  type: string;
  tag: string;
  runCount: bigint;
  runTimeNs: bigint;
  recursionMisses: bigint;
  verifiedInstructions: number;
  jitedSize: number;
  xlatedSize: number;
  mapIds: number[];
  btfId: number;
  loadTime: bigint;
  createdByUid: number;
  gplCompatible: boolean;
  ifindex: number;
  netnsDev: bigint;
  netnsIno: bigint;
  attachBtfObjId: number;
  attachBtfId: number;
  functionCount: number;
}

/** One instance of a BPF iterator (iter.cc): each open() walks from the start. */
export interface NativeBpfLineInfo {
  /** Each function's JIT-ed address, and its length in bytes. */
  ksyms: BigUint64Array;
  funcLens: number[];
  /** Addresses of the line info records, with the source file and line of each. */
  jitedLines: BigUint64Array;
  files: string[];
  lines: number[];
}

export interface NativeIter {
  readSync(buffer: Uint8Array): number;
  /** Up to `size` bytes read on the thread pool; an empty Buffer at the end. */
  read(size: number): Promise<Buffer>;
  close(): void;
}

export interface NativeTestRunOptions {
  data?: Uint8Array;
  dataSizeOut: number;
  ctx?: Uint8Array;
  ctxSizeOut: number;
  repeat: number;
  flags: number;
  cpu: number;
  batchSize: number;
}

export interface NativeTestRunResult {
  /** Set when an output buffer was too small; the sizes say what the kernel needed. */
  enospc?: true;
  dataSizeOut: number;
  ctxSizeOut: number;
  retval?: number;
  duration?: number;
  data?: Buffer;
  ctx?: Buffer;
  /** The ctx buffer passed in, after the run (syscall programs write their ctx back there). */
  ctxIn?: Buffer;
}

/** Single-element operations on the buffers given to bindSlots(); flags as the kernel's. */
export interface NativeSlotOps {
  lookup(flags: number): boolean;
  update(flags: number): void;
  delete(flags: number): boolean;
  lookupAndDelete(flags: number): boolean;
}

export interface NativeMap {
  name(): string;
  type(): string;
  keySize(): number;
  valueSize(): number;
  maxEntries(): number;
  flags(): number;
  isInternal(): boolean;
  isStandalone(): boolean;
  btfKeyTypeId(): number;
  btfValueTypeId(): number;
  setMaxEntries(n: number): void;
  setKeySize(n: number): void;
  setValueSize(n: number): void;
  setFlags(n: number): void;
  setNumaNode(n: number): void;
  setMapExtra(n: number | bigint): void;
  setInnerMap(map: NativeMap): void;
  /** Before load: be the kernel map `other` is (bpf_map__reuse_fd). */
  reuseFd(other: NativeMap): void;
  autocreate(): boolean;
  setAutocreate(on: boolean): void;
  fd(): number;
  lookup(key: Uint8Array | null, value: Uint8Array, flags: number): boolean;
  update(key: Uint8Array | null, value: Uint8Array, flags: number): void;
  delete(key: Uint8Array, flags: number): boolean;
  lookupAndDelete(key: Uint8Array | null, value: Uint8Array, flags: number): boolean;
  nextKey(key: Uint8Array | null, next: Uint8Array): boolean;
  lookupBatch(
    andDelete: boolean,
    inToken: Uint8Array | null,
    outToken: Uint8Array,
    keys: Uint8Array,
    values: Uint8Array,
    count: number,
    elemFlags: number,
  ): { count: number; done: boolean };
  updateBatch(keys: Uint8Array, values: Uint8Array, count: number, elemFlags: number): number;
  deleteBatch(keys: Uint8Array, count: number, elemFlags: number): number;
  /** Binds the buffers single-element calls use; returns those calls, bound to this map. */
  bindSlots(key: Uint8Array | null, value: Uint8Array): NativeSlotOps;
  freeze(): void;
  attachStructOps(): NativeLink;
  info(): {
    id: number; type: string; name: string; keySize: number; valueSize: number; maxEntries: number; flags: number;
    btfId: number; btfKeyTypeId: number; btfValueTypeId: number; mapExtra: bigint; ifindex: number;
  };
  memory(): ArrayBuffer | null;
  /** Whether memory()'s mapping is read-only (.rodata after load, a frozen array). */
  memoryReadOnly(): boolean;
  pin(path: string): void;
  unpin(path?: string): void;
  pinPath(): string | null;
  close(): void;
}

export interface NativeMapCreateOptions {
  type: number;
  name?: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  numaNode?: number;
  mapExtra?: number | bigint;
  innerMap?: NativeMap;
}

/**
 * What an event buffer's open() takes besides its own options: `onClosed` runs when the
 * map's BpfObject closed the buffer (the addon closes an object's buffers, then its
 * links, then the object), so the buffer's TypeScript side can mark itself closed.
 */
export interface BufferOptions {
  onClosed?: () => void;
}

export interface NativeLink {
  destroy(): void;
  disconnect(): void;
  pin(path: string): void;
  unpin(): void;
  pinPath(): string | null;
  fd(): number;
  destroyed(): boolean;
  // link_ops.cc
  update(programFd: number): void;
  /** Hands the link to another (loaded) object: its close now destroys it. */
  moveTo(object: NativeObject): void;
  info(): { type: string; id: number; programId: number; [detail: string]: unknown };
}

/** One BPF_MAP_TYPE_RINGBUF map, mmap()ed, with a uv_poll_t calling onReadable. */
export interface NativeRingBuffer {
  /** The consumer page, producer page and data area (2 * size bytes); null without external buffers. */
  memory(): { consumer: ArrayBuffer; producer: ArrayBuffer; data: ArrayBuffer } | null;
  size(): number;
  /** Copying fallback: records (headers included) into `buffer`; -n when one needs n bytes. */
  read(buffer: Uint8Array, maxRecords: number): number;
  positions(): [consumer: number, producer: number];
  dropped(): number | null;
  poll(on: boolean): void;
  ref(on: boolean): void;
  close(): void;
}

/** One BPF_MAP_TYPE_PERF_EVENT_ARRAY through libbpf's perf_buffer, with a uv_poll_t calling onReadable. */
export interface NativePerfBuffer {
  /** Stages up to `max` entries (consuming per-CPU buffers) unless some are left; the count, or -count-1 when arena() changed. */
  stage(max: number): number;
  /** JS took `count` entries. */
  advance(count: number): void;
  /** The staging arena: sample bytes; entries (u32): [first, count, _, _] then (cpu | lost bit, offset | count hi, length | count lo). */
  arena(): { bytes: ArrayBuffer; entries: ArrayBuffer; ownLost: number };
  bufferCount(): number;
  poll(on: boolean): void;
  ref(on: boolean): void;
  close(): void;
}

/** One BPF_MAP_TYPE_USER_RINGBUF map through libbpf's user_ring_buffer; reservations are numbered slots. */
export interface NativeUserRingBuffer {
  reserve(size: number): number;
  submit(slot: number, bytes: Uint8Array): void;
  discard(slot: number): void;
  size(): number;
  close(): void;
}

export interface OpenOptions {
  name?: string;
  btfCustomPath?: string;
  kconfig?: string;
  pinRoot?: string;
  kernelLogLevel?: number;
  /** libbpf's bpf_token_path: a delegated bpffs, or '' for no token. */
  bpfToken?: string;
}

/** How probeAttach loads (`r0 = retval; exit`) and attaches one tiny program. */
export interface NativeProbeRecipe {
  progType: number;
  expectedAttachType?: number;
  attachBtfId?: number;
  /** BPF_F_* load flags (BPF_F_SLEEPABLE = 16). */
  progFlags?: number;
  retval?: number;
  attach: 'none' | 'link' | 'raw_tp' | 'perf' | 'socket' | 'test_run' | 'kprobe_multi' | 'uprobe_multi' | 'netfilter';
  linkAttachType?: number;
  ifindex?: number;
  /** Opened O_RDONLY as the link target (a cgroup directory, a netns file). */
  targetPath?: string;
  rawTp?: string;
  /** perf_event_attr type and config; with func (kprobe) or binary+func (uprobe) as config1/config2. */
  perf?: { type: number; config: number };
  binary?: string;
  func?: string;
  pf?: number;
  hooknum?: number;
  priority?: number;
  /** Attach inside a private network namespace, left again before returning. */
  netns?: boolean;
}

interface Addon {
  NativeObject: { open(source: string | Uint8Array, options: OpenOptions): NativeObject };
  NativeProgram: {
    // --- network (program_net.cc) ---
    ifNameToIndex(name: string): number;
    ifIndexToName(index: number): string | null;
    // --- iterators and introspection (program_iter.cc) ---
    /** BPF_ENABLE_STATS: a link-like handle owning the fd; destroy() closes it. */
    enableStats(): NativeLink;
    /** The JIT-ed line info of the loaded program with this tag (symbolizing BPF frames). */
    lineInfoByTag(tag: string): NativeBpfLineInfo | undefined;
  };
  NativeMap: {
    create(options: NativeMapCreateOptions): NativeMap;
    fromPinned(path: string): NativeMap;
    fromId(id: number): NativeMap;
    btfById(id: number): Buffer | null;
  };
  NativeLink: {
    fromPinned(path: string): NativeLink;
  };
  NativeIter: { open(linkFd: number): NativeIter };
  NativeRingBuffer: {
    open(map: NativeMap, onReadable: (error?: Error) => void, options: { drops?: string } & BufferOptions): NativeRingBuffer;
  };
  NativePerfBuffer: {
    open(map: NativeMap, onReadable: (error?: Error) => void, options: { pageCount: number } & BufferOptions): NativePerfBuffer;
  };
  NativeUserRingBuffer: { open(map: NativeMap, options?: BufferOptions): NativeUserRingBuffer };
  mapTypes(): string[];
  programTypes(): string[];
  setErrorFactories(factories: {
    bpf: (errno: number, call: string, lines: LibbpfLine[]) => Error;
    type: (message: string) => TypeError;
    range: (message: string) => RangeError;
    states: Readonly<Record<string, string>>;
  }): void;
  setLogger(logger: ((lines: LibbpfLine[]) => void) | null, level: number): void;
  numPossibleCpus(): number;
  libbpfVersion(): string;
  btfToCHeader(path: string | Uint8Array, base?: string | Uint8Array): string;
  btfRawData(path: string | Uint8Array, base?: string | Uint8Array): Buffer;
  btfMinCore(btfPath: string, objectPath: string): Buffer;
  /** 1 when supported, else minus the errno of the kernel's refusal (0 when it set none). */
  probeProgramType(type: number): number;
  probeMapType(type: number): number;
  probeHelper(programType: number, helper: number): number;
  probeAttach(recipe: NativeProbeRecipe): void;
  helperNames(): string[];
  attachTypes(): string[];
}

/** The package's root directory (holding package.json, prebuilds/, build/, include/). */
export const PACKAGE_ROOT = ((): string => {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
})();

// node-gyp-build looks in build/Release, then prebuilds/<platform>-<arch>/ (matching the
// libc tag). The addon loads on first use (the runtime entry uses it at import; the CLI
// and doctor only when a command needs it), and a failure becomes one AddonLoadError.
let loaded: Addon | undefined;
let failure: AddonLoadError | undefined;

/** The addon, loaded on the first call; throws AddonLoadError when it cannot be. */
export function loadAddon(): Addon {
  if (loaded) return loaded;
  if (failure) throw failure;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const build = require('node-gyp-build') as { (dir: string): Addon; resolve?(dir: string): string };
    // resolve() first, so a missing file and a failed dlopen are told apart; runtimes with
    // their own require.addon (Electron) get node-gyp-build's plain load.
    // NODE_LIBBPF_ADDON names a .node file to load instead: the AddressSanitizer build the
    // fuzzer uses (scripts/build-asan.sh). Like LD_PRELOAD, it is the operator's to set.
    const override = process.env.NODE_LIBBPF_ADDON;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const found = override ? (require(path.resolve(override)) as Addon) : build.resolve ? (require(build.resolve(PACKAGE_ROOT)) as Addon) : build(PACKAGE_ROOT);
    // The addon builds its errors with these, so they belong to this realm (instanceof holds).
    // So do its wrong-state messages, defined once, in errors/state.ts.
    found.setErrorFactories({ bpf: makeBpfError, type: (m) => new TypeError(m), range: (m) => new RangeError(m), states: STATE_MESSAGES });
    loaded = found;
    return found;
  } catch (e) {
    failure = new AddonLoadError(PACKAGE_ROOT, e);
    throw failure;
  }
}

/** Why the addon cannot load here, or undefined when it loads (doctor reports this). */
export function addonLoadError(): AddonLoadError | undefined {
  try {
    loadAddon();
    return undefined;
  } catch (e) {
    if (e instanceof AddonLoadError) return e;
    throw e;
  }
}

/** The addon's functions, loading it on first access. */
export const addon: Addon = new Proxy({} as Addon, {
  get: (_target, key) => Reflect.get(loadAddon(), key),
  has: (_target, key) => Reflect.has(loadAddon(), key),
});
