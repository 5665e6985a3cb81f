// Inlined frames (Frame.inlined, from DWARF's DW_TAG_inlined_subroutine) against
// llvm-symbolizer --inlining, on a program built with -O2 -g whose helpers are inlined two
// and three deep across a .c and a .h file: gcc with DWARF 5 and 4, clang with DWARF 4.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Symbolizer } from '../../src/ts/index';
import { cleanupAfterEach } from '../support/helpers';

const LLVM = '/usr/lib/llvm-19/bin';
const SOURCE = path.join(__dirname, '..', 'fixtures', 'inline_target.c');
const cleanup = cleanupAfterEach();

function build(compiler: string, flags: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlb-inl-'));
  cleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'inline_target');
  execFileSync(compiler, ['-O2', ...flags, '-o', out, SOURCE]);
  return out;
}

/** Every 1-byte step of a function, from nm's address and size (binutils, not our reader). */
function functionAddresses(file: string, name: string): bigint[] {
  const line = execFileSync('nm', ['-S', file], { encoding: 'utf8' }).split('\n').find((l) => l.endsWith(` ${name}`));
  if (!line) throw new Error(`${name} not in ${file}`);
  const [start, size] = line.split(' ').map((h) => parseInt(h, 16));
  return Array.from({ length: size }, (_, i) => BigInt(start + i));
}

interface LlvmFrame {
  name: string;
  file: string;
  line: number;
}

/** llvm-symbolizer --inlining: per address, its frames innermost first. */
function llvmFrames(file: string, addresses: bigint[]): LlvmFrame[][] {
  const out = execFileSync(`${LLVM}/llvm-symbolizer`, [`--obj=${file}`, '--inlining', '--no-demangle'], {
    input: addresses.map((a) => `0x${a.toString(16)}`).join('\n'),
  }).toString();
  return out.split('\n\n').slice(0, addresses.length).map((block) => {
    const l = block.split('\n');
    const frames: LlvmFrame[] = [];
    for (let i = 0; i + 1 < l.length; i += 2) {
      const m = /^(.*):(\d+):\d+$/.exec(l[i + 1])!;
      frames.push({ name: l[i], file: m[1], line: Number(m[2]) });
    }
    return frames;
  });
}

const builds: [string, () => string][] = [
  ['gcc -g (DWARF 5)', () => build('gcc', ['-g'])],
  ['gcc -gdwarf-4', () => build('gcc', ['-gdwarf-4'])],
  ['clang -gdwarf-4', () => build(`${LLVM}/clang`, ['-gdwarf-4'])],
];

describe.each(builds)('inlined frames agree with llvm-symbolizer --inlining: %s', (_, make) => {
  test('names, call files and call lines of every inlined level, at every byte of the function', async () => {
    const bin = make();
    const addresses = functionAddresses(bin, 'nlb_inline_outer');
    const theirs = llvmFrames(bin, addresses);
    const ours = await new Symbolizer({ inlines: true }).symbolize(addresses, { file: bin });
    let depth3 = 0;
    let inlinedAt = 0;
    addresses.forEach((a, i) => {
      const t = theirs[i];
      const f = ours[i];
      // llvm's frames: [innermost inlined ..., the function]; the innermost at the line
      // table's position, each next one at the call site of the one before.
      const expected = {
        name: t[t.length - 1].name,
        file: t[0].file,
        line: t[0].line,
        inlined: t.length > 1 ? t.slice(0, -1).map((fr, k) => ({ name: fr.name, file: t[k + 1].file, line: t[k + 1].line })) : undefined,
      };
      expect({ address: `0x${a.toString(16)}`, name: f.name, file: f.file, line: f.line, inlined: f.inlined })
        .toEqual({ address: `0x${a.toString(16)}`, ...expected });
      if (t.length > 1) inlinedAt++;
      if (t.length >= 4) depth3++;
    });
    // The program really inlines: most of the function is inlined code, some three deep
    // (nlb_mix in nlb_mix_twice in nlb_round), with call sites in the .h and the .c file.
    expect(inlinedAt).toBeGreaterThan(addresses.length / 2);
    expect(depth3).toBeGreaterThan(0);
    const files = new Set(ours.flatMap((f) => (f.inlined ?? []).map((x) => path.basename(x.file ?? ''))));
    expect([...files].sort()).toEqual(['inline_target.c', 'inline_target.h']);
  });
});

test('without inlines (the default), frames have no inlined list and the same name and line', async () => {
  const bin = build('gcc', ['-g']);
  const addresses = functionAddresses(bin, 'nlb_inline_outer');
  const plain = await new Symbolizer().symbolize(addresses, { file: bin });
  const withInlines = await new Symbolizer().symbolize(addresses, { file: bin, inlines: true });
  expect(plain.every((f) => f.inlined === undefined)).toBe(true);
  expect(withInlines.some((f) => f.inlined !== undefined)).toBe(true);
  expect(plain).toEqual(withInlines.map(({ inlined: _, ...f }) => f));
  expect(() => new Symbolizer({ inlines: 1 as unknown as boolean })).toThrow(new TypeError('options.inlines: expected a boolean, got 1'));
});

test('a stripped binary gets its inlined frames from its debug file (.gnu_debuglink)', async () => {
  const bin = build('gcc', ['-g']);
  const addresses = functionAddresses(bin, 'nlb_inline_outer');
  const before = await new Symbolizer({ inlines: true }).symbolize(addresses, { file: bin });
  execFileSync('objcopy', ['--only-keep-debug', bin, `${bin}.debug`]);
  execFileSync('strip', ['--strip-all', bin]);
  execFileSync('objcopy', [`--add-gnu-debuglink=${bin}.debug`, bin], { cwd: path.dirname(bin) });
  const after = await new Symbolizer({ inlines: true }).symbolize(addresses, { file: bin });
  expect(after.map((f) => f.inlined)).toEqual(before.map((f) => f.inlined));
  expect(after.filter((f) => f.inlined).length).toBeGreaterThan(addresses.length / 2);
});
