/* procstat.c - sampling a relay's CPU and memory from /proc.
 *
 * The load tool charges the relay with the CPU time of every one of its
 * threads between two samples. /proc/PID/stat counts in clock ticks (10 ms),
 * too coarse for short steps, so the per-thread schedstat files (run time in
 * nanoseconds) are summed instead; stat is the fallback when schedstat is
 * missing (kernels without CONFIG_SCHEDSTATS). A thread that exits between
 * two samples takes its time with it, which is fine for relays whose
 * workers live as long as the process. The same files give the time the
 * threads spent runnable but waiting for a CPU, which tells a relay that was
 * starved by other processes from one that was slow.
 */
#include "procstat.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t procstat_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int procstat_ticks(pid_t pid, uint64_t *ns)
{
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	size_t n = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[n] = 0;
	/* the command name may hold spaces: fields restart after the last ')' */
	char *p = strrchr(line, ')');
	if (!p)
		return -EINVAL;
	unsigned long long ut = 0, st = 0;
	/* after ')': state(3) ... utime is field 14, stime 15 */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
		   &ut, &st) != 2)
		return -EINVAL;
	long hz = sysconf(_SC_CLK_TCK);
	*ns = (ut + st) * (1000000000ull / (unsigned long long)(hz > 0 ? hz : 100));
	return 0;
}

int procstat_cpu_ns(pid_t pid, uint64_t *ns)
{
	return procstat_cpu_wait_ns(pid, ns, NULL);
}

int procstat_cpu_wait_ns(pid_t pid, uint64_t *ns, uint64_t *wait_ns)
{
	char path[320];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	uint64_t sum = 0, wsum = 0;
	int found = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat",
			 (int)pid, de->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue; /* thread just exited */
		unsigned long long run = 0, wait = 0;
		int n = fscanf(f, "%llu %llu", &run, &wait);
		if (n >= 1) {
			sum += run;
			wsum += n == 2 ? wait : 0;
			found = 1;
		}
		fclose(f);
	}
	closedir(d);
	if (wait_ns)
		*wait_ns = wsum;
	if (!found)
		return procstat_ticks(pid, ns);
	*ns = sum;
	return 0;
}

int procstat_rss_kb(pid_t pid, long *kb)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	int rc = -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "VmRSS:", 6)) {
			*kb = strtol(line + 6, NULL, 10);
			rc = 0;
			break;
		}
	}
	fclose(f);
	return rc;
}
