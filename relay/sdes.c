/* sdes.c - SRTP keying by SDES (RFC 4568) during offer/answer.
 *
 * rtpgate terminates SDES-SRTP: it never forwards a party's keys. For each
 * media it decides, at the offer, whether each leg speaks plain RTP or SRTP:
 * the offerer by its m= protocol (RTP/SAVP or RTP/SAVPF with a=crypto), the
 * answerer by `transport-protocol` when given, else like the offerer; the
 * SDES list of the request can turn SDES off ("off": the answerer gets plain
 * RTP) or narrow the suites ("no-X", "only-X"). Then:
 *   - an SRTP offerer: rtpgate takes the first a=crypto line it supports
 *     (the party's key: unprotects what it sends) and makes its own key of
 *     that suite and tag (protects what rtpgate sends to it), written into
 *     the answer towards the offerer. Both contexts are installed at once,
 *     so nothing from an SRTP offerer is ever taken unauthenticated;
 *   - an SRTP answerer: the offer towards it gets one a=crypto line per
 *     allowed suite, each with a fresh key of rtpgate's own; its answer
 *     picks one (tag and suite must match an offered line), which gives the
 *     context towards it, and its own key gives the one from it;
 *   - a plain leg gets the plain protocol (RTP/AVP, RTP/AVPF) and no
 *     a=crypto, and no SRTP stage.
 * So SRTP<->SRTP uses four independent keys, and RTP<->SRTP one pair.
 * Keys come only from srtp_keygen() (getrandom). A re-offer or re-answer
 * that keeps the same keys keeps the installed contexts (and with them the
 * replay windows and rollover counters); rtpgate re-offers its own keys
 * unchanged. Media that are neither RTP/AVP(F) nor RTP/SAVP(F) (DTLS,
 * data channels) are left untouched. Control thread only.
 */
#include "sdes.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "call.h"
#include "log.h"
#include "ng.h"
#include "sdp.h"
#include "session.h"
#include "srtp.h"
#include "worker.h"

/* The suites rtpgate offers, in this order (the first is preferred). */
#define SDES_NSUITES 4
static const enum srtp_suite offer_order[SDES_NSUITES] = {
	SRTP_SUITE_AES_CM_128_HMAC_SHA1_80,
	SRTP_SUITE_AES_CM_128_HMAC_SHA1_32,
	SRTP_SUITE_AEAD_AES_128_GCM,
	SRTP_SUITE_AEAD_AES_256_GCM,
};

/* "crypto:" + tag + suite + " inline:" + base64 of 44 bytes, with room */
#define SDES_LINE_MAX 160

struct sdes_leg {
	bool srtp;                  /* the party speaks SDES-SRTP */
	char proto[32];             /* the m= protocol of this leg ("" = untouched) */
	struct srtp_sdes theirs;    /* the party's key: unprotects what it sends */
	bool have_theirs;
	/* rtpgate's keys for this leg: offered[i] (suite offer_order[i], tag
	 * i + 1) when rtpgate made the offer to it, `answered` when it answered
	 * the leg's own offer; tx is the one in use */
	struct srtp_sdes offered[SDES_NSUITES];
	struct srtp_sdes answered;
	struct srtp_sdes tx;
	bool have_tx;
	/* what the installed contexts were made from */
	struct srtp_sdes inst_rx, inst_tx;
	bool installed;
	char line[SDES_NSUITES][SDES_LINE_MAX];
	const char *attrs[SDES_NSUITES];
};

struct sdes_media {
	bool terminate;             /* rtpgate rewrote this media's keying */
	unsigned allowed;           /* bit (1 << suite) per suite the request allows */
	struct sdes_leg leg[2];
};

struct call_sdes {
	int nmedia;
	struct sdes_media m[];
};

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Key material is cleared with a store the compiler may not drop. */
static void wipe(void *p, size_t n) { explicit_bzero(p, n); }

void sdes_call_free(struct call_sdes *s)
{
	if (!s)
		return;
	wipe(s, sizeof(*s) + (size_t)s->nmedia * sizeof(s->m[0]));
	free(s);
}

static struct call_sdes *state(struct call *c)
{
	if (!c->sdes) {
		c->sdes = calloc(1, sizeof(struct call_sdes) + (size_t)c->nmedia * sizeof(struct sdes_media));
		if (c->sdes)
			c->sdes->nmedia = c->nmedia;
	}
	return c->sdes;
}

/* ---- protocols ------------------------------------------------------- */

static bool is_savp(const char *p) { return !strcmp(p, "RTP/SAVP") || !strcmp(p, "RTP/SAVPF"); }
static bool is_avp(const char *p) { return !strcmp(p, "RTP/AVP") || !strcmp(p, "RTP/AVPF"); }

/* The same profile (feedback or not) with or without SRTP. */
static const char *proto_as(const char *p, bool srtp)
{
	bool f = p[strlen(p) - 1] == 'F';
	if (srtp)
		return f ? "RTP/SAVPF" : "RTP/SAVP";
	return f ? "RTP/AVPF" : "RTP/AVP";
}

/* ---- the request's SDES list ----------------------------------------- */

static const char *word_after(const char *w, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncasecmp(w, prefix, n))
		return NULL;
	if (w[n] != '-' && w[n] != '_')
		return NULL;
	return w + n + 1;
}

/* Reads "off", "no-SUITE" and "only-SUITE"; other words are ignored. */
static unsigned allowed_suites(const struct ng_request *rq, bool *off)
{
	unsigned all = 0, only = 0, no = 0;
	for (int i = 0; i < SDES_NSUITES; i++)
		all |= 1u << offer_order[i];
	*off = false;
	for (int i = 0; i < rq->sdes.n; i++) {
		const char *w = rq->sdes.v[i], *s;
		if (!strcasecmp(w, "off"))
			*off = true;
		else if ((s = word_after(w, "no")))
			no |= 1u << srtp_suite_from_name(s, strlen(s));
		else if ((s = word_after(w, "only")))
			only |= 1u << srtp_suite_from_name(s, strlen(s));
	}
	only &= all;
	return (only ? only : all) & ~no;
}

static bool same_key(const struct srtp_sdes *a, const struct srtp_sdes *b)
{
	return a->suite == b->suite && a->tag == b->tag && a->key_len == b->key_len &&
	       !memcmp(a->key, b->key, a->key_len) && a->mki == b->mki &&
	       a->mki_len == b->mki_len && a->flags == b->flags && a->lifetime == b->lifetime;
}

/* ---- contexts -------------------------------------------------------- */

/* Makes the leg's installed stages match its keys: both contexts when it
 * speaks SRTP and both keys are known, none otherwise. A context whose key
 * did not change is kept. */
static int install(struct call *c, int leg, int m, struct sdes_leg *l)
{
	struct mmedia st = { 0 };
	unsigned which = 0;
	int r = 0;
	if (!(l->srtp && l->have_theirs && l->have_tx)) {
		if (!l->installed)
			return 0;
		l->installed = false;
		return call_install_stages(c, leg, m, &st, STAGE_SRTP_RX | STAGE_SRTP_TX);
	}
	if (!l->installed || !same_key(&l->inst_rx, &l->theirs)) {
		which |= STAGE_SRTP_RX;
		r = srtp_dir_create(&st.srtp_rx, SRTP_IN, &l->theirs);
	}
	if (r == 0 && (!l->installed || !same_key(&l->inst_tx, &l->tx))) {
		which |= STAGE_SRTP_TX;
		r = srtp_dir_create(&st.srtp_tx, SRTP_OUT, &l->tx);
	}
	if (r == 0 && which)
		r = call_install_stages(c, leg, m, &st, which);
	if (r < 0) {
		srtp_dir_destroy(st.srtp_rx);
		srtp_dir_destroy(st.srtp_tx);
		return r;
	}
	l->installed = true;
	l->inst_rx = l->theirs;
	l->inst_tx = l->tx;
	return 0;
}

/* Formats "crypto:<value>" into l->line[i]. */
static int format_line(struct sdes_leg *l, int i, const struct srtp_sdes *k)
{
	memcpy(l->line[i], "crypto:", 7);
	int n = srtp_sdes_format(k, l->line[i] + 7, sizeof(l->line[i]) - 7);
	if (n < 0)
		return n;
	l->attrs[i] = l->line[i];
	return 0;
}

/* ---- offer ------------------------------------------------------------- */

/* The first a=crypto line of sm that parses, is supported and allowed. */
static int pick_offered(const struct sdp_media *sm, unsigned allowed, struct srtp_sdes *out)
{
	for (int i = 0; i < sm->ncrypto; i++) {
		if (srtp_sdes_parse(out, sm->crypto[i], strlen(sm->crypto[i]), NULL) == 0 &&
		    (allowed & (1u << out->suite)))
			return 0;
	}
	wipe(out, sizeof(*out));
	return -ENOTSUP;
}

static int offer_media(struct call *c, struct sdes_media *md, int m, const struct ng_request *rq,
		       const struct sdp_media *sm, int from, struct sdp_media_rewrite *mr,
		       char *err, size_t errlen)
{
	struct sdes_leg *fl = &md->leg[from], *tl = &md->leg[!from];
	bool f_srtp = is_savp(sm->proto), off;
	const char *tp = rq->transport_protocol;
	md->allowed = allowed_suites(rq, &off);
	bool t_srtp = tp ? is_savp(tp) && !off : f_srtp && !off;
	/* untouched: a rejected stream, a profile that is not plain RTP or
	 * SDES (DTLS, data channels), or plain both ways (any a=crypto under
	 * RTP/AVP then passes through as the endpoints' own business) */
	md->terminate = sm->port && (f_srtp || is_avp(sm->proto)) &&
		(!tp || is_savp(tp) || is_avp(tp)) && (f_srtp || t_srtp);
	int r;
	if (!md->terminate) {
		fl->srtp = tl->srtp = false;
		fl->proto[0] = tl->proto[0] = 0;
		if ((r = install(c, from, m, fl)) < 0 || (r = install(c, !from, m, tl)) < 0)
			goto fail;
		if (tp && is_savp(tp) && off)
			mr->proto = proto_as(tp, false);   /* SDES-off wins: no SRTP without keys */
		return 0;
	}

	/* the offerer */
	snprintf(fl->proto, sizeof(fl->proto), "%s", sm->proto);
	fl->srtp = f_srtp;
	if (f_srtp) {
		struct srtp_sdes k;
		if (pick_offered(sm, md->allowed, &k) < 0) {
			seterr(err, errlen, "media %d: no a=crypto line with a supported and allowed suite", m + 1);
			return -ENOTSUP;
		}
		fl->theirs = k;
		fl->have_theirs = true;
		if (!fl->have_tx || fl->answered.suite != k.suite || fl->answered.tag != k.tag) {
			if ((r = srtp_sdes_generate(&fl->answered, k.tag, k.suite)) < 0) {
				seterr(err, errlen, "cannot make a key: %s", srtp_strerror(r));
				return r;
			}
		}
		fl->tx = fl->answered;
		fl->have_tx = true;
		if ((r = format_line(fl, 0, &fl->answered)) < 0)
			goto fail;
		wipe(&k, sizeof(k));
	} else {
		fl->have_theirs = fl->have_tx = false;
	}
	if ((r = install(c, from, m, fl)) < 0)
		goto fail;

	/* towards the answerer */
	const char *tproto = proto_as(tp ? tp : sm->proto, t_srtp);
	snprintf(tl->proto, sizeof(tl->proto), "%s", tproto);
	mr->proto = tl->proto;
	mr->drop_crypto = true;
	if (!t_srtp) {
		tl->srtp = tl->have_theirs = tl->have_tx = false;
		return install(c, !from, m, tl);
	}
	tl->srtp = true;
	int n = 0;
	for (int i = 0; i < SDES_NSUITES; i++) {
		if (!(md->allowed & (1u << offer_order[i])))
			continue;
		struct srtp_sdes *k = &tl->offered[i];
		if (k->suite != offer_order[i] &&
		    (r = srtp_sdes_generate(k, (uint32_t)i + 1, offer_order[i])) < 0) {
			seterr(err, errlen, "cannot make a key: %s", srtp_strerror(r));
			return r;
		}
		if ((r = format_line(tl, n, k)) < 0)
			goto fail;
		n++;
	}
	if (!n) {
		seterr(err, errlen, "media %d: the SDES flags leave no crypto suite to offer", m + 1);
		return -EINVAL;
	}
	mr->add_attrs = tl->attrs;
	mr->nadd = n;
	/* the answerer's old contexts (re-offer) stay until its answer */
	return 0;
fail:
	seterr(err, errlen, "media %d: %s", m + 1, srtp_strerror(r));
	return r;
}

/* ---- answer ------------------------------------------------------------ */

static int answer_media(struct call *c, struct sdes_media *md, int m, const struct sdp_media *sm,
			int from, struct sdp_media_rewrite *mr, char *err, size_t errlen)
{
	struct sdes_leg *al = &md->leg[from], *ol = &md->leg[!from];
	if (!md->terminate)
		return 0;
	int r;
	mr->proto = ol->proto[0] ? ol->proto : NULL;
	mr->drop_crypto = true;
	if (ol->srtp && sm->port) {
		mr->add_attrs = ol->attrs;
		mr->nadd = 1;
	}
	if (!sm->port)
		return 0;
	if (!al->srtp || !is_savp(sm->proto)) {
		if (al->srtp)
			LOGC(LOG_NOTICE, "srtp", c->call_id,
			     "media %d: the answerer declined SRTP (%s): plain RTP on its side", m + 1, sm->proto);
		al->srtp = al->have_theirs = al->have_tx = false;
		return install(c, from, m, al);
	}
	/* the answer must pick one of the lines we offered, by tag and suite */
	struct srtp_sdes k;
	int found = -1;
	for (int i = 0; i < sm->ncrypto && found < 0; i++) {
		if (srtp_sdes_parse(&k, sm->crypto[i], strlen(sm->crypto[i]), NULL) < 0)
			continue;
		for (int j = 0; j < SDES_NSUITES; j++)
			if ((md->allowed & (1u << offer_order[j])) && al->offered[j].suite == k.suite &&
			    al->offered[j].tag == k.tag)
				found = j;
	}
	if (found < 0) {
		wipe(&k, sizeof(k));
		seterr(err, errlen, "media %d: the answer has no a=crypto line matching an offered tag and suite", m + 1);
		return -EINVAL;
	}
	al->theirs = k;
	al->have_theirs = true;
	al->tx = al->offered[found];
	al->have_tx = true;
	wipe(&k, sizeof(k));
	if ((r = install(c, from, m, al)) < 0) {
		seterr(err, errlen, "media %d: %s", m + 1, srtp_strerror(r));
		return r;
	}
	LOGC(LOG_INFO, "srtp", c->call_id, "media %d: %s towards the answerer, %s towards the offerer",
	     m + 1, srtp_suite_name(al->tx.suite),
	     ol->srtp ? srtp_suite_name(ol->tx.suite) : "plain RTP");
	return 0;
}

static bool srtp_involved(const struct ng_request *rq, const struct sdp_session *sdp)
{
	if ((rq->transport_protocol && strstr(rq->transport_protocol, "SAVP")) || rq->sdes.n)
		return true;
	for (int m = 0; m < sdp_media_count(sdp); m++) {
		const struct sdp_media *sm = sdp_media_get(sdp, m);
		if (is_savp(sm->proto) || sm->ncrypto)
			return true;
	}
	return false;
}

int sdes_negotiate(struct rg_daemon *d, struct call *c, const struct ng_request *rq,
		   const struct sdp_session *sdp, int from_leg, bool is_offer,
		   struct sdp_media_rewrite *mr, char *err, size_t errlen)
{
	(void)d;
	/* a plain-RTP call keeps no SRTP state at all */
	if (!c->sdes && !srtp_involved(rq, sdp))
		return 0;
	struct call_sdes *cs = state(c);
	if (!cs) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int n = sdp_media_count(sdp) < cs->nmedia ? sdp_media_count(sdp) : cs->nmedia;
	for (int m = 0; m < n; m++) {
		const struct sdp_media *sm = sdp_media_get(sdp, m);
		int r = is_offer ? offer_media(c, &cs->m[m], m, rq, sm, from_leg, &mr[m], err, errlen)
				 : answer_media(c, &cs->m[m], m, sm, from_leg, &mr[m], err, errlen);
		if (r < 0)
			return r;
	}
	return 0;
}
