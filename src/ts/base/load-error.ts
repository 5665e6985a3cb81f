// Why the addon did not load, said once and plainly: the platform, the files looked for,
// the loader's own message, and what to do. Pure (reads the file system, never the addon).
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The oldest glibc the prebuilds load on (they are built on Debian 11). */
export const GLIBC_FLOOR = '2.31';
const PREBUILT_ARCHES = ['x64', 'arm64'];

/** A C library: which one, and glibc's version. */
export interface Libc {
  /** glibc, musl, or neither known. */
  family: 'glibc' | 'musl' | 'unknown';
  /** glibc's version, e.g. '2.36', when the runtime reports it. */
  version?: string;
}

/** This process's C library: glibc (with its version) or musl. */
export function detectLibc(): Libc {
  if (process.platform !== 'linux') return { family: 'unknown' };
  try {
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
    if (header?.glibcVersionRuntime) return { family: 'glibc', version: header.glibcVersionRuntime };
  } catch {
    // a runtime without process.report: look at the file system instead
  }
  for (const dir of ['/lib', '/usr/lib']) {
    try {
      if (fs.readdirSync(dir).some((f) => f.startsWith('ld-musl-'))) return { family: 'musl' };
    } catch {
      // no such directory
    }
  }
  return fs.existsSync('/etc/alpine-release') ? { family: 'musl' } : { family: fs.existsSync('/lib/ld-linux-x86-64.so.2') || fs.existsSync('/lib/ld-linux-aarch64.so.1') ? 'glibc' : 'unknown' };
}

function olderThan(a: string, b: string): boolean {
  const [pa, pb] = [a, b].map((v) => v.split('.').map(Number));
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) < (pb[i] ?? 0);
  }
  return false;
}

/** The files node-gyp-build considers, in its order, and whether each is there. */
export function addonCandidates(root: string): { file: string; exists: boolean }[] {
  const files = [path.join(root, 'build', 'Release', 'node_libbpf.node')];
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  let prebuilt: string[] = [];
  try {
    prebuilt = fs.readdirSync(dir).filter((f) => f.endsWith('.node')).map((f) => path.join(dir, f));
  } catch {
    // no prebuilds for this platform
  }
  files.push(...(prebuilt.length ? prebuilt : [path.join(dir, 'node.napi.glibc.node')]));
  return files.map((file) => ({ file, exists: fs.existsSync(file) }));
}

const MACHINES: Record<number, string> = { 3: 'x86 (32-bit)', 40: 'arm (32-bit)', 62: 'x64', 183: 'arm64', 243: 'riscv64' };

/** The architecture an ELF file is built for (e_machine), or undefined when unreadable. */
function elfMachine(file: string): string | undefined {
  let head: Buffer;
  try {
    // Read whole (an error path, once): this layer leaves opening and closing fds to C++.
    head = fs.readFileSync(file).subarray(0, 20);
  } catch {
    return undefined;
  }
  if (head.length < 20 || head.readUInt32BE(0) !== 0x7f454c46) return 'not an ELF file';
  const machine = head.readUInt16LE(18);
  return MACHINES[machine] ?? `ELF machine ${machine}`;
}

const FROM_SOURCE = 'build from source: `npm rebuild node-libbpf` with install scripts allowed (needs a C/C++ compiler, make, python3 and bzip2; it fetches the pinned libbpf, elfutils and zlib sources)';

function advice(libc: Libc, message: string, tried: { file: string; exists: boolean }[]): string {
  if (process.platform !== 'linux') return `node-libbpf runs on Linux only (BPF is a Linux kernel interface); this is ${process.platform}`;
  if (libc.family === 'musl') {
    return `musl libc (Alpine) is not supported yet: the prebuilds need glibc ${GLIBC_FLOOR}+. Use a glibc-based image (e.g. node:*-slim), or ${FROM_SOURCE} (apk add build-base python3 linux-headers bzip2)`;
  }
  if (!PREBUILT_ARCHES.includes(process.arch)) return `there is no prebuild for ${process.arch} (only ${PREBUILT_ARCHES.join(', ')}): ${FROM_SOURCE}`;
  // glibc reports a binary for another machine as "cannot open shared object file".
  for (const t of tried.filter((x) => x.exists)) {
    const machine = elfMachine(t.file);
    if (machine && machine !== process.arch) {
      const what = machine === 'not an ELF file' ? 'is not an ELF file (a damaged or partial install)' : `is built for ${machine}, this process is ${process.arch}`;
      return `${t.file} ${what}: reinstall node-libbpf on this machine (npm ci), or ${FROM_SOURCE}`;
    }
  }
  const needsGlibc = /GLIBC_([0-9.]+)' not found/.exec(message);
  if ((libc.version && olderThan(libc.version, GLIBC_FLOOR)) || needsGlibc) {
    return `this system's glibc ${libc.version ?? '(version unknown)'} is older than ${needsGlibc ? `the ${needsGlibc[1]} the addon needs` : `${GLIBC_FLOOR}, the prebuilds' floor`}: use a newer base image (Debian 11+, Ubuntu 20.04+, RHEL 9), or ${FROM_SOURCE}`;
  }
  if (/wrong ELF class|invalid ELF header|Exec format error|cannot open shared object file.*node_libbpf|file too short/i.test(message)) {
    return `the addon file is for another architecture or damaged: reinstall node-libbpf (npm ci), or ${FROM_SOURCE}`;
  }
  const missingLib = /(lib[\w+.-]+\.so[.\d]*): cannot open shared object file/.exec(message);
  if (missingLib) return `the addon needs ${missingLib[1]}, which this system lacks (the prebuilds need only glibc: this is a source build that linked it dynamically); install it, or reinstall node-libbpf to use the prebuild`;
  if (!tried.some((t) => t.exists)) return `the package was installed without its prebuilds: reinstall node-libbpf, or ${FROM_SOURCE}`;
  return `reinstall node-libbpf, or ${FROM_SOURCE}; \`npx node-libbpf doctor\` reports this machine`;
}

/** The addon could not be loaded; `message` says where, what was tried, why, and what to do. */
export class AddonLoadError extends Error {
  /** Always 'ERR_NODE_LIBBPF_ADDON', to tell this error from others. */
  readonly code = 'ERR_NODE_LIBBPF_ADDON';
  /** `${process.platform}-${process.arch}`, e.g. 'linux-arm64'. */
  readonly platform: string;
  /** The C library of the system described. */
  readonly libc: Libc;
  /** The files looked for, in order, and whether each exists. */
  readonly tried: {
    /** A path the addon was looked for at. */
    file: string;
    /** Whether that file exists. */
    exists: boolean;
  }[];
  /** What to do about it (the message's last line). */
  readonly advice: string;

  /** `libc` is this process's (detectLibc()); passing one describes another system. */
  constructor(root: string, cause: unknown, libc: Libc = detectLibc()) {
    const tried = addonCandidates(root);
    const why = cause instanceof Error ? cause.message : String(cause);
    const help = advice(libc, why, tried);
    const platform = `${process.platform}-${process.arch}`;
    const libcText = libc.family === 'glibc' ? `glibc ${libc.version ?? '(version unknown)'}` : libc.family;
    super([
      `node-libbpf: the native addon could not be loaded on ${platform} (${libcText}).`,
      `  looked for: ${tried.map((t) => `${t.file} (${t.exists ? 'found' : 'missing'})`).join(', ')}`,
      `  the loader said: ${why.split('\n')[0]}`,
      `  what to do: ${help}`,
    ].join('\n'), { cause });
    this.name = 'AddonLoadError';
    this.platform = platform;
    this.libc = libc;
    this.tried = tried;
    this.advice = help;
  }
}
