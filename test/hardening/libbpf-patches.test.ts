// Our patches to libbpf (deps/libbpf/patches, docs/libbpf-bugs.md), tested on the raw addon
// so that the TypeScript guard (validateBtf) is not in the way: each input crashed or hung
// the process with libbpf 1.7.0 as released. Each runs in a child process, so a crash or a
// hang is a failed assertion here, not the end of the run.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runWithAddon } from '../support/child';
import { fixture } from '../support/helpers';
import { BpfError, BpfObject, Btf } from 'node-libbpf';
import { checkMapDefinitions } from '../../src/ts/core/map/definitions';
import { BTF_DUMP_REPRODUCERS, elfSection, mapTypeChanged, typedefCycle } from '../support/raw-btf';

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

describe('a struct_ops map declared in .maps (patch 0004)', () => {
  const BPF_MAP_TYPE_STRUCT_OPS = 26;
  const structOpsInMaps = (): Buffer => mapTypeChanged(fs.readFileSync(fixture('basic')), 'per_cpu', BPF_MAP_TYPE_STRUCT_OPS);

  test('open refuses it with EINVAL naming the map (load dereferenced its NULL struct_ops state)', () => {
    const r = runWithAddon(`
      let obj;
      try { obj = addon.NativeObject.open(Buffer.from(${JSON.stringify(structOpsInMaps().toString('base64'))}, 'base64'), { name: 'sops' }); }
      catch (e) { console.log('error', e.syscall, e.errno, e.message); }
      if (obj) obj.load().then(() => console.log('loaded'), (e) => console.log('load error', e.syscall)).finally(() => obj.close());
    `);
    expect({ signal: r.signal, timedOut: r.timedOut, status: r.status }).toEqual({ signal: null, timedOut: false, status: 0 });
    expect(r.stdout).toMatch(/^error bpf_object__open_mem 22 /);
    // through the API: a BpfError with libbpf's words
    expect(() => BpfObject.open(structOpsInMaps())).toThrow(/^bpf_object__open_mem: EINVAL .*map 'per_cpu': struct_ops maps must be declared in SEC\("\.struct_ops"\)/);
  });

  test('the check before load() names the map (for a libbpf without the patch)', () => {
    const btf = Btf.parse(elfSection(structOpsInMaps(), '.BTF')!);
    const e = (() => {
      try {
        checkMapDefinitions(btf);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(BpfError);
    expect(e).toMatchObject({ code: 'EINVAL', syscall: 'bpf_object__load' });
    expect((e as Error).message).toContain("map 'per_cpu' is declared in .maps as a struct_ops map");
  });

  test.each(['basic', 'kernel_gated_struct_ops'])('the check passes %s (struct_ops maps of SEC(".struct_ops") are not in .maps)', (name) => {
    const btf = Btf.parse(elfSection(fs.readFileSync(fixture(name)), '.BTF')!);
    expect(() => checkMapDefinitions(btf)).not.toThrow();
  });
});
