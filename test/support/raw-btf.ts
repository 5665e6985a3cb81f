// Raw BTF built by hand, for inputs a compiler never writes: the reproducers of libbpf's
// btf_dump/CO-RE bugs (docs/libbpf-bugs.md), and seeds for the fuzzer.
export const KIND = {
  int: 1, ptr: 2, array: 3, struct: 4, union: 5, enum: 6, fwd: 7, typedef: 8, volatile: 9,
  const: 10, restrict: 11, func: 12, funcProto: 13, var: 14, datasec: 15, float: 16,
} as const;

/** A btf_type's info word. */
export function info(kind: number, vlen = 0, kflag = false): number {
  return ((kflag ? 0x80000000 : 0) | (kind << 24) | vlen) >>> 0;
}

/** Header + types (each a list of u32 words) + strings ("\0a\0b\0": offsets 1 and 3). */
export function rawBtf(types: number[][], strings = '\0a\0b\0'): Buffer {
  const words = types.flat();
  const t = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => t.writeUInt32LE(w >>> 0, i * 4));
  const s = Buffer.from(strings, 'latin1');
  const h = Buffer.alloc(24);
  h.writeUInt16LE(0xeb9f, 0);
  h[2] = 1;
  h.writeUInt32LE(24, 4);
  h.writeUInt32LE(0, 8);
  h.writeUInt32LE(t.length, 12);
  h.writeUInt32LE(t.length, 16);
  h.writeUInt32LE(s.length, 20);
  return Buffer.concat([h, t, s]);
}

/**
 * BTF that libbpf's btf__new() accepts and that crashed or hung libbpf 1.7.0's btf_dump
 * (what it did, unpatched, in the comment).
 */
export const BTF_DUMP_REPRODUCERS: Record<string, Buffer> = {
  // SIGFPE: btf__align_of() of a zero-sized int is 0, and emit_bit_padding divides by it
  'zero-sized int member': rawBtf([[0, info(KIND.int), 0, 0], [1, info(KIND.struct, 1), 4, 3, 1, 8]]),
  // SIGSEGV (stack overflow): order_type recursion through an unmarked typedef
  'typedef naming itself': rawBtf([[1, info(KIND.typedef), 1]]),
  // endless loop: order_type's tail call through a const
  'const of itself': rawBtf([[0, info(KIND.const), 1]]),
  // endless loop: order_type's tail call through an array's element type
  'array of itself': rawBtf([[0, info(KIND.array), 0, 1, 1, 1]]),
  // SIGSEGV: order_type recursion through a pointer
  'pointer to itself': rawBtf([[0, info(KIND.ptr), 1]]),
  // SIGSEGV: order_type recursion through a func_proto's return type
  'func_proto returning itself': rawBtf([[0, info(KIND.funcProto), 1]]),
  // SIGSEGV: typedef -> ptr -> typedef
  'typedef of a pointer to itself': rawBtf([[1, info(KIND.typedef), 2], [0, info(KIND.ptr), 1]]),
};

/** A struct of `size` bytes without members: btf_dump prints its padding line by line. */
export function paddedStruct(size: number): Buffer {
  return rawBtf([[1, info(KIND.struct, 0), size]]);
}

/** An ELF64 section's bytes by name (a view into `elf`); undefined when absent. */
export function elfSection(elf: Buffer, name: string): Buffer | undefined {
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const shstrndx = elf.readUInt16LE(0x3e);
  const header = (i: number) => {
    const at = shoff + i * shentsize;
    return { name: elf.readUInt32LE(at), offset: Number(elf.readBigUInt64LE(at + 0x18)), size: Number(elf.readBigUInt64LE(at + 0x20)) };
  };
  const strtab = header(shstrndx);
  for (let i = 0; i < shnum; i++) {
    const h = header(i);
    const at = strtab.offset + h.name;
    if (elf.toString('latin1', at, elf.indexOf(0, at)) === name) return elf.subarray(h.offset, h.offset + h.size);
  }
  return undefined;
}

/** Byte offset (within the BTF) of every type's btf_type, in id order (index 0 is id 1). */
export function typeOffsets(btf: Buffer): number[] {
  const hdrLen = btf.readUInt32LE(4);
  const start = hdrLen + btf.readUInt32LE(8);
  const end = start + btf.readUInt32LE(12);
  const out: number[] = [];
  for (let off = start; off < end;) {
    out.push(off);
    const word = btf.readUInt32LE(off + 4);
    const kind = (word >>> 24) & 0x1f;
    const vlen = word & 0xffff;
    const extra = [0, 4, 0, 12, vlen * 12, vlen * 12, vlen * 8, 0, 0, 0, 0, 0, 0, vlen * 8, 4, vlen * 12, 0, 4, 0, vlen * 12][kind];
    off += 12 + extra;
  }
  return out;
}

/** A copy of ELF object `elf` whose typedef `name` (in .BTF) refers to itself. */
export function typedefCycle(elf: Buffer, name: string): Buffer {
  const copy = Buffer.from(elf);
  const btf = elfSection(copy, '.BTF');
  if (!btf) throw new Error('no .BTF section');
  const strStart = btf.readUInt32LE(4) + btf.readUInt32LE(16);
  const offsets = typeOffsets(btf);
  const i = offsets.findIndex((off) => {
    const kind = (btf.readUInt32LE(off + 4) >>> 24) & 0x1f;
    const at = strStart + btf.readUInt32LE(off);
    return kind === KIND.typedef && btf.toString('latin1', at, btf.indexOf(0, at)) === name;
  });
  if (i < 0) throw new Error(`no typedef ${name}`);
  btf.writeUInt32LE(i + 1, offsets[i] + 8);
  return copy;
}

/**
 * A copy of ELF object `elf` whose map `name` in .maps is declared of map type `type` (the
 * number of elements of the array its `__uint(type, ...)` points at; that array type must
 * not be shared with another `__uint` of the same value).
 */
export function mapTypeChanged(elf: Buffer, name: string, type: number): Buffer {
  const copy = Buffer.from(elf);
  const btf = elfSection(copy, '.BTF');
  if (!btf) throw new Error('no .BTF section');
  const strStart = btf.readUInt32LE(4) + btf.readUInt32LE(16);
  const str = (off: number): string => btf.toString('latin1', strStart + off, btf.indexOf(0, strStart + off));
  const offsets = typeOffsets(btf);
  const kindOf = (id: number): number => (btf.readUInt32LE(offsets[id - 1] + 4) >>> 24) & 0x1f;
  const v = offsets.findIndex((off) => ((btf.readUInt32LE(off + 4) >>> 24) & 0x1f) === KIND.var && str(btf.readUInt32LE(off)) === name);
  if (v < 0) throw new Error(`no map ${name}`);
  const def = btf.readUInt32LE(offsets[v] + 8); // the var's struct
  if (kindOf(def) !== KIND.struct) throw new Error(`map ${name}: not a struct definition`);
  const vlen = btf.readUInt32LE(offsets[def - 1] + 4) & 0xffff;
  for (let i = 0; i < vlen; i++) {
    const m = offsets[def - 1] + 12 + i * 12;
    if (str(btf.readUInt32LE(m)) !== 'type') continue;
    const ptr = btf.readUInt32LE(m + 4);
    const arr = btf.readUInt32LE(offsets[ptr - 1] + 8);
    if (kindOf(ptr) !== KIND.ptr || kindOf(arr) !== KIND.array) break;
    btf.writeUInt32LE(type, offsets[arr - 1] + 12 + 8); // btf_array { type, index_type, nelems }
    return copy;
  }
  throw new Error(`map ${name}: no __uint(type, ...)`);
}
