/* addr.h - a socket address small enough to keep per stream, and helpers.
 * Pure functions, any thread. */
#ifndef RG_ADDR_H
#define RG_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

union rg_addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

static inline socklen_t addr_len(const union rg_addr *a)
{
	return a->sa.sa_family == AF_INET ? sizeof(struct sockaddr_in)
	     : a->sa.sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : 0;
}
static inline bool addr_is_set(const union rg_addr *a) { return a->sa.sa_family != AF_UNSPEC; }
/* Same IP (port ignored). */
bool addr_same_ip(const union rg_addr *a, const union rg_addr *b);
/* Same IP and port. */
bool addr_equal(const union rg_addr *a, const union rg_addr *b);
int addr_port(const union rg_addr *a);
void addr_set_port(union rg_addr *a, int port);
/* "1.2.3.4" / "::1" plus port into *a. family 0: guess. Returns 0 or -EINVAL. */
int addr_parse(union rg_addr *a, const char *ip, int port);
/* "IP:PORT" or "[IP6]:PORT" or "IP" (port = def_port). */
int addr_parse_hostport(union rg_addr *a, const char *s, int def_port);
/* IP only, into buf. */
const char *addr_ip_str(const union rg_addr *a, char *buf, size_t len);
/* "IP:PORT" / "[IP]:PORT" into buf. */
const char *addr_str(const union rg_addr *a, char *buf, size_t len);
/* CIDR membership: "10.0.0.0/8", "::1/128". Returns true if a is inside. */
bool addr_in_cidr(const union rg_addr *a, const char *cidr);

#endif
