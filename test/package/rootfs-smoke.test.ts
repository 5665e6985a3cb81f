// The packed tarball in the slim root filesystem agents ship in (Debian 11 minbase: no
// compiler, no libelf, no zlib headers), installed with scripts ignored, running
// test/package/rootfs/smoke.mjs on Node 20, 22, 24, 26, Bun and Deno, and where the addon cannot
// load (no prebuild; an addon built for a newer glibc): scripts/rootfs-smoke.sh does
// the work (debootstrap root and runtimes cached in ~/.cache/node-libbpf); this checks what
// it recorded against test/package/rootfs/expected.json and the README's runtime table.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');

interface Result {
  name: string;
  passed: boolean;
  smoke: { runtime: string; arch: string; passed: boolean; steps: Record<string, string> } | null;
  reason?: string;
}

describe('rootfs smoke', () => {
  let run: ReturnType<typeof spawnSync>;
  let results: Result[];
  beforeAll(() => {
    run = spawnSync('bash', [path.join(root, 'scripts', 'rootfs-smoke.sh')], { cwd: root, encoding: 'utf8', timeout: 600000 });
    results = JSON.parse(fs.readFileSync(path.join(root, 'build', 'rootfs', 'results.json'), 'utf8')) as Result[];
  }, 660000);

  test('the script passes: every outcome is what test/package/rootfs/expected.json records', () => {
    expect({ status: run.status, output: run.stdout }).toEqual({ status: 0, output: expect.any(String) });
  });

  test.each(['node-20', 'node-22', 'node-24', 'node-26', 'deno', 'bun-no-events'])('%s passes every step', (name) => {
    const r = results.find((x) => x.name === name);
    expect(r?.smoke?.steps).toEqual(name === 'bun-no-events'
      ? { 'load+attach': 'ok', 'typed map': 'ok', BpfError: 'ok' }
      : { 'load+attach': 'ok', 'ring buffer': 'ok', 'typed map': 'ok', BpfError: 'ok' });
    expect(r?.passed).toBe(true);
    if (name.startsWith('node-')) expect(r?.smoke?.runtime).toMatch(new RegExp(`^node ${name.slice(5)}\\.`));
  });

  test.each([
    ['no-prebuild', /what to do: the package was installed without its prebuilds/],
    ['newer-glibc-build', /version `GLIBC_2\.[0-9]+' not found[\s\S]*what to do: this system's glibc 2\.31 is older than/],
  ])('where the addon cannot load (%s): AddonLoadError says why, --help and doctor still work', (name, advice) => {
    const r = results.find((x) => x.name === name) as Result & { smoke: { message?: string } };
    expect(r?.smoke?.steps).toEqual({ import: 'ok', help: 'ok', doctor: 'ok' });
    expect(r.smoke.message).toMatch(advice);
  });

  test('Bun fails where recorded, and the README says why', () => {
    const expected = JSON.parse(fs.readFileSync(path.join(root, 'test', 'package', 'rootfs', 'expected.json'), 'utf8'));
    const bun = results.find((x) => x.name === 'bun')!;
    expect(bun.passed).toBe(false);
    expect(bun.reason).toMatch(new RegExp(expected.bun.fails));
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    expect(readme).toContain('uv_poll_init');
  });
});
