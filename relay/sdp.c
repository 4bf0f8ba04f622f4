/* sdp.c - SDP parsing and rewriting; see sdp.h.
 *
 * Parsing works in one pass over a private copy of the body. The copy is cut
 * into lines (offset, length, kind, owning media section, payload type) and,
 * while doing so, each line the relay cares about fills struct sdp_media or
 * the session fields; every other line is only recorded. Rewriting walks the
 * recorded lines in order and decides for each: copy verbatim, replace, or
 * drop; lines with nothing to replace are added at fixed places (see sdp.h).
 * Because unknown lines are never reinterpreted, anything a relay does not
 * understand survives unchanged. The input is treated as hostile: all
 * scanning is bounded by len, sizes and counts are capped, token copies are
 * length-checked, and no recursion is used.
 */
#include "sdp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum line_kind {
	L_OTHER, L_VERSION, L_ORIGIN, L_SNAME, L_CONN, L_MEDIA,
	L_RTPMAP, L_FMTP, L_RTCP_FB, L_RTCP, L_RTCP_MUX, L_PTIME,
	L_CRYPTO, L_ICE, L_DIR,
};

struct sdp_line {
	uint32_t off;       /* into sdp_session.text */
	uint16_t len;       /* without the line end */
	uint8_t kind;       /* enum line_kind */
	int8_t media;       /* -1: session level */
	int16_t pt;         /* rtpmap/fmtp/rtcp-fb payload type, -1 for '*' */
};

struct sdp_session {
	char *text;
	struct sdp_line *lines;
	int nlines;
	struct sdp_media *media;   /* as many as the body has m= lines */
	int media_line[SDP_MAX_MEDIA];   /* index of each m= line in lines */
	int nmedia;
	char addr[64];
	int family;
	bool has_conn;
	enum sdp_dir dir;
	bool has_ice;
	bool has_fingerprint;
	char origin_addr[64];
	bool has_origin;
	uint16_t origin_net;  /* offset of the nettype field within the o= line */
	size_t alloc;         /* bytes of the allocation this session heads */
};

/* A view of bytes in the copy: never NUL-terminated on its own. */
struct tok {
	const char *p;
	size_t n;
};

/* ---- small helpers ---------------------------------------------------- */

static int fail(char *err, size_t errlen, int lineno, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int lineno, const char *fmt, ...)
{
	if (!err || !errlen)
		return -EINVAL;
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (lineno > 0)
		snprintf(err, errlen, "line %d: %s", lineno, msg);
	else
		snprintf(err, errlen, "%s", msg);
	/* quoted input may hold any byte; the reason goes into a bencode or
	 * JSON reply, so keep it printable ASCII */
	for (char *q = err; *q; q++)
		if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7f)
			*q = '?';
	return -EINVAL;
}

/* Error texts quote at most this many bytes of an offending token. */
#define QUOTE 40
#define Q(t) (int)((t).n > QUOTE ? QUOTE : (t).n), (t).p

static bool tok_eq(struct tok t, const char *s)
{
	size_t n = strlen(s);
	return t.n == n && memcmp(t.p, s, n) == 0;
}

/* Next token separated by spaces (runs of SP/TAB) from *p up to end. */
static bool tok_next(const char **p, const char *end, struct tok *t)
{
	const char *q = *p;
	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	if (q == end) {
		*p = q;
		return false;
	}
	t->p = q;
	while (q < end && *q != ' ' && *q != '\t')
		q++;
	t->n = (size_t)(q - t->p);
	*p = q;
	return true;
}

/* Splits t at the first c: head in t, rest (after c) in rest. */
static bool tok_split(struct tok *t, char c, struct tok *rest)
{
	const char *q = memchr(t->p, c, t->n);
	if (!q)
		return false;
	rest->p = q + 1;
	rest->n = t->n - (size_t)(q + 1 - t->p);
	t->n = (size_t)(q - t->p);
	return true;
}

/* Decimal number of 1..9 digits, no sign; -1 if t is not one or above max. */
static long tok_num(struct tok t, long max)
{
	if (t.n == 0 || t.n > 9)
		return -1;
	long v = 0;
	for (size_t i = 0; i < t.n; i++) {
		if (t.p[i] < '0' || t.p[i] > '9')
			return -1;
		v = v * 10 + (t.p[i] - '0');
	}
	return v > max ? -1 : v;
}

static bool tok_copy(struct tok t, char *dst, size_t size)
{
	if (t.n >= size)
		return false;
	memcpy(dst, t.p, t.n);
	dst[t.n] = '\0';
	return true;
}

/* Checks an IPv4/IPv6 literal of the given family and copies it. */
static bool addr_parse(struct tok t, int family, char *dst, size_t size)
{
	char tmp[64];
	unsigned char bin[16];
	if (!tok_copy(t, tmp, sizeof(tmp)) || inet_pton(family, tmp, bin) != 1)
		return false;
	return tok_copy(t, dst, size);
}

/* ---- static payload types (RFC 3551 tables 4 and 5) ---------------------- */

static const struct static_pt {
	int pt;
	const char *name;
	int clock;
	int channels;
} static_pts[] = {
	{ 0, "PCMU", 8000, 1 },   { 3, "GSM", 8000, 1 },    { 4, "G723", 8000, 1 },
	{ 5, "DVI4", 8000, 1 },   { 6, "DVI4", 16000, 1 },  { 7, "LPC", 8000, 1 },
	{ 8, "PCMA", 8000, 1 },   { 9, "G722", 8000, 1 },   { 10, "L16", 44100, 2 },
	{ 11, "L16", 44100, 1 },  { 12, "QCELP", 8000, 1 }, { 13, "CN", 8000, 1 },
	{ 14, "MPA", 90000, 0 },  { 15, "G728", 8000, 1 },  { 16, "DVI4", 11025, 1 },
	{ 17, "DVI4", 22050, 1 }, { 18, "G729", 8000, 1 },  { 25, "CelB", 90000, 0 },
	{ 26, "JPEG", 90000, 0 }, { 28, "nv", 90000, 0 },   { 31, "H261", 90000, 0 },
	{ 32, "MPV", 90000, 0 },  { 33, "MP2T", 90000, 0 }, { 34, "H263", 90000, 0 },
};

bool sdp_static_codec(int pt, struct sdp_codec *c)
{
	for (size_t i = 0; i < sizeof(static_pts) / sizeof(static_pts[0]); i++) {
		if (static_pts[i].pt != pt)
			continue;
		memset(c, 0, sizeof(*c));
		c->pt = pt;
		strcpy(c->name, static_pts[i].name);   /* the table's names are short */
		c->clock = static_pts[i].clock;
		c->channels = static_pts[i].channels;
		return true;
	}
	return false;
}

const char *sdp_dir_name(enum sdp_dir d)
{
	switch (d) {
	case SDP_SENDRECV: return "sendrecv";
	case SDP_SENDONLY: return "sendonly";
	case SDP_RECVONLY: return "recvonly";
	case SDP_INACTIVE: return "inactive";
	default: return "";
	}
}

static enum sdp_dir dir_from(struct tok name)
{
	if (tok_eq(name, "sendrecv")) return SDP_SENDRECV;
	if (tok_eq(name, "sendonly")) return SDP_SENDONLY;
	if (tok_eq(name, "recvonly")) return SDP_RECVONLY;
	if (tok_eq(name, "inactive")) return SDP_INACTIVE;
	return SDP_DIR_NONE;
}

static bool is_ice_attr(struct tok name)
{
	static const char *const names[] = {
		"ice-ufrag", "ice-pwd", "ice-options", "ice-lite", "ice-mismatch",
		"ice-pacing", "candidate", "remote-candidates", "end-of-candidates",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (tok_eq(name, names[i]))
			return true;
	return false;
}

/* ---- parsing ------------------------------------------------------------ */

/* Per-parse state that is not part of the result. */
struct parser {
	struct sdp_session *s;
	char *err;
	size_t errlen;
	int lineno;
	uint32_t seen_rtpmap[SDP_MAX_MEDIA];   /* bit i: codecs[i] had an a=rtpmap */
	uint32_t seen_fmtp[SDP_MAX_MEDIA];
	bool media_rtcp[SDP_MAX_MEDIA];
	int media_lineno[SDP_MAX_MEDIA];
	bool session_conn_seen;
};

#define PFAIL(ps, ...) fail((ps)->err, (ps)->errlen, (ps)->lineno, __VA_ARGS__)

/* "IN IP4 addr[/ttl[/n]]" (c=) or "IN IP4 addr" (a=rtcp tail). */
static int parse_conn(struct parser *ps, const char *what, const char **p,
	const char *end, char *addr, size_t size, int *family)
{
	struct tok net, type, a, ttl;
	if (!tok_next(p, end, &net))
		return PFAIL(ps, "%s has no network type", what);
	if (!tok_eq(net, "IN"))
		return PFAIL(ps, "%s network type '%.*s' is not IN", what, Q(net));
	if (!tok_next(p, end, &type))
		return PFAIL(ps, "%s has no address type", what);
	if (tok_eq(type, "IP4"))
		*family = AF_INET;
	else if (tok_eq(type, "IP6"))
		*family = AF_INET6;
	else
		return PFAIL(ps, "%s address type '%.*s' is not IP4 or IP6", what, Q(type));
	if (!tok_next(p, end, &a))
		return PFAIL(ps, "%s has no address", what);
	tok_split(&a, '/', &ttl);   /* multicast TTL / count: not relayed */
	if (!addr_parse(a, *family, addr, size))
		return PFAIL(ps, "%s address '%.*s' is not %s", what, Q(a),
			*family == AF_INET ? "IPv4" : "IPv6");
	return 0;
}

static int parse_origin(struct parser *ps, struct sdp_line *ln, struct tok v)
{
	struct sdp_session *s = ps->s;
	const char *p = v.p, *end = v.p + v.n;
	struct tok f[6];
	int n = 0;
	while (n < 6 && tok_next(&p, end, &f[n]))
		n++;
	if (n < 6)
		return PFAIL(ps, "o= line needs 6 fields (username sess-id "
			"sess-version nettype addrtype address), has %d", n);
	if (s->has_origin)
		return PFAIL(ps, "second o= line");
	s->has_origin = true;
	ln->kind = L_ORIGIN;
	s->origin_net = (uint16_t)(f[3].p - (s->text + ln->off));
	if (!tok_copy(f[5], s->origin_addr, sizeof(s->origin_addr)))
		return PFAIL(ps, "o= address '%.*s' is longer than 63 bytes", Q(f[5]));
	return 0;
}

/* Zeroes every field but the three arrays, whose entries are written before
 * they are counted (fmt, codecs, crypto): they are most of the ~13 KB. */
static void media_clear(struct sdp_media *m)
{
	const size_t fmt = offsetof(struct sdp_media, fmt);
	const size_t after_codecs = offsetof(struct sdp_media, codecs) + sizeof(m->codecs);
	const size_t crypto = offsetof(struct sdp_media, crypto);
	const size_t after_crypto = crypto + sizeof(m->crypto);
	_Static_assert(offsetof(struct sdp_media, fmt) + sizeof(((struct sdp_media *)0)->fmt) ==
		       offsetof(struct sdp_media, codecs), "fmt and codecs are adjacent");
	char *b = (char *)m;
	memset(b, 0, fmt);
	memset(b + after_codecs, 0, crypto - after_codecs);
	memset(b + after_crypto, 0, sizeof(*m) - after_crypto);
}

static int parse_media_line(struct parser *ps, struct tok v)
{
	struct sdp_session *s = ps->s;
	const char *p = v.p, *end = v.p + v.n;
	struct tok type, port, count, proto, fmt;
	if (s->nmedia >= SDP_MAX_MEDIA)
		return PFAIL(ps, "more than %d m= lines", SDP_MAX_MEDIA);
	int mi = s->nmedia;
	struct sdp_media *m = &s->media[mi];
	media_clear(m);
	ps->media_lineno[mi] = ps->lineno;

	if (!tok_next(&p, end, &type))
		return PFAIL(ps, "m= line has no media type");
	if (!tok_copy(type, m->type, sizeof(m->type)))
		return PFAIL(ps, "m= media type '%.*s' is longer than %zu bytes",
			Q(type), sizeof(m->type) - 1);
	if (!tok_next(&p, end, &port))
		return PFAIL(ps, "m= line has no port");
	m->num_ports = 1;
	if (tok_split(&port, '/', &count)) {
		long c = tok_num(count, 65535);
		if (c < 1)
			return PFAIL(ps, "m= port count '%.*s' is not a number 1-65535",
				Q(count));
		m->num_ports = (int)c;
	}
	long pv = tok_num(port, 65535);
	if (pv < 0)
		return PFAIL(ps, "m= port '%.*s' is not a number 0-65535", Q(port));
	m->port = (int)pv;
	if (!tok_next(&p, end, &proto))
		return PFAIL(ps, "m= line has no transport protocol");
	if (!tok_copy(proto, m->proto, sizeof(m->proto)))
		return PFAIL(ps, "m= transport protocol '%.*s' is longer than %zu bytes",
			Q(proto), sizeof(m->proto) - 1);
	bool rtp = strstr(m->proto, "RTP/") != NULL;
	while (tok_next(&p, end, &fmt)) {
		if (m->nfmt >= SDP_MAX_FMT)
			return PFAIL(ps, "m= line has more than %d formats", SDP_MAX_FMT);
		if (!tok_copy(fmt, m->fmt[m->nfmt], sizeof(m->fmt[0])))
			return PFAIL(ps, "m= format '%.*s' is longer than %zu bytes",
				Q(fmt), sizeof(m->fmt[0]) - 1);
		m->nfmt++;
		long pt = tok_num(fmt, 999999);
		if (pt < 0)
			continue;
		if (pt > 127) {
			if (rtp)
				return PFAIL(ps, "m= payload type %ld is not 0-127", pt);
			continue;
		}
		for (int i = 0; i < m->ncodecs; i++)
			if (m->codecs[i].pt == pt)
				return PFAIL(ps, "m= payload type %ld is listed twice", pt);
		struct sdp_codec *c = &m->codecs[m->ncodecs++];
		if (!sdp_static_codec((int)pt, c)) {
			memset(c, 0, sizeof(*c));
			c->pt = (int)pt;
		}
	}
	if (m->nfmt == 0)
		return PFAIL(ps, "m= line has no formats");
	s->nmedia++;
	return 0;
}

static struct sdp_codec *find_codec(struct sdp_media *m, long pt, int *idx)
{
	for (int i = 0; i < m->ncodecs; i++)
		if (m->codecs[i].pt == pt) {
			*idx = i;
			return &m->codecs[i];
		}
	return NULL;
}

/* Leading "<pt>" of an a=rtpmap/fmtp/rtcp-fb value, rest after it in *rest.
 * Returns the PT, -1 for '*', -2 when not numeric. */
static long attr_pt(struct tok v, struct tok *rest)
{
	const char *p = v.p, *end = v.p + v.n;
	struct tok t;
	if (!tok_next(&p, end, &t))
		return -2;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	rest->p = p;
	rest->n = (size_t)(end - p);
	if (tok_eq(t, "*"))
		return -1;
	long pt = tok_num(t, 999999);
	return pt < 0 ? -2 : pt;
}

/* ptime values may carry a fraction ("20.0"); it is cut off. */
static long parse_ms(struct tok v)
{
	struct tok frac;
	if (tok_split(&v, '.', &frac) && frac.n && tok_num(frac, 999999999) < 0)
		return -1;
	return tok_num(v, 100000);
}

static int parse_rtpmap(struct parser *ps, struct sdp_line *ln, int mi, struct tok v)
{
	struct sdp_media *m = &ps->s->media[mi];
	struct tok enc, clock, chans = { NULL, 0 };
	long pt = attr_pt(v, &enc);
	if (pt < 0 || pt > 127)
		return PFAIL(ps, "a=rtpmap payload type '%.*s' is not 0-127", Q(v));
	/* the encoding is a single token; anything after it is ignored */
	const char *p = enc.p, *end = enc.p + enc.n;
	if (!tok_next(&p, end, &enc))
		return PFAIL(ps, "a=rtpmap for payload type %ld has no encoding", pt);
	if (!tok_split(&enc, '/', &clock) || clock.n == 0)
		return PFAIL(ps, "a=rtpmap for payload type %ld has no clock rate", pt);
	bool has_chans = tok_split(&clock, '/', &chans);
	if (enc.n == 0)
		return PFAIL(ps, "a=rtpmap for payload type %ld has no encoding name", pt);
	long rate = tok_num(clock, 10000000);
	if (rate < 1)
		return PFAIL(ps, "a=rtpmap clock rate '%.*s' is not a number 1-10000000",
			Q(clock));
	long ch = 0;
	if (has_chans && (ch = tok_num(chans, 255)) < 1)
		return PFAIL(ps, "a=rtpmap channels '%.*s' is not a number 1-255", Q(chans));
	ln->kind = L_RTPMAP;
	ln->pt = (int16_t)pt;
	int idx;
	struct sdp_codec *c = find_codec(m, pt, &idx);
	if (!c)
		return 0;   /* a PT not in m=: kept as written, dropped on codec rewrite */
	if (ps->seen_rtpmap[mi] & (1u << idx))
		return PFAIL(ps, "second a=rtpmap for payload type %ld", pt);
	ps->seen_rtpmap[mi] |= 1u << idx;
	if (!tok_copy(enc, c->name, sizeof(c->name)))
		return PFAIL(ps, "a=rtpmap encoding name '%.*s' is longer than %zu bytes",
			Q(enc), sizeof(c->name) - 1);
	c->clock = (int)rate;
	c->channels = has_chans ? (int)ch : strcmp(m->type, "audio") == 0 ? 1 : 0;
	return 0;
}

static int parse_fmtp(struct parser *ps, struct sdp_line *ln, int mi, struct tok v)
{
	struct sdp_media *m = &ps->s->media[mi];
	struct tok params;
	long pt = attr_pt(v, &params);
	if (pt < 0 || pt > 127)
		return 0;   /* non-RTP format (e.g. SCTP): an ordinary line */
	ln->kind = L_FMTP;
	ln->pt = (int16_t)pt;
	int idx;
	struct sdp_codec *c = find_codec(m, pt, &idx);
	if (!c)
		return 0;
	if (ps->seen_fmtp[mi] & (1u << idx))
		return PFAIL(ps, "second a=fmtp for payload type %ld", pt);
	ps->seen_fmtp[mi] |= 1u << idx;
	if (!tok_copy(params, c->fmtp, sizeof(c->fmtp)))
		return PFAIL(ps, "a=fmtp for payload type %ld is longer than %zu bytes",
			pt, sizeof(c->fmtp) - 1);
	return 0;
}

static int parse_rtcp(struct parser *ps, int mi, struct tok v)
{
	struct sdp_media *m = &ps->s->media[mi];
	const char *p = v.p, *end = v.p + v.n;
	struct tok port;
	if (ps->media_rtcp[mi])
		return PFAIL(ps, "second a=rtcp line in the media section");
	ps->media_rtcp[mi] = true;
	if (!tok_next(&p, end, &port))
		return PFAIL(ps, "a=rtcp has no port");
	long pv = tok_num(port, 65535);
	if (pv < 1)
		return PFAIL(ps, "a=rtcp port '%.*s' is not a number 1-65535", Q(port));
	m->rtcp_port = (int)pv;
	const char *q = p;
	struct tok more;
	if (!tok_next(&q, end, &more))
		return 0;
	return parse_conn(ps, "a=rtcp", &p, end, m->rtcp_addr, sizeof(m->rtcp_addr),
		&m->rtcp_family);
}

static int parse_attr(struct parser *ps, struct sdp_line *ln, struct tok v)
{
	struct sdp_session *s = ps->s;
	int mi = ln->media;
	struct tok name = v, val = { v.p + v.n, 0 };
	tok_split(&name, ':', &val);

	if (is_ice_attr(name)) {
		ln->kind = L_ICE;
		bool signals = tok_eq(name, "ice-ufrag") || tok_eq(name, "ice-pwd") ||
			tok_eq(name, "candidate") || tok_eq(name, "ice-lite");
		if (signals && mi < 0)
			s->has_ice = true;
		else if (signals)
			s->media[mi].has_ice = true;
		return 0;
	}
	enum sdp_dir d = val.n == 0 && name.n == v.n ? dir_from(name) : SDP_DIR_NONE;
	if (d != SDP_DIR_NONE) {
		ln->kind = L_DIR;
		if (mi < 0)
			s->dir = d;
		else
			s->media[mi].dir = d;
		return 0;
	}
	if (tok_eq(name, "fingerprint")) {
		if (mi < 0)
			s->has_fingerprint = true;
		else
			s->media[mi].has_fingerprint = true;
		return 0;
	}
	if (mi < 0)
		return 0;   /* other session attributes are only kept */

	struct sdp_media *m = &s->media[mi];
	if (tok_eq(name, "rtpmap"))
		return parse_rtpmap(ps, ln, mi, val);
	if (tok_eq(name, "fmtp"))
		return parse_fmtp(ps, ln, mi, val);
	if (tok_eq(name, "rtcp-fb")) {
		struct tok rest;
		long pt = attr_pt(val, &rest);
		if (pt >= -1 && pt <= 127) {
			ln->kind = L_RTCP_FB;
			ln->pt = (int16_t)pt;
		}
		return 0;
	}
	if (tok_eq(name, "rtcp")) {
		ln->kind = L_RTCP;
		return parse_rtcp(ps, mi, val);
	}
	if (tok_eq(name, "rtcp-mux") && name.n == v.n) {
		ln->kind = L_RTCP_MUX;
		m->rtcp_mux = true;
		return 0;
	}
	if (tok_eq(name, "ptime") || tok_eq(name, "maxptime")) {
		long ms = parse_ms(val);
		if (ms < 0)
			return PFAIL(ps, "a=%.*s value '%.*s' is not a number", Q(name), Q(val));
		if (name.n == 5) {
			ln->kind = L_PTIME;
			m->ptime = (int)ms;
		} else {
			m->maxptime = (int)ms;
		}
		return 0;
	}
	if (tok_eq(name, "mid")) {
		if (!tok_copy(val, m->mid, sizeof(m->mid)))
			return PFAIL(ps, "a=mid value is longer than %zu bytes",
				sizeof(m->mid) - 1);
		return 0;
	}
	if (tok_eq(name, "crypto")) {
		ln->kind = L_CRYPTO;
		if (m->ncrypto >= SDP_MAX_CRYPTO)
			return PFAIL(ps, "more than %d a=crypto lines in the media section",
				SDP_MAX_CRYPTO);
		if (!tok_copy(val, m->crypto[m->ncrypto], sizeof(m->crypto[0])))
			return PFAIL(ps, "a=crypto value is longer than %zu bytes",
				sizeof(m->crypto[0]) - 1);
		m->ncrypto++;
		return 0;
	}
	return 0;
}

static int parse_line(struct parser *ps, struct sdp_line *ln)
{
	struct sdp_session *s = ps->s;
	const char *l = s->text + ln->off;
	struct tok v = { l + 2, (size_t)ln->len - 2 };
	switch (l[0]) {
	case 'v':
		ln->kind = L_VERSION;
		return 0;
	case 'o':
		if (ln->media >= 0)
			return 0;
		return parse_origin(ps, ln, v);
	case 's':
		if (ln->media < 0)
			ln->kind = L_SNAME;
		return 0;
	case 'c': {
		const char *p = v.p;
		ln->kind = L_CONN;
		if (ln->media < 0) {
			if (ps->session_conn_seen)
				return PFAIL(ps, "second session-level c= line");
			ps->session_conn_seen = true;
			s->has_conn = true;
			return parse_conn(ps, "c=", &p, v.p + v.n, s->addr, sizeof(s->addr),
				&s->family);
		}
		struct sdp_media *m = &s->media[ln->media];
		if (m->media_conn)
			return PFAIL(ps, "second c= line in the media section");
		m->media_conn = true;
		return parse_conn(ps, "c=", &p, v.p + v.n, m->addr, sizeof(m->addr),
			&m->family);
	}
	case 'm':
		ln->kind = L_MEDIA;
		s->media_line[s->nmedia] = (int)(ln - s->lines);
		ln->media = (int8_t)s->nmedia;
		return parse_media_line(ps, v);
	case 'a':
		return parse_attr(ps, ln, v);
	default:
		return 0;
	}
}

/* Cuts the copy into lines and checks bytes; fills s->lines (room for one
 * line per line end plus one). */
static int split_lines(struct parser *ps, size_t len)
{
	struct sdp_session *s = ps->s;
	const char *text = s->text;
	size_t pos = 0;
	int cur_media = -1;
	ps->lineno = 0;
	while (pos < len) {
		ps->lineno++;
		const char *start = text + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - start) : len - pos;
		pos += n + (nl ? 1 : 0);
		if (n && start[n - 1] == '\r')
			n--;
		if (n > SDP_MAX_LINE)
			return PFAIL(ps, "line is longer than %d bytes", SDP_MAX_LINE);
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)start[i];
			if (c == '\r')
				return PFAIL(ps, "CR inside the line at column %zu", i + 1);
			if (c == 0)
				return PFAIL(ps, "NUL byte at column %zu", i + 1);
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return PFAIL(ps, "control byte 0x%02x at column %zu", c, i + 1);
		}
		if (n == 0)
			continue;   /* empty lines carry nothing; not written back */
		if (n < 2 || start[1] != '=' || start[0] < 'a' || start[0] > 'z')
			return PFAIL(ps, "not a '<letter>=<value>' line: '%.*s'",
				(int)(n > QUOTE ? QUOTE : n), start);
		if (s->nlines == 0 && (start[0] != 'v' || n != 3 || start[2] != '0'))
			return PFAIL(ps, "SDP must start with v=0");
		if (start[0] == 'm') {
			if (s->nmedia >= SDP_MAX_MEDIA)
				return PFAIL(ps, "more than %d m= lines", SDP_MAX_MEDIA);
			cur_media = s->nmedia;
		}
		struct sdp_line *ln = &s->lines[s->nlines++];
		ln->off = (uint32_t)(start - text);
		ln->len = (uint16_t)n;
		ln->kind = L_OTHER;
		ln->media = (int8_t)cur_media;
		ln->pt = -1;
		int rc = parse_line(ps, ln);
		if (rc)
			return rc;
	}
	return 0;
}

static int finish(struct parser *ps)
{
	struct sdp_session *s = ps->s;
	if (s->nmedia == 0)
		return fail(ps->err, ps->errlen, 0, "no m= line");
	for (int i = 0; i < s->nmedia; i++) {
		struct sdp_media *m = &s->media[i];
		if (!m->media_conn && s->has_conn) {
			memcpy(m->addr, s->addr, sizeof(m->addr));
			m->family = s->family;
		} else if (!m->media_conn && m->port != 0) {
			return fail(ps->err, ps->errlen, ps->media_lineno[i],
				"m= section has no c= line and there is no session-level c=");
		}
		if (m->dir == SDP_DIR_NONE)
			m->dir = s->dir;
		if (s->has_ice)
			m->has_ice = true;
		if (s->has_fingerprint)
			m->has_fingerprint = true;
	}
	return 0;
}

/* Number of m= lines (at most SDP_MAX_MEDIA, at least 1) so that a session
 * holds only the sdp_media it needs (each is about 13 KB), and the number of
 * line ends. Counts exactly the lines split_lines() will take for m= lines. */
static size_t count_media(const char *text, size_t len, size_t *newlines)
{
	size_t n = 0, nl = 0;
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n')
			nl++;
		else if (text[i] == 'm' && i + 1 < len && (i == 0 || text[i - 1] == '\n') &&
			 text[i + 1] == '=' && n < SDP_MAX_MEDIA)
			n++;
	}
	*newlines = nl;
	return n ? n : 1;
}

static size_t align_up(size_t n) { return (n + 15) & ~(size_t)15; }

/* Parses into *io: its allocation when one is there and large enough,
 * else a new one (the old one freed). *io is the allocation afterwards,
 * whatever the result. */
static int parse_into(const char *text, size_t len, struct sdp_session **io,
	char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	if (len == 0)
		return fail(err, errlen, 0, "empty SDP");
	if (len > SDP_MAX_SIZE)
		return fail(err, errlen, 0, "SDP is %zu bytes, more than %d", len,
			SDP_MAX_SIZE);

	/* one allocation: the session, its media, its lines, the copy; only
	 * the session's own fields are zeroed here (media_clear() does each
	 * media as its m= line comes, split_lines() each line) */
	size_t nl, nmedia = count_media(text, len, &nl);
	size_t o_media = align_up(sizeof(struct sdp_session));
	size_t o_lines = o_media + align_up(nmedia * sizeof(struct sdp_media));
	size_t o_text = o_lines + align_up((nl + 1) * sizeof(struct sdp_line));
	size_t need = o_text + len + 1;
	char *mem = (char *)*io;
	if (!mem || (*io)->alloc < need) {
		free(mem);
		*io = NULL;
		/* room for a typical body more, so the next one fits too */
		size_t size = need < 8192 ? need + 2048 : need;
		mem = malloc(size);
		if (!mem)
			return -ENOMEM;
		*io = (struct sdp_session *)mem;
		(*io)->alloc = size;
	}
	struct sdp_session *s = (struct sdp_session *)mem;
	size_t alloc = s->alloc;
	memset(s, 0, sizeof(*s));
	s->alloc = alloc;
	s->media = (struct sdp_media *)(mem + o_media);
	s->lines = (struct sdp_line *)(mem + o_lines);
	s->text = mem + o_text;
	memcpy(s->text, text, len);
	s->text[len] = '\0';
	struct parser ps;
	memset(&ps, 0, sizeof(ps));
	ps.s = s;
	ps.err = err;
	ps.errlen = errlen;
	int rc = split_lines(&ps, len);
	if (rc == 0)
		rc = finish(&ps);
	return rc;
}

int sdp_parse(const char *text, size_t len, struct sdp_session **out,
	char *err, size_t errlen)
{
	struct sdp_session *s = NULL;
	int rc = parse_into(text, len, &s, err, errlen);
	if (rc) {
		sdp_free(s);
		s = NULL;
	}
	*out = s;
	return rc;
}

int sdp_parse_reuse(const char *text, size_t len, struct sdp_session **io,
	char *err, size_t errlen)
{
	return parse_into(text, len, io, err, errlen);
}

void sdp_free(struct sdp_session *s)
{
	free(s);   /* media, lines and text live in the same allocation */
}

int sdp_media_count(const struct sdp_session *s) { return s->nmedia; }

const struct sdp_media *sdp_media_get(const struct sdp_session *s, int i)
{
	return i >= 0 && i < s->nmedia ? &s->media[i] : NULL;
}

const char *sdp_session_addr(const struct sdp_session *s)
{
	return s->has_conn ? s->addr : NULL;
}

int sdp_session_family(const struct sdp_session *s) { return s->has_conn ? s->family : 0; }
enum sdp_dir sdp_session_dir(const struct sdp_session *s) { return s->dir; }
bool sdp_session_has_ice(const struct sdp_session *s) { return s->has_ice; }

const char *sdp_origin_addr(const struct sdp_session *s)
{
	return s->has_origin ? s->origin_addr : NULL;
}

/* ---- rewriting ---------------------------------------------------------- */

/* True when s is non-empty and has no byte below 0x21 or 0x7f (a token). */
static bool is_token(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* True when s has no control byte (TAB allowed) and is at most max bytes. */
static bool is_text(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);
	if (n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

static int check_media_rw(const struct sdp_media_rewrite *mr, int i,
	char *err, size_t errlen)
{
	if (mr->port < 0 || mr->port > 65535)
		return fail(err, errlen, 0, "media %d: port %d is not 0-65535", i, mr->port);
	if (mr->rtcp_port < 0 || mr->rtcp_port > 65535)
		return fail(err, errlen, 0, "media %d: rtcp port %d is not 0-65535", i,
			mr->rtcp_port);
	if (mr->proto && !is_token(mr->proto, 31))
		return fail(err, errlen, 0, "media %d: transport protocol is empty, too long "
			"or has a space or control byte", i);
	if (mr->ptime < 0 || mr->ptime > 100000)
		return fail(err, errlen, 0, "media %d: ptime %d is not 0-100000", i, mr->ptime);
	if ((unsigned)mr->dir > SDP_INACTIVE)
		return fail(err, errlen, 0, "media %d: bad direction %d", i, (int)mr->dir);
	if (mr->codecs) {
		if (mr->ncodecs < 1 || mr->ncodecs > SDP_MAX_FMT)
			return fail(err, errlen, 0, "media %d: codec count %d is not 1-%d", i,
				mr->ncodecs, SDP_MAX_FMT);
		for (int j = 0; j < mr->ncodecs; j++) {
			const struct sdp_codec *c = &mr->codecs[j];
			if (c->pt < 0 || c->pt > 127)
				return fail(err, errlen, 0, "media %d: codec payload type %d "
					"is not 0-127", i, c->pt);
			for (int k = 0; k < j; k++)
				if (mr->codecs[k].pt == c->pt)
					return fail(err, errlen, 0, "media %d: payload type %d "
						"listed twice", i, c->pt);
			if (c->name[0] && (!is_token(c->name, sizeof(c->name) - 1) ||
					strchr(c->name, '/')))
				return fail(err, errlen, 0, "media %d: codec name of payload "
					"type %d is not a token", i, c->pt);
			if (c->clock < 0 || c->channels < 0 || c->channels > 255)
				return fail(err, errlen, 0, "media %d: bad clock rate or "
					"channels for payload type %d", i, c->pt);
			if (!is_text(c->fmtp, sizeof(c->fmtp) - 1))
				return fail(err, errlen, 0, "media %d: fmtp of payload type %d "
					"has a control byte or is not terminated", i, c->pt);
		}
	}
	if (mr->nadd < 0 || (mr->nadd > 0 && !mr->add_attrs))
		return fail(err, errlen, 0, "media %d: bad extra attribute list", i);
	for (int j = 0; j < mr->nadd; j++)
		if (!mr->add_attrs[j] || !mr->add_attrs[j][0] ||
				!is_text(mr->add_attrs[j], SDP_MAX_LINE - 2))
			return fail(err, errlen, 0, "media %d: extra attribute %d is empty, "
				"too long or has a control byte", i, j);
	return 0;
}

static int check_rewrite(const struct sdp_session *s, const struct sdp_rewrite *rw,
	char *err, size_t errlen)
{
	unsigned char bin[16];
	if (!rw->addr || (rw->family != AF_INET && rw->family != AF_INET6) ||
			strlen(rw->addr) >= 64 || inet_pton(rw->family, rw->addr, bin) != 1)
		return fail(err, errlen, 0, "relay address '%.40s' is not %s",
			rw->addr ? rw->addr : "(none)",
			rw->family == AF_INET6 ? "IPv6" : "IPv4");
	if (rw->ndrop < 0 || (rw->ndrop > 0 && !rw->drop_attrs))
		return fail(err, errlen, 0, "bad drop_attrs list");
	for (int i = 0; i < rw->ndrop; i++)
		if (!rw->drop_attrs[i] || !is_token(rw->drop_attrs[i], SDP_MAX_LINE) ||
				strchr(rw->drop_attrs[i], ':'))
			return fail(err, errlen, 0, "drop_attrs entry %d is not an "
				"attribute name", i);
	if (rw->nmedia != s->nmedia || (rw->nmedia && !rw->media))
		return fail(err, errlen, 0, "rewrite has %d media entries, the SDP has %d",
			rw->nmedia, s->nmedia);
	for (int i = 0; i < rw->nmedia; i++) {
		int rc = check_media_rw(&rw->media[i], i, err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

static const char *ip_type(int family) { return family == AF_INET6 ? "IP6" : "IP4"; }

/* Appends the strings up to the NULL. The writers below build lines from
 * pieces: printf was most of the cost of a rewrite. */
static void put(struct rg_buf *out, ...)
{
	va_list ap;
	va_start(ap, out);
	for (const char *p = va_arg(ap, const char *); p; p = va_arg(ap, const char *))
		buf_puts(out, p);
	va_end(ap);
}
#define PUT(out, ...) put(out, __VA_ARGS__, (const char *)NULL)

static void put_int(struct rg_buf *out, long v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	unsigned long u = v < 0 ? 0ul - (unsigned long)v : (unsigned long)v;
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	buf_append(out, p, (size_t)(tmp + sizeof(tmp) - p));
}

static void put_conn(struct rg_buf *out, const struct sdp_rewrite *rw)
{
	PUT(out, "c=IN ", ip_type(rw->family), " ", rw->addr, "\r\n");
}

static void put_line(struct rg_buf *out, const struct sdp_session *s,
	const struct sdp_line *ln)
{
	buf_append(out, s->text + ln->off, ln->len);
	buf_append(out, "\r\n", 2);
}

static void put_codecs(struct rg_buf *out, const struct sdp_media_rewrite *mr)
{
	for (int i = 0; i < mr->ncodecs; i++) {
		const struct sdp_codec *c = &mr->codecs[i];
		if (c->name[0] && c->clock > 0) {
			buf_puts(out, "a=rtpmap:");
			put_int(out, c->pt);
			PUT(out, " ", c->name, "/");
			put_int(out, c->clock);
			if (c->channels > 1) {
				buf_putc(out, '/');
				put_int(out, c->channels);
			}
			buf_puts(out, "\r\n");
		}
		if (c->fmtp[0]) {
			buf_puts(out, "a=fmtp:");
			put_int(out, c->pt);
			PUT(out, " ", c->fmtp, "\r\n");
		}
	}
}

static void put_rtcp(struct rg_buf *out, const struct sdp_media *m,
	const struct sdp_media_rewrite *mr, const struct sdp_rewrite *rw)
{
	buf_puts(out, "a=rtcp:");
	put_int(out, mr->rtcp_port);
	if (m->rtcp_addr[0])
		PUT(out, " IN ", ip_type(rw->family), " ", rw->addr);
	buf_puts(out, "\r\n");
}

static void put_ptime(struct rg_buf *out, int ptime)
{
	buf_puts(out, "a=ptime:");
	put_int(out, ptime);
	buf_puts(out, "\r\n");
}

static void put_m_line(struct rg_buf *out, const struct sdp_media *m,
	const struct sdp_media_rewrite *mr)
{
	PUT(out, "m=", m->type, " ");
	put_int(out, mr->port);
	PUT(out, " ", mr->proto ? mr->proto : m->proto);
	if (mr->codecs) {
		for (int i = 0; i < mr->ncodecs; i++) {
			buf_putc(out, ' ');
			put_int(out, mr->codecs[i].pt);
		}
	} else {
		for (int i = 0; i < m->nfmt; i++)
			PUT(out, " ", m->fmt[i]);
	}
	buf_puts(out, "\r\n");
}

/* True for an a= line whose attribute name is in rw->drop_attrs. */
static bool dropped(const struct sdp_session *s, const struct sdp_rewrite *rw,
	const struct sdp_line *ln)
{
	const char *l = s->text + ln->off;
	if (l[0] != 'a' || rw->ndrop == 0)
		return false;
	struct tok name = { l + 2, (size_t)ln->len - 2 }, val;
	tok_split(&name, ':', &val);
	for (int i = 0; i < rw->ndrop; i++)
		if (tok_eq(name, rw->drop_attrs[i]))
			return true;
	return false;
}

static bool pt_listed(const struct sdp_media_rewrite *mr, int pt)
{
	for (int i = 0; i < mr->ncodecs; i++)
		if (mr->codecs[i].pt == pt)
			return true;
	return false;
}

/* Lines [first, end) of media section mi, the m= line being lines[first]. */
static void rewrite_media(const struct sdp_session *s, const struct sdp_rewrite *rw,
	int mi, int first, int end, struct rg_buf *out)
{
	const struct sdp_media *m = &s->media[mi];
	const struct sdp_media_rewrite *mr = &rw->media[mi];
	bool codecs_done = !mr->codecs, rtcp_done = mr->rtcp_port == 0;
	bool mux_done = !mr->rtcp_mux, ptime_done = mr->ptime == 0;
	bool dir_done = mr->dir == SDP_DIR_NONE;
	/* a stream brought back from port 0 that had no c= anywhere gets one */
	bool conn_done = m->media_conn || s->has_conn || mr->port == 0;

	put_m_line(out, m, mr);
	for (int i = first + 1; i < end; i++) {
		const struct sdp_line *ln = &s->lines[i];
		if (dropped(s, rw, ln))
			continue;
		if (!conn_done && s->text[ln->off] != 'i') {
			put_conn(out, rw);
			conn_done = true;
		}
		if (!codecs_done && s->text[ln->off] == 'a') {
			put_codecs(out, mr);
			codecs_done = true;
		}
		switch (ln->kind) {
		case L_CONN:
			put_conn(out, rw);
			continue;
		case L_RTPMAP:
		case L_FMTP:
			if (!mr->codecs)
				break;
			continue;
		case L_RTCP_FB:
			if (mr->codecs && ln->pt >= 0 && !pt_listed(mr, ln->pt))
				continue;
			break;
		case L_RTCP:
			if (!rtcp_done)
				put_rtcp(out, m, mr, rw);
			rtcp_done = true;
			continue;
		case L_RTCP_MUX:
			if (!mux_done)
				buf_puts(out, "a=rtcp-mux\r\n");
			mux_done = true;
			continue;
		case L_PTIME:
			if (mr->ptime == 0)
				break;
			if (!ptime_done)
				put_ptime(out, mr->ptime);
			ptime_done = true;
			continue;
		case L_CRYPTO:
			if (mr->drop_crypto)
				continue;
			break;
		case L_ICE:
			if (rw->ice_remove)
				continue;
			break;
		case L_DIR:
			if (mr->dir == SDP_DIR_NONE)
				break;
			if (!dir_done)
				PUT(out, "a=", sdp_dir_name(mr->dir), "\r\n");
			dir_done = true;
			continue;
		default:
			break;
		}
		put_line(out, s, ln);
	}
	if (!conn_done)
		put_conn(out, rw);
	if (!codecs_done)
		put_codecs(out, mr);
	if (!rtcp_done)
		put_rtcp(out, m, mr, rw);
	if (!mux_done)
		buf_puts(out, "a=rtcp-mux\r\n");
	if (!ptime_done)
		put_ptime(out, mr->ptime);
	if (!dir_done)
		PUT(out, "a=", sdp_dir_name(mr->dir), "\r\n");
	for (int i = 0; i < mr->nadd; i++)
		PUT(out, "a=", mr->add_attrs[i], "\r\n");
}

int sdp_rewrite(const struct sdp_session *s, const struct sdp_rewrite *rw,
	struct rg_buf *out, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	int rc = check_rewrite(s, rw, err, errlen);
	if (rc)
		return rc;

	int i = 0;
	for (; i < s->nlines && s->lines[i].media < 0; i++) {
		const struct sdp_line *ln = &s->lines[i];
		if (dropped(s, rw, ln))
			continue;
		switch (ln->kind) {
		case L_ORIGIN:
			if (!rw->replace_origin)
				break;
			buf_append(out, s->text + ln->off, s->origin_net);
			PUT(out, "IN ", ip_type(rw->family), " ", rw->addr, "\r\n");
			continue;
		case L_SNAME:
			if (!rw->replace_session_name)
				break;
			buf_puts(out, "s=rtpgate\r\n");
			continue;
		case L_CONN:
			put_conn(out, rw);
			continue;
		case L_ICE:
			if (rw->ice_remove)
				continue;
			break;
		default:
			break;
		}
		put_line(out, s, ln);
	}
	for (int mi = 0; mi < s->nmedia; mi++) {
		int first = s->media_line[mi];
		int end = mi + 1 < s->nmedia ? s->media_line[mi + 1] : s->nlines;
		rewrite_media(s, rw, mi, first, end, out);
	}
	return buf_ok(out) ? 0 : -ENOMEM;
}
