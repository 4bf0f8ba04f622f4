/* rtpp.h - the rtpproxy control protocol (Kamailio's and OpenSIPS's
 * `rtpproxy` modules): a line parser, the command handlers, and its two
 * transports, a UNIX stream socket (one command per connection, no cookie)
 * and UDP ("<cookie> <command>", replies cached by source and cookie).
 *
 * Commands (first letter, case-insensitive; modifiers follow it):
 *   V                 -> "20040107"
 *   VF <date>         -> "1" for a capability we have, "0" otherwise
 *   U[mods] CALLID ADDR PORT FROMTAG[;N] [TOTAG[;N] [NOTIFY...]]
 *                     -> "PORT ADDR" (IPv6: "PORT ADDR 6"): an ng offer
 *   L[mods] CALLID ADDR PORT FROMTAG[;N] TOTAG[;N]
 *                     -> same: an ng answer
 *   D CALLID FROMTAG [TOTAG]      -> "0": ng delete of every media
 *   Q CALLID FROMTAG [TOTAG]      -> "TTL PKTS_A PKTS_B RELAYED DROPPED"
 *   I                 -> text counters, one "name: value" a line
 *   X                 -> "0": ends every call
 * U/L modifiers: A asymmetric, S/W symmetric (the default), I/E internal/
 * external interface for (sender side, other side), 6 IPv6, Z<ms>
 * repacketise (passed as ptime), C<pt,pt,...> allowed payload types.
 * Errors are "E<code>": E1 syntax, E2 unknown command, E3 bad address or
 * port, E5 internal, E7 no capacity (ports, session limit, draining),
 * E8 unknown session.
 * A U/L runs as an ordinary ng offer/answer through commands_handle(): the
 * session it makes is an rtpgate call like any other. Media number N of a
 * call (the ";N" of the tags) N > 1 is the call "CALLID/N".
 *
 * Threads: control thread only. Everything here may allocate.
 */
#ifndef RG_RTPP_H
#define RG_RTPP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "daemon.h"

#define RTPP_MAX_LINE 2048
#define RTPP_MAX_ARGS 8
#define RTPP_MAX_PTS 32
#define RTPP_MAX_MEDIA 16           /* highest ";N" media number */
#define RTPP_MAX_CALLID 512         /* longest call-id (with ";via-branch") */

enum rtpp_op {
	RTPP_V, RTPP_VF, RTPP_U, RTPP_L, RTPP_D, RTPP_Q, RTPP_I, RTPP_X,
	RTPP_OP__COUNT
};

/* One parsed command. Strings point into line[], a private copy. */
struct rtpp_cmd {
	enum rtpp_op op;
	char line[RTPP_MAX_LINE + 1];
	const char *call_id, *addr, *from_tag, *to_tag, *date;
	int port;                    /* U/L: 0..65535 */
	int medianum;                /* from the tags' ";N", 1 when absent */
	bool asymmetric, ipv6;
	char dir[2];                 /* 'i' / 'e' / 0, in the order given */
	int ptime;                   /* Z modifier, 0 when absent */
	int npts;
	int pts[RTPP_MAX_PTS];       /* C modifier */
};

/* rtpp_parse.c (pure, any thread). Parses one command (len bytes, need not be NUL-terminated; a trailing
 * CR/LF is ignored). Returns 0, or a negative "E" code (-1 syntax, -2
 * unknown command, -3 bad address/port) with a reason in err. Any byte
 * sequence is safe to pass. */
int rtpp_parse(const char *text, size_t len, struct rtpp_cmd *cmd, char *err, size_t errlen);

/* Parses and runs one command and appends its reply line (with "\n") to
 * out. Never fails: errors become an "E<code>" reply. */
void rtpp_run(struct rg_daemon *d, const char *text, size_t len, struct rg_buf *out);

/* "1" or "0" for a VF capability date. */
bool rtpp_has_capability(const char *date);

/* Counters for metrics (control thread). */
struct rtpp_stats {
	uint64_t commands[RTPP_OP__COUNT];
	uint64_t errors;             /* replies starting with E */
	uint64_t duplicates;         /* UDP answered from the reply cache */
};
const char *rtpp_op_name(enum rtpp_op op);
/* NULL when no rtpproxy transport is open. */
const struct rtpp_stats *rtpp_get_stats(const struct rg_daemon *d);

/* Opens --listen-rtpp / --listen-rtpp-unix (either may be ""). 0 or
 * negative errno (logged). rtpp_close() stops both. */
int rtpp_open(struct rg_daemon *d);
void rtpp_close(struct rg_daemon *d);

#endif
