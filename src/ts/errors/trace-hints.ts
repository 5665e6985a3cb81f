// Hints for the tracing, user-space and sampling attach kinds: why a kernel refuses
// them (its configuration, lockdown or an LSM) and which kernel version brings them.
import * as fs from 'node:fs';

const TRAMPOLINE_CAUSES =
  'kernel lockdown (/sys/kernel/security/lockdown), an LSM policy, or a kernel built without BPF trampolines ' +
  '(CONFIG_BPF_JIT, CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS)';

/** Why the kernel refused to load a program of this type and expected attach type with EPERM. */
export function loadRefusalHint(type: string, attachType: string | undefined): string | undefined {
  const refused = (kind: string, since: string, extra = ''): string =>
    `this kernel refuses ${kind} programs even for root: ${TRAMPOLINE_CAUSES}${extra}; ${kind} needs Linux ${since}+`;
  if (type === 'lsm') return refused('BPF LSM', '5.7', "; BPF LSM also needs CONFIG_BPF_LSM=y and 'bpf' in the lsm= boot parameter");
  if (type === 'struct_ops') return refused('struct_ops', '5.6');
  if (type === 'ext') return refused('freplace', '5.6');
  if (type !== 'tracing') return undefined;
  switch (attachType) {
    case 'trace_fentry': return refused('fentry', '5.5');
    case 'trace_fexit': return refused('fexit', '5.5');
    case 'modify_return': return refused('fmod_ret', '5.7', '; fmod_ret also needs CONFIG_FUNCTION_ERROR_INJECTION and an error-injectable target');
    case 'trace_raw_tp': return refused('tp_btf', '5.5');
    default: return refused('BTF tracing', '5.5');
  }
}

const KPROBE_PMU = '/sys/bus/event_source/devices/kprobe';
const KPROBE_EVENTS = ['/sys/kernel/tracing/kprobe_events', '/sys/kernel/debug/tracing/kprobe_events'];

function kprobeHint(text: string): string {
  const target = /kprobe '([^'+]+)/.exec(text)?.[1];
  if (!fs.existsSync(KPROBE_PMU) && !KPROBE_EVENTS.some((f) => fs.existsSync(f))) {
    return 'this kernel has no kprobes: it was built without CONFIG_KPROBES/CONFIG_KPROBE_EVENTS (no kprobe PMU, no kprobe_events in tracefs); ' +
      'use tracepoints, or fentry/fexit (Linux 5.5+) where the kernel allows them';
  }
  return `no traceable kernel function${target ? ` '${target}'` : ''}: check /proc/kallsyms (it may be inlined, static or marked notrace)`;
}

/** Hints for the attach calls of attach-trace.ts; undefined when the generic ones apply. */
export function traceHint(code: string, syscall: string, text: string): string | undefined {
  if (syscall === 'bpf_program__attach_kprobe_opts' || syscall === 'bpf_program__attach_ksyscall') {
    if (code === 'ENOENT' || code === 'EOPNOTSUPP') return kprobeHint(text);
  }
  if (syscall === 'bpf_program__attach_kprobe_multi_opts') {
    if (code === 'EOPNOTSUPP') return 'kprobe.multi needs Linux 5.18+ built with CONFIG_FPROBE (this kernel lacks it)';
    if (code === 'ESRCH' || code === 'ENOENT') return 'no kernel function matched (see /proc/kallsyms and available_filter_functions in tracefs)';
  }
  if (syscall === 'bpf_program__attach_uprobe_multi' && (code === 'EOPNOTSUPP' || code === 'EINVAL') && !/find|symbol/.test(text)) {
    return 'uprobe.multi needs Linux 6.6+ and a SEC("uprobe.multi") program';
  }
  if (/^bpf_program__attach_(uprobe|usdt)/.test(syscall) && (code === 'ENOENT' || code === 'ESRCH')) {
    if (/usdt|note/i.test(text) || syscall === 'bpf_program__attach_usdt') return 'no such USDT probe in the binary (readelf -n shows its .note.stapsdt probes)';
    return "no such function symbol in the binary's .symtab/.dynsym (nm -D shows them); stripped binaries need an offset";
  }
  if (syscall === 'perf_event_open') {
    if (code === 'ENOENT' || code === 'ENODEV') return "no PMU for this event here: virtual machines often expose no hardware counters; use { type: 'software', config: 'cpu-clock' }";
    if (code === 'EOPNOTSUPP') return 'this PMU cannot sample (no overflow interrupt); use a software event such as cpu-clock';
    if (code === 'EACCES' || code === 'EPERM') return 'perf events need CAP_PERFMON (or root), or a lower kernel.perf_event_paranoid';
    if (code === 'EINVAL') return 'the frequency may exceed kernel.perf_event_max_sample_rate, or the CPU is offline';
  }
  if (syscall === 'bpf_program__attach_perf_event_opts' && code === 'EINVAL') {
    return 'only SEC("perf_event") programs attach to sampling perf events';
  }
  return undefined;
}
