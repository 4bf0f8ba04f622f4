/* test_buf.c - the growable buffer. */
#include "unit.h"
#include "buf.h"

#include <stdlib.h>

static void t_append_and_printf(void)
{
	struct rg_buf b;
	buf_init(&b);
	buf_puts(&b, "v=0\r\n");
	buf_printf(&b, "m=audio %d RTP/AVP %d\r\n", 10000, 0);
	EXPECT_STR(b.data, "v=0\r\nm=audio 10000 RTP/AVP 0\r\n");
	EXPECT_INT(b.len, 30);
	for (int i = 0; i < 1000; i++)
		buf_putc(&b, 'x');
	EXPECT_INT(b.len, 1030);
	size_t n;
	char *p = buf_steal(&b, &n);
	EXPECT_INT(n, 1030);
	EXPECT(b.data == NULL);
	free(p);
}

const struct unit_case unit_cases[] = { UNIT(t_append_and_printf), { 0 } };
