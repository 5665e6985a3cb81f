// decode(): a value of a BTF type from bytes the user holds (a record kept from a raw
// RingBuffer, a file, a socket), the way event buffers decode their records.
import { argRangeError, argTypeError, checkOptions } from '../base/args';
import { Btf } from './btf';
import type { CharMode } from './codec';

/** Options of decode(): the BTF the type is in, where the value is in the data, and char[] modes. */
export interface DecodeOptions {
  /** The BTF the type is in (an object's `obj.btf`, headerBtf(), Btf.fromFile()). Required. */
  btf: Btf;
  /** Where the value starts in `data` (default 0). */
  offset?: number;
  /** Bytes of the value that are there (default: the rest of `data`). Fewer than the type's size decode partially. */
  length?: number;
  /** `char[]` members decoded as 'bytes' or NUL-separated 'strings' (argv) instead of one string. */
  chars?: Readonly<Record<string, CharMode>>;
}

const OPTIONS = ['btf', 'offset', 'length', 'chars'] as const;

/**
 * Decodes a value of BTF type `type` from `data`. When fewer bytes than the type's size are
 * there (a short record: a tool that sends only the used part of its struct), the members
 * wholly inside are decoded and the ones past the end are absent; an array cut by the end
 * keeps its whole elements (a `char[]` the bytes there). RangeError when not even part of
 * the value can be decoded (a scalar cut short, or no bytes at all).
 * @example
 * const e = decode(record, 'struct event', { btf: obj.btf, chars: { args: 'strings' } });
 */
export function decode<T = any>(data: Uint8Array | DataView, type: string | number, options: DecodeOptions): T {
  const o = checkOptions<DecodeOptions>(options, 'options', OPTIONS);
  if (!(o.btf instanceof Btf)) throw argTypeError('options.btf', 'a Btf', o.btf);
  if (!(data instanceof Uint8Array) && !(data instanceof DataView)) throw argTypeError('data', 'a Buffer, Uint8Array or DataView', data);
  const view = data instanceof DataView ? data : new DataView(data.buffer, data.byteOffset, data.byteLength);
  const offset = o.offset ?? 0;
  if (!Number.isInteger(offset) || offset < 0 || offset > view.byteLength) throw argRangeError('options.offset', `an integer 0..${view.byteLength}`, o.offset);
  const length = o.length ?? view.byteLength - offset;
  if (!Number.isInteger(length) || length < 0 || offset + length > view.byteLength) throw argRangeError('options.length', `an integer 0..${view.byteLength - offset}`, o.length);
  const codec = o.btf.codec<T>(type, o.chars ? { chars: o.chars } : undefined);
  const value = codec.decodePartial(view, offset, length);
  if (value === undefined) throw argRangeError('data', `at least part of ${codec.typeName} (${codec.size} bytes)`, `${length} bytes`);
  return value;
}
