// usdt: the firings of one USDT probe (a STAP_PROBE/DTRACE_PROBE site compiled into a
// binary), with their arguments. libbpf's usdt.bpf.h decodes where each argument lives
// (a register, the stack, a constant) from the probe's ELF note, at run time.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/usdt.bpf.h>
#include <node_libbpf/ringbuf.h>

char LICENSE[] SEC("license") = "GPL";

#define MAX_ARGS 6

struct usdt_event {
	u32 pid;
	u32 argc; // how many arguments the probe site passes
	s64 args[MAX_ARGS];
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");
NLB_EVENT_TYPE(events, struct usdt_event);

/* SEC("usdt") without a target: user space says which binary, provider and probe. */
SEC("usdt")
int on_probe(struct pt_regs *ctx)
{
	struct usdt_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	long v;

	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->argc = bpf_usdt_arg_cnt(ctx);
	for (int i = 0; i < MAX_ARGS; i++)
		e->args[i] = i < e->argc && bpf_usdt_arg(ctx, i, &v) == 0 ? v : 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}
