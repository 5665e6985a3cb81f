// Runs library code in a child Node process with fewer privileges than the test (root):
// as `nobody` with no capabilities, or as a non-root uid holding only some capabilities
// (ambient, so they survive the exec), via util-linux's setpriv. The child prints one
// JSON line: what each step returned, or the BpfError it threw (name, code, syscall, hint).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { distDir, fixture, root } from './helpers';

/** Where a child without root's rights finds the package and the fixtures. */
export interface StagedPackage {
  dir: string;
  dist: string;
  /** fixture('NAME') of the copy, 'NAME' standing for the name. */
  fixturePattern: string;
}

let staged: StagedPackage | undefined;

/**
 * A world-readable copy of what a child running as uid 65534 loads (package.json, dist/, the
 * addon, node-gyp-build, the fixtures): the checkout itself may be out of its reach, as a
 * CI clone under a mode-0700 temporary directory is. Made once per test file, removed at exit.
 */
export function stagedPackage(): StagedPackage {
  if (staged) return staged;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlb-unpriv-'));
  fs.chmodSync(dir, 0o755);
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const copy = (from: string, to: string): void => {
    if (fs.existsSync(from)) fs.cpSync(from, path.join(dir, to), { recursive: true });
  };
  copy(path.join(root, 'package.json'), 'package.json');
  copy(distDir(), 'dist');
  copy(path.join(root, 'build', 'Release', 'node_libbpf.node'), 'build/Release/node_libbpf.node');
  copy(path.join(root, 'prebuilds'), 'prebuilds');
  copy(path.join(root, 'node_modules', 'node-gyp-build'), 'node_modules/node-gyp-build');
  const fixtures = path.dirname(fixture('NAME'));
  copy(fixtures, 'fixtures');
  for (const d of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (d.isDirectory()) fs.chmodSync(path.join(d.parentPath, d.name), 0o755);
  }
  staged = { dir, dist: path.join(dir, 'dist'), fixturePattern: path.join(dir, 'fixtures', path.basename(fixture('NAME'))) };
  return staged;
}

/** Who the child is: nobody without capabilities, or uid 65534 with exactly these capabilities. */
export type Privilege = { caps: readonly ('bpf' | 'perfmon' | 'net_admin' | 'sys_admin')[] };

/** What a step gave: its value, or the error it threw. */
export type Outcome =
  | { ok: true; value: unknown }
  | { ok: false; name: string; code?: string; syscall?: string; hint?: string; message: string };

const prelude = (pkg: StagedPackage): string => `
const lib = require(${JSON.stringify(pkg.dist)});
const toolchain = require(${JSON.stringify(`${pkg.dist}/toolchain`)});
const fixture = (name) => ${JSON.stringify(pkg.fixturePattern)}.replace('NAME', name);
const out = {};
async function step(name, fn) {
  try {
    out[name] = { ok: true, value: await fn() };
  } catch (e) {
    out[name] = { ok: false, name: e.constructor.name, code: e.code, syscall: e.syscall, hint: e.hint, message: e.message };
  }
}
`;

/** The setpriv arguments for `who`: uid/gid 65534, no groups, only the listed capabilities. */
export function setprivArgs(who: Privilege): string[] {
  const caps = who.caps.map((c) => `+${c}`).join(',');
  return [
    '--reuid=65534', '--regid=65534', '--clear-groups',
    ...(caps ? [`--inh-caps=-all,${caps}`, `--ambient-caps=${caps}`] : ['--inh-caps=-all']),
  ];
}

/** Runs `body` (statements using `step(name, fn)`, `lib`, `toolchain`, `fixture`) as `who`; resolves to the steps' outcomes. */
export function runAs(who: Privilege, body: string): Record<string, Outcome> {
  const pkg = stagedPackage();
  const code = `${prelude(pkg)}(async () => {\n${body}\n})().then(() => console.log(JSON.stringify(out)), (e) => { console.error(e); process.exit(3); });`;
  const r = spawnSync('setpriv', [...setprivArgs(who), process.execPath, '-e', code], {
    cwd: pkg.dir, encoding: 'utf8', timeout: 60000, killSignal: 'SIGKILL', maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`child as ${JSON.stringify(who)} exited ${r.status ?? r.signal}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}
