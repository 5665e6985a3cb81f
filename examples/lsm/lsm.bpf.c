// lsm: a security policy in BPF. The task_kill LSM hook runs before any signal is
// delivered; this program refuses every signal sent to one protected process (except
// signal 0, the existence check) with EPERM, and reports each refusal.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <node_libbpf/ringbuf.h>

char LICENSE[] SEC("license") = "GPL";

#define EPERM 1

struct refusal {
	u32 sender; // the process whose signal was refused
	u32 target;
	s32 sig;
	char comm[16]; // the sender's command
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");
NLB_EVENT_TYPE(events, struct refusal);

/* Set from TypeScript before load: the process to protect. */
const volatile u32 protected_pid = 0;

/* int security_task_kill(struct task_struct *p, struct kernel_siginfo *info, int sig,
 * const struct cred *cred): the last argument, ret, is what earlier LSMs decided. */
SEC("lsm/task_kill")
int BPF_PROG(protect, struct task_struct *p, struct kernel_siginfo *info, int sig, const struct cred *cred, int ret)
{
	struct refusal *e;

	if (ret)
		return ret; // already refused: keep that answer
	if (p->tgid != protected_pid || sig == 0)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		e->sender = bpf_get_current_pid_tgid() >> 32;
		e->target = p->tgid;
		e->sig = sig;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		bpf_ringbuf_submit(e, 0);
	}
	return -EPERM;
}
