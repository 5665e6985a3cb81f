// LinkInfo: the kernel's view of a link (bpf_link_get_info_by_fd), one shape per link
// type. The addon decodes the C union; this file names its enums.

/** Order of a cgroup iterator's walk (enum bpf_cgroup_iter_order). */
export type CgroupIterOrder = 'self' | 'descendants-pre' | 'descendants-post' | 'ancestors' | 'children';
export const CGROUP_ITER_ORDERS: readonly CgroupIterOrder[] = ['self', 'descendants-pre', 'descendants-post', 'ancestors', 'children'];

interface Common {
  /** The link's kernel id (what `bpftool link` shows). */
  id: number;
  /** The id of the program the link runs (see Program.info().id). */
  programId: number;
}

export type PerfEventLinkInfo = Common & { type: 'perf_event' } & (
    | { kind: 'uprobe' | 'uretprobe'; path: string; offset: number; cookie: bigint; refCtrOffset: bigint }
    | { kind: 'kprobe' | 'kretprobe'; func: string; offset: number; addr: bigint; missed: bigint; cookie: bigint }
    | { kind: 'tracepoint'; tracepoint: string; cookie: bigint }
    | { kind: 'event'; eventType: number; config: bigint; cookie: bigint }
    | { kind: 'unspec' }
  );

/** link.info(): `type` says which fields follow. */
export type LinkInfo =
  | (Common & { type: 'raw_tracepoint'; tracepoint: string; cookie: bigint })
  | (Common & { type: 'tracing'; attachType: string; targetObjId: number; targetBtfId: number; cookie: bigint })
  | (Common & { type: 'cgroup'; cgroupId: bigint; attachType: string })
  | (Common & { type: 'iter'; target: string; mapId?: number; cgroupId?: bigint; order?: CgroupIterOrder; tid?: number; pid?: number })
  | (Common & { type: 'netns'; netnsIno: number; attachType: string })
  | (Common & { type: 'xdp'; ifindex: number })
  | (Common & { type: 'struct_ops'; mapId: number })
  | (Common & { type: 'netfilter'; pf: number; family: 'ipv4' | 'ipv6' | string; hook: number; hookName: string; priority: number; flags: number })
  | (Common & { type: 'kprobe_multi'; count: number; flags: number; retprobe: boolean; missed: bigint })
  | (Common & { type: 'uprobe_multi'; path: string; count: number; flags: number; retprobe: boolean; pid: number })
  | PerfEventLinkInfo
  | (Common & { type: 'tcx'; ifindex: number; attachType: string; direction: 'ingress' | 'egress' })
  | (Common & { type: 'netkit'; ifindex: number; attachType: string; peer: boolean })
  | (Common & { type: 'sockmap'; mapId: number; attachType: string })
  | (Common & { type: 'unspec' | 'unknown' });

const PERF_KINDS = ['unspec', 'uprobe', 'uretprobe', 'kprobe', 'kretprobe', 'tracepoint', 'event'] as const;
const NF_FAMILIES: Record<number, string> = { 2: 'ipv4', 10: 'ipv6', 3: 'arp', 7: 'bridge', 1: 'inet', 5: 'netdev' };
const NF_HOOKS = ['prerouting', 'input', 'forward', 'output', 'postrouting'];

/** Names the numbers the addon passes through. */
export function decodeLinkInfo(raw: { type: string; [k: string]: unknown }): LinkInfo {
  const info: Record<string, unknown> = { ...raw };
  switch (raw.type) {
    case 'iter':
      if (typeof raw.order === 'number') info.order = CGROUP_ITER_ORDERS[raw.order - 1] ?? raw.order;
      break;
    case 'perf_event': {
      const { type, id, programId, perfEventType, ...rest } = raw;
      return { type, id, programId, kind: PERF_KINDS[perfEventType as number] ?? 'unspec', ...rest } as unknown as LinkInfo;
    }
    case 'tcx':
      info.direction = String(raw.attachType).endsWith('egress') ? 'egress' : 'ingress';
      break;
    case 'netkit':
      info.peer = raw.attachType === 'netkit_peer';
      break;
    case 'netfilter':
      info.family = NF_FAMILIES[raw.pf as number] ?? String(raw.pf);
      info.hookName = NF_HOOKS[raw.hook as number] ?? String(raw.hook);
      break;
    case 'kprobe_multi':
    case 'uprobe_multi':
      info.retprobe = ((raw.flags as number) & 1) !== 0; // BPF_F_{K,U}PROBE_MULTI_RETURN
      break;
  }
  return info as unknown as LinkInfo;
}
