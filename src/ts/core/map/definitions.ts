// Map definitions in .maps that libbpf 1.7.0 accepts at open and crashes on at load: a map
// whose `__uint(type, ...)` says BPF_MAP_TYPE_STRUCT_OPS. Such maps come from
// SEC(".struct_ops"), where libbpf sets up their struct_ops state; one from .maps has none,
// and bpf_object__load() dereferences it (NULL: SIGSEGV). Our libbpf refuses it at open
// (deps/libbpf/patches/0004, docs/libbpf-bugs.md#4); this is the check before load() for a
// libbpf without that patch.
import type { Btf, BtfType } from '../../btf/btf';
import { BpfError } from '../../errors/bpf-error';

const EINVAL = 22;
const BPF_MAP_TYPE_STRUCT_OPS = 26;

// `__uint(type, N)` is a pointer to an array of N ints.
function declaredType(btf: Btf, def: BtfType): number | undefined {
  const m = def.members?.find((x) => x.name === 'type');
  if (!m) return undefined;
  const ptr = btf.typeById(m.type);
  if (ptr.kind !== 'ptr') return undefined;
  const arr = btf.typeById(ptr.type as number);
  return arr.kind === 'array' ? arr.nelems : undefined;
}

/** Throws BpfError (EINVAL) when a map in the .maps section of `btf` is declared a struct_ops map. */
export function checkMapDefinitions(btf: Btf): void {
  for (const v of btf.find('.maps', 'datasec')?.vars ?? []) {
    let name: string | undefined;
    let type: number | undefined;
    try {
      const variable = btf.typeById(v.type);
      name = variable.name;
      type = declaredType(btf, btf.resolve(variable.type as number));
    } catch {
      continue; // not a map definition libbpf would take either (it refuses at open)
    }
    if (type === BPF_MAP_TYPE_STRUCT_OPS) {
      throw new BpfError(EINVAL, 'bpf_object__load', `map '${name}' is declared in .maps as a struct_ops map; struct_ops maps are declared in SEC(".struct_ops")`, {
        hint: 'the object is malformed (libbpf 1.7.0 would crash loading it); it was not passed to libbpf',
      });
    }
  }
}
