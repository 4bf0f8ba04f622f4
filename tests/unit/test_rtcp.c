/* test_rtcp.c - RTCP compound walk, decoders, builders, NTP/RTT, rx stats. */
#include "unit.h"
#include "rtcp.h"

#include <errno.h>

/* A compound packet as a softphone sends it (SR with one report block,
 * SDES CNAME, then BYE with a reason), written out byte by byte. */
static const uint8_t sr_sdes_bye[] = {
	/* SR, RC=1, length 12 (52 bytes) */
	0x81, 0xc8, 0x00, 0x0c,
	0x11, 0x22, 0x33, 0x44,                         /* sender SSRC */
	0xe9, 0x4c, 0x3c, 0x62, 0x80, 0x00, 0x00, 0x00, /* NTP 3914085474.5 */
	0x00, 0x01, 0xe2, 0x40,                         /* RTP ts 123456 */
	0x00, 0x00, 0x01, 0xf4,                         /* 500 packets */
	0x00, 0x01, 0x38, 0x80,                         /* 80000 octets */
	0x55, 0x66, 0x77, 0x88,                         /* block: SSRC */
	0x19, 0xff, 0xff, 0xfe,                         /* 25/256, cumulative -2 */
	0x00, 0x01, 0x00, 0x10,                         /* ext highest seq 65552 */
	0x00, 0x00, 0x00, 0x2a,                         /* jitter 42 */
	0x3c, 0x62, 0x80, 0x00,                         /* LSR */
	0x00, 0x01, 0x00, 0x00,                         /* DLSR 1 s */
	/* SDES, SC=1, length 6 (28 bytes) */
	0x81, 0xca, 0x00, 0x06,
	0x11, 0x22, 0x33, 0x44,
	0x01, 0x10, 'a', 'l', 'i', 'c', 'e', '@', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'o', 'r',
	0x00, 0x00,
	/* BYE, SC=1, length 3 (16 bytes): SSRC + reason "bye" + pad */
	0x81, 0xcb, 0x00, 0x03,
	0x11, 0x22, 0x33, 0x44,
	0x03, 'b', 'y', 'e',
	0x00, 0x00, 0x00, 0x00,
};
static const size_t sr_sdes_bye_bounds[] = { 52, 80, 96 };

/* RR without blocks, PLI (PSFB FMT=1), generic NACK (RTPFB FMT=1), APP, XR */
static const uint8_t rr_fb_app_xr[] = {
	0x80, 0xc9, 0x00, 0x01, 0xaa, 0xbb, 0xcc, 0xdd,                     /* RR */
	0x81, 0xce, 0x00, 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x11, 0x22, 0x33, 0x44, /* PLI */
	0x81, 0xcd, 0x00, 0x03, 0xaa, 0xbb, 0xcc, 0xdd, 0x11, 0x22, 0x33, 0x44,
	0x01, 0x00, 0x00, 0x05,                                             /* NACK 256 +mask */
	0x82, 0xcc, 0x00, 0x03, 0xaa, 0xbb, 0xcc, 0xdd, 'T', 'E', 'S', 'T',
	0xde, 0xad, 0xbe, 0xef,                                             /* APP */
	0x80, 0xcf, 0x00, 0x01, 0xaa, 0xbb, 0xcc, 0xdd,                     /* XR, empty */
};

static void t_walk_sr_sdes_bye(void)
{
	EXPECT_INT(rtcp_validate(sr_sdes_bye, sizeof(sr_sdes_bye)), 3);
	struct rtcp_iter it;
	struct rtcp_pkt p;
	rtcp_iter_init(&it, sr_sdes_bye, sizeof(sr_sdes_bye));

	EXPECT_INT(rtcp_iter_next(&it, &p), 1);
	EXPECT_INT(p.type, RTCP_SR);
	EXPECT_INT(p.count, 1);
	EXPECT_INT(p.len, 52);
	EXPECT_INT(p.ssrc, 0x11223344);
	struct rtcp_sender_info si;
	EXPECT_INT(rtcp_sr_info(&p, &si), 0);
	EXPECT_INT(si.ntp >> 32, 0xe94c3c62);
	EXPECT_INT(si.ntp & 0xffffffff, 0x80000000);
	EXPECT_INT(si.rtp_ts, 123456);
	EXPECT_INT(si.packet_count, 500);
	EXPECT_INT(si.octet_count, 80000);
	struct rtcp_report_block rb;
	EXPECT_INT(rtcp_report_block(&p, 0, &rb), 0);
	EXPECT_INT(rb.ssrc, 0x55667788);
	EXPECT_INT(rb.fraction_lost, 25);
	EXPECT_INT(rb.cumulative_lost, -2);
	EXPECT_INT(rb.ext_highest_seq, 65552);
	EXPECT_INT(rb.jitter, 42);
	EXPECT_INT(rb.lsr, 0x3c628000);
	EXPECT_INT(rb.dlsr, 0x10000);
	EXPECT_INT(rtcp_report_block(&p, 1, &rb), -ENOENT);

	EXPECT_INT(rtcp_iter_next(&it, &p), 1);
	EXPECT_INT(p.type, RTCP_SDES);
	uint32_t ssrc = 0;
	const char *cname = NULL;
	size_t cl = 0;
	EXPECT_INT(rtcp_sdes_cname(&p, &ssrc, &cname, &cl), 0);
	EXPECT_INT(ssrc, 0x11223344);
	EXPECT_INT(cl, 16);
	EXPECT_MEM(cname, "alice@example.or", 16);
	EXPECT_INT(rtcp_sr_info(&p, &si), -EINVAL);

	EXPECT_INT(rtcp_iter_next(&it, &p), 1);
	EXPECT_INT(p.type, RTCP_BYE);
	EXPECT_INT(rtcp_bye_ssrc(&p, 0, &ssrc), 0);
	EXPECT_INT(ssrc, 0x11223344);
	EXPECT_INT(rtcp_bye_ssrc(&p, 1, &ssrc), -ENOENT);
	const char *reason;
	size_t rl;
	EXPECT_INT(rtcp_bye_reason(&p, &reason, &rl), 0);
	EXPECT_INT(rl, 3);
	EXPECT_MEM(reason, "bye", 3);

	EXPECT_INT(rtcp_iter_next(&it, &p), 0);
}

static void t_walk_rr_fb_app_xr(void)
{
	EXPECT_INT(rtcp_validate(rr_fb_app_xr, sizeof(rr_fb_app_xr)), 5);
	struct rtcp_iter it;
	struct rtcp_pkt p;
	uint32_t media;
	const uint8_t *fci;
	size_t fl;
	rtcp_iter_init(&it, rr_fb_app_xr, sizeof(rr_fb_app_xr));
	EXPECT_INT(rtcp_iter_next(&it, &p), 1);
	EXPECT_INT(p.type, RTCP_RR);
	EXPECT_INT(p.count, 0);
	EXPECT_INT(p.ssrc, 0xaabbccdd);
	EXPECT_INT(rtcp_iter_next(&it, &p), 1);
	EXPECT_INT(p.type, RTCP_PSFB);
	EXPECT_INT(p.count, 1);   /* FMT 1 = PLI */
	EXPECT_INT(rtcp_fb(&p, &media, &fci, &fl), 0);
	EXPECT_INT(media, 0x11223344);
	EXPECT_INT(fl, 0);
	EXPECT_INT(rtcp_iter_next(&it, &p), 1);
	EXPECT_INT(p.type, RTCP_RTPFB);
	EXPECT_INT(rtcp_fb(&p, &media, &fci, &fl), 0);
	EXPECT_INT(fl, 4);
	EXPECT_INT(fci[1], 0);
	EXPECT_INT(fci[3], 5);
	EXPECT_INT(rtcp_iter_next(&it, &p), 1);
	EXPECT_INT(p.type, RTCP_APP);
	EXPECT_INT(p.count, 2);   /* subtype */
	const char *name;
	const uint8_t *data;
	size_t dl;
	EXPECT_INT(rtcp_app(&p, &name, &data, &dl), 0);
	EXPECT_MEM(name, "TEST", 4);
	EXPECT_INT(dl, 4);
	EXPECT_INT(data[0], 0xde);
	EXPECT_INT(rtcp_iter_next(&it, &p), 1);
	EXPECT_INT(p.type, RTCP_XR);
	EXPECT_INT(rtcp_iter_next(&it, &p), 0);
}

static bool is_bound(size_t n, const size_t *b, size_t nb)
{
	for (size_t i = 0; i < nb; i++)
		if (b[i] == n)
			return true;
	return false;
}

/* Every truncation is either an exact sub-packet boundary (a shorter valid
 * compound) or an error; never a read past the end (ASan builds check). */
static void t_every_truncation(void)
{
	for (size_t n = 0; n < sizeof(sr_sdes_bye); n++) {
		int r = rtcp_validate(sr_sdes_bye, n);
		if (is_bound(n, sr_sdes_bye_bounds, 3)) {
			int want = n == 52 ? 1 : n == 80 ? 2 : 3;
			if (r != want)
				unit_fail(__FILE__, __LINE__, "truncated to %zu: expected %d packets, got %d", n, want, r);
		} else if (r >= 0) {
			unit_fail(__FILE__, __LINE__, "truncated to %zu: expected an error, got %d", n, r);
		}
	}
	for (size_t n = 0; n < sizeof(rr_fb_app_xr); n++) {
		int r = rtcp_validate(rr_fb_app_xr, n);
		bool bound = n == 8 || n == 20 || n == 36 || n == 52;
		if (bound ? r <= 0 : r >= 0)
			unit_fail(__FILE__, __LINE__, "truncated to %zu: got %d", n, r);
	}
}

/* Every wrong value of every length field is rejected or yields a
 * different split (a longer SR may legally swallow the next packet as
 * profile-specific extension bytes); it never reads past the end. */
static void t_every_length_field(void)
{
	uint8_t p[sizeof(sr_sdes_bye)];
	size_t starts[] = { 0, 52, 80 };
	for (size_t s = 0; s < 3; s++) {
		uint16_t good = (uint16_t)(sr_sdes_bye[starts[s] + 2] << 8 | sr_sdes_bye[starts[s] + 3]);
		int bad_ok = 0;
		for (uint32_t v = 0; v <= 0xffff; v++) {
			if (v == good)
				continue;
			memcpy(p, sr_sdes_bye, sizeof(p));
			p[starts[s] + 2] = (uint8_t)(v >> 8);
			p[starts[s] + 3] = (uint8_t)v;
			int r = rtcp_validate(p, sizeof(p));
			if (r == 3 && bad_ok++ < 3)
				unit_fail(__FILE__, __LINE__, "packet %zu length %u: expected an error", s, v);
		}
	}
}

static void t_malformed(void)
{
	uint8_t p[sizeof(sr_sdes_bye)];

	/* version 1 in the second packet */
	memcpy(p, sr_sdes_bye, sizeof(p));
	p[52] = 0x41;
	EXPECT_INT(rtcp_validate(p, sizeof(p)), -EPROTONOSUPPORT);

	/* SR claims 2 report blocks in a 1-block packet */
	memcpy(p, sr_sdes_bye, sizeof(p));
	p[0] = 0x82;
	EXPECT_INT(rtcp_validate(p, sizeof(p)), -EMSGSIZE);

	/* SDES claims 2 chunks */
	memcpy(p, sr_sdes_bye, sizeof(p));
	p[52] = 0x82;
	EXPECT_INT(rtcp_validate(p, sizeof(p)), -EMSGSIZE);

	/* SDES item length runs past the packet */
	memcpy(p, sr_sdes_bye, sizeof(p));
	p[61] = 0x20;
	EXPECT_INT(rtcp_validate(p, sizeof(p)), -EMSGSIZE);

	/* SDES chunk not terminated (END octet replaced by an item type) */
	memcpy(p, sr_sdes_bye, sizeof(p));
	p[78] = 0x02;
	EXPECT(rtcp_validate(p, sizeof(p)) < 0);

	/* BYE reason length past the end */
	memcpy(p, sr_sdes_bye, sizeof(p));
	p[88] = 8;
	EXPECT_INT(rtcp_validate(p, sizeof(p)), -EMSGSIZE);

	/* BYE SC larger than the packet */
	memcpy(p, sr_sdes_bye, sizeof(p));
	p[80] = 0x85;
	EXPECT_INT(rtcp_validate(p, sizeof(p)), -EMSGSIZE);

	/* padding on a packet that is not the last */
	memcpy(p, sr_sdes_bye, sizeof(p));
	p[52] |= 0x20;
	EXPECT_INT(rtcp_validate(p, sizeof(p)), -EBADMSG);

	/* padding on the last packet: count 4 is fine, 0 / too big / odd are not */
	memcpy(p, sr_sdes_bye, sizeof(p));
	p[80] |= 0x20;
	p[95] = 4;
	EXPECT_INT(rtcp_validate(p, sizeof(p)), 3);
	p[95] = 0;
	EXPECT_INT(rtcp_validate(p, sizeof(p)), -EBADMSG);
	p[95] = 16;
	EXPECT_INT(rtcp_validate(p, sizeof(p)), -EBADMSG);
	p[95] = 3;
	EXPECT_INT(rtcp_validate(p, sizeof(p)), -EBADMSG);
	/* padding eating the BYE SSRC */
	p[95] = 12;
	EXPECT_INT(rtcp_validate(p, sizeof(p)), -EMSGSIZE);

	/* first packet must be SR/RR (or feedback) */
	EXPECT_INT(rtcp_validate(sr_sdes_bye + 52, sizeof(sr_sdes_bye) - 52), -EBADMSG);
	EXPECT_INT(rtcp_validate(NULL, 0), -EMSGSIZE);
	EXPECT_INT(rtcp_validate(sr_sdes_bye, 3), -EMSGSIZE);

	/* feedback and APP shorter than their fixed part */
	uint8_t fb[8] = { 0x81, 0xcd, 0x00, 0x01, 1, 2, 3, 4 };
	EXPECT_INT(rtcp_validate(fb, sizeof(fb)), -EMSGSIZE);
	uint8_t app[12] = { 0x80, 0xc9, 0x00, 0x01, 1, 2, 3, 4, 0x80, 0xcc, 0x00, 0x00 };
	EXPECT_INT(rtcp_validate(app, sizeof(app)), -EMSGSIZE);
}

static void t_build_and_parse(void)
{
	uint8_t b[256];
	struct rtcp_sender_info si = { 0x0102030405060708ull, 160, 10, 1600 };
	struct rtcp_report_block rb[2] = {
		{ 0xa1, 12, -5, 70000, 33, 0x11112222, 0x3333 },
		{ 0xa2, 0, 9000000, 1, 0, 0, 0 },       /* cumulative clamps */
	};
	int n = rtcp_build_sr(b, sizeof(b), 0x5eed, &si, rb, 2);
	EXPECT_INT(n, 28 + 48);
	int m = rtcp_build_sdes_cname(b + n, sizeof(b) - (size_t)n, 0x5eed, "rtpgate", 7);
	EXPECT_INT(m, 20);   /* 4 + 4 + 2 + 7 + END, padded to 20 */
	int k = rtcp_build_bye(b + n + m, sizeof(b) - (size_t)(n + m), 0x5eed);
	EXPECT_INT(k, 8);
	size_t total = (size_t)(n + m + k);
	EXPECT_INT(rtcp_validate(b, total), 3);

	struct rtcp_iter it;
	struct rtcp_pkt p;
	rtcp_iter_init(&it, b, total);
	EXPECT_INT(rtcp_iter_next(&it, &p), 1);
	EXPECT_INT(p.ssrc, 0x5eed);
	struct rtcp_sender_info si2;
	EXPECT_INT(rtcp_sr_info(&p, &si2), 0);
	EXPECT_INT(si2.ntp == si.ntp, 1);
	EXPECT_INT(si2.rtp_ts, 160);
	struct rtcp_report_block got;
	EXPECT_INT(rtcp_report_block(&p, 0, &got), 0);
	EXPECT_INT(got.ssrc, 0xa1);
	EXPECT_INT(got.fraction_lost, 12);
	EXPECT_INT(got.cumulative_lost, -5);
	EXPECT_INT(got.ext_highest_seq, 70000);
	EXPECT_INT(got.jitter, 33);
	EXPECT_INT(got.lsr, 0x11112222);
	EXPECT_INT(got.dlsr, 0x3333);
	EXPECT_INT(rtcp_report_block(&p, 1, &got), 0);
	EXPECT_INT(got.cumulative_lost, 0x7fffff);
	EXPECT_INT(rtcp_iter_next(&it, &p), 1);
	uint32_t ssrc;
	const char *cname;
	size_t cl;
	EXPECT_INT(rtcp_sdes_cname(&p, &ssrc, &cname, &cl), 0);
	EXPECT_INT(cl, 7);
	EXPECT_MEM(cname, "rtpgate", 7);

	/* RR with one block, and an empty CNAME */
	n = rtcp_build_rr(b, sizeof(b), 7, rb, 1);
	EXPECT_INT(n, 32);
	m = rtcp_build_sdes_cname(b + n, sizeof(b) - (size_t)n, 7, "", 0);
	EXPECT_INT(m, 12);
	EXPECT_INT(rtcp_validate(b, (size_t)(n + m)), 2);

	/* buffer too small: every shorter cap fails and writes nothing */
	for (size_t cap = 0; cap < 76; cap++) {
		memset(b, 0xee, sizeof(b));
		EXPECT_INT(rtcp_build_sr(b, cap, 1, &si, rb, 2), -ENOBUFS);
		EXPECT_INT(b[0], 0xee);
	}
	for (size_t cap = 0; cap < 20; cap++)
		EXPECT_INT(rtcp_build_sdes_cname(b, cap, 1, "rtpgate", 7), -ENOBUFS);
	EXPECT_INT(rtcp_build_rr(b, sizeof(b), 1, rb, 32), -EINVAL);
	char longname[300];
	memset(longname, 'x', sizeof(longname));
	EXPECT_INT(rtcp_build_sdes_cname(b, sizeof(b), 1, longname, 256), -EINVAL);

	/* SSRC rewrite in place */
	n = rtcp_build_rr(b, sizeof(b), 7, NULL, 0);
	EXPECT_INT(rtcp_set_ssrc(b, (size_t)n, 0xfeedf00d), 0);
	rtcp_iter_init(&it, b, (size_t)n);
	EXPECT_INT(rtcp_iter_next(&it, &p), 1);
	EXPECT_INT(p.ssrc, 0xfeedf00d);
	EXPECT_INT(rtcp_set_ssrc(b, 4, 1), -EMSGSIZE);
}

static void t_ntp_and_rtt(void)
{
	EXPECT_INT(rtcp_ntp_from_unix_ns(0) >> 32, 2208988800u);
	uint64_t ntp = rtcp_ntp_from_unix_ns(1500000000ull);   /* 1.5 s */
	EXPECT_INT(ntp >> 32, 2208988801u);
	EXPECT_INT(ntp & 0xffffffff, 0x80000000u);
	uint64_t t = 1764200000123456789ull;
	uint64_t back = rtcp_ntp_to_unix_ns(rtcp_ntp_from_unix_ns(t));
	EXPECT(back + 1 >= t && back <= t + 1);
	EXPECT_INT(rtcp_ntp_to_unix_ns(1), 0);   /* before 1970 */
	EXPECT_INT(rtcp_ntp_mid32(0x1122334455667788ull), 0x33445566u);

	/* RFC 3550 6.4.1 example: A = 0xb710:8000 (46864.500 s), LSR =
	 * 0xb705:2000 (46853.125 s), DLSR = 0x0005:4000 (5.250 s): RTT is
	 * 0x0006:2000 (6.125 s). */
	uint32_t rtt = 0;
	EXPECT_INT(rtcp_rtt(0xb7108000u, 0xb7052000u, 0x00054000u, &rtt), 0);
	EXPECT_INT(rtt, 0x00062000u);
	EXPECT_INT(rtcp_q16_to_us(rtt), 6125000);
	EXPECT_INT(rtcp_us_to_q16(6125000), 0x00062000u);
	EXPECT_INT(rtcp_dlsr(1000, 1000 + 5250000000ull), 0x00054000u);   /* 5.25 s */
	EXPECT_INT(rtcp_dlsr(2000, 1000), 0);
	EXPECT_INT(rtcp_dlsr(0, 70000ull * 1000000000ull), 0xffffffffu);
	EXPECT_INT(rtcp_rtt(0xb7108000u, 0, 0, &rtt), -ENOENT);
	EXPECT_INT(rtcp_rtt(0xb7108000u, 0xb7052000u, 0x00100000u, &rtt), -ERANGE);
	/* across the wrap of the middle-32 clock */
	EXPECT_INT(rtcp_rtt(0x00010000u, 0xffff0000u, 0x00008000u, &rtt), 0);
	EXPECT_INT(rtt, 0x00018000u);
}

/* 8 kHz stream, 20 ms packets: ts step 160, arrival step 20 ms */
#define STEP_NS 20000000ull

static void t_rxstats_loss_reorder_wrap(void)
{
	struct rtcp_rxstats s;
	rtcp_rxstats_init(&s, 0xabc, 8000, 1);
	/* seq 65530..65535 then 0..9; lost: 65534, 2, 3; 5 arrives after 6;
	 * 7 is duplicated */
	static const int order[] = { 65530, 65531, 65532, 65533, 65535, 0, 1, 4, 6, 5,
				     7, 7, 8, 9 };
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		uint16_t seq = (uint16_t)order[i];
		uint32_t idx = (uint16_t)(seq - 65530);
		EXPECT_INT(rtcp_rxstats_update(&s, seq, idx * 160, idx * STEP_NS), 1);
	}
	EXPECT_INT(rtcp_rxstats_ext_max(&s), 65536 + 9);
	EXPECT_INT(rtcp_rxstats_expected(&s), 16);
	EXPECT_INT(s.received, 14);                 /* duplicate counted, RFC A.3 */
	EXPECT_INT(rtcp_rxstats_lost(&s), 2);       /* 3 lost - 1 duplicate */
	EXPECT_INT(rtcp_rxstats_jitter(&s), 0);     /* perfectly timed */

	struct rtcp_report_block rb;
	rtcp_rxstats_report(&s, &rb, 0x1234, 0x10);
	EXPECT_INT(rb.ssrc, 0xabc);
	EXPECT_INT(rb.fraction_lost, 2 * 256 / 16);
	EXPECT_INT(rb.cumulative_lost, 2);
	EXPECT_INT(rb.ext_highest_seq, 65545);
	EXPECT_INT(rb.lsr, 0x1234);
	EXPECT_INT(rb.dlsr, 0x10);

	/* next interval: 10 expected, 5 received (every other one) */
	for (uint32_t seq = 10; seq < 20; seq += 2) {
		uint32_t idx = seq + 6;
		rtcp_rxstats_update(&s, (uint16_t)seq, idx * 160, idx * STEP_NS);
	}
	rtcp_rxstats_update(&s, 19, 25 * 160, 25 * STEP_NS);
	rtcp_rxstats_report(&s, &rb, 0, 0);
	EXPECT_INT(rb.ext_highest_seq, 65536 + 19);
	EXPECT_INT(rb.fraction_lost, 4 * 256 / 10);   /* 10 expected, 6 got */
	EXPECT_INT(rb.cumulative_lost, 6);

	/* an interval with nothing new: fraction 0 */
	rtcp_rxstats_report(&s, &rb, 0, 0);
	EXPECT_INT(rb.fraction_lost, 0);
}

static void t_rxstats_jitter(void)
{
	struct rtcp_rxstats s;
	rtcp_rxstats_init(&s, 1, 8000, 1);
	rtcp_rxstats_update(&s, 100, 0, 1000);
	rtcp_rxstats_update(&s, 101, 160, 1000 + STEP_NS);
	EXPECT_INT(rtcp_rxstats_jitter(&s), 0);
	/* 20 ms late = 160 units: J = 160/16 = 10 */
	rtcp_rxstats_update(&s, 102, 320, 1000 + 3 * STEP_NS);
	EXPECT_INT(s.jitter_q4, 160);
	EXPECT_INT(rtcp_rxstats_jitter(&s), 10);
	/* back on time: D = 160 again; J = 160 + 160 - 10 = 310 (q4) */
	rtcp_rxstats_update(&s, 103, 480, 1000 + 3 * STEP_NS);
	EXPECT_INT(s.jitter_q4, 310);
	EXPECT_INT(rtcp_rxstats_jitter(&s), 19);
}

static void t_rxstats_probation_and_jump(void)
{
	struct rtcp_rxstats s;
	rtcp_rxstats_init(&s, 1, 8000, 2);   /* RFC 3550 MIN_SEQUENTIAL */
	EXPECT_INT(rtcp_rxstats_update(&s, 1000, 0, 0), 0);
	EXPECT_INT(rtcp_rxstats_expected(&s), 0);
	EXPECT_INT(rtcp_rxstats_update(&s, 1001, 160, STEP_NS), 1);
	EXPECT_INT(s.received, 1);
	EXPECT_INT(rtcp_rxstats_expected(&s), 1);
	/* out-of-order during probation restarts it */
	struct rtcp_rxstats q;
	rtcp_rxstats_init(&q, 1, 8000, 2);
	EXPECT_INT(rtcp_rxstats_update(&q, 10, 0, 0), 0);
	EXPECT_INT(rtcp_rxstats_update(&q, 12, 0, 0), 0);
	EXPECT_INT(rtcp_rxstats_update(&q, 13, 0, 0), 1);

	/* a jump of 5000: held back, then believed when the next follows */
	EXPECT_INT(rtcp_rxstats_update(&s, 6001, 320, 2 * STEP_NS), 0);
	EXPECT_INT(rtcp_rxstats_update(&s, 6002, 480, 3 * STEP_NS), 1);
	EXPECT_INT(rtcp_rxstats_expected(&s), 1);     /* restarted at 6002 */
	EXPECT_INT(s.received, 1);
	/* a lone stray far packet is ignored */
	EXPECT_INT(rtcp_rxstats_update(&s, 30000, 0, 4 * STEP_NS), 0);
	EXPECT_INT(rtcp_rxstats_update(&s, 6003, 640, 4 * STEP_NS), 1);
	EXPECT_INT(rtcp_rxstats_ext_max(&s), 6003);
	/* late packet within MAX_MISORDER counts but does not move max */
	EXPECT_INT(rtcp_rxstats_update(&s, 5990, 0, 5 * STEP_NS), 1);
	EXPECT_INT(rtcp_rxstats_ext_max(&s), 6003);
}

static void t_rxstats_long_wrap(void)
{
	/* 200,000 packets with one loss every 1000: three wraps */
	struct rtcp_rxstats s;
	rtcp_rxstats_init(&s, 1, 48000, 1);
	uint32_t sent = 0, got = 0;
	for (uint32_t i = 0; i < 200000; i++) {
		sent++;
		if (i % 1000 == 500)
			continue;
		got++;
		rtcp_rxstats_update(&s, (uint16_t)(40000 + i), i * 960, i * STEP_NS);
	}
	EXPECT_INT(rtcp_rxstats_ext_max(&s), 40000 + 199999);
	EXPECT_INT(rtcp_rxstats_expected(&s), sent);
	EXPECT_INT(rtcp_rxstats_lost(&s), sent - got);
	EXPECT_INT(rtcp_rxstats_jitter(&s), 0);
}

const struct unit_case unit_cases[] = {
	UNIT(t_walk_sr_sdes_bye),
	UNIT(t_walk_rr_fb_app_xr),
	UNIT(t_every_truncation),
	UNIT(t_every_length_field),
	UNIT(t_malformed),
	UNIT(t_build_and_parse),
	UNIT(t_ntp_and_rtt),
	UNIT(t_rxstats_loss_reorder_wrap),
	UNIT(t_rxstats_jitter),
	UNIT(t_rxstats_probation_and_jump),
	UNIT(t_rxstats_long_wrap),
	{ 0 }
};
