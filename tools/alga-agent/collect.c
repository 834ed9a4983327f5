/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-journal.h>

#include "alga-config.h"
#include "bundle.h"
#include "collect.h"
#include "fsutil.h"
#include "json.h"
#include "log.h"
#include "netaddr.h"
#include "units.h"


/* our units, k3s and upstream's four names (host.md §4.4) */
static const char *const journal_units[] = {
	"alga-token.service",      "alga-bootstrap.service",     "alga-banner.service",
	"alga-setup.service",      "alga-setup-resume.service",  "alga-agent.service",
	"alga-kubeconfig.service", "k3s.service",                "alga-appliance.service",
	"alga-appliance-bootstrap.service", "alga-appliance-console.service",
	"alga-host-agent.service",
};

static uint64_t now_usec(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / NSEC_PER_USEC;
}

/* text helpers */

int collect_utf8_sanitize(const char *buf, size_t len, char **ret, size_t *ret_len)
{
	const unsigned char *s = (const unsigned char *)buf;
	char *out, *o;

	/* each bad byte becomes 3 bytes at most */
	out = malloc(len * 3 + 1);
	if (!out)
		return -ENOMEM;
	o = out;

	for (size_t i = 0; i < len;) {
		unsigned c = s[i];
		size_t n = 0;
		uint32_t cp = 0, min = 0;

		if (c < 0x80) {
			*o++ = (char)c;
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
			min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
			min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
			min = 0x10000;
		}
		bool good = n > 0 && i + n < len;

		for (size_t k = 1; good && k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				good = false;
			else
				cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (good && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)))
			good = false;
		if (good) {
			memcpy(o, s + i, n + 1);
			o += n + 1;
			i += n + 1;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	*o = '\0';
	*ret = out;
	*ret_len = (size_t)(o - out);
	return 0;
}

int collect_redact_new(const char *root, struct alga_redact **ret)
{
	/* the bundle writer's context: the same rules and known secrets */
	return alga_bundle_redact_new(root, NULL, NULL, ret);
}

static bool is_binary(const unsigned char *d, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((d[i] < 0x20 && d[i] != '\t' && d[i] != '\n') || d[i] == 0x7f)
			return true;
	return false;
}

int collect_format_message(const void *data, size_t len, char **ret)
{
	const char *s = data;
	size_t n = len;
	char *out;
	int r;

	if (is_binary(data, len)) {
		r = asprintf(&out, "[binary %zu bytes]", len);
		if (r < 0)
			return -ENOMEM;
		*ret = out;
		return 0;
	}

	if (n > COLLECT_MESSAGE_MAX) {
		n = COLLECT_MESSAGE_MAX;
		/* not inside a UTF-8 sequence */
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		r = asprintf(&out, "%.*s [cut at %zu of %zu bytes]", (int)n, s, n, len);
	} else
		r = asprintf(&out, "%.*s", (int)n, s);
	if (r < 0)
		return -ENOMEM;
	*ret = out;
	return 0;
}

/* the journal */

static int journal_field(sd_journal *j, const char *field, char *buf, size_t size)
{
	const void *d;
	size_t l, fl = strlen(field) + 1;
	int r;

	buf[0] = '\0';
	r = sd_journal_get_data(j, field, &d, &l);
	if (r < 0)
		return r;
	if (l < fl)
		return -EBADMSG;
	snprintf(buf, size, "%.*s", (int)MIN(l - fl, size - 1), (const char *)d + fl);
	/* one line */
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return 0;
}

static int journal_entry_line(sd_journal *j, char **ret)
{
	char host[256], ident[256], pid[32], ts[64];
	_cleanup_free_ char *msg = NULL, *indented = NULL;
	const void *d;
	size_t l;
	uint64_t usec;
	time_t t;
	struct tm tm;
	int r;

	r = sd_journal_get_realtime_usec(j, &usec);
	if (r < 0)
		return r;
	t = (time_t)(usec / USEC_PER_SEC);
	gmtime_r(&t, &tm);
	/* journalctl -o short-iso, in UTC so that bundles compare across hosts */
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S+00:00", &tm);

	(void)journal_field(j, "_HOSTNAME", host, sizeof(host));
	if (journal_field(j, "SYSLOG_IDENTIFIER", ident, sizeof(ident)) < 0)
		(void)journal_field(j, "_COMM", ident, sizeof(ident));
	if (journal_field(j, "_PID", pid, sizeof(pid)) < 0)
		(void)journal_field(j, "SYSLOG_PID", pid, sizeof(pid));

	r = sd_journal_get_data(j, "MESSAGE", &d, &l);
	if (r >= 0 && l >= 8)
		r = collect_format_message((const char *)d + 8, l - 8, &msg);
	else
		r = collect_format_message("", 0, &msg);
	if (r < 0)
		return r;

	/* continuation lines indented, as journalctl does */
	{
		size_t extra = 0;
		char *o;

		for (const char *p = msg; *p; p++)
			extra += *p == '\n';
		indented = malloc(strlen(msg) + extra * 4 + 1);
		if (!indented)
			return -ENOMEM;
		o = indented;
		for (const char *p = msg; *p; p++) {
			*o++ = *p;
			if (*p == '\n') {
				memcpy(o, "    ", 4);
				o += 4;
			}
		}
		*o = '\0';
	}

	if (!pid[0])
		r = asprintf(ret, "%s %s %s: %s\n", ts, !host[0] ? "localhost" : host,
			     !ident[0] ? "unknown" : ident, indented);
	else
		r = asprintf(ret, "%s %s %s[%s]: %s\n", ts, !host[0] ? "localhost" : host,
			     !ident[0] ? "unknown" : ident, pid, indented);
	return r < 0 ? -ENOMEM : 0;
}

static int journal_add_matches(sd_journal *j, const char *field)
{
	char m[128];
	int r;

	for (size_t i = 0; i < ELEMENTSOF(journal_units); i++) {
		snprintf(m, sizeof(m), "%s=%s", field, journal_units[i]);
		r = sd_journal_add_match(j, m, 0);
		if (r < 0)
			return r;
	}
	return 0;
}

static int collect_journal(const struct collect_options *o, FILE *out)
{
	_cleanup_(sd_journal_closep) sd_journal *j = NULL;
	uint64_t deadline = now_usec(CLOCK_MONOTONIC) + COLLECT_JOURNAL_USEC;
	unsigned max = o->journal_lines ?: COLLECT_JOURNAL_LINES, n = 0;
	char **lines;
	int r, status = COLLECT_STATUS_OK;

	if (o->journal_dir)
		r = sd_journal_open_directory(&j, o->journal_dir, 0);
	else
		r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
	if (r < 0) {
		fprintf(out, "Failed to open the journal: %s\n", strerror(-r));
		return COLLECT_STATUS_ERROR;
	}

	if ((r = journal_add_matches(j, "_SYSTEMD_UNIT")) < 0 ||
	    (r = sd_journal_add_disjunction(j)) < 0 || (r = journal_add_matches(j, "UNIT")) < 0 ||
	    (r = sd_journal_seek_tail(j)) < 0) {
		fprintf(out, "Failed to set up the journal query: %s\n", strerror(-r));
		return COLLECT_STATUS_ERROR;
	}

	lines = calloc(max, sizeof(char *));
	if (!lines)
		return -ENOMEM;

	/* newest first from the tail, printed oldest first */
	while (n < max) {
		r = sd_journal_previous(j);
		if (r < 0) {
			fprintf(out, "Failed to read the journal: %s\n", strerror(-r));
			status = COLLECT_STATUS_ERROR;
			break;
		}
		if (r == 0)
			break;
		if (now_usec(CLOCK_MONOTONIC) > deadline) {
			status = COLLECT_STATUS_TIMEOUT;
			break;
		}
		r = journal_entry_line(j, &lines[n]);
		if (r == -ENOMEM)
			break;
		if (r < 0)
			continue;
		n++;
	}

	for (unsigned i = n; i > 0; i--) {
		fputs(lines[i - 1], out);
		free(lines[i - 1]);
	}
	free(lines);
	if (r == -ENOMEM)
		return -ENOMEM;
	if (status == COLLECT_STATUS_TIMEOUT)
		fprintf(out, "[journal read stopped after %" PRIu64 " ms]\n",
			COLLECT_JOURNAL_USEC / USEC_PER_MSEC);
	if (n == 0 && status == COLLECT_STATUS_OK)
		fprintf(out, "No journal entries for the appliance units.\n");
	return status;
}

/* units over sd-bus */

static int collect_unit(const char *unit, FILE *out)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(alga_unit_info_freep) struct alga_unit_info *info = NULL;
	_cleanup_free_ char *text = NULL;
	int r;

	r = sd_bus_open_system(&bus);
	if (r < 0) {
		fprintf(out, "Unit=%s\nError=Failed to connect to the system bus: %s\n", unit,
			strerror(-r));
		return COLLECT_STATUS_ERROR;
	}
	/* the three units share COLLECT_BUS_USEC; each call gets a third at most */
	(void)sd_bus_set_method_call_timeout(bus, COLLECT_BUS_USEC / 3 / 8);

	r = alga_units_get_info(bus, unit, &info);
	if (r < 0) {
		fprintf(out, "Unit=%s\nError=Failed to read the unit's properties: %s\n", unit,
			strerror(-r));
		return r == -ETIMEDOUT ? COLLECT_STATUS_TIMEOUT : COLLECT_STATUS_ERROR;
	}
	r = alga_unit_info_format(info, &text);
	if (r < 0)
		return r;
	fputs(text, out);
	return COLLECT_STATUS_OK;
}

static int collect_k3s(const struct collect_options *o, FILE *out)
{
	return collect_unit("k3s.service", out);
}

static int collect_bootstrap(const struct collect_options *o, FILE *out)
{
	return collect_unit("alga-bootstrap.service", out);
}

static int collect_console(const struct collect_options *o, FILE *out)
{
	return collect_unit("alga-banner.service", out);
}

/* disks */

static void unescape_mount(char *s)
{
	char *o = s;

	for (char *p = s; *p;) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*o++ = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
			p += 4;
		} else
			*o++ = *p++;
	}
	*o = '\0';
}

static int collect_disks(const struct collect_options *o, FILE *out)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	unsigned n = 0;

	/* the process's own mount table: --root does not re-root it (resolutions.md gap 4) */
	f = fopen("/proc/self/mountinfo", "re");
	if (!f) {
		fprintf(out, "Failed to open /proc/self/mountinfo: %m\n");
		return COLLECT_STATUS_ERROR;
	}

	fprintf(out, "%-32s %-10s %12s %12s %12s %5s %10s %10s %s\n", "mountpoint", "type",
		"size", "used", "avail", "use%", "inodes", "iused", "source");
	while (getline(&line, &cap, f) > 0 && n < COLLECT_MOUNTS_MAX) {
		char mnt[4096], type[64], source[1024];
		struct statvfs sv;
		const char *sep;
		uint64_t size, avail, used, pct;

		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		sep = strstr(line, " - ");
		if (!sep || sscanf(sep + 3, "%63s %1023s", type, source) != 2)
			continue;
		unescape_mount(mnt);
		unescape_mount(source);
		if (statvfs(mnt, &sv) < 0 || sv.f_blocks == 0)
			continue;

		size = (uint64_t)sv.f_blocks * sv.f_frsize;
		avail = (uint64_t)sv.f_bavail * sv.f_frsize;
		used = (uint64_t)(sv.f_blocks - sv.f_bfree) * sv.f_frsize;
		pct = used + avail > 0 ? (used * 100 + (used + avail) - 1) / (used + avail) : 0;
		fprintf(out, "%-32s %-10s %12" PRIu64 " %12" PRIu64 " %12" PRIu64 " %4" PRIu64 "%% %10" PRIu64
			" %10" PRIu64 " %s%s\n",
			mnt, type, size, used, avail, pct, (uint64_t)sv.f_files,
			(uint64_t)(sv.f_files - sv.f_ffree), source, pct >= 90 ? "  [>= 90% used]" : "");
		n++;
	}
	return COLLECT_STATUS_OK;
}

/* addresses */

static unsigned prefix_len(const struct sockaddr *mask)
{
	const unsigned char *b;
	size_t n;
	unsigned bits = 0;

	if (!mask)
		return 0;
	if (mask->sa_family == AF_INET) {
		b = (const unsigned char *)&((const struct sockaddr_in *)mask)->sin_addr;
		n = 4;
	} else if (mask->sa_family == AF_INET6) {
		b = (const unsigned char *)&((const struct sockaddr_in6 *)mask)->sin6_addr;
		n = 16;
	} else
		return 0;
	for (size_t i = 0; i < n; i++)
		bits += (unsigned)__builtin_popcount(b[i]);
	return bits;
}

static void print_flags(FILE *out, unsigned flags)
{
	static const struct {
		unsigned flag;
		const char *name;
	} names[] = {
		{ IFF_UP, "UP" },         { IFF_BROADCAST, "BROADCAST" }, { IFF_LOOPBACK, "LOOPBACK" },
		{ IFF_POINTOPOINT, "POINTOPOINT" }, { IFF_RUNNING, "RUNNING" },
		{ IFF_NOARP, "NOARP" },   { IFF_PROMISC, "PROMISC" },     { IFF_MULTICAST, "MULTICAST" },
	};
	bool first = true;

	fputc('<', out);
	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (flags & names[i].flag) {
			fprintf(out, "%s%s", first ? "" : ",", names[i].name);
			first = false;
		}
	fputc('>', out);
}

static int collect_addresses(const struct collect_options *o, FILE *out)
{
	struct ifaddrs *list = NULL;
	struct alga_netaddr pick;
	int fd, r;

	if (getifaddrs(&list) < 0) {
		fprintf(out, "Failed to list interfaces: %m\n");
		return COLLECT_STATUS_ERROR;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	/* AF_PACKET entries come first, one per interface */
	for (struct ifaddrs *i = list; i; i = i->ifa_next) {
		struct ifreq ifr = {};
		int mtu = -1;

		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_PACKET)
			continue;
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", i->ifa_name);
		if (fd >= 0 && ioctl(fd, SIOCGIFMTU, &ifr) == 0)
			mtu = ifr.ifr_mtu;

		fprintf(out, "%u: %s: ", if_nametoindex(i->ifa_name), i->ifa_name);
		print_flags(out, i->ifa_flags);
		fprintf(out, " mtu %d\n", mtu);

		const struct sockaddr_ll *ll = (const struct sockaddr_ll *)i->ifa_addr;
		if (ll->sll_halen == 6)
			fprintf(out, "    link/ether %02x:%02x:%02x:%02x:%02x:%02x\n", ll->sll_addr[0],
				ll->sll_addr[1], ll->sll_addr[2], ll->sll_addr[3], ll->sll_addr[4],
				ll->sll_addr[5]);

		for (struct ifaddrs *a = list; a; a = a->ifa_next) {
			char buf[INET6_ADDRSTRLEN];
			const void *addr;

			if (!a->ifa_addr || !streq(a->ifa_name, i->ifa_name))
				continue;
			if (a->ifa_addr->sa_family == AF_INET)
				addr = &((const struct sockaddr_in *)a->ifa_addr)->sin_addr;
			else if (a->ifa_addr->sa_family == AF_INET6)
				addr = &((const struct sockaddr_in6 *)a->ifa_addr)->sin6_addr;
			else
				continue;
			inet_ntop(a->ifa_addr->sa_family, addr, buf, sizeof(buf));
			fprintf(out, "    %s %s/%u\n", a->ifa_addr->sa_family == AF_INET ? "inet" : "inet6",
				buf, prefix_len(a->ifa_netmask));
		}
	}
	safe_close(fd);
	freeifaddrs(list);

	r = alga_netaddr_pick(&pick);
	if (r < 0)
		fprintf(out, "\nshown address: no network address\n");
	else
		fprintf(out, "\nshown address: %s (%s, %s)\n", pick.address, pick.ifname,
			alga_netaddr_source_to_string(pick.source));
	return COLLECT_STATUS_OK;
}

/* routes over rtnetlink */

static void print_route(FILE *out, struct nlmsghdr *h)
{
	struct rtmsg *rt = NLMSG_DATA(h);
	int len = (int)RTM_PAYLOAD(h);
	char dst[INET6_ADDRSTRLEN] = "", gw[INET6_ADDRSTRLEN] = "", src[INET6_ADDRSTRLEN] = "";
	char dev[IF_NAMESIZE] = "";
	uint32_t table = rt->rtm_table, metric = 0;
	bool has_metric = false;

	for (struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		switch (a->rta_type) {
		case RTA_DST:
			inet_ntop(rt->rtm_family, RTA_DATA(a), dst, sizeof(dst));
			break;
		case RTA_GATEWAY:
			inet_ntop(rt->rtm_family, RTA_DATA(a), gw, sizeof(gw));
			break;
		case RTA_PREFSRC:
			inet_ntop(rt->rtm_family, RTA_DATA(a), src, sizeof(src));
			break;
		case RTA_OIF:
			if (!if_indextoname(*(uint32_t *)RTA_DATA(a), dev))
				snprintf(dev, sizeof(dev), "if%" PRIu32, *(uint32_t *)RTA_DATA(a));
			break;
		case RTA_PRIORITY:
			metric = *(uint32_t *)RTA_DATA(a);
			has_metric = true;
			break;
		case RTA_TABLE:
			table = *(uint32_t *)RTA_DATA(a);
			break;
		default:
			break;
		}
	}
	/* the local table is every address again; ip route leaves it out too */
	if (table == RT_TABLE_LOCAL)
		return;

	fprintf(out, "%s", rt->rtm_family == AF_INET6 ? "inet6 " : "");
	if (rt->rtm_type == RTN_BLACKHOLE)
		fprintf(out, "blackhole ");
	else if (rt->rtm_type == RTN_UNREACHABLE)
		fprintf(out, "unreachable ");
	if (!dst[0] && rt->rtm_dst_len == 0)
		fprintf(out, "default");
	else
		fprintf(out, "%s/%u", dst, rt->rtm_dst_len);
	if (!!gw[0])
		fprintf(out, " via %s", gw);
	if (!!dev[0])
		fprintf(out, " dev %s", dev);
	fprintf(out, " proto %u", rt->rtm_protocol);
	if (!!src[0])
		fprintf(out, " src %s", src);
	if (has_metric)
		fprintf(out, " metric %" PRIu32, metric);
	if (table != RT_TABLE_MAIN)
		fprintf(out, " table %" PRIu32, table);
	fputc('\n', out);
}

static int dump_routes(int family, FILE *out, unsigned *n)
{
	_cleanup_close_ int fd = -EBADF;
	struct {
		struct nlmsghdr h;
		struct rtmsg rt;
	} req = {
		.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)),
		.h.nlmsg_type = RTM_GETROUTE,
		.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		.h.nlmsg_seq = 1,
		.rt.rtm_family = (unsigned char)family,
	};
	struct timeval tv = { .tv_sec = 2 };
	_cleanup_free_ char *buf = NULL;
	const size_t bufsize = 32768;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return negative_errno();
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, &req, req.h.nlmsg_len, 0) < 0)
		return negative_errno();

	buf = malloc(bufsize);
	if (!buf)
		return -ENOMEM;

	for (;;) {
		ssize_t len = recv(fd, buf, bufsize, 0);

		if (len < 0)
			return negative_errno();
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
		     h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				return e->error < 0 ? e->error : -EPROTO;
			}
			if (h->nlmsg_type != RTM_NEWROUTE)
				continue;
			if (++*n > COLLECT_ROUTES_MAX)
				return -E2BIG;
			print_route(out, h);
		}
	}
}

static int collect_routes(const struct collect_options *o, FILE *out)
{
	unsigned n = 0;
	int r, status = COLLECT_STATUS_OK;

	r = dump_routes(AF_INET, out, &n);
	if (r < 0) {
		fprintf(out, "Failed to dump IPv4 routes: %s\n", strerror(-r));
		status = COLLECT_STATUS_ERROR;
	}
	r = dump_routes(AF_INET6, out, &n);
	if (r < 0) {
		fprintf(out, "Failed to dump IPv6 routes: %s\n", strerror(-r));
		status = COLLECT_STATUS_ERROR;
	}
	if (n == 0 && status == COLLECT_STATUS_OK)
		fprintf(out, "No routes.\n");
	return status;
}

/* resolver */

/* resolv.conf is usually a symlink into /run: follow it, unlike alga_fs_read_file() */
static int read_path(const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -EBADF;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return negative_errno();
	return alga_fs_read_fd(fd, max, ret, ret_len);
}

static int collect_resolv(const struct collect_options *o, FILE *out)
{
	_cleanup_free_ char *path = NULL, *buf = NULL, *upstream = NULL, *upath = NULL;
	size_t len = 0, ulen = 0;
	int r;

	path = alga_fs_path_join(o->root, "/etc/resolv.conf");
	if (!path)
		return -ENOMEM;
	r = read_path(path, COLLECT_RESOLV_MAX, &buf, &len);
	if (r == -E2BIG) {
		fprintf(out, "%s is larger than %u bytes\n", path, COLLECT_RESOLV_MAX);
		return COLLECT_STATUS_ERROR;
	}
	if (r < 0) {
		fprintf(out, "Failed to read %s: %s\n", path, strerror(-r));
		return COLLECT_STATUS_ERROR;
	}
	fprintf(out, "# %s\n%.*s", path, (int)len, buf);
	if (len > 0 && buf[len - 1] != '\n')
		fputc('\n', out);

	if (!strstr(buf, "nameserver 127.0.0.53")) {
		fprintf(out, "\n# not systemd-resolved's stub\n");
		return COLLECT_STATUS_OK;
	}

	/* the stub hides the real servers; resolved lists them here */
	upath = alga_fs_path_join(o->root, "/run/systemd/resolve/resolv.conf");
	if (!upath)
		return -ENOMEM;
	fprintf(out, "\n# systemd-resolved stub; upstream servers from %s\n", upath);
	r = read_path(upath, COLLECT_RESOLV_MAX, &upstream, &ulen);
	if (r < 0) {
		fprintf(out, "Failed to read %s: %s\n", upath, strerror(-r));
		return COLLECT_STATUS_OK;
	}
	for (char *l = strtok(upstream, "\n"); l; l = strtok(NULL, "\n"))
		if (str_has_prefix(l, "nameserver") || str_has_prefix(l, "search"))
			fprintf(out, "%s\n", l);
	return COLLECT_STATUS_OK;
}

static int collect_dns(const struct collect_options *o, FILE *out)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct gaicb *cb;
	struct gaicb *list[1];
	uint64_t start = now_usec(CLOCK_MONOTONIC), ms;
	struct timespec ts = { .tv_sec = COLLECT_DNS_USEC / USEC_PER_SEC };
	struct sigevent sev = { .sigev_notify = SIGEV_NONE };
	int r;

	/* alga-bundle --no-network-checks */
	if (!o->registry) {
		fputs("skipped: network checks are off (--no-network-checks)\n", out);
		return COLLECT_STATUS_OK;
	}

	/* heap, and leaked when a timed-out lookup cannot be cancelled:
	 * glibc's thread still writes to it */
	cb = calloc(1, sizeof(*cb) + sizeof(hints));
	if (!cb)
		return -ENOMEM;
	memcpy(cb + 1, &hints, sizeof(hints));
	cb->ar_name = o->registry;
	cb->ar_request = (struct addrinfo *)(cb + 1);
	list[0] = cb;

	fprintf(out, "lookup: %s (getaddrinfo, deadline %" PRIu64 " ms)\n", o->registry,
		COLLECT_DNS_USEC / USEC_PER_MSEC);
	r = getaddrinfo_a(GAI_NOWAIT, list, 1, &sev);
	if (r != 0) {
		fprintf(out, "error: %s\n", gai_strerror(r));
		free(cb);
		return COLLECT_STATUS_ERROR;
	}

	for (;;) {
		uint64_t el = now_usec(CLOCK_MONOTONIC) - start;
		const struct gaicb *const *cl = (const struct gaicb *const *)list;

		if (gai_error(cb) != EAI_INPROGRESS)
			break;
		if (el >= COLLECT_DNS_USEC)
			break;
		ts.tv_sec = (time_t)((COLLECT_DNS_USEC - el) / USEC_PER_SEC);
		ts.tv_nsec = (long)(((COLLECT_DNS_USEC - el) % USEC_PER_SEC) * NSEC_PER_USEC);
		(void)gai_suspend(cl, 1, &ts);
	}
	ms = (now_usec(CLOCK_MONOTONIC) - start) / USEC_PER_MSEC;

	r = gai_error(cb);
	if (r == EAI_INPROGRESS) {
		fprintf(out, "result: timed out after %" PRIu64 " ms\n", ms);
		if (gai_cancel(cb) == EAI_CANCELED)
			free(cb);
		return COLLECT_STATUS_TIMEOUT;
	}
	if (r != 0) {
		fprintf(out, "result: %s (%" PRIu64 " ms)\n", gai_strerror(r), ms);
		free(cb);
		return COLLECT_STATUS_ERROR;
	}

	fprintf(out, "result: ok (%" PRIu64 " ms)\n", ms);
	for (struct addrinfo *a = cb->ar_result; a; a = a->ai_next) {
		char buf[INET6_ADDRSTRLEN];
		const void *addr = a->ai_family == AF_INET
					   ? (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr
					   : (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr;

		inet_ntop(a->ai_family, addr, buf, sizeof(buf));
		fprintf(out, "address: %s\n", buf);
	}
	freeaddrinfo(cb->ar_result);
	free(cb);
	return COLLECT_STATUS_OK;
}

static size_t discard_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	size_t *total = userdata;

	*total += size * nmemb;
	return *total > 65536 ? 0 : size * nmemb;
}

static int collect_https(const struct collect_options *o, FILE *out)
{
	_cleanup_free_ char *url = NULL;
	CURL *c;
	CURLcode cc;
	long code = 0, verify = 0;
	double dns = 0, conn = 0, tls = 0, total = 0;
	size_t body = 0;
	const char *proxy;
	int status;

	if (!o->registry) {
		fputs("skipped: network checks are off (--no-network-checks)\n", out);
		return COLLECT_STATUS_OK;
	}
	if (asprintf(&url, "https://%s/v2/", o->registry) < 0)
		return -ENOMEM;
	c = curl_easy_init();
	if (!c)
		return -ENOMEM;

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(COLLECT_HTTPS_USEC / USEC_PER_MSEC));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "alga-agent/" ALGA_VERSION);

	proxy = getenv("https_proxy") ?: getenv("HTTPS_PROXY");
	fprintf(out, "request: GET %s (deadline %" PRIu64 " ms)\nproxy: %s\n", url,
		COLLECT_HTTPS_USEC / USEC_PER_MSEC, isempty(proxy) ? "none" : "from environment");

	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(c, CURLINFO_SSL_VERIFYRESULT, &verify);
	curl_easy_getinfo(c, CURLINFO_NAMELOOKUP_TIME, &dns);
	curl_easy_getinfo(c, CURLINFO_CONNECT_TIME, &conn);
	curl_easy_getinfo(c, CURLINFO_APPCONNECT_TIME, &tls);
	curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &total);
	curl_easy_cleanup(c);

	if (cc == CURLE_OPERATION_TIMEDOUT)
		status = COLLECT_STATUS_TIMEOUT;
	else if (cc != CURLE_OK && cc != CURLE_WRITE_ERROR)
		status = COLLECT_STATUS_ERROR;
	else
		status = COLLECT_STATUS_OK;

	fprintf(out, "result: %s\nhttp_status: %ld%s\ntls_verify: %s\n",
		cc == CURLE_WRITE_ERROR ? "ok" : curl_easy_strerror(cc), code,
		code == 401 ? " (reachable: the registry asks for a token)" : "",
		code == 0 ? "n/a" : verify == 0 ? "ok" : "failed");
	fprintf(out, "time_namelookup_ms: %.0f\ntime_connect_ms: %.0f\ntime_tls_ms: %.0f\n"
		     "time_total_ms: %.0f\n",
		dns * 1000, conn * 1000, tls * 1000, total * 1000);
	return status;
}

/* the files */

struct collector {
	const char *path;
	const char *source;
	int (*collect)(const struct collect_options *o, FILE *out);
};

static const struct collector collectors[] = {
	{ "host/appliance-journal.txt", "sd-journal", collect_journal },
	{ "host/k3s-service-status.txt", "sd-bus", collect_k3s },
	{ "host/appliance-bootstrap-status.txt", "sd-bus", collect_bootstrap },
	{ "host/appliance-console-status.txt", "sd-bus", collect_console },
	{ "host/disk-usage.txt", "mountinfo+statvfs", collect_disks },
	{ "host/ip-addresses.txt", "getifaddrs", collect_addresses },
	{ "host/routes.txt", "rtnetlink", collect_routes },
	{ "host/resolv-conf.txt", "resolv.conf", collect_resolv },
	{ "host/dns-lookup-ghcr.txt", "getaddrinfo", collect_dns },
	{ "host/https-ghcr.txt", "libcurl", collect_https },
};

static int run_collector(const struct collector *c, const struct collect_options *o,
			 struct alga_redact *redact, size_t budget, struct json_object **ret,
			 size_t *ret_len)
{
	_cleanup_(json_object_putp) struct json_object *f = NULL;
	_cleanup_free_ char *raw = NULL, *red = NULL, *clean = NULL;
	size_t rawlen = 0, redlen, cleanlen, cap;
	bool truncated = false;
	FILE *out;
	int status;

	out = open_memstream(&raw, &rawlen);
	if (!out)
		return -ENOMEM;
	status = c->collect(o, out);
	if (fclose(out) != 0 || !raw)
		return -ENOMEM;
	if (status < 0)
		return status;

	if (alga_redact_string(redact, raw, rawlen, &red, &redlen) < 0 ||
	    collect_utf8_sanitize(red, redlen, &clean, &cleanlen) < 0)
		return -ENOMEM;

	cap = MIN((size_t)COLLECT_FILE_MAX, budget);
	if (cleanlen > cap) {
		cleanlen = cap;
		while (cleanlen > 0 && ((unsigned char)clean[cleanlen] & 0xc0) == 0x80)
			cleanlen--;
		truncated = true;
	}

	f = json_object_new_object();
	if (!f)
		return -ENOMEM;
	if (alga_json_add(f, "path", json_object_new_string(c->path)) < 0 ||
	    alga_json_add(f, "ok", json_object_new_boolean(status == COLLECT_STATUS_OK)) < 0 ||
	    alga_json_add(f, "status", json_object_new_int(status)) < 0 ||
	    alga_json_add(f, "content", json_object_new_string_len(clean, (int)cleanlen)) < 0 ||
	    alga_json_add(f, "truncated", json_object_new_boolean(truncated)) < 0 ||
	    alga_json_add(f, "source", json_object_new_string(c->source)) < 0)
		return -ENOMEM;

	*ret = TAKE_PTR(f);
	*ret_len = cleanlen;
	return 0;
}

int collect_support_bundle(const struct collect_options *o, struct json_object **ret)
{
	_cleanup_(json_object_putp) struct json_object *doc = NULL, *files = NULL;
	_cleanup_(alga_redact_freep) struct alga_redact *redact = NULL;
	size_t budget = COLLECT_RESPONSE_MAX - 4096;
	char ts[64];
	uint64_t usec = now_usec(CLOCK_REALTIME);
	time_t t = (time_t)(usec / USEC_PER_SEC);
	struct tm tm;
	int r;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + strlen(ts), sizeof(ts) - strlen(ts), ".%03uZ",
		 (unsigned)((usec % USEC_PER_SEC) / USEC_PER_MSEC));

	r = collect_redact_new(o->root, &redact);
	if (r < 0)
		return r;

	files = json_object_new_array();
	if (!files)
		return -ENOMEM;
	for (size_t i = 0; i < ELEMENTSOF(collectors); i++) {
		struct json_object *f = NULL;
		size_t len = 0;

		/* read once, not twice: up to 1 MiB held here besides lib/bundle's stream */
		if (o->skip_journal && collectors[i].collect == collect_journal)
			continue;
		r = run_collector(&collectors[i], o, redact, budget, &f, &len);
		if (r < 0)
			return r;
		/* JSON escaping may grow the text; the 4 MiB cap is kept with room to spare */
		budget = budget > len * 2 ? budget - len * 2 : 0;
		r = alga_json_append(files, f);
		if (r < 0)
			return r;
	}

	doc = json_object_new_object();
	if (!doc)
		return -ENOMEM;
	if (alga_json_add(doc, "ok", json_object_new_boolean(true)) < 0 ||
	    alga_json_add(doc, "generatedAt", json_object_new_string(ts)) < 0 ||
	    alga_json_add(doc, "agent", json_object_new_string("alga-host-agent")) < 0)
		return -ENOMEM;
	r = alga_json_add(doc, "files", TAKE_PTR(files));
	if (r < 0)
		return r;

	*ret = TAKE_PTR(doc);
	return 0;
}
