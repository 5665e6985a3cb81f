// A sorted table of start addresses for binary search, shared by an ELF file's symbols and
// the Symbolizer's kernel symbols and perf maps. Addresses are stored as doubles relative to a base
// (user addresses are below 2^47, kernel ones differ from each other by less than 2^53), so
// a lookup is a typed-array binary search with no bigint.

/**
 * The index of the last entry of `starts` (ascending) that is <= `address`, or -1.
 * @internal
 */
export function lastAtOrBefore(starts: Float64Array, length: number, address: number): number {
  let lo = 0;
  let hi = length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (starts[mid] <= address) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/**
 * Indices 0..n-1 ordered by `key` ascending, ties kept in index order (a stable sort: the
 * callers' rules for aliases at one address depend on the original order).
 * @internal
 */
export function sortedOrder(key: Float64Array, n: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  // Already sorted (kallsyms' core part, most symbol tables are close): skip the sort.
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) sorted = key[i - 1] <= key[i];
  if (sorted) return order;
  return order.sort((a, b) => key[a] - key[b] || a - b);
}

/**
 * Indices 0..n-1 by `starts` ascending, ties in index order. Where every start and index fit
 * together in a double (start * 2^bits + index < 2^53, true of user-space code), one native
 * numeric sort of the packed keys; otherwise a comparator sort.
 * @internal
 */
export function orderByStart(starts: Float64Array, n = starts.length): Uint32Array {
  const order = new Uint32Array(n);
  let max = 0;
  for (let i = 0; i < n; i++) if (starts[i] > max) max = starts[i];
  const bits = Math.max(1, Math.ceil(Math.log2(n + 1)));
  const scale = 2 ** bits;
  if (max * scale + scale < 2 ** 53) {
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) keys[i] = starts[i] * scale + i;
    keys.sort();
    for (let j = 0; j < n; j++) order[j] = keys[j] % scale;
    return order;
  }
  for (let i = 0; i < n; i++) order[i] = i;
  return order.sort((a, b) => starts[a] - starts[b] || a - b);
}
