/* forwarder.c - the machine's packet-forwarding limit, without a relay.
 *
 * A relay cannot be cheaper than the system calls its socket layout forces
 * on it, so this benchmark measures exactly those and nothing else, as the
 * yardstick for rtpgate's CPU per packet:
 *
 *   --mode layout: the relay's layout. For each of --calls calls the
 *   forwarder owns two UDP sockets (one per side, as a relay binds one port
 *   per media side) and a generator thread owns two more (caller, callee)
 *   sending 20 ms packets (172 bytes, as PCMU RTP) at --rate per direction,
 *   spread over 1 ms ticks. The forwarder threads wait in epoll_wait() and do
 *   one recvmsg() and one sendmsg() per packet, from the socket of the other
 *   side, like a relay with no work to do.
 *
 *   With --send raw, the layout forwarder keeps its per-socket receives but
 *   sends everything one epoll_wait() round produced through one raw socket
 *   with sendmmsg(), writing each packet's UDP header with the output
 *   socket's own port: what batching sends across sockets would save.
 *
 *   --mode batch: one socket at full rate. A generator thread pushes
 *   packets with sendmmsg() in batches of --batch (32) and drains a sink;
 *   the forwarder moves them with recvmmsg()/sendmmsg() batches. A window
 *   of packets in flight keeps socket buffers from overflowing, so what is
 *   measured is throughput, not drops.
 *
 * CPU is each thread's own run time from /proc/self/task/TID/schedstat
 * over the measured window (after a one-second warm-up); loss is counted
 * over the whole run after the generator stops sending and 0.5 s of drain.
 * The layout generator runs SCHED_FIFO when allowed, so that it keeps its
 * schedule on a busy machine; the forwarder threads run at normal priority. Output is one
 * JSON object per run on stdout; human notes go to stderr. It never fails
 * for being slow (meson benchmark()).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define PKT_LEN 172
#define MAX_BATCH 256

struct fwd_opts {
	const char *mode;
	int send_raw;                   /* layout: batch sends via a raw socket */
	unsigned calls, threads, rate, batch, inflight;
	double duration;
};

struct fwd_thread {
	pthread_t th;
	int ep;
	int raw;                        /* --send raw: the raw socket */
	pid_t tid;
	atomic_ullong packets;
	atomic_int stop;
	struct fwd_shared *sh;
};

struct fwd_shared {
	struct fwd_opts o;
	unsigned nsock;                 /* forwarder sockets: 2 per call */
	int *fsock;                     /* forwarder side */
	struct sockaddr_in *fdst;       /* where fsock[i] sends (the leg on its side) */
	int *gsock;                     /* generator legs */
	struct sockaddr_in *gdst;       /* where gsock[i] sends (fsock[i]) */
	atomic_ullong gen_sent, gen_recv;
	atomic_int stop, no_tx;         /* no_tx: stop sending, keep receiving */
	pid_t gen_tid;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t task_cpu_ns(pid_t tid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", (int)tid);
	FILE *f = fopen(path, "r");
	unsigned long long v = 0;
	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

static int udp_socket(struct sockaddr_in *bound)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof(a);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	*bound = a;
	return fd;
}

/* ---------- layout mode ---------- */

static void *layout_forwarder(void *arg)
{
	struct fwd_thread *t = arg;
	struct fwd_shared *sh = t->sh;
	t->tid = (pid_t)syscall(SYS_gettid);
	struct epoll_event evs[256];
	uint8_t buf[2048];
	while (!atomic_load_explicit(&t->stop, memory_order_relaxed)) {
		int n = epoll_wait(t->ep, evs, 256, 100);
		for (int i = 0; i < n; i++) {
			unsigned s = evs[i].data.u32;
			struct iovec iov = { buf, sizeof(buf) };
			struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
			ssize_t len = recvmsg(sh->fsock[s], &mh, 0);
			if (len <= 0)
				continue;
			unsigned out = s ^ 1u; /* the other side of the same call */
			iov.iov_len = (size_t)len;
			struct msghdr sm = { .msg_name = &sh->fdst[out], .msg_namelen = sizeof(sh->fdst[out]),
					     .msg_iov = &iov, .msg_iovlen = 1 };
			if (sendmsg(sh->fsock[out], &sm, 0) == len)
				atomic_fetch_add_explicit(&t->packets, 1, memory_order_relaxed);
		}
	}
	return NULL;
}

/* The same forwarder, but the sends of one epoll_wait() round leave
 * together: each packet gets its IPv4/UDP header with the output socket's
 * port as source and they go out through one raw socket per sendmmsg()
 * (needs CAP_NET_RAW). This is the number for "batching sends across
 * sockets"; receives stay one recvmsg() per packet. */
static void *layout_forwarder_raw(void *arg)
{
	struct fwd_thread *t = arg;
	struct fwd_shared *sh = t->sh;
	t->tid = (pid_t)syscall(SYS_gettid);
	static __thread struct epoll_event evs[MAX_BATCH];
	static __thread uint8_t pkt[MAX_BATCH][28 + 2048];
	static __thread struct mmsghdr mm[MAX_BATCH];
	static __thread struct iovec iov[MAX_BATCH];
	while (!atomic_load_explicit(&t->stop, memory_order_relaxed)) {
		int n = epoll_wait(t->ep, evs, (int)sh->o.batch, 100);
		unsigned k = 0;
		for (int i = 0; i < n; i++) {
			unsigned s = evs[i].data.u32, out = s ^ 1u;
			struct iovec riov = { pkt[k] + 28, 2048 };
			struct msghdr mh = { .msg_iov = &riov, .msg_iovlen = 1 };
			ssize_t len = recvmsg(sh->fsock[s], &mh, 0);
			if (len <= 0)
				continue;
			uint8_t *ip = pkt[k], *udp = ip + 20;
			memset(ip, 0, 28);
			ip[0] = 0x45;
			ip[8] = 64;
			ip[9] = IPPROTO_UDP;
			uint16_t tot = htons((uint16_t)(28 + len)), ulen = htons((uint16_t)(8 + len));
			memcpy(ip + 2, &tot, 2);
			memcpy(ip + 12, &sh->gdst[out].sin_addr, 4);   /* our socket's address */
			memcpy(ip + 16, &sh->fdst[out].sin_addr, 4);
			memcpy(udp, &sh->gdst[out].sin_port, 2);       /* our socket's port */
			memcpy(udp + 2, &sh->fdst[out].sin_port, 2);
			memcpy(udp + 4, &ulen, 2);
			iov[k] = (struct iovec){ ip, 28 + (size_t)len };
			memset(&mm[k], 0, sizeof(mm[k]));
			mm[k].msg_hdr.msg_name = &sh->fdst[out];
			mm[k].msg_hdr.msg_namelen = sizeof(sh->fdst[out]);
			mm[k].msg_hdr.msg_iov = &iov[k];
			mm[k].msg_hdr.msg_iovlen = 1;
			k++;
		}
		if (k) {
			int sent = sendmmsg(t->raw, mm, k, 0);
			if (sent > 0)
				atomic_fetch_add_explicit(&t->packets, (unsigned)sent, memory_order_relaxed);
		}
	}
	return NULL;
}

static void *layout_generator(void *arg)
{
	struct fwd_shared *sh = arg;
	sh->gen_tid = (pid_t)syscall(SYS_gettid);
	int ep = epoll_create1(0), tfd = timerfd_create(CLOCK_MONOTONIC, 0);
	const unsigned slots = 20;
	uint64_t tick = 1000000000ull / sh->o.rate / slots;
	struct itimerspec its = { { 0, (long)tick }, { 0, (long)tick } };
	timerfd_settime(tfd, 0, &its, NULL);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = UINT32_MAX };
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	for (unsigned i = 0; i < sh->nsock; i++) {
		ev.data.u32 = i;
		epoll_ctl(ep, EPOLL_CTL_ADD, sh->gsock[i], &ev);
	}
	uint8_t pkt[PKT_LEN] = { 0x80, 0 };
	uint8_t rb[8][2048];
	uint64_t ntick = 0;
	struct epoll_event evs[256];
	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		int n = epoll_wait(ep, evs, 256, 100);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u32 == UINT32_MAX) {
				uint64_t exp = 0;
				if (read(tfd, &exp, sizeof(exp)) != sizeof(exp))
					continue;
				if (atomic_load_explicit(&sh->no_tx, memory_order_relaxed))
					continue;
				for (; exp; exp--, ntick++) {
					unsigned slot = (unsigned)(ntick % slots);
					/* call c is in slot c % slots; both legs send */
					for (unsigned s = slot * 2; s < sh->nsock; s += slots * 2)
						for (unsigned k = 0; k < 2; k++) {
							unsigned g = s + k;
							if (sendto(sh->gsock[g], pkt, sizeof(pkt), 0,
								   (struct sockaddr *)&sh->gdst[g],
								   sizeof(sh->gdst[g])) > 0)
								atomic_fetch_add_explicit(&sh->gen_sent, 1, memory_order_relaxed);
						}
				}
				continue;
			}
			struct mmsghdr mm[8];
			struct iovec iov[8];
			for (int k = 0; k < 8; k++) {
				iov[k] = (struct iovec){ rb[k], sizeof(rb[k]) };
				memset(&mm[k], 0, sizeof(mm[k]));
				mm[k].msg_hdr.msg_iov = &iov[k];
				mm[k].msg_hdr.msg_iovlen = 1;
			}
			int r = recvmmsg(sh->gsock[evs[i].data.u32], mm, 8, MSG_DONTWAIT, NULL);
			if (r > 0)
				atomic_fetch_add_explicit(&sh->gen_recv, (unsigned)r, memory_order_relaxed);
		}
	}
	close(ep);
	close(tfd);
	return NULL;
}

static int run_layout(struct fwd_opts *o)
{
	struct fwd_shared sh = { .o = *o };
	sh.nsock = o->calls * 2;
	sh.fsock = calloc(sh.nsock, sizeof(int));
	sh.gsock = calloc(sh.nsock, sizeof(int));
	sh.fdst = calloc(sh.nsock, sizeof(*sh.fdst));
	sh.gdst = calloc(sh.nsock, sizeof(*sh.gdst));
	struct fwd_thread *t = calloc(o->threads, sizeof(*t));
	if (!sh.fsock || !sh.gsock || !sh.fdst || !sh.gdst || !t)
		return -ENOMEM;
	for (unsigned i = 0; i < sh.nsock; i++) {
		sh.fsock[i] = udp_socket(&sh.gdst[i]);   /* the generator sends here */
		sh.gsock[i] = udp_socket(&sh.fdst[i]);   /* the forwarder answers here */
		if (sh.fsock[i] < 0 || sh.gsock[i] < 0) {
			fprintf(stderr, "socket %u: %s (raise ulimit -n)\n", i,
				strerror(-(sh.fsock[i] < 0 ? sh.fsock[i] : sh.gsock[i])));
			return -EMFILE;
		}
	}
	for (unsigned k = 0; k < o->threads; k++) {
		t[k].sh = &sh;
		t[k].ep = epoll_create1(0);
	}
	/* calls spread over threads; both sockets of a call on one thread */
	for (unsigned i = 0; i < sh.nsock; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
		epoll_ctl(t[(i / 2) % o->threads].ep, EPOLL_CTL_ADD, sh.fsock[i], &ev);
	}
	for (unsigned k = 0; k < o->threads; k++) {
		t[k].raw = -1;
		if (o->send_raw) {
			t[k].raw = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
			if (t[k].raw < 0) {
				fprintf(stderr, "raw socket: %s (needs CAP_NET_RAW)\n", strerror(errno));
				return -errno;
			}
		}
		pthread_create(&t[k].th, NULL, o->send_raw ? layout_forwarder_raw : layout_forwarder,
			       &t[k]);
	}
	pthread_t gen;
	pthread_create(&gen, NULL, layout_generator, &sh);
	/* the generator is the clock: keep it on time on a busy machine (the
	 * forwarder threads stay at normal priority, like a relay) */
	struct sched_param sp = { .sched_priority = 10 };
	pthread_setschedparam(gen, SCHED_FIFO, &sp);

	struct timespec warm = { 1, 0 };
	nanosleep(&warm, NULL);
	uint64_t fc0 = 0, fp0 = 0, t0 = now_ns(), g0 = task_cpu_ns(sh.gen_tid);
	uint64_t s0 = atomic_load(&sh.gen_sent), r0 = atomic_load(&sh.gen_recv);
	for (unsigned k = 0; k < o->threads; k++) {
		fc0 += task_cpu_ns(t[k].tid);
		fp0 += atomic_load(&t[k].packets);
	}
	struct timespec d = { (time_t)o->duration, (long)((o->duration - (time_t)o->duration) * 1e9) };
	nanosleep(&d, NULL);
	uint64_t fc1 = 0, fp1 = 0, t1 = now_ns(), g1 = task_cpu_ns(sh.gen_tid);
	uint64_t s1 = atomic_load(&sh.gen_sent), r1 = atomic_load(&sh.gen_recv);
	for (unsigned k = 0; k < o->threads; k++) {
		fc1 += task_cpu_ns(t[k].tid);
		fp1 += atomic_load(&t[k].packets);
	}
	/* loss over the whole run, once everything in flight has arrived */
	atomic_store(&sh.no_tx, 1);
	struct timespec drain = { 0, 500000000 };
	nanosleep(&drain, NULL);
	uint64_t sent = atomic_load(&sh.gen_sent), recv = atomic_load(&sh.gen_recv);
	atomic_store(&sh.stop, 1);
	for (unsigned k = 0; k < o->threads; k++)
		atomic_store(&t[k].stop, 1);
	pthread_join(gen, NULL);
	for (unsigned k = 0; k < o->threads; k++)
		pthread_join(t[k].th, NULL);

	double secs = (double)(t1 - t0) / 1e9;
	uint64_t pk = fp1 - fp0, wsent = s1 - s0;
	(void)r0;
	(void)r1;
	double fcores = (double)(fc1 - fc0) / 1e9 / secs;
	double gcores = (double)(g1 - g0) / 1e9 / secs;
	printf("{\"mode\": \"%s\", \"calls\": %u, \"streams\": %u, \"sockets\": %u, \"threads\": %u, "
	       "\"rate_pps_per_stream\": %u, \"secs\": %.3f, \"pps\": %.0f, \"forwarder_cores\": %.4f, "
	       "\"ns_per_pkt\": %.1f, \"generator_cores\": %.4f, \"gen_sent\": %llu, \"gen_recv\": %llu, "
	       "\"loss\": %.6f, \"generator_bound\": %s}\n",
	       o->send_raw ? "layout-rawsend" : "layout",
	       o->calls, sh.nsock, sh.nsock, o->threads, o->rate, secs, pk / secs, fcores,
	       pk ? (double)(fc1 - fc0) / (double)pk : 0, gcores, (unsigned long long)sent,
	       (unsigned long long)recv, sent > recv ? (double)(sent - recv) / (double)sent : 0,
	       gcores > 0.85 || wsent < 0.95 * o->rate * sh.nsock * secs ? "true" : "false");
	for (unsigned i = 0; i < sh.nsock; i++) {
		close(sh.fsock[i]);
		close(sh.gsock[i]);
	}
	for (unsigned k = 0; k < o->threads; k++) {
		close(t[k].ep);
		if (t[k].raw >= 0)
			close(t[k].raw);
	}
	free(sh.fsock);
	free(sh.gsock);
	free(sh.fdst);
	free(sh.gdst);
	free(t);
	return 0;
}

/* ---------- batch mode ---------- */

struct batch_ctx {
	struct fwd_opts o;
	int gen_fd, fwd_fd, sink_fd;
	struct sockaddr_in fwd_addr, sink_addr;
	atomic_ullong sent, sunk, forwarded;
	atomic_int stop;
	pid_t fwd_tid, gen_tid;
};

static void mm_setup(struct mmsghdr *mm, struct iovec *iov, uint8_t (*bufs)[2048], unsigned n,
		     size_t len, struct sockaddr_in *dst)
{
	for (unsigned k = 0; k < n; k++) {
		iov[k] = (struct iovec){ bufs[k], len };
		memset(&mm[k], 0, sizeof(mm[k]));
		mm[k].msg_hdr.msg_iov = &iov[k];
		mm[k].msg_hdr.msg_iovlen = 1;
		if (dst) {
			mm[k].msg_hdr.msg_name = dst;
			mm[k].msg_hdr.msg_namelen = sizeof(*dst);
		}
	}
}

static void *batch_forwarder(void *arg)
{
	struct batch_ctx *c = arg;
	c->fwd_tid = (pid_t)syscall(SYS_gettid);
	static uint8_t bufs[MAX_BATCH][2048];
	struct mmsghdr mm[MAX_BATCH];
	struct iovec iov[MAX_BATCH];
	struct epoll_event ev = { .events = EPOLLIN }, out;
	int ep = epoll_create1(0);
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fwd_fd, &ev);
	while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
		mm_setup(mm, iov, bufs, c->o.batch, 2048, NULL);
		int n = recvmmsg(c->fwd_fd, mm, c->o.batch, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			epoll_wait(ep, &out, 1, 100);
			continue;
		}
		for (int k = 0; k < n; k++) {
			iov[k].iov_len = mm[k].msg_len;
			mm[k].msg_hdr.msg_name = &c->sink_addr;
			mm[k].msg_hdr.msg_namelen = sizeof(c->sink_addr);
			mm[k].msg_hdr.msg_controllen = 0;
		}
		int s = sendmmsg(c->fwd_fd, mm, (unsigned)n, 0);
		if (s > 0)
			atomic_fetch_add_explicit(&c->forwarded, (unsigned)s, memory_order_relaxed);
	}
	close(ep);
	return NULL;
}

static void *batch_generator(void *arg)
{
	struct batch_ctx *c = arg;
	c->gen_tid = (pid_t)syscall(SYS_gettid);
	static uint8_t tx[MAX_BATCH][2048], rx[MAX_BATCH][2048];
	struct mmsghdr tm[MAX_BATCH], rm[MAX_BATCH];
	struct iovec tiov[MAX_BATCH], riov[MAX_BATCH];
	for (unsigned k = 0; k < c->o.batch; k++)
		tx[k][0] = 0x80;
	mm_setup(tm, tiov, tx, c->o.batch, PKT_LEN, &c->fwd_addr);
	struct epoll_event ev = { .events = EPOLLIN }, out;
	int ep = epoll_create1(0);
	epoll_ctl(ep, EPOLL_CTL_ADD, c->sink_fd, &ev);
	uint64_t sent = 0, sunk = 0;
	while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
		if (sent - sunk + c->o.batch <= c->o.inflight) {
			int s = sendmmsg(c->gen_fd, tm, c->o.batch, 0);
			if (s > 0) {
				sent += (unsigned)s;
				atomic_store_explicit(&c->sent, sent, memory_order_relaxed);
			}
		}
		mm_setup(rm, riov, rx, c->o.batch, 2048, NULL);
		int r = recvmmsg(c->sink_fd, rm, c->o.batch, MSG_DONTWAIT, NULL);
		if (r > 0) {
			sunk += (unsigned)r;
			atomic_store_explicit(&c->sunk, sunk, memory_order_relaxed);
		} else if (sent - sunk + c->o.batch > c->o.inflight) {
			/* window full: wait for the sink, or give up on lost packets */
			if (epoll_wait(ep, &out, 1, 10) == 0)
				sunk = sent;
		}
	}
	close(ep);
	return NULL;
}

static int run_batch(struct fwd_opts *o)
{
	struct batch_ctx c = { .o = *o };
	struct sockaddr_in g;
	c.gen_fd = udp_socket(&g);
	c.fwd_fd = udp_socket(&c.fwd_addr);
	c.sink_fd = udp_socket(&c.sink_addr);
	if (c.gen_fd < 0 || c.fwd_fd < 0 || c.sink_fd < 0)
		return -EMFILE;
	int sz = 8 << 20;
	setsockopt(c.fwd_fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	setsockopt(c.sink_fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	pthread_t ft, gt;
	pthread_create(&ft, NULL, batch_forwarder, &c);
	pthread_create(&gt, NULL, batch_generator, &c);
	struct timespec warm = { 1, 0 };
	nanosleep(&warm, NULL);
	uint64_t t0 = now_ns(), f0 = atomic_load(&c.forwarded);
	uint64_t fc0 = task_cpu_ns(c.fwd_tid), gc0 = task_cpu_ns(c.gen_tid);
	struct timespec d = { (time_t)o->duration, (long)((o->duration - (time_t)o->duration) * 1e9) };
	nanosleep(&d, NULL);
	uint64_t t1 = now_ns(), f1 = atomic_load(&c.forwarded);
	uint64_t fc1 = task_cpu_ns(c.fwd_tid), gc1 = task_cpu_ns(c.gen_tid);
	atomic_store(&c.stop, 1);
	pthread_join(ft, NULL);
	pthread_join(gt, NULL);
	double secs = (double)(t1 - t0) / 1e9;
	uint64_t pk = f1 - f0;
	double fcores = (double)(fc1 - fc0) / 1e9 / secs, gcores = (double)(gc1 - gc0) / 1e9 / secs;
	printf("{\"mode\": \"batch\", \"batch\": %u, \"inflight\": %u, \"secs\": %.3f, \"pps\": %.0f, "
	       "\"forwarder_cores\": %.4f, \"ns_per_pkt\": %.1f, \"generator_cores\": %.4f, "
	       "\"generator_bound\": %s}\n",
	       o->batch, o->inflight, secs, pk / secs, fcores, pk ? (double)(fc1 - fc0) / (double)pk : 0,
	       gcores, fcores < 0.9 && gcores > 0.9 ? "true" : "false");
	close(c.gen_fd);
	close(c.fwd_fd);
	close(c.sink_fd);
	return 0;
}

int main(int argc, char **argv)
{
	struct fwd_opts o = { .mode = "layout", .calls = 500, .threads = 1, .rate = 50,
			      .batch = 32, .inflight = 512, .duration = 5 };
	static const struct option lo[] = {
		{ "mode", 1, 0, 'm' }, { "calls", 1, 0, 'c' }, { "streams", 1, 0, 's' },
		{ "threads", 1, 0, 't' }, { "rate", 1, 0, 'r' }, { "batch", 1, 0, 'b' },
		{ "inflight", 1, 0, 'i' }, { "duration", 1, 0, 'd' }, { "help", 0, 0, 'h' },
		{ "send", 1, 0, 'S' },
		{ 0, 0, 0, 0 },
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "m:c:s:t:r:b:i:d:S:h", lo, NULL)) != -1) {
		switch (ch) {
		case 'm': o.mode = optarg; break;
		case 'c': o.calls = (unsigned)atoi(optarg); break;
		case 's': o.calls = (unsigned)(atoi(optarg) + 1) / 2; break;
		case 't': o.threads = (unsigned)atoi(optarg); break;
		case 'r': o.rate = (unsigned)atoi(optarg); break;
		case 'b': o.batch = (unsigned)atoi(optarg); break;
		case 'i': o.inflight = (unsigned)atoi(optarg); break;
		case 'd': o.duration = atof(optarg); break;
		case 'S': o.send_raw = !strcmp(optarg, "raw"); break;
		case 'h':
			printf("usage: forwarder [--mode layout|batch] [--calls N | --streams 2N]\n"
			       "  [--threads N] [--rate PPS] [--batch N] [--inflight N] [--duration S]\n"
			       "  [--send raw]  (layout: the sends of one epoll round leave together\n"
			       "                through one raw socket, sendmmsg; needs CAP_NET_RAW)\n"
			       "layout: 2 sockets per call, recvmsg/sendmsg per packet at --rate per stream\n"
			       "batch: one socket at full rate, recvmmsg/sendmmsg batches of --batch\n");
			return 0;
		default:
			return 2;
		}
	}
	if (!o.calls || !o.threads || !o.rate || o.rate > 1000 || !o.batch ||
	    o.batch > MAX_BATCH || o.duration <= 0 || o.duration > 600) {
		fprintf(stderr, "forwarder: bad arguments\n");
		return 2;
	}
	if (o.inflight < o.batch)
		o.inflight = o.batch;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	int rc;
	if (!strcmp(o.mode, "layout"))
		rc = run_layout(&o);
	else if (!strcmp(o.mode, "batch"))
		rc = run_batch(&o);
	else {
		fprintf(stderr, "forwarder: unknown mode '%s'\n", o.mode);
		return 2;
	}
	if (rc < 0)
		fprintf(stderr, "forwarder: %s\n", strerror(-rc));
	return rc < 0 ? 1 : 0;
}
