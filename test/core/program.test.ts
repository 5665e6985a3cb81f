// Program: metadata, autoload, fd, attach (auto and explicit), pinning, and receivers.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { BpfError, BpfObject, Link, Program } from 'node-libbpf';
import {
  bpffsPath,
  expectError,
  expectThrows,
  fdInfo,
  fixture,
  loadFixture,
  openFixture,
  removeBpffs,
  thrown,
  triggerGetpgid,
} from '../support/helpers';
import { kernelAtLeast } from '../support/kernel';

const BASIC = fixture('basic');

const pins: string[] = [];
afterEach(() => {
  for (const p of pins.splice(0)) removeBpffs(p);
});

describe('metadata', () => {
  test('name, sectionName, type', () => {
    const obj = openFixture(BASIC);
    const tp = obj.program('count_getpgid');
    const raw = obj.program('raw_any');
    expect(tp).toBeInstanceOf(Program);
    expect(tp.name).toBe('count_getpgid');
    expect(tp.sectionName).toBe('tp/syscalls/sys_enter_getpgid');
    expect(tp.type).toBe('tracepoint');
    expect(raw.name).toBe('raw_any');
    expect(raw.sectionName).toBe('raw_tp');
    expect(raw.type).toBe('raw_tracepoint');
  });

  test('expectedAttachType: none for tracepoint and raw_tp programs', () => {
    // Their sections set no expected attach type (0). 0 is also BPF_CGROUP_INET_INGRESS,
    // which must not be reported for programs that are not cgroup programs.
    const obj = openFixture(BASIC);
    expect(obj.program('count_getpgid').expectedAttachType).toBeUndefined();
    expect(obj.program('raw_any').expectedAttachType).toBeUndefined();
  });

  test('instructionCount is positive, before and after load', async () => {
    const obj = openFixture(BASIC);
    const tp = obj.program('count_getpgid');
    const before = tp.instructionCount;
    expect(before).toBeGreaterThan(10);
    expect(obj.program('raw_any').instructionCount).toBe(2); // r0 = 0; exit
    await obj.load();
    expect(tp.instructionCount).toBeGreaterThan(10);
  });

  test('verifierLog is undefined without logLevel', async () => {
    const obj = await loadFixture(BASIC);
    expect(obj.program('count_getpgid').verifierLog).toBeUndefined();
  });
});

describe('autoload', () => {
  test('defaults to true, settable before load', () => {
    const obj = openFixture(BASIC);
    const raw = obj.program('raw_any');
    expect(raw.autoload).toBe(true);
    raw.autoload = false;
    expect(raw.autoload).toBe(false);
    raw.autoload = true;
    expect(raw.autoload).toBe(true);
  });

  test('autoload = false: the program is not loaded, the others are', async () => {
    const obj = openFixture(BASIC);
    const raw = obj.program('raw_any');
    raw.autoload = false;
    await obj.load();
    const tp = obj.program('count_getpgid');
    expect(fdInfo(tp.fd).prog_type).toBe('5'); // BPF_PROG_TYPE_TRACEPOINT, loaded
    expect(Number(fdInfo(tp.fd).prog_id)).toBeGreaterThan(0);
    expect(raw.autoload).toBe(false);
    // attach() skips it; explicit attaches refuse.
    expect(obj.attach()).toHaveLength(1);
    expect(() => raw.attachRawTracepoint('sys_enter')).toThrow();
    // It has no fd: reading one is a wrong-state TypeError, not a negative number.
    const e = thrown(() => raw.fd);
    expectError(e, 'TypeError');
  });

  test('setting it after load -> TypeError "BpfObject is already loaded"', async () => {
    const obj = await loadFixture(BASIC);
    expectThrows(
      () => {
        obj.program('raw_any').autoload = false;
      },
      'TypeError',
      'BpfObject is already loaded',
    );
    expect(obj.program('raw_any').autoload).toBe(true);
  });

  test('non-boolean -> TypeError', () => {
    const obj = openFixture(BASIC);
    const raw = obj.program('raw_any');
    for (const v of [1, 'false', null, undefined, {}]) {
      expectThrows(
        () => {
          raw.autoload = v as any;
        },
        'TypeError',
        /^autoload: expected a boolean, got /,
      );
    }
    expect(raw.autoload).toBe(true);
  });

  test('autoattach: non-boolean -> TypeError', () => {
    const obj = openFixture(BASIC);
    expectThrows(
      () => {
        obj.program('count_getpgid').autoattach = 0 as any;
      },
      'TypeError',
      /^autoattach: expected a boolean/,
    );
    expect(obj.program('count_getpgid').autoattach).toBe(true);
  });
});

describe('fd', () => {
  test('before load -> TypeError "BpfObject is not loaded"', () => {
    const obj = openFixture(BASIC);
    expectThrows(() => obj.program('count_getpgid').fd, 'TypeError', 'BpfObject is not loaded');
  });

  test('after load: a BPF program fd of the right type', async () => {
    const obj = await loadFixture(BASIC);
    const info = fdInfo(obj.program('count_getpgid').fd);
    expect(info.prog_type).toBe('5'); // BPF_PROG_TYPE_TRACEPOINT
    expect(fdInfo(obj.program('raw_any').fd).prog_type).toBe('17'); // BPF_PROG_TYPE_RAW_TRACEPOINT
  });
});

// From 5.15 a tracepoint attachment is a BPF link (link_type perf) naming its program;
// newer kernels also show the tracepoint in its fdinfo (6.18 and 7.2 do, 6.12 does not:
// it came with the perf link's show_fdinfo in 6.16). Before 5.15 it is the perf event
// itself, with the program set on it.
function expectTracepointLink(linkFd: number, progFd: number): void {
  if (kernelAtLeast(5, 15)) {
    const info = fdInfo(linkFd);
    expect(info.link_type).toBe('perf');
    expect(info.prog_id).toBe(fdInfo(progFd).prog_id);
    if (kernelAtLeast(6, 16)) expect(info.tp_name).toBe('sys_enter_getpgid');
  } else {
    expect(fs.readlinkSync(`/proc/self/fd/${linkFd}`)).toBe('anon_inode:[perf_event]');
  }
}

describe('attach', () => {
  test('attach() on the tracepoint program counts the child\'s getpgid() calls', async () => {
    const obj = await loadFixture(BASIC);
    const link = obj.program('count_getpgid').attach();
    expect(link).toBeInstanceOf(Link);
    expectTracepointLink(link.fd, obj.program('count_getpgid').fd);
    const pid = await triggerGetpgid(5);
    expect(obj.map('counts').get(pid)).toBe(5n);
    const pid2 = await triggerGetpgid(2);
    expect(obj.map('counts').get(pid2)).toBe(2n);
  });

  test('attach() on a plain SEC("raw_tp") program -> BpfError EOPNOTSUPP with a hint', async () => {
    const obj = await loadFixture(BASIC);
    const e = thrown(() => obj.program('raw_any').attach());
    expect(e).toBeInstanceOf(BpfError);
    expect(e.errno).toBe(os.constants.errno.EOPNOTSUPP);
    expect(e.code).toBe('EOPNOTSUPP');
    expect(e.syscall).toBe('bpf_program__attach');
    expect(e.message).toContain("'raw_tp'");
    expect(e.hint).toMatch(/attachRawTracepoint/);
  });

  test('attach() before load -> TypeError "BpfObject is not loaded"', () => {
    const obj = openFixture(BASIC);
    expectThrows(() => obj.program('count_getpgid').attach(), 'TypeError', 'BpfObject is not loaded');
  });

  test('attachTracepoint(category, name)', async () => {
    const obj = await loadFixture(BASIC);
    const link = obj.program('count_getpgid').attachTracepoint('syscalls', 'sys_enter_getpgid');
    expect(link).toBeInstanceOf(Link);
    expectTracepointLink(link.fd, obj.program('count_getpgid').fd);
    const pid = await triggerGetpgid(4);
    expect(obj.map('counts').get(pid)).toBe(4n);
  });

  test('attachTracepoint to a tracepoint that does not exist -> BpfError ENOENT', async () => {
    const obj = await loadFixture(BASIC);
    const e = thrown(() => obj.program('count_getpgid').attachTracepoint('nope', 'nope'));
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('ENOENT');
    expect(e.errno).toBe(os.constants.errno.ENOENT);
    expect(e.syscall).toBe('bpf_program__attach_tracepoint');
    expect(e.message).toContain('nope/nope');
    expect(e.hint).toMatch(/tracefs/);
    expect(e.libbpfLog.some((l: string) => l.includes('nope/nope'))).toBe(true);
  });

  test('attachRawTracepoint(name)', async () => {
    const obj = await loadFixture(BASIC);
    const raw = obj.program('raw_any');
    const link = raw.attachRawTracepoint('sys_enter');
    expect(link).toBeInstanceOf(Link);
    const info = fdInfo(link.fd);
    expect(info.link_type).toBe('raw_tracepoint');
    expect(info.tp_name).toBe('sys_enter');
    expect(info.prog_id).toBe(fdInfo(raw.fd).prog_id);
  });

  test('attachRawTracepoint to a tracepoint that does not exist -> BpfError', async () => {
    const obj = await loadFixture(BASIC);
    const e = thrown(() => obj.program('raw_any').attachRawTracepoint('no_such_tracepoint_nlb'));
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('ENOENT');
    expect(e.syscall).toBe('bpf_program__attach_raw_tracepoint');
  });

  test('argument type errors', async () => {
    const obj = await loadFixture(BASIC);
    const tp = obj.program('count_getpgid');
    const raw = obj.program('raw_any');
    expectThrows(() => tp.attachTracepoint(1 as any, 'x'), 'TypeError', 'category: expected a non-empty string, got 1');
    expectThrows(() => tp.attachTracepoint('syscalls', '' as any), 'TypeError', 'name: expected a non-empty string, got ""');
    expectThrows(() => (tp as any).attachTracepoint('syscalls'), 'TypeError', 'name: expected a non-empty string, got undefined');
    expectThrows(() => tp.attachTracepoint('sys\0calls', 'x'), 'RangeError', /^category: expected a string without NUL characters/);
    expectThrows(() => (raw as any).attachRawTracepoint(), 'TypeError', 'name: expected a non-empty string, got undefined');
    expectThrows(() => raw.attachRawTracepoint({} as any), 'TypeError', 'name: expected a non-empty string, got an object');
    expectThrows(() => tp.pin(5 as any), 'TypeError', 'path: expected a non-empty string, got 5');
    expectThrows(() => tp.unpin(null as any), 'TypeError', 'path: expected a non-empty string, got null');
  });
});

describe('pin', () => {
  test('pin(path) creates the bpffs file; unpin(path) removes it', async () => {
    const obj = await loadFixture(BASIC);
    const tp = obj.program('count_getpgid');
    const p = bpffsPath('prog');
    pins.push(p);
    tp.pin(p);
    expect(fs.existsSync(p)).toBe(true);
    expect(fs.statSync(p).isFile()).toBe(true);
    tp.unpin(p);
    expect(fs.existsSync(p)).toBe(false);
  });

  test('pinned program outlives close()', async () => {
    const obj = await loadFixture(BASIC);
    const p = bpffsPath('prog_close');
    pins.push(p);
    obj.program('raw_any').pin(p);
    obj.close();
    expect(fs.existsSync(p)).toBe(true);
    fs.unlinkSync(p);
  });

  test('pin outside bpffs -> BpfError EINVAL with a hint', async () => {
    const obj = await loadFixture(BASIC);
    const e = thrown(() => obj.program('raw_any').pin(`${os.tmpdir()}/nlb_not_bpffs_${process.pid}`));
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('EINVAL');
    expect(e.syscall).toBe('bpf_program__pin');
    expect(e.hint).toMatch(/bpffs/);
  });

  test('pin over an existing pin -> BpfError EEXIST', async () => {
    const obj = await loadFixture(BASIC);
    const p = bpffsPath('prog_twice');
    pins.push(p);
    obj.program('raw_any').pin(p);
    const e = thrown(() => obj.program('count_getpgid').pin(p));
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('EEXIST');
    expect(e.hint).toMatch(/already pinned/);
  });

  test('pin before load -> TypeError "BpfObject is not loaded"', () => {
    const obj = openFixture(BASIC);
    expectThrows(() => obj.program('raw_any').pin(bpffsPath('never')), 'TypeError', 'BpfObject is not loaded');
  });
});

describe('receivers and construction', () => {
  test('methods and getters called on a foreign object throw TypeError', () => {
    expectThrows(() => Program.prototype.attach.call({}), 'TypeError');
    expectThrows(() => Object.getOwnPropertyDescriptor(Program.prototype, 'name')!.get!.call({}), 'TypeError');
    expectThrows(() => Object.getOwnPropertyDescriptor(Program.prototype, 'fd')!.get!.call({}), 'TypeError');
    expectThrows(() => Program.prototype.attachTracepoint.call(null as any, 'a', 'b'), 'TypeError');
  });

  test('a method borrowed onto another library object throws TypeError', async () => {
    const obj = await loadFixture(BASIC);
    expectThrows(() => Program.prototype.attach.call(obj.map('counts') as any), 'TypeError');
  });

  test('new Program() throws TypeError', () => {
    expectThrows(() => new (Program as any)(), 'TypeError', /^Illegal constructor/);
    expectThrows(() => new (Program as any)(Symbol('node-libbpf internal'), {}, {}), 'TypeError', /^Illegal constructor/);
  });
});
