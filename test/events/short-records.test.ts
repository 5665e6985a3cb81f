// Records shorter than their type, from a program written elsewhere
// (test/fixtures/foreign_short.bpf.c, the way libbpf-tools' exec tracers send theirs: the
// header plus the argv bytes copied). struct short_event is declared in a header and only
// used through a pointer, so it has no BTF in the object: the -g build's DWARF provides it;
// a stripped copy needs options.btf from headerBtf(). In callback, lazy and `for await`
// modes, for RingBuffer and PerfBuffer; stats().records counts full, short and raw records.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BpfMap, BpfObject, Btf, PerfBuffer, RingBuffer, type LazyEvent } from 'node-libbpf';
import { headerBtf } from 'node-libbpf/toolchain';
import { stripSections } from '../../src/ts/elf/strip';
import { until } from '../support/events';
import { cleanupAfterEach, expectThrows, fixture, root, triggerGetpgid } from '../support/helpers';

const HEADER = path.join(root, 'test', 'fixtures', 'foreign_short.h');
const ARGS_OFFSET = 100; // offsetof(struct short_event, args)
const TYPE = 'struct short_event';

let tmp: string;
let stripped: string;
let headerTypes: Btf;
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nlb-short-'));
  stripped = path.join(tmp, 'foreign_short.stripped.bpf.o');
  fs.writeFileSync(stripped, stripSections(fs.readFileSync(fixture('foreign_short'))));
  headerTypes = await headerBtf(HEADER, { types: [TYPE] });
}, 60000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cleanup = cleanupAfterEach();

function track<T extends { close(): void }>(thing: T): T {
  cleanup(() => thing.close());
  return thing;
}

async function load(file = fixture('foreign_short'), cut = 0): Promise<BpfObject> {
  const obj = BpfObject.open(file);
  cleanup(() => obj.close());
  obj.globals.targ_ppid = process.pid;
  await obj.load();
  obj.attach();
  obj.globals.cut = cut;
  return obj;
}

// Every field of the header part, as the program writes it for `seq`.
function header(seq: number): Record<string, unknown> {
  const odd = (seq & 1) === 1;
  return {
    seq: BigInt(seq), kind: 9, level: -17, wide: 0x2abcde, phase: odd ? 7 : 3,
    span: { lo: 65000, hi: -300 },
    addr: { v4: 0x0100007f, v6: new Uint8Array([127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) },
    major: 8, minor: 1, as_u32: 0x3fc00000, as_float: 1.5, cv: 0xbeef, flag: true, small: -7,
    big: 0x123456789a, ptr: 0xffff888012345678n,
    grid: [new Uint16Array([0, 1, 2]), new Uint16Array([10, 11, 12])],
    args_count: odd ? 1 : 3, args_size: odd ? 5 : 13, comm: 'python3',
  };
}
const ARGV = (seq: number): string[] => ((seq & 1) === 1 ? ['true'] : ['ls', '-l', '/tmp/x']);

describe('short records, the type from the -g object\'s DWARF', () => {
  test('RingBuffer, callback: every field decoded, args as strings; stats count them short', async () => {
    const obj = await load();
    const got: any[] = [];
    const rb = track(new RingBuffer(obj.map('rb'), (e) => got.push(e), { type: TYPE, chars: { args: 'strings' } }));
    await triggerGetpgid(2);
    rb.consume();
    expect(got).toEqual([0, 1].map((s) => ({ ...header(s), args: ARGV(s) })));
    expect(rb.stats().records).toEqual({ full: 0, short: 2, raw: 0 });
    expect(rb.stats().delivered).toBe(2);
  });

  test('without chars, args is the string up to its first NUL; as bytes, exactly the bytes sent', async () => {
    const obj = await load();
    const plain: any[] = [];
    const bytes: any[] = [];
    const rb = track(new RingBuffer(obj.map('rb'), (e) => plain.push(e), { type: TYPE }));
    rb.add(obj.map('rb'), (e) => bytes.push(e), { type: TYPE, chars: { args: 'bytes' } });
    await triggerGetpgid(1);
    rb.consume();
    expect(plain.map((e) => e.args)).toEqual(['ls']);
    expect(bytes.map((e) => Buffer.from(e.args).toString('latin1'))).toEqual(['ls\0-l\0/tmp/x\0']);
  });

  test('PerfBuffer, callback: the same records (padded to 8 bytes by the kernel, still short)', async () => {
    const obj = await load();
    const got: any[] = [];
    const pb = track(new PerfBuffer(obj.map('pb'), (e) => got.push(e), { type: TYPE, chars: { args: 'strings' } }));
    await triggerGetpgid(2);
    await until(() => (pb.consume(), got.length === 2), 'two samples');
    expect(got).toEqual([0, 1].map((s) => ({ ...header(s), args: ARGV(s) })));
    expect(pb.stats().records).toEqual({ full: 0, short: 2, raw: 0 });
  });

  test('lazy: getters decode what is there, materialize() is the eager value', async () => {
    const obj = await load();
    const seen: unknown[][] = [];
    const rb = track(new RingBuffer(obj.map('rb'), (e: LazyEvent & Record<string, unknown>) => {
      seen.push([e.seq, e.level, e.grid, e.comm, e.args, e.materialize()]);
    }, { type: TYPE, lazy: true, chars: { args: 'strings' } }));
    await triggerGetpgid(2);
    rb.consume();
    expect(seen).toEqual([0, 1].map((s) => {
      const h = header(s);
      return [h.seq, h.level, h.grid, h.comm, ARGV(s), { ...h, args: ARGV(s) }];
    }));
    expect(rb.stats().records).toEqual({ full: 0, short: 2, raw: 0 });
  });

  test('for await: short records are yielded, not the end of the stream', async () => {
    const obj = await load();
    const rb = track(new RingBuffer(obj.map('rb'), { type: TYPE, chars: { args: 'strings' } }));
    const pb = track(new PerfBuffer(obj.map('pb'), { type: TYPE }));
    await triggerGetpgid(3);
    const fromRing: any[] = [];
    for await (const e of rb) if (fromRing.push(e) === 3) break;
    const fromPerf: any[] = [];
    for await (const e of pb) if (fromPerf.push(e) === 3) break;
    expect(fromRing.map((e) => [e.seq, e.args])).toEqual([0, 1, 2].map((s) => [BigInt(s), ARGV(s)]));
    expect(fromPerf.map((e) => [e.seq, e.args])).toEqual([0, 1, 2].map((s) => [BigInt(s), ARGV(s)[0]]));
  });

  test('raw records are counted raw', async () => {
    const obj = await load();
    const rb = track(new RingBuffer(obj.map('rb'), () => undefined, { raw: true }));
    await triggerGetpgid(2);
    rb.consume();
    expect(rb.stats().records).toEqual({ full: 0, short: 0, raw: 2 });
  });
});

// Records cut at chosen lengths (the `cut` global): the fields wholly inside decoded, those
// past the end absent, arrays and structs cut by the end keep their whole elements/members.
describe('records cut inside fields', () => {
  const cases: [number, Record<string, unknown>][] = [
    [8, { seq: 0n }],
    // kind (bits 64..67) is in byte 8; level (bits 68..73) needs byte 9 too.
    [9, { seq: 0n, kind: 9 }],
    [12, { seq: 0n, kind: 9, level: -17, wide: 0x2abcde }],
    // inside span (16..20): only span.lo; inside addr (20..36): v4, and v6 cut to its 14 bytes.
    [18, { seq: 0n, kind: 9, level: -17, wide: 0x2abcde, phase: 3, span: { lo: 65000 } }],
    [34, { ...pick(header(0), 'seq', 'kind', 'level', 'wide', 'phase', 'span'), addr: { v4: 0x0100007f, v6: new Uint8Array([127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) } }],
    // grid (64..76) cut after 1.5 rows: one whole row.
    [73, { ...pick(header(0), 'seq', 'kind', 'level', 'wide', 'phase', 'span', 'addr', 'major', 'minor', 'as_u32', 'as_float', 'cv', 'flag', 'small', 'big', 'ptr'), grid: [new Uint16Array([0, 1, 2])] }],
    // comm (84..100) cut to 4 bytes: "pyth".
    [88, { ...pick(header(0), 'seq', 'kind', 'level', 'wide', 'phase', 'span', 'addr', 'major', 'minor', 'as_u32', 'as_float', 'cv', 'flag', 'small', 'big', 'ptr', 'grid', 'args_count', 'args_size'), comm: 'pyth' }],
  ];

  test.each(cases)('cut to %d bytes', async (cut, expected) => {
    const obj = await load(fixture('foreign_short'), cut);
    const eager: any[] = [];
    const lazy: any[] = [];
    const rb = track(new RingBuffer(obj.map('rb'), (e) => eager.push(e), { type: TYPE }));
    rb.add(obj.map('rb'), (e: LazyEvent & Record<string, unknown>) => lazy.push([e.materialize(), e.comm, e.args]), { type: TYPE, lazy: true });
    await triggerGetpgid(1);
    rb.consume();
    expect(eager).toEqual([expected]);
    expect(lazy).toEqual([[expected, expected.comm, undefined]]);
  });

  test('a record of the whole type is full', async () => {
    const obj = await load(fixture('foreign_short'), 360);
    const got: any[] = [];
    const rb = track(new RingBuffer(obj.map('rb'), (e) => got.push(e), { type: TYPE, chars: { args: 'strings' } }));
    await triggerGetpgid(1);
    rb.consume();
    // The rest of args is the 0xee the program filled its scratch record with.
    expect(got[0].args[0]).toBe('ls');
    expect(rb.stats().records).toEqual({ full: 1, short: 0, raw: 0 });
  });
});

describe('maps typed by { btf: obj.btf, type }', () => {
  test('a type only the DWARF has types a map BpfMap.create() makes; a stripped copy refuses it', async () => {
    const obj = await load();
    const map = BpfMap.create({ type: 'array', key: 'u32', value: { btf: obj.btf!, type: TYPE }, maxEntries: 1 });
    cleanup(() => map.close());
    expect(map.valueSize).toBe(360);
    map.set(0, { seq: 5n, kind: 3, level: -2, comm: 'x', args: 'ls' });
    expect(map.get(0)).toMatchObject({ seq: 5n, kind: 3, level: -2, comm: 'x', args: 'ls', wide: 0 });
    const bare = await load(stripped);
    expectThrows(() => BpfMap.create({ type: 'array', key: 'u32', value: { btf: bare.btf!, type: TYPE }, maxEntries: 1 }), 'RangeError', /^options\.value\.type: expected a type in that BTF \(or, for obj\.btf, in the DWARF of an object built with -g\), got "struct short_event"$/);
  });
});

describe('a stripped copy (no DWARF)', () => {
  test('options.type alone is refused with what to do; options.btf from the header decodes', async () => {
    const obj = await load(stripped);
    const missing = /^options\.type: expected a type in the object's BTF or DWARF \(.*built with -g and not stripped.*options\.btf from headerBtf\(\)\), got "struct short_event"$/;
    expectThrows(() => new RingBuffer(obj.map('rb'), () => undefined, { type: TYPE }), 'RangeError', missing);
    expectThrows(() => new PerfBuffer(obj.map('pb'), () => undefined, { type: TYPE }), 'RangeError', missing);
    const got: any[] = [];
    const rb = track(new RingBuffer(obj.map('rb'), (e) => got.push(e), { type: TYPE, btf: headerTypes, chars: { args: 'strings' } }));
    await triggerGetpgid(2);
    rb.consume();
    expect(got).toEqual([0, 1].map((s) => ({ ...header(s), args: ARGV(s) })));
  });
});

describe('options.chars', () => {
  test('bad values are refused', async () => {
    const obj = await load();
    const map = obj.map('rb');
    expectThrows(() => new RingBuffer(map, () => undefined, { type: TYPE, chars: 'args' as never }), 'TypeError', /^options\.chars: expected an object/);
    expectThrows(() => new RingBuffer(map, () => undefined, { type: TYPE, chars: { args: 'list' as never } }), 'TypeError', /^options\.chars\.args: expected 'string', 'bytes' or 'strings', got "list"$/);
    expectThrows(() => new RingBuffer(map, () => undefined, { type: TYPE, chars: { nope: 'bytes' } }), 'TypeError', /^options\.chars\.nope: expected a member of struct short_event/);
    expectThrows(() => new RingBuffer(map, () => undefined, { type: TYPE, chars: { seq: 'bytes' } }), 'TypeError', /^options\.chars\.seq: expected a char\[\] member, got __u64$/);
    expectThrows(() => new RingBuffer(map, () => undefined, { raw: true, chars: { args: 'bytes' } }), 'TypeError', /^options\.chars: expected no chars with raw: true/);
  });
});

function pick(o: Record<string, unknown>, ...keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, o[k]]));
}
