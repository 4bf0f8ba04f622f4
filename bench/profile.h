/* profile.h - where a relay's CPU goes, by sampling it with perf.
 *
 * Optional (rtpgate-bench --perf): runs `perf record -e cpu-clock` on the
 * relay for one measurement window and sorts the samples into codec
 * libraries (with the libc/libm calls they make), the kernel, the C
 * library, the relay's own code and the rest.
 * Control thread only. Needs the perf tool (Debian: linux-perf).
 */
#ifndef BENCH_PROFILE_H
#define BENCH_PROFILE_H

#include <stdio.h>
#include <sys/types.h>

struct profile_share {
	double codec;           /* libopus, libbcg729, libspandsp, ffmpeg's, codec_*,
				 * and libc/libm called by them */
	double codec_callee;    /* the part of codec spent in libc/libm */
	double math;            /* libm called by others, or caller unknown */
	double kernel;
	double libc;
	double relay;           /* the relay's own code outside codec_* */
	double other;
	unsigned long samples;
};

/* Starts perf on pid for secs seconds; returns perf's pid or -errno. */
pid_t profile_start(pid_t pid, double secs, const char *datafile);
/* Sorts the samples of `perf script -F period,ip,sym,dso` output (with
 * call chains) into out. 0, or -ENODATA if there was none. */
int profile_parse(FILE *f, struct profile_share *out);
/* Waits for perf and fills out from its samples. 0 or -errno. */
int profile_finish(pid_t perf_pid, const char *datafile, struct profile_share *out);

#endif
