// The package's three entries: `node-libbpf` (the runtime an agent loads) never loads the
// toolchain nor the metrics adapters (nor prom-client or @opentelemetry), and
// `node-libbpf/toolchain` and `node-libbpf/metrics` work from CommonJS, ESM and TypeScript.
// Run against the compiled package (dist/), through the package's own `exports`.
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
    expect(loaded.filter((f) => f.startsWith(path.join('dist', 'metrics')))).toEqual([]);
    expect(loaded.filter((f) => f.includes(`${path.sep}prom-client${path.sep}`) || f.includes(`${path.sep}@opentelemetry${path.sep}`))).toEqual([]);
    expect(builtins).toEqual([]);
  });

  test('the metrics entry loads the metrics modules but neither prom-client nor @opentelemetry (the user passes a Registry or Meter)', () => {
    const out = node(['-e', `
      const m = require('node-libbpf/metrics');
      const files = Object.keys(require.cache);
      console.log(JSON.stringify({
        names: Object.keys(m).sort(),
        metrics: files.filter((f) => f.includes('/dist/metrics/')).length,
        peers: files.filter((f) => f.includes('/prom-client/') || f.includes('/@opentelemetry/')),
      }));`]);
    const { names, metrics, peers } = JSON.parse(out) as { names: string[]; metrics: number; peers: string[] };
    expect(names).toEqual(expect.arrayContaining(['OpenTelemetryExporter', 'PrometheusExporter', 'renderLinearHistogram', 'renderLog2Histogram']));
    expect(metrics).toBeGreaterThanOrEqual(5);
    expect(peers).toEqual([]);
  });

  test('node-libbpf/metrics from ESM: named exports, used with prom-client', () => {
    const out = node(['--input-type=module', '-e', `
      import { PrometheusExporter, OpenTelemetryExporter, renderLog2Histogram } from 'node-libbpf/metrics';
      import { Registry } from 'prom-client';
      const exporter = new PrometheusExporter({ registry: new Registry() });
      exporter.close();
      console.log([typeof OpenTelemetryExporter, renderLog2Histogram([1]).split('\\n')[1].trim()].join(' '));`]);
    expect(out.trim()).toBe('function 0 -> 1          : 1        |****************************************|');
  });

  test('node-libbpf/metrics from TypeScript: types resolve through exports, a real Registry and Meter fit', () => {
    const dir = fs.mkdtempSync(path.join(root, 'build', 'entries-ts-'));
    try {
      fs.writeFileSync(path.join(dir, 'use.ts'), `
        import { PrometheusExporter, OpenTelemetryExporter, renderLog2Histogram, type HistogramOptions } from 'node-libbpf/metrics';
        import type { BpfMap } from 'node-libbpf';
        import { Registry } from 'prom-client';
        import { metrics } from '@opentelemetry/api';
        const options: HistogramOptions = { kind: 'linear', step: 4 };
        export const prom = (m: BpfMap): PrometheusExporter => new PrometheusExporter({ registry: new Registry() }).histogram(m, { name: 'h', ...options });
        export const otel = (m: BpfMap): OpenTelemetryExporter => new OpenTelemetryExporter(metrics.getMeter('x')).counter(m, { name: 'c' });
        export const text: string = renderLog2Histogram([1n, 2n]);
        // @ts-expect-error the runtime entry does not export the metrics adapters
        import('node-libbpf').then((m) => m.PrometheusExporter);
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
