/* metrics.c - the Prometheus endpoint; see metrics.h and docs/metrics.md.
 *
 * A scrape builds the whole text in one buffer on the control thread and
 * hands it to libmicrohttpd, which frees it. Sources: the control thread's
 * struct ctl_stats and call table, the port pools, the rtpproxy counters,
 * the latency histogram kept here, and the workers' relaxed-atomic
 * counters (summed; a scrape may see one worker a packet ahead of another,
 * which Prometheus counters tolerate).
 */
#include "metrics.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "log.h"
#include "negotiate.h"
#include "ports.h"
#include "rtpp.h"
#include "worker.h"

struct metrics {
	struct rg_daemon *d;
	struct MHD_Daemon *mhd;
	uv_poll_t poll;
	uv_timer_t timer;
	bool have_poll;
	int closing;
	uint64_t scrapes;
	struct metrics_latency lat;
};

static const unsigned lat_bounds_us[METRICS_LAT_BUCKETS] = {
	50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 1000000,
};

/* Pairs always exposed (0 when idle), so dashboards have the series before
 * the first transcoded call; pairs of other codecs appear when used. */
static const char *const xcode_codecs[] = { "PCMU", "PCMA", "G729", "opus" };
#define XPAIRS_MAX 64

void metrics_observe_command(struct rg_daemon *d, const struct bval *req, uint64_t ns)
{
	struct metrics *m = d->metrics;
	if (!m)
		return;
	enum ng_cmd c = ng_cmd_lookup(bval_as_str(bval_get_loose(req, "command"), NULL));
	unsigned us = (unsigned)(ns / 1000 > 0xffffffffu ? 0xffffffffu : ns / 1000);
	int b = 0;
	while (b < METRICS_LAT_BUCKETS && us > lat_bounds_us[b])
		b++;
	m->lat.bucket[c][b]++;
	m->lat.count[c]++;
	m->lat.sum_ns[c] += ns;
}

static uint64_t ld(const _Atomic uint64_t *v)
{
	return atomic_load_explicit((_Atomic uint64_t *)v, memory_order_relaxed);
}

static void help(struct rg_buf *o, const char *name, const char *type, const char *text)
{
	buf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

static void one(struct rg_buf *o, const char *name, const char *type, const char *text, uint64_t v)
{
	help(o, name, type, text);
	buf_printf(o, "%s %llu\n", name, (unsigned long long)v);
}

/* Label values: our own names and IPs, but escape anyway. */
static void label(struct rg_buf *o, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_putc(o, '\\');
		if (*s == '\n')
			buf_puts(o, "\\n");
		else
			buf_putc(o, *s);
	}
}

void metrics_render(struct rg_daemon *d, struct rg_buf *o)
{
	const struct ctl_stats *st = &d->stats;
	uint64_t now = rg_now_ms();
	one(o, "rtpgate_up", "gauge", "1 while the daemon runs", 1);
	one(o, "rtpgate_uptime_seconds", "gauge", "seconds since start", (now - d->started_ms) / 1000);
	one(o, "rtpgate_draining", "gauge", "1 while draining (new offers refused)", d->draining);

	one(o, "rtpgate_sessions_active", "gauge", "calls now up", d->ncalls);
	one(o, "rtpgate_sessions_created_total", "counter", "calls created by an offer or U", st->sessions_created);
	help(o, "rtpgate_sessions_ended_total", "counter", "calls ended, by reason");
	for (int i = 0; i < END__COUNT; i++)
		buf_printf(o, "rtpgate_sessions_ended_total{reason=\"%s\"} %llu\n", end_reason_names[i],
			   (unsigned long long)st->sessions_ended[i]);
	/* "A>B" per transcoded media of every call (negotiate.c) */
	struct { char pair[48]; unsigned n; } xp[XPAIRS_MAX];
	size_t nxp = 0, nc = sizeof(xcode_codecs) / sizeof(xcode_codecs[0]);
	for (size_t a = 0; a < nc; a++)
		for (size_t b = 0; b < nc; b++)
			if (a != b && nxp < XPAIRS_MAX) {
				snprintf(xp[nxp].pair, sizeof(xp[nxp].pair), "%s>%s", xcode_codecs[a], xcode_codecs[b]);
				xp[nxp++].n = 0;
			}
	for (struct call *c = d->calls_head; c; c = c->next)
		for (int m = 0; m < c->nmedia; m++) {
			const char *p = codecs_pair(c, m);
			if (!p)
				continue;
			size_t i = 0;
			while (i < nxp && strcmp(xp[i].pair, p))
				i++;
			if (i == nxp && nxp < XPAIRS_MAX) {
				snprintf(xp[nxp].pair, sizeof(xp[nxp].pair), "%s", p);
				xp[nxp++].n = 0;
			}
			if (i < nxp)
				xp[i].n++;
		}
	help(o, "rtpgate_transcoded_sessions", "gauge", "media streams now transcoding, by codec pair");
	for (size_t i = 0; i < nxp; i++) {
		const char *gt = strchr(xp[i].pair, '>');
		if (!gt)
			continue;
		buf_puts(o, "rtpgate_transcoded_sessions{from=\"");
		for (const char *q = xp[i].pair; q < gt; q++)
			buf_putc(o, *q == '"' || *q == '\\' ? '_' : *q);
		buf_puts(o, "\",to=\"");
		label(o, gt + 1);
		buf_printf(o, "\"} %u\n", xp[i].n);
	}

	static const char *const pnames[] = { "rtpgate_ports_used", "rtpgate_ports_free",
					      "rtpgate_ports_resting", "rtpgate_ports_total" };
	static const char *const phelp[] = { "media ports bound by calls", "media ports ready for new calls",
					     "media ports released and resting (quarantine)",
					     "media ports in the range" };
	for (int k = 0; k < 4; k++) {
		help(o, pnames[k], "gauge", phelp[k]);
		for (int i = 0; i < d->nifaces; i++) {
			struct iface *f = &d->ifaces[i];
			unsigned u = ports_in_use(f->pool), r = ports_resting(f->pool, now), t = ports_total(f->pool);
			unsigned v = k == 0 ? u : k == 1 ? t - u - r : k == 2 ? r : t;
			char a[64];
			buf_printf(o, "%s{interface=\"", pnames[k]);
			label(o, f->name);
			buf_puts(o, "\",address=\"");
			label(o, addr_ip_str(&f->local, a, sizeof(a)));
			buf_printf(o, "\"} %u\n", v);
		}
	}

	uint64_t pk = 0, by = 0, rc = 0, ds = 0, dm = 0, dn = 0, da = 0, se = 0, tc = 0, kp = 0, ks = 0;
	for (int i = 0; i < d->nworkers; i++) {
		const struct worker_stats *w = &d->workers[i].stats;
		pk += ld(&w->pkts_relayed);
		by += ld(&w->bytes_relayed);
		rc += ld(&w->rtcp_relayed);
		ds += ld(&w->drop_source);
		dm += ld(&w->drop_malformed);
		dn += ld(&w->drop_nopeer);
		da += ld(&w->drop_auth);
		se += ld(&w->send_errors);
		tc += ld(&w->transcoded);
		kp += ld(&w->kfwd_pkts);
		ks += (uint64_t)atomic_load_explicit(&w->kfwd_streams, memory_order_relaxed);
	}
	one(o, "rtpgate_packets_relayed_total", "counter", "RTP and RTCP packets sent on to the other leg", pk);
	one(o, "rtpgate_bytes_relayed_total", "counter", "bytes of the packets sent on", by);
	one(o, "rtpgate_rtcp_packets_relayed_total", "counter", "RTCP packets among them", rc);
	one(o, "rtpgate_kernel_relayed_packets_total", "counter",
	    "RTP packets among them relayed by the kernel (--kernel-forward; read once a second)", kp);
	one(o, "rtpgate_kernel_streams", "gauge", "RTP directions the kernel relays now", ks);
	one(o, "rtpgate_transcoded_packets_total", "counter", "packets the transcoders produced", tc);
	help(o, "rtpgate_packets_dropped_total", "counter", "packets not relayed, by reason");
	const struct { const char *why; uint64_t v; } drops[] = {
		{ "bad_source", ds }, { "malformed", dm }, { "auth_failure", da },
		{ "no_peer", dn }, { "no_session", 0 }, { "send_error", se },
	};
	for (size_t i = 0; i < sizeof(drops) / sizeof(drops[0]); i++)
		buf_printf(o, "rtpgate_packets_dropped_total{reason=\"%s\"} %llu\n", drops[i].why,
			   (unsigned long long)drops[i].v);

	help(o, "rtpgate_control_commands_total", "counter", "ng commands run, by command");
	for (int c = 0; c < NG_CMD__COUNT; c++)
		buf_printf(o, "rtpgate_control_commands_total{command=\"%s\"} %llu\n", ng_cmd_name(c),
			   (unsigned long long)st->commands[c]);
	help(o, "rtpgate_control_errors_total", "counter", "ng commands answered with an error, by command");
	for (int c = 0; c < NG_CMD__COUNT; c++)
		buf_printf(o, "rtpgate_control_errors_total{command=\"%s\"} %llu\n", ng_cmd_name(c),
			   (unsigned long long)st->command_errors[c]);
	help(o, "rtpgate_control_requests_rejected_total", "counter",
	     "ng requests not run, by reason");
	buf_printf(o, "rtpgate_control_requests_rejected_total{reason=\"malformed\"} %llu\n"
		   "rtpgate_control_requests_rejected_total{reason=\"dropped\"} %llu\n"
		   "rtpgate_control_requests_rejected_total{reason=\"duplicate\"} %llu\n"
		   "rtpgate_control_requests_rejected_total{reason=\"load_limit\"} %llu\n"
		   "rtpgate_control_requests_rejected_total{reason=\"ports_exhausted\"} %llu\n",
		   (unsigned long long)st->ng_malformed, (unsigned long long)st->ng_dropped,
		   (unsigned long long)st->ng_duplicates, (unsigned long long)st->load_limited,
		   (unsigned long long)st->ports_exhausted);
	struct metrics *m = d->metrics;
	help(o, "rtpgate_control_latency_seconds", "histogram", "time to run an ng command, by command");
	for (int c = 0; m && c < NG_CMD__COUNT; c++) {
		uint64_t cum = 0;
		for (int b = 0; b <= METRICS_LAT_BUCKETS; b++) {
			cum += m->lat.bucket[c][b];
			if (b < METRICS_LAT_BUCKETS)
				buf_printf(o, "rtpgate_control_latency_seconds_bucket{command=\"%s\",le=\"%g\"} %llu\n",
					   ng_cmd_name(c), lat_bounds_us[b] / 1e6, (unsigned long long)cum);
			else
				buf_printf(o, "rtpgate_control_latency_seconds_bucket{command=\"%s\",le=\"+Inf\"} %llu\n",
					   ng_cmd_name(c), (unsigned long long)cum);
		}
		buf_printf(o, "rtpgate_control_latency_seconds_sum{command=\"%s\"} %.6f\n"
			   "rtpgate_control_latency_seconds_count{command=\"%s\"} %llu\n",
			   ng_cmd_name(c), m->lat.sum_ns[c] / 1e9, ng_cmd_name(c),
			   (unsigned long long)m->lat.count[c]);
	}

	const struct rtpp_stats *rs = rtpp_get_stats(d);
	help(o, "rtpgate_rtpproxy_commands_total", "counter", "rtpproxy-protocol commands run, by command");
	for (int c = 0; c < RTPP_OP__COUNT; c++)
		buf_printf(o, "rtpgate_rtpproxy_commands_total{command=\"%s\"} %llu\n", rtpp_op_name(c),
			   (unsigned long long)(rs ? rs->commands[c] : 0));
	one(o, "rtpgate_rtpproxy_errors_total", "counter", "rtpproxy-protocol commands answered with E<code>",
	    rs ? rs->errors : 0);

	help(o, "rtpgate_worker_sessions", "gauge", "calls pinned to each media worker");
	for (int i = 0; i < d->nworkers; i++)
		/* the control thread's own count (metrics run on its loop): the
		 * worker's counter lags a burst by one wakeup */
		buf_printf(o, "rtpgate_worker_sessions{worker=\"%d\"} %d\n", i,
			   d->workers[i].ctl_calls);
	help(o, "rtpgate_worker_run_seconds_total", "counter", "wall time each worker loop has run");
	for (int i = 0; i < d->nworkers; i++)
		buf_printf(o, "rtpgate_worker_run_seconds_total{worker=\"%d\"} %.3f\n", i,
			   ld(&d->workers[i].stats.run_ns) / 1e9);
	help(o, "rtpgate_worker_idle_seconds_total", "counter", "time each worker loop waited for events");
	for (int i = 0; i < d->nworkers; i++)
		buf_printf(o, "rtpgate_worker_idle_seconds_total{worker=\"%d\"} %.3f\n", i,
			   ld(&d->workers[i].stats.idle_ns) / 1e9);
	help(o, "rtpgate_worker_utilisation", "gauge", "busy share of each worker loop since start, 0..1");
	for (int i = 0; i < d->nworkers; i++) {
		uint64_t run = ld(&d->workers[i].stats.run_ns), idle = ld(&d->workers[i].stats.idle_ns);
		double u = run ? (double)(run - (idle < run ? idle : run)) / (double)run : 0.0;
		buf_printf(o, "rtpgate_worker_utilisation{worker=\"%d\"} %.4f\n", i, u);
	}
	one(o, "rtpgate_metrics_scrapes_total", "counter", "scrapes of this endpoint", m ? m->scrapes : 0);
}

/* ---- HTTP ----------------------------------------------------------------- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct metrics *m = cls;
	(void)version;
	(void)upload;
	(void)con_cls;
	if (*upload_size)
		*upload_size = 0;
	struct MHD_Response *resp;
	unsigned code;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		static char msg[] = "only GET\n";
		resp = MHD_create_response_from_buffer(sizeof(msg) - 1, msg, MHD_RESPMEM_PERSISTENT);
		code = MHD_HTTP_METHOD_NOT_ALLOWED;
	} else if (strcmp(url, "/metrics")) {
		static char msg[] = "rtpgate: metrics are at /metrics\n";
		resp = MHD_create_response_from_buffer(sizeof(msg) - 1, msg, MHD_RESPMEM_PERSISTENT);
		code = MHD_HTTP_NOT_FOUND;
	} else {
		struct rg_buf b;
		buf_init(&b);
		m->scrapes++;
		metrics_render(m->d, &b);
		if (!buf_ok(&b)) {
			buf_free(&b);
			return MHD_NO;
		}
		size_t len;
		char *data = buf_steal(&b, &len);
		resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
		if (!resp)
			free(data);
		code = MHD_HTTP_OK;
		if (resp)
			MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
	}
	if (!resp)
		return MHD_NO;
	enum MHD_Result r = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return r;
}

static void drive(struct metrics *m);

static void on_timer(uv_timer_t *t)
{
	drive(t->data);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	(void)status;
	(void)events;
	drive(p->data);
}

/* Lets MHD do what is due, then sleeps until its next timeout. */
static void drive(struct metrics *m)
{
	if (!m->mhd)
		return;
	MHD_run(m->mhd);
	MHD_UNSIGNED_LONG_LONG to;
	if (MHD_get_timeout(m->mhd, &to) == MHD_YES)
		uv_timer_start(&m->timer, on_timer, to, 0);
	else
		uv_timer_stop(&m->timer);
}

int metrics_open(struct rg_daemon *d)
{
	const char *spec = d->cfg.listen_http;
	if (!spec || !spec[0])
		return 0;
	union rg_addr a;
	if (addr_parse_hostport(&a, spec, 9900) < 0) {
		LOG(LOG_ERR, "metrics", "--listen-http: '%s' is not IP:PORT", spec);
		return -EINVAL;
	}
	struct metrics *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->d = d;
	d->metrics = m;
	uv_timer_init(d->loop, &m->timer);
	m->timer.data = m;
	unsigned flags = MHD_USE_EPOLL | (a.sa.sa_family == AF_INET6 ? MHD_USE_IPv6 : 0);
	m->mhd = MHD_start_daemon(flags, (uint16_t)addr_port(&a), NULL, NULL, on_request, m,
				  MHD_OPTION_SOCK_ADDR, &a.sa,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
				  MHD_OPTION_END);
	if (!m->mhd) {
		LOG(LOG_ERR, "metrics", "cannot serve metrics on %s (address in use?)", spec);
		return -EADDRINUSE;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || uv_poll_init(d->loop, &m->poll, info->epoll_fd) < 0) {
		LOG(LOG_ERR, "metrics", "cannot poll libmicrohttpd's epoll fd");
		return -EIO;
	}
	m->have_poll = true;
	m->poll.data = m;
	uv_poll_start(&m->poll, UV_READABLE, on_poll);
	drive(m);
	LOG(LOG_INFO, "metrics", "Prometheus metrics on http://%s/metrics", spec);
	return 0;
}

static void closed(uv_handle_t *h)
{
	struct metrics *m = h->data;
	if (--m->closing == 0)
		free(m);
}

void metrics_close(struct rg_daemon *d)
{
	struct metrics *m = d->metrics;
	if (!m)
		return;
	d->metrics = NULL;
	m->closing = 1 + m->have_poll;
	if (m->have_poll)
		uv_close((uv_handle_t *)&m->poll, closed);
	uv_close((uv_handle_t *)&m->timer, closed);
	/* after the poll handle stopped watching its epoll fd */
	if (m->mhd)
		MHD_stop_daemon(m->mhd);
	m->mhd = NULL;
}
