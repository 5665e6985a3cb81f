// BpfError / VerifierError fields and messages, errno names, and setLogger (libbpf's
// output delivered on the JS thread).
import * as os from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { BpfError, BpfObject, VerifierError, setLogger } from 'node-libbpf';
import { expectThrows, fixture, loadFixture, openFixture, rejection, thrown } from '../support/helpers';

const BASIC = fixture('basic');

afterEach(() => {
  setLogger(null);
});

describe('BpfError', () => {
  test('fields and message format', () => {
    const e = new BpfError(os.constants.errno.EPERM, 'bpf_prog_load');
    expect(e).toBeInstanceOf(Error);
    expect(e).toBeInstanceOf(BpfError);
    expect(e.name).toBe('BpfError');
    expect(e.code).toBe('EPERM');
    expect(e.errno).toBe(1);
    expect(e.syscall).toBe('bpf_prog_load');
    expect(e.hint).toBeUndefined();
    expect(e.libbpfLog).toEqual([]);
    expect(e.message).toMatch(/^bpf_prog_load: EPERM \([^)]+\)$/);
    expect(e.stack).toContain('errors.test.ts');
  });

  test('detail and hint in the message', () => {
    const e = new BpfError(os.constants.errno.ENOENT, 'bpf_obj_get', 'no pin', { hint: 'mount bpffs', libbpfLog: ['a', 'b'] });
    expect(e.message).toMatch(/^bpf_obj_get: ENOENT \([^)]+\): no pin\. Hint: mount bpffs$/);
    expect(e.hint).toBe('mount bpffs');
    expect(e.libbpfLog).toEqual(['a', 'b']);
  });

  test.each([
    [1, 'EPERM'],
    [2, 'ENOENT'],
    [7, 'E2BIG'],
    [13, 'EACCES'],
    [17, 'EEXIST'],
    [22, 'EINVAL'],
    [28, 'ENOSPC'],
    [95, 'EOPNOTSUPP'], // the name libbpf and the kernel use (glibc's ENOTSUP is the same number)
    [524, 'ENOTSUPP'],
    [4001, 'EFORMAT'],
    [4007, 'EVERIFY'],
  ])('errno %i is named %s', (errno, code) => {
    const e = new BpfError(errno, 'x');
    expect(e.code).toBe(code);
    expect(e.errno).toBe(errno);
    expect(e.message.startsWith(`x: ${code} (`)).toBe(true);
  });

  test('an unknown errno still gets a code', () => {
    const e = new BpfError(9999, 'x');
    expect(e.code).toBe('E9999');
    expect(e.message).toMatch(/^x: E9999 \(/);
  });

  test('from the kernel: a map update with noexist on an existing key', async () => {
    const counts = (await loadFixture(BASIC)).map('counts');
    counts.set(1, 1n);
    const e = thrown(() => counts.set(1, 1n, 'noexist'));
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('EEXIST');
    expect(e.errno).toBe(os.constants.errno.EEXIST);
    expect(typeof e.syscall).toBe('string');
    expect(e.message.startsWith(`${e.syscall}: EEXIST (`)).toBe(true);
    expect(e.hint).toMatch(/noexist/);
    expect(Array.isArray(e.libbpfLog)).toBe(true);
    expect(e.stack).toContain('errors.test.ts');
  });

  test('from libbpf: the lines it printed are attached, without the "libbpf: " prefix', async () => {
    const obj = await loadFixture(BASIC);
    const e = thrown(() => obj.program('count_getpgid').attachTracepoint('nope', 'nope'));
    expect(e).toBeInstanceOf(BpfError);
    expect(e.libbpfLog.length).toBeGreaterThan(0);
    expect(e.libbpfLog.every((l: unknown) => typeof l === 'string' && !l.startsWith('libbpf: '))).toBe(true);
    expect(e.libbpfLog.join('\n')).toContain("tracepoint 'nope/nope'");
    // The message carries libbpf's most specific line, without its trailing errno.
    expect(e.message).toMatch(/^bpf_program__attach_tracepoint: ENOENT \([^)]+\): .*nope\/nope/);
    expect(e.message).not.toMatch(/-ENOENT/);
  });
});

describe('VerifierError', () => {
  test('extends BpfError; constructed directly', () => {
    const log = '0: R1=ctx() R10=fp0\n1: (b7) r0 = 0\ninvalid access\nbad thing\nprocessed 2 insns (limit 1000000)\n';
    const e = new VerifierError(13, 'bpf_object__load', 'prog_x', log);
    expect(e).toBeInstanceOf(BpfError);
    expect(e).toBeInstanceOf(VerifierError);
    expect(e.name).toBe('VerifierError');
    expect(e.program).toBe('prog_x');
    expect(e.log).toBe(log);
    expect(e.code).toBe('EACCES');
    expect(e.message).toContain("program 'prog_x' rejected by the verifier");
    expect(e.message).toContain('invalid access');
    expect(e.message).toContain('bad thing');
    expect(e.message).not.toContain('processed 2 insns');
  });

  test('from the kernel', async () => {
    const obj = openFixture(fixture('verifier_reject'));
    const e = await rejection(obj.load());
    expect(e).toBeInstanceOf(VerifierError);
    expect(e).toBeInstanceOf(BpfError);
    expect(e.program).toBe('out_of_bounds');
    expect(e.log).toMatch(/^0: /m);
    expect(e.log).toContain('invalid access to map value');
    // The log is not duplicated into libbpfLog.
    expect(e.libbpfLog.join('\n').length).toBeLessThan(e.log.length);
  });
});

describe('realms', () => {
  // Under jest each test file runs in its own vm context, while the addon lives in the
  // main one: the wrong-state TypeErrors the addon throws itself must still be
  // `instanceof TypeError` for the caller (BpfError already is: TypeScript makes it).
  test('state errors thrown by the addon are instances of the caller\'s TypeError', async () => {
    const obj = openFixture(BASIC);
    const notLoaded = thrown(() => obj.map('counts').get(1));
    expect(notLoaded.message).toBe('BpfObject is not loaded');
    expect(notLoaded).toBeInstanceOf(TypeError);
    const first = obj.load();
    const loading = await rejection(obj.load());
    await first;
    expect(loading.message).toBe('BpfObject is loading');
    expect(loading).toBeInstanceOf(TypeError);
  });
});

describe('setLogger', () => {
  test('receives libbpf lines with level strings, on the JS thread, during the call', async () => {
    const obj = await loadFixture(BASIC);
    const got: { level: string; message: string; main: boolean }[] = [];
    setLogger((level, message) => got.push({ level, message, main: isMainThread }));
    const e = thrown(() => obj.program('count_getpgid').attachTracepoint('nope', 'nope'));
    expect(e).toBeInstanceOf(BpfError);
    // Delivered before the throw reached us.
    expect(got.length).toBeGreaterThan(0);
    expect(got.every((l) => l.level === 'warn' && l.main)).toBe(true);
    expect(got.map((l) => l.message).join('\n')).toContain("tracepoint 'nope/nope'");
    expect(got.every((l) => !l.message.startsWith('libbpf: '))).toBe(true);
    // The same lines as on the error.
    expect(got.map((l) => l.message)).toEqual(e.libbpfLog);
  });

  test('lines of an async load arrive on the JS thread before load() resolves', async () => {
    const got: { level: string; message: string }[] = [];
    let resolved = false;
    setLogger((level, message) => {
      expect(resolved).toBe(false);
      got.push({ level, message });
    }, { level: 'debug' });
    const obj = openFixture(BASIC);
    const openLines = got.length;
    expect(openLines).toBeGreaterThan(0); // openFixture(BASIC) prints at debug level
    await obj.load().then(() => {
      resolved = true;
    });
    expect(got.length).toBeGreaterThan(openLines);
    const levels = new Set(got.map((l) => l.level));
    expect([...levels].every((l) => ['warn', 'info', 'debug'].includes(l))).toBe(true);
    expect(levels.has('debug')).toBe(true);
    expect(got.some((l) => l.message.includes('count_getpgid'))).toBe(true);
  });

  test('the level option filters', async () => {
    const got: string[] = [];
    setLogger((level) => got.push(level), { level: 'warn' });
    const obj = await loadFixture(BASIC);
    expect(got).toEqual([]); // a clean load prints nothing at warn level
    expect(() => obj.program('count_getpgid').attachTracepoint('nope', 'nope')).toThrow(BpfError);
    expect(got.length).toBeGreaterThan(0);
    expect(got.every((l) => l === 'warn')).toBe(true);
  });

  test('setLogger(null) stops delivery; errors still carry their lines', async () => {
    const obj = await loadFixture(BASIC);
    const got: string[] = [];
    setLogger((_level, message) => got.push(message));
    expect(() => obj.program('count_getpgid').attachTracepoint('nope', 'nope')).toThrow(BpfError);
    const n = got.length;
    expect(n).toBeGreaterThan(0);
    setLogger(null);
    const e = thrown(() => obj.program('count_getpgid').attachTracepoint('nope', 'nope'));
    expect(got.length).toBe(n);
    expect(e.libbpfLog.length).toBeGreaterThan(0);
  });

  test('a non-function logger -> TypeError; a bad level -> RangeError (the argument message template)', () => {
    expectThrows(() => setLogger('x' as any), 'TypeError', 'logger: expected a function, null or undefined, got "x"');
    expectThrows(() => setLogger(() => undefined, { level: 'loud' as any }), 'RangeError', `options.level: expected 'warn', 'info' or 'debug', got "loud"`);
  });

  test('a logger that throws breaks neither a failing nor a succeeding call', async () => {
    let calls = 0;
    setLogger(() => {
      calls++;
      throw new Error('logger boom');
    }, { level: 'debug' });
    // Succeeding calls: open and load print at debug level.
    const obj = openFixture(BASIC);
    await expect(obj.load()).resolves.toBeUndefined();
    expect(calls).toBeGreaterThan(0);
    const link = obj.program('count_getpgid').attachTracepoint('syscalls', 'sys_enter_getpgid');
    expect(link.fd).toBeGreaterThan(0);
    // A failing call still throws its BpfError, not the logger's error.
    const before = calls;
    const e = thrown(() => obj.program('count_getpgid').attachTracepoint('nope', 'nope'));
    expect(calls).toBeGreaterThan(before);
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('ENOENT');
    // And a failing load.
    const bad = openFixture(fixture('verifier_reject'));
    await expect(bad.load()).rejects.toBeInstanceOf(VerifierError);
  });
});
