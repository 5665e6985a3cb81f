// deploy/: the example agent's (examples/agent) Dockerfile and its Kubernetes DaemonSet,
// read and checked against what `node-libbpf doctor` says an agent needs
// (AGENT_REQUIREMENTS): every host path mounted at the same place, every capability added,
// hostPID, and nothing more (not privileged, no other host path); and against the files
// and flags they name (what they copy exists once built, the flags are the agent's). No
// image registry and no container runtime here: the image is never built by the tests;
// what it holds is what test/package/rootfs-smoke.test.ts runs in a slim root.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AGENT_REQUIREMENTS } from 'node-libbpf/toolchain';
import { parseYaml } from '../support/yaml';

const root = path.join(__dirname, '..', '..');
const read = (f: string): string => fs.readFileSync(path.join(root, f), 'utf8');

interface Container {
  image: string;
  args: string[];
  ports: { name: string; containerPort: number }[];
  securityContext: { privileged: boolean; allowPrivilegeEscalation: boolean; capabilities: { add: string[]; drop: string[] } };
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec { hostPID: boolean; containers: Container[]; volumes: { name: string; hostPath?: { path: string } }[] }

describe('deploy/daemonset.yaml', () => {
  const manifest = parseYaml(read('deploy/daemonset.yaml')) as unknown as { kind: string; spec: { template: { metadata: { annotations: Record<string, string> }; spec: PodSpec } } };
  const pod = manifest.spec.template.spec;
  const [agent] = pod.containers;

  test('a DaemonSet of one container, hostPID, not privileged', () => {
    expect(manifest.kind).toBe('DaemonSet');
    expect(pod.containers).toHaveLength(1);
    expect(pod.hostPID).toBe(true);
    expect(agent.securityContext.privileged).toBe(false);
    expect(agent.securityContext.allowPrivilegeEscalation).toBe(false);
    expect(agent.securityContext.capabilities.drop).toEqual(['ALL']);
  });

  test('adds exactly the capabilities doctor lists, each with a comment saying why', () => {
    const wanted = AGENT_REQUIREMENTS.capabilities.map((c) => c.name.replace(/^CAP_/, ''));
    expect([...agent.securityContext.capabilities.add].sort()).toEqual([...wanted].sort());
    const lines = read('deploy/daemonset.yaml').split('\n');
    for (const cap of wanted) {
      const at = lines.findIndex((l) => l.trim() === `- ${cap}`);
      expect([cap, lines[at - 1].trim().startsWith('#')]).toEqual([cap, true]);
    }
  });

  test('mounts each host path doctor lists at the same place, and no other host path', () => {
    const hostPaths = new Map(pod.volumes.filter((v) => v.hostPath).map((v) => [v.name, v.hostPath!.path]));
    const mounted = agent.volumeMounts.map((m) => ({ at: m.mountPath, from: hostPaths.get(m.name) }));
    expect(mounted.sort((a, b) => a.at.localeCompare(b.at))).toEqual(
      AGENT_REQUIREMENTS.mounts.map((m) => ({ at: m.path, from: m.path })).sort((a, b) => a.at.localeCompare(b.at)),
    );
    expect([...hostPaths.values()].sort()).toEqual(AGENT_REQUIREMENTS.mounts.map((m) => m.path).sort());
    // bpffs must be writable (pins); BTF is only read
    expect(agent.volumeMounts.find((m) => m.mountPath === '/sys/fs/bpf')?.readOnly).toBeUndefined();
  });

  test('doctor checks the same list on this machine (what it prints under "an agent in a container needs")', () => {
    const r = spawnSync(process.execPath, [path.join(root, 'dist', 'cli', 'main.js'), 'doctor', '--json'], { encoding: 'utf8' });
    const report = JSON.parse(r.stdout) as { agent: { requirement: string; met: boolean }[] };
    expect(report.agent.map((a) => a.requirement)).toEqual([
      ...AGENT_REQUIREMENTS.mounts.map((m) => m.path),
      ...AGENT_REQUIREMENTS.capabilities.map((c) => c.name),
    ]);
    // as root on this host the mounts are there (scripts/setup.sh mounts tracefs and bpffs)
    for (const a of report.agent.filter((x) => x.requirement.startsWith('/'))) expect(a).toMatchObject({ met: true });
  });

  test("runs the agent with flags it has, serving where the port and the scrape annotation say", () => {
    // the option names of the agent's parseArgs()
    const options = [...read('examples/agent/index.ts').matchAll(/^\s+'?([a-z-]+)'?: \{ type: '(string|boolean)'/gm)].map((m) => m[1]);
    expect(options).toEqual(expect.arrayContaining(['port', 'host', 'otlp', 'features']));
    const flags = agent.args.filter((a) => a.startsWith('--')).map((a) => a.slice(2));
    for (const f of flags) expect([f, options.includes(f)]).toEqual([f, true]);
    const port = agent.args[agent.args.indexOf('--port') + 1];
    expect(agent.args[agent.args.indexOf('--host') + 1]).toBe('0.0.0.0'); // the pod's own network namespace
    expect(agent.ports).toEqual([{ name: 'metrics', containerPort: Number(port) }]);
    expect(manifest.spec.template.metadata.annotations).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': port });
    expect(agent.image).toBe('node-libbpf-agent:latest');
  });

  test('the YAML reader refuses what it does not understand', () => {
    expect(() => parseYaml('a: &x 1\nb: *x\n')).toThrow(/unsupported syntax/);
    expect(parseYaml('a:\n  - b: 1\n    c: [x, "y"]\n  - 2\n# c\nd: true\n')).toEqual({ a: [{ b: 1, c: ['x', 'y'] }, 2], d: true });
  });
});

describe('deploy/Dockerfile', () => {
  const docker = read('deploy/Dockerfile');

  test('a node slim base, the packed tarball installed with scripts ignored, the example agent', () => {
    expect(docker).toMatch(/^FROM node:\d+-slim$/m);
    expect(docker).toMatch(/npm install --ignore-scripts --omit=dev .*\.\/node-libbpf-\*\.tgz/);
    const copied = [...docker.matchAll(/^COPY (.+) \S+$/gm)].flatMap((m) => m[1].split(' '));
    expect(copied).toEqual(['node-libbpf-*.tgz', 'build/examples/agent/index.js', 'build/examples/agent/agent.bpf.o']);
    // what it copies is what npm run build:examples makes, and the .dockerignore lets through
    for (const f of copied.slice(1)) expect([f, fs.existsSync(path.join(root, f))]).toEqual([f, true]);
    const ignore = read('deploy/Dockerfile.dockerignore');
    for (const f of copied) expect(ignore).toContain(`!${f}`);
    // the entry point is the agent copied into ./agent/, next to the object it loads by default
    expect(docker).toMatch(/^COPY build\/examples\/agent\/index\.js build\/examples\/agent\/agent\.bpf\.o \.\/agent\/$/m);
    expect(docker).toMatch(/^ENTRYPOINT \["node", "agent\/index\.js"\]$/m);
    // the port it exposes is the one the DaemonSet serves on
    const manifest = parseYaml(read('deploy/daemonset.yaml')) as unknown as { spec: { template: { spec: PodSpec } } };
    expect(docker).toMatch(new RegExp(`^EXPOSE ${manifest.spec.template.spec.containers[0].ports[0].containerPort}$`, 'm'));
  });

  test('installs the libraries the agent imports, at the versions package.json pins', () => {
    const pkg = JSON.parse(read('package.json')) as { devDependencies: Record<string, string> };
    const installed = Object.fromEntries([...docker.matchAll(/ ((?:@[a-z-]+\/)?[a-z-]+)@(\d+\.\d+\.\d+)/g)].map((m) => [m[1], m[2]]));
    const imported = [...read('examples/agent/index.ts').matchAll(/from '((?:@[a-z-]+\/)?[a-z-]+)[^']*'|import\('((?:@[a-z-]+\/)?[a-z-]+)/g)]
      .map((m) => m[1] ?? m[2]).filter((m) => m !== 'node-libbpf');
    expect(imported.length).toBeGreaterThan(0);
    for (const m of imported) expect([m, installed[m]]).toEqual([m, pkg.devDependencies[m]]);
    expect(installed['@opentelemetry/api']).toBe(pkg.devDependencies['@opentelemetry/api']); // the peer the metrics entry uses
  });
});
