// Checks BTF before libbpf walks it. libbpf's parser (btf__new) accepts any type graph whose
// ids are in range, but btf_dump and CO-RE relocation assume what the kernel's BTF verifier
// enforces: no reference cycle that does not pass through both a pointer and a struct/union,
// sizes that exist and fit, sane integer and bitfield encodings. Input outside that makes
// them recurse without bound, loop forever or divide by zero (docs/libbpf-bugs.md), so it is
// refused here with a BpfError (EINVAL) naming the type, before libbpf sees it.
import { BpfError } from '../errors/bpf-error';
import type { Btf, BtfType } from './btf';

const EINVAL = 22;
const E2BIG = 7;

// btf_dump prints one `long: 64;` line per 64 bits of padding (~15 bytes of text each); a
// few KB of crafted BTF could otherwise ask for gigabytes of header. Far above any kernel's.
const MAX_PADDING_LINES = 4_000_000;

const INT_SIZES = new Set([1, 2, 4, 8, 16]);
const FLOAT_SIZES = new Set([2, 4, 8, 12, 16]);
const ENUM_SIZES = new Set([1, 2, 4, 8]);

function invalid(what: string, detail: string, errno = EINVAL): BpfError {
  return new BpfError(errno, 'btf_validate', `${what}: ${detail}`, {
    hint: 'the BTF is malformed (the kernel would refuse it too); it was not passed to libbpf',
  });
}

/** The ids a type refers to. */
function edges(t: BtfType): number[] {
  const out: number[] = [];
  if (t.type !== undefined) out.push(t.type);
  if (t.elemType !== undefined) out.push(t.elemType, t.indexType as number);
  if (t.members) for (const m of t.members) out.push(m.type);
  if (t.params) for (const p of t.params) out.push(p.type);
  if (t.vars) for (const v of t.vars) out.push(v.type);
  return out;
}

/** Decodes every own type; a decoding failure of ours (TypeError/RangeError) becomes a BpfError. */
function decodeAll(btf: Btf, what: string): BtfType[] {
  const first = btf.base ? btf.base.typeCount + 1 : 1;
  const types: BtfType[] = [];
  try {
    for (let id = first; id <= btf.typeCount; id++) types.push(btf.typeById(id));
  } catch (e) {
    throw invalid(what, e instanceof Error ? e.message : String(e));
  }
  return types;
}

function checkIds(types: BtfType[], count: number, what: string): void {
  for (const t of types) {
    for (const e of edges(t)) {
      if (!(e >= 0 && e <= count)) throw invalid(what, `type ${t.id} (${t.kind}) refers to type ${e}, out of range 0..${count}`);
    }
  }
}

/**
 * Throws when a cycle avoids every node for which skip() is true. Iterative DFS (white/grey/
 * black), so deep chains cannot overflow the JS stack.
 */
function checkAcyclic(btf: Btf, types: BtfType[], skip: (t: BtfType) => boolean, what: string, why: string): void {
  const first = types.length ? types[0].id : 1;
  const state = new Uint8Array(types.length); // 0 unseen, 1 on the stack, 2 done
  const own = (id: number): BtfType | undefined => (id >= first && id - first < types.length ? types[id - first] : undefined);
  for (const root of types) {
    if (state[root.id - first] !== 0 || skip(root)) continue;
    const stack: [BtfType, number[], number][] = [[root, edges(root), 0]];
    state[root.id - first] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (top[2] === top[1].length) {
        state[top[0].id - first] = 2;
        stack.pop();
        continue;
      }
      const next = own(top[1][top[2]++]);
      if (!next || skip(next)) continue; // base types were checked with their own BTF
      const s = state[next.id - first];
      if (s === 1) throw invalid(what, `type ${next.id} (${next.kind} ${btfName(next)}) is part of a reference cycle ${why}`);
      if (s === 0) {
        state[next.id - first] = 1;
        stack.push([next, edges(next), 0]);
      }
    }
  }
}

function btfName(t: BtfType): string {
  return t.name ? `'${t.name}'` : '(anon)';
}

function checkEncodings(t: BtfType, what: string): void {
  const at = `type ${t.id} (${t.kind} ${btfName(t)})`;
  switch (t.kind) {
    case 'int': {
      const size = t.size as number;
      const bits = t.bits as number;
      if (!INT_SIZES.has(size)) throw invalid(what, `${at} has size ${size}, not 1, 2, 4, 8 or 16`);
      if (bits > 128 || (t.bitOffset as number) + bits > size * 8) {
        throw invalid(what, `${at} has ${bits} bits at bit ${t.bitOffset}, which do not fit its ${size} bytes`);
      }
      return;
    }
    case 'float':
      if (!FLOAT_SIZES.has(t.size as number)) throw invalid(what, `${at} has size ${t.size}, not 2, 4, 8, 12 or 16`);
      return;
    case 'enum': case 'enum64':
      if (!ENUM_SIZES.has(t.size as number)) throw invalid(what, `${at} has size ${t.size}, not 1, 2, 4 or 8`);
      return;
    default:
      return;
  }
}

/** Bytes of a member/element type; throws when it has none (void, func_proto, fwd). */
function sizeOf(btf: Btf, id: number, at: string, what: string): number {
  const t = btf.resolve(id);
  if (t.kind === 'void' || t.kind === 'func_proto' || t.kind === 'fwd' || t.kind === 'func') {
    throw invalid(what, `${at} has type ${id}, which has no size (${t.kind})`);
  }
  return btf.sizeOf(id);
}

/**
 * Layouts: members inside their struct, array elements with a size, bounded padding.
 * (Datasec sizes are not checked: in an ELF object they are 0 until libbpf fills them in.)
 */
function checkLayouts(btf: Btf, types: BtfType[], what: string): void {
  let paddingBits = 0;
  for (const t of types) {
    const at = `type ${t.id} (${t.kind} ${btfName(t)})`;
    // Arrays may exceed 2^32-1 bytes: `__uint(max_entries, 1 << 30)` in a map definition is
    // an int[1 << 30] that only a pointer refers to. libbpf's size walks check overflow.
    if (t.kind === 'array') {
      sizeOf(btf, t.elemType as number, at, what);
    } else if (t.kind === 'struct' || t.kind === 'union') {
      const bits = (t.size as number) * 8;
      let covered = 0;
      for (const m of t.members ?? []) {
        const mAt = `member '${m.name}' of ${at}`;
        const mBits = m.bitSize || sizeOf(btf, m.type, mAt, what) * 8;
        if (m.bitSize > 128) throw invalid(what, `${mAt} is a bitfield of ${m.bitSize} bits`);
        if (m.bitOffset + mBits > bits) throw invalid(what, `${mAt} ends at bit ${m.bitOffset + mBits}, past the ${t.size} bytes of its ${t.kind}`);
        covered = t.kind === 'struct' ? covered + mBits : Math.max(covered, mBits);
      }
      if (t.kind === 'struct') paddingBits += Math.max(0, bits - covered);
    }
  }
  const lines = paddingBits / 32; // at worst `int: 32;` lines (`long: 64;` with 8-byte pointers)
  if (lines > MAX_PADDING_LINES) {
    throw invalid(what, `its structs have ${paddingBits} bits of padding, which btf_dump would print as ~${Math.round(lines)} lines`, E2BIG);
  }
}

/**
 * Refuses BTF that libbpf's parser accepts but btf_dump or CO-RE relocation cannot handle
 * (they crash or never return on it). `what` names the input in the message.
 */
export function validateBtf(btf: Btf, what = 'BTF'): void {
  if (validated.has(btf)) return;
  if (btf.base) validateBtf(btf.base, `${what} (base)`);
  const types = decodeAll(btf, what);
  checkIds(types, btf.typeCount, what);
  for (const t of types) checkEncodings(t, what);
  checkAcyclic(btf, types, (t) => t.kind === 'ptr', what, 'that passes through no pointer');
  checkAcyclic(btf, types, (t) => t.kind === 'struct' || t.kind === 'union', what, 'that passes through no struct or union');
  try {
    checkLayouts(btf, types, what);
  } catch (e) {
    if (e instanceof BpfError) throw e;
    throw invalid(what, e instanceof Error ? e.message : String(e));
  }
  validated.add(btf);
}

const validated = new WeakSet<Btf>();

/** For BTF the kernel itself verified (/sys/kernel/btf/*): nothing to check. */
export function trustBtf(btf: Btf): Btf {
  validated.add(btf);
  return btf;
}
