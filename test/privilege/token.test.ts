// BPF tokens (Linux 6.9+): BpfObject.open(path, { bpfToken }) and LIBBPF_BPF_TOKEN_PATH.
// A child in a user namespace this test creates (uid 0 inside = 65534 outside, so no
// capability in the initial namespace) loads through a bpffs the privileged parent
// configured with delegate_* options (test/privilege/token-helper.c, compiled here, the
// kernel selftests' recipe). Kernels before 6.9 refuse the delegated mount itself: the
// test asserts that refusal there.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BpfError, BpfObject } from 'node-libbpf';
import { fixture, root } from '../support/helpers';
import { kernelAtLeast } from '../support/kernel';
import { stagedPackage } from '../support/privilege';

const TOKENS = kernelAtLeast(6, 9);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nlb-token-'));
const helper = path.join(work, 'token-helper');
const mountpoint = path.join(work, 'bpffs');

beforeAll(() => {
  execFileSync('gcc', ['-O1', '-Wall', '-o', helper, path.join(root, 'test', 'privilege', 'token-helper.c')]);
  fs.mkdirSync(mountpoint);
  fs.chmodSync(work, 0o755);
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

interface Result {
  status: number | null;
  stderr: string;
  steps: Record<string, { ok: boolean; value?: unknown; code?: string; hint?: string; message?: string }>;
}

// Runs `body` (statements using step(), lib, fixture) in the user namespace, with the bpffs at `mountpoint`.
function inUserNamespace(delegate: 'all' | 'none', body: string, env: NodeJS.ProcessEnv = {}): Result {
  const pkg = stagedPackage(); // uid 65534 outside: the checkout may be out of its reach
  const code = `
    const lib = require(${JSON.stringify(pkg.dist)});
    const fixture = (name) => ${JSON.stringify(pkg.fixturePattern)}.replace('NAME', name);
    const out = {};
    async function step(name, fn) {
      try { out[name] = { ok: true, value: await fn() }; }
      catch (e) { out[name] = { ok: false, code: e.code, hint: e.hint, message: e.message }; }
    }
    (async () => { ${body} })().then(() => console.log(JSON.stringify(out)), (e) => { console.error(e); process.exit(3); });`;
  const r = spawnSync(helper, [mountpoint, delegate, process.execPath, '-e', code], {
    cwd: pkg.dir, encoding: 'utf8', timeout: 60000, killSignal: 'SIGKILL', env: { ...process.env, LIBBPF_BPF_TOKEN_PATH: undefined, ...env },
  });
  const last = r.stdout.trim().split('\n').pop();
  return { status: r.status, stderr: r.stderr, steps: r.status === 0 && last ? JSON.parse(last) : {} };
}

// A step `name`: open the basic fixture with `options`, load it, write and read a map.
const LOAD = (name: string, options = '') => `{
  const o = lib.BpfObject.open(fixture('basic')${options});
  await step('${name}', async () => { await o.load(); o.map('counts').set(7, 8n); return String(o.map('counts').get(7)); });
  o.close();
}`;

describe('bpfToken: validation', () => {
  test('a path, or false; anything else is a TypeError/RangeError', () => {
    expect(() => BpfObject.open(fixture('basic'), { bpfToken: 5 as any })).toThrow(new TypeError('options.bpfToken: expected a path to a bpffs mount, or false, got 5'));
    expect(() => BpfObject.open(fixture('basic'), { bpfToken: '' })).toThrow(TypeError);
    expect(() => BpfObject.open(fixture('basic'), { bpfToken: true as any })).toThrow(TypeError);
    expect(() => BpfObject.open(fixture('basic'), { bpfToken: 'a\0b' })).toThrow(RangeError);
    expect(() => BpfObject.open(fixture('basic'), { bpfToken: fixture('basic') })).toThrow(/options\.bpfToken: expected a directory \(a bpffs mount\)/);
    BpfObject.open(fixture('basic'), { bpfToken: false }).close();
  });

  test('in the initial user namespace the kernel refuses a token, and load() says what a token needs', async () => {
    const obj = BpfObject.open(fixture('basic'), { bpfToken: '/sys/fs/bpf' });
    try {
      const e = await obj.load().then(() => undefined, (err: unknown) => err);
      expect(e).toBeInstanceOf(BpfError);
      // 6.9+: no token in the initial namespace (EOPNOTSUPP); before: no BPF_TOKEN_CREATE (EINVAL).
      expect((e as BpfError).code).toBe(TOKENS ? 'EOPNOTSUPP' : 'EINVAL');
      expect((e as BpfError).hint).toMatch(/^options\.bpfToken \(or LIBBPF_BPF_TOKEN_PATH\) must name the root of a bpffs mounted with delegate_cmds/);
    } finally {
      obj.close();
    }
  });
});

describe('a delegated bpffs in a user namespace', () => {
  if (!TOKENS) {
    test('this kernel (before 6.9) refuses: the user-namespace bpffs, or else the token', () => {
      const r = inUserNamespace('all', LOAD('token', `, { bpfToken: ${JSON.stringify(mountpoint)} }`));
      if (r.status === 90) {
        // 6.1: bpffs ignores options it does not know (delegate_*) and refuses a superblock
        // for a user namespace at FSCONFIG_CMD_CREATE (or, elsewhere, at fsopen()).
        expect(r.stderr).toMatch(/token-helper: (fsopen\(bpf\) in the user namespace: EPERM|fsconfig\(CREATE\): EPERM)/);
        return;
      }
      // 5.10 makes the mount (without delegation), then has no BPF_TOKEN_CREATE: EINVAL,
      // or EPERM where kernel.unprivileged_bpf_disabled refuses every bpf() command up front.
      expect([r.status, r.stderr]).toEqual([0, '']);
      const unprivilegedOff = Number(fs.readFileSync('/proc/sys/kernel/unprivileged_bpf_disabled', 'utf8')) !== 0;
      expect(r.steps.token).toMatchObject({ ok: false, code: unprivilegedOff ? 'EPERM' : 'EINVAL' });
      expect(r.steps.token.hint).toMatch(/BPF tokens need Linux 6\.9\+/);
    });
    return;
  }

  test('with bpfToken the child loads and uses maps; without it the kernel refuses and the hint says why', () => {
    const r = inUserNamespace('all', `
      await step('uid', () => process.getuid());
      ${LOAD('token', `, { bpfToken: ${JSON.stringify(mountpoint)} }`)}
      ${LOAD('none')}
    `);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.steps.uid).toEqual({ ok: true, value: 0 });
    expect(r.steps.token).toEqual({ ok: true, value: '8' });
    expect(r.steps.none).toMatchObject({ ok: false, code: 'EPERM' });
    expect(r.steps.none.hint).toMatch(/^this process is in a user namespace, where its capabilities do not count for BPF.*bpfToken/);
  });

  test('LIBBPF_BPF_TOKEN_PATH works without the option; bpfToken: false turns it off', () => {
    const r = inUserNamespace('all', `${LOAD('env')}${LOAD('off', ', { bpfToken: false }')}`, { LIBBPF_BPF_TOKEN_PATH: mountpoint });
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.steps.env).toEqual({ ok: true, value: '8' });
    expect(r.steps.off).toMatchObject({ ok: false, code: 'EPERM' });
  });

  test('a bpffs without delegate_* options gives no token (ENOENT), and the hint says what it needs', () => {
    const r = inUserNamespace('none', LOAD('load', `, { bpfToken: ${JSON.stringify(mountpoint)} }`));
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.steps.load).toMatchObject({ ok: false, code: 'ENOENT' });
    expect(r.steps.load.hint).toMatch(/delegate_cmds\/delegate_maps\/delegate_progs\/delegate_attachs/);
  });
});
