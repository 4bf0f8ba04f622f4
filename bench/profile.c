/* profile.c - sorting a relay's CPU samples into codec work and the rest.
 *
 * Issue 4 wants transcoding relays to spend most of their CPU in codecs;
 * that cannot be read from /proc, so this samples the relay with perf's
 * software cpu-clock event (works in VMs without a PMU) and classifies each
 * sample by where it landed: shared object (libopus, libbcg729, libspandsp,
 * ffmpeg's libraries, ...) or the public prefixes of the codec/ modules
 * that rtpgate links statically (codec_, g711_, pcmu_, pcma_, g729_, opus_,
 * plc_). A sample in the C or math library is charged to whoever called it:
 * libopus calls exp(), cos() and memset() on its own behalf, and that is
 * codec work; perf records a short copy of the user stack (DWARF unwinding,
 * the codec libraries have no frame pointers) so the caller can be found.
 * A libc/libm sample whose caller is not a codec, or cannot be found, stays
 * in its own bucket (libc, libm). Shares are of the sum of the samples'
 * periods, as perf report weighs them.
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
		/* 2 KB of stack: enough to unwind a libc/libm leaf to its caller */
		execlp("perf", "perf", "record", "-q", "-e", "cpu-clock", "-F", "499",
		       "--call-graph", "dwarf,2048", "-p", spid, "-o", datafile,
		       "--", "sleep", ssecs, (char *)NULL);
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
	 * as do the statically linked codecs' own prefixes (bcg729's symbols
	 * all carry "bcg729", codec/own_bcg729.py); the transcoder
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

/* The C and math libraries: samples there belong to their caller. */
static int is_helper(const char *dso)
{
	return strstr(dso, "/libc.so") || strstr(dso, "/libm.so") || strstr(dso, "ld-linux");
}

/* One sample: its frames, leaf first, as perf script prints them. */
struct sample {
	double period;
	char leaf_dso[256], leaf_sym[256];
	int have_leaf, kernel, by_codec, caller_known;
};

static void sample_add(struct profile_share *out, const struct sample *s)
{
	if (!s->have_leaf || s->period <= 0)
		return;
	double *b;
	if (s->kernel)
		b = &out->kernel;
	else if (profile_is_codec(s->leaf_dso, s->leaf_sym))
		b = &out->codec;
	else if (is_helper(s->leaf_dso) && s->by_codec) {
		b = &out->codec;
		out->codec_callee += s->period;
	} else if (strstr(s->leaf_dso, "/libm."))
		b = &out->math;
	else if (is_helper(s->leaf_dso))
		b = &out->libc;
	else if (strstr(s->leaf_dso, "rtpgate") || strstr(s->leaf_dso, "rtpengine"))
		b = &out->relay;
	else
		b = &out->other;
	*b += s->period;
	out->samples++;
}

/* A frame line: "\t<hex addr> <sym> (<dso>)"; sym may be "[unknown]",
 * dso "inlined" for a function inlined into the next line's. *kernel: the
 * address is the kernel's (its modules and BPF programs included). */
static int parse_frame(const char *line, char *sym, size_t symsz, char *dso, size_t dsosz,
		       int *kernel)
{
	const char *p = line;
	while (*p == '\t' || *p == ' ')
		p++;
	char *end;
	unsigned long long ip = strtoull(p, &end, 16);
	*kernel = end != p && ip >= 0xffff800000000000ull && ip != ~0ull;
	p = end;
	while (*p && *p != ' ')
		p++;
	while (*p == ' ')
		p++;
	const char *open = strrchr(p, '(');
	const char *close = open ? strrchr(open, ')') : NULL;
	if (!open || !close || open == p)
		return -1;
	size_t n = (size_t)(open - p);
	while (n && p[n - 1] == ' ')
		n--;
	snprintf(sym, symsz, "%.*s", (int)n, p);
	snprintf(dso, dsosz, "%.*s", (int)(close - open - 1), open + 1);
	return 0;
}

int profile_parse(FILE *f, struct profile_share *out)
{
	memset(out, 0, sizeof(*out));
	char line[2048];
	struct sample s = { 0 };
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);
		if (len && line[len - 1] != '\n') {
			/* longer than any frame we need: skip the rest of it */
			int c;
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
		}
		if (line[0] != '\t') {
			/* a sample's first line: its period; an empty line ends it */
			double period;
			if (sscanf(line, " %lf", &period) == 1) {
				sample_add(out, &s);
				memset(&s, 0, sizeof(s));
				s.period = period;
			}
			continue;
		}
		char sym[256], dso[256];
		int kernel;
		if (parse_frame(line, sym, sizeof(sym), dso, sizeof(dso), &kernel) < 0 ||
		    !strcmp(dso, "inlined"))
			continue;
		if (!s.have_leaf) {
			snprintf(s.leaf_dso, sizeof(s.leaf_dso), "%s", dso);
			snprintf(s.leaf_sym, sizeof(s.leaf_sym), "%s", sym);
			s.have_leaf = 1;
			s.kernel = kernel || strstr(dso, "kernel") != NULL;
		} else if (!s.caller_known && is_helper(s.leaf_dso) && !is_helper(dso) &&
			   strcmp(dso, "[unknown]")) {
			/* the first frame outside libc/libm: the helper's caller */
			s.caller_known = 1;
			s.by_codec = profile_is_codec(dso, sym);
		}
	}
	sample_add(out, &s);
	double total = out->codec + out->math + out->kernel + out->libc + out->relay + out->other;
	if (total <= 0)
		return -ENODATA;
	out->codec /= total;
	out->codec_callee /= total;
	out->math /= total;
	out->kernel /= total;
	out->libc /= total;
	out->relay /= total;
	out->other /= total;
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
	snprintf(cmd, sizeof(cmd), "perf script -i '%s' -F period,ip,sym,dso 2>/dev/null", datafile);
	FILE *f = popen(cmd, "r");
	if (!f) {
		unlink(datafile);
		return -errno;
	}
	int r = profile_parse(f, out);
	pclose(f);
	unlink(datafile);
	return r;
}
