/* rtpp_parse.c - the rtpproxy command parser and the capability table;
 * see rtpp.h. Pure: no I/O, no state, no daemon, so the fuzzer (and any
 * thread) can call it. A command is copied into the caller's struct
 * rtpp_cmd, checked byte by byte (no control characters), split into at
 * most RTPP_MAX_ARGS words and read into fields; every number is range
 * checked before use, and every error names what was wrong.
 */
#include "rtpp.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr.h"

static const char *const op_names[RTPP_OP__COUNT] = {
	[RTPP_V] = "V", [RTPP_VF] = "VF", [RTPP_U] = "U", [RTPP_L] = "L",
	[RTPP_D] = "D", [RTPP_Q] = "Q", [RTPP_I] = "I", [RTPP_X] = "X",
};

const char *rtpp_op_name(enum rtpp_op op)
{
	return (unsigned)op < RTPP_OP__COUNT ? op_names[op] : "?";
}

/* The capability dates Kamailio's and OpenSIPS's modules ask about and
 * whether we have them. Anything not listed is answered 0. */
static const struct { const char *date; bool have; } caps[] = {
	{ "20040107", true },   /* basic U/L/D */
	{ "20050322", true },   /* several media per call (tags ";N") */
	{ "20060704", true },   /* VF itself */
	{ "20071116", false },  /* re-packetisation: Z is taken as ptime only */
	{ "20071218", false },  /* copying/recording streams */
	{ "20080403", true },   /* Q statistics */
	{ "20081102", true },   /* C: allowed payload types in U/L */
	{ "20081224", false },  /* session timeout notifications */
	{ "20090810", false },  /* automatic IPv4/IPv6 bridging */
};

bool rtpp_has_capability(const char *date)
{
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		if (!strcmp(caps[i].date, date))
			return caps[i].have;
	return false;
}

/* ---- parser ------------------------------------------------------------ */

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -code;
}

/* A decimal number of at most maxdig digits in [lo, hi]; -1 otherwise. */
static long parse_num(const char *s, size_t n, long lo, long hi)
{
	if (!n || n > 9)
		return -1;
	long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= lo && v <= hi ? v : -1;
}

/* "tag;N": cuts ";N" off in place and returns N (1 without it), or -1. */
static int split_medianum(char *tag)
{
	char *semi = strrchr(tag, ';');
	if (!semi)
		return 1;
	long n = parse_num(semi + 1, strlen(semi + 1), 1, RTPP_MAX_MEDIA);
	if (n < 0)
		return -1;
	*semi = '\0';
	return (int)n;
}

static int parse_mods(const char *m, struct rtpp_cmd *c, char *err, size_t errlen)
{
	int ndir = 0;
	while (*m) {
		char ch = (char)(*m >= 'A' && *m <= 'Z' ? *m + 32 : *m);
		m++;
		switch (ch) {
		case 'a':
			c->asymmetric = true;
			break;
		case 's':
		case 'w':
			c->asymmetric = false;
			break;
		case 'i':
		case 'e':
			if (ndir == 2)
				return fail(err, errlen, 1, "more than two i/e modifiers");
			c->dir[ndir++] = ch;
			break;
		case '6':
			c->ipv6 = true;
			break;
		case 'z': {
			size_t n = strspn(m, "0123456789");
			long v = parse_num(m, n, 1, 1000);
			if (v < 0)
				return fail(err, errlen, 1, "modifier z needs a packet time 1..1000 ms");
			c->ptime = (int)v;
			m += n;
			break;
		}
		case 'c': {
			c->npts = 0;
			for (;;) {
				size_t n = strspn(m, "0123456789");
				long v = parse_num(m, n, 0, 127);
				if (v < 0)
					return fail(err, errlen, 1, "modifier c needs payload types 0..127 separated by ','");
				if (c->npts == RTPP_MAX_PTS)
					return fail(err, errlen, 1, "modifier c: more than %d payload types", RTPP_MAX_PTS);
				c->pts[c->npts++] = (int)v;
				m += n;
				if (*m != ',')
					break;
				m++;
			}
			break;
		}
		default:
			return fail(err, errlen, 1, "unsupported modifier '%c'",
				    ch > ' ' && ch < 127 ? ch : '?');
		}
	}
	return 0;
}

int rtpp_parse(const char *text, size_t len, struct rtpp_cmd *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	c->medianum = 1;
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' ' ||
		       text[len - 1] == '\t'))
		len--;
	if (!len)
		return fail(err, errlen, 1, "empty command");
	if (len > RTPP_MAX_LINE)
		return fail(err, errlen, 1, "command longer than %d bytes", RTPP_MAX_LINE);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return fail(err, errlen, 1, "control character at byte %zu", i);
	}
	memcpy(c->line, text, len);
	c->line[len] = '\0';

	char *argv[RTPP_MAX_ARGS];
	int argc = 0;
	char *save = NULL;
	for (char *t = strtok_r(c->line, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (argc == RTPP_MAX_ARGS)
			return fail(err, errlen, 1, "more than %d words", RTPP_MAX_ARGS);
		argv[argc++] = t;
	}
	if (!argc)
		return fail(err, errlen, 1, "empty command");
	const char *w = argv[0];
	char op = (char)(w[0] >= 'a' && w[0] <= 'z' ? w[0] - 32 : w[0]);
	const char *mods = w + 1;
	switch (op) {
	case 'V':
		if (!strcasecmp(w, "VF")) {
			if (argc != 2)
				return fail(err, errlen, 1, "VF needs one capability date");
			c->op = RTPP_VF;
			c->date = argv[1];
			return 0;
		}
		if (mods[0])
			return fail(err, errlen, 2, "unknown command '%.16s'", w);
		c->op = RTPP_V;
		return 0;
	case 'I':
		if (mods[0] && strcasecmp(mods, "b"))
			return fail(err, errlen, 1, "unsupported modifier for I");
		c->op = RTPP_I;
		return 0;
	case 'X':
		if (mods[0])
			return fail(err, errlen, 1, "X takes no modifier");
		c->op = RTPP_X;
		return 0;
	case 'D':
	case 'Q':
		c->op = op == 'D' ? RTPP_D : RTPP_Q;
		/* rtpproxy knows D w (weak) and Q v (verbose): accepted, no effect */
		if (mods[0] && strcasecmp(mods, op == 'D' ? "w" : "v"))
			return fail(err, errlen, 1, "unsupported modifier for %c", op);
		if (argc < 3 || argc > 4)
			return fail(err, errlen, 1, "%c needs CALLID FROMTAG [TOTAG]", op);
		c->call_id = argv[1];
		if (strlen(c->call_id) > RTPP_MAX_CALLID)
			return fail(err, errlen, 1, "call-id longer than %d bytes", RTPP_MAX_CALLID);
		c->from_tag = argv[2];
		c->to_tag = argc > 3 ? argv[3] : NULL;
		split_medianum(argv[2]);
		if (argc > 3)
			split_medianum(argv[3]);
		return 0;
	case 'U':
	case 'L': {
		c->op = op == 'U' ? RTPP_U : RTPP_L;
		int r = parse_mods(mods, c, err, errlen);
		if (r < 0)
			return r;
		if (argc < (op == 'U' ? 5 : 6))
			return fail(err, errlen, 1, "%c needs CALLID ADDR PORT FROMTAG%s", op,
				    op == 'U' ? " [TOTAG]" : " TOTAG");
		c->call_id = argv[1];
		if (strlen(c->call_id) > RTPP_MAX_CALLID)
			return fail(err, errlen, 1, "call-id longer than %d bytes", RTPP_MAX_CALLID);
		c->addr = argv[2];
		c->from_tag = argv[4];
		c->to_tag = argc > 5 ? argv[5] : NULL;
		long port = parse_num(argv[3], strlen(argv[3]), 0, 65535);
		if (port < 0)
			return fail(err, errlen, 3, "port '%.16s' is not 0..65535", argv[3]);
		c->port = (int)port;
		union rg_addr a;
		if (addr_parse(&a, c->addr, 0) < 0)
			return fail(err, errlen, 3, "'%.64s' is not an IP address", c->addr);
		if (a.sa.sa_family == AF_INET6)
			c->ipv6 = true;
		else if (c->ipv6)
			return fail(err, errlen, 3, "modifier 6 with IPv4 address '%.64s'", c->addr);
		int n1 = split_medianum(argv[4]);
		int n2 = c->to_tag ? split_medianum(argv[5]) : n1;
		if (n1 < 0 || n2 < 0)
			return fail(err, errlen, 1, "media number after ';' is not 1..%d", RTPP_MAX_MEDIA);
		if (n1 != n2)
			return fail(err, errlen, 1, "the two tags name media %d and %d", n1, n2);
		c->medianum = n1;
		if (!c->from_tag[0] || (c->to_tag && !c->to_tag[0]))
			return fail(err, errlen, 1, "empty tag");
		return 0;
	}
	default:
		return fail(err, errlen, 2, "unknown command '%.16s'", w);
	}
}

