// node-libbpf: eBPF for Node.js, the BPF CO-RE way.
export { BpfObject, type OpenOptions } from './object';
export { Program } from './program';
export { BpfMap, RawMap, MapMemory, MapFlags, numPossibleCpus, type UpdateFlag, type CreateOptions, type MapInfo, type TypeSpec, type LpmKey, type FdValue } from './map';
export { Link } from './link';
export { PerfBuffer, type PerfBufferOptions, type PerfBufferIterateOptions, type PerfBufferStats } from './perf-buffer';
export { UserRingBuffer, UserRingBufferSample, type UserRingBufferOptions, type ReserveBlockingOptions } from './user-ring-buffer';
export { RingBuffer, type RingBufferOptions, type RingBufferIterateOptions, type RingBufferStats, type RawEvent, type LazyEvent } from './ring-buffer';
export type { Globals } from './globals';
export { Btf, type BtfType, type BtfKind, type BtfMember } from './btf';
export { BpfError, VerifierError } from './errors';
export { setLogger, type Logger, type LogLevel } from './log';
export { libbpfVersion } from './version';
