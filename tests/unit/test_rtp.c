/* test_rtp.c - RTP header parse/build and RTP/RTCP/STUN/DTLS demux. */
#include "unit.h"
#include "rtp.h"

#include <errno.h>

/* V=2 P=0 X=0 CC=0, M=1 PT=0, seq 0x1234, ts 0xdecafbad, ssrc 0xcafebabe */
static const uint8_t simple[] = {
	0x80, 0x80, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba, 0xbe,
	'h', 'e', 'l', 'l', 'o',
};

static void t_parse_simple(void)
{
	struct rtp_hdr h;
	EXPECT_INT(rtp_parse(&h, simple, sizeof(simple)), 0);
	EXPECT_INT(h.pt, 0);
	EXPECT_INT(h.marker, 1);
	EXPECT_INT(h.seq, 0x1234);
	EXPECT_INT(h.ts, 0xdecafbad);
	EXPECT_INT(h.ssrc, 0xcafebabe);
	EXPECT_INT(h.header_len, 12);
	EXPECT_INT(h.payload_len, 5);
	EXPECT(h.payload == simple + 12);
	EXPECT_MEM(h.payload, "hello", 5);
	EXPECT_INT(h.padding, 0);
	EXPECT_INT(h.extension, 0);
}

static void t_every_truncation_of_header(void)
{
	struct rtp_hdr h;
	for (size_t n = 0; n < 12; n++)
		EXPECT_INT(rtp_parse(&h, simple, n), -EMSGSIZE);
	EXPECT_INT(rtp_parse(&h, simple, 12), 0);
	EXPECT_INT(h.payload_len, 0);
	EXPECT_INT(rtp_parse(&h, NULL, 20), -EMSGSIZE);
}

static void t_bad_version(void)
{
	uint8_t p[sizeof(simple)];
	struct rtp_hdr h;
	for (int v = 0; v < 4; v++) {
		memcpy(p, simple, sizeof(p));
		p[0] = (uint8_t)((p[0] & 0x3f) | (v << 6));
		EXPECT_INT(rtp_parse(&h, p, sizeof(p)), v == 2 ? 0 : -EPROTONOSUPPORT);
	}
}

static void t_csrc(void)
{
	/* CC=2 and two CSRCs, then 3 payload bytes */
	uint8_t p[12 + 8 + 3] = { 0x82, 0x08, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3,
		1, 1, 1, 1, 2, 2, 2, 2, 'a', 'b', 'c' };
	struct rtp_hdr h;
	EXPECT_INT(rtp_parse(&h, p, sizeof(p)), 0);
	EXPECT_INT(h.cc, 2);
	EXPECT_INT(h.pt, 8);
	EXPECT_INT(h.header_len, 20);
	EXPECT_INT(h.payload_len, 3);
	/* every truncation inside the CSRC list is an overrun */
	for (size_t n = 12; n < 20; n++)
		EXPECT_INT(rtp_parse(&h, p, n), -EMSGSIZE);
	EXPECT_INT(rtp_parse(&h, p, 20), 0);
	/* CC=15 with a short packet */
	p[0] = 0x8f;
	EXPECT_INT(rtp_parse(&h, p, sizeof(p)), -EMSGSIZE);
}

static void t_extension(void)
{
	/* X=1, CC=1, extension 0xBEDE length 2 words, 2 payload bytes */
	uint8_t p[12 + 4 + 4 + 8 + 2] = {
		0x91, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3,
		9, 9, 9, 9,
		0xbe, 0xde, 0x00, 0x02, 0x10, 0xff, 0, 0, 0x21, 1, 2, 0,
		'x', 'y' };
	struct rtp_hdr h;
	EXPECT_INT(rtp_parse(&h, p, sizeof(p)), 0);
	EXPECT_INT(h.extension, 1);
	EXPECT_INT(h.ext_profile, 0xbede);
	EXPECT_INT(h.ext_len, 8);
	EXPECT(h.ext == p + 20);
	EXPECT_INT(h.header_len, 28);
	EXPECT_INT(h.payload_len, 2);
	EXPECT_INT(h.pt, 96);
	/* truncations in the extension header and body */
	for (size_t n = 16; n < 28; n++)
		EXPECT_INT(rtp_parse(&h, p, n), -EMSGSIZE);
	EXPECT_INT(rtp_parse(&h, p, 28), 0);
	EXPECT_INT(h.payload_len, 0);
	/* length field larger than the packet */
	p[19] = 0x40;
	EXPECT_INT(rtp_parse(&h, p, sizeof(p)), -EMSGSIZE);
	p[18] = 0xff; p[19] = 0xff;
	EXPECT_INT(rtp_parse(&h, p, sizeof(p)), -EMSGSIZE);
}

static void t_padding(void)
{
	/* P=1: 4 payload bytes then 4 bytes of padding (count 4) */
	uint8_t p[12 + 8] = { 0xa0, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3,
		'a', 'b', 'c', 'd', 0, 0, 0, 4 };
	struct rtp_hdr h;
	EXPECT_INT(rtp_parse(&h, p, sizeof(p)), 0);
	EXPECT_INT(h.padding, 1);
	EXPECT_INT(h.pad_len, 4);
	EXPECT_INT(h.payload_len, 4);
	/* pad count = whole body is legal (empty payload) */
	p[19] = 8;
	EXPECT_INT(rtp_parse(&h, p, sizeof(p)), 0);
	EXPECT_INT(h.payload_len, 0);
	/* overruns into the header */
	p[19] = 9;
	EXPECT_INT(rtp_parse(&h, p, sizeof(p)), -EBADMSG);
	p[19] = 255;
	EXPECT_INT(rtp_parse(&h, p, sizeof(p)), -EBADMSG);
	/* zero count is invalid */
	p[19] = 0;
	EXPECT_INT(rtp_parse(&h, p, sizeof(p)), -EBADMSG);
	/* P set on a header-only packet: the count would be a header byte */
	EXPECT_INT(rtp_parse(&h, p, 12), -EBADMSG);
	/* padding may not reach back into the extension */
	uint8_t q[12 + 8 + 1] = { 0xb0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3,
		0xbe, 0xde, 0, 1, 1, 2, 3, 4, 2 };
	EXPECT_INT(rtp_parse(&h, q, sizeof(q)), -EBADMSG);
	q[20] = 1;
	EXPECT_INT(rtp_parse(&h, q, sizeof(q)), 0);
	EXPECT_INT(h.payload_len, 0);
}

static void t_write(void)
{
	uint8_t b[64];
	EXPECT_INT(rtp_write_header(b, 11, 0, false, 0, 0, 0), -ENOBUFS);
	EXPECT_INT(rtp_write_header(b, sizeof(b), 0, true, 0x1234, 0xdecafbad, 0xcafebabe), 12);
	EXPECT_MEM(b, simple, 12);
	EXPECT_INT(rtp_write_packet(b, 16, 0, true, 0x1234, 0xdecafbad, 0xcafebabe, "hello", 5), -ENOBUFS);
	EXPECT_INT(rtp_write_packet(b, 17, 0, true, 0x1234, 0xdecafbad, 0xcafebabe, "hello", 5), 17);
	EXPECT_MEM(b, simple, sizeof(simple));

	/* round trip through parse, and the in-place setters */
	struct rtp_hdr h;
	rtp_set_pt(b, 101);
	rtp_set_seq(b, 65535);
	rtp_set_ts(b, 1);
	rtp_set_ssrc(b, 0x01020304);
	EXPECT_INT(rtp_parse(&h, b, 17), 0);
	EXPECT_INT(h.pt, 101);
	EXPECT_INT(h.marker, 1);
	EXPECT_INT(h.seq, 65535);
	EXPECT_INT(h.ts, 1);
	EXPECT_INT(h.ssrc, 0x01020304);
	rtp_set_marker(b, false);
	EXPECT_INT(rtp_parse(&h, b, 17), 0);
	EXPECT_INT(h.marker, 0);
	EXPECT_INT(h.pt, 101);
}

static void t_classify(void)
{
	uint8_t p[32] = { 0x80, 0x00 };
	EXPECT_INT(rtp_classify(p, 12), RTP_KIND_RTP);
	EXPECT_INT(rtp_classify(p, 11), RTP_KIND_UNKNOWN);
	/* RFC 5761: second byte 192..223 is RTCP (SR=200, RR=201, ... PSFB=206) */
	for (int b = 0; b < 256; b++) {
		p[1] = (uint8_t)b;
		bool rtcp = b >= 192 && b <= 223;
		EXPECT_INT(rtp_is_rtcp(p, 12), rtcp);
		EXPECT_INT(rtp_classify(p, 12), rtcp ? RTP_KIND_RTCP : RTP_KIND_RTP);
	}
	/* PT 0..63 and 96..127 with marker set stay RTP */
	p[1] = 0x80 | 96;
	EXPECT_INT(rtp_classify(p, 12), RTP_KIND_RTP);
	p[1] = 0x80 | 63;
	EXPECT_INT(rtp_classify(p, 12), RTP_KIND_RTP);
	p[1] = 0x80 | 64;
	EXPECT_INT(rtp_classify(p, 12), RTP_KIND_RTCP);
	/* STUN binding request, DTLS handshake, garbage */
	p[0] = 0x00; p[1] = 0x01;
	EXPECT_INT(rtp_classify(p, 20), RTP_KIND_STUN);
	p[0] = 22;
	EXPECT_INT(rtp_classify(p, 20), RTP_KIND_DTLS);
	p[0] = 0x40;
	EXPECT_INT(rtp_classify(p, 20), RTP_KIND_UNKNOWN);
	EXPECT_INT(rtp_classify(p, 1), RTP_KIND_UNKNOWN);
	EXPECT_INT(rtp_classify(NULL, 20), RTP_KIND_UNKNOWN);
}

static void t_seq_after(void)
{
	EXPECT(rtp_seq_after(1, 0));
	EXPECT(rtp_seq_after(0, 65535));
	EXPECT(!rtp_seq_after(65535, 0));
	EXPECT(!rtp_seq_after(5, 5));
	EXPECT(rtp_seq_after(0x7fff, 0));
	EXPECT(!rtp_seq_after(0x8000, 0));
}

static void t_strerror(void)
{
	EXPECT_STR(rtp_strerror(-EMSGSIZE), "RTP packet truncated");
	EXPECT_STR(rtp_strerror(-EPROTONOSUPPORT), "not RTP version 2");
}

const struct unit_case unit_cases[] = {
	UNIT(t_parse_simple),
	UNIT(t_every_truncation_of_header),
	UNIT(t_bad_version),
	UNIT(t_csrc),
	UNIT(t_extension),
	UNIT(t_padding),
	UNIT(t_write),
	UNIT(t_classify),
	UNIT(t_seq_after),
	UNIT(t_strerror),
	{ 0 }
};
