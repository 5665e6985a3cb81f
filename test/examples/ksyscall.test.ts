// examples/ksyscall against the real kernel: a child's kill() and tgkill() calls (signal
// 0: nothing is delivered) with their arguments, or the ENOENT refusal on a kernel
// without kprobes (the development host).
import { cleanupAfterEach } from '../support/helpers';
import { gatedPython, runExample, startExample } from '../support/examples';
import { kernelAllows } from '../support/kernel';

const cleanup = cleanupAfterEach();
const READY = 'tracing kill() and tgkill(); Ctrl-C to stop';

describe('examples/ksyscall', () => {
  if (kernelAllows('ksyscall')) {
    test("reports a child's kill() and tgkill() calls with their arguments", async () => {
      // os.kill is kill(2); signal.pthread_kill on the main thread is tgkill(pid, pid, sig).
      const child = await gatedPython('os.kill(os.getpid(), 0)\nsignal.pthread_kill(threading.main_thread().ident, 0)', cleanup);
      const run = startExample('ksyscall', [], cleanup);
      await run.waitFor((l) => l === READY, 'the agent to start');
      await child.go();
      const mine = (l: string): boolean => l.startsWith('python3 ') && l.includes(` ${child.pid}  `);
      await run.waitForLines((ls) => ls.filter(mine).length === 2, "the child's two calls");
      const { code, stdout, stderr } = await run.stop();
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(stdout.split('\n').filter(mine)).toEqual([
        `python3          ${String(child.pid).padStart(7)}  kill(${child.pid}, 0)`,
        `python3          ${String(child.pid).padStart(7)}  tgkill(${child.pid}, ${child.pid}, 0)`,
      ]);
    });
  } else {
    test('loads, and attaching fails with ENOENT (no kprobes): the example exits 1 with the BpfError', async () => {
      const { code, stdout, stderr } = await runExample('ksyscall', [], cleanup);
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/^BpfError: .*prog 'on_kill': failed to create kprobe '__\w+_sys_kill\+0x0' perf event/);
      expect(stderr).toMatch(/code: 'ENOENT'/);
      expect(stderr).toMatch(/CONFIG_KPROBES/);
    });
  }
});
