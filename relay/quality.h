/* quality.h - per-leg call quality: loss, jitter, round-trip time and an
 * estimated MOS, from what rtpgate sees on the packet path and from the
 * RTCP reports the parties send.
 *
 * Threads: struct quality_wrk is the worker's alone (the packet path feeds
 * it through quality_in(), which neither locks nor allocates); struct
 * quality_cnt holds the results as relaxed atomics, single writer (the
 * worker), read by the control thread for query/delete as one
 * (mstream_read_begin/done). Both live inside struct mstream (session.h);
 * only the RTP stream of each leg and media carries meaningful values.
 *
 * MOS estimate (a simplified ITU-T G.107 E-model, as commonly used for
 * monitoring):
 *   latency_ms  = rtt_ms / 2 + 2 * jitter_ms + 10
 *   R = 93.2 - (latency_ms < 160 ? latency_ms / 40 : (latency_ms - 120) / 10)
 *            - 2.5 * loss_percent
 *   MOS = 1 + 0.035 R + 7e-6 R (R - 60) (100 - R), clamped to 1.0 .. 4.5
 * with loss and jitter the worse of rtpgate's own view and the party's
 * report, and rtt 0 while unknown. docs/quality.md says more.
 */
#ifndef RG_QUALITY_H
#define RG_QUALITY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtcp.h"

struct quality_wrk {
	struct rtcp_rxstats rx;      /* RTP from this leg's party */
	bool rx_on;
	uint8_t pt;                  /* payload type the jitter clock was chosen for */
	uint32_t lost_base, expected_base;   /* from earlier SSRCs of the party */
	uint32_t sr_lsr;             /* middle NTP bits of the last SR relayed to this party */
	uint64_t sr_ms;              /* when it was relayed (worker loop ms) */
};

struct quality_cnt {
	_Atomic uint32_t expected, lost;      /* RTP the party sent us: sequence numbers, gaps */
	_Atomic uint32_t jitter_us;           /* RFC 3550 interarrival jitter of that RTP */
	_Atomic uint32_t reports;             /* RTCP report blocks the party sent */
	_Atomic uint32_t rep_fraction;        /* the party's last "fraction lost", /256 */
	_Atomic int32_t rep_cum_lost;         /* and its cumulative loss */
	_Atomic uint32_t rep_jitter_us;       /* and the jitter it measured */
	_Atomic uint32_t rtt_us;              /* round trip rtpgate <-> party (0 = unknown) */
	/* the view expected, lost and jitter_us came from, for a reader that
	 * adds what a take of a kernel entry holds (quality_leg); kept only
	 * while the stream has an entry or a take of one pending */
	_Atomic uint32_t view_ssrc, view_clock, view_base, view_ext_max, view_received;
	_Atomic bool view_on;                 /* started, past probation */
};

struct msession;
struct mstream;

/* Worker, per accepted (authenticated, source-checked) packet that arrived
 * on stream s; rtcp says how it was classified. now_ms is the loop clock.
 * True when the packet started a new view of the party's RTP (a new SSRC,
 * or sequence numbers that jumped and went on from there). */
bool quality_in(struct msession *ms, struct mstream *s, bool rtcp, const uint8_t *p,
		size_t len, uint64_t now_ms);
/* Worker: whether RTP packet p would start a new view (or begin to: the
 * first packet of a jump) on s. */
bool quality_rebases(const struct mstream *s, const uint8_t *p, size_t len);

/* What kernel forwarding (kfwd.h) counted of a stream's RTP since its entry
 * was made from the worker's view (ssrc, base_seq say which view). */
struct quality_kernel {
	uint32_t ssrc, base_seq;
	uint32_t ext_max;            /* highest extended sequence number */
	uint32_t received;           /* packets, since the last fold */
	uint32_t transit, jitter_q4;
};
/* Worker: adds them to s's view, if it is still the one they continue. */
void quality_fold(struct mstream *s, const struct quality_kernel *k);
/* Worker: publishes s's view for the control thread, before an entry made
 * from it goes into the kernel (from then on s's packets and folds keep
 * it published, until the entry and any take of it are gone). */
void quality_publish_view(struct mstream *s);

/* A leg's summary, computed from the [cnt] fields. */
struct quality_summary {
	uint32_t expected, lost;
	uint32_t loss_permille;      /* worse of own view and the party's report */
	uint32_t jitter_us;          /* worse of own view and the party's report */
	uint32_t rtt_us;             /* 0 = unknown */
	uint32_t reports;
	uint32_t rep_loss_permille;
	uint32_t mos_x10;            /* 10 .. 45 */
};
/* Control thread: sums the leg's media (RTP streams). With a take of the
 * session's kernel entries pending (kfwd_session_take, a delete), what
 * those hold beyond the worker's last fold counts too, as the fold will. */
void quality_leg(struct msession *ms, int leg, struct quality_summary *q);
/* Control thread (allocates): {packets lost, loss permille, jitter us,
 * [rtt us], [reported loss permille], MOS x10} for query/delete replies. */
struct bval;
struct bval *quality_bval(struct msession *ms, int leg);
/* The E-model estimate above, times 10 and rounded. */
uint32_t quality_mos_x10(uint32_t loss_permille, uint32_t jitter_us, uint32_t rtt_us);

#endif
