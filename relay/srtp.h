/* srtp.h - SRTP/SRTCP through libsrtp2, SDES a=crypto (RFC 4568), keys, base64.
 *
 * Threads and ownership:
 * - srtp_module_init() initialises libsrtp (a process-wide library) exactly
 *   once; main() calls it at start. It is thread-safe (pthread_once) and
 *   srtp_dir_create() also calls it, so forgetting it is harmless.
 * - A struct srtp_dir is one direction of one leg: OUT protects what the
 *   relay sends, IN unprotects what it receives. It is created and destroyed
 *   on the control path (it allocates), then used by exactly one thread at
 *   a time (the worker that owns the call); it is not internally locked.
 *   libsrtp allocates a stream state once per new SSRC (after that SSRC's
 *   first packet authenticated, on IN) and frees the oldest one when more
 *   than SRTP_DIR_MAX_SSRC are live; nothing else allocates per packet.
 * - Packets are processed in place in the caller's buffer, which should be
 *   4-byte aligned (libsrtp reads 32-bit words). Protect needs `cap` to hold
 *   `len + srtp_dir_overhead()` bytes and returns -ENOBUFS otherwise.
 *
 * Errors are negative errno values. The unprotect functions return one of
 * three distinct codes so that the caller can count why it dropped a packet:
 *   SRTP_E_AUTH       authentication tag wrong (forged, corrupt, wrong key)
 *   SRTP_E_REPLAY     already received, or older than the replay window
 *   SRTP_E_MALFORMED  too short for a header plus tag, or not version 2
 * On any failure the packet bytes are unspecified and must be dropped; the
 * context's state is unchanged (a failed packet never moves the replay
 * window or the rollover counter).
 */
#ifndef RG_SRTP_H
#define RG_SRTP_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SRTP_E_AUTH      (-EBADMSG)
#define SRTP_E_REPLAY    (-EALREADY)
#define SRTP_E_MALFORMED (-EPROTO)

enum srtp_suite {
	SRTP_SUITE_NONE = 0,
	SRTP_SUITE_AES_CM_128_HMAC_SHA1_80,
	SRTP_SUITE_AES_CM_128_HMAC_SHA1_32,
	SRTP_SUITE_AEAD_AES_128_GCM,
	SRTP_SUITE_AEAD_AES_256_GCM,
};
#define SRTP_SUITE_FIRST SRTP_SUITE_AES_CM_128_HMAC_SHA1_80
#define SRTP_SUITE_LAST  SRTP_SUITE_AEAD_AES_256_GCM

/* SSRCs one direction keeps libsrtp state for; beyond this the stream of
 * the least recently added SSRC is dropped (its replay window and ROC are
 * forgotten) so that SSRC spraying cannot grow memory. */
#define SRTP_DIR_MAX_SSRC 32

/* master key || master salt, longest supported (AES-256 GCM: 32 + 12) */
#define SRTP_KEY_SALT_MAX 44

/* Returns 0, or -EIO if libsrtp failed its start-up self test. */
int srtp_module_init(void);
/* Text for any error returned by this module (including SRTP_E_*). */
const char *srtp_strerror(int err);

/* Suites by RFC 4568 / RFC 7714 name ("AES_CM_128_HMAC_SHA1_80", ...). */
const char *srtp_suite_name(enum srtp_suite s);            /* NULL if unknown */
enum srtp_suite srtp_suite_from_name(const char *name, size_t len); /* or NONE */
size_t srtp_suite_key_len(enum srtp_suite s);  /* key+salt bytes: 30, 30, 28, 44; 0 if unknown */

/* ------------------------------------------------------------ SDES */

enum {
	SRTP_SDES_UNENCRYPTED_SRTP  = 1 << 0,
	SRTP_SDES_UNENCRYPTED_SRTCP = 1 << 1,
};

/* One a=crypto attribute. */
struct srtp_sdes {
	uint32_t tag;                    /* 1..999999999 */
	enum srtp_suite suite;
	uint8_t key[SRTP_KEY_SALT_MAX];  /* master key || master salt */
	uint8_t key_len;                 /* == srtp_suite_key_len(suite) */
	uint64_t lifetime;               /* in packets; 0 = not given */
	uint32_t mki;                    /* MKI value ... */
	uint8_t mki_len;                 /* ... and its length in bytes, 1..4; 0 = no MKI */
	unsigned flags;                  /* SRTP_SDES_* */
	uint32_t wsh;                    /* WSH= replay window hint; 0 = not given */
};

/* Parses the attribute value (the text after "a=crypto:"; trailing CR/LF
 * and blanks are ignored):
 *     1 AES_CM_128_HMAC_SHA1_80 inline:<base64 key||salt>[|2^31][|1:4] [params]
 * Returns 0; -EINVAL if malformed; -ENOTSUP for what is well-formed but not
 * supported here: an unknown suite, more than one key, an MKI longer than
 * 4 bytes, a lifetime above 2^48, KDR other than 0, FEC_ORDER/FEC_KEY,
 * UNAUTHENTICATED_SRTP (every packet must be authenticated), UNENCRYPTED_*
 * with an AEAD suite, or any unknown session parameter. If `why` is not
 * NULL it receives a static human-readable reason. *out is zeroed first. */
int srtp_sdes_parse(struct srtp_sdes *out, const char *s, size_t len, const char **why);
/* Formats the attribute value (without "a=crypto:"), NUL-terminated.
 * Returns its length, -ENOBUFS or -EINVAL (bad suite/key length). */
int srtp_sdes_format(const struct srtp_sdes *in, char *buf, size_t cap);
/* Fills *out with a fresh random key for `suite` (getrandom(2)). */
int srtp_sdes_generate(struct srtp_sdes *out, uint32_t tag, enum srtp_suite suite);

/* Offering: a set of suites is a bit mask, bit (1u << suite). */
#define SRTP_SUITE_BIT(s) (1u << (s))
#define SRTP_SUITES_ALL (SRTP_SUITE_BIT(SRTP_SUITE_AES_CM_128_HMAC_SHA1_80) \
	| SRTP_SUITE_BIT(SRTP_SUITE_AES_CM_128_HMAC_SHA1_32) \
	| SRTP_SUITE_BIT(SRTP_SUITE_AEAD_AES_128_GCM) | SRTP_SUITE_BIT(SRTP_SUITE_AEAD_AES_256_GCM))
/* Applies one ng `SDES` list entry to *mask: "off" (none), "no-NAME"
 * (remove), "only-NAME" (keep just NAME; several "only-" entries add up
 * when *only_seen tracks them). Returns 0, -ENOENT for a suite name we do
 * not know (harmless: it is not offered anyway), or -EINVAL for an option
 * this function does not handle (the caller may know it). */
int srtp_sdes_option(uint32_t *mask, bool *only_seen, const char *opt, size_t len);
/* Fills out[0..] with freshly keyed attributes for the suites in mask, in
 * the relay's order of preference (AES_CM_128_HMAC_SHA1_80 first, as the
 * most widely supported), tags 1, 2, ... Returns the count or a negative
 * errno from the random source. */
int srtp_sdes_offer(struct srtp_sdes *out, size_t max, uint32_t mask);
/* Answering: index of the first offered attribute whose suite is in mask
 * and which has no parameters we cannot honour, or -ENOTSUP. */
int srtp_sdes_choose(const struct srtp_sdes *offered, size_t n, uint32_t mask);

/* Fills buf with cryptographically random bytes (getrandom, retried on
 * EINTR). Returns 0 or a negative errno. */
int srtp_keygen(uint8_t *buf, size_t len);

/* Standard base64 (RFC 4648, with padding). encode returns the text length
 * and NUL-terminates, or -ENOBUFS. decode accepts input with or without
 * '=' padding and returns the byte count, -EINVAL or -ENOBUFS. */
int srtp_base64_encode(const uint8_t *in, size_t n, char *out, size_t cap);
int srtp_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap);

/* ------------------------------------------------------- contexts */

enum srtp_way {
	SRTP_OUT = 0,   /* protect what we send */
	SRTP_IN,        /* unprotect what we receive */
};

struct srtp_dir;

/* Creates a direction from a parsed or generated a=crypto. The key is copied
 * (and wiped on destroy). Returns 0, -EINVAL, -ENOTSUP, -ENOMEM or -EIO;
 * *out is NULL on failure. */
int srtp_dir_create(struct srtp_dir **out, enum srtp_way way, const struct srtp_sdes *p);
/* The same from a bare suite and master key||salt (no MKI, no flags). */
int srtp_dir_create_key(struct srtp_dir **out, enum srtp_way way, enum srtp_suite suite,
			const uint8_t *key, size_t key_len);
void srtp_dir_destroy(struct srtp_dir *d);   /* NULL is fine */

enum srtp_suite srtp_dir_suite(const struct srtp_dir *d);
/* Bytes protect adds: RTP tag (+MKI); RTCP 4-byte E+index + tag (+MKI). */
size_t srtp_dir_overhead(const struct srtp_dir *d, bool rtcp);

/* OUT only. In place: on success *len grows by the overhead. Returns 0,
 * -ENOBUFS (cap too small), SRTP_E_MALFORMED (not a valid RTP/RTCP packet),
 * -EPERM (an IN context), -EKEYEXPIRED, or -EIO. */
int srtp_dir_protect_rtp(struct srtp_dir *d, uint8_t *pkt, size_t *len, size_t cap);
int srtp_dir_protect_rtcp(struct srtp_dir *d, uint8_t *pkt, size_t *len, size_t cap);
/* IN only. In place: on success *len shrinks to the plain packet. Returns
 * 0, SRTP_E_AUTH, SRTP_E_REPLAY, SRTP_E_MALFORMED, -EPERM, -EKEYEXPIRED or
 * -EIO. */
int srtp_dir_unprotect_rtp(struct srtp_dir *d, uint8_t *pkt, size_t *len);
int srtp_dir_unprotect_rtcp(struct srtp_dir *d, uint8_t *pkt, size_t *len);

/* Rollover counter of one SSRC. set_roc on IN is for a receiver that joins
 * a stream after its sequence numbers wrapped (the ROC is learned out of
 * band); it creates that SSRC's stream if needed (control path: allocates).
 * get_roc returns -ENOENT for an SSRC not seen yet. */
int srtp_dir_set_roc(struct srtp_dir *d, uint32_t ssrc, uint32_t roc);
int srtp_dir_get_roc(const struct srtp_dir *d, uint32_t ssrc, uint32_t *roc);

#endif
