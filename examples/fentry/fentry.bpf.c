// fentry: every file removal that reaches the kernel's do_unlinkat(), seen at its entry
// (fentry) and at its exit with the result (fexit). BPF trampolines give the programs
// the function's typed arguments: no pt_regs, and fexit sees the arguments too.
// Newer kernels (7.2) call the function filename_unlinkat(): index.ts retargets both there.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <node_libbpf/ringbuf.h>

char LICENSE[] SEC("license") = "GPL";

struct unlink_event {
	u32 pid;
	s32 ret;   // fexit: do_unlinkat()'s return value (0 or -errno)
	bool exit; // false: fentry, true: fexit
	char comm[16];
	char filename[128];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");
NLB_EVENT_TYPE(events, struct unlink_event);

static __always_inline void emit(struct filename *name, bool exit, long ret)
{
	struct unlink_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ret = ret;
	e->exit = exit;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), name->name);
	bpf_ringbuf_submit(e, 0);
}

/* int do_unlinkat(int dfd, struct filename *name) */
SEC("fentry/do_unlinkat")
int BPF_PROG(unlink_entry, int dfd, struct filename *name)
{
	emit(name, false, 0);
	return 0;
}

SEC("fexit/do_unlinkat")
int BPF_PROG(unlink_exit, int dfd, struct filename *name, long ret)
{
	emit(name, true, ret);
	return 0;
}
