/* histo.h - a fixed-size log-linear histogram of microsecond values.
 *
 * 1 us resolution below 4096 us, then 64 sub-buckets per power of two
 * (about 1.5 % resolution) up to 2^36 us. No allocation: the struct holds
 * every bucket, so it can live inside another struct. Not thread-safe; the
 * owner (one thread) adds, and copies the struct to hand it to another.
 */
#ifndef BENCH_HISTO_H
#define BENCH_HISTO_H

#include <stdint.h>

#define HISTO_LINEAR 4096u
#define HISTO_SUB 64u
#define HISTO_BUCKETS (HISTO_LINEAR + 25u * HISTO_SUB)

struct histo {
	uint64_t count;
	uint64_t max_us;
	uint32_t b[HISTO_BUCKETS];
};

void histo_reset(struct histo *h);
void histo_add(struct histo *h, uint64_t us);
void histo_merge(struct histo *into, const struct histo *from);
/* Value (us) below which fraction q (0..1) of the samples lie; 0 if empty. */
double histo_quantile(const struct histo *h, double q);

#endif
