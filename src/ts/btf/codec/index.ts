/**
 * BTF-driven codecs: compiled once per (Btf, type id), then used per value.
 *
 * Decoded representation (encode is the exact inverse and validates):
 *  - int of 1/2/4 bytes and enum -> number; int of 8/16 bytes and pointer -> bigint;
 *    bool (BOOL encoding or `_Bool`) -> boolean; enum64 -> number, bigint beyond a safe integer;
 *    float/double -> number (other float sizes: 2 -> number, 12/16 -> Buffer of the raw bytes).
 *  - char arrays (element resolves to an int named `char` or with the CHAR encoding) -> string,
 *    UTF-8 up to the first NUL. `unsigned char`/`u8` arrays are bytes, not strings.
 *  - ARRAY RULE: an array whose element resolves to a non-bool, non-char int of 1/2/4/8 bytes
 *    or to a 4/8-byte float decodes to a typed array copy of the matching class (Uint8Array,
 *    Int16Array, BigUint64Array, Float64Array, ...). Every other array (enums, bools, pointers,
 *    structs, nested arrays, 16-byte ints) decodes to a JS array. Encode accepts any
 *    array-like of at most the array's length; missing trailing elements are zero.
 *  - struct/union/datasec -> plain object, one key per named member, anonymous struct/union
 *    members flattened into the parent. A union decodes every member; encode writes the member
 *    present, or with several present (a decoded union) merges them and requires that each one
 *    reads back as given, so decoded unions round-trip and real conflicts are a RangeError.
 *  - Zero-size members (flexible or zero-length arrays, empty structs) decode as empty
 *    arrays/objects; a zero-size type on its own cannot be decoded.
 * Encoding zero-fills the whole value first, so padding and missing fields are zero.
 */
export type { Codec } from './shared';
export { describeValue } from './shared';
export { cstr } from './strings';
export { s64le, u64le } from './int64';
export { codecFor, rawCodec, type CodecOptions } from './compiler';
export type { CharMode } from './strings';
import { charBytesImpl, charStringsImpl, type CharMode } from './strings';

/** Decoders of a char[n] in a CharMode other than 'string': whole, and cut to `avail` bytes. */
export function charsDecoder(mode: Exclude<CharMode, 'string'>, n: number): { dec: (view: DataView, off: number) => unknown; part: (view: DataView, off: number, avail: number) => unknown } {
  const impl = mode === 'bytes' ? charBytesImpl(n) : charStringsImpl(n);
  return { dec: impl.dec, part: impl.part! };
}
