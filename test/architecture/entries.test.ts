// The package's two entries: `node-libbpf` (the runtime an agent loads) never loads the
// toolchain, and `node-libbpf/toolchain` works from CommonJS, ESM and TypeScript. Run
// against the compiled package (dist/), through the package's own `exports`.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');
const node = (args: string[]): string => execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' });

describe('entries', () => {
  test('loading node-libbpf loads no toolchain module (nor child_process, crypto or zlib the process did not have)', () => {
    const out = node(['-e', `
      const before = new Set(process.moduleLoadList);
      require('node-libbpf');
      const loaded = Object.keys(require.cache).map((f) => require('path').relative(${JSON.stringify(root)}, f));
      const builtins = ['child_process', 'crypto', 'zlib'].filter((m) => !before.has('NativeModule ' + m) && process.moduleLoadList.includes('NativeModule ' + m));
      console.log(JSON.stringify({ loaded, builtins }));`]);
    const { loaded, builtins } = JSON.parse(out) as { loaded: string[]; builtins: string[] };
    expect(loaded).toContain(path.join('dist', 'index.js'));
    expect(loaded).toContain(path.join('dist', 'core', 'object.js'));
    expect(loaded.filter((f) => f.startsWith(path.join('dist', 'toolchain')) || f.startsWith(path.join('dist', 'cli')))).toEqual([]);
    expect(builtins).toEqual([]);
  });

  test('the toolchain entry loads the toolchain, and the check above would see it', () => {
    const out = node(['-e', `
      const before = new Set(process.moduleLoadList);
      const t = require('node-libbpf/toolchain');
      const loaded = Object.keys(require.cache).filter((f) => f.includes('/dist/toolchain/'));
      const builtins = ['child_process', 'crypto', 'zlib'].filter((m) => !before.has('NativeModule ' + m) && process.moduleLoadList.includes('NativeModule ' + m));
      console.log(JSON.stringify({ names: Object.keys(t).sort(), loaded: loaded.length, builtins }));`]);
    const { names, loaded, builtins } = JSON.parse(out) as { names: string[]; loaded: number; builtins: string[] };
    expect(builtins).toContain('child_process');
    expect(names).toEqual(expect.arrayContaining(['build', 'buildCommand', 'doctor', 'findClang', 'formatDoctor', 'generate', 'headerBtf', 'minCoreBtf', 'vmlinuxHeader']));
    expect(loaded).toBeGreaterThanOrEqual(4);
  });

  test('node-libbpf/toolchain from ESM: named exports', () => {
    const out = node(['--input-type=module', '-e', `
      import { build, generate, doctor } from 'node-libbpf/toolchain';
      import { BpfObject } from 'node-libbpf';
      console.log([typeof build, typeof generate, typeof doctor, typeof BpfObject].join(' '));`]);
    expect(out.trim()).toBe('function function function function');
  });

  test('node-libbpf/toolchain from TypeScript: types resolve through exports (Node16 resolution)', () => {
    const dir = fs.mkdtempSync(path.join(root, 'build', 'entries-ts-'));
    try {
      fs.writeFileSync(path.join(dir, 'use.ts'), `
        import { build, type BuildOptions } from 'node-libbpf/toolchain';
        import { BpfObject } from 'node-libbpf';
        const options: BuildOptions = { output: 'x.bpf.o' };
        export const run = (): Promise<string> => build('x.bpf.c', options);
        export const open = (f: string): BpfObject => BpfObject.open(f);
        // @ts-expect-error the runtime entry does not export the toolchain
        import('node-libbpf').then((m) => m.build);
      `);
      fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
        compilerOptions: { module: 'Node16', moduleResolution: 'Node16', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [path.join(root, 'node_modules', '@types')] },
        files: ['use.ts'],
      }));
      const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
      expect(() => execFileSync(process.execPath, [tsc, '-p', dir], { cwd: dir, encoding: 'utf8' })).not.toThrow();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
