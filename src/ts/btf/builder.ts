// Small BTF blobs built in TypeScript: for maps created without an object, the scalar
// key/value types named in BpfMap.create({ key: 'u32', value: 'u64' }), which get the
// same codecs as types from an object's BTF; and for headerBtf(), a few types cut out of
// a bigger BTF with everything they reference.
import { Btf, type BtfKind, type BtfType } from './btf';

const SCALARS: Record<string, { size: number; signed: boolean; bool?: boolean }> = {
  u8: { size: 1, signed: false }, s8: { size: 1, signed: true },
  u16: { size: 2, signed: false }, s16: { size: 2, signed: true },
  u32: { size: 4, signed: false }, s32: { size: 4, signed: true },
  u64: { size: 8, signed: false }, s64: { size: 8, signed: true },
  bool: { size: 1, signed: false, bool: true },
};

/** A scalar key or value type by name, for BpfMap.create(): 8- to 32-bit integers decode to numbers, 64-bit to bigints, bool to booleans. */
export type ScalarName = 'u8' | 's8' | 'u16' | 's16' | 'u32' | 's32' | 'u64' | 's64' | 'bool';
export const SCALAR_NAMES = Object.keys(SCALARS) as ScalarName[];

const BTF_KIND_INT = 1;
const INT_SIGNED = 1;
const INT_BOOL = 4;

/** A BTF holding one INT type per scalar name, in SCALAR_NAMES order (ids 1..n). */
export function scalarBtf(): Btf {
  const names = SCALAR_NAMES;
  let strings = '\0';
  const nameOff: number[] = [];
  for (const n of names) {
    nameOff.push(strings.length);
    strings += `${n}\0`;
  }
  const types = Buffer.alloc(names.length * 16);
  names.forEach((n, i) => {
    const { size, signed, bool } = SCALARS[n];
    const encoding = (signed ? INT_SIGNED : 0) | (bool ? INT_BOOL : 0);
    types.writeUInt32LE(nameOff[i], i * 16);
    types.writeUInt32LE(BTF_KIND_INT << 24, i * 16 + 4);
    types.writeUInt32LE(size, i * 16 + 8);
    types.writeUInt32LE((encoding << 24) | (bool ? 8 : size * 8), i * 16 + 12);
  });
  return Btf.parse(rawBtf(types, Buffer.from(strings, 'latin1'), true));
}

// The header, then the type and string sections.
function rawBtf(types: Buffer, strings: Buffer, le: boolean): Buffer {
  const header = Buffer.alloc(24);
  const view = new DataView(header.buffer, header.byteOffset, 24);
  view.setUint16(0, 0xeb9f, le);
  view.setUint8(2, 1); // version
  view.setUint32(4, 24, le); // hdr_len
  view.setUint32(8, 0, le); // type_off
  view.setUint32(12, types.length, le);
  view.setUint32(16, types.length, le); // str_off
  view.setUint32(20, strings.length, le);
  return Buffer.concat([header, types, strings]);
}

let cached: Btf | undefined;
/** The type id of scalar `name` in the shared scalar BTF. */
export function scalarType(name: ScalarName): { btf: Btf; id: number } {
  cached ??= scalarBtf();
  return { btf: cached, id: SCALAR_NAMES.indexOf(name) + 1 };
}

// BTF_KIND_* of the kinds a type can reach: funcs, vars, datasecs and decl tags point at
// types, never the other way round.
const KIND_CODE: Partial<Record<BtfKind, number>> = {
  int: 1, ptr: 2, array: 3, struct: 4, union: 5, enum: 6, fwd: 7, typedef: 8, volatile: 9,
  const: 10, restrict: 11, func_proto: 13, float: 16, type_tag: 18, enum64: 19,
};

// The ids a type refers to (0, void, included).
function references(t: BtfType): number[] {
  const out: number[] = [];
  if (t.type !== undefined) out.push(t.type);
  if (t.elemType !== undefined) out.push(t.elemType, t.indexType as number);
  for (const m of t.members ?? []) out.push(m.type);
  for (const p of t.params ?? []) out.push(p.type);
  return out;
}

// Every type reachable from `roots`, breadth first (a walk, not a recursion: a pointer to
// a kernel struct can reach thousands of types), in the order new ids are given.
function reachable(btf: Btf, roots: number[]): BtfType[] {
  const seen = new Set<number>([0]);
  const order: BtfType[] = [];
  const queue = [...roots];
  for (let i = 0; i < queue.length; i++) {
    if (seen.has(queue[i])) continue;
    seen.add(queue[i]);
    const t = btf.typeById(queue[i]);
    order.push(t);
    queue.push(...references(t));
  }
  return order;
}

// Writes btf_type records: one growing buffer, the byte order of the source BTF.
class TypeWriter {
  bytes = Buffer.alloc(4096);
  length = 0;
  readonly strings = new Map<string, number>([['', 0]]);
  stringBytes = 1;

  constructor(readonly le: boolean) {}

  u32(v: number): void {
    if (this.length + 4 > this.bytes.length) this.bytes = Buffer.concat([this.bytes, Buffer.alloc(this.bytes.length)]);
    new DataView(this.bytes.buffer, this.bytes.byteOffset).setUint32(this.length, v >>> 0, this.le);
    this.length += 4;
  }

  name(s: string): number {
    let off = this.strings.get(s);
    if (off === undefined) {
      off = this.stringBytes;
      this.strings.set(s, off);
      this.stringBytes += Buffer.byteLength(s) + 1;
    }
    return off;
  }

  header(t: BtfType, vlen: number, kflag: boolean, sizeOrType: number): void {
    this.u32(this.name(t.name));
    this.u32(((kflag ? 1 : 0) << 31) | ((KIND_CODE[t.kind] as number) << 24) | vlen);
    this.u32(sizeOrType);
  }

  stringSection(): Buffer {
    return Buffer.from([...this.strings.keys()].map((s) => `${s}\0`).join(''), 'utf8');
  }
}

// One type's record, its references renumbered by `id`.
function writeType(w: TypeWriter, t: BtfType, id: (old: number) => number): void {
  switch (t.kind) {
    case 'int':
      w.header(t, 0, false, t.size as number);
      w.u32((((t.signed ? 1 : 0) | (t.char ? 2 : 0) | (t.bool ? 4 : 0)) << 24) | ((t.bitOffset as number) << 16) | (t.bits as number));
      return;
    case 'array':
      w.header(t, 0, false, 0);
      for (const v of [id(t.elemType as number), id(t.indexType as number), t.nelems as number]) w.u32(v);
      return;
    case 'struct': case 'union': {
      const members = t.members ?? [];
      const bitfields = members.some((m) => m.bitSize > 0); // kind_flag: bit sizes in the offsets
      w.header(t, members.length, bitfields, t.size as number);
      for (const m of members) {
        w.u32(w.name(m.name));
        w.u32(id(m.type));
        w.u32(bitfields ? (m.bitSize << 24) | m.bitOffset : m.bitOffset);
      }
      return;
    }
    case 'enum': case 'enum64': {
      const values = t.values ?? [];
      w.header(t, values.length, !!t.signed, t.size as number);
      for (const v of values) {
        w.u32(w.name(v.name));
        const n = BigInt.asUintN(64, BigInt(v.value));
        w.u32(Number(n & 0xffffffffn));
        if (t.kind === 'enum64') w.u32(Number(n >> 32n));
      }
      return;
    }
    case 'fwd':
      return w.header(t, 0, !!t.fwdUnion, 0);
    case 'func_proto': {
      const params = t.params ?? [];
      w.header(t, params.length, false, id(t.type as number));
      for (const p of params) {
        w.u32(w.name(p.name));
        w.u32(id(p.type));
      }
      return;
    }
    case 'float':
      return w.header(t, 0, false, t.size as number);
    case 'ptr': case 'typedef': case 'volatile': case 'const': case 'restrict': case 'type_tag':
      return w.header(t, 0, !!t.attr, id(t.type as number));
    default:
      throw new TypeError(`BTF subset: a ${t.kind} cannot be reached from a type`);
  }
}

/**
 * Raw BTF of the types `roots` of `btf` and every type they reference, nothing else: no
 * variables, sections or functions. New ids from 1, the roots first, in order.
 */
export function btfSubset(btf: Btf, roots: number[]): Buffer {
  const types = reachable(btf, roots);
  const ids = new Map(types.map((t, i) => [t.id, i + 1]));
  const id = (old: number): number => (old === 0 ? 0 : (ids.get(old) as number));
  const w = new TypeWriter(btf.littleEndian);
  for (const t of types) writeType(w, t, id);
  return rawBtf(w.bytes.subarray(0, w.length), w.stringSection(), btf.littleEndian);
}

/**
 * Raw BTF of `types`, numbered 1..n in that order (each type's `id` must be its position
 * + 1, and its references ids among them or 0). The kinds a type can reach only: no
 * variables, sections or functions. For types made elsewhere (DWARF, see dwarf/types.ts).
 */
export function btfFromTypes(types: readonly BtfType[], littleEndian = true): Buffer {
  const w = new TypeWriter(littleEndian);
  types.forEach((t, i) => {
    if (t.id !== i + 1) throw new RangeError(`types[${i}]: expected id ${i + 1}, got ${t.id}`);
    writeType(w, t, (id) => id);
  });
  return rawBtf(w.bytes.subarray(0, w.length), w.stringSection(), littleEndian);
}
