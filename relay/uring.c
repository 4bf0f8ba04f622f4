/* uring.c - io_uring media I/O, and the worker loop it drives; see uring.h.
 *
 * The loop: a worker with io_uring waits in io_uring_enter() itself, not in
 * libuv's epoll_wait(). One enter submits what the pass before queued (the
 * sends, re-armed receives) and waits for the next completions. libuv's own
 * handles (the mailbox, timers) are reached through a poll on its backend fd
 * that sits in the ring like any other request; uv_run(UV_RUN_NOWAIT) runs
 * only when that poll fires or libuv's next timer is due. The ring is set up
 * with DEFER_TASKRUN (and SINGLE_ISSUER, enabled on the worker thread): the
 * kernel performs the receives of a wake-up in one batch inside the enter
 * that waits for them, instead of interrupting the thread once per packet,
 * and only wakes the thread when the wait's condition is met.
 *
 * Coalescing (uring_set_coalesce): with a minimum wait of N us, an enter
 * that finds something arrived returns only after N us, with everything that
 * came in meanwhile; an idle worker still wakes on the first packet at once.
 * That trades up to N us of added latency for fewer wake-ups when packets
 * arrive spread out; 0 (no minimum) is the default: when packets already come
 * in bursts (rtpgate-bench's default pacing) it saves nothing (README).
 *
 * Buffers: one region of RING_BUFS + TX_BUFS buffers of BUF_SIZE bytes.
 * The first RING_BUFS are handed to the kernel through a provided-buffer
 * ring (group 0) for the multishot receives; the rest are the worker's own
 * for transcoder output. A buffer that carries a packet to be forwarded is
 * sent from where it was received. Sends are IORING_OP_SEND with a
 * destination and MSG_DONTWAIT, which the kernel performs (or fails) inline
 * while it consumes the submission queue, never later: a send's buffer is
 * free again once the enter that consumed its entry returns, so it goes back
 * (to the buffer ring or the tx free list) then, and only a failed send
 * posts a completion (IOSQE_CQE_SKIP_SUCCESS). When the buffer ring runs
 * dry the kernel ends a multishot receive with ENOBUFS; packets wait in the
 * socket (the kernel drops and counts what overflows it) and the receive is
 * re-armed in the same pass that returns buffers.
 *
 * Registered files: each stream's socket is put in the ring's file table
 * when its receive is armed, at the index of its fd number (a sparse table
 * as large as the open-file limit, at most FILES_MAX), and its sends and
 * receive name it there (IOSQE_FIXED_FILE), so the kernel does not look
 * the fd up and take a reference to its file for every send (fget/fput:
 * 0.5-1 % of a transcoding worker's CPU at 182 Opus calls). A stop takes
 * it out with a files-update request queued after the pass's sends, and the
 * stream is quiet (its fd may be closed or reused) only once that request
 * completed: the table holds a reference to the socket, which would keep
 * its port bound. A socket that cannot be registered (fd beyond the table)
 * is named by its fd, as before.
 *
 * user_data of a submission: a stream pointer | UD_RECV for receives, a
 * stream pointer | UD_UNREG for taking its socket out of the table,
 * UD_SEND for sends, UD_CANCEL for cancels, UD_UV for the libuv poll.
 */
#include "uring.h"

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "session.h"
#include "worker.h"

#define RING_ENTRIES 4096
#define RING_BUFS 1024          /* power of two */
#define TX_BUFS 256
#define BUF_SIZE WORKER_PKT_MAX
#define BGID 0
/* with coalescing, the count of completions that ends a wait early */
#define COALESCE_BATCH 256
/* the largest file table (fds above it are named by number) */
#define FILES_MAX 65536
/* longest wait when libuv has no timer due (it has: the worker's tick) */
#define WAIT_MAX_NS 1000000000ull

#ifndef IORING_FEAT_MIN_TIMEOUT
#define IORING_FEAT_MIN_TIMEOUT (1U << 15)
#endif

enum { UD_RECV = 1, UD_SEND = 2, UD_CANCEL = 3, UD_UV = 4, UD_UNREG = 5 };

/* what a file-table slot is set to, to empty it (read by the kernel) */
static int no_file = -1;


struct uring {
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	size_t br_size;
	uint8_t *pool;
	size_t pool_size;
	union rg_addr *dst;         /* per buffer: where its send goes */
	uint16_t *slot_buf;         /* per SQ slot: 1 + index of the buffer its send carries, or 0 */
	unsigned sq_seen;           /* SQ head after the last enter */
	uint16_t txfree[TX_BUFS];
	int ntxfree;
	struct msghdr tmpl;         /* what a multishot recvmsg reserves */
	struct mstream *rearm;      /* streams whose receive ended early */
	unsigned pending_recycle;   /* buffers added to the ring, not yet published */
	bool min_timeout;           /* the kernel takes a minimum wait (6.12+) */
	unsigned nfiles;            /* size of the file table (0: none) */
	bool uv_armed;              /* the poll on libuv's backend fd is pending */
	bool stopped;               /* libuv has no handle left: the loop ends */
	uint64_t uv_deadline;       /* loop time (ms) when libuv must run next */
	_Atomic unsigned coalesce_us;
	_Atomic uint64_t idle_ns;   /* time spent waiting in the kernel */
};

static void recycle(struct uring *u, unsigned idx)
{
	if (idx < RING_BUFS) {
		io_uring_buf_ring_add(u->br, u->pool + (size_t)idx * BUF_SIZE, BUF_SIZE, (unsigned short)idx,
				      io_uring_buf_ring_mask(RING_BUFS), (int)u->pending_recycle);
		u->pending_recycle++;
	} else if (u->ntxfree < TX_BUFS) {
		u->txfree[u->ntxfree++] = (uint16_t)(idx - RING_BUFS);
	}
}

static void publish(struct uring *u)
{
	if (u->pending_recycle) {
		io_uring_buf_ring_advance(u->br, (int)u->pending_recycle);
		u->pending_recycle = 0;
	}
}

/* Buffers of the sends the kernel consumed since the last call are free. */
static void sends_done(struct uring *u)
{
	unsigned head = io_uring_smp_load_acquire(u->ring.sq.khead);
	for (; u->sq_seen != head; u->sq_seen++) {
		unsigned slot = u->sq_seen & u->ring.sq.ring_mask;
		if (u->slot_buf[slot]) {
			recycle(u, u->slot_buf[slot] - 1u);
			u->slot_buf[slot] = 0;
		}
	}
}

/* One io_uring_enter: submits everything queued and, with GETEVENTS, runs
 * the deferred receives and waits until wait_nr completions are ready, the
 * minimum wait passed with at least one, or timeout_ns ran out. */
static int enter(struct uring *u, unsigned wait_nr, uint64_t timeout_ns, unsigned min_us)
{
	struct io_uring_sq *sq = &u->ring.sq;
	if (sq->sqe_head != sq->sqe_tail) {
		sq->sqe_head = sq->sqe_tail;
		io_uring_smp_store_release(sq->ktail, sq->sqe_tail);
	}
	unsigned to_submit = *sq->ktail - io_uring_smp_load_acquire(sq->khead);
	struct __kernel_timespec ts = {
		.tv_sec = (long long)(timeout_ns / 1000000000ull),
		.tv_nsec = (long long)(timeout_ns % 1000000000ull),
	};
	struct io_uring_getevents_arg arg = {
		.sigmask = 0,
		.sigmask_sz = _NSIG / 8,
		.pad = u->min_timeout ? min_us : 0,   /* min_wait_usec since 6.12 */
		.ts = wait_nr ? (uint64_t)(uintptr_t)&ts : 0,
	};
	int r = (int)syscall(__NR_io_uring_enter, u->ring.ring_fd, to_submit, wait_nr,
			     IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof(arg));
	if (r < 0)
		r = -errno;
	sends_done(u);
	return r;
}

static struct io_uring_sqe *get_sqe(struct uring *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	if (!sqe) {
		publish(u);
		enter(u, 0, 0, 0);
		sqe = io_uring_get_sqe(&u->ring);
	}
	return sqe;
}

int uring_init(struct worker *w)
{
	struct uring *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	p.cq_entries = RING_ENTRIES * 4;
	/* the worker thread enables the ring: it is then its only submitter */
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
		  IORING_SETUP_R_DISABLED;
	int r = io_uring_queue_init_params(RING_ENTRIES, &u->ring, &p);
	if (r < 0) {
		free(u);
		return r == -EINVAL ? -ENOTSUP : r;   /* before 6.1 */
	}
	if (!(p.features & IORING_FEAT_NODROP) || !(p.features & IORING_FEAT_CQE_SKIP) ||
	    !(p.features & IORING_FEAT_EXT_ARG)) {
		io_uring_queue_exit(&u->ring);
		free(u);
		return -ENOTSUP;
	}
	u->min_timeout = p.features & IORING_FEAT_MIN_TIMEOUT;
	/* the file table, while the ring is disabled (anyone may register) */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		unsigned n = rl.rlim_cur > FILES_MAX ? FILES_MAX : (unsigned)rl.rlim_cur;
		if (io_uring_register_files_sparse(&u->ring, n) == 0)
			u->nfiles = n;
	}
	u->br_size = RING_BUFS * sizeof(struct io_uring_buf);
	u->br = mmap(NULL, u->br_size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	/* a fixed cost of the worker, paid at start: populated now (a
	 * malloc+memset may be folded into calloc and never touched), the pool
	 * is resident from the beginning instead of growing with the first calls */
	u->pool_size = (size_t)(RING_BUFS + TX_BUFS) * BUF_SIZE;
	u->pool = mmap(NULL, u->pool_size, PROT_READ | PROT_WRITE,
		       MAP_ANONYMOUS | MAP_PRIVATE | MAP_POPULATE, -1, 0);
	if (u->pool == MAP_FAILED)
		u->pool = NULL;
	u->dst = calloc(RING_BUFS + TX_BUFS, sizeof(*u->dst));
	u->slot_buf = calloc(u->ring.sq.ring_entries, sizeof(*u->slot_buf));
	if (u->br == MAP_FAILED || !u->pool || !u->dst || !u->slot_buf) {
		r = -ENOMEM;
		goto fail;
	}
	struct io_uring_buf_reg reg = {
		.ring_addr = (unsigned long)u->br,
		.ring_entries = RING_BUFS,
		.bgid = BGID,
	};
	r = io_uring_register_buf_ring(&u->ring, &reg, 0);
	if (r < 0)
		goto fail;
	io_uring_buf_ring_init(u->br);
	for (unsigned i = 0; i < RING_BUFS; i++)
		recycle(u, i);
	publish(u);
	for (int i = 0; i < TX_BUFS; i++)
		u->txfree[i] = (uint16_t)(TX_BUFS - 1 - i);
	u->ntxfree = TX_BUFS;
	u->tmpl.msg_namelen = sizeof(struct sockaddr_in6);
	u->sq_seen = *u->ring.sq.khead;
	w->ur = u;
	return 0;
fail:
	if (u->br && u->br != MAP_FAILED)
		munmap(u->br, u->br_size);
	if (u->pool)
		munmap(u->pool, u->pool_size);
	free(u->dst);
	free(u->slot_buf);
	io_uring_queue_exit(&u->ring);
	free(u);
	return r;
}

void uring_fini(struct worker *w)
{
	struct uring *u = w->ur;
	if (!u)
		return;
	io_uring_queue_exit(&u->ring);
	munmap(u->br, u->br_size);
	if (u->pool)
		munmap(u->pool, u->pool_size);
	free(u->dst);
	free(u->slot_buf);
	free(u);
	w->ur = NULL;
}

void uring_set_coalesce(struct worker *w, unsigned us)
{
	if (w->ur)
		atomic_store_explicit(&w->ur->coalesce_us, us, memory_order_relaxed);
}

bool uring_can_coalesce(const struct worker *w)
{
	return w->ur && w->ur->min_timeout;
}

uint64_t uring_idle_ns(struct worker *w)
{
	return atomic_load_explicit(&w->ur->idle_ns, memory_order_relaxed);
}

static void arm(struct uring *u, struct mstream *s)
{
	struct io_uring_sqe *sqe = get_sqe(u);
	if (!sqe) {
		LOG_RL(LOG_ERR, "media", s->ms->call_id, "io_uring submission queue full");
		return;
	}
	io_uring_prep_recvmsg_multishot(sqe, s->fd, &u->tmpl, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT | (s->fixed ? IOSQE_FIXED_FILE : 0);
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)s | UD_RECV);
	s->armed = true;
}

static void uv_pass(struct worker *w, struct uring *u);

/* One of the completions a stopped stream waits for came. */
static void stream_quiet(struct mstream *s)
{
	if (s->close_waits && --s->close_waits == 0)
		worker_stream_closed(s);
}

static void on_recv(struct worker *w, struct uring *u, const struct io_uring_cqe *cqe, uint64_t now)
{
	struct mstream *s = (struct mstream *)(uintptr_t)(cqe->user_data & ~(uint64_t)7);
	if (cqe->flags & IORING_CQE_F_BUFFER) {
		unsigned idx = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		uint8_t *buf = u->pool + (size_t)idx * BUF_SIZE;
		bool taken = false;
		if (cqe->res > 0 && s->active) {
			struct io_uring_recvmsg_out *o = io_uring_recvmsg_validate(buf, cqe->res, &u->tmpl);
			if (o) {
				union rg_addr src;
				memset(&src, 0, sizeof(src));
				memcpy(&src, io_uring_recvmsg_name(o),
				       o->namelen < sizeof(src) ? o->namelen : sizeof(src));
				uint8_t *p = io_uring_recvmsg_payload(o, &u->tmpl);
				size_t len = io_uring_recvmsg_payload_length(o, cqe->res, &u->tmpl);
				CNT_ADD(w->stats.recv_calls, 1);
				taken = stream_packet(w, s, p, len, (size_t)(buf + BUF_SIZE - p),
						      o->flags & MSG_TRUNC, &src, now, NULL);
			}
		}
		if (!taken)
			recycle(u, idx);
	}
	if (cqe->flags & IORING_CQE_F_MORE)
		return;
	/* the multishot receive ended: cancelled, out of buffers, or an error */
	s->armed = false;
	if (!s->active) {
		stream_quiet(s);
	} else if (!s->rearm_pending) {
		s->rearm_pending = true;
		s->rearm_next = u->rearm;
		u->rearm = s;
	}
}

/* Handles every completion in the ring, in the order the kernel posted
 * them, gives buffers back and re-arms the receives that ran out of them;
 * the next enter submits what it queued. Each completion is consumed
 * before it is handled, so that libuv's pass (run right where its poll
 * completed: a control message such as a new peer address takes effect
 * before the packets that came after it) may reap the rest itself. */
static void reap(struct worker *w, struct uring *u)
{
	struct io_uring_cq *cq = &u->ring.cq;
	/* control messages queued before these packets were sent first
	 * (mailbox.h), even when their wakeup has not completed yet */
	mailbox_run(&w->mbox);
	uint64_t now = uv_now(&w->loop);
	for (;;) {
		unsigned head = *cq->khead;
		if (head == io_uring_smp_load_acquire(cq->ktail))
			break;
		struct io_uring_cqe c = cq->cqes[head & cq->ring_mask];
		io_uring_smp_store_release(cq->khead, head + 1);
		switch (c.user_data & 7) {
		case UD_RECV:
			on_recv(w, u, &c, now);
			break;
		case UD_SEND:
			/* only failures complete (the buffer went back already) */
			CNT_ADD(w->stats.send_errors, 1);
			break;
		case UD_UNREG: {
			struct mstream *s = (struct mstream *)(uintptr_t)(c.user_data & ~(uint64_t)7);
			if (c.res < 0)   /* not seen; the table must not keep the socket */
				io_uring_register_files_update(&u->ring, (unsigned)s->fd, &no_file, 1);
			stream_quiet(s);
			break;
		}
		case UD_UV:
			u->uv_armed = false;
			uv_pass(w, u);
			now = uv_now(&w->loop);
			break;
		default:
			break;
		}
	}
	publish(u);
	/* receives that ran out of buffers go again now that some are back */
	while (u->rearm) {
		struct mstream *s = u->rearm;
		u->rearm = s->rearm_next;
		s->rearm_pending = false;
		if (s->active && !s->armed)
			arm(u, s);
	}
}

int uring_start(struct worker *w)
{
	/* raw: Debian's liburing 2.3 declares io_uring_enable_rings but does not export it */
	int r = (int)syscall(__NR_io_uring_register, w->ur->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
	return r < 0 ? -errno : 0;
}

static void arm_uv(struct uring *u, int fd)
{
	struct io_uring_sqe *sqe = get_sqe(u);
	if (!sqe)
		return;   /* cannot happen after get_sqe's submit; retried next pass */
	io_uring_prep_poll_add(sqe, fd, POLLIN);
	io_uring_sqe_set_data64(sqe, UD_UV);
	u->uv_armed = true;
}

/* One pass of libuv (mailbox, timers); re-arms the poll on its backend fd
 * and notes when it must run next. */
static void uv_pass(struct worker *w, struct uring *u)
{
	uv_loop_t *loop = &w->loop;
	if (!uv_run(loop, UV_RUN_NOWAIT)) {
		u->stopped = true;   /* no handle left: the stop message ran */
		return;
	}
	if (!u->uv_armed)
		arm_uv(u, uv_backend_fd(loop));
	int t = uv_backend_timeout(loop);
	u->uv_deadline = t < 0 ? UINT64_MAX : uv_now(loop) + (uint64_t)t;
}

void uring_run(struct worker *w)
{
	struct uring *u = w->ur;
	uv_loop_t *loop = &w->loop;
	uv_pass(w, u);
	while (!u->stopped) {
		uint64_t wait_ns = WAIT_MAX_NS, now = uv_now(loop);
		if (u->uv_deadline != UINT64_MAX)
			wait_ns = u->uv_deadline <= now ? 0 : (u->uv_deadline - now) * 1000000ull;
		if (wait_ns > WAIT_MAX_NS)
			wait_ns = WAIT_MAX_NS;
		unsigned co = atomic_load_explicit(&u->coalesce_us, memory_order_relaxed);
		unsigned wait_nr = !wait_ns ? 0 : co ? COALESCE_BATCH : 1;
		uint64_t t0 = uv_hrtime();
		enter(u, wait_nr, wait_ns, co);
		uint64_t t1 = uv_hrtime();
		if (wait_nr)
			atomic_store_explicit(&u->idle_ns,
					      atomic_load_explicit(&u->idle_ns, memory_order_relaxed) + (t1 - t0),
					      memory_order_relaxed);
		uv_update_time(loop);
		reap(w, u);
		if (!u->stopped && uv_now(loop) >= u->uv_deadline)
			uv_pass(w, u);
	}
}

void uring_stop(struct worker *w)
{
	struct uring *u = w->ur;
	if (!u)
		return;
	/* the sessions deleted last wait for their cancelled receives: reap
	 * those completions here, since the loop is about to end */
	for (int i = 0; i < 200 && atomic_load(&w->stats.sessions) > 0; i++) {
		enter(u, 1, 10 * 1000 * 1000, 0);
		reap(w, u);
	}
}

int uring_stream_start(struct worker *w, struct mstream *s)
{
	struct uring *u = w->ur;
	/* the worker is the ring's submitter, so it may register now; a
	 * socket that cannot go in the table is named by its fd */
	s->fixed = (unsigned)s->fd < u->nfiles &&
		   io_uring_register_files_update(&u->ring, (unsigned)s->fd, &s->fd, 1) == 1;
	arm(u, s);   /* submitted by the loop's next enter */
	return s->armed ? 0 : -EBUSY;
}

bool uring_stream_stop(struct worker *w, struct mstream *s)
{
	struct uring *u = w->ur;
	if (s->rearm_pending) {
		/* unlink: it must not be re-armed after it is gone */
		for (struct mstream **pp = &u->rearm; *pp; pp = &(*pp)->rearm_next)
			if (*pp == s) {
				*pp = s->rearm_next;
				break;
			}
		s->rearm_pending = false;
	}
	s->close_waits = 0;
	if (s->armed) {
		struct io_uring_sqe *sqe = get_sqe(u);
		if (!sqe) {
			s->close_waits = 1;
			return true;   /* cannot happen after get_sqe's submit; the fd stays open */
		}
		io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)s | UD_RECV, 0);
		io_uring_sqe_set_data64(sqe, UD_CANCEL);
		s->close_waits++;   /* the receive's last completion */
	}
	if (s->fixed) {
		/* out of the table after the sends queued before it */
		s->fixed = false;
		struct io_uring_sqe *sqe = get_sqe(u);
		if (sqe) {
			io_uring_prep_files_update(sqe, &no_file, 1, s->fd);
			io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)s | UD_UNREG);
			s->close_waits++;
		} else {
			io_uring_register_files_update(&u->ring, (unsigned)s->fd, &no_file, 1);
		}
	}
	return s->close_waits > 0;
}

bool uring_send(struct worker *w, struct mstream *o, uint8_t *pkt, size_t len,
		const union rg_addr *dst)
{
	struct uring *u = w->ur;
	size_t off = (size_t)(pkt - u->pool);
	unsigned idx = (unsigned)(off / BUF_SIZE);
	if (pkt < u->pool || idx >= RING_BUFS + TX_BUFS)
		return false;
	struct io_uring_sqe *sqe = get_sqe(u);
	if (!sqe)
		return false;
	u->dst[idx] = *dst;
	io_uring_prep_send(sqe, o->fd, pkt, len, MSG_DONTWAIT);
	io_uring_prep_send_set_addr(sqe, &u->dst[idx].sa, (uint16_t)addr_len(dst));
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS | (o->fixed ? IOSQE_FIXED_FILE : 0);
	io_uring_sqe_set_data64(sqe, UD_SEND);
	u->slot_buf[sqe - u->ring.sq.sqes] = (uint16_t)(idx + 1);
	return true;
}

uint8_t *uring_txbuf_get(struct worker *w)
{
	struct uring *u = w->ur;
	if (!u->ntxfree)
		return NULL;
	unsigned i = u->txfree[--u->ntxfree];
	return u->pool + (size_t)(RING_BUFS + i) * BUF_SIZE;
}

void uring_txbuf_put(struct worker *w, uint8_t *buf)
{
	struct uring *u = w->ur;
	recycle(u, (unsigned)((size_t)(buf - u->pool) / BUF_SIZE));
}
