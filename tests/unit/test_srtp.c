/* test_srtp.c - SRTP/SRTCP through libsrtp2, SDES a=crypto, base64, keys.
 *
 * Known-answer packets: the AES_CM_128_HMAC_SHA1_80 and AEAD_AES_128_GCM
 * reference packets published with libsrtp (test/srtp_driver.c,
 * srtp_validate() and srtp_validate_gcm(), github.com/cisco/libsrtp). The
 * AES-CM one uses the RFC 3711 Appendix B.3 master key and salt. RFC 7714's
 * own section 16/17 vectors are given in terms of session keys, which
 * libsrtp's API cannot take, so they are not used here.
 *
 * Independent reference: a second SRTP implementation written here from
 * RFC 3711 (key derivation, AES-CM, HMAC-SHA1) and RFC 7714 (AES-GCM) on
 * top of OpenSSL's libcrypto (libsrtp in Debian uses NSS, so the two share
 * no code). It is first checked against RFC 3711 Appendix B.2 (AES-CM
 * keystream) and B.3 (key derivation), then every suite's SRTP and SRTCP
 * output from srtp_dir_* is compared with it byte for byte.
 */
#include "unit.h"
#include "srtp.h"
#include "rtp.h"
#include "rtcp.h"

#include <pthread.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define BUF 2048
struct pbuf { _Alignas(8) uint8_t b[BUF]; };

static void hexdump_diff(const char *what, const uint8_t *got, const uint8_t *want, size_t n)
{
	char g[3 * 64 + 1] = "", w[3 * 64 + 1] = "";
	for (size_t i = 0; i < n && i < 64; i++) {
		sprintf(g + 3 * i, "%02x ", got[i]);
		sprintf(w + 3 * i, "%02x ", want[i]);
	}
	printf("  %s\n    got:  %s\n    want: %s\n", what, g, w);
}
#define EXPECT_BYTES(got, want, n) do { if (memcmp((got), (want), (n)) != 0) { \
	hexdump_diff(#got, (const uint8_t *)(got), (const uint8_t *)(want), (n)); \
	unit_fail(__FILE__, __LINE__, "%s: %zu bytes differ", #got, (size_t)(n)); } } while (0)

static const enum srtp_suite all_suites[] = {
	SRTP_SUITE_AES_CM_128_HMAC_SHA1_80, SRTP_SUITE_AES_CM_128_HMAC_SHA1_32,
	SRTP_SUITE_AEAD_AES_128_GCM, SRTP_SUITE_AEAD_AES_256_GCM,
};
#define NSUITES (sizeof(all_suites) / sizeof(all_suites[0]))

static void make_pair(enum srtp_suite s, struct srtp_dir **out, struct srtp_dir **in)
{
	struct srtp_sdes k;
	EXPECT_INT(srtp_sdes_generate(&k, 1, s), 0);
	EXPECT_INT(srtp_dir_create(out, SRTP_OUT, &k), 0);
	EXPECT_INT(srtp_dir_create(in, SRTP_IN, &k), 0);
}

static size_t make_rtp(uint8_t *b, uint16_t seq, uint32_t ssrc, size_t payload)
{
	uint8_t pl[1400];
	for (size_t i = 0; i < payload && i < sizeof(pl); i++)
		pl[i] = (uint8_t)(i * 7 + seq);
	int n = rtp_write_packet(b, BUF, 0, false, seq, (uint32_t)seq * 160u, ssrc, pl, payload);
	return n < 0 ? 0 : (size_t)n;
}

/* ------------------------------------------------------------ init */

static void *init_thread(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)srtp_module_init();
}

static void t_module_init(void)
{
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, init_thread, NULL);
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(th[i], &r);
		EXPECT_INT((intptr_t)r, 0);
	}
	EXPECT_INT(srtp_module_init(), 0);
}

/* ------------------------------------------------------------ KAT */

/* RFC 3711 B.3 master key (16) || master salt (14) */
static const uint8_t key_rfc3711[30] = {
	0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0, 0xd6, 0x4f, 0xa3, 0x2c, 0x06, 0xde, 0x41, 0x39,
	0x0e, 0xc6, 0x75, 0xad, 0x49, 0x8a, 0xfe, 0xeb, 0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6,
};
static const uint8_t rtp_plain[28] = {
	0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba, 0xbe,
	0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
	0xab, 0xab, 0xab, 0xab,
};
static const uint8_t rtcp_plain[24] = {
	0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe,
	0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
	0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
};
static const uint8_t cm80_srtp[38] = {
	0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba, 0xbe,
	0x4e, 0x55, 0xdc, 0x4c, 0xe7, 0x99, 0x78, 0xd8, 0x8c, 0xa4, 0xd2, 0x15,
	0x94, 0x9d, 0x24, 0x02, 0xb7, 0x8d, 0x6a, 0xcc, 0x99, 0xea, 0x17, 0x9b,
	0x8d, 0xbb,
};
static const uint8_t cm80_srtcp[38] = {
	0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe,
	0x71, 0x28, 0x03, 0x5b, 0xe4, 0x87, 0xb9, 0xbd, 0xbe, 0xf8, 0x90, 0x41,
	0xf9, 0x77, 0xa5, 0xa8, 0x80, 0x00, 0x00, 0x01, 0x99, 0x3e, 0x08, 0xcd,
	0x54, 0xd6, 0xc1, 0x23, 0x07, 0x98,
};
/* libsrtp test_key_gcm: 16-byte key || 12-byte salt */
static const uint8_t key_gcm[28] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,
};
static const uint8_t gcm_srtp[44] = {
	0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba, 0xbe,
	0xc5, 0x00, 0x2e, 0xde, 0x04, 0xcf, 0xdd, 0x2e, 0xb9, 0x11, 0x59, 0xe0,
	0x88, 0x0a, 0xa0, 0x6e, 0xd2, 0x97, 0x68, 0x26, 0xf7, 0x96, 0xb2, 0x01,
	0xdf, 0x31, 0x31, 0xa1, 0x27, 0xe8, 0xa3, 0x92,
};
static const uint8_t gcm_srtcp[44] = {
	0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe,
	0xc9, 0x8b, 0x8b, 0x5d, 0xf0, 0x39, 0x2a, 0x55, 0x85, 0x2b, 0x6c, 0x21,
	0xac, 0x8e, 0x70, 0x25, 0xc5, 0x2c, 0x6f, 0xbe, 0xa2, 0xb3, 0xb4, 0x46,
	0xea, 0x31, 0x12, 0x3b, 0xa8, 0x8c, 0xe6, 0x1e, 0x80, 0x00, 0x00, 0x01,
};

static void kat(enum srtp_suite suite, const uint8_t *key, size_t key_len,
		const uint8_t *want_rtp, size_t want_rtp_len,
		const uint8_t *want_rtcp, size_t want_rtcp_len)
{
	struct srtp_dir *out, *in;
	EXPECT_INT(srtp_dir_create_key(&out, SRTP_OUT, suite, key, key_len), 0);
	EXPECT_INT(srtp_dir_create_key(&in, SRTP_IN, suite, key, key_len), 0);
	if (!out || !in)
		return;
	struct pbuf p;
	size_t len = sizeof(rtp_plain);
	memcpy(p.b, rtp_plain, len);
	EXPECT_INT(srtp_dir_protect_rtp(out, p.b, &len, BUF), 0);
	EXPECT_INT(len, want_rtp_len);
	EXPECT_BYTES(p.b, want_rtp, want_rtp_len);
	EXPECT_INT(srtp_dir_unprotect_rtp(in, p.b, &len), 0);
	EXPECT_INT(len, sizeof(rtp_plain));
	EXPECT_BYTES(p.b, rtp_plain, sizeof(rtp_plain));

	len = sizeof(rtcp_plain);
	memcpy(p.b, rtcp_plain, len);
	EXPECT_INT(srtp_dir_protect_rtcp(out, p.b, &len, BUF), 0);
	EXPECT_INT(len, want_rtcp_len);
	EXPECT_BYTES(p.b, want_rtcp, want_rtcp_len);
	EXPECT_INT(srtp_dir_unprotect_rtcp(in, p.b, &len), 0);
	EXPECT_INT(len, sizeof(rtcp_plain));
	EXPECT_BYTES(p.b, rtcp_plain, sizeof(rtcp_plain));
	srtp_dir_destroy(out);
	srtp_dir_destroy(in);
}

static void t_kat_aes_cm_128_hmac_sha1_80(void)
{
	kat(SRTP_SUITE_AES_CM_128_HMAC_SHA1_80, key_rfc3711, sizeof(key_rfc3711),
	    cm80_srtp, sizeof(cm80_srtp), cm80_srtcp, sizeof(cm80_srtcp));
}

static void t_kat_aead_aes_128_gcm(void)
{
	kat(SRTP_SUITE_AEAD_AES_128_GCM, key_gcm, sizeof(key_gcm),
	    gcm_srtp, sizeof(gcm_srtp), gcm_srtcp, sizeof(gcm_srtcp));
}

/* ------------------------------------------------------------ reference */

/* AES-CTR keystream XOR: 16-byte IV, big-endian counter in the IV. */
static void ref_aes_ctr(const uint8_t *key, size_t key_len, const uint8_t iv[16],
			uint8_t *data, size_t n)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int outl = 0;
	EVP_EncryptInit_ex(c, key_len == 32 ? EVP_aes_256_ctr() : EVP_aes_128_ctr(), NULL, key, iv);
	EVP_EncryptUpdate(c, data, &outl, data, (int)n);
	EVP_CIPHER_CTX_free(c);
}

/* RFC 3711 4.3.1 with kdr = 0: x = label at octet 7 XOR master salt
 * (14 octets; a 12-octet AEAD salt is zero-padded, as libsrtp does). */
static void ref_kdf(const uint8_t *mkey, size_t mkey_len, const uint8_t *msalt, size_t msalt_len,
		    uint8_t label, uint8_t *out, size_t n)
{
	uint8_t iv[16] = { 0 };
	memcpy(iv, msalt, msalt_len);
	iv[7] ^= label;
	memset(out, 0, n);
	ref_aes_ctr(mkey, mkey_len, iv, out, n);
}

struct ref_keys {
	uint8_t enc[32], salt[14], auth[20];
	uint8_t cenc[32], csalt[14], cauth[20];
	size_t key_len, salt_len;
	bool aead;
	size_t tag, ctag;
};

static void ref_derive(struct ref_keys *k, enum srtp_suite s, const uint8_t *master)
{
	memset(k, 0, sizeof(*k));
	k->aead = s == SRTP_SUITE_AEAD_AES_128_GCM || s == SRTP_SUITE_AEAD_AES_256_GCM;
	k->key_len = s == SRTP_SUITE_AEAD_AES_256_GCM ? 32 : 16;
	k->salt_len = k->aead ? 12 : 14;
	k->tag = k->aead ? 16 : s == SRTP_SUITE_AES_CM_128_HMAC_SHA1_32 ? 4 : 10;
	k->ctag = k->aead ? 16 : 10;
	const uint8_t *msalt = master + k->key_len;
	ref_kdf(master, k->key_len, msalt, k->salt_len, 0, k->enc, k->key_len);
	ref_kdf(master, k->key_len, msalt, k->salt_len, 2, k->salt, k->salt_len);
	ref_kdf(master, k->key_len, msalt, k->salt_len, 3, k->cenc, k->key_len);
	ref_kdf(master, k->key_len, msalt, k->salt_len, 5, k->csalt, k->salt_len);
	if (!k->aead) {
		ref_kdf(master, k->key_len, msalt, k->salt_len, 1, k->auth, 20);
		ref_kdf(master, k->key_len, msalt, k->salt_len, 4, k->cauth, 20);
	}
}

static void ref_gcm(const uint8_t *key, size_t key_len, const uint8_t iv[12],
		    const uint8_t *aad, size_t aad_len, uint8_t *data, size_t n, uint8_t tag[16])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int outl = 0;
	EVP_EncryptInit_ex(c, key_len == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm(), NULL, NULL, NULL);
	EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL);
	EVP_EncryptInit_ex(c, NULL, NULL, key, iv);
	EVP_EncryptUpdate(c, NULL, &outl, aad, (int)aad_len);
	if (n)
		EVP_EncryptUpdate(c, data, &outl, data, (int)n);
	EVP_EncryptFinal_ex(c, data + n, &outl);
	EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag);
	EVP_CIPHER_CTX_free(c);
}

/* RFC 3711 3.1 / RFC 7714 8: protect one RTP packet (fixed 12-byte header
 * plus CSRCs/extension) with packet index roc:seq. Returns the new length. */
static size_t ref_protect_rtp(const struct ref_keys *k, uint8_t *p, size_t len, uint32_t roc)
{
	struct rtp_hdr h;
	if (rtp_parse(&h, p, len) < 0)
		return 0;
	size_t hl = h.header_len;
	if (k->aead) {
		uint8_t iv[12] = { 0 };
		memcpy(iv + 2, p + 8, 4);
		iv[6] = (uint8_t)(roc >> 24); iv[7] = (uint8_t)(roc >> 16);
		iv[8] = (uint8_t)(roc >> 8); iv[9] = (uint8_t)roc;
		memcpy(iv + 10, p + 2, 2);
		for (int i = 0; i < 12; i++)
			iv[i] ^= k->salt[i];
		uint8_t tag[16];
		ref_gcm(k->enc, k->key_len, iv, p, hl, p + hl, len - hl, tag);
		memcpy(p + len, tag, 16);
		return len + 16;
	}
	uint8_t iv[16] = { 0 };
	memcpy(iv, k->salt, 14);
	for (int i = 0; i < 4; i++)
		iv[4 + i] ^= p[8 + i];                       /* SSRC * 2^64 */
	uint8_t idx[6] = { (uint8_t)(roc >> 24), (uint8_t)(roc >> 16), (uint8_t)(roc >> 8),
			   (uint8_t)roc, p[2], p[3] };
	for (int i = 0; i < 6; i++)
		iv[8 + i] ^= idx[i];                         /* index * 2^16 */
	ref_aes_ctr(k->enc, k->key_len, iv, p + hl, len - hl);
	uint8_t mac[20];
	unsigned ml = 0;
	memcpy(p + len, idx, 4);                             /* ROC, authenticated only */
	HMAC(EVP_sha1(), k->auth, 20, p, len + 4, mac, &ml);
	memcpy(p + len, mac, k->tag);
	return len + k->tag;
}

/* RFC 3711 3.4 / RFC 7714 9: protect one RTCP compound with SRTCP index. */
static size_t ref_protect_rtcp(const struct ref_keys *k, uint8_t *p, size_t len, uint32_t index)
{
	uint8_t eidx[4] = { (uint8_t)(0x80 | (index >> 24)), (uint8_t)(index >> 16),
			    (uint8_t)(index >> 8), (uint8_t)index };
	if (k->aead) {
		uint8_t iv[12] = { 0 };
		memcpy(iv + 2, p + 4, 4);
		memcpy(iv + 8, eidx, 4);
		iv[8] &= 0x7f;
		for (int i = 0; i < 12; i++)
			iv[i] ^= k->csalt[i];
		uint8_t aad[12];
		memcpy(aad, p, 8);
		memcpy(aad + 8, eidx, 4);
		uint8_t tag[16];
		ref_gcm(k->cenc, k->key_len, iv, aad, 12, p + 8, len - 8, tag);
		memcpy(p + len, tag, 16);
		memcpy(p + len + 16, eidx, 4);
		return len + 20;
	}
	uint8_t iv[16] = { 0 };
	memcpy(iv, k->csalt, 14);
	for (int i = 0; i < 4; i++)
		iv[4 + i] ^= p[4 + i];
	uint8_t idx[4] = { (uint8_t)(index >> 24), (uint8_t)(index >> 16), (uint8_t)(index >> 8),
			   (uint8_t)index };
	for (int i = 0; i < 4; i++)
		iv[10 + i] ^= idx[i];
	ref_aes_ctr(k->cenc, k->key_len, iv, p + 8, len - 8);
	memcpy(p + len, eidx, 4);
	uint8_t mac[20];
	unsigned ml = 0;
	HMAC(EVP_sha1(), k->cauth, 20, p, len + 4, mac, &ml);
	memcpy(p + len + 4, mac, k->ctag);
	return len + 4 + k->ctag;
}

static void unhex(const char *h, uint8_t *out)
{
	for (size_t i = 0; h[2 * i]; i++) {
		unsigned v;
		sscanf(h + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

/* The reference itself against RFC 3711 Appendix B.2 and B.3. */
static void t_reference_rfc3711_b2_b3(void)
{
	/* B.2: session key, salt, SSRC 0, index 0; keystream of 0..2 and
	 * 0xfeff..0xff01 */
	uint8_t key[16], salt[14];
	unhex("2B7E151628AED2A6ABF7158809CF4F3C", key);
	unhex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD", salt);
	uint8_t iv[16] = { 0 };
	memcpy(iv, salt, 14);
	static uint8_t ks[0xff02 * 16];
	memset(ks, 0, sizeof(ks));
	ref_aes_ctr(key, 16, iv, ks, sizeof(ks));
	uint8_t want[16];
	unhex("E03EAD0935C95E80E166B16DD92B4EB4", want);
	EXPECT_BYTES(ks, want, 16);
	unhex("D23513162B02D0F72A43A2FE4A5F97AB", want);
	EXPECT_BYTES(ks + 16, want, 16);
	unhex("41E95B3BB0A2E8DD477901E4FCA894C0", want);
	EXPECT_BYTES(ks + 32, want, 16);
	unhex("EC8CDF7398607CB0F2D21675EA9EA1E4", want);
	EXPECT_BYTES(ks + 0xfeff * 16, want, 16);
	unhex("362B7C3C6773516318A077D7FC5073AE", want);
	EXPECT_BYTES(ks + 0xff00 * 16, want, 16);
	unhex("6A2CC3787889374FBEB4C81B17BA6C44", want);
	EXPECT_BYTES(ks + 0xff01 * 16, want, 16);

	/* B.3: key derivation from the master key/salt of key_rfc3711 */
	struct ref_keys k;
	ref_derive(&k, SRTP_SUITE_AES_CM_128_HMAC_SHA1_80, key_rfc3711);
	unhex("C61E7A93744F39EE10734AFE3FF7A087", want);
	EXPECT_BYTES(k.enc, want, 16);
	unhex("30CBBC08863D8C85D49DB34A9AE1", want);
	EXPECT_BYTES(k.salt, want, 14);
	uint8_t auth[20];
	unhex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4", auth);
	EXPECT_BYTES(k.auth, auth, 20);

	/* and the reference reproduces libsrtp's published packets */
	struct pbuf p;
	memcpy(p.b, rtp_plain, sizeof(rtp_plain));
	EXPECT_INT(ref_protect_rtp(&k, p.b, sizeof(rtp_plain), 0), sizeof(cm80_srtp));
	EXPECT_BYTES(p.b, cm80_srtp, sizeof(cm80_srtp));
	memcpy(p.b, rtcp_plain, sizeof(rtcp_plain));
	EXPECT_INT(ref_protect_rtcp(&k, p.b, sizeof(rtcp_plain), 1), sizeof(cm80_srtcp));
	EXPECT_BYTES(p.b, cm80_srtcp, sizeof(cm80_srtcp));
	ref_derive(&k, SRTP_SUITE_AEAD_AES_128_GCM, key_gcm);
	memcpy(p.b, rtp_plain, sizeof(rtp_plain));
	EXPECT_INT(ref_protect_rtp(&k, p.b, sizeof(rtp_plain), 0), sizeof(gcm_srtp));
	EXPECT_BYTES(p.b, gcm_srtp, sizeof(gcm_srtp));
	memcpy(p.b, rtcp_plain, sizeof(rtcp_plain));
	EXPECT_INT(ref_protect_rtcp(&k, p.b, sizeof(rtcp_plain), 1), sizeof(gcm_srtcp));
	EXPECT_BYTES(p.b, gcm_srtcp, sizeof(gcm_srtcp));
}

/* Every suite, RTP with CSRCs and an extension, across a rollover, and
 * SRTCP: srtp_dir_* output equals the reference. */
static void t_reference_all_suites(void)
{
	for (size_t si = 0; si < NSUITES; si++) {
		struct srtp_sdes a;
		EXPECT_INT(srtp_sdes_generate(&a, 1, all_suites[si]), 0);
		struct srtp_dir *out = NULL;
		EXPECT_INT(srtp_dir_create(&out, SRTP_OUT, &a), 0);
		if (!out)
			return;
		struct ref_keys k;
		ref_derive(&k, all_suites[si], a.key);
		uint32_t roc = 0;
		uint16_t seq = 65530;
		for (int i = 0; i < 12; i++, seq++) {
			if (seq == 0)
				roc++;
			struct pbuf p, r;
			size_t len;
			if (i % 3 == 0) {
				len = make_rtp(p.b, seq, 0x0badcafe, (size_t)(i * 13));
			} else {
				/* CC=1, X=1 with one extension word */
				static const uint8_t hdr[24] = { 0x91, 0x60, 0, 0, 0, 0, 1, 0,
					0x0b, 0xad, 0xca, 0xfe, 1, 2, 3, 4, 0xbe, 0xde, 0, 1, 0x10, 0x42, 0, 0 };
				memcpy(p.b, hdr, sizeof(hdr));
				rtp_set_seq(p.b, seq);
				for (int j = 0; j < 50 + i; j++)
					p.b[24 + j] = (uint8_t)(j ^ i);
				len = 24 + 50 + (size_t)i;
			}
			memcpy(r.b, p.b, len);
			size_t rlen = ref_protect_rtp(&k, r.b, len, roc);
			EXPECT_INT(srtp_dir_protect_rtp(out, p.b, &len, BUF), 0);
			EXPECT_INT(len, rlen);
			if (memcmp(p.b, r.b, rlen) != 0) {
				hexdump_diff(srtp_suite_name(all_suites[si]), p.b, r.b, rlen);
				unit_fail(__FILE__, __LINE__, "%s: RTP seq %u differs from the reference",
					  srtp_suite_name(all_suites[si]), seq);
			}
		}
		for (uint32_t idx = 1; idx <= 3; idx++) {
			struct pbuf p, r;
			int n = rtcp_build_rr(p.b, BUF, 0x0badcafe, NULL, 0);
			n += rtcp_build_sdes_cname(p.b + n, BUF - (size_t)n, 0x0badcafe, "ref", 3);
			size_t len = (size_t)n;
			memcpy(r.b, p.b, len);
			size_t rlen = ref_protect_rtcp(&k, r.b, len, idx);
			EXPECT_INT(srtp_dir_protect_rtcp(out, p.b, &len, BUF), 0);
			EXPECT_INT(len, rlen);
			if (memcmp(p.b, r.b, rlen) != 0) {
				hexdump_diff(srtp_suite_name(all_suites[si]), p.b, r.b, rlen);
				unit_fail(__FILE__, __LINE__, "%s: SRTCP index %u differs from the reference",
					  srtp_suite_name(all_suites[si]), idx);
			}
		}
		srtp_dir_destroy(out);
	}
}

/* ------------------------------------------------------------ round trips */

static void t_roundtrip_all_suites(void)
{
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 160, 320, 1200 };
	for (size_t si = 0; si < NSUITES; si++) {
		struct srtp_dir *out = NULL, *in = NULL;
		make_pair(all_suites[si], &out, &in);
		if (!out || !in)
			return;
		size_t ov = srtp_dir_overhead(out, false), ovc = srtp_dir_overhead(out, true);
		size_t want_ov = all_suites[si] == SRTP_SUITE_AES_CM_128_HMAC_SHA1_80 ? 10
			: all_suites[si] == SRTP_SUITE_AES_CM_128_HMAC_SHA1_32 ? 4 : 16;
		EXPECT_INT(ov, want_ov);
		EXPECT_INT(ovc, 4 + (want_ov == 4 ? 10 : want_ov));
		EXPECT_INT(srtp_dir_suite(out), all_suites[si]);
		for (uint16_t seq = 0; seq < 64; seq++) {
			struct pbuf p, orig;
			size_t len = make_rtp(p.b, seq, 0x1234, sizes[seq % 8]);
			size_t plain_len = len;
			memcpy(orig.b, p.b, len);
			/* canary right after the trailer: protect must stop there */
			memset(p.b + len, 0x5a, 64);
			EXPECT_INT(srtp_dir_protect_rtp(out, p.b, &len, plain_len + ov), 0);
			EXPECT_INT(len, plain_len + ov);
			EXPECT_INT(p.b[len], 0x5a);
			if (sizes[seq % 8] >= 16)
				EXPECT(memcmp(p.b + 12, orig.b + 12, 16) != 0);   /* encrypted */
			EXPECT_INT(srtp_dir_unprotect_rtp(in, p.b, &len), 0);
			EXPECT_INT(len, plain_len);
			EXPECT_BYTES(p.b, orig.b, plain_len);
		}
		/* RTCP: SR + SDES compound, several in a row */
		for (int i = 0; i < 10; i++) {
			struct pbuf p, orig;
			struct rtcp_sender_info sinfo = { 1ull << 40, (uint32_t)i, 5, 800 };
			int n = rtcp_build_sr(p.b, BUF, 0x1234, &sinfo, NULL, 0);
			n += rtcp_build_sdes_cname(p.b + n, BUF - (size_t)n, 0x1234, "x@y", 3);
			size_t len = (size_t)n;
			memcpy(orig.b, p.b, len);
			memset(p.b + len, 0x5a, 64);
			EXPECT_INT(srtp_dir_protect_rtcp(out, p.b, &len, (size_t)n + ovc), 0);
			EXPECT_INT(len, (size_t)n + ovc);
			EXPECT_INT(p.b[len], 0x5a);
			EXPECT_INT(srtp_dir_unprotect_rtcp(in, p.b, &len), 0);
			EXPECT_INT(len, (size_t)n);
			EXPECT_BYTES(p.b, orig.b, (size_t)n);
			EXPECT_INT(rtcp_validate(p.b, len), 2);
		}
		srtp_dir_destroy(out);
		srtp_dir_destroy(in);
	}
}

static void t_buffer_and_direction_errors(void)
{
	struct srtp_dir *out = NULL, *in = NULL;
	make_pair(SRTP_SUITE_AES_CM_128_HMAC_SHA1_80, &out, &in);
	if (!out || !in)
		return;
	struct pbuf p, orig;
	size_t len = make_rtp(p.b, 1, 7, 160), plain = len;
	memcpy(orig.b, p.b, len);
	/* one byte short of room for the tag: refused, packet untouched */
	EXPECT_INT(srtp_dir_protect_rtp(out, p.b, &len, plain + 9), -ENOBUFS);
	EXPECT_INT(len, plain);
	EXPECT_BYTES(p.b, orig.b, plain);
	EXPECT_INT(srtp_dir_protect_rtcp(out, p.b, &len, plain + 13), -ENOBUFS);
	/* wrong direction */
	EXPECT_INT(srtp_dir_protect_rtp(in, p.b, &len, BUF), -EPERM);
	EXPECT_INT(srtp_dir_unprotect_rtp(out, p.b, &len), -EPERM);
	EXPECT_INT(srtp_dir_unprotect_rtcp(out, p.b, &len), -EPERM);
	/* protect refuses a packet that is not RTP */
	p.b[0] = 0x40;
	EXPECT_INT(srtp_dir_protect_rtp(out, p.b, &len, BUF), SRTP_E_MALFORMED);
	len = 5;
	EXPECT_INT(srtp_dir_protect_rtcp(out, p.b, &len, BUF), SRTP_E_MALFORMED);
	/* bad create arguments */
	struct srtp_dir *d = (struct srtp_dir *)1;
	EXPECT_INT(srtp_dir_create_key(&d, SRTP_OUT, SRTP_SUITE_AES_CM_128_HMAC_SHA1_80, key_gcm, 28), -EINVAL);
	EXPECT(d == NULL);
	EXPECT_INT(srtp_dir_create_key(&d, SRTP_OUT, SRTP_SUITE_NONE, key_gcm, 28), -EINVAL);
	EXPECT_INT(srtp_dir_create_key(&d, (enum srtp_way)7, SRTP_SUITE_AEAD_AES_128_GCM, key_gcm, 28), -EINVAL);
	srtp_dir_destroy(NULL);
	srtp_dir_destroy(out);
	srtp_dir_destroy(in);
}

/* ------------------------------------------------------------ attacks */

static void t_tamper_every_bit(void)
{
	for (size_t si = 0; si < NSUITES; si++) {
		struct srtp_dir *out = NULL, *in = NULL;
		make_pair(all_suites[si], &out, &in);
		if (!out || !in)
			return;
		struct pbuf prot, p;
		size_t plen = make_rtp(prot.b, 100, 0xabcdef, 40);
		EXPECT_INT(srtp_dir_protect_rtp(out, prot.b, &plen, BUF), 0);
		int bad = 0;
		for (size_t bit = 0; bit < plen * 8; bit++) {
			memcpy(p.b, prot.b, plen);
			p.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			size_t len = plen;
			int r = srtp_dir_unprotect_rtp(in, p.b, &len);
			/* the first byte holds version/CC/X: those may be caught
			 * as malformed; every other flip must fail the tag */
			int want = bit < 8 ? (r == SRTP_E_MALFORMED ? SRTP_E_MALFORMED : SRTP_E_AUTH)
					   : SRTP_E_AUTH;
			if (r != want && bad++ < 5)
				unit_fail(__FILE__, __LINE__, "%s: flipped bit %zu: expected %d, got %d",
					  srtp_suite_name(all_suites[si]), bit, want, r);
		}
		/* none of that changed the receiver: the real packet still works */
		memcpy(p.b, prot.b, plen);
		size_t len = plen;
		EXPECT_INT(srtp_dir_unprotect_rtp(in, p.b, &len), 0);

		/* SRTCP as well */
		int n = rtcp_build_rr(prot.b, BUF, 0xabcdef, NULL, 0);
		n += rtcp_build_sdes_cname(prot.b + n, BUF - (size_t)n, 0xabcdef, "c", 1);
		plen = (size_t)n;
		EXPECT_INT(srtp_dir_protect_rtcp(out, prot.b, &plen, BUF), 0);
		for (size_t bit = 0; bit < plen * 8; bit++) {
			memcpy(p.b, prot.b, plen);
			p.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			len = plen;
			int r = srtp_dir_unprotect_rtcp(in, p.b, &len);
			int want = bit < 8 && r == SRTP_E_MALFORMED ? SRTP_E_MALFORMED : SRTP_E_AUTH;
			if (r != want && bad++ < 5)
				unit_fail(__FILE__, __LINE__, "%s: SRTCP flipped bit %zu: expected %d, got %d",
					  srtp_suite_name(all_suites[si]), bit, SRTP_E_AUTH, r);
		}
		memcpy(p.b, prot.b, plen);
		len = plen;
		EXPECT_INT(srtp_dir_unprotect_rtcp(in, p.b, &len), 0);
		srtp_dir_destroy(out);
		srtp_dir_destroy(in);
	}
}

static void t_wrong_key_and_forged_ssrcs(void)
{
	struct srtp_dir *out = NULL, *in = NULL, *other_in = NULL, *other_out = NULL;
	make_pair(SRTP_SUITE_AES_CM_128_HMAC_SHA1_80, &out, &in);
	make_pair(SRTP_SUITE_AES_CM_128_HMAC_SHA1_80, &other_out, &other_in);
	if (!out || !in || !other_in || !other_out)
		return;
	struct pbuf p;
	size_t len = make_rtp(p.b, 5, 1, 160);
	EXPECT_INT(srtp_dir_protect_rtp(out, p.b, &len, BUF), 0);
	EXPECT_INT(srtp_dir_unprotect_rtp(other_in, p.b, &len), SRTP_E_AUTH);
	/* an attacker with its own key sprays many SSRCs: all refused and
	 * none of them becomes a stream */
	for (uint32_t ssrc = 100; ssrc < 400; ssrc++) {
		len = make_rtp(p.b, (uint16_t)ssrc, ssrc, 20);
		EXPECT_INT(srtp_dir_protect_rtp(other_out, p.b, &len, BUF), 0);
		EXPECT_INT(srtp_dir_unprotect_rtp(in, p.b, &len), SRTP_E_AUTH);
		uint32_t roc;
		if (ssrc % 50 == 0)
			EXPECT_INT(srtp_dir_get_roc(in, ssrc, &roc), -ENOENT);
	}
	len = make_rtp(p.b, 6, 1, 160);
	EXPECT_INT(srtp_dir_protect_rtp(out, p.b, &len, BUF), 0);
	EXPECT_INT(srtp_dir_unprotect_rtp(in, p.b, &len), 0);
	srtp_dir_destroy(out);
	srtp_dir_destroy(in);
	srtp_dir_destroy(other_out);
	srtp_dir_destroy(other_in);
}

static void t_ssrc_spray_is_bounded(void)
{
	struct srtp_dir *out = NULL, *in = NULL;
	make_pair(SRTP_SUITE_AEAD_AES_128_GCM, &out, &in);
	if (!out || !in)
		return;
	struct pbuf p;
	uint32_t roc;
	for (uint32_t ssrc = 1000; ssrc < 1100; ssrc++) {
		size_t len = make_rtp(p.b, 7, ssrc, 20);
		EXPECT_INT(srtp_dir_protect_rtp(out, p.b, &len, BUF), 0);
		EXPECT_INT(srtp_dir_unprotect_rtp(in, p.b, &len), 0);
	}
	/* only the newest SRTP_DIR_MAX_SSRC keep state, on both sides */
	EXPECT_INT(srtp_dir_get_roc(in, 1000, &roc), -ENOENT);
	EXPECT_INT(srtp_dir_get_roc(out, 1000, &roc), -ENOENT);
	EXPECT_INT(srtp_dir_get_roc(in, 1100 - SRTP_DIR_MAX_SSRC - 1, &roc), -ENOENT);
	EXPECT_INT(srtp_dir_get_roc(in, 1100 - SRTP_DIR_MAX_SSRC, &roc), 0);
	EXPECT_INT(srtp_dir_get_roc(in, 1099, &roc), 0);
	/* an evicted SSRC that comes back simply starts a new stream */
	size_t len = make_rtp(p.b, 8, 1000, 20);
	EXPECT_INT(srtp_dir_protect_rtp(out, p.b, &len, BUF), 0);
	EXPECT_INT(srtp_dir_unprotect_rtp(in, p.b, &len), 0);
	EXPECT_INT(srtp_dir_get_roc(in, 1000, &roc), 0);
	/* a live SSRC in steady use is not evicted by its own packets */
	for (uint16_t seq = 9; seq < 200; seq++) {
		len = make_rtp(p.b, seq, 1000, 20);
		EXPECT_INT(srtp_dir_protect_rtp(out, p.b, &len, BUF), 0);
		EXPECT_INT(srtp_dir_unprotect_rtp(in, p.b, &len), 0);
	}
	EXPECT_INT(srtp_dir_get_roc(in, 1099, &roc), 0);
	srtp_dir_destroy(out);
	srtp_dir_destroy(in);
}

static void t_replay(void)
{
	for (size_t si = 0; si < NSUITES; si++) {
		struct srtp_dir *out = NULL, *in = NULL;
		make_pair(all_suites[si], &out, &in);
		if (!out || !in)
			return;
		struct pbuf saved[3], p;
		size_t lens[3];
		uint16_t seqs[3] = { 10, 11, 2000 };
		/* seq 12 is sent before 2000 but delivered after it: by then it
		 * is outside the 1024-packet replay window */
		struct pbuf old;
		size_t oldlen = make_rtp(old.b, 12, 0x77, 60);
		for (int i = 0; i < 3; i++) {
			if (i == 2)
				EXPECT_INT(srtp_dir_protect_rtp(out, old.b, &oldlen, BUF), 0);
			lens[i] = make_rtp(saved[i].b, seqs[i], 0x77, 60);
			EXPECT_INT(srtp_dir_protect_rtp(out, saved[i].b, &lens[i], BUF), 0);
		}

		size_t len;
		for (int i = 0; i < 3; i++) {
			memcpy(p.b, saved[i].b, lens[i]);
			len = lens[i];
			EXPECT_INT(srtp_dir_unprotect_rtp(in, p.b, &len), 0);
		}
		/* exact replays */
		for (int i = 0; i < 3; i++) {
			memcpy(p.b, saved[i].b, lens[i]);
			len = lens[i];
			EXPECT_INT(srtp_dir_unprotect_rtp(in, p.b, &len), SRTP_E_REPLAY);
		}
		len = oldlen;
		EXPECT_INT(srtp_dir_unprotect_rtp(in, old.b, &len), SRTP_E_REPLAY);

		/* SRTCP replay */
		struct pbuf c, c2;
		int n = rtcp_build_rr(c.b, BUF, 0x77, NULL, 0);
		size_t clen = (size_t)n;
		EXPECT_INT(srtp_dir_protect_rtcp(out, c.b, &clen, BUF), 0);
		memcpy(c2.b, c.b, clen);
		len = clen;
		EXPECT_INT(srtp_dir_unprotect_rtcp(in, c.b, &len), 0);
		len = clen;
		EXPECT_INT(srtp_dir_unprotect_rtcp(in, c2.b, &len), SRTP_E_REPLAY);
		srtp_dir_destroy(out);
		srtp_dir_destroy(in);
	}
}

static void t_malformed_input(void)
{
	for (size_t si = 0; si < NSUITES; si++) {
		struct srtp_dir *out = NULL, *in = NULL;
		make_pair(all_suites[si], &out, &in);
		if (!out || !in)
			return;
		size_t tag = srtp_dir_overhead(in, false), ctag = srtp_dir_overhead(in, true);
		struct pbuf prot, p;
		size_t plen = make_rtp(prot.b, 1, 9, 0);
		EXPECT_INT(srtp_dir_protect_rtp(out, prot.b, &plen, BUF), 0);
		EXPECT_INT(plen, 12 + tag);
		/* every truncation of a header-only packet */
		for (size_t n = 0; n < plen; n++) {
			memcpy(p.b, prot.b, plen);
			size_t len = n;
			int r = srtp_dir_unprotect_rtp(in, p.b, &len);
			int want = n < 12 + tag ? SRTP_E_MALFORMED : SRTP_E_AUTH;
			if (r != want)
				unit_fail(__FILE__, __LINE__, "truncated to %zu: expected %d, got %d", n, want, r);
		}
		/* CSRC count / extension length that overrun */
		memcpy(p.b, prot.b, plen);
		p.b[0] |= 0x0f;
		size_t len = plen;
		EXPECT_INT(srtp_dir_unprotect_rtp(in, p.b, &len), SRTP_E_MALFORMED);
		memcpy(p.b, prot.b, plen);
		p.b[0] = 0x90;
		p.b[12] = 0xbe; p.b[13] = 0xde; p.b[14] = 0xff; p.b[15] = 0xff;
		len = plen;
		EXPECT_INT(srtp_dir_unprotect_rtp(in, p.b, &len), SRTP_E_MALFORMED);
		/* version 0 */
		memcpy(p.b, prot.b, plen);
		p.b[0] &= 0x3f;
		len = plen;
		EXPECT_INT(srtp_dir_unprotect_rtp(in, p.b, &len), SRTP_E_MALFORMED);
		/* SRTCP too short for header + index + tag */
		int n = rtcp_build_rr(prot.b, BUF, 9, NULL, 0);
		plen = (size_t)n;
		EXPECT_INT(srtp_dir_protect_rtcp(out, prot.b, &plen, BUF), 0);
		EXPECT_INT(plen, 8 + ctag);
		for (size_t k = 0; k < plen; k++) {
			memcpy(p.b, prot.b, plen);
			len = k;
			EXPECT_INT(srtp_dir_unprotect_rtcp(in, p.b, &len), SRTP_E_MALFORMED);
		}
		srtp_dir_destroy(out);
		srtp_dir_destroy(in);
	}
}

/* ------------------------------------------------------------ rollover */

static void rollover(enum srtp_suite suite)
{
	struct srtp_sdes k;
	struct srtp_dir *out = NULL, *in = NULL;
	EXPECT_INT(srtp_sdes_generate(&k, 1, suite), 0);
	EXPECT_INT(srtp_dir_create(&out, SRTP_OUT, &k), 0);
	EXPECT_INT(srtp_dir_create(&in, SRTP_IN, &k), 0);   /* fresh receiver */
	if (!out || !in)
		return;
	const uint32_t ssrc = 0x5eed5eed;
	const uint16_t first = 1000;
	const uint32_t total = 70000;  /* crosses 65,536 at packet 64,536 */
	struct pbuf p, held;
	size_t held_len = 0;
	uint32_t ok = 0, fails = 0;
	for (uint32_t i = 0; i < total; i++) {
		uint16_t seq = (uint16_t)(first + i);
		size_t len = make_rtp(p.b, seq, ssrc, 160);
		if (srtp_dir_protect_rtp(out, p.b, &len, BUF) != 0) {
			fails++;
			continue;
		}
		/* around the wrap: lose 65533 and 1, and deliver 65535 after 0 */
		if (seq == 65533 || seq == 1)
			continue;
		if (seq == 65535) {
			memcpy(held.b, p.b, len);
			held_len = len;
			continue;
		}
		int r = srtp_dir_unprotect_rtp(in, p.b, &len);
		if (r == 0 && len == 12 + 160 && p.b[12] == (uint8_t)seq)
			ok++;
		else if (fails++ < 3)
			unit_fail(__FILE__, __LINE__, "%s: seq %u (packet %u): got %d",
				  srtp_suite_name(suite), seq, i, r);
		if (seq == 0) {
			r = srtp_dir_unprotect_rtp(in, held.b, &held_len);
			if (r == 0)
				ok++;
			else
				unit_fail(__FILE__, __LINE__, "%s: late 65535 after the wrap: got %d",
					  srtp_suite_name(suite), r);
		}
	}
	EXPECT_INT(fails, 0);
	EXPECT_INT(ok, total - 2);
	uint32_t roc = 99;
	EXPECT_INT(srtp_dir_get_roc(out, ssrc, &roc), 0);
	EXPECT_INT(roc, 1);
	roc = 99;
	EXPECT_INT(srtp_dir_get_roc(in, ssrc, &roc), 0);
	EXPECT_INT(roc, 1);

	/* a receiver joining now needs the ROC: with it the next packet
	 * authenticates, without it (ROC assumed 0) it cannot */
	struct srtp_dir *late = NULL, *naive = NULL;
	EXPECT_INT(srtp_dir_create(&late, SRTP_IN, &k), 0);
	EXPECT_INT(srtp_dir_create(&naive, SRTP_IN, &k), 0);
	EXPECT_INT(srtp_dir_set_roc(late, ssrc, 1), 0);
	struct pbuf q;
	size_t len = make_rtp(p.b, (uint16_t)(first + total), ssrc, 160);
	EXPECT_INT(srtp_dir_protect_rtp(out, p.b, &len, BUF), 0);
	memcpy(q.b, p.b, len);
	size_t qlen = len;
	EXPECT_INT(srtp_dir_unprotect_rtp(late, p.b, &len), 0);
	EXPECT_INT(srtp_dir_unprotect_rtp(naive, q.b, &qlen), SRTP_E_AUTH);
	srtp_dir_destroy(late);
	srtp_dir_destroy(naive);
	srtp_dir_destroy(out);
	srtp_dir_destroy(in);
}

static void t_rollover_70000_cm80(void) { rollover(SRTP_SUITE_AES_CM_128_HMAC_SHA1_80); }
static void t_rollover_70000_gcm128(void) { rollover(SRTP_SUITE_AEAD_AES_128_GCM); }

/* ------------------------------------------------------------ SDES */

static void t_sdes_parse_rfc4568_example(void)
{
	/* RFC 4568 section 4's example attribute */
	const char *s = "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4\r\n";
	struct srtp_sdes a;
	const char *why = "unset";
	EXPECT_INT(srtp_sdes_parse(&a, s, strlen(s), &why), 0);
	EXPECT(why == NULL);
	EXPECT_INT(a.tag, 1);
	EXPECT_INT(a.suite, SRTP_SUITE_AES_CM_128_HMAC_SHA1_80);
	EXPECT_INT(a.key_len, 30);
	EXPECT_INT(a.key[0], '=');   /* "PS1u" decodes to "=-n" */
	EXPECT_INT(a.key[1], '-');
	EXPECT_INT(a.lifetime, 1 << 20);
	EXPECT_INT(a.mki, 1);
	EXPECT_INT(a.mki_len, 4);
	char buf[200];
	int n = srtp_sdes_format(&a, buf, sizeof(buf));
	EXPECT_INT(n, (int)strlen(s) - 2);
	EXPECT_STR(buf, "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4");
	for (int cap = 0; cap <= n; cap++)
		EXPECT_INT(srtp_sdes_format(&a, buf, (size_t)cap), -ENOBUFS);

	/* and it works as a context, with the MKI on the wire */
	struct srtp_dir *out = NULL, *in = NULL;
	EXPECT_INT(srtp_dir_create(&out, SRTP_OUT, &a), 0);
	EXPECT_INT(srtp_dir_create(&in, SRTP_IN, &a), 0);
	if (!out || !in)
		return;
	EXPECT_INT(srtp_dir_overhead(out, false), 14);
	EXPECT_INT(srtp_dir_overhead(out, true), 18);
	struct pbuf p;
	size_t len = make_rtp(p.b, 3, 3, 20);
	EXPECT_INT(srtp_dir_protect_rtp(out, p.b, &len, BUF), 0);
	EXPECT_INT(len, 32 + 14);
	static const uint8_t mki[4] = { 0, 0, 0, 1 };
	EXPECT_BYTES(p.b + 32, mki, 4);
	EXPECT_INT(srtp_dir_unprotect_rtp(in, p.b, &len), 0);
	EXPECT_INT(len, 32);
	int m = rtcp_build_rr(p.b, BUF, 3, NULL, 0);
	len = (size_t)m;
	EXPECT_INT(srtp_dir_protect_rtcp(out, p.b, &len, BUF), 0);
	EXPECT_INT(len, 8 + 18);
	EXPECT_INT(srtp_dir_unprotect_rtcp(in, p.b, &len), 0);
	/* a different MKI is refused */
	len = make_rtp(p.b, 4, 3, 20);
	EXPECT_INT(srtp_dir_protect_rtp(out, p.b, &len, BUF), 0);
	p.b[35] = 2;
	EXPECT_INT(srtp_dir_unprotect_rtp(in, p.b, &len), SRTP_E_AUTH);
	srtp_dir_destroy(out);
	srtp_dir_destroy(in);
}

static void t_sdes_parse_variants(void)
{
	struct srtp_sdes a;
	const char *why;
	/* 28-byte GCM key with and without '=' padding, session params */
	const char *g1 = "7 AEAD_AES_128_GCM inline:AAECAwQFBgcICQoLDA0OD6ChoqOkpaanqKmqqw==";
	const char *g2 = "7 AEAD_AES_128_GCM inline:AAECAwQFBgcICQoLDA0OD6ChoqOkpaanqKmqqw WSH=256 KDR=0";
	EXPECT_INT(srtp_sdes_parse(&a, g1, strlen(g1), &why), 0);
	EXPECT_INT(a.tag, 7);
	EXPECT_INT(a.key_len, 28);
	EXPECT_BYTES(a.key, key_gcm, 28);
	EXPECT_INT(srtp_sdes_parse(&a, g2, strlen(g2), &why), 0);
	EXPECT_BYTES(a.key, key_gcm, 28);
	EXPECT_INT(a.wsh, 256);
	/* suite names are matched without regard to case, blanks tolerated */
	const char *c = "  2   aes_cm_128_hmac_sha1_32  inline:4eG4sa0NNj7xoLuSSubjYn7ADhjYLeE43bV5EVs5 UNENCRYPTED_SRTCP ";
	EXPECT_INT(srtp_sdes_parse(&a, c, strlen(c), &why), 0);
	EXPECT_INT(a.suite, SRTP_SUITE_AES_CM_128_HMAC_SHA1_32);
	EXPECT_INT(a.flags, SRTP_SDES_UNENCRYPTED_SRTCP);
	EXPECT_INT(a.lifetime, 0);
	EXPECT_INT(a.mki_len, 0);
	/* decimal lifetime; MKI without lifetime */
	const char *d = "3 AES_CM_128_HMAC_SHA1_80 inline:4eG4sa0NNj7xoLuSSubjYn7ADhjYLeE43bV5EVs5|1000000";
	EXPECT_INT(srtp_sdes_parse(&a, d, strlen(d), &why), 0);
	EXPECT_INT(a.lifetime, 1000000);
	const char *e = "3 AES_CM_128_HMAC_SHA1_80 inline:4eG4sa0NNj7xoLuSSubjYn7ADhjYLeE43bV5EVs5|255:1";
	EXPECT_INT(srtp_sdes_parse(&a, e, strlen(e), &why), 0);
	EXPECT_INT(a.mki, 255);
	EXPECT_INT(a.mki_len, 1);
	/* 256-bit GCM */
	const char *f = "9 AEAD_AES_256_GCM inline:"
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+goaKjpKWmp6ipqqs=";
	EXPECT_INT(srtp_sdes_parse(&a, f, strlen(f), &why), 0);
	EXPECT_INT(a.key_len, 44);
}

static void t_sdes_parse_rejects(void)
{
	static const struct { const char *s; int err; } cases[] = {
		{ "", -EINVAL },
		{ "1", -EINVAL },
		{ "x AES_CM_128_HMAC_SHA1_80 inline:4eG4sa0NNj7xoLuSSubjYn7ADhjYLeE43bV5EVs5", -EINVAL },
		{ "1234567890 AES_CM_128_HMAC_SHA1_80 inline:4eG4sa0NNj7xoLuSSubjYn7ADhjYLeE43bV5EVs5", -EINVAL },
		{ "1 AES_CM_128_HMAC_SHA1_80", -EINVAL },
		{ "1 AES_CM_128_HMAC_SHA1_80 uri:https://x", -EINVAL },
		{ "1 AES_CM_128_HMAC_SHA1_80 inline:", -EINVAL },
		{ "1 AES_CM_128_HMAC_SHA1_80 inline:4eG4sa0NNj7xoLuSSubjYn7ADhjYLeE43bV5EV*5", -EINVAL },
		{ "1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0OD6ChoqOkpaanqKmqqw==", -EINVAL },
		{ "1 AEAD_AES_128_GCM inline:4eG4sa0NNj7xoLuSSubjYn7ADhjYLeE43bV5EVs5", -EINVAL },
		{ "1 AES_CM_128_HMAC_SHA1_80 inline:4eG4sa0NNj7xoLuSSubjYn7ADhjYLeE43bV5EVs5|2^", -EINVAL },
		{ "1 AES_CM_128_HMAC_SHA1_80 inline:4eG4sa0NNj7xoLuSSubjYn7ADhjYLeE43bV5EVs5|2^64", -EINVAL },
		{ "1 AES_CM_128_HMAC_SHA1_80 inline:4eG4sa0NNj7xoLuSSubjYn7ADhjYLeE43bV5EVs5|0", -EINVAL },
		{ "1 AES_CM_128_HMAC_SHA1_80 inline:4eG4sa0NNj7xoLuSSubjYn7ADhjYLeE43bV5EVs5|2^49", -ENOTSUP },
		{ "1 AES_CM_128_HMAC_SHA1_80 inline:4eG4sa0NNj7xoLuSSubjYn7ADhjYLeE43bV5EVs5|1:0", -EINVAL },
		{ "1 AES_CM_128_HMAC_SHA1_80 inline:4eG4sa0NNj7xoLuSSubjYn7ADhjYLeE43bV5EVs5|1:5", -ENOTSUP },
		{ "1 AES_CM_128_HMAC_SHA1_80 inline:4eG4sa0NNj7xoLuSSubjYn7ADhjYLeE43bV5EVs5|256:1", -EINVAL },
		{ "1 AES_CM_128_HMAC_SHA1_80 inline:4eG4sa0NNj7xoLuSSubjYn7ADhjYLeE43bV5EVs5|1:4|2^20", -EINVAL },
		{ "1 AES_CM_128_HMAC_SHA1_80 inline:4eG4sa0NNj7xoLuSSubjYn7ADhjYLeE43bV5EVs5|2^20|2^20", -EINVAL },
		{ "1 AES_CM_128_HMAC_SHA1_80 inline:4eG4sa0NNj7xoLuSSubjYn7ADhjYLeE43bV5EVs5|a:b", -EINVAL },
		{ "1 AES_CM_128_HMAC_SHA1_80 inline:4eG4sa0NNj7xoLuSSubjYn7ADhjYLeE43bV5EVs5|1:1;"
		  "inline:4eG4sa0NNj7xoLuSSubjYn7ADhjYLeE43bV5EVs5|2:1", -ENOTSUP },
		{ "1 F8_128_HMAC_SHA1_80 inline:4eG4sa0NNj7xoLuSSubjYn7ADhjYLeE43bV5EVs5", -ENOTSUP },
		{ "1 AES_256_CM_HMAC_SHA1_80 inline:4eG4sa0NNj7xoLuSSubjYn7ADhjYLeE43bV5EVs5", -ENOTSUP },
		{ "1 AES_CM_128_HMAC_SHA1_80 inline:4eG4sa0NNj7xoLuSSubjYn7ADhjYLeE43bV5EVs5 UNAUTHENTICATED_SRTP", -ENOTSUP },
		{ "1 AES_CM_128_HMAC_SHA1_80 inline:4eG4sa0NNj7xoLuSSubjYn7ADhjYLeE43bV5EVs5 KDR=1", -ENOTSUP },
		{ "1 AES_CM_128_HMAC_SHA1_80 inline:4eG4sa0NNj7xoLuSSubjYn7ADhjYLeE43bV5EVs5 KDR=x", -EINVAL },
		{ "1 AES_CM_128_HMAC_SHA1_80 inline:4eG4sa0NNj7xoLuSSubjYn7ADhjYLeE43bV5EVs5 FEC_ORDER=FEC_SRTP", -ENOTSUP },
		{ "1 AES_CM_128_HMAC_SHA1_80 inline:4eG4sa0NNj7xoLuSSubjYn7ADhjYLeE43bV5EVs5 WSH=10", -EINVAL },
		{ "1 AES_CM_128_HMAC_SHA1_80 inline:4eG4sa0NNj7xoLuSSubjYn7ADhjYLeE43bV5EVs5 FOO=1", -ENOTSUP },
		{ "1 AEAD_AES_128_GCM inline:AAECAwQFBgcICQoLDA0OD6ChoqOkpaanqKmqqw== UNENCRYPTED_SRTP", -ENOTSUP },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct srtp_sdes a;
		const char *why = NULL;
		int r = srtp_sdes_parse(&a, cases[i].s, strlen(cases[i].s), &why);
		if (r != cases[i].err)
			unit_fail(__FILE__, __LINE__, "case %zu \"%s\": expected %d, got %d (%s)",
				  i, cases[i].s, cases[i].err, r, why ? why : "no reason");
		else if (!why)
			unit_fail(__FILE__, __LINE__, "case %zu: no reason given", i);
		/* the key never survives a failed parse */
		static const uint8_t zero[SRTP_KEY_SALT_MAX];
		EXPECT_MEM(a.key, zero, sizeof(zero));
	}
	struct srtp_sdes a;
	EXPECT_INT(srtp_sdes_parse(&a, NULL, 0, NULL), -EINVAL);
}

static void t_sdes_generate_format_roundtrip(void)
{
	for (size_t si = 0; si < NSUITES; si++) {
		struct srtp_sdes a, b;
		EXPECT_INT(srtp_sdes_generate(&a, (uint32_t)si + 1, all_suites[si]), 0);
		EXPECT_INT(a.key_len, srtp_suite_key_len(all_suites[si]));
		if (si == 0) {
			a.lifetime = 1ull << 31;
			a.mki = 0x01020304;
			a.mki_len = 4;
			a.flags = SRTP_SDES_UNENCRYPTED_SRTCP | SRTP_SDES_UNENCRYPTED_SRTP;
			a.wsh = 512;
		}
		char buf[256];
		int n = srtp_sdes_format(&a, buf, sizeof(buf));
		EXPECT(n > 0);
		EXPECT_INT(srtp_sdes_parse(&b, buf, (size_t)n, NULL), 0);
		EXPECT_INT(b.tag, a.tag);
		EXPECT_INT(b.suite, a.suite);
		EXPECT_INT(b.key_len, a.key_len);
		EXPECT_BYTES(b.key, a.key, a.key_len);
		EXPECT_INT(b.lifetime, a.lifetime);
		EXPECT_INT(b.mki, a.mki);
		EXPECT_INT(b.mki_len, a.mki_len);
		EXPECT_INT(b.flags, a.flags);
		EXPECT_INT(b.wsh, a.wsh);
		if (si == 0)
			EXPECT(strstr(buf, "|2^31|16909060:4 UNENCRYPTED_SRTCP UNENCRYPTED_SRTP WSH=512") != NULL);
	}
	/* keys are random: two generations differ */
	struct srtp_sdes x, y;
	srtp_sdes_generate(&x, 1, SRTP_SUITE_AEAD_AES_256_GCM);
	srtp_sdes_generate(&y, 1, SRTP_SUITE_AEAD_AES_256_GCM);
	EXPECT(memcmp(x.key, y.key, 44) != 0);
	EXPECT_INT(srtp_sdes_generate(&x, 1, SRTP_SUITE_NONE), -EINVAL);
	EXPECT_INT(srtp_sdes_generate(&x, 1000000000, SRTP_SUITE_AEAD_AES_256_GCM), -EINVAL);
	x.key_len = 5;
	char buf[256];
	EXPECT_INT(srtp_sdes_format(&x, buf, sizeof(buf)), -EINVAL);
}

static void t_sdes_offer_options_choose(void)
{
	uint32_t mask = SRTP_SUITES_ALL;
	bool only = false;
	EXPECT_INT(srtp_sdes_option(&mask, &only, "no-AES_CM_128_HMAC_SHA1_32", 26), 0);
	EXPECT_INT(mask, SRTP_SUITES_ALL & ~SRTP_SUITE_BIT(SRTP_SUITE_AES_CM_128_HMAC_SHA1_32));
	EXPECT_INT(srtp_sdes_option(&mask, &only, "no-F8_128_HMAC_SHA1_80", 22), -ENOENT);
	EXPECT_INT(srtp_sdes_option(&mask, &only, "pad", 3), -EINVAL);
	struct srtp_sdes o[8];
	int n = srtp_sdes_offer(o, 8, mask);
	EXPECT_INT(n, 3);
	EXPECT_INT(o[0].suite, SRTP_SUITE_AES_CM_128_HMAC_SHA1_80);
	EXPECT_INT(o[0].tag, 1);
	EXPECT_INT(o[1].suite, SRTP_SUITE_AEAD_AES_256_GCM);
	EXPECT_INT(o[2].suite, SRTP_SUITE_AEAD_AES_128_GCM);
	EXPECT_INT(o[2].tag, 3);
	EXPECT(memcmp(o[1].key, o[2].key, 28) != 0);
	EXPECT_INT(srtp_sdes_offer(o, 1, mask), 1);

	mask = SRTP_SUITES_ALL;
	only = false;
	EXPECT_INT(srtp_sdes_option(&mask, &only, "only-AEAD_AES_128_GCM", 21), 0);
	EXPECT_INT(srtp_sdes_option(&mask, &only, "only-AEAD_AES_256_GCM", 21), 0);
	EXPECT_INT(mask, SRTP_SUITE_BIT(SRTP_SUITE_AEAD_AES_128_GCM) | SRTP_SUITE_BIT(SRTP_SUITE_AEAD_AES_256_GCM));
	/* answer: first offered line we can take */
	EXPECT_INT(srtp_sdes_choose(o, 3, mask), 1);
	EXPECT_INT(srtp_sdes_choose(o, 1, mask), -ENOTSUP);
	EXPECT_INT(srtp_sdes_option(&mask, &only, "off", 3), 0);
	EXPECT_INT(mask, 0);
	EXPECT_INT(srtp_sdes_offer(o, 8, mask), 0);
	EXPECT_INT(srtp_sdes_choose(o, 3, mask), -ENOTSUP);
}

static void t_unencrypted_srtcp_still_authenticated(void)
{
	struct srtp_sdes a;
	EXPECT_INT(srtp_sdes_generate(&a, 1, SRTP_SUITE_AES_CM_128_HMAC_SHA1_80), 0);
	a.flags = SRTP_SDES_UNENCRYPTED_SRTCP | SRTP_SDES_UNENCRYPTED_SRTP;
	struct srtp_dir *out = NULL, *in = NULL;
	EXPECT_INT(srtp_dir_create(&out, SRTP_OUT, &a), 0);
	EXPECT_INT(srtp_dir_create(&in, SRTP_IN, &a), 0);
	if (!out || !in)
		return;
	struct pbuf p, orig;
	int n = rtcp_build_rr(p.b, BUF, 5, NULL, 0);
	n += rtcp_build_sdes_cname(p.b + n, BUF - (size_t)n, 5, "clear", 5);
	memcpy(orig.b, p.b, (size_t)n);
	size_t len = (size_t)n;
	EXPECT_INT(srtp_dir_protect_rtcp(out, p.b, &len, BUF), 0);
	EXPECT_BYTES(p.b, orig.b, (size_t)n);     /* readable */
	EXPECT_INT(p.b[n] & 0x80, 0);             /* E bit clear */
	struct pbuf t;
	memcpy(t.b, p.b, len);
	t.b[20] ^= 1;
	size_t tlen = len;
	EXPECT_INT(srtp_dir_unprotect_rtcp(in, t.b, &tlen), SRTP_E_AUTH);
	EXPECT_INT(srtp_dir_unprotect_rtcp(in, p.b, &len), 0);
	/* RTP too */
	len = make_rtp(p.b, 1, 5, 32);
	memcpy(orig.b, p.b, len);
	EXPECT_INT(srtp_dir_protect_rtp(out, p.b, &len, BUF), 0);
	EXPECT_BYTES(p.b, orig.b, 44);
	EXPECT_INT(srtp_dir_unprotect_rtp(in, p.b, &len), 0);
	srtp_dir_destroy(out);
	srtp_dir_destroy(in);
}

/* ------------------------------------------------------------ base64 */

static void t_base64(void)
{
	/* RFC 4648 section 10 */
	static const char *plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *enc[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	for (int i = 0; i < 7; i++) {
		char out[16];
		uint8_t dec[16];
		EXPECT_INT(srtp_base64_encode((const uint8_t *)plain[i], strlen(plain[i]), out, sizeof(out)),
			   (int)strlen(enc[i]));
		EXPECT_STR(out, enc[i]);
		EXPECT_INT(srtp_base64_decode(enc[i], strlen(enc[i]), dec, sizeof(dec)), (int)strlen(plain[i]));
		EXPECT_MEM(dec, plain[i], strlen(plain[i]));
		/* without padding */
		size_t l = strlen(enc[i]);
		while (l && enc[i][l - 1] == '=')
			l--;
		EXPECT_INT(srtp_base64_decode(enc[i], l, dec, sizeof(dec)), (int)strlen(plain[i]));
		EXPECT_MEM(dec, plain[i], strlen(plain[i]));
	}
	uint8_t d[16];
	char o[8];
	EXPECT_INT(srtp_base64_decode("Z", 1, d, sizeof(d)), -EINVAL);
	EXPECT_INT(srtp_base64_decode("Zg=", 3, d, sizeof(d)), -EINVAL);
	EXPECT_INT(srtp_base64_decode("Zh==", 4, d, sizeof(d)), -EINVAL);   /* non-canonical */
	EXPECT_INT(srtp_base64_decode("Zm9v!A==", 8, d, sizeof(d)), -EINVAL);
	EXPECT_INT(srtp_base64_decode("Zm 9v", 5, d, sizeof(d)), -EINVAL);
	EXPECT_INT(srtp_base64_decode("Zm9vYmFy", 8, d, 5), -ENOBUFS);
	EXPECT_INT(srtp_base64_encode((const uint8_t *)"foobar", 6, o, 8), -ENOBUFS);
	EXPECT_INT(srtp_base64_encode((const uint8_t *)"foobar", 6, o, 9 - 1 + 0), -ENOBUFS);
}

static void t_names_and_errors(void)
{
	EXPECT_STR(srtp_suite_name(SRTP_SUITE_AEAD_AES_256_GCM), "AEAD_AES_256_GCM");
	EXPECT(srtp_suite_name(SRTP_SUITE_NONE) == NULL);
	EXPECT_INT(srtp_suite_from_name("AES_CM_128_HMAC_SHA1_32", 23), SRTP_SUITE_AES_CM_128_HMAC_SHA1_32);
	EXPECT_INT(srtp_suite_from_name("AES_CM_128_HMAC_SHA1_3", 22), SRTP_SUITE_NONE);
	EXPECT_INT(srtp_suite_key_len(SRTP_SUITE_AEAD_AES_128_GCM), 28);
	EXPECT_INT(srtp_suite_key_len(SRTP_SUITE_NONE), 0);
	EXPECT_STR(srtp_strerror(SRTP_E_AUTH), "SRTP authentication failed");
	EXPECT_STR(srtp_strerror(SRTP_E_REPLAY), "SRTP replay or too old");
	EXPECT_STR(srtp_strerror(SRTP_E_MALFORMED), "SRTP packet malformed");
	EXPECT(SRTP_E_AUTH != SRTP_E_REPLAY && SRTP_E_REPLAY != SRTP_E_MALFORMED
	       && SRTP_E_AUTH != SRTP_E_MALFORMED);
	uint8_t k[64] = { 0 }, zero[64] = { 0 };
	EXPECT_INT(srtp_keygen(k, sizeof(k)), 0);
	EXPECT(memcmp(k, zero, sizeof(k)) != 0);
}

const struct unit_case unit_cases[] = {
	UNIT(t_module_init),
	UNIT(t_kat_aes_cm_128_hmac_sha1_80),
	UNIT(t_kat_aead_aes_128_gcm),
	UNIT(t_reference_rfc3711_b2_b3),
	UNIT(t_reference_all_suites),
	UNIT(t_roundtrip_all_suites),
	UNIT(t_buffer_and_direction_errors),
	UNIT(t_tamper_every_bit),
	UNIT(t_wrong_key_and_forged_ssrcs),
	UNIT(t_ssrc_spray_is_bounded),
	UNIT(t_replay),
	UNIT(t_malformed_input),
	UNIT(t_rollover_70000_cm80),
	UNIT(t_rollover_70000_gcm128),
	UNIT(t_sdes_parse_rfc4568_example),
	UNIT(t_sdes_parse_variants),
	UNIT(t_sdes_parse_rejects),
	UNIT(t_sdes_generate_format_roundtrip),
	UNIT(t_sdes_offer_options_choose),
	UNIT(t_unencrypted_srtcp_still_authenticated),
	UNIT(t_base64),
	UNIT(t_names_and_errors),
	{ 0 }
};
