/* codec_impl.h - private to codec/: what a codec implementation provides.
 *
 * Each codec file (g711.c, opus.c, g729.c) defines one const struct
 * codec_ops. Its objects embed struct codec_enc / struct codec_dec as their
 * first member; codec.c checks arguments common to all codecs before it
 * calls an op, so ops may assume non-NULL pointers, samples > 0 and a
 * pcm_rate/channels combination their *_new accepted.
 *
 * An encoder or decoder lives in one block of *_size() bytes that codec.c
 * provides zeroed (its own calloc, or the caller's memory through
 * codec_enc_init()/codec_dec_init()); *_init builds the object at the start
 * of the block, with any library state after it in the same block, and
 * *_fini (may be NULL) closes a library's state in it (bcg729). The block
 * is freed by codec.c, or by its owner.
 */
#ifndef RG_CODEC_IMPL_H
#define RG_CODEC_IMPL_H

#include "codec/codec.h"

struct codec_enc {
	const struct codec_desc *desc;
	int pcm_rate;
	int channels;
	int delay;
	bool placed;        /* in the caller's memory: not freed here */
};

struct codec_dec {
	const struct codec_desc *desc;
	int pcm_rate;
	int channels;
	int delay;
	bool placed;
};

/* Offsets inside a block: library state aligned as malloc would. */
#define CODEC_ALIGN(n) (((n) + 15) & ~(size_t)15)

struct codec_ops {
	/* pcm_rate values this codec accepts, 0-terminated */
	const int *pcm_rates;
	int max_channels;
	size_t (*enc_size)(const struct codec_params *);
	/* the block's size (at least *_size()) is the third argument */
	int (*enc_init)(struct codec_enc *, const struct codec_params *, size_t);
	void (*enc_fini)(struct codec_enc *);
	int (*encode)(struct codec_enc *, const int16_t *, int, uint8_t *,
		      size_t);
	size_t (*dec_size)(const struct codec_params *);
	int (*dec_init)(struct codec_dec *, const struct codec_params *, size_t);
	void (*dec_fini)(struct codec_dec *);
	int (*decode)(struct codec_dec *, const uint8_t *, size_t, int16_t *,
		      int);
	int (*decode_lost)(struct codec_dec *, const uint8_t *, size_t,
			   int16_t *, int);
	int (*dec_reset)(struct codec_dec *);
	/* payload duration in RTP clock units, or negative errno */
	int (*duration)(const uint8_t *, size_t);
};

extern const struct codec_ops codec_pcmu_ops;
extern const struct codec_ops codec_pcma_ops;
extern const struct codec_ops codec_opus_ops;
extern const struct codec_ops codec_g729_ops;

/* g711.c: the sample conversions, also used by the tests through the
 * public API only (kept here for the benchmark and other codec files). */
uint8_t g711_ulaw_encode(int16_t s);
uint8_t g711_alaw_encode(int16_t s);
int16_t g711_ulaw_decode(uint8_t u);
int16_t g711_alaw_decode(uint8_t a);

#endif
