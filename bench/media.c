/* media.c - the load tool's packet engine, one thread, one epoll.
 *
 * Every call has two UDP sockets, one per leg, because a relay latches on
 * the source address it sees and sends back to it. The thread sleeps on one
 * timerfd that fires `slots` times per 20 ms, and on each tick it first
 * sends, then collects whatever arrived with one non-blocking epoll_wait()
 * over all sockets (so there is no wake-up per packet). A tick sends one
 * packet on both legs of the calls in its slot (call index modulo slots),
 * so 1,000 calls give 100 sends per tick
 * instead of a 2,000-packet burst that would queue in the relay and show
 * up as latency. A late tick is caught up and counted as lateness; one more
 * than 20 ms late is skipped (its packets are never sent, so they count
 * neither as sent nor as lost) rather than sent as a burst. Lateness is how
 * the tool knows it, not the relay, fell behind.
 *
 * Sending costs one system call per packet through the legs' own sockets
 * (over 9 us per packet on a VM with page-table isolation), so when it may,
 * the thread writes the IPv4/UDP headers itself and sends each tick's
 * packets through one raw socket, MEDIA_TXB per sendmmsg(), with each leg's
 * port as the source port: the relay sees exactly what the leg's socket
 * would have sent, and answers to that socket. Packets of a batch leave
 * one after the other, so each one's stamp is interpolated from the
 * previous batches' time per packet.
 *
 * Receives use recvmmsg() with kernel receive timestamps (SO_TIMESTAMPNS,
 * converted from CLOCK_REALTIME with an offset re-read every tick), so the
 * time a packet waits for this thread is not charged to the relay. At
 * 1,000 calls that is 2,000 sockets and 100,000 packets a second, and a
 * system call per socket with data per tick made the generator the
 * bottleneck; so where the kernel allows, every leg's socket instead has
 * one io_uring multishot recvmsg armed on a shared ring of provided
 * buffers, the ring runs its completions only when this thread asks
 * (DEFER_TASKRUN), and each tick collects everything that arrived with one
 * io_uring_enter(). Same timestamps, same bookkeeping; the epoll path is
 * the fallback (and --no-uring). When
 * the relay forwards payloads unchanged, each packet carries its send time
 * and call number; when it transcodes, the payload is new and the send
 * time is found by sequence number in the peer leg's ring of send times,
 * calibrated on the first packet (latency below 20 ms assumed there) and
 * corrected downwards whenever a packet would otherwise arrive more than
 * MEDIA_MAP_SLACK_NS before it was sent: a wrong mapping is a whole packet
 * time off, while the two clocks (an interpolated send stamp, a kernel
 * receive stamp converted from CLOCK_REALTIME) can disagree by some
 * microseconds, which once moved the mapping a packet too far for the
 * rest of the call (a call's latency then read 20 ms too high). Nothing on this path allocates or locks except the once-a-tick
 * mailbox check.
 */
#include "media.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>

#include "procstat.h"

#define MEDIA_MAGIC 0x52474231u /* "RGB1" */
#define MEDIA_BATCH 8
#define MEDIA_LATE_NS 10000000ull
#define MEDIA_SKIP_NS 20000000ull
#define MEDIA_EVENTS 1024
#define MEDIA_TXB 16
#define MEDIA_RING_NS (MEDIA_RING * 20000000ull)
#define MEDIA_MAP_SLACK_NS 1000000ull
#define MEDIA_UR_BUFS 4096          /* provided receive buffers */
#define MEDIA_UR_BUFSZ 2048
#define MEDIA_UR_BGID 7

/* The io_uring receive path: one multishot recvmsg per leg socket. */
struct media_uring {
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	uint8_t *bufs;                  /* MEDIA_UR_BUFS x MEDIA_UR_BUFSZ */
	struct msghdr tmpl;             /* no name, room for one timestamp */
	uint64_t rearmed;               /* multishots the kernel ended */
};

struct media_stamp {
	uint32_t magic;
	uint32_t call_idx;
	uint64_t send_ns;
};

int media_leg_open(struct media_leg *leg)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof(a);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	leg->fd = fd;
	leg->port = ntohs(a.sin_port);
	return 0;
}

void media_call_close(struct media_call *c)
{
	for (int i = 0; i < 2; i++)
		if (c->leg[i].fd >= 0) {
			close(c->leg[i].fd);
			c->leg[i].fd = -1;
		}
}

static uint64_t media_thread_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int64_t media_rt_offset(void)
{
	struct timespec r, mo;
	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &mo);
	return ((int64_t)r.tv_sec - (int64_t)mo.tv_sec) * 1000000000ll +
	       ((int64_t)r.tv_nsec - (int64_t)mo.tv_nsec);
}

/* Writes leg l's next RTP packet (header, frame, stamp) to pkt; returns
 * its length. */
static size_t media_build(const struct media_leg *l, uint8_t *pkt, uint64_t stamp)
{
	const struct frameset *fs = l->tx_frames;
	unsigned f = (unsigned)(l->tx_count % FRAMES_N);
	pkt[0] = 0x80;
	pkt[1] = l->tx_pt & 0x7f;
	uint16_t seq = htons(l->tx_seq);
	uint32_t ts = htonl(l->tx_ts), ssrc = htonl(l->ssrc);
	memcpy(pkt + 2, &seq, 2);
	memcpy(pkt + 4, &ts, 4);
	memcpy(pkt + 8, &ssrc, 4);
	size_t plen = fs->len[f];
	memcpy(pkt + 12, fs->data[f], plen);
	if (l->stamped && plen >= sizeof(struct media_stamp)) {
		struct media_stamp st = { MEDIA_MAGIC, l->call_idx, stamp };
		memcpy(pkt + 12, &st, sizeof(st));
	}
	return 12 + plen;
}

/* Books a packet of leg l as sent at `stamp`. */
static void media_sent(struct media *m, struct media_leg *l, uint64_t stamp)
{
	int dir = l->side == 0 ? DIR_AB : DIR_BA;
	l->tx_ring[l->tx_count % MEDIA_RING] = stamp;
	l->tx_count++;
	l->tx_seq++;
	l->tx_ts += l->tx_frames->ts_step;
	m->iv[dir].sent++;
	if (m->win_on && stamp >= m->win.t0 && stamp < m->win.t1)
		m->win.d[dir].sent++;
}

static void media_send_udp(struct media *m, struct media_leg *l)
{
	uint8_t pkt[12 + FRAMES_MAXLEN];
	uint64_t now = procstat_now_ns();
	size_t len = media_build(l, pkt, now);
	ssize_t n = sendto(l->fd, pkt, len, 0, (struct sockaddr *)&l->dst, sizeof(l->dst));
	(void)n; /* a failed send shows up as loss */
	media_sent(m, l, now);
}

/* Raw-socket batch: up to MEDIA_TXB packets, each with its own IPv4 and
 * UDP header carrying the leg's own port as source, in one sendmmsg(). */
struct media_txbatch {
	unsigned n;
	struct media_leg *leg[MEDIA_TXB];
	uint8_t pkt[MEDIA_TXB][28 + 12 + FRAMES_MAXLEN];
	struct iovec iov[MEDIA_TXB];
	struct mmsghdr mm[MEDIA_TXB];
};

static void media_flush_raw(struct media *m, struct media_txbatch *b)
{
	if (!b->n)
		return;
	/* The kernel delivers a batch's packets one after the other, so each
	 * one's stamp is the batch start plus its place times the time one
	 * packet took in the previous batches (smoothed). */
	uint64_t t0 = procstat_now_ns();
	uint64_t per = m->raw_ns_per_pkt;
	for (unsigned k = 0; k < b->n; k++) {
		struct media_leg *l = b->leg[k];
		uint64_t stamp = t0 + k * per;
		uint8_t *ip = b->pkt[k], *udp = ip + 20;
		size_t len = media_build(l, ip + 28, stamp);
		memset(ip, 0, 28);
		ip[0] = 0x45;
		uint16_t tot = htons((uint16_t)(28 + len)), ulen = htons((uint16_t)(8 + len));
		memcpy(ip + 2, &tot, 2);
		ip[8] = 64;
		ip[9] = IPPROTO_UDP;
		uint32_t lo = htonl(INADDR_LOOPBACK);
		memcpy(ip + 12, &lo, 4);
		memcpy(ip + 16, &l->dst.sin_addr, 4);
		uint16_t sport = htons(l->port);
		memcpy(udp, &sport, 2);
		memcpy(udp + 2, &l->dst.sin_port, 2);
		memcpy(udp + 4, &ulen, 2);   /* checksum 0: none, valid for IPv4 */
		b->iov[k].iov_base = ip;
		b->iov[k].iov_len = 28 + len;
		memset(&b->mm[k], 0, sizeof(b->mm[k]));
		b->mm[k].msg_hdr.msg_name = &l->dst;
		b->mm[k].msg_hdr.msg_namelen = sizeof(l->dst);
		b->mm[k].msg_hdr.msg_iov = &b->iov[k];
		b->mm[k].msg_hdr.msg_iovlen = 1;
		media_sent(m, l, stamp);
	}
	int sent = sendmmsg(m->raw_fd, b->mm, b->n, 0);
	uint64_t t1 = procstat_now_ns();
	if (sent > 0) {
		uint64_t cur = (t1 - t0) / (unsigned)sent;
		m->raw_ns_per_pkt = m->raw_ns_per_pkt ? (m->raw_ns_per_pkt * 7 + cur) / 8 : cur;
	}
	b->n = 0;
}

/* Send time of a received packet, or 0 when it cannot be known. */
uint64_t media_send_time(struct media_leg *l, const uint8_t *p, size_t len, uint64_t ext,
			 uint64_t rx, int *bad)
{
	if (l->stamped) {
		struct media_stamp st;
		if (len < 12 + sizeof(st)) {
			*bad = 1;
			return 0;
		}
		memcpy(&st, p + 12, sizeof(st));
		if (st.magic != MEDIA_MAGIC || st.call_idx != l->call_idx) {
			*bad = 1;
			return 0;
		}
		return st.send_ns;
	}
	const struct media_leg *src = l->peer;
	if (!src->tx_count || ext < l->rx_base)
		return 0;
	int64_t newest = (int64_t)src->tx_count - 1;
	if (l->rx_count == 0)
		l->rx_map = newest - (int64_t)(ext - l->rx_base);
	int64_t idx = (int64_t)(ext - l->rx_base) + l->rx_map;
	if (idx > newest) {
		l->rx_map -= idx - newest;
		idx = newest;
	}
	while (idx >= 0 && newest - idx < MEDIA_RING &&
	       src->tx_ring[idx % MEDIA_RING] > rx + MEDIA_MAP_SLACK_NS) {
		l->rx_map--;
		idx--;
	}
	if (idx < 0 || newest - idx >= MEDIA_RING)
		return 0;
	return src->tx_ring[idx % MEDIA_RING];
}

static void media_receive(struct media *m, struct media_leg *l, const uint8_t *p,
			  size_t len, uint64_t rx)
{
	int dir = l->side == 0 ? DIR_BA : DIR_AB;
	if (len < 12 || (p[0] >> 6) != 2 || (p[1] >= 200 && p[1] <= 204))
		return; /* RTCP or noise: not media */
	uint16_t seq = (uint16_t)(p[2] << 8 | p[3]);
	uint32_t ts = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	if (!l->rx_started) {
		l->rx_started = 1;
		l->rx_max_seq = seq;
		l->rx_cycles = 0;
		l->rx_base = seq;
	} else if ((uint16_t)(seq - l->rx_max_seq) < 0x8000) {
		if (seq < l->rx_max_seq)
			l->rx_cycles += 65536;
		l->rx_max_seq = seq;
	}
	uint64_t ext = l->rx_cycles + seq;
	if ((uint16_t)(l->rx_max_seq - seq) < 0x8000 && seq > l->rx_max_seq)
		ext -= 65536; /* late packet from before a wrap */
	int bad = 0;
	uint64_t st = media_send_time(l, p, len, ext, rx, &bad);
	l->rx_count++;
	if (bad) {
		m->iv[dir].bad++;
		if (m->win_on)
			m->win.d[dir].bad++;
		return;
	}
	/* RFC 3550 interarrival jitter, in timestamp units */
	double transit = (double)rx * l->rx_clock / 1e9 - (double)ts;
	if (l->rx_count > 1) {
		double d = fabs(transit - l->last_transit);
		l->jitter += (d - l->jitter) / 16.0;
	}
	l->last_transit = transit;
	if (++l->rx_good == MEDIA_FLOWING && l->peer && l->peer->rx_good >= MEDIA_FLOWING)
		m->nflowing++;  /* the later of the two legs: once per call */

	if (!st) {
		/* sent before the ring's span (or never calibrated): at least
		 * that old. Counted as received late, by its arrival time. */
		st = rx > MEDIA_RING_NS ? rx - MEDIA_RING_NS : 1;
	}
	uint64_t lat_us = rx > st ? (rx - st) / 1000 : 0;
	if (m->trace && l->call_idx == 0 && l->rx_count <= 60)
		fprintf(stderr, "trace: leg %d seq %u ts %u len %zu map %lld peer_sent %llu lat %llu us\n",
			l->side, seq, ts, len, (long long)l->rx_map,
			(unsigned long long)l->peer->tx_count, (unsigned long long)lat_us);
	m->iv[dir].recv++;
	histo_add(&m->iv[dir].lat, lat_us);
	if (m->win_on && st >= m->win.t0 && st < m->win.t1) {
		m->win.d[dir].recv++;
		m->win.d[dir].rx_payload += len - 12;
		histo_add(&m->win.d[dir].lat, lat_us);
	}
}

static void media_drain(struct media *m, struct media_leg *l)
{
	uint8_t bufs[MEDIA_BATCH][1500];
	char ctl[MEDIA_BATCH][64];
	struct mmsghdr msgs[MEDIA_BATCH];
	struct iovec iov[MEDIA_BATCH];
	for (;;) {
		for (int i = 0; i < MEDIA_BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = sizeof(bufs[i]);
			memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_control = ctl[i];
			msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i]);
		}
		int n = recvmmsg(l->fd, msgs, MEDIA_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		uint64_t now = procstat_now_ns();
		for (int i = 0; i < n; i++) {
			uint64_t rx = now;
			struct cmsghdr *c;
			for (c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
				if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
					struct timespec ts;
					memcpy(&ts, CMSG_DATA(c), sizeof(ts));
					int64_t rt = (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
					rx = (uint64_t)(rt - m->rt_off);
				}
			}
			media_receive(m, l, bufs[i], msgs[i].msg_len, rx);
		}
		if (n < MEDIA_BATCH)
			return;
	}
}

static void media_jitter(struct media *m, struct media_result *r)
{
	for (int d = 0; d < 2; d++) {
		double sum = 0, max = 0;
		unsigned n = 0;
		for (size_t i = 0; i < m->ncalls; i++) {
			/* direction AB is received by the callee leg */
			const struct media_leg *l = &m->calls[i]->leg[d == DIR_AB ? 1 : 0];
			if (!l->rx_clock || l->rx_count < 2)
				continue;
			double ms = l->jitter / l->rx_clock * 1000.0;
			sum += ms;
			if (ms > max)
				max = ms;
			n++;
		}
		r->d[d].jit_mean_ms = n ? sum / n : 0;
		r->d[d].jit_max_ms = max;
	}
}

static void media_progress(struct media *m, uint64_t now)
{
	double secs = (double)(now - m->iv_t0) / 1e9;
	uint64_t rcpu = 0, gcpu = media_thread_cpu();
	double rcores = -1;
	if (m->relay_pid && procstat_cpu_ns(m->relay_pid, &rcpu) == 0 && m->iv_relay_cpu)
		rcores = (double)(rcpu - m->iv_relay_cpu) / 1e9 / secs;
	double gcores = (double)(gcpu - m->iv_gen_cpu) / 1e9 / secs;
	struct histo all = m->iv[0].lat;
	histo_merge(&all, &m->iv[1].lat);
	uint64_t sent = m->iv[0].sent + m->iv[1].sent, recv = m->iv[0].recv + m->iv[1].recv;
	struct media_sample s = {
		.t = (double)(now - m->start_ns) / 1e9,
		.calls = (unsigned)m->ncalls,
		.tx_pps = sent / secs,
		.rx_pps = recv / secs,
		.loss = sent > recv ? (double)(sent - recv) / sent : 0,
		.p99_us = histo_quantile(&all, 0.99),
		.relay_cores = rcores,
		.gen_cores = gcores,
	};
	if (!m->quiet && m->ncalls)
		fprintf(stderr, "[%6.1fs] calls %5u  tx %7.0f pps  rx %7.0f pps  loss %6.3f%%"
			"  p99 %7.0f us  relay %5.1f%%  gen %5.1f%%\n",
			s.t, s.calls, s.tx_pps, s.rx_pps, s.loss * 100, s.p99_us,
			rcores * 100, gcores * 100);
	pthread_mutex_lock(&m->mu);
	if (m->nsamples == m->cap_samples) {
		size_t cap = m->cap_samples ? m->cap_samples * 2 : 128;
		struct media_sample *p = realloc(m->samples, cap * sizeof(*p));
		if (p) {
			m->samples = p;
			m->cap_samples = cap;
		}
	}
	if (m->nsamples < m->cap_samples)
		m->samples[m->nsamples++] = s;
	pthread_mutex_unlock(&m->mu);
	memset(m->iv, 0, sizeof(m->iv));
	m->iv_t0 = now;
	m->iv_relay_cpu = rcpu;
	m->iv_gen_cpu = gcpu;
}

/* ---------- io_uring receive path ---------- */

static void media_ur_arm(struct media *m, struct media_leg *l)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&m->ur->ring);
	if (!sqe) {
		io_uring_submit(&m->ur->ring);
		sqe = io_uring_get_sqe(&m->ur->ring);
		if (!sqe)
			return; /* cannot happen after a submit; shows as loss */
	}
	io_uring_prep_recvmsg_multishot(sqe, l->fd, &m->ur->tmpl, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = MEDIA_UR_BGID;
	io_uring_sqe_set_data(sqe, l);
}

/* Sets the ring up in the media thread (DEFER_TASKRUN wants its single
 * issuer to be the thread that created it). 0 or -errno; on failure
 * nothing is left behind. */
static int media_ur_init(struct media *m)
{
	struct media_uring *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	struct io_uring_params p = { 0 };
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	p.cq_entries = 4 * MEDIA_UR_BUFS;
	int rc = io_uring_queue_init_params(1024, &u->ring, &p);
	if (rc < 0) {
		free(u);
		return rc;
	}
	u->bufs = aligned_alloc(4096, (size_t)MEDIA_UR_BUFS * MEDIA_UR_BUFSZ);
	u->br = aligned_alloc(4096, MEDIA_UR_BUFS * sizeof(struct io_uring_buf));
	if (!u->bufs || !u->br) {
		rc = -ENOMEM;
		goto fail;
	}
	io_uring_buf_ring_init(u->br);
	struct io_uring_buf_reg reg = {
		.ring_addr = (unsigned long)u->br, .ring_entries = MEDIA_UR_BUFS,
		.bgid = MEDIA_UR_BGID,
	};
	rc = io_uring_register_buf_ring(&u->ring, &reg, 0);
	if (rc < 0)
		goto fail;
	int mask = io_uring_buf_ring_mask(MEDIA_UR_BUFS);
	for (int i = 0; i < MEDIA_UR_BUFS; i++)
		io_uring_buf_ring_add(u->br, u->bufs + (size_t)i * MEDIA_UR_BUFSZ, MEDIA_UR_BUFSZ,
				      (unsigned short)i, mask, i);
	io_uring_buf_ring_advance(u->br, MEDIA_UR_BUFS);
	u->tmpl.msg_controllen = CMSG_SPACE(sizeof(struct timespec));
	m->ur = u;
	return 0;
fail:
	io_uring_queue_exit(&u->ring);
	free(u->bufs);
	free(u->br);
	free(u);
	return rc;
}

static void media_ur_exit(struct media *m)
{
	if (!m->ur)
		return;
	io_uring_queue_exit(&m->ur->ring);
	free(m->ur->bufs);
	free(m->ur->br);
	free(m->ur);
	m->ur = NULL;
}

/* Runs the ring's pending receives and books every packet: one system
 * call however many sockets had data. */
static void media_ur_collect(struct media *m)
{
	struct media_uring *u = m->ur;
	int mask = io_uring_buf_ring_mask(MEDIA_UR_BUFS);
	for (int round = 0; round < 4; round++) {
		io_uring_submit_and_get_events(&u->ring);
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0, bufs = 0;
		io_uring_for_each_cqe(&u->ring, head, cqe) {
			struct media_leg *l = io_uring_cqe_get_data(cqe);
			seen++;
			if (cqe->flags & IORING_CQE_F_BUFFER) {
				unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
				uint8_t *buf = u->bufs + (size_t)bid * MEDIA_UR_BUFSZ;
				if (cqe->res > 0) {
					struct io_uring_recvmsg_out *o =
						io_uring_recvmsg_validate(buf, cqe->res, &u->tmpl);
					if (o && !(o->flags & MSG_TRUNC)) {
						uint64_t rx = procstat_now_ns();
						struct cmsghdr *c;
						for (c = io_uring_recvmsg_cmsg_firsthdr(o, &u->tmpl); c;
						     c = io_uring_recvmsg_cmsg_nexthdr(o, &u->tmpl, c))
							if (c->cmsg_level == SOL_SOCKET &&
							    c->cmsg_type == SCM_TIMESTAMPNS) {
								struct timespec ts;
								memcpy(&ts, CMSG_DATA(c), sizeof(ts));
								int64_t rt = (int64_t)ts.tv_sec * 1000000000ll +
									     ts.tv_nsec;
								rx = (uint64_t)(rt - m->rt_off);
							}
						media_receive(m, l, io_uring_recvmsg_payload(o, &u->tmpl),
							      io_uring_recvmsg_payload_length(o, cqe->res,
											      &u->tmpl), rx);
					}
				}
				io_uring_buf_ring_add(u->br, buf, MEDIA_UR_BUFSZ, (unsigned short)bid,
						      mask, (int)bufs);
				bufs++;
			}
			if (!(cqe->flags & IORING_CQE_F_MORE) && l && l->fd >= 0 &&
			    cqe->res != -ECANCELED && cqe->res != -EBADF) {
				/* the kernel ended this multishot (out of buffers,
				 * an error): arm it again */
				u->rearmed++;
				media_ur_arm(m, l);
			}
		}
		io_uring_buf_ring_advance(u->br, (int)bufs);
		io_uring_cq_advance(&u->ring, seen);
		if (seen < 2 * MEDIA_UR_BUFS)
			break; /* drained; a full CQ ring would go round again */
	}
}

/* Once per tick: take new calls, windows and collect requests. */
static int media_mailbox(struct media *m, uint64_t now)
{
	pthread_mutex_lock(&m->mu);
	int stop = m->stop;
	for (size_t i = 0; i < m->npending; i++) {
		struct media_call *c = m->pending[i];
		if (m->ncalls == m->cap_calls) {
			size_t cap = m->cap_calls ? m->cap_calls * 2 : 1024;
			struct media_call **p = realloc(m->calls, cap * sizeof(*p));
			if (!p)
				break; /* the call is not added; it shows as missing */
			m->calls = p;
			m->cap_calls = cap;
		}
		m->calls[m->ncalls++] = c;
		for (int k = 0; k < 2; k++) {
			if (m->ur) {
				media_ur_arm(m, &c->leg[k]);
				continue;
			}
			struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &c->leg[k] };
			epoll_ctl(m->ep, EPOLL_CTL_ADD, c->leg[k].fd, &ev);
		}
	}
	m->npending = 0;
	m->ncalls_shared = (unsigned)m->ncalls;
	m->nflowing_shared = m->nflowing;
	if (m->win_new) {
		m->win_new = 0;
		memset(&m->win, 0, sizeof(m->win));
		m->win.t0 = m->win_t0;
		m->win.t1 = m->win_t1;
		m->win_on = 1;
		m->thread_cpu0 = 0;
	}
	if (m->win_on && !m->thread_cpu0 && now >= m->win.t0)
		m->thread_cpu0 = media_thread_cpu();
	if (m->win_on && m->thread_cpu0 && now >= m->win.t1 && !m->win.gen_cpu_ns)
		m->win.gen_cpu_ns = media_thread_cpu() - m->thread_cpu0 + 1;
	if (m->collect && !m->collected) {
		m->win.calls = (unsigned)m->ncalls;
		media_jitter(m, &m->win);
		m->result = m->win;
		m->win_on = 0;
		m->collected = 1;
		pthread_cond_broadcast(&m->cv);
	}
	pthread_mutex_unlock(&m->mu);
	return stop;
}

static void media_skip(struct media *m, uint64_t sched)
{
	m->ntick++;
	if (m->win_on && sched >= m->win.t0 && sched < m->win.t1) {
		histo_add(&m->win.lag, MEDIA_SKIP_NS / 1000);
		m->win.slots++;
		m->win.late_slots++;
		m->win.skipped_slots++;
	}
}

static void media_tick(struct media *m, uint64_t sched, uint64_t now)
{
	unsigned slot = (unsigned)(m->ntick % m->slots);
	m->ntick++;
	uint64_t lag = now > sched ? now - sched : 0;
	if (m->win_on && sched >= m->win.t0 && sched < m->win.t1) {
		histo_add(&m->win.lag, lag / 1000);
		m->win.slots++;
		if (lag > MEDIA_LATE_NS)
			m->win.late_slots++;
	}
	if (m->raw_fd < 0) {
		for (size_t i = slot; i < m->ncalls; i += m->slots) {
			media_send_udp(m, &m->calls[i]->leg[0]);
			media_send_udp(m, &m->calls[i]->leg[1]);
		}
		return;
	}
	static __thread struct media_txbatch b;
	for (size_t i = slot; i < m->ncalls; i += m->slots) {
		for (int k = 0; k < 2; k++) {
			b.leg[b.n++] = &m->calls[i]->leg[k];
			if (b.n == MEDIA_TXB)
				media_flush_raw(m, &b);
		}
	}
	media_flush_raw(m, &b);
}

static void *media_main(void *arg)
{
	struct media *m = arg;
	static __thread struct epoll_event evs[MEDIA_EVENTS];
	uint64_t now = procstat_now_ns();
	m->next_tick = now + m->tick_ns;
	m->iv_t0 = now;
	m->iv_gen_cpu = media_thread_cpu();
	if (m->relay_pid)
		procstat_cpu_ns(m->relay_pid, &m->iv_relay_cpu);
	struct itimerspec its = {
		.it_value = { (time_t)(m->next_tick / 1000000000ull), (long)(m->next_tick % 1000000000ull) },
		.it_interval = { 0, (long)m->tick_ns },
	};
	timerfd_settime(m->tfd, TFD_TIMER_ABSTIME, &its, NULL);
	if (m->uring) {
		int rc = media_ur_init(m);
		if (rc < 0 && !m->quiet)
			fprintf(stderr, "io_uring receive: %s; receiving with epoll and recvmmsg\n",
				strerror(-rc));
	}
	m->rx_path = m->ur ? "io_uring" : "epoll";
	for (;;) {
		uint64_t exp;
		if (read(m->tfd, &exp, sizeof(exp)) != sizeof(exp))
			continue;
		now = procstat_now_ns();
		m->rt_off = media_rt_offset();
		if (media_mailbox(m, now)) {
			media_ur_exit(m);
			return NULL;
		}
		while (m->next_tick <= now) {
			/* a tick more than one packet interval late is skipped,
			 * not sent in a burst the relay would be blamed for; the
			 * window counts it as late */
			if (now - m->next_tick > MEDIA_SKIP_NS)
				media_skip(m, m->next_tick);
			else
				media_tick(m, m->next_tick, procstat_now_ns());
			m->next_tick += m->tick_ns;
		}
		/* receive what arrived since the last tick: one epoll_wait per
		 * tick instead of one wake-up per packet; the kernel timestamps
		 * keep the latency exact */
		if (m->ur) {
			media_ur_collect(m);
		} else {
			int n;
			do {
				n = epoll_wait(m->ep, evs, MEDIA_EVENTS, 0);
				for (int i = 0; i < n; i++)
					media_drain(m, evs[i].data.ptr);
			} while (n == MEDIA_EVENTS);
		}
		if (now - m->iv_t0 >= 1000000000ull)
			media_progress(m, now);
	}
	return NULL;
}

int media_start(struct media *m)
{
	if (!m->slots)
		m->slots = 20;
	m->tick_ns = 20000000ull / m->slots;
	m->start_ns = m->start_ns ? m->start_ns : procstat_now_ns();
	m->rt_off = media_rt_offset();
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	m->ep = epoll_create1(EPOLL_CLOEXEC);
	m->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (m->ep < 0 || m->tfd < 0)
		return -errno;
	m->raw_fd = -1;
	if (m->raw) {
		/* IPPROTO_RAW: we write the IP header (needs CAP_NET_RAW) */
		m->raw_fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
		if (m->raw_fd < 0 && !m->quiet)
			fprintf(stderr, "raw socket: %s; sending with one sendto() per packet\n",
				strerror(errno));
	}
	int rc = pthread_create(&m->thread, NULL, media_main, m);
	if (rc)
		return -rc;
	if (m->rt_prio > 0) {
		/* the generator is the clock of the measurement: a shared,
		 * busy machine must not make it late. It sleeps between ticks,
		 * and the kernel's RT throttling bounds it anyway. */
		struct sched_param sp = { .sched_priority = m->rt_prio };
		rc = pthread_setschedparam(m->thread, SCHED_FIFO, &sp);
		if (rc && !m->quiet)
			fprintf(stderr, "generator priority: %s; running unprioritised\n", strerror(rc));
	}
	return 0;
}

int media_add(struct media *m, struct media_call **calls, size_t n)
{
	pthread_mutex_lock(&m->mu);
	if (m->npending + n > m->cap_pending) {
		size_t cap = m->npending + n + 64;
		struct media_call **p = realloc(m->pending, cap * sizeof(*p));
		if (!p) {
			pthread_mutex_unlock(&m->mu);
			return -ENOMEM;
		}
		m->pending = p;
		m->cap_pending = cap;
	}
	memcpy(m->pending + m->npending, calls, n * sizeof(*calls));
	m->npending += n;
	pthread_mutex_unlock(&m->mu);
	return 0;
}

void media_window(struct media *m, uint64_t t0, uint64_t t1)
{
	pthread_mutex_lock(&m->mu);
	m->win_t0 = t0;
	m->win_t1 = t1;
	m->win_new = 1;
	m->collect = 0;
	m->collected = 0;
	pthread_mutex_unlock(&m->mu);
}

void media_collect(struct media *m, struct media_result *out)
{
	pthread_mutex_lock(&m->mu);
	m->collect = 1;
	while (!m->collected)
		pthread_cond_wait(&m->cv, &m->mu);
	*out = m->result;
	m->collect = 0;
	pthread_mutex_unlock(&m->mu);
}

unsigned media_calls(struct media *m)
{
	pthread_mutex_lock(&m->mu);
	unsigned n = m->ncalls_shared + (unsigned)m->npending;
	pthread_mutex_unlock(&m->mu);
	return n;
}

const char *media_rx_path(const struct media *m)
{
	return m->rx_path ? m->rx_path : "none";
}

unsigned media_flowing(struct media *m)
{
	pthread_mutex_lock(&m->mu);
	unsigned n = m->nflowing_shared;
	pthread_mutex_unlock(&m->mu);
	return n;
}

void media_stop(struct media *m)
{
	pthread_mutex_lock(&m->mu);
	m->stop = 1;
	pthread_mutex_unlock(&m->mu);
	pthread_join(m->thread, NULL);
	for (size_t i = 0; i < m->ncalls; i++)
		for (int k = 0; k < 2; k++)
			epoll_ctl(m->ep, EPOLL_CTL_DEL, m->calls[i]->leg[k].fd, NULL);
	close(m->ep);
	close(m->tfd);
	if (m->raw_fd >= 0)
		close(m->raw_fd);
	free(m->calls);
	free(m->pending);
	m->calls = NULL;
	m->pending = NULL;
	m->ncalls = 0;
}
