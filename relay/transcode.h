/* transcode.h - a transcoder for one direction of one media: RTP arriving
 * from one leg's party is decoded and re-encoded for the other leg, with
 * rtpgate's own SSRC, sequence numbers and timestamps.
 *
 * Created on the control thread (it allocates), installed on the
 * session's worker with worker_post_stages(), and from then on used only on
 * that worker. xcoder_rtp_in() runs on the packet path: it must not
 * allocate or lock.
 *
 * The two directions of one media may be paired with xcoder_pair() (control
 * thread, before they are installed; both must then live on one worker): each
 * then reports in its RTCP what its sibling received from the party it sends
 * to, and the RTT/loss that party reports. Unpaired, a transcoder's RTCP is
 * a sender report without report blocks.
 */
#ifndef RG_TRANSCODE_H
#define RG_TRANSCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <codec/codec.h>

struct xcoder;

/* One side of a transcoder: a codec with its payload type on that leg,
 * the parameters from that leg's fmtp, and the leg's telephone-event. */
struct xcoder_side {
	const struct codec_desc *desc;
	int pt;
	struct codec_params params;   /* params.pcm_rate = the common PCM rate */
	int ptime_ms;                 /* packetisation on this leg */
	int te_pt;                    /* telephone-event payload type, -1 if none */
	int te_clock;                 /* its clock (8000 or 48000 ...) */
};

struct xcoder_cfg {
	struct xcoder_side in;        /* what the party sends us */
	struct xcoder_side out;       /* what we send to the other leg */
	const char *call_id;          /* for nothing but the caller's logs; may be NULL */
};

/* Control thread: creates decoder, encoder, buffers. 0 or negative errno
 * (-EINVAL for a side without an audio codec or a ptime the codec cannot
 * packetise, -ENOMEM, or the codec library's error). */
int xcoder_new(const struct xcoder_cfg *cfg, struct xcoder **out);

/* Pairs the two directions of one media (a: A->B, b: B->A) so their RTCP
 * describes both directions. Control thread, before installing either.
 * 0 or -ENOMEM (then both stay unpaired, which is harmless). */
int xcoder_pair(struct xcoder *a, struct xcoder *b);

/* What an output packet is, in out_kind[i]. */
enum { XC_OUT_RTP = 0, XC_OUT_RTCP = 1 };

/* Consumes one RTP packet from the party (already authenticated and
 * source-checked). Writes 0..out_max packets for the other leg into
 * out[i] (each out_cap bytes) with their lengths in out_len[i] and, when
 * out_kind is not NULL, their kind in out_kind[i]: RTP, or an RTCP compound
 * packet (SR + SDES, about every 5 s) to send on the other leg's RTCP port.
 * With out_kind NULL no RTCP is produced. Returns the number written, 0 for
 * a packet held back (reordering) or dropped as late or as a duplicate, or
 * -EBADMSG / -EPROTO for one that is malformed or of a payload type this
 * transcoder does not take. Output beyond out_max stays queued (audio) or
 * is dropped (telephone-event: the sender's retransmissions cover it). */
int xcoder_rtp_in(struct xcoder *x, const uint8_t *pkt, size_t len, uint64_t now_ms,
		  uint8_t *const *out, size_t out_cap, size_t *out_len, int out_max,
		  uint8_t *out_kind);
/* RTCP from the party of a transcoded leg: consumed, never forwarded. An
 * SR's time is kept for the LSR of our reports, a report block on our SSRC
 * gives RTT and loss. */
void xcoder_rtcp_in(struct xcoder *x, const uint8_t *pkt, size_t len, uint64_t now_ms);

/* Counters of one direction, for tests and statistics. [wrk] */
struct xcoder_stats {
	uint64_t in_packets;      /* accepted from the party (audio and events) */
	uint64_t in_lost;         /* sequence numbers never seen */
	uint64_t in_late;         /* arrived after their turn, dropped */
	uint64_t concealed_ms;    /* audio made up by the decoder's concealment */
	uint64_t out_packets;     /* RTP sent (audio and events) */
	uint64_t out_events;      /* telephone-event packets sent */
	uint64_t out_rtcp;        /* RTCP compound packets sent */
	uint64_t dropped_pcm_ms;  /* audio dropped because output backed up */
	uint32_t out_ssrc;
	uint32_t rtt_us;          /* from the party's reports on us, 0 unknown */
	uint8_t peer_fraction_lost; /* their last report on us, /256 */
};
void xcoder_get_stats(const struct xcoder *x, struct xcoder_stats *st);

/* Any thread: unmaps the transcoder, codec state and all. */
void xcoder_free(struct xcoder *x);

#endif
