// A program written the way real tools are (test/fixtures/tool_style.bpf.c), driven with
// only the names in DESIGN.md: open, configure through globals, load, attach, read
// u32/u64 maps and globals decoded.
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { BpfObject } from 'node-libbpf';

const fixture = path.join(process.env.NODE_LIBBPF_FIXTURES!, 'tool_style.bpf.o');

function kernelVersionCode(): number {
  const [major, minor, patch] = os.release().split(/[.-]/).map(Number);
  return (major << 16) + (minor << 8) + Math.min(patch || 0, 255);
}

test('a tool-style CO-RE program: globals, load, attach, decoded maps and globals', async () => {
  using obj = BpfObject.open(fixture);
  expect(obj.globals.min_duration_ns).toBe(0n);
  obj.globals.targ_ppid = process.pid; // only children of this test process
  obj.globals.min_duration_ns = 0n;
  expect(obj.globals.targ_ppid).toBe(process.pid);
  await obj.load();
  const links = obj.attach();
  expect(links).toHaveLength(2); // tp/ and tp_btf/ both auto-attach

  // Three children exiting with codes 0, 3, 3.
  spawnSync('/bin/true');
  spawnSync('/bin/sh', ['-c', 'exit 3']);
  spawnSync('/bin/sh', ['-c', 'exit 3']);

  expect(obj.globals.exec_seen).toBe(3n);
  expect(obj.globals.exit_seen).toBe(3n);
  expect(obj.globals.kernel_version).toBe(kernelVersionCode());
  const exits = obj.map('exits_by_code');
  expect(exits.get(0)).toBe(1n);
  expect(exits.get(3)).toBe(2n);
  expect(new Map(exits.entries())).toEqual(new Map([[0, 1n], [3, 2n]]));
  expect([...obj.map('exec_start').keys()]).toEqual([]); // every exec was matched by its exit
  expect(obj.map('rb').type).toBe('ringbuf');
  for (const link of links) link.destroy();
  spawnSync('/bin/true');
  expect(obj.globals.exec_seen).toBe(3n); // detached
});
