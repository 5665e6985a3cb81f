// Runs library code in a child Node process with fewer privileges than the test (root):
// as `nobody` with no capabilities, or as a non-root uid holding only some capabilities
// (ambient, so they survive the exec), via util-linux's setpriv. The child prints one
// JSON line: what each step returned, or the BpfError it threw (name, code, syscall, hint).
import { spawnSync } from 'node:child_process';
import { distDir, fixture, root } from './helpers';

/** Who the child is: nobody without capabilities, or uid 65534 with exactly these capabilities. */
export type Privilege = { caps: readonly ('bpf' | 'perfmon' | 'net_admin' | 'sys_admin')[] };

/** What a step gave: its value, or the error it threw. */
export type Outcome =
  | { ok: true; value: unknown }
  | { ok: false; name: string; code?: string; syscall?: string; hint?: string; message: string };

const PRELUDE = `
const lib = require(${JSON.stringify(distDir())});
const toolchain = require(${JSON.stringify(`${distDir()}/toolchain`)});
const fixture = (name) => ${JSON.stringify(fixture('NAME'))}.replace('NAME', name);
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
  const code = `${PRELUDE}(async () => {\n${body}\n})().then(() => console.log(JSON.stringify(out)), (e) => { console.error(e); process.exit(3); });`;
  const r = spawnSync('setpriv', [...setprivArgs(who), process.execPath, '-e', code], {
    cwd: root, encoding: 'utf8', timeout: 60000, killSignal: 'SIGKILL', maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`child as ${JSON.stringify(who)} exited ${r.status ?? r.signal}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}
