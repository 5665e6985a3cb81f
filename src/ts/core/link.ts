// Link: one attachment of a program. Destroying it detaches the program; a link made
// from a BpfObject's program is held by that object until destroy(), disconnect() or
// the object's close(), so GC timing never detaches anything.
import { argTypeError, checkString } from '../base/args';
import { checkInternal, INTERNAL } from '../base/internal';
import { checkUnpinPath, pinWithHint } from '../errors/bpffs';
import { checkReadOptions, iterateChunks, readIterator, type IterReadOptions } from './iter';
import { decodeLinkInfo, type LinkInfo } from './link-info';
import { addon, type NativeLink } from '../base/native';
import type { Program } from './program';

/**
 * Replace the native link a Link stands for (BpfObject.upgrade re-attached it to the next
 * version's program); returns the previous one, for the caller to destroy.
 */
export let swapNativeLink: (link: Link, native: NativeLink) => NativeLink;

/** The native link a Link stands for (BpfObject.upgrade). */
export let nativeLinkOf: (link: Link) => NativeLink;

/** Every Program the library made (Program's constructor registers itself): what update() accepts. */
export const PROGRAMS = new WeakSet<object>();

/**
 * One attachment of a program (a kernel bpf_link, or a classic tc or socket filter).
 * The native side owns the handle; `destroy()` detaches. A link made from a BpfObject's
 * program is held by that object until `destroy()`, `disconnect()` or the object's
 * `close()`, so a Link you drop keeps running: garbage collection never detaches.
 *
 * @example
 * ```ts
 * const link = obj.program('handle_exec').attach();
 * console.log(link.info().type); // 'tracing', 'perf_event', ...
 * link.destroy(); // detached now; obj.close() would do it too
 * ```
 */
export class Link implements Disposable {
  #native: NativeLink; // the addon's: its object destroys it before closing

  static {
    swapNativeLink = (link, native) => {
      const old = link.#native;
      link.#native = native;
      return old;
    };
    nativeLinkOf = (link) => link.#native;
  }

  /** @internal Links come from Program.attach*() and BpfObject.attach(). */
  constructor(token: symbol, native: NativeLink) {
    checkInternal(token, 'Link');
    this.#native = native;
  }

  // --- Links by pin, program swap, kernel info (native: link_ops.cc) ---

  /**
   * Open a link pinned on bpffs (by this or another process). The Link owns only its
   * file descriptor: destroy() closes it and the pin keeps the attachment; unpin() then
   * destroy() ends it. An iterator link comes back as an {@link IterLink}.
   * Throws BpfError: ENOENT (nothing pinned there), EINVAL (the pin is a map or program).
   * @example
   * const link = Link.fromPinned('/sys/fs/bpf/my_link');
   * console.log(link.info().programId);
   * link.destroy(); // still attached: the pin holds it
   */
  static fromPinned(path: string): Link {
    const native = addon.NativeLink.fromPinned(checkString(path, 'path'));
    return native.info().type === 'iter' ? new IterLink(INTERNAL, native) : new Link(INTERNAL, native);
  }

  /**
   * The kernel's view of the link: its type, id, program id and what it is attached to
   * (tracepoint name, cgroup id, iterator target, interface, probe path/offset, ...).
   * @example
   * const link = prog.attachRawTracepoint('sys_enter');
   * link.info(); // { type: 'raw_tracepoint', id: 12, programId: 40, tracepoint: 'sys_enter', cookie: 0n }
   */
  info(): LinkInfo {
    return decodeLinkInfo(this.#native.info());
  }

  /**
   * Swap the program this live link runs, atomically (BPF_LINK_UPDATE): no event is
   * missed or seen twice. The new program must be loaded and of a compatible type.
   * @example
   * const link = obj.program('v1').attach();
   * link.update(obj.program('v2'));
   */
  update(program: Program): void {
    if (!PROGRAMS.has(program)) throw argTypeError('program', 'a Program', program);
    this.#native.update(program.fd);
  }

  /** The link's file descriptor. */
  get fd(): number {
    return this.#native.fd();
  }

  /** Where the link is pinned on bpffs, if it is. */
  get pinPath(): string | undefined {
    return this.#native.pinPath() ?? undefined;
  }

  /** True once destroy() ran, or the object that made it was closed. */
  get destroyed(): boolean {
    return this.#native.destroyed();
  }

  /**
   * Pin the link on bpffs: the attachment then outlives this process until unpin().
   * @example link.pin('/sys/fs/bpf/my_link');
   */
  pin(path: string): void {
    pinWithHint(checkString(path, 'path'), (p) => this.#native.pin(p));
  }

  /** Remove the pin made by pin() (refused, BpfError EINVAL, if that path is no longer on bpffs). */
  unpin(): void {
    const pinned = this.#native.pinPath();
    if (pinned) checkUnpinPath(pinned, 'bpf_link__unpin');
    this.#native.unpin();
  }

  /**
   * Give up ownership: destroying this link (or closing its object) no longer detaches
   * the program, which stays attached until the process exits, or longer if pinned.
   */
  disconnect(): void {
    this.#native.disconnect();
  }

  /** Detach the program (unless disconnected or pinned) and free the link. Idempotent. */
  destroy(): void {
    this.#native.destroy();
  }

  /** destroy(), for `using link = prog.attach()`. */
  [Symbol.dispose](): void {
    this.destroy();
  }
}

/**
 * A link of an iterator program (SEC("iter/...")): each read runs the iterator once,
 * from the start, on a new iterator instance, and returns what it printed
 * (bpf_seq_printf / BPF_SEQ_PRINTF).
 *
 * Sync versus async: read()/readText() run every read(2) on the JS thread (fine for
 * small outputs); readAsync(), chunks() and `for await` run each read(2) on the libuv
 * thread pool, one chunk at a time, so large walks never block the event loop.
 */
export class IterLink extends Link implements AsyncIterable<Buffer> {
  /**
   * Everything one pass of the iterator prints, read on the JS thread.
   * @example
   * const it = obj.program('dump_tasks').attachIter();
   * const text = it.read().toString();
   */
  read(): Buffer {
    return readIterator(this.fd);
  }

  /**
   * read(), decoded as text.
   * @example
   * for (const line of it.readText().split('\n')) console.log(line);
   */
  readText(encoding: BufferEncoding = 'utf8'): string {
    if (!Buffer.isEncoding(encoding)) throw argTypeError('encoding', 'a Buffer encoding', encoding);
    return this.read().toString(encoding);
  }

  /**
   * Everything one pass prints, read chunk by chunk on the thread pool.
   * @example
   * const text = (await it.readAsync()).toString();
   */
  async readAsync(options?: IterReadOptions): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.chunks(options)) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  /**
   * One pass of the iterator as Buffers of up to `chunkSize` bytes, each read(2) off the
   * JS thread. The instance opens on the first next() and closes at the end, on break,
   * or on an error. Chunks split the output anywhere, lines included.
   * @example
   * let bytes = 0;
   * for await (const chunk of it.chunks({ chunkSize: 16384 })) bytes += chunk.length;
   */
  chunks(options?: IterReadOptions): AsyncGenerator<Buffer, void, undefined> {
    return iterateChunks(() => this.fd, checkReadOptions(options));
  }

  /**
   * `for await (const chunk of it)`: chunks() with the defaults.
   * @example
   * for await (const chunk of it) process.stdout.write(chunk);
   */
  [Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    return this.chunks();
  }
}
