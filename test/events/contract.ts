// The contract every event buffer keeps (RingBuffer and PerfBuffer alike): decoding
// eagerly, lazily and raw; callback errors; async iteration with AbortSignal and close();
// process and worker lifetimes; close() and misuse. describeEventBuffer(kind) runs it for
// one kind; what only one kind has (ring positions and drops, per-CPU perf order and lost
// samples, growth of their staging memory) stays in that kind's own test file.
import { execFileSync } from 'node:child_process';
import { BpfObject, PerfBuffer, RingBuffer, type BpfMap, type RawEvent } from 'node-libbpf';
import { INTERNAL } from '../../src/ts/base/internal';
import { addon } from '../../src/ts/base/native';
import { refUnrefTests, runNode, runWorker, Trigger, until } from '../support/events';
import { distDir, expectError, expectThrows, gcAndSettle, loadFixture, openFixture, rejection } from '../support/helpers';

/** What the contract needs to know about one kind of event buffer and its fixture. */
export interface EventBufferKind {
  name: 'RingBuffer' | 'PerfBuffer';
  /** The map kind's name as libbpf spells it, in "expected a ... map" messages. */
  mapKind: string;
  /** The compiled fixture: a tracepoint on getpgid() writing records with a sequence number. */
  fixture: string;
  /** The map of decoded records, and its record type. */
  map: string;
  type: string;
  /** Another map of this kind, of small untyped records; and a map of another kind. */
  small: string;
  other: string;
  /** A method of the native class, called with a foreign receiver. */
  nativeMethod: string;
  /** The native class's open(), on a map's native handle (or anything else). */
  openNative(map: unknown): { close(): void } & Record<string, (...args: never[]) => unknown>;
  /** `events` records (and `small` small ones) from one getpgid() call of a child on CPU 0, before this returns; its pid. */
  fire(obj: BpfObject, events: number, small?: number): number;
  /** The decoded record of sequence number `seq` from `pid` (on CPU 0). */
  expected(seq: number, pid: number): Record<string, unknown>;
  /** Byte length of a raw record of `map`, and where in it the u64 sequence number and the u32 pid sit. */
  rawLength: number;
}

type AnyBuffer = RingBuffer | PerfBuffer;
type Ctor = new (map: BpfMap, callbackOrOptions?: unknown, options?: unknown) => AnyBuffer;

export function describeEventBuffer(kind: EventBufferKind): void {
  const Buffer_ = (kind.name === 'RingBuffer' ? RingBuffer : PerfBuffer) as unknown as Ctor;
  const buffers: AnyBuffer[] = [];
  afterEach(() => {
    for (const b of buffers.splice(0)) b.close();
  });
  const open = (map: BpfMap, a?: unknown, b?: unknown): AnyBuffer => {
    const made = new Buffer_(map, a, b);
    buffers.push(made);
    return made;
  };
  const load = (): Promise<BpfObject> => loadFixture(kind.fixture, { attach: true, globals: { target_ppid: process.pid } });
  const seq = (e: any): number => Number(e.seq);

  describe(`${kind.name}: decoding`, () => {
    test('eagerly: every field, in order', async () => {
      const obj = await load();
      const got: unknown[] = [];
      open(obj.map(kind.map), (e: unknown) => got.push(e), { type: kind.type });
      const pid = kind.fire(obj, 3);
      await until(() => got.length === 3, '3 records');
      expect(got).toEqual([0, 1, 2].map((s) => kind.expected(s, pid)));
    });

    test('lazily: getters over one reused record, valid during the callback; materialize() and toJSON()', async () => {
      const obj = await load();
      const seen: unknown[] = [];
      let same: unknown;
      const b = open(obj.map(kind.map), (e: any) => {
        same ??= e;
        expect(e).toBe(same);
        const fields = Object.fromEntries(Object.keys(kind.expected(0, 0)).map((k) => [k, e[k]]));
        seen.push(fields);
        expect(e.materialize()).toEqual(fields);
        expect(e.toJSON()).toEqual(fields);
      }, { type: kind.type, lazy: true });
      const pid = kind.fire(obj, 4);
      expect(b.consume()).toBe(4);
      expect(seen).toEqual([0, 1, 2, 3].map((s) => kind.expected(s, pid)));
    });

    test('raw: one reused { view, offset, length } valid during the callback, copy() to keep', async () => {
      const obj = await load();
      const copies: Buffer[] = [];
      const records = new Set<RawEvent>();
      const b = open(obj.map(kind.map), (e: RawEvent) => {
        records.add(e);
        expect(e.view).toBeInstanceOf(DataView);
        expect(e.length).toBe(kind.rawLength);
        copies.push(e.copy());
      }, { raw: true });
      const pid = kind.fire(obj, 5);
      expect(b.consume()).toBe(5);
      expect(records.size).toBe(1);
      copies.forEach((c, i) => {
        expect(c).toBeInstanceOf(Buffer);
        expect(c.length).toBe(kind.rawLength);
        expect(c.readBigUInt64LE(0)).toBe(BigInt(i));
        expect(c.readUInt32LE(8)).toBe(pid);
        expect(c.toString('latin1', 16, 23)).toBe('python3');
      });
    });

    test('without options: raw, since these maps have no value type', async () => {
      const obj = await load();
      let first: { isView: boolean } | undefined;
      const b = open(obj.map(kind.small), (e: RawEvent) => (first ??= { isView: e.view instanceof DataView }));
      kind.fire(obj, 0, 1);
      expect(b.consume()).toBe(1);
      expect(first).toEqual({ isView: true });
    });

    test('consume() delivers what is there now, past maxBatch, and returns the count', async () => {
      const obj = await load();
      let n = 0;
      const b = open(obj.map(kind.map), () => n++, { type: kind.type, maxBatch: 4 });
      expect(b.consume()).toBe(0);
      kind.fire(obj, 37);
      expect(b.consume()).toBe(37);
      expect(n).toBe(37);
      expect(b.consume()).toBe(0);
      expect(b.stats()).toMatchObject({ delivered: 37 });
    });
  });

  describe(`${kind.name}: errors thrown by the callback`, () => {
    test("go to 'error'; the record counts as consumed and later ones still come, in order", async () => {
      const obj = await load();
      const seqs: number[] = [];
      const errors: unknown[] = [];
      const b = open(obj.map(kind.map), (e: unknown) => {
        seqs.push(seq(e));
        if (seq(e) % 10 === 3) throw new Error(`bad ${seq(e)}`);
      }, { type: kind.type, maxBatch: 16 });
      b.on('error', (e) => errors.push(e));
      kind.fire(obj, 100);
      await until(() => seqs.length === 100, '100 records');
      expect(seqs).toEqual(Array.from({ length: 100 }, (_, i) => i));
      expect(errors.map((e) => (e as Error).message)).toEqual(Array.from({ length: 10 }, (_, i) => `bad ${i * 10 + 3}`));
      expect(b.stats()).toMatchObject({ delivered: 100 });
    });

    test('consume() rethrows, past the record that threw', async () => {
      const obj = await load();
      const seqs: number[] = [];
      const b = open(obj.map(kind.map), (e: unknown) => {
        seqs.push(seq(e));
        if (seq(e) === 2) throw new RangeError('two');
      }, { type: kind.type });
      kind.fire(obj, 5);
      expectThrows(() => b.consume(), 'RangeError', 'two');
      expect(b.consume()).toBe(2);
      expect(seqs).toEqual([0, 1, 2, 3, 4]);
    });

    test("without an 'error' listener: an uncaught exception", async () => {
      const script = `
        const { BpfObject, ${kind.name} } = require(${JSON.stringify(distDir())});
        const { execFileSync } = require('node:child_process');
        (async () => {
          const obj = BpfObject.open(${JSON.stringify(kind.fixture)});
          await obj.load();
          obj.attach();
          obj.globals.target_ppid = process.pid;
          new ${kind.name}(obj.map(${JSON.stringify(kind.map)}), () => { throw new Error('callback failed'); });
          execFileSync('python3', ['-c', 'import os; os.getpgid(0)']);
        })();
      `;
      const { code, stderr } = await runNode(script);
      expect(code).not.toBe(0);
      expect(stderr).toContain('callback failed');
    });
  });

  describe(`${kind.name}: async iteration`, () => {
    test('yields decoded records; break closes', async () => {
      const obj = await load();
      const b = open(obj.map(kind.map), { type: kind.type });
      const pid = kind.fire(obj, 5);
      const got: unknown[] = [];
      for await (const e of b) {
        got.push(e);
        if (got.length === 5) break;
      }
      expect(got).toEqual([0, 1, 2, 3, 4].map((s) => kind.expected(s, pid)));
      expect(b.closed).toBe(true);
    });

    test('an AbortSignal ends the iteration with its reason', async () => {
      const obj = await load();
      const controller = new AbortController();
      const b = open(obj.map(kind.map), { type: kind.type, signal: controller.signal });
      kind.fire(obj, 3);
      const got: number[] = [];
      const error = await rejection(
        (async () => {
          for await (const e of b) {
            got.push(seq(e));
            if (got.length === 2) controller.abort(new Error('enough'));
          }
        })(),
      );
      expect(error.message).toBe('enough');
      expect(got).toEqual([0, 1]);
      expect(b.closed).toBe(true);
    });

    test('a pending next() rejects when the signal aborts; an aborted signal ends it at once', async () => {
      const obj = await load();
      const controller = new AbortController();
      const pending = open(obj.map(kind.map), { signal: controller.signal })[Symbol.asyncIterator]().next();
      controller.abort();
      expect((await rejection(pending)).name).toBe('AbortError');
      const timed = open(obj.map(kind.map), { signal: AbortSignal.timeout(10) })[Symbol.asyncIterator]().next();
      expect((await rejection(timed)).name).toBe('TimeoutError');
      const already = open(obj.map(kind.map), { signal: AbortSignal.abort(new TypeError('stop')) });
      expect(already.closed).toBe(true);
      expectError(await rejection(already[Symbol.asyncIterator]().next()), 'TypeError', 'stop');
    });

    test('close() resolves a pending next() with done', async () => {
      const obj = await load();
      const b = open(obj.map(kind.map));
      const pending = b[Symbol.asyncIterator]().next();
      b.close();
      expect(await pending).toEqual({ value: undefined, done: true });
    });

    test('close() while records are in flight ends the iteration cleanly', async () => {
      const obj = await load();
      const trigger = new Trigger();
      try {
        await trigger.ready();
        obj.globals.target_pid = trigger.pid;
        obj.globals.target_ppid = 0;
        obj.globals.n_events = 50;
        const b = open(obj.map(kind.map), { type: kind.type, highWaterMark: 16 });
        let stop = false;
        const producing = (async () => {
          while (!stop) await trigger.fire();
        })();
        let n = 0;
        const it = b[Symbol.asyncIterator]();
        for (;;) {
          const r = await it.next();
          if (r.done) break;
          if (++n === 10) b.close(); // queued records are dropped with the buffer
        }
        stop = true;
        await producing;
        expect(n).toBe(10);
        expect(await it.next()).toEqual({ value: undefined, done: true });
        expectThrows(() => b.stats(), 'TypeError', `${kind.name} is closed`);
      } finally {
        trigger.close();
      }
    });
  });

  describe(`${kind.name}: process lifetime`, () => {
    refUnrefTests(kind.name, kind.fixture, kind.map, distDir);

    test('an open one nobody references keeps delivering (an active handle, like a socket)', async () => {
      const obj = await load();
      let n = 0;
      const weak = (() => new WeakRef(new Buffer_(obj.map(kind.map), () => n++)))();
      await gcAndSettle();
      await gcAndSettle();
      kind.fire(obj, 3);
      await until(() => n === 3, 'delivery after GC');
      weak.deref()!.close();
    });
  });

  describe(`${kind.name}: worker threads`, () => {
    const WORKER = `
      const { parentPort, workerData } = require('node:worker_threads');
      const { BpfObject, ${kind.name} } = require(workerData.dist);
      (async () => {
        const obj = BpfObject.open(workerData.fixture);
        await obj.load();
        obj.attach();
        obj.globals.target_ppid = process.pid;
        obj.globals.n_events = workerData.n;
        const seqs = [];
        const b = new ${kind.name}(obj.map(${JSON.stringify(kind.map)}), (e) => {
          seqs.push(Number(e.seq));
          if (seqs.length === workerData.n) {
            setImmediate(() => {
              parentPort.postMessage({ seqs, comm: e.comm, stats: b.stats() });
              if (!workerData.leak) { b.close(); obj.close(); }
            });
          }
        }, { type: ${JSON.stringify(kind.type)}, maxBatch: 7 });
        parentPort.postMessage('ready');
      })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
    `;
    const run = (n: number, leak: boolean): Promise<{ exitCode: number; result: any }> =>
      runWorker(WORKER, { n, leak, dist: distDir(), fixture: kind.fixture }, () => execFileSync('python3', ['-c', 'import os; os.sched_setaffinity(0, {0}); os.getpgid(0)']));

    beforeAll(() => {
      distDir();
    }, 60000);

    test('a worker consumes on its own event loop', async () => {
      const { exitCode, result } = await run(50, false);
      expect(result.error).toBeUndefined();
      expect(result.seqs).toEqual(Array.from({ length: 50 }, (_, i) => i));
      expect(result.comm).toBe('python3');
      expect(result.stats).toMatchObject({ delivered: 50 });
      expect(exitCode).toBe(0);
    });

    test('a worker terminated with its buffer open tears it down; this thread goes on', async () => {
      const { exitCode, result } = await run(5, true);
      expect(result.seqs).toEqual([0, 1, 2, 3, 4]);
      expect(exitCode).toBe(1); // terminate()
      const obj = await load();
      const b = open(obj.map(kind.map), () => undefined);
      kind.fire(obj, 2);
      expect(b.consume()).toBe(2);
    });
  });

  describe(`${kind.name}: close() and misuse`, () => {
    test('close() is idempotent; every use after it throws', async () => {
      const obj = await load();
      const b = new Buffer_(obj.map(kind.map), () => undefined);
      b.close();
      b.close();
      b[Symbol.dispose]();
      expect(b.closed).toBe(true);
      for (const use of [() => b.consume(), () => b.stats(), () => b.ref(), () => b.unref()]) {
        expectThrows(use, 'TypeError', `${kind.name} is closed`);
      }
    });

    test('`using` closes it', async () => {
      const obj = await load();
      let outer: AnyBuffer;
      {
        using b = new Buffer_(obj.map(kind.map), () => undefined);
        outer = b;
      }
      expect(outer.closed).toBe(true);
    });

    test('close() from inside the callback stops the batch; consume() from inside is refused', async () => {
      const obj = await load();
      let n = 0;
      const b: AnyBuffer = open(obj.map(kind.map), () => {
        if (++n === 3) b.close();
      });
      kind.fire(obj, 10);
      expect(b.consume()).toBe(3);
      expect(b.closed).toBe(true);
      const errors: Error[] = [];
      // A fresh object: the first one's ring still holds the 7 records left unconsumed.
      const other = await load();
      const again: AnyBuffer = open(other.map(kind.map), () => again.consume());
      again.on('error', (e) => errors.push(e));
      kind.fire(other, 1);
      await until(() => errors.length === 1, 'the error');
      expectError(errors[0], 'TypeError', `consume() cannot be called from a ${kind.name} callback`);
    });

    test('closing the object closes its buffers first; one closed on its own is released', async () => {
      const obj = await load();
      const b = new Buffer_(obj.map(kind.map), () => undefined);
      const iterated = new Buffer_(obj.map(kind.small), { raw: true });
      const alone = new Buffer_(obj.map(kind.map), () => undefined);
      alone.close();
      const pending = iterated[Symbol.asyncIterator]().next();
      obj.close(); // closes nothing twice, throws nothing
      expect(b.closed).toBe(true);
      expect(iterated.closed).toBe(true);
      await expect(pending).resolves.toEqual({ value: undefined, done: true });
      expectThrows(() => b.consume(), 'TypeError', `${kind.name} is closed`);
    });

    test('wrong maps', async () => {
      const obj = await load();
      expectThrows(() => new Buffer_(obj.map(kind.other), () => undefined), 'TypeError', `map: expected a ${kind.mapKind} map, got "${kind.other}" (a hash map)`);
      expectThrows(() => new Buffer_({} as BpfMap, () => undefined), 'TypeError', 'map: expected a BpfMap, got an object');
      const unloaded = openFixture(kind.fixture);
      expectThrows(() => new Buffer_(unloaded.map(kind.map), () => undefined), 'TypeError', 'BpfObject is not loaded');
      const map = obj.map(kind.map);
      obj.close();
      expectThrows(() => new Buffer_(map, () => undefined), 'TypeError', 'BpfObject is closed');
    });

    test('bad arguments and options', async () => {
      const obj = await load();
      const map = obj.map(kind.map);
      const cb = (): void => undefined;
      expectThrows(() => new Buffer_(map, 42), 'TypeError', 'options: expected an options object, got 42');
      expectThrows(() => new Buffer_(map, 'x', {}), 'TypeError', 'callback: expected a function, got "x"');
      expectThrows(() => new Buffer_(map, cb, { bogus: 1 }), 'TypeError', /^options\.bogus: expected one of the known options/);
      expectThrows(() => new Buffer_(map, cb, { highWaterMark: 4 }), 'TypeError', /^options\.highWaterMark: expected one of the known options/);
      expectThrows(() => new Buffer_(map, { lazy: true }), 'TypeError', /^options\.lazy: expected one of the known options/);
      expectThrows(() => new Buffer_(map, cb, { maxBatch: 0 }), 'RangeError', 'options.maxBatch: expected an integer 1..2^31-1, got 0');
      expectThrows(() => new Buffer_(map, { highWaterMark: -1 }), 'RangeError', 'options.highWaterMark: expected an integer 1..2^31-1, got -1');
      expectThrows(() => new Buffer_(map, cb, { raw: true, type: kind.type }), 'TypeError', `options.type: expected no type with raw: true, got ${JSON.stringify(kind.type)}`);
      expectThrows(() => new Buffer_(map, cb, { lazy: true }), 'TypeError', /^options\.lazy: expected false for a map without a record type/);
      expectThrows(() => new Buffer_(map, cb, { type: 'struct nope' }), 'RangeError', /^options\.type: expected a type in the object's BTF .*, got "struct nope"$/);
      expectThrows(() => new Buffer_(map, cb, { signal: {} }), 'TypeError', 'options.signal: expected an AbortSignal, got an object');
      const b = open(map, cb);
      expectThrows(() => b[Symbol.asyncIterator](), 'TypeError', `this ${kind.name} delivers to a callback; iterate one made without a callback`);
      const it = open(obj.map(kind.small));
      it[Symbol.asyncIterator]();
      expectThrows(() => it[Symbol.asyncIterator](), 'TypeError', `this ${kind.name} is already being iterated`);
    });

    test('the native class checks its receiver and cannot be constructed from JS', async () => {
      const Native = (addon as unknown as Record<string, { new (): unknown; prototype: Record<string, Function> }>)[`Native${kind.name}`];
      expectThrows(() => new Native(), 'TypeError', `Illegal constructor: Native${kind.name} is created by the library`);
      expectThrows(() => Native.prototype[kind.nativeMethod].call({}, 1), 'TypeError', `Illegal invocation: receiver is not a Native${kind.name}`);
      expectThrows(() => kind.openNative({}), 'TypeError', 'map must be a NativeMap');
      const obj = await load();
      const native = kind.openNative(nativeMap(obj.map(kind.map)));
      native.close();
      native.close();
      expectThrows(() => native[kind.nativeMethod](1 as never), 'TypeError', `${kind.name} is closed`);
    });
  });
}

/** The native handle of a map, as the event buffers hand it to their native class. */
export const nativeMap = (map: BpfMap): ReturnType<BpfMap['internals']>['native'] => map.internals(INTERNAL).native;
