/* fmtp.c - codec parameters: defaults, reading a peer's a=fmtp, writing
 * ours.
 *
 * An fmtp value is a ';'-separated list of key=value pairs (RFC 7587 for
 * Opus, RFC 4856 for G.729), except telephone-event's, which is a list of
 * event numbers and ranges ("0-15,66"). Parsing works on a copy of the
 * caller's parameters and commits only if every known key had a valid
 * value, so a bad fmtp changes nothing.
 */
#include "codec_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void codec_params_default(const struct codec_desc *desc,
			  struct codec_params *p)
{
	memset(p, 0, sizeof(*p));
	if (!desc)
		return;
	p->pcm_rate = desc->pcm_rate;
	p->channels = 1;
	p->complexity = 5;
	p->annexb = true;
	p->maxplaybackrate = 48000;
	p->sprop_maxcapturerate = 48000;
	p->events = 0xFFFF;
}

int codec_pick_pcm_rate(const struct codec_desc *desc,
			const struct codec_params *p, int other_rate)
{
	if (!desc || !desc->ops)
		return 0;
	if (desc->id != CODEC_ID_OPUS)
		return desc->pcm_rate;
	int want = other_rate > 0 ? other_rate : 48000;
	if (p) {
		int peer = p->maxplaybackrate > p->sprop_maxcapturerate ?
			   p->maxplaybackrate : p->sprop_maxcapturerate;
		if (peer > 0 && peer < want)
			want = peer;
	}
	for (const int *r = desc->ops->pcm_rates; *r; r++)
		if (*r >= want)
			return *r;
	return 48000;
}

static int parse_uint(const char *s, size_t n, long max, long *out)
{
	long v = 0;
	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
		if (v > max)
			return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_bool01(const char *s, size_t n, bool *out)
{
	long v;
	if (parse_uint(s, n, 1, &v) < 0)
		return -EINVAL;
	*out = v == 1;
	return 0;
}

static bool key_is(const char *k, size_t kn, const char *name)
{
	return strlen(name) == kn && strncasecmp(k, name, kn) == 0;
}

static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/* "0-15,66" -> bits 0..31 of *mask; events above 31 are accepted, not kept */
static int parse_events(const char *s, uint32_t *mask)
{
	uint32_t m = 0;
	while (*s) {
		const char *end = strchr(s, ',');
		size_t n = end ? (size_t)(end - s) : strlen(s);
		const char *tok = s;
		trim(&tok, &n);
		const char *dash = memchr(tok, '-', n);
		long lo, hi;
		if (dash) {
			if (parse_uint(tok, (size_t)(dash - tok), 255, &lo) < 0 ||
			    parse_uint(dash + 1, n - (size_t)(dash - tok) - 1, 255,
				       &hi) < 0 || hi < lo)
				return -EINVAL;
		} else {
			if (parse_uint(tok, n, 255, &lo) < 0)
				return -EINVAL;
			hi = lo;
		}
		for (long e = lo; e <= hi && e < 32; e++)
			m |= 1u << e;
		s = end ? end + 1 : s + strlen(s);
	}
	*mask = m;
	return 0;
}

static int apply_pair(const struct codec_desc *desc, const char *k, size_t kn,
		      const char *v, size_t vn, struct codec_params *p)
{
	long n;
	if (key_is(k, kn, "ptime")) {
		if (parse_uint(v, vn, 1000, &n) < 0 || n == 0)
			return -EINVAL;
		p->ptime_ms = (int)n;
		return 0;
	}
	if (desc->id == CODEC_ID_G729) {
		if (key_is(k, kn, "annexb")) {
			if (vn == 3 && strncasecmp(v, "yes", 3) == 0)
				p->annexb = true;
			else if (vn == 2 && strncasecmp(v, "no", 2) == 0)
				p->annexb = false;
			else
				return -EINVAL;
		}
		return 0;
	}
	if (desc->id != CODEC_ID_OPUS)
		return 0;
	if (key_is(k, kn, "useinbandfec"))
		return parse_bool01(v, vn, &p->fec);
	if (key_is(k, kn, "usedtx"))
		return parse_bool01(v, vn, &p->dtx);
	if (key_is(k, kn, "cbr"))
		return parse_bool01(v, vn, &p->cbr);
	if (key_is(k, kn, "stereo"))
		return parse_bool01(v, vn, &p->stereo);
	if (key_is(k, kn, "sprop-stereo"))
		return parse_bool01(v, vn, &p->sprop_stereo);
	if (key_is(k, kn, "maxplaybackrate") ||
	    key_is(k, kn, "sprop-maxcapturerate")) {
		if (parse_uint(v, vn, 1000000, &n) < 0 || n == 0)
			return -EINVAL;
		if (kn == strlen("maxplaybackrate"))
			p->maxplaybackrate = (int)n;
		else
			p->sprop_maxcapturerate = (int)n;
		return 0;
	}
	if (key_is(k, kn, "maxaveragebitrate")) {
		if (parse_uint(v, vn, 10000000, &n) < 0 || n == 0)
			return -EINVAL;
		p->maxaveragebitrate = (int)n;
		return 0;
	}
	return 0;	/* minptime, maxptime, unknown keys */
}

int codec_params_from_fmtp(const struct codec_desc *desc, const char *fmtp,
			   struct codec_params *p)
{
	if (!desc || !p)
		return -EINVAL;
	if (!fmtp || !*fmtp)
		return 0;
	struct codec_params q = *p;
	if (desc->id == CODEC_ID_TELEPHONE_EVENT) {
		int rc = parse_events(fmtp, &q.events);
		if (rc < 0)
			return rc;
		*p = q;
		return 0;
	}
	const char *s = fmtp;
	while (*s) {
		const char *end = strchr(s, ';');
		size_t n = end ? (size_t)(end - s) : strlen(s);
		const char *tok = s;
		trim(&tok, &n);
		if (n) {
			const char *eq = memchr(tok, '=', n);
			if (eq) {
				const char *k = tok, *v = eq + 1;
				size_t kn = (size_t)(eq - tok);
				size_t vn = n - kn - 1;
				trim(&k, &kn);
				trim(&v, &vn);
				int rc = apply_pair(desc, k, kn, v, vn, &q);
				if (rc < 0)
					return rc;
			}
		}
		s = end ? end + 1 : s + strlen(s);
	}
	*p = q;
	return 0;
}

struct out {
	char *buf;
	size_t cap, len;
	bool overflow;
};

__attribute__((format(printf, 2, 3)))
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	size_t room = o->len < o->cap ? o->cap - o->len : 0;
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + (room ? o->len : 0), room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		o->overflow = true;
	else
		o->len += (size_t)n;
}

static void put_events(struct out *o, uint32_t mask)
{
	bool first = true;
	for (int e = 0; e < 32; e++) {
		if (!(mask & (1u << e)))
			continue;
		int last = e;
		while (last + 1 < 32 && (mask & (1u << (last + 1))))
			last++;
		if (last > e)
			put(o, "%s%d-%d", first ? "" : ",", e, last);
		else
			put(o, "%s%d", first ? "" : ",", e);
		first = false;
		e = last;
	}
}

int codec_fmtp_format(const struct codec_desc *desc,
		      const struct codec_params *p, char *buf, size_t cap)
{
	if (!desc || !p || (!buf && cap))
		return -EINVAL;
	struct out o = { buf, cap, 0, false };
	if (cap)
		buf[0] = '\0';
	switch (desc->id) {
	case CODEC_ID_OPUS:
		/* what we play and capture is what we run at; FEC from the
		 * peer always helps our decoder */
		if (p->pcm_rate && p->pcm_rate < 48000)
			put(&o, "maxplaybackrate=%d; sprop-maxcapturerate=%d; ",
			    p->pcm_rate, p->pcm_rate);
		if (p->channels == 2)
			put(&o, "stereo=1; sprop-stereo=1; ");
		if (p->dtx)
			put(&o, "usedtx=1; ");
		if (p->cbr)
			put(&o, "cbr=1; ");
		put(&o, "useinbandfec=1");
		break;
	case CODEC_ID_G729:
		if (!p->annexb)
			put(&o, "annexb=no");
		break;
	case CODEC_ID_TELEPHONE_EVENT:
		put_events(&o, p->events);
		break;
	default:
		break;
	}
	if (o.overflow)
		return -ENOSPC;
	return (int)o.len;
}
