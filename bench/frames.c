/* frames.c - the generator's audio, encoded once.
 *
 * The test signal is a voiced-sounding mix (a 220 Hz tone with a slow
 * amplitude envelope, a formant-like 1170 Hz tone and a little noise) so
 * that the codecs do real work: silence would let Opus and G.729 take
 * cheap paths the relay does not see in real calls. The encoders are the
 * project's codec library (libopus, bcg729, G.711 underneath) with its
 * defaults; Opus is encoded mono at 48 kHz (the SDP says opus/48000/2 as
 * RFC 7587 requires), G.729 without Annex B, so every packet has audio.
 */
#include "frames.h"

#include <codec/codec.h>
#include <errno.h>
#include <math.h>
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

int frames_make(struct frameset *fs, enum frames_codec codec,
		int opus_bitrate, int opus_complexity)
{
	memset(fs, 0, sizeof(*fs));
	fs->codec = codec;
	const struct codec_desc *desc;
	switch (codec) {
	case FRAMES_PCMU:
		fs->name = "PCMU";
		desc = codec_find("PCMU", 8000, 1);
		break;
	case FRAMES_G729:
		fs->name = "G729";
		desc = codec_find("G729", 8000, 1);
		break;
	case FRAMES_OPUS:
		fs->name = "opus";
		desc = codec_find("opus", 48000, 2);
		break;
	default:
		return -EINVAL;
	}
	if (!desc)
		return -ENOENT;
	struct codec_params p;
	codec_params_default(desc, &p);
	if (codec == FRAMES_OPUS) {
		p.pcm_rate = 48000;
		p.channels = 1;
		if (opus_bitrate > 0)
			p.bitrate = opus_bitrate;
		if (opus_complexity >= 0)
			p.complexity = opus_complexity;
	}
	p.annexb = false; /* the SDP says annexb=no: a frame every 20 ms */
	p.dtx = false;
	struct codec_enc *enc;
	int rc = codec_enc_new(desc, &p, &enc);
	if (rc < 0)
		return rc;
	unsigned rate = (unsigned)p.pcm_rate, n = rate / 50;
	fs->clock = codec == FRAMES_OPUS ? 48000 : 8000;
	fs->ts_step = fs->clock / 50;
	int16_t pcm[960];
	for (unsigned f = 0; f < FRAMES_N && rc >= 0; f++) {
		frames_signal(pcm, n, rate, f * n);
		rc = codec_encode(enc, pcm, (int)n, fs->data[f], FRAMES_MAXLEN);
		if (rc >= 0)
			fs->len[f] = (uint16_t)rc;
	}
	codec_enc_free(enc);
	return rc < 0 ? rc : 0;
}
