/* rtpgate-ctl.c - the operator's command line for a running rtpgate.
 *
 * Speaks ng over the daemon's UNIX control socket (one bencode request per
 * connection, the reply is read until it decodes as one whole value) and
 * prints the reply for a person (indented "key: value" lines) or, with
 * --json, as JSON for scripts. `delete` needs a tag in ng; the tool asks
 * `query` for the call's tags first so the operator names only the call.
 *
 * Exit status: 0 ok, 1 the daemon answered with an error, 2 usage,
 * 3 the daemon could not be reached or answered garbage.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bencode.h"
#include "buf.h"

#define DEFAULT_SOCKET "/run/rtpgate/ng.sock"
#define TIMEOUT_MS 5000
#define REPLY_MAX (16 * 1024 * 1024)

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: rtpgate-ctl [-s PATH] [--json] COMMAND [ARG]\n"
		"Talks to a running rtpgate over its UNIX control socket.\n\n"
		"Commands:\n"
		"  ping               is the daemon alive\n"
		"  list               the call-ids of the calls up now\n"
		"  query CALL-ID      one call: legs, endpoints, packets, quality\n"
		"  statistics         the relay's counters\n"
		"  delete CALL-ID     end a call now\n"
		"  drain              refuse new calls, exit when the last one ends\n\n"
		"Options:\n"
		"  -s, --socket=PATH  control socket (default %s, or $RTPGATE_SOCKET)\n"
		"  -j, --json         print the daemon's reply as JSON\n"
		"  -t, --timeout=MS   how long to wait for the reply (default %d)\n"
		"  -h, --help         this text\n", DEFAULT_SOCKET, TIMEOUT_MS);
}

/* The daemon falls back to these when neither /run/rtpgate nor /run is
 * writable (main.c). */
static const char *pick_socket(const char *given, char *tmp, size_t n)
{
	if (given)
		return given;
	const char *env = getenv("RTPGATE_SOCKET");
	if (env && env[0])
		return env;
	if (access(DEFAULT_SOCKET, F_OK) == 0)
		return DEFAULT_SOCKET;
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg && xdg[0]) {
		snprintf(tmp, n, "%s/rtpgate/ng.sock", xdg);
		if (access(tmp, F_OK) == 0)
			return tmp;
	}
	snprintf(tmp, n, "/tmp/rtpgate-%u/ng.sock", (unsigned)getuid());
	if (access(tmp, F_OK) == 0)
		return tmp;
	return DEFAULT_SOCKET;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Sends req, returns the decoded reply or NULL (message printed). */
static struct bval *exchange(const char *path, const struct bval *req, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "rtpgate-ctl: socket path too long: %s\n", path);
		return NULL;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "rtpgate-ctl: cannot connect to %s: %s\n"
			"  (is rtpgate running? give its --listen-unix path with -s)\n",
			path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	struct rg_buf out, in;
	buf_init(&out);
	buf_init(&in);
	bencode_encode(req, &out);
	struct bval *reply = NULL;
	size_t off = 0;
	while (buf_ok(&out) && off < out.len) {
		ssize_t n = write(fd, out.data + off, out.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "rtpgate-ctl: write to %s: %s\n", path, strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		uint64_t t = now_ms();
		if (t >= end) {
			fprintf(stderr, "rtpgate-ctl: no reply from %s within %d ms\n", path, timeout_ms);
			goto out;
		}
		struct pollfd p = { fd, POLLIN, 0 };
		int pr = poll(&p, 1, (int)(end - t));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue;
		char chunk[65536];
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "rtpgate-ctl: read from %s: %s\n", path, strerror(errno));
			goto out;
		}
		if (n > 0)
			buf_append(&in, chunk, (size_t)n);
		if (!buf_ok(&in) || in.len > REPLY_MAX) {
			fprintf(stderr, "rtpgate-ctl: reply too large\n");
			goto out;
		}
		size_t used;
		int r = in.len ? bencode_decode(in.data, in.len, &reply, &used) : -EAGAIN;
		if (r == 0)
			break;
		if (r != -EAGAIN || n == 0) {
			fprintf(stderr, "rtpgate-ctl: %s from %s\n",
				n == 0 ? "connection closed before a whole reply" : "unreadable reply", path);
			reply = NULL;
			goto out;
		}
	}
out:
	close(fd);
	buf_free(&out);
	buf_free(&in);
	return reply;
}

/* ---- human output ------------------------------------------------------ */

static void indent(int n)
{
	for (int i = 0; i < n; i++)
		fputs("  ", stdout);
}

static bool scalar(const struct bval *v)
{
	return bval_type(v) == BVAL_STR || bval_type(v) == BVAL_INT;
}

static void print_scalar(const struct bval *v)
{
	long long i;
	if (bval_type(v) == BVAL_INT && bval_as_int(v, &i) == 0) {
		printf("%lld", i);
		return;
	}
	size_t len;
	const char *s = bval_as_str(v, &len);
	for (size_t k = 0; s && k < len; k++) {
		unsigned char c = (unsigned char)s[k];
		if (c == '\r')
			continue;
		if (c == '\n')
			fputs(k + 1 < len ? "\\n" : "", stdout);
		else if (c < 0x20 || c == 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

static void print_tree(const struct bval *v, int depth)
{
	if (bval_type(v) == BVAL_DICT) {
		for (size_t i = 0; i < bval_count(v); i++) {
			const struct bval *x = bval_val_at(v, i);
			indent(depth);
			printf("%s:", bval_key_at(v, i));
			if (scalar(x)) {
				putchar(' ');
				print_scalar(x);
				putchar('\n');
			} else {
				putchar('\n');
				print_tree(x, depth + 1);
			}
		}
	} else if (bval_type(v) == BVAL_LIST) {
		for (size_t i = 0; i < bval_count(v); i++) {
			const struct bval *x = bval_at(v, i);
			indent(depth);
			if (scalar(x)) {
				fputs("- ", stdout);
				print_scalar(x);
				putchar('\n');
			} else {
				printf("- #%zu\n", i + 1);
				print_tree(x, depth + 1);
			}
		}
	} else {
		indent(depth);
		print_scalar(v);
		putchar('\n');
	}
}

/* Everything but "result", which the exit status already says. */
static void print_human(const char *cmd, const struct bval *r)
{
	if (!strcmp(cmd, "ping")) {
		puts("pong");
		return;
	}
	if (!strcmp(cmd, "list")) {
		const struct bval *calls = bval_get(r, "calls");
		for (size_t i = 0; i < bval_count(calls); i++)
			puts(bval_as_str(bval_at(calls, i), NULL) ? bval_as_str(bval_at(calls, i), NULL) : "?");
		if (!bval_count(calls))
			fputs("no calls\n", stderr);
		return;
	}
	if (!strcmp(cmd, "drain")) {
		long long n = 0;
		bval_as_int(bval_get(r, "calls"), &n);
		printf("draining: new offers are refused; %lld call%s still up, the daemon exits after the last\n",
		       n, n == 1 ? "" : "s");
		return;
	}
	for (size_t i = 0; i < bval_count(r); i++) {
		const char *k = bval_key_at(r, i);
		if (!strcmp(k, "result"))
			continue;
		const struct bval *x = bval_val_at(r, i);
		printf("%s:", k);
		if (scalar(x)) {
			putchar(' ');
			print_scalar(x);
			putchar('\n');
		} else {
			putchar('\n');
			print_tree(x, 1);
		}
	}
}

static int print_reply(const char *cmd, const struct bval *r, bool json)
{
	const char *res = bval_as_str(bval_get(r, "result"), NULL);
	bool ok = res && (!strcmp(res, "ok") || !strcmp(res, "pong"));
	if (json) {
		struct rg_buf b;
		buf_init(&b);
		json_encode(r, &b);
		if (buf_ok(&b))
			printf("%s\n", b.data);
		buf_free(&b);
	} else if (ok) {
		print_human(cmd, r);
		const char *w = bval_as_str(bval_get(r, "warning"), NULL);
		if (w)
			fprintf(stderr, "warning: %s\n", w);
	} else {
		const char *why = bval_as_str(bval_get(r, "error-reason"), NULL);
		fprintf(stderr, "rtpgate-ctl: %s: %s\n", res ? res : "no result",
			why ? why : bval_as_str(bval_get(r, "message"), NULL) ? bval_as_str(bval_get(r, "message"), NULL) : "");
	}
	return ok ? 0 : 1;
}

static struct bval *request(const char *cmd)
{
	struct bval *q = bval_dict();
	bval_dict_add_str(q, "command", cmd);
	return q;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL;
	bool json = false;
	int timeout = TIMEOUT_MS;
	for (;;) {
		int c = getopt_long(argc, argv, "s:jt:h", lo, NULL);
		if (c == -1)
			break;
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 't':
			timeout = atoi(optarg);
			if (timeout <= 0) {
				fprintf(stderr, "rtpgate-ctl: --timeout needs a positive number of ms\n");
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[optind];
	int nargs = argc - optind - 1;
	const char *arg = nargs ? argv[optind + 1] : NULL;
	bool needs_arg = !strcmp(cmd, "query") || !strcmp(cmd, "delete");
	bool known = needs_arg || !strcmp(cmd, "ping") || !strcmp(cmd, "list") ||
		     !strcmp(cmd, "statistics") || !strcmp(cmd, "drain");
	if (!known) {
		fprintf(stderr, "rtpgate-ctl: unknown command '%s'\n", cmd);
		usage(stderr);
		return 2;
	}
	if (nargs != (needs_arg ? 1 : 0)) {
		fprintf(stderr, "rtpgate-ctl: '%s' %s\n", cmd, needs_arg ? "needs one CALL-ID" : "takes no argument");
		return 2;
	}
	char tmp[300];
	const char *path = pick_socket(sock, tmp, sizeof(tmp));

	struct bval *q = request(cmd);
	if (!strcmp(cmd, "list"))
		bval_dict_add_int(q, "limit", 1000000);
	if (arg)
		bval_dict_add_str(q, "call-id", arg);
	if (!strcmp(cmd, "delete")) {
		/* ng delete names a tag: take one from the call's query reply */
		struct bval *qq = request("query");
		bval_dict_add_str(qq, "call-id", arg);
		struct bval *qr = exchange(path, qq, timeout);
		bval_free(qq);
		if (!qr) {
			bval_free(q);
			return 3;
		}
		const struct bval *tags = bval_get(qr, "tags");
		const char *tag = bval_count(tags) ? bval_key_at(tags, 0) : NULL;
		if (!tag) {
			int rc = print_reply("query", qr, json);
			bval_free(qr);
			bval_free(q);
			return rc ? rc : 1;
		}
		bval_dict_add_str(q, "from-tag", tag);
		bval_free(qr);
	}
	struct bval *r = exchange(path, q, timeout);
	bval_free(q);
	if (!r)
		return 3;
	if (bval_type(r) != BVAL_DICT) {
		fprintf(stderr, "rtpgate-ctl: the reply is not a dictionary\n");
		bval_free(r);
		return 3;
	}
	int rc = print_reply(cmd, r, json);
	bval_free(r);
	return rc;
}
