/* test_replycache.c - UDP reply cache: hits by (source, cookie), expiry, cap. */
#include "unit.h"
#include "replycache.h"

#include <stdio.h>
#include <string.h>

static void t_hit_miss_expire(void)
{
	struct replycache *rc;
	EXPECT_INT(replycache_new(&rc, 30000, 100), 0);
	union rg_addr a, b;
	addr_parse(&a, "127.0.0.1", 5060);
	addr_parse(&b, "127.0.0.1", 5061);
	EXPECT_INT(replycache_put(rc, &a, "c1", 2, "c1 d6:result4:ponge", 19, 1000), 0);
	size_t n = 0;
	const char *r = replycache_get(rc, &a, "c1", 2, &n);
	EXPECT(r != NULL);
	EXPECT_INT(n, 19);
	EXPECT(replycache_get(rc, &b, "c1", 2, &n) == NULL);   /* other source */
	EXPECT(replycache_get(rc, &a, "c2", 2, &n) == NULL);   /* other cookie */
	replycache_expire(rc, 30999);
	EXPECT(replycache_get(rc, &a, "c1", 2, &n) != NULL);   /* still within 30 s */
	replycache_expire(rc, 31000);
	EXPECT(replycache_get(rc, &a, "c1", 2, &n) == NULL);
	EXPECT_INT(replycache_count(rc), 0);
	replycache_free(rc);
}

static void t_cap_drops_oldest(void)
{
	struct replycache *rc;
	EXPECT_INT(replycache_new(&rc, 60000, 3), 0);
	union rg_addr a;
	addr_parse(&a, "::1", 7000);
	const char *cookies[] = { "a", "b", "c", "d" };
	for (int i = 0; i < 4; i++)
		replycache_put(rc, &a, cookies[i], 1, "x", 1, 10);
	size_t n;
	EXPECT_INT(replycache_count(rc), 3);
	EXPECT(replycache_get(rc, &a, "a", 1, &n) == NULL);
	EXPECT(replycache_get(rc, &a, "d", 1, &n) != NULL);
	replycache_free(rc);
}

/* Past the cap the cache keeps the newest max_entries, put after put: a
 * retransmission of any recent request still finds its reply. (The byte
 * count once went below zero on the first eviction, and from then on every
 * put emptied the whole cache.) */
static void t_cap_holds_steady(void)
{
	struct replycache *rc;
	EXPECT_INT(replycache_new(&rc, 60000, 100), 0);
	union rg_addr a;
	addr_parse(&a, "127.0.0.1", 5060);
	char cookie[16], reply[400];
	memset(reply, 'r', sizeof(reply));
	for (int i = 0; i < 1000; i++) {
		int cl = snprintf(cookie, sizeof(cookie), "k%d", i);
		EXPECT_INT(replycache_put(rc, &a, cookie, (size_t)cl, reply, 100 + (size_t)(i % 300),
					  1000), 0);
		EXPECT_INT(replycache_count(rc), i < 100 ? i + 1 : 100);
	}
	size_t n;
	for (int i = 900; i < 1000; i++) {
		int cl = snprintf(cookie, sizeof(cookie), "k%d", i);
		EXPECT(replycache_get(rc, &a, cookie, (size_t)cl, &n) != NULL);
	}
	EXPECT(replycache_get(rc, &a, "k899", 4, &n) == NULL);
	/* 100 entries of at most ~500 bytes: one chunk and the spare at most */
	EXPECT(replycache_mapped(rc) <= 2 * 65536);
	replycache_free(rc);
}

/* Large replies: 32 MiB of them at most, the newest kept. */
static void t_byte_cap(void)
{
	struct replycache *rc;
	EXPECT_INT(replycache_new(&rc, 60000, 100000), 0);
	union rg_addr a;
	addr_parse(&a, "127.0.0.1", 5060);
	static char big[1 << 20];
	memset(big, 'b', sizeof(big));
	char cookie[16];
	for (int i = 0; i < 100; i++) {
		int cl = snprintf(cookie, sizeof(cookie), "b%d", i);
		EXPECT_INT(replycache_put(rc, &a, cookie, (size_t)cl, big, sizeof(big), 1000), 0);
	}
	EXPECT_INT(replycache_count(rc), 31);   /* 31 MiB and their headers fit, 32 do not */
	EXPECT(replycache_mapped(rc) <= (32u << 20) + (1u << 20));
	size_t n;
	EXPECT(replycache_get(rc, &a, "b99", 3, &n) != NULL && n == sizeof(big));
	EXPECT(replycache_get(rc, &a, "b69", 3, &n) != NULL);
	EXPECT(replycache_get(rc, &a, "b68", 3, &n) == NULL);
	replycache_free(rc);
}

/* A burst of replies of mixed sizes (one larger than a chunk) spans many
 * chunks; every byte of them is returned once they expire, and replies
 * stay intact while they live. */
static void t_memory_returned_on_expiry(void)
{
	struct replycache *rc;
	EXPECT_INT(replycache_new(&rc, 60000, 100000), 0);
	union rg_addr a;
	addr_parse(&a, "127.0.0.1", 5060);
	static char big[100000];
	memset(big, 'b', sizeof(big));
	char cookie[16], reply[2000];
	for (int i = 0; i < 3000; i++) {
		int cl = snprintf(cookie, sizeof(cookie), "k%d", i);
		size_t rl = i == 1500 ? sizeof(big) : (size_t)(100 + i % 1800);
		memset(reply, 'a' + i % 26, sizeof(reply));
		EXPECT_INT(replycache_put(rc, &a, cookie, (size_t)cl, i == 1500 ? big : reply, rl,
					  1000 + (uint64_t)i), 0);
	}
	EXPECT(replycache_mapped(rc) > 2000000);
	size_t n = 0;
	const char *r = replycache_get(rc, &a, "k1499", 5, &n);
	EXPECT(r != NULL);
	EXPECT_INT(n, 100 + 1499 % 1800);
	EXPECT_INT(r[0], 'a' + 1499 % 26);
	EXPECT_INT(r[n - 1], 'a' + 1499 % 26);
	r = replycache_get(rc, &a, "k1500", 5, &n);
	EXPECT(r != NULL && n == sizeof(big) && r[n - 1] == 'b');
	replycache_expire(rc, 61000 + 1499);         /* the first 1,500 go */
	EXPECT_INT(replycache_count(rc), 1500);
	EXPECT(replycache_get(rc, &a, "k1500", 5, &n) != NULL);
	replycache_expire(rc, 61000 + 3000);
	EXPECT_INT(replycache_count(rc), 0);
	EXPECT_INT(replycache_mapped(rc), 0);
	/* and it works again from empty */
	EXPECT_INT(replycache_put(rc, &a, "z", 1, "y", 1, 70000), 0);
	EXPECT(replycache_get(rc, &a, "z", 1, &n) != NULL);
	replycache_free(rc);
}

const struct unit_case unit_cases[] = {
	UNIT(t_hit_miss_expire), UNIT(t_cap_drops_oldest), UNIT(t_cap_holds_steady),
	UNIT(t_byte_cap), UNIT(t_memory_returned_on_expiry), { 0 }
};
