// examples/task_iter against the real kernel: the listing a BPF task iterator prints
// has this test's process (pid, parent, command name) and the agent itself; with --pid
// and --threads, only that process's threads.
import * as fs from 'node:fs';
import { cleanupAfterEach } from '../support/helpers';
import { runExample, startExample } from '../support/examples';

const cleanup = cleanupAfterEach();
const HEADER = '    PID     TID    PPID  UTIME COMM';
const row = /^ *(\d+) +(\d+) +(\d+) +(\d+) (.*)$/;

function rows(stdout: string): { pid: number; tid: number; ppid: number; comm: string }[] {
  const [header, ...lines] = stdout.trimEnd().split('\n');
  expect(header).toBe(HEADER);
  return lines.map((l) => {
    const m = row.exec(l);
    if (!m) throw new Error(`unparsable line ${JSON.stringify(l)}`);
    return { pid: Number(m[1]), tid: Number(m[2]), ppid: Number(m[3]), comm: m[5] };
  });
}

describe('examples/task_iter', () => {
  test('lists every process, this one and the agent included', async () => {
    const run = startExample('task_iter', [], cleanup);
    const { code, stdout, stderr } = await run.exited;
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const list = rows(stdout);
    const comm = fs.readFileSync('/proc/self/comm', 'utf8').trim();
    expect(list).toContainEqual({ pid: process.pid, tid: process.pid, ppid: process.ppid, comm });
    expect(list).toContainEqual({ pid: run.pid, tid: run.pid, ppid: process.pid, comm: 'node' });
    expect(list).toContainEqual(expect.objectContaining({ pid: process.ppid, tid: process.ppid })); // jest
    expect(list).toContainEqual(expect.objectContaining({ pid: 2, tid: 2, ppid: 0, comm: 'kthreadd' }));
    for (const r of list) expect(r.tid).toBe(r.pid); // processes only, without --threads
    expect(list.length).toBeGreaterThan(10);
  }, 30000);

  test("--pid --threads lists one process's threads", async () => {
    const { code, stdout, stderr } = await runExample('task_iter', ['--pid', String(process.pid), '--threads'], cleanup);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const list = rows(stdout);
    for (const r of list) expect(r.pid).toBe(process.pid);
    expect(list.map((r) => r.tid)).toContain(process.pid);
    expect(list.length).toBeGreaterThan(1); // node has worker threads
  }, 30000);
});
