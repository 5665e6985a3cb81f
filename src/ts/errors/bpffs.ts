// Pins live on bpffs. A path elsewhere is refused by libbpf ("specified path ... is not on
// BPF FS", EINVAL) or by the kernel (bpf_obj_pin: EPERM); either way the hint says where
// the path is instead, and unpin() refuses such a path before it unlinks anything.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BpfError, withDetail } from './bpf-error';

/** statfs(2)'s f_type of a BPF file system (linux/magic.h). */
export const BPF_FS_MAGIC = 0xcafe4a11;

/** The statfs type of the directory a pin at `file` lives in; undefined when it cannot be read. */
function dirFsType(file: string): number | undefined {
  try {
    return fs.statfsSync(path.dirname(file)).type;
  } catch {
    return undefined;
  }
}

/** The hint for a pin path whose directory is on another file system; undefined when it is on bpffs (or unknown). */
export function notOnBpffsHint(file: string): string | undefined {
  const type = dirFsType(file);
  if (type === undefined || type === BPF_FS_MAGIC) return undefined;
  return `'${path.dirname(file)}' is not on a BPF filesystem (statfs type 0x${type.toString(16)}, bpffs is 0x${BPF_FS_MAGIC.toString(16)}): ` +
    'pins live on a bpffs mount such as /sys/fs/bpf (mount -t bpf bpf /sys/fs/bpf)';
}

/** A failed pin at `file`: when the path is not on bpffs, the hint says so instead of blaming permissions. */
export function refinePinError(e: unknown, file: string): unknown {
  if (!(e instanceof BpfError) || !['EPERM', 'EACCES', 'EINVAL'].includes(e.code)) return e;
  const hint = notOnBpffsHint(file);
  return hint ? withDetail(e, undefined, hint) : e;
}

/** Runs `pin(file)`; a failure is refined as refinePinError() does. */
export function pinWithHint(file: string, pin: (file: string) => void): void {
  try {
    pin(file);
  } catch (e) {
    throw refinePinError(e, file);
  }
}

/**
 * Refuses (BpfError EINVAL, as libbpf's own unpin does) to unlink `file` when it is not on
 * bpffs: an unpin removes pins, never an arbitrary file.
 */
export function checkUnpinPath(file: string, call: string): void {
  const hint = notOnBpffsHint(file);
  if (hint) throw new BpfError(os.constants.errno.EINVAL, call, `'${file}' is not a pin: its directory is not on a BPF filesystem; nothing was unlinked`, { hint });
}
