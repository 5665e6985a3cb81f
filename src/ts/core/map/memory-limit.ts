// A pre-load bound on what an object's maps make the kernel allocate. An object file is
// code: its map definitions decide how much kernel memory load() takes (an array of 2^31
// entries, an inner map template of billions of entries), and nothing in the kernel stops
// a privileged loader. BpfObject.open(..., { maxMapMemory }) checks the estimate below
// before load() and refuses with a BpfError (E2BIG) instead.
import type { Btf, BtfType } from '../../btf/btf';
import { BpfError } from '../../errors/bpf-error';
import { numPossibleCpus, PER_CPU } from './kinds';

const E2BIG = 7;

export interface MapShape { name: string; type: string; keySize: number; valueSize: number; maxEntries: number }

/** Bytes a map needs at least: entries x (key + value), values per CPU; a ring buffer's size. */
export function mapBytes(m: MapShape): number {
  if (m.type === 'ringbuf' || m.type === 'user_ringbuf') return m.maxEntries;
  const value = PER_CPU.has(m.type) ? m.valueSize * numPossibleCpus() : m.valueSize;
  return m.maxEntries * (m.keySize + value);
}

// `__uint(max_entries, N)` is a pointer to an array of N ints; `__type(key, T)` a pointer to T.
function field(btf: Btf, def: BtfType, name: string): BtfType | undefined {
  const m = def.members?.find((x) => x.name === name);
  if (!m) return undefined;
  const ptr = btf.typeById(m.type);
  return ptr.kind === 'ptr' ? btf.typeById(ptr.type as number) : undefined;
}

/** Inner map templates of map-in-map definitions (`__array(values, struct {...})`) in .maps. */
export function innerMapShapes(btf: Btf): MapShape[] {
  const out: MapShape[] = [];
  const maps = btf.find('.maps', 'datasec');
  for (const v of maps?.vars ?? []) {
    const outer = btf.typeById(v.type);
    const def = btf.resolve(outer.type as number);
    const values = def.members?.find((x) => x.name === 'values');
    if (!values) continue;
    const arr = btf.typeById(values.type);
    if (arr.kind !== 'array') continue;
    const ptr = btf.resolve(arr.elemType as number);
    if (ptr.kind !== 'ptr') continue;
    const inner = btf.resolve(ptr.type as number);
    const n = (name: string): number => field(btf, inner, name)?.nelems ?? 0;
    const sizeOf = (name: string, sizeName: string): number => {
      const t = field(btf, inner, name);
      return t ? btf.sizeOf(t.id) : n(sizeName);
    };
    out.push({ name: `${outer.name} (inner map)`, type: 'inner', keySize: sizeOf('key', 'key_size'), valueSize: sizeOf('value', 'value_size'), maxEntries: n('max_entries') });
  }
  return out;
}

/** Throws BpfError E2BIG when the maps would need more than `limit` bytes. */
export function checkMapMemory(maps: MapShape[], limit: number): void {
  let total = 0;
  const parts: string[] = [];
  for (const m of maps) {
    const bytes = mapBytes(m);
    total += bytes;
    parts.push(`${m.name}: ${bytes}`);
  }
  if (total > limit) {
    const biggest = [...maps].sort((a, b) => mapBytes(b) - mapBytes(a))[0];
    throw new BpfError(E2BIG, 'bpf_object__load', `the maps would need at least ${total} bytes of kernel memory, more than options.maxMapMemory (${limit}); the largest is ${biggest.name} (${mapBytes(biggest)} bytes)`, {
      hint: 'lower the maps\' maxEntries before load(), or raise maxMapMemory if the object is trusted',
    });
  }
}
