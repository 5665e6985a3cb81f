// BpfObject: open (path, Buffer, options), programs and maps, load, attach, close, and
// every error the contract names, against the real kernel.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BpfError, BpfMap, BpfObject, Link, Program, VerifierError } from 'node-libbpf';
import {
  expectError,
  expectRejects,
  expectThrows,
  fdCount,
  fdInfo,
  fixture,
  loadFixture,
  openFixture,
  rejection,
  spawnGatedGetpgid,
  thrown,
  triggerGetpgid,
} from '../support/helpers';

const BASIC = fixture('basic');
const RELOC = fixture('core_reloc');
const REJECT = fixture('verifier_reject');
const KCONFIG = 'CONFIG_NLB_TEST_FLAG=y\nCONFIG_NLB_TEST_NUM=42';

const BASIC_MAPS = ['counts', 'signed_array', 'by_name', 'flags64', 'per_cpu', 'modes', 'untyped'];

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nlb-object-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// Objects a test forgot to close (or that failed mid-way) are closed after it.

describe('open', () => {
  test('from a path: programs and maps as in the ELF file, not loaded', () => {
    const obj = openFixture(BASIC);
    expect(obj).toBeInstanceOf(BpfObject);
    expect(obj.name).toBe('basic');
    expect(obj.loaded).toBe(false);
    expect(obj.closed).toBe(false);
    expect(obj.programs().map((p) => p.name)).toEqual(['count_getpgid', 'raw_any']);
    const maps = obj.maps().map((m) => m.name);
    expect(maps.slice(0, BASIC_MAPS.length)).toEqual(BASIC_MAPS);
    expect([...maps.slice(BASIC_MAPS.length)].sort()).toEqual(['basic.bss', 'basic.data', 'basic.rodata']);
  });

  test('from a Buffer, with the name option naming the object and its internal maps', async () => {
    const bytes = fs.readFileSync(BASIC);
    const obj = openFixture(bytes, { name: 'frombuf' });
    expect(obj.name).toBe('frombuf');
    expect(obj.maps().map((m) => m.name)).toEqual(expect.arrayContaining(['counts', 'frombuf.rodata', 'frombuf.data', 'frombuf.bss']));
    await obj.load();
    expect(obj.loaded).toBe(true);
    expect(obj.program('count_getpgid').fd).toBeGreaterThan(0);
  });

  test('from a Uint8Array that is not a Buffer', async () => {
    const bytes = new Uint8Array(fs.readFileSync(BASIC));
    const obj = openFixture(bytes);
    await obj.load();
    expect(obj.map('counts').fd).toBeGreaterThan(0);
  });

  test('pinRoot is accepted and load works with it', async () => {
    const obj = openFixture(BASIC, { pinRoot: '/sys/fs/bpf' });
    await obj.load();
    expect(obj.loaded).toBe(true);
    // basic.bpf.c pins nothing by name: nothing appears there.
    expect(fs.existsSync('/sys/fs/bpf/counts')).toBe(false);
  });

  test.each([
    ['string', KCONFIG],
    ['object', { CONFIG_NLB_TEST_FLAG: true, CONFIG_NLB_TEST_NUM: 42 }],
  ])('kconfig (%s form) resolves the extern CONFIG_* variables', async (_form, kconfig) => {
    const obj = openFixture(RELOC, { kconfig });
    await obj.load();
    // The .kconfig map holds the resolved values...
    expect(obj.map('.kconfig').get(0)).toEqual({ CONFIG_NLB_TEST_FLAG: true, CONFIG_NLB_TEST_NUM: 42 });
    // ...and the program sees them.
    obj.attach();
    const pid = await triggerGetpgid(1);
    expect(obj.globals.seen_flag).toBe(true);
    expect(obj.globals.seen_num).toBe(42);
    expect(obj.globals.seen_tgid).toBeGreaterThan(0);
    expect(pid).toBeGreaterThan(0);
  });

  test('kconfig object form: false -> n, negative numbers', async () => {
    const obj = openFixture(RELOC, { kconfig: { CONFIG_NLB_TEST_FLAG: false, CONFIG_NLB_TEST_NUM: -3 } });
    await obj.load();
    expect(obj.map('.kconfig').get(0)).toEqual({ CONFIG_NLB_TEST_FLAG: false, CONFIG_NLB_TEST_NUM: -3 });
  });

  test('without kconfig, a strong CONFIG_* extern the kernel does not define fails the load', async () => {
    const obj = openFixture(RELOC);
    const e = await rejection(obj.load());
    expect(e).toBeInstanceOf(BpfError);
    expect(e.syscall).toBe('bpf_object__load');
    expect(e.message).toMatch(/CONFIG_NLB_TEST_(NUM|FLAG)/);
  });

  test('kconfig with a bad value type -> TypeError naming the key', () => {
    expectThrows(() => BpfObject.open(RELOC, { kconfig: { CONFIG_X: null as any } }), 'TypeError', 'options.kconfig.CONFIG_X: expected a boolean, number or string, got null');
    expectThrows(() => BpfObject.open(RELOC, { kconfig: 5 as any }), 'TypeError', 'options.kconfig: expected a string or an object, got 5');
  });

  test('logLevel: program.verifierLog holds the successful load\'s verifier log', async () => {
    const obj = openFixture(BASIC, { logLevel: 1 });
    await obj.load();
    for (const p of obj.programs()) {
      const log = p.verifierLog;
      expect(typeof log).toBe('string');
      expect(log!.length).toBeGreaterThan(0);
      expect(log).toMatch(/processed \d+ insns/);
    }
  });

  test('logLevel 2: the verbose log has the instructions', async () => {
    const obj = openFixture(BASIC, { logLevel: 2 });
    await obj.load();
    const log = obj.program('count_getpgid').verifierLog!;
    expect(log).toMatch(/^0: /m);
    expect(log).toMatch(/processed \d+ insns/);
  });

  test('without logLevel there is no verifier log', async () => {
    const obj = openFixture(BASIC);
    await obj.load();
    expect(obj.program('count_getpgid').verifierLog).toBeUndefined();
  });

  test('btfCustomPath: a copy of the kernel BTF relocates like the kernel\'s', async () => {
    const copy = path.join(tmp, 'vmlinux.btf');
    fs.copyFileSync('/sys/kernel/btf/vmlinux', copy);
    const obj = openFixture(RELOC, { btfCustomPath: copy, kconfig: KCONFIG });
    const child = await spawnGatedGetpgid(1);
    obj.globals.target_tgid = child.pid;
    await obj.load();
    obj.attach();
    await child.go();
    // tgid read through CO-RE relocations computed from the custom BTF: the right field.
    expect(obj.globals.seen_tgid).toBe(child.pid);
  });

  test('btfCustomPath: a garbage file fails with a BpfError', async () => {
    const garbage = path.join(tmp, 'garbage.btf');
    fs.writeFileSync(garbage, Buffer.alloc(4096, 0x41));
    let e: any;
    try {
      const obj = openFixture(RELOC, { btfCustomPath: garbage, kconfig: KCONFIG });
      await obj.load();
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(BpfError);
    expect(e).not.toBeInstanceOf(VerifierError);
    expect(typeof e.code).toBe('string');
    expect(e.code).toMatch(/^E[A-Z0-9]+$/);
    expect(e.libbpfLog.join('\n')).toMatch(/BTF/);
  });

  test('btfCustomPath: a missing file fails with ENOENT', async () => {
    const obj = openFixture(RELOC, { btfCustomPath: path.join(tmp, 'does-not-exist.btf'), kconfig: KCONFIG });
    const e = await rejection(obj.load());
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('ENOENT');
    expect(e.errno).toBe(os.constants.errno.ENOENT);
  });
});

describe('bad arguments', () => {
  test('source of the wrong type', () => {
    expectThrows(() => BpfObject.open(123 as any), 'TypeError', 'source: expected a path or a Buffer with an ELF object, got 123');
    expectThrows(() => BpfObject.open(null as any), 'TypeError', 'source: expected a path or a Buffer with an ELF object, got null');
    expectThrows(() => BpfObject.open({} as any), 'TypeError', /^source: expected .*, got an object$/);
  });

  test('empty path', () => {
    const e = thrown(() => BpfObject.open(''));
    expectError(e, 'TypeError', 'source: expected a path or a Buffer with an ELF object, got ""');
  });

  test('empty Buffer', () => {
    const e = thrown(() => BpfObject.open(Buffer.alloc(0)));
    expectError(e, 'RangeError', 'source: expected a non-empty Buffer, got a Buffer of 0 bytes');
  });

  test('unknown option', () => {
    const e = thrown(() => BpfObject.open(BASIC, { bogus: 1 } as any));
    expectError(e, 'TypeError', /^options\.bogus: expected one of the known options \(.*name.*\), got 1$/);
  });

  test('option of the wrong type', () => {
    expectThrows(() => BpfObject.open(BASIC, { name: 5 } as any), 'TypeError', 'options.name: expected a non-empty string, got 5');
    expectThrows(() => BpfObject.open(BASIC, { pinRoot: true } as any), 'TypeError', 'options.pinRoot: expected a non-empty string, got true');
    expectThrows(() => BpfObject.open(BASIC, { btfCustomPath: [] } as any), 'TypeError', 'options.btfCustomPath: expected a non-empty string, got an array of length 0');
    expectThrows(() => BpfObject.open(BASIC, 'x' as any), 'TypeError', 'options: expected an options object, got "x"');
  });

  test('logLevel out of range or not an integer', () => {
    expectThrows(() => BpfObject.open(BASIC, { logLevel: 99 }), 'RangeError', 'options.logLevel: expected an integer 0..7, got 99');
    expectThrows(() => BpfObject.open(BASIC, { logLevel: 1.5 }), 'RangeError', 'options.logLevel: expected an integer 0..7, got 1.5');
    expectThrows(() => BpfObject.open(BASIC, { logLevel: '1' as any }), 'TypeError', 'options.logLevel: expected an integer 0..7, got "1"');
  });

  test('argument errors leak no fds', () => {
    const before = fdCount();
    for (let i = 0; i < 20; i++) {
      expect(() => BpfObject.open(BASIC, { bogus: 1 } as any)).toThrow();
    }
    expect(fdCount()).toBe(before);
  });
});

describe('open failures from libbpf', () => {
  function expectOpenMemError(e: any): void {
    expect(e).toBeInstanceOf(BpfError);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('BpfError');
    expect(e.syscall).toBe('bpf_object__open_mem');
    expect(e.message.startsWith(`bpf_object__open_mem: ${e.code} (`)).toBe(true);
    expect(typeof e.errno).toBe('number');
    expect(e.errno).toBeGreaterThan(0);
    expect(Array.isArray(e.libbpfLog)).toBe(true);
    expect(e.libbpfLog.length).toBeGreaterThan(0);
    expect(e.stack).toContain('object.test.ts');
  }

  test('garbage bytes -> BpfError EFORMAT', () => {
    const e = thrown(() => BpfObject.open(Buffer.from('this is not an ELF object, just some text')));
    expectOpenMemError(e);
    expect(e.code).toBe('EFORMAT');
    expect(e.errno).toBe(4001);
    expect(e.hint).toMatch(/clang/);
  });

  test.each([
    ['the first 200 bytes', (b: Buffer) => b.subarray(0, 200)],
    ['the first half', (b: Buffer) => b.subarray(0, Math.floor(b.length / 2))],
  ])('a real ELF object truncated to %s -> BpfError', (_what, cut) => {
    const e = thrown(() => BpfObject.open(cut(fs.readFileSync(BASIC))));
    expectOpenMemError(e);
    expect(['EFORMAT', 'ELIBELF', 'EINVAL']).toContain(e.code);
    expect(e.code).toBe('EFORMAT');
  });

  test('a nonexistent path -> BpfError ENOENT', () => {
    const missing = path.join(tmp, 'nope.bpf.o');
    const e = thrown(() => BpfObject.open(missing));
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('ENOENT');
    expect(e.errno).toBe(os.constants.errno.ENOENT);
    expect(e.syscall).toBe('bpf_object__open_file');
    expect(e.message.startsWith('bpf_object__open_file: ENOENT (')).toBe(true);
    expect(e.message).toContain(missing);
  });

  test('failed opens leak no fds', () => {
    const before = fdCount();
    const bad = fs.readFileSync(BASIC).subarray(0, 200);
    for (let i = 0; i < 20; i++) {
      expect(() => BpfObject.open(bad)).toThrow(BpfError);
      expect(() => BpfObject.open(path.join(tmp, 'nope.bpf.o'))).toThrow(BpfError);
    }
    expect(fdCount()).toBe(before);
  });
});

describe('programs and maps', () => {
  test('programs() and program(name) return the same object every time', () => {
    const obj = openFixture(BASIC);
    const [a, b] = obj.programs();
    expect(a).toBeInstanceOf(Program);
    expect(obj.programs()[0]).toBe(a);
    expect(obj.programs()[1]).toBe(b);
    expect(obj.program('count_getpgid')).toBe(a);
    expect(obj.program('raw_any')).toBe(b);
    expect(obj.programs()).not.toBe(obj.programs()); // a fresh array, same elements
  });

  test('maps() and map(name) return the same object every time; internal maps answer to their section', () => {
    const obj = openFixture(BASIC);
    const counts = obj.map('counts');
    expect(counts).toBeInstanceOf(BpfMap);
    expect(obj.map('counts')).toBe(counts);
    expect(obj.maps()[0]).toBe(counts);
    const rodata = obj.map('basic.rodata');
    expect(obj.map('.rodata')).toBe(rodata);
    expect(rodata.internal).toBe(true);
    expect(obj.map('.data')).toBe(obj.map('basic.data'));
    expect(obj.map('.bss')).toBe(obj.map('basic.bss'));
    expect(counts.internal).toBe(false);
  });

  test('unknown program -> RangeError listing the known ones', () => {
    const obj = openFixture(BASIC);
    const e = thrown(() => obj.program('nope'));
    expectError(e, 'RangeError', 'name: expected one of this object\'s programs (count_getpgid, raw_any), got "nope"');
  });

  test('unknown map -> RangeError listing the known ones', () => {
    const obj = openFixture(BASIC);
    const e = thrown(() => obj.map('nope'));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toMatch(/^name: expected one of this object's maps \(counts, signed_array, .*basic\.rodata.*\), got "nope"$/);
    expectThrows(() => obj.map('.nope'), 'RangeError', /^name: expected one of this object's maps/);
  });

  test('programs and maps keep their identity across load', async () => {
    const obj = openFixture(BASIC);
    const prog = obj.program('count_getpgid');
    const map = obj.map('counts');
    await obj.load();
    expect(obj.program('count_getpgid')).toBe(prog);
    expect(obj.map('counts')).toBe(map);
  });
});

describe('load', () => {
  test('resolves; programs and maps get fds', async () => {
    const obj = openFixture(BASIC);
    await expect(obj.load()).resolves.toBeUndefined();
    expect(obj.loaded).toBe(true);
    for (const p of obj.programs()) expect(p.fd).toBeGreaterThan(0);
    for (const m of obj.maps()) expect(m.fd).toBeGreaterThan(0);
  });

  test('a second load -> TypeError "BpfObject is already loaded"', async () => {
    const obj = openFixture(BASIC);
    await obj.load();
    const e = await rejection(obj.load());
    expectError(e, 'TypeError', 'BpfObject is already loaded');
    expect(obj.loaded).toBe(true);
  });

  test('load while a load is running -> TypeError', async () => {
    const obj = openFixture(BASIC);
    const first = obj.load();
    const e = await rejection(obj.load());
    expectError(e, 'TypeError', 'BpfObject is loading');
    await first;
    expect(obj.loaded).toBe(true);
  });

  test('after a failed load, load again -> TypeError "BpfObject failed to load; open it again"', async () => {
    const obj = openFixture(REJECT);
    await expect(obj.load()).rejects.toBeInstanceOf(VerifierError);
    expect(obj.loaded).toBe(false);
    const e = await rejection(obj.load());
    expectError(e, 'TypeError', 'BpfObject failed to load; open it again');
    obj.close();
    expect(obj.closed).toBe(true);
  });

  test('verifier rejection -> VerifierError with the complete log', async () => {
    const obj = openFixture(REJECT);
    const e = await rejection(obj.load());
    expect(e).toBeInstanceOf(VerifierError);
    expect(e).toBeInstanceOf(BpfError);
    expect(e.name).toBe('VerifierError');
    expect(e.program).toBe('out_of_bounds');
    expect(e.syscall).toBe('bpf_object__load');
    expect(e.code).toBe('EACCES');
    expect(e.errno).toBe(os.constants.errno.EACCES);

    const log: string = e.log;
    expect(typeof log).toBe('string');
    const lines = log.split('\n').filter((l) => l.trim() !== '');
    // The beginning: the first instruction line is instruction 0.
    const firstInsn = lines.find((l) => /^\d+: /.test(l));
    expect(firstInsn).toMatch(/^0: /);
    // The end: the error and the summary.
    expect(log).toContain('invalid access to map value');
    expect(lines[lines.length - 1]).toMatch(/^processed \d+ insns/);
    // The 64 unrolled adds are all in there (a long log, nothing cut out).
    expect(log.split('\n').filter((l) => /^\d+: /.test(l)).length).toBeGreaterThan(64);
    expect(log.length).toBeGreaterThan(4096);

    // The message names the call, the program and the last meaningful lines.
    expect(e.message.startsWith('bpf_object__load: EACCES (')).toBe(true);
    expect(e.message).toContain("'out_of_bounds'");
    expect(e.message).toContain('invalid access to map value');
    expect(e.message).not.toMatch(/processed \d+ insns/);
    // The stack points at the caller of load(), not at libuv.
    expect(e.stack).toContain('object.test.ts');
    expect(e.libbpfLog.some((l: string) => l.includes('out_of_bounds'))).toBe(true);
  });

  test('close() while load() is in flight: load rejects with TypeError, nothing leaks', async () => {
    await (async () => {
      const warm = BpfObject.open(BASIC);
      await warm.load();
      warm.close();
    })();
    const before = fdCount();
    const obj = BpfObject.open(BASIC);
    const pending = obj.load();
    obj.close();
    expect(obj.closed).toBe(true);
    const e = await rejection(pending);
    expectError(e, 'TypeError', 'BpfObject is closed');
    expectThrows(() => obj.programs(), 'TypeError', 'BpfObject is closed');
    obj.close(); // still idempotent
    expect(fdCount()).toBe(before);
  });
});

describe('attach', () => {
  test('attaches the auto-attachable programs only (plain SEC("raw_tp") is skipped)', async () => {
    const obj = openFixture(BASIC);
    await obj.load();
    const links = obj.attach();
    expect(links).toHaveLength(1);
    expect(links[0]).toBeInstanceOf(Link);
    expect(links[0].fd).toBeGreaterThan(0);
    const pid = await triggerGetpgid(3);
    expect(obj.map('counts').get(pid)).toBe(3n);
  });

  test('programs with autoattach = false are skipped', async () => {
    const obj = openFixture(BASIC);
    obj.program('count_getpgid').autoattach = false;
    await obj.load();
    expect(obj.attach()).toEqual([]);
    const pid = await triggerGetpgid(2);
    expect(obj.map('counts').get(pid)).toBeUndefined();
  });

  test('before load -> TypeError "BpfObject is not loaded"', () => {
    const obj = openFixture(BASIC);
    expectThrows(() => obj.attach(), 'TypeError', 'BpfObject is not loaded');
  });
});

describe('close', () => {
  test('is idempotent and unloads', async () => {
    const obj = BpfObject.open(BASIC);
    await obj.load();
    const fd = obj.program('count_getpgid').fd;
    const progId = fdInfo(fd).prog_id;
    expect(Number(progId)).toBeGreaterThan(0);
    obj.close();
    obj.close();
    // The program's fd is closed (or, if the number was reused, no longer this program).
    if (fs.existsSync(`/proc/self/fdinfo/${fd}`)) expect(fdInfo(fd).prog_id).not.toBe(progId);
    expect(obj.closed).toBe(true);
    expect(obj.loaded).toBe(false);
  });

  test('closing destroys the object\'s links', async () => {
    const obj = BpfObject.open(BASIC);
    await obj.load();
    const [link] = obj.attach();
    const counts = obj.map('counts');
    const pid = await triggerGetpgid(1);
    expect(counts.get(pid)).toBe(1n);
    obj.close();
    expect(link.destroyed).toBe(true);
  });

  test('every method and getter afterwards throws TypeError "BpfObject is closed"', async () => {
    const obj = BpfObject.open(BASIC);
    const prog = obj.program('count_getpgid');
    const map = obj.map('counts');
    await obj.load();
    obj.close();
    const closed = 'BpfObject is closed';
    expectThrows(() => obj.name, 'TypeError', closed);
    expectThrows(() => obj.programs(), 'TypeError', closed);
    expectThrows(() => obj.program('count_getpgid'), 'TypeError', closed);
    expectThrows(() => obj.maps(), 'TypeError', closed);
    expectThrows(() => obj.map('counts'), 'TypeError', closed);
    expectThrows(() => obj.globals, 'TypeError', closed);
    expectThrows(() => obj.btf, 'TypeError', closed);
    expectThrows(() => obj.attach(), 'TypeError', closed);
    await expectRejects(obj.load(), 'TypeError', closed);
    // Borrowed views fail the same way.
    expectThrows(() => prog.name, 'TypeError', closed);
    expectThrows(() => prog.fd, 'TypeError', closed);
    expectThrows(() => prog.attach(), 'TypeError', closed);
    expectThrows(() => map.name, 'TypeError', closed);
    expectThrows(() => map.fd, 'TypeError', closed);
    expectThrows(() => map.get(1), 'TypeError', closed);
    // The state getters still answer.
    expect(obj.closed).toBe(true);
    expect(obj.loaded).toBe(false);
  });

  test('closing an object that was never loaded', () => {
    const obj = BpfObject.open(BASIC);
    obj.close();
    expectThrows(() => obj.programs(), 'TypeError', 'BpfObject is closed');
  });

  test('[Symbol.dispose] closes', async () => {
    const obj = BpfObject.open(BASIC);
    await obj.load();
    obj[Symbol.dispose]();
    expect(obj.closed).toBe(true);
    expectThrows(() => obj.maps(), 'TypeError', 'BpfObject is closed');
  });

  test('`using` closes at the end of the block', async () => {
    let escaped: BpfObject;
    {
      using obj = BpfObject.open(BASIC);
      await obj.load();
      escaped = obj;
      expect(escaped.closed).toBe(false);
    }
    expect(escaped.closed).toBe(true);
  });
});
