// /proc/PID/maps: a process's executable mappings, each with its file, offset, device and
// inode, sorted for binary search.
import * as fs from 'node:fs';
import { lastAtOrBefore } from '../elf/address-table';

/** One executable mapping of a process. */
export interface Mapping {
  start: number;
  end: number;
  /** Offset in the file of the mapping's first byte. */
  offset: number;
  /** Device as stat() gives it (makedev(major, minor)) and inode; 0 for anonymous memory. */
  dev: number;
  inode: number;
  /** The path column: a file (without a ' (deleted)' suffix), '[vdso]', or '' (anonymous). */
  path: string;
  /** The file was deleted or replaced since it was mapped. */
  deleted: boolean;
  /** The text of the start-end column, the name of its /proc/PID/map_files entry. */
  range: string;
}

/** makedev() as glibc computes it: what stat() reports as `dev`. */
export function makedev(major: number, minor: number): number {
  return (minor & 0xff) + (major & 0xfff) * 0x100 + (minor & ~0xff) * 0x1000 + (major & ~0xfff) * 0x100000000;
}

/** The executable mappings of one process, at the moment its maps file was read. */
export class ProcessMaps {
  readonly mappings: Mapping[];
  readonly #starts: Float64Array;

  constructor(text: string) {
    const out: Mapping[] = [];
    for (const line of text.split('\n')) {
      // start-end perms offset major:minor inode path
      const dash = line.indexOf('-');
      const sp1 = line.indexOf(' ', dash);
      if (dash < 0 || sp1 < 0 || line.charCodeAt(sp1 + 3) !== 0x78 /* x */) continue;
      const sp2 = line.indexOf(' ', sp1 + 1);
      const sp3 = line.indexOf(' ', sp2 + 1);
      const sp4 = line.indexOf(' ', sp3 + 1);
      let sp5 = line.indexOf(' ', sp4 + 1);
      if (sp5 < 0) sp5 = line.length;
      const start = parseInt(line.slice(0, dash), 16);
      const end = parseInt(line.slice(dash + 1, sp1), 16);
      if (!(end <= Number.MAX_SAFE_INTEGER)) continue; // [vsyscall]: kernel memory, no file
      const [major, minor] = line.slice(sp3 + 1, sp4).split(':').map((h) => parseInt(h, 16));
      let path = line.slice(sp5).trimStart();
      const deleted = path.endsWith(' (deleted)');
      if (deleted) path = path.slice(0, -' (deleted)'.length);
      out.push({
        start,
        end,
        offset: parseInt(line.slice(sp2 + 1, sp3), 16),
        dev: makedev(major, minor),
        inode: Number(line.slice(sp4 + 1, sp5)),
        path,
        deleted,
        range: line.slice(0, sp1),
      });
    }
    out.sort((a, b) => a.start - b.start);
    this.mappings = out;
    this.#starts = Float64Array.from(out, (m) => m.start);
  }

  /** Reads /proc/PID/maps; undefined when the process is gone or cannot be read. */
  static read(pid: number): ProcessMaps | undefined {
    try {
      return new ProcessMaps(fs.readFileSync(`/proc/${pid}/maps`, 'latin1'));
    } catch {
      return undefined;
    }
  }

  /** Index of the mapping holding `address`, or -1. */
  find(address: number): number {
    const i = lastAtOrBefore(this.#starts, this.mappings.length, address);
    return i >= 0 && address < this.mappings[i].end ? i : -1;
  }
}
