// profile: sample every CPU at a fixed frequency and count (process, kernel stack, user
// stack) triples; the stacks themselves live in a BPF_MAP_TYPE_STACK_TRACE map.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define MAX_DEPTH 127

const volatile u32 target_pid = 0; /* 0: every process */

struct profile_key {
	u32 pid;
	s32 kernel_stack;  /* a stack id in stack_traces, or negative: none */
	s32 user_stack;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct profile_key);
	__type(value, u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(u32));
	__uint(value_size, MAX_DEPTH * sizeof(u64));
} stack_traces SEC(".maps");

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct profile_key key = {};
	u64 one = 1, *n;

	if (pid == 0 || (target_pid && pid != target_pid))
		return 0; /* idle, or not the process asked for */
	key.pid = pid;
	key.kernel_stack = bpf_get_stackid(ctx, &stack_traces, 0);
	key.user_stack = bpf_get_stackid(ctx, &stack_traces, BPF_F_USER_STACK);
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	n = bpf_map_lookup_elem(&counts, &key);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST);
	return 0;
}
