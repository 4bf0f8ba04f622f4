/* ng.h - the ng control protocol's framing and request decoding.
 *
 * A request arrives as bytes (a UDP datagram "<cookie> <body>", or a bare
 * body read from a UNIX stream socket). ng_frame_split() finds the cookie and
 * the body; the body is decoded with bencode_decode()/json_decode() (see
 * bencode.h); ng_request_decode() then reads the decoded dictionary into a
 * struct ng_request that the command handlers use.
 *
 * Ownership and threads: nothing here allocates or keeps state. A struct
 * ng_frame points into the caller's buffer; a struct ng_request points into
 * the bval tree it was decoded from and is valid only while that tree lives.
 * Any thread may call these functions.
 */
#ifndef RG_NG_H
#define RG_NG_H

#include <stdbool.h>
#include <stddef.h>

#include "bencode.h"

enum ng_cmd {
	NG_CMD_UNKNOWN = 0,
	NG_PING,
	NG_OFFER,
	NG_ANSWER,
	NG_DELETE,
	NG_QUERY,
	NG_LIST,
	NG_STATISTICS,
	NG_DRAIN,           /* rtpgate's own: refuse new offers, exit when no call is left */
	NG_CMD__COUNT
};

/* The wire name ("offer"), or "unknown" for NG_CMD_UNKNOWN/out of range. */
const char *ng_cmd_name(enum ng_cmd c);
/* The command for a wire name (matched loosely, see bval_get_loose), or
 * NG_CMD_UNKNOWN. */
enum ng_cmd ng_cmd_lookup(const char *name);

enum ng_enc { NG_ENC_BENCODE, NG_ENC_JSON };

struct ng_frame {
	const char *cookie;         /* NULL when there is none */
	size_t cookie_len;
	const char *body;
	size_t body_len;
	enum ng_enc enc;            /* JSON when the body starts with '{' */
};

#define NG_MAX_COOKIE 255

/* Splits a request into optional cookie and body; f points into buf.
 * If buf starts with 'd' or '{' and the whole of it decodes as one bencode
 * or JSON value (JSON may be followed by white space), there is no cookie.
 * Otherwise the cookie is everything before the first space (1 to
 * NG_MAX_COOKIE printable, non-space bytes) and the body is the rest, which
 * must not be empty. Returns 0, or -EINVAL when there is no usable cookie
 * or body (f is then untouched). The body itself is not checked here. */
int ng_frame_split(const char *buf, size_t len, struct ng_frame *f);

#define NG_MAX_LIST 32

/* Up to NG_MAX_LIST strings; pointers into the bval tree. */
struct ng_strlist {
	const char *v[NG_MAX_LIST];
	int n;
};

/* Bits of ng_request.flags: bare words in "flags" (matched loosely:
 * "trust-address", "trust address" and "TRUST_ADDRESS" are one word). */
enum {
	NG_F_TRUST_ADDRESS      = 1u << 0,   /* "trust address" */
	NG_F_SIP_SOURCE_ADDRESS = 1u << 1,   /* "SIP source address" */
	NG_F_STRICT_SOURCE      = 1u << 2,   /* "strict source" */
	NG_F_PORT_LATCHING      = 1u << 3,   /* "port latching" */
	NG_F_NO_PORT_LATCHING   = 1u << 4,   /* "no port latching" */
	NG_F_ALWAYS_TRANSCODE   = 1u << 5,   /* "always transcode" */
	NG_F_SYMMETRIC_CODECS   = 1u << 6,   /* "symmetric codecs" */
	NG_F_ASYMMETRIC_CODECS  = 1u << 7,   /* "asymmetric codecs" */
	NG_F_RECORD_CALL        = 1u << 8,   /* "record call" */
	NG_F_FATAL              = 1u << 9,   /* "fatal" */
	NG_F_NO_RTCP_ATTRIBUTE  = 1u << 10,  /* "no rtcp attribute" */
	NG_F_FULL_RTCP_ATTRIBUTE = 1u << 11, /* "full rtcp attribute" */
	NG_F_LOOP_PROTECT       = 1u << 12,  /* "loop protect" */
	NG_F_ICE_REMOVE         = 1u << 13,  /* set whenever ice == NG_ICE_REMOVE */
	NG_F_MEDIA_HANDOVER     = 1u << 14,  /* "media handover" */
	NG_F_ORIGINAL_SENDRECV  = 1u << 15,  /* "original sendrecv" */
	NG_F_ASYMMETRIC         = 1u << 16,  /* "asymmetric" */
	NG_F_UNIDIRECTIONAL     = 1u << 17,  /* "unidirectional" */
	NG_F_RESET              = 1u << 18,  /* "reset" */
	NG_F_ALL                = 1u << 19,  /* "all" (delete/query: all calls) */
	NG_F_SINGLE_CODEC       = 1u << 20,  /* "single codec" */
	NG_F_NO_CODEC_RENEGOTIATION = 1u << 21, /* "no codec renegotiation" */
	NG_F_ALLOW_TRANSCODING  = 1u << 22,  /* "allow transcoding" */
	NG_F_PIERCE_NAT         = 1u << 23,  /* "pierce NAT" */
	NG_F_STRIP_EXTMAP       = 1u << 24,  /* "strip extmap" */
	NG_F_GENERATE_MID       = 1u << 25,  /* "generate mid" */
};

/* Bits of ng_request.replace: items of "replace" or words "replace-X". */
enum {
	NG_REPLACE_ORIGIN             = 1u << 0,  /* "origin" */
	NG_REPLACE_SESSION_CONNECTION = 1u << 1,  /* "session connection" */
	NG_REPLACE_SDP_VERSION        = 1u << 2,  /* "sdp version" */
	NG_REPLACE_USERNAME           = 1u << 3,  /* "username" */
	NG_REPLACE_SESSION_NAME       = 1u << 4,  /* "session name" */
	NG_REPLACE_ZERO_ADDRESS       = 1u << 5,  /* "zero address" */
	NG_REPLACE_FORCE_INCREMENT_SDP_VER = 1u << 6, /* "force increment sdp ver" */
};

/* Bits of ng_request.rtcp_mux: items of "rtcp-mux" or words "rtcp-mux-X". */
enum {
	NG_RTCPMUX_OFFER   = 1u << 0,
	NG_RTCPMUX_ACCEPT  = 1u << 1,
	NG_RTCPMUX_DEMUX   = 1u << 2,
	NG_RTCPMUX_REJECT  = 1u << 3,
	NG_RTCPMUX_REQUIRE = 1u << 4,
};

/* ng_request.ice, from "ICE": "remove" (or a flag word "ICE=remove"). */
enum { NG_ICE_DEFAULT = 0, NG_ICE_REMOVE, NG_ICE_FORCE, NG_ICE_OTHER };

struct ng_request {
	enum ng_cmd cmd;
	const char *command;        /* as received; NULL if absent */
	const char *call_id, *from_tag, *to_tag, *via_branch, *label,
		*transport_protocol, *media_address, *address_family;
	const char *sdp;
	size_t sdp_len;
	const char *received_from_family, *received_from_addr; /* ["IP4","1.2.3.4"] */
	bool supports_load_limit;   /* "supports" holds "load limit" */
	unsigned flags, replace, rtcp_mux;
	int ice;
	struct ng_strlist other_flags;  /* words not understood, for logging;
					   silently cut at NG_MAX_LIST */
	struct ng_strlist direction, sdes;
	long ptime, tos, delete_delay;  /* -1 when absent */
	struct {
		struct ng_strlist strip, mask, transcode, offer, except, accept,
			consume, set;
	} codec;
};

/* Fills req from a decoded request dictionary. Keys are matched loosely and
 * unknown keys are ignored. Values: strings for the string fields; numbers
 * as integers or decimal strings; lists may be given as a single string.
 * Words in "flags": codec-<op>-X (op: strip, mask, transcode, offer, except,
 * accept, consume, set) and transcode-X go to req->codec; replace-X,
 * rtcp-mux-X, SDES-X and ICE-X are honoured like the keys; key=value words
 * (ptime=20, delete-delay=5, label=x, ...) are honoured like the keys (and
 * override them when they come later); transport protocols (RTP/AVP, ...)
 * set transport_protocol; known bare words set bits of req->flags; anything
 * else lands in req->other_flags.
 * Missing keys are not checked here (that is the command handler's job).
 * Returns 0 (also for an unknown command: cmd = NG_CMD_UNKNOWN), or -EINVAL
 * with an English reason in err (e.g. "'command' is not a string", "too many
 * entries in codec.strip"); req is then only partly filled. */
int ng_request_decode(const struct bval *dict, struct ng_request *req,
		      char *err, size_t errlen);

#endif
