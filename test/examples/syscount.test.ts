// examples/syscount against the real kernel: a child process makes a known number of
// getppid() calls while the agent counts only that child, and the per-interval reports
// (read and reset with one batch lookup-and-delete) must show them exactly once.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');
const agent = path.join(root, 'build/examples/syscount/index.js');
const CALLS = 500;

// A python3 child that says 'ready', waits for a line on stdin, calls getppid() CALLS
// times, says 'done', then blocks on stdin until it is closed: its pid is known before
// it makes the calls, and it stays idle (no more getppid) afterwards.
function gatedChild(): Promise<{ child: ChildProcessWithoutNullStreams; pid: number; go(): Promise<void> }> {
  const code = [
    'import os, sys',
    "print('ready', flush=True)",
    'sys.stdin.readline()',
    `for _ in range(${CALLS}): os.getppid()`,
    "print('done', flush=True)",
    'sys.stdin.read()',
  ].join('\n');
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', code]);
    child.on('error', reject);
    let out = '';
    const waitFor = (word: string): Promise<void> =>
      new Promise((res, rej) => {
        const check = (): void => {
          if (!out.includes(word)) return;
          child.stdout.off('data', onData);
          child.off('exit', onExit);
          res();
        };
        const onData = (d: Buffer): void => {
          out += d;
          check();
        };
        const onExit = (): void => rej(new Error(`child exited before '${word}': ${out}`));
        child.stdout.on('data', onData);
        child.once('exit', onExit);
        check();
      });
    waitFor('ready').then(() => {
      resolve({
        child,
        pid: child.pid!,
        go: () => {
          child.stdin.write('go\n');
          return waitFor('done');
        },
      });
    }, reject);
  });
}

function runAgent(args: string[], during: () => Promise<void>): Promise<{ code: number | null; stdout: string; stderr: string; duringError?: unknown }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [agent, ...args], { cwd: root });
    let stdout = '';
    let stderr = '';
    let duringDone: Promise<unknown> = Promise.resolve();
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => (stderr += d));
    proc.stdout.once('data', () => (duringDone = during().then(() => undefined, (e: unknown) => e)));
    proc.on('close', async (code) => resolve({ code, stdout, stderr, duringError: await duringDone }));
  });
}

// One report per interval: a timestamped header line, a column header, one line per process.
interface Report {
  header: string;
  rows: { pid: number; comm: string; total: bigint; calls: Map<string, bigint> }[];
}

function parseReports(stdout: string): Report[] {
  return stdout
    .split(/^(?=\d{4}-\d\d-\d\dT)/m) // each report starts with its timestamp
    .filter((block) => /^\d{4}-\d\d-\d\dT/.test(block))
    .map((block) => block.trim())
    .map((block) => {
      const [header, , ...lines] = block.split('\n');
      const rows = lines
        .filter((l) => l.trim() !== '(none)')
        .map((line) => {
          const m = /^\s*(\d+)  (.{16})\s*(\d+)  (.*)$/.exec(line);
          if (!m) throw new Error(`unparsable report line: ${JSON.stringify(line)}`);
          const calls = new Map(m[4].split(', ').map((c) => {
            const i = c.lastIndexOf(' ');
            return [c.slice(0, i), BigInt(c.slice(i + 1))] as [string, bigint];
          }));
          return { pid: Number(m[1]), comm: m[2].trim(), total: BigInt(m[3]), calls };
        });
      return { header, rows };
    });
}

describe('examples/syscount', () => {
  let child: ChildProcessWithoutNullStreams | undefined;
  afterEach(() => {
    child?.stdin.end(); // lets it exit
    child?.kill();
  });

  test('counts a child\'s real getppid() calls per interval, resets them, then exits', async () => {
    const gated = await gatedChild();
    child = gated.child;
    const { code, stdout, stderr, duringError } = await runAgent(['--duration', '2', '--interval', '1', '--pid', String(gated.pid)], gated.go);
    expect(duringError).toBeUndefined();
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^counting syscalls of pid ${gated.pid}; Ctrl-C to stop$`, 'm'));

    // At least two reports: the interval with the calls and a later one (the final
    // report at --duration, or another interval) while the child sat idle.
    const reports = parseReports(stdout);
    expect(reports.length).toBeGreaterThanOrEqual(2);
    for (const r of reports) expect(r.header).toMatch(/^\S+Z  \d+ syscalls by \d+ process(es)? in [\d.]+ s$/);

    // --pid: only the child is ever counted.
    for (const r of reports) for (const row of r.rows) expect(row.pid).toBe(gated.pid);

    // The first report that shows the child has its getppid() calls, summed over CPUs.
    const first = reports.findIndex((r) => r.rows.length > 0);
    expect(first).toBeGreaterThanOrEqual(0);
    const row = reports[first].rows[0];
    expect(row.comm).toMatch(/^python3/);
    expect(row.calls.get('getppid')).toBeGreaterThanOrEqual(BigInt(CALLS));
    expect(row.calls.get('getppid')).toBeLessThan(BigInt(CALLS + 50));
    expect(row.total).toBeGreaterThanOrEqual(row.calls.get('getppid')!);
    expect(reports[first].header).toMatch(new RegExp(`  ${row.total} syscalls by 1 process in `));

    // Reset: the drained counts never come back in a later interval.
    expect(reports.length).toBeGreaterThan(first + 1);
    for (const r of reports.slice(first + 1)) {
      for (const later of r.rows) expect(later.calls.has('getppid')).toBe(false);
    }
  }, 30000);
});
