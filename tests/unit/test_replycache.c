/* test_replycache.c - UDP reply cache: hits by (source, cookie), expiry, cap. */
#include "unit.h"
#include "replycache.h"

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

const struct unit_case unit_cases[] = { UNIT(t_hit_miss_expire), UNIT(t_cap_drops_oldest), { 0 } };
