/* test_codec.c - the codec library: registry, fmtp, G.711 known vectors,
 * round trips of a 1 kHz tone through every codec, concealment, G.729
 * Annex B silence, Opus at 8 and 48 kHz with its 48 kHz RTP clock. */
#include "unit.h"
#include "codec/codec.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

/* Counts heap allocations while `counting` is set, to prove that encode,
 * decode and conceal never allocate (the packet path must not). glibc's
 * own allocator stays underneath; skipped under the address, thread and
 * memory sanitizers, which bring their own malloc. */
#if !defined(__has_feature)
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || \
    __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define COUNT_ALLOCS 0
#else
#define COUNT_ALLOCS 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static int counting, allocs;
void *malloc(size_t n) { allocs += counting; return __libc_malloc(n); }
void *calloc(size_t n, size_t m) { allocs += counting; return __libc_calloc(n, m); }
void *realloc(void *p, size_t n) { allocs += counting; return __libc_realloc(p, n); }
#endif

/* ---- signal helpers ---- */

static void sine(int16_t *pcm, int n, int rate, double hz, double dbfs,
		 long offset)
{
	double amp = 32767.0 * pow(10.0, dbfs / 20.0);
	for (int i = 0; i < n; i++)
		pcm[i] = (int16_t)lrint(amp * sin(2 * M_PI * hz *
						  (double)(i + offset) / rate));
}

static double rms(const int16_t *pcm, int n)
{
	double s = 0;
	for (int i = 0; i < n; i++)
		s += (double)pcm[i] * pcm[i];
	return n ? sqrt(s / n) : 0.0;
}

static double db(double ratio)
{
	return 20.0 * log10(ratio > 1e-9 ? ratio : 1e-9);
}

/* Frequency from rising zero crossings, interpolated between samples. */
static double zc_freq(const int16_t *pcm, int n, int rate)
{
	double first = -1, last = -1;
	int count = 0;
	for (int i = 1; i < n; i++) {
		if (pcm[i - 1] < 0 && pcm[i] >= 0) {
			double t = i - 1 + (double)-pcm[i - 1] /
				   (double)(pcm[i] - pcm[i - 1]);
			if (first < 0)
				first = t;
			last = t;
			count++;
		}
	}
	if (count < 2)
		return 0.0;
	return (count - 1) * (double)rate / (last - first);
}

/* ---- registry ---- */

static void t_registry_find(void)
{
	const struct codec_desc *d = codec_find("pcmu", 8000, 1);
	EXPECT(d != NULL);
	if (d) {
		EXPECT_STR(d->name, "PCMU");
		EXPECT_INT(d->payload_type, 0);
	}
	d = codec_find("PCMA", 0, 0);
	EXPECT(d && d->payload_type == 8 && d->id == CODEC_ID_PCMA);
	d = codec_find("OPUS", 48000, 2);
	EXPECT(d != NULL);
	if (d) {
		EXPECT_STR(d->name, "opus");
		EXPECT_INT(d->clock_rate, 48000);
		EXPECT_INT(d->channels, 2);
		EXPECT_INT(d->payload_type, -1);
	}
	EXPECT(codec_find("opus", 8000, 0) == NULL);
	EXPECT(codec_find("opus", 48000, 1) == codec_find("opus", 48000, 2));
	d = codec_find("g729", 8000, 0);
	EXPECT(d && d->payload_type == 18 && d == codec_find_static(18));
	EXPECT(codec_find_static(0) == codec_find("PCMU", 0, 0));
	EXPECT(codec_find_static(96) == NULL);
	d = codec_find("telephone-event", 48000, 0);
	EXPECT(d && d->clock_rate == 48000 && !d->audio);
	d = codec_find("Telephone-Event", 8000, 1);
	EXPECT(d && d->clock_rate == 8000);
	EXPECT(codec_find("G722", 8000, 1) == NULL);
	EXPECT(codec_find(NULL, 0, 0) == NULL);

	size_t n = 0;
	const struct codec_desc *const *all = codec_registry(&n);
	EXPECT_INT(n, 6);
	for (size_t i = 0; i < n; i++)
		EXPECT(all[i] && all[i]->name && (all[i]->ops != NULL) == all[i]->audio);

	const struct codec_desc *opus = codec_find("opus", 0, 0);
	/* RFC 7587: 20 ms is 960 timestamp units even at 8 kHz internally */
	EXPECT_INT(codec_samples_to_ts(opus, 8000, 160), 960);
	EXPECT_INT(codec_ts_to_samples(opus, 8000, 960), 160);
	EXPECT_INT(codec_samples_to_ts(opus, 48000, 960), 960);
	EXPECT(codec_ptime_ok(opus, 20) && codec_ptime_ok(opus, 30) &&
	       codec_ptime_ok(opus, 60) && !codec_ptime_ok(opus, 25) &&
	       !codec_ptime_ok(opus, 0) && !codec_ptime_ok(opus, 130));
	EXPECT(!codec_ptime_ok(codec_find("telephone-event", 8000, 0), 20));
}

static void t_create_errors(void)
{
	struct codec_enc *enc = NULL;
	struct codec_dec *dec = NULL;
	struct codec_params p;
	const struct codec_desc *tev = codec_find("telephone-event", 8000, 0);
	const struct codec_desc *pcmu = codec_find("PCMU", 0, 0);
	const struct codec_desc *opus = codec_find("opus", 0, 0);
	EXPECT_INT(codec_enc_new(tev, NULL, &enc), -ENOTSUP);
	EXPECT_INT(codec_dec_new(tev, NULL, &dec), -ENOTSUP);
	codec_params_default(pcmu, &p);
	p.pcm_rate = 48000;
	EXPECT_INT(codec_enc_new(pcmu, &p, &enc), -EINVAL);
	p.pcm_rate = 8000;
	p.channels = 2;
	EXPECT_INT(codec_dec_new(pcmu, &p, &dec), -EINVAL);
	codec_params_default(opus, &p);
	p.pcm_rate = 44100;
	EXPECT_INT(codec_enc_new(opus, &p, &enc), -EINVAL);
	EXPECT(enc == NULL && dec == NULL);
	EXPECT_INT(codec_enc_new(NULL, NULL, &enc), -EINVAL);
	EXPECT(strcmp(codec_strerror(-EBADMSG), "malformed payload") == 0);
	codec_enc_free(NULL);
	codec_dec_free(NULL);
}

/* ---- fmtp ---- */

static void t_fmtp_opus(void)
{
	const struct codec_desc *opus = codec_find("opus", 48000, 2);
	struct codec_params p;
	codec_params_default(opus, &p);
	EXPECT_INT(p.pcm_rate, 48000);
	EXPECT_INT(p.complexity, 5);
	EXPECT(!p.fec);	/* RFC 7587: absent useinbandfec is 0 */
	EXPECT_INT(codec_params_from_fmtp(opus,
		"useinbandfec=1; maxplaybackrate=16000;stereo=0; "
		"sprop-maxcapturerate=8000; maxaveragebitrate=20000; ptime=40; "
		"usedtx=1; minptime=10; x-unknown=7", &p), 0);
	EXPECT(p.fec);
	EXPECT(p.dtx);
	EXPECT(!p.stereo);
	EXPECT_INT(p.maxplaybackrate, 16000);
	EXPECT_INT(p.sprop_maxcapturerate, 8000);
	EXPECT_INT(p.maxaveragebitrate, 20000);
	EXPECT_INT(p.ptime_ms, 40);
	EXPECT_INT(codec_params_from_fmtp(opus, " UseInbandFEC = 0 ;Stereo=1;", &p), 0);
	EXPECT(!p.fec);
	EXPECT(p.stereo);
	struct codec_params before = p;
	EXPECT_INT(codec_params_from_fmtp(opus, "usedtx=0; useinbandfec=2", &p), -EINVAL);
	EXPECT(memcmp(&before, &p, sizeof(p)) == 0);
	EXPECT_INT(codec_params_from_fmtp(opus, "maxplaybackrate=abc", &p), -EINVAL);
	EXPECT_INT(codec_params_from_fmtp(opus, NULL, &p), 0);
	EXPECT_INT(codec_params_from_fmtp(opus, "", &p), 0);
	EXPECT(memcmp(&before, &p, sizeof(p)) == 0);

	char buf[128];
	codec_params_default(opus, &p);
	EXPECT_INT(codec_fmtp_format(opus, &p, buf, sizeof(buf)), 14);
	EXPECT_STR(buf, "useinbandfec=1");
	p.pcm_rate = 8000;
	EXPECT(codec_fmtp_format(opus, &p, buf, sizeof(buf)) > 0);
	EXPECT_STR(buf, "maxplaybackrate=8000; sprop-maxcapturerate=8000; useinbandfec=1");
	EXPECT_INT(codec_fmtp_format(opus, &p, buf, 20), -ENOSPC);
}

static void t_fmtp_g729_tev(void)
{
	const struct codec_desc *g729 = codec_find("G729", 8000, 1);
	const struct codec_desc *tev = codec_find("telephone-event", 8000, 1);
	struct codec_params p;
	char buf[64];
	codec_params_default(g729, &p);
	EXPECT(p.annexb);	/* RFC 4856 default */
	EXPECT_INT(codec_params_from_fmtp(g729, "annexb=no", &p), 0);
	EXPECT(!p.annexb);
	EXPECT_INT(codec_fmtp_format(g729, &p, buf, sizeof(buf)), 9);
	EXPECT_STR(buf, "annexb=no");
	EXPECT_INT(codec_params_from_fmtp(g729, "annexb=YES", &p), 0);
	EXPECT(p.annexb);
	EXPECT_INT(codec_fmtp_format(g729, &p, buf, sizeof(buf)), 0);
	EXPECT_STR(buf, "");
	EXPECT_INT(codec_params_from_fmtp(g729, "annexb=maybe", &p), -EINVAL);
	EXPECT(p.annexb);

	codec_params_default(tev, &p);
	EXPECT_INT(p.events, 0xFFFF);
	EXPECT_INT(codec_params_from_fmtp(tev, "0-16,32", &p), 0);
	EXPECT_INT(p.events, 0x1FFFF);
	EXPECT_INT(codec_fmtp_format(tev, &p, buf, sizeof(buf)), 4);
	EXPECT_STR(buf, "0-16");
	EXPECT_INT(codec_params_from_fmtp(tev, "0-11, 16", &p), 0);
	EXPECT_INT(p.events, 0x10FFF);
	EXPECT(codec_fmtp_format(tev, &p, buf, sizeof(buf)) > 0);
	EXPECT_STR(buf, "0-11,16");
	EXPECT_INT(codec_params_from_fmtp(tev, "x", &p), -EINVAL);
	EXPECT_INT(codec_params_from_fmtp(tev, "5-3", &p), -EINVAL);
	EXPECT_INT(p.events, 0x10FFF);
}

/* ---- G.711 known values (ITU-T G.191 reference formulas) ---- */

static int16_t ref_ulaw_expand(uint8_t u)
{
	int sign = u < 0x80 ? -1 : 1;
	int mant = ~u & 0xFF;
	int exp = (mant >> 4) & 7;
	int seg = exp + 1;
	mant &= 0x0F;
	int step = 4 << seg;
	return (int16_t)(sign * ((0x80 << exp) + step * mant + step / 2 - 4 * 33));
}

static int16_t ref_alaw_expand(uint8_t a)
{
	int ix = (a ^ 0x55) & 0x7F;
	int exp = ix >> 4;
	int mant = ix & 0x0F;
	if (exp > 0)
		mant += 16;
	mant = (mant << 4) + 8;
	if (exp > 1)
		mant <<= exp - 1;
	return (int16_t)(a > 127 ? mant : -mant);
}

static uint8_t ref_ulaw_compress(int16_t x)
{
	int absno = x < 0 ? ((~x) >> 2) + 33 : (x >> 2) + 33;
	if (absno > 0x1FFF)
		absno = 0x1FFF;
	int i = absno >> 6, segno = 1;
	while (i) {
		segno++;
		i >>= 1;
	}
	int out = ((8 - segno) << 4) | (0x0F - ((absno >> segno) & 0x0F));
	return (uint8_t)(x >= 0 ? out | 0x80 : out);
}

static uint8_t ref_alaw_compress(int16_t x)
{
	int ix = x < 0 ? (~x) >> 4 : x >> 4;
	if (ix > 15) {
		int iexp = 1;
		while (ix > 16 + 15) {
			ix >>= 1;
			iexp++;
		}
		ix -= 16;
		ix += iexp << 4;
	}
	if (x >= 0)
		ix |= 0x80;
	return (uint8_t)(ix ^ 0x55);
}

static void g711_tables(const char *name, int16_t (*ref)(uint8_t))
{
	const struct codec_desc *d = codec_find(name, 8000, 1);
	struct codec_dec *dec = NULL;
	EXPECT_INT(codec_dec_new(d, NULL, &dec), 0);
	if (!dec)
		return;
	uint8_t all[256];
	int16_t pcm[256];
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	EXPECT_INT(codec_decode(dec, all, 256, pcm, 256), 256);
	int bad = 0;
	for (int i = 0; i < 256; i++) {
		if (pcm[i] != ref(all[i]) && bad++ < 5)
			unit_fail(__FILE__, __LINE__, "%s decode 0x%02x: expected %d, got %d",
				  name, i, ref(all[i]), pcm[i]);
	}
	codec_dec_free(dec);
}

static void t_g711_decode_tables(void)
{
	g711_tables("PCMU", ref_ulaw_expand);
	g711_tables("PCMA", ref_alaw_expand);
	EXPECT_INT(ref_ulaw_expand(0x00), -32124);
	EXPECT_INT(ref_ulaw_expand(0x80), 32124);
	EXPECT_INT(ref_ulaw_expand(0xFF), 0);
	EXPECT_INT(ref_alaw_expand(0xD5), 8);
	EXPECT_INT(ref_alaw_expand(0x55), -8);
	EXPECT_INT(ref_alaw_expand(0xAA), 32256);
	EXPECT_INT(ref_alaw_expand(0x2A), -32256);
}

static void g711_encode_all(const char *name, uint8_t (*ref)(int16_t))
{
	const struct codec_desc *d = codec_find(name, 8000, 1);
	struct codec_enc *enc = NULL;
	EXPECT_INT(codec_enc_new(d, NULL, &enc), 0);
	if (!enc)
		return;
	int16_t *pcm = malloc(65536 * sizeof(int16_t));
	uint8_t *out = malloc(65536);
	for (int i = 0; i < 65536; i++)
		pcm[i] = (int16_t)(i - 32768);
	EXPECT_INT(codec_encode(enc, pcm, 65536, out, 65536), 65536);
	int bad = 0;
	for (int i = 0; i < 65536; i++)
		if (out[i] != ref(pcm[i]) && bad++ < 5)
			unit_fail(__FILE__, __LINE__, "%s encode %d: expected 0x%02x, got 0x%02x",
				  name, pcm[i], ref(pcm[i]), out[i]);
	EXPECT_INT(codec_encode(enc, pcm, 100, out, 99), -ENOSPC);
	free(pcm);
	free(out);
	codec_enc_free(enc);
}

static void t_g711_encode_known(void)
{
	g711_encode_all("PCMU", ref_ulaw_compress);
	g711_encode_all("PCMA", ref_alaw_compress);
	/* spot values anyone can check against the G.711 tables */
	struct { int16_t in; uint8_t u, a; } v[] = {
		{ 0, 0xFF, 0xD5 }, { -1, 0x7F, 0x55 }, { 32767, 0x80, 0xAA },
		{ -32768, 0x00, 0x2A }, { 1000, 0xCE, 0xFA }, { -1000, 0x4E, 0x7A },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		EXPECT_INT(ref_ulaw_compress(v[i].in), v[i].u);
		EXPECT_INT(ref_alaw_compress(v[i].in), v[i].a);
	}
	/* the codec through the public API on the same values */
	struct codec_enc *u = NULL, *a = NULL;
	codec_enc_new(codec_find("PCMU", 0, 0), NULL, &u);
	codec_enc_new(codec_find("PCMA", 0, 0), NULL, &a);
	for (size_t i = 0; u && a && i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t bu, ba;
		codec_encode(u, &v[i].in, 1, &bu, 1);
		codec_encode(a, &v[i].in, 1, &ba, 1);
		EXPECT_INT(bu, v[i].u);
		EXPECT_INT(ba, v[i].a);
	}
	codec_enc_free(u);
	codec_enc_free(a);
}

/* ---- round trips ---- */

struct rt_result {
	double freq, level_db;
	int packets, bytes;
};

/* 1 kHz at -10 dBFS for 1.5 s through encode+decode in ptime packets; the
 * first 300 ms (warm-up and codec delay) are skipped before measuring. */
static int roundtrip(const char *name, int pcm_rate, const char *fmtp,
		     int ptime, struct rt_result *r)
{
	const struct codec_desc *d = codec_find(name, 0, 0);
	struct codec_params p;
	struct codec_enc *enc = NULL;
	struct codec_dec *dec = NULL;
	codec_params_default(d, &p);
	p.pcm_rate = pcm_rate;
	if (codec_params_from_fmtp(d, fmtp, &p) < 0 ||
	    codec_enc_new(d, &p, &enc) < 0 || codec_dec_new(d, &p, &dec) < 0) {
		codec_enc_free(enc);
		unit_fail(__FILE__, __LINE__, "%s@%d: cannot create", name, pcm_rate);
		return -1;
	}
	int fs = pcm_rate * ptime / 1000;
	int total = pcm_rate * 3 / 2 / fs * fs;
	int16_t *in = malloc(sizeof(int16_t) * (size_t)total);
	int16_t *out = calloc((size_t)total + (size_t)fs * 2, sizeof(int16_t));
	sine(in, total, pcm_rate, 1000.0, -10.0, 0);
	int got = 0;
	memset(r, 0, sizeof(*r));
	for (int off = 0; off < total; off += fs) {
		uint8_t pkt[1500];
		int n = codec_encode(enc, in + off, fs, pkt, sizeof(pkt));
		if (n < 0) {
			unit_fail(__FILE__, __LINE__, "%s encode: %s", name, codec_strerror(n));
			break;
		}
		int dur = n ? codec_payload_duration(d, pkt, (size_t)n) : 0;
		if (n && dur != (int)codec_samples_to_ts(d, pcm_rate, (uint32_t)fs))
			unit_fail(__FILE__, __LINE__, "%s payload duration: expected %u, got %d",
				  name, codec_samples_to_ts(d, pcm_rate, (uint32_t)fs), dur);
		int m = n ? codec_decode(dec, pkt, (size_t)n, out + got, fs * 2)
			  : codec_decode_lost(dec, NULL, 0, out + got, fs);
		if (m != fs) {
			unit_fail(__FILE__, __LINE__, "%s decode: expected %d samples, got %d",
				  name, fs, m);
			break;
		}
		got += m;
		r->packets++;
		r->bytes += n;
	}
	int skip = pcm_rate * 3 / 10 + codec_enc_delay(enc) + codec_dec_delay(dec);
	r->freq = zc_freq(out + skip, got - skip, pcm_rate);
	r->level_db = db(rms(out + skip, got - skip) / rms(in + skip, got - skip));
	free(in);
	free(out);
	codec_enc_free(enc);
	codec_dec_free(dec);
	return 0;
}

static void check_tone(const char *name, int pcm_rate, const char *fmtp, int ptime)
{
	struct rt_result r;
	if (roundtrip(name, pcm_rate, fmtp, ptime, &r) < 0)
		return;
	if (fabs(r.freq - 1000.0) > 10.0)
		unit_fail(__FILE__, __LINE__, "%s@%d/%dms: frequency expected 1000 +-10 Hz, got %.2f",
			  name, pcm_rate, ptime, r.freq);
	if (fabs(r.level_db) > 2.0)
		unit_fail(__FILE__, __LINE__, "%s@%d/%dms: level change expected within 2 dB, got %.2f dB",
			  name, pcm_rate, ptime, r.level_db);
	if (getenv("RG_VERBOSE"))
		printf("  %s@%d ptime %d: %.2f Hz, %+.2f dB, %d bytes in %d packets\n",
		       name, pcm_rate, ptime, r.freq, r.level_db, r.bytes, r.packets);
}

static void t_roundtrip_g711(void)
{
	check_tone("PCMU", 8000, "", 20);
	check_tone("PCMA", 8000, "", 20);
	check_tone("PCMU", 8000, "", 30);
}

static void t_roundtrip_opus(void)
{
	check_tone("opus", 8000, "useinbandfec=1", 20);
	check_tone("opus", 48000, "useinbandfec=1", 20);
	check_tone("opus", 16000, "", 20);
	check_tone("opus", 8000, "", 30);	/* 3 x 10 ms, repacketised */
	check_tone("opus", 48000, "", 60);
	check_tone("opus", 8000, "", 10);
}

static void t_roundtrip_g729(void)
{
	struct rt_result r;
	check_tone("G729", 8000, "annexb=no", 20);
	check_tone("G729", 8000, "annexb=yes", 20);
	check_tone("G729", 8000, "annexb=no", 40);
	/* a tone is speech to the VAD: every packet is 2 full frames */
	if (roundtrip("G729", 8000, "annexb=yes", 20, &r) == 0)
		EXPECT_INT(r.bytes, r.packets * 20);
}

static void t_opus_8k_on_48k_clock(void)
{
	const struct codec_desc *opus = codec_find("opus", 48000, 2);
	struct codec_params p;
	struct codec_enc *enc = NULL;
	struct codec_dec *dec48 = NULL;
	codec_params_default(opus, &p);
	p.pcm_rate = 8000;
	EXPECT_INT(codec_enc_new(opus, &p, &enc), 0);
	p.pcm_rate = 48000;
	EXPECT_INT(codec_dec_new(opus, &p, &dec48), 0);
	if (!enc || !dec48)
		goto out;
	int16_t in[160], out[960 * 2];
	uint8_t pkt[400];
	sine(in, 160, 8000, 1000.0, -10.0, 0);
	int n = codec_encode(enc, in, 160, pkt, sizeof(pkt));
	EXPECT(n > 0);
	/* the same packet is 960 units on the RTP clock, 960 samples at 48k */
	EXPECT_INT(codec_payload_duration(opus, pkt, (size_t)n), 960);
	EXPECT_INT(codec_decode(dec48, pkt, (size_t)n, out, 960 * 2), 960);
	EXPECT_INT(codec_decode(dec48, pkt, (size_t)n, out, 100), -ENOSPC);
	EXPECT_INT(codec_encode(enc, in, 7, pkt, sizeof(pkt)), -EINVAL);
	EXPECT_INT(codec_encode(enc, in, 160, pkt, 0), -ENOSPC);
	EXPECT_INT(codec_decode(dec48, pkt, 0, out, 960), -EBADMSG);
	/* the encoder's lookahead is reported */
	EXPECT(codec_enc_delay(enc) > 0 && codec_enc_delay(enc) < 160);
out:
	codec_enc_free(enc);
	codec_dec_free(dec48);
}

/* ---- concealment ---- */

/* Decodes 400 ms of tone, loses the next 20 ms and checks the concealment
 * continues at a comparable level and the same pitch. */
static void check_plc(const char *name, int pcm_rate, const char *fmtp)
{
	const struct codec_desc *d = codec_find(name, 0, 0);
	struct codec_params p;
	struct codec_enc *enc = NULL;
	struct codec_dec *dec = NULL;
	codec_params_default(d, &p);
	p.pcm_rate = pcm_rate;
	codec_params_from_fmtp(d, fmtp, &p);
	if (codec_enc_new(d, &p, &enc) < 0 || codec_dec_new(d, &p, &dec) < 0) {
		unit_fail(__FILE__, __LINE__, "%s: cannot create", name);
		codec_enc_free(enc);
		return;
	}
	int fs = pcm_rate / 50;
	int16_t in[960], out[960];
	uint8_t pkt[1500];
	double ref = 0;
	for (int k = 0; k < 20; k++) {
		sine(in, fs, pcm_rate, 1000.0, -10.0, (long)k * fs);
		int n = codec_encode(enc, in, fs, pkt, sizeof(pkt));
		codec_decode(dec, pkt, (size_t)n, out, fs);
		ref = rms(out, fs);
	}
	EXPECT_INT(codec_decode_lost(dec, NULL, 0, out, fs), fs);
	double lvl = db(rms(out, fs) / ref);
	double f = zc_freq(out, fs, pcm_rate);
	if (lvl < -10.0)
		unit_fail(__FILE__, __LINE__, "%s concealment: expected within 10 dB of the tone, got %.1f dB",
			  name, lvl);
	if (fabs(f - 1000.0) > 50.0)
		unit_fail(__FILE__, __LINE__, "%s concealment: expected ~1000 Hz, got %.1f", name, f);
	codec_enc_free(enc);
	codec_dec_free(dec);
}

static void t_plc(void)
{
	check_plc("PCMU", 8000, "");
	check_plc("PCMA", 8000, "");
	check_plc("G729", 8000, "annexb=no");
	check_plc("opus", 8000, "");
	check_plc("opus", 48000, "");
	struct codec_dec *dec = NULL;
	int16_t out[160];
	codec_dec_new(codec_find("G729", 0, 0), NULL, &dec);
	EXPECT_INT(codec_decode_lost(dec, NULL, 0, out, 100), -EINVAL);
	codec_dec_free(dec);
}

/* Opus in-band FEC: lose one packet, recover it from the next one. */
static void t_opus_fec(void)
{
	const struct codec_desc *opus = codec_find("opus", 0, 0);
	struct codec_params p;
	struct codec_enc *enc = NULL;
	struct codec_dec *dec = NULL;
	codec_params_default(opus, &p);
	p.pcm_rate = 8000;
	codec_params_from_fmtp(opus, "useinbandfec=1", &p);
	p.loss_pct = 20;
	EXPECT_INT(codec_enc_new(opus, &p, &enc), 0);
	EXPECT_INT(codec_dec_new(opus, &p, &dec), 0);
	if (!enc || !dec)
		goto out;
	uint8_t pkt[30][400];
	int len[30];
	int16_t in[160], out[160];
	for (int k = 0; k < 30; k++) {
		sine(in, 160, 8000, 1000.0, -10.0, (long)k * 160);
		len[k] = codec_encode(enc, in, 160, pkt[k], sizeof(pkt[k]));
	}
	double ref = 0;
	for (int k = 0; k < 30; k++) {
		int n;
		if (k == 20)
			n = codec_decode_lost(dec, pkt[21], (size_t)len[21], out, 160);
		else
			n = codec_decode(dec, pkt[k], (size_t)len[k], out, 160);
		EXPECT_INT(n, 160);
		if (k == 19)
			ref = rms(out, 160);
		if (k == 20) {
			double lvl = db(rms(out, 160) / ref);
			if (fabs(lvl) > 3.0)
				unit_fail(__FILE__, __LINE__, "FEC frame level: expected within 3 dB, got %.1f", lvl);
		}
	}
out:
	codec_enc_free(enc);
	codec_dec_free(dec);
}

/* ---- G.729 Annex B ---- */

static void t_g729_annexb_sid(void)
{
	const struct codec_desc *g729 = codec_find("G729", 8000, 1);
	struct codec_params p;
	struct codec_enc *enc = NULL, *enc_nob = NULL;
	struct codec_dec *dec = NULL;
	codec_params_default(g729, &p);
	EXPECT_INT(codec_enc_new(g729, &p, &enc), 0);
	EXPECT_INT(codec_dec_new(g729, &p, &dec), 0);
	p.annexb = false;
	EXPECT_INT(codec_enc_new(g729, &p, &enc_nob), 0);
	if (!enc || !dec || !enc_nob)
		goto out;
	/* 300 ms of tone, then 1.2 s of quiet noise (about -60 dBFS) */
	uint32_t seed = 1;
	int sid = 0, empty = 0, full = 0, nob_short = 0;
	double cn_energy = 0;
	int cn_samples = 0;
	for (int k = 0; k < 75; k++) {
		int16_t in[160], out[320];
		uint8_t pkt[40], pkt2[40];
		if (k < 15) {
			sine(in, 160, 8000, 1000.0, -10.0, (long)k * 160);
		} else {
			for (int i = 0; i < 160; i++) {
				seed = seed * 1103515245u + 12345u;
				in[i] = (int16_t)((int)((seed >> 16) & 63) - 32);
			}
		}
		int n = codec_encode(enc, in, 160, pkt, sizeof(pkt));
		if (codec_encode(enc_nob, in, 160, pkt2, sizeof(pkt2)) != 20)
			nob_short++;
		EXPECT(n == 0 || n == 2 || n == 10 || n == 12 || n == 20);
		int m;
		if (n == 0) {
			empty++;
			m = codec_decode_lost(dec, NULL, 0, out, 160);
			EXPECT_INT(m, 160);
		} else {
			m = codec_decode(dec, pkt, (size_t)n, out, 320);
			EXPECT_INT(m, (n / 10 + (n % 10 ? 1 : 0)) * 80);
			if (n % 10 == 2)
				sid++;
			if (n == 20)
				full++;
			if (m == 80)	/* a lone SID: conceal the other 10 ms */
				codec_decode_lost(dec, NULL, 0, out + 80, 80);
		}
		if (k >= 30) {
			for (int i = 0; i < 160; i++)
				cn_energy += (double)out[i] * out[i];
			cn_samples += 160;
		}
	}
	if (sid < 1)
		unit_fail(__FILE__, __LINE__, "annexb=yes on silence: expected SID frames, got %d", sid);
	if (empty < 10)
		unit_fail(__FILE__, __LINE__, "annexb=yes on silence: expected untransmitted packets, got %d",
			  empty);
	EXPECT(full >= 14);
	EXPECT_INT(nob_short, 0);
	double cn_db = db(sqrt(cn_energy / cn_samples) / 32767.0);
	if (cn_db > -40.0 || cn_db < -100.0 || cn_energy == 0)
		unit_fail(__FILE__, __LINE__, "comfort noise: expected quiet but present (-100..-40 dBFS), got %.1f",
			  cn_db);
	if (getenv("RG_VERBOSE"))
		printf("  G.729B: %d SID, %d untransmitted, comfort noise %.1f dBFS\n",
		       sid, empty, cn_db);
	int16_t o[160];
	uint8_t bad[7] = { 0 };
	EXPECT_INT(codec_decode(dec, bad, 7, o, 160), -EBADMSG);
	EXPECT_INT(codec_payload_duration(g729, bad, 7), -EBADMSG);
	EXPECT_INT(codec_payload_duration(g729, bad, 2), 80);
	EXPECT_INT(codec_encode(enc, o, 100, bad, 7), -EINVAL);
out:
	codec_enc_free(enc);
	codec_enc_free(enc_nob);
	codec_dec_free(dec);
}

static void t_pick_rate(void)
{
	const struct codec_desc *opus = codec_find("opus", 0, 0);
	struct codec_params p;
	codec_params_default(opus, &p);
	EXPECT_INT(codec_pick_pcm_rate(opus, &p, 8000), 8000);
	EXPECT_INT(codec_pick_pcm_rate(opus, &p, 0), 48000);
	EXPECT_INT(codec_pick_pcm_rate(opus, &p, 44100), 48000);
	EXPECT_INT(codec_pick_pcm_rate(opus, &p, 11025), 12000);
	codec_params_from_fmtp(opus, "maxplaybackrate=16000; sprop-maxcapturerate=16000", &p);
	EXPECT_INT(codec_pick_pcm_rate(opus, &p, 48000), 16000);
	EXPECT_INT(codec_pick_pcm_rate(opus, &p, 8000), 8000);
	EXPECT_INT(codec_pick_pcm_rate(codec_find("G729", 0, 0), &p, 48000), 8000);
	EXPECT_INT(codec_pick_pcm_rate(codec_find("telephone-event", 8000, 0), &p, 8000), 0);
}

/* The reported delay is where a speech-like signal comes out: the lag of
 * the cross-correlation peak between input and output. */
static void check_delay(const char *name, int rate, int tolerance)
{
	const struct codec_desc *d = codec_find(name, 0, 0);
	struct codec_params p;
	struct codec_enc *e = NULL;
	struct codec_dec *dd = NULL;
	codec_params_default(d, &p);
	p.pcm_rate = rate;
	p.annexb = false;
	if (codec_enc_new(d, &p, &e) < 0 || codec_dec_new(d, &p, &dd) < 0) {
		codec_enc_free(e);
		unit_fail(__FILE__, __LINE__, "%s: cannot create", name);
		return;
	}
	int fs = rate / 50, total = rate / fs * fs;
	int16_t *in = calloc((size_t)total, sizeof(int16_t));
	int16_t *out = calloc((size_t)total + 2 * (size_t)fs, sizeof(int16_t));
	uint32_t seed = 7;
	double ph = 0, f = 150;
	for (int i = 0; i < total; i++) {
		if (i % (rate / 20) == 0) {	/* a new "pitch" every 50 ms */
			seed = seed * 1103515245u + 12345u;
			f = 100 + (seed >> 16) % 200;
		}
		ph += 2 * M_PI * f / rate;
		double v = 0;
		for (int h = 1; h < 8; h++)
			v += sin(h * ph) / h;
		in[i] = (int16_t)(4000 * v);
	}
	int got = 0;
	for (int off = 0; off < total; off += fs) {
		uint8_t pkt[1500];
		int n = codec_encode(e, in + off, fs, pkt, sizeof(pkt));
		got += codec_decode(dd, pkt, (size_t)n, out + got, 2 * fs);
	}
	int best = 0;
	double bc = -2;
	for (int lag = 0; lag < rate / 50; lag++) {
		double c = 0, a = 0, b = 0;
		for (int i = rate / 4; i < total - rate / 25; i++) {
			c += (double)in[i] * out[i + lag];
			a += (double)in[i] * in[i];
			b += (double)out[i + lag] * out[i + lag];
		}
		c /= sqrt(a * b) + 1e-9;
		if (c > bc) {
			bc = c;
			best = lag;
		}
	}
	int reported = codec_enc_delay(e) + codec_dec_delay(dd);
	if (abs(best - reported) > tolerance)
		unit_fail(__FILE__, __LINE__, "%s@%d delay: reported %d samples, measured %d (corr %.2f)",
			  name, rate, reported, best, bc);
	free(in);
	free(out);
	codec_enc_free(e);
	codec_dec_free(dd);
}

static void t_delay(void)
{
	check_delay("PCMA", 8000, 0);
	check_delay("G729", 8000, 4);
	check_delay("opus", 8000, 4);
	check_delay("opus", 48000, 24);
}

static void t_opus_stereo(void)
{
	const struct codec_desc *opus = codec_find("opus", 0, 0);
	struct codec_params p;
	struct codec_enc *e = NULL;
	struct codec_dec *d = NULL, *mono = NULL;
	codec_params_default(opus, &p);
	p.channels = 2;
	p.bitrate = 64000;
	EXPECT_INT(codec_enc_new(opus, &p, &e), 0);
	EXPECT_INT(codec_dec_new(opus, &p, &d), 0);
	p.channels = 1;
	EXPECT_INT(codec_dec_new(opus, &p, &mono), 0);
	if (!e || !d || !mono)
		goto out;
	char fmtp[128];
	p.channels = 2;
	codec_fmtp_format(opus, &p, fmtp, sizeof(fmtp));
	EXPECT_STR(fmtp, "stereo=1; sprop-stereo=1; useinbandfec=1");
	/* left 1 kHz, right silent; a mono decoder downmixes */
	static int16_t in[960 * 2 * 50], out[960 * 2 * 50], outm[960 * 50];
	for (int i = 0; i < 960 * 50; i++) {
		in[2 * i] = (int16_t)(10000 * sin(2 * M_PI * 1000.0 * i / 48000));
		in[2 * i + 1] = 0;
	}
	int got = 0, gotm = 0;
	for (int k = 0; k < 50; k++) {
		uint8_t pkt[1500];
		int n = codec_encode(e, in + k * 960 * 2, 960, pkt, sizeof(pkt));
		EXPECT(n > 0);
		got += codec_decode(d, pkt, (size_t)n, out + got * 2, 960);
		gotm += codec_decode(mono, pkt, (size_t)n, outm + gotm, 960);
	}
	EXPECT_INT(got, 960 * 50);
	EXPECT_INT(gotm, 960 * 50);
	double l = 0, r = 0;
	for (int i = 48000 / 4; i < got; i++) {
		l += (double)out[2 * i] * out[2 * i];
		r += (double)out[2 * i + 1] * out[2 * i + 1];
	}
	if (db(sqrt(r / l)) > -20.0)
		unit_fail(__FILE__, __LINE__, "stereo separation: expected right < -20 dB of left, got %.1f dB",
			  db(sqrt(r / l)));
	EXPECT(fabs(zc_freq(outm + 48000 / 4, gotm - 48000 / 4, 48000) - 1000.0) < 10.0);
out:
	codec_enc_free(e);
	codec_dec_free(d);
	codec_dec_free(mono);
}

/* Encode, decode, conceal, FEC and a decoder reset on the packet path: no
 * allocation. */
static void t_no_alloc_on_packet_path(void)
{
#if COUNT_ALLOCS
	/* the counter itself works: creating an encoder allocates */
	struct codec_enc *probe = NULL;
	allocs = 0;
	counting = 1;
	codec_enc_new(codec_find("opus", 0, 0), NULL, &probe);
	counting = 0;
	EXPECT(allocs > 0);
	codec_enc_free(probe);
	static const struct { const char *name; int rate; const char *fmtp; int ms; } c[] = {
		{ "PCMU", 8000, "", 20 }, { "PCMA", 8000, "", 20 },
		{ "opus", 8000, "useinbandfec=1", 20 }, { "opus", 48000, "usedtx=1", 30 },
		{ "G729", 8000, "annexb=yes", 20 },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		const struct codec_desc *d = codec_find(c[i].name, 0, 0);
		struct codec_params p;
		struct codec_enc *e = NULL;
		struct codec_dec *dd = NULL;
		codec_params_default(d, &p);
		p.pcm_rate = c[i].rate;
		codec_params_from_fmtp(d, c[i].fmtp, &p);
		if (codec_enc_new(d, &p, &e) < 0 || codec_dec_new(d, &p, &dd) < 0) {
			codec_enc_free(e);
			unit_fail(__FILE__, __LINE__, "%s: cannot create", c[i].name);
			continue;
		}
		int fs = c[i].rate * c[i].ms / 1000;
		static int16_t pcm[48000 / 10], out[48000 / 10];
		uint8_t pkt[2][1500];
		int len[2] = { 0, 0 };
		allocs = 0;
		counting = 1;
		for (int k = 0; k < 30; k++) {
			sine(pcm, fs, c[i].rate, 1000.0, k < 20 ? -10.0 : -90.0, (long)k * fs);
			len[k & 1] = codec_encode(e, pcm, fs, pkt[k & 1], sizeof(pkt[0]));
			if (k % 7 == 3)
				codec_decode_lost(dd, pkt[k & 1], (size_t)len[k & 1], out, fs);
			else if (len[k & 1] > 0)
				codec_decode(dd, pkt[k & 1], (size_t)len[k & 1], out, fs);
			else
				codec_decode_lost(dd, NULL, 0, out, fs);
			if (k == 25)
				codec_dec_reset(dd);   /* what a new SSRC does */
		}
		counting = 0;
		if (allocs)
			unit_fail(__FILE__, __LINE__, "%s@%d: expected no allocation, got %d",
				  c[i].name, c[i].rate, allocs);
		codec_enc_free(e);
		codec_dec_free(dd);
	}
	struct codec_dtmf_det *det = NULL;
	struct codec_dtmf_gen *gen = NULL;
	codec_dtmf_det_new(48000, &det);
	codec_dtmf_gen_new(48000, &gen);
	if (det && gen) {
		static int16_t pcm[960];
		struct codec_dtmf_tone t[4];
		allocs = 0;
		counting = 1;
		codec_dtmf_gen_start(gen, 5, 10);
		for (int k = 0; k < 10; k++) {
			codec_dtmf_gen_fill(gen, pcm, 960);
			codec_dtmf_det_feed(det, pcm, 960, t, 4);
		}
		counting = 0;
		EXPECT_INT(allocs, 0);
	}
	codec_dtmf_det_free(det);
	codec_dtmf_gen_free(gen);
#endif
}

/* After a reset a decoder decodes exactly like a new one. */
static void t_dec_reset(void)
{
	static const struct { const char *name; int rate; } c[] = {
		{ "PCMU", 8000 }, { "opus", 8000 }, { "opus", 48000 }, { "G729", 8000 },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		const struct codec_desc *d = codec_find(c[i].name, 0, 0);
		struct codec_params p;
		struct codec_enc *e = NULL;
		struct codec_dec *used = NULL, *fresh = NULL;
		codec_params_default(d, &p);
		p.pcm_rate = c[i].rate;
		if (codec_enc_new(d, &p, &e) < 0 || codec_dec_new(d, &p, &used) < 0 ||
		    codec_dec_new(d, &p, &fresh) < 0) {
			unit_fail(__FILE__, __LINE__, "%s: cannot create", c[i].name);
			codec_enc_free(e);
			codec_dec_free(used);
			continue;
		}
		int fs = c[i].rate / 50;
		static int16_t in[960], a[960], b[960];
		uint8_t pkt[10][1500];
		int len[10];
		for (int k = 0; k < 10; k++) {
			sine(in, fs, c[i].rate, 700.0 + 50 * k, -12.0, (long)k * fs);
			len[k] = codec_encode(e, in, fs, pkt[k], sizeof(pkt[k]));
		}
		for (int k = 0; k < 5; k++)
			codec_decode(used, pkt[k], (size_t)len[k], a, fs);
		codec_decode_lost(used, NULL, 0, a, fs);
		EXPECT_INT(codec_dec_reset(used), 0);
		int diff = 0;
		for (int k = 5; k < 10; k++) {
			int na = codec_decode(used, pkt[k], (size_t)len[k], a, fs);
			int nb = codec_decode(fresh, pkt[k], (size_t)len[k], b, fs);
			if (na != nb || memcmp(a, b, sizeof(int16_t) * (size_t)fs) != 0)
				diff++;
		}
		if (diff)
			unit_fail(__FILE__, __LINE__, "%s@%d: %d frames differ from a new decoder after reset",
				  c[i].name, c[i].rate, diff);
		codec_enc_free(e);
		codec_dec_free(used);
		codec_dec_free(fresh);
	}
}

/* ---- every ordered pair of codecs, as a transcoder chains them ---- */

struct chain {
	struct codec_enc *ea, *eb;
	struct codec_dec *da, *db;
	int delay;
};

static int chain_new(struct chain *c, const char *a, const char *b)
{
	const char *names[2] = { a, b };
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < 2; i++) {
		const struct codec_desc *d = codec_find(names[i], 0, 0);
		struct codec_params p;
		codec_params_default(d, &p);
		p.pcm_rate = 8000;	/* as the transcoder runs Opus against G.711/G.729 */
		p.annexb = false;
		p.fec = true;
		if (codec_enc_new(d, &p, i ? &c->eb : &c->ea) < 0 ||
		    codec_dec_new(d, &p, i ? &c->db : &c->da) < 0)
			return -1;
	}
	c->delay = codec_enc_delay(c->ea) + codec_dec_delay(c->da) +
		   codec_enc_delay(c->eb) + codec_dec_delay(c->db);
	return 0;
}

static void chain_free(struct chain *c)
{
	codec_enc_free(c->ea);
	codec_enc_free(c->eb);
	codec_dec_free(c->da);
	codec_dec_free(c->db);
}

/* in -> A -> PCM -> B -> out, 20 ms at a time; returns samples out */
static int chain_run(struct chain *c, const int16_t *in, int n, int16_t *out)
{
	int got = 0;
	for (int off = 0; off + 160 <= n; off += 160) {
		uint8_t pkt[400];
		int16_t mid[160];
		int len = codec_encode(c->ea, in + off, 160, pkt, sizeof(pkt));
		int m = len > 0 ? codec_decode(c->da, pkt, (size_t)len, mid, 160)
				: codec_decode_lost(c->da, NULL, 0, mid, 160);
		if (m != 160)
			return -1;
		len = codec_encode(c->eb, mid, 160, pkt, sizeof(pkt));
		m = len > 0 ? codec_decode(c->db, pkt, (size_t)len, out + got, 160)
			    : codec_decode_lost(c->db, NULL, 0, out + got, 160);
		if (m != 160)
			return -1;
		got += m;
	}
	return got;
}

/* Pearson correlation of the 10 ms RMS envelopes of a and b[delay..]. */
static double envelope_corr(const int16_t *a, const int16_t *b, int n, int delay)
{
	double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
	int frames = 0;
	for (int f = 0; (f + 1) * 80 + delay <= n; f++, frames++) {
		double ea = rms(a + f * 80, 80), eb = rms(b + f * 80 + delay, 80);
		sa += ea;
		sb += eb;
		saa += ea * ea;
		sbb += eb * eb;
		sab += ea * eb;
	}
	double cov = sab - sa * sb / frames;
	double va = saa - sa * sa / frames, vb = sbb - sb * sb / frames;
	return cov / sqrt(va * vb + 1e-9);
}

static void t_codec_pairs(void)
{
	static const char *const names[] = { "PCMU", "PCMA", "opus", "G729" };
	size_t len = 0;
	char *raw = unit_read_file(unit_src_path("tests/data/audio/speech-8k.raw"), &len);
	if (!raw) {
		unit_fail(__FILE__, __LINE__, "cannot read tests/data/audio/speech-8k.raw (RG_SRCDIR?)");
		return;
	}
	int n = (int)(len / 2);
	int16_t *speech = malloc(sizeof(int16_t) * (size_t)n);
	int16_t *out = malloc(sizeof(int16_t) * (size_t)n);
	int16_t *tone = malloc(sizeof(int16_t) * 12000);
	for (int i = 0; i < n; i++)
		speech[i] = (int16_t)((uint8_t)raw[2 * i] | (uint8_t)raw[2 * i + 1] << 8);
	free(raw);
	sine(tone, 12000, 8000, 1000.0, -10.0, 0);
	/* the measure tells speech from other speech: 300 ms off, it drops */
	double control = envelope_corr(speech, speech, n, 2400);
	if (control > 0.5)
		unit_fail(__FILE__, __LINE__, "control: expected envelope correlation < 0.5 for misaligned speech, got %.3f",
			  control);
	for (int a = 0; a < 4; a++) {
		for (int b = 0; b < 4; b++) {
			struct chain c;
			if (a == b)
				continue;
			if (chain_new(&c, names[a], names[b]) < 0) {
				unit_fail(__FILE__, __LINE__, "%s>%s: cannot create", names[a], names[b]);
				chain_free(&c);
				continue;
			}
			/* the tone keeps its frequency (1 %) and level (2 dB) */
			int got = chain_run(&c, tone, 12000, out);
			int skip = 2400 + c.delay;
			double f = zc_freq(out + skip, got - skip, 8000);
			double lvl = db(rms(out + skip, got - skip) / rms(tone + skip, got - skip));
			if (fabs(f - 1000.0) > 10.0 || fabs(lvl) > 2.0)
				unit_fail(__FILE__, __LINE__, "%s>%s tone: expected 1000 Hz +-1%%, 0 +-2 dB; got %.1f Hz, %+.2f dB",
					  names[a], names[b], f, lvl);
			chain_free(&c);
			/* speech keeps its envelope; fresh codecs, as for a new call */
			chain_new(&c, names[a], names[b]);
			got = chain_run(&c, speech, n, out);
			double corr = envelope_corr(speech, out, got, c.delay);
			double slvl = db(rms(out + c.delay, got - c.delay) / rms(speech, got - c.delay));
			if (corr < 0.95 || fabs(slvl) > 3.0)
				unit_fail(__FILE__, __LINE__, "%s>%s speech: expected envelope correlation >= 0.95 and level within 3 dB; got %.3f, %+.2f dB",
					  names[a], names[b], corr, slvl);
			if (getenv("RG_VERBOSE"))
				printf("  %s>%s: tone %.2f Hz %+.2f dB, speech envelope corr %.3f level %+.2f dB\n",
				       names[a], names[b], f, lvl, corr, slvl);
			chain_free(&c);
		}
	}
	free(speech);
	free(out);
	free(tone);
}

/* Payloads come from the network: random bytes never crash a decoder, and
 * every answer is either a sample count that fits or an error. */
static void t_garbage_payloads(void)
{
	static const char *const names[] = { "PCMU", "PCMA", "opus", "G729" };
	uint32_t seed = 42;
	for (int c = 0; c < 4; c++) {
		const struct codec_desc *d = codec_find(names[c], 0, 0);
		struct codec_dec *dec = NULL;
		if (codec_dec_new(d, NULL, &dec) < 0) {
			unit_fail(__FILE__, __LINE__, "%s: cannot create", names[c]);
			continue;
		}
		int max = 48000 / 1000 * 120;
		static int16_t pcm[48000 / 1000 * 120];
		for (int k = 0; k < 3000; k++) {
			uint8_t buf[400];
			seed = seed * 1103515245u + 12345u;
			size_t len = (seed >> 16) % sizeof(buf);
			for (size_t i = 0; i < len; i++) {
				seed = seed * 1103515245u + 12345u;
				buf[i] = (uint8_t)(seed >> 20);
			}
			int lim = k % 3 == 0 ? 80 : max;
			int n = codec_decode(dec, buf, len, pcm, lim);
			if (n > lim || (n < 0 && n != -EBADMSG && n != -ENOSPC))
				unit_fail(__FILE__, __LINE__, "%s: %zu random bytes gave %d", names[c], len, n);
			int dur = codec_payload_duration(d, buf, len);
			if (dur < 0 && dur != -EBADMSG)
				unit_fail(__FILE__, __LINE__, "%s: duration of %zu random bytes gave %d",
					  names[c], len, dur);
			if (n > 0 && dur >= 0 &&
			    (uint32_t)dur != codec_samples_to_ts(d, 8000, (uint32_t)n) &&
			    d->id != CODEC_ID_OPUS)
				unit_fail(__FILE__, __LINE__, "%s: decoded %d samples but duration says %d",
					  names[c], n, dur);
		}
		codec_dec_free(dec);
	}
	/* fmtp strings: random printable junk is parsed or refused, never more */
	const struct codec_desc *all[] = { codec_find("opus", 0, 0), codec_find("G729", 0, 0),
					   codec_find("telephone-event", 8000, 0) };
	for (int k = 0; k < 3000; k++) {
		char f[40];
		static const char alphabet[] = "=;,- 0123456789abnoyesuinbdfc";
		for (size_t i = 0; i + 1 < sizeof(f); i++) {
			seed = seed * 1103515245u + 12345u;
			f[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		f[(seed >> 8) % sizeof(f)] = '\0';
		f[sizeof(f) - 1] = '\0';
		struct codec_params p;
		const struct codec_desc *d = all[k % 3];
		codec_params_default(d, &p);
		int rc = codec_params_from_fmtp(d, f, &p);
		if (rc != 0 && rc != -EINVAL)
			unit_fail(__FILE__, __LINE__, "fmtp \"%s\" gave %d", f, rc);
	}
}


/* An encoder and decoder built in the caller's memory (codec_enc_init,
 * codec_dec_init) give the same bytes and samples as ones from
 * codec_enc_new/codec_dec_new, take no heap (bcg729's channel state too
 * goes in the block, codec/g729.c), refuse memory too small or misaligned,
 * and codec_*_free leaves the caller's memory alone. */
static void t_placed(void)
{
	static const struct { const char *name; int rate; } c[] = {
		{ "PCMU", 8000 }, { "PCMA", 8000 }, { "opus", 8000 },
		{ "opus", 48000 }, { "G729", 8000 },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		const struct codec_desc *d = codec_find(c[i].name, 0, 0);
		struct codec_params p;
		codec_params_default(d, &p);
		p.pcm_rate = c[i].rate;
		size_t es = codec_enc_size(d, &p), ds = codec_dec_size(d, &p);
		EXPECT(es > 0 && es % 16 == 0);
		EXPECT(ds > 0 && ds % 16 == 0);
		char *mem = aligned_alloc(16, es + ds + 16);
		memset(mem, 0xa5, es + ds + 16);
		struct codec_enc *e1 = NULL, *e2 = NULL;
		struct codec_dec *d1 = NULL, *d2 = NULL;
		EXPECT_INT(codec_enc_init(d, &p, mem, es - 16, &e2), -EINVAL);
		EXPECT_INT(codec_enc_init(d, &p, mem + 8, es, &e2), -EINVAL);
#if COUNT_ALLOCS
		allocs = 0;
		counting = 1;
#endif
		int rc = codec_enc_init(d, &p, mem, es, &e2);
		int rd = codec_dec_init(d, &p, mem + es, ds, &d2);
#if COUNT_ALLOCS
		counting = 0;
		if (allocs)
			unit_fail(__FILE__, __LINE__, "%s/%d: placed enc+dec: expected no heap allocation, got %d",
				  c[i].name, c[i].rate, allocs);
#endif
		EXPECT_INT(rc, 0);
		EXPECT_INT(rd, 0);
		EXPECT((char *)e2 == mem);
		EXPECT((char *)d2 == mem + es);
		EXPECT_INT((unsigned char)mem[es + ds], 0xa5);   /* nothing written past */
		EXPECT_INT(codec_enc_new(d, &p, &e1), 0);
		EXPECT_INT(codec_dec_new(d, &p, &d1), 0);
		EXPECT_INT(codec_enc_delay(e2), codec_enc_delay(e1));
		int n = c[i].rate / 50;
		static int16_t pcm[960], o1[960], o2[960];
		for (int f = 0; f < 10 && e1 && e2 && d1 && d2; f++) {
			sine(pcm, n, c[i].rate, 440 + 50 * f, -12, 0);
			uint8_t b1[1500], b2[1500];
			int l1 = codec_encode(e1, pcm, n, b1, sizeof(b1));
			int l2 = codec_encode(e2, pcm, n, b2, sizeof(b2));
			EXPECT_INT(l2, l1);
			EXPECT(l1 > 0 && l1 == l2 && memcmp(b1, b2, (size_t)l1) == 0);
			int n1 = f == 4 ? codec_decode_lost(d1, NULL, 0, o1, n) : codec_decode(d1, b1, (size_t)l1, o1, n);
			int n2 = f == 4 ? codec_decode_lost(d2, NULL, 0, o2, n) : codec_decode(d2, b1, (size_t)l1, o2, n);
			EXPECT_INT(n2, n1);
			EXPECT(n1 > 0 && memcmp(o1, o2, sizeof(int16_t) * (size_t)n1) == 0);
		}
		codec_enc_free(e1);
		codec_dec_free(d1);
		codec_enc_free(e2);   /* the placed ones: library state only */
		codec_dec_free(d2);
		free(mem);
	}
	EXPECT_INT(codec_enc_size(NULL, NULL), 0);
	EXPECT_INT(codec_dec_size(codec_find("telephone-event", 8000, 0), NULL), 0);
}

/* The warm-up runs every codec without error and leaves nothing behind. */
static void t_warm_up(void)
{
	EXPECT_INT(codec_warm_up(), 0);
}

const struct unit_case unit_cases[] = {
	UNIT(t_registry_find),
	UNIT(t_create_errors),
	UNIT(t_fmtp_opus),
	UNIT(t_fmtp_g729_tev),
	UNIT(t_g711_decode_tables),
	UNIT(t_g711_encode_known),
	UNIT(t_roundtrip_g711),
	UNIT(t_roundtrip_opus),
	UNIT(t_roundtrip_g729),
	UNIT(t_opus_8k_on_48k_clock),
	UNIT(t_plc),
	UNIT(t_opus_fec),
	UNIT(t_g729_annexb_sid),
	UNIT(t_pick_rate),
	UNIT(t_delay),
	UNIT(t_opus_stereo),
	UNIT(t_codec_pairs),
	UNIT(t_garbage_payloads),
	UNIT(t_dec_reset),
	UNIT(t_no_alloc_on_packet_path),
	UNIT(t_placed),
	UNIT(t_warm_up),
	{ 0 },
};
