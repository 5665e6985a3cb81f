// Passed to constructors the library calls itself; `new Program()` from user code has
// no token and throws. Not exported from the package.
export const INTERNAL: unique symbol = Symbol('node-libbpf internal');

export function checkInternal(token: unknown, cls: string): void {
  if (token !== INTERNAL) throw new TypeError(`Illegal constructor: ${cls} is created by the library`);
}
