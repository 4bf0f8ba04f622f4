/* session.h - the media side of a call, shared by the control thread and the
 * one worker that relays it.
 *
 * Domain model (after rtpengine's call/monologue/media/stream):
 *   a call has two legs: leg A made the offer, leg B answered;
 *   each leg has one media per m= line;
 *   each media has two streams, RTP and RTCP, each one local UDP socket.
 * A stream "faces" one leg: its port is the one advertised to that leg, the
 * leg's party sends to it, and rtpgate sends to that party from it. A packet
 * arriving on (leg L, media m) leaves through (other leg, media m).
 *
 * Ownership and threads:
 * - The control thread creates an msession, binds its sockets, and posts it
 *   to its worker (worker_post_add). Fields marked [ctl] are set before that
 *   and never change; the control thread keeps its own copies of anything it
 *   changes later and posts updates as messages.
 * - Fields marked [wrk] are touched only by the worker.
 * - Counters marked [cnt] are written by the worker with relaxed atomic
 *   stores and read by the control thread for query/statistics: the control
 *   thread never waits for a worker.
 * - msession is refcounted: one reference for the control thread's call,
 *   one for the worker. Whoever drops the last one frees it.
 * - When a deleted session's handles are closed and its ports can be reused
 *   soon (recycle), the worker does not close its sockets: it hands the
 *   session, with its reference and its still bound sockets, back to the
 *   control thread (worker_take_done), which gives the sockets to the port
 *   pool for reuse (ports_return_pair).
 */
#ifndef RG_SESSION_H
#define RG_SESSION_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "addr.h"
#include "kfwd_map.h"
#include "quality.h"

enum { COMP_RTP = 0, COMP_RTCP = 1 };
enum { LEG_A = 0, LEG_B = 1 };

enum latch_state {
	LATCH_NONE = 0,       /* nothing received yet: send to the SDP address */
	LATCH_LEARNED,        /* same IP as the SDP, other port (NAT): may still move to the exact SDP address */
	LATCH_CONFIRMED,      /* the exact SDP address: never moves again */
};

struct stream_counters {
	_Atomic uint64_t pkts_in, bytes_in;     /* accepted from this leg's party */
	_Atomic uint64_t pkts_out, bytes_out;   /* sent to this leg's party */
	_Atomic uint64_t drop_source;           /* from an address that is not the party */
	_Atomic uint64_t drop_malformed;        /* not RTP/RTCP */
	_Atomic uint64_t drop_nopeer;           /* nowhere to send yet (no answer) */
	_Atomic uint64_t drop_auth;             /* SRTP/SRTCP that failed authentication or replay checks */
	_Atomic uint64_t send_errors;
	_Atomic uint64_t last_in_ms;            /* uv_now() of the last accepted packet */
};

struct mstream {
	struct msession *ms;        /* [ctl] */
	int fd;                     /* [ctl] bound socket; closed, or given back for reuse, at the end */
	uint16_t port;              /* [ctl] local port */
	uint8_t leg, media, comp;   /* [ctl] */
	/* [wrk] */
	uv_poll_t poll;
	union rg_addr expect;       /* party's address from SDP (unset = unknown) */
	union rg_addr latched;
	uint8_t latch;              /* enum latch_state */
	bool mux;                   /* RTP stream: party sends RTCP on this port too */
	bool strict;                /* exact SDP address only, no learning */
	bool asym;                  /* asymmetric party: accept its IP, always send to the SDP address */
	uint32_t rej_sec, rej_n;    /* packets rejected (source, SRTP) in second rej_sec (stream.c flood cap) */
	bool active;                /* receiving (poll started or receive armed) */
	bool armed;                 /* io_uring: a multishot receive is pending */
	bool fixed;                 /* io_uring: fd is in the ring's file table, at index fd */
	uint8_t close_waits;        /* io_uring: completions a stop still waits for */
	bool rearm_pending;         /* io_uring: on the worker's re-arm list */
	struct mstream *rearm_next;
	struct stream_counters c;   /* [cnt] */
	struct quality_wrk qw;      /* [wrk] loss/jitter/RTT state (quality.h) */
	struct quality_cnt q;       /* [cnt] their results */
	/* [wrk] kernel forwarding (kfwd.h): the entry installed for this
	 * stream's RTP, its counts as last read, and the worker's list */
	bool kf_on;
	atomic_bool kf_taken;       /* see kf_final below; beside kf_on, which
				     * the packet path reads with it */
	uint64_t kf_reseed_ms;      /* when a packet last made the entry again (loop ms) */
	struct kfwd_key kf_key;
	struct kfwd_val kf_val;
	struct mstream *kf_next, **kf_prev;
	/* the entry's last counts when the control thread took it out of the
	 * kernel (kfwd_session_take): written by the control thread, then
	 * kf_taken is set (release); the worker takes them with an exchange */
	struct kfwd_val kf_final;
	/* [wrk] written, [ctl] read: how much of the entry's counts c holds
	 * (kf_val's pkts and bytes) and of its RTP q holds (kf_val's
	 * received), so that the control thread can add what a take holds
	 * that c and q do not (kfwd_stream_in, quality_leg) */
	_Atomic uint64_t kf_in_pkts, kf_in_bytes;
	_Atomic uint32_t kf_folded;
	/* a sequence that is odd while the worker changes c, q, the kf_in_*
	 * and kf_folded, and kf_taken together (mstream_pub_begin/end), so
	 * that the control thread reads them as one (mstream_read_*) */
	_Atomic uint32_t pub_seq;
	uint8_t pub_depth;          /* [wrk] the begin/end pairs nest */
};

/* Worker: the changes up to mstream_pub_end are seen together. Nests. */
static inline void mstream_pub_begin(struct mstream *s)
{
	if (s->pub_depth++)
		return;
	/* a single writer, so plain stores; the fence keeps the changes after
	 * the odd value */
	uint32_t q = atomic_load_explicit(&s->pub_seq, memory_order_relaxed);
	atomic_store_explicit(&s->pub_seq, q + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
}

static inline void mstream_pub_end(struct mstream *s)
{
	if (--s->pub_depth)
		return;
	uint32_t q = atomic_load_explicit(&s->pub_seq, memory_order_relaxed);
	atomic_store_explicit(&s->pub_seq, q + 1, memory_order_release);
}

/* Control thread: read what the worker publishes between
 *	uint32_t q = mstream_read_begin(s);
 * and mstream_read_done(s, q), which is false when it has to be read again. */
static inline uint32_t mstream_read_begin(const struct mstream *s)
{
	for (unsigned spin = 0;; spin++) {
		uint32_t q = atomic_load_explicit(&s->pub_seq, memory_order_acquire);
		if (!(q & 1))
			return q;
		if (spin >= 64)
			sched_yield();   /* the worker was preempted inside its few stores */
	}
}

static inline bool mstream_read_done(const struct mstream *s, uint32_t q)
{
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&s->pub_seq, memory_order_relaxed) == q)
		return true;
	sched_yield();
	return false;
}

/* Rejected packets per second per stream after which only the party's
 * exact address is still examined (stream.c). */
#define STREAM_STRANGER_CAP 200

struct srtp_dir;
struct xcoder;

/* The optional stages of one leg's media. NULL stages cost nothing.
 * Set by the control thread before the session is posted, later replaced
 * only through worker_post_stages(); then [wrk]. */
struct mmedia {
	struct srtp_dir *srtp_rx;   /* unprotects what this leg's party sends */
	struct srtp_dir *srtp_tx;   /* protects what rtpgate sends to this leg's party */
	struct xcoder *xc;          /* transcodes RTP from this leg's party for the other leg */
};

struct msession {
	atomic_int refs;
	struct worker *w;           /* [ctl] */
	char *call_id;              /* [ctl] for log lines */
	int nmedia;                 /* [ctl] */
	struct mstream *st;         /* [ctl] 2 legs x nmedia x 2 comps */
	struct mmedia *mm;          /* 2 legs x nmedia */
	int closing;                /* [wrk] handles still closing */
	uint8_t iface[2];           /* [ctl] each leg's interface (rg_daemon.ifaces) */
	bool recycle;               /* [ctl] set before the deletion is posted: the
				     * sockets go back to the control thread for reuse;
				     * else the worker closes them */
	struct msession *ret_next;  /* the worker's list of sessions it is done with */
	atomic_int kf_entries;      /* [wrk] written, [ctl] read: its kernel entries now */
};

static inline struct mstream *msession_stream(struct msession *ms, int leg, int media, int comp)
{
	return &ms->st[(leg * ms->nmedia + media) * 2 + comp];
}

static inline struct mmedia *msession_media(struct msession *ms, int leg, int media)
{
	return &ms->mm[leg * ms->nmedia + media];
}

/* Which stages a replacement installs. */
enum { STAGE_SRTP_RX = 1, STAGE_SRTP_TX = 2, STAGE_XC = 4 };
/* Installs the stages of st named by `which` into cur, freeing the ones
 * they replace. Runs on whichever thread owns cur at the time. */
void mmedia_replace(struct mmedia *cur, const struct mmedia *st, unsigned which);

/* Control thread: a session with every stream's fd = -1. */
struct msession *msession_new(const char *call_id, int nmedia);
void msession_ref(struct msession *ms);
void msession_unref(struct msession *ms);
/* Control thread, only before the session was posted: closes the fds. */
void msession_close_fds(struct msession *ms);
/* Frees every stage (SRTP contexts, transcoders). The worker calls it once
 * the sockets are closed; the control thread only for a never-posted one. */
void msession_free_stages(struct msession *ms);

/* Where a stream's party currently is (latched, else SDP). [wrk] */
static inline const union rg_addr *mstream_dest(const struct mstream *s)
{
	return s->latch != LATCH_NONE ? &s->latched : &s->expect;
}

#endif
