// Structs and unions: a flat plan of fields (anonymous members flattened), then codegen.
import { Gen, offsetExpr } from './gen';
import { DataViewClass, Dec, Enc, EncodeFail, Impl, U8, at, fail, isArrayLike, lazy } from './shared';
export interface Field { kind: 'field'; key: string; off: number; impl: Impl }
export interface Alt { label: string; keys: string[]; fields: Field[]; write: Enc; mask: () => Uint8Array }
export interface Group { kind: 'group'; off: number; end: number; alts: Alt[]; fields: Field[]; write: Enc }
export type Entry = Field | Group;


function propKey(key: string): string {
  return key === '__proto__' ? '["__proto__"]' : JSON.stringify(key);
}

export function allFields(entries: Entry[]): Field[] {
  return entries.flatMap((e) => (e.kind === 'field' ? [e] : e.fields));
}

const INLINE_LIMIT = 64;

export class StructCompiler {
  constructor(private readonly typeName: string) {}

  compile(entries: Entry[], size: number): Impl {
    const fields = allFields(entries);
    // `o` is always a sum like `off + 8`, so appending `+ n` needs no parentheses.
    const literal = (o: string, g: Gen): string =>
      `{${fields.map((f) => `${propKey(f.key)}: ${g.decodeExpr(f.impl, offsetExpr(o, f.off))}`).join(', ')}}`;
    const g = new Gen();
    const dec = g.compile(`return function decode(view, off) { return ${literal('off', g)}; };`) as Dec;
    const impl: Impl = { size, dec, enc: this.encoder(entries, size), mask: fieldsMask(fields, size, 0), part: partialStruct(fields) };
    const cost = fields.reduce((sum, f) => sum + (f.impl.cost ?? 1), 0);
    if (cost <= INLINE_LIMIT) Object.assign(impl, { expr: literal, cost }); // small structs inline into parents
    return impl;
  }

  private encoder(entries: Entry[], size: number): Enc {
    const g = new Gen();
    const what = `an object (${this.typeName})`;
    const suffixes: string[] = [];
    const lines = entries.map((e, k) => {
      suffixes.push(e.kind === 'field' ? `.${e.key}` : '');
      return `k = ${k}; ${e.kind === 'field' ? this.fieldWrite(e, g) : `${g.dep(e.write)}(v, view, off);`}`;
    });
    const src = `return function encode(v, view, off) {
      if (typeof v !== 'object' || v === null || isArray(v)) throw ${g.dep(notObject)}(${JSON.stringify(what)}, v);
      zeroBytes(view, off, ${size});
      let k = 0, x;
      try { ${lines.join('\n')} } catch (e) { throw at(e, ${g.dep(suffixes)}[k]); }
    };`;
    return g.compile(src) as Enc;
  }

  private fieldWrite(f: Field, g: Gen): string {
    const o = offsetExpr('off', f.off);
    const slow = `${g.dep(f.impl.enc)}(x, view, ${o});`;
    const write = f.impl.fastCheck && f.impl.fastWrite
      ? `if (${f.impl.fastCheck('x')}) ${f.impl.fastWrite('x', o)}; else ${slow}`
      : slow;
    return `x = v[${JSON.stringify(f.key)}]; if (x !== undefined) { ${write} }`;
  }
}

/** Members wholly inside the first `avail` bytes, and those cut by the end that can be cut. */
function partialStruct(fields: Field[]): (view: DataView, off: number, avail: number) => unknown {
  return (view, off, avail) => {
    const out: Record<string, unknown> = {};
    for (const f of fields) {
      const end = f.off + f.impl.size;
      if (end <= avail) out[f.key] = f.impl.dec(view, off + f.off);
      else if (f.off < avail && f.impl.part) {
        const v = f.impl.part(view, off + f.off, avail - f.off);
        if (v !== undefined) out[f.key] = v;
      }
    }
    return out;
  };
}

function notObject(what: string, v: unknown): EncodeFail {
  return fail(false, what, v);
}

/**
 * A flattened anonymous union (or a union's own members): one alternative per member. With
 * several members present (as in a decoded union), each member's data bits are merged into the
 * bytes and every member must then read back as given; otherwise they conflict (RangeError).
 */
export function groupWrite(alts: Alt[], off: number, end: number, label: string): Enc {
  return (v, view, base) => {
    const obj = v as Record<string, unknown>;
    const present = alts.filter((a) => a.keys.some((k) => obj[k] !== undefined));
    if (present.length === 1) present[0].write(v, view, base);
    else if (present.length > 1) mergeAlts(present, v, view, base + off, end - off, off, label);
  };
}

function mergeAlts(
  present: Alt[], v: unknown, view: DataView, at0: number, len: number, groupOff: number, label: string,
): void {
  const out = new U8(view.buffer, view.byteOffset + at0, len);
  const alone = present.map((alt) => {
    const bytes = new U8(len);
    const own = new DataViewClass(bytes.buffer);
    alt.write(v, own, -groupOff);
    const m = alt.mask();
    for (let i = 0; i < len; i++) out[i] = (out[i] & ~m[i]) | (bytes[i] & m[i]);
    return own;
  });
  const base = at0 - groupOff; // field offsets are relative to the struct start
  const agree = present.every((alt, j) =>
    alt.fields.every((f) => sameDecoded(f.impl.dec(alone[j], f.off - groupOff), f.impl.dec(view, base + f.off))));
  if (!agree) {
    const names = present.map((a) => a.label).join(', ');
    throw new EncodeFail(true, `one member of ${label}, or members that agree`, `conflicting members ${names}`);
  }
}

/** Structural equality of two decoded values (same codec, so same shapes). */
function sameDecoded(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return a !== a && b !== b; // NaN
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (isArrayLike(a) && isArrayLike(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameDecoded(a[i], b[i])) return false;
    return true;
  }
  const rb = b as Record<string, unknown>;
  return Object.keys(a).every((k) => sameDecoded((a as Record<string, unknown>)[k], rb[k]));
}


/** ORs the data bits of `impl` placed at byte `at` into `into`. */
function orMask(into: Uint8Array, at: number, impl: Impl): void {
  if (!impl.mask) {
    into.fill(0xff, at, at + impl.size);
    return;
  }
  const m = impl.mask();
  for (let i = 0; i < m.length; i++) into[at + i] |= m[i];
}

export function fieldsMask(fields: Field[], size: number, shift: number): () => Uint8Array {
  return lazy(() => {
    const m = new U8(size);
    for (const f of fields) orMask(m, f.off - shift, f.impl);
    return m;
  });
}

export function entriesWrite(entries: Entry[]): Enc {
  const writers = entries.map((e): Enc => (e.kind === 'group' ? e.write : fieldWriter(e)));
  return (v, view, off) => {
    for (const w of writers) w(v, view, off);
  };
}

function fieldWriter(f: Field): Enc {
  const suffix = `.${f.key}`;
  return (v, view, off) => {
    const x = (v as Record<string, unknown>)[f.key];
    if (x === undefined) return;
    try {
      f.impl.enc(x, view, off + f.off);
    } catch (e) {
      throw at(e, suffix);
    }
  };
}
