/* rtpp.c - the rtpproxy protocol; see rtpp.h.
 *
 * rtpproxy carries no SDP: a U (offer) or L (answer) names one party's
 * address and port. We turn it into the smallest SDP that says the same
 * ("c=IN IP4 ADDR", "m=audio PORT RTP/AVP PTS"), run it as an ng
 * offer/answer through commands_handle(), and read our port and address
 * back from the SDP that comes out. So rtpproxy calls are ordinary rtpgate
 * calls: list/query/delete, timeouts, metrics and drain all see them.
 *
 * Tags: the first tag of U/L is the party that made the offer, the second
 * the one that answers (Kamailio swaps the From/To tags for late offers so
 * this holds); U carries the offerer's address, L the answerer's. A ";N"
 * suffix numbers the m= line; media N > 1 becomes its own call "CALLID/N".
 *
 * Transports (ctlsock.c, with the rtpproxy table at the end of this file):
 * on the UNIX socket, like rtpproxy, one read is one command (Kamailio
 * writes the command in one writev() and does not close its side before
 * reading): the first chunk is answered, our side shuts down, and the
 * connection closes at the peer's EOF. On UDP the first token is a cookie
 * that the reply echoes; replies are cached by (source, cookie) so a
 * retransmission is never run twice, and leave at once (no batching).
 */
#include "rtpp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bencode.h"
#include "call.h"
#include "commands.h"
#include "ctlsock.h"
#include "log.h"
#include "metrics.h"
#include "replycache.h"
#include "sdp.h"
#include "session.h"

#define RTPP_VERSION "20040107"
#define RTPP_REPLY_TTL_MS 60000

struct rtpp_ctl {
	struct rg_daemon *d;
	struct ctlsock *sock;        /* the UDP and UNIX sockets */
	uv_timer_t timer;            /* expires the reply cache */
	struct replycache *replies;
	struct rtpp_stats stats;
};

/* ---- handlers ----------------------------------------------------------- */

static void call_name(const struct rtpp_cmd *c, int medianum, char *out, size_t n)
{
	if (medianum <= 1)
		snprintf(out, n, "%s", c->call_id);
	else
		snprintf(out, n, "%s/%d", c->call_id, medianum);
}

/* Runs a request through the ng command layer and frees it. */
static struct bval *run_ng(struct rg_daemon *d, struct bval *req)
{
	if (!req)
		return NULL;
	uint64_t t0 = uv_hrtime();
	struct bval *r = commands_handle(d, req);
	metrics_observe_command(d, req, uv_hrtime() - t0);
	bval_free(req);
	return r;
}

static int reply_code_for(const char *reason)
{
	if (!reason)
		return 5;
	if (strstr(reason, "Ran out of ports") || strstr(reason, "session limit") ||
	    strstr(reason, "load limit"))
		return 7;
	if (strstr(reason, "Unknown call-id") || strstr(reason, "does not belong"))
		return 8;
	return 5;
}

static void offer_answer(struct rg_daemon *d, const struct rtpp_cmd *c, struct rg_buf *out)
{
	char cid[RTPP_MAX_CALLID + 8];
	call_name(c, c->medianum, cid, sizeof(cid));
	if (c->op == RTPP_L && !c->to_tag) {
		buf_puts(out, "E1\n");
		return;
	}
	if (c->op == RTPP_L && !call_find(d, cid)) {
		buf_puts(out, "E8\n");
		return;
	}
	const char *fam = c->ipv6 ? "IP6" : "IP4";
	struct rg_buf sdp;
	buf_init(&sdp);
	buf_printf(&sdp, "v=0\r\no=- 1 1 IN %s %s\r\ns=-\r\nc=IN %s %s\r\nt=0 0\r\nm=audio %d RTP/AVP",
		   fam, c->addr, fam, c->addr, c->port);
	if (!c->npts)
		buf_puts(&sdp, " 0");
	for (int i = 0; i < c->npts; i++)
		buf_printf(&sdp, " %d", c->pts[i]);
	buf_puts(&sdp, "\r\n");
	if (c->ptime)
		buf_printf(&sdp, "a=ptime:%d\r\n", c->ptime);

	struct bval *req = bval_dict();
	bval_dict_add_str(req, "command", c->op == RTPP_U ? "offer" : "answer");
	bval_dict_add_str(req, "call-id", cid);
	bval_dict_add_str(req, "from-tag", c->from_tag);
	if (c->to_tag)
		bval_dict_add_str(req, "to-tag", c->to_tag);
	bval_dict_add(req, "sdp", bval_strn(sdp.data, sdp.len));
	struct bval *fl = bval_dict_add(req, "flags", bval_list());
	if (c->asymmetric)
		bval_list_add(fl, bval_str("asymmetric"));
	if (c->dir[0]) {
		struct bval *dl = bval_dict_add(req, "direction", bval_list());
		for (int i = 0; i < 2 && c->dir[i]; i++)
			bval_list_add(dl, bval_str(c->dir[i] == 'i' ? "internal" : "external"));
	}
	if (c->ptime)
		bval_dict_add_int(req, "ptime", c->ptime);
	bool oom = !buf_ok(&sdp);
	buf_free(&sdp);
	if (oom) {
		bval_free(req);
		buf_puts(out, "E5\n");
		return;
	}
	struct bval *r = run_ng(d, req);
	const char *res = bval_as_str(bval_get(r, "result"), NULL);
	size_t slen = 0;
	const char *body = bval_as_str(bval_get(r, "sdp"), &slen);
	if (!res || strcmp(res, "ok") || !body) {
		const char *why = bval_as_str(bval_get(r, "error-reason"), NULL);
		if (res && !strcmp(res, "load limit"))
			why = "load limit";
		LOGC(LOG_NOTICE, "rtpp", cid, "%s failed: %s", rtpp_op_name(c->op), why ? why : "no reply");
		buf_printf(out, "E%d\n", reply_code_for(why));
		bval_free(r);
		return;
	}
	struct sdp_session *s = NULL;
	char err[128];
	if (sdp_parse(body, slen, &s, err, sizeof(err)) < 0 || sdp_media_count(s) < 1) {
		LOGC(LOG_ERR, "rtpp", cid, "cannot read our own SDP: %s", err);
		buf_puts(out, "E5\n");
	} else {
		const struct sdp_media *m = sdp_media_get(s, 0);
		if (m->family == AF_INET6)
			buf_printf(out, "%d %s 6\n", m->port, m->addr);
		else if (m->addr[0])
			buf_printf(out, "%d %s\n", m->port, m->addr);
		else
			buf_printf(out, "%d\n", m->port);
		LOGC(LOG_INFO, "rtpp", cid, "%s %s:%d tag %s -> port %d", rtpp_op_name(c->op),
		     c->addr, c->port, c->from_tag, m->port);
	}
	sdp_free(s);
	bval_free(r);
}

static void cmd_delete(struct rg_daemon *d, const struct rtpp_cmd *c, struct rg_buf *out)
{
	int found = 0;
	for (int n = 1; n <= RTPP_MAX_MEDIA; n++) {
		char cid[RTPP_MAX_CALLID + 8];
		call_name(c, n, cid, sizeof(cid));
		struct call *cl = call_find(d, cid);
		if (!cl)
			continue;
		/* ng delete wants a tag of the call: use the leg that exists */
		const char *tag = call_leg_of(cl, c->from_tag) >= 0 ? c->from_tag
				: c->to_tag && call_leg_of(cl, c->to_tag) >= 0 ? c->to_tag
				: cl->leg[0].tag;
		struct bval *req = bval_dict();
		bval_dict_add_str(req, "command", "delete");
		bval_dict_add_str(req, "call-id", cid);
		bval_dict_add_str(req, "from-tag", tag ? tag : "-");
		bval_free(run_ng(d, req));
		found++;
	}
	LOGC(LOG_INFO, "rtpp", c->call_id, "D: %d media deleted", found);
	buf_puts(out, found ? "0\n" : "E8\n");
}

static uint64_t ld(_Atomic uint64_t *v) { return atomic_load_explicit(v, memory_order_relaxed); }

static void cmd_query(struct rg_daemon *d, const struct rtpp_cmd *c, struct rg_buf *out)
{
	char cid[RTPP_MAX_CALLID + 8];
	call_name(c, 1, cid, sizeof(cid));
	struct call *cl = call_find(d, cid);
	if (!cl) {
		buf_puts(out, "E8\n");
		return;
	}
	uint64_t in[2] = { 0, 0 }, relayed = 0, dropped = 0;
	for (int l = 0; l < 2; l++)
		for (int m = 0; m < cl->nmedia; m++)
			for (int k = 0; k < 2; k++) {
				struct mstream *s = msession_stream(cl->ms, l, m, k);
				in[l] += ld(&s->c.pkts_in);
				relayed += ld(&s->c.pkts_out);
				dropped += ld(&s->c.drop_source) + ld(&s->c.drop_malformed) +
					   ld(&s->c.drop_nopeer) + ld(&s->c.send_errors);
			}
	uint64_t now = rg_now_ms(), last = call_last_media_ms(cl);
	if (!last)
		last = cl->last_signal_ms;
	long idle = now > last ? (long)((now - last) / 1000) : 0;
	long ttl = d->cfg.timeout - idle;
	buf_printf(out, "%ld %llu %llu %llu %llu\n", ttl > 0 ? ttl : 0, (unsigned long long)in[0],
		   (unsigned long long)in[1], (unsigned long long)relayed, (unsigned long long)dropped);
}

static void cmd_info(struct rg_daemon *d, struct rg_buf *out)
{
	size_t streams = 0;
	for (struct call *cl = d->calls_head; cl; cl = cl->next)
		streams += (size_t)cl->nmedia * 2;
	uint64_t pk = 0;
	for (int i = 0; i < d->nworkers; i++)
		pk += ld(&d->workers[i].stats.pkts_relayed);
	buf_printf(out, "sessions created: %llu\nactive sessions: %zu\nactive streams: %zu\n"
		   "packets relayed: %llu\n",
		   (unsigned long long)d->stats.sessions_created, d->ncalls, streams,
		   (unsigned long long)pk);
}

static struct rtpp_stats *stats_of(struct rg_daemon *d)
{
	return d->rtpp ? &d->rtpp->stats : NULL;
}

void rtpp_run(struct rg_daemon *d, const char *text, size_t len, struct rg_buf *out)
{
	struct rtpp_cmd *c = malloc(sizeof(*c));
	struct rtpp_stats *st = stats_of(d);
	size_t start = out->len;
	char err[160];
	if (!c) {
		buf_puts(out, "E5\n");
		goto done;
	}
	int r = rtpp_parse(text, len, c, err, sizeof(err));
	if (r < 0) {
		LOG_RL(LOG_NOTICE, "rtpp", NULL, "bad command: %s", err);
		buf_printf(out, "E%d\n", -r);
		goto done;
	}
	if (st)
		st->commands[c->op]++;
	switch (c->op) {
	case RTPP_V:
		buf_puts(out, RTPP_VERSION "\n");
		break;
	case RTPP_VF:
		buf_puts(out, rtpp_has_capability(c->date) ? "1\n" : "0\n");
		break;
	case RTPP_U:
	case RTPP_L:
		offer_answer(d, c, out);
		break;
	case RTPP_D:
		cmd_delete(d, c, out);
		break;
	case RTPP_Q:
		cmd_query(d, c, out);
		break;
	case RTPP_I:
		cmd_info(d, out);
		break;
	case RTPP_X:
		LOG(LOG_NOTICE, "rtpp", "X: ending all %zu calls", d->ncalls);
		while (d->calls_head)
			call_end(d, d->calls_head, END_DELETE);
		buf_puts(out, "0\n");
		break;
	case RTPP_OP__COUNT:
		break;
	}
done:
	if (st && out->len > start && out->data[start] == 'E')
		st->errors++;
	free(c);
	/* the workers hear of the command before its reply leaves, as over ng:
	 * a party that sends media the moment it reads the reply must find the
	 * new addresses in place */
	calls_wake_workers(d);
}

const struct rtpp_stats *rtpp_get_stats(const struct rg_daemon *d)
{
	return d->rtpp ? &d->rtpp->stats : NULL;
}

/* ---- the rtpproxy table of the transport -------------------------------- */

/* "<cookie> <command>": the cookie is the first token (within 256 bytes) */
static int udp_split(const char *p, size_t n, struct ctlsock_frame *f)
{
	const char *sp = memchr(p, ' ', n < 256 ? n : 256);
	if (!sp || sp == p)
		return -EINVAL;
	*f = (struct ctlsock_frame){ p, (size_t)(sp - p), sp + 1, n - (size_t)(sp - p) - 1, 0 };
	return 0;
}

static void udp_run(void *ctx, const struct ctlsock_frame *f, size_t n, struct rg_buf *out)
{
	struct rtpp_ctl *x = ctx;
	(void)n;
	rtpp_run(x->d, f->body, f->body_len, out);
}

/* one read is one command, as with rtpproxy */
static int unix_run(void *ctx, const char *p, size_t n, bool eof, struct rg_buf *out)
{
	struct rtpp_ctl *x = ctx;
	(void)eof;
	rtpp_run(x->d, p, n, out);
	return 1;
}

static const struct ctlsock_proto rtpp_proto = {
	.subsys = "rtpp", .name = "rtpproxy", .udp_what = "rtpproxy command",
	.udp_option = "--listen-rtpp", .unix_option = "--listen-rtpp-unix", .default_port = 7722,
	/* every source may send, and each reply leaves at once */
	.udp_max = RTPP_MAX_LINE + 512, .udp_batch = 1, .udp_allowed = NULL,
	.udp_split = udp_split, .udp_run = udp_run,
	/* like ng's: the directory made, --unix-mode/--unix-owner/--unix-group
	 * applied, so a proxy running as its own user can reach it */
	.unix_read = RTPP_MAX_LINE + 2, .unix_half_close = true, .unix_own = true, .unix_run = unix_run,
};

/* ---- open/close ---------------------------------------------------------- */

static void on_timer(uv_timer_t *t)
{
	struct rtpp_ctl *x = t->data;
	replycache_expire(x->replies, rg_now_ms());
}

int rtpp_open(struct rg_daemon *d)
{
	const char *udp = d->cfg.listen_rtpp, *path = d->cfg.listen_rtpp_unix;
	if ((!udp || !udp[0]) && (!path || !path[0]))
		return 0;
	struct rtpp_ctl *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->d = d;
	d->rtpp = x;
	uv_timer_init(d->loop, &x->timer);
	x->timer.data = x;
	int r = replycache_new(&x->replies, RTPP_REPLY_TTL_MS, 100000);
	if (r < 0)
		return r;
	uv_timer_start(&x->timer, on_timer, 1000, 1000);
	struct ctlsock_counters cn = { NULL, &x->stats.duplicates };
	return ctlsock_open(&x->sock, d, &rtpp_proto, x, x->replies, cn, udp, path);
}

static void ctl_closed(uv_handle_t *h)
{
	struct rtpp_ctl *x = h->data;
	replycache_free(x->replies);
	free(x);
}

void rtpp_close(struct rg_daemon *d)
{
	struct rtpp_ctl *x = d->rtpp;
	if (!x)
		return;
	d->rtpp = NULL;
	/* the sockets go first: no request reaches x once its timer has closed */
	ctlsock_close(x->sock);
	uv_close((uv_handle_t *)&x->timer, ctl_closed);
}
