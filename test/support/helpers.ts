// Small helpers shared by the tests: fixtures opened and loaded with their own cleanup, a
// getpgid() trigger run in a child process (Node has no getpgid binding), unique bpffs
// paths, fd counting and GC.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { BpfObject, type OpenOptions } from 'node-libbpf';

export const root = path.join(__dirname, '..', '..');

/** The compiled fixture `name` (e.g. 'basic' -> build/fixtures/basic.bpf.o). */
export function fixture(name: string): string {
  const dir = process.env.NODE_LIBBPF_FIXTURES ?? path.join(root, 'build', 'fixtures');
  return path.join(dir, `${name}.bpf.o`);
}

const getpgidLoop = (n: number): string => `import os\nfor _ in range(${n}): os.getpgid(0)\n`;

/** Runs a child that calls getpgid() `n` times; resolves with its pid once it exited. */
export function triggerGetpgid(n: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', getpgidLoop(n)], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0 && child.pid !== undefined) resolve(child.pid);
      else reject(new Error(`getpgid child exited with ${code ?? signal}`));
    });
  });
}

export interface GatedChild {
  pid: number;
  /** Lets the child make its getpgid() calls; resolves once it exited. */
  go(): Promise<void>;
}

/** A child that waits for a line on stdin before calling getpgid() `n` times: its pid is known first. */
export function spawnGatedGetpgid(n: number): Promise<GatedChild> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', `import sys\nprint('ready', flush=True)\nsys.stdin.readline()\n${getpgidLoop(n)}`], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    const exited = new Promise<void>((res, rej) => {
      child.on('exit', (code, signal) => (code === 0 ? res() : rej(new Error(`gated child exited with ${code ?? signal}`))));
    });
    exited.catch(() => undefined); // observed through go()
    child.on('error', reject);
    child.stdout!.once('data', () => {
      resolve({
        pid: child.pid!,
        go: () => {
          child.stdin!.end('go\n');
          return exited;
        },
      });
    });
  });
}

let counter = 0;
/** A fresh path under /sys/fs/bpf (nothing is created there). */
export function bpffsPath(label: string): string {
  return `/sys/fs/bpf/nlb_test_${process.pid}_${Date.now().toString(36)}_${counter++}_${label}`;
}

/** Removes a bpffs path (file or directory tree) if it exists. */
export function removeBpffs(p: string): void {
  fs.rmSync(p, { recursive: true, force: true });
}

/** The number of open file descriptors of this process. */
export function fdCount(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** The fdinfo of one of this process's fds, as key -> value. */
export function fdInfo(fd: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').split('\n')) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

let gcFn: (() => void) | undefined;
/** A full garbage collection, whether or not node runs with --expose-gc. */
export function gc(): void {
  if (!gcFn) {
    const g = (globalThis as { gc?: () => void }).gc;
    if (typeof g === 'function') {
      gcFn = g;
    } else {
      v8.setFlagsFromString('--expose-gc');
      gcFn = vm.runInNewContext('gc') as () => void;
    }
  }
  gcFn();
}

/** gc() then let finalizers run (node-addon-api may defer them to the event loop). */
export async function gcAndSettle(): Promise<void> {
  gc();
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 5));
}

/**
 * The compiled package (dist/), for worker threads, which cannot use ts-jest's
 * transform. Rebuilt with tsc when missing or older than a source file.
 */
export function distDir(): string {
  const dist = path.join(root, 'dist');
  const index = path.join(dist, 'index.js');
  const srcDir = path.join(root, 'src', 'ts');
  const newest = Math.max(
    ...fs
      .readdirSync(srcDir)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => fs.statSync(path.join(srcDir, f)).mtimeMs),
  );
  if (!fs.existsSync(index) || fs.statSync(index).mtimeMs < newest) {
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.json')], { cwd: root, stdio: 'ignore' });
    if (!fs.existsSync(index)) throw new Error('dist/index.js is missing and tsc could not build it (npm run build:ts)');
  }
  return dist;
}

/** What `fn` throws; fails when it returns. */
export function thrown(fn: () => unknown): any {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to throw');
}

/** What `p` rejects with; fails when it resolves. */
export async function rejection(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the promise to reject');
}

/**
 * `e` is a `kind` ('TypeError', 'RangeError', ...) with exactly `message` (or matching it).
 * Realm-agnostic on purpose: errors the addon throws itself are made in Node's main realm,
 * not in jest's sandbox, so `instanceof TypeError` is tested separately (errors.test.ts).
 */
export function expectError(e: any, kind: string, message?: string | RegExp): void {
  expect(Object.prototype.toString.call(e)).toBe('[object Error]');
  expect(e.name).toBe(kind);
  expect(e.constructor?.name).toBe(kind);
  if (typeof message === 'string') expect(e.message).toBe(message);
  else if (message) expect(e.message).toMatch(message);
}

/**
 * A load the kernel refused because it predates map kind `kind` (`since`: 'Linux 6.1'):
 * a BpfError naming the map, with the hint that says which release brings the kind and
 * how to load the rest without that map.
 */
export function expectMapKindRefused(e: any, map: string, kind: string, since: string): void {
  expect(e.name).toBe('BpfError');
  expect(e.syscall).toBe('bpf_object__load');
  expect(['EINVAL', 'E2BIG']).toContain(e.code); // an unknown map type, or attributes it does not know
  expect(e.message).toContain(`map '${map}': failed to create`);
  expect(e.hint).toContain(`this kernel cannot create ${kind} maps: ${kind} needs ${since}`);
  expect(e.hint).toContain(`set autocreate = false on map '${map}'`);
}

/** `fn()` throws a `kind` with `message`. */
export function expectThrows(fn: () => unknown, kind: string, message?: string | RegExp): void {
  expectError(thrown(fn), kind, message);
}

/** `p` rejects with a `kind` with `message`. */
export async function expectRejects(p: Promise<unknown>, kind: string, message?: string | RegExp): Promise<void> {
  expectError(await rejection(p), kind, message);
}

/**
 * Registers an afterEach that runs the returned function's arguments, newest first, after
 * each test (what a test opened, closed even when it failed).
 */
export function cleanupAfterEach(): (f: () => void) => void {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const f of cleanups.splice(0).reverse()) {
      try {
        f();
      } catch {
        // already gone
      }
    }
  });
  return (f) => cleanups.push(f);
}

/** How openFixture()/loadFixture() shape an object before it loads. */
export interface FixtureOptions extends OpenOptions {
  /** Only these programs load (the others get autoload = false). */
  programs?: string[];
  /** Initial values of globals, set before load. */
  globals?: Record<string, unknown>;
  /** Anything else before load: map sizes, autocreate, attach targets. */
  before?: (obj: BpfObject) => void;
  /** After load, auto-attach every program whose section says where (obj.attach()). */
  attach?: boolean;
}

// Every test file that imports this module closes, after each test, what openFixture()
// opened during it (even when the test failed).
const closeAfterTest = cleanupAfterEach();

/**
 * Opens a test fixture (a name such as 'basic', a path to an object, or its bytes), shaped
 * by `options` (or by a function run before load); closed after the test.
 */
export function openFixture(name: string | Uint8Array, options: FixtureOptions | ((obj: BpfObject) => void) = {}): BpfObject {
  if (typeof options === 'function') options = { before: options };
  const { programs, globals, before, attach: _attach, ...open } = options;
  const source = typeof name !== 'string' || name.includes('/') ? name : fixture(name);
  const obj = BpfObject.open(source, Object.keys(open).length ? open : undefined);
  closeAfterTest(() => obj.close());
  if (programs) for (const p of obj.programs()) p.autoload = programs.includes(p.name);
  for (const [key, value] of Object.entries(globals ?? {})) obj.globals[key] = value;
  before?.(obj);
  return obj;
}

/** openFixture(), then load() (and attach() with `attach: true`); closed after the test. */
export async function loadFixture(name: string | Uint8Array, options: FixtureOptions | ((obj: BpfObject) => void) = {}): Promise<BpfObject> {
  const obj = openFixture(name, options);
  await obj.load();
  if (typeof options !== 'function' && options.attach) obj.attach();
  return obj;
}
