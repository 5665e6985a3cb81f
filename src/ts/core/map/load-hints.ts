// Hints for a load that failed creating a map: the kernel lacks the map's kind.
import { BpfError, withDetail } from '../../errors/bpf-error';
import { FEATURE_REQUIREMENTS } from '../../errors/requirements';
import { probe } from '../../probe/probe';
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

/**
 * @internal A load that failed creating a map of a kind this kernel lacks: the same
 * BpfError, with a hint naming what brings the kind and how to load the rest without it.
 */
export function refineMapLoadError(e: unknown, maps: readonly BpfMap[]): unknown {
  if (!(e instanceof BpfError) || e.constructor !== BpfError) return e;
  const name = /\bmap '([^']+)': failed to create\b/.exec(e.message)?.[1];
  const map = name === undefined ? undefined : maps.find((m) => m.name === name);
  const hint = map && missingTypeHint(e, map.type);
  if (!hint) return e;
  return withDetail(e, undefined, `${hint}; set autocreate = false on map '${name}' (and autoload = false on the programs that use it) to load the rest of the object`);
}
