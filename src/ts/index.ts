// node-libbpf: eBPF for Node.js, the BPF CO-RE way.
export { BpfObject, type OpenOptions } from './object';
export { Program, enableStats, StatsHandle, type ProgramInfo, type IterAttachOptions, type TaskIterOptions, type CgroupIterOptions } from './program';
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
} from './attach-net';
export { BpfMap, RawMap, MapMemory, MapFlags, numPossibleCpus, type UpdateFlag, type CreateOptions, type MapInfo, type TypeSpec, type LpmKey, type FdValue } from './map';
export { Link, IterLink } from './link';
export type { LinkInfo, PerfEventLinkInfo, CgroupIterOrder } from './link-info';
export type { IterReadOptions } from './iter';
export type {
  Cookie, KprobeOptions, KprobeMultiTarget, KprobeMultiOptions, KsyscallOptions, UprobeOptions, UprobeMultiOptions,
  UsdtOptions, PerfEventOptions, SoftwareEvent, HardwareEvent,
} from './attach-trace';
export { PerfBuffer, type PerfBufferOptions, type PerfBufferIterateOptions, type PerfBufferStats } from './perf-buffer';
export { UserRingBuffer, UserRingBufferSample, type UserRingBufferOptions, type ReserveBlockingOptions } from './user-ring-buffer';
export { RingBuffer, type RingBufferOptions, type RingBufferIterateOptions, type RingBufferStats, type RawEvent, type LazyEvent } from './ring-buffer';
export type { Globals } from './globals';
export { Btf, type BtfType, type BtfKind, type BtfMember } from './btf';
import { cstr, s64le, u64le } from './codec';
// The readers raw callbacks and generated decoders call per record are plain values of
// this module, not re-exports: CommonJS re-exports are getters, and a getter call per
// field made `gen`'s decoders 30% slower.
/** A C `char[n]` at `offset` as a string, up to its NUL (repeated names come from a cache). */
export const readCString: (view: DataView, offset: number, n: number) => string = cstr;
/** `view.getBigUint64(offset, true)`, read through a typed array where it is 8-aligned (compiled inline by V8). */
export const readBigUint64: (view: DataView, offset: number) => bigint = u64le;
/** `view.getBigInt64(offset, true)`, the same way. */
export const readBigInt64: (view: DataView, offset: number) => bigint = s64le;
export { BpfError, VerifierError, FEATURE_REQUIREMENTS } from './errors';
export { probe, ATTACH_KINDS, type ProbeResult, type AttachKind } from './probe';
export { setLogger, type Logger, type LogLevel } from './log';
export { libbpfVersion } from './version';
export { build, buildCommand, findClang, headerBtf, vmlinuxHeader, type BuildOptions, type HeaderBtfOptions } from './build';
export { generate, minCoreBtf, type GenOptions } from './gen';
export { doctor, formatDoctor, type DoctorReport } from './doctor';
