/* profile.c - sorting a relay's CPU samples into codec work and the rest.
 *
 * Issue 4 wants transcoding relays to spend most of their CPU in codecs;
 * that cannot be read from /proc, so this samples the relay with perf's
 * software cpu-clock event (works in VMs without a PMU) and classifies
 * `perf report --sort dso,sym` lines by shared object (libopus, libbcg729,
 * libspandsp, ffmpeg's libraries, ...), and by the public prefixes of the
 * codec/ modules that rtpgate links statically (codec_, g711_, pcmu_,
 * pcma_, g729_, opus_, plc_). Shares are
 * fractions of all samples. Ambiguous objects (libm) get their own bucket
 * rather than being guessed into the codec share.
 */
#include "profile.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

pid_t profile_start(pid_t pid, double secs, const char *datafile)
{
	char spid[16], ssecs[32];
	snprintf(spid, sizeof(spid), "%d", (int)pid);
	snprintf(ssecs, sizeof(ssecs), "%.3f", secs);
	pid_t p = fork();
	if (p < 0)
		return -errno;
	if (p == 0) {
		/* perf prints its own notes; the run's output stays clean */
		if (!freopen("/dev/null", "w", stderr))
			_exit(127);
		execlp("perf", "perf", "record", "-q", "-e", "cpu-clock", "-F", "499",
		       "-p", spid, "-o", datafile, "--", "sleep", ssecs, (char *)NULL);
		_exit(127);
	}
	return p;
}

static int profile_is_codec(const char *dso, const char *sym)
{
	static const char *const libs[] = {
		"libopus", "libbcg729", "libspandsp", "libavcodec", "libswresample",
		"libavutil", "libspeexdsp", "libgsm", "libg722",
	};
	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++)
		if (strstr(dso, libs[i]))
			return 1;
	/* rtpgate links its codec/ library statically: its modules' public
	 * functions (codec_, g711_, pcmu_, pcma_, g729_, opus_, plc_) count,
	 * as do the statically linked codecs' own prefixes; the transcoder
	 * glue (relay/transcode.c) is the relay's work, not a codec's */
	static const char *const prefixes[] = {
		"codec_", "g711_", "pcmu_", "pcma_", "g729_", "opus_", "plc_", "spandsp_",
		"silk_", "celt_", "bcg729",
	};
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(sym, prefixes[i], strlen(prefixes[i])))
			return 1;
	return 0;
}

int profile_finish(pid_t perf_pid, const char *datafile, struct profile_share *out)
{
	memset(out, 0, sizeof(*out));
	int st = 0;
	if (waitpid(perf_pid, &st, 0) < 0)
		return -errno;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		unlink(datafile);
		return WIFEXITED(st) && WEXITSTATUS(st) == 127 ? -ENOENT : -EIO;
	}
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "perf report -i '%s' --sort dso,sym --stdio --percent-limit 0 2>/dev/null", datafile);
	FILE *f = popen(cmd, "r");
	if (!f) {
		unlink(datafile);
		return -errno;
	}
	char line[1024];
	double total = 0;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#') {
			unsigned long n;
			if (sscanf(line, "# Samples: %lu", &n) == 1)
				out->samples = n;
			continue;
		}
		double pct;
		char dso[256], kind[8], sym[512];
		if (sscanf(line, " %lf%% %255s %7s %511s", &pct, dso, kind, sym) != 4)
			continue;
		total += pct;
		if (profile_is_codec(dso, sym))
			out->codec += pct;
		else if (!strcmp(kind, "[k]") || strstr(dso, "kernel"))
			out->kernel += pct;
		else if (strstr(dso, "libm."))
			out->math += pct;
		else if (strstr(dso, "libc.") || strstr(dso, "ld-linux"))
			out->libc += pct;
		else if (strstr(dso, "rtpgate") || strstr(dso, "rtpengine"))
			out->relay += pct;
		else
			out->other += pct;
	}
	pclose(f);
	unlink(datafile);
	if (total <= 0)
		return -ENODATA;
	out->codec /= total;
	out->math /= total;
	out->kernel /= total;
	out->libc /= total;
	out->relay /= total;
	out->other /= total;
	return 0;
}
