/* schedule.c - the scheduling policy of media worker threads; see schedule.h.
 *
 * Why a relay wants it: a worker woken by a packet runs only when the
 * kernel gives it a CPU. On a busy machine it waits behind other runnable
 * threads, and that wait is added to every packet that came in meanwhile.
 * A worker under a realtime policy (fifo, rr) runs as soon as it is woken,
 * ahead of every ordinary thread. The kernel's realtime throttling
 * (/proc/sys/kernel/sched_rt_runtime_us, 95 % of each second by default)
 * bounds what realtime threads may take, so a runaway worker cannot lock
 * the machine up. The non-realtime policies take a nice value instead,
 * which on Linux is per thread.
 *
 * The option names and their meaning are rtpengine's (--scheduling,
 * --priority), so an operator's settings carry over.
 */
#include "schedule.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static const struct {
	const char *name;
	int policy;
	bool realtime;
} policies[] = {
	{ "fifo", SCHED_FIFO, true },
	{ "rr", SCHED_RR, true },
	{ "other", SCHED_OTHER, false },
	{ "batch", SCHED_BATCH, false },
	{ "idle", SCHED_IDLE, false },
};

static bool is_realtime(int policy)
{
	return policy == SCHED_FIFO || policy == SCHED_RR;
}

int schedule_parse(const char *name, int prio, struct schedule_cfg *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (!name || !*name || !strcmp(name, "default") || !strcmp(name, "none")) {
		if (prio < -20 || prio > 19) {
			snprintf(err, errlen, "--priority %d: without a realtime --scheduling it is a nice "
				 "value, -20..19", prio);
			return -EINVAL;
		}
		out->set_nice = prio != 0;
		out->prio = prio;
		return 0;
	}
	for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
		if (strcmp(name, policies[i].name))
			continue;
		if (policies[i].realtime && (prio < 1 || prio > 99)) {
			snprintf(err, errlen, "--scheduling=%s needs --priority 1..99 (got %d)", name, prio);
			return -EINVAL;
		}
		if (!policies[i].realtime && (prio < -20 || prio > 19)) {
			snprintf(err, errlen, "--scheduling=%s takes a nice value as --priority, -20..19 (got %d)",
				 name, prio);
			return -EINVAL;
		}
		out->set_policy = true;
		out->policy = policies[i].policy;
		out->set_nice = !policies[i].realtime;
		out->prio = prio;
		return 0;
	}
	snprintf(err, errlen, "invalid value '%s' for --scheduling (expected default, none, fifo, rr, "
		 "other, batch or idle)", name);
	return -EINVAL;
}

int schedule_apply(const struct schedule_cfg *s)
{
	if (s->set_policy) {
		struct sched_param p = { .sched_priority = is_realtime(s->policy) ? s->prio : 0 };
		/* pid 0: on Linux, the calling thread only */
		if (sched_setscheduler(0, s->policy, &p) < 0)
			return -errno;
	}
	if (s->set_nice && setpriority(PRIO_PROCESS, (id_t)gettid(), s->prio) < 0)
		return -errno;
	return 0;
}

void schedule_describe(const struct schedule_cfg *s, char *buf, size_t len)
{
	const char *name = "default";
	for (size_t i = 0; s->set_policy && i < sizeof(policies) / sizeof(policies[0]); i++)
		if (policies[i].policy == s->policy)
			name = policies[i].name;
	if (s->set_policy && is_realtime(s->policy))
		snprintf(buf, len, "%s/%d", name, s->prio);
	else if (s->set_nice)
		snprintf(buf, len, "%s nice %d", name, s->prio);
	else
		snprintf(buf, len, "%s", name);
}
