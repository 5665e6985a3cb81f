// sockfilter: a socket filter on a UDP socket. It runs on every datagram before the
// socket queues it: it reports the datagram's addresses and ports, and drops those from
// one source port (returning 0 drops; returning the length keeps the whole datagram).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <node_libbpf/ringbuf.h>

char LICENSE[] SEC("license") = "GPL";

struct packet {
	u32 saddr; // IPv4 addresses and ports, in host byte order
	u32 daddr;
	u16 sport;
	u16 dport;
	u32 len;   // the UDP payload's length
	bool dropped;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");
NLB_EVENT_TYPE(events, struct packet);

/* Set from TypeScript before load: drop datagrams from this source port (0: none). */
const volatile u16 drop_port = 0;

SEC("socket")
int filter(struct __sk_buff *skb)
{
	struct iphdr ip;
	struct udphdr udp;
	struct packet *p;
	bool drop;

	/* On a UDP socket the data starts at the UDP header; the IP header is before it. */
	if (bpf_skb_load_bytes_relative(skb, 0, &ip, sizeof(ip), BPF_HDR_START_NET) ||
	    bpf_skb_load_bytes(skb, 0, &udp, sizeof(udp)))
		return skb->len; // not IPv4 UDP as expected: keep it, unreported
	drop = drop_port && udp.source == bpf_htons(drop_port);
	p = bpf_ringbuf_reserve(&events, sizeof(*p), 0);
	if (p) {
		p->saddr = bpf_ntohl(ip.saddr);
		p->daddr = bpf_ntohl(ip.daddr);
		p->sport = bpf_ntohs(udp.source);
		p->dport = bpf_ntohs(udp.dest);
		p->len = skb->len - sizeof(udp);
		p->dropped = drop;
		bpf_ringbuf_submit(p, 0);
	}
	return drop ? 0 : skb->len;
}
