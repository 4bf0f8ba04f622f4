/* test_ports.c - the port pool: pairs, randomness, exhaustion, quarantine. */
#include "unit.h"
#include "ports.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/random.h>
#include <unistd.h>

static struct sockaddr_in lo(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	return a;
}

/* An even base of `n` ports that are all free right now (each can be bound),
 * picked at random so parallel tests on the machine rarely meet. */
static int pick_base(int n)
{
	for (int attempt = 0; attempt < 200; attempt++) {
		uint32_t r = 0;
		getrandom(&r, sizeof(r), 0);
		int base = 30000 + (int)((r % 15000) & ~1u);
		bool all_free = true;
		for (int p = base; p < base + n && all_free; p++) {
			int fd = socket(AF_INET, SOCK_DGRAM, 0);
			struct sockaddr_in a = lo();
			a.sin_port = htons((uint16_t)p);
			all_free = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
			close(fd);
		}
		if (all_free)
			return base;
	}
	unit_fail(__FILE__, __LINE__, "expected a free range of %d ports, found none", n);
	return 30000;
}

/* A pool of n loopback ports from a free base (returned in *base when asked
 * for), with quarantine_ms; each test frees it with ports_pool_free(). */
static struct ports_pool *pool_on_lo(int n, int quarantine_ms, int *base)
{
	struct sockaddr_in a = lo();
	struct ports_pool *p = NULL;
	int b = pick_base(n);
	EXPECT_INT(ports_pool_new(&p, (struct sockaddr *)&a, b, b + n - 1, quarantine_ms), 0);
	if (base)
		*base = b;
	return p;
}

/* A pair taken at now and ended without recycling: its sockets closed and
 * the pair released at now. Returns its RTP port. */
static uint16_t pair_take_and_close(struct ports_pool *p, uint64_t now)
{
	int x = -1, y = -1;
	uint16_t port = 0;
	EXPECT_INT(ports_alloc_pair(p, now, &x, &y, &port), 0);
	close(x);
	close(y);
	ports_release_pair(p, port, now);
	return port;
}

/* A call's end as the relay does it: the pair is released and its sockets
 * handed back to the pool, both at now. */
static void pair_give_back(struct ports_pool *p, uint16_t port, int x, int y, uint64_t now)
{
	ports_release_pair(p, port, now);
	ports_return_pair(p, port, x, y, now);
}

static void t_pairs_are_even_odd_and_bound(void)
{
	int base;
	struct ports_pool *p = pool_on_lo(20, 0, &base);
	EXPECT_INT(ports_total(p), 20);
	int fds[20];
	uint16_t ports[10];
	for (int i = 0; i < 10; i++) {
		uint16_t port;
		int r = ports_alloc_pair(p, 1000, &fds[2 * i], &fds[2 * i + 1], &port);
		EXPECT_INT(r, 0);
		EXPECT_INT(port % 2, 0);
		EXPECT(port >= base && port + 1 <= base + 19);
		struct sockaddr_in got;
		socklen_t len = sizeof(got);
		getsockname(fds[2 * i + 1], (struct sockaddr *)&got, &len);
		EXPECT_INT(ntohs(got.sin_port), port + 1);
		for (int k = 0; k < i; k++)
			EXPECT(ports[k] != port);
		ports[i] = port;
	}
	EXPECT_INT(ports_in_use(p), 20);
	int x, y;
	uint16_t port;
	EXPECT_INT(ports_alloc_pair(p, 1000, &x, &y, &port), -ENOSPC);
	for (int i = 0; i < 20; i++)
		close(fds[i]);
	ports_pool_free(p);
}

static void t_quarantine(void)
{
	struct ports_pool *p = pool_on_lo(2, 3000, NULL);
	int x, y;
	uint16_t port;
	pair_take_and_close(p, 1000);
	EXPECT_INT(ports_in_use(p), 0);
	EXPECT_INT(ports_resting(p, 2000), 2);
	/* still resting at 3999 ms */
	EXPECT_INT(ports_alloc_pair(p, 3999, &x, &y, &port), -ENOSPC);
	EXPECT_INT(ports_alloc_pair(p, 4000, &x, &y, &port), 0);
	close(x);
	close(y);
	/* a double release is harmless */
	ports_release_pair(p, port, 5000);
	ports_release_pair(p, port, 5000);
	EXPECT_INT(ports_in_use(p), 0);
	ports_pool_free(p);
}

static void t_random_start(void)
{
	struct ports_pool *p = pool_on_lo(400, 0, NULL);
	/* 20 fresh allocations, each released at once: if the start were fixed
	 * they would all get the same port */
	int distinct = 0;
	uint16_t seen[20];
	for (int i = 0; i < 20; i++) {
		uint16_t port = pair_take_and_close(p, 1);
		int dup = 0;
		for (int k = 0; k < distinct; k++)
			dup |= seen[k] == port;
		if (!dup)
			seen[distinct++] = port;
	}
	if (distinct < 10)
		unit_fail(__FILE__, __LINE__, "expected >= 10 distinct ports of 20 draws, got %d", distinct);
	ports_pool_free(p);
}

static void t_port_taken_by_others_is_skipped(void)
{
	int base;
	struct ports_pool *p = pool_on_lo(4, 0, &base);
	/* someone else holds base+1: only the pair base+2/base+3 is usable */
	int other = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in o = lo();
	o.sin_port = htons((uint16_t)(base + 1));
	EXPECT_INT(bind(other, (struct sockaddr *)&o, sizeof(o)), 0);
	int x, y;
	uint16_t port;
	EXPECT_INT(ports_alloc_pair(p, 1, &x, &y, &port), 0);
	EXPECT_INT(port, base + 2);
	EXPECT_INT(ports_alloc_pair(p, 1, &x, &y, &port), -ENOSPC);
	close(other);
	ports_pool_free(p);
}

static bool fd_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

static uint16_t local_port(int fd)
{
	struct sockaddr_in got;
	socklen_t len = sizeof(got);
	getsockname(fd, (struct sockaddr *)&got, &len);
	return ntohs(got.sin_port);
}

static void t_spare_reused_after_quarantine(void)
{
	struct ports_pool *p = pool_on_lo(2, 1000, NULL);
	EXPECT(ports_recycles(p));
	int x, y, x2, y2;
	uint16_t port, port2;
	EXPECT_INT(ports_alloc_pair(p, 1000, &x, &y, &port), 0);
	ports_release_pair(p, port, 1000);
	ports_return_pair(p, port, x, y, 1010);
	EXPECT_INT(ports_spare(p), 2);
	EXPECT_INT(ports_resting(p, 1500), 2);
	EXPECT_INT(ports_in_use(p), 0);
	/* kept open, but not handed out before the quarantine ends */
	EXPECT(fd_open(x) && fd_open(y));
	EXPECT_INT(ports_alloc_pair(p, 1999, &x2, &y2, &port2), -ENOSPC);
	EXPECT_INT(ports_alloc_pair(p, 2000, &x2, &y2, &port2), 0);
	EXPECT_INT(x2, x);
	EXPECT_INT(y2, y);
	EXPECT_INT(port2, port);
	EXPECT_INT(local_port(y2), port + 1);
	EXPECT_INT(ports_spare(p), 0);
	EXPECT_INT(ports_in_use(p), 2);
	pair_give_back(p, port2, x2, y2, 3000);
	/* the pool closes its spares when it goes */
	ports_pool_free(p);
	EXPECT(!fd_open(x2) && !fd_open(y2));
}

static void t_spare_is_drained(void)
{
	struct ports_pool *p = pool_on_lo(2, 0, NULL);
	int x, y;
	uint16_t port;
	EXPECT_INT(ports_alloc_pair(p, 1, &x, &y, &port), 0);
	pair_give_back(p, port, x, y, 1);
	/* the old party keeps sending: 40 packets wait in the spare's queues */
	int snd = socket(AF_INET, SOCK_DGRAM, 0);
	for (int i = 0; i < 20; i++)
		for (int c = 0; c < 2; c++) {
			struct sockaddr_in to = lo();
			to.sin_port = htons((uint16_t)(port + c));
			sendto(snd, "old", 3, 0, (struct sockaddr *)&to, sizeof(to));
		}
	int x2, y2;
	uint16_t port2;
	EXPECT_INT(ports_alloc_pair(p, 2, &x2, &y2, &port2), 0);
	EXPECT_INT(x2, x);
	char b[16];
	EXPECT_INT((int)recv(x2, b, sizeof(b), MSG_DONTWAIT), -1);
	EXPECT_INT((int)recv(y2, b, sizeof(b), MSG_DONTWAIT), -1);
	close(snd);
	close(x2);
	close(y2);
	ports_pool_free(p);
}

static void t_long_quarantine_closes(void)
{
	struct ports_pool *p = pool_on_lo(2, 5000, NULL);
	EXPECT(!ports_recycles(p));
	int x, y;
	uint16_t port;
	EXPECT_INT(ports_alloc_pair(p, 1000, &x, &y, &port), 0);
	pair_give_back(p, port, x, y, 1000);
	EXPECT_INT(ports_spare(p), 0);
	EXPECT(!fd_open(x) && !fd_open(y));
	EXPECT_INT(ports_alloc_pair(p, 6000, &x, &y, &port), 0);
	close(x);
	close(y);
	ports_pool_free(p);
}

static void t_idle_spares_expire(void)
{
	struct ports_pool *p = pool_on_lo(4, 0, NULL);
	int x, y, x2, y2;
	uint16_t port, port2;
	EXPECT_INT(ports_alloc_pair(p, 1000, &x, &y, &port), 0);
	EXPECT_INT(ports_alloc_pair(p, 1000, &x2, &y2, &port2), 0);
	pair_give_back(p, port, x, y, 1000);
	pair_give_back(p, port2, x2, y2, 1500);
	EXPECT_INT(ports_spare(p), 4);
	ports_expire_spares(p, 1000 + PORTS_SPARE_HOLD_MS - 1);
	EXPECT_INT(ports_spare(p), 4);
	ports_expire_spares(p, 1000 + PORTS_SPARE_HOLD_MS);
	EXPECT_INT(ports_spare(p), 2);
	EXPECT(!fd_open(x) && !fd_open(y) && fd_open(x2));
	ports_expire_spares(p, 1500 + PORTS_SPARE_HOLD_MS);
	EXPECT_INT(ports_spare(p), 0);
	EXPECT(!fd_open(x2));
	/* both pairs can be bound afresh */
	EXPECT_INT(ports_alloc_pair(p, 5000, &x, &y, &port), 0);
	EXPECT_INT(ports_alloc_pair(p, 5000, &x2, &y2, &port2), 0);
	EXPECT_INT(ports_in_use(p), 4);
	close(x);
	close(y);
	close(x2);
	close(y2);
	ports_pool_free(p);
}

static void t_bad_ranges(void)
{
	struct sockaddr_in a = lo();
	struct ports_pool *p;
	EXPECT_INT(ports_pool_new(&p, (struct sockaddr *)&a, 20000, 10000, 0), -EINVAL);
	EXPECT_INT(ports_pool_new(&p, (struct sockaddr *)&a, 20001, 20001, 0), -EINVAL);
	EXPECT_INT(ports_pool_new(&p, (struct sockaddr *)&a, 0, 10, 0), -EINVAL);
}

const struct unit_case unit_cases[] = {
	UNIT(t_pairs_are_even_odd_and_bound),
	UNIT(t_quarantine),
	UNIT(t_random_start),
	UNIT(t_port_taken_by_others_is_skipped),
	UNIT(t_bad_ranges),
	UNIT(t_spare_reused_after_quarantine),
	UNIT(t_spare_is_drained),
	UNIT(t_long_quarantine_closes),
	UNIT(t_idle_spares_expire),
	{ 0 },
};
