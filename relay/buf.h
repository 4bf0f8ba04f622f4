/* buf.h - a growable byte buffer for building replies, SDP and log lines.
 *
 * Control-path only (it allocates). The buffer is always NUL-terminated so
 * its contents can be used as a C string; len does not count the NUL.
 * On allocation failure the buffer sets `oom` and ignores further appends,
 * so callers check once at the end (buf_ok()).
 */
#ifndef RG_BUF_H
#define RG_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct rg_buf {
	char *data;
	size_t len;
	size_t cap;
	bool oom;
};

void buf_init(struct rg_buf *b);
void buf_free(struct rg_buf *b);
void buf_reset(struct rg_buf *b);           /* len = 0, keeps memory */
/* len = n (n <= len): drops what was appended after n, and an out-of-memory
 * mark with it; keeps memory. */
void buf_truncate(struct rg_buf *b, size_t n);
/* Room for n more bytes without a further allocation; false if out of memory. */
bool buf_reserve(struct rg_buf *b, size_t n);
void buf_append(struct rg_buf *b, const void *p, size_t n);
void buf_puts(struct rg_buf *b, const char *s);
void buf_putc(struct rg_buf *b, char c);
void buf_printf(struct rg_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_vprintf(struct rg_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static inline bool buf_ok(const struct rg_buf *b) { return !b->oom; }
/* Hands the allocation to the caller (never NULL unless oom); b is reset. */
char *buf_steal(struct rg_buf *b, size_t *len);

#endif
