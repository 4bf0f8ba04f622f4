/* mailbox.c - see mailbox.h. */
#include "mailbox.h"

bool mailbox_run(struct mailbox *mb)
{
	struct cds_wfcq_head h;
	struct cds_wfcq_tail t;
	struct cds_wfcq_node *node, *next;

	cds_wfcq_init(&h, &t);
	/* Single consumer: splicing needs no mutual exclusion beyond that. */
	if (cds_wfcq_empty(&mb->head, &mb->tail) ||
	    __cds_wfcq_splice_blocking(&h, &t, &mb->head, &mb->tail) == CDS_WFCQ_RET_SRC_EMPTY)
		return false;
	__cds_wfcq_for_each_blocking_safe(&h, &t, node, next) {
		struct mbox_msg *m = caa_container_of(node, struct mbox_msg, node);
		m->fn(m, mb->owner);
	}
	return true;
}

static void drain(uv_async_t *a)
{
	mailbox_run(a->data);
}

int mailbox_init(struct mailbox *mb, uv_loop_t *loop, void *owner)
{
	cds_wfcq_init(&mb->head, &mb->tail);
	mb->owner = owner;
	mb->unwoken = false;
	mb->async.data = mb;
	return uv_async_init(loop, &mb->async, drain);
}

void mailbox_post(struct mailbox *mb, struct mbox_msg *m)
{
	cds_wfcq_node_init(&m->node);
	cds_wfcq_enqueue(&mb->head, &mb->tail, &m->node);
	uv_async_send(&mb->async);
}

void mailbox_post_lazy(struct mailbox *mb, struct mbox_msg *m)
{
	cds_wfcq_node_init(&m->node);
	cds_wfcq_enqueue(&mb->head, &mb->tail, &m->node);
	mb->unwoken = true;
}

void mailbox_wake(struct mailbox *mb)
{
	if (!mb->unwoken)
		return;
	mb->unwoken = false;
	uv_async_send(&mb->async);
}

void mailbox_close(struct mailbox *mb)
{
	drain(&mb->async);
	uv_close((uv_handle_t *)&mb->async, NULL);
}
