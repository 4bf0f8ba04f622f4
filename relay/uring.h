/* uring.h - io_uring media I/O for a worker, and the loop that drives the
 * worker with it (optional; epoll and libuv's own loop otherwise).
 *
 * With io_uring a worker arms one multishot recvmsg per socket, receiving
 * into a ring of buffers the kernel picks from, and turns each packet to be
 * forwarded into a send submission entry from that same buffer. The worker
 * thread waits in io_uring_enter() rather than in libuv's epoll_wait():
 * one enter per loop pass submits the pass's sends and re-armed receives,
 * performs the receives that arrived meanwhile and waits for more. libuv's
 * handles (mailbox, timers) still run, from that loop (uring_run).
 *
 * Worker thread only, except uring_init/uring_set_coalesce (control thread,
 * before and after the worker's thread starts) and uring_fini (after it
 * ended, or on the worker thread as it ends). Nothing here allocates after
 * uring_init.
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
/* Worker thread, first thing: makes it the ring's only submitter. 0 or
 * negative errno. */
int uring_start(struct worker *w);
/* Worker thread: runs the worker's loop (libuv's handles included) until
 * no libuv handle is left, i.e. after the stop message. */
void uring_run(struct worker *w);
/* Worker thread, at stop: waits (bounded) for the cancelled receives. */
void uring_stop(struct worker *w);
/* Any thread: the minimum wait in microseconds before a loop pass that has
 * something to do runs (0: none, the default). Needs kernel 6.12; see
 * uring_can_coalesce. */
void uring_set_coalesce(struct worker *w, unsigned us);
bool uring_can_coalesce(const struct worker *w);
/* Any thread: nanoseconds the worker spent waiting in the kernel. */
uint64_t uring_idle_ns(struct worker *w);

/* Arms the stream's multishot receive (submitted by the loop's next pass). */
int uring_stream_start(struct worker *w, struct mstream *s);
/* Cancels it (submitted by the loop's next pass); returns true when the caller must
 * wait for worker_stream_closed() (called from the ring), false when the
 * stream is already quiet and its fd may be closed now. */
bool uring_stream_stop(struct worker *w, struct mstream *s);

/* Queues one send of pkt (a ring or tx buffer); the buffer is given back
 * once the kernel took the send. false: not queued. */
bool uring_send(struct worker *w, struct mstream *o, uint8_t *pkt, size_t len,
		const union rg_addr *dst);
/* Buffers for packets made here (transcoder output). NULL when none free. */
uint8_t *uring_txbuf_get(struct worker *w);
void uring_txbuf_put(struct worker *w, uint8_t *buf);

#endif
