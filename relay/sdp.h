/* sdp.h - SDP (RFC 8866) parsing and rewriting for offer/answer.
 *
 * sdp_parse() checks and copies an SDP body and gives a read-only view of
 * what a relay needs: per m= line the media type, port, transport protocol,
 * formats and codecs, the effective connection address, RTCP port/mux,
 * direction, ptime, ICE presence and a=crypto lines. sdp_rewrite() then
 * writes a new body from that parse: the relay's address in every c= line,
 * new ports, protocol, codec list, rtcp/rtcp-mux/ptime lines, optional ICE
 * and a=crypto removal. Every line it does not understand is copied byte for
 * byte in its place.
 *
 * Limits (hostile input): a body of at most SDP_MAX_SIZE bytes, lines of at
 * most SDP_MAX_LINE bytes, SDP_MAX_MEDIA m= lines, SDP_MAX_FMT formats per
 * m= line. Over a limit, a NUL or another control byte (anything below 0x20
 * but TAB, and 0x7f), a CR that does not end a line, a malformed line the
 * relay relies on: sdp_parse() fails with -EINVAL and an error text naming
 * the problem and the line ("line 5: m= line has no port"). So does a
 * second c= in one section, a second a=rtpmap/a=fmtp for one payload type,
 * a second a=rtcp, a payload type above 127 under an RTP protocol, and an
 * m= section left without any c= (unless its port is 0). Error reasons are
 * printable ASCII (other bytes of quoted input become '?').
 *
 * Ownership and threads: sdp_parse() allocates the session, the caller frees
 * it with sdp_free(). Everything returned by the accessors points into the
 * session and lives as long as it. Parsing and rewriting allocate, so they
 * belong on the control thread; a parsed session is never modified, so it may
 * be read from several threads at once. A session holds a copy of the body
 * plus about 13 KB per m= line.
 */
#ifndef RG_SDP_H
#define RG_SDP_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define SDP_MAX_MEDIA 16     /* m= lines per body */
#define SDP_MAX_FMT   32     /* formats per m= line */
#define SDP_MAX_CRYPTO 8     /* a=crypto lines per m= line */
#define SDP_MAX_LINE  4096   /* bytes per line, without the line end */
#define SDP_MAX_SIZE  65536  /* bytes per body */

/* One RTP payload type: from a=rtpmap/a=fmtp, or from the static table of
 * RFC 3551 (0 PCMU/8000, 8 PCMA/8000, 18 G729/8000, ...) when the body has
 * no a=rtpmap for it. A dynamic PT without a=rtpmap has name "" and clock 0.
 * channels is 1 for audio when not written, 0 for other media. */
struct sdp_codec {
	int pt;
	char name[32];
	int clock;
	int channels;
	char fmtp[256];
};

enum sdp_dir { SDP_DIR_NONE, SDP_SENDRECV, SDP_SENDONLY, SDP_RECVONLY, SDP_INACTIVE };

struct sdp_media {
	char type[16];            /* audio, video, application ... */
	int port, num_ports;      /* m=audio PORT[/N]; num_ports 1 when no /N */
	char proto[32];           /* RTP/AVP, RTP/SAVP, UDP/TLS/RTP/SAVPF ... */
	int nfmt;
	char fmt[SDP_MAX_FMT][32];  /* format tokens as written ("webrtc-datachannel") */
	struct sdp_codec codecs[SDP_MAX_FMT];  /* m= order, numeric PTs 0-127 only */
	int ncodecs;
	char addr[64];            /* effective connection address: media c=, else
	                             session c=; "" only for a rejected (port 0)
	                             stream without any c= */
	int family;               /* AF_INET / AF_INET6 (0 with addr "") */
	bool media_conn;          /* addr came from a media-level c= */
	int rtcp_port;            /* from a=rtcp, 0 when absent */
	char rtcp_addr[64];       /* from a=rtcp:PORT IN IP4 ADDR, "" when absent */
	int rtcp_family;          /* AF_INET / AF_INET6 with rtcp_addr, else 0 */
	bool rtcp_mux;            /* a=rtcp-mux present */
	bool has_ice;             /* ICE ufrag/pwd/candidate/ice-lite here or at session level */
	enum sdp_dir dir;         /* media-level direction, else session-level, else NONE */
	int ptime, maxptime;      /* ms, 0 when absent (fractions are cut off) */
	int ncrypto;
	char crypto[SDP_MAX_CRYPTO][256];  /* a=crypto values, raw */
	char mid[32];             /* a=mid value, "" when absent */
	bool has_fingerprint;     /* a=fingerprint (DTLS-SRTP) here or at session level */
};

struct sdp_session;

/* Parses len bytes of text (need not be NUL-terminated; never read past
 * len). CRLF and bare LF line ends are accepted, empty lines are skipped
 * (and not written back by sdp_rewrite). Returns 0 with *out set, or -EINVAL
 * with a reason in err (always NUL-terminated when errlen > 0) and *out NULL,
 * or -ENOMEM. */
int sdp_parse(const char *text, size_t len, struct sdp_session **out,
	char *err, size_t errlen);
void sdp_free(struct sdp_session *s);   /* NULL is fine */
/* The same, parsing into the caller's allocation *io (NULL the first time)
 * when it is large enough, else into a new one that replaces it: a thread
 * that parses one body at a time (the control thread) pays no malloc per
 * body. *io is the caller's to keep (and sdp_free at the end) whatever the
 * result; on failure its content is not a session. */
int sdp_parse_reuse(const char *text, size_t len, struct sdp_session **io,
	char *err, size_t errlen);

int sdp_media_count(const struct sdp_session *s);
/* NULL when i is out of range. */
const struct sdp_media *sdp_media_get(const struct sdp_session *s, int i);
/* Session-level c= address, or NULL when there is none. */
const char *sdp_session_addr(const struct sdp_session *s);
int sdp_session_family(const struct sdp_session *s);   /* 0 without session c= */
/* Session-level direction attribute (SDP_DIR_NONE when absent). */
enum sdp_dir sdp_session_dir(const struct sdp_session *s);
/* Session-level ICE attributes (ice-ufrag, ice-pwd, ice-lite) present. */
bool sdp_session_has_ice(const struct sdp_session *s);
/* o= address as written (may be a host name), or NULL without o=. */
const char *sdp_origin_addr(const struct sdp_session *s);

/* "sendrecv", "sendonly", "recvonly", "inactive", or "" for NONE. */
const char *sdp_dir_name(enum sdp_dir d);
/* Fills c from the RFC 3551 static payload type table; false when pt is not
 * in it (dynamic or unassigned). */
bool sdp_static_codec(int pt, struct sdp_codec *c);

struct sdp_media_rewrite {
	int port;               /* new m= port; 0 rejects the stream (m=... 0 ...);
	                           a /N port count is not written */
	int rtcp_port;          /* write a=rtcp:<port> (with " IN IP4 <relay addr>"
	                           when the original had an address); 0 = write no
	                           a=rtcp line */
	bool rtcp_mux;          /* true: a=rtcp-mux present in the output, false: removed */
	const char *proto;      /* replace the transport protocol, NULL keeps it */
	const struct sdp_codec *codecs;  /* when not NULL: m= lists exactly these
	                           PTs in this order (ncodecs >= 1) and a=rtpmap /
	                           a=fmtp lines are written from them; the original
	                           a=rtpmap/a=fmtp lines of all PTs are dropped and
	                           a=rtcp-fb is kept only for listed PTs and '*'.
	                           a=rtpmap is written when name and clock are set,
	                           a=fmtp when fmtp is not empty. */
	int ncodecs;
	int ptime;              /* >0: a=ptime written/replaced; 0: kept as is */
	bool drop_crypto;       /* remove a=crypto lines */
	const char *const *add_attrs;  /* extra "name:value" lines appended to the
	                           media section as a=name:value */
	int nadd;
	enum sdp_dir dir;       /* SDP_DIR_NONE keeps the direction lines as they
	                           are; otherwise media-level direction lines are
	                           replaced by this one (written in place of the
	                           first, or appended) */
};

struct sdp_rewrite {
	const char *addr;       /* relay address written into every c= line */
	int family;             /* AF_INET or AF_INET6, must match addr */
	bool replace_origin;    /* o= address type and address replaced */
	bool replace_session_name;  /* s= replaced with "rtpgate" */
	bool ice_remove;        /* drop a=ice-ufrag/ice-pwd/ice-options/ice-lite/
	                           ice-mismatch/ice-pacing/candidate/
	                           remote-candidates/end-of-candidates everywhere */
	const char *const *drop_attrs;  /* attribute names (no "a=", no ':'), e.g.
	                           "fingerprint", "setup", "ssrc": their lines are
	                           removed at session and media level before
	                           anything else; a line an option would have
	                           replaced in place is then appended instead */
	int ndrop;
	int nmedia;             /* must equal sdp_media_count(s) */
	const struct sdp_media_rewrite *media;  /* one per m= line, same order */
};

/* Appends the rewritten body to out, CRLF line ends; the o= version is not
 * bumped. Every c= line (session and media level) gets the relay address;
 * none is added at session level when the body had none there (each media
 * section then has its own). Where new lines go:
 * - the codec block (a=rtpmap, a=fmtp per codec) before the first a= line
 *   of the media section;
 * - a=rtcp, a=rtcp-mux, a=ptime and direction lines in place of the first
 *   original one (further originals dropped); when there is none, at the
 *   end of the media section in the order a=rtcp, a=rtcp-mux, a=ptime,
 *   direction, then add_attrs;
 * - a media section that had no c= of its own and no session-level c= to
 *   inherit (only a rejected stream can) gets a c= line right after m= and
 *   any i= when its new port is not 0.
 * Returns 0, -EINVAL (bad rewrite arguments, reason in err, out untouched)
 * or -ENOMEM (out is then in its oom state). */
int sdp_rewrite(const struct sdp_session *s, const struct sdp_rewrite *rw,
	struct rg_buf *out, char *err, size_t errlen);

#endif
