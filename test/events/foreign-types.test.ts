// Events of a program written elsewhere (test/fixtures/foreign_events.bpf.c, the
// libbpf-bootstrap way): its struct event lives in foreign_events.h and only local
// variables use it, so the object's BTF has no such type. headerBtf() and
// `node-libbpf btf` make BTF from the header; RingBuffer and PerfBuffer decode the real
// kernel's records with it (options.btf).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BpfObject, Btf, PerfBuffer, RingBuffer, UserRingBuffer, type BtfKind } from 'node-libbpf';
import { headerBtf } from 'node-libbpf/toolchain';
import { Trigger, until } from '../support/events';
import { cleanupAfterEach, expectError, expectRejects, expectThrows, fixture, loadFixture, rejection, root, triggerGetpgid } from '../support/helpers';

const FIXTURE = fixture('foreign_events');
const HEADER = path.join(root, 'test', 'fixtures', 'foreign_events.h');
const CLI = path.join(root, 'dist', 'cli', 'main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
const EVENT_BYTES = 216; // sizeof(struct event)
const ROUND = 500; // events per getpgid() in the "thousands" tests: well within one ring or per-CPU buffer
const TOTAL = 5000;

interface ForeignEvent {
  seq: bigint;
  pid: number;
  ppid: number;
  exit_code: number;
  delta: number;
  flags: number;
  level: number;
  duration_ns: bigint;
  comm: string;
  filename: string;
  exit_event: boolean;
  span: { lo: number; hi: number };
  args: Uint32Array;
  addr: { v4: number; v6: Uint8Array };
  phase: number;
}

// What fill() in foreign_events.bpf.c writes for sequence number `seq`, from a child of this process.
function expected(seq: number, pid: number): ForeignEvent {
  const odd = (seq & 1) === 1;
  return {
    seq: BigInt(seq),
    pid,
    ppid: process.pid,
    exit_code: 0xdeadbeef,
    delta: -1234,
    flags: 0xab,
    level: -5,
    duration_ns: 0xfedcba9876543210n ^ BigInt(seq),
    comm: 'python3',
    filename: `/tmp/foreign-${seq % 10}`,
    exit_event: odd,
    span: { lo: 65000, hi: -300 },
    args: new Uint32Array([1, 2, seq]),
    addr: { v4: 0x0100007f, v6: new Uint8Array([127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) },
    phase: odd ? 2 : 1,
  };
}

// The fields that vary with seq and pid, checked for every one of thousands of events
// (a full toEqual per event would dominate the test's time); undefined when they match.
function mismatch(e: ForeignEvent, seq: number, pid: number): string | undefined {
  const ok = e.seq === BigInt(seq) && e.pid === pid && e.duration_ns === (0xfedcba9876543210n ^ BigInt(seq)) &&
    e.args[2] === seq && e.filename === `/tmp/foreign-${seq % 10}` && e.exit_event === ((seq & 1) === 1) && e.comm === 'python3';
  return ok ? undefined : `event ${seq}: seq ${e.seq}, pid ${e.pid}, args[2] ${e.args[2]}, filename ${e.filename}`;
}

// Loads a raw BTF into the kernel (BPF_BTF_LOAD), which checks it more strictly than
// libbpf does (a DATASEC of size 0, as clang leaves one in an object, is refused).
const BTF_LOAD = `
import ctypes, os, platform, sys
data = open(sys.argv[1], 'rb').read()
buf = ctypes.create_string_buffer(data, len(data))
log = ctypes.create_string_buffer(1 << 16)
class Attr(ctypes.Structure):
    _fields_ = [('btf', ctypes.c_uint64), ('log', ctypes.c_uint64), ('size', ctypes.c_uint32),
                ('log_size', ctypes.c_uint32), ('log_level', ctypes.c_uint32)]
attr = Attr(ctypes.addressof(buf), ctypes.addressof(log), len(data), len(log), 1)
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.syscall({'x86_64': 321, 'aarch64': 280}[platform.machine()], 18, ctypes.byref(attr), ctypes.sizeof(attr))
print('loaded' if fd >= 0 else os.strerror(ctypes.get_errno()) + ': ' + log.value.decode().strip())
`;

let tmp: string;
let btfFile: string;
let btf: Btf;
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nlb-foreign-'));
  btfFile = path.join(tmp, 'events.btf');
  btf = await headerBtf(HEADER, { types: ['struct event', 'span_t', 'union addr', 'enum phase'], output: btfFile });
}, 60000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cleanup = cleanupAfterEach();

/** The fixture, loaded and attached: getpgid() by children of this process sends events. */
async function load(counts: { rb?: number; pb?: number } = {}): Promise<BpfObject> {
  const obj = await loadFixture(FIXTURE, { attach: true, globals: { targ_ppid: process.pid } });
  obj.globals.n_rb = counts.rb ?? 0;
  obj.globals.n_pb = counts.pb ?? 0;
  return obj;
}

function track<T extends { close(): void }>(thing: T): T {
  cleanup(() => thing.close());
  return thing;
}

/** A paced getpgid() child (pinned to `cpu` if given), ready. */
async function trigger(cpu?: number): Promise<Trigger> {
  const t = new Trigger(cpu);
  cleanup(() => t.close());
  await t.ready();
  return t;
}

/** Events checked in arrival order against what the program wrote for `pid`: the first few mismatches are kept. */
class InOrder {
  n = 0;
  readonly bad: string[] = [];
  constructor(readonly pid: number) {}

  /** Checks the next event; returns its index. */
  check(e: ForeignEvent): number {
    const wrong = mismatch(e, this.n, this.pid);
    if (wrong && this.bad.length < 5) this.bad.push(wrong);
    return this.n++;
  }
}

/** TOTAL events, ROUND per getpgid(): after each, waits until `order` has seen them (or `stopped()`). */
async function fireRounds(t: Trigger, order: InOrder, stopped: () => boolean = () => false): Promise<void> {
  for (let sent = ROUND; sent <= TOTAL; sent += ROUND) {
    await t.fire();
    await until(() => order.n === sent || stopped(), `${sent} events`);
  }
}

describe('the program', () => {
  // Its -g build keeps struct event in DWARF, where options.type finds it (see
  // test/events/short-records.test.ts and test/dwarf/types.test.ts for what a stripped copy does).
  test("its object's BTF has no struct event; options.type finds it in the object's DWARF", async () => {
    const obj = await load();
    expect(obj.btf!.find('event', 'struct')).toBeUndefined();
    const rb = track(new RingBuffer(obj.map('rb'), () => undefined, { type: 'struct event' }));
    expect(rb.stats().records).toEqual({ full: 0, short: 0, raw: 0 });
    track(new PerfBuffer(obj.map('pb'), () => undefined, { type: 'struct event' }));
    expectThrows(() => new RingBuffer(obj.map('rb'), { type: 'struct no_such_event' }), 'RangeError', /^options\.type: expected a type in the object's BTF or DWARF \(.*-g.*NLB_RINGBUF_TYPE.*options\.btf from headerBtf\(\)\), got "struct no_such_event"$/);
  });
});

describe('headerBtf()', () => {
  test('the requested types first, then what they reference, nothing of the stub; a small file the kernel loads', () => {
    expect([1, 2, 3, 4].map((id) => btf.typeName(id))).toEqual(['struct event', 'span_t', 'union addr', 'enum phase']);
    const kinds = new Set([...btf].map((t) => t.kind));
    expect([...kinds].sort()).toEqual<BtfKind[]>(['array', 'enum', 'int', 'struct', 'typedef', 'union']); // no var, datasec, ptr
    const event = btf.type('struct event');
    expect(event.size).toBe(EVENT_BYTES);
    expect(event.members!.map((m) => `${btf.typeName(m.type)} ${m.name}`)).toEqual([
      '__u64 seq', 'int pid', 'int ppid', 'unsigned int exit_code', '__s16 delta', 'unsigned char flags',
      'signed char level', 'unsigned long long duration_ns', 'char[16] comm', 'char[127] filename', 'bool exit_event',
      'span_t span', 'unsigned int[3] args', 'union addr addr', 'enum phase phase',
    ]);
    expect(btf.resolve(btf.type('span_t').id)).toMatchObject({ kind: 'struct', name: 'span', size: 4 });
    expect(btf.type('enum phase').values).toEqual([{ name: 'PHASE_ENTER', value: 1 }, { name: 'PHASE_EXIT', value: 2 }]);

    expect(fs.statSync(btfFile).size).toBeLessThan(1024);
    const fromFile = Btf.fromFile(btfFile);
    expect(fromFile.typeCount).toBe(btf.typeCount);
    expect(fromFile.type('struct event').members).toEqual(event.members);
    expect(execFileSync('python3', ['-c', BTF_LOAD, btfFile], { encoding: 'utf8' }).trim()).toBe('loaded');
  });

  test('includeDirs and cflags reach clang, as in build()', async () => {
    fs.mkdirSync(path.join(tmp, 'inc'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'inc', 'sizes.h'), '#define NAME_LEN (NLB_LEN + 1)\n');
    const header = path.join(tmp, 'named.h');
    fs.writeFileSync(header, '#include "sizes.h"\ntypedef struct { char name[NAME_LEN]; __u32 id; } named_t;\n');
    const named = await headerBtf([header], { types: ['named_t'], includeDirs: [path.join(tmp, 'inc')], cflags: ['-DNLB_LEN=23'] });
    const t = named.resolve(named.type('named_t').id);
    expect(named.typeName(t.members![0].type)).toBe('char[24]');
    expect(t.size).toBe(28);
  }, 60000);

  test('bad arguments are TypeErrors and RangeErrors, before clang runs', async () => {
    const types = ['struct event'];
    await expectRejects(headerBtf(HEADER, { types: [] }), 'TypeError', 'options.types: expected a non-empty array of type names, got an array of length 0');
    await expectRejects(headerBtf(HEADER, {} as never), 'TypeError', 'options.types: expected a non-empty array of type names, got undefined');
    await expectRejects(headerBtf(HEADER, { types: [5 as never] }), 'TypeError', "options.types[0]: expected 'struct x', 'union x', 'enum x' or a typedef name, got 5");
    await expectRejects(headerBtf(HEADER, { types: ['struct event', 'struct'] }), 'RangeError', "options.types[1]: expected 'struct x', 'union x', 'enum x' or a typedef name, got \"struct\"");
    await expectRejects(headerBtf(HEADER, { types: ['int x; struct event'] }), 'RangeError', /^options\.types\[0\]: expected 'struct x'/);
    await expectRejects(headerBtf([], { types }), 'TypeError', 'headers: expected a header path or a non-empty array of them, got an array of length 0');
    await expectRejects(headerBtf(5 as never, { types }), 'TypeError', 'headers: expected a header path or a non-empty array of them, got 5');
    await expectRejects(headerBtf([''], { types }), 'TypeError', 'headers[0]: expected a non-empty string, got ""');
    await expectRejects(headerBtf(HEADER, { types, bogus: 1 } as never), 'TypeError', /^options\.bogus: expected one of the known options/);
    await expectRejects(headerBtf(HEADER, { types, output: 7 as never }), 'TypeError', 'options.output: expected a non-empty string, got 7');
  });

  test('a type the header does not define, or not of the kind asked for, is a RangeError naming it', async () => {
    const notIn = (i: number, name: string): string => `options.types[${i}]: expected a type defined in ${HEADER}, got ${JSON.stringify(name)}`;
    // `struct nope *` compiles (an incomplete struct); `nope_t *` and `union event *` do not.
    const cases: [string[], number][] = [[['struct nope'], 0], [['struct event', 'nope_t'], 1], [['union event'], 0], [['enum nope'], 0], [['struct span_t'], 0]];
    for (const [types, i] of cases) await expectRejects(headerBtf(HEADER, { types }), 'RangeError', notIn(i, types[i]));
  }, 60000);

  test("clang's diagnostics, with the header's file:line", async () => {
    const bad = path.join(tmp, 'broken.h');
    fs.writeFileSync(bad, 'struct event {\n\tint pid;\n\tchar comm[16;\n};\n');
    const e = await rejection(headerBtf(bad, { types: ['struct event'] }));
    expectError(e, 'Error', new RegExp(`^clang failed to compile ${bad}:\\n`));
    expect(e.message).toContain(`${bad}:3:14: error: expected ']'`);
    await expectRejects(headerBtf(path.join(tmp, 'missing.h'), { types: ['struct event'] }), 'Error', /missing\.h' file not found/);
  }, 60000);
});

describe('RingBuffer with options.btf', () => {
  test('every field decodes to the values written', async () => {
    const obj = await load({ rb: 3 });
    const got: ForeignEvent[] = [];
    const rb = track(new RingBuffer<ForeignEvent>(obj.map('rb'), (e) => got.push(e), { type: 'struct event', btf }));
    const pid = await triggerGetpgid(1);
    await until(() => got.length === 3, '3 events');
    expect(got).toEqual([0, 1, 2].map((s) => expected(s, pid)));
  });

  test('thousands of events arrive in order through for await', async () => {
    const obj = await load({ rb: ROUND });
    const t = await trigger();
    const rb = track(new RingBuffer<ForeignEvent>(obj.map('rb'), { type: 'struct event', btf }));
    const order = new InOrder(t.pid);
    const first: ForeignEvent[] = [];
    const consumed = (async () => {
      for await (const e of rb) {
        if (order.check(e) < 2) first.push(e);
        if (order.n === TOTAL) break; // closes the RingBuffer
      }
    })();
    await fireRounds(t, order, () => rb.closed);
    await consumed;
    expect(order.bad).toEqual([]);
    expect(order.n).toBe(TOTAL);
    expect(first).toEqual([expected(0, t.pid), expected(1, t.pid)]);
    expect(obj.globals.rb_seq).toBe(BigInt(TOTAL));
    expect(obj.globals.rb_full).toBe(0n);
  });

  test('lazy: true, through a callback: thousands in order, fields decoded where they are', async () => {
    const obj = await load({ rb: ROUND });
    const t = await trigger();
    const order = new InOrder(t.pid);
    let sample: unknown;
    track(new RingBuffer(obj.map('rb'), (e) => {
      if (order.check(e) === 7) sample = e.materialize();
    }, { type: 'struct event', btf, lazy: true }));
    await fireRounds(t, order);
    expect(order.bad).toEqual([]);
    expect(sample).toEqual(expected(7, t.pid));
    expect(obj.globals.rb_full).toBe(0n);
  });

  test('add(): another ring decoded with options.btf, lazily; an iterated RingBuffer adds one too', async () => {
    const a = await load({ rb: 2 });
    const b = await load({ rb: 2 }); // both attached: one getpgid() fills both rings
    const raw: number[] = [];
    const lazy: unknown[] = [];
    const rb = track(new RingBuffer(a.map('rb'), (e) => raw.push(e.length), { raw: true }));
    rb.add(b.map('rb'), (e) => lazy.push({ seq: e.seq, comm: e.comm, span: e.span, phase: e.phase }), { type: 'struct event', btf, lazy: true });
    const pid = await triggerGetpgid(1);
    await until(() => raw.length + lazy.length === 4, '4 events');
    expect(raw).toEqual([EVENT_BYTES, EVENT_BYTES]);
    expect(lazy).toEqual([0, 1].map((s) => {
      const { seq, comm, span, phase } = expected(s, pid);
      return { seq, comm, span, phase };
    }));
    rb.close(); // one reader per ring

    const it = track(new RingBuffer<ForeignEvent>(a.map('rb'), { type: 'struct event', btf }));
    it.add(b.map('rb'), { type: 'struct event', btf });
    const pid2 = await triggerGetpgid(1);
    const got: ForeignEvent[] = [];
    for await (const e of it) if (got.push(e) === 4) break;
    expect(got.map((e) => e.seq).sort()).toEqual([2n, 2n, 3n, 3n]);
    expect(got.filter((e) => e.seq === 3n)).toEqual([expected(3, pid2), expected(3, pid2)]);
  });
});

describe('PerfBuffer with options.btf', () => {
  test('every field decodes to the values written; the callback gets the CPU', async () => {
    const obj = await load({ pb: 3 });
    const got: [number, ForeignEvent][] = [];
    const pb = track(new PerfBuffer<ForeignEvent>(obj.map('pb'), (e, cpu) => got.push([cpu, e]), { type: 'struct event', btf }));
    const pid = await triggerGetpgid(1);
    await until(() => got.length === 3, '3 samples');
    const cpu = got[0][0];
    expect(got).toEqual([0, 1, 2].map((s) => [cpu, expected(s, pid)]));
  });

  test('thousands of samples from one CPU arrive in order through for await', async () => {
    const obj = await load({ pb: ROUND });
    const t = await trigger(0); // one CPU: one buffer, so one order
    const pb = track(new PerfBuffer<ForeignEvent>(obj.map('pb'), { type: 'struct event', btf }));
    const order = new InOrder(t.pid);
    const consumed = (async () => {
      for await (const e of pb) {
        if (order.check(e) === 3) expect(e).toEqual(expected(3, t.pid));
        if (order.n === TOTAL) break;
      }
    })();
    await fireRounds(t, order, () => pb.closed);
    await consumed;
    expect(order.bad).toEqual([]);
    expect(order.n).toBe(TOTAL);
    expect(obj.globals.pb_full).toBe(0n);
  });

  test('lazy: true, through a callback: thousands in order', async () => {
    const obj = await load({ pb: ROUND });
    const t = await trigger(0);
    const order = new InOrder(t.pid);
    const cpus = new Set<number>();
    track(new PerfBuffer(obj.map('pb'), (e, cpu) => {
      order.check(e);
      cpus.add(cpu);
    }, { type: 'struct event', btf, lazy: true }));
    await fireRounds(t, order);
    expect(order.bad).toEqual([]);
    expect([...cpus]).toEqual([0]);
    expect(obj.globals.pb_full).toBe(0n);
  });
});

describe('bad options.btf', () => {
  test('TypeError for a non-Btf, without options.type, with raw: true; RangeError for a type not in it', async () => {
    const obj = await load();
    const cb = (): void => undefined;
    const makers: Record<string, (o: object) => unknown> = {
      'RingBuffer(map, cb)': (o) => new RingBuffer(obj.map('rb'), cb, o),
      'RingBuffer(map)': (o) => new RingBuffer(obj.map('rb'), o),
      'PerfBuffer(map, cb)': (o) => new PerfBuffer(obj.map('pb'), cb, o),
      'PerfBuffer(map)': (o) => new PerfBuffer(obj.map('pb'), o),
    };
    for (const make of Object.values(makers)) {
      expectThrows(() => make({ type: 'struct event', btf: {} }), 'TypeError', 'options.btf: expected a Btf, got an object');
      expectThrows(() => make({ type: 'struct event', btf: fs.readFileSync(btfFile) }), 'TypeError', /^options\.btf: expected a Btf, got a Buffer of \d+ bytes$/);
      expectThrows(() => make({ type: 'struct event', btf: btfFile }), 'TypeError', /^options\.btf: expected a Btf, got "/);
      expectThrows(() => make({ btf }), 'TypeError', 'options.btf: expected options.type with it (the type to look up), got an instance of Btf');
      expectThrows(() => make({ raw: true, btf }), 'TypeError', 'options.btf: expected no btf with raw: true, got an instance of Btf');
      expectThrows(() => make({ type: 'struct nope', btf }), 'RangeError', 'options.type: expected a type in options.btf, got "struct nope"');
    }
    expectThrows(() => makers['RingBuffer(map, cb)']({ type: 'enum phase', btf, lazy: true }), 'TypeError', 'options.lazy: expected a struct or union record type, got "enum phase"');
    expectThrows(() => makers['PerfBuffer(map, cb)']({ type: 'enum phase', btf, lazy: true }), 'TypeError', 'options.lazy: expected a struct or union record type, got "enum phase"');
    // add() checks it too, and leaves nothing open behind.
    const rb = track(new RingBuffer(obj.map('rb'), cb, { raw: true }));
    expectThrows(() => rb.add(obj.map('rb'), cb, { type: 'struct event', btf: 1 as never }), 'TypeError', 'options.btf: expected a Btf, got 1');
    expectThrows(() => rb.add(obj.map('rb'), cb, { btf }), 'TypeError', /^options\.btf: expected options\.type with it/);
    expect(rb.stats().size).toBe(256 * 1024);
  });
});

describe('UserRingBuffer with options.btf', () => {
  // The echo fixture drains struct command messages; here JS names their layout by a type
  // only a header of its own has (struct msg), so the lookup can only succeed in options.btf.
  test('messages encoded by a type from another BTF reach the BPF side as they were written', async () => {
    const header = path.join(tmp, 'msg.h');
    fs.writeFileSync(header, 'struct msg { __u32 seq; __u32 op; __u64 arg; char name[16]; };\n');
    const msgBtf = await headerBtf(header, { types: ['struct msg'] });
    const obj = BpfObject.open(fixture('userringbuf_echo'));
    cleanup(() => obj.close());
    await obj.load();
    obj.attach();
    obj.globals.target_ppid = process.pid;
    expectThrows(() => new UserRingBuffer(obj.map('commands'), { type: 'struct msg' }), 'RangeError', /^options\.type: expected a type in the object's BTF .*options\.btf from headerBtf\(\)\), got "struct msg"$/);
    const ring = track(new UserRingBuffer(obj.map('commands'), { type: 'struct msg', btf: msgBtf }));
    const sent = [1, 2, 3].map((seq) => ({ seq, op: seq * 7, arg: BigInt(seq) << 40n, name: `msg-${seq}` }));
    for (const m of sent) ring.send(m);
    const echoes: { cmd: unknown; size: number }[] = [];
    const seen = track(new RingBuffer(obj.map('seen'), (e: { cmd: unknown; size: number }) => echoes.push(e), { type: 'struct echo' }));
    execFileSync('python3', ['-c', 'import os; os.getpgid(0)']);
    seen.consume();
    expect(echoes.map((e) => [e.cmd, e.size])).toEqual(sent.map((m) => [m, 32]));
    expectThrows(() => new UserRingBuffer(obj.map('tiny_commands'), { type: 'struct msg', btf: {} as never }), 'TypeError', 'options.btf: expected a Btf, got an object');
    expectThrows(() => new UserRingBuffer(obj.map('tiny_commands'), { btf: msgBtf }), 'TypeError', /^options\.btf: expected options\.type with it/);
    expectThrows(() => new UserRingBuffer(obj.map('tiny_commands'), { type: 'struct command', btf: msgBtf }), 'RangeError', 'options.type: expected a type in options.btf, got "struct command"');
  });
});

describe('node-libbpf btf', () => {
  test('writes the header\'s types as raw BTF; Btf.fromFile() on it decodes the kernel\'s records', async () => {
    const out = path.join(tmp, 'cli', 'events.btf');
    const r = cli('btf', HEADER, '--type', 'struct event', '--type', 'span_t', '--type', 'union addr', '--type', 'enum phase', '-o', out);
    expect(r.stderr).toBe(`wrote ${out} (${fs.statSync(out).size} bytes, ${btf.typeCount} types)\n`);
    expect(r.status).toBe(0);
    expect(fs.readFileSync(out).equals(fs.readFileSync(btfFile))).toBe(true); // what headerBtf() wrote

    const obj = await load({ rb: 2 });
    const got: ForeignEvent[] = [];
    const rb = track(new RingBuffer<ForeignEvent>(obj.map('rb'), (e) => got.push(e), { type: 'struct event', btf: Btf.fromFile(out) }));
    const pid = await triggerGetpgid(1);
    await until(() => got.length === 2, '2 events');
    expect(got).toEqual([expected(0, pid), expected(1, pid)]);
  }, 60000);

  test('-I and --cflags reach clang', () => {
    fs.mkdirSync(path.join(tmp, 'cli-inc'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'cli-inc', 'len.h'), '#define LEN NLB_LEN\n');
    const header = path.join(tmp, 'cli-flags.h');
    fs.writeFileSync(header, '#include "len.h"\nstruct rec { __u64 ts; char tag[LEN]; };\n#ifndef NLB_SECOND\n#error --cflags lost a flag\n#endif\n');
    const out = path.join(tmp, 'cli-flags.btf');
    const r = cli('btf', header, '--type', 'struct rec', '-I', path.join(tmp, 'cli-inc'), '--cflags', '-DNLB_LEN=5 -DNLB_SECOND', '-o', out);
    expect(r.stderr).toMatch(/^wrote /);
    const rec = Btf.fromFile(out);
    expect(rec.typeName(rec.type('struct rec').members![1].type)).toBe('char[5]');
  }, 60000);

  test("a syntax error: clang's message with the header's file:line, exit status 1", () => {
    const bad = path.join(tmp, 'cli-broken.h');
    fs.writeFileSync(bad, '#define N 4\nstruct event {\n\tint pid;\n\tchar comm[N;\n};\n');
    const r = cli('btf', bad, '--type', 'struct event', '-o', path.join(tmp, 'never.btf'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`node-libbpf: clang failed to compile ${bad}:`);
    expect(r.stderr).toContain(`${bad}:4:13: error: expected ']'`);
    expect(fs.existsSync(path.join(tmp, 'never.btf'))).toBe(false);
  }, 60000);

  test('a type the header does not have, and a missing --type or -o', () => {
    const r = cli('btf', HEADER, '--type', 'struct event', '--type', 'struct exec_event', '-o', path.join(tmp, 'never.btf'));
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`node-libbpf: options.types[1]: expected a type defined in ${HEADER}, got "struct exec_event"\n`);
    const usage = "node-libbpf: usage: btf HEADER.h... --type 'struct event' [--type ...] -o OUT.btf\n";
    expect(cli('btf', HEADER, '-o', path.join(tmp, 'never.btf')).stderr).toBe(usage);
    expect(cli('btf', HEADER, '--type', 'struct event').stderr).toBe(usage);
    expect(cli('btf', '--type', 'struct event', '-o', path.join(tmp, 'never.btf')).stderr).toBe(usage);
    expect(fs.existsSync(path.join(tmp, 'never.btf'))).toBe(false);
  }, 60000);
});
