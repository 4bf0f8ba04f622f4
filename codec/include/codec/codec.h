/* codec.h - rtpgate's codec library: codecs described as data, opaque
 * encoders and decoders, RFC 4733 telephone-event helpers and in-band DTMF.
 *
 * Ownership and threads
 * - The codec descriptions (struct codec_desc) are static const data; any
 *   thread may read them at any time.
 * - An encoder, decoder, DTMF detector or DTMF generator belongs to the one
 *   thread that uses it (a worker). Distinct objects share no mutable state,
 *   so different threads may use different objects at the same time.
 * - Every *_new() allocates; nothing else does (but codec_dec_reset() of
 *   G.729). Encode, decode, conceal, detect and generate calls neither
 *   allocate, lock, log nor do I/O, so they are safe on the packet path.
 *   (The first codec_dtmf_det_new() in the process also fills spandsp's
 *   tables, once, under pthread_once.)
 * - *_free() accepts NULL. A *_new() that fails leaves *out untouched and
 *   nothing allocated.
 *
 * Errors: functions return a negative errno value on failure (codec_strerror()
 * names it). The values used are -EINVAL (bad argument or parameter),
 * -ENOSPC (output buffer too small), -EBADMSG (malformed payload),
 * -ENOTSUP (operation not offered by this codec, e.g. encoding
 * telephone-event), -ENOMEM, and -EIO (the underlying library failed).
 *
 * Sample counts are per channel, at the PCM rate the object was created
 * with (struct codec_params.pcm_rate), which is not necessarily the RTP
 * clock rate: Opus always uses a 48 kHz RTP clock (RFC 7587) but may run at
 * 8 kHz internally. codec_samples_to_ts() converts.
 *
 * Typical use, one direction of a transcoded stream (leg A -> leg B):
 *
 *     const struct codec_desc *a = codec_find("PCMU", 8000, 1);
 *     const struct codec_desc *b = codec_find("opus", 48000, 2);
 *     struct codec_params pa, pb;
 *     codec_params_default(a, &pa);
 *     codec_params_from_fmtp(a, fmtp_from_a, &pa);
 *     codec_params_default(b, &pb);
 *     codec_params_from_fmtp(b, fmtp_from_b, &pb);   // B's wishes
 *     pb.pcm_rate = codec_pick_pcm_rate(b, &pb, pa.pcm_rate);  // 8000
 *     codec_dec_new(a, &pa, &dec);  codec_enc_new(b, &pb, &enc);
 *     per packet:  n = codec_decode(dec, payload, len, pcm, max);
 *                  (gap: codec_decode_lost(dec, next_or_NULL, ..., pcm, n))
 *                  out = codec_encode(enc, pcm, n, buf, sizeof(buf));
 *                  ts += codec_samples_to_ts(b, pb.pcm_rate, n);  // 960
 */
#ifndef RG_CODEC_H
#define RG_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum codec_id {
	CODEC_ID_PCMU,
	CODEC_ID_PCMA,
	CODEC_ID_OPUS,
	CODEC_ID_G729,
	CODEC_ID_TELEPHONE_EVENT,
};

struct codec_ops; /* private to the library */

/* One registry entry. Static const data; compare entries by pointer. */
struct codec_desc {
	const char *name;       /* SDP encoding name as written in a=rtpmap */
	enum codec_id id;
	bool audio;             /* false for telephone-event (no enc/dec) */
	int payload_type;       /* static RTP payload type, -1 if dynamic */
	int clock_rate;         /* RTP clock rate (Hz) */
	int channels;           /* channels in a=rtpmap; 1 means omitted */
	int pcm_rate;           /* default internal PCM rate (Hz) */
	int ptime_ms;           /* default packetisation */
	int ptime_step_ms;      /* a valid ptime is a multiple of this ... */
	int ptime_max_ms;       /* ... between step and this */
	const char *fmtp;       /* fmtp we offer by default ("" for none) */
	const struct codec_ops *ops;
};

/* The registry: every codec rtpgate knows, in preference order.
 * telephone-event appears once per supported clock (8000, 48000). */
const struct codec_desc *const *codec_registry(size_t *count);

/* Finds a codec by SDP name (case-insensitive). clock 0 matches any clock
 * (first entry wins); channels 0 matches any. Returns NULL if unknown. */
const struct codec_desc *codec_find(const char *name, int clock, int channels);
/* Finds a codec by static payload type (0, 8, 18); NULL if none. */
const struct codec_desc *codec_find_static(int payload_type);

/* True if ms is a valid packetisation for the codec. */
bool codec_ptime_ok(const struct codec_desc *desc, int ms);

/* PCM samples at pcm_rate -> RTP timestamp units of desc, and back. */
uint32_t codec_samples_to_ts(const struct codec_desc *desc, int pcm_rate,
			     uint32_t samples);
uint32_t codec_ts_to_samples(const struct codec_desc *desc, int pcm_rate,
			     uint32_t ts);

/* Playout duration of one RTP payload, in RTP clock units of desc, without
 * decoding it (Opus: from the TOC; G.729: 10-byte frames plus a trailing
 * 2-byte SID counted as one 10 ms frame; G.711: one unit per byte).
 * Negative errno if malformed, -ENOTSUP for telephone-event. */
int codec_payload_duration(const struct codec_desc *desc,
			   const uint8_t *payload, size_t len);

/* Encoder/decoder settings. codec_params_default() fills the defaults of a
 * codec; codec_params_from_fmtp() then applies a peer's fmtp on top.
 *
 * A peer's fmtp says what it wants to RECEIVE (maxplaybackrate, stereo,
 * useinbandfec, usedtx, maxaveragebitrate, annexb, ptime) -- use it for the
 * encoder towards that peer -- and what it SENDS (sprop-maxcapturerate,
 * sprop-stereo, annexb) -- use it for the decoder from that peer. */
struct codec_params {
	int pcm_rate;        /* PCM rate at this API. G.711/G.729: 8000 only.
			      * Opus: 8000, 12000, 16000, 24000 or 48000. */
	int channels;        /* PCM channels at this API: 1 (Opus also 2) */
	int bitrate;         /* Opus target bps; 0 = default for pcm_rate:
			      * 8k: 16000, 12k: 20000, 16k: 24000, else 32000 */
	int complexity;      /* Opus 0..10; default 5 (about half the CPU of
			      * 10, no audible loss for speech at these rates) */
	int loss_pct;        /* Opus expected loss %, sizes in-band FEC;
			      * default 10 when fec, else 0 */
	bool fec;            /* Opus useinbandfec (default on) */
	bool dtx;            /* Opus usedtx (default off) */
	bool cbr;            /* Opus cbr (default off) */
	bool stereo;         /* Opus: peer prefers to receive stereo */
	bool sprop_stereo;   /* Opus: peer sends stereo */
	bool annexb;         /* G.729 Annex B VAD/CNG; RFC 4856 default: yes */
	int ptime_ms;        /* ptime from fmtp, 0 if absent */
	int maxplaybackrate; /* Opus: highest rate the peer plays (Hz) */
	int sprop_maxcapturerate; /* Opus: highest rate the peer captures */
	int maxaveragebitrate;    /* Opus: peer's cap on our bitrate, 0 none */
	uint32_t events;     /* telephone-event: bit n = event n (0..31) */
};

/* The internal PCM rate to run desc at on a leg whose peer's fmtp gave p,
 * when the other leg of the call runs at other_rate (0: unknown). Opus:
 * the lowest rate libopus supports that is at least the smallest of
 * other_rate and the best the peer plays or captures (maxplaybackrate,
 * sprop-maxcapturerate), so a call to a narrowband leg runs at 8 kHz and
 * needs no resampling. G.711, G.729: 8000. telephone-event: 0. */
int codec_pick_pcm_rate(const struct codec_desc *desc,
			const struct codec_params *p, int other_rate);

/* Fills the codec's defaults. */
void codec_params_default(const struct codec_desc *desc,
			  struct codec_params *p);
/* Applies an a=fmtp value ("useinbandfec=1; maxplaybackrate=16000",
 * "annexb=no", "0-15") to p. Unknown keys are ignored; a known key with a
 * bad value gives -EINVAL and leaves p unchanged. NULL or "" is fine. */
int codec_params_from_fmtp(const struct codec_desc *desc, const char *fmtp,
			   struct codec_params *p);
/* Writes the fmtp value we offer for p (what we want to receive and what
 * we send). Returns its length (0: no fmtp line needed), or -ENOSPC. */
int codec_fmtp_format(const struct codec_desc *desc,
		      const struct codec_params *p, char *buf, size_t cap);

/* Encoders and decoders. */
struct codec_enc;
struct codec_dec;

int codec_enc_new(const struct codec_desc *desc,
		  const struct codec_params *p, struct codec_enc **out);
/* The same encoder built in the caller's memory instead of its own block,
 * so that a caller can keep all of a transcoder in one mapping it returns
 * whole: codec_enc_size() bytes (0: bad desc or params), 16-byte aligned.
 * The memory stays the caller's and holds all of the encoder, the codec
 * library's state included (bcg729's too, see codec/g729.c); nothing is
 * left elsewhere once it is freed. */
size_t codec_enc_size(const struct codec_desc *desc,
		      const struct codec_params *p);
int codec_enc_init(const struct codec_desc *desc, const struct codec_params *p,
		   void *mem, size_t size, struct codec_enc **out);
void codec_enc_free(struct codec_enc *enc);
/* Encodes `samples` PCM samples (interleaved if stereo) into one RTP
 * payload. samples must be a whole packet: G.711 any count; G.729 a
 * multiple of 80 (10 ms); Opus 2.5, 5, 10, 20, 40 or 60 ms, or any multiple
 * of 10 ms up to 120 ms. Returns the payload length; 0 means "nothing to
 * send" (G.729 Annex B or Opus DTX during silence -- still advance the
 * RTP timestamp). */
int codec_encode(struct codec_enc *enc, const int16_t *pcm, int samples,
		 uint8_t *out, size_t outcap);
/* Algorithmic delay added by the encoder, in samples at pcm_rate. */
int codec_enc_delay(const struct codec_enc *enc);
const struct codec_desc *codec_enc_desc(const struct codec_enc *enc);

int codec_dec_new(const struct codec_desc *desc,
		  const struct codec_params *p, struct codec_dec **out);
/* As codec_enc_size()/codec_enc_init(), for a decoder. */
size_t codec_dec_size(const struct codec_desc *desc,
		      const struct codec_params *p);
int codec_dec_init(const struct codec_desc *desc, const struct codec_params *p,
		   void *mem, size_t size, struct codec_dec **out);
void codec_dec_free(struct codec_dec *dec);
/* Decodes one RTP payload into pcm (room for maxsamples per channel);
 * -ENOSPC if it does not fit. An Opus packet is at most 120 ms; size others
 * with codec_payload_duration(). Returns the samples produced per channel. A G.729 SID frame produces
 * 10 ms of comfort noise; fill the rest of a silent gap with
 * codec_decode_lost(), which continues the comfort noise. */
int codec_decode(struct codec_dec *dec, const uint8_t *payload, size_t len,
		 int16_t *pcm, int maxsamples);
/* Conceals `samples` samples of lost audio (G.711: spandsp PLC; G.729:
 * bcg729 erasure or comfort noise after a SID; Opus: its PLC). If the
 * packet AFTER the gap is already at hand, pass it as next/next_len and
 * Opus recovers the loss from its in-band FEC; other codecs ignore it.
 * samples: G.729 multiple of 80, Opus multiple of 2.5 ms. Returns samples. */
int codec_decode_lost(struct codec_dec *dec, const uint8_t *next,
		      size_t next_len, int16_t *pcm, int samples);
/* Forgets the decoder's history (call when the sender's SSRC changes), so
 * the new source is not concealed or filtered with the old one's state.
 * Does not allocate (G.729 makes a fresh bcg729 channel in the same
 * room of the block). */
int codec_dec_reset(struct codec_dec *dec);
/* Algorithmic delay added by the decoder, in samples at pcm_rate. */
int codec_dec_delay(const struct codec_dec *dec);
const struct codec_desc *codec_dec_desc(const struct codec_dec *dec);

const char *codec_strerror(int err);

/* Runs every codec once, at every PCM rate it supports (a few frames
 * encoded and decoded, one concealed), and the DTMF generator and
 * detector: the library code and tables a call would touch the first time,
 * and the stack depth of the calling thread, become resident now rather
 * than in the first call's packet path. Allocates and frees; returns 0 or
 * the first codec error (what could run has run). Any thread. */
int codec_warm_up(void);

/* RFC 4733 telephone-event payloads. */
struct codec_dtmf_event {
	uint8_t event;      /* 0-9, 10 '*', 11 '#', 12-15 A-D, 16 flash */
	bool end;           /* E bit */
	uint8_t volume;     /* 0..63, -dBm0 */
	uint16_t duration;  /* RTP clock units since the event began */
};
#define CODEC_DTMF_PAYLOAD_LEN 4
/* Parses the first event of a payload: 0, or -EBADMSG if len < 4. */
int codec_dtmf_parse(const uint8_t *payload, size_t len,
		     struct codec_dtmf_event *ev);
/* Writes 4 bytes; returns 4, or -ENOSPC / -EINVAL (volume > 63). */
int codec_dtmf_build(const struct codec_dtmf_event *ev, uint8_t *out,
		     size_t cap);
/* Rescales a duration between RTP clocks, rounding to nearest. The result
 * may exceed 16 bits (8 kHz -> 48 kHz); RFC 4733 2.5.1.3 says to split such
 * an event into segments, which is the caller's job. */
uint32_t codec_dtmf_rescale(uint32_t duration, int from_clock, int to_clock);
/* '0'-'9', '*', '#', 'A'-'D' (any case) -> event 0..15; -EINVAL otherwise. */
int codec_dtmf_event_from_char(char c);
/* Event 0..15 -> its character; '\0' for any other event. */
char codec_dtmf_char_from_event(int event);

/* In-band DTMF detection (spandsp's detector) on PCM at 8000, 16000 or
 * 48000 Hz (higher rates are decimated to 8 kHz internally). */
struct codec_dtmf_det;
struct codec_dtmf_tone {
	char digit;          /* the digit now sounding, '\0' when it stopped */
	int level_dbm0;      /* tone level when it began */
	uint64_t position;   /* sample position (at pcm_rate, counted from the
			      * detector's creation) where the change was
			      * found; detection lags the tone by ~20-40 ms */
};
int codec_dtmf_det_new(int pcm_rate, struct codec_dtmf_det **out);
void codec_dtmf_det_free(struct codec_dtmf_det *det);
/* Feeds samples; writes up to max state changes into out and returns how
 * many were written (changes beyond max are dropped; with 20 ms feeds
 * there is at most one per feed). */
int codec_dtmf_det_feed(struct codec_dtmf_det *det, const int16_t *pcm,
			int samples, struct codec_dtmf_tone *out, int max);

/* In-band DTMF generation: an open-ended dual tone at any PCM rate, started
 * and stopped as telephone-events arrive. */
struct codec_dtmf_gen;
int codec_dtmf_gen_new(int pcm_rate, struct codec_dtmf_gen **out);
void codec_dtmf_gen_free(struct codec_dtmf_gen *gen);
/* Starts (or switches to) event 0..15 at -volume dBm0 per tone (0..63). */
int codec_dtmf_gen_start(struct codec_dtmf_gen *gen, int event, int volume);
void codec_dtmf_gen_stop(struct codec_dtmf_gen *gen);
bool codec_dtmf_gen_active(const struct codec_dtmf_gen *gen);
/* While a tone is active, overwrites pcm[0..samples) with it and returns
 * samples; when idle returns 0 and leaves pcm alone. */
int codec_dtmf_gen_fill(struct codec_dtmf_gen *gen, int16_t *pcm,
			int samples);

#endif
