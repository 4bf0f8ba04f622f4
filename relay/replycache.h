/* replycache.h - replies to UDP control requests, kept by (source, cookie).
 *
 * Kamailio retransmits a UDP command with the same cookie when the reply is
 * late; the retransmission must get the same reply and must not run the
 * command again. Entries live for ttl_ms (at least 30 s) and the cache holds
 * at most max_entries and 32 MiB of replies (the oldest go first). Control
 * thread only.
 */
#ifndef RG_REPLYCACHE_H
#define RG_REPLYCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct replycache;

int replycache_new(struct replycache **out, unsigned ttl_ms, size_t max_entries);
void replycache_free(struct replycache *rc);
/* The cached reply or NULL. The pointer stays valid until the next put/expire. */
const char *replycache_get(struct replycache *rc, const union rg_addr *src,
			   const char *cookie, size_t cookie_len, size_t *reply_len);
/* Copies the reply. Returns 0 or -ENOMEM. */
int replycache_put(struct replycache *rc, const union rg_addr *src, const char *cookie,
		   size_t cookie_len, const char *reply, size_t reply_len, uint64_t now_ms);
void replycache_expire(struct replycache *rc, uint64_t now_ms);
size_t replycache_count(const struct replycache *rc);
/* Bytes mapped for the entries; 0 once every entry has gone. */
size_t replycache_mapped(const struct replycache *rc);

#endif
