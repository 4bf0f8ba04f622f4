/* uring.c - io_uring media I/O; see uring.h.
 *
 * Buffers: one region of RING_BUFS + TX_BUFS buffers of BUF_SIZE bytes.
 * The first RING_BUFS are handed to the kernel through a provided-buffer
 * ring (group 0) for the multishot receives; the rest are the worker's own
 * for transcoder output. A buffer that carries a packet to be forwarded is
 * sent from where it was received; the send's completion gives it back (to
 * the buffer ring, or to the tx free list). Per-buffer send metadata
 * (msghdr, iovec, destination) lives in a parallel array.
 *
 * user_data of a submission: a stream pointer | UD_RECV for receives,
 * buffer index << 3 | UD_SEND for sends, UD_CANCEL for cancels.
 */
#include "uring.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "session.h"
#include "worker.h"

#define RING_ENTRIES 4096
#define RING_BUFS 1024          /* power of two */
#define TX_BUFS 256
#define BUF_SIZE WORKER_PKT_MAX
#define BGID 0

enum { UD_RECV = 1, UD_SEND = 2, UD_CANCEL = 3 };

#define CNT_ADD(var, n) atomic_store_explicit(&(var), \
	atomic_load_explicit(&(var), memory_order_relaxed) + (n), memory_order_relaxed)

struct txmeta {
	struct msghdr mh;
	struct iovec iov;
	union rg_addr dst;
};

struct uring {
	struct io_uring ring;
	uv_poll_t poll;
	struct io_uring_buf_ring *br;
	size_t br_size;
	uint8_t *pool;
	struct txmeta *meta;
	uint16_t txfree[TX_BUFS];
	int ntxfree;
	struct msghdr tmpl;         /* what a multishot recvmsg reserves */
	struct mstream *rearm;      /* streams whose receive ended early */
	unsigned pending_recycle;   /* buffers added to the ring, not yet published */
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

static struct io_uring_sqe *get_sqe(struct uring *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	if (!sqe) {
		publish(u);
		io_uring_submit(&u->ring);
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
	p.flags = IORING_SETUP_CQSIZE;
	int r = io_uring_queue_init_params(RING_ENTRIES, &u->ring, &p);
	if (r < 0) {
		free(u);
		return r;
	}
	if (!(p.features & IORING_FEAT_NODROP)) {
		io_uring_queue_exit(&u->ring);
		free(u);
		return -ENOTSUP;
	}
	u->br_size = RING_BUFS * sizeof(struct io_uring_buf);
	u->br = mmap(NULL, u->br_size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	u->pool = malloc((size_t)(RING_BUFS + TX_BUFS) * BUF_SIZE);
	u->meta = calloc(RING_BUFS + TX_BUFS, sizeof(*u->meta));
	if (u->br == MAP_FAILED || !u->pool || !u->meta) {
		r = -ENOMEM;
		goto fail;
	}
	/* a fixed cost of the worker, paid at start: touched now, the pool is
	 * resident from the beginning instead of growing with the first calls */
	memset(u->pool, 0, (size_t)(RING_BUFS + TX_BUFS) * BUF_SIZE);
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
	for (unsigned i = 0; i < RING_BUFS + TX_BUFS; i++) {
		struct txmeta *m = &u->meta[i];
		m->mh.msg_iov = &m->iov;
		m->mh.msg_iovlen = 1;
		m->mh.msg_name = &m->dst;
	}
	u->tmpl.msg_namelen = sizeof(struct sockaddr_in6);
	w->ur = u;
	return 0;
fail:
	if (u->br && u->br != MAP_FAILED)
		munmap(u->br, u->br_size);
	free(u->pool);
	free(u->meta);
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
	free(u->pool);
	free(u->meta);
	free(u);
	w->ur = NULL;
}

static void arm(struct uring *u, struct mstream *s)
{
	struct io_uring_sqe *sqe = get_sqe(u);
	if (!sqe) {
		LOG_RL(LOG_ERR, "media", s->ms->call_id, "io_uring submission queue full");
		return;
	}
	io_uring_prep_recvmsg_multishot(sqe, s->fd, &u->tmpl, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)s | UD_RECV);
	s->armed = true;
}

static void on_recv(struct worker *w, struct uring *u, struct io_uring_cqe *cqe, uint64_t now)
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
		worker_stream_closed(s);
	} else if (!s->rearm_pending) {
		s->rearm_pending = true;
		s->rearm_next = u->rearm;
		u->rearm = s;
	}
}

static void process(struct worker *w)
{
	struct uring *u = w->ur;
	uint64_t now = uv_now(&w->loop);
	for (int pass = 0; pass < 64; pass++) {
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;
		io_uring_for_each_cqe(&u->ring, head, cqe) {
			n++;
			switch (cqe->user_data & 7) {
			case UD_RECV:
				on_recv(w, u, cqe, now);
				break;
			case UD_SEND: {
				unsigned idx = (unsigned)(cqe->user_data >> 3);
				if (cqe->res < 0)
					CNT_ADD(w->stats.send_errors, 1);
				recycle(u, idx);
				break;
			}
			default:
				break;
			}
		}
		io_uring_cq_advance(&u->ring, n);
		publish(u);
		/* receives that ran out of buffers go again now that some are back */
		while (u->rearm) {
			struct mstream *s = u->rearm;
			u->rearm = s->rearm_next;
			s->rearm_pending = false;
			if (s->active && !s->armed)
				arm(u, s);
		}
		int r = io_uring_submit(&u->ring);
		CNT_ADD(w->stats.send_calls, 1);
		if (r < 0 && r != -EAGAIN && r != -EBUSY)
			LOG_RL(LOG_ERR, "media", NULL, "io_uring_submit: %s", strerror(-r));
		if (!n && !io_uring_cq_ready(&u->ring))
			break;
	}
}

static void on_ring(uv_poll_t *h, int status, int events)
{
	(void)status;
	(void)events;
	process(h->data);
}

int uring_start(struct worker *w)
{
	struct uring *u = w->ur;
	int r = uv_poll_init(&w->loop, &u->poll, u->ring.ring_fd);
	if (r < 0)
		return r;
	u->poll.data = w;
	return uv_poll_start(&u->poll, UV_READABLE, on_ring);
}

void uring_stop(struct worker *w)
{
	struct uring *u = w->ur;
	if (!u)
		return;
	/* the sessions deleted last wait for their cancelled receives: reap
	 * those completions here, since the loop stops watching the ring */
	for (int i = 0; i < 200 && atomic_load(&w->stats.sessions) > 0; i++) {
		struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = 10 * 1000 * 1000 };
		struct io_uring_cqe *cqe;
		io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
		process(w);
	}
	uv_close((uv_handle_t *)&u->poll, NULL);
}

int uring_stream_start(struct worker *w, struct mstream *s)
{
	arm(w->ur, s);
	return s->armed ? 0 : -EBUSY;
}

void uring_flush(struct worker *w)
{
	io_uring_submit(&w->ur->ring);
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
	if (!s->armed)
		return false;
	struct io_uring_sqe *sqe = get_sqe(u);
	if (!sqe)
		return true;   /* cannot happen after get_sqe's submit; the fd stays open */
	io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)s | UD_RECV, 0);
	io_uring_sqe_set_data64(sqe, UD_CANCEL);
	return true;
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
	struct txmeta *m = &u->meta[idx];
	m->dst = *dst;
	m->mh.msg_namelen = addr_len(dst);
	m->iov.iov_base = pkt;
	m->iov.iov_len = len;
	io_uring_prep_sendmsg(sqe, o->fd, &m->mh, 0);
	io_uring_sqe_set_data64(sqe, (uint64_t)idx << 3 | UD_SEND);
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
