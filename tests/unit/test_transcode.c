/* test_transcode.c - the transcoder of one direction, fed synthetic RTP:
 * every ordered pair of PCMU, PCMA, opus and G729 keeps a 1 kHz tone;
 * sequence numbers and timestamps stay continuous across loss,
 * reordering, SSRC changes and ptime changes; RFC 4733 events cross as
 * events with rescaled timestamps and durations (or in-band when the other
 * leg has none); our own RTCP; no allocation on the packet path. */
#include "unit.h"
#include "codec/codec.h"
#include "rtcp.h"
#include "rtp.h"
#include "transcode.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if !defined(__has_feature)
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || \
    __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define COUNT_ALLOCS 0
#else
#define COUNT_ALLOCS 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static int counting, allocs;
void *malloc(size_t n) { allocs += counting; return __libc_malloc(n); }
void *calloc(size_t n, size_t m) { allocs += counting; return __libc_calloc(n, m); }
void *realloc(void *p, size_t n) { allocs += counting; return __libc_realloc(p, n); }
#endif

static const char *const names[] = { "PCMU", "PCMA", "opus", "G729" };

/* ---- signals ---- */

static double rms(const int16_t *pcm, int n)
{
	double s = 0;
	for (int i = 0; i < n; i++)
		s += (double)pcm[i] * pcm[i];
	return n ? sqrt(s / n) : 0.0;
}

static double zc_freq(const int16_t *pcm, int n, int rate)
{
	double first = -1, last = -1;
	int count = 0;
	for (int i = 1; i < n; i++)
		if (pcm[i - 1] < 0 && pcm[i] >= 0) {
			double t = i - 1 + (double)-pcm[i - 1] / (double)(pcm[i] - pcm[i - 1]);
			if (first < 0)
				first = t;
			last = t;
			count++;
		}
	return count < 2 ? 0.0 : (count - 1) * (double)rate / (last - first);
}

/* ---- a rig: a sender encoding a tone, the transcoder, a receiver ---- */

#define MAXLOG 2000
#define TONE_AMP 10362.0   /* -10 dBFS */

struct outpkt {
	uint8_t pt;
	bool marker;
	uint16_t seq;
	uint32_t ts, ssrc;
	size_t len;
	uint8_t payload[8];
};

struct rig {
	struct xcoder_cfg cfg;
	struct xcoder *x;
	struct codec_enc *senc;      /* the party's encoder */
	struct codec_dec *rdec;      /* the other party's decoder */
	int rate, in_frame;
	uint16_t seq;
	uint32_t ts, ssrc;
	long phase;                  /* samples of tone sent so far */
	int16_t *rx;                 /* decoded output */
	int rx_n;
	struct outpkt log[MAXLOG];
	int nlog, nrtcp;
	uint8_t rtcp[512];
	size_t rtcp_len;
	uint64_t now;
	uint64_t ns, fed;            /* time spent in xcoder_rtp_in */
};

static const struct codec_desc *find(const char *name)
{
	return codec_find(name, 0, 0);
}

static void side(struct xcoder_side *s, const char *name, int pt, int ptime, int te_pt)
{
	memset(s, 0, sizeof(*s));
	s->desc = find(name);
	s->pt = pt;
	codec_params_default(s->desc, &s->params);
	s->params.annexb = false;
	s->ptime_ms = ptime;
	s->te_pt = te_pt;
	s->te_clock = te_pt >= 0 ? s->desc->clock_rate : 0;
}

static int pt_of(const char *name)
{
	const struct codec_desc *d = find(name);
	return d->payload_type >= 0 ? d->payload_type : 111;
}

static int rig_new(struct rig *r, const char *a, int a_ptime, int a_te, const char *b, int b_ptime,
		   int b_te)
{
	memset(r, 0, sizeof(*r));
	side(&r->cfg.in, a, pt_of(a), a_ptime, a_te);
	side(&r->cfg.out, b, pt_of(b) == 111 && pt_of(a) == 111 ? 112 : pt_of(b), b_ptime, b_te);
	int ra = codec_pick_pcm_rate(r->cfg.in.desc, &r->cfg.in.params, 0);
	int rb = codec_pick_pcm_rate(r->cfg.out.desc, &r->cfg.out.params, 0);
	r->rate = ra < rb ? ra : rb;
	r->cfg.in.params.pcm_rate = r->cfg.out.params.pcm_rate = r->rate;
	r->in_frame = r->rate * a_ptime / 1000;
	r->seq = 1000;
	r->ts = 123456;
	r->ssrc = 0x11223344;
	r->rx = calloc((size_t)r->rate * 20, sizeof(int16_t));
	int e = xcoder_new(&r->cfg, &r->x);
	if (e < 0) {
		unit_fail(__FILE__, __LINE__, "%s>%s: xcoder_new: expected 0, got %d", a, b, e);
		return e;
	}
	if (codec_enc_new(r->cfg.in.desc, &r->cfg.in.params, &r->senc) < 0 ||
	    codec_dec_new(r->cfg.out.desc, &r->cfg.out.params, &r->rdec) < 0) {
		unit_fail(__FILE__, __LINE__, "%s>%s: cannot create the parties' codecs", a, b);
		return -1;
	}
	return 0;
}

static void rig_free(struct rig *r)
{
	xcoder_free(r->x);
	codec_enc_free(r->senc);
	codec_dec_free(r->rdec);
	free(r->rx);
}

/* Feeds one packet; logs and decodes what comes out. */
static int rig_feed(struct rig *r, const uint8_t *pkt, size_t len)
{
	static uint8_t bufs[4][1500];
	uint8_t *outs[4] = { bufs[0], bufs[1], bufs[2], bufs[3] };
	size_t lens[4];
	uint8_t kinds[4];
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int n = xcoder_rtp_in(r->x, pkt, len, r->now, outs, sizeof(bufs[0]), lens, 4, kinds);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->ns += (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec));
	r->fed++;
	for (int i = 0; i < n; i++) {
		if (kinds[i] == XC_OUT_RTCP) {
			r->nrtcp++;
			r->rtcp_len = lens[i] < sizeof(r->rtcp) ? lens[i] : sizeof(r->rtcp);
			memcpy(r->rtcp, outs[i], r->rtcp_len);
			continue;
		}
		struct rtp_hdr h;
		if (rtp_parse(&h, outs[i], lens[i]) < 0) {
			unit_fail(__FILE__, __LINE__, "output %d: expected valid RTP", i);
			continue;
		}
		if (r->nlog < MAXLOG) {
			struct outpkt *o = &r->log[r->nlog++];
			o->pt = h.pt;
			o->marker = h.marker;
			o->seq = h.seq;
			o->ts = h.ts;
			o->ssrc = h.ssrc;
			o->len = h.payload_len;
			memcpy(o->payload, h.payload, h.payload_len < 8 ? h.payload_len : 8);
		}
		if (h.pt == r->cfg.out.pt && r->rx_n + r->rate / 5 < r->rate * 20) {
			int m = codec_decode(r->rdec, h.payload, h.payload_len, r->rx + r->rx_n,
					     r->rate / 5);
			if (m > 0)
				r->rx_n += m;
		}
	}
	return n;
}

/* Encodes the next in_frame samples of tone into *pkt; advances seq/ts. */
static size_t rig_make(struct rig *r, uint8_t *pkt, size_t cap, double hz)
{
	int16_t pcm[2880];
	for (int i = 0; i < r->in_frame; i++)
		pcm[i] = (int16_t)lrint(TONE_AMP * sin(2 * M_PI * hz * (double)(r->phase + i) / r->rate));
	r->phase += r->in_frame;
	int len = codec_encode(r->senc, pcm, r->in_frame, pkt + 12, cap - 12);
	rtp_write_header(pkt, cap, (uint8_t)r->cfg.in.pt, false, r->seq, r->ts, r->ssrc);
	r->seq++;
	r->ts += codec_samples_to_ts(r->cfg.in.desc, r->rate, (uint32_t)r->in_frame);
	r->now += (uint64_t)r->cfg.in.ptime_ms;
	return 12 + (size_t)(len > 0 ? len : 0);
}

static void rig_send(struct rig *r, int packets)
{
	for (int i = 0; i < packets; i++) {
		uint8_t pkt[1500];
		size_t len = rig_make(r, pkt, sizeof(pkt), 1000.0);
		rig_feed(r, pkt, len);
	}
}

/* Every audio packet follows the previous one: seq + 1, ts + one frame. */
static int check_continuous(const struct rig *r, const char *what, int from)
{
	uint32_t step = codec_samples_to_ts(r->cfg.out.desc, r->rate,
					    (uint32_t)(r->rate * r->cfg.out.ptime_ms / 1000));
	int bad = 0;
	for (int i = from + 1; i < r->nlog; i++) {
		const struct outpkt *p = &r->log[i - 1], *q = &r->log[i];
		if (q->seq != (uint16_t)(p->seq + 1) || q->ts != p->ts + step || q->ssrc != p->ssrc) {
			if (!bad++)
				unit_fail(__FILE__, __LINE__, "%s: packet %d: expected seq %u ts %u ssrc %08x, got seq %u ts %u ssrc %08x",
					  what, i, (uint16_t)(p->seq + 1), p->ts + step, p->ssrc, q->seq, q->ts, q->ssrc);
		}
	}
	return bad;
}

static void check_tone(struct rig *r, const char *what)
{
	int skip = r->rate / 4;
	if (r->rx_n < skip * 2) {
		unit_fail(__FILE__, __LINE__, "%s: expected > %d decoded samples, got %d", what, skip * 2, r->rx_n);
		return;
	}
	double f = zc_freq(r->rx + skip, r->rx_n - skip, r->rate);
	double lvl = 20 * log10(rms(r->rx + skip, r->rx_n - skip) / (TONE_AMP / sqrt(2)) + 1e-9);
	if (fabs(f - 1000.0) > 10.0 || fabs(lvl) > 2.0)
		unit_fail(__FILE__, __LINE__, "%s: expected 1000 Hz +-1%%, 0 +-2 dB; got %.1f Hz, %+.2f dB",
			  what, f, lvl);
	if (getenv("RG_VERBOSE"))
		printf("  %s: %.2f Hz %+.2f dB\n", what, f, lvl);
}

/* ---- cases ---- */

static void t_pairs(void)
{
	for (int a = 0; a < 4; a++)
		for (int b = 0; b < 4; b++) {
			if (a == b)
				continue;
			char what[40];
			snprintf(what, sizeof(what), "%s>%s", names[a], names[b]);
			struct rig r;
			if (rig_new(&r, names[a], 20, -1, names[b], 20, -1) == 0) {
				rig_send(&r, 75);
				EXPECT(r.nlog >= 73);
				check_continuous(&r, what, 0);
				if (r.nlog && (!r.log[0].marker || r.log[0].pt != r.cfg.out.pt))
					unit_fail(__FILE__, __LINE__, "%s: first packet: expected M and pt %d, got M=%d pt %d",
						  what, r.cfg.out.pt, r.log[0].marker, r.log[0].pt);
				check_tone(&r, what);
				if (getenv("RG_VERBOSE"))
					printf("  %s: %.1f us CPU per packet in xcoder_rtp_in\n", what,
					       (double)r.ns / (double)(r.fed ? r.fed : 1) / 1000.0);
			}
			rig_free(&r);
		}
}

static void t_ptime(void)
{
	static const struct { const char *a; int pa; const char *b; int pb; } c[] = {
		{ "PCMU", 30, "PCMU", 20 }, { "PCMU", 20, "PCMU", 30 }, { "PCMA", 30, "opus", 20 },
		{ "opus", 20, "PCMU", 30 }, { "G729", 20, "PCMU", 10 }, { "PCMU", 20, "G729", 40 },
		{ "opus", 60, "opus", 20 }, { "PCMU", 10, "opus", 60 },
		/* the edges of the transcoder's buffers: 10 and 60 ms on either
		 * side, 8 kHz against Opus's 48 kHz clock, and 48 kHz PCM */
		{ "PCMU", 10, "G729", 60 }, { "G729", 60, "PCMU", 20 }, { "opus", 60, "PCMA", 20 },
		{ "PCMA", 60, "opus", 20 }, { "G729", 10, "opus", 40 }, { "opus", 10, "opus", 60 },
		{ "opus", 20, "opus", 60 }, { "opus", 60, "opus", 30 }, { "PCMU", 40, "G729", 10 },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char what[48];
		snprintf(what, sizeof(what), "%s/%d>%s/%d", c[i].a, c[i].pa, c[i].b, c[i].pb);
		struct rig r;
		if (rig_new(&r, c[i].a, c[i].pa, -1, c[i].b, c[i].pb, -1) == 0) {
			rig_send(&r, 1500 / c[i].pa);
			int want = 1500 / c[i].pb - 4;
			if (r.nlog < want)
				unit_fail(__FILE__, __LINE__, "%s: expected >= %d packets, got %d", what, want, r.nlog);
			check_continuous(&r, what, 0);
			check_tone(&r, what);
		}
		rig_free(&r);
	}
}

static void t_loss_reorder(void)
{
	for (int a = 0; a < 4; a++) {
		int b = (a + 2) % 4;
		char what[40];
		snprintf(what, sizeof(what), "%s>%s", names[a], names[b]);
		struct rig r;
		if (rig_new(&r, names[a], 20, -1, names[b], 20, -1) < 0) {
			rig_free(&r);
			continue;
		}
		uint8_t pkt[8][1500];
		size_t len[8];
		for (int i = 0; i < 100; i++) {
			len[0] = rig_make(&r, pkt[0], sizeof(pkt[0]), 1000.0);
			if (i == 30 || i == 60 || i == 61)
				continue;                  /* lost */
			if (i == 40) {                      /* 40 arrives after 41 and 42 */
				len[1] = rig_make(&r, pkt[1], sizeof(pkt[1]), 1000.0);
				len[2] = rig_make(&r, pkt[2], sizeof(pkt[2]), 1000.0);
				rig_feed(&r, pkt[1], len[1]);
				rig_feed(&r, pkt[2], len[2]);
				rig_feed(&r, pkt[0], len[0]);
				i += 2;
				continue;
			}
			rig_feed(&r, pkt[0], len[0]);
			if (i == 50)
				rig_feed(&r, pkt[0], len[0]);   /* a duplicate */
		}
		struct xcoder_stats st;
		xcoder_get_stats(r.x, &st);
		EXPECT_INT(st.in_lost, 3);
		EXPECT_INT(st.in_late, 1);
		if (st.concealed_ms != 60)
			unit_fail(__FILE__, __LINE__, "%s: expected 60 ms concealed, got %llu", what,
				  (unsigned long long)st.concealed_ms);
		/* 100 frames in; the reorder window holds at most a few */
		if (r.nlog < 96)
			unit_fail(__FILE__, __LINE__, "%s: expected >= 96 packets out, got %d", what, r.nlog);
		check_continuous(&r, what, 0);
		check_tone(&r, what);
		rig_free(&r);
	}
}

/* Reordering within the window: every packet arrives at most two places
 * after its turn (the third later one would declare it lost), so nothing
 * is lost, late or concealed and the output is the input, in order. The
 * held packets rarely all leave at once, so their store is compacted. */
static void t_reorder_window(void)
{
	static const char *const in[] = { "PCMU", "opus", "G729" };
	static const int ptimes[] = { 20, 60, 10 };
	for (size_t a = 0; a < sizeof(in) / sizeof(in[0]); a++)
		for (size_t p = 0; p < sizeof(ptimes) / sizeof(ptimes[0]); p++) {
			char what[48];
			snprintf(what, sizeof(what), "%s/%d>PCMA reordered", in[a], ptimes[p]);
			struct rig r;
			if (rig_new(&r, in[a], ptimes[p], -1, "PCMA", ptimes[p], -1) < 0) {
				rig_free(&r);
				continue;
			}
			uint8_t pkt[3][1500];
			size_t len[3];
			uint16_t seq[3];
			int pending = 0, sent = 0, total = 2000 / ptimes[p];
			uint32_t rnd = 12345;
			int made = 0;
			while (sent < total) {
				while (pending < 3 && made < total) {
					seq[pending] = r.seq;
					len[pending] = rig_make(&r, pkt[pending], sizeof(pkt[0]), 1000.0);
					pending++;
					made++;
				}
				rnd = rnd * 1103515245u + 12345u;
				/* the first packet sets where the sequence starts */
				int k = sent ? (int)((rnd >> 16) % (uint32_t)pending) : 0;
				while (k > 0 && (uint16_t)(seq[k] - seq[0]) > 2)
					k--;
				rig_feed(&r, pkt[k], len[k]);
				sent++;
				for (int j = k; j + 1 < pending; j++) {
					memcpy(pkt[j], pkt[j + 1], len[j + 1]);
					len[j] = len[j + 1];
					seq[j] = seq[j + 1];
				}
				pending--;
			}
			struct xcoder_stats st;
			xcoder_get_stats(r.x, &st);
			if (st.in_lost || st.in_late || st.concealed_ms)
				unit_fail(__FILE__, __LINE__, "%s: expected nothing lost, late or concealed; got %llu, %llu, %llu ms",
					  what, (unsigned long long)st.in_lost, (unsigned long long)st.in_late,
					  (unsigned long long)st.concealed_ms);
			if (r.nlog < total - 3)
				unit_fail(__FILE__, __LINE__, "%s: expected >= %d packets out, got %d", what, total - 3, r.nlog);
			check_continuous(&r, what, 0);
			check_tone(&r, what);
			rig_free(&r);
		}
}

/* One packet in three lost: a packet always waits behind the next gap,
 * so the reorder store never empties and is compacted as it goes; every
 * loss is counted once and concealed, the output stays continuous. */
static void t_hold_compact(void)
{
	static const char *const in[] = { "PCMU", "opus", "G729" };
	for (size_t a = 0; a < sizeof(in) / sizeof(in[0]); a++) {
		char what[48];
		snprintf(what, sizeof(what), "%s>PCMU, 1 in 3 lost", in[a]);
		struct rig r;
		if (rig_new(&r, in[a], 20, -1, "PCMU", 20, -1) < 0) {
			rig_free(&r);
			continue;
		}
		uint8_t pkt[1500];
		for (int i = 0; i < 150; i++) {
			size_t len = rig_make(&r, pkt, sizeof(pkt), 1000.0);
			if (i % 3 != 2)
				rig_feed(&r, pkt, len);
		}
		struct xcoder_stats st;
		xcoder_get_stats(r.x, &st);
		/* the last two losses still wait for later packets */
		if (st.in_lost < 48 || st.in_lost > 50 || st.in_late)
			unit_fail(__FILE__, __LINE__, "%s: expected 48..50 lost, none late; got %llu, %llu", what,
				  (unsigned long long)st.in_lost, (unsigned long long)st.in_late);
		EXPECT(st.concealed_ms >= 48 * 20);
		check_continuous(&r, what, 0);
		rig_free(&r);
	}
}

/* Packets far longer than the negotiated ptime cannot all be held: the
 * reorder store makes what it holds leave, a gap is then counted lost and
 * its packet late, and the output stays continuous. */
static void t_hold_overflow(void)
{
	struct rig r;
	if (rig_new(&r, "PCMU", 20, -1, "PCMA", 40, -1) < 0) {
		rig_free(&r);
		return;
	}
	r.in_frame = 960;   /* the party sends 120 ms packets */
	rig_send(&r, 1);
	uint8_t pkt[3][1500];
	size_t len[3];
	for (int i = 0; i < 10; i++) {
		for (int k = 0; k < 3; k++) {
			len[k] = rig_make(&r, pkt[k], sizeof(pkt[0]), 1000.0);
			r.now += 100;
		}
		rig_feed(&r, pkt[1], len[1]);   /* held: fits */
		rig_feed(&r, pkt[2], len[2]);   /* does not: packet 0 is given up */
		rig_feed(&r, pkt[0], len[0]);   /* late */
	}
	struct xcoder_stats st;
	xcoder_get_stats(r.x, &st);
	EXPECT_INT(st.in_lost, 10);
	EXPECT_INT(st.in_late, 10);
	EXPECT(st.concealed_ms > 0);
	EXPECT(r.nlog >= 20 * 3 - 4);
	check_continuous(&r, "PCMU/120 into a 20 ms reorder store", 0);
	rig_free(&r);
}

static void t_dtx(void)
{
	/* G.729 Annex B towards the other leg: silence sends (almost) nothing,
	 * time still passes, the next talkspurt starts with M */
	struct rig r;
	if (rig_new(&r, "PCMU", 20, -1, "G729", 20, -1) == 0) {
		xcoder_free(r.x);
		r.x = NULL;
		r.cfg.out.params.annexb = true;
		EXPECT_INT(xcoder_new(&r.cfg, &r.x), 0);
		if (r.x) {
			rig_send(&r, 25);
			int talk = r.nlog;
			for (int i = 0; i < 50; i++) {   /* 1 s of silence */
				uint8_t pkt[1500];
				size_t len = rig_make(&r, pkt, sizeof(pkt), 0.0);
				rig_feed(&r, pkt, len);
			}
			int quiet = r.nlog - talk;
			rig_send(&r, 25);
			if (quiet > 25)
				unit_fail(__FILE__, __LINE__, "expected < 25 packets in 1 s of silence, got %d", quiet);
			int resumed = -1;
			for (int i = talk + quiet; i < r.nlog && resumed < 0; i++)
				if (r.log[i].len > 2)
					resumed = i;
			if (resumed > 0) {
				const struct outpkt *p = &r.log[resumed - 1], *q = &r.log[resumed];
				EXPECT(q->marker || p->len <= 2);
				EXPECT_INT(q->seq, (uint16_t)(p->seq + 1));
				EXPECT(q->ts - p->ts >= 160 && (q->ts - p->ts) % 80 == 0);
			}
			/* the last packet sits where 100 frames of time put it */
			EXPECT_INT(r.log[r.nlog - 1].ts - r.log[0].ts, 99 * 160);
		}
	}
	rig_free(&r);
}

static void t_ssrc_change(void)
{
	struct rig r;
	if (rig_new(&r, "PCMU", 20, -1, "opus", 20, -1) == 0) {
		rig_send(&r, 30);
		int before = r.nlog;
		r.ssrc = 0x55667788;
		r.seq = 7;
		r.ts = 99;
		rig_send(&r, 30);
		check_continuous(&r, "PCMU>opus across an SSRC change", 0);
		if (before < r.nlog && !r.log[before].marker)
			unit_fail(__FILE__, __LINE__, "expected M on the first packet after the SSRC change (%d)", before);
		for (int i = 1; i < r.nlog; i++)
			if (r.log[i].marker && i != before)
				unit_fail(__FILE__, __LINE__, "expected no M on packet %d", i);
		/* stragglers of the old source are dropped */
		uint8_t pkt[1500];
		r.ssrc = 0x11223344;
		size_t len = rig_make(&r, pkt, sizeof(pkt), 1000.0);
		EXPECT_INT(rig_feed(&r, pkt, len), 0);
		check_tone(&r, "PCMU>opus across an SSRC change");
	}
	rig_free(&r);
}

static void t_silence_marker(void)
{
	/* silence suppression: the ts jumps 1 s, the seq does not */
	struct rig r;
	if (rig_new(&r, "PCMA", 20, -1, "G729", 20, -1) == 0) {
		rig_send(&r, 20);
		int before = r.nlog;
		r.ts += 8000;
		rig_send(&r, 20);
		EXPECT(before > 0 && before < r.nlog);
		if (before > 0 && before < r.nlog) {
			const struct outpkt *p = &r.log[before - 1], *q = &r.log[before];
			EXPECT(q->marker);
			EXPECT_INT(q->seq, (uint16_t)(p->seq + 1));
			/* the whole second passes on the output clock too */
			EXPECT_INT(q->ts - p->ts, 160 + 8000);
		}
	}
	rig_free(&r);
}

/* Sends `digit` as telephone-event: 5 packets of growing duration, then
 * three end packets, on the in leg's clock; audio pauses meanwhile. */
static void send_event(struct rig *r, int digit, int packets)
{
	int clock = r->cfg.in.te_clock;
	uint32_t step = (uint32_t)clock / 50;
	for (int i = 0; i < packets + 3; i++) {
		struct codec_dtmf_event ev = {
			.event = (uint8_t)digit, .volume = 10,
			.end = i >= packets,
			.duration = (uint16_t)(step * (uint32_t)(i < packets ? i + 1 : packets)),
		};
		uint8_t pkt[32];
		rtp_write_header(pkt, sizeof(pkt), (uint8_t)r->cfg.in.te_pt, i == 0, r->seq++, r->ts, r->ssrc);
		codec_dtmf_build(&ev, pkt + 12, 4);
		r->now += 20;
		rig_feed(r, pkt, 16);
	}
	r->ts += step * (uint32_t)packets;
	r->phase += r->rate * packets / 50;
}

static void t_dtmf_events(void)
{
	static const struct { const char *a, *b; int a_te, b_te; } c[] = {
		{ "PCMU", "opus", 101, 110 }, { "opus", "PCMA", 110, 101 }, { "G729", "PCMU", 96, 101 },
		{ "opus", "G729", 120, 101 },
	};
	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		char what[40];
		snprintf(what, sizeof(what), "%s>%s events", c[k].a, c[k].b);
		struct rig r;
		if (rig_new(&r, c[k].a, 20, c[k].a_te, c[k].b, 20, c[k].b_te) < 0) {
			rig_free(&r);
			continue;
		}
		rig_send(&r, 20);
		int audio_before = r.nlog;
		uint32_t next_audio_ts = r.log[audio_before - 1].ts +
					 codec_samples_to_ts(r.cfg.out.desc, r.rate, (uint32_t)r.rate / 50);
		send_event(&r, 5, 5);
		rig_send(&r, 20);
		send_event(&r, 11, 4);   /* '#' */
		rig_send(&r, 10);
		int events = 0, digits = 0, ends = 0, in_event_audio = 0;
		double scale = (double)r.cfg.out.te_clock / r.cfg.in.te_clock;
		uint32_t ev_ts = 0;
		bool inside = false;
		for (int i = 0; i < r.nlog; i++) {
			const struct outpkt *o = &r.log[i];
			if (o->pt != r.cfg.out.te_pt) {
				in_event_audio += inside;
				continue;
			}
			struct codec_dtmf_event ev;
			codec_dtmf_parse(o->payload, 4, &ev);
			events++;
			if (o->marker) {
				digits++;
				ev_ts = o->ts;
				inside = true;
				int want = digits == 1 ? 5 : 11;
				EXPECT_INT(ev.event, want);
				if (digits == 1 && o->ts != next_audio_ts)
					unit_fail(__FILE__, __LINE__, "%s: expected the event at output ts %u (where audio ended), got %u",
						  what, next_audio_ts, o->ts);
			}
			if (o->ts != ev_ts)
				unit_fail(__FILE__, __LINE__, "%s: packet %d: expected event ts %u, got %u", what, i, ev_ts, o->ts);
			if (ev.end) {
				ends++;
				int n = digits == 1 ? 5 : 4;
				uint32_t want = (uint32_t)lrint(r.cfg.in.te_clock / 50 * n * scale);
				if (ev.duration != want)
					unit_fail(__FILE__, __LINE__, "%s: end duration: expected %u, got %u", what, want, ev.duration);
				if (ends % 3 == 0)
					inside = false;
			}
		}
		if (events != 15 || digits != 2 || ends != 6 || in_event_audio)
			unit_fail(__FILE__, __LINE__, "%s: expected 15 event packets, 2 digits, 6 ends, no audio inside; got %d, %d, %d, %d",
				  what, events, digits, ends, in_event_audio);
		/* audio after the event lands after it on the timeline, with M */
		for (int i = 1; i < r.nlog; i++)
			if (r.log[i].pt == r.cfg.out.pt && r.log[i - 1].pt == r.cfg.out.te_pt) {
				EXPECT(r.log[i].marker);
				uint32_t dur = codec_samples_to_ts(r.cfg.out.desc, r.rate, (uint32_t)r.rate / 50 * 4);
				if ((int32_t)(r.log[i].ts - r.log[i - 1].ts) < (int32_t)dur)
					unit_fail(__FILE__, __LINE__, "%s: audio after an event: expected ts >= event ts + %u, got +%d",
						  what, dur, (int32_t)(r.log[i].ts - r.log[i - 1].ts));
			}
		rig_free(&r);
	}
}

static void t_dtmf_inband(void)
{
	/* the other leg has no telephone-event: the digit is played in-band */
	struct rig r;
	if (rig_new(&r, "PCMU", 20, 101, "PCMA", 20, -1) == 0) {
		rig_send(&r, 10);
		send_event(&r, 7, 6);   /* 120 ms */
		rig_send(&r, 15);
		struct codec_dtmf_det *det = NULL;
		codec_dtmf_det_new(8000, &det);
		struct codec_dtmf_tone t[8];
		int n = det ? codec_dtmf_det_feed(det, r.rx, r.rx_n, t, 8) : 0;
		int digits = 0;
		char got = 0;
		for (int i = 0; i < n; i++)
			if (t[i].digit) {
				digits++;
				got = t[i].digit;
			}
		if (digits != 1 || got != '7')
			unit_fail(__FILE__, __LINE__, "in-band: expected one '7', got %d digits, last '%c'", digits, got ? got : '-');
		for (int i = 0; i < r.nlog; i++)
			EXPECT_INT(r.log[i].pt, 8);
		check_continuous(&r, "in-band DTMF", 0);
		codec_dtmf_det_free(det);
	}
	rig_free(&r);
}

static void t_rtcp(void)
{
	struct rig r, back;
	if (rig_new(&r, "PCMU", 20, -1, "opus", 20, -1) < 0 ||
	    rig_new(&back, "opus", 20, -1, "PCMU", 20, -1) < 0)
		return;
	EXPECT_INT(xcoder_pair(r.x, back.x), 0);
	rig_send(&back, 10);   /* the sibling receives something to report on */
	rig_send(&r, 60);      /* 1.2 s */
	EXPECT_INT(r.nrtcp, 1);
	if (r.nrtcp) {
		EXPECT(rtcp_validate(r.rtcp, r.rtcp_len) == 2);
		struct rtcp_iter it;
		struct rtcp_pkt p;
		rtcp_iter_init(&it, r.rtcp, r.rtcp_len);
		EXPECT_INT(rtcp_iter_next(&it, &p), 1);
		EXPECT_INT(p.type, RTCP_SR);
		struct xcoder_stats st;
		xcoder_get_stats(r.x, &st);
		EXPECT_INT(p.ssrc, st.out_ssrc);
		struct rtcp_sender_info si;
		rtcp_sr_info(&p, &si);
		EXPECT_INT(si.packet_count, 51);   /* sent up to the report, 1 s after the first */
		EXPECT_INT(p.count, 1);
		struct rtcp_report_block rb;
		if (rtcp_report_block(&p, 0, &rb) == 0)
			EXPECT_INT(rb.ssrc, back.ssrc);
	}
	rig_send(&r, 250);      /* 5 s later, the next one */
	EXPECT_INT(r.nrtcp, 2);
	/* the party's RR on our output gives loss */
	struct xcoder_stats bst;
	xcoder_get_stats(back.x, &bst);
	uint8_t rr[64];
	struct rtcp_report_block blk = { .ssrc = bst.out_ssrc, .fraction_lost = 64 };
	int n = rtcp_build_rr(rr, sizeof(rr), 0x99, &blk, 1);
	xcoder_rtcp_in(r.x, rr, (size_t)n, r.now);
	xcoder_get_stats(back.x, &bst);
	EXPECT_INT(bst.peer_fraction_lost, 64);
	rig_free(&r);
	rig_free(&back);
}

static void t_bad_input(void)
{
	struct rig r;
	if (rig_new(&r, "PCMU", 20, 101, "PCMA", 20, -1) == 0) {
		uint8_t pkt[200];
		uint8_t *outs[4] = { pkt, pkt, pkt, pkt };
		size_t lens[4];
		rtp_write_header(pkt, sizeof(pkt), 9, false, 1, 1, 1);
		EXPECT_INT(xcoder_rtp_in(r.x, pkt, 172, 0, outs, 1500, lens, 4, NULL), -EPROTO);
		EXPECT_INT(xcoder_rtp_in(r.x, pkt, 5, 0, outs, 1500, lens, 4, NULL), -EBADMSG);
		rtp_write_header(pkt, sizeof(pkt), 101, false, 1, 1, 1);
		EXPECT(xcoder_rtp_in(r.x, pkt, 14, 0, outs, 1500, lens, 4, NULL) >= 0);   /* short event */
	}
	rig_free(&r);
	struct xcoder_cfg bad;
	struct xcoder *x = NULL;
	memset(&bad, 0, sizeof(bad));
	EXPECT_INT(xcoder_new(&bad, &x), -EINVAL);
}

static void t_no_alloc(void)
{
#if COUNT_ALLOCS
	for (int a = 0; a < 4; a++) {
		int b = (a + 1) % 4;
		struct rig r;
		if (rig_new(&r, names[a], 20, 101, names[b], 30, 100) < 0) {
			rig_free(&r);
			continue;
		}
		rig_send(&r, 5);
		allocs = 0;
		counting = 1;
		uint8_t pkt[2][1500];
		size_t len[2];
		for (int i = 0; i < 60; i++) {
			len[i & 1] = rig_make(&r, pkt[i & 1], sizeof(pkt[0]), 1000.0);
			if (i % 10 == 3)
				continue;
			rig_feed(&r, pkt[i & 1], len[i & 1]);
		}
		/* reordered and lost packets: held, compacted, given up */
		for (int i = 0; i < 60; i++) {
			len[0] = rig_make(&r, pkt[0], sizeof(pkt[0]), 1000.0);
			len[1] = rig_make(&r, pkt[1], sizeof(pkt[1]), 1000.0);
			if (i % 3 != 2)
				rig_feed(&r, pkt[1], len[1]);
			if (i % 4 != 1)
				rig_feed(&r, pkt[0], len[0]);
		}
		send_event(&r, 1, 3);
		rig_send(&r, 5);
		counting = 0;
		if (allocs)
			unit_fail(__FILE__, __LINE__, "%s>%s: expected no allocation on the packet path, got %d",
				  names[a], names[b], allocs);
		rig_free(&r);
	}
#endif
}


/* Whether any mapping of this process covers address a (/proc/self/maps). */
static bool mapped(const void *a)
{
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return false;
	uintptr_t lo, hi, x = (uintptr_t)a;
	bool in = false;
	char line[512];
	while (!in && fgets(line, sizeof(line), f))
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR, &lo, &hi) == 2)
			in = x >= lo && x < hi;
	fclose(f);
	return in;
}

/* A transcoder is one mapping of its own, with its decoder and encoder in
 * it, library state included (bcg729's as well): creating one takes nothing
 * from malloc, and xcoder_free() unmaps it, so an ended call gives its
 * pages back to the system whatever else the heap holds. */
static void t_own_mapping(void)
{
	static const struct { const char *a, *b; } c[] = {
		{ "PCMU", "opus" }, { "opus", "PCMA" }, { "PCMU", "PCMA" },
		{ "PCMU", "G729" }, { "G729", "PCMU" },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct xcoder_cfg cfg;
		memset(&cfg, 0, sizeof(cfg));
		side(&cfg.in, c[i].a, pt_of(c[i].a), 20, -1);
		side(&cfg.out, c[i].b, pt_of(c[i].b) == 111 && pt_of(c[i].a) == 111 ? 112 : pt_of(c[i].b), 20, -1);
		cfg.in.params.pcm_rate = cfg.out.params.pcm_rate = 8000;
		struct xcoder *x = NULL;
#if COUNT_ALLOCS
		allocs = 0;
		counting = 1;
#endif
		int rc = xcoder_new(&cfg, &x);
#if COUNT_ALLOCS
		counting = 0;
		if (allocs)
			unit_fail(__FILE__, __LINE__, "%s>%s: xcoder_new: expected no malloc, got %d",
				  c[i].a, c[i].b, allocs);
#endif
		EXPECT_INT(rc, 0);
		if (rc < 0)
			continue;
		EXPECT(mapped(x));
		EXPECT(((uintptr_t)x & 4095) == 0);   /* the start of its own mapping */
		xcoder_free(x);
		if (mapped(x))
			unit_fail(__FILE__, __LINE__, "%s>%s: expected the transcoder unmapped",
				  c[i].a, c[i].b);
	}
}

const struct unit_case unit_cases[] = {
	UNIT(t_pairs),
	UNIT(t_ptime),
	UNIT(t_loss_reorder),
	UNIT(t_reorder_window),
	UNIT(t_hold_compact),
	UNIT(t_hold_overflow),
	UNIT(t_ssrc_change),
	UNIT(t_dtx),
	UNIT(t_silence_marker),
	UNIT(t_dtmf_events),
	UNIT(t_dtmf_inband),
	UNIT(t_rtcp),
	UNIT(t_bad_input),
	UNIT(t_no_alloc),
	UNIT(t_own_mapping),
	{ 0 },
};
