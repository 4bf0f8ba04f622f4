/* ctlsock.h - the sockets of a control protocol: one UDP socket
 * ("<cookie> <request>", replies cached by source and cookie) and one UNIX
 * stream socket (one request per connection). ng (control.c) and rtpproxy
 * (rtpp.c) are two tables of this; the transport knows no protocol.
 *
 * Ownership: ctlsock_open() makes a struct ctlsock that the caller holds
 * until ctlsock_close(); it is freed when the last of its handles has
 * closed (the loop must run for that). The proto table, the reply cache,
 * the counters and ctx belong to the caller and must outlive the ctlsock.
 * Threads: control thread only; every callback runs on it.
 */
#ifndef RG_CTLSOCK_H
#define RG_CTLSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "daemon.h"

struct rg_buf;
struct replycache;
struct ctlsock;

/* A UDP request split by the protocol; points into the datagram. */
struct ctlsock_frame {
	const char *cookie;
	size_t cookie_len;          /* >= 1 */
	const char *body;
	size_t body_len;
	int tag;                    /* the protocol's own (ng: enum ng_enc) */
};

struct ctlsock_proto {
	const char *subsys;         /* log subsystem ("control", "rtpp") */
	const char *name;           /* in log lines ("ng", "rtpproxy") */
	const char *udp_what;       /* a UDP request in drop lines ("control packet") */
	const char *udp_option;     /* option names, for errors ("--listen-ng") */
	const char *unix_option;
	int default_port;           /* when the UDP address has none */
	size_t udp_max;             /* a longer datagram is dropped */
	int udp_batch;              /* 1..32; > 1: read with recvmmsg and reply
				     * with one sendmmsg per batch of this many */
	size_t unix_read;           /* bytes one read of a connection may bring */
	bool unix_half_close;       /* after the reply shut down our side and close
				     * at the peer's EOF (unread input would reset
				     * the connection); otherwise close at once */
	bool unix_own;              /* create the socket's directory and give it
				     * to --unix-owner/--unix-group */
	/* UDP: may src send? NULL: anyone. udp_allow_option names the
	 * option that decides, for the drop line. */
	bool (*udp_allowed)(void *ctx, const union rg_addr *src);
	const char *udp_allow_option;
	/* UDP: splits a datagram. 0, or negative (no cookie: dropped). */
	int (*udp_split)(const char *p, size_t n, struct ctlsock_frame *f);
	/* UDP: appends the reply to f (datagram of n bytes) to out, which
	 * ends with "<cookie> " (and may hold the batch's earlier replies
	 * before it: only append). */
	void (*udp_run)(void *ctx, const struct ctlsock_frame *f, size_t n, struct rg_buf *out);
	/* UNIX: p[0..n) is all a connection has sent (NUL-terminated), eof
	 * when the peer closed its side. 1: out holds the reply (sent, then
	 * the connection ends); 0: wait for more bytes. */
	int (*unix_run)(void *ctx, const char *p, size_t n, bool eof, struct rg_buf *out);
};

/* Counters the transport bumps; a NULL pointer is not counted. */
struct ctlsock_counters {
	uint64_t *dropped;          /* UDP: too large, not allowed, no cookie */
	uint64_t *duplicates;       /* UDP: answered from the reply cache */
};

/* Opens UDP on udp_spec (IP:PORT) and the UNIX socket at unix_path, either
 * may be "" (off; both off: *out = NULL, returns 0). The UNIX socket gets
 * d->cfg.unix_mode (and owner/group with p->unix_own); a socket file left
 * by an earlier run is replaced, any other file is not. Returns 0, or a
 * negative errno (logged), with *out = NULL and whatever was opened
 * closing. */
int ctlsock_open(struct ctlsock **out, struct rg_daemon *d, const struct ctlsock_proto *p,
		 void *ctx, struct replycache *cache, struct ctlsock_counters counters,
		 const char *udp_spec, const char *unix_path);
/* Closes the sockets and every open connection, removes the socket file.
 * NULL is a no-op. */
void ctlsock_close(struct ctlsock *s);

#endif
