// Small BTF blobs built in TypeScript, for maps created without an object: the scalar
// key/value types named in BpfMap.create({ key: 'u32', value: 'u64' }) get the same
// codecs as types from an object's BTF.
import { Btf } from './btf';

const SCALARS: Record<string, { size: number; signed: boolean; bool?: boolean }> = {
  u8: { size: 1, signed: false }, s8: { size: 1, signed: true },
  u16: { size: 2, signed: false }, s16: { size: 2, signed: true },
  u32: { size: 4, signed: false }, s32: { size: 4, signed: true },
  u64: { size: 8, signed: false }, s64: { size: 8, signed: true },
  bool: { size: 1, signed: false, bool: true },
};

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
  const str = Buffer.from(strings, 'latin1');
  const header = Buffer.alloc(24);
  header.writeUInt16LE(0xeb9f, 0);
  header.writeUInt8(1, 2); // version
  header.writeUInt32LE(24, 4); // hdr_len
  header.writeUInt32LE(0, 8); // type_off
  header.writeUInt32LE(types.length, 12);
  header.writeUInt32LE(types.length, 16); // str_off
  header.writeUInt32LE(str.length, 20);
  return Btf.parse(Buffer.concat([header, types, str]));
}

let cached: Btf | undefined;
/** The type id of scalar `name` in the shared scalar BTF. */
export function scalarType(name: ScalarName): { btf: Btf; id: number } {
  cached ??= scalarBtf();
  return { btf: cached, id: SCALAR_NAMES.indexOf(name) + 1 };
}
