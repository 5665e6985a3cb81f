// `node-libbpf vm --kernel 6.1 [--kernel 5.10 ...] -- COMMAND...`: runs a command (your
// tests, your agent) inside real Debian kernels under qemu, one VM after another.
import * as fs from 'node:fs';
import { kernelAllowsFor } from './allows';
import { cachedKernels, fetchKernel, KNOWN_KERNELS, type VmArch } from './debian';
import { runInVm } from './qemu';

export const VM_USAGE = `  node-libbpf vm --kernel VERSION [--kernel VERSION]... [--memory MIB] [--timeout SEC]
                 [--env NAME=VALUE]... [--out DIR] [--refresh] [--arch x64|arm64 [--root DIR]]
                 -- COMMAND [ARG]...
                                                run COMMAND as root inside that kernel under qemu
                                                (VERSION: ${Object.keys(KNOWN_KERNELS).join(', ')}, a Debian suite,
                                                a linux-image-* package or a cached release);
                                                --arch arm64: Debian's arm64 kernel, emulated, the
                                                command run in --root (an arm64 root filesystem)
  node-libbpf vm --list                         the kernels in the cache
`;

interface VmArgs {
  kernels: string[];
  arch: VmArch;
  root?: string;
  memoryMiB?: number;
  timeoutSec?: number;
  env: Record<string, string>;
  outDir?: string;
  refresh: boolean;
  list: boolean;
  command: string[];
}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag}: expected a positive integer, got '${value}'`);
  return n;
}

export function parseVmArgs(argv: string[]): VmArgs {
  const args: VmArgs = { kernels: [], arch: 'x64', env: {}, refresh: false, list: false, command: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--') {
      args.command = argv.slice(i + 1);
      break;
    } else if (a === '--kernel' || a === '-k') args.kernels.push(value());
    else if (a === '--memory') args.memoryMiB = positiveInt(a, value());
    else if (a === '--timeout') args.timeoutSec = positiveInt(a, value());
    else if (a === '--out') args.outDir = value();
    else if (a === '--refresh') args.refresh = true;
    else if (a === '--arch') {
      const arch = value();
      if (arch !== 'x64' && arch !== 'arm64') throw new Error(`--arch: expected x64 or arm64, got '${arch}'`);
      args.arch = arch;
    } else if (a === '--root') args.root = value();
    else if (a === '--list') args.list = true;
    else if (a === '--env') {
      const kv = value();
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new Error(`--env: expected NAME=VALUE, got '${kv}'`);
      args.env[kv.slice(0, eq)] = kv.slice(eq + 1);
    } else throw new Error(`unknown option ${a}`);
  }
  if (!args.list && args.kernels.length === 0) throw new Error('vm needs --kernel VERSION');
  if (!args.list && args.command.length === 0) throw new Error('vm needs a command after --');
  if (args.arch !== process.arch && !args.root && !args.list) {
    throw new Error(`vm --arch ${args.arch} needs --root DIR: a root filesystem for ${args.arch} to run the command in (this host's binaries are ${process.arch})`);
  }
  return args;
}

/** The `vm` subcommand; resolves with the exit status (the command's, or 1 when a VM failed). */
export async function vmCommand(argv: string[]): Promise<number> {
  const args = parseVmArgs(argv);
  if (args.list) {
    for (const k of cachedKernels()) process.stdout.write(`${k.release.padEnd(28)} ${k.version.padEnd(22)} ${kernelAllowsFor(k).join(',')}\n`);
    return 0;
  }
  const log = (line: string): void => void process.stderr.write(`vm: ${line}\n`);
  // Ctrl-C or a kill stops the VM too (qemu is a child process, not in the terminal's way).
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  process.once('SIGINT', stop).once('SIGTERM', stop);
  let status = 0;
  for (const spec of args.kernels) {
    const kernel = fetchKernel(spec, { log, refresh: args.refresh, arch: args.arch });
    if (args.outDir) fs.mkdirSync(args.outDir, { recursive: true });
    log(`booting ${kernel.release}`);
    const result = await runInVm(kernel, {
      command: args.command,
      env: { NODE_LIBBPF_KERNEL_ALLOWS: kernelAllowsFor(kernel).join(','), ...args.env },
      memoryMiB: args.memoryMiB,
      timeoutSec: args.timeoutSec,
      outDir: args.outDir,
      root: args.root,
      onLine: (line) => void process.stdout.write(`${line}\n`),
      signal: abort.signal,
    });
    if (abort.signal.aborted) return 130;
    if (result.exitCode === null) {
      log(`${kernel.release}: ${result.failure}`);
      status = 1;
    } else {
      const how = result.accel === 'tcg' ? ', software emulation' : '';
      log(`${kernel.release}: exit ${result.exitCode} in ${result.seconds.toFixed(1)} s (boot ${result.bootSeconds?.toFixed(1) ?? '?'} s${how})`);
      if (result.exitCode !== 0 && status === 0) status = result.exitCode;
    }
  }
  return status;
}
