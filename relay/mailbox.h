/* mailbox.h - how threads hand work to a loop: a wait-free queue plus
 * uv_async_send.
 *
 * Any thread may post; only the loop that owns the mailbox runs messages.
 * The queue is liburcu's wfcqueue (wait-free enqueue, splice-all dequeue),
 * so a poster never blocks and never takes a lock. Wakeups coalesce, so the
 * owner drains everything queued on each wakeup. A message is a struct that
 * embeds struct mbox_msg first; its fn runs on the owner's thread and owns
 * the message from then on (it frees it, or keeps it).
 */
#ifndef RG_MAILBOX_H
#define RG_MAILBOX_H

#define _LGPL_SOURCE
#include <urcu/wfcqueue.h>
#include <stdbool.h>
#include <uv.h>

struct mbox_msg {
	struct cds_wfcq_node node;
	void (*fn)(struct mbox_msg *m, void *owner);
};

struct mailbox {
	struct cds_wfcq_head head;
	struct cds_wfcq_tail tail;
	uv_async_t async;
	void *owner;
	bool unwoken;        /* the lazy poster's thread only: posted, not yet woken */
};

/* Owner's thread, before any post. owner is passed to every fn. */
int mailbox_init(struct mailbox *mb, uv_loop_t *loop, void *owner);
/* Any thread. Never blocks. */
void mailbox_post(struct mailbox *mb, struct mbox_msg *m);
/* Queues without waking the owner: a thread that posts several messages in
 * a row (the control thread, for a batch of requests) wakes the owner once
 * with mailbox_wake afterwards. Only one thread may post lazily to a given
 * mailbox, and it must call mailbox_wake before it goes to sleep. */
void mailbox_post_lazy(struct mailbox *mb, struct mbox_msg *m);
/* The lazy poster's thread: wakes the owner if something was posted lazily. */
void mailbox_wake(struct mailbox *mb);
/* Owner's thread: runs what is queued now, without waiting for the wakeup;
 * false (one cheap check) when nothing is. A poster queues its message
 * before it answers anyone, so an owner that calls this before handling
 * input sees every message sent before that input was caused: the
 * workers call it before each batch of packets, so a packet sent right
 * after the answer's reply never meets a stream still without its peer. */
bool mailbox_run(struct mailbox *mb);
/* Owner's thread: runs what is queued now, then closes the async handle. */
void mailbox_close(struct mailbox *mb);

#endif
