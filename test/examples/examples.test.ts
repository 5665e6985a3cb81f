// Every example and every README (and docs/architecture.md) snippet runs here, so none of them rots.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const root = path.join(__dirname, '..', '..');

function run(file: string, args: string[], during?: () => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file, ...args], { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.once('data', () => during?.());
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('examples/execcount', () => {
  test('counts real exec() calls per command for --duration seconds, then exits', async () => {
    const { code, stdout, stderr } = await run(path.join(root, 'build/examples/execcount/index.js'), ['--duration', '2', '--parent', String(process.pid)], () => {
      // Started: exec /bin/true five times and /bin/echo twice as children of this process.
      for (let i = 0; i < 5; i++) execFileSync('/bin/true');
      execFileSync('/bin/echo', ['x']);
      execFileSync('/bin/echo', ['y']);
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/counting exec\(\) calls by children of \d+/);
    const last = stdout.trim().split('\n\n').pop()!;
    expect(last).toMatch(/ 7 execs/);
    expect(last).toMatch(/^\s+5\s+true$/m);
    expect(last).toMatch(/^\s+2\s+echo$/m);
  }, 30000);
});

describe('examples/', () => {
  const names = fs.readdirSync(path.join(root, 'examples')).filter((n) => fs.statSync(path.join(root, 'examples', n)).isDirectory());
  const tests = fs.readdirSync(path.join(root, 'test', 'examples')).filter((f) => f.endsWith('.test.ts'));
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8').split('\n## Examples\n')[1].split('\n## ')[0];

  test('at least 10 examples', () => {
    expect(names.length).toBeGreaterThanOrEqual(10);
  });

  test.each(names)('%s: index.ts, <name>.bpf.c and README.md, listed in README.md, run by a test here', (name) => {
    for (const file of ['index.ts', `${name}.bpf.c`, 'README.md']) expect(fs.existsSync(path.join(root, 'examples', name, file))).toBe(true);
    expect(readme).toContain(`- [\`examples/${name}\`](examples/${name}): `);
    const runners = tests.filter((t) => new RegExp(`examples/${name}\\b`).test(fs.readFileSync(path.join(root, 'test', 'examples', t), 'utf8')));
    expect(runners.length).toBeGreaterThan(0);
  });
});

describe.each([
  ['README.md', 2],
  ['docs/architecture.md', 1],
])('%s', (doc, atLeast) => {
  const readme = fs.readFileSync(path.join(root, doc), 'utf8');
  const snippets = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  const prefix = path.basename(doc, '.md').toLowerCase();

  test('has TypeScript snippets', () => {
    expect(snippets.length).toBeGreaterThanOrEqual(atLeast);
  });

  test.each(snippets.map((code, i) => [i, code] as const))('snippet %i type-checks and runs', async (i, code) => {
    const dir = path.join(root, 'build', 'readme');
    fs.mkdirSync(dir, { recursive: true });
    const source = path.join(dir, `${prefix}-snippet${i}.mts`);
    fs.writeFileSync(source, code);
    const config = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
    const program = ts.createProgram([source], { ...config.options, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true, rootDir: undefined, outDir: undefined, declaration: false, noUnusedLocals: false, noUnusedParameters: false });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(problems).toEqual([]);
    const js = ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    const file = path.join(dir, `${prefix}-snippet${i}.mjs`);
    fs.writeFileSync(file, js);
    const { code: exit, stdout, stderr } = await run(file, []);
    expect(stderr).toBe('');
    expect(exit).toBe(0);
    if (code.includes('BpfMap.create') && code.includes('drain()')) {
      expect(stdout).toBe('[ [ 1, 11n ], [ 2, 20n ] ]\nundefined\n');
    }
    if (code.includes('not-a-pin')) {
      expect(stdout).toMatch(/^'\/tmp' is not on a BPF filesystem \(statfs type 0x[0-9a-f]+, bpffs is 0xcafe4a11\)/);
    }
    if (code.includes('attachIter')) {
      expect(stdout).toBe('true\ntrue\ntrue\ntrue iter\ntrue\n');
    }
    if (code.includes("func: 'malloc'")) {
      expect(stdout).toMatch(/^malloc\(\) calls seen: true$/m);
    }
    if (code.includes('killsnoop')) {
      expect(stdout).toMatch(/^python3 18 number\n\{\s+delivered: 1,\s+lost: 0,\s+queued: 0,\s+buffers: \d+,\s+pageCount: 64,\s+records: \{ full: 1, short: 0, raw: 0 \}\s+\}\n$/);
    }
    if (code.includes('foreign_short')) {
      expect(stdout).toBe("python3 [ 'ls', '-l', '/tmp/x' ] 13\n{ full: 0, short: 1, raw: 0 }\n");
    }
    if (code.includes('headerBtf')) {
      expect(stdout).toBe('undefined\n0n python3 /tmp/foreign-0 { lo: 65000, hi: -300 }\n');
    }
    if (doc === 'docs/architecture.md') {
      expect(stdout).toBe('true true\nperf_event\n');
    }
    if (code.includes('ContainerResolver')) {
      expect(stdout).toBe(
        "new container: containerd c0ffeec0ffee\ncontainerd { uid: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', qosClass: 'burstable' }\ntrue\n{ pod: 'pod-0f1e2d3c' }\n",
      );
    }
    if (code.includes('obj.upgrade(')) {
      expect(stdout).toBe('true { updated: 0, reattached: 1, ended: 0 }\nexecs across the upgrade: 2n\n');
    }
    if (code.includes('PrometheusExporter')) {
      const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
      const printed = readme.split(code)[1].split('```\n')[2]; // the block after "prints"
      expect(stdout).toBe(printed);
    }
    if (code.includes("'counts'") && !code.includes('obj.upgrade(')) {
      expect(stdout).toMatch(/^true 1n$/m);
      expect(stdout).toMatch(/total execs so far: 1n/);
      expect(stdout).toMatch(/attached 1 program\(s\)/);
    }
  }, 30000);
});
