// The smoke program: counts the kill() calls of one process in a typed hash map and
// sends each as a ring buffer event. Built per architecture (`node-libbpf build --arch`).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <node_libbpf/ringbuf.h>

char LICENSE[] SEC("license") = "GPL";

struct hit {
	u32 pid;
	s32 sig;
	u64 count;
	char comm[16];
};

struct stats {
	u64 calls;
	u32 last_pid;
	u32 pad;
};

NLB_RINGBUF_TYPE(struct hit);

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");
NLB_RINGBUF_DROPS(events);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, s32);            // the signal
	__type(value, struct stats);
} counts SEC(".maps");

const volatile u32 target_tgid = 0;

SEC("tp/syscalls/sys_enter_kill")
int on_kill(struct trace_event_raw_sys_enter *ctx)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	s32 sig = (s32)ctx->args[1];
	struct stats zero = {}, *s;
	struct hit *e;

	if (tgid != target_tgid)
		return 0;
	bpf_map_update_elem(&counts, &sig, &zero, BPF_NOEXIST);
	s = bpf_map_lookup_elem(&counts, &sig);
	if (!s)
		return 0;
	__sync_fetch_and_add(&s->calls, 1);
	s->last_pid = tgid;
	e = nlb_ringbuf_reserve(events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = tgid;
	e->sig = sig;
	e->count = s->calls;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}
