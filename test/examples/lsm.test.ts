// examples/lsm against the real kernel: while the agent runs, signals this test sends to
// a protected child are refused with EPERM (and reported), signal 0 still answers; once it
// stops, the child can be signalled again. Where the kernel refuses BPF LSM programs
// (the development host), the example exits 1 with the BpfError saying so.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cleanupAfterEach } from '../support/helpers';
import { runExample, startExample } from '../support/examples';
import { kernelAllows } from '../support/kernel';

const cleanup = cleanupAfterEach();

describe('examples/lsm', () => {
  if (kernelAllows('lsm')) {
    test('refuses signals to the protected pid until it stops', async () => {
      const child = spawn('sleep', ['600'], { stdio: 'ignore' });
      cleanup(() => child.kill('SIGKILL'));
      const pid = child.pid!;
      const run = startExample('lsm', ['--pid', String(pid)], cleanup);
      await run.waitFor((l) => l.startsWith('protecting'), 'the agent to start');
      expect(run.lines[0]).toBe(`protecting pid ${pid} from signals; Ctrl-C to stop`);
      expect(() => process.kill(pid, 'SIGTERM')).toThrow(expect.objectContaining({ code: 'EPERM' }));
      expect(() => process.kill(pid, 'SIGUSR1')).toThrow(expect.objectContaining({ code: 'EPERM' }));
      expect(process.kill(pid, 0)).toBe(true); // the existence check is let through
      await run.waitForLines((ls) => ls.length === 3, 'two refusals');
      const { code, stdout, stderr } = await run.stop();
      expect(stderr).toBe('');
      expect(code).toBe(0);
      const comm = '\\S.{0,14}';
      const lines = stdout.trim().split('\n');
      expect(lines[1]).toMatch(new RegExp(`^refused signal 15 to ${pid} from ${comm} \\(pid ${process.pid}\\)$`));
      expect(lines[2]).toMatch(new RegExp(`^refused signal 10 to ${pid} from ${comm} \\(pid ${process.pid}\\)$`));
      expect(lines.slice(3)).toEqual(['2 signal(s) refused']);
      expect(child.exitCode).toBeNull(); // still running: nothing was delivered
      // The agent stopped: the policy is gone with its link.
      const exited = once(child, 'exit');
      process.kill(pid, 'SIGTERM');
      expect(await exited).toEqual([null, 'SIGTERM']);
    });
  } else {
    test('is refused at load with EPERM: the example exits 1 with the BpfError', async () => {
      const { code, stdout, stderr } = await runExample('lsm', ['--pid', '1'], cleanup);
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/^BpfError: .*prog 'protect': BPF program load failed/);
      expect(stderr).toMatch(/code: 'EPERM'/);
      expect(stderr).toMatch(/this kernel refuses (BPF )?LSM programs even for root: kernel lockdown/);
    });
  }
});
