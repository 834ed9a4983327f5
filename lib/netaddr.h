/* SPDX-License-Identifier: AGPL-3.0-or-later */
#pragma once

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>

#include "macro.h"

/*
 * The one host address the suite shows (host.md §4.3.4, resolutions.md D6):
 * banner, status URL, setup defaults and the agent's ip-addresses.txt.
 */

/* room for "[" IPv6 "]" and the NUL */
#define ALGA_NETADDR_STRING_MAX (INET6_ADDRSTRLEN + 2)

/* how the address was found */
enum alga_netaddr_source {
	ALGA_NETADDR_SOURCE_DEFAULT_ROUTE, /* source of the route to 1.1.1.1 */
	ALGA_NETADDR_SOURCE_INTERFACE,     /* first eligible interface, IPv4 */
	ALGA_NETADDR_SOURCE_IPV6,          /* first eligible interface, global IPv6 */
	_ALGA_NETADDR_SOURCE_MAX,
};

struct alga_netaddr {
	enum alga_netaddr_source source;
	int family;                            /* AF_INET or AF_INET6 */
	char ifname[IF_NAMESIZE];
	char address[ALGA_NETADDR_STRING_MAX]; /* IPv6 in brackets */
};

/*
 * Picks the address: (1) the source address a UDP connect() to 1.1.1.1:53
 * would use (nothing is sent), unless its interface or address is excluded;
 * (2) the first UP and RUNNING non-loopback interface by ifindex, not a
 * container or VPN one, with a global IPv4 outside 169.254/16, 10.42/16
 * and 10.43/16; (3) the first global IPv6 of such an interface. -ENOENT
 * when there is none ("no network address"), other -errno from
 * getifaddrs().
 */
int alga_netaddr_pick(struct alga_netaddr *ret);

/* true for cni*, flannel*, veth*, docker*, br-*, virbr*, kube*, cali*, vxlan*, tun*, tap* */
bool alga_netaddr_ifname_is_excluded(const char *ifname);

/* true for an IPv4 address step 2 may show (not loopback, link-local or k3s's ranges) */
bool alga_netaddr_ipv4_is_eligible(const struct in_addr *a);

/* true for a global unicast IPv6 (not loopback, link-local, ULA fc00::/7 kept) */
bool alga_netaddr_ipv6_is_eligible(const struct in6_addr *a);

const char *alga_netaddr_source_to_string(enum alga_netaddr_source s);
