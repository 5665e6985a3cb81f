// The capabilities this process holds (CapEff in /proc/self/status), by name, and the
// hint for a permission refusal: which capability the operation needs that is missing.
import * as fs from 'node:fs';

// linux/capability.h, by bit.
const CAP_NAMES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const;

/** The names of the capabilities set in a capability mask (CapEff's hex); unknown bits as 'cap_N'. */
export function capabilityNames(mask: bigint): string[] {
  const out: string[] = [];
  for (let bit = 0; bit < 64; bit++) {
    if ((mask >> BigInt(bit)) & 1n) out.push(CAP_NAMES[bit] ?? `cap_${bit}`);
  }
  return out;
}

/** The effective capabilities of this process, by name (empty where /proc cannot be read). */
export function effectiveCapabilities(): Set<string> {
  let status = '';
  try {
    status = fs.readFileSync('/proc/self/status', 'utf8');
  } catch {
    // no /proc: nothing known
  }
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  return new Set(hex ? capabilityNames(BigInt(`0x${hex}`)) : []);
}

/** What an operation needs besides CAP_BPF, by the kernel's grouping of program types and commands. */
export type PermissionNeed = 'bpf' | 'perfmon' | 'net_admin' | 'sys_admin';

// The kernel's is_perfmon_prog_type() and is_net_admin_prog_type() (kernel/bpf/syscall.c), in libbpf's names.
const PERFMON_TYPES = new Set(['kprobe', 'tracepoint', 'perf_event', 'raw_tracepoint', 'raw_tracepoint_writable', 'tracing', 'lsm', 'struct_ops', 'ext']);
const NET_ADMIN_TYPES = new Set([
  'sched_cls', 'sched_act', 'xdp', 'lwt_in', 'lwt_out', 'lwt_xmit', 'lwt_seg6local', 'sock_ops', 'sk_skb', 'sk_msg', 'flow_dissector',
  'cgroup_device', 'cgroup_sock', 'cgroup_sock_addr', 'cgroup_sockopt', 'cgroup_sysctl', 'sk_reuseport', 'sk_lookup', 'netfilter',
]);

/** What loading a program of `type` (libbpf's name: 'kprobe', 'xdp', ...) needs besides CAP_BPF. */
export function needOfProgramType(type: string): PermissionNeed {
  if (PERFMON_TYPES.has(type)) return 'perfmon';
  if (NET_ADMIN_TYPES.has(type)) return 'net_admin';
  return 'bpf';
}

/** What a failed libbpf call needs besides CAP_BPF, judged by its name. */
export function needOfCall(syscall: string): PermissionNeed {
  if (/attach_(kprobe|uprobe|usdt|tracepoint|raw_tracepoint|perf_event|trace|lsm|ksyscall)|perf_event_open|attach_iter/.test(syscall)) return 'perfmon';
  if (/attach_(xdp|tc|tcx|cgroup|netns|netfilter|sockmap|socket)|bpf_prog_attach|bpf_xdp|bpf_tc_/.test(syscall)) return 'net_admin';
  if (/get_fd_by_id|get_next_id|enable_stats|bpf_(prog|map|link|btf)_get_info_by_fd/.test(syscall)) return 'sys_admin';
  return 'bpf';
}

const NEEDS: Record<Exclude<PermissionNeed, 'bpf'>, [cap: string, why: string]> = {
  perfmon: ['CAP_PERFMON', 'tracing programs and attachments (kprobe, uprobe, tracepoint, perf_event, raw_tp, fentry) need it besides CAP_BPF'],
  net_admin: ['CAP_NET_ADMIN', 'network programs and attachments (xdp, tc/tcx, cgroup socket hooks, sk_lookup, netfilter) need it besides CAP_BPF'],
  sys_admin: ['CAP_SYS_ADMIN', 'opening BPF objects by id, walking every program, map or link, and BPF_ENABLE_STATS need it'],
};

/** Whether this process is in a user namespace other than the initial one (its uid_map is not the identity). */
export function inUserNamespace(): boolean {
  try {
    return !/^\s*0\s+0\s+4294967295\s*$/.test(fs.readFileSync('/proc/self/uid_map', 'utf8'));
  } catch {
    return false;
  }
}

/** The hint naming the capability `need` asks for that this process lacks; undefined when it holds them. */
export function missingCapabilityHint(need: PermissionNeed, caps: Set<string> = effectiveCapabilities()): string | undefined {
  const admin = caps.has('CAP_SYS_ADMIN');
  const uid = process.getuid?.() ?? -1;
  if (inUserNamespace()) {
    return 'this process is in a user namespace, where its capabilities do not count for BPF (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN are checked in the initial one): ' +
      'use a BPF token (BpfObject.open option bpfToken: a bpffs with delegate_* options, Linux 6.9+)';
  }
  if (!caps.has('CAP_BPF') && !admin) {
    return `this process (uid ${uid}) lacks CAP_BPF: creating maps and loading programs needs CAP_BPF (CAP_SYS_ADMIN before Linux 5.8) or root, ` +
      `plus CAP_PERFMON for tracing or CAP_NET_ADMIN for networking; kernel.unprivileged_bpf_disabled refuses processes without them`;
  }
  if (need !== 'bpf') {
    const [cap, why] = NEEDS[need];
    if (!caps.has(cap) && !admin) return `this process (uid ${uid}) lacks ${cap}: ${why}`;
  }
  return undefined;
}

/**
 * The hint for an EPERM/EACCES: the capability the operation needs that this process
 * lacks, or, when it holds them all, what else refuses a privileged process.
 */
export function permissionHint(need: PermissionNeed, caps: Set<string> = effectiveCapabilities()): string {
  const missing = missingCapabilityHint(need, caps);
  if (missing) return missing;
  return process.getuid?.() === 0
    ? 'refused although running as root: kernel lockdown, an LSM policy or a seccomp filter forbids this program type or operation here'
    : `refused although this process holds the capabilities BPF asks for (${[...caps].filter((c) => /BPF|PERFMON|NET_ADMIN|SYS_ADMIN/.test(c)).join(', ')}): ` +
      'kernel lockdown, an LSM policy, a seccomp filter, or file permissions (tracefs, bpffs) refuse it';
}
