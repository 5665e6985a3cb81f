// Source lines of BPF program frames: the kernel keeps, for a program loaded with BTF,
// the JIT-ed address of each line info record (bpf_prog_info's jited_line_info, for root),
// and the file and line each record names (line_info, strings in the program's BTF).
import { addon, type NativeBpfLineInfo } from '../base/native';

const TWO32 = 2 ** 32;

export class BpfLines {
  readonly #starts: Float64Array;
  readonly #info: NativeBpfLineInfo;
  readonly #funcStarts: Float64Array;
  readonly #funcEnds: Float64Array;

  private constructor(info: NativeBpfLineInfo) {
    this.#info = info;
    this.#starts = Float64Array.from(info.jitedLines, low48);
    this.#funcStarts = Float64Array.from(info.ksyms, low48);
    this.#funcEnds = this.#funcStarts.map((s, i) => s + (info.funcLens[i] ?? 0));
  }

  /** The line info of the loaded program with this tag, or undefined (none, or not given). */
  static forTag(tag: string): BpfLines | undefined {
    let info: NativeBpfLineInfo | undefined;
    try {
      info = addon.NativeProgram.lineInfoByTag(tag);
    } catch {
      return undefined;
    }
    return info && info.jitedLines.length > 0 ? new BpfLines(info) : undefined;
  }

  /** File and line of a JIT-ed address (high and low 32-bit words), or undefined. */
  lookup(high: number, low: number): { file: string; line: number } | undefined {
    const a = (high % 0x10000) * TWO32 + low;
    // Records of the function holding the address only (records are in instruction order).
    let f = -1;
    for (let i = 0; i < this.#funcStarts.length; i++) if (a >= this.#funcStarts[i] && a < this.#funcEnds[i]) f = i;
    if (f < 0) return undefined;
    let best = -1;
    for (let i = 0; i < this.#starts.length; i++) {
      const s = this.#starts[i];
      if (s >= this.#funcStarts[f] && s <= a && (best < 0 || s >= this.#starts[best])) best = i;
    }
    return best < 0 ? undefined : { file: this.#info.files[best], line: this.#info.lines[best] };
  }
}

/** The low 48 bits of a kernel address as a number (JIT-ed code lies within one 2^48 span). */
function low48(a: bigint): number {
  return Number(a & 0xffffffffffffn);
}
