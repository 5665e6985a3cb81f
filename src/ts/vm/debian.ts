// Debian kernel packages for the VMs: downloaded with apt-get through a private apt
// configuration (the machine's own apt state is never touched), from the archive the
// machine's apt already uses, unpacked with dpkg-deb, pruned to what a VM boot needs,
// and cached per kernel release.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The kernels the matrix knows by version, and the Debian suite each comes from. */
export const KNOWN_KERNELS: Readonly<Record<string, string>> = {
  '5.10': 'bullseye',
  '6.1': 'bookworm',
  '6.12': 'trixie',
  newest: 'sid',
};

/** The architectures a VM can run: this machine's (x64, KVM when usable) and arm64 (emulated). */
export type VmArch = 'x64' | 'arm64';
const DEB_ARCH: Record<VmArch, string> = { x64: 'amd64', arm64: 'arm64' };

/** A kernel unpacked in the cache, ready to boot. */
export interface CachedKernel {
  /** What the kernel runs on: 'x64' or 'arm64'. */
  arch: VmArch;
  /** `uname -r` of the kernel, e.g. '6.1.0-40-amd64'. */
  release: string;
  /** The package version, e.g. '6.1.153-1'. */
  version: string;
  /** Its directory in the cache. */
  dir: string;
  /** What qemu boots: the uncompressed ELF (PVH entry, faster under TCG) or the vmlinuz. */
  image: string;
  /** The kernel's build configuration (CONFIG_* = value). */
  config: Map<string, string>;
}

/** ~/.cache/node-libbpf/kernels, or NODE_LIBBPF_KERNELS. */
export function kernelCacheDir(): string {
  if (process.env.NODE_LIBBPF_KERNELS) return process.env.NODE_LIBBPF_KERNELS;
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'node-libbpf', 'kernels');
}

/** The archive URI this machine's apt uses (deb822 sources first, then sources.list). */
export function debianArchive(): string {
  if (process.env.NODE_LIBBPF_DEBIAN_ARCHIVE) return process.env.NODE_LIBBPF_DEBIAN_ARCHIVE;
  const read = (f: string): string => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');
  for (const stanza of read('/etc/apt/sources.list.d/debian.sources').split(/\n\s*\n/)) {
    const uri = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
    const suites = /^Suites:\s*(.*)$/m.exec(stanza)?.[1] ?? '';
    if (uri && /^Types:.*\bdeb\b/m.test(stanza) && !/-security\b/.test(suites)) return uri;
  }
  const line = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+/m.exec(read('/etc/apt/sources.list'));
  if (line) return line[1];
  throw new Error('no Debian archive found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list; set NODE_LIBBPF_DEBIAN_ARCHIVE');
}

const INDEXED_SUITES = ['bullseye', 'bookworm', 'trixie', 'sid'];

function aptEnv(cache: string, suites: string[], arch: VmArch): NodeJS.ProcessEnv {
  const apt = path.join(cache, arch === 'x64' ? 'apt' : `apt-${arch}`);
  for (const d of ['lists/partial', 'cache/archives/partial', 'etc/sources.list.d', 'etc/preferences.d']) {
    fs.mkdirSync(path.join(apt, d), { recursive: true });
  }
  if (!fs.existsSync(path.join(apt, 'status'))) fs.writeFileSync(path.join(apt, 'status'), '');
  const sources = [
    'Types: deb',
    `URIs: ${debianArchive()}`,
    `Suites: ${suites.join(' ')}`,
    'Components: main',
    'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
    '',
  ].join('\n');
  fs.writeFileSync(path.join(apt, 'etc/sources.list.d/kernels.sources'), sources);
  const conf = [
    'Dir::Etc::sourcelist "/dev/null";',
    `Dir::Etc::sourceparts "${apt}/etc/sources.list.d";`,
    `Dir::Etc::preferencesparts "${apt}/etc/preferences.d";`,
    `Dir::State::Lists "${apt}/lists";`,
    `Dir::Cache "${apt}/cache";`,
    `Dir::State::status "${apt}/status";`,
    `APT::Architecture "${DEB_ARCH[arch]}";`,
    `APT::Architectures { "${DEB_ARCH[arch]}"; };`,
    'APT::Sandbox::User "root";',
    '',
  ].join('\n');
  fs.writeFileSync(path.join(apt, 'apt.conf'), conf);
  return { ...process.env, APT_CONFIG: path.join(apt, 'apt.conf'), LC_ALL: 'C' };
}

class Apt {
  readonly env: NodeJS.ProcessEnv;
  #updated = false;
  constructor(readonly cache: string, readonly log: (line: string) => void, readonly arch: VmArch = 'x64') {
    this.env = aptEnv(cache, INDEXED_SUITES, arch);
  }
  get aptDir(): string {
    return path.join(this.cache, this.arch === 'x64' ? 'apt' : `apt-${this.arch}`);
  }
  run(args: string[], cwd?: string): string {
    return execFileSync(args[0], args.slice(1), { env: this.env, cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  }
  update(force: boolean): void {
    if (this.#updated) return;
    const stamp = path.join(this.aptDir, 'lists', '.indexed');
    const want = `${debianArchive()} ${INDEXED_SUITES.join(' ')}`;
    if (force || !fs.existsSync(stamp) || fs.readFileSync(stamp, 'utf8') !== want) {
      this.log(`apt-get update (${INDEXED_SUITES.join(', ')})`);
      this.run(['apt-get', 'update', '-q']);
      fs.writeFileSync(stamp, want);
    }
    this.#updated = true;
  }
  /** The concrete linux-image-<release> package that linux-image-<arch> in `suite` points at. */
  resolve(suite: string): string {
    const meta = `linux-image-${DEB_ARCH[this.arch]}`;
    const madison = this.run(['apt-cache', 'madison', meta]);
    const row = madison.split('\n').find((l) => (l.split('|')[2] ?? '').includes(` ${suite}/`));
    if (!row) throw new Error(`no ${meta} in suite '${suite}' of ${debianArchive()}`);
    const version = row.split('|')[1].trim();
    const depends = this.run(['apt-cache', 'depends', `${meta}=${version}`]);
    const pkg = /Depends: (linux-image-\S+)/.exec(depends)?.[1];
    if (!pkg) throw new Error(`${meta}=${version} names no kernel package`);
    return pkg;
  }
  /** The .deb of `pkg` in the cache, downloaded once. */
  download(pkg: string): string {
    const debs = path.join(this.cache, 'debs');
    fs.mkdirSync(debs, { recursive: true });
    const find = (): string | undefined => fs.readdirSync(debs).filter((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb')).sort().pop();
    let deb = find();
    if (!deb) {
      this.log(`downloading ${pkg}`);
      this.run(['apt-get', 'download', '-q', pkg], debs);
      deb = find();
      if (!deb) throw new Error(`apt-get download ${pkg} left no .deb`);
    }
    return path.join(debs, deb);
  }
}

function debField(deb: string, field: string): string {
  return execFileSync('dpkg-deb', ['-f', deb, field], { encoding: 'utf8' }).trim();
}

function readConfig(file: string): Map<string, string> {
  const config = new Map<string, string>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^(CONFIG_\w+)=(.*)$/.exec(line);
    if (m) config.set(m[1], m[2].replace(/^"(.*)"$/, '$1'));
  }
  return config;
}

/** Finds the ELF vmlinux inside a compressed bzImage (what linux's scripts/extract-vmlinux does). */
function extractVmlinux(vmlinuz: string, out: string): boolean {
  const image = fs.readFileSync(vmlinuz);
  const formats: [Buffer, string[]][] = [
    [Buffer.from('fd377a585a00', 'hex'), ['xz', '-dc']],
    [Buffer.from('28b52ffd', 'hex'), ['zstd', '-dcq']],
    [Buffer.from('1f8b0800', 'hex'), ['gzip', '-dc']],
  ];
  for (const [magic, tool] of formats) {
    for (let at = image.indexOf(magic); at >= 0; at = image.indexOf(magic, at + 1)) {
      let elf: Buffer;
      try {
        elf = execFileSync(tool[0], tool.slice(1), { input: image.subarray(at), maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'ignore'] });
      } catch (e) {
        elf = (e as { stdout?: Buffer }).stdout ?? Buffer.alloc(0); // trailing data after the stream
      }
      if (elf.length > 1 << 20 && elf.subarray(0, 4).equals(Buffer.from('\x7fELF', 'latin1'))) {
        fs.writeFileSync(out, elf);
        return true;
      }
    }
  }
  return false;
}

// Module paths (under lib/modules/<release>/kernel/) a VM loads: 9p and virtio for the
// host share, overlay for a writable view. Everything else is deleted after unpacking.
const KEEP_MODULES = /\/kernel\/(fs\/9p|net\/9p|drivers\/virtio|fs\/netfs|fs\/fscache|fs\/overlayfs)\//;

function prune(dir: string): void {
  for (const base of ['lib/modules', 'usr/lib/modules']) {
    const mods = path.join(dir, base);
    if (!fs.existsSync(mods)) continue;
    for (const entry of fs.readdirSync(mods, { recursive: true, withFileTypes: true })) {
      const full = path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
      if (entry.isFile() && /\.ko(\.xz|\.zst)?$/.test(entry.name) && !KEEP_MODULES.test(full)) fs.rmSync(full);
    }
  }
  fs.rmSync(path.join(dir, 'usr/share'), { recursive: true, force: true });
}

function unpack(apt: Apt, pkg: string, release: string, dest: string): void {
  const tmp = `${dest}.partial`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(path.join(tmp, 'boot'), { recursive: true });
  const deb = apt.download(pkg);
  execFileSync('dpkg-deb', ['-x', deb, tmp]);
  // Newer kernels are split: linux-image-X is empty and depends on linux-binary-X (the
  // image), linux-modules-X and linux-base-X (the config), all under /usr/lib/modules/X/.
  const escaped = release.replace(/[.+]/g, '\\$&');
  const split = new RegExp(`^linux-(binary|modules|base)-${escaped}$`);
  for (const dep of debField(deb, 'Depends').split(/[,|]/).map((d) => d.trim().split(/\s/)[0])) {
    if (split.test(dep)) execFileSync('dpkg-deb', ['-x', apt.download(dep), tmp]);
  }
  for (const file of ['vmlinuz', 'config', 'System.map']) {
    for (const base of ['usr/lib/modules', 'lib/modules']) {
      const from = path.join(tmp, base, release, file);
      const to = path.join(tmp, 'boot', `${file}-${release}`);
      if (fs.existsSync(from) && !fs.existsSync(to)) fs.renameSync(from, to);
    }
  }
  if (!fs.existsSync(path.join(tmp, 'boot', `vmlinuz-${release}`))) throw new Error(`${pkg}: no vmlinuz-${release} in the package`);
  prune(tmp);
  const vmlinuz = path.join(tmp, 'boot', `vmlinuz-${release}`);
  const config = readConfig(path.join(tmp, 'boot', `config-${release}`));
  if (config.get('CONFIG_PVH') === 'y') extractVmlinux(vmlinuz, path.join(tmp, 'boot', `vmlinux-${release}`));
  fs.writeFileSync(path.join(tmp, 'package.json'), `${JSON.stringify({ package: pkg, version: debField(deb, 'Version') })}\n`);
  fs.rmSync(dest, { recursive: true, force: true });
  fs.renameSync(tmp, dest);
  // The unpacked tree is all a VM needs: drop the packages (60-130 MB per kernel).
  fs.rmSync(path.join(apt.cache, 'debs'), { recursive: true, force: true });
}

function loadCached(dir: string): CachedKernel {
  const release = path.basename(dir);
  const { version } = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string };
  const config = readConfig(path.join(dir, 'boot', `config-${release}`));
  if (config.get('CONFIG_DEBUG_INFO_BTF') !== 'y') {
    throw new Error(`kernel ${release} is built without CONFIG_DEBUG_INFO_BTF: CO-RE programs need BTF`);
  }
  const elf = path.join(dir, 'boot', `vmlinux-${release}`);
  const image = !process.env.NODE_LIBBPF_VM_NO_PVH && fs.existsSync(elf) ? elf : path.join(dir, 'boot', `vmlinuz-${release}`);
  const arch: VmArch = config.get('CONFIG_ARM64') === 'y' ? 'arm64' : 'x64';
  return { arch, release, version, dir, image, config };
}

export interface FetchOptions {
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Ask the archive again which package a version or suite means (default: use the cached answer). */
  refresh?: boolean;
  /** The kernel's architecture (default 'x64'; 'arm64' boots under emulation). */
  arch?: VmArch;
}

/**
 * The kernel named by `spec`, from the cache or fetched: a version the matrix knows
 * ('5.10', '6.1', '6.12', 'newest'), a Debian suite ('bookworm-backports'), a package
 * ('linux-image-6.1.0-40-amd64'), or a release already in the cache ('6.1.0-40-amd64').
 */
export function fetchKernel(spec: string, options: FetchOptions = {}): CachedKernel {
  const cache = kernelCacheDir();
  const log = options.log ?? (() => undefined);
  const arch = options.arch ?? 'x64';
  fs.mkdirSync(cache, { recursive: true });
  const direct = path.join(cache, spec);
  if (/^\d+\.\d+\.\d+/.test(spec) && fs.existsSync(path.join(direct, 'package.json'))) return loadCached(direct);
  const resolvedFile = path.join(cache, 'resolved.json');
  const resolved = fs.existsSync(resolvedFile) ? (JSON.parse(fs.readFileSync(resolvedFile, 'utf8')) as Record<string, string>) : {};
  const key = arch === 'x64' ? spec : `${spec}@${arch}`;
  let pkg = spec.startsWith('linux-image-') ? spec : options.refresh ? undefined : resolved[key];
  let apt: Apt | undefined;
  if (!pkg) {
    apt = new Apt(cache, log, arch);
    apt.update(options.refresh ?? false);
    pkg = apt.resolve(KNOWN_KERNELS[spec] ?? spec);
    resolved[key] = pkg;
    fs.writeFileSync(resolvedFile, `${JSON.stringify(resolved, null, 2)}\n`);
  }
  const release = pkg.replace(/^linux-image-/, '').replace(/-unsigned$/, '');
  const dir = path.join(cache, release);
  if (!fs.existsSync(path.join(dir, 'package.json'))) {
    apt ??= new Apt(cache, log, arch);
    apt.update(false);
    log(`unpacking ${pkg}`);
    unpack(apt, pkg, release, dir);
  }
  return loadCached(dir);
}

/** The kernels already in the cache. */
export function cachedKernels(): CachedKernel[] {
  const cache = kernelCacheDir();
  if (!fs.existsSync(cache)) return [];
  return fs
    .readdirSync(cache)
    .filter((d) => fs.existsSync(path.join(cache, d, 'package.json')))
    .map((d) => loadCached(path.join(cache, d)));
}

/**
 * A statically linked busybox for the guest's init on `arch`, from Debian's busybox-static
 * package, unpacked once into the kernel cache (the host's /bin/busybox serves x64).
 */
export function guestBusybox(arch: VmArch, log: (line: string) => void = () => undefined): string {
  const dir = path.join(kernelCacheDir(), `busybox-${arch}`);
  // Older packages put it in /bin, merged-/usr ones in /usr/bin.
  const found = (): string | undefined => ['bin/busybox', 'usr/bin/busybox'].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
  const file = found();
  if (file) return file;
  const apt = new Apt(kernelCacheDir(), log, arch);
  apt.update(false);
  const deb = apt.download('busybox-static');
  fs.rmSync(`${dir}.partial`, { recursive: true, force: true });
  execFileSync('dpkg-deb', ['-x', deb, `${dir}.partial`]);
  fs.rmSync(deb);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(`${dir}.partial`, dir);
  const unpacked = found();
  if (!unpacked) throw new Error(`busybox-static for ${arch} holds no bin/busybox`);
  return unpacked;
}
