// The pieces of `node-libbpf vm` that need no VM: argument parsing, the initramfs
// archive, the guest's run script, module dependency parsing and which kinds a kernel
// configuration allows, which accelerator a VM gets. Booting kernels is what
// `npm run test:kernels` does.
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { kernelAllowsFor } from '../../src/ts/vm/allows';
import { cpioGz } from '../../src/ts/vm/cpio';
import { CachedKernel } from '../../src/ts/vm/debian';
import { initScript, runScript, shellQuote } from '../../src/ts/vm/guest';
import { readModinfoDepends } from '../../src/ts/vm/modules';
import { parseVmArgs } from '../../src/ts/vm/cli';
import { accelerator, lsmList } from '../../src/ts/vm/qemu';

function kernel(config: Record<string, string>): CachedKernel {
  return { arch: 'x64', release: '6.1.0-1-amd64', version: '6.1.1-1', dir: '/nonexistent', image: '/nonexistent', config: new Map(Object.entries(config)) };
}

describe('vm arguments', () => {
  test('kernels, options and the command after --', () => {
    const a = parseVmArgs(['--kernel', '6.1', '-k', '5.10', '--memory', '512', '--env', 'A=b=c', '--', 'node', '-e', '1']);
    expect(a.kernels).toEqual(['6.1', '5.10']);
    expect(a.memoryMiB).toBe(512);
    expect(a.env).toEqual({ A: 'b=c' });
    expect(a.command).toEqual(['node', '-e', '1']);
  });

  test.each([
    [['--', 'true'], 'vm needs --kernel VERSION'],
    [['--kernel', '6.1'], 'vm needs a command after --'],
    [['--kernel'], '--kernel needs a value'],
    [['--kernel', '6.1', '--memory', '0', '--', 'x'], "--memory: expected a positive integer, got '0'"],
    [['--kernel', '6.1', '--env', 'NOEQUALS', '--', 'x'], "--env: expected NAME=VALUE, got 'NOEQUALS'"],
    [['--bogus'], 'unknown option --bogus'],
    [['--arch', 'riscv64', '--kernel', '6.1', '--', 'x'], "--arch: expected x64 or arm64, got 'riscv64'"],
    [['--arch', process.arch === 'x64' ? 'arm64' : 'x64', '--kernel', '6.1', '--', 'x'], `needs --root DIR`],
  ])('%j -> %s', (argv, message) => {
    expect(() => parseVmArgs(argv)).toThrow(message);
  });

  test('--arch arm64 with --root: the kernel architecture and the root filesystem to run in', () => {
    const a = parseVmArgs(['--arch', 'arm64', '--root', '/srv/arm64', '--kernel', '6.1', '--', '/opt/node/bin/node', 'smoke.mjs']);
    expect(a).toMatchObject({ arch: 'arm64', root: '/srv/arm64', kernels: ['6.1'], command: ['/opt/node/bin/node', 'smoke.mjs'] });
    expect(parseVmArgs(['--kernel', '6.1', '--', 'x']).arch).toBe('x64');
  });
});

describe('guest init', () => {
  test('runs the command chrooted in the host\'s / or in a root filesystem under it', () => {
    expect(initScript()).toContain('ROOT=/mnt/host\n');
    const arm = initScript('/srv/arm64/');
    expect(arm).toContain('ROOT=/mnt/host/srv/arm64\n');
    expect(arm).toContain('chroot $ROOT /bin/sh /tmp/nlb-vm/run.sh');
    expect(arm).toContain('for d in proc sys dev; do mount -o rbind /$d $ROOT/$d; done');
  });
});

describe('initramfs', () => {
  test('a newc archive: aligned headers, the entries, then the trailer', () => {
    const raw = zlib.gunzipSync(
      cpioGz([
        { path: 'bin', type: 'dir' },
        { path: 'bin/hello', type: 'file', data: 'hi\n', mode: 0o755 },
        { path: 'dev/console', type: 'chardev', major: 5, minor: 1 },
      ]),
    );
    const names: string[] = [];
    let at = 0;
    for (;;) {
      expect(raw.toString('latin1', at, at + 6)).toBe('070701');
      const field = (i: number): number => parseInt(raw.toString('latin1', at + 6 + i * 8, at + 14 + i * 8), 16);
      const [mode, size, namesize] = [field(1), field(6), field(11)];
      const name = raw.toString('latin1', at + 110, at + 110 + namesize - 1);
      names.push(name);
      const dataAt = Math.ceil((at + 110 + namesize) / 4) * 4;
      if (name === 'bin/hello') {
        expect(mode).toBe(0o100755);
        expect(raw.toString('latin1', dataAt, dataAt + size)).toBe('hi\n');
      }
      if (name === 'dev/console') expect([mode, field(9), field(10)]).toEqual([0o020600, 5, 1]);
      if (name === 'TRAILER!!!') break;
      at = Math.ceil((dataAt + size) / 4) * 4;
    }
    expect(names).toEqual(['bin', 'bin/hello', 'dev/console', 'TRAILER!!!']);
  });
});

describe('guest run script', () => {
  test('quotes what the shell would split or expand', () => {
    expect(shellQuote('plain/path-1.js')).toBe('plain/path-1.js');
    expect(shellQuote("it's $HOME")).toBe(`'it'\\''s $HOME'`);
  });

  test('exports the environment, enters the directory, runs the command', () => {
    const script = runScript(['node', '-e', 'console.log(1)'], '/work/my app', { NODE_LIBBPF_KERNEL_ALLOWS: 'fentry,lsm' });
    expect(script).toBe("#!/bin/sh\nset -e\nexport NODE_LIBBPF_KERNEL_ALLOWS=fentry,lsm\ncd '/work/my app'\nset +e\nnode -e 'console.log(1)'\n");
  });
});

describe('kernel modules', () => {
  // A minimal ELF64 LE with a section header table: [null, .shstrtab, .modinfo].
  function module(modinfo: string): Buffer {
    const shstr = Buffer.from('\0.shstrtab\0.modinfo\0', 'latin1');
    const info = Buffer.from(modinfo, 'latin1');
    const header = Buffer.alloc(64);
    Buffer.from('\x7fELF\x02\x01\x01', 'latin1').copy(header);
    const shoff = 64 + shstr.length + info.length;
    header.writeBigUInt64LE(BigInt(shoff), 0x28);
    header.writeUInt16LE(64, 0x3a);
    header.writeUInt16LE(3, 0x3c);
    header.writeUInt16LE(1, 0x3e);
    const sections = Buffer.alloc(3 * 64);
    const section = (i: number, name: number, offset: number, size: number): void => {
      sections.writeUInt32LE(name, i * 64);
      sections.writeBigUInt64LE(BigInt(offset), i * 64 + 0x18);
      sections.writeBigUInt64LE(BigInt(size), i * 64 + 0x20);
    };
    section(1, 1, 64, shstr.length);
    section(2, 11, 64 + shstr.length, info.length);
    return Buffer.concat([header, shstr, info, sections]);
  }

  test('depends= of .modinfo', () => {
    expect(readModinfoDepends(module('license=GPL\0depends=netfs,9pnet\0name=9p\0'))).toEqual(['netfs', '9pnet']);
    expect(readModinfoDepends(module('depends=\0name=virtio\0'))).toEqual([]);
  });

  test('not a module', () => {
    expect(() => readModinfoDepends(Buffer.from('#!/bin/sh\n'))).toThrow('not an ELF64 little-endian kernel module');
  });
});

describe('kinds a kernel allows', () => {
  const trampolines = { CONFIG_BPF_JIT: 'y', CONFIG_DEBUG_INFO_BTF: 'y', CONFIG_FUNCTION_TRACER: 'y' };

  test('from its configuration', () => {
    expect(kernelAllowsFor(kernel({ ...trampolines, CONFIG_BPF_LSM: 'y', CONFIG_INET: 'y', CONFIG_KPROBES: 'y', CONFIG_KPROBE_EVENTS: 'y', CONFIG_FPROBE: 'y' }))).toEqual([
      'fentry', 'fexit', 'fmod_ret', 'lsm', 'struct_ops', 'kprobe', 'ksyscall', 'kprobe_multi',
    ]);
    expect(kernelAllowsFor(kernel({ ...trampolines, CONFIG_KPROBES: 'y' }))).toEqual(['fentry', 'fexit', 'fmod_ret']);
    expect(kernelAllowsFor(kernel({ CONFIG_KPROBES: 'y', CONFIG_KPROBE_EVENTS: 'y', CONFIG_BPF_LSM: 'y' }))).toEqual(['kprobe', 'ksyscall']);
  });

  test('the boot enables the BPF LSM where the kernel has it', () => {
    expect(lsmList(kernel({ CONFIG_LSM: 'landlock,lockdown,yama,apparmor,bpf', CONFIG_BPF_LSM: 'y' }))).toBe('lockdown,yama,apparmor,bpf');
    expect(lsmList(kernel({ CONFIG_LSM: 'lockdown,yama' }))).toBe('lockdown,yama');
  });
});

describe('accelerator', () => {
  const saved = process.env.NODE_LIBBPF_VM_ACCEL;
  afterEach(() => {
    if (saved === undefined) delete process.env.NODE_LIBBPF_VM_ACCEL;
    else process.env.NODE_LIBBPF_VM_ACCEL = saved;
  });

  test('NODE_LIBBPF_VM_ACCEL decides; anything else is refused', () => {
    process.env.NODE_LIBBPF_VM_ACCEL = 'tcg';
    expect(accelerator()).toEqual({ accel: 'tcg', why: 'NODE_LIBBPF_VM_ACCEL=tcg' });
    process.env.NODE_LIBBPF_VM_ACCEL = 'kvm';
    expect(accelerator()).toEqual({ accel: 'kvm' });
    process.env.NODE_LIBBPF_VM_ACCEL = 'hvf';
    expect(() => accelerator()).toThrow('NODE_LIBBPF_VM_ACCEL: expected kvm or tcg, got "hvf"');
  });

  test('without it: KVM when /dev/kvm is usable, else software emulation saying why', () => {
    delete process.env.NODE_LIBBPF_VM_ACCEL;
    let usable = true;
    try {
      fs.accessSync('/dev/kvm', fs.constants.R_OK | fs.constants.W_OK);
    } catch {
      usable = false;
    }
    expect(accelerator()).toEqual(usable ? { accel: 'kvm' } : { accel: 'tcg', why: '/dev/kvm is not usable' });
  });
});
