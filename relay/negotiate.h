/* negotiate.h - codec negotiation during offer/answer: applies the ng
 * `codec` instructions (strip, mask, transcode, offer, except, accept,
 * consume, set) and flags, decides per media and direction whether a
 * transcoder is needed, writes the codec lists of the SDP sent onwards,
 * and installs transcoders as stages. Control thread only.
 */
#ifndef RG_NEGOTIATE_H
#define RG_NEGOTIATE_H

#include <stdbool.h>
#include <stddef.h>

struct rg_daemon;
struct call;
struct ng_request;
struct sdp_session;
struct sdp_media_rewrite;
struct call_codecs;

/* Same contract as sdes_negotiate() (sdes.h): sdp came from from_leg, mr[]
 * is the SDP about to go to the other leg; codec lists and ptime may be
 * set in it. Strings/arrays put into mr live in c->codecs. */
int codecs_negotiate(struct rg_daemon *d, struct call *c, const struct ng_request *rq,
		     const struct sdp_session *sdp, int from_leg, bool is_offer,
		     struct sdp_media_rewrite *mr, char *err, size_t errlen);
void codecs_call_free(struct call_codecs *s);
/* After the answer's SDP is written: drops the state of a call that is not
 * transcoded. */
void codecs_answer_done(struct call *c);
/* "PCMU>opus" when the media is transcoded (offerer's codec first), else NULL. */
const char *codecs_pair(const struct call *c, int media);

#endif
