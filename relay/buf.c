/* buf.c - growable byte buffer; see buf.h. */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct rg_buf *b) { memset(b, 0, sizeof(*b)); }

void buf_free(struct rg_buf *b)
{
	free(b->data);
	buf_init(b);
}

void buf_reset(struct rg_buf *b)
{
	b->len = 0;
	b->oom = false;
	if (b->data)
		b->data[0] = '\0';
}

static bool grow(struct rg_buf *b, size_t extra)
{
	if (b->oom)
		return false;
	if (b->len + extra + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1)
		cap *= 2;
	char *p = realloc(b->data, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void buf_truncate(struct rg_buf *b, size_t n)
{
	if (n > b->len)
		return;
	b->len = n;
	b->oom = false;
	if (b->data)
		b->data[n] = '\0';
}

bool buf_reserve(struct rg_buf *b, size_t n)
{
	return grow(b, n);
}

void buf_append(struct rg_buf *b, const void *p, size_t n)
{
	if (!grow(b, n))
		return;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void buf_puts(struct rg_buf *b, const char *s) { buf_append(b, s, strlen(s)); }
void buf_putc(struct rg_buf *b, char c) { buf_append(b, &c, 1); }

void buf_vprintf(struct rg_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || !grow(b, (size_t)n))
		return;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void buf_printf(struct rg_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

char *buf_steal(struct rg_buf *b, size_t *len)
{
	if (b->oom) {
		buf_free(b);
		return NULL;
	}
	if (!b->data) {
		if (!grow(b, 0))
			return NULL;
		b->data[0] = '\0';
	}
	char *p = b->data;
	if (len)
		*len = b->len;
	buf_init(b);
	return p;
}
