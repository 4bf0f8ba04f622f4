/* ops.h - the operator-facing transports that sit beside ng control: the
 * rtpproxy protocol (rtpp.h) and the Prometheus endpoint (metrics.h).
 * Control thread only.
 */
#ifndef RG_OPS_H
#define RG_OPS_H

#include "daemon.h"

/* Opens whatever --listen-rtpp, --listen-rtpp-unix and --listen-http ask
 * for. 0 or negative errno (already logged). */
int ops_open(struct rg_daemon *d);
/* Applies --log-facility (re-opens syslog with it when logging there).
 * -EINVAL, with a message on stderr, for an unknown facility name. */
int ops_log_facility(const struct rg_config *c);
/* Closes them; the control loop can then run out. */
void ops_close(struct rg_daemon *d);

#endif
