/* kfwd.bpf.c - the kernel forwarding path: a tc (tcx) ingress program that
 * relays the RTP of plain calls without waking a worker. Built with clang
 * -target bpf and embedded in the daemon (relay/meson.build); loaded and fed
 * by kfwd.c.
 *
 * One map entry per offloaded stream, keyed by the local address and port a
 * party sends to. An IPv4/UDP packet to such a port, from exactly the
 * party's latched address, that looks like RTP (version 2, at least 12
 * bytes, not an RTCP payload type) is rewritten to leave from the other
 * leg's local port towards that leg's party and sent on: up the local stack
 * when the party is on this host (the daemon says so in the entry), else out
 * of the interface the routing table names, with the neighbour's MAC (the
 * kernel's route lookup for BPF needs net.ipv4.ip_forward=1 on that
 * interface; without it such packets stay with the daemon). Every other packet (no entry, a
 * stranger's source, RTCP, fragments, IP options, IPv6, a route the program
 * cannot use) goes on untouched to the next program and the daemon's socket,
 * whose packet path handles it exactly as without this program.
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
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
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

SEC("tc")
int rtpgate_kfwd(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	__u8 *rtp = (void *)(udp + 1);

	if ((void *)(rtp + 12) > end)
		return TCX_NEXT;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 || ip->protocol != IPPROTO_UDP ||
	    (ip->frag_off & bpf_htons(0x3fff)))
		return TCX_NEXT;
	struct kfwd_key k = { .addr = ip->daddr, .port = udp->dest };
	struct kfwd_val *v = bpf_map_lookup_elem(&kfwd_map, &k);
	if (!v || ip->saddr != v->src_addr || udp->source != v->src_port)
		return TCX_NEXT;
	/* RTP only; RTCP (RFC 5761 payload types 64-95 with the marker) stays
	 * with the daemon, which reads it for the call's quality */
	if ((rtp[0] >> 6) != 2 || (rtp[1] >= 192 && rtp[1] <= 223))
		return TCX_NEXT;
	/* lengths as the stack will check them (it runs after this program):
	 * a packet it would drop is not counted as relayed */
	__u32 ulen = bpf_ntohs(udp->len), tot = bpf_ntohs(ip->tot_len);
	if (ulen < sizeof(struct udphdr) + 12 || tot != sizeof(struct iphdr) + ulen ||
	    tot > skb->len - ETH_HLEN)
		return TCX_NEXT;
	/* the quality view: another SSRC, or a sequence number too far from
	 * the last, is the daemon's to judge */
	__u16 udelta = 0;
	__u32 rtp_ts = 0;
	if (v->rx_on) {
		__u32 ssrc = (__u32)rtp[8] << 24 | (__u32)rtp[9] << 16 | (__u32)rtp[10] << 8 | rtp[11];
		if (ssrc != v->ssrc)
			return TCX_NEXT;
		udelta = (__u16)(((__u16)rtp[2] << 8 | rtp[3]) - (__u16)v->ext_max);
		if (udelta >= MAX_DROPOUT && udelta <= 65536 - MAX_MISORDER)
			return TCX_NEXT;
		rtp_ts = (__u32)rtp[4] << 24 | (__u32)rtp[5] << 16 | (__u32)rtp[6] << 8 | rtp[7];
	}

	/* where it goes: decided before anything is rewritten, so a packet the
	 * program cannot send still reaches the daemon intact */
	struct bpf_fib_lookup f = {};
	long fr = BPF_FIB_LKUP_RET_NOT_FWDED;
	if (v->local)
		goto rewrite;
	f.family = AF_INET;
	f.l4_protocol = IPPROTO_UDP;
	f.sport = v->out_port;
	f.dport = v->dst_port;
	f.tot_len = bpf_ntohs(ip->tot_len);
	f.ipv4_src = v->out_addr;
	f.ipv4_dst = v->dst_addr;
	f.ifindex = skb->ingress_ifindex;
	fr = bpf_fib_lookup(skb, &f, sizeof(f), BPF_FIB_LOOKUP_OUTPUT);
	if (fr != BPF_FIB_LKUP_RET_SUCCESS)
		return TCX_NEXT;

rewrite:;

	__u32 old_s = ip->saddr, old_d = ip->daddr;
	__u16 old_sp = udp->source, old_dp = udp->dest;
	__u32 new_s = v->out_addr, new_d = v->dst_addr;
	__u16 new_sp = v->out_port, new_dp = v->dst_port;
	__u64 len = ulen - sizeof(struct udphdr);
	__u64 now = bpf_ktime_get_ns();
	__sync_fetch_and_add(&v->pkts, 1);
	__sync_fetch_and_add(&v->bytes, len);
	v->last_ns = now;
	if (v->rx_on) {
		/* A.1: ahead by less than MAX_DROPOUT moves the highest number
		 * on (across a wrap too); late or repeated ones only count */
		if (udelta < MAX_DROPOUT)
			v->ext_max += udelta;
		v->received++;
		/* A.8, in timestamp units, as rtcp.c computes it */
		__u64 d = now - v->arrival_base_ns;
		__u32 arrival = (__u32)((d / 1000000000ull) * v->clock_rate +
					(d % 1000000000ull) * v->clock_rate / 1000000000ull);
		__u32 transit = arrival - rtp_ts;
		if (v->have_transit) {
			__s32 dt = (__s32)(transit - v->transit);
			__u32 ad = dt < 0 ? (__u32)-dt : (__u32)dt;
			v->jitter_q4 += ad - ((v->jitter_q4 + 8) >> 4);
		}
		v->transit = transit;
		v->have_transit = 1;
	}

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

	if (fr == BPF_FIB_LKUP_RET_NOT_FWDED)
		return TCX_PASS;   /* up the local stack, to the party's socket */
	bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_dest), f.dmac, ETH_ALEN, 0);
	bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_source), f.smac, ETH_ALEN, 0);
	return bpf_redirect(f.ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
