// BpfError and VerifierError: what the kernel or libbpf refused, with the errno's name,
// the libbpf call, the lines libbpf printed, and a hint where the usual cause is known.
import * as util from 'node:util';

/** One line libbpf printed, as the addon hands it over (its print callback's level and text). */
export interface LibbpfLine {
  level: 'warn' | 'info' | 'debug';
  message: string;
}

// libbpf's own error codes (libbpf.h, enum libbpf_errno), beyond the kernel's errnos.
const LIBBPF_ERRNO: Record<number, [string, string]> = {
  4000: ['ELIBELF', 'Something wrong in libelf'],
  4001: ['EFORMAT', 'BPF object format invalid'],
  4002: ['EKVERSION', "'version' section incorrect or lost"],
  4003: ['EENDIAN', 'Endian mismatch'],
  4004: ['EINTERNAL', 'Internal error in libbpf'],
  4005: ['ERELOC', 'Relocation failed'],
  4006: ['ELOAD', 'Load program failure for unknown reason'],
  4007: ['EVERIFY', 'Kernel verifier blocks program loading'],
  4008: ['EPROG2BIG', 'Program too big'],
  4009: ['EKVER', 'Incorrect kernel version'],
  4010: ['EPROGTYPE', "Kernel doesn't support this program type"],
  4011: ['EWRNGPID', 'Wrong pid in netlink message'],
  4012: ['EINVSEQ', 'Invalid netlink sequence'],
  4013: ['ENLPARSE', 'Incorrect netlink message parsing'],
};
// Names the kernel's BPF documentation uses where Node's table differs (95 is both
// ENOTSUP and EOPNOTSUPP on Linux), and kernel-internal codes libc does not name.
const KERNEL_NAMES: Record<number, [string, string]> = {
  95: ['EOPNOTSUPP', 'Operation not supported'],
  524: ['ENOTSUPP', 'Operation is not supported (kernel-internal ENOTSUPP)'],
  116: ['ESTALE', 'Stale file handle'], // libuv does not name it; bpf_mprog's revision mismatch
};

const systemErrors = util.getSystemErrorMap();

export function errnoName(errno: number): [code: string, description: string] {
  const known = KERNEL_NAMES[errno] ?? systemErrors.get(-errno) ?? LIBBPF_ERRNO[errno];
  // libuv's texts are lower case ("invalid argument"); the others follow them ("BPF ..." stays).
  return known ? [known[0], known[1].replace(/^[A-Z](?=[a-z])/, (c) => c.toLowerCase())] : [`E${errno}`, `unknown error ${errno}`];
}

/** The optional parts of a BpfError, for its constructor. */
export interface BpfErrorDetails {
  /** What libbpf printed (warnings and info) while the failing call ran. */
  libbpfLog?: string[];
  /** The usual cause and what to do, appended to the message as "Hint: ...". */
  hint?: string;
  /** The program the failure is about, when libbpf named one. */
  program?: string;
}

/**
 * What the kernel or libbpf refused: the errno by name (`code`) and number, the call that
 * failed, the lines libbpf printed meanwhile, and a `hint` where the usual cause is known
 * (no CAP_BPF, a kernel without the feature, bpffs not mounted, ...). Bad arguments are
 * TypeError/RangeError instead, and a closed handle a TypeError.
 *
 * @example
 * ```ts
 * try {
 *   await obj.load();
 * } catch (e) {
 *   if (e instanceof BpfError && e.code === 'EPERM') console.error(e.hint);
 *   else throw e;
 * }
 * ```
 */
export class BpfError extends Error {
  /** The errno's name: 'EPERM', 'ENOENT', 'E2BIG', ... (libbpf's own codes: 'EFORMAT', ...) */
  readonly code: string;
  /** The errno, positive (libbpf's own codes: 4000 and up). */
  readonly errno: number;
  /** The libbpf function (or syscall) that failed, e.g. 'bpf_object__load'. */
  readonly syscall: string;
  /** The usual cause, when we know one. */
  readonly hint: string | undefined;
  /** Lines libbpf printed during the failing call. */
  readonly libbpfLog: string[];
  /** The program the failure is about, when known. */
  readonly program: string | undefined;

  /**
   * The message reads "syscall: CODE (description): detail. Hint: hint". Made by the
   * library; exported for `instanceof` and for wrappers that rethrow one.
   */
  constructor(errno: number, syscall: string, detail?: string, details: BpfErrorDetails = {}) {
    const [code, description] = errnoName(errno);
    const hint = details.hint;
    super(`${syscall}: ${code} (${description})${detail ? `: ${detail}` : ''}${hint ? `. Hint: ${hint}` : ''}`);
    this.name = new.target.name;
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    this.hint = hint;
    this.libbpfLog = details.libbpfLog ?? [];
    this.program = details.program;
  }
}

/**
 * The verifier refused a program: `log` has the whole verifier log (the buffer grows
 * until it fits), the message its last meaningful lines.
 * @example
 * ```ts
 * try {
 *   await obj.load();
 * } catch (e) {
 *   if (e instanceof VerifierError) fs.writeFileSync(`${e.program}.log`, e.log);
 *   throw e;
 * }
 * ```
 */
export class VerifierError extends BpfError {
  /** The program the verifier rejected. */
  declare readonly program: string;
  /** The complete verifier log. */
  readonly log: string;

  /** Made by BpfObject.load(); the message quotes the log's last three meaningful lines. */
  constructor(errno: number, syscall: string, program: string, log: string, details: BpfErrorDetails = {}) {
    super(errno, syscall, `program '${program}' rejected by the verifier:\n  ${lastMeaningfulLines(log).join('\n  ')}`, { ...details, program });
    this.log = log;
  }
}

const NOISE = /^(processed \d+ insns|verification time|stack depth|mark_precise|\s*$)/;

function lastMeaningfulLines(log: string, count = 3): string[] {
  const lines = log.split('\n').filter((l) => !NOISE.test(l));
  return lines.slice(-count);
}

export const stripPrefix = (line: string): string => line.replace(/^libbpf: /, '');

const VERIFIER_LOG = /^(?:libbpf: )?prog '([^']+)': -- BEGIN PROG LOAD LOG --\n([\s\S]*?)-- END PROG LOAD LOG --/;

/** The verifier logs in libbpf's output, by program name. */
export function verifierLogs(lines: LibbpfLine[]): Map<string, string> {
  const logs = new Map<string, string>();
  for (const { message } of lines) {
    const m = VERIFIER_LOG.exec(message);
    if (m) logs.set(m[1], m[2]);
  }
  return logs;
}

const PROG_LINE = /^prog '([^']+)': /;

// The most specific thing libbpf said about the failure: its first warning about a
// program or map ("prog 'x': BPF program load failed"), else its last warning.
export function detailOf(lines: LibbpfLine[]): { detail?: string; program?: string } {
  const warnings = lines
    .filter((l) => l.level === 'warn' && !l.message.includes('PROG LOAD LOG'))
    .map((l) => stripPrefix(l.message).replace(/: -?(E[A-Z0-9]+|\d+)$/, '').trimEnd());
  const specific = warnings.find((w) => PROG_LINE.test(w) || w.startsWith('map '));
  return { detail: specific ?? warnings[warnings.length - 1], program: specific && PROG_LINE.exec(specific)?.[1] };
}

/** The same BpfError with another detail and/or hint (BpfError's fields are read-only). */
export function withDetail(e: BpfError, detail: string | undefined, hint: string | undefined): BpfError {
  if (detail === undefined) {
    const prefix = `${e.syscall}: ${e.code} (${errnoName(e.errno)[1]})`;
    detail = e.message.startsWith(`${prefix}: `) ? e.message.slice(prefix.length + 2) : undefined;
    if (detail && e.hint && detail.endsWith(`. Hint: ${e.hint}`)) detail = detail.slice(0, -(e.hint.length + 8));
  }
  return new BpfError(e.errno, e.syscall, detail, { hint: hint ?? e.hint, libbpfLog: e.libbpfLog, program: e.program });
}
