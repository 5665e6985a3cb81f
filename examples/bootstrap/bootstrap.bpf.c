// SPDX-License-Identifier: MIT
// bootstrap: every process's exec and exit, with its lifetime and exit code, in the
// spirit of libbpf-bootstrap's example of the same name.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <node_libbpf/ringbuf.h>

char LICENSE[] SEC("license") = "GPL";

#define TASK_COMM_LEN 16
#define MAX_FILENAME_LEN 128

struct event {
	__u64 duration_ns;   /* exit: time since exec (0 if the exec was not seen) */
	__s32 pid;
	__s32 ppid;
	__u32 exit_code;     /* exit: the process's exit status (0-255) */
	__u32 signal;        /* exit: the signal that killed it, or 0 */
	bool exit_event;
	char comm[TASK_COMM_LEN];
	char filename[MAX_FILENAME_LEN];
};
NLB_RINGBUF_TYPE(struct event);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, pid_t);
	__type(value, __u64);
} exec_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");
NLB_RINGBUF_DROPS(events);

/* Set from user space before load: report only processes that lived at least this
 * long (and then no exec events). A constant to the verifier. */
const volatile __u64 min_duration_ns = 0;

SEC("tp/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	pid_t pid = bpf_get_current_pid_tgid() >> 32;
	__u64 ts = bpf_ktime_get_ns();
	struct event *e;

	bpf_map_update_elem(&exec_start, &pid, &ts, BPF_ANY);
	if (min_duration_ns)
		return 0;

	e = nlb_ringbuf_reserve(events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->exit_event = false;
	e->duration_ns = 0;
	e->exit_code = 0;
	e->signal = 0;
	e->pid = pid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	/* __data_loc: the low 16 bits are the string's offset in the record. */
	unsigned fname_off = ctx->__data_loc_filename & 0xFFFF;
	bpf_probe_read_kernel_str(&e->filename, sizeof(e->filename), (void *)ctx + fname_off);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp/sched/sched_process_exit")
int handle_exit(struct trace_event_raw_sched_process_template *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	pid_t pid = id >> 32;
	__u64 duration_ns = 0, *start_ts;
	struct task_struct *task;
	struct event *e;

	if (pid != (__u32)id)
		return 0; /* a thread, not the whole process */

	start_ts = bpf_map_lookup_elem(&exec_start, &pid);
	if (start_ts)
		duration_ns = bpf_ktime_get_ns() - *start_ts;
	else if (min_duration_ns)
		return 0;
	bpf_map_delete_elem(&exec_start, &pid);
	if (min_duration_ns && duration_ns < min_duration_ns)
		return 0;

	e = nlb_ringbuf_reserve(events, sizeof(*e), 0);
	if (!e)
		return 0;
	task = (struct task_struct *)bpf_get_current_task();
	int status = BPF_CORE_READ(task, exit_code);
	e->exit_event = true;
	e->duration_ns = duration_ns;
	e->pid = pid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->exit_code = (status >> 8) & 0xff;
	e->signal = status & 0x7f;
	e->filename[0] = 0;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}
