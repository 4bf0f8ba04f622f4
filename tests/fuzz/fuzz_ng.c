/* fuzz_ng.c - libFuzzer target: the ng control path up to the command
 * handlers. The input is a whole datagram: ng_frame_split(), then the body
 * (and, independently, the whole input) through bencode_decode() and
 * json_decode(), ng_request_decode() on every dictionary, and both encoders.
 * Invariant checked: a decoded bencode value encodes to bytes that decode
 * and encode to the same bytes again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bencode.h"
#include "buf.h"
#include "ng.h"

static void exercise(struct bval *v, bool check_round_trip)
{
	struct ng_request rq;
	char err[256];
	if (bval_type(v) == BVAL_DICT)
		(void)ng_request_decode(v, &rq, err, sizeof(err));
	struct rg_buf b, j;
	buf_init(&b);
	buf_init(&j);
	bencode_encode(v, &b);
	json_encode(v, &j);
	if (check_round_trip && buf_ok(&b)) {
		struct bval *v2 = NULL;
		size_t used = 0;
		if (bencode_decode(b.data, b.len, &v2, &used) < 0 || used != b.len)
			abort();   /* our own encoding must decode */
		struct rg_buf b2;
		buf_init(&b2);
		bencode_encode(v2, &b2);
		if (b2.len != b.len || memcmp(b2.data, b.data, b.len))
			abort();   /* and encode to the same bytes */
		buf_free(&b2);
		bval_free(v2);
	}
	buf_free(&b);
	buf_free(&j);
}

static void decode_all(const char *p, size_t n)
{
	struct bval *v = NULL;
	size_t used = 0;
	if (bencode_decode(p, n, &v, &used) == 0 && v) {
		exercise(v, true);
		bval_free(v);
	}
	v = NULL;
	if (json_decode(p, n, &v, &used) == 0 && v) {
		exercise(v, false);
		bval_free(v);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct ng_frame f;
	if (ng_frame_split(p, size, &f) == 0)
		decode_all(f.body, f.body_len);
	decode_all(p, size);
	return 0;
}
