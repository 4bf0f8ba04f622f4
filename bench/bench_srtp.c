/* bench_srtp.c - SRTP protect/unprotect cost per packet, per crypto suite.
 *
 * Measures the relay's own srtp_dir_* calls (so the wrapper's checks are
 * included) on 160-byte payloads (20 ms of G.711), single-threaded, and
 * reports thread CPU time (CLOCK_THREAD_CPUTIME_ID) per packet so that a
 * busy shared machine inflates the numbers less than wall time would.
 * Unprotect is timed on packets protected beforehand into a ring, so each
 * one is fresh for the replay check. Also times the authentication-failure
 * path (what a flood of forged packets costs). Output, one line per result:
 *   srtp suite=AES_CM_128_HMAC_SHA1_80 op=protect payload=160 packets=N ns_per_packet=X
 * Options: --packets N (default 200000), --payload BYTES (default 160).
 * Never fails for being slow; exits non-zero only if SRTP itself fails.
 */
#include "srtp.h"
#include "rtp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RING 1024
#define SLOT 1536

static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void report(const char *suite, const char *op, size_t payload, unsigned long n, uint64_t ns)
{
	printf("srtp suite=%s op=%s payload=%zu packets=%lu ns_per_packet=%.1f\n",
	       suite, op, payload, n, n ? (double)ns / (double)n : 0.0);
	fflush(stdout);
}

static int bench_suite(enum srtp_suite suite, unsigned long packets, size_t payload,
		       uint8_t (*ring)[SLOT], size_t *lens)
{
	const char *name = srtp_suite_name(suite);
	struct srtp_sdes k;
	struct srtp_dir *out = NULL, *in = NULL, *stranger = NULL;
	struct srtp_sdes k2;
	if (srtp_sdes_generate(&k, 1, suite) < 0 || srtp_sdes_generate(&k2, 1, suite) < 0
	    || srtp_dir_create(&out, SRTP_OUT, &k) < 0 || srtp_dir_create(&in, SRTP_IN, &k) < 0
	    || srtp_dir_create(&stranger, SRTP_OUT, &k2) < 0) {
		fprintf(stderr, "bench_srtp: cannot create %s contexts\n", name);
		return -1;
	}
	uint8_t pl[SLOT];
	memset(pl, 0xd5, sizeof(pl));
	uint64_t t_prot = 0, t_unprot = 0;
	unsigned long done = 0;
	uint16_t seq = 1;
	int rc = 0;

	while (done < packets) {
		unsigned batch = packets - done < RING ? (unsigned)(packets - done) : RING;
		/* protect: build each packet outside the timed region */
		for (unsigned i = 0; i < batch; i++) {
			int n = rtp_write_packet(ring[i], SLOT, 0, false, seq, seq * 160u,
						 0x11223344, pl, payload);
			lens[i] = (size_t)n;
			seq++;
		}
		uint64_t t0 = cpu_ns();
		for (unsigned i = 0; i < batch; i++)
			if (srtp_dir_protect_rtp(out, ring[i], &lens[i], SLOT) != 0)
				rc = -1;
		t_prot += cpu_ns() - t0;
		t0 = cpu_ns();
		for (unsigned i = 0; i < batch; i++)
			if (srtp_dir_unprotect_rtp(in, ring[i], &lens[i]) != 0)
				rc = -1;
		t_unprot += cpu_ns() - t0;
		done += batch;
	}
	report(name, "protect", payload, done, t_prot);
	report(name, "unprotect", payload, done, t_unprot);

	/* forged packets (right format, wrong key): the drop path. A failed
	 * unprotect leaves the length alone, so the ring is reused as is. */
	unsigned long forged = packets / 4 ? packets / 4 : 1;
	for (unsigned j = 0; j < RING; j++) {
		int n = rtp_write_packet(ring[j], SLOT, 0, false, (uint16_t)(seq + j),
					 0, 0x11223344, pl, payload);
		lens[j] = (size_t)n;
		srtp_dir_protect_rtp(stranger, ring[j], &lens[j], SLOT);
	}
	uint64_t t0 = cpu_ns();
	for (unsigned long i = 0; i < forged; i++) {
		size_t l = lens[i % RING];
		if (srtp_dir_unprotect_rtp(in, ring[i % RING], &l) != SRTP_E_AUTH)
			rc = -1;
	}
	uint64_t t_fail = cpu_ns() - t0;
	report(name, "reject_forged", payload, forged, t_fail);

	srtp_dir_destroy(out);
	srtp_dir_destroy(in);
	srtp_dir_destroy(stranger);
	if (rc < 0)
		fprintf(stderr, "bench_srtp: %s: an SRTP call failed\n", name);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned long packets = 200000;
	size_t payload = 160;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--packets") && i + 1 < argc)
			packets = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--payload") && i + 1 < argc)
			payload = strtoul(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: %s [--packets N] [--payload BYTES]\n", argv[0]);
			return 2;
		}
	}
	if (payload > 1400)
		payload = 1400;
	if (srtp_module_init() < 0) {
		fprintf(stderr, "bench_srtp: libsrtp init failed\n");
		return 1;
	}
	static uint8_t ring[RING][SLOT] __attribute__((aligned(8)));
	static size_t lens[RING];
	int rc = 0;
	for (int s = SRTP_SUITE_FIRST; s <= SRTP_SUITE_LAST; s++)
		if (bench_suite((enum srtp_suite)s, packets, payload, ring, lens) < 0)
			rc = 1;
	return rc;
}
