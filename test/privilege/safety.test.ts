// Two guarantees of the README's "Safety" section: the library never runs a shell, and it
// creates nothing world-writable, even under umask 0 (pins and the directories libbpf
// makes for them).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BpfMap, BpfObject } from 'node-libbpf';
import { bpffsPath, fixture, removeBpffs, root } from '../support/helpers';

function sources(dir: string, ext: RegExp): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => ext.test(f)).map((f) => path.join(dir, f));
}

describe('no shell', () => {
  test('the TypeScript runs programs only with execFile/spawn (no shell), never with shell: true', () => {
    const files = sources(path.join(root, 'src', 'ts'), /\.ts$/);
    const users: string[] = [];
    for (const f of files) {
      const text = fs.readFileSync(f, 'utf8');
      const imported = /import \{([^}]*)\} from 'node:child_process'/.exec(text);
      if (!imported) {
        expect([f, /child_process/.test(text)]).toEqual([f, false]);
        continue;
      }
      users.push(path.relative(root, f));
      for (const name of imported[1].split(',').map((s) => s.trim()).filter(Boolean)) {
        expect([f, name]).toEqual([f, expect.stringMatching(/^(execFile|execFileSync|spawn|spawnSync)$/)]);
      }
      expect([f, /\bshell\s*:/.test(text)]).toEqual([f, false]);
    }
    expect(users.length).toBeGreaterThan(0); // the check saw the files that do run programs
  });

  test('the addon never calls system(), popen() or exec*()', () => {
    for (const f of sources(path.join(root, 'src', 'native'), /\.(cc|c|h)$/)) {
      expect([f, /\b(system|popen|execv|execvp|execl|execlp)\s*\(/.test(fs.readFileSync(f, 'utf8'))]).toEqual([f, false]);
    }
  });
});

describe('nothing world-writable, even under umask 0', () => {
  let umask: number;
  beforeAll(() => {
    umask = process.umask(0);
  });
  afterAll(() => {
    process.umask(umask);
  });

  test('pins and the directories libbpf makes for them', async () => {
    const dir = bpffsPath('safety');
    const obj = BpfObject.open(fixture('basic'));
    const m = BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 });
    try {
      await obj.load();
      obj.map('counts').pin(`${dir}/counts`); // libbpf makes dir
      obj.program('raw_any').pin(`${dir}/prog`);
      const link = obj.program('raw_any').attachRawTracepoint('sys_enter');
      link.pin(`${dir}/link`);
      m.pin(`${dir}/standalone`);
      const made = [dir, ...fs.readdirSync(dir).map((n) => `${dir}/${n}`)];
      expect(made).toHaveLength(5);
      for (const p of made) expect([p, (fs.statSync(p).mode & 0o002).toString(8)]).toEqual([p, '0']);
      link.unpin();
    } finally {
      m.close();
      obj.close();
      removeBpffs(dir);
    }
  });

});
