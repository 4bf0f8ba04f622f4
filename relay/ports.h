/* ports.h - the media port pool of one interface.
 *
 * Each stream gets an even RTP port and the next odd RTCP port, both bound
 * as UDP sockets at allocation time, so "Ran out of ports" is known before
 * an offer is answered. The search for a free pair starts at a random
 * position, so ports are hard to guess. A released pair rests for the
 * quarantine time before it is handed out again, so late packets of an
 * ended call never reach a new one.
 *
 * Recycling: when a call ends, its worker hands the still-bound sockets
 * back (ports_return_pair) instead of closing them. If the pair becomes
 * free within PORTS_SPARE_HOLD_MS (a quarantine of at most that, 0 in
 * benchmarks), the pool keeps the sockets as a spare and the next offer
 * takes them instead of paying socket()+bind() twice; otherwise they are
 * closed at once, as before. Before a spare is handed out its receive queue
 * is drained, so a new call never sees packets sent to the old one. A
 * spare nobody took within PORTS_SPARE_HOLD_MS is closed by
 * ports_expire_spares (the daemon's once-a-second tick), so an idle daemon
 * holds no socket of an ended call for long.
 *
 * Thread rules: a pool belongs to the control thread; nothing here is
 * thread-safe. The sockets are handed to a worker, which gives them back
 * (to the control thread) when the call ends.
 */
#ifndef RG_PORTS_H
#define RG_PORTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct ports_pool;

/* addr: the local address to bind (family and address; port ignored). */
int ports_pool_new(struct ports_pool **out, const struct sockaddr *addr,
		   int port_min, int port_max, unsigned quarantine_ms);
void ports_pool_free(struct ports_pool *p);

/* Binds an even/odd pair. On success returns 0 and sets the two
 * non-blocking, close-on-exec sockets and the RTP port. -ENOSPC when no pair
 * is free ("Ran out of ports"), other negative errno on socket errors. */
int ports_alloc_pair(struct ports_pool *p, uint64_t now_ms, int *rtp_fd, int *rtcp_fd,
		     uint16_t *rtp_port);
/* Marks the pair as resting until now_ms + quarantine. The sockets come
 * back later through ports_return_pair (or are closed by their holder). */
void ports_release_pair(struct ports_pool *p, uint16_t rtp_port, uint64_t now_ms);
/* Takes the sockets of a released pair: keeps them as a spare when the pair
 * will be free within PORTS_SPARE_HOLD_MS, else closes them. A negative fd
 * is ignored; a pair that is in use again is not touched (fds closed). */
void ports_return_pair(struct ports_pool *p, uint16_t rtp_port, int rtp_fd, int rtcp_fd,
		       uint64_t now_ms);
/* Closes the spares that have been free and unused for PORTS_SPARE_HOLD_MS. */
void ports_expire_spares(struct ports_pool *p, uint64_t now_ms);

#define PORTS_SPARE_HOLD_MS 1000
/* Whether a released pair's sockets are worth returning (quarantine at most
 * PORTS_SPARE_HOLD_MS); if not, whoever holds them closes them. */
bool ports_recycles(const struct ports_pool *p);

/* Counts in ports (not pairs). free excludes resting ports. */
unsigned ports_in_use(const struct ports_pool *p);
unsigned ports_resting(const struct ports_pool *p, uint64_t now_ms);
unsigned ports_total(const struct ports_pool *p);
/* Ports held open as spares (counted in free or resting as well). */
unsigned ports_spare(const struct ports_pool *p);

#endif
