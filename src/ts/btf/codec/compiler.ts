// The compiler: BTF type -> Impl, cached per (Btf, id).
import type { Btf, BtfType } from '../btf';
import { arrayEnc, jsArrayImpl, typedArrayClass, typedArrayImpl } from './arrays';
import { BitSpec, ValueKind, bitfieldImpl } from './bitfields';
import { enumImpl, floatImpl, intImpl, pointerImpl, rawImpl } from './scalars';
import { Codec, Dec, Impl, describeValue, fail, finish } from './shared';
import { charArrayImpl, charBytesImpl, charStringsImpl, type CharMode } from './strings';
import { Alt, Entry, Field, Group, StructCompiler, allFields, entriesWrite, fieldsMask, groupWrite } from './structs';

// Builtins captured once (see shared.ts).
const { floor } = Math;
const { isSafeInteger } = Number;

const BUILDING = Symbol('building');
const caches = new WeakMap<Btf, Map<number, CompiledCodec | typeof BUILDING>>();
/** Codecs with options (chars overrides), per Btf, by `${id} ${JSON of the options}`. */
const optionCaches = new WeakMap<Btf, Map<string, CompiledCodec>>();

/** How codecFor() decodes particular members of the type (see CharMode). */
export interface CodecOptions {
  /**
   * `char[]` members of the type (by name, top-level members or members of anonymous
   * structs/unions in it) decoded as 'bytes' or 'strings' instead of one 'string'.
   * @example { chars: { args: 'strings' } } // argv copied as "ls\0-l\0/tmp\0"
   */
  chars?: Readonly<Record<string, CharMode>>;
}

class CompiledCodec implements Codec {
  readonly size: number;
  readonly decode: Dec;
  readonly enumValues?: Readonly<Record<string, number | bigint>>;
  private zeroView: DataView | undefined;

  constructor(readonly impl: Impl, readonly typeName: string) {
    this.size = impl.size;
    this.decode = impl.dec;
    if (impl.enumValues) this.enumValues = impl.enumValues;
  }

  encode(value: unknown, view: DataView, offset: number, path?: string): void {
    const prefix = path || this.typeName;
    if (!(offset >= 0 && offset + this.size <= view.byteLength)) {
      throw new RangeError(`${prefix}: ${this.size} bytes at offset ${offset} do not fit a DataView of ${view.byteLength} bytes`);
    }
    try {
      this.impl.enc(value, view, offset);
    } catch (e) {
      throw finish(e, prefix);
    }
  }

  bind(view: DataView, offset: number, path: string): (value: unknown) => void {
    const prefix = path || this.typeName;
    if (!(offset >= 0 && offset + this.size <= view.byteLength)) {
      throw new RangeError(`${prefix}: ${this.size} bytes at offset ${offset} do not fit a DataView of ${view.byteLength} bytes`);
    }
    const { impl } = this;
    const enc = impl.bindEnc?.(view, offset) ?? ((value: unknown) => impl.enc(value, view, offset));
    return (value) => {
      try {
        enc(value);
      } catch (e) {
        throw finish(e, prefix);
      }
    };
  }

  zero(): unknown {
    this.zeroView ??= new DataView(new ArrayBuffer(this.size));
    return this.decode(this.zeroView, 0);
  }

  decodePartial(view: DataView, offset: number, length: number): unknown {
    if (length >= this.size) return this.decode(view, offset);
    const part = this.impl.part;
    return part && length > 0 ? part(view, offset, length) : undefined;
  }
}

class Compiler {
  readonly le: boolean;

  /** Members still to find of options.chars (the top-level type's only). */
  readonly chars: Map<string, CharMode> | undefined;

  constructor(readonly btf: Btf, chars?: Readonly<Record<string, CharMode>>) {
    this.le = btf.littleEndian;
    this.chars = chars ? new Map(Object.entries(chars)) : undefined;
  }

  /** Impl for a type used as a member or element; zero-size types become empty values. */
  member(id: number): Impl {
    const t = this.btf.resolve(id);
    if (t.kind === 'array' && (t.nelems === 0 || this.isEmpty(t.elemType as number))) return this.emptyArray(t);
    if ((t.kind === 'struct' || t.kind === 'union') && t.size === 0) return emptyStruct();
    return (codecFor(this.btf, id) as CompiledCodec).impl;
  }

  build(id: number): Impl {
    const btf = this.btf;
    const t = btf.resolve(id);
    if (t.id !== id && !this.chars) return (codecFor(btf, t.id) as CompiledCodec).impl;
    const impl = this.buildResolved(t);
    if (!impl || impl.size === 0) throw new TypeError(`cannot decode ${btf.typeName(id)}`);
    return impl;
  }

  private buildResolved(t: BtfType): Impl | undefined {
    switch (t.kind) {
      case 'int': return intImpl(t, this.le);
      case 'ptr': return pointerImpl(this.btf.pointerSize, this.le);
      case 'float': return floatImpl(t.size as number, this.le);
      case 'enum': case 'enum64': return enumImpl(t, this.le, this.btf.typeName(t.id));
      case 'array': return this.array(t);
      case 'struct': case 'datasec': return this.struct(t);
      case 'union': return this.union(t);
      case 'var': return this.member(t.type as number);
      default: return undefined; // void, fwd, func, func_proto, decl_tag
    }
  }

  private isEmpty(id: number): boolean {
    const t = this.btf.resolve(id);
    if (t.kind === 'array') return t.nelems === 0 || this.isEmpty(t.elemType as number);
    return (t.kind === 'struct' || t.kind === 'union') && t.size === 0;
  }

  private emptyArray(t: BtfType): Impl {
    const elem = this.btf.resolve(t.elemType as number);
    const Ctor = this.isChar(elem) ? undefined : typedArrayClass(elem);
    const dec: Dec = Ctor ? () => new Ctor(0) : () => [];
    return { size: 0, dec, enc: arrayEnc({ size: 0, dec, enc: () => undefined }, 0) };
  }

  private isChar(t: BtfType): boolean {
    return t.kind === 'int' && t.size === 1 && !t.bool && (!!t.char || t.name === 'char');
  }

  private array(t: BtfType): Impl | undefined {
    const n = t.nelems as number;
    const elemType = this.btf.resolve(t.elemType as number);
    if (this.isChar(elemType)) return charArrayImpl(n);
    const elem = this.member(t.elemType as number);
    if (elem.size === 0) return undefined;
    const Ctor = typedArrayClass(elemType);
    return Ctor ? typedArrayImpl(elem, n, Ctor, this.le) : jsArrayImpl(elem, n);
  }

  private struct(t: BtfType): Impl {
    const entries: Entry[] = [];
    if (t.kind === 'datasec') this.planDatasec(t, entries);
    else this.planStruct(t, 0, entries);
    return new StructCompiler(this.btf.typeName(t.id)).compile(entries, t.size as number);
  }

  private union(t: BtfType): Impl {
    return new StructCompiler(this.btf.typeName(t.id)).compile([this.planUnion(t, 0)], t.size as number);
  }

  private planDatasec(t: BtfType, out: Entry[]): void {
    for (const v of t.vars ?? []) {
      const vt = this.btf.typeById(v.type);
      if (vt.kind === 'var') out.push({ kind: 'field', key: vt.name, off: v.offset, impl: this.member(vt.type as number) });
    }
  }

  private planStruct(t: BtfType, bitBase: number, out: Entry[]): void {
    for (const m of t.members ?? []) {
      const bitOff = bitBase + m.bitOffset;
      if (m.name) {
        out.push(this.planField(m.name, m.type, bitOff, m.bitSize));
        continue;
      }
      const rt = this.btf.resolve(m.type);
      if (rt.kind === 'struct') this.planStruct(rt, bitOff, out);
      else if (rt.kind === 'union') out.push(this.planUnion(rt, bitOff));
      // other anonymous members are unnamed bitfields: padding
    }
  }

  private planUnion(t: BtfType, bitBase: number): Group {
    const off = bitBase / 8;
    const end = off + (t.size as number);
    const alts: Alt[] = [];
    const fields: Field[] = [];
    this.collectAlts(t, bitBase, { off, end }, alts, fields);
    return { kind: 'group', off, end, alts, fields, write: groupWrite(alts, off, end, this.btf.typeName(t.id)) };
  }

  /** Members of a union, and of anonymous unions nested in it, as alternatives of one group. */
  private collectAlts(t: BtfType, bitBase: number, group: { off: number; end: number }, alts: Alt[], fields: Field[]): void {
    for (const m of t.members ?? []) {
      const bitOff = bitBase + m.bitOffset;
      const entries: Entry[] = [];
      if (m.name) entries.push(this.planField(m.name, m.type, bitOff, m.bitSize));
      else {
        const rt = this.btf.resolve(m.type);
        if (rt.kind === 'union') {
          this.collectAlts(rt, bitOff, group, alts, fields);
          continue;
        }
        if (rt.kind !== 'struct') continue;
        this.planStruct(rt, bitOff, entries);
      }
      const altFields = allFields(entries);
      const keys = altFields.map((f) => f.key);
      const mask = fieldsMask(altFields, group.end - group.off, group.off);
      alts.push({ label: m.name || `{${keys.join(', ')}}`, keys, fields: altFields, write: entriesWrite(entries), mask });
      fields.push(...altFields);
    }
  }

  private planField(key: string, typeId: number, bitOff: number, bitSize: number): Field {
    const rt = this.btf.resolve(typeId);
    let spec: BitSpec | undefined;
    if (bitSize > 0) spec = { bitOff, bitSize, le: this.le };
    else if (rt.kind === 'int' && ((rt.bits as number) < (rt.size as number) * 8 || rt.bitOffset)) {
      spec = { bitOff: bitOff + (rt.bitOffset as number), bitSize: rt.bits as number, le: this.le }; // pre-kind_flag bitfield
    } else if (bitOff % 8 !== 0) {
      throw new TypeError(`cannot decode member ${key}: ${this.btf.typeName(typeId)} at bit offset ${bitOff}`);
    }
    const mode = this.chars?.get(key);
    if (mode !== undefined) return { kind: 'field', key, off: bitOff / 8, impl: this.charsImpl(key, typeId, mode, spec) };
    if (!spec) return { kind: 'field', key, off: bitOff / 8, impl: this.member(typeId) };
    return { kind: 'field', key, off: floor(spec.bitOff / 8), impl: bitfieldImpl(spec, this.valueKind(rt, typeId)) };
  }

  private charsImpl(key: string, typeId: number, mode: CharMode, spec: BitSpec | undefined): Impl {
    this.chars!.delete(key);
    const rt = this.btf.resolve(typeId);
    const elem = rt.kind === 'array' ? this.btf.resolve(rt.elemType as number) : undefined;
    if (spec || !elem || !(elem.kind === 'int' && elem.size === 1 && !elem.bool)) {
      throw new TypeError(`options.chars.${key}: expected a char[] member, got ${this.btf.typeName(typeId)}`);
    }
    const n = rt.nelems as number;
    return mode === 'bytes' ? charBytesImpl(n) : mode === 'strings' ? charStringsImpl(n) : charArrayImpl(n);
  }

  private valueKind(rt: BtfType, typeId: number): ValueKind {
    const typeName = this.btf.typeName(typeId);
    if (rt.kind === 'int') {
      if (rt.bool || rt.name === '_Bool') return { kind: 'bool' };
      return { kind: (rt.size as number) <= 4 ? 'number' : 'bigint', signed: !!rt.signed, typeName };
    }
    if (rt.kind === 'enum' || rt.kind === 'enum64') {
      const names = new Map((rt.values ?? []).map((v) => [v.name, v.value] as const));
      return { kind: (rt.size as number) <= 4 ? 'number' : 'enum64', signed: !!rt.signed, names, typeName };
    }
    throw new TypeError(`cannot decode bitfield of type ${typeName}`);
  }
}

function emptyStruct(): Impl {
  return {
    size: 0,
    dec: () => ({}),
    enc: (x) => {
      if (typeof x !== 'object' || x === null) throw fail(false, 'an object', x);
    },
  };
}

/**
 * The codec for a BTF type id, compiled on first use and cached per Btf (and options).
 * TypeError for options.chars naming a member the type does not have or that is not a char[].
 */
export function codecFor<T = unknown>(btf: Btf, typeId: number, options?: CodecOptions): Codec<T> {
  if (options?.chars && Object.keys(options.chars).length > 0) return withOptions(btf, typeId, options.chars) as Codec<T>;
  let cache = caches.get(btf);
  if (!cache) caches.set(btf, (cache = new Map()));
  const hit = cache.get(typeId);
  if (hit === BUILDING) throw new TypeError(`cannot decode ${btf.typeName(typeId)}: it contains itself`);
  if (hit) return hit as Codec<T>;
  const typeName = btf.typeName(typeId); // also range-checks the id
  cache.set(typeId, BUILDING);
  try {
    const codec = new CompiledCodec(new Compiler(btf).build(typeId), typeName);
    cache.set(typeId, codec);
    return codec as Codec<T>;
  } catch (e) {
    cache.delete(typeId);
    throw e;
  }
}

const CHAR_MODES: readonly string[] = ['string', 'bytes', 'strings'];

function withOptions(btf: Btf, typeId: number, chars: Readonly<Record<string, CharMode>>): CompiledCodec {
  const keys = Object.keys(chars).sort();
  for (const k of keys) {
    if (!CHAR_MODES.includes(chars[k])) throw new TypeError(`options.chars.${k}: expected 'string', 'bytes' or 'strings', got ${describeValue(chars[k])}`);
  }
  let cache = optionCaches.get(btf);
  if (!cache) optionCaches.set(btf, (cache = new Map()));
  const key = `${typeId} ${JSON.stringify(keys.map((k) => [k, chars[k]]))}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const typeName = btf.typeName(typeId);
  const compiler = new Compiler(btf, chars);
  const rt = btf.resolve(typeId);
  if (rt.kind !== 'struct' && rt.kind !== 'union') throw new TypeError(`options.chars: expected a struct or union type, got ${typeName}`);
  const codec = new CompiledCodec(compiler.build(typeId), typeName);
  const missing = [...compiler.chars!.keys()];
  if (missing.length) throw new TypeError(`options.chars.${missing[0]}: expected a member of ${typeName}, got none by that name`);
  cache.set(key, codec);
  return codec;
}

/** A codec for opaque bytes: decode copies into a new Buffer; encode takes exactly `size` bytes. */
export function rawCodec(size: number): Codec<Buffer> {
  if (!isSafeInteger(size) || size < 0) {
    throw new RangeError(`rawCodec: expected a byte size 0..2^53-1, got ${describeValue(size)}`);
  }
  return new CompiledCodec(rawImpl(size), `bytes[${size}]`) as unknown as Codec<Buffer>;
}
