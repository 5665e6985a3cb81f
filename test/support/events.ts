// Helpers for the event buffer tests (RingBuffer, PerfBuffer, UserRingBuffer): a paced
// getpgid() child, waiting for a condition, running a script in a fresh node.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as readline from 'node:readline';
import { Worker } from 'node:worker_threads';

/** A python child that makes `n` getpgid() calls per line it reads, answering each with a line; pinned to `cpu` if given. */
export class Trigger {
  readonly child: ChildProcessWithoutNullStreams;
  readonly #lines: string[] = [];
  #wake: (() => void) | undefined;

  constructor(cpu?: number) {
    const pin = cpu === undefined ? '' : `os.sched_setaffinity(0, {${cpu}})\n`;
    const code = `import os, sys\n${pin}print("ready", flush=True)\nfor line in iter(sys.stdin.readline, ""):\n    for _ in range(int(line)): os.getpgid(0)\n    print("ok", flush=True)\n`;
    this.child = spawn('python3', ['-c', code]);
    readline.createInterface({ input: this.child.stdout }).on('line', (l) => {
      this.#lines.push(l);
      this.#wake?.();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  async #line(): Promise<string> {
    while (this.#lines.length === 0) await new Promise<void>((r) => (this.#wake = r));
    return this.#lines.shift()!;
  }

  ready(): Promise<string> {
    return this.#line();
  }

  /** `calls` getpgid() calls; resolves when the child made them. */
  async fire(calls = 1): Promise<void> {
    this.child.stdin.write(`${calls}\n`);
    expect(await this.#line()).toBe('ok');
  }

  close(): void {
    this.child.stdin.end();
  }
}

export function until(cond: () => boolean, what: string, ms = 20000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (cond()) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(check, 2);
    };
    check();
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `script` in a new node; kills it after `timeoutMs`, or `afterReadyMs` after it printed 'ready'. */
export function runNode(script: string, timeoutMs = 20000, afterReadyMs?: number): Promise<{ code: number | null; stdout: string; stderr: string; killed: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', script]);
    let stdout = '';
    let stderr = '';
    let killed = false;
    const kill = (): void => {
      killed = true;
      child.kill('SIGKILL');
    };
    let timer = setTimeout(kill, timeoutMs);
    child.stdout.on('data', (d) => {
      stdout += d;
      if (afterReadyMs !== undefined && stdout.includes('ready')) {
        clearTimeout(timer);
        timer = setTimeout(kill, afterReadyMs);
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, killed });
    });
  });
}

/**
 * The ref()/unref() pair of tests for an event buffer class: a child node opens one on
 * `map` of `fixture` with a no-op callback; unref()ed it exits, ref()ed it stays.
 */
export function refUnrefTests(cls: string, fixture: string, map: string, dist: () => string): void {
  const script = (unref: boolean): string => `
    const { BpfObject, ${cls} } = require(${JSON.stringify(dist())});
    (async () => {
      const obj = BpfObject.open(${JSON.stringify(fixture)});
      await obj.load();
      obj.attach();
      const events = new ${cls}(obj.map(${JSON.stringify(map)}), () => {});
      ${unref ? 'events.unref();' : 'events.unref(); events.ref();'}
      console.log('ready');
    })();
  `;

  test(`an unref()ed ${cls} does not keep the process alive`, async () => {
    const { code, stdout } = await runNode(script(true), 20000);
    expect(stdout.trim()).toBe('ready');
    expect(code).toBe(0);
  });

  test('a ref()ed one does', async () => {
    const { code, stdout, killed } = await runNode(script(false), 30000, 1500);
    expect(stdout.trim()).toBe('ready');
    expect(killed).toBe(true);
    expect(code).toBe(null);
  });
}

/**
 * Runs `code` in a worker with workerData { n, leak, dist, fixture }. When it posts
 * 'ready', `trigger()` runs; its next message is the result. `leak`: the worker is
 * terminated then, with its buffer still open.
 */
export function runWorker(code: string, data: { n: number; leak: boolean; dist: string; fixture: string }, trigger: () => void): Promise<{ exitCode: number; result: any }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, workerData: data });
    let result: any;
    worker.on('message', (m) => {
      if (m === 'ready') {
        trigger();
      } else {
        result = m;
        if (data.leak) void worker.terminate();
      }
    });
    worker.on('error', reject);
    worker.on('exit', (exitCode) => resolve({ exitCode, result }));
  });
}
