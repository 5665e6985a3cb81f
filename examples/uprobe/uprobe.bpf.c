// malloc() sizes as a log2 histogram: a uprobe on libc's malloc, attached for one process.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

#define BUCKETS 64

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BUCKETS);
	__type(key, u32);
	__type(value, u64);
} sizes SEC(".maps");

static __always_inline u32 log2l(u64 v)
{
	u32 r = 0;
	for (int i = 0; i < BUCKETS && v > 1; i++) {
		v >>= 1;
		r++;
	}
	return r;
}

// Bucket b counts sizes in [2^b, 2^(b+1)); bucket 0 also counts malloc(0).
SEC("uprobe")
int BPF_UPROBE(on_malloc, size_t size)
{
	u32 bucket = log2l(size);
	u64 *n = bpf_map_lookup_elem(&sizes, &bucket);
	if (n)
		__sync_fetch_and_add(n, 1);
	return 0;
}
