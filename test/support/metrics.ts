// The metrics tests' BPF side: metrics_hist.bpf.o loaded and attached, traced process set,
// and a child that calls getpgid(arg) for known arguments, so every count is exact.
import { spawn } from 'node:child_process';
import { BpfObject, RingBuffer, type Link, type RawEvent } from 'node-libbpf';
import { fixture } from './helpers';

/** The getpgid() arguments the child passes, and what the fixture's maps then hold. */
export const ARGS = [0, 1, 2, 3, 5, 8, 100, 1000, 1000, 70000];
export const EXPECTED = {
  calls: ARGS.length,
  sum: ARGS.reduce((a, b) => a + b, 0), // 72119
  // log2 slots, as cumulative counts at each bound le = 2^(k+1)-1 (slots 0 1 2 3 6 9 16 filled)
  log2: { 1: 2, 3: 4, 7: 5, 15: 6, 31: 6, 63: 6, 127: 7, 255: 7, 511: 7, 1023: 9, 131071: 10 } as Record<number, number>,
  // linear step 4, 10 slots, clamped into the last: le = 4(i+1)-1
  linear: { 3: 4, 7: 5, 11: 6, 15: 6, 35: 6, 39: 10 } as Record<number, number>,
  argClass: { 0: 6, 1: 4 } as Record<number, number>,
};

export interface Traced {
  obj: BpfObject;
  link: Link;
  rb: RingBuffer;
  records: number[];
  /** The child's pid, counted; resolves once its calls were made and the ring drained. */
  pid: number;
  run(): Promise<void>;
  close(): void;
}

/** Loads the fixture (with verifier statistics), attaches it, and readies a child whose pid is traced. */
export async function traced(): Promise<Traced> {
  const obj = BpfObject.open(fixture('metrics_hist'), { logLevel: 4 });
  await obj.load();
  const link = obj.program('on_getpgid').attach();
  const records: number[] = [];
  const rb = new RingBuffer(obj.map('events'), (e: RawEvent) => records.push(e.view.getUint32(e.offset, true)), { raw: true });
  const script = `import os, sys\nprint('ready', flush=True)\nsys.stdin.readline()\nfor a in ${JSON.stringify(ARGS)}:\n  try: os.getpgid(a)\n  except OSError: pass\n`;
  const child = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'ignore'] });
  const exited = new Promise<void>((res, rej) => child.on('exit', (code, signal) => (code === 0 ? res() : rej(new Error(`child exited with ${code ?? signal}`)))));
  exited.catch(() => undefined);
  await new Promise<void>((res, rej) => {
    child.on('error', rej);
    child.stdout!.once('data', () => res());
  });
  obj.globals.target_pid = child.pid!;
  return {
    obj,
    link,
    rb,
    records,
    pid: child.pid!,
    run: async () => {
      child.stdin!.end('go\n');
      await exited;
      rb.consume();
    },
    close: () => {
      child.kill();
      obj.close();
    },
  };
}
