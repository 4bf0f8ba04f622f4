/* relayproc.h - the relay process rtpgate-bench starts and stops.
 *
 * The command is a template: {ng_port}, {ng_sock}, {port_min} and
 * {port_max} are replaced with a free UDP port, a socket path in /tmp and a
 * random media port range. It runs through /bin/sh -c "exec ...", so the
 * pid we hold is the relay's own (its CPU and memory are what /proc shows
 * for it). Control thread only.
 */
#ifndef BENCH_RELAYPROC_H
#define BENCH_RELAYPROC_H

#include <stdbool.h>
#include <sys/types.h>

struct relayproc {
	pid_t pid;                      /* the running relay, or 0 */
	unsigned ng_port;               /* what {ng_port} became */
	unsigned port_min, port_max;    /* what {port_min}/{port_max} became */
	char sock[108];                 /* what {ng_sock} became */
};

/* Starts the relay. port_min 0 picks a random even-aligned range sized for
 * max_calls (4 ports a call, plus slack). Output goes to log_path
 * (appended). 0 or -errno. */
int relayproc_start(struct relayproc *rp, const char *tmpl, const char *log_path,
		    unsigned max_calls, unsigned port_min, unsigned port_max, bool quiet);
/* True (and pid cleared) if the relay has exited. */
bool relayproc_exited(struct relayproc *rp);
/* SIGTERM, then SIGKILL after 5 s; reaps it. Nothing if not running. */
void relayproc_stop(struct relayproc *rp);

#endif
