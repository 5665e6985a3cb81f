// Running the examples (build/examples/<name>/index.js) as their users do: a separate
// node process, its output read line by line, stopped with Ctrl-C (SIGINT).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { Btf } from 'node-libbpf';
import { until } from './events';
import { root } from './helpers';
import { kernelAllows, type GatedKind } from './kernel';

export interface ExampleResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunningExample {
  pid: number;
  /** The stdout lines printed so far. */
  lines: string[];
  /** Resolves once some line satisfies `pred`; rejects if the example exits first. */
  waitFor(pred: (line: string) => boolean, what: string, ms?: number): Promise<string>;
  /** Resolves once `pred(lines)` holds. */
  waitForLines(pred: (lines: string[]) => boolean, what: string, ms?: number): Promise<void>;
  /** Sends SIGINT (Ctrl-C) and resolves with the exit code and everything printed. */
  stop(): Promise<ExampleResult>;
  /** Resolves when the example exits on its own. */
  exited: Promise<ExampleResult>;
}

/**
 * Starts build/examples/<name>/index.js with `args`; `cleanup` (cleanupAfterEach's
 * registrar) kills it after the test if it is still running.
 */
export function startExample(name: string, args: string[], cleanup: (f: () => void) => void): RunningExample {
  const proc: ChildProcessWithoutNullStreams = spawn(process.execPath, [path.join(root, 'build/examples', name, 'index.js'), ...args], { cwd: root });
  cleanup(() => proc.kill('SIGKILL'));
  const lines: string[] = [];
  let stderr = '';
  let done = false;
  proc.stderr.on('data', (d) => (stderr += d));
  const stdoutClosed = new Promise<void>((resolve) => readline.createInterface({ input: proc.stdout }).on('line', (l) => lines.push(l)).on('close', resolve));
  const exited = new Promise<ExampleResult>((resolve) => {
    proc.on('close', async (code) => {
      await stdoutClosed;
      done = true;
      resolve({ code, stdout: lines.map((l) => `${l}\n`).join(''), stderr });
    });
  });
  const waitForLines = async (pred: (l: string[]) => boolean, what: string, ms = 120000): Promise<void> => {
    await until(() => pred(lines) || done, what, ms);
    if (!pred(lines)) throw new Error(`${name} exited before ${what}:\n${lines.join('\n')}\n${stderr}`);
  };
  return {
    pid: proc.pid!,
    lines,
    waitForLines,
    async waitFor(pred, what, ms) {
      await waitForLines((l) => l.some(pred), what, ms);
      return lines.find(pred)!;
    },
    stop() {
      proc.kill('SIGINT');
      return exited;
    },
    exited,
  };
}

/** Runs build/examples/<name>/index.js to its end. */
export function runExample(name: string, args: string[], cleanup: (f: () => void) => void): Promise<ExampleResult> {
  return startExample(name, args, cleanup).exited;
}

export interface GatedPython {
  pid: number;
  /** Lets the child run its `code`; resolves once it wrote 'done' (it then waits for stdin to close). */
  go(): Promise<void>;
}

/**
 * A python3 child that prints 'ready', waits for a line on stdin, runs `code`, writes
 * 'done\n' (one write() of 5 bytes) and then blocks until stdin closes: its pid is known
 * before it acts, and it is idle afterwards. `setup` runs before 'ready'.
 */
export function gatedPython(code: string, cleanup: (f: () => void) => void, setup = ''): Promise<GatedPython> {
  const script = ['import os, sys, signal, threading', setup, "print('ready', flush=True)", 'sys.stdin.readline()', code, "os.write(1, b'done\\n')", 'sys.stdin.read()'].join('\n');
  const child = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  cleanup(() => {
    child.stdin.end();
    child.kill();
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const word = (w: string): Promise<void> => until(() => out.includes(w) || child.exitCode !== null, `python to print '${w}'`, 120000).then(() => {
    if (!out.includes(w)) throw new Error(`python exited (${child.exitCode}) before '${w}': ${out}`);
  });
  return word('ready').then(() => ({
    pid: child.pid!,
    go: () => {
      child.stdin.write('go\n');
      return word('done');
    },
  }));
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The kernel function every unlink goes through: do_unlinkat(), renamed filename_unlinkat() in newer kernels (7.2). */
export function unlinkFunction(): string {
  return Btf.fromKernel().find('do_unlinkat', 'func') ? 'do_unlinkat' : 'filename_unlinkat';
}

/**
 * The tests of examples/fentry and examples/kprobe: both report this process's unlink()
 * calls, the file's name at entry and do_unlinkat()'s result at exit (0, or -2 for a
 * missing file). Where the kernel refuses the kind (the development host: fentry loads
 * get EPERM, and it has no kprobes), the example exits 1 with the BpfError saying so.
 */
export function unlinkTracerTests(c: { example: string; kind: GatedKind; entry: string; exit: string; ready: string }, cleanup: (f: () => void) => void): void {
  const { example, kind, entry, exit, ready } = c;
  if (kernelAllows(kind)) {
    test("reports this process's unlink() calls at entry and exit, with the result", async () => {
      const run = startExample(example, [], cleanup);
      await run.waitFor((l) => l === ready, 'the agent to start');
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `nlb-${example}-`));
      cleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
      const present = path.join(dir, 'present');
      const missing = path.join(dir, 'missing');
      fs.writeFileSync(present, 'x');
      fs.unlinkSync(present);
      expect(() => fs.unlinkSync(missing)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
      const mine = (l: string): boolean => new RegExp(` ${process.pid}  ${escape(dir)}/`).test(l);
      await run.waitForLines((ls) => ls.filter(mine).length === 4, 'four events of this process');
      const { code, stdout, stderr } = await run.stop();
      expect(stderr).toBe('');
      expect(code).toBe(0);
      const at = (where: string, file: string, suffix = ''): RegExp => new RegExp(`^${where} +\\S.{0,15} +${process.pid}  ${escape(file)}${escape(suffix)}$`, 'm');
      const events = stdout.split('\n').filter(mine).join('\n');
      expect(events).toMatch(at(entry, present));
      expect(events).toMatch(at(exit, present, ' = 0'));
      expect(events).toMatch(at(entry, missing));
      expect(events).toMatch(at(exit, missing, ' = -2'));
    });
  } else if (kind === 'fentry') {
    test('is refused at load with EPERM: the example exits 1 with the BpfError', async () => {
      const { code, stdout, stderr } = await runExample(example, [], cleanup);
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/^BpfError: .*prog 'unlink_(entry|exit)': BPF program load failed/);
      expect(stderr).toMatch(/code: 'EPERM'/);
      expect(stderr).toMatch(/this kernel refuses (BPF )?fentry programs even for root: kernel lockdown/);
    });
  } else {
    test('loads, and attaching fails with ENOENT (no kprobes): the example exits 1 with the BpfError', async () => {
      const { code, stdout, stderr } = await runExample(example, [], cleanup);
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toMatch(new RegExp(`^BpfError: .*prog 'unlink_entry': failed to create kprobe '${unlinkFunction()}\\+0x0' perf event`));
      expect(stderr).toMatch(/code: 'ENOENT'/);
      expect(stderr).toMatch(/CONFIG_KPROBES/);
    });
  }
}
