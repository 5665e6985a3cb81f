// Compiling *.bpf.c the CO-RE way: clang -g -O2 -target bpf, libbpf's BPF headers from
// this package, and a vmlinux.h generated from the running kernel's BTF (cached per
// BTF checksum), so a program compiled here relocates on any kernel with BTF.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { argRangeError, argTypeError, checkOptions, checkString } from '../base/args';
import { Btf, type BtfKind, type BtfType } from '../btf/btf';
import { btfSubset } from '../btf/builder';
import { addon, PACKAGE_ROOT } from '../base/native';

const run = promisify(execFile);
const KERNEL_BTF = '/sys/kernel/btf/vmlinux';
/** The package's include/ directory: bpf/bpf_helpers.h and friends. */
export const INCLUDE_DIR = path.join(PACKAGE_ROOT, 'include');

const MULTIARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', s390x: 's390x', ppc64: 'powerpc64le', riscv64: 'riscv64' };
const ARCH: Record<string, string> = { x64: 'x86', arm64: 'arm64', arm: 'arm', s390x: 's390', ppc64: 'powerpc', riscv64: 'riscv', loong64: 'loongarch', mips: 'mips' };

/** Options of `build(source, options)` and `buildCommand(source, options)`: where the object goes and what clang gets. */
export interface BuildOptions {
  /** Output path (default: the source with .c replaced by .o). */
  output?: string;
  /** Extra include directories (-I). */
  includeDirs?: string[];
  /** Target architecture for PT_REGS macros: 'x86', 'arm64', ... (default: this machine's). */
  arch?: string;
  /** Extra clang flags. */
  cflags?: string[];
  /** BTF to generate vmlinux.h from (default: the running kernel's). */
  btf?: string;
  /** The clang binary (default: the newest clang on PATH). */
  clang?: string;
}

const BUILD_OPTIONS = ['output', 'includeDirs', 'arch', 'cflags', 'btf', 'clang'] as const;

function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'node-libbpf');
}

/** The newest clang on PATH ('clang', 'clang-19', ...), or a clear error naming the Debian package. */
export function findClang(): string {
  const candidates = ['clang', ...Array.from({ length: 12 }, (_, i) => `clang-${22 - i}`)];
  let best: { bin: string; major: number } | undefined;
  for (const bin of candidates) {
    try {
      const out = execFileSync(bin, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const major = Number(/clang version (\d+)/.exec(out)?.[1] ?? 0);
      if (!best || major > best.major) best = { bin, major };
    } catch {
      // not installed under that name
    }
  }
  if (!best) throw new Error('clang not found on PATH: install it (Debian: apt-get install clang-19)');
  return best.bin;
}

/**
 * A vmlinux.h for `btfPath` (default: the running kernel), generated with libbpf's
 * btf_dump and cached by the BTF's sha256. Returns its path.
 */
export function vmlinuxHeader(btfPath: string = KERNEL_BTF): string {
  const bytes = fs.readFileSync(btfPath);
  const sum = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const file = path.join(cacheDir(), 'vmlinux', sum, 'vmlinux.h');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, Btf.fromFile(btfPath).toCHeader()); // validated before btf_dump
    fs.renameSync(tmp, file);
  }
  return file;
}

// clang's own system include directories, added with -idirafter (as libbpf-bootstrap
// does) so that <linux/bpf.h> and <asm/types.h> resolve under -target bpf.
function systemIncludes(clang: string): string[] {
  const text = spawnSync(clang, ['-v', '-E', '-x', 'c', '/dev/null', '-o', '/dev/null'], { encoding: 'utf8' }).stderr ?? '';
  const start = text.indexOf('#include <...> search starts here:');
  const end = text.indexOf('End of search list.');
  if (start < 0 || end < 0) return [];
  const dirs = text.slice(start, end).split('\n').slice(1).map((l) => l.trim()).filter(Boolean);
  // Debian keeps <asm/types.h> under the multiarch directory, which -target bpf omits.
  const multiarch = `/usr/include/${MULTIARCH[process.arch] ?? process.arch}-linux-gnu`;
  if (fs.existsSync(multiarch) && !dirs.includes(multiarch)) dirs.push(multiarch);
  return dirs;
}

/**
 * The clang command line build() runs (to print it, or to run it from a Makefile).
 * @example
 * const { clang, args } = buildCommand('agent.bpf.c');
 * console.log([clang, ...args].join(' '));
 */
export function buildCommand(source: string, options: BuildOptions = {}): {
  /** The clang binary. */
  clang: string;
  /** Its arguments, the source and `-o output` included. */
  args: string[];
  /** The object's path. */
  output: string;
} {
  checkString(source, 'source');
  const o = checkOptions<BuildOptions>(options, 'options', BUILD_OPTIONS);
  const clang = o.clang ?? findClang();
  const output = o.output ?? source.replace(/\.c$/, '') + '.o';
  if (o.arch !== undefined && (typeof o.arch !== 'string' || !/^[a-z0-9_]+$/.test(o.arch))) {
    throw argTypeError('options.arch', 'a BPF target architecture (x86, arm64, ...)', o.arch);
  }
  const arch = o.arch ?? ARCH[process.arch];
  if (!arch) throw argTypeError('options.arch', 'a BPF target architecture (x86, arm64, ...)', o.arch);
  for (const d of o.includeDirs ?? []) checkString(d, 'options.includeDirs[]');
  const args = [
    '-g', '-O2', '-target', 'bpf', `-D__TARGET_ARCH_${arch}`,
    '-I', path.dirname(vmlinuxHeader(o.btf)),
    '-I', INCLUDE_DIR,
    ...(o.includeDirs ?? []).flatMap((d) => ['-I', d]),
    ...systemIncludes(clang).flatMap((d) => ['-idirafter', d]),
    ...(o.cflags ?? []),
    '-c', source, '-o', output,
  ];
  return { clang, args, output };
}

// Runs clang; a failure carries its diagnostics (file:line kept) in the message.
async function compile(clang: string, args: string[], what: string): Promise<void> {
  try {
    await run(clang, args, { maxBuffer: 64 * 1024 * 1024 });
  } catch (e) {
    const stderr = String((e as { stderr?: string }).stderr ?? '').trim();
    throw new Error(`clang failed to compile ${what}:\n${stderr || String(e)}`);
  }
}

/**
 * Compile a BPF C source to a CO-RE object. Resolves with the output path; rejects
 * with clang's diagnostics (file:line kept) in the message.
 * @example await build('src/agent.bpf.c', { output: 'dist/agent.bpf.o' });
 */
export async function build(source: string, options: BuildOptions = {}): Promise<string> {
  const { clang, args, output } = buildCommand(source, options);
  fs.mkdirSync(path.dirname(path.resolve(output)), { recursive: true });
  await compile(clang, args, source);
  return output;
}

/** Options of `headerBtf(header, options)`: which types to keep, and the clang options of build(). */
export interface HeaderBtfOptions extends Omit<BuildOptions, 'output'> {
  /** The types to keep, as C spells them: 'struct event', 'union u', 'enum e' or a typedef name. */
  types: string[];
  /** Where to write the raw BTF (default: nowhere; the Btf is returned either way). */
  output?: string;
}

const HEADER_BTF_OPTIONS = ['types', 'output', 'includeDirs', 'arch', 'cflags', 'btf', 'clang'] as const;
// What the stub can put before `*`: also keeps the stub free of anything but a name.
const C_TYPE = /^(?:(struct|union|enum) )?(?!(?:struct|union|enum)$)([A-Za-z_]\w*)$/;
const C_TYPE_EXPECTED = "'struct x', 'union x', 'enum x' or a typedef name";

function checkTypes(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) throw argTypeError('options.types', 'a non-empty array of type names', value);
  value.forEach((t, i) => {
    if (typeof t !== 'string') throw argTypeError(`options.types[${i}]`, C_TYPE_EXPECTED, t);
    if (!C_TYPE.test(t)) throw argRangeError(`options.types[${i}]`, C_TYPE_EXPECTED, t);
  });
  return value;
}

function checkHeaders(value: unknown): string[] {
  const headers = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(headers) || headers.length === 0) throw argTypeError('headers', 'a header path or a non-empty array of them', value);
  return headers.map((h, i) => {
    checkString(h, `headers[${i}]`);
    if (/["\n]/.test(h)) throw argRangeError(`headers[${i}]`, 'a path without quotes or newlines', h);
    return h;
  });
}

// vmlinux.h first, as in the program's .bpf.c, then the headers; a pointer global per
// type makes clang emit it (it leaves out types that only local variables use). Type i
// is on line firstTypeLine + i.
function stubSource(headers: string[], types: string[]): { text: string; firstTypeLine: number } {
  const lines = [
    '// Generated by node-libbpf headerBtf(): keeps these types in the BTF.',
    '#include "vmlinux.h"',
    ...headers.map((h) => `#include "${path.resolve(h)}"`),
  ];
  const firstTypeLine = lines.length + 1;
  lines.push(...types.map((t, i) => `${t} *__nlb_type_${i};`), '');
  return { text: lines.join('\n'), firstTypeLine };
}

// When clang's only errors are on the stub's type lines (`unknown type name 'x'`), the
// headers compiled and a typedef name is not in them: which one.
function unknownType(message: string, stub: string, firstTypeLine: number, types: string[]): number | undefined {
  const lines = [...message.matchAll(/^(.+?):(\d+):\d+: (?:fatal )?error:/gm)].map((m) => (m[1] === stub ? Number(m[2]) - firstTypeLine : -1));
  return lines.length > 0 && lines.every((i) => i >= 0 && i < types.length) ? lines[0] : undefined;
}

// The requested type, defined: `struct x *` compiles with struct x only declared (a fwd).
function definedType(btf: Btf, name: string): BtfType | undefined {
  const [, tag, bare] = C_TYPE.exec(name)!;
  const t = tag ? btf.find(bare, tag as BtfKind) ?? (tag === 'enum' ? btf.find(bare, 'enum64') : undefined) : btf.find(bare, 'typedef');
  if (!t) return undefined;
  const r = btf.resolve(t.id);
  return r.kind === 'fwd' || ((r.kind === 'enum' || r.kind === 'enum64') && !r.values?.length) ? undefined : t;
}

/**
 * BTF for types a BPF program declares in a header, for RingBuffer's and PerfBuffer's
 * `btf` option: a program that uses its event struct only through local variables has
 * no BTF for it in its object. Compiles a stub that includes vmlinux.h and the headers
 * and references each type, with build()'s clang flags, and keeps those types and what
 * they reference (a raw BTF of a few hundred bytes, loadable by the kernel and by
 * Btf.fromFile()). Rejects with clang's diagnostics, or a RangeError naming a type the
 * headers do not define.
 * @example
 * await headerBtf('src/bootstrap.h', { types: ['struct event'], output: 'dist/bootstrap.btf' });
 * // where the agent runs (no clang needed):
 * new RingBuffer(obj.map('rb'), onEvent, { type: 'struct event', btf: Btf.fromFile('dist/bootstrap.btf') });
 */
export async function headerBtf(headers: string | string[], options: HeaderBtfOptions): Promise<Btf> {
  const files = checkHeaders(headers);
  const { types: wanted, output, ...clangOptions } = checkOptions<HeaderBtfOptions>(options, 'options', HEADER_BTF_OPTIONS);
  const types = checkTypes(wanted);
  if (output !== undefined) checkString(output, 'options.output');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlb-header-btf-'));
  try {
    const stub = path.join(dir, 'types.c');
    const { text, firstTypeLine } = stubSource(files, types);
    fs.writeFileSync(stub, text);
    const { clang, args, output: object } = buildCommand(stub, { ...clangOptions, output: path.join(dir, 'types.o') });
    await compile(clang, args, files.join(', ')).catch((e: Error) => {
      const i = unknownType(e.message, stub, firstTypeLine, types);
      throw i === undefined ? e : argRangeError(`options.types[${i}]`, `a type defined in ${files.join(', ')}`, types[i]);
    });
    return keepTypes(Btf.fromFile(object), types, files, output);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// The requested types cut out of the stub's BTF, checked by libbpf, written to `output`.
function keepTypes(stub: Btf, types: string[], headers: string[], output: string | undefined): Btf {
  const ids = types.map((name, i) => {
    const t = definedType(stub, name);
    if (!t) throw argRangeError(`options.types[${i}]`, `a type defined in ${headers.join(', ')}`, name);
    return t.id;
  });
  const bytes = addon.btfRawData(btfSubset(stub, ids)); // btf__new validates it
  if (output !== undefined) {
    fs.mkdirSync(path.dirname(path.resolve(output)), { recursive: true });
    fs.writeFileSync(output, bytes);
  }
  return Btf.parse(bytes);
}
