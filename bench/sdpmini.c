/* sdpmini.c - writing and skimming the SDP of a load-test call.
 *
 * The tool is not an SDP parser: it writes a fixed shape (one session, one
 * audio m= line, rtpmap per codec) and reads back only what it needs to
 * route packets. Lines end in CRLF on output; input accepts LF or CRLF.
 */
#include "sdpmini.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void sdpmini_write(struct rg_buf *b, uint64_t sess_id, uint16_t port,
		   const struct sdpmini_offer *codecs, int ncodecs)
{
	buf_printf(b, "v=0\r\no=- %llu 1 IN IP4 127.0.0.1\r\ns=rtpgate-bench\r\n"
		   "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %u RTP/AVP",
		   (unsigned long long)sess_id, (unsigned)port);
	for (int i = 0; i < ncodecs; i++)
		buf_printf(b, " %d", codecs[i].pt);
	buf_puts(b, "\r\n");
	for (int i = 0; i < ncodecs; i++) {
		buf_printf(b, "a=rtpmap:%d %s\r\n", codecs[i].pt, codecs[i].rtpmap);
		if (codecs[i].fmtp)
			buf_printf(b, "a=fmtp:%d %s\r\n", codecs[i].pt, codecs[i].fmtp);
	}
	buf_puts(b, "a=ptime:20\r\na=sendrecv\r\n");
}

static struct sdpmini_codec *sdpmini_slot(struct sdpmini *out, int pt)
{
	for (int i = 0; i < out->npt; i++)
		if (out->pt[i].pt == pt)
			return &out->pt[i];
	if (out->npt >= SDPMINI_MAX_PT)
		return NULL;
	struct sdpmini_codec *c = &out->pt[out->npt++];
	memset(c, 0, sizeof(*c));
	c->pt = pt;
	return c;
}

int sdpmini_parse(const char *s, size_t len, struct sdpmini *out)
{
	memset(out, 0, sizeof(*out));
	char sess_addr[64] = "", media_addr[64] = "";
	int in_audio = 0, seen_audio = 0;
	const char *end = s + len;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
		char line[512];
		size_t m = n < sizeof(line) - 1 ? n : sizeof(line) - 1;
		memcpy(line, s, m);
		line[m] = 0;
		if (m && line[m - 1] == '\r')
			line[m - 1] = 0;
		s += n + (nl ? 1 : 0);

		if (!strncmp(line, "m=", 2)) {
			in_audio = 0;
			if (seen_audio || strncmp(line, "m=audio ", 8))
				continue;
			in_audio = seen_audio = 1;
			char *p = line + 8;
			out->port = (uint16_t)strtoul(p, &p, 10);
			p = strchr(p + 1, ' '); /* skip the protocol */
			while (p && *p) {
				char *q;
				long pt = strtol(p, &q, 10);
				if (q == p)
					break;
				sdpmini_slot(out, (int)pt);
				p = q;
			}
		} else if (!strncmp(line, "c=IN IP4 ", 9) || !strncmp(line, "c=IN IP6 ", 9)) {
			char *dst = in_audio ? media_addr : (seen_audio ? NULL : sess_addr);
			if (dst) {
				size_t al = strcspn(line + 9, "/ ");
				if (al > 63)
					al = 63;
				memcpy(dst, line + 9, al);
				dst[al] = 0;
			}
		} else if (in_audio && !strncmp(line, "a=rtpmap:", 9)) {
			char *p;
			long pt = strtol(line + 9, &p, 10);
			struct sdpmini_codec *c = sdpmini_slot(out, (int)pt);
			if (!c || *p != ' ')
				continue;
			p++;
			char *sl = strchr(p, '/');
			size_t nl2 = sl ? (size_t)(sl - p) : strlen(p);
			if (nl2 >= sizeof(c->name))
				nl2 = sizeof(c->name) - 1;
			memcpy(c->name, p, nl2);
			c->name[nl2] = 0;
			c->clock = sl ? (unsigned)strtoul(sl + 1, NULL, 10) : 0;
		}
	}
	snprintf(out->addr, sizeof(out->addr), "%s", media_addr[0] ? media_addr : sess_addr);
	if (!seen_audio || !out->addr[0])
		return -EINVAL;
	return 0;
}

int sdpmini_find(const struct sdpmini *sdp, const char *name)
{
	static const struct { int pt; const char *name; } fixed[] = {
		{ 0, "PCMU" }, { 8, "PCMA" }, { 18, "G729" },
	};
	for (int i = 0; i < sdp->npt; i++) {
		const struct sdpmini_codec *c = &sdp->pt[i];
		if (c->name[0] && !strcasecmp(c->name, name))
			return c->pt;
		if (!c->name[0])
			for (size_t k = 0; k < sizeof(fixed) / sizeof(fixed[0]); k++)
				if (fixed[k].pt == c->pt && !strcasecmp(fixed[k].name, name))
					return c->pt;
	}
	return -1;
}
