// Program: a borrowed view of one BPF program of a BpfObject.
import * as os from 'node:os';
import { checkString } from './args';
import { BpfError } from './errors';
import { checkInternal } from './internal';
import type { Link } from './link';
import type { NativeLink, NativeProgram } from './native';

/** What a Program needs from its BpfObject. */
export interface ProgramOwner {
  adoptLink(native: NativeLink): Link;
  verifierLog(program: string): string | undefined;
}

export class Program {
  readonly #native: NativeProgram;
  readonly #owner: ProgramOwner;

  /** @internal Programs come from BpfObject.programs() and program(). */
  constructor(token: symbol, native: NativeProgram, owner: ProgramOwner) {
    checkInternal(token, 'Program');
    this.#native = native;
    this.#owner = owner;
  }

  /** The C function's name. */
  get name(): string {
    return this.#native.name();
  }

  /** The ELF section, e.g. 'tp/sched/sched_process_exec'. */
  get sectionName(): string {
    return this.#native.sectionName();
  }

  /** The program type, as libbpf names it: 'tracepoint', 'kprobe', 'xdp', ... */
  get type(): string {
    return this.#native.type();
  }

  /** The expected attach type, as libbpf names it, or undefined. */
  get expectedAttachType(): string | undefined {
    return this.#native.expectedAttachType() ?? undefined;
  }

  /** Whether load() loads this program. Settable before load only. */
  get autoload(): boolean {
    return this.#native.autoload();
  }

  set autoload(on: boolean) {
    if (typeof on !== 'boolean') throw new TypeError(`autoload: expected a boolean, got ${typeof on}`);
    this.#native.setAutoload(on);
  }

  /** Whether BpfObject.attach() attaches this program. */
  get autoattach(): boolean {
    return this.#native.autoattach();
  }

  set autoattach(on: boolean) {
    if (typeof on !== 'boolean') throw new TypeError(`autoattach: expected a boolean, got ${typeof on}`);
    this.#native.setAutoattach(on);
  }

  /** Number of BPF instructions (after load: as relocated). */
  get instructionCount(): number {
    return this.#native.insnCount();
  }

  /** The program's file descriptor (after load). */
  get fd(): number {
    return this.#native.fd();
  }

  /** The verifier's log of a successful load, when the object was opened with a logLevel. */
  get verifierLog(): string | undefined {
    return this.#owner.verifierLog(this.name);
  }

  /**
   * Attach where the section name says (tp/..., raw_tp/..., tp_btf/..., uprobe/..., ...).
   * @example const link = obj.program('handle_exec').attach();
   */
  attach(): Link {
    const native = this.#native.attach();
    if (!native) {
      throw new BpfError(os.constants.errno.EOPNOTSUPP, 'bpf_program__attach', `section '${this.sectionName}' names no attach target`, {
        hint: 'use an explicit attach call (attachTracepoint, attachRawTracepoint, ...) for this program',
      });
    }
    return this.#owner.adoptLink(native);
  }

  /**
   * Attach to a tracepoint.
   * @example prog.attachTracepoint('sched', 'sched_process_exec');
   */
  attachTracepoint(category: string, name: string): Link {
    return this.#owner.adoptLink(this.#native.attachTracepoint(checkString(category, 'category'), checkString(name, 'name')));
  }

  /**
   * Attach to a raw tracepoint.
   * @example prog.attachRawTracepoint('sys_enter');
   */
  attachRawTracepoint(name: string): Link {
    return this.#owner.adoptLink(this.#native.attachRawTracepoint(checkString(name, 'name')));
  }

  /** Pin the loaded program on bpffs. */
  pin(path: string): void {
    this.#native.pin(checkString(path, 'path'));
  }

  /** Remove a pin made by pin(). */
  unpin(path: string): void {
    this.#native.unpin(checkString(path, 'path'));
  }
}
