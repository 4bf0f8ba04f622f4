/* control.c - the ng protocol over UDP and a UNIX stream socket; see
 * control.h. The sockets, batching, reply cache and connections are
 * ctlsock.c's; this file is the ng table of it.
 *
 * UDP: "<cookie> <body>". A request without a cookie has nowhere to be
 * routed and is dropped (counted), as is one from outside --ng-allow. A
 * request longer than --max-request is answered with an error. Requests
 * are read in batches of up to UDP_BATCH (recvmmsg) and their replies
 * leave together (sendmmsg).
 * UNIX: the body may be bare or carry a cookie (then echoed). The end of a
 * request is found by decoding it: a valid prefix waits for more bytes. The
 * reply goes out in one write (Kamailio reads once) and the connection is
 * closed.
 * Bodies starting with '{' are JSON and are answered in JSON.
 */
#include "control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bencode.h"
#include "buf.h"
#include "call.h"
#include "commands.h"
#include "ctlsock.h"
#include "log.h"
#include "metrics.h"
#include "ng.h"
#include "replycache.h"
#include "sdp.h"

#define REPLY_TTL_MS 60000

static void encode_reply(const struct bval *r, bool json, struct rg_buf *out)
{
	if (json)
		json_encode(r, out);
	else
		bencode_encode(r, out);
}

static void error_reply(const char *reason, bool json, struct rg_buf *out)
{
	struct bval *r = commands_error(reason);
	if (r)
		encode_reply(r, json, out);
	bval_free(r);
}

void control_run_request(struct rg_daemon *d, const char *body, size_t len, struct rg_buf *out)
{
	bool json = len && body[0] == '{';
	struct bval *req = NULL;
	size_t used = 0;
	int rc = json ? json_decode(body, len, &req, &used) : bencode_decode(body, len, &req, &used);
	if (rc == 0 && used != len) {
		/* trailing whitespace after a JSON body is harmless */
		size_t i = used;
		while (json && i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t'))
			i++;
		if (i != len)
			rc = -EINVAL;
	}
	if (rc < 0) {
		bval_free(req);
		d->stats.ng_malformed++;
		error_reply(rc == -EAGAIN ? "Failed to parse request: truncated"
			    : rc == -E2BIG ? "Failed to parse request: too large or too deeply nested"
			    : json ? "Failed to parse request: invalid JSON"
			    : "Failed to parse request: invalid bencode", json, out);
		return;
	}
	uint64_t t0 = uv_hrtime();
	struct bval *reply = commands_handle(d, req);
	metrics_observe_command(d, req, uv_hrtime() - t0);
	if (reply)
		encode_reply(reply, json, out);
	else
		error_reply("Out of memory", json, out);
	bval_free(reply);
	bval_free(req);
}

/* ---- the ng table of the transport -------------------------------------- */

/* libuv hands recvmmsg() one 64 KB slot per datagram: UDP_BATCH slots.
 * Only the pages a datagram lands in become resident. */
#define UDP_BATCH 20

static bool ng_allowed(void *ctx, const union rg_addr *src)
{
	const struct rg_daemon *d = ctx;
	const char *list = d->cfg.ng_allow;
	if (!list || !list[0])
		return true;
	char tmp[512];
	snprintf(tmp, sizeof(tmp), "%s", list);
	char *save = NULL;
	for (char *tok = strtok_r(tmp, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
		if (!strcmp(tok, "any") || addr_in_cidr(src, tok))
			return true;
	return false;
}

/* Over UDP the cookie is required: a reply without one cannot be routed. */
static int ng_udp_split(const char *p, size_t n, struct ctlsock_frame *cf)
{
	struct ng_frame f;
	if (ng_frame_split(p, n, &f) < 0 || !f.cookie || !f.cookie_len)
		return -EINVAL;
	*cf = (struct ctlsock_frame){ f.cookie, f.cookie_len, f.body, f.body_len, (int)f.enc };
	return 0;
}

static void ng_udp_run(void *ctx, const struct ctlsock_frame *f, size_t n, struct rg_buf *out)
{
	struct rg_daemon *d = ctx;
	if (n > (size_t)d->cfg.max_request)
		error_reply("Request too large", f->tag == NG_ENC_JSON, out);
	else
		control_run_request(d, f->body, f->body_len, out);
}

/* UNIX: the body may be bare or follow a cookie (then echoed); it is whole
 * when it decodes, and a valid prefix waits for more bytes. */
static int ng_unix_run(void *ctx, const char *p, size_t n, bool eof, struct rg_buf *out)
{
	struct rg_daemon *d = ctx;
	if (n > (size_t)d->cfg.max_request) {
		d->stats.ng_malformed++;
		error_reply("Request too large", false, out);
		return 1;
	}
	const char *body = p;
	size_t blen = n;
	if (n && p[0] != 'd' && p[0] != '{') {
		/* "<cookie> <body>": echo the cookie */
		const char *sp = memchr(p, ' ', n < 256 ? n : 256);
		for (const char *q = p; sp && q < sp; q++)
			if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
				sp = NULL;   /* a cookie is printable; this is garbage */
		if (!sp) {
			if (n < 256 && !eof)
				return 0;
			d->stats.ng_malformed++;
			error_reply("Failed to parse request: not bencode, JSON or cookie + body", false, out);
			return 1;
		}
		body = sp + 1;
		blen = n - (size_t)(body - p);
	}
	if (!blen && !eof)
		return 0;
	/* wait while the body is a valid prefix */
	struct bval *tmp = NULL;
	size_t used = 0;
	int rc = blen && body[0] == '{' ? json_decode(body, blen, &tmp, &used)
					: bencode_decode(body, blen, &tmp, &used);
	bval_free(tmp);
	if (rc == -EAGAIN && !eof)
		return 0;
	if (rc == 0)
		blen = used;
	buf_append(out, p, (size_t)(body - p));
	control_run_request(d, body, blen, out);
	return 1;
}

static const struct ctlsock_proto ng_proto = {
	.subsys = "control", .name = "ng", .udp_what = "control packet",
	.udp_option = "--listen-ng", .unix_option = "--listen-unix", .default_port = 22222,
	.udp_max = 65536, .udp_batch = UDP_BATCH,
	.udp_allowed = ng_allowed, .udp_allow_option = "--ng-allow",
	.udp_split = ng_udp_split, .udp_run = ng_udp_run,
	/* closed after the reply; the socket gets --unix-owner/--unix-group */
	.unix_read = 16384, .unix_half_close = false, .unix_own = true, .unix_run = ng_unix_run,
};

/* Before the control loop sleeps: the workers get what this pass posted
 * with one wakeup each (worker.c posts lazily), and the sockets of the
 * calls they finished go back to the port pools. */
static void on_prepare(uv_prepare_t *h)
{
	calls_loop_pass(h->data);
}

int control_open(struct rg_daemon *d)
{
	int r = replycache_new(&d->replies, REPLY_TTL_MS, 200000);
	if (r < 0)
		return r;
	uv_prepare_init(d->loop, &d->wake);
	d->wake.data = d;
	uv_prepare_start(&d->wake, on_prepare);
	uv_unref((uv_handle_t *)&d->wake);   /* does not keep the loop alive */
	struct ctlsock_counters cn = { &d->stats.ng_dropped, &d->stats.ng_duplicates };
	r = ctlsock_open(&d->ng, d, &ng_proto, d, d->replies, cn, d->cfg.listen_ng, d->cfg.listen_unix);
	if (r < 0)
		return r;
	if (!d->cfg.listen_ng[0] && !d->cfg.listen_unix[0])
		LOG(LOG_WARNING, "control", "no control socket: nothing can set up calls");
	return 0;
}

void control_close(struct rg_daemon *d)
{
	sdp_free(d->sdp_scratch);
	d->sdp_scratch = NULL;
	if (d->wake.data && !uv_is_closing((uv_handle_t *)&d->wake)) {
		calls_wake_workers(d);
		uv_close((uv_handle_t *)&d->wake, NULL);
	}
	ctlsock_close(d->ng);
	d->ng = NULL;
}
