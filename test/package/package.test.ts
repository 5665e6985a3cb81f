// The package as users get it: packed with npm pack (its prepack check included), checked
// with publint and @arethetypeswrong/cli, installed with install scripts ignored into an
// empty folder and loaded there with no compiler on PATH, through require() and import.
// Packing works on a copy: prepack rebuilds dist/, which the other tests read.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');
const fixture = path.join(process.env.NODE_LIBBPF_FIXTURES!, 'basic.bpf.o');
const bin = (name: string): string => path.join(root, 'node_modules', '.bin', name);

// A PATH holding node, npm and sh only: no cc, g++, make, clang or python3.
function bareBin(dir: string): string {
  const dest = path.join(dir, 'bin');
  fs.mkdirSync(dest);
  fs.symlinkSync(process.execPath, path.join(dest, 'node'));
  fs.symlinkSync('/bin/sh', path.join(dest, 'sh'));
  const npmCli = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  fs.writeFileSync(path.join(dest, 'npm'), `#!/bin/sh\nexec "${process.execPath}" "${npmCli}" "$@"\n`, { mode: 0o755 });
  return dest;
}

// What npm pack needs from the checkout (deps/ with the fetched sources: prepack copies
// their licence texts).
function copyCheckout(dest: string, without: string[] = []): void {
  const keep = ['package.json', 'package-lock.json', 'binding.gyp', 'README.md', 'LICENSE', 'THIRD_PARTY_NOTICES.md',
    'src', 'deps', 'include', 'dist', 'scripts', 'tsconfig.json', 'prebuilds', 'toolchain'];
  fs.mkdirSync(dest);
  for (const name of keep) {
    fs.cpSync(path.join(root, name), path.join(dest, name), {
      recursive: true,
      filter: (f) => !without.includes(path.relative(root, f)),
    });
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dest, 'node_modules'));
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
  let tarball: string;
  let listing: string[];
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'node-libbpf-pack-'));
    copyCheckout(path.join(work, 'src'));
    const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: path.join(work, 'src'), encoding: 'utf8' });
    tarball = path.join(work, name.trim().split('\n').pop()!);
    listing = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').map((f) => f.replace(/^package\//, ''));
  }, 120000);
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test('the tarball holds both prebuilds, the licences, the ESM entry and types, and no third-party source', () => {
    expect(listing).toEqual(expect.arrayContaining([
      'prebuilds/linux-x64/node.napi.glibc.node', 'prebuilds/linux-arm64/node.napi.glibc.node',
      'LICENSE', 'THIRD_PARTY_NOTICES.md', 'licenses/libbpf-LICENSE.BSD-2-Clause',
      'licenses/elfutils-COPYING-LGPLV3', 'licenses/elfutils-COPYING', 'licenses/zlib-LICENSE',
      'dist/index.mjs', 'dist/index.d.mts', 'dist/toolchain/index.mjs', 'dist/toolchain/index.d.mts',
      'toolchain/package.json', 'include/bpf/bpf_helpers.h',
      // the build-from-source path (how a user relinks against their own libelf)
      'binding.gyp', 'deps/elfutils.gyp', 'deps/elfutils/fetch.sh', 'deps/elfutils/VERSION', 'deps/zlib/fetch.sh',
    ]));
    expect(listing.filter((f) => /^deps\/[^/]+\/src\//.test(f))).toEqual([]); // fetched, never shipped
  });

  test('every source map points at files the tarball holds', () => {
    const dir = path.join(work, 'unpacked');
    fs.mkdirSync(dir);
    execFileSync('tar', ['-xzf', tarball, '-C', dir, '--strip-components=1']);
    const maps = listing.filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources } = JSON.parse(fs.readFileSync(path.join(dir, map), 'utf8')) as { sources: string[] };
      for (const s of sources) {
        const target = path.relative(dir, path.join(dir, path.dirname(map), s));
        if (!listing.includes(target)) missing.push(`${map} -> ${target}`);
      }
    }
    for (const js of listing.filter((f) => /\.(m?js)$/.test(f))) {
      const ref = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(fs.readFileSync(path.join(dir, js), 'utf8'))?.[1];
      if (ref && !listing.includes(path.relative(dir, path.join(dir, path.dirname(js), ref)))) missing.push(`${js} -> ${ref}`);
    }
    expect(missing).toEqual([]);
  });

  test('publint and @arethetypeswrong/cli find nothing on the tarball', () => {
    const lint = spawnSync(bin('publint'), ['run', tarball, '--strict', '--level', 'suggestion'], { encoding: 'utf8' });
    expect(lint.stdout + lint.stderr).not.toMatch(/Suggestions:|Warnings:|Errors:/);
    expect(lint.status).toBe(0);
    const attw = spawnSync(bin('attw'), [tarball, '--format', 'json'], { encoding: 'utf8' });
    const report = JSON.parse(attw.stdout) as { analysis: { problems: unknown[]; entrypoints: Record<string, unknown> } };
    expect(Object.keys(report.analysis.entrypoints)).toContain('.');
    expect(report.analysis.problems).toEqual([]);
    expect(attw.status).toBe(0);
  });

  test('npm pack refuses a checkout whose arm64 prebuild is missing', () => {
    const copy = path.join(work, 'no-arm64');
    copyCheckout(copy, ['prebuilds/linux-arm64']);
    const pack = spawnSync('npm', ['pack', '--dry-run'], { cwd: copy, encoding: 'utf8' });
    expect(pack.status).not.toBe(0);
    expect(pack.stderr).toContain('prebuilds/linux-arm64/node.napi.glibc.node is missing (package.json lists cpu arm64)');
  }, 120000);

  test('installs with scripts ignored into an empty folder and loads with no compiler on PATH', () => {
    const app = path.join(work, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), '{ "name": "app", "private": true }');
    const env = { ...process.env, PATH: bareBin(work), npm_config_audit: 'false', npm_config_fund: 'false' };
    execFileSync('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-save', tarball], { cwd: app, env, stdio: 'pipe' });
    expect(() => execFileSync('/bin/sh', ['-c', 'command -v cc || command -v g++ || command -v make || command -v clang-19'], { env })).toThrow();

    const cjs = `const { BpfObject, libbpfVersion } = require('node-libbpf'); (async () => { ${USE} })();`;
    const out = execFileSync('node', ['-e', cjs, fixture], { cwd: app, env, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ ro_name: 'fixture', maps: expect.any(Number), version: expect.stringMatching(/^v1\.7/), link: true });

    const esm = `import { BpfObject, libbpfVersion } from 'node-libbpf'; ${USE}`;
    const out2 = execFileSync('node', ['--input-type=module', '-e', esm, fixture], { cwd: app, env, encoding: 'utf8' });
    expect(JSON.parse(out2).ro_name).toBe('fixture');
    // The addon came from prebuilds/ (nothing was built): no build/ in the installed package.
    expect(fs.existsSync(path.join(app, 'node_modules', 'node-libbpf', 'build'))).toBe(false);
  }, 120000);
});
