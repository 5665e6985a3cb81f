// Runs code in a child Node process, so that a crash (a signal) or a hang (the timeout) is
// an observable result instead of the end of the test run.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');

export interface ChildResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** spawnSync's own error (e.g. ETIMEDOUT), if any */
  error: string | undefined;
}

/** `code` runs with `addon` bound to the raw addon (no TypeScript layer in between). */
export function runWithAddon(code: string, timeoutMs = 20000, env: NodeJS.ProcessEnv = {}): ChildResult {
  const prelude = `
    const addon = require(${JSON.stringify(require.resolve('node-gyp-build'))})(${JSON.stringify(ROOT)});
    addon.setErrorFactories({
      bpf: (errno, syscall) => Object.assign(new Error(syscall + ': errno ' + errno), { errno, syscall }),
      type: (m) => new TypeError(m), range: (m) => new RangeError(m),
      states: require(${JSON.stringify(path.join(ROOT, 'dist', 'errors', 'state'))}).STATE_MESSAGES,
    });
  `;
  return run(['-e', prelude + code], timeoutMs, env);
}

/** Runs `args` with node; signal SIGKILL plus timedOut means it did not finish in time. */
export function run(args: string[], timeoutMs = 20000, env: NodeJS.ProcessEnv = {}): ChildResult {
  const r = spawnSync(process.execPath, args, {
    cwd: ROOT, encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', env: { ...process.env, ...env }, maxBuffer: 256 << 20,
  });
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', timedOut, error: r.error?.message };
}
