/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * alga-agent: host diagnostics for the cluster side over a Unix socket
 * (host.md §2.1, §4.4). Socket-activated, runs as alga; the blocking
 * collection runs on lib/httpd's worker thread so that /v1/health answers
 * at once, concurrent POSTs share one collection, and the process exits
 * when idle. Fixes upstream's host-agent.mjs (host.md §3 item 10).
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "alga-config.h"
#include "bundle.h"
#include "collect.h"
#include "crypto.h"
#include "fsutil.h"
#include "httpd.h"
#include "json.h"
#include "log.h"
#include "tool.h"

#define LISTEN_MAX ALGA_HTTPD_DAEMONS_MAX
#define IDLE_TIMEOUT_DEFAULT 60u
#define IDLE_TIMEOUT_MAX 86400u
#define REGISTRY_HOST "ghcr.io"
#define BUNDLE_DIR "/var/lib/alga/support-bundles"
#define BUNDLE_NAME_RE "^alga-appliance-support-[0-9]{8}T[0-9]{6}Z(-[0-9]+)?\\.tar\\.gz$"
#define BUNDLE_NAME_MAX 128u
#define BUNDLES_LIST_MAX 64u
#define BUNDLE_PREFIX "/v1/support-bundles/"
/* requests waiting on one collection: all connections the server admits */
#define WAITERS_MAX (ALGA_HTTPD_CONNECTIONS_MAX + 16u)

static char *arg_listen[LISTEN_MAX];
static unsigned arg_n_listen;
static unsigned arg_idle_timeout = IDLE_TIMEOUT_DEFAULT;
static const char *arg_root;
static const char *arg_journal_dir;
static const char *arg_kubeconfig;

struct agent {
	struct collect_options opts;
	char *bundle_dir;
	regex_t name_re;

	/* single flight: requests waiting on the running collection */
	bool collecting;
	struct alga_httpd_request *waiters[WAITERS_MAX];
	unsigned n_waiters;
	unsigned n_collections;
	/* written by the worker, read by the loop after the job is done */
	char *result;
	int result_error;

	/* POST /v1/support-bundles: single flight as well */
	bool bundling;
	struct alga_httpd_request *bundle_waiters[WAITERS_MAX];
	unsigned n_bundle_waiters;
	struct alga_bundle_options bundle_opts;
	struct alga_bundle_result *bundle_result;
	int bundle_error;
};

static int help(void)
{
	printf("%s [OPTIONS]\n"
	       "\n"
	       "Serve host diagnostics to the cluster side over a Unix socket.\n"
	       "\n"
	       "Options:\n"
	       "  -h --help              Show this help\n"
	       "     --version           Show the version\n"
	       "     --listen=PATH       Listen on this Unix socket (repeatable)\n"
	       "     --idle-timeout=S    Exit after S seconds without connections\n"
	       "     --root=DIR          Operate on the tree under DIR\n"
	       "     --journal-dir=DIR   Read journal files from DIR\n"
	       "     --kubeconfig=PATH   Kubeconfig for support bundles\n"
	       "\n"
	       "See alga-agent(8).\n",
	       program_invocation_short_name);
	return 0;
}

static int parse_argv(int argc, char *argv[])
{
	enum {
		ARG_VERSION = 0x100,
		ARG_LISTEN,
		ARG_IDLE_TIMEOUT,
		ARG_ROOT,
		ARG_JOURNAL_DIR,
		ARG_KUBECONFIG,
	};
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, ARG_VERSION },
		{ "listen", required_argument, NULL, ARG_LISTEN },
		{ "idle-timeout", required_argument, NULL, ARG_IDLE_TIMEOUT },
		{ "root", required_argument, NULL, ARG_ROOT },
		{ "journal-dir", required_argument, NULL, ARG_JOURNAL_DIR },
		{ "kubeconfig", required_argument, NULL, ARG_KUBECONFIG },
		{}
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
		switch (c) {
		case 'h':
			return help();
		case ARG_VERSION:
			return alga_print_version(program_invocation_short_name);
		case ARG_LISTEN:
			if (arg_n_listen >= LISTEN_MAX)
				return log_error_errno(EINVAL, "At most %u --listen options", LISTEN_MAX);
			if (optarg[0] != '/')
				return log_error_errno(EINVAL, "--listen wants an absolute path, not '%s'",
						       optarg);
			arg_listen[arg_n_listen++] = optarg;
			break;
		case ARG_IDLE_TIMEOUT: {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end || v > IDLE_TIMEOUT_MAX)
				return log_error_errno(EINVAL,
						       "--idle-timeout wants 0..%u seconds, not '%s'",
						       IDLE_TIMEOUT_MAX, optarg);
			arg_idle_timeout = (unsigned)v;
			break;
		}
		case ARG_ROOT:
			arg_root = optarg;
			break;
		case ARG_JOURNAL_DIR:
			arg_journal_dir = optarg;
			break;
		case ARG_KUBECONFIG:
			arg_kubeconfig = optarg;
			break;
		case '?':
			return -EINVAL;
		default:
			assert(!"unhandled option");
		}

	if (optind < argc)
		return log_error_errno(EINVAL, "No arguments expected");
	return 1;
}

static void log_peer(struct alga_httpd_request *req)
{
	struct ucred uc;

	/* access is the socket's mode; who came is logged (host.md §4.4) */
	if (alga_httpd_request_peer(req, &uc) == 0)
		log_debug("%s %s from pid %d uid %u gid %u", alga_httpd_request_method(req),
			  alga_httpd_request_path(req), (int)uc.pid, (unsigned)uc.uid,
			  (unsigned)uc.gid);
}

/* GET /v1/health */
static int on_health(struct alga_httpd_request *req, void *userdata)
{
	static const char body[] = "{\"ok\":true,\"service\":\"alga-host-agent\"}\n";

	return alga_httpd_respond(req, 200, NULL, body, strlen(body), NULL);
}

/* POST /v1/support-bundle: the compat route, single flight */

static int collect_work(void *data)
{
	struct agent *a = data;
	_cleanup_(json_object_putp) struct json_object *doc = NULL;
	int r;

	r = collect_support_bundle(&a->opts, &doc);
	if (r < 0)
		return r;
	return alga_json_format(doc, ALGA_JSON_FORMAT_COMPACT | ALGA_JSON_FORMAT_NEWLINE, &a->result);
}

static void collect_done(void *data, int result)
{
	struct agent *a = data;
	_cleanup_free_ char *body = TAKE_PTR(a->result);

	if (result < 0)
		log_error_errno(result, "Failed to collect host diagnostics: %m");
	else
		log_info("Host diagnostics collected for %u request(s)", a->n_waiters);

	for (unsigned i = 0; i < a->n_waiters; i++) {
		struct alga_httpd_request *req = a->waiters[i];
		int r;

		if (result < 0 || !body)
			r = alga_httpd_respond_error(req, 500, "collection failed");
		else
			r = alga_httpd_respond(req, 200, NULL, body, strlen(body), NULL);
		if (r < 0)
			log_warning_errno(r, "Failed to answer a waiting request, ignoring: %m");
	}
	a->n_waiters = 0;
	a->collecting = false;
	(void)sd_notify(false, "STATUS=Waiting for requests");
}

static int on_support_bundle(struct alga_httpd_request *req, void *userdata)
{
	struct agent *a = userdata;
	int r;

	/* the body is ignored, absent or garbage (host.md §2.1) */
	log_peer(req);
	if (a->n_waiters >= WAITERS_MAX)
		return alga_httpd_respond_error(req, 503, "too many waiting requests");

	r = alga_httpd_request_suspend(req);
	if (r < 0)
		return r;
	a->waiters[a->n_waiters++] = req;
	if (a->collecting)
		return 0;

	a->collecting = true;
	a->n_collections++;
	log_info("Collecting host diagnostics (collection %u)", a->n_collections);
	(void)sd_notify(false, "STATUS=Collecting host diagnostics");
	r = alga_httpd_defer(alga_httpd_request_server(req), collect_work, collect_done, a);
	if (r < 0) {
		a->collecting = false;
		a->n_waiters--;
		return r;
	}
	return 0;
}

/* /v1/support-bundles: the directory side; building needs lib/bundle */

static int bundle_dir_open(struct agent *a, int *ret_fd)
{
	int fd;

	fd = open(a->bundle_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	*ret_fd = fd;
	return 0;
}

static bool bundle_name_is_valid(struct agent *a, const char *name)
{
	return strlen(name) < BUNDLE_NAME_MAX && regexec(&a->name_re, name, 0, NULL, 0) == 0;
}

static int sha256_fd(int fd, char out[static ALGA_SHA256_SIZE * 2 + 1])
{
	_cleanup_(alga_sha256_freep) struct alga_sha256 *h = NULL;
	uint8_t digest[ALGA_SHA256_SIZE];
	char buf[65536];
	ssize_t n;
	int r;

	r = alga_sha256_new(&h);
	if (r < 0)
		return r;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		r = alga_sha256_update(h, buf, (size_t)n);
		if (r < 0)
			return r;
	}
	if (n < 0)
		return negative_errno();
	r = alga_sha256_final(h, digest);
	if (r < 0)
		return r;
	alga_hex_encode(digest, sizeof(digest), out);
	return 0;
}

static int bundle_host(void *userdata, struct json_object **ret)
{
	struct agent *a = userdata;
	_cleanup_(json_object_putp) struct json_object *doc = NULL;
	struct collect_options co = a->opts;
	struct json_object *files;
	int r;

	co.skip_journal = true;
	r = collect_support_bundle(&co, &doc);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(doc, "files", &files))
		return -EBADMSG;
	*ret = json_object_get(files);
	return 0;
}

/* on the worker thread: its own journal, bus and API client (lib/bundle) */
static int bundle_work(void *data)
{
	struct agent *a = data;
	struct alga_bundle_output *out = NULL;
	int r;

	r = alga_bundle_output_open_dir(a->bundle_dir, &out);
	if (r < 0)
		return r;
	return alga_bundle_write(&a->bundle_opts, out, &a->bundle_result);
}

static int bundle_reply(struct alga_bundle_result *res, char **ret)
{
	_cleanup_(json_object_putp) struct json_object *doc = json_object_new_object();

	if (!doc || alga_json_add(doc, "ok", json_object_new_boolean(true)) < 0 ||
	    alga_json_add(doc, "name", json_object_new_string(res->name)) < 0 ||
	    alga_json_add(doc, "path", json_object_new_string(res->path)) < 0 ||
	    alga_json_add(doc, "bytes", json_object_new_int64((int64_t)res->bytes)) < 0 ||
	    alga_json_add(doc, "sha256", json_object_new_string(res->sha256)) < 0 ||
	    alga_json_add(doc, "files", json_object_new_int((int)res->files)) < 0 ||
	    alga_json_add(doc, "failed", json_object_new_int((int)res->failed)) < 0 ||
	    alga_json_add(doc, "redactions", json_object_get(res->redactions)) < 0 ||
	    alga_json_add(doc, "durationMs",
			  json_object_new_int64((int64_t)(res->duration_usec / USEC_PER_MSEC))) < 0)
		return -ENOMEM;
	return alga_json_format(doc, ALGA_JSON_FORMAT_COMPACT | ALGA_JSON_FORMAT_NEWLINE, ret);
}

static void bundle_done(void *data, int result)
{
	struct agent *a = data;
	_cleanup_(alga_bundle_result_freep) struct alga_bundle_result *res =
		TAKE_PTR(a->bundle_result);
	_cleanup_free_ char *body = NULL;

	if (result >= 0 && res && bundle_reply(res, &body) < 0)
		result = -ENOMEM;
	if (result < 0)
		log_error_errno(result, "Failed to build a support bundle: %m");
	else
		log_info("Support bundle '%s' built for %u request(s)", res->name,
			 a->n_bundle_waiters);

	for (unsigned i = 0; i < a->n_bundle_waiters; i++) {
		struct alga_httpd_request *req = a->bundle_waiters[i];
		int r;

		if (result < 0 || !body)
			r = alga_httpd_respond_error(req, 500, "building the support bundle failed");
		else
			r = alga_httpd_respond(req, 201, NULL, body, strlen(body), NULL);
		if (r < 0)
			log_warning_errno(r, "Failed to answer a waiting request, ignoring: %m");
	}
	a->n_bundle_waiters = 0;
	a->bundling = false;
	(void)sd_notify(false, "STATUS=Waiting for requests");
}

static int on_bundles_create(struct alga_httpd_request *req, void *userdata)
{
	struct agent *a = userdata;
	_cleanup_(json_object_putp) struct json_object *body = NULL;
	_cleanup_free_ char *detail = NULL, *msg = NULL;
	const struct alga_json_limits limits = {
		.size_max = ALGA_HTTPD_BODY_MAX, .depth_max = 2, .string_max = 256, .items_max = 16,
	};
	const char *b;
	size_t len;
	int64_t v;
	bool cluster = true;
	int r;

	log_peer(req);
	b = alga_httpd_request_body(req, &len);
	if (b && len > 0) {
		r = alga_json_parse(b, len, &limits, &body, &detail);
		if (r == -ENOMEM)
			return r;
		if (r >= 0 && !json_object_is_type(body, json_type_object)) {
			r = -EBADMSG;
			free(detail);
			detail = strdup("the body must be a JSON object");
		}
		if (r >= 0)
			r = alga_json_get_int64(body, "journalLines", ALGA_JSON_OPTIONAL, 1, 20000, &v,
						&detail);
		if (r >= 0)
			r = alga_json_get_int64(body, "logLines", ALGA_JSON_OPTIONAL, 1, 5000, &v,
						&detail);
		if (r >= 0)
			r = alga_json_get_bool(body, "cluster", ALGA_JSON_OPTIONAL, &cluster, &detail);
		if (r < 0) {
			if (asprintf(&msg, "invalid JSON body: %s", strna(detail)) < 0)
				return -ENOMEM;
			return alga_httpd_respond_error(req, 400, msg);
		}
	}

	if (a->n_bundle_waiters >= WAITERS_MAX)
		return alga_httpd_respond_error(req, 503, "too many waiting requests");
	r = alga_httpd_request_suspend(req);
	if (r < 0)
		return r;
	a->bundle_waiters[a->n_bundle_waiters++] = req;
	/* a POST during a build shares its bundle, whatever its own body asked */
	if (a->bundling)
		return 0;

	a->bundling = true;
	a->bundle_opts.journal_lines = 0;
	a->bundle_opts.log_lines = 0;
	a->bundle_opts.no_cluster = false;
	if (body) {
		if (alga_json_get_int64(body, "journalLines", ALGA_JSON_OPTIONAL, 1, 20000, &v,
					NULL) > 0)
			a->bundle_opts.journal_lines = (unsigned)v;
		if (alga_json_get_int64(body, "logLines", ALGA_JSON_OPTIONAL, 1, 5000, &v, NULL) > 0)
			a->bundle_opts.log_lines = (unsigned)v;
		if (alga_json_get_bool(body, "cluster", ALGA_JSON_OPTIONAL, &cluster, NULL) > 0)
			a->bundle_opts.no_cluster = !cluster;
	}
	log_info("Building a support bundle");
	(void)sd_notify(false, "STATUS=Building a support bundle");
	r = alga_httpd_defer(alga_httpd_request_server(req), bundle_work, bundle_done, a);
	if (r < 0) {
		a->bundling = false;
		a->n_bundle_waiters--;
		return r;
	}
	return 0;
}

static int bundle_entry(int dfd, const char *name, struct json_object **ret)
{
	_cleanup_(json_object_putp) struct json_object *e = NULL;
	_cleanup_close_ int fd = -EBADF;
	char sha[ALGA_SHA256_SIZE * 2 + 1], ts[64];
	struct stat st;
	struct tm tm;
	int r;

	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode))
		return -EBADFD;
	r = sha256_fd(fd, sha);
	if (r < 0)
		return r;
	gmtime_r(&st.st_mtime, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);

	e = json_object_new_object();
	if (!e)
		return -ENOMEM;
	if (alga_json_add(e, "name", json_object_new_string(name)) < 0 ||
	    alga_json_add(e, "bytes", json_object_new_int64((int64_t)st.st_size)) < 0 ||
	    alga_json_add(e, "createdAt", json_object_new_string(ts)) < 0 ||
	    alga_json_add(e, "sha256", json_object_new_string(sha)) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(e);
	return 0;
}

static int on_bundles_list(struct alga_httpd_request *req, void *userdata)
{
	struct agent *a = userdata;
	_cleanup_(json_object_putp) struct json_object *doc = NULL, *list = NULL;
	_cleanup_close_ int dfd = -EBADF;
	DIR *d;
	struct dirent *de;
	unsigned n = 0;
	int r;

	list = json_object_new_array();
	if (!list)
		return -ENOMEM;

	r = bundle_dir_open(a, &dfd);
	if (r < 0 && r != -ENOENT)
		return alga_httpd_respond_error(req, 503, "cannot open the support bundle directory");
	if (r >= 0) {
		d = fdopendir(dfd);
		if (!d)
			return negative_errno();
		dfd = -EBADF;
		while ((de = readdir(d)) && n < BUNDLES_LIST_MAX) {
			struct json_object *e = NULL;

			if (!bundle_name_is_valid(a, de->d_name))
				continue;
			if (bundle_entry(dirfd(d), de->d_name, &e) < 0)
				continue;
			if (alga_json_append(list, e) < 0) {
				closedir(d);
				return -ENOMEM;
			}
			n++;
		}
		closedir(d);
	}

	doc = json_object_new_object();
	if (!doc)
		return -ENOMEM;
	if (alga_json_add(doc, "ok", json_object_new_boolean(true)) < 0 ||
	    alga_json_add(doc, "bundles", TAKE_PTR(list)) < 0)
		return -ENOMEM;
	return alga_httpd_respond_json(req, 200, doc);
}

static int on_bundle_get(struct alga_httpd_request *req, void *userdata)
{
	struct agent *a = userdata;
	const char *name = alga_httpd_request_path(req) + strlen(BUNDLE_PREFIX);
	_cleanup_close_ int dfd = -EBADF, fd = -EBADF;
	_cleanup_free_ char *disp = NULL;
	struct stat st;
	int r;

	if (!bundle_name_is_valid(a, name))
		return alga_httpd_respond_error(req, 400, "invalid support bundle name");
	r = bundle_dir_open(a, &dfd);
	if (r == -ENOENT)
		return alga_httpd_respond_error(req, 404, "no such support bundle");
	if (r < 0)
		return alga_httpd_respond_error(req, 503, "cannot open the support bundle directory");

	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 && (errno == ENOENT || errno == ELOOP))
		return alga_httpd_respond_error(req, 404, "no such support bundle");
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode))
		return alga_httpd_respond_error(req, 404, "no such support bundle");

	if (asprintf(&disp, "attachment; filename=\"%s\"", name) < 0)
		return -ENOMEM;
	const char *hdrs[] = { "Content-Disposition", disp, NULL };
	r = alga_httpd_respond_fd(req, 200, "application/gzip", fd, (uint64_t)st.st_size, hdrs);
	if (r < 0)
		return r;
	fd = -EBADF;
	return 0;
}

static int on_bundle_delete(struct alga_httpd_request *req, void *userdata)
{
	struct agent *a = userdata;
	const char *name = alga_httpd_request_path(req) + strlen(BUNDLE_PREFIX);
	_cleanup_close_ int dfd = -EBADF;
	struct ucred uc;
	uid_t alga_uid = 0;
	gid_t alga_gid;
	int r;

	if (!bundle_name_is_valid(a, name))
		return alga_httpd_respond_error(req, 400, "invalid support bundle name");

	/* DELETE only for root and alga (resolutions.md gap 5) */
	r = alga_httpd_request_peer(req, &uc);
	if (r < 0)
		return alga_httpd_respond_error(req, 403, "peer credentials unavailable");
	if (alga_lookup_user(arg_root, ALGA_USER, &alga_uid, &alga_gid) < 0)
		alga_uid = 0;
	if (uc.uid != 0 && uc.uid != alga_uid) {
		log_notice("Refused DELETE of '%s' from uid %u", name, (unsigned)uc.uid);
		return alga_httpd_respond_error(req, 403, "only root and alga may delete bundles");
	}

	r = bundle_dir_open(a, &dfd);
	if (r == -ENOENT)
		return alga_httpd_respond_error(req, 404, "no such support bundle");
	if (r < 0)
		return alga_httpd_respond_error(req, 503, "cannot open the support bundle directory");
	if (unlinkat(dfd, name, 0) < 0) {
		if (errno == ENOENT)
			return alga_httpd_respond_error(req, 404, "no such support bundle");
		return negative_errno();
	}
	(void)alga_fs_fsync_dir(dfd);
	log_info("Deleted support bundle '%s' for uid %u", name, (unsigned)uc.uid);
	return alga_httpd_respond(req, 204, NULL, NULL, 0, NULL);
}

static const struct alga_httpd_route routes[] = {
	{ "GET", "/v1/health", on_health },
	{ "POST", "/v1/support-bundle", on_support_bundle },
	{ "POST", "/v1/support-bundles", on_bundles_create },
	{ "GET", "/v1/support-bundles", on_bundles_list },
	{ "GET", BUNDLE_PREFIX, on_bundle_get },
	{ "DELETE", BUNDLE_PREFIX, on_bundle_delete },
	{}
};

static int run(int argc, char *argv[])
{
	_cleanup_(sd_event_unrefp) sd_event *event = NULL;
	_cleanup_(alga_httpd_freep) struct alga_httpd *httpd = NULL;
	struct agent a = {};
	sigset_t mask;
	int n, r;

	alga_log_open("alga-agent");
	r = parse_argv(argc, argv);
	if (r <= 0)
		return r;

	a.opts = (struct collect_options){
		.root = alga_root_pick(arg_root),
		.journal_dir = arg_journal_dir,
		.registry = REGISTRY_HOST,
		.journal_lines = COLLECT_JOURNAL_LINES,
	};
	a.bundle_opts = (struct alga_bundle_options){
		.root = a.opts.root,
		.journal_dir = arg_journal_dir,
		.kubeconfig = arg_kubeconfig, /* NULL: the alga kubeconfig (resolutions.md A16) */
		.timeout_usec = ALGA_BUNDLE_TIMEOUT_USEC,
		.generator = "alga-agent",
		.host = bundle_host,
		.host_userdata = &a,
	};
	a.bundle_dir = alga_fs_path_join(a.opts.root, BUNDLE_DIR);
	if (!a.bundle_dir)
		return log_oom();
	if (regcomp(&a.name_re, BUNDLE_NAME_RE, REG_EXTENDED | REG_NOSUB) != 0) {
		free(a.bundle_dir);
		return log_error_errno(EINVAL, "Failed to compile the bundle name pattern");
	}

	/* libcurl's global state before any thread (the worker uses it) */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		r = log_error_errno(EIO, "Failed to initialise libcurl");
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	r = sd_event_default(&event);
	if (r < 0) {
		log_error_errno(r, "Failed to create the event loop: %m");
		goto out_curl;
	}
	if ((r = sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL)) < 0 ||
	    (r = sd_event_add_signal(event, NULL, SIGINT, NULL, NULL)) < 0) {
		log_error_errno(r, "Failed to watch signals: %m");
		goto out_curl;
	}
	/* WATCHDOG=1 at half of $WATCHDOG_USEC, from the loop thread */
	r = sd_event_set_watchdog(event, true);
	if (r < 0)
		log_warning_errno(r, "Failed to enable the watchdog, ignoring: %m");

	r = alga_httpd_new(event, routes, &a, NULL, (uint64_t)arg_idle_timeout * USEC_PER_SEC,
			   &httpd);
	if (r < 0) {
		log_error_errno(r, "Failed to create the server: %m");
		goto out_curl;
	}

	n = alga_httpd_add_listen_fds(httpd);
	if (n < 0) {
		r = log_error_errno(n, "Failed to serve the sockets passed by systemd: %m");
		goto out_curl;
	}
	for (unsigned i = 0; i < arg_n_listen; i++) {
		int fd;

		r = alga_httpd_listen_unix(arg_listen[i], 0660, &fd);
		if (r < 0) {
			log_error_errno(r, "Failed to listen on '%s': %m", arg_listen[i]);
			goto out_curl;
		}
		r = alga_httpd_add_fd(httpd, fd);
		if (r < 0) {
			safe_close(fd);
			log_error_errno(r, "Failed to serve '%s': %m", arg_listen[i]);
			goto out_curl;
		}
		n++;
	}
	if (n == 0) {
		r = log_error_errno(EINVAL, "No socket: not socket-activated and no --listen given");
		goto out_curl;
	}

	(void)sd_notify(false, "READY=1\nSTATUS=Waiting for requests");
	log_debug("Serving %d socket(s), idle timeout %u s", n, arg_idle_timeout);

	r = sd_event_loop(event);
	(void)sd_notify(false, "STOPPING=1");
	if (r < 0)
		log_error_errno(r, "Event loop failed: %m");

out_curl:
	/* the worker is joined before libcurl goes */
	httpd = alga_httpd_free(httpd);
	curl_global_cleanup();
out:
	free(a.result);
	free(a.bundle_dir);
	regfree(&a.name_re);
	return r;
}

int main(int argc, char *argv[])
{
	return alga_exit_status(run(argc, argv));
}
