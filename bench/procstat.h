/* procstat.h - CPU time and memory of a process, read from /proc.
 *
 * Any thread may call these; they only read files. A pid that is gone
 * gives a negative errno.
 */
#ifndef BENCH_PROCSTAT_H
#define BENCH_PROCSTAT_H

#include <stdint.h>
#include <sys/types.h>

/* CPU time (user + system) of all threads of pid, in nanoseconds. Sums
 * /proc/PID/task/TID/schedstat (ns resolution) and falls back to the
 * utime+stime ticks of /proc/PID/stat. Returns 0 or -errno. */
int procstat_cpu_ns(pid_t pid, uint64_t *ns);
/* The same, plus the time its threads were runnable but waited for a CPU
 * (run queue delay, ns; 0 when schedstat is missing). wait_ns may be NULL. */
int procstat_cpu_wait_ns(pid_t pid, uint64_t *ns, uint64_t *wait_ns);
/* VmRSS of pid in kilobytes; 0 or -errno. */
int procstat_rss_kb(pid_t pid, long *kb);
/* Monotonic clock in nanoseconds. */
uint64_t procstat_now_ns(void);

#endif
