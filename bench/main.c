/* main.c - rtpgate-bench: drives a relay over ng and measures it.
 *
 * The control thread (this one) starts or attaches to the relay, sets
 * calls up with pipelined offer/answer requests, hands them to the media
 * thread (media.c), and samples the relay's CPU and memory at the edges of
 * each measurement window. A run is a fixed number of calls for a fixed
 * time, a ramp that adds calls step by step until loss or latency gives
 * out, or the control scenario that measures offer/answer/delete alone.
 * Every run is bounded by --max-duration and --max-calls; the relay the
 * tool started is always stopped before it exits.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "bencode.h"
#include "buf.h"
#include "frames.h"
#include "media.h"
#include "memfit.h"
#include "ngclient.h"
#include "procstat.h"
#include "profile.h"
#include "relayproc.h"
#include "sdpmini.h"

enum scenario { SC_RELAY, SC_OPUS, SC_G729, SC_CONTROL, SC_LOOPBACK };
static const char *const scenario_names[] = { "relay", "opus", "g729", "control", "loopback" };

struct opts {
	enum scenario sc;
	unsigned calls, max_calls, ramp_start, ramp_step, inflight, slots, batch;
	double duration, warmup, step_time, max_duration, loss_limit, p99_bound_ms;
	int ramp, quiet, no_raw, no_uring, rt_prio, perf, opus_bitrate, opus_complexity;
	unsigned mem_steps;
	double delete_wait;
	const char *ng, *relay_cmd, *relay_log, *json, *csv, *plot, *label, *transcode;
	pid_t relay_pid;
	unsigned port_min, port_max;
};

struct run {
	struct opts o;
	struct ngclient ng;
	char ng_spec[160];
	struct relayproc proc;          /* the relay we started, if any */
	pid_t relay_pid;
	struct frameset pcmu, far;      /* caller frames, callee frames */
	struct media media;
	struct media_call **calls;
	size_t ncalls;
	unsigned next_idx;
	char tag[32];
	uint64_t deadline;
	struct bench_report rep;
	size_t cap_rows;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: rtpgate-bench [options]\n"
"  --scenario S        relay (PCMU both legs), opus, g729 (caller PCMU, callee\n"
"                      only offered that codec: the relay transcodes), control,\n"
"                      loopback (no relay: the legs send to each other, to\n"
"                      measure what the generator itself can drive)\n"
"  --calls N           calls for a fixed run (default 100)\n"
"  --duration S        measured seconds (default 10)\n"
"  --warmup S          seconds between set-up and measuring (default 2)\n"
"  --ramp              add calls until loss > --loss-limit or p99 > --p99-bound\n"
"  --ramp-start N      first step (default 100)   --ramp-step N (default 100)\n"
"  --step-time S       measured seconds per ramp step (default 5)\n"
"  --loss-limit PCT    default 0.1               --p99-bound MS (default 20)\n"
"  --max-duration S    bound for the whole run (default 60)\n"
"  --max-calls N       bound for calls (default 5000)\n"
"  --ng SPEC           udp:IP:PORT or unix:PATH (default udp:127.0.0.1:22222)\n"
"  --relay-cmd CMD     start the relay: placeholders {ng_port} {ng_sock}\n"
"                      {port_min} {port_max}; stopped (SIGTERM) at the end\n"
"  --relay-pid PID     the already running relay to measure (with --ng)\n"
"  --relay-log FILE    relay's stdout/stderr (default /dev/null)\n"
"  --port-min N --port-max N   media ports for {port_min}/{port_max}\n"
"                      (default: a random range sized for --max-calls)\n"
"  --inflight K        ng requests in flight (default 32)\n"
"  --batch N           calls per set-up/control batch (default 200)\n"
"  --slots N           send ticks per 20 ms (default 20)\n"
"  --no-raw            send through each leg's socket, not one raw socket\n"
"  --no-uring          receive with epoll + recvmmsg per socket, not one\n"
"                      io_uring multishot recvmsg per socket collected once\n"
"                      per tick\n"
"  --rt-priority N     SCHED_FIFO priority of the generator thread, so a busy\n"
"                      machine does not make it late (default 10; 0: off)\n"
"  --opus-bitrate BPS --opus-complexity N   the callee's Opus frames\n"
"  --transcode-codec S the entry of codec.transcode in the offer (default\n"
"                      opus or G729; e.g. opus/48000/2/32000 to fix a bitrate)\n"
"  --json FILE --csv FILE --plot FILE.png   results (plot needs gnuplot)\n"
"  --perf              sample the relay with perf during each window and show\n"
"                      the share of its CPU in codecs, kernel, libc, itself\n"
"  --delete-wait S     after the deletes, also read the relay's RSS S seconds\n"
"                      later (default 0: not). A relay keeps the replies to\n"
"                      control requests for a while (retransmissions must get\n"
"                      the same answer: rtpgate 60 s, rtpengine 30-60 s), so\n"
"                      what it returns after delete shows only after that\n"
"  --mem-steps K       set the calls up in K equal steps and read the relay's\n"
"                      RSS after each, once media flows for every call so far\n"
"                      (both legs got packets back) and the RSS has not moved\n"
"                      for 0.5 s (at most 2.5 s)\n"
"                      (default 4; 1: one step). Memory per call is the least-\n"
"                      squares slope of RSS over calls through these samples\n"
"                      and the one at the end of each measured window (a ramp\n"
"                      uses its windows); the fixed part is the line's value\n"
"                      at zero calls minus the idle RSS before set-up. Also\n"
"                      shown: RSS growth / calls (fixed part included) and\n"
"                      RSS after every delete minus RSS before set-up\n"
"  --label TEXT        a name for this run in the outputs\n"
"  --quiet             no progress lines\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){
		.sc = SC_RELAY, .calls = 100, .max_calls = 5000, .ramp_start = 100,
		.ramp_step = 100, .inflight = 32, .slots = 20, .batch = 200,
		.duration = 10, .warmup = 2, .step_time = 5, .max_duration = 60,
		.loss_limit = 0.1, .p99_bound_ms = 20, .opus_bitrate = -1,
		.opus_complexity = -1, .ng = NULL, .relay_log = "/dev/null", .rt_prio = 10,
		.mem_steps = 4,
	};
	static const struct option lo[] = {
		{ "scenario", 1, 0, 's' }, { "calls", 1, 0, 'c' }, { "duration", 1, 0, 'd' },
		{ "warmup", 1, 0, 'w' }, { "ramp", 0, 0, 'r' }, { "ramp-start", 1, 0, 1 },
		{ "ramp-step", 1, 0, 2 }, { "step-time", 1, 0, 3 }, { "loss-limit", 1, 0, 4 },
		{ "p99-bound", 1, 0, 5 }, { "max-duration", 1, 0, 6 }, { "max-calls", 1, 0, 7 },
		{ "ng", 1, 0, 8 }, { "relay-cmd", 1, 0, 9 }, { "relay-pid", 1, 0, 10 },
		{ "relay-log", 1, 0, 11 }, { "port-min", 1, 0, 12 }, { "port-max", 1, 0, 13 },
		{ "inflight", 1, 0, 14 }, { "batch", 1, 0, 15 }, { "slots", 1, 0, 16 },
		{ "opus-bitrate", 1, 0, 17 }, { "opus-complexity", 1, 0, 18 },
		{ "json", 1, 0, 19 }, { "csv", 1, 0, 20 }, { "plot", 1, 0, 21 },
		{ "label", 1, 0, 22 }, { "no-raw", 0, 0, 23 }, { "rt-priority", 1, 0, 24 },
		{ "transcode-codec", 1, 0, 25 }, { "perf", 0, 0, 26 }, { "mem-steps", 1, 0, 27 },
		{ "no-uring", 0, 0, 28 }, { "delete-wait", 1, 0, 29 },
		{ "quiet", 0, 0, 'q' },
		{ "help", 0, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "s:c:d:w:rqh", lo, NULL)) != -1) {
		switch (c) {
		case 's': {
			int found = -1;
			for (int i = 0; i < 5; i++)
				if (!strcmp(optarg, scenario_names[i]))
					found = i;
			if (found < 0) {
				fprintf(stderr, "unknown scenario '%s'\n", optarg);
				return -1;
			}
			o->sc = (enum scenario)found;
			break;
		}
		case 'c': o->calls = (unsigned)atoi(optarg); break;
		case 'd': o->duration = atof(optarg); break;
		case 'w': o->warmup = atof(optarg); break;
		case 'r': o->ramp = 1; break;
		case 1: o->ramp_start = (unsigned)atoi(optarg); break;
		case 2: o->ramp_step = (unsigned)atoi(optarg); break;
		case 3: o->step_time = atof(optarg); break;
		case 4: o->loss_limit = atof(optarg); break;
		case 5: o->p99_bound_ms = atof(optarg); break;
		case 6: o->max_duration = atof(optarg); break;
		case 7: o->max_calls = (unsigned)atoi(optarg); break;
		case 8: o->ng = optarg; break;
		case 9: o->relay_cmd = optarg; break;
		case 10: o->relay_pid = (pid_t)atoi(optarg); break;
		case 11: o->relay_log = optarg; break;
		case 12: o->port_min = (unsigned)atoi(optarg); break;
		case 13: o->port_max = (unsigned)atoi(optarg); break;
		case 14: o->inflight = (unsigned)atoi(optarg); break;
		case 15: o->batch = (unsigned)atoi(optarg); break;
		case 16: o->slots = (unsigned)atoi(optarg); break;
		case 17: o->opus_bitrate = atoi(optarg); break;
		case 18: o->opus_complexity = atoi(optarg); break;
		case 19: o->json = optarg; break;
		case 20: o->csv = optarg; break;
		case 21: o->plot = optarg; break;
		case 22: o->label = optarg; break;
		case 23: o->no_raw = 1; break;
		case 24: o->rt_prio = atoi(optarg); break;
		case 25: o->transcode = optarg; break;
		case 26: o->perf = 1; break;
		case 27: o->mem_steps = (unsigned)atoi(optarg); break;
		case 28: o->no_uring = 1; break;
		case 29: o->delete_wait = atof(optarg); break;
		case 'q': o->quiet = 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (o->calls > o->max_calls)
		o->calls = o->max_calls;
	if (!o->batch)
		o->batch = 200;
	if (!o->mem_steps || o->mem_steps > BENCH_MEMSAMPLES / 2)
		o->mem_steps = o->mem_steps ? BENCH_MEMSAMPLES / 2 : 1;
	if (o->duration <= 0 || o->max_duration <= 0 || o->step_time <= 0) {
		fprintf(stderr, "durations must be positive\n");
		return -1;
	}
	if (!o->slots || o->slots > 200) {
		fprintf(stderr, "--slots must be 1..200\n");
		return -1;
	}
	return 0;
}

/* ---------- relay process ---------- */

static int relay_start(struct run *r)
{
	struct opts *o = &r->o;
	int rc = relayproc_start(&r->proc, o->relay_cmd, o->relay_log, o->max_calls,
				 o->port_min, o->port_max, o->quiet);
	if (rc < 0)
		return rc;
	if (!o->ng)
		snprintf(r->ng_spec, sizeof(r->ng_spec), "udp:127.0.0.1:%u", r->proc.ng_port);
	else if (strstr(o->ng, "{ng_sock}"))
		snprintf(r->ng_spec, sizeof(r->ng_spec), "unix:%s", r->proc.sock);
	else
		snprintf(r->ng_spec, sizeof(r->ng_spec), "%s", o->ng);
	r->relay_pid = r->proc.pid;
	return 0;
}

static int relay_ping(struct run *r, double timeout_s)
{
	uint64_t end = procstat_now_ns() + (uint64_t)(timeout_s * 1e9);
	unsigned saved_to = r->ng.timeout_ms, saved_tries = r->ng.tries;
	r->ng.timeout_ms = 200;
	r->ng.tries = 1;
	int ok = 0;
	while (!ok && procstat_now_ns() < end && !interrupted) {
		struct bval *req = bval_dict();
		bval_dict_add_str(req, "command", "ping");
		struct ngclient_req q = { .req = req };
		ngclient_run(&r->ng, &q, 1, 1);
		if (q.reply && !strcmp(ngclient_result(q.reply), "pong"))
			ok = 1;
		bval_free(q.reply);
		bval_free(req);
		if (!ok) {
			if (relayproc_exited(&r->proc)) {
				fprintf(stderr, "relay exited during start-up (see --relay-log)\n");
				break;
			}
			usleep(100000);
		}
	}
	r->ng.timeout_ms = saved_to;
	r->ng.tries = saved_tries;
	return ok ? 0 : -ETIMEDOUT;
}

/* ---------- call set-up ---------- */

static const char *far_codec(const struct run *r)
{
	return r->o.sc == SC_OPUS ? "opus" : r->o.sc == SC_G729 ? "G729" : "PCMU";
}

static struct bval *make_offer(struct run *r, unsigned idx, uint16_t port)
{
	char id[64], tag[32];
	snprintf(id, sizeof(id), "%s-%u", r->tag, idx);
	snprintf(tag, sizeof(tag), "ft%u", idx);
	struct rg_buf sdp;
	buf_init(&sdp);
	struct sdpmini_offer pcmu = { 0, "PCMU/8000", NULL };
	sdpmini_write(&sdp, 1000 + idx, port, &pcmu, 1);
	struct bval *d = bval_dict();
	bval_dict_add_str(d, "command", "offer");
	bval_dict_add_str(d, "call-id", id);
	bval_dict_add_str(d, "from-tag", tag);
	bval_dict_add_str(d, "sdp", sdp.data ? sdp.data : "");
	struct bval *rep = bval_list();
	bval_list_add(rep, bval_str("origin"));
	bval_list_add(rep, bval_str("session-connection"));
	bval_dict_add(d, "replace", rep);
	bval_dict_add_str(d, "ICE", "remove");
	if (r->o.sc == SC_OPUS || r->o.sc == SC_G729) {
		struct bval *codec = bval_dict(), *tc = bval_list(), *mask = bval_list();
		bval_list_add(tc, bval_str(r->o.transcode ? r->o.transcode : far_codec(r)));
		bval_list_add(mask, bval_str("PCMU"));
		bval_dict_add(codec, "transcode", tc);
		bval_dict_add(codec, "mask", mask);
		bval_dict_add(d, "codec", codec);
	}
	buf_free(&sdp);
	return d;
}

static struct bval *make_answer(struct run *r, unsigned idx, uint16_t port, int pt)
{
	char id[64], ft[32], tt[32];
	snprintf(id, sizeof(id), "%s-%u", r->tag, idx);
	snprintf(ft, sizeof(ft), "ft%u", idx);
	snprintf(tt, sizeof(tt), "tt%u", idx);
	struct sdpmini_offer c = { pt, "PCMU/8000", NULL };
	if (r->o.sc == SC_OPUS)
		c.rtpmap = "opus/48000/2";
	else if (r->o.sc == SC_G729) {
		c.rtpmap = "G729/8000";
		c.fmtp = "annexb=no";
	}
	struct rg_buf sdp;
	buf_init(&sdp);
	sdpmini_write(&sdp, 2000 + idx, port, &c, 1);
	struct bval *d = bval_dict();
	bval_dict_add_str(d, "command", "answer");
	bval_dict_add_str(d, "call-id", id);
	bval_dict_add_str(d, "from-tag", ft);
	bval_dict_add_str(d, "to-tag", tt);
	bval_dict_add_str(d, "sdp", sdp.data ? sdp.data : "");
	struct bval *rep = bval_list();
	bval_list_add(rep, bval_str("origin"));
	bval_list_add(rep, bval_str("session-connection"));
	bval_dict_add(d, "replace", rep);
	bval_dict_add_str(d, "ICE", "remove");
	buf_free(&sdp);
	return d;
}

static struct bval *make_delete(struct run *r, unsigned idx)
{
	char id[64], ft[32];
	snprintf(id, sizeof(id), "%s-%u", r->tag, idx);
	snprintf(ft, sizeof(ft), "ft%u", idx);
	struct bval *d = bval_dict();
	bval_dict_add_str(d, "command", "delete");
	bval_dict_add_str(d, "call-id", id);
	bval_dict_add_str(d, "from-tag", ft);
	bval_dict_add_int(d, "delete delay", 0);
	return d;
}

/* Parses the SDP of a reply into where to send; 0 or negative. */
static int reply_sdp(const struct ngclient_req *q, struct sdpmini *out, const char *what,
		     unsigned idx)
{
	const char *res = ngclient_result(q->reply);
	if (!q->reply || strcmp(res, "ok")) {
		static int warned;
		if (warned++ < 3)
			fprintf(stderr, "%s of call %u failed: %s %s\n", what, idx,
				q->reply ? res : strerror(-q->err), ngclient_reason(q->reply));
		return -EPROTO;
	}
	size_t len = 0;
	const char *sdp = bval_as_str(bval_get(q->reply, "sdp"), &len);
	if (!sdp || sdpmini_parse(sdp, len, out) < 0) {
		fprintf(stderr, "%s of call %u: no usable SDP in the reply\n", what, idx);
		return -EPROTO;
	}
	return 0;
}

static void set_dst(struct media_leg *l, const struct sdpmini *s)
{
	memset(&l->dst, 0, sizeof(l->dst));
	l->dst.sin_family = AF_INET;
	l->dst.sin_port = htons(s->port);
	inet_pton(AF_INET, s->addr, &l->dst.sin_addr);
}

/* Sets up n more calls and hands the good ones to the media thread.
 * Returns how many failed, or a negative errno. */
static int add_calls(struct run *r, unsigned n)
{
	struct media_call **cs = calloc(n, sizeof(*cs));
	struct ngclient_req *q = calloc(n, sizeof(*q));
	int failed = 0;
	if (!cs || !q) {
		free(cs);
		free(q);
		return -ENOMEM;
	}
	unsigned nc = 0;
	for (unsigned i = 0; i < n; i++) {
		struct media_call *c = calloc(1, sizeof(*c));
		if (!c)
			break;
		c->idx = r->next_idx++;
		c->leg[0].fd = c->leg[1].fd = -1;
		if (media_leg_open(&c->leg[0]) < 0 || media_leg_open(&c->leg[1]) < 0) {
			fprintf(stderr, "cannot open sockets for call %u: %s\n", c->idx, strerror(errno));
			media_call_close(c);
			free(c);
			break;
		}
		cs[nc++] = c;
	}
	for (unsigned i = 0; i < nc; i++)
		q[i].req = make_offer(r, cs[i]->idx, cs[i]->leg[0].port);
	int rc = ngclient_run(&r->ng, q, nc, r->o.inflight);
	int *far_pt = calloc(nc ? nc : 1, sizeof(int));
	for (unsigned i = 0; i < nc; i++) {
		struct sdpmini s;
		far_pt[i] = -1;
		if (rc >= 0 && reply_sdp(&q[i], &s, "offer", cs[i]->idx) == 0) {
			set_dst(&cs[i]->leg[1], &s);
			far_pt[i] = sdpmini_find(&s, far_codec(r));
			if (far_pt[i] < 0)
				fprintf(stderr, "offer of call %u: relay did not offer %s\n",
					cs[i]->idx, far_codec(r));
		}
		bval_free(q[i].req);
		bval_free(q[i].reply);
		q[i] = (struct ngclient_req){ 0 };
	}
	/* answers only for calls whose offer worked */
	unsigned na = 0;
	unsigned *map = calloc(nc ? nc : 1, sizeof(unsigned));
	for (unsigned i = 0; i < nc; i++)
		if (far_pt[i] >= 0) {
			q[na].req = make_answer(r, cs[i]->idx, cs[i]->leg[1].port, far_pt[i]);
			map[na++] = i;
		}
	rc = ngclient_run(&r->ng, q, na, r->o.inflight);
	struct media_call **good = calloc(nc ? nc : 1, sizeof(*good));
	unsigned ng = 0;
	for (unsigned k = 0; k < na; k++) {
		struct media_call *c = cs[map[k]];
		struct sdpmini s;
		if (rc >= 0 && reply_sdp(&q[k], &s, "answer", c->idx) == 0) {
			set_dst(&c->leg[0], &s);
			for (int side = 0; side < 2; side++) {
				struct media_leg *l = &c->leg[side];
				l->peer = &c->leg[1 - side];
				l->call_idx = c->idx;
				l->side = side;
				l->ssrc = (uint32_t)rand() ^ (c->idx << 1) ^ (uint32_t)side;
				l->tx_seq = (uint16_t)rand();
				l->tx_ts = (uint32_t)rand();
				l->stamped = r->o.sc == SC_RELAY;
			}
			c->leg[0].tx_frames = &r->pcmu;
			c->leg[0].tx_pt = 0;
			c->leg[0].rx_clock = 8000; /* gets PCMU back from the relay */
			c->leg[1].tx_frames = &r->far;
			c->leg[1].tx_pt = (uint8_t)far_pt[map[k]];
			c->leg[1].rx_clock = r->far.clock;
			good[ng++] = c;
			cs[map[k]] = NULL;
		}
		bval_free(q[k].req);
		bval_free(q[k].reply);
	}
	/* calls that failed anywhere: delete at the relay (best effort), close */
	unsigned nf = 0;
	for (unsigned i = 0; i < nc; i++)
		if (cs[i]) {
			q[nf++].req = make_delete(r, cs[i]->idx);
			media_call_close(cs[i]);
			free(cs[i]);
			failed++;
		}
	if (nf) {
		ngclient_run(&r->ng, q, nf, r->o.inflight);
		for (unsigned i = 0; i < nf; i++) {
			bval_free(q[i].req);
			bval_free(q[i].reply);
		}
	}
	failed += (int)(n - nc);
	if (ng) {
		struct media_call **p = realloc(r->calls, (r->ncalls + ng) * sizeof(*p));
		if (p) {
			r->calls = p;
			memcpy(r->calls + r->ncalls, good, ng * sizeof(*good));
			r->ncalls += ng;
			media_add(&r->media, good, ng);
		}
	}
	free(good);
	free(map);
	free(far_pt);
	free(cs);
	free(q);
	return failed;
}

/* loopback: no relay, each leg sends straight to the other one */
static int add_loopback_calls(struct run *r, unsigned n)
{
	struct media_call **cs = calloc(n, sizeof(*cs));
	if (!cs)
		return -ENOMEM;
	unsigned nc = 0;
	for (; nc < n; nc++) {
		struct media_call *c = calloc(1, sizeof(*c));
		if (!c)
			break;
		c->idx = r->next_idx++;
		c->leg[0].fd = c->leg[1].fd = -1;
		if (media_leg_open(&c->leg[0]) < 0 || media_leg_open(&c->leg[1]) < 0) {
			media_call_close(c);
			free(c);
			break;
		}
		for (int side = 0; side < 2; side++) {
			struct media_leg *l = &c->leg[side], *p = &c->leg[1 - side];
			l->dst.sin_family = AF_INET;
			l->dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			l->dst.sin_port = htons(p->port);
			l->peer = p;
			l->call_idx = c->idx;
			l->side = side;
			l->ssrc = (uint32_t)rand();
			l->tx_seq = (uint16_t)rand();
			l->tx_ts = (uint32_t)rand();
			l->stamped = 1;
			l->tx_frames = &r->pcmu;
			l->tx_pt = 0;
			l->rx_clock = 8000;
		}
		cs[nc] = c;
	}
	if (nc) {
		struct media_call **p = realloc(r->calls, (r->ncalls + nc) * sizeof(*p));
		if (!p) {
			for (unsigned i = 0; i < nc; i++) {
				media_call_close(cs[i]);
				free(cs[i]);
			}
			free(cs);
			return -ENOMEM;
		}
		r->calls = p;
		memcpy(r->calls + r->ncalls, cs, nc * sizeof(*cs));
		r->ncalls += nc;
		media_add(&r->media, cs, nc);
	}
	free(cs);
	return (int)(n - nc);
}

static int grow_calls(struct run *r, unsigned target)
{
	uint64_t t0 = procstat_now_ns();
	unsigned want = target > r->ncalls ? target - (unsigned)r->ncalls : 0;
	unsigned failed = 0;
	while (want && !interrupted) {
		unsigned n = want < r->o.batch ? want : r->o.batch;
		int f = r->o.sc == SC_LOOPBACK ? add_loopback_calls(r, n) : add_calls(r, n);
		if (f < 0)
			return f;
		failed += (unsigned)f;
		want -= n;
		if ((unsigned)f == n)
			break; /* the relay refuses: no point in trying more */
	}
	r->rep.setup_secs += (double)(procstat_now_ns() - t0) / 1e9;
	r->rep.setup_calls = (unsigned)r->ncalls;
	r->rep.setup_failed += failed;
	return (int)failed;
}

static void delete_calls(struct run *r)
{
	size_t n = r->ncalls;
	for (size_t off = 0; off < n && r->o.sc != SC_LOOPBACK; off += r->o.batch) {
		size_t m = n - off < r->o.batch ? n - off : r->o.batch;
		struct ngclient_req *q = calloc(m, sizeof(*q));
		if (!q)
			break;
		for (size_t i = 0; i < m; i++)
			q[i].req = make_delete(r, r->calls[off + i]->idx);
		ngclient_run(&r->ng, q, m, r->o.inflight);
		for (size_t i = 0; i < m; i++) {
			bval_free(q[i].req);
			bval_free(q[i].reply);
		}
		free(q);
	}
	for (size_t i = 0; i < n; i++) {
		media_call_close(r->calls[i]);
		free(r->calls[i]);
	}
	free(r->calls);
	r->calls = NULL;
	r->ncalls = 0;
}

/* ---------- measuring ---------- */

static void sleep_until(uint64_t t)
{
	for (;;) {
		uint64_t now = procstat_now_ns();
		if (now >= t || interrupted)
			return;
		uint64_t d = t - now;
		struct timespec ts = { (time_t)(d / 1000000000ull), (long)(d % 1000000000ull) };
		nanosleep(&ts, NULL);
	}
}

static struct bench_row *new_row(struct run *r)
{
	if (r->rep.nrows == r->cap_rows) {
		size_t cap = r->cap_rows ? r->cap_rows * 2 : 16;
		struct bench_row *p = realloc(r->rep.rows, cap * sizeof(*p));
		if (!p)
			return NULL;
		r->rep.rows = p;
		r->cap_rows = cap;
	}
	struct bench_row *row = &r->rep.rows[r->rep.nrows++];
	memset(row, 0, sizeof(*row));
	return row;
}

/* ---------- memory per call ---------- */

static void mem_add(struct run *r, unsigned calls, unsigned flowing, long rss, const char *when)
{
	if (rss > r->rep.rss_peak_kb)
		r->rep.rss_peak_kb = rss;
	if (r->rep.nmem == BENCH_MEMSAMPLES)
		return;
	r->rep.mem[r->rep.nmem++] = (struct bench_memsample){ calls, flowing, rss, when };
}

/* Reads pid's RSS once it has not moved for half a second, after at least
 * min_s and at most max_s seconds. 0 or -errno. */
static int rss_settled(pid_t pid, double min_s, double max_s, long *rss)
{
	uint64_t now = procstat_now_ns(), since = now;
	uint64_t min_end = now + (uint64_t)(min_s * 1e9), max_end = now + (uint64_t)(max_s * 1e9);
	long last = -1;
	while (!interrupted) {
		sleep_until(procstat_now_ns() + 100000000ull);
		now = procstat_now_ns();
		int rc = procstat_rss_kb(pid, rss);
		if (rc < 0)
			return rc;
		if (*rss != last) {
			last = *rss;
			since = now;
		}
		if (now >= max_end || (now >= min_end && now - since >= 500000000ull))
			break;
	}
	return 0;
}

/* Reads the relay's RSS once media flows for every call set up so far:
 * each call has had packets through the relay both ways (at most 3 s of
 * waiting), then at least half a second more of media and until the RSS
 * has not moved for half a second (at most 2.5 s), so that whatever the
 * relay allocates per call on its first packets is in the sample. */
static void mem_step_sample(struct run *r)
{
	if (!r->relay_pid || !r->ncalls)
		return;
	uint64_t now = procstat_now_ns(), end = now + 3000000000ull;
	while (media_flowing(&r->media) < r->ncalls && procstat_now_ns() < end && !interrupted)
		sleep_until(procstat_now_ns() + 20000000ull);
	long rss = 0;
	if (rss_settled(r->relay_pid, 0.5, 2.5, &rss) < 0)
		return;
	unsigned flowing = media_flowing(&r->media);
	mem_add(r, (unsigned)r->ncalls, flowing, rss, "set-up step");
	if (!r->o.quiet)
		fprintf(stderr, "memory: %zu calls (media flowing for %u): relay RSS %ld KB\n",
			r->ncalls, flowing, rss);
}

/* The slope through every sample taken with media flowing for all calls
 * (99 % of them, so that a call the relay never forwards does not void
 * every sample); a sample where more calls had no media yet is in a
 * different state and is left out of the fit, but kept in the outputs. */
static void mem_finish(struct run *r)
{
	double x[BENCH_MEMSAMPLES], y[BENCH_MEMSAMPLES];
	size_t n = 0;
	for (size_t i = 0; i < r->rep.nmem; i++) {
		const struct bench_memsample *m = &r->rep.mem[i];
		if (!m->calls || (uint64_t)m->flowing * 100 < (uint64_t)m->calls * 99)
			continue;
		x[n] = m->calls;
		y[n] = (double)m->rss_kb;
		n++;
	}
	r->rep.mem_fit_ok = memfit_line(x, y, n, &r->rep.mem_fit) == 0;
}

/* Measures one window of `secs` seconds starting now + `settle`. */
static int measure(struct run *r, double settle, double secs)
{
	uint64_t t0 = procstat_now_ns() + (uint64_t)(settle * 1e9);
	uint64_t t1 = t0 + (uint64_t)(secs * 1e9);
	media_window(&r->media, t0, t1);
	uint64_t c0 = 0, c1 = 0;
	sleep_until(t0);
	uint64_t w0 = 0, w1 = 0;
	int have_cpu = r->relay_pid && procstat_cpu_wait_ns(r->relay_pid, &c0, &w0) == 0;
	char perf_file[96];
	pid_t perf_pid = -1;
	if (r->o.perf && r->relay_pid) {
		snprintf(perf_file, sizeof(perf_file), "/tmp/rtpgate-bench-%d-%zu.perf",
			 (int)getpid(), r->rep.nrows);
		perf_pid = profile_start(r->relay_pid, secs, perf_file);
	}
	sleep_until(t1);
	if (have_cpu && procstat_cpu_wait_ns(r->relay_pid, &c1, &w1) != 0)
		have_cpu = 0;
	uint64_t t1real = procstat_now_ns();
	long rss = 0;
	if (r->relay_pid && procstat_rss_kb(r->relay_pid, &rss) == 0)
		mem_add(r, (unsigned)r->ncalls, media_flowing(&r->media), rss, "window end");
	sleep_until(t1 + 300000000ull); /* let the window's last packets arrive */
	struct media_result res;
	media_collect(&r->media, &res);
	struct profile_share prof;
	int prof_rc = perf_pid > 0 ? profile_finish(perf_pid, perf_file, &prof) : -1;
	if (perf_pid > 0 && prof_rc < 0)
		fprintf(stderr, "perf: %s\n", prof_rc == -ENOENT ?
			"not found (apt-get install linux-perf)" : strerror(-prof_rc));
	struct bench_row *row = new_row(r);
	if (!row)
		return -ENOMEM;
	if (prof_rc == 0) {
		row->has_profile = 1;
		row->prof = prof;
	}
	double wsecs = (double)(t1real - t0) / 1e9;
	row->calls = res.calls;
	row->secs = wsecs;
	uint64_t sent = 0;
	double worst_loss = 0, worst_p99 = 0;
	for (int d = 0; d < 2; d++) {
		row->sent[d] = res.d[d].sent;
		row->recv[d] = res.d[d].recv;
		row->bad[d] = res.d[d].bad;
		row->loss[d] = res.d[d].sent > res.d[d].recv ?
			(double)(res.d[d].sent - res.d[d].recv) / (double)res.d[d].sent : 0;
		row->p50_us[d] = histo_quantile(&res.d[d].lat, 0.50);
		row->p99_us[d] = histo_quantile(&res.d[d].lat, 0.99);
		row->max_us[d] = (double)res.d[d].lat.max_us;
		row->jit_mean_ms[d] = res.d[d].jit_mean_ms;
		row->jit_max_ms[d] = res.d[d].jit_max_ms;
		row->payload_kbps[d] = res.calls && wsecs > 0 ?
			(double)res.d[d].rx_payload * 8 / 1000 / wsecs / res.calls : 0;
		sent += res.d[d].sent;
		if (row->loss[d] > worst_loss)
			worst_loss = row->loss[d];
		if (row->p99_us[d] > worst_p99)
			worst_p99 = row->p99_us[d];
	}
	if (have_cpu) {
		double cpu_s = (double)(c1 - c0) / 1e9;
		row->relay_cores = cpu_s / wsecs;
		row->relay_ns_per_pkt = sent ? (double)(c1 - c0) / (double)sent : 0;
		row->relay_us_per_callsec = res.calls ? cpu_s * 1e6 / (res.calls * wsecs) : 0;
		row->calls_per_core = row->relay_cores > 0 ? res.calls / row->relay_cores : 0;
		row->relay_wait = w1 > w0 ? (double)(w1 - w0) / 1e9 / wsecs : 0;
	} else {
		row->relay_cores = -1;
	}
	row->gen_cores = (double)res.gen_cpu_ns / 1e9 / wsecs;
	row->lag_p99_ms = histo_quantile(&res.lag, 0.99) / 1000.0;
	row->late_frac = res.slots ? (double)res.late_slots / (double)res.slots : 0;
	row->skip_frac = res.slots ? (double)res.skipped_slots / (double)res.slots : 0;
	/* the tool, not the relay, limits the run when it nears a core or
	 * could not keep its schedule (ticks over 20 ms late are skipped) */
	row->gen_bound = row->gen_cores > 0.85 || row->skip_frac > 0.005 || row->late_frac > 0.05;
	row->rss_kb = rss;
	row->mem_per_call_kb = res.calls && rss && r->rep.rss_base_kb ?
		(double)(rss - r->rep.rss_base_kb) / res.calls : 0;
	row->pass = worst_loss * 100 <= r->o.loss_limit &&
		    worst_p99 / 1000.0 <= r->o.p99_bound_ms && res.calls > 0;
	if (!r->o.quiet)
		fprintf(stderr, "window: %u calls, loss %.3f%%/%.3f%%, p99 %.0f/%.0f us, relay %.1f%% cpu "
			"(waited %.1f%%), %.0f ns/pkt%s\n", row->calls, row->loss[0] * 100,
			row->loss[1] * 100, row->p99_us[0], row->p99_us[1], row->relay_cores * 100,
			row->relay_wait * 100, row->relay_ns_per_pkt,
			row->gen_bound ? "  GENERATOR-BOUND" : "");
	return 0;
}

static int run_media(struct run *r)
{
	struct opts *o = &r->o;
	r->media.slots = o->slots;
	r->media.relay_pid = r->relay_pid;
	r->media.quiet = o->quiet;
	r->media.trace = getenv("RTPGATE_BENCH_TRACE") != NULL;
	r->media.raw = !o->no_raw;
	r->media.uring = !o->no_uring;
	r->media.rt_prio = o->rt_prio;
	int rc = media_start(&r->media);
	if (rc < 0)
		return rc;
	uint64_t start = procstat_now_ns();
	if (!o->ramp) {
		double secs = o->duration;
		/* set-up in steps, RSS read after each with media flowing */
		for (unsigned k = 1; k <= o->mem_steps && !interrupted; k++) {
			unsigned target = (unsigned)(((uint64_t)o->calls * k) / o->mem_steps);
			if (target && grow_calls(r, target) < 0)
				break;
			if (o->mem_steps > 1)
				mem_step_sample(r);
		}
		double left = (double)(r->deadline - procstat_now_ns()) / 1e9 - o->warmup - 1;
		if (secs > left)
			secs = left > 1 ? left : 1;
		if (r->ncalls && !interrupted)
			measure(r, o->warmup, secs);
		r->rep.stop_reason = interrupted ? "interrupted" : "done";
	} else {
		unsigned target = o->ramp_start;
		r->rep.stop_reason = "max calls";
		for (;;) {
			if (target > o->max_calls)
				target = o->max_calls;
			double need = o->warmup + o->step_time + 2;
			if (procstat_now_ns() + (uint64_t)(need * 1e9) > r->deadline) {
				r->rep.stop_reason = "max duration";
				break;
			}
			int f = grow_calls(r, target);
			if (f < 0 || interrupted || !r->ncalls) {
				r->rep.stop_reason = interrupted ? "interrupted" : "set-up failed";
				break;
			}
			measure(r, o->warmup, o->step_time);
			struct bench_row *row = &r->rep.rows[r->rep.nrows - 1];
			if (!row->pass) {
				r->rep.stop_reason = "loss or p99 over the bound";
				break;
			}
			r->rep.max_held = row->calls;
			if (row->gen_bound) {
				r->rep.stop_reason = "generator-bound";
				break;
			}
			if (f > 0) {
				r->rep.stop_reason = "relay refused calls";
				break;
			}
			if (target >= o->max_calls)
				break;
			target += o->ramp_step;
		}
	}
	(void)start;
	mem_finish(r);
	media_stop(&r->media);
	r->rep.rx_path = media_rx_path(&r->media);
	if (!r->rep.nrows && !interrupted) {
		fprintf(stderr, "no call could be set up and measured\n");
		rc = -EPROTO;
	}
	pthread_mutex_lock(&r->media.mu);
	r->rep.samples = r->media.samples;
	r->rep.nsamples = r->media.nsamples;
	pthread_mutex_unlock(&r->media.mu);
	return rc;
}

/* ---------- control scenario ---------- */

static double relay_cpu_s(struct run *r)
{
	uint64_t ns = 0;
	if (r->relay_pid)
		procstat_cpu_ns(r->relay_pid, &ns);
	return (double)ns / 1e9;
}

static int run_phase(struct run *r, struct ngclient_req *q, unsigned n, double *secs,
		     double *cpu, uint64_t *errors)
{
	double c0 = relay_cpu_s(r);
	uint64_t t0 = procstat_now_ns();
	int rc = ngclient_run(&r->ng, q, n, r->o.inflight);
	*secs += (double)(procstat_now_ns() - t0) / 1e9;
	*cpu += relay_cpu_s(r) - c0;
	for (unsigned i = 0; i < n; i++) {
		if (!q[i].reply || strcmp(ngclient_result(q[i].reply), "ok")) {
			if (*errors < 3)
				fprintf(stderr, "control: %s\n", q[i].reply ?
					ngclient_reason(q[i].reply) : strerror(-q[i].err));
			(*errors)++;
		}
		bval_free(q[i].req);
		bval_free(q[i].reply);
		q[i] = (struct ngclient_req){ 0 };
	}
	return rc < 0 ? rc : 0;
}

static int run_control(struct run *r)
{
	struct bench_control *c = &r->rep.ctl;
	unsigned b = r->o.batch;
	if (b > r->o.max_calls)
		b = r->o.max_calls;
	c->batch = b;
	r->rep.has_control = 1;
	struct ngclient_req *q = calloc(b, sizeof(*q));
	if (!q)
		return -ENOMEM;
	uint64_t end = procstat_now_ns() + (uint64_t)(r->o.duration * 1e9);
	if (end > r->deadline)
		end = r->deadline;
	uint64_t next_progress = procstat_now_ns() + 1000000000ull;
	while (procstat_now_ns() < end && !interrupted) {
		unsigned first = r->next_idx;
		r->next_idx += b;
		/* media ports in the SDP are never used: no media flows */
		for (unsigned i = 0; i < b; i++)
			q[i].req = make_offer(r, first + i, (uint16_t)(10000 + 2 * ((first + i) % 20000)));
		if (run_phase(r, q, b, &c->oa_secs, &c->oa_cpu_s, &c->errors) < 0)
			break;
		for (unsigned i = 0; i < b; i++)
			q[i].req = make_answer(r, first + i, (uint16_t)(50000 + 2 * ((first + i) % 5000)), 0);
		if (run_phase(r, q, b, &c->oa_secs, &c->oa_cpu_s, &c->errors) < 0)
			break;
		c->pairs += b;
		long rss = 0;
		if (r->relay_pid && procstat_rss_kb(r->relay_pid, &rss) == 0 && rss > c->rss_peak_kb)
			c->rss_peak_kb = rss;
		for (unsigned i = 0; i < b; i++)
			q[i].req = make_delete(r, first + i);
		if (run_phase(r, q, b, &c->del_secs, &c->del_cpu_s, &c->errors) < 0)
			break;
		c->deletes += b;
		if (!r->o.quiet && procstat_now_ns() >= next_progress) {
			fprintf(stderr, "[control] %llu pairs, %.0f pairs/s, %.1f us relay CPU per pair\n",
				(unsigned long long)c->pairs, c->pairs / c->oa_secs,
				c->oa_cpu_s * 1e6 / (double)c->pairs);
			next_progress += 1000000000ull;
		}
	}
	free(q);
	if (c->oa_secs > 0) {
		c->pairs_per_s = c->pairs / c->oa_secs;
		c->us_per_pair = c->pairs ? c->oa_cpu_s * 1e6 / (double)c->pairs : 0;
	}
	if (c->del_secs > 0) {
		c->deletes_per_s = c->deletes / c->del_secs;
		c->us_per_delete = c->deletes ? c->del_cpu_s * 1e6 / (double)c->deletes : 0;
	}
	if (c->rss_peak_kb && r->rep.rss_base_kb)
		c->mem_per_call_kb = (double)(c->rss_peak_kb - r->rep.rss_base_kb) / b;
	r->rep.stop_reason = interrupted ? "interrupted" : "done";
	return 0;
}

int main(int argc, char **argv)
{
	static struct run run;
	struct run *r = &run;
	if (parse_opts(argc, argv, &r->o) < 0)
		return 2;
	struct opts *o = &r->o;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < 2 * (rlim_t)o->max_calls + 64 && o->sc != SC_CONTROL) {
			unsigned cap = (unsigned)((rl.rlim_cur - 64) / 2);
			fprintf(stderr, "file descriptor limit %llu: max calls lowered to %u\n",
				(unsigned long long)rl.rlim_cur, cap);
			o->max_calls = cap;
			if (o->calls > cap)
				o->calls = cap;
		}
	}
	uint64_t t_start = procstat_now_ns();
	r->deadline = t_start + (uint64_t)(o->max_duration * 1e9);
	r->media.start_ns = t_start;
	snprintf(r->tag, sizeof(r->tag), "rgb%d-%lx", (int)getpid(), (long)time(NULL) & 0xffffff);
	srand((unsigned)(getpid() * 2654435761u));

	enum frames_codec fc = o->sc == SC_OPUS ? FRAMES_OPUS : o->sc == SC_G729 ? FRAMES_G729 : FRAMES_PCMU;
	if (frames_make(&r->pcmu, FRAMES_PCMU, -1, -1) < 0 ||
	    frames_make(&r->far, fc, o->opus_bitrate, o->opus_complexity) < 0) {
		fprintf(stderr, "cannot encode the test frames\n");
		return 1;
	}
	int rc = 0;
	if (o->sc == SC_LOOPBACK) {
		/* nothing to start or ask: the generator measures itself */
		snprintf(r->ng_spec, sizeof(r->ng_spec), "none");
	} else if (o->relay_cmd) {
		rc = relay_start(r);
		if (rc < 0) {
			fprintf(stderr, "cannot start the relay: %s\n", strerror(-rc));
			return 1;
		}
	} else {
		snprintf(r->ng_spec, sizeof(r->ng_spec), "%s", o->ng ? o->ng : "udp:127.0.0.1:22222");
		r->relay_pid = o->relay_pid;
		if (!r->relay_pid)
			fprintf(stderr, "no --relay-pid: relay CPU and memory are not measured\n");
	}
	rc = o->sc == SC_LOOPBACK ? 0 : ngclient_open(&r->ng, r->ng_spec);
	if (rc < 0) {
		fprintf(stderr, "ng %s: %s\n", r->ng_spec, strerror(-rc));
		relayproc_stop(&r->proc);
		return 1;
	}
	if (o->sc != SC_LOOPBACK && relay_ping(r, 10) < 0) {
		fprintf(stderr, "the relay at %s does not answer ping\n", r->ng_spec);
		ngclient_close(&r->ng);
		relayproc_stop(&r->proc);
		return 1;
	}
	r->rep.scenario = scenario_names[o->sc];
	r->rep.label = o->label ? o->label : "";
	r->rep.relay = o->relay_cmd ? o->relay_cmd : "";
	r->rep.ng = r->ng_spec;
	r->rep.ramp = o->ramp;
	r->rep.loss_limit = o->loss_limit;
	r->rep.p99_bound_ms = o->p99_bound_ms;
	if (r->relay_pid)
		procstat_rss_kb(r->relay_pid, &r->rep.rss_base_kb);

	rc = o->sc == SC_CONTROL ? run_control(r) : run_media(r);
	if (rc < 0)
		fprintf(stderr, "run failed: %s\n", strerror(-rc));
	int deleted = r->ncalls > 0;
	if (deleted)
		delete_calls(r);
	/* after the deletes: at least 1 s (a relay may free or trim a little
	 * later), then until the RSS has not moved for 0.5 s, at most 4 s */
	uint64_t deleted_at = procstat_now_ns();
	if (r->relay_pid && deleted)
		rss_settled(r->relay_pid, 1.0, 4.0, &r->rep.rss_after_delete_kb);
	else if (r->relay_pid)
		procstat_rss_kb(r->relay_pid, &r->rep.rss_after_delete_kb);
	/* and once the relay's reply cache has let go of the calls' replies */
	if (r->relay_pid && deleted && o->delete_wait > 0) {
		if (!o->quiet)
			fprintf(stderr, "waiting %.0f s after the deletes to read the relay's RSS again\n",
				o->delete_wait);
		sleep_until(deleted_at + (uint64_t)(o->delete_wait * 1e9));
		if (!interrupted && procstat_rss_kb(r->relay_pid, &r->rep.rss_later_kb) == 0)
			r->rep.delete_wait_s = o->delete_wait;
	}
	if (o->sc != SC_LOOPBACK)
		ngclient_close(&r->ng);
	relayproc_stop(&r->proc);

	report_table(&r->rep);
	int out_rc = 0;
	if (o->json && report_json(&r->rep, o->json) < 0)
		out_rc = 1;
	if (o->csv && report_csv(&r->rep, o->csv) < 0)
		out_rc = 1;
	if (o->plot && report_plot(&r->rep, o->plot) < 0)
		out_rc = 1;
	free(r->rep.rows);
	free(r->rep.samples);
	return rc < 0 ? 1 : out_rc;
}
