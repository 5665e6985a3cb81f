// obj.upgrade(next): the next version takes over the running one's maps (state kept), its
// links (swapped in place where the kernel can, else attached then detached) and its ring
// buffer consumers; a next version that fails leaves the running one untouched.
// Fixtures: test/fixtures/upgrade_v1.bpf.c (and the variants that include it).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import { BpfObject, RingBuffer, VerifierError, type RawEvent } from '../../src/ts/index';
import { expectRejects, fixture, loadFixture } from '../support/helpers';
import { makeCgroup } from '../support/net';

/** A python child that makes `n` getpgid() calls for each line "n" it reads, then prints "ok". */
class Caller {
  readonly child: ChildProcessWithoutNullStreams;
  #waiting: (() => void)[] = [];
  constructor() {
    const script = 'import os, sys\nfor line in sys.stdin:\n    for _ in range(int(line)): os.getpgid(0)\n    print("ok", flush=True)\n';
    this.child = spawn('python3', ['-c', script]);
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (d: string) => {
      for (const _ of d.split('\n').filter(Boolean)) this.#waiting.shift()?.();
    });
  }
  get pid(): number {
    return this.child.pid!;
  }
  call(n: number): Promise<void> {
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.child.stdin.write(`${n}\n`);
    });
  }
  end(): void {
    this.child.stdin.end();
  }
}

function counts(obj: BpfObject): bigint[] {
  return [0, 1, 2, 3].map((i) => obj.map('counts').get(i) as bigint);
}

async function running(): Promise<{ obj: BpfObject; caller: Caller }> {
  const obj = await loadFixture('upgrade_v1');
  const caller = new Caller();
  obj.map('target').set(0, caller.pid);
  obj.attach();
  return { obj, caller };
}

test('a counter keeps counting across 100 upgrades, with no lost increments', async () => {
  const { obj, caller } = await running();
  try {
    let made = 0;
    for (let i = 0; i < 100; i++) {
      const n = 1 + (i % 7);
      await caller.call(n);
      made += n;
      const result = await obj.upgrade(fixture(i % 2 ? 'upgrade_v1' : 'upgrade_v2'));
      expect(result.reused).toEqual(expect.arrayContaining(['target', 'counts', 'events']));
      expect(result.replaced.filter((r) => !r.name.includes('.rodata'))).toEqual([]);
      expect(result.links).toEqual({ updated: 0, reattached: 1, ended: 0 }); // a tracepoint cannot be updated in place
    }
    await caller.call(5);
    made += 5;
    const [total, v1, v2] = counts(obj);
    expect(total).toBe(BigInt(made));
    expect(v1 + v2).toBe(BigInt(made)); // each call seen by exactly one version
    expect(v1).toBeGreaterThan(0n);
    expect(v2).toBeGreaterThan(0n);
  } finally {
    caller.end();
  }
});

test('obj is the next version afterwards: new programs, maps and globals; old Program handles are closed', async () => {
  const { obj, caller } = await running();
  try {
    const oldProgram = obj.program('on_getpgid');
    const oldId = oldProgram.info().id;
    await obj.upgrade(fixture('upgrade_v2'));
    const newId = obj.program('on_getpgid').info().id;
    expect(newId).not.toBe(oldId);
    expect(() => oldProgram.info()).toThrow(TypeError);
    const before = counts(obj);
    await caller.call(3);
    const after = counts(obj);
    expect(after[2] - before[2]).toBe(3n); // v2 counted them
    expect(after[1]).toBe(before[1]);
  } finally {
    caller.end();
  }
});

test('a ring buffer consumer keeps reading across upgrades with no gap in sequence numbers', async () => {
  const obj = await loadFixture('upgrade_v1');
  const seen: { seq: bigint; version: number }[] = [];
  const ring = new RingBuffer<RawEvent>(obj.map('events'), (e) => {
    seen.push({ seq: e.view.getBigUint64(e.offset, true), version: e.view.getUint32(e.offset + 8, true) });
  }, { raw: true });
  const n = 3000;
  const script = `import os, sys, time\nsys.stdin.readline()\nfor i in range(${n}):\n    os.getpgid(0)\n    if i == 10: print('firing', flush=True)\n    time.sleep(0.0003)\n`;
  const child = spawn('python3', ['-c', script]);
  let alive = true;
  const exited = new Promise<void>((resolve) => child.on('exit', () => { alive = false; resolve(); }));
  const firing = new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  try {
    obj.map('target').set(0, child.pid!);
    obj.attach();
    child.stdin.write('go\n');
    await firing;
    // Upgrade back and forth for as long as the child keeps firing (at least twice).
    let upgrades = 0;
    while (alive || upgrades < 2) await obj.upgrade(fixture(upgrades++ % 2 ? 'upgrade_v1' : 'upgrade_v2'));
    await exited;
    ring.consume();
    expect(ring.closed).toBe(false);
    const seqs = seen.map((s) => s.seq).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(seqs.length).toBe(Number(counts(obj)[0]));
    seqs.forEach((s, i) => expect(s).toBe(BigInt(i))); // no gap, no duplicate
    expect(seqs.length).toBeGreaterThanOrEqual(n);
    expect(new Set(seen.map((s) => s.version))).toEqual(new Set([1, 2]));
  } finally {
    child.kill();
    ring.close();
  }
});

test('a next version the verifier rejects leaves the running one running and counting', async () => {
  const { obj, caller } = await running();
  try {
    const id = obj.program('on_getpgid').info().id;
    const rejection = await obj.upgrade(fixture('upgrade_reject')).catch((x: unknown) => x);
    expect(rejection).toBeInstanceOf(VerifierError);
    expect((rejection as VerifierError).message).toMatch(/on_getpgid/);
    expect(obj.program('on_getpgid').info().id).toBe(id);
    await caller.call(4);
    expect(counts(obj)[0]).toBe(4n);
    expect(counts(obj)[1]).toBe(4n);
    // A file that is no BPF object fails to open: the same.
    await expectRejects(obj.upgrade(Buffer.from('not an ELF file')), 'BpfError');
    await caller.call(1);
    expect(counts(obj)[0]).toBe(5n);
  } finally {
    caller.end();
  }
});

test('a map whose shape changed is reported, and refused when asked', async () => {
  const { obj, caller } = await running();
  try {
    await caller.call(2);
    const id = obj.program('on_getpgid').info().id;
    await expectRejects(obj.upgrade(fixture('upgrade_reshaped'), { onMapChange: 'refuse' }), 'RangeError', /counts: max entries 4 -> 8/);
    expect(obj.program('on_getpgid').info().id).toBe(id); // untouched
    expect(counts(obj)[0]).toBe(2n);
    const result = await obj.upgrade(fixture('upgrade_reshaped'));
    expect(result.replaced).toContainEqual({ name: 'counts', reason: 'max entries 4 -> 8' });
    expect(result.reused).toEqual(expect.arrayContaining(['target', 'events']));
    expect(result.reused).not.toContain('counts');
    expect(obj.map('counts').maxEntries).toBe(8);
    expect(obj.map('counts').get(0)).toBe(0n); // a new map: the old state is not carried over silently
    await caller.call(3);
    expect(obj.map('counts').get(0)).toBe(3n); // `target` was kept: the new program still watches the caller
  } finally {
    caller.end();
  }
});

test('a cgroup link is swapped in place (BPF_LINK_UPDATE): same link, new program', async () => {
  const obj = await loadFixture('upgrade_v1');
  const cg = makeCgroup();
  try {
    const link = obj.program('on_sock_create').attachCgroup(cg.path);
    const before = link.info();
    const result = await obj.upgrade(fixture('upgrade_v2'));
    expect(result.links).toEqual({ updated: 1, reattached: 0, ended: 0 });
    const after = link.info();
    expect(after.id).toBe(before.id);
    expect(after.programId).toBe(obj.program('on_sock_create').info().id);
    expect(after.programId).not.toBe(before.programId);
    link.destroy();
    expect(link.destroyed).toBe(true);
  } finally {
    obj.close();
    cg.remove();
  }
});

test('bad arguments and states', async () => {
  const opened = BpfObject.open(fixture('upgrade_v1'));
  try {
    await expectRejects(opened.upgrade(fixture('upgrade_v2')), 'TypeError', 'BpfObject is not loaded');
  } finally {
    opened.close();
  }
  const obj = await loadFixture('upgrade_v1');
  await expectRejects(obj.upgrade(42 as never), 'TypeError');
  await expectRejects(obj.upgrade(fixture('upgrade_v2'), { onMapChange: 'maybe' as never }), 'RangeError');
  expect(fs.existsSync(fixture('upgrade_v2'))).toBe(true);
});
