// syscount: the processes making the most syscalls, with their top syscalls, every second.
//
//   node build/examples/syscount/index.js [--duration SECONDS] [--interval SECONDS] [--top N]
//                                         [--pid PID] [--include-self]
//
// Load a CO-RE object, configure it through its globals, attach to every syscall entry,
// then read and reset a per-CPU map each interval in one batch, close on Ctrl-C.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setInterval } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { BpfObject } from 'node-libbpf';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string' }, // stop after this many seconds (default: until Ctrl-C)
    interval: { type: 'string', default: '1' },
    top: { type: 'string', default: '10' }, // how many processes to list
    pid: { type: 'string' }, // only count this process
    'include-self': { type: 'boolean', default: false }, // count this agent's own syscalls too
  },
});

// Syscall numbers to names, from the kernel's uapi header for this architecture
// (`#define __NR_read 0`; Debian: linux-libc-dev). Unknown numbers print as `syscall <n>`.
const UNISTD: Record<string, string[]> = {
  x64: ['/usr/include/x86_64-linux-gnu/asm/unistd_64.h', '/usr/include/asm/unistd_64.h'],
  arm64: ['/usr/include/aarch64-linux-gnu/asm/unistd_64.h', '/usr/include/asm-generic/unistd.h'],
  ia32: ['/usr/include/i386-linux-gnu/asm/unistd_32.h', '/usr/include/asm/unistd_32.h'],
  riscv64: ['/usr/include/riscv64-linux-gnu/asm/unistd_64.h', '/usr/include/asm-generic/unistd.h'],
};

function syscallNames(): Map<number, string> {
  const names = new Map<number, string>();
  const file = (UNISTD[process.arch] ?? []).find((f) => fs.existsSync(f));
  if (!file) return names;
  for (const [, name, nr] of fs.readFileSync(file, 'utf8').matchAll(/^#define __NR_(\w+)\s+(\d+)\s*$/gm)) {
    names.set(Number(nr), name);
  }
  return names;
}

async function main(): Promise<void> {
  const names = syscallNames();
  const syscallName = (id: number): string => names.get(id) ?? `syscall ${id}`;
  const top = Number(args.top);

  // 1. Open the object compiled from syscount.bpf.c (next to this file once built).
  const obj = BpfObject.open(path.join(__dirname, 'syscount.bpf.o'));

  // 2. Configure before load: .rodata globals become constants the verifier sees, so
  //    the filters it does not need are removed from the program altogether.
  if (args.pid) obj.globals.target_pid = Number(args.pid);
  if (!args['include-self']) obj.globals.exclude_pid = process.pid;

  // 3. Load (CO-RE relocation + verification, off the JS thread) and attach: the
  //    section name raw_tp/sys_enter says where.
  await obj.load();
  obj.attach();

  // The key is `struct syscall_key { u32 pid; u32 syscall_id; }` and the value
  // `struct syscall_value { u64 count; char comm[16]; }`; the map is per-CPU, so each value
  // arrives as an array with one { count: bigint, comm: string } per possible CPU.
  const counts = obj.map<{ pid: number; syscall_id: number }, { count: bigint; comm: string }[]>('counts');

  let since = Date.now();
  const print = (): void => {
    // 4. Read and reset in one pass: drain() is BPF_MAP_LOOKUP_AND_DELETE_BATCH, so
    //    every count is reported exactly once, even while the kernel keeps counting.
    const entries = counts.drain();
    const seconds = ((Date.now() - since) / 1000).toFixed(1);
    since = Date.now();

    // Sum the CPUs' copies, then group by process.
    const procs = new Map<number, { comm: string; total: bigint; calls: [string, bigint][] }>();
    let total = 0n;
    for (const [key, perCpu] of entries) {
      let n = 0n;
      let comm = '';
      for (const v of perCpu) {
        n += v.count;
        comm ||= v.comm; // CPUs that never saw this key have an empty copy
      }
      if (n === 0n) continue;
      let proc = procs.get(key.pid);
      if (!proc) procs.set(key.pid, (proc = { comm, total: 0n, calls: [] }));
      proc.total += n;
      proc.calls.push([syscallName(key.syscall_id), n]);
      total += n;
    }

    // Top processes by their total, each with its top three syscalls.
    const byCount = (a: bigint, b: bigint): number => (b > a ? 1 : b < a ? -1 : 0);
    const lines = [...procs]
      .sort(([, a], [, b]) => byCount(a.total, b.total))
      .slice(0, top)
      .map(([pid, p]) => {
        const calls = p.calls.sort((a, b) => byCount(a[1], b[1])).slice(0, 3);
        const list = calls.map(([name, n]) => `${name} ${n}`).join(', ');
        return `${String(pid).padStart(8)}  ${p.comm.padEnd(16)}${p.total.toString().padStart(10)}  ${list}`;
      });
    console.log(
      `${new Date().toISOString()}  ${total} syscalls by ${procs.size} process${procs.size === 1 ? '' : 'es'} in ${seconds} s\n` +
        `     PID  COMM                 COUNT  TOP SYSCALLS\n${lines.join('\n') || '   (none)'}\n`,
    );
  };

  // 5. Stop on Ctrl-C, SIGTERM or --duration: each aborts `stop`, which ends the loop.
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  if (args.duration) setTimeout(() => stop.abort(), Number(args.duration) * 1000).unref();
  console.log(`counting syscalls${args.pid ? ` of pid ${args.pid}` : ''}; Ctrl-C to stop`);

  // 6. Print every --interval seconds until then; once more at the end, then close.
  try {
    for await (const _ of setInterval(Number(args.interval) * 1000, undefined, { signal: stop.signal })) print();
  } catch (e) {
    if (!stop.signal.aborted) throw e;
  }
  print(); // what was counted since the last interval
  obj.close(); // detaches the program and frees the maps
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
