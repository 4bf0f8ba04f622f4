/* bench_codec.c - micro-benchmarks of every codec's encode and decode.
 *
 * For each codec configuration it encodes a speech-like test signal (two
 * drifting tones plus noise, deterministic) in 20 ms packets for a bounded
 * amount of thread CPU time, then decodes the packets it made, and prints
 * one machine-readable line per operation:
 *
 *   codec=opus pcm_rate=8000 op=encode ns_per_frame=41234 frames=7300 \
 *     cpu_pct_per_stream=0.206
 *
 * (cpu_pct_per_stream: the share of one core that one real-time stream of
 * 50 packets/s costs). Then op=transcode lines time what a transcoded
 * stream does per packet in one direction, decode A then encode B, with
 * codec=A>B. Usage: bench_codec [milliseconds of CPU per case,
 * default 300]. It never fails for being slow.
 */
#include "codec/codec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define PTIME_MS 20
#define NPKT 250	/* 5 s of packets, reused round-robin */
#define MAXPKT 1500

struct bench_case {
	const char *label;
	const char *codec;
	int pcm_rate;
	const char *fmtp;
};

static const struct bench_case cases[] = {
	{ "PCMU", "PCMU", 8000, "" },
	{ "PCMA", "PCMA", 8000, "" },
	{ "opus", "opus", 8000, "useinbandfec=1" },
	{ "opus", "opus", 48000, "useinbandfec=1" },
	{ "G729", "G729", 8000, "annexb=no" },
	{ "G729B", "G729", 8000, "annexb=yes" },
};

static double cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void make_signal(int16_t *pcm, int n, int rate)
{
	uint32_t seed = 12345;
	for (int i = 0; i < n; i++) {
		double t = (double)i / rate;
		double f1 = 180.0 + 60.0 * sin(2 * M_PI * 0.7 * t);
		double env = 0.5 + 0.5 * sin(2 * M_PI * 2.5 * t);
		seed = seed * 1103515245u + 12345u;
		double noise = ((int)(seed >> 16 & 0x7FFF) - 16384) / 16384.0;
		double v = env * (6000 * sin(2 * M_PI * f1 * t) +
				  3000 * sin(2 * M_PI * 3.1 * f1 * t)) + 300 * noise;
		pcm[i] = (int16_t)v;
	}
}

static void report(const struct bench_case *c, const char *op, double ns,
		   long frames)
{
	double per = frames ? ns / frames : 0.0;
	printf("codec=%s pcm_rate=%d ptime=%d op=%s ns_per_frame=%.0f "
	       "frames=%ld cpu_pct_per_stream=%.4f\n", c->label, c->pcm_rate,
	       PTIME_MS, op, per, frames, per * (1000.0 / PTIME_MS) / 1e7);
}

static int run_case(const struct bench_case *c, double budget_ns)
{
	const struct codec_desc *desc = codec_find(c->codec, 0, 0);
	struct codec_params p;
	struct codec_enc *enc = NULL;
	struct codec_dec *dec = NULL;
	int rc;
	if (!desc)
		return -1;
	codec_params_default(desc, &p);
	p.pcm_rate = c->pcm_rate;
	if (codec_params_from_fmtp(desc, c->fmtp, &p) < 0 ||
	    (rc = codec_enc_new(desc, &p, &enc)) < 0 ||
	    (rc = codec_dec_new(desc, &p, &dec)) < 0) {
		fprintf(stderr, "bench_codec: %s: cannot create codec\n", c->label);
		codec_enc_free(enc);
		return -1;
	}
	int fs = c->pcm_rate * PTIME_MS / 1000;
	int16_t *pcm = malloc(sizeof(int16_t) * (size_t)fs * NPKT);
	uint8_t (*pkt)[MAXPKT] = malloc((size_t)NPKT * MAXPKT);
	int len[NPKT];
	int16_t out[48000 / 1000 * 120];
	make_signal(pcm, fs * NPKT, c->pcm_rate);

	long frames = 0;
	double t0 = cpu_ns(), t = t0;
	while (t - t0 < budget_ns) {
		for (int k = 0; k < 50; k++, frames++) {
			int i = (int)(frames % NPKT);
			len[i] = codec_encode(enc, pcm + (size_t)i * fs, fs,
					      pkt[i], MAXPKT);
		}
		t = cpu_ns();
	}
	report(c, "encode", t - t0, frames);
	long made = frames < NPKT ? frames : NPKT;

	frames = 0;
	t0 = t = cpu_ns();
	while (t - t0 < budget_ns) {
		for (int k = 0; k < 50; k++, frames++) {
			int i = (int)(frames % made);
			if (len[i] > 0)
				codec_decode(dec, pkt[i], (size_t)len[i], out, fs);
			else
				codec_decode_lost(dec, NULL, 0, out, fs);
		}
		t = cpu_ns();
	}
	report(c, "decode", t - t0, frames);

	frames = 0;
	t0 = t = cpu_ns();
	while (t - t0 < budget_ns / 4) {
		for (int k = 0; k < 50; k++, frames++)
			codec_decode_lost(dec, NULL, 0, out, fs);
		t = cpu_ns();
	}
	report(c, "conceal", t - t0, frames);

	free(pcm);
	free(pkt);
	codec_enc_free(enc);
	codec_dec_free(dec);
	return 0;
}

struct pair {
	const char *from, *to;
	int pcm_rate;
};

static const struct pair pairs[] = {
	{ "PCMU", "opus", 8000 }, { "opus", "PCMU", 8000 },
	{ "PCMU", "G729", 8000 }, { "G729", "PCMU", 8000 },
	{ "PCMA", "PCMU", 8000 },
};

static void run_pair(const struct pair *pr, double budget_ns)
{
	const struct codec_desc *a = codec_find(pr->from, 0, 0);
	const struct codec_desc *b = codec_find(pr->to, 0, 0);
	struct codec_params pa, pb;
	struct codec_enc *ea = NULL, *eb = NULL;
	struct codec_dec *da = NULL;
	codec_params_default(a, &pa);
	codec_params_default(b, &pb);
	pa.pcm_rate = pb.pcm_rate = pr->pcm_rate;
	pa.annexb = pb.annexb = false;
	pa.fec = pb.fec = a->id == CODEC_ID_OPUS || b->id == CODEC_ID_OPUS;
	if (codec_enc_new(a, &pa, &ea) < 0 || codec_dec_new(a, &pa, &da) < 0 ||
	    codec_enc_new(b, &pb, &eb) < 0) {
		codec_enc_free(ea);
		codec_dec_free(da);
		return;
	}
	int fs = pr->pcm_rate * PTIME_MS / 1000;
	int16_t *pcm = malloc(sizeof(int16_t) * (size_t)fs * NPKT);
	uint8_t (*pkt)[MAXPKT] = malloc((size_t)NPKT * MAXPKT);
	int len[NPKT];
	int16_t mid[48000 / 1000 * 120];
	uint8_t out[MAXPKT];
	make_signal(pcm, fs * NPKT, pr->pcm_rate);
	for (int i = 0; i < NPKT; i++)
		len[i] = codec_encode(ea, pcm + (size_t)i * fs, fs, pkt[i], MAXPKT);
	long frames = 0;
	double t0 = cpu_ns(), t = t0;
	while (t - t0 < budget_ns) {
		for (int k = 0; k < 50; k++, frames++) {
			int i = (int)(frames % NPKT);
			int n = len[i] > 0 ? codec_decode(da, pkt[i], (size_t)len[i], mid, fs)
					   : codec_decode_lost(da, NULL, 0, mid, fs);
			if (n > 0)
				codec_encode(eb, mid, n, out, sizeof(out));
		}
		t = cpu_ns();
	}
	char label[32];
	snprintf(label, sizeof(label), "%s>%s", pr->from, pr->to);
	struct bench_case c = { label, label, pr->pcm_rate, "" };
	report(&c, "transcode", t - t0, frames);
	free(pcm);
	free(pkt);
	codec_enc_free(ea);
	codec_enc_free(eb);
	codec_dec_free(da);
}

int main(int argc, char **argv)
{
	double ms = argc > 1 ? atof(argv[1]) : 300.0;
	if (ms <= 0 || ms > 10000)
		ms = 300.0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i], ms * 1e6);
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		run_pair(&pairs[i], ms * 1e6);
	return 0;
}
