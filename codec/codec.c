/* codec.c - the public encoder/decoder entry points.
 *
 * Each call checks what is common to every codec (NULL pointers, counts,
 * the PCM rate and channels the codec accepts) and then hands over to the
 * codec's ops from its description. Keeping the checks here means the
 * codec files hold nothing but codec work. An encoder or decoder is one
 * block (codec_impl.h): calloc'ed here, or the caller's memory
 * (codec_enc_init/codec_dec_init) when the caller wants all of a
 * transcoder in one mapping it gives back whole. codec_warm_up() runs
 * every codec once so a daemon can pay the first use at start.
 */
#include "codec_impl.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static int check_params(const struct codec_desc *desc,
			const struct codec_params *p)
{
	const struct codec_ops *ops = desc->ops;
	bool rate_ok = false;
	for (const int *r = ops->pcm_rates; *r; r++)
		rate_ok |= *r == p->pcm_rate;
	if (!rate_ok)
		return -EINVAL;
	if (p->channels < 1 || p->channels > ops->max_channels)
		return -EINVAL;
	return 0;
}

/* What both constructors check first; *p becomes the defaults when NULL. */
static int new_args(const struct codec_desc *desc, const struct codec_params **p,
		    struct codec_params *def, const void *out)
{
	if (!desc || !out)
		return -EINVAL;
	if (!desc->ops)
		return -ENOTSUP;
	if (!*p) {
		codec_params_default(desc, def);
		*p = def;
	}
	return check_params(desc, *p);
}

size_t codec_enc_size(const struct codec_desc *desc,
		      const struct codec_params *p)
{
	struct codec_params def;
	if (new_args(desc, &p, &def, &def) < 0)
		return 0;
	return CODEC_ALIGN(desc->ops->enc_size(p));
}

int codec_enc_new(const struct codec_desc *desc,
		  const struct codec_params *p, struct codec_enc **out)
{
	struct codec_params def;
	int rc = new_args(desc, &p, &def, out);
	if (rc < 0)
		return rc;
	size_t size = CODEC_ALIGN(desc->ops->enc_size(p));
	void *mem = malloc(size);   /* 16-byte aligned; zeroed by the init */
	if (!mem)
		return -ENOMEM;
	rc = codec_enc_init(desc, p, mem, size, out);
	if (rc < 0) {
		free(mem);
		return rc;
	}
	(*out)->placed = false;
	return 0;
}

int codec_enc_init(const struct codec_desc *desc, const struct codec_params *p,
		   void *mem, size_t size, struct codec_enc **out)
{
	struct codec_params def;
	int rc = new_args(desc, &p, &def, out);
	if (rc < 0)
		return rc;
	if (!mem || (uintptr_t)mem % 16 || size < CODEC_ALIGN(desc->ops->enc_size(p)))
		return -EINVAL;
	memset(mem, 0, size);
	struct codec_enc *e = mem;
	rc = desc->ops->enc_init(e, p, size);
	if (rc < 0) {
		if (desc->ops->enc_fini)
			desc->ops->enc_fini(e);
		return rc;
	}
	e->desc = desc;
	e->pcm_rate = p->pcm_rate;
	e->channels = p->channels;
	e->placed = true;
	*out = e;
	return 0;
}

void codec_enc_free(struct codec_enc *enc)
{
	if (!enc)
		return;
	if (enc->desc->ops->enc_fini)
		enc->desc->ops->enc_fini(enc);
	if (!enc->placed)
		free(enc);
}

int codec_encode(struct codec_enc *enc, const int16_t *pcm, int samples,
		 uint8_t *out, size_t outcap)
{
	if (!enc || !pcm || !out || samples <= 0)
		return -EINVAL;
	if (outcap == 0)
		return -ENOSPC;
	return enc->desc->ops->encode(enc, pcm, samples, out, outcap);
}

int codec_enc_delay(const struct codec_enc *enc)
{
	return enc ? enc->delay : 0;
}

const struct codec_desc *codec_enc_desc(const struct codec_enc *enc)
{
	return enc ? enc->desc : NULL;
}

size_t codec_dec_size(const struct codec_desc *desc,
		      const struct codec_params *p)
{
	struct codec_params def;
	if (new_args(desc, &p, &def, &def) < 0)
		return 0;
	return CODEC_ALIGN(desc->ops->dec_size(p));
}

int codec_dec_new(const struct codec_desc *desc,
		  const struct codec_params *p, struct codec_dec **out)
{
	struct codec_params def;
	int rc = new_args(desc, &p, &def, out);
	if (rc < 0)
		return rc;
	size_t size = CODEC_ALIGN(desc->ops->dec_size(p));
	void *mem = malloc(size);   /* 16-byte aligned; zeroed by the init */
	if (!mem)
		return -ENOMEM;
	rc = codec_dec_init(desc, p, mem, size, out);
	if (rc < 0) {
		free(mem);
		return rc;
	}
	(*out)->placed = false;
	return 0;
}

int codec_dec_init(const struct codec_desc *desc, const struct codec_params *p,
		   void *mem, size_t size, struct codec_dec **out)
{
	struct codec_params def;
	int rc = new_args(desc, &p, &def, out);
	if (rc < 0)
		return rc;
	if (!mem || (uintptr_t)mem % 16 || size < CODEC_ALIGN(desc->ops->dec_size(p)))
		return -EINVAL;
	memset(mem, 0, size);
	struct codec_dec *d = mem;
	rc = desc->ops->dec_init(d, p, size);
	if (rc < 0) {
		if (desc->ops->dec_fini)
			desc->ops->dec_fini(d);
		return rc;
	}
	d->desc = desc;
	d->pcm_rate = p->pcm_rate;
	d->channels = p->channels;
	d->placed = true;
	*out = d;
	return 0;
}

void codec_dec_free(struct codec_dec *dec)
{
	if (!dec)
		return;
	if (dec->desc->ops->dec_fini)
		dec->desc->ops->dec_fini(dec);
	if (!dec->placed)
		free(dec);
}

int codec_decode(struct codec_dec *dec, const uint8_t *payload, size_t len,
		 int16_t *pcm, int maxsamples)
{
	if (!dec || !payload || !pcm || maxsamples <= 0)
		return -EINVAL;
	if (len == 0)
		return -EBADMSG;
	return dec->desc->ops->decode(dec, payload, len, pcm, maxsamples);
}

int codec_decode_lost(struct codec_dec *dec, const uint8_t *next,
		      size_t next_len, int16_t *pcm, int samples)
{
	if (!dec || !pcm || samples <= 0)
		return -EINVAL;
	if (!next)
		next_len = 0;
	return dec->desc->ops->decode_lost(dec, next_len ? next : NULL,
					   next_len, pcm, samples);
}

int codec_dec_reset(struct codec_dec *dec)
{
	if (!dec)
		return -EINVAL;
	return dec->desc->ops->dec_reset(dec);
}

int codec_dec_delay(const struct codec_dec *dec)
{
	return dec ? dec->delay : 0;
}

const struct codec_desc *codec_dec_desc(const struct codec_dec *dec)
{
	return dec ? dec->desc : NULL;
}

const char *codec_strerror(int err)
{
	switch (err) {
	case 0: return "success";
	case -EINVAL: return "invalid argument or codec parameter";
	case -ENOSPC: return "output buffer too small";
	case -EBADMSG: return "malformed payload";
	case -ENOTSUP: return "operation not supported by this codec";
	case -ENOMEM: return "out of memory";
	case -EIO: return "codec library failure";
	default: return "unknown codec error";
	}
}

/* One codec at one PCM rate: encode a few 20 ms frames of a tone, decode
 * them, conceal a lost frame, decode once more. */
static int warm_one(const struct codec_desc *desc, int rate)
{
	struct codec_params p;
	codec_params_default(desc, &p);
	p.pcm_rate = rate;
	p.fec = true;
	int n = rate / 50;
	int16_t pcm[48000 / 50];
	uint8_t pkt[3][1500];
	int len[3];
	for (int i = 0; i < n; i++)
		pcm[i] = (int16_t)(8000 * sin(2 * M_PI * 1000 * i / rate));
	/* in a mapping of their own, as a transcoder places them: the
	 * warm-up leaves no heap behind in the calling thread's arena */
	size_t es = codec_enc_size(desc, &p), ds = codec_dec_size(desc, &p);
	if (!es || !ds)
		return -EINVAL;
	char *mem = mmap(NULL, es + ds, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return -ENOMEM;
	struct codec_enc *e = NULL;
	struct codec_dec *d = NULL;
	int rc = codec_enc_init(desc, &p, mem, es, &e);
	if (rc == 0)
		rc = codec_dec_init(desc, &p, mem + es, ds, &d);
	for (int k = 0; rc == 0 && k < 3; k++) {
		len[k] = codec_encode(e, pcm, n, pkt[k], sizeof(pkt[k]));
		rc = len[k] < 0 ? len[k] : 0;
	}
	for (int k = 0; rc == 0 && k < 3; k++) {
		int r = len[k] > 0 ? codec_decode(d, pkt[k], (size_t)len[k], pcm, n) : 0;
		if (r >= 0 && k == 1)
			r = codec_decode_lost(d, pkt[2], (size_t)len[2], pcm, n);
		rc = r < 0 ? r : 0;
	}
	if (rc == 0)
		rc = codec_decode_lost(d, NULL, 0, pcm, n) < 0 ? -EIO : 0;
	codec_dec_free(d);
	codec_enc_free(e);
	munmap(mem, es + ds);
	return rc;
}

int codec_warm_up(void)
{
	size_t count;
	const struct codec_desc *const *all = codec_registry(&count);
	int rc = 0;
	for (size_t i = 0; i < count; i++) {
		const struct codec_desc *desc = all[i];
		if (!desc->ops || !codec_ptime_ok(desc, 20))
			continue;
		for (const int *r = desc->ops->pcm_rates; *r; r++) {
			int w = warm_one(desc, *r);
			if (w < 0 && rc == 0)
				rc = w;
		}
	}
	int16_t pcm[160];
	struct codec_dtmf_gen *g = NULL;
	struct codec_dtmf_det *det = NULL;
	if (codec_dtmf_gen_new(8000, &g) == 0 && codec_dtmf_gen_start(g, 5, 10) == 0)
		codec_dtmf_gen_fill(g, pcm, 160);
	codec_dtmf_gen_free(g);
	struct codec_dtmf_tone tone[2];
	if (codec_dtmf_det_new(8000, &det) == 0)
		codec_dtmf_det_feed(det, pcm, 160, tone, 2);
	codec_dtmf_det_free(det);
	return rc;
}
