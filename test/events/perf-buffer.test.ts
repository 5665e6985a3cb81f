// PerfBuffer against the real kernel: a tracepoint on getpgid() writes samples with a
// per-CPU sequence number into a perf event array (bpf_perf_event_output); children of
// this process make the calls, either synchronously (the event loop is blocked meanwhile,
// so nothing is read until the test says so) or from a paced child that keeps running.
// The contract PerfBuffer shares with RingBuffer runs from describeEventBuffer (contract.ts);
// this file adds what only perf buffers have.
import { execFileSync } from 'node:child_process';
import { BpfObject, PerfBuffer, type RawEvent } from 'node-libbpf';
import { INTERNAL } from '../../src/ts/base/internal';
import { addon } from '../../src/ts/base/native';
import { sleep, Trigger, until } from '../support/events';
import { expectError, expectThrows, fixture, loadFixture } from '../support/helpers';
import { kernelAtLeast } from '../support/kernel';
import { describeEventBuffer } from './contract';

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

const buffers: PerfBuffer[] = [];

function load(): Promise<BpfObject> {
  return loadFixture(FIXTURE, { attach: true, globals: { target_ppid: process.pid } });
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
});

describeEventBuffer({
  name: 'PerfBuffer',
  mapKind: 'perf_event_array',
  fixture: FIXTURE,
  map: 'events',
  type: 'struct sample_event',
  small: 'tiny',
  other: 'not_perf',
  nativeMethod: 'stage',
  openNative: (map) => addon.NativePerfBuffer.open(map as never, () => undefined, { pageCount: 1 }) as never,
  fire: (obj, events, small = 0) => fireSync(obj, events, { tiny: small, cpu: 0 }),
  expected: (seq, pid) => expected(seq, pid, 0) as unknown as Record<string, unknown>,
  rawLength: SAMPLE_LENGTH,
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
      expect(pb.stats()).toEqual({ delivered: got.length, lost: 0, queued: 0, buffers: addon.numPossibleCpus(), pageCount: 64, records: expect.any(Object) });
    } finally {
      trigger.close();
    }
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
    expect(pb.stats()).toEqual({ delivered: sent + 1, lost: failed, queued: 0, buffers: addon.numPossibleCpus(), pageCount: 1, records: expect.any(Object) });
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

describe('short samples', () => {
  // More in short-records.test.ts.
  test('a sample smaller than the type is decoded as far as it goes, and counted short', async () => {
    const obj = await load();
    const got: any[] = [];
    const pb = track(new PerfBuffer(obj.map('tiny'), (e) => got.push(e), { type: 'struct sample_event' }));
    fireSync(obj, 0, { tiny: 2 });
    await until(() => got.length === 2, 'two samples');
    expect(pb.stats().records).toEqual({ full: 0, short: 2, raw: 0 });
  });
});

describe('async iteration', () => {
  test('raw samples are Buffer copies, since they outlive any callback', async () => {
    const obj = await load();
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
      let received = 0;
      const producing = (async () => {
        for (let i = 0; i < calls; i++) {
          await trigger.fire();
          await sleep(1);
        }
        // The kernel reports earlier drops (PERF_RECORD_LOST) at the next write that fits: wait
        // for the consumer to empty the buffer first, or a loaded machine's last write drops too.
        while (received < Number(obj.globals.sent)) await sleep(5);
        obj.globals.n_events = 1;
        await trigger.fire(); // brings the report of earlier drops
        producerDone = true;
      })();
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

});

describe('close() and misuse', () => {

  test('bad arguments and options only PerfBuffer takes (the shared ones are in the contract)', async () => {
    const obj = await load();
    const map = obj.map('events');
    const cb = (): void => undefined;
    expectThrows(() => new PerfBuffer(map, cb, { pageCount: 3 }), 'RangeError', 'options.pageCount: expected a power of two, got 3');
    expectThrows(() => new PerfBuffer(map, cb, { pageCount: 0 }), 'RangeError', 'options.pageCount: expected an integer 1..1048576, got 0');
    expectThrows(() => new PerfBuffer(map, cb, { onLost: 1 as never }), 'TypeError', 'options.onLost: expected a function, got 1');
  });


  test('the native class checks its page count and map kind', async () => {
    const obj = await load();
    expectThrows(() => addon.NativePerfBuffer.open(obj.map('events').internals(INTERNAL).native, () => undefined, { pageCount: 3 }), 'RangeError', 'pageCount must be a power of two');
    expectThrows(() => addon.NativePerfBuffer.open(obj.map('not_perf').internals(INTERNAL).native, () => undefined, { pageCount: 1 }), 'TypeError', 'map is not a perf_event_array map');
  });

});
