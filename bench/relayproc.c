/* relayproc.c - starting a relay for a measurement and stopping it after.
 *
 * The relay gets its own process group, so a Ctrl-C at the terminal reaches
 * only rtpgate-bench, which then deletes its calls and stops the relay in
 * order. Signal dispositions the tool changed for itself (SIGPIPE ignored)
 * are put back before exec so the relay runs as it would on its own.
 */
#include "relayproc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

static unsigned relayproc_free_port(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof(a);
	unsigned port = 0;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &al) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static void relayproc_subst(struct rg_buf *out, const char *tmpl, const char *key,
			    const char *val)
{
	size_t kl = strlen(key);
	for (const char *p = tmpl; *p;) {
		if (!strncmp(p, key, kl)) {
			buf_puts(out, val);
			p += kl;
		} else {
			buf_putc(out, *p++);
		}
	}
}

int relayproc_start(struct relayproc *rp, const char *tmpl, const char *log_path,
		    unsigned max_calls, unsigned port_min, unsigned port_max, bool quiet)
{
	memset(rp, 0, sizeof(*rp));
	rp->ng_port = relayproc_free_port();
	if (!rp->ng_port)
		return -EADDRNOTAVAIL;
	if (!port_min) {
		unsigned size = max_calls * 4 + 2000;
		if (size > 30000)
			size = 30000;
		srand((unsigned)(getpid() ^ time(NULL)));
		port_min = 20000 + ((unsigned)rand() % (60000 - 20000 - size)) / 2 * 2;
		port_max = port_min + size - 1;
	}
	rp->port_min = port_min;
	rp->port_max = port_max;
	snprintf(rp->sock, sizeof(rp->sock), "/tmp/rtpgate-bench-%d.sock", (int)getpid());
	char ngport[16], pmin[16], pmax[16];
	snprintf(ngport, sizeof(ngport), "%u", rp->ng_port);
	snprintf(pmin, sizeof(pmin), "%u", port_min);
	snprintf(pmax, sizeof(pmax), "%u", port_max);
	const char *keys[] = { "{ng_port}", "{port_min}", "{port_max}", "{ng_sock}" };
	const char *vals[] = { ngport, pmin, pmax, rp->sock };
	struct rg_buf a, b;
	buf_init(&a);
	buf_init(&b);
	buf_puts(&a, "exec ");
	buf_puts(&a, tmpl);
	for (int i = 0; i < 4; i++) {
		buf_reset(&b);
		relayproc_subst(&b, a.data, keys[i], vals[i]);
		buf_reset(&a);
		buf_puts(&a, b.data);
	}
	buf_free(&b);
	if (!buf_ok(&a)) {
		buf_free(&a);
		return -ENOMEM;
	}
	if (!quiet)
		fprintf(stderr, "starting relay: %s\n", a.data + 5);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = -errno;
		buf_free(&a);
		return e;
	}
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		if (freopen(log_path, "a", stdout))
			dup2(fileno(stdout), 2);
		execl("/bin/sh", "sh", "-c", a.data, (char *)NULL);
		_exit(127);
	}
	buf_free(&a);
	rp->pid = pid;
	return 0;
}

bool relayproc_exited(struct relayproc *rp)
{
	if (rp->pid && waitpid(rp->pid, NULL, WNOHANG) == rp->pid) {
		rp->pid = 0;
		return true;
	}
	return false;
}

void relayproc_stop(struct relayproc *rp)
{
	if (!rp->pid)
		return;
	kill(rp->pid, SIGTERM);
	for (int i = 0; i < 50; i++) {
		if (relayproc_exited(rp))
			return;
		usleep(100000);
	}
	kill(rp->pid, SIGKILL);
	waitpid(rp->pid, NULL, 0);
	rp->pid = 0;
}
