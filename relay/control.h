/* control.h - the ng protocol on its two transports (ctlsock.h): UDP
 * (cookie, reply cache) and a UNIX stream socket (Kamailio's "unix:" form:
 * one bare bencode request per connection, reply in one write).
 * Control thread only.
 */
#ifndef RG_CONTROL_H
#define RG_CONTROL_H

#include "daemon.h"

/* Opens the sockets named in d->cfg. 0 or negative errno (logged). */
int control_open(struct rg_daemon *d);
/* Stops accepting requests and closes the sockets. */
void control_close(struct rg_daemon *d);
/* Runs one request body (already split from its cookie) and appends the
 * encoded reply to out. Exposed for tests and fuzzers. */
struct rg_buf;
void control_run_request(struct rg_daemon *d, const char *body, size_t len, struct rg_buf *out);

#endif
