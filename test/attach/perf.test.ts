// Sampling: attachPerfEvent() opens perf events itself (perf_event_open(2)) and attaches a
// SEC("perf_event") program, on every CPU with one Link, on one CPU, or following one
// process; samples of a spinning target process are counted per pid by the program.
import * as fs from 'node:fs';
import { BpfError, BpfObject, type Link } from 'node-libbpf';
import { onlineCpus, PER_CPU_FD, PER_CPU_PIN } from '../../src/ts/attach/trace';
import { bpffsPath, cleanupAfterEach, expectThrows, fdCount, fixture, loadFixture, removeBpffs, thrown } from '../support/helpers';
import { spawnTarget } from '../support/targets';

const FIXTURE = fixture('perf_sample');
const cleanup = cleanupAfterEach();

const samplesOf = (obj: BpfObject, pid: number): bigint => obj.map<number, bigint>('samples_by_pid').get(pid) ?? 0n;

describe('Program.attachPerfEvent', () => {
  test("all CPUs (the default without a pid): one Link owning one attachment per CPU samples a spinning process", async () => {
    const obj = await loadFixture(FIXTURE);
    const t = await spawnTarget(cleanup);
    const fds = fdCount();
    const link = obj.program('on_sample').attachPerfEvent({ type: 'software', config: 'cpu-clock', frequency: 999, cookie: 77n });
    expect(fdCount() - fds).toBe(2 * onlineCpus().length); // a perf event and a BPF link per CPU
    await t.send('spin 300');
    expect(samplesOf(obj, t.pid)).toBeGreaterThan(0n);
    expect(obj.globals.last_cookie).toBe(77n);
    // No single fd, no pin: the fixed messages.
    expectThrows(() => link.fd, 'TypeError', PER_CPU_FD);
    expectThrows(() => link.pin(bpffsPath('percpu')), 'TypeError', PER_CPU_PIN);
    expect(link.pinPath).toBeUndefined();
    link.destroy();
    expect(link.destroyed).toBe(true);
    expect(fdCount()).toBe(fds); // every CPU's attachment went
    const before = samplesOf(obj, t.pid);
    await t.send('spin 100');
    expect(samplesOf(obj, t.pid)).toBe(before);
  });

  test('one process (cpu omitted: wherever it runs), with a period, is a plain pinnable Link', async () => {
    const obj = await loadFixture(FIXTURE);
    const [t, other] = [await spawnTarget(cleanup), await spawnTarget(cleanup)];
    const link: Link = obj.program('on_sample').attachPerfEvent({ type: 'software', config: 'task-clock', period: 1_000_000, pid: t.pid });
    expect(link.fd).toBeGreaterThan(0);
    await other.send('spin 100');
    await t.send('spin 200');
    expect(samplesOf(obj, t.pid)).toBeGreaterThan(0n);
    expect(samplesOf(obj, other.pid)).toBe(0n);
    const pin = bpffsPath('perf');
    cleanup(() => removeBpffs(pin));
    link.pin(pin);
    expect(fs.existsSync(pin)).toBe(true);
    link.unpin();
    link.destroy();
  });

  test('one CPU', async () => {
    const obj = await loadFixture(FIXTURE);
    const cpu = onlineCpus()[0];
    const link = obj.program('on_sample').attachPerfEvent({ type: 'software', config: 'cpu-clock', frequency: 499, cpu });
    expect(link.fd).toBeGreaterThan(0);
    const t = await spawnTarget(cleanup);
    await t.send('spin 200');
    const byCpu = obj.map<number, bigint>('samples_by_cpu');
    expect(byCpu.get(cpu)).toBeGreaterThan(0n);
    for (const other of onlineCpus().filter((c) => c !== cpu)) expect(byCpu.get(other)).toBe(0n);
  });

  test('hardware events: samples where the machine has a CPU PMU, else ENOENT from perf_event_open with a hint', async () => {
    const obj = await loadFixture(FIXTURE);
    const hasPmu = fs.existsSync('/sys/bus/event_source/devices/cpu') || fs.existsSync('/sys/bus/event_source/devices/cpu_core') || fs.existsSync('/sys/bus/event_source/devices/armv8_pmuv3_0');
    const attach = (): Link => obj.program('on_sample').attachPerfEvent({ type: 'hardware', config: 'cpu-cycles', frequency: 999 });
    if (hasPmu) {
      const link = attach();
      const t = await spawnTarget(cleanup);
      await t.send('spin 200');
      expect(samplesOf(obj, t.pid)).toBeGreaterThan(0n);
      link.destroy();
      return;
    }
    const fds = fdCount();
    const e = thrown(attach);
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('ENOENT');
    expect(e.syscall).toBe('perf_event_open');
    expect(e.hint).toMatch(/^no PMU for this event here: virtual machines often expose no hardware counters/);
    expect(fdCount()).toBe(fds);
  });

  test('a program of another type: EINVAL with a hint, and nothing leaks', async () => {
    const obj = BpfObject.open(fixture('basic'));
    cleanup(() => obj.close());
    await obj.load();
    const fds = fdCount();
    const e = thrown(() => obj.program('count_getpgid').attachPerfEvent({ type: 'software', config: 'cpu-clock', frequency: 99 }));
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe('EINVAL');
    expect(e.syscall).toBe('bpf_program__attach_perf_event_opts');
    expect(e.hint).toBe('only SEC("perf_event") programs attach to sampling perf events');
    expect(fdCount()).toBe(fds); // the perf events opened for the CPUs before the failure were closed
  });

  test('misuse: bad arguments, not loaded', async () => {
    const fresh = BpfObject.open(FIXTURE);
    cleanup(() => fresh.close());
    expectThrows(() => fresh.program('on_sample').attachPerfEvent({ type: 'software', config: 'cpu-clock', frequency: 99 }), 'TypeError', 'BpfObject is not loaded');
    const prog = (await loadFixture(FIXTURE)).program('on_sample');
    expectThrows(() => prog.attachPerfEvent(undefined as never), 'TypeError', 'options: expected an options object with type and config, got undefined');
    expectThrows(() => prog.attachPerfEvent({ type: 'raw' as never, config: 1, period: 1 }), 'TypeError', `options.type: expected 'software' or 'hardware', got "raw"`);
    expectThrows(() => prog.attachPerfEvent({ type: 'software', config: 'cpu-cycles' as never, period: 1 }), 'RangeError', /^options.config: expected a software event \(cpu-clock, task-clock/);
    expectThrows(() => prog.attachPerfEvent({ type: 'software', config: 'cpu-clock' }), 'TypeError', /^options: expected exactly one of frequency and period/);
    expectThrows(() => prog.attachPerfEvent({ type: 'software', config: 'cpu-clock', frequency: 1, period: 1 }), 'TypeError', /^options: expected exactly one of frequency and period/);
    expectThrows(() => prog.attachPerfEvent({ type: 'software', config: 'cpu-clock', frequency: 0 }), 'RangeError', 'options.frequency: expected an integer 1..2^31-1, got 0');
    expectThrows(() => prog.attachPerfEvent({ type: 'software', config: 'cpu-clock', period: 0n }), 'RangeError', 'options.period: expected a period 1..2^63-1, got 0n');
    expectThrows(() => prog.attachPerfEvent({ type: 'software', config: 'cpu-clock', period: 1, cpu: 4096 }), 'RangeError', /^options.cpu: expected an integer 0\.\.\d+, got 4096/);
    expectThrows(() => prog.attachPerfEvent({ type: 'software', config: 'cpu-clock', period: 1, cpu: 'some' as never }), 'TypeError', /^options.cpu: expected an integer/);
  });
});
