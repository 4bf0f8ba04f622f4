/* commands.h - the ng commands: offer, answer, delete, query, list,
 * statistics, ping. Control thread only; never waits for a worker.
 */
#ifndef RG_COMMANDS_H
#define RG_COMMANDS_H

#include "bencode.h"
#include "daemon.h"

/* Runs one decoded request and returns the reply dict (never NULL unless
 * out of memory). The caller encodes and frees it. */
struct bval *commands_handle(struct rg_daemon *d, const struct bval *req);
/* A reply {result: error, error-reason: reason}. */
struct bval *commands_error(const char *reason);

#endif
