// Ring pressure without program changes (issue 15): stats() reports the bytes pending at
// each wake-up and their high-water mark, from the ring's producer/consumer positions.
import { execFileSync } from 'node:child_process';
import { RingBuffer, type BpfObject } from 'node-libbpf';
import { fixture, loadFixture } from '../support/helpers';

const FIXTURE = fixture('ringbuf_events');
const rings: RingBuffer[] = [];
afterEach(() => {
  for (const rb of rings.splice(0)) rb.close();
});

/** getpgid() from a child, synchronously: `small` 48-byte records (56 with header) each, nothing delivered meanwhile. */
function fireSync(obj: BpfObject, small: number): void {
  obj.globals.n_events = 0;
  obj.globals.n_small = small;
  execFileSync('python3', ['-c', 'import os\nos.getpgid(0)']);
}

async function wakeUp(rb: RingBuffer, until: () => boolean): Promise<void> {
  while (!until()) await new Promise((r) => setImmediate(r));
  void rb;
}

describe.each([
  ['in place', false],
  ['copying', true],
])('RingBuffer.stats() pressure (%s)', (_label, copy) => {
  test('a fresh ring reports its size and no pressure', async () => {
    const obj = await loadFixture(FIXTURE, { attach: true, globals: { target_ppid: process.pid } });
    const rb = new RingBuffer(obj.map('small'), () => undefined, { copy });
    rings.push(rb);
    expect(rb.stats()).toMatchObject({ size: 16 * 1024, wakeups: 0, pendingBytes: 0, highWaterBytes: 0, peakFill: 0 });
  });

  test('bytes pending at a wake-up and the high-water mark, up to a full ring with drops', async () => {
    const obj = await loadFixture(FIXTURE, { attach: true, globals: { target_ppid: process.pid } });
    let got = 0;
    const rb = new RingBuffer(obj.map('small'), () => got++, { copy });
    rings.push(rb);
    fireSync(obj, 10); // 10 records of 56 bytes wait for the next wake-up
    await wakeUp(rb, () => got >= 10);
    const first = rb.stats();
    expect(first.wakeups).toBeGreaterThanOrEqual(1);
    expect(first.highWaterBytes).toBe(10 * 56);
    expect(first.peakFill).toBeCloseTo((10 * 56) / (16 * 1024));
    expect(first.dropped).toBe(0);

    fireSync(obj, 400); // 22,400 bytes into a 16 KiB ring: it runs full, reservations fail
    const before = rb.stats();
    await wakeUp(rb, () => got >= 10 + Math.floor((16 * 1024) / 56) - 1 && rb.stats().availableBytes === 0);
    const full = rb.stats();
    expect(full.wakeups).toBeGreaterThan(before.wakeups);
    expect(full.dropped).toBeGreaterThan(0);
    expect(full.highWaterBytes).toBeGreaterThan(16 * 1024 - 56);
    expect(full.highWaterBytes).toBeLessThanOrEqual(16 * 1024);
    expect(full.peakFill).toBeGreaterThan(0.99);
    // Drained: the last wake-up's pending bytes are at most the high-water mark, which stays.
    expect(full.pendingBytes).toBeLessThanOrEqual(full.highWaterBytes);
    fireSync(obj, 1);
    await wakeUp(rb, () => rb.stats().wakeups > full.wakeups && got > full.delivered);
    const after = rb.stats();
    expect(after.pendingBytes).toBe(56);
    expect(after.highWaterBytes).toBe(full.highWaterBytes);
  });
});
