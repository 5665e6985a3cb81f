// examples/minimal against the real kernel: the write() calls and bytes of a child that
// makes a known number of writes, counted from a tracepoint into .bss globals; and, with
// no --pid, the agent's own writes (each line it prints is one).
import { cleanupAfterEach } from '../support/helpers';
import { gatedPython, startExample } from '../support/examples';

const cleanup = cleanupAfterEach();
const line = /^pid (\d+): (\d+) write\(\) calls, (\d+) bytes$/;

describe('examples/minimal', () => {
  test("counts exactly a child's write() calls and bytes with --pid", async () => {
    // Five writes of 10 bytes to /dev/null, then 'done\n' to stdout: 6 calls, 55 bytes.
    const child = await gatedPython('for _ in range(5): os.write(fd, b"0123456789")', cleanup, "fd = os.open('/dev/null', os.O_WRONLY)");
    const run = startExample('minimal', ['--pid', String(child.pid), '--interval', '0.2'], cleanup);
    await run.waitFor((l) => l.startsWith('counting'), 'the agent to start');
    expect(run.lines[0]).toBe(`counting write() calls of pid ${child.pid}; Ctrl-C to stop`);
    await child.go();
    await run.waitFor((l) => l === `pid ${child.pid}: 6 write() calls, 55 bytes`, 'the six writes');
    const { code, stdout, stderr } = await run.stop();
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const counts = stdout.trim().split('\n').slice(1);
    for (const l of counts) expect(l).toMatch(line);
    expect(counts[counts.length - 1]).toBe(`pid ${child.pid}: 6 write() calls, 55 bytes`); // nothing after 'done'
  }, 30000);

  test('without --pid it counts its own writes: every line it printed before', async () => {
    const run = startExample('minimal', ['--interval', '0.1', '--duration', '1'], cleanup);
    const { code, stdout, stderr } = await run.exited;
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const [first, ...counts] = stdout.trim().split('\n');
    expect(first).toBe(`counting write() calls of pid ${run.pid}; Ctrl-C to stop`);
    expect(counts.length).toBeGreaterThanOrEqual(2);
    counts.forEach((l, i) => {
      const m = line.exec(l)!;
      expect(Number(m[1])).toBe(run.pid);
      // The 'counting' line and the i lines before this one were written after attach.
      expect(Number(m[2])).toBeGreaterThanOrEqual(i + 1);
      expect(Number(m[3])).toBeGreaterThanOrEqual(stdout.split('\n').slice(0, i + 1).join('\n').length + 1);
    });
  }, 30000);
});
