/* kfwd.h - kernel forwarding (--kernel-forward): the RTP of plain calls
 * relayed by a tc program in the kernel (kfwd.bpf.c) instead of a worker.
 *
 * The control thread opens it once at start (kfwd_open), before any session
 * exists, and closes it after the workers stopped. Workers then install,
 * change and remove their own streams' entries (kfwd_stream_sync) with
 * bpf() map calls: no lock of ours, only when a stream's forwarding changes
 * (latch, new SDP, stages, delete), never per packet. Once a second each
 * worker reads its offloaded streams' kernel counters into the streams'
 * own (kfwd_worker_tick), so query, statistics, metrics and the media
 * timeout see kernel-relayed packets with at most a second's delay.
 *
 * What is offloaded: one direction of one media's RTP, IPv4 or IPv6 (one
 * family end to end), when the sending party is latched (and not
 * "asymmetric"), the receiving party's
 * address is known, no SRTP on either side and no transcoder on the way,
 * and both sockets are bound to a specific address. RTCP always goes
 * through the worker (its quality figures come from it). An entry carries
 * on the worker's quality view of the party's RTP (quality.h), which the
 * harvest folds back in; RTP that would start a new view (another SSRC, a
 * jump) is left to the worker, which makes the entry again from the view
 * it then has (README "Kernel forwarding").
 */
#ifndef RG_KFWD_H
#define RG_KFWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kfwd;
struct worker;
struct mstream;
struct msession;
union rg_addr;

/* Loads the program and attaches it to the ingress of the interfaces that
 * own the given local addresses (IPv4 or IPv6, not wildcard). max_entries:
 * most streams at once. 0, or a negative errno with a sentence in err. */
int kfwd_open(struct kfwd **out, const union rg_addr *locals, int nlocals,
	      unsigned max_entries, char *err, size_t errlen);
/* Detaches and frees. NULL is a no-op. */
void kfwd_close(struct kfwd *k);

/* Worker: brings s's kernel entry in line with what s may do now
 * (installs, changes or removes it), and the entry of the stream that
 * sends to s's party too. reseed: make s's entry again even if nothing
 * else changed, from s's quality view as it is now (a new SSRC, or
 * sequence numbers that jumped). No-op without kernel forwarding. */
void kfwd_stream_sync(struct worker *w, struct mstream *s, bool reseed);
/* Worker: s's kernel counts and quality so far into s (before the worker
 * judges a packet of s's that the kernel left to it). */
void kfwd_stream_pull(struct worker *w, struct mstream *s);
/* Worker: removes every entry of the session (before it stops). */
void kfwd_session_off(struct worker *w, struct msession *ms);
/* Worker, once a second: kernel counters into the streams' counters. */
void kfwd_worker_tick(struct worker *w);

/* Control thread, before it posts a change of the session (new addresses,
 * stages, delete) and replies: takes the session's kernel entries out at
 * once, so that from the reply on its packets reach the worker, which runs
 * the change before them (README "Ordering"); the worker then installs what
 * the change allows. The entries' last counts are handed to the worker
 * through the streams (kf_final). Nothing to do (one atomic load) for a
 * session without entries. */
void kfwd_session_take(struct kfwd *k, struct msession *ms);
/* Control thread: s's packets and bytes in (its counters c), with what a
 * take holds that the worker has not counted yet. A delete takes the
 * session's entries first, so its reply counts the kernel's last packets
 * rather than those of the worker's last look, up to a second old. */
void kfwd_stream_in(struct mstream *s, uint64_t *pkts, uint64_t *bytes);

#endif
