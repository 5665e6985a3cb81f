// Hints: the usual cause of a kernel or libbpf refusal, by errno name, libbpf call and
// what libbpf printed, for BpfError.hint.
import * as fs from 'node:fs';
import { BpfError, withDetail } from './bpf-error';
import { notOnBpffsHint } from './bpffs';
import { missingCapabilityHint, needOfCall, needOfProgramType, permissionHint } from './capabilities';
import { requirementIn } from './requirements';
import { loadRefusalHint, traceHint } from './trace-hints';

// What a link that is no kernel link (classic tc filter, socket filter) refuses, and why.
const NOT_A_LINK: Record<string, string> = {
  bpf_link__pin: 'only kernel links can be pinned; attach with a link-based call (tcx instead of classic tc) to pin',
  bpf_link__update_program: 'attach the new program with a link-based call (tcx instead of classic tc) to swap programs in place',
  bpf_link_get_info_by_fd: 'a classic tc filter shows in `tc filter show`; a socket filter has no kernel-side record',
};

const TOKEN_HINT =
  'options.bpfToken (or LIBBPF_BPF_TOKEN_PATH) must name the root of a bpffs mounted with delegate_cmds/delegate_maps/delegate_progs/delegate_attachs ' +
  "by a privileged process for this process's user namespace (not the initial one); BPF tokens need Linux 6.9+";

// The file libbpf read the tracepoint's id from (its debug line, else its rule: debugfs's
// tracing directory when it exists, else tracefs).
function tracepointIdFile(text: string): string | undefined {
  const opened = /failed to open '([^']+)'/.exec(text)?.[1];
  if (opened) return opened;
  const tp = /tracepoint '([^'/]+)\/([^']+)'/.exec(text);
  if (!tp) return undefined;
  const root = fs.existsSync('/sys/kernel/debug/tracing') ? '/sys/kernel/debug/tracing' : '/sys/kernel/tracing';
  return `${root}/events/${tp[1]}/${tp[2]}/id`;
}

export function hintFor(code: string, syscall: string, text: string): string | undefined {
  const traced = traceHint(code, syscall, text);
  if (traced) return traced;
  if (/kernel BTF is missing|failed to find valid kernel BTF/.test(text)) {
    return 'this kernel exposes no BTF (/sys/kernel/btf/vmlinux): it needs CONFIG_DEBUG_INFO_BTF=y, or pass btfCustomPath';
  }
  const notBpffs = /specified path (\S+) is not on BPF FS/.exec(text);
  if (notBpffs) return notOnBpffsHint(notBpffs[1]) ?? 'pins live on a bpffs mount such as /sys/fs/bpf (mount -t bpf bpf /sys/fs/bpf)';
  if (/to (open BPF FS mount|create BPF token) /.test(text)) return TOKEN_HINT;
  if ((code === 'EACCES' || code === 'EPERM') && /tracepoint .*perf event ID/.test(text)) {
    const file = tracepointIdFile(text);
    return `tracefs is mounted but this process may not read ${file ? `'${file}'` : "the tracepoint's id under events/"}: ` +
      'attaching a tracepoint needs read access to tracefs (root, CAP_DAC_OVERRIDE, or tracefs mounted with a gid= or mode= that lets this user in) besides CAP_BPF and CAP_PERFMON; ' +
      'raw_tp and tp_btf programs need no tracefs';
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
  if (code === 'EOPNOTSUPP' && /is not a BPF link/.test(text) && Object.hasOwn(NOT_A_LINK, syscall)) return NOT_A_LINK[syscall];
  if (syscall === 'open' && /cannot open cgroup '/.test(text)) return 'a cgroup v2 directory, e.g. under /sys/fs/cgroup or /sys/fs/cgroup/unified';
  switch (code) {
    case 'EPERM':
    case 'EACCES':
      if (code === 'EACCES' && syscall === 'bpf_object__load') return undefined;
      if (code === 'EPERM' && syscall === 'bpf_map_update_elem') return 'the map is frozen (freeze()) or read-only for user space';
      if (syscall === 'bpf_obj_get') return 'the path is not on a bpffs mount, or this process may not open it';
      return permissionHint(needOfCall(syscall));
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

/** A load's EPERM for a program kind the kernel refuses even for root gets the hint saying why. */
export function refineLoadError(e: unknown, programs: readonly { name: string; type: string; expectedAttachType: string | undefined }[]): unknown {
  const target = e instanceof BpfError && e.code === 'ESRCH' ? /failed to find kernel BTF type ID of '([^']+)'/.exec(e.message)?.[1] : undefined;
  if (target !== undefined && e instanceof BpfError) {
    // Tools declare fentry/fexit on a placeholder and pick the real function at run time.
    const who = e.program ? `obj.program('${e.program}')` : 'program';
    return withDetail(e, undefined, `the kernel has no function '${target}' (see /sys/kernel/btf/vmlinux); if the section's target is a placeholder, set the real one with ${who}.setAttachTarget('function') before load()`);
  }
  if (!(e instanceof BpfError) || e.code !== 'EPERM' || !e.program || e.constructor !== BpfError) return e;
  const program = programs.find((p) => p.name === e.program);
  if (!program) return e;
  // Without the capabilities the program type needs, that is the cause, not lockdown.
  const missing = missingCapabilityHint(needOfProgramType(program.type));
  if (missing) return withDetail(e, undefined, missing);
  const hint = loadRefusalHint(program.type, program.expectedAttachType);
  if (!hint) return e;
  return withDetail(e, undefined, hint);
}
