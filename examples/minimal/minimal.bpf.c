// minimal: the smallest program worth loading. A tracepoint on write()'s entry counts
// the calls and bytes of one process in two globals that user space reads while it runs.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* Set from TypeScript before load: the process to watch. */
const volatile u32 target_pid = 0;

/* .bss globals: live memory once loaded, read from TypeScript as obj.globals.writes. */
u64 writes = 0;
u64 bytes = 0;

SEC("tp/syscalls/sys_enter_write")
int on_write(struct trace_event_raw_sys_enter *ctx)
{
	if (bpf_get_current_pid_tgid() >> 32 != target_pid)
		return 0;
	__sync_fetch_and_add(&writes, 1);
	__sync_fetch_and_add(&bytes, ctx->args[2]); // write(fd, buf, count)
	/* Also in /sys/kernel/tracing/trace_pipe: the BPF programmer's printf. */
	bpf_printk("minimal: write() of %lu bytes by pid %u", ctx->args[2], target_pid);
	return 0;
}
