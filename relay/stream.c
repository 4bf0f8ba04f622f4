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
 *      With the flag "asymmetric" a packet from the SDP's IP is accepted
 *      from any port and nothing is learned: rtpgate keeps sending to the
 *      SDP address.
 *   3. Everything else is dropped and counted as drop_source: it never
 *      reaches the other leg and never moves a latch. Before the leg's SDP
 *      is known (no answer yet) nothing from that leg is accepted.
 *   SRTP/SRTCP is authenticated (and replay-checked) between the cheap source
 *   check and the latch: a packet that fails never latches, counts or moves
 *   anything; it is dropped and counted as drop_auth.
 * Towards a leg, rtpgate sends from the port it advertised to that leg, to
 * the latched address, or to the SDP address while nothing is latched.
 */
#include <errno.h>
#include <sys/socket.h>

#include "kfwd.h"
#include "log.h"
#include "session.h"
#include "srtp.h"
#include "transcode.h"
#include "uring.h"
#include "worker.h"


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

enum verdict { V_REJECT, V_ACCEPT, V_CONFIRM, V_LEARN };

/* The latching rule of the file comment, without side effects. */
static enum verdict source_check(const struct mstream *s, const union rg_addr *src)
{
	if (!addr_is_set(&s->expect))
		return V_REJECT;
	if (s->latch == LATCH_CONFIRMED)
		return addr_equal(src, &s->latched) ? V_ACCEPT : V_REJECT;
	if (addr_equal(src, &s->expect))
		return V_CONFIRM;
	if (s->latch == LATCH_LEARNED)
		return addr_equal(src, &s->latched) ? V_ACCEPT : V_REJECT;
	if (!s->strict && addr_same_ip(src, &s->expect))
		return V_LEARN;
	return V_REJECT;
}

/* Returns true when the latch moved. */
static bool latch_commit(struct mstream *s, const union rg_addr *src, enum verdict v)
{
	/* an asymmetric party (rtpproxy's A, ng "asymmetric") receives where its
	 * SDP says, whatever port it sends from: nothing is learned */
	if (s->asym)
		return false;
	if (v == V_CONFIRM || v == V_LEARN) {
		s->latched = *src;
		s->latch = v == V_CONFIRM ? LATCH_CONFIRMED : LATCH_LEARNED;
		return true;
	}
	return false;
}

/* Packets waiting to leave through one socket (epoll mode; with io_uring
 * every send is its own submission entry and the ring batches them). */
struct txq {
	struct mstream *out;
	int n;
};

static void flush(struct worker *w, struct txq *q)
{
	int sent = 0, n = q->n;
	struct mstream *out = q->out;
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
	q->n = 0;
	q->out = NULL;
	w->nobuf = 0;   /* nothing refers to the worker's own buffers any more */
}

/* Protects (if the leg is SRTP) and queues one packet towards o's party.
 * cap: bytes from pkt to the end of its buffer. Returns true when the
 * packet was queued (with io_uring its buffer now belongs to the send). */
static bool queue_send(struct worker *w, struct txq *q, struct mstream *o, uint8_t *pkt,
		       size_t len, size_t cap, bool rtcp)
{
	const union rg_addr *dst = mstream_dest(o);
	struct mmedia *om = msession_media(o->ms, o->leg, o->media);
	if (om->srtp_tx) {
		int r = rtcp ? srtp_dir_protect_rtcp(om->srtp_tx, pkt, &len, cap)
			     : srtp_dir_protect_rtp(om->srtp_tx, pkt, &len, cap);
		if (r < 0) {
			CNT_ADD(o->c.send_errors, 1);
			CNT_ADD(w->stats.send_errors, 1);
			return false;
		}
	}
	if (w->ur) {
		if (!uring_send(w, o, pkt, len, dst)) {
			CNT_ADD(o->c.send_errors, 1);
			CNT_ADD(w->stats.send_errors, 1);
			return false;
		}
		CNT_ADD(o->c.pkts_out, 1);
		CNT_ADD(o->c.bytes_out, len);
		return true;
	}
	if (q->n && (q->out != o || q->n == WORKER_BATCH))
		flush(w, q);
	q->out = o;
	w->sdst[q->n] = *dst;
	w->smsg[q->n].msg_hdr.msg_namelen = addr_len(dst);
	w->siov[q->n].iov_base = pkt;
	w->siov[q->n].iov_len = len;
	q->n++;
	return true;
}

/* packets one input can give: the longest input (120 ms of Opus) cut into
 * the shortest output ptime (10 ms), plus one of our RTCP; more would only
 * wait in the transcoder, whose backlog is sized for what this lets out */
#define XC_OUT_MAX 13

static void transcode(struct worker *w, struct txq *q, struct mmedia *mm, struct mstream *o,
		      const uint8_t *pkt, size_t len, uint64_t now)
{
	uint8_t *outs[XC_OUT_MAX];
	size_t lens[XC_OUT_MAX];
	uint8_t kinds[XC_OUT_MAX];
	int nout = XC_OUT_MAX;
	if (w->ur) {
		for (nout = 0; nout < XC_OUT_MAX; nout++)
			if (!(outs[nout] = uring_txbuf_get(w)))
				break;
	} else {
		if (w->nobuf + XC_OUT_MAX > WORKER_BATCH && q->n)
			flush(w, q);
		for (int k = 0; k < XC_OUT_MAX; k++)
			outs[k] = w->obuf[w->nobuf + k];
	}
	size_t room = WORKER_PKT_MAX - WORKER_PKT_HEADROOM;
	int n = nout ? xcoder_rtp_in(mm->xc, pkt, len, now, outs, room, lens, nout, kinds) : -ENOBUFS;
	if (n < 0) {
		CNT_ADD(w->stats.drop_malformed, 1);
		n = 0;
	}
	if (!w->ur)
		w->nobuf += n;
	/* our own RTCP for that leg leaves by its RTCP port (the RTP one when muxed) */
	struct mstream *orc = o->mux ? o : msession_stream(o->ms, o->leg, o->media, COMP_RTCP);
	for (int k = 0; k < nout; k++) {
		bool queued = false;
		if (k < n && kinds[k] == XC_OUT_RTP) {
			CNT_ADD(w->stats.transcoded, 1);
			queued = queue_send(w, q, o, outs[k], lens[k], WORKER_PKT_MAX, false);
		} else if (k < n && orc->fd >= 0 && addr_is_set(mstream_dest(orc))) {
			queued = queue_send(w, q, orc, outs[k], lens[k], WORKER_PKT_MAX, true);
		}
		if (w->ur && !queued)
			uring_txbuf_put(w, outs[k]);
	}
}

bool stream_packet(struct worker *w, struct mstream *s, uint8_t *p, size_t len, size_t cap,
		   bool trunc, const union rg_addr *src, uint64_t now, struct txq *q)
{
	struct msession *ms = s->ms;
	struct mmedia *mm = msession_media(ms, s->leg, s->media);
	/* flood cap: after STREAM_STRANGER_CAP rejected packets in one second,
	 * only the party's exact address (latched or SDP) is looked at any
	 * more; the rest is counted and dropped before parsing or SRTP */
	uint32_t sec = (uint32_t)(now / 1000);
	if (s->rej_sec != sec) {
		s->rej_sec = sec;
		s->rej_n = 0;
	}
	if (s->rej_n >= STREAM_STRANGER_CAP && !addr_equal(src, &s->latched) &&
	    !addr_equal(src, &s->expect)) {
		CNT_ADD(s->c.drop_source, 1);
		CNT_ADD(w->stats.drop_source, 1);
		return false;
	}
	enum pkt_kind kind = classify(s, p, (unsigned)len);
	if (kind == PKT_BAD || trunc) {
		CNT_ADD(s->c.drop_malformed, 1);
		CNT_ADD(w->stats.drop_malformed, 1);
		return false;
	}
	enum verdict v = source_check(s, src);
	if (v == V_REJECT) {
		s->rej_n++;
		CNT_ADD(s->c.drop_source, 1);
		CNT_ADD(w->stats.drop_source, 1);
		LOG_RL(LOG_INFO, "media", ms->call_id,
		       "dropped packet on port %u from a source that is not the party", s->port);
		return false;
	}
	if (mm->srtp_rx) {
		int r = kind == PKT_RTCP ? srtp_dir_unprotect_rtcp(mm->srtp_rx, p, &len)
					 : srtp_dir_unprotect_rtp(mm->srtp_rx, p, &len);
		if (r < 0) {
			s->rej_n++;
			CNT_ADD(s->c.drop_auth, 1);
			CNT_ADD(w->stats.drop_auth, 1);
			LOG_RL(LOG_INFO, "media", ms->call_id, "dropped SRTP%s packet on port %u: %s",
			       kind == PKT_RTCP ? "C" : "", s->port, srtp_strerror(r));
			return false;
		}
	}
	bool latched = latch_commit(s, src, v);
	/* RTCP muxed on the RTP port is counted on the RTCP stream */
	struct mstream *cs = kind == PKT_RTCP && s->comp == COMP_RTP
		? msession_stream(ms, s->leg, s->media, COMP_RTCP) : s;
	CNT_ADD(cs->c.pkts_in, 1);
	CNT_ADD(cs->c.bytes_in, len);
	CNT_SET(s->c.last_in_ms, now);
	/* RTP the kernel passed up for the quality view to judge (another
	 * SSRC, a jump): the kernel's part of the view first */
	bool kf_rtp = s->kf_on && kind == PKT_RTP && s->comp == COMP_RTP;
	if (kf_rtp && quality_rebases(s, p, len))
		kfwd_stream_pull(w, s);
	bool rebased = quality_in(ms, s, kind == PKT_RTCP, p, len, now);
	/* with kernel forwarding, this direction and the one towards s's
	 * party may go to the kernel from the party's next packet on (this one
	 * leaves through the worker at the end of this pass), carrying on the
	 * quality view this packet left */
	if (w->kf && (latched || (kf_rtp && rebased)))
		kfwd_stream_sync(w, s, kf_rtp && rebased);

	struct mstream *prtp = msession_stream(ms, !s->leg, s->media, COMP_RTP);
	struct mstream *o = kind == PKT_RTP || prtp->mux ? prtp
		: msession_stream(ms, !s->leg, s->media, COMP_RTCP);
	if (o->fd < 0 || !addr_is_set(mstream_dest(o))) {
		CNT_ADD(s->c.drop_nopeer, 1);
		CNT_ADD(w->stats.drop_nopeer, 1);
		return false;
	}
	if (mm->xc) {
		/* a transcoded leg: rtpgate terminates its RTCP */
		if (kind == PKT_RTCP)
			xcoder_rtcp_in(mm->xc, p, len, now);
		else
			transcode(w, q, mm, o, p, len, now);
		return false;
	}
	if (kind == PKT_RTCP && msession_media(ms, !s->leg, s->media)->xc) {
		/* the other direction is transcoded: its RTCP would lie */
		xcoder_rtcp_in(msession_media(ms, !s->leg, s->media)->xc, p, len, now);
		return false;
	}
	if (!queue_send(w, q, o, p, len, cap, kind == PKT_RTCP))
		return false;
	CNT_ADD(w->stats.pkts_relayed, 1);
	CNT_ADD(w->stats.bytes_relayed, len);
	if (kind == PKT_RTCP)
		CNT_ADD(w->stats.rtcp_relayed, 1);
	return true;
}

void stream_on_readable(uv_poll_t *h, int status, int events)
{
	struct mstream *s = h->data;
	struct worker *w = s->ms->w;
	(void)events;
	if (status < 0)
		return;
	/* control messages queued before these packets were sent first
	 * (mailbox.h); one may end this very stream */
	if (mailbox_run(&w->mbox) && !s->active)
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
		struct txq q = { NULL, 0 };
		w->nobuf = 0;
		for (int i = 0; i < n; i++)
			stream_packet(w, s, w->rbuf[i], w->rmsg[i].msg_len, WORKER_PKT_MAX,
				      w->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC, &w->rsrc[i], now, &q);
		if (q.n)
			flush(w, &q);
		if (n < WORKER_BATCH)
			return;
	}
}
