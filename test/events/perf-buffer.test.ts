// PerfBuffer against the real kernel: a tracepoint on getpgid() writes samples with a
// per-CPU sequence number into a perf event array (bpf_perf_event_output); children of
// this process make the calls, either synchronously (the event loop is blocked meanwhile,
// so nothing is read until the test says so) or from a paced child that keeps running.
import { execFileSync } from 'node:child_process';
import { BpfObject, PerfBuffer, type BpfMap, type RawEvent } from 'node-libbpf';
import { INTERNAL } from '../../src/ts/base/internal';
import { addon } from '../../src/ts/base/native';
import { refUnrefTests, runNode, runWorker, sleep, Trigger, until } from '../support/events';
import { distDir, expectError, expectThrows, fixture, gcAndSettle, rejection } from '../support/helpers';
import { kernelAtLeast } from '../support/kernel';

// Before 5.17 (no bpf_loop()) the same program emits from a bounded loop, at most 1024
// samples per getpgid() call: tests wanting more make several calls, on every kernel.
const FIXTURE = fixture(kernelAtLeast(5, 17) ? 'perfbuf_events' : 'perfbuf_events_noloop');
const SAMPLE_BYTES = 40; // sizeof(struct sample_event)
const SAMPLE_LENGTH = 44; // as the kernel pads it: 4-byte size word + data, 8-aligned

interface Sample {
  seq: bigint;
  pid: number;
  cpu: number;
  comm: string;
  value: bigint;
}

function expected(seq: number, pid: number, cpu: number): Sample {
  return { seq: BigInt(seq), pid, cpu, comm: 'python3', value: 0xfedcba9876543210n ^ BigInt(seq) };
}

const opened: BpfObject[] = [];
const buffers: PerfBuffer[] = [];

async function load(): Promise<BpfObject> {
  const obj = BpfObject.open(FIXTURE);
  opened.push(obj);
  await obj.load();
  obj.attach();
  obj.globals.target_ppid = process.pid;
  return obj;
}

function track<T extends PerfBuffer>(pb: T): T {
  buffers.push(pb);
  return pb;
}

/** `calls` getpgid() calls from a child (on `cpu` if given), synchronously: nothing is read meanwhile. Returns its pid. */
function fireSync(obj: BpfObject, events: number, opts: { tiny?: number; cpu?: number; calls?: number } = {}): number {
  obj.globals.n_events = events;
  obj.globals.n_tiny = opts.tiny ?? 0;
  const pin = opts.cpu === undefined ? '' : `os.sched_setaffinity(0, {${opts.cpu}})\n`;
  const code = `import os\n${pin}for _ in range(${opts.calls ?? 1}): os.getpgid(0)\nprint(os.getpid())`;
  return Number(execFileSync('python3', ['-c', code], { encoding: 'utf8' }).trim());
}

/** Samples by CPU, in arrival order. */
function byCpu(samples: [number, Sample][]): Map<number, bigint[]> {
  const out = new Map<number, bigint[]>();
  for (const [cpu, s] of samples) {
    expect(s.cpu).toBe(cpu); // the CPU the callback was told is the one the sample was written on
    if (!out.has(cpu)) out.set(cpu, []);
    out.get(cpu)!.push(s.seq);
  }
  return out;
}

afterEach(() => {
  for (const pb of buffers.splice(0)) pb.close();
  for (const obj of opened.splice(0)) obj.close();
});

describe('delivery', () => {
  test('every sample, in order per CPU, once, across many bounded batches', async () => {
    const obj = await load();
    const trigger = new Trigger();
    try {
      await trigger.ready();
      obj.globals.target_pid = trigger.pid;
      obj.globals.target_ppid = 0;
      obj.globals.n_events = 500;
      const got: [number, Sample][] = [];
      const perTurn = new Map<number, number>();
      let turn = 0;
      let ticking = true;
      const tick = (): void => {
        turn++;
        if (ticking) setImmediate(tick);
      };
      setImmediate(tick);
      const pb = track(new PerfBuffer<Sample>(obj.map('events'), (s, cpu) => {
        got.push([cpu, s]);
        perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1);
      }, { type: 'struct sample_event', maxBatch: 64 }));
      try {
        while (got.length < 20_000) {
          await trigger.fire();
          await until(() => got.length === Number(obj.globals.sent), `${obj.globals.sent} samples`);
        }
      } finally {
        ticking = false;
      }
      expect(obj.globals.failed).toBe(0n);
      const cpus = byCpu(got);
      for (const [cpu, seqs] of cpus) {
        for (let i = 0; i < seqs.length; i++) if (seqs[i] !== BigInt(i)) throw new Error(`cpu ${cpu}: sample ${i} has seq ${seqs[i]}`);
      }
      expect([...cpus.values()].reduce((n, s) => n + s.length, 0)).toBe(got.length);
      // Bounded work per loop turn: batches of at most maxBatch; a turn may hold two (the
      // idle handle's and the poll handle's), never an unbounded drain.
      const most = Math.max(...perTurn.values());
      expect(most).toBeGreaterThanOrEqual(64);
      expect(most).toBeLessThanOrEqual(2 * 64);
      expect(pb.stats()).toEqual({ delivered: got.length, lost: 0, queued: 0, buffers: addon.numPossibleCpus(), pageCount: 64 });
    } finally {
      trigger.close();
    }
  });

  test('decodes a struct, eagerly; the callback gets the CPU', async () => {
    const obj = await load();
    const got: [number, Sample][] = [];
    track(new PerfBuffer<Sample>(obj.map('events'), (s, cpu) => got.push([cpu, s]), { type: 'sample_event' }));
    const pid = fireSync(obj, 3, { cpu: 0 });
    await until(() => got.length === 3, '3 samples');
    expect(got).toEqual([0, 1, 2].map((seq) => [0, expected(seq, pid, 0)]));
  });

  test('decodes lazily: getters over the staged sample, valid during the callback', async () => {
    const obj = await load();
    const seen: unknown[] = [];
    let same: unknown;
    const pb = track(new PerfBuffer(obj.map('events'), (s) => {
      same ??= s;
      expect(s).toBe(same); // one reused object
      seen.push({ seq: s.seq, pid: s.pid, cpu: s.cpu, comm: s.comm, value: s.value });
      expect(s.materialize()).toEqual(seen[seen.length - 1]);
    }, { type: 'struct sample_event', lazy: true }));
    const pid = fireSync(obj, 4, { cpu: 1 % addon.numPossibleCpus() });
    expect(pb.consume()).toBe(4);
    const cpu = 1 % addon.numPossibleCpus();
    expect(seen).toEqual([0, 1, 2, 3].map((seq) => expected(seq, pid, cpu)));
  });

  test('raw samples: a view, offset and length valid during the callback, copy() to keep', async () => {
    const obj = await load();
    const copies: Buffer[] = [];
    const records: RawEvent[] = [];
    const cpus: number[] = [];
    const pb = track(new PerfBuffer<RawEvent>(obj.map('events'), (e, cpu) => {
      records.push(e);
      cpus.push(cpu);
      expect(e.view).toBeInstanceOf(DataView);
      expect(e.length).toBe(SAMPLE_LENGTH);
      expect(e.view.getUint32(e.offset + 12, true)).toBe(cpu);
      copies.push(e.copy());
    }, { raw: true }));
    const pid = fireSync(obj, 5, { cpu: 0 });
    expect(pb.consume()).toBe(5);
    expect(new Set(records).size).toBe(1); // one reused object
    expect(cpus).toEqual([0, 0, 0, 0, 0]);
    copies.forEach((b, i) => {
      expect(b).toBeInstanceOf(Buffer);
      expect(b.length).toBe(SAMPLE_LENGTH);
      expect(b.readBigUInt64LE(0)).toBe(BigInt(i));
      expect(b.readUInt32LE(8)).toBe(pid);
      expect(b.toString('latin1', 16, 23)).toBe('python3');
      expect(b.readBigUInt64LE(32)).toBe(0xfedcba9876543210n ^ BigInt(i));
    });
  });

  test('without options: raw, since perf event arrays have no value type', async () => {
    const obj = await load();
    let first: unknown;
    const pb = track(new PerfBuffer(obj.map('tiny'), (e) => (first ??= { length: e.length, tag: e.view.getUint32(e.offset, true) })));
    fireSync(obj, 0, { tiny: 1 });
    expect(pb.consume()).toBe(1);
    expect(first).toEqual({ length: 4, tag: 0 });
  });

  test('consume() delivers what the buffers hold now, past maxBatch, and returns the count', async () => {
    const obj = await load();
    let n = 0;
    const pb = track(new PerfBuffer(obj.map('events'), () => n++, { type: 'sample_event', maxBatch: 4 }));
    expect(pb.consume()).toBe(0);
    fireSync(obj, 37, { calls: 2 });
    expect(pb.consume()).toBe(74);
    expect(n).toBe(74);
    expect(pb.consume()).toBe(0);
    expect(pb.stats()).toMatchObject({ delivered: 74, lost: 0 });
  });

  test('a batch bigger than the staging arena (64 KiB, 1024 samples): the arena grows, delivery goes on, decoded and raw', async () => {
    const obj = await load();
    const seqs: bigint[] = [];
    const decoded = track(new PerfBuffer<Sample>(obj.map('events'), (s) => seqs.push(s.seq), { type: 'sample_event' }));
    fireSync(obj, 1000, { cpu: 0, calls: 3 }); // 3000 samples of 48 bytes fit one CPU's 256 KiB
    expect(obj.globals.failed).toBe(0n);
    expect(decoded.consume()).toBe(3000);
    expect(seqs).toEqual(Array.from({ length: 3000 }, (_, i) => BigInt(i)));
    decoded.close();

    const raw: bigint[] = [];
    const lengths = new Set<number>();
    const pb = track(new PerfBuffer<RawEvent>(obj.map('events'), (e) => {
      raw.push(e.view.getBigUint64(e.offset, true));
      lengths.add(e.length);
    }));
    fireSync(obj, 1000, { cpu: 0, calls: 3 });
    expect(pb.consume()).toBe(3000);
    expect(raw).toEqual(Array.from({ length: 3000 }, (_, i) => BigInt(3000 + i)));
    expect([...lengths]).toEqual([SAMPLE_LENGTH]);
  });
});

describe('lost samples', () => {
  test('a burst into a 1-page buffer while not reading: onLost(cpu, count) and stats().lost, then delivery goes on', async () => {
    const obj = await load();
    const lost: [number, number][] = [];
    const seqs: bigint[] = [];
    const pb = track(new PerfBuffer<Sample>(obj.map('events'), (s) => seqs.push(s.seq), {
      type: 'sample_event',
      pageCount: 1,
      onLost: (cpu, count) => lost.push([cpu, count]),
    }));
    fireSync(obj, 1000, { cpu: 0 }); // 4 KiB hold 85 samples of 48 bytes
    const sent = Number(obj.globals.sent);
    const failed = Number(obj.globals.failed);
    expect(sent + failed).toBe(1000);
    expect(failed).toBeGreaterThan(0);
    expect(pb.consume()).toBe(sent);
    expect(seqs).toEqual(Array.from({ length: sent }, (_, i) => BigInt(i))); // the ones that fit, in order
    // The kernel reports the drops with the next sample that fits on that CPU.
    fireSync(obj, 1, { cpu: 0 });
    await until(() => seqs.length === sent + 1, 'the next sample');
    expect(lost).toEqual([[0, failed]]);
    expect(pb.stats()).toEqual({ delivered: sent + 1, lost: failed, queued: 0, buffers: addon.numPossibleCpus(), pageCount: 1 });
  });

  test('bursts against a live reader: everything sent arrives in order, every drop is reported, memory stays bounded', async () => {
    const obj = await load();
    const trigger = new Trigger(0);
    try {
      await trigger.ready();
      obj.globals.target_pid = trigger.pid;
      obj.globals.target_ppid = 0;
      obj.globals.n_events = 1000; // bursts of 2000: two calls per fire()
      let lostReported = 0;
      let received = 0;
      const pb = track(new PerfBuffer<Sample>(obj.map('events'), (s) => {
        if (s.seq !== BigInt(received)) throw new Error(`sample ${received} has seq ${s.seq}`);
        received++;
      }, { type: 'sample_event', pageCount: 2, maxBatch: 16, onLost: (_cpu, n) => (lostReported += n) }));
      const errors: unknown[] = [];
      pb.on('error', (e) => errors.push(e));
      const heap = process.memoryUsage().arrayBuffers;
      for (let i = 0; i < 20; i++) await trigger.fire(2);
      await until(() => received === Number(obj.globals.sent), 'everything sent');
      obj.globals.n_events = 1; // one more, which carries the report of the last burst's drops
      await trigger.fire();
      // The report comes just before that sample, and a batch may end between the two.
      await until(() => lostReported === Number(obj.globals.failed) && received === Number(obj.globals.sent), 'every drop reported, the last sample');
      expect(errors).toEqual([]);
      expect(obj.globals.failed).toBeGreaterThan(0n);
      expect(received + lostReported).toBe(20 * 2000 + 1);
      expect(pb.stats()).toMatchObject({ delivered: received, lost: lostReported });
      // The staging arena holds at most a batch plus one CPU's buffer (8 KiB): nowhere near 40000 samples.
      expect(process.memoryUsage().arrayBuffers - heap).toBeLessThan(1 << 20);
    } finally {
      trigger.close();
    }
  });
});

describe('errors thrown by the callback', () => {
  test("go to 'error'; the sample counts as consumed and later ones still come, in order", async () => {
    const obj = await load();
    const seqs: number[] = [];
    const errors: unknown[] = [];
    const pb = track(new PerfBuffer<Sample>(obj.map('events'), (s) => {
      const seq = Number(s.seq);
      seqs.push(seq);
      if (seq % 10 === 3) throw new Error(`bad ${seq}`);
    }, { type: 'sample_event', maxBatch: 16 }));
    pb.on('error', (e) => errors.push(e));
    fireSync(obj, 100, { cpu: 0 });
    await until(() => seqs.length === 100, '100 samples');
    expect(seqs).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(errors.map((e) => (e as Error).message)).toEqual(Array.from({ length: 10 }, (_, i) => `bad ${i * 10 + 3}`));
    expect(pb.stats()).toMatchObject({ delivered: 100 });
  });

  test('consume() rethrows, past the sample that threw', async () => {
    const obj = await load();
    const seqs: number[] = [];
    const pb = track(new PerfBuffer<Sample>(obj.map('events'), (s) => {
      seqs.push(Number(s.seq));
      if (s.seq === 2n) throw new RangeError('two');
    }, { type: 'sample_event' }));
    fireSync(obj, 5, { cpu: 0 });
    expectThrows(() => pb.consume(), 'RangeError', 'two');
    expect(pb.consume()).toBe(2);
    expect(seqs).toEqual([0, 1, 2, 3, 4]);
  });

  test("without an 'error' listener: an uncaught exception", async () => {
    const script = `
      const { BpfObject, PerfBuffer } = require(${JSON.stringify(distDir())});
      const { execFileSync } = require('node:child_process');
      (async () => {
        const obj = BpfObject.open(${JSON.stringify(FIXTURE)});
        await obj.load();
        obj.attach();
        obj.globals.target_ppid = process.pid;
        new PerfBuffer(obj.map('events'), () => { throw new Error('callback failed'); });
        execFileSync('python3', ['-c', 'import os; os.getpgid(0)']);
      })();
    `;
    const { code, stderr } = await runNode(script);
    expect(code).not.toBe(0);
    expect(stderr).toContain('callback failed');
  });

  test('a sample smaller than the type is an error, not a misread', async () => {
    const obj = await load();
    const errors: Error[] = [];
    const pb = track(new PerfBuffer(obj.map('tiny'), () => undefined, { type: 'struct sample_event' }));
    pb.on('error', (e) => errors.push(e));
    fireSync(obj, 0, { tiny: 2 });
    await until(() => errors.length === 2, 'two errors');
    expectError(errors[0], 'RangeError', `perf buffer tiny: a record of 4 bytes is smaller than struct sample_event (${SAMPLE_BYTES} bytes)`);
  });
});

describe('async iteration', () => {
  test('yields decoded samples; raw ones are Buffer copies', async () => {
    const obj = await load();
    const pb = track(new PerfBuffer<Sample>(obj.map('events'), { type: 'sample_event' }));
    const pid = fireSync(obj, 5, { cpu: 0 });
    const got: Sample[] = [];
    for await (const s of pb) {
      got.push(s);
      if (got.length === 5) break; // return(): closes
    }
    expect(got).toEqual([0, 1, 2, 3, 4].map((seq) => expected(seq, pid, 0)));
    expect(pb.closed).toBe(true);
    const raw = track(new PerfBuffer<Buffer>(obj.map('tiny'), { raw: true }));
    fireSync(obj, 0, { tiny: 3, cpu: 0 });
    const it = raw[Symbol.asyncIterator]();
    const bufs = [(await it.next()).value, (await it.next()).value, (await it.next()).value];
    expect(bufs.map((b) => [Buffer.isBuffer(b), b.length, b.readUInt32LE(0)])).toEqual([[true, 4, 0], [true, 4, 1], [true, 4, 2]]);
  });

  test('backpressure: a slow consumer, a small buffer: bounded queue, drops reported, no deadlock', async () => {
    const obj = await load();
    const trigger = new Trigger(0);
    try {
      await trigger.ready();
      obj.globals.target_pid = trigger.pid;
      obj.globals.target_ppid = 0;
      obj.globals.n_events = 100;
      const highWaterMark = 8;
      const pb = track(new PerfBuffer<Sample>(obj.map('events'), { type: 'sample_event', highWaterMark, maxBatch: 4, pageCount: 1 }));
      const calls = 50;
      let producerDone = false;
      const producing = (async () => {
        for (let i = 0; i < calls; i++) {
          await trigger.fire();
          await sleep(1);
        }
        obj.globals.n_events = 1;
        await trigger.fire(); // brings the report of earlier drops
        producerDone = true;
      })();
      let received = 0;
      let maxQueued = 0;
      let lostSeen = 0;
      const watchdog = setInterval(() => {
        if (producerDone && received === Number(obj.globals.sent)) {
          lostSeen = pb.stats().lost;
          pb.close();
        }
      }, 5);
      try {
        for await (const s of pb) {
          expect(s.seq).toBe(BigInt(received)); // one CPU: seq counts what was sent, so no gaps
          received++;
          maxQueued = Math.max(maxQueued, pb.stats().queued);
          await sleep(1);
        }
      } finally {
        clearInterval(watchdog);
      }
      await producing;
      expect(Number(obj.globals.failed)).toBeGreaterThan(0);
      expect(maxQueued).toBeLessThanOrEqual(highWaterMark);
      expect(received).toBe(Number(obj.globals.sent));
      expect(lostSeen).toBeGreaterThan(0);
      expect(lostSeen).toBeLessThanOrEqual(Number(obj.globals.failed));
    } finally {
      trigger.close();
    }
  });

  test('an AbortSignal ends the iteration with its reason; an aborted one at once', async () => {
    const obj = await load();
    const controller = new AbortController();
    const pb = track(new PerfBuffer<Sample>(obj.map('events'), { type: 'sample_event', signal: controller.signal }));
    fireSync(obj, 3, { cpu: 0 });
    const got: bigint[] = [];
    const error = await rejection(
      (async () => {
        for await (const s of pb) {
          got.push(s.seq);
          if (got.length === 2) controller.abort(new Error('enough'));
        }
      })(),
    );
    expect(error.message).toBe('enough');
    expect(got).toEqual([0n, 1n]);
    expect(pb.closed).toBe(true);
    const pending = track(new PerfBuffer(obj.map('events'), { signal: AbortSignal.timeout(10) }))[Symbol.asyncIterator]().next();
    expect((await rejection(pending)).name).toBe('TimeoutError');
    const already = track(new PerfBuffer(obj.map('events'), { signal: AbortSignal.abort(new TypeError('stop')) }));
    expect(already.closed).toBe(true);
    expectError(await rejection(already[Symbol.asyncIterator]().next()), 'TypeError', 'stop');
  });

  test('close() while samples are in flight ends the iteration cleanly', async () => {
    const obj = await load();
    const trigger = new Trigger();
    try {
      await trigger.ready();
      obj.globals.target_pid = trigger.pid;
      obj.globals.target_ppid = 0;
      obj.globals.n_events = 50;
      const pb = track(new PerfBuffer<Sample>(obj.map('events'), { type: 'sample_event', highWaterMark: 16 }));
      const pending = track(new PerfBuffer(obj.map('tiny')))[Symbol.asyncIterator]().next();
      buffers[buffers.length - 1].close();
      expect(await pending).toEqual({ value: undefined, done: true });
      let stop = false;
      const producing = (async () => {
        while (!stop) await trigger.fire();
      })();
      let n = 0;
      const it = pb[Symbol.asyncIterator]();
      for (;;) {
        const r = await it.next();
        if (r.done) break;
        if (++n === 10) pb.close(); // queued samples are dropped with the buffer
      }
      stop = true;
      await producing;
      expect(n).toBe(10);
      expect(await it.next()).toEqual({ value: undefined, done: true });
      expectThrows(() => pb.stats(), 'TypeError', 'PerfBuffer is closed');
    } finally {
      trigger.close();
    }
  });
});

describe('process lifetime', () => {
  refUnrefTests('PerfBuffer', FIXTURE, 'events', distDir);

  test('an open PerfBuffer nobody references keeps delivering (an active handle)', async () => {
    const obj = await load();
    let n = 0;
    const weak = (() => new WeakRef(new PerfBuffer(obj.map('events'), () => n++)))();
    await gcAndSettle();
    await gcAndSettle();
    fireSync(obj, 3);
    await until(() => n === 3, 'delivery after GC');
    weak.deref()!.close();
  });
});

describe('worker threads', () => {
  const WORKER = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { BpfObject, PerfBuffer } = require(workerData.dist);
    (async () => {
      const obj = BpfObject.open(workerData.fixture);
      await obj.load();
      obj.attach();
      obj.globals.target_ppid = process.pid;
      obj.globals.n_events = workerData.n;
      const seqs = [];
      const pb = new PerfBuffer(obj.map('events'), (s, cpu) => {
        seqs.push(Number(s.seq));
        if (seqs.length === workerData.n) {
          setImmediate(() => {
            parentPort.postMessage({ seqs, cpu, comm: s.comm, stats: pb.stats() });
            if (!workerData.leak) { pb.close(); obj.close(); }
          });
        }
      }, { type: 'sample_event', maxBatch: 7 });
      parentPort.postMessage('ready');
    })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
  `;

  const run = (n: number, leak: boolean): Promise<{ exitCode: number; result: any }> =>
    runWorker(WORKER, { n, leak, dist: distDir(), fixture: FIXTURE }, () => execFileSync('python3', ['-c', 'import os; os.sched_setaffinity(0, {0}); os.getpgid(0)']));

  beforeAll(() => {
    distDir();
  }, 60000);

  test('a worker reads a perf buffer on its own event loop', async () => {
    const { exitCode, result } = await run(50, false);
    expect(result.error).toBeUndefined();
    expect(result.seqs).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(result.cpu).toBe(0);
    expect(result.comm).toBe('python3');
    expect(result.stats).toMatchObject({ delivered: 50, lost: 0 });
    expect(exitCode).toBe(0);
  });

  test('a worker terminated with its buffer open tears it down', async () => {
    const { exitCode, result } = await run(5, true);
    expect(result.seqs).toEqual([0, 1, 2, 3, 4]);
    expect(exitCode).toBe(1); // terminate()
    const obj = await load();
    const pb = track(new PerfBuffer(obj.map('events'), () => undefined));
    fireSync(obj, 2);
    expect(pb.consume()).toBe(2);
  });
});

describe('close() and misuse', () => {
  test('close() is idempotent; every use after it throws', async () => {
    const obj = await load();
    const pb = new PerfBuffer(obj.map('events'), () => undefined);
    pb.close();
    pb.close();
    pb[Symbol.dispose]();
    expect(pb.closed).toBe(true);
    for (const use of [() => pb.consume(), () => pb.stats(), () => pb.ref(), () => pb.unref()]) {
      expectThrows(use, 'TypeError', 'PerfBuffer is closed');
    }
  });

  test('close() from inside the callback stops the batch; consume() from inside is refused', async () => {
    const obj = await load();
    let n = 0;
    const pb: PerfBuffer = track(new PerfBuffer(obj.map('events'), () => {
      if (++n === 3) pb.close();
    }));
    fireSync(obj, 10, { cpu: 0 });
    expect(pb.consume()).toBe(3);
    expect(pb.closed).toBe(true);
    const errors: Error[] = [];
    const again: PerfBuffer = track(new PerfBuffer(obj.map('events'), () => again.consume()));
    again.on('error', (e) => errors.push(e));
    fireSync(obj, 1);
    await until(() => errors.length === 1, 'the error');
    expectError(errors[0], 'TypeError', 'consume() cannot be called from a PerfBuffer callback');
  });

  test('closing the object closes its PerfBuffers first; one closed on its own is released', async () => {
    const obj = await load();
    const pb = new PerfBuffer(obj.map('events'), () => undefined);
    const iterated = new PerfBuffer(obj.map('tiny'), { raw: true });
    const alone = new PerfBuffer(obj.map('events'), () => undefined);
    alone.close();
    const pending = iterated[Symbol.asyncIterator]().next();
    obj.close();
    expect(pb.closed).toBe(true);
    expect(iterated.closed).toBe(true);
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    expectThrows(() => pb.consume(), 'TypeError', 'PerfBuffer is closed');
  });

  test('wrong maps', async () => {
    const obj = await load();
    expectThrows(() => new PerfBuffer(obj.map('not_perf'), () => undefined), 'TypeError', 'map: expected a perf_event_array map, got "not_perf" (a hash map)');
    expectThrows(() => new PerfBuffer({} as BpfMap, () => undefined), 'TypeError', 'map: expected a BpfMap, got an object');
    const unloaded = BpfObject.open(FIXTURE);
    opened.push(unloaded);
    expectThrows(() => new PerfBuffer(unloaded.map('events'), () => undefined), 'TypeError', 'BpfObject is not loaded');
    const map = obj.map('events');
    obj.close();
    expectThrows(() => new PerfBuffer(map, () => undefined), 'TypeError', 'BpfObject is closed');
  });

  test('bad arguments and options', async () => {
    const obj = await load();
    const map = obj.map('events');
    const cb = (): void => undefined;
    expectThrows(() => new PerfBuffer(map, 42 as never), 'TypeError', 'options: expected an options object, got 42');
    expectThrows(() => new PerfBuffer(map, 'x' as never, {}), 'TypeError', 'callback: expected a function, got "x"');
    expectThrows(() => new PerfBuffer(map, cb, { bogus: 1 } as never), 'TypeError', /^options\.bogus: expected one of the known options/);
    expectThrows(() => new PerfBuffer(map, cb, { highWaterMark: 4 } as never), 'TypeError', /^options\.highWaterMark: expected one of the known options/);
    expectThrows(() => new PerfBuffer(map, { lazy: true } as never), 'TypeError', /^options\.lazy: expected one of the known options/);
    expectThrows(() => new PerfBuffer(map, cb, { pageCount: 3 }), 'RangeError', 'options.pageCount: expected a power of two, got 3');
    expectThrows(() => new PerfBuffer(map, cb, { pageCount: 0 }), 'RangeError', 'options.pageCount: expected an integer 1..1048576, got 0');
    expectThrows(() => new PerfBuffer(map, cb, { maxBatch: 0 }), 'RangeError', 'options.maxBatch: expected an integer 1..2^31-1, got 0');
    expectThrows(() => new PerfBuffer(map, { highWaterMark: -1 }), 'RangeError', 'options.highWaterMark: expected an integer 1..2^31-1, got -1');
    expectThrows(() => new PerfBuffer(map, cb, { onLost: 1 as never }), 'TypeError', 'options.onLost: expected a function, got 1');
    expectThrows(() => new PerfBuffer(map, cb, { raw: true, type: 'sample_event' }), 'TypeError', 'options.type: expected no type with raw: true, got "sample_event"');
    expectThrows(() => new PerfBuffer(map, cb, { lazy: true }), 'TypeError', /^options\.lazy: expected false for a map without a record type/);
    expectThrows(() => new PerfBuffer(map, cb, { type: 'struct nope' }), 'RangeError', /^options\.type: expected a type in the object's BTF .*, got "struct nope"$/);
    expectThrows(() => new PerfBuffer(map, cb, { signal: {} as never }), 'TypeError', 'options.signal: expected an AbortSignal, got an object');
    const pb = track(new PerfBuffer(map, cb));
    expectThrows(() => pb[Symbol.asyncIterator](), 'TypeError', 'this PerfBuffer delivers to a callback; iterate one made without a callback');
    const it = track(new PerfBuffer(obj.map('tiny')));
    it[Symbol.asyncIterator]();
    expectThrows(() => it[Symbol.asyncIterator](), 'TypeError', 'this PerfBuffer is already being iterated');
  });

  test('the native class checks its receiver and cannot be constructed from JS', async () => {
    const Native = (addon as unknown as { NativePerfBuffer: { new (): unknown; prototype: Record<string, Function> } }).NativePerfBuffer;
    expectThrows(() => new Native(), 'TypeError', 'Illegal constructor: NativePerfBuffer is created by the library');
    expectThrows(() => Native.prototype.stage.call({}, 1), 'TypeError', 'Illegal invocation: receiver is not a NativePerfBuffer');
    expectThrows(() => addon.NativePerfBuffer.open({} as never, () => undefined, { pageCount: 1 }), 'TypeError', 'map must be a NativeMap');
    const obj = await load();
    expectThrows(() => addon.NativePerfBuffer.open(obj.map('events').internals(INTERNAL).native, () => undefined, { pageCount: 3 }), 'RangeError', 'pageCount must be a power of two');
    expectThrows(() => addon.NativePerfBuffer.open(obj.map('not_perf').internals(INTERNAL).native, () => undefined, { pageCount: 1 }), 'TypeError', 'map is not a perf_event_array map');
    const native = addon.NativePerfBuffer.open(obj.map('events').internals(INTERNAL).native, () => undefined, { pageCount: 1 });
    native.close();
    native.close();
    expectThrows(() => native.stage(1), 'TypeError', 'PerfBuffer is closed');
  });
});
