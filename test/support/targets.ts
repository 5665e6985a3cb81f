// The user-space target program of the uprobe, USDT and perf-event tests and examples
// (test/fixtures/uprobe_target.c): built once with gcc, driven over stdin so each test
// decides when its probes fire.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { root } from './helpers';

/** The compiled target (build/fixtures/uprobe_target), built when missing or stale. */
export function targetBinary(): string {
  const source = path.join(root, 'test', 'fixtures', 'uprobe_target.c');
  const out = path.join(root, 'build', 'fixtures', 'uprobe_target');
  if (fs.existsSync(out) && fs.statSync(out).mtimeMs >= fs.statSync(source).mtimeMs) return out;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  // -O0 and no CET: nlb_target_add starts `push %rbp; mov %rsp,%rbp` (offsets 1 and 4 are instructions).
  execFileSync('gcc', ['-O0', '-g', '-fno-omit-frame-pointer', '-fcf-protection=none', '-o', tmp, source]);
  fs.renameSync(tmp, out);
  return out;
}

export interface Target {
  pid: number;
  child: ChildProcessWithoutNullStreams;
  /** Sends one command line and resolves once the target answered "ok". */
  send(command: string): Promise<void>;
  /** Ends the target (closes stdin, then kills it) and waits for its exit. */
  stop(): Promise<void>;
}

/**
 * Starts a target and resolves once it printed "ready" (its pid is known, nothing fired
 * yet). With `cleanup` (the registrar cleanupAfterEach() returns), it is stopped after the test.
 */
export async function spawnTarget(cleanup?: (f: () => void) => void): Promise<Target> {
  const target = await startTarget();
  cleanup?.(() => void target.stop());
  return target;
}

function startTarget(): Promise<Target> {
  const child = spawn(targetBinary(), [], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let waiters: { word: string; count: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  let oks = 0;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const check = (): void => {
    waiters = waiters.filter((w) => {
      const have = w.word === 'ok' ? oks : out.includes(w.word) ? 1 : 0;
      if (have >= w.count) w.resolve();
      return have < w.count;
    });
  };
  child.stdout.on('data', (d: Buffer) => {
    out += d;
    oks = (out.match(/^ok$/gm) ?? []).length;
    check();
  });
  child.once('exit', (code, signal) => {
    for (const w of waiters) w.reject(new Error(`target exited (${code ?? signal}) before '${w.word}'`));
    waiters = [];
  });
  const waitFor = (word: string, count: number): Promise<void> =>
    new Promise((resolve, reject) => {
      waiters.push({ word, count, resolve, reject });
      check();
    });
  let sent = 0;
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    waitFor('ready', 1).then(() => {
      resolve({
        pid: child.pid!,
        child,
        send: (command) => {
          sent++;
          child.stdin.write(`${command}\n`);
          return waitFor('ok', sent);
        },
        stop: () => {
          child.stdin.end();
          setTimeout(() => child.kill('SIGKILL'), 2000).unref();
          return exited;
        },
      });
    }, reject);
  });
}
