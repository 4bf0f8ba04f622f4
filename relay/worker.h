/* worker.h - a media worker: one thread, one libuv loop, the sessions
 * pinned to it, and the packet path (stream.c) that runs on it.
 *
 * The control thread talks to a worker only by posting messages to its
 * mailbox (wait-free queue + uv_async_send) and never waits for it. A
 * session stays on the worker it was given for its whole life, so nothing
 * on the packet path takes a lock. Receive and send buffers are the
 * worker's own, allocated once.
 */
#ifndef RG_WORKER_H
#define RG_WORKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "addr.h"
#include "mailbox.h"
#include "schedule.h"

#define WORKER_BATCH 32
#define WORKER_PKT_MAX 2048

/* Single-writer counters (the worker's): a relaxed load and store, no
 * read-modify-write, since no other thread writes them. */
#define CNT_ADD(var, n) atomic_store_explicit(&(var), \
	atomic_load_explicit(&(var), memory_order_relaxed) + (n), memory_order_relaxed)
#define CNT_SET(var, v) atomic_store_explicit(&(var), (v), memory_order_relaxed)

/* Written by the worker (relaxed, single writer), read by anyone. */
struct worker_stats {
	_Atomic uint64_t pkts_relayed, bytes_relayed;
	_Atomic uint64_t drop_source, drop_malformed, drop_nopeer, send_errors, drop_auth;
	_Atomic uint64_t transcoded;        /* packets a transcoder produced */
	_Atomic uint64_t rtcp_relayed;
	_Atomic uint64_t recv_calls, send_calls;
	_Atomic uint64_t kfwd_pkts;         /* RTP the kernel relayed (kfwd.h), read once a second */
	atomic_int kfwd_streams;            /* streams offloaded to the kernel now */
	atomic_int sessions;
	_Atomic uint64_t idle_ns, run_ns;   /* loop utilisation, refreshed once a second */
};

struct worker {
	int idx;
	uv_loop_t loop;
	uv_thread_t thread;
	struct mailbox mbox;
	uv_timer_t tick;
	struct worker_stats stats;
	uint64_t started_ns;
	/* packet path scratch: the worker's own, never shared */
	struct mmsghdr rmsg[WORKER_BATCH];
	struct iovec riov[WORKER_BATCH];
	union rg_addr rsrc[WORKER_BATCH];
	struct mmsghdr smsg[WORKER_BATCH];
	struct iovec siov[WORKER_BATCH];
	union rg_addr sdst[WORKER_BATCH];
	uint8_t rbuf[WORKER_BATCH][WORKER_PKT_MAX];
	/* packets made here (transcoder output) wait in these until sent */
	uint8_t obuf[WORKER_BATCH][WORKER_PKT_MAX];
	int nobuf;
	struct uring *ur;           /* io_uring media I/O, or NULL: epoll + recvmmsg/sendmmsg */
	struct kfwd *kf;            /* kernel forwarding, or NULL; set by the control
				     * thread after worker_start, before any session */
	struct mstream *kf_list;    /* the worker's streams offloaded to the kernel */
	struct schedule_cfg sched;     /* applied by the thread to itself as it starts */
	int ctl_calls;              /* control thread only: calls it has given this worker */
	/* sessions the worker is done with (linked by ret_next): pushed by the
	 * worker, taken by the control thread (worker_take_done) */
	_Atomic(struct msession *) done;
	/* messages that ran (linked through their queue node): pushed by the
	 * worker, freed by the control thread, which made them
	 * (worker_free_spent) */
	_Atomic(struct cds_wfcq_node *) spent;
};

/* Room kept after a received packet so SRTP protection can grow it in place. */
#define WORKER_PKT_HEADROOM 128

struct msession;

/* Control thread. Starts the thread ("rtpgate-wIDX"); 0 or negative errno.
 * With use_uring the worker tries io_uring media I/O and falls back to
 * epoll (logged). sched (NULL: untouched) is applied by the thread to
 * itself before its first packet; if the kernel refuses it, the worker logs
 * why and runs as started. */
int worker_start(struct worker *w, int idx, bool use_uring, const struct schedule_cfg *sched);
/* Control thread: posts a stop (waking the worker) and joins. Sessions
 * still on it are closed, their sockets too. */
void worker_stop(struct worker *w);

/* Control thread. The worker takes over the reference the caller passes
 * (take one with msession_ref first if you keep yours) and the sockets. */
int worker_post_add(struct worker *w, struct msession *ms);

/* What the control thread learned about one leg's party, per media. */
struct leg_media_addr {
	union rg_addr rtp, rtcp;
	bool mux, strict;
	bool asym;              /* the party sends from another port than it receives on */
};
/* Control thread: new addresses for one leg (after an answer or re-offer). */
int worker_post_update(struct worker *w, struct msession *ms, int leg,
		       const struct leg_media_addr *m, int nmedia);
/* Control thread: replaces stages of one leg's media. `which` says which
 * fields of *st to install (the old ones are freed on the worker); the
 * worker takes ownership of the installed ones. */
struct mmedia;
int worker_post_stages(struct worker *w, struct msession *ms, int leg, int media,
		       const struct mmedia *st, unsigned which);
/* Control thread: stop relaying. When the last handle is closed the worker
 * hands the session back with its reference and its open sockets: see
 * worker_take_done. */
int worker_post_del(struct worker *w, struct msession *ms);
/* Control thread, never waits: the sessions the worker is done with (a list
 * through ret_next, or NULL). The caller owns one reference to each and
 * their sockets (bound, no longer watched). */
struct msession *worker_take_done(struct worker *w);
/* Control thread, never waits: frees the messages the worker has run. A
 * message is freed on the thread that made it: freed on the worker, it
 * would stay in the worker's malloc cache (glibc's tcache) and keep a page
 * of the control thread's heap resident after the calls are gone. */
void worker_free_spent(struct worker *w);
/* Control thread: the worker_post_* calls only queue; this wakes the worker
 * if anything was queued since the last wake. The control loop calls it
 * once per pass, before it sleeps. */
void worker_wake(struct worker *w);

/* stream.c: the packet path, run by the worker's loop. */
void stream_on_readable(uv_poll_t *h, int status, int events);
struct txq;
struct mstream;
/* One received packet through the pipeline (both I/O modes). cap: bytes
 * from p to the end of its buffer. q: the epoll mode's send queue (NULL
 * with io_uring). Returns true when p's buffer was queued for sending. */
bool stream_packet(struct worker *w, struct mstream *s, uint8_t *p, size_t len, size_t cap,
		   bool trunc, const union rg_addr *src, uint64_t now, struct txq *q);
/* worker.c: a deleted stream has stopped receiving (its socket stays open). */
void worker_stream_closed(struct mstream *s);

#endif
