// `node-libbpf doctor`: what this machine's kernel allows for BPF, and why not. Facts are
// read from /proc and /sys; then every attach kind, program type and map type is probed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as zlib from 'node:zlib';
import { addon, addonLoadError } from '../base/native';
import { Btf } from '../btf/btf';
import { effectiveCapabilities } from '../errors/capabilities';
import { ATTACH_KINDS, probe, type ProbeResult } from '../probe/probe';

/** Kernel config options doctor reports (without the CONFIG_ prefix). */
export const CONFIG_KEYS = [
  'BPF_SYSCALL', 'BPF_JIT', 'BPF_JIT_ALWAYS_ON', 'DEBUG_INFO_BTF', 'DEBUG_INFO_BTF_MODULES', 'BPF_EVENTS',
  'KPROBES', 'KPROBE_EVENTS', 'UPROBES', 'UPROBE_EVENTS', 'FPROBE', 'FUNCTION_TRACER', 'DYNAMIC_FTRACE',
  'FUNCTION_ERROR_INJECTION', 'BPF_LSM', 'SECURITY_LOCKDOWN_LSM', 'LSM', 'CGROUP_BPF', 'NET_CLS_BPF',
  'NET_SCH_INGRESS', 'NET_XGRESS', 'NETFILTER_BPF_LINK', 'XDP_SOCKETS',
] as const;

const BPF_CAPS = ['CAP_NET_ADMIN', 'CAP_SYS_ADMIN', 'CAP_SYS_RESOURCE', 'CAP_PERFMON', 'CAP_BPF'] as const;

/** What an agent needs from its container: see AGENT_REQUIREMENTS. */
export interface AgentRequirements {
  /** Why the agent shares the host's PID namespace. */
  readonly hostPID: string;
  /** Host paths to mount at the same place in the container. */
  readonly mounts: readonly {
    /** The host path. */
    readonly path: string;
    /** Why the agent needs it. */
    readonly why: string;
  }[];
  /** Capabilities to add instead of running privileged. */
  readonly capabilities: readonly {
    /** The capability. */
    readonly name: 'CAP_BPF' | 'CAP_PERFMON' | 'CAP_NET_ADMIN' | 'CAP_SYS_RESOURCE';
    /** Why the agent needs it. */
    readonly why: string;
    /** Only for some programs (network attach kinds; kernels before 5.11). */
    readonly optional?: boolean;
  }[];
}

/**
 * What an agent built on node-libbpf needs from a container, with why: the host paths to
 * mount in (at the same place) and the capabilities to add, instead of running privileged.
 * deploy/daemonset.yaml provides each (test/package/deploy.test.ts checks it against this).
 * `optional`: only for some programs (network attach kinds; kernels before 5.11).
 */
export const AGENT_REQUIREMENTS: AgentRequirements = {
  hostPID: 'the agent sees the host\'s processes: BPF programs report host PIDs, and /proc/<pid> (comm, exe, cgroup) must mean the same process',
  mounts: [
    { path: '/sys/kernel/btf', why: 'the running kernel\'s BTF: libbpf relocates CO-RE programs against /sys/kernel/btf/vmlinux (and module BTF)' },
    { path: '/sys/kernel/tracing', why: 'tracefs: libbpf reads tracepoint ids under events/ to attach tracepoint programs, and registers kprobe/uprobe events on kernels without perf-PMU attach' },
    { path: '/sys/fs/bpf', why: 'bpffs: maps and links pinned there outlive an agent restart' },
    { path: '/sys/fs/cgroup', why: "the host's cgroup tree (cgroup2 at /sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts): ContainerResolver turns bpf_get_current_cgroup_id() into containers and pods; a container's own cgroupfs shows only itself" },
  ],
  capabilities: [
    { name: 'CAP_BPF', why: 'create maps, load programs, read BTF (Linux 5.8+; before that only CAP_SYS_ADMIN does)' },
    { name: 'CAP_PERFMON', why: 'tracing programs (kprobe, tracepoint, perf_event, fentry), perf_event_open, bpf_probe_read of kernel memory' },
    { name: 'CAP_NET_ADMIN', why: 'network programs: XDP, tc/tcx, cgroup socket hooks, netfilter', optional: true },
    { name: 'CAP_SYS_RESOURCE', why: 'raising RLIMIT_MEMLOCK, which kernels before 5.11 charge BPF maps to', optional: true },
  ],
};

/**
 * What `doctor()` found: facts read from /proc and /sys (null where the file is not
 * there), then one probe result per attach kind, program type and map type.
 */
export interface DoctorReport {
  /** The libbpf version linked into the addon, e.g. '1.7.0'; null when the addon cannot load here. */
  libbpf: string | null;
  /** Whether the native addon loads, and if not, why and what to do (probes need it). */
  addon:
    | {
        /** The addon loads. */
        loaded: true;
      }
    | {
        /** The addon cannot load here. */
        loaded: false;
        /** Why, and what to do (AddonLoadError's message). */
        error: string;
      };
  /** The running kernel. */
  kernel: {
    /** `uname -r`. */
    release: string;
    /** `uname -v`. */
    version: string;
  };
  /** Where the config came from, and each key's value: 'y', 'm', a string, or 'n' when "is not set". Absent keys are unknown. */
  config: {
    /** /proc/config.gz or /boot/config-<release>; null when neither could be read. */
    source: string | null;
    /** Every CONFIG_ key of the file, without the prefix. */
    values: Record<string, string>;
  };
  /** The kernel's BTF, which CO-RE needs. */
  btf: {
    /** Whether /sys/kernel/btf/vmlinux exists. */
    vmlinux: boolean;
    /** Its size in bytes. */
    size?: number;
    /** How many kernel modules have BTF of their own. */
    modules: number;
  };
  /** Who this process is, for BPF. */
  privileges: {
    /** The uid (process.getuid(); -1 where there is none). */
    uid: number;
    /** Which of the capabilities BPF asks for the process has (effective set). */
    capabilities: Record<'CAP_NET_ADMIN' | 'CAP_SYS_ADMIN' | 'CAP_SYS_RESOURCE' | 'CAP_PERFMON' | 'CAP_BPF', boolean>;
    /** Every capability in the effective set (CapEff of /proc/self/status), by name ('CAP_BPF', ...). */
    effective: string[];
  };
  /** BPF tokens: delegated BPF access for a user namespace (Linux 6.9+; BpfObject.open's bpfToken option). */
  token: {
    /** Whether the kernel has BPF_TOKEN_CREATE (its BTF names it in enum bpf_cmd); null without kernel BTF. */
    supported: boolean | null;
    /** The bpffs mounts this process sees that delegate something (delegate_cmds, ... mount options). */
    delegated: {
      /** The mount point. */
      path: string;
      /** The delegate_* options as mounted, e.g. { delegate_cmds: 'map_create:prog_load' }. */
      options: Record<string, string>;
    }[];
  };
  /** kernel.unprivileged_bpf_disabled: 0 allowed, 1 or 2 refused to unprivileged users. */
  unprivilegedBpfDisabled: number | null;
  /** The lockdown mode ('none', 'integrity', 'confidentiality'): integrity and up refuse much of tracing. */
  lockdown: string | null;
  /** The active LSMs, in order (/sys/kernel/security/lsm). */
  lsms: string[] | null;
  /** Where the file systems BPF uses are mounted (null: not mounted). */
  mounts: {
    /** bpffs, for pins. */
    bpffs: string | null;
    /** tracefs, for tracepoints, kprobes and uprobes. */
    tracefs: string | null;
    /** Whether this process may read tracefs's events/ (tracepoint attach reads ids there); null when not mounted. */
    tracefsReadable: boolean | null;
    /** cgroup v2, for cgroup programs and iterators. */
    cgroup2: string | null;
  };
  /** net.core.bpf_jit_enable: 0 interpreter, 1 JIT, 2 JIT with debug output. */
  jit: number | null;
  /** This process's RLIMIT_MEMLOCK ('unlimited' or 'N bytes'; kernels before 5.11 charge maps to it). */
  memlock: string | null;
  /** probe.attach() of every attach kind. */
  attach: Record<string, ProbeResult>;
  /** probe.programType() of every program type libbpf knows. */
  programTypes: Record<string, ProbeResult>;
  /** probe.mapType() of every map type libbpf knows. */
  mapTypes: Record<string, ProbeResult>;
  /** AGENT_REQUIREMENTS checked here: each mount and capability, and whether this process has it. */
  agent: {
    /** A mount, capability or hostPID an agent needs (AGENT_REQUIREMENTS). */
    requirement: string;
    /** Whether this process has it. */
    met: boolean;
    /** Needed only by some programs. */
    optional: boolean;
    /** Why an agent needs it. */
    why: string;
  }[];
}

function read(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

function readNumber(file: string): number | null {
  const s = read(file);
  return s === null ? null : Number(s);
}

/** The kernel's build config: /proc/config.gz, else /boot/config-<release>. */
export function kernelConfig(): { source: string | null; values: Record<string, string> } {
  let text: string | null = null;
  let source: string | null = null;
  try {
    text = zlib.gunzipSync(fs.readFileSync('/proc/config.gz')).toString('utf8');
    source = '/proc/config.gz';
  } catch {
    source = `/boot/config-${os.release()}`;
    text = read(source);
    if (text === null) source = null;
  }
  const values: Record<string, string> = {};
  for (const line of (text ?? '').split('\n')) {
    const set = /^CONFIG_([A-Z0-9_]+)=(.*)$/.exec(line);
    if (set) values[set[1]] = set[2].replace(/^"(.*)"$/, '$1');
    const unset = /^# CONFIG_([A-Z0-9_]+) is not set$/.exec(line);
    if (unset) values[unset[1]] = 'n';
  }
  return { source, values };
}

function mounts(): DoctorReport['mounts'] {
  const out: DoctorReport['mounts'] = { bpffs: null, tracefs: null, tracefsReadable: null, cgroup2: null };
  for (const line of (read('/proc/self/mounts') ?? '').split('\n')) {
    const [, dir, type] = line.split(' ');
    if (type === 'bpf') out.bpffs ??= dir;
    if (type === 'tracefs') out.tracefs ??= dir;
    if (type === 'cgroup2') out.cgroup2 ??= dir;
  }
  if (out.tracefs !== null) out.tracefsReadable = readable(`${out.tracefs}/events`);
  return out;
}

function readable(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.R_OK | fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

// /proc/self/mounts escapes blanks in paths as octal (\040).
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

function token(): DoctorReport['token'] {
  let supported: boolean | null = null;
  try {
    supported = !!Btf.fromKernel().find('bpf_cmd', 'enum')?.values?.some((v) => v.name === 'BPF_TOKEN_CREATE');
  } catch {
    // no kernel BTF: unknown
  }
  const delegated: DoctorReport['token']['delegated'] = [];
  for (const line of (read('/proc/self/mounts') ?? '').split('\n')) {
    const [, dir, type, opts] = line.split(' ');
    if (type !== 'bpf') continue;
    const options = Object.fromEntries((opts ?? '').split(',').filter((o) => o.startsWith('delegate_')).map((o) => o.split('=') as [string, string]));
    if (Object.keys(options).length) delegated.push({ path: unescape(dir), options });
  }
  return { supported, delegated };
}

function capabilities(): DoctorReport['privileges']['capabilities'] {
  const held = effectiveCapabilities();
  const caps = {} as Record<(typeof BPF_CAPS)[number], boolean>;
  for (const name of BPF_CAPS) caps[name] = held.has(name);
  return caps;
}

function probeAll(list: string[], fn: (name: string) => ProbeResult): Record<string, ProbeResult> {
  const out: Record<string, ProbeResult> = {};
  for (const name of list) {
    if (!name || name === 'unspec') continue;
    try {
      out[name] = fn(name);
    } catch (e) {
      out[name] = { supported: false, reason: `probe failed: ${e instanceof Error ? e.message : String(e)}` };
    }
  }
  return out;
}

/**
 * Everything doctor knows about this machine, as data (what `doctor --json` prints).
 * @example const report = doctor(); console.log(report.attach.fentry);
 */
export function doctor(): DoctorReport {
  const vmlinux = fs.statSync('/sys/kernel/btf/vmlinux', { throwIfNoEntry: false });
  let modules = 0;
  try {
    modules = fs.readdirSync('/sys/kernel/btf').filter((n) => n !== 'vmlinux').length;
  } catch {
    // no /sys/kernel/btf at all
  }
  const lockdown = read('/sys/kernel/security/lockdown');
  const memlock = /^Max locked memory\s+(\S+)\s+(\S+)/m.exec(read('/proc/self/limits') ?? '');
  // Without the addon the facts above still hold; the probes below need it.
  const loadError = addonLoadError();
  const probes = !loadError;
  return {
    libbpf: probes ? addon.libbpfVersion() : null,
    addon: loadError ? { loaded: false, error: loadError.message } : { loaded: true },
    kernel: { release: os.release(), version: os.version() },
    config: kernelConfig(),
    btf: { vmlinux: !!vmlinux, size: vmlinux?.size, modules },
    privileges: { uid: process.getuid?.() ?? -1, capabilities: capabilities(), effective: [...effectiveCapabilities()] },
    token: token(),
    unprivilegedBpfDisabled: readNumber('/proc/sys/kernel/unprivileged_bpf_disabled'),
    lockdown: lockdown ? /\[(\w+)\]/.exec(lockdown)?.[1] ?? lockdown : null,
    lsms: read('/sys/kernel/security/lsm')?.split(',') ?? null,
    mounts: mounts(),
    jit: readNumber('/proc/sys/net/core/bpf_jit_enable'),
    memlock: memlock ? (memlock[1] === 'unlimited' ? 'unlimited' : `${memlock[1]} bytes`) : null,
    attach: probes ? probeAll([...ATTACH_KINDS], (k) => probe.attach(k as (typeof ATTACH_KINDS)[number])) : {},
    programTypes: probes ? probeAll(addon.programTypes(), probe.programType) : {},
    mapTypes: probes ? probeAll(addon.mapTypes(), probe.mapType) : {},
    agent: agentChecks(),
  };
}

function agentChecks(): DoctorReport['agent'] {
  const have = mounts();
  const caps = capabilities();
  const mounted: Record<string, boolean> = {
    '/sys/kernel/btf': fs.existsSync('/sys/kernel/btf/vmlinux'),
    '/sys/kernel/tracing': have.tracefs === '/sys/kernel/tracing',
    '/sys/fs/bpf': have.bpffs === '/sys/fs/bpf',
    '/sys/fs/cgroup': have.cgroup2 !== null && (have.cgroup2 === '/sys/fs/cgroup' || have.cgroup2.startsWith('/sys/fs/cgroup/')),
  };
  return [
    ...AGENT_REQUIREMENTS.mounts.map((m) => ({ requirement: m.path, met: mounted[m.path], optional: false, why: m.why })),
    ...AGENT_REQUIREMENTS.capabilities.map((c) => ({
      requirement: c.name,
      met: caps[c.name],
      optional: c.optional === true,
      why: c.why,
    })),
  ];
}

const yes = (b: boolean): string => (b ? 'yes' : 'no');

function tokenLine(t: DoctorReport['token']): string {
  const kernel = t.supported === null ? 'unknown (no kernel BTF)' : t.supported ? 'supported (BPF_TOKEN_CREATE)' : 'not supported (Linux 6.9+)';
  const mounts = t.delegated.map((d) => `${d.path} (${Object.entries(d.options).map(([k, v]) => `${k}=${v}`).join(',')})`);
  return `${kernel}; delegated bpffs: ${mounts.length ? mounts.join(', ') : 'none visible'}`;
}

function line(name: string, r: ProbeResult): string {
  return `  ${r.supported ? 'ok ' : 'no '} ${name}${r.reason ? `: ${r.reason}` : ''}${!r.supported && r.needs ? ` [needs ${r.needs}]` : ''}`;
}

function refusals(title: string, results: Record<string, ProbeResult>): string[] {
  const names = Object.keys(results);
  const no = names.filter((n) => !results[n].supported);
  return [`${title}: ${names.length - no.length} of ${names.length} load here${no.length ? '; refused:' : ''}`, ...no.map((n) => line(n, results[n]))];
}

/** The report as the lines `node-libbpf doctor` prints. */
export function formatDoctor(r: DoctorReport): string {
  const c = r.config.values;
  const cfg = CONFIG_KEYS.filter((k) => k in c).map((k) => `${k}=${c[k]}`);
  const caps = Object.entries(r.privileges.capabilities).map(([k, v]) => `${k} ${yes(v)}`).join(', ');
  const unpriv = r.unprivilegedBpfDisabled;
  const unprivText = unpriv === null ? 'unknown' : `${unpriv} (${unpriv === 0 ? 'unprivileged BPF allowed' : unpriv === 1 ? 'unprivileged BPF off until reboot' : 'unprivileged BPF off, root may re-enable'})`;
  const m = r.mounts;
  const out = [
    `node-libbpf doctor (${r.libbpf ? `libbpf ${r.libbpf}` : 'addon not loaded'})`,
    '',
    ...(r.addon.loaded ? [] : [`addon        cannot load: ${r.addon.error.replace(/\n/g, '\n             ')}`, '']),
    `kernel       ${r.kernel.release} ${r.kernel.version}`,
    `config       ${r.config.source ?? 'not found (no /proc/config.gz or /boot/config-*)'}`,
    ...(cfg.length ? [`             ${cfg.join(' ')}`] : []),
    `BTF          ${r.btf.vmlinux ? `/sys/kernel/btf/vmlinux (${((r.btf.size ?? 0) / 2 ** 20).toFixed(1)} MiB), ${r.btf.modules} module BTF(s)` : 'none: CO-RE needs CONFIG_DEBUG_INFO_BTF=y, or btfCustomPath (see `node-libbpf gen min-btf`)'}`,
    `privileges   uid ${r.privileges.uid}; ${caps}`,
    `             effective: ${r.privileges.effective.length ? r.privileges.effective.join(' ') : 'none'}`,
    `unprivileged_bpf_disabled ${unprivText}`,
    `lockdown     ${r.lockdown ?? 'unknown (securityfs not mounted at /sys/kernel/security)'}`,
    `LSMs         ${r.lsms?.join(',') ?? (c.LSM ? `unknown; built with ${c.LSM}` : 'unknown')}`,
    `bpffs        ${m.bpffs ?? 'not mounted (mount -t bpf bpf /sys/fs/bpf)'}`,
    `tracefs      ${m.tracefs === null ? 'not mounted (mount -t tracefs tracefs /sys/kernel/tracing)' : m.tracefsReadable ? m.tracefs : `${m.tracefs}, mounted but not readable by uid ${r.privileges.uid} (tracepoint attach reads ids under events/: run as root, with CAP_DAC_OVERRIDE, or mount tracefs with gid=/mode=)`}`,
    `cgroup2      ${m.cgroup2 ?? 'not mounted'}`,
    `BPF token    ${tokenLine(r.token)}`,
    `JIT          ${r.jit === null ? 'unknown' : r.jit ? `on (bpf_jit_enable=${r.jit})` : 'off (interpreter)'}`,
    `memlock      ${r.memlock ?? 'unknown'}${r.memlock && r.memlock !== 'unlimited' ? ' (kernels since 5.11 charge BPF memory to the cgroup instead)' : ''}`,
    '',
    ...(r.addon.loaded ? [
      'attach kinds (load and attach a tiny program):',
      ...Object.entries(r.attach).map(([k, v]) => line(k, v)),
      '',
      ...refusals('program types', r.programTypes),
      ...refusals('map types', r.mapTypes),
    ] : ['attach kinds, program types, map types: not probed (the probes need the addon)']),
    '',
    'an agent in a container needs (deploy/daemonset.yaml):',
    ...r.agent.map((a) => `  ${a.met ? 'ok ' : 'no '} ${a.requirement}${a.optional ? ' (optional)' : ''}: ${a.why}`),
  ];
  return `${out.join('\n')}\n`;
}
