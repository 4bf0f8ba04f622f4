/* config.c - the option table and its three readers; see config.h.
 *
 * Precedence: embedded defaults < config file ([rtpgate] section; also
 * [rtpengine] so an existing file can be pointed at us) < command line.
 * The table is the single source: getopt's long options, the INI handler
 * and --help are all generated from it.
 */
#include "config.h"
#include "schedule.h"

#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(struct rg_config, f)

const struct config_opt config_table[] = {
	{ "interface", CFG_STRLIST, "127.0.0.1", 0, 0, OFF(interfaces), false,
	  "media address [NAME/]ADDR[!ADVERTISED]; repeatable; ADVERTISED goes into SDP (1:1 NAT)" },
	{ "listen-ng", CFG_STR, "127.0.0.1:22222", 0, 0, OFF(listen_ng), false,
	  "ng control over UDP on IP:PORT (\"\" disables)" },
	{ "listen-unix", CFG_STR, "/run/rtpgate/ng.sock", 0, 0, OFF(listen_unix), false,
	  "ng control over a UNIX stream socket at PATH, for rtpengine_sock \"unix:PATH\" (\"\" disables)" },
	{ "listen-http", CFG_STR, "", 0, 0, OFF(listen_http), false,
	  "Prometheus metrics over HTTP on IP:PORT (off by default)" },
	{ "listen-rtpp", CFG_STR, "", 0, 0, OFF(listen_rtpp), false,
	  "rtpproxy protocol over UDP on IP:PORT, for rtpproxy_sock \"udp:IP:PORT\" (off by default)" },
	{ "listen-rtpp-unix", CFG_STR, "", 0, 0, OFF(listen_rtpp_unix), false,
	  "rtpproxy protocol over a UNIX stream socket at PATH, for rtpproxy_sock \"unix:PATH\" (off by default)" },
	{ "port-min", CFG_INT, "10000", 1024, 65535, OFF(port_min), false,
	  "lowest media port" },
	{ "port-max", CFG_INT, "20000", 1024, 65535, OFF(port_max), false,
	  "highest media port" },
	{ "num-threads", CFG_INT, "0", 0, 256, OFF(num_threads), false,
	  "media worker threads (0: one per CPU)" },
	{ "foreground", CFG_BOOL, "false", 0, 0, OFF(foreground), false,
	  "stay in the foreground (rtpgate never forks; accepted for rtpengine compatibility)" },
	{ "pidfile", CFG_STR, "", 0, 0, OFF(pidfile), false,
	  "write the process id to FILE" },
	{ "log-level", CFG_INT, "6", 0, 7, OFF(log_level), true,
	  "syslog level: 3 errors .. 6 info .. 7 debug" },
	{ "log-facility", CFG_STR, "daemon", 0, 0, OFF(log_facility), false,
	  "syslog facility when not logging to stderr: daemon, local0 .. local7, user" },
	{ "log-stderr", CFG_BOOL, "true", 0, 0, OFF(log_stderr), false,
	  "log to stderr (false: syslog)" },
	{ "config-file", CFG_STR, "", 0, 0, OFF(config_file), false,
	  "INI file with the same option names in a [rtpgate] section" },
	{ "timeout", CFG_INT, "60", 1, 86400, OFF(timeout), true,
	  "seconds without media before a call ends" },
	{ "offer-timeout", CFG_INT, "3600", 1, 86400, OFF(offer_timeout), true,
	  "seconds an offer waits for its answer" },
	{ "final-timeout", CFG_INT, "0", 0, 604800, OFF(final_timeout), true,
	  "longest call in seconds (0: no limit)" },
	{ "max-sessions", CFG_INT, "0", 0, 10000000, OFF(max_sessions), true,
	  "most concurrent calls (0: no limit); beyond it offers get \"load limit\"" },
	{ "delete-delay", CFG_INT, "0", 0, 3600, OFF(delete_delay), true,
	  "seconds a deleted call keeps relaying before its ports are freed" },
	{ "port-quarantine", CFG_INT, "5", 0, 300, OFF(port_quarantine), false,
	  "seconds a released port waits before reuse" },
	{ "unix-mode", CFG_OCTAL, "0660", 0, 0777, OFF(unix_mode), false,
	  "permission bits of the UNIX control sockets (ng and rtpproxy)" },
	{ "unix-owner", CFG_STR, "", 0, 0, OFF(unix_owner), false,
	  "user (name or number) that owns the UNIX control sockets (\"\": the daemon's)" },
	{ "unix-group", CFG_STR, "", 0, 0, OFF(unix_group), false,
	  "group (name or number) of the UNIX control sockets, e.g. kamailio (\"\": the daemon's)" },
	{ "ng-allow", CFG_STR, "127.0.0.0/8,::1/128", 0, 0, OFF(ng_allow), true,
	  "comma-separated networks allowed to send UDP ng commands" },
	{ "max-request", CFG_INT, "262144", 1024, 16777216, OFF(max_request), false,
	  "largest control request in bytes" },
	{ "max-transcodes", CFG_INT, "0", 0, 10000000, OFF(max_transcodes), true,
	  "most concurrent calls that transcode (0: no limit); beyond it such offers get \"load limit\"" },
	{ "opus-complexity", CFG_INT, "-1", -1, 10, OFF(opus_complexity), true,
	  "Opus encoder complexity 0-10 for transcoded calls (-1: rtpgate's default, 5; libopus alone would use 9)" },
	{ "opus-bitrate", CFG_INT, "0", 0, 510000, OFF(opus_bitrate), true,
	  "Opus target bitrate in bit/s for transcoded calls (0: by internal rate, 16000 at 8 kHz)" },
	{ "media-io", CFG_STR, "auto", 0, 0, OFF(media_io), false,
	  "media socket I/O: uring (io_uring, one system call per loop pass), epoll "
	  "(recvmmsg/sendmmsg per socket), auto (uring where the kernel allows)" },
	{ "media-coalesce-us", CFG_INT, "0", 0, 5000, OFF(media_coalesce_us), false,
	  "io_uring, kernel 6.12+: once packets arrive, a worker waits this many microseconds "
	  "for more before handling them (fewer wake-ups, up to this much added latency; 0: none)" },
	{ "kernel-forward", CFG_STR, "off", 0, 0, OFF(kernel_forward), false,
	  "relay plain calls' RTP in the kernel (a tc program, Linux 6.6+, needs CAP_BPF and "
	  "CAP_NET_ADMIN): off, auto (use it if it loads), on (refuse to start without it)" },
	{ "scheduling", CFG_STR, "default", 0, 0, OFF(scheduling), false,
	  "policy of the media worker threads: default (as started), fifo or rr (realtime, "
	  "with --priority 1..99), other, batch or idle (with --priority as nice -20..19)" },
	{ "priority", CFG_INT, "0", -20, 99, OFF(priority), false,
	  "media worker threads: realtime priority for fifo/rr, else their nice value" },
	{ NULL, 0, NULL, 0, 0, 0, false, NULL },
};

static char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p) {
		fputs("rtpgate: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

static const struct config_opt *find_opt(const char *name)
{
	for (const struct config_opt *o = config_table; o->name; o++)
		if (strcmp(o->name, name) == 0)
			return o;
	/* rtpengine-style files use underscores sometimes */
	char alt[64];
	snprintf(alt, sizeof(alt), "%s", name);
	for (char *p = alt; *p; p++)
		if (*p == '_')
			*p = '-';
	for (const struct config_opt *o = config_table; o->name; o++)
		if (strcmp(o->name, alt) == 0)
			return o;
	return NULL;
}

static int set_opt(struct rg_config *c, const struct config_opt *o, const char *val,
		   bool append, char *err, size_t errlen)
{
	void *field = (char *)c + o->offset;
	switch (o->type) {
	case CFG_INT:
	case CFG_OCTAL: {
		char *end;
		errno = 0;
		long v = strtol(val, &end, o->type == CFG_OCTAL ? 8 : 10);
		if (errno || end == val || *end || v < o->min || v > o->max) {
			snprintf(err, errlen, "invalid value '%s' for --%s (expected %s %ld..%ld)",
				 val, o->name, o->type == CFG_OCTAL ? "octal" : "an integer",
				 o->min, o->max);
			return -EINVAL;
		}
		*(int *)field = (int)v;
		return 0;
	}
	case CFG_BOOL:
		if (!strcmp(val, "true") || !strcmp(val, "yes") || !strcmp(val, "1") || !strcmp(val, "on"))
			*(bool *)field = true;
		else if (!strcmp(val, "false") || !strcmp(val, "no") || !strcmp(val, "0") || !strcmp(val, "off"))
			*(bool *)field = false;
		else {
			snprintf(err, errlen, "invalid value '%s' for --%s (expected true or false)",
				 val, o->name);
			return -EINVAL;
		}
		return 0;
	case CFG_STR: {
		char **s = field;
		free(*s);
		*s = xstrdup(val);
		return 0;
	}
	case CFG_STRLIST: {
		char **list = field;
		int *n = &c->ninterfaces;   /* the only list option */
		if (!append) {
			for (int i = 0; i < *n; i++)
				free(list[i]);
			*n = 0;
		}
		/* a config file may list several, separated by ';' or spaces */
		char *copy = xstrdup(val), *save = NULL;
		for (char *tok = strtok_r(copy, "; \t", &save); tok; tok = strtok_r(NULL, "; \t", &save)) {
			if (*n >= CONFIG_MAX_INTERFACES) {
				free(copy);
				snprintf(err, errlen, "too many --%s (at most %d)", o->name,
					 CONFIG_MAX_INTERFACES);
				return -EINVAL;
			}
			list[(*n)++] = xstrdup(tok);
		}
		free(copy);
		if (*n == 0) {
			snprintf(err, errlen, "empty value for --%s", o->name);
			return -EINVAL;
		}
		return 0;
	}
	}
	return -EINVAL;
}

static void set_defaults(struct rg_config *c)
{
	char err[256];
	memset(c, 0, sizeof(*c));
	for (const struct config_opt *o = config_table; o->name; o++)
		if (set_opt(c, o, o->def, false, err, sizeof(err)) < 0) {
			fprintf(stderr, "rtpgate: bad built-in default: %s\n", err);
			exit(1);
		}
}

struct ini_ctx {
	struct rg_config *c;
	bool reload_only;
	bool seen_interface;
	char *err;
	size_t errlen;
	int rc;
	const char *path;
};

static int cfg_ini_handler(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *x = user;
	if (x->rc)
		return 0;
	if (strcmp(section, "rtpgate") && strcmp(section, "rtpengine"))
		return 1;   /* other programs' sections are not ours to judge */
	const struct config_opt *o = find_opt(name);
	if (!o) {
		snprintf(x->err, x->errlen, "%s: unknown option '%s' in [%s]", x->path, name, section);
		x->rc = -EINVAL;
		return 0;
	}
	if (x->reload_only && !o->reloadable)
		return 1;
	char e[200];
	bool append = o->type == CFG_STRLIST && x->seen_interface;
	if (set_opt(x->c, o, value, append, e, sizeof(e)) < 0) {
		snprintf(x->err, x->errlen, "%s: %s", x->path, e);
		x->rc = -EINVAL;
		return 0;
	}
	if (o->type == CFG_STRLIST)
		x->seen_interface = true;
	return 1;
}

static int read_file(struct rg_config *c, const char *path, bool reload_only, char *err, size_t errlen)
{
	struct ini_ctx x = { c, reload_only, false, err, errlen, 0, path };
	int r = ini_parse(path, cfg_ini_handler, &x);
	if (x.rc)
		return x.rc;
	if (r == -1) {
		snprintf(err, errlen, "cannot open config file '%s': %s", path, strerror(errno));
		return -EINVAL;
	}
	if (r != 0) {
		snprintf(err, errlen, "%s: syntax error on line %d", path, r);
		return -EINVAL;
	}
	return 0;
}

static int validate(const struct rg_config *c, char *err, size_t errlen)
{
	if (c->port_min > c->port_max) {
		snprintf(err, errlen, "--port-min (%d) is above --port-max (%d)", c->port_min, c->port_max);
		return -EINVAL;
	}
	if (c->port_max - c->port_min < 1) {
		snprintf(err, errlen, "--port-min..--port-max must hold at least one even/odd port pair");
		return -EINVAL;
	}
	if (strcmp(c->kernel_forward, "off") && strcmp(c->kernel_forward, "auto") &&
	    strcmp(c->kernel_forward, "on")) {
		snprintf(err, errlen, "invalid value '%s' for --kernel-forward (expected off, auto or on)",
			 c->kernel_forward);
		return -EINVAL;
	}
	struct schedule_cfg sc;
	return schedule_parse(c->scheduling, c->priority, &sc, err, errlen);
}

void config_print_help(const char *argv0)
{
	printf("Usage: %s [OPTION]...\n"
	       "rtpgate: RTP media relay and transcoder driven by the ng protocol.\n\n", argv0);
	for (const struct config_opt *o = config_table; o->name; o++) {
		char lhs[64];
		const char *arg = o->type == CFG_BOOL ? "[=BOOL]" : o->type == CFG_INT ? "=N" : "=VALUE";
		snprintf(lhs, sizeof(lhs), "--%s%s", o->name, arg);
		printf("  %-26s %s", lhs, o->help);
		if (o->def[0])
			printf(" [default: %s]", o->def);
		if (o->reloadable)
			printf(" (SIGHUP reloads)");
		putchar('\n');
	}
	printf("  %-26s %s\n  %-26s %s\n", "-h, --help", "show this help", "-v, --version", "show the version");
}

void config_print_ini(void)
{
	printf("# rtpgate configuration: every option with its default value.\n"
	       "# Generated by `rtpgate --dump-config`; the same names work as --OPTION=VALUE.\n"
	       "# Options marked (reload) are re-read on SIGHUP.\n\n[rtpgate]\n");
	for (const struct config_opt *o = config_table; o->name; o++) {
		bool self = !strcmp(o->name, "config-file");
		printf("\n# %s%s\n%s%s =%s%s\n", o->help, o->reloadable ? " (reload)" : "",
		       self ? "# " : "", o->name, o->def[0] ? " " : "", o->def);
	}
}

int config_load(struct rg_config *c, int argc, char **argv, char *err, size_t errlen)
{
	size_t nopt = 0;
	for (const struct config_opt *o = config_table; o->name; o++)
		nopt++;
	struct option *lo = calloc(nopt + 4, sizeof(*lo));
	if (!lo)
		return -ENOMEM;
	for (size_t i = 0; i < nopt; i++) {
		lo[i].name = config_table[i].name;
		lo[i].has_arg = config_table[i].type == CFG_BOOL ? optional_argument : required_argument;
		lo[i].val = 1000 + (int)i;
	}
	lo[nopt] = (struct option){ "help", no_argument, NULL, 'h' };
	lo[nopt + 1] = (struct option){ "version", no_argument, NULL, 'v' };
	lo[nopt + 2] = (struct option){ "dump-config", no_argument, NULL, 'D' };   /* hidden */

	set_defaults(c);
	int rc = 0;
	/* First pass: only --config-file, so the command line can override it. */
	opterr = 0;
	optind = 1;
	for (;;) {
		int ch = getopt_long(argc, argv, ":hv", lo, NULL);
		if (ch == -1)
			break;
		if (ch >= 1000 && !strcmp(config_table[ch - 1000].name, "config-file"))
			set_opt(c, &config_table[ch - 1000], optarg, false, err, errlen);
	}
	if (c->config_file[0]) {
		rc = read_file(c, c->config_file, false, err, errlen);
		if (rc)
			goto out;
	}
	optind = 1;
	bool iface_from_cli = false;
	for (;;) {
		int idx = -1;
		int ch = getopt_long(argc, argv, ":hv", lo, &idx);
		if (ch == -1)
			break;
		if (ch == 'D') {
			config_print_ini();
			rc = 1;
			goto out;
		}
		if (ch == 'h') {
			config_print_help(argv[0]);
			rc = 1;
			goto out;
		}
		if (ch == 'v') {
			printf("rtpgate %s\n", RG_VERSION);
			rc = 1;
			goto out;
		}
		if (ch == '?') {
			snprintf(err, errlen, "unknown option '%s'", argv[optind - 1]);
			rc = -EINVAL;
			goto out;
		}
		if (ch == ':') {
			snprintf(err, errlen, "option '%s' needs a value", argv[optind - 1]);
			rc = -EINVAL;
			goto out;
		}
		const struct config_opt *o = &config_table[ch - 1000];
		const char *val = optarg ? optarg : "true";
		bool append = o->type == CFG_STRLIST && iface_from_cli;
		rc = set_opt(c, o, val, append, err, errlen);
		if (rc)
			goto out;
		if (o->type == CFG_STRLIST)
			iface_from_cli = true;
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		rc = -EINVAL;
		goto out;
	}
	rc = validate(c, err, errlen);
out:
	free(lo);
	return rc;
}

int config_reload(struct rg_config *c, char *err, size_t errlen)
{
	if (!c->config_file[0])
		return 0;
	struct rg_config tmp = *c;
	/* strings are owned by c; a reload only changes reloadable ones, so
	 * parse into a copy whose string fields are private */
	for (const struct config_opt *o = config_table; o->name; o++)
		if (o->type == CFG_STR)
			*(char **)((char *)&tmp + o->offset) = xstrdup(*(char **)((char *)c + o->offset));
	for (int i = 0; i < c->ninterfaces; i++)
		tmp.interfaces[i] = xstrdup(c->interfaces[i]);
	int rc = read_file(&tmp, c->config_file, true, err, errlen);
	if (rc == 0)
		rc = validate(&tmp, err, errlen);
	if (rc == 0) {
		config_free(c);
		*c = tmp;
	} else {
		config_free(&tmp);
	}
	return rc;
}

void config_free(struct rg_config *c)
{
	for (const struct config_opt *o = config_table; o->name; o++)
		if (o->type == CFG_STR) {
			char **s = (char **)((char *)c + o->offset);
			free(*s);
			*s = NULL;
		}
	for (int i = 0; i < c->ninterfaces; i++)
		free(c->interfaces[i]);
	c->ninterfaces = 0;
}
