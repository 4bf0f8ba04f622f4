/* ops.c - opens and closes the operator transports; see ops.h. Kept apart
 * so main.c needs one line for each. */
#include "ops.h"

#include "metrics.h"
#include "rtpp.h"

int ops_open(struct rg_daemon *d)
{
	int r = rtpp_open(d);
	if (r == 0)
		r = metrics_open(d);
	return r;
}

void ops_close(struct rg_daemon *d)
{
	rtpp_close(d);
	metrics_close(d);
}
