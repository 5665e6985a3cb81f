// examples/killsnoop against the real kernel: the agent, told to ignore signal 0 through
// its user ring buffer, prints the kill() calls a child of this process makes.
import { execFileSync, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { until } from '../support/events';
import { root } from '../support/helpers';

const agent = path.join(root, 'build/examples/killsnoop/index.js');

describe('examples/killsnoop', () => {
  test('prints the kill() calls of children, without the ignored signal, and the totals on Ctrl-C', async () => {
    const child = spawn(process.execPath, [agent, '--parent', String(process.pid), '--ignore', '0']);
    const lines: string[] = [];
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    readline.createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await until(() => lines.length > 0, 'the agent to start', 60000);
      expect(lines[0]).toBe(`tracing kill() by children of ${process.pid}; Ctrl-C to stop`);
      const pid = execFileSync('python3', ['-c', 'import os\nfor s in (0, 18, 0, 18): os.kill(os.getpid(), s)\nprint(os.getpid())'], { encoding: 'utf8' }).trim();
      await until(() => lines.length === 3, 'two kill() lines');
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(stderr).toBe('');
      const calls = lines.slice(1, 3);
      for (const line of calls) expect(line).toMatch(new RegExp(`^python3 +${pid} -> +${pid}  signal 18  \\(cpu \\d+\\)$`));
      expect(lines.slice(3)).toEqual(['2 kill() call(s), 0 lost']);
    } finally {
      child.kill('SIGKILL');
    }
  }, 90000);
});
