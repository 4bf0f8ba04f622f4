/* ng.c - framing and request decoding for the ng control protocol.
 *
 * This is the layer between the control sockets and the command handlers.
 * ng_frame_split() separates the cookie a UDP request starts with from its
 * body (a UNIX stream request has no cookie). ng_request_decode() reads a
 * decoded request dictionary into a flat struct ng_request, so that the
 * handlers never walk the tree or worry about how a proxy spelled a key.
 *
 * Proxies express the same thing in several ways: Kamailio turns most of its
 * flag words into keys ("ICE=remove" -> "ICE": "remove", "codec-mask-X" ->
 * "codec": {"mask": [X]}) but passes others through unchanged in "flags"
 * ("codec-accept-G729", "trust-address"), numbers may be integers or strings,
 * and keys come with spaces, hyphens or underscores. So one table of keys
 * drives both the dictionary and the key=value words inside "flags", values
 * are accessed through a small struct val that is either a tree node or a
 * plain string, and every name is compared with bencode.h's loose rule.
 */
#include "ng.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const cmd_names[NG_CMD__COUNT] = {
	[NG_CMD_UNKNOWN] = "unknown",
	[NG_PING]        = "ping",
	[NG_OFFER]       = "offer",
	[NG_ANSWER]      = "answer",
	[NG_DELETE]      = "delete",
	[NG_QUERY]       = "query",
	[NG_LIST]        = "list",
	[NG_STATISTICS]  = "statistics",
	[NG_DRAIN]       = "drain",
};

const char *ng_cmd_name(enum ng_cmd c)
{
	return (unsigned)c < NG_CMD__COUNT ? cmd_names[c] : "unknown";
}

enum ng_cmd ng_cmd_lookup(const char *name)
{
	if (!name)
		return NG_CMD_UNKNOWN;
	for (int c = NG_CMD_UNKNOWN + 1; c < NG_CMD__COUNT; c++)
		if (bval_key_loose_eq(name, cmd_names[c]))
			return (enum ng_cmd)c;
	return NG_CMD_UNKNOWN;
}

/* ---- framing ---------------------------------------------------------- */

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Does the whole buffer decode as exactly one value? */
static bool whole_value(const char *buf, size_t len)
{
	struct bval *v = NULL;
	size_t used = 0;
	int r;
	if (buf[0] == 'd') {
		r = bencode_decode(buf, len, &v, &used);
	} else {
		r = json_decode(buf, len, &v, &used);
		while (r == 0 && used < len && is_ws(buf[used]))
			used++;
	}
	bval_free(v);
	return r == 0 && used == len;
}

int ng_frame_split(const char *buf, size_t len, struct ng_frame *f)
{
	if (!buf || len == 0)
		return -EINVAL;
	if ((buf[0] == 'd' || buf[0] == '{') && whole_value(buf, len)) {
		f->cookie = NULL;
		f->cookie_len = 0;
		f->body = buf;
		f->body_len = len;
		f->enc = buf[0] == '{' ? NG_ENC_JSON : NG_ENC_BENCODE;
		return 0;
	}
	const char *sp = memchr(buf, ' ', len);
	if (!sp)
		return -EINVAL;
	size_t clen = (size_t)(sp - buf);
	if (clen < 1 || clen > NG_MAX_COOKIE || clen + 1 >= len)
		return -EINVAL;
	for (size_t i = 0; i < clen; i++)
		if ((unsigned char)buf[i] < 0x21 || (unsigned char)buf[i] > 0x7e)
			return -EINVAL;
	f->cookie = buf;
	f->cookie_len = clen;
	f->body = sp + 1;
	f->body_len = len - clen - 1;
	f->enc = f->body[0] == '{' ? NG_ENC_JSON : NG_ENC_BENCODE;
	return 0;
}

/* ---- loose matching of words ------------------------------------------ */

static int fold(unsigned char c)
{
	if (c == '-' || c == '_')
		return ' ';
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 'a';
	return c;
}

/* The rest of word after prefix (matched loosely), or NULL. */
static const char *loose_prefix(const char *word, const char *prefix)
{
	for (; *prefix; word++, prefix++)
		if (!*word || fold((unsigned char)*word) != fold((unsigned char)*prefix))
			return NULL;
	return word;
}

/* The first n bytes of a equal b (loosely), and b has exactly n bytes. */
static bool loose_eqn(const char *a, size_t n, const char *b)
{
	for (size_t i = 0; i < n; i++)
		if (!b[i] || fold((unsigned char)a[i]) != fold((unsigned char)b[i]))
			return false;
	return b[n] == '\0';
}

/* ---- request decoding ------------------------------------------------- */

struct ctx {
	struct ng_request *req;
	char *err;
	size_t errlen;
};

/* A value: a tree node (from the dictionary) or a plain string (the value
 * part of a key=value word in "flags"). Exactly one is set. */
struct val {
	const struct bval *b;
	const char *s;
};

static int fail(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct ctx *c, const char *fmt, ...)
{
	if (c->err && c->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->err, c->errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int list_add(struct ctx *c, struct ng_strlist *l, const char *s, const char *what)
{
	if (l->n >= NG_MAX_LIST)
		return fail(c, "too many entries in %s", what);
	l->v[l->n++] = s;
	return 0;
}

static void other_add(struct ctx *c, const char *word)
{
	struct ng_strlist *l = &c->req->other_flags;
	if (l->n < NG_MAX_LIST)
		l->v[l->n++] = word;
}

/* Decimal integer, optional sign, nothing else. */
static int parse_num(const char *s, long long *out)
{
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

static const char *val_str(struct val v)
{
	return v.s ? v.s : bval_as_str(v.b, NULL);
}

typedef int word_fn(struct ctx *c, const char *word, const char *what);

/* Calls fn for each string of v: a list of strings or a single string. */
static int each_word(struct ctx *c, struct val v, const char *what, word_fn *fn)
{
	const char *s = val_str(v);
	if (s)
		return fn(c, s, what);
	if (bval_type(v.b) != BVAL_LIST)
		return fail(c, "'%s' is not a list of strings", what);
	for (size_t i = 0; i < bval_count(v.b); i++) {
		s = bval_as_str(bval_at(v.b, i), NULL);
		if (!s)
			return fail(c, "'%s' is not a list of strings", what);
		int r = fn(c, s, what);
		if (r < 0)
			return r;
	}
	return 0;
}

struct word_bit {
	const char *word;
	unsigned bit;
};

static const struct word_bit flag_words[] = {
	{ "trust address",          NG_F_TRUST_ADDRESS },
	{ "SIP source address",     NG_F_SIP_SOURCE_ADDRESS },
	{ "strict source",          NG_F_STRICT_SOURCE },
	{ "port latching",          NG_F_PORT_LATCHING },
	{ "no port latching",       NG_F_NO_PORT_LATCHING },
	{ "always transcode",       NG_F_ALWAYS_TRANSCODE },
	{ "symmetric codecs",       NG_F_SYMMETRIC_CODECS },
	{ "asymmetric codecs",      NG_F_ASYMMETRIC_CODECS },
	{ "record call",            NG_F_RECORD_CALL },
	{ "fatal",                  NG_F_FATAL },
	{ "no rtcp attribute",      NG_F_NO_RTCP_ATTRIBUTE },
	{ "full rtcp attribute",    NG_F_FULL_RTCP_ATTRIBUTE },
	{ "loop protect",           NG_F_LOOP_PROTECT },
	{ "media handover",         NG_F_MEDIA_HANDOVER },
	{ "original sendrecv",      NG_F_ORIGINAL_SENDRECV },
	{ "asymmetric",             NG_F_ASYMMETRIC },
	{ "unidirectional",         NG_F_UNIDIRECTIONAL },
	{ "reset",                  NG_F_RESET },
	{ "all",                    NG_F_ALL },
	{ "single codec",           NG_F_SINGLE_CODEC },
	{ "no codec renegotiation", NG_F_NO_CODEC_RENEGOTIATION },
	{ "allow transcoding",      NG_F_ALLOW_TRANSCODING },
	{ "pierce NAT",             NG_F_PIERCE_NAT },
	{ "strip extmap",           NG_F_STRIP_EXTMAP },
	{ "generate mid",           NG_F_GENERATE_MID },
	{ NULL, 0 }
};

static const struct word_bit replace_words[] = {
	{ "origin",                  NG_REPLACE_ORIGIN },
	{ "session connection",      NG_REPLACE_SESSION_CONNECTION },
	{ "sdp version",             NG_REPLACE_SDP_VERSION },
	{ "username",                NG_REPLACE_USERNAME },
	{ "session name",            NG_REPLACE_SESSION_NAME },
	{ "zero address",            NG_REPLACE_ZERO_ADDRESS },
	{ "force increment sdp ver", NG_REPLACE_FORCE_INCREMENT_SDP_VER },
	{ NULL, 0 }
};

static const struct word_bit rtcpmux_words[] = {
	{ "offer",   NG_RTCPMUX_OFFER },
	{ "accept",  NG_RTCPMUX_ACCEPT },
	{ "demux",   NG_RTCPMUX_DEMUX },
	{ "reject",  NG_RTCPMUX_REJECT },
	{ "require", NG_RTCPMUX_REQUIRE },
	{ NULL, 0 }
};

static unsigned word_bit(const struct word_bit *t, const char *word)
{
	for (; t->word; t++)
		if (bval_key_loose_eq(word, t->word))
			return t->bit;
	return 0;
}

/* The codec operations, in the "codec" dictionary and as codec-<op>-X. */
static const struct {
	const char *op;
	const char *what;
	size_t off;
} codec_ops[] = {
	{ "strip",     "codec.strip",     offsetof(struct ng_request, codec.strip) },
	{ "mask",      "codec.mask",      offsetof(struct ng_request, codec.mask) },
	{ "transcode", "codec.transcode", offsetof(struct ng_request, codec.transcode) },
	{ "offer",     "codec.offer",     offsetof(struct ng_request, codec.offer) },
	{ "except",    "codec.except",    offsetof(struct ng_request, codec.except) },
	{ "accept",    "codec.accept",    offsetof(struct ng_request, codec.accept) },
	{ "consume",   "codec.consume",   offsetof(struct ng_request, codec.consume) },
	{ "set",       "codec.set",       offsetof(struct ng_request, codec.set) },
};
#define N_CODEC_OPS (sizeof(codec_ops) / sizeof(codec_ops[0]))

static struct ng_strlist *codec_list(struct ng_request *req, size_t i)
{
	return (struct ng_strlist *)((char *)req + codec_ops[i].off);
}

/* what is one of codec_ops[].what (the pointer, not just the text). */
static int w_codec(struct ctx *c, const char *word, const char *what)
{
	for (size_t i = 0; i < N_CODEC_OPS; i++)
		if (codec_ops[i].what == what)
			return list_add(c, codec_list(c->req, i), word, what);
	return 0;
}

static int w_replace(struct ctx *c, const char *word, const char *what)
{
	unsigned bit = word_bit(replace_words, word);
	if (bit)
		c->req->replace |= bit;
	else
		other_add(c, word);
	return 0;
}

static int w_rtcpmux(struct ctx *c, const char *word, const char *what)
{
	unsigned bit = word_bit(rtcpmux_words, word);
	if (bit)
		c->req->rtcp_mux |= bit;
	else
		other_add(c, word);
	return 0;
}

static int w_supports(struct ctx *c, const char *word, const char *what)
{
	if (bval_key_loose_eq(word, "load limit"))
		c->req->supports_load_limit = true;
	return 0;
}

static int w_direction(struct ctx *c, const char *word, const char *what)
{
	return list_add(c, &c->req->direction, word, "direction");
}

static int w_sdes(struct ctx *c, const char *word, const char *what)
{
	return list_add(c, &c->req->sdes, word, "SDES");
}

static void set_ice(struct ng_request *req, const char *s)
{
	if (bval_key_loose_eq(s, "remove"))
		req->ice = NG_ICE_REMOVE;
	else if (bval_key_loose_eq(s, "force"))
		req->ice = NG_ICE_FORCE;
	else if (bval_key_loose_eq(s, "default"))
		req->ice = NG_ICE_DEFAULT;
	else
		req->ice = NG_ICE_OTHER;
	if (req->ice == NG_ICE_REMOVE)
		req->flags |= NG_F_ICE_REMOVE;
	else
		req->flags &= ~(unsigned)NG_F_ICE_REMOVE;
}

/* ---- the key table ---------------------------------------------------- */

enum kind {
	K_COMMAND, K_STR, K_NUM, K_SDP, K_RECEIVED_FROM, K_SUPPORTS, K_FLAGS,
	K_REPLACE, K_RTCPMUX, K_ICE, K_DIRECTION, K_SDES, K_CODEC,
};

struct key_def {
	const char *name;
	enum kind kind;
	size_t off;                 /* K_STR, K_NUM: the field */
	bool dict_only;             /* not accepted as key=value in "flags" */
	long min, max;              /* K_NUM */
};

#define FIELD(f) offsetof(struct ng_request, f)

static const struct key_def keys[] = {
	{ "command",            K_COMMAND,       0, true, 0, 0 },
	{ "call-id",            K_STR,           FIELD(call_id), false, 0, 0 },
	{ "from-tag",           K_STR,           FIELD(from_tag), false, 0, 0 },
	{ "to-tag",             K_STR,           FIELD(to_tag), false, 0, 0 },
	{ "via-branch",         K_STR,           FIELD(via_branch), false, 0, 0 },
	{ "label",              K_STR,           FIELD(label), false, 0, 0 },
	{ "transport-protocol", K_STR,           FIELD(transport_protocol), false, 0, 0 },
	{ "media-address",      K_STR,           FIELD(media_address), false, 0, 0 },
	{ "address-family",     K_STR,           FIELD(address_family), false, 0, 0 },
	{ "sdp",                K_SDP,           0, true, 0, 0 },
	{ "received-from",      K_RECEIVED_FROM, 0, true, 0, 0 },
	{ "supports",           K_SUPPORTS,      0, false, 0, 0 },
	{ "flags",              K_FLAGS,         0, true, 0, 0 },
	{ "replace",            K_REPLACE,       0, false, 0, 0 },
	{ "rtcp-mux",           K_RTCPMUX,       0, false, 0, 0 },
	{ "ICE",                K_ICE,           0, false, 0, 0 },
	{ "direction",          K_DIRECTION,     0, false, 0, 0 },
	{ "SDES",               K_SDES,          0, false, 0, 0 },
	{ "codec",              K_CODEC,         0, true, 0, 0 },
	{ "ptime",              K_NUM,           FIELD(ptime), false, 0, 1000 },
	{ "TOS",                K_NUM,           FIELD(tos), false, 0, 255 },
	{ "delete-delay",       K_NUM,           FIELD(delete_delay), false, 0, 86400 },
	{ NULL, 0, 0, false, 0, 0 }
};

static int apply(struct ctx *c, const struct key_def *k, struct val v);

static int w_flag(struct ctx *c, const char *word, const char *what)
{
	struct ng_request *req = c->req;
	const char *rest, *eq = strchr(word, '=');

	if (eq) {
		for (const struct key_def *k = keys; k->name; k++)
			if (!k->dict_only && loose_eqn(word, (size_t)(eq - word), k->name))
				return apply(c, k, (struct val){ .s = eq + 1 });
		other_add(c, word);
		return 0;
	}
	if ((rest = loose_prefix(word, "codec-"))) {
		for (size_t i = 0; i < N_CODEC_OPS; i++) {
			const char *name = loose_prefix(rest, codec_ops[i].op);
			if (name && fold((unsigned char)*name) == ' ' && name[1])
				return list_add(c, codec_list(req, i), name + 1,
						codec_ops[i].what);
		}
		other_add(c, word);
		return 0;
	}
	if ((rest = loose_prefix(word, "transcode-")) && *rest)
		return list_add(c, &req->codec.transcode, rest, "codec.transcode");
	if ((rest = loose_prefix(word, "replace-"))) {
		unsigned bit = word_bit(replace_words, rest);
		if (bit)
			req->replace |= bit;
		else
			other_add(c, word);
		return 0;
	}
	if ((rest = loose_prefix(word, "rtcp-mux-"))) {
		unsigned bit = word_bit(rtcpmux_words, rest);
		if (bit)
			req->rtcp_mux |= bit;
		else
			other_add(c, word);
		return 0;
	}
	if ((rest = loose_prefix(word, "SDES-")) && *rest)
		return list_add(c, &req->sdes, rest, "SDES");
	if ((rest = loose_prefix(word, "ICE-")) && *rest) {
		set_ice(req, rest);
		return 0;
	}
	if (strncmp(word, "RTP/", 4) == 0 || strncmp(word, "UDP/TLS/RTP/", 12) == 0) {
		req->transport_protocol = word;
		return 0;
	}
	unsigned bit = word_bit(flag_words, word);
	if (bit)
		req->flags |= bit;
	else
		other_add(c, word);
	return 0;
}

static int codec_dict(struct ctx *c, const struct bval *d)
{
	if (!d || bval_type(d) != BVAL_DICT)
		return fail(c, "'codec' is not a dictionary");
	for (size_t i = 0; i < bval_count(d); i++) {
		const char *key = bval_key_at(d, i);
		for (size_t k = 0; k < N_CODEC_OPS; k++) {
			if (!bval_key_loose_eq(key, codec_ops[k].op))
				continue;
			int r = each_word(c, (struct val){ .b = bval_val_at(d, i) },
					  codec_ops[k].what, w_codec);
			if (r < 0)
				return r;
			break;
		}
	}
	return 0;
}

static int apply(struct ctx *c, const struct key_def *k, struct val v)
{
	struct ng_request *req = c->req;
	const char *s = val_str(v);
	long long n;

	switch (k->kind) {
	case K_COMMAND:
		if (!s)
			return fail(c, "'%s' is not a string", k->name);
		req->command = s;
		req->cmd = ng_cmd_lookup(s);
		return 0;
	case K_STR:
		if (!s)
			return fail(c, "'%s' is not a string", k->name);
		*(const char **)((char *)req + k->off) = s;
		return 0;
	case K_SDP:
		if (!s)
			return fail(c, "'%s' is not a string", k->name);
		req->sdp = bval_as_str(v.b, &req->sdp_len);
		return 0;
	case K_NUM:
		if (v.s ? parse_num(v.s, &n) < 0 : bval_as_int(v.b, &n) < 0)
			return fail(c, "'%s' is not a number", k->name);
		if (n < k->min || n > k->max)
			return fail(c, "'%s' is out of range (%ld to %ld)",
				    k->name, k->min, k->max);
		*(long *)((char *)req + k->off) = (long)n;
		return 0;
	case K_RECEIVED_FROM:
		if (!v.b || bval_type(v.b) != BVAL_LIST || bval_count(v.b) != 2 ||
		    !bval_as_str(bval_at(v.b, 0), NULL) ||
		    !bval_as_str(bval_at(v.b, 1), NULL))
			return fail(c, "'%s' is not a list of two strings", k->name);
		req->received_from_family = bval_as_str(bval_at(v.b, 0), NULL);
		req->received_from_addr = bval_as_str(bval_at(v.b, 1), NULL);
		return 0;
	case K_ICE:
		if (!s)
			return fail(c, "'%s' is not a string", k->name);
		set_ice(req, s);
		return 0;
	case K_SUPPORTS:
		return each_word(c, v, k->name, w_supports);
	case K_FLAGS:
		return each_word(c, v, k->name, w_flag);
	case K_REPLACE:
		return each_word(c, v, k->name, w_replace);
	case K_RTCPMUX:
		return each_word(c, v, k->name, w_rtcpmux);
	case K_DIRECTION:
		return each_word(c, v, k->name, w_direction);
	case K_SDES:
		return each_word(c, v, k->name, w_sdes);
	case K_CODEC:
		return codec_dict(c, v.b);
	}
	return 0;
}

int ng_request_decode(const struct bval *dict, struct ng_request *req,
		      char *err, size_t errlen)
{
	struct ctx c = { .req = req, .err = err, .errlen = errlen };

	memset(req, 0, sizeof(*req));
	req->cmd = NG_CMD_UNKNOWN;
	req->ice = NG_ICE_DEFAULT;
	req->ptime = req->tos = req->delete_delay = -1;
	if (err && errlen)
		err[0] = '\0';
	if (!dict || bval_type(dict) != BVAL_DICT)
		return fail(&c, "the request is not a dictionary");

	for (size_t i = 0; i < bval_count(dict); i++) {
		const char *key = bval_key_at(dict, i);
		for (const struct key_def *k = keys; k->name; k++) {
			if (!bval_key_loose_eq(key, k->name))
				continue;
			int r = apply(&c, k, (struct val){ .b = bval_val_at(dict, i) });
			if (r < 0)
				return r;
			break;
		}
	}
	return 0;
}
