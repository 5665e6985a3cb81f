// Where the addon cannot load: `require('node-libbpf')` throws one AddonLoadError naming the
// platform, the files looked for, the loader's message and what to do, and the command line
// (--help, --version, every COMMAND --help, doctor) still works. Each case is a copy of the
// package as installed (package.json, dist/, node_modules) with its prebuild missing or wrong.
// (glibc older than the addon needs is shown for real in the Debian 11 root: test/package/rootfs.)
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AddonLoadError } from '../../src/ts/base/load-error';

const root = path.join(__dirname, '..', '..');
const other = process.arch === 'x64' ? 'arm64' : 'x64';

function installedCopy(work: string, name: string, prebuild?: (file: string) => void): string {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
  fs.cpSync(path.join(root, 'dist'), path.join(dir, 'dist'), { recursive: true });
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  const file = path.join(dir, 'prebuilds', `linux-${process.arch}`, 'node.napi.glibc.node');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  prebuild?.(file);
  return dir;
}

function requireError(dir: string): string {
  const r = spawnSync(process.execPath, ['-e', `
    try { require(${JSON.stringify(dir)}); console.log('loaded'); }
    catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message, platform: e.platform })); }`], { encoding: 'utf8' });
  return r.stdout.trim();
}

describe('AddonLoadError', () => {
  let work: string;
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'node-libbpf-noaddon-'));
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test('no prebuild: the platform, the paths looked for, the loader\'s message, what to do', () => {
    const dir = installedCopy(work, 'missing');
    const e = JSON.parse(requireError(dir));
    expect(e).toMatchObject({ name: 'AddonLoadError', code: 'ERR_NODE_LIBBPF_ADDON', platform: `linux-${process.arch}` });
    const prebuild = path.join(dir, 'prebuilds', `linux-${process.arch}`, 'node.napi.glibc.node');
    expect(e.message).toContain(`could not be loaded on linux-${process.arch} (glibc `);
    expect(e.message).toContain(`looked for: ${path.join(dir, 'build', 'Release', 'node_libbpf.node')} (missing), ${prebuild} (missing)`);
    expect(e.message).toContain('the loader said: No native build was found for platform=linux');
    expect(e.message).toContain('what to do: the package was installed without its prebuilds: reinstall node-libbpf, or build from source: `npm rebuild node-libbpf`');
    // ESM importers get the same error
    const esm = spawnSync(process.execPath, ['--input-type=module', '-e', `import ${JSON.stringify(path.join(dir, 'dist', 'index.mjs'))}`], { encoding: 'utf8' });
    expect(esm.status).not.toBe(0);
    expect(esm.stderr).toContain('AddonLoadError: node-libbpf: the native addon could not be loaded');
  });

  test(`a prebuild for ${other} where the ${process.arch} one belongs: names both architectures`, () => {
    const dir = installedCopy(work, 'wrong-arch', (f) => fs.copyFileSync(path.join(root, 'prebuilds', `linux-${other}`, 'node.napi.glibc.node'), f));
    const e = JSON.parse(requireError(dir));
    expect(e.message).toContain('(found)');
    expect(e.message).toContain(`is built for ${other}, this process is ${process.arch}: reinstall node-libbpf on this machine`);
  });

  test('a damaged prebuild: says it is not an ELF file', () => {
    const dir = installedCopy(work, 'damaged', (f) => fs.writeFileSync(f, 'partial download'));
    expect(JSON.parse(requireError(dir)).message).toContain('is not an ELF file (a damaged or partial install)');
  });

  test('a source build whose library is missing at run time: names the library', () => {
    const dir = installedCopy(work, 'missing-lib');
    const lib = path.join(work, 'libnlbgone.so');
    const c = path.join(work, 'gone.c');
    fs.writeFileSync(c, 'int gone(void) { return 1; }\n');
    execFileSync('gcc', ['-shared', '-fPIC', '-o', lib, c]);
    const release = path.join(dir, 'build', 'Release');
    fs.mkdirSync(release, { recursive: true });
    fs.writeFileSync(c, 'int gone(void); int use(void) { return gone(); }\n');
    execFileSync('gcc', ['-shared', '-fPIC', '-o', path.join(release, 'node_libbpf.node'), c, `-L${work}`, '-lnlbgone']);
    fs.rmSync(lib);
    const e = JSON.parse(requireError(dir));
    expect(e.message).toContain('libnlbgone.so: cannot open shared object file');
    expect(e.message).toContain('what to do: the addon needs libnlbgone.so, which this system lacks');
  });

  test('the advice for a glibc too old and for musl (the texts; the glibc case runs for real in test/package/rootfs)', () => {
    const old = new AddonLoadError(root, new Error("/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found (required by node.napi.glibc.node)"), { family: 'glibc', version: '2.28' });
    expect(old.advice).toMatch(/^this system's glibc 2\.28 is older than the 2\.34 the addon needs: use a newer base image/);
    const musl = new AddonLoadError(root, new Error('Error relocating node.napi.glibc.node: __sprintf_chk: symbol not found'), { family: 'musl' });
    expect(musl.message).toContain(`(musl)`);
    expect(musl.advice).toMatch(/^musl libc \(Alpine\) is not supported yet: the prebuilds need glibc 2\.31\+/);
  });

  test('the command line works without the addon: --help, --version, every COMMAND --help, doctor', () => {
    const dir = installedCopy(work, 'cli');
    const cli = (...args: string[]): { status: number | null; stdout: string; stderr: string } =>
      spawnSync(process.execPath, [path.join(dir, 'dist', 'cli', 'main.js'), ...args], { encoding: 'utf8' });
    expect(cli('--help')).toMatchObject({ status: 0, stdout: expect.stringContaining('node-libbpf doctor [--json]') });
    expect(cli('--version')).toMatchObject({ status: 0, stdout: expect.stringMatching(/^node-libbpf \d+\.\d+\.\d+\nlibbpf: unknown, the addon does not load here/) });
    for (const command of ['vmlinux', 'build', 'btf', 'gen', 'doctor', 'vm']) {
      const r = cli(command, '--help');
      expect({ command, status: r.status }).toEqual({ command, status: 0 });
      expect(r.stdout).toContain(`  node-libbpf ${command} `);
    }
    const doctor = cli('doctor');
    expect(doctor.status).toBe(0);
    expect(doctor.stdout).toMatch(/^node-libbpf doctor \(addon not loaded\)\n\naddon {8}cannot load: node-libbpf: the native addon could not be loaded/);
    expect(doctor.stdout).toMatch(/\nkernel {7}\S+/); // the kernel facts are still there
    const json = JSON.parse(cli('doctor', '--json').stdout);
    expect(json.libbpf).toBeNull();
    expect(json.addon).toEqual({ loaded: false, error: expect.stringContaining('looked for: ') });
    expect(json.btf).toEqual(expect.objectContaining({ vmlinux: expect.any(Boolean) }));
  });
});
