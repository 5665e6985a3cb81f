// Code generation for codecs: helpers become parameters d0, d1, ... of the compiled function.
import { s64le, u64le } from './int64';
import { Impl, at, toSafe, zeroBytes } from './shared';
import { cstr } from './strings';

// Builtins captured once (see shared.ts).
const { isArray } = Array;
const { isInteger } = Number;

/** Collects helper functions for generated code; they become `d0`, `d1`, ... */
export class Gen {
  private readonly deps: unknown[] = [];

  dep(fn: unknown): string {
    let i = this.deps.indexOf(fn);
    if (i < 0) i = this.deps.push(fn) - 1;
    return `d${i}`;
  }

  decodeExpr(impl: Impl, o: string): string {
    return impl.expr ? impl.expr(o, this) : `${this.dep(impl.dec)}(view, ${o})`;
  }

  compile(body: string): unknown {
    const names = this.deps.map((_, i) => `d${i}`);
    return new Function('cstr', 'u64le', 's64le', 'toSafe', 'zeroBytes', 'at', 'isInteger', 'isArray', ...names, body)(
      cstr, u64le, s64le, toSafe, zeroBytes, at, isInteger, isArray, ...this.deps);
  }
}

export function offsetExpr(base: string, delta: number): string {
  return delta === 0 ? base : `${base} + ${delta}`;
}
