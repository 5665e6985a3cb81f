// docs/getting-started.md, executed: every file it shows is written and every command it
// shows is run, in order, in an empty folder, with the package packed by `npm pack` (as
// test/package.test.ts does). One stand-in, because the package is not on a registry
// here: `npm install node-libbpf` installs the packed tarball (with its prebuilds, loaded
// as a user gets them).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');
const DOC = path.join(root, 'docs', 'getting-started.md');

interface Step { kind: 'file'; name: string; text: string } 
type Action = Step | { kind: 'sh'; line: string };

function steps(markdown: string): Action[] {
  const out: Action[] = [];
  for (const m of markdown.matchAll(/^```(\w+)([^\n]*)\n([\s\S]*?)^```$/gm)) {
    const [, lang, info, body] = m;
    const file = /file=(\S+)/.exec(info)?.[1];
    if (file) out.push({ kind: 'file', name: file, text: body });
    else if (lang === 'sh') for (const line of body.split('\n').filter((l) => l.trim())) out.push({ kind: 'sh', line });
  }
  return out;
}

describe('docs/getting-started.md', () => {
  let work: string;
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'nlb-start-'));
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test('an empty folder to a running typed agent, every command as written', () => {
    const actions = steps(fs.readFileSync(DOC, 'utf8'));
    expect(actions.filter((a) => a.kind === 'sh').length).toBeGreaterThanOrEqual(7);
    expect(actions.filter((a) => a.kind === 'file').map((a) => (a as Step).name)).toEqual(['hello.bpf.c', 'agent.ts']);

    const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop()!;
    const app = path.join(work, 'app');
    fs.mkdirSync(app);
    const env = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' };
    const outputs: string[] = [];
    for (const a of actions) {
      if (a.kind === 'file') {
        fs.writeFileSync(path.join(app, a.name), a.text);
        continue;
      }
      const line = a.line === 'npm install node-libbpf' ? `npm install --ignore-scripts ${path.join(work, tarball)}` : a.line;
      outputs.push(execFileSync('sh', ['-c', line], { cwd: app, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
    }
    // what the page says each step leaves behind
    expect(fs.readFileSync(path.join(app, 'vmlinux.h'), 'utf8')).toMatch(/struct task_struct \{/);
    expect(fs.existsSync(path.join(app, 'hello.bpf.o'))).toBe(true);
    const generated = fs.readFileSync(path.join(app, 'hello.ts'), 'utf8');
    expect(generated).toMatch(/export interface exec_event \{\s*pid: number;\s*comm: string;\s*\}/);
    expect(generated).toMatch(/counts: BpfMap<number, bigint>;/);
    const run = outputs[outputs.length - 1];
    // README's command-line section, in the same folder
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const cliBlock = /## The command line[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)![1];
    for (const line of cliBlock.split('\n').filter((l) => l.trim())) execFileSync('sh', ['-c', line], { cwd: app, env, stdio: 'pipe' });
    expect(JSON.parse(fs.readFileSync(path.join(app, 'doctor.json'), 'utf8')).kernel.release).toBe(os.release());
    expect(fs.statSync(path.join(app, 'hello.btf')).size).toBeLessThan(fs.statSync('/sys/kernel/btf/vmlinux').size / 100);
    expect(fs.statSync(path.join(app, 'events.btf')).size).toBeLessThan(1024); // struct exec_event and its members' types
    const seen = /^exec seen: true \(pid (\d+)\)$/m.exec(run);
    expect(seen).not.toBeNull();
    expect(run).toContain(`pid ${seen![1]}: 1 exec(s)`);
  }, 300000);
});
