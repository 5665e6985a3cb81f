// examples/usdt against the real kernel: the USDT probe nlbtest:add (STAP_PROBE3 in
// test/fixtures/uprobe_target.c, built with <sys/sdt.h>) fires once per call in the
// target, and the example prints each firing's three arguments.
import { cleanupAfterEach } from '../support/helpers';
import { startExample } from '../support/examples';
import { spawnTarget, targetBinary } from '../support/targets';

const cleanup = cleanupAfterEach();

describe('examples/usdt', () => {
  test("prints each firing of a target's probe with its arguments", async () => {
    const target = await spawnTarget(cleanup);
    const binary = targetBinary();
    const run = startExample('usdt', ['--binary', binary, '--provider', 'nlbtest', '--name', 'add', '--pid', String(target.pid)], cleanup);
    await run.waitFor((l) => l.startsWith('tracing'), 'the agent to start');
    expect(run.lines[0]).toBe(`tracing nlbtest:add in ${binary} (pid ${target.pid}); Ctrl-C to stop`);
    await target.send('call 2 3 4'); // nlb_target_add(3, 4) twice: the probe passes a, b, a + b
    await target.send('call 1 -5 2');
    await run.waitForLines((ls) => ls.length === 4, 'three firings');
    const { code, stdout, stderr } = await run.stop();
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const pid = String(target.pid).padStart(7);
    expect(stdout.trim().split('\n').slice(1)).toEqual([
      `uprobe_target    ${pid}  nlbtest:add(3, 4, 7)`,
      `uprobe_target    ${pid}  nlbtest:add(3, 4, 7)`,
      `uprobe_target    ${pid}  nlbtest:add(-5, 2, -3)`,
    ]);
  }, 60000);
});
