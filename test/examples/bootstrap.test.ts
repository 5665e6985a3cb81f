// examples/bootstrap against the real kernel: processes the test starts must show up
// with their exec, pid, parent, exit status and lifetime, and --min-duration (a global
// set before load) must keep the short-lived ones and every exec line out.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');
const agent = path.join(root, 'build/examples/bootstrap/index.js');

interface Agent {
  proc: ChildProcess;
  out(): string;
  waitFor(re: RegExp): Promise<RegExpExecArray>;
  stop(): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

function startAgent(args: string[]): Agent {
  const proc = spawn(process.execPath, [agent, ...args], { cwd: root });
  let stdout = '';
  let stderr = '';
  const waiters: (() => void)[] = [];
  proc.stdout!.on('data', (d) => {
    stdout += d;
    for (const w of waiters.splice(0)) w();
  });
  proc.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => proc.on('close', resolve));
  return {
    proc,
    out: () => stdout,
    waitFor(re) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const m = re.exec(stdout);
          if (m) return resolve(m);
          if (proc.exitCode !== null) return reject(new Error(`agent exited before ${re}: ${stdout}${stderr}`));
          waiters.push(check);
        };
        check();
      });
    },
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGINT');
      const code = await exited;
      return { code, stdout, stderr };
    },
  };
}

function run(cmd: string, args: string[]): Promise<{ pid: number; code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ pid: child.pid!, code, signal }));
  });
}

const HEADER = /^TIME\s+EVENT COMM\s+PID\s+PPID FILENAME\/EXIT$/m;
const lineOf = (pid: number, kind: 'EXEC' | 'EXIT'): RegExp =>
  new RegExp(`^\\d\\d:\\d\\d:\\d\\d ${kind} (\\S+)\\s+ ${pid}\\s+(\\d+) (.*)$`, 'm');

describe('examples/bootstrap', () => {
  let running: Agent | undefined;
  afterEach(async () => {
    await running?.stop();
    running = undefined;
  });

  test('reports exec and exit of processes, with parent, exit code, signal and lifetime', async () => {
    running = startAgent([]);
    await running.waitFor(HEADER);
    const sh = await run('/bin/sh', ['-c', 'sleep 0.2; exit 3']);
    expect(sh.code).toBe(3);
    const sleeper = spawn('sleep', ['5'], { stdio: 'ignore' });
    await running.waitFor(lineOf(sleeper.pid!, 'EXEC'));
    sleeper.kill('SIGKILL');

    const exec = await running.waitFor(lineOf(sh.pid, 'EXEC'));
    expect(exec[1]).toBe('sh');
    expect(Number(exec[2])).toBe(process.pid);
    expect(exec[3]).toMatch(/^(\/usr)?\/bin\/sh$/);

    const exit = await running.waitFor(lineOf(sh.pid, 'EXIT'));
    expect(exit[1]).toBe('sh');
    expect(Number(exit[2])).toBe(process.pid);
    const m = /^\[exit 3\] \((\d+)ms\)$/.exec(exit[3]);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(200);

    const killed = await running.waitFor(lineOf(sleeper.pid!, 'EXIT'));
    expect(killed[1]).toBe('sleep');
    expect(killed[3]).toMatch(/^\[signal 9\] \(\d+ms\)$/);

    // Order: a process's exec line comes before its exit line.
    const out = running.out();
    expect(out.indexOf(exec[0])).toBeLessThan(out.indexOf(exit[0]));

    const { code, stderr } = await running.stop();
    expect(stderr).toBe('');
    expect(code).toBe(0);
  }, 30000);

  test('--min-duration keeps only the processes that lived that long, and no exec lines', async () => {
    running = startAgent(['--min-duration', '150']);
    await running.waitFor(/^tracing processes that live 150ms or more; Ctrl-C to stop$/m);
    await running.waitFor(HEADER);
    const quick = await run('/bin/sh', ['-c', 'exit 5']);
    const slow = await run('/bin/sh', ['-c', 'sleep 0.3; exit 4']);
    const exit = await running.waitFor(lineOf(slow.pid, 'EXIT'));
    expect(exit[3]).toMatch(/^\[exit 4\] \((\d+)ms\)$/);
    expect(Number(/\((\d+)ms\)/.exec(exit[3])![1])).toBeGreaterThanOrEqual(300);

    const { code, stdout } = await running.stop();
    expect(code).toBe(0);
    expect(stdout).not.toMatch(lineOf(quick.pid, 'EXIT'));
    expect(stdout).not.toMatch(/^\d\d:\d\d:\d\d EXEC /m);
    // Every reported process lived at least 150 ms (or was running before the agent).
    for (const [, ms] of stdout.matchAll(/^\d\d:\d\d:\d\d EXIT .*\((\d+)ms\)$/gm)) expect(Number(ms)).toBeGreaterThanOrEqual(150);
  }, 30000);

  test('--duration ends the for-await loop and the agent exits by itself', async () => {
    const started = Date.now();
    running = startAgent(['--duration', '1']);
    const { code } = await new Promise<{ code: number | null }>((resolve) => running!.proc.on('close', (c) => resolve({ code: c })));
    expect(code).toBe(0);
    expect(running.out()).toMatch(HEADER);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  }, 30000);
});
