/* kfwd_map.h - the kernel forwarding map's key and value, shared by the
 * program (kfwd.bpf.c) and the daemon (kfwd.c). Addresses and ports are in
 * network byte order; an address is an IPv6 one, IPv4 as ::ffff:a.b.c.d
 * (RFC 4291 2.5.5.2). */
#ifndef RG_KFWD_MAP_H
#define RG_KFWD_MAP_H

#include <linux/types.h>

/* where a party sends to: a local address and port of rtpgate */
struct kfwd_key {
	__u32 addr[4];
	__u16 port;
	__u16 pad;
};

struct kfwd_val {
	/* set by the daemon */
	__u32 src_addr[4];      /* the party's latched address: only it is relayed */
	__u32 out_addr[4];      /* rtpgate's address on the other leg: the new source */
	__u32 dst_addr[4];      /* the other leg's party: the new destination */
	__u16 src_port;
	__u16 out_port;
	__u16 dst_port;
	__u8 local;             /* the party is on this host: no route lookup */
	__u8 pad;
	/* counted by the program */
	__u64 pkts, bytes;      /* bytes: UDP payload, as the daemon counts them */
	__u64 last_ns;          /* CLOCK_MONOTONIC of the last packet relayed */
	/* the party's RTP as the worker's quality view saw it when the entry
	 * was made (quality.h), carried on by the program; rx_on 0: none */
	__u64 arrival_base_ns;  /* origin of the arrival clock */
	__u32 ssrc;             /* other SSRCs go to the daemon */
	__u32 clock_rate;       /* of the RTP timestamps */
	__u32 base_seq;         /* the daemon's, to match a harvest to its view */
	__u32 ext_max;          /* highest extended sequence number */
	__u32 received;         /* counted by the program since the entry began */
	__u32 transit;          /* last arrival - timestamp, in clock units */
	__u32 jitter_q4;        /* RFC 3550 A.8 interarrival jitter x 16 */
	__u8 rx_on, have_transit;
	__u8 pad2[2];
};

#endif
