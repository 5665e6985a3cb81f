// Stack traces as the kernel stores them, read as BigUint64Array (no object per frame):
// the values of a BPF_MAP_TYPE_STACK_TRACE map (bpf_get_stackid()), and the bytes a
// program writes into an event with bpf_get_stack().
import { argRangeError, argTypeError, checkBytes, checkInteger } from '../base/args';
import { BpfMap } from '../core/map';

/**
 * The stacks of a BPF_MAP_TYPE_STACK_TRACE map, by the ids bpf_get_stackid() returned.
 * @example
 *   const stacks = new StackTraces(obj.map('stack_traces'));
 *   const ips = stacks.get(key.user_stack);      // BigUint64Array, innermost first
 *   const frames = await symbolizer.symbolize(ips ?? [], { pid: key.pid });
 */
export class StackTraces {
  readonly #map: BpfMap;
  readonly #key = Buffer.alloc(4);

  /** Reads `map`, a BPF_MAP_TYPE_STACK_TRACE map of a loaded object. */
  constructor(map: BpfMap) {
    if (!(map instanceof BpfMap)) throw argTypeError('map', 'a BpfMap', map);
    if (map.type !== 'stack_trace') throw argTypeError('map', "a map of type 'stack_trace'", map.type);
    this.#map = map;
  }

  /**
   * The stack with this id, innermost frame first, up to its last non-zero address;
   * undefined when the id is negative (bpf_get_stackid() failed) or not in the map.
   */
  get(id: number): BigUint64Array | undefined {
    if (typeof id !== 'number' || !Number.isInteger(id)) throw argTypeError('id', 'an integer', id);
    if (id < 0 || id > 0xffffffff) return undefined;
    this.#key.writeUInt32LE(id);
    const value = this.#map.raw.get(this.#key);
    return value && stackFromBytes(value, 0, value.length);
  }

  /** Forgets a stack (ids are reused only once deleted: a full map makes bpf_get_stackid fail). */
  delete(id: number): boolean {
    checkInteger(id, 'id', 0, 0xffffffff);
    this.#key.writeUInt32LE(id);
    return this.#map.raw.delete(this.#key);
  }
}

/**
 * The addresses in `bytes[offset, offset + byteLength)`, as bpf_get_stack() writes them
 * (byteLength: what it returned), stopping at the first zero. A copy: the result stays
 * valid when the event's memory is reused.
 * @example const ips = stackFromBytes(event.bytes, 24, event.stack_size);
 */
export function stackFromBytes(bytes: Uint8Array, offset = 0, byteLength = bytes.length - offset): BigUint64Array {
  checkBytes(bytes, 'bytes');
  checkInteger(offset, 'offset', 0, bytes.length);
  checkInteger(byteLength, 'byteLength', 0, bytes.length - offset);
  if (byteLength % 8 !== 0) throw argRangeError('byteLength', 'a multiple of 8', byteLength);
  let n = byteLength >>> 3;
  const out = new BigUint64Array(n);
  new Uint8Array(out.buffer).set(bytes.subarray(offset, offset + byteLength));
  // Trim trailing zeros: stack-trace map values and fixed-size event arrays are zero-padded.
  const words = new Uint32Array(out.buffer);
  let depth = 0;
  while (depth < n && (words[2 * depth] !== 0 || words[2 * depth + 1] !== 0)) depth++;
  if (depth < n) n = depth;
  return n === out.length ? out : out.subarray(0, n);
}
