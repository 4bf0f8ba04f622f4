/* codec_tool - the codec library on files, for the Python tests that need
 * Opus or G.729 payloads (tests/daemon/test_transcode.py, the e2e pcaps).
 *
 *   codec_tool encode CODEC PTIME_MS < pcm > frames
 *   codec_tool decode CODEC < frames > pcm
 *
 * pcm: signed 16-bit little-endian mono at 8000 Hz. CODEC: PCMU, PCMA,
 * opus, G729 (Annex B off, Opus at 8 kHz with in-band FEC). frames: one
 * record per RTP payload, a 16-bit big-endian length and the payload; on
 * decode, a length of 0xffff followed by a 16-bit big-endian sample count
 * stands for lost audio that the decoder conceals (0 payload bytes: the
 * same). Exit status 0, or 1 with a message on stderr.
 */
#include <codec/codec.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RATE 8000

static int die(const char *what, int err)
{
	fprintf(stderr, "codec_tool: %s: %s\n", what, err ? codec_strerror(err) : "bad usage");
	return 1;
}

static int read_exact(void *buf, size_t n)
{
	return fread(buf, 1, n, stdin) == n;
}

static void put_le16(int16_t *pcm, int n)
{
	for (int i = 0; i < n; i++) {
		uint8_t b[2] = { (uint8_t)pcm[i], (uint8_t)((uint16_t)pcm[i] >> 8) };
		fwrite(b, 1, 2, stdout);
	}
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return die("usage: codec_tool encode CODEC PTIME_MS | decode CODEC", 0);
	const struct codec_desc *d = codec_find(argv[2], 0, 0);
	if (!d || !d->audio)
		return die(argv[2], -EINVAL);
	struct codec_params p;
	codec_params_default(d, &p);
	p.pcm_rate = RATE;
	p.channels = 1;
	p.annexb = false;
	p.fec = true;
	static int16_t pcm[RATE * 120 / 1000];
	static uint8_t buf[4000];
	if (!strcmp(argv[1], "encode") && argc >= 4) {
		int ms = atoi(argv[3]);
		int n = RATE * ms / 1000;
		struct codec_enc *e = NULL;
		int r;
		if (n <= 0 || n > (int)(sizeof(pcm) / sizeof(pcm[0])))
			return die("ptime", -EINVAL);
		if ((r = codec_enc_new(d, &p, &e)) < 0)
			return die("encoder", r);
		uint8_t raw[sizeof(pcm)];
		while (read_exact(raw, (size_t)n * 2)) {
			for (int i = 0; i < n; i++)
				pcm[i] = (int16_t)(raw[2 * i] | raw[2 * i + 1] << 8);
			r = codec_encode(e, pcm, n, buf, sizeof(buf));
			if (r < 0)
				return die("encode", r);
			uint8_t h[2] = { (uint8_t)(r >> 8), (uint8_t)r };
			fwrite(h, 1, 2, stdout);
			fwrite(buf, 1, (size_t)r, stdout);
		}
		codec_enc_free(e);
		return 0;
	}
	if (!strcmp(argv[1], "decode")) {
		struct codec_dec *dec = NULL;
		int r;
		if ((r = codec_dec_new(d, &p, &dec)) < 0)
			return die("decoder", r);
		uint8_t h[2];
		while (read_exact(h, 2)) {
			size_t len = (size_t)h[0] << 8 | h[1];
			if (len == 0xffff) {
				if (!read_exact(h, 2))
					break;
				int left = h[0] << 8 | h[1];
				int unit = d->id == CODEC_ID_G729 ? 80 : RATE / 50;
				left -= left % unit;
				while (left > 0) {
					int k = left > unit ? unit : left;
					r = codec_decode_lost(dec, NULL, 0, pcm, k);
					if (r <= 0)
						memset(pcm, 0, sizeof(pcm[0]) * (size_t)(r = k));
					put_le16(pcm, r);
					left -= k;
				}
				continue;
			}
			if (len > sizeof(buf) || !read_exact(buf, len))
				return die("truncated frame", -EINVAL);
			r = codec_decode(dec, buf, len, pcm, (int)(sizeof(pcm) / sizeof(pcm[0])));
			if (r < 0)
				return die("decode", r);
			put_le16(pcm, r);
		}
		codec_dec_free(dec);
		return 0;
	}
	return die("usage: codec_tool encode CODEC PTIME_MS | decode CODEC", 0);
}
