/* test_kfwd.c - the kernel forwarding program (relay/kfwd.bpf.c) itself,
 * run by the kernel on packets made here (BPF_PROG_TEST_RUN): the rewrite
 * of an IPv4 and an IPv6 packet (addresses, ports, both checksums whole
 * again, the payload untouched), the counts and quality view in its map
 * entry, and the packets it must leave to the daemon. On loopback and veth
 * the UDP checksum is never computed in full (the daemon tests cannot see
 * a wrong one); here the kernel hands the program a packet whose checksum
 * is complete, so a wrong update shows. Needs CAP_BPF (root); without it
 * the cases say so and pass. */
#include "unit.h"
#include "kfwd_map.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>

extern const unsigned char kfwd_obj[];
extern const unsigned int kfwd_obj_len;

#define TCX_NEXT (-1)
#define TCX_PASS 0

static struct bpf_object *obj;
static int map_fd = -1, prog_fd = -1;

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level; (void)fmt; (void)ap;
	return 0;
}

/* false (and a note) when this process may not load BPF programs */
static bool load(void)
{
	if (prog_fd >= 0)
		return true;
	libbpf_set_print(quiet);
	obj = bpf_object__open_mem(kfwd_obj, kfwd_obj_len, NULL);
	EXPECT(obj != NULL);
	if (!obj)
		return false;
	int r = bpf_object__load(obj);
	if (r == -EPERM || r == -EACCES) {
		printf("  (not run: loading BPF needs CAP_BPF)\n");
		return false;
	}
	EXPECT_INT(r, 0);
	if (r < 0)
		return false;
	map_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "kfwd_map"));
	prog_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "rtpgate_kfwd"));
	return map_fd >= 0 && prog_fd >= 0;
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* The UDP checksum over a pseudo-header of addresses alen bytes each. */
static uint16_t udp_sum(const uint8_t *src, const uint8_t *dst, size_t alen, const uint8_t *udp,
			size_t ulen)
{
	uint32_t s = sum16(src, alen, 0);
	s = sum16(dst, alen, s);
	s += 17 + (uint32_t)ulen;
	s = sum16(udp, ulen, s);
	return (uint16_t)~fold(s);
}

static void map4(uint32_t out[4], const char *a)
{
	out[0] = out[1] = 0;
	out[2] = htonl(0xffff);
	inet_pton(AF_INET, a, &out[3]);
}

static void map6(uint32_t out[4], const char *a)
{
	inet_pton(AF_INET6, a, out);
}

#define RTP_LEN 32   /* 12-byte header, 20 bytes of payload */

/* An Ethernet frame with an IPv4 (v6: IPv6) UDP packet from src:sport to
 * dst:dport carrying RTP, checksums complete. Returns its length. */
static size_t frame(uint8_t *f, bool v6, const char *src, uint16_t sport, const char *dst,
		    uint16_t dport, uint16_t seq, uint32_t ssrc)
{
	memset(f, 0, 128);
	f[12] = v6 ? 0x86 : 0x08;
	f[13] = v6 ? 0xdd : 0x00;
	uint8_t *ip = f + 14, *udp = ip + (v6 ? 40 : 20);
	size_t ulen = 8 + unit_rtp(udp + 8, seq, 160u * seq, ssrc, 0, RTP_LEN - 12);
	if (v6) {
		ip[0] = 0x60;
		ip[4] = (uint8_t)(ulen >> 8);
		ip[5] = (uint8_t)ulen;
		ip[6] = 17;
		ip[7] = 64;
		inet_pton(AF_INET6, src, ip + 8);
		inet_pton(AF_INET6, dst, ip + 24);
	} else {
		ip[0] = 0x45;
		ip[2] = (uint8_t)((20 + ulen) >> 8);
		ip[3] = (uint8_t)(20 + ulen);
		ip[8] = 64;
		ip[9] = 17;
		inet_pton(AF_INET, src, ip + 12);
		inet_pton(AF_INET, dst, ip + 16);
		uint16_t c = (uint16_t)~fold(sum16(ip, 20, 0));
		ip[10] = (uint8_t)(c >> 8);
		ip[11] = (uint8_t)c;
	}
	udp[0] = (uint8_t)(sport >> 8);
	udp[1] = (uint8_t)sport;
	udp[2] = (uint8_t)(dport >> 8);
	udp[3] = (uint8_t)dport;
	udp[4] = (uint8_t)(ulen >> 8);
	udp[5] = (uint8_t)ulen;
	uint16_t c = v6 ? udp_sum(ip + 8, ip + 24, 16, udp, ulen) : udp_sum(ip + 12, ip + 16, 4, udp, ulen);
	udp[6] = (uint8_t)(c >> 8);
	udp[7] = (uint8_t)c;
	return (size_t)(udp - f) + ulen;
}

/* Runs the program on f; the verdict, the packet as it left in out. */
static int run(const uint8_t *f, size_t len, uint8_t *out, size_t *out_len)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f, .data_size_in = (uint32_t)len,
		    .data_out = out, .data_size_out = 256, .repeat = 1);
	int r = bpf_prog_test_run_opts(prog_fd, &o);
	EXPECT_INT(r, 0);
	*out_len = o.data_size_out;
	return (int)o.retval;
}

/* The entry: the party at psrc:4000 sends to rtpgate at local:30000; it
 * goes on from rtpgate's local:30002 to the other party at pdst:5000, on
 * this host (no route lookup). */
static void entry(bool v6, const char *local, const char *psrc, const char *pdst, bool rx,
		  struct kfwd_key *k)
{
	struct kfwd_val v;
	memset(k, 0, sizeof(*k));
	memset(&v, 0, sizeof(v));
	void (*map)(uint32_t *, const char *) = v6 ? map6 : map4;
	map(k->addr, local);
	k->port = htons(30000);
	map(v.src_addr, psrc);
	v.src_port = htons(4000);
	map(v.out_addr, local);
	v.out_port = htons(30002);
	map(v.dst_addr, pdst);
	v.dst_port = htons(5000);
	v.local = 1;
	if (rx) {
		v.rx_on = 1;
		v.ssrc = 0x11223344;
		v.clock_rate = 8000;
		v.ext_max = 99;       /* the worker saw up to 99 */
	}
	EXPECT_INT(bpf_map_update_elem(map_fd, k, &v, BPF_ANY), 0);
}

static void check_rewrite(bool v6)
{
	const char *local = v6 ? "2001:db8::1" : "10.0.0.1";
	const char *psrc = v6 ? "2001:db8::2" : "10.0.0.2";
	const char *pdst = v6 ? "2001:db8::3" : "10.0.0.3";
	struct kfwd_key k;
	entry(v6, local, psrc, pdst, true, &k);
	uint8_t f[256], out[256];
	size_t len = frame(f, v6, psrc, 4000, local, 30000, 100, 0x11223344), olen = 0;
	EXPECT_INT(run(f, len, out, &olen), TCX_PASS);
	EXPECT_INT(olen, len);
	size_t iplen = v6 ? 40 : 20, alen = v6 ? 16 : 4;
	uint8_t *ip = out + 14, *udp = ip + iplen;
	uint8_t want_s[16], want_d[16];
	inet_pton(v6 ? AF_INET6 : AF_INET, local, want_s);
	inet_pton(v6 ? AF_INET6 : AF_INET, pdst, want_d);
	const uint8_t *s = ip + (v6 ? 8 : 12), *d = s + alen;
	EXPECT_MEM(s, want_s, alen);
	EXPECT_MEM(d, want_d, alen);
	EXPECT_INT(udp[0] << 8 | udp[1], 30002);
	EXPECT_INT(udp[2] << 8 | udp[3], 5000);
	EXPECT_MEM(udp + 8, f + 14 + iplen + 8, RTP_LEN);
	size_t ulen = (size_t)(udp[4] << 8 | udp[5]);
	/* a whole checksum sums to zero with the pseudo-header */
	EXPECT_INT(udp_sum(s, d, alen, udp, ulen), 0);
	if (!v6)
		EXPECT_INT(fold(sum16(ip, 20, 0)), 0xffff);
	struct kfwd_val v;
	EXPECT_INT(bpf_map_lookup_elem(map_fd, &k, &v), 0);
	EXPECT_INT(v.pkts, 1);
	EXPECT_INT(v.bytes, RTP_LEN);
	EXPECT_INT(v.received, 1);
	EXPECT_INT(v.ext_max, 100);
	/* 105 after 100: a gap the view keeps; 50 late: counted, not ahead */
	len = frame(f, v6, psrc, 4000, local, 30000, 105, 0x11223344);
	EXPECT_INT(run(f, len, out, &olen), TCX_PASS);
	len = frame(f, v6, psrc, 4000, local, 30000, 50, 0x11223344);
	EXPECT_INT(run(f, len, out, &olen), TCX_PASS);
	EXPECT_INT(bpf_map_lookup_elem(map_fd, &k, &v), 0);
	EXPECT_INT(v.ext_max, 105);
	EXPECT_INT(v.received, 3);
	EXPECT_INT(v.pkts, 3);

	/* left to the daemon, untouched and not counted: a stranger's source,
	 * another SSRC, a jump in the sequence, RTCP, no entry */
	struct {
		const char *what, *src;
		uint16_t sport, dport, seq;
		uint32_t ssrc;
		int rtcp;
	} cases[] = {
		{ "stranger's address", pdst, 4000, 30000, 106, 0x11223344, 0 },
		{ "stranger's port", psrc, 4001, 30000, 106, 0x11223344, 0 },
		{ "another SSRC", psrc, 4000, 30000, 106, 0x55667788, 0 },
		{ "a jump", psrc, 4000, 30000, 9000, 0x11223344, 0 },
		{ "RTCP", psrc, 4000, 30000, 106, 0x11223344, 1 },
		{ "no entry", psrc, 4000, 30004, 106, 0x11223344, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = frame(f, v6, cases[i].src, cases[i].sport, local, cases[i].dport, cases[i].seq,
			    cases[i].ssrc);
		if (cases[i].rtcp)
			f[14 + iplen + 8 + 1] = 200;   /* SR */
		int r = run(f, len, out, &olen);
		if (r != TCX_NEXT || memcmp(out, f, len))
			unit_fail(__FILE__, __LINE__, "%s %s: verdict %d, %s", v6 ? "IPv6" : "IPv4",
				  cases[i].what, r, memcmp(out, f, len) ? "changed" : "unchanged");
	}
	EXPECT_INT(bpf_map_lookup_elem(map_fd, &k, &v), 0);
	EXPECT_INT(v.pkts, 3);
	EXPECT_INT(v.received, 3);
	bpf_map_delete_elem(map_fd, &k);
}

static void t_ipv4(void)
{
	if (load())
		check_rewrite(false);
}

static void t_ipv6(void)
{
	if (load())
		check_rewrite(true);
}

/* No quality view (rx_on 0): any SSRC and sequence goes through. */
static void t_without_view(void)
{
	if (!load())
		return;
	struct kfwd_key k;
	entry(true, "2001:db8::1", "2001:db8::2", "2001:db8::3", false, &k);
	uint8_t f[256], out[256];
	size_t olen;
	size_t len = frame(f, true, "2001:db8::2", 4000, "2001:db8::1", 30000, 9000, 0x55667788);
	EXPECT_INT(run(f, len, out, &olen), TCX_PASS);
	struct kfwd_val v;
	EXPECT_INT(bpf_map_lookup_elem(map_fd, &k, &v), 0);
	EXPECT_INT(v.pkts, 1);
	EXPECT_INT(v.received, 0);
	bpf_map_delete_elem(map_fd, &k);
}

const struct unit_case unit_cases[] = {
	UNIT(t_ipv4), UNIT(t_ipv6), UNIT(t_without_view), { 0 },
};
