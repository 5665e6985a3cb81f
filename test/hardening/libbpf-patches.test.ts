// Our patches to libbpf (deps/libbpf/patches, docs/libbpf-bugs.md), tested on the raw addon
// so that the TypeScript guard (validateBtf) is not in the way: each input crashed or hung
// the process with libbpf 1.7.0 as released. Each runs in a child process, so a crash or a
// hang is a failed assertion here, not the end of the run.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runWithAddon } from '../support/child';
import { fixture } from '../support/helpers';
import { BTF_DUMP_REPRODUCERS, typedefCycle } from '../support/raw-btf';

describe('btf_dump (patches 0001, 0002)', () => {
  test.each(Object.entries(BTF_DUMP_REPRODUCERS))('%s: btfToCHeader returns or throws, never crashes or hangs', (_, bytes) => {
    const r = runWithAddon(`
      try { addon.btfToCHeader(Buffer.from(${JSON.stringify(bytes.toString('base64'))}, 'base64')); console.log('header'); }
      catch (e) { console.log('error', e.syscall, e.errno); }
    `);
    expect({ signal: r.signal, timedOut: r.timedOut, status: r.status }).toEqual({ signal: null, timedOut: false, status: 0 });
    // the zero-sized int gets a header (its padding is printed byte-aligned); cycles are ELOOP
    expect(r.stdout).toMatch(/^(header|error btf_dump__dump_type 40)\n$/);
  });
});

describe('CO-RE relocation (patch 0003)', () => {
  test('load() of an object whose typedef names itself settles with an error', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nlb-patches-')), 'cycle.bpf.o');
    fs.writeFileSync(file, typedefCycle(fs.readFileSync(fixture('core_reloc')), 'pid_t'));
    const r = runWithAddon(`
      const obj = addon.NativeObject.open(require('fs').readFileSync(${JSON.stringify(file)}), { name: 'cycle' });
      obj.load().then(() => console.log('loaded'), (e) => console.log('error', e.syscall)).finally(() => obj.close());
    `, 60000);
    expect(r.error).toBeUndefined();
    expect({ signal: r.signal, timedOut: r.timedOut, status: r.status }).toEqual({ signal: null, timedOut: false, status: 0 });
    expect(r.stdout).toMatch(/^error /);
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });
});
