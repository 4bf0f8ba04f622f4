/* test_worker.c - a real worker thread and its mailbox: the messages the
 * control thread posts come back to it to be freed (worker_free_spent). */
#include "unit.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "session.h"
#include "worker.h"

static int count_spent(struct worker *w)
{
	int n = 0;
	for (struct cds_wfcq_node *p = atomic_load_explicit(&w->spent, memory_order_acquire); p;
	     p = p->next)
		n++;
	return n;
}

/* 2 ms; WAIT_NAPS of them (20 s) for the worker, which warms up every
 * codec before its first message, slowly under sanitizers */
#define WAIT_NAPS 10000
static void nap(void)
{
	nanosleep(&(struct timespec){ .tv_nsec = 2000000 }, NULL);
}

/* Waits for the worker to hand back `want` spent messages. */
static int wait_spent(struct worker *w, int want)
{
	int n = 0;
	for (int i = 0; i < WAIT_NAPS && (n = count_spent(w)) < want; i++)
		nap();
	return n;
}

static void t_messages_come_back_to_the_poster(void)
{
	static struct worker w;
	EXPECT_INT(worker_start(&w, 0, false, NULL), 0);
	struct msession *ms = msession_new("spent-test", 1);
	EXPECT(ms != NULL);
	if (!ms)
		return;
	ms->recycle = true;   /* handed back through worker_take_done */
	msession_ref(ms);     /* ours */

	EXPECT_INT(worker_post_add(&w, ms), 0);
	worker_wake(&w);
	EXPECT_INT(wait_spent(&w, 1), 1);
	worker_free_spent(&w);
	EXPECT_INT(count_spent(&w), 0);

	EXPECT_INT(worker_post_del(&w, ms), 0);
	worker_wake(&w);
	struct msession *done = NULL;
	for (int i = 0; i < WAIT_NAPS && !(done = worker_take_done(&w)); i++)
		nap();
	EXPECT(done == ms);
	EXPECT_INT(count_spent(&w), 1);   /* the deletion, pushed before the session */
	worker_free_spent(&w);
	EXPECT_INT(count_spent(&w), 0);
	if (done)
		msession_unref(done);
	msession_unref(ms);
	worker_stop(&w);
}

const struct unit_case unit_cases[] = {
	UNIT(t_messages_come_back_to_the_poster),
	{ 0 },
};
