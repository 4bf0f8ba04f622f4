/* bencode.h - the value tree of the ng control protocol, with its two
 * encodings: bencode (bencode.c) and JSON (json.c, through libjansson).
 *
 * A struct bval is a string, an integer, a list or a dictionary. Requests are
 * decoded into a tree and replies are built as one and then encoded.
 *
 * Ownership and threads: control path only (everything here allocates). A
 * tree has exactly one owner, who frees it with bval_free() (which frees the
 * whole subtree). bval_dict_add() and bval_list_add() take ownership of the
 * value they are given, also when they fail. Pointers returned by the getters
 * (bval_get, bval_as_str, ...) point into the tree and stay valid while the
 * tree lives. No function here keeps state between calls: different trees
 * may be used from different threads at the same time.
 *
 * Strings are stored as NUL-terminated copies together with their length, so
 * bval_as_str() can be used as a C string (binary strings may also contain
 * NUL bytes: use the length). Dictionaries keep insertion (wire) order and
 * are searched linearly; a key that occurs twice is found at its first place.
 */
#ifndef RG_BENCODE_H
#define RG_BENCODE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

enum bval_type { BVAL_STR, BVAL_INT, BVAL_LIST, BVAL_DICT };

struct bval;

/* Limits applied by both decoders; going over one gives -E2BIG. */
#define BVAL_MAX_DEPTH 32                  /* nested lists/dicts */
#define BVAL_MAX_STR   (1024 * 1024)       /* bytes in one string */
#define BVAL_MAX_ITEMS 10000               /* values in one tree */

enum bval_type bval_type(const struct bval *v);   /* v must not be NULL */

/* Decoding. Returns 0 with *out set to a new tree (the caller frees it) and
 * *used set to the bytes consumed (trailing bytes are left alone: the caller
 * decides whether they are allowed). Otherwise *out is untouched and:
 *   -EAGAIN  buf is a valid but incomplete prefix: more bytes are needed
 *   -EINVAL  buf is malformed
 *   -E2BIG   a limit above is exceeded
 *   -ENOMEM  out of memory
 * Never reads past len; any byte sequence is safe to pass.
 *
 * bencode_decode() takes one bencode value of any type. Integers must be
 * canonical (no leading zeros, no "-0") and fit a long long; string lengths
 * must be canonical too. Dictionary keys must be strings; their order is not
 * checked (Kamailio does not sort them).
 *
 * json_decode() takes one JSON object (leading white space allowed) and maps
 * it to the same tree: strings -> BVAL_STR, integers -> BVAL_INT, other
 * numbers -> BVAL_STR holding their value as text (1e3 -> "1000", 2.50 ->
 * "2.5"), true/false -> BVAL_INT 1/0, null ->
 * the entry is dropped, arrays -> BVAL_LIST, objects -> BVAL_DICT. */
int bencode_decode(const char *buf, size_t len, struct bval **out, size_t *used);
int json_decode(const char *buf, size_t len, struct bval **out, size_t *used);

/* Encoding: appends to out (check buf_ok(out) once at the end). Dictionary
 * keys are written in insertion order. json_encode() writes compact JSON;
 * bytes that are not valid UTF-8 are written as \u00XX escapes. */
void bencode_encode(const struct bval *v, struct rg_buf *out);
void json_encode(const struct bval *v, struct rg_buf *out);

/* Construction. Each returns a new value, or NULL when out of memory. */
struct bval *bval_dict(void);
struct bval *bval_list(void);
struct bval *bval_str(const char *s);                 /* s NULL -> NULL */
struct bval *bval_strn(const char *s, size_t n);
struct bval *bval_int(long long i);
struct bval *bval_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
struct bval *bval_vfmt(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Appending. Takes ownership of v and returns it, or returns NULL (having
 * freed v) when v is NULL, the container is NULL or of the wrong type, or
 * memory ran out. Duplicate keys are not checked. */
struct bval *bval_dict_add(struct bval *dict, const char *key, struct bval *v);
struct bval *bval_dict_add_str(struct bval *dict, const char *key, const char *s);
struct bval *bval_dict_add_int(struct bval *dict, const char *key, long long i);
/* A new empty dictionary or list under key (its key in its block): the
 * same as bval_dict_add(dict, key, bval_dict()) for one malloc less. */
struct bval *bval_dict_add_dict(struct bval *dict, const char *key);
struct bval *bval_dict_add_list(struct bval *dict, const char *key);
struct bval *bval_list_add(struct bval *list, struct bval *v);

void bval_free(struct bval *v);                       /* NULL is fine */

/* Lookup. All accept NULL or a value of the wrong type and then return
 * NULL / 0. bval_get() compares keys exactly; bval_get_loose() treats '-',
 * ' ' and '_' as equal and ignores ASCII case ("delete-delay" finds
 * "delete delay", "ice" finds "ICE"). */
const struct bval *bval_get(const struct bval *dict, const char *key);
const struct bval *bval_get_loose(const struct bval *dict, const char *key);
size_t bval_count(const struct bval *list_or_dict);
const struct bval *bval_at(const struct bval *list, size_t i);
const char *bval_key_at(const struct bval *dict, size_t i);
const struct bval *bval_val_at(const struct bval *dict, size_t i);

/* NULL unless v is a string; *len (if len is not NULL) gets its length. */
const char *bval_as_str(const struct bval *v, size_t *len);
/* 0 with *out set for an integer, or for a string that holds a decimal
 * integer ("20", "-5", "+7"; no spaces) that fits; -EINVAL otherwise. */
int bval_as_int(const struct bval *v, long long *out);

/* True when a and b are equal under bval_get_loose()'s rule. Exposed for
 * the ng request decoder, which matches flag words the same way. */
bool bval_key_loose_eq(const char *a, const char *b);

#endif
