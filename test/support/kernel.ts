// What the kernel under test allows, for the kinds this project's host refuses.
//
// The development host (Linux 6.18 in a VM) refuses fentry/fexit/fmod_ret/lsm/struct_ops
// loads with EPERM and has no kprobes. Guest kernels booted by the kernel matrix
// (`npm run test:kernels`) allow them, and the matrix runner says so through
// NODE_LIBBPF_KERNEL_ALLOWS (a comma-separated list of the names below). A test for such
// a kind asserts the success path where the runner declared it allowed and the exact
// refusal everywhere else. Nothing is probed here: a test that probed first and then
// expected whatever it found could never fail.
import * as os from 'node:os';

export type GatedKind = 'fentry' | 'fexit' | 'fmod_ret' | 'lsm' | 'struct_ops' | 'kprobe' | 'kprobe_multi' | 'ksyscall' | 'iter_map_elem';

// iter_map_elem: map-element iterators (iter/bpf_map_elem, iter/sockmap,
// iter/bpf_sk_storage_map), whose loads the development host refuses with EPERM.
const GATED: readonly GatedKind[] = ['fentry', 'fexit', 'fmod_ret', 'lsm', 'struct_ops', 'kprobe', 'kprobe_multi', 'ksyscall', 'iter_map_elem'];

function declared(): Set<string> {
  const list = (process.env.NODE_LIBBPF_KERNEL_ALLOWS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of list) {
    if (!(GATED as readonly string[]).includes(name)) throw new Error(`NODE_LIBBPF_KERNEL_ALLOWS: unknown kind '${name}'`);
  }
  return new Set(list);
}

/** True when the runner declared that this kernel allows `kind`. */
export function kernelAllows(kind: GatedKind): boolean {
  return declared().has(kind);
}

/** The running kernel's [major, minor], from uname. */
export function kernelVersion(): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(os.release());
  if (!m) throw new Error(`cannot parse kernel release '${os.release()}'`);
  return [Number(m[1]), Number(m[2])];
}

/** True when the running kernel is at least major.minor (for features older kernels lack). */
export function kernelAtLeast(major: number, minor: number): boolean {
  const [a, b] = kernelVersion();
  return a > major || (a === major && b >= minor);
}
