// examples/uprobe and examples/profile against the real kernel, on the gcc-built target
// process (test/fixtures/uprobe_target.c): the malloc histogram must count exactly the
// mallocs of known sizes the target made, and the profiler's folded stacks must show the
// target's busy loop with its callers.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
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

  test('Ctrl-C before --duration ends stops once: exit 0, stacks printed, no error when the timer comes due', async () => {
    // The process lives on past Ctrl-C only if something still holds it: the --duration
    // timer once did, and ran the whole stop a second time, on the closed object.
    const run = await start('profile', ['--duration', '5', '--pid', String(process.pid)], /sampling all CPUs at 99 Hz/);
    const { code, stdout, stderr } = await run.finish();
    expect(stderr).toMatch(/^sampling all CPUs at 99 Hz \(pid \d+\); Ctrl-C to print folded stacks\n$/);
    expect(code).toBe(0);
    for (const line of stdout.trim().split('\n').filter(Boolean)) expect(line).toMatch(/^[^;\s]+(;[^;\s]+)* \d+$/); // comm;frames... count
  }, 30000);

  test("names a Node process's hot JavaScript function (--perf-basic-prof), with libc and kernel frames", async () => {
    // The hot function makes a system call now and then, so some samples are in the kernel.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlb-profile-'));
    const script = path.join(dir, 'hot.js');
    fs.writeFileSync(script, [
      "const fs = require('node:fs');",
      'function nlbHotLoop(n) { let s = 0; for (let i = 0; i < n; i++) { s += Math.sqrt(i); if (i % 5000 === 0) fs.fstatSync(0); } return s; }',
      "let x = 0; process.stdout.write('ready\\n');",
      'for (;;) x += nlbHotLoop(100000);',
    ].join('\n'));
    const node = spawn(process.execPath, ['--perf-basic-prof', script], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
    cleanup(() => {
      node.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(`/tmp/perf-${node.pid}.map`, { force: true });
    });
    await new Promise((resolve) => node.stdout.once('data', resolve));
    const run = await start('profile', ['--frequency', '499', '--pid', String(node.pid)], /sampling all CPUs at 499 Hz/);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const { code, stdout } = await run.finish();
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    for (const line of lines) expect(line).toMatch(/^node(;[^;\s]+)* \d+$/);
    const frames = (line: string): string[] => line.slice(0, line.lastIndexOf(' ')).split(';').slice(1);
    // node --perf-basic-prof writes "JS:*nlbHotLoop /path/hot.js:2:10" (optimized) or "JS:~..." (not yet).
    const hot = lines.filter((l) => frames(l).some((f) => /^JS:[*~^]?nlbHotLoop_/.test(f)));
    expect(hot.length).toBeGreaterThan(0);
    // Frame pointers lead from the JavaScript back through node's C++ into libc's start code.
    expect(lines.some((l) => frames(l).includes('__libc_start_call_main'))).toBe(true);
    // fstat() from inside nlbHotLoop: the kernel's syscall entry and the stat code under it.
    const inKernel = hot.filter((l) => frames(l).includes('entry_SYSCALL_64_after_hwframe'));
    expect(inKernel.length).toBeGreaterThan(0);
    expect(inKernel.some((l) => frames(l).some((f) => /stat/.test(f)))).toBe(true);
  }, 60000);
});
