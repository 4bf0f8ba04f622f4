/* test_ng.c - ng framing and request decoding, with Kamailio 5.6.3's own
 * requests (tests/data/vectors/kamailio-5.6.3, a copy of ../shared/vectors; see its README.md). */
#include "unit.h"
#include "ng.h"

#include <errno.h>
#include <stdlib.h>

/* ---- framing ---------------------------------------------------------- */

static void t_frame_split(void)
{
	static const struct {
		const char *in;
		int rc;
		const char *cookie;     /* NULL: none */
		const char *body;
		enum ng_enc enc;
	} cases[] = {
		{ "d7:command4:pinge", 0, NULL, "d7:command4:pinge", NG_ENC_BENCODE },
		{ "abc d7:command4:pinge", 0, "abc", "d7:command4:pinge", NG_ENC_BENCODE },
		{ "0_1_2 {\"command\":\"ping\"}", 0, "0_1_2", "{\"command\":\"ping\"}", NG_ENC_JSON },
		{ "{\"command\":\"ping\"}", 0, NULL, "{\"command\":\"ping\"}", NG_ENC_JSON },
		{ "{\"command\":\"ping\"}\r\n", 0, NULL, "{\"command\":\"ping\"}\r\n", NG_ENC_JSON },
		/* a cookie that starts like a body */
		{ "d1 d7:command4:pinge", 0, "d1", "d7:command4:pinge", NG_ENC_BENCODE },
		{ "{x} {\"command\":\"ping\"}", 0, "{x}", "{\"command\":\"ping\"}", NG_ENC_JSON },
		/* a bencode body with a space inside, no cookie */
		{ "d8:supportsl10:load limitee", 0, NULL, "d8:supportsl10:load limitee", NG_ENC_BENCODE },
		/* body not checked here */
		{ "c garbage", 0, "c", "garbage", NG_ENC_BENCODE },
		{ "c  d7:command4:pinge", 0, "c", " d7:command4:pinge", NG_ENC_BENCODE },
		{ "", -EINVAL, NULL, NULL, 0 },
		{ "nospace", -EINVAL, NULL, NULL, 0 },
		{ "d7:command4:ping", -EINVAL, NULL, NULL, 0 },   /* truncated, no cookie */
		{ " d7:command4:pinge", -EINVAL, NULL, NULL, 0 }, /* empty cookie */
		{ "cookie ", -EINVAL, NULL, NULL, 0 },            /* empty body */
		{ "coo\tkie d7:command4:pinge", -EINVAL, NULL, NULL, 0 },
		{ "coo\x7fkie d7:command4:pinge", -EINVAL, NULL, NULL, 0 },
		{ "caf\xc3\xa9 d7:command4:pinge", -EINVAL, NULL, NULL, 0 },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct ng_frame f = { 0 };
		const char *in = cases[k].in;
		int r = ng_frame_split(in, strlen(in), &f);
		if (r != cases[k].rc) {
			unit_fail(__FILE__, __LINE__, "\"%s\": expected %d, got %d", in, cases[k].rc, r);
			continue;
		}
		if (r)
			continue;
		if (cases[k].cookie) {
			EXPECT_INT(f.cookie_len, strlen(cases[k].cookie));
			EXPECT(f.cookie == in);
			EXPECT(f.cookie && memcmp(f.cookie, cases[k].cookie, f.cookie_len) == 0);
		} else {
			EXPECT(f.cookie == NULL);
			EXPECT_INT(f.cookie_len, 0);
		}
		EXPECT_INT(f.body_len, strlen(cases[k].body));
		EXPECT(memcmp(f.body, cases[k].body, f.body_len) == 0);
		EXPECT(f.body + f.body_len == in + strlen(in));
		EXPECT_INT(f.enc, cases[k].enc);
	}

	/* cookie length: 255 is fine, 256 is not */
	char buf[300];
	memset(buf, 'c', 255);
	memcpy(buf + 255, " de", 4);
	struct ng_frame f;
	EXPECT_INT(ng_frame_split(buf, 258, &f), 0);
	EXPECT_INT(f.cookie_len, 255);
	memset(buf, 'c', 256);
	memcpy(buf + 256, " de", 4);
	EXPECT_INT(ng_frame_split(buf, 259, &f), -EINVAL);
	EXPECT_INT(ng_frame_split(NULL, 0, &f), -EINVAL);
}

static void t_cmd_names(void)
{
	EXPECT_STR(ng_cmd_name(NG_OFFER), "offer");
	EXPECT_STR(ng_cmd_name(NG_STATISTICS), "statistics");
	EXPECT_STR(ng_cmd_name(NG_CMD_UNKNOWN), "unknown");
	EXPECT_STR(ng_cmd_name(NG_CMD__COUNT), "unknown");
	EXPECT_STR(ng_cmd_name((enum ng_cmd)-1), "unknown");
	for (int c = NG_CMD_UNKNOWN + 1; c < NG_CMD__COUNT; c++)
		EXPECT_INT(ng_cmd_lookup(ng_cmd_name((enum ng_cmd)c)), c);
	EXPECT_INT(ng_cmd_lookup("Offer"), NG_OFFER);
	EXPECT_INT(ng_cmd_lookup("unknown"), NG_CMD_UNKNOWN);
	EXPECT_INT(ng_cmd_lookup("start recording"), NG_CMD_UNKNOWN);
	EXPECT_INT(ng_cmd_lookup(NULL), NG_CMD_UNKNOWN);
}

/* ---- Kamailio's requests ---------------------------------------------- */

struct decoded {
	char *data;
	struct bval *tree;
	struct ng_request req;
	struct ng_frame f;
};

/* Reads a vector, splits, decodes and reads the request. */
static bool load(const char *name, struct decoded *d)
{
	char path[128], err[128] = "";
	size_t len = 0, used = 0;
	memset(d, 0, sizeof(*d));
	snprintf(path, sizeof(path), "kamailio-5.6.3/%s", name);
	d->data = unit_read_file(unit_vector_path(path), &len);
	if (!d->data) {
		unit_fail(__FILE__, __LINE__, "cannot read %s", unit_vector_path(path));
		return false;
	}
	int r = ng_frame_split(d->data, len, &d->f);
	if (r) {
		unit_fail(__FILE__, __LINE__, "%s: frame split: %d", name, r);
		return false;
	}
	EXPECT_INT(d->f.enc, NG_ENC_BENCODE);
	r = bencode_decode(d->f.body, d->f.body_len, &d->tree, &used);
	if (r || used != d->f.body_len) {
		unit_fail(__FILE__, __LINE__, "%s: bencode: %d, used %zu of %zu",
			  name, r, used, d->f.body_len);
		return false;
	}
	r = ng_request_decode(d->tree, &d->req, err, sizeof(err));
	if (r) {
		unit_fail(__FILE__, __LINE__, "%s: request: %d (%s)", name, r, err);
		return false;
	}
	return true;
}

static void unload(struct decoded *d)
{
	bval_free(d->tree);
	free(d->data);
}

static void expect_cookie(const struct decoded *d, bool udp, const char *cookie)
{
	if (!udp) {
		EXPECT(d->f.cookie == NULL);
		return;
	}
	EXPECT_INT(d->f.cookie_len, strlen(cookie));
	EXPECT(d->f.cookie && memcmp(d->f.cookie, cookie, strlen(cookie)) == 0);
}

static void expect_nothing_else(const struct ng_request *r)
{
	EXPECT(r->label == NULL);
	EXPECT(r->media_address == NULL);
	EXPECT(r->address_family == NULL);
	EXPECT_INT(r->ptime, -1);
	EXPECT_INT(r->tos, -1);
	EXPECT_INT(r->delete_delay, -1);
	EXPECT_INT(r->direction.n, 0);
	EXPECT_INT(r->sdes.n, 0);
	EXPECT_INT(r->other_flags.n, 0);
}

static void expect_received_from(const struct ng_request *r)
{
	EXPECT_STR(r->received_from_family, "IP4");
	EXPECT_STR(r->received_from_addr, "127.0.0.1");
}

static void check_ping(bool udp)
{
	struct decoded d;
	if (load(udp ? "udp-01-ping.bin" : "unix-01-ping.bin", &d)) {
		expect_cookie(&d, udp, "0_24465_0");
		EXPECT_INT(d.req.cmd, NG_PING);
		EXPECT_STR(d.req.command, "ping");
		EXPECT(d.req.call_id == NULL);
		EXPECT(!d.req.supports_load_limit);
		EXPECT(d.req.received_from_addr == NULL);
		EXPECT_INT(d.req.flags, 0);
		EXPECT_INT(d.req.ice, NG_ICE_DEFAULT);
		expect_nothing_else(&d.req);
	}
	unload(&d);
}

static const char offer_sdp[] =
	"v=0\r\n"
	"o=uac 53655765 2353687637 IN IP4 127.0.0.1\r\n"
	"s=-\r\n"
	"c=IN IP4 127.0.0.1\r\n"
	"t=0 0\r\n"
	"m=audio 26000 RTP/AVP 0 18 101\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:18 G729/8000\r\n"
	"a=fmtp:18 annexb=no\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=fmtp:101 0-16\r\n"
	"a=ptime:20\r\n"
	"a=rtcp-mux\r\n"
	"a=ice-ufrag:Ab12\r\n"
	"a=ice-pwd:abcdefghijklmnopqrstuv\r\n"
	"a=candidate:1 1 UDP 2130706431 127.0.0.1 26000 typ host\r\n"
	"a=sendrecv\r\n";

static const char answer_sdp[] =
	"v=0\r\n"
	"o=uas 1234 5678 IN IP4 127.0.0.1\r\n"
	"s=-\r\n"
	"c=IN IP4 127.0.0.1\r\n"
	"t=0 0\r\n"
	"m=audio 26100 RTP/AVP 8 101\r\n"
	"a=rtpmap:8 PCMA/8000\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=fmtp:101 0-16\r\n"
	"a=ptime:20\r\n"
	"a=sendrecv\r\n";

static void check_offer(bool udp)
{
	struct decoded d;
	if (load(udp ? "udp-02-offer.bin" : "unix-02-offer.bin", &d)) {
		const struct ng_request *r = &d.req;
		expect_cookie(&d, udp, "0_24465_1");
		EXPECT_INT(r->cmd, NG_OFFER);
		EXPECT_STR(r->command, "offer");
		EXPECT_STR(r->call_id, udp ? "1-24483@127.0.0.1" : "1-24536@127.0.0.1");
		EXPECT_STR(r->from_tag, "ngcapuac1");
		EXPECT(r->to_tag == NULL);
		EXPECT_STR(r->via_branch, udp ? "z9hG4bK-24483-1-0" : "z9hG4bK-24536-1-0");
		EXPECT_INT(r->sdp_len, sizeof(offer_sdp) - 1);
		EXPECT(r->sdp && memcmp(r->sdp, offer_sdp, sizeof(offer_sdp) - 1) == 0);
		expect_received_from(r);
		EXPECT(r->supports_load_limit);
		EXPECT_INT(r->replace, NG_REPLACE_ORIGIN | NG_REPLACE_SESSION_CONNECTION);
		EXPECT_INT(r->ice, NG_ICE_REMOVE);
		EXPECT_INT(r->flags, NG_F_TRUST_ADDRESS | NG_F_ICE_REMOVE);
		EXPECT_STR(r->transport_protocol, "RTP/AVP");
		EXPECT_INT(r->rtcp_mux, NG_RTCPMUX_DEMUX);
		EXPECT_INT(r->codec.mask.n, 1);
		EXPECT_STR(r->codec.mask.v[0], "PCMU");
		EXPECT_INT(r->codec.transcode.n, 1);
		EXPECT_STR(r->codec.transcode.v[0], "PCMA");
		EXPECT_INT(r->codec.accept.n, 1);          /* from "codec-accept-G729" in flags */
		EXPECT_STR(r->codec.accept.v[0], "G729");
		EXPECT_INT(r->codec.strip.n + r->codec.offer.n + r->codec.except.n +
			   r->codec.consume.n + r->codec.set.n, 0);
		expect_nothing_else(r);
	}
	unload(&d);
}

static void check_answer(bool udp)
{
	struct decoded d;
	if (load(udp ? "udp-03-answer.bin" : "unix-03-answer.bin", &d)) {
		const struct ng_request *r = &d.req;
		expect_cookie(&d, udp, "0_24465_2");
		EXPECT_INT(r->cmd, NG_ANSWER);
		EXPECT_STR(r->command, "answer");
		EXPECT_STR(r->call_id, udp ? "1-24483@127.0.0.1" : "1-24536@127.0.0.1");
		EXPECT_STR(r->from_tag, "ngcapuac1");
		EXPECT_STR(r->to_tag, "ngcapuas1");
		EXPECT_STR(r->via_branch, udp ? "z9hG4bK3fcc.1282cff7b52139874c1a34ced91ec597.0"
					      : "z9hG4bK8c9.590471e43069d6dda82e33be9422f6e9.0");
		EXPECT_INT(r->sdp_len, sizeof(answer_sdp) - 1);
		EXPECT(r->sdp && memcmp(r->sdp, answer_sdp, sizeof(answer_sdp) - 1) == 0);
		expect_received_from(r);
		EXPECT(r->supports_load_limit);
		EXPECT_INT(r->replace, NG_REPLACE_ORIGIN | NG_REPLACE_SESSION_CONNECTION);
		EXPECT_INT(r->ice, NG_ICE_REMOVE);
		EXPECT_INT(r->flags, NG_F_TRUST_ADDRESS | NG_F_ICE_REMOVE);
		EXPECT(r->transport_protocol == NULL);
		EXPECT_INT(r->rtcp_mux, 0);
		EXPECT_INT(r->codec.mask.n + r->codec.transcode.n + r->codec.accept.n, 0);
		expect_nothing_else(r);
	}
	unload(&d);
}

static void check_query_delete(bool udp, bool query)
{
	struct decoded d;
	const char *name = query ? (udp ? "udp-04-query.bin" : "unix-04-query.bin")
				 : (udp ? "udp-05-delete.bin" : "unix-05-delete.bin");
	if (load(name, &d)) {
		const struct ng_request *r = &d.req;
		expect_cookie(&d, udp, query ? "0_24465_3" : "0_24465_4");
		EXPECT_INT(r->cmd, query ? NG_QUERY : NG_DELETE);
		EXPECT_STR(r->command, query ? "query" : "delete");
		EXPECT_STR(r->call_id, udp ? "1-24483@127.0.0.1" : "1-24536@127.0.0.1");
		EXPECT_STR(r->from_tag, "ngcapuac1");
		if (query)
			EXPECT_STR(r->to_tag, "ngcapuas1");
		else
			EXPECT(r->to_tag == NULL);
		EXPECT(r->via_branch == NULL);
		EXPECT(r->sdp == NULL);
		expect_received_from(r);
		EXPECT(r->supports_load_limit);
		EXPECT_INT(r->replace, 0);
		EXPECT_INT(r->ice, NG_ICE_DEFAULT);
		EXPECT_INT(r->flags, 0);
		expect_nothing_else(r);
	}
	unload(&d);
}

static void t_kamailio_udp(void)
{
	check_ping(true);
	check_offer(true);
	check_answer(true);
	check_query_delete(true, true);
	check_query_delete(true, false);
}

static void t_kamailio_unix(void)
{
	check_ping(false);
	check_offer(false);
	check_answer(false);
	check_query_delete(false, true);
	check_query_delete(false, false);
}

/* ---- hand-made requests ----------------------------------------------- */

static int decode_json(const char *json, struct bval **tree, struct ng_request *req,
		       char *err, size_t errlen)
{
	size_t used;
	*tree = NULL;
	int r = json_decode(json, strlen(json), tree, &used);
	if (r) {
		unit_fail(__FILE__, __LINE__, "JSON does not decode (%d): %s", r, json);
		return r;
	}
	return ng_request_decode(*tree, req, err, errlen);
}

static void t_handmade(void)
{
	const char *json =
		"{\"command\":\"offer\",\"call-id\":\"c1\",\"from-tag\":\"f1\","
		"\"flags\":[\"codec-mask-PCMU\",\"SIP-source-address\",\"port latching\","
		"\"label=caller\",\"rtcp-mux-offer\",\"replace-username\",\"SDES-off\","
		"\"RTP/SAVP\",\"no-such-flag\",\"nosuchkey=1\",\"transcode-opus\","
		"\"codec-consume-G722\",\"codec-bogus-X\"],"
		"\"ptime\":\"20\",\"delete delay\":\"5\",\"TOS\":184,"
		"\"codec\":{\"transcode\":[\"G729\"],\"strip\":\"all\",\"unknown-op\":1},"
		"\"direction\":[\"priv\",\"pub\"],\"replace\":[\"session connection\",\"sdp-version\",\"session-name\"],"
		"\"received from\":[\"IP6\",\"::1\"],\"supports\":[\"load-limit\"],"
		"\"rtcp-mux\":[\"accept\",\"reject\",\"require\",\"strange\"],\"ICE\":\"force\","
		"\"media address\":\"192.0.2.1\",\"address family\":\"IP4\"}";
	struct bval *tree;
	struct ng_request r;
	char err[128];
	if (decode_json(json, &tree, &r, err, sizeof(err)) != 0) {
		unit_fail(__FILE__, __LINE__, "expected 0, got error \"%s\"", err);
		bval_free(tree);
		return;
	}
	EXPECT_INT(r.cmd, NG_OFFER);
	EXPECT_STR(r.call_id, "c1");
	EXPECT_STR(r.from_tag, "f1");
	EXPECT_INT(r.codec.mask.n, 1);
	EXPECT_STR(r.codec.mask.v[0], "PCMU");
	EXPECT_INT(r.codec.transcode.n, 2);
	EXPECT_STR(r.codec.transcode.v[0], "opus");    /* flags come first */
	EXPECT_STR(r.codec.transcode.v[1], "G729");
	EXPECT_INT(r.codec.strip.n, 1);
	EXPECT_STR(r.codec.strip.v[0], "all");
	EXPECT_INT(r.codec.consume.n, 1);
	EXPECT_STR(r.codec.consume.v[0], "G722");
	EXPECT_INT(r.ptime, 20);
	EXPECT_INT(r.delete_delay, 5);
	EXPECT_INT(r.tos, 184);
	EXPECT_STR(r.label, "caller");
	EXPECT_STR(r.transport_protocol, "RTP/SAVP");
	EXPECT_STR(r.media_address, "192.0.2.1");
	EXPECT_STR(r.address_family, "IP4");
	EXPECT_INT(r.flags, NG_F_SIP_SOURCE_ADDRESS | NG_F_PORT_LATCHING);
	EXPECT_INT(r.rtcp_mux, NG_RTCPMUX_OFFER | NG_RTCPMUX_ACCEPT | NG_RTCPMUX_REJECT |
		   NG_RTCPMUX_REQUIRE);
	EXPECT_INT(r.replace, NG_REPLACE_USERNAME | NG_REPLACE_SESSION_CONNECTION |
		   NG_REPLACE_SDP_VERSION | NG_REPLACE_SESSION_NAME);
	EXPECT_INT(r.sdes.n, 1);
	EXPECT_STR(r.sdes.v[0], "off");
	EXPECT_INT(r.direction.n, 2);
	EXPECT_STR(r.direction.v[1], "pub");
	EXPECT_STR(r.received_from_family, "IP6");
	EXPECT_STR(r.received_from_addr, "::1");
	EXPECT(r.supports_load_limit);
	EXPECT_INT(r.ice, NG_ICE_FORCE);
	EXPECT_INT(r.other_flags.n, 4);
	EXPECT_STR(r.other_flags.v[0], "no-such-flag");
	EXPECT_STR(r.other_flags.v[1], "nosuchkey=1");
	EXPECT_STR(r.other_flags.v[2], "codec-bogus-X");
	EXPECT_STR(r.other_flags.v[3], "strange");
	bval_free(tree);
}

/* The same request in bencode, as a proxy would write it: codec-mask-PCMU
 * in flags, numbers as strings, "delete delay" with a space. */
static void t_handmade_bencode(void)
{
	struct bval *d = bval_dict();
	struct bval *flags = bval_dict_add(d, "flags", bval_list());
	bval_list_add(flags, bval_str("codec-mask-PCMU"));
	bval_list_add(flags, bval_str("fatal"));
	bval_dict_add_str(d, "ptime", "20");
	bval_dict_add_str(d, "delete delay", "5");
	struct bval *codec = bval_dict_add(d, "codec", bval_dict());
	struct bval *tc = bval_dict_add(codec, "transcode", bval_list());
	bval_list_add(tc, bval_str("G729"));
	bval_dict_add_str(codec, "strip", "all");
	bval_dict_add_str(d, "call-id", "abc");
	bval_dict_add_str(d, "command", "delete");

	struct rg_buf b;
	buf_init(&b);
	bencode_encode(d, &b);
	bval_free(d);
	EXPECT_STR(b.data, "d5:flagsl15:codec-mask-PCMU5:fatale5:ptime2:20"
		   "12:delete delay1:55:codecd9:transcodel4:G729e5:strip3:alle"
		   "7:call-id3:abc7:command6:deletee");

	struct bval *tree = NULL;
	size_t used;
	struct ng_request r;
	char err[128];
	EXPECT_INT(bencode_decode(b.data, b.len, &tree, &used), 0);
	EXPECT_INT(ng_request_decode(tree, &r, err, sizeof(err)), 0);
	EXPECT_INT(r.cmd, NG_DELETE);
	EXPECT_STR(r.call_id, "abc");
	EXPECT_INT(r.ptime, 20);
	EXPECT_INT(r.delete_delay, 5);
	EXPECT_INT(r.flags, NG_F_FATAL);
	EXPECT_INT(r.codec.mask.n, 1);
	EXPECT_STR(r.codec.mask.v[0], "PCMU");
	EXPECT_INT(r.codec.transcode.n, 1);
	EXPECT_STR(r.codec.transcode.v[0], "G729");
	EXPECT_INT(r.codec.strip.n, 1);
	EXPECT_STR(r.codec.strip.v[0], "all");
	EXPECT_INT(r.other_flags.n, 0);
	bval_free(tree);
	buf_free(&b);
}

static void t_flag_key_values(void)
{
	/* key=value words in flags are honoured like keys, later ones win */
	const char *json = "{\"command\":\"answer\",\"ptime\":30,"
		"\"flags\":[\"ptime=20\",\"delete-delay=7\",\"TOS=46\",\"ICE=remove\","
		"\"direction=priv\",\"direction=pub\",\"via-branch=z9\",\"to-tag=t\","
		"\"Trust_Address\",\"SDES=no-AES_CM_128_HMAC_SHA1_32\"]}";
	struct bval *tree;
	struct ng_request r;
	char err[128];
	EXPECT_INT(decode_json(json, &tree, &r, err, sizeof(err)), 0);
	EXPECT_INT(r.cmd, NG_ANSWER);
	EXPECT_INT(r.ptime, 20);
	EXPECT_INT(r.delete_delay, 7);
	EXPECT_INT(r.tos, 46);
	EXPECT_INT(r.ice, NG_ICE_REMOVE);
	EXPECT_INT(r.flags, NG_F_ICE_REMOVE | NG_F_TRUST_ADDRESS);
	EXPECT_INT(r.direction.n, 2);
	EXPECT_STR(r.direction.v[0], "priv");
	EXPECT_STR(r.via_branch, "z9");
	EXPECT_STR(r.to_tag, "t");
	EXPECT_INT(r.sdes.n, 1);
	EXPECT_STR(r.sdes.v[0], "no-AES_CM_128_HMAC_SHA1_32");
	EXPECT_INT(r.other_flags.n, 0);
	bval_free(tree);
}

static void t_unknown_and_missing(void)
{
	struct bval *tree;
	struct ng_request r;
	char err[128];
	EXPECT_INT(decode_json("{\"command\":\"start recording\",\"call-id\":\"x\"}",
			       &tree, &r, err, sizeof(err)), 0);
	EXPECT_INT(r.cmd, NG_CMD_UNKNOWN);
	EXPECT_STR(r.command, "start recording");
	bval_free(tree);

	EXPECT_INT(decode_json("{\"call-id\":\"x\",\"unknown key\":[1,{}]}",
			       &tree, &r, err, sizeof(err)), 0);
	EXPECT_INT(r.cmd, NG_CMD_UNKNOWN);
	EXPECT(r.command == NULL);
	EXPECT_STR(r.call_id, "x");
	EXPECT_INT(r.ptime, -1);
	bval_free(tree);
}

static void t_errors(void)
{
	static const struct { const char *json; const char *reason; } cases[] = {
		{ "{\"command\":5}", "'command' is not a string" },
		{ "{\"command\":[\"offer\"]}", "'command' is not a string" },
		{ "{\"call-id\":{}}", "'call-id' is not a string" },
		{ "{\"Call_ID\":1}", "'call-id' is not a string" },
		{ "{\"sdp\":[]}", "'sdp' is not a string" },
		{ "{\"ptime\":\"20ms\"}", "'ptime' is not a number" },
		{ "{\"ptime\":-1}", "'ptime' is out of range (0 to 1000)" },
		{ "{\"TOS\":256}", "'TOS' is out of range (0 to 255)" },
		{ "{\"flags\":[\"TOS=x\"]}", "'TOS' is not a number" },
		{ "{\"delete-delay\":[5]}", "'delete-delay' is not a number" },
		{ "{\"received-from\":\"1.2.3.4\"}", "'received-from' is not a list of two strings" },
		{ "{\"received-from\":[\"IP4\"]}", "'received-from' is not a list of two strings" },
		{ "{\"received-from\":[\"IP4\",4]}", "'received-from' is not a list of two strings" },
		{ "{\"flags\":[\"a\",1]}", "'flags' is not a list of strings" },
		{ "{\"flags\":{}}", "'flags' is not a list of strings" },
		{ "{\"replace\":[[]]}", "'replace' is not a list of strings" },
		{ "{\"codec\":[\"strip\"]}", "'codec' is not a dictionary" },
		{ "{\"codec\":{\"mask\":[1]}}", "'codec.mask' is not a list of strings" },
		{ "{\"ICE\":true}", "'ICE' is not a string" },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct bval *tree;
		struct ng_request r;
		char err[128] = "";
		EXPECT_INT(decode_json(cases[k].json, &tree, &r, err, sizeof(err)), -EINVAL);
		if (strcmp(err, cases[k].reason) != 0)
			unit_fail(__FILE__, __LINE__, "%s: expected \"%s\", got \"%s\"",
				  cases[k].json, cases[k].reason, err);
		bval_free(tree);
	}

	/* not a dictionary; err may be NULL */
	struct bval *l = bval_list();
	struct ng_request r;
	char err[64];
	EXPECT_INT(ng_request_decode(l, &r, err, sizeof(err)), -EINVAL);
	EXPECT_STR(err, "the request is not a dictionary");
	EXPECT_INT(ng_request_decode(l, &r, NULL, 0), -EINVAL);
	bval_free(l);
	/* a short err buffer is cut, not overrun */
	struct bval *d = bval_dict();
	bval_dict_add_int(d, "command", 1);
	char small[8];
	EXPECT_INT(ng_request_decode(d, &r, small, sizeof(small)), -EINVAL);
	EXPECT_STR(small, "'comman");
	bval_free(d);
}

static void t_list_limits(void)
{
	/* 32 entries fit, the 33rd is an error, in the codec dict and in flags */
	struct bval *d = bval_dict();
	struct bval *codec = bval_dict_add(d, "codec", bval_dict());
	struct bval *strip = bval_dict_add(codec, "strip", bval_list());
	struct bval *flags = bval_dict_add(d, "flags", bval_list());
	for (int i = 0; i < NG_MAX_LIST; i++) {
		bval_list_add(strip, bval_fmt("c%d", i));
		bval_list_add(flags, bval_fmt("unknown-%d", i));
	}
	struct ng_request r;
	char err[128];
	EXPECT_INT(ng_request_decode(d, &r, err, sizeof(err)), 0);
	EXPECT_INT(r.codec.strip.n, NG_MAX_LIST);
	EXPECT_STR(r.codec.strip.v[31], "c31");
	EXPECT_INT(r.other_flags.n, NG_MAX_LIST);
	/* other_flags is cut silently */
	bval_list_add(flags, bval_str("one-more"));
	EXPECT_INT(ng_request_decode(d, &r, err, sizeof(err)), 0);
	EXPECT_INT(r.other_flags.n, NG_MAX_LIST);

	bval_list_add(strip, bval_str("c32"));
	EXPECT_INT(ng_request_decode(d, &r, err, sizeof(err)), -EINVAL);
	EXPECT_STR(err, "too many entries in codec.strip");
	bval_free(d);

	d = bval_dict();
	flags = bval_dict_add(d, "flags", bval_list());
	for (int i = 0; i <= NG_MAX_LIST; i++)
		bval_list_add(flags, bval_fmt("codec-offer-c%d", i));
	EXPECT_INT(ng_request_decode(d, &r, err, sizeof(err)), -EINVAL);
	EXPECT_STR(err, "too many entries in codec.offer");
	bval_free(d);

	d = bval_dict();
	struct bval *dir = bval_dict_add(d, "direction", bval_list());
	for (int i = 0; i <= NG_MAX_LIST; i++)
		bval_list_add(dir, bval_str("pub"));
	EXPECT_INT(ng_request_decode(d, &r, err, sizeof(err)), -EINVAL);
	EXPECT_STR(err, "too many entries in direction");
	bval_free(d);
}

/* A JSON request and its bencode twin decode to the same request. */
static void t_json_equals_bencode(void)
{
	size_t len = 0;
	char *data = unit_read_file(unit_vector_path("kamailio-5.6.3/unix-02-offer.bin"), &len);
	if (!data) {
		unit_fail(__FILE__, __LINE__, "cannot read the offer vector");
		return;
	}
	struct bval *bt = NULL, *jt = NULL;
	size_t used;
	EXPECT_INT(bencode_decode(data, len, &bt, &used), 0);
	struct rg_buf j;
	buf_init(&j);
	json_encode(bt, &j);
	struct ng_frame f;
	EXPECT_INT(ng_frame_split(j.data, j.len, &f), 0);
	EXPECT(f.cookie == NULL);
	EXPECT_INT(f.enc, NG_ENC_JSON);
	EXPECT_INT(json_decode(j.data, j.len, &jt, &used), 0);
	struct ng_request rb, rj;
	char err[128];
	EXPECT_INT(ng_request_decode(bt, &rb, err, sizeof(err)), 0);
	EXPECT_INT(ng_request_decode(jt, &rj, err, sizeof(err)), 0);
	EXPECT_INT(rj.cmd, rb.cmd);
	EXPECT_STR(rj.call_id, rb.call_id);
	EXPECT_STR(rj.from_tag, rb.from_tag);
	EXPECT_INT(rj.sdp_len, rb.sdp_len);
	EXPECT(rj.sdp && rb.sdp && memcmp(rj.sdp, rb.sdp, rb.sdp_len) == 0);
	EXPECT_INT(rj.flags, rb.flags);
	EXPECT_INT(rj.replace, rb.replace);
	EXPECT_INT(rj.ice, rb.ice);
	EXPECT_INT(rj.codec.accept.n, rb.codec.accept.n);
	bval_free(bt);
	bval_free(jt);
	buf_free(&j);
	free(data);
}

const struct unit_case unit_cases[] = {
	UNIT(t_frame_split),
	UNIT(t_cmd_names),
	UNIT(t_kamailio_udp),
	UNIT(t_kamailio_unix),
	UNIT(t_handmade),
	UNIT(t_handmade_bencode),
	UNIT(t_flag_key_values),
	UNIT(t_unknown_and_missing),
	UNIT(t_errors),
	UNIT(t_list_limits),
	UNIT(t_json_equals_bencode),
	{ 0 }
};
