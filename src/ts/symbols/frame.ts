// What the Symbolizer returns for one address.

/**
 * A function the compiler inlined at this address, from DWARF (DW_TAG_inlined_subroutine):
 * its name and the place it was inlined at (its call site: DW_AT_call_file, DW_AT_call_line),
 * which lies in the next entry's function or, for the last entry, in the frame's function.
 */
export interface InlinedFrame {
  /** The inlined function's name (its linkage name when DWARF has one, as llvm-symbolizer gives it). */
  name: string;
  /** The source file of the call that was inlined, when DWARF names one. */
  file?: string;
  /** The source line of that call. */
  line?: number;
}

/**
 * One symbolized address. Only `address` is always there: a frame carries what could be
 * found, never throws for one bad address (a gone process, an unreadable or stripped file).
 *
 * - `name`: the function (kernel symbol, ELF symbol, JIT-ed function from a perf map, BPF
 *   program's function).
 * - `offset`: bytes from the start of `name`; without a name, bytes from the start of
 *   `module`'s file (a file offset), so `module` + `offset` still locates the code.
 * - `module`: the mapped file's path (as the process sees it), a kernel module's name,
 *   `'vmlinux'` for the kernel itself, `'bpf'` for BPF programs, `'[vdso]'`, `'[perf-map]'`
 *   for JIT-ed code named by a perf map.
 * - `file`, `line`: the source position, from DWARF line tables or a BPF program's BTF
 *   line info, when the code has them.
 */
export interface Frame {
  /** The address asked about. */
  address: bigint;
  /** The function (see above for where names come from). */
  name?: string;
  /** Bytes from the start of `name`, or a file offset in `module` without a name. */
  offset?: number;
  /** The mapped file, kernel module, 'vmlinux', 'bpf', '[vdso]' or '[perf-map]'. */
  module?: string;
  /** The source file, from DWARF line tables or BTF line info. */
  file?: string;
  /** The source line. */
  line?: number;
  /**
   * Functions inlined at this address, innermost first (with `inlines: true`, where DWARF
   * describes the code). The source position `file`:`line` lies in `inlined[0]`; each entry's
   * own file:line is where it was inlined. As a stack, outermost last:
   * `inlined[0].name` at `file:line`, `inlined[i].name` at `inlined[i-1]`'s file:line,
   * `name` at the last entry's file:line.
   */
  inlined?: InlinedFrame[];
}

/**
 * A user address made independent of the process: the mapped file, its build ID and the
 * offset in that file. Symbolize it later (on this machine or another one holding the file
 * or its debug file) with `symbolizer.symbolize([fileOffset], { file, offsets: true })`.
 */
export interface NormalizedAddress {
  /** The address asked about. */
  address: bigint;
  /** The mapped file as the process sees it; undefined for anonymous or special mappings. */
  module?: string;
  /** Lower-case hex of the file's NT_GNU_BUILD_ID note, when it has one. */
  buildId?: string;
  /** Offset of the address in the mapped file. */
  fileOffset?: number;
}
