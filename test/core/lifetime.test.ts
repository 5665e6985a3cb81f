// Lifetimes: the addon in worker threads, fd accounting over many open/load/attach/close
// cycles, GC of unclosed objects, and receiver/constructor checks on the raw native classes.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { BpfObject } from 'node-libbpf';
import { distDir, expectThrows, fdCount, fixture, gcAndSettle, root, triggerGetpgid } from '../support/helpers';

const BASIC = fixture('basic');

// Runs in a worker: open, load, attach, trigger getpgid() in a child, read its count.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { spawn } = require('node:child_process');
const { BpfObject } = require(workerData.dist);
function trigger(n) {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', 'import os\\nfor _ in range(' + n + '): os.getpgid(0)'], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(child.pid) : reject(new Error('child exited with ' + code))));
  });
}
(async () => {
  const obj = BpfObject.open(workerData.fixture);
  await obj.load();
  const links = obj.attach();
  const pid = await trigger(workerData.n);
  const count = obj.map('counts').get(pid);
  const closed = !workerData.leak;
  if (closed) obj.close();
  parentPort.postMessage({ pid, count: String(count), links: links.length, closed, fd: obj.closed ? -1 : obj.program('count_getpgid').fd });
})().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
`;

interface WorkerResult {
  exitCode: number;
  message: { pid?: number; count?: string; links?: number; closed?: boolean; error?: string };
}

function runWorker(data: { n: number; leak?: boolean }): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { eval: true, workerData: { ...data, dist: distDir(), fixture: BASIC } });
    let message: WorkerResult['message'] = {};
    worker.on('message', (m) => (message = m));
    worker.on('error', reject);
    worker.on('exit', (exitCode) => resolve({ exitCode, message }));
  });
}

describe('worker threads', () => {
  beforeAll(() => {
    distDir(); // build dist/ once, outside the timed tests
  }, 60000);

  test('open, load, attach, count and close in a worker', async () => {
    const { exitCode, message } = await runWorker({ n: 4 });
    expect(message.error).toBeUndefined();
    expect(exitCode).toBe(0);
    expect(message.links).toBe(1);
    expect(message.count).toBe('4');
    expect(message.pid).toBeGreaterThan(0);
  });

  test('two workers at once and the main thread, each with its own object', async () => {
    const main = BpfObject.open(BASIC);
    try {
      await main.load();
      main.attach();
      const [a, b, mainPid] = await Promise.all([runWorker({ n: 5 }), runWorker({ n: 6 }), triggerGetpgid(7)]);
      for (const r of [a, b]) {
        expect(r.message.error).toBeUndefined();
        expect(r.exitCode).toBe(0);
      }
      expect(a.message.count).toBe('5');
      expect(b.message.count).toBe('6');
      // Every object counts every process's calls: the main thread's object saw all three.
      const counts = main.map('counts');
      expect(counts.get(mainPid)).toBe(7n);
      expect(counts.get(a.message.pid!)).toBe(5n);
      expect(counts.get(b.message.pid!)).toBe(6n);
    } finally {
      main.close();
    }
  });

  test('a worker that exits without close() does not crash the process, and its fds are freed', async () => {
    await runWorker({ n: 1 }); // warm-up: the addon and dist/ are loaded in workers at least once
    const before = fdCount();
    const { exitCode, message } = await runWorker({ n: 2, leak: true });
    expect(message.error).toBeUndefined();
    expect(message.closed).toBe(false);
    expect(exitCode).toBe(0);
    expect(message.count).toBe('2');
    // The worker's environment teardown closed what it left open.
    let after = fdCount();
    for (let i = 0; i < 10 && after > before; i++) {
      await gcAndSettle();
      after = fdCount();
    }
    expect(after).toBe(before);
    // The main thread still works.
    const obj = BpfObject.open(BASIC);
    await obj.load();
    obj.attach();
    const pid = await triggerGetpgid(1);
    expect(obj.map('counts').get(pid)).toBe(1n);
    obj.close();
  });
});

describe('fd accounting', () => {
  // Attaching the tracepoint and then detaching it costs ~45 ms in the kernel here
  // (tracepoint unregistration waits for an RCU grace period), so 1000 full cycles
  // would take most of a minute: the 1000 cycles attach the raw tracepoint program
  // (cheap detach) and another 50 cycles use attach() on the tracepoint.
  test('1000 open/load/attach/close cycles leak no fds', async () => {
    const cycle = async (auto: boolean): Promise<void> => {
      const obj = BpfObject.open(BASIC);
      await obj.load();
      if (auto) expect(obj.attach()).toHaveLength(1);
      else obj.program('raw_any').attachRawTracepoint('sys_enter');
      obj.map('counts').set(1, 1n);
      void obj.globals.calls;
      obj.close();
    };
    await cycle(true);
    await cycle(false);
    const before = fdCount();
    for (let i = 0; i < 1000; i++) await cycle(false);
    expect(fdCount()).toBe(before);
    for (let i = 0; i < 50; i++) await cycle(true);
    expect(fdCount()).toBe(before);
  }, 60000);

  test('failed loads leak no fds', async () => {
    const reject = fixture('verifier_reject');
    const once = async (): Promise<void> => {
      const obj = BpfObject.open(reject);
      await expect(obj.load()).rejects.toThrow();
      obj.close();
    };
    await once();
    const before = fdCount();
    for (let i = 0; i < 20; i++) await once();
    expect(fdCount()).toBe(before);
  });

  test('GC of an unclosed, loaded BpfObject frees its fds within a few GC rounds', async () => {
    // Warm up (lazy fds of the runtime), then make 5 objects and drop them unclosed.
    await (async () => {
      const o = BpfObject.open(BASIC);
      await o.load();
      o.close();
    })();
    for (let i = 0; i < 3; i++) await gcAndSettle();
    const before = fdCount();
    await (async () => {
      for (let i = 0; i < 5; i++) {
        const obj = BpfObject.open(BASIC);
        await obj.load();
        obj.map('counts').set(1, 1n);
        void obj.globals.calls; // mmap()ed memory views too
        void obj.program('count_getpgid').fd;
      }
    })();
    expect(fdCount()).toBeGreaterThan(before + 5 * 10); // 10 maps and 2 programs each
    let after = fdCount();
    for (let i = 0; i < 10 && after > before; i++) {
      await gcAndSettle();
      after = fdCount();
    }
    expect(after).toBe(before);
  });
});

describe('native classes', () => {
  const native = require(path.join(root, 'build', 'Release', 'node_libbpf.node'));

  test('methods on a foreign receiver throw TypeError "Illegal invocation..."', () => {
    expectThrows(() => native.NativeMap.prototype.lookup.call({}), 'TypeError', /^Illegal invocation/);
    expectThrows(() => native.NativeObject.prototype.close.call(undefined), 'TypeError', /^Illegal invocation/);
    expectThrows(() => native.NativeProgram.prototype.attach.call(5), 'TypeError', /^Illegal invocation/);
    expectThrows(() => native.NativeLink.prototype.destroy.call({}), 'TypeError', /^Illegal invocation/);
  });

  test('a method borrowed onto another native class throws TypeError', () => {
    const obj = native.NativeObject.open(BASIC, {});
    try {
      const map = obj.maps()[0];
      const prog = obj.programs()[0];
      expectThrows(() => native.NativeObject.prototype.close.call(map), 'TypeError', 'Illegal invocation: receiver is not a NativeObject');
      expectThrows(() => native.NativeMap.prototype.name.call(obj), 'TypeError', 'Illegal invocation: receiver is not a NativeMap');
      expectThrows(() => native.NativeProgram.prototype.name.call(map), 'TypeError', 'Illegal invocation: receiver is not a NativeProgram');
      expectThrows(() => native.NativeLink.prototype.fd.call(prog), 'TypeError', 'Illegal invocation: receiver is not a NativeLink');
      expectThrows(() => native.NativeMap.prototype.lookup.call(prog, Buffer.alloc(4), Buffer.alloc(8), 0), 'TypeError', /^Illegal invocation/);
      // The real receivers still work.
      expect(map.name()).toBe('counts');
      expect(prog.name()).toBe('count_getpgid');
    } finally {
      obj.close();
    }
  });

  test('`new` on the native classes throws TypeError', () => {
    for (const cls of ['NativeObject', 'NativeProgram', 'NativeMap', 'NativeLink']) {
      expectThrows(() => new native[cls](), 'TypeError', `Illegal constructor: ${cls} is created by the library`);
    }
  });

  test('element calls with wrong-sized buffers cannot overrun', () => {
    const obj = native.NativeObject.open(BASIC, {});
    return obj
      .load()
      .then(() => {
        const map = obj.maps()[0]; // counts: 4-byte keys, 8-byte values
        expect(() => map.lookup(Buffer.alloc(1), Buffer.alloc(8), 0)).toThrow();
        expect(() => map.lookup(Buffer.alloc(4), Buffer.alloc(1), 0)).toThrow();
        expect(() => map.update(Buffer.alloc(4), Buffer.alloc(2), 0)).toThrow();
        expect(() => map.nextKey(null, Buffer.alloc(1))).toThrow();
        expect(() => map.lookup('abcd', Buffer.alloc(8), 0)).toThrow();
        // The bound single-element buffers are size-checked once, when bound.
        expect(() => map.bindSlots(Buffer.alloc(3), Buffer.alloc(8))).toThrow();
        expect(() => map.bindSlots(Buffer.alloc(4), Buffer.alloc(7))).toThrow();
      })
      .finally(() => obj.close());
  });

  // get()/set() run on functions bound to the map (no receiver check on the hot path):
  // they must stay as safe as the methods.
  test('bound slot functions ignore their receiver and fail cleanly once the object is closed', async () => {
    const obj = native.NativeObject.open(BASIC, {});
    const map = obj.maps()[0];
    const key = Buffer.alloc(4), value = Buffer.alloc(8);
    const ops = map.bindSlots(key, value);
    expectThrows(() => ops.lookup(0), 'TypeError', 'BpfObject is not loaded');
    await obj.load();
    key.writeUInt32LE(7);
    value.writeBigUInt64LE(99n);
    ops.update.call({}, 0);
    value.fill(0);
    expect(ops.lookup.call(obj, 0)).toBe(true);
    expect(value.readBigUInt64LE()).toBe(99n);
    expect(ops.delete.call(undefined, 0)).toBe(true);
    expect(ops.lookupAndDelete(0)).toBe(false);
    obj.close();
    for (const op of ['lookup', 'update', 'delete', 'lookupAndDelete']) {
      expectThrows(() => ops[op](0), 'TypeError', 'BpfObject is closed');
    }
  });

  test('a bound slot function keeps its native map alive', async () => {
    const obj = native.NativeObject.open(BASIC, {});
    await obj.load();
    let ops = obj.maps()[0].bindSlots(Buffer.alloc(4), Buffer.alloc(8));
    const lookup = ops.lookup;
    ops = undefined;
    for (let i = 0; i < 3; i++) await gcAndSettle();
    expect(lookup(0)).toBe(false);
    obj.close();
  });
});
