// How the records of event buffers (RingBuffer, PerfBuffer) become JS values: the
// record type looked up by name in BTF, then eager objects, lazy getters over the
// record, or raw views. Shared by every event buffer so they decode alike.
import { argRangeError, argTypeError } from '../base/args';
import { Btf, type BtfKind, type BtfType } from '../btf/btf';
import { charsDecoder, codecFor, type CharMode, type Codec } from '../btf/codec';
import { dwarfType } from '../dwarf/fallback';

/** A record as it sits in the buffer: valid during the callback only (one object, reused). */
export interface RawEvent {
  /** Over the buffer's memory or a copy of it; read-only: its set*() methods throw a TypeError (copy() to change bytes). */
  readonly view: DataView;
  /** Where the record starts in `view`. */
  readonly offset: number;
  /** The record's length in bytes. */
  readonly length: number;
  /** The record's bytes, copied: keep this beyond the callback. */
  copy(): Buffer;
}

/** A record decoded on access (options.lazy): valid during the callback only. */
export interface LazyEvent {
  /** Every field, decoded into a plain object. */
  materialize(): Record<string, unknown>;
  /** materialize(), so JSON.stringify(event) prints the fields. */
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
  chars: Readonly<Record<string, CharMode>> | undefined;
}

/**
 * How a buffer's records were decoded, counted by its deliverer: `short` ones (fewer bytes
 * than the type: decoded partially) counted where they are seen; full = delivered - short.
 */
export interface RecordCounts {
  short: number;
}

/** stats().records: records delivered, by how they were decoded. */
export interface DecodedCounts {
  /** Decoded as the whole type (eagerly or lazily). */
  full: number;
  /** Shorter than the type: the fields wholly inside decoded, the rest absent. */
  short: number;
  /** Delivered raw (no type, or `raw: true`). */
  raw: number;
}

/** Adds a buffer's counts to `out`: typed buffers split `delivered` into full and short. */
export function addCounts(out: DecodedCounts, delivered: number, typed: boolean, counts: RecordCounts): void {
  if (!typed) out.raw += delivered;
  else {
    out.short += counts.short;
    out.full += delivered - counts.short;
  }
}

export function checkBoolean(value: unknown, name: string): boolean {
  if (value !== undefined && typeof value !== 'boolean') throw argTypeError(name, 'a boolean', value);
  return value === true;
}

export const RAW_VIEW_READ_ONLY = "a raw event's view is read-only (the buffer's memory, which the kernel maps read-only): write to event.copy() instead";

/**
 * A DataView whose writes throw a TypeError. A ring buffer's records are read in place from
 * pages the kernel maps read-only, where a store would kill the process with SIGSEGV. Node
 * has no read-only ArrayBuffer, and a copy per record would cost the raw path its point,
 * so the view handed out refuses writes instead: its set*() methods throw. Reads are the
 * DataView's own, unchanged. `view.buffer` stays readable, since decoders (ours, generated
 * wrappers', users') read through typed arrays over it; a typed array made over it to
 * write bypasses this check, and that write still faults: copy() is the writable way.
 */
class ReadOnlyDataView extends (DataView as new (buffer: ArrayBufferLike, byteOffset?: number, byteLength?: number) => DataView) {}
for (const name of Object.getOwnPropertyNames(DataView.prototype)) {
  if (!name.startsWith('set')) continue;
  Object.defineProperty(ReadOnlyDataView.prototype, name, {
    value: function refused(): never {
      throw new TypeError(RAW_VIEW_READ_ONLY);
    },
    writable: true, configurable: true, enumerable: false,
  });
}

class RawRecord implements RawEvent {
  offset = 0;
  length = 0;
  readonly view: DataView;
  readonly #bytes: Uint8Array;
  // One record per view (see Deliverer): the view is never reassigned.
  constructor(view: DataView) {
    this.view = new ReadOnlyDataView(view.buffer, view.byteOffset, view.byteLength);
    this.#bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  }

  copy(): Buffer {
    return Buffer.from(this.#bytes.subarray(this.offset, this.offset + this.length));
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
function recordType(mapName: string, valueTypeId: number, btf: Btf | undefined, type: unknown, where: string, chars: Readonly<Record<string, CharMode>> | undefined): RecordType | undefined {
  const typed = (b: Btf, id: number): RecordType => ({ btf: b, id, codec: codecFor(b, id, chars ? { chars } : undefined), chars });
  if (type === undefined) return btf && valueTypeId ? typed(btf, valueTypeId) : undefined;
  if (typeof type !== 'string' || type.length === 0) throw argTypeError('options.type', 'a BTF type name', type);
  if (!btf) throw argTypeError('options.type', `no type: ${mapName} has no BTF`, type);
  const t = findType(btf, type);
  if (t) return typed(btf, t.id);
  const fromDwarf = where === 'options.btf' ? undefined : dwarfType(btf, type);
  if (!fromDwarf) throw argRangeError('options.type', `a type in ${where}`, type);
  return typed(fromDwarf.btf, fromDwarf.id);
}


const VIEW = Symbol('view');
const OFFSET = Symbol('offset');
const LENGTH = Symbol('length');

interface Accessor extends LazyEvent {
  readonly [VIEW]: DataView;
  [OFFSET]: number;
  [LENGTH]: number;
}

interface LazyField {
  key: string;
  offset: number;
  /** Bytes the field takes (0: decoded from the whole record, such as a bitfield). */
  size: number;
  decode: (view: DataView, offset: number) => unknown;
  /** The field cut by the record's end (`avail` of its bytes there); absent: undefined. */
  part?: (view: DataView, offset: number, avail: number) => unknown;
}

// Named members with their byte offsets, anonymous structs/unions flattened. Members
// without a codec of their own (bitfields, zero-size arrays) read the whole record.
function lazyFields(btf: Btf, t: BtfType, bitBase: number, whole: Codec, chars: Readonly<Record<string, CharMode>> | undefined, out: LazyField[]): LazyField[] {
  for (const m of t.members ?? []) {
    const bits = bitBase + m.bitOffset;
    const rt = btf.resolve(m.type);
    if (!m.name) {
      if (rt.kind === 'struct' || rt.kind === 'union') lazyFields(btf, rt, bits, whole, chars, out);
      continue;
    }
    const mode = chars?.[m.name];
    if (mode && mode !== 'string') {
      const n = rt.nelems as number;
      const { dec, part } = charsDecoder(mode, n);
      out.push({ key: m.name, offset: bits / 8, size: n, decode: dec, part });
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
        ? { key, offset: bits / 8, size: codec.size, decode: codec.decode, part: (view, offset, avail) => codec!.decodePartial(view, offset, avail) }
        : { key, offset: 0, size: 0, decode: (view, offset) => (whole.decode(view, offset) as Record<string, unknown>)[key] },
    );
  }
  return out;
}

type LazyClass = new (view: DataView) => Accessor;
// Per codec (so per type and chars options): the class for whole records, and the one for
// short records, whose getters check the record's length (whole ones do not pay for that).
const lazyClasses = new WeakMap<Codec, { full: LazyClass; short: LazyClass }>();

// One class per record type, with a getter per field decoding it where the record is.
function lazyClass(typed: RecordType): { full: LazyClass; short: LazyClass } {
  const { btf, id, codec } = typed;
  const hit = lazyClasses.get(codec);
  if (hit) return hit;
  const t = btf.resolve(id);
  if (t.kind !== 'struct' && t.kind !== 'union') throw argTypeError('options.lazy', 'a struct or union record type', btf.typeName(id));
  const decodeAll = codec.decode;
  class Lazy implements Accessor {
    readonly [VIEW]: DataView;
    [OFFSET] = 0;
    [LENGTH] = 0;
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
  class ShortLazy extends Lazy {
    override materialize(): Record<string, unknown> {
      return codec.decodePartial(this[VIEW], this[OFFSET], this[LENGTH]) as Record<string, unknown>;
    }
  }
  for (const { key, offset, size, decode, part } of lazyFields(btf, t, 0, codec, typed.chars, [])) {
    Object.defineProperty(Lazy.prototype, key, {
      get(this: Accessor) {
        return decode(this[VIEW], this[OFFSET] + offset);
      },
      enumerable: true,
      configurable: true,
    });
    Object.defineProperty(ShortLazy.prototype, key, {
      get(this: Accessor) {
        const avail = this[LENGTH] - offset;
        if (size === 0) return (codec.decodePartial(this[VIEW], this[OFFSET], this[LENGTH]) as Record<string, unknown>)[key];
        if (avail >= size) return decode(this[VIEW], this[OFFSET] + offset);
        return avail > 0 && part ? part(this[VIEW], this[OFFSET] + offset, avail) : undefined;
      },
      enumerable: true,
      configurable: true,
    });
  }
  const classes = { full: Lazy, short: ShortLazy };
  lazyClasses.set(codec, classes);
  return classes;
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
  /** Where short records are counted. */
  counts: RecordCounts;
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
  const { counts } = o;
  // A record shorter than its type (a tool that sends only the used part of its struct):
  // decoded partially. Only a type that is no struct or union can be too short for that.
  const partial = (view: DataView, offset: number, length: number): unknown => {
    counts.short++;
    const value = codec.decodePartial(view, offset, length);
    if (value === undefined) throw new RangeError(`${o.label}: a record of ${length} bytes is smaller than ${codec.typeName} (${size} bytes)`);
    return value;
  };
  if (o.lazy) {
    const { full, short } = lazyClass(typed);
    return (view) => {
      const record = new full(view);
      const cut = new short(view);
      return (offset, length, cpu) => {
        if (length < size) {
          counts.short++;
          cut[OFFSET] = offset;
          cut[LENGTH] = length;
          callback!(cut, cpu);
          return;
        }
        record[OFFSET] = offset;
        callback!(record, cpu);
      };
    };
  }
  if (!callback) {
    return (view) => (offset, length) => {
      push(length < size ? partial(view, offset, length) : decode(view, offset));
    };
  }
  return (view) => (offset, length, cpu) => {
    if (length < size) {
      callback(partial(view, offset, length), cpu);
      return;
    }
    callback(decode(view, offset), cpu);
  };
}

export interface DecodingOptions {
  type?: string;
  btf?: Btf;
  raw?: boolean;
  lazy?: boolean;
  chars?: Readonly<Record<string, CharMode>>;
}

function checkChars(value: unknown, raw: boolean): Readonly<Record<string, CharMode>> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw argTypeError('options.chars', "an object of member names to 'string', 'bytes' or 'strings'", value);
  if (raw) throw argTypeError('options.chars', 'no chars with raw: true', value);
  for (const [k, v] of Object.entries(value)) {
    if (v !== 'string' && v !== 'bytes' && v !== 'strings') throw argTypeError(`options.chars.${k}`, "'string', 'bytes' or 'strings'", v);
  }
  return value as Readonly<Record<string, CharMode>>;
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
  const chars = checkChars(o.chars, raw);
  if (raw) return undefined;
  return own ? recordType(mapName, 0, own, o.type, 'options.btf', chars) : recordType(mapName, valueTypeId, btf, o.type, `the object's BTF or DWARF (${missing})`, chars);
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
  if (lazy) lazyClass(typed!); // a struct or union, or throw now
  return { typed, lazy };
}
