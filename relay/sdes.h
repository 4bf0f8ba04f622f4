/* sdes.h - SRTP keying by SDES (RFC 4568) during offer/answer: decides per
 * media whether each leg speaks RTP or SRTP, creates the SRTP contexts and
 * installs them as the leg's stages, and adds/removes a=crypto in the SDP
 * sent onwards. Control thread only.
 */
#ifndef RG_SDES_H
#define RG_SDES_H

#include <stdbool.h>
#include <stddef.h>

struct rg_daemon;
struct call;
struct ng_request;
struct sdp_session;
struct sdp_media_rewrite;
struct call_sdes;

/* sdp came from leg from_leg (the offerer when is_offer, else the
 * answerer); mr[] describes the SDP about to be sent to the other leg and
 * may be amended (proto, drop_crypto, add_attrs). Strings put into mr must
 * live in c->sdes until the next call. 0, or negative with a reason. */
int sdes_negotiate(struct rg_daemon *d, struct call *c, const struct ng_request *rq,
		   const struct sdp_session *sdp, int from_leg, bool is_offer,
		   struct sdp_media_rewrite *mr, char *err, size_t errlen);
void sdes_call_free(struct call_sdes *s);

#endif
