// UserRingBuffer against the real kernel: JS writes messages into user ring buffer maps;
// a tracepoint on getpgid() (called by a child of this process) drains them with
// bpf_user_ringbuf_drain() and echoes each one, with its size, into a ring buffer the
// test reads back with RingBuffer.
// BPF_MAP_TYPE_USER_RINGBUF came in Linux 6.1. On older kernels (the kernel matrix runs
// this file on 5.10), each test whose subject needs such a map asserts the kernel's
// refusal instead (kindTest), and the others run on the object loaded without those maps.
import { execFileSync } from 'node:child_process';
import { BpfError, BpfObject, RingBuffer, UserRingBuffer, type BpfMap } from 'node-libbpf';
import { INTERNAL } from '../../src/ts/base/internal';
import { addon } from '../../src/ts/base/native';
import { expectError, expectMapKindRefused, expectRejects, expectThrows, fixture, loadFixture, openFixture, rejection, thrown, triggerGetpgid } from '../support/helpers';
import { kernelAtLeast } from '../support/kernel';

const FIXTURE = fixture('userringbuf_echo');
const COMMAND_BYTES = 32; // sizeof(struct command)
const HAS_USER_RINGBUF = kernelAtLeast(6, 1);
const USER_RINGS = ['commands', 'tiny_commands']; // the fixture's user_ringbuf maps, used by its program 'drain'
const NOT_CREATED = 'BpfMap is not created (its autocreate was off)';

interface Command {
  seq: number;
  op: number;
  arg: bigint;
  name: string;
}

interface Echo {
  cmd: Command;
  size: number;
  source: number;
  read: bigint;
}

const closers: { close(): void }[] = [];

/** The fixture, loaded and attached; before 6.1, without its user rings (and 'drain', which uses them). */
function load(): Promise<BpfObject> {
  return loadFixture(FIXTURE, {
    attach: true,
    globals: { target_ppid: process.pid },
    before: HAS_USER_RINGBUF ? undefined : (obj) => withoutUserRings(obj),
  });
}

/** Leaves the user rings uncreated, but `keep`, and the program that uses them unloaded. */
function withoutUserRings(obj: BpfObject, keep?: string): void {
  for (const name of USER_RINGS) if (name !== keep) obj.map(name).autocreate = false;
  obj.program('drain').autoload = false;
}

/**
 * On a kernel that predates user ring buffers: loading the fixture with either user ring
 * left on fails with a BpfError naming that map and the release that brings the kind; with
 * both off (and 'drain'), the rest of the object loads, and a UserRingBuffer on either ring
 * throws the fixed TypeError, while the ring buffer 'seen' (5.8) works.
 */
async function expectKindMissing(): Promise<void> {
  for (const name of USER_RINGS) {
    const refused = openFixture(FIXTURE);
    withoutUserRings(refused, name);
    const e = await rejection(refused.load());
    expect(e).toBeInstanceOf(BpfError);
    expectMapKindRefused(e, name, 'user_ringbuf', 'Linux 6.1');
  }
  const obj = await load();
  for (const name of USER_RINGS) {
    const map = obj.map(name);
    expect([map.type, map.autocreate]).toEqual(['user_ringbuf', false]); // the type from the object file
    expectThrows(() => new UserRingBuffer(map), 'TypeError', NOT_CREATED);
    expectThrows(() => new UserRingBuffer<Command>(map, { type: 'struct command' }), 'TypeError', NOT_CREATED);
  }
  expectThrows(() => obj.program('drain').fd, 'TypeError', 'Program is not loaded (its autoload was off)');
  new RingBuffer(obj.map('seen'), () => undefined).close();
}

/** A test of what needs a user ring buffer map: from 6.1 on, `body`; before, the kernel's refusal. */
function kindTest(name: string, body: () => Promise<void>): void {
  test(name, HAS_USER_RINGBUF ? body : expectKindMissing);
}

function track<T extends { close(): void }>(x: T): T {
  closers.push(x);
  return x;
}

/** A child's getpgid(): the BPF side drains the rings. Returns the echoes it wrote. */
function drain(obj: BpfObject): Echo[] {
  const echoes: Echo[] = [];
  const rb = new RingBuffer<Echo>(obj.map('seen'), (e) => echoes.push(e), { type: 'struct echo' });
  try {
    execFileSync('python3', ['-c', 'import os; os.getpgid(0)']);
    rb.consume();
  } finally {
    rb.close();
  }
  return echoes;
}

const command = (seq: number): Command => ({ seq, op: seq % 3, arg: BigInt(seq) * 1000n, name: `cmd-${seq}` });

afterEach(() => {
  for (const c of closers.splice(0).reverse()) c.close();
});

describe('round trip to BPF', () => {
  kindTest('typed messages, in order, as the BPF program saw them', async () => {
    const obj = await load();
    const ring = track(new UserRingBuffer<Command>(obj.map('commands'), { type: 'struct command' }));
    let seq = 0;
    for (let round = 0; round < 5; round++) {
      const sent: Command[] = [];
      for (let i = 0; i < 400; i++) {
        sent.push(command(seq++));
        ring.send(sent[sent.length - 1]);
      }
      const echoes = drain(obj);
      expect(echoes.map((e) => e.cmd)).toEqual(sent);
      expect(echoes.every((e) => e.size === COMMAND_BYTES && e.source === 0 && e.read === 0n)).toBe(true);
    }
    expect(obj.globals.drained).toBe(2000n);
  });

  kindTest('reserve(), write(), submit(); discard() is never delivered', async () => {
    const obj = await load();
    const ring = track(new UserRingBuffer<Command>(obj.map('commands'), { type: 'command' }));
    const a = ring.reserve();
    const b = ring.reserve();
    const c = ring.reserve();
    expect([a.size, a.state]).toEqual([COMMAND_BYTES, 'reserved']);
    expect(a.write(command(1))).toBe(a);
    b.write(command(2));
    c.write({ seq: 3 } as Command); // the rest zero
    b.discard();
    a.submit();
    c.submit();
    expect([a.state, b.state, c.state]).toEqual(['submitted', 'discarded', 'submitted']);
    expect(drain(obj).map((e) => e.cmd)).toEqual([command(1), { seq: 3, op: 0, arg: 0n, name: '' }]);
  });

  kindTest('raw bytes: reserve(size) with view/bytes, and send(buffer); the kernel sees their sizes', async () => {
    const obj = await load();
    const ring = track(new UserRingBuffer(obj.map('tiny_commands')));
    const s = ring.reserve(12);
    s.view.setUint32(0, 0xdeadbeef, true);
    s.bytes.writeUInt32LE(7, 4);
    s.submit();
    ring.send(Buffer.from([1, 0, 0, 0, 2, 0, 0, 0, 9]));
    ring.send(new Uint8Array(COMMAND_BYTES + 8).fill(0x41));
    const echoes = drain(obj);
    expect(echoes.map((e) => [e.source, e.size, e.cmd.seq, e.cmd.op])).toEqual([[1, 12, 0xdeadbeef, 7], [1, 9, 1, 2], [1, 40, 0x41414141, 0x41414141]]);
  });

  kindTest('a typed ring also takes raw bytes', async () => {
    const obj = await load();
    const ring = track(new UserRingBuffer<Command>(obj.map('commands'), { type: 'struct command' }));
    ring.send(Buffer.alloc(COMMAND_BYTES, 1));
    expect(drain(obj).map((e) => [e.size, e.cmd.seq])).toEqual([[COMMAND_BYTES, 0x01010101]]);
  });
});

describe('a full ring', () => {
  kindTest('reserve() throws BpfError ENOSPC with a hint; draining makes room', async () => {
    const obj = await load();
    const ring = track(new UserRingBuffer(obj.map('tiny_commands')));
    expect(ring.size).toBe(4096);
    for (let i = 0; i < 4; i++) ring.send(Buffer.alloc(1000, i)); // 1008 bytes each with the header
    const e = thrown(() => ring.send(Buffer.alloc(1000)));
    expect(e).toBeInstanceOf(BpfError);
    expect(e).toMatchObject({ code: 'ENOSPC', syscall: 'user_ring_buffer__reserve' });
    expect(e.hint).toMatch(/bpf_user_ringbuf_drain/);
    expect(drain(obj).map((x) => x.size)).toEqual([1000, 1000, 1000, 1000]);
    ring.send(Buffer.alloc(1000)); // room again
  });

  kindTest('a sample larger than the ring: E2BIG', async () => {
    const obj = await load();
    const ring = track(new UserRingBuffer(obj.map('tiny_commands')));
    const e = thrown(() => ring.reserve(4096));
    expect(e).toBeInstanceOf(BpfError);
    expect(e).toMatchObject({ code: 'E2BIG', syscall: 'user_ring_buffer__reserve' });
    expect(e.hint).toMatch(/larger than the whole user ring buffer/);
  });

  kindTest('reserveBlocking() waits on the event loop until a drain makes room', async () => {
    const obj = await load();
    const ring = track(new UserRingBuffer(obj.map('tiny_commands')));
    for (let i = 0; i < 4; i++) ring.send(Buffer.alloc(1000, i));
    let settled = false;
    const waiting = ring.reserveBlocking(1000, 60_000).finally(() => (settled = true));
    // The JS thread is free meanwhile: timers run, and so does the child that drains.
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false);
    await triggerGetpgid(1);
    const sample = await waiting;
    sample.bytes.fill(9);
    sample.submit();
    const echoes = drain(obj); // what the first drain echoed, then this one
    expect(echoes.map((e) => [e.size, e.cmd.seq & 0xff])).toEqual([[1000, 0], [1000, 1], [1000, 2], [1000, 3], [1000, 9]]);
  });

  kindTest('reserveBlocking() rejects with ENOSPC after timeoutMs, with signal.reason on abort, with TypeError on close', async () => {
    const obj = await load();
    const ring = track(new UserRingBuffer(obj.map('tiny_commands')));
    for (let i = 0; i < 4; i++) ring.send(Buffer.alloc(1000));
    const e = await rejection(ring.reserveBlocking(1000, 30));
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('ENOSPC');
    const controller = new AbortController();
    const aborted = ring.reserveBlocking(1000, 60_000, { signal: controller.signal });
    controller.abort(new Error('never mind'));
    expect((await rejection(aborted)).message).toBe('never mind');
    const closing = ring.reserveBlocking(1000, 60_000);
    ring.close();
    await expectRejects(closing, 'TypeError', 'UserRingBuffer is closed');
    // With room, it resolves at once.
    const roomy = track(new UserRingBuffer(obj.map('commands')));
    const sample = await roomy.reserveBlocking(8, 0);
    expect(sample.size).toBe(8);
    sample.discard();
  });
});

describe('samples and the ring: state', () => {
  kindTest('a submitted or discarded sample cannot be used again', async () => {
    const obj = await load();
    const ring = track(new UserRingBuffer<Command>(obj.map('commands'), { type: 'struct command' }));
    const s = ring.reserve();
    s.submit();
    for (const use of [() => s.submit(), () => s.discard(), () => s.write(command(1)), () => s.view, () => s.bytes]) {
      expectThrows(use, 'TypeError', 'UserRingBuffer sample is already submitted');
    }
    const d = ring.reserve();
    d.discard();
    for (const use of [() => d.submit(), () => d.discard(), () => d.write(command(1))]) {
      expectThrows(use, 'TypeError', 'UserRingBuffer sample is already discarded');
    }
    expect(drain(obj)).toHaveLength(1);
  });

  kindTest('close() discards open reservations, so later messages are not held back; then every use throws', async () => {
    const obj = await load();
    const ring = new UserRingBuffer<Command>(obj.map('commands'), { type: 'struct command' });
    ring.send(command(1));
    const open = ring.reserve();
    open.write(command(2));
    ring.close();
    ring.close();
    expect(ring.closed).toBe(true);
    expect(open.state).toBe('discarded');
    expectThrows(() => open.submit(), 'TypeError', 'UserRingBuffer is closed');
    for (const use of [() => ring.reserve(), () => ring.send(command(3)), () => ring.size]) {
      expectThrows(use, 'TypeError', 'UserRingBuffer is closed');
    }
    await expectRejects(ring.reserveBlocking(undefined, 10), 'TypeError', 'UserRingBuffer is closed');
    const again = track(new UserRingBuffer<Command>(obj.map('commands'), { type: 'struct command' }));
    again.send(command(4));
    expect(drain(obj).map((e) => e.cmd.seq)).toEqual([1, 4]);
  });

  kindTest('closing the object closes its UserRingBuffers first; `using` closes one', async () => {
    const obj = await load();
    let outer: UserRingBuffer;
    {
      using ring = new UserRingBuffer(obj.map('commands'));
      outer = ring;
    }
    expect(outer.closed).toBe(true);
    const ring = new UserRingBuffer(obj.map('commands'));
    obj.close();
    expect(ring.closed).toBe(true);
  });
});

describe('misuse', () => {
  // On every kernel: before 6.1, on the object loaded without its user rings.
  test('wrong maps and options', async () => {
    const obj = await load();
    expectThrows(() => new UserRingBuffer(obj.map('not_user')), 'TypeError', 'map: expected a user_ringbuf map, got "not_user" (a ringbuf map)');
    expectThrows(() => new UserRingBuffer({} as BpfMap), 'TypeError', 'map: expected a BpfMap, got an object');
    expectThrows(() => new UserRingBuffer(obj.map('commands'), { bogus: 1 } as never), 'TypeError', /^options\.bogus: expected one of the known options/);
    expectThrows(() => new UserRingBuffer(obj.map('commands'), { type: 'struct nope' }), 'RangeError', /^options\.type: expected a type in the object's BTF/);
    const unloaded = openFixture(FIXTURE);
    expectThrows(() => new UserRingBuffer(unloaded.map('commands')), 'TypeError', 'BpfObject is not loaded');
  });

  kindTest('bad arguments', async () => {
    const obj = await load();
    const raw = track(new UserRingBuffer(obj.map('commands')));
    expectThrows(() => raw.reserve(), 'TypeError', 'size: expected a byte count (this UserRingBuffer has no type), got undefined');
    expectThrows(() => raw.reserve(0), 'RangeError', 'size: expected an integer 1..2^30-1, got 0');
    expectThrows(() => raw.send({ seq: 1 }), 'TypeError', 'value: expected a Buffer or Uint8Array (this UserRingBuffer has no type), got an object');
    const s = raw.reserve(8);
    expectThrows(() => s.write({}), 'TypeError', 'write(): this UserRingBuffer has no type; write bytes through view or bytes');
    s.discard();
    const typed = track(new UserRingBuffer<Command>(obj.map('commands'), { type: 'struct command' }));
    expectThrows(() => typed.send({ seq: 'x' } as never), 'TypeError', /seq/);
    const short = typed.reserve(8);
    expectThrows(() => short.write(command(1)), 'RangeError', /^write: expected a sample of at least 32 bytes for struct command/);
    short.discard(); // reserved and never submitted, it would hold back every later message
    await expectRejects(typed.reserveBlocking(8, -1), 'RangeError', 'timeoutMs: expected an integer 0..2^31-1, got -1');
    await expectRejects(typed.reserveBlocking(8, 10, { signal: 1 } as never), 'TypeError', 'options.signal: expected an AbortSignal, got 1');
    // A failed send() gave its reservation back: nothing holds later messages.
    typed.send(command(5));
    const echoes = drain(obj);
    expect(echoes.map((e) => e.cmd.seq)).toEqual([5]);
  });

  test('the native class checks its receiver and cannot be constructed from JS', async () => {
    const Native = (addon as unknown as { NativeUserRingBuffer: { new (): unknown; prototype: Record<string, Function> } }).NativeUserRingBuffer;
    expectThrows(() => new Native(), 'TypeError', 'Illegal constructor: NativeUserRingBuffer is created by the library');
    expectThrows(() => Native.prototype.reserve.call({}, 8), 'TypeError', 'Illegal invocation: receiver is not a NativeUserRingBuffer');
    expectThrows(() => addon.NativeUserRingBuffer.open({} as never), 'TypeError', 'map must be a NativeMap');
    const obj = await load();
    expectThrows(() => addon.NativeUserRingBuffer.open(obj.map('seen').internals(INTERNAL).native), 'TypeError', 'map is not a user_ringbuf map');
    if (!HAS_USER_RINGBUF) {
      expectThrows(() => addon.NativeUserRingBuffer.open(obj.map('commands').internals(INTERNAL).native), 'TypeError', NOT_CREATED);
      return;
    }
    const native = addon.NativeUserRingBuffer.open(obj.map('commands').internals(INTERNAL).native);
    expectThrows(() => native.submit(5, new Uint8Array(1)), 'TypeError', 'no such reservation');
    native.close();
    native.close();
    expectError(thrown(() => native.reserve(8)), 'TypeError', 'UserRingBuffer is closed');
  });
});
