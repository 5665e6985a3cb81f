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
