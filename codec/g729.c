/* g729.c - G.729 (Annex A complexity) through bcg729, with or without
 * Annex B (VAD, DTX and comfort noise).
 *
 * RTP carries whole 10 ms frames of 10 bytes (RFC 3551 4.5.6); with Annex B
 * a frame may instead be a 2-byte SID (silence description), which must be
 * the last frame of its packet, or not be sent at all. The encoder builds a
 * packet from the frames bcg729 gives it: voice frames in order, and a SID
 * only if no voice frame follows it in the same packet. A decoder turns a
 * SID into 10 ms of comfort noise; a lost frame after active speech is
 * concealed by bcg729's erasure handling and after a SID continues the
 * comfort noise (ITU-T G.729 Annex B, B.27), so gaps in a silent stream are
 * filled with codec_decode_lost().
 *
 * bcg729 takes its channel state from calloc() and hands it back with
 * free(), in its init and close functions and nowhere else. The build
 * links a copy of Debian's libbcg729.a in which those two calls are
 * renamed to codec_g729_calloc() and codec_g729_free() below
 * (codec/meson.build), and these give out room inside the encoder's or
 * decoder's own block instead. So a G.729 codec, like G.711 and Opus,
 * lives wholly in the block its caller places it in: nothing of it is left
 * in malloc's arenas after the block is freed or unmapped, however many
 * calls came and went. How much room a channel takes is found by a dry run
 * of bcg729's init into a buffer on the stack, so it follows whatever
 * bcg729 version is linked. The one piece of thread state, g729_room, is
 * set only while bcg729's init or close runs.
 */
#include "codec_impl.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bcg729/decoder.h>
#include <bcg729/encoder.h>

#define FRAME_SAMPLES 80
#define FRAME_BYTES 10
#define SID_BYTES 2
#define LOOKAHEAD 40	/* 5 ms */

#define DRY_RUN_ROOM 16384	/* bcg729 1.1.1 takes 2.4 KB (encoder, Annex B), 1.9 KB (decoder) */

static const int g729_rates[] = { 8000, 0 };

/* Where bcg729's calloc() takes from: [base, end), next the first free byte.
 * `used` counts what it asked for, also past the end (a dry run's answer). */
struct g729_room {
	char *base, *next, *end;
	size_t used;
};

/* The room of the channel being made or closed on this thread, set only
 * for the length of one bcg729 init or close call. */
static _Thread_local struct g729_room *g729_room;

void *codec_g729_calloc(size_t n, size_t size);
void codec_g729_free(void *ptr);

void *codec_g729_calloc(size_t n, size_t size)
{
	struct g729_room *r = g729_room;
	size_t len;
	if (!r || __builtin_mul_overflow(n, size, &len) || len > SIZE_MAX / 2)
		return calloc(n, size);
	len = CODEC_ALIGN(len);
	r->used += len;
	if (len > (size_t)(r->end - r->next))
		return calloc(n, size);   /* not for a room sized by a dry run */
	void *p = r->next;
	r->next += len;
	memset(p, 0, len);
	return p;
}

void codec_g729_free(void *ptr)
{
	struct g729_room *r = g729_room;
	if (r && (char *)ptr >= r->base && (char *)ptr < r->end)
		return;   /* goes with the block */
	free(ptr);
}

static void room_at(struct g729_room *r, void *base, size_t len)
{
	r->base = r->next = base;
	r->end = r->base + len;
	r->used = 0;
}

/* The bytes bcg729 asks for to make one channel: an encoder (annexb 0 or
 * 1) or, with annexb < 0, a decoder. */
static size_t channel_room(int annexb)
{
	_Alignas(16) char buf[DRY_RUN_ROOM];
	struct g729_room r;
	room_at(&r, buf, sizeof(buf));
	g729_room = &r;
	if (annexb < 0)
		closeBcg729DecoderChannel(initBcg729DecoderChannel());
	else
		closeBcg729EncoderChannel(initBcg729EncoderChannel(annexb));
	g729_room = NULL;
	return r.used;
}

struct g729_enc {
	struct codec_enc base;
	bcg729EncoderChannelContextStruct *ctx;
	struct g729_room room;   /* right after this struct, in the block */
};

struct g729_dec {
	struct codec_dec base;
	bcg729DecoderChannelContextStruct *ctx;
	struct g729_room room;
};

static size_t g729_enc_size(const struct codec_params *p)
{
	return CODEC_ALIGN(sizeof(struct g729_enc)) + channel_room(p->annexb ? 1 : 0);
}

/* The room is the rest of the block. */
static int g729_enc_init(struct codec_enc *base, const struct codec_params *p, size_t size)
{
	struct g729_enc *e = (struct g729_enc *)base;
	room_at(&e->room, (char *)e + CODEC_ALIGN(sizeof(*e)), size - CODEC_ALIGN(sizeof(*e)));
	g729_room = &e->room;
	e->ctx = initBcg729EncoderChannel(p->annexb ? 1 : 0);
	g729_room = NULL;
	if (!e->ctx)
		return -ENOMEM;
	e->base.delay = LOOKAHEAD;
	return 0;
}

static void g729_enc_fini(struct codec_enc *base)
{
	struct g729_enc *e = (struct g729_enc *)base;
	g729_room = &e->room;
	if (e->ctx)
		closeBcg729EncoderChannel(e->ctx);
	g729_room = NULL;
	e->ctx = NULL;
}

static int g729_encode(struct codec_enc *base, const int16_t *pcm,
		       int samples, uint8_t *out, size_t cap)
{
	struct g729_enc *e = (struct g729_enc *)base;
	if (samples % FRAME_SAMPLES != 0)
		return -EINVAL;
	int frames = samples / FRAME_SAMPLES;
	if (cap < (size_t)frames * FRAME_BYTES)
		return -ENOSPC;
	size_t len = 0;
	uint8_t sid[SID_BYTES] = { 0, 0 };
	bool have_sid = false;
	for (int i = 0; i < frames; i++) {
		uint8_t frame[FRAME_BYTES];
		uint8_t n = 0;
		bcg729Encoder(e->ctx, pcm + i * FRAME_SAMPLES, frame, &n);
		if (n == FRAME_BYTES) {
			for (int k = 0; k < FRAME_BYTES; k++)
				out[len++] = frame[k];
			have_sid = false;	/* a SID must come last */
		} else if (n == SID_BYTES) {
			sid[0] = frame[0];
			sid[1] = frame[1];
			have_sid = true;
		}
	}
	if (have_sid) {
		out[len++] = sid[0];
		out[len++] = sid[1];
	}
	return (int)len;
}

static int frames_in(size_t len)
{
	size_t rem = len % FRAME_BYTES;
	if (len == 0 || (rem != 0 && rem != SID_BYTES) ||
	    len > 1000 * FRAME_BYTES)
		return -EBADMSG;
	return (int)(len / FRAME_BYTES) + (rem ? 1 : 0);
}

static size_t g729_dec_size(const struct codec_params *p)
{
	return CODEC_ALIGN(sizeof(struct g729_dec)) + channel_room(-1);
}

static int g729_dec_init(struct codec_dec *base, const struct codec_params *p, size_t size)
{
	struct g729_dec *d = (struct g729_dec *)base;
	room_at(&d->room, (char *)d + CODEC_ALIGN(sizeof(*d)), size - CODEC_ALIGN(sizeof(*d)));
	g729_room = &d->room;
	d->ctx = initBcg729DecoderChannel();
	g729_room = NULL;
	return d->ctx ? 0 : -ENOMEM;
}

static void g729_dec_fini(struct codec_dec *base)
{
	struct g729_dec *d = (struct g729_dec *)base;
	g729_room = &d->room;
	if (d->ctx)
		closeBcg729DecoderChannel(d->ctx);
	g729_room = NULL;
	d->ctx = NULL;
}

static int g729_decode(struct codec_dec *base, const uint8_t *in, size_t len,
		       int16_t *pcm, int max)
{
	struct g729_dec *d = (struct g729_dec *)base;
	int frames = frames_in(len);
	if (frames < 0)
		return frames;
	if (frames * FRAME_SAMPLES > max)
		return -ENOSPC;
	for (int i = 0; i < frames; i++) {
		size_t left = len - (size_t)i * FRAME_BYTES;
		bool sid = left == SID_BYTES;
		bcg729Decoder(d->ctx, in + i * FRAME_BYTES,
			      sid ? SID_BYTES : FRAME_BYTES, 0, sid ? 1 : 0, 0,
			      pcm + i * FRAME_SAMPLES);
	}
	return frames * FRAME_SAMPLES;
}

static int g729_decode_lost(struct codec_dec *base, const uint8_t *next,
			    size_t next_len, int16_t *pcm, int samples)
{
	struct g729_dec *d = (struct g729_dec *)base;
	if (samples % FRAME_SAMPLES != 0)
		return -EINVAL;
	for (int i = 0; i < samples / FRAME_SAMPLES; i++)
		bcg729Decoder(d->ctx, NULL, 0, 1, 0, 0,
			      pcm + i * FRAME_SAMPLES);
	return samples;
}

/* A fresh channel in the same room: bcg729 has no reset of its own. */
static int g729_dec_reset(struct codec_dec *base)
{
	struct g729_dec *d = (struct g729_dec *)base;
	g729_room = &d->room;
	closeBcg729DecoderChannel(d->ctx);
	d->room.next = d->room.base;
	d->ctx = initBcg729DecoderChannel();
	g729_room = NULL;
	return d->ctx ? 0 : -ENOMEM;
}

static int g729_duration(const uint8_t *payload, size_t len)
{
	int frames = frames_in(len);
	return frames < 0 ? frames : frames * FRAME_SAMPLES;
}

const struct codec_ops codec_g729_ops = {
	.pcm_rates = g729_rates,
	.max_channels = 1,
	.enc_size = g729_enc_size,
	.enc_init = g729_enc_init,
	.enc_fini = g729_enc_fini,
	.encode = g729_encode,
	.dec_size = g729_dec_size,
	.dec_init = g729_dec_init,
	.dec_fini = g729_dec_fini,
	.decode = g729_decode,
	.decode_lost = g729_decode_lost,
	.dec_reset = g729_dec_reset,
	.duration = g729_duration,
};
