// Compiling *.bpf.c the CO-RE way: clang -g -O2 -target bpf, libbpf's BPF headers from
// this package, and a vmlinux.h generated from the running kernel's BTF (cached per
// BTF checksum), so a program compiled here relocates on any kernel with BTF.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { argTypeError, checkOptions, checkString } from './args';
import { addon, PACKAGE_ROOT } from './native';

const run = promisify(execFile);
const KERNEL_BTF = '/sys/kernel/btf/vmlinux';
/** The package's include/ directory: bpf/bpf_helpers.h and friends. */
export const INCLUDE_DIR = path.join(PACKAGE_ROOT, 'include');

const MULTIARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', s390x: 's390x', ppc64: 'powerpc64le', riscv64: 'riscv64' };
const ARCH: Record<string, string> = { x64: 'x86', arm64: 'arm64', arm: 'arm', s390x: 's390', ppc64: 'powerpc', riscv64: 'riscv', loong64: 'loongarch', mips: 'mips' };

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
    fs.writeFileSync(tmp, addon.btfToCHeader(btfPath));
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

/** The clang command line build() runs. */
export function buildCommand(source: string, options: BuildOptions = {}): { clang: string; args: string[]; output: string } {
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

/**
 * Compile a BPF C source to a CO-RE object. Resolves with the output path; rejects
 * with clang's diagnostics (file:line kept) in the message.
 * @example await build('src/agent.bpf.c', { output: 'dist/agent.bpf.o' });
 */
export async function build(source: string, options: BuildOptions = {}): Promise<string> {
  const { clang, args, output } = buildCommand(source, options);
  fs.mkdirSync(path.dirname(path.resolve(output)), { recursive: true });
  try {
    await run(clang, args, { maxBuffer: 64 * 1024 * 1024 });
  } catch (e) {
    const stderr = String((e as { stderr?: string }).stderr ?? '').trim();
    throw new Error(`clang failed to compile ${source}:\n${stderr || String(e)}`);
  }
  return output;
}
