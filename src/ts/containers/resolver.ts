// ContainerResolver: cgroup id (what bpf_get_current_cgroup_id() returns: the inode number of
// the cgroup's directory in the v2 hierarchy) or pid -> container, pod and unit. It walks the
// cgroup2 tree once, then keeps it current with one inotify watch per cgroup directory
// (fs.watch): mkdir and rmdir in cgroupfs go through the VFS, which reports them to watchers
// of the parent directory. See docs in README ("Containers and pods") for why inotify and
// not the cgroup_mkdir tracepoint.
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { argTypeError, checkInteger, checkOptions, checkString } from '../base/args';
import { BpfError } from '../errors/bpf-error';
import { RESOLVER_CLOSED } from '../errors/state';
import { parseCgroupPath, type CgroupLayout } from './layout';
import { cgroup2MountPoint, cgroupPathOfPid } from './mount';

/** One cgroup: its id and path, and what its path says (see CgroupLayout). */
export interface CgroupInfo<M = unknown> extends CgroupLayout {
  /** The cgroup id: the directory's inode number, as bpf_get_current_cgroup_id() returns it. */
  id: bigint;
  /** The path below the cgroup2 mount, starting with '/' ('/' for the root). */
  cgroupPath: string;
  /** Set once the cgroup was removed (it stays resolvable for `retainRemovedMs`). */
  removed?: boolean;
  /** What the `enrich` callback returned for this container (or pod), once it did. */
  metadata?: M;
}

/** How a ContainerResolver finds and follows cgroups, and what it adds to them. */
export interface ContainerResolverOptions<M = unknown> {
  /** The cgroup2 mount point (default: the first cgroup2 mount in /proc/self/mountinfo). */
  root?: string;
  /** Follow cgroups created and removed after construction (default true). */
  watch?: boolean;
  /**
   * Richer metadata (pod name and namespace from the kubelet or the API server, a container's
   * name from its runtime): called once per container id (or pod uid, or cgroup path for
   * cgroups of neither), its result cached until the last cgroup with that key is gone and
   * set as `metadata` on the infos. A rejection is not cached.
   */
  enrich?: (info: CgroupInfo<M>) => M | Promise<M>;
  /** How long a removed cgroup stays resolvable, for events still in flight (default 2000 ms). */
  retainRemovedMs?: number;
}

interface Entry<M> {
  info: CgroupInfo<M>;
  watcher: fs.FSWatcher | undefined;
  children: Set<string>;
}

const OPTIONS = ['root', 'watch', 'enrich', 'retainRemovedMs'] as const;

function enrichKey(info: CgroupLayout & { cgroupPath: string }): string {
  return info.containerId ?? (info.pod ? `pod:${info.pod.uid}` : `path:${info.cgroupPath}`);
}

function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/**
 * Resolves cgroup ids and pids to containers and pods, kept current as cgroups come and go.
 * Events: 'add' and 'remove' (a CgroupInfo) for cgroups created and removed after
 * construction; 'error' (when listened to) for a directory that could not be watched.
 */
export class ContainerResolver<M = unknown> extends EventEmitter {
  /** The cgroup2 mount point the resolver reads. */
  readonly root: string;
  private readonly byId = new Map<number, CgroupInfo<M>>();
  private readonly byBigId = new Map<bigint, CgroupInfo<M>>(); // ids beyond 2^53 (none in practice)
  private readonly byPath = new Map<string, Entry<M>>();
  private readonly keyRefs = new Map<string, number>();
  private readonly metadata = new Map<string, Promise<M>>();
  private readonly watch: boolean;
  private readonly enrichFn: ((info: CgroupInfo<M>) => M | Promise<M>) | undefined;
  private readonly retainMs: number;
  private retired: { info: CgroupInfo<M>; at: number }[] = [];
  private sweepTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private started = false;
  private refed = false;

  /**
   * Reads the cgroup2 tree once and, unless `watch` is false, follows it with inotify.
   * @example
   * const containers = new ContainerResolver();
   * const info = containers.resolve(cgroupId); // e.g. from bpf_get_current_cgroup_id()
   * console.log(info?.runtime, info?.containerId, info?.pod?.uid);
   * containers.close();
   */
  constructor(options?: ContainerResolverOptions<M>) {
    super();
    const o = checkOptions<ContainerResolverOptions<M>>(options, 'options', OPTIONS);
    this.root = o.root === undefined ? cgroup2MountPoint() : checkString(o.root, 'options.root');
    if (o.watch !== undefined && typeof o.watch !== 'boolean') throw argTypeError('options.watch', 'a boolean', o.watch);
    if (o.enrich !== undefined && typeof o.enrich !== 'function') throw argTypeError('options.enrich', 'a function', o.enrich);
    this.watch = o.watch ?? true;
    this.enrichFn = o.enrich;
    this.retainMs = o.retainRemovedMs === undefined ? 2000 : checkInteger(o.retainRemovedMs, 'options.retainRemovedMs', 0, 2 ** 31 - 1);
    if (!fs.statSync(this.root, { throwIfNoEntry: false })?.isDirectory()) {
      throw new BpfError(2, 'cgroup2 mount', `${this.root} is not a directory`);
    }
    try {
      this.add('/');
    } catch (e) {
      this.close();
      throw e;
    }
    this.started = true;
  }

  /** How many cgroups the resolver knows (removed ones still retained included). */
  get size(): number {
    return this.byId.size + this.byBigId.size;
  }

  /**
   * The cgroup with this id (bpf_get_current_cgroup_id()'s value, as bigint or number), or
   * undefined when there is none. A cgroup made a moment ago may not be known yet: its
   * inotify event is handled on the event loop (`resolvePid` reads /proc and is current).
   */
  resolve(cgroupId: bigint | number): CgroupInfo<M> | undefined {
    if (this.closed) throw new TypeError(RESOLVER_CLOSED);
    if (typeof cgroupId === 'bigint') {
      const n = Number(cgroupId);
      return n <= Number.MAX_SAFE_INTEGER ? this.byId.get(n) : this.byBigId.get(cgroupId);
    }
    if (typeof cgroupId === 'number') return this.byId.get(cgroupId);
    throw argTypeError('cgroupId', 'a bigint or number', cgroupId);
  }

  /** The cgroup `pid` is in now (from /proc/PID/cgroup), or undefined when the pid is gone. */
  resolvePid(pid: number): CgroupInfo<M> | undefined {
    if (this.closed) throw new TypeError(RESOLVER_CLOSED);
    checkInteger(pid, 'pid', 1, 2 ** 31 - 1);
    const p = cgroupPathOfPid(pid);
    if (p === undefined) return undefined;
    return this.byPath.get(p)?.info ?? this.add(p);
  }

  /** `resolve(cgroupId)`, after the `enrich` callback's metadata for it arrived. */
  async enriched(cgroupId: bigint | number): Promise<CgroupInfo<M> | undefined> {
    const info = this.resolve(cgroupId);
    if (info && this.enrichFn && info.metadata === undefined) {
      const key = enrichKey(info);
      let pending = this.metadata.get(key);
      if (!pending) {
        const fn = this.enrichFn;
        pending = Promise.resolve().then(() => fn(info));
        this.metadata.set(key, pending);
        pending.catch(() => {
          if (this.metadata.get(key) === pending) this.metadata.delete(key);
        });
      }
      const m = await pending;
      if (!this.closed) this.setMetadata(key, m);
    }
    return info;
  }

  /** Every known cgroup. */
  values(): IterableIterator<CgroupInfo<M>> {
    if (this.closed) throw new TypeError(RESOLVER_CLOSED);
    return [...this.byId.values(), ...this.byBigId.values()][Symbol.iterator]();
  }

  /** Walks the whole tree again (what watching does piecemeal). */
  refresh(): void {
    if (this.closed) throw new TypeError(RESOLVER_CLOSED);
    this.reconcile('/');
  }

  /**
   * Makes the watching keep the process alive, as a timer or socket does (by default it
   * does not: a resolver serves events something else waits for, such as a RingBuffer).
   */
  ref(): this {
    if (this.closed) throw new TypeError(RESOLVER_CLOSED);
    this.refed = true;
    for (const e of this.byPath.values()) e.watcher?.ref();
    return this;
  }

  /** Lets the process exit while the resolver still watches (the default). */
  unref(): this {
    if (this.closed) throw new TypeError(RESOLVER_CLOSED);
    this.refed = false;
    for (const e of this.byPath.values()) e.watcher?.unref();
    return this;
  }

  /** Stops watching and frees everything; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const e of this.byPath.values()) e.watcher?.close();
    this.byPath.clear();
    this.byId.clear();
    this.byBigId.clear();
    this.metadata.clear();
    this.keyRefs.clear();
    this.retired = [];
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
    this.removeAllListeners();
  }

  /** The same as close(), for `using containers = new ContainerResolver()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Adds the cgroup at `rel` and everything below it; returns its info (undefined if gone). */
  private add(rel: string): CgroupInfo<M> | undefined {
    const abs = rel === '/' ? this.root : path.join(this.root, rel);
    const st = fs.statSync(abs, { bigint: true, throwIfNoEntry: false });
    if (!st?.isDirectory()) return undefined;
    const parent = rel === '/' ? undefined : path.posix.dirname(rel);
    const known = this.byPath.get(rel);
    if (known && known.info.id === st.ino) {
      if (parent !== undefined) this.byPath.get(parent)?.children.add(rel); // added by resolvePid before its parent
      return known.info;
    }
    if (known) this.removeTree(rel);
    if (this.closed) return undefined; // by a 'remove' listener
    const info: CgroupInfo<M> = { id: st.ino, cgroupPath: rel, ...parseCgroupPath(rel) };
    const entry: Entry<M> = { info, watcher: undefined, children: new Set() };
    this.byPath.set(rel, entry);
    if (st.ino <= BigInt(Number.MAX_SAFE_INTEGER)) this.byId.set(Number(st.ino), info);
    else this.byBigId.set(st.ino, info);
    const key = enrichKey(info);
    this.keyRefs.set(key, (this.keyRefs.get(key) ?? 0) + 1);
    const cached = this.metadata.get(key);
    if (cached) void cached.then((m) => (info.metadata ??= m), () => undefined);
    if (parent !== undefined) this.byPath.get(parent)?.children.add(rel);
    // The watch first, then the listing: a child made in between is seen by one of them.
    if (this.watch) entry.watcher = this.watchDir(abs, rel);
    if (this.started) this.emit('add', info);
    // A listener may have closed the resolver: nothing more is added then.
    for (const d of this.listDirs(abs)) if (!this.closed) this.add(childPath(rel, d));
    return info;
  }

  private watchDir(abs: string, rel: string): fs.FSWatcher | undefined {
    try {
      const w = fs.watch(abs, (event, name) => {
        if (event === 'rename') this.reconcile(name ? childPath(rel, name) : rel);
      });
      if (!this.refed) w.unref();
      w.on('error', () => w.close()); // its directory went away; the parent's event removes it
      return w;
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ENOENT') return undefined;
      const wrapped = new BpfError(-(err.errno ?? -28), 'inotify_add_watch', `${abs}: ${err.message}`, {
        hint: err.code === 'ENOSPC' ? 'raise fs.inotify.max_user_watches (one watch per cgroup directory)' : undefined,
      });
      if (!this.started) throw wrapped;
      if (this.listenerCount('error') > 0) this.emit('error', wrapped);
      return undefined;
    }
  }

  private listDirs(abs: string): string[] {
    try {
      return fs.readdirSync(abs, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      return []; // removed while we looked
    }
  }

  /** Brings `rel` (and below) in line with the file system after an event. */
  private reconcile(rel: string): void {
    if (this.closed) return;
    const info = this.add(rel);
    if (!info) {
      this.removeTree(rel);
      return;
    }
    // Seen before: its children may have changed while no event said so (a refresh). An
    // 'add' or 'remove' listener may close the resolver at any step of this.
    const entry = this.byPath.get(rel);
    if (!entry) return;
    const present = new Set(this.listDirs(rel === '/' ? this.root : path.join(this.root, rel)).map((d) => childPath(rel, d)));
    for (const c of [...entry.children]) if (!present.has(c) && !this.closed) this.removeTree(c);
    for (const c of present) this.reconcile(c);
  }

  private removeTree(rel: string): void {
    const entry = this.byPath.get(rel);
    if (!entry) return;
    for (const c of entry.children) if (!this.closed) this.removeTree(c);
    if (this.closed) return;
    entry.watcher?.close();
    this.byPath.delete(rel);
    if (rel !== '/') this.byPath.get(path.posix.dirname(rel))?.children.delete(rel);
    entry.info.removed = true;
    this.emit('remove', entry.info);
    if (this.closed) return; // closed by a 'remove' listener: close() already forgot everything
    if (this.retainMs === 0) this.forget(entry.info);
    else {
      this.retired.push({ info: entry.info, at: Date.now() });
      this.sweepTimer ??= setTimeout(() => this.sweep(), this.retainMs).unref();
    }
  }

  private sweep(): void {
    this.sweepTimer = undefined;
    const cutoff = Date.now() - this.retainMs;
    let i = 0;
    while (i < this.retired.length && this.retired[i].at <= cutoff) this.forget(this.retired[i++].info);
    this.retired = this.retired.slice(i);
    if (this.retired.length) this.sweepTimer = setTimeout(() => this.sweep(), this.retired[0].at + this.retainMs - Date.now()).unref();
  }

  private forget(info: CgroupInfo<M>): void {
    const n = Number(info.id);
    if (n <= Number.MAX_SAFE_INTEGER) {
      if (this.byId.get(n) === info) this.byId.delete(n);
    } else if (this.byBigId.get(info.id) === info) this.byBigId.delete(info.id);
    const key = enrichKey(info);
    const refs = (this.keyRefs.get(key) ?? 1) - 1;
    if (refs > 0) this.keyRefs.set(key, refs);
    else {
      this.keyRefs.delete(key);
      this.metadata.delete(key);
    }
  }

  private setMetadata(key: string, m: M): void {
    for (const info of this.byId.values()) if (info.metadata === undefined && enrichKey(info) === key) info.metadata = m;
    for (const info of this.byBigId.values()) if (info.metadata === undefined && enrichKey(info) === key) info.metadata = m;
  }
}
