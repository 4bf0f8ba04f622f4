/* sdes.c - placeholder: SDES negotiation is being written (issue 6).
 * Until then a=crypto lines pass through untouched and every leg is RTP. */
#include "sdes.h"

int sdes_negotiate(struct rg_daemon *d, struct call *c, const struct ng_request *rq,
		   const struct sdp_session *sdp, int from_leg, bool is_offer,
		   struct sdp_media_rewrite *mr, char *err, size_t errlen)
{
	(void)d; (void)c; (void)rq; (void)sdp; (void)from_leg; (void)is_offer;
	(void)mr; (void)err; (void)errlen;
	return 0;
}

void sdes_call_free(struct call_sdes *s) { (void)s; }
