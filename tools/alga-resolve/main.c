/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * alga-resolve: from a channel or a pin to a verified, validated release
 * manifest (release.md §4.3, §4.5), with the last good copy cached under
 * /var/lib/alga/releases/ (resolutions.md A8). Upstream always exited 0, so
 * an outage read as "nothing pinned" (D10); here every failure has its own
 * exit class.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "fsutil.h"
#include "json.h"
#include "log.h"
#include "release-resolve.h"
#include "tool.h"

#define CONFIG_PATH "/etc/alga/release.conf"
#define STATE_DIR "/var/lib/alga"
#define CACHE_SUBDIR "releases"
#define CONFIG_SIZE_MAX (64u * 1024u)
#define EXIT_STALE 10
#define RESOLVE_DEADLINE_SEC 90u

static const char *arg_channel;
static const char *arg_ref;
static const char *arg_registry;
static const char *arg_repository;
static const char *arg_ca_file;
static bool arg_insecure;
static const char *arg_dns[ALGA_RELEASE_RESOLVE_DNS_SERVERS_MAX + 1];
static size_t arg_n_dns;
static unsigned arg_timeout;
static enum alga_release_cache_mode arg_cache_mode = ALGA_RELEASE_CACHE_USE;
static bool arg_verify_bundle;
static bool arg_json;
static const char *arg_field;
static bool arg_raw;
static bool arg_verbose;
static bool arg_quiet;
static const char *arg_config;
static const char *arg_root;

/* values read from the config file; options win over them */
struct conf {
	char *registry;
	char *repository;
	char *channel;
	char *ca_file;
	bool insecure;
	bool insecure_set;
	char *dns[ALGA_RELEASE_RESOLVE_DNS_SERVERS_MAX + 1];
	size_t n_dns;
};

static void conf_done(struct conf *c)
{
	free(c->registry);
	free(c->repository);
	free(c->channel);
	free(c->ca_file);
	for (size_t i = 0; i < c->n_dns; i++)
		free(c->dns[i]);
}

static int help(void)
{
	printf("%s [OPTIONS]\n"
	       "\n"
	       "Resolve a release channel or pin to a verified release manifest.\n"
	       "\n"
	       "Options:\n"
	       "  -h --help               Show this help\n"
	       "     --version            Show the version\n"
	       "     --channel=CHANNEL    Follow a channel: stable or nightly\n"
	       "     --ref=REF            Pin to a version or a manifest digest\n"
	       "     --registry=HOST      Registry host[:port] (ghcr.io)\n"
	       "     --repository=PATH    Repository path\n"
	       "     --ca-file=PEM        Also trust the CAs in PEM\n"
	       "     --insecure-registry  Use plain HTTP to the registry\n"
	       "     --dns-server=IP      Resolve names through this DNS server\n"
	       "     --timeout=SEC        Per-request timeout, 1-120 seconds (30)\n"
	       "     --cached             Use only the cache\n"
	       "     --fallback-cache     Use the cache when the registry fails\n"
	       "     --no-cache           Neither read nor write the cache\n"
	       "     --verify-bundle      Also verify the Flux config bundle\n"
	       "     --json               Print one JSON document\n"
	       "     --field=PATH         Print one field, e.g. config.digest\n"
	       "     --raw                Print the verified release blob\n"
	       "  -v --verbose            Trace requests, tokens redacted\n"
	       "  -q --quiet              Print errors only\n"
	       "     --config=FILE        Read defaults from FILE\n"
	       "     --root=DIR           Operate on the tree under DIR\n"
	       "\n"
	       "See alga-resolve(8).\n",
	       program_invocation_short_name);
	return 0;
}

static int parse_timeout(const char *s, unsigned *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end || s[0] == '-' ||
	    v < ALGA_RELEASE_RESOLVE_TIMEOUT_MIN_SEC || v > ALGA_RELEASE_RESOLVE_TIMEOUT_MAX_SEC)
		return log_error_errno(EINVAL, "Invalid --timeout '%s', allowed: %u-%u seconds", s,
				       ALGA_RELEASE_RESOLVE_TIMEOUT_MIN_SEC,
				       ALGA_RELEASE_RESOLVE_TIMEOUT_MAX_SEC);
	*ret = (unsigned)v;
	return 0;
}

static int check_dns_server(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return log_error_errno(EINVAL, "Invalid DNS server '%s', an IPv4 address is needed",
				       s);
	return 0;
}

static int check_channel(const char *s, const char *where)
{
	if (alga_release_channel_from_string(s) < 0)
		return log_error_errno(EINVAL, "Invalid %s '%s', allowed: stable, nightly", where, s);
	return 0;
}

static int parse_argv(int argc, char *argv[])
{
	enum {
		ARG_VERSION = 0x100,
		ARG_CHANNEL,
		ARG_REF,
		ARG_REGISTRY,
		ARG_REPOSITORY,
		ARG_CA_FILE,
		ARG_INSECURE,
		ARG_DNS,
		ARG_TIMEOUT,
		ARG_CACHED,
		ARG_FALLBACK,
		ARG_NO_CACHE,
		ARG_VERIFY_BUNDLE,
		ARG_JSON,
		ARG_FIELD,
		ARG_RAW,
		ARG_CONFIG,
		ARG_ROOT,
	};
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, ARG_VERSION },
		{ "channel", required_argument, NULL, ARG_CHANNEL },
		{ "ref", required_argument, NULL, ARG_REF },
		{ "registry", required_argument, NULL, ARG_REGISTRY },
		{ "repository", required_argument, NULL, ARG_REPOSITORY },
		{ "ca-file", required_argument, NULL, ARG_CA_FILE },
		{ "insecure-registry", no_argument, NULL, ARG_INSECURE },
		{ "dns-server", required_argument, NULL, ARG_DNS },
		{ "timeout", required_argument, NULL, ARG_TIMEOUT },
		{ "cached", no_argument, NULL, ARG_CACHED },
		{ "fallback-cache", no_argument, NULL, ARG_FALLBACK },
		{ "no-cache", no_argument, NULL, ARG_NO_CACHE },
		{ "verify-bundle", no_argument, NULL, ARG_VERIFY_BUNDLE },
		{ "json", no_argument, NULL, ARG_JSON },
		{ "field", required_argument, NULL, ARG_FIELD },
		{ "raw", no_argument, NULL, ARG_RAW },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "config", required_argument, NULL, ARG_CONFIG },
		{ "root", required_argument, NULL, ARG_ROOT },
		{}
	};
	unsigned n_cache = 0, n_output = 0;
	int c, r;

	/* getopt's own message is the one stderr line for a bad option */
	while ((c = getopt_long(argc, argv, "hvq", options, NULL)) >= 0)
		switch (c) {
		case 'h':
			return help();
		case ARG_VERSION:
			return alga_print_version(program_invocation_short_name);
		case ARG_CHANNEL:
			r = check_channel(optarg, "channel");
			if (r < 0)
				return r;
			arg_channel = optarg;
			break;
		case ARG_REF:
			if (!alga_oci_tag_is_valid(optarg) && !alga_oci_digest_is_valid(optarg))
				return log_error_errno(EINVAL, "Invalid --ref '%.80s': a version or "
						       "sha256:<64 hex digits>", optarg);
			arg_ref = optarg;
			break;
		case ARG_REGISTRY:
			arg_registry = optarg;
			break;
		case ARG_REPOSITORY:
			arg_repository = optarg;
			break;
		case ARG_CA_FILE:
			arg_ca_file = optarg;
			break;
		case ARG_INSECURE:
			arg_insecure = true;
			break;
		case ARG_DNS:
			r = check_dns_server(optarg);
			if (r < 0)
				return r;
			if (arg_n_dns >= ALGA_RELEASE_RESOLVE_DNS_SERVERS_MAX)
				return log_error_errno(EINVAL, "At most %u --dns-server options",
						       ALGA_RELEASE_RESOLVE_DNS_SERVERS_MAX);
			arg_dns[arg_n_dns++] = optarg;
			break;
		case ARG_TIMEOUT:
			r = parse_timeout(optarg, &arg_timeout);
			if (r < 0)
				return r;
			break;
		case ARG_CACHED:
			arg_cache_mode = ALGA_RELEASE_CACHE_ONLY;
			n_cache++;
			break;
		case ARG_FALLBACK:
			arg_cache_mode = ALGA_RELEASE_CACHE_FALLBACK;
			n_cache++;
			break;
		case ARG_NO_CACHE:
			arg_cache_mode = ALGA_RELEASE_CACHE_NONE;
			n_cache++;
			break;
		case ARG_VERIFY_BUNDLE:
			arg_verify_bundle = true;
			break;
		case ARG_JSON:
			arg_json = true;
			n_output++;
			break;
		case ARG_FIELD:
			arg_field = optarg;
			n_output++;
			break;
		case ARG_RAW:
			arg_raw = true;
			n_output++;
			break;
		case 'v':
			arg_verbose = true;
			break;
		case 'q':
			arg_quiet = true;
			break;
		case ARG_CONFIG:
			arg_config = optarg;
			break;
		case ARG_ROOT:
			arg_root = optarg;
			break;
		case '?':
			return -EINVAL;
		default:
			assert(!"unhandled option");
		}

	if (optind < argc)
		return log_error_errno(EINVAL, "Unexpected argument '%s'", argv[optind]);
	if (arg_channel && arg_ref)
		return log_error_errno(EINVAL, "--channel and --ref exclude each other");
	if (n_cache > 1)
		return log_error_errno(EINVAL, "Only one of --cached, --fallback-cache and "
				       "--no-cache may be given");
	if (n_output > 1)
		return log_error_errno(EINVAL, "Only one of --json, --field and --raw may be given");
	if (arg_verbose && arg_quiet)
		return log_error_errno(EINVAL, "--verbose and --quiet exclude each other");
	return 1;
}

static bool conf_bool(const char *v, bool *ret)
{
	if (streq(v, "true") || streq(v, "yes") || streq(v, "1")) {
		*ret = true;
		return true;
	}
	if (streq(v, "false") || streq(v, "no") || streq(v, "0")) {
		*ret = false;
		return true;
	}
	return false;
}

static int strdup_to_conf(char **dst, const char *value)
{
	char *t = strdup(value);

	if (!t)
		return log_oom();
	free(*dst);
	*dst = t;
	return 0;
}

/* "key = value" per line, '#' comments; every problem names the line */
static int conf_parse_line(struct conf *c, const char *path, unsigned n, char *line)
{
	char *eq, *key, *value, *end;

	key = line + strspn(line, " \t");
	if (!*key || *key == '#')
		return 0;
	eq = strchr(key, '=');
	if (!eq)
		return log_error_errno(EINVAL, "%s:%u: expected 'key = value'", path, n);
	end = eq;
	while (end > key && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	value = eq + 1 + strspn(eq + 1, " \t");
	end = value + strlen(value);
	while (end > value && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	*end = '\0';

	if (streq(key, "registry"))
		return strdup_to_conf(&c->registry, value);
	if (streq(key, "repository"))
		return strdup_to_conf(&c->repository, value);
	if (streq(key, "channel")) {
		if (alga_release_channel_from_string(value) < 0)
			return log_error_errno(EINVAL, "%s:%u: invalid channel '%s', allowed: "
					       "stable, nightly", path, n, value);
		return strdup_to_conf(&c->channel, value);
	}
	if (streq(key, "ca-file"))
		return strdup_to_conf(&c->ca_file, value);
	if (streq(key, "insecure-registry")) {
		if (!conf_bool(value, &c->insecure))
			return log_error_errno(EINVAL, "%s:%u: invalid insecure-registry '%s', "
					       "allowed: true, false", path, n, value);
		c->insecure_set = true;
		return 0;
	}
	if (streq(key, "dns-server")) {
		struct in_addr a;

		if (inet_pton(AF_INET, value, &a) != 1)
			return log_error_errno(EINVAL, "%s:%u: invalid dns-server '%s'", path, n,
					       value);
		if (c->n_dns >= ALGA_RELEASE_RESOLVE_DNS_SERVERS_MAX)
			return log_error_errno(EINVAL, "%s:%u: more than %u dns-server lines", path,
					       n, ALGA_RELEASE_RESOLVE_DNS_SERVERS_MAX);
		c->dns[c->n_dns] = strdup(value);
		if (!c->dns[c->n_dns])
			return log_oom();
		c->n_dns++;
		return 0;
	}
	return log_error_errno(EINVAL, "%s:%u: unknown key '%s', allowed: registry, repository, "
			       "channel, ca-file, insecure-registry, dns-server", path, n, key);
}

/*
 * Reads --config, else $ALGA_RELEASE_CONF, else /etc/alga/release.conf
 * under the root. Only the last may be missing.
 */
static int conf_load(const char *root, struct conf *c)
{
	_cleanup_free_ char *path = NULL, *buf = NULL;
	const char *given = arg_config ?: getenv("ALGA_RELEASE_CONF");
	char *line, *save = NULL;
	unsigned n = 0;
	int r;

	path = given ? strdup(given) : alga_fs_path_join(root, CONFIG_PATH);
	if (!path)
		return log_oom();

	r = alga_fs_read_file(AT_FDCWD, path, CONFIG_SIZE_MAX, &buf, NULL, NULL);
	if (r == -ENOENT && !given)
		return 0;
	if (r == -E2BIG)
		return log_error_errno(EINVAL, "Config file '%s' is over %u bytes", path,
				       CONFIG_SIZE_MAX);
	if (r < 0)
		return log_error_errno(r == -ENOENT ? EINVAL : r, "Failed to read config file '%s': %m",
				       path);

	/* strtok_r() would merge empty lines and break the numbering */
	for (line = buf; line; line = save) {
		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		n++;
		r = conf_parse_line(c, path, n, line);
		if (r < 0)
			return r;
	}
	return 0;
}

static int print_field(struct json_object *doc, const char *path)
{
	_cleanup_free_ char *copy = NULL;
	struct json_object *o = doc, *release = NULL;
	char *part, *save = NULL;
	bool found = true;

	copy = strdup(path);
	if (!copy)
		return log_oom();
	for (part = strtok_r(copy, ".", &save); part; part = strtok_r(NULL, ".", &save))
		if (!json_object_is_type(o, json_type_object) ||
		    !json_object_object_get_ex(o, part, &o)) {
			found = false;
			break;
		}

	/* release fields without the "release." prefix: --field config.digest */
	if (!found && json_object_object_get_ex(doc, "release", &release) &&
	    !str_has_prefix(path, "release.")) {
		_cleanup_free_ char *p = NULL;

		if (asprintf(&p, "release.%s", path) < 0)
			return log_oom();
		return print_field(doc, p);
	}
	if (!found)
		return log_error_errno(EINVAL, "Unknown field '%s'", str_has_prefix(path, "release.")
							? path + strlen("release.") : path);

	if (!o)
		puts("null");
	else if (json_object_is_type(o, json_type_string))
		puts(json_object_get_string(o));
	else
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	return 0;
}

struct row {
	const char *key;
	const char *value;
};

static void print_rows(const struct row *rows, size_t n)
{
	bool tty = isatty(STDOUT_FILENO);
	size_t width = 0;

	for (size_t i = 0; i < n; i++)
		if (rows[i].value)
			width = MAX(width, strlen(rows[i].key));
	for (size_t i = 0; i < n; i++) {
		if (!rows[i].value)
			continue;
		if (tty)
			printf("\033[1m%-*s\033[0m  %s\n", (int)width, rows[i].key, rows[i].value);
		else
			printf("%-*s  %s\n", (int)width, rows[i].key, rows[i].value);
	}
}

static int print_human(const struct alga_release_resolved *res)
{
	const struct alga_release *rel = res->release;
	_cleanup_free_ char *bundle = NULL, *files = NULL;
	struct row rows[64];
	size_t n = 0;
	char *names[_ALGA_RELEASE_IMAGE_MAX + _ALGA_RELEASE_CHART_MAX] = {};
	size_t n_names = 0;

	if (asprintf(&bundle, "%s@%s", rel->config_repository, rel->config_digest) < 0)
		return log_oom();
	if (res->bundle && asprintf(&files, "%zu files, %zu HelmReleases checked",
				    res->bundle->n_files, res->bundle->n_helm_releases) < 0)
		return log_oom();

	rows[n++] = (struct row){ "source", res->stale ? "cache (stale)"
				 : res->from_cache ? "cache" : "registry" };
	rows[n++] = (struct row){ "registry", res->registry };
	rows[n++] = (struct row){ "repository", res->repository };
	rows[n++] = (struct row){ "reference", res->reference };
	rows[n++] = (struct row){ "version", rel->version };
	rows[n++] = (struct row){ "channel", rel->channel };
	rows[n++] = (struct row){ "manifestDigest", res->manifest_digest };
	rows[n++] = (struct row){ "indexDigest", res->index_digest };
	rows[n++] = (struct row){ "configDigest", res->config_digest };
	rows[n++] = (struct row){ "fetchedAt", res->fetched_at };
	rows[n++] = (struct row){ "minHostVersion", rel->min_host_version };
	for (size_t i = 0; i < _ALGA_RELEASE_IMAGE_MAX; i++) {
		if (!rel->images[i])
			continue;
		if (asprintf(&names[n_names], "images.%s", alga_release_image_to_string(i)) < 0)
			goto oom;
		rows[n++] = (struct row){ names[n_names++], rel->images[i] };
	}
	rows[n++] = (struct row){ "controlPlane", rel->control_plane };
	rows[n++] = (struct row){ "config", bundle };
	for (size_t i = 0; i < _ALGA_RELEASE_CHART_MAX; i++) {
		if (!rel->charts[i])
			continue;
		if (asprintf(&names[n_names], "charts.%s", alga_release_chart_to_string(i)) < 0)
			goto oom;
		rows[n++] = (struct row){ names[n_names++], rel->charts[i] };
	}
	rows[n++] = (struct row){ "bundle", files };
	print_rows(rows, n);

	for (size_t i = 0; i < n_names; i++)
		free(names[i]);
	return 0;
oom:
	for (size_t i = 0; i < n_names; i++)
		free(names[i]);
	return log_oom();
}

static int print_result(const struct alga_release_resolved *res)
{
	_cleanup_(json_object_putp) struct json_object *doc = NULL;
	int r;

	if (arg_raw) {
		if (fwrite(res->config, 1, res->config_size, stdout) != res->config_size)
			return log_error_errno(EIO, "Failed to write to standard output: %m");
		return 0;
	}
	if (!arg_json && !arg_field)
		return print_human(res);

	r = alga_release_resolved_to_json(res, &doc);
	if (r < 0)
		return log_oom();
	if (arg_field)
		return print_field(doc, arg_field);
	return alga_json_print(doc, stdout);
}

static void report_error(const struct alga_error *e, int r)
{
	_cleanup_(json_object_putp) struct json_object *doc = NULL;

	if (e->url && e->message && !strstr(e->message, e->url))
		log_error("%s (%s)", e->message, e->url);
	else if (e->message)
		log_error("%s", e->message);
	else
		log_error_errno(r, "Failed to resolve the release: %m");

	if (arg_json && alga_release_error_to_json(e, &doc) >= 0)
		(void)alga_json_print(doc, stdout);
}

/*
 * The whole resolve is bounded (release.md §4.3: 90 s) on top of the
 * per-request timeouts, which retries and redirects multiply. Past it the
 * process ends at once: the cache is only ever replaced atomically, so
 * nothing half-written is left behind.
 */
static void on_deadline(int sig)
{
	static const char msg[] = "alga-resolve: Resolve took longer than 90 seconds, giving up\n";

	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(ALGA_ERROR_NETWORK);
}

static void arm_deadline(void)
{
	struct sigaction sa = { .sa_handler = on_deadline };

	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGALRM, &sa, NULL);
	alarm(RESOLVE_DEADLINE_SEC);
}

/* $STATE_DIRECTORY replaces /var/lib/alga (a unit's StateDirectory=), else under the root */
static char *cache_dir_path(const char *root)
{
	const char *state = getenv("STATE_DIRECTORY");
	_cleanup_free_ char *first = NULL, *base = NULL;
	char *ret;

	if (!isempty(state)) {
		first = strndup(state, strcspn(state, ":"));
		if (!first)
			return NULL;
		if (asprintf(&ret, "%s/%s", first, CACHE_SUBDIR) < 0)
			return NULL;
		return ret;
	}
	base = alga_fs_path_join(root, STATE_DIR "/" CACHE_SUBDIR);
	return TAKE_PTR(base);
}

static int run(int argc, char *argv[])
{
	_cleanup_(alga_release_resolved_freep) struct alga_release_resolved *res = NULL;
	_cleanup_free_ char *cache_dir = NULL;
	_cleanup_(conf_done) struct conf conf = {};
	struct alga_release_resolve_options o = {};
	struct alga_error err = {};
	const char *dns[ALGA_RELEASE_RESOLVE_DNS_SERVERS_MAX + 1] = {};
	const char *root;
	uid_t uid = ALGA_UID_KEEP;
	int r;

	alga_log_open(program_invocation_short_name);

	r = parse_argv(argc, argv);
	if (r <= 0)
		return r;
	if (arg_verbose)
		alga_log_set_max_level(LOG_DEBUG);
	else if (arg_quiet)
		alga_log_set_max_level(LOG_ERR);

	root = alga_root_pick(arg_root);
	r = conf_load(root, &conf);
	if (r < 0)
		return r == -EINVAL ? ALGA_EXIT_USAGE : r;

	o.registry = arg_registry ?: conf.registry;
	o.repository = arg_repository ?: conf.repository;
	if (arg_ref)
		o.ref = arg_ref;
	else
		o.channel = arg_channel ?: conf.channel ?: "stable";
	o.ca_file = arg_ca_file ?: conf.ca_file;
	o.insecure = arg_insecure || (conf.insecure_set && conf.insecure);
	if (arg_n_dns > 0)
		o.dns_servers = arg_dns;
	else if (conf.n_dns > 0) {
		for (size_t i = 0; i < conf.n_dns; i++)
			dns[i] = conf.dns[i];
		o.dns_servers = dns;
	}
	o.timeout_sec = arg_timeout;
	o.cache_mode = arg_cache_mode;
	o.verify_bundle = arg_verify_bundle;

	if (o.ca_file && access(o.ca_file, R_OK) < 0)
		return log_error_errno(EINVAL, "Cannot read CA file '%s': %s", o.ca_file,
				       strerror(errno));

	if (o.insecure && arg_cache_mode != ALGA_RELEASE_CACHE_ONLY)
		log_warning("Using plain HTTP to registry '%s': no transport security",
			    o.registry ?: ALGA_RELEASE_RESOLVE_REGISTRY_DEFAULT);

	if (arg_cache_mode != ALGA_RELEASE_CACHE_NONE) {
		cache_dir = cache_dir_path(root);
		if (!cache_dir)
			return log_oom();
		o.cache_dir = cache_dir;
		/* root hands the file to alga, which shares it with alga-setup (A8) */
		if (geteuid() == 0 && alga_lookup_user(root, ALGA_USER, &uid, NULL) < 0)
			uid = ALGA_UID_KEEP;
		o.cache_uid = uid;
	}

	arm_deadline();
	r = alga_release_resolve(&o, &res, &err);
	alarm(0);
	if (r == -ENOMEM) {
		alga_error_clear(&err);
		return log_oom();
	}
	if (r < 0) {
		int class = err.class != ALGA_ERROR_NONE ? (int)err.class : ALGA_ERROR_INTERNAL;

		report_error(&err, r);
		alga_error_clear(&err);
		return class;
	}

	if (arg_verbose)
		log_debug("%u manifest GETs, %u blob GETs, %u token GETs, %u retries%s",
			  res->stats.manifest_gets, res->stats.blob_gets, res->stats.token_gets,
			  res->stats.retries, res->blob_reused ? ", blob from the cache" : "");
	if (res->stale)
		log_warning("Registry failed (%s), using the cached copy fetched at %s",
			    strna(res->fallback_error.message), strna(res->fetched_at));
	if (res->cache_error < 0)
		log_warning_errno(res->cache_error, "Failed to write '%s/%s', cache not updated: %m",
				  cache_dir, ALGA_RELEASE_CACHE_FILE);

	r = print_result(res);
	if (r < 0)
		return r == -EINVAL ? ALGA_EXIT_USAGE : r;
	if (fflush(stdout) != 0)
		return log_error_errno(EIO, "Failed to write to standard output: %m");

	return res->stale ? EXIT_STALE : 0;
}

int main(int argc, char *argv[])
{
	return alga_exit_status(run(argc, argv));
}
