// The API reference: typedoc over the package's entries (typedoc.json) must finish without
// a warning, so every public export keeps its doc comment, every type it refers to is
// exported, and every {@link} resolves. Nothing is written (--emit none): `npm run docs`
// writes build/docs.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';

const root = path.join(__dirname, '..', '..');
const typedocBin = path.join(root, 'node_modules', 'typedoc', 'bin', 'typedoc');

const readConfig = (): Record<string, unknown> => ts.readConfigFile(path.join(root, 'typedoc.json'), ts.sys.readFile).config;

function typedoc(options: string): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [typedocBin, '--options', options, '--emit', 'none'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('API reference (typedoc)', () => {
  test('documents one entry point per package.json export', () => {
    const config = readConfig() as { entryPoints: string[] };
    const { exports } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    // './toolchain' -> src/ts/toolchain/index.ts; '.' -> src/ts/index.ts
    const entries = Object.keys(exports)
      .filter((k) => k !== './package.json')
      .map((k) => path.posix.join('src/ts', k.slice(2), 'index.ts'));
    expect([...config.entryPoints].sort()).toEqual(entries.sort());
  });

  test('builds without a warning', () => {
    const { status, output } = typedoc(path.join(root, 'typedoc.json'));
    expect(output.split('\n').filter((l) => /warning|error/i.test(l) && !/Found 0 errors and 0 warnings/.test(l))).toEqual([]);
    expect(status).toBe(0);
  }, 180000);

  test('fails on an undocumented export (the check above can fail)', () => {
    // The same settings over a one-file package with one export left undocumented.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlb-docs-'));
    try {
      fs.writeFileSync(path.join(dir, 'index.ts'), '/** Documented. */\nexport const documented = 1;\nexport function undocumented(): void {}\n');
      fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, types: [] }, files: ['index.ts'] }));
      const options = { ...readConfig(), entryPoints: ['index.ts'], tsconfig: 'tsconfig.json', intentionallyNotExported: [] };
      fs.writeFileSync(path.join(dir, 'typedoc.json'), JSON.stringify(options));
      const { status, output } = typedoc(path.join(dir, 'typedoc.json'));
      expect(output).toMatch(/undocumented \(\w+\).*does not have any documentation/);
      expect(output).not.toMatch(/\bdocumented \(/);
      expect(status).not.toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 180000);
});
