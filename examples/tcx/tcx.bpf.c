// tcx: packets and bytes per protocol and direction on one interface, counted by two tc
// programs attached as tcx links (kernel 6.6+; node-libbpf falls back to classic tc).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_ICMPV6 58

enum l4_kind { PROTO_TCP, PROTO_UDP, PROTO_ICMP, PROTO_OTHER, NPROTO };
enum direction { DIR_INGRESS, DIR_EGRESS };

struct counter {
	u64 packets;
	u64 bytes;
};

// Index: direction * NPROTO + proto.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * NPROTO);
	__type(key, u32);
	__type(value, struct counter);
} stats SEC(".maps");

static __always_inline enum l4_kind classify(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	u8 l4;

	if ((void *)(eth + 1) > end)
		return PROTO_OTHER;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > end)
			return PROTO_OTHER;
		l4 = ip->protocol;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > end)
			return PROTO_OTHER;
		l4 = ip6->nexthdr; // extension headers count as "other"
	} else {
		return PROTO_OTHER;
	}
	switch (l4) {
	case IPPROTO_TCP: return PROTO_TCP;
	case IPPROTO_UDP: return PROTO_UDP;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: return PROTO_ICMP;
	default: return PROTO_OTHER;
	}
}

static __always_inline int count(struct __sk_buff *skb, enum direction dir)
{
	u32 key = dir * NPROTO + classify(skb);
	struct counter *c = bpf_map_lookup_elem(&stats, &key);
	if (c) {
		__sync_fetch_and_add(&c->packets, 1);
		__sync_fetch_and_add(&c->bytes, skb->len);
	}
	return TCX_NEXT; // let the next program (or the stack) decide
}

SEC("tcx/ingress")
int count_ingress(struct __sk_buff *skb) { return count(skb, DIR_INGRESS); }

SEC("tcx/egress")
int count_egress(struct __sk_buff *skb) { return count(skb, DIR_EGRESS); }
