// Counts syscalls per process and syscall, like bcc's syscount. One raw tracepoint on
// every syscall entry increments a per-CPU counter: no locks, no atomics, no contention
// between CPUs; user space sums the CPUs when it reads (and resets) the map.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct syscall_key {
	u32 pid; /* the process (tgid) */
	u32 syscall_id;
};

struct syscall_value {
	u64 count;
	char comm[16]; /* the command name of the thread that first made it (on this CPU) */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 10240);
	__type(key, struct syscall_key);
	__type(value, struct syscall_value);
} counts SEC(".maps");

/* Set from TypeScript before load: count only this process (0: all of them) ... */
const volatile u32 target_pid = 0;
/* ... and never this one (the agent itself: 0 to count it too). */
const volatile u32 exclude_pid = 0;

/* raw_tp/sys_enter: args[0] is the task's struct pt_regs *, args[1] the syscall number. */
SEC("raw_tp/sys_enter")
int count_syscall(struct bpf_raw_tracepoint_args *ctx)
{
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	long id = (long)ctx->args[1];
	struct syscall_key key = { .pid = pid, .syscall_id = (u32)id };
	struct syscall_value *v, init = { .count = 1 };

	if (id < 0)
		return 0;
	if (target_pid && pid != target_pid)
		return 0;
	if (exclude_pid && pid == exclude_pid)
		return 0;

	/* This CPU's copy of the value: nobody else writes it, so a plain ++ is enough. */
	v = bpf_map_lookup_elem(&counts, &key);
	if (!v) {
		/* NOEXIST: another CPU may have created the key meanwhile; then use ours. */
		bpf_get_current_comm(init.comm, sizeof(init.comm));
		if (!bpf_map_update_elem(&counts, &key, &init, BPF_NOEXIST))
			return 0;
		v = bpf_map_lookup_elem(&counts, &key);
		if (!v)
			return 0; /* the map is full */
	}
	/* The other CPUs' copies of a new key start zeroed: name them on first use. */
	if (!v->comm[0])
		bpf_get_current_comm(v->comm, sizeof(v->comm));
	v->count++;
	return 0;
}
