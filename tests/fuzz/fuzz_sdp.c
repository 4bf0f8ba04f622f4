/* fuzz_sdp.c - libFuzzer target: sdp_parse() on arbitrary bytes and, when
 * it succeeds, sdp_rewrite() with options taken from the input's first
 * byte (ports, rtcp-mux, protocol, codec subset, crypto removal, extra
 * attributes, ICE removal, dropped attributes), then the rewritten body is
 * parsed again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "buf.h"
#include "sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sdp_session *s = NULL;
	char err[256];
	if (size > SDP_MAX_SIZE + 16)
		return 0;
	if (sdp_parse((const char *)data, size, &s, err, sizeof(err)) < 0)
		return 0;
	uint8_t o = size ? data[0] : 0;
	static const char *const attrs[] = { "crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAA", "x-rg:1" };
	static const char *const drops[] = { "fingerprint", "setup", "ssrc" };
	struct sdp_media_rewrite mr[SDP_MAX_MEDIA];
	memset(mr, 0, sizeof(mr));
	int n = sdp_media_count(s);
	for (int i = 0; i < n; i++) {
		const struct sdp_media *m = sdp_media_get(s, i);
		mr[i].port = (o & 1) && i == 1 ? 0 : 30000 + 2 * i;
		mr[i].rtcp_port = o & 2 ? 30001 + 2 * i : 0;
		mr[i].rtcp_mux = o & 4;
		mr[i].proto = o & 8 ? "RTP/SAVP" : NULL;
		mr[i].drop_crypto = o & 16;
		if (o & 32) {
			mr[i].add_attrs = attrs;
			mr[i].nadd = 2;
		}
		if ((o & 64) && m->ncodecs > 0) {
			mr[i].codecs = m->codecs;
			mr[i].ncodecs = m->ncodecs > 2 ? 2 : m->ncodecs;
		}
		mr[i].ptime = o & 128 ? 20 : 0;
		mr[i].dir = (enum sdp_dir)(i % 5);
	}
	int fam = n ? sdp_media_get(s, 0)->family : AF_INET;
	struct sdp_rewrite rw = {
		.addr = fam == AF_INET6 ? "::1" : "127.0.0.1",
		.family = fam == AF_INET6 ? AF_INET6 : AF_INET,
		.replace_origin = o & 1,
		.replace_session_name = o & 2,
		.ice_remove = o & 4,
		.drop_attrs = o & 8 ? drops : NULL,
		.ndrop = o & 8 ? 3 : 0,
		.nmedia = n,
		.media = mr,
	};
	struct rg_buf out;
	buf_init(&out);
	if (sdp_rewrite(s, &rw, &out, err, sizeof(err)) == 0 && buf_ok(&out)) {
		struct sdp_session *s2 = NULL;
		if (sdp_parse(out.data, out.len, &s2, err, sizeof(err)) == 0)
			sdp_free(s2);
	}
	buf_free(&out);
	sdp_free(s);
	return 0;
}
