/* kfwd.c - kernel forwarding: loading the tc program, and the workers'
 * side of its map; see kfwd.h and kfwd.bpf.c.
 *
 * The program is embedded (kfwd_obj[], made from kfwd.bpf.o at build time)
 * and loaded with libbpf. It is attached with a tcx link (kernel 6.6+),
 * created through the raw link_create call because Debian 12's libbpf
 * predates tcx: a link belongs to the file descriptor that holds it, so the
 * kernel detaches the program when the daemon exits, however it exits, and
 * several daemons on one interface each run their own program in turn
 * (a miss hands the packet to the next).
 */
#include "kfwd.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kfwd_map.h"
#include "log.h"
#include "quality.h"
#include "rtcp.h"
#include "session.h"
#include "worker.h"

/* kfwd_obj.c, generated */
extern const unsigned char kfwd_obj[];
extern const unsigned int kfwd_obj_len;

/* linux/bpf.h of 6.6+ */
#define RG_BPF_TCX_INGRESS 46

#define KFWD_MAX_IFACES 8
#define KFWD_MAX_LOCAL 64

struct kfwd {
	struct bpf_object *obj;
	int map_fd;
	int nlinks;
	int link_fd[KFWD_MAX_IFACES];
	unsigned ifindex[KFWD_MAX_IFACES];
	/* this host's addresses at start (kfwd_map.h's form): a party at one
	 * of them (or in 127/8, or ::1) is reached up the local stack, without
	 * a route lookup */
	int nlocal;
	uint32_t local[KFWD_MAX_LOCAL][4];
};

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level; (void)fmt; (void)ap;
	return 0;
}

/* An address in kfwd_map.h's form (IPv4 as ::ffff:a.b.c.d), and its port;
 * the family, or 0 for one the program does not know. */
static int to_map_addr(const struct sockaddr *sa, uint32_t out[4], uint16_t *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		out[0] = out[1] = 0;
		out[2] = htonl(0xffff);
		out[3] = in->sin_addr.s_addr;
		if (port)
			*port = in->sin_port;
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		memcpy(out, &in6->sin6_addr, 16);
		if (port)
			*port = in6->sin6_port;
		return AF_INET6;
	}
	return 0;
}

/* The interface that holds a local address; 0 if none. */
static unsigned ifindex_of(const struct ifaddrs *all, const union rg_addr *a)
{
	uint32_t want[4], have[4];
	if (!to_map_addr(&a->sa, want, NULL))
		return 0;
	for (const struct ifaddrs *i = all; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == a->sa.sa_family &&
		    to_map_addr(i->ifa_addr, have, NULL) && !memcmp(want, have, sizeof(want)))
			return if_nametoindex(i->ifa_name);
	return 0;
}

int kfwd_open(struct kfwd **out, const union rg_addr *locals, int nlocals,
	      unsigned max_entries, char *err, size_t errlen)
{
	*out = NULL;
	struct kfwd *k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->map_fd = -1;
	struct ifaddrs *ifa = NULL;
	int r;
	if (getifaddrs(&ifa) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot list interfaces: %s", strerror(errno));
		goto fail;
	}
	for (int i = 0; i < nlocals; i++) {
		char a[64];
		bool any = locals[i].sa.sa_family == AF_INET
			? locals[i].in.sin_addr.s_addr == INADDR_ANY
			: locals[i].sa.sa_family != AF_INET6 ||
			  IN6_IS_ADDR_UNSPECIFIED(&locals[i].in6.sin6_addr);
		if (any) {
			snprintf(err, errlen, "kernel forwarding needs a specific --interface address, "
				 "not %s", addr_ip_str(&locals[i], a, sizeof(a)));
			r = -EINVAL;
			goto fail;
		}
		unsigned idx = ifindex_of(ifa, &locals[i]);
		if (!idx) {
			snprintf(err, errlen, "no interface holds %s", addr_ip_str(&locals[i], a, sizeof(a)));
			r = -ENODEV;
			goto fail;
		}
		bool seen = false;
		for (int j = 0; j < k->nlinks; j++)
			seen |= k->ifindex[j] == idx;
		if (!seen && k->nlinks < KFWD_MAX_IFACES)
			k->ifindex[k->nlinks++] = idx;
	}
	int nif = k->nlinks;
	k->nlinks = 0;
	for (const struct ifaddrs *i = ifa; i && k->nlocal < KFWD_MAX_LOCAL; i = i->ifa_next)
		if (i->ifa_addr && to_map_addr(i->ifa_addr, k->local[k->nlocal], NULL))
			k->nlocal++;

	libbpf_set_print(libbpf_quiet);
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "rtpgate_kfwd");
	k->obj = bpf_object__open_mem(kfwd_obj, kfwd_obj_len, &oo);
	if (!k->obj) {
		r = -errno;
		snprintf(err, errlen, "cannot open the program: %s", strerror(errno));
		goto fail;
	}
	struct bpf_map *map = bpf_object__find_map_by_name(k->obj, "kfwd_map");
	struct bpf_program *prog = bpf_object__find_program_by_name(k->obj, "rtpgate_kfwd");
	if (!map || !prog) {
		r = -ENOENT;
		snprintf(err, errlen, "the embedded program lacks its map or function");
		goto fail;
	}
	bpf_map__set_max_entries(map, max_entries ? max_entries : 1);
	r = bpf_object__load(k->obj);
	if (r < 0) {
		snprintf(err, errlen, "cannot load the program: %s%s", strerror(-r),
			 r == -EPERM ? " (needs CAP_BPF and CAP_NET_ADMIN, or root)" : "");
		goto fail;
	}
	k->map_fd = bpf_map__fd(map);
	int prog_fd = bpf_program__fd(prog);
	for (int i = 0; i < nif; i++) {
		int fd = bpf_link_create(prog_fd, (int)k->ifindex[i], RG_BPF_TCX_INGRESS, NULL);
		if (fd < 0) {
			char name[IF_NAMESIZE] = "?";
			if_indextoname(k->ifindex[i], name);
			r = fd;
			snprintf(err, errlen, "cannot attach to %s: %s%s", name, strerror(-fd),
				 fd == -EINVAL ? " (tcx needs Linux 6.6 or later)" : "");
			goto fail;
		}
		k->link_fd[k->nlinks++] = fd;
	}
	freeifaddrs(ifa);
	*out = k;
	return 0;
fail:
	if (ifa)
		freeifaddrs(ifa);
	kfwd_close(k);
	return r;
}

void kfwd_close(struct kfwd *k)
{
	if (!k)
		return;
	for (int i = 0; i < k->nlinks; i++)
		close(k->link_fd[i]);
	if (k->obj)
		bpf_object__close(k->obj);
	free(k);
}

/* The address a socket is bound to, in kfwd_map.h's form: its family, or
 * 0 if none (or a wildcard, which no packet is addressed to). */
static int bound_addr(int fd, uint32_t addr[4], uint16_t *port)
{
	union rg_addr a;
	socklen_t len = sizeof(a);
	if (fd < 0 || getsockname(fd, &a.sa, &len) < 0)
		return 0;
	int fam = to_map_addr(&a.sa, addr, port);
	static const uint32_t unspecified6[4] = { 0, 0, 0, 0 };
	if (fam == AF_INET ? !addr[3] : !memcmp(addr, unspecified6, sizeof(unspecified6)))
		return 0;
	return fam;
}

static bool is_local(const struct kfwd *k, const uint32_t a[4])
{
	if (a[0] == 0 && a[1] == 0 && a[2] == htonl(0xffff) && (ntohl(a[3]) >> 24) == 127)
		return true;
	struct in6_addr one = IN6ADDR_LOOPBACK_INIT;
	if (!memcmp(a, &one, 16))
		return true;
	for (int i = 0; i < k->nlocal; i++)
		if (!memcmp(k->local[i], a, 16))
			return true;
	return false;
}

/* What s's entry should say; false when s may not be offloaded now. */
static bool wanted(const struct kfwd *k, const struct mstream *s, struct kfwd_val *v,
		   struct kfwd_key *key)
{
	struct msession *ms = s->ms;
	if (!s->active || s->comp != COMP_RTP || s->latch == LATCH_NONE || s->asym)
		return false;
	const struct mmedia *mm = msession_media(ms, s->leg, s->media);
	const struct mstream *o = msession_stream(ms, !s->leg, s->media, COMP_RTP);
	const struct mmedia *om = msession_media(ms, o->leg, o->media);
	if (mm->srtp_rx || mm->xc || om->srtp_tx || !o->active)
		return false;
	const union rg_addr *dst = mstream_dest(o);
	memset(v, 0, sizeof(*v));
	memset(key, 0, sizeof(*key));
	/* one family end to end: the program rewrites addresses, it does not
	 * turn IPv4 into IPv6 */
	int fam = to_map_addr(&s->latched.sa, v->src_addr, &v->src_port);
	if (!fam || to_map_addr(&dst->sa, v->dst_addr, &v->dst_port) != fam ||
	    bound_addr(s->fd, key->addr, &key->port) != fam ||
	    bound_addr(o->fd, v->out_addr, &v->out_port) != fam)
		return false;
	v->local = is_local(k, v->dst_addr);
	return true;
}

/* Counts an entry held (v: its values now) into the streams' counters:
 * what came since the last look. Inside mstream_pub_begin/end. */
static void count_in(struct worker *w, struct mstream *s, const struct kfwd_val *v)
{
	uint64_t dp = v->pkts - s->kf_val.pkts, db = v->bytes - s->kf_val.bytes;
	s->kf_val.pkts = v->pkts;
	s->kf_val.bytes = v->bytes;
	if (!dp)
		return;
	CNT_SET(s->kf_in_pkts, v->pkts);
	CNT_SET(s->kf_in_bytes, v->bytes);
	if (v->rx_on) {
		struct quality_kernel k = {
			.ssrc = v->ssrc, .base_seq = v->base_seq, .ext_max = v->ext_max,
			.received = v->received - s->kf_val.received,
			.transit = v->transit, .jitter_q4 = v->jitter_q4,
		};
		s->kf_val.received = v->received;
		CNT_SET(s->kf_folded, v->received);
		quality_fold(s, &k);
	}
	struct mstream *o = msession_stream(s->ms, !s->leg, s->media, COMP_RTP);
	CNT_ADD(s->c.pkts_in, dp);
	CNT_ADD(s->c.bytes_in, db);
	CNT_ADD(o->c.pkts_out, dp);
	CNT_ADD(o->c.bytes_out, db);
	CNT_ADD(w->stats.pkts_relayed, dp);
	CNT_ADD(w->stats.bytes_relayed, db);
	CNT_ADD(w->stats.kfwd_pkts, dp);
	/* the kernel's CLOCK_MONOTONIC stamp in the loop's milliseconds */
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	uint64_t age_ms = now_ns > v->last_ns ? (now_ns - v->last_ns) / 1000000 : 0;
	uint64_t now_ms = uv_now(&w->loop);
	uint64_t last = now_ms > age_ms ? now_ms - age_ms : 0;
	if (last > atomic_load_explicit(&s->c.last_in_ms, memory_order_relaxed))
		atomic_store_explicit(&s->c.last_in_ms, last, memory_order_relaxed);
}

static void apply(struct worker *w, struct mstream *s, const struct kfwd_val *v)
{
	mstream_pub_begin(s);
	count_in(w, s, v);
	mstream_pub_end(s);
}

static void unlink_entry(struct worker *w, struct mstream *s)
{
	s->kf_on = false;
	*s->kf_prev = s->kf_next;
	if (s->kf_next)
		s->kf_next->kf_prev = s->kf_prev;
	s->kf_next = NULL;
	s->kf_prev = NULL;
	atomic_fetch_sub_explicit(&w->stats.kfwd_streams, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&s->ms->kf_entries, 1, memory_order_relaxed);
}

/* The control thread took s's entry out of the kernel: its last counts,
 * and s no longer has one. True if that happened. */
static bool taken(struct worker *w, struct mstream *s)
{
	if (!atomic_load_explicit(&s->kf_taken, memory_order_relaxed))
		return false;
	/* set only after the control thread deleted an entry the worker had
	 * installed (kf_val holds what was counted of it); the flag and the
	 * counts change together for kfwd_stream_in */
	mstream_pub_begin(s);
	bool t = atomic_exchange_explicit(&s->kf_taken, false, memory_order_acquire);
	if (t)
		count_in(w, s, &s->kf_final);
	mstream_pub_end(s);
	/* entry_off may have unlinked it already, when its own delete found
	 * the entry gone */
	if (t && s->kf_on)
		unlink_entry(w, s);
	return t;
}

/* The kernel's counts since the last look, into the streams' counters. */
static void harvest(struct worker *w, struct mstream *s)
{
	struct kfwd_val v;
	if (taken(w, s) || bpf_map_lookup_elem(w->kf->map_fd, &s->kf_key, &v) < 0)
		return;
	apply(w, s, &v);
}

static void entry_off(struct worker *w, struct mstream *s)
{
	if (!s->kf_on || taken(w, s))
		return;
	harvest(w, s);
	if (!s->kf_on)
		return;   /* harvest found it taken */
	/* a failed delete: the control thread took it meanwhile, and counts
	 * what it took; taken() counts it too, now or at the next sync */
	if (bpf_map_delete_elem(w->kf->map_fd, &s->kf_key) < 0 && taken(w, s))
		return;
	unlink_entry(w, s);
}

/* The entry carries on s's quality view from where it is now (after any
 * harvest): nothing while the view has not begun. */
static void seed_quality(const struct mstream *s, struct kfwd_val *v)
{
	const struct rtcp_rxstats *rx = &s->qw.rx;
	if (!s->qw.rx_on || rx->probation)
		return;
	v->rx_on = 1;
	v->ssrc = rx->ssrc;
	v->clock_rate = rx->clock_rate;
	v->arrival_base_ns = rx->arrival_base_ns;
	v->base_seq = rx->base_seq;
	v->ext_max = rtcp_rxstats_ext_max(rx);
	v->transit = rx->transit;
	v->jitter_q4 = rx->jitter_q4;
	v->have_transit = rx->have_transit;
}

/* The entry does not carry on s's quality view as it is now: made before
 * the view began, or from an earlier one (another SSRC, a jump). */
static bool view_moved(const struct mstream *s)
{
	const struct rtcp_rxstats *rx = &s->qw.rx;
	if (!s->qw.rx_on || rx->probation)
		return false;
	return !s->kf_val.rx_on || s->kf_val.ssrc != rx->ssrc || s->kf_val.base_seq != rx->base_seq;
}

static void sync_one(struct worker *w, struct mstream *s, bool reseed)
{
	struct kfwd_val v;
	struct kfwd_key key;
	taken(w, s);
	if (!wanted(w->kf, s, &v, &key)) {
		entry_off(w, s);
		return;
	}
	if (s->kf_on) {
		/* both zeroed before they were filled: the part the daemon
		 * sets compares byte for byte */
		if (!reseed && !memcmp(&key, &s->kf_key, sizeof(key)) &&
		    !memcmp(&v, &s->kf_val, offsetof(struct kfwd_val, pkts)))
			return;
		entry_off(w, s);
	}
	seed_quality(s, &v);
	/* a take (a delete) may find the entry as soon as it is in: what it
	 * is measured against is published first. The counters start at 0
	 * with each entry. */
	mstream_pub_begin(s);
	memcpy(&s->kf_val, &v, sizeof(v));   /* padding too: sync_one compares bytes */
	CNT_SET(s->kf_in_pkts, 0);
	CNT_SET(s->kf_in_bytes, 0);
	CNT_SET(s->kf_folded, 0);
	quality_publish_view(s);
	mstream_pub_end(s);
	if (bpf_map_update_elem(w->kf->map_fd, &key, &v, BPF_ANY) < 0) {
		LOG_RL(LOG_WARNING, "kfwd", s->ms->call_id,
		       "cannot offload port %u to the kernel: %s (the worker relays it)",
		       s->port, strerror(errno));
		return;
	}
	s->kf_key = key;
	s->kf_on = true;
	s->kf_next = w->kf_list;
	s->kf_prev = &w->kf_list;
	if (w->kf_list)
		w->kf_list->kf_prev = &s->kf_next;
	w->kf_list = s;
	atomic_fetch_add_explicit(&w->stats.kfwd_streams, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->ms->kf_entries, 1, memory_order_relaxed);
}

void kfwd_stream_sync(struct worker *w, struct mstream *s, bool reseed)
{
	if (!w->kf)
		return;
	struct msession *ms = s->ms;
	/* s's own entry (s's party as the source), and the one that sends to
	 * s's party (the other leg's RTP stream) */
	struct mstream *rs = msession_stream(ms, s->leg, s->media, COMP_RTP);
	if (reseed) {
		/* a party that changes SSRC on every packet costs three bpf()
		 * calls a packet at most once a second; the tick makes the
		 * entry again otherwise */
		uint64_t now = uv_now(&w->loop);
		if (now - rs->kf_reseed_ms < 1000)
			reseed = false;
		else
			rs->kf_reseed_ms = now;
	}
	sync_one(w, rs, reseed);
	sync_one(w, msession_stream(ms, !s->leg, s->media, COMP_RTP), false);
}

void kfwd_stream_pull(struct worker *w, struct mstream *s)
{
	if (w->kf && s->kf_on)
		harvest(w, s);
}

void kfwd_session_off(struct worker *w, struct msession *ms)
{
	if (!w->kf)
		return;
	for (int i = 0; i < ms->nmedia * 4; i++)
		entry_off(w, &ms->st[i]);
}

void kfwd_worker_tick(struct worker *w)
{
	if (!w->kf)
		return;
	struct mstream *next;
	for (struct mstream *s = w->kf_list; s; s = next) {
		next = s->kf_next;   /* harvest may unlink s, sync_one put it first */
		harvest(w, s);
		if (s->kf_on && view_moved(s))
			sync_one(w, s, true);
	}
}

void kfwd_session_take(struct kfwd *k, struct msession *ms)
{
	if (!k || !atomic_load_explicit(&ms->kf_entries, memory_order_relaxed))
		return;
	for (int i = 0; i < ms->nmedia * 4; i++) {
		struct mstream *s = &ms->st[i];
		struct kfwd_key key = { 0 };
		if (s->comp != COMP_RTP || atomic_load_explicit(&s->kf_taken, memory_order_acquire))
			continue;
		if (!bound_addr(s->fd, key.addr, &key.port) ||
		    bpf_map_lookup_and_delete_elem(k->map_fd, &key, &s->kf_final) < 0)
			continue;
		atomic_store_explicit(&s->kf_taken, true, memory_order_release);
	}
}

void kfwd_stream_in(struct mstream *s, uint64_t *pkts, uint64_t *bytes)
{
	uint64_t p, b, ip, ib;
	bool t;
	uint32_t q;
	do {
		q = mstream_read_begin(s);
		p = atomic_load_explicit(&s->c.pkts_in, memory_order_relaxed);
		b = atomic_load_explicit(&s->c.bytes_in, memory_order_relaxed);
		t = atomic_load_explicit(&s->kf_taken, memory_order_relaxed);
		ip = atomic_load_explicit(&s->kf_in_pkts, memory_order_relaxed);
		ib = atomic_load_explicit(&s->kf_in_bytes, memory_order_relaxed);
	} while (!mstream_read_done(s, q));
	/* kf_final: this thread's own take */
	if (t && s->kf_final.pkts >= ip && s->kf_final.bytes >= ib) {
		p += s->kf_final.pkts - ip;
		b += s->kf_final.bytes - ib;
	}
	*pkts = p;
	*bytes = b;
}
