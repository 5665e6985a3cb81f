// obj.globals: .rodata/.data/.bss variables by name, typed by BTF; the initial image
// before load, the live mmap()ed maps after.
import { BpfObject } from 'node-libbpf';
import { expectThrows, fixture, loadFixture, openFixture, spawnGatedGetpgid, triggerGetpgid } from '../support/helpers';

const BASIC = fixture('basic');

const INITIAL: Record<string, unknown> = {
  target_pid: 0,
  ro_s8: -5,
  ro_u16: 65535,
  ro_s64: -9000000000n,
  ro_flag: true,
  ro_mode: 7,
  ro_name: 'fixture',
  calls: 0n,
  last_ret: -1,
  data_u8: 200,
  data_u64: 0xfedcba9876543210n,
  data_tag: 'tag',
};

describe('before load', () => {
  test('initial values of every global, with the right JS types', () => {
    const g = openFixture(BASIC).globals;
    for (const [name, value] of Object.entries(INITIAL)) {
      expect([name, g[name]]).toEqual([name, value]);
      expect([name, typeof g[name]]).toEqual([name, typeof value]);
    }
  });

  test('Object.keys lists every global; `in` and the descriptors agree', () => {
    const g = openFixture(BASIC).globals;
    expect(Object.keys(g).sort()).toEqual(Object.keys(INITIAL).sort());
    expect('calls' in g).toBe(true);
    expect('nope' in g).toBe(false);
    expect({ ...g }).toEqual(INITIAL);
    expect(Object.getOwnPropertyDescriptor(g, 'ro_s8')).toMatchObject({ value: -5, enumerable: true, writable: true });
  });

  test('the same proxy every time', () => {
    const obj = openFixture(BASIC);
    expect(obj.globals).toBe(obj.globals);
  });

  test('writes edit the initial image, .rodata included', () => {
    const g = openFixture(BASIC).globals;
    g.ro_s8 = -128;
    g.ro_u16 = 1;
    g.ro_s64 = -1n;
    g.ro_flag = false;
    g.ro_mode = 1;
    g.ro_name = 'changed';
    g.data_u64 = 1n;
    g.data_tag = 'abcdefgh'; // 8 bytes, no NUL: fills char[8]
    expect(g.ro_s8).toBe(-128);
    expect(g.ro_u16).toBe(1);
    expect(g.ro_s64).toBe(-1n);
    expect(g.ro_flag).toBe(false);
    expect(g.ro_mode).toBe(1);
    expect(g.ro_name).toBe('changed');
    expect(g.data_u64).toBe(1n);
    expect(g.data_tag).toBe('abcdefgh');
    g.ro_name = 'x';
    expect(g.ro_name).toBe('x'); // shorter string: the rest is zeroed
  });

  test('unknown names: read -> undefined, write -> TypeError listing the known names', () => {
    const g = openFixture(BASIC).globals;
    expect(g.nope).toBeUndefined();
    expectThrows(
      () => {
        g.nope = 1;
      },
      'TypeError',
      /^globals\.nope: no such global variable \(known: target_pid, .*calls.*data_tag\)$/,
    );
    expect(Object.keys(g)).not.toContain('nope');
  });

  test('values of the wrong type or out of range: TypeError/RangeError naming globals.<name>, memory unchanged', () => {
    const g = openFixture(BASIC).globals;
    const cases: [string, unknown, string][] = [
      ['data_u8', 256, 'RangeError'],
      ['data_u8', -1, 'RangeError'],
      ['data_u8', 1.5, 'RangeError'],
      ['data_u8', 'x', 'TypeError'],
      ['ro_s8', -129, 'RangeError'],
      ['ro_u16', 65536, 'RangeError'],
      ['last_ret', 2 ** 31, 'RangeError'],
      ['calls', -1n, 'RangeError'],
      ['calls', 1n << 64n, 'RangeError'],
      ['ro_s64', 1n << 63n, 'RangeError'],
      ['data_u64', 'big', 'TypeError'],
      ['ro_flag', 'yes', 'TypeError'],
      ['data_tag', '123456789', 'RangeError'],
      ['ro_name', 42, 'TypeError'],
      ['ro_mode', 'MODE_NOPE', 'RangeError'],
    ];
    for (const [name, value, kind] of cases) {
      expectThrows(
        () => {
          g[name] = value;
        },
        kind,
        new RegExp(`^globals\\.${name}: expected `),
      );
      expect([name, g[name]]).toEqual([name, INITIAL[name]]);
    }
  });

  test('globals cannot be defined or deleted', () => {
    const g = openFixture(BASIC).globals;
    expectThrows(() => Object.defineProperty(g, 'calls', { value: 1n }), 'TypeError', /^globals: /);
    expectThrows(() => delete g.calls, 'TypeError', /^globals: /);
    expect(g.calls).toBe(0n);
  });
});

describe('target_pid written before load', () => {
  test('the program counts only that pid', async () => {
    const obj = openFixture(BASIC);
    const target = await spawnGatedGetpgid(4);
    const other = await spawnGatedGetpgid(3);
    obj.globals.target_pid = target.pid;
    await obj.load();
    expect(obj.globals.target_pid).toBe(target.pid);
    obj.attach();
    await Promise.all([other.go(), target.go()]);
    await triggerGetpgid(2); // a third process, also not counted
    const counts = obj.map('counts');
    expect(counts.get(target.pid)).toBe(4n);
    expect(counts.get(other.pid)).toBeUndefined();
    expect([...counts.keys()]).toEqual([target.pid]);
    expect(obj.globals.calls).toBe(4n);
    expect(obj.globals.last_ret).toBe(target.pid);
  });
});

describe('after load', () => {
  test('values read after load are those loaded', async () => {
    const obj = openFixture(BASIC);
    obj.globals.ro_u16 = 1234;
    obj.globals.data_u8 = 7;
    await obj.load();
    expect(obj.globals.ro_u16).toBe(1234);
    expect(obj.globals.data_u8).toBe(7);
    expect(obj.globals.ro_name).toBe('fixture');
    expect(obj.globals.data_u64).toBe(0xfedcba9876543210n);
  });

  // The children below are the only processes the program counts (target_pid), so
  // getpgid() calls made elsewhere on the machine cannot disturb the exact values.
  test('reads are live: they follow what the program writes', async () => {
    const obj = openFixture(BASIC);
    const child = await spawnGatedGetpgid(5);
    obj.globals.target_pid = child.pid;
    await obj.load();
    const g = obj.globals;
    obj.attach();
    expect(g.calls).toBe(0n);
    expect(g.last_ret).toBe(-1);
    await child.go();
    expect(g.calls).toBe(5n);
    expect(g.last_ret).toBe(child.pid);
  });

  test('writes to .data/.bss after load are seen by the program', async () => {
    const obj = openFixture(BASIC);
    const child = await spawnGatedGetpgid(3);
    obj.globals.target_pid = child.pid;
    await obj.load();
    const g = obj.globals;
    obj.attach();
    g.calls = 100n;
    expect(g.calls).toBe(100n);
    g.last_ret = 42;
    expect(g.last_ret).toBe(42);
    g.data_u8 = 9;
    g.data_tag = 'live';
    await child.go();
    expect(g.calls).toBe(103n); // incremented from what we wrote
    expect(g.last_ret).toBe(child.pid);
    // .data variables next to the one the program writes keep what we wrote.
    expect(g.data_u8).toBe(9);
    expect(g.data_tag).toBe('live');
    expect(g.data_u64).toBe(0xfedcba9876543210n);
  });

  test('a globals proxy obtained before load serves live memory after load', async () => {
    const obj = openFixture(BASIC);
    const g = obj.globals;
    const child = await spawnGatedGetpgid(2);
    g.target_pid = child.pid;
    await obj.load();
    obj.attach();
    await child.go();
    expect(g.last_ret).toBe(child.pid);
    expect(g.calls).toBe(2n);
  });

  test('writing .rodata after load -> TypeError mentioning .rodata; the value is unchanged', async () => {
    const obj = openFixture(BASIC);
    await obj.load();
    const g = obj.globals;
    for (const name of ['target_pid', 'ro_s8', 'ro_name']) {
      expectThrows(
        () => {
          g[name] = name === 'ro_name' ? 'x' : 1;
        },
        'TypeError',
        new RegExp(`^globals\\.${name}: .*\\.rodata`),
      );
      expect(g[name]).toBe(INITIAL[name]);
    }
    expect(Object.getOwnPropertyDescriptor(g, 'ro_s8')!.writable).toBe(false);
    expect(Object.getOwnPropertyDescriptor(g, 'calls')!.writable).toBe(true);
  });

  test('bad values after load: TypeError/RangeError, live memory unchanged', async () => {
    const obj = openFixture(BASIC);
    await obj.load();
    const g = obj.globals;
    g.data_u8 = 17;
    expectThrows(
      () => {
        g.data_u8 = 300;
      },
      'RangeError',
      /^globals\.data_u8: /,
    );
    expectThrows(
      () => {
        g.data_tag = 'way too long';
      },
      'RangeError',
      /^globals\.data_tag: /,
    );
    expectThrows(
      () => {
        g.calls = 'many';
      },
      'TypeError',
      /^globals\.calls: /,
    );
    expect(g.data_u8).toBe(17);
    expect(g.data_tag).toBe('tag');
    expect(g.calls).toBe(0n);
    expectThrows(
      () => {
        g.nope = 1;
      },
      'TypeError',
      /^globals\.nope: no such global variable/,
    );
    expect(g.nope).toBeUndefined();
  });

  test('the .bss map and globals agree (one memory)', async () => {
    const obj = openFixture(BASIC);
    await obj.load();
    obj.globals.calls = 77n;
    expect(obj.map('.bss').get(0)).toEqual({ calls: 77n });
    obj.map('.bss').set(0, { calls: 5n });
    expect(obj.globals.calls).toBe(5n);
  });
});

describe('after close', () => {
  test('obj.globals throws TypeError "BpfObject is closed"; so does a proxy kept from before', async () => {
    const obj = BpfObject.open(BASIC);
    const g = obj.globals;
    await obj.load();
    expect(g.calls).toBe(0n);
    obj.close();
    expectThrows(() => obj.globals, 'TypeError', 'BpfObject is closed');
    expectThrows(() => g.calls, 'TypeError', 'BpfObject is closed');
    expectThrows(
      () => {
        g.calls = 1n;
      },
      'TypeError',
      'BpfObject is closed',
    );
  });

  test('closed before load: the kept proxy throws too', () => {
    const obj = BpfObject.open(BASIC);
    const g = obj.globals;
    expect(g.ro_s8).toBe(-5);
    obj.close();
    expectThrows(() => g.ro_s8, 'TypeError', 'BpfObject is closed');
  });
});
