// Link: destroy, disconnect, pin/unpin, ownership by the object, and that GC never
// detaches. Counting happens in the kernel, so "attached" is observed, not assumed.
import * as fs from 'node:fs';
import { BpfError, BpfObject, Link } from 'node-libbpf';
import {
  bpffsPath,
  expectThrows,
  fdInfo,
  fixture,
  gcAndSettle,
  loadFixture,
  openFixture,
  removeBpffs,
  triggerGetpgid,
} from '../support/helpers';
import { kernelAtLeast } from '../support/kernel';

const BASIC = fixture('basic');
// Before 5.15 a tracepoint attachment is a perf event with the program set on it
// (PERF_EVENT_IOC_SET_BPF), not a BPF link: no link_type in its fdinfo, and no pinning.
const PERF_LINKS = kernelAtLeast(5, 15);
/** A test that exists where tracepoint attachments are BPF links (the refusal is tested below 5.15). */
const perfLinkTest = PERF_LINKS ? test : ((() => undefined) as unknown as typeof test);
const PINNED = fixture('core_pinned');

const pins: string[] = [];
afterEach(() => {
  for (const p of pins.splice(0)) removeBpffs(p);
});

/** How many getpgid() calls of a fresh child the object's program counted. */
async function counted(obj: BpfObject, n = 2, map = 'counts'): Promise<bigint> {
  const pid = await triggerGetpgid(n);
  return (obj.map(map).get(pid) as bigint | undefined) ?? 0n;
}

/** A bpffs directory used as pinRoot for core_pinned.bpf.o (its map is pinned by name there). */
function pinRoot(label: string): string {
  const dir = bpffsPath(label);
  fs.mkdirSync(dir);
  pins.push(dir);
  return dir;
}

describe('Link', () => {
  test('attach returns a Link with a link fd', async () => {
    const obj = await loadFixture(BASIC);
    const link = obj.program('count_getpgid').attach();
    expect(link).toBeInstanceOf(Link);
    expect(link.destroyed).toBe(false);
    expect(link.pinPath).toBeUndefined();
    expect(link.fd).toBeGreaterThan(0);
    expect(fdInfo(link.fd).link_type).toBe(PERF_LINKS ? 'perf' : undefined);
    expect(await counted(obj, 3)).toBe(3n);
  });

  test('destroy() detaches; it is idempotent', async () => {
    const obj = await loadFixture(BASIC);
    const link = obj.program('count_getpgid').attach();
    expect(await counted(obj, 2)).toBe(2n);
    link.destroy();
    expect(link.destroyed).toBe(true);
    expect(await counted(obj, 2)).toBe(0n);
    const calls = obj.globals.calls;
    link.destroy();
    link.destroy();
    expect(link.destroyed).toBe(true);
    await triggerGetpgid(2);
    expect(obj.globals.calls).toBe(calls);
  });

  test('methods after destroy -> TypeError "Link is destroyed"', async () => {
    const obj = await loadFixture(BASIC);
    const link = obj.program('raw_any').attachRawTracepoint('sys_enter');
    link.destroy();
    const destroyed = 'Link is destroyed';
    expectThrows(() => link.fd, 'TypeError', destroyed);
    expectThrows(() => link.pin(bpffsPath('destroyed')), 'TypeError', destroyed);
    expectThrows(() => link.unpin(), 'TypeError', destroyed);
    expectThrows(() => link.disconnect(), 'TypeError', destroyed);
    expectThrows(() => link.pinPath, 'TypeError', destroyed);
    expect(link.destroyed).toBe(true);
  });

  test('obj.close() destroys the object\'s links', async () => {
    const obj = await loadFixture(BASIC);
    const a = obj.program('count_getpgid').attach();
    const b = obj.program('raw_any').attachRawTracepoint('sys_enter');
    const c = obj.program('raw_any').attachRawTracepoint('sys_exit');
    const destroyedBefore = a.destroyed || b.destroyed || c.destroyed;
    expect(destroyedBefore).toBe(false);
    const fd = b.fd;
    const linkId = fdInfo(fd).link_id;
    obj.close();
    for (const l of [a, b, c]) expect(l.destroyed).toBe(true);
    // The link fd is closed (or the number reused by something else).
    if (fs.existsSync(`/proc/self/fdinfo/${fd}`)) expect(fdInfo(fd).link_id).not.toBe(linkId);
  });

  test('a link destroyed before close is not destroyed twice', async () => {
    const obj = await loadFixture(BASIC);
    const a = obj.program('count_getpgid').attach();
    a.destroy();
    const b = obj.program('count_getpgid').attach();
    obj.close();
    expect(a.destroyed).toBe(true);
    expect(b.destroyed).toBe(true);
  });

  test('[Symbol.dispose] destroys, and `using` does at block end', async () => {
    const obj = await loadFixture(BASIC);
    const link = obj.program('count_getpgid').attach();
    link[Symbol.dispose]();
    expect(link.destroyed).toBe(true);
    let kept: Link;
    {
      using l = obj.program('count_getpgid').attach();
      kept = l;
      expect(await counted(obj, 1)).toBe(1n);
    }
    expect(kept.destroyed).toBe(true);
    expect(await counted(obj, 1)).toBe(0n);
  });
});

describe('disconnect', () => {
  test('after disconnect(), destroy() does not detach (the program keeps counting)', async () => {
    const obj = await loadFixture(BASIC);
    const link = obj.program('count_getpgid').attach();
    const fd = link.fd;
    link.disconnect();
    link.destroy();
    expect(link.destroyed).toBe(true);
    try {
      expect(await counted(obj, 3)).toBe(3n);
    } finally {
      // The attachment is ours to end now: closing the link fd detaches.
      fs.closeSync(fd);
    }
    expect(await counted(obj, 3)).toBe(0n);
  });

  test('a disconnected link stays attached after obj.close() (seen through a map pinned by name)', async () => {
    const root = pinRoot('disconnect');
    const first = await loadFixture(PINNED, { pinRoot: root });
    expect(first.map('pinned_counts').pinPath).toBe(`${root}/pinned_counts`);
    const link = first.program('count_pinned').attach();
    const fd = link.fd;
    link.disconnect();
    first.close();
    expect(link.destroyed).toBe(true);
    try {
      const second = await loadFixture(PINNED, { pinRoot: root }); // reuses the pinned map
      expect(await counted(second, 4, 'pinned_counts')).toBe(4n); // counted by the first object's program
    } finally {
      fs.closeSync(fd);
    }
  });
});

describe('pin', () => {
  if (!PERF_LINKS) {
    test('before 5.15: pinning a tracepoint attachment (a perf event) -> BpfError EINVAL', async () => {
      const obj = await loadFixture(BASIC);
      const link = obj.program('count_getpgid').attach();
      const p = bpffsPath('perf_link');
      pins.push(p);
      const e = (() => {
        try {
          link.pin(p);
        } catch (err) {
          return err as BpfError;
        }
        throw new Error('pin() did not throw');
      })();
      expect(e).toBeInstanceOf(BpfError);
      expect([e.code, e.syscall]).toEqual(['EINVAL', 'bpf_link__pin']);
      expect(e.hint).toMatch(/before Linux 5\.15/);
      expect(fs.existsSync(p)).toBe(false);
      expect(link.pinPath).toBeUndefined();
      expect(await counted(obj, 1)).toBe(1n); // still attached
    });
  }

  perfLinkTest('pin(path) creates the bpffs file and sets pinPath; unpin() removes both', async () => {
    const obj = await loadFixture(BASIC);
    const link = obj.program('count_getpgid').attach();
    const p = bpffsPath('link');
    pins.push(p);
    link.pin(p);
    expect(fs.existsSync(p)).toBe(true);
    expect(link.pinPath).toBe(p);
    link.unpin();
    expect(fs.existsSync(p)).toBe(false);
    expect(link.pinPath).toBeUndefined();
    expect(await counted(obj, 1)).toBe(1n); // unpinning does not detach
    link.destroy();
    expect(await counted(obj, 1)).toBe(0n);
  });

  perfLinkTest('a pinned link survives obj.close(); removing the pin detaches', async () => {
    const root = pinRoot('pinned_link');
    const first = await loadFixture(PINNED, { pinRoot: root });
    const link = first.program('count_pinned').attach();
    const p = `${root}/link`;
    link.pin(p);
    first.close();
    expect(link.destroyed).toBe(true);
    expect(fs.existsSync(p)).toBe(true);

    const second = await loadFixture(PINNED, { pinRoot: root });
    expect(await counted(second, 3, 'pinned_counts')).toBe(3n); // still attached
    fs.unlinkSync(p); // the last reference: detaches
    expect(await counted(second, 3, 'pinned_counts')).toBe(0n);
  });

  test('pin errors: outside bpffs, existing path, bad argument', async () => {
    const obj = await loadFixture(BASIC);
    const link = obj.program('raw_any').attachRawTracepoint('sys_enter');
    const e = (() => {
      try {
        link.pin('/tmp/nlb_link_not_bpffs');
      } catch (err) {
        return err as BpfError;
      }
      throw new Error('pin outside bpffs succeeded');
    })();
    expect(e).toBeInstanceOf(BpfError);
    expect(e.syscall).toBe('bpf_link__pin');
    expect(e.code).toBe('EINVAL');
    const p = bpffsPath('link_taken');
    pins.push(p);
    fs.mkdirSync(p);
    expect(() => link.pin(p)).toThrow(BpfError);
    expectThrows(() => link.pin(3 as any), 'TypeError', 'path: expected a non-empty string, got 3');
    expect(link.pinPath).toBeUndefined();
  });

  test('unpin() of a link that is not pinned -> BpfError', async () => {
    const obj = await loadFixture(BASIC);
    const link = obj.program('raw_any').attachRawTracepoint('sys_enter');
    expect(() => link.unpin()).toThrow(BpfError);
  });
});

describe('garbage collection', () => {
  test('GC never detaches an attached link whose JS object is unreachable', async () => {
    const obj = await loadFixture(BASIC);
    (() => {
      obj.program('count_getpgid').attach(); // the Link is dropped at once
    })();
    for (let i = 0; i < 3; i++) await gcAndSettle();
    expect(await counted(obj, 3)).toBe(3n);
    for (let i = 0; i < 3; i++) await gcAndSettle();
    expect(await counted(obj, 2)).toBe(2n);
  });

  test('GC never detaches: seen from a second object after the first one is dropped unclosed', async () => {
    // The first object is unreachable but never closed: GC may free it only if it
    // leaves the attachment alone... or the object (holding its links) stays alive.
    const root = pinRoot('gc');
    const ref = await (async () => {
      const first = BpfObject.open(PINNED, { pinRoot: root });
      await first.load();
      first.program('count_pinned').attach();
      return new WeakRef(first);
    })();
    try {
      for (let i = 0; i < 3; i++) await gcAndSettle();
      const second = await loadFixture(PINNED, { pinRoot: root });
      expect(await counted(second, 2, 'pinned_counts')).toBe(2n);
    } finally {
      ref.deref()?.close(); // still alive (as it should be): end the attachment
    }
  });

  test('GC of the link and its program view does not detach either', async () => {
    const obj = await loadFixture(BASIC);
    (() => {
      obj.program('count_getpgid').attachTracepoint('syscalls', 'sys_enter_getpgid');
      obj.program('raw_any').attachRawTracepoint('sys_enter');
    })();
    for (let i = 0; i < 3; i++) await gcAndSettle();
    expect(await counted(obj, 2)).toBe(2n);
    expect(obj.globals.calls).toBeGreaterThanOrEqual(2n);
  });
});
