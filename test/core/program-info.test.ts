// Program.info() against what the kernel shows elsewhere (fdinfo, the maps' own ids,
// /proc/uptime), and enableStats(): run counts move only while statistics are on.
import * as fs from 'node:fs';
import { BpfObject, enableStats, Program, StatsHandle } from 'node-libbpf';
import { cleanupAfterEach, expectThrows, fdInfo, fixture, loadFixture, triggerGetpgid } from '../support/helpers';

const STATS = fixture('proginfo_stats');
const cleanup = cleanupAfterEach();

/** Nanoseconds since boot, from /proc/uptime (10 ms resolution). */
const uptimeNs = (): bigint => BigInt(Math.round(Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1000)) * 1_000_000n;

/** How many runs of `prog` the kernel counted for `n` getpgid() calls of a fresh child. */
async function runsCounted(prog: Program, n: number): Promise<bigint> {
  const before = prog.info().runCount;
  await triggerGetpgid(n);
  return prog.info().runCount - before;
}

describe('Program.info()', () => {
  test('what the kernel keeps about a loaded program', async () => {
    const before = uptimeNs();
    const obj = await loadFixture(STATS);
    const after = uptimeNs();
    const prog = obj.program('info_count_getpgid_calls');
    const info = prog.info();
    const fdinfo = fdInfo(prog.fd);
    expect(String(info.id)).toBe(fdinfo.prog_id);
    expect(info.tag).toBe(fdinfo.prog_tag);
    expect(info.tag).toMatch(/^[0-9a-f]{16}$/);
    expect(String(info.verifiedInstructions)).toBe(fdinfo.verified_insns);
    expect(info.name).toBe('info_count_getp'); // the kernel keeps 15 characters
    expect(info.type).toBe('tracepoint');
    expect(info.mapIds.sort()).toEqual([obj.map('info_counts').info().id, obj.map('info_total').info().id].sort());
    expect(info.xlatedSize % 8).toBe(0); // whole instructions, as the verifier rewrote them
    expect(info.xlatedSize).toBeGreaterThan(0);
    expect(info.jitedSize).toBeGreaterThan(0);
    expect(info.btfId).toBeGreaterThan(0);
    expect(info.gplCompatible).toBe(true);
    expect(info.createdByUid).toBe(process.getuid!());
    expect(info.loadTime).toBeGreaterThanOrEqual(before - 20_000_000n);
    expect(info.loadTime).toBeLessThanOrEqual(after + 20_000_000n);
    expect(info.functionCount).toBe(1);
    // Two programs of one object: distinct ids and tags, the same BTF.
    const idle = obj.program('info_idle').info();
    expect(idle.id).not.toBe(info.id);
    expect(idle.tag).not.toBe(info.tag);
    expect(idle.btfId).toBe(info.btfId);
    expect(idle.mapIds).toEqual([]);
    expect(idle.type).toBe('raw_tracepoint');
  });

  test('not loaded, closed, autoload off -> the fixed TypeErrors', async () => {
    const obj = BpfObject.open(STATS);
    cleanup(() => obj.close());
    expectThrows(() => obj.program('info_idle').info(), 'TypeError', 'BpfObject is not loaded');
    obj.program('info_idle').autoload = false;
    await obj.load();
    expectThrows(() => obj.program('info_idle').info(), 'TypeError', 'Program is not loaded (its autoload was off)');
    const prog = obj.program('info_count_getpgid_calls');
    obj.close();
    expectThrows(() => prog.info(), 'TypeError', 'BpfObject is closed');
  });
});

describe('enableStats()', () => {
  test('runCount and runTimeNs grow only while statistics are on', async () => {
    const obj = await loadFixture(STATS);
    obj.attach();
    const prog = obj.program('info_count_getpgid_calls');
    await triggerGetpgid(3);
    expect(obj.map('info_total').get(0)).toBeGreaterThanOrEqual(3n); // it ran...
    expect(prog.info().runCount).toBe(0n); // ...uncounted
    expect(prog.info().runTimeNs).toBe(0n);

    let counted: bigint;
    {
      using stats = enableStats();
      expect(stats).toBeInstanceOf(StatsHandle);
      expect(stats.closed).toBe(false);
      await triggerGetpgid(5);
      counted = prog.info().runCount;
      expect(counted).toBeGreaterThanOrEqual(5n); // other processes' getpgid() run it too
      expect(prog.info().runTimeNs).toBeGreaterThan(0n);
      expect(obj.program('info_idle').info().runCount).toBe(0n); // never attached
    }
    await triggerGetpgid(3);
    expect(prog.info().runCount).toBe(counted);
  });

  test('close() is idempotent; Program.enableStats is the same; statistics stay on while any handle is open', async () => {
    const obj = await loadFixture(STATS);
    obj.attach();
    const prog = obj.program('info_count_getpgid_calls');
    const a = enableStats();
    const b = Program.enableStats();
    cleanup(() => {
      a.close();
      b.close();
    });
    expect(await runsCounted(prog, 2)).toBeGreaterThanOrEqual(2n);
    a.close();
    expect(a.closed).toBe(true);
    expect(await runsCounted(prog, 2)).toBeGreaterThanOrEqual(2n); // b still holds them on
    a.close();
    b[Symbol.dispose]();
    expect(b.closed).toBe(true);
    expect(await runsCounted(prog, 2)).toBe(0n);
    expectThrows(() => new (StatsHandle as any)(Symbol('x'), 1), 'TypeError', 'Illegal constructor: StatsHandle is created by the library');
  });
});
