/* media.h - the generator/receiver: RTP for every call, and what came back.
 *
 * Threads: the control thread creates calls (media_leg_open), sets them up
 * over ng and hands them over with media_add(); from then on only the media
 * thread touches a call until media_stop() returns. Windows and results
 * cross between the threads under media->mu; the packet path takes no lock
 * except one trylock-free check per 1 ms tick.
 *
 * Directions: DIR_AB is caller (leg 0) -> relay -> callee (leg 1),
 * DIR_BA the reverse. Latency is one-way added latency: the kernel receive
 * timestamp minus the send time read just before sendmsg(), both on
 * CLOCK_MONOTONIC in this process.
 */
#ifndef BENCH_MEDIA_H
#define BENCH_MEDIA_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "frames.h"
#include "histo.h"

#define MEDIA_RING 128               /* 2.56 s of send times per leg */
enum { DIR_AB = 0, DIR_BA = 1 };

struct media_leg {
	int fd;
	uint16_t port;                  /* our local port */
	struct sockaddr_in dst;         /* relay address we send to */
	struct media_leg *peer;
	uint32_t call_idx;
	int side;                       /* 0 caller, 1 callee */
	/* transmit */
	const struct frameset *tx_frames;
	uint8_t tx_pt;
	int stamped;                    /* payload carries our stamp both ways */
	uint16_t tx_seq;
	uint32_t tx_ts, ssrc;
	uint64_t tx_count;
	uint64_t tx_ring[MEDIA_RING];   /* send times of the last packets */
	/* receive */
	unsigned rx_clock;
	int rx_started;
	uint16_t rx_max_seq;
	uint64_t rx_cycles;
	uint64_t rx_base;               /* extended seq of the first packet */
	int64_t rx_map;                 /* peer send index = ext - base + map */
	double jitter;                  /* RFC 3550, in timestamp units */
	double last_transit;
	uint64_t rx_count;
	uint64_t rx_good;               /* media packets from the right call */
};

struct media_call {
	uint32_t idx;
	struct media_leg leg[2];
};

struct media_dir {
	uint64_t sent, recv, bad;       /* bad: misrouted or not RTP */
	uint64_t rx_payload;            /* RTP payload bytes received */
	struct histo lat;               /* us */
	double jit_mean_ms, jit_max_ms;
};

struct media_result {
	uint64_t t0, t1;
	unsigned calls;
	struct media_dir d[2];
	struct histo lag;               /* tick lateness, us */
	uint64_t slots, late_slots;     /* late: > 10 ms behind schedule */
	uint64_t skipped_slots;         /* > 20 ms late: not sent at all */
	uint64_t gen_cpu_ns;            /* media thread CPU in the window */
};

struct media_sample {                   /* one per second, for progress and plots */
	double t;
	unsigned calls;
	double tx_pps, rx_pps, loss, p99_us, relay_cores, gen_cores;
};

struct media {
	/* configuration, set before media_start() */
	unsigned slots;                 /* ticks per 20 ms; default 20 */
	pid_t relay_pid;                /* 0: no relay CPU in progress lines */
	int quiet;
	int trace;                      /* print call 0's first packets */
	int raw;                        /* send through a raw socket if allowed */
	int rt_prio;                    /* SCHED_FIFO priority; 0: normal */
	int uring;                      /* receive with io_uring multishot
					 * recvmsg if the kernel allows */
	uint64_t start_ns;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* shared under mu */
	struct media_call **pending;
	size_t npending, cap_pending;
	int stop;
	uint64_t win_t0, win_t1;
	int win_new, collect, collected;
	struct media_result result;
	struct media_sample *samples;
	size_t nsamples, cap_samples;
	unsigned ncalls_shared;
	unsigned nflowing_shared;

	/* media thread only */
	pthread_t thread;
	int ep, tfd, raw_fd;
	struct media_uring *ur;         /* NULL: epoll + recvmmsg */
	const char *rx_path;
	uint64_t raw_ns_per_pkt;        /* smoothed time per packet of a batch */
	struct media_call **calls;
	size_t ncalls, cap_calls;
	int64_t rt_off;
	struct media_result win;
	int win_on;
	uint64_t tick_ns, next_tick, ntick;
	struct media_dir iv[2];
	uint64_t iv_t0, iv_relay_cpu, iv_gen_cpu;
	uint64_t thread_cpu0;
	unsigned nflowing;              /* calls with media back on both legs */
};

/* Opens the UDP socket of one leg on 127.0.0.1, ephemeral port. */
int media_leg_open(struct media_leg *leg);
void media_call_close(struct media_call *c);

int media_start(struct media *m);
/* Hands calls (legs open, dst and codecs set) to the media thread. */
int media_add(struct media *m, struct media_call **calls, size_t n);
/* Counts packets sent in [t0, t1) (monotonic ns) into the next result. */
void media_window(struct media *m, uint64_t t0, uint64_t t1);
/* Waits for the media thread to hand over the window's result. */
void media_collect(struct media *m, struct media_result *out);
/* Number of calls the media thread is running. */
unsigned media_calls(struct media *m);
/* Number of calls whose both legs received MEDIA_FLOWING packets through
 * the relay (as of the last 1 ms tick): media flows for them. */
#define MEDIA_FLOWING 3
unsigned media_flowing(struct media *m);
/* Stops sending and joins the thread; calls stay open (caller closes). */
void media_stop(struct media *m);
/* Which receive path the media thread used ("io_uring" or "epoll"); valid
 * once media_stop() returned. */
const char *media_rx_path(const struct media *m);
/* The send time of the peer's packet that RTP packet p (extended sequence
 * number ext, received at rx) answers, from its stamp or, for transcoded
 * media, from l's mapping of sequence numbers onto the peer's send times
 * (kept up to date here); 0 if unknown, *bad set for a wrong stamp.
 * Exposed for the unit test. */
uint64_t media_send_time(struct media_leg *l, const uint8_t *p, size_t len, uint64_t ext,
			 uint64_t rx, int *bad);

#endif
