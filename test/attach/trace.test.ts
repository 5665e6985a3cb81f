// Kernel tracing attach kinds. tp_btf (also with a placeholder section retargeted by
// setAttachTarget) runs everywhere; fentry/fexit/fmod_ret/lsm, kprobes, kprobe.multi and
// ksyscall run where the kernel matrix runner declared them allowed
// (NODE_LIBBPF_KERNEL_ALLOWS, test/support/kernel.ts) and are otherwise checked for this
// kernel's exact refusal: the errno, the libbpf call and a hint saying why.
import { spawn } from 'node:child_process';
import { BpfError, BpfObject } from 'node-libbpf';
import { cleanupAfterEach, expectThrows, fixture, rejection, thrown } from '../support/helpers';
import { kernelAllows } from '../support/kernel';

const FIXTURE = fixture('trace_kern');
const [S_FENTRY, S_FEXIT, S_FMOD_RET, S_LSM, S_TP_BTF, S_PLACEHOLDER, S_KPROBE, S_KRETPROBE, S_KPROBE_MULTI, S_KSYSCALL] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const SYSCALL_PREFIX = process.arch === 'arm64' ? '__arm64_sys_' : '__x64_sys_';
const NR_GETPGID: Record<string, number> = { x64: 121, arm64: 155 };
const ESRCH = 3;

const cleanup = cleanupAfterEach();

interface Child {
  pid: number;
  /** Runs `calls` getpgid(own pid) calls (and opens /dev/null `opens` times); resolves with what the child saw. */
  go(): Promise<{ pgid: number; errors: Record<string, number> }>;
}

// A python3 child that prints its pid, waits for a line, calls getpgid(its pid) `calls`
// times (counting errnos), opens /dev/null `opens` times, then prints a JSON summary.
function gatedChild(calls: number, opens = 0): Promise<Child> {
  const code = [
    'import os, sys, json',
    "print('ready', flush=True)",
    'sys.stdin.readline()',
    'errors = {}; pgid = -1',
    `for _ in range(${calls}):`,
    '  try: pgid = os.getpgid(os.getpid())',
    '  except OSError as e: errors[str(e.errno)] = errors.get(str(e.errno), 0) + 1',
    `for _ in range(${opens}): os.close(os.open('/dev/null', os.O_RDONLY))`,
    "print(json.dumps({'pgid': pgid, 'errors': errors}), flush=True)",
  ].join('\n');
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', code], { stdio: ['pipe', 'pipe', 'inherit'] });
    cleanup(() => child.kill('SIGKILL'));
    let out = '';
    child.on('error', reject);
    child.stdout.on('data', (d) => (out += d));
    const done = new Promise<{ pgid: number; errors: Record<string, number> }>((res, rej) =>
      child.on('exit', (c) => (c === 0 ? res(JSON.parse(out.split('\n')[1])) : rej(new Error(`child exited ${c}: ${out}`)))),
    );
    done.catch(() => undefined);
    child.stdout.once('data', () => resolve({ pid: child.pid!, go: () => (child.stdin.end('go\n'), done) }));
  });
}

/** The object with only `names` loaded (load() not awaited), for the child's pid. */
function open(names: string[], globals: Record<string, number> = {}): BpfObject {
  const obj = BpfObject.open(FIXTURE);
  cleanup(() => obj.close());
  for (const p of obj.programs()) p.autoload = names.includes(p.name);
  Object.assign(obj.globals, { target_syscall: NR_GETPGID[process.arch] ?? -1, ...globals });
  return obj;
}

const counter = (obj: BpfObject, slot: number): bigint => obj.map<number, bigint>('hits').get(slot)!;
const lastArg = (obj: BpfObject, slot: number): bigint => obj.map<number, bigint>('last_arg').get(slot)!;
const lastCookie = (obj: BpfObject, slot: number): bigint => obj.map<number, bigint>('last_cookie').get(slot)!;

async function expectLoadRefused(obj: BpfObject, program: string, kind: string, since: string): Promise<void> {
  const e = await rejection(obj.load());
  expect(e).toBeInstanceOf(BpfError);
  expect(e.code).toBe('EPERM');
  expect(e.syscall).toBe('bpf_object__load');
  expect(e.program).toBe(program);
  expect(e.hint).toContain(`this kernel refuses ${kind} programs even for root: kernel lockdown`);
  expect(e.hint).toContain(`${kind} needs Linux ${since}+`);
  expect(e.message).toContain(`prog '${program}': BPF program load failed. Hint: this kernel refuses ${kind}`);
}

describe('BTF tracing programs through attach()', () => {
  test('tp_btf: attach() from the section name; the program sees the syscall number and arguments', async () => {
    const child = await gatedChild(5);
    const obj = open(['on_tp_btf'], { target_pid: child.pid });
    await obj.load();
    obj.program('on_tp_btf').attach();
    const seen = await child.go();
    expect(counter(obj, S_TP_BTF)).toBe(5n);
    expect(lastArg(obj, S_TP_BTF)).toBe(BigInt(child.pid)); // getpgid(pid)'s argument
    expect(seen.pgid).toBeGreaterThan(0);
  });

  test('setAttachTarget() retargets a placeholder SEC("tp_btf") before load', async () => {
    const child = await gatedChild(3);
    const obj = open(['on_placeholder'], { target_pid: child.pid });
    obj.program('on_placeholder').setAttachTarget('sys_enter');
    await obj.load();
    const link = obj.program('on_placeholder').attach();
    await child.go();
    expect(counter(obj, S_PLACEHOLDER)).toBe(3n);
    expect(lastArg(obj, S_PLACEHOLDER)).toBe(BigInt(NR_GETPGID[process.arch]));
    link.destroy();
  });

  test('setAttachTarget() misuse: an unknown target names it; after load; bad arguments', async () => {
    const obj = open(['on_placeholder']);
    const prog = obj.program('on_placeholder');
    const e = thrown(() => prog.setAttachTarget('nlb_no_such_tracepoint'));
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('ESRCH');
    expect(e.syscall).toBe('bpf_program__set_attach_target');
    expect(e.message).toContain("prog 'on_placeholder': no attach target 'nlb_no_such_tracepoint' in the kernel's BTF");
    expect(e.hint).toMatch(/tp_btf a tracepoint/);
    expectThrows(() => prog.setAttachTarget(''), 'TypeError', 'func: expected a non-empty string, got ""');
    expectThrows(() => prog.setAttachTarget('sys_enter', { program: 'x' as never }), 'TypeError', 'options.program: expected a loaded Program or a program fd, got "x"');
    expectThrows(() => prog.setAttachTarget('sys_enter', 5 as never), 'TypeError', 'options: expected an options object, got 5');
    prog.setAttachTarget('sys_enter');
    await obj.load();
    expectThrows(() => prog.setAttachTarget('sys_exit'), 'TypeError', 'BpfObject is already loaded');
    // A loaded Program as the target's owner: its BTF is searched (for fentry on BPF / freplace).
    const other = open(['on_placeholder']);
    const t = thrown(() => other.program('on_placeholder').setAttachTarget('nlb_no_such_func', { program: prog }));
    expect(t).toBeInstanceOf(BpfError);
    expect(t.message).toContain(`no attach target 'nlb_no_such_func' in BPF program fd ${prog.fd}'s BTF`);
    other.program('on_placeholder').setAttachTarget('on_placeholder', { program: prog }); // exists there
  });

  test(`fentry on ${SYSCALL_PREFIX}getpgid: ${kernelAllows('fentry') ? 'fires with the syscall argument' : 'this kernel refuses the load (EPERM)'}`, async () => {
    const child = await gatedChild(4);
    const obj = open(['on_fentry'], { target_pid: child.pid });
    obj.program('on_fentry').setAttachTarget(`${SYSCALL_PREFIX}getpgid`);
    if (!kernelAllows('fentry')) return expectLoadRefused(obj, 'on_fentry', 'fentry', '5.5');
    await obj.load();
    obj.program('on_fentry').attach();
    await child.go();
    expect(counter(obj, S_FENTRY)).toBe(4n);
    expect(lastArg(obj, S_FENTRY)).toBe(BigInt(child.pid));
  });

  test(`fexit: ${kernelAllows('fexit') ? 'sees the return value' : 'this kernel refuses the load (EPERM)'}`, async () => {
    const child = await gatedChild(2);
    const obj = open(['on_fexit'], { target_pid: child.pid });
    obj.program('on_fexit').setAttachTarget(`${SYSCALL_PREFIX}getpgid`);
    if (!kernelAllows('fexit')) return expectLoadRefused(obj, 'on_fexit', 'fexit', '5.5');
    await obj.load();
    obj.program('on_fexit').attach();
    const seen = await child.go();
    expect(counter(obj, S_FEXIT)).toBe(2n);
    expect(lastArg(obj, S_FEXIT)).toBe(BigInt(seen.pgid));
  });

  test(`fmod_ret: ${kernelAllows('fmod_ret') ? "changes getpgid()'s result for the target pid" : 'this kernel refuses the load (EPERM)'}`, async () => {
    const child = await gatedChild(3);
    const obj = open(['on_fmod_ret'], { target_pid: child.pid, fmod_ret_value: -ESRCH });
    obj.program('on_fmod_ret').setAttachTarget(`${SYSCALL_PREFIX}getpgid`);
    if (!kernelAllows('fmod_ret')) return expectLoadRefused(obj, 'on_fmod_ret', 'fmod_ret', '5.7');
    await obj.load();
    obj.program('on_fmod_ret').attach();
    const seen = await child.go();
    expect(counter(obj, S_FMOD_RET)).toBe(3n);
    expect(seen.errors).toEqual({ [ESRCH]: 3 }); // every call failed with the value the program returned
  });

  test(`lsm/file_open: ${kernelAllows('lsm') ? "sees the target's opens" : 'this kernel refuses the load (EPERM)'}`, async () => {
    const child = await gatedChild(0, 6);
    const obj = open(['on_lsm_file_open'], { target_pid: child.pid });
    if (!kernelAllows('lsm')) return expectLoadRefused(obj, 'on_lsm_file_open', 'BPF LSM', '5.7');
    await obj.load();
    obj.program('on_lsm_file_open').attach();
    await child.go();
    expect(counter(obj, S_LSM)).toBeGreaterThanOrEqual(6n); // python may open more files on exit
    expect(lastArg(obj, S_LSM) & 3n).toBe(0n); // O_RDONLY
  });
});

describe('kprobes', () => {
  const kprobeHint = /^this kernel has no kprobes: it was built without CONFIG_KPROBES/;

  test(`attachKprobe/kretprobe: ${kernelAllows('kprobe') ? 'fire with the cookie and the return value' : 'no kprobes here (ENOENT at attach)'}`, async () => {
    const child = await gatedChild(3);
    const obj = open(['on_kprobe', 'on_kretprobe'], { target_pid: child.pid });
    await obj.load();
    const func = `${SYSCALL_PREFIX}getpgid`;
    if (!kernelAllows('kprobe')) {
      const e = thrown(() => obj.program('on_kprobe').attachKprobe(func, { cookie: 7n }));
      expect(e).toBeInstanceOf(BpfError);
      expect(e.code).toBe('ENOENT');
      expect(e.syscall).toBe('bpf_program__attach_kprobe_opts');
      expect(e.message).toContain(`prog 'on_kprobe': failed to create kprobe '${func}+0x0' perf event`);
      expect(e.hint).toMatch(kprobeHint);
      expect(e.libbpfLog).toContain(`failed to add legacy kprobe event for '${func}+0x0': -ENOENT`);
      const r = thrown(() => obj.program('on_kretprobe').attachKprobe(func, { retprobe: true }));
      expect([r.code, r.hint]).toEqual(['ENOENT', expect.stringMatching(kprobeHint)]);
      return;
    }
    obj.program('on_kprobe').attachKprobe(func, { cookie: 7n });
    obj.program('on_kretprobe').attachKprobe(func, { retprobe: true, cookie: 8 });
    const seen = await child.go();
    expect(counter(obj, S_KPROBE)).toBe(3n);
    expect(lastCookie(obj, S_KPROBE)).toBe(7n);
    expect(counter(obj, S_KRETPROBE)).toBe(3n);
    expect(lastCookie(obj, S_KRETPROBE)).toBe(8n);
    expect(lastArg(obj, S_KRETPROBE)).toBe(BigInt(seen.pgid));
  });

  test(`attachKprobeMulti: ${kernelAllows('kprobe_multi') ? 'funcs with cookies' : 'EOPNOTSUPP (no CONFIG_FPROBE)'}`, async () => {
    const child = await gatedChild(2);
    const obj = open(['on_kprobe_multi'], { target_pid: child.pid });
    await obj.load();
    const prog = obj.program('on_kprobe_multi');
    if (!kernelAllows('kprobe_multi')) {
      for (const target of [{ pattern: `${SYSCALL_PREFIX}getpgid` }, { funcs: [`${SYSCALL_PREFIX}getpgid`], cookies: [9n] }]) {
        const e = thrown(() => prog.attachKprobeMulti(target));
        expect(e).toBeInstanceOf(BpfError);
        expect(e.code).toBe('EOPNOTSUPP');
        expect(e.syscall).toBe('bpf_program__attach_kprobe_multi_opts');
        expect(e.message).toContain("prog 'on_kprobe_multi': failed to attach");
        expect(e.hint).toBe('kprobe.multi needs Linux 5.18+ built with CONFIG_FPROBE (this kernel lacks it)');
      }
      return;
    }
    prog.attachKprobeMulti({ funcs: [`${SYSCALL_PREFIX}getpgid`], cookies: [9n] });
    await child.go();
    expect(counter(obj, S_KPROBE_MULTI)).toBe(2n);
    expect(lastCookie(obj, S_KPROBE_MULTI)).toBe(9n);
  });

  test(`attachKsyscall: ${kernelAllows('ksyscall') ? 'sees the syscall argument' : 'no kprobes here (ENOENT)'}`, async () => {
    const child = await gatedChild(2);
    const obj = open(['on_ksyscall'], { target_pid: child.pid });
    await obj.load();
    const prog = obj.program('on_ksyscall');
    if (!kernelAllows('ksyscall')) {
      const e = thrown(() => prog.attachKsyscall('getpgid'));
      expect(e).toBeInstanceOf(BpfError);
      expect(e.code).toBe('ENOENT');
      expect(e.syscall).toBe('bpf_program__attach_ksyscall');
      expect(e.message).toMatch(/prog 'on_ksyscall': failed to create kprobe '\w+getpgid\+0x0' perf event/);
      expect(e.hint).toMatch(kprobeHint);
      return;
    }
    prog.attachKsyscall('getpgid', { cookie: 10n });
    await child.go();
    expect(counter(obj, S_KSYSCALL)).toBe(2n);
    expect(lastArg(obj, S_KSYSCALL)).toBe(BigInt(child.pid));
    expect(lastCookie(obj, S_KSYSCALL)).toBe(10n);
  });

  test('misuse: bad arguments, not loaded', async () => {
    const obj = open(['on_kprobe', 'on_kprobe_multi']);
    expectThrows(() => obj.program('on_kprobe').attachKprobe('f'), 'TypeError', 'BpfObject is not loaded');
    await obj.load();
    const k = obj.program('on_kprobe');
    expectThrows(() => k.attachKprobe(''), 'TypeError', 'func: expected a non-empty string, got ""');
    expectThrows(() => k.attachKprobe('f', { offset: -1 }), 'RangeError', 'options.offset: expected an integer 0..2^53-1, got -1');
    expectThrows(() => k.attachKprobe('f', { cookie: 'x' as never }), 'TypeError', 'options.cookie: expected a bigint or a non-negative safe integer, got "x"');
    expectThrows(() => k.attachKprobe('f', { cookie: 1n << 64n }), 'RangeError', 'options.cookie: expected a bigint 0..2^64-1, got 18446744073709551616n');
    const m = obj.program('on_kprobe_multi');
    expectThrows(() => m.attachKprobeMulti([] as never), 'TypeError', 'target: expected { pattern } or { funcs, cookies? }, got an array of length 0');
    expectThrows(() => m.attachKprobeMulti({ pattern: 'a', funcs: ['b'] } as never), 'TypeError', /^target: expected exactly one of pattern and funcs/);
    expectThrows(() => m.attachKprobeMulti({ funcs: [] }), 'TypeError', 'target.funcs: expected a non-empty array of strings, got an array of length 0');
    expectThrows(() => m.attachKprobeMulti({ funcs: ['a'], cookies: [] }), 'RangeError', 'target.cookies: expected 1 cookies (one per target), got an array of length 0');
    expectThrows(() => obj.program('on_ksyscall').attachKsyscall('getpgid'), 'TypeError', 'Program is not loaded (its autoload was off)');
  });
});
