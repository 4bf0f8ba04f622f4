/* sdpmini.h - the little SDP the load tool writes and reads.
 *
 * The tool offers one audio stream per leg and only needs to learn, from
 * the relay's rewritten SDP, where to send (c= and m= port) and which
 * payload type the relay chose for a codec. Pure functions, any thread.
 */
#ifndef BENCH_SDPMINI_H
#define BENCH_SDPMINI_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define SDPMINI_MAX_PT 32

struct sdpmini_codec {
	int pt;
	char name[24];
	unsigned clock;
};

struct sdpmini {
	char addr[64];          /* media c= (or session c=) address */
	uint16_t port;          /* first m=audio port */
	int npt;
	struct sdpmini_codec pt[SDPMINI_MAX_PT];
};

/* Writes an SDP for one audio stream at 127.0.0.1:port offering the
 * codecs (payload type, name/clock[/channels], optional fmtp). */
struct sdpmini_offer {
	int pt;
	const char *rtpmap;     /* "PCMU/8000", "opus/48000/2" */
	const char *fmtp;       /* or NULL */
};
void sdpmini_write(struct rg_buf *b, uint64_t sess_id, uint16_t port,
		   const struct sdpmini_offer *codecs, int ncodecs);

/* Parses s (not necessarily NUL-terminated). 0, or -EINVAL when no
 * m=audio line or no connection address was found. */
int sdpmini_parse(const char *s, size_t len, struct sdpmini *out);
/* Payload type of codec `name` (case-insensitive), or -1. Static payload
 * types without an rtpmap (0 PCMU, 8 PCMA, 18 G729) are known. */
int sdpmini_find(const struct sdpmini *sdp, const char *name);

#endif
