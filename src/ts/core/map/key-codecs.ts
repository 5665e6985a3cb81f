// Codecs for maps whose keys or values are not (only) BTF types: fds, LPM trie keys,
// index and fd keys, and the type specs BpfMap.create() takes.
import * as net from 'node:net';
import { argRangeError, argTypeError, checkBytes, checkInteger } from '../../base/args';
import { Btf } from '../../btf/btf';
import { SCALAR_NAMES, scalarType, type ScalarName } from '../../btf/builder';
import { dwarfType } from '../../dwarf/fallback';
import { codecFor, type Codec } from '../../btf/codec';

/** Something whose file descriptor a map can hold: a BpfMap, a Program, a socket or a number. */
export interface HasFd {
  /** The file descriptor the map stores (the kernel keeps its own reference). */
  readonly fd: number;
}
/**
 * What `set()` takes as the value of an fd-holding map (prog_array, array_of_maps,
 * sockmap, ...): an fd number, or something with an `fd` (a Program, a BpfMap, a
 * connected net.Socket). `get()` returns the kernel object's id instead (a sockmap's
 * 8-byte value: the socket's cookie, a bigint).
 * @example
 * obj.map('jmp_table').set(0, obj.program('handle_tcp'));
 */
export type FdValue = number | HasFd | net.Socket;

function fdOf(value: unknown, path: string): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  if (value instanceof net.Socket) {
    const fd = (value as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (typeof fd === 'number' && fd >= 0) return fd;
    throw argRangeError(path, 'a connected socket', value);
  }
  if (value && typeof value === 'object' && 'fd' in value && typeof (value as HasFd).fd === 'number') return (value as HasFd).fd;
  throw argTypeError(path, 'a file descriptor, a BpfMap, a Program or a socket', value);
}

// Values of fd-holding maps: written as an fd, read back as the kernel object's id (or,
// for 8-byte sockmap/sockhash values, the socket's cookie as a bigint).
export function fdCodec(size: 4 | 8): Codec<FdValue | bigint> {
  return {
    size,
    typeName: 'fd',
    decode: (view, offset) => (size === 8 ? view.getBigUint64(offset, true) : view.getUint32(offset, true)),
    encode(value, view, offset, path = 'value') {
      if (size === 8) view.setUint32(offset + 4, 0, true);
      view.setUint32(offset, fdOf(value, path), true);
    },
    zero: () => 0,
    decodePartial(view, offset, length) {
      return length >= size ? this.decode(view, offset) : undefined;
    },
  };
}

/** The key of an LPM trie without BTF: a prefix length in bits and the address bytes. */
/**
 * A key of an lpm_trie map (struct bpf_lpm_trie_key): a prefix length in bits and the
 * address bytes (the rest of the key).
 * @example
 * routes.set({ prefixlen: 24, data: Uint8Array.of(10, 0, 0, 0) }, 1);
 */
export interface LpmKey {
  /** How many leading bits of `data` the key matches. */
  prefixlen: number;
  /** The address (4 bytes for IPv4, 16 for IPv6: the key's size less 4). */
  data: Uint8Array;
}

export function lpmCodec(size: number): Codec<LpmKey> {
  return {
    size,
    typeName: `lpm key (${size - 4} data bytes)`,
    decode: (view, offset) => ({
      prefixlen: view.getUint32(offset, true),
      data: Buffer.from(new Uint8Array(view.buffer, view.byteOffset + offset + 4, size - 4)),
    }),
    encode(value, view, offset, path = 'key') {
      if (!value || typeof value !== 'object') throw argTypeError(path, '{ prefixlen, data }', value);
      checkInteger(value.prefixlen, `${path} .prefixlen`, 0, (size - 4) * 8);
      const data = Array.isArray(value.data) ? Uint8Array.from(value.data) : checkBytes(value.data, `${path} .data`);
      if (data.length > size - 4) throw argRangeError(`${path} .data`, `at most ${size - 4} bytes`, data);
      new Uint8Array(view.buffer, view.byteOffset + offset, size).fill(0);
      view.setUint32(offset, value.prefixlen, true);
      new Uint8Array(view.buffer, view.byteOffset + offset + 4, data.length).set(data);
    },
    zero: () => ({ prefixlen: 0, data: Buffer.alloc(size - 4) }),
    decodePartial(view, offset, length) {
      return length >= size ? this.decode(view, offset) : undefined;
    },
  };
}

// Keys of maps without BTF that are indexes or fds: plain u32s.
export function scalarCodec(name: ScalarName): Codec {
  const { btf, id } = scalarType(name);
  return codecFor(btf, id);
}

export type Decoders = { key?: (view: DataView, offset: number) => unknown; value?: (view: DataView, offset: number) => unknown };

// A codec with its decode replaced (useDecoders); everything else from the original.
export function withDecoder(codec: Codec, decode: ((view: DataView, offset: number) => unknown) | undefined): Codec {
  return decode ? Object.assign(Object.create(codec) as Codec, { decode }) : codec;
}

/** A key or value type for BpfMap.create(): a scalar name, or a type from some BTF. */
export type TypeSpec =
  | ScalarName
  | {
      /** The BTF that defines the type (e.g. `obj.btf`, or one from `headerBtf()`). */
      btf: Btf;
      /** Its name ('struct event', 'u64', ...) or its id in that BTF. */
      type: string | number;
    };

export function resolveSpec(spec: TypeSpec, path: string): { btf: Btf; id: number } {
  if (typeof spec === 'string') {
    if (!(SCALAR_NAMES as string[]).includes(spec)) throw argRangeError(path, `one of ${SCALAR_NAMES.join(', ')} or { btf, type }`, spec);
    return scalarType(spec);
  }
  if (!spec || typeof spec !== 'object' || !(spec.btf instanceof Btf)) throw argTypeError(path, 'a scalar name or { btf, type }', spec);
  if (typeof spec.type === 'number') return { btf: spec.btf, id: spec.type };
  const m = /^(struct|union|enum) (.+)$/.exec(spec.type);
  const t = m ? spec.btf.find(m[2], m[1] as 'struct' | 'union' | 'enum') : spec.btf.find(spec.type);
  if (t) return { btf: spec.btf, id: t.id };
  // An object's BTF (obj.btf) falls back on the object's DWARF, as event buffers' options.type does.
  const fromDwarf = dwarfType(spec.btf, spec.type);
  if (!fromDwarf) throw argRangeError(`${path}.type`, 'a type in that BTF (or, for obj.btf, in the DWARF of an object built with -g)', spec.type);
  return fromDwarf;
}
