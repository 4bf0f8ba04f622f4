/* fuzz_rtpp.c - libFuzzer target: the rtpproxy command parser (rtpp.h) on
 * arbitrary bytes; every string it returns must be NUL-terminated inside
 * the command's own copy of the line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

#include "rtpp.h"

/* main.c defines this for the daemon; librelay's users bring their own */

static void inside(const struct rtpp_cmd *c, const char *s)
{
	if (s && (s < c->line || s + strlen(s) > c->line + sizeof(c->line) - 1))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rtpp_cmd c;
	char err[256];
	if (rtpp_parse((const char *)data, size, &c, err, sizeof(err)) == 0) {
		inside(&c, c.call_id);
		inside(&c, c.addr);
		inside(&c, c.from_tag);
		inside(&c, c.to_tag);
		inside(&c, c.date);
		if (c.npts < 0 || c.npts > RTPP_MAX_PTS || c.port < 0 || c.port > 65535)
			abort();
	}
	return 0;
}
