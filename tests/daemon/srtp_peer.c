/* srtp_peer.c - an SRTP endpoint's crypto for the daemon tests, on libsrtp2
 * directly (none of rtpgate's code), so that the Python tests can check
 * rtpgate against an SRTP implementation that was not written here.
 *
 *   srtp_peer SUITE TX_KEY_HEX RX_KEY_HEX
 *
 * SUITE is an RFC 4568 / RFC 7714 name; the keys are master key || salt in
 * hex: TX protects what this endpoint sends, RX unprotects what it gets.
 * Then one request per stdin line, one answer per stdout line:
 *   p HEX   protect RTP       -> "ok HEX" or "err CODE"
 *   P HEX   protect RTCP
 *   u HEX   unprotect RTP     -> "ok HEX" (the plain packet) or "err CODE"
 *   U HEX   unprotect RTCP
 * CODE is libsrtp's srtp_err_status_t (7 auth_fail, 9 replay_fail,
 * 10 replay_old, ...). The process exits at end of input. Python does all the
 * networking; this only does the cryptography.
 */
#include <srtp2/srtp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unhex(const char *s, unsigned char *out, size_t cap)
{
	size_t n = 0;
	while (s[0] && s[0] != '\n' && s[0] != '\r') {
		unsigned v;
		if (!s[1] || sscanf(s, "%2x", &v) != 1 || n >= cap)
			return -1;
		out[n++] = (unsigned char)v;
		s += 2;
	}
	return (int)n;
}

static void puthex(const unsigned char *p, int n)
{
	fputs("ok ", stdout);
	for (int i = 0; i < n; i++)
		printf("%02x", p[i]);
	putchar('\n');
}

static int set_suite(const char *name, srtp_policy_t *p)
{
	if (!strcmp(name, "AES_CM_128_HMAC_SHA1_80")) {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
	} else if (!strcmp(name, "AES_CM_128_HMAC_SHA1_32")) {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);  /* RFC 4568 6.2.2 */
	} else if (!strcmp(name, "AEAD_AES_128_GCM")) {
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtcp);
	} else if (!strcmp(name, "AEAD_AES_256_GCM")) {
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p->rtp);
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p->rtcp);
	} else {
		return -1;
	}
	return 0;
}

static srtp_t make(const char *suite, const char *hex, srtp_ssrc_type_t type, unsigned char *key)
{
	srtp_policy_t p;
	memset(&p, 0, sizeof(p));
	if (set_suite(suite, &p) < 0 || unhex(hex, key, 64) <= 0)
		return NULL;
	p.ssrc.type = type;
	p.key = key;
	p.window_size = 128;
	p.next = NULL;
	srtp_t s = NULL;
	return srtp_create(&s, &p) == srtp_err_status_ok ? s : NULL;
}

int main(int argc, char **argv)
{
	static unsigned char txkey[64], rxkey[64];
	static char line[20000];
	static unsigned char pkt[8192] __attribute__((aligned(4)));
	if (argc != 4) {
		fprintf(stderr, "usage: srtp_peer SUITE TX_KEY_HEX RX_KEY_HEX\n");
		return 2;
	}
	if (srtp_init() != srtp_err_status_ok)
		return 1;
	srtp_t tx = make(argv[1], argv[2], ssrc_any_outbound, txkey);
	srtp_t rx = make(argv[1], argv[3], ssrc_any_inbound, rxkey);
	if (!tx || !rx) {
		fprintf(stderr, "srtp_peer: bad suite or key\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		if (line[0] == '\n' || line[0] == 0)
			continue;
		int n = line[1] == ' ' ? unhex(line + 2, pkt, sizeof(pkt) - 256) : -1;
		if (n < 0) {
			puts("err -1");
			continue;
		}
		srtp_err_status_t st;
		switch (line[0]) {
		case 'p': st = srtp_protect(tx, pkt, &n); break;
		case 'P': st = srtp_protect_rtcp(tx, pkt, &n); break;
		case 'u': st = srtp_unprotect(rx, pkt, &n); break;
		case 'U': st = srtp_unprotect_rtcp(rx, pkt, &n); break;
		default: puts("err -1"); continue;
		}
		if (st != srtp_err_status_ok)
			printf("err %d\n", (int)st);
		else
			puthex(pkt, n);
	}
	srtp_dealloc(tx);
	srtp_dealloc(rx);
	srtp_shutdown();
	return 0;
}
