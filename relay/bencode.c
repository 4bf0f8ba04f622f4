/* bencode.c - the ng protocol's value tree and its bencode encoding.
 *
 * Every request and reply of the control protocol passes through a struct
 * bval: the control socket reads bytes, bencode_decode() (or json_decode() in
 * json.c) turns them into a tree, ng.c reads the request out of the tree, the
 * command handlers build a reply tree and bencode_encode() writes it. The
 * tree is deliberately plain: a tagged node whose lists and dictionaries are
 * growable arrays of (key, value) entries, kept in insertion order because
 * Kamailio does not sort its keys and lookups are over a dozen keys at most.
 *
 * Allocation: a string node carries its bytes in the same block, a list or
 * dictionary its first BVAL_INLINE entries, and a dictionary entry made by
 * the decoder or by bval_dict_add_str/_int/_dict/_list carries its key
 * there too, so most entries cost one malloc, not three:
 * a request or reply tree is mostly such entries, and malloc/free were the
 * largest cost of the control path after the encoder's printf.
 *
 * The decoder is a recursive descent over (pointer, end) that never looks
 * past end. It tells an incomplete prefix (-EAGAIN: the UNIX stream reader
 * waits for more) from a malformed input (-EINVAL) by returning -EAGAIN only
 * when it runs out of bytes with everything seen so far still valid. Depth,
 * string length and the number of values are bounded, so hostile input costs
 * at most a few MiB and a recursion of BVAL_MAX_DEPTH frames.
 */
#include "bencode.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bval_ent {
	char *key;                  /* NULL in lists */
	struct bval *v;
	bool key_in_v;              /* key lives in v's block: freed with v */
};

/* Entries a list or dictionary holds in its own block before it needs an
 * array of its own: most of the protocol's containers have fewer. */
#define BVAL_INLINE 4

struct bval {
	enum bval_type type;
	bool s_inline;              /* s lives in this block (not from vasprintf) */
	bool ent_inline;            /* ent is the room in this block */
	long long i;                /* BVAL_INT */
	char *s;                    /* BVAL_STR: NUL-terminated copy */
	size_t len;                 /* BVAL_STR: length without the NUL */
	struct bval_ent *ent;       /* BVAL_LIST, BVAL_DICT */
	size_t n, cap;
	_Alignas(void *) char tail[];   /* BVAL_INLINE entries (containers) or
					 * string bytes, then a key copy */
};

/* ---- construction ---------------------------------------------------- */

/* A node with room for a string of slen bytes (type BVAL_STR) or
 * BVAL_INLINE entries (lists and dictionaries), and a key of klen bytes
 * after it, each string NUL-terminated; *key (when key is not NULL) points
 * at the key's room. Only the header is zeroed. */
static struct bval *node_with(enum bval_type t, const char *str, size_t slen,
			      const char *k, size_t klen, char **key)
{
	bool cont = t == BVAL_LIST || t == BVAL_DICT;
	size_t eroom = cont ? BVAL_INLINE * sizeof(struct bval_ent) : 0;
	size_t sroom = t == BVAL_STR ? slen + 1 : 0;
	size_t kroom = key ? klen + 1 : 0;
	struct bval *v = malloc(sizeof(*v) + eroom + sroom + kroom);
	if (!v)
		return NULL;
	memset(v, 0, sizeof(*v));
	v->type = t;
	if (cont) {
		v->ent = (struct bval_ent *)(void *)v->tail;
		v->cap = BVAL_INLINE;
		v->ent_inline = true;
	}
	if (t == BVAL_STR) {
		v->s = v->tail;
		v->s_inline = true;
		if (slen)
			memcpy(v->s, str, slen);
		v->s[slen] = '\0';
		v->len = slen;
	}
	if (key) {
		*key = v->tail + eroom + sroom;
		memcpy(*key, k, klen);
		(*key)[klen] = '\0';
	}
	return v;
}

static struct bval *node(enum bval_type t)
{
	return node_with(t, NULL, 0, NULL, 0, NULL);
}

enum bval_type bval_type(const struct bval *v) { return v->type; }

struct bval *bval_dict(void) { return node(BVAL_DICT); }
struct bval *bval_list(void) { return node(BVAL_LIST); }

struct bval *bval_strn(const char *s, size_t n)
{
	if (!s && n)
		return NULL;
	return node_with(BVAL_STR, s, n, NULL, 0, NULL);
}

struct bval *bval_str(const char *s)
{
	return s ? bval_strn(s, strlen(s)) : NULL;
}

struct bval *bval_int(long long i)
{
	struct bval *v = node(BVAL_INT);
	if (v)
		v->i = i;
	return v;
}

struct bval *bval_vfmt(const char *fmt, va_list ap)
{
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);
	if (n < 0)
		return NULL;
	struct bval *v = node(BVAL_STR);
	if (!v) {
		free(s);
		return NULL;
	}
	v->s = s;
	v->s_inline = false;
	v->len = (size_t)n;
	return v;
}

struct bval *bval_fmt(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct bval *v = bval_vfmt(fmt, ap);
	va_end(ap);
	return v;
}

void bval_free(struct bval *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		if (!v->ent[i].key_in_v)
			free(v->ent[i].key);
		bval_free(v->ent[i].v);
	}
	if (!v->ent_inline)
		free(v->ent);
	if (!v->s_inline)
		free(v->s);
	free(v);
}

/* Appends (key, v); key is an allocated copy, a copy inside v's block
 * (key_in_v), or NULL. On failure frees both and returns NULL. */
static struct bval *append_ent(struct bval *c, char *key, bool key_in_v, struct bval *v)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 4;
		struct bval_ent *e = c->ent_inline ? malloc(cap * sizeof(*e))
						   : realloc(c->ent, cap * sizeof(*e));
		if (!e) {
			if (!key_in_v)
				free(key);
			bval_free(v);
			return NULL;
		}
		if (c->ent_inline)
			memcpy(e, c->ent, c->n * sizeof(*e));
		c->ent = e;
		c->cap = cap;
		c->ent_inline = false;
	}
	c->ent[c->n].key = key;
	c->ent[c->n].v = v;
	c->ent[c->n].key_in_v = key_in_v;
	c->n++;
	return v;
}

static struct bval *append(struct bval *c, char *key, struct bval *v)
{
	return append_ent(c, key, false, v);
}

/* A new string or integer value with its key in one block, appended. */
static struct bval *dict_add_leaf(struct bval *dict, const char *key, enum bval_type t,
				  const char *s, size_t slen, long long i)
{
	if (!dict || dict->type != BVAL_DICT || !key)
		return NULL;
	char *k;
	struct bval *v = node_with(t, s, slen, key, strlen(key), &k);
	if (!v)
		return NULL;
	v->i = i;
	return append_ent(dict, k, true, v);
}

struct bval *bval_dict_add(struct bval *dict, const char *key, struct bval *v)
{
	if (!v)
		return NULL;
	if (!dict || dict->type != BVAL_DICT || !key) {
		bval_free(v);
		return NULL;
	}
	char *k = strdup(key);
	if (!k) {
		bval_free(v);
		return NULL;
	}
	return append(dict, k, v);
}

struct bval *bval_dict_add_str(struct bval *dict, const char *key, const char *s)
{
	return s ? dict_add_leaf(dict, key, BVAL_STR, s, strlen(s), 0) : NULL;
}

struct bval *bval_dict_add_int(struct bval *dict, const char *key, long long i)
{
	return dict_add_leaf(dict, key, BVAL_INT, NULL, 0, i);
}

struct bval *bval_dict_add_dict(struct bval *dict, const char *key)
{
	return dict_add_leaf(dict, key, BVAL_DICT, NULL, 0, 0);
}

struct bval *bval_dict_add_list(struct bval *dict, const char *key)
{
	return dict_add_leaf(dict, key, BVAL_LIST, NULL, 0, 0);
}

struct bval *bval_list_add(struct bval *list, struct bval *v)
{
	if (!v)
		return NULL;
	if (!list || list->type != BVAL_LIST) {
		bval_free(v);
		return NULL;
	}
	return append(list, NULL, v);
}

/* ---- lookup ----------------------------------------------------------- */

const struct bval *bval_get(const struct bval *dict, const char *key)
{
	if (!dict || dict->type != BVAL_DICT || !key)
		return NULL;
	for (size_t i = 0; i < dict->n; i++)
		if (strcmp(dict->ent[i].key, key) == 0)
			return dict->ent[i].v;
	return NULL;
}

/* '-' and '_' fold to ' ', A-Z to a-z, every other byte to itself: a
 * table, since the request decoder compares every key with every name it
 * knows. */
#define F8(x) (x), (x) + 1, (x) + 2, (x) + 3, (x) + 4, (x) + 5, (x) + 6, (x) + 7
#define F32(x) F8(x), F8((x) + 8), F8((x) + 16), F8((x) + 24)
static const unsigned char fold_tab[256] = {
	F32(0),
	' ', '!', '"', '#', '$', '%', '&', '\'', '(', ')', '*', '+', ',', ' ', '.', '/',
	F8('0'), F8('8'),
	'@', F8('a'), F8('i'), F8('q'), 'y', 'z', '[', '\\', ']', '^', ' ',
	F32(96), F32(128), F32(160), F32(192), F32(224),
};
#undef F8
#undef F32

bool bval_key_loose_eq(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
	for (;; x++, y++) {
		if (fold_tab[*x] != fold_tab[*y])
			return false;
		if (!*x)
			return true;
	}
}

const struct bval *bval_get_loose(const struct bval *dict, const char *key)
{
	if (!dict || dict->type != BVAL_DICT || !key)
		return NULL;
	for (size_t i = 0; i < dict->n; i++)
		if (bval_key_loose_eq(dict->ent[i].key, key))
			return dict->ent[i].v;
	return NULL;
}

size_t bval_count(const struct bval *v)
{
	return v && (v->type == BVAL_LIST || v->type == BVAL_DICT) ? v->n : 0;
}

const struct bval *bval_at(const struct bval *list, size_t i)
{
	return list && list->type == BVAL_LIST && i < list->n ? list->ent[i].v : NULL;
}

const char *bval_key_at(const struct bval *dict, size_t i)
{
	return dict && dict->type == BVAL_DICT && i < dict->n ? dict->ent[i].key : NULL;
}

const struct bval *bval_val_at(const struct bval *dict, size_t i)
{
	return dict && dict->type == BVAL_DICT && i < dict->n ? dict->ent[i].v : NULL;
}

const char *bval_as_str(const struct bval *v, size_t *len)
{
	if (!v || v->type != BVAL_STR)
		return NULL;
	if (len)
		*len = v->len;
	return v->s;
}

int bval_as_int(const struct bval *v, long long *out)
{
	if (!v)
		return -EINVAL;
	if (v->type == BVAL_INT) {
		*out = v->i;
		return 0;
	}
	if (v->type != BVAL_STR)
		return -EINVAL;
	const char *p = v->s, *end = v->s + v->len;
	bool neg = false;
	if (p < end && (*p == '-' || *p == '+'))
		neg = *p++ == '-';
	if (p == end)
		return -EINVAL;
	/* Accumulate negatively: -LLONG_MIN does not fit. */
	long long acc = 0;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		int d = *p - '0';
		if (acc < (LLONG_MIN + d) / 10)
			return -EINVAL;
		acc = acc * 10 - d;
	}
	if (!neg) {
		if (acc == LLONG_MIN)
			return -EINVAL;
		acc = -acc;
	}
	*out = acc;
	return 0;
}

/* ---- bencode decoding ------------------------------------------------- */

struct dec {
	const char *p, *end;
	size_t items;
};

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* <len>: with len canonical and at most BVAL_MAX_STR, then the bytes. */
static int dec_string(struct dec *d, const char **s, size_t *n)
{
	const char *p = d->p;
	size_t v = 0;
	if (p == d->end)
		return -EAGAIN;
	if (!is_digit(*p))
		return -EINVAL;
	if (*p == '0') {
		p++;
	} else {
		for (; p < d->end && is_digit(*p); p++) {
			v = v * 10 + (size_t)(*p - '0');
			if (v > BVAL_MAX_STR)
				return -E2BIG;
		}
	}
	if (p == d->end)
		return -EAGAIN;
	if (*p != ':')
		return -EINVAL;
	p++;
	if ((size_t)(d->end - p) < v)
		return -EAGAIN;
	*s = p;
	*n = v;
	d->p = p + v;
	return 0;
}

/* i<canonical integer>e, d->p at the 'i'. */
static int dec_int(struct dec *d, long long *out)
{
	const char *p = d->p + 1;
	bool neg = false;
	if (p == d->end)
		return -EAGAIN;
	if (*p == '-') {
		neg = true;
		p++;
		if (p == d->end)
			return -EAGAIN;
	}
	if (!is_digit(*p))
		return -EINVAL;
	long long acc = 0;
	if (*p == '0') {
		if (neg)
			return -EINVAL;             /* "-0" */
		p++;
	} else {
		for (; p < d->end && is_digit(*p); p++) {
			int dg = *p - '0';
			if (acc < (LLONG_MIN + dg) / 10)
				return -EINVAL;     /* does not fit */
			acc = acc * 10 - dg;
		}
	}
	if (p == d->end)
		return -EAGAIN;
	if (*p != 'e')
		return -EINVAL;
	if (!neg) {
		if (acc == LLONG_MIN)
			return -EINVAL;
		acc = -acc;
	}
	d->p = p + 1;
	*out = acc;
	return 0;
}

/* key (when not NULL) asks for the dictionary key ks/kn to be stored in
 * the value's block; *key is set when it was (always, but the caller still
 * copies the key itself should it not be). */
static int dec_value(struct dec *d, int depth, char **key, const char *ks, size_t kn,
		     struct bval **out)
{
	if (d->p == d->end)
		return -EAGAIN;
	if (++d->items > BVAL_MAX_ITEMS)
		return -E2BIG;

	char c = *d->p;
	if (c == 'i') {
		long long i;
		int r = dec_int(d, &i);
		if (r < 0)
			return r;
		if (!(*out = node_with(BVAL_INT, NULL, 0, ks, kn, key)))
			return -ENOMEM;
		(*out)->i = i;
		return 0;
	}
	if (is_digit(c)) {
		const char *s;
		size_t n;
		int r = dec_string(d, &s, &n);
		if (r < 0)
			return r;
		return (*out = node_with(BVAL_STR, s, n, ks, kn, key)) ? 0 : -ENOMEM;
	}
	if (c != 'l' && c != 'd')
		return -EINVAL;
	if (depth >= BVAL_MAX_DEPTH)
		return -E2BIG;

	struct bval *v = node_with(c == 'l' ? BVAL_LIST : BVAL_DICT, NULL, 0, ks, kn, key);
	if (!v)
		return -ENOMEM;
	d->p++;
	int r;
	for (;;) {
		if (d->p == d->end) {
			r = -EAGAIN;
			break;
		}
		if (*d->p == 'e') {
			d->p++;
			*out = v;
			return 0;
		}
		const char *eks = NULL;
		size_t ekn = 0;
		if (v->type == BVAL_DICT) {
			r = dec_string(d, &eks, &ekn);
			if (r < 0)
				break;
		}
		struct bval *item = NULL;
		char *ekey = NULL;
		r = dec_value(d, depth + 1, eks ? &ekey : NULL, eks, ekn, &item);
		if (r < 0)
			break;
		if (eks && !ekey) {   /* a list or dictionary: its key on its own */
			ekey = strndup(eks, ekn);
			if (!ekey) {
				bval_free(item);
				r = -ENOMEM;
				break;
			}
			if (!append(v, ekey, item)) {
				r = -ENOMEM;
				break;
			}
		} else if (!append_ent(v, ekey, ekey != NULL, item)) {
			r = -ENOMEM;
			break;
		}
	}
	bval_free(v);
	return r;
}

int bencode_decode(const char *buf, size_t len, struct bval **out, size_t *used)
{
	if (!buf && len)
		return -EINVAL;
	struct dec d = { .p = buf, .end = buf + len };
	struct bval *v = NULL;
	int r = dec_value(&d, 0, NULL, NULL, 0, &v);
	if (r < 0)
		return r;
	*out = v;
	if (used)
		*used = (size_t)(d.p - buf);
	return 0;
}

/* ---- bencode encoding ------------------------------------------------- */

/* Decimal digits of v, written backwards from end; returns the first. Two
 * printf passes per string length cost more than the rest of a reply. */
static char *utoa_back(char *end, unsigned long long v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

static void enc_str(struct rg_buf *out, const char *s, size_t n)
{
	char tmp[24];
	char *p = utoa_back(tmp + sizeof(tmp) - 1, n);
	tmp[sizeof(tmp) - 1] = ':';
	buf_append(out, p, (size_t)(tmp + sizeof(tmp) - p));
	buf_append(out, s, n);
}

static void enc_int(struct rg_buf *out, long long i)
{
	char tmp[24];
	/* via unsigned: -LLONG_MIN does not fit a long long */
	unsigned long long u = i < 0 ? 0ull - (unsigned long long)i : (unsigned long long)i;
	tmp[sizeof(tmp) - 1] = 'e';
	char *p = utoa_back(tmp + sizeof(tmp) - 1, u);
	if (i < 0)
		*--p = '-';
	*--p = 'i';
	buf_append(out, p, (size_t)(tmp + sizeof(tmp) - p));
}

static size_t udigits(unsigned long long v)
{
	size_t n = 1;
	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

static size_t str_size(size_t n) { return udigits(n) + 1 + n; }

static size_t int_size(long long i)
{
	unsigned long long u = i < 0 ? 0ull - (unsigned long long)i : (unsigned long long)i;
	return udigits(u) + 2 + (i < 0);
}

/* Bytes bencode_encode writes for v, or SIZE_MAX beyond limit (the walk
 * stops early then). */
static size_t enc_size(const struct bval *v, size_t limit)
{
	if (!v)
		return 2;
	switch (v->type) {
	case BVAL_STR:
		return str_size(v->len);
	case BVAL_INT:
		return int_size(v->i);
	case BVAL_LIST:
	case BVAL_DICT: {
		size_t n = 2;
		for (size_t i = 0; i < v->n && n <= limit; i++) {
			if (v->ent[i].key)
				n += str_size(strlen(v->ent[i].key));
			size_t e = enc_size(v->ent[i].v, limit);
			n = e == SIZE_MAX ? SIZE_MAX : n + e;
		}
		return n <= limit ? n : SIZE_MAX;
	}
	}
	return 2;
}

static char *put_str(char *p, const char *s, size_t n)
{
	size_t d = udigits(n);
	utoa_back(p + d, n);
	p += d;
	*p++ = ':';
	memcpy(p, s, n);
	return p + n;
}

/* Writes v at p (room known to suffice); returns the end. */
static char *put_value(char *p, const struct bval *v)
{
	if (!v) {
		memcpy(p, "0:", 2);
		return p + 2;
	}
	switch (v->type) {
	case BVAL_STR:
		return put_str(p, v->s, v->len);
	case BVAL_INT: {
		size_t n = int_size(v->i);
		char *end = p + n;
		end[-1] = 'e';
		unsigned long long u = v->i < 0 ? 0ull - (unsigned long long)v->i : (unsigned long long)v->i;
		utoa_back(end - 1, u);
		p[0] = 'i';
		if (v->i < 0)
			p[1] = '-';
		return end;
	}
	case BVAL_LIST:
	case BVAL_DICT:
		*p++ = v->type == BVAL_LIST ? 'l' : 'd';
		for (size_t i = 0; i < v->n; i++) {
			if (v->ent[i].key)
				p = put_str(p, v->ent[i].key, strlen(v->ent[i].key));
			p = put_value(p, v->ent[i].v);
		}
		*p++ = 'e';
		return p;
	}
	return p;
}

/* Node by node through buf_append: for values too big for the stack. */
static void encode_slow(const struct bval *v, struct rg_buf *out)
{
	if (!v) {
		buf_append(out, "0:", 2);     /* keeps the output well-formed */
		return;
	}
	switch (v->type) {
	case BVAL_STR:
		enc_str(out, v->s, v->len);
		break;
	case BVAL_INT:
		enc_int(out, v->i);
		break;
	case BVAL_LIST:
	case BVAL_DICT:
		buf_putc(out, v->type == BVAL_LIST ? 'l' : 'd');
		for (size_t i = 0; i < v->n; i++) {
			if (v->ent[i].key)
				enc_str(out, v->ent[i].key, strlen(v->ent[i].key));
			encode_slow(v->ent[i].v, out);
		}
		buf_putc(out, 'e');
		break;
	}
}

/* A reply (a few hundred bytes to a few KB) is sized first, written on
 * the stack without a check per piece, and appended once: appending piece
 * by piece was most of the encoder's cost. */
#define ENC_STACK 8192

void bencode_encode(const struct bval *v, struct rg_buf *out)
{
	size_t n = enc_size(v, ENC_STACK);
	if (n == SIZE_MAX) {
		encode_slow(v, out);
		return;
	}
	char tmp[ENC_STACK];
	char *end = put_value(tmp, v);
	buf_append(out, tmp, (size_t)(end - tmp));
}
