// What each map kind is: per-CPU, index-keyed, keyless, fd-valued or fd-keyed; flags and
// update flags; libbpf's map type ids.
import { argRangeError, argTypeError } from '../../base/args';
import { addon } from '../../base/native';

/** How set() treats an existing key: 'any' (default), 'noexist' (create only), 'exist' (update only), 'lock' (BPF_F_LOCK). */
export type UpdateFlag = 'any' | 'noexist' | 'exist' | 'lock';
const UPDATE_FLAGS: Record<UpdateFlag, number> = { any: 0, noexist: 1, exist: 2, lock: 4 };

/** BPF_F_* map flags, for `flags` in create() and before load. */
export const MapFlags = {
  NO_PREALLOC: 1 << 0,
  NO_COMMON_LRU: 1 << 1,
  NUMA_NODE: 1 << 2,
  RDONLY: 1 << 3,
  WRONLY: 1 << 4,
  STACK_BUILD_ID: 1 << 5,
  ZERO_SEED: 1 << 6,
  RDONLY_PROG: 1 << 7,
  WRONLY_PROG: 1 << 8,
  CLONE: 1 << 9,
  MMAPABLE: 1 << 10,
  PRESERVE_ELEMS: 1 << 11,
  INNER_MAP: 1 << 12,
} as const;

export const PER_CPU = new Set(['percpu_hash', 'percpu_array', 'lru_percpu_hash', 'percpu_cgroup_storage']);
export const INDEX_KEYED = new Set(['array', 'percpu_array', 'prog_array', 'perf_event_array', 'cgroup_array', 'array_of_maps', 'devmap', 'cpumap', 'xskmap', 'sockmap']);
export const KEYLESS = new Set(['queue', 'stack', 'bloom_filter']);
// Values written as a file descriptor (u32) and read back as an id.
export const FD_VALUED = new Set(['prog_array', 'perf_event_array', 'cgroup_array', 'array_of_maps', 'hash_of_maps', 'sockmap', 'sockhash', 'xskmap']);
// Keys are a file descriptor: local storage of a socket, task (pidfd), inode or cgroup.
export const FD_KEYED = new Set(['sk_storage', 'task_storage', 'inode_storage', 'cgrp_storage']);
export const UNSUPPORTED_BATCH = new Set(['EINVAL', 'ENOTSUPP', 'EOPNOTSUPP', 'ENOTSUP']);

let possibleCpus: number | undefined;
/** The number of possible CPUs: the length of a per-CPU map's values. */
export function numPossibleCpus(): number {
  return (possibleCpus ??= addon.numPossibleCpus());
}

let mapTypeIds: Map<string, number> | undefined;
export function mapTypeId(type: string): number {
  mapTypeIds ??= new Map(addon.mapTypes().map((name, id) => [name, id] as [string, number]));
  const id = mapTypeIds.get(type);
  if (id === undefined || id === 0) throw argRangeError('options.type', `a map type libbpf knows (${[...mapTypeIds.keys()].slice(1).join(', ')})`, type);
  return id;
}

export function updateFlags(flags: UpdateFlag | number | undefined): number {
  if (flags === undefined) return 0;
  if (typeof flags === 'number' && Number.isInteger(flags) && flags >= 0) return flags;
  if (typeof flags === 'string' && Object.hasOwn(UPDATE_FLAGS, flags)) return UPDATE_FLAGS[flags];
  throw argTypeError('flags', "'any', 'noexist', 'exist', 'lock' or a number", flags);
}
