/* stream.c - the packet path: receive on a stream's socket, check the
 * source, forward through the other leg's socket.
 *
 * Runs only on the session's worker. It neither locks nor allocates: the
 * receive and send vectors are the worker's own, counters are single-writer
 * relaxed atomics. One readable event drains the socket in batches of
 * WORKER_BATCH with recvmmsg(); the packets of a batch that go out through
 * the same socket leave in one sendmmsg().
 *
 * The latching rule (README "Latching"):
 *   1. A packet from exactly the address in the leg's SDP (IP and port) is
 *      always accepted; the stream latches to it for good (CONFIRMED).
 *   2. Until then, a packet from the SDP's IP with another port (a NAT that
 *      rewrote the port) is accepted and the stream latches to that source
 *      (LEARNED), but only if nothing is latched yet and the leg did not ask
 *      for strict-source. A LEARNED latch may still move to the exact SDP
 *      address (rule 1), nowhere else.
 *   3. Everything else is dropped and counted as drop_source: it never
 *      reaches the other leg and never moves a latch. Before the leg's SDP
 *      is known (no answer yet) nothing from that leg is accepted.
 * Towards a leg, rtpgate sends from the port it advertised to that leg, to
 * the latched address, or to the SDP address while nothing is latched.
 */
#include <errno.h>
#include <sys/socket.h>

#include "log.h"
#include "session.h"
#include "worker.h"

#define CNT_ADD(var, n) atomic_store_explicit(&(var), \
	atomic_load_explicit(&(var), memory_order_relaxed) + (n), memory_order_relaxed)
#define CNT_SET(var, v) atomic_store_explicit(&(var), (v), memory_order_relaxed)

enum pkt_kind { PKT_BAD, PKT_RTP, PKT_RTCP };

static enum pkt_kind classify(const struct mstream *s, const uint8_t *p, unsigned len)
{
	if (len < 8 || (p[0] >> 6) != 2)
		return PKT_BAD;
	/* RFC 5761: on a muxed port, payload types 64-95 (marker bit aside) are RTCP 192-223 */
	bool rtcp = s->comp == COMP_RTCP || (p[1] >= 192 && p[1] <= 223);
	if (rtcp)
		return p[1] >= 192 && p[1] <= 223 ? PKT_RTCP : PKT_BAD;
	return len >= 12 ? PKT_RTP : PKT_BAD;
}

static bool source_ok(struct mstream *s, const union rg_addr *src)
{
	if (!addr_is_set(&s->expect))
		return false;
	if (s->latch == LATCH_CONFIRMED)
		return addr_equal(src, &s->latched);
	if (addr_equal(src, &s->expect)) {
		s->latched = *src;
		s->latch = LATCH_CONFIRMED;
		return true;
	}
	if (s->latch == LATCH_LEARNED)
		return addr_equal(src, &s->latched);
	if (!s->strict && addr_same_ip(src, &s->expect)) {
		s->latched = *src;
		s->latch = LATCH_LEARNED;
		return true;
	}
	return false;
}

static void flush(struct worker *w, struct mstream *out, int n)
{
	int sent = 0;
	while (sent < n) {
		int r = sendmmsg(out->fd, w->smsg + sent, (unsigned)(n - sent), MSG_DONTWAIT);
		CNT_ADD(w->stats.send_calls, 1);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			/* EAGAIN or a hard error: these packets are lost, counted */
			CNT_ADD(out->c.send_errors, (uint64_t)(n - sent));
			CNT_ADD(w->stats.send_errors, (uint64_t)(n - sent));
			break;
		}
		for (int i = sent; i < sent + r; i++) {
			CNT_ADD(out->c.pkts_out, 1);
			CNT_ADD(out->c.bytes_out, w->siov[i].iov_len);
		}
		sent += r;
	}
}

void stream_on_readable(uv_poll_t *h, int status, int events)
{
	struct mstream *s = h->data;
	struct msession *ms = s->ms;
	struct worker *w = ms->w;
	(void)events;
	if (status < 0)
		return;

	/* bounded rounds: a flooded port cannot starve the other sessions */
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < WORKER_BATCH; i++)
			w->rmsg[i].msg_hdr.msg_namelen = sizeof(union rg_addr);
		int n = recvmmsg(s->fd, w->rmsg, WORKER_BATCH, MSG_DONTWAIT, NULL);
		CNT_ADD(w->stats.recv_calls, 1);
		if (n <= 0)
			return;
		uint64_t now = uv_now(&w->loop);
		struct mstream *out = NULL;
		int nsend = 0;
		uint64_t relayed = 0, bytes = 0, rtcp = 0;
		for (int i = 0; i < n; i++) {
			unsigned len = w->rmsg[i].msg_len;
			const uint8_t *p = w->rbuf[i];
			enum pkt_kind kind = classify(s, p, len);
			if (kind == PKT_BAD || (w->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC)) {
				CNT_ADD(s->c.drop_malformed, 1);
				CNT_ADD(w->stats.drop_malformed, 1);
				continue;
			}
			if (!source_ok(s, &w->rsrc[i])) {
				CNT_ADD(s->c.drop_source, 1);
				CNT_ADD(w->stats.drop_source, 1);
				LOG_RL(LOG_INFO, "media", ms->call_id,
				       "dropped packet on port %u from a source that is not the party",
				       s->port);
				continue;
			}
			/* RTCP muxed on the RTP port is counted on the RTCP stream */
			struct mstream *cs = kind == PKT_RTCP && s->comp == COMP_RTP
				? msession_stream(ms, s->leg, s->media, COMP_RTCP) : s;
			CNT_ADD(cs->c.pkts_in, 1);
			CNT_ADD(cs->c.bytes_in, len);
			CNT_SET(s->c.last_in_ms, now);

			struct mstream *prtp = msession_stream(ms, !s->leg, s->media, COMP_RTP);
			struct mstream *o = kind == PKT_RTP || prtp->mux ? prtp
				: msession_stream(ms, !s->leg, s->media, COMP_RTCP);
			const union rg_addr *dst = mstream_dest(o);
			if (o->fd < 0 || !addr_is_set(dst)) {
				CNT_ADD(s->c.drop_nopeer, 1);
				CNT_ADD(w->stats.drop_nopeer, 1);
				continue;
			}
			if (out && out != o) {
				flush(w, out, nsend);
				nsend = 0;
			}
			out = o;
			w->sdst[nsend] = *dst;
			w->smsg[nsend].msg_hdr.msg_namelen = addr_len(dst);
			w->siov[nsend].iov_base = w->rbuf[i];
			w->siov[nsend].iov_len = len;
			nsend++;
			relayed++;
			bytes += len;
			rtcp += kind == PKT_RTCP;
		}
		if (nsend)
			flush(w, out, nsend);
		CNT_ADD(w->stats.pkts_relayed, relayed);
		CNT_ADD(w->stats.bytes_relayed, bytes);
		CNT_ADD(w->stats.rtcp_relayed, rtcp);
		if (n < WORKER_BATCH)
			return;
	}
}
