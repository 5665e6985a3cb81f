// UserRingBuffer's options.type and Btf#codec() find a message type that only the
// object's DWARF has (test/fixtures/userringbuf_dwarf.bpf.c, built with -g: struct
// dwarf_msg is the type of a local variable, absent from its BTF); the BPF side reads
// back exactly what was encoded. A stripped copy has no DWARF: the type is refused.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BpfObject, UserRingBuffer } from 'node-libbpf';
import { stripSections } from '../../src/ts/elf/strip';
import { cleanupAfterEach, expectThrows, fixture, triggerGetpgid } from '../support/helpers';

const FIXTURE = fixture('userringbuf_dwarf');
const cleanup = cleanupAfterEach();

const MESSAGE = { seq: 7, op: 0xbeef, flags: 0x81, arg: -(5n << 40n), name: 'dwarf-only', low: 5, high: 17 };

async function loaded(file: string): Promise<BpfObject> {
  const obj = BpfObject.open(file);
  cleanup(() => obj.close());
  await obj.load();
  obj.attach();
  obj.globals.target_ppid = process.pid;
  return obj;
}

describe('a message type only in DWARF', () => {
  test("is not in the object's BTF", async () => {
    const obj = await loaded(FIXTURE);
    expect(obj.btf!.find('dwarf_msg')).toBeUndefined();
  });

  test('UserRingBuffer with options.type encodes it; the BPF side reads every field back', async () => {
    const obj = await loaded(FIXTURE);
    const ring = new UserRingBuffer(obj.map('msgs'), { type: 'struct dwarf_msg' });
    cleanup(() => ring.close());
    ring.send(MESSAGE);
    await triggerGetpgid(1);
    const g = obj.globals;
    expect(g.drained).toBe(1n);
    expect(g.last_size).toBe(32); // sizeof(struct dwarf_msg): DWARF's layout is the compiler's
    expect([g.last_seq, g.last_op, g.last_flags, g.last_arg, g.last_name, g.last_low, g.last_high]).toEqual([7, 0xbeef, 0x81, -(5n << 40n), 'dwarf-only', 5, 17]);
  });

  test('Btf#codec() encodes and decodes it, with the same bytes as UserRingBuffer', async () => {
    const obj = await loaded(FIXTURE);
    const codec = obj.btf!.codec('struct dwarf_msg');
    expect(codec.size).toBe(32);
    expect(codec.typeName).toBe('struct dwarf_msg');
    const view = new DataView(new ArrayBuffer(32));
    codec.encode(MESSAGE, view, 0);
    expect(codec.decode(view, 0)).toEqual(MESSAGE);
    // The bytes UserRingBuffer sends are the codec's: what the BPF side read back above.
    expect(view.getUint32(0, true)).toBe(7);
    expect(view.getUint16(4, true)).toBe(0xbeef);
    expect(view.getBigInt64(8, true)).toBe(-(5n << 40n));
  });

  test('a stripped copy (no .debug_info) refuses it, saying where types are found', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nlb-urb-dwarf-'));
    cleanup(() => fs.rmSync(tmp, { recursive: true, force: true }));
    const stripped = path.join(tmp, 'userringbuf_dwarf.stripped.bpf.o');
    fs.writeFileSync(stripped, stripSections(fs.readFileSync(FIXTURE)));
    const obj = await loaded(stripped);
    expectThrows(() => new UserRingBuffer(obj.map('msgs'), { type: 'struct dwarf_msg' }), 'RangeError', /^options\.type: expected a type in the object's BTF .*-g.*, got "struct dwarf_msg"$/);
    expectThrows(() => obj.btf!.codec('struct dwarf_msg'), 'RangeError', /dwarf_msg/);
  });
});
