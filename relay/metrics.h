/* metrics.h - Prometheus metrics over HTTP (--listen-http), served by
 * libmicrohttpd on the control thread, and the control-command latency
 * histogram they include.
 *
 * libmicrohttpd runs without threads of its own (MHD_USE_EPOLL, external
 * polling): a uv_poll on its epoll fd and a uv_timer from MHD_get_timeout()
 * drive it from the control loop. So a scrape reads the control thread's
 * counters without locks, and the workers' relaxed atomics as any reader
 * may. Every metric is described in docs/metrics.md.
 *
 * Threads: control thread only.
 */
#ifndef RG_METRICS_H
#define RG_METRICS_H

#include <stdint.h>

#include "bencode.h"
#include "buf.h"
#include "daemon.h"

/* Upper bounds of the latency histogram, in microseconds (+Inf implied). */
#define METRICS_LAT_BUCKETS 12

struct metrics_latency {
	uint64_t bucket[NG_CMD__COUNT][METRICS_LAT_BUCKETS + 1];   /* not cumulative */
	uint64_t count[NG_CMD__COUNT];
	uint64_t sum_ns[NG_CMD__COUNT];
};

/* Records how long commands_handle() took for the request req (its
 * "command" names the series). Cheap; does nothing when metrics are off. */
void metrics_observe_command(struct rg_daemon *d, const struct bval *req, uint64_t ns);

/* Appends the whole exposition (text format 0.0.4) to out. */
void metrics_render(struct rg_daemon *d, struct rg_buf *out);

/* Starts the HTTP endpoint named by --listen-http ("" = off). 0 or
 * negative errno (logged). metrics_close() stops it. */
int metrics_open(struct rg_daemon *d);
void metrics_close(struct rg_daemon *d);

#endif
