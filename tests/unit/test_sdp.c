/* test_sdp.c - SDP parsing and rewriting: real-world samples from
 * tests/data/sdp/, exact rewrite output line by line, every malformed-input
 * error, limits. */
#include "unit.h"
#include "sdp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

/* ---- helpers ------------------------------------------------------------ */

static char *read_sample(const char *name, size_t *len)
{
	char rel[256];
	snprintf(rel, sizeof(rel), "tests/data/sdp/%s", name);
	char *p = unit_read_file(unit_src_path(rel), len);
	if (!p)
		unit_fail(__FILE__, __LINE__, "cannot read %s", unit_src_path(rel));
	return p;
}

static struct sdp_session *parse_sample(const char *name)
{
	size_t len;
	char *text = read_sample(name, &len);
	if (!text)
		return NULL;
	struct sdp_session *s = NULL;
	char err[256];
	int rc = sdp_parse(text, len, &s, err, sizeof(err));
	if (rc != 0)
		unit_fail(__FILE__, __LINE__, "%s: expected parse ok, got %d (%s)", name, rc, err);
	free(text);
	return s;
}

static struct sdp_session *parse_str(const char *text)
{
	struct sdp_session *s = NULL;
	char err[256];
	int rc = sdp_parse(text, strlen(text), &s, err, sizeof(err));
	if (rc != 0)
		unit_fail(__FILE__, __LINE__, "expected parse ok, got %d (%s)", rc, err);
	return s;
}

/* Checks that got is exactly the lines of want, each ended by CRLF; reports
 * the first line that differs with what was expected and what was got. */
#define EXPECT_LINES(got, ...) do { const char *const w_[] = { __VA_ARGS__, NULL }; \
	expect_lines(__FILE__, __LINE__, (got), w_); } while (0)

static void expect_lines(const char *file, int line, const char *got,
	const char *const *want)
{
	const char *p = got ? got : "";
	for (int i = 0; want[i]; i++) {
		const char *e = strstr(p, "\r\n");
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n != strlen(want[i]) || memcmp(p, want[i], n) != 0) {
			unit_fail(file, line, "output line %d: expected \"%s\", got \"%.*s\"%s",
				i + 1, want[i], (int)n, p, e ? "" : " (no CRLF / end)");
			return;
		}
		if (!e) {
			unit_fail(file, line, "output line %d: expected CRLF after \"%s\"",
				i + 1, want[i]);
			return;
		}
		p = e + 2;
	}
	if (*p)
		unit_fail(file, line, "expected end of output, got extra \"%.60s\"", p);
}

/* Rewrites and returns the text (malloc'd), or NULL after reporting. */
static char *rewrite(const struct sdp_session *s, const struct sdp_rewrite *rw)
{
	struct rg_buf b;
	char err[256];
	buf_init(&b);
	int rc = sdp_rewrite(s, rw, &b, err, sizeof(err));
	if (rc != 0) {
		unit_fail(__FILE__, __LINE__, "expected rewrite ok, got %d (%s)", rc, err);
		buf_free(&b);
		return NULL;
	}
	size_t n;
	return buf_steal(&b, &n);
}

static struct sdp_codec codec(int pt, const char *name, int clock, int ch, const char *fmtp)
{
	struct sdp_codec c;
	memset(&c, 0, sizeof(c));
	c.pt = pt;
	snprintf(c.name, sizeof(c.name), "%s", name);
	c.clock = clock;
	c.channels = ch;
	snprintf(c.fmtp, sizeof(c.fmtp), "%s", fmtp);
	return c;
}

#define EXPECT_CODEC(c, pt_, name_, clock_, ch_, fmtp_) do { \
	EXPECT_INT((c).pt, pt_); EXPECT_STR((c).name, name_); \
	EXPECT_INT((c).clock, clock_); EXPECT_INT((c).channels, ch_); \
	EXPECT_STR((c).fmtp, fmtp_); } while (0)

/* ---- samples: parse ----------------------------------------------------- */

static void t_sipp_parse(void)
{
	struct sdp_session *s = parse_sample("sipp-uac.sdp");
	if (!s)
		return;
	EXPECT_INT(sdp_media_count(s), 1);
	EXPECT_STR(sdp_session_addr(s), "127.0.0.1");
	EXPECT_INT(sdp_session_family(s), AF_INET);
	EXPECT_STR(sdp_origin_addr(s), "127.0.0.1");
	const struct sdp_media *m = sdp_media_get(s, 0);
	EXPECT_STR(m->type, "audio");
	EXPECT_INT(m->port, 6000);
	EXPECT_INT(m->num_ports, 1);
	EXPECT_STR(m->proto, "RTP/AVP");
	EXPECT_INT(m->nfmt, 1);
	EXPECT_STR(m->fmt[0], "0");
	EXPECT_INT(m->ncodecs, 1);
	EXPECT_CODEC(m->codecs[0], 0, "PCMU", 8000, 1, "");
	EXPECT_STR(m->addr, "127.0.0.1");
	EXPECT_INT(m->family, AF_INET);
	EXPECT(!m->media_conn);
	EXPECT_INT(m->rtcp_port, 0);
	EXPECT_STR(m->rtcp_addr, "");
	EXPECT(!m->rtcp_mux);
	EXPECT(!m->has_ice);
	EXPECT_INT(m->dir, SDP_DIR_NONE);
	EXPECT_INT(m->ptime, 0);
	EXPECT_INT(m->ncrypto, 0);
	EXPECT(sdp_media_get(s, 1) == NULL);
	EXPECT(sdp_media_get(s, -1) == NULL);
	sdp_free(s);
}

static void t_kamailio_offer_parse(void)
{
	struct sdp_session *s = parse_sample("kamailio-offer.sdp");
	if (!s)
		return;
	EXPECT_INT(sdp_media_count(s), 1);
	const struct sdp_media *m = sdp_media_get(s, 0);
	EXPECT_INT(m->port, 26000);
	EXPECT_INT(m->nfmt, 3);
	EXPECT_INT(m->ncodecs, 3);
	EXPECT_CODEC(m->codecs[0], 0, "PCMU", 8000, 1, "");
	EXPECT_CODEC(m->codecs[1], 18, "G729", 8000, 1, "annexb=no");
	EXPECT_CODEC(m->codecs[2], 101, "telephone-event", 8000, 1, "0-16");
	EXPECT(m->rtcp_mux);
	EXPECT(m->has_ice);
	EXPECT(!sdp_session_has_ice(s));
	EXPECT_INT(m->dir, SDP_SENDRECV);
	EXPECT_INT(m->ptime, 20);
	EXPECT_STR(m->addr, "127.0.0.1");
	EXPECT_STR(m->mid, "");
	EXPECT(!m->has_fingerprint);
	sdp_free(s);
}

static void t_webrtc_parse(void)
{
	struct sdp_session *s = parse_sample("webrtc.sdp");
	if (!s)
		return;
	EXPECT_INT(sdp_media_count(s), 2);
	EXPECT(sdp_session_addr(s) == NULL);
	EXPECT_INT(sdp_session_family(s), 0);
	EXPECT(!sdp_session_has_ice(s));   /* only ice-options at session level */
	const struct sdp_media *a = sdp_media_get(s, 0), *v = sdp_media_get(s, 1);
	EXPECT_STR(a->proto, "UDP/TLS/RTP/SAVPF");
	EXPECT_INT(a->port, 54400);
	EXPECT_STR(a->addr, "203.0.113.5");
	EXPECT(a->media_conn);
	EXPECT_INT(a->rtcp_port, 9);
	EXPECT_STR(a->rtcp_addr, "0.0.0.0");
	EXPECT_INT(a->rtcp_family, AF_INET);
	EXPECT(a->rtcp_mux);
	EXPECT(a->has_ice);
	EXPECT_INT(a->dir, SDP_SENDRECV);
	EXPECT_INT(a->ncodecs, 8);
	EXPECT_CODEC(a->codecs[0], 111, "opus", 48000, 2, "minptime=10;useinbandfec=1");
	EXPECT_CODEC(a->codecs[1], 63, "red", 48000, 2, "111/111");
	EXPECT_CODEC(a->codecs[2], 9, "G722", 8000, 1, "");
	EXPECT_CODEC(a->codecs[5], 13, "CN", 8000, 1, "");
	EXPECT_CODEC(a->codecs[6], 110, "telephone-event", 48000, 1, "");
	EXPECT_CODEC(a->codecs[7], 126, "telephone-event", 8000, 1, "");
	EXPECT_STR(v->type, "video");
	EXPECT_INT(v->port, 54402);
	EXPECT_INT(v->ncodecs, 4);
	EXPECT_CODEC(v->codecs[0], 96, "VP8", 90000, 0, "");
	EXPECT_CODEC(v->codecs[1], 97, "rtx", 90000, 0, "apt=96");
	EXPECT_CODEC(v->codecs[2], 102, "H264", 90000, 0,
		"level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f");
	EXPECT(v->rtcp_mux);
	EXPECT(v->has_ice);
	EXPECT_STR(a->mid, "0");
	EXPECT_STR(v->mid, "1");
	EXPECT(a->has_fingerprint);
	EXPECT(v->has_fingerprint);
	sdp_free(s);
}

static void t_ipv6_parse(void)
{
	struct sdp_session *s = parse_sample("ipv6.sdp");
	if (!s)
		return;
	EXPECT_STR(sdp_session_addr(s), "2001:db8::10");
	EXPECT_INT(sdp_session_family(s), AF_INET6);
	const struct sdp_media *m = sdp_media_get(s, 0);
	EXPECT_STR(m->addr, "2001:db8::10");
	EXPECT_INT(m->family, AF_INET6);
	EXPECT_INT(m->rtcp_port, 40001);
	EXPECT_STR(m->rtcp_addr, "2001:db8::10");
	EXPECT_INT(m->rtcp_family, AF_INET6);
	EXPECT_CODEC(m->codecs[0], 9, "G722", 8000, 1, "");
	EXPECT_CODEC(m->codecs[2], 101, "telephone-event", 8000, 1, "0-15");
	sdp_free(s);
}

static void t_savp_parse(void)
{
	struct sdp_session *s = parse_sample("savp-crypto.sdp");
	if (!s)
		return;
	const struct sdp_media *m = sdp_media_get(s, 0);
	EXPECT_STR(m->proto, "RTP/SAVP");
	EXPECT_INT(m->ncrypto, 2);
	EXPECT_STR(m->crypto[0], "1 AES_CM_128_HMAC_SHA1_80 "
		"inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4");
	EXPECT_STR(m->crypto[1], "2 AES_CM_128_HMAC_SHA1_32 "
		"inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:4");
	EXPECT_INT(m->ncodecs, 6);
	/* static PTs without a=rtpmap get their names from RFC 3551 */
	EXPECT_CODEC(m->codecs[1], 0, "PCMU", 8000, 1, "");
	EXPECT_CODEC(m->codecs[3], 3, "GSM", 8000, 1, "");
	EXPECT_CODEC(m->codecs[4], 18, "G729", 8000, 1, "annexb=no");
	EXPECT_INT(m->rtcp_port, 50013);
	EXPECT_STR(m->rtcp_addr, "");
	EXPECT_INT(m->rtcp_family, 0);
	EXPECT_INT(m->ptime, 20);
	sdp_free(s);
}

static void t_media_level_c_parse(void)
{
	struct sdp_session *s = parse_sample("media-level-c.sdp");
	if (!s)
		return;
	EXPECT(sdp_session_addr(s) == NULL);
	EXPECT_STR(sdp_origin_addr(s), "host.example.com");
	EXPECT_INT(sdp_session_dir(s), SDP_RECVONLY);
	const struct sdp_media *a = sdp_media_get(s, 0), *v = sdp_media_get(s, 1);
	EXPECT_STR(a->addr, "198.51.100.1");
	EXPECT(a->media_conn);
	EXPECT_INT(a->dir, SDP_RECVONLY);   /* inherited from the session */
	EXPECT_INT(a->maxptime, 60);
	EXPECT_CODEC(a->codecs[0], 0, "PCMU", 8000, 1, "");
	EXPECT_CODEC(a->codecs[1], 97, "iLBC", 8000, 1, "");
	EXPECT_STR(v->addr, "198.51.100.2");
	EXPECT_INT(v->dir, SDP_SENDRECV);
	EXPECT_CODEC(v->codecs[0], 31, "H261", 90000, 0, "");
	sdp_free(s);
}

static void t_mixed_c_parse(void)
{
	struct sdp_session *s = parse_sample("mixed-c.sdp");
	if (!s)
		return;
	EXPECT_INT(sdp_media_count(s), 3);
	const struct sdp_media *a = sdp_media_get(s, 0);
	const struct sdp_media *r = sdp_media_get(s, 1);
	const struct sdp_media *v = sdp_media_get(s, 2);
	EXPECT_STR(a->addr, "192.0.2.1");
	EXPECT(!a->media_conn);
	EXPECT_CODEC(a->codecs[0], 8, "PCMA", 8000, 1, "");
	EXPECT_INT(a->rtcp_port, 20001);
	EXPECT(!a->rtcp_mux);
	EXPECT_INT(r->port, 0);
	EXPECT_STR(r->addr, "192.0.2.1");
	EXPECT_STR(v->addr, "192.0.2.99");
	EXPECT(v->media_conn);
	EXPECT(v->rtcp_mux);
	EXPECT_INT(v->dir, SDP_SENDONLY);
	EXPECT_CODEC(v->codecs[0], 96, "H264", 90000, 0, "profile-level-id=42e01f");
	sdp_free(s);
}

/* ---- samples: rewrite --------------------------------------------------- */

static void t_sipp_rewrite(void)
{
	struct sdp_session *s = parse_sample("sipp-uac.sdp");
	if (!s)
		return;
	struct sdp_media_rewrite mr = { .port = 30000 };
	struct sdp_rewrite rw = { .addr = "192.0.2.10", .family = AF_INET,
		.nmedia = 1, .media = &mr };
	char *out = rewrite(s, &rw);
	EXPECT_LINES(out,
		"v=0",
		"o=user1 53655765 2353687637 IN IP4 127.0.0.1",
		"s=-",
		"c=IN IP4 192.0.2.10",
		"t=0 0",
		"m=audio 30000 RTP/AVP 0",
		"a=rtpmap:0 PCMU/8000");
	free(out);

	rw.replace_origin = true;
	rw.replace_session_name = true;
	mr.rtcp_port = 30001;
	mr.rtcp_mux = true;
	mr.ptime = 20;
	mr.dir = SDP_SENDRECV;
	out = rewrite(s, &rw);
	EXPECT_LINES(out,
		"v=0",
		"o=user1 53655765 2353687637 IN IP4 192.0.2.10",
		"s=rtpgate",
		"c=IN IP4 192.0.2.10",
		"t=0 0",
		"m=audio 30000 RTP/AVP 0",
		"a=rtpmap:0 PCMU/8000",
		"a=rtcp:30001",
		"a=rtcp-mux",
		"a=ptime:20",
		"a=sendrecv");
	free(out);
	sdp_free(s);
}

/* What the lead's offer handling does for the Kamailio flags
 * "replace-origin ICE=remove RTP/AVP rtcp-mux-demux codec-mask-PCMU
 * codec-transcode-PCMA". */
static void t_kamailio_offer_rewrite(void)
{
	struct sdp_session *s = parse_sample("kamailio-offer.sdp");
	if (!s)
		return;
	struct sdp_codec cs[] = {
		codec(8, "PCMA", 8000, 1, ""),
		codec(18, "G729", 8000, 1, "annexb=no"),
		codec(101, "telephone-event", 8000, 1, "0-16"),
	};
	struct sdp_media_rewrite mr = { .port = 30000, .rtcp_port = 30001,
		.rtcp_mux = false, .proto = "RTP/AVP", .codecs = cs, .ncodecs = 3 };
	struct sdp_rewrite rw = { .addr = "192.0.2.10", .family = AF_INET,
		.replace_origin = true, .ice_remove = true, .nmedia = 1, .media = &mr };
	char *out = rewrite(s, &rw);
	EXPECT_LINES(out,
		"v=0",
		"o=uac 53655765 2353687637 IN IP4 192.0.2.10",
		"s=-",
		"c=IN IP4 192.0.2.10",
		"t=0 0",
		"m=audio 30000 RTP/AVP 8 18 101",
		"a=rtpmap:8 PCMA/8000",
		"a=rtpmap:18 G729/8000",
		"a=fmtp:18 annexb=no",
		"a=rtpmap:101 telephone-event/8000",
		"a=fmtp:101 0-16",
		"a=ptime:20",
		"a=sendrecv",
		"a=rtcp:30001");
	free(out);

	/* ICE kept, rtcp-mux kept (it was offered), codecs untouched */
	struct sdp_media_rewrite keep = { .port = 30000, .rtcp_mux = true };
	struct sdp_rewrite rw2 = { .addr = "192.0.2.10", .family = AF_INET,
		.nmedia = 1, .media = &keep };
	out = rewrite(s, &rw2);
	EXPECT_LINES(out,
		"v=0",
		"o=uac 53655765 2353687637 IN IP4 127.0.0.1",
		"s=-",
		"c=IN IP4 192.0.2.10",
		"t=0 0",
		"m=audio 30000 RTP/AVP 0 18 101",
		"a=rtpmap:0 PCMU/8000",
		"a=rtpmap:18 G729/8000",
		"a=fmtp:18 annexb=no",
		"a=rtpmap:101 telephone-event/8000",
		"a=fmtp:101 0-16",
		"a=ptime:20",
		"a=rtcp-mux",
		"a=ice-ufrag:Ab12",
		"a=ice-pwd:abcdefghijklmnopqrstuv",
		"a=candidate:1 1 UDP 2130706431 127.0.0.1 26000 typ host",
		"a=sendrecv");
	free(out);
	sdp_free(s);
}

static void t_kamailio_answer_rewrite(void)
{
	struct sdp_session *s = parse_sample("kamailio-answer.sdp");
	if (!s)
		return;
	const struct sdp_media *m = sdp_media_get(s, 0);
	EXPECT_CODEC(m->codecs[0], 8, "PCMA", 8000, 1, "");
	/* the parsed codec list written back gives the same lines */
	struct sdp_media_rewrite mr = { .port = 30002, .rtcp_port = 30003,
		.codecs = m->codecs, .ncodecs = m->ncodecs };
	struct sdp_rewrite rw = { .addr = "192.0.2.10", .family = AF_INET,
		.replace_origin = true, .ice_remove = true, .nmedia = 1, .media = &mr };
	char *out = rewrite(s, &rw);
	EXPECT_LINES(out,
		"v=0",
		"o=uas 1234 5678 IN IP4 192.0.2.10",
		"s=-",
		"c=IN IP4 192.0.2.10",
		"t=0 0",
		"m=audio 30002 RTP/AVP 8 101",
		"a=rtpmap:8 PCMA/8000",
		"a=rtpmap:101 telephone-event/8000",
		"a=fmtp:101 0-16",
		"a=ptime:20",
		"a=sendrecv",
		"a=rtcp:30003");
	free(out);
	sdp_free(s);
}

static void t_webrtc_rewrite(void)
{
	struct sdp_session *s = parse_sample("webrtc.sdp");
	if (!s)
		return;
	/* WebRTC -> plain RTP: ICE out, RTP/AVP, audio narrowed to G.711 + DTMF,
	 * video narrowed to VP8 + its rtx, rtcp-mux kept on video only */
	struct sdp_codec ac[] = {
		codec(0, "PCMU", 8000, 1, ""),
		codec(8, "PCMA", 8000, 1, ""),
		codec(126, "telephone-event", 8000, 1, "0-16"),
	};
	struct sdp_codec vc[] = {
		codec(96, "VP8", 90000, 0, ""),
		codec(97, "rtx", 90000, 0, "apt=96"),
	};
	struct sdp_media_rewrite mr[2] = {
		{ .port = 30000, .rtcp_port = 30001, .proto = "RTP/AVP",
		  .codecs = ac, .ncodecs = 3 },
		{ .port = 30002, .rtcp_mux = true, .proto = "RTP/AVPF",
		  .codecs = vc, .ncodecs = 2 },
	};
	struct sdp_rewrite rw = { .addr = "192.0.2.10", .family = AF_INET,
		.replace_origin = true, .ice_remove = true, .nmedia = 2, .media = mr };
	char *out = rewrite(s, &rw);
	EXPECT_LINES(out,
		"v=0",
		"o=- 4611731400430051336 2 IN IP4 192.0.2.10",
		"s=-",
		"t=0 0",
		"a=group:BUNDLE 0 1",
		"a=extmap-allow-mixed",
		"a=msid-semantic: WMS 3b5e0e7a",
		"m=audio 30000 RTP/AVP 0 8 126",
		"c=IN IP4 192.0.2.10",
		"a=rtpmap:0 PCMU/8000",
		"a=rtpmap:8 PCMA/8000",
		"a=rtpmap:126 telephone-event/8000",
		"a=fmtp:126 0-16",
		"a=rtcp:30001 IN IP4 192.0.2.10",
		"a=fingerprint:sha-256 3C:4A:2B:91:0E:55:7F:C2:18:D6:AA:09:6B:E3:41:77:"
			"5C:8F:20:B4:E9:13:6D:0A:F2:87:39:C5:4E:1B:DA:66",
		"a=setup:actpass",
		"a=mid:0",
		"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
		"a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
		"a=sendrecv",
		"a=msid:3b5e0e7a 9c1d2f40",
		"a=ssrc:1735362140 cname:vS2fLk0aQe3Tb9Hn",
		"a=ssrc:1735362140 msid:3b5e0e7a 9c1d2f40",
		"m=video 30002 RTP/AVPF 96 97",
		"c=IN IP4 192.0.2.10",
		"a=rtpmap:96 VP8/90000",
		"a=rtpmap:97 rtx/90000",
		"a=fmtp:97 apt=96",
		"a=fingerprint:sha-256 3C:4A:2B:91:0E:55:7F:C2:18:D6:AA:09:6B:E3:41:77:"
			"5C:8F:20:B4:E9:13:6D:0A:F2:87:39:C5:4E:1B:DA:66",
		"a=setup:actpass",
		"a=mid:1",
		"a=sendrecv",
		"a=rtcp-mux",
		"a=rtcp-rsize",
		"a=rtcp-fb:96 goog-remb",
		"a=rtcp-fb:96 nack",
		"a=rtcp-fb:96 nack pli",
		"a=rtcp-fb:* ccm fir");
	free(out);
	sdp_free(s);
}

/* drop_attrs removes named attributes everywhere; a=rtcp dropped that way
 * is then appended instead of replaced in place. */
static void t_drop_attrs(void)
{
	struct sdp_session *s = parse_sample("webrtc.sdp");
	if (!s)
		return;
	struct sdp_codec ac[] = { codec(111, "opus", 48000, 2, "useinbandfec=1") };
	const char *const drop[] = { "fingerprint", "setup", "group", "extmap", "ssrc",
		"msid", "msid-semantic", "extmap-allow-mixed", "rtcp", "rtcp-rsize", "mid" };
	struct sdp_media_rewrite mr[2] = {
		{ .port = 30000, .rtcp_port = 30001, .proto = "RTP/AVP",
		  .codecs = ac, .ncodecs = 1 },
		{ .port = 0, .proto = "RTP/AVP" },
	};
	struct sdp_rewrite rw = { .addr = "192.0.2.10", .family = AF_INET,
		.ice_remove = true, .drop_attrs = drop, .ndrop = 11, .nmedia = 2, .media = mr };
	char *out = rewrite(s, &rw);
	EXPECT_LINES(out,
		"v=0",
		"o=- 4611731400430051336 2 IN IP4 127.0.0.1",
		"s=-",
		"t=0 0",
		"m=audio 30000 RTP/AVP 111",
		"c=IN IP4 192.0.2.10",
		"a=rtpmap:111 opus/48000/2",
		"a=fmtp:111 useinbandfec=1",
		"a=sendrecv",
		"a=rtcp-fb:111 transport-cc",
		"a=rtcp:30001 IN IP4 192.0.2.10",   /* the original had an address */
		"m=video 0 RTP/AVP 96 97 102 103",
		"c=IN IP4 192.0.2.10",
		"a=sendrecv",
		"a=rtpmap:96 VP8/90000",
		"a=rtcp-fb:96 goog-remb",
		"a=rtcp-fb:96 nack",
		"a=rtcp-fb:96 nack pli",
		"a=rtpmap:97 rtx/90000",
		"a=fmtp:97 apt=96",
		"a=rtpmap:102 H264/90000",
		"a=rtcp-fb:102 nack pli",
		"a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
		"a=rtpmap:103 rtx/90000",
		"a=fmtp:103 apt=102",
		"a=rtcp-fb:* ccm fir");
	free(out);
	sdp_free(s);
}

static void t_ipv6_rewrite(void)
{
	struct sdp_session *s = parse_sample("ipv6.sdp");
	if (!s)
		return;
	struct sdp_media_rewrite mr = { .port = 30000, .rtcp_port = 30001 };
	struct sdp_rewrite rw = { .addr = "2001:db8::1", .family = AF_INET6,
		.replace_origin = true, .nmedia = 1, .media = &mr };
	char *out = rewrite(s, &rw);
	EXPECT_LINES(out,
		"v=0",
		"o=- 1700000000 1700000001 IN IP6 2001:db8::1",
		"s=call",
		"c=IN IP6 2001:db8::1",
		"t=0 0",
		"m=audio 30000 RTP/AVP 9 8 101",
		"a=rtpmap:9 G722/8000",
		"a=rtpmap:8 PCMA/8000",
		"a=rtpmap:101 telephone-event/8000",
		"a=fmtp:101 0-15",
		"a=rtcp:30001 IN IP6 2001:db8::1",
		"a=ptime:20",
		"a=sendrecv");
	free(out);

	/* an IPv6 leg bridged to an IPv4 leg */
	rw.addr = "192.0.2.10";
	rw.family = AF_INET;
	out = rewrite(s, &rw);
	EXPECT_LINES(out,
		"v=0",
		"o=- 1700000000 1700000001 IN IP4 192.0.2.10",
		"s=call",
		"c=IN IP4 192.0.2.10",
		"t=0 0",
		"m=audio 30000 RTP/AVP 9 8 101",
		"a=rtpmap:9 G722/8000",
		"a=rtpmap:8 PCMA/8000",
		"a=rtpmap:101 telephone-event/8000",
		"a=fmtp:101 0-15",
		"a=rtcp:30001 IN IP4 192.0.2.10",
		"a=ptime:20",
		"a=sendrecv");
	free(out);
	sdp_free(s);
}

static void t_savp_rewrite(void)
{
	struct sdp_session *s = parse_sample("savp-crypto.sdp");
	if (!s)
		return;
	const char *const attrs[] = {
		"crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVowMTIz",
	};
	struct sdp_media_rewrite mr = { .port = 30000, .rtcp_port = 30001,
		.drop_crypto = true, .add_attrs = attrs, .nadd = 1, .ptime = 30 };
	struct sdp_rewrite rw = { .addr = "192.0.2.10", .family = AF_INET,
		.nmedia = 1, .media = &mr };
	char *out = rewrite(s, &rw);
	EXPECT_LINES(out,
		"v=0",
		"o=snom 1234567890 1234567891 IN IP4 192.0.2.20",
		"s=-",
		"c=IN IP4 192.0.2.10",
		"t=0 0",
		"m=audio 30000 RTP/SAVP 8 0 9 3 18 101",
		"a=rtpmap:8 PCMA/8000",
		"a=rtpmap:9 G722/8000",
		"a=fmtp:18 annexb=no",
		"a=rtpmap:101 telephone-event/8000",
		"a=fmtp:101 0-15",
		"a=rtcp:30001",
		"a=encryption:optional",
		"a=ptime:30",
		"a=sendrecv",
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVowMTIz");
	free(out);

	/* SAVP -> AVP towards a plain leg, crypto dropped, codecs from the parse */
	const struct sdp_media *m = sdp_media_get(s, 0);
	struct sdp_media_rewrite plain = { .port = 30002, .proto = "RTP/AVP",
		.drop_crypto = true, .codecs = m->codecs, .ncodecs = m->ncodecs };
	rw.media = &plain;
	out = rewrite(s, &rw);
	EXPECT_LINES(out,
		"v=0",
		"o=snom 1234567890 1234567891 IN IP4 192.0.2.20",
		"s=-",
		"c=IN IP4 192.0.2.10",
		"t=0 0",
		"m=audio 30002 RTP/AVP 8 0 9 3 18 101",
		"a=rtpmap:8 PCMA/8000",
		"a=rtpmap:0 PCMU/8000",
		"a=rtpmap:9 G722/8000",
		"a=rtpmap:3 GSM/8000",
		"a=rtpmap:18 G729/8000",
		"a=fmtp:18 annexb=no",
		"a=rtpmap:101 telephone-event/8000",
		"a=fmtp:101 0-15",
		"a=encryption:optional",
		"a=ptime:20",
		"a=sendrecv");
	free(out);
	sdp_free(s);
}

static void t_media_level_c_rewrite(void)
{
	struct sdp_session *s = parse_sample("media-level-c.sdp");
	if (!s)
		return;
	struct sdp_media_rewrite mr[2] = {
		{ .port = 30000, .rtcp_port = 30001 },
		{ .port = 30002, .rtcp_port = 30003, .dir = SDP_RECVONLY },
	};
	struct sdp_rewrite rw = { .addr = "192.0.2.10", .family = AF_INET,
		.replace_origin = true, .nmedia = 2, .media = mr };
	char *out = rewrite(s, &rw);
	EXPECT_LINES(out,
		"v=0",
		"o=alice 2890844526 2890844527 IN IP4 192.0.2.10",
		"s=conference",
		"i=audio and video, each with its own connection",
		"t=0 0",
		"a=recvonly",
		"m=audio 30000 RTP/AVP 0 97",
		"c=IN IP4 192.0.2.10",
		"b=AS:64",
		"a=rtpmap:97 iLBC/8000",
		"a=maxptime:60",
		"a=rtcp:30001",
		"m=video 30002 RTP/AVP 31 32",
		"c=IN IP4 192.0.2.10",
		"b=AS:512",
		"a=rtpmap:31 H261/90000",
		"a=rtpmap:32 MPV/90000",
		"a=recvonly",
		"a=rtcp:30003");
	free(out);
	sdp_free(s);
}

static void t_mixed_c_rewrite(void)
{
	struct sdp_session *s = parse_sample("mixed-c.sdp");
	if (!s)
		return;
	struct sdp_media_rewrite mr[3] = {
		/* rtcp-mux added, a=rtcp dropped */
		{ .port = 30000, .rtcp_mux = true, .ptime = 20 },
		/* the rejected stream stays rejected */
		{ .port = 0 },
		/* rtcp-mux removed (demux), rtcp port given, direction replaced */
		{ .port = 30002, .rtcp_port = 30003, .dir = SDP_INACTIVE },
	};
	struct sdp_rewrite rw = { .addr = "192.0.2.10", .family = AF_INET,
		.nmedia = 3, .media = mr };
	char *out = rewrite(s, &rw);
	EXPECT_LINES(out,
		"v=0",
		"o=bob 808 809 IN IP4 192.0.2.1",
		"s=-",
		"c=IN IP4 192.0.2.10",
		"t=0 0",
		"a=tool:softphone 1.0",
		"m=audio 30000 RTP/AVP 8 101",
		"a=rtpmap:101 telephone-event/8000",
		"a=fmtp:101 0-16",
		"a=X-nat:0",
		"a=rtcp-mux",
		"a=ptime:20",
		"m=video 0 RTP/AVP 34",
		"m=video 30002 RTP/AVP 96",
		"c=IN IP4 192.0.2.10",
		"a=rtpmap:96 H264/90000",
		"a=fmtp:96 profile-level-id=42e01f",
		"a=inactive",
		"a=rtcp:30003");
	free(out);
	sdp_free(s);
}

/* ---- behaviours --------------------------------------------------------- */

static void t_bare_lf(void)
{
	size_t len;
	char *crlf = read_sample("kamailio-offer.sdp", &len);
	if (!crlf)
		return;
	char *lf = malloc(len);
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (crlf[i] != '\r')
			lf[n++] = crlf[i];
	struct sdp_session *a = NULL, *b = NULL;
	char err[256];
	EXPECT_INT(sdp_parse(crlf, len, &a, err, sizeof(err)), 0);
	EXPECT_INT(sdp_parse(lf, n, &b, err, sizeof(err)), 0);
	if (a && b) {
		struct sdp_media_rewrite mr = { .port = 30000, .rtcp_mux = true };
		struct sdp_rewrite rw = { .addr = "192.0.2.10", .family = AF_INET,
			.nmedia = 1, .media = &mr };
		char *oa = rewrite(a, &rw), *ob = rewrite(b, &rw);
		EXPECT_STR(ob, oa);   /* output is CRLF either way */
		EXPECT_INT(sdp_media_get(b, 0)->ncodecs, 3);
		free(oa);
		free(ob);
	}
	sdp_free(a);
	sdp_free(b);
	free(lf);
	free(crlf);
}

/* Mixed line ends, a last line without any line end, empty lines. */
static void t_line_ends(void)
{
	struct sdp_session *s = parse_str("v=0\n\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\n"
		"c=IN IP4 10.0.0.1\r\n\r\nt=0 0\nm=audio 4000 RTP/AVP 8\r\na=ptime:20");
	if (!s)
		return;
	EXPECT_INT(sdp_media_get(s, 0)->ptime, 20);
	struct sdp_media_rewrite mr = { .port = 4000 };
	struct sdp_rewrite rw = { .addr = "10.0.0.2", .family = AF_INET,
		.nmedia = 1, .media = &mr };
	char *out = rewrite(s, &rw);
	EXPECT_LINES(out, "v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.2",
		"t=0 0", "m=audio 4000 RTP/AVP 8", "a=ptime:20");
	free(out);
	sdp_free(s);
}

/* Lines the relay does not understand come out byte for byte, in place. */
static void t_unknown_lines_preserved(void)
{
	struct sdp_session *s = parse_str(
		"v=0\r\n"
		"o=- 1 1 IN IP4 10.0.0.1\r\n"
		"s=Caf\xc3\xa9 \t call\r\n"
		"u=http://example.com/x\r\n"
		"e=j.doe@example.com (Jane Doe)\r\n"
		"c=IN IP4 224.2.1.1/127/3\r\n"
		"b=CT:128\r\n"
		"t=2873397496 2873404696\r\n"
		"r=7d 1h 0 25h\r\n"
		"z=2882844526 -1h 2898848070 0\r\n"
		"k=prompt\r\n"
		"a=X-custom:  two  spaces \r\n"
		"y=0123456789\r\n"
		"m=audio 4000/2 RTP/AVP 8 96\r\n"
		"i=main audio\r\n"
		"a=rtpmap:96 speex/16000\r\n"
		"a=fmtp:96 mode=\"4,any\"\r\n"
		"a=rtpmap:120 notlisted/8000\r\n"
		"a=weird\r\n"
		"a=rtcp-fb:96 nack\r\n"
		"a=rtcp-mux:notreally\r\n"
		"m=application 5000 UDP/DTLS/SCTP webrtc-datachannel\r\n"
		"a=sctp-port:5000\r\n"
		"a=fmtp:webrtc-datachannel max-message-size=262144\r\n");
	if (!s)
		return;
	const struct sdp_media *m = sdp_media_get(s, 0);
	EXPECT_STR(m->addr, "224.2.1.1");
	EXPECT_INT(m->num_ports, 2);
	EXPECT(!m->rtcp_mux);
	EXPECT_INT(m->ncodecs, 2);
	EXPECT_CODEC(m->codecs[1], 96, "speex", 16000, 1, "mode=\"4,any\"");
	const struct sdp_media *d = sdp_media_get(s, 1);
	EXPECT_INT(d->nfmt, 1);
	EXPECT_STR(d->fmt[0], "webrtc-datachannel");
	EXPECT_INT(d->ncodecs, 0);

	struct sdp_media_rewrite mr[2] = { { .port = 4002 }, { .port = 5002 } };
	struct sdp_rewrite rw = { .addr = "10.0.0.2", .family = AF_INET,
		.nmedia = 2, .media = mr };
	char *out = rewrite(s, &rw);
	EXPECT_LINES(out,
		"v=0",
		"o=- 1 1 IN IP4 10.0.0.1",
		"s=Caf\xc3\xa9 \t call",
		"u=http://example.com/x",
		"e=j.doe@example.com (Jane Doe)",
		"c=IN IP4 10.0.0.2",
		"b=CT:128",
		"t=2873397496 2873404696",
		"r=7d 1h 0 25h",
		"z=2882844526 -1h 2898848070 0",
		"k=prompt",
		"a=X-custom:  two  spaces ",
		"y=0123456789",
		"m=audio 4002 RTP/AVP 8 96",
		"i=main audio",
		"a=rtpmap:96 speex/16000",
		"a=fmtp:96 mode=\"4,any\"",
		"a=rtpmap:120 notlisted/8000",
		"a=weird",
		"a=rtcp-fb:96 nack",
		"a=rtcp-mux:notreally",
		"m=application 5002 UDP/DTLS/SCTP webrtc-datachannel",
		"a=sctp-port:5000",
		"a=fmtp:webrtc-datachannel max-message-size=262144");
	free(out);

	/* codec replacement drops rtpmap/fmtp of all PTs, also unlisted ones */
	struct sdp_codec cs[] = { codec(8, "PCMA", 8000, 1, "") };
	mr[0].codecs = cs;
	mr[0].ncodecs = 1;
	out = rewrite(s, &rw);
	EXPECT_LINES(out,
		"v=0",
		"o=- 1 1 IN IP4 10.0.0.1",
		"s=Caf\xc3\xa9 \t call",
		"u=http://example.com/x",
		"e=j.doe@example.com (Jane Doe)",
		"c=IN IP4 10.0.0.2",
		"b=CT:128",
		"t=2873397496 2873404696",
		"r=7d 1h 0 25h",
		"z=2882844526 -1h 2898848070 0",
		"k=prompt",
		"a=X-custom:  two  spaces ",
		"y=0123456789",
		"m=audio 4002 RTP/AVP 8",
		"i=main audio",
		"a=rtpmap:8 PCMA/8000",
		"a=weird",
		"a=rtcp-mux:notreally",
		"m=application 5002 UDP/DTLS/SCTP webrtc-datachannel",
		"a=sctp-port:5000",
		"a=fmtp:webrtc-datachannel max-message-size=262144");
	free(out);
	sdp_free(s);
}

static void t_ice_removal_session_level(void)
{
	struct sdp_session *s = parse_str(
		"v=0\r\n"
		"o=- 1 1 IN IP4 10.0.0.1\r\n"
		"s=-\r\n"
		"c=IN IP4 10.0.0.1\r\n"
		"t=0 0\r\n"
		"a=ice-lite\r\n"
		"a=ice-ufrag:abcd\r\n"
		"a=ice-pwd:0123456789012345678901\r\n"
		"a=ice-options:trickle\r\n"
		"a=ice-pacing:50\r\n"
		"m=audio 4000 RTP/AVP 0\r\n"
		"a=ice-mismatch\r\n"
		"a=candidate:1 1 UDP 2130706431 10.0.0.1 4000 typ host\r\n"
		"a=remote-candidates:1 10.0.0.9 5000\r\n"
		"a=end-of-candidates\r\n"
		"a=ice-ufragment:not-ice\r\n");
	if (!s)
		return;
	EXPECT(sdp_session_has_ice(s));
	EXPECT(sdp_media_get(s, 0)->has_ice);
	struct sdp_media_rewrite mr = { .port = 4000 };
	struct sdp_rewrite rw = { .addr = "10.0.0.2", .family = AF_INET,
		.ice_remove = true, .nmedia = 1, .media = &mr };
	char *out = rewrite(s, &rw);
	EXPECT_LINES(out, "v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.2",
		"t=0 0", "m=audio 4000 RTP/AVP 0", "a=ice-ufragment:not-ice");
	free(out);
	sdp_free(s);
}

static void t_rejected_stream_without_c(void)
{
	struct sdp_session *s = parse_str("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\n"
		"m=audio 4000 RTP/AVP 0\r\nc=IN IP4 10.0.0.1\r\nm=video 0 RTP/AVP 31\r\n");
	if (!s)
		return;
	EXPECT_STR(sdp_media_get(s, 1)->addr, "");
	EXPECT_INT(sdp_media_get(s, 1)->family, 0);
	/* kept rejected: still no c=; brought back: a c= is added so that the
	 * stream cannot lack the relay's address */
	struct sdp_media_rewrite mr[2] = { { .port = 30000 }, { .port = 0 } };
	struct sdp_rewrite rw = { .addr = "192.0.2.10", .family = AF_INET,
		.nmedia = 2, .media = mr };
	char *out = rewrite(s, &rw);
	EXPECT_LINES(out, "v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "t=0 0",
		"m=audio 30000 RTP/AVP 0", "c=IN IP4 192.0.2.10", "m=video 0 RTP/AVP 31");
	free(out);
	mr[1].port = 30002;
	out = rewrite(s, &rw);
	EXPECT_LINES(out, "v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "t=0 0",
		"m=audio 30000 RTP/AVP 0", "c=IN IP4 192.0.2.10", "m=video 30002 RTP/AVP 31",
		"c=IN IP4 192.0.2.10");
	free(out);
	sdp_free(s);
}

static void t_static_codecs(void)
{
	struct sdp_codec c;
	EXPECT(sdp_static_codec(0, &c));
	EXPECT_CODEC(c, 0, "PCMU", 8000, 1, "");
	EXPECT(sdp_static_codec(8, &c));
	EXPECT_CODEC(c, 8, "PCMA", 8000, 1, "");
	EXPECT(sdp_static_codec(9, &c));
	EXPECT_CODEC(c, 9, "G722", 8000, 1, "");
	EXPECT(sdp_static_codec(13, &c));
	EXPECT_CODEC(c, 13, "CN", 8000, 1, "");
	EXPECT(sdp_static_codec(18, &c));
	EXPECT_CODEC(c, 18, "G729", 8000, 1, "");
	EXPECT(!sdp_static_codec(2, &c));
	EXPECT(!sdp_static_codec(96, &c));
	EXPECT_STR(sdp_dir_name(SDP_SENDONLY), "sendonly");
	EXPECT_STR(sdp_dir_name(SDP_DIR_NONE), "");
}

/* ---- malformed input ---------------------------------------------------- */

#define HDR "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
#define M0 "m=audio 4000 RTP/AVP 0 8\r\n"

static const struct bad_case {
	const char *sdp;
	const char *err;
} bad_cases[] = {
	{ HDR, "no m= line" },
	{ "o=- 1 1 IN IP4 10.0.0.1\r\n", "line 1: SDP must start with v=0" },
	{ "v=1\r\n", "line 1: SDP must start with v=0" },
	{ "\r\nv=0\r\nhello\r\n", "line 3: not a '<letter>=<value>' line: 'hello'" },
	{ "v=0\r\nA=1\r\n", "line 2: not a '<letter>=<value>' line: 'A=1'" },
	{ "v=0\r\n=x\r\n", "line 2: not a '<letter>=<value>' line: '=x'" },
	{ "v=0\r\ns\r\n", "line 2: not a '<letter>=<value>' line: 's'" },
	{ "v=0\r\ns=a\x01" "b\r\n", "line 2: control byte 0x01 at column 4" },
	{ "v=0\r\ns=a\x7f\r\n", "line 2: control byte 0x7f at column 4" },
	{ "v=0\r\ns=a\rb\r\n", "line 2: CR inside the line at column 4" },
	{ "v=0\r\no=- 1 1 IN IP4\r\n", "line 2: o= line needs 6 fields (username sess-id "
		"sess-version nettype addrtype address), has 5" },
	{ "v=0\r\no=- 1 1 IN IP4 a\r\no=- 1 1 IN IP4 a\r\n", "line 3: second o= line" },
	{ "v=0\r\nc=IN IP4 x\r\n", "line 2: c= address 'x' is not IPv4" },
	{ "v=0\r\nc=IN IP4 ::1\r\n", "line 2: c= address '::1' is not IPv4" },
	{ "v=0\r\nc=IN IP4 host.example.com\r\n",
		"line 2: c= address 'host.example.com' is not IPv4" },
	{ "v=0\r\nc=IN IP4 1.2.3.\xff\r\n", "line 2: c= address '1.2.3.?' is not IPv4" },
	{ "v=0\r\nc=IN IP4 1.2\t3\r\n", "line 2: c= address '1.2' is not IPv4" },
	{ "v=0\r\nc=IN IP4 1.2.3.4.5\r\n", "line 2: c= address '1.2.3.4.5' is not IPv4" },
	{ "v=0\r\nc=IN IP6 1.2.3.4\r\n", "line 2: c= address '1.2.3.4' is not IPv6" },
	{ "v=0\r\nc=IN IP5 1.2.3.4\r\n", "line 2: c= address type 'IP5' is not IP4 or IP6" },
	{ "v=0\r\nc=ATM IP4 1.2.3.4\r\n", "line 2: c= network type 'ATM' is not IN" },
	{ "v=0\r\nc=\r\n", "line 2: c= has no network type" },
	{ "v=0\r\nc=IN\r\n", "line 2: c= has no address type" },
	{ "v=0\r\nc=IN IP4\r\n", "line 2: c= has no address" },
	{ "v=0\r\nc=IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\n", "line 3: second session-level c= line" },
	{ HDR "m=audio\r\n", "line 6: m= line has no port" },
	{ HDR "m=\r\n", "line 6: m= line has no media type" },
	{ HDR "m=audio x RTP/AVP 0\r\n", "line 6: m= port 'x' is not a number 0-65535" },
	{ HDR "m=audio 65536 RTP/AVP 0\r\n", "line 6: m= port '65536' is not a number 0-65535" },
	{ HDR "m=audio -1 RTP/AVP 0\r\n", "line 6: m= port '-1' is not a number 0-65535" },
	{ HDR "m=audio 4000/0 RTP/AVP 0\r\n", "line 6: m= port count '0' is not a number 1-65535" },
	{ HDR "m=audio 4000\r\n", "line 6: m= line has no transport protocol" },
	{ HDR "m=audio 4000 RTP/AVP\r\n", "line 6: m= line has no formats" },
	{ HDR "m=audio 4000 RTP/AVP 128\r\n", "line 6: m= payload type 128 is not 0-127" },
	{ HDR "m=audio 4000 RTP/AVP 0 8 0\r\n", "line 6: m= payload type 0 is listed twice" },
	{ HDR "m=audiovideotextxx 4000 RTP/AVP 0\r\n",
		"line 6: m= media type 'audiovideotextxx' is longer than 15 bytes" },
	{ HDR "m=audio 4000 RTP/AVP/AAAAAAAAAAAAAAAAAAAAAAAAA 0\r\n",
		"line 6: m= transport protocol 'RTP/AVP/AAAAAAAAAAAAAAAAAAAAAAAAA' is longer "
		"than 31 bytes" },
	{ HDR "m=application 4000 TCP abcdefghijklmnopqrstuvwxyz012345\r\n",
		"line 6: m= format 'abcdefghijklmnopqrstuvwxyz012345' is longer than 31 bytes" },
	{ "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\n" M0,
		"line 5: m= section has no c= line and there is no session-level c=" },
	{ HDR M0 "c=IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\n",
		"line 8: second c= line in the media section" },
	{ HDR M0 "c=IN IP6 fe80::1%eth0\r\n", "line 7: c= address 'fe80::1%eth0' is not IPv6" },
	{ HDR M0 "a=rtpmap:x PCMU/8000\r\n", "line 7: a=rtpmap payload type 'x PCMU/8000' is not 0-127" },
	{ HDR M0 "a=rtpmap:200 PCMU/8000\r\n", "line 7: a=rtpmap payload type '200 PCMU/8000' is not 0-127" },
	{ HDR M0 "a=rtpmap:0\r\n", "line 7: a=rtpmap for payload type 0 has no encoding" },
	{ HDR M0 "a=rtpmap:0 PCMU\r\n", "line 7: a=rtpmap for payload type 0 has no clock rate" },
	{ HDR M0 "a=rtpmap:0 PCMU/\r\n", "line 7: a=rtpmap for payload type 0 has no clock rate" },
	{ HDR M0 "a=rtpmap:0 /8000\r\n", "line 7: a=rtpmap for payload type 0 has no encoding name" },
	{ HDR M0 "a=rtpmap:0 PCMU/8k\r\n", "line 7: a=rtpmap clock rate '8k' is not a number 1-10000000" },
	{ HDR M0 "a=rtpmap:0 PCMU/8000/0\r\n", "line 7: a=rtpmap channels '0' is not a number 1-255" },
	{ HDR M0 "a=rtpmap:0 PCMU/8000\r\na=rtpmap:0 PCMU/8000\r\n",
		"line 8: second a=rtpmap for payload type 0" },
	{ HDR M0 "a=rtpmap:0 ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFG/8000\r\n",
		"line 7: a=rtpmap encoding name 'ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFG' is longer than 31 bytes" },
	{ HDR M0 "a=fmtp:8 a=1\r\na=fmtp:8 b=2\r\n", "line 8: second a=fmtp for payload type 8" },
	{ HDR M0 "a=rtcp:\r\n", "line 7: a=rtcp has no port" },
	{ HDR M0 "a=rtcp:abc\r\n", "line 7: a=rtcp port 'abc' is not a number 1-65535" },
	{ HDR M0 "a=rtcp:0\r\n", "line 7: a=rtcp port '0' is not a number 1-65535" },
	{ HDR M0 "a=rtcp:4001 IN IP4 bad\r\n", "line 7: a=rtcp address 'bad' is not IPv4" },
	{ HDR M0 "a=rtcp:4001 IN\r\n", "line 7: a=rtcp has no address type" },
	{ HDR M0 "a=rtcp:4001\r\na=rtcp:4003\r\n", "line 8: second a=rtcp line in the media section" },
	{ HDR M0 "a=ptime:abc\r\n", "line 7: a=ptime value 'abc' is not a number" },
	{ HDR M0 "a=ptime\r\n", "line 7: a=ptime value '' is not a number" },
	{ HDR M0 "a=maxptime:-5\r\n", "line 7: a=maxptime value '-5' is not a number" },
};

static void t_malformed(void)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct sdp_session *s = (struct sdp_session *)1;
		char err[256];
		int rc = sdp_parse(c->sdp, strlen(c->sdp), &s, err, sizeof(err));
		if (rc != -EINVAL || s != NULL || strcmp(err, c->err) != 0)
			unit_fail(__FILE__, __LINE__, "case %zu: expected -EINVAL \"%s\", "
				"got %d \"%s\"", i, c->err, rc, rc ? err : "");
		if (rc == 0)
			sdp_free(s);
	}
}

static void expect_parse_err(int line, const char *text, size_t len, const char *want)
{
	struct sdp_session *s = NULL;
	char err[256] = "";
	int rc = sdp_parse(text, len, &s, err, sizeof(err));
	if (rc != -EINVAL || strcmp(err, want) != 0)
		unit_fail(__FILE__, line, "expected -EINVAL \"%s\", got %d \"%s\"", want, rc, err);
	sdp_free(s);
}

static void t_nul_and_empty(void)
{
	static const char nul[] = "v=0\r\ns=a\0b\r\n";
	expect_parse_err(__LINE__, nul, sizeof(nul) - 1, "line 2: NUL byte at column 4");
	expect_parse_err(__LINE__, "", 0, "empty SDP");
	expect_parse_err(__LINE__, "\r\n\r\n", 4, "no m= line");
	/* err may be tiny or absent */
	struct sdp_session *s = NULL;
	char tiny[4];
	EXPECT_INT(sdp_parse("x", 1, &s, tiny, sizeof(tiny)), -EINVAL);
	EXPECT_STR(tiny, "lin");
	EXPECT_INT(sdp_parse("x", 1, &s, NULL, 0), -EINVAL);
}

static void t_crypto_limits(void)
{
	struct rg_buf b;
	buf_init(&b);
	buf_puts(&b, HDR "m=audio 4000 RTP/SAVP 0\r\n");
	for (int i = 1; i <= 8; i++)
		buf_printf(&b, "a=crypto:%d AES_CM_128_HMAC_SHA1_80 inline:x\r\n", i);
	struct sdp_session *s = parse_str(b.data);
	if (s)
		EXPECT_INT(sdp_media_get(s, 0)->ncrypto, 8);
	sdp_free(s);
	buf_puts(&b, "a=crypto:9 AES_CM_128_HMAC_SHA1_80 inline:x\r\n");
	expect_parse_err(__LINE__, b.data, b.len,
		"line 15: more than 8 a=crypto lines in the media section");

	buf_reset(&b);
	buf_puts(&b, HDR M0);
	size_t line_start = b.len;
	buf_puts(&b, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:");
	while (b.len - line_start < 300)
		buf_putc(&b, 'A');
	buf_puts(&b, "\r\n");
	expect_parse_err(__LINE__, b.data, b.len, "line 7: a=crypto value is longer than 255 bytes");

	buf_reset(&b);
	buf_puts(&b, HDR M0 "a=fmtp:0 ");
	for (int i = 0; i < 256; i++)
		buf_putc(&b, 'f');
	expect_parse_err(__LINE__, b.data, b.len,
		"line 7: a=fmtp for payload type 0 is longer than 255 bytes");
	buf_free(&b);
}

static void t_media_and_format_limits(void)
{
	struct rg_buf b;
	buf_init(&b);
	buf_puts(&b, HDR);
	for (int i = 0; i < SDP_MAX_MEDIA; i++)
		buf_printf(&b, "m=audio %d RTP/AVP 0\r\n", 4000 + 2 * i);
	struct sdp_session *s = parse_str(b.data);
	if (s)
		EXPECT_INT(sdp_media_count(s), 16);
	sdp_free(s);
	buf_puts(&b, "m=audio 5000 RTP/AVP 0\r\n");
	expect_parse_err(__LINE__, b.data, b.len, "line 22: more than 16 m= lines");

	buf_reset(&b);
	buf_puts(&b, HDR "m=audio 4000 RTP/AVP");
	for (int i = 0; i < SDP_MAX_FMT; i++)
		buf_printf(&b, " %d", 96 + i);
	s = parse_str(b.data);
	if (s)
		EXPECT_INT(sdp_media_get(s, 0)->ncodecs, 32);
	sdp_free(s);
	buf_puts(&b, " 0\r\n");
	expect_parse_err(__LINE__, b.data, b.len, "line 6: m= line has more than 32 formats");
	buf_free(&b);
}

static void t_size_limits(void)
{
	struct rg_buf b;
	buf_init(&b);
	buf_puts(&b, HDR M0 "a=x:");
	size_t start = b.len - 4;
	while (b.len - start < SDP_MAX_LINE)
		buf_putc(&b, 'y');
	struct sdp_session *s = parse_str(b.data);   /* exactly 4096 bytes: fine */
	sdp_free(s);
	buf_puts(&b, "\r\n");
	s = parse_str(b.data);   /* still fine with its CRLF */
	sdp_free(s);
	b.len -= 2;
	buf_puts(&b, "y\r\n");
	expect_parse_err(__LINE__, b.data, b.len, "line 7: line is longer than 4096 bytes");

	buf_reset(&b);
	buf_puts(&b, HDR M0);
	while (b.len + 1000 <= SDP_MAX_SIZE) {
		buf_puts(&b, "a=x:");
		for (int i = 0; i < 994; i++)
			buf_putc(&b, 'z');
		buf_puts(&b, "\r\n");
	}
	while (b.len < SDP_MAX_SIZE)
		buf_putc(&b, '\n');
	s = parse_str(b.data);   /* exactly 64 KiB */
	sdp_free(s);
	buf_putc(&b, '\n');
	expect_parse_err(__LINE__, b.data, b.len, "SDP is 65537 bytes, more than 65536");
	buf_free(&b);
}

/* The parser reads only len bytes: the buffer here has no NUL and ends right
 * where an ASan build would catch a read past it; a shorter len cuts the
 * body mid-line. */
static void t_no_read_past_len(void)
{
	const char *text = HDR "m=audio 4000 RTP/AVP 0 8\r\na=ptime:20\r\n";
	size_t len = strlen(text);
	char *exact = malloc(len);
	memcpy(exact, text, len);
	struct sdp_session *s = NULL;
	char err[256];
	EXPECT_INT(sdp_parse(exact, len, &s, err, sizeof(err)), 0);
	if (s)
		EXPECT_INT(sdp_media_get(s, 0)->ptime, 20);
	sdp_free(s);
	/* cut inside "a=ptime:20": "a=ptime:2" */
	EXPECT_INT(sdp_parse(exact, len - 3, &s, err, sizeof(err)), 0);
	if (s)
		EXPECT_INT(sdp_media_get(s, 0)->ptime, 2);
	sdp_free(s);
	/* cut inside the m= line */
	EXPECT_INT(sdp_parse(exact, strlen(HDR) + 9, &s, err, sizeof(err)), -EINVAL);
	EXPECT_STR(err, "line 6: m= line has no transport protocol");
	free(exact);
}

/* ---- bad rewrite arguments ---------------------------------------------- */

static void t_rewrite_errors(void)
{
	struct sdp_session *s = parse_sample("kamailio-offer.sdp");
	if (!s)
		return;
	struct sdp_codec dup[] = { codec(8, "PCMA", 8000, 1, ""), codec(8, "PCMA", 8000, 1, "") };
	struct sdp_codec badname[] = { codec(96, "a b", 8000, 1, "") };
	struct sdp_codec badfmtp[] = { codec(96, "x", 8000, 1, "a\r\nb") };
	const char *crlf_attr[] = { "crypto:1 x\r\na=evil" };
	const struct {
		struct sdp_media_rewrite mr;
		const char *addr;
		int family, nmedia;
		const char *err;
	} cases[] = {
		{ { .port = 1 }, "1.2.3.4", AF_INET, 2, "rewrite has 2 media entries, the SDP has 1" },
		{ { .port = 1 }, NULL, AF_INET, 1, "relay address '(none)' is not IPv4" },
		{ { .port = 1 }, "::1", AF_INET, 1, "relay address '::1' is not IPv4" },
		{ { .port = 1 }, "1.2.3.4", AF_INET6, 1, "relay address '1.2.3.4' is not IPv6" },
		{ { .port = 1 }, "1.2.3.4", 0, 1, "relay address '1.2.3.4' is not IPv4" },
		{ { .port = 70000 }, "1.2.3.4", AF_INET, 1, "media 0: port 70000 is not 0-65535" },
		{ { .port = 1, .rtcp_port = -1 }, "1.2.3.4", AF_INET, 1,
			"media 0: rtcp port -1 is not 0-65535" },
		{ { .port = 1, .proto = "RTP AVP" }, "1.2.3.4", AF_INET, 1,
			"media 0: transport protocol is empty, too long or has a space or control byte" },
		{ { .port = 1, .codecs = dup, .ncodecs = 0 }, "1.2.3.4", AF_INET, 1,
			"media 0: codec count 0 is not 1-32" },
		{ { .port = 1, .codecs = dup, .ncodecs = 2 }, "1.2.3.4", AF_INET, 1,
			"media 0: payload type 8 listed twice" },
		{ { .port = 1, .codecs = badname, .ncodecs = 1 }, "1.2.3.4", AF_INET, 1,
			"media 0: codec name of payload type 96 is not a token" },
		{ { .port = 1, .codecs = badfmtp, .ncodecs = 1 }, "1.2.3.4", AF_INET, 1,
			"media 0: fmtp of payload type 96 has a control byte or is not terminated" },
		{ { .port = 1, .add_attrs = crlf_attr, .nadd = 1 }, "1.2.3.4", AF_INET, 1,
			"media 0: extra attribute 0 is empty, too long or has a control byte" },
		{ { .port = 1, .nadd = 1 }, "1.2.3.4", AF_INET, 1,
			"media 0: bad extra attribute list" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sdp_rewrite rw = { .addr = cases[i].addr, .family = cases[i].family,
			.nmedia = cases[i].nmedia, .media = &cases[i].mr };
		struct rg_buf b;
		buf_init(&b);
		buf_puts(&b, "keep");
		char err[256] = "";
		int rc = sdp_rewrite(s, &rw, &b, err, sizeof(err));
		if (rc != -EINVAL || strcmp(err, cases[i].err) != 0)
			unit_fail(__FILE__, __LINE__, "case %zu: expected -EINVAL \"%s\", got %d \"%s\"",
				i, cases[i].err, rc, err);
		EXPECT_STR(b.data, "keep");   /* nothing appended on error */
		buf_free(&b);
	}
	const char *const bad_drop[] = { "rtcp:1" };
	struct sdp_media_rewrite ok = { .port = 1 };
	struct sdp_rewrite rw = { .addr = "1.2.3.4", .family = AF_INET, .nmedia = 1,
		.media = &ok, .drop_attrs = bad_drop, .ndrop = 1 };
	struct rg_buf b;
	buf_init(&b);
	char err[256];
	EXPECT_INT(sdp_rewrite(s, &rw, &b, err, sizeof(err)), -EINVAL);
	EXPECT_STR(err, "drop_attrs entry 0 is not an attribute name");
	rw.drop_attrs = NULL;
	EXPECT_INT(sdp_rewrite(s, &rw, &b, err, sizeof(err)), -EINVAL);
	EXPECT_STR(err, "bad drop_attrs list");
	EXPECT_INT(b.len, 0);
	buf_free(&b);
	sdp_free(s);
}

/* sdp_parse_reuse: one allocation serves body after body, grows for a
 * bigger one, and a failed parse leaves it to the caller, reusable. */
static void t_parse_reuse(void)
{
	const char *one = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
			  "m=audio 4000 RTP/AVP 0\r\n";
	char three[1024];
	snprintf(three, sizeof(three), "v=0\r\no=- 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n"
		 "m=audio 5000 RTP/AVP 8\r\nm=video 5002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
		 "m=audio 5004 RTP/AVP 0\r\n");
	struct sdp_session *s = NULL;
	char err[128];
	EXPECT_INT(sdp_parse_reuse(one, strlen(one), &s, err, sizeof(err)), 0);
	struct sdp_session *first = s;
	EXPECT_INT(sdp_media_count(s), 1);
	EXPECT_INT(sdp_media_get(s, 0)->port, 4000);
	EXPECT_INT(sdp_parse_reuse(one, strlen(one), &s, err, sizeof(err)), 0);
	EXPECT(s == first);   /* the same block again */
	EXPECT_INT(sdp_parse_reuse(three, strlen(three), &s, err, sizeof(err)), 0);
	EXPECT_INT(sdp_media_count(s), 3);
	EXPECT_STR(sdp_media_get(s, 1)->type, "video");
	EXPECT_INT(sdp_media_get(s, 2)->port, 5004);
	EXPECT_STR(sdp_session_addr(s), "10.0.0.2");
	EXPECT_INT(sdp_parse_reuse("garbage", 7, &s, err, sizeof(err)), -EINVAL);
	EXPECT(s != NULL);
	EXPECT(err[0] != '\0');
	EXPECT_INT(sdp_parse_reuse(one, strlen(one), &s, err, sizeof(err)), 0);
	EXPECT_INT(sdp_media_count(s), 1);
	EXPECT_STR(sdp_session_addr(s), "10.0.0.1");
	EXPECT_INT(sdp_media_get(s, 0)->port, 4000);
	EXPECT(sdp_media_get(s, 1) == NULL);
	sdp_free(s);
}

const struct unit_case unit_cases[] = {
	UNIT(t_parse_reuse),
	UNIT(t_sipp_parse),
	UNIT(t_kamailio_offer_parse),
	UNIT(t_webrtc_parse),
	UNIT(t_ipv6_parse),
	UNIT(t_savp_parse),
	UNIT(t_media_level_c_parse),
	UNIT(t_mixed_c_parse),
	UNIT(t_sipp_rewrite),
	UNIT(t_kamailio_offer_rewrite),
	UNIT(t_kamailio_answer_rewrite),
	UNIT(t_webrtc_rewrite),
	UNIT(t_drop_attrs),
	UNIT(t_ipv6_rewrite),
	UNIT(t_savp_rewrite),
	UNIT(t_media_level_c_rewrite),
	UNIT(t_mixed_c_rewrite),
	UNIT(t_bare_lf),
	UNIT(t_line_ends),
	UNIT(t_unknown_lines_preserved),
	UNIT(t_ice_removal_session_level),
	UNIT(t_rejected_stream_without_c),
	UNIT(t_static_codecs),
	UNIT(t_malformed),
	UNIT(t_nul_and_empty),
	UNIT(t_crypto_limits),
	UNIT(t_media_and_format_limits),
	UNIT(t_size_limits),
	UNIT(t_no_read_past_len),
	UNIT(t_rewrite_errors),
	{ 0 },
};
