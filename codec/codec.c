/* codec.c - the public encoder/decoder entry points.
 *
 * Each call checks what is common to every codec (NULL pointers, counts,
 * the PCM rate and channels the codec accepts) and then hands over to the
 * codec's ops from its description. Keeping the checks here means the
 * codec files hold nothing but codec work.
 */
#include "codec_impl.h"

#include <errno.h>

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

int codec_enc_new(const struct codec_desc *desc,
		  const struct codec_params *p, struct codec_enc **out)
{
	struct codec_params def;
	int rc = new_args(desc, &p, &def, out);
	if (rc < 0)
		return rc;
	struct codec_enc *e = NULL;
	rc = desc->ops->enc_new(desc, p, &e);
	if (rc < 0)
		return rc;
	e->desc = desc;
	e->pcm_rate = p->pcm_rate;
	e->channels = p->channels;
	*out = e;
	return 0;
}

void codec_enc_free(struct codec_enc *enc)
{
	if (enc)
		enc->desc->ops->enc_free(enc);
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

int codec_dec_new(const struct codec_desc *desc,
		  const struct codec_params *p, struct codec_dec **out)
{
	struct codec_params def;
	int rc = new_args(desc, &p, &def, out);
	if (rc < 0)
		return rc;
	struct codec_dec *d = NULL;
	rc = desc->ops->dec_new(desc, p, &d);
	if (rc < 0)
		return rc;
	d->desc = desc;
	d->pcm_rate = p->pcm_rate;
	d->channels = p->channels;
	*out = d;
	return 0;
}

void codec_dec_free(struct codec_dec *dec)
{
	if (dec)
		dec->desc->ops->dec_free(dec);
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
