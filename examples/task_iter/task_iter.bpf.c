// task_iter: a BPF iterator over the kernel's tasks. Each read of the iterator's link
// runs this program once per task (thread), and what it prints with BPF_SEQ_PRINTF is
// what the read returns: a process listing without /proc.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

/* Set from TypeScript before load: true lists every thread, false the processes only. */
const volatile bool threads = false;

SEC("iter/task")
int list_tasks(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;

	if (!task) // the end of the walk: nothing to print
		return 0;
	if (ctx->meta->seq_num == 0)
		BPF_SEQ_PRINTF(seq, "%7s %7s %7s %6s %s\n", "PID", "TID", "PPID", "UTIME", "COMM");
	if (!threads && task->pid != task->tgid)
		return 0;
	/* utime: user CPU time in nanoseconds, printed in milliseconds. */
	BPF_SEQ_PRINTF(seq, "%7d %7d %7d %6llu %s\n", task->tgid, task->pid, task->real_parent->tgid,
		       task->utime / 1000000, task->comm);
	return 0;
}
