// The Symbolizer against real processes, files and the running kernel: a gcc-built target
// (with DWARF), copies of it deleted while running or rewritten in place, perf maps, the
// vDSO, kallsyms and a loaded BPF program.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BpfObject, StackTraces, Symbolizer, stackFromBytes } from '../../src/ts/index';
import { cleanupAfterEach, fixture } from '../support/helpers';
import { spawnTarget, targetBinary } from '../support/targets';

const cleanup = cleanupAfterEach();

/** A function's ELF virtual address in a file, from binutils' nm (not our reader). */
function nmAddress(file: string, name: string): number {
  const line = execFileSync('nm', [file], { encoding: 'utf8' }).split('\n').find((l) => l.endsWith(` ${name}`));
  if (!line) throw new Error(`${name} not in ${file}`);
  return parseInt(line.split(' ')[0], 16);
}

/** Where a process mapped a file at offset 0 (the load base of a PIE). */
function loadBase(pid: number, file: string): number {
  const real = fs.existsSync(file) ? fs.realpathSync(file) : file; // (a path only the process sees: as is)
  const line = fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').find((l) => l.endsWith(real) && l.split(/\s+/)[2] === '00000000');
  if (!line) throw new Error(`${real} not mapped by ${pid}`);
  return parseInt(line.split('-')[0], 16);
}

function sourceLine(pattern: string): number {
  const lines = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'uprobe_target.c'), 'utf8').split('\n');
  return lines.findIndex((l) => l.includes(pattern)) + 1;
}

function tmpCopy(file: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlb-sym-'));
  cleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, path.basename(file));
  fs.copyFileSync(file, out);
  fs.chmodSync(out, 0o755);
  return out;
}

describe('Symbolizer: user space', () => {
  test("names a live process's functions, with offset, module and file:line from DWARF", async () => {
    const target = await spawnTarget(cleanup);
    const bin = targetBinary();
    const add = nmAddress(bin, 'nlb_target_add');
    const base = loadBase(target.pid, bin);
    const frames = await new Symbolizer().symbolize([BigInt(base + add + 4), BigInt(base + nmAddress(bin, 'main'))], { pid: target.pid });
    expect(frames[0]).toMatchObject({ address: BigInt(base + add + 4), name: 'nlb_target_add', offset: 4, module: fs.realpathSync(bin) });
    expect(path.basename(frames[0].file!)).toBe('uprobe_target.c');
    const start = sourceLine('long nlb_target_add(long a, long b)');
    expect(frames[0].line).toBeGreaterThanOrEqual(start);
    expect(frames[0].line).toBeLessThanOrEqual(start + 3);
    expect(frames[1]).toMatchObject({ name: 'main', offset: 0 });
  });

  test('a process that is gone, or addresses mapped by nothing, give frames with only the address', async () => {
    const child = spawn('true');
    await new Promise((resolve) => child.on('exit', resolve));
    const sym = new Symbolizer();
    expect(await sym.symbolize([0x401000n, 0n], { pid: child.pid! })).toEqual([{ address: 0x401000n }, { address: 0n }]);
    expect(await sym.symbolize(new BigUint64Array([0x10n]), { pid: process.pid })).toEqual([{ address: 0x10n }]);
  });

  test('a binary deleted while it runs is still read (through /proc/PID/map_files)', async () => {
    const copy = tmpCopy(targetBinary());
    const child = spawn(copy, [], { stdio: ['pipe', 'pipe', 'ignore'] });
    cleanup(() => child.kill('SIGKILL'));
    await new Promise((resolve) => child.stdout.once('data', resolve)); // "ready"
    const base = loadBase(child.pid!, copy);
    const add = nmAddress(copy, 'nlb_target_add');
    fs.unlinkSync(copy);
    expect(fs.readFileSync(`/proc/${child.pid}/maps`, 'utf8')).toContain(`${copy} (deleted)`);
    const [frame] = await new Symbolizer().symbolize([BigInt(base + add + 1)], { pid: child.pid! });
    expect(frame).toMatchObject({ name: 'nlb_target_add', offset: 1, module: copy });
  });

  test("a container's binary, visible only in the process's own mount namespace, is read through /proc/PID/root", async () => {
    // The process runs a stripped copy from a tmpfs mounted in a mount namespace of its
    // own (unshare -m), with its debug file beside it: neither is on the host's path, and
    // the debug file is found only through /proc/PID/root (map_files gives the binary alone).
    const staged = tmpCopy(targetBinary());
    const nowMs = nmAddress(staged, 'now_ms'); // static: named only by the debug file's DWARF
    execFileSync('objcopy', ['--only-keep-debug', staged, `${staged}.debug`]);
    execFileSync('strip', ['--strip-all', staged]);
    execFileSync('objcopy', ['--add-gnu-debuglink=uprobe_target.debug', staged], { cwd: path.dirname(staged) });
    const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nlb-sym-ns-')));
    cleanup(() => fs.rmSync(root, { recursive: true, force: true }));
    const bin = path.join(root, 'uprobe_target');
    const script = `mount -t tmpfs nlb-sym "${root}" && cp "${staged}" "${staged}.debug" "${root}/" && exec "${bin}"`;
    const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    cleanup(() => child.kill('SIGKILL'));
    await new Promise((resolve, reject) => {
      child.stdout.once('data', resolve); // "ready"
      child.once('exit', (code) => reject(new Error(`unshare exited ${code}`)));
    });
    fs.rmSync(staged);
    fs.rmSync(`${staged}.debug`);
    expect(fs.existsSync(bin)).toBe(false); // not on the host's path
    expect(fs.existsSync(`/proc/${child.pid}/root${bin}`)).toBe(true);
    const base = loadBase(child.pid!, bin);
    const [frame] = await new Symbolizer().symbolize([BigInt(base + nowMs + 4)], { pid: child.pid! });
    expect(frame).toMatchObject({ name: 'now_ms', offset: 4, module: bin });
    expect(path.basename(frame.file!)).toBe('uprobe_target.c');
    expect(frame.line).toBe(sourceLine('static double now_ms(void)') + 1);
  });

  test('normalize() gives file, build ID and file offset; symbolize({ file, offsets }) names them later', async () => {
    const target = await spawnTarget(cleanup);
    const bin = fs.realpathSync(targetBinary());
    const address = BigInt(loadBase(target.pid, bin) + nmAddress(bin, 'nlb_target_mul') + 2);
    const sym = new Symbolizer();
    const [n] = sym.normalize([address], { pid: target.pid });
    const noteId = /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', bin], { encoding: 'utf8' }))?.[1];
    expect(n).toMatchObject({ address, module: bin, buildId: noteId });
    const [again] = await new Symbolizer().symbolize([BigInt(n.fileOffset!)], { file: bin, offsets: true });
    expect(again).toMatchObject({ name: 'nlb_target_mul', offset: 2 });
  });

  test('a file rewritten in place is read again (cache keyed by identity, size and mtime)', async () => {
    const copy = tmpCopy(targetBinary());
    const add = BigInt(nmAddress(copy, 'nlb_target_add'));
    const sym = new Symbolizer();
    expect((await sym.symbolize([add], { file: copy }))[0].name).toBe('nlb_target_add');
    // Same inode, other contents: a stripped copy has no .symtab, so the name is gone.
    execFileSync('strip', ['-o', `${copy}.s`, copy]);
    fs.writeFileSync(copy, fs.readFileSync(`${copy}.s`));
    fs.utimesSync(copy, new Date(), new Date(Date.now() + 5000));
    const [frame] = await sym.symbolize([add], { file: copy });
    expect(frame.name).toBeUndefined();
    expect(frame).toMatchObject({ module: copy, offset: expect.any(Number) });
  });

  test('a stripped binary is named from its separate debug file (.gnu_debuglink): DWARF functions and lines', async () => {
    const copy = tmpCopy(targetBinary());
    const nowMs = BigInt(nmAddress(copy, 'now_ms')); // a static function: in no .dynsym
    execFileSync('objcopy', ['--only-keep-debug', copy, `${copy}.debug`]);
    execFileSync('strip', ['--strip-all', copy]);
    execFileSync('objcopy', [`--add-gnu-debuglink=${copy}.debug`, copy], { cwd: path.dirname(copy) });
    const sym = new Symbolizer();
    const [frame, call] = await sym.symbolize([nowMs + 4n, nowMs + 16n], { file: copy });
    expect(frame).toMatchObject({ name: 'now_ms', offset: 4, module: copy });
    expect(path.basename(frame.file!)).toBe('uprobe_target.c');
    // (as llvm-symbolizer and addr2line give them: the prologue is the '{' line)
    expect(frame.line).toBe(sourceLine('static double now_ms(void)') + 1);
    expect(call).toMatchObject({ name: 'now_ms', offset: 16, line: sourceLine('clock_gettime(CLOCK_MONOTONIC') });
    // Without the debug file: module and file offset only.
    fs.unlinkSync(`${copy}.debug`);
    const [bare] = await new Symbolizer().symbolize([nowMs + 4n], { file: copy });
    expect(bare).toEqual({ address: nowMs + 4n, module: copy, offset: expect.any(Number) });
  });

  test('JIT-ed code is named from the perf map, read again when it grows', async () => {
    const child = spawn('sleep', ['30']);
    cleanup(() => child.kill('SIGKILL'));
    const map = `/tmp/perf-${child.pid}.map`;
    cleanup(() => fs.rmSync(map, { force: true }));
    fs.writeFileSync(map, '100000 40 jit_one\n100040 20 LazyCompile:*two /app/x.js:3\n');
    const sym = new Symbolizer();
    expect(await sym.symbolize([0x100010n, 0x100050n, 0x100070n], { pid: child.pid! })).toEqual([
      { address: 0x100010n, name: 'jit_one', offset: 0x10, module: '[perf-map]' },
      { address: 0x100050n, name: 'LazyCompile:*two /app/x.js:3', offset: 0x10, module: '[perf-map]' },
      { address: 0x100070n },
    ]);
    fs.appendFileSync(map, '100060 100 jit_three\n');
    expect((await sym.symbolize([0x100070n], { pid: child.pid! }))[0]).toMatchObject({ name: 'jit_three', offset: 0x10 });
    expect((await new Symbolizer({ perfMaps: false }).symbolize([0x100010n], { pid: child.pid! }))[0].name).toBeUndefined();
  });

  test("the vDSO is read from the process's memory and named", async () => {
    const line = fs.readFileSync('/proc/self/maps', 'utf8').split('\n').find((l) => l.endsWith('[vdso]'))!;
    const [start, end] = line.split(' ')[0].split('-').map((h) => BigInt(`0x${h}`));
    const addresses: bigint[] = [];
    for (let a = start; a < end; a += 8n) addresses.push(a);
    const frames = await new Symbolizer().symbolize(addresses, { pid: process.pid });
    const names = new Set(frames.map((f) => f.name).filter((n) => n !== undefined));
    expect([...names].some((n) => /clock_gettime/.test(n!))).toBe(true);
    expect(frames.every((f) => f.module === '[vdso]')).toBe(true);
  });
});

describe('Symbolizer: kernel', () => {
  const kallsyms = (): { addr: bigint; type: string; name: string; module?: string }[] =>
    fs.readFileSync('/proc/kallsyms', 'utf8').trim().split('\n').map((l) => {
      const [addr, type, name, module] = l.split(/[ \t]/);
      return { addr: BigInt(`0x${addr}`), type, name, module: module?.slice(1, -1) };
    });

  test('kernel text addresses get the kallsyms symbol at or before them (the first listed of aliases)', async () => {
    const syms = kallsyms().filter((s) => /^[tTwW]$/.test(s.type) && s.addr !== 0n);
    // Symbols with a successor at a later address: the address 1 byte before it is theirs.
    const sample = syms.filter((_, i) => i % 997 === 0 && i + 1 < syms.length);
    const addresses = sample.map((s) => s.addr);
    const frames = await new Symbolizer().symbolize(addresses, { kernel: true });
    sample.forEach((s, i) => {
      const first = syms.find((o) => o.addr === s.addr)!; // kallsyms lists the kernel's choice first
      expect(frames[i]).toMatchObject({ name: first.name.replace(/^bpf_prog_[0-9a-f]{16}_/, ''), offset: 0, module: first.module ?? 'vmlinux' });
    });
    const [inside] = await new Symbolizer().symbolize([sample[1].addr + 3n], { kernel: true });
    expect(inside.offset).toBe(3);
  });

  test('a BPF program is named by its function (kallsyms bpf_prog_<tag>_<name> [bpf]), with file:line from its BTF line info', async () => {
    const obj = BpfObject.open(fixture('basic'));
    cleanup(() => obj.close());
    await obj.load();
    const prog = obj.programs()[0];
    const { tag } = prog.info();
    const entry = kallsyms().find((s) => s.name.startsWith(`bpf_prog_${tag}_`));
    expect(entry).toBeDefined();
    const [frame, later] = await new Symbolizer().symbolize([entry!.addr + 8n, entry!.addr + 40n], { kernel: true });
    expect(frame).toMatchObject({ name: prog.name, module: 'bpf', offset: 8 });
    // file:line from the program's BTF line info, as the kernel maps it to JIT-ed code
    const source = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'basic.bpf.c'), 'utf8').split('\n');
    const first = source.findIndex((l) => l.startsWith(`int ${prog.name}(`)) + 1;
    const last = first + source.slice(first).findIndex((l) => l === '}') + 1;
    for (const f of [frame, later]) {
      expect(f.file).toBe(path.join(__dirname, '..', 'fixtures', 'basic.bpf.c'));
      expect(f.line).toBeGreaterThanOrEqual(first);
      expect(f.line).toBeLessThanOrEqual(last);
    }
    expect(later.line).toBeGreaterThan(frame.line!);
  });
});

describe('stack traces as BigUint64Array', () => {
  test('stackFromBytes() copies the addresses up to the first zero', () => {
    const b = Buffer.alloc(48);
    b.writeBigUInt64LE(0xffffffff81000010n, 8);
    b.writeBigUInt64LE(0x7f0000001000n, 16);
    const s = stackFromBytes(b, 8, 32);
    expect(s).toBeInstanceOf(BigUint64Array);
    expect([...s]).toEqual([0xffffffff81000010n, 0x7f0000001000n]);
    b.fill(0);
    expect([...s]).toEqual([0xffffffff81000010n, 0x7f0000001000n]); // a copy
    expect(() => stackFromBytes(b, 0, 12)).toThrow(new RangeError('byteLength: expected a multiple of 8, got 12'));
  });

  test('StackTraces reads a stack_trace map and refuses other maps', async () => {
    const obj = BpfObject.open(path.join(__dirname, '..', '..', 'build', 'examples', 'profile', 'profile.bpf.o'));
    cleanup(() => obj.close());
    await obj.load();
    const stacks = new StackTraces(obj.map('stack_traces'));
    expect(stacks.get(-14)).toBeUndefined(); // bpf_get_stackid() failed: -EFAULT
    expect(stacks.get(0)).toBeUndefined(); // nothing sampled
    expect(() => new StackTraces(obj.map('counts'))).toThrow(new TypeError(`map: expected a map of type 'stack_trace', got "hash"`));
  });
});

describe('Symbolizer: arguments', () => {
  const sym = new Symbolizer();
  test.each([
    [undefined, 'target: expected an object { pid }, { kernel: true } or { file }, got undefined'],
    [{}, 'target: expected an object { pid }, { kernel: true } or { file }, got an object'],
    [{ pid: 1, kernel: true }, 'target: expected an object { pid }, { kernel: true } or { file }, got an object'],
    [{ kernel: false }, 'target.kernel: expected true, got false'],
    [{ pid: 'x' }, 'target.pid: expected an integer 1..2^31-1, got "x"'],
  ])('target %p', (target, message) => {
    expect(() => sym.symbolizeSync([1n], target as never)).toThrow(message);
  });

  test('addresses must be a BigUint64Array or bigints', async () => {
    await expect(sym.symbolize([1] as never, { kernel: true })).rejects.toThrow(new TypeError('addresses[0]: expected a bigint, got 1'));
    expect(() => sym.symbolizeSync('x' as never, { kernel: true })).toThrow(new TypeError('addresses: expected a BigUint64Array or an array of bigints, got "x"'));
    expect(() => new Symbolizer({ lines: 1 } as never)).toThrow(new TypeError('options.lines: expected a boolean, got 1'));
  });
});
