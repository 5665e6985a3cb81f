// BpfError and VerifierError: what the kernel or libbpf refused, with the errno's name,
// the libbpf call, the lines libbpf printed, and a hint where the usual cause is known.
import * as util from 'node:util';
import type { LibbpfLine } from './native';
import { traceHint } from './trace-hints';

// libbpf's own error codes (libbpf.h, enum libbpf_errno), beyond the kernel's errnos.
const LIBBPF_ERRNO: Record<number, [string, string]> = {
  4000: ['ELIBELF', 'Something wrong in libelf'],
  4001: ['EFORMAT', 'BPF object format invalid'],
  4002: ['EKVERSION', "'version' section incorrect or lost"],
  4003: ['EENDIAN', 'Endian mismatch'],
  4004: ['EINTERNAL', 'Internal error in libbpf'],
  4005: ['ERELOC', 'Relocation failed'],
  4006: ['ELOAD', 'Load program failure for unknown reason'],
  4007: ['EVERIFY', 'Kernel verifier blocks program loading'],
  4008: ['EPROG2BIG', 'Program too big'],
  4009: ['EKVER', 'Incorrect kernel version'],
  4010: ['EPROGTYPE', "Kernel doesn't support this program type"],
  4011: ['EWRNGPID', 'Wrong pid in netlink message'],
  4012: ['EINVSEQ', 'Invalid netlink sequence'],
  4013: ['ENLPARSE', 'Incorrect netlink message parsing'],
};
// Names the kernel's BPF documentation uses where Node's table differs (95 is both
// ENOTSUP and EOPNOTSUPP on Linux), and kernel-internal codes libc does not name.
const KERNEL_NAMES: Record<number, [string, string]> = {
  95: ['EOPNOTSUPP', 'Operation not supported'],
  524: ['ENOTSUPP', 'Operation is not supported (kernel-internal ENOTSUPP)'],
  116: ['ESTALE', 'Stale file handle'], // libuv does not name it; bpf_mprog's revision mismatch
};

const systemErrors = util.getSystemErrorMap();

export function errnoName(errno: number): [code: string, description: string] {
  const known = KERNEL_NAMES[errno] ?? systemErrors.get(-errno) ?? LIBBPF_ERRNO[errno];
  return known ? [known[0], known[1]] : [`E${errno}`, `Unknown error ${errno}`];
}

export interface BpfErrorDetails {
  /** What libbpf printed (warnings and info) while the failing call ran. */
  libbpfLog?: string[];
  hint?: string;
  /** The program the failure is about, when libbpf named one. */
  program?: string;
}

export class BpfError extends Error {
  /** The errno's name: 'EPERM', 'ENOENT', 'E2BIG', ... (libbpf's own codes: 'EFORMAT', ...) */
  readonly code: string;
  readonly errno: number;
  /** The libbpf function (or syscall) that failed, e.g. 'bpf_object__load'. */
  readonly syscall: string;
  /** The usual cause, when we know one. */
  readonly hint: string | undefined;
  /** Lines libbpf printed during the failing call. */
  readonly libbpfLog: string[];
  /** The program the failure is about, when known. */
  readonly program: string | undefined;

  constructor(errno: number, syscall: string, detail?: string, details: BpfErrorDetails = {}) {
    const [code, description] = errnoName(errno);
    const hint = details.hint;
    super(`${syscall}: ${code} (${description})${detail ? `: ${detail}` : ''}${hint ? `. Hint: ${hint}` : ''}`);
    this.name = new.target.name;
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    this.hint = hint;
    this.libbpfLog = details.libbpfLog ?? [];
    this.program = details.program;
  }
}

export class VerifierError extends BpfError {
  /** The program the verifier rejected. */
  declare readonly program: string;
  /** The complete verifier log. */
  readonly log: string;

  constructor(errno: number, syscall: string, program: string, log: string, details: BpfErrorDetails = {}) {
    super(errno, syscall, `program '${program}' rejected by the verifier:\n  ${lastMeaningfulLines(log).join('\n  ')}`, { ...details, program });
    this.log = log;
  }
}

const NOISE = /^(processed \d+ insns|verification time|stack depth|mark_precise|\s*$)/;

function lastMeaningfulLines(log: string, count = 3): string[] {
  const lines = log.split('\n').filter((l) => !NOISE.test(l));
  return lines.slice(-count);
}

const stripPrefix = (line: string): string => line.replace(/^libbpf: /, '');

const VERIFIER_LOG = /^(?:libbpf: )?prog '([^']+)': -- BEGIN PROG LOAD LOG --\n([\s\S]*?)-- END PROG LOAD LOG --/;

/** The verifier logs in libbpf's output, by program name. */
export function verifierLogs(lines: LibbpfLine[]): Map<string, string> {
  const logs = new Map<string, string>();
  for (const { message } of lines) {
    const m = VERIFIER_LOG.exec(message);
    if (m) logs.set(m[1], m[2]);
  }
  return logs;
}

const PROG_LINE = /^prog '([^']+)': /;

// The most specific thing libbpf said about the failure: its first warning about a
// program or map ("prog 'x': BPF program load failed"), else its last warning.
function detailOf(lines: LibbpfLine[]): { detail?: string; program?: string } {
  const warnings = lines
    .filter((l) => l.level === 'warn' && !l.message.includes('PROG LOAD LOG'))
    .map((l) => stripPrefix(l.message).replace(/: -?(E[A-Z0-9]+|\d+)$/, '').trimEnd());
  const specific = warnings.find((w) => PROG_LINE.test(w) || w.startsWith('map '));
  return { detail: specific ?? warnings[warnings.length - 1], program: specific && PROG_LINE.exec(specific)?.[1] };
}

export function hintFor(code: string, syscall: string, text: string): string | undefined {
  const traced = traceHint(code, syscall, text);
  if (traced) return traced;
  if (/kernel BTF is missing|failed to find valid kernel BTF/.test(text)) {
    return 'this kernel exposes no BTF (/sys/kernel/btf/vmlinux): it needs CONFIG_DEBUG_INFO_BTF=y, or pass btfCustomPath';
  }
  if (/tracepoint .*perf event ID/.test(text) || (code === 'ENOENT' && /tracepoint/.test(text))) {
    return 'is tracefs mounted (mount -t tracefs tracefs /sys/kernel/tracing) and does the tracepoint exist?';
  }
  if (syscall === 'bpf_prog_test_run_opts') {
    if (code === 'ENOTSUPP' || code === 'EOPNOTSUPP') {
      return 'BPF_PROG_TEST_RUN cannot run this program type: it runs xdp, sched_cls/sched_act, socket_filter, cgroup_skb, lwt, raw_tracepoint, syscall, flow_dissector, sk_lookup, netfilter and tracing programs';
    }
    if (code === 'EINVAL') {
      return 'the kernel refused these inputs for this program type: raw_tp and syscall programs take only ctx (no data, repeat or output buffers), packet programs need data of at least an Ethernet header, sk_lookup needs a whole struct bpf_sk_lookup as ctx';
    }
  }
  if (code === 'ESTALE') return 'the attach point changed since expectedRevision: query it again';
  if (code === 'ENOTSUPP' && syscall === 'bpf_map_lookup_and_delete_elem') {
    return 'the kernel looks up and deletes an element in one step for queue and stack maps, and for hash, lru_hash, percpu_hash and lru_percpu_hash maps since Linux 5.14';
  }
  if (code === 'EEXIST' && syscall === 'bpf_program__attach_xdp') return 'an XDP program is already attached to this interface';
  if (code === 'ENOENT' && /failed to create k(ret)?probe/.test(text)) {
    return 'no such kernel function, or no kprobes on this kernel (CONFIG_KPROBES): see /sys/kernel/tracing/available_filter_functions';
  }
  switch (code) {
    case 'EPERM':
    case 'EACCES':
      if (code === 'EACCES' && syscall === 'bpf_object__load') return undefined;
      if (code === 'EPERM' && syscall === 'bpf_map_update_elem') return 'the map is frozen (freeze()) or read-only for user space';
      if (syscall === 'bpf_obj_get') return 'the path is not on a bpffs mount, or this process may not open it';
      return process.getuid?.() === 0
        ? 'refused although running as root: kernel lockdown, an LSM policy or a seccomp filter forbids this program type or operation here'
        : 'BPF needs CAP_BPF plus CAP_PERFMON (tracing) or CAP_NET_ADMIN (networking), or root; kernel.unprivileged_bpf_disabled forbids it otherwise';
    case 'EFORMAT':
    case 'ELIBELF':
      if (/btf/i.test(text) && !syscall.startsWith('bpf_object__open')) return 'the BTF file (btfCustomPath) is not valid BTF or ELF with BTF';
      return 'not a BPF ELF object: compile with clang -g -O2 -target bpf';
    case 'E2BIG':
      if (syscall === 'bpf_map_update_elem') return 'the map is full (maxEntries)';
      if (syscall === 'user_ring_buffer__reserve') return 'the sample is larger than the whole user ring buffer (its maxEntries, less an 8-byte header)';
      return 'too large for the kernel: a program over its instruction limit, or a map, key or value over its size limit';
    case 'ENOSPC':
      if (syscall === 'user_ring_buffer__reserve') {
        return 'the user ring buffer is full until a BPF program drains it (bpf_user_ringbuf_drain): wait with reserveBlocking(), or make the map larger';
      }
      if (syscall === 'bpf_map_lookup_elem') return 'this map kind returns a value of another size to user space (sockmap/sockhash: an 8-byte cookie)';
      return 'the map is full (maxEntries)';
    case 'EEXIST':
      if (syscall.includes('pin')) return 'something is already pinned at that path';
      if (syscall === 'bpf_map_update_elem') return "the key exists and the update used the 'noexist' flag";
      return 'already attached there';
    case 'ESRCH':
      return 'a kernel symbol or BTF type the program needs was not found on this kernel';
    case 'EOPNOTSUPP':
    case 'ENOTSUPP':
    case 'EPROGTYPE': {
      const needs = requirementIn(`${syscall}\n${text}`);
      return `not supported by this kernel, or by this program type or section${needs ? `: ${needs}` : ''}`;
    }
    case 'ENOENT':
      if (syscall === 'btf__parse_split') return 'no BTF for that kernel module: is it loaded, and built with CONFIG_DEBUG_INFO_BTF_MODULES=y?';
      if (syscall.includes('pin') || syscall.includes('obj_get') || syscall === 'bpf_link__open') return 'is bpffs mounted (mount -t bpf bpf /sys/fs/bpf) and does the path exist?';
      return undefined;
    case 'EINVAL':
      if (syscall === 'bpf_link__update_program') {
        return 'this link type cannot swap programs (raw_tp, tracepoint, kprobe/uprobe links cannot), or the new program differs in type or attach target';
      }
      if (syscall === 'bpf_link__open') return 'the pin is not a link (open maps with BpfMap.fromPinned)';
      if (syscall === 'bpf_program__attach_iter') {
        return 'not an iterator program (SEC("iter/...")), or the options do not fit its target (map-element iterators need options.map; cgroup order "children" needs a newer kernel)';
      }
      if (syscall === 'bpf_link__pin') {
        return 'pins must live on a bpffs mount such as /sys/fs/bpf; before Linux 5.15 a tracepoint, kprobe or uprobe attachment is a perf event, not a BPF link, and cannot be pinned';
      }
      if (syscall.includes('pin')) return 'pins must live on a bpffs mount such as /sys/fs/bpf';
      return undefined;
    default:
      return undefined;
  }
}

/** Called by the addon (on the JS thread) to build the error for a failed libbpf call. */
export function makeBpfError(errno: number, syscall: string, lines: LibbpfLine[]): BpfError {
  const text = lines.map((l) => l.message).join('\n');
  // Verifier logs go to VerifierError.log, not into every line list.
  const libbpfLog = lines
    .filter((l) => l.level !== 'debug')
    .map((l) => stripPrefix(l.message).replace(/-- BEGIN PROG LOAD LOG --[\s\S]*-- END PROG LOAD LOG --/, 'verifier log follows in VerifierError.log'));
  const [code] = errnoName(errno);
  const details = { libbpfLog, hint: hintFor(code, syscall, text) };
  const logs = verifierLogs(lines);
  if (logs.size > 0) {
    const [program, log] = [...logs][logs.size - 1];
    return new VerifierError(errno, syscall, program, log, details);
  }
  const { detail, program } = detailOf(lines);
  return new BpfError(errno, syscall, detail, { ...details, program });
}

// Wrong state: one fixed message per state (the addon uses the same strings).
export const CLOSED = 'BpfObject is closed';
export const NOT_LOADED = 'BpfObject is not loaded';
export const LOADED = 'BpfObject is already loaded';
export const LOADING = 'BpfObject is loading';
export const LOAD_FAILED = 'BpfObject failed to load; open it again';
export const LINK_DESTROYED = 'Link is destroyed';
export const MAP_CLOSED = 'BpfMap is closed';
export const USER_RING_CLOSED = 'UserRingBuffer is closed';
export const SAMPLE_SUBMITTED = 'UserRingBuffer sample is already submitted';
export const SAMPLE_DISCARDED = 'UserRingBuffer sample is already discarded';

// What brings each feature: the first kernel release with it, and the config it needs.
// Used in "not supported" hints and by probe/doctor, keyed by probe kind or map type.
export const FEATURE_REQUIREMENTS: Readonly<Record<string, string>> = {
  socket_filter: 'Linux 3.19',
  kprobe: 'Linux 4.1 with CONFIG_KPROBES=y and CONFIG_KPROBE_EVENTS=y',
  ksyscall: 'Linux 4.1 with CONFIG_KPROBES=y and CONFIG_KPROBE_EVENTS=y',
  tc: 'Linux 4.1 with CONFIG_NET_CLS_BPF and CONFIG_NET_SCH_INGRESS',
  uprobe: 'Linux 4.3 with CONFIG_UPROBE_EVENTS=y',
  usdt: 'Linux 4.3 with CONFIG_UPROBE_EVENTS=y',
  tracepoint: 'Linux 4.7 with CONFIG_BPF_EVENTS=y and tracefs',
  xdp: 'Linux 4.8 (bpf_link for XDP: 5.9)',
  perf_event: 'Linux 4.9 (bpf_link for perf events: 5.15)',
  cgroup: 'Linux 4.10 with CONFIG_CGROUP_BPF=y and cgroup v2 (bpf_link for cgroups: 5.7)',
  raw_tp: 'Linux 4.17',
  fentry: 'Linux 5.5 with CONFIG_DEBUG_INFO_BTF=y and a BPF trampoline (x86-64; arm64 since 6.0)',
  fexit: 'Linux 5.5 with CONFIG_DEBUG_INFO_BTF=y and a BPF trampoline (x86-64; arm64 since 6.0)',
  tp_btf: 'Linux 5.5 with CONFIG_DEBUG_INFO_BTF=y',
  struct_ops: 'Linux 5.6 with CONFIG_DEBUG_INFO_BTF=y',
  fmod_ret: 'Linux 5.7 with CONFIG_FUNCTION_ERROR_INJECTION=y',
  lsm: "Linux 5.7 with CONFIG_BPF_LSM=y and 'bpf' in the lsm= boot list",
  iter: 'Linux 5.8',
  ringbuf: 'Linux 5.8',
  sk_lookup: 'Linux 5.9',
  syscall: 'Linux 5.14',
  kprobe_multi: 'Linux 5.18 with CONFIG_FPROBE=y',
  netfilter: 'Linux 6.4 with CONFIG_NETFILTER_BPF_LINK=y',
  tcx: 'Linux 6.6 with CONFIG_NET_XGRESS=y',
  uprobe_multi: 'Linux 6.6 with CONFIG_UPROBES=y',
  sk_storage: 'Linux 5.2',
  queue: 'Linux 4.20',
  stack: 'Linux 4.20',
  inode_storage: 'Linux 5.10 with CONFIG_BPF_LSM=y',
  task_storage: 'Linux 5.11',
  bloom_filter: 'Linux 5.16',
  user_ringbuf: 'Linux 6.1',
  cgrp_storage: 'Linux 6.2',
  arena: 'Linux 6.9',
};

// libbpf section prefixes (as they appear in its messages) -> the feature they need.
const SECTION_FEATURES: [RegExp, string][] = [
  [/\bkprobe\.multi|kretprobe\.multi/, 'kprobe_multi'],
  [/\buprobe\.multi|uretprobe\.multi/, 'uprobe_multi'],
  [/\bfentry/, 'fentry'], [/\bfexit/, 'fexit'], [/\bfmod_ret/, 'fmod_ret'], [/\blsm/, 'lsm'],
  [/\btp_btf/, 'tp_btf'], [/\bstruct_ops/, 'struct_ops'], [/\bnetfilter/, 'netfilter'], [/\btcx/, 'tcx'],
  [/\bksyscall/, 'ksyscall'], [/\bk(ret)?probe/, 'kprobe'], [/\busdt/, 'usdt'], [/\bu(ret)?probe/, 'uprobe'],
  [/\bsk_lookup/, 'sk_lookup'], [/\biter[./]/, 'iter'], [/\bsyscall\b/, 'syscall'], [/\bringbuf/, 'ringbuf'],
];

/** "fentry needs Linux 5.5 with ..." for the first feature named in `text`, if any. */
export function requirementIn(text: string): string | undefined {
  for (const [re, feature] of SECTION_FEATURES) {
    if (re.test(text)) return `${feature} needs ${FEATURE_REQUIREMENTS[feature]}`;
  }
  return undefined;
}

/** The same BpfError with another detail and/or hint (BpfError's fields are read-only). */
export function withDetail(e: BpfError, detail: string | undefined, hint: string | undefined): BpfError {
  if (detail === undefined) {
    const prefix = `${e.syscall}: ${e.code} (${errnoName(e.errno)[1]})`;
    detail = e.message.startsWith(`${prefix}: `) ? e.message.slice(prefix.length + 2) : undefined;
    if (detail && e.hint && detail.endsWith(`. Hint: ${e.hint}`)) detail = detail.slice(0, -(e.hint.length + 8));
  }
  return new BpfError(e.errno, e.syscall, detail, { hint: hint ?? e.hint, libbpfLog: e.libbpfLog, program: e.program });
}
