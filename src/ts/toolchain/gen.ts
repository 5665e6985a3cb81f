// `node-libbpf gen`: a TypeScript module from a BPF object's BTF. Interfaces for every
// struct, union and enum its maps, globals and ring-buffer events use; decoders generated
// as straight-line DataView code per type (no BTF walk at run time); and a typed wrapper
// embedding the object's bytes, so an agent ships as JavaScript alone.
//
// Event types that BTF does not tie to a map are found through unused typed globals:
//   NLB_EVENT_TYPE(events, struct event);  // <node_libbpf/types.h>: ring `events` carries struct event
//   NLB_RINGBUF_TYPE(struct event);        // <node_libbpf/ringbuf.h>: keep the type, no ring named
//   struct event *unused_event __attribute__((unused));   // the same, by hand
import * as fs from 'node:fs';
import * as path from 'node:path';
import { argRangeError, argTypeError, checkOptions, checkString } from '../base/args';
import { Btf, type BtfType } from '../btf/btf';
import { btfSubset } from '../btf/builder';
import { addon } from '../base/native';
import { BpfObject } from '../core/object';
import { DwarfTypes } from '../dwarf/types';
import { stripSections } from '../elf/strip';

/** Options of `generate(objectPath, options)`. */
export interface GenOptions {
  /** Object name passed to BpfObject.open (default: the file name without .bpf.o). */
  name?: string;
  /**
   * Record types of the object's ring buffer and perf event array maps, by map name, as C
   * spells them ('struct event'): for a program written elsewhere, which ties no type to
   * its rings. Looked up in `btf` when given, else in the object's BTF, else in its DWARF
   * (a -g build). The generated `events.<map>(callback)` then decodes records with that
   * type, short records included (their missing members absent: the callback's type is
   * Short<T>, every member optional).
   * @example generate('execsnoop.bpf.o', { events: { events: 'struct event' }, btf: await headerBtf('execsnoop.h', { types: ['struct event'] }) })
   */
  events?: Readonly<Record<string, string>>;
  /** The record type of every ring buffer and perf event array map that has none (neither NLB_EVENT_TYPE nor `events`). */
  type?: string;
  /** Where `events` and `type` are looked up first (headerBtf(), Btf.fromFile()). */
  btf?: Btf;
}

const RESERVED = new Set([
  'break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default', 'delete', 'do', 'else', 'enum',
  'export', 'extends', 'false', 'finally', 'for', 'function', 'if', 'import', 'in', 'instanceof', 'new', 'null',
  'return', 'super', 'switch', 'this', 'throw', 'true', 'try', 'typeof', 'var', 'void', 'while', 'with', 'yield',
  'let', 'static', 'implements', 'interface', 'package', 'private', 'protected', 'public', 'await', 'any', 'number',
  'string', 'boolean', 'bigint', 'symbol', 'object', 'never', 'unknown', 'undefined', 'type',
  // names the generated module defines itself
  'Skeleton', 'Maps', 'Programs', 'Globals', 'Events', 'open', 'OBJECT', 'Buffer', 'DataView', 'BpfMap', 'BpfObject',
  'RingBuffer', 'Program', 'Link', 'OpenOptions', 'RawEvent', 'Array', 'Uint8Array', 'Int8Array', 'Uint16Array',
  'Int16Array', 'Uint32Array', 'Int32Array', 'BigUint64Array', 'BigInt64Array', 'Float32Array', 'Float64Array',
]);
const IDENT = /^[A-Za-z_$][\w$]*$/;
const DATA_SECTION = /^\.(rodata|data|bss)(\.|$)/;
const PER_CPU = new Set(['percpu_hash', 'percpu_array', 'lru_percpu_hash', 'percpu_cgroup_storage']);
const INDEX_KEYED = new Set(['array', 'percpu_array', 'prog_array', 'perf_event_array', 'cgroup_array', 'array_of_maps', 'devmap', 'cpumap', 'xskmap', 'sockmap']);
const FD_VALUED = new Set(['prog_array', 'perf_event_array', 'cgroup_array', 'array_of_maps', 'hash_of_maps', 'sockmap', 'sockhash', 'xskmap']);
const EVENT_GLOBAL = /^__nlb_event_(.+)$/;
const HIDDEN_GLOBAL = /^__nlb_/;

const key = (name: string): string => (IDENT.test(name) ? name : JSON.stringify(name));
const at = (o: string, n: number): string => (n === 0 ? o : `${o} + ${n}`);

interface TypedKind { ctor: string; getter: string; size: number }

/** The typed-array class a numeric array decodes to (the runtime codecs' ARRAY RULE). */
function typedKind(t: BtfType): TypedKind | undefined {
  if (t.kind === 'float' && (t.size === 4 || t.size === 8)) return { ctor: `Float${t.size * 8}Array`, getter: `Float${t.size * 8}`, size: t.size };
  if (t.kind !== 'int' || t.bool || t.name === '_Bool' || t.char || t.name === 'char') return undefined;
  const s = t.size as number;
  const sign = t.signed ? 'Int' : 'Uint';
  if (s === 8) return { ctor: `Big${sign}64Array`, getter: `Big${sign}64`, size: 8 };
  if (s === 1 || s === 2 || s === 4) return { ctor: `${sign}${s * 8}Array`, getter: `${sign}${s * 8}`, size: s };
  return undefined;
}

/** Emits TypeScript declarations and decoder functions for the types of one Btf. */
class TypeScriptEmitter {
  readonly decls: string[] = [];
  readonly helpers = new Set<string>();
  /** The package's readers the decoders call (readCString, readBigUint64, readBigInt64), imported from it. */
  readonly imports = new Set<string>();
  private readonly names = new Map<number, string>();
  private readonly le: boolean;

  get usedNames(): Set<string> {
    return this.used;
  }

  /** `used`: names taken (shared by emitters of one module); `typesOnly`: interfaces without decoders. */
  constructor(readonly btf: Btf, private readonly used = new Set<string>(), private readonly typesOnly = false) {
    this.le = btf.littleEndian;
  }

  /** The TypeScript type of BTF type `id`. */
  tsType(id: number): string {
    const t = this.btf.typeById(id);
    switch (t.kind) {
      case 'typedef': {
        const r = this.btf.resolve(id);
        if ((r.kind === 'struct' || r.kind === 'union' || r.kind === 'enum') && !r.name) return this.declare(r, t.name);
        return this.tsType(t.type as number);
      }
      case 'const': case 'volatile': case 'restrict': case 'type_tag': return this.tsType(t.type as number);
      case 'int': return t.bool || t.name === '_Bool' ? 'boolean' : (t.size as number) <= 4 ? 'number' : 'bigint';
      case 'ptr': return 'bigint';
      case 'float': return t.size === 12 || t.size === 16 ? 'Buffer' : 'number';
      case 'enum': return t.name ? this.declare(t) : 'number';
      case 'enum64': return 'number | bigint';
      case 'array': {
        const elem = this.btf.resolve(t.elemType as number);
        if (this.isChar(elem)) return 'string';
        if (this.btf.sizeOf(id) === 0) return 'never[]';
        const typed = typedKind(elem);
        return typed ? typed.ctor : `Array<${this.tsType(t.elemType as number)}>`;
      }
      case 'struct': case 'union': return t.name ? this.declare(t) : this.literalType(t);
      default: return 'unknown';
    }
  }

  /** A JS expression decoding BTF type `id` at offset expression `o` of DataView `v`. */
  decode(id: number, o: string): string {
    const t = this.btf.resolve(id);
    const le = this.le;
    switch (t.kind) {
      case 'int': {
        const s = t.size as number;
        if (t.bool || t.name === '_Bool') return `${this.intExpr(s, false, o)} !== ${s === 8 ? '0n' : '0'}`;
        if (s === 16) return this.helper('i128', `(v: DataView, o: number, signed: boolean): bigint => { const lo = v.getBigUint64(o + ${le ? 0 : 8}, ${le}); const hi = signed ? v.getBigInt64(o + ${le ? 8 : 0}, ${le}) : v.getBigUint64(o + ${le ? 8 : 0}, ${le}); return (hi << 64n) | lo; }`, `v, ${o}, ${!!t.signed}`);
        return this.intExpr(s, !!t.signed, o);
      }
      case 'ptr': return this.btf.pointerSize === 8 ? `v.getBigUint64(${o}, ${le})` : `BigInt(v.getUint32(${o}, ${le}))`;
      case 'float':
        if (t.size === 4 || t.size === 8) return `v.getFloat${(t.size as number) * 8}(${o}, ${le})`;
        if (t.size === 2) return this.helper('half', '(h: number): number => { const s = h & 0x8000 ? -1 : 1; const e = (h >> 10) & 0x1f; const f = h & 0x3ff; return e === 0 ? s * f * 2 ** -24 : e === 31 ? (f ? NaN : s * Infinity) : s * (1 + f / 1024) * 2 ** (e - 15); }', `v.getUint16(${o}, ${le})`);
        return this.bytes(o, t.size as number);
      case 'enum': return this.intExpr(t.size as number, !!t.signed, o);
      case 'enum64': return this.helper('safe', '(x: bigint): number | bigint => (x >= -0x1fffffffffffffn && x <= 0x1fffffffffffffn ? Number(x) : x)', `v.get${t.signed ? 'BigInt64' : 'BigUint64'}(${o}, ${le})`);
      case 'array': return this.arrayExpr(t, o);
      case 'struct': case 'union':
        if (t.name) return `${this.decoderOf(t)}(v, ${o})`;
        return `{ ${this.literalParts(t, o, 0).join(', ')} }`;
      default:
        throw new TypeError(`gen: cannot decode ${this.btf.typeName(t.id)}`);
    }
  }

  /** The name of the generated decoder function for a struct/union/enum-typed value `id`. */
  decoderFor(id: number): string {
    const r = this.btf.resolve(id);
    if ((r.kind === 'struct' || r.kind === 'union') && r.name) return this.decoderOf(r);
    const name = `dec_${this.used.size}_${(this.btf.typeById(id).name || r.kind).replace(/\W/g, '_')}`;
    this.used.add(name);
    this.decls.push(`function ${name}(v: DataView, o: number): ${this.tsType(id)} {\n  return ${this.decode(id, 'o')};\n}`);
    return name;
  }

  private intExpr(size: number, signed: boolean, o: string): string {
    const sign = signed ? 'Int' : 'Uint';
    if (size === 1) return `v.get${sign}8(${o})`;
    if (size === 2 || size === 4) return `v.get${sign}${size * 8}(${o}, ${this.le})`;
    if (size === 8 && this.le) {
      // The runtime's reader: an inline typed-array load where the field is 8-aligned.
      const reader = `readBig${sign}64`;
      this.imports.add(reader);
      return `${reader}(v, ${o})`;
    }
    if (size === 8) return `v.getBig${sign}64(${o}, false)`;
    return this.bytes(o, size);
  }

  private bytes(o: string, n: number): string {
    return this.helper('bytes', '(v: DataView, o: number, n: number): Buffer => Buffer.from(new Uint8Array(v.buffer, v.byteOffset + o, n))', `v, ${o}, ${n}`);
  }

  private isChar(t: BtfType): boolean {
    return t.kind === 'int' && !!t.char || (t.kind === 'int' && t.name === 'char');
  }

  private arrayExpr(t: BtfType, o: string): string {
    const n = t.nelems as number;
    const elemId = t.elemType as number;
    const elem = this.btf.resolve(elemId);
    if (this.isChar(elem)) return this.cstr(o, n);
    if (n === 0 || this.btf.sizeOf(elemId) === 0) return '[]';
    const es = this.btf.sizeOf(elemId);
    const typed = typedKind(elem);
    if (typed) {
      const fn = `${typed.ctor.replace('Array', '').toLowerCase()}s`;
      const get = typed.size === 1 ? `v.get${typed.getter}(o + i)` : `v.get${typed.getter}(o + ${typed.size} * i, ${this.le})`;
      return this.helper(fn, `(v: DataView, o: number, n: number): ${typed.ctor} => { const a = new ${typed.ctor}(n); for (let i = 0; i < n; i++) a[i] = ${get}; return a; }`, `v, ${o}, ${n}`);
    }
    if (n <= 8) return `[${Array.from({ length: n }, (_, i) => this.decode(elemId, at(o, i * es))).join(', ')}]`;
    return `Array.from({ length: ${n} }, (_, i) => ${this.decode(elemId, `${o} + ${es} * i`)})`;
  }

  private cstr(o: string, n: number): string {
    // The runtime's decoder: repeated ASCII names (comm, paths) come from its cache.
    this.imports.add('readCString');
    return `readCString(v, ${o}, ${n})`;
  }

  private helper(name: string, body: string, args: string): string {
    if (!this.helpers.has(name)) {
      this.helpers.add(name);
      this.decls.unshift(`const ${name} = ${body};`);
    }
    return `${name}(${args})`;
  }

  private uniqueName(want: string): string {
    let name = IDENT.test(want) ? want : want.replace(/\W/g, '_');
    while (RESERVED.has(name) || this.used.has(name)) name += '_';
    this.used.add(name);
    return name;
  }

  /** Declares a named struct/union (interface + decoder) or enum once; returns its TS name. */
  private declare(t: BtfType, alias?: string): string {
    const known = this.names.get(t.id);
    if (known) return known;
    const name = this.uniqueName(alias ?? t.name);
    this.names.set(t.id, name);
    if (t.kind === 'enum') {
      const values = (t.values ?? []).map((e) => `  ${key(e.name)} = ${e.value},`);
      this.decls.push(`/** enum ${t.name || alias} (${t.size} bytes) */\nexport enum ${name} {\n${values.join('\n')}\n}`);
      return name;
    }
    const fields = this.fields(t, 0).map(([k, type]) => `  ${key(k)}: ${type};`);
    const cName = `${t.kind} ${t.name || `(anon) ${alias}`}`;
    this.decls.push(`/** ${cName} (${t.size} bytes) */\nexport interface ${name} {\n${fields.join('\n')}\n}`);
    if (!this.typesOnly) this.decls.push(`/** Decodes ${cName} at \`o\`. */\nexport function dec_${name}(v: DataView, o: number): ${name} {\n  return ${this.literal(t, 'o', 0)};\n}`);
    return name;
  }

  private decoderOf(t: BtfType): string {
    return `dec_${this.declare(t)}`;
  }

  /** [key, TS type] of every member, anonymous structs and unions flattened. */
  private fields(t: BtfType, depth: number): [string, string][] {
    const out: [string, string][] = [];
    for (const m of t.members ?? []) {
      if (m.name) out.push([m.name, this.memberType(m.type, m.bitSize)]);
      else {
        const r = this.btf.resolve(m.type);
        if (r.kind === 'struct' || r.kind === 'union') out.push(...this.fields(r, depth + 1));
      }
    }
    return out;
  }

  private memberType(type: number, bitSize: number): string {
    const r = this.btf.resolve(type);
    const legacy = r.kind === 'int' && ((r.bits as number) < (r.size as number) * 8 || !!r.bitOffset);
    if ((bitSize || legacy) && r.kind === 'int' && (r.size as number) > 4 && !r.bool) return 'bigint';
    return this.tsType(type);
  }

  private literalType(t: BtfType): string {
    return `{ ${this.fields(t, 0).map(([k, type]) => `${key(k)}: ${type}`).join('; ')} }`;
  }

  /** An object literal decoding struct/union `t` at `o` (+ bitBase bits), anonymous members flattened. */
  private literal(t: BtfType, o: string, bitBase: number): string {
    const parts = this.literalParts(t, o, bitBase);
    return parts.length ? `{\n    ${parts.join(',\n    ')},\n  }` : '{}';
  }

  private literalParts(t: BtfType, o: string, bitBase: number): string[] {
    const out: string[] = [];
    for (const m of t.members ?? []) {
      const bitOff = bitBase + m.bitOffset;
      if (!m.name) {
        const r = this.btf.resolve(m.type);
        if (r.kind === 'struct' || r.kind === 'union') out.push(...this.literalParts(r, o, bitOff));
        continue;
      }
      out.push(`${key(m.name)}: ${this.member(m.type, o, bitOff, m.bitSize)}`);
    }
    return out;
  }

  private member(type: number, o: string, bitOff: number, bitSize: number): string {
    const r = this.btf.resolve(type);
    let bits = bitSize;
    let off = bitOff;
    if (!bits && r.kind === 'int' && ((r.bits as number) < (r.size as number) * 8 || r.bitOffset)) {
      bits = r.bits as number;
      off += r.bitOffset as number;
    }
    if (!bits) {
      if (off % 8) throw new TypeError(`gen: member at bit offset ${off} is not byte-aligned`);
      return this.decode(type, at(o, off / 8));
    }
    if (!this.le) throw new TypeError('gen: bitfields of big-endian objects are not supported');
    const size = r.kind === 'int' || r.kind === 'enum' || r.kind === 'enum64' ? (r.size as number) : 4;
    const signed = !!r.signed;
    const start = Math.floor(off / 8);
    const shift = off % 8;
    if (size > 4 && !(r.kind === 'int' && r.bool)) {
      const raw = this.helper('bitsBig', '(v: DataView, o: number, shift: number, n: number, signed: boolean): bigint => { let x = 0n; const bytes = Math.ceil((shift + n) / 8); for (let i = bytes - 1; i >= 0; i--) x = (x << 8n) | BigInt(v.getUint8(o + i)); x = (x >> BigInt(shift)) & ((1n << BigInt(n)) - 1n); return signed ? BigInt.asIntN(n, x) : x; }', `v, ${at(o, start)}, ${shift}, ${bits}, ${signed}`);
      return r.kind === 'enum64' ? this.helper('safe', '(x: bigint): number | bigint => (x >= -0x1fffffffffffffn && x <= 0x1fffffffffffffn ? Number(x) : x)', raw) : raw;
    }
    const bytes = Math.ceil((shift + bits) / 8);
    if (bytes <= 4 && bytes !== 3) {
      // one aligned-size read, then shift and mask (sign-extend with a shift pair)
      const read = bytes === 1 ? `v.getUint8(${at(o, start)})` : `v.getUint${bytes * 8}(${at(o, start)}, true)`;
      const inline = signed
        ? `((${read} << ${32 - shift - bits}) >> ${32 - bits})`
        : bits === 32 ? `(${read} >>> 0)` : `((${read} >>> ${shift}) & 0x${((2 ** bits) - 1).toString(16)})`;
      return r.kind === 'int' && (r.bool || r.name === '_Bool') ? `${inline} !== 0` : inline;
    }
    const raw = this.helper('bits', '(v: DataView, o: number, shift: number, n: number, signed: boolean): number => { let x = 0; const bytes = Math.ceil((shift + n) / 8); for (let i = bytes - 1; i >= 0; i--) x = x * 256 + v.getUint8(o + i); x = Math.floor(x / 2 ** shift) % 2 ** n; return signed && x >= 2 ** (n - 1) ? x - 2 ** n : x; }', `v, ${at(o, start)}, ${shift}, ${bits}, ${signed}`);
    return r.kind === 'int' && (r.bool || r.name === '_Bool') ? `${raw} !== 0` : raw;
  }
}

interface MapDef {
  name: string;
  type: string;
  key?: number;
  value?: number;
  keySize?: number;
}

// Map definitions from the object's .maps DATASEC (BTF-defined maps: __uint(type, ...), __type(key, ...)).
function mapDefs(btf: Btf): MapDef[] {
  const mapTypes = addon.mapTypes();
  const out: MapDef[] = [];
  for (const sec of btf) {
    if (sec.kind !== 'datasec' || sec.name !== '.maps') continue;
    for (const v of sec.vars ?? []) {
      const variable = btf.typeById(v.type);
      const def = btf.resolve(variable.type as number);
      const def_: MapDef = { name: variable.name, type: 'unspec' };
      for (const m of def.members ?? []) {
        const p = btf.resolve(m.type);
        const target = p.kind === 'ptr' ? (p.type as number) : 0;
        const n = target ? btf.resolve(target) : undefined;
        if (m.name === 'type' && n?.kind === 'array') def_.type = mapTypes[n.nelems as number] ?? 'unspec';
        if (m.name === 'key') def_.key = target;
        if (m.name === 'value') def_.value = target;
        if (m.name === 'key_size' && n?.kind === 'array') def_.keySize = n.nelems;
      }
      out.push(def_);
    }
  }
  return out;
}

interface GlobalVar { name: string; type: number; readonly: boolean }

function globalVars(btf: Btf): GlobalVar[] {
  const out: GlobalVar[] = [];
  const seen = new Set<string>();
  for (const sec of btf) {
    if (sec.kind !== 'datasec' || !DATA_SECTION.test(sec.name)) continue;
    for (const v of sec.vars ?? []) {
      const variable = btf.typeById(v.type);
      if (variable.kind !== 'var' || seen.has(variable.name)) continue;
      seen.add(variable.name);
      out.push({ name: variable.name, type: variable.type as number, readonly: sec.name.startsWith('.rodata') });
    }
  }
  return out;
}

/** The pointee of a pointer-typed global, or undefined. */
function pointee(btf: Btf, id: number): number | undefined {
  const t = btf.resolve(id);
  return t.kind === 'ptr' ? (t.type as number) : undefined;
}

/**
 * A TypeScript module for the BPF object at `objectPath`: interfaces for the types of
 * its maps, globals and events, generated decoders, and `open()` returning a typed
 * wrapper around the embedded object. The result passes `tsc --strict`.
 * @example fs.writeFileSync('agent.ts', generate('agent.bpf.o'));
 */
export function generate(objectPath: string, options: GenOptions = {}): string {
  checkString(objectPath, 'objectPath');
  const o = checkOptions<GenOptions>(options, 'options', ['name', 'events', 'type', 'btf'] as const);
  if (o.btf !== undefined && !(o.btf instanceof Btf)) throw argTypeError('options.btf', 'a Btf', o.btf);
  if (o.events !== undefined && (typeof o.events !== 'object' || o.events === null)) throw argTypeError('options.events', 'an object of map names to type names', o.events);
  const bytes = fs.readFileSync(objectPath);
  const name = o.name ?? path.basename(objectPath).replace(/\.o$/, '').replace(/\.bpf$/, '');
  const object = BpfObject.open(bytes, { name });
  let programs: string[];
  let btf: Btf | undefined;
  try {
    programs = object.programs().map((p) => p.name);
    btf = object.btf;
  } finally {
    object.close();
  }
  if (!btf) throw new TypeError(`${objectPath}: no BTF in this object (compile with clang -g)`);
  const e = new TypeScriptEmitter(btf);

  const maps = mapDefs(btf).map((m) => {
    const perCpu = PER_CPU.has(m.type);
    let keyType = 'any';
    let valueType = 'any';
    let keyDec: string | undefined;
    let valueDec: string | undefined;
    if (m.key) {
      keyType = e.tsType(m.key);
      keyDec = e.decoderFor(m.key);
    } else if (INDEX_KEYED.has(m.type) && (m.keySize ?? 4) === 4) {
      keyType = 'number';
    } else if (m.keySize) {
      keyType = 'Buffer';
    }
    if (FD_VALUED.has(m.type)) valueType = 'number';
    else if (m.value) {
      valueType = e.tsType(m.value);
      valueDec = e.decoderFor(m.value);
    }
    if (m.type === 'ringbuf' || m.type === 'user_ringbuf' || m.type === 'perf_event_array') [keyType, valueType] = ['never', 'never'];
    return { ...m, keyType, valueType: perCpu ? `Array<${valueType}>` : valueType, keyDec, valueDec };
  });

  const globals = globalVars(btf);
  const events = new Map<string, { type: string; dec: string }>();
  const visibleGlobals: [string, string, boolean][] = [];
  const recordTypes: number[] = [];
  for (const g of globals) {
    const target = pointee(btf, g.type);
    const ring = EVENT_GLOBAL.exec(g.name)?.[1];
    if (target !== undefined && ring) events.set(ring, { type: e.tsType(target), dec: e.decoderFor(target) });
    else if (target !== undefined && HIDDEN_GLOBAL.test(g.name)) recordTypes.push(target); // NLB_RINGBUF_TYPE: declare the type
    else if (target !== undefined && btf.resolve(target).kind !== 'void') e.tsType(target); // a typed pointer marks its type
    if (!HIDDEN_GLOBAL.test(g.name)) visibleGlobals.push([g.name, e.tsType(g.type), g.readonly]);
  }
  for (const t of recordTypes) e.tsType(t);
  // NLB_RINGBUF_TYPE names no ring: with one type and one ring without a type, they go together.
  const untyped = maps.filter((m) => m.type === 'ringbuf' && !events.has(m.name) && !o.events?.[m.name] && o.type === undefined);
  if (recordTypes.length === 1 && untyped.length === 1) events.set(untyped[0].name, { type: e.tsType(recordTypes[0]), dec: e.decoderFor(recordTypes[0]) });

  // Foreign events (options.events): decoded at run time from an embedded BTF of their types,
  // so short records decode too; typed Short<T>.
  const wanted: Record<string, string> = { ...o.events };
  if (o.type !== undefined) {
    checkString(o.type, 'options.type');
    for (const m of maps) if ((m.type === 'ringbuf' || m.type === 'perf_event_array') && !events.has(m.name) && !wanted[m.name]) wanted[m.name] = o.type;
  }
  const foreign = foreignEvents(objectPath, bytes, btf, { ...o, events: wanted }, maps, e);
  const eventBtfs = [...new Set([...foreign.values()].map((f) => f.btf))];
  const embedded = stripSections(bytes);

  const rings = maps.filter((m) => m.type === 'ringbuf');
  const usesRing = rings.some((r) => events.has(r.name)) || [...foreign.values()].some((f) => f.kind === 'ringbuf');
  const usesPerf = [...foreign.values()].some((f) => f.kind === 'perf_event_array');
  const runtime = [
    'BpfObject', ...(eventBtfs.length ? ['Btf'] : []), ...(usesPerf ? ['PerfBuffer'] : []), ...(usesRing ? ['RingBuffer'] : []),
    ...(maps.length ? ['type BpfMap'] : []), 'type Link', 'type OpenOptions', ...(programs.length ? ['type Program'] : []),
    ...(rings.some((r) => events.has(r.name)) ? ['type RawEvent'] : []),
  ];
  const lines = [
    `// Generated by \`node-libbpf gen\` from ${path.basename(objectPath)}. Do not edit: regenerate.`,
    '/* eslint-disable */',
    `import { ${runtime.join(', ')} } from 'node-libbpf';`,
    ...(e.imports.size
      ? [
          "import * as nlb from 'node-libbpf';",
          '// Bound once: through the module object, every field would look its reader up again.',
          `const { ${[...e.imports].sort().join(', ')} } = nlb;`,
        ]
      : []),
    '',
    ...e.decls.flatMap((d) => [d, '']),
    `/** The BPF object ${path.basename(objectPath)} (${embedded.length} bytes: its ${bytes.length} without DWARF), embedded. */`,
    `export const OBJECT: Buffer = Buffer.from(${JSON.stringify(embedded.toString('base64'))}, 'base64');`,
    '',
    ...(foreign.size
      ? [
          '/** A record that may be shorter than its type: the members past its end are absent, those cut by it partial. */',
          'export type Short<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends ArrayLike<unknown> ? T[K] : Short<T[K]>) : T[K] };',
          '',
          ...eventBtfs.map((b, i) => `/** BTF of the event types (${[...foreign.entries()].filter(([, f]) => f.btf === b).map(([m, f]) => `${m}: ${f.cName}`).join(', ')}). */
const EVENT_BTF_${i} = Btf.parse(Buffer.from(${JSON.stringify(btfSubset(b, [...foreign.values()].filter((f) => f.btf === b).map((f) => f.id)).toString('base64'))}, 'base64'));
`),
        ]
      : []),
    'export interface Maps {',
    ...maps.map((m) => `  /** ${m.type} */\n  ${key(m.name)}: BpfMap<${m.keyType}, ${m.valueType}>;`),
    '}',
    '',
    'export interface Programs {',
    ...programs.map((p) => `  ${key(p)}: Program;`),
    '}',
    '',
    'export interface Globals {',
    ...visibleGlobals.map(([n, t, ro]) => `  ${ro ? '/** .rodata: set before load() */\n  ' : ''}${key(n)}: ${t};`),
    '}',
    '',
    '/** Event buffers whose record type is known (NLB_EVENT_TYPE, or gen --type/--event), decoded. */',
    'export interface Events {',
    ...rings.filter((r) => events.has(r.name)).map((r) => `  ${key(r.name)}(callback: (event: ${events.get(r.name)!.type}) => void): RingBuffer;`),
    ...[...foreign.entries()].map(([m, f]) => f.kind === 'ringbuf'
      ? `  ${key(m)}(callback: (event: Short<${f.ts}>) => void): RingBuffer;`
      : `  ${key(m)}(callback: (event: Short<${f.ts}>, cpu: number) => void): PerfBuffer;`),
    '}',
    '',
    `/** ${name}: the embedded object, opened, with typed maps, programs, globals and events. */`,
    'export class Skeleton implements Disposable {',
    '  readonly object: BpfObject;',
    '  readonly maps: Maps;',
    '  readonly programs: Programs;',
    '  readonly globals: Globals;',
    '  readonly events: Events;',
    '',
    '  constructor(options?: OpenOptions) {',
    `    const object = (this.object = BpfObject.open(OBJECT, { name: ${JSON.stringify(name)}, ...options }));`,
    '    this.maps = {',
    ...maps.map((m) => {
      const decs = [m.keyDec && `key: ${m.keyDec}`, m.valueDec && `value: ${m.valueDec}`].filter(Boolean);
      const get = `object.map<${m.keyType}, ${m.valueType}>(${JSON.stringify(m.name)})`;
      return `      ${key(m.name)}: ${decs.length ? `${get}.useDecoders<${m.keyType}, ${m.valueType}>({ ${decs.join(', ')} })` : get},`;
    }),
    '    };',
    '    this.programs = {',
    ...programs.map((p) => `      ${key(p)}: object.program(${JSON.stringify(p)}),`),
    '    };',
    '    this.globals = object.globals as Globals;',
    '    this.events = {',
    ...rings.filter((r) => events.has(r.name)).map((r) => {
      const ev = events.get(r.name)!;
      return `      ${key(r.name)}: (callback: (event: ${ev.type}) => void): RingBuffer =>\n        new RingBuffer(object.map(${JSON.stringify(r.name)}), (r: RawEvent) => callback(${ev.dec}(r.view, r.offset)), { raw: true }),`;
    }),
    ...[...foreign.entries()].map(([m, f]) => {
      const opts = `{ type: ${JSON.stringify(f.cName)}, btf: EVENT_BTF_${eventBtfs.indexOf(f.btf)} }`;
      return f.kind === 'ringbuf'
        ? `      ${key(m)}: (callback: (event: Short<${f.ts}>) => void): RingBuffer =>\n        new RingBuffer(object.map(${JSON.stringify(m)}), callback, ${opts}),`
        : `      ${key(m)}: (callback: (event: Short<${f.ts}>, cpu: number) => void): PerfBuffer =>\n        new PerfBuffer(object.map(${JSON.stringify(m)}), callback, ${opts}),`;
    }),
    '    };',
    '  }',
    '',
    '  /** CO-RE relocation and verification against the running kernel (off the JS thread). */',
    '  load(): Promise<void> {',
    '    return this.object.load();',
    '  }',
    '',
    '  /** Attach every program whose section names its target. */',
    '  attach(): Link[] {',
    '    return this.object.attach();',
    '  }',
    '',
    '  close(): void {',
    '    this.object.close();',
    '  }',
    '',
    '  [Symbol.dispose](): void {',
    '    this.close();',
    '  }',
    '}',
    '',
    `/** Open the embedded ${name} object (nothing reaches the kernel until load()). */`,
    'export function open(options?: OpenOptions): Skeleton {',
    '  return new Skeleton(options);',
    '}',
    '',
  ];
  return lines.join('\n');
}

interface ForeignEvent { kind: string; cName: string; btf: Btf; id: number; ts: string }

// options.events: each map's record type, from options.btf, the object's BTF or its DWARF.
function foreignEvents(objectPath: string, bytes: Buffer, btf: Btf, o: Partial<GenOptions>, maps: { name: string; type: string }[], e: TypeScriptEmitter): Map<string, ForeignEvent> {
  const out = new Map<string, ForeignEvent>();
  let dwarf: DwarfTypes | null | undefined;
  const emitters = new Map<Btf, TypeScriptEmitter>([[btf, e]]);
  for (const [mapName, cName] of Object.entries(o.events ?? {})) {
    const map = maps.find((m) => m.name === mapName);
    if (!map || (map.type !== 'ringbuf' && map.type !== 'perf_event_array')) {
      throw argRangeError(`options.events.${mapName}`, 'a ringbuf or perf_event_array map of the object', mapName);
    }
    if (typeof cName !== 'string' || !cName) throw argTypeError(`options.events.${mapName}`, 'a type name', cName);
    let found = o.btf ? typeIn(o.btf, cName) : undefined;
    found ??= typeIn(btf, cName);
    if (!found) {
      dwarf ??= DwarfTypes.fromElf(bytes) ?? null;
      found = dwarf?.find(cName);
    }
    if (!found) {
      throw argRangeError(`options.events.${mapName}`, `a type in ${o.btf ? 'options.btf, ' : ''}the BTF or DWARF of ${path.basename(objectPath)} (build with -g and keep DWARF, or give --btf FILE / --header H)`, cName);
    }
    let emitter = emitters.get(found.btf);
    if (!emitter) emitters.set(found.btf, (emitter = new TypeScriptEmitter(found.btf, e.usedNames, true)));
    const ts = emitter.tsType(found.id);
    if (emitter !== e) e.decls.push(...emitter.decls.splice(0));
    out.set(mapName, { kind: map.type, cName, btf: found.btf, id: found.id, ts });
  }
  return out;
}

function typeIn(btf: Btf, cName: string): { btf: Btf; id: number } | undefined {
  const m = /^(struct|union|enum) (.+)$/.exec(cName);
  const t = m ? btf.find(m[2], m[1] as 'struct' | 'union' | 'enum') : btf.find(cName);
  return t ? { btf, id: t.id } : undefined;
}

/**
 * The minimal BTF the CO-RE relocations of the object at `objectPath` need, cut from the
 * full kernel BTF at `btfPath` (what `node-libbpf gen min-btf` writes): ship it with the
 * agent and open the object with `{ btfCustomPath }` on kernels without BTF.
 * @example fs.writeFileSync('agent.min.btf', minCoreBtf('agent.bpf.o', '5.4.0-generic.btf'));
 */
export function minCoreBtf(objectPath: string, btfPath: string): Buffer {
  checkString(objectPath, 'objectPath');
  checkString(btfPath, 'btfPath');
  return addon.btfMinCore(btfPath, objectPath);
}
