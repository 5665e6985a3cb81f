// Metrics every agent wants without writing them: programs' run counts and run time (the
// kernel's statistics, switched on while an exporter lives), event buffers' delivered,
// dropped and lost counts and fill, maps' entries against max entries, load and
// verification time. Read when collected, from the objects and buffers given.
import { BpfObject } from '../core/object';
import { enableStats, type StatsHandle } from '../core/program';
import { PerfBuffer } from '../events/perf-buffer';
import { RingBuffer } from '../events/ring-buffer';
import { argTypeError, checkOptions } from '../base/args';
import type { Sample } from './read';

/** What the builtin metrics report on: objects, event buffers, and how. */
export interface BuiltinOptions {
  /** Objects whose programs, maps and load time are reported (label `object`: the object's name). */
  objects?: BpfObject[];
  /** Event buffers by the name to report them under (label `buffer`). */
  buffers?: Record<string, RingBuffer | PerfBuffer>;
  /** Turn on the kernel's run statistics (BPF_ENABLE_STATS) while exporting, so run counts count (default true). */
  programStats?: boolean;
  /** Count the entries of hash-like maps at each collection (one walk of the keys per map; default true). */
  mapEntries?: boolean;
}

export const BUILTIN_OPTIONS = ['objects', 'buffers', 'programStats', 'mapEntries'] as const;

/** One builtin family: its name, help text and kind. */
export interface FamilyInfo {
  /** The base name; the Prometheus adapter adds `_total` to counters. */
  name: string;
  /** The HELP text (the description, for OpenTelemetry). */
  help: string;
  /** Whether it only grows (counter) or goes up and down (gauge). */
  type: 'counter' | 'gauge';
}

/** The builtin families, in a fixed order (OpenTelemetry instruments are made from this list). */
export const BUILTIN_FAMILIES: readonly FamilyInfo[] = [
  { name: 'bpf_program_runs', help: 'Runs of the BPF program counted by the kernel while run statistics are on', type: 'counter' },
  { name: 'bpf_program_run_time_seconds', help: 'Time spent in the BPF program while run statistics are on', type: 'counter' },
  { name: 'bpf_program_recursion_misses', help: 'Runs skipped because the program was already running on that CPU', type: 'counter' },
  { name: 'bpf_program_verified_instructions', help: 'Instructions the verifier processed when the program was loaded', type: 'gauge' },
  { name: 'bpf_program_verification_seconds', help: "Verifier time of the program's load (from a verifier log with statistics, logLevel 4)", type: 'gauge' },
  { name: 'bpf_object_load_seconds', help: 'Wall time of the object load: map creation, CO-RE relocation, verification', type: 'gauge' },
  { name: 'bpf_map_entries', help: 'Entries in the map now (arrays: always max entries)', type: 'gauge' },
  { name: 'bpf_map_max_entries', help: "The map's max entries", type: 'gauge' },
  { name: 'bpf_buffer_delivered', help: 'Events the ring or perf buffer delivered to user space', type: 'counter' },
  { name: 'bpf_buffer_dropped', help: "Reservations the BPF side failed (ring buffers with a <ring>_drops counter)", type: 'counter' },
  { name: 'bpf_buffer_lost', help: 'Samples the kernel lost because a perf buffer was full', type: 'counter' },
  { name: 'bpf_buffer_available_bytes', help: 'Bytes written to the ring buffer and not consumed yet', type: 'gauge' },
  { name: 'bpf_buffer_size_bytes', help: 'Ring buffer size, or perf buffer size over all CPUs', type: 'gauge' },
  { name: 'bpf_buffer_queued', help: "Events waiting in the buffer's iterator queue", type: 'gauge' },
];

// Maps whose entry count means something and is cheap to walk (hash-like) or fixed (arrays).
const COUNTED = new Set(['hash', 'lru_hash', 'percpu_hash', 'lru_percpu_hash', 'hash_of_maps', 'lpm_trie', 'sk_storage', 'task_storage', 'inode_storage', 'cgrp_storage']);
const FIXED = new Set(['array', 'percpu_array', 'array_of_maps', 'prog_array', 'cgroup_array']);
const PAGE_SIZE = 4096;

/** Reads the builtin families; holds the run statistics on until close(). */
export class Builtins {
  readonly #objects: BpfObject[];
  readonly #buffers: [string, RingBuffer | PerfBuffer][];
  readonly #mapEntries: boolean;
  #stats: StatsHandle | undefined;

  /** Reads `options` once; turns the run statistics on when `programStats` (the default). */
  constructor(options: BuiltinOptions | undefined) {
    const o = checkOptions<BuiltinOptions>(options, 'options', BUILTIN_OPTIONS);
    const objects = o.objects ?? [];
    if (!Array.isArray(objects)) throw argTypeError('options.objects', 'an array of BpfObjects', objects);
    objects.forEach((obj, i) => {
      if (!(obj instanceof BpfObject)) throw argTypeError(`options.objects[${i}]`, 'a BpfObject', obj);
    });
    const buffers = o.buffers ?? {};
    if (buffers === null || typeof buffers !== 'object') throw argTypeError('options.buffers', 'an object of RingBuffers and PerfBuffers by name', buffers);
    for (const [name, b] of Object.entries(buffers)) {
      if (!(b instanceof RingBuffer) && !(b instanceof PerfBuffer)) throw argTypeError(`options.buffers.${name}`, 'a RingBuffer or PerfBuffer', b);
    }
    for (const k of ['programStats', 'mapEntries'] as const) {
      if (o[k] !== undefined && typeof o[k] !== 'boolean') throw argTypeError(`options.${k}`, 'a boolean', o[k]);
    }
    this.#objects = [...objects];
    this.#buffers = Object.entries(buffers);
    this.#mapEntries = o.mapEntries ?? true;
    if ((o.programStats ?? true) && objects.length > 0) this.#stats = enableStats();
  }

  /** True while the kernel's run statistics are held on by this reader. */
  get statsEnabled(): boolean {
    return this.#stats !== undefined && !this.#stats.closed;
  }

  /** Samples by family name; closed objects and buffers are skipped. */
  read(): Map<string, Sample[]> {
    const out = new Map<string, Sample[]>(BUILTIN_FAMILIES.map((f) => [f.name, []]));
    const put = (name: string, labels: Record<string, string>, value: number | bigint | undefined): void => {
      if (value !== undefined) out.get(name)!.push({ labels, value: Number(value) });
    };
    for (const obj of this.#objects) {
      if (!obj.loaded) continue;
      const object = obj.name;
      if (obj.loadDurationNs !== undefined) put('bpf_object_load_seconds', { object }, Number(obj.loadDurationNs) / 1e9);
      for (const prog of obj.programs()) {
        if (!prog.autoload) continue;
        const labels = { object, program: prog.name };
        const info = prog.info();
        put('bpf_program_runs', labels, info.runCount);
        put('bpf_program_run_time_seconds', labels, Number(info.runTimeNs) / 1e9);
        put('bpf_program_recursion_misses', labels, info.recursionMisses);
        put('bpf_program_verified_instructions', labels, info.verifiedInstructions);
        const usecs = verificationMicros(prog.verifierLog);
        if (usecs !== undefined) put('bpf_program_verification_seconds', labels, usecs / 1e6);
      }
      for (const map of obj.maps()) {
        if (map.internal || !(COUNTED.has(map.type) || FIXED.has(map.type))) continue;
        const labels = { object, map: map.name };
        put('bpf_map_max_entries', labels, map.maxEntries);
        if (FIXED.has(map.type)) put('bpf_map_entries', labels, map.maxEntries);
        else if (this.#mapEntries) put('bpf_map_entries', labels, countKeys(map.raw.keys()));
      }
    }
    for (const [buffer, b] of this.#buffers) {
      if (b.closed) continue;
      const labels = { buffer };
      if (b instanceof RingBuffer) {
        const s = b.stats();
        put('bpf_buffer_delivered', labels, s.delivered);
        put('bpf_buffer_dropped', labels, s.dropped);
        put('bpf_buffer_available_bytes', labels, s.availableBytes);
        put('bpf_buffer_size_bytes', labels, s.size);
        put('bpf_buffer_queued', labels, s.queued);
      } else {
        const s = b.stats();
        put('bpf_buffer_delivered', labels, s.delivered);
        put('bpf_buffer_lost', labels, s.lost);
        put('bpf_buffer_size_bytes', labels, s.buffers * s.pageCount * PAGE_SIZE);
        put('bpf_buffer_queued', labels, s.queued);
      }
    }
    return out;
  }

  /** Turns the run statistics back off (if no one else holds them on). Idempotent. */
  close(): void {
    this.#stats?.close();
    this.#stats = undefined;
  }
}

function countKeys(keys: Iterable<unknown>): number {
  let n = 0;
  for (const _ of keys) n++;
  return n;
}

/** The verifier's "verification time N usec" line (log level 4), if the log has one. */
export function verificationMicros(log: string | undefined): number | undefined {
  const m = log ? /verification time (\d+) usec/.exec(log) : null;
  return m ? Number(m[1]) : undefined;
}
