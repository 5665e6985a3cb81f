// Feature probes: what this kernel loads and attaches, each answer with its reason.
// programType/mapType/helper are libbpf's probes; attach(kind) loads a two-instruction
// program of that kind and attaches it the kernel's own way (a BPF link, a perf event, a
// socket option), network kinds inside a private network namespace, then closes it all.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { argRangeError, checkString } from '../base/args';
import { Btf } from '../btf/btf';
import { BpfError } from '../errors/bpf-error';
import { needOfProgramType, permissionHint, type PermissionNeed } from '../errors/capabilities';
import { FEATURE_REQUIREMENTS } from '../errors/requirements';
import { addon, type NativeProbeRecipe } from '../base/native';

/** What a probe found: supported, or why not (and the errno when the kernel said no). */
export interface ProbeResult {
  /** Whether the kernel allowed it. */
  supported: boolean;
  /** One line: "EPERM at load (lockdown or LSM policy)", "no kprobe support (CONFIG_KPROBES off)". */
  reason?: string;
  /** The errno the kernel answered with, when it refused with one. */
  errno?: number;
  /** The errno's name ('EPERM', ...), when there is one. */
  code?: string;
  /** The kernel version or config that brings the feature, where known. */
  needs?: string;
}

/** The attach kinds probe.attach() knows. */
export const ATTACH_KINDS = [
  'socket_filter', 'tracepoint', 'raw_tp', 'tp_btf', 'fentry', 'fexit', 'fmod_ret', 'lsm', 'iter',
  'kprobe', 'kprobe_multi', 'uprobe', 'uprobe_multi', 'perf_event', 'xdp', 'tcx', 'cgroup',
  'netfilter', 'sk_lookup', 'struct_ops', 'syscall', 'ringbuf',
] as const;
/** A kind `probe.attach()` takes: one of {@link ATTACH_KINDS} ('tracepoint', 'kprobe', 'xdp', 'fentry', ...). */
export type AttachKind = (typeof ATTACH_KINDS)[number];

let ids: { prog: Map<string, number>; map: Map<string, number>; attach: Map<string, number>; helper: Map<string, number> } | undefined;
function names(): NonNullable<typeof ids> {
  const index = (list: string[]): Map<string, number> => new Map(list.map((n, i) => [n, i] as [string, number]).filter(([n]) => n));
  return (ids ??= {
    prog: index(addon.programTypes()),
    map: index(addon.mapTypes()),
    attach: index(addon.attachTypes()),
    helper: index(addon.helperNames()),
  });
}

function lookup(table: Map<string, number>, name: unknown, what: string, argName: string): number {
  checkString(name, argName);
  const id = table.get(name as string);
  if (id === undefined || id === 0) throw argRangeError(argName, `${what} libbpf knows (${[...table.keys()].filter((k) => table.get(k)).join(', ')})`, name);
  return id;
}

const describe = (e: BpfError, stage: string): string => {
  const why: Record<string, string> = {
    EPERM: process.getuid?.() === 0 ? 'lockdown or LSM policy' : 'needs root, or CAP_BPF with CAP_PERFMON/CAP_NET_ADMIN',
    EACCES: process.getuid?.() === 0 ? 'lockdown or LSM policy' : 'needs root, or CAP_BPF with CAP_PERFMON/CAP_NET_ADMIN',
    EINVAL: 'the kernel does not accept this program or attach type',
    EOPNOTSUPP: 'not built into this kernel',
    ENOTSUPP: 'not built into this kernel',
    ENOENT: 'attach target not found',
    ESRCH: 'attach target not found',
    EBUSY: 'the target is busy',
    E2BIG: 'too large for this kernel',
  };
  return `${e.code} at ${stage} (${why[e.code] ?? e.message.replace(/^[^:]*: /, '')})`;
};

function refused(e: unknown, feature: string): ProbeResult {
  if (!(e instanceof BpfError)) throw e;
  const stage = e.syscall === 'bpf_prog_load' ? 'load' : e.syscall === 'elf_find_func_offset' ? 'symbol lookup' : 'attach';
  return { supported: false, reason: describe(e, stage), errno: e.errno, code: e.code, needs: FEATURE_REQUIREMENTS[feature] };
}

function unavailable(reason: string, feature: string): ProbeResult {
  return { supported: false, reason, needs: FEATURE_REQUIREMENTS[feature] };
}

/** The first of `candidates` the kernel's BTF has as a function (attach targets differ by version). */
function kernelFunc(candidates: string[], kind: 'func' | 'typedef' | 'struct' = 'func'): { id: number; name: string } | undefined {
  let btf: Btf;
  try {
    btf = Btf.fromKernel();
  } catch {
    return undefined;
  }
  for (const name of candidates) {
    const t = btf.find(name, kind);
    if (t) return { id: t.id, name };
  }
  return undefined;
}

function pmuType(name: string): number | undefined {
  try {
    return Number(fs.readFileSync(`/sys/bus/event_source/devices/${name}/type`, 'utf8').trim());
  } catch {
    return undefined;
  }
}

function libcPath(): string | undefined {
  const maps = fs.readFileSync('/proc/self/maps', 'utf8');
  return /\s(\/\S*\/libc\.so\.6)$/m.exec(maps)?.[1];
}

function cgroup2Root(): string | undefined {
  for (const line of fs.readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const [, dir, type] = line.split(' ');
    if (type === 'cgroup2') return dir;
  }
  return undefined;
}

// The id of a syscall tracepoint, or why there is none: no tracefs, or one this user may not read.
function tracepointId(): number | string {
  let denied: string | undefined;
  for (const root of ['/sys/kernel/tracing', '/sys/kernel/debug/tracing']) {
    const file = `${root}/events/syscalls/sys_enter_getpid/id`;
    try {
      return Number(fs.readFileSync(file, 'utf8').trim());
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') denied ??= `tracefs is mounted but this user may not read it (${code} on ${file})`;
    }
  }
  return denied ?? 'no tracefs with syscall tracepoints (mount -t tracefs tracefs /sys/kernel/tracing)';
}

type Recipe = Omit<NativeProbeRecipe, 'progType' | 'expectedAttachType' | 'linkAttachType'> & {
  prog: string;
  expected?: string;
  link?: string;
  /** Run in a private network namespace (xdp, tcx, netfilter, sk_lookup). */
  netns?: boolean;
  /** A cgroup v2 directory made for the probe and removed after it. */
  cgroup?: boolean;
  /** struct_ops: the member the program implements (its expected attach type). */
  memberIndex?: number;
};

const TRACING_TARGETS: Record<string, [string, string[], 'func' | 'typedef']> = {
  fentry: ['trace_fentry', ['bpf_fentry_test1', 'do_nanosleep', 'ksys_read'], 'func'],
  fexit: ['trace_fexit', ['bpf_fentry_test1', 'do_nanosleep', 'ksys_read'], 'func'],
  fmod_ret: ['modify_return', ['bpf_modify_return_test'], 'func'],
  tp_btf: ['trace_raw_tp', ['btf_trace_sys_enter', 'btf_trace_sched_switch'], 'typedef'],
  iter: ['trace_iter', ['bpf_iter_task'], 'func'],
  lsm: ['lsm_mac', ['bpf_lsm_file_open'], 'func'],
};

// A recipe for `kind`, or the reason there can be none on this machine.
function recipeFor(kind: AttachKind): Recipe | string {
  if (kind in TRACING_TARGETS) {
    const [expected, candidates, btfKind] = TRACING_TARGETS[kind];
    const target = kernelFunc(candidates, btfKind);
    if (!target) return `no BTF target for ${kind} (needs /sys/kernel/btf/vmlinux with ${candidates[0]})`;
    const prog = kind === 'lsm' ? 'lsm' : 'tracing';
    if (kind === 'iter') return { prog, expected, attachBtfId: target.id, attach: 'link', link: expected };
    return { prog, expected, attachBtfId: target.id, attach: 'raw_tp' };
  }
  switch (kind) {
    case 'socket_filter': return { prog: 'socket_filter', attach: 'socket' };
    case 'raw_tp': return { prog: 'raw_tracepoint', attach: 'raw_tp', rawTp: 'sys_enter' };
    case 'tracepoint': {
      const id = tracepointId();
      if (typeof id === 'string') return id;
      return { prog: 'tracepoint', attach: 'perf', perf: { type: 2, config: id }, link: 'perf_event' };
    }
    case 'kprobe': {
      const type = pmuType('kprobe');
      if (type === undefined) return 'no kprobe support (CONFIG_KPROBES off)';
      return { prog: 'kprobe', attach: 'perf', perf: { type, config: 0 }, func: 'do_nanosleep', link: 'perf_event' };
    }
    case 'kprobe_multi': return { prog: 'kprobe', expected: 'trace_kprobe_multi', attach: 'kprobe_multi', func: 'do_nanosleep', link: 'trace_kprobe_multi' };
    case 'uprobe': {
      const type = pmuType('uprobe');
      const libc = libcPath();
      if (type === undefined) return 'no uprobe support (CONFIG_UPROBE_EVENTS off)';
      if (!libc) return 'no libc.so.6 mapped in this process to probe';
      return { prog: 'kprobe', attach: 'perf', perf: { type, config: 0 }, binary: libc, func: 'getpid', link: 'perf_event' };
    }
    case 'uprobe_multi': {
      const libc = libcPath();
      if (!libc) return 'no libc.so.6 mapped in this process to probe';
      return { prog: 'kprobe', expected: 'trace_uprobe_multi', attach: 'uprobe_multi', binary: libc, func: 'getpid', link: 'trace_uprobe_multi' };
    }
    case 'perf_event': return { prog: 'perf_event', attach: 'perf', perf: { type: 1, config: 0 }, link: 'perf_event' };
    case 'xdp': return { prog: 'xdp', retval: 2, attach: 'link', ifindex: 1, link: 'xdp', netns: true };
    case 'tcx': return { prog: 'sched_cls', expected: 'tcx_ingress', retval: -1, attach: 'link', ifindex: 1, link: 'tcx_ingress', netns: true };
    case 'netfilter': return { prog: 'netfilter', expected: 'netfilter', retval: 1, attach: 'netfilter', pf: 2, hooknum: 1, priority: 1, link: 'netfilter', netns: true };
    case 'sk_lookup': return { prog: 'sk_lookup', expected: 'sk_lookup', retval: 1, attach: 'link', targetPath: '/proc/thread-self/ns/net', link: 'sk_lookup', netns: true };
    case 'cgroup': {
      if (!cgroup2Root()) return 'no cgroup v2 mount';
      return { prog: 'cgroup_skb', expected: 'cgroup_inet_ingress', retval: 1, attach: 'link', link: 'cgroup_inet_ingress', cgroup: true };
    }
    case 'struct_ops': {
      const ops = kernelFunc(['tcp_congestion_ops'], 'struct');
      if (!ops) return 'no struct tcp_congestion_ops in the kernel BTF';
      const members = Btf.fromKernel().typeById(ops.id).members ?? [];
      const init = members.findIndex((m) => m.name === 'init');
      return { prog: 'struct_ops', attachBtfId: ops.id, attach: 'none', memberIndex: init };
    }
    case 'syscall': return { prog: 'syscall', progFlags: 16 /* BPF_F_SLEEPABLE */, attach: 'test_run' };
    default: return `unknown kind ${kind}`;
  }
}

function toNative(r: Recipe): NativeProbeRecipe {
  const { prog: p, expected, link, cgroup: _cgroup, memberIndex, ...rest } = r;
  const t = names();
  const native: NativeProbeRecipe = { ...rest, progType: t.prog.get(p) ?? 0 };
  if (expected) native.expectedAttachType = t.attach.get(expected);
  if (memberIndex !== undefined) native.expectedAttachType = memberIndex;
  if (link) native.linkAttachType = t.attach.get(link);
  return native;
}

function attachProbe(kind: AttachKind): ProbeResult {
  if (kind === 'ringbuf') return mapType('ringbuf');
  const recipe = recipeFor(kind);
  if (typeof recipe === 'string') return unavailable(recipe, kind);
  const native = toNative(recipe);
  let dir: string | undefined;
  try {
    if (recipe.cgroup) {
      dir = path.join(cgroup2Root() as string, `nlb-probe-${process.pid}-${Date.now().toString(36)}`);
      fs.mkdirSync(dir, { mode: 0o755 }); // never world-writable, whatever the umask
      native.targetPath = dir;
    }
    addon.probeAttach(native);
    return kind === 'struct_ops' ? { supported: true, reason: 'loads (attaching needs a whole struct_ops map)' } : { supported: true };
  } catch (e) {
    return refused(e, kind);
  } finally {
    if (dir) fs.rmdirSync(dir);
  }
}

const EPERM = os.constants.errno.EPERM;

// The addon's answer to a feature probe: 1 is supported. -EPERM says nothing about the
// kernel: this process may not use BPF (no CAP_BPF, kernel.unprivileged_bpf_disabled); what
// `need`s it lacks goes in the reason. Anything else (EACCES is the verifier's): undefined,
// the kernel refuses.
function answered(answer: number, need: PermissionNeed): ProbeResult | undefined {
  if (answer === 1) return { supported: true };
  if (answer === -EPERM) return { supported: false, reason: `EPERM (${permissionHint(need)})`, errno: EPERM, code: 'EPERM' };
  return undefined;
}

function programType(name: string): ProbeResult {
  const id = lookup(names().prog, name, 'a program type', 'name');
  return answered(addon.probeProgramType(id), needOfProgramType(name)) ?? unavailable(`the kernel refuses BPF_PROG_TYPE_${name.toUpperCase()} programs`, name);
}

function mapType(name: string): ProbeResult {
  const id = lookup(names().map, name, 'a map type', 'name');
  return answered(addon.probeMapType(id), 'bpf') ?? unavailable(`the kernel cannot create BPF_MAP_TYPE_${name.toUpperCase()} maps`, name);
}

function helper(programType: string, helperName: string): ProbeResult {
  const prog = lookup(names().prog, programType, 'a program type', 'programType');
  const id = lookup(names().helper, typeof helperName === 'string' ? helperName.replace(/^bpf_/, '') : helperName, 'a helper', 'helper');
  return answered(addon.probeHelper(prog, id), needOfProgramType(programType)) ?? { supported: false, reason: `bpf_${helperName.replace(/^bpf_/, '')} is not available to ${programType} programs on this kernel` };
}

/**
 * Feature probes against the running kernel. Each returns `{ supported, reason?, errno?,
 * code?, needs? }`; a refusal is a result, not an exception (bad names throw RangeError).
 * @example
 * import { probe } from 'node-libbpf';
 * probe.programType('xdp');            // { supported: true }
 * probe.mapType('arena');
 * probe.helper('kprobe', 'bpf_probe_read_kernel');
 * probe.attach('fentry');              // here: { supported: false, reason: 'EPERM at load (lockdown or LSM policy)', ... }
 */
export const probe = {
  /** libbpf_probe_bpf_prog_type: does the kernel load this program type ('kprobe', 'xdp', 'tracing', ...)? */
  programType,
  /** libbpf_probe_bpf_map_type: can the kernel create this map type ('hash', 'ringbuf', 'arena', ...)? */
  mapType,
  /** libbpf_probe_bpf_helper: may programs of `programType` call `helper` ('bpf_ktime_get_ns' or 'ktime_get_ns')? */
  helper,
  /**
   * Loads and attaches a tiny program of `kind` (see ATTACH_KINDS), then detaches and closes it.
   * Network kinds run in a private network namespace; 'cgroup' in a cgroup made for the probe.
   */
  attach(kind: AttachKind): ProbeResult {
    if (!(ATTACH_KINDS as readonly string[]).includes(kind)) throw argRangeError('kind', `one of ${ATTACH_KINDS.join(', ')}`, kind);
    return attachProbe(kind);
  },
  /** Every kind attach() takes. */
  attachKinds: ATTACH_KINDS,
};
