/* uring.h - io_uring media I/O for a worker (optional; epoll otherwise).
 *
 * With io_uring a worker arms one multishot recvmsg per socket, receiving
 * into a ring of buffers the kernel picks from, and turns each packet to be
 * forwarded into a sendmsg submission entry from that same buffer. All the
 * receives and sends that a loop pass sees go to the kernel in one
 * io_uring_enter(), instead of one recvmmsg() and one sendmmsg() per
 * packet and socket: that is where the CPU of a per-port relay goes.
 *
 * Worker thread only (except uring_init/uring_fini, called on the worker
 * before its thread starts and after it ended). Nothing here allocates
 * after uring_init.
 */
#ifndef RG_URING_H
#define RG_URING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct worker;
struct mstream;
struct uring;

/* 0, or negative errno when the kernel or liburing cannot do it. */
int uring_init(struct worker *w);
void uring_fini(struct worker *w);
/* Starts the ring's poll handle on the worker's loop (worker thread). */
int uring_start(struct worker *w);
/* Closes the poll handle (worker thread, at stop). */
void uring_stop(struct worker *w);

/* Arms the stream's multishot receive (queued: see uring_flush). */
int uring_stream_start(struct worker *w, struct mstream *s);
/* Cancels it (queued: see uring_flush); returns true when the caller must
 * wait for worker_stream_closed() (called from the ring), false when the
 * stream is already quiet and its fd may be closed now. */
bool uring_stream_stop(struct worker *w, struct mstream *s);
/* Submits what uring_stream_start/stop queued: the worker calls it once
 * after a mailbox drain, so a batch of adds and deletes is one system call. */
void uring_flush(struct worker *w);

/* Queues one sendmsg of pkt (a ring or tx buffer). false: not queued. */
bool uring_send(struct worker *w, struct mstream *o, uint8_t *pkt, size_t len,
		const union rg_addr *dst);
/* Buffers for packets made here (transcoder output). NULL when none free. */
uint8_t *uring_txbuf_get(struct worker *w);
void uring_txbuf_put(struct worker *w, uint8_t *buf);

#endif
