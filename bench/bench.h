/* bench.h - what one run of rtpgate-bench measured, for report.c.
 *
 * Filled by main.c (single-threaded after the media thread stopped) and
 * only read by the report functions.
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "media.h"
#include "memfit.h"
#include "profile.h"

struct bench_row {                      /* one measured window */
	unsigned calls;
	double secs;
	uint64_t sent[2], recv[2], bad[2];
	double loss[2];                 /* fraction */
	double p50_us[2], p99_us[2], max_us[2];
	double jit_mean_ms[2], jit_max_ms[2];
	double payload_kbps[2];         /* RTP payload received per call and
					 * direction: the relay's encoder bitrate
					 * on the transcoded direction */
	double relay_cores;             /* relay CPU seconds per second */
	double relay_wait;              /* seconds per second its threads were
					 * runnable but waited for a CPU */
	double relay_ns_per_pkt;        /* per packet the relay received */
	double relay_us_per_callsec;
	double calls_per_core;
	double gen_cores, lag_p99_ms, late_frac, skip_frac;
	int gen_bound;
	long rss_kb;
	double mem_per_call_kb;
	int pass;                       /* loss and p99 within bounds */
	int has_profile;                /* --perf: where the relay's CPU went */
	struct profile_share prof;
};

struct bench_control {
	uint64_t pairs, deletes, errors;
	double oa_secs, del_secs, oa_cpu_s, del_cpu_s;
	double pairs_per_s, us_per_pair, deletes_per_s, us_per_delete;
	long rss_peak_kb;
	unsigned batch;
	double mem_per_call_kb;
};

struct bench_memsample {               /* relay RSS with media flowing */
	unsigned calls;
	unsigned flowing;               /* of them, media back on both legs */
	long rss_kb;
	const char *when;               /* "set-up step" or "window end" */
};
#define BENCH_MEMSAMPLES 64

struct bench_report {
	const char *scenario, *label, *relay, *ng;
	const char *rx_path;            /* generator's receive path */
	int ramp;
	double loss_limit, p99_bound_ms;
	struct bench_row *rows;
	size_t nrows;
	unsigned max_held;              /* ramp: calls of the last passing step */
	const char *stop_reason;
	int has_control;
	struct bench_control ctl;
	long rss_base_kb, rss_after_delete_kb;
	double delete_wait_s;           /* > 0: rss_later_kb was read that long after the deletes */
	long rss_later_kb;
	/* memory per call: least-squares slope of the samples (memfit.h);
	 * mem_fit_ok 0 when fewer than two call counts were sampled */
	struct bench_memsample mem[BENCH_MEMSAMPLES];
	size_t nmem;
	int mem_fit_ok;
	struct memfit mem_fit;
	long rss_peak_kb;
	double setup_secs;
	unsigned setup_calls, setup_failed;
	struct media_sample *samples;
	size_t nsamples;
};

void report_table(const struct bench_report *r);
int report_json(const struct bench_report *r, const char *path);
int report_csv(const struct bench_report *r, const char *path);
int report_plot(const struct bench_report *r, const char *path);

#endif
