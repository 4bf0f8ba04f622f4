/* commands.c - the ng command handlers; see commands.h.
 *
 * offer: parse the offerer's SDP, bind a port pair per m= line for each of
 *   the two legs (so the answer can never run out of ports), hand the new
 *   session to the least-loaded worker and return the SDP rewritten towards
 *   the answerer: our address, the ports that face the answerer.
 * answer: learn the answerer's addresses from its SDP, post them to the
 *   worker, return the SDP rewritten towards the offerer.
 * delete/query: compact statistics (Kamailio's $rtpstat reads "totals").
 * A re-offer (re-INVITE) from either leg keeps the ports and updates that
 * leg's addresses.
 */
#include "commands.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "call.h"
#include "kfwd.h"
#include "log.h"
#include "negotiate.h"
#include "ports.h"
#include "sdes.h"
#include "sdp.h"
#include "session.h"
#include "worker.h"

struct bval *commands_error(const char *reason)
{
	struct bval *r = bval_dict();
	bval_dict_add_str(r, "result", "error");
	bval_dict_add_str(r, "error-reason", reason);
	return r;
}

static struct bval *reply_ok(void)
{
	struct bval *r = bval_dict();
	bval_dict_add_str(r, "result", "ok");
	return r;
}

static struct bval *errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static struct bval *errorf(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return commands_error(msg);
}

/* ---- interfaces ------------------------------------------------------ */

static int iface_by_name(const struct rg_daemon *d, const char *name)
{
	for (int i = 0; i < d->nifaces; i++)
		if (!strcmp(d->ifaces[i].name, name))
			return i;
	return -1;
}

/* direction: [offerer side, answerer side] names interfaces; else the
 * first interface of the family the SDP uses, else the first one. */
static int pick_iface(const struct rg_daemon *d, const struct ng_request *rq, int side, int family)
{
	if (rq->direction.n > side) {
		int i = iface_by_name(d, rq->direction.v[side]);
		if (i >= 0)
			return i;
	}
	int want = family;
	if (rq->address_family) {
		if (!strcasecmp(rq->address_family, "IP6"))
			want = AF_INET6;
		else if (!strcasecmp(rq->address_family, "IP4"))
			want = AF_INET;
	}
	for (int i = 0; i < d->nifaces; i++)
		if (d->ifaces[i].local.sa.sa_family == want)
			return i;
	return 0;
}

/* ---- SDP to addresses ------------------------------------------------ */

static void leg_addrs_from_sdp(const struct ng_request *rq, const struct sdp_session *sdp,
			       struct leg_media_addr *out, int nmedia)
{
	bool use_source = (rq->flags & NG_F_SIP_SOURCE_ADDRESS) && rq->received_from_addr;
	bool strict = rq->flags & NG_F_STRICT_SOURCE;
	for (int m = 0; m < nmedia; m++) {
		const struct sdp_media *sm = sdp_media_get(sdp, m);
		struct leg_media_addr *a = &out[m];
		memset(a, 0, sizeof(*a));
		a->strict = strict;
		a->asym = rq->flags & NG_F_ASYMMETRIC;
		if (!sm->port)
			continue;
		const char *ip = use_source ? rq->received_from_addr : sm->addr;
		if (addr_parse(&a->rtp, ip, sm->port) < 0) {
			memset(&a->rtp, 0, sizeof(a->rtp));
			continue;
		}
		/* 0.0.0.0 / :: means "hold": no destination */
		if (a->rtp.sa.sa_family == AF_INET ? a->rtp.in.sin_addr.s_addr == htonl(INADDR_ANY)
						   : IN6_IS_ADDR_UNSPECIFIED(&a->rtp.in6.sin6_addr)) {
			memset(&a->rtp, 0, sizeof(a->rtp));
			continue;
		}
		const char *rip = sm->rtcp_port && sm->rtcp_addr[0] && !use_source ? sm->rtcp_addr : ip;
		int rport = sm->rtcp_port ? sm->rtcp_port : sm->port + 1;
		if (addr_parse(&a->rtcp, rip, rport) < 0)
			a->rtcp = a->rtp, addr_set_port(&a->rtcp, sm->port + 1);
	}
}

/* ---- building the SDP towards a leg ----------------------------------- */

/* sdp came from the other leg; is_offer says whether it was an offer. */
static struct bval *rewrite_towards(struct rg_daemon *d, struct call *c, const struct ng_request *rq,
				    const struct sdp_session *sdp, int to_leg, const bool *mux,
				    bool is_offer)
{
	const struct iface *ifc = &d->ifaces[c->leg[to_leg].iface];
	struct sdp_media_rewrite mr[SDP_MAX_MEDIA];
	memset(mr, 0, sizeof(mr));
	for (int m = 0; m < c->nmedia; m++) {
		struct mstream *s = msession_stream(c->ms, to_leg, m, COMP_RTP);
		mr[m].port = c->media[m].active ? s->port : 0;
		mr[m].rtcp_mux = mux[m];
		mr[m].rtcp_port = c->media[m].active && !(rq->flags & NG_F_NO_RTCP_ATTRIBUTE) ? s->port + 1 : 0;
		mr[m].proto = rq->transport_protocol;
	}
	char err[256];
	if (sdes_negotiate(d, c, rq, sdp, !to_leg, is_offer, mr, err, sizeof(err)) < 0)
		return errorf("SRTP: %s", err);
	int rc = codecs_negotiate(d, c, rq, sdp, !to_leg, is_offer, mr, err, sizeof(err));
	if (rc == -EBUSY) {
		d->stats.load_limited++;
		if (rq->supports_load_limit) {
			struct bval *r = bval_dict();
			bval_dict_add_str(r, "result", "load limit");
			bval_dict_add_str(r, "message", err);
			return r;
		}
		return commands_error("Parallel session limit reached");
	}
	if (rc < 0)
		return errorf("Codecs: %s", err);
	struct sdp_rewrite rw = {
		.addr = ifc->advertised,
		.family = ifc->local.sa.sa_family,
		.replace_origin = rq->replace & NG_REPLACE_ORIGIN,
		/* we are not an ICE agent: candidates would route media around us */
		.ice_remove = rq->ice != NG_ICE_FORCE,
		.nmedia = c->nmedia,
		.media = mr,
	};
	struct rg_buf out;
	buf_init(&out);
	if (sdp_rewrite(sdp, &rw, &out, err, sizeof(err)) < 0 || !buf_ok(&out)) {
		buf_free(&out);
		return errorf("Failed to rewrite SDP: %s", err);
	}
	struct bval *r = reply_ok();
	bval_dict_add(r, "sdp", bval_strn(out.data, out.len));
	buf_free(&out);
	return r;
}

/* ---- offer --------------------------------------------------------------- */

/* By the control thread's own count of the calls it gave each worker: the
 * workers' counters lag behind a burst of offers. */
static struct worker *least_loaded(struct rg_daemon *d)
{
	struct worker *best = &d->workers[0];
	int bestn = best->ctl_calls;
	for (int i = 1; i < d->nworkers; i++) {
		int n = d->workers[i].ctl_calls;
		if (n < bestn) {
			best = &d->workers[i];
			bestn = n;
		}
	}
	return best;
}

static struct bval *new_call(struct rg_daemon *d, const struct ng_request *rq,
			     const struct sdp_session *sdp, struct call **out)
{
	const struct rg_config *cfg = &d->cfg;
	if (d->draining || (cfg->max_sessions && d->ncalls >= (size_t)cfg->max_sessions)) {
		d->stats.load_limited++;
		if (rq->supports_load_limit) {
			struct bval *r = bval_dict();
			bval_dict_add_str(r, "result", "load limit");
			bval_dict_add_str(r, "message", d->draining ? "draining" : "Parallel session limit reached");
			return r;
		}
		return commands_error("Parallel session limit reached");
	}
	int nmedia = sdp_media_count(sdp);
	struct call *c = call_new(d, rq->call_id, nmedia);
	if (!c)
		return commands_error("Out of memory");
	c->ms = msession_new(rq->call_id, nmedia);
	c->leg[0].tag = strdup(rq->from_tag);
	if (!c->ms || !c->leg[0].tag) {
		call_discard(d, c);
		return commands_error("Out of memory");
	}
	int family = sdp_media_get(sdp, 0)->family;
	c->leg[0].iface = pick_iface(d, rq, 0, family);
	c->leg[1].iface = pick_iface(d, rq, 1, family);
	c->ms->iface[0] = (uint8_t)c->leg[0].iface;
	c->ms->iface[1] = (uint8_t)c->leg[1].iface;
	calls_reap(d);   /* sockets of ended calls, ready for reuse */
	uint64_t now = rg_now_ms();
	for (int m = 0; m < nmedia; m++) {
		const struct sdp_media *sm = sdp_media_get(sdp, m);
		snprintf(c->media[m].type, sizeof(c->media[m].type), "%s", sm->type);
		snprintf(c->media[m].proto, sizeof(c->media[m].proto), "%s", sm->proto);
		if (!sm->port)
			continue;
		for (int l = 0; l < 2; l++) {
			struct mstream *rtp = msession_stream(c->ms, l, m, COMP_RTP);
			struct mstream *rtcp = msession_stream(c->ms, l, m, COMP_RTCP);
			int r = ports_alloc_pair(d->ifaces[c->leg[l].iface].pool, now,
						 &rtp->fd, &rtcp->fd, &rtp->port);
			if (r < 0) {
				LOGC(LOG_WARNING, "ports", rq->call_id, "cannot allocate ports: %s",
				     r == -ENOSPC ? "range exhausted" : strerror(-r));
				call_discard(d, c);
				d->stats.ports_exhausted++;
				return commands_error("Ran out of ports");
			}
			rtcp->port = (uint16_t)(rtp->port + 1);
		}
		c->media[m].active = true;
	}
	c->w = least_loaded(d);
	*out = c;
	return NULL;
}

static struct bval *cmd_offer(struct rg_daemon *d, const struct ng_request *rq)
{
	if (!rq->sdp)
		return commands_error("No SDP body in offer");
	char err[256];
	if (sdp_parse_reuse(rq->sdp, rq->sdp_len, &d->sdp_scratch, err, sizeof(err)) < 0)
		return errorf("Failed to parse SDP: %s", err);
	const struct sdp_session *sdp = d->sdp_scratch;

	struct bval *r = NULL;
	struct call *c = call_find(d, rq->call_id);
	int offerer = 0;
	bool fresh = false;
	if (c) {
		offerer = call_leg_of(c, rq->from_tag);
		if (offerer < 0 && !c->answered) {
			/* a forked or repeated INVITE with a new from-tag: not ours to split */
			r = errorf("from-tag '%s' does not belong to call '%s'", rq->from_tag, rq->call_id);
			goto out;
		}
		if (offerer < 0) {
			r = errorf("from-tag '%s' does not belong to call '%s'", rq->from_tag, rq->call_id);
			goto out;
		}
		if (sdp_media_count(sdp) != c->nmedia) {
			r = errorf("re-offer changes the number of m= lines from %d to %d: not supported",
				   c->nmedia, sdp_media_count(sdp));
			goto out;
		}
	} else {
		r = new_call(d, rq, sdp, &c);
		if (r)
			goto out;
		fresh = true;
	}
	int answerer = !offerer;
	c->offerer = offerer;
	c->last_signal_ms = rg_now_ms();
	c->last_signal_wall = time(NULL);

	struct call_leg *ol = &c->leg[offerer];
	leg_addrs_from_sdp(rq, sdp, ol->addr, c->nmedia);
	ol->sdp_seen = true;
	bool mux_onwards[SDP_MAX_MEDIA];
	for (int m = 0; m < c->nmedia; m++) {
		const struct sdp_media *sm = sdp_media_get(sdp, m);
		c->media[m].mux_offered = sm->rtcp_mux;
		c->media[m].mux_accept = rq->rtcp_mux & (NG_RTCPMUX_ACCEPT | NG_RTCPMUX_DEMUX);
		bool mux = sm->rtcp_mux;
		if (rq->rtcp_mux & (NG_RTCPMUX_DEMUX | NG_RTCPMUX_REJECT))
			mux = false;
		if (rq->rtcp_mux & NG_RTCPMUX_OFFER)
			mux = true;
		c->media[m].mux_to_answerer = mux_onwards[m] = mux && c->media[m].active;
		/* until the answer says otherwise, RTCP goes to the offerer's RTCP port */
		ol->addr[m].mux = c->answered && sm->rtcp_mux && ol->addr[m].mux;
	}

	if (fresh) {
		/* the worker needs the offerer's addresses from the start */
		for (int m = 0; m < c->nmedia; m++) {
			struct mstream *rtp = msession_stream(c->ms, offerer, m, COMP_RTP);
			struct mstream *rtcp = msession_stream(c->ms, offerer, m, COMP_RTCP);
			rtp->expect = ol->addr[m].rtp;
			rtcp->expect = ol->addr[m].rtcp;
			rtp->strict = rtcp->strict = ol->addr[m].strict;
			rtp->asym = rtcp->asym = ol->addr[m].asym;
		}
		/* the SDP first: a call whose SDP cannot be written is never started */
		r = rewrite_towards(d, c, rq, sdp, answerer, mux_onwards, true);
		if (strcmp(bval_as_str(bval_get(r, "result"), NULL), "ok")) {
			call_discard(d, c);
			goto out;
		}
		msession_ref(c->ms);   /* the worker's reference */
		if (worker_post_add(c->w, c->ms) < 0) {
			msession_unref(c->ms);
			call_discard(d, c);
			bval_free(r);
			r = commands_error("Out of memory");
			goto out;
		}
		c->posted = true;
		c->w->ctl_calls++;
		d->stats.sessions_created++;
		LOGC(LOG_INFO, "call", c->call_id, "offer from tag %s: %d media on worker %d",
		     rq->from_tag, c->nmedia, c->w->idx);
	} else {
		LOGC(LOG_INFO, "call", c->call_id, "re-offer from tag %s", rq->from_tag);
		/* stages (new SRTP keys) reach the worker before the addresses */
		r = rewrite_towards(d, c, rq, sdp, answerer, mux_onwards, true);
		worker_post_update(c->w, c->ms, offerer, ol->addr, c->nmedia);
	}
out:
	return r;
}

/* ---- answer -------------------------------------------------------------- */

static struct bval *cmd_answer(struct rg_daemon *d, const struct ng_request *rq)
{
	if (!rq->sdp)
		return commands_error("No SDP body in answer");
	if (!rq->to_tag)
		return commands_error("No to-tag in answer");
	struct call *c = call_find(d, rq->call_id);
	if (!c)
		return errorf("Unknown call-id '%s'", rq->call_id);
	int offerer = call_leg_of(c, rq->from_tag);
	if (offerer < 0)
		return errorf("from-tag '%s' does not belong to call '%s'", rq->from_tag, rq->call_id);
	int answerer = !offerer;
	if (c->leg[answerer].tag && strcmp(c->leg[answerer].tag, rq->to_tag)) {
		if (c->answered)
			return errorf("to-tag '%s' does not belong to call '%s'", rq->to_tag, rq->call_id);
		/* a different branch answered before the first answer: take it */
		free(c->leg[answerer].tag);
		c->leg[answerer].tag = NULL;
	}
	if (!c->leg[answerer].tag && !(c->leg[answerer].tag = strdup(rq->to_tag)))
		return commands_error("Out of memory");

	char err[256];
	if (sdp_parse_reuse(rq->sdp, rq->sdp_len, &d->sdp_scratch, err, sizeof(err)) < 0)
		return errorf("Failed to parse SDP: %s", err);
	const struct sdp_session *sdp = d->sdp_scratch;
	struct bval *r;
	if (sdp_media_count(sdp) != c->nmedia) {
		r = errorf("answer has %d m= lines, the offer had %d", sdp_media_count(sdp), c->nmedia);
		goto out;
	}
	struct call_leg *al = &c->leg[answerer], *ol = &c->leg[offerer];
	leg_addrs_from_sdp(rq, sdp, al->addr, c->nmedia);
	al->sdp_seen = true;
	bool mux_back[SDP_MAX_MEDIA];
	for (int m = 0; m < c->nmedia; m++) {
		const struct sdp_media *sm = sdp_media_get(sdp, m);
		al->addr[m].mux = sm->rtcp_mux && c->media[m].mux_to_answerer;
		bool omux = c->media[m].mux_offered &&
			(al->addr[m].mux || c->media[m].mux_accept ||
			 (rq->rtcp_mux & (NG_RTCPMUX_ACCEPT | NG_RTCPMUX_DEMUX))) &&
			!(rq->rtcp_mux & NG_RTCPMUX_REJECT);
		ol->addr[m].mux = omux;
		mux_back[m] = omux && c->media[m].active;
	}
	if (!c->answered)
		c->answered_ms = rg_now_ms();
	c->answered = true;
	c->last_signal_ms = rg_now_ms();
	c->last_signal_wall = time(NULL);
	LOGC(LOG_INFO, "call", c->call_id, "answer from tag %s", rq->to_tag);
	/* stages (SRTP contexts) reach the worker before the answerer's
	 * address: an SRTP party's packets are never taken unauthenticated */
	r = rewrite_towards(d, c, rq, sdp, offerer, mux_back, false);
	worker_post_update(c->w, c->ms, answerer, al->addr, c->nmedia);
	worker_post_update(c->w, c->ms, offerer, ol->addr, c->nmedia);
	codecs_answer_done(c);
out:
	return r;
}

/* ---- statistics of one call -------------------------------------------- */

static char *put_dec(char *p, unsigned v)
{
	char tmp[12], *q = tmp + sizeof(tmp);
	do {
		*--q = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (q < tmp + sizeof(tmp))
		*p++ = *q++;
	return p;
}

/* addr_str() for an endpoint, by hand for IPv4: inet_ntop and snprintf
 * were a third of a delete's reply. */
static const char *endpoint_str(const union rg_addr *a, char *buf, size_t len)
{
	if (a->sa.sa_family != AF_INET || len < sizeof("255.255.255.255:65535"))
		return addr_str(a, buf, len);
	const uint8_t *b = (const uint8_t *)&a->in.sin_addr;
	char *p = buf;
	for (int i = 0; i < 4; i++) {
		p = put_dec(p, b[i]);
		*p++ = i < 3 ? '.' : ':';
	}
	p = put_dec(p, ntohs(a->in.sin_port));
	*p = '\0';
	return buf;
}

struct pkt_totals {
	uint64_t packets, bytes, errors;
};

static uint64_t ld(_Atomic uint64_t *v) { return atomic_load_explicit(v, memory_order_relaxed); }

static uint64_t stream_errors(struct mstream *s)
{
	return ld(&s->c.drop_source) + ld(&s->c.drop_malformed) + ld(&s->c.drop_nopeer) +
	       ld(&s->c.drop_auth) + ld(&s->c.send_errors);
}

static void add_totals(struct bval *parent, const char *key, const struct pkt_totals *t)
{
	struct bval *x = bval_dict_add_dict(parent, key);
	bval_dict_add_int(x, "packets", (long long)t->packets);
	bval_dict_add_int(x, "bytes", (long long)t->bytes);
	bval_dict_add_int(x, "errors", (long long)t->errors);
}

static void add_call_stats(struct rg_daemon *d, struct call *c, struct bval *r)
{
	bval_dict_add_int(r, "created", (long long)c->created_wall);
	bval_dict_add_int(r, "last signal", (long long)c->last_signal_wall);
	struct pkt_totals tot[2] = { { 0 } };
	struct bval *tags = bval_dict_add_dict(r, "tags");
	for (int l = 0; l < 2; l++) {
		if (!c->leg[l].tag)
			continue;
		struct bval *leg = bval_dict_add_dict(tags, c->leg[l].tag);
		bval_dict_add(leg, "quality", quality_bval(c->ms, l));
		struct bval *medias = bval_dict_add_list(leg, "medias");
		for (int m = 0; m < c->nmedia; m++) {
			struct bval *md = bval_list_add(medias, bval_dict());
			bval_dict_add_str(md, "type", c->media[m].type);
			struct bval *streams = bval_dict_add_list(md, "streams");
			for (int k = 0; k < 2; k++) {
				struct mstream *s = msession_stream(c->ms, l, m, k);
				struct bval *sd = bval_list_add(streams, bval_dict());
				bval_dict_add_int(sd, "local port", s->port);
				const union rg_addr *ep = k == COMP_RTP ? &c->leg[l].addr[m].rtp
									: &c->leg[l].addr[m].rtcp;
				if (addr_is_set(ep)) {
					char a[80];
					bval_dict_add_str(sd, "endpoint", endpoint_str(ep, a, sizeof(a)));
				}
				struct pkt_totals t = { 0, 0, stream_errors(s) };
				kfwd_stream_in(s, &t.packets, &t.bytes);
				add_totals(sd, "stats", &t);
				tot[k].packets += t.packets;
				tot[k].bytes += t.bytes;
				tot[k].errors += t.errors;
			}
		}
	}
	struct bval *totals = bval_dict_add_dict(r, "totals");
	add_totals(totals, "RTP", &tot[COMP_RTP]);
	add_totals(totals, "RTCP", &tot[COMP_RTCP]);
	(void)d;
}

static struct bval *cmd_delete(struct rg_daemon *d, const struct ng_request *rq)
{
	struct call *c = call_find(d, rq->call_id);
	if (!c) {
		if (rq->flags & NG_F_FATAL)
			return errorf("Unknown call-id '%s'", rq->call_id);
		struct bval *r = reply_ok();
		bval_dict_add_str(r, "warning", "Call-ID not found or tags didn't match");
		return r;
	}
	long delay = rq->delete_delay >= 0 ? rq->delete_delay : d->cfg.delete_delay;
	/* the call ends now: its kernel entries come out first, so that the
	 * reply counts the kernel's last packets too (call_end's own take then
	 * finds nothing left) */
	if (delay <= 0)
		kfwd_session_take(c->w->kf, c->ms);
	struct bval *r = reply_ok();
	add_call_stats(d, c, r);
	if (delay > 0) {
		c->delete_at_ms = rg_now_ms() + (uint64_t)delay * 1000;
		LOGC(LOG_INFO, "call", c->call_id, "delete in %ld s", delay);
	} else {
		call_end(d, c, END_DELETE);
	}
	return r;
}

static struct bval *cmd_query(struct rg_daemon *d, const struct ng_request *rq)
{
	struct call *c = call_find(d, rq->call_id);
	if (!c)
		return errorf("Unknown call-id '%s'", rq->call_id);
	struct bval *r = reply_ok();
	add_call_stats(d, c, r);
	return r;
}

static struct bval *cmd_list(struct rg_daemon *d, const struct bval *req)
{
	long long limit = 32;
	const struct bval *lv = bval_get_loose(req, "limit");
	if (lv && (bval_as_int(lv, &limit) < 0 || limit < 0))
		return commands_error("'limit' is not a non-negative integer");
	struct bval *r = reply_ok();
	struct bval *calls = bval_dict_add_list(r, "calls");
	long long n = 0;
	for (struct call *c = d->calls_head; c && n < limit; c = c->next, n++)
		bval_list_add(calls, bval_str(c->call_id));
	return r;
}

/* ---- statistics of the relay ---------------------------------------- */

static struct bval *cmd_statistics(struct rg_daemon *d)
{
	struct bval *r = reply_ok();
	struct bval *s = bval_dict_add_dict(r, "statistics");
	uint64_t now = rg_now_ms();
	struct bval *ses = bval_dict_add_dict(s, "sessions");
	bval_dict_add_int(ses, "active", (long long)d->ncalls);
	bval_dict_add_int(ses, "created", (long long)d->stats.sessions_created);
	struct bval *ended = bval_dict_add_dict(ses, "ended");
	for (int i = 0; i < END__COUNT; i++)
		bval_dict_add_int(ended, end_reason_names[i], (long long)d->stats.sessions_ended[i]);
	bval_dict_add_int(s, "uptime", (long long)((now - d->started_ms) / 1000));

	struct bval *ports = bval_dict_add_list(s, "ports");
	unsigned used = 0, freep = 0;
	for (int i = 0; i < d->nifaces; i++) {
		struct iface *f = &d->ifaces[i];
		unsigned u = ports_in_use(f->pool), rest = ports_resting(f->pool, now);
		unsigned fr = ports_total(f->pool) - u - rest;
		struct bval *p = bval_list_add(ports, bval_dict());
		char a[64];
		bval_dict_add_str(p, "interface", f->name);
		bval_dict_add_str(p, "address", addr_ip_str(&f->local, a, sizeof(a)));
		bval_dict_add_int(p, "used", u);
		bval_dict_add_int(p, "free", fr);
		bval_dict_add_int(p, "resting", rest);
		bval_dict_add_int(p, "total", ports_total(f->pool));
		used += u;
		freep += fr;
	}
	bval_dict_add_int(s, "ports used", used);
	bval_dict_add_int(s, "ports free", freep);

	uint64_t pk = 0, by = 0, ds = 0, dm = 0, dn = 0, se = 0, rc = 0, da = 0, kp = 0, ks = 0;
	struct bval *ws = bval_dict_add_list(s, "workers");
	for (int i = 0; i < d->nworkers; i++) {
		struct worker_stats *w = &d->workers[i].stats;
		pk += ld(&w->pkts_relayed);
		by += ld(&w->bytes_relayed);
		ds += ld(&w->drop_source);
		dm += ld(&w->drop_malformed);
		dn += ld(&w->drop_nopeer);
		da += ld(&w->drop_auth);
		se += ld(&w->send_errors);
		rc += ld(&w->rtcp_relayed);
		kp += ld(&w->kfwd_pkts);
		ks += (uint64_t)atomic_load_explicit(&w->kfwd_streams, memory_order_relaxed);
		struct bval *wd = bval_list_add(ws, bval_dict());
		/* the control thread's own count: a worker learns of a burst's
		 * calls a moment later (worker_wake), its counter lags */
		bval_dict_add_int(wd, "sessions", d->workers[i].ctl_calls);
		uint64_t run = ld(&w->run_ns), idle = ld(&w->idle_ns);
		bval_dict_add_int(wd, "busy permille", run ? (long long)((run - (idle < run ? idle : run)) * 1000 / run) : 0);
	}
	struct bval *pd = bval_dict_add_dict(s, "packets");
	bval_dict_add_int(pd, "relayed", (long long)pk);
	bval_dict_add_int(pd, "bytes", (long long)by);
	bval_dict_add_int(pd, "rtcp", (long long)rc);
	/* kernel forwarding: part of "relayed", counted by the kernel and
	 * read by the workers once a second */
	struct bval *kd = bval_dict_add_dict(pd, "kernel");
	bval_dict_add_int(kd, "on", d->kf != NULL);
	bval_dict_add_int(kd, "relayed", (long long)kp);
	bval_dict_add_int(kd, "streams", (long long)ks);
	struct bval *dr = bval_dict_add_dict(pd, "dropped");
	bval_dict_add_int(dr, "bad source", (long long)ds);
	bval_dict_add_int(dr, "malformed", (long long)dm);
	bval_dict_add_int(dr, "no peer", (long long)dn);
	bval_dict_add_int(dr, "auth", (long long)da);
	bval_dict_add_int(dr, "send error", (long long)se);

	struct bval *cm = bval_dict_add_dict(s, "commands");
	for (int i = 1; i < NG_CMD__COUNT; i++) {
		struct bval *x = bval_dict_add(cm, ng_cmd_name(i), bval_dict());
		bval_dict_add_int(x, "count", (long long)d->stats.commands[i]);
		bval_dict_add_int(x, "errors", (long long)d->stats.command_errors[i]);
	}
	struct bval *ctl = bval_dict_add_dict(s, "control");
	bval_dict_add_int(ctl, "unknown commands", (long long)d->stats.commands[NG_CMD_UNKNOWN]);
	bval_dict_add_int(ctl, "malformed", (long long)d->stats.ng_malformed);
	bval_dict_add_int(ctl, "dropped", (long long)d->stats.ng_dropped);
	bval_dict_add_int(ctl, "duplicates", (long long)d->stats.ng_duplicates);
	bval_dict_add_int(ctl, "ports exhausted", (long long)d->stats.ports_exhausted);
	bval_dict_add_int(ctl, "load limited", (long long)d->stats.load_limited);
	return r;
}

/* ---- dispatch ------------------------------------------------------------ */

struct bval *commands_handle(struct rg_daemon *d, const struct bval *req)
{
	struct ng_request rq;
	char err[256];
	if (!req || bval_type(req) != BVAL_DICT) {
		d->stats.ng_malformed++;
		return commands_error("Request is not a dictionary");
	}
	if (ng_request_decode(req, &rq, err, sizeof(err)) < 0) {
		d->stats.ng_malformed++;
		return commands_error(err);
	}
	d->stats.commands[rq.cmd]++;
	struct bval *r;
	switch (rq.cmd) {
	case NG_PING:
		r = bval_dict();
		bval_dict_add_str(r, "result", "pong");
		return r;
	case NG_LIST:
		r = cmd_list(d, req);
		break;
	case NG_DRAIN:
		if (!d->draining)
			LOG(LOG_NOTICE, "core", "drain requested: refusing new calls, %zu still up", d->ncalls);
		d->draining = true;
		r = reply_ok();
		bval_dict_add_int(r, "calls", (long long)d->ncalls);
		break;
	case NG_STATISTICS:
		r = cmd_statistics(d);
		break;
	case NG_OFFER:
	case NG_ANSWER:
	case NG_DELETE:
	case NG_QUERY:
		if (!rq.call_id || !rq.call_id[0]) {
			r = commands_error("missing key: call-id");
			break;
		}
		if (rq.cmd != NG_QUERY && (!rq.from_tag || !rq.from_tag[0])) {
			r = commands_error("missing key: from-tag");
			break;
		}
		r = rq.cmd == NG_OFFER ? cmd_offer(d, &rq)
		  : rq.cmd == NG_ANSWER ? cmd_answer(d, &rq)
		  : rq.cmd == NG_DELETE ? cmd_delete(d, &rq) : cmd_query(d, &rq);
		break;
	default:
		d->stats.command_errors[NG_CMD_UNKNOWN]++;
		return commands_error("Unrecognized command");
	}
	if (!r)
		return NULL;
	const char *res = bval_as_str(bval_get(r, "result"), NULL);
	if (res && !strcmp(res, "error")) {
		d->stats.command_errors[rq.cmd]++;
		LOGC(LOG_NOTICE, "control", rq.call_id, "%s failed: %s", ng_cmd_name(rq.cmd),
		     bval_as_str(bval_get(r, "error-reason"), NULL));
	}
	return r;
}
