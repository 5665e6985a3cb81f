// obj.globals with struct and array variables: decoded from BTF, written before load
// (into .rodata) and live after load (.data/.bss), with field paths in errors.
import * as path from 'node:path';
import { BpfObject } from 'node-libbpf';

const fixture = path.join(process.env.NODE_LIBBPF_FIXTURES!, 'tool_style.bpf.o');

test('struct and array globals: initial values, writes before load, live memory after', async () => {
  using obj = BpfObject.open(fixture);
  expect(obj.globals.cfg).toEqual({ pids: new Uint32Array([1, 2, 0, 0]), comm: 'init', ports: { lo: 80, hi: 443 }, enabled: false });
  expect(obj.globals.hist).toEqual(new BigUint64Array(8));
  obj.globals.cfg = { pids: [7, 8, 9, 10], comm: 'sshd', ports: { lo: 22, hi: 22 }, enabled: true };
  expect(() => (obj.globals.cfg = { pids: [1, 2, 3, 4, 5] })).toThrow(RangeError);
  expect(() => (obj.globals.cfg = { ports: { lo: 70000 } })).toThrow(/globals\.cfg \.ports\.lo: expected/);
  expect(obj.globals.cfg.comm).toBe('sshd'); // failed writes changed nothing
  await obj.load();
  expect(obj.globals.cfg).toEqual({ pids: new Uint32Array([7, 8, 9, 10]), comm: 'sshd', ports: { lo: 22, hi: 22 }, enabled: true });
  expect(() => (obj.globals.cfg = { enabled: false })).toThrow(/\.rodata is read-only after load/);
  obj.globals.hist = [1n, 2n, 3n];
  obj.globals.live_stats = { hits: 5, last: -1 };
  expect(obj.globals.hist.slice(0, 4)).toEqual(new BigUint64Array([1n, 2n, 3n, 0n]));
  expect(obj.globals.live_stats).toEqual({ hits: 5, last: -1 });
  // The same bytes through the map, by syscall: the globals wrote live memory.
  const bss = obj.map('.bss').raw.get(Buffer.alloc(4))!;
  const hist = Buffer.alloc(24);
  hist.writeBigUInt64LE(1n, 0);
  hist.writeBigUInt64LE(2n, 8);
  hist.writeBigUInt64LE(3n, 16);
  const stats = Buffer.from([5, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
  expect(bss.includes(hist)).toBe(true);
  expect(bss.includes(stats)).toBe(true);
});
