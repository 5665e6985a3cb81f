// A gzip'd "newc" cpio archive, the format the kernel unpacks as its initramfs.
import * as zlib from 'node:zlib';

export type CpioEntry =
  | { path: string; type: 'dir'; mode?: number }
  | { path: string; type: 'file'; data: Buffer | string; mode?: number }
  | { path: string; type: 'symlink'; target: string }
  | { path: string; type: 'chardev'; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

const pad4 = (n: number): Buffer => Buffer.alloc((4 - (n % 4)) % 4);

function record(ino: number, name: string, mode: number, data: Buffer, rdev: [number, number] = [0, 0]): Buffer[] {
  const fields = [ino, mode, 0, 0, 1, 0, data.length, 0, 0, rdev[0], rdev[1], name.length + 1, 0];
  const header = Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}${name}\0`, 'latin1');
  return [header, pad4(header.length), data, pad4(data.length)];
}

/** The archive of `entries` (paths relative to /, parents listed before children), gzip'd. */
export function cpioGz(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  entries.forEach((e, i) => {
    const name = e.path.replace(/^\/+/, '');
    switch (e.type) {
      case 'dir':
        parts.push(...record(i + 1, name, S_IFDIR | (e.mode ?? 0o755), Buffer.alloc(0)));
        break;
      case 'file':
        parts.push(...record(i + 1, name, S_IFREG | (e.mode ?? 0o644), Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data)));
        break;
      case 'symlink':
        parts.push(...record(i + 1, name, S_IFLNK | 0o777, Buffer.from(e.target)));
        break;
      case 'chardev':
        parts.push(...record(i + 1, name, S_IFCHR | (e.mode ?? 0o600), Buffer.alloc(0), [e.major, e.minor]));
        break;
    }
  });
  parts.push(...record(0, 'TRAILER!!!', 0, Buffer.alloc(0)));
  return zlib.gzipSync(Buffer.concat(parts), { level: 1 });
}
