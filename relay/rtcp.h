/* rtcp.h - RTCP compound packets (RFC 3550, RFC 4585 feedback), report
 * builders, NTP/RTT helpers and per-stream receive statistics.
 *
 * Everything here works on caller-owned memory: no allocation, no I/O, no
 * globals; any thread may call any function, and a struct rtcp_rxstats is
 * owned by the one thread (the worker) that feeds it.
 *
 * Walking: rtcp_iter_next() hands out one sub-packet at a time after checking
 * its header and its type-specific structure (SR/RR report counts, SDES chunk
 * list, BYE list, APP and feedback minimum sizes) against the length field.
 * rtcp_validate() walks the whole compound packet and applies the RFC 3550
 * A.2 rules (first packet SR or RR -- or a feedback packet, for reduced-size
 * RTCP, RFC 5506 -- and padding only on the last one).
 * Errors are negative errno values:
 *   -EMSGSIZE         a length field points past the end, or a packet is too
 *                     short for what its header announces
 *   -EPROTONOSUPPORT  version is not 2
 *   -EBADMSG          bad padding, bad SDES item list, bad first packet
 *   -ENOBUFS          (builders) caller buffer too small; nothing written
 *   -ENOENT           (lookups) no such item
 */
#ifndef RG_RTCP_H
#define RG_RTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rtcp_type {
	RTCP_SR = 200,
	RTCP_RR = 201,
	RTCP_SDES = 202,
	RTCP_BYE = 203,
	RTCP_APP = 204,
	RTCP_RTPFB = 205,
	RTCP_PSFB = 206,
	RTCP_XR = 207,
};

enum { RTCP_SDES_END = 0, RTCP_SDES_CNAME = 1 };

#define RTCP_HEADER_LEN 4
#define RTCP_REPORT_BLOCK_LEN 24
#define RTCP_MAX_BLOCKS 31

/* One sub-packet of a compound packet; pointers into the caller's buffer. */
struct rtcp_pkt {
	uint8_t type;           /* packet type (200..) */
	uint8_t count;          /* the 5-bit RC/SC/FMT/subtype field */
	bool padding;
	const uint8_t *data;    /* the whole sub-packet, header included */
	size_t len;             /* (length field + 1) * 4 */
	size_t body_len;        /* len minus header and padding */
	uint32_t ssrc;          /* first 32-bit word after the header, if any */
};

struct rtcp_iter {
	const uint8_t *buf;
	size_t len;
	size_t off;
};

void rtcp_iter_init(struct rtcp_iter *it, const uint8_t *pkt, size_t len);
/* Returns 1 and fills *p, 0 at the end, or a negative errno (the walk must
 * stop: the rest of the packet is not trustworthy). */
int rtcp_iter_next(struct rtcp_iter *it, struct rtcp_pkt *p);
/* Walks the whole compound packet; returns the number of sub-packets or a
 * negative errno. */
int rtcp_validate(const uint8_t *pkt, size_t len);
const char *rtcp_strerror(int err);

/* --- decoding one sub-packet (all assume it came from rtcp_iter_next) --- */

struct rtcp_report_block {
	uint32_t ssrc;            /* source this block reports on */
	uint8_t fraction_lost;    /* fixed point, /256 */
	int32_t cumulative_lost;  /* 24-bit signed */
	uint32_t ext_highest_seq;
	uint32_t jitter;          /* RTP timestamp units */
	uint32_t lsr;             /* middle 32 bits of the last SR's NTP time */
	uint32_t dlsr;            /* delay since last SR, 1/65536 s */
};

struct rtcp_sender_info {
	uint64_t ntp;             /* 32.32 fixed point NTP time */
	uint32_t rtp_ts;
	uint32_t packet_count;
	uint32_t octet_count;
};

/* SR: sender info. Returns 0 or -EINVAL when p is not an SR. */
int rtcp_sr_info(const struct rtcp_pkt *p, struct rtcp_sender_info *si);
/* SR or RR: report block i (0 <= i < p->count). 0, -EINVAL or -ENOENT. */
int rtcp_report_block(const struct rtcp_pkt *p, unsigned i, struct rtcp_report_block *rb);
/* SDES: the CNAME of the first chunk that has one. *cname points into the
 * packet and is not NUL-terminated. 0, -EINVAL or -ENOENT. */
int rtcp_sdes_cname(const struct rtcp_pkt *p, uint32_t *ssrc,
		    const char **cname, size_t *cname_len);
/* BYE: i-th SSRC (i < p->count) and the optional reason. */
int rtcp_bye_ssrc(const struct rtcp_pkt *p, unsigned i, uint32_t *ssrc);
int rtcp_bye_reason(const struct rtcp_pkt *p, const char **reason, size_t *len);
/* APP: name (4 chars, not NUL-terminated) and application data. */
int rtcp_app(const struct rtcp_pkt *p, const char **name,
	     const uint8_t **data, size_t *len);
/* RTPFB/PSFB: media source SSRC and the feedback control information; the
 * relay passes these through (rewriting SSRCs if it must). */
int rtcp_fb(const struct rtcp_pkt *p, uint32_t *media_ssrc,
	    const uint8_t **fci, size_t *fci_len);

/* --- building (for legs where the relay terminates RTCP) --- */

/* Each returns the bytes written or -ENOBUFS / -EINVAL (nblocks > 31,
 * cname longer than 255). Build a compound packet by appending:
 *     n = rtcp_build_sr(buf, cap, ...); n += rtcp_build_sdes_cname(buf + n, cap - n, ...);
 * (check each return for < 0 first). */
int rtcp_build_sr(uint8_t *buf, size_t cap, uint32_t ssrc,
		  const struct rtcp_sender_info *si,
		  const struct rtcp_report_block *rb, unsigned nblocks);
int rtcp_build_rr(uint8_t *buf, size_t cap, uint32_t ssrc,
		  const struct rtcp_report_block *rb, unsigned nblocks);
int rtcp_build_sdes_cname(uint8_t *buf, size_t cap, uint32_t ssrc,
			  const char *cname, size_t cname_len);
int rtcp_build_bye(uint8_t *buf, size_t cap, uint32_t ssrc);

/* In-place rewrite of the sender SSRC of one sub-packet (SR, RR, the first
 * SDES chunk, the first BYE SSRC, APP, RTPFB/PSFB sender): bytes 4..7.
 * `sub` is the writable copy of rtcp_pkt.data. 0 or -EMSGSIZE (len < 8). */
int rtcp_set_ssrc(uint8_t *sub, size_t len, uint32_t ssrc);

/* --- time --- */

/* NTP time (seconds since 1900 in 32.32 fixed point) from Unix time in
 * nanoseconds, and back. */
uint64_t rtcp_ntp_from_unix_ns(uint64_t unix_ns);
uint64_t rtcp_ntp_to_unix_ns(uint64_t ntp);
/* The middle 32 bits of an NTP time, as used in LSR. */
static inline uint32_t rtcp_ntp_mid32(uint64_t ntp) { return (uint32_t)(ntp >> 16); }
/* Round-trip time from a report block received at NTP middle-32 time `now`:
 * now - LSR - DLSR, in 1/65536 s. Returns 0 and sets *rtt, -ENOENT when LSR
 * is 0 (no SR received yet), or -ERANGE when the result would be negative
 * (clock skew or a forged block). */
int rtcp_rtt(uint32_t now_mid32, uint32_t lsr, uint32_t dlsr, uint32_t *rtt);
/* DLSR for a report block: the delay from receiving the SR (whose LSR is
 * reported) to now, both on one monotonic ns clock, in 1/65536 s; 0 when
 * now is not after the arrival, saturating at 0xffffffff. */
uint32_t rtcp_dlsr(uint64_t sr_arrival_ns, uint64_t now_ns);
/* Converts 1/65536 s units to microseconds. */
static inline uint64_t rtcp_q16_to_us(uint32_t q16) { return ((uint64_t)q16 * 1000000u) >> 16; }
static inline uint32_t rtcp_us_to_q16(uint64_t us) { return (uint32_t)((us << 16) / 1000000u); }

/* --- receive statistics (RFC 3550 A.1, A.3, A.8) --- */

struct rtcp_rxstats {
	uint32_t ssrc;
	uint32_t clock_rate;      /* Hz of the RTP timestamps */
	uint16_t max_seq;         /* highest seq seen */
	uint32_t cycles;          /* seq wraps, shifted left by 16 */
	uint32_t base_seq;
	uint32_t bad_seq;         /* last "bad" seq + 1 */
	uint32_t probation;       /* packets still needed to validate */
	uint32_t received;        /* packets counted */
	uint32_t expected_prior;  /* at the last report */
	uint32_t received_prior;
	uint64_t arrival_base_ns; /* first arrival; arrival clock origin */
	uint32_t transit;         /* last (arrival - rtp_ts) */
	uint32_t jitter_q4;       /* jitter * 16 (A.8) */
	bool have_transit;
	bool started;
};

/* min_sequential: packets in sequence needed before a new source counts
 * (RFC 3550 uses 2; a relay that has authenticated the source may use 0). */
void rtcp_rxstats_init(struct rtcp_rxstats *s, uint32_t ssrc, uint32_t clock_rate,
		       unsigned min_sequential);
/* Per received packet. arrival_ns is any monotonic clock in ns. Returns 1 if
 * the packet was counted, 0 if it was held back (probation, or a large jump
 * not yet confirmed), never fails. */
int rtcp_rxstats_update(struct rtcp_rxstats *s, uint16_t seq, uint32_t rtp_ts,
			uint64_t arrival_ns);
uint32_t rtcp_rxstats_ext_max(const struct rtcp_rxstats *s);
/* Whether seq is more than MAX_DROPOUT ahead of the highest number seen
 * (and not a late packet): a jump, which update() believes only if the
 * next packet follows it. */
bool rtcp_rxstats_jumps(const struct rtcp_rxstats *s, uint16_t seq);
/* Adds what another counter carried on from this view saw (kernel
 * forwarding): received more packets, its highest extended sequence
 * number (a lower one is kept), its last transit and jitter. */
void rtcp_rxstats_merge(struct rtcp_rxstats *s, uint32_t ext_max, uint32_t received,
			uint32_t transit, uint32_t jitter_q4);
/* s as a started view past probation that has counted received packets
 * from base_seq up to ext_max: a view rebuilt from its published parts,
 * with no transit or jitter yet. */
void rtcp_rxstats_resume(struct rtcp_rxstats *s, uint32_t ssrc, uint32_t clock_rate,
			 uint32_t base_seq, uint32_t ext_max, uint32_t received);
uint32_t rtcp_rxstats_expected(const struct rtcp_rxstats *s);
int32_t rtcp_rxstats_lost(const struct rtcp_rxstats *s);   /* clamped 24-bit */
static inline uint32_t rtcp_rxstats_jitter(const struct rtcp_rxstats *s) { return s->jitter_q4 >> 4; }
/* Fills a report block (fraction lost over the interval since the last
 * call, then starts a new interval). lsr/dlsr come from the caller's SR
 * bookkeeping (0 if no SR was received). */
void rtcp_rxstats_report(struct rtcp_rxstats *s, struct rtcp_report_block *rb,
			 uint32_t lsr, uint32_t dlsr);

#endif
