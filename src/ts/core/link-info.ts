// LinkInfo: the kernel's view of a link (bpf_link_get_info_by_fd), one shape per link
// type. The addon decodes the C union; this file names its enums.

/** Order of a cgroup iterator's walk (enum bpf_cgroup_iter_order). */
export type CgroupIterOrder = 'self' | 'descendants-pre' | 'descendants-post' | 'ancestors' | 'children';
/** Every CgroupIterOrder, in the kernel's enum order (from 1). */
export const CGROUP_ITER_ORDERS: readonly CgroupIterOrder[] = ['self', 'descendants-pre', 'descendants-post', 'ancestors', 'children'];

/** What every LinkInfo has. */
interface Common {
  /** The link's kernel id (what `bpftool link` shows). */
  id: number;
  /** The id of the program the link runs (see Program.info().id). */
  programId: number;
}

/** A perf_event link's info (`type: 'perf_event'`): `kind` says which perf event it is and which fields follow. */
export type PerfEventLinkInfo = Common & {
  /** The link type. */
  type: 'perf_event';
} & (
    | {
        /** A uprobe or uretprobe. */
        kind: 'uprobe' | 'uretprobe';
        /** The probed binary. */
        path: string;
        /** The probe's file offset in it. */
        offset: number;
        /** The BPF cookie the link was made with. */
        cookie: bigint;
        /** The USDT semaphore's offset (0: none). */
        refCtrOffset: bigint;
      }
    | {
        /** A kprobe or kretprobe. */
        kind: 'kprobe' | 'kretprobe';
        /** The probed kernel function. */
        func: string;
        /** The offset into it. */
        offset: number;
        /** The probe's address (0 unless the reader may see kernel addresses). */
        addr: bigint;
        /** Runs missed because a BPF program already ran on that CPU. */
        missed: bigint;
        /** The BPF cookie the link was made with. */
        cookie: bigint;
      }
    | {
        /** A tracepoint (tp/...). */
        kind: 'tracepoint';
        /** The tracepoint's name. */
        tracepoint: string;
        /** The BPF cookie the link was made with. */
        cookie: bigint;
      }
    | {
        /** A perf event (attachPerfEvent). */
        kind: 'event';
        /** The perf event type (PERF_TYPE_SOFTWARE, PERF_TYPE_HARDWARE, ...). */
        eventType: number;
        /** The event's config (which event of that type). */
        config: bigint;
        /** The BPF cookie the link was made with. */
        cookie: bigint;
      }
    | {
        /** The kernel did not say. */
        kind: 'unspec';
      }
  );

/**
 * link.info(): `type` says which fields follow; every link has `id` and `programId`.
 * @example
 * ```ts
 * const info = link.info();
 * if (info.type === 'tcx') console.log(info.ifindex, info.direction);
 * ```
 */
export type LinkInfo =
  | (Common & {
      /** A raw tracepoint (raw_tp/..., attachRawTracepoint). */
      type: 'raw_tracepoint';
      /** The tracepoint's name. */
      tracepoint: string;
      /** The BPF cookie the link was made with. */
      cookie: bigint;
    })
  | (Common & {
      /** A BPF trampoline: fentry, fexit, fmod_ret, lsm, tp_btf, freplace. */
      type: 'tracing';
      /** The attach type, as libbpf names it ('trace_fentry', 'lsm_mac', ...). */
      attachType: string;
      /** The id of the BTF object (vmlinux, a module, a program) holding the target. */
      targetObjId: number;
      /** The target's BTF type id there. */
      targetBtfId: number;
      /** The BPF cookie the link was made with. */
      cookie: bigint;
    })
  | (Common & {
      /** A cgroup attachment. */
      type: 'cgroup';
      /** The cgroup's id (its cgroup v2 directory's inode number). */
      cgroupId: bigint;
      /** The attach type, as libbpf names it ('cgroup_inet_egress', ...). */
      attachType: string;
    })
  | (Common & {
      /** An iterator (iter/...). */
      type: 'iter';
      /** The iterator target ('task', 'bpf_map_elem', 'cgroup', ...). */
      target: string;
      /** The map a map-element iterator walks. */
      mapId?: number;
      /** The cgroup a cgroup iterator starts from. */
      cgroupId?: bigint;
      /** How a cgroup iterator walks. */
      order?: CgroupIterOrder;
      /** The thread a task iterator is limited to. */
      tid?: number;
      /** The process a task iterator is limited to. */
      pid?: number;
    })
  | (Common & {
      /** A network namespace attachment (sk_lookup, flow_dissector). */
      type: 'netns';
      /** The namespace's inode number. */
      netnsIno: number;
      /** The attach type, as libbpf names it. */
      attachType: string;
    })
  | (Common & {
      /** An XDP link. */
      type: 'xdp';
      /** The interface's index. */
      ifindex: number;
    })
  | (Common & {
      /** A struct_ops map registered as a link. */
      type: 'struct_ops';
      /** The struct_ops map's id. */
      mapId: number;
    })
  | (Common & {
      /** A netfilter hook. */
      type: 'netfilter';
      /** The protocol family number (NFPROTO_*). */
      pf: number;
      /** The family by name ('ipv4', 'ipv6', ...; the number as a string when unknown). */
      family: 'ipv4' | 'ipv6' | string;
      /** The hook number (NF_INET_*). */
      hook: number;
      /** The hook by name ('prerouting', ..., 'postrouting'). */
      hookName: string;
      /** The order among the hook's functions. */
      priority: number;
      /** BPF_F_NETFILTER_* flags (1: IP defragmentation). */
      flags: number;
    })
  | (Common & {
      /** A kprobe.multi link (attachKprobeMulti). */
      type: 'kprobe_multi';
      /** How many functions it probes. */
      count: number;
      /** BPF_F_KPROBE_MULTI_* flags. */
      flags: number;
      /** Whether it probes returns. */
      retprobe: boolean;
      /** Runs missed because a BPF program already ran on that CPU. */
      missed: bigint;
    })
  | (Common & {
      /** A uprobe.multi link (attachUprobeMulti). */
      type: 'uprobe_multi';
      /** The probed binary. */
      path: string;
      /** How many places it probes. */
      count: number;
      /** BPF_F_UPROBE_MULTI_* flags. */
      flags: number;
      /** Whether it probes returns. */
      retprobe: boolean;
      /** The process it is limited to (0: every process). */
      pid: number;
    })
  | PerfEventLinkInfo
  | (Common & {
      /** A tcx link. */
      type: 'tcx';
      /** The interface's index. */
      ifindex: number;
      /** 'tcx_ingress' or 'tcx_egress'. */
      attachType: string;
      /** The direction, from attachType. */
      direction: 'ingress' | 'egress';
    })
  | (Common & {
      /** A netkit link. */
      type: 'netkit';
      /** The netkit device's index. */
      ifindex: number;
      /** 'netkit_primary' or 'netkit_peer'. */
      attachType: string;
      /** Whether it is attached to the peer device. */
      peer: boolean;
    })
  | (Common & {
      /** A sockmap/sockhash attachment. */
      type: 'sockmap';
      /** The map's id. */
      mapId: number;
      /** The attach type, as libbpf names it ('sk_skb_verdict', ...). */
      attachType: string;
    })
  | (Common & {
      /** A link type this libbpf does not name, or one the kernel did not say. */
      type: 'unspec' | 'unknown';
    });

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
