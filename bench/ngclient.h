/* ngclient.h - a pipelining client for the ng control protocol.
 *
 * Speaks to a relay over UDP ("udp:IP:PORT": "<cookie> <bencode>", replies
 * matched by cookie, retransmitted with the same cookie on timeout) or a
 * UNIX stream socket ("unix:PATH": one bare bencode request per
 * connection). One thread owns a client. ngclient_run() keeps up to
 * `inflight` requests outstanding, so a relay is measured at the rate it
 * can answer, not at one round trip per request.
 */
#ifndef BENCH_NGCLIENT_H
#define BENCH_NGCLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "bencode.h"
#include "buf.h"

struct ngclient {
	int unix_mode;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int udp_fd;
	uint64_t next_cookie;
	unsigned cookie_salt;            /* differs per run */
	unsigned timeout_ms;    /* per try; default 1000 */
	unsigned tries;         /* UDP tries per request; default 3 */
	char *rbuf;             /* 64 KiB receive buffer */
};

struct ngclient_req {
	struct bval *req;       /* caller-owned; not modified */
	struct bval *reply;     /* set by ngclient_run(); caller frees */
	int err;                /* 0, -ETIMEDOUT, -EPROTO, -errno */
};

/* spec is "udp:IP:PORT", "IP:PORT" or "unix:PATH". 0 or -errno/-EINVAL. */
int ngclient_open(struct ngclient *c, const char *spec);
void ngclient_close(struct ngclient *c);
/* Runs n requests with at most `inflight` outstanding; fills each reply or
 * err. Returns the number of requests without a reply (0 = all answered),
 * or a negative errno when the transport itself failed. */
int ngclient_run(struct ngclient *c, struct ngclient_req *reqs, size_t n,
		 unsigned inflight);
/* "ok", "error", "pong", ... from a reply, or "" when absent. */
const char *ngclient_result(const struct bval *reply);
/* error-reason (or warning) for messages; "" when absent. */
const char *ngclient_reason(const struct bval *reply);

#endif
