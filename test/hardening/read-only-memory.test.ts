// Memory the kernel maps read-only: .rodata after load, a frozen mmapable array, a ring
// buffer's records. A store into it was SIGSEGV; now it is a TypeError. The writes run in a
// child process, so that without the fix the crash is a failed assertion, not the end of
// the test run.
import { run } from '../support/child';
import { distDir, fixture } from '../support/helpers';
import { kernelAtLeast } from '../support/kernel';

function inChild(body: string): { status: number | null; signal: string | null; out: unknown } {
  const r = run(['-e', `
    const { BpfObject, BpfMap, MapFlags, RingBuffer } = require(${JSON.stringify(distDir())});
    const { execFileSync } = require('node:child_process');
    const out = [];
    const attempt = (what, fn) => { try { fn(); out.push(what + ': no error'); } catch (e) { out.push(what + ': ' + e.constructor.name + ': ' + e.message); } };
    (async () => { ${body} })().then(() => console.log(JSON.stringify(out)), (e) => { console.log(JSON.stringify(['failed: ' + e.stack])); process.exit(3); });
  `], 60000);
  let out: unknown = r.stdout;
  try {
    out = JSON.parse(r.stdout);
  } catch {
    // not JSON: the child died first (out keeps what it printed)
  }
  return { status: r.status, signal: r.signal, out };
}

test('.rodata after load: memory.set() and a write into memory.bytes are refused, reads work', () => {
  const r = inChild(`
    const obj = BpfObject.open(${JSON.stringify(fixture('basic'))});
    const rodata = obj.maps().find((m) => m.name.endsWith('.rodata'));
    const before = rodata.memory; // made before load: detached by load, not left writable
    out.push('before load readOnly: ' + before.readOnly);
    await obj.load();
    out.push('stale view valid: ' + before.valid);
    const mem = rodata.memory;
    out.push('readOnly: ' + mem.readOnly);
    attempt('set', () => mem.set(0, mem.get(0)));
    const bytes = mem.bytes;
    bytes[0] ^= 0xff; // a copy: changes nothing
    out.push('bytes is a copy: ' + (mem.bytes[0] !== bytes[0]));
    obj.close();
  `);
  expect({ status: r.status, signal: r.signal }).toEqual({ status: 0, signal: null });
  expect(r.out).toEqual([
    'before load readOnly: false',
    'stale view valid: false',
    'readOnly: true',
    expect.stringMatching(/^set: TypeError: .*\.rodata memory is read-only \(\.rodata after load, or a frozen map\): writing it is refused$/),
    'bytes is a copy: true',
  ]);
});

test('a frozen MMAPABLE array: memory.set() is refused, memory.bytes is a copy', () => {
  const r = inChild(`
    const m = BpfMap.create({ type: 'array', key: 'u32', value: 'u64', maxEntries: 4, flags: MapFlags.MMAPABLE, name: 'ro_arr' });
    m.set(1, 42n);
    m.freeze();
    const mem = m.memory;
    out.push('readOnly: ' + mem.readOnly + ', [1] = ' + mem.get(1));
    attempt('set', () => mem.set(1, 7n));
    mem.bytes.fill(0xff);
    out.push('still ' + m.get(1));
    m.close();
  `);
  expect({ status: r.status, signal: r.signal }).toEqual({ status: 0, signal: null });
  expect(r.out).toEqual([
    'readOnly: true, [1] = 42',
    expect.stringMatching(/^set: TypeError: .* is read-only/),
    'still 42',
  ]);
});

test('a writable MMAPABLE array stays writable through memory', () => {
  const r = inChild(`
    const m = BpfMap.create({ type: 'array', key: 'u32', value: 'u64', maxEntries: 4, flags: MapFlags.MMAPABLE, name: 'rw_arr' });
    const mem = m.memory;
    mem.set(2, 9n);
    mem.bytes[24] = 5; // element 3's low byte
    out.push(mem.readOnly + ' ' + m.get(2) + ' ' + m.get(3));
    m.close();
  `);
  expect(r.out).toEqual(['false 9 5']);
});

test("a raw RingBuffer record's view refuses writes (set*()), reads (also through view.buffer) and copy() work", () => {
  const ringFixture = fixture(kernelAtLeast(5, 17) ? 'ringbuf_events' : 'ringbuf_events_noloop');
  const r = inChild(`
    const obj = BpfObject.open(${JSON.stringify(ringFixture)});
    await obj.load();
    obj.attach();
    obj.globals.target_ppid = process.pid;
    obj.globals.n_events = 1;
    obj.globals.n_small = 0;
    const rb = new RingBuffer(obj.map('events'), (e) => {
      attempt('setUint8', () => e.view.setUint8(e.offset, 1));
      attempt('setBigUint64', () => e.view.setBigUint64(e.offset, 1n));
      out.push('read through buffer: ' + (new Uint8Array(e.view.buffer, e.view.byteOffset + e.offset, e.length).length));
      out.push('pid read: ' + (e.view.getUint32(e.offset + 8, true) > 0));
      const c = e.copy();
      c[0] = 1;
      out.push('copy: ' + c.length);
    }, { raw: true });
    execFileSync('python3', ['-c', 'import os; os.getpgid(0)']);
    out.push('consumed ' + rb.consume());
    rb.close();
    obj.close();
  `);
  expect({ status: r.status, signal: r.signal }).toEqual({ status: 0, signal: null });
  const refused = /TypeError: a raw event's view is read-only \(the buffer's memory, which the kernel maps read-only\): write to event.copy\(\) instead$/;
  expect(r.out).toEqual([
    expect.stringMatching(new RegExp(`^setUint8: ${refused.source}`)),
    expect.stringMatching(new RegExp(`^setBigUint64: ${refused.source}`)),
    'read through buffer: 96',
    'pid read: true',
    'copy: 96',
    'consumed 1',
  ]);
});
