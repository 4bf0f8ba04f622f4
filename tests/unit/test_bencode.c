/* test_bencode.c - the ng value tree, bencode and JSON. */
#include "unit.h"
#include "bencode.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

static const char *rc_name(int r)
{
	switch (r) {
	case 0: return "0";
	case -EAGAIN: return "-EAGAIN";
	case -EINVAL: return "-EINVAL";
	case -E2BIG: return "-E2BIG";
	case -ENOMEM: return "-ENOMEM";
	default: return "other";
	}
}

#define EXPECT_RC(got, want, what) do { int g_ = (got), w_ = (want); \
	if (g_ != w_) unit_fail(__FILE__, __LINE__, "%s: expected %s, got %s (%d)", \
				(what), rc_name(w_), rc_name(g_), g_); } while (0)

static char *enc_b(const struct bval *v)
{
	struct rg_buf b;
	buf_init(&b);
	bencode_encode(v, &b);
	return buf_steal(&b, NULL);
}

static char *enc_j(const struct bval *v)
{
	struct rg_buf b;
	buf_init(&b);
	json_encode(v, &b);
	return buf_steal(&b, NULL);
}

/* A reply as a command handler would build it. */
static struct bval *sample_tree(void)
{
	struct bval *d = bval_dict();
	bval_dict_add_str(d, "result", "ok");
	bval_dict_add_int(d, "created", 1700000000);
	bval_dict_add_int(d, "neg", -42);
	bval_dict_add(d, "bin", bval_strn("a\0b", 3));
	struct bval *l = bval_dict_add(d, "list", bval_list());
	bval_list_add(l, bval_str("x"));
	bval_list_add(l, bval_int(0));
	bval_list_add(l, bval_list());
	struct bval *t = bval_dict_add(d, "totals", bval_dict());
	struct bval *rtp = bval_dict_add(t, "RTP", bval_dict());
	bval_dict_add_int(rtp, "packets", 12);
	bval_dict_add(d, "fmt", bval_fmt("%s-%d", "port", 30000));
	bval_dict_add(d, "empty", bval_str(""));
	return d;
}

static const char sample_bencode[] =
	"d6:result2:ok7:createdi1700000000e3:negi-42e3:bin3:a\0b"
	"4:listl1:xi0elee6:totalsd3:RTPd7:packetsi12eee3:fmt10:port-30000"
	"5:empty0:e";

static void t_encode_bencode(void)
{
	struct bval *d = sample_tree();
	struct rg_buf b;
	buf_init(&b);
	bencode_encode(d, &b);
	EXPECT(buf_ok(&b));
	EXPECT_INT(b.len, sizeof(sample_bencode) - 1);
	EXPECT_MEM(b.data, sample_bencode, sizeof(sample_bencode) - 1);
	buf_free(&b);
	bval_free(d);
}

static void t_roundtrip_bencode(void)
{
	struct bval *d = sample_tree();
	char *first = enc_b(d);
	size_t n = sizeof(sample_bencode) - 1, used = 0;
	struct bval *back = NULL;
	EXPECT_RC(bencode_decode(first, n, &back, &used), 0, "decode own output");
	EXPECT_INT(used, n);
	if (back) {
		struct rg_buf b;
		buf_init(&b);
		bencode_encode(back, &b);
		EXPECT_INT(b.len, n);
		EXPECT_MEM(b.data, first, n);
		size_t len;
		EXPECT_STR(bval_as_str(bval_get(back, "result"), NULL), "ok");
		const char *bin = bval_as_str(bval_get(back, "bin"), &len);
		EXPECT_INT(len, 3);
		EXPECT(bin && memcmp(bin, "a\0b", 4) == 0);
		long long i = 0;
		EXPECT_INT(bval_as_int(bval_get(back, "neg"), &i), 0);
		EXPECT_INT(i, -42);
		EXPECT_INT(bval_count(bval_get(back, "list")), 3);
		EXPECT_INT(bval_type(bval_at(bval_get(back, "list"), 2)), BVAL_LIST);
		EXPECT_STR(bval_key_at(back, 5), "totals");
		EXPECT_INT(bval_count(back), 8);
		buf_free(&b);
	}
	bval_free(back);
	bval_free(d);
	free(first);
}

static void t_roundtrip_json(void)
{
	struct bval *d = sample_tree();
	char *j = enc_j(d);
	EXPECT_STR(j, "{\"result\":\"ok\",\"created\":1700000000,\"neg\":-42,"
		   "\"bin\":\"a\\u0000b\",\"list\":[\"x\",0,[]],"
		   "\"totals\":{\"RTP\":{\"packets\":12}},\"fmt\":\"port-30000\","
		   "\"empty\":\"\"}");
	struct bval *back = NULL;
	size_t used = 0;
	EXPECT_RC(json_decode(j, strlen(j), &back, &used), 0, "decode own JSON");
	EXPECT_INT(used, strlen(j));
	if (back) {
		char *again = enc_b(back);
		char *orig = enc_b(d);
		EXPECT_MEM(again, orig, sizeof(sample_bencode) - 1);
		free(again);
		free(orig);
	}
	bval_free(back);
	bval_free(d);
	free(j);
}

static void t_integers(void)
{
	static const struct { const char *in; int rc; long long v; } cases[] = {
		{ "i0e", 0, 0 },
		{ "i7e", 0, 7 },
		{ "i-7e", 0, -7 },
		{ "i9223372036854775807e", 0, LLONG_MAX },
		{ "i-9223372036854775808e", 0, LLONG_MIN },
		{ "i9223372036854775808e", -EINVAL, 0 },
		{ "i-9223372036854775809e", -EINVAL, 0 },
		{ "i99999999999999999999e", -EINVAL, 0 },
		{ "i-0e", -EINVAL, 0 },
		{ "i03e", -EINVAL, 0 },
		{ "i00e", -EINVAL, 0 },
		{ "i-03e", -EINVAL, 0 },
		{ "ie", -EINVAL, 0 },
		{ "i-e", -EINVAL, 0 },
		{ "i+1e", -EINVAL, 0 },
		{ "i1.5e", -EINVAL, 0 },
		{ "i 1e", -EINVAL, 0 },
		{ "i1x", -EINVAL, 0 },
		{ "i", -EAGAIN, 0 },
		{ "i-", -EAGAIN, 0 },
		{ "i12", -EAGAIN, 0 },
		{ "i0", -EAGAIN, 0 },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct bval *v = NULL;
		size_t used = 0;
		int r = bencode_decode(cases[k].in, strlen(cases[k].in), &v, &used);
		EXPECT_RC(r, cases[k].rc, cases[k].in);
		if (r == 0) {
			long long i = 0;
			EXPECT_INT(bval_type(v), BVAL_INT);
			EXPECT_INT(bval_as_int(v, &i), 0);
			EXPECT_INT(i, cases[k].v);
			EXPECT_INT(used, strlen(cases[k].in));
		}
		bval_free(v);
	}
}

/* Every malformed form, each also checked as -EAGAIN-free: a malformed input
 * must not be reported as incomplete. */
static void t_malformed(void)
{
	static const struct { const char *in; int rc; } cases[] = {
		{ "", -EAGAIN },
		{ "x", -EINVAL },
		{ "e", -EINVAL },
		{ " d7:command4:pinge", -EINVAL },
		{ "-1:a", -EINVAL },
		{ "01:a", -EINVAL },
		{ "00:", -EINVAL },
		{ "1x", -EINVAL },
		{ "1", -EAGAIN },
		{ "12", -EAGAIN },
		{ "1:", -EAGAIN },
		{ "3:ab", -EAGAIN },
		{ "0:", 0 },
		{ "l", -EAGAIN },
		{ "le", 0 },
		{ "lx", -EINVAL },
		{ "li1e", -EAGAIN },
		{ "li1ex", -EINVAL },
		{ "d", -EAGAIN },
		{ "de", 0 },
		{ "di1ei2ee", -EINVAL },       /* key not a string */
		{ "dlei1ee", -EINVAL },
		{ "d1:a", -EAGAIN },           /* key without value */
		{ "d1:ae", -EINVAL },          /* 'e' is not a value */
		{ "d1:ai1e", -EAGAIN },
		{ "d1:ai1ex", -EINVAL },
		{ "d01:ai1ee", -EINVAL },
		{ "d1:a1:", -EAGAIN },
		{ "d7:command4:pingee", 0 },   /* trailing byte: caller's business */
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct bval *v = NULL;
		size_t used = 0;
		EXPECT_RC(bencode_decode(cases[k].in, strlen(cases[k].in), &v, &used),
			  cases[k].rc, cases[k].in);
		bval_free(v);
	}
	/* A NUL byte and bytes >= 0x80 as type bytes. */
	struct bval *v = NULL;
	size_t used;
	EXPECT_RC(bencode_decode("\0", 1, &v, &used), -EINVAL, "NUL");
	EXPECT_RC(bencode_decode("\xff", 1, &v, &used), -EINVAL, "0xff");
	EXPECT_RC(bencode_decode("d3:a\0bi1ee", 10, &v, &used), 0, "NUL in key");
	EXPECT_INT(used, 10);
	bval_free(v);
}

static void t_vectors_prefixes(void)
{
	static const char *const files[] = {
		"kamailio-5.6.3/unix-01-ping.bin", "kamailio-5.6.3/unix-02-offer.bin",
		"kamailio-5.6.3/unix-03-answer.bin", "kamailio-5.6.3/unix-04-query.bin",
		"kamailio-5.6.3/unix-05-delete.bin",
	};
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		size_t len = 0;
		char *data = unit_read_file(unit_vector_path(files[f]), &len);
		if (!data) {
			unit_fail(__FILE__, __LINE__, "cannot read %s", unit_vector_path(files[f]));
			continue;
		}
		int bad = 0;
		for (size_t n = 0; n < len; n++) {
			struct bval *v = NULL;
			size_t used;
			int r = bencode_decode(data, n, &v, &used);
			if (r != -EAGAIN && !bad++)
				unit_fail(__FILE__, __LINE__, "%s: prefix of %zu bytes: "
					  "expected -EAGAIN, got %s", files[f], n, rc_name(r));
			bval_free(v);
		}
		struct bval *v = NULL;
		size_t used = 0;
		EXPECT_RC(bencode_decode(data, len, &v, &used), 0, files[f]);
		EXPECT_INT(used, len);
		EXPECT_STR(bval_key_at(v, bval_count(v) - 1), "command");
		/* Re-encoding gives back the bytes: the wire order is kept. */
		char *again = enc_b(v);
		EXPECT_MEM(again, data, len);
		free(again);
		bval_free(v);

		/* Followed by the next request on the same stream. */
		char *two = malloc(len * 2);
		memcpy(two, data, len);
		memcpy(two + len, data, len);
		v = NULL;
		EXPECT_RC(bencode_decode(two, len * 2, &v, &used), 0, "two in a row");
		EXPECT_INT(used, len);
		bval_free(v);
		free(two);
		free(data);
	}
}

static char *repeat(const char *a, int n, const char *mid, const char *b)
{
	size_t la = strlen(a), lm = strlen(mid), lb = strlen(b);
	char *s = malloc(la * (size_t)n + lm + lb * (size_t)n + 1), *p = s;
	for (int i = 0; i < n; i++, p += la)
		memcpy(p, a, la);
	memcpy(p, mid, lm);
	p += lm;
	for (int i = 0; i < n; i++, p += lb)
		memcpy(p, b, lb);
	*p = '\0';
	return s;
}

static void t_limits(void)
{
	struct bval *v = NULL;
	size_t used;
	char *s;

	/* depth */
	s = repeat("l", BVAL_MAX_DEPTH, "", "e");
	EXPECT_RC(bencode_decode(s, strlen(s), &v, &used), 0, "depth 32");
	bval_free(v);
	v = NULL;
	free(s);
	s = repeat("l", BVAL_MAX_DEPTH + 1, "", "e");
	EXPECT_RC(bencode_decode(s, strlen(s), &v, &used), -E2BIG, "depth 33");
	free(s);
	s = repeat("d1:a", BVAL_MAX_DEPTH + 1, "i1e", "e");
	EXPECT_RC(bencode_decode(s, strlen(s), &v, &used), -E2BIG, "dict depth 33");
	free(s);
	s = repeat("l", 100000, "", "");       /* deep and truncated */
	EXPECT_RC(bencode_decode(s, strlen(s), &v, &used), -E2BIG, "depth 100000");
	free(s);

	/* string length: known as soon as the length is read */
	EXPECT_RC(bencode_decode("1048577:", 8, &v, &used), -E2BIG, "string 1 MiB + 1");
	EXPECT_RC(bencode_decode("99999999999999999999999:", 24, &v, &used), -E2BIG,
		  "huge string length");
	size_t n = BVAL_MAX_STR;
	char *big = malloc(n + 16);
	int h = sprintf(big, "%zu:", n);
	memset(big + h, 'x', n);
	EXPECT_RC(bencode_decode(big, (size_t)h + n, &v, &used), 0, "string 1 MiB");
	EXPECT_INT(used, (size_t)h + n);
	bval_free(v);
	v = NULL;
	EXPECT_RC(bencode_decode(big, (size_t)h + n - 1, &v, &used), -EAGAIN,
		  "string 1 MiB, one byte short");
	free(big);

	/* items: the list itself counts as one */
	size_t cap = 3 * BVAL_MAX_ITEMS + 8;
	char *l = malloc(cap);
	l[0] = 'l';
	for (int i = 0; i < BVAL_MAX_ITEMS - 1; i++)
		memcpy(l + 1 + 3 * i, "i0e", 3);
	size_t end = 1 + 3 * (size_t)(BVAL_MAX_ITEMS - 1);
	l[end] = 'e';
	EXPECT_RC(bencode_decode(l, end + 1, &v, &used), 0, "10000 items");
	EXPECT_INT(bval_count(v), BVAL_MAX_ITEMS - 1);
	bval_free(v);
	v = NULL;
	memcpy(l + end, "i0ee", 4);
	EXPECT_RC(bencode_decode(l, end + 4, &v, &used), -E2BIG, "10001 items");
	free(l);
}

static void t_loose_lookup(void)
{
	struct bval *d = bval_dict();
	bval_dict_add_int(d, "delete delay", 5);
	bval_dict_add_str(d, "ICE", "remove");
	bval_dict_add_str(d, "received_from", "x");
	bval_dict_add_str(d, "call-id", "first");
	bval_dict_add_str(d, "call-id", "second");

	EXPECT(bval_get(d, "delete-delay") == NULL);
	EXPECT(bval_get_loose(d, "delete-delay") == bval_val_at(d, 0));
	EXPECT(bval_get_loose(d, "Delete_Delay") == bval_val_at(d, 0));
	EXPECT(bval_get_loose(d, "deletedelay") == NULL);
	EXPECT(bval_get_loose(d, "delete delay ") == NULL);
	EXPECT(bval_get_loose(d, "ice") == bval_val_at(d, 1));
	EXPECT(bval_get(d, "ice") == NULL);
	EXPECT(bval_get(d, "ICE") == bval_val_at(d, 1));
	EXPECT(bval_get_loose(d, "received from") == bval_val_at(d, 2));
	EXPECT_STR(bval_as_str(bval_get(d, "call-id"), NULL), "first");
	EXPECT(bval_get_loose(NULL, "x") == NULL);
	EXPECT(bval_get_loose(bval_val_at(d, 1), "x") == NULL);   /* not a dict */
	EXPECT(bval_key_at(d, 5) == NULL);
	EXPECT(bval_at(d, 0) == NULL);                              /* not a list */
	bval_free(d);
}

static void t_as_int(void)
{
	static const struct { const char *s; int rc; long long v; } cases[] = {
		{ "20", 0, 20 }, { "-5", 0, -5 }, { "+7", 0, 7 }, { "0", 0, 0 },
		{ "007", 0, 7 }, { "9223372036854775807", 0, LLONG_MAX },
		{ "-9223372036854775808", 0, LLONG_MIN },
		{ "9223372036854775808", -EINVAL, 0 }, { "", -EINVAL, 0 },
		{ "-", -EINVAL, 0 }, { " 5", -EINVAL, 0 }, { "5 ", -EINVAL, 0 },
		{ "1.5", -EINVAL, 0 }, { "0x10", -EINVAL, 0 }, { "abc", -EINVAL, 0 },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct bval *v = bval_str(cases[k].s);
		long long i = -1;
		EXPECT_RC(bval_as_int(v, &i), cases[k].rc, cases[k].s);
		if (cases[k].rc == 0)
			EXPECT_INT(i, cases[k].v);
		bval_free(v);
	}
	struct bval *l = bval_list();
	long long i;
	EXPECT_RC(bval_as_int(l, &i), -EINVAL, "list");
	EXPECT_RC(bval_as_int(NULL, &i), -EINVAL, "NULL");
	EXPECT(bval_as_str(l, NULL) == NULL);
	bval_free(l);
}

static void t_ownership(void)
{
	/* Adding to the wrong container, or NULL, frees the value (valgrind /
	 * ASan builds check there is no leak) and returns NULL. */
	struct bval *l = bval_list(), *d = bval_dict();
	EXPECT(bval_dict_add(l, "k", bval_int(1)) == NULL);
	EXPECT(bval_list_add(d, bval_int(1)) == NULL);
	EXPECT(bval_dict_add(NULL, "k", bval_int(1)) == NULL);
	EXPECT(bval_dict_add(d, "k", NULL) == NULL);
	EXPECT(bval_dict_add_str(d, "k", NULL) == NULL);
	EXPECT_INT(bval_count(d), 0);
	EXPECT_INT(bval_count(l), 0);
	bval_free(l);
	bval_free(d);
	bval_free(NULL);
}

static void t_json_decode(void)
{
	const char *in = "  {\"s\": \"caf\\u00e9\", \"i\": -12, \"r\": 2.5, "
			 "\"e\": 1e3, \"t\": true, \"f\": false, \"n\": null, "
			 "\"l\": [1, null, \"x\", {\"k\": []}], \"big\": 9223372036854775807}\n"
			 "{\"next\":1}";
	struct bval *v = NULL;
	size_t used = 0;
	EXPECT_RC(json_decode(in, strlen(in), &v, &used), 0, "json sample");
	EXPECT_INT(used, strchr(in, '\n') - in);
	if (!v)
		return;
	long long i;
	EXPECT_STR(bval_as_str(bval_get(v, "s"), NULL), "caf\xc3\xa9");
	EXPECT_INT(bval_as_int(bval_get(v, "i"), &i), 0);
	EXPECT_INT(i, -12);
	EXPECT_INT(bval_type(bval_get(v, "i")), BVAL_INT);
	EXPECT_STR(bval_as_str(bval_get(v, "r"), NULL), "2.5");
	EXPECT_STR(bval_as_str(bval_get(v, "e"), NULL), "1000");
	EXPECT_INT(bval_as_int(bval_get(v, "t"), &i), 0);
	EXPECT_INT(i, 1);
	EXPECT_INT(bval_as_int(bval_get(v, "f"), &i), 0);
	EXPECT_INT(i, 0);
	EXPECT(bval_get(v, "n") == NULL);
	EXPECT_INT(bval_count(bval_get(v, "l")), 3);
	EXPECT_STR(bval_as_str(bval_at(bval_get(v, "l"), 1), NULL), "x");
	EXPECT_INT(bval_as_int(bval_get(v, "big"), &i), 0);
	EXPECT_INT(i, LLONG_MAX);
	EXPECT_STR(bval_key_at(v, 0), "s");
	EXPECT_STR(bval_key_at(v, 6), "l");         /* order kept, null dropped */
	EXPECT_STR(bval_key_at(v, 7), "big");
	char *j = enc_j(v);
	EXPECT_STR(j, "{\"s\":\"caf\xc3\xa9\",\"i\":-12,\"r\":\"2.5\",\"e\":\"1000\","
		   "\"t\":1,\"f\":0,\"l\":[1,\"x\",{\"k\":[]}],\"big\":9223372036854775807}");
	free(j);
	bval_free(v);
}

static void t_json_malformed(void)
{
	static const struct { const char *in; int rc; } cases[] = {
		{ "", -EAGAIN },
		{ "   ", -EAGAIN },
		{ "[1]", -EINVAL },             /* the top level must be an object */
		{ "\"x\"", -EINVAL },
		{ "d7:command4:pinge", -EINVAL },
		{ "{", -EAGAIN },
		{ "{\"a\"", -EAGAIN },
		{ "{\"a\":", -EAGAIN },
		{ "{\"a\":tr", -EAGAIN },
		{ "{\"a\":tx}", -EINVAL },
		{ "{\"a\":-", -EAGAIN },
		{ "{\"a\":-x}", -EINVAL },
		{ "{\"a\":01}", -EINVAL },
		{ "{\"a\":1.}", -EINVAL },
		{ "{\"a\":1e}", -EINVAL },
		{ "{\"a\":\"\\u12", -EAGAIN },
		{ "{\"a\":\"\\u12x4\"}", -EINVAL },
		{ "{\"a\":\"\\q\"}", -EINVAL },
		{ "{\"a\":\"x\ny\"}", -EINVAL },  /* raw control character */
		{ "{\"a\":1,}", -EINVAL },
		{ "{,}", -EINVAL },
		{ "{\"a\" 1}", -EINVAL },
		{ "{1:2}", -EINVAL },
		{ "{\"a\":[1 2]}", -EINVAL },
		{ "{\"a\":[1,2}", -EINVAL },
		{ "{\"a\":\"\xff\"}", -EINVAL },  /* not UTF-8 (jansson) */
		{ "{\"a\":\"\\udc00\"}", -EINVAL }, /* lone surrogate (jansson) */
		{ "{\"a\":99999999999999999999}", -EINVAL },
		{ "{}", 0 },
		{ "{\"a\":\"\\u0000\"}", 0 },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct bval *v = NULL;
		size_t used = 0;
		EXPECT_RC(json_decode(cases[k].in, strlen(cases[k].in), &v, &used),
			  cases[k].rc, cases[k].in);
		bval_free(v);
	}
}

static void t_json_prefixes_and_limits(void)
{
	const char *req = "{\"supports\":[\"load limit\"],\"sdp\":\"v=0\\r\\n\","
			  "\"ICE\":\"remove\",\"flags\":[\"trust-address\"],"
			  "\"delete delay\":5,\"r\":-1.25e-3,\"ok\":true,\"no\":null,"
			  "\"codec\":{\"strip\":\"all\"},\"command\":\"offer\"}";
	size_t len = strlen(req);
	int bad = 0;
	for (size_t n = 0; n < len; n++) {
		struct bval *v = NULL;
		size_t used;
		int r = json_decode(req, n, &v, &used);
		if (r != -EAGAIN && !bad++)
			unit_fail(__FILE__, __LINE__, "JSON prefix of %zu bytes: "
				  "expected -EAGAIN, got %s", n, rc_name(r));
		bval_free(v);
	}
	struct bval *v = NULL;
	size_t used;
	EXPECT_RC(json_decode(req, len, &v, &used), 0, "whole JSON request");
	EXPECT_INT(used, len);
	bval_free(v);
	v = NULL;

	char *s = repeat("{\"a\":", BVAL_MAX_DEPTH, "1", "}");
	EXPECT_RC(json_decode(s, strlen(s), &v, &used), 0, "JSON depth 32");
	bval_free(v);
	v = NULL;
	free(s);
	s = repeat("{\"a\":", BVAL_MAX_DEPTH + 1, "1", "}");
	EXPECT_RC(json_decode(s, strlen(s), &v, &used), -E2BIG, "JSON depth 33");
	free(s);
	s = repeat("[", 100000, "", "");
	s[0] = '{';
	EXPECT_RC(json_decode(s, strlen(s), &v, &used), -EINVAL, "{[[[...");
	free(s);
	/* {"a":[[[[... 40 deep, truncated: too deep wins over incomplete */
	s = repeat("[", 40, "", "");
	char t[64];
	snprintf(t, sizeof(t), "{\"a\":%s", s);
	EXPECT_RC(json_decode(t, strlen(t), &v, &used), -E2BIG, "deep, truncated");
	free(s);

	/* a string over 1 MiB */
	size_t n = BVAL_MAX_STR + 2;
	char *big = malloc(n + 16);
	memcpy(big, "{\"a\":\"", 6);
	memset(big + 6, 'x', n);
	memcpy(big + 6 + n, "\"}", 2);
	EXPECT_RC(json_decode(big, n + 8, &v, &used), -E2BIG, "JSON string 1 MiB + 2");
	free(big);

	/* items */
	size_t cap = 2 * BVAL_MAX_ITEMS + 16;
	char *l = malloc(cap);
	size_t p = (size_t)sprintf(l, "{\"l\":[");
	for (int i = 0; i < BVAL_MAX_ITEMS - 2; i++)
		p += (size_t)sprintf(l + p, "%s0", i ? "," : "");
	p += (size_t)sprintf(l + p, "]}");
	EXPECT_RC(json_decode(l, p, &v, &used), 0, "JSON 10000 items");
	bval_free(v);
	v = NULL;
	memcpy(l + p - 2, ",0]}", 4);
	EXPECT_RC(json_decode(l, p + 2, &v, &used), -E2BIG, "JSON 10001 items");
	free(l);
}

static void t_json_encode_escapes(void)
{
	struct bval *d = bval_dict();
	bval_dict_add_str(d, "q", "a\"b\\c/d");
	bval_dict_add_str(d, "ctl", "\r\n\t\x01\x1f");
	bval_dict_add_str(d, "utf8", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	bval_dict_add_str(d, "bad", "\xff\xc3(\xed\xa0\x80\xc0\xaf");
	bval_dict_add_str(d, "k\"ey", "v");
	char *j = enc_j(d);
	EXPECT_STR(j, "{\"q\":\"a\\\"b\\\\c/d\",\"ctl\":\"\\r\\n\\t\\u0001\\u001f\","
		   "\"utf8\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\","
		   "\"bad\":\"\\u00ff\\u00c3(\\u00ed\\u00a0\\u0080\\u00c0\\u00af\","
		   "\"k\\\"ey\":\"v\"}");
	/* What we write, jansson (and so we) can read. */
	struct bval *back = NULL;
	size_t used;
	EXPECT_RC(json_decode(j, strlen(j), &back, &used), 0, "re-read escapes");
	EXPECT_STR(bval_as_str(bval_get(back, "ctl"), NULL), "\r\n\t\x01\x1f");
	EXPECT_STR(bval_as_str(bval_get(back, "k\"ey"), NULL), "v");
	bval_free(back);
	free(j);
	bval_free(d);
}

/* Random mutations of a real request: never crash, never read past the end
 * (run under ASan to see that), and anything accepted round-trips. */
static void t_mutations(void)
{
	size_t len = 0;
	char *data = unit_read_file(unit_vector_path("kamailio-5.6.3/unix-02-offer.bin"), &len);
	if (!data) {
		unit_fail(__FILE__, __LINE__, "cannot read the offer vector");
		return;
	}
	unsigned seed = 12345;
	int ok = 0, again = 0, inval = 0;
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = len;
		char *m = malloc(n);
		memcpy(m, data, n);
		int edits = 1 + (int)((seed = seed * 1103515245 + 12345) >> 16) % 4;
		for (int e = 0; e < edits; e++) {
			seed = seed * 1103515245 + 12345;
			size_t at = (seed >> 8) % n;
			static const char pick[] = "0123456789:ilde-x\0";
			m[at] = pick[(seed >> 20) % (sizeof(pick) - 1)];
		}
		seed = seed * 1103515245 + 12345;
		if ((seed >> 16) % 3 == 0)
			n = (seed >> 4) % n;
		struct bval *v = NULL;
		size_t used = 0;
		int r = bencode_decode(m, n, &v, &used);
		if (r == 0) {
			ok++;
			struct rg_buf b;
			buf_init(&b);
			bencode_encode(v, &b);
			struct bval *w = NULL;
			size_t used2 = 0;
			if (bencode_decode(b.data, b.len, &w, &used2) != 0 || used2 != b.len)
				unit_fail(__FILE__, __LINE__, "iteration %d: re-encoding does not decode", iter);
			bval_free(w);
			buf_free(&b);
		} else if (r == -EAGAIN) {
			again++;
		} else {
			inval++;
		}
		bval_free(v);
		v = NULL;
		r = json_decode(m, n, &v, &used);
		EXPECT(r == -EINVAL || r == -EAGAIN);
		bval_free(v);
		free(m);
	}
	printf("# mutations: %d decoded, %d incomplete, %d malformed\n", ok, again, inval);
	EXPECT(ok > 0 && again > 0 && inval > 0);
	free(data);
}

static void t_json_mutations(void)
{
	const char *req = "{\"supports\":[\"load limit\"],\"sdp\":\"v=0\\r\\n\\u00e9\","
			  "\"flags\":[\"trust-address\"],\"delete delay\":5,\"r\":-1.25e-3,"
			  "\"ok\":true,\"no\":null,\"codec\":{\"strip\":\"all\"}}";
	size_t len = strlen(req);
	unsigned seed = 777;
	int ok = 0, again = 0, inval = 0;
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = len;
		char *m = malloc(n);
		memcpy(m, req, n);
		seed = seed * 1103515245 + 12345;
		int edits = 1 + (int)(seed >> 16) % 3;
		for (int e = 0; e < edits; e++) {
			seed = seed * 1103515245 + 12345;
			static const char pick[] = "{}[]\",:\\u0e.-tnx \xc3\xff";
			m[(seed >> 8) % n] = pick[(seed >> 20) % (sizeof(pick) - 1)];
		}
		seed = seed * 1103515245 + 12345;
		if ((seed >> 16) % 3 == 0)
			n = (seed >> 4) % n;
		struct bval *v = NULL;
		size_t used = 0;
		int r = json_decode(m, n, &v, &used);
		if (r == 0) {
			ok++;
			EXPECT(used <= n);
			char *j = enc_j(v);
			struct bval *w = NULL;
			if (json_decode(j, strlen(j), &w, &used) != 0)
				unit_fail(__FILE__, __LINE__, "iteration %d: re-encoding %s does not decode", iter, j);
			bval_free(w);
			free(j);
		} else if (r == -EAGAIN) {
			again++;
		} else if (r == -EINVAL) {
			inval++;
		} else {
			unit_fail(__FILE__, __LINE__, "iteration %d: got %s", iter, rc_name(r));
		}
		bval_free(v);
		free(m);
	}
	printf("# JSON mutations: %d decoded, %d incomplete, %d malformed\n", ok, again, inval);
	EXPECT(ok > 0 && again > 0 && inval > 0);
}

/* The encoder's two paths (sized on the stack, and piece by piece for a
 * value of more than 8 KB) write the same bytes; containers beyond their 4
 * inline entries keep their order. */
static void t_encode_big_and_small(void)
{
	for (int big = 0; big < 2; big++) {
		struct bval *d = bval_dict();
		struct bval *l = bval_dict_add_list(d, "list");
		for (int i = 0; i < 9; i++)
			bval_list_add(l, bval_int(i - 4));
		struct bval *in = bval_dict_add_dict(d, "inner");
		bval_dict_add_int(in, "min", LLONG_MIN);
		bval_dict_add_str(in, "empty", "");
		size_t n = big ? 9000 : 10;
		char *s = malloc(n + 1);
		memset(s, 'x', n);
		s[n] = '\0';
		bval_dict_add_str(d, "s", s);
		struct rg_buf b;
		buf_init(&b);
		bencode_encode(d, &b);
		struct rg_buf want;
		buf_init(&want);
		buf_printf(&want, "d4:listli-4ei-3ei-2ei-1ei0ei1ei2ei3ei4ee5:innerd3:mini-9223372036854775808e"
			   "5:empty0:e1:s%zu:%se", n, s);
		EXPECT_INT(b.len, want.len);
		EXPECT(b.len == want.len && !memcmp(b.data, want.data, b.len));
		buf_free(&b);
		buf_free(&want);
		free(s);
		bval_free(d);
	}
}

const struct unit_case unit_cases[] = {
	UNIT(t_encode_big_and_small),
	UNIT(t_encode_bencode),
	UNIT(t_roundtrip_bencode),
	UNIT(t_roundtrip_json),
	UNIT(t_integers),
	UNIT(t_malformed),
	UNIT(t_vectors_prefixes),
	UNIT(t_limits),
	UNIT(t_loose_lookup),
	UNIT(t_as_int),
	UNIT(t_ownership),
	UNIT(t_json_decode),
	UNIT(t_json_malformed),
	UNIT(t_json_prefixes_and_limits),
	UNIT(t_json_encode_escapes),
	UNIT(t_mutations),
	UNIT(t_json_mutations),
	{ 0 }
};
