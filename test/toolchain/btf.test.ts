// The Btf API, `node-libbpf vmlinux` (against bpftool), `build` (uapi headers, diagnostics)
// and `gen min-btf` (a minimal BTF that still relocates a CO-RE program).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BpfError, BpfObject, Btf } from 'node-libbpf';
import { build, minCoreBtf } from 'node-libbpf/toolchain';
import { fixture, root, spawnGatedGetpgid } from '../support/helpers';

const KERNEL_BTF = '/sys/kernel/btf/vmlinux';
const CLI = path.join(root, 'dist', 'cli', 'main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
const KCONFIG = { CONFIG_NLB_TEST_FLAG: true, CONFIG_NLB_TEST_NUM: 42 };

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nlb-btf-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('Btf', () => {
  test('fromKernel: type(name) gives id, kind, size and members with bit offsets', () => {
    const btf = Btf.fromKernel();
    const task = btf.type('struct task_struct');
    expect(task).toMatchObject({ kind: 'struct', name: 'task_struct', id: expect.any(Number), size: expect.any(Number) });
    const pid = task.members!.find((m) => m.name === 'pid')!;
    expect(pid).toEqual({ name: 'pid', type: expect.any(Number), bitOffset: expect.any(Number), bitSize: 0 });
    expect(btf.typeName(pid.type)).toBe('pid_t');
    expect(btf.type(task.id)).toBe(btf.typeById(task.id)); // lookup by id
    expect(btf.type('u32')).toMatchObject({ kind: 'typedef', size: 4 });
    expect(btf.type('enum bpf_map_type').values!.find((v) => v.name === 'BPF_MAP_TYPE_RINGBUF')!.value).toBe(27);
    expect(Btf.fromKernel()).toBe(btf); // parsed once
    expect(() => btf.type('struct no_such_type_here')).toThrow(new RangeError('name: expected a type in this BTF, got "struct no_such_type_here"'));
    expect(() => btf.type(5 as unknown as string)).not.toThrow();
    expect(() => btf.type({} as unknown as string)).toThrow(TypeError);
  });

  test('iteration walks every type in id order', () => {
    const btf = Btf.fromKernel();
    let n = 0;
    let last = 0;
    for (const t of btf) {
      expect(t.id).toBe(last + 1);
      last = t.id;
      n++;
    }
    expect(n).toBe(btf.typeCount);
  });

  test('fromFile: a copy of the kernel BTF and an object file; garbage and missing files are BpfErrors', () => {
    const copy = path.join(tmp, 'vmlinux.btf');
    fs.copyFileSync(KERNEL_BTF, copy);
    expect(Btf.fromFile(copy).typeCount).toBe(Btf.fromKernel().typeCount);
    const obj = Btf.fromFile(fixture('gen_agent'));
    expect(obj.type('struct gen_event').size).toBe(32);
    const garbage = path.join(tmp, 'garbage.btf');
    fs.writeFileSync(garbage, Buffer.alloc(4096, 0x41));
    expect(() => Btf.fromFile(garbage)).toThrow(BpfError);
    let e: any;
    try {
      Btf.fromFile(path.join(tmp, 'missing.btf'));
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('ENOENT');
  });

  test('obj.btf is the object\'s own BTF and prints as C', () => {
    const obj = BpfObject.open(fixture('gen_agent'));
    try {
      const header = obj.btf!.toCHeader();
      expect(header).toMatch(/struct gen_event \{\n\t__u64 seq;|struct gen_event \{\n\tu64 seq;/);
      expect(header).toMatch(/#pragma clang attribute push \(__attribute__\(\(preserve_access_index\)\), apply_to = record\)/);
    } finally {
      obj.close();
    }
  });

  test('fromKernelModule: split BTF on vmlinux; an unknown module is a BpfError with a hint', () => {
    const modules = fs.readdirSync('/sys/kernel/btf').filter((n) => n !== 'vmlinux');
    for (const name of modules.slice(0, 1)) {
      const mod = Btf.fromKernelModule(name);
      expect(mod.base).toBe(Btf.fromKernel());
      expect(mod.typeCount).toBeGreaterThan(Btf.fromKernel().typeCount);
    }
    let e: any;
    try {
      Btf.fromKernelModule('nlb_no_such_module');
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('ENOENT');
    expect(e.hint).toMatch(/CONFIG_DEBUG_INFO_BTF_MODULES/);
    expect(() => Btf.fromKernelModule('../vmlinux')).toThrow(RangeError);
  });

  test('fromFile with a base: split BTF resolves ids and names through the base', () => {
    // A split BTF of one typedef `nlb_split_t` of the base's `int`, written by hand.
    const base = Btf.fromKernel();
    const int = base.type('int');
    const baseStrLen = (() => {
      const raw = fs.readFileSync(KERNEL_BTF);
      return raw.readUInt32LE(20);
    })();
    const strs = Buffer.from('\0nlb_split_t\0');
    const type = Buffer.alloc(12);
    type.writeUInt32LE(baseStrLen + 1, 0); // name: past the base's strings
    type.writeUInt32LE(8 << 24, 4); // kind typedef
    type.writeUInt32LE(int.id, 8);
    const hdr = Buffer.alloc(24);
    hdr.writeUInt16LE(0xeb9f, 0);
    hdr.writeUInt8(1, 2);
    hdr.writeUInt32LE(24, 4);
    hdr.writeUInt32LE(0, 8);
    hdr.writeUInt32LE(12, 12);
    hdr.writeUInt32LE(12, 16);
    hdr.writeUInt32LE(strs.length, 20);
    const file = path.join(tmp, 'split.btf');
    fs.writeFileSync(file, Buffer.concat([hdr, type, strs]));
    const split = Btf.fromFile(file, base);
    const t = split.type('nlb_split_t');
    expect(t).toMatchObject({ id: base.typeCount + 1, kind: 'typedef', type: int.id, size: 4 });
    expect(split.toCHeader()).toMatch(/typedef int nlb_split_t;/);
  });
});

describe('node-libbpf vmlinux', () => {
  test('bpftool is installed here (setup.sh installs it), so the comparison below runs', () => {
    const which = spawnSync('sh', ['-c', 'command -v bpftool || ls /usr/sbin/bpftool'], { encoding: 'utf8' });
    expect(which.status).toBe(0);
  });

  test('the same declarations as bpftool btf dump ... format c', () => {
    const ours = cli('vmlinux');
    expect(ours.status).toBe(0);
    const bpftool = execFileSync('bpftool', ['btf', 'dump', 'file', KERNEL_BTF, 'format', 'c'], { encoding: 'utf8', maxBuffer: 256 << 20, env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin` } });
    // Newer libbpf marks 1-byte enums with mode(byte); blank lines may differ.
    const norm = (s: string) => s.replace(/\} __attribute__\(\(mode\(byte\)\)\);/g, '};').split('\n').filter((l) => l.trim() !== '');
    const a = norm(ours.stdout);
    const b = norm(bpftool);
    expect(a.length).toBe(b.length);
    expect(a).toEqual(b);
    expect(ours.stdout).toMatch(/preserve_access_index/);
  }, 120000);

  test('--btf FILE -o FILE, and Btf.toCHeader() print the same', () => {
    const out = path.join(tmp, 'vmlinux.h');
    expect(cli('vmlinux', '--btf', KERNEL_BTF, '-o', out).status).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toBe(Btf.fromKernel().toCHeader());
    const bad = cli('vmlinux', '--btf', path.join(tmp, 'nope.btf'));
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/ENOENT/);
  }, 60000);
});

describe('node-libbpf build', () => {
  test('uapi headers (<linux/bpf.h>, <asm/types.h>) compile; the object loads', async () => {
    const src = path.join(tmp, 'uapi.bpf.c');
    fs.writeFileSync(src, [
      '#include <linux/bpf.h>',
      '#include <asm/types.h>',
      '#include <bpf/bpf_helpers.h>',
      'char LICENSE[] SEC("license") = "GPL";',
      '__u64 hits = 0;',
      'SEC("xdp") int pass(struct xdp_md *ctx) { hits++; return XDP_PASS; }',
      '',
    ].join('\n'));
    const r = cli('build', src, '-o', path.join(tmp, 'uapi.bpf.o'));
    expect(r.stderr).toMatch(/wrote .*uapi\.bpf\.o/);
    expect(r.status).toBe(0);
    const obj = BpfObject.open(path.join(tmp, 'uapi.bpf.o'));
    try {
      await obj.load();
      expect(obj.program('pass').type).toBe('xdp');
    } finally {
      obj.close();
    }
  }, 60000);

  test('clang diagnostics keep file:line; build() rejects with them', async () => {
    const src = path.join(tmp, 'broken.bpf.c');
    fs.writeFileSync(src, '#include "vmlinux.h"\nint x = ;\n');
    const r = cli('build', src);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${src}:2:9: error`);
    await expect(build(src)).rejects.toThrow(`${src}:2:9: error`);
  }, 60000);

  test('--arch and --cflags reach clang; a bad arch is a TypeError', async () => {
    const src = path.join(tmp, 'arch.bpf.c');
    fs.writeFileSync(src, '#include "vmlinux.h"\n#if !defined(__TARGET_ARCH_arm64) || NLB_X != 3\n#error wrong flags\n#endif\n');
    expect(cli('build', src, '-o', path.join(tmp, 'arch.o'), '--arch', 'arm64', '--cflags', '-DNLB_X=3').status).toBe(0);
    await expect(build(src, { arch: 5 as unknown as string })).rejects.toThrow(TypeError);
  }, 60000);
});

describe('node-libbpf gen min-btf', () => {
  test('a much smaller BTF that still relocates the CO-RE program, through btfCustomPath', async () => {
    const out = path.join(tmp, 'min.btf');
    const r = cli('gen', 'min-btf', fixture('core_reloc'), '--btf', KERNEL_BTF, '-o', out);
    expect(r.status).toBe(0);
    const size = fs.statSync(out).size;
    expect(size).toBeLessThan(fs.statSync(KERNEL_BTF).size / 100);
    // task_struct is kept with only the member the program reads
    const min = Btf.fromFile(out);
    const task = min.type('struct task_struct');
    expect(task.size).toBe(Btf.fromKernel().type('struct task_struct').size);
    expect(task.members!.map((m) => m.name)).toEqual(['tgid']);
    expect(task.members![0].bitOffset).toBe(Btf.fromKernel().type('struct task_struct').members!.find((m) => m.name === 'tgid')!.bitOffset);
    expect(minCoreBtf(fixture('core_reloc'), KERNEL_BTF).equals(fs.readFileSync(out))).toBe(true);

    const obj = BpfObject.open(fixture('core_reloc'), { btfCustomPath: out, kconfig: KCONFIG });
    try {
      const child = await spawnGatedGetpgid(1);
      obj.globals.target_tgid = child.pid;
      await obj.load();
      obj.attach();
      await child.go();
      expect(obj.globals.seen_tgid).toBe(child.pid); // the right field, relocated from the minimal BTF
    } finally {
      obj.close();
    }
  }, 60000);

  test('an object without CO-RE relocations, or a bad BTF, fails clearly', () => {
    const r = cli('gen', 'min-btf', fixture('core_reloc'), '--btf', path.join(tmp, 'nope.btf'), '-o', path.join(tmp, 'x.btf'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ENOENT/);
    expect(cli('gen', 'min-btf', fixture('core_reloc')).stderr).toMatch(/usage: gen min-btf/);
  });
});
