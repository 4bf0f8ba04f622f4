/* rtp.h - RTP header parsing and building (RFC 3550), RTP/RTCP demux (RFC 5761).
 *
 * Pure functions over caller-owned bytes: no allocation, no I/O, no state.
 * Any thread may call them; they are meant for the packet path.
 *
 * rtp_parse() validates a packet and fills a struct rtp_hdr whose pointers
 * point into the caller's buffer (valid as long as that buffer is).
 * Errors are negative errno values:
 *   -EMSGSIZE         shorter than 12 bytes, or the CSRC list or the header
 *                     extension runs past the end of the packet
 *   -EPROTONOSUPPORT  version field is not 2
 *   -EBADMSG          padding bit set but the padding count is 0 or larger
 *                     than what follows the header
 * The writers return the number of bytes written or -ENOBUFS when `cap` is
 * too small, and write nothing in that case.
 */
#ifndef RG_RTP_H
#define RG_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTP_VERSION    2
#define RTP_HEADER_MIN 12   /* fixed header, no CSRC, no extension */
#define RTP_MAX_CSRC   15

struct rtp_hdr {
	uint8_t pt;              /* payload type, 0..127 */
	bool marker;
	bool padding;            /* P bit was set (pad_len bytes removed) */
	uint8_t cc;              /* CSRC count */
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	bool extension;          /* X bit */
	uint16_t ext_profile;    /* "defined by profile" word, e.g. 0xBEDE */
	const uint8_t *ext;      /* extension body (after its 4-byte header) */
	size_t ext_len;          /* bytes, a multiple of 4 */
	size_t header_len;       /* 12 + 4*cc + (4 + ext_len if extension) */
	const uint8_t *payload;  /* first payload byte */
	size_t payload_len;      /* without padding */
	uint8_t pad_len;         /* 0 unless padding */
};

/* Validates `pkt` as one RTP packet and fills *h. Returns 0 or a negative
 * errno (see above); *h is unspecified on failure. */
int rtp_parse(struct rtp_hdr *h, const uint8_t *pkt, size_t len);
const char *rtp_strerror(int err);

/* Writes a 12-byte header (V=2, no padding, extension or CSRC) to buf.
 * Returns 12 or -ENOBUFS. */
int rtp_write_header(uint8_t *buf, size_t cap, uint8_t pt, bool marker,
		     uint16_t seq, uint32_t ts, uint32_t ssrc);
/* Writes header + payload; returns the packet length or -ENOBUFS. */
int rtp_write_packet(uint8_t *buf, size_t cap, uint8_t pt, bool marker,
		     uint16_t seq, uint32_t ts, uint32_t ssrc,
		     const void *payload, size_t payload_len);

/* In-place rewrites of a packet already validated by rtp_parse(). They
 * touch only their field (rtp_set_pt keeps the marker bit). */
static inline void rtp_set_pt(uint8_t *pkt, uint8_t pt)
{ pkt[1] = (uint8_t)((pkt[1] & 0x80) | (pt & 0x7f)); }
static inline void rtp_set_marker(uint8_t *pkt, bool m)
{ pkt[1] = (uint8_t)((pkt[1] & 0x7f) | (m ? 0x80 : 0)); }
static inline void rtp_set_seq(uint8_t *pkt, uint16_t seq)
{ pkt[2] = (uint8_t)(seq >> 8); pkt[3] = (uint8_t)seq; }
static inline void rtp_set_ts(uint8_t *pkt, uint32_t ts)
{ pkt[4] = (uint8_t)(ts >> 24); pkt[5] = (uint8_t)(ts >> 16);
  pkt[6] = (uint8_t)(ts >> 8); pkt[7] = (uint8_t)ts; }
static inline void rtp_set_ssrc(uint8_t *pkt, uint32_t ssrc)
{ pkt[8] = (uint8_t)(ssrc >> 24); pkt[9] = (uint8_t)(ssrc >> 16);
  pkt[10] = (uint8_t)(ssrc >> 8); pkt[11] = (uint8_t)ssrc; }

/* What arrived on a (possibly muxed) media port. The first byte separates
 * STUN (0..3), DTLS (20..63) and RTP/RTCP (128..191), as in RFC 7983;
 * RTP and RTCP are told apart by the second byte (RFC 5761 section 4:
 * values 192..223, i.e. payload type 64..95 with the marker set, are RTCP). */
enum rtp_kind {
	RTP_KIND_UNKNOWN = 0,
	RTP_KIND_RTP,
	RTP_KIND_RTCP,
	RTP_KIND_STUN,
	RTP_KIND_DTLS,
};
enum rtp_kind rtp_classify(const uint8_t *pkt, size_t len);
/* True when the second byte falls in the RTCP range 192..223. Needs len >= 2. */
bool rtp_is_rtcp(const uint8_t *pkt, size_t len);

/* Sequence arithmetic: true when a comes after b (modulo 2^16). */
static inline bool rtp_seq_after(uint16_t a, uint16_t b)
{ return a != b && (uint16_t)(a - b) < 0x8000; }

#endif
