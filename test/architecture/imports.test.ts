// src/ts keeps its layers: imports go one way (errors, base, ..., toolchain, vm, cli, then
// the entries) and no modules import each other in a circle. Read with TypeScript's parser.
import * as path from 'node:path';
import { importCycles, importEdges, LAYERS, layerViolations, readSources } from '../support/imports';

const src = path.join(__dirname, '..', '..', 'src', 'ts');

describe('src/ts imports', () => {
  const files = readSources(src);
  const edges = importEdges(files);

  test('every folder of src/ts is a declared layer', () => {
    const folders = new Set(Object.keys(files).filter((f) => f.includes('/')).map((f) => f.split('/')[0]));
    expect([...folders].filter((f) => !(LAYERS as readonly string[]).includes(f))).toEqual([]);
    expect(edges.length).toBeGreaterThan(100); // the parser saw the imports
  });

  test('no import goes against the layer order', () => {
    expect(layerViolations(edges)).toEqual([]);
  });

  test('no cycle among modules', () => {
    expect(importCycles(edges)).toEqual([]);
  });
});

// The checks themselves, on a synthetic file set with a deliberate back edge and cycle:
// they must fail where the rules are broken, or the tests above prove nothing.
describe('the import checks catch what they should', () => {
  const files: Record<string, string> = {
    'errors/bpf-error.ts': "export class BpfError extends Error {}\n",
    'base/native.ts': "import { BpfError } from '../errors/bpf-error';\nexport const addon = BpfError;\n",
    'core/program.ts': "import { Link } from './link';\nimport { addon } from '../base/native';\nexport class Program { l = Link; a = addon; }\n",
    'core/link.ts': "import { Program } from './program';\nexport class Link { p = Program; }\n",
    'core/types.ts': "import type { Program } from './program';\nexport type P = Program;\n",
    'attach/net.ts': "import { Link } from '../core/link';\nexport const x = Link;\n",
    'index.ts': "export * from './core/program';\nexport { x } from './attach/net';\nconst lazy = () => require('./core/link');\nexport { lazy };\n",
  };
  const edges = importEdges(files);

  test('edges come from import, export-from, require() and import type', () => {
    expect(edges).toContainEqual({ from: 'index.ts', to: 'core/link.ts', typeOnly: false });
    expect(edges).toContainEqual({ from: 'index.ts', to: 'attach/net.ts', typeOnly: false });
    expect(edges).toContainEqual({ from: 'core/types.ts', to: 'core/program.ts', typeOnly: true });
  });

  test('a back edge (attach importing core) is reported', () => {
    expect(layerViolations(edges)).toEqual([
      "attach/net.ts -> core/link.ts: 'attach' may not import from the later layer 'core'",
    ]);
  });

  test('a cycle (program <-> link) is reported; a type-only import closes none', () => {
    expect(importCycles(edges)).toEqual([['core/link.ts', 'core/program.ts']]);
    const typeOnly = importEdges({ ...files, 'core/link.ts': "import type { Program } from './program';\nexport class Link {}\n" });
    expect(importCycles(typeOnly)).toEqual([]);
  });

  test('a folder that is not a layer is reported', () => {
    const stray = importEdges({ ...files, 'utils/misc.ts': "import { addon } from '../base/native';\n" });
    expect(layerViolations(stray)).toContain("utils/misc.ts: its folder 'utils' is not a declared layer");
  });

  test('an import that resolves to no file is an error, not a silent pass', () => {
    expect(() => importEdges({ 'core/a.ts': "import { b } from './missing';\n" })).toThrow("core/a.ts: cannot resolve './missing'");
  });
});
