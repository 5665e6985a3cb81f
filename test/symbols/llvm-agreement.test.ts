// Names agree with llvm-symbolizer (Debian's llvm-19) on addresses sampled in libc's .text:
// a stripped library whose names come from its .dynsym, its separate debug file's DWARF
// (/usr/lib/debug/.build-id) and the same rules for aliases, ifuncs and gaps. Not timed:
// bench/symbols.js measures speed.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { LazyElfFile } from '../../src/ts/elf/lazy-file';
import { ElfSymbolTable } from '../../src/ts/elf/symbols';
import { Symbolizer } from '../../src/ts/index';

const LLVM_SYMBOLIZER = '/usr/lib/llvm-19/bin/llvm-symbolizer';
const LIBC = fs.realpathSync('/lib/x86_64-linux-gnu/libc.so.6');

function sample(file: string, n: number): bigint[] {
  const elf = LazyElfFile.open(file);
  const text = elf.elf.section('.text')!;
  elf.close();
  let x = 0x9e3779b9;
  const next = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  return Array.from({ length: n }, () => text.addr + BigInt(Math.floor(next() * text.size)));
}

/** llvm-symbolizer's name per address: the last frame of each answer (the function itself). */
function llvmNames(file: string, addresses: bigint[]): (string | undefined)[] {
  const out = execFileSync(LLVM_SYMBOLIZER, [`--obj=${file}`, '--no-demangle'], {
    input: addresses.map((a) => `0x${a.toString(16)}`).join('\n'),
    maxBuffer: 1 << 28,
  }).toString();
  return out.split('\n\n').slice(0, addresses.length).map((block) => {
    const lines = block.split('\n');
    const name = lines[lines.length - 2];
    return name === '??' ? undefined : name;
  });
}

test('libc: names agree with llvm-symbolizer on at least 99.9% of 3000 sampled addresses', async () => {
  const addresses = sample(LIBC, 3000);
  const theirs = llvmNames(LIBC, addresses);
  const ours = await new Symbolizer({ lines: false }).symbolize(addresses, { file: LIBC });
  const differ = addresses.filter((_, i) => ours[i].name !== theirs[i]).map((a, i) => `0x${a.toString(16)}: ${ours[i].name} vs ${theirs[i]}`);
  expect(differ.length).toBeLessThanOrEqual(3);
  // The sample reaches every path: .dynsym names, DWARF names of static functions, gaps.
  expect(theirs.filter((n) => n === undefined).length).toBeGreaterThan(0);
  expect(ours.filter((f) => f.name?.startsWith('__GI_')).length).toBeGreaterThan(0);
}, 120000);

test('libc: file:line agree with llvm-symbolizer where it gives one', async () => {
  const addresses = sample(LIBC, 500);
  const out = execFileSync(LLVM_SYMBOLIZER, [`--obj=${LIBC}`, '--no-demangle', '--no-inlines'], {
    input: addresses.map((a) => `0x${a.toString(16)}`).join('\n'),
  }).toString().split('\n\n');
  const ours = await new Symbolizer().symbolize(addresses, { file: LIBC });
  let compared = 0;
  addresses.forEach((_, i) => {
    const m = /^(.*):(\d+):\d+$/.exec(out[i].split('\n')[1] ?? '');
    if (!m || m[2] === '0') return;
    compared++;
    expect(`${ours[i].file}:${ours[i].line}`).toBe(`${m[1]}:${m[2]}`);
  });
  expect(compared).toBeGreaterThan(400);
}, 120000);

test('libc: inlined frames agree with llvm-symbolizer --inlining', async () => {
  const addresses = sample(LIBC, 1000);
  const out = execFileSync(LLVM_SYMBOLIZER, [`--obj=${LIBC}`, '--no-demangle', '--inlining'], {
    input: addresses.map((a) => `0x${a.toString(16)}`).join('\n'),
  }).toString().split('\n\n');
  const ours = await new Symbolizer({ inlines: true }).symbolize(addresses, { file: LIBC });
  let inlined = 0;
  const differ: string[] = [];
  addresses.forEach((a, i) => {
    // llvm's frames, innermost first: ours[i].inlined[k] is its frame k with frame k+1's position (the call site).
    const l = out[i].split('\n');
    const frames: { name: string; at: string }[] = [];
    for (let k = 0; k + 1 < l.length; k += 2) frames.push({ name: l[k], at: l[k + 1].replace(/:\d+$/, '') });
    const theirs = frames.slice(0, -1).map((f, k) => `${f.name}@${frames[k + 1].at}`);
    const mine = (ours[i].inlined ?? []).map((f) => `${f.name}@${f.file ?? '??'}:${f.line ?? 0}`);
    if (theirs.length > 0) inlined++;
    if (mine.join(' ') !== theirs.join(' ')) differ.push(`0x${a.toString(16)}: ${mine.join(' ')} vs ${theirs.join(' ')}`);
  });
  expect(differ).toEqual([]);
  expect(inlined).toBeGreaterThan(100);
}, 120000);

test('the first lookups of a table (a scan, for a fast first answer) choose as its address index does', () => {
  // node's .symtab (~110k symbols), libc's .dynsym and its debug file's .symtab (aliases,
  // ifuncs, sizes 0): each sampled address, plus symbol starts and ends, asked of fresh
  // tables (their first four lookups scan) and of one whose index is built.
  const debug = execFileSync('readelf', ['-n', LIBC]).toString().match(/Build ID: ([0-9a-f]{2})([0-9a-f]+)/);
  const files = [fs.realpathSync(process.execPath), LIBC, ...(debug ? [`/usr/lib/debug/.build-id/${debug[1]}/${debug[2]}.debug`] : [])];
  let compared = 0;
  for (const file of files.filter((f) => fs.existsSync(f))) {
    const src = LazyElfFile.open(file);
    const indexed = ElfSymbolTable.fromElf(src);
    for (let i = 0; i < 5; i++) indexed.find(0); // the fifth builds the index
    const addresses = sample(file === files[2] ? LIBC : file, 120).map(Number);
    for (let i = 0; i < 40; i++) {
      const k = Math.floor((i * indexed.length) / 40);
      addresses.push(indexed.start(k), indexed.start(k) + Math.max(indexed.size(k), 1), indexed.start(k) - 1);
    }
    let fresh = ElfSymbolTable.fromElf(src);
    addresses.forEach((a, i) => {
      if (i % 4 === 0) fresh = ElfSymbolTable.fromElf(src);
      expect([a, fresh.find(a)]).toEqual([a, indexed.find(a)]);
      compared++;
    });
    src.close();
  }
  expect(compared).toBeGreaterThanOrEqual(2 * 240);
});
