/* fuzz_rtp.c - libFuzzer target: rtp_parse()/rtp_classify() on arbitrary
 * bytes, and the RTCP compound walk with every accessor on each
 * sub-packet. Any pointer the parsers return must stay inside the input
 * (checked here, and by AddressSanitizer on the reads).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtcp.h"
#include "rtp.h"

static const uint8_t *lo, *hi;

static void inside(const void *p, size_t n)
{
	if (n && ((const uint8_t *)p < lo || (const uint8_t *)p + n > hi))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a private copy so that reads past the end hit ASan's redzone */
	uint8_t *p = malloc(size ? size : 1);
	if (!p)
		return 0;
	memcpy(p, data, size);
	lo = p;
	hi = p + size;
	struct rtp_hdr h;
	if (rtp_parse(&h, p, size) == 0) {
		inside(h.payload, h.payload_len);
		if (h.extension)
			inside(h.ext, h.ext_len);
		if (h.header_len + h.payload_len + h.pad_len != size)
			abort();
	}
	(void)rtp_classify(p, size);
	(void)rtp_is_rtcp(p, size);
	(void)rtcp_validate(p, size);
	struct rtcp_iter it;
	struct rtcp_pkt k;
	rtcp_iter_init(&it, p, size);
	int guard = 0;
	while (rtcp_iter_next(&it, &k) == 1 && guard++ < 10000) {
		inside(k.data, k.len);
		struct rtcp_sender_info si;
		struct rtcp_report_block rb;
		uint32_t ssrc;
		const char *s;
		const uint8_t *d;
		size_t n;
		(void)rtcp_sr_info(&k, &si);
		for (unsigned i = 0; i < k.count; i++)
			(void)rtcp_report_block(&k, i, &rb);
		if (rtcp_sdes_cname(&k, &ssrc, &s, &n) == 0)
			inside(s, n);
		for (unsigned i = 0; i < k.count; i++)
			(void)rtcp_bye_ssrc(&k, i, &ssrc);
		if (rtcp_bye_reason(&k, &s, &n) == 0)
			inside(s, n);
		if (rtcp_app(&k, &s, &d, &n) == 0) {
			inside(s, 4);
			inside(d, n);
		}
		if (rtcp_fb(&k, &ssrc, &d, &n) == 0)
			inside(d, n);
	}
	free(p);
	return 0;
}
