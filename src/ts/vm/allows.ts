// Which program kinds a guest kernel allows, read from its build configuration. The VM
// passes the answer to the command as NODE_LIBBPF_KERNEL_ALLOWS, and tests gated on it
// (test/support/kernel.ts) assert the success path there: a wrong declaration fails them.
import { CachedKernel } from './debian';

const y = (kernel: CachedKernel, ...options: string[]): boolean => options.every((o) => kernel.config.get(o) === 'y');

/** The kinds `kernel` allows, in the names NODE_LIBBPF_KERNEL_ALLOWS uses. */
export function kernelAllowsFor(kernel: CachedKernel): string[] {
  const kinds: string[] = [];
  // BPF trampolines: the JIT, BTF for the target, and ftrace's patchable function entries.
  const trampolines = y(kernel, 'CONFIG_BPF_JIT', 'CONFIG_DEBUG_INFO_BTF', 'CONFIG_FUNCTION_TRACER');
  if (trampolines) kinds.push('fentry', 'fexit', 'fmod_ret');
  // The VM boots with `bpf` in lsm= (qemu.ts lsmList) wherever the kernel has it.
  if (trampolines && y(kernel, 'CONFIG_BPF_LSM')) kinds.push('lsm');
  if (trampolines && y(kernel, 'CONFIG_INET')) kinds.push('struct_ops');
  if (y(kernel, 'CONFIG_KPROBES', 'CONFIG_KPROBE_EVENTS')) kinds.push('kprobe', 'ksyscall');
  if (y(kernel, 'CONFIG_FPROBE')) kinds.push('kprobe_multi');
  return kinds;
}
