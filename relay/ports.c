/* ports.c - port pool; see ports.h.
 *
 * State is one 64-bit word per pair: 0 free, PAIR_USED taken, anything else
 * the monotonic millisecond at which a resting pair becomes free again.
 * Allocation walks from a random pair index and binds both sockets; a pair
 * another process holds (EADDRINUSE) is skipped, not marked, since that
 * process may let go of it later. The start index comes from a per-pool
 * xorshift generator seeded once from getrandom(): unpredictable enough to
 * keep ports hard to guess, without a system call per allocation.
 *
 * Spares (sockets of an ended call, kept for reuse) sit in a list through
 * per-pair links, oldest first; an allocation looks at the first few that
 * are free and takes one of them at random, then falls back to the walk
 * (which also takes a free spare it meets, and never binds over one). The
 * per-pair spare records are zero until used (fd + 1, 0 = none).
 * Both per-pair arrays (32 bytes a pair, 16 per port) are one mapping,
 * populated at start: a fixed cost of the range, resident from the
 * beginning. Left to fault in, each call would touch the pages its random
 * pairs land on, memory that grows with the first calls and stays after
 * they end (the pool writes a deleted call's spares) though it is no
 * call's.
 */
#include "ports.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define PAIR_USED UINT64_MAX
#define SPARE_LOOK 8          /* free spares at the list head to choose from */
#define DRAIN_BATCH 16
#define DRAIN_ROUNDS 4        /* a socket still receiving after this is not reused */

struct spare {
	int fd1[2];               /* fds + 1; 0: no spare */
	int32_t prev, next;       /* list links while a spare, -1 at the ends */
	uint64_t since;           /* free (quarantine over) since, ms */
};

struct ports_pool {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int first;          /* first even port */
	unsigned npairs;
	unsigned used;
	unsigned quarantine_ms;
	uint64_t rng;       /* xorshift64 state, never 0 */
	uint64_t *state;
	struct spare *spare;
	int32_t shead, stail;
	unsigned nspare;    /* pairs */
};

static uint64_t next_random(struct ports_pool *p)
{
	uint64_t x = p->rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return p->rng = x;
}

/* state[npairs] then spare[npairs], in one mapping */
static size_t arrays_len(unsigned npairs)
{
	return (size_t)npairs * (sizeof(uint64_t) + sizeof(struct spare));
}

int ports_pool_new(struct ports_pool **out, const struct sockaddr *addr,
		   int port_min, int port_max, unsigned quarantine_ms)
{
	if (port_min < 1 || port_max > 65535 || port_min > port_max)
		return -EINVAL;
	if (addr->sa_family != AF_INET && addr->sa_family != AF_INET6)
		return -EAFNOSUPPORT;
	int first = port_min + (port_min & 1);
	if (first + 1 > port_max)
		return -EINVAL;
	struct ports_pool *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->addrlen = addr->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	memcpy(&p->addr, addr, p->addrlen);
	p->first = first;
	p->npairs = (unsigned)((port_max - first + 1) / 2);
	p->quarantine_ms = quarantine_ms;
	if (getrandom(&p->rng, sizeof(p->rng), GRND_NONBLOCK) != sizeof(p->rng))
		p->rng = (uint64_t)(uintptr_t)p ^ ((uint64_t)getpid() << 32);
	p->rng |= 1;
	void *m = mmap(NULL, arrays_len(p->npairs), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (m == MAP_FAILED) {
		free(p);
		return -ENOMEM;
	}
	p->state = m;
	p->spare = (struct spare *)(p->state + p->npairs);
	p->shead = p->stail = -1;
	*out = p;
	return 0;
}

static void spare_unlink(struct ports_pool *p, int32_t i)
{
	struct spare *sp = &p->spare[i];
	if (sp->prev >= 0)
		p->spare[sp->prev].next = sp->next;
	else
		p->shead = sp->next;
	if (sp->next >= 0)
		p->spare[sp->next].prev = sp->prev;
	else
		p->stail = sp->prev;
	sp->fd1[0] = sp->fd1[1] = 0;
	p->nspare--;
}

static void spare_close(struct ports_pool *p, int32_t i)
{
	close(p->spare[i].fd1[0] - 1);
	close(p->spare[i].fd1[1] - 1);
	spare_unlink(p, i);
}

void ports_pool_free(struct ports_pool *p)
{
	if (!p)
		return;
	while (p->shead >= 0)
		spare_close(p, p->shead);
	munmap(p->state, arrays_len(p->npairs));
	free(p);
}

static int bind_port(const struct ports_pool *p, int port)
{
	struct sockaddr_storage a = p->addr;
	if (a.ss_family == AF_INET)
		((struct sockaddr_in *)&a)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)&a)->sin6_port = htons((uint16_t)port);
	int fd = socket(a.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (a.ss_family == AF_INET6) {
		int one = 1;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (bind(fd, (struct sockaddr *)&a, p->addrlen) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* Reads and drops whatever waits on fd. true when it ends up empty. */
static bool drain(int fd)
{
	char sink[1];
	struct iovec iov = { sink, sizeof(sink) };
	struct mmsghdr m[DRAIN_BATCH];
	for (int round = 0; round < DRAIN_ROUNDS; round++) {
		memset(m, 0, sizeof(m));
		for (int i = 0; i < DRAIN_BATCH; i++) {
			m[i].msg_hdr.msg_iov = &iov;
			m[i].msg_hdr.msg_iovlen = 1;
		}
		int n = recvmmsg(fd, m, DRAIN_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n >= 0 && n < DRAIN_BATCH)
			return true;
		/* a full batch, EINTR, or a pending socket error (now cleared): again */
	}
	return false;
}

/* Hands out spare i (free at now): drained, or closed and -EAGAIN when
 * its old party keeps sending. */
static int spare_take(struct ports_pool *p, int32_t i, int *rtp_fd, int *rtcp_fd, uint16_t *rtp_port)
{
	struct spare *sp = &p->spare[i];
	int a = sp->fd1[0] - 1, b = sp->fd1[1] - 1;
	if (!drain(a) || !drain(b)) {
		spare_close(p, i);
		return -EAGAIN;
	}
	spare_unlink(p, i);
	p->state[i] = PAIR_USED;
	p->used++;
	*rtp_fd = a;
	*rtcp_fd = b;
	*rtp_port = (uint16_t)(p->first + 2 * i);
	return 0;
}

static bool pair_free(const struct ports_pool *p, unsigned i, uint64_t now_ms)
{
	uint64_t s = p->state[i];
	return s != PAIR_USED && (s == 0 || s <= now_ms);
}

int ports_alloc_pair(struct ports_pool *p, uint64_t now_ms, int *rtp_fd, int *rtcp_fd,
		     uint16_t *rtp_port)
{
	while (p->shead >= 0) {
		int32_t pick[SPARE_LOOK];
		int n = 0;
		for (int32_t i = p->shead; i >= 0 && n < SPARE_LOOK; i = p->spare[i].next)
			if (pair_free(p, (unsigned)i, now_ms))
				pick[n++] = i;
			else
				break;   /* oldest first: the rest rest longer */
		if (!n)
			break;
		int32_t i = pick[n > 1 ? (next_random(p) >> 32) % (unsigned)n : 0];
		if (spare_take(p, i, rtp_fd, rtcp_fd, rtp_port) == 0)
			return 0;
	}
	unsigned start = (unsigned)((next_random(p) >> 32) % p->npairs);
	for (unsigned k = 0; k < p->npairs; k++) {
		unsigned i = (start + k) % p->npairs;
		if (!pair_free(p, i, now_ms))
			continue;
		if (p->spare[i].fd1[0]) {
			if (spare_take(p, (int32_t)i, rtp_fd, rtcp_fd, rtp_port) == 0)
				return 0;
			/* closed: the pair may be bound afresh below */
		}
		int port = p->first + 2 * (int)i;
		int a = bind_port(p, port);
		if (a == -EADDRINUSE || a == -EACCES)
			continue;
		if (a < 0)
			return a;
		int b = bind_port(p, port + 1);
		if (b == -EADDRINUSE || b == -EACCES) {
			close(a);
			continue;
		}
		if (b < 0) {
			close(a);
			return b;
		}
		p->state[i] = PAIR_USED;
		p->used++;
		*rtp_fd = a;
		*rtcp_fd = b;
		*rtp_port = (uint16_t)port;
		return 0;
	}
	return -ENOSPC;
}

void ports_release_pair(struct ports_pool *p, uint16_t rtp_port, uint64_t now_ms)
{
	int off = (int)rtp_port - p->first;
	if (off < 0 || (off & 1) || (unsigned)(off / 2) >= p->npairs)
		return;
	uint64_t *s = &p->state[off / 2];
	if (*s != PAIR_USED)
		return;
	*s = p->quarantine_ms ? now_ms + p->quarantine_ms : 0;
	p->used--;
}

void ports_return_pair(struct ports_pool *p, uint16_t rtp_port, int rtp_fd, int rtcp_fd,
		       uint64_t now_ms)
{
	int off = (int)rtp_port - p->first;
	bool keep = rtp_fd >= 0 && rtcp_fd >= 0 && off >= 0 && !(off & 1) &&
		    (unsigned)(off / 2) < p->npairs;
	int32_t i = off / 2;
	uint64_t free_at = 0;
	if (keep) {
		uint64_t s = p->state[i];
		free_at = s > now_ms ? s : now_ms;
		keep = s != PAIR_USED && !p->spare[i].fd1[0] && free_at <= now_ms + PORTS_SPARE_HOLD_MS;
	}
	if (!keep) {
		if (rtp_fd >= 0)
			close(rtp_fd);
		if (rtcp_fd >= 0)
			close(rtcp_fd);
		return;
	}
	struct spare *sp = &p->spare[i];
	sp->fd1[0] = rtp_fd + 1;
	sp->fd1[1] = rtcp_fd + 1;
	sp->since = free_at;
	sp->next = -1;
	sp->prev = p->stail;
	if (p->stail >= 0)
		p->spare[p->stail].next = i;
	else
		p->shead = i;
	p->stail = i;
	p->nspare++;
}

void ports_expire_spares(struct ports_pool *p, uint64_t now_ms)
{
	while (p->shead >= 0 && p->spare[p->shead].since + PORTS_SPARE_HOLD_MS <= now_ms)
		spare_close(p, p->shead);
}

bool ports_recycles(const struct ports_pool *p) { return p->quarantine_ms <= PORTS_SPARE_HOLD_MS; }

unsigned ports_spare(const struct ports_pool *p) { return 2 * p->nspare; }

unsigned ports_in_use(const struct ports_pool *p) { return 2 * p->used; }
unsigned ports_total(const struct ports_pool *p) { return 2 * p->npairs; }

unsigned ports_resting(const struct ports_pool *p, uint64_t now_ms)
{
	unsigned n = 0;
	for (unsigned i = 0; i < p->npairs; i++)
		if (p->state[i] != PAIR_USED && p->state[i] > now_ms)
			n++;
	return 2 * n;
}
