/* quality.c - per-leg quality on the packet path; see quality.h.
 *
 * Own view: every accepted RTP packet from a party feeds an RFC 3550
 * receive-statistics block (rtcp.h): sequence gaps give the loss, arrival
 * times against RTP timestamps give the interarrival jitter. A new SSRC
 * from the same party starts a new block; the old one's counts are kept.
 *
 * The party's view: its SR/RR report blocks say what it lost and its
 * jitter on the stream it receives from us. Round trip: when an SR from
 * one party passes through us we note its NTP middle bits and the time;
 * when the other party's report block quotes that SR (LSR) we know
 * rtt = now - relayed_at - DLSR. That is the round trip between rtpgate
 * and that party, and needs no clock agreement with anyone.
 *
 * The jitter clock rate comes from the payload type: the static audio
 * types (RFC 3551) are 8 kHz, a dynamic type is taken as 48 kHz (Opus);
 * the clock follows the first payload type seen, so telephone-event
 * packets in between do not change it.
 */
#include "quality.h"

#include "bencode.h"
#include "session.h"

#define QSET(var, v) atomic_store_explicit(&(var), (v), memory_order_relaxed)
#define QGET(var) atomic_load_explicit(&(var), memory_order_relaxed)

static uint32_t clock_for_pt(uint8_t pt)
{
	if (pt < 96) {
		switch (pt) {
		case 10: case 11: return 44100;
		case 6: return 16000;
		case 16: return 11025;
		case 17: return 22050;
		case 25: case 26: case 28: case 31: case 32: case 33: case 34: return 90000;
		default: return 8000;
		}
	}
	return 48000;
}

/* A view's results, with what earlier SSRCs of the party left */
static void results(const struct rtcp_rxstats *rx, uint32_t exp_base, uint32_t lost_base,
		    uint32_t *expected, uint32_t *lost, uint32_t *jitter_us)
{
	int32_t l = rtcp_rxstats_lost(rx);
	*expected = exp_base + rtcp_rxstats_expected(rx);
	*lost = lost_base + (l > 0 ? (uint32_t)l : 0);
	uint64_t jus = (uint64_t)rtcp_rxstats_jitter(rx) * 1000000u / rx->clock_rate;
	*jitter_us = (uint32_t)(jus > 0xffffffffu ? 0xffffffffu : jus);
}

/* s's [cnt] results from its worker view; with view, also the view they
 * came from, all as one (only a take of a kernel entry needs that: the
 * packet path of a stream without one does not pay for it) */
static void publish(struct mstream *s, bool view)
{
	struct quality_wrk *w = &s->qw;
	const struct rtcp_rxstats *rx = &w->rx;
	uint32_t e, l, j;
	results(rx, w->expected_base, w->lost_base, &e, &l, &j);
	if (view)
		mstream_pub_begin(s);
	QSET(s->q.expected, e);
	QSET(s->q.lost, l);
	QSET(s->q.jitter_us, j);
	if (!view)
		return;
	QSET(s->q.view_on, w->rx_on && rx->started && !rx->probation);
	QSET(s->q.view_ssrc, rx->ssrc);
	QSET(s->q.view_clock, rx->clock_rate);
	QSET(s->q.view_base, rx->base_seq);
	QSET(s->q.view_ext_max, rtcp_rxstats_ext_max(rx));
	QSET(s->q.view_received, rx->received);
	mstream_pub_end(s);
}

static bool rtp_in(struct mstream *s, const uint8_t *p, size_t len, uint64_t now_ms)
{
	if (len < 12)
		return false;
	struct quality_wrk *w = &s->qw;
	bool was_on = w->rx_on;
	uint32_t old_ssrc = w->rx.ssrc, old_base = w->rx.base_seq;
	uint8_t pt = p[1] & 0x7f;
	uint16_t seq = (uint16_t)(p[2] << 8 | p[3]);
	uint32_t ts = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	uint32_t ssrc = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
	if (w->rx_on && w->rx.ssrc != ssrc) {
		int32_t l = rtcp_rxstats_lost(&w->rx);
		w->lost_base += l > 0 ? (uint32_t)l : 0;
		w->expected_base += rtcp_rxstats_expected(&w->rx);
		w->rx_on = false;
	}
	if (!w->rx_on) {
		/* the source passed the latch and (for SRTP) authentication: no probation */
		rtcp_rxstats_init(&w->rx, ssrc, clock_for_pt(pt), 0);
		w->pt = pt;
		w->rx_on = true;
	}
	rtcp_rxstats_update(&w->rx, seq, ts, now_ms * 1000000u);
	publish(s, s->kf_on || atomic_load_explicit(&s->kf_taken, memory_order_relaxed));
	return was_on && (w->rx.ssrc != old_ssrc || w->rx.base_seq != old_base);
}

bool quality_rebases(const struct mstream *s, const uint8_t *p, size_t len)
{
	const struct rtcp_rxstats *rx = &s->qw.rx;
	if (len < 12 || !s->qw.rx_on)
		return false;
	uint32_t ssrc = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
	return ssrc != rx->ssrc || rtcp_rxstats_jumps(rx, (uint16_t)(p[2] << 8 | p[3]));
}

void quality_fold(struct mstream *s, const struct quality_kernel *k)
{
	struct quality_wrk *w = &s->qw;
	struct rtcp_rxstats *rx = &w->rx;
	/* only what continues the view it was made from */
	if (!w->rx_on || rx->probation || rx->ssrc != k->ssrc || rx->base_seq != k->base_seq ||
	    !k->received)
		return;
	rtcp_rxstats_merge(rx, k->ext_max, k->received, k->transit, k->jitter_q4);
	publish(s, true);
}

void quality_publish_view(struct mstream *s)
{
	publish(s, true);
}

static void rtcp_in(struct msession *ms, struct mstream *rtp, const uint8_t *p, size_t len,
		    uint64_t now_ms)
{
	struct mstream *other = msession_stream(ms, !rtp->leg, rtp->media, COMP_RTP);
	struct rtcp_iter it;
	struct rtcp_pkt sp;
	rtcp_iter_init(&it, p, len);
	for (int n = 0; n < 8 && rtcp_iter_next(&it, &sp) == 1; n++) {
		if (sp.type == RTCP_SR) {
			struct rtcp_sender_info si;
			/* relayed on to the other party: its reports will quote this one */
			if (rtcp_sr_info(&sp, &si) == 0) {
				other->qw.sr_lsr = rtcp_ntp_mid32(si.ntp);
				other->qw.sr_ms = now_ms;
			}
		}
		if ((sp.type != RTCP_SR && sp.type != RTCP_RR) || !sp.count)
			continue;
		struct rtcp_report_block rb;
		if (rtcp_report_block(&sp, 0, &rb) < 0)
			continue;
		QSET(rtp->q.reports, QGET(rtp->q.reports) + 1);
		QSET(rtp->q.rep_fraction, rb.fraction_lost);
		QSET(rtp->q.rep_cum_lost, rb.cumulative_lost);
		uint32_t clock = other->qw.rx_on ? other->qw.rx.clock_rate : 8000;
		QSET(rtp->q.rep_jitter_us, (uint32_t)((uint64_t)rb.jitter * 1000000u / clock));
		if (rb.lsr && rb.lsr == rtp->qw.sr_lsr && now_ms >= rtp->qw.sr_ms) {
			uint64_t held_us = rtcp_q16_to_us(rb.dlsr);
			uint64_t since_us = (now_ms - rtp->qw.sr_ms) * 1000u;
			if (since_us >= held_us && since_us - held_us < 10000000u)
				QSET(rtp->q.rtt_us, (uint32_t)(since_us - held_us));
		}
	}
}

bool quality_in(struct msession *ms, struct mstream *s, bool rtcp, const uint8_t *p,
		size_t len, uint64_t now_ms)
{
	struct mstream *rtp = s->comp == COMP_RTP ? s : msession_stream(ms, s->leg, s->media, COMP_RTP);
	if (rtcp) {
		rtcp_in(ms, rtp, p, len, now_ms);
		return false;
	}
	return rtp_in(rtp, p, len, now_ms);
}

uint32_t quality_mos_x10(uint32_t loss_permille, uint32_t jitter_us, uint32_t rtt_us)
{
	double latency = rtt_us / 2000.0 + 2.0 * jitter_us / 1000.0 + 10.0;
	double r = 93.2 - (latency < 160 ? latency / 40.0 : (latency - 120.0) / 10.0);
	r -= 2.5 * (loss_permille / 10.0);
	double mos = r <= 0 ? 1.0 : 1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r);
	if (mos < 1.0)
		mos = 1.0;
	if (mos > 4.5)
		mos = 4.5;
	return (uint32_t)(mos * 10.0 + 0.5);
}

/* One RTP stream's own view as the control thread reads it: the worker's
 * results, and the kernel's last part when a take holds more than the
 * worker has folded in (kf_final, this thread's own). */
static void own_view(const struct mstream *s, uint32_t *expected, uint32_t *lost,
		     uint32_t *jitter_us)
{
	uint32_t q, ssrc, clock, base, ext, rcv, folded;
	bool on, taken;
	do {
		q = mstream_read_begin(s);
		*expected = QGET(s->q.expected);
		*lost = QGET(s->q.lost);
		*jitter_us = QGET(s->q.jitter_us);
		on = QGET(s->q.view_on);
		ssrc = QGET(s->q.view_ssrc);
		clock = QGET(s->q.view_clock);
		base = QGET(s->q.view_base);
		ext = QGET(s->q.view_ext_max);
		rcv = QGET(s->q.view_received);
		taken = QGET(s->kf_taken);
		folded = QGET(s->kf_folded);
	} while (!mstream_read_done(s, q));
	const struct kfwd_val *k = &s->kf_final;
	/* as quality_fold will take it: only what continues this view */
	if (!taken || !on || !k->rx_on || k->ssrc != ssrc || k->base_seq != base ||
	    k->received <= folded)
		return;
	struct rtcp_rxstats rx;
	rtcp_rxstats_resume(&rx, ssrc, clock, base, ext, rcv);
	/* what earlier SSRCs left: the results beyond this view's own */
	uint32_t e, l, j;
	results(&rx, 0, 0, &e, &l, &j);
	uint32_t eb = *expected - e, lb = *lost - l;
	rtcp_rxstats_merge(&rx, k->ext_max, k->received - folded, k->transit, k->jitter_q4);
	results(&rx, eb, lb, expected, lost, jitter_us);
}

void quality_leg(struct msession *ms, int leg, struct quality_summary *q)
{
	*q = (struct quality_summary){ 0 };
	uint32_t rep_fraction = 0, rep_jitter = 0;
	for (int m = 0; m < ms->nmedia; m++) {
		struct mstream *s = msession_stream(ms, leg, m, COMP_RTP);
		uint32_t e, l, j;
		own_view(s, &e, &l, &j);
		q->expected += e;
		q->lost += l;
		uint32_t rt = QGET(s->q.rtt_us), n = QGET(s->q.reports);
		if (j > q->jitter_us)
			q->jitter_us = j;
		if (rt > q->rtt_us)
			q->rtt_us = rt;
		q->reports += n;
		if (n) {
			uint32_t f = QGET(s->q.rep_fraction), rj = QGET(s->q.rep_jitter_us);
			rep_fraction = f > rep_fraction ? f : rep_fraction;
			rep_jitter = rj > rep_jitter ? rj : rep_jitter;
		}
	}
	uint32_t own = q->expected ? (uint32_t)((uint64_t)q->lost * 1000u / q->expected) : 0;
	q->rep_loss_permille = rep_fraction * 1000u / 256u;
	q->loss_permille = own > q->rep_loss_permille ? own : q->rep_loss_permille;
	if (rep_jitter > q->jitter_us)
		q->jitter_us = rep_jitter;
	q->mos_x10 = quality_mos_x10(q->loss_permille, q->jitter_us, q->rtt_us);
}

struct bval *quality_bval(struct msession *ms, int leg)
{
	struct quality_summary q;
	quality_leg(ms, leg, &q);
	struct bval *d = bval_dict();
	bval_dict_add_int(d, "packets lost", q.lost);
	bval_dict_add_int(d, "loss permille", q.loss_permille);
	bval_dict_add_int(d, "jitter us", q.jitter_us);
	if (q.rtt_us)
		bval_dict_add_int(d, "rtt us", q.rtt_us);
	if (q.reports)
		bval_dict_add_int(d, "reported loss permille", q.rep_loss_permille);
	bval_dict_add_int(d, "MOS x10", q.mos_x10);
	return d;
}
