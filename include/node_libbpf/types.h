/* SPDX-License-Identifier: MIT */
/*
 * node-libbpf: keep types in the object's BTF for `node-libbpf gen`.
 *
 * BTF ties a map's key and value types to the map, and a global's type to the global,
 * but nothing ties a ring buffer to the records a program writes into it: clang even
 * leaves out types only used by local variables. Name the record type of each ring:
 *
 *   #include <node_libbpf/types.h>
 *
 *   struct {
 *           __uint(type, BPF_MAP_TYPE_RINGBUF);
 *           __uint(max_entries, 256 * 1024);
 *   } events SEC(".maps");
 *   NLB_EVENT_TYPE(events, struct event);
 *
 * `node-libbpf gen` then types the wrapper's `events.events(callback)` with struct event
 * and decodes records with generated code. It declares one unused global pointer (in
 * .bss), named __nlb_event_<ring>, which the generated Globals leave out.
 */
#ifndef __NODE_LIBBPF_TYPES_H
#define __NODE_LIBBPF_TYPES_H

#define NLB_EVENT_TYPE(ring, type) type *__nlb_event_##ring __attribute__((unused))

#endif /* __NODE_LIBBPF_TYPES_H */
