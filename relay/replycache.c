/* replycache.c - see replycache.h.
 *
 * A chained hash table for lookup plus a FIFO list in insertion order,
 * which is also expiry order since every entry has the same lifetime.
 * The table doubles whenever it holds more entries than buckets, so a
 * lookup stays one or two compares at any request rate (a cache sized for
 * 60 s of 10,000 requests per second holds 200,000 replies).
 *
 * Entries leave oldest first (expiry and both caps), so they are stored
 * the same way: appended to 64 KiB chunks mapped from the system, each
 * counting its live entries; a chunk whose entries are all gone is
 * unmapped at once, except one kept for the next chunk while the cache
 * holds entries: at a steady request rate chunks are emptied as fast as
 * they fill, and reusing one spares a map, an unmap (which interrupts every
 * CPU the workers run on to flush their TLBs) and 16 page faults each time.
 * The memory of a burst of calls thus goes back to the system when their
 * replies expire, instead of staying behind as holes in the heap between
 * longer-lived blocks.
 */
#include "replycache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define CHUNK_SIZE (64u << 10)

struct chunk {
	struct chunk *next;            /* newer chunk */
	size_t size, used, live;       /* bytes mapped, bytes handed out, entries */
	_Alignas(16) char data[];
};

struct entry {
	struct entry *hnext;           /* hash chain */
	struct entry *older, *newer;   /* FIFO */
	struct chunk *chunk;           /* where the entry is stored */
	uint64_t expires;
	union rg_addr src;
	size_t cookie_len, reply_len;
	uint32_t hash;
	char data[];                   /* cookie then reply */
};

/* Bytes of replies kept at most: a flood of large requests cannot grow
 * the cache without bound; the oldest replies go first. */
#define REPLYCACHE_MAX_BYTES (32u << 20)

struct replycache {
	struct entry **buckets;
	size_t nbuckets, count, max, bytes;
	unsigned ttl;
	struct entry *oldest, *newest;
	struct chunk *first, *last;    /* oldest and newest chunk */
	struct chunk *spare;           /* an emptied CHUNK_SIZE chunk, or NULL */
	size_t mapped;                 /* bytes of all chunks, the spare included */
};

/* Room for size bytes at the end of the newest chunk, or a new chunk
 * (larger than CHUNK_SIZE for a reply that needs it). */
static void *chunk_alloc(struct replycache *rc, size_t size, struct chunk **where)
{
	size = (size + 15) & ~(size_t)15;
	struct chunk *c = rc->last;
	if (!c || c->size - c->used < size) {
		size_t len = sizeof(*c) + size > CHUNK_SIZE ? sizeof(*c) + size : CHUNK_SIZE;
		if (rc->spare && len == CHUNK_SIZE) {
			c = rc->spare;
			rc->spare = NULL;
		} else {
			c = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (c == MAP_FAILED)
				return NULL;
			rc->mapped += len;
		}
		c->next = NULL;
		c->size = len - sizeof(*c);
		c->used = c->live = 0;
		if (rc->last)
			rc->last->next = c;
		else
			rc->first = c;
		rc->last = c;
	}
	void *p = c->data + c->used;
	c->used += size;
	c->live++;
	*where = c;
	return p;
}

static void chunk_unmap(struct replycache *rc, struct chunk *c)
{
	rc->mapped -= sizeof(*c) + c->size;
	munmap(c, sizeof(*c) + c->size);
}

/* Unmaps the oldest chunks that hold no entry any more (one may become the
 * spare). Entries leave in the order they came, so an emptied chunk is
 * always at the front. Called after the entry has been counted out. */
static void chunk_release(struct replycache *rc, struct chunk *c)
{
	c->live--;
	while (rc->first && !rc->first->live) {
		struct chunk *f = rc->first;
		rc->first = f->next;
		if (rc->last == f)
			rc->last = NULL;
		if (!rc->spare && sizeof(*f) + f->size == CHUNK_SIZE)
			rc->spare = f;
		else
			chunk_unmap(rc, f);
	}
	if (!rc->count && rc->spare) {
		/* nothing left to reply to: all of it goes back */
		chunk_unmap(rc, rc->spare);
		rc->spare = NULL;
	}
}

static uint32_t hash_of(const union rg_addr *src, const char *cookie, size_t len)
{
	uint32_t h = 2166136261u;
	socklen_t n = addr_len(src);
	/* hash the family, port and address bytes, not padding */
	union rg_addr a;
	memset(&a, 0, sizeof(a));
	memcpy(&a, src, n);
	if (a.sa.sa_family == AF_INET6) {
		a.in6.sin6_flowinfo = 0;
	}
	const uint8_t *p = (const uint8_t *)&a;
	for (socklen_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)cookie[i]) * 16777619u;
	return h;
}

#define MAX_BUCKETS (1u << 20)

/* Doubles the table; on allocation failure the old one simply stays. */
static void grow(struct replycache *rc)
{
	size_t n = rc->nbuckets * 2;
	struct entry **b = calloc(n, sizeof(*b));
	if (!b)
		return;
	for (size_t i = 0; i < rc->nbuckets; i++) {
		struct entry *e = rc->buckets[i], *next;
		for (; e; e = next) {
			next = e->hnext;
			e->hnext = b[e->hash % n];
			b[e->hash % n] = e;
		}
	}
	free(rc->buckets);
	rc->buckets = b;
	rc->nbuckets = n;
}

int replycache_new(struct replycache **out, unsigned ttl_ms, size_t max_entries)
{
	struct replycache *rc = calloc(1, sizeof(*rc));
	if (!rc)
		return -ENOMEM;
	rc->nbuckets = 4096;
	rc->buckets = calloc(rc->nbuckets, sizeof(*rc->buckets));
	if (!rc->buckets) {
		free(rc);
		return -ENOMEM;
	}
	rc->ttl = ttl_ms;
	rc->max = max_entries ? max_entries : 1;
	*out = rc;
	return 0;
}

static void unlink_entry(struct replycache *rc, struct entry *e)
{
	struct entry **pp = &rc->buckets[e->hash % rc->nbuckets];
	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	if (e->older)
		e->older->newer = e->newer;
	else
		rc->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		rc->newest = e->older;
	rc->count--;
	rc->bytes -= sizeof(*e) + e->cookie_len + e->reply_len;
	chunk_release(rc, e->chunk);
}

void replycache_free(struct replycache *rc)
{
	if (!rc)
		return;
	while (rc->oldest)
		unlink_entry(rc, rc->oldest);
	if (rc->spare)
		chunk_unmap(rc, rc->spare);
	free(rc->buckets);
	free(rc);
}

const char *replycache_get(struct replycache *rc, const union rg_addr *src,
			   const char *cookie, size_t cookie_len, size_t *reply_len)
{
	uint32_t h = hash_of(src, cookie, cookie_len);
	for (struct entry *e = rc->buckets[h % rc->nbuckets]; e; e = e->hnext)
		if (e->hash == h && e->cookie_len == cookie_len && addr_equal(&e->src, src) &&
		    memcmp(e->data, cookie, cookie_len) == 0) {
			*reply_len = e->reply_len;
			return e->data + cookie_len;
		}
	return NULL;
}

int replycache_put(struct replycache *rc, const union rg_addr *src, const char *cookie,
		   size_t cookie_len, const char *reply, size_t reply_len, uint64_t now_ms)
{
	size_t size = sizeof(struct entry) + cookie_len + reply_len;
	while (rc->oldest && (rc->count >= rc->max || rc->bytes + size > REPLYCACHE_MAX_BYTES))
		unlink_entry(rc, rc->oldest);
	struct chunk *c;
	struct entry *e = chunk_alloc(rc, size, &c);
	if (!e)
		return -ENOMEM;
	memset(e, 0, sizeof(*e));
	e->chunk = c;
	memcpy(&e->src, src, addr_len(src));
	e->cookie_len = cookie_len;
	e->reply_len = reply_len;
	e->expires = now_ms + rc->ttl;
	e->hash = hash_of(src, cookie, cookie_len);
	memcpy(e->data, cookie, cookie_len);
	memcpy(e->data + cookie_len, reply, reply_len);
	struct entry **b = &rc->buckets[e->hash % rc->nbuckets];
	e->hnext = *b;
	*b = e;
	e->older = rc->newest;
	if (rc->newest)
		rc->newest->newer = e;
	else
		rc->oldest = e;
	rc->newest = e;
	rc->count++;
	rc->bytes += size;
	if (rc->count > rc->nbuckets && rc->nbuckets < MAX_BUCKETS)
		grow(rc);
	return 0;
}

void replycache_expire(struct replycache *rc, uint64_t now_ms)
{
	while (rc->oldest && rc->oldest->expires <= now_ms)
		unlink_entry(rc, rc->oldest);
}

size_t replycache_count(const struct replycache *rc) { return rc->count; }
size_t replycache_mapped(const struct replycache *rc) { return rc->mapped; }
