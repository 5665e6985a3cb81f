// Program: a borrowed view of one BPF program of a BpfObject.
import { argRangeError, argTypeError, checkInteger, checkOptions, checkString } from '../base/args';
import {
  kprobeArgs, kprobeMultiArgs, ksyscallArgs, perfEventArgs, PerCpuLinks, uprobeArgs, uprobeMultiArgs, usdtArgs,
  type KprobeMultiOptions, type KprobeMultiTarget, type KprobeOptions, type KsyscallOptions, type PerfEventOptions,
  type UprobeMultiOptions, type UprobeOptions, type UsdtOptions,
} from '../attach/trace';
import * as net from '../attach/net';
import { BpfError, withDetail } from '../errors/bpf-error';
import { noAttachTargetError, refineAttachError } from '../errors/attach-hints';
import { pinWithHint } from '../errors/bpffs';
import { checkInternal, INTERNAL as INTERNAL_TOKEN } from '../base/internal';
import { IterLink, Link, PROGRAMS } from './link';
import { CGROUP_ITER_ORDERS, type CgroupIterOrder } from './link-info';
import { BpfMap } from './map';
import { addon, type NativeIterOptions, type NativeLink, type NativeProgram, type NativeProgramInfo } from '../base/native';

/** How a link was made: the program it runs, and the same attach call for another program. */
export interface LinkRecipe {
  /** The program's name. */
  program: string;
  /** Make the same attachment for `program` (a version of the same program). */
  attach(program: Program): NativeLink;
}

/** Attach `program` where its section says, as a native link (a LinkRecipe's attach for BpfObject.attach()). */
export let attachBySection: (program: Program) => NativeLink;

/** What a Program needs from its BpfObject. */
export interface ProgramOwner {
  /**
   * Holds the link until destroy()/disconnect()/close(); `kind` picks the Link subclass;
   * `recipe` makes the same attachment for another program (BpfObject.upgrade).
   */
  adoptLink(native: NativeLink, kind?: typeof Link, recipe?: LinkRecipe): Link;
  verifierLog(program: string): string | undefined;
}

/**
 * One BPF program of a {@link BpfObject}: a borrowed view that lives as long as its
 * object (every call throws a TypeError once the object is closed). Before load it is
 * configured (autoload, autoattach); after load it is attached, in one of the ways its
 * type allows, and each attachment is a {@link Link} its object holds until
 * `link.destroy()`, `link.disconnect()` or `obj.close()`.
 *
 * @example
 * ```ts
 * const obj = BpfObject.open('exec.bpf.o');
 * obj.program('debug_only').autoload = false; // before load
 * await obj.load();
 * const link = obj.program('handle_exec').attach(); // where its section says
 * ```
 */
export class Program {
  readonly #native: NativeProgram;
  readonly #owner: ProgramOwner;

  static {
    attachBySection = (self) => {
      let n: NativeLink | null;
      try {
        n = self.#native.attach();
      } catch (e) {
        throw refineAttachError(e, self.name, self.sectionName);
      }
      if (!n) throw noAttachTargetError(self.name, self.sectionName);
      return n;
    };
  }

  /** @internal Programs come from BpfObject.programs() and program(). */
  constructor(token: symbol, native: NativeProgram, owner: ProgramOwner) {
    checkInternal(token, 'Program');
    this.#native = native;
    this.#owner = owner;
    PROGRAMS.add(this);
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

  /** Before load only: a TypeError after load, or for anything but a boolean. */
  set autoload(on: boolean) {
    if (typeof on !== 'boolean') throw new TypeError(`autoload: expected a boolean, got ${typeof on}`);
    this.#native.setAutoload(on);
  }

  /** Whether BpfObject.attach() attaches this program. */
  get autoattach(): boolean {
    return this.#native.autoattach();
  }

  /** Any time before attach(); a TypeError for anything but a boolean. */
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

  /** The link `make(this)` made, adopted with the recipe to make it again for another program. */
  #link(make: (self: Program) => NativeLink, kind?: typeof Link, made?: NativeLink): Link {
    const attach = (program: Program): NativeLink => make(program);
    return this.#owner.adoptLink(made ?? make(this), kind, { program: this.name, attach });
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
    return this.#link(attachBySection);
  }


  /**
   * Attach to a tracepoint.
   * @example prog.attachTracepoint('sched', 'sched_process_exec');
   */
  attachTracepoint(category: string, name: string): Link {
    return this.#link((self) => self.#native.attachTracepoint(checkString(category, 'category'), checkString(name, 'name')));
  }

  /**
   * Attach to a raw tracepoint.
   * @example prog.attachRawTracepoint('sys_enter');
   */
  attachRawTracepoint(name: string): Link {
    return this.#link((self) => self.#native.attachRawTracepoint(checkString(name, 'name')));
  }

  // --- Iterators and introspection (native: program_iter.cc) ---

  /**
   * Attach an iterator program (SEC("iter/task"), "iter/bpf_map_elem", "iter/cgroup",
   * "iter/tcp", "iter/bpf_prog", "iter/ksym", ...). Options narrow the walk, one at most:
   * `map` (required by map-element iterators), `task` (one process `pid`, one thread
   * `tid`, or a pidfd `fd`), `cgroup` (`path`, `fd` or `id`, plus the walk's `order`,
   * default 'descendants-pre'). Read the result with {@link IterLink.read} or `for await`.
   * @example
   * const it = obj.program('dump_task').attachIter({ task: { pid: process.pid } });
   * console.log(it.readText());
   * it.destroy();
   */
  attachIter(options?: IterAttachOptions): IterLink {
    const o = checkOptions<IterAttachOptions>(options, 'options', ['map', 'task', 'cgroup']);
    const given = (['map', 'task', 'cgroup'] as const).filter((k) => o[k] !== undefined);
    if (given.length > 1) throw argTypeError('options', 'at most one of map, task, cgroup', options);
    const native: NativeIterOptions = {};
    if (o.map !== undefined) {
      if (!(o.map instanceof BpfMap)) throw argTypeError('options.map', 'a BpfMap', o.map);
      native.mapFd = o.map.fd;
    } else if (o.task !== undefined) {
      const t = checkOptions<TaskIterOptions>(o.task, 'options.task', ['pid', 'tid', 'fd']);
      const set = (['pid', 'tid', 'fd'] as const).filter((k) => t[k] !== undefined);
      if (set.length !== 1) throw argTypeError('options.task', 'exactly one of pid, tid, fd', o.task);
      if (t.pid !== undefined) native.pid = checkInteger(t.pid, 'options.task.pid', 1, 2 ** 31 - 1);
      if (t.tid !== undefined) native.tid = checkInteger(t.tid, 'options.task.tid', 1, 2 ** 31 - 1);
      if (t.fd !== undefined) native.pidFd = checkInteger(t.fd, 'options.task.fd', 0, 2 ** 31 - 1);
    } else if (o.cgroup !== undefined) {
      const c = checkOptions<CgroupIterOptions>(o.cgroup, 'options.cgroup', ['path', 'fd', 'id', 'order']);
      const set = (['path', 'fd', 'id'] as const).filter((k) => c[k] !== undefined);
      if (set.length > 1) throw argTypeError('options.cgroup', 'at most one of path, fd, id', o.cgroup);
      const order = c.order ?? 'descendants-pre';
      if (!CGROUP_ITER_ORDERS.includes(order)) throw argRangeError('options.cgroup.order', `one of ${CGROUP_ITER_ORDERS.join(', ')}`, order);
      native.order = CGROUP_ITER_ORDERS.indexOf(order) + 1;
      if (c.fd !== undefined) native.cgroupFd = checkInteger(c.fd, 'options.cgroup.fd', 0, 2 ** 31 - 1);
      if (c.id !== undefined) {
        if (typeof c.id !== 'bigint' || c.id <= 0n || c.id >= 2n ** 64n) throw argTypeError('options.cgroup.id', 'a bigint 1..2^64-1', c.id);
        native.cgroupId = c.id;
      }
      if (c.path !== undefined) native.cgroupPath = checkString(c.path, 'options.cgroup.path'); // opened and closed by the addon
    }
    return this.#link((self) => self.#native.attachIter(native), IterLink) as IterLink;
  }

  /**
   * The kernel's view of the loaded program (bpf_prog_info): id, tag, the map ids it
   * uses, sizes, and run statistics (runCount, runTimeNs: counted only while
   * {@link enableStats} is on).
   * @example
   * const { id, tag, runCount } = obj.program('handle_exec').info();
   */
  info(): ProgramInfo {
    return this.#native.info();
  }

  /**
   * Same as the top-level {@link enableStats}.
   * @example
   * using stats = Program.enableStats();
   */
  static enableStats(): StatsHandle {
    return enableStats();
  }

  // ---- tracing, user-space and sampling attach kinds (options parsed in attach-trace.ts) ----

  /**
   * Set a BTF attach target before load, for fentry/fexit/fmod_ret/lsm/tp_btf programs
   * shipped with a placeholder section (`SEC("fentry")`, `SEC("tp_btf")`): a kernel
   * function (or tp_btf tracepoint), or with `program` a function of another loaded BPF
   * program (fentry on BPF, freplace). Throws BpfError (ESRCH/ENOENT) when the kernel's
   * BTF has no such function.
   * @example
   * const obj = BpfObject.open('tool.bpf.o');
   * obj.program('on_open').setAttachTarget('do_sys_openat2');
   * await obj.load();
   * obj.program('on_open').attach();
   */
  setAttachTarget(func: string, options?: { program?: Program | number }): void {
    const name = checkString(func, 'func');
    if (options !== undefined && (typeof options !== 'object' || options === null)) throw argTypeError('options', 'an options object', options);
    const target = options?.program;
    let fd = 0;
    if (target instanceof Program) fd = target.fd;
    else if (typeof target === 'number' && Number.isInteger(target) && target > 0) fd = target;
    else if (target !== undefined) throw argTypeError('options.program', 'a loaded Program or a program fd', target);
    try {
      this.#native.setAttachTarget(fd, name);
    } catch (e) {
      if (!(e instanceof BpfError) || (e.code !== 'ESRCH' && e.code !== 'ENOENT')) throw e;
      const where = fd ? `BPF program fd ${fd}'s BTF` : "the kernel's BTF (/sys/kernel/btf)";
      throw new BpfError(e.errno, e.syscall, `prog '${this.name}': no attach target '${name}' in ${where}`, {
        hint: 'check the function or tracepoint name: fentry/fexit/fmod_ret/lsm take a kernel function, tp_btf a tracepoint (sys_enter, sched_switch, ...)',
        libbpfLog: e.libbpfLog,
        program: this.name,
      });
    }
  }

  /**
   * Attach a kprobe (or with `retprobe`, a kretprobe) to a kernel function. Needs a
   * kernel with CONFIG_KPROBES; the cookie is read with bpf_get_attach_cookie().
   * @example
   * const link = obj.program('on_open').attachKprobe('do_sys_openat2', { cookie: 7n });
   */
  attachKprobe(func: string, options?: KprobeOptions): Link {
    return this.#link((self) => self.#native.attachKprobe(...kprobeArgs(func, options)));
  }

  /**
   * Attach a `SEC("kprobe.multi")` program to many kernel functions with one link: a
   * glob `pattern`, or a list of `funcs` with one cookie each. Needs Linux 5.18 with
   * CONFIG_FPROBE.
   * @example
   * prog.attachKprobeMulti({ pattern: 'tcp_v4_*' });
   * prog.attachKprobeMulti({ funcs: ['vfs_read', 'vfs_write'], cookies: [1n, 2n] }, { retprobe: true });
   */
  attachKprobeMulti(target: KprobeMultiTarget, options?: KprobeMultiOptions): Link {
    return this.#link((self) => self.#native.attachKprobeMulti(...kprobeMultiArgs(target, options)));
  }

  /**
   * Attach a `SEC("ksyscall")` program to a syscall's kernel entry by its name (libbpf
   * picks `__x64_sys_<name>` or whatever this kernel calls it). Uses kprobes.
   * @example
   * prog.attachKsyscall('openat');
   */
  attachKsyscall(name: string, options?: KsyscallOptions): Link {
    return this.#link((self) => self.#native.attachKsyscall(...ksyscallArgs(name, options)));
  }

  /**
   * Attach a uprobe (or uretprobe) to a function of an executable or shared library.
   * `binary` may be a path, a program on PATH, a library file name ('libc.so.6') or a
   * bare library name ('libc'); `func` may carry an offset ('parse+0x10').
   * @example
   * prog.attachUprobe({ binary: 'libc', func: 'malloc', pid: child.pid });
   * prog.attachUprobe({ binary: '/usr/bin/bash', func: 'readline', retprobe: true, cookie: 1n });
   */
  attachUprobe(options: UprobeOptions): Link {
    return this.#link((self) => self.#native.attachUprobe(...uprobeArgs(options)));
  }

  /**
   * Attach a `SEC("uprobe.multi")` program to many functions of one binary with one
   * link: a glob `pattern`, `funcs` or file `offsets` (with one cookie each). Linux 6.6+.
   * @example
   * prog.attachUprobeMulti({ binary: 'libc', funcs: ['malloc', 'free'], cookies: [1n, 2n] });
   */
  attachUprobeMulti(options: UprobeMultiOptions): Link {
    const args = uprobeMultiArgs(options);
    try {
      return this.#link((self) => self.#native.attachUprobeMulti(...args));
    } catch (e) {
      const [binary, pattern, funcs] = args;
      if (!(e instanceof BpfError) || e.code !== 'ENOENT' || (!pattern && !funcs) || e.message.includes(binary)) throw e;
      const what = pattern ? `no function matches '${pattern}'` : `not every function of ${funcs!.map((f) => `'${f}'`).join(', ')} exists`;
      throw withDetail(e, `prog '${this.name}': ${what} in '${binary}'`, undefined);
    }
  }

  /**
   * Attach a `SEC("usdt")` program to a USDT probe (STAP_PROBE/DTRACE_PROBE in the
   * binary's .note.stapsdt). The program reads the probe's arguments with
   * bpf_usdt_arg() and the cookie with bpf_usdt_cookie() (from <bpf/usdt.bpf.h>).
   * @example
   * prog.attachUsdt({ binary: '/usr/lib/x86_64-linux-gnu/libc.so.6', provider: 'libc', name: 'memory_sbrk_more' });
   */
  attachUsdt(options: UsdtOptions): Link {
    const args = usdtArgs(options);
    try {
      return this.#link((self) => self.#native.attachUsdt(...args));
    } catch (e) {
      // libbpf only says so at debug level: name the probe here.
      if (!(e instanceof BpfError) || e.code !== 'ENOENT' || e.message.includes(args[2])) throw e;
      throw withDetail(e, `prog '${this.name}': no USDT probe '${args[1]}:${args[2]}' in '${args[0]}'`, undefined);
    }
  }

  /**
   * Open a perf event (perf_event_open(2)) and attach this `SEC("perf_event")` program
   * to its samples. With `cpu: 'all'` (the default without a pid) the one Link returned
   * owns one attachment per online CPU: destroy() and disconnect() act on all of them;
   * it has no single `fd` and cannot be pinned (attach with `{ cpu: n }` for that).
   * Hardware events need a PMU: virtual machines often have none (BpfError ENOENT).
   * @example
   * const link = prog.attachPerfEvent({ type: 'software', config: 'cpu-clock', frequency: 99 });
   */
  attachPerfEvent(options: PerfEventOptions): Link {
    const plan = perfEventArgs(options);
    const perCpu = options.cpu === 'all' || (options.cpu === undefined && plan.pid === -1);
    return this.#link((self) => {
      const one = (cpu: number): NativeLink => self.#native.attachPerfEvent(plan.type, plan.config, plan.freq, plan.sample, cpu, plan.pid, plan.cookie);
      if (!perCpu) return one(plan.cpus[0]);
      const made: NativeLink[] = [];
      try {
        for (const cpu of plan.cpus) made.push(one(cpu));
      } catch (e) {
        for (const l of made) l.destroy();
        throw e;
      }
      return new PerCpuLinks(made);
    });
  }

  /** Pin the loaded program on bpffs. */
  pin(path: string): void {
    pinWithHint(checkString(path, 'path'), (p) => this.#native.pin(p));
  }

  /** Remove a pin made by pin(). */
  unpin(path: string): void {
    this.#native.unpin(checkString(path, 'path'));
  }

  // --- Network attach kinds and BPF_PROG_TEST_RUN (options parsed in attach/net.ts) ---

  get #net(): net.NetProgram {
    return { native: this.#native, isLink: (value) => value instanceof Link };
  }

  /**
   * Attach an XDP program to a network interface (a kernel link: destroying it detaches).
   * Without `mode` the kernel picks native (driver) XDP when the device has it, else generic.
   * @example
   * const link = obj.program('xdp_count').attachXdp('eth0');
   * const generic = obj.program('xdp_count').attachXdp(1, { mode: 'skb' }); // by ifindex
   */
  attachXdp(ifnameOrIndex: string | number, options?: net.XdpOptions): Link {
    return this.#link((self) => net.attachXdp(self.#net, ifnameOrIndex, options));
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
    return this.#link((self) => net.attachTcx(self.#net, ifnameOrIndex, options));
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
    return this.#link((self) => net.attachCgroup(self.#net, path, options));
  }

  /**
   * Attach an sk_lookup or flow_dissector program to a network namespace, given as a path
   * ('/proc/self/ns/net', '/run/netns/NAME') or an fd.
   * @example const link = obj.program('steer').attachNetns('/proc/self/ns/net');
   */
  attachNetns(netns: string | number): Link {
    return this.#link((self) => net.attachNetns(self.#net, netns));
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
    return this.#link((self) => net.attachSocket(self.#net, socket));
  }

  /**
   * Attach an sk_msg or sk_skb program to a sockmap or sockhash map (a kernel link, 6.10+).
   * The attach type is the section's (sk_msg, sk_skb/stream_verdict, ...) unless
   * `attachType` says ('sk_msg_verdict', 'sk_skb_stream_parser', 'sk_skb_stream_verdict', 'sk_skb_verdict').
   * @example const link = obj.program('count_msg').attachSockmap(obj.map('socks'));
   */
  attachSockmap(map: BpfMapLike, options?: net.SockmapOptions): Link {
    return this.#link((self) => net.attachSockmap(self.#net, map, options));
  }

  /**
   * Attach a netfilter program (SEC("netfilter"), kernel 6.4+) to a hook.
   * @example
   * const link = obj.program('nf_count').attachNetfilter({ family: 'ipv4', hook: 'output', priority: -100 });
   */
  attachNetfilter(options: net.NetfilterOptions): Link {
    return this.#link((self) => net.attachNetfilter(self.#net, options));
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

/** Which tasks a task iterator (iter/task, iter/task_file, iter/task_vma) walks: at most one of pid, tid and fd. */
export interface TaskIterOptions {
  /** Only this process's threads (its tgid). */
  pid?: number;
  /** Only this thread. */
  tid?: number;
  /** A pidfd (pidfd_open): only that process's threads. */
  fd?: number;
}

/** Where a cgroup iterator (iter/cgroup) starts (at most one of path, fd and id) and in which order it walks. */
export interface CgroupIterOptions {
  /** The cgroup v2 directory to start from, e.g. /sys/fs/cgroup/unified/app. */
  path?: string;
  /** An open fd of that directory. */
  fd?: number;
  /** Its cgroup id (the directory's inode number on cgroup v2). */
  id?: bigint;
  /** The walk from there (default 'descendants-pre'). */
  order?: CgroupIterOrder;
}

/** Options of `program.attachIter(options)`: what the iterator walks (at most one of map, task and cgroup). */
export interface IterAttachOptions {
  /** The map a map-element iterator (iter/bpf_map_elem, iter/bpf_sk_storage_map, ...) walks. */
  map?: BpfMap;
  /** Restrict task iterators (task, task_file, task_vma) to one process or thread. */
  task?: TaskIterOptions;
  /** Where a cgroup iterator starts and how it walks (without it: the root, descendants). */
  cgroup?: CgroupIterOptions;
}

/** Program.info(): the kernel's bpf_prog_info. */
export interface ProgramInfo extends NativeProgramInfo {
  /** The kernel's program id (see `bpftool prog`). */
  id: number;
  /** The name the kernel keeps: the C function's name, cut to 15 characters. */
  name: string;
  /** The program's tag: a hash of its instructions, 16 hex digits. */
  tag: string;
  /** Runs counted while statistics were on (enableStats). */
  runCount: bigint;
  /** Time spent in the program while statistics were on. */
  runTimeNs: bigint;
  /** Runs skipped because the program was already running on that CPU. */
  recursionMisses: bigint;
  /** Load time, in nanoseconds since boot (CLOCK_BOOTTIME). */
  loadTime: bigint;
  /** The program type, as libbpf names it ('tracepoint', 'xdp', ...; 'unknown' if libbpf has no name for it). */
  type: string;
  /** Instructions the verifier walked to accept it (its cost, not its size). */
  verifiedInstructions: number;
  /** Size of the JIT-compiled code, in bytes (0 without the JIT). */
  jitedSize: number;
  /** Size of the translated instructions the kernel runs or compiles, in bytes. */
  xlatedSize: number;
  /** Ids of the maps the program uses (see `bpftool map`; BpfMap.info().id). */
  mapIds: number[];
  /** Id of the program's BTF object (0 when loaded without BTF). */
  btfId: number;
  /** The uid of the process that loaded it. */
  createdByUid: number;
  /** Whether its license is GPL-compatible (what GPL-only helpers require). */
  gplCompatible: boolean;
  /** The device an offloaded program is bound to (0: not offloaded). */
  ifindex: number;
  /** With `ifindex`: the device of the network namespace the device lives in. */
  netnsDev: bigint;
  /** With `ifindex`: the inode of the network namespace the device lives in. */
  netnsIno: bigint;
  /** Id of the BTF object (vmlinux's or a module's) holding its attach target, for fentry/fexit/lsm/tp_btf programs (0: none). */
  attachBtfObjId: number;
  /** The BTF type id of its attach target in that object (0: none). */
  attachBtfId: number;
  /** The number of BPF functions (main program and subprograms) its BTF describes. */
  functionCount: number;
}

// A leak backstop: a handle dropped without close() would keep statistics on system-wide
// (and its fd open) for the life of the process. A collected handle's link is destroyed.
const statsBackstop = new FinalizationRegistry<NativeLink>((native) => native.destroy());

/**
 * Run-time statistics switched on by {@link enableStats}; they stay on, for every
 * program on the system, until close() (or the process exits).
 */
export class StatsHandle implements Disposable {
  readonly #native: NativeLink; // owns the BPF_ENABLE_STATS fd: destroy() closes it

  /** @internal Use enableStats(). */
  constructor(token: symbol, native: NativeLink) {
    checkInternal(token, 'StatsHandle');
    this.#native = native;
    statsBackstop.register(this, native, this);
  }

  /** True once close() ran. */
  get closed(): boolean {
    return this.#native.destroyed();
  }

  /**
   * Stop counting (when no one else asked for statistics too). Idempotent.
   * @example
   * const stats = enableStats();
   * stats.close();
   */
  close(): void {
    statsBackstop.unregister(this);
    this.#native.destroy();
  }

  /**
   * close(), for `using`.
   * @example
   * { using stats = enableStats(); }
   */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Turn on the kernel's run-time statistics for BPF programs (BPF_ENABLE_STATS,
 * BPF_STATS_RUN_TIME): while on, Program.info() counts runCount and runTimeNs. They cost
 * a little on every program run, system-wide, and stay on until the handle is closed
 * (`using` closes it at the end of the block). A handle dropped without close() is closed
 * when garbage collected, as a leak backstop only: when that happens is not predictable.
 * @example
 * import { enableStats } from 'node-libbpf';
 * {
 *   using stats = enableStats();
 *   await work();
 *   console.log(prog.info().runCount);
 * }
 */
export function enableStats(): StatsHandle {
  return new StatsHandle(INTERNAL_TOKEN, addon.NativeProgram.enableStats());
}

/** A sockmap or sockhash BpfMap (typed loosely to keep program.ts free of map.ts). */
type BpfMapLike = { readonly fd: number; readonly type: string };
