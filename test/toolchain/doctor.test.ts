// Feature probes and `node-libbpf doctor`, checked against facts this test reads itself
// (kernel config, /proc, /sys) and against what the kernel does when asked directly.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { BpfObject, FEATURE_REQUIREMENTS, probe } from 'node-libbpf';
import { doctor, formatDoctor } from 'node-libbpf/toolchain';
import { hintFor } from '../../src/ts/errors/hints';
import { fixture, root } from '../support/helpers';
import { kernelAllows, kernelAtLeast } from '../support/kernel';

const CLI = path.join(root, 'dist', 'cli', 'main.js');

function config(): Record<string, string> {
  let text: string;
  try {
    text = zlib.gunzipSync(fs.readFileSync('/proc/config.gz')).toString();
  } catch {
    text = fs.readFileSync(`/boot/config-${os.release()}`, 'utf8');
  }
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/^CONFIG_(\w+)=(.*)$/gm)) out[m[1]] = m[2].replace(/^"(.*)"$/, '$1');
  for (const m of text.matchAll(/^# CONFIG_(\w+) is not set$/gm)) out[m[1]] = 'n';
  return out;
}

const CFG = config();

describe('probe', () => {
  test('programType / mapType / helper: what the kernel has', () => {
    expect(probe.programType('xdp')).toEqual({ supported: true });
    expect(probe.programType('tracepoint')).toEqual({ supported: true });
    expect(probe.mapType('ringbuf')).toEqual({ supported: true });
    expect(probe.mapType('hash')).toEqual({ supported: true });
    expect(probe.helper('kprobe', 'bpf_get_current_pid_tgid')).toEqual({ supported: true });
    expect(probe.helper('tracepoint', 'ktime_get_ns')).toEqual({ supported: true });
    // kprobe programs have no socket buffer: the kernel refuses the skb helper there
    expect(probe.helper('kprobe', 'bpf_skb_load_bytes')).toEqual({ supported: false, reason: 'bpf_skb_load_bytes is not available to kprobe programs on this kernel' });
    expect(probe.helper('sched_cls', 'bpf_skb_load_bytes')).toEqual({ supported: true });
  });

  test('bad names are RangeErrors listing what is known; wrong types are TypeErrors', () => {
    expect(() => probe.programType('nope')).toThrow(RangeError);
    expect(() => probe.programType('nope')).toThrow(/name: expected a program type libbpf knows \(socket_filter, kprobe/);
    expect(() => probe.mapType('nope')).toThrow(/name: expected a map type libbpf knows/);
    expect(() => probe.helper('xdp', 'nope')).toThrow(/helper: expected a helper libbpf knows/);
    expect(() => probe.attach('nope' as any)).toThrow(new RangeError(`kind: expected one of ${probe.attachKinds.join(', ')}, got "nope"`));
    expect(() => probe.programType(5 as any)).toThrow(TypeError);
  });

  test('attach kinds this kernel allows load and attach', () => {
    for (const kind of ['socket_filter', 'tracepoint', 'raw_tp', 'tp_btf', 'iter', 'uprobe', 'perf_event', 'xdp', 'tcx', 'cgroup', 'sk_lookup', 'syscall', 'ringbuf'] as const) {
      expect([kind, probe.attach(kind)]).toEqual([kind, { supported: true }]);
    }
    if (CFG.NETFILTER_BPF_LINK === 'y') expect(probe.attach('netfilter')).toEqual({ supported: true });
  });

  test('fentry/fexit/fmod_ret/lsm: supported where the kernel allows them, else the refusal a real object gets', async () => {
    for (const kind of ['fentry', 'fexit', 'fmod_ret', 'lsm'] as const) {
      const r = probe.attach(kind);
      if (kernelAllows(kind)) expect([kind, r]).toEqual([kind, { supported: true }]);
      else expect(r).toMatchObject({ supported: false, code: 'EPERM', errno: 1, reason: 'EPERM at load (lockdown or LSM policy)', needs: FEATURE_REQUIREMENTS[kind] });
    }
  });

  test('kprobe: supported where the kernel allows it, else refused with the reason its config gives', () => {
    if (kernelAllows('kprobe')) {
      expect(probe.attach('kprobe')).toEqual({ supported: true });
      return;
    }
    const r = probe.attach('kprobe');
    expect(r).toMatchObject({ supported: false, needs: FEATURE_REQUIREMENTS.kprobe });
    if (CFG.KPROBES !== 'y') {
      expect(fs.existsSync('/sys/bus/event_source/devices/kprobe')).toBe(false);
      expect(r.reason).toBe('no kprobe support (CONFIG_KPROBES off)');
    }
    const multi = probe.attach('kprobe_multi');
    if (kernelAllows('kprobe_multi')) expect(multi).toEqual({ supported: true });
    else expect([multi.supported, multi.reason]).toEqual([false, expect.stringMatching(/^(E[A-Z]+ at (load|attach) \(|no kprobe support)/)]);
  });

  test('probes leave nothing behind: no fds, no cgroups, the same network namespace', () => {
    const fds = fs.readdirSync('/proc/self/fd').length;
    const netns = fs.readlinkSync('/proc/thread-self/ns/net');
    for (const kind of probe.attachKinds) probe.attach(kind);
    expect(fs.readdirSync('/proc/self/fd').length).toBe(fds);
    expect(fs.readlinkSync('/proc/thread-self/ns/net')).toBe(netns);
    const cg2 = fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')).find((f) => f[2] === 'cgroup2')?.[1];
    if (cg2) expect(fs.readdirSync(cg2).filter((n) => n.startsWith('nlb-probe-'))).toEqual([]);
  });
});

describe('"not supported" errors name what brings the feature', () => {
  test('hintFor adds the kernel version or config for the feature in the message', () => {
    expect(hintFor('EOPNOTSUPP', 'bpf_link_create', "prog 'p': failed to attach kprobe.multi")).toBe(
      `not supported by this kernel, or by this program type or section: kprobe_multi needs ${FEATURE_REQUIREMENTS.kprobe_multi}`,
    );
    expect(hintFor('EOPNOTSUPP', 'bpf_map_create', 'nothing known')).toBe('not supported by this kernel, or by this program type or section');
  });

  test('a real fentry object loads where the probe says fentry works, and fails with the code it names elsewhere', async () => {
    const src = path.join(os.tmpdir(), `nlb-fentry-${process.pid}.bpf.c`);
    const obj = path.join(os.tmpdir(), `nlb-fentry-${process.pid}.bpf.o`);
    fs.writeFileSync(src, '#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\nchar LICENSE[] SEC("license") = "GPL";\nSEC("fentry/do_nanosleep") int f(void *ctx) { return 0; }\n');
    try {
      const { build } = await import('node-libbpf/toolchain');
      await build(src, { output: obj });
      const o = BpfObject.open(obj);
      try {
        const verdict = probe.attach('fentry');
        if (verdict.supported) await o.load();
        else await expect(o.load()).rejects.toMatchObject({ code: verdict.code });
      } finally {
        o.close();
      }
    } finally {
      fs.rmSync(src, { force: true });
      fs.rmSync(obj, { force: true });
    }
  }, 60000);
});

describe('doctor', () => {
  let report: ReturnType<typeof doctor>;
  beforeAll(() => {
    report = doctor();
  });

  test('facts match what /proc and /sys say', () => {
    expect(report.kernel.release).toBe(os.release());
    for (const key of ['BPF_SYSCALL', 'DEBUG_INFO_BTF', 'KPROBES', 'BPF_LSM', 'BPF_JIT']) expect([key, report.config.values[key]]).toEqual([key, CFG[key]]);
    expect(report.btf).toEqual({ vmlinux: true, size: fs.statSync('/sys/kernel/btf/vmlinux').size, modules: fs.readdirSync('/sys/kernel/btf').length - 1 });
    const capEff = BigInt(`0x${/^CapEff:\s*(\w+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]}`);
    expect(report.privileges.capabilities.CAP_BPF).toBe(((capEff >> 39n) & 1n) === 1n);
    expect(report.privileges.capabilities.CAP_SYS_ADMIN).toBe(((capEff >> 21n) & 1n) === 1n);
    expect(report.privileges.uid).toBe(process.getuid!());
    expect(report.unprivilegedBpfDisabled).toBe(Number(fs.readFileSync('/proc/sys/kernel/unprivileged_bpf_disabled', 'utf8')));
    expect(report.jit).toBe(Number(fs.readFileSync('/proc/sys/net/core/bpf_jit_enable', 'utf8')));
    const mounts = fs.readFileSync('/proc/self/mounts', 'utf8');
    expect(report.mounts.bpffs).toBe(/^\S+ (\S+) bpf /m.exec(mounts)?.[1] ?? null);
    expect(report.mounts.tracefs).toBe(/^\S+ (\S+) tracefs /m.exec(mounts)?.[1] ?? null);
    const lockdown = fs.existsSync('/sys/kernel/security/lockdown') ? /\[(\w+)\]/.exec(fs.readFileSync('/sys/kernel/security/lockdown', 'utf8'))![1] : null;
    expect(report.lockdown).toBe(lockdown);
  });

  test('privileges: every effective capability by name, lockdown, unprivileged BPF, tracefs access', () => {
    const capEff = BigInt(`0x${/^CapEff:\s*(\w+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]}`);
    // linux/capability.h: 12 NET_ADMIN, 21 SYS_ADMIN, 38 PERFMON, 39 BPF.
    for (const [name, bit] of [['CAP_NET_ADMIN', 12n], ['CAP_SYS_ADMIN', 21n], ['CAP_PERFMON', 38n], ['CAP_BPF', 39n]] as const) {
      expect([name, report.privileges.effective.includes(name)]).toEqual([name, ((capEff >> bit) & 1n) === 1n]);
    }
    let bits = 0;
    for (let b = 0n; b < 64n; b++) bits += Number((capEff >> b) & 1n);
    expect(report.privileges.effective).toHaveLength(bits);
    const text = formatDoctor(report);
    expect(text).toContain(`             effective: ${report.privileges.effective.join(' ') || 'none'}`);
    const unpriv = Number(fs.readFileSync('/proc/sys/kernel/unprivileged_bpf_disabled', 'utf8'));
    expect(text).toMatch(new RegExp(`^unprivileged_bpf_disabled ${unpriv} \\(unprivileged BPF (allowed|off)`, 'm'));
    expect(text).toContain(`lockdown     ${report.lockdown ?? 'unknown (securityfs not mounted at /sys/kernel/security)'}`);
    if (report.mounts.tracefs !== null) {
      expect(report.mounts.tracefsReadable).toBe(true); // root reads it
      expect(text).toMatch(new RegExp(`^tracefs      ${report.mounts.tracefs}$`, 'm'));
    }
  });

  test('BPF token: the kernel has BPF_TOKEN_CREATE from 6.9, and delegated bpffs mounts are listed', () => {
    expect(report.token.supported).toBe(kernelAtLeast(6, 9));
    const delegated = fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')).filter((f) => f[2] === 'bpf' && /delegate_/.test(f[3]));
    expect(report.token.delegated.map((d) => d.path)).toEqual(delegated.map((f) => f[1]));
    expect(formatDoctor(report)).toMatch(new RegExp(`^BPF token    ${kernelAtLeast(6, 9) ? 'supported \\(BPF_TOKEN_CREATE\\)' : 'not supported \\(Linux 6\\.9\\+\\)'}; delegated bpffs: `, 'm'));
  });

  test('a delegated bpffs mount shows with its delegate_* options', () => {
    if (!kernelAtLeast(6, 9)) return expect(report.token.supported).toBe(false);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlb-doctor-bpffs-'));
    const mounted = spawnSync('mount', ['-t', 'bpf', '-o', 'delegate_cmds=map_create:prog_load,delegate_maps=hash', 'bpf', dir]);
    try {
      expect(mounted.status).toBe(0);
      expect(doctor().token.delegated).toContainEqual({ path: dir, options: { delegate_cmds: 'map_create:prog_load', delegate_maps: 'hash' } });
    } finally {
      spawnSync('umount', [dir]);
      fs.rmdirSync(dir);
    }
  }, 120000);

  test('probe results: what the kernel allows and refuses', () => {
    expect(report.attach.fentry).toEqual(probe.attach('fentry'));
    expect(report.attach.fentry.supported).toBe(kernelAllows('fentry'));
    expect(report.attach.kprobe).toEqual(probe.attach('kprobe'));
    expect(report.attach.kprobe.supported).toBe(kernelAllows('kprobe'));
    expect(report.attach.tracepoint.supported).toBe(true);
    expect(report.programTypes.xdp.supported).toBe(true);
    expect(report.mapTypes.ringbuf.supported).toBe(true);
    expect(Object.keys(report.programTypes)).not.toContain('unspec');
  });

  test('the CLI prints it, and --json the same data; exit 0', () => {
    const text = spawnSync(process.execPath, [CLI, 'doctor'], { encoding: 'utf8' });
    expect(text.status).toBe(0);
    expect(text.stdout).toContain(`kernel       ${os.release()}`);
    const line = (kind: 'fentry' | 'kprobe'): RegExp => {
      const r = report.attach[kind];
      return r.supported ? new RegExp(`^  ok  ${kind}$`, 'm') : new RegExp(`^  no  ${kind}: ${r.reason!.replace(/[()]/g, '\\$&')}`, 'm');
    };
    expect(text.stdout).toMatch(line('fentry'));
    expect(text.stdout).toMatch(line('kprobe'));
    expect(text.stdout).toMatch(/^  ok  tracepoint$/m);
    expect(text.stdout).toContain(`KPROBES=${CFG.KPROBES}`);
    const json = spawnSync(process.execPath, [CLI, 'doctor', '--json'], { encoding: 'utf8' });
    expect(json.status).toBe(0);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.kernel.release).toBe(os.release());
    expect(parsed.attach.kprobe).toEqual(report.attach.kprobe);
    expect(spawnSync(process.execPath, [CLI, 'doctor', '--bogus'], { encoding: 'utf8' }).status).toBe(1);
  }, 60000);

  test('fixture objects still load after every probe ran (nothing left attached)', async () => {
    for (const kind of probe.attachKinds) probe.attach(kind); // whatever ran before, every probe ran now
    const obj = BpfObject.open(fixture('basic'));
    try {
      await obj.load();
    } finally {
      obj.close();
    }
  });
});
