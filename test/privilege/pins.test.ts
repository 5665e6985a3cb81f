// Pins live on bpffs: a pin elsewhere gets a hint saying where the path is (its statfs
// type), not lockdown or an LSM; unpin() never unlinks a file that is not on bpffs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BpfError, BpfMap, BpfObject } from 'node-libbpf';
import { bpffsPath, fixture, removeBpffs } from '../support/helpers';

const tmp = (label: string): string => path.join(os.tmpdir(), `nlb-pin-${process.pid}-${label}`);
const NOT_BPFFS = new RegExp(`^'${os.tmpdir()}' is not on a BPF filesystem \\(statfs type 0x[0-9a-f]+, bpffs is 0xcafe4a11\\): pins live on a bpffs mount`);

function caught(fn: () => unknown): BpfError {
  try {
    fn();
  } catch (e) {
    if (e instanceof BpfError) return e;
    throw e;
  }
  throw new Error('expected a BpfError');
}

describe('a pin outside bpffs', () => {
  test('standalone map (the kernel refuses bpf_obj_pin with EPERM): the hint names the file system, not lockdown', () => {
    const m = BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 });
    try {
      const e = caught(() => m.pin(tmp('map')));
      expect([e.code, e.syscall]).toEqual(['EPERM', 'bpf_obj_pin']);
      expect(e.hint).toMatch(NOT_BPFFS);
      expect(e.hint).not.toMatch(/lockdown|LSM|seccomp/);
      expect(fs.existsSync(tmp('map'))).toBe(false);
    } finally {
      m.close();
    }
  });

  test("an object's map and program (libbpf refuses with EINVAL): the same hint", async () => {
    const obj = BpfObject.open(fixture('basic'));
    try {
      await obj.load();
      const mapError = caught(() => obj.map('counts').pin(tmp('objmap')));
      expect([mapError.code, mapError.hint]).toEqual(['EINVAL', expect.stringMatching(NOT_BPFFS)]);
      const progError = caught(() => obj.program('raw_any').pin(tmp('prog')));
      expect([progError.code, progError.hint]).toEqual(['EINVAL', expect.stringMatching(NOT_BPFFS)]);
      const link = obj.program('raw_any').attachRawTracepoint('sys_enter');
      const linkError = caught(() => link.pin(tmp('link')));
      expect([linkError.code, linkError.hint]).toEqual(['EINVAL', expect.stringMatching(NOT_BPFFS)]);
    } finally {
      obj.close();
    }
  });

  test('pinRoot outside bpffs: load() fails with the same hint', async () => {
    const obj = BpfObject.open(fixture('maptypes_pinned'), { pinRoot: os.tmpdir() });
    try {
      const e = await obj.load().then(() => undefined, (err: unknown) => err);
      expect(e).toBeInstanceOf(BpfError);
      expect((e as BpfError).hint).toMatch(NOT_BPFFS);
    } finally {
      obj.close();
    }
  });
});

describe('unpin() only removes pins', () => {
  test('a standalone map refuses a path that is not on bpffs and unlinks nothing', () => {
    const victim = tmp('victim');
    fs.writeFileSync(victim, 'precious');
    const m = BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 });
    try {
      const e = caught(() => m.unpin(victim));
      expect([e.code, e.syscall]).toEqual(['EINVAL', 'unlink']);
      expect(e.message).toContain(`'${victim}' is not a pin: its directory is not on a BPF filesystem; nothing was unlinked`);
      expect(e.hint).toMatch(NOT_BPFFS);
      expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
    } finally {
      m.close();
      fs.rmSync(victim, { force: true });
    }
  });

  test("an object's map refuses it too, and a real pin still unpins", async () => {
    const victim = tmp('victim2');
    fs.writeFileSync(victim, 'precious');
    const obj = BpfObject.open(fixture('basic'));
    const pin = bpffsPath('unpin');
    try {
      await obj.load();
      expect(caught(() => obj.map('counts').unpin(victim)).code).toBe('EINVAL');
      expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
      obj.map('counts').pin(pin);
      obj.map('counts').unpin(pin);
      expect(fs.existsSync(pin)).toBe(false);
      const m = BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 });
      m.pin(pin);
      m.unpin();
      m.close();
      expect(fs.existsSync(pin)).toBe(false);
    } finally {
      obj.close();
      removeBpffs(pin);
      fs.rmSync(victim, { force: true });
    }
  });
});
