// validateBtf(): BTF that libbpf's parser accepts but its btf_dump or CO-RE relocation cannot
// handle is refused with a BpfError (EINVAL or E2BIG) before libbpf sees it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BpfError, BpfObject, Btf } from 'node-libbpf';
import { validateBtf } from '../../src/ts/btf/validate';
import { fixture } from '../support/helpers';
import { BTF_DUMP_REPRODUCERS, info, KIND, paddedStruct, rawBtf, typedefCycle } from '../support/raw-btf';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nlb-btf-guard-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function refusal(fn: () => unknown): BpfError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BpfError);
    return e as BpfError;
  }
  throw new Error('expected a BpfError, nothing was thrown');
}

describe('toCHeader() refuses malformed BTF', () => {
  test.each(Object.entries(BTF_DUMP_REPRODUCERS))('%s: BpfError EINVAL naming the type', (_, bytes) => {
    const e = refusal(() => Btf.parse(bytes).toCHeader());
    expect(e.code).toBe('EINVAL');
    expect(e.syscall).toBe('btf_validate');
    expect(e.message).toMatch(/type 1 \(/);
  });

  test('the same through Btf.fromFile (what `node-libbpf vmlinux --btf FILE` does)', () => {
    const file = path.join(tmp, 'cycle.btf');
    fs.writeFileSync(file, BTF_DUMP_REPRODUCERS['typedef naming itself']);
    expect(refusal(() => Btf.fromFile(file).toCHeader()).message).toMatch(/reference cycle that passes through no pointer/);
  });

  test('a 29 KB struct that would print gigabytes of padding: E2BIG, not an out-of-memory Error', () => {
    const bytes = rawBtf(Array.from({ length: 2000 }, () => [1, info(KIND.struct, 0), 0xfffffff0]));
    expect(bytes.length).toBeLessThan(30 * 1024);
    const e = refusal(() => Btf.parse(bytes).toCHeader());
    expect(e.code).toBe('E2BIG');
    expect(e.message).toMatch(/padding/);
  });

  test('a struct of 4 KB of padding is fine (the bound is far above real types)', () => {
    expect(Btf.parse(paddedStruct(4096)).toCHeader()).toContain('struct a {');
  });

  test('legal cycles (a named struct pointing at itself, through a typedef too) are kept', () => {
    // [1] struct a { ptr b; }  [2] ptr -> [3] typedef b -> [1]
    const bytes = rawBtf([[1, info(KIND.struct, 1), 8, 3, 2, 0], [0, info(KIND.ptr), 3], [3, info(KIND.typedef), 1]]);
    expect(() => validateBtf(Btf.parse(bytes))).not.toThrow();
    expect(Btf.parse(bytes).toCHeader()).toMatch(/typedef struct a b;[\s\S]*struct a \{\s*b \*b;/);
  });

  test('a struct that contains itself (no pointer) is refused', () => {
    const bytes = rawBtf([[1, info(KIND.struct, 1), 8, 3, 1, 0]]);
    expect(refusal(() => validateBtf(Btf.parse(bytes))).message).toMatch(/no pointer/);
  });

  test('impossible layouts: a member past its struct, an array of void, a 200-bit bitfield, a 3-byte int, an id out of range', () => {
    const int4 = [0, info(KIND.int), 4, 32];
    const cases: [number[][], RegExp][] = [
      [[int4, [1, info(KIND.struct, 1), 4, 3, 1, 32]], /ends at bit 64, past the 4 bytes/],
      [[[0, info(KIND.array), 0, 0, 0, 4]], /has type 0, which has no size \(void\)/],
      [[int4, [1, info(KIND.struct, 1, true), 32, 3, 1, (200 << 24) >>> 0]], /./],
      [[[0, info(KIND.int), 3, 24]], /size 3/],
      [[[0, info(KIND.ptr), 7]], /refers to type 7, out of range/],
    ];
    for (const [types, why] of cases) expect(refusal(() => validateBtf(Btf.parse(rawBtf(types)))).message).toMatch(why);
  });

  test('typeName() of a func_proto that names itself in its return and every parameter is bounded', () => {
    // [1] func_proto returning [1] with four parameters of type [1]: a name branching five ways
    // at every level (a fuzzed input spent 27 s here and ended in "Invalid string length").
    const bytes = rawBtf([[0, info(KIND.funcProto, 4), 1, 0, 1, 0, 1, 0, 1, 0, 1]]);
    const name = Btf.parse(bytes).typeName(1);
    expect(name).toContain('…');
    expect(name.length).toBeLessThan(16 * 1024);
  });

  test('every fixture object and the kernel pass', () => {
    for (const name of ['basic', 'core_reloc', 'codec_types', 'maptypes_nested', 'foreign_events']) {
      expect(() => validateBtf(Btf.fromFile(fixture(name)))).not.toThrow();
    }
    expect(() => validateBtf(Btf.parse(fs.readFileSync('/sys/kernel/btf/vmlinux')))).not.toThrow();
  });
});

describe('load() refuses an object whose BTF has a typedef cycle', () => {
  test('BpfError EINVAL before libbpf relocates (which never returned)', async () => {
    const obj = BpfObject.open(typedefCycle(fs.readFileSync(fixture('core_reloc')), 'pid_t'));
    try {
      const e = await obj.load().then(() => undefined, (err: unknown) => err);
      expect(e).toBeInstanceOf(BpfError);
      expect((e as BpfError).code).toBe('EINVAL');
      expect((e as BpfError).message).toMatch(/the object's BTF: type \d+ \(typedef 'pid_t'\) is part of a reference cycle/);
      expect(obj.loaded).toBe(false);
    } finally {
      obj.close();
    }
  });
});
