/* log.h - levelled, per-subsystem logging to stderr or syslog.
 *
 * Any thread may log. Levels are syslog's (0 emerg .. 7 debug). A line about
 * a call carries its call-id. On the packet path use LOG_RL(), which lets
 * at most a few lines per second through per call site and counts the rest.
 */
#ifndef RG_LOG_H
#define RG_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

extern atomic_int log_level_now;   /* the only mutable global: changed by SIGHUP */

void log_init(int level, bool to_syslog);
void log_set_level(int level);
void log_msg(int level, const char *subsys, const char *callid, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define LOG_ON(lvl) ((lvl) <= atomic_load_explicit(&log_level_now, memory_order_relaxed))
#define LOG(lvl, sub, fmt, ...) do { if (LOG_ON(lvl)) \
	log_msg(lvl, sub, NULL, fmt, ##__VA_ARGS__); } while (0)
#define LOGC(lvl, sub, callid, fmt, ...) do { if (LOG_ON(lvl)) \
	log_msg(lvl, sub, callid, fmt, ##__VA_ARGS__); } while (0)

/* Rate limit state for one call site: at most `burst` lines per second. */
struct log_rl {
	_Atomic uint64_t window;   /* second the counts refer to */
	atomic_uint count;
	atomic_uint suppressed;
};
bool log_rl_pass(struct log_rl *rl, unsigned burst);
#define LOG_RL(lvl, sub, callid, fmt, ...) do { static struct log_rl rl_; \
	if (LOG_ON(lvl) && log_rl_pass(&rl_, 5)) \
		log_msg(lvl, sub, callid, fmt, ##__VA_ARGS__); } while (0)

#endif
