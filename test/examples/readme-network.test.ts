// The README's "Network" section: its snippet runs (test/examples.test.ts type-checks and
// runs every snippet); here its output is checked against what the kernel did.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const root = path.join(__dirname, '..', '..');

test('README "Network" snippet: testRun counts one frame, attachTcx counts real traffic', async () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.split('\n## Network\n')[1].split('\n## ')[0];
  const [code] = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  expect(code).toContain('attachTcx');
  const dir = path.join(root, 'build', 'readme');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'network.mjs');
  fs.writeFileSync(file, ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText);
  const { exit, stdout, stderr } = await new Promise<{ exit: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [file], { cwd: root });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (c) => resolve({ exit: c, stdout: out, stderr: err }));
  });
  expect(stderr).toBe('');
  expect(exit).toBe(0);
  expect(stdout).toBe('-1 { packets: 1n, bytes: 42n }\ncounted: true\n');
}, 30000);
