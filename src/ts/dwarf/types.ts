// Types from DWARF, as BTF: for a program whose record type has no BTF (only local variables
// use it) but whose -g build kept its DWARF. Looks a type up by name among the compile units'
// top-level DIEs and converts it, with everything it contains, into BTF types the codecs
// decode like clang's own: base types, typedefs, structs, unions (named and anonymous
// members), enums (32 and 64 bit), arrays (multi-dimensional, flexible), bitfields (DWARF 4/5
// data_bit_offset and DWARF 2/3 bit_offset), const/volatile/restrict. A pointer becomes a
// pointer to a forward declaration (its value decodes as an address either way, and the
// kernel structs a record points at stay out).
import { btfFromTypes } from '../btf/builder';
import { Btf, type BtfMember, type BtfType } from '../btf/btf';
import { ElfFile } from '../elf/file';
import { DW_AT, DW_TAG, DebugInfo, type Die } from './info';
import { constantOf, DwarfFormatError } from './reader';

const DW_ATE = { boolean: 0x02, float: 0x04, signed: 0x05, signed_char: 0x06, unsigned: 0x07, unsigned_char: 0x08 } as const;
const MAX_DEPTH = 512;

const KEYWORD: Partial<Record<number, string>> = {
  [DW_TAG.structure_type]: 'struct', [DW_TAG.class_type]: 'struct', [DW_TAG.union_type]: 'union', [DW_TAG.enumeration_type]: 'enum',
};

/** The named types of an ELF file's DWARF: `find('struct event')` -> BTF of that type. */
export class DwarfTypes {
  private index: Map<string, Die> | undefined;
  private readonly found = new Map<string, { btf: Btf; id: number } | null>();

  private constructor(private readonly debug: DebugInfo) {}

  /** undefined when the file has no DWARF (.debug_info). Throws ElfFormatError for a malformed file. */
  static fromElf(data: Uint8Array | ElfFile): DwarfTypes | undefined {
    const elf = data instanceof ElfFile ? data : ElfFile.parse(data);
    const debug = DebugInfo.of(elf);
    return debug ? new DwarfTypes(debug) : undefined;
  }

  /**
   * The type named `name` ('struct event', 'union u', 'enum e', or a typedef or base type
   * name) as BTF: a Btf holding it and what it contains, and its id there. undefined when
   * the DWARF has no complete type of that name. DwarfFormatError for malformed DWARF.
   */
  find(name: string): { btf: Btf; id: number } | undefined {
    let hit = this.found.get(name);
    if (hit === undefined) {
      const die = this.named().get(name);
      hit = die ? new Converter(this.debug).run(die) : null;
      this.found.set(name, hit);
    }
    return hit ?? undefined;
  }

  /** Every named type's name as find() takes it ('struct x', 'enum y', 'z'). */
  names(): string[] {
    return [...this.named().keys()];
  }

  // Complete top-level types of every unit by name; the first definition wins.
  private named(): Map<string, Die> {
    if (this.index) return this.index;
    const index = new Map<string, Die>();
    for (const unit of this.debug.units()) {
      for (const die of unit.root?.children ?? []) {
        const keyword = KEYWORD[die.tag];
        if (!keyword && die.tag !== DW_TAG.typedef && die.tag !== DW_TAG.base_type) continue;
        if (die.attrs.has(DW_AT.declaration)) continue;
        const name = this.debug.string(die, DW_AT.name);
        if (!name) continue;
        const key = keyword ? `${keyword} ${name}` : name;
        if (!index.has(key)) index.set(key, die);
      }
    }
    this.index = index;
    return index;
  }
}

// One conversion: DIEs -> BTF types numbered from 1, each DIE once.
class Converter {
  private readonly types: BtfType[] = [];
  private readonly ids = new Map<Die, number>();
  private readonly fwds = new Map<string, number>();
  private indexType = 0;
  private depth = 0;

  constructor(private readonly debug: DebugInfo) {}

  run(die: Die): { btf: Btf; id: number } {
    const id = this.convert(die);
    const btf = Btf.parse(btfFromTypes(this.types, this.debug.littleEndian));
    return { btf, id };
  }

  private add(t: Omit<BtfType, 'id'>): number {
    const id = this.types.length + 1;
    this.types.push({ ...t, id });
    return id;
  }

  private name(die: Die): string {
    return this.debug.string(die, DW_AT.name) ?? '';
  }

  private size(die: Die): number {
    return constantOf(die.attrs.get(DW_AT.byte_size)) ?? 0;
  }

  private fail(die: Die, what: string): never {
    throw new DwarfFormatError(`malformed DWARF: ${what} (DIE at offset ${die.offset})`);
  }

  /** The BTF id of the type a DIE's DW_AT_type names (0: void, no type attribute). */
  private typeOf(die: Die): number {
    if (!die.attrs.has(DW_AT.type)) return 0;
    const target = this.debug.ref(die, DW_AT.type);
    if (!target) this.fail(die, 'a DW_AT_type that refers to no DIE');
    return this.convert(target);
  }

  private convert(die: Die): number {
    const known = this.ids.get(die);
    if (known !== undefined) return known;
    if (++this.depth > MAX_DEPTH) this.fail(die, `types nested deeper than ${MAX_DEPTH}`);
    try {
      return this.convertNew(die);
    } finally {
      this.depth--;
    }
  }

  private convertNew(die: Die): number {
    const name = this.name(die);
    switch (die.tag) {
      case DW_TAG.base_type: return this.remember(die, this.base(die, name));
      case DW_TAG.unspecified_type: return this.remember(die, 0);
      case DW_TAG.pointer_type: case DW_TAG.reference_type:
        return this.remember(die, this.add({ kind: 'ptr', name: '', type: this.pointee(die) }));
      case DW_TAG.typedef: case DW_TAG.const_type: case DW_TAG.volatile_type: case DW_TAG.restrict_type: {
        const kind = die.tag === DW_TAG.typedef ? 'typedef' : die.tag === DW_TAG.const_type ? 'const' : die.tag === DW_TAG.volatile_type ? 'volatile' : 'restrict';
        // The id first: a typedef of a struct that points back at it resolves to this id.
        const id = this.reserve(die);
        this.fill(id, { kind, name: kind === 'typedef' ? name : '', type: this.typeOf(die) });
        return id;
      }
      case DW_TAG.atomic_type: return this.remember(die, this.typeOf(die));
      case DW_TAG.structure_type: case DW_TAG.class_type: case DW_TAG.union_type:
        return die.attrs.has(DW_AT.declaration) ? this.remember(die, this.fwd(name, die.tag === DW_TAG.union_type)) : this.record(die, name);
      case DW_TAG.enumeration_type: return this.remember(die, this.enumeration(die, name));
      case DW_TAG.array_type: return this.remember(die, this.array(die));
      case DW_TAG.subroutine_type: return this.remember(die, this.add({ kind: 'func_proto', name: '', type: 0, params: [] }));
      default: return this.fail(die, `tag 0x${die.tag.toString(16)} is not a type`);
    }
  }

  private remember(die: Die, id: number): number {
    this.ids.set(die, id);
    return id;
  }

  private reserve(die: Die): number {
    const id = this.add({ kind: 'void', name: '' });
    this.ids.set(die, id);
    return id;
  }

  private fill(id: number, t: Omit<BtfType, 'id'>): void {
    this.types[id - 1] = { ...t, id };
  }

  private base(die: Die, name: string): number {
    const size = this.size(die);
    const encoding = constantOf(die.attrs.get(DW_AT.encoding));
    if (size <= 0 || size > 16) this.fail(die, `base type ${name} of ${size} bytes`);
    if (encoding === DW_ATE.float) return this.add({ kind: 'float', name, size });
    const signed = encoding === DW_ATE.signed || encoding === DW_ATE.signed_char;
    const bool = encoding === DW_ATE.boolean;
    return this.add({ kind: 'int', name, size, signed, char: name === 'char', bool, bits: size * 8, bitOffset: 0 });
  }

  // What a pointer points at, as far as BTF needs: a forward declaration of a struct or
  // union, void for everything else (the pointer decodes to its address either way).
  private pointee(die: Die): number {
    let target = this.debug.ref(die, DW_AT.type);
    for (let i = 0; target && i < 16 && [DW_TAG.const_type, DW_TAG.volatile_type, DW_TAG.restrict_type, DW_TAG.typedef, DW_TAG.atomic_type].includes(target.tag as never); i++) {
      target = this.debug.ref(target, DW_AT.type);
    }
    if (!target || !KEYWORD[target.tag] || target.tag === DW_TAG.enumeration_type) return 0;
    return this.fwd(this.name(target), target.tag === DW_TAG.union_type);
  }

  private fwd(name: string, union: boolean): number {
    const key = `${union ? 'union' : 'struct'} ${name}`;
    let id = this.fwds.get(key);
    if (id === undefined) {
      id = this.add({ kind: 'fwd', name, fwdUnion: union });
      this.fwds.set(key, id);
    }
    return id;
  }

  private record(die: Die, name: string): number {
    const id = this.reserve(die);
    const union = die.tag === DW_TAG.union_type;
    const size = this.size(die);
    const members: BtfMember[] = [];
    for (const m of die.children) {
      if (m.tag !== DW_TAG.member) continue;
      members.push(this.member(m, size));
    }
    this.fill(id, { kind: union ? 'union' : 'struct', name, size, members });
    return id;
  }

  private member(m: Die, recordSize: number): BtfMember {
    const type = this.typeOf(m);
    const name = this.name(m);
    const bitSize = constantOf(m.attrs.get(DW_AT.bit_size)) ?? 0;
    let bitOffset: number;
    const dataBitOffset = constantOf(m.attrs.get(DW_AT.data_bit_offset));
    const byteOffset = this.memberLocation(m);
    if (dataBitOffset !== undefined) bitOffset = dataBitOffset;
    else if (bitSize > 0 && m.attrs.has(DW_AT.bit_offset)) {
      // DWARF 2/3: bit_offset counts from the most significant bit of the storage unit.
      const storage = constantOf(m.attrs.get(DW_AT.byte_size)) ?? this.typeSize(m);
      const msbOffset = constantOf(m.attrs.get(DW_AT.bit_offset)) ?? 0;
      bitOffset = byteOffset * 8 + (this.debug.littleEndian ? storage * 8 - msbOffset - bitSize : msbOffset);
    } else bitOffset = byteOffset * 8;
    if (!Number.isSafeInteger(bitOffset) || bitOffset < 0 || bitOffset >= 2 ** 32 || bitSize > 128) this.fail(m, `member ${name} at bit ${bitOffset} of a ${recordSize}-byte record`);
    return { name, type, bitOffset, bitSize };
  }

  // DW_AT_data_member_location: a constant, or (DWARF 2) DW_OP_plus_uconst N.
  private memberLocation(m: Die): number {
    const v = m.attrs.get(DW_AT.data_member_location);
    if (!v) return 0;
    const n = constantOf(v);
    if (n !== undefined) return n;
    if ((v.kind === 'block' || v.kind === 'exprloc') && v.value[0] === 0x23) {
      let result = 0;
      for (let i = 1, shift = 0; i < v.value.length && shift < 49; i++, shift += 7) {
        result += (v.value[i] & 0x7f) * 2 ** shift;
        if ((v.value[i] & 0x80) === 0) return result;
      }
    }
    return this.fail(m, 'a member location that is not a constant offset');
  }

  private typeSize(die: Die): number {
    let t = this.debug.ref(die, DW_AT.type);
    for (let i = 0; t && i < 16 && !t.attrs.has(DW_AT.byte_size); i++) t = this.debug.ref(t, DW_AT.type);
    return t ? this.size(t) : 0;
  }

  private enumeration(die: Die, name: string): number {
    const size = this.size(die) || 4;
    const underlying = this.debug.ref(die, DW_AT.type);
    const enc = underlying ? constantOf(this.resolveBase(underlying)?.attrs.get(DW_AT.encoding)) : undefined;
    let signed = enc === DW_ATE.signed || enc === DW_ATE.signed_char;
    const values: { name: string; value: number | bigint }[] = [];
    for (const e of die.children) {
      if (e.tag !== DW_TAG.enumerator) continue;
      const v = e.attrs.get(DW_AT.const_value);
      if (!v || v.kind !== 'constant') this.fail(e, 'an enumerator without a constant value');
      let value = v.value;
      if (!v.signed && v.size > 0 && signed) value = BigInt.asIntN(v.size * 8, value);
      if (value < 0n) signed = true;
      values.push({ name: this.name(e), value: value >= -(2n ** 53n) && value <= 2n ** 53n ? Number(value) : value });
    }
    return this.add({ kind: size > 4 ? 'enum64' : 'enum', name, size, signed, values });
  }

  private resolveBase(die: Die): Die | undefined {
    let t: Die | undefined = die;
    for (let i = 0; t && i < 16 && t.tag !== DW_TAG.base_type; i++) t = this.debug.ref(t, DW_AT.type);
    return t;
  }

  private array(die: Die): number {
    const elem = this.typeOf(die);
    const dims: number[] = [];
    for (const s of die.children) {
      if (s.tag !== DW_TAG.subrange_type) continue;
      const count = constantOf(s.attrs.get(DW_AT.count));
      const upper = s.attrs.get(DW_AT.upper_bound);
      const upperN = upper?.kind === 'constant' ? (upper.signed || upper.size === 0 ? upper.value : BigInt.asIntN(upper.size * 8, upper.value)) : undefined;
      const n = count ?? (upperN !== undefined && upperN >= 0n ? Number(upperN) + 1 : 0);
      if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) this.fail(s, `an array dimension of ${n}`);
      dims.push(n);
    }
    if (dims.length === 0) dims.push(0);
    this.indexType ||= this.add({ kind: 'int', name: '__ARRAY_SIZE_TYPE__', size: 4, signed: false, bits: 32, bitOffset: 0 });
    let id = elem;
    for (let i = dims.length - 1; i >= 0; i--) id = this.add({ kind: 'array', name: '', elemType: id, indexType: this.indexType, nelems: dims[i] });
    return id;
  }
}
