/* ctlsock.c - the transport of the control protocols; see ctlsock.h.
 *
 * UDP: a datagram is "<cookie> <request>". One from a source the protocol
 * refuses, one too large or one without a cookie is dropped (counted).
 * Replies are cached by (source, cookie), so a retransmission gets the same
 * bytes and never runs the command twice; commands run to completion on
 * this thread, so a duplicate cannot overtake its original. With a batch
 * (ng) requests are read with recvmmsg and the replies of a batch leave
 * together with sendmmsg when it is done: under load a request costs a
 * fraction of a receive, a send and a wakeup. A reply waits at most for
 * the rest of its batch; without one (rtpproxy) it leaves at once.
 * UNIX: a connection carries one request. Its bytes are gathered and
 * handed to the protocol, which says when they make a whole request. The
 * reply goes out in one write when the socket takes it (Kamailio reads
 * once); then the connection closes, or (rtpproxy) our side shuts down and
 * it closes at the peer's EOF. A connection still open 10 s after it was
 * accepted is closed.
 * Before a reply leaves the workers are woken: a party that sends media the
 * moment it reads the reply finds the new addresses in place.
 */
#include "ctlsock.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "call.h"
#include "log.h"
#include "replycache.h"

#define UDP_KEEP 65536          /* a batch's reply buffer bigger than this is not kept */
#define UDP_OUT_INIT 16384      /* and its size from the start */
#define UDP_BATCH_MAX 32        /* the largest udp_batch a table may ask for */
#define CONN_IDLE_MS 10000

struct udp_reply {
	union rg_addr to;
	size_t off, len;             /* the reply's bytes in the socket's out */
};

struct conn;

struct ctlsock {
	struct rg_daemon *d;
	const struct ctlsock_proto *p;
	void *ctx;
	struct replycache *cache;
	struct ctlsock_counters cn;
	uv_udp_t udp;
	uv_pipe_t unix_sock;
	bool have_udp, have_unix;
	int closing;                 /* handles still closing in ctlsock_close() */
	struct conn *conns;          /* open UNIX connections */
	char path[256];
	char *buf;                   /* udp_batch slots of udp_max bytes */
	size_t buflen;
	/* The batch's replies, end to end: one block kept between batches.
	 * A kept buffer per reply would be twenty blocks that the first busy
	 * batches place between calls' blocks, where each keeps a page
	 * resident after the calls are gone. */
	struct rg_buf out;
	int nq;
	struct udp_reply q[UDP_BATCH_MAX];   /* replies waiting for the end of the batch */
};

static void sock_free(struct ctlsock *s)
{
	buf_free(&s->out);
	free(s->buf);
	free(s);
}

static void sock_handle_closed(uv_handle_t *h)
{
	struct ctlsock *s = h->data;
	if (--s->closing == 0)
		sock_free(s);
}

/* ---- UDP ------------------------------------------------------------------ */

static void udp_alloc(uv_handle_t *h, size_t size, uv_buf_t *b)
{
	struct ctlsock *s = h->data;
	(void)size;
	b->base = s->buf;
	b->len = s->buflen;
}

/* Sends every queued reply, as few system calls as the socket takes. A
 * reply the socket refuses is dropped with a warning, as a single send
 * would have been. */
static void udp_flush(struct ctlsock *s)
{
	struct mmsghdr m[UDP_BATCH_MAX];
	struct iovec iov[UDP_BATCH_MAX];
	uv_os_fd_t fd = -1;
	int sent = 0;
	if (!s->nq)
		return;
	/* a reply says the call is set up: the workers are told before it leaves */
	calls_wake_workers(s->d);
	if (uv_fileno((uv_handle_t *)&s->udp, &fd) < 0)
		sent = s->nq;   /* the socket is gone: nothing to send through */
	for (int i = 0; i < s->nq; i++) {
		struct udp_reply *r = &s->q[i];
		iov[i].iov_base = s->out.data + r->off;
		iov[i].iov_len = r->len;
		memset(&m[i], 0, sizeof(m[i]));
		m[i].msg_hdr.msg_name = &r->to.sa;
		m[i].msg_hdr.msg_namelen = addr_len(&r->to);
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	while (sent < s->nq) {
		int n = sendmmsg(fd, m + sent, (unsigned)(s->nq - sent), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			LOG_RL(LOG_WARNING, s->p->subsys, NULL, "cannot send UDP reply: %s",
			       strerror(n < 0 ? errno : EAGAIN));
			n = 1;   /* skip the one that failed */
		}
		sent += n;
	}
	/* the buffer is kept for the next batch: no malloc per reply */
	if (s->out.cap > UDP_KEEP)
		buf_free(&s->out);   /* a rare big batch: not kept */
	else
		buf_reset(&s->out);
	s->nq = 0;
}

/* The bytes of s->out from off on are a reply to `to`: queued, unless
 * out of memory struck while they were written (then they are dropped, as
 * a lost datagram would be: the proxy retransmits). A full batch leaves at
 * once. */
static void udp_queue(struct ctlsock *s, const union rg_addr *to, size_t off)
{
	if (!buf_ok(&s->out)) {
		buf_truncate(&s->out, off);
		return;
	}
	struct udp_reply *r = &s->q[s->nq++];
	r->to = *to;
	r->off = off;
	r->len = s->out.len - off;
	if (s->nq == s->p->udp_batch)
		udp_flush(s);
}

static void udp_drop(struct ctlsock *s, const char *why, const char *opt)
{
	if (s->cn.dropped)
		(*s->cn.dropped)++;
	LOG_RL(LOG_NOTICE, s->p->subsys, NULL, "dropped UDP %s %s%s%s", s->p->udp_what, why,
	       opt ? opt : "", opt ? ")" : "");
}

static void udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
		     const struct sockaddr *from, unsigned flags)
{
	struct ctlsock *s = h->data;
	const struct ctlsock_proto *p = s->p;
	if (nread <= 0 || !from) {
		/* the end of a batch (or a read error): the replies go out */
		udp_flush(s);
		return;
	}
	union rg_addr src;
	memset(&src, 0, sizeof(src));
	memcpy(&src, from, from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						       : sizeof(struct sockaddr_in));
	if (flags & UV_UDP_PARTIAL) {
		udp_drop(s, "(too large)", NULL);
		return;
	}
	if (p->udp_allowed && !p->udp_allowed(s->ctx, &src)) {
		udp_drop(s, "(source not in ", p->udp_allow_option);
		return;
	}
	struct ctlsock_frame f;
	if (p->udp_split(buf->base, (size_t)nread, &f) < 0) {
		udp_drop(s, "without a cookie", NULL);
		return;
	}
	uint64_t now = rg_now_ms();
	size_t rlen;
	const char *cached = replycache_get(s->cache, &src, f.cookie, f.cookie_len, &rlen);
	if (cached) {
		if (s->cn.duplicates)
			(*s->cn.duplicates)++;
		size_t off = s->out.len;
		buf_append(&s->out, cached, rlen);
		udp_queue(s, &src, off);
		return;
	}
	struct rg_buf *out = &s->out;
	size_t off = out->len;
	buf_append(out, f.cookie, f.cookie_len);
	buf_putc(out, ' ');
	p->udp_run(s->ctx, &f, (size_t)nread, out);
	/* cached before the next request of the batch is looked at */
	if (buf_ok(out))
		replycache_put(s->cache, &src, f.cookie, f.cookie_len, out->data + off,
			       out->len - off, now);
	udp_queue(s, &src, off);
}

/* ---- UNIX stream ------------------------------------------------------- */

struct conn {
	uv_pipe_t pipe;
	uv_timer_t idle;             /* a connection is closed 10 s after accept */
	uv_shutdown_t shut;
	struct ctlsock *s;
	struct conn *next, **pprev;  /* s->conns, until both handles have closed */
	struct rg_buf in;
	bool done;                   /* answered: more input is dropped */
	int handles;
};

static void conn_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	struct ctlsock *s = c->s;
	if (--c->handles)
		return;
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	buf_free(&c->in);
	free(c);
	if (s->closing && --s->closing == 0)
		sock_free(s);
}

static void conn_close(struct conn *c)
{
	if (!uv_is_closing((uv_handle_t *)&c->pipe)) {
		uv_close((uv_handle_t *)&c->pipe, conn_closed);
		uv_close((uv_handle_t *)&c->idle, conn_closed);
	}
}

static void conn_idle(uv_timer_t *t)
{
	struct conn *c = t->data;
	LOG(LOG_INFO, c->s->p->subsys, "closing a UNIX %s connection idle for %d s", c->s->p->name,
	    CONN_IDLE_MS / 1000);
	conn_close(c);
}

static void shut_done(uv_shutdown_t *req, int status)
{
	(void)req;
	(void)status;
	/* the peer closes after reading; its EOF (or the idle timer) closes ours */
}

/* The reply has left (status 0) or cannot. */
static void conn_sent(struct conn *c, int status)
{
	/* half-close instead of close: closing with unread input would reset
	 * the connection and the peer might lose the reply */
	if (!c->s->p->unix_half_close || status < 0 || uv_is_closing((uv_handle_t *)&c->pipe) ||
	    uv_shutdown(&c->shut, (uv_stream_t *)&c->pipe, shut_done) < 0)
		conn_close(c);
}

struct write_req {
	uv_write_t req;
	struct conn *c;
	char *data;
};

static void write_done(uv_write_t *w, int status)
{
	struct write_req *wr = (struct write_req *)w;
	struct conn *c = wr->c;
	free(wr->data);
	free(wr);
	conn_sent(c, status);
}

/* One write when the socket takes it (it always does for our sizes);
 * otherwise the rest is queued. */
static void conn_reply(struct conn *c, struct rg_buf *out)
{
	c->done = true;
	if (!c->s->p->unix_half_close)
		uv_read_stop((uv_stream_t *)&c->pipe);
	calls_wake_workers(c->s->d);
	if (!buf_ok(out)) {
		conn_close(c);
		return;
	}
	uv_buf_t b = uv_buf_init(out->data, (unsigned)out->len);
	int n = uv_try_write((uv_stream_t *)&c->pipe, &b, 1);
	if (n == (int)out->len || (n < 0 && n != UV_EAGAIN)) {
		conn_sent(c, n < 0 ? n : 0);
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

/* Hands what the connection has sent to the protocol; replies when it
 * makes a whole request. */
static void conn_try(struct conn *c, bool eof)
{
	struct rg_buf out;
	buf_init(&out);
	if (c->s->p->unix_run(c->s->ctx, c->in.data, c->in.len, eof, &out) > 0)
		conn_reply(c, &out);
	else if (eof)
		conn_close(c);
	buf_free(&out);
}

static void conn_alloc(uv_handle_t *h, size_t size, uv_buf_t *b)
{
	struct conn *c = h->data;
	size_t want = c->s->p->unix_read;
	(void)size;
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
	b->len = want;
}

static void conn_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
	struct conn *c = st->data;
	(void)b;
	if (nread > 0) {
		if (c->done)
			return;   /* answered: the rest is read and dropped */
		c->in.len += (size_t)nread;
		c->in.data[c->in.len] = '\0';
		conn_try(c, false);
	} else if (nread == UV_EOF && !c->done && c->in.len) {
		conn_try(c, true);
	} else if (nread < 0) {
		conn_close(c);
	}
}

static void unix_accept(uv_stream_t *server, int status)
{
	struct ctlsock *s = server->data;
	if (status < 0)
		return;
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->s = s;
	buf_init(&c->in);
	uv_pipe_init(s->d->loop, &c->pipe, 0);
	uv_timer_init(s->d->loop, &c->idle);
	c->pipe.data = c;
	c->idle.data = c;
	c->handles = 2;
	c->next = s->conns;
	if (c->next)
		c->next->pprev = &c->next;
	c->pprev = &s->conns;
	s->conns = c;
	uv_timer_start(&c->idle, conn_idle, CONN_IDLE_MS, 0);
	if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0 ||
	    uv_read_start((uv_stream_t *)&c->pipe, conn_alloc, conn_read) < 0)
		conn_close(c);
}

/* ---- open/close ---------------------------------------------------------- */

static int open_udp(struct ctlsock *s, const char *spec)
{
	const struct ctlsock_proto *p = s->p;
	union rg_addr a;
	if (addr_parse_hostport(&a, spec, p->default_port) < 0) {
		LOG(LOG_ERR, p->subsys, "%s: '%s' is not IP:PORT", p->udp_option, spec);
		return -EINVAL;
	}
	s->buf = malloc(s->buflen = (size_t)p->udp_batch * p->udp_max);
	if (!s->buf)
		return -ENOMEM;
	/* A request fills the start of its slot; touching each slot's first
	 * page now makes them part of the idle size (udp_batch pages), instead
	 * of pages the first burst of requests brings in and that look, after
	 * the calls are gone, like memory the calls kept. */
	for (size_t off = 0; off < s->buflen; off += p->udp_max)
		s->buf[off] = 0;
	/* the same for the replies' buffer, all of it */
	if (!buf_reserve(&s->out, UDP_OUT_INIT - 1))
		return -ENOMEM;
	memset(s->out.data, 0, s->out.cap);
	/* UV_UDP_RECVMMSG: libuv reads with recvmmsg() into the slots of buf */
	uv_udp_init_ex(s->d->loop, &s->udp, AF_UNSPEC | (p->udp_batch > 1 ? UV_UDP_RECVMMSG : 0));
	s->udp.data = s;
	s->have_udp = true;
	int r = uv_udp_bind(&s->udp, &a.sa, 0);
	if (r == 0)
		r = uv_udp_recv_start(&s->udp, udp_alloc, udp_recv);
	if (r < 0) {
		LOG(LOG_ERR, p->subsys, "cannot listen for %s on UDP %s: %s", p->name, spec, uv_strerror(r));
		return r;
	}
	LOG(LOG_INFO, p->subsys, "%s over UDP on %s", p->name, spec);
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

/* A user or group by name, else by number; "" or NULL leaves it (-1). */
static int owner_id(const char *subsys, const char *opt, const char *what, const char *s, bool group,
		    unsigned *id)
{
	*id = (unsigned)-1;
	if (!s || !*s)
		return 0;
	struct passwd *pw = group ? NULL : getpwnam(s);
	struct group *gr = group ? getgrnam(s) : NULL;
	char *end;
	unsigned long n = strtoul(s, &end, 10);
	if (pw)
		*id = pw->pw_uid;
	else if (gr)
		*id = gr->gr_gid;
	else if (!*end)
		*id = (unsigned)n;
	else {
		LOG(LOG_ERR, subsys, "%s: no %s '%s'", opt, what, s);
		return -EINVAL;
	}
	return 0;
}

/* --unix-owner/--unix-group: a name or a number each; "" leaves it. */
static int unix_chown(const char *subsys, const char *path, const char *owner, const char *group)
{
	unsigned uid, gid;
	int r = owner_id(subsys, "--unix-owner", "user", owner, false, &uid);
	if (r == 0)
		r = owner_id(subsys, "--unix-group", "group", group, true, &gid);
	if (r < 0)
		return r;
	if (uid == (unsigned)-1 && gid == (unsigned)-1)
		return 0;
	if (chown(path, (uid_t)uid, (gid_t)gid) < 0) {
		int e = errno;
		LOG(LOG_ERR, subsys, "cannot give %s to %s:%s: %s", path, owner && *owner ? owner : "-",
		    group && *group ? group : "-", strerror(e));
		return -e;
	}
	return 0;
}

static int open_unix(struct ctlsock *s, const char *path)
{
	const struct ctlsock_proto *p = s->p;
	const struct rg_config *cfg = &s->d->cfg;
	struct stat st;
	if (strlen(path) >= sizeof(s->path)) {
		LOG(LOG_ERR, p->subsys, "%s: path too long", p->unix_option);
		return -ENAMETOOLONG;
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	int r = p->unix_own ? mkdir_for(path) : 0;
	if (r < 0) {
		LOG(LOG_ERR, p->subsys, "cannot create the directory of %s: %s", path, strerror(-r));
		return r;
	}
	/* a socket left by a previous run is ours to replace; anything else is not */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			LOG(LOG_ERR, p->subsys, "%s exists and is not a socket", path);
			return -EEXIST;
		}
		unlink(path);
	}
	uv_pipe_init(s->d->loop, &s->unix_sock, 0);
	s->unix_sock.data = s;
	s->have_unix = true;
	mode_t old = umask(0777 & ~(mode_t)cfg->unix_mode);
	r = uv_pipe_bind(&s->unix_sock, path);
	umask(old);
	if (r == 0)
		r = chmod(path, (mode_t)cfg->unix_mode) < 0 ? -errno : 0;
	if (r == 0 && p->unix_own)
		r = unix_chown(p->subsys, path, cfg->unix_owner, cfg->unix_group);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&s->unix_sock, 128, unix_accept);
	if (r < 0) {
		LOG(LOG_ERR, p->subsys, "cannot listen on UNIX socket %s: %s", path, uv_strerror(r));
		return r;
	}
	LOG(LOG_INFO, p->subsys, "%s over UNIX socket %s (mode %04o)", p->name, path, cfg->unix_mode);
	return 0;
}

int ctlsock_open(struct ctlsock **out, struct rg_daemon *d, const struct ctlsock_proto *p,
		 void *ctx, struct replycache *cache, struct ctlsock_counters counters,
		 const char *udp_spec, const char *unix_path)
{
	*out = NULL;
	if (p->udp_batch < 1 || p->udp_batch > UDP_BATCH_MAX)
		return -EINVAL;
	bool udp = udp_spec && udp_spec[0], unx = unix_path && unix_path[0];
	if (!udp && !unx)
		return 0;
	struct ctlsock *s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	/* the fields not named are zero: every buffer starts empty (buf_init) */
	*s = (struct ctlsock){ .d = d, .p = p, .ctx = ctx, .cache = cache, .cn = counters };
	int r = 0;
	if (udp)
		r = open_udp(s, udp_spec);
	if (r == 0 && unx)
		r = open_unix(s, unix_path);
	if (r < 0) {
		ctlsock_close(s);
		return r;
	}
	*out = s;
	return 0;
}

void ctlsock_close(struct ctlsock *s)
{
	if (!s)
		return;
	/* s is freed when the last of its handles has closed */
	s->closing = 1 + s->have_udp + s->have_unix;
	for (struct conn *c = s->conns; c; c = c->next) {
		s->closing++;   /* every listed connection calls conn_closed() once */
		conn_close(c);
	}
	if (s->have_udp)
		uv_close((uv_handle_t *)&s->udp, sock_handle_closed);
	if (s->have_unix) {
		uv_close((uv_handle_t *)&s->unix_sock, sock_handle_closed);
		unlink(s->path);
	}
	if (--s->closing == 0)
		sock_free(s);
}
