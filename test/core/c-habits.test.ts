// C habits a user porting a libbpf tool brings along (issue 15): `(uid_t)-1` for "no
// filter", setLogger(undefined), struct members without `?? []`, errno texts.
import * as os from 'node:os';
import { BpfError, setLogger, type BtfMember, type BtfType } from 'node-libbpf';
import { openFixture, thrown } from '../support/helpers';

afterEach(() => setLogger(null));

describe('-1 for an unsigned global', () => {
  test('is refused, naming the all-ones value to write instead, and nothing is written', () => {
    const obj = openFixture('basic');
    obj.globals.target_pid = 7;
    const e = thrown(() => (obj.globals.target_pid = -1));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toMatch(/target_pid.*expected an integer 0\.\.4294967295; for C's \(u32\)-1 write 0xffffffff, got -1/);
    expect(obj.globals.target_pid).toBe(7);
    obj.globals.target_pid = 0xffffffff;
    expect(obj.globals.target_pid).toBe(4294967295);
  });

  test('other negatives get the plain range message', () => {
    const obj = openFixture('basic');
    const e = thrown(() => (obj.globals.target_pid = -2));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).not.toContain('0xffffffff');
  });

  test('64-bit and 16-bit fields name their own all-ones value, at any depth', () => {
    const obj = openFixture('tool_style');
    const e64 = thrown(() => (obj.globals.min_duration_ns = -1));
    expect(e64).toBeInstanceOf(RangeError);
    expect(e64.message).toContain("for C's (u64)-1 write 0xffffffffffffffffn");
    const cfg = obj.globals.cfg as { ports: { lo: number; hi: number } };
    const e16 = thrown(() => (obj.globals.cfg = { ...cfg, ports: { lo: -1, hi: 1 } }));
    expect(e16).toBeInstanceOf(RangeError);
    expect(e16.message).toContain("for C's (u16)-1 write 0xffff");
    obj.globals.min_duration_ns = 0xffffffffffffffffn;
    expect(obj.globals.min_duration_ns).toBe(0xffffffffffffffffn);
  });

  test('signed fields still take -1', () => {
    const obj = openFixture('basic');
    obj.globals.ro_s8 = -1;
    expect(obj.globals.ro_s8).toBe(-1);
  });
});

describe('setLogger', () => {
  test('undefined resets like null: no more messages', () => {
    const seen: string[] = [];
    setLogger((_level, message) => seen.push(message), { level: 'debug' });
    openFixture('basic').close();
    expect(seen.length).toBeGreaterThan(0);
    setLogger(undefined);
    seen.length = 0;
    openFixture('basic').close();
    expect(seen).toEqual([]);
  });

  test('anything else is still a TypeError naming null and undefined', () => {
    const e = thrown(() => setLogger(42 as never));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toMatch(/^logger: expected a function, null or undefined, got/);
  });
});

describe('BtfType', () => {
  test('struct and union types always carry members, typed so once kind is checked', () => {
    const btf = openFixture('tool_style').btf!;
    const t: BtfType = btf.type('struct filter_cfg');
    if (t.kind !== 'struct') throw new Error(`expected a struct, got ${t.kind}`);
    const members: BtfMember[] = t.members; // no `!` or `?? []` needed
    expect(members.map((m) => m.name)).toEqual(['pids', 'comm', 'ports', 'enabled']);
    const size: number = t.size;
    expect(size).toBe(40);
  });
});

describe('errno texts', () => {
  test.each([
    [os.constants.errno.EOPNOTSUPP, 'operation not supported'],
    [os.constants.errno.EINVAL, 'invalid argument'],
    [os.constants.errno.ESRCH, 'no such process'],
    [524, 'operation is not supported (kernel-internal ENOTSUPP)'],
    [4007, 'kernel verifier blocks program loading'],
    [4001, 'BPF object format invalid'],
  ])('errno %i reads "%s", lower case like libuv\'s', (errno, text) => {
    expect(new BpfError(errno, 'x').message).toContain(`(${text})`);
  });
});
