// examples/uprobe and examples/profile against the real kernel, on the gcc-built target
// process (test/fixtures/uprobe_target.c): the malloc histogram must count exactly the
// mallocs of known sizes the target made, and the profiler's folded stacks must show the
// target's busy loop with its callers.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { cleanupAfterEach } from '../support/helpers';
import { spawnTarget } from '../support/targets';

const root = path.join(__dirname, '..', '..');
const cleanup = cleanupAfterEach();

// Starts an example; resolves once it printed `ready` (on stdout or stderr); `finish()`
// sends SIGINT and resolves with everything it printed and its exit code.
function start(name: string, args: string[], ready: RegExp): Promise<{ finish(): Promise<{ code: number | null; stdout: string; stderr: string }> }> {
  const proc = spawn(process.execPath, [path.join(root, 'build/examples', name, 'index.js'), ...args], { cwd: root });
  cleanup(() => proc.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  const closed = new Promise<number | null>((resolve) => proc.on('close', resolve));
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (ready.test(stdout) || ready.test(stderr)) {
        resolve({
          finish: async () => {
            proc.kill('SIGINT');
            const code = await closed;
            return { code, stdout, stderr };
          },
        });
      }
    };
    proc.stdout.on('data', (d) => ((stdout += d), check()));
    proc.stderr.on('data', (d) => ((stderr += d), check()));
    closed.then((code) => reject(new Error(`${name} exited (${code}) before it was ready: ${stdout}${stderr}`)));
  });
}

describe('examples/uprobe', () => {
  test("histograms a target's malloc() sizes in log2 buckets", async () => {
    const target = await spawnTarget();
    cleanup(() => void target.stop());
    const run = await start('uprobe', ['--pid', String(target.pid)], /tracing malloc\(\) in pid \d+/);
    await target.send('malloc 1000 100'); // bucket 64 -> 127
    await target.send('malloc 20 5000'); // bucket 4096 -> 8191
    const { code, stdout, stderr } = await run.finish();
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^tracing malloc\\(\\) in pid ${target.pid}; Ctrl-C to stop$`, 'm'));
    const bucket = (range: string): number => Number(new RegExp(`^\\s+${range} : (\\d+)\\s+\\|\\**\\s*\\|$`, 'm').exec(stdout)?.[1]);
    // The target itself mallocs nothing else of these sizes (stdio's buffers are 1 KiB+ and made before).
    expect(bucket('64 -> 127')).toBe(1000);
    expect(bucket('4096 -> 8191')).toBe(20);
    expect(stdout).toMatch(/^\s+64 -> 127 : 1000\s+\|\*{40}\|$/m); // the tallest bar
    const total = Number(/^(\d+) malloc\(\) calls by pid/m.exec(stdout)?.[1]);
    expect(total).toBeGreaterThanOrEqual(1020);
  }, 30000);
});

describe('examples/profile', () => {
  test("folded stacks show a spinning target's busy loop under main", async () => {
    const target = await spawnTarget();
    cleanup(() => void target.stop());
    const run = await start('profile', ['--frequency', '499', '--pid', String(target.pid)], /sampling all CPUs at 499 Hz/);
    await target.send('spin 1000');
    const { code, stdout, stderr } = await run.finish();
    expect(code).toBe(0);
    expect(stderr).toMatch(/^sampling all CPUs at 499 Hz \(pid \d+\); Ctrl-C to print folded stacks\n$/);
    const lines = stdout.trim().split('\n');
    for (const line of lines) expect(line).toMatch(/^uprobe_target(;[^;\s]+)* \d+$/); // --pid: only the target
    const spin = lines.filter((l) => /;main;nlb_target_spin(;| )/.test(l));
    expect(spin.length).toBeGreaterThan(0);
    const samples = spin.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    expect(samples).toBeGreaterThan(10);
  }, 30000);
});
