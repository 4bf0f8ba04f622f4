/* histo.c - log-linear latency histogram for the load tool.
 *
 * Values below HISTO_LINEAR microseconds get a bucket each, since relay
 * latencies on loopback live there and p99 must be exact to the
 * microsecond. Above that, each power of two is split into HISTO_SUB
 * buckets, which bounds the struct to a few tens of kilobytes while still
 * covering overload latencies of seconds. Quantiles report a bucket's lower
 * edge, the exact maximum is kept separately.
 */
#include "histo.h"

#include <string.h>

void histo_reset(struct histo *h)
{
	memset(h, 0, sizeof(*h));
}

static unsigned histo_index(uint64_t us)
{
	if (us < HISTO_LINEAR)
		return (unsigned)us;
	unsigned e = 63u - (unsigned)__builtin_clzll(us); /* >= 12 */
	if (e > 36)
		return HISTO_BUCKETS - 1;
	unsigned sub = (unsigned)(us >> (e - 6)) & (HISTO_SUB - 1);
	return HISTO_LINEAR + (e - 12) * HISTO_SUB + sub;
}

static double histo_lower(unsigned idx)
{
	if (idx < HISTO_LINEAR)
		return idx;
	unsigned e = (idx - HISTO_LINEAR) / HISTO_SUB + 12;
	unsigned sub = (idx - HISTO_LINEAR) % HISTO_SUB;
	return (double)((1ull << e) + ((uint64_t)sub << (e - 6)));
}

void histo_add(struct histo *h, uint64_t us)
{
	h->b[histo_index(us)]++;
	h->count++;
	if (us > h->max_us)
		h->max_us = us;
}

void histo_merge(struct histo *into, const struct histo *from)
{
	for (unsigned i = 0; i < HISTO_BUCKETS; i++)
		into->b[i] += from->b[i];
	into->count += from->count;
	if (from->max_us > into->max_us)
		into->max_us = from->max_us;
}

double histo_quantile(const struct histo *h, double q)
{
	if (!h->count)
		return 0;
	uint64_t want = (uint64_t)(q * (double)h->count);
	if (want >= h->count)
		want = h->count - 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < HISTO_BUCKETS; i++) {
		seen += h->b[i];
		if (seen > want)
			return histo_lower(i);
	}
	return (double)h->max_us;
}
