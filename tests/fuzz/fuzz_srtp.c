/* fuzz_srtp.c - libFuzzer target: the SRTP receive path. Arbitrary bytes go
 * through srtp_dir_unprotect_rtp() and _rtcp() of an IN context of every
 * suite (the state persists across inputs, as a long-lived call's would),
 * through protect on an OUT context, and, as text, through
 * srtp_sdes_parse() and srtp_base64_decode(). A packet this target did not
 * protect must never authenticate: success on unprotect of fuzz input
 * would mean a forged packet is accepted, so it aborts -- except for inputs
 * that are themselves valid SRTP made by the OUT context (the first byte
 * 0xff selects that: protect, then unprotect must succeed once).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "srtp.h"

#define NS 4
static struct srtp_dir *in[NS], *out[NS], *loop_in[NS];

static void setup(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	uint8_t key[SRTP_KEY_SALT_MAX];
	for (int i = 0; i < SRTP_KEY_SALT_MAX; i++)
		key[i] = (uint8_t)(i * 7 + 1);
	for (int s = 0; s < NS; s++) {
		enum srtp_suite su = (enum srtp_suite)(SRTP_SUITE_FIRST + s);
		size_t kl = srtp_suite_key_len(su);
		if (srtp_dir_create_key(&in[s], SRTP_IN, su, key, kl) < 0 ||
		    srtp_dir_create_key(&out[s], SRTP_OUT, su, key, kl) < 0 ||
		    srtp_dir_create_key(&loop_in[s], SRTP_IN, su, key, kl) < 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[4096 + 256] __attribute__((aligned(8)));
	setup();
	if (size > 4096)
		return 0;
	int s = size ? data[size - 1] % NS : 0;
	if (size >= 13 && data[0] == 0xff) {
		/* a packet of our own: protect, then it must authenticate once */
		memcpy(buf, data, size);
		buf[0] = 0x80;
		size_t len = size;
		int rtcp = buf[1] >= 192 && buf[1] <= 223;
		int r = rtcp ? srtp_dir_protect_rtcp(out[s], buf, &len, sizeof(buf))
			     : srtp_dir_protect_rtp(out[s], buf, &len, sizeof(buf));
		if (r == 0) {
			r = rtcp ? srtp_dir_unprotect_rtcp(loop_in[s], buf, &len)
				 : srtp_dir_unprotect_rtp(loop_in[s], buf, &len);
			if (r < 0 && r != SRTP_E_REPLAY)
				abort();
		}
		return 0;
	}
	for (int k = 0; k < NS; k++) {
		size_t len = size;
		memcpy(buf, data, size);
		if (srtp_dir_unprotect_rtp(in[k], buf, &len) == 0)
			abort();   /* a forged SRTP packet authenticated */
		len = size;
		memcpy(buf, data, size);
		if (srtp_dir_unprotect_rtcp(in[k], buf, &len) == 0)
			abort();   /* a forged SRTCP packet authenticated */
	}
	struct srtp_sdes p;
	const char *why;
	(void)srtp_sdes_parse(&p, (const char *)data, size, &why);
	uint8_t dec[512];
	(void)srtp_base64_decode((const char *)data, size, dec, sizeof(dec));
	return 0;
}
