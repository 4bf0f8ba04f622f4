/* srtp.c - the relay's SRTP layer: libsrtp2 contexts, SDES a=crypto, keys.
 *
 * libsrtp does the cryptography; this file decides how it is used. Each
 * direction of a leg gets its own libsrtp session with a wildcard-SSRC
 * template (ssrc_any_outbound or ssrc_any_inbound), so the relay does not
 * need to know SSRCs in advance and libsrtp keeps per-SSRC replay and
 * rollover state. Outbound allows repeated sequence numbers (a relay forwards
 * retransmissions unchanged); inbound uses a 1024-packet replay window unless
 * the offer's WSH asks for more. Before libsrtp sees a received packet we
 * check that it can hold a header and a tag, and libsrtp's many status codes
 * are folded into the three drop reasons the packet path counts. The SDES
 * parser follows RFC 4568 section 9.1's grammar but refuses, with a reason,
 * everything libsrtp cannot honour or that would weaken authentication.
 * libsrtp keeps a stream per SSRC forever, so each direction remembers the
 * SSRCs it has streams for and evicts the oldest beyond SRTP_DIR_MAX_SSRC:
 * a peer spraying SSRCs (on a plain leg whose packets we protect, or with
 * the key on an SRTP leg) cannot grow memory without bound.
 * The only process-wide state is libsrtp's own, initialised via pthread_once.
 */
#include "srtp.h"
#include "rtp.h"

#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <arpa/inet.h>

#include <srtp2/srtp.h>
#include <srtp2/crypto_types.h>

struct srtp_dir {
	srtp_t ctx;
	enum srtp_way way;
	enum srtp_suite suite;
	srtp_policy_t policy;            /* template; key pointers into this struct */
	srtp_master_key_t mkey;
	srtp_master_key_t *mkeys[1];
	uint8_t key[SRTP_KEY_SALT_MAX];
	uint8_t mki[4];
	uint8_t mki_len;
	uint8_t rtp_tag, rtcp_tag;
	/* SSRCs libsrtp holds a stream for, oldest evicted first when full */
	uint32_t ssrcs[SRTP_DIR_MAX_SSRC];
	uint8_t nssrc, evict, last;
};

/* ------------------------------------------------------------ module */

static pthread_once_t module_once = PTHREAD_ONCE_INIT;
static int module_status;   /* written once inside pthread_once */

static void quiet_log(srtp_log_level_t level, const char *msg, void *data)
{
	/* libsrtp reports failures through return codes too; its log lines
	 * would otherwise go to stderr from the packet path. */
	(void)level; (void)msg; (void)data;
}

static void module_init_once(void)
{
	if (srtp_init() != srtp_err_status_ok) {
		module_status = -EIO;
		return;
	}
	srtp_install_log_handler(quiet_log, NULL);
	module_status = 0;
}

int srtp_module_init(void)
{
	pthread_once(&module_once, module_init_once);
	return module_status;
}

const char *srtp_strerror(int err)
{
	switch (err) {
	case 0: return "ok";
	case SRTP_E_AUTH: return "SRTP authentication failed";
	case SRTP_E_REPLAY: return "SRTP replay or too old";
	case SRTP_E_MALFORMED: return "SRTP packet malformed";
	case -ENOBUFS: return "no room for the SRTP trailer";
	case -EPERM: return "wrong direction for this SRTP context";
	case -EKEYEXPIRED: return "SRTP key lifetime exhausted";
	case -EINVAL: return "invalid SRTP parameter";
	case -ENOTSUP: return "SRTP parameter not supported";
	case -ENOMEM: return "out of memory";
	case -ENOENT: return "unknown SSRC";
	case -EIO: return "libsrtp internal error";
	default: return "unknown SRTP error";
	}
}

/* ------------------------------------------------------------ suites */

static const struct suite_info {
	const char *name;
	uint8_t key_len;     /* master key + salt */
	bool aead;
} suites[] = {
	[SRTP_SUITE_AES_CM_128_HMAC_SHA1_80] = { "AES_CM_128_HMAC_SHA1_80", 30, false },
	[SRTP_SUITE_AES_CM_128_HMAC_SHA1_32] = { "AES_CM_128_HMAC_SHA1_32", 30, false },
	[SRTP_SUITE_AEAD_AES_128_GCM]        = { "AEAD_AES_128_GCM", 28, true },
	[SRTP_SUITE_AEAD_AES_256_GCM]        = { "AEAD_AES_256_GCM", 44, true },
};

static const struct suite_info *suite_get(enum srtp_suite s)
{
	if (s < SRTP_SUITE_FIRST || s > SRTP_SUITE_LAST)
		return NULL;
	return &suites[s];
}

const char *srtp_suite_name(enum srtp_suite s)
{
	const struct suite_info *si = suite_get(s);
	return si ? si->name : NULL;
}

enum srtp_suite srtp_suite_from_name(const char *name, size_t len)
{
	for (int s = SRTP_SUITE_FIRST; s <= SRTP_SUITE_LAST; s++)
		if (strlen(suites[s].name) == len && strncasecmp(suites[s].name, name, len) == 0)
			return (enum srtp_suite)s;
	return SRTP_SUITE_NONE;
}

size_t srtp_suite_key_len(enum srtp_suite s)
{
	const struct suite_info *si = suite_get(s);
	return si ? si->key_len : 0;
}

/* ------------------------------------------------------------ random */

int srtp_keygen(uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = getrandom(buf, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ------------------------------------------------------------ base64 */

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int srtp_base64_encode(const uint8_t *in, size_t n, char *out, size_t cap)
{
	size_t need = (n + 2) / 3 * 4;
	if (!out || cap < need + 1 || need > INT_MAX)
		return -ENOBUFS;
	char *o = out;
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*o++ = b64_alphabet[v >> 18];
		*o++ = b64_alphabet[(v >> 12) & 63];
		*o++ = b64_alphabet[(v >> 6) & 63];
		*o++ = b64_alphabet[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		*o++ = b64_alphabet[v >> 18];
		*o++ = b64_alphabet[(v >> 12) & 63];
		*o++ = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return (int)need;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

int srtp_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
	/* strip padding (at most two '=') */
	size_t pad = 0;
	while (n > 0 && in[n - 1] == '=' && pad < 2) {
		n--;
		pad++;
	}
	if (n % 4 == 1 || (pad && (n + pad) % 4 != 0))
		return -EINVAL;
	size_t need = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
	if (need > INT_MAX)
		return -EINVAL;
	if (cap < need)
		return -ENOBUFS;
	uint32_t acc = 0;
	size_t bits = 0, o = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64_value(in[i]);
		if (v < 0)
			return -EINVAL;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* leftover bits must be zero in canonical base64 */
	if (bits && (acc & ((1u << bits) - 1)))
		return -EINVAL;
	return (int)o;
}

/* ------------------------------------------------------------ SDES */

static void wipe(void *p, size_t n)
{
	explicit_bzero(p, n);
}

static bool parse_u64(const char *s, size_t n, uint64_t max, uint64_t *v)
{
	if (n == 0 || n > 20)
		return false;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (x > (max - d) / 10)
			return false;
		x = x * 10 + d;
	}
	*v = x;
	return true;
}

#define FAIL(code, text) do { if (why) *why = (text); return (code); } while (0)

/* key-info after "inline:": base64 ["|" lifetime] ["|" mki ":" length] */
static int parse_key_info(struct srtp_sdes *o, const char *s, size_t n, const char **why)
{
	const char *end = s + n;
	const char *bar = memchr(s, '|', n);
	size_t klen = bar ? (size_t)(bar - s) : n;
	uint8_t key[64];
	int k = srtp_base64_decode(s, klen, key, sizeof(key));
	if (k < 0) {
		wipe(key, sizeof(key));
		FAIL(-EINVAL, k == -ENOBUFS ? "key too long" : "key is not valid base64");
	}
	if ((size_t)k != srtp_suite_key_len(o->suite)) {
		wipe(key, sizeof(key));
		FAIL(-EINVAL, "key length does not match the crypto suite");
	}
	memcpy(o->key, key, (size_t)k);
	o->key_len = (uint8_t)k;
	wipe(key, sizeof(key));

	int field = 0;
	while (bar) {
		const char *f = bar + 1;
		bar = memchr(f, '|', (size_t)(end - f));
		size_t fl = bar ? (size_t)(bar - f) : (size_t)(end - f);
		const char *colon = memchr(f, ':', fl);
		if (colon) {
			/* MKI: value ":" length; must be the last field */
			if (bar)
				FAIL(-EINVAL, "text after the MKI");
			uint64_t val, mlen;
			if (!parse_u64(f, (size_t)(colon - f), UINT64_MAX, &val)
			    || !parse_u64(colon + 1, (size_t)(f + fl - colon - 1), 128, &mlen)
			    || mlen == 0)
				FAIL(-EINVAL, "bad MKI");
			if (mlen > 4)
				FAIL(-ENOTSUP, "MKI longer than 4 bytes not supported");
			if (mlen < 4 && val >> (8 * mlen))
				FAIL(-EINVAL, "MKI value does not fit its length");
			if (val > UINT32_MAX)
				FAIL(-EINVAL, "MKI value does not fit its length");
			o->mki = (uint32_t)val;
			o->mki_len = (uint8_t)mlen;
			field = 2;
		} else {
			if (field >= 1)
				FAIL(-EINVAL, "lifetime given twice or after the MKI");
			uint64_t lt;
			if (fl > 2 && f[0] == '2' && f[1] == '^') {
				uint64_t e;
				if (!parse_u64(f + 2, fl - 2, 63, &e))
					FAIL(-EINVAL, "bad key lifetime");
				lt = 1ull << e;
			} else if (!parse_u64(f, fl, UINT64_MAX, &lt)) {
				FAIL(-EINVAL, "bad key lifetime");
			}
			if (lt == 0)
				FAIL(-EINVAL, "key lifetime of zero");
			if (lt > (1ull << 48))
				FAIL(-ENOTSUP, "key lifetime above 2^48 not supported");
			o->lifetime = lt;
			field = 1;
		}
	}
	return 0;
}

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

static int parse_session_param(struct srtp_sdes *o, const char *p, size_t n, const char **why)
{
#define IS(lit) (n == sizeof(lit) - 1 && memcmp(p, lit, n) == 0)
#define HAS(lit) (n >= sizeof(lit) - 1 && memcmp(p, lit, sizeof(lit) - 1) == 0)
	bool aead = suites[o->suite].aead;
	uint64_t v;
	if (IS("UNENCRYPTED_SRTP") || IS("UNENCRYPTED_SRTCP")) {
		if (aead)
			FAIL(-ENOTSUP, "UNENCRYPTED_* with an AEAD suite not supported");
		o->flags |= IS("UNENCRYPTED_SRTP") ? SRTP_SDES_UNENCRYPTED_SRTP
						   : SRTP_SDES_UNENCRYPTED_SRTCP;
		return 0;
	}
	if (IS("UNAUTHENTICATED_SRTP"))
		FAIL(-ENOTSUP, "UNAUTHENTICATED_SRTP refused: every packet must be authenticated");
	if (HAS("KDR=")) {
		if (!parse_u64(p + 4, n - 4, 24, &v))
			FAIL(-EINVAL, "bad KDR");
		if (v != 0)
			FAIL(-ENOTSUP, "key derivation rate not supported by libsrtp");
		return 0;
	}
	if (HAS("WSH=")) {
		if (!parse_u64(p + 4, n - 4, 0x8000, &v) || v < 64)
			FAIL(-EINVAL, "bad WSH");
		o->wsh = (uint32_t)v;
		return 0;
	}
	if (HAS("FEC_ORDER=") || HAS("FEC_KEY="))
		FAIL(-ENOTSUP, "FEC_ORDER/FEC_KEY not supported");
	FAIL(-ENOTSUP, "unknown session parameter");
#undef IS
#undef HAS
}

int srtp_sdes_parse(struct srtp_sdes *o, const char *s, size_t len, const char **why)
{
	memset(o, 0, sizeof(*o));
	if (why)
		*why = NULL;
	if (!s)
		FAIL(-EINVAL, "empty");
	while (len > 0 && (is_blank(s[len - 1]) || s[len - 1] == '\r' || s[len - 1] == '\n'))
		len--;
	const char *p = s, *end = s + len;
	while (p < end && is_blank(*p))
		p++;

	/* tag */
	const char *t = p;
	while (p < end && !is_blank(*p))
		p++;
	uint64_t tag;
	if (!parse_u64(t, (size_t)(p - t), 999999999, &tag) || (size_t)(p - t) > 9)
		FAIL(-EINVAL, "bad tag");
	o->tag = (uint32_t)tag;

	/* suite */
	while (p < end && is_blank(*p))
		p++;
	t = p;
	while (p < end && !is_blank(*p))
		p++;
	if (p == t)
		FAIL(-EINVAL, "missing crypto suite");
	o->suite = srtp_suite_from_name(t, (size_t)(p - t));
	if (o->suite == SRTP_SUITE_NONE)
		FAIL(-ENOTSUP, "crypto suite not supported");

	/* key-params */
	while (p < end && is_blank(*p))
		p++;
	t = p;
	while (p < end && !is_blank(*p))
		p++;
	size_t kl = (size_t)(p - t);
	if (kl < 7 || strncasecmp(t, "inline:", 7) != 0)
		FAIL(-EINVAL, "key method is not inline:");
	if (memchr(t, ';', kl))
		FAIL(-ENOTSUP, "more than one key not supported");
	int r = parse_key_info(o, t + 7, kl - 7, why);
	if (r < 0) {
		wipe(o->key, sizeof(o->key));
		return r;
	}

	/* session parameters */
	for (;;) {
		while (p < end && is_blank(*p))
			p++;
		if (p == end)
			break;
		t = p;
		while (p < end && !is_blank(*p))
			p++;
		r = parse_session_param(o, t, (size_t)(p - t), why);
		if (r < 0) {
			wipe(o->key, sizeof(o->key));
			return r;
		}
	}
	return 0;
}

int srtp_sdes_format(const struct srtp_sdes *in, char *buf, size_t cap)
{
	const struct suite_info *si = suite_get(in->suite);
	if (!si || in->key_len != si->key_len || in->tag > 999999999
	    || in->mki_len > 4 || (in->mki_len && in->mki_len < 4 && in->mki >> (8 * in->mki_len)))
		return -EINVAL;
	char b64[SRTP_KEY_SALT_MAX * 4 / 3 + 4];
	if (srtp_base64_encode(in->key, in->key_len, b64, sizeof(b64)) < 0)
		return -EINVAL;
	char extra[64] = "";
	size_t el = 0;
	if (in->lifetime) {
		uint64_t lt = in->lifetime;
		if ((lt & (lt - 1)) == 0)
			el += (size_t)snprintf(extra + el, sizeof(extra) - el, "|2^%d", __builtin_ctzll(lt));
		else
			el += (size_t)snprintf(extra + el, sizeof(extra) - el, "|%llu", (unsigned long long)lt);
	}
	if (in->mki_len)
		el += (size_t)snprintf(extra + el, sizeof(extra) - el, "|%u:%u", in->mki, in->mki_len);
	char params[96] = "";
	size_t pl = 0;
	if (in->flags & SRTP_SDES_UNENCRYPTED_SRTCP)
		pl += (size_t)snprintf(params + pl, sizeof(params) - pl, " UNENCRYPTED_SRTCP");
	if (in->flags & SRTP_SDES_UNENCRYPTED_SRTP)
		pl += (size_t)snprintf(params + pl, sizeof(params) - pl, " UNENCRYPTED_SRTP");
	if (in->wsh)
		pl += (size_t)snprintf(params + pl, sizeof(params) - pl, " WSH=%u", in->wsh);
	int n = snprintf(buf, cap, "%u %s inline:%s%s%s", in->tag, si->name, b64, extra, params);
	wipe(b64, sizeof(b64));
	if (n < 0 || (size_t)n >= cap) {
		if (cap)
			wipe(buf, cap);
		return -ENOBUFS;
	}
	return n;
}

int srtp_sdes_generate(struct srtp_sdes *out, uint32_t tag, enum srtp_suite suite)
{
	memset(out, 0, sizeof(*out));
	const struct suite_info *si = suite_get(suite);
	if (!si || tag > 999999999)
		return -EINVAL;
	out->tag = tag;
	out->suite = suite;
	out->key_len = si->key_len;
	return srtp_keygen(out->key, si->key_len);
}

/* The order in which suites are offered. */
static const enum srtp_suite offer_order[] = {
	SRTP_SUITE_AES_CM_128_HMAC_SHA1_80,
	SRTP_SUITE_AES_CM_128_HMAC_SHA1_32,
	SRTP_SUITE_AEAD_AES_256_GCM,
	SRTP_SUITE_AEAD_AES_128_GCM,
};

int srtp_sdes_option(uint32_t *mask, bool *only_seen, const char *opt, size_t len)
{
	if (len == 3 && strncasecmp(opt, "off", 3) == 0) {
		*mask = 0;
		return 0;
	}
	bool only;
	size_t skip;
	if (len > 3 && strncasecmp(opt, "no-", 3) == 0) {
		only = false;
		skip = 3;
	} else if (len > 5 && strncasecmp(opt, "only-", 5) == 0) {
		only = true;
		skip = 5;
	} else {
		return -EINVAL;
	}
	enum srtp_suite s = srtp_suite_from_name(opt + skip, len - skip);
	if (only && !*only_seen) {
		*mask = 0;
		*only_seen = true;
	}
	if (s == SRTP_SUITE_NONE)
		return -ENOENT;
	if (only)
		*mask |= SRTP_SUITE_BIT(s);
	else
		*mask &= ~SRTP_SUITE_BIT(s);
	return 0;
}

int srtp_sdes_offer(struct srtp_sdes *out, size_t max, uint32_t mask)
{
	size_t n = 0;
	for (size_t i = 0; i < sizeof(offer_order) / sizeof(offer_order[0]) && n < max; i++) {
		if (!(mask & SRTP_SUITE_BIT(offer_order[i])))
			continue;
		int r = srtp_sdes_generate(&out[n], (uint32_t)n + 1, offer_order[i]);
		if (r < 0) {
			for (size_t j = 0; j <= n; j++)
				wipe(&out[j], sizeof(out[j]));
			return r;
		}
		n++;
	}
	return (int)n;
}

int srtp_sdes_choose(const struct srtp_sdes *offered, size_t n, uint32_t mask)
{
	for (size_t i = 0; i < n && i <= INT_MAX; i++) {
		const struct suite_info *si = suite_get(offered[i].suite);
		if (si && (mask & SRTP_SUITE_BIT(offered[i].suite))
		    && offered[i].key_len == si->key_len)
			return (int)i;
	}
	return -ENOTSUP;
}

/* ------------------------------------------------------------ contexts */

static void set_policy(srtp_crypto_policy_t *rtp, srtp_crypto_policy_t *rtcp, enum srtp_suite s)
{
	switch (s) {
	case SRTP_SUITE_AES_CM_128_HMAC_SHA1_80:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(rtcp);
		break;
	case SRTP_SUITE_AES_CM_128_HMAC_SHA1_32:
		/* RFC 4568 6.2.2: SRTCP keeps the 80-bit tag */
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(rtcp);
		break;
	case SRTP_SUITE_AEAD_AES_128_GCM:
		srtp_crypto_policy_set_aes_gcm_128_16_auth(rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(rtcp);
		break;
	case SRTP_SUITE_AEAD_AES_256_GCM:
		srtp_crypto_policy_set_aes_gcm_256_16_auth(rtp);
		srtp_crypto_policy_set_aes_gcm_256_16_auth(rtcp);
		break;
	default:
		break;
	}
}

static void no_encryption(srtp_crypto_policy_t *p)
{
	p->cipher_type = SRTP_NULL_CIPHER;
	p->sec_serv = sec_serv_auth;
}

static int map_status(srtp_err_status_t st)
{
	switch (st) {
	case srtp_err_status_ok: return 0;
	case srtp_err_status_auth_fail:
	case srtp_err_status_cipher_fail:   /* AEAD tag mismatch on some backends */
	case srtp_err_status_bad_mki:
	case srtp_err_status_cant_check:    /* SRTCP E flag contradicts the policy */
		return SRTP_E_AUTH;
	case srtp_err_status_replay_fail:
	case srtp_err_status_replay_old:
	case srtp_err_status_pkt_idx_old:
		return SRTP_E_REPLAY;
	case srtp_err_status_bad_param:
	case srtp_err_status_parse_err:
	case srtp_err_status_no_ctx:
		return SRTP_E_MALFORMED;
	case srtp_err_status_key_expired: return -EKEYEXPIRED;
	case srtp_err_status_alloc_fail: return -ENOMEM;
	default: return -EIO;
	}
}

int srtp_dir_create(struct srtp_dir **out, enum srtp_way way, const struct srtp_sdes *p)
{
	*out = NULL;
	const struct suite_info *si = suite_get(p->suite);
	if (!si || p->key_len != si->key_len || (way != SRTP_OUT && way != SRTP_IN)
	    || p->mki_len > 4)
		return -EINVAL;
	if (si->aead && (p->flags & (SRTP_SDES_UNENCRYPTED_SRTP | SRTP_SDES_UNENCRYPTED_SRTCP)))
		return -ENOTSUP;
	int r = srtp_module_init();
	if (r < 0)
		return r;

	struct srtp_dir *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->way = way;
	d->suite = p->suite;
	memcpy(d->key, p->key, p->key_len);

	srtp_policy_t *pol = &d->policy;
	set_policy(&pol->rtp, &pol->rtcp, p->suite);
	if (p->flags & SRTP_SDES_UNENCRYPTED_SRTP)
		no_encryption(&pol->rtp);
	if (p->flags & SRTP_SDES_UNENCRYPTED_SRTCP)
		no_encryption(&pol->rtcp);
	pol->ssrc.type = way == SRTP_OUT ? ssrc_any_outbound : ssrc_any_inbound;
	pol->window_size = p->wsh > 1024 ? p->wsh : 1024;
	pol->allow_repeat_tx = way == SRTP_OUT;
	if (p->mki_len) {
		d->mki_len = p->mki_len;
		for (unsigned i = 0; i < p->mki_len; i++)
			d->mki[i] = (uint8_t)(p->mki >> (8 * (p->mki_len - 1 - i)));
		d->mkey.key = d->key;
		d->mkey.mki_id = d->mki;
		d->mkey.mki_size = d->mki_len;
		d->mkeys[0] = &d->mkey;
		pol->keys = d->mkeys;
		pol->num_master_keys = 1;
	} else {
		pol->key = d->key;
	}
	pol->next = NULL;
	d->rtp_tag = (uint8_t)pol->rtp.auth_tag_len;
	d->rtcp_tag = (uint8_t)pol->rtcp.auth_tag_len;

	srtp_err_status_t st = srtp_create(&d->ctx, pol);
	if (st != srtp_err_status_ok) {
		srtp_dir_destroy(d);
		return st == srtp_err_status_alloc_fail ? -ENOMEM : -EIO;
	}
	*out = d;
	return 0;
}

int srtp_dir_create_key(struct srtp_dir **out, enum srtp_way way, enum srtp_suite suite,
			const uint8_t *key, size_t key_len)
{
	*out = NULL;
	if (!key || key_len != srtp_suite_key_len(suite) || key_len == 0)
		return -EINVAL;
	struct srtp_sdes p;
	memset(&p, 0, sizeof(p));
	p.tag = 1;
	p.suite = suite;
	p.key_len = (uint8_t)key_len;
	memcpy(p.key, key, key_len);
	int r = srtp_dir_create(out, way, &p);
	wipe(&p, sizeof(p));
	return r;
}

void srtp_dir_destroy(struct srtp_dir *d)
{
	if (!d)
		return;
	if (d->ctx)
		srtp_dealloc(d->ctx);
	wipe(d, sizeof(*d));
	free(d);
}

enum srtp_suite srtp_dir_suite(const struct srtp_dir *d)
{
	return d->suite;
}

size_t srtp_dir_overhead(const struct srtp_dir *d, bool rtcp)
{
	return rtcp ? 4u + d->rtcp_tag + d->mki_len : (size_t)d->rtp_tag + d->mki_len;
}

/* After a packet of `ssrc` went through libsrtp successfully: remember the
 * SSRC, evicting the oldest stream when the table is full. */
static void track_ssrc(struct srtp_dir *d, uint32_t ssrc)
{
	if (d->nssrc && d->ssrcs[d->last] == ssrc)
		return;
	for (uint8_t i = 0; i < d->nssrc; i++)
		if (d->ssrcs[i] == ssrc) {
			d->last = i;
			return;
		}
	if (d->nssrc < SRTP_DIR_MAX_SSRC) {
		d->last = d->nssrc;
		d->ssrcs[d->nssrc++] = ssrc;
		return;
	}
	srtp_remove_stream(d->ctx, htonl(d->ssrcs[d->evict]));
	d->ssrcs[d->evict] = ssrc;
	d->last = d->evict;
	d->evict = (uint8_t)((d->evict + 1) % SRTP_DIR_MAX_SSRC);
}

static inline uint32_t pkt_ssrc(const uint8_t *p, size_t off)
{
	return (uint32_t)p[off] << 24 | (uint32_t)p[off + 1] << 16 | (uint32_t)p[off + 2] << 8 | p[off + 3];
}

/* Minimal RTCP header check: version 2 and room for the fixed header. */
static bool rtcp_header_ok(const uint8_t *pkt, size_t len)
{
	return len >= 8 && (pkt[0] >> 6) == 2;
}

/* The end every protect/unprotect shares: libsrtp's verdict, the new
 * length, and the SSRC (at ssrc_off) remembered for the state cap. */
static int finish(struct srtp_dir *d, srtp_err_status_t st, uint8_t *pkt, size_t *len, int l,
		  size_t ssrc_off)
{
	if (st != srtp_err_status_ok)
		return map_status(st);
	*len = (size_t)l;
	track_ssrc(d, pkt_ssrc(pkt, ssrc_off));
	return 0;
}

/* Room for the trailer protect adds, and a length libsrtp's int can hold. */
static int protect_room(const struct srtp_dir *d, size_t len, size_t cap, bool rtcp)
{
	size_t ov = srtp_dir_overhead(d, rtcp);
	if (cap < len || cap - len < ov)
		return -ENOBUFS;
	if (len > INT_MAX - 256)
		return SRTP_E_MALFORMED;
	return 0;
}

int srtp_dir_protect_rtp(struct srtp_dir *d, uint8_t *pkt, size_t *len, size_t cap)
{
	if (d->way != SRTP_OUT)
		return -EPERM;
	struct rtp_hdr h;
	if (rtp_parse(&h, pkt, *len) < 0)
		return SRTP_E_MALFORMED;
	int r = protect_room(d, *len, cap, false);
	if (r < 0)
		return r;
	int l = (int)*len;
	srtp_err_status_t st = d->mki_len
		? srtp_protect_mki(d->ctx, pkt, &l, 1, 0)
		: srtp_protect(d->ctx, pkt, &l);
	return finish(d, st, pkt, len, l, 8);
}

int srtp_dir_protect_rtcp(struct srtp_dir *d, uint8_t *pkt, size_t *len, size_t cap)
{
	if (d->way != SRTP_OUT)
		return -EPERM;
	if (!rtcp_header_ok(pkt, *len))
		return SRTP_E_MALFORMED;
	int r = protect_room(d, *len, cap, true);
	if (r < 0)
		return r;
	int l = (int)*len;
	srtp_err_status_t st = d->mki_len
		? srtp_protect_rtcp_mki(d->ctx, pkt, &l, 1, 0)
		: srtp_protect_rtcp(d->ctx, pkt, &l);
	return finish(d, st, pkt, len, l, 4);
}

int srtp_dir_unprotect_rtp(struct srtp_dir *d, uint8_t *pkt, size_t *len)
{
	if (d->way != SRTP_IN)
		return -EPERM;
	/* header must parse (ignoring padding, which is encrypted) and the tag
	 * must fit after it */
	if (*len < RTP_HEADER_MIN || (pkt[0] >> 6) != RTP_VERSION || *len > INT_MAX)
		return SRTP_E_MALFORMED;
	size_t hl = RTP_HEADER_MIN + 4u * (pkt[0] & 0x0f);
	if (hl > *len)
		return SRTP_E_MALFORMED;
	if (pkt[0] & 0x10) {
		if (hl + 4 > *len)
			return SRTP_E_MALFORMED;
		hl += 4 + 4u * (size_t)(pkt[hl + 2] << 8 | pkt[hl + 3]);
	}
	if (hl > *len || *len - hl < srtp_dir_overhead(d, false))
		return SRTP_E_MALFORMED;
	int l = (int)*len;
	srtp_err_status_t st = d->mki_len
		? srtp_unprotect_mki(d->ctx, pkt, &l, 1)
		: srtp_unprotect(d->ctx, pkt, &l);
	return finish(d, st, pkt, len, l, 8);
}

int srtp_dir_unprotect_rtcp(struct srtp_dir *d, uint8_t *pkt, size_t *len)
{
	if (d->way != SRTP_IN)
		return -EPERM;
	if (!rtcp_header_ok(pkt, *len) || *len > INT_MAX
	    || *len - 8 < srtp_dir_overhead(d, true))
		return SRTP_E_MALFORMED;
	int l = (int)*len;
	srtp_err_status_t st = d->mki_len
		? srtp_unprotect_rtcp_mki(d->ctx, pkt, &l, 1)
		: srtp_unprotect_rtcp(d->ctx, pkt, &l);
	return finish(d, st, pkt, len, l, 4);
}

int srtp_dir_set_roc(struct srtp_dir *d, uint32_t ssrc, uint32_t roc)
{
	if (srtp_set_stream_roc(d->ctx, ssrc, roc) == srtp_err_status_ok) {
		track_ssrc(d, ssrc);
		return 0;
	}
	/* no stream for this SSRC yet: add one from the template policy */
	srtp_policy_t pol = d->policy;
	pol.ssrc.type = ssrc_specific;
	pol.ssrc.value = ssrc;
	pol.next = NULL;
	srtp_err_status_t st = srtp_add_stream(d->ctx, &pol);
	if (st != srtp_err_status_ok)
		return st == srtp_err_status_alloc_fail ? -ENOMEM : -EIO;
	if (srtp_set_stream_roc(d->ctx, ssrc, roc) != srtp_err_status_ok)
		return -EIO;
	track_ssrc(d, ssrc);
	return 0;
}

int srtp_dir_get_roc(const struct srtp_dir *d, uint32_t ssrc, uint32_t *roc)
{
	return srtp_get_stream_roc(d->ctx, ssrc, roc) == srtp_err_status_ok ? 0 : -ENOENT;
}
