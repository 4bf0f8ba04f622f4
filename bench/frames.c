/* frames.c - the generator's audio, encoded once.
 *
 * The test signal is a voiced-sounding mix (a 220 Hz tone with a slow
 * amplitude envelope, a formant-like 1170 Hz tone and a little noise) so
 * that the codecs do real work: silence would let Opus and G.729 take
 * cheap paths the relay does not see in real calls. Opus is encoded mono
 * at 48 kHz (the SDP says opus/48000/2 as RFC 7587 requires), G.729 as two
 * 10 ms frames per packet, PCMU with the G.711 mu-law rule.
 */
#include "frames.h"

#include <bcg729/encoder.h>
#include <errno.h>
#include <math.h>
#include <opus/opus.h>
#include <string.h>

static void frames_signal(int16_t *out, unsigned n, unsigned rate, unsigned start)
{
	uint32_t rnd = 12345 + start;
	for (unsigned i = 0; i < n; i++) {
		double t = (double)(start + i) / rate;
		double env = 0.6 + 0.4 * sin(2 * M_PI * 3 * t);
		double v = 0.30 * env * sin(2 * M_PI * 220 * t)
			 + 0.12 * sin(2 * M_PI * 1170 * t);
		rnd = rnd * 1103515245u + 12345u;
		v += 0.02 * ((double)(rnd >> 16) / 32768.0 - 1.0);
		out[i] = (int16_t)(v * 32000);
	}
}

static uint8_t frames_ulaw(int16_t pcm)
{
	int v = pcm, sign = 0;
	if (v < 0) {
		v = -v;
		sign = 0x80;
	}
	if (v > 32635)
		v = 32635;
	v += 0x84;
	int exp = 7;
	for (int mask = 0x4000; !(v & mask) && exp > 0; mask >>= 1)
		exp--;
	int mant = (v >> (exp + 3)) & 0x0f;
	return (uint8_t)~(sign | (exp << 4) | mant);
}

int frames_make(struct frameset *fs, enum frames_codec codec,
		int opus_bitrate, int opus_complexity)
{
	memset(fs, 0, sizeof(*fs));
	fs->codec = codec;
	int16_t pcm[960];
	switch (codec) {
	case FRAMES_PCMU:
		fs->name = "PCMU";
		fs->clock = 8000;
		fs->ts_step = 160;
		for (unsigned f = 0; f < FRAMES_N; f++) {
			frames_signal(pcm, 160, 8000, f * 160);
			for (unsigned i = 0; i < 160; i++)
				fs->data[f][i] = frames_ulaw(pcm[i]);
			fs->len[f] = 160;
		}
		return 0;
	case FRAMES_G729: {
		fs->name = "G729";
		fs->clock = 8000;
		fs->ts_step = 160;
		bcg729EncoderChannelContextStruct *enc = initBcg729EncoderChannel(0);
		if (!enc)
			return -ENOMEM;
		for (unsigned f = 0; f < FRAMES_N; f++) {
			frames_signal(pcm, 160, 8000, f * 160);
			uint8_t n1 = 0, n2 = 0;
			bcg729Encoder(enc, pcm, fs->data[f], &n1);
			bcg729Encoder(enc, pcm + 80, fs->data[f] + n1, &n2);
			fs->len[f] = (uint16_t)(n1 + n2);
		}
		closeBcg729EncoderChannel(enc);
		return 0;
	}
	case FRAMES_OPUS: {
		fs->name = "opus";
		fs->clock = 48000;
		fs->ts_step = 960;
		int err = 0;
		OpusEncoder *enc = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
		if (!enc)
			return -EINVAL;
		if (opus_bitrate > 0)
			opus_encoder_ctl(enc, OPUS_SET_BITRATE(opus_bitrate));
		if (opus_complexity >= 0)
			opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(opus_complexity));
		int rc = 0;
		for (unsigned f = 0; f < FRAMES_N && !rc; f++) {
			frames_signal(pcm, 960, 48000, f * 960);
			int n = opus_encode(enc, pcm, 960, fs->data[f], FRAMES_MAXLEN);
			if (n < 0)
				rc = -EINVAL;
			else
				fs->len[f] = (uint16_t)n;
		}
		opus_encoder_destroy(enc);
		return rc;
	}
	}
	return -EINVAL;
}
