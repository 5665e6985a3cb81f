// Link: one attachment of a program. Destroying it detaches the program; a link made
// from a BpfObject's program is held by that object until destroy(), disconnect() or
// the object's close(), so GC timing never detaches anything.
import { checkString } from './args';
import { checkInternal } from './internal';
import type { NativeLink } from './native';

export class Link implements Disposable {
  readonly #native: NativeLink;
  #release: ((link: Link) => void) | undefined;

  /** @internal Links come from Program.attach*() and BpfObject.attach(). */
  constructor(token: symbol, native: NativeLink, release?: (link: Link) => void) {
    checkInternal(token, 'Link');
    this.#native = native;
    this.#release = release;
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
    this.#native.pin(checkString(path, 'path'));
  }

  /** Remove the pin made by pin(). */
  unpin(): void {
    this.#native.unpin();
  }

  /**
   * Give up ownership: destroying this link (or closing its object) no longer detaches
   * the program, which stays attached until the process exits, or longer if pinned.
   */
  disconnect(): void {
    this.#native.disconnect();
    this.#release?.(this);
    this.#release = undefined;
  }

  /** Detach the program (unless disconnected or pinned) and free the link. Idempotent. */
  destroy(): void {
    this.#native.destroy();
    this.#release?.(this);
    this.#release = undefined;
  }

  [Symbol.dispose](): void {
    this.destroy();
  }
}
