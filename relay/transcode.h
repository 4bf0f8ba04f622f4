/* transcode.h - a transcoder for one direction of one media: RTP arriving
 * from one leg's party is decoded and re-encoded for the other leg, with
 * rtpgate's own SSRC, sequence numbers and timestamps.
 *
 * Created on the control thread (it allocates), installed on the session's
 * worker with worker_post_stages(), and from then on used and freed only on
 * that worker. xcoder_rtp_in() runs on the packet path: it must not
 * allocate or lock.
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

/* Control thread: creates decoder, encoder, buffers. 0 or negative errno. */
int xcoder_new(const struct xcoder_cfg *cfg, struct xcoder **out);

/* Consumes one RTP packet from the party (already authenticated and
 * source-checked). Writes 0..out_max RTP packets for the other leg into
 * out[i] (each out_cap bytes) with their lengths in out_len[i]. Returns the
 * number written, or a negative errno when the packet was dropped. */
int xcoder_rtp_in(struct xcoder *x, const uint8_t *pkt, size_t len, uint64_t now_ms,
		  uint8_t *const *out, size_t out_cap, size_t *out_len, int out_max);
/* RTCP from the party of a transcoded leg: consumed, never forwarded. */
void xcoder_rtcp_in(struct xcoder *x, const uint8_t *pkt, size_t len, uint64_t now_ms);
void xcoder_free(struct xcoder *x);

#endif
