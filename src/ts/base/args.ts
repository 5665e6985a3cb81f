// Argument checks for the public API, all with one message template:
//   `${name}: expected ${expected}, got ${describe(value)}`
import * as fs from 'node:fs';

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return value.length > 40 ? `a string of length ${value.length}` : JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined) return String(value);
  if (Buffer.isBuffer(value)) return `a Buffer of ${value.length} bytes`;
  if (value instanceof Uint8Array) return `a Uint8Array of ${value.length} bytes`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'function') return 'a function';
  const ctor = (value as object).constructor?.name;
  return ctor && ctor !== 'Object' ? `an instance of ${ctor}` : 'an object';
}

export function argTypeError(name: string, expected: string, value: unknown): TypeError {
  return new TypeError(`${name}: expected ${expected}, got ${describe(value)}`);
}

export function argRangeError(name: string, expected: string, value: unknown): RangeError {
  return new RangeError(`${name}: expected ${expected}, got ${describe(value)}`);
}

export function checkString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) throw argTypeError(name, 'a non-empty string', value);
  if (value.includes('\0')) throw argRangeError(name, 'a string without NUL characters', value);
  return value;
}

export function checkOptionalString(value: unknown, name: string): string | undefined {
  return value === undefined ? undefined : checkString(value, name);
}

// 4294967295 reads better as 2^32-1.
function bound(n: number): string {
  const bits = Math.log2(n + 1);
  return n >= 0xffff && Number.isInteger(bits) ? `2^${bits}-1` : String(n);
}

export function checkInteger(value: unknown, name: string, min: number, max: number): number {
  const expected = `an integer ${bound(min)}..${bound(max)}`;
  if (typeof value !== 'number') throw argTypeError(name, expected, value);
  if (!Number.isInteger(value) || value < min || value > max) throw argRangeError(name, expected, value);
  return value;
}

export function checkOptions<T extends object>(value: unknown, name: string, allowed: readonly (keyof T)[]): Partial<T> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw argTypeError(name, 'an options object', value);
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key as keyof T)) {
      throw argTypeError(`${name}.${key}`, `one of the known options (${allowed.join(', ')})`, (value as Record<string, unknown>)[key]);
    }
  }
  return value as Partial<T>;
}

export function checkBytes(value: unknown, name: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw argTypeError(name, 'a Buffer or Uint8Array', value);
  return value;
}

/** A u64 given as a non-negative safe integer or a bigint; returned as a bigint. */
export function checkUint64(value: unknown, name: string): bigint {
  const expected = 'an integer 0..2^64-1 (a number or a bigint)';
  if (typeof value === 'bigint') {
    if (value < 0n || value > 0xffffffffffffffffn) throw argRangeError(name, expected, value);
    return value;
  }
  if (typeof value !== 'number') throw argTypeError(name, expected, value);
  if (!Number.isSafeInteger(value) || value < 0) throw argRangeError(name, expected, value);
  return BigInt(value);
}

function fileKind(st: fs.Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * A path libbpf will open and read to the end: a FIFO or a device would block or never end,
 * so anything but a regular file (after symlinks) is refused. A missing file is left to the
 * caller's own ENOENT.
 */
export function checkFilePath(value: unknown, name: string): string {
  const p = checkString(value, name);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(p);
  } catch {
    return p;
  }
  if (!st.isFile()) throw new RangeError(`${name}: expected a path to a regular file, got ${describe(p)} (${fileKind(st)})`);
  return p;
}

/** The items of an iterable argument, as an array; TypeError (ours, not V8's) otherwise. */
export function checkIterable<T>(value: unknown, name: string): T[] {
  if (typeof (value as { [Symbol.iterator]?: unknown } | null | undefined)?.[Symbol.iterator] !== 'function' || typeof value === 'string') {
    throw argTypeError(name, 'an iterable (an array, a Map, a generator, ...)', value);
  }
  return [...(value as Iterable<T>)];
}
