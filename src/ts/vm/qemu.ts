// Boots one kernel under qemu (KVM when it can run the guest, software emulation
// otherwise) and runs one command in it: see guest.ts for the guest side.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { cpioGz, CpioEntry } from './cpio';
import { CachedKernel, guestBusybox, type VmArch } from './debian';
import { GUEST_OUT, initScript, MARKER, runScript } from './guest';
import { moduleClosure } from './modules';

export interface VmOptions {
  /** The command and its arguments, run in the guest as root. */
  command: string[];
  /** Its working directory (default: process.cwd()); a host path, seen through the share. */
  cwd?: string;
  /** Environment of the command (PATH, HOME and TERM are set unless given). */
  env?: Record<string, string>;
  /** A host directory the guest can write, seen there as $NODE_LIBBPF_VM_OUT (default: a fresh temporary one). */
  outDir?: string;
  /** Guest memory in MiB (default 1024). */
  memoryMiB?: number;
  /** Seconds before the VM is killed (default 900). */
  timeoutSec?: number;
  /** Extra kernel command line. */
  append?: string;
  /** Each line the guest prints (the command's stdout and stderr, and kernel messages). */
  onLine?: (line: string) => void;
  /** Aborts the run (the VM is killed). */
  signal?: AbortSignal;
  /**
   * A host directory holding a root filesystem to run the command in (chroot), instead of
   * the host's /: needed when the kernel is another architecture (an arm64 user space with
   * node for an arm64 kernel). It must have proc, sys, dev, tmp and bin/sh.
   */
  root?: string;
}

export interface VmResult {
  /** The command's exit status; null when it never finished (timeout, crash, abort). */
  exitCode: number | null;
  /** Why exitCode is null. */
  failure?: string;
  /** Wall-clock seconds from spawning qemu to its exit. */
  seconds: number;
  /** Seconds the guest took to be ready to run the command (kernel boot, mounts). */
  bootSeconds?: number;
  /** The output directory (the guest's $NODE_LIBBPF_VM_OUT). */
  outDir: string;
  /** How the guest ran: 'kvm', or 'tcg' (software emulation, several times slower). */
  accel: Accel;
}

export type Accel = 'kvm' | 'tcg';

/** The LSMs a VM boots with: `bpf` last, so BPF LSM programs attach where the kernel has it. */
export function lsmList(kernel: CachedKernel): string {
  const lsms = ['lockdown', 'yama', 'apparmor'].filter((l) => (kernel.config.get('CONFIG_LSM') ?? '').split(',').includes(l));
  if (kernel.config.get('CONFIG_BPF_LSM') === 'y') lsms.push('bpf');
  return lsms.join(',');
}

const QEMU: Record<VmArch, { binary: string; debian: string }> = {
  x64: { binary: 'qemu-system-x86_64', debian: 'qemu-system-x86' },
  arm64: { binary: 'qemu-system-aarch64', debian: 'qemu-system-arm' },
};

function qemuBinary(arch: VmArch): string {
  const { binary, debian } = QEMU[arch];
  try {
    execFileSync(binary, ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(`${binary} not found: install it (Debian: apt-get install ${debian}; or run scripts/setup-kernels.sh)`);
  }
  return binary;
}

function busybox(arch: VmArch): Buffer {
  const file = arch === 'x64' ? process.env.NODE_LIBBPF_VM_BUSYBOX ?? '/bin/busybox' : guestBusybox(arch);
  const data = fs.existsSync(file) ? fs.readFileSync(file) : undefined;
  // A static ELF has no PT_INTERP program header; the interpreter path is then absent.
  if (!data || data.includes(Buffer.from('/lib64/ld-linux'))) {
    throw new Error(`${file} is missing or not statically linked: install busybox-static (Debian: apt-get install busybox-static)`);
  }
  return data;
}

function initramfs(kernel: CachedKernel, script: string, root: string): Buffer {
  const modules = moduleClosure(kernel.dir, ['virtio_pci', '9pnet_virtio', '9p']);
  const entries: CpioEntry[] = [
    ...['bin', 'boot', 'dev', 'proc', 'sys', 'tmp', 'mnt', 'mnt/host', 'modules'].map((p): CpioEntry => ({ path: p, type: 'dir' })),
    { path: `boot/config-${kernel.release}`, type: 'file', data: fs.readFileSync(path.join(kernel.dir, 'boot', `config-${kernel.release}`)) },
    { path: 'dev/console', type: 'chardev', major: 5, minor: 1 },
    { path: 'bin/busybox', type: 'file', data: busybox(kernel.arch), mode: 0o755 },
    { path: 'init', type: 'file', data: initScript(root), mode: 0o755 },
    { path: 'run.sh', type: 'file', data: script, mode: 0o755 },
    ...modules.map(([name, data]): CpioEntry => ({ path: `modules/${name}`, type: 'file', data })),
    { path: 'modules/load-order', type: 'file', data: modules.map(([name]) => `${name}\n`).join('') },
  ];
  return cpioGz(entries);
}

function kvmUsable(): boolean {
  try {
    fs.accessSync('/dev/kvm', fs.constants.R_OK | fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

// /dev/kvm can be there and still not run a guest: nested virtualization may refuse an
// MSR qemu sets for `-cpu host` (qemu aborts), or start a guest that never gets past
// the firmware. A boot under KVM that does not reach the guest's init within
// KVM_BOOT_SEC switches this process to software emulation for every later VM.
// NODE_LIBBPF_VM_ACCEL=kvm|tcg decides instead.
const KVM_BOOT_SEC = 30;
let kvmRefused: string | undefined;

function forcedAccel(): Accel | undefined {
  const forced = process.env.NODE_LIBBPF_VM_ACCEL;
  if (forced === undefined || forced === '') return undefined;
  if (forced !== 'kvm' && forced !== 'tcg') throw new Error(`NODE_LIBBPF_VM_ACCEL: expected kvm or tcg, got ${JSON.stringify(forced)}`);
  return forced;
}

/** What the next VM boots with, and why not KVM when it is not. */
export function accelerator(arch: VmArch = 'x64'): { accel: Accel; why?: string } {
  if (arch !== 'x64' || process.arch !== 'x64') return { accel: 'tcg', why: `an ${arch} guest on an ${process.arch} host` };
  const forced = forcedAccel();
  if (forced) return { accel: forced, why: forced === 'tcg' ? 'NODE_LIBBPF_VM_ACCEL=tcg' : undefined };
  if (!kvmUsable()) return { accel: 'tcg', why: '/dev/kvm is not usable' };
  if (kvmRefused) return { accel: 'tcg', why: kvmRefused };
  return { accel: 'kvm' };
}

/**
 * Boots `kernel` and runs `options.command` in it. The guest sees the host's / read-only
 * (so node and your project run unchanged), a tmpfs on /tmp, and the output directory
 * writable at $NODE_LIBBPF_VM_OUT. Resolves when the VM has powered off.
 */
export async function runInVm(kernel: CachedKernel, options: VmOptions): Promise<VmResult> {
  const { accel } = accelerator(kernel.arch);
  const result = await boot(kernel, options, accel);
  if (accel !== 'kvm' || result.bootSeconds !== undefined || forcedAccel() || options.signal?.aborted) return result;
  kvmRefused = `KVM did not run a guest here (${result.failure ?? 'no guest output'})`;
  options.onLine?.(`# ${kvmRefused}: software emulation from now on`);
  return boot(kernel, options, 'tcg');
}

async function boot(kernel: CachedKernel, options: VmOptions, accel: Accel): Promise<VmResult> {
  const qemu = qemuBinary(kernel.arch);
  const root = options.root ? path.resolve(options.root) : '';
  const outDir = options.outDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'nlb-vm-out-'));
  fs.mkdirSync(outDir, { recursive: true });
  const env = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/tmp',
    TERM: 'dumb',
    NODE_LIBBPF_VM_OUT: GUEST_OUT,
    ...options.env,
  };
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nlb-vm-'));
  const initrd = path.join(work, 'initrd.gz');
  fs.writeFileSync(initrd, initramfs(kernel, runScript(options.command, options.cwd ?? (root ? '/' : process.cwd()), env), root));
  const kvm = accel === 'kvm';
  const arm64 = kernel.arch === 'arm64';
  const serial = arm64 ? 'ttyAMA0' : 'ttyS0';
  const append = `console=${serial} panic=-1 quiet loglevel=1 lsm=${lsmList(kernel)} ${options.append ?? ''}`.trim();
  const args = [
    // arm64: qemu's virt board with a Cortex-A72 (no pointer authentication to emulate).
    ...(arm64 ? ['-M', 'virt', '-cpu', 'cortex-a72', '-accel', 'tcg'] : kvm ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg']),
    ...['-m', String(options.memoryMiB ?? 1024), '-smp', '1', '-display', 'none', '-serial', 'stdio', '-monitor', 'none'],
    ...['-nic', 'none', '-no-reboot', '-kernel', kernel.image, '-initrd', initrd, '-append', append],
    ...['-virtfs', 'local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap'],
    ...['-virtfs', `local,path=${outDir},mount_tag=out,security_model=none,multidevs=remap`],
  ];
  const started = process.hrtime.bigint();
  const elapsed = (): number => Number(process.hrtime.bigint() - started) / 1e9;
  const child = spawn(qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let exitCode: number | null = null;
  let bootSeconds: number | undefined;
  let failure: string | undefined;
  const stderr: string[] = [];
  const lines = readline.createInterface({ input: child.stdout });
  lines.on('line', (raw) => {
    const line = raw.replace(/\r/g, '');
    const at = line.indexOf(MARKER);
    if (at < 0) {
      if (!/^\[\s*[\d.]+\] reboot: Power down$/.test(line)) options.onLine?.(line);
      return;
    }
    const exit = /exit=(\d+)/.exec(line.slice(at));
    if (exit) exitCode = Number(exit[1]);
    if (/ ready /.test(line)) bootSeconds = elapsed();
    if (/cannot|failed|no \/sys/.test(line)) options.onLine?.(line.slice(at));
  });
  child.stderr.on('data', (d: Buffer) => stderr.push(d.toString()));
  const kill = (why: string): void => {
    failure ??= why;
    child.kill('SIGKILL');
  };
  const timer = setTimeout(() => kill(`timed out after ${options.timeoutSec ?? 900} s`), (options.timeoutSec ?? 900) * 1000);
  const bootTimer = kvm ? setTimeout(() => bootSeconds === undefined && kill(`no guest init after ${KVM_BOOT_SEC} s`), KVM_BOOT_SEC * 1000) : undefined;
  const onAbort = (): void => kill('aborted');
  options.signal?.addEventListener('abort', onAbort);
  const onExit = (): void => void child.kill('SIGKILL');
  process.on('exit', onExit);
  try {
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', () => resolve());
    });
  } finally {
    clearTimeout(timer);
    clearTimeout(bootTimer);
    options.signal?.removeEventListener('abort', onAbort);
    process.off('exit', onExit);
    fs.rmSync(work, { recursive: true, force: true });
  }
  if (exitCode === null && !failure) failure = `the VM stopped before the command finished${stderr.length ? `: ${stderr.join('').trim()}` : ''}`;
  return { exitCode, failure, seconds: elapsed(), bootSeconds, outDir, accel };
}
