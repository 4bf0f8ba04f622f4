/* rtp.c - validating RTP header parser and header writer.
 *
 * The relay calls rtp_parse() on every packet it receives before it looks at
 * any field, so everything here is bounds-checked against the datagram length
 * and nothing is assumed about alignment: fields are read byte by byte in
 * network order. There is no state and no allocation; the parsed struct only
 * points into the caller's buffer. rtp_classify() is the first demux step on
 * a port that may carry RTP, RTCP, STUN and DTLS together.
 */
#include "rtp.h"

#include <errno.h>
#include <string.h>

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int rtp_parse(struct rtp_hdr *h, const uint8_t *pkt, size_t len)
{
	if (!pkt || len < RTP_HEADER_MIN)
		return -EMSGSIZE;
	if ((pkt[0] >> 6) != RTP_VERSION)
		return -EPROTONOSUPPORT;

	h->padding = (pkt[0] & 0x20) != 0;
	h->extension = (pkt[0] & 0x10) != 0;
	h->cc = pkt[0] & 0x0f;
	h->marker = (pkt[1] & 0x80) != 0;
	h->pt = pkt[1] & 0x7f;
	h->seq = rd16(pkt + 2);
	h->ts = rd32(pkt + 4);
	h->ssrc = rd32(pkt + 8);

	size_t off = RTP_HEADER_MIN + 4u * h->cc;
	if (off > len)
		return -EMSGSIZE;

	h->ext_profile = 0;
	h->ext = NULL;
	h->ext_len = 0;
	if (h->extension) {
		if (off + 4 > len)
			return -EMSGSIZE;
		h->ext_profile = rd16(pkt + off);
		h->ext_len = 4u * rd16(pkt + off + 2);
		off += 4;
		if (h->ext_len > len - off)
			return -EMSGSIZE;
		h->ext = pkt + off;
		off += h->ext_len;
	}
	h->header_len = off;

	size_t body = len - off;
	h->pad_len = 0;
	if (h->padding) {
		uint8_t pad = pkt[len - 1];
		/* The count includes itself, so it is at least 1, and the
		 * padding lies after the header. */
		if (pad == 0 || pad > body)
			return -EBADMSG;
		h->pad_len = pad;
		body -= pad;
	}
	h->payload = pkt + off;
	h->payload_len = body;
	return 0;
}

const char *rtp_strerror(int err)
{
	switch (err) {
	case 0: return "ok";
	case -EMSGSIZE: return "RTP packet truncated";
	case -EPROTONOSUPPORT: return "not RTP version 2";
	case -EBADMSG: return "bad RTP padding";
	case -ENOBUFS: return "buffer too small";
	default: return "unknown RTP error";
	}
}

int rtp_write_header(uint8_t *buf, size_t cap, uint8_t pt, bool marker,
		     uint16_t seq, uint32_t ts, uint32_t ssrc)
{
	if (!buf || cap < RTP_HEADER_MIN)
		return -ENOBUFS;
	buf[0] = RTP_VERSION << 6;
	buf[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
	rtp_set_seq(buf, seq);
	rtp_set_ts(buf, ts);
	rtp_set_ssrc(buf, ssrc);
	return RTP_HEADER_MIN;
}

int rtp_write_packet(uint8_t *buf, size_t cap, uint8_t pt, bool marker,
		     uint16_t seq, uint32_t ts, uint32_t ssrc,
		     const void *payload, size_t payload_len)
{
	if (!buf || cap < RTP_HEADER_MIN || payload_len > cap - RTP_HEADER_MIN
	    || payload_len > (size_t)0x7fffffff - RTP_HEADER_MIN)
		return -ENOBUFS;
	rtp_write_header(buf, cap, pt, marker, seq, ts, ssrc);
	if (payload_len)
		memmove(buf + RTP_HEADER_MIN, payload, payload_len);
	return (int)(RTP_HEADER_MIN + payload_len);
}

bool rtp_is_rtcp(const uint8_t *pkt, size_t len)
{
	return pkt && len >= 2 && pkt[1] >= 192 && pkt[1] <= 223;
}

enum rtp_kind rtp_classify(const uint8_t *pkt, size_t len)
{
	if (!pkt || len < 2)
		return RTP_KIND_UNKNOWN;
	uint8_t b = pkt[0];
	if (b <= 3)
		return len >= 20 ? RTP_KIND_STUN : RTP_KIND_UNKNOWN;
	if (b >= 20 && b <= 63)
		return RTP_KIND_DTLS;
	if (b >= 128 && b <= 191) {
		if (rtp_is_rtcp(pkt, len))
			return len >= 8 ? RTP_KIND_RTCP : RTP_KIND_UNKNOWN;
		return len >= RTP_HEADER_MIN ? RTP_KIND_RTP : RTP_KIND_UNKNOWN;
	}
	return RTP_KIND_UNKNOWN;
}
