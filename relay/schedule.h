/* schedule.h - how media worker threads are scheduled (--scheduling,
 * --priority), with rtpengine's option names and meaning.
 *
 * Parsed once on the main thread; each worker applies it to itself as it
 * starts (schedule_apply), before its first packet. Nothing here is shared.
 */
#ifndef RG_SCHEDULE_H
#define RG_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>

struct schedule_cfg {
	bool set_policy;   /* false: keep the policy the thread started with */
	int policy;        /* SCHED_FIFO, SCHED_RR, SCHED_OTHER, SCHED_BATCH, SCHED_IDLE */
	bool set_nice;     /* for non-realtime policies: apply nice */
	int prio;          /* realtime priority 1..99, or nice -20..19 */
};

/* name: default, none, fifo, rr, other, batch, idle. prio: 1..99 for fifo
 * and rr; a nice value -20..19 otherwise (0 with default/none: untouched).
 * 0, or -EINVAL with a sentence in err. */
int schedule_parse(const char *name, int prio, struct schedule_cfg *out, char *err, size_t errlen);

/* The calling thread. 0 or negative errno (EPERM without CAP_SYS_NICE or
 * a high enough RLIMIT_RTPRIO); on failure the thread keeps what it had. */
int schedule_apply(const struct schedule_cfg *s);

/* "fifo/5", "other nice -5", "default": for log lines. */
void schedule_describe(const struct schedule_cfg *s, char *buf, size_t len);

#endif
