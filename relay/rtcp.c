/* rtcp.c - RTCP compound walk, report builders, NTP time and receive stats.
 *
 * RTCP arrives from the network, so the walker trusts nothing: every
 * sub-packet's length field is checked against what is left of the datagram,
 * and the structure inside (report blocks, SDES chunks and items, BYE SSRC
 * list and reason, APP name, feedback SSRCs) is checked before a decoder may
 * read it; the decoders below therefore only index within bounds already
 * proven by rtcp_iter_next(). Unknown packet types (XR, future ones) are
 * walked over but not interpreted. The builders write SR/RR/SDES/BYE for legs
 * where the relay terminates RTCP (transcoded calls), and rtcp_rxstats is the
 * RFC 3550 appendix A bookkeeping (sequence extension, loss, jitter) that
 * the packet path updates per packet with a few integer operations.
 */
#include "rtcp.h"

#include <errno.h>
#include <string.h>

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* ---------------------------------------------------------------- walk */

/* SDES body: `count` chunks, each an SSRC, items (type, len, text), then a
 * zero type octet and padding to a 32-bit boundary. */
static int check_sdes(const uint8_t *body, size_t len, unsigned count)
{
	size_t off = 0;
	for (unsigned c = 0; c < count; c++) {
		if (len - off < 4)
			return -EMSGSIZE;
		off += 4;
		for (;;) {
			if (off >= len)
				return -EMSGSIZE;
			if (body[off] == RTCP_SDES_END)
				break;
			if (len - off < 2 || (size_t)body[off + 1] > len - off - 2)
				return -EMSGSIZE;
			off += 2u + body[off + 1];
		}
		/* the END octet plus padding to the next 4-byte boundary */
		size_t next = (off + 4) & ~(size_t)3;
		if (next > len)
			return -EMSGSIZE;
		for (size_t i = off; i < next; i++)
			if (body[i] != 0)
				return -EBADMSG;
		off = next;
	}
	return 0;
}

static int check_body(uint8_t type, unsigned count, const uint8_t *body, size_t len)
{
	switch (type) {
	case RTCP_SR:
		if (len < 24 + (size_t)count * RTCP_REPORT_BLOCK_LEN)
			return -EMSGSIZE;
		return 0;
	case RTCP_RR:
		if (len < 4 + (size_t)count * RTCP_REPORT_BLOCK_LEN)
			return -EMSGSIZE;
		return 0;
	case RTCP_SDES:
		return check_sdes(body, len, count);
	case RTCP_BYE:
		if (len < (size_t)count * 4)
			return -EMSGSIZE;
		if (len > (size_t)count * 4) {
			size_t r = (size_t)count * 4;
			if ((size_t)body[r] > len - r - 1)
				return -EMSGSIZE;
		}
		return 0;
	case RTCP_APP:
		return len < 8 ? -EMSGSIZE : 0;
	case RTCP_RTPFB:
	case RTCP_PSFB:
		return len < 8 ? -EMSGSIZE : 0;
	default:
		return 0;
	}
}

void rtcp_iter_init(struct rtcp_iter *it, const uint8_t *pkt, size_t len)
{
	it->buf = pkt;
	it->len = pkt ? len : 0;
	it->off = 0;
}

int rtcp_iter_next(struct rtcp_iter *it, struct rtcp_pkt *p)
{
	if (it->off >= it->len)
		return 0;
	const uint8_t *h = it->buf + it->off;
	size_t left = it->len - it->off;
	if (left < RTCP_HEADER_LEN)
		return -EMSGSIZE;
	if ((h[0] >> 6) != 2)
		return -EPROTONOSUPPORT;
	size_t len = ((size_t)rd16(h + 2) + 1) * 4;
	if (len > left)
		return -EMSGSIZE;

	p->type = h[1];
	p->count = h[0] & 0x1f;
	p->padding = (h[0] & 0x20) != 0;
	p->data = h;
	p->len = len;
	p->body_len = len - RTCP_HEADER_LEN;
	if (p->padding) {
		/* RFC 3550 6.4.1: only the last packet of a compound may be
		 * padded, and the count includes the count octet itself. */
		uint8_t pad = h[len - 1];
		if (len != left || pad == 0 || pad > p->body_len || (pad & 3) != 0)
			return -EBADMSG;
		p->body_len -= pad;
	}
	p->ssrc = p->body_len >= 4 ? rd32(h + 4) : 0;

	int r = check_body(p->type, p->count, h + RTCP_HEADER_LEN, p->body_len);
	if (r < 0)
		return r;
	it->off += len;
	return 1;
}

int rtcp_validate(const uint8_t *pkt, size_t len)
{
	if (!pkt || len < RTCP_HEADER_LEN)
		return -EMSGSIZE;
	struct rtcp_iter it;
	struct rtcp_pkt p;
	int n = 0, r;
	rtcp_iter_init(&it, pkt, len);
	while ((r = rtcp_iter_next(&it, &p)) > 0) {
		if (n == 0 && p.type != RTCP_SR && p.type != RTCP_RR
		    && p.type != RTCP_RTPFB && p.type != RTCP_PSFB)
			return -EBADMSG;
		n++;
	}
	return r < 0 ? r : n;
}

const char *rtcp_strerror(int err)
{
	switch (err) {
	case -EMSGSIZE: return "RTCP packet truncated or length field overruns";
	case -EPROTONOSUPPORT: return "not RTCP version 2";
	case -EBADMSG: return "malformed RTCP packet";
	case -ENOBUFS: return "buffer too small";
	case -ENOENT: return "no such RTCP item";
	case -EINVAL: return "wrong RTCP packet type or argument";
	case -ERANGE: return "RTCP time out of range";
	default: return err >= 0 ? "ok" : "unknown RTCP error";
	}
}

/* -------------------------------------------------------------- decode */

int rtcp_sr_info(const struct rtcp_pkt *p, struct rtcp_sender_info *si)
{
	if (p->type != RTCP_SR)
		return -EINVAL;
	const uint8_t *b = p->data + 8;
	si->ntp = (uint64_t)rd32(b) << 32 | rd32(b + 4);
	si->rtp_ts = rd32(b + 8);
	si->packet_count = rd32(b + 12);
	si->octet_count = rd32(b + 16);
	return 0;
}

int rtcp_report_block(const struct rtcp_pkt *p, unsigned i, struct rtcp_report_block *rb)
{
	size_t off;
	if (p->type == RTCP_SR)
		off = 28;
	else if (p->type == RTCP_RR)
		off = 8;
	else
		return -EINVAL;
	if (i >= p->count)
		return -ENOENT;
	const uint8_t *b = p->data + off + (size_t)i * RTCP_REPORT_BLOCK_LEN;
	rb->ssrc = rd32(b);
	rb->fraction_lost = b[4];
	uint32_t cl = (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
	rb->cumulative_lost = (cl & 0x800000) ? (int32_t)cl - 0x1000000 : (int32_t)cl;
	rb->ext_highest_seq = rd32(b + 8);
	rb->jitter = rd32(b + 12);
	rb->lsr = rd32(b + 16);
	rb->dlsr = rd32(b + 20);
	return 0;
}

int rtcp_sdes_cname(const struct rtcp_pkt *p, uint32_t *ssrc,
		    const char **cname, size_t *cname_len)
{
	if (p->type != RTCP_SDES)
		return -EINVAL;
	const uint8_t *body = p->data + RTCP_HEADER_LEN;
	size_t off = 0;
	/* structure already proven by check_sdes() */
	for (unsigned c = 0; c < p->count; c++) {
		uint32_t s = rd32(body + off);
		off += 4;
		while (body[off] != RTCP_SDES_END) {
			uint8_t t = body[off], l = body[off + 1];
			if (t == RTCP_SDES_CNAME) {
				*ssrc = s;
				*cname = (const char *)body + off + 2;
				*cname_len = l;
				return 0;
			}
			off += 2u + l;
		}
		off = (off + 4) & ~(size_t)3;
	}
	return -ENOENT;
}

int rtcp_bye_ssrc(const struct rtcp_pkt *p, unsigned i, uint32_t *ssrc)
{
	if (p->type != RTCP_BYE)
		return -EINVAL;
	if (i >= p->count)
		return -ENOENT;
	*ssrc = rd32(p->data + RTCP_HEADER_LEN + 4u * i);
	return 0;
}

int rtcp_bye_reason(const struct rtcp_pkt *p, const char **reason, size_t *len)
{
	if (p->type != RTCP_BYE)
		return -EINVAL;
	size_t r = (size_t)p->count * 4;
	if (p->body_len <= r)
		return -ENOENT;
	const uint8_t *b = p->data + RTCP_HEADER_LEN + r;
	*len = b[0];
	*reason = (const char *)b + 1;
	return 0;
}

int rtcp_app(const struct rtcp_pkt *p, const char **name,
	     const uint8_t **data, size_t *len)
{
	if (p->type != RTCP_APP)
		return -EINVAL;
	*name = (const char *)p->data + 8;
	*data = p->data + 12;
	*len = p->body_len - 8;
	return 0;
}

int rtcp_fb(const struct rtcp_pkt *p, uint32_t *media_ssrc,
	    const uint8_t **fci, size_t *fci_len)
{
	if (p->type != RTCP_RTPFB && p->type != RTCP_PSFB)
		return -EINVAL;
	*media_ssrc = rd32(p->data + 8);
	*fci = p->data + 12;
	*fci_len = p->body_len - 8;
	return 0;
}

/* --------------------------------------------------------------- build */

static void put_header(uint8_t *b, unsigned count, uint8_t type, size_t len)
{
	b[0] = (uint8_t)(0x80 | (count & 0x1f));
	b[1] = type;
	wr16(b + 2, (uint16_t)(len / 4 - 1));
}

static void put_block(uint8_t *b, const struct rtcp_report_block *rb)
{
	wr32(b, rb->ssrc);
	int32_t cl = rb->cumulative_lost;
	if (cl > 0x7fffff)
		cl = 0x7fffff;
	if (cl < -0x800000)
		cl = -0x800000;
	uint32_t u = (uint32_t)cl & 0xffffff;
	b[4] = rb->fraction_lost;
	b[5] = (uint8_t)(u >> 16);
	b[6] = (uint8_t)(u >> 8);
	b[7] = (uint8_t)u;
	wr32(b + 8, rb->ext_highest_seq);
	wr32(b + 12, rb->jitter);
	wr32(b + 16, rb->lsr);
	wr32(b + 20, rb->dlsr);
}

int rtcp_build_sr(uint8_t *buf, size_t cap, uint32_t ssrc,
		  const struct rtcp_sender_info *si,
		  const struct rtcp_report_block *rb, unsigned nblocks)
{
	if (nblocks > RTCP_MAX_BLOCKS || (nblocks && !rb) || !si)
		return -EINVAL;
	size_t len = 28 + (size_t)nblocks * RTCP_REPORT_BLOCK_LEN;
	if (!buf || cap < len)
		return -ENOBUFS;
	put_header(buf, nblocks, RTCP_SR, len);
	wr32(buf + 4, ssrc);
	wr32(buf + 8, (uint32_t)(si->ntp >> 32));
	wr32(buf + 12, (uint32_t)si->ntp);
	wr32(buf + 16, si->rtp_ts);
	wr32(buf + 20, si->packet_count);
	wr32(buf + 24, si->octet_count);
	for (unsigned i = 0; i < nblocks; i++)
		put_block(buf + 28 + (size_t)i * RTCP_REPORT_BLOCK_LEN, &rb[i]);
	return (int)len;
}

int rtcp_build_rr(uint8_t *buf, size_t cap, uint32_t ssrc,
		  const struct rtcp_report_block *rb, unsigned nblocks)
{
	if (nblocks > RTCP_MAX_BLOCKS || (nblocks && !rb))
		return -EINVAL;
	size_t len = 8 + (size_t)nblocks * RTCP_REPORT_BLOCK_LEN;
	if (!buf || cap < len)
		return -ENOBUFS;
	put_header(buf, nblocks, RTCP_RR, len);
	wr32(buf + 4, ssrc);
	for (unsigned i = 0; i < nblocks; i++)
		put_block(buf + 8 + (size_t)i * RTCP_REPORT_BLOCK_LEN, &rb[i]);
	return (int)len;
}

int rtcp_build_sdes_cname(uint8_t *buf, size_t cap, uint32_t ssrc,
			  const char *cname, size_t cname_len)
{
	if (cname_len > 255 || (cname_len && !cname))
		return -EINVAL;
	/* header, SSRC, CNAME item, END octet, padded to 4 */
	size_t len = (4 + 4 + 2 + cname_len + 1 + 3) & ~(size_t)3;
	if (!buf || cap < len)
		return -ENOBUFS;
	put_header(buf, 1, RTCP_SDES, len);
	wr32(buf + 4, ssrc);
	buf[8] = RTCP_SDES_CNAME;
	buf[9] = (uint8_t)cname_len;
	if (cname_len)
		memcpy(buf + 10, cname, cname_len);
	memset(buf + 10 + cname_len, 0, len - 10 - cname_len);
	return (int)len;
}

int rtcp_build_bye(uint8_t *buf, size_t cap, uint32_t ssrc)
{
	if (!buf || cap < 8)
		return -ENOBUFS;
	put_header(buf, 1, RTCP_BYE, 8);
	wr32(buf + 4, ssrc);
	return 8;
}

int rtcp_set_ssrc(uint8_t *sub, size_t len, uint32_t ssrc)
{
	if (!sub || len < 8)
		return -EMSGSIZE;
	wr32(sub + 4, ssrc);
	return 0;
}

/* ---------------------------------------------------------------- time */

#define NTP_UNIX_OFFSET 2208988800ull /* seconds from 1900 to 1970 */
#define NS_PER_S 1000000000ull

uint64_t rtcp_ntp_from_unix_ns(uint64_t unix_ns)
{
	uint64_t sec = unix_ns / NS_PER_S, ns = unix_ns % NS_PER_S;
	uint64_t frac = (ns << 32) / NS_PER_S;   /* ns < 2^30: no overflow */
	return (sec + NTP_UNIX_OFFSET) << 32 | frac;
}

uint64_t rtcp_ntp_to_unix_ns(uint64_t ntp)
{
	uint64_t sec = ntp >> 32, frac = ntp & 0xffffffffu;
	if (sec < NTP_UNIX_OFFSET)
		return 0;
	/* round to nearest so that from(to(x)) is stable */
	uint64_t ns = (frac * NS_PER_S + (1ull << 31)) >> 32;
	return (sec - NTP_UNIX_OFFSET) * NS_PER_S + ns;
}

int rtcp_rtt(uint32_t now_mid32, uint32_t lsr, uint32_t dlsr, uint32_t *rtt)
{
	if (lsr == 0)
		return -ENOENT;
	uint32_t since = now_mid32 - lsr;   /* modular: works across wrap */
	if (since >= 0x80000000u || dlsr > since)
		return -ERANGE;
	*rtt = since - dlsr;
	return 0;
}

uint32_t rtcp_dlsr(uint64_t sr_arrival_ns, uint64_t now_ns)
{
	if (now_ns <= sr_arrival_ns)
		return 0;
	uint64_t d = now_ns - sr_arrival_ns;
	uint64_t sec = d / NS_PER_S, rem = d % NS_PER_S;
	if (sec >= 0x10000)
		return 0xffffffffu;
	return (uint32_t)((sec << 16) + (rem << 16) / NS_PER_S);
}

/* ----------------------------------------------------- receive statistics */

#define SEQ_MOD (1u << 16)
#define MAX_DROPOUT 3000u
#define MAX_MISORDER 100u

static void stats_init_seq(struct rtcp_rxstats *s, uint16_t seq)
{
	s->base_seq = seq;
	s->max_seq = seq;
	s->bad_seq = SEQ_MOD + 1;   /* so seq == bad_seq is false */
	s->cycles = 0;
	s->received = 0;
	s->received_prior = 0;
	s->expected_prior = 0;
}

void rtcp_rxstats_init(struct rtcp_rxstats *s, uint32_t ssrc, uint32_t clock_rate,
		       unsigned min_sequential)
{
	memset(s, 0, sizeof(*s));
	s->ssrc = ssrc;
	s->clock_rate = clock_rate ? clock_rate : 8000;
	s->probation = min_sequential ? min_sequential : 1;
}

static uint32_t arrival_units(struct rtcp_rxstats *s, uint64_t arrival_ns)
{
	uint64_t d = arrival_ns - s->arrival_base_ns;
	uint64_t sec = d / NS_PER_S, rem = d % NS_PER_S;
	return (uint32_t)(sec * s->clock_rate + rem * s->clock_rate / NS_PER_S);
}

static void stats_jitter(struct rtcp_rxstats *s, uint32_t rtp_ts, uint64_t arrival_ns)
{
	uint32_t transit = arrival_units(s, arrival_ns) - rtp_ts;
	if (s->have_transit) {
		int32_t d = (int32_t)(transit - s->transit);
		uint32_t ad = d < 0 ? (uint32_t)-(int64_t)d : (uint32_t)d;
		/* A.8: J += (|D| - J) / 16, kept scaled by 16 */
		s->jitter_q4 += ad - ((s->jitter_q4 + 8) >> 4);
	}
	s->transit = transit;
	s->have_transit = true;
}

int rtcp_rxstats_update(struct rtcp_rxstats *s, uint16_t seq, uint32_t rtp_ts,
			uint64_t arrival_ns)
{
	if (!s->started) {
		s->started = true;
		s->arrival_base_ns = arrival_ns;
		stats_init_seq(s, seq);
		s->max_seq = (uint16_t)(seq - 1);
	}
	uint16_t udelta = (uint16_t)(seq - s->max_seq);

	if (s->probation) {
		if (seq == (uint16_t)(s->max_seq + 1)) {
			s->probation--;
			s->max_seq = seq;
			if (s->probation == 0) {
				stats_init_seq(s, seq);
				s->received++;
				stats_jitter(s, rtp_ts, arrival_ns);
				return 1;
			}
		} else {
			s->probation = 1;   /* MIN_SEQUENTIAL - 1 in A.1 terms */
			s->max_seq = seq;
		}
		return 0;
	} else if (udelta < MAX_DROPOUT) {
		if (seq < s->max_seq)
			s->cycles += SEQ_MOD;
		s->max_seq = seq;
	} else if (udelta <= SEQ_MOD - MAX_MISORDER) {
		/* a big jump: believe it only if the next packet follows it */
		if (seq == s->bad_seq) {
			stats_init_seq(s, seq);
		} else {
			s->bad_seq = (seq + 1u) & (SEQ_MOD - 1);
			return 0;
		}
	}
	/* else: duplicate or reordered within MAX_MISORDER; counted */
	s->received++;
	stats_jitter(s, rtp_ts, arrival_ns);
	return 1;
}

uint32_t rtcp_rxstats_ext_max(const struct rtcp_rxstats *s)
{
	return s->cycles + s->max_seq;
}

bool rtcp_rxstats_jumps(const struct rtcp_rxstats *s, uint16_t seq)
{
	uint16_t udelta = (uint16_t)(seq - s->max_seq);
	return udelta >= MAX_DROPOUT && udelta <= SEQ_MOD - MAX_MISORDER;
}

void rtcp_rxstats_merge(struct rtcp_rxstats *s, uint32_t ext_max, uint32_t received,
			uint32_t transit, uint32_t jitter_q4)
{
	s->received += received;
	if ((int32_t)(ext_max - rtcp_rxstats_ext_max(s)) > 0) {
		s->cycles = ext_max & ~(SEQ_MOD - 1);
		s->max_seq = (uint16_t)ext_max;
	}
	s->transit = transit;
	s->jitter_q4 = jitter_q4;
	s->have_transit = true;
}

void rtcp_rxstats_resume(struct rtcp_rxstats *s, uint32_t ssrc, uint32_t clock_rate,
			 uint32_t base_seq, uint32_t ext_max, uint32_t received)
{
	rtcp_rxstats_init(s, ssrc, clock_rate, 0);
	s->probation = 0;
	s->started = true;
	s->base_seq = base_seq;
	s->cycles = ext_max & ~(SEQ_MOD - 1);
	s->max_seq = (uint16_t)ext_max;
	s->received = received;
}

uint32_t rtcp_rxstats_expected(const struct rtcp_rxstats *s)
{
	if (!s->started || s->probation)
		return 0;
	return rtcp_rxstats_ext_max(s) - s->base_seq + 1;
}

int32_t rtcp_rxstats_lost(const struct rtcp_rxstats *s)
{
	int64_t lost = (int64_t)rtcp_rxstats_expected(s) - (int64_t)s->received;
	if (lost > 0x7fffff)
		lost = 0x7fffff;
	if (lost < -0x800000)
		lost = -0x800000;
	return (int32_t)lost;
}

void rtcp_rxstats_report(struct rtcp_rxstats *s, struct rtcp_report_block *rb,
			 uint32_t lsr, uint32_t dlsr)
{
	uint32_t expected = rtcp_rxstats_expected(s);
	uint32_t exp_int = expected - s->expected_prior;
	uint32_t rec_int = s->received - s->received_prior;
	s->expected_prior = expected;
	s->received_prior = s->received;
	int64_t lost_int = (int64_t)exp_int - (int64_t)rec_int;

	rb->ssrc = s->ssrc;
	uint64_t frac = (exp_int == 0 || lost_int <= 0) ? 0
		: ((uint64_t)lost_int << 8) / exp_int;
	rb->fraction_lost = (uint8_t)(frac > 255 ? 255 : frac);  /* all lost: 255 */
	rb->cumulative_lost = rtcp_rxstats_lost(s);
	rb->ext_highest_seq = s->started && !s->probation ? rtcp_rxstats_ext_max(s) : 0;
	rb->jitter = rtcp_rxstats_jitter(s);
	rb->lsr = lsr;
	rb->dlsr = dlsr;
}
