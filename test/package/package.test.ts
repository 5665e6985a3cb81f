// The package as users get it: prebuilt with prebuildify (N-API), packed with npm pack,
// installed into an empty folder, and loaded there with no compiler on PATH. Also the
// two module systems: require() and import.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');
const fixture = path.join(process.env.NODE_LIBBPF_FIXTURES!, 'basic.bpf.o');

// A PATH holding node, npm and sh only: no cc, g++, make, clang or python3. (npm runs
// the package's install script, node-gyp-build, which finds the prebuild and stops.)
function bareBin(dir: string): string {
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
  const npmCli = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  fs.writeFileSync(path.join(bin, 'npm'), `#!/bin/sh\nexec "${process.execPath}" "${npmCli}" "$@"\n`, { mode: 0o755 });
  return bin;
}

const USE = `
  const obj = BpfObject.open(process.argv[1]);
  await obj.load();
  const link = obj.program('count_getpgid').attach();
  console.log(JSON.stringify({ ro_name: obj.globals.ro_name, maps: obj.maps().length, version: libbpfVersion(), link: link.fd > 0 }));
  obj.close();
`;

describe('package', () => {
  let work: string;
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'node-libbpf-pack-'));
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test('prebuild, pack, install into an empty folder and load with no compiler on PATH', () => {
    // Build in a copy: prebuildify rebuilds build/, which the other tests use.
    const copy = path.join(work, 'src');
    const keep = ['package.json', 'package-lock.json', 'binding.gyp', 'README.md', 'src', 'deps', 'include', 'dist', 'scripts', 'tsconfig.json'];
    fs.mkdirSync(copy);
    for (const name of keep) fs.cpSync(path.join(root, name), path.join(copy, name), { recursive: true });
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'));
    execFileSync('npm', ['run', '--silent', 'prebuild'], { cwd: copy, stdio: 'pipe' });
    const prebuilt = fs.readdirSync(path.join(copy, 'prebuilds', `linux-${process.arch}`));
    expect(prebuilt.some((f) => f.endsWith('.node'))).toBe(true);

    const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: copy, encoding: 'utf8' }).trim().split('\n').pop()!;
    const listing = execFileSync('tar', ['-tzf', path.join(work, tarball)], { encoding: 'utf8' });
    expect(listing).toMatch(/package\/prebuilds\/linux-x64\/.*\.node/);
    expect(listing).toMatch(/package\/include\/bpf\/bpf_helpers\.h/);
    expect(listing).toMatch(/package\/dist\/index\.mjs/);
    expect(listing).not.toMatch(/package\/deps\/libbpf\/src\//); // third-party source is fetched, never shipped

    const app = path.join(work, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), '{ "name": "app", "private": true }');
    const env = { ...process.env, PATH: bareBin(work), npm_config_audit: 'false', npm_config_fund: 'false' };
    execFileSync('npm', ['install', '--prefer-offline', '--no-save', path.join(work, tarball)], { cwd: app, env, stdio: 'pipe' });
    expect(() => execFileSync('/bin/sh', ['-c', 'command -v cc || command -v g++ || command -v make || command -v clang-19'], { env })).toThrow();

    const cjs = `const { BpfObject, libbpfVersion } = require('node-libbpf'); (async () => { ${USE} })();`;
    const out = execFileSync('node', ['-e', cjs, fixture], { cwd: app, env, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ ro_name: 'fixture', maps: expect.any(Number), version: expect.stringMatching(/^v1\.7/), link: true });

    const esm = `import { BpfObject, libbpfVersion } from 'node-libbpf'; ${USE}`;
    const out2 = execFileSync('node', ['--input-type=module', '-e', esm, fixture], { cwd: app, env, encoding: 'utf8' });
    expect(JSON.parse(out2).ro_name).toBe('fixture');

    // The addon came from prebuilds/, statically linked: no libbpf among its libraries.
    const addon = path.join(app, 'node_modules', 'node-libbpf', 'prebuilds', `linux-${process.arch}`);
    const node = fs.readdirSync(addon).find((f) => f.endsWith('.node'))!;
    expect(fs.existsSync(path.join(app, 'node_modules', 'node-libbpf', 'build'))).toBe(false);
    expect(execFileSync('ldd', [path.join(addon, node)], { encoding: 'utf8' })).not.toMatch(/libbpf/);
  }, 240000);
});
