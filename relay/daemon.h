/* daemon.h - the control thread's context: settings, interfaces, workers,
 * the call table and the counters the control plane keeps.
 *
 * One struct rg_daemon exists per process. It is created on the main
 * thread, which then becomes the control thread and runs the control loop;
 * it is passed down explicitly (no global). Everything in it belongs to
 * the control thread except workers[i], which only posts to and reads the
 * relaxed counters of.
 */
#ifndef RG_DAEMON_H
#define RG_DAEMON_H

#include <stdint.h>
#include <uv.h>

#include "addr.h"
#include "config.h"
#include "ng.h"

struct worker;
struct kfwd;
struct call;
struct ports_pool;
struct replycache;
struct rtpp_ctl;
struct ctlsock;
struct metrics;
struct sdp_session;

#define IFACE_NAME_MAX 32

struct iface {
	char name[IFACE_NAME_MAX];    /* "default" unless given as NAME/ADDR */
	union rg_addr local;          /* bound address */
	char advertised[64];          /* address written into SDP */
	struct ports_pool *pool;
};

enum end_reason {
	END_DELETE, END_TIMEOUT, END_OFFER_TIMEOUT, END_FINAL_TIMEOUT, END_SHUTDOWN,
	END__COUNT
};
extern const char *const end_reason_names[END__COUNT];

struct ctl_stats {
	uint64_t sessions_created;
	uint64_t sessions_ended[END__COUNT];
	uint64_t commands[NG_CMD__COUNT];
	uint64_t command_errors[NG_CMD__COUNT];
	uint64_t ng_dropped;          /* UDP requests with no cookie, not allowed, or unparsable framing */
	uint64_t ng_duplicates;       /* answered from the reply cache */
	uint64_t ng_malformed;        /* answered with an error before a command ran */
	uint64_t ports_exhausted;
	uint64_t load_limited;
};

struct rg_daemon {
	struct rg_config cfg;
	uv_loop_t *loop;
	struct iface ifaces[CONFIG_MAX_INTERFACES];
	int nifaces;
	struct worker *workers;
	int nworkers;
	struct kfwd *kf;              /* kernel forwarding (kfwd.h), or NULL */
	/* calls: a hash by call-id plus a list for the timers and `list` */
	struct call **buckets;
	size_t nbuckets, ncalls;
	struct call *calls_head;
	struct replycache *replies;
	struct ctl_stats stats;
	uint64_t started_ms;
	time_t started_wall;
	bool draining;
	int transcodes_active;        /* calls that may transcode (negotiate.c) */
	size_t trimmed_at;            /* call count at the last malloc_trim */
	/* control transports (control.c) */
	struct ctlsock *ng;           /* ng's sockets (ctlsock.c), NULL when none */
	uv_timer_t timer;
	uv_prepare_t wake;            /* control.c: wakes the workers once per loop pass */
	struct sdp_session *sdp_scratch;  /* commands.c: the allocation each parsed SDP reuses */
	/* operator transports (ops.c): NULL when off */
	struct rtpp_ctl *rtpp;
	struct metrics *metrics;
	uv_signal_t sig_term, sig_int, sig_hup, sig_quit;
};

/* Monotonic milliseconds, the clock every timeout uses. */
uint64_t rg_now_ms(void);

#endif
