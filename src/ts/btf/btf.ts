/**
 * BTF (BPF Type Format) parser, following the kernel's Documentation/bpf/btf.rst.
 *
 * Parsing is two-phase: `Btf.parse` validates the header and walks the type
 * section once to record where each type starts; type objects, names and the
 * name index are decoded on demand and cached. The input bytes are not copied,
 * so they must not be modified afterwards.
 *
 * Sources: `Btf.fromKernel()` (/sys/kernel/btf/vmlinux), `Btf.fromKernelModule(name)`
 * (split BTF on top of vmlinux), `Btf.fromFile(path)` (raw BTF or an ELF object's .BTF),
 * `obj.btf` (a BpfObject's own types), or `Btf.parse(bytes)`.
 */
import { resolve as resolvePath } from 'node:path';
import { checkFilePath, checkString } from '../base/args';
import { addon } from '../base/native';
import { BpfError } from '../errors/bpf-error';
import { trustBtf, validateBtf } from './validate';
import { codecFor, type Codec, type CodecOptions } from './codec';

const KERNEL_BTF = '/sys/kernel/btf/vmlinux';

/**
 * Where codec() looks up a type name missing from a Btf: the DWARF fallback
 * (dwarf/fallback.ts) registers itself here, since btf/ cannot import dwarf/.
 */
type MissingTypeLookup = (btf: Btf, name: string) => { btf: Btf; id: number } | undefined;
let missingTypeLookup: MissingTypeLookup | undefined;

/** Registers the lookup codec() tries for a name this Btf does not have (internal). */
export function setMissingTypeLookup(lookup: MissingTypeLookup): void {
  missingTypeLookup = lookup;
}
const EINVAL = 22;

/** A BTF type's kind (BTF_KIND_*, lower case). */
export type BtfKind =
  | 'void' | 'int' | 'ptr' | 'array' | 'struct' | 'union' | 'enum' | 'fwd' | 'typedef'
  | 'volatile' | 'const' | 'restrict' | 'func' | 'func_proto' | 'var' | 'datasec' | 'float'
  | 'decl_tag' | 'type_tag' | 'enum64';

/** A struct or union member. */
export interface BtfMember {
  /** The member's name ('' for an anonymous struct or union member). */
  name: string;
  /** The member's type id. */
  type: number;
  /** Offset from the start of the struct, in bits. */
  bitOffset: number;
  /** 0 unless the member is a bitfield declared with kind_flag set (the modern encoding) */
  bitSize: number;
}
/** An enumerator of an enum or enum64. */
export interface BtfEnumValue {
  /** The enumerator's name. */
  name: string;
  /** Its value: a number for enum, a bigint for enum64 (signed or not as the type says). */
  value: number | bigint;
}
/** A func_proto's parameter. */
export interface BtfParam {
  /** The parameter's name ('' where the prototype names none). */
  name: string;
  /** Its type id (0 for the `...` of a variadic function). */
  type: number;
}
/** A datasec's variable: where it lives in the section. */
export interface BtfVarSecInfo {
  /** The id of the var (or func) type. */
  type: number;
  /** Byte offset in the section. */
  offset: number;
  /** Size in bytes. */
  size: number;
}

/**
 * The fields every BTF type has or may have; {@link BtfType} narrows them by `kind`.
 */
export interface BtfTypeFields {
  /** The type's id (0 is void). */
  id: number;
  /** Which kind of type, and so which fields below are set. */
  kind: BtfKind;
  /** The type's name ('' for anonymous types, pointers, arrays, qualifiers, func_protos). */
  name: string;
  /** int, struct, union, enum, enum64, datasec, float */
  size?: number;
  /** ptr, typedef, cv-qualifiers, func, var, decl_tag, type_tag, func_proto (return type) */
  type?: number;
  /** int encoding; also set on enum/enum64 (kind_flag) */
  signed?: boolean;
  /** int: the encoding says char. */
  char?: boolean;
  /** int: the encoding says bool. */
  bool?: boolean;
  /** int: the number of value bits (BTF_INT_BITS). */
  bits?: number;
  /** int: the bit offset of the value within its bytes (BTF_INT_OFFSET). */
  bitOffset?: number;
  /** array: the element type id. */
  elemType?: number;
  /** array: the index type id. */
  indexType?: number;
  /** array: the number of elements. */
  nelems?: number;
  /** struct, union: the members, in order. */
  members?: BtfMember[];
  /** enum, enum64: the enumerators, in order. */
  values?: BtfEnumValue[];
  /** func_proto: the parameters, in order. */
  params?: BtfParam[];
  /** datasec: the variables it holds. */
  vars?: BtfVarSecInfo[];
  /** func: 0 static, 1 global, 2 extern; var: 0 static, 1 global (allocated), 2 extern. */
  linkage?: number;
  /** decl_tag: the member or parameter index the tag applies to; -1 for the type itself. */
  componentIdx?: number;
  /** fwd: true for a forward-declared union, false for a struct. */
  fwdUnion?: boolean;
  /** decl_tag/type_tag with kind_flag: the tag is a plain __attribute__ rather than btf_*_tag */
  attr?: boolean;
}

/** A struct or union: its size and members are always there. */
export interface BtfCompositeType extends BtfTypeFields {
  /** 'struct' or 'union'. */
  kind: 'struct' | 'union';
  /** The size in bytes. */
  size: number;
  /** The members, in order (empty for an empty struct). */
  members: BtfMember[];
}

/** Any other kind of BTF type (no members). */
export interface BtfOtherType extends BtfTypeFields {
  /** Which kind of type, and so which fields are set. */
  kind: Exclude<BtfKind, 'struct' | 'union'>;
}

/**
 * One BTF type, decoded. `kind` says which of the optional fields are set; ids refer to
 * other types of the same Btf (0 is void).
 */
export type BtfType = BtfCompositeType | BtfOtherType;

const KINDS: readonly BtfKind[] = [
  'void', 'int', 'ptr', 'array', 'struct', 'union', 'enum', 'fwd', 'typedef', 'volatile',
  'const', 'restrict', 'func', 'func_proto', 'var', 'datasec', 'float', 'decl_tag', 'type_tag',
  'enum64',
];

const HEADER_LEN = 24;
const MAGIC = 0xeb9f;
const MODIFIERS = new Set<BtfKind>(['typedef', 'const', 'volatile', 'restrict', 'type_tag']);
const MAX_CHAIN = 256;
// Types one typeName() visits at most. Depth alone does not bound it: a func_proto whose
// return and parameter types name it again branches at every level (5^32 visits for four
// parameters; a fuzzed input took 27 s before this bound).
const NAME_STEPS = 1024;
const VOID: BtfType = Object.freeze({ id: 0, kind: 'void', name: '' }) as BtfType;

// Captured once: inside vm contexts (e.g. jest) each global lookup in a hot loop is slow.
const { imul } = Math;
const { isInteger } = Number;
const BufferClass = Buffer;

const FNV_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

interface NameIndex { heads: Int32Array; next: Int32Array; mask: number }

/** FNV-1a over the UTF-8 bytes, matching Btf.hashAt. */
function hashString(s: string): number {
  let h = FNV_BASIS;
  for (const b of BufferClass.from(s, 'utf8')) h = imul(h ^ b, FNV_PRIME);
  return h >>> 0;
}

function notBtf(why: string): TypeError {
  return new TypeError(`not BTF data: ${why}`);
}

/** Bytes of kind-specific data after the 12-byte btf_type header; -1 for unknown kinds. */
function extraSize(kind: number, vlen: number): number {
  switch (kind) {
    case 1: case 14: case 17: return 4; // int, var, decl_tag
    case 3: return 12; // array
    case 4: case 5: case 15: case 19: return vlen * 12; // struct, union, datasec, enum64
    case 6: case 13: return vlen * 8; // enum, func_proto
    case 2: case 7: case 8: case 9: case 10: case 11: case 12: case 16: case 18: return 0;
    default: return -1;
  }
}

interface Layout {
  le: boolean;
  typeStart: number;
  typeEnd: number;
  strStart: number;
  strLen: number;
}

function readLayout(bytes: Uint8Array, view: DataView, isSplit: boolean): Layout {
  if (bytes.length < HEADER_LEN) throw notBtf(`${bytes.length} bytes is shorter than a header`);
  let le: boolean;
  if (view.getUint16(0, true) === MAGIC) le = true;
  else if (view.getUint16(0, false) === MAGIC) le = false;
  else throw notBtf(`bad magic 0x${view.getUint16(0, true).toString(16)}`);
  const version = view.getUint8(2);
  if (version !== 1) throw notBtf(`unsupported version ${version}`);
  const hdrLen = view.getUint32(4, le);
  if (hdrLen < HEADER_LEN || hdrLen > bytes.length) throw notBtf(`bad header length ${hdrLen}`);
  const dataLen = bytes.length - hdrLen;
  const [typeOff, typeLen, strOff, strLen] = [8, 12, 16, 20].map((o) => view.getUint32(o, le));
  if (typeOff + typeLen > dataLen) throw notBtf('type section is truncated');
  if (strOff + strLen > dataLen) throw notBtf('string section is truncated');
  const strStart = hdrLen + strOff;
  if (strLen > 0 && bytes[strStart + strLen - 1] !== 0) throw notBtf('string section is not NUL-terminated');
  if (!isSplit && (strLen === 0 || bytes[strStart] !== 0)) throw notBtf('string section must start with NUL');
  return { le, typeStart: hdrLen + typeOff, typeEnd: hdrLen + typeOff + typeLen, strStart, strLen };
}

/** Walks the type section once, returning the byte offset of every type. */
function indexTypes(view: DataView, l: Layout, firstId: number): Uint32Array {
  const offsets = new Uint32Array(Math.floor((l.typeEnd - l.typeStart) / 12));
  let n = 0;
  let off = l.typeStart;
  while (off < l.typeEnd) {
    if (off + 12 > l.typeEnd) throw notBtf(`type ${firstId + n} is truncated`);
    const info = view.getUint32(off + 4, l.le);
    const kind = (info >>> 24) & 0x1f;
    const extra = kind === 0 ? -1 : extraSize(kind, info & 0xffff);
    if (extra < 0) throw notBtf(`type ${firstId + n} has unknown kind ${kind}`);
    if (off + 12 + extra > l.typeEnd) throw notBtf(`type ${firstId + n} is truncated`);
    offsets[n++] = off;
    off += 12 + extra;
  }
  return offsets.slice(0, n);
}

/**
 * A parsed BTF blob: the kernel's, a module's, an object's or a file's types, looked up
 * by name or id. Types are decoded in TypeScript on first use and cached; the addon only
 * reads the files (fromKernel, fromKernelModule, fromFile) and prints C (toCHeader).
 *
 * @example
 * ```ts
 * const btf = Btf.fromKernel();
 * const task = btf.type('struct task_struct');
 * console.log(task.size, task.members!.length);
 * ```
 */
export class Btf {
  /** Highest valid type id (ids 1..typeCount; 0 is void), including base types for split BTF. */
  readonly typeCount: number;
  /** For split BTF (a kernel module's): the BTF it extends; undefined otherwise. */
  readonly base: Btf | undefined;
  /** Byte order of the BTF data, and so of the values it describes. */
  readonly littleEndian: boolean;

  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly offsets: Uint32Array;
  private readonly firstId: number;
  private readonly strStart: number;
  private readonly strLen: number;
  /** String offsets below this belong to the base BTF. */
  private readonly strBase: number;
  private readonly cache: (BtfType | undefined)[];
  private buf: Buffer | undefined;
  private nameIndex: NameIndex | undefined;
  private nameSteps = 0; // what is left of NAME_STEPS in the typeName() under way
  private ptrSize = 0;
  /** Parsed by libbpf first (fromLibbpf): our decoding failures are BpfErrors. */
  private libbpfChecked = false;

  private constructor(bytes: Uint8Array, base: Btf | undefined) {
    this.bytes = bytes;
    this.base = base;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const layout = readLayout(bytes, this.view, base !== undefined);
    this.littleEndian = layout.le;
    this.firstId = base ? base.typeCount + 1 : 1;
    this.offsets = indexTypes(this.view, layout, this.firstId);
    this.cache = new Array<BtfType | undefined>(this.offsets.length);
    this.typeCount = this.firstId - 1 + this.offsets.length;
    this.strStart = layout.strStart;
    this.strLen = layout.strLen;
    this.strBase = base ? base.strBase + base.strLen : 0;
  }

  /**
   * The running kernel's BTF (/sys/kernel/btf/vmlinux), parsed once per process.
   * Throws BpfError (ENOENT) on kernels built without CONFIG_DEBUG_INFO_BTF.
   * @example const task = Btf.fromKernel().type('struct task_struct');
   */
  static fromKernel(): Btf {
    return (kernelBtf ??= trustBtf(Btf.parse(addon.btfRawData(KERNEL_BTF)))); // the kernel verified it
  }

  /**
   * A kernel module's BTF (/sys/kernel/btf/<name>), split BTF on top of the kernel's:
   * its own types continue the kernel's ids, lookups fall back to the kernel's types.
   * @example const nf = Btf.fromKernelModule('nf_conntrack'); nf.type('struct nf_conn');
   */
  static fromKernelModule(name: string): Btf {
    checkString(name, 'name');
    if (name.includes('/') || name === 'vmlinux' || name === '.' || name === '..') {
      throw new RangeError(`name: expected a kernel module name, got ${JSON.stringify(name)}`);
    }
    const base = Btf.fromKernel();
    return trustBtf(Btf.parse(addon.btfRawData(`/sys/kernel/btf/${name}`, base.bytes), base));
  }

  /**
   * BTF from a file: raw BTF (such as a copy of /sys/kernel/btf/vmlinux, or a BTF for an
   * old kernel) or an ELF object's .BTF section. With `base`, the file is split BTF on it.
   * Throws BpfError when the file is missing or is not BTF.
   * @example const btf = Btf.fromFile('agent.bpf.o'); btf.type('struct event');
   */
  static fromFile(path: string, base?: Btf): Btf {
    checkFilePath(path, 'path'); // a FIFO would block forever
    if (base !== undefined && !(base instanceof Btf)) throw new TypeError(`base: expected a Btf, got ${typeof base}`);
    const btf = Btf.fromLibbpf(addon.btfRawData(path, base?.bytes), base, path);
    return resolvePath(path).startsWith('/sys/kernel/btf/') ? trustBtf(btf) : btf; // the kernel's own, verified
  }

  /**
   * @internal BTF that libbpf already parsed (a file, an object's .BTF): where our parser
   * disagrees, that is a property of the data, so a BpfError (EINVAL), not a TypeError.
   */
  static fromLibbpf(bytes: Uint8Array, base: Btf | undefined, what: string): Btf {
    try {
      const btf = Btf.parse(bytes, base);
      btf.libbpfChecked = true;
      return btf;
    } catch (e) {
      if (!(e instanceof TypeError || e instanceof RangeError)) throw e;
      throw new BpfError(EINVAL, 'btf_parse', `${what}: ${e.message}`, { hint: 'libbpf accepted this BTF but node-libbpf cannot decode it' });
    }
  }

  /** Parses raw BTF; with `base`, parses split BTF (e.g. a kernel module's) on top of it. */
  static parse(bytes: Uint8Array, base?: Btf): Btf {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('not BTF data: expected a Uint8Array');
    if (base !== undefined && !(base instanceof Btf)) throw new TypeError('base must be a Btf');
    return new Btf(bytes, base);
  }

  /**
   * The type with this id, as decoded (no size filled in for typedefs and the like: see
   * {@link Btf.type}). RangeError outside 0..typeCount; id 0 is void.
   */
  typeById(id: number): BtfType {
    if (id >= this.firstId && id <= this.typeCount && isInteger(id)) {
      return this.cache[id - this.firstId] ?? this.decodeType(id);
    }
    if (id === 0) return VOID;
    if (this.base && isInteger(id) && id > 0 && id < this.firstId) return this.base.typeById(id);
    throw new RangeError(`BTF type id ${id} is out of range 0..${this.typeCount}`);
  }

  /**
   * The first type with this exact name (and kind, when given), base types first; undefined
   * when there is none. Unlike {@link Btf.type}, takes no 'struct ' prefix.
   * @example
   * const sk = Btf.fromKernel().find('sock', 'struct');
   */
  find(name: string, kind?: BtfKind): BtfType | undefined {
    const inBase = this.base?.find(name, kind);
    if (inBase) return inBase;
    for (const t of this.named(name)) if (kind === undefined || t.kind === kind) return t;
    return undefined;
  }

  /**
   * The type named `name` ('task_struct', 'struct task_struct', 'enum bpf_map_type',
   * 'u32') or with id `name`: { id, kind, name, size, members: [{ name, bitOffset,
   * bitSize, type }], ... }; `size` is set for every type that has one. RangeError when
   * there is no such type (use find() to test for presence).
   * @example
   * const t = Btf.fromKernel().type('struct task_struct');
   * const pid = t.members!.find((m) => m.name === 'pid')!; // bitOffset, type id
   */
  type(name: string | number): BtfType {
    let t: BtfType | undefined;
    if (typeof name === 'number') {
      t = this.typeById(name);
    } else {
      checkString(name, 'name');
      const m = /^(struct|union|enum)\s+(.+)$/.exec(name);
      t = m ? this.find(m[2], m[1] as BtfKind) ?? (m[1] === 'enum' ? this.find(m[2], 'enum64') : undefined) : this.find(name);
      if (!t) throw new RangeError(`name: expected a type in this BTF, got ${JSON.stringify(name)}`);
    }
    if (t.size !== undefined) return t;
    let size: number | undefined;
    try {
      size = t.kind === 'void' || t.kind === 'func' || t.kind === 'func_proto' || t.kind === 'fwd' ? undefined : this.sizeOf(t.id);
    } catch {
      size = undefined;
    }
    return size === undefined ? t : { ...t, size };
  }

  /**
   * The codec of a type of this BTF (by name as in type(), or by id): decode(), encode(),
   * and decodePartial() for a value of which only some bytes are there (a short record).
   * options.chars decodes chosen `char[]` members as 'bytes' or as a list of 'strings'.
   * A name this BTF lacks is looked up, for an object's BTF (`obj.btf`), in the DWARF of
   * its file when it was built with -g, as RingBuffer's options.type is.
   * @example
   * const codec = obj.btf.codec('struct event', { chars: { args: 'strings' } });
   * const e = codec.decodePartial(new DataView(buf.buffer, buf.byteOffset), 0, buf.length);
   */
  codec<T = any>(type: string | number, options?: CodecOptions): Codec<T> {
    let id: number;
    try {
      id = this.type(type).id;
    } catch (e) {
      const found = typeof type === 'string' && e instanceof RangeError ? missingTypeLookup?.(this, type) : undefined;
      if (!found) throw e;
      return codecFor<T>(found.btf, found.id, options);
    }
    return codecFor<T>(this, id, options);
  }

  /**
   * These types as C (what `node-libbpf vmlinux` prints for the kernel's BTF), wrapped
   * in the preserve_access_index pragma CO-RE needs; generated by libbpf's btf_dump.
   * @example fs.writeFileSync('vmlinux.h', Btf.fromKernel().toCHeader());
   */
  toCHeader(): string {
    validateBtf(this); // libbpf's btf_dump crashes or never returns on some malformed BTF
    return addon.btfToCHeader(this.bytes, this.base?.bytes);
  }

  /** Every type with that name, base types first, in id order. */
  findAll(name: string): BtfType[] {
    const found = this.base ? this.base.findAll(name) : [];
    for (const t of this.named(name)) found.push(t);
    return found;
  }

  /** This BTF's own types in id order (for split BTF, base types are not included). */
  *[Symbol.iterator](): IterableIterator<BtfType> {
    for (let id = this.firstId; id <= this.typeCount; id++) yield this.typeById(id);
  }

  /** Skips typedef/const/volatile/restrict/type_tag. */
  resolve(id: number): BtfType {
    let t = this.typeById(id);
    for (let i = 0; MODIFIERS.has(t.kind); i++) {
      if (i > MAX_CHAIN) throw notBtf(`type ${id} has a modifier cycle`);
      t = this.typeById(t.type as number);
    }
    return t;
  }

  /** Size in bytes of the named type; TypeError for types without a size. */
  sizeOf(id: number): number {
    return this.sizeOfDepth(id, 0);
  }

  /** Pointer size, guessed like libbpf from the size of `long`; 8 when absent. */
  get pointerSize(): number {
    if (this.ptrSize === 0) this.ptrSize = this.base ? this.base.pointerSize : this.guessPointerSize();
    return this.ptrSize;
  }

  /** C-ish spelling for messages: 'u32', 'struct event', 'char[16]', 'int *'. */
  typeName(id: number): string {
    this.nameSteps = NAME_STEPS;
    return this.nameDepth(id, 0);
  }

  private sizeOfDepth(id: number, depth: number): number {
    const t = this.resolve(id);
    if (depth > MAX_CHAIN) throw notBtf(`type ${id} nests too deeply`);
    switch (t.kind) {
      case 'int': case 'struct': case 'union': case 'enum': case 'enum64': case 'float': case 'datasec':
        return t.size as number;
      case 'ptr': return this.pointerSize;
      case 'array': return (t.nelems as number) * this.sizeOfDepth(t.elemType as number, depth + 1);
      case 'var': return this.sizeOfDepth(t.type as number, depth + 1);
      default: throw new TypeError(`${this.typeName(id)} has no size`);
    }
  }

  private guessPointerSize(): number {
    for (const name of ['long', 'long int', 'long unsigned int', 'unsigned long']) {
      const t = this.find(name, 'int');
      if (t) return t.size as number;
    }
    return 8;
  }

  private nameDepth(id: number, depth: number): string {
    if (depth > 32 || --this.nameSteps < 0) return '…';
    const t = this.typeById(id);
    const inner = (i: number): string => this.nameDepth(i, depth + 1);
    switch (t.kind) {
      case 'void': return 'void';
      case 'int': case 'float': case 'typedef': return t.name;
      case 'struct': case 'union': return `${t.kind} ${t.name || '(anon)'}`;
      case 'enum': case 'enum64': return `enum ${t.name || '(anon)'}`;
      case 'fwd': return `${t.fwdUnion ? 'union' : 'struct'} ${t.name}`;
      case 'ptr': return this.pointerName(t.type as number, depth);
      case 'array': return this.arrayName(t, depth);
      case 'const': case 'volatile': case 'restrict': return this.qualifiedName(t, depth);
      case 'type_tag': return inner(t.type as number);
      case 'func': return `${t.name}${this.protoSuffix(t.type as number, depth)}`;
      case 'func_proto': return `${inner(t.type as number)} ${this.protoSuffix(id, depth)}`;
      case 'var': return `${inner(t.type as number)} ${t.name}`;
      case 'datasec': return `datasec ${t.name}`;
      case 'decl_tag': return `decl_tag ${t.name}`;
    }
  }

  private pointerName(target: number, depth: number): string {
    const t = this.typeById(target);
    if (t.kind === 'func_proto') {
      return `${this.nameDepth(t.type as number, depth + 1)} (*)${this.protoSuffix(target, depth)}`;
    }
    const inner = this.nameDepth(target, depth + 1);
    return inner.endsWith('*') ? `${inner}*` : `${inner} *`;
  }

  private arrayName(t: BtfType, depth: number): string {
    let dims = `[${t.nelems}]`;
    let elem = this.typeById(t.elemType as number);
    for (let i = 0; elem.kind === 'array' && i < MAX_CHAIN; i++) {
      dims += `[${elem.nelems}]`;
      elem = this.typeById(elem.elemType as number);
    }
    return `${this.nameDepth(elem.id, depth + 1)}${dims}`;
  }

  private qualifiedName(t: BtfType, depth: number): string {
    const inner = this.nameDepth(t.type as number, depth + 1);
    return inner.endsWith('*') ? `${inner}${t.kind}` : `${t.kind} ${inner}`;
  }

  private protoSuffix(protoId: number, depth: number): string {
    const proto = this.typeById(protoId);
    if (proto.kind !== 'func_proto') return '()';
    const params = (proto.params as BtfParam[]).map((p) =>
      p.type === 0 ? '...' : this.nameDepth(p.type, depth + 1));
    return `(${params.length ? params.join(', ') : 'void'})`;
  }

  /** Hash chains over own type names, built from the raw bytes without decoding strings. */
  private names(): NameIndex {
    if (this.nameIndex) return this.nameIndex;
    const { view, offsets, littleEndian: le } = this;
    let size = 1024;
    while (size < offsets.length * 2) size *= 2;
    const index: NameIndex = { heads: new Int32Array(size).fill(-1), next: new Int32Array(offsets.length), mask: size - 1 };
    // Inserting in reverse id order leaves every chain in ascending id order.
    for (let i = offsets.length - 1; i >= 0; i--) {
      const nameOff = view.getUint32(offsets[i], le);
      if (nameOff === 0) continue;
      const bucket = this.hashAt(nameOff) & index.mask;
      index.next[i] = index.heads[bucket];
      index.heads[bucket] = i;
    }
    this.nameIndex = index;
    return index;
  }

  /** Own types named `name`, in id order. */
  private *named(name: string): Generator<BtfType> {
    if (name === '') return;
    const { heads, next, mask } = this.names();
    for (let i = heads[hashString(name) & mask]; i >= 0; i = next[i]) {
      const t = this.typeById(this.firstId + i);
      if (t.name === name) yield t;
    }
  }

  private hashAt(off: number): number {
    if (this.base && off < this.strBase) return this.base.hashAt(off);
    const bytes = this.bytes;
    let h = FNV_BASIS;
    const end = this.strStart + this.strLen;
    for (let i = this.strStart + this.localStr(off); i < end && bytes[i] !== 0; i++) h = imul(h ^ bytes[i], FNV_PRIME);
    return h >>> 0;
  }

  private localStr(off: number): number {
    const local = off - this.strBase;
    if (!isInteger(local) || local < 0 || local >= this.strLen) throw notBtf(`string offset ${off} is out of range`);
    return local;
  }

  /** The string at a (possibly base-relative) string section offset. */
  private str(off: number): string {
    if (this.base && off < this.strBase) return this.base.str(off);
    if (off === this.strBase && this.strLen === 0) return '';
    const start = this.strStart + this.localStr(off);
    const buf = this.buf ?? (this.buf = BufferClass.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength));
    return buf.toString('utf8', start, buf.indexOf(0, start));
  }

  private decodeType(id: number): BtfType {
    if (!this.libbpfChecked) return this.decodeUnchecked(id);
    try {
      return this.decodeUnchecked(id);
    } catch (e) {
      if (!(e instanceof TypeError || e instanceof RangeError)) throw e;
      throw new BpfError(EINVAL, 'btf_parse', `type ${id}: ${e.message}`, { hint: 'libbpf accepted this BTF but node-libbpf cannot decode it' });
    }
  }

  private decodeUnchecked(id: number): BtfType {
    const { view, littleEndian: le } = this;
    const off = this.offsets[id - this.firstId];
    const info = view.getUint32(off + 4, le);
    const t = this.decodeBody(id, info, this.str(view.getUint32(off, le)), view.getUint32(off + 8, le), off + 12);
    this.cache[id - this.firstId] = t;
    return t;
  }

  private decodeBody(id: number, info: number, name: string, sizeOrType: number, x: number): BtfType {
    const kind = KINDS[(info >>> 24) & 0x1f];
    const vlen = info & 0xffff;
    const kflag = info >>> 31 === 1;
    const u32 = (o: number): number => this.view.getUint32(o, this.littleEndian);
    switch (kind) {
      case 'int': {
        const enc = u32(x);
        return {
          id, kind, name, size: sizeOrType, signed: (enc & 0x1000000) !== 0, char: (enc & 0x2000000) !== 0,
          bool: (enc & 0x4000000) !== 0, bits: enc & 0xff, bitOffset: (enc >>> 16) & 0xff,
        };
      }
      case 'array':
        return { id, kind, name, elemType: u32(x), indexType: u32(x + 4), nelems: u32(x + 8) };
      case 'struct': case 'union':
        return { id, kind, name, size: sizeOrType, members: this.members(x, vlen, kflag) };
      case 'enum': case 'enum64':
        return { id, kind, name, size: sizeOrType, signed: kflag, values: this.enumValues(kind, x, vlen, kflag) };
      case 'fwd':
        return { id, kind, name, fwdUnion: kflag };
      case 'func':
        return { id, kind, name, type: sizeOrType, linkage: vlen };
      case 'func_proto':
        return { id, kind, name, type: sizeOrType, params: this.params(x, vlen) };
      case 'var':
        return { id, kind, name, type: sizeOrType, linkage: u32(x) };
      case 'datasec':
        return { id, kind, name, size: sizeOrType, vars: this.secInfos(x, vlen) };
      case 'float':
        return { id, kind, name, size: sizeOrType };
      case 'decl_tag': {
        const t: BtfType = { id, kind, name, type: sizeOrType, componentIdx: this.view.getInt32(x, this.littleEndian) };
        if (kflag) t.attr = true;
        return t;
      }
      case 'type_tag':
        return kflag ? { id, kind, name, type: sizeOrType, attr: true } : { id, kind, name, type: sizeOrType };
      default: // ptr, typedef, volatile, const, restrict
        return { id, kind, name, type: sizeOrType };
    }
  }

  private members(x: number, vlen: number, kflag: boolean): BtfMember[] {
    const { view, littleEndian: le } = this;
    const out = new Array<BtfMember>(vlen);
    for (let i = 0; i < vlen; i++, x += 12) {
      const raw = view.getUint32(x + 8, le);
      out[i] = {
        name: this.str(view.getUint32(x, le)),
        type: view.getUint32(x + 4, le),
        bitOffset: kflag ? raw & 0xffffff : raw,
        bitSize: kflag ? raw >>> 24 : 0,
      };
    }
    return out;
  }

  private enumValues(kind: BtfKind, x: number, vlen: number, signed: boolean): BtfEnumValue[] {
    const { view, littleEndian: le } = this;
    const out = new Array<BtfEnumValue>(vlen);
    const step = kind === 'enum' ? 8 : 12;
    for (let i = 0; i < vlen; i++, x += step) {
      const name = this.str(view.getUint32(x, le));
      if (kind === 'enum') {
        out[i] = { name, value: signed ? view.getInt32(x + 4, le) : view.getUint32(x + 4, le) };
      } else {
        out[i] = { name, value: enum64Value(view.getUint32(x + 4, le), view.getUint32(x + 8, le), signed) };
      }
    }
    return out;
  }

  private params(x: number, vlen: number): BtfParam[] {
    const out = new Array<BtfParam>(vlen);
    for (let i = 0; i < vlen; i++, x += 8) {
      out[i] = { name: this.str(this.view.getUint32(x, this.littleEndian)), type: this.view.getUint32(x + 4, this.littleEndian) };
    }
    return out;
  }

  private secInfos(x: number, vlen: number): BtfVarSecInfo[] {
    const { view, littleEndian: le } = this;
    const out = new Array<BtfVarSecInfo>(vlen);
    for (let i = 0; i < vlen; i++, x += 12) {
      out[i] = { type: view.getUint32(x, le), offset: view.getUint32(x + 4, le), size: view.getUint32(x + 8, le) };
    }
    return out;
  }
}

let kernelBtf: Btf | undefined;

/** Combines enum64 halves; a number unless the value does not fit a safe integer. */
function enum64Value(lo: number, hi: number, signed: boolean): number | bigint {
  if (signed && hi >= 0x80000000) {
    const n = (hi - 0x100000000) * 0x100000000 + lo;
    return Number.isSafeInteger(n) ? n : BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }
  const n = hi * 0x100000000 + lo;
  return Number.isSafeInteger(n) ? n : (BigInt(hi) << 32n) | BigInt(lo);
}
