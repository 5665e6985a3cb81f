#!/usr/bin/env node
// The `node-libbpf` command: vmlinux, build, vm.
import * as fs from 'node:fs';
import { build, vmlinuxHeader } from '../build';
import { addon } from '../native';
import { VM_USAGE, vmCommand } from '../vm/cli';

const USAGE = `usage:
  node-libbpf vmlinux [--btf FILE] [-o FILE]     C header of every kernel type (CO-RE ready)
  node-libbpf build FILE.bpf.c [-o FILE.bpf.o] [-I DIR]... [--arch ARCH] [--cflags "..."]
${VM_USAGE}`;

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

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'vmlinux': {
      const { flags } = parse(rest, ['--btf', '-o']);
      const btf = flags.get('--btf')?.[0];
      const out = flags.get('-o')?.[0];
      const header = btf ? addon.btfToCHeader(btf) : fs.readFileSync(vmlinuxHeader(), 'utf8');
      if (out) fs.writeFileSync(out, header);
      else process.stdout.write(header);
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
    case 'vm':
      return vmCommand(rest);
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
