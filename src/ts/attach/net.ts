// Network attach kinds and BPF_PROG_TEST_RUN: option parsing for Program's attachXdp,
// attachTcx, attachCgroup, attachNetns, attachSocket, attachSockmap, attachNetfilter and
// testRun (program.ts). Every attachment comes back as a NativeLink the addon owns, also
// those that are no libbpf bpf_link: fd-only links from bpf_link_create(), classic tc
// filters and socket filters.
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import { argRangeError, argTypeError, checkBytes, checkInteger, checkOptions, checkString } from '../base/args';
import { BpfError } from '../errors/bpf-error';
import { addon, type NativeLink, type NativeProgram, type NativeTestRunOptions, type NativeTestRunResult } from '../base/native';

const { errno } = os.constants;

/** What the attach functions need from the Program they act for; they return the native link it adopts. */
export interface NetProgram {
  readonly native: NativeProgram;
  /** Whether `value` is a Link (tcx anchors: BPF_F_LINK) rather than a Program. */
  isLink(value: unknown): boolean;
}

// --- interfaces ------------------------------------------------------------------------

/** An interface index from a name ('eth0') or an index, checked to exist (RangeError otherwise). */
export function resolveIfindex(value: unknown, name = 'ifname'): number {
  if (typeof value === 'string') {
    checkString(value, name);
    const index = addon.NativeProgram.ifNameToIndex(value);
    if (index === 0) throw argRangeError(name, 'the name of an existing network interface', value);
    return index;
  }
  if (typeof value === 'number') {
    const index = checkInteger(value, name, 1, 0x7fffffff);
    if (addon.NativeProgram.ifIndexToName(index) === null) throw argRangeError(name, 'the index of an existing network interface', value);
    return index;
  }
  throw argTypeError(name, 'an interface name or index', value);
}

function requireType(native: NativeProgram, call: string, types: readonly string[]): string {
  const type = native.type();
  if (!types.includes(type)) {
    const list = types.length === 1 ? `a ${types[0]}` : `one of ${types.join(', ')}`;
    throw new TypeError(`${call}: expected ${list} program, got '${native.name()}' of type ${type}`);
  }
  return type;
}

let attachTypeNames: string[] | undefined;
function checkAttachType(value: unknown, name: string, allowed?: (t: string) => boolean): string {
  attachTypeNames ??= addon.attachTypes();
  const known = attachTypeNames.filter((t) => !allowed || allowed(t));
  if (typeof value !== 'string') throw argTypeError(name, 'an attach type name', value);
  if (!known.includes(value)) throw argRangeError(name, `one of ${known.join(', ')}`, value);
  return value;
}

// --- XDP -------------------------------------------------------------------------------

export interface XdpOptions {
  /** 'skb' (generic, any device), 'driver' (native), 'hw' (offloaded). Default: the kernel's choice (driver when the device supports it). */
  mode?: 'skb' | 'driver' | 'hw';
}
const XDP_MODES: Record<string, number> = { skb: 1 << 1, driver: 1 << 2, hw: 1 << 3 };

export function attachXdp(p: NetProgram, ifnameOrIndex: unknown, options: unknown): NativeLink {
  const o = checkOptions<XdpOptions>(options, 'options', ['mode']);
  requireType(p.native, 'attachXdp', ['xdp']);
  const ifindex = resolveIfindex(ifnameOrIndex);
  if (o.mode === undefined) return p.native.attachXdp(ifindex);
  if (typeof o.mode !== 'string' || !Object.hasOwn(XDP_MODES, o.mode)) throw argRangeError('options.mode', "'skb', 'driver' or 'hw'", o.mode);
  return p.native.linkCreate(ifindex, 'xdp', XDP_MODES[o.mode], 0, 0, 0);
}

// --- tcx and classic tc ---------------------------------------------------------------

export interface TcxOptions {
  /** Default: the section's (tcx/ingress, tcx/egress); required for plain SEC("tc") programs. */
  direction?: 'ingress' | 'egress';
  /** Run before this program or link (attached at the same hook); tcx only. */
  before?: { readonly fd: number };
  /** Run after this program or link; tcx only. */
  after?: { readonly fd: number };
  /** Fail with ESTALE unless the hook's revision is this (tcx only; see the kernel's bpf_mprog). */
  expectedRevision?: number;
  /**
   * 'tcx' (a tcx link, kernel 6.6+), 'tc' (classic tc: a clsact qdisc and a direct-action
   * cls_bpf filter), or 'auto' (default): tcx, falling back to classic tc when the kernel
   * refuses tcx links with EINVAL (kernels before 6.6) and no before/after was asked for.
   */
  mode?: 'auto' | 'tcx' | 'tc';
  /** Classic tc only: the filter's priority 1..65535 (default: the kernel picks). */
  priority?: number;
  /** Classic tc only: the filter's handle (default: the kernel picks). */
  handle?: number;
}
const BPF_F_BEFORE = 1 << 3;
const BPF_F_AFTER = 1 << 4;
const BPF_F_LINK = 1 << 13;

function anchor(p: NetProgram, value: unknown, name: string): { fd: number; isLink: boolean } {
  const fd = (value as { fd?: unknown } | null)?.fd;
  if (typeof value !== 'object' || value === null || typeof fd !== 'number') throw argTypeError(name, 'a Program or a Link', value);
  if (fd < 0) throw argRangeError(name, 'a loaded Program or a tcx Link', value);
  return { fd, isLink: p.isLink(value) };
}

export function attachTcx(p: NetProgram, ifnameOrIndex: unknown, options: unknown): NativeLink {
  const o = checkOptions<TcxOptions>(options, 'options', ['direction', 'before', 'after', 'expectedRevision', 'mode', 'priority', 'handle']);
  requireType(p.native, 'attachTcx', ['sched_cls']);
  const ifindex = resolveIfindex(ifnameOrIndex);
  const fromSection = /^tcx_(ingress|egress)$/.exec(p.native.expectedAttachType() ?? '')?.[1];
  const direction = o.direction ?? fromSection;
  if (direction !== 'ingress' && direction !== 'egress') {
    throw argRangeError('options.direction', `'ingress' or 'egress'${o.direction === undefined ? ' (the section names no direction)' : ''}`, o.direction);
  }
  const mode = o.mode ?? 'auto';
  if (mode !== 'auto' && mode !== 'tcx' && mode !== 'tc') throw argRangeError('options.mode', "'auto', 'tcx' or 'tc'", mode);
  if (o.before !== undefined && o.after !== undefined) throw argTypeError('options.after', 'undefined when options.before is given', o.after);
  let flags = 0;
  let relative = 0;
  const rel = o.before !== undefined ? anchor(p, o.before, 'options.before') : o.after !== undefined ? anchor(p, o.after, 'options.after') : undefined;
  if (rel) {
    flags |= (o.before !== undefined ? BPF_F_BEFORE : BPF_F_AFTER) | (rel.isLink ? BPF_F_LINK : 0);
    relative = rel.fd;
  }
  const revision = o.expectedRevision === undefined ? 0 : checkInteger(o.expectedRevision, 'options.expectedRevision', 1, 0xffffffff);
  const priority = o.priority === undefined ? 0 : checkInteger(o.priority, 'options.priority', 1, 0xffff);
  const handle = o.handle === undefined ? 0 : checkInteger(o.handle, 'options.handle', 1, 0xffffffff);
  if ((rel || revision) && mode === 'tc') throw argTypeError('options.mode', "'tcx' or 'auto' with before/after/expectedRevision (classic tc has no ordering)", mode);

  const tc = (): NativeLink => p.native.tcAttach(ifindex, direction === 'egress', handle, priority);
  if (mode === 'tc') return tc();
  try {
    if (fromSection === direction) return p.native.attachTcx(ifindex, flags, relative, 0, revision);
    return p.native.linkCreate(ifindex, `tcx_${direction}`, flags, relative, 0, revision);
  } catch (e) {
    if (mode === 'auto' && !rel && !revision && e instanceof BpfError && e.code === 'EINVAL') return tc();
    throw e;
  }
}

// --- cgroups, network namespaces --------------------------------------------------------

const CGROUP_TYPES = ['cgroup_skb', 'cgroup_sock', 'cgroup_sock_addr', 'cgroup_sockopt', 'cgroup_sysctl', 'cgroup_device', 'sock_ops'] as const;

export interface CgroupOptions {
  /** The attach type, as libbpf names it (default: the section's, e.g. 'cgroup_inet_egress' for cgroup_skb/egress). */
  attachType?: string;
}

function checkTarget(value: unknown, name: string): string | number {
  if (typeof value === 'number') return checkInteger(value, name, 0, 0x7fffffff);
  if (typeof value === 'string') return checkString(value, name);
  throw argTypeError(name, 'a path or a file descriptor', value);
}

export function attachCgroup(p: NetProgram, path: unknown, options: unknown): NativeLink {
  const o = checkOptions<CgroupOptions>(options, 'options', ['attachType']);
  requireType(p.native, 'attachCgroup', CGROUP_TYPES);
  const target = checkTarget(path, 'path');
  const expected = p.native.expectedAttachType();
  const type = o.attachType === undefined ? expected : checkAttachType(o.attachType, 'options.attachType', (t) => /^cgroup_|^sock_ops$/.test(t));
  if (type === null) throw argRangeError('options.attachType', 'an attach type (the section names none)', o.attachType);
  if (type === expected) return p.native.attachCgroup(target);
  return p.native.linkCreate(target, type, 0, 0, 0, 0); // a path is opened (and closed) by the addon
}

export function attachNetns(p: NetProgram, netns: unknown): NativeLink {
  requireType(p.native, 'attachNetns', ['sk_lookup', 'flow_dissector']);
  return p.native.attachNetns(checkTarget(netns, 'netns'));
}

// --- sockets ----------------------------------------------------------------------------

/** A socket's fd: an fd number, a net.Socket/net.Server, or a bound dgram.Socket. */
export function socketFd(value: unknown, name: string): number {
  if (typeof value === 'number') return checkInteger(value, name, 0, 0x7fffffff);
  const handleFd = (handle: unknown): number | undefined => {
    const fd = (handle as { fd?: unknown } | null | undefined)?.fd;
    return typeof fd === 'number' && fd >= 0 ? fd : undefined;
  };
  if (value instanceof net.Socket || value instanceof net.Server) {
    const fd = handleFd((value as unknown as { _handle?: unknown })._handle);
    if (fd === undefined) throw argRangeError(name, 'a connected or listening socket', value);
    return fd;
  }
  if (value instanceof dgram.Socket) {
    // Node keeps a dgram socket's handle under an internal symbol ('state symbol'); its
    // public `_handle` getter is deprecated (DEP0112). Failing that, find the fd by the
    // socket's inode, from /proc/net/udp{,6} and /proc/self/fd.
    const state = Object.getOwnPropertySymbols(value).find((s) => s.description === 'state symbol');
    const fd = handleFd(state && (value as unknown as Record<symbol, { handle?: unknown }>)[state]?.handle);
    if (fd !== undefined) return fd;
    const found = udpFdByPort(value);
    if (found === undefined) throw argRangeError(name, 'a bound dgram socket', value);
    return found;
  }
  throw argTypeError(name, 'a file descriptor, a net.Socket or a dgram.Socket', value);
}

function udpFdByPort(socket: dgram.Socket): number | undefined {
  let port: number;
  try {
    port = socket.address().port;
  } catch {
    return undefined; // not bound
  }
  const inodes = new Set<string>();
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && parseInt(cols[1].split(':')[1], 16) === port) inodes.add(cols[9]);
    }
  }
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`));
      if (m && inodes.has(m[1])) return Number(fd);
    } catch {
      // closed meanwhile
    }
  }
  return undefined;
}

export function attachSocket(p: NetProgram, socket: unknown): NativeLink {
  requireType(p.native, 'attachSocket', ['socket_filter']);
  return p.native.socketAttach(socketFd(socket, 'socket'));
}

export interface SockmapOptions {
  /** 'sk_msg_verdict', 'sk_skb_stream_parser', 'sk_skb_stream_verdict' or 'sk_skb_verdict' (default: the section's). */
  attachType?: string;
}

export function attachSockmap(p: NetProgram, map: unknown, options: unknown): NativeLink {
  const o = checkOptions<SockmapOptions>(options, 'options', ['attachType']);
  requireType(p.native, 'attachSockmap', ['sk_msg', 'sk_skb']);
  const m = map as { type?: unknown; fd?: unknown } | null;
  if (typeof map !== 'object' || m === null || typeof m.fd !== 'number' || typeof m.type !== 'string') throw argTypeError('map', 'a BpfMap', map);
  if (m.type !== 'sockmap' && m.type !== 'sockhash') throw argRangeError('map', `a sockmap or sockhash map, got a ${m.type} map; value`, map);
  const expected = p.native.expectedAttachType();
  const type = o.attachType === undefined ? expected : checkAttachType(o.attachType, 'options.attachType', (t) => /^sk_(msg|skb)_/.test(t));
  if (type === null) throw argRangeError('options.attachType', 'an attach type (the section names none)', o.attachType);
  if (type === expected) return p.native.attachSockmap(m.fd);
  return p.native.linkCreate(m.fd, type, 0, 0, 0, 0);
}

// --- netfilter ----------------------------------------------------------------------------

export interface NetfilterOptions {
  family: 'ipv4' | 'ipv6';
  hook: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
  /** Order among the hook's functions (lower runs first); not INT32_MIN/INT32_MAX. */
  priority: number;
  /** Ask for IP defragmentation before the program runs (kernel 6.6+). */
  defrag?: boolean;
}
const NF_FAMILIES: Record<string, number> = { ipv4: 2, ipv6: 10 };
const NF_HOOKS: Record<string, number> = { prerouting: 0, input: 1, forward: 2, output: 3, postrouting: 4 };

export function attachNetfilter(p: NetProgram, options: unknown): NativeLink {
  if (options === undefined) throw argTypeError('options', 'an options object with family, hook and priority', options);
  const o = checkOptions<NetfilterOptions>(options, 'options', ['family', 'hook', 'priority', 'defrag']);
  requireType(p.native, 'attachNetfilter', ['netfilter']);
  if (typeof o.family !== 'string' || !Object.hasOwn(NF_FAMILIES, o.family)) throw argRangeError('options.family', "'ipv4' or 'ipv6'", o.family);
  if (typeof o.hook !== 'string' || !Object.hasOwn(NF_HOOKS, o.hook)) throw argRangeError('options.hook', `one of ${Object.keys(NF_HOOKS).join(', ')}`, o.hook);
  const priority = checkInteger(o.priority, 'options.priority', -0x7fffffff, 0x7ffffffe);
  if (o.defrag !== undefined && typeof o.defrag !== 'boolean') throw argTypeError('options.defrag', 'a boolean', o.defrag);
  return p.native.attachNetfilter(NF_FAMILIES[o.family], NF_HOOKS[o.hook], priority, o.defrag ? 1 : 0);
}

// --- BPF_PROG_TEST_RUN ----------------------------------------------------------------------

export interface TestRunOptions {
  /** The packet (xdp, skb programs, flow_dissector). */
  data?: Uint8Array;
  /** The context: xdp_md, __sk_buff, bpf_sk_lookup, bpf_flow_keys, a raw_tp's u64 args, a syscall program's struct. */
  ctx?: Uint8Array;
  /** Run this many times (the duration is the average); 0 or 1 run once. testRun() takes up to 1000, testRunAsync() any. */
  repeat?: number;
  /** BPF_F_TEST_* bits (TestRunFlags); `cpu` sets ON_CPU by itself. */
  flags?: number;
  /** Run on this CPU (raw_tp programs only, as the kernel allows). */
  cpu?: number;
  /** Output packet buffer size (default: the input's length plus 4096, room for any growth within a page). */
  dataSizeOut?: number;
  /** Output ctx buffer size (default: the ctx's length). */
  ctxSizeOut?: number;
  /** XDP live frames: packets per batch. */
  batchSize?: number;
}

export interface TestRunResult {
  /** The program's return value as a signed 32-bit integer (XDP_PASS, TC_ACT_OK, TCX_NEXT = -1, ...). */
  retval: number;
  /** Average time per run in nanoseconds, as the kernel measured it (0 where it does not). */
  durationNs: number;
  /** The packet after the run (it may have grown or shrunk). */
  data?: Buffer;
  /** The context after the run. */
  ctx?: Buffer;
}

/** BPF_F_TEST_* flags for testRun's `flags`. */
export const TestRunFlags = Object.freeze({ ON_CPU: 1, XDP_LIVE_FRAMES: 2, SKB_CHECKSUM_COMPLETE: 4 });

/** testRun() runs on the JS thread up to this many repetitions; testRunAsync() for more. */
export const TEST_RUN_SYNC_MAX_REPEAT = 1000;

// Program types whose test run copies the context back out (ctx_out); syscall programs
// write theirs back into ctx_in, and raw_tp takes none back.
const CTX_OUT = /^(xdp|sched_cls|sched_act|socket_filter|cgroup_skb|lwt_\w+|sk_lookup|flow_dissector)$/;

export function testRunOptions(native: NativeProgram, options: unknown, maxRepeat: number): { opts: NativeTestRunOptions; type: string } {
  const o = checkOptions<TestRunOptions>(options, 'options', ['data', 'ctx', 'repeat', 'flags', 'cpu', 'dataSizeOut', 'ctxSizeOut', 'batchSize']);
  const type = native.type();
  const data = o.data === undefined ? undefined : checkBytes(o.data, 'options.data');
  const ctx = o.ctx === undefined ? undefined : checkBytes(o.ctx, 'options.ctx');
  const repeatNote = maxRepeat < 0x7fffffff ? ` (testRunAsync() takes more)` : '';
  const repeat = o.repeat === undefined ? 0 : checkIntegerNote(o.repeat, 'options.repeat', maxRepeat, repeatNote);
  let flags = o.flags === undefined ? 0 : checkInteger(o.flags, 'options.flags', 0, 0xffffffff);
  const cpu = o.cpu === undefined ? 0 : checkInteger(o.cpu, 'options.cpu', 0, 0xffffffff);
  if (o.cpu !== undefined) flags |= TestRunFlags.ON_CPU;
  const dataSizeOut = o.dataSizeOut === undefined ? (data ? data.length + 4096 : 0) : checkInteger(o.dataSizeOut, 'options.dataSizeOut', 0, 0x7fffffff);
  const ctxOutDefault = ctx && CTX_OUT.test(type) ? ctx.length : 0;
  const ctxSizeOut = o.ctxSizeOut === undefined ? ctxOutDefault : checkInteger(o.ctxSizeOut, 'options.ctxSizeOut', 0, 0x7fffffff);
  const batchSize = o.batchSize === undefined ? 0 : checkInteger(o.batchSize, 'options.batchSize', 0, 0xffffffff);
  return { opts: { data, dataSizeOut, ctx, ctxSizeOut, repeat, flags, cpu, batchSize }, type };
}

function checkIntegerNote(value: unknown, name: string, max: number, note: string): number {
  if (typeof value !== 'number') throw argTypeError(name, `an integer 0..${max}${note}`, value);
  if (!Number.isInteger(value) || value < 0 || value > max) throw argRangeError(name, `an integer 0..${max}${note}`, value);
  return value;
}

export function testRunResult(r: NativeTestRunResult, type: string, opts: NativeTestRunOptions): TestRunResult {
  if (r.enospc) {
    const which = r.ctxSizeOut > opts.ctxSizeOut ? `ctx: ${r.ctxSizeOut} bytes, ctxSizeOut was ${opts.ctxSizeOut}` : `data: ${r.dataSizeOut} bytes, dataSizeOut was ${opts.dataSizeOut}`;
    throw new BpfError(errno.ENOSPC, 'bpf_prog_test_run_opts', `the output did not fit (${which})`, {
      hint: 'pass a larger dataSizeOut (or ctxSizeOut)',
    });
  }
  const out: TestRunResult = { retval: r.retval! | 0, durationNs: r.duration! }; // programs return int: TCX_NEXT is -1
  if (r.data) out.data = r.data;
  if (r.ctx) out.ctx = r.ctx;
  else if (type === 'syscall' && r.ctxIn) out.ctx = r.ctxIn;
  return out;
}
