/* worker.c - media worker threads and their mailbox messages; see worker.h.
 *
 * Messages are allocated by the poster (control path) and, once they ran,
 * handed back to it to be freed (spent); the packet path itself (stream.c)
 * never allocates. The control thread posts lazily and wakes each worker
 * once per loop pass (worker_wake), so a batch of requests costs a worker
 * one wakeup, and the io_uring work of a drain (receives armed, receives
 * cancelled) is one submission. A deleted session's sockets are not closed
 * here: they go back to the control thread's port pool (session_done).
 */
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <codec/codec.h>

#include "kfwd.h"
#include "log.h"
#include "session.h"
#include "srtp.h"
#include "transcode.h"
#include "uring.h"

struct msg_sess {
	struct mbox_msg m;
	struct msession *ms;
};

struct msg_update {
	struct mbox_msg m;
	struct msession *ms;
	int leg, nmedia;
	struct leg_media_addr a[];
};

/* A message that ran goes back to the control thread (worker_free_spent).
 * A push onto a list only this worker pushes to, like session_done's. */
static void spent(struct worker *w, struct mbox_msg *m)
{
	struct cds_wfcq_node *head = atomic_load_explicit(&w->spent, memory_order_relaxed);
	do
		m->node.next = head;
	while (!atomic_compare_exchange_weak_explicit(&w->spent, &head, &m->node,
						      memory_order_release, memory_order_relaxed));
}

void worker_free_spent(struct worker *w)
{
	if (!atomic_load_explicit(&w->spent, memory_order_relaxed))
		return;
	struct cds_wfcq_node *n = atomic_exchange_explicit(&w->spent, NULL, memory_order_acquire);
	while (n) {
		struct cds_wfcq_node *next = n->next;
		free(caa_container_of(n, struct mbox_msg, node));
		n = next;
	}
}

static void on_add(struct mbox_msg *mm, void *owner)
{
	struct worker *w = owner;
	struct msg_sess *msg = (struct msg_sess *)mm;
	struct msession *ms = msg->ms;
	spent(w, mm);
	ms->w = w;
	for (int i = 0; i < ms->nmedia * 4; i++) {
		struct mstream *s = &ms->st[i];
		if (s->fd < 0)
			continue;
		if (w->ur) {
			s->active = true;
			int r = uring_stream_start(w, s);
			if (r < 0)
				LOGC(LOG_ERR, "worker", ms->call_id, "cannot receive on port %u: %s",
				     s->port, strerror(-r));
			continue;
		}
		int r = uv_poll_init(&w->loop, &s->poll, s->fd);
		if (r == 0) {
			s->poll.data = s;
			r = uv_poll_start(&s->poll, UV_READABLE, stream_on_readable);
			s->active = true;
		}
		if (r < 0)
			LOGC(LOG_ERR, "worker", ms->call_id, "cannot watch port %u: %s",
			     s->port, uv_strerror(r));
	}
	atomic_fetch_add_explicit(&w->stats.sessions, 1, memory_order_relaxed);
}

static void on_update(struct mbox_msg *mm, void *owner)
{
	struct msg_update *u = (struct msg_update *)mm;
	struct msession *ms = u->ms;
	for (int m = 0; m < u->nmedia && m < ms->nmedia; m++) {
		struct mstream *rtp = msession_stream(ms, u->leg, m, COMP_RTP);
		struct mstream *rtcp = msession_stream(ms, u->leg, m, COMP_RTCP);
		const struct leg_media_addr *a = &u->a[m];
		if (!addr_equal(&rtp->expect, &a->rtp))
			rtp->latch = LATCH_NONE;
		if (!addr_equal(&rtcp->expect, &a->rtcp))
			rtcp->latch = LATCH_NONE;
		rtp->expect = a->rtp;
		rtcp->expect = a->rtcp;
		rtp->mux = a->mux;
		rtp->strict = rtcp->strict = a->strict;
		rtp->asym = rtcp->asym = a->asym;
		kfwd_stream_sync(owner, rtp, false);
	}
	msession_unref(ms);
	spent(owner, mm);
}

struct msg_stages {
	struct mbox_msg m;
	struct msession *ms;
	int leg, media;
	unsigned which;
	struct mmedia st;
};

static void on_stages(struct mbox_msg *mm, void *owner)
{
	struct msg_stages *u = (struct msg_stages *)mm;
	mmedia_replace(msession_media(u->ms, u->leg, u->media), &u->st, u->which);
	kfwd_stream_sync(owner, msession_stream(u->ms, u->leg, u->media, COMP_RTP), false);
	msession_unref(u->ms);
	spent(owner, mm);
}

int worker_post_stages(struct worker *w, struct msession *ms, int leg, int media,
		       const struct mmedia *st, unsigned which)
{
	kfwd_session_take(w->kf, ms);   /* the change reaches the packets first */
	struct msg_stages *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->m.fn = on_stages;
	msession_ref(ms);
	u->ms = ms;
	u->leg = leg;
	u->media = media;
	u->which = which;
	u->st = *st;
	mailbox_post_lazy(&w->mbox, &u->m);
	return 0;
}

static void on_stream_closed(uv_handle_t *h)
{
	worker_stream_closed(h->data);
}

/* The worker is done with a deleted session: unless its ports rest long,
 * it goes back to the control thread with the worker's reference and its
 * sockets, still bound, for the port pool. A push onto a list only this
 * worker pushes to; the control thread takes the whole list with one
 * exchange, so neither side waits. */
static void session_done(struct worker *w, struct msession *ms)
{
	atomic_fetch_sub_explicit(&w->stats.sessions, 1, memory_order_relaxed);
	if (!ms->recycle) {
		/* a long quarantine: nothing to keep the sockets for */
		msession_close_fds(ms);
		msession_unref(ms);
		return;
	}
	struct msession *head = atomic_load_explicit(&w->done, memory_order_relaxed);
	do
		ms->ret_next = head;
	while (!atomic_compare_exchange_weak_explicit(&w->done, &head, ms, memory_order_release,
						      memory_order_relaxed));
}

void worker_stream_closed(struct mstream *s)
{
	struct msession *ms = s->ms;
	if (--ms->closing == 0)
		session_done(ms->w, ms);
}

static void on_del(struct mbox_msg *mm, void *owner)
{
	struct worker *w = owner;
	struct msg_sess *msg = (struct msg_sess *)mm;
	struct msession *ms = msg->ms;
	spent(w, mm);
	kfwd_session_off(w, ms);   /* before its ports can be given to another call */
	ms->closing = 1;   /* held until every handle is asked to close */
	for (int i = 0; i < ms->nmedia * 4; i++) {
		struct mstream *s = &ms->st[i];
		if (s->fd < 0 || !s->active)
			continue;
		s->active = false;
		if (w->ur) {
			if (uring_stream_stop(w, s))
				ms->closing++;
		} else {
			ms->closing++;
			uv_close((uv_handle_t *)&s->poll, on_stream_closed);
		}
	}
	/* the session reference of this message */
	msession_unref(ms);
	if (--ms->closing == 0)
		session_done(w, ms);
}

struct msession *worker_take_done(struct worker *w)
{
	if (!atomic_load_explicit(&w->done, memory_order_relaxed))
		return NULL;
	return atomic_exchange_explicit(&w->done, NULL, memory_order_acquire);
}

static void on_stop(struct mbox_msg *mm, void *owner)
{
	struct worker *w = owner;
	free(mm);
	uv_timer_stop(&w->tick);
	uv_close((uv_handle_t *)&w->tick, NULL);
	mailbox_close(&w->mbox);   /* runs the deletions still queued */
	uring_stop(w);
}

static void on_tick(uv_timer_t *t)
{
	struct worker *w = t->data;
	uint64_t idle = w->ur ? uring_idle_ns(w) : uv_metrics_idle_time(&w->loop);
	uint64_t run = uv_hrtime() - w->started_ns;
	atomic_store_explicit(&w->stats.idle_ns, idle, memory_order_relaxed);
	atomic_store_explicit(&w->stats.run_ns, run, memory_order_relaxed);
	kfwd_worker_tick(w);
}

static void thread_main(void *arg)
{
	struct worker *w = arg;
	char name[16];
	snprintf(name, sizeof(name), "rtpgate-w%d", w->idx);
	pthread_setname_np(pthread_self(), name);
	int sr = schedule_apply(&w->sched);
	if (sr < 0) {
		char how[32];
		schedule_describe(&w->sched, how, sizeof(how));
		LOG(LOG_ERR, "worker", "worker %d: cannot set scheduling %s: %s (realtime needs "
		    "CAP_SYS_NICE or RLIMIT_RTPRIO); running as started", w->idx, how, strerror(-sr));
	}
	/* every codec once before the first packet: the library code and
	 * tables a transcoded call needs, and this thread's stack as deep as
	 * a codec takes it, become part of the idle daemon (about 1 MB,
	 * README "How it is built") instead of faulting in within the first
	 * calls' packet path and staying resident after they end */
	int wr = codec_warm_up();
	if (wr < 0)
		LOG(LOG_WARNING, "worker", "worker %d: codec warm-up: %s", w->idx, codec_strerror(wr));
	if (w->ur && uring_start(w) < 0) {
		LOG(LOG_ERR, "worker", "worker %d: cannot watch its io_uring", w->idx);
		abort();
	}
	if (w->ur)
		uring_run(w);   /* the ring's waits drive the loop */
	else
		uv_run(&w->loop, UV_RUN_DEFAULT);
	uv_loop_close(&w->loop);
	uring_fini(w);
}

int worker_start(struct worker *w, int idx, bool use_uring, const struct schedule_cfg *sched)
{
	memset(w, 0, sizeof(*w));
	w->idx = idx;
	if (sched)
		w->sched = *sched;
	int r = uv_loop_init(&w->loop);
	if (r < 0)
		return r;
	uv_loop_configure(&w->loop, UV_METRICS_IDLE_TIME);
	w->started_ns = uv_hrtime();
	if (use_uring) {
		int ur = uring_init(w);
		if (ur < 0)
			LOG(LOG_WARNING, "worker", "worker %d: io_uring unavailable (%s), using epoll",
			    idx, strerror(-ur));
	}
	r = mailbox_init(&w->mbox, &w->loop, w);
	if (r < 0)
		return r;
	uv_timer_init(&w->loop, &w->tick);
	w->tick.data = w;
	uv_timer_start(&w->tick, on_tick, 1000, 1000);
	for (int i = 0; i < WORKER_BATCH; i++) {
		w->riov[i].iov_base = w->rbuf[i];
		w->riov[i].iov_len = WORKER_PKT_MAX - WORKER_PKT_HEADROOM;
		w->rmsg[i].msg_hdr.msg_iov = &w->riov[i];
		w->rmsg[i].msg_hdr.msg_iovlen = 1;
		w->rmsg[i].msg_hdr.msg_name = &w->rsrc[i];
		w->smsg[i].msg_hdr.msg_iov = &w->siov[i];
		w->smsg[i].msg_hdr.msg_iovlen = 1;
		w->smsg[i].msg_hdr.msg_name = &w->sdst[i];
	}
	return uv_thread_create(&w->thread, thread_main, w);
}

void worker_stop(struct worker *w)
{
	struct mbox_msg *m = calloc(1, sizeof(*m));
	if (!m)
		abort();
	m->fn = on_stop;
	mailbox_post(&w->mbox, m);
	uv_thread_join(&w->thread);
	worker_free_spent(w);
	/* what it finished last: nobody reuses these sockets any more */
	struct msession *next;
	for (struct msession *ms = worker_take_done(w); ms; ms = next) {
		next = ms->ret_next;
		msession_close_fds(ms);
		msession_unref(ms);
	}
}

void worker_wake(struct worker *w)
{
	mailbox_wake(&w->mbox);
}

static int post_sess(struct worker *w, struct msession *ms,
		     void (*fn)(struct mbox_msg *, void *))
{
	struct msg_sess *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->m.fn = fn;
	m->ms = ms;
	mailbox_post_lazy(&w->mbox, &m->m);
	return 0;
}

int worker_post_add(struct worker *w, struct msession *ms)
{
	ms->w = w;
	return post_sess(w, ms, on_add);
}

int worker_post_del(struct worker *w, struct msession *ms)
{
	kfwd_session_take(w->kf, ms);   /* the change reaches the packets first */
	msession_ref(ms);   /* the message's own reference */
	int r = post_sess(w, ms, on_del);
	if (r < 0)
		msession_unref(ms);
	return r;
}

int worker_post_update(struct worker *w, struct msession *ms, int leg,
		       const struct leg_media_addr *a, int nmedia)
{
	kfwd_session_take(w->kf, ms);   /* the change reaches the packets first */
	struct msg_update *u = calloc(1, sizeof(*u) + (size_t)nmedia * sizeof(*a));
	if (!u)
		return -ENOMEM;
	u->m.fn = on_update;
	msession_ref(ms);
	u->ms = ms;
	u->leg = leg;
	u->nmedia = nmedia;
	memcpy(u->a, a, (size_t)nmedia * sizeof(*a));
	mailbox_post_lazy(&w->mbox, &u->m);
	return 0;
}
