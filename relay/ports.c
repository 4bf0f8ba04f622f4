/* ports.c - port pool; see ports.h.
 *
 * State is one 64-bit word per pair: 0 free, PAIR_USED taken, anything else
 * the monotonic millisecond at which a resting pair becomes free again.
 * Allocation walks from a random pair index and binds both sockets; a pair
 * another process holds (EADDRINUSE) is skipped, not marked, since that
 * process may let go of it later. The start index comes from a per-pool
 * xorshift generator seeded once from getrandom(): unpredictable enough to
 * keep ports hard to guess, without a system call per allocation.
 */
#include "ports.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define PAIR_USED UINT64_MAX

struct ports_pool {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int first;          /* first even port */
	unsigned npairs;
	unsigned used;
	unsigned quarantine_ms;
	uint64_t rng;       /* xorshift64 state, never 0 */
	uint64_t *state;
};

static uint64_t next_random(struct ports_pool *p)
{
	uint64_t x = p->rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return p->rng = x;
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
	p->state = calloc(p->npairs, sizeof(*p->state));
	if (!p->state) {
		free(p);
		return -ENOMEM;
	}
	*out = p;
	return 0;
}

void ports_pool_free(struct ports_pool *p)
{
	if (!p)
		return;
	free(p->state);
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

int ports_alloc_pair(struct ports_pool *p, uint64_t now_ms, int *rtp_fd, int *rtcp_fd,
		     uint16_t *rtp_port)
{
	unsigned start = (unsigned)((next_random(p) >> 32) % p->npairs);
	for (unsigned k = 0; k < p->npairs; k++) {
		unsigned i = (start + k) % p->npairs;
		uint64_t s = p->state[i];
		if (s == PAIR_USED || (s != 0 && s > now_ms))
			continue;
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
