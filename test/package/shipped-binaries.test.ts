// The binaries the package ships (prebuilds/linux-<arch>/node.napi.glibc.node, built by
// scripts/prebuild.sh in a Debian 11 root) read with readelf: only glibc's libraries are
// NEEDED (libelf, zlib, libstdc++ and libgcc are linked in) and no symbol needs a glibc
// newer than the floor the README states. `npm test` builds them when missing or stale.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const shipped = require('../../scripts/shipped-binaries.js') as {
  GLIBC_FLOOR: string;
  PLATFORMS: { arch: string; file: string }[];
  inspect(file: string): { machine: string; needed: string[]; versions: string[]; glibcMax: string };
  problems(facts: ReturnType<typeof shipped.inspect>, arch?: string): string[];
  compareVersions(a: string, b: string): number;
  prebuildsFresh(): boolean;
};

describe('shipped binaries', () => {
  test('every platform package.json lists has a prebuild, built from these sources', () => {
    expect(shipped.PLATFORMS.map((p) => p.arch).sort()).toEqual(['arm64', 'x64']);
    for (const { file } of shipped.PLATFORMS) expect(fs.existsSync(file) ? file : `${file} missing (npm run prebuilds)`).toBe(file);
    expect(shipped.prebuildsFresh()).toBe(true);
  });

  test.each(['x64', 'arm64'])('linux-%s: NEEDED only glibc libraries, nothing above the glibc floor', (arch) => {
    const { file } = shipped.PLATFORMS.find((p) => p.arch === arch)!;
    const facts = shipped.inspect(file);
    expect(facts.machine).toBe(arch === 'x64' ? 'Advanced Micro Devices X86-64' : 'AArch64');
    expect(facts.needed).toContain('libc.so.6');
    for (const lib of facts.needed) expect(lib).toMatch(/^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|ld-linux-(x86-64|aarch64)\.so\.[12])$/);
    for (const v of facts.versions) expect(v).toMatch(/^GLIBC_2\.[0-9.]+$/);
    expect(shipped.compareVersions(facts.glibcMax, shipped.GLIBC_FLOOR)).toBeLessThanOrEqual(0);
    expect(shipped.problems(facts, arch)).toEqual([]);
    // Nothing of the linked-in libraries is exported: only the N-API entry points.
    const exported = execFileSync('nm', ['-D', '--defined-only', file], { encoding: 'utf8' });
    expect(exported).toMatch(/ napi_register_module_v1\n/);
    expect(exported).not.toMatch(/ (elf_begin|inflate|bpf_object__open)\n/);
  });

  test('the check catches a binary that needs libstdc++ (and another machine)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'node-libbpf-needed-'));
    try {
      const src = path.join(dir, 'x.cc');
      fs.writeFileSync(src, '#include <string>\nextern "C" int f(const char *s) { return std::string(s).size(); }\n');
      execFileSync('g++', ['-shared', '-fPIC', '-o', path.join(dir, 'x.so'), src]);
      const found = shipped.problems(shipped.inspect(path.join(dir, 'x.so')), process.arch === 'x64' ? 'arm64' : 'x64');
      expect(found).toEqual(expect.arrayContaining([
        expect.stringMatching(/^machine is /),
        'needs libstdc++.so.6 (only glibc\'s libraries may be NEEDED)',
        expect.stringMatching(/^needs symbol version GLIBCXX_/),
      ]));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
