/* fuzz_control.c - libFuzzer target: whole ng requests through the command
 * handlers of a real daemon set up in-process (one interface on 127.0.0.1,
 * a 1,000-port range, one epoll worker thread, no control sockets). The
 * input is one or more requests separated by the 4 bytes "\0RG\0" (so that
 * an offer can be followed by its answer), each as Kamailio sends it over
 * UDP ("<cookie> <body>") or a bare body; each runs through
 * control_run_request() -> commands_handle(), so
 * offers and answers with arbitrary SDP reach SDP rewriting, SDES and codec
 * negotiation. After each input every call is ended, so inputs stay
 * independent and ports are not exhausted.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "buf.h"
#include "call.h"
#include "config.h"
#include "control.h"
#include "daemon.h"
#include "log.h"
#include "ng.h"
#include "ports.h"
#include "worker.h"

/* main.c defines this for the daemon; librelay's users bring their own */

static struct rg_daemon d;

static void setup(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	char err[256], pmin[32], pmax[32];
	/* no fixed ports: a range of 1,000 that depends on the process */
	int base = 20000 + (int)(getpid() % 40) * 1000;
	snprintf(pmin, sizeof(pmin), "--port-min=%d", base);
	snprintf(pmax, sizeof(pmax), "--port-max=%d", base + 999);
	char *argv[] = { "fuzz_control", "--interface=127.0.0.1", pmin, pmax,
			 "--num-threads=1", "--log-level=0", NULL };
	if (config_load(&d.cfg, 6, argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_control: %s\n", err);
		abort();
	}
	log_init(0, false);
	d.nifaces = 1;
	struct iface *f = &d.ifaces[0];
	snprintf(f->name, sizeof(f->name), "default");
	snprintf(f->advertised, sizeof(f->advertised), "127.0.0.1");
	if (addr_parse(&f->local, "127.0.0.1", 0) < 0 ||
	    ports_pool_new(&f->pool, &f->local.sa, base, base + 999, 0) < 0)
		abort();
	d.loop = uv_default_loop();
	d.started_ms = rg_now_ms();
	if (calls_init(&d) < 0)
		abort();
	d.workers = calloc(1, sizeof(*d.workers));
	if (!d.workers || worker_start(&d.workers[0], 0, false, NULL) < 0)
		abort();
	d.nworkers = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char sep[4] = { 0, 'R', 'G', 0 };
	setup();
	const char *p = (const char *)data, *end = p + size;
	for (int n = 0; p <= end && n < 8; n++) {
		const char *q = memmem(p, (size_t)(end - p), sep, sizeof(sep));
		size_t len = q ? (size_t)(q - p) : (size_t)(end - p);
		const char *body = p;
		struct ng_frame fr;
		if (ng_frame_split(p, len, &fr) == 0) {
			body = fr.body;
			len = fr.body_len;
		}
		struct rg_buf out;
		buf_init(&out);
		control_run_request(&d, body, len, &out);
		buf_free(&out);
		if (!q)
			break;
		p = q + sizeof(sep);
	}
	while (d.calls_head)
		call_end(&d, d.calls_head, END_DELETE);
	return 0;
}
