// Counts exec() calls per command name. CO-RE: the task's comm and its parent's tgid
// are read with BPF_CORE_READ, so this one object relocates on any kernel with BTF.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

struct comm_key {
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct comm_key);
	__type(value, u64);
} counts SEC(".maps");

/* Set from TypeScript before load: only count children of this process (0: all). */
const volatile u32 parent_tgid = 0;

u64 total = 0;

SEC("tp/sched/sched_process_exec")
int count_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct comm_key key = {};
	u64 one = 1, *n;

	if (parent_tgid && BPF_CORE_READ(task, real_parent, tgid) != parent_tgid)
		return 0;
	BPF_CORE_READ_STR_INTO(&key.comm, task, comm);
	n = bpf_map_lookup_elem(&counts, &key);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST);
	__sync_fetch_and_add(&total, 1);
	return 0;
}
