/* memfit.c - least-squares slope of RSS over calls (see memfit.h).
 *
 * Sums are taken about the means, which keeps the arithmetic exact enough
 * for RSS values in the millions of KB and call counts in the thousands.
 * r2 is 1 - residual / total variance of y; with a flat y (no growth at
 * all) the line is exact and r2 is reported as 1.
 */
#include "memfit.h"

#include <errno.h>
#include <string.h>

int memfit_line(const double *x, const double *y, size_t n, struct memfit *out)
{
	memset(out, 0, sizeof(*out));
	if (n < 2)
		return -EINVAL;
	double mx = 0, my = 0;
	for (size_t i = 0; i < n; i++) {
		mx += x[i];
		my += y[i];
	}
	mx /= (double)n;
	my /= (double)n;
	double sxx = 0, sxy = 0, syy = 0;
	for (size_t i = 0; i < n; i++) {
		double dx = x[i] - mx, dy = y[i] - my;
		sxx += dx * dx;
		sxy += dx * dy;
		syy += dy * dy;
	}
	if (sxx <= 0)
		return -EINVAL;
	out->slope = sxy / sxx;
	out->intercept = my - out->slope * mx;
	double res = 0;
	for (size_t i = 0; i < n; i++) {
		double e = y[i] - (out->slope * x[i] + out->intercept);
		res += e * e;
	}
	out->r2 = syy > 0 ? 1.0 - res / syy : 1.0;
	out->n = n;
	return 0;
}
