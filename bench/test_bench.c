/* test_bench.c - unit tests of the load tool's pure parts: the latency
 * histogram, the SDP writer/skimmer, the pre-encoded frames, the memory
 * fit and the sorting of perf samples.
 * Runs with the project's unit runner (tests/unit/unit.c).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frames.h"
#include "histo.h"
#include "media.h"
#include "memfit.h"
#include "profile.h"
#include "sdpmini.h"
#include "unit.h"

static void t_histo_linear(void)
{
	static struct histo h;
	histo_reset(&h);
	for (uint64_t v = 1; v <= 1000; v++)
		histo_add(&h, v);
	EXPECT_INT(h.count, 1000);
	EXPECT_INT(h.max_us, 1000);
	EXPECT_INT((long long)histo_quantile(&h, 0.50), 501);
	EXPECT_INT((long long)histo_quantile(&h, 0.99), 991);
	EXPECT_INT((long long)histo_quantile(&h, 0.0), 1);
}

static void t_histo_log(void)
{
	static struct histo h;
	histo_reset(&h);
	histo_add(&h, 100000);          /* 100 ms: in the log part */
	double q = histo_quantile(&h, 0.5);
	EXPECT(q <= 100000 && q >= 100000 * 0.98);
	histo_add(&h, 1ull << 40);      /* beyond the range: last bucket */
	EXPECT_INT(h.max_us, 1ull << 40);
	EXPECT(histo_quantile(&h, 0.99) > 1e9);
	static struct histo e;
	histo_reset(&e);
	EXPECT_INT((long long)histo_quantile(&e, 0.99), 0);
}

static void t_histo_merge(void)
{
	static struct histo a, b;
	histo_reset(&a);
	histo_reset(&b);
	histo_add(&a, 10);
	histo_add(&b, 20);
	histo_add(&b, 30);
	histo_merge(&a, &b);
	EXPECT_INT(a.count, 3);
	EXPECT_INT(a.max_us, 30);
	EXPECT_INT((long long)histo_quantile(&a, 0.5), 20);
}

static void t_sdp_reply(void)
{
	/* the shape rtpengine sends back: session c=, dynamic and static
	 * types, telephone-event, RTCP attributes */
	const char *s =
		"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		"m=audio 31234 RTP/AVP 96 0 101\r\na=rtpmap:96 opus/48000/2\r\n"
		"a=fmtp:96 useinbandfec=1\r\na=rtpmap:101 telephone-event/48000\r\n"
		"a=sendrecv\r\na=rtcp:31235\r\n";
	struct sdpmini m;
	EXPECT_INT(sdpmini_parse(s, strlen(s), &m), 0);
	EXPECT_STR(m.addr, "127.0.0.1");
	EXPECT_INT(m.port, 31234);
	EXPECT_INT(sdpmini_find(&m, "opus"), 96);
	EXPECT_INT(sdpmini_find(&m, "PCMU"), 0);
	EXPECT_INT(sdpmini_find(&m, "telephone-event"), 101);
	EXPECT_INT(sdpmini_find(&m, "G729"), -1);
	EXPECT_INT(m.pt[0].clock, 48000);
}

static void t_sdp_media_c(void)
{
	/* media-level c= wins; LF line ends; a second m= line is ignored */
	const char *s = "v=0\nc=IN IP4 10.0.0.1\nm=audio 4000 RTP/AVP 18\n"
			"c=IN IP4 127.0.0.2/127\nm=audio 5000 RTP/AVP 0\nc=IN IP4 10.9.9.9\n";
	struct sdpmini m;
	EXPECT_INT(sdpmini_parse(s, strlen(s), &m), 0);
	EXPECT_STR(m.addr, "127.0.0.2");
	EXPECT_INT(m.port, 4000);
	EXPECT_INT(sdpmini_find(&m, "g729"), 18);
	EXPECT_INT(sdpmini_find(&m, "PCMU"), -1);
	const char *bad = "v=0\r\nc=IN IP4 1.2.3.4\r\n";
	EXPECT_INT(sdpmini_parse(bad, strlen(bad), &m), -EINVAL);
	const char *noaddr = "v=0\r\nm=audio 9 RTP/AVP 0\r\n";
	EXPECT_INT(sdpmini_parse(noaddr, strlen(noaddr), &m), -EINVAL);
}

static void t_sdp_roundtrip(void)
{
	struct rg_buf b;
	buf_init(&b);
	struct sdpmini_offer c[2] = { { 0, "PCMU/8000", NULL }, { 18, "G729/8000", "annexb=no" } };
	sdpmini_write(&b, 42, 40000, c, 2);
	EXPECT(buf_ok(&b));
	EXPECT(strstr(b.data, "a=fmtp:18 annexb=no\r\n") != NULL);
	struct sdpmini m;
	EXPECT_INT(sdpmini_parse(b.data, b.len, &m), 0);
	EXPECT_INT(m.port, 40000);
	EXPECT_INT(m.npt, 2);
	EXPECT_INT(sdpmini_find(&m, "G729"), 18);
	buf_free(&b);
}

static void t_frames(void)
{
	static struct frameset fs;
	EXPECT_INT(frames_make(&fs, FRAMES_PCMU, -1, -1), 0);
	EXPECT_INT(fs.len[0], 160);
	EXPECT_INT(fs.ts_step, 160);
	EXPECT_INT(frames_make(&fs, FRAMES_G729, -1, -1), 0);
	for (int i = 0; i < FRAMES_N; i++)
		EXPECT_INT(fs.len[i], 20);       /* two 10-byte frames, no SID */
	EXPECT_INT(frames_make(&fs, FRAMES_OPUS, 24000, 5), 0);
	EXPECT_INT(fs.clock, 48000);
	EXPECT_INT(fs.ts_step, 960);
	size_t total = 0;
	for (int i = 0; i < FRAMES_N; i++) {
		EXPECT(fs.len[i] > 2 && fs.len[i] <= FRAMES_MAXLEN);
		total += fs.len[i];
	}
	/* 24 kbit/s for 1 s is 3000 bytes; VBR lands near it */
	EXPECT(total > 1500 && total < 6000);
}

static void t_memfit_exact(void)
{
	/* 9,500 KB fixed + 6.5 KB per call, sampled at 50..200 calls */
	double x[] = { 50, 100, 150, 200 }, y[4];
	for (int i = 0; i < 4; i++)
		y[i] = 9500 + 6.5 * x[i];
	struct memfit f;
	EXPECT_INT(memfit_line(x, y, 4, &f), 0);
	EXPECT_INT((long long)(f.slope * 1000 + 0.5), 6500);
	EXPECT_INT((long long)(f.intercept + 0.5), 9500);
	EXPECT(f.r2 > 0.999999);
	EXPECT_INT(f.n, 4);
}

static void t_memfit_noisy(void)
{
	/* a repeated count (set-up step and window end) and page-sized noise:
	 * the slope is the least-squares one, not the first-to-last one */
	double x[] = { 50, 100, 150, 200, 200 };
	double y[] = { 10000, 10300, 10600, 11100, 11000 };
	struct memfit f;
	EXPECT_INT(memfit_line(x, y, 5, &f), 0);
	/* mean x 140, mean y 10600; sxy 120000, sxx 17000 */
	EXPECT_INT((long long)(f.slope * 1000 + 0.5), 7059);
	EXPECT_INT((long long)(f.intercept + 0.5), 9612);
	EXPECT(f.r2 > 0.95 && f.r2 < 1.0);
	/* whole-RSS growth divided by calls would say far more per call */
	EXPECT((11100.0 - 9000.0) / 200 > f.slope);
}

static void t_memfit_flat_and_degenerate(void)
{
	double x[] = { 100, 200, 300 }, y[] = { 8000, 8000, 8000 };
	struct memfit f;
	EXPECT_INT(memfit_line(x, y, 3, &f), 0);
	EXPECT_INT((long long)(f.slope * 1000), 0);
	EXPECT_INT((long long)f.intercept, 8000);
	EXPECT(f.r2 == 1.0);
	/* one call count only (or one sample): no slope */
	double x1[] = { 200, 200 }, y1[] = { 9000, 9100 };
	EXPECT_INT(memfit_line(x1, y1, 2, &f), -EINVAL);
	EXPECT_INT(f.n, 0);
	EXPECT_INT(memfit_line(x, y, 1, &f), -EINVAL);
	EXPECT_INT(memfit_line(x, y, 0, &f), -EINVAL);
}

/* perf script -F period,ip,sym,dso output with DWARF call chains, shaped
 * as perf 6.1 prints it: a libc/libm sample is charged to its caller. */
static const char perf_script_out[] =
	"   1000 \n"                 /* libopus itself: codec */
	"\t           3993 [unknown] (/usr/lib/x86_64-linux-gnu/libopus.so.0.8.0)\n"
	"\t          39bcf opus_decode (/usr/lib/x86_64-linux-gnu/libopus.so.0.8.0)\n"
	"\t          2b178 opus_decode_op (/build/relay/rtpgate)\n"
	"\n"
	"   1000 \n"                 /* libm called by libopus: codec */
	"\t          70b8a do_cos (inlined)\n"
	"\t          70b8a __cos_fma (/usr/lib/x86_64-linux-gnu/libm.so.6)\n"
	"\t          19cef [unknown] (/usr/lib/x86_64-linux-gnu/libopus.so.0.8.0)\n"
	"\n"
	"   1000 \n"                 /* libc called by libopus: codec */
	"\t         16e0bc __memset_avx512_unaligned_erms (/usr/lib/x86_64-linux-gnu/libc.so.6)\n"
	"\t          2211f [unknown] (/usr/lib/x86_64-linux-gnu/libopus.so.0.8.0)\n"
	"\tffffffffffffffff [unknown] ([unknown])\n"
	"\n"
	"   1000 \n"                 /* libc called by the relay: libc */
	"\t         16e0bc __memmove_avx512_unaligned_erms (/usr/lib/x86_64-linux-gnu/libc.so.6)\n"
	"\t           c7e3 stream_packet (/build/relay/rtpgate)\n"
	"\t         891f4 start_thread (/usr/lib/x86_64-linux-gnu/libc.so.6)\n"
	"\n"
	"   1000 \n"                 /* the kernel, whoever called it */
	"\tffffffff8110a1b2 pvm_irq_enable ([kernel.kallsyms])\n"
	"\t           3993 [unknown] (/usr/lib/x86_64-linux-gnu/libopus.so.0.8.0)\n"
	"\n"
	"   1000 \n"                 /* a BPF program: the kernel's too */
	"\tffffffffc0a1b2c3 bpf_prog_555d659c7360d57e_rtpgate_kfwd (bpf_prog_555d659c7360d57e_rtpgate_kfwd)\n"
	"\tffffffff8110a1b2 tcx_run ([kernel.kallsyms])\n"
	"\n"
	"   1000 \n"                 /* libm, caller not found: libm */
	"\t          6ee62 __ieee754_log_fma (/usr/lib/x86_64-linux-gnu/libm.so.6)\n"
	"\tffffffffffffffff [unknown] ([unknown])\n"
	"\n"
	"   1000 \n"                 /* rtpgate's codec/ module: codec */
	"\t          1a2b3 g711_ulaw_encode (inlined)\n"
	"\t          1a2b3 pcmu_encode (/build/relay/rtpgate)\n"
	"\n"
	"   1000 \n"                 /* bcg729, linked in statically with its prefix: codec */
	"\t          2c4d5 bcg729_computeLP (/build/relay/rtpgate)\n"
	"\t          2c9e1 bcg729Encoder (/build/relay/rtpgate)\n"
	"\n"
	"   3000 \n"                 /* the relay's own code, by period */
	"\t           c7e3 transcode (inlined)\n"
	"\t           c7e3 stream_packet (/build/relay/rtpgate)\n";

/* Transcoded media: the send time of a reply is found by sequence number.
 * A reply stamped a little before its request's interpolated send time
 * (the clocks disagree by microseconds) must not move the mapping, which
 * once put a call 20 ms late for the rest of the run; a reply that truly
 * answers the packet before (a whole packet time off) must. */
static void t_transcoded_send_time(void)
{
	static struct media_leg a, b;   /* a sends, b receives the relay's output */
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	b.peer = &a;
	b.rx_base = 1000;
	uint8_t pkt[12] = { 0x80 };
	const uint64_t t0 = 1000000000ull, ptime = 20000000ull;
	int bad = 0;
	for (uint64_t k = 0; k < 100; k++) {
		a.tx_ring[k % MEDIA_RING] = t0 + k * ptime;
		a.tx_count = k + 1;
		/* reply k: 150 us after request k; reply 40 arrives 20 us
		 * "before" its request was stamped */
		uint64_t rx = t0 + k * ptime + (k == 40 ? (uint64_t)-20000 : 150000);
		uint64_t st = media_send_time(&b, pkt, sizeof(pkt), 1000 + k, rx, &bad);
		b.rx_count++;
		if (st != t0 + k * ptime)
			unit_fail(__FILE__, __LINE__, "reply %llu mapped to %lld us off",
				  (unsigned long long)k, (long long)(st - (t0 + k * ptime)) / 1000);
	}
	EXPECT_INT(bad, 0);
	/* calibration: the first reply answers the packet before the newest
	 * (sent after the reply arrived): moved down by one */
	memset(&b, 0, sizeof(b));
	b.peer = &a;
	b.rx_base = 5000;
	uint64_t st = media_send_time(&b, pkt, sizeof(pkt), 5000, t0 + 98 * ptime + 150000, &bad);
	EXPECT_INT((long long)(st - t0) / 1000000, 98 * 20);
}

static void t_profile_attribution(void)
{
	FILE *f = fmemopen((void *)perf_script_out, sizeof(perf_script_out) - 1, "r");
	EXPECT(f != NULL);
	if (!f)
		return;
	struct profile_share p;
	EXPECT_INT(profile_parse(f, &p), 0);
	fclose(f);
	EXPECT_INT(p.samples, 10);   /* of 12,000 in all */
	EXPECT_INT(lround(p.codec * 12000), 5000);
	EXPECT_INT(lround(p.codec_callee * 12000), 2000);
	EXPECT_INT(lround(p.libc * 12000), 1000);
	EXPECT_INT(lround(p.math * 12000), 1000);
	EXPECT_INT(lround(p.kernel * 12000), 2000);
	EXPECT_INT(lround(p.relay * 12000), 3000);
	EXPECT_INT(lround(p.other * 1000), 0);

	/* nothing sampled */
	FILE *e = fmemopen((void *)"\n", 1, "r");
	EXPECT(e != NULL);
	if (e) {
		EXPECT_INT(profile_parse(e, &p), -ENODATA);
		fclose(e);
	}
}

const struct unit_case unit_cases[] = {
	UNIT(t_transcoded_send_time), UNIT(t_profile_attribution),
	UNIT(t_memfit_exact),
	UNIT(t_memfit_noisy),
	UNIT(t_memfit_flat_and_degenerate),
	UNIT(t_histo_linear),
	UNIT(t_histo_log),
	UNIT(t_histo_merge),
	UNIT(t_sdp_reply),
	UNIT(t_sdp_media_c),
	UNIT(t_sdp_roundtrip),
	UNIT(t_frames),
	{ 0 },
};
