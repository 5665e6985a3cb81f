// killsnoop: every kill() call, as a perf buffer sample; user space tells the program
// which signals to leave out through a user ring buffer of commands.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <node_libbpf/ringbuf.h>

char LICENSE[] SEC("license") = "GPL";

struct kill_event {
	u32 pid;    // the sender
	s32 target; // kill()'s pid argument
	s32 sig;
	u32 pad;
	char comm[16];
};

enum command_op { IGNORE_SIGNAL = 1, WATCH_SIGNAL = 2 };

struct command {
	enum command_op op;
	s32 sig;
};

NLB_RINGBUF_TYPE(struct kill_event); // keeps the types in the object's BTF, for decoding
NLB_RINGBUF_TYPE(struct command);

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, 4096);
} commands SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, s32);
	__type(value, u8);
} ignored SEC(".maps");

const volatile u32 parent_tgid = 0; // only kill() calls by children of this process (0: all)

static long apply(struct bpf_dynptr *msg, void *ctx)
{
	struct command cmd;
	u8 yes = 1;

	if (bpf_dynptr_read(&cmd, sizeof(cmd), msg, 0, 0))
		return 0; // too short: skip it
	if (cmd.op == IGNORE_SIGNAL)
		bpf_map_update_elem(&ignored, &cmd.sig, &yes, BPF_ANY);
	else if (cmd.op == WATCH_SIGNAL)
		bpf_map_delete_elem(&ignored, &cmd.sig);
	return 0;
}

SEC("tp/syscalls/sys_enter_kill")
int on_kill(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct kill_event e = {};

	// Commands first: what user space sent before this call applies to it.
	bpf_user_ringbuf_drain(&commands, apply, NULL, 0);
	if (parent_tgid && BPF_CORE_READ(task, real_parent, tgid) != parent_tgid)
		return 0;
	e.pid = bpf_get_current_pid_tgid() >> 32;
	e.target = (s32)ctx->args[0];
	e.sig = (s32)ctx->args[1];
	if (bpf_map_lookup_elem(&ignored, &e.sig))
		return 0;
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}
