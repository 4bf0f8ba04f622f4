/* call.h - the control thread's view of a call: tags, per-leg addresses
 * learned from SDP, the ports, timers, and the table of all calls.
 *
 * Control thread only. The media side lives in struct msession
 * (session.h) on the call's worker; a call holds one reference to it.
 */
#ifndef RG_CALL_H
#define RG_CALL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "daemon.h"
#include "worker.h"

struct call_media {
	char type[16];
	char proto[32];
	bool active;                 /* ports allocated (m= port was not 0) */
	bool mux_offered;            /* the offerer offered a=rtcp-mux */
	bool mux_to_answerer;        /* we offered a=rtcp-mux onwards */
	bool mux_accept;             /* the offer said rtcp-mux accept/demux: accept it from the offerer */
};

struct call_leg {
	char *tag;
	int iface;                   /* index into rg_daemon.ifaces */
	bool sdp_seen;
	struct leg_media_addr *addr; /* [nmedia] */
};

struct call {
	struct call *hnext;
	struct call *prev, *next;
	char *call_id;
	uint64_t created_ms, last_signal_ms, answered_ms, delete_at_ms;
	time_t created_wall, last_signal_wall;
	bool answered;
	int offerer;                 /* leg that made the last offer */
	int nmedia;
	struct call_media *media;    /* [nmedia] */
	struct call_leg leg[2];
	struct msession *ms;
	struct worker *w;
	bool posted;                 /* ms was handed to the worker */
	struct call_sdes *sdes;      /* sdes.c's state, or NULL */
	struct call_codecs *codecs;  /* negotiate.c's state, or NULL */
};

struct call *call_find(struct rg_daemon *d, const char *call_id);
/* Creates and inserts a call; ports and msession are the caller's job. */
struct call *call_new(struct rg_daemon *d, const char *call_id, int nmedia);
/* Removes a call whose session was never posted to a worker: frees its
 * ports and sockets here. */
void call_discard(struct rg_daemon *d, struct call *c);
/* Ends a call at once: frees its ports, tells its worker, frees it. */
void call_end(struct rg_daemon *d, struct call *c, enum end_reason why);
/* Takes back the sessions the workers are done with and gives their
 * sockets to the port pools. Before allocating ports, and once a second. */
void calls_reap(struct rg_daemon *d);
/* Wakes the workers that have messages queued (worker_wake): once per
 * control loop pass. */
void calls_wake_workers(struct rg_daemon *d);
/* Before the control loop sleeps: wakes the workers, reaps. */
void calls_loop_pass(struct rg_daemon *d);
/* Once a second: timeouts and delayed deletes, spare sockets expired. */
void call_tick(struct rg_daemon *d, uint64_t now_ms);
/* The call table: mapped (and resident) at start, unmapped at exit. */
int calls_init(struct rg_daemon *d);
void calls_fini(struct rg_daemon *d);
/* Installs stages (session.h struct mmedia) for one leg's media: directly
 * while the session is not yet on its worker, else through the worker's
 * mailbox. The stages belong to the session from then on. */
int call_install_stages(struct call *c, int leg, int media, const struct mmedia *st,
			unsigned which);
/* Which leg a tag names: 0, 1, or -1. */
int call_leg_of(const struct call *c, const char *tag);
/* Newest packet on any stream of the call (uv_now ms), 0 if none. */
uint64_t call_last_media_ms(const struct call *c);

#endif
