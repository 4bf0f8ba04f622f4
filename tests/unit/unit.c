/* unit.c - main() for the unit tests; see unit.h. */
#include "unit.h"

#include <stdarg.h>
#include <stdlib.h>

int unit_failures;
static const char *current;

void unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	unit_failures++;
	fprintf(stderr, "FAIL %s (%s:%d): ", current, file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

size_t unit_rtp(uint8_t *p, uint16_t seq, uint32_t ts, uint32_t ssrc, uint8_t pt,
		size_t payload_len)
{
	p[0] = 0x80;
	p[1] = pt;
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	for (int i = 0; i < 4; i++) {
		p[4 + i] = (uint8_t)(ts >> (24 - 8 * i));
		p[8 + i] = (uint8_t)(ssrc >> (24 - 8 * i));
	}
	for (size_t i = 0; i < payload_len; i++)
		p[12 + i] = (uint8_t)(0xa0 + i);
	return 12 + payload_len;
}

static const char *join(const char *env, const char *fallback, const char *rel)
{
	static char path[4][4096];
	static int slot;
	const char *base = getenv(env);
	char *p = path[slot++ & 3];
	snprintf(p, sizeof(path[0]), "%s/%s", base ? base : fallback, rel);
	return p;
}

const char *unit_src_path(const char *rel) { return join("RG_SRCDIR", ".", rel); }
const char *unit_vector_path(const char *rel) { return join("RG_VECTORS", "tests/data/vectors", rel); }

char *unit_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *p = malloc((size_t)n + 1);
	if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	fclose(f);
	if (p) {
		p[n] = '\0';
		if (len)
			*len = (size_t)n;
	}
	return p;
}

int main(int argc, char **argv)
{
	int ran = 0, failed = 0;
	for (const struct unit_case *c = unit_cases; c->name; c++) {
		if (argc > 1) {
			int wanted = 0;
			for (int i = 1; i < argc; i++)
				wanted |= strcmp(argv[i], c->name) == 0;
			if (!wanted)
				continue;
		}
		int before = unit_failures;
		current = c->name;
		c->fn();
		ran++;
		if (unit_failures != before) {
			failed++;
			printf("not ok %s\n", c->name);
		} else {
			printf("ok %s\n", c->name);
		}
	}
	printf("%d passed, %d failed\n", ran - failed, failed);
	return failed ? 1 : 0;
}
