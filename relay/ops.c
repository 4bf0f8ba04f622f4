/* ops.c - opens and closes the operator transports; see ops.h. Kept apart
 * so main.c needs one line for each. */
#include "ops.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

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

int ops_log_facility(const struct rg_config *c)
{
	static const struct { const char *name; int fac; } tab[] = {
		{ "daemon", LOG_DAEMON }, { "user", LOG_USER }, { "local0", LOG_LOCAL0 },
		{ "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
		{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 },
		{ "local7", LOG_LOCAL7 },
	};
	const char *name = c->log_facility ? c->log_facility : "daemon";
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		if (strcasecmp(name, tab[i].name))
			continue;
		if (!c->log_stderr)
			openlog("rtpgate", LOG_PID | LOG_NDELAY, tab[i].fac);
		return 0;
	}
	fprintf(stderr, "rtpgate: invalid value '%s' for --log-facility (daemon, user, local0 .. local7)\n", name);
	return -EINVAL;
}
