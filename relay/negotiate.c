/* negotiate.c - placeholder: codec negotiation is being written (issue 3).
 * Until then codecs pass through untouched and nothing is transcoded. */
#include "negotiate.h"

int codecs_negotiate(struct rg_daemon *d, struct call *c, const struct ng_request *rq,
		     const struct sdp_session *sdp, int from_leg, bool is_offer,
		     struct sdp_media_rewrite *mr, char *err, size_t errlen)
{
	(void)d; (void)c; (void)rq; (void)sdp; (void)from_leg; (void)is_offer;
	(void)mr; (void)err; (void)errlen;
	return 0;
}

void codecs_call_free(struct call_codecs *s) { (void)s; }
