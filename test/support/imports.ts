// The import graph of src/ts, read with TypeScript's own parser, and the two rules it must
// keep: no cycle among modules, and no import against the layer order.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

/**
 * The layers, lowest first: a module may import from its own folder and from folders
 * earlier in this list, never from a later one. The entries (index.ts, toolchain/index.ts,
 * metrics/index.ts) sit in their folders like any module.
 */
export const LAYERS = [
  'errors', 'base', 'elf', 'btf', 'dwarf', 'probe', 'attach', 'core', 'events',
  'symbols', 'containers', 'metrics', 'toolchain', 'vm', 'cli', '.',
] as const;

export interface ImportEdge {
  from: string;
  to: string;
  /** `import type` / `export type`: erased when compiled, so it never makes a load-time cycle. */
  typeOnly: boolean;
}

/** Every relative import, export-from, require() and import() of each file, resolved to module paths. */
export function importEdges(files: Record<string, string>): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const [file, text] of Object.entries(files)) {
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
    const add = (spec: string, typeOnly: boolean): void => {
      if (!spec.startsWith('.')) return;
      const base = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
      const to = [`${base}.ts`, `${base}/index.ts`].find((f) => f in files);
      if (to === undefined) throw new Error(`${file}: cannot resolve '${spec}'`);
      edges.push({ from: file, to, typeOnly });
    };
    const visit = (node: ts.Node): void => {
      if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
        const clause = node.importClause;
        const typeOnly = !!clause && (clause.isTypeOnly ||
          (!clause.name && !!clause.namedBindings && ts.isNamedImports(clause.namedBindings) &&
            clause.namedBindings.elements.length > 0 && clause.namedBindings.elements.every((e) => e.isTypeOnly)));
        add(node.moduleSpecifier.text, typeOnly);
      } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
        const typeOnly = node.isTypeOnly || (!!node.exportClause && ts.isNamedExports(node.exportClause) &&
          node.exportClause.elements.length > 0 && node.exportClause.elements.every((e) => e.isTypeOnly));
        add(node.moduleSpecifier.text, typeOnly);
      } else if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isStringLiteral(node.arguments[0]) &&
        (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))) {
        add(node.arguments[0].text, false);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return edges;
}

/** The folder (layer) a module path such as 'core/map/map.ts' belongs to: its first segment. */
export function layerOf(file: string): string {
  const first = file.split('/')[0];
  return file.includes('/') ? first : '.';
}

/** Edges that import from a later layer (or from a folder the layer list does not name). */
export function layerViolations(edges: ImportEdge[], layers: readonly string[] = LAYERS): string[] {
  const rank = (f: string): number => layers.indexOf(layerOf(f));
  const out: string[] = [];
  for (const e of edges) {
    const [from, to] = [rank(e.from), rank(e.to)];
    if (from < 0) out.push(`${e.from}: its folder '${layerOf(e.from)}' is not a declared layer`);
    else if (to > from) out.push(`${e.from} -> ${e.to}: '${layerOf(e.from)}' may not import from the later layer '${layerOf(e.to)}'`);
  }
  return [...new Set(out)];
}

/** Each cycle among modules (through imports that exist at run time), as the list of its files. */
export function importCycles(edges: ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) if (!e.typeOnly) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  // Tarjan's strongly connected components: a component of more than one module is a cycle.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let counter = 0;
  const connect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (next.get(v) ?? []).includes(v)) cycles.push(component.sort());
    }
  };
  for (const v of next.keys()) if (!index.has(v)) connect(v);
  return cycles;
}

/** src/ts as { 'core/object.ts': text, ... }. */
export function readSources(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const name = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(name);
      else if (entry.name.endsWith('.ts')) files[name] = fs.readFileSync(path.join(dir, name), 'utf8');
    }
  };
  walk('');
  return files;
}
