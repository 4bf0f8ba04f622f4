/* ngclient.c - sending ng requests to a relay, many at a time.
 *
 * A request occupies one of `inflight` slots from encoding until its reply
 * is decoded. Over UDP all slots share one socket and the cookie names the
 * slot ("<slot>.<salt>.<serial>", the salt differing per run because relays
 * cache replies by cookie), so a late reply to an earlier occupant of the
 * slot is recognised and dropped; a slot whose reply is overdue resends the
 * same datagram, as Kamailio does. Over a UNIX socket every slot has its
 * own connection, the reply ends where the bencode value ends (the relay
 * need not close). poll() waits on everything; the whole run is
 * single-threaded and bounded by tries x timeout per request.
 */
#include "ngclient.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "procstat.h"

#define NGC_RBUF 65536

int ngclient_open(struct ngclient *c, const char *spec)
{
	memset(c, 0, sizeof(*c));
	c->udp_fd = -1;
	c->timeout_ms = 1000;
	c->tries = 3;
	/* relays cache replies by cookie: a second run must not reuse the
	 * first one's cookies, or it gets the first run's answers back */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	c->cookie_salt = (unsigned)getpid() * 2654435761u ^ (unsigned)ts.tv_nsec ^ (unsigned)ts.tv_sec;
	if (!strncmp(spec, "unix:", 5)) {
		struct sockaddr_un *un = (struct sockaddr_un *)&c->addr;
		if (strlen(spec + 5) >= sizeof(un->sun_path))
			return -ENAMETOOLONG;
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, spec + 5);
		c->addrlen = sizeof(*un);
		c->unix_mode = 1;
	} else {
		if (!strncmp(spec, "udp:", 4))
			spec += 4;
		char host[64];
		const char *colon = strrchr(spec, ':');
		if (!colon || (size_t)(colon - spec) >= sizeof(host))
			return -EINVAL;
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = 0;
		struct sockaddr_in *in = (struct sockaddr_in *)&c->addr;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)atoi(colon + 1));
		if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			return -EINVAL;
		c->addrlen = sizeof(*in);
		c->udp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->udp_fd < 0)
			return -errno;
		int sz = 4 << 20;
		setsockopt(c->udp_fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		if (connect(c->udp_fd, (struct sockaddr *)&c->addr, c->addrlen) < 0) {
			int e = -errno;
			close(c->udp_fd);
			c->udp_fd = -1;
			return e;
		}
	}
	c->rbuf = malloc(NGC_RBUF);
	if (!c->rbuf) {
		if (c->udp_fd >= 0)
			close(c->udp_fd);
		return -ENOMEM;
	}
	return 0;
}

void ngclient_close(struct ngclient *c)
{
	if (c->udp_fd >= 0)
		close(c->udp_fd);
	free(c->rbuf);
	c->udp_fd = -1;
	c->rbuf = NULL;
}

struct ngc_slot {
	int busy;
	size_t idx;
	int fd;                 /* UNIX connection */
	unsigned tries;
	uint64_t deadline;
	struct rg_buf out;      /* the encoded request, cookie included */
	size_t cookie_len;      /* bytes of cookie (without the space) */
	struct rg_buf in;       /* UNIX: reply bytes so far */
};

static void ngc_finish(struct ngc_slot *s, struct ngclient_req *r, struct bval *reply, int err)
{
	r->reply = reply;
	r->err = err;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->busy = 0;
}

static int ngc_unix_connect(struct ngclient *c, struct ngc_slot *s)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&c->addr, c->addrlen) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	size_t off = 0;
	while (off < s->out.len) {
		ssize_t w = write(fd, s->out.data + off, s->out.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = -errno;
			close(fd);
			return e;
		}
		off += (size_t)w;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	s->fd = fd;
	return 0;
}

static int ngc_start(struct ngclient *c, struct ngc_slot *s, unsigned slotno,
		     size_t idx, struct ngclient_req *r)
{
	s->idx = idx;
	s->fd = -1;
	s->tries = 1;
	buf_reset(&s->out);
	buf_reset(&s->in);
	if (!c->unix_mode) {
		buf_printf(&s->out, "%u.%x.%llu", slotno, c->cookie_salt,
			   (unsigned long long)c->next_cookie++);
		s->cookie_len = s->out.len;
		buf_putc(&s->out, ' ');
	}
	bencode_encode(r->req, &s->out);
	if (!buf_ok(&s->out))
		return -ENOMEM;
	s->deadline = procstat_now_ns() + (uint64_t)c->timeout_ms * 1000000ull;
	s->busy = 1;
	if (c->unix_mode)
		return ngc_unix_connect(c, s);
	if (send(c->udp_fd, s->out.data, s->out.len, 0) < 0 && errno != EAGAIN &&
	    errno != ENOBUFS && errno != ECONNREFUSED)
		return -errno;
	return 0;
}

static void ngc_udp_input(struct ngclient *c, struct ngc_slot *slots, unsigned nslots,
			  struct ngclient_req *reqs, size_t *done)
{
	for (;;) {
		ssize_t n = recv(c->udp_fd, c->rbuf, NGC_RBUF, 0);
		if (n <= 0)
			return; /* EAGAIN, or ECONNREFUSED from a dead relay: the timeout handles it */
		char *sp = memchr(c->rbuf, ' ', (size_t)n);
		if (!sp)
			continue;
		unsigned slotno = (unsigned)strtoul(c->rbuf, NULL, 10);
		if (slotno >= nslots || !slots[slotno].busy)
			continue;
		struct ngc_slot *s = &slots[slotno];
		size_t clen = (size_t)(sp - c->rbuf);
		if (clen != s->cookie_len || memcmp(c->rbuf, s->out.data, clen))
			continue; /* reply to an earlier request in this slot */
		struct bval *v = NULL;
		size_t used;
		int rc = bencode_decode(sp + 1, (size_t)(n - (sp + 1 - c->rbuf)), &v, &used);
		ngc_finish(s, &reqs[s->idx], rc ? NULL : v, rc ? -EPROTO : 0);
		(*done)++;
	}
}

static void ngc_unix_input(struct ngc_slot *s, struct ngclient_req *r, size_t *done)
{
	for (;;) {
		char tmp[8192];
		ssize_t n = read(s->fd, tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			ngc_finish(s, r, NULL, n < 0 ? -errno : -EPROTO);
			(*done)++;
			return;
		}
		buf_append(&s->in, tmp, (size_t)n);
		struct bval *v = NULL;
		size_t used;
		int rc = bencode_decode(s->in.data, s->in.len, &v, &used);
		if (rc == -EAGAIN)
			continue;
		ngc_finish(s, r, rc ? NULL : v, rc ? -EPROTO : 0);
		(*done)++;
		return;
	}
}

int ngclient_run(struct ngclient *c, struct ngclient_req *reqs, size_t n,
		 unsigned inflight)
{
	if (!inflight)
		inflight = 1;
	if (inflight > n)
		inflight = n ? (unsigned)n : 1;
	struct ngc_slot *slots = calloc(inflight, sizeof(*slots));
	struct pollfd *pfd = calloc(inflight + 1, sizeof(*pfd));
	unsigned *pslot = calloc(inflight + 1, sizeof(*pslot));
	if (!slots || !pfd || !pslot) {
		free(slots);
		free(pfd);
		free(pslot);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < inflight; i++) {
		slots[i].fd = -1;
		buf_init(&slots[i].out);
		buf_init(&slots[i].in);
	}
	for (size_t i = 0; i < n; i++) {
		reqs[i].reply = NULL;
		reqs[i].err = 0;
	}
	size_t next = 0, done = 0;
	int fatal = 0;
	while (done < n && !fatal) {
		for (unsigned i = 0; i < inflight && next < n; i++) {
			if (slots[i].busy)
				continue;
			int rc = ngc_start(c, &slots[i], i, next, &reqs[next]);
			if (rc < 0) {
				ngc_finish(&slots[i], &reqs[next], NULL, rc);
				done++;
			}
			next++;
		}
		uint64_t now = procstat_now_ns(), first = UINT64_MAX;
		unsigned np = 0;
		if (!c->unix_mode) {
			pfd[np].fd = c->udp_fd;
			pfd[np].events = POLLIN;
			np++;
		}
		for (unsigned i = 0; i < inflight; i++) {
			struct ngc_slot *s = &slots[i];
			if (!s->busy)
				continue;
			if (now >= s->deadline) {
				if (!c->unix_mode && s->tries < c->tries) {
					s->tries++;
					s->deadline = now + (uint64_t)c->timeout_ms * 1000000ull;
					if (send(c->udp_fd, s->out.data, s->out.len, 0) < 0 &&
					    errno != EAGAIN && errno != ECONNREFUSED && errno != ENOBUFS)
						fatal = -errno;
				} else {
					ngc_finish(s, &reqs[s->idx], NULL, -ETIMEDOUT);
					done++;
					continue;
				}
			}
			if (s->deadline < first)
				first = s->deadline;
			if (c->unix_mode) {
				pfd[np].fd = s->fd;
				pfd[np].events = POLLIN;
				pslot[np] = i;
				np++;
			}
		}
		if (done >= n)
			break;
		int wait_ms = first == UINT64_MAX ? 100 : (int)((first - now) / 1000000ull) + 1;
		int pr = poll(pfd, np, wait_ms);
		if (pr < 0 && errno != EINTR) {
			fatal = -errno;
			break;
		}
		if (pr <= 0)
			continue;
		if (!c->unix_mode) {
			if (pfd[0].revents)
				ngc_udp_input(c, slots, inflight, reqs, &done);
		} else {
			for (unsigned k = 0; k < np; k++)
				if (pfd[k].revents && slots[pslot[k]].busy)
					ngc_unix_input(&slots[pslot[k]], &reqs[slots[pslot[k]].idx], &done);
		}
	}
	for (unsigned i = 0; i < inflight; i++) {
		if (slots[i].busy)
			ngc_finish(&slots[i], &reqs[slots[i].idx], NULL, fatal ? fatal : -ECANCELED);
		buf_free(&slots[i].out);
		buf_free(&slots[i].in);
	}
	free(slots);
	free(pfd);
	free(pslot);
	if (fatal)
		return fatal;
	size_t failed = 0;
	for (size_t i = 0; i < n; i++)
		if (!reqs[i].reply)
			failed++;
	return (int)failed;
}

static const char *ngc_str(const struct bval *reply, const char *key)
{
	size_t len;
	const char *s = reply ? bval_as_str(bval_get(reply, key), &len) : NULL;
	return s ? s : "";
}

const char *ngclient_result(const struct bval *reply)
{
	return ngc_str(reply, "result");
}

const char *ngclient_reason(const struct bval *reply)
{
	const char *r = ngc_str(reply, "error-reason");
	return r[0] ? r : ngc_str(reply, "warning");
}
