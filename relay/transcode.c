/* transcode.c - one direction of a transcoded media; see transcode.h.
 *
 * Input: packets from the party pass a small reorder buffer keyed by
 * sequence number (XC_SLOTS slots; a missing packet is waited for until
 * XC_REORDER later ones are at hand, then declared lost). Packets leave the
 * buffer in sequence order and are processed one by one; a packet in order
 * is processed where it lies, only one that must wait is copied, into a
 * small byte store sized to the input codec (see hold_cap()). A packet
 * that does not fit there even after compaction makes what is held leave
 * at once, its gaps counted as lost, as a sequence jump does.
 *   - audio is decoded into PCM appended to an accumulator; a gap in the
 *     input timestamps before it is filled by the decoder's concealment when
 *     sequence numbers were lost (Opus recovers the last lost frame from the
 *     in-band FEC of the packet at hand), by silence otherwise (silence
 *     suppression, an event, DTX): silent whole output frames are not sent,
 *     only their time passes;
 *   - telephone-event packets are forwarded as events with the other leg's
 *     payload type, timestamp and clock, one input packet for one output
 *     packet (end packets and their retransmissions included); while an
 *     event sounds, audio from the party is decoded but not sent. When the
 *     other leg has no telephone-event, the event is played in-band instead
 *     (codec_dtmf_gen) for as long as its duration says.
 * Audio is decoded (and concealed) straight into the accumulator, which
 * holds one input packet of the longest kind we decode (XC_IN_MS) plus one
 * output packet and XC_BACKLOG_MS for output that waits for send room:
 * a few KB at 8 kHz, sized per direction from its rate and ptimes.
 * Output: whenever the accumulator holds a whole output packet (out.ptime_ms
 * of PCM), it is encoded and sent with our SSRC, the next sequence number
 * and a timestamp that follows the input timeline: output timestamps are
 * map_out + (input timestamp - map_in) on the output clock, and the mapping
 * is only re-based (at the current end of the output) when the input
 * timeline breaks (a new SSRC, a jump back or of more than XC_JUMP_S). So
 * output stays continuous across loss, reordering, SSRC changes and ptime
 * differences. The marker bit goes on the first audio packet after a
 * silence, an event or a re-base.
 * RTCP: about every XC_RTCP_MS of output, one SR + SDES compound packet is
 * added to the outputs, describing what we sent to the other leg and (when
 * paired) what the sibling direction received from it.
 * Everything is allocated in xcoder_new(); xcoder_rtp_in() neither
 * allocates nor locks. A transcoder is one mapping of its own (mmap): the
 * struct, accumulator and hold store, then the decoder and encoder built in
 * place (codec_dec_init, codec_enc_init), library state included: libopus's
 * and bcg729's (codec/g729.c places the latter). xcoder_free() unmaps it,
 * so an ended call returns exactly the pages its transcoders used, rather
 * than leaving them in malloc's arenas where a few live or cached small
 * blocks would keep them resident.
 */
#include "transcode.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "rtcp.h"
#include "rtp.h"

/* LeakSanitizer does not scan mappings it did not make: the heap block a
 * transcoder points to (its pair link) would look leaked
 * while it lives. Sanitizer builds register the mapping as a root. */
#if defined(__SANITIZE_ADDRESS__)
#define XC_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define XC_LSAN 1
#endif
#endif
#ifdef XC_LSAN
#include <sanitizer/lsan_interface.h>
#define xc_root_add(p, n) __lsan_register_root_region(p, n)
#define xc_root_del(p, n) __lsan_unregister_root_region(p, n)
#else
#define xc_root_add(p, n) ((void)(p), (void)(n))
#define xc_root_del(p, n) ((void)(p), (void)(n))
#endif

#define XC_SLOTS 8                /* reorder buffer slots (a power of two) */
#define XC_REORDER 3              /* later packets at hand before a gap is loss */
#define XC_PAYLOAD_MAX 1500
#define XC_RATE_MAX 48000
#define XC_IN_MS 120              /* the longest input packet decoded (Opus's longest) */
#define XC_BACKLOG_MS 40          /* output kept while it waits for send room */
#define XC_CONCEAL_MS 120         /* longer losses: concealment, then silence */
#define XC_JUMP_S 10              /* input timestamp jumps beyond: re-base */
#define XC_RTCP_FIRST_MS 1000
#define XC_RTCP_MS 5000
#define XC_SEQ_BACK 100           /* further back: the sender restarted its numbering */
#define XC_EVENT_TIMEOUT_MS 200   /* an event whose end was lost ends after */

/* A packet held for reordering; its payload is at hold[off]. */
struct xc_slot {
	bool used;
	bool marker;
	uint8_t pt;
	uint16_t seq;
	uint16_t off, len;
	uint32_t ts;
};

/* What one direction knows about the party it receives from; the sibling
 * direction reads it to report on that party. */
struct xc_rx {
	struct rtcp_rxstats rx;
	bool rx_on;
	uint32_t lsr;              /* middle 32 bits of the party's last SR */
	uint64_t sr_arrival_ns;
	uint32_t rtt_q16;
	uint8_t fraction_lost;     /* the party's last report on our output */
	uint32_t to_ssrc;          /* our SSRC towards this party, 0 unknown */
};

struct xc_link {
	atomic_int refs;
	struct xc_rx rec[2];
};

struct xcoder {
	struct xcoder_side in, out;
	int rate;                  /* common PCM rate */
	int out_frame;             /* samples per output packet */
	uint32_t out_frame_ts;     /* its duration on the output clock */
	struct codec_dec *dec;
	struct codec_enc *enc;
	struct codec_dtmf_gen *gen;   /* in-band DTMF when out.te_pt < 0 */

	/* input */
	bool started;
	bool sync;                 /* the next audio re-bases the mapping */
	bool loss;                 /* sequence numbers were lost before the next packet */
	uint32_t ssrc, old_ssrc;
	bool have_old;
	uint16_t next_seq;
	uint32_t in_next_ts;       /* input timestamp where the PCM so far ends */
	int last_frame;            /* samples of the last audio packet */
	bool cn;                   /* the last audio was a G.729 SID: gaps are comfort noise */
	struct xc_slot slots[XC_SLOTS];
	int held;
	int hold_cap, hold_end;    /* bytes of hold[], end of what is stored */
	uint8_t *hold;             /* payloads of held packets */

	/* the timeline mapping */
	uint32_t map_in, map_out;

	/* output */
	uint32_t out_ssrc;
	uint16_t out_seq;
	uint32_t acc_ts;           /* output timestamp of acc[acc_off] */
	int acc_off, acc_n;        /* PCM waiting: acc[acc_off .. acc_off + acc_n) */
	bool marker;

	/* telephone-event */
	bool ev_valid;             /* ev_* describe the last event seen */
	bool ev_active;            /* it has not ended yet */
	uint32_t ev_ts_in;
	uint32_t ev_ts_out;
	uint32_t ev_dur_in;
	uint64_t ev_last_ms;

	/* RTCP */
	uint32_t tx_packets, tx_octets;
	uint32_t last_tx_ts;
	uint64_t last_tx_ms;
	uint64_t next_rtcp_ms;
	struct xc_rx own;
	struct xc_rx *rx_self, *rx_peer;
	struct xc_link *link;
	char cname[40];
	struct xcoder_stats st;

	/* one call's outputs */
	uint8_t *const *out_buf;
	size_t out_cap;
	size_t *out_len;
	uint8_t *out_kind;
	int out_max, n_out;

	int in_max, acc_max;       /* samples at rate */
	int16_t *acc;              /* PCM waiting to be encoded, and decode room */
	size_t map_len;            /* the mapping this struct starts */
	int16_t mem[];             /* acc, then hold, then the decoder and encoder */
};

/* ---- time conversions ---- */

static uint32_t in_ts_to_samples(const struct xcoder *x, uint32_t ts)
{
	return codec_ts_to_samples(x->in.desc, x->rate, ts);
}

static uint32_t samples_to_in_ts(const struct xcoder *x, uint32_t n)
{
	return codec_samples_to_ts(x->in.desc, x->rate, n);
}

static uint32_t samples_to_out_ts(const struct xcoder *x, uint32_t n)
{
	return codec_samples_to_ts(x->out.desc, x->rate, n);
}

/* The output timestamp of an input timestamp. */
static uint32_t map_ts(const struct xcoder *x, uint32_t in_ts)
{
	int32_t d = (int32_t)(in_ts - x->map_in);
	int64_t o = (int64_t)d * x->out.desc->clock_rate / x->in.desc->clock_rate;
	return x->map_out + (uint32_t)o;
}

/* The output timestamp where the PCM so far ends. */
static uint32_t out_end(const struct xcoder *x)
{
	return x->acc_ts + samples_to_out_ts(x, (uint32_t)x->acc_n);
}

static void rebase(struct xcoder *x, uint32_t in_ts)
{
	x->map_in = in_ts;
	x->map_out = out_end(x);
	x->in_next_ts = in_ts;
	x->marker = true;
}

/* ---- output ---- */

static uint8_t *out_slot(struct xcoder *x)
{
	return x->n_out < x->out_max ? x->out_buf[x->n_out] : NULL;
}

static void out_commit(struct xcoder *x, size_t len, uint8_t kind)
{
	x->out_len[x->n_out] = len;
	if (x->out_kind)
		x->out_kind[x->n_out] = kind;
	x->n_out++;
}

static void sent_rtp(struct xcoder *x, uint32_t ts, size_t payload, uint64_t now)
{
	x->tx_packets++;
	x->tx_octets += (uint32_t)payload;
	x->last_tx_ts = ts;
	x->last_tx_ms = now;
	x->st.out_packets++;
	if (!x->next_rtcp_ms)
		x->next_rtcp_ms = now + XC_RTCP_FIRST_MS;
}

/* One output frame leaves the accumulator (sent, silent or dropped). */
static void acc_take(struct xcoder *x)
{
	x->acc_n -= x->out_frame;
	x->acc_off = x->acc_n ? x->acc_off + x->out_frame : 0;
	x->acc_ts += x->out_frame_ts;
}

/* Encodes and sends whole frames from the accumulator while outputs last. */
static void emit(struct xcoder *x, uint64_t now)
{
	while (x->acc_n >= x->out_frame) {
		uint8_t *b = out_slot(x);
		if (!b)
			return;
		int r = codec_encode(x->enc, x->acc + x->acc_off, x->out_frame, b + RTP_HEADER_MIN,
				     x->out_cap - RTP_HEADER_MIN);
		if (r > 0) {
			rtp_write_header(b, x->out_cap, (uint8_t)x->out.pt, x->marker,
					 x->out_seq++, x->acc_ts, x->out_ssrc);
			out_commit(x, RTP_HEADER_MIN + (size_t)r, XC_OUT_RTP);
			sent_rtp(x, x->acc_ts, (size_t)r, now);
			x->marker = false;
		} else {
			x->marker = true;   /* DTX/SID silence (or an error): time passes */
		}
		acc_take(x);
	}
}

/* Room for n (<= in_max) samples right after the PCM waiting: sends what
 * it can first and, when the output is backed up, drops the oldest frames.
 * The accumulator holds in_max + out_frame samples at least, so the room
 * is always found. Write there, then acc_commit(). */
static int16_t *acc_room(struct xcoder *x, int n, uint64_t now)
{
	if (x->acc_off + x->acc_n + n <= x->acc_max)
		return x->acc + x->acc_off + x->acc_n;
	emit(x, now);
	while (x->acc_n + n > x->acc_max) {
		/* the output is backed up: drop the oldest frame */
		acc_take(x);
		x->marker = true;
		x->st.dropped_pcm_ms += (uint64_t)x->out.ptime_ms;
	}
	if (x->acc_off + x->acc_n + n > x->acc_max) {
		memmove(x->acc, x->acc + x->acc_off, (size_t)x->acc_n * sizeof(x->acc[0]));
		x->acc_off = 0;
	}
	return x->acc + x->acc_off + x->acc_n;
}

static void acc_commit(struct xcoder *x, int n, uint64_t now)
{
	x->acc_n += n;
	emit(x, now);
}

/* Appends n samples (pcm, or silence when pcm is NULL). Whole silent frames
 * that would start an empty accumulator are not sent: only time passes. */
static void push(struct xcoder *x, const int16_t *pcm, int n, uint64_t now)
{
	while (n > 0) {
		if (!pcm && x->acc_n == 0 && n >= x->out_frame) {
			int skip = n - n % x->out_frame;
			x->acc_ts += samples_to_out_ts(x, (uint32_t)skip);
			x->marker = true;
			n -= skip;
			continue;
		}
		int k = n < x->in_max ? n : x->in_max;
		int16_t *d = acc_room(x, k, now);
		if (pcm) {
			memcpy(d, pcm, (size_t)k * sizeof(*pcm));
			pcm += k;
		} else {
			memset(d, 0, (size_t)k * sizeof(*d));
		}
		n -= k;
		acc_commit(x, k, now);
	}
}

/* Silence up to the next frame boundary, so what came before leaves now. */
static void pad_frame(struct xcoder *x, uint64_t now)
{
	int k = (x->out_frame - x->acc_n % x->out_frame) % x->out_frame;
	if (!k)
		return;
	push(x, NULL, k, now);
	x->in_next_ts += samples_to_in_ts(x, (uint32_t)k);
}

/* ---- input: audio ---- */

/* Fills `samples` of lost audio: concealment (FEC from `next` at the end
 * for Opus) up to XC_CONCEAL_MS, silence beyond. */
static void conceal(struct xcoder *x, int samples, const uint8_t *next, size_t next_len,
		    uint64_t now)
{
	int unit = x->last_frame > 0 ? x->last_frame : x->rate / 50;
	if (unit > x->in_max)
		unit = x->in_max;
	if (x->in.desc->id == CODEC_ID_G729)
		unit = unit - unit % 80 ? unit - unit % 80 : 80;
	int max = x->rate * XC_CONCEAL_MS / 1000;
	int c = samples - samples % unit;
	if (c > max)
		c = max - max % unit;
	int silence = samples - c;
	x->st.concealed_ms += (uint64_t)c * 1000 / (uint64_t)x->rate;
	while (c > 0) {
		int k = c > unit ? unit : c;
		bool last = k == c;
		int16_t *d = acc_room(x, k, now);
		int r = codec_decode_lost(x->dec, last && silence == 0 ? next : NULL,
					  last && silence == 0 ? next_len : 0, d, k);
		if (r <= 0) {
			silence += c;
			break;
		}
		acc_commit(x, r, now);
		c -= k;
	}
	if (silence > 0)
		push(x, NULL, silence, now);
}

static void event_end_implicit(struct xcoder *x)
{
	if (x->gen && codec_dtmf_gen_active(x->gen))
		codec_dtmf_gen_stop(x->gen);
	x->ev_active = false;
	x->marker = true;
}

/* One audio packet: the gap before it is filled first (concealment, for
 * Opus from this packet's FEC, then decoded in order), then the packet is
 * decoded straight into the accumulator. */
static void audio_in(struct xcoder *x, uint32_t ts, bool marker, const uint8_t *p, size_t len,
		     uint64_t now)
{
	int dur = codec_payload_duration(x->in.desc, p, len);
	if (dur <= 0)
		return;
	int samples = (int)in_ts_to_samples(x, (uint32_t)dur);
	if (samples <= 0 || samples > x->in_max)
		return;
	if (x->ev_active && (now - x->ev_last_ms > XC_EVENT_TIMEOUT_MS ||
			     (int32_t)(ts - (x->ev_ts_in + x->ev_dur_in)) >
			     (int32_t)(x->in.desc->clock_rate / 5)))
		event_end_implicit(x);   /* its end packets were all lost */
	if (x->sync) {
		rebase(x, ts);
		x->sync = false;
	}
	int32_t gap = (int32_t)(ts - x->in_next_ts);
	int32_t jump = x->in.desc->clock_rate * XC_JUMP_S;
	if (gap > jump || gap < -jump) {
		rebase(x, ts);
		gap = 0;
	}
	bool loss = x->loss;
	x->loss = false;
	int skip = 0;
	if (gap < 0) {
		/* overlaps what we already have: keep only what is new */
		skip = (int)in_ts_to_samples(x, (uint32_t)-gap);
	} else if (gap > 0 && !x->ev_active) {
		int gs = (int)in_ts_to_samples(x, (uint32_t)gap);
		if (loss || x->cn)
			conceal(x, gs, p, len, now);
		else
			push(x, NULL, gs, now);
		if (!loss)
			x->marker = true;
		x->in_next_ts = ts;
	}
	/* decoded even during an event, to keep the decoder's history, but
	 * the party's own rendering of the tone is not sent */
	int16_t *d = acc_room(x, samples, now);
	int n = codec_decode(x->dec, p, len, d, x->acc_max - x->acc_off - x->acc_n);
	if (n <= 0 || x->ev_active || skip >= n)
		return;
	if (skip)
		memmove(d, d + skip, (size_t)(n - skip) * sizeof(*d));
	if (marker)
		x->marker = true;
	acc_commit(x, n - skip, now);
	x->in_next_ts = ts + (uint32_t)dur;
	x->last_frame = n;
	x->cn = x->in.desc->id == CODEC_ID_G729 && len % 10 == 2;
}

/* ---- input: telephone-event ---- */

static void event_out(struct xcoder *x, const struct codec_dtmf_event *ev, bool marker,
		      uint64_t now)
{
	emit(x, now);
	uint8_t *b = out_slot(x);
	if (!b)
		return;   /* the sender's retransmissions cover it */
	struct codec_dtmf_event o = *ev;
	uint32_t d = codec_dtmf_rescale(ev->duration, x->in.te_clock, x->out.te_clock);
	o.duration = (uint16_t)(d > 0xffff ? 0xffff : d);
	int r = codec_dtmf_build(&o, b + RTP_HEADER_MIN, x->out_cap - RTP_HEADER_MIN);
	if (r < 0)
		return;
	rtp_write_header(b, x->out_cap, (uint8_t)x->out.te_pt, marker, x->out_seq++,
			 x->ev_ts_out, x->out_ssrc);
	out_commit(x, RTP_HEADER_MIN + (size_t)r, XC_OUT_RTP);
	sent_rtp(x, x->ev_ts_out, (size_t)r, now);
	x->st.out_events++;
}

static void event_in(struct xcoder *x, uint32_t ts, bool marker, const uint8_t *p, size_t len,
		     uint64_t now)
{
	struct codec_dtmf_event ev;
	if (codec_dtmf_parse(p, len, &ev) < 0)
		return;
	bool same = x->ev_valid && ts == x->ev_ts_in;
	if (same && !x->ev_active) {
		/* a retransmitted end packet */
		if (!x->gen && ev.end)
			event_out(x, &ev, false, now);
		return;
	}
	if (!same) {
		if (x->ev_active)
			event_end_implicit(x);
		if (x->sync) {
			rebase(x, ts);
			x->sync = false;
		}
		if (!x->gen)
			pad_frame(x, now);   /* the audio before the event leaves first */
		x->ev_valid = x->ev_active = true;
		x->ev_ts_in = ts;
		x->ev_ts_out = map_ts(x, ts);
		marker = true;
		if (x->gen) {
			int32_t gap = (int32_t)(ts - x->in_next_ts);
			int32_t clock = x->in.desc->clock_rate;
			if (gap > 0 && gap < clock) {
				push(x, NULL, (int)in_ts_to_samples(x, (uint32_t)gap), now);
				x->in_next_ts = ts;
			} else if (gap >= clock || gap < -clock) {
				rebase(x, ts);   /* far from the audio: the tone starts afresh */
			}
			codec_dtmf_gen_start(x->gen, ev.event < 16 ? ev.event : 0, ev.volume);
		}
	}
	x->ev_dur_in = ev.duration;
	x->ev_last_ms = now;
	if (x->gen) {
		/* in-band: the tone until where the event's duration reaches */
		int32_t want = (int32_t)(ts + ev.duration - x->in_next_ts);
		if (want > 0 && want < (int32_t)x->in.desc->clock_rate * 2) {
			int n = (int)in_ts_to_samples(x, (uint32_t)want);
			x->in_next_ts += (uint32_t)want;
			while (n > 0) {
				int k = n > x->in_max ? x->in_max : n;
				int16_t *d = acc_room(x, k, now);
				memset(d, 0, (size_t)k * sizeof(*d));
				codec_dtmf_gen_fill(x->gen, d, k);
				acc_commit(x, k, now);
				n -= k;
			}
		}
	} else {
		event_out(x, &ev, marker, now);
	}
	if (ev.end) {
		if (x->gen)
			codec_dtmf_gen_stop(x->gen);
		x->ev_active = false;
		x->marker = true;
	}
}

/* ---- input: ordering ---- */

static void process(struct xcoder *x, uint8_t pt, bool marker, uint32_t ts,
		    const uint8_t *p, size_t len, uint64_t now)
{
	if (pt == x->in.pt)
		audio_in(x, ts, marker, p, len, now);
	else
		event_in(x, ts, marker, p, len, now);
}

static struct xc_slot *slot_of(struct xcoder *x, uint16_t seq)
{
	struct xc_slot *s = &x->slots[seq % XC_SLOTS];
	return s->used && s->seq == seq ? s : NULL;
}

/* Processes held packets in order; with `all`, gaps are declared lost
 * without waiting. */
static void drain(struct xcoder *x, bool all, uint64_t now)
{
	while (x->held) {
		struct xc_slot *s = slot_of(x, x->next_seq);
		if (s) {
			process(x, s->pt, s->marker, s->ts, x->hold + s->off, s->len, now);
			s->used = false;
			if (!--x->held)
				x->hold_end = 0;
			x->next_seq++;
			continue;
		}
		/* a gap: wait unless enough later packets are at hand */
		uint16_t first = 0, last = 0;
		bool any = false;
		for (int i = 0; i < XC_SLOTS; i++) {
			struct xc_slot *h = &x->slots[i];
			if (!h->used)
				continue;
			uint16_t d = (uint16_t)(h->seq - x->next_seq);
			if (!any || d < (uint16_t)(first - x->next_seq))
				first = h->seq;
			if (!any || d > (uint16_t)(last - x->next_seq))
				last = h->seq;
			any = true;
		}
		if (!all && (uint16_t)(last - x->next_seq) < XC_REORDER)
			return;
		x->st.in_lost += (uint16_t)(first - x->next_seq);
		x->loss = true;
		x->next_seq = first;
	}
}

/* Moves the held payloads to the start of hold[], in the order they lie. */
static void hold_compact(struct xcoder *x)
{
	int end = 0;
	for (;;) {
		struct xc_slot *lo = NULL;
		for (int i = 0; i < XC_SLOTS; i++) {
			struct xc_slot *s = &x->slots[i];
			if (s->used && s->off >= end && (!lo || s->off < lo->off))
				lo = s;
		}
		if (!lo)
			break;
		memmove(x->hold + end, x->hold + lo->off, lo->len);
		lo->off = (uint16_t)end;
		end += lo->len;
	}
	x->hold_end = end;
}

/* Keeps a packet that arrived ahead of its turn; false if it does not fit. */
static bool hold_put(struct xcoder *x, const struct rtp_hdr *h)
{
	int len = (int)h->payload_len;
	if (x->hold_end + len > x->hold_cap)
		hold_compact(x);
	if (x->hold_end + len > x->hold_cap)
		return false;
	struct xc_slot *s = &x->slots[h->seq % XC_SLOTS];
	s->used = true;
	s->marker = h->marker;
	s->pt = h->pt;
	s->seq = h->seq;
	s->ts = h->ts;
	s->off = (uint16_t)x->hold_end;
	s->len = (uint16_t)len;
	memcpy(x->hold + x->hold_end, h->payload, (size_t)len);
	x->hold_end += len;
	x->held++;
	return true;
}

/* A packet ahead of the next expected one: held for reordering, or, after
 * a jump in the numbering or when it cannot be held, what is held leaves
 * now, the rest counts as lost and the packet is processed. */
static void ahead(struct xcoder *x, const struct rtp_hdr *h, uint64_t now)
{
	int16_t d = (int16_t)(h->seq - x->next_seq);
	if (d > 0 && d < XC_SLOTS) {
		if (hold_put(x, h))
			return;
		drain(x, true, now);   /* no room: the held packets leave first */
		d = (int16_t)(h->seq - x->next_seq);
		if (d < 0) {
			x->st.in_late++;
			return;
		}
		if (d > 0 && hold_put(x, h))
			return;
	}
	drain(x, true, now);
	if ((int16_t)(h->seq - x->next_seq) > 0) {
		x->st.in_lost += (uint16_t)(h->seq - x->next_seq);
		x->loss = true;
	}
	x->next_seq = h->seq;
	process(x, h->pt, h->marker, h->ts, h->payload, h->payload_len, now);
	x->next_seq++;
}

static void ssrc_change(struct xcoder *x, uint32_t ssrc, uint16_t seq, uint64_t now)
{
	drain(x, true, now);
	codec_dec_reset(x->dec);
	if (x->ev_active)
		event_end_implicit(x);
	x->ev_valid = false;
	x->old_ssrc = x->ssrc;
	x->have_old = true;
	x->ssrc = ssrc;
	x->next_seq = seq;
	x->sync = true;
	x->loss = false;
	x->last_frame = 0;
	rtcp_rxstats_init(&x->rx_self->rx, ssrc, (uint32_t)x->in.desc->clock_rate, 0);
}

static void rtcp_out(struct xcoder *x, uint64_t now);

int xcoder_rtp_in(struct xcoder *x, const uint8_t *pkt, size_t len, uint64_t now_ms,
		  uint8_t *const *out, size_t out_cap, size_t *out_len, int out_max,
		  uint8_t *out_kind)
{
	struct rtp_hdr h;
	if (rtp_parse(&h, pkt, len) < 0 || out_cap < RTP_HEADER_MIN + 16)
		return -EBADMSG;
	if (h.pt != x->in.pt && (x->in.te_pt < 0 || h.pt != x->in.te_pt))
		return -EPROTO;
	if (!h.payload_len || h.payload_len > XC_PAYLOAD_MAX)
		return -EBADMSG;
	x->out_buf = out;
	x->out_cap = out_cap;
	x->out_len = out_len;
	x->out_kind = out_kind;
	x->out_max = out_max;
	x->n_out = 0;

	if (!x->started) {
		x->started = true;
		x->ssrc = h.ssrc;
		x->next_seq = h.seq;
		x->sync = true;
		rtcp_rxstats_init(&x->rx_self->rx, h.ssrc, (uint32_t)x->in.desc->clock_rate, 0);
		x->rx_self->rx_on = true;
	} else if (h.ssrc != x->ssrc) {
		if (x->have_old && h.ssrc == x->old_ssrc) {
			x->st.in_late++;
			return 0;   /* stragglers of the source that was replaced */
		}
		ssrc_change(x, h.ssrc, h.seq, now_ms);
	}
	rtcp_rxstats_update(&x->rx_self->rx, h.seq, h.ts, now_ms * 1000000u);
	x->st.in_packets++;

	int16_t d = (int16_t)(h.seq - x->next_seq);
	if ((d < 0 && d > -XC_SEQ_BACK) || (d > 0 && slot_of(x, h.seq))) {
		x->st.in_late++;
	} else if (d == 0) {
		process(x, h.pt, h.marker, h.ts, h.payload, h.payload_len, now_ms);
		x->next_seq++;
		drain(x, false, now_ms);
	} else {
		ahead(x, &h, now_ms);
		drain(x, false, now_ms);
	}
	emit(x, now_ms);
	if (out_kind)
		rtcp_out(x, now_ms);
	return x->n_out;
}

/* ---- RTCP ---- */

static uint64_t wall_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint64_t mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void rtcp_out(struct xcoder *x, uint64_t now)
{
	if (!x->next_rtcp_ms || now < x->next_rtcp_ms)
		return;
	uint8_t *b = out_slot(x);
	if (!b)
		return;
	x->next_rtcp_ms = now + XC_RTCP_MS;
	struct rtcp_sender_info si = {
		.ntp = rtcp_ntp_from_unix_ns(wall_ns()),
		.rtp_ts = x->last_tx_ts + (uint32_t)((now - x->last_tx_ms) *
						     (uint64_t)x->out.desc->clock_rate / 1000),
		.packet_count = x->tx_packets,
		.octet_count = x->tx_octets,
	};
	struct rtcp_report_block rb;
	unsigned nb = 0;
	if (x->rx_peer && x->rx_peer->rx_on && x->rx_peer->rx.received) {
		uint32_t dlsr = x->rx_peer->lsr ? rtcp_dlsr(x->rx_peer->sr_arrival_ns, mono_ns()) : 0;
		rtcp_rxstats_report(&x->rx_peer->rx, &rb, x->rx_peer->lsr, dlsr);
		nb = 1;
	}
	int n = rtcp_build_sr(b, x->out_cap, x->out_ssrc, &si, &rb, nb);
	if (n < 0)
		return;
	int m = rtcp_build_sdes_cname(b + n, x->out_cap - (size_t)n, x->out_ssrc, x->cname,
				      strlen(x->cname));
	if (m < 0)
		return;
	out_commit(x, (size_t)(n + m), XC_OUT_RTCP);
	x->st.out_rtcp++;
}

void xcoder_rtcp_in(struct xcoder *x, const uint8_t *pkt, size_t len, uint64_t now_ms)
{
	(void)now_ms;
	struct rtcp_iter it;
	struct rtcp_pkt p;
	rtcp_iter_init(&it, pkt, len);
	/* reports on our output in this direction's sibling: its SSRC is what
	 * the party receives from us */
	uint32_t ours = x->rx_self->to_ssrc;
	while (rtcp_iter_next(&it, &p) == 1) {
		if (p.type == RTCP_SR) {
			struct rtcp_sender_info si;
			if (rtcp_sr_info(&p, &si) == 0) {
				x->rx_self->lsr = rtcp_ntp_mid32(si.ntp);
				x->rx_self->sr_arrival_ns = mono_ns();
			}
		}
		if (p.type != RTCP_SR && p.type != RTCP_RR)
			continue;
		for (unsigned i = 0; i < p.count; i++) {
			struct rtcp_report_block rb;
			if (rtcp_report_block(&p, i, &rb) < 0)
				break;
			if (ours && rb.ssrc != ours)
				continue;
			uint32_t rtt;
			struct xc_rx *r = x->rx_self;
			if (rtcp_rtt(rtcp_ntp_mid32(rtcp_ntp_from_unix_ns(wall_ns())), rb.lsr,
				     rb.dlsr, &rtt) == 0)
				r->rtt_q16 = rtt;
			r->fraction_lost = rb.fraction_lost;
		}
	}
}

/* ---- life cycle ---- */

void xcoder_get_stats(const struct xcoder *x, struct xcoder_stats *st)
{
	*st = x->st;
	st->out_ssrc = x->out_ssrc;
	/* the party we send to reports on us to the sibling, which files it
	 * in its own record: that is our rx_peer */
	const struct xc_rx *r = x->rx_peer ? x->rx_peer : x->rx_self;
	st->rtt_us = (uint32_t)rtcp_q16_to_us(r->rtt_q16);
	st->peer_fraction_lost = r->fraction_lost;
}

static bool side_ok(const struct xcoder_side *s)
{
	return s->desc && s->desc->audio && s->pt >= 0 && s->pt < 128 &&
	       s->params.pcm_rate > 0 && s->params.pcm_rate <= XC_RATE_MAX &&
	       s->ptime_ms > 0 && s->ptime_ms <= 120;
}

/* Bytes for the payloads of held packets: at most XC_REORDER - 1 wait
 * for a gap and one more arrives, so twice XC_REORDER packets of the
 * party's codec at its ptime (20 ms at least) leave room for longer
 * packets than negotiated. Opus is counted at 128 kbit/s; packets beyond
 * that still pass, in order, but are not held for reordering. */
static int hold_cap(const struct xcoder_side *in)
{
	int ms = in->ptime_ms > 20 ? in->ptime_ms : 20;
	int bytes;
	switch (in->desc->id) {
	case CODEC_ID_PCMU:
	case CODEC_ID_PCMA:
		bytes = ms * 8;
		break;
	case CODEC_ID_G729:
		bytes = ms + 2;   /* 10-byte frames of 10 ms, a SID at the end */
		break;
	default:
		bytes = ms * 16;
		break;
	}
	return 2 * XC_REORDER * bytes;
}

static uint32_t random32(void)
{
	uint32_t v;
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (uint32_t)wall_ns() ^ (uint32_t)mono_ns();
	return v;
}

int xcoder_new(const struct xcoder_cfg *cfg, struct xcoder **out)
{
	if (!cfg || !side_ok(&cfg->in) || !side_ok(&cfg->out) ||
	    cfg->in.params.pcm_rate != cfg->out.params.pcm_rate)
		return -EINVAL;
	int rate = cfg->in.params.pcm_rate;
	int in_max = rate * XC_IN_MS / 1000;
	int out_frame = rate * cfg->out.ptime_ms / 1000;
	int acc_max = in_max + out_frame + rate * XC_BACKLOG_MS / 1000;
	int hold = hold_cap(&cfg->in);
	struct codec_params inp = cfg->in.params, outp = cfg->out.params;
	inp.channels = outp.channels = 1;
	size_t head = (sizeof(struct xcoder) + (size_t)acc_max * sizeof(int16_t) + (size_t)hold + 15) &
		      ~(size_t)15;
	size_t dec_size = codec_dec_size(cfg->in.desc, &inp);
	size_t enc_size = codec_enc_size(cfg->out.desc, &outp);
	if (!dec_size || !enc_size)
		return cfg->in.desc->ops && cfg->out.desc->ops ? -EINVAL : -ENOTSUP;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = (head + dec_size + enc_size + page - 1) / page * page;
	void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return -ENOMEM;
	xc_root_add(map, len);
	struct xcoder *x = map;   /* zero-filled by the kernel */
	x->map_len = len;
	x->in_max = in_max;
	x->acc_max = acc_max;
	x->acc = x->mem;
	x->hold = (uint8_t *)(x->mem + acc_max);
	x->hold_cap = hold;
	x->in = cfg->in;
	x->out = cfg->out;
	x->in.params.channels = x->out.params.channels = 1;
	if (x->in.te_pt >= 0 && x->in.te_clock <= 0)
		x->in.te_clock = x->in.desc->clock_rate;
	if (x->out.te_pt >= 0 && x->out.te_clock <= 0)
		x->out.te_clock = x->out.desc->clock_rate;
	x->rate = x->in.params.pcm_rate;
	x->out_frame = x->rate * x->out.ptime_ms / 1000;
	x->out_frame_ts = samples_to_out_ts(x, (uint32_t)x->out_frame);
	int r = -EINVAL;
	if (x->out_frame <= 0 || x->out_frame > x->in_max)
		goto fail;
	if ((r = codec_dec_init(x->in.desc, &x->in.params, (char *)x + head, dec_size,
				&x->dec)) < 0 ||
	    (r = codec_enc_init(x->out.desc, &x->out.params, (char *)x + head + dec_size,
				enc_size, &x->enc)) < 0)
		goto fail;
	if (x->in.te_pt >= 0 && x->out.te_pt < 0 &&
	    (r = codec_dtmf_gen_new(x->rate, &x->gen)) < 0)
		goto fail;
	x->out_ssrc = random32();
	uint32_t s = random32();
	x->out_seq = (uint16_t)s;
	x->acc_ts = s ^ random32();
	x->marker = true;
	x->rx_self = &x->own;
	snprintf(x->cname, sizeof(x->cname), "rtpgate-%08x", x->out_ssrc);
	*out = x;
	return 0;
fail:
	codec_dec_free(x->dec);
	codec_enc_free(x->enc);
	codec_dtmf_gen_free(x->gen);
	xc_root_del(x, x->map_len);
	munmap(x, x->map_len);
	return r;
}

int xcoder_pair(struct xcoder *a, struct xcoder *b)
{
	if (!a || !b || a == b || a->link || b->link)
		return -EINVAL;
	struct xc_link *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	atomic_init(&l->refs, 2);
	l->rec[0] = a->own;
	l->rec[1] = b->own;
	a->link = b->link = l;
	a->rx_self = b->rx_peer = &l->rec[0];
	b->rx_self = a->rx_peer = &l->rec[1];
	l->rec[0].to_ssrc = b->out_ssrc;   /* a's party receives from b */
	l->rec[1].to_ssrc = a->out_ssrc;
	return 0;
}

static void destroy(struct xcoder *x)
{
	codec_dec_free(x->dec);
	codec_enc_free(x->enc);
	codec_dtmf_gen_free(x->gen);
	xc_root_del(x, x->map_len);
	munmap(x, x->map_len);
}

void xcoder_free(struct xcoder *x)
{
	if (!x)
		return;
	if (x->link && atomic_fetch_sub(&x->link->refs, 1) == 1)
		free(x->link);
	destroy(x);
}
