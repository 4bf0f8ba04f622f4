/* addr.c - socket address helpers; see addr.h. */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

bool addr_same_ip(const union rg_addr *a, const union rg_addr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
	return false;
}

bool addr_equal(const union rg_addr *a, const union rg_addr *b)
{
	return addr_same_ip(a, b) && addr_port(a) == addr_port(b);
}

int addr_port(const union rg_addr *a)
{
	if (a->sa.sa_family == AF_INET)
		return ntohs(a->in.sin_port);
	if (a->sa.sa_family == AF_INET6)
		return ntohs(a->in6.sin6_port);
	return 0;
}

void addr_set_port(union rg_addr *a, int port)
{
	if (a->sa.sa_family == AF_INET)
		a->in.sin_port = htons((uint16_t)port);
	else if (a->sa.sa_family == AF_INET6)
		a->in6.sin6_port = htons((uint16_t)port);
}

int addr_parse(union rg_addr *a, const char *ip, int port)
{
	memset(a, 0, sizeof(*a));
	if (port < 0 || port > 65535)
		return -EINVAL;
	if (inet_pton(AF_INET, ip, &a->in.sin_addr) == 1) {
		a->in.sin_family = AF_INET;
		a->in.sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &a->in6.sin6_addr) == 1) {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = htons((uint16_t)port);
		return 0;
	}
	memset(a, 0, sizeof(*a));
	return -EINVAL;
}

int addr_parse_hostport(union rg_addr *a, const char *s, int def_port)
{
	char ip[INET6_ADDRSTRLEN + 2];
	const char *portstr = NULL;
	if (s[0] == '[') {
		const char *e = strchr(s, ']');
		if (!e || (size_t)(e - s - 1) >= sizeof(ip))
			return -EINVAL;
		memcpy(ip, s + 1, (size_t)(e - s - 1));
		ip[e - s - 1] = '\0';
		if (e[1] == ':')
			portstr = e + 2;
		else if (e[1])
			return -EINVAL;
	} else {
		const char *c = strrchr(s, ':');
		if (c && strchr(s, ':') == c) {   /* exactly one colon: IPv4:port */
			if ((size_t)(c - s) >= sizeof(ip))
				return -EINVAL;
			memcpy(ip, s, (size_t)(c - s));
			ip[c - s] = '\0';
			portstr = c + 1;
		} else {
			if (strlen(s) >= sizeof(ip))
				return -EINVAL;
			strcpy(ip, s);
		}
	}
	int port = def_port;
	if (portstr) {
		char *end;
		long p = strtol(portstr, &end, 10);
		if (!*portstr || *end || p < 0 || p > 65535)
			return -EINVAL;
		port = (int)p;
	}
	return addr_parse(a, ip, port);
}

const char *addr_ip_str(const union rg_addr *a, char *buf, size_t len)
{
	const void *src = a->sa.sa_family == AF_INET6 ? (const void *)&a->in6.sin6_addr
						       : (const void *)&a->in.sin_addr;
	if (!addr_is_set(a) || !inet_ntop(a->sa.sa_family, src, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

const char *addr_str(const union rg_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	addr_ip_str(a, ip, sizeof(ip));
	if (a->sa.sa_family == AF_INET6)
		snprintf(buf, len, "[%s]:%d", ip, addr_port(a));
	else
		snprintf(buf, len, "%s:%d", ip, addr_port(a));
	return buf;
}

bool addr_in_cidr(const union rg_addr *a, const char *cidr)
{
	char ip[INET6_ADDRSTRLEN];
	const char *slash = strchr(cidr, '/');
	size_t n = slash ? (size_t)(slash - cidr) : strlen(cidr);
	if (n >= sizeof(ip))
		return false;
	memcpy(ip, cidr, n);
	ip[n] = '\0';
	union rg_addr net;
	if (addr_parse(&net, ip, 0) < 0 || net.sa.sa_family != a->sa.sa_family)
		return false;
	int maxbits = a->sa.sa_family == AF_INET ? 32 : 128;
	int bits = slash ? atoi(slash + 1) : maxbits;
	if (bits < 0 || bits > maxbits)
		return false;
	const uint8_t *x = a->sa.sa_family == AF_INET ? (const uint8_t *)&a->in.sin_addr
						      : a->in6.sin6_addr.s6_addr;
	const uint8_t *y = a->sa.sa_family == AF_INET ? (const uint8_t *)&net.in.sin_addr
						      : net.in6.sin6_addr.s6_addr;
	for (int i = 0; bits > 0; i++, bits -= 8) {
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
		if ((x[i] & mask) != (y[i] & mask))
			return false;
	}
	return true;
}
