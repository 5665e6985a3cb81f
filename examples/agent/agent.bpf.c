// SPDX-License-Identifier: MIT
// agent: what a node agent watches, counted in the kernel where it can be and sent to user
// space where it must: process exec/exit, TCP connection lifecycle and connect latency,
// run-queue latency. Every event that goes to user space carries the cgroup id
// (bpf_get_current_cgroup_id), which user space turns into a container.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <node_libbpf/ringbuf.h>

char LICENSE[] SEC("license") = "GPL";

#define TASK_COMM_LEN 16
#define MAX_SLOTS 27 /* log2 slots of microseconds: the last one (~67 s and up) is open */
#define AF_INET 2
#define AF_INET6 10

enum event_type { EV_EXEC, EV_EXIT, EV_CONNECT, EV_CONNECT_FAILED };
enum tcp_event { CONN_STARTED, CONN_ESTABLISHED, CONN_FAILED, CONN_ACCEPTED, CONN_CLOSED, CONN_EVENTS };

struct event {
	__u64 cgroup_id;
	__u64 value;       /* exit: the wait status; connect: its latency in ns */
	__u32 type;        /* enum event_type */
	__u32 pid;
	char comm[TASK_COMM_LEN];
};
NLB_RINGBUF_TYPE(struct event);

struct comm_key { char comm[TASK_COMM_LEN]; };
struct exit_key { __u32 exit_code; __u32 signal; };
struct hist { __u64 slots[MAX_SLOTS]; __u64 total; };
struct connect_start { __u64 ts; __u64 cgroup_id; __u32 pid; char comm[TASK_COMM_LEN]; };

struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 1 << 20); } events SEC(".maps");
NLB_RINGBUF_DROPS(events);

struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4096); __type(key, struct comm_key); __type(value, __u64); } execs SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 1024); __type(key, struct exit_key); __type(value, __u64); } exits SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, CONN_EVENTS); __type(key, __u32); __type(value, __u64); } tcp_events SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16384); __type(key, __u64); __type(value, struct connect_start); } connecting SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct hist); } connect_latency SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16384); __type(key, __u32); __type(value, __u64); } runq_start SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct hist); } runq_latency SEC(".maps");

static __always_inline __u32 log2_slot(__u64 v)
{
	__u32 r = 0;
	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) r += 1;
	return r < MAX_SLOTS ? r : MAX_SLOTS - 1;
}

static __always_inline void observe(void *hist_map, __u64 usecs)
{
	__u32 zero = 0;
	struct hist *h = bpf_map_lookup_elem(hist_map, &zero);
	if (!h)
		return;
	__sync_fetch_and_add(&h->slots[log2_slot(usecs)], 1);
	__sync_fetch_and_add(&h->total, usecs);
}

static __always_inline void count(void *map, void *key)
{
	__u64 one = 1, *n = bpf_map_lookup_elem(map, key);
	if (n) {
		__sync_fetch_and_add(n, 1);
		return;
	}
	if (bpf_map_update_elem(map, key, &one, BPF_NOEXIST) && (n = bpf_map_lookup_elem(map, key)))
		__sync_fetch_and_add(n, 1); /* another CPU inserted it first */
}

static __always_inline void emit(__u32 type, __u64 cgroup_id, __u32 pid, __u64 value, const char *comm)
{
	struct event *e = nlb_ringbuf_reserve(events, sizeof(*e), 0);
	if (!e)
		return;
	e->cgroup_id = cgroup_id;
	e->value = value;
	e->type = type;
	e->pid = pid;
	if (comm)
		__builtin_memcpy(e->comm, comm, TASK_COMM_LEN);
	else
		bpf_get_current_comm(e->comm, TASK_COMM_LEN);
	bpf_ringbuf_submit(e, 0);
}

/* --- process exec and exit ---------------------------------------------------------- */

SEC("tp/sched/sched_process_exec")
int exec_start(void *ctx)
{
	struct comm_key key = {};
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	count(&execs, &key);
	emit(EV_EXEC, bpf_get_current_cgroup_id(), bpf_get_current_pid_tgid() >> 32, 0, key.comm);
	return 0;
}

SEC("tp/sched/sched_process_exit")
int exec_exit(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	if ((id >> 32) != (__u32)id)
		return 0; /* a thread, not the whole process */
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	int status = BPF_CORE_READ(task, exit_code);
	struct exit_key key = { .exit_code = (status >> 8) & 0xff, .signal = status & 0x7f };
	count(&exits, &key);
	emit(EV_EXIT, bpf_get_current_cgroup_id(), id >> 32, status, 0);
	return 0;
}

/* --- TCP connection lifecycle --------------------------------------------------------- */

static __always_inline void tcp_count(__u32 ev)
{
	__u64 *n = bpf_map_lookup_elem(&tcp_events, &ev);
	if (n)
		__sync_fetch_and_add(n, 1);
}

SEC("tp/sock/inet_sock_set_state")
int tcp_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	__u64 sk = (__u64)ctx->skaddr;
	int from = ctx->oldstate, to = ctx->newstate;

	if (to == TCP_SYN_SENT) {
		/* connect(): in the process' context, so its pid and cgroup are the caller's */
		struct connect_start s = { .ts = bpf_ktime_get_ns(), .cgroup_id = bpf_get_current_cgroup_id(),
					   .pid = bpf_get_current_pid_tgid() >> 32 };
		bpf_get_current_comm(s.comm, sizeof(s.comm));
		bpf_map_update_elem(&connecting, &sk, &s, BPF_ANY);
		tcp_count(CONN_STARTED);
		return 0;
	}
	if (from == TCP_SYN_SENT) {
		struct connect_start *s = bpf_map_lookup_elem(&connecting, &sk);
		int ok = to == TCP_ESTABLISHED;
		tcp_count(ok ? CONN_ESTABLISHED : CONN_FAILED);
		if (s) {
			__u64 ns = bpf_ktime_get_ns() - s->ts;
			if (ok)
				observe(&connect_latency, ns / 1000);
			emit(ok ? EV_CONNECT : EV_CONNECT_FAILED, s->cgroup_id, s->pid, ns, s->comm);
			bpf_map_delete_elem(&connecting, &sk);
		}
		return 0;
	}
	if (from == TCP_SYN_RECV && to == TCP_ESTABLISHED)
		tcp_count(CONN_ACCEPTED);
	else if (to == TCP_CLOSE && from != TCP_SYN_RECV)
		tcp_count(CONN_CLOSED);
	return 0;
}

/* --- run-queue latency: wakeup (or preemption) to running ------------------------------ */

static __always_inline void enqueued(__u32 pid)
{
	__u64 ts = bpf_ktime_get_ns();
	if (pid)
		bpf_map_update_elem(&runq_start, &pid, &ts, BPF_ANY);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(runq_wakeup, struct task_struct *p)
{
	enqueued(p->pid);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(runq_wakeup_new, struct task_struct *p)
{
	enqueued(p->pid);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(runq_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	if (prev->__state == 0 /* TASK_RUNNING: preempted, still runnable */)
		enqueued(prev->pid);
	__u32 pid = next->pid;
	__u64 *ts = bpf_map_lookup_elem(&runq_start, &pid);
	if (!ts)
		return 0;
	observe(&runq_latency, (bpf_ktime_get_ns() - *ts) / 1000);
	bpf_map_delete_elem(&runq_start, &pid);
	return 0;
}

#ifdef AGENT_BENCH
/* Only in bench/agent.js's build (-DAGENT_BENCH): each getppid() emits BENCH_BURST exec
 * events, so the agent's event path can be driven faster than exec() ever could. */
#define BENCH_BURST 1000

static long bench_emit(__u32 i, void *ctx)
{
	emit(EV_EXEC, *(__u64 *)ctx, i, 0, 0);
	return 0;
}

SEC("tp/syscalls/sys_enter_getppid")
int bench_burst(void *ctx)
{
	__u64 cgroup_id = bpf_get_current_cgroup_id();
	bpf_loop(BENCH_BURST, bench_emit, &cgroup_id, 0);
	return 0;
}
#endif
