// Option parsing for Program's tracing, user-space and sampling attach kinds: the
// checks (one message template), library path resolution for uprobes, perf event names,
// and the Link that owns one perf event attachment per CPU.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { argRangeError, argTypeError, checkInteger, checkOptions, checkString } from '../base/args';
import { BpfError } from '../errors/bpf-error';
import type { NativeLink, NativeObject } from '../base/native';

/** A BPF cookie, read in the program with bpf_get_attach_cookie() (USDT: bpf_usdt_cookie()). */
export type Cookie = bigint | number;

/** Options of `program.attachKprobe(func, options)`. */
export interface KprobeOptions {
  /** Attach to the function's return (a kretprobe). Default false. */
  retprobe?: boolean;
  /** Byte offset into the function (entry probes only). Default 0. */
  offset?: number;
  /** The link's BPF cookie (default 0). */
  cookie?: Cookie;
}

/** Where attachKprobeMulti() attaches: a glob over kernel functions, or a list. */
export type KprobeMultiTarget =
  | {
      /** A glob over the kernel's functions (available_filter_functions), e.g. 'tcp_v4_*'. */
      pattern: string;
    }
  | {
      /** Kernel function names. */
      funcs: string[];
      /** One cookie per function, in the same order. */
      cookies?: Cookie[];
    };

/** Options of `program.attachKprobeMulti(target, options)`. */
export interface KprobeMultiOptions {
  /** Attach to the functions' returns (kretprobes). Default false. */
  retprobe?: boolean;
}

/** Options of `program.attachKsyscall(name, options)`. */
export interface KsyscallOptions {
  /** Attach to the syscall's return. Default false. */
  retprobe?: boolean;
  /** The link's BPF cookie (default 0). */
  cookie?: Cookie;
}

/** Options of `program.attachUprobe(options)`: which binary, where in it, and which processes. */
export interface UprobeOptions {
  /**
   * An executable or shared library: a path, a file name searched like libbpf does
   * (PATH for programs, LD_LIBRARY_PATH and the system library directories for `*.so*`),
   * or a bare library name such as 'libc' (the one this process maps, else the
   * newest `libc.so.N` in the library directories).
   */
  binary: string;
  /** A function symbol, optionally with an offset: 'malloc', 'parse+0x10'. */
  func?: string;
  /** Byte offset: into `func` when given, else the file offset of the probe. */
  offset?: number;
  /** Only this process. Default: every process that runs the binary. */
  pid?: number;
  /** Attach to the function's return (a uretprobe). */
  retprobe?: boolean;
  /** The link's BPF cookie (default 0). */
  cookie?: Cookie;
}

/** Options of `program.attachUprobeMulti(options)`: many uprobes in one binary, one link. */
export interface UprobeMultiOptions {
  /** The executable or shared library, found as {@link UprobeOptions.binary} is. */
  binary: string;
  /** A glob over the binary's function symbols, e.g. 'nlb_*'. */
  pattern?: string;
  /** Function symbols. */
  funcs?: string[];
  /** File offsets. Exactly one of pattern, funcs and offsets. */
  offsets?: number[];
  /** Only this process. Default: every process that runs the binary. */
  pid?: number;
  /** Attach to the functions' returns (uretprobes). Default false. */
  retprobe?: boolean;
  /** One cookie per function or offset (not with pattern). */
  cookies?: Cookie[];
}

/** Options of `program.attachUsdt(options)`: a USDT (statically defined) probe in a binary. */
export interface UsdtOptions {
  /** The executable or shared library that defines the probe, found as {@link UprobeOptions.binary} is. */
  binary: string;
  /** The probe's provider, as in STAP_PROBE(provider, name). */
  provider: string;
  /** The probe's name, as in STAP_PROBE(provider, name). */
  name: string;
  /** Only this process. Default: every process that runs the binary. */
  pid?: number;
  /** Read with bpf_usdt_cookie(ctx). */
  cookie?: Cookie;
}

/** perf's names for the generic hardware events (PERF_TYPE_HARDWARE configs, in order). */
export const HARDWARE_EVENTS = [
  'cpu-cycles', 'instructions', 'cache-references', 'cache-misses', 'branch-instructions',
  'branch-misses', 'bus-cycles', 'stalled-cycles-frontend', 'stalled-cycles-backend', 'ref-cpu-cycles',
] as const;

/** perf's names for the software events (PERF_TYPE_SOFTWARE configs, in order). */
export const SOFTWARE_EVENTS = [
  'cpu-clock', 'task-clock', 'page-faults', 'context-switches', 'cpu-migrations', 'minor-faults',
  'major-faults', 'alignment-faults', 'emulation-faults', 'dummy', 'bpf-output', 'cgroup-switches',
] as const;

/** A generic hardware event by perf's name ('cpu-cycles', 'instructions', 'cache-misses', ...: {@link HARDWARE_EVENTS}). */
export type HardwareEvent = (typeof HARDWARE_EVENTS)[number];
/** A software event by perf's name ('cpu-clock', 'task-clock', 'page-faults', ...: {@link SOFTWARE_EVENTS}). */
export type SoftwareEvent = (typeof SOFTWARE_EVENTS)[number];

/**
 * Options of `program.attachPerfEvent(options)`: which perf event to open and how often it
 * runs the program.
 *
 * @example
 * ```ts
 * // 99 samples a second on every CPU, as profile does:
 * prog.attachPerfEvent({ type: 'software', config: 'cpu-clock', frequency: 99 });
 * ```
 */
export interface PerfEventOptions {
  /** PERF_TYPE_SOFTWARE or PERF_TYPE_HARDWARE; `config` names an event of that type. */
  type: 'software' | 'hardware';
  /** The event, by perf's name ('cpu-clock', 'cpu-cycles', ...), or a raw config number. */
  config: SoftwareEvent | HardwareEvent | number;
  /** Samples per second (per CPU). Exactly one of frequency and period. */
  frequency?: number;
  /** One sample every `period` events (for clocks: nanoseconds). */
  period?: number | bigint;
  /**
   * One CPU, or 'all': one attachment per online CPU, owned by one Link.
   * Default: 'all' without a pid; with a pid, whichever CPU the process runs on.
   */
  cpu?: number | 'all';
  /** Only this process (and its threads). Default: every process. */
  pid?: number;
  /** The BPF cookie of every attachment (default 0). */
  cookie?: Cookie;
}

const MAX_PID = 2 ** 22;

export function checkCookie(value: unknown, name: string): bigint {
  if (value === undefined) return 0n;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw argRangeError(name, 'a bigint or a non-negative safe integer', value);
    return BigInt(value);
  }
  if (typeof value !== 'bigint') throw argTypeError(name, 'a bigint or a non-negative safe integer', value);
  if (value < 0n || value > 0xffffffffffffffffn) throw argRangeError(name, 'a bigint 0..2^64-1', value);
  return value;
}

export function checkBoolean(value: unknown, name: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw argTypeError(name, 'a boolean', value);
  return value;
}

/** -1 (every process) when omitted. */
export function checkPid(value: unknown, name: string): number {
  return value === undefined ? -1 : checkInteger(value, name, 1, MAX_PID);
}

function checkOffset(value: unknown, name: string): number {
  return value === undefined ? 0 : checkInteger(value, name, 0, Number.MAX_SAFE_INTEGER);
}

function checkStringList(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || value.length === 0) throw argTypeError(name, 'a non-empty array of strings', value);
  return value.map((v, i) => checkString(v, `${name}[${i}]`));
}

function checkCookies(value: unknown, name: string, count: number): bigint[] | null {
  if (value === undefined) return null;
  if (!Array.isArray(value)) throw argTypeError(name, 'an array of cookies', value);
  if (value.length !== count) throw argRangeError(name, `${count} cookies (one per target)`, value);
  return value.map((v, i) => checkCookie(v, `${name}[${i}]`));
}

export function kprobeArgs(func: unknown, options: unknown): [string, boolean, number, bigint] {
  const o = checkOptions<KprobeOptions>(options, 'options', ['retprobe', 'offset', 'cookie']);
  return [checkString(func, 'func'), checkBoolean(o.retprobe, 'options.retprobe'), checkOffset(o.offset, 'options.offset'), checkCookie(o.cookie, 'options.cookie')];
}

export function kprobeMultiArgs(target: unknown, options: unknown): [string | null, string[] | null, bigint[] | null, boolean] {
  if (typeof target !== 'object' || target === null || Array.isArray(target)) {
    throw argTypeError('target', "{ pattern } or { funcs, cookies? }", target);
  }
  const t = checkOptions<{ pattern: string; funcs: string[]; cookies: Cookie[] }>(target, 'target', ['pattern', 'funcs', 'cookies']);
  const o = checkOptions<KprobeMultiOptions>(options, 'options', ['retprobe']);
  const retprobe = checkBoolean(o.retprobe, 'options.retprobe');
  if ((t.pattern === undefined) === (t.funcs === undefined)) throw argTypeError('target', 'exactly one of pattern and funcs', target);
  if (t.pattern !== undefined) {
    if (t.cookies !== undefined) throw argTypeError('target.cookies', 'cookies only with funcs', t.cookies);
    return [checkString(t.pattern, 'target.pattern'), null, null, retprobe];
  }
  const funcs = checkStringList(t.funcs, 'target.funcs');
  return [null, funcs, checkCookies(t.cookies, 'target.cookies', funcs.length), retprobe];
}

export function ksyscallArgs(name: unknown, options: unknown): [string, boolean, bigint] {
  const o = checkOptions<KsyscallOptions>(options, 'options', ['retprobe', 'cookie']);
  return [checkString(name, 'name'), checkBoolean(o.retprobe, 'options.retprobe'), checkCookie(o.cookie, 'options.cookie')];
}

// ---- binaries and libraries -------------------------------------------------------

const ARCH_LIB_DIRS: Record<string, string> = {
  x64: '/lib/x86_64-linux-gnu', ia32: '/lib/i386-linux-gnu', arm64: '/lib/aarch64-linux-gnu',
  arm: '/lib/arm-linux-gnueabihf', s390x: '/lib/s390x-linux-gnu', ppc64: '/lib/powerpc64le-linux-gnu',
  riscv64: '/lib/riscv64-linux-gnu', loong64: '/lib/loongarch64-linux-gnu',
};

function pathList(value: string | undefined): string[] {
  return (value ?? '').split(':').filter(Boolean);
}

/** Where libbpf looks for shared libraries named without a directory. */
export function libraryDirs(): string[] {
  return [...pathList(process.env.LD_LIBRARY_PATH), '/usr/lib64', '/usr/lib', ...(ARCH_LIB_DIRS[process.arch] ? [ARCH_LIB_DIRS[process.arch]] : [])];
}

function programDirs(): string[] {
  return [...pathList(process.env.PATH), '/usr/bin', '/usr/sbin'];
}

function accessible(file: string, mode: number): boolean {
  try {
    fs.accessSync(file, mode);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function isElf(file: string): boolean {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const magic = Buffer.alloc(4);
      return fs.readSync(fd, magic, 0, 4, 0) === 4 && magic.toString('latin1') === '\x7fELF';
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
}

// `libc` -> libc.so.6: the copy this process has mapped (the one the system uses), else
// the highest-versioned ELF `libc.so.N` in the library directories (libc.so itself is
// often a linker script).
function resolveBareLibrary(name: string): string | undefined {
  const soname = new RegExp(`^${name.replace(/[.+]/g, '\\$&')}(?:\\.so(?:\\.[\\d.]+)?|-[\\d.]+\\.so)$`);
  try {
    for (const line of fs.readFileSync('/proc/self/maps', 'utf8').split('\n')) {
      const file = line.slice(line.indexOf('/'));
      if (line.includes('/') && soname.test(path.basename(file)) && isElf(file)) return file;
    }
  } catch {
    // no procfs: search the directories
  }
  for (const dir of libraryDirs()) {
    let entries: string[];
    try {
      entries = fs.readdirSync(dir);
    } catch {
      continue;
    }
    const found = entries.filter((e) => soname.test(e)).sort().reverse().map((e) => path.join(dir, e)).find(isElf);
    if (found) return found;
  }
  return undefined;
}

/**
 * The path of `binary` as libbpf would resolve it, plus bare library names ('libc').
 * Throws a BpfError (ENOENT) naming what was searched when nothing matches.
 */
export function resolveBinary(binary: string, call: string): string {
  const fail = (what: string, where: string[]): never => {
    throw new BpfError(os.constants.errno.ENOENT, call, `${what} '${binary}' not found${where.length ? ` (searched ${where.join(', ')})` : ''}`, {
      hint: 'pass the full path of the executable or shared library',
    });
  };
  if (binary.includes('/')) {
    if (!fs.existsSync(binary)) fail('binary', []);
    return binary;
  }
  if (/\.so($|\.)/.test(binary)) {
    const found = libraryDirs().map((d) => path.join(d, binary)).find((f) => accessible(f, fs.constants.R_OK));
    return found ?? fail('library', libraryDirs());
  }
  if (/^lib[\w+-]+$/.test(binary)) {
    const found = resolveBareLibrary(binary);
    if (found) return found;
  }
  const exe = programDirs().map((d) => path.join(d, binary)).find((f) => accessible(f, fs.constants.R_OK | fs.constants.X_OK));
  if (exe) return exe;
  return /^lib/.test(binary) ? fail('library', ['/proc/self/maps', ...libraryDirs(), ...programDirs()]) : fail('program', programDirs());
}

/** 'parse+0x10' -> ['parse', 16]. */
export function splitFunc(func: string): [string, number] {
  const m = /^(.+?)\+(0x[0-9a-f]+|\d+)$/i.exec(func);
  return m ? [m[1], Number(m[2])] : [func, 0];
}

export function uprobeArgs(options: unknown): [string, string | null, number, number, boolean, bigint] {
  if (options === undefined) throw argTypeError('options', 'an options object with a binary', options);
  const o = checkOptions<UprobeOptions>(options, 'options', ['binary', 'func', 'offset', 'pid', 'retprobe', 'cookie']);
  const binary = checkString(o.binary, 'options.binary');
  let offset = checkOffset(o.offset, 'options.offset');
  let func: string | null = null;
  if (o.func !== undefined) {
    const [name, extra] = splitFunc(checkString(o.func, 'options.func'));
    func = name;
    offset += extra;
  } else if (o.offset === undefined) {
    throw argTypeError('options', 'a func or an offset', options);
  }
  const pid = checkPid(o.pid, 'options.pid');
  const retprobe = checkBoolean(o.retprobe, 'options.retprobe');
  const cookie = checkCookie(o.cookie, 'options.cookie');
  return [resolveBinary(binary, 'bpf_program__attach_uprobe_opts'), func, offset, pid, retprobe, cookie];
}

export function uprobeMultiArgs(options: unknown): [string, string | null, string[] | null, number[] | null, bigint[] | null, number, boolean] {
  if (options === undefined) throw argTypeError('options', 'an options object with a binary', options);
  const o = checkOptions<UprobeMultiOptions>(options, 'options', ['binary', 'pattern', 'funcs', 'offsets', 'pid', 'retprobe', 'cookies']);
  const binary = checkString(o.binary, 'options.binary');
  const given = [o.pattern, o.funcs, o.offsets].filter((v) => v !== undefined).length;
  if (given !== 1) throw argTypeError('options', 'exactly one of pattern, funcs and offsets', options);
  const pattern = o.pattern === undefined ? null : checkString(o.pattern, 'options.pattern');
  const funcs = o.funcs === undefined ? null : checkStringList(o.funcs, 'options.funcs');
  let offsets: number[] | null = null;
  if (o.offsets !== undefined) {
    if (!Array.isArray(o.offsets) || o.offsets.length === 0) throw argTypeError('options.offsets', 'a non-empty array of offsets', o.offsets);
    offsets = o.offsets.map((v, i) => checkInteger(v, `options.offsets[${i}]`, 0, Number.MAX_SAFE_INTEGER));
  }
  if (pattern !== null && o.cookies !== undefined) throw argTypeError('options.cookies', 'cookies only with funcs or offsets', o.cookies);
  const cookies = checkCookies(o.cookies, 'options.cookies', (funcs ?? offsets ?? []).length);
  const pid = checkPid(o.pid, 'options.pid');
  const retprobe = checkBoolean(o.retprobe, 'options.retprobe');
  return [resolveBinary(binary, 'bpf_program__attach_uprobe_multi'), pattern, funcs, offsets, cookies, pid, retprobe];
}

export function usdtArgs(options: unknown): [string, string, string, number, bigint] {
  if (options === undefined) throw argTypeError('options', 'an options object with binary, provider and name', options);
  const o = checkOptions<UsdtOptions>(options, 'options', ['binary', 'provider', 'name', 'pid', 'cookie']);
  const binary = checkString(o.binary, 'options.binary');
  const provider = checkString(o.provider, 'options.provider');
  const name = checkString(o.name, 'options.name');
  const pid = checkPid(o.pid, 'options.pid');
  const cookie = checkCookie(o.cookie, 'options.cookie');
  return [resolveBinary(binary, 'bpf_program__attach_usdt'), provider, name, pid, cookie];
}

// ---- perf events ------------------------------------------------------------------

export interface PerfEventPlan {
  type: number;
  config: bigint;
  freq: boolean;
  sample: bigint;
  cpus: number[];
  pid: number;
  cookie: bigint;
}

/** The online CPUs, from /sys/devices/system/cpu/online ("0-3,6"). */
export function onlineCpus(): number[] {
  const text = fs.readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
  const cpus: number[] = [];
  for (const part of text.split(',')) {
    const [a, b] = part.split('-').map(Number);
    for (let c = a; c <= (b ?? a); c++) cpus.push(c);
  }
  return cpus;
}

export function perfEventArgs(options: unknown): PerfEventPlan {
  if (options === undefined) throw argTypeError('options', 'an options object with type and config', options);
  const o = checkOptions<PerfEventOptions>(options, 'options', ['type', 'config', 'frequency', 'period', 'cpu', 'pid', 'cookie']);
  if (o.type !== 'software' && o.type !== 'hardware') throw argTypeError('options.type', "'software' or 'hardware'", o.type);
  const names: readonly string[] = o.type === 'software' ? SOFTWARE_EVENTS : HARDWARE_EVENTS;
  let config: number;
  if (typeof o.config === 'string') {
    config = names.indexOf(o.config);
    if (config < 0) throw argRangeError('options.config', `a ${o.type} event (${names.join(', ')})`, o.config);
  } else {
    config = checkInteger(o.config, 'options.config', 0, 2 ** 32 - 1);
  }
  if ((o.frequency === undefined) === (o.period === undefined)) {
    throw argTypeError('options', 'exactly one of frequency and period', options);
  }
  let freq = false;
  let sample: bigint;
  if (o.frequency !== undefined) {
    freq = true;
    sample = BigInt(checkInteger(o.frequency, 'options.frequency', 1, 2 ** 31 - 1));
  } else if (typeof o.period === 'bigint') {
    if (o.period < 1n || o.period > 0x7fffffffffffffffn) throw argRangeError('options.period', 'a period 1..2^63-1', o.period);
    sample = o.period;
  } else {
    sample = BigInt(checkInteger(o.period, 'options.period', 1, Number.MAX_SAFE_INTEGER));
  }
  const pid = checkPid(o.pid, 'options.pid');
  let cpus: number[];
  if (o.cpu === 'all' || (o.cpu === undefined && pid === -1)) {
    cpus = onlineCpus();
  } else if (o.cpu === undefined) {
    cpus = [-1];
  } else {
    const online = onlineCpus();
    cpus = [checkInteger(o.cpu, 'options.cpu', 0, Math.max(...online))];
    if (!online.includes(cpus[0])) throw argRangeError('options.cpu', `an online CPU (${online.join(', ')}) or 'all'`, o.cpu);
  }
  return { type: o.type === 'hardware' ? 0 : 1, config: BigInt(config), freq, sample, cpus, pid, cookie: checkCookie(o.cookie, 'options.cookie') };
}

/** The fixed message pin() throws on a Link that owns one attachment per CPU. */
export const PER_CPU_PIN = 'Link owns one perf event attachment per CPU and cannot be pinned as one; attach with { cpu: n } to pin';
/** The fixed message `fd` throws on such a Link. */
export const PER_CPU_FD = 'Link owns one perf event attachment per CPU and has no single fd';

/** One Link's native side over one attachment per CPU: destroy/disconnect act on all. */
export class PerCpuLinks implements NativeLink {
  readonly #links: NativeLink[];

  constructor(links: NativeLink[]) {
    this.#links = links;
  }

  moveTo(object: NativeObject): void {
    for (const link of this.#links) link.moveTo(object);
  }

  destroy(): void {
    for (const l of this.#links) l.destroy();
  }

  disconnect(): void {
    for (const l of this.#links) if (!l.destroyed()) l.disconnect();
  }

  pin(): void {
    throw new TypeError(PER_CPU_PIN);
  }

  unpin(): void {
    throw new TypeError(PER_CPU_PIN);
  }

  pinPath(): string | null {
    return null;
  }

  fd(): number {
    throw new TypeError(PER_CPU_FD);
  }

  destroyed(): boolean {
    return this.#links.every((l) => l.destroyed());
  }

  /** Every CPU's link runs the new program, or the kernel's refusal (perf_event links refuse). */
  update(programFd: number): void {
    for (const l of this.#links) l.update(programFd);
  }

  /** The first CPU's attachment (all are alike but for the CPU), with `attachments`: how many. */
  info(): { type: string; id: number; programId: number; [detail: string]: unknown } {
    return { ...this.#links[0].info(), attachments: this.#links.length };
  }
}
