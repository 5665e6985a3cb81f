// RingBuffer against the real kernel: a tracepoint on getpgid() emits records (every
// field kind, a sequence number, some discarded) into ring buffer maps; children of this
// process make the calls, either synchronously (the event loop is blocked meanwhile, so
// nothing is delivered until the test says so) or from a paced child that keeps running.
import { execFileSync } from 'node:child_process';
import { BpfObject, RingBuffer, type BpfMap, type RawEvent } from 'node-libbpf';
import { INTERNAL } from '../../src/ts/base/internal';
import { addon } from '../../src/ts/base/native';
import { refUnrefTests, runNode, runWorker, sleep, Trigger, until } from '../support/events';
import { distDir, expectError, expectThrows, fixture, gcAndSettle, rejection } from '../support/helpers';
import { kernelAtLeast } from '../support/kernel';

// bpf_loop() is 5.17+: older kernels load the same programs built with a bounded loop.
const FIXTURE = fixture(kernelAtLeast(5, 17) ? 'ringbuf_events' : 'ringbuf_events_noloop');
const EVENT_BYTES = 96; // sizeof(struct event)
const EVENT_RECORD = 104; // with its 8-byte header, 8-byte aligned
const SMALL_BYTES = 48;

interface Event {
  seq: bigint;
  pid: number;
  neg: number;
  comm: string;
  u8v: number;
  s8v: number;
  flag: boolean;
  pad0: number;
  u16v: number;
  s16v: number;
  s64v: bigint;
  u64v: bigint;
  color: number;
  arr: Uint32Array;
  pt: { x: number; y: number };
  low: number;
  high: number;
  as_u32: number;
  as_bytes: Uint8Array;
  ratio: number;
}

interface SmallEvent {
  seq: bigint;
  pid: number;
  cpu: number;
  comm: string;
  pad: BigUint64Array;
}

// What the fixture writes for sequence number `seq` (see emit() in ringbuf_events.bpf.c).
function expected(seq: number, pid: number): Event {
  const odd = (seq & 1) === 1;
  return {
    seq: BigInt(seq),
    pid,
    neg: -(seq & 0xffff) - 1,
    comm: 'python3',
    u8v: 250,
    s8v: -100,
    flag: odd,
    pad0: 0,
    u16v: 65000,
    s16v: -32000,
    s64v: -9000000000000000000n,
    u64v: 0xfedcba9876543210n,
    color: odd ? 300 : 2,
    arr: new Uint32Array([1, 2, seq]),
    pt: { x: -7, y: 7 },
    low: 17,
    high: 1000,
    as_u32: 0x04030201,
    as_bytes: new Uint8Array([1, 2, 3, 4]),
    ratio: 1.5,
  };
}

const opened: BpfObject[] = [];
const rings: RingBuffer[] = [];

/** The fixture, loaded and attached, counting getpgid() calls by this process's children. */
async function load(sizes: { events?: number; small?: number } = {}): Promise<BpfObject> {
  const obj = BpfObject.open(FIXTURE);
  opened.push(obj);
  if (sizes.events) obj.map('events').maxEntries = sizes.events;
  if (sizes.small) obj.map('small').maxEntries = sizes.small;
  await obj.load();
  obj.attach();
  obj.globals.target_ppid = process.pid;
  return obj;
}

/** A RingBuffer closed after the test. */
function track<T extends RingBuffer>(rb: T): T {
  rings.push(rb);
  return rb;
}

/** `calls` getpgid() calls from a child, synchronously: nothing is delivered meanwhile. Returns its pid. */
function fireSync(obj: BpfObject, events: number, small = 0, calls = 1): number {
  obj.globals.n_events = events;
  obj.globals.n_small = small;
  return Number(execFileSync('python3', ['-c', `import os\nfor _ in range(${calls}): os.getpgid(0)\nprint(os.getpid())`], { encoding: 'utf8' }).trim());
}

afterEach(() => {
  for (const rb of rings.splice(0)) rb.close();
  for (const obj of opened.splice(0)) obj.close();
});

describe('delivery', () => {
  test('every record, in order, once, across many small batches and wrap-arounds', async () => {
    const obj = await load();
    obj.globals.discard_every = 7; // discarded records are skipped
    const trigger = new Trigger();
    try {
      await trigger.ready();
      obj.globals.target_pid = trigger.pid;
      obj.globals.target_ppid = 0;
      obj.globals.n_events = 500; // < 64 KiB of records: the ring never overflows
      const seqs: bigint[] = [];
      // Events per event-loop iteration (a setImmediate per iteration counts them).
      const perTurn = new Map<number, number>();
      let turn = 0;
      let ticking = true;
      const tick = (): void => {
        turn++;
        if (ticking) setImmediate(tick);
      };
      setImmediate(tick);
      const rb = track(new RingBuffer<Event>(obj.map('events'), (e) => {
        seqs.push(e.seq);
        perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1);
      }, { type: 'struct event', maxBatch: 64 }));
      try {
        while (seqs.length < 100_000) {
          await trigger.fire(); // 500 reservations, every 7th discarded
          await until(() => seqs.length === Number(obj.globals.seq), `${obj.globals.seq} events`);
        }
      } finally {
        ticking = false;
      }
      const total = seqs.length;
      for (let i = 0; i < total; i++) if (seqs[i] !== BigInt(i)) throw new Error(`event ${i} has seq ${seqs[i]}`);
      expect(Math.max(...perTurn.values())).toBe(64); // bounded work per wake-up
      expect(obj.globals.seq).toBe(BigInt(total));
      expect(obj.globals.reservations).toBeGreaterThan(BigInt(total)); // some were discarded
      const stats = rb.stats();
      expect(stats).toEqual({ delivered: total, dropped: 0, availableBytes: 0, size: 64 * 1024, queued: 0 });
    } finally {
      trigger.close();
    }
  });

  test('decodes every field kind, eagerly', async () => {
    const obj = await load();
    const got: Event[] = [];
    track(new RingBuffer<Event>(obj.map('events'), (e) => got.push(e), { type: 'struct event' }));
    const pid = fireSync(obj, 3);
    await until(() => got.length === 3, '3 events');
    expect(got).toEqual([0, 1, 2].map((s) => expected(s, pid)));
  });

  test('decodes lazily: getters over the record, valid during the callback', async () => {
    const obj = await load();
    const seen: unknown[] = [];
    let same: unknown;
    const rb = track(new RingBuffer(obj.map('events'), (e) => {
      same ??= e;
      expect(e).toBe(same); // one reused object
      seen.push({
        seq: e.seq, pid: e.pid, neg: e.neg, comm: e.comm, u8v: e.u8v, s8v: e.s8v, flag: e.flag, pad0: e.pad0,
        u16v: e.u16v, s16v: e.s16v, s64v: e.s64v, u64v: e.u64v, color: e.color, arr: e.arr, pt: e.pt,
        low: e.low, high: e.high, as_u32: e.as_u32, as_bytes: e.as_bytes, ratio: e.ratio,
      });
      expect(e.materialize()).toEqual(seen[seen.length - 1]);
      expect(e.toJSON()).toEqual(e.materialize());
    }, { type: 'event', lazy: true }));
    const pid = fireSync(obj, 4);
    expect(rb.consume()).toBe(4);
    expect(seen).toEqual([0, 1, 2, 3].map((s) => expected(s, pid)));
  });

  test('raw records: a view, offset and length valid during the callback, copy() to keep', async () => {
    const obj = await load();
    const copies: Buffer[] = [];
    const records: RawEvent[] = [];
    const rb = track(new RingBuffer<RawEvent>(obj.map('events'), (e) => {
      records.push(e);
      expect(e.length).toBe(EVENT_BYTES);
      expect(e.view).toBeInstanceOf(DataView);
      expect(e.view.getUint32(e.offset + 8, true)).toBeGreaterThan(0); // pid
      copies.push(e.copy());
    }, { raw: true }));
    const pid = fireSync(obj, 5);
    expect(rb.consume()).toBe(5);
    expect(new Set(records).size).toBe(1); // one reused object
    copies.forEach((b, i) => {
      expect(b).toBeInstanceOf(Buffer);
      expect(b.length).toBe(EVENT_BYTES);
      expect(b.readBigUInt64LE(0)).toBe(BigInt(i));
      expect(b.readUInt32LE(8)).toBe(pid);
      expect(b.toString('latin1', 16, 23)).toBe('python3');
      expect(b.readDoubleLE(88)).toBe(1.5);
    });
  });

  test('without options: raw, since ring buffer maps have no value type', async () => {
    const obj = await load();
    let first: unknown;
    const rb = track(new RingBuffer(obj.map('small'), (e) => (first ??= { length: e.length, isView: e.view instanceof DataView })));
    fireSync(obj, 0, 1);
    expect(rb.consume()).toBe(1);
    expect(first).toEqual({ length: SMALL_BYTES, isView: true });
  });

  test("type names: 'struct x', 'x' and typedefs", async () => {
    const obj = await load();
    for (const type of ['struct small_event', 'small_event', 'small_event_t']) {
      const got: SmallEvent[] = [];
      const rb = track(new RingBuffer<SmallEvent>(obj.map('small'), (e) => got.push(e), { type }));
      const pid = fireSync(obj, 0, 2);
      expect(rb.consume()).toBe(2);
      expect(got.map((e) => [e.pid, e.comm, e.pad[0]])).toEqual([[pid, 'python3', 0n], [pid, 'python3', 1n]]);
      rb.close();
    }
  });

  test('consume() delivers what the ring holds now and returns the count', async () => {
    const obj = await load();
    let n = 0;
    const rb = track(new RingBuffer(obj.map('events'), () => n++, { type: 'struct event', maxBatch: 4 }));
    expect(rb.consume()).toBe(0);
    fireSync(obj, 37);
    expect(rb.stats().availableBytes).toBe(37 * EVENT_RECORD);
    expect(rb.consume()).toBe(37); // not bounded by maxBatch: the caller asked for all
    expect(n).toBe(37);
    expect(rb.consume()).toBe(0);
    expect(rb.stats()).toMatchObject({ delivered: 37, availableBytes: 0 });
  });

  test('the consumer position survives the RingBuffer: a new one continues where the last stopped', async () => {
    const obj = await load();
    const seqs: bigint[] = [];
    const first = new RingBuffer<Event>(obj.map('events'), (e) => seqs.push(e.seq), { type: 'event' });
    fireSync(obj, 10);
    first.consume();
    first.close();
    fireSync(obj, 10);
    const second = track(new RingBuffer<Event>(obj.map('events'), (e) => seqs.push(e.seq), { type: 'event' }));
    expect(second.consume()).toBe(10);
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => BigInt(i)));
  });

  test('add(): several rings, each with its own callback and decoding', async () => {
    const obj = await load();
    const events: Event[] = [];
    const small: Buffer[] = [];
    const rb = track(new RingBuffer<Event>(obj.map('events'), (e) => events.push(e), { type: 'struct event' }));
    expect(rb.add(obj.map('small'), (e: RawEvent) => small.push(e.copy()), { raw: true })).toBe(rb);
    const pid = fireSync(obj, 3, 5);
    await until(() => events.length === 3 && small.length === 5, 'both rings');
    expect(events).toEqual([0, 1, 2].map((s) => expected(s, pid)));
    expect(small.map((b) => b.readBigUInt64LE(0))).toEqual([0n, 1n, 2n, 3n, 4n]);
    expect(rb.stats()).toEqual({ delivered: 8, dropped: 0, availableBytes: 0, size: 64 * 1024 + 16 * 1024, queued: 0 });
    fireSync(obj, 2, 2);
    expect(rb.consume()).toBe(4);
  });
});

describe('stats() and drop accounting', () => {
  test('dropped: failed reservations counted by <node_libbpf/ringbuf.h>, summed over CPUs', async () => {
    const obj = await load();
    const rb = track(new RingBuffer(obj.map('small'), () => undefined));
    fireSync(obj, 0, 1000); // 16 KiB holds 292 records of 56 bytes
    const stats = rb.stats();
    expect(stats.dropped).toBe(1000 - Number(obj.globals.small_seq));
    expect(stats.dropped).toBeGreaterThan(0);
    expect(stats.availableBytes).toBe(Number(obj.globals.small_seq) * 56);
    expect(rb.consume()).toBe(Number(obj.globals.small_seq));
  });

  test('dropped is undefined for a ring without a <ring>_drops map', async () => {
    const obj = await load();
    const rb = track(new RingBuffer(obj.map('bare'), () => undefined));
    expect(rb.stats()).toEqual({ delivered: 0, dropped: undefined, availableBytes: 0, size: 4096, queued: 0 });
  });
});

describe('errors thrown by the callback', () => {
  for (const copy of [false, true]) {
    test(`go to 'error'; the record counts as consumed and later ones still come, in order${copy ? ' (copying)' : ''}`, async () => {
      const obj = await load();
      const seqs: number[] = [];
      const errors: unknown[] = [];
      const rb = track(new RingBuffer<Event>(obj.map('events'), (e) => {
        const seq = Number(e.seq);
        seqs.push(seq);
        if (seq % 10 === 3) throw new Error(`bad ${seq}`);
      }, { type: 'event', copy, maxBatch: 16 }));
      rb.on('error', (e) => errors.push(e));
      fireSync(obj, 100);
      await until(() => seqs.length === 100, '100 events');
      expect(seqs).toEqual(Array.from({ length: 100 }, (_, i) => i));
      expect(errors.map((e) => (e as Error).message)).toEqual(Array.from({ length: 10 }, (_, i) => `bad ${i * 10 + 3}`));
      expect(rb.stats()).toMatchObject({ delivered: 100, availableBytes: 0 });
    });
  }

  test('consume() rethrows, past the record that threw', async () => {
    const obj = await load();
    const seqs: number[] = [];
    const rb = track(new RingBuffer<Event>(obj.map('events'), (e) => {
      seqs.push(Number(e.seq));
      if (e.seq === 2n) throw new RangeError('two');
    }, { type: 'event' }));
    fireSync(obj, 5);
    expectThrows(() => rb.consume(), 'RangeError', 'two');
    expect(rb.consume()).toBe(2);
    expect(seqs).toEqual([0, 1, 2, 3, 4]);
  });

  test("without an 'error' listener: an uncaught exception", async () => {
    const script = `
      const { BpfObject, RingBuffer } = require(${JSON.stringify(distDir())});
      const { execFileSync } = require('node:child_process');
      (async () => {
        const obj = BpfObject.open(${JSON.stringify(FIXTURE)});
        await obj.load();
        obj.attach();
        obj.globals.target_ppid = process.pid;
        new RingBuffer(obj.map('events'), () => { throw new Error('callback failed'); });
        execFileSync('python3', ['-c', 'import os; os.getpgid(0)']);
      })();
    `;
    const { code, stderr } = await runNode(script);
    expect(code).not.toBe(0);
    expect(stderr).toContain('callback failed');
  });

  test('a record smaller than the type is an error, not a misread', async () => {
    const obj = await load();
    const errors: Error[] = [];
    const rb = track(new RingBuffer(obj.map('small'), () => undefined, { type: 'struct event' }));
    rb.on('error', (e) => errors.push(e));
    fireSync(obj, 0, 2);
    await until(() => errors.length === 2, 'two errors');
    expectError(errors[0], 'RangeError', 'ring small: a record of 48 bytes is smaller than struct event (96 bytes)');
  });
});

describe('async iteration', () => {
  test('yields decoded events', async () => {
    const obj = await load();
    const rb = track(new RingBuffer<Event>(obj.map('events'), { type: 'struct event' }));
    const pid = fireSync(obj, 5);
    const got: Event[] = [];
    for await (const e of rb) {
      got.push(e);
      if (got.length === 5) break; // return(): closes
    }
    expect(got).toEqual([0, 1, 2, 3, 4].map((s) => expected(s, pid)));
    expect(rb.closed).toBe(true);
  });

  test('raw events are copies (Buffers), since they outlive any callback', async () => {
    const obj = await load();
    const rb = track(new RingBuffer<Buffer>(obj.map('small'), { raw: true }));
    fireSync(obj, 0, 3);
    const it = rb[Symbol.asyncIterator]();
    const bufs = [(await it.next()).value, (await it.next()).value, (await it.next()).value];
    expect(bufs.map((b) => [Buffer.isBuffer(b), b.length, b.readBigUInt64LE(0)])).toEqual([[true, 48, 0n], [true, 48, 1n], [true, 48, 2n]]);
  });

  test('add(map, options) feeds the same queue', async () => {
    const obj = await load();
    const rb = track(new RingBuffer(obj.map('events'), { type: 'event' }));
    rb.add(obj.map('small'), { type: 'small_event' });
    fireSync(obj, 1, 1);
    const it = rb[Symbol.asyncIterator]();
    const got = [(await it.next()).value, (await it.next()).value];
    expect(got.map((e) => ('neg' in e ? 'event' : 'small')).sort()).toEqual(['event', 'small']);
  });

  test('backpressure: a slow consumer, a small ring: bounded queue, drops counted, no deadlock', async () => {
    const obj = await load();
    const trigger = new Trigger();
    try {
      await trigger.ready();
      obj.globals.target_pid = trigger.pid;
      obj.globals.target_ppid = 0;
      obj.globals.n_events = 0;
      obj.globals.n_small = 100;
      const highWaterMark = 8;
      const rb = track(new RingBuffer<SmallEvent>(obj.map('small'), { type: 'small_event_t', highWaterMark, maxBatch: 4 }));
      const calls = 50;
      const producing = (async () => {
        for (let i = 0; i < calls; i++) {
          await trigger.fire();
          await sleep(1);
        }
      })();
      let received = 0;
      let last = -1n;
      let maxQueued = 0;
      let producerDone = false;
      void producing.then(() => (producerDone = true));
      // Ends the iteration once everything the BPF side managed to reserve was received.
      const watchdog = setInterval(() => {
        if (producerDone && received === Number(obj.globals.small_seq)) rb.close();
      }, 5);
      try {
        for await (const e of rb) {
          expect(e.seq).toBeGreaterThan(last); // in order; gaps only where reservations failed
          last = e.seq;
          received++;
          maxQueued = Math.max(maxQueued, rb.stats().queued);
          await sleep(1);
        }
      } finally {
        clearInterval(watchdog);
      }
      await producing;
      const dropped = calls * 100 - Number(obj.globals.small_seq);
      expect(dropped).toBeGreaterThan(0);
      expect(maxQueued).toBeLessThanOrEqual(highWaterMark);
      expect(received).toBe(Number(obj.globals.small_seq));
      expect(last).toBe(obj.globals.small_seq - 1n);
    } finally {
      trigger.close();
    }
  });

  test('an AbortSignal ends the iteration with its reason', async () => {
    const obj = await load();
    const controller = new AbortController();
    const rb = track(new RingBuffer<Event>(obj.map('events'), { type: 'event', signal: controller.signal }));
    fireSync(obj, 3);
    const got: bigint[] = [];
    const error = await rejection(
      (async () => {
        for await (const e of rb) {
          got.push(e.seq);
          if (got.length === 2) controller.abort(new Error('enough'));
        }
      })(),
    );
    expect(error.message).toBe('enough');
    expect(got).toEqual([0n, 1n]);
    expect(rb.closed).toBe(true);
  });

  test('a pending next() rejects when the signal aborts; an aborted signal ends it at once', async () => {
    const obj = await load();
    const controller = new AbortController();
    const rb = track(new RingBuffer(obj.map('events'), { signal: controller.signal }));
    const pending = rb[Symbol.asyncIterator]().next();
    controller.abort();
    expect((await rejection(pending)).name).toBe('AbortError');
    const already = track(new RingBuffer(obj.map('events'), { signal: AbortSignal.abort(new TypeError('stop')) }));
    expect(already.closed).toBe(true);
    expectError(await rejection(already[Symbol.asyncIterator]().next()), 'TypeError', 'stop');
  });

  test('close() resolves a pending next() with done', async () => {
    const obj = await load();
    const rb = track(new RingBuffer(obj.map('events')));
    const pending = rb[Symbol.asyncIterator]().next();
    rb.close();
    expect(await pending).toEqual({ value: undefined, done: true });
  });

  test('close() while events are in flight ends the iteration cleanly', async () => {
    const obj = await load();
    const trigger = new Trigger();
    try {
      await trigger.ready();
      obj.globals.target_pid = trigger.pid;
      obj.globals.target_ppid = 0;
      obj.globals.n_events = 50;
      const rb = track(new RingBuffer<Event>(obj.map('events'), { type: 'event', highWaterMark: 16 }));
      let stop = false;
      const producing = (async () => {
        while (!stop) await trigger.fire();
      })();
      let n = 0;
      const it = rb[Symbol.asyncIterator]();
      for (;;) {
        const r = await it.next();
        if (r.done) break;
        if (++n === 10) rb.close(); // queued events are dropped with the ring
      }
      stop = true;
      await producing;
      expect(n).toBe(10);
      expect(await it.next()).toEqual({ value: undefined, done: true });
      expectThrows(() => rb.stats(), 'TypeError', 'RingBuffer is closed');
    } finally {
      trigger.close();
    }
  });
});

describe('copying fallback (what a V8 sandbox forces)', () => {
  test('every record in order across many batches, eager, lazy and raw', async () => {
    const obj = await load();
    const trigger = new Trigger();
    try {
      await trigger.ready();
      obj.globals.target_pid = trigger.pid;
      obj.globals.target_ppid = 0;
      obj.globals.n_events = 500;
      const eager: bigint[] = [];
      const lazy: number[] = [];
      const raw: bigint[] = [];
      track(new RingBuffer<Event>(obj.map('events'), (e) => eager.push(e.seq), { type: 'event', copy: true, maxBatch: 50 }));
      for (let fired = 0; fired < 20_000; fired += 500) {
        await trigger.fire();
        await until(() => eager.length >= fired + 500, `${fired + 500} events`);
      }
      expect(eager).toEqual(Array.from({ length: 20_000 }, (_, i) => BigInt(i)));
      rings.splice(0).forEach((rb) => rb.close());

      const rbLazy = track(new RingBuffer(obj.map('events'), (e) => lazy.push(e.neg), { type: 'event', lazy: true, copy: true }));
      await trigger.fire();
      await until(() => lazy.length === 500, 'lazy events');
      expect(lazy).toEqual(Array.from({ length: 500 }, (_, i) => -((20_000 + i) & 0xffff) - 1));
      rbLazy.close();

      track(new RingBuffer<RawEvent>(obj.map('events'), (e) => raw.push(e.view.getBigUint64(e.offset, true)), { raw: true, copy: true }));
      await trigger.fire();
      await until(() => raw.length === 500, 'raw events');
      expect(raw).toEqual(Array.from({ length: 500 }, (_, i) => BigInt(20_500 + i)));
    } finally {
      trigger.close();
    }
  });

  test('a record bigger than the 256 KiB copy batch: the batch grows, raw views follow it', async () => {
    const obj = await load();
    const words = (300 * 1024) / 8;
    for (const copy of [true, false]) {
      const got: [bigint, bigint, number][] = [];
      const rb = track(new RingBuffer<RawEvent>(obj.map('huge'), (e) => {
        got.push([e.view.getBigUint64(e.offset, true), e.view.getBigUint64(e.offset + (words - 1) * 8, true), e.length]);
      }, { raw: true, copy }));
      const first = obj.globals.huge_seq as bigint;
      for (let i = 0; i < 3; i++) expect(obj.program('emit_huge').testRun().retval).toBe(0);
      expect(rb.consume()).toBe(3);
      expect(got).toEqual([0n, 1n, 2n].map((i) => [first + i, ~(first + i) & 0xffffffffffffffffn, words * 8]));
      rb.close();
    }
  });

  test('consume() and iteration', async () => {
    const obj = await load();
    const rb = track(new RingBuffer(obj.map('events'), () => undefined, { copy: true }));
    fireSync(obj, 700); // more than one ring's worth is not there; 630 fit, the rest drop
    expect(rb.consume()).toBe(Number(obj.globals.seq));
    const it = track(new RingBuffer<Event>(obj.map('small'), { type: 'small_event', copy: true }));
    fireSync(obj, 0, 2);
    const i = it[Symbol.asyncIterator]();
    expect([(await i.next()).value.seq, (await i.next()).value.seq]).toEqual([0n, 1n]);
  });
});

describe('process lifetime', () => {
  refUnrefTests('RingBuffer', FIXTURE, 'events', distDir);

  test('an open RingBuffer nobody references keeps delivering (an active handle, like a socket)', async () => {
    const obj = await load();
    let n = 0;
    const weak = (() => new WeakRef(new RingBuffer(obj.map('events'), () => n++)))();
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
    const { BpfObject, RingBuffer } = require(workerData.dist);
    (async () => {
      const obj = BpfObject.open(workerData.fixture);
      await obj.load();
      obj.attach();
      obj.globals.target_ppid = process.pid;
      obj.globals.n_events = workerData.n;
      const seqs = [];
      const rb = new RingBuffer(obj.map('events'), (e) => {
        seqs.push(Number(e.seq));
        if (seqs.length === workerData.n) {
          setImmediate(() => {
            parentPort.postMessage({ seqs, comm: e.comm, stats: rb.stats() });
            if (!workerData.leak) { rb.close(); obj.close(); }
          });
        }
      }, { type: 'event', maxBatch: 7 });
      parentPort.postMessage('ready');
    })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
  `;

  const run = (n: number, leak: boolean): Promise<{ exitCode: number; result: any }> =>
    runWorker(WORKER, { n, leak, dist: distDir(), fixture: FIXTURE }, () => execFileSync('python3', ['-c', 'import os; os.getpgid(0)']));

  beforeAll(() => {
    distDir();
  }, 60000);

  test('a worker consumes a ring on its own event loop', async () => {
    const { exitCode, result } = await run(50, false);
    expect(result.error).toBeUndefined();
    expect(result.seqs).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(result.comm).toBe('python3');
    expect(result.stats).toMatchObject({ delivered: 50, dropped: 0 });
    expect(exitCode).toBe(0);
  });

  test('a worker terminated with its ring open tears it down', async () => {
    const { exitCode, result } = await run(5, true);
    expect(result.seqs).toEqual([0, 1, 2, 3, 4]);
    expect(exitCode).toBe(1); // terminate()
    // This thread's rings still work.
    const obj = await load();
    const rb = track(new RingBuffer(obj.map('events'), () => undefined));
    fireSync(obj, 2);
    expect(rb.consume()).toBe(2);
  });
});

describe('close() and misuse', () => {
  test('close() is idempotent; every use after it throws', async () => {
    const obj = await load();
    const rb = new RingBuffer(obj.map('events'), () => undefined);
    rb.close();
    rb.close();
    rb[Symbol.dispose]();
    expect(rb.closed).toBe(true);
    for (const use of [() => rb.consume(), () => rb.stats(), () => rb.ref(), () => rb.unref(), () => rb.add(obj.map('small'), () => undefined)]) {
      expectThrows(use, 'TypeError', 'RingBuffer is closed');
    }
  });

  test('`using` closes it', async () => {
    const obj = await load();
    let outer: RingBuffer;
    {
      using rb = new RingBuffer(obj.map('events'), () => undefined);
      outer = rb;
    }
    expect(outer.closed).toBe(true);
  });

  test.each([['in place', false], ['copying', true]])('close() from inside the callback stops the batch (%s)', async (_, copy) => {
    const obj = await load();
    let n = 0;
    let kept: RawEvent | undefined;
    const rb: RingBuffer = track(new RingBuffer(obj.map('events'), (e: RawEvent) => {
      kept = e;
      if (++n === 3) rb.close();
    }, { raw: true, copy }));
    fireSync(obj, 10);
    expect(rb.consume()).toBe(3);
    expect(rb.closed).toBe(true);
    expect(n).toBe(3);
    // The record's memory is gone with the ring: reading it throws instead of crashing.
    expect(() => kept!.view.getUint32(kept!.offset, true)).toThrow(TypeError);
  });

  test('consume() from inside the callback is refused', async () => {
    const obj = await load();
    const errors: Error[] = [];
    const rb: RingBuffer = track(new RingBuffer(obj.map('events'), () => rb.consume()));
    rb.on('error', (e) => errors.push(e));
    fireSync(obj, 1);
    await until(() => errors.length === 1, 'the error');
    expectError(errors[0], 'TypeError', 'consume() cannot be called from a RingBuffer callback');
  });

  test('wrong maps', async () => {
    const obj = await load();
    expectThrows(() => new RingBuffer(obj.map('not_a_ring'), () => undefined), 'TypeError', 'map: expected a ringbuf map, got "not_a_ring" (a hash map)');
    expectThrows(() => new RingBuffer(obj.map('events_drops'), () => undefined), 'TypeError', /expected a ringbuf map/);
    expectThrows(() => new RingBuffer({} as BpfMap, () => undefined), 'TypeError', 'map: expected a BpfMap, got an object');
    const unloaded = BpfObject.open(FIXTURE);
    opened.push(unloaded);
    expectThrows(() => new RingBuffer(unloaded.map('events'), () => undefined), 'TypeError', 'BpfObject is not loaded');
    const map = obj.map('events');
    obj.close();
    expectThrows(() => new RingBuffer(map, () => undefined), 'TypeError', 'BpfObject is closed');
  });

  test('bad arguments and options', async () => {
    const obj = await load();
    const map = obj.map('events');
    const cb = (): void => undefined;
    expectThrows(() => new RingBuffer(map, 42 as never), 'TypeError', 'options: expected an options object, got 42');
    expectThrows(() => new RingBuffer(map, 'x' as never, {}), 'TypeError', 'callback: expected a function, got "x"');
    expectThrows(() => new RingBuffer(map, cb, { bogus: 1 } as never), 'TypeError', /^options\.bogus: expected one of the known options/);
    expectThrows(() => new RingBuffer(map, cb, { highWaterMark: 4 } as never), 'TypeError', /^options\.highWaterMark: expected one of the known options/);
    expectThrows(() => new RingBuffer(map, { lazy: true } as never), 'TypeError', /^options\.lazy: expected one of the known options/);
    expectThrows(() => new RingBuffer(map, cb, { maxBatch: 0 }), 'RangeError', 'options.maxBatch: expected an integer 1..2^31-1, got 0');
    expectThrows(() => new RingBuffer(map, cb, { maxBatch: 1.5 }), 'RangeError', 'options.maxBatch: expected an integer 1..2^31-1, got 1.5');
    expectThrows(() => new RingBuffer(map, cb, { maxBatch: '4' as never }), 'TypeError', 'options.maxBatch: expected an integer 1..2^31-1, got "4"');
    expectThrows(() => new RingBuffer(map, { highWaterMark: -1 }), 'RangeError', 'options.highWaterMark: expected an integer 1..2^31-1, got -1');
    expectThrows(() => new RingBuffer(map, cb, { raw: 1 as never }), 'TypeError', 'options.raw: expected a boolean, got 1');
    expectThrows(() => new RingBuffer(map, cb, { raw: true, type: 'event' }), 'TypeError', 'options.type: expected no type with raw: true, got "event"');
    expectThrows(() => new RingBuffer(map, cb, { raw: true, lazy: true }), 'TypeError', 'options.lazy: expected false with raw: true, got true');
    expectThrows(() => new RingBuffer(map, cb, { lazy: true }), 'TypeError', /^options\.lazy: expected false for a map without a record type/);
    expectThrows(() => new RingBuffer(map, cb, { type: 'u32', lazy: true }), 'TypeError', 'options.lazy: expected a struct or union record type, got "u32"');
    expectThrows(() => new RingBuffer(map, cb, { type: '' }), 'TypeError', 'options.type: expected a BTF type name, got ""');
    expectThrows(() => new RingBuffer(map, cb, { type: 'struct nope' }), 'RangeError', /^options\.type: expected a type in the object's BTF .*NLB_RINGBUF_TYPE.*, got "struct nope"$/);
    expectThrows(() => new RingBuffer(map, cb, { signal: {} as never }), 'TypeError', 'options.signal: expected an AbortSignal, got an object');
    const rb = track(new RingBuffer(map, cb));
    expectThrows(() => rb.add(obj.map('small')), 'TypeError', 'callback: expected a function, got undefined');
    expectThrows(() => rb[Symbol.asyncIterator](), 'TypeError', 'this RingBuffer delivers to a callback; iterate one made without a callback');
    const it = track(new RingBuffer(obj.map('small')));
    expectThrows(() => it.add(map, cb), 'TypeError', 'add(): this RingBuffer is iterated, so it takes add(map, options) without a callback');
    it[Symbol.asyncIterator]();
    expectThrows(() => it[Symbol.asyncIterator](), 'TypeError', 'this RingBuffer is already being iterated');
    // A failed add() leaves nothing open behind.
    expectThrows(() => rb.add(obj.map('small'), cb, { type: 'nope' }), 'RangeError', /options\.type/);
    expect(rb.stats().size).toBe(64 * 1024);
  });

  test('the native class checks its receiver and cannot be constructed from JS', async () => {
    const Native = (addon as unknown as { NativeRingBuffer: { new (): unknown; prototype: Record<string, Function> } }).NativeRingBuffer;
    expectThrows(() => new Native(), 'TypeError', 'Illegal constructor: NativeRingBuffer is created by the library');
    expectThrows(() => Native.prototype.size.call({}), 'TypeError', 'Illegal invocation: receiver is not a NativeRingBuffer');
    expectThrows(() => addon.NativeRingBuffer.open({} as never, () => undefined, {}), 'TypeError', 'map must be a NativeMap');
    const obj = await load();
    const native = addon.NativeRingBuffer.open(obj.map('events').internals(INTERNAL).native, () => undefined, {});
    native.close();
    native.close();
    expectThrows(() => native.size(), 'TypeError', 'RingBuffer is closed');
  });
});

describe('object lifetime', () => {
  test("closing the object closes the RingBuffers made from its maps, first", async () => {
    const obj = await load();
    const rb = new RingBuffer(obj.map('events'), () => undefined);
    const iterated = new RingBuffer(obj.map('small'), { raw: true });
    const pending = iterated[Symbol.asyncIterator]().next();
    obj.close();
    expect(rb.closed).toBe(true);
    expect(iterated.closed).toBe(true);
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    expect(() => rb.consume()).toThrow('RingBuffer is closed');
  });

  test('a RingBuffer closed on its own is released by its object', async () => {
    const obj = await load();
    const rb = new RingBuffer(obj.map('events'), () => undefined);
    rb.close();
    obj.close(); // closes nothing twice, throws nothing
    expect(rb.closed).toBe(true);
  });
});
