/* test_dtmf.c - RFC 4733 telephone-event payloads, clock rescaling, digit
 * mapping, and in-band DTMF generated then detected (also through G.711). */
#include "unit.h"
#include "codec/codec.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

static void t_event_build_parse(void)
{
	struct codec_dtmf_event ev = { .event = 5, .end = true, .volume = 10,
				       .duration = 800 };
	uint8_t buf[8];
	const uint8_t want[4] = { 0x05, 0x8A, 0x03, 0x20 };
	EXPECT_INT(codec_dtmf_build(&ev, buf, sizeof(buf)), 4);
	EXPECT_MEM(buf, want, 4);
	struct codec_dtmf_event back;
	EXPECT_INT(codec_dtmf_parse(buf, 4, &back), 0);
	EXPECT_INT(back.event, 5);
	EXPECT(back.end);
	EXPECT_INT(back.volume, 10);
	EXPECT_INT(back.duration, 800);
	/* the R bit is ignored, a longer payload (several events) is fine */
	const uint8_t r[6] = { 11, 0x40 | 7, 0xFF, 0xFF, 0, 0 };
	EXPECT_INT(codec_dtmf_parse(r, 6, &back), 0);
	EXPECT_INT(back.event, 11);
	EXPECT(!back.end);
	EXPECT_INT(back.volume, 7);
	EXPECT_INT(back.duration, 65535);
	EXPECT_INT(codec_dtmf_parse(buf, 3, &back), -EBADMSG);
	EXPECT_INT(codec_dtmf_build(&ev, buf, 3), -ENOSPC);
	ev.volume = 64;
	EXPECT_INT(codec_dtmf_build(&ev, buf, 4), -EINVAL);
}

static void t_rescale(void)
{
	EXPECT_INT(codec_dtmf_rescale(160, 8000, 48000), 960);
	EXPECT_INT(codec_dtmf_rescale(960, 48000, 8000), 160);
	EXPECT_INT(codec_dtmf_rescale(961, 48000, 8000), 160);
	EXPECT_INT(codec_dtmf_rescale(964, 48000, 8000), 161);	/* rounds */
	EXPECT_INT(codec_dtmf_rescale(800, 8000, 8000), 800);
	EXPECT_INT(codec_dtmf_rescale(65535, 8000, 48000), 393210);	/* caller splits */
	EXPECT_INT(codec_dtmf_rescale(65535, 48000, 8000), 10923);
	/* a round trip 8k -> 48k -> 8k is exact */
	for (uint32_t d = 0; d < 20000; d += 37)
		if (codec_dtmf_rescale(codec_dtmf_rescale(d, 8000, 48000), 48000, 8000) != d)
			unit_fail(__FILE__, __LINE__, "round trip of %u changed it", d);
}

static void t_digit_map(void)
{
	const char *digits = "0123456789*#ABCD";
	for (int i = 0; i < 16; i++) {
		EXPECT_INT(codec_dtmf_event_from_char(digits[i]), i);
		EXPECT_INT(codec_dtmf_char_from_event(i), digits[i]);
	}
	EXPECT_INT(codec_dtmf_event_from_char('a'), 12);
	EXPECT_INT(codec_dtmf_event_from_char('d'), 15);
	EXPECT_INT(codec_dtmf_event_from_char('x'), -EINVAL);
	EXPECT_INT(codec_dtmf_event_from_char('\0'), -EINVAL);
	EXPECT_INT(codec_dtmf_char_from_event(16), 0);
	EXPECT_INT(codec_dtmf_char_from_event(-1), 0);
}

static void t_generator_level(void)
{
	struct codec_dtmf_gen *g = NULL;
	EXPECT_INT(codec_dtmf_gen_new(8000, &g), 0);
	if (!g)
		return;
	int16_t pcm[800];
	EXPECT(!codec_dtmf_gen_active(g));
	pcm[0] = 1234;
	EXPECT_INT(codec_dtmf_gen_fill(g, pcm, 800), 0);
	EXPECT_INT(pcm[0], 1234);	/* idle leaves audio alone */
	EXPECT_INT(codec_dtmf_gen_start(g, 16, 10), -EINVAL);
	EXPECT_INT(codec_dtmf_gen_start(g, 1, 64), -EINVAL);
	EXPECT_INT(codec_dtmf_gen_start(g, 1, 10), 0);
	EXPECT(codec_dtmf_gen_active(g));
	EXPECT_INT(codec_dtmf_gen_fill(g, pcm, 800), 800);
	/* two tones of amplitude A each: rms = A, A at -10 dBm0 = -13.14 dBFS */
	double s = 0;
	for (int i = 0; i < 800; i++)
		s += (double)pcm[i] * pcm[i];
	double got = 20 * log10(sqrt(s / 800) / 32767.0);
	if (fabs(got - -13.14) > 0.5)
		unit_fail(__FILE__, __LINE__, "level: expected -13.14 dBFS, got %.2f", got);
	codec_dtmf_gen_stop(g);
	EXPECT(!codec_dtmf_gen_active(g));
	codec_dtmf_gen_free(g);
	EXPECT_INT(codec_dtmf_gen_new(7000, &g), -EINVAL);
}

/* Generates every digit (on_ms of tone, then as much silence), optionally
 * through a G.711 codec, feeds the detector in 20 ms chunks and returns
 * the digits found; checks each start is followed by a stop. */
static void gen_detect(int rate, const char *via, int on_ms, int volume,
		       char *found, size_t cap)
{
	const char *digits = "0123456789*#ABCD";
	struct codec_dtmf_gen *g = NULL;
	struct codec_dtmf_det *det = NULL;
	struct codec_enc *enc = NULL;
	struct codec_dec *dec = NULL;
	size_t nf = 0;
	found[0] = '\0';
	if (codec_dtmf_gen_new(rate, &g) < 0 || codec_dtmf_det_new(rate, &det) < 0) {
		unit_fail(__FILE__, __LINE__, "cannot create generator/detector at %d", rate);
		goto out;
	}
	if (via && (codec_enc_new(codec_find(via, 0, 0), NULL, &enc) < 0 ||
		    codec_dec_new(codec_find(via, 0, 0), NULL, &dec) < 0)) {
		unit_fail(__FILE__, __LINE__, "cannot create %s", via);
		goto out;
	}
	int chunk = rate / 50;
	int chunks_on = on_ms / 20;
	int16_t *pcm = calloc((size_t)chunk, sizeof(int16_t));
	bool in_digit = false;
	uint64_t last_start = 0;
	for (int d = 0; d < 16; d++) {
		for (int c = 0; c < 2 * chunks_on; c++) {
			if (c == 0)
				codec_dtmf_gen_start(g, codec_dtmf_event_from_char(digits[d]), volume);
			if (c == chunks_on)
				codec_dtmf_gen_stop(g);
			memset(pcm, 0, (size_t)chunk * sizeof(int16_t));
			codec_dtmf_gen_fill(g, pcm, chunk);
			if (enc) {
				uint8_t pkt[160];
				codec_encode(enc, pcm, chunk, pkt, sizeof(pkt));
				codec_decode(dec, pkt, (size_t)chunk, pcm, chunk);
			}
			struct codec_dtmf_tone t[4];
			int n = codec_dtmf_det_feed(det, pcm, chunk, t, 4);
			for (int i = 0; i < n; i++) {
				if (t[i].digit) {
					if (in_digit)
						unit_fail(__FILE__, __LINE__, "digit %c started before the last stopped",
							  t[i].digit);
					if (nf + 1 < cap)
						found[nf++] = t[i].digit;
					found[nf] = '\0';
					in_digit = true;
					last_start = t[i].position;
				} else {
					if (!in_digit)
						unit_fail(__FILE__, __LINE__, "stop without a digit");
					/* the detected length is close to the tone's */
					double ms = (double)(t[i].position - last_start) * 1000.0 / rate;
					if (fabs(ms - on_ms) > 30.0)
						unit_fail(__FILE__, __LINE__, "digit length: expected %d ms, got %.0f",
							  on_ms, ms);
					in_digit = false;
				}
			}
		}
	}
	EXPECT(!in_digit);
	free(pcm);
out:
	codec_dtmf_gen_free(g);
	codec_dtmf_det_free(det);
	codec_enc_free(enc);
	codec_dec_free(dec);
}

static void t_generate_detect(void)
{
	char found[64];
	gen_detect(8000, NULL, 100, 10, found, sizeof(found));
	EXPECT_STR(found, "0123456789*#ABCD");
	gen_detect(48000, NULL, 100, 10, found, sizeof(found));
	EXPECT_STR(found, "0123456789*#ABCD");
	gen_detect(16000, NULL, 60, 20, found, sizeof(found));
	EXPECT_STR(found, "0123456789*#ABCD");
	gen_detect(8000, "PCMU", 80, 10, found, sizeof(found));
	EXPECT_STR(found, "0123456789*#ABCD");
	gen_detect(8000, "PCMA", 80, 10, found, sizeof(found));
	EXPECT_STR(found, "0123456789*#ABCD");
}

static void t_detect_quiet(void)
{
	/* speech-band tone and silence are not digits */
	struct codec_dtmf_det *det = NULL;
	EXPECT_INT(codec_dtmf_det_new(8000, &det), 0);
	EXPECT_INT(codec_dtmf_det_new(44100, &det), -EINVAL);
	if (!det)
		return;
	int16_t pcm[160];
	int n = 0;
	for (int k = 0; k < 100; k++) {
		for (int i = 0; i < 160; i++)
			pcm[i] = k < 50 ? (int16_t)(8000 * sin(2 * M_PI * 1000.0 * (k * 160 + i) / 8000)) : 0;
		struct codec_dtmf_tone t[2];
		n += codec_dtmf_det_feed(det, pcm, 160, t, 2);
	}
	EXPECT_INT(n, 0);
	codec_dtmf_det_free(det);
}

const struct unit_case unit_cases[] = {
	UNIT(t_event_build_parse),
	UNIT(t_rescale),
	UNIT(t_digit_map),
	UNIT(t_generator_level),
	UNIT(t_generate_detect),
	UNIT(t_detect_quiet),
	{ 0 },
};
