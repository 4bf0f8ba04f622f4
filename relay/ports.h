/* ports.h - the media port pool of one interface.
 *
 * Each stream gets an even RTP port and the next odd RTCP port, both bound
 * as UDP sockets at allocation time, so "Ran out of ports" is known before
 * an offer is answered. The search for a free pair starts at a random
 * position, so ports are hard to guess. A released pair rests for the
 * quarantine time before it is handed out again, so late packets of an
 * ended call never reach a new one.
 *
 * Thread rules: a pool belongs to the control thread; nothing here is
 * thread-safe. The sockets are handed to a worker, which closes them; the
 * pool only tracks which pairs are taken.
 */
#ifndef RG_PORTS_H
#define RG_PORTS_H

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
/* Marks the pair as resting until now_ms + quarantine. The caller (or the
 * worker) closes the sockets. */
void ports_release_pair(struct ports_pool *p, uint16_t rtp_port, uint64_t now_ms);

/* Counts in ports (not pairs). free excludes resting ports. */
unsigned ports_in_use(const struct ports_pool *p);
unsigned ports_resting(const struct ports_pool *p, uint64_t now_ms);
unsigned ports_total(const struct ports_pool *p);

#endif
