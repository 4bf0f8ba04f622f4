/* config.h - rtpgate's settings: one table drives the config file, the
 * command line, --help and the control `statistics`/`config` replies.
 *
 * Names follow rtpengine's wherever rtpengine has the same option, so an
 * operator's muscle memory and config files carry over. The config is
 * parsed once on the main thread before any other thread starts; after that
 * it is read-only (the one global snapshot STYLE.md allows), except for the
 * settings marked reloadable, which SIGHUP re-reads on the control thread.
 */
#ifndef RG_CONFIG_H
#define RG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define CONFIG_MAX_INTERFACES 8

struct rg_config {
	char *interfaces[CONFIG_MAX_INTERFACES];   /* "[NAME/]ADDR[!ADVERTISED]" */
	int ninterfaces;
	char *listen_ng;        /* UDP IP:PORT, "" = off */
	char *listen_unix;      /* path, "" = off */
	char *listen_http;      /* metrics IP:PORT, "" = off */
	char *listen_rtpp;      /* rtpproxy protocol over UDP IP:PORT, "" = off */
	char *listen_rtpp_unix; /* rtpproxy protocol over a UNIX socket, "" = off */
	int port_min, port_max;
	int num_threads;        /* 0 = number of CPUs */
	bool foreground;
	char *pidfile;
	int log_level;
	bool log_stderr;
	char *log_facility;     /* syslog facility name */
	char *config_file;
	int timeout, offer_timeout, final_timeout;
	int max_sessions;       /* 0 = unlimited */
	int delete_delay;
	int port_quarantine;    /* seconds a released port rests */
	int unix_mode;          /* permission bits of the UNIX socket */
	char *unix_owner;       /* user (name or number) to own it, "" = unchanged */
	char *unix_group;       /* group (name or number), "" = unchanged */
	char *ng_allow;         /* comma-separated CIDRs allowed on UDP ng */
	int max_request;        /* bytes */
	int max_transcodes;     /* 0 = unlimited */
	int opus_complexity;    /* -1 = codec default */
	int opus_bitrate;       /* 0 = codec default */
	char *media_io;         /* auto, uring, epoll */
	int media_coalesce_us;  /* io_uring: minimum wait before a busy worker's pass, 0 = none */
	char *kernel_forward;   /* off, auto, on (kfwd.h) */
	char *scheduling;       /* media workers' policy (schedule.h), "default" = untouched */
	int priority;           /* realtime priority, or nice value */
};

enum config_type { CFG_INT, CFG_BOOL, CFG_STR, CFG_STRLIST, CFG_OCTAL };

struct config_opt {
	const char *name;
	enum config_type type;
	const char *def;        /* default, as text */
	long min, max;          /* for CFG_INT */
	size_t offset;          /* into struct rg_config */
	bool reloadable;
	const char *help;
};

extern const struct config_opt config_table[];

/* Fills *c from defaults, then --config-file (if given), then argv.
 * Returns 0, 1 when --help/--version was printed (exit 0), or -EINVAL with
 * a message naming the offending option in err. */
int config_load(struct rg_config *c, int argc, char **argv, char *err, size_t errlen);
/* Re-reads the config file and copies only the reloadable settings. */
int config_reload(struct rg_config *c, char *err, size_t errlen);
void config_free(struct rg_config *c);
void config_print_help(const char *argv0);
/* The whole table as an INI file with the defaults (--dump-config). */
void config_print_ini(void);

#endif
