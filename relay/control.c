/* control.c - ng over UDP and over a UNIX stream socket; see control.h.
 *
 * UDP: "<cookie> <body>". A request without a cookie has nowhere to be
 * routed and is dropped (counted). A request from outside --ng-allow is
 * dropped (counted). Replies are cached by (source, cookie) for 60 s, so a
 * retransmission gets the same bytes and never runs the command twice;
 * commands run to completion on this thread, so a duplicate cannot overtake
 * its original. Requests are read in batches (recvmmsg, up to UDP_BATCH per
 * call) and the replies of a batch leave together (sendmmsg) when it is
 * done: under load a request costs a fraction of a receive, a send and an
 * event-loop wakeup instead of one each. A reply waits at most for the
 * rest of its batch.
 * UNIX: the body may be bare or carry a cookie (then echoed). The end of a
 * request is found by decoding it: a valid prefix waits for more bytes. The
 * reply goes out in one write (Kamailio reads once) and the connection is
 * closed.
 * Bodies starting with '{' are JSON and are answered in JSON.
 */
#include "control.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bencode.h"
#include "buf.h"
#include "call.h"
#include "commands.h"
#include "log.h"
#include "metrics.h"
#include "ng.h"
#include "replycache.h"
#include "sdp.h"

#define UDP_MAX 65536
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

/* ---- UDP ------------------------------------------------------------------ */

/* libuv hands recvmmsg() one 64 KB slot per datagram: UDP_BATCH slots.
 * Only the pages a datagram lands in become resident. */
#define UDP_BATCH 20
/* A reply buffer bigger than this is freed after use, not kept */
#define UDP_KEEP 65536

struct udp_reply {
	union rg_addr to;
	struct rg_buf out;
};

/* The state of the UDP control socket, in ng_udp.data. */
struct udp_io {
	struct rg_daemon *d;
	char *buf;
	size_t buflen;
	struct udp_reply q[UDP_BATCH];   /* replies waiting for the end of the batch */
	int nq;
	struct rg_buf scratch;           /* the reply being built */
};

static void udp_alloc(uv_handle_t *h, size_t size, uv_buf_t *b)
{
	struct udp_io *io = h->data;
	(void)size;
	b->base = io->buf;
	b->len = io->buflen;
}

static bool source_allowed(const struct rg_daemon *d, const union rg_addr *src)
{
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

/* Sends every queued reply, as few system calls as the socket takes. A
 * reply the socket refuses is dropped with a warning, as a single send
 * would have been. */
static void udp_flush(struct udp_io *io)
{
	struct mmsghdr m[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	uv_os_fd_t fd = -1;
	int sent = 0;
	/* a reply says the call is set up: the workers are told before it leaves */
	if (io->nq)
		calls_wake_workers(io->d);
	if (io->nq && uv_fileno((uv_handle_t *)&io->d->ng_udp, &fd) < 0)
		sent = io->nq;   /* the socket is gone: nothing to send through */
	for (int i = 0; i < io->nq; i++) {
		struct udp_reply *r = &io->q[i];
		iov[i].iov_base = r->out.data;
		iov[i].iov_len = r->out.len;
		memset(&m[i], 0, sizeof(m[i]));
		m[i].msg_hdr.msg_name = &r->to.sa;
		m[i].msg_hdr.msg_namelen = addr_len(&r->to);
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	while (sent < io->nq) {
		int n = sendmmsg(fd, m + sent, (unsigned)(io->nq - sent), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			LOG_RL(LOG_WARNING, "control", NULL, "cannot send UDP reply: %s",
			       strerror(n < 0 ? errno : EAGAIN));
			n = 1;   /* skip the one that failed */
		}
		sent += n;
	}
	/* the slots keep their memory for the next batch: no malloc per reply */
	for (int i = 0; i < io->nq; i++) {
		if (io->q[i].out.cap > UDP_KEEP)
			buf_free(&io->q[i].out);
		else
			buf_reset(&io->q[i].out);
	}
	io->nq = 0;
}

/* Queues a copy of p (into the slot's own buffer, kept between batches). */
static void udp_queue(struct udp_io *io, const union rg_addr *to, const char *p, size_t n)
{
	if (io->nq == UDP_BATCH)
		udp_flush(io);
	struct udp_reply *r = &io->q[io->nq];
	r->to = *to;
	buf_reset(&r->out);
	buf_append(&r->out, p, n);
	if (buf_ok(&r->out))
		io->nq++;
	else
		buf_free(&r->out);
}

static void udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
		     const struct sockaddr *from, unsigned flags)
{
	struct udp_io *io = h->data;
	struct rg_daemon *d = io->d;
	if (nread <= 0 || !from) {
		/* the end of a batch (or a read error): the replies go out */
		udp_flush(io);
		return;
	}
	union rg_addr src;
	memset(&src, 0, sizeof(src));
	memcpy(&src, from, from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						       : sizeof(struct sockaddr_in));
	if ((flags & UV_UDP_PARTIAL) || !source_allowed(d, &src)) {
		d->stats.ng_dropped++;
		LOG_RL(LOG_NOTICE, "control", NULL, "dropped UDP control packet (%s)",
		       (flags & UV_UDP_PARTIAL) ? "too large" : "source not in --ng-allow");
		return;
	}
	struct ng_frame f;
	if (ng_frame_split(buf->base, (size_t)nread, &f) < 0 || !f.cookie || !f.cookie_len) {
		d->stats.ng_dropped++;
		LOG_RL(LOG_NOTICE, "control", NULL, "dropped UDP control packet without a cookie");
		return;
	}
	uint64_t now = rg_now_ms();
	size_t rlen;
	const char *cached = replycache_get(d->replies, &src, f.cookie, f.cookie_len, &rlen);
	if (cached) {
		d->stats.ng_duplicates++;
		udp_queue(io, &src, cached, rlen);
		return;
	}
	struct rg_buf *out = &io->scratch;
	buf_reset(out);
	buf_append(out, f.cookie, f.cookie_len);
	buf_putc(out, ' ');
	if ((size_t)nread > (size_t)d->cfg.max_request)
		error_reply("Request too large", f.enc == NG_ENC_JSON, out);
	else
		control_run_request(d, f.body, f.body_len, out);
	if (buf_ok(out)) {
		/* cached before the next request of the batch is looked at */
		replycache_put(d->replies, &src, f.cookie, f.cookie_len, out->data, out->len, now);
		udp_queue(io, &src, out->data, out->len);
	}
	if (!buf_ok(out) || out->cap > UDP_KEEP)
		buf_free(out);   /* out of memory, or a rare big reply: not kept */
}

static void udp_closed(uv_handle_t *h)
{
	struct udp_io *io = h->data;
	for (int i = 0; i < UDP_BATCH; i++)
		buf_free(&io->q[i].out);
	buf_free(&io->scratch);
	free(io->buf);
	free(io);
}

/* ---- UNIX stream ------------------------------------------------------- */

#define UNIX_IDLE_MS 10000

struct unix_conn {
	uv_pipe_t pipe;
	uv_timer_t idle;     /* a connection that sends no whole request is closed */
	struct rg_daemon *d;
	struct rg_buf in;
	bool done;
	int handles;
};

static void conn_closed(uv_handle_t *h)
{
	struct unix_conn *c = h->data;
	if (--c->handles)
		return;
	buf_free(&c->in);
	free(c);
}

static void conn_close(struct unix_conn *c)
{
	if (!uv_is_closing((uv_handle_t *)&c->pipe)) {
		uv_close((uv_handle_t *)&c->pipe, conn_closed);
		uv_close((uv_handle_t *)&c->idle, conn_closed);
	}
}

static void conn_idle(uv_timer_t *t)
{
	struct unix_conn *c = t->data;
	LOG(LOG_INFO, "control", "closing a UNIX control connection idle for %d s", UNIX_IDLE_MS / 1000);
	conn_close(c);
}

struct write_req {
	uv_write_t req;
	struct unix_conn *c;
	char *data;
};

static void write_done(uv_write_t *w, int status)
{
	struct write_req *wr = (struct write_req *)w;
	(void)status;
	conn_close(wr->c);
	free(wr->data);
	free(wr);
}

/* One write when the socket takes it (it always does for our sizes);
 * otherwise the rest is queued and the connection closes after it. */
static void conn_reply(struct unix_conn *c, struct rg_buf *out)
{
	c->done = true;
	uv_read_stop((uv_stream_t *)&c->pipe);
	calls_wake_workers(c->d);   /* told before the reply leaves, as over UDP */
	uv_buf_t b = uv_buf_init(out->data, (unsigned)out->len);
	int n = uv_try_write((uv_stream_t *)&c->pipe, &b, 1);
	if (n == (int)out->len || (n < 0 && n != UV_EAGAIN)) {
		conn_close(c);
		return;
	}
	size_t off = n > 0 ? (size_t)n : 0;
	struct write_req *wr = calloc(1, sizeof(*wr));
	char *rest = wr ? malloc(out->len - off) : NULL;
	if (!rest) {
		free(wr);
		conn_close(c);
		return;
	}
	memcpy(rest, out->data + off, out->len - off);
	wr->c = c;
	wr->data = rest;
	b = uv_buf_init(rest, (unsigned)(out->len - off));
	if (uv_write(&wr->req, (uv_stream_t *)&c->pipe, &b, 1, write_done) < 0) {
		free(rest);
		free(wr);
		conn_close(c);
	}
}

/* Looks for one whole request in c->in; replies when there is one. */
static void conn_try(struct unix_conn *c, bool eof)
{
	struct rg_daemon *d = c->d;
	const char *p = c->in.data;
	size_t n = c->in.len;
	struct rg_buf out;
	buf_init(&out);
	if (n > (size_t)d->cfg.max_request) {
		d->stats.ng_malformed++;
		error_reply("Request too large", false, &out);
		conn_reply(c, &out);
		buf_free(&out);
		return;
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
				return;
			d->stats.ng_malformed++;
			error_reply("Failed to parse request: not bencode, JSON or cookie + body", false, &out);
			conn_reply(c, &out);
			buf_free(&out);
			return;
		}
		body = sp + 1;
		blen = n - (size_t)(body - p);
		buf_append(&out, p, (size_t)(body - p));
	}
	if (!blen && !eof) {
		buf_free(&out);
		return;
	}
	/* wait while the body is a valid prefix */
	struct bval *tmp = NULL;
	size_t used = 0;
	int rc = blen && body[0] == '{' ? json_decode(body, blen, &tmp, &used)
					: bencode_decode(body, blen, &tmp, &used);
	bval_free(tmp);
	if (rc == -EAGAIN && !eof) {
		buf_free(&out);
		return;
	}
	if (rc == 0)
		blen = used;
	control_run_request(d, body, blen, &out);
	conn_reply(c, &out);
	buf_free(&out);
}

static void conn_alloc(uv_handle_t *h, size_t size, uv_buf_t *b)
{
	struct unix_conn *c = h->data;
	(void)size;
	size_t want = 16384;
	if (c->in.cap - c->in.len < want + 1) {
		size_t len = c->in.len;
		char *np = realloc(c->in.data, len + want + 1);
		if (!np) {
			b->base = NULL;
			b->len = 0;
			return;
		}
		c->in.data = np;
		c->in.cap = len + want + 1;
	}
	b->base = c->in.data + c->in.len;
	b->len = c->in.cap - c->in.len - 1;
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct unix_conn *c = s->data;
	(void)b;
	if (c->done)
		return;
	if (nread > 0) {
		c->in.len += (size_t)nread;
		c->in.data[c->in.len] = '\0';
		conn_try(c, false);
	} else if (nread == UV_EOF) {
		if (c->in.len)
			conn_try(c, true);
		else
			conn_close(c);
	} else if (nread < 0) {
		conn_close(c);
	}
}

static void unix_accept(uv_stream_t *server, int status)
{
	struct rg_daemon *d = server->data;
	if (status < 0)
		return;
	struct unix_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->d = d;
	buf_init(&c->in);
	uv_pipe_init(d->loop, &c->pipe, 0);
	uv_timer_init(d->loop, &c->idle);
	c->pipe.data = c;
	c->idle.data = c;
	c->handles = 2;
	uv_timer_start(&c->idle, conn_idle, UNIX_IDLE_MS, 0);
	if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0) {
		conn_close(c);
		return;
	}
	uv_read_start((uv_stream_t *)&c->pipe, conn_alloc, conn_read);
}

/* ---- open/close ---------------------------------------------------------- */

static int open_udp(struct rg_daemon *d)
{
	union rg_addr a;
	if (addr_parse_hostport(&a, d->cfg.listen_ng, 22222) < 0) {
		LOG(LOG_ERR, "control", "--listen-ng: '%s' is not IP:PORT", d->cfg.listen_ng);
		return -EINVAL;
	}
	struct udp_io *io = calloc(1, sizeof(*io));
	if (io)
		io->buf = malloc(io->buflen = (size_t)UDP_BATCH * UDP_MAX);
	if (!io || !io->buf) {
		free(io);
		return -ENOMEM;
	}
	io->d = d;
	/* UV_UDP_RECVMMSG: libuv reads with recvmmsg() into the slots of buf */
	uv_udp_init_ex(d->loop, &d->ng_udp, AF_UNSPEC | UV_UDP_RECVMMSG);
	d->ng_udp.data = io;
	d->have_udp = true;
	int r = uv_udp_bind(&d->ng_udp, &a.sa, 0);
	if (r == 0)
		r = uv_udp_recv_start(&d->ng_udp, udp_alloc, udp_recv);
	if (r < 0) {
		LOG(LOG_ERR, "control", "cannot listen for ng on UDP %s: %s", d->cfg.listen_ng, uv_strerror(r));
		return r;
	}
	LOG(LOG_INFO, "control", "ng over UDP on %s", d->cfg.listen_ng);
	return 0;
}

static int mkdir_for(const char *path)
{
	char dir[512];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}


/* --unix-owner/--unix-group: a name or a number each; "" leaves it. */
static int unix_chown(const char *path, const char *owner, const char *group)
{
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	char *end;
	if (owner && *owner) {
		struct passwd *pw = getpwnam(owner);
		unsigned long n = strtoul(owner, &end, 10);
		if (pw)
			uid = pw->pw_uid;
		else if (!*end)
			uid = (uid_t)n;
		else {
			LOG(LOG_ERR, "control", "--unix-owner: no user '%s'", owner);
			return -EINVAL;
		}
	}
	if (group && *group) {
		struct group *gr = getgrnam(group);
		unsigned long n = strtoul(group, &end, 10);
		if (gr)
			gid = gr->gr_gid;
		else if (!*end)
			gid = (gid_t)n;
		else {
			LOG(LOG_ERR, "control", "--unix-group: no group '%s'", group);
			return -EINVAL;
		}
	}
	if (uid == (uid_t)-1 && gid == (gid_t)-1)
		return 0;
	if (chown(path, uid, gid) < 0) {
		int e = errno;
		LOG(LOG_ERR, "control", "cannot give %s to %s:%s: %s", path, owner && *owner ? owner : "-",
		    group && *group ? group : "-", strerror(e));
		return -e;
	}
	return 0;
}

static int open_unix(struct rg_daemon *d)
{
	const char *path = d->cfg.listen_unix;
	struct stat st;
	int r = mkdir_for(path);
	if (r < 0) {
		LOG(LOG_ERR, "control", "cannot create the directory of %s: %s", path, strerror(-r));
		return r;
	}
	/* a socket left by a previous run is ours to replace; anything else is not */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			LOG(LOG_ERR, "control", "%s exists and is not a socket", path);
			return -EEXIST;
		}
		unlink(path);
	}
	uv_pipe_init(d->loop, &d->ng_unix, 0);
	d->ng_unix.data = d;
	d->have_unix = true;
	mode_t old = umask(0777 & ~(mode_t)d->cfg.unix_mode);
	r = uv_pipe_bind(&d->ng_unix, path);
	umask(old);
	if (r == 0)
		r = chmod(path, (mode_t)d->cfg.unix_mode) < 0 ? -errno : 0;
	if (r == 0)
		r = unix_chown(path, d->cfg.unix_owner, d->cfg.unix_group);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&d->ng_unix, 128, unix_accept);
	if (r < 0) {
		LOG(LOG_ERR, "control", "cannot listen on UNIX socket %s: %s", path, uv_strerror(r));
		return r;
	}
	LOG(LOG_INFO, "control", "ng over UNIX socket %s (mode %04o)", path, d->cfg.unix_mode);
	return 0;
}

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
	if (d->cfg.listen_ng[0] && (r = open_udp(d)) < 0)
		return r;
	if (d->cfg.listen_unix[0] && (r = open_unix(d)) < 0)
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
	if (d->have_udp && !uv_is_closing((uv_handle_t *)&d->ng_udp))
		uv_close((uv_handle_t *)&d->ng_udp, udp_closed);
	if (d->have_unix && !uv_is_closing((uv_handle_t *)&d->ng_unix)) {
		uv_close((uv_handle_t *)&d->ng_unix, NULL);
		unlink(d->cfg.listen_unix);
	}
}
