// obj.globals: the object's .rodata/.data/.bss variables by name, typed by BTF.
// Before load, reads and writes edit the initial image libbpf will load; after load
// they go straight to the maps' mmap()ed memory (no syscall). .rodata is frozen by the
// kernel at load, so writing it afterwards throws.
import type { Btf } from '../btf/btf';
import { codecFor, type Codec } from '../btf/codec';
import type { NativeMap } from '../base/native';

/**
 * `obj.globals`: the object's global variables (.rodata, .data, .bss) by name, decoded by
 * their BTF type like map values (u32 -> number, u64 -> bigint, structs -> objects). Before
 * load a write sets the value the program starts with; after load reads and writes go
 * straight to the maps' memory. Writing a .rodata variable after load throws a TypeError
 * (the kernel froze it). A struct or array global reads as a write-through view: element
 * and member writes at any depth (`globals.ports[0] = 80`, `globals.cfg.in.verbose = true`)
 * reach the variable as a whole-value write would (methods that write, such as a typed
 * array's fill() or set(), change the copy only). `gen` writes a typed interface for it.
 *
 * @example
 * ```ts
 * const obj = BpfObject.open('exec.bpf.o');
 * obj.globals.target_ppid = process.pid; // const volatile: set before load
 * await obj.load();
 * console.log(obj.globals.exec_count); // a .bss counter, read live
 * ```
 */
export type Globals = Record<string, any>;

interface Variable {
  name: string;
  section: string;
  offset: number;
  codec: Codec;
  map: NativeMap;
  readonly: boolean;
  /** A struct, union or array (not a char[] string): reads return a write-through view. */
  composite: boolean;
}

const QUALIFIERS = new Set(['typedef', 'const', 'volatile', 'restrict', 'type_tag']);

function isComposite(btf: Btf, id: number): boolean {
  let t = btf.typeById(id);
  for (let i = 0; i < 64 && QUALIFIERS.has(t.kind) && t.type; i++) t = btf.typeById(t.type);
  return t.kind === 'struct' || t.kind === 'union' || t.kind === 'array';
}

/**
 * A decoded struct/array value whose element and member writes, at any depth, reach the
 * variable: each write decodes the variable afresh, sets the one element or member on
 * that copy and writes the variable back (the encode checks the value first).
 */
function writeThrough(value: object, path: PropertyKey[], read: () => unknown, write: (root: unknown) => void): object {
  return new Proxy(value, {
    get(t, key, receiver) {
      // Typed arrays (numeric arrays decode to them): their getters and methods need the
      // array itself as `this`; methods that write (fill, set) write the copy only.
      if (ArrayBuffer.isView(t)) {
        const y = Reflect.get(t, key);
        return typeof y === 'function' ? y.bind(t) : y;
      }
      const x = Reflect.get(t, key, receiver);
      if (x === null || typeof x !== 'object' || typeof key === 'symbol') return x;
      return writeThrough(x, [...path, key], read, write);
    },
    set(t, key, v) {
      const root = read() as Record<PropertyKey, unknown>;
      let node = root;
      for (const p of path) node = node[p] as Record<PropertyKey, unknown>;
      node[key] = v;
      write(root);
      (t as Record<PropertyKey, unknown>)[key] = v; // this view stays in step with memory
      return true;
    },
  });
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
        composite: isComposite(btf, variable.type!),
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

  const store = (v: Variable, value: unknown): void => {
    owner.check();
    if (v.readonly && owner.loaded()) {
      throw new TypeError(`globals.${v.name}: ${v.section} is read-only after load; set it before load()`);
    }
    // Encode aside first, so a bad value leaves memory untouched.
    const scratch = new Uint8Array(v.codec.size);
    v.codec.encode(value, new DataView(scratch.buffer), 0, `globals.${v.name}`);
    const view = viewOf(v.map);
    new Uint8Array(view.buffer, view.byteOffset + v.offset, v.codec.size).set(scratch);
  };

  const target = Object.create(null) as Globals;
  return new Proxy(target, {
    get(_t, name) {
      const v = typeof name === 'string' ? vars.get(name) : undefined;
      if (!v) return undefined;
      const value = v.codec.decode(viewOf(v.map), v.offset);
      if (!v.composite || value === null || typeof value !== 'object') return value;
      return writeThrough(value, [], () => v.codec.decode(viewOf(v.map), v.offset), (root) => store(v, root));
    },
    set(_t, name, value) {
      owner.check();
      const v = typeof name === 'string' ? vars.get(name) : undefined;
      if (!v) throw new TypeError(`globals.${String(name)}: no such global variable (known: ${[...vars.keys()].join(', ') || 'none'})`);
      store(v, value);
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
