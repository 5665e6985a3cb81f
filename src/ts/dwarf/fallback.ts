// The DWARF fallback of type lookups: a Btf parsed from an object file remembers where its
// ELF file is, so a type name missing from the BTF (a record type only local variables use)
// can be looked up in the same file's .debug_info when it was built with -g and kept.
import { setMissingTypeLookup, type Btf } from '../btf/btf';
import { DwarfTypes } from './types';

const sources = new WeakMap<Btf, () => Uint8Array>();
const parsed = new WeakMap<Btf, DwarfTypes | null>();

/** Says where the ELF file of `btf` (an object's .BTF) can be read, for dwarfType(). */
export function linkDwarf(btf: Btf, read: () => Uint8Array): void {
  sources.set(btf, read);
}

/**
 * The type `name` from the DWARF of the file `btf` came from (see linkDwarf), as BTF; or
 * undefined (no file linked, no DWARF, or no such type). Reads and parses the file once.
 */
export function dwarfType(btf: Btf, name: string): { btf: Btf; id: number } | undefined {
  let types = parsed.get(btf);
  if (types === undefined) {
    const read = sources.get(btf);
    let bytes: Uint8Array | undefined;
    try {
      bytes = read?.();
    } catch {
      bytes = undefined; // the file is gone since it was opened: no DWARF to fall back on
    }
    types = bytes ? DwarfTypes.fromElf(bytes) ?? null : null;
    parsed.set(btf, types);
  }
  return types?.find(name);
}

// Btf#codec(name) falls back on the DWARF too (btf/ cannot import this module).
setMissingTypeLookup(dwarfType);

/** What to tell a user whose type is in neither the object's BTF nor its DWARF. */
export const TYPE_NOWHERE =
  'one only used by local variables is found in the DWARF of an object built with -g and not stripped (llvm-strip -g and --strip-debug remove it); ' +
  'else declare it with NLB_EVENT_TYPE(ring, type) (or its alias NLB_RINGBUF_TYPE(type)) from <node_libbpf/types.h>, or pass options.btf from headerBtf()';
