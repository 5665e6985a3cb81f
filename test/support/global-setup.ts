// Compiles test/fixtures/*.bpf.c at the start of every run (with the package's own build(), against
// a vmlinux.h from this kernel's BTF) and tells the tests where the objects are. When
// NODE_LIBBPF_FIXTURES is already set (the kernel matrix's guests, or a run pointed at other
// objects such as CO-RE-stripped ones), those prebuilt objects are used as they are: nothing
// is compiled, so every kernel loads the very same files.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build } from '../../src/ts/toolchain/build';

export default async function globalSetup(): Promise<void> {
  const root = path.join(__dirname, '..', '..');
  const src = path.join(root, 'test', 'fixtures');
  const sources = fs.readdirSync(src).filter((f) => f.endsWith('.bpf.c'));
  const prebuilt = process.env.NODE_LIBBPF_FIXTURES;
  if (prebuilt) {
    const missing = sources.map((f) => f.replace(/\.c$/, '.o')).filter((f) => !fs.existsSync(path.join(prebuilt, f)));
    if (missing.length) throw new Error(`NODE_LIBBPF_FIXTURES=${prebuilt} lacks ${missing.join(', ')}`);
    return;
  }
  const out = path.join(root, 'build', 'fixtures');
  fs.mkdirSync(out, { recursive: true });
  await Promise.all(
    sources.map(async (file) => {
      const input = path.join(src, file);
      const output = path.join(out, file.replace(/\.c$/, '.o'));
      await build(input, { output });
    }),
  );
  process.env.NODE_LIBBPF_FIXTURES = out;
}
