// kprobe: every file removal that reaches the kernel's do_unlinkat(), from a kprobe at
// its entry (the name, read from the registers) and a kretprobe at its return (the
// result). A kretprobe no longer has the arguments: the entry keeps the name per thread.
// Newer kernels (7.2) call the function filename_unlinkat(): index.ts attaches there.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <node_libbpf/ringbuf.h>

char LICENSE[] SEC("license") = "GPL";

struct unlink_event {
	u32 pid;
	s32 ret;   // kretprobe: the return value (0 or -errno)
	bool exit; // false: kprobe, true: kretprobe
	char comm[16];
	char filename[128];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");
NLB_EVENT_TYPE(events, struct unlink_event);

/* The event under way, per thread: filled at entry, completed and sent at return. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u64);
	__type(value, struct unlink_event);
} pending SEC(".maps");

static __always_inline void send(struct unlink_event *from)
{
	struct unlink_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return;
	__builtin_memcpy(e, from, sizeof(*e));
	bpf_ringbuf_submit(e, 0);
}

/* int do_unlinkat(int dfd, struct filename *name): kprobes read the registers, so the
 * struct's field is read with CO-RE (BPF_CORE_READ) and bpf_probe_read_kernel_str. */
SEC("kprobe/do_unlinkat")
int BPF_KPROBE(unlink_entry, int dfd, struct filename *name)
{
	u64 id = bpf_get_current_pid_tgid();
	struct unlink_event e = { .pid = id >> 32 };

	bpf_get_current_comm(e.comm, sizeof(e.comm));
	bpf_probe_read_kernel_str(e.filename, sizeof(e.filename), BPF_CORE_READ(name, name));
	send(&e);
	bpf_map_update_elem(&pending, &id, &e, BPF_ANY);
	return 0;
}

SEC("kretprobe/do_unlinkat")
int BPF_KRETPROBE(unlink_exit, long ret)
{
	u64 id = bpf_get_current_pid_tgid();
	struct unlink_event *e = bpf_map_lookup_elem(&pending, &id);

	if (!e)
		return 0; // entered before the kprobe was attached
	e->ret = ret;
	e->exit = true;
	send(e);
	bpf_map_delete_elem(&pending, &id);
	return 0;
}
