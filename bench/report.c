/* report.c - the end-of-run table, JSON, CSV and gnuplot chart.
 *
 * Everything printed comes from struct bench_report; nothing is measured
 * here. JSON is written by hand (flat numbers and a few strings) so the
 * tool needs no JSON library; strings are escaped for quotes, backslashes
 * and control characters. The plot runs gnuplot (Debian: gnuplot-nox) on a
 * data file next to the PNG.
 */
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static const char *const dir_names[2] = { "A->B", "B->A" };

/* The memory lines: the samples, the slope, the fixed part, what stayed. */
static void report_memory(const struct bench_report *r)
{
	if (!r->nmem)
		return;
	printf("relay RSS with media flowing (calls/flowing: KB):");
	for (size_t i = 0; i < r->nmem; i++)
		printf(" %u/%u: %ld", r->mem[i].calls, r->mem[i].flowing, r->mem[i].rss_kb);
	printf("\n");
	if (r->mem_fit_ok)
		printf("memory per call: %.2f KB (least-squares slope over %zu samples, r2 %.3f);"
		       " fixed part %.0f KB (line at 0 calls %.0f KB - idle %ld KB)\n",
		       r->mem_fit.slope, r->mem_fit.n, r->mem_fit.r2,
		       r->mem_fit.intercept - (double)r->rss_base_kb, r->mem_fit.intercept,
		       r->rss_base_kb);
	else
		printf("memory per call: no slope (fewer than two call counts sampled with media"
		       " flowing; --mem-steps)\n");
	/* the step-to-step slopes show a relay whose growth is not linear */
	int first = 1;
	for (size_t i = 1; i < r->nmem; i++) {
		const struct bench_memsample *a = &r->mem[i - 1], *b = &r->mem[i];
		if (b->calls <= a->calls)
			continue;
		printf("%s %u->%u: %.1f", first ? "step slopes (KB per call):" : ",", a->calls,
		       b->calls, (double)(b->rss_kb - a->rss_kb) / (b->calls - a->calls));
		first = 0;
	}
	if (!first)
		printf("\n");
	unsigned calls = r->setup_calls;
	if (calls && r->rss_peak_kb)
		printf("RSS growth / calls: %.2f KB (peak %ld KB - idle %ld KB over %u calls);"
		       " after delete - before set-up: %+ld KB\n",
		       (double)(r->rss_peak_kb - r->rss_base_kb) / calls, r->rss_peak_kb,
		       r->rss_base_kb, calls, r->rss_after_delete_kb - r->rss_base_kb);
}

void report_table(const struct bench_report *r)
{
	printf("\nrtpgate-bench  scenario %s%s%s  ng %s\n", r->scenario,
	       r->label[0] ? "  label " : "", r->label, r->ng);
	if (r->has_control) {
		const struct bench_control *c = &r->ctl;
		printf("control: %llu offer+answer pairs in %.2f s: %.0f pairs/s, %.1f us relay CPU per pair\n",
		       (unsigned long long)c->pairs, c->oa_secs, c->pairs_per_s, c->us_per_pair);
		printf("         %llu deletes in %.2f s: %.0f deletes/s, %.1f us relay CPU per delete\n",
		       (unsigned long long)c->deletes, c->del_secs, c->deletes_per_s, c->us_per_delete);
		printf("         errors %llu, batch %u, relay RSS base %ld KB peak %ld KB (%.1f KB per live call),"
		       " after delete %ld KB\n", (unsigned long long)c->errors, c->batch,
		       r->rss_base_kb, c->rss_peak_kb, c->mem_per_call_kb, r->rss_after_delete_kb);
		return;
	}
	printf("set-up: %u calls in %.2f s (%u failed); generator receives with %s\n", r->setup_calls,
	       r->setup_secs, r->setup_failed, r->rx_path ? r->rx_path : "-");
	printf("%6s %4s %8s %7s %8s %8s %8s %7s %7s | %6s %8s %8s %7s %5s | %6s %7s\n",
	       "calls", "dir", "sent", "loss%", "p50us", "p99us", "maxus", "jit ms", "jitmax",
	       "relay%", "ns/pkt", "us/calls", "call/c", "genc%", "MB", "KB/call");
	for (size_t i = 0; i < r->nrows; i++) {
		const struct bench_row *w = &r->rows[i];
		for (int d = 0; d < 2; d++) {
			printf("%6u %4s %8llu %7.3f %8.0f %8.0f %8.0f %7.3f %7.3f", w->calls, dir_names[d],
			       (unsigned long long)w->sent[d], w->loss[d] * 100, w->p50_us[d],
			       w->p99_us[d], w->max_us[d], w->jit_mean_ms[d], w->jit_max_ms[d]);
			if (d == 0 && w->relay_cores < 0)   /* no relay pid: nothing measured */
				printf(" | %6s %8s %8s %7s %5.1f | %6s %7s%s%s\n", "-", "-", "-", "-",
				       w->gen_cores * 100, "-", "-", w->gen_bound ? "  GENERATOR-BOUND" : "",
				       w->pass ? "" : "  FAIL");
			else if (d == 0)
				printf(" | %6.1f %8.0f %8.2f %7.0f %5.1f | %6.1f %7.2f%s%s\n",
				       w->relay_cores * 100, w->relay_ns_per_pkt, w->relay_us_per_callsec,
				       w->calls_per_core, w->gen_cores * 100, w->rss_kb / 1024.0,
				       w->mem_per_call_kb, w->gen_bound ? "  GENERATOR-BOUND" : "",
				       w->pass ? "" : "  FAIL");
			else
				printf(" |\n");
		}
	}
	for (size_t i = 0; i < r->nrows; i++)
		if (r->rows[i].relay_wait > 0.05)
			printf("note: at %u calls the relay's threads spent %.0f%% of a core runnable but"
			       " waiting for a CPU (wake-up delay, other processes): part of the latency"
			       " is the machine's\n",
			       r->rows[i].calls, r->rows[i].relay_wait * 100);
	for (size_t i = 0; i < r->nrows; i++)
		printf("payload received at %u calls, per call: A->B %.1f kbit/s, B->A %.1f kbit/s"
		       " (on a transcoded direction: the relay's encoder output)\n", r->rows[i].calls,
		       r->rows[i].payload_kbps[0], r->rows[i].payload_kbps[1]);
	for (size_t i = 0; i < r->nrows; i++) {
		const struct profile_share *p = &r->rows[i].prof;
		if (r->rows[i].has_profile)
			printf("relay CPU at %u calls (perf, %lu samples): codec %.1f%% (%.1f%% of it in"
			       " libc/libm, called by a codec), libm %.1f%%, kernel %.1f%%, libc %.1f%%,"
			       " relay %.1f%%, other %.1f%%\n", r->rows[i].calls, p->samples,
			       p->codec * 100, p->codec_callee * 100, p->math * 100, p->kernel * 100,
			       p->libc * 100, p->relay * 100, p->other * 100);
	}
	if (r->ramp)
		printf("ramp: max calls held %u (loss <= %.2f%%, p99 <= %.1f ms); stopped: %s\n",
		       r->max_held, r->loss_limit, r->p99_bound_ms, r->stop_reason ? r->stop_reason : "");
	printf("relay RSS: base %ld KB, after delete %ld KB (%+ld KB)\n", r->rss_base_kb,
	       r->rss_after_delete_kb, r->rss_after_delete_kb - r->rss_base_kb);
	if (r->delete_wait_s > 0)
		printf("relay RSS %.0f s after the deletes: %ld KB (%+ld KB over the base)\n",
		       r->delete_wait_s, r->rss_later_kb, r->rss_later_kb - r->rss_base_kb);
	report_memory(r);
	printf("columns: relay%% = relay CPU (100 = one core), ns/pkt = relay CPU per packet received,\n"
	       "us/calls = relay CPU us per call-second, call/c = calls per relay core, genc%% = generator CPU,\n"
	       "KB/call = RSS growth over the idle RSS / calls (fixed part included; see memory per call)\n");
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

int report_json(const struct bench_report *r, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -errno;
	}
	fprintf(f, "{\n  \"tool\": \"rtpgate-bench\",\n  \"scenario\": ");
	json_str(f, r->scenario);
	fprintf(f, ",\n  \"label\": ");
	json_str(f, r->label);
	fprintf(f, ",\n  \"relay_cmd\": ");
	json_str(f, r->relay);
	fprintf(f, ",\n  \"ng\": ");
	json_str(f, r->ng);
	fprintf(f, ",\n  \"generator_rx\": ");
	json_str(f, r->rx_path ? r->rx_path : "");
	fprintf(f, ",\n  \"stop_reason\": ");
	json_str(f, r->stop_reason ? r->stop_reason : "");
	fprintf(f, ",\n  \"ramp\": %s,\n  \"max_held\": %u,\n  \"loss_limit_pct\": %g,\n"
		"  \"p99_bound_ms\": %g,\n  \"rss_base_kb\": %ld,\n  \"rss_after_delete_kb\": %ld,\n"
		"  \"setup_calls\": %u,\n  \"setup_failed\": %u,\n  \"setup_secs\": %.3f",
		r->ramp ? "true" : "false", r->max_held, r->loss_limit, r->p99_bound_ms,
		r->rss_base_kb, r->rss_after_delete_kb, r->setup_calls, r->setup_failed, r->setup_secs);
	if (r->delete_wait_s > 0)
		fprintf(f, ",\n  \"delete_wait_s\": %g,\n  \"rss_later_kb\": %ld", r->delete_wait_s,
			r->rss_later_kb);
	if (r->has_control) {
		const struct bench_control *c = &r->ctl;
		fprintf(f, ",\n  \"control\": {\"pairs\": %llu, \"deletes\": %llu, \"errors\": %llu, "
			"\"oa_secs\": %.4f, \"del_secs\": %.4f, \"oa_cpu_s\": %.4f, \"del_cpu_s\": %.4f, "
			"\"pairs_per_s\": %.1f, \"us_per_pair\": %.2f, \"deletes_per_s\": %.1f, "
			"\"us_per_delete\": %.2f, \"batch\": %u, \"rss_peak_kb\": %ld, \"mem_per_call_kb\": %.2f}",
			(unsigned long long)c->pairs, (unsigned long long)c->deletes,
			(unsigned long long)c->errors, c->oa_secs, c->del_secs, c->oa_cpu_s, c->del_cpu_s,
			c->pairs_per_s, c->us_per_pair, c->deletes_per_s, c->us_per_delete, c->batch,
			c->rss_peak_kb, c->mem_per_call_kb);
	}
	fprintf(f, ",\n  \"memory\": {\"method\": \"per call: least-squares slope of the relay's RSS "
		"over calls, through samples read with media flowing for every call (after each "
		"set-up step and at the end of each window); fixed: the line at 0 calls minus the "
		"idle RSS before set-up; growth_per_call: (peak RSS - idle RSS) / calls; "
		"after_delete: RSS after all deletes minus the idle RSS\", \"samples\": [");
	for (size_t i = 0; i < r->nmem; i++) {
		fprintf(f, "%s{\"calls\": %u, \"flowing\": %u, \"rss_kb\": %ld, \"when\": ",
			i ? ", " : "", r->mem[i].calls, r->mem[i].flowing, r->mem[i].rss_kb);
		json_str(f, r->mem[i].when);
		fprintf(f, "}");
	}
	fprintf(f, "]");
	if (r->mem_fit_ok)
		fprintf(f, ", \"per_call_kb\": %.3f, \"fit_samples\": %zu, \"r2\": %.4f, "
			"\"intercept_kb\": %.1f, \"fixed_kb\": %.1f", r->mem_fit.slope, r->mem_fit.n,
			r->mem_fit.r2, r->mem_fit.intercept, r->mem_fit.intercept - (double)r->rss_base_kb);
	else
		fprintf(f, ", \"per_call_kb\": null, \"fixed_kb\": null");
	if (r->setup_calls && r->rss_peak_kb)
		fprintf(f, ", \"rss_peak_kb\": %ld, \"growth_per_call_kb\": %.3f", r->rss_peak_kb,
			(double)(r->rss_peak_kb - r->rss_base_kb) / r->setup_calls);
	fprintf(f, ", \"after_delete_kb\": %ld", r->rss_after_delete_kb - r->rss_base_kb);
	if (r->delete_wait_s > 0)
		fprintf(f, ", \"delete_wait_s\": %g, \"after_wait_kb\": %ld", r->delete_wait_s,
			r->rss_later_kb - r->rss_base_kb);
	fprintf(f, "}");
	fprintf(f, ",\n  \"rows\": [");
	for (size_t i = 0; i < r->nrows; i++) {
		const struct bench_row *w = &r->rows[i];
		fprintf(f, "%s\n    {\"calls\": %u, \"secs\": %.3f, \"relay_cores\": %.4f, "
			"\"relay_wait_cores\": %.4f, \"relay_ns_per_pkt\": %.1f, \"relay_us_per_callsec\": %.3f, \"calls_per_core\": %.1f, "
			"\"gen_cores\": %.4f, \"gen_lag_p99_ms\": %.3f, \"gen_late_frac\": %.5f, \"gen_skipped_frac\": %.5f, "
			"\"generator_bound\": %s, \"rss_kb\": %ld, \"mem_per_call_kb\": %.3f, \"pass\": %s",
			i ? "," : "", w->calls, w->secs, w->relay_cores, w->relay_wait, w->relay_ns_per_pkt,
			w->relay_us_per_callsec, w->calls_per_core, w->gen_cores, w->lag_p99_ms,
			w->late_frac, w->skip_frac, w->gen_bound ? "true" : "false", w->rss_kb, w->mem_per_call_kb,
			w->pass ? "true" : "false");
		if (w->has_profile)
			fprintf(f, ", \"profile\": {\"samples\": %lu, \"codec\": %.4f, "
				"\"codec_in_libc_libm\": %.4f, \"libm\": %.4f, \"kernel\": %.4f, "
				"\"libc\": %.4f, \"relay\": %.4f, \"other\": %.4f}",
				w->prof.samples, w->prof.codec, w->prof.codec_callee, w->prof.math,
				w->prof.kernel, w->prof.libc, w->prof.relay, w->prof.other);
		for (int d = 0; d < 2; d++)
			fprintf(f, ", \"%s\": {\"sent\": %llu, \"recv\": %llu, \"bad\": %llu, \"loss\": %.6f, "
				"\"p50_us\": %.0f, \"p99_us\": %.0f, \"max_us\": %.0f, \"jitter_ms\": %.4f, "
				"\"jitter_max_ms\": %.4f, \"payload_kbps\": %.2f}", d ? "ba" : "ab",
				(unsigned long long)w->sent[d], (unsigned long long)w->recv[d],
				(unsigned long long)w->bad[d], w->loss[d], w->p50_us[d], w->p99_us[d],
				w->max_us[d], w->jit_mean_ms[d], w->jit_max_ms[d], w->payload_kbps[d]);
		fprintf(f, "}");
	}
	fprintf(f, "\n  ],\n  \"samples\": [");
	for (size_t i = 0; i < r->nsamples; i++) {
		const struct media_sample *s = &r->samples[i];
		fprintf(f, "%s\n    {\"t\": %.2f, \"calls\": %u, \"tx_pps\": %.0f, \"rx_pps\": %.0f, "
			"\"loss\": %.6f, \"p99_us\": %.0f, \"relay_cores\": %.4f, \"gen_cores\": %.4f}",
			i ? "," : "", s->t, s->calls, s->tx_pps, s->rx_pps, s->loss, s->p99_us,
			s->relay_cores, s->gen_cores);
	}
	fprintf(f, "\n  ]\n}\n");
	int rc = ferror(f) ? -EIO : 0;
	if (fclose(f) != 0)
		rc = -errno;
	return rc;
}

int report_csv(const struct bench_report *r, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -errno;
	}
	if (r->has_control) {
		const struct bench_control *c = &r->ctl;
		fprintf(f, "scenario,label,pairs,pairs_per_s,us_per_pair,deletes,deletes_per_s,"
			"us_per_delete,errors,rss_peak_kb,mem_per_call_kb\n");
		fprintf(f, "%s,%s,%llu,%.1f,%.2f,%llu,%.1f,%.2f,%llu,%ld,%.2f\n", r->scenario, r->label,
			(unsigned long long)c->pairs, c->pairs_per_s, c->us_per_pair,
			(unsigned long long)c->deletes, c->deletes_per_s, c->us_per_delete,
			(unsigned long long)c->errors, c->rss_peak_kb, c->mem_per_call_kb);
	} else {
		fprintf(f, "scenario,label,calls,secs,relay_cores,relay_ns_per_pkt,relay_us_per_callsec,"
			"calls_per_core,gen_cores,generator_bound,rss_kb,mem_per_call_kb,"
			"ab_sent,ab_loss,ab_p50_us,ab_p99_us,ab_max_us,ab_jitter_ms,"
			"ba_sent,ba_loss,ba_p50_us,ba_p99_us,ba_max_us,ba_jitter_ms,pass,"
			"mem_slope_kb_per_call,mem_fixed_kb,rss_after_delete_minus_base_kb\n");
		for (size_t i = 0; i < r->nrows; i++) {
			const struct bench_row *w = &r->rows[i];
			fprintf(f, "%s,%s,%u,%.3f,%.4f,%.1f,%.3f,%.1f,%.4f,%d,%ld,%.3f", r->scenario,
				r->label, w->calls, w->secs, w->relay_cores, w->relay_ns_per_pkt,
				w->relay_us_per_callsec, w->calls_per_core, w->gen_cores, w->gen_bound,
				w->rss_kb, w->mem_per_call_kb);
			for (int d = 0; d < 2; d++)
				fprintf(f, ",%llu,%.6f,%.0f,%.0f,%.0f,%.4f", (unsigned long long)w->sent[d],
					w->loss[d], w->p50_us[d], w->p99_us[d], w->max_us[d],
					w->jit_mean_ms[d]);
			/* the run's memory figures (the same on every row; empty
			 * when no slope could be fitted) */
			fprintf(f, ",%d,", w->pass);
			if (r->mem_fit_ok)
				fprintf(f, "%.3f,%.1f", r->mem_fit.slope,
					r->mem_fit.intercept - (double)r->rss_base_kb);
			else
				fprintf(f, ",");
			fprintf(f, ",%ld\n", r->rss_after_delete_kb - r->rss_base_kb);
		}
	}
	int rc = ferror(f) ? -EIO : 0;
	if (fclose(f) != 0)
		rc = -errno;
	return rc;
}

int report_plot(const struct bench_report *r, const char *path)
{
	if (r->has_control || (!r->nrows && !r->nsamples)) {
		fprintf(stderr, "--plot: nothing to draw for this run\n");
		return 0;
	}
	char dat[4096];
	snprintf(dat, sizeof(dat), "%s.dat", path);
	FILE *f = fopen(dat, "w");
	if (!f)
		return -errno;
	/* ramp: one point per step against calls; a fixed run: per second against time */
	int by_calls = r->nrows > 1;
	if (by_calls) {
		fprintf(f, "# calls relay_cores p99_us\n");
		for (size_t i = 0; i < r->nrows; i++) {
			const struct bench_row *w = &r->rows[i];
			double p99 = w->p99_us[0] > w->p99_us[1] ? w->p99_us[0] : w->p99_us[1];
			fprintf(f, "%u %.4f %.0f\n", w->calls, w->relay_cores, p99);
		}
	} else {
		fprintf(f, "# t relay_cores p99_us calls\n");
		for (size_t i = 0; i < r->nsamples; i++)
			fprintf(f, "%.2f %.4f %.0f %u\n", r->samples[i].t, r->samples[i].relay_cores,
				r->samples[i].p99_us, r->samples[i].calls);
	}
	fclose(f);
	FILE *g = popen("gnuplot", "w");
	if (!g) {
		fprintf(stderr, "gnuplot not found (apt-get install gnuplot-nox)\n");
		return -ENOENT;
	}
	fprintf(g, "set terminal pngcairo size 900,500 noenhanced\n"
		"set output '%s'\n"
		"set title 'rtpgate-bench %s %s'\n"
		"set xlabel '%s'\nset ylabel 'relay CPU (cores)'\nset y2label 'p99 added latency (us)'\n"
		"set ytics nomirror\nset y2tics\nset grid\nset key left top\n"
		"plot '%s' using 1:2 with linespoints title 'relay CPU' axes x1y1, "
		"'%s' using 1:3 with linespoints title 'p99 latency' axes x1y2\n",
		path, r->scenario, r->label, by_calls ? "calls" : "seconds", dat, dat);
	int st = pclose(g);
	if (st != 0) {
		fprintf(stderr, "gnuplot failed (status %d); data in %s\n", st, dat);
		return -EIO;
	}
	return 0;
}
