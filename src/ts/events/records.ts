// How the records of event buffers (RingBuffer, PerfBuffer) become JS values: the
// record type looked up by name in BTF, then eager objects, lazy getters over the
// record, or raw views. Shared by every event buffer so they decode alike.
import { argRangeError, argTypeError } from '../base/args';
import { Btf, type BtfKind, type BtfType } from '../btf/btf';
import { codecFor, type Codec } from '../btf/codec';

/** A record as it sits in the buffer: valid during the callback only (one object, reused). */
export interface RawEvent {
  /** Over the buffer's memory (read-only: writing to it kills the process) or a copy of it. */
  readonly view: DataView;
  readonly offset: number;
  readonly length: number;
  /** The record's bytes, copied: keep this beyond the callback. */
  copy(): Buffer;
}

/** A record decoded on access (options.lazy): valid during the callback only. */
export interface LazyEvent {
  /** Every field, decoded into a plain object. */
  materialize(): Record<string, unknown>;
  toJSON(): Record<string, unknown>;
}

/** Delivers the record at `offset` (`length` bytes) of the view it was made for; `cpu` where the buffer knows it. */
export type Deliver = (offset: number, length: number, cpu?: number) => void;

/**
 * Makes the Deliver for the records of one view. A buffer whose view changes (a bigger
 * copy batch or arena) makes a new one: a view never changes under a deliverer, so
 * nothing about it is compared or written per record (that was ~15% of a raw drain).
 */
export type Deliverer = (view: DataView) => Deliver;

export interface RecordType {
  btf: Btf;
  id: number;
  codec: Codec;
}

export function checkBoolean(value: unknown, name: string): boolean {
  if (value !== undefined && typeof value !== 'boolean') throw argTypeError(name, 'a boolean', value);
  return value === true;
}

class RawRecord implements RawEvent {
  offset = 0;
  length = 0;
  // One record per view (see Deliverer): the view is never reassigned.
  constructor(readonly view: DataView) {}

  copy(): Buffer {
    return Buffer.from(new Uint8Array(this.view.buffer, this.view.byteOffset + this.offset, this.length));
  }
}

const KINDS: BtfKind[] = ['struct', 'union', 'typedef', 'enum', 'enum64', 'int', 'float'];

// 'struct x', 'union x', 'enum x', or a bare name: a struct first, then a typedef, ...
function findType(btf: Btf, name: string): BtfType | undefined {
  const m = /^(struct|union|enum) (.+)$/.exec(name);
  if (m) return btf.find(m[2], m[1] as BtfKind) ?? (m[1] === 'enum' ? btf.find(m[2], 'enum64') : undefined);
  for (const kind of KINDS) {
    const t = btf.find(name, kind);
    if (t) return t;
  }
  return undefined;
}

/**
 * The record type named by options.type, else the map's value type (when it has one),
 * else undefined (raw records). `where` names `btf` in the error for a missing type:
 * "the object's BTF (how to keep a type there)", or "options.btf".
 */
function recordType(mapName: string, valueTypeId: number, btf: Btf | undefined, type: unknown, where: string): RecordType | undefined {
  if (type === undefined) return btf && valueTypeId ? { btf, id: valueTypeId, codec: codecFor(btf, valueTypeId) } : undefined;
  if (typeof type !== 'string' || type.length === 0) throw argTypeError('options.type', 'a BTF type name', type);
  if (!btf) throw argTypeError('options.type', `no type: ${mapName} has no BTF`, type);
  const t = findType(btf, type);
  if (!t) throw argRangeError('options.type', `a type in ${where}`, type);
  return { btf, id: t.id, codec: codecFor(btf, t.id) };
}

const VIEW = Symbol('view');
const OFFSET = Symbol('offset');

interface Accessor extends LazyEvent {
  readonly [VIEW]: DataView;
  [OFFSET]: number;
}

interface LazyField {
  key: string;
  offset: number;
  decode: (view: DataView, offset: number) => unknown;
}

// Named members with their byte offsets, anonymous structs/unions flattened. Members
// without a codec of their own (bitfields, zero-size arrays) read the whole record.
function lazyFields(btf: Btf, t: BtfType, bitBase: number, whole: Codec, out: LazyField[]): LazyField[] {
  for (const m of t.members ?? []) {
    const bits = bitBase + m.bitOffset;
    const rt = btf.resolve(m.type);
    if (!m.name) {
      if (rt.kind === 'struct' || rt.kind === 'union') lazyFields(btf, rt, bits, whole, out);
      continue;
    }
    const bitfield = m.bitSize > 0 || bits % 8 !== 0 || (rt.kind === 'int' && ((rt.bits as number) < (rt.size as number) * 8 || !!rt.bitOffset));
    let codec: Codec | undefined;
    try {
      codec = bitfield ? undefined : codecFor(btf, m.type);
    } catch {
      codec = undefined;
    }
    const key = m.name;
    out.push(
      codec
        ? { key, offset: bits / 8, decode: codec.decode }
        : { key, offset: 0, decode: (view, offset) => (whole.decode(view, offset) as Record<string, unknown>)[key] },
    );
  }
  return out;
}

const lazyClasses = new WeakMap<Btf, Map<number, new (view: DataView) => Accessor>>();

// One class per record type, with a getter per field decoding it where the record is.
function lazyClass(btf: Btf, id: number, codec: Codec): new (view: DataView) => Accessor {
  let byId = lazyClasses.get(btf);
  if (!byId) lazyClasses.set(btf, (byId = new Map()));
  const hit = byId.get(id);
  if (hit) return hit;
  const t = btf.resolve(id);
  if (t.kind !== 'struct' && t.kind !== 'union') throw argTypeError('options.lazy', 'a struct or union record type', btf.typeName(id));
  const decodeAll = codec.decode;
  class Lazy implements Accessor {
    readonly [VIEW]: DataView;
    [OFFSET] = 0;
    constructor(view: DataView) {
      this[VIEW] = view;
    }
    materialize(): Record<string, unknown> {
      return decodeAll(this[VIEW], this[OFFSET]) as Record<string, unknown>;
    }
    toJSON(): Record<string, unknown> {
      return this.materialize();
    }
  }
  for (const { key, offset, decode } of lazyFields(btf, t, 0, codec, [])) {
    Object.defineProperty(Lazy.prototype, key, {
      get(this: Accessor) {
        return decode(this[VIEW], this[OFFSET] + offset);
      },
      enumerable: true,
      configurable: true,
    });
  }
  byId.set(id, Lazy);
  return Lazy;
}

export interface DelivererOptions {
  /** Receives each event (and the CPU, where known); undefined: `push` (iteration). */
  callback: ((event: any, cpu: any) => void) | undefined;
  /** Queues an event for the iterator: raw records are copied, since they outlive the walk. */
  push: (event: any) => void;
  typed: RecordType | undefined;
  lazy: boolean;
  /** Names the buffer in "record too short" errors: `ring events`, `perf buffer events`. */
  label: string;
}

/** What a walk over a buffer calls per record, for each view the buffer reads. */
export function deliverer(o: DelivererOptions): Deliverer {
  const { callback, push, typed } = o;
  if (!typed) {
    if (!callback) return (view) => (offset, length) => push(Buffer.from(new Uint8Array(view.buffer, view.byteOffset + offset, length)));
    return (view) => {
      const record = new RawRecord(view);
      return (offset, length, cpu) => {
        record.offset = offset;
        record.length = length;
        callback(record, cpu);
      };
    };
  }
  const { codec } = typed;
  const { size, decode } = codec;
  const tooShort = (length: number): RangeError => new RangeError(`${o.label}: a record of ${length} bytes is smaller than ${codec.typeName} (${size} bytes)`);
  if (o.lazy) {
    const Lazy = lazyClass(typed.btf, typed.id, codec);
    return (view) => {
      const record = new Lazy(view);
      return (offset, length, cpu) => {
        if (length < size) throw tooShort(length);
        record[OFFSET] = offset;
        callback!(record, cpu);
      };
    };
  }
  if (!callback) {
    return (view) => (offset, length) => {
      if (length < size) throw tooShort(length);
      push(decode(view, offset));
    };
  }
  return (view) => (offset, length, cpu) => {
    if (length < size) throw tooShort(length);
    callback(decode(view, offset), cpu);
  };
}

export interface DecodingOptions {
  type?: string;
  btf?: Btf;
  raw?: boolean;
  lazy?: boolean;
}

// options.btf: the BTF options.type is looked up in instead of the object's (a program
// whose record type lives only in a header: see headerBtf()).
function typeBtf(o: DecodingOptions, raw: boolean): Btf | undefined {
  if (o.btf === undefined) return undefined;
  if (!(o.btf instanceof Btf)) throw argTypeError('options.btf', 'a Btf', o.btf);
  if (raw) throw argTypeError('options.btf', 'no btf with raw: true', o.btf);
  if (o.type === undefined) throw argTypeError('options.btf', 'options.type with it (the type to look up)', o.btf);
  return o.btf;
}

/**
 * The record type options.type names, in options.btf when given, else in the object's
 * BTF (`btf`); without options.type the map's value type, if any; undefined when `raw`.
 */
export function namedType(o: DecodingOptions, mapName: string, valueTypeId: number, btf: Btf | undefined, missing: string, raw = false): RecordType | undefined {
  const own = typeBtf(o, raw);
  if (raw) return undefined;
  return own ? recordType(mapName, 0, own, o.type, 'options.btf') : recordType(mapName, valueTypeId, btf, o.type, `the object's BTF (${missing})`);
}

/**
 * Checks type/btf/raw/lazy together: the record type to decode (undefined: raw) and
 * whether lazily. `missing` says how to keep a type in the object's BTF.
 */
export function decoding(o: DecodingOptions, mapName: string, valueTypeId: number, btf: Btf | undefined, missing: string): { typed: RecordType | undefined; lazy: boolean } {
  const raw = checkBoolean(o.raw, 'options.raw');
  const lazy = checkBoolean(o.lazy, 'options.lazy');
  if (raw && o.type !== undefined) throw argTypeError('options.type', 'no type with raw: true', o.type);
  if (raw && lazy) throw argTypeError('options.lazy', 'false with raw: true', o.lazy);
  const typed = namedType(o, mapName, valueTypeId, btf, missing, raw);
  if (lazy && !typed) throw argTypeError('options.lazy', `false for a map without a record type (give options.type)`, o.lazy);
  if (lazy) lazyClass(typed!.btf, typed!.id, typed!.codec); // a struct or union, or throw now
  return { typed, lazy };
}
