// Program kinds the development host refuses (fentry, fexit, fmod_ret, lsm, kprobe,
// kretprobe, kprobe.multi, ksyscall): where the kernel matrix declared the kind allowed
// (NODE_LIBBPF_KERNEL_ALLOWS, set by `npm run test:kernels` in its guest kernels), the
// program auto-attaches from its section name and counts one child's getpgid() calls;
// everywhere else the test asserts the exact refusal. Nothing is probed first.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { BpfError, BpfMap, BpfObject } from 'node-libbpf';
import { cleanupAfterEach, expectThrows, fixture, rejection, thrown } from '../support/helpers';
import { GatedKind, kernelAllows, kernelAtLeast } from '../support/kernel';

const GATED = fixture('kernel_gated');
const STRUCT_OPS = fixture('kernel_gated_struct_ops');
const CALLS = 3;

const cleanup = cleanupAfterEach();

interface Child {
  pid: number;
  /** Lets the child call getpgid(its own pid) CALLS times; resolves once it exited. */
  go(): Promise<void>;
}

// getpgid(pid) with pid != 0: unlike getpgid(0), it goes through security_task_getpgid(),
// the LSM hook every program in the fixture watches. The pid is known before the calls.
function gatedChild(): Promise<Child> {
  const code = `import os, sys\nprint('ready', flush=True)\nsys.stdin.readline()\nfor _ in range(${CALLS}): os.getpgid(os.getpid())\n`;
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', code], { stdio: ['pipe', 'pipe', 'ignore'] });
    cleanup(() => child.kill());
    const exited = new Promise<void>((res, rej) => {
      child.on('exit', (c, s) => (c === 0 ? res() : rej(new Error(`child exited with ${c ?? s}`))));
    });
    exited.catch(() => undefined);
    child.on('error', reject);
    child.stdout!.once('data', () =>
      resolve({
        pid: child.pid!,
        go: () => {
          child.stdin!.end('go\n');
          return exited;
        },
      }),
    );
  });
}

/** The fixture with only `program` autoloaded, filtering on `tgid`. */
function openOnly(program: string, tgid: number): BpfObject {
  const obj = BpfObject.open(GATED);
  cleanup(() => obj.close());
  for (const p of obj.programs()) p.autoload = p.name === program;
  obj.globals.target_tgid = tgid;
  return obj;
}

function expectRefusal(e: unknown, code: string, syscall: string, message: RegExp): void {
  expect(e).toBeInstanceOf(BpfError);
  const err = e as BpfError;
  expect(err.code).toBe(code);
  expect(err.syscall).toBe(syscall);
  expect(err.message).toMatch(message);
}

// Trampoline-based kinds: the host refuses the program at load.
const TRAMPOLINES: [GatedKind, string, string][] = [
  ['fentry', 'on_fentry', 'fentry_hits'],
  ['fexit', 'on_fexit', 'fexit_hits'],
  ['fmod_ret', 'on_fmod_ret', 'fmod_ret_hits'],
  ['lsm', 'on_lsm', 'lsm_hits'],
];

describe.each(TRAMPOLINES)('%s', (kind, program, counter) => {
  if (kernelAllows(kind)) {
    test(`attaches from its section and runs on every call`, async () => {
      const child = await gatedChild();
      const obj = openOnly(program, child.pid);
      await obj.load();
      const link = obj.program(program).attach();
      expect(link.fd).toBeGreaterThan(0);
      await child.go();
      expect(obj.globals[counter]).toBe(BigInt(CALLS));
      if (kind === 'fexit') expect(obj.globals.fexit_ret).toBe(0); // the hook's own return value
    });
  } else {
    test(`is refused at load with EPERM`, async () => {
      const obj = openOnly(program, 1);
      const e = await rejection(obj.load());
      expectRefusal(e, 'EPERM', 'bpf_object__load', new RegExp(`prog '${program}': BPF program load failed`));
      expect((e as BpfError).hint).toMatch(new RegExp(`this kernel refuses (BPF )?${kind === 'lsm' ? 'LSM' : kind} programs even for root: kernel lockdown .*an LSM policy`));
    });
  }
});

// Kprobe-based kinds: the program loads everywhere; without kprobes the attach fails.
const KPROBES: [GatedKind, string, string, string][] = [
  ['kprobe', 'on_kprobe', 'kprobe_hits', 'kprobe'],
  ['kprobe', 'on_kretprobe', 'kretprobe_hits', 'kretprobe'],
  ['ksyscall', 'on_ksyscall', 'ksyscall_hits', 'kprobe'],
];

describe.each(KPROBES)('%s (%s)', (kind, program, counter, perfKind) => {
  if (kernelAllows(kind)) {
    test('attaches from its section and runs on every call', async () => {
      const child = await gatedChild();
      const obj = openOnly(program, child.pid);
      await obj.load();
      obj.program(program).attach();
      await child.go();
      expect(obj.globals[counter]).toBe(BigInt(CALLS));
      if (program === 'on_kretprobe') expect(obj.globals.kretprobe_ret).toBe(0n);
      if (program === 'on_ksyscall') expect(obj.globals.ksyscall_pid).toBe(child.pid); // the syscall's argument
    });
  } else {
    test('loads, and attaching fails with ENOENT: no kprobes on this kernel', async () => {
      const obj = openOnly(program, 1);
      await obj.load();
      expect(obj.program(program).fd).toBeGreaterThan(0);
      const e = thrown(() => obj.program(program).attach());
      expectRefusal(e, 'ENOENT', 'bpf_program__attach', new RegExp(`prog '${program}': failed to create ${perfKind} '\\w+\\+0x0' perf event`));
      expect((e as BpfError).hint).toMatch(/CONFIG_KPROBES/);
    });
  }
});

describe('kprobe.multi', () => {
  if (kernelAllows('kprobe_multi')) {
    test('attaches from its section (a function pattern) and runs on every call', async () => {
      const child = await gatedChild();
      const obj = openOnly('on_kprobe_multi', child.pid);
      await obj.load();
      obj.program('on_kprobe_multi').attach();
      await child.go();
      expect(obj.globals.kprobe_multi_hits).toBe(BigInt(CALLS));
    });
  } else if (kernelAtLeast(5, 18)) {
    test('loads, and attaching fails with EOPNOTSUPP: no fprobe on this kernel', async () => {
      const obj = openOnly('on_kprobe_multi', 1);
      await obj.load();
      const e = thrown(() => obj.program('on_kprobe_multi').attach());
      expectRefusal(e, 'EOPNOTSUPP', 'bpf_program__attach', /prog 'on_kprobe_multi': failed to attach/);
      expect((e as BpfError).hint).toMatch(/CONFIG_FPROBE/);
    });
  } else {
    test('before 5.18 (no kprobe_multi links): attaching fails with EINVAL', async () => {
      const obj = openOnly('on_kprobe_multi', 1);
      await obj.load();
      const e = thrown(() => obj.program('on_kprobe_multi').attach());
      expectRefusal(e, 'EINVAL', 'bpf_program__attach', /prog 'on_kprobe_multi': failed to attach/);
      expect((e as BpfError).hint).toMatch(/CONFIG_FPROBE/);
    });
  }
});

describe('struct_ops', () => {
  // A TCP congestion control: its programs load and its struct_ops map is created on the
  // host and in every guest; map.attachStructOps() registers it with the TCP stack.
  const available = (): string[] => fs.readFileSync('/proc/sys/net/ipv4/tcp_available_congestion_control', 'utf8').trim().split(/\s+/);

  test('loads, registers as a congestion control through attachStructOps(), unregisters on destroy()', async () => {
    const obj = BpfObject.open(STRUCT_OPS);
    cleanup(() => obj.close());
    await obj.load();
    expect(obj.map('nlb_ca').type).toBe('struct_ops');
    expect(obj.map('nlb_ca').fd).toBeGreaterThan(0);
    for (const name of ['nlb_ssthresh', 'nlb_undo_cwnd', 'nlb_cong_avoid']) {
      expect(obj.program(name).type).toBe('struct_ops');
      expect(obj.program(name).fd).toBeGreaterThan(0);
    }
    expect(obj.attach()).toEqual([]); // struct_ops programs name no attach target of their own
    expect(available()).not.toContain('nlb_ca');
    const link = obj.map('nlb_ca').attachStructOps();
    expect(available()).toContain('nlb_ca');
    link.destroy();
    expect(available()).not.toContain('nlb_ca');
    // Held by the object like program links: close() unregisters too. (A SEC(".struct_ops")
    // map cannot be registered twice, EBUSY: a second object.)
    const again = BpfObject.open(STRUCT_OPS);
    cleanup(() => again.close());
    await again.load();
    again.map('nlb_ca').attachStructOps();
    expect(available()).toContain('nlb_ca');
    again.close();
    expect(available()).not.toContain('nlb_ca');
  });

  test('attachStructOps() misuse: other map types, not loaded, closed', async () => {
    const obj = BpfObject.open(STRUCT_OPS);
    cleanup(() => obj.close());
    expectThrows(() => obj.map('nlb_ca').attachStructOps(), 'TypeError', 'BpfObject is not loaded');
    await obj.load();
    const hash = BpfMap.create({ type: 'hash', key: 'u32', value: 'u64', maxEntries: 4 });
    cleanup(() => hash.close());
    expectThrows(() => hash.attachStructOps(), 'TypeError', 'attachStructOps: expected a struct_ops map, got "" (a hash map)');
    const map = obj.map('nlb_ca');
    obj.close();
    expectThrows(() => map.attachStructOps(), 'TypeError', 'BpfObject is closed');
  });
});
