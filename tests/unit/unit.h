/* unit.h - the tiny unit-test runner shared by tests/unit/test_*.c.
 *
 * A test file defines test functions and lists them in a table:
 *
 *     static void t_parse_int(void) { EXPECT_INT(bval_int(v), 42); }
 *     const struct unit_case unit_cases[] = { UNIT(t_parse_int), { 0 } };
 *
 * unit.c provides main(): it runs every case (or those named on the command
 * line), prints each failed expectation with what was expected and what was
 * got, and exits non-zero if any failed. A case that crashes fails the file.
 */
#ifndef RG_UNIT_H
#define RG_UNIT_H

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct unit_case {
	const char *name;
	void (*fn)(void);
};
#define UNIT(fn) { #fn, fn }
extern const struct unit_case unit_cases[];

extern int unit_failures;
void unit_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Path of a data file: $RG_SRCDIR/tests/data/NAME or $RG_VECTORS/NAME. */
const char *unit_src_path(const char *rel);
const char *unit_vector_path(const char *rel);
/* Reads a whole file; returns malloc'd bytes (NUL-terminated) or NULL. */
char *unit_read_file(const char *path, size_t *len);
/* An RTP packet at p: version 2, no marker, payload type pt, then
 * payload_len bytes of a fixed pattern. Returns its length. */
size_t unit_rtp(uint8_t *p, uint16_t seq, uint32_t ts, uint32_t ssrc, uint8_t pt,
		size_t payload_len);

#define EXPECT(cond) do { if (!(cond)) \
	unit_fail(__FILE__, __LINE__, "expected %s", #cond); } while (0)
#define EXPECT_INT(got, want) do { long long g_ = (long long)(got), w_ = (long long)(want); \
	if (g_ != w_) unit_fail(__FILE__, __LINE__, "%s: expected %lld, got %lld", #got, w_, g_); } while (0)
#define EXPECT_STR(got, want) do { const char *g_ = (got), *w_ = (want); \
	if (!g_ || !w_ || strcmp(g_, w_) != 0) unit_fail(__FILE__, __LINE__, \
	"%s: expected \"%s\", got \"%s\"", #got, w_ ? w_ : "(null)", g_ ? g_ : "(null)"); } while (0)
#define EXPECT_MEM(got, want, n) do { if (memcmp((got), (want), (n)) != 0) \
	unit_fail(__FILE__, __LINE__, "%s: %zu bytes differ from %s", #got, (size_t)(n), #want); } while (0)

#endif
