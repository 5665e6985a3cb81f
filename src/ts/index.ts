// node-libbpf: eBPF for Node.js, the BPF CO-RE way. This is the runtime entry, what an
// agent loads: objects, programs, maps, links, event buffers, BTF, probes, the symbolizer. It never loads
// the toolchain (clang, codegen, doctor: `node-libbpf/toolchain`).
import { loadAddon } from './base/native';

// Loaded now, so `require('node-libbpf')` itself says when the addon cannot load here
// (AddonLoadError: the platform, the files looked for, the loader's message, what to do).
loadAddon();
export { BpfObject, type OpenOptions, type UpgradeOptions, type UpgradeResult } from './core/object';
export { Program, enableStats, StatsHandle, type ProgramInfo, type IterAttachOptions, type TaskIterOptions, type CgroupIterOptions } from './core/program';
export {
  TestRunFlags,
  TEST_RUN_SYNC_MAX_REPEAT,
  type XdpOptions,
  type TcxOptions,
  type CgroupOptions,
  type SockmapOptions,
  type NetfilterOptions,
  type TestRunOptions,
  type TestRunResult,
} from './attach/net';
export { BpfMap, RawMap, MapMemory, MapFlags, numPossibleCpus, type UpdateFlag, type CreateOptions, type MapInfo, type TypeSpec, type LpmKey, type FdValue } from './core/map';
export { Link, IterLink } from './core/link';
export type { LinkInfo, PerfEventLinkInfo, CgroupIterOrder } from './core/link-info';
export type { IterReadOptions } from './core/iter';
export type {
  Cookie, KprobeOptions, KprobeMultiTarget, KprobeMultiOptions, KsyscallOptions, UprobeOptions, UprobeMultiOptions,
  UsdtOptions, PerfEventOptions, SoftwareEvent, HardwareEvent,
} from './attach/trace';
export { PerfBuffer, type PerfBufferOptions, type PerfBufferIterateOptions, type PerfBufferStats } from './events/perf-buffer';
export { UserRingBuffer, UserRingBufferSample, type UserRingBufferOptions, type ReserveBlockingOptions } from './events/user-ring-buffer';
export { RingBuffer, type RingBufferOptions, type RingBufferIterateOptions, type RingBufferStats, type RawEvent, type LazyEvent, type DecodedCounts } from './events/ring-buffer';
export type { Globals } from './core/globals';
export { Btf, type BtfType, type BtfTypeFields, type BtfCompositeType, type BtfOtherType, type BtfKind, type BtfMember } from './btf/btf';
export { decode, type DecodeOptions } from './btf/decode';
export type { Codec, CodecOptions, CharMode } from './btf/codec';
import { cstr, s64le, u64le } from './btf/codec';
// The readers raw callbacks and generated decoders call per record are plain values of
// this module, not re-exports: CommonJS re-exports are getters, and a getter call per
// field made `gen`'s decoders 30% slower.
/** A C `char[n]` at `offset` as a string, up to its NUL (repeated names come from a cache). */
export const readCString: (view: DataView, offset: number, n: number) => string = cstr;
/** `view.getBigUint64(offset, true)`, read through a typed array where it is 8-aligned (compiled inline by V8). */
export const readBigUint64: (view: DataView, offset: number) => bigint = u64le;
/** `view.getBigInt64(offset, true)`, the same way. */
export const readBigInt64: (view: DataView, offset: number) => bigint = s64le;
export { AddonLoadError } from './base/native';
export type { Libc } from './base/load-error';
export { BpfError, VerifierError } from './errors/bpf-error';
export { FEATURE_REQUIREMENTS } from './errors/requirements';
export { probe, ATTACH_KINDS, type ProbeResult, type AttachKind } from './probe/probe';
export { Symbolizer, type Addresses, type SymbolizerOptions, type SymbolizeTarget } from './symbols/symbolizer';
export { StackTraces, stackFromBytes } from './symbols/stacks';
export type { Frame, InlinedFrame, NormalizedAddress } from './symbols/frame';
export { setLogger, type Logger, type LogLevel } from './base/log';
export { libbpfVersion } from './base/version';
export { ContainerResolver, type ContainerResolverOptions, type CgroupInfo } from './containers/resolver';
export { parseCgroupPath, type CgroupLayout, type CgroupRuntime, type PodRef, type PodQosClass } from './containers/layout';
// Types the ones above refer to, named so users can write them.
export { HARDWARE_EVENTS, SOFTWARE_EVENTS } from './attach/trace';
export type { BtfEnumValue, BtfParam, BtfVarSecInfo } from './btf/btf';
export type { ScalarName } from './btf/builder';
export type { BpfErrorDetails } from './errors/bpf-error';
export type { HasFd } from './core/map/key-codecs';
