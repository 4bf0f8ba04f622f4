/* negotiate.c - codec negotiation; see negotiate.h.
 *
 * Offer (sdp from the offerer): the offerer's codec list is kept as it was
 * offered; the list sent onwards is derived from it by the ng `codec`
 * instructions, in this order: strip and mask and consume remove (`all`
 * removes every one), except puts named ones back, transcode adds codecs
 * the offerer lacks (with a telephone-event at the new clock when the
 * offerer had one), offer moves named ones to the front. A codec removed by
 * mask or consume is still accepted from the offerer. If the list is
 * unchanged, the SDP lines pass through untouched.
 *
 * Answer (sdp from the answerer): the answerer's first audio codec is the
 * one it will send and wants to receive. If the offerer offered it too (and
 * it was not consumed, always-transcode is off and both sides packetise
 * alike), the media is relayed as is: no transcoder, the fast path. Else
 * the offerer is answered with the first codec it offered that rtpgate can
 * decode (the first of the `accept` list if one was given), and a
 * transcoder is installed for each direction.
 *
 * Every leg keeps its own payload-type numbers: transcoders write the
 * other leg's numbers.
 *
 * The state of one offer/answer is one allocation, made at each offer: the
 * codec lists are sized to the offer (a PCMU-only call needs three
 * sdp_codec, not a hundred), so the common offer zeroes and copies little,
 * and a transcoded call keeps about a kilobyte per media, not tens.
 */
#include "negotiate.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <codec/codec.h>

#include "call.h"
#include "log.h"
#include "ng.h"
#include "sdp.h"
#include "session.h"
#include "transcode.h"

/* The three codec lists point into the allocation of their call_codecs;
 * their capacities are fixed at the offer (see lists_size()). */
struct neg_media {
	bool audio;
	struct sdp_codec *offered;               /* the offerer's, as offered */
	int noffered;
	struct sdp_codec *onward;                /* sent to the answerer */
	int nonward, onward_cap;
	bool onward_changed;
	uint32_t accepted_from_offerer;          /* bit k: offered[k] masked/consumed,
						    still taken from the offerer */
	bool consume;
	int offer_ptime;                         /* the offerer's a=ptime, 0 none */
	int onward_ptime;                        /* ptime key of the offer, 0 none */
	struct sdp_codec *back;                  /* answer towards the offerer */
	int nback;
	bool transcoding;
	char pair[48];                           /* "PCMU>opus" for statistics */
};

_Static_assert(SDP_MAX_FMT <= 32, "accepted_from_offerer is a 32-bit mask");

struct call_codecs {
	int nmedia;
	int offerer;
	bool always;
	bool may_transcode;      /* counted in d->transcodes_active */
	bool release_after_answer;
	int *counter;
	struct ng_strlist accept;   /* copies (cut at ACCEPT_MAX bytes) after the lists */
	/* `set` entries, and `transcode` entries that carry parameters:
	 * "name/clock/channels/bitrate/ptime/fmtp"; copies (cut at SET_MAX
	 * bytes) after the lists */
	const char *set[2 * NG_MAX_LIST];
	int nset;
	struct neg_media m[];
};

void codecs_call_free(struct call_codecs *s)
{
	if (!s)
		return;
	if (s->may_transcode && s->counter)
		(*s->counter)--;
	free(s);
}

/* "opus/48000/2" -> name, clock (0 any), channels (0 any) */
struct codec_spec {
	char name[32];
	int clock, channels;
};

static void spec_parse(const char *s, struct codec_spec *sp)
{
	memset(sp, 0, sizeof(*sp));
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	if (n >= sizeof(sp->name))
		n = sizeof(sp->name) - 1;
	memcpy(sp->name, s, n);
	if (slash) {
		sp->clock = atoi(slash + 1);
		const char *s2 = strchr(slash + 1, '/');
		if (s2)
			sp->channels = atoi(s2 + 1);
	}
}

static bool spec_match(const struct codec_spec *sp, const struct sdp_codec *c)
{
	if (strcasecmp(sp->name, c->name))
		return false;
	if (sp->clock && sp->clock != c->clock)
		return false;
	if (sp->channels && sp->channels != (c->channels ? c->channels : 1))
		return false;
	return true;
}

static bool list_has(const struct ng_strlist *l, const struct sdp_codec *c, bool *all)
{
	for (int i = 0; i < l->n; i++) {
		if (!strcasecmp(l->v[i], "all")) {
			if (all)
				*all = true;
			return true;
		}
		struct codec_spec sp;
		spec_parse(l->v[i], &sp);
		if (spec_match(&sp, c))
			return true;
	}
	return false;
}

static bool is_te(const struct sdp_codec *c) { return !strcasecmp(c->name, "telephone-event"); }

static const struct codec_desc *desc_of(const struct sdp_codec *c)
{
	return codec_find(c->name, c->clock, c->channels ? c->channels : 1);
}

static bool same_codec(const struct sdp_codec *a, const struct sdp_codec *b)
{
	return !strcasecmp(a->name, b->name) && a->clock == b->clock &&
	       (a->channels ? a->channels : 1) == (b->channels ? b->channels : 1);
}

static bool pt_used(const struct sdp_codec *l, int n, int pt)
{
	for (int i = 0; i < n; i++)
		if (l[i].pt == pt)
			return true;
	return false;
}

static int free_dynamic_pt(const struct neg_media *m)
{
	for (int pt = 96; pt <= 127; pt++)
		if (!pt_used(m->offered, m->noffered, pt) && !pt_used(m->onward, m->nonward, pt))
			return pt;
	return -1;
}

static void remove_at(struct sdp_codec *l, int *n, int i)
{
	memmove(&l[i], &l[i + 1], (size_t)(*n - i - 1) * sizeof(*l));
	(*n)--;
}

/* Adds a codec we can encode to the onward list. */
static int add_onward(struct neg_media *m, const struct codec_desc *desc, const char *fmtp)
{
	if (m->nonward >= m->onward_cap)
		return -ENOSPC;
	struct sdp_codec c;
	memset(&c, 0, sizeof(c));
	c.pt = desc->payload_type >= 0 && !pt_used(m->onward, m->nonward, desc->payload_type) &&
	       !pt_used(m->offered, m->noffered, desc->payload_type) ? desc->payload_type : free_dynamic_pt(m);
	if (c.pt < 0)
		return -ENOSPC;
	snprintf(c.name, sizeof(c.name), "%s", desc->name);
	c.clock = desc->clock_rate;
	c.channels = desc->channels;
	snprintf(c.fmtp, sizeof(c.fmtp), "%s", fmtp ? fmtp : desc->fmtp ? desc->fmtp : "");
	/* audio codecs go before the first telephone-event, events at the end */
	int at = m->nonward;
	if (desc->audio)
		for (int i = 0; i < m->nonward; i++)
			if (is_te(&m->onward[i])) {
				at = i;
				break;
			}
	memmove(&m->onward[at + 1], &m->onward[at], (size_t)(m->nonward - at) * sizeof(c));
	m->onward[at] = c;
	m->nonward++;
	return 0;
}

static bool has_te_at(const struct sdp_codec *l, int n, int clock)
{
	for (int i = 0; i < n; i++)
		if (is_te(&l[i]) && l[i].clock == clock)
			return true;
	return false;
}

/* Whether a media gets codec lists at all, and their capacities: onward
 * grows by at most a codec and a telephone-event per transcode entry (and
 * never beyond SDP_MAX_FMT, as before), back holds at most BACK_CAP. */
static bool negotiated(const struct sdp_media *sm)
{
	return sm->port && !strcmp(sm->type, "audio");
}

static int onward_cap(const struct sdp_media *sm, const struct ng_request *rq)
{
	int n = sm->ncodecs + 2 * rq->codec.transcode.n;
	return n < SDP_MAX_FMT ? n : SDP_MAX_FMT;
}

#define BACK_CAP 4

#define ACCEPT_MAX 39
#define SET_MAX 95

static size_t cut_len(const char *s, size_t max)
{
	size_t n = strlen(s);
	return n < max ? n : max;
}

/* Copies at most max bytes of s to *area, NUL-terminated; advances *area. */
static const char *copy_cut(char **area, const char *s, size_t max)
{
	char *p = *area;
	size_t n = cut_len(s, max);
	memcpy(p, s, n);
	p[n] = '\0';
	*area = p + n + 1;
	return p;
}

static bool is_set_entry(const char *transcode) { return strchr(transcode, '/') != NULL; }

/* Room for the copies of the accept and set entries. */
static size_t strings_size(const struct ng_request *rq)
{
	size_t n = 0;
	for (int i = 0; i < rq->codec.accept.n && i < NG_MAX_LIST; i++)
		n += cut_len(rq->codec.accept.v[i], ACCEPT_MAX) + 1;
	for (int i = 0; i < rq->codec.set.n; i++)
		n += cut_len(rq->codec.set.v[i], SET_MAX) + 1;
	for (int i = 0; i < rq->codec.transcode.n; i++)
		if (is_set_entry(rq->codec.transcode.v[i]))
			n += cut_len(rq->codec.transcode.v[i], SET_MAX) + 1;
	return n;
}

static size_t lists_size(const struct sdp_session *sdp, int nmedia, const struct ng_request *rq)
{
	size_t n = 0;
	for (int i = 0; i < nmedia; i++) {
		const struct sdp_media *sm = sdp_media_get(sdp, i);
		if (negotiated(sm))
			n += (size_t)(sm->ncodecs + onward_cap(sm, rq) + BACK_CAP);
	}
	return n * sizeof(struct sdp_codec);
}

/* m is zeroed; *pool is where its lists go (advanced past them). */
static int offer_media(struct rg_daemon *d, struct call_codecs *cc, const struct ng_request *rq,
		       const struct sdp_media *sm, struct neg_media *m, struct sdp_codec **pool,
		       struct sdp_media_rewrite *mr, char *err, size_t errlen)
{
	m->audio = !strcmp(sm->type, "audio");
	if (!negotiated(sm))
		return 0;
	m->offered = *pool;
	m->onward = m->offered + sm->ncodecs;
	m->onward_cap = onward_cap(sm, rq);
	m->back = m->onward + m->onward_cap;
	*pool = m->back + BACK_CAP;
	m->noffered = sm->ncodecs;
	memcpy(m->offered, sm->codecs, (size_t)sm->ncodecs * sizeof(*sm->codecs));
	memcpy(m->onward, sm->codecs, (size_t)sm->ncodecs * sizeof(*sm->codecs));
	m->nonward = sm->ncodecs;
	m->offer_ptime = sm->ptime;
	bool te_offered = false;
	for (int i = 0; i < m->noffered; i++)
		te_offered |= is_te(&m->offered[i]);

	/* strip, mask, consume */
	for (int i = 0; i < m->nonward;) {
		struct sdp_codec *c = &m->onward[i];
		bool all = false;
		bool strip = list_has(&rq->codec.strip, c, &all);
		bool mask = list_has(&rq->codec.mask, c, &all);
		bool consume = list_has(&rq->codec.consume, c, &all);
		if (all && is_te(c) && !list_has(&rq->codec.strip, c, NULL))
			strip = mask = consume = false;   /* "all" means audio codecs; DTMF stays */
		if ((strip || mask || consume) && !list_has(&rq->codec.except, c, NULL)) {
			for (int k = 0; k < m->noffered; k++)
				if (m->offered[k].pt == c->pt && (mask || consume))
					m->accepted_from_offerer |= 1u << k;
			m->consume |= consume;
			remove_at(m->onward, &m->nonward, i);
			m->onward_changed = true;
			continue;
		}
		i++;
	}
	/* transcode: add what the offerer lacks */
	for (int i = 0; i < rq->codec.transcode.n; i++) {
		struct codec_spec sp;
		spec_parse(rq->codec.transcode.v[i], &sp);
		const struct codec_desc *desc = codec_find(sp.name, sp.clock, sp.channels);
		if (!desc || !desc->audio) {
			snprintf(err, errlen, "cannot transcode to unknown codec '%s'", rq->codec.transcode.v[i]);
			return -EINVAL;
		}
		bool have = false;
		for (int k = 0; k < m->nonward; k++)
			have |= !strcasecmp(m->onward[k].name, desc->name);
		if (have)
			continue;
		if (add_onward(m, desc, NULL) < 0) {
			snprintf(err, errlen, "no payload type left for '%s'", desc->name);
			return -ENOSPC;
		}
		m->onward_changed = true;
		cc->may_transcode = true;
		if (te_offered && !has_te_at(m->onward, m->nonward, desc->clock_rate)) {
			const struct codec_desc *te = codec_find("telephone-event", desc->clock_rate, 1);
			if (te)
				add_onward(m, te, "0-16");
		}
	}
	/* offer: named ones first, in the order named */
	for (int i = rq->codec.offer.n - 1; i >= 0; i--) {
		struct codec_spec sp;
		spec_parse(rq->codec.offer.v[i], &sp);
		for (int k = 0; k < m->nonward; k++)
			if (spec_match(&sp, &m->onward[k])) {
				struct sdp_codec c = m->onward[k];
				memmove(&m->onward[1], &m->onward[0], (size_t)k * sizeof(c));
				m->onward[0] = c;
				m->onward_changed |= k != 0;
				break;
			}
	}
	bool any_audio = false;
	for (int k = 0; k < m->nonward; k++)
		any_audio |= !is_te(&m->onward[k]);
	if (!any_audio) {
		snprintf(err, errlen, "no audio codec left to offer after strip/mask");
		return -EINVAL;
	}
	for (int k = 0; k < m->noffered; k++)
		if (m->accepted_from_offerer & (1u << k))
			cc->may_transcode = true;
	if (m->onward_changed) {
		mr->codecs = m->onward;
		mr->ncodecs = m->nonward;
	}
	if (rq->ptime > 0) {
		m->onward_ptime = (int)rq->ptime;
		mr->ptime = (int)rq->ptime;
	}
	(void)d;
	return 0;
}

static int pick_rate(const struct codec_desc *a, const struct codec_params *pa,
		     const struct codec_desc *b, const struct codec_params *pb)
{
	/* narrowband on either side: both run at 8 kHz, nothing resampled */
	int ra = codec_pick_pcm_rate(a, pa, 0), rb = codec_pick_pcm_rate(b, pb, 0);
	int r = ra < rb ? ra : rb;
	return r > 0 ? r : 8000;
}

static int side_init(struct xcoder_side *x, const struct sdp_codec *c, const struct codec_desc *desc,
		     int ptime, const struct sdp_codec *list, int n, const struct rg_config *cfg)
{
	memset(x, 0, sizeof(*x));
	x->desc = desc;
	x->pt = c->pt;
	codec_params_default(desc, &x->params);
	if (codec_params_from_fmtp(desc, c->fmtp, &x->params) < 0)
		codec_params_default(desc, &x->params);
	if (desc->id == CODEC_ID_OPUS) {
		if (cfg->opus_complexity >= 0)
			x->params.complexity = cfg->opus_complexity;
		if (cfg->opus_bitrate > 0)
			x->params.bitrate = cfg->opus_bitrate;
	}
	x->ptime_ms = ptime > 0 && codec_ptime_ok(desc, ptime) ? ptime : desc->ptime_ms;
	x->te_pt = -1;
	for (int i = 0; i < n; i++)
		if (is_te(&list[i]) && list[i].clock == desc->clock_rate) {
			x->te_pt = list[i].pt;
			x->te_clock = list[i].clock;
		}
	return 0;
}

/* Applies the matching "name/clock/channels/bitrate/ptime/fmtp" entries. */
static void apply_sets(const struct call_codecs *cc, const struct sdp_codec *c, struct xcoder_side *x)
{
	for (int i = 0; i < cc->nset; i++) {
		struct codec_spec sp;
		spec_parse(cc->set[i], &sp);
		if (!spec_match(&sp, c))
			continue;
		/* fields after name/clock/channels */
		const char *f = cc->set[i];
		for (int k = 0; k < 3 && f; k++)
			f = strchr(f + (k ? 1 : 0), '/');
		if (!f)
			continue;
		int bitrate = atoi(f + 1);
		if (bitrate > 0)
			x->params.bitrate = bitrate;
		f = strchr(f + 1, '/');
		if (!f)
			continue;
		int ptime = atoi(f + 1);
		if (ptime > 0 && codec_ptime_ok(x->desc, ptime))
			x->ptime_ms = ptime;
		f = strchr(f + 1, '/');
		if (f && f[1]) {
			int rate = x->params.pcm_rate;
			codec_params_from_fmtp(x->desc, f + 1, &x->params);
			x->params.pcm_rate = rate;
			/* not an SDP parameter, but where an operator sets it per call */
			const char *cx = strstr(f + 1, "complexity=");
			if (cx && atoi(cx + 11) >= 0 && atoi(cx + 11) <= 10)
				x->params.complexity = atoi(cx + 11);
		}
	}
}

static int answer_media(struct rg_daemon *d, struct call *c, struct call_codecs *cc, int mi,
			const struct ng_request *rq, const struct sdp_media *sm, struct neg_media *m,
			struct sdp_media_rewrite *mr, char *err, size_t errlen)
{
	if (!m->audio || !sm->port || !c->media[mi].active)
		return 0;
	/* the answerer's codec */
	const struct sdp_codec *bc = NULL;
	for (int i = 0; i < sm->ncodecs && !bc; i++)
		if (!is_te(&sm->codecs[i]))
			bc = &sm->codecs[i];
	if (!bc) {
		snprintf(err, errlen, "answer has no audio codec");
		return -EINVAL;
	}
	int b_ptime = sm->ptime ? sm->ptime : m->onward_ptime;
	int a_ptime = m->offer_ptime;
	/* relayed as is? */
	int a_same = -1;
	for (int k = 0; k < m->noffered; k++)
		if (same_codec(&m->offered[k], bc) && !(m->accepted_from_offerer & (1u << k)))
			a_same = k;
	const struct codec_desc *bdesc = desc_of(bc);
	bool ptime_differs = bdesc && (a_ptime ? a_ptime : bdesc->ptime_ms) != (b_ptime ? b_ptime : bdesc->ptime_ms);
	if (a_same >= 0 && !m->consume && !cc->always && !ptime_differs) {
		/* answer to the offerer: only what it offered */
		m->nback = 0;
		bool foreign = false;
		for (int i = 0; i < sm->ncodecs; i++) {
			bool known = false;
			for (int k = 0; k < m->noffered; k++)
				known |= same_codec(&m->offered[k], &sm->codecs[i]);
			foreign |= !known;
		}
		if (foreign) {
			for (int i = 0; i < sm->ncodecs && m->nback < BACK_CAP; i++)
				for (int k = 0; k < m->noffered; k++)
					if (same_codec(&m->offered[k], &sm->codecs[i])) {
						m->back[m->nback++] = m->offered[k];
						break;
					}
			mr->codecs = m->back;
			mr->ncodecs = m->nback;
		}
		if (m->transcoding) {   /* a re-answer went back to relaying */
			struct mmedia none = { 0 };
			call_install_stages(c, cc->offerer, mi, &none, STAGE_XC);
			call_install_stages(c, !cc->offerer, mi, &none, STAGE_XC);
			m->transcoding = false;
		}
		return 0;
	}
	if (!bdesc || !bdesc->audio) {
		snprintf(err, errlen, "answerer chose '%s/%d', which rtpgate cannot transcode", bc->name, bc->clock);
		return -EINVAL;
	}
	/* the offerer's codec: first of accept, else the first we can decode */
	const struct sdp_codec *ac = NULL;
	for (int k = 0; k < m->noffered && !ac; k++)
		if (!is_te(&m->offered[k]) && desc_of(&m->offered[k]) && list_has(&cc->accept, &m->offered[k], NULL))
			ac = &m->offered[k];
	for (int k = 0; k < m->noffered && !ac; k++)
		if (!is_te(&m->offered[k]) && desc_of(&m->offered[k]))
			ac = &m->offered[k];
	if (!ac) {
		snprintf(err, errlen, "the offerer has no codec rtpgate can transcode");
		return -EINVAL;
	}
	const struct codec_desc *adesc = desc_of(ac);
	struct xcoder_cfg a2b, b2a;
	memset(&a2b, 0, sizeof(a2b));
	side_init(&a2b.in, ac, adesc, a_ptime, m->offered, m->noffered, &d->cfg);
	side_init(&a2b.out, bc, bdesc, b_ptime, sm->codecs, sm->ncodecs, &d->cfg);
	apply_sets(cc, ac, &a2b.in);
	apply_sets(cc, bc, &a2b.out);
	int rate = pick_rate(adesc, &a2b.in.params, bdesc, &a2b.out.params);
	a2b.in.params.pcm_rate = a2b.out.params.pcm_rate = rate;
	a2b.call_id = c->call_id;
	b2a.in = a2b.out;
	b2a.out = a2b.in;
	b2a.call_id = c->call_id;
	struct xcoder *x1 = NULL, *x2 = NULL;
	int r = xcoder_new(&a2b, &x1);
	if (r == 0)
		r = xcoder_new(&b2a, &x2);
	if (r < 0) {
		if (x1)
			xcoder_free(x1);
		snprintf(err, errlen, "cannot create a %s<->%s transcoder: %s", adesc->name, bdesc->name,
			 strerror(-r));
		return r;
	}
	/* each direction's sender report then carries a report block on what
	 * its sibling received; without it they go out bare */
	xcoder_pair(x1, x2);
	struct mmedia st = { .xc = x1 };
	call_install_stages(c, cc->offerer, mi, &st, STAGE_XC);
	st.xc = x2;
	call_install_stages(c, !cc->offerer, mi, &st, STAGE_XC);
	m->transcoding = true;
	snprintf(m->pair, sizeof(m->pair), "%s>%s", adesc->name, bdesc->name);
	/* the answer to the offerer: its codec and its telephone-event */
	m->nback = 0;
	m->back[m->nback++] = *ac;
	for (int k = 0; k < m->noffered && m->nback < 2; k++)
		if (is_te(&m->offered[k]) && m->offered[k].clock == ac->clock && a2b.out.te_pt >= 0)
			m->back[m->nback++] = m->offered[k];
	mr->codecs = m->back;
	mr->ncodecs = m->nback;
	if (a_ptime)
		mr->ptime = a_ptime;
	LOGC(LOG_INFO, "codec", c->call_id,
	     "media %d: transcoding %s/%d (pt %d, %d ms) <-> %s/%d (pt %d, %d ms, %d bit/s, complexity %d) at %d Hz",
	     mi, adesc->name, ac->clock, ac->pt, a2b.in.ptime_ms, bdesc->name, bc->clock, bc->pt,
	     a2b.out.ptime_ms, a2b.out.params.bitrate, a2b.out.params.complexity, rate);
	(void)rq;
	return 0;
}

int codecs_negotiate(struct rg_daemon *d, struct call *c, const struct ng_request *rq,
		     const struct sdp_session *sdp, int from_leg, bool is_offer,
		     struct sdp_media_rewrite *mr, char *err, size_t errlen)
{
	struct call_codecs *cc = c->codecs;
	if (is_offer) {
		/* a fresh state sized to this offer; only whether the call was
		 * counted as transcoding carries over from the previous one */
		size_t head = sizeof(*cc) + (size_t)c->nmedia * sizeof(cc->m[0]);
		head = (head + _Alignof(struct sdp_codec) - 1) & ~(_Alignof(struct sdp_codec) - 1);
		size_t lists = lists_size(sdp, c->nmedia, rq);
		struct call_codecs *nc = malloc(head + lists + strings_size(rq));
		if (!nc) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		memset(nc, 0, sizeof(*nc) + (size_t)c->nmedia * sizeof(nc->m[0]));
		nc->nmedia = c->nmedia;
		nc->counter = &d->transcodes_active;
		if (cc) {
			nc->may_transcode = cc->may_transcode;
			cc->may_transcode = false;   /* the count moves to nc */
			codecs_call_free(cc);
		}
		cc = c->codecs = nc;
		struct sdp_codec *pool = (struct sdp_codec *)((char *)nc + head);
		char *strs = (char *)nc + head + lists;
		bool was_counted = cc->may_transcode;
		cc->may_transcode = false;
		cc->offerer = from_leg;
		cc->always = rq->flags & NG_F_ALWAYS_TRANSCODE;
		cc->accept.n = 0;
		for (int i = 0; i < rq->codec.accept.n && i < NG_MAX_LIST; i++)
			cc->accept.v[cc->accept.n++] = copy_cut(&strs, rq->codec.accept.v[i], ACCEPT_MAX);
		cc->nset = 0;
		for (int i = 0; i < rq->codec.set.n; i++)
			cc->set[cc->nset++] = copy_cut(&strs, rq->codec.set.v[i], SET_MAX);
		for (int i = 0; i < rq->codec.transcode.n; i++)
			if (is_set_entry(rq->codec.transcode.v[i]))
				cc->set[cc->nset++] = copy_cut(&strs, rq->codec.transcode.v[i], SET_MAX);
		for (int i = 0; i < c->nmedia; i++) {
			int r = offer_media(d, cc, rq, sdp_media_get(sdp, i), &cc->m[i], &pool, &mr[i],
					    err, errlen);
			if (r < 0) {
				if (was_counted)
					(*cc->counter)--;
				cc->may_transcode = false;
				return r;
			}
		}
		cc->may_transcode |= cc->always;
		if (cc->may_transcode && !was_counted) {
			if (d->cfg.max_transcodes && d->transcodes_active >= d->cfg.max_transcodes) {
				cc->may_transcode = false;
				snprintf(err, errlen, "transcoding limit reached");
				return -EBUSY;
			}
			d->transcodes_active++;
		} else if (!cc->may_transcode && was_counted) {
			d->transcodes_active--;
		}
		return 0;
	}
	if (!cc)
		return 0;
	bool transcoding = false;
	for (int i = 0; i < c->nmedia && i < cc->nmedia; i++) {
		int r = answer_media(d, c, cc, i, rq, sdp_media_get(sdp, i), &cc->m[i], &mr[i], err, errlen);
		if (r < 0)
			return r;
		transcoding |= cc->m[i].transcoding;
	}
	if (!transcoding) {
		/* relayed as is: the negotiation state is not kept
		 * for the life of the call; a re-offer starts afresh. The lists
		 * in mr[] point into it, so it goes after the SDP is written. */
		cc->release_after_answer = true;
	}
	return 0;
}

void codecs_answer_done(struct call *c)
{
	if (c->codecs && c->codecs->release_after_answer) {
		codecs_call_free(c->codecs);
		c->codecs = NULL;
	}
}

const char *codecs_pair(const struct call *c, int media)
{
	if (!c->codecs || media >= c->codecs->nmedia || !c->codecs->m[media].transcoding)
		return NULL;
	return c->codecs->m[media].pair;
}
