// Histograms as text, column for column what libbpf-tools' print_log2_hist() and
// print_linear_hist() print (the expected strings are written out by hand from their
// printf formats: "%*lld -> %-*lld : %-8d |" and "        %-10d : %-8d |", 40 stars).
import { renderLinearHistogram, renderLog2Histogram } from 'node-libbpf/metrics';

test('log2: header, "low -> high : count |stars|" from slot 0 to the last non-empty slot', () => {
  expect(renderLog2Histogram([1, 0, 4, 2, 0, 0], 'usecs')).toBe([
    '     usecs               : count    distribution',
    '         0 -> 1          : 1        |**********                              |',
    '         2 -> 3          : 0        |                                        |',
    '         4 -> 7          : 4        |****************************************|',
    '         8 -> 15         : 2        |********************                    |',
    '',
  ].join('\n'));
});

test('log2: counts as bigints (u64 slots) and past slot 32 the wide layout (20 stars, 20-wide bounds)', () => {
  const slots = new Array<bigint>(34).fill(0n);
  slots[0] = 3n;
  slots[33] = 1n;
  const lines = renderLog2Histogram(slots, 'nsecs').split('\n');
  expect(lines[0]).toBe(`${' '.repeat(15)}${'nsecs'.padEnd(29)} : count    distribution`);
  expect(lines[1]).toBe(`${'0'.padStart(20)} -> ${'1'.padEnd(20)} : 3        |********************|`);
  expect(lines[34]).toBe(`${String(2n ** 33n).padStart(20)} -> ${String(2n ** 34n - 1n).padEnd(20)} : 1        |******              |`);
  expect(lines).toHaveLength(36);
});

test('all-zero slots print nothing, as in C', () => {
  expect(renderLog2Histogram([0, 0, 0])).toBe('');
  expect(renderLinearHistogram(new Uint32Array(4), { step: 1 })).toBe('');
});

test('linear: only non-empty slots, labelled base + i*step', () => {
  expect(renderLinearHistogram(new Uint32Array([0, 3, 0, 6, 0]), { base: 100, step: 10, unit: 'msecs' })).toBe([
    '     msecs         : count     distribution',
    '        110        : 3        |********************                    |',
    '        130        : 6        |****************************************|',
    '',
  ].join('\n'));
});

test('bad arguments: TypeError/RangeError naming the parameter', () => {
  expect(() => renderLog2Histogram(undefined as never)).toThrow('slots: expected an array of counts, got undefined');
  expect(() => renderLog2Histogram([1, -1])).toThrow('slots[1]: expected a non-negative integer, got -1');
  expect(() => renderLinearHistogram([1], { step: 0 })).toThrow(RangeError);
  expect(() => renderLinearHistogram([1], {} as never)).toThrow('options.step: expected an integer 1..2^53-1, got undefined');
});
