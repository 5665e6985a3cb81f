// Compiles test/fixtures/*.bpf.c at the start of every run (with the package's own build(), against
// a vmlinux.h from this kernel's BTF) and tells the tests where the objects are.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build } from '../../src/ts/build';

export default async function globalSetup(): Promise<void> {
  const root = path.join(__dirname, '..', '..');
  const src = path.join(root, 'test', 'fixtures');
  const out = path.join(root, 'build', 'fixtures');
  fs.mkdirSync(out, { recursive: true });
  const sources = fs.readdirSync(src).filter((f) => f.endsWith('.bpf.c'));
  await Promise.all(
    sources.map(async (file) => {
      const input = path.join(src, file);
      const output = path.join(out, file.replace(/\.c$/, '.o'));
      await build(input, { output });
    }),
  );
  process.env.NODE_LIBBPF_FIXTURES = out;
}
