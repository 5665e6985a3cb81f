// Element and member writes of array and struct globals (issue 15) reach the initial
// image before load and live memory after load, at every nesting level; a BPF program
// (copy_out, run with testRun) reports what it sees.
import { BpfObject } from 'node-libbpf';
import { fixture, openFixture, thrown } from '../support/helpers';

const OBJ = fixture('globals_write');

function seen(obj: BpfObject): any {
  obj.program('copy_out').testRun({});
  return obj.globals.seen;
}

test('before load: element and member writes at every depth reach the initial image', async () => {
  const obj = openFixture(OBJ);
  obj.globals.target_ports[0] = 80;
  obj.globals.target_ports[3] = 443;
  obj.globals.ro_cfg.ports[1] = 22;
  obj.globals.ro_cfg.in.verbose = true;
  obj.globals.ro_cfg.rows[1].hi = 9;
  obj.globals.cfg.in.lo = 7;
  obj.globals.counts[2] = 30;
  // Reads see the writes before load, too.
  expect(Array.from(obj.globals.target_ports)).toEqual([80, 0, 0, 443]);
  expect(obj.globals.ro_cfg.rows[1]).toEqual({ lo: 0, hi: 9, verbose: false });
  await obj.load();
  const s = seen(obj);
  expect(Array.from(s.target_ports)).toEqual([80, 0, 0, 443]);
  expect(Array.from(s.ro_cfg.ports)).toEqual([0, 22, 0, 0]);
  expect(s.ro_cfg.in).toEqual({ lo: 0, hi: 0, verbose: true });
  expect(s.ro_cfg.rows[1]).toEqual({ lo: 0, hi: 9, verbose: false });
  expect(s.cfg.in.lo).toBe(7);
  expect(Array.from(s.counts)).toEqual([1, 2, 30]);
});

test('after load: writes reach live memory; .rodata refuses them', async () => {
  const obj = openFixture(OBJ);
  await obj.load();
  const cfg = obj.globals.cfg; // a view held across writes
  cfg.ports[0] = 8080;
  cfg.rows[0].verbose = true;
  obj.globals.cfg.in.hi = 65535;
  obj.globals.counts[0] = 100;
  expect(cfg.ports[0]).toBe(8080);
  const s = seen(obj);
  expect(Array.from(s.cfg.ports)).toEqual([8080, 0, 0, 0]);
  expect(s.cfg.rows[0]).toEqual({ lo: 0, hi: 0, verbose: true });
  expect(s.cfg.in).toEqual({ lo: 0, hi: 65535, verbose: false });
  expect(Array.from(s.counts)).toEqual([100, 2, 3]);
  const e = thrown(() => (obj.globals.ro_cfg.in.verbose = true));
  expect(e).toBeInstanceOf(TypeError);
  expect(e.message).toContain('read-only after load');
});

test('a bad element value is refused and leaves memory as it was', async () => {
  const obj = openFixture(OBJ);
  await obj.load();
  obj.globals.cfg.in.lo = 5;
  const e = thrown(() => (obj.globals.cfg.in.lo = 70000));
  expect(e).toBeInstanceOf(RangeError);
  expect(e.message).toMatch(/^globals\.cfg/);
  expect(seen(obj).cfg.in.lo).toBe(5);
});

test('scalar globals still read as plain values', async () => {
  const obj = openFixture('basic');
  obj.globals.target_pid = 3;
  expect(obj.globals.target_pid).toBe(3);
});
