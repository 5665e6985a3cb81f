// The only file that loads the addon. It declares the native classes' shapes; the rest
// of src/ts composes them into the public API.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeBpfError } from './errors';

export interface LibbpfLine {
  level: 'warn' | 'info' | 'debug';
  message: string;
}

export interface NativeObject {
  name(): string;
  programs(): NativeProgram[];
  maps(): NativeMap[];
  load(): Promise<LibbpfLine[]>;
  btf(): Buffer | null;
  close(): void;
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
  bindSlots(key: Uint8Array | null, value: Uint8Array): void;
  lookupSlot(flags: number): boolean;
  updateSlot(flags: number): void;
  deleteSlot(flags: number): boolean;
  lookupAndDeleteSlot(flags: number): boolean;
  freeze(): void;
  info(): {
    id: number; type: string; name: string; keySize: number; valueSize: number; maxEntries: number; flags: number;
    btfId: number; btfKeyTypeId: number; btfValueTypeId: number; mapExtra: bigint; ifindex: number;
  };
  memory(): ArrayBuffer | null;
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

export interface NativeLink {
  destroy(): void;
  disconnect(): void;
  pin(path: string): void;
  unpin(): void;
  pinPath(): string | null;
  fd(): number;
  destroyed(): boolean;
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
}

interface Addon {
  NativeObject: { open(source: string | Uint8Array, options: OpenOptions): NativeObject };
  NativeMap: {
    create(options: NativeMapCreateOptions): NativeMap;
    fromPinned(path: string): NativeMap;
    fromId(id: number): NativeMap;
    btfById(id: number): Buffer | null;
  };
  NativeRingBuffer: {
    open(map: NativeMap, onReadable: (error?: Error) => void, options: { drops?: string }): NativeRingBuffer;
  };
  NativePerfBuffer: {
    open(map: NativeMap, onReadable: (error?: Error) => void, options: { pageCount: number }): NativePerfBuffer;
  };
  NativeUserRingBuffer: { open(map: NativeMap): NativeUserRingBuffer };
  mapTypes(): string[];
  programTypes(): string[];
  setErrorFactories(factories: {
    bpf: (errno: number, call: string, lines: LibbpfLine[]) => Error;
    type: (message: string) => TypeError;
    range: (message: string) => RangeError;
  }): void;
  setLogger(logger: ((lines: LibbpfLine[]) => void) | null, level: number): void;
  numPossibleCpus(): number;
  libbpfVersion(): string;
  btfToCHeader(path: string, basePath?: string): string;
  btfRawData(path: string, basePath?: string): Buffer;
}

/** The package's root directory (holding package.json, prebuilds/, build/, include/). */
export const PACKAGE_ROOT = ((): string => {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
})();

// node-gyp-build finds prebuilds/<platform>-<arch>/ first, then build/Release.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = require('node-gyp-build') as (dir: string) => Addon;
export const addon: Addon = load(PACKAGE_ROOT);
// The addon builds its errors with these, so they belong to this realm (instanceof holds).
addon.setErrorFactories({ bpf: makeBpfError, type: (m) => new TypeError(m), range: (m) => new RangeError(m) });
