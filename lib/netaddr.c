/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netaddr.h"

static const char *const excluded_prefixes[] = {
	"cni", "flannel", "veth", "docker", "br-", "virbr", "kube", "cali", "vxlan", "tun", "tap",
};

const char *alga_netaddr_source_to_string(enum alga_netaddr_source s)
{
	switch (s) {
	case ALGA_NETADDR_SOURCE_DEFAULT_ROUTE:
		return "default-route";
	case ALGA_NETADDR_SOURCE_INTERFACE:
		return "interface";
	case ALGA_NETADDR_SOURCE_IPV6:
		return "ipv6";
	case _ALGA_NETADDR_SOURCE_MAX:
		break;
	}
	return NULL;
}

bool alga_netaddr_ifname_is_excluded(const char *ifname)
{
	for (size_t i = 0; i < ELEMENTSOF(excluded_prefixes); i++)
		if (str_has_prefix(ifname, excluded_prefixes[i]))
			return true;
	return false;
}

bool alga_netaddr_ipv4_is_eligible(const struct in_addr *a)
{
	uint32_t h = ntohl(a->s_addr);

	if ((h >> 24) == 127 || (h >> 24) == 0)
		return false;
	if ((h >> 16) == ((169u << 8) | 254u))
		return false;
	/* k3s's pod and service ranges (host.md §3 item 6) */
	if ((h >> 16) == ((10u << 8) | 42u) || (h >> 16) == ((10u << 8) | 43u))
		return false;
	if (h >= 0xe0000000u) /* multicast, reserved, broadcast */
		return false;
	return true;
}

bool alga_netaddr_ipv6_is_eligible(const struct in6_addr *a)
{
	if (IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_LINKLOCAL(a) ||
	    IN6_IS_ADDR_MULTICAST(a) || IN6_IS_ADDR_V4MAPPED(a) || IN6_IS_ADDR_SITELOCAL(a))
		return false;
	return true;
}

static bool ifa_is_usable(const struct ifaddrs *i)
{
	if (!i->ifa_addr || !i->ifa_name)
		return false;
	if ((i->ifa_flags & (IFF_UP | IFF_RUNNING)) != (IFF_UP | IFF_RUNNING))
		return false;
	if (i->ifa_flags & IFF_LOOPBACK)
		return false;
	return !alga_netaddr_ifname_is_excluded(i->ifa_name);
}

static void fill(struct alga_netaddr *ret, enum alga_netaddr_source source, const struct ifaddrs *i)
{
	char buf[INET6_ADDRSTRLEN];

	ret->source = source;
	ret->family = i->ifa_addr->sa_family;
	snprintf(ret->ifname, sizeof(ret->ifname), "%s", i->ifa_name);
	if (ret->family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)i->ifa_addr)->sin_addr, buf,
			  sizeof(buf));
		snprintf(ret->address, sizeof(ret->address), "%s", buf);
	} else {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, buf,
			  sizeof(buf));
		snprintf(ret->address, sizeof(ret->address), "[%s]", buf);
	}
}

/* step 1: the kernel's pick of a source address for the default route */
static int route_source(struct in_addr *ret)
{
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(53) };
	struct sockaddr_in src;
	socklen_t len = sizeof(src);
	int fd, r = 0;

	inet_pton(AF_INET, "1.1.1.1", &dst.sin_addr);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&src, &len) < 0)
		r = -errno;
	close(fd);
	if (r < 0)
		return r;
	if (src.sin_addr.s_addr == htonl(INADDR_ANY))
		return -ENETUNREACH;
	*ret = src.sin_addr;
	return 0;
}

/* getifaddrs() lists by ifindex order of the dump; pick the lowest index explicitly */
static const struct ifaddrs *first_by_index(const struct ifaddrs *list, int family)
{
	const struct ifaddrs *best = NULL;
	unsigned best_index = 0;

	for (const struct ifaddrs *i = list; i; i = i->ifa_next) {
		unsigned idx;

		if (!ifa_is_usable(i) || i->ifa_addr->sa_family != family)
			continue;
		if (family == AF_INET &&
		    !alga_netaddr_ipv4_is_eligible(&((const struct sockaddr_in *)i->ifa_addr)->sin_addr))
			continue;
		if (family == AF_INET6 &&
		    !alga_netaddr_ipv6_is_eligible(
			    &((const struct sockaddr_in6 *)i->ifa_addr)->sin6_addr))
			continue;
		idx = if_nametoindex(i->ifa_name);
		if (!best || (idx > 0 && idx < best_index)) {
			best = i;
			best_index = idx;
		}
	}
	return best;
}

int alga_netaddr_pick(struct alga_netaddr *ret)
{
	struct ifaddrs *list = NULL;
	const struct ifaddrs *found;
	struct in_addr src;
	int r = -ENOENT;

	if (getifaddrs(&list) < 0)
		return -errno;

	if (route_source(&src) == 0)
		for (const struct ifaddrs *i = list; i; i = i->ifa_next) {
			if (!ifa_is_usable(i) || i->ifa_addr->sa_family != AF_INET)
				continue;
			if (((const struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr != src.s_addr)
				continue;
			if (!alga_netaddr_ipv4_is_eligible(&src))
				break;
			fill(ret, ALGA_NETADDR_SOURCE_DEFAULT_ROUTE, i);
			r = 0;
			goto done;
		}

	found = first_by_index(list, AF_INET);
	if (found) {
		fill(ret, ALGA_NETADDR_SOURCE_INTERFACE, found);
		r = 0;
		goto done;
	}

	found = first_by_index(list, AF_INET6);
	if (found) {
		fill(ret, ALGA_NETADDR_SOURCE_IPV6, found);
		r = 0;
	}

done:
	freeifaddrs(list);
	return r;
}
