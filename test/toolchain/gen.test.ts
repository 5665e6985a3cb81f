// `node-libbpf gen`: the generated module passes tsc --strict, loads, and its generated
// decoders give exactly what the runtime BTF codecs give (on kernel data and on random bytes).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';
import { BpfMap, Btf } from 'node-libbpf';
import { generate } from 'node-libbpf/toolchain';
import { codecFor } from '../../src/ts/btf/codec';
import { stripSections } from '../../src/ts/elf/strip';
import { fixture, root, spawnGatedGetpgid } from '../support/helpers';

const OBJ = fixture('gen_agent');
const CLI = path.join(root, 'src', 'ts', 'cli', 'main.ts');

let dir: string;
let generatedPath: string;
let mod: any;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlb-gen-'));
  generatedPath = path.join(dir, 'agent.ts');
  fs.writeFileSync(generatedPath, generate(OBJ));
  const js = ts.transpileModule(fs.readFileSync(generatedPath, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  fs.writeFileSync(path.join(dir, 'agent.js'), js);
  // jest maps 'node-libbpf' to src/ts for this module too: one realm with the test.
  mod = require(path.join(dir, 'agent.js'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('gen: the module', () => {
  test('passes tsc --strict', () => {
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        strict: true, noEmit: true, target: 'ES2022', lib: ['ES2022', 'ESNext.Disposable'], module: 'commonjs',
        moduleResolution: 'node10', types: ['node'], typeRoots: [path.join(root, 'node_modules', '@types')],
        baseUrl: '.', paths: { 'node-libbpf': [path.join(root, 'src', 'ts', 'index.ts')] }, skipLibCheck: true,
      },
      files: ['agent.ts'],
    }));
    const tsc = path.join(root, 'node_modules', '.bin', 'tsc');
    expect(execFileSync(tsc, ['-p', path.join(dir, 'tsconfig.json')], { encoding: 'utf8' })).toBe('');
  }, 120000);

  test('declares the types with their BTF layout: u64 -> bigint, char[] -> string, enums, arrays', () => {
    const src = fs.readFileSync(generatedPath, 'utf8');
    expect(src).toMatch(/export interface gen_value \{[^}]*count: bigint;[^}]*low: number;[^}]*seen: boolean;[^}]*state: gen_state;[^}]*hist: Uint32Array;[^}]*pts: Array<gen_point>;[^}]*as_bytes: Uint8Array;/s);
    expect(src).toMatch(/export interface gen_key \{\s*tgid: number;\s*comm: string;\s*\}/);
    expect(src).toMatch(/export enum gen_state \{\s*GEN_IDLE = 0,\s*GEN_BUSY = 7,\s*GEN_GONE = 4096,\s*\}/);
    expect(src).toMatch(/gen_values: BpfMap<gen_key, gen_value>;/);
    expect(src).toMatch(/gen_calls: BpfMap<number, Array<bigint>>;/);
    expect(src).toMatch(/gen_events\(callback: \(event: gen_event\) => void\): RingBuffer;/);
    expect(src).toMatch(/\/\*\* \.rodata: set before load\(\) \*\/\s*target_tgid: number;/);
    expect(src).not.toMatch(/__nlb_event_/); // the marker global is not a user global
    // the object is embedded: the module alone is the agent
    expect(Buffer.from(mod.OBJECT).equals(stripSections(fs.readFileSync(OBJ)))).toBe(true); // without its DWARF
  });

  test('the CLI writes the same module', () => {
    const out = path.join(dir, 'cli.ts');
    execFileSync(process.execPath, [path.join(root, 'dist', 'cli', 'main.js'), 'gen', OBJ, '-o', out], { stdio: 'pipe' });
    expect(fs.readFileSync(out, 'utf8')).toBe(fs.readFileSync(generatedPath, 'utf8'));
    expect(fs.existsSync(CLI)).toBe(true);
  });
});

describe('gen: the typed wrapper against the kernel', () => {
  test('open(), load, attach: maps, globals and ring-buffer events come back typed', async () => {
    const skel = mod.open();
    try {
      const child = await spawnGatedGetpgid(1);
      skel.globals.target_tgid = child.pid;
      await skel.load();
      const events: any[] = [];
      let got!: () => void;
      const arrived = new Promise<void>((resolve) => (got = resolve));
      skel.events.gen_events((ev: any) => {
        events.push(ev);
        got();
      });
      skel.attach();
      await child.go();
      await arrived;
      expect(events[0]).toEqual({ seq: 1n, tgid: child.pid, comm: 'python3', state: 7 });

      const entries = [...skel.maps.gen_values.entries()];
      expect(entries).toHaveLength(1);
      const [k, v] = entries[0];
      expect(k).toEqual({ tgid: child.pid, comm: 'python3' });
      expect(v).toEqual({
        count: 1n, delta: -5n, low: 17, high: 1000, seen: true, state: mod.gen_state.GEN_BUSY,
        pt: { x: -3, y: 4 }, hist: new Uint32Array([0, 0, 9, 0]), pts: [{ x: 0, y: 0 }, { x: -7, y: 0 }],
        as_u32: 0x04030201, as_bytes: new Uint8Array([1, 2, 3, 4]), named_inner: { inner_a: 0, inner_b: 11 },
        ptr: 0n, ratio: 0.5,
      });
      const perCpu: bigint[] = skel.maps.gen_calls.get(0);
      expect(perCpu.reduce((a, b) => a + b, 0n)).toBe(1n);
      expect(skel.globals.total).toBe(1n);
      expect(skel.globals.last_state).toBe(mod.gen_state.GEN_GONE);
      expect(skel.globals.last_comm).toBe('python3');
      expect(skel.globals.last_point).toEqual({ x: -1, y: 2 });
      expect(skel.programs.gen_getpgid.name).toBe('gen_getpgid');
    } finally {
      skel.close();
    }
    expect(skel.object.closed).toBe(true);
  });
});

describe('gen: generated decoders equal the runtime codecs', () => {
  const btf = () => Btf.fromFile(OBJ);
  for (const [name, cName] of [['gen_key', 'struct gen_key'], ['gen_event', 'struct gen_event'], ['gen_value', 'struct gen_value']]) {
    test(`${cName} on random bytes`, () => {
      const b = btf();
      const codec = codecFor(b, b.type(cName).id);
      const bytes = new Uint8Array(codec.size * 300);
      let seed = 12345;
      for (let i = 0; i < bytes.length; i++) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        bytes[i] = seed >>> 24;
      }
      // some records with ASCII names and the odd UTF-8 byte, as comm holds
      const view = new DataView(bytes.buffer);
      for (let r = 0; r < 300; r++) {
        for (let i = 0; i < codec.size; i++) if (r % 3 === 0 && bytes[r * codec.size + i] > 0x7f) bytes[r * codec.size + i] &= 0x7f;
      }
      for (let r = 0; r < 300; r++) expect(mod[`dec_${name}`](view, r * codec.size)).toEqual(codec.decode(view, r * codec.size));
    });
  }

  test('useDecoders: bad arguments', () => {
    const map = BpfMap.create({ type: 'hash', key: 'u32', value: 'u64', maxEntries: 4 });
    try {
      expect(() => map.useDecoders({ value: 5 as any })).toThrow(new TypeError('decoders.value: expected a function (view, offset) => value, got 5'));
      expect(() => map.useDecoders({ bogus: 1 } as any)).toThrow(TypeError);
      map.set(1, 2n);
      const typed = map.useDecoders<number, string>({ value: (v, o) => `n=${v.getBigUint64(o, true)}` });
      expect(typed.get(1)).toBe('n=2');
      typed.set(3, 4n as any); // encoding stays BTF-driven
      expect(typed.get(3)).toBe('n=4');
    } finally {
      map.close();
    }
  });
});
