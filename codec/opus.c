/* opus.c - Opus through libopus, following RFC 7587.
 *
 * The RTP clock is 48 kHz whatever the codec runs at; this file only sees
 * PCM at the rate the caller chose (8 kHz when the other leg is narrowband,
 * so nothing is resampled for nothing) and leaves timestamps to the caller.
 * The encoder uses the VOIP application; bitrate, complexity, in-band FEC,
 * DTX, CBR and the audio bandwidth come from struct codec_params, where the
 * peer's maxplaybackrate caps the bandwidth and its maxaveragebitrate caps
 * the bitrate. Packet durations libopus cannot encode as one frame (30, 50,
 * 70, 90, 110 ms) are built from 10 ms frames with a repacketizer that lives
 * in the encoder and the frames' bytes on the stack, so encoding never
 * allocates and an encoder keeps no scratch of its own: it is libopus's
 * state and a few words (see opus_encoder_get_size()), built in one block
 * with opus_encoder_init() (codec_impl.h), so a caller may place it. Decoding conceals losses
 * with libopus's PLC, or with in-band FEC when the next packet is at hand.
 */
#include "codec_impl.h"

#include <errno.h>
#include <stdlib.h>

#include <opus.h>

#define MAX_CHUNKS 12		/* 120 ms of 10 ms frames */
#define MAX_FRAME_BYTES 1275	/* RFC 6716 3.2.1 */

static const int opus_rates[] = { 8000, 12000, 16000, 24000, 48000, 0 };

struct opus_enc {
	struct codec_enc base;
	OpusEncoder *oe;
	OpusRepacketizer *rp;
	bool dtx;
};

struct opus_dec {
	struct codec_dec base;
	OpusDecoder *od;
};

static int map_err(int err)
{
	switch (err) {
	case OPUS_BAD_ARG: return -EINVAL;
	case OPUS_BUFFER_TOO_SMALL: return -ENOSPC;
	case OPUS_INVALID_PACKET: return -EBADMSG;
	case OPUS_ALLOC_FAIL: return -ENOMEM;
	default: return -EIO;
	}
}

static int default_bitrate(int rate)
{
	if (rate <= 8000)
		return 16000;
	if (rate <= 12000)
		return 20000;
	if (rate <= 16000)
		return 24000;
	return 32000;
}

static int bandwidth_for(int rate)
{
	if (rate <= 8000)
		return OPUS_BANDWIDTH_NARROWBAND;
	if (rate <= 12000)
		return OPUS_BANDWIDTH_MEDIUMBAND;
	if (rate <= 16000)
		return OPUS_BANDWIDTH_WIDEBAND;
	if (rate <= 24000)
		return OPUS_BANDWIDTH_SUPERWIDEBAND;
	return OPUS_BANDWIDTH_FULLBAND;
}

/* The encoder block: struct opus_enc, then libopus's encoder and
 * repacketizer states, each aligned. */
static size_t enc_off_oe(void) { return CODEC_ALIGN(sizeof(struct opus_enc)); }
static size_t enc_off_rp(const struct codec_params *p)
{
	return enc_off_oe() + CODEC_ALIGN((size_t)opus_encoder_get_size(p->channels));
}

static size_t opus_enc_size(const struct codec_params *p)
{
	return enc_off_rp(p) + (size_t)opus_repacketizer_get_size();
}

static int opus_enc_init(struct codec_enc *base, const struct codec_params *p, size_t size)
{
	struct opus_enc *e = (struct opus_enc *)base;
	e->oe = (OpusEncoder *)((char *)e + enc_off_oe());
	e->rp = (OpusRepacketizer *)((char *)e + enc_off_rp(p));
	int err = opus_encoder_init(e->oe, p->pcm_rate, p->channels, OPUS_APPLICATION_VOIP);
	if (err != OPUS_OK)
		return map_err(err);
	opus_repacketizer_init(e->rp);
	int bitrate = p->bitrate > 0 ? p->bitrate : default_bitrate(p->pcm_rate);
	if (p->maxaveragebitrate > 0 && bitrate > p->maxaveragebitrate)
		bitrate = p->maxaveragebitrate;
	if (bitrate < 6000)
		bitrate = 6000;
	if (bitrate > 510000)
		bitrate = 510000;
	int complexity = p->complexity < 0 ? 0 :
			 p->complexity > 10 ? 10 : p->complexity;
	int loss = p->loss_pct > 0 ? p->loss_pct : p->fec ? 10 : 0;
	if (loss > 100)
		loss = 100;
	int play = p->maxplaybackrate > 0 && p->maxplaybackrate < p->pcm_rate ?
		   p->maxplaybackrate : p->pcm_rate;
	int lookahead = 0;
	if (opus_encoder_ctl(e->oe, OPUS_SET_BITRATE(bitrate)) != OPUS_OK ||
	    opus_encoder_ctl(e->oe, OPUS_SET_COMPLEXITY(complexity)) != OPUS_OK ||
	    opus_encoder_ctl(e->oe, OPUS_SET_INBAND_FEC(p->fec ? 1 : 0)) != OPUS_OK ||
	    opus_encoder_ctl(e->oe, OPUS_SET_PACKET_LOSS_PERC(loss)) != OPUS_OK ||
	    opus_encoder_ctl(e->oe, OPUS_SET_DTX(p->dtx ? 1 : 0)) != OPUS_OK ||
	    opus_encoder_ctl(e->oe, OPUS_SET_VBR(p->cbr ? 0 : 1)) != OPUS_OK ||
	    opus_encoder_ctl(e->oe, OPUS_SET_MAX_BANDWIDTH(bandwidth_for(play))) != OPUS_OK ||
	    opus_encoder_ctl(e->oe, OPUS_GET_LOOKAHEAD(&lookahead)) != OPUS_OK)
		return -EINVAL;
	e->dtx = p->dtx;
	e->base.delay = lookahead;
	return 0;
}

/* True if libopus encodes `samples` as a single call. */
static bool direct_size(int rate, int samples)
{
	/* 2.5, 5, 10, 20, 40, 60, 80, 100, 120 ms, in units of 2.5 ms */
	static const int quarters[] = { 1, 2, 4, 8, 16, 24, 32, 40, 48 };
	for (size_t i = 0; i < sizeof(quarters) / sizeof(quarters[0]); i++)
		if (samples * 400 == quarters[i] * rate)
			return true;
	return false;
}

static int opus_encode_op(struct codec_enc *base, const int16_t *pcm,
			  int samples, uint8_t *out, size_t cap)
{
	struct opus_enc *e = (struct opus_enc *)base;
	int rate = base->pcm_rate;
	opus_int32 room = cap > MAX_CHUNKS * MAX_FRAME_BYTES ?
			  MAX_CHUNKS * MAX_FRAME_BYTES : (opus_int32)cap;
	if (direct_size(rate, samples)) {
		int n = opus_encode(e->oe, pcm, samples, out, room);
		if (n < 0)
			return map_err(n);
		return e->dtx && n <= 2 ? 0 : n;
	}
	int ten = rate / 100;
	if (samples % ten != 0 || samples / ten > MAX_CHUNKS)
		return -EINVAL;
	int chunks = samples / ten;
	bool all_dtx = true;
	/* the repacketizer points into the frames until its output is built */
	uint8_t chunk[MAX_CHUNKS][MAX_FRAME_BYTES];
	opus_repacketizer_init(e->rp);
	for (int i = 0; i < chunks; i++) {
		int n = opus_encode(e->oe, pcm + (size_t)i * ten * base->channels,
				    ten, chunk[i], MAX_FRAME_BYTES);
		if (n < 0)
			return map_err(n);
		all_dtx &= n <= 2;
		n = opus_repacketizer_cat(e->rp, chunk[i], n);
		if (n != OPUS_OK)
			return map_err(n);
	}
	if (e->dtx && all_dtx)
		return 0;
	int n = opus_repacketizer_out(e->rp, out, room);
	return n < 0 ? map_err(n) : n;
}

static size_t dec_off_od(void) { return CODEC_ALIGN(sizeof(struct opus_dec)); }

static size_t opus_dec_size(const struct codec_params *p)
{
	return dec_off_od() + (size_t)opus_decoder_get_size(p->channels);
}

static int opus_dec_init(struct codec_dec *base, const struct codec_params *p, size_t size)
{
	struct opus_dec *d = (struct opus_dec *)base;
	d->od = (OpusDecoder *)((char *)d + dec_off_od());
	int err = opus_decoder_init(d->od, p->pcm_rate, p->channels);
	return err == OPUS_OK ? 0 : map_err(err);
}

static int opus_decode_op(struct codec_dec *base, const uint8_t *in,
			  size_t len, int16_t *pcm, int max)
{
	struct opus_dec *d = (struct opus_dec *)base;
	if (len > (size_t)MAX_CHUNKS * MAX_FRAME_BYTES)
		return -EBADMSG;
	int n = opus_decode(d->od, in, (opus_int32)len, pcm, max, 0);
	return n < 0 ? map_err(n) : n;
}

static int opus_decode_lost_op(struct codec_dec *base, const uint8_t *next,
			       size_t next_len, int16_t *pcm, int samples)
{
	struct opus_dec *d = (struct opus_dec *)base;
	if (samples % (base->pcm_rate / 400) != 0)
		return -EINVAL;
	if (next_len > (size_t)MAX_CHUNKS * MAX_FRAME_BYTES)
		next = NULL;
	int n = next ? opus_decode(d->od, next, (opus_int32)next_len, pcm,
				   samples, 1)
		     : opus_decode(d->od, NULL, 0, pcm, samples, 0);
	if (n < 0 && next)	/* a bad next packet: plain PLC */
		n = opus_decode(d->od, NULL, 0, pcm, samples, 0);
	return n < 0 ? map_err(n) : n;
}

static int opus_dec_reset(struct codec_dec *base)
{
	struct opus_dec *d = (struct opus_dec *)base;
	return opus_decoder_ctl(d->od, OPUS_RESET_STATE) == OPUS_OK ? 0 : -EIO;
}

static int opus_duration(const uint8_t *payload, size_t len)
{
	if (len == 0 || len > (size_t)MAX_CHUNKS * MAX_FRAME_BYTES)
		return -EBADMSG;
	int n = opus_packet_get_nb_samples(payload, (opus_int32)len, 48000);
	return n < 0 ? map_err(n) : n;
}

const struct codec_ops codec_opus_ops = {
	.pcm_rates = opus_rates,
	.max_channels = 2,
	.enc_size = opus_enc_size,
	.enc_init = opus_enc_init,
	.encode = opus_encode_op,
	.dec_size = opus_dec_size,
	.dec_init = opus_dec_init,
	.decode = opus_decode_op,
	.decode_lost = opus_decode_lost_op,
	.dec_reset = opus_dec_reset,
	.duration = opus_duration,
};
