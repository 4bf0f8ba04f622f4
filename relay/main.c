/* main.c - rtpgate's entry point: settings, interfaces, workers, control
 * loop, signals.
 *
 * The main thread becomes the control thread. It never forks (a service
 * manager or the shell keeps it in the foreground; --foreground is accepted
 * for rtpengine compatibility). SIGTERM/SIGINT end every call and exit;
 * SIGHUP re-reads the reloadable settings; SIGQUIT drains: new offers are
 * refused with "load limit" so the proxy fails over, existing calls run to
 * their end, then the process exits.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "call.h"
#include "config.h"
#include "control.h"
#include "daemon.h"
#include "kfwd.h"
#include "log.h"
#include "ops.h"
#include "ports.h"
#include "replycache.h"
#include "uring.h"
#include "worker.h"

/* "[NAME/]ADDR[!ADVERTISED]" */
static int iface_parse(struct iface *f, const char *spec, char *err, size_t errlen)
{
	char tmp[256];
	snprintf(tmp, sizeof(tmp), "%s", spec);
	char *addr = tmp, *adv = strchr(tmp, '!');
	char *slash = strchr(tmp, '/');
	snprintf(f->name, sizeof(f->name), "default");
	if (slash && (!adv || slash < adv)) {
		*slash = '\0';
		snprintf(f->name, sizeof(f->name), "%.*s", (int)sizeof(f->name) - 1, tmp);
		addr = slash + 1;
	}
	if (adv)
		*adv++ = '\0';
	if (addr_parse(&f->local, addr, 0) < 0) {
		snprintf(err, errlen, "--interface '%s': '%s' is not an IPv4 or IPv6 address", spec, addr);
		return -EINVAL;
	}
	union rg_addr tmpa;
	if (adv && addr_parse(&tmpa, adv, 0) < 0) {
		snprintf(err, errlen, "--interface '%s': advertised '%s' is not an IP address", spec, adv);
		return -EINVAL;
	}
	snprintf(f->advertised, sizeof(f->advertised), "%.*s", (int)sizeof(f->advertised) - 1,
		 adv ? adv : addr);
	return 0;
}

static void raise_nofile(const struct rg_config *c, int nifaces)
{
	/* every media port is a socket, plus control sockets and some slack */
	rlim_t need = (rlim_t)(c->port_max - c->port_min + 1) * (rlim_t)nifaces + 256;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur >= need)
		return;
	struct rlimit nrl = { need, rl.rlim_max >= need ? rl.rlim_max : need };
	if (setrlimit(RLIMIT_NOFILE, &nrl) == 0)
		return;
	nrl.rlim_cur = rl.rlim_max;
	nrl.rlim_max = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &nrl);
	LOG(LOG_WARNING, "core",
	    "open-file limit is %llu but the port range needs %llu: calls beyond the limit will "
	    "fail with \"Ran out of ports\"; raise LimitNOFILE/ulimit -n or narrow --port-min/--port-max",
	    (unsigned long long)nrl.rlim_cur, (unsigned long long)need);
}

static void shutdown_all(struct rg_daemon *d)
{
	while (d->calls_head)
		call_end(d, d->calls_head, END_SHUTDOWN);
	control_close(d);
	ops_close(d);
	uv_timer_stop(&d->timer);
	uv_close((uv_handle_t *)&d->timer, NULL);
	uv_close((uv_handle_t *)&d->sig_term, NULL);
	uv_close((uv_handle_t *)&d->sig_int, NULL);
	uv_close((uv_handle_t *)&d->sig_hup, NULL);
	uv_close((uv_handle_t *)&d->sig_quit, NULL);
}

static void on_timer(uv_timer_t *t)
{
	struct rg_daemon *d = t->data;
	uint64_t now = rg_now_ms();
	call_tick(d, now);
	replycache_expire(d->replies, now);
	/* hand memory of ended calls back to the system once many have gone,
	 * so the resident size follows the load down */
	if (d->ncalls > d->trimmed_at)
		d->trimmed_at = d->ncalls;
	else if (d->trimmed_at - d->ncalls >= 64 || (d->trimmed_at && !d->ncalls)) {
		malloc_trim(0);
		d->trimmed_at = d->ncalls;
	}
	if (d->draining && !d->ncalls) {
		LOG(LOG_NOTICE, "core", "drained: no calls left, exiting");
		shutdown_all(d);
	}
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct rg_daemon *d = s->data;
	if (signum == SIGHUP) {
		char err[256];
		if (config_reload(&d->cfg, err, sizeof(err)) < 0)
			LOG(LOG_ERR, "core", "reload failed, keeping the old settings: %s", err);
		else {
			log_set_level(d->cfg.log_level);
			LOG(LOG_NOTICE, "core", "settings reloaded");
		}
		return;
	}
	if (signum == SIGQUIT) {
		LOG(LOG_NOTICE, "core", "draining: refusing new calls, %zu still up", d->ncalls);
		d->draining = true;
		return;
	}
	LOG(LOG_NOTICE, "core", "signal %d: ending %zu calls and exiting", signum, d->ncalls);
	shutdown_all(d);
}

static void default_unix_fallback(struct rg_config *c)
{
	/* The default lives in /run/rtpgate. It serves when that directory is
	 * ours to write (systemd's RuntimeDirectory=rtpgate makes it so for
	 * the unit's user) or /run is (root: the directory is made at bind);
	 * otherwise say where else. */
	if (strcmp(c->listen_unix, "/run/rtpgate/ng.sock") || access("/run/rtpgate", W_OK | X_OK) == 0 ||
	    access("/run", W_OK) == 0)
		return;
	char path[256];
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg && xdg[0])
		snprintf(path, sizeof(path), "%s/rtpgate/ng.sock", xdg);
	else
		snprintf(path, sizeof(path), "/tmp/rtpgate-%u/ng.sock", (unsigned)getuid());
	LOG(LOG_WARNING, "control", "neither /run/rtpgate nor /run is writable: using %s for the UNIX socket",
	    path);
	free(c->listen_unix);
	c->listen_unix = strdup(path);
}

int main(int argc, char **argv)
{
	static struct rg_daemon d;
	char err[512];
	int rc = config_load(&d.cfg, argc, argv, err, sizeof(err));
	if (rc == 1)
		return 0;
	if (rc < 0) {
		fprintf(stderr, "rtpgate: %s (see --help)\n", err);
		return 2;
	}
	log_init(d.cfg.log_level, !d.cfg.log_stderr);
	if (ops_log_facility(&d.cfg) < 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);

	d.nifaces = d.cfg.ninterfaces;
	for (int i = 0; i < d.nifaces; i++) {
		if (iface_parse(&d.ifaces[i], d.cfg.interfaces[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "rtpgate: %s\n", err);
			return 2;
		}
		int r = ports_pool_new(&d.ifaces[i].pool, &d.ifaces[i].local.sa, d.cfg.port_min,
				       d.cfg.port_max, (unsigned)d.cfg.port_quarantine * 1000);
		if (r < 0) {
			fprintf(stderr, "rtpgate: port pool for %s: %s\n", d.cfg.interfaces[i], strerror(-r));
			return 2;
		}
	}
	raise_nofile(&d.cfg, d.nifaces);
	default_unix_fallback(&d.cfg);

	d.loop = uv_default_loop();
	d.started_ms = rg_now_ms();
	d.started_wall = time(NULL);
	if (calls_init(&d) < 0)
		return 1;

	int nthreads = d.cfg.num_threads;
	if (nthreads <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		nthreads = n > 0 ? (int)n : 1;
	}
	d.workers = calloc((size_t)nthreads, sizeof(*d.workers));
	if (!d.workers)
		return 1;
	if (strcmp(d.cfg.media_io, "auto") && strcmp(d.cfg.media_io, "uring") && strcmp(d.cfg.media_io, "epoll")) {
		fprintf(stderr, "rtpgate: invalid value '%s' for --media-io (expected auto, uring or epoll)\n",
			d.cfg.media_io);
		return 2;
	}
	struct schedule_cfg sched;
	if (schedule_parse(d.cfg.scheduling, d.cfg.priority, &sched, err, sizeof(err)) < 0) {
		fprintf(stderr, "rtpgate: %s\n", err);   /* validated by config_load already */
		return 2;
	}
	if (strcmp(d.cfg.kernel_forward, "off")) {
		union rg_addr locals[CONFIG_MAX_INTERFACES];
		for (int i = 0; i < d.nifaces; i++)
			locals[i] = d.ifaces[i].local;
		unsigned ports = (unsigned)(d.cfg.port_max - d.cfg.port_min + 1);
		int r = kfwd_open(&d.kf, locals, d.nifaces, ports * (unsigned)d.nifaces, err, sizeof(err));
		if (r < 0 && !strcmp(d.cfg.kernel_forward, "on")) {
			fprintf(stderr, "rtpgate: --kernel-forward=on: %s\n", err);
			return 1;
		}
		if (r < 0)
			LOG(LOG_WARNING, "core", "kernel forwarding unavailable, the workers relay everything: %s",
			    err);
	}
	for (int i = 0; i < nthreads; i++) {
		int r = worker_start(&d.workers[i], i, strcmp(d.cfg.media_io, "epoll") != 0, &sched);
		if (r < 0) {
			LOG(LOG_ERR, "core", "cannot start worker %d: %s", i, uv_strerror(r));
			return 1;
		}
		d.nworkers++;
		d.workers[i].kf = d.kf;   /* before any session: the mailbox orders it */
		if (d.cfg.media_coalesce_us && !uring_can_coalesce(&d.workers[i]))
			LOG(LOG_WARNING, "core", "worker %d: --media-coalesce-us needs io_uring on kernel 6.12+, ignored", i);
		uring_set_coalesce(&d.workers[i], (unsigned)d.cfg.media_coalesce_us);
	}

	if (control_open(&d) < 0 || ops_open(&d) < 0)
		return 1;
	uv_timer_init(d.loop, &d.timer);
	d.timer.data = &d;
	uv_timer_start(&d.timer, on_timer, 1000, 1000);
	uv_signal_t *sigs[] = { &d.sig_term, &d.sig_int, &d.sig_hup, &d.sig_quit };
	int signums[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };
	for (int i = 0; i < 4; i++) {
		uv_signal_init(d.loop, sigs[i]);
		sigs[i]->data = &d;
		uv_signal_start(sigs[i], on_signal, signums[i]);
	}
	if (d.cfg.pidfile[0]) {
		FILE *f = fopen(d.cfg.pidfile, "w");
		if (!f) {
			LOG(LOG_ERR, "core", "cannot write pidfile %s: %s", d.cfg.pidfile, strerror(errno));
			return 1;
		}
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
	for (int i = 0; i < d.nifaces; i++) {
		char a[64];
		LOG(LOG_INFO, "core", "interface %s: %s (advertised %s), ports %d-%d",
		    d.ifaces[i].name, addr_ip_str(&d.ifaces[i].local, a, sizeof(a)),
		    d.ifaces[i].advertised, d.cfg.port_min, d.cfg.port_max);
	}
	char how[32];
	schedule_describe(&sched, how, sizeof(how));
	LOG(LOG_NOTICE, "core", "rtpgate %s ready, %d media worker threads (--scheduling %s), media I/O: %s%s",
	    RG_VERSION, d.nworkers, how, d.workers[0].ur ? "io_uring" : "epoll",
	    d.kf ? ", kernel forwarding on" : "");

	uv_run(d.loop, UV_RUN_DEFAULT);

	for (int i = 0; i < d.nworkers; i++)
		worker_stop(&d.workers[i]);
	kfwd_close(d.kf);
	uv_loop_close(d.loop);
	replycache_free(d.replies);
	for (int i = 0; i < d.nifaces; i++)
		ports_pool_free(d.ifaces[i].pool);
	free(d.workers);
	calls_fini(&d);
	if (d.cfg.pidfile[0])
		unlink(d.cfg.pidfile);
	config_free(&d.cfg);
	LOG(LOG_NOTICE, "core", "stopped");
	return 0;
}
