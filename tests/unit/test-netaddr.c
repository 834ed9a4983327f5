/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netaddr.h"

static void test_ifname_excluded(void)
{
	static const char *const yes[] = { "cni0", "flannel.1", "veth1234", "docker0", "br-abc",
					   "virbr0", "kube-ipvs0", "cali123", "vxlan.calico",
					   "tun0", "tap0" };
	static const char *const no[] = { "eth0", "enp1s0", "wlan0", "ens3", "bond0", "br0" };

	for (size_t i = 0; i < ELEMENTSOF(yes); i++)
		g_assert_true(alga_netaddr_ifname_is_excluded(yes[i]));
	for (size_t i = 0; i < ELEMENTSOF(no); i++)
		g_assert_false(alga_netaddr_ifname_is_excluded(no[i]));
}

static void test_ipv4_eligible(void)
{
	static const struct {
		const char *a;
		bool ok;
	} cases[] = {
		{ "192.0.2.10", true }, { "10.0.0.5", true },   { "10.41.255.1", true },
		{ "10.44.0.1", true },  { "10.42.0.1", false }, { "10.43.0.10", false },
		{ "169.254.1.1", false }, { "127.0.0.1", false }, { "0.0.0.0", false },
		{ "224.0.0.1", false }, { "255.255.255.255", false },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct in_addr a;

		g_assert_cmpint(inet_pton(AF_INET, cases[i].a, &a), ==, 1);
		g_assert_cmpint(alga_netaddr_ipv4_is_eligible(&a), ==, cases[i].ok);
	}
}

static void test_ipv6_eligible(void)
{
	static const struct {
		const char *a;
		bool ok;
	} cases[] = {
		{ "2001:db8::10", true }, { "fd00::1", true }, { "fe80::1", false },
		{ "::1", false },         { "::", false },     { "ff02::1", false },
		{ "::ffff:192.0.2.1", false },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct in6_addr a;

		g_assert_cmpint(inet_pton(AF_INET6, cases[i].a, &a), ==, 1);
		g_assert_cmpint(alga_netaddr_ipv6_is_eligible(&a), ==, cases[i].ok);
	}
}

static void test_source_to_string(void)
{
	g_assert_cmpstr(alga_netaddr_source_to_string(ALGA_NETADDR_SOURCE_DEFAULT_ROUTE), ==,
			"default-route");
	g_assert_null(alga_netaddr_source_to_string(_ALGA_NETADDR_SOURCE_MAX));
}

/*
 * host.md test 25 in a private network namespace: veth pairs stand in for
 * interfaces (dummy needs a module that may be absent); cni0 first, so its
 * ifindex is lower.
 */
static const char *const setup_common =
	"ip link set lo up && "
	"ip link add cni0 type veth peer name cnipeer && ip link set cni0 up && "
	"ip link set cnipeer up && ip addr add 10.42.0.1/24 dev cni0";

static int netns_case(const char *script, char *out, size_t size)
{
	int pfd[2];
	pid_t pid;
	int status;
	ssize_t n;

	if (pipe(pfd) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		struct alga_netaddr a;
		char buf[128];
		int flags = CLONE_NEWNET | (geteuid() == 0 ? 0 : CLONE_NEWUSER);

		close(pfd[0]);
		if (unshare(flags) < 0)
			_exit(77);
		if (system(script) != 0)
			_exit(78);
		if (alga_netaddr_pick(&a) < 0)
			snprintf(buf, sizeof(buf), "none");
		else
			snprintf(buf, sizeof(buf), "%s %s %s", a.address, a.ifname,
				 alga_netaddr_source_to_string(a.source));
		(void)!write(pfd[1], buf, strlen(buf));
		_exit(0);
	}
	close(pfd[1]);
	n = read(pfd[0], out, size - 1);
	close(pfd[0]);
	out[n > 0 ? n : 0] = '\0';
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -ECHILD;
	return WEXITSTATUS(status);
}

static void test_pick_netns(void)
{
	static const struct {
		const char *extra;
		const char *want;
	} cases[] = {
		{ "ip link add eth0 type veth peer name ethpeer && ip link set eth0 up && "
		  "ip link set ethpeer up && ip addr add 192.0.2.10/24 dev eth0 && "
		  "ip route add default via 192.0.2.1 dev eth0",
		  "192.0.2.10 eth0 default-route" },
		{ "ip link add eth0 type veth peer name ethpeer && ip link set eth0 up && "
		  "ip link set ethpeer up && ip addr add 192.0.2.10/24 dev eth0",
		  "192.0.2.10 eth0 interface" },
		{ "ip link add eth0 type veth peer name ethpeer && ip link set eth0 up && "
		  "ip link set ethpeer up && ip -6 addr add 2001:db8::10/64 dev eth0 nodad",
		  "[2001:db8::10] eth0 ipv6" },
		{ "true", "none" },
	};

	if (system("command -v ip >/dev/null 2>&1") != 0) {
		g_test_skip("ip (iproute2) is absent");
		return;
	}

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		g_autofree char *script = g_strdup_printf("(%s && %s) >/dev/null 2>&1", setup_common,
							  cases[i].extra);
		char out[128];
		int r;

		r = netns_case(script, out, sizeof(out));
		if (r == 77) {
			g_test_skip("unshare(CLONE_NEWNET) is not permitted here");
			return;
		}
		if (r == 78) {
			g_test_skip("cannot create veth interfaces in the namespace");
			return;
		}
		g_assert_cmpint(r, ==, 0);
		g_assert_cmpstr(out, ==, cases[i].want);
	}
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/netaddr/ifname_is_excluded/table", test_ifname_excluded);
	g_test_add_func("/netaddr/ipv4_is_eligible/table", test_ipv4_eligible);
	g_test_add_func("/netaddr/ipv6_is_eligible/table", test_ipv6_eligible);
	g_test_add_func("/netaddr/source_to_string/all", test_source_to_string);
	g_test_add_func("/netaddr/pick/netns", test_pick_netns);
	return g_test_run();
}
