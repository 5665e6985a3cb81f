// ksyscall: kill() and tgkill() calls, from kprobes on the syscalls' kernel entry points.
// SEC("ksyscall/kill") lets libbpf find the architecture's symbol (__x64_sys_kill, ...)
// and BPF_KSYSCALL unpacks the syscall's own arguments, whatever the calling convention.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <node_libbpf/ringbuf.h>

char LICENSE[] SEC("license") = "GPL";

struct signal_event {
	u32 pid;    // the sender
	s32 target; // kill(): the pid; tgkill(): the thread group
	s32 tid;    // tgkill(): the thread; kill(): 0
	s32 sig;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");
NLB_EVENT_TYPE(events, struct signal_event);

static __always_inline void emit(s32 target, s32 tid, s32 sig)
{
	struct signal_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->target = target;
	e->tid = tid;
	e->sig = sig;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
}

SEC("ksyscall/kill")
int BPF_KSYSCALL(on_kill, pid_t pid, int sig)
{
	emit(pid, 0, sig);
	return 0;
}

SEC("ksyscall/tgkill")
int BPF_KSYSCALL(on_tgkill, pid_t tgid, pid_t tid, int sig)
{
	emit(tgid, tid, sig);
	return 0;
}
