#!/usr/bin/env node
// The `node-libbpf` command: vmlinux, build, btf, gen, gen min-btf, doctor, vm.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { addon, addonLoadError, PACKAGE_ROOT } from '../base/native';
import { Btf } from '../btf/btf';
import { build, doctor, formatDoctor, generate, headerBtf, minCoreBtf, vmlinuxHeader } from '../toolchain';
import { VM_USAGE, vmCommand } from '../vm/cli';

const USAGE = `usage:
  node-libbpf vmlinux [--btf FILE] [-o FILE]     C header of every kernel type (CO-RE ready)
  node-libbpf build FILE.bpf.c [-o FILE.bpf.o] [-I DIR]... [--arch ARCH] [--cflags "..."] [--btf FILE]
                                                 compile a CO-RE object (clang -g -O2 -target bpf)
  node-libbpf btf HEADER.h... --type 'struct event' [--type TYPE]... -o OUT.btf [-I DIR]... [--cflags "..."]
                [--arch ARCH] [--btf FILE]       BTF of types a program declares in its headers, for
                                                 RingBuffer/PerfBuffer options.btf (Btf.fromFile)
  node-libbpf gen FILE.bpf.o [-o FILE.ts]        TypeScript types and a typed wrapper embedding the object
                [--type T] [--event MAP=T]...    (without its DWARF); type a foreign program's event buffers:
                [--btf FILE | --header H [-I DIR]...]  T from FILE, from H, or from the object's BTF or DWARF
  node-libbpf gen min-btf FILE.bpf.o --btf KERNEL.btf -o OUT.btf
                                                 the minimal BTF the object's CO-RE relocations need
  node-libbpf doctor [--json]                    what this kernel allows for BPF, and why not
${VM_USAGE}  node-libbpf --version                         the package's and the linked libbpf's versions
  node-libbpf COMMAND --help                    one command's usage
`;

// Resolves once the text is handed to the OS: process.exit() right after a plain write
// cuts a large output (vmlinux.h is megabytes) short when stdout is a pipe.
function print(text: string): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(text, (e) => (e ? reject(e) : resolve())));
}

interface Parsed {
  positional: string[];
  flags: Map<string, string[]>;
}

function parse(argv: string[], withValue: string[]): Parsed {
  const parsed: Parsed = { positional: [], flags: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('-')) {
      parsed.positional.push(a);
      continue;
    }
    if (!withValue.includes(a)) throw new Error(`unknown option ${a}`);
    if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
    parsed.flags.set(a, [...(parsed.flags.get(a) ?? []), argv[++i]]);
  }
  return parsed;
}

const COMMANDS = ['vmlinux', 'build', 'btf', 'gen', 'doctor', 'vm'];

/** One command's lines of USAGE (gen's include gen min-btf). */
function commandUsage(command: string): string {
  const blocks = USAGE.split(/\n(?=  node-libbpf )/).slice(1);
  return `usage:\n${blocks.filter((b) => b.startsWith(`  node-libbpf ${command} `)).join('\n').replace(/\n*$/, '\n')}`;
}

// --version works where the addon does not load: the package's version, then libbpf's
// when the addon loads, else where to find out why not.
function versionText(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  const why = addonLoadError();
  return `node-libbpf ${pkg.version}\n${why ? 'libbpf: unknown, the addon does not load here (`node-libbpf doctor` says why)' : `libbpf ${addon.libbpfVersion()}`}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // `COMMAND --help` before anything runs (vm's own arguments end at --).
  const own = command === 'vm' && rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  if (COMMANDS.includes(command) && (own.includes('--help') || own.includes('-h'))) {
    process.stdout.write(commandUsage(command));
    return 0;
  }
  switch (command) {
    case 'vmlinux': {
      const { flags } = parse(rest, ['--btf', '-o']);
      const btf = flags.get('--btf')?.[0];
      const out = flags.get('-o')?.[0];
      const header = btf ? Btf.fromFile(btf).toCHeader() : fs.readFileSync(vmlinuxHeader(), 'utf8');
      if (out) fs.writeFileSync(out, header);
      else await print(header);
      return 0;
    }
    case 'build': {
      const { positional, flags } = parse(rest, ['-o', '-I', '--arch', '--cflags', '--btf']);
      if (positional.length !== 1) throw new Error('build takes one FILE.bpf.c');
      const output = await build(positional[0], {
        output: flags.get('-o')?.[0],
        includeDirs: flags.get('-I'),
        arch: flags.get('--arch')?.[0],
        btf: flags.get('--btf')?.[0],
        cflags: flags.get('--cflags')?.flatMap((f) => f.split(/\s+/).filter(Boolean)),
      });
      process.stderr.write(`wrote ${output}\n`);
      return 0;
    }
    case 'btf': {
      const { positional, flags } = parse(rest, ['--type', '-o', '-I', '--arch', '--cflags', '--btf']);
      const out = flags.get('-o')?.[0];
      const types = flags.get('--type');
      if (positional.length === 0 || !types || !out) throw new Error(`usage: btf HEADER.h... --type 'struct event' [--type ...] -o OUT.btf`);
      const btf = await headerBtf(positional, {
        types,
        output: out,
        includeDirs: flags.get('-I'),
        arch: flags.get('--arch')?.[0],
        btf: flags.get('--btf')?.[0],
        cflags: flags.get('--cflags')?.flatMap((f) => f.split(/\s+/).filter(Boolean)),
      });
      process.stderr.write(`wrote ${out} (${fs.statSync(out).size} bytes, ${btf.typeCount} types)\n`);
      return 0;
    }
    case 'gen': {
      if (rest[0] === 'min-btf') {
        const { positional, flags } = parse(rest.slice(1), ['--btf', '-o']);
        const btf = flags.get('--btf')?.[0];
        const out = flags.get('-o')?.[0];
        if (positional.length !== 1 || !btf || !out) throw new Error('usage: gen min-btf FILE.bpf.o --btf KERNEL.btf -o OUT.btf');
        const bytes = minCoreBtf(positional[0], btf);
        fs.writeFileSync(out, bytes);
        process.stderr.write(`wrote ${out} (${bytes.length} bytes, from ${fs.statSync(btf).size})\n`);
        return 0;
      }
      const { positional, flags } = parse(rest, ['-o', '--name', '--type', '--event', '--btf', '--header', '-I']);
      if (positional.length !== 1) throw new Error('gen takes one FILE.bpf.o');
      const out = flags.get('-o')?.[0];
      const type = flags.get('--type')?.[0];
      const events: Record<string, string> = {};
      for (const e of flags.get('--event') ?? []) {
        const eq = e.indexOf('=');
        if (eq <= 0) throw new Error(`--event MAP=TYPE, got ${JSON.stringify(e)}`);
        events[e.slice(0, eq)] = e.slice(eq + 1);
      }
      const header = flags.get('--header')?.[0];
      const btfFile = flags.get('--btf')?.[0];
      if (header && btfFile) throw new Error('gen takes --btf FILE or --header H, not both');
      const types = [...new Set([...(type ? [type] : []), ...Object.values(events)])];
      if (header && types.length === 0) throw new Error('gen --header H needs --type T or --event MAP=T');
      const btf = header ? await headerBtf(header, { types, includeDirs: flags.get('-I') }) : btfFile ? Btf.fromFile(btfFile) : undefined;
      const source = generate(positional[0], { name: flags.get('--name')?.[0], type, events, btf });
      if (out) {
        fs.writeFileSync(out, source);
        process.stderr.write(`wrote ${out}\n`);
      } else {
        await print(source);
      }
      return 0;
    }
    case 'doctor': {
      const json = rest.includes('--json');
      const unknown = rest.filter((a) => a !== '--json');
      if (unknown.length) throw new Error(`doctor: unknown argument ${unknown[0]}`);
      const report = doctor();
      await print(json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctor(report));
      return 0;
    }
    case 'vm':
      return vmCommand(rest);
    case '--version':
    case '-v':
      process.stdout.write(versionText());
      return 0;
    case undefined:
    case '-h':
    case '--help':
      process.stdout.write(USAGE);
      return command ? 0 : 2;
    default:
      process.stderr.write(`unknown command '${command}'\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`node-libbpf: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
