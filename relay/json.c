/* json.c - the JSON encoding of the ng value tree (declared in bencode.h).
 *
 * rtpengine accepts a request body that starts with '{' as JSON and answers
 * in kind, so rtpgate does too. Decoding happens in two steps. A small
 * grammar scanner walks the input first: it finds where the object ends (the
 * UNIX stream reader needs *used and an honest -EAGAIN for a truncated
 * request, which libjansson cannot tell from a malformed one) and enforces
 * the depth, string and item limits before anything is allocated. Then
 * libjansson parses exactly that span (it checks UTF-8, escapes and integer
 * ranges) and the jansson tree is copied into a struct bval tree.
 * Encoding is done by hand: the tree is small and already in wire order.
 */
#include "bencode.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the scanner ------------------------------------------------------ */

struct scan {
	const char *p, *end;
	size_t items;
};

static void skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
				 *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int scan_string(struct scan *s)
{
	const char *start = ++s->p;          /* past the opening quote */
	for (;;) {
		if (s->p == s->end)
			return -EAGAIN;
		if ((size_t)(s->p - start) > BVAL_MAX_STR)
			return -E2BIG;
		unsigned char c = (unsigned char)*s->p++;
		if (c == '"')
			return 0;
		if (c < 0x20)
			return -EINVAL;
		if (c != '\\')
			continue;
		if (s->p == s->end)
			return -EAGAIN;
		c = (unsigned char)*s->p++;
		if (c == 'u') {
			for (int i = 0; i < 4; i++, s->p++) {
				if (s->p == s->end)
					return -EAGAIN;
				if (!is_hex(*s->p))
					return -EINVAL;
			}
		} else if (!strchr("\"\\/bfnrt", c) || c == '\0') {
			return -EINVAL;
		}
	}
}

static int scan_digits(struct scan *s)
{
	if (s->p == s->end)
		return -EAGAIN;
	if (*s->p < '0' || *s->p > '9')
		return -EINVAL;
	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return 0;
}

/* A number ending at the end of the buffer counts as incomplete: it can only
 * occur inside an object, which is not closed yet anyway. */
static int scan_number(struct scan *s)
{
	if (*s->p == '-') {
		s->p++;
		if (s->p == s->end)
			return -EAGAIN;
	}
	if (*s->p == '0')
		s->p++;
	else if (scan_digits(s) < 0)
		return -EINVAL;
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		int r = scan_digits(s);
		if (r < 0)
			return r;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		int r = scan_digits(s);
		if (r < 0)
			return r;
	}
	return 0;
}

static int scan_literal(struct scan *s, const char *word)
{
	for (; *word; word++, s->p++) {
		if (s->p == s->end)
			return -EAGAIN;
		if (*s->p != *word)
			return -EINVAL;
	}
	return 0;
}

static int scan_value(struct scan *s, int depth);

/* An object or array, s->p at its opening bracket. */
static int scan_container(struct scan *s, int depth)
{
	bool obj = *s->p == '{';
	char close = obj ? '}' : ']';
	if (depth >= BVAL_MAX_DEPTH)
		return -E2BIG;
	s->p++;
	skip_ws(s);
	if (s->p == s->end)
		return -EAGAIN;
	if (*s->p == close) {
		s->p++;
		return 0;
	}
	for (;;) {
		int r;
		skip_ws(s);
		if (obj) {
			if (s->p == s->end)
				return -EAGAIN;
			if (*s->p != '"')
				return -EINVAL;
			if ((r = scan_string(s)) < 0)
				return r;
			skip_ws(s);
			if (s->p == s->end)
				return -EAGAIN;
			if (*s->p++ != ':')
				return -EINVAL;
		}
		if ((r = scan_value(s, depth + 1)) < 0)
			return r;
		skip_ws(s);
		if (s->p == s->end)
			return -EAGAIN;
		char c = *s->p++;
		if (c == close)
			return 0;
		if (c != ',')
			return -EINVAL;
	}
}

static int scan_value(struct scan *s, int depth)
{
	skip_ws(s);
	if (s->p == s->end)
		return -EAGAIN;
	if (++s->items > BVAL_MAX_ITEMS)
		return -E2BIG;
	switch (*s->p) {
	case '{':
	case '[':
		return scan_container(s, depth);
	case '"':
		return scan_string(s);
	case 't':
		return scan_literal(s, "true");
	case 'f':
		return scan_literal(s, "false");
	case 'n':
		return scan_literal(s, "null");
	default:
		if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
			return scan_number(s);
		return -EINVAL;
	}
}

/* ---- jansson tree -> bval tree ---------------------------------------- */

/* A number jansson read as a double, as text: whole values in plain
 * notation (20.0 and 1e3 -> "20", "1000", which bval_as_int() accepts),
 * others as the shortest text that reads back as the same double. */
static struct bval *real_text(double d)
{
	char tmp[64];
	if (d > -9007199254740992.0 && d < 9007199254740992.0 && d == (double)(long long)d)
		return bval_fmt("%lld", (long long)d);
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	return bval_str(tmp);
}

/* Returns a new value, or NULL: for null (the caller drops the entry) with
 * *err left 0, or on failure with *err set. */
static struct bval *convert(json_t *j, int *err)
{
	struct bval *v = NULL, *item;
	size_t i;
	const char *key;
	json_t *sub;

	switch (json_typeof(j)) {
	case JSON_NULL:
		return NULL;
	case JSON_STRING:
		v = bval_strn(json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER:
		v = bval_int(json_integer_value(j));
		break;
	case JSON_REAL:
		v = real_text(json_real_value(j));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		v = bval_int(json_is_true(j));
		break;
	case JSON_ARRAY:
		if (!(v = bval_list()))
			break;
		json_array_foreach(j, i, sub) {
			item = convert(sub, err);
			if (*err || (item && !bval_list_add(v, item))) {
				bval_free(v);
				v = NULL;
				break;
			}
		}
		break;
	case JSON_OBJECT:
		if (!(v = bval_dict()))
			break;
		json_object_foreach(j, key, sub) {
			item = convert(sub, err);
			if (*err || (item && !bval_dict_add(v, key, item))) {
				bval_free(v);
				v = NULL;
				break;
			}
		}
		break;
	}
	if (!v && !*err)
		*err = -ENOMEM;
	return v;
}

int json_decode(const char *buf, size_t len, struct bval **out, size_t *used)
{
	if (!buf && len)
		return -EINVAL;
	struct scan s = { .p = buf, .end = buf + len };
	skip_ws(&s);
	if (s.p == s.end)
		return -EAGAIN;
	if (*s.p != '{')
		return -EINVAL;
	const char *start = s.p;
	int r = scan_value(&s, 0);
	if (r < 0)
		return r;

	json_error_t jerr;
	json_t *j = json_loadb(start, (size_t)(s.p - start), JSON_ALLOW_NUL, &jerr);
	if (!j)
		return -EINVAL;     /* bad UTF-8, bad surrogate, integer too big */
	int err = 0;
	struct bval *v = convert(j, &err);
	json_decref(j);
	if (!v)
		return err ? err : -ENOMEM;
	*out = v;
	if (used)
		*used = (size_t)(s.p - buf);
	return 0;
}

/* ---- encoding --------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *p, size_t left)
{
	unsigned char c = p[0];
	size_t n;
	unsigned min;
	unsigned cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2; cp = c & 0x1f; min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3; cp = c & 0x0f; min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4; cp = c & 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static void enc_string(struct rg_buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	buf_putc(out, '"');
	while (p < end) {
		const unsigned char *run = p;
		/* Copy plain characters in runs. */
		while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		buf_append(out, run, (size_t)(p - run));
		if (p == end)
			break;
		unsigned char c = *p;
		switch (c) {
		case '"':  buf_puts(out, "\\\""); p++; continue;
		case '\\': buf_puts(out, "\\\\"); p++; continue;
		case '\n': buf_puts(out, "\\n"); p++; continue;
		case '\r': buf_puts(out, "\\r"); p++; continue;
		case '\t': buf_puts(out, "\\t"); p++; continue;
		default: break;
		}
		size_t n = c >= 0x80 ? utf8_len(p, (size_t)(end - p)) : 0;
		if (n) {
			buf_append(out, p, n);
			p += n;
		} else {
			buf_printf(out, "\\u%04x", c);
			p++;
		}
	}
	buf_putc(out, '"');
}

void json_encode(const struct bval *v, struct rg_buf *out)
{
	if (!v) {
		buf_puts(out, "null");
		return;
	}
	size_t len;
	const char *s;
	long long i;
	switch (bval_type(v)) {
	case BVAL_STR:
		s = bval_as_str(v, &len);
		enc_string(out, s, len);
		break;
	case BVAL_INT:
		bval_as_int(v, &i);
		buf_printf(out, "%lld", i);
		break;
	case BVAL_LIST:
		buf_putc(out, '[');
		for (size_t k = 0; k < bval_count(v); k++) {
			if (k)
				buf_putc(out, ',');
			json_encode(bval_at(v, k), out);
		}
		buf_putc(out, ']');
		break;
	case BVAL_DICT:
		buf_putc(out, '{');
		for (size_t k = 0; k < bval_count(v); k++) {
			if (k)
				buf_putc(out, ',');
			const char *key = bval_key_at(v, k);
			enc_string(out, key, strlen(key));
			buf_putc(out, ':');
			json_encode(bval_val_at(v, k), out);
		}
		buf_putc(out, '}');
		break;
	}
}
