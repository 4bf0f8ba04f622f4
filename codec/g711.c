/* g711.c - G.711 u-law (PCMU) and A-law (PCMA), with spandsp's packet loss
 * concealment.
 *
 * Decoding is a lookup in two 256-entry tables, written out below from the
 * expansion formula of ITU-T G.191's reference g711.c (16-bit left-justified
 * output). Encoding computes the segment from the position of the top bit
 * instead of G.191's loop; tests/unit/test_codec.c checks both directions
 * against the reference formulas for every input. A decoder keeps a spandsp
 * plc_state_t: every decoded frame feeds its history, and a lost frame is
 * filled by repeating the last pitch period with a fade. 8 kHz, mono only.
 */
#include "codec_impl.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <spandsp/telephony.h>
#include <spandsp/plc.h>

static const int16_t ulaw_to_linear[256] = {
	-32124, -31100, -30076, -29052, -28028, -27004, -25980, -24956,
	-23932, -22908, -21884, -20860, -19836, -18812, -17788, -16764,
	-15996, -15484, -14972, -14460, -13948, -13436, -12924, -12412,
	-11900, -11388, -10876, -10364,  -9852,  -9340,  -8828,  -8316,
	 -7932,  -7676,  -7420,  -7164,  -6908,  -6652,  -6396,  -6140,
	 -5884,  -5628,  -5372,  -5116,  -4860,  -4604,  -4348,  -4092,
	 -3900,  -3772,  -3644,  -3516,  -3388,  -3260,  -3132,  -3004,
	 -2876,  -2748,  -2620,  -2492,  -2364,  -2236,  -2108,  -1980,
	 -1884,  -1820,  -1756,  -1692,  -1628,  -1564,  -1500,  -1436,
	 -1372,  -1308,  -1244,  -1180,  -1116,  -1052,   -988,   -924,
	  -876,   -844,   -812,   -780,   -748,   -716,   -684,   -652,
	  -620,   -588,   -556,   -524,   -492,   -460,   -428,   -396,
	  -372,   -356,   -340,   -324,   -308,   -292,   -276,   -260,
	  -244,   -228,   -212,   -196,   -180,   -164,   -148,   -132,
	  -120,   -112,   -104,    -96,    -88,    -80,    -72,    -64,
	   -56,    -48,    -40,    -32,    -24,    -16,     -8,      0,
	 32124,  31100,  30076,  29052,  28028,  27004,  25980,  24956,
	 23932,  22908,  21884,  20860,  19836,  18812,  17788,  16764,
	 15996,  15484,  14972,  14460,  13948,  13436,  12924,  12412,
	 11900,  11388,  10876,  10364,   9852,   9340,   8828,   8316,
	  7932,   7676,   7420,   7164,   6908,   6652,   6396,   6140,
	  5884,   5628,   5372,   5116,   4860,   4604,   4348,   4092,
	  3900,   3772,   3644,   3516,   3388,   3260,   3132,   3004,
	  2876,   2748,   2620,   2492,   2364,   2236,   2108,   1980,
	  1884,   1820,   1756,   1692,   1628,   1564,   1500,   1436,
	  1372,   1308,   1244,   1180,   1116,   1052,    988,    924,
	   876,    844,    812,    780,    748,    716,    684,    652,
	   620,    588,    556,    524,    492,    460,    428,    396,
	   372,    356,    340,    324,    308,    292,    276,    260,
	   244,    228,    212,    196,    180,    164,    148,    132,
	   120,    112,    104,     96,     88,     80,     72,     64,
	    56,     48,     40,     32,     24,     16,      8,      0,
};
static const int16_t alaw_to_linear[256] = {
	 -5504,  -5248,  -6016,  -5760,  -4480,  -4224,  -4992,  -4736,
	 -7552,  -7296,  -8064,  -7808,  -6528,  -6272,  -7040,  -6784,
	 -2752,  -2624,  -3008,  -2880,  -2240,  -2112,  -2496,  -2368,
	 -3776,  -3648,  -4032,  -3904,  -3264,  -3136,  -3520,  -3392,
	-22016, -20992, -24064, -23040, -17920, -16896, -19968, -18944,
	-30208, -29184, -32256, -31232, -26112, -25088, -28160, -27136,
	-11008, -10496, -12032, -11520,  -8960,  -8448,  -9984,  -9472,
	-15104, -14592, -16128, -15616, -13056, -12544, -14080, -13568,
	  -344,   -328,   -376,   -360,   -280,   -264,   -312,   -296,
	  -472,   -456,   -504,   -488,   -408,   -392,   -440,   -424,
	   -88,    -72,   -120,   -104,    -24,     -8,    -56,    -40,
	  -216,   -200,   -248,   -232,   -152,   -136,   -184,   -168,
	 -1376,  -1312,  -1504,  -1440,  -1120,  -1056,  -1248,  -1184,
	 -1888,  -1824,  -2016,  -1952,  -1632,  -1568,  -1760,  -1696,
	  -688,   -656,   -752,   -720,   -560,   -528,   -624,   -592,
	  -944,   -912,  -1008,   -976,   -816,   -784,   -880,   -848,
	  5504,   5248,   6016,   5760,   4480,   4224,   4992,   4736,
	  7552,   7296,   8064,   7808,   6528,   6272,   7040,   6784,
	  2752,   2624,   3008,   2880,   2240,   2112,   2496,   2368,
	  3776,   3648,   4032,   3904,   3264,   3136,   3520,   3392,
	 22016,  20992,  24064,  23040,  17920,  16896,  19968,  18944,
	 30208,  29184,  32256,  31232,  26112,  25088,  28160,  27136,
	 11008,  10496,  12032,  11520,   8960,   8448,   9984,   9472,
	 15104,  14592,  16128,  15616,  13056,  12544,  14080,  13568,
	   344,    328,    376,    360,    280,    264,    312,    296,
	   472,    456,    504,    488,    408,    392,    440,    424,
	    88,     72,    120,    104,     24,      8,     56,     40,
	   216,    200,    248,    232,    152,    136,    184,    168,
	  1376,   1312,   1504,   1440,   1120,   1056,   1248,   1184,
	  1888,   1824,   2016,   1952,   1632,   1568,   1760,   1696,
	   688,    656,    752,    720,    560,    528,    624,    592,
	   944,    912,   1008,    976,    816,    784,    880,    848,
};

static int top_bit(unsigned v)
{
	return 31 - __builtin_clz(v);
}

uint8_t g711_ulaw_encode(int16_t s)
{
	/* 14-bit magnitude (one's complement for negatives) plus the bias 33 */
	int mag = (s < 0 ? ~s : s) >> 2;
	mag += 33;
	if (mag > 0x1FFF)
		mag = 0x1FFF;
	int seg = top_bit((unsigned)mag) - 4;	/* 1..8 */
	int out = ((8 - seg) << 4) | (0x0F - ((mag >> seg) & 0x0F));
	if (s >= 0)
		out |= 0x80;
	return (uint8_t)out;
}

uint8_t g711_alaw_encode(int16_t s)
{
	int mag = (s < 0 ? ~s : s) >> 4;	/* 12-bit magnitude, 0..2047 */
	int out;
	if (mag > 15) {
		int t = top_bit((unsigned)mag);	/* 4..10 */
		out = ((t - 3) << 4) | ((mag >> (t - 4)) & 0x0F);
	} else {
		out = mag;
	}
	if (s >= 0)
		out |= 0x80;
	return (uint8_t)(out ^ 0x55);
}

int16_t g711_ulaw_decode(uint8_t u) { return ulaw_to_linear[u]; }
int16_t g711_alaw_decode(uint8_t a) { return alaw_to_linear[a]; }

static const int g711_rates[] = { 8000, 0 };

struct g711_dec {
	struct codec_dec base;
	plc_state_t plc;
};

static size_t g711_enc_size(const struct codec_params *p)
{
	return sizeof(struct codec_enc);
}

static int g711_enc_init(struct codec_enc *e, const struct codec_params *p, size_t size)
{
	return 0;
}

static int pcmu_encode(struct codec_enc *e, const int16_t *pcm, int samples,
		       uint8_t *out, size_t cap)
{
	if ((size_t)samples > cap)
		return -ENOSPC;
	for (int i = 0; i < samples; i++)
		out[i] = g711_ulaw_encode(pcm[i]);
	return samples;
}

static int pcma_encode(struct codec_enc *e, const int16_t *pcm, int samples,
		       uint8_t *out, size_t cap)
{
	if ((size_t)samples > cap)
		return -ENOSPC;
	for (int i = 0; i < samples; i++)
		out[i] = g711_alaw_encode(pcm[i]);
	return samples;
}

static size_t g711_dec_size(const struct codec_params *p)
{
	return sizeof(struct g711_dec);
}

static int g711_dec_init(struct codec_dec *base, const struct codec_params *p, size_t size)
{
	struct g711_dec *d = (struct g711_dec *)base;
	plc_init(&d->plc);
	return 0;
}

static int g711_decode(struct codec_dec *base, const int16_t *table,
		       const uint8_t *in, size_t len, int16_t *pcm, int max)
{
	struct g711_dec *d = (struct g711_dec *)base;
	if (len > (size_t)max)
		return -ENOSPC;
	for (size_t i = 0; i < len; i++)
		pcm[i] = table[in[i]];
	plc_rx(&d->plc, pcm, (int)len);
	return (int)len;
}

static int pcmu_decode(struct codec_dec *d, const uint8_t *in, size_t len,
		       int16_t *pcm, int max)
{
	return g711_decode(d, ulaw_to_linear, in, len, pcm, max);
}

static int pcma_decode(struct codec_dec *d, const uint8_t *in, size_t len,
		       int16_t *pcm, int max)
{
	return g711_decode(d, alaw_to_linear, in, len, pcm, max);
}

/* At the start of a gap spandsp rotates its history ring to put the oldest
 * sample first, using memcpy between overlapping ranges (undefined
 * behaviour that AddressSanitizer stops on). Doing the same rotation here
 * with memmove leaves it nothing to do. */
static void plc_rotate_history(plc_state_t *s)
{
	int16_t tmp[PLC_HISTORY_LEN];
	int n = s->buf_ptr;
	if (s->missing_samples != 0 || n <= 0 || n >= PLC_HISTORY_LEN)
		return;
	memcpy(tmp, s->history, sizeof(int16_t) * (size_t)n);
	memmove(s->history, s->history + n,
		sizeof(int16_t) * (size_t)(PLC_HISTORY_LEN - n));
	memcpy(s->history + PLC_HISTORY_LEN - n, tmp,
	       sizeof(int16_t) * (size_t)n);
	s->buf_ptr = 0;
}

static int g711_decode_lost(struct codec_dec *base, const uint8_t *next,
			    size_t next_len, int16_t *pcm, int samples)
{
	struct g711_dec *d = (struct g711_dec *)base;
	plc_rotate_history(&d->plc);
	plc_fillin(&d->plc, pcm, samples);
	return samples;
}

static int g711_dec_reset(struct codec_dec *base)
{
	struct g711_dec *d = (struct g711_dec *)base;
	plc_init(&d->plc);
	return 0;
}

static int g711_duration(const uint8_t *payload, size_t len)
{
	return len > (size_t)INT32_MAX ? -EBADMSG : (int)len;
}

const struct codec_ops codec_pcmu_ops = {
	.pcm_rates = g711_rates,
	.max_channels = 1,
	.enc_size = g711_enc_size,
	.enc_init = g711_enc_init,
	.encode = pcmu_encode,
	.dec_size = g711_dec_size,
	.dec_init = g711_dec_init,
	.decode = pcmu_decode,
	.decode_lost = g711_decode_lost,
	.dec_reset = g711_dec_reset,
	.duration = g711_duration,
};

const struct codec_ops codec_pcma_ops = {
	.pcm_rates = g711_rates,
	.max_channels = 1,
	.enc_size = g711_enc_size,
	.enc_init = g711_enc_init,
	.encode = pcma_encode,
	.dec_size = g711_dec_size,
	.dec_init = g711_dec_init,
	.decode = pcma_decode,
	.decode_lost = g711_decode_lost,
	.dec_reset = g711_dec_reset,
	.duration = g711_duration,
};
