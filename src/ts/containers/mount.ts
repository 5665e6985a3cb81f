// Where the cgroup v2 hierarchy is mounted, and which cgroup a pid is in.
import * as fs from 'node:fs';
import { BpfError } from '../errors/bpf-error';

const ENOENT = 2;

/** mountinfo escapes space, tab, newline and backslash in paths as octal (`\040`). */
function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * The mount point of the first cgroup2 file system in /proc/self/mountinfo
 * (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts).
 */
export function cgroup2MountPoint(mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8')): string {
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    if (line.slice(sep + 3).split(' ')[0] !== 'cgroup2') continue;
    return unescapeMountPath(line.slice(0, sep).split(' ')[4]);
  }
  throw new BpfError(ENOENT, 'cgroup2 mount', 'no cgroup2 file system in /proc/self/mountinfo', {
    hint: 'mount the unified hierarchy, e.g. `mount -t cgroup2 none /sys/fs/cgroup` (as root)',
  });
}

/**
 * The cgroup v2 path of `pid` (the `0::` line of /proc/PID/cgroup, relative to this
 * process's cgroup namespace), or undefined when the pid is gone or has no v2 cgroup.
 */
export function cgroupPathOfPid(pid: number): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return undefined; // the process exited (ENOENT/ESRCH)
  }
  for (const line of text.split('\n')) {
    if (line.startsWith('0::')) return line.slice(3);
  }
  return undefined;
}
