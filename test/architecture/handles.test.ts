// C++ owns every kernel handle: links of every kind, event buffers, maps, objects, the
// statistics fd, and the targets opened only to attach (cgroup directories, namespace
// files). So no runtime source file closes a file descriptor itself; the ones that open
// files read regular files (no kernel handle): attach/trace.ts an executable's ELF magic,
// elf/lazy-file.ts the ELF files (and vDSO images) the Symbolizer reads by ranges. The
// toolchain, vm and cli folders (no kernel handles) are not looked at.
import * as fs from 'node:fs';
import * as path from 'node:path';

const SRC = path.join(__dirname, '..', '..', 'src', 'ts');
const NOT_RUNTIME = ['toolchain', 'vm', 'cli'];

function runtimeFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return dir === SRC && NOT_RUNTIME.includes(e.name) ? [] : runtimeFiles(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

/** The runtime files that call fs.closeSync (or close), relative to src/ts. */
export function fdClosers(files: string[], read: (f: string) => string = (f) => fs.readFileSync(f, 'utf8')): string[] {
  return files.filter((f) => /\b(closeSync|fs\.close)\s*\(/.test(read(f))).map((f) => path.relative(SRC, f));
}

describe('kernel handles', () => {
  test('no runtime file closes a file descriptor, but the ELF readers', () => {
    expect(fdClosers(runtimeFiles(SRC))).toEqual([path.join('attach', 'trace.ts'), path.join('elf', 'lazy-file.ts')]);
  });

  test('the check sees a close (synthetic file)', () => {
    const file = path.join(SRC, 'attach', 'net.ts');
    expect(fdClosers([file], () => 'fs.closeSync(linkFd);')).toEqual([path.join('attach', 'net.ts')]);
  });
});
