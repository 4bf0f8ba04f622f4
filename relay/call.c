/* call.c - the call table and call lifetime; see call.h.
 *
 * Calls sit in a chained hash keyed by call-id (FNV-1a) and in a doubly
 * linked list that the once-a-second tick walks for timeouts. Ending a call
 * releases its port pairs into quarantine at once and posts the session's
 * deletion to its worker. The worker hands the session back when it has
 * stopped receiving (worker_take_done); calls_reap then gives its sockets
 * to the port pool, which keeps them for reuse or closes them.
 * The bucket array (128 KB) is mapped populated at start: each new call
 * would otherwise fault in the page its hash lands on, memory that grows
 * with the first calls and stays resident after they end, though it is a
 * fixed cost of the daemon.
 */
#include "call.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "log.h"
#include "negotiate.h"
#include "ports.h"
#include "sdes.h"
#include "session.h"
#include "srtp.h"
#include "transcode.h"

const char *const end_reason_names[END__COUNT] = {
	"delete", "timeout", "offer-timeout", "final-timeout", "shutdown",
};

/* The control thread's clock: the monotonic clock libuv's loops use too. */
uint64_t rg_now_ms(void) { return uv_hrtime() / 1000000; }

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;
	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

int calls_init(struct rg_daemon *d)
{
	d->nbuckets = 16384;
	void *b = mmap(NULL, d->nbuckets * sizeof(*d->buckets), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	d->buckets = b == MAP_FAILED ? NULL : b;
	return d->buckets ? 0 : -1;
}

void calls_fini(struct rg_daemon *d)
{
	if (d->buckets)
		munmap(d->buckets, d->nbuckets * sizeof(*d->buckets));
	d->buckets = NULL;
}

struct call *call_find(struct rg_daemon *d, const char *call_id)
{
	for (struct call *c = d->buckets[hash_str(call_id) % d->nbuckets]; c; c = c->hnext)
		if (!strcmp(c->call_id, call_id))
			return c;
	return NULL;
}

static void call_free(struct call *c)
{
	if (!c)
		return;
	for (int l = 0; l < 2; l++)
		free(c->leg[l].tag);
	sdes_call_free(c->sdes);
	codecs_call_free(c->codecs);
	free(c);   /* media, addresses and call-id live in the same block */
}

int call_install_stages(struct call *c, int leg, int media, const struct mmedia *st,
			unsigned which)
{
	if (c->posted)
		return worker_post_stages(c->w, c->ms, leg, media, st, which);
	mmedia_replace(msession_media(c->ms, leg, media), st, which);
	return 0;
}

struct call *call_new(struct rg_daemon *d, const char *call_id, int nmedia)
{
	/* one block: the call, its media, both legs' addresses, the call-id */
#define ALIGN16(n) (((n) + 15) & ~(size_t)15)
	struct call *c;
	size_t o_media = ALIGN16(sizeof(*c));
	size_t o_a0 = o_media + ALIGN16((size_t)nmedia * sizeof(*c->media));
	size_t o_a1 = o_a0 + ALIGN16((size_t)nmedia * sizeof(*c->leg[0].addr));
	size_t o_id = o_a1 + (size_t)nmedia * sizeof(*c->leg[1].addr);
#undef ALIGN16
	size_t idlen = strlen(call_id);
	char *mem = calloc(1, o_id + idlen + 1);
	if (!mem)
		return NULL;
	c = (struct call *)mem;
	c->media = (struct call_media *)(mem + o_media);
	c->leg[0].addr = (struct leg_media_addr *)(mem + o_a0);
	c->leg[1].addr = (struct leg_media_addr *)(mem + o_a1);
	c->call_id = mem + o_id;
	memcpy(c->call_id, call_id, idlen);
	c->nmedia = nmedia;
	c->created_ms = c->last_signal_ms = rg_now_ms();
	c->created_wall = c->last_signal_wall = time(NULL);
	struct call **b = &d->buckets[hash_str(call_id) % d->nbuckets];
	c->hnext = *b;
	*b = c;
	c->next = d->calls_head;
	if (d->calls_head)
		d->calls_head->prev = c;
	d->calls_head = c;
	d->ncalls++;
	return c;
}

int call_leg_of(const struct call *c, const char *tag)
{
	if (!tag)
		return -1;
	for (int l = 0; l < 2; l++)
		if (c->leg[l].tag && !strcmp(c->leg[l].tag, tag))
			return l;
	return -1;
}

uint64_t call_last_media_ms(const struct call *c)
{
	uint64_t last = 0;
	if (!c->ms)
		return 0;
	for (int i = 0; i < c->ms->nmedia * 4; i++) {
		uint64_t t = atomic_load_explicit(&c->ms->st[i].c.last_in_ms, memory_order_relaxed);
		if (t > last)
			last = t;
	}
	return last;
}

static void call_unlink(struct rg_daemon *d, struct call *c)
{
	struct call **pp = &d->buckets[hash_str(c->call_id) % d->nbuckets];
	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = c->hnext;
	if (c->prev)
		c->prev->next = c->next;
	else
		d->calls_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	d->ncalls--;
}

static void release_ports(struct rg_daemon *d, struct call *c)
{
	uint64_t now = rg_now_ms();
	for (int l = 0; l < 2; l++)
		for (int m = 0; m < c->nmedia; m++) {
			struct mstream *s = msession_stream(c->ms, l, m, COMP_RTP);
			if (s->port)
				ports_release_pair(d->ifaces[c->leg[l].iface].pool, s->port, now);
		}
}

/* Gives a session's sockets to the pools (after release_ports). */
static void return_sockets(struct rg_daemon *d, struct msession *ms, uint64_t now)
{
	for (int l = 0; l < 2; l++)
		for (int m = 0; m < ms->nmedia; m++) {
			struct mstream *rtp = msession_stream(ms, l, m, COMP_RTP);
			struct mstream *rtcp = msession_stream(ms, l, m, COMP_RTCP);
			if (!rtp->port)
				continue;
			ports_return_pair(d->ifaces[ms->iface[l]].pool, rtp->port, rtp->fd, rtcp->fd, now);
			rtp->fd = rtcp->fd = -1;
		}
	msession_close_fds(ms);
}

void calls_reap(struct rg_daemon *d)
{
	uint64_t now = 0;
	for (int i = 0; i < d->nworkers; i++) {
		worker_free_spent(&d->workers[i]);
		struct msession *next;
		for (struct msession *ms = worker_take_done(&d->workers[i]); ms; ms = next) {
			next = ms->ret_next;
			if (!now)
				now = rg_now_ms();
			return_sockets(d, ms, now);
			msession_unref(ms);
		}
	}
}

void calls_wake_workers(struct rg_daemon *d)
{
	for (int i = 0; i < d->nworkers; i++)
		worker_wake(&d->workers[i]);
}

void calls_loop_pass(struct rg_daemon *d)
{
	calls_wake_workers(d);
	calls_reap(d);
}

void call_discard(struct rg_daemon *d, struct call *c)
{
	call_unlink(d, c);
	if (c->ms) {
		release_ports(d, c);
		return_sockets(d, c->ms, rg_now_ms());
		msession_unref(c->ms);
	}
	call_free(c);
}

void call_end(struct rg_daemon *d, struct call *c, enum end_reason why)
{
	call_unlink(d, c);
	d->stats.sessions_ended[why]++;
	LOGC(LOG_INFO, "call", c->call_id, "ended (%s) after %llu ms", end_reason_names[why],
	     (unsigned long long)(rg_now_ms() - c->created_ms));
	release_ports(d, c);
	c->ms->recycle = ports_recycles(d->ifaces[c->leg[0].iface].pool) &&
			 ports_recycles(d->ifaces[c->leg[1].iface].pool);
	c->w->ctl_calls--;
	worker_post_del(c->w, c->ms);
	msession_unref(c->ms);
	call_free(c);
}

void call_tick(struct rg_daemon *d, uint64_t now)
{
	const struct rg_config *cfg = &d->cfg;
	calls_reap(d);
	for (int i = 0; i < d->nifaces; i++)
		ports_expire_spares(d->ifaces[i].pool, now);
	struct call *next;
	for (struct call *c = d->calls_head; c; c = next) {
		next = c->next;
		if (c->delete_at_ms && now >= c->delete_at_ms) {
			call_end(d, c, END_DELETE);
			continue;
		}
		if (cfg->final_timeout && now - c->created_ms >= (uint64_t)cfg->final_timeout * 1000) {
			call_end(d, c, END_FINAL_TIMEOUT);
			continue;
		}
		if (!c->answered) {
			if (now - c->last_signal_ms >= (uint64_t)cfg->offer_timeout * 1000)
				call_end(d, c, END_OFFER_TIMEOUT);
			continue;
		}
		uint64_t last = call_last_media_ms(c);
		if (last < c->answered_ms)
			last = c->answered_ms;
		if (now > last && now - last >= (uint64_t)cfg->timeout * 1000)
			call_end(d, c, END_TIMEOUT);
	}
}
