// Hints for a load that failed creating a map: the kernel lacks the map's kind.
import { BpfError, withDetail } from '../../errors/bpf-error';
import { FEATURE_REQUIREMENTS } from '../../errors/requirements';
import { probe } from '../../probe/probe';
import { FD_KEYED } from './kinds';
import type { BpfMap } from './map';

// How kernels that predate a map type refuse it: EINVAL (an unknown type, or attributes
// such as map_extra that they do not know), E2BIG (non-zero bytes past the end of their
// union bpf_attr), or "not supported".
const MISSING_TYPE_CODES = new Set(['EINVAL', 'E2BIG', 'EOPNOTSUPP', 'ENOTSUPP']);

/**
 * For a refused map creation: when the kernel cannot create maps of `type` at all
 * (libbpf's probe agrees) and we know what brings them, "this kernel cannot create X
 * maps: X needs Linux N". Undefined when the refusal is about this map's attributes.
 */
export function missingTypeHint(e: BpfError, type: string): string | undefined {
  const needs = FEATURE_REQUIREMENTS[type];
  if (!needs || !MISSING_TYPE_CODES.has(e.code)) return undefined;
  try {
    if (probe.mapType(type).supported) return undefined;
  } catch {
    return undefined; // a type libbpf cannot probe
  }
  return `this kernel cannot create ${type} maps: ${type} needs ${needs}`;
}

// Map kinds whose key or value size is 0 by design (libbpf sizes perf event arrays itself).
const NO_KEY = new Set(['queue', 'stack', 'bloom_filter', 'ringbuf', 'user_ringbuf', 'arena']);
const NO_VALUE = new Set(['ringbuf', 'user_ringbuf', 'arena']);

/**
 * For a map the .bpf.c left for user space to size (C tools set it between open and
 * load, as `bpf_map__set_max_entries()` does): which of max_entries, key_size and
 * value_size is 0, and the property to set before load().
 */
function unsizedHint(map: BpfMap): string | undefined {
  const unset: [string, string][] = [];
  // perf event arrays size themselves to the CPUs; local storage maps must say 0.
  if (map.maxEntries === 0 && map.type !== 'perf_event_array' && !FD_KEYED.has(map.type)) unset.push(['max_entries', 'maxEntries']);
  if (map.keySize === 0 && !NO_KEY.has(map.type)) unset.push(['key_size', 'keySize']);
  if (map.valueSize === 0 && !NO_VALUE.has(map.type)) unset.push(['value_size', 'valueSize']);
  if (!unset.length) return undefined;
  const what = unset.map(([c]) => c).join(' and ');
  const set = unset.map(([, ts]) => `obj.map('${map.name}').${ts} = N`).join('; ');
  return `map '${map.name}' has ${what} 0 in the object (left for user space to size): set ${set} before load()`;
}

/**
 * @internal A load that failed creating a map of a kind this kernel lacks: the same
 * BpfError, with a hint naming what brings the kind and how to load the rest without it.
 */
export function refineMapLoadError(e: unknown, maps: readonly BpfMap[]): unknown {
  if (!(e instanceof BpfError) || e.constructor !== BpfError) return e;
  const name = /\bmap '([^']+)': failed to create\b/.exec(e.message)?.[1];
  const map = name === undefined ? undefined : maps.find((m) => m.name === name);
  // A kind the kernel lacks explains the failure whatever the sizes; else an unsized map.
  const hint = map && missingTypeHint(e, map.type);
  if (hint) return withDetail(e, undefined, `${hint}; set autocreate = false on map '${name}' (and autoload = false on the programs that use it) to load the rest of the object`);
  const unsized = map && unsizedHint(map);
  return unsized ? withDetail(e, undefined, unsized) : e;
}
