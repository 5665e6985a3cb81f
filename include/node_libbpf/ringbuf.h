/* SPDX-License-Identifier: MIT */
/*
 * node-libbpf: BPF-side helpers for ring buffers read with RingBuffer in Node.js.
 *
 * A full ring makes bpf_ringbuf_reserve() fail and the event is lost without a trace.
 * Reserve through these macros instead and every failure is counted, per CPU, in a
 * map named <ring>_drops, which RingBuffer.stats().dropped in Node.js sums:
 *
 *   #include <node_libbpf/ringbuf.h>
 *
 *   struct {
 *           __uint(type, BPF_MAP_TYPE_RINGBUF);
 *           __uint(max_entries, 256 * 1024);
 *   } events SEC(".maps");
 *   NLB_RINGBUF_DROPS(events);
 *   NLB_EVENT_TYPE(events, struct event);  // so RingBuffer and gen decode it by name
 *
 *   struct event *e = nlb_ringbuf_reserve(events, sizeof(*e), 0);
 *   if (!e)
 *           return 0;          // counted in events_drops
 *
 * The macros take the ring's name, not its address, to find its counter.
 * Include after <bpf/bpf_helpers.h>.
 */
#ifndef __NODE_LIBBPF_RINGBUF_H
#define __NODE_LIBBPF_RINGBUF_H

/* Declares <ring>_drops: a per-CPU u64 counter of failed reservations/outputs. */
#define NLB_RINGBUF_DROPS(ring)                                        \
	struct {                                                        \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);                \
		__uint(max_entries, 1);                                 \
		__type(key, __u32);                                     \
		__type(value, __u64);                                   \
	} ring##_drops SEC(".maps")

/*
 * NLB_EVENT_TYPE(ring, type) from <node_libbpf/types.h> (included here) declares a ring's
 * record type. NLB_RINGBUF_TYPE(type) is its older alias: it keeps the type in the
 * object's BTF without naming the ring (an unused global pointer in .bss).
 *
 *   NLB_RINGBUF_TYPE(struct event);
 */
#include "types.h"
#define NLB__CAT2(a, b) a##b
#define NLB__CAT(a, b) NLB__CAT2(a, b)
#define NLB_RINGBUF_TYPE(type) \
	type *NLB__CAT(__nlb_record_type_, __COUNTER__) __attribute__((unused))

static __always_inline void nlb__ringbuf_count_drop(void *drops)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(drops, &zero);

	/* Atomic even though per-CPU: a program may interrupt another on the same CPU. */
	if (n)
		__sync_fetch_and_add(n, 1);
}

/* bpf_ringbuf_reserve(&ring, size, flags), counting a NULL return in <ring>_drops. */
#define nlb_ringbuf_reserve(ring, size, flags)                          \
	({                                                              \
		void *__nlb_rec = bpf_ringbuf_reserve(&(ring), (size), (flags)); \
		if (!__nlb_rec)                                         \
			nlb__ringbuf_count_drop(&ring##_drops);         \
		__nlb_rec;                                              \
	})

/* bpf_ringbuf_output(&ring, data, size, flags), counting a failure in <ring>_drops. */
#define nlb_ringbuf_output(ring, data, size, flags)                     \
	({                                                              \
		long __nlb_err = bpf_ringbuf_output(&(ring), (data), (size), (flags)); \
		if (__nlb_err)                                          \
			nlb__ringbuf_count_drop(&ring##_drops);         \
		__nlb_err;                                              \
	})

#endif /* __NODE_LIBBPF_RINGBUF_H */
