// `gen` for a program written elsewhere (test/fixtures/foreign_short.bpf.c): its event
// buffers typed from the object's DWARF (--type), from a header (--header) or a BTF file
// (--btf) for a stripped copy; the module embeds the object without DWARF (.BTF and
// .BTF.ext kept byte for byte), is at most twice the stripped object's size, passes
// tsc --strict --noUnusedLocals --noUnusedParameters, and decodes the short records.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';
import { generate, headerBtf } from 'node-libbpf/toolchain';
import { ElfFile } from '../../src/ts/elf/file';
import { stripSections } from '../../src/ts/elf/strip';
import { cleanupAfterEach, fixture, root, triggerGetpgid } from '../support/helpers';

const OBJ = fixture('foreign_short');
const HEADER = path.join(root, 'test', 'fixtures', 'foreign_short.h');
const CLI = path.join(root, 'dist', 'cli', 'main.js');
const TYPE = 'struct short_event';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlb-gen-foreign-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const cleanup = cleanupAfterEach();

/** tsc's diagnostics for these generated files with the strictest flags asked of them ('' when clean). */
function strictTsc(files: string[]): string {
  const config = path.join(dir, 'tsconfig.json');
  fs.writeFileSync(config, JSON.stringify({
    compilerOptions: {
      strict: true, noUnusedLocals: true, noUnusedParameters: true, noEmit: true, target: 'ES2022',
      lib: ['ES2022', 'ESNext.Disposable'], module: 'commonjs', moduleResolution: 'node10', types: ['node'],
      typeRoots: [path.join(root, 'node_modules', '@types')], baseUrl: '.',
      paths: { 'node-libbpf': [path.join(root, 'src', 'ts', 'index.ts')] }, skipLibCheck: true,
    },
    files,
  }));
  const r = spawnSync(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', config], { encoding: 'utf8' });
  return r.stdout + r.stderr;
}

function load(file: string): any {
  const js = ts.transpileModule(fs.readFileSync(file, 'utf8'), { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
  const out = file.replace(/\.ts$/, '.js');
  fs.writeFileSync(out, js);
  return require(out);
}

describe('gen --type, from the object\'s DWARF', () => {
  let file: string;
  beforeAll(() => {
    file = path.join(dir, 'short.ts');
    fs.writeFileSync(file, generate(OBJ, { type: TYPE }));
  });

  test('types both event buffers with Short<short_event>', () => {
    const src = fs.readFileSync(file, 'utf8');
    expect(src).toMatch(/rb\(callback: \(event: Short<short_event>\) => void\): RingBuffer;/);
    expect(src).toMatch(/pb\(callback: \(event: Short<short_event>, cpu: number\) => void\): PerfBuffer;/);
    expect(src).toMatch(/export interface short_event \{[^}]*kind: number;[^}]*grid: Array<Uint16Array>;[^}]*args: string;/s);
  });

  test('embeds the object without DWARF, .BTF and .BTF.ext unchanged; at most 2x the stripped object', () => {
    const mod = load(file);
    const embedded = ElfFile.parse(Buffer.from(mod.OBJECT));
    const original = ElfFile.parse(fs.readFileSync(OBJ));
    for (const s of embedded.sections.filter((x) => x.name.includes('debug_'))) expect([s.name, s.size]).toEqual([s.name, 0]);
    for (const name of ['.BTF', '.BTF.ext']) expect(embedded.sectionData(name).equals(original.sectionData(name))).toBe(true);
    const stripped = stripSections(fs.readFileSync(OBJ)).length;
    const size = fs.statSync(file).size;
    expect(size).toBeLessThanOrEqual(2 * stripped);
    expect(size).toBeLessThan(fs.statSync(OBJ).size / 4);
  });

  test('passes tsc --strict --noUnusedLocals --noUnusedParameters', () => {
    expect(strictTsc([file])).toBe('');
  }, 120000);

  test('decodes the short records the program sends', async () => {
    const mod = load(file);
    const skel = mod.open();
    cleanup(() => skel.close());
    skel.globals.targ_ppid = process.pid;
    await skel.load();
    skel.attach();
    const got: any[] = [];
    const rb = skel.events.rb((e: any) => got.push(e));
    cleanup(() => rb.close());
    await triggerGetpgid(1);
    rb.consume();
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ seq: 0n, kind: 9, level: -17, comm: 'python3', args: 'ls', args_size: 13 });
    expect(rb.stats().records).toEqual({ full: 0, short: 1, raw: 0 });
  });
});

describe('gen for a stripped copy', () => {
  let stripped: string;
  beforeAll(() => {
    stripped = path.join(dir, 'foreign_short.stripped.bpf.o');
    fs.writeFileSync(stripped, stripSections(fs.readFileSync(OBJ)));
  });

  test('--type alone says what to do', () => {
    expect(() => generate(stripped, { type: TYPE })).toThrow(/^options\.events\.rb: expected a type in the BTF or DWARF of foreign_short\.stripped\.bpf\.o \(build with -g and keep DWARF, or give --btf FILE \/ --header H\), got "struct short_event"$/);
  });

  test('--header H --type T and --btf FILE --event MAP=T, through the CLI', async () => {
    const fromHeader = path.join(dir, 'header.ts');
    let r = spawnSync(process.execPath, [CLI, 'gen', stripped, '--header', HEADER, '--type', TYPE, '-o', fromHeader], { encoding: 'utf8' });
    expect(r.stderr).toMatch(/wrote/);
    expect(r.status).toBe(0);
    const btfFile = path.join(dir, 'short.btf');
    await headerBtf(HEADER, { types: [TYPE], output: btfFile });
    const fromBtf = path.join(dir, 'btf.ts');
    r = spawnSync(process.execPath, [CLI, 'gen', stripped, '--btf', btfFile, '--event', `pb=${TYPE}`, '-o', fromBtf], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const header = fs.readFileSync(fromHeader, 'utf8');
    expect(header).toMatch(/rb\(callback: \(event: Short<short_event>\) => void\): RingBuffer;/);
    const btf = fs.readFileSync(fromBtf, 'utf8');
    expect(btf).toMatch(/pb\(callback: \(event: Short<short_event>, cpu: number\) => void\): PerfBuffer;/);
    expect(btf).not.toMatch(/rb\(callback/);
    expect(strictTsc([fromHeader, fromBtf])).toBe('');
  }, 120000);

  test('bad --event values', () => {
    const r = spawnSync(process.execPath, [CLI, 'gen', OBJ, '--event', 'nope'], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--event MAP=TYPE, got "nope"/);
    expect(() => generate(OBJ, { events: { heap: TYPE } })).toThrow(/^options\.events\.heap: expected a ringbuf or perf_event_array map of the object/);
  });
});

describe('gen on the project\'s own programs', () => {
  test('NLB_RINGBUF_TYPE with one ring types that ring (the bootstrap example), and passes the strict flags', () => {
    const obj = path.join(root, 'build', 'examples', 'bootstrap', 'bootstrap.bpf.o');
    if (!fs.existsSync(obj)) execFileSync('npm', ['run', 'build:examples'], { cwd: root, stdio: 'ignore' });
    const file = path.join(dir, 'bootstrap.ts');
    fs.writeFileSync(file, generate(obj));
    expect(fs.readFileSync(file, 'utf8')).toMatch(/events\(callback: \(event: event\) => void\): RingBuffer;/);
    const agent = path.join(dir, 'agent.ts');
    fs.writeFileSync(agent, generate(fixture('gen_agent')));
    expect(strictTsc([file, agent])).toBe('');
  }, 120000);
});
