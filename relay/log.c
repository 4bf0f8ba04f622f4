/* log.c - logging; see log.h.
 *
 * A line is "LEVEL [subsys] [call-id] text". To stderr it is written with a
 * single write() so lines from several threads never interleave; to syslog
 * it goes through syslog(3), which is thread-safe.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

atomic_int log_level_now = LOG_INFO;
static bool use_syslog;   /* set once before any thread starts */

static const char *const level_names[8] = {
	"EMERG", "ALERT", "CRIT", "ERR", "WARNING", "NOTICE", "INFO", "DEBUG",
};

void log_init(int level, bool to_syslog)
{
	log_set_level(level);
	use_syslog = to_syslog;
	if (to_syslog)
		openlog("rtpgate", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(int level)
{
	if (level < 0)
		level = 0;
	if (level > 7)
		level = 7;
	atomic_store(&log_level_now, level);
}

void log_msg(int level, const char *subsys, const char *callid, const char *fmt, ...)
{
	char line[1024];
	size_t n = 0;
	if (level < 0)
		level = 0;
	if (level > 7)
		level = 7;
	if (!use_syslog) {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ ", ts.tv_nsec / 1000000);
	}
	int w = snprintf(line + n, sizeof(line) - n, "%s [%s] ", level_names[level], subsys);
	if (w > 0)
		n += (size_t)w;
	if (callid && n < sizeof(line)) {
		w = snprintf(line + n, sizeof(line) - n, "[%s] ", callid);
		if (w > 0)
			n += (size_t)w;
	}
	if (n < sizeof(line)) {
		va_list ap;
		va_start(ap, fmt);
		w = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
		if (w > 0)
			n += (size_t)w;
	}
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	/* Never let a peer's bytes put control characters into our log. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	if (use_syslog) {
		line[n] = '\0';
		syslog(level, "%s", line);
		return;
	}
	line[n++] = '\n';
	ssize_t r = write(STDERR_FILENO, line, n);
	(void)r;
}

bool log_rl_pass(struct log_rl *rl, unsigned burst)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	uint64_t sec = (uint64_t)ts.tv_sec;
	uint64_t win = atomic_load_explicit(&rl->window, memory_order_relaxed);
	if (win != sec && atomic_compare_exchange_strong(&rl->window, &win, sec)) {
		unsigned sup = atomic_exchange(&rl->suppressed, 0);
		atomic_store(&rl->count, 0);
		if (sup)
			log_msg(LOG_NOTICE, "log", NULL, "%u similar lines suppressed", sup);
	}
	if (atomic_fetch_add(&rl->count, 1) < burst)
		return true;
	atomic_fetch_add(&rl->suppressed, 1);
	return false;
}
