// Program: a borrowed view of one BPF program of a BpfObject.
import * as os from 'node:os';
import { checkString } from './args';
import * as net from './attach-net';
import { BpfError } from './errors';
import { checkInternal } from './internal';
import type { Link } from './link';
import type { NativeLink, NativeProgram } from './native';

/** What a Program needs from its BpfObject. */
export interface ProgramOwner {
  adoptLink(native: NativeLink): Link;
  verifierLog(program: string): string | undefined;
}

export class Program {
  readonly #native: NativeProgram;
  readonly #owner: ProgramOwner;

  /** @internal Programs come from BpfObject.programs() and program(). */
  constructor(token: symbol, native: NativeProgram, owner: ProgramOwner) {
    checkInternal(token, 'Program');
    this.#native = native;
    this.#owner = owner;
  }

  /** The C function's name. */
  get name(): string {
    return this.#native.name();
  }

  /** The ELF section, e.g. 'tp/sched/sched_process_exec'. */
  get sectionName(): string {
    return this.#native.sectionName();
  }

  /** The program type, as libbpf names it: 'tracepoint', 'kprobe', 'xdp', ... */
  get type(): string {
    return this.#native.type();
  }

  /** The expected attach type, as libbpf names it, or undefined. */
  get expectedAttachType(): string | undefined {
    return this.#native.expectedAttachType() ?? undefined;
  }

  /** Whether load() loads this program. Settable before load only. */
  get autoload(): boolean {
    return this.#native.autoload();
  }

  set autoload(on: boolean) {
    if (typeof on !== 'boolean') throw new TypeError(`autoload: expected a boolean, got ${typeof on}`);
    this.#native.setAutoload(on);
  }

  /** Whether BpfObject.attach() attaches this program. */
  get autoattach(): boolean {
    return this.#native.autoattach();
  }

  set autoattach(on: boolean) {
    if (typeof on !== 'boolean') throw new TypeError(`autoattach: expected a boolean, got ${typeof on}`);
    this.#native.setAutoattach(on);
  }

  /** Number of BPF instructions (after load: as relocated). */
  get instructionCount(): number {
    return this.#native.insnCount();
  }

  /** The program's file descriptor (after load). */
  get fd(): number {
    return this.#native.fd();
  }

  /** The verifier's log of a successful load, when the object was opened with a logLevel. */
  get verifierLog(): string | undefined {
    return this.#owner.verifierLog(this.name);
  }

  /**
   * Attach where the section name says (tp/..., raw_tp/..., tp_btf/..., uprobe/..., ...).
   * @example const link = obj.program('handle_exec').attach();
   */
  attach(): Link {
    const native = this.#native.attach();
    if (!native) {
      throw new BpfError(os.constants.errno.EOPNOTSUPP, 'bpf_program__attach', `section '${this.sectionName}' names no attach target`, {
        hint: 'use an explicit attach call (attachTracepoint, attachRawTracepoint, ...) for this program',
      });
    }
    return this.#owner.adoptLink(native);
  }

  /**
   * Attach to a tracepoint.
   * @example prog.attachTracepoint('sched', 'sched_process_exec');
   */
  attachTracepoint(category: string, name: string): Link {
    return this.#owner.adoptLink(this.#native.attachTracepoint(checkString(category, 'category'), checkString(name, 'name')));
  }

  /**
   * Attach to a raw tracepoint.
   * @example prog.attachRawTracepoint('sys_enter');
   */
  attachRawTracepoint(name: string): Link {
    return this.#owner.adoptLink(this.#native.attachRawTracepoint(checkString(name, 'name')));
  }

  /** Pin the loaded program on bpffs. */
  pin(path: string): void {
    this.#native.pin(checkString(path, 'path'));
  }

  /** Remove a pin made by pin(). */
  unpin(path: string): void {
    this.#native.unpin(checkString(path, 'path'));
  }

  // --- Network attach kinds and BPF_PROG_TEST_RUN (options parsed in attach-net.ts) ---

  get #net(): net.NetProgram {
    return { native: this.#native, adopt: (n) => this.#owner.adoptLink(n) };
  }

  /**
   * Attach an XDP program to a network interface (a kernel link: destroying it detaches).
   * Without `mode` the kernel picks native (driver) XDP when the device has it, else generic.
   * @example
   * const link = obj.program('xdp_count').attachXdp('eth0');
   * const generic = obj.program('xdp_count').attachXdp(1, { mode: 'skb' }); // by ifindex
   */
  attachXdp(ifnameOrIndex: string | number, options?: net.XdpOptions): Link {
    return net.attachXdp(this.#net, ifnameOrIndex, options);
  }

  /**
   * Attach a tc program (SEC("tcx/ingress"), SEC("tcx/egress") or SEC("tc")) to an
   * interface's ingress or egress: a tcx link (kernel 6.6+), ordered with `before`/`after`,
   * or a classic tc filter on a clsact qdisc (`mode: 'tc'`, and automatically where the
   * kernel has no tcx). Either way the returned Link detaches it.
   * @example
   * const first = obj.program('count').attachTcx('eth0', { direction: 'ingress' });
   * const before = obj.program('mark').attachTcx('eth0', { direction: 'ingress', before: first });
   * const classic = obj.program('count').attachTcx('eth0', { direction: 'egress', mode: 'tc' });
   */
  attachTcx(ifnameOrIndex: string | number, options?: net.TcxOptions): Link {
    return net.attachTcx(this.#net, ifnameOrIndex, options);
  }

  /**
   * Attach a cgroup program (cgroup_skb, cgroup_sock, cgroup_sock_addr, cgroup_sockopt,
   * cgroup_sysctl, cgroup_device, sock_ops) to a cgroup v2 directory (or its fd). The attach
   * type is the section's (cgroup_skb/egress -> 'cgroup_inet_egress') unless `attachType` says.
   * @example
   * const link = obj.program('count_egress').attachCgroup('/sys/fs/cgroup/my-service');
   * obj.program('count_any').attachCgroup(fd, { attachType: 'cgroup_inet_ingress' });
   */
  attachCgroup(path: string | number, options?: net.CgroupOptions): Link {
    return net.attachCgroup(this.#net, path, options);
  }

  /**
   * Attach an sk_lookup or flow_dissector program to a network namespace, given as a path
   * ('/proc/self/ns/net', '/run/netns/NAME') or an fd.
   * @example const link = obj.program('steer').attachNetns('/proc/self/ns/net');
   */
  attachNetns(netns: string | number): Link {
    return net.attachNetns(this.#net, netns);
  }

  /**
   * Attach a socket filter (SO_ATTACH_BPF) to a socket: an fd, a connected or listening
   * net.Socket/net.Server, or a bound dgram.Socket. The returned Link's destroy() detaches
   * it (SO_DETACH_BPF) if the socket is still open; it has no fd (-1) and cannot be pinned.
   * @example
   * const sock = dgram.createSocket('udp4');
   * sock.bind(0, () => { const link = obj.program('filter').attachSocket(sock); });
   */
  attachSocket(socket: number | import('node:net').Socket | import('node:net').Server | import('node:dgram').Socket): Link {
    return net.attachSocket(this.#net, socket);
  }

  /**
   * Attach an sk_msg or sk_skb program to a sockmap or sockhash map (a kernel link, 6.10+).
   * The attach type is the section's (sk_msg, sk_skb/stream_verdict, ...) unless
   * `attachType` says ('sk_msg_verdict', 'sk_skb_stream_parser', 'sk_skb_stream_verdict', 'sk_skb_verdict').
   * @example const link = obj.program('count_msg').attachSockmap(obj.map('socks'));
   */
  attachSockmap(map: BpfMapLike, options?: net.SockmapOptions): Link {
    return net.attachSockmap(this.#net, map, options);
  }

  /**
   * Attach a netfilter program (SEC("netfilter"), kernel 6.4+) to a hook.
   * @example
   * const link = obj.program('nf_count').attachNetfilter({ family: 'ipv4', hook: 'output', priority: -100 });
   */
  attachNetfilter(options: net.NetfilterOptions): Link {
    return net.attachNetfilter(this.#net, options);
  }

  /**
   * Run the loaded program once (or `repeat` times, up to 1000 here) on a packet and/or
   * context you pass, in the kernel (BPF_PROG_TEST_RUN), on the JS thread: the run is bounded
   * by the verifier and the repeat cap. testRunAsync() runs off the JS thread and takes any
   * repeat. Supported by xdp, skb programs (sched_cls, socket_filter, cgroup_skb, lwt),
   * raw_tp (ctx: the u64 args; cpu), syscall (ctx in and out), flow_dissector and sk_lookup.
   * @example
   * const { retval, data } = obj.program('xdp_count').testRun({ data: packet });
   * const { ctx } = obj.program('sys_prog').testRun({ ctx: Buffer.alloc(16) });
   */
  testRun(options?: net.TestRunOptions): net.TestRunResult {
    const { opts, type } = net.testRunOptions(this.#native, options, net.TEST_RUN_SYNC_MAX_REPEAT);
    return net.testRunResult(this.#native.testRun(opts), type, opts);
  }

  /**
   * testRun() off the JS thread, for long runs (repeat up to 2^31-1, e.g. benchmarks).
   * @example const { durationNs } = await obj.program('xdp_count').testRunAsync({ data: packet, repeat: 1_000_000 });
   */
  async testRunAsync(options?: net.TestRunOptions): Promise<net.TestRunResult> {
    const { opts, type } = net.testRunOptions(this.#native, options, 0x7fffffff);
    return net.testRunResult(await this.#native.testRunAsync(opts), type, opts);
  }
}

/** A sockmap or sockhash BpfMap (typed loosely to keep program.ts free of map.ts). */
type BpfMapLike = { readonly fd: number; readonly type: string };
