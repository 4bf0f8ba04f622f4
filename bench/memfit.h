/* memfit.h - resident memory per call as the slope of RSS over calls.
 *
 * A relay's RSS holds a fixed part (code, per-worker pools, caches touched
 * once media flows) and a part that grows with the calls. Dividing the whole
 * growth by the calls charges the fixed part to them; the slope of a
 * least-squares line through (calls, RSS) samples taken in the same media
 * state does not. Pure functions, no state: any thread.
 */
#ifndef BENCH_MEMFIT_H
#define BENCH_MEMFIT_H

#include <stddef.h>

struct memfit {
	double slope;           /* KB per call */
	double intercept;       /* KB at zero calls (the fixed part + idle RSS) */
	double r2;              /* coefficient of determination, 1 if exact */
	size_t n;               /* samples used */
};

/* Least-squares line y = slope * x + intercept through n points. Returns 0,
 * or -EINVAL when fewer than two distinct x values leave the slope
 * undefined (out is then zeroed). */
int memfit_line(const double *x, const double *y, size_t n, struct memfit *out);

#endif
