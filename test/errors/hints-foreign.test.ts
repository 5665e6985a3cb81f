// Hints for what tools written for C libbpf leave to user space (issue 15): maps sized
// at run time, sections that name no attach target, a uprobe section without a binary,
// an fentry placeholder target. Each hint is provoked by test/fixtures/hints_foreign.bpf.c.
import * as fs from 'node:fs';
import { BpfError, type BpfObject } from 'node-libbpf';
import { fixture, loadFixture, openFixture, rejection, thrown } from '../support/helpers';

const OBJ = fixture('hints_foreign');

/** Sizes the maps and leaves out the fentry placeholder, so the object loads. */
function sized(obj: BpfObject): void {
  obj.map('stackmap').maxEntries = 8;
  obj.map('valbuf').valueSize = 8;
  obj.program('on_entry').autoload = false;
}

describe('maps left unsized in the .bpf.c', () => {
  test('max_entries 0: the hint names it and maxEntries', async () => {
    const e = await rejection(openFixture(OBJ).load());
    expect(e).toBeInstanceOf(BpfError);
    expect(e.message).toContain("map 'stackmap': failed to create");
    expect(e.hint).toContain("map 'stackmap' has max_entries 0");
    expect(e.hint).toContain("obj.map('stackmap').maxEntries = N before load()");
    expect(e.hint).not.toContain('value_size');
  });

  test('value_size 0: the hint names it and valueSize', async () => {
    const e = await rejection(openFixture(OBJ, (o) => (o.map('stackmap').maxEntries = 8)).load());
    expect(e).toBeInstanceOf(BpfError);
    expect(e.message).toContain("map 'valbuf': failed to create");
    expect(e.hint).toContain("map 'valbuf' has value_size 0");
    expect(e.hint).toContain("obj.map('valbuf').valueSize = N before load()");
    expect(e.hint).not.toContain('max_entries');
  });

  test('once sized as the hints say, the maps are created', async () => {
    const obj = await loadFixture(OBJ, sized);
    expect(obj.map('stackmap').info()).toMatchObject({ type: 'stack_trace', maxEntries: 8 });
    expect(obj.map('valbuf').info()).toMatchObject({ type: 'array', valueSize: 8 });
  });
});

describe('an fentry placeholder target', () => {
  test('ESRCH at load points to setAttachTarget()', async () => {
    const obj = openFixture(OBJ, (o) => {
      o.map('stackmap').maxEntries = 8;
      o.map('valbuf').valueSize = 8;
    });
    const e = await rejection(obj.load());
    expect(e).toBeInstanceOf(BpfError);
    if (!fs.existsSync('/sys/kernel/btf/vmlinux')) {
      // No kernel BTF: libbpf cannot look the target up at all, and says so.
      expect(e.hint).toContain('exposes no BTF');
      return;
    }
    expect(e.code).toBe('ESRCH');
    expect(e.message).toContain("'placeholder_target_fn'");
    expect(e.hint).toContain("obj.program('on_entry').setAttachTarget('function') before load()");
  });
});

describe('sections that cannot attach on their own', () => {
  test.each([
    ['on_sample', 'perf_event', 'attachPerfEvent('],
    ['on_packet', 'socket', 'attachSocket('],
    ['on_tc', 'tc', "attachTcx('eth0', { direction: 'ingress' })"],
    ['on_tcx', 'tcx/ingress', "attachTcx('eth0')"],
    ['on_uprobe', 'uprobe', 'attachUprobe({'],
    ['on_usdt', 'usdt', 'attachUsdt({'],
  ])('%s (SEC("%s")): attach() names %s', async (name, section, call) => {
    const obj = await loadFixture(OBJ, sized);
    const e = thrown(() => obj.program(name).attach());
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('EOPNOTSUPP');
    expect(e.message).toContain(`prog '${name}': section '${section}' names no attach target`);
    expect(e.hint).toContain(`program.${call}`);
    expect(e.hint).not.toMatch(/attachTracepoint|attachRawTracepoint/);
  });

  test('a uretprobe section without a binary is told the attachUprobe call, not a kernel requirement', async () => {
    const obj = await loadFixture(OBJ, sized);
    const e = thrown(() => obj.program('on_readline').attach());
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('EINVAL');
    expect(e.message).toContain("prog 'on_readline'");
    expect(e.hint).toContain("attachUprobe({ binary: '/bin/bash', func: 'readline', retprobe: true })");
    expect(e.hint).not.toMatch(/Linux 4\.3|CONFIG_UPROBE_EVENTS/);
  });

  test('obj.attach() names the failing program and gives the hint program.attach() gives', async () => {
    const obj = await loadFixture(OBJ, sized);
    const single = thrown(() => obj.program('on_readline').attach());
    const whole = thrown(() => obj.attach());
    expect(whole).toBeInstanceOf(BpfError);
    expect(whole.message).toContain("prog 'on_readline'");
    expect(whole.code).toBe(single.code);
    expect(whole.hint).toBe(single.hint);
    expect(whole.message).toBe(single.message);
  });

  test('obj.attach() skips the sections without a target, as a C skeleton does', async () => {
    const obj = await loadFixture(OBJ, (o) => {
      sized(o);
      o.program('on_readline').autoload = false;
    });
    expect(obj.attach()).toEqual([]);
  });
});
