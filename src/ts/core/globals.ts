// obj.globals: the object's .rodata/.data/.bss variables by name, typed by BTF.
// Before load, reads and writes edit the initial image libbpf will load; after load
// they go straight to the maps' mmap()ed memory (no syscall). .rodata is frozen by the
// kernel at load, so writing it afterwards throws.
import type { Btf } from '../btf/btf';
import { codecFor, type Codec } from '../btf/codec';
import type { NativeMap } from '../base/native';

export type Globals = Record<string, any>;

interface Variable {
  name: string;
  section: string;
  offset: number;
  codec: Codec;
  map: NativeMap;
  readonly: boolean;
}

/** What globals need from their BpfObject. */
export interface GlobalsOwner {
  btf(): Btf | undefined;
  internalMaps(): NativeMap[];
  loaded(): boolean;
  /** Throws the fixed TypeError once the object is closed. */
  check(): void;
}

const DATA_SECTION = /^\.(rodata|data|bss)(\.|$)/;

function sectionOf(map: NativeMap, btf: Btf): { name: string; vars: { type: number; offset: number }[] } | undefined {
  const id = map.btfValueTypeId();
  if (!id) return undefined;
  const t = btf.typeById(id);
  if (t.kind !== 'datasec' || !DATA_SECTION.test(t.name)) return undefined;
  return { name: t.name, vars: t.vars ?? [] };
}

function collect(owner: GlobalsOwner): Map<string, Variable> {
  const vars = new Map<string, Variable>();
  const btf = owner.btf();
  if (!btf) return vars;
  for (const map of owner.internalMaps()) {
    const section = sectionOf(map, btf);
    if (!section) continue;
    for (const v of section.vars) {
      const variable = btf.typeById(v.type);
      if (variable.kind !== 'var' || vars.has(variable.name)) continue;
      vars.set(variable.name, {
        name: variable.name,
        section: section.name,
        offset: v.offset,
        codec: codecFor(btf, variable.type!),
        map,
        readonly: section.name.startsWith('.rodata'),
      });
    }
  }
  return vars;
}

/** Live access to every global variable; unknown names throw on write. */
export function makeGlobals(owner: GlobalsOwner): Globals {
  const vars = collect(owner);
  // One view per map, refetched after load (libbpf remaps the same address onto the
  // kernel map; refetching also covers kernels where it cannot).
  const views = new Map<NativeMap, { loaded: boolean; view: DataView }>();
  const viewOf = (map: NativeMap): DataView => {
    owner.check();
    const loaded = owner.loaded();
    const cached = views.get(map);
    // A detached buffer (byteLength 0) means libbpf moved the memory: a pre-load resize.
    if (cached && cached.loaded === loaded && cached.view.buffer.byteLength > 0) return cached.view;
    const memory = map.memory();
    if (!memory) throw new TypeError(`map ${map.name()} has no mmap()able memory on this kernel`);
    const view = new DataView(memory);
    views.set(map, { loaded, view });
    return view;
  };

  const target = Object.create(null) as Globals;
  return new Proxy(target, {
    get(_t, name) {
      const v = typeof name === 'string' ? vars.get(name) : undefined;
      return v ? v.codec.decode(viewOf(v.map), v.offset) : undefined;
    },
    set(_t, name, value) {
      owner.check();
      const v = typeof name === 'string' ? vars.get(name) : undefined;
      if (!v) throw new TypeError(`globals.${String(name)}: no such global variable (known: ${[...vars.keys()].join(', ') || 'none'})`);
      if (v.readonly && owner.loaded()) {
        throw new TypeError(`globals.${v.name}: ${v.section} is read-only after load; set it before load()`);
      }
      // Encode aside first, so a bad value leaves memory untouched.
      const scratch = new Uint8Array(v.codec.size);
      v.codec.encode(value, new DataView(scratch.buffer), 0, `globals.${v.name}`);
      const view = viewOf(v.map);
      new Uint8Array(view.buffer, view.byteOffset + v.offset, v.codec.size).set(scratch);
      return true;
    },
    has: (_t, name) => typeof name === 'string' && vars.has(name),
    ownKeys: () => [...vars.keys()],
    getOwnPropertyDescriptor(_t, name) {
      const v = typeof name === 'string' ? vars.get(name) : undefined;
      if (!v) return undefined;
      return { value: v.codec.decode(viewOf(v.map), v.offset), writable: !(v.readonly && owner.loaded()), enumerable: true, configurable: true };
    },
    defineProperty: () => {
      throw new TypeError('globals: variables are defined by the BPF object');
    },
    deleteProperty: () => {
      throw new TypeError('globals: variables cannot be deleted');
    },
  });
}
