/* SPDX-License-Identifier: MIT */
/*
 * node-libbpf: declare the record type of a ring buffer (or perf event array).
 *
 * BTF ties a map's key and value types to the map, and a global's type to the global,
 * but nothing ties a ring buffer to the records a program writes into it: clang even
 * leaves out types only used by local variables. Name the record type of each ring
 * with NLB_EVENT_TYPE, the one macro for it:
 *
 *   #include <node_libbpf/types.h>
 *
 *   struct {
 *           __uint(type, BPF_MAP_TYPE_RINGBUF);
 *           __uint(max_entries, 256 * 1024);
 *   } events SEC(".maps");
 *   NLB_EVENT_TYPE(events, struct event);
 *
 * The type is then in the object's BTF, where RingBuffer/PerfBuffer's
 * { type: 'struct event' } finds it even in an object built without -g, and
 * `node-libbpf gen` types the wrapper's `events.events(callback)` with struct event and
 * decodes records with generated code. It declares one unused global pointer (in .bss),
 * named __nlb_event_<ring>, which the generated Globals leave out.
 *
 * NLB_RINGBUF_TYPE(type) (<node_libbpf/ringbuf.h>) is an older alias that keeps the type
 * without naming its ring; `gen` ties it to the ring only when the object has one ring.
 * Without either macro, an object built with -g (and not stripped) still has the type in
 * its DWARF, which RingBuffer and `gen --type` read.
 */
#ifndef __NODE_LIBBPF_TYPES_H
#define __NODE_LIBBPF_TYPES_H

#define NLB_EVENT_TYPE(ring, type) type *__nlb_event_##ring __attribute__((unused))

#endif /* __NODE_LIBBPF_TYPES_H */
