// profile: a sampling CPU profiler printing folded stacks for flame graphs.
//
//   node build/examples/profile/index.js [--frequency HZ] [--duration SECONDS] [--pid PID]
//
// Sample every CPU at --frequency Hz (a software cpu-clock perf event per CPU, one Link
// for all), record each sample's kernel and user stacks in a stack-trace map, and on
// Ctrl-C (or after --duration) print one line per distinct stack:
//   comm;outermost_user_frame;...;innermost_kernel_frame count
// which flamegraph.pl and speedscope read directly. Kernel frames are named from
// /proc/kallsyms, user frames from the ELF symbols of the process's mapped files.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setInterval } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { BpfObject } from 'node-libbpf';
import { findSymbol, readFunctionSymbols, type ElfSymbol } from './elf';

const { values: args } = parseArgs({
  options: {
    frequency: { type: 'string', default: '99' },
    duration: { type: 'string' },
    pid: { type: 'string' }, // only this process (default: every process but idle)
  },
});

// Kernel symbols, sorted by address (needs root: otherwise kallsyms shows zeros).
function kernelSymbols(): { addr: bigint; name: string }[] {
  const syms: { addr: bigint; name: string }[] = [];
  for (const line of fs.readFileSync('/proc/kallsyms', 'utf8').split('\n')) {
    const [addr, type, name] = line.split(/\s+/);
    if (name && /[tTwW]/.test(type)) syms.push({ addr: BigInt(`0x${addr}`), name });
  }
  return syms.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
}

function kernelName(syms: { addr: bigint; name: string }[], addr: bigint): string {
  let lo = 0;
  let hi = syms.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (syms[mid].addr <= addr) {
      best = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return best >= 0 ? syms[best].name : `0x${addr.toString(16)}`;
}

interface Mapping {
  start: bigint;
  end: bigint;
  offset: bigint;
  file: string;
}

// One process's executable mappings, read while it is alive; symbols cached per file.
const elfCache = new Map<string, ElfSymbol[]>();
function userSymbolizer(pid: number): (addr: bigint) => string {
  let maps: Mapping[] = [];
  try {
    maps = fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').flatMap((line) => {
      const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) \S+ \d+\s+(.*)$/.exec(line);
      if (!m || !m[3].includes('x')) return [];
      return [{ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), offset: BigInt(`0x${m[4]}`), file: m[5] }];
    });
  } catch {
    // exited: addresses stay hexadecimal
  }
  return (addr) => {
    const map = maps.find((m) => addr >= m.start && addr < m.end);
    if (!map) return `0x${addr.toString(16)}`;
    if (!map.file.startsWith('/')) return map.file || `0x${addr.toString(16)}`; // [vdso], anonymous JIT code ...
    let syms = elfCache.get(map.file);
    if (!syms) {
      try {
        syms = readFunctionSymbols(`/proc/${pid}/root${map.file}`);
      } catch {
        syms = [];
      }
      elfCache.set(map.file, syms);
    }
    const sym = findSymbol(syms, Number(addr - map.start + map.offset));
    return sym ? sym.name : `${path.basename(map.file)}+0x${(addr - map.start + map.offset).toString(16)}`;
  };
}

async function main(): Promise<void> {
  // 1. Open, configure (.rodata: the pid filter), load.
  const obj = BpfObject.open(path.join(__dirname, 'profile.bpf.o'));
  if (args.pid) obj.globals.target_pid = Number(args.pid);
  await obj.load();

  // 2. One cpu-clock perf event per online CPU, all owned by the one Link returned.
  const link = obj.program('on_sample').attachPerfEvent({ type: 'software', config: 'cpu-clock', frequency: Number(args.frequency) });

  // 3. Sample until Ctrl-C, SIGTERM or --duration: each aborts `stop` (a second abort
  //    does nothing), which ends the wait below; everything after it runs once.
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  if (args.duration) setTimeout(() => stop.abort(), Number(args.duration) * 1000).unref();
  console.error(`sampling all CPUs at ${args.frequency} Hz${args.pid ? ` (pid ${args.pid})` : ''}; Ctrl-C to print folded stacks`); // once Ctrl-C is handled
  try {
    // Signal handlers do not keep Node running: this ticking timer does, until the abort.
    for await (const _ of setInterval(1000, undefined, { signal: stop.signal })) {
      // nothing to do meanwhile: the kernel counts
    }
  } catch (e) {
    if (!stop.signal.aborted) throw e;
  }

  // 4. Stop sampling, then read the counts and stacks and name the frames.
  link.destroy();
  const ksyms = kernelSymbols();
  const counts = obj.map<{ pid: number; kernel_stack: number; user_stack: number; comm: string }, bigint>('counts');
  const stacks = obj.map('stack_traces').raw; // untyped: u32 id -> 127 u64 addresses
  const frames = (id: number): bigint[] => {
    if (id < 0) return [];
    const key = Buffer.alloc(4);
    key.writeInt32LE(id);
    const value = stacks.get(key);
    if (!value) return [];
    const out: bigint[] = [];
    for (let i = 0; i + 8 <= value.length; i += 8) {
      const ip = value.readBigUInt64LE(i);
      if (ip === 0n) break;
      out.push(ip);
    }
    return out; // innermost first
  };
  const symbolizers = new Map<number, (addr: bigint) => string>();
  const folded = new Map<string, bigint>();
  for (const [key, n] of counts) {
    let user = symbolizers.get(key.pid);
    if (!user) symbolizers.set(key.pid, (user = userSymbolizer(key.pid)));
    const u = frames(key.user_stack).reverse().map(user);
    const k = frames(key.kernel_stack).reverse().map((a) => kernelName(ksyms, a));
    const line = [key.comm.replace(/[; ]/g, '_'), ...u, ...k].join(';');
    folded.set(line, (folded.get(line) ?? 0n) + n);
  }
  // 5. Folded stacks, most frequent first; then close (frees the maps).
  const sorted = [...folded].sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : 0));
  process.stdout.write(sorted.map(([line, n]) => `${line} ${n}\n`).join(''));
  obj.close();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
