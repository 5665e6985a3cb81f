// RingBuffer against the real kernel: a tracepoint on getpgid() emits records (every
// field kind, a sequence number, some discarded) into ring buffer maps; children of this
// process make the calls, either synchronously (the event loop is blocked meanwhile, so
// nothing is delivered until the test says so) or from a paced child that keeps running.
// The contract RingBuffer shares with PerfBuffer runs from describeEventBuffer (contract.ts);
// this file adds what only rings have.
import { execFileSync } from 'node:child_process';
import { BpfObject, RingBuffer, type RawEvent } from 'node-libbpf';
import { addon } from '../../src/ts/base/native';
import { sleep, Trigger, until } from '../support/events';
import { expectError, expectThrows, fixture, loadFixture } from '../support/helpers';
import { kernelAtLeast } from '../support/kernel';
import { describeEventBuffer } from './contract';

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

const rings: RingBuffer[] = [];

/** The fixture, loaded and attached, counting getpgid() calls by this process's children. */
function load(): Promise<BpfObject> {
  return loadFixture(FIXTURE, { attach: true, globals: { target_ppid: process.pid } });
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
});

describeEventBuffer({
  name: 'RingBuffer',
  mapKind: 'ringbuf',
  fixture: FIXTURE,
  map: 'events',
  type: 'struct event',
  small: 'small',
  other: 'not_a_ring',
  nativeMethod: 'size',
  openNative: (map) => addon.NativeRingBuffer.open(map as never, () => undefined, {}) as never,
  fire: (obj, events, small = 0) => fireSync(obj, events, small),
  expected: (seq, pid) => expected(seq, pid) as unknown as Record<string, unknown>,
  rawLength: EVENT_BYTES,
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
      expect(stats).toEqual({ delivered: total, dropped: 0, availableBytes: 0, size: 64 * 1024, queued: 0, records: { full: total, short: 0, raw: 0 } });
    } finally {
      trigger.close();
    }
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
    expect(rb.stats()).toEqual({ delivered: 8, dropped: 0, availableBytes: 0, size: 64 * 1024 + 16 * 1024, queued: 0, records: expect.any(Object) });
    fireSync(obj, 2, 2);
    expect(rb.consume()).toBe(4);
  });
});

describe('stats() and drop accounting', () => {
  test('availableBytes: what waits in the ring, record headers included', async () => {
    const obj = await load();
    const rb = track(new RingBuffer(obj.map('events'), () => undefined, { type: 'struct event', maxBatch: 4 }));
    fireSync(obj, 37);
    expect(rb.stats().availableBytes).toBe(37 * EVENT_RECORD);
    expect(rb.consume()).toBe(37);
    expect(rb.stats()).toMatchObject({ delivered: 37, availableBytes: 0 });
  });

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
    expect(rb.stats()).toEqual({ delivered: 0, dropped: undefined, availableBytes: 0, size: 4096, queued: 0, records: { full: 0, short: 0, raw: 0 } });
  });
});

describe('errors thrown by the callback', () => {
  test("copying: go to 'error'; the record counts as consumed and later ones still come, in order", async () => {
    const obj = await load();
    const seqs: number[] = [];
    const errors: unknown[] = [];
    const rb = track(new RingBuffer<Event>(obj.map('events'), (e) => {
      const seq = Number(e.seq);
      seqs.push(seq);
      if (seq % 10 === 3) throw new Error(`bad ${seq}`);
    }, { type: 'event', copy: true, maxBatch: 16 }));
    rb.on('error', (e) => errors.push(e));
    fireSync(obj, 100);
    await until(() => seqs.length === 100, '100 events');
    expect(seqs).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(errors.map((e) => (e as Error).message)).toEqual(Array.from({ length: 10 }, (_, i) => `bad ${i * 10 + 3}`));
    expect(rb.stats()).toMatchObject({ delivered: 100, availableBytes: 0 });
  });

  // More in short-records.test.ts.
  test('a record smaller than the type is decoded as far as it goes, and counted short', async () => {
    const obj = await load();
    const got: any[] = [];
    const rb = track(new RingBuffer(obj.map('small'), (e) => got.push(e), { type: 'struct event' }));
    fireSync(obj, 0, 2);
    await until(() => got.length === 2, 'two records');
    expect(Object.keys(got[0]).length).toBeGreaterThan(0);
    expect(rb.stats().records).toEqual({ full: 0, short: 2, raw: 0 });
  });
});

describe('async iteration', () => {

  test('raw events are copies (Buffers), since they outlive any callback', async () => {
    const obj = await load();
    const rb = track(new RingBuffer<Buffer>(obj.map('small'), { raw: true }));
    fireSync(obj, 0, 3);
    const it = rb[Symbol.asyncIterator]();
    const bufs = [(await it.next()).value, (await it.next()).value, (await it.next()).value];
    expect(bufs.map((b) => [Buffer.isBuffer(b), b.length, b.readBigUInt64LE(0)])).toEqual([[true, SMALL_BYTES, 0n], [true, SMALL_BYTES, 1n], [true, SMALL_BYTES, 2n]]);
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

describe('close() and misuse', () => {

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

  test('bad arguments and options only RingBuffer takes (the shared ones are in the contract)', async () => {
    const obj = await load();
    const map = obj.map('events');
    const cb = (): void => undefined;
    expectThrows(() => new RingBuffer(map, cb, { maxBatch: 1.5 }), 'RangeError', 'options.maxBatch: expected an integer 1..2^31-1, got 1.5');
    expectThrows(() => new RingBuffer(map, cb, { maxBatch: '4' as never }), 'TypeError', 'options.maxBatch: expected an integer 1..2^31-1, got "4"');
    expectThrows(() => new RingBuffer(map, cb, { raw: 1 as never }), 'TypeError', 'options.raw: expected a boolean, got 1');
    expectThrows(() => new RingBuffer(map, cb, { raw: true, lazy: true }), 'TypeError', 'options.lazy: expected false with raw: true, got true');
    expectThrows(() => new RingBuffer(map, cb, { type: 'u32', lazy: true }), 'TypeError', 'options.lazy: expected a struct or union record type, got "u32"');
    expectThrows(() => new RingBuffer(map, cb, { type: '' }), 'TypeError', 'options.type: expected a BTF type name, got ""');
    expectThrows(() => new RingBuffer(map, cb, { type: 'struct nope' }), 'RangeError', /^options\.type: expected a type in the object's BTF .*NLB_RINGBUF_TYPE.*, got "struct nope"$/);
    const rb = track(new RingBuffer(map, cb));
    expectThrows(() => rb.add(obj.map('small')), 'TypeError', 'callback: expected a function, got undefined');
    const it = track(new RingBuffer(obj.map('small')));
    expectThrows(() => it.add(map, cb), 'TypeError', 'add(): this RingBuffer is iterated, so it takes add(map, options) without a callback');
    // A failed add() leaves nothing open behind.
    expectThrows(() => rb.add(obj.map('small'), cb, { type: 'nope' }), 'RangeError', /options\.type/);
    expect(rb.stats().size).toBe(64 * 1024);
    rb.close();
    expectThrows(() => rb.add(obj.map('small'), cb), 'TypeError', 'RingBuffer is closed');
  });


});
