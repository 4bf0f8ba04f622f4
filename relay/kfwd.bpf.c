/* kfwd.bpf.c - the kernel forwarding path: a tc (tcx) ingress program that
 * relays the RTP of plain calls without waking a worker. Built with clang
 * -target bpf and embedded in the daemon (relay/meson.build); loaded and fed
 * by kfwd.c.
 *
 * One map entry per offloaded stream, keyed by the local address and port a
 * party sends to. An IPv4 or IPv6 UDP packet to such a port, from exactly the
 * party's latched address, that looks like RTP (version 2, at least 12
 * bytes, not an RTCP payload type) is rewritten to leave from the other
 * leg's local port towards that leg's party and sent on: up the local stack
 * when the party is on this host (the daemon says so in the entry), else out
 * of the interface the routing table names, with the neighbour's MAC (the
 * kernel's route lookup for BPF needs net.ipv4.ip_forward=1, or
 * net.ipv6.conf.all.forwarding=1, on that interface; without it such packets
 * stay with the daemon). Every other packet (no entry, a stranger's source,
 * RTCP, fragments, IPv4 options, IPv6 extension headers, a route the
 * program cannot use) goes on untouched to the next program and the
 * daemon's socket, whose packet path handles it exactly as without this
 * program. Both legs of an offloaded direction are of one family: the
 * daemon makes no entry that would turn IPv4 into IPv6 or back.
 *
 * The entry counts packets and bytes and stamps the last one, and carries
 * on the worker's quality view of the party's RTP (RFC 3550 A.1 sequence
 * numbers, A.8 jitter) from where the worker left it; the worker reads
 * them once a second into the stream's counters and quality. Packets of
 * another SSRC, and a jump in the sequence numbers (A.1's MAX_DROPOUT),
 * go to the daemon, whose rules start a new view; it then makes the entry
 * again from there. Two CPUs relaying the same stream at once could
 * disturb these figures (not the counts); one flow's packets normally
 * come in on one CPU. The attachment is a
 * tcx link held by the daemon: it goes away with the daemon, crash or not.
 */
#include <stdbool.h>

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "kfwd_map.h"

/* tcx verdicts (linux/bpf.h of 6.6+; Debian 12's headers predate them) */
#define TCX_NEXT (-1)
#define TCX_PASS 0
#define TCX_REDIRECT 7

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);     /* kfwd.c sets it from the port range */
	__type(key, struct kfwd_key);
	__type(value, struct kfwd_val);
} kfwd_map SEC(".maps");

/* RFC 3550 A.1 */
#define MAX_DROPOUT 3000
#define MAX_MISORDER 100

#define IP_OFF ETH_HLEN
#define UDP_OFF (ETH_HLEN + sizeof(struct iphdr))
#define IP_CSUM_OFF (IP_OFF + offsetof(struct iphdr, check))
#define UDP_CSUM_OFF (UDP_OFF + offsetof(struct udphdr, check))
#define UDP6_OFF (ETH_HLEN + sizeof(struct ipv6hdr))
#define UDP6_CSUM_OFF (UDP6_OFF + offsetof(struct udphdr, check))

/* What the packet does to the entry's quality view, decided before
 * anything changes. */
struct rx_step {
	__u16 udelta;
	__u32 ts;
};

/* RTP only, and only what the view can take: false sends the packet on to
 * the daemon. RTCP (RFC 5761 payload types 64-95 with the marker) stays
 * with the daemon, which reads it for the call's quality. */
static __always_inline bool rtp_ok(const struct kfwd_val *v, const __u8 *rtp, struct rx_step *st)
{
	if ((rtp[0] >> 6) != 2 || (rtp[1] >= 192 && rtp[1] <= 223))
		return false;
	if (!v->rx_on)
		return true;
	/* another SSRC, or a sequence number too far from the last, is the
	 * daemon's to judge */
	__u32 ssrc = (__u32)rtp[8] << 24 | (__u32)rtp[9] << 16 | (__u32)rtp[10] << 8 | rtp[11];
	if (ssrc != v->ssrc)
		return false;
	st->udelta = (__u16)(((__u16)rtp[2] << 8 | rtp[3]) - (__u16)v->ext_max);
	if (st->udelta >= MAX_DROPOUT && st->udelta <= 65536 - MAX_MISORDER)
		return false;
	st->ts = (__u32)rtp[4] << 24 | (__u32)rtp[5] << 16 | (__u32)rtp[6] << 8 | rtp[7];
	return true;
}

/* Counts a packet that is relayed. */
static __always_inline void count(struct kfwd_val *v, const struct rx_step *st, __u64 len)
{
	__u64 now = bpf_ktime_get_ns();
	__sync_fetch_and_add(&v->pkts, 1);
	__sync_fetch_and_add(&v->bytes, len);
	v->last_ns = now;
	if (!v->rx_on)
		return;
	/* A.1: ahead by less than MAX_DROPOUT moves the highest number on
	 * (across a wrap too); late or repeated ones only count */
	if (st->udelta < MAX_DROPOUT)
		v->ext_max += st->udelta;
	v->received++;
	/* A.8, in timestamp units, as rtcp.c computes it */
	__u64 d = now - v->arrival_base_ns;
	__u32 arrival = (__u32)((d / 1000000000ull) * v->clock_rate +
				(d % 1000000000ull) * v->clock_rate / 1000000000ull);
	__u32 transit = arrival - st->ts;
	if (v->have_transit) {
		__s32 dt = (__s32)(transit - v->transit);
		__u32 ad = dt < 0 ? (__u32)-dt : (__u32)dt;
		v->jitter_q4 += ad - ((v->jitter_q4 + 8) >> 4);
	}
	v->transit = transit;
	v->have_transit = 1;
}

/* The entry a packet to k from src:sport may use, or NULL (the packet is
 * the daemon's). src in kfwd_map.h's form. */
static __always_inline struct kfwd_val *entry_for(const struct kfwd_key *k, const __u32 *src,
						  __u16 sport, const __u8 *rtp, struct rx_step *st)
{
	struct kfwd_val *v = bpf_map_lookup_elem(&kfwd_map, k);
	if (!v || src[0] != v->src_addr[0] || src[1] != v->src_addr[1] ||
	    src[2] != v->src_addr[2] || src[3] != v->src_addr[3] || sport != v->src_port)
		return NULL;
	return rtp_ok(v, rtp, st) ? v : NULL;
}

/* Where the packet goes, decided before anything is rewritten, so a packet
 * the program cannot send still reaches the daemon intact: false if it
 * cannot. *fr: NOT_FWDED for a party on this host, else the route. */
static __always_inline bool route(struct __sk_buff *skb, const struct kfwd_val *v, __u8 family,
				  __u16 tot_len, struct bpf_fib_lookup *f, long *fr)
{
	*fr = BPF_FIB_LKUP_RET_NOT_FWDED;
	if (v->local)
		return true;
	f->family = family;
	f->l4_protocol = IPPROTO_UDP;
	f->sport = v->out_port;
	f->dport = v->dst_port;
	f->tot_len = tot_len;
	f->ifindex = skb->ingress_ifindex;
	if (family == AF_INET) {
		f->ipv4_src = v->out_addr[3];
		f->ipv4_dst = v->dst_addr[3];
	} else {
		__builtin_memcpy(f->ipv6_src, v->out_addr, sizeof(f->ipv6_src));
		__builtin_memcpy(f->ipv6_dst, v->dst_addr, sizeof(f->ipv6_dst));
	}
	*fr = bpf_fib_lookup(skb, f, sizeof(*f), BPF_FIB_LOOKUP_OUTPUT);
	return *fr == BPF_FIB_LKUP_RET_SUCCESS;
}

/* Off to the party: up the stack (fr NOT_FWDED) or out of f's interface. */
static __always_inline int send_on(struct __sk_buff *skb, long fr, struct bpf_fib_lookup *f)
{
	if (fr == BPF_FIB_LKUP_RET_NOT_FWDED)
		return TCX_PASS;   /* up the local stack, to the party's socket */
	bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_dest), f->dmac, ETH_ALEN, 0);
	bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_source), f->smac, ETH_ALEN, 0);
	return bpf_redirect(f->ifindex, 0);
}

static __always_inline int relay4(struct __sk_buff *skb, void *data, void *end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	__u8 *rtp = (void *)(udp + 1);

	if ((void *)(rtp + 12) > end)
		return TCX_NEXT;
	if (ip->ihl != 5 || ip->protocol != IPPROTO_UDP || (ip->frag_off & bpf_htons(0x3fff)))
		return TCX_NEXT;
	struct kfwd_key k = { .addr = { 0, 0, bpf_htonl(0xffff), ip->daddr }, .port = udp->dest };
	__u32 src[4] = { 0, 0, bpf_htonl(0xffff), ip->saddr };
	struct rx_step st = {};
	struct kfwd_val *v = entry_for(&k, src, udp->source, rtp, &st);
	if (!v)
		return TCX_NEXT;
	/* lengths as the stack will check them (it runs after this program):
	 * a packet it would drop is not counted as relayed */
	__u32 ulen = bpf_ntohs(udp->len), tot = bpf_ntohs(ip->tot_len);
	if (ulen < sizeof(struct udphdr) + 12 || tot != sizeof(struct iphdr) + ulen ||
	    tot > skb->len - ETH_HLEN)
		return TCX_NEXT;

	struct bpf_fib_lookup f = {};
	long fr;
	if (!route(skb, v, AF_INET, (__u16)tot, &f, &fr))
		return TCX_NEXT;

	__u32 old_s = ip->saddr, old_d = ip->daddr;
	__u16 old_sp = udp->source, old_dp = udp->dest;
	__u32 new_s = v->out_addr[3], new_d = v->dst_addr[3];
	__u16 new_sp = v->out_port, new_dp = v->dst_port;
	count(v, &st, ulen - sizeof(struct udphdr));

	/* UDP checksum: the addresses are in its pseudo-header; a zero (no
	 * checksum) stays zero */
	bpf_l4_csum_replace(skb, UDP_CSUM_OFF, old_s, new_s,
			    BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | sizeof(new_s));
	bpf_l4_csum_replace(skb, UDP_CSUM_OFF, old_d, new_d,
			    BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | sizeof(new_d));
	bpf_l4_csum_replace(skb, UDP_CSUM_OFF, old_sp, new_sp, BPF_F_MARK_MANGLED_0 | sizeof(new_sp));
	bpf_l4_csum_replace(skb, UDP_CSUM_OFF, old_dp, new_dp, BPF_F_MARK_MANGLED_0 | sizeof(new_dp));
	bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_s, new_s, sizeof(new_s));
	bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_d, new_d, sizeof(new_d));
	bpf_skb_store_bytes(skb, IP_OFF + offsetof(struct iphdr, saddr), &new_s, sizeof(new_s), 0);
	bpf_skb_store_bytes(skb, IP_OFF + offsetof(struct iphdr, daddr), &new_d, sizeof(new_d), 0);
	bpf_skb_store_bytes(skb, UDP_OFF + offsetof(struct udphdr, source), &new_sp, sizeof(new_sp), 0);
	bpf_skb_store_bytes(skb, UDP_OFF + offsetof(struct udphdr, dest), &new_dp, sizeof(new_dp),
			    BPF_F_INVALIDATE_HASH);
	return send_on(skb, fr, &f);
}

static __always_inline int relay6(struct __sk_buff *skb, void *data, void *end)
{
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip6 + 1);
	__u8 *rtp = (void *)(udp + 1);

	if ((void *)(rtp + 12) > end)
		return TCX_NEXT;
	if (ip6->nexthdr != IPPROTO_UDP)   /* extension headers: the daemon's */
		return TCX_NEXT;
	struct kfwd_key k = { .port = udp->dest };
	__builtin_memcpy(k.addr, &ip6->daddr, sizeof(k.addr));
	struct rx_step st = {};
	struct kfwd_val *v = entry_for(&k, ip6->saddr.in6_u.u6_addr32, udp->source, rtp, &st);
	if (!v)
		return TCX_NEXT;
	__u32 ulen = bpf_ntohs(udp->len), plen = bpf_ntohs(ip6->payload_len);
	if (ulen < sizeof(struct udphdr) + 12 || plen != ulen ||
	    sizeof(struct ipv6hdr) + plen > skb->len - ETH_HLEN || !udp->check)
		return TCX_NEXT;   /* a zero checksum is not valid over IPv6 */

	struct bpf_fib_lookup f = {};
	long fr;
	if (!route(skb, v, AF_INET6, (__u16)(sizeof(struct ipv6hdr) + plen), &f, &fr))
		return TCX_NEXT;

	/* the addresses, old and new, as the pseudo-header holds them */
	__u32 old_a[8], new_a[8];
	__builtin_memcpy(old_a, &ip6->saddr, 16);
	__builtin_memcpy(old_a + 4, &ip6->daddr, 16);
	__builtin_memcpy(new_a, v->out_addr, 16);
	__builtin_memcpy(new_a + 4, v->dst_addr, 16);
	__u16 old_sp = udp->source, old_dp = udp->dest;
	__u16 new_sp = v->out_port, new_dp = v->dst_port;
	count(v, &st, ulen - sizeof(struct udphdr));

	__s64 diff = bpf_csum_diff(old_a, sizeof(old_a), new_a, sizeof(new_a), 0);
	bpf_l4_csum_replace(skb, UDP6_CSUM_OFF, 0, (__u64)diff, BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0);
	bpf_l4_csum_replace(skb, UDP6_CSUM_OFF, old_sp, new_sp, BPF_F_MARK_MANGLED_0 | sizeof(new_sp));
	bpf_l4_csum_replace(skb, UDP6_CSUM_OFF, old_dp, new_dp, BPF_F_MARK_MANGLED_0 | sizeof(new_dp));
	bpf_skb_store_bytes(skb, ETH_HLEN + offsetof(struct ipv6hdr, saddr), new_a, 32, 0);
	bpf_skb_store_bytes(skb, UDP6_OFF + offsetof(struct udphdr, source), &new_sp, sizeof(new_sp), 0);
	bpf_skb_store_bytes(skb, UDP6_OFF + offsetof(struct udphdr, dest), &new_dp, sizeof(new_dp),
			    BPF_F_INVALIDATE_HASH);
	return send_on(skb, fr, &f);
}

SEC("tc")
int rtpgate_kfwd(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return TCX_NEXT;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return relay4(skb, data, end);
	if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		return relay6(skb, data, end);
	return TCX_NEXT;
}

char LICENSE[] SEC("license") = "GPL";
