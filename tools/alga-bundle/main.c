/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * alga-bundle: a support bundle that leaks no secret (host.md §4.5), built
 * by libalga bundle in this process or, with --via-agent, by alga-agent;
 * plus the redaction engine on its own (redact, rules). Nothing spawned.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "bundle.h"
#include "collect.h"
#include "fsutil.h"
#include "json.h"
#include "log.h"
#include "redact.h"
#include "tool.h"

#define AGENT_SOCKET "/run/alga/agent.sock"
#define AGENT_RESPONSE_MAX (64u * 1024u)
#define AGENT_TIMEOUT_SEC 130L
#define REGISTRY_HOST "ghcr.io"
#define REDACT_READ_BUFFER (64u * 1024u)

static const char *arg_output_dir;
static const char *arg_output;
static const char *arg_kubeconfig;
static unsigned arg_journal_lines;
static unsigned arg_log_lines;
static bool arg_no_cluster;
static bool arg_no_network_checks;
static bool arg_via_agent;
static const char *arg_root;
static const char *arg_journal_dir;
static bool arg_json;
static bool arg_quiet;

static int help(void)
{
	printf("%s [OPTIONS]\n"
	       "%s [OPTIONS] redact [FILE]\n"
	       "%s [OPTIONS] rules [--json]\n"
	       "\n"
	       "Write a redacted support bundle of the appliance.\n"
	       "\n"
	       "Commands:\n"
	       "  (none)               Write a bundle\n"
	       "  redact [FILE]        Redact FILE (or stdin) to stdout\n"
	       "  rules                List the redaction rules\n"
	       "\n"
	       "Options:\n"
	       "  -h --help            Show this help\n"
	       "     --version         Show the version\n"
	       "  -o --output-dir=DIR  Write the bundle into DIR\n"
	       "     --output=FILE     Write the bundle to FILE, - for stdout\n"
	       "     --kubeconfig=PATH Kubeconfig for the cluster files\n"
	       "     --journal-lines=N Appliance journal lines (1..20000)\n"
	       "     --log-lines=N     Lines per container log (1..5000)\n"
	       "     --no-cluster      Skip the cluster files and pod logs\n"
	       "     --no-network-checks Skip the DNS and HTTPS checks\n"
	       "     --via-agent       Let alga-agent build the bundle\n"
	       "     --root=DIR        Operate on the tree under DIR\n"
	       "     --journal-dir=DIR Read journal files from DIR\n"
	       "     --json            Print one JSON document\n"
	       "  -q --quiet           Print nothing on success\n"
	       "\n"
	       "See alga-bundle(8).\n",
	       program_invocation_short_name, program_invocation_short_name,
	       program_invocation_short_name);
	return 0;
}

static int parse_unsigned(const char *opt, const char *s, unsigned min, unsigned max,
			  unsigned *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end || s[0] == '-' || v < min || v > max)
		return log_error_errno(EINVAL, "%s wants %u..%u, not '%s'", opt, min, max, s);
	*ret = (unsigned)v;
	return 0;
}

static int parse_argv(int argc, char *argv[])
{
	enum {
		ARG_VERSION = 0x100,
		ARG_OUTPUT,
		ARG_KUBECONFIG,
		ARG_JOURNAL_LINES,
		ARG_LOG_LINES,
		ARG_NO_CLUSTER,
		ARG_NO_NETWORK_CHECKS,
		ARG_VIA_AGENT,
		ARG_ROOT,
		ARG_JOURNAL_DIR,
		ARG_JSON,
	};
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, ARG_VERSION },
		{ "output-dir", required_argument, NULL, 'o' },
		{ "output", required_argument, NULL, ARG_OUTPUT },
		{ "kubeconfig", required_argument, NULL, ARG_KUBECONFIG },
		{ "journal-lines", required_argument, NULL, ARG_JOURNAL_LINES },
		{ "log-lines", required_argument, NULL, ARG_LOG_LINES },
		{ "no-cluster", no_argument, NULL, ARG_NO_CLUSTER },
		{ "no-network-checks", no_argument, NULL, ARG_NO_NETWORK_CHECKS },
		{ "via-agent", no_argument, NULL, ARG_VIA_AGENT },
		{ "root", required_argument, NULL, ARG_ROOT },
		{ "journal-dir", required_argument, NULL, ARG_JOURNAL_DIR },
		{ "json", no_argument, NULL, ARG_JSON },
		{ "quiet", no_argument, NULL, 'q' },
		{}
	};
	int c, r;

	while ((c = getopt_long(argc, argv, "ho:q", options, NULL)) >= 0)
		switch (c) {
		case 'h':
			return help();
		case ARG_VERSION:
			return alga_print_version(program_invocation_short_name);
		case 'o':
			arg_output_dir = optarg;
			break;
		case ARG_OUTPUT:
			arg_output = optarg;
			break;
		case ARG_KUBECONFIG:
			arg_kubeconfig = optarg;
			break;
		case ARG_JOURNAL_LINES:
			r = parse_unsigned("--journal-lines", optarg, 1,
					   ALGA_BUNDLE_JOURNAL_LINES_MAX, &arg_journal_lines);
			if (r < 0)
				return r;
			break;
		case ARG_LOG_LINES:
			r = parse_unsigned("--log-lines", optarg, 1, ALGA_BUNDLE_LOG_LINES_MAX,
					   &arg_log_lines);
			if (r < 0)
				return r;
			break;
		case ARG_NO_CLUSTER:
			arg_no_cluster = true;
			break;
		case ARG_NO_NETWORK_CHECKS:
			arg_no_network_checks = true;
			break;
		case ARG_VIA_AGENT:
			arg_via_agent = true;
			break;
		case ARG_ROOT:
			arg_root = optarg;
			break;
		case ARG_JOURNAL_DIR:
			arg_journal_dir = optarg;
			break;
		case ARG_JSON:
			arg_json = true;
			break;
		case 'q':
			arg_quiet = true;
			break;
		case '?':
			return -EINVAL;
		default:
			assert(!"unhandled option");
		}

	if (arg_output_dir && arg_output)
		return log_error_errno(EINVAL, "-o and --output exclude each other");
	if (arg_via_agent && (arg_output_dir || arg_output || arg_journal_dir || arg_kubeconfig))
		return log_error_errno(EINVAL,
				       "--via-agent writes where the agent does: no -o, --output, "
				       "--kubeconfig or --journal-dir");
	return 1;
}

/* the host files of alga-agent's collectors (tools/alga-agent/collect.c) */
static int collect_host(void *userdata, struct json_object **ret)
{
	const struct collect_options *co = userdata;
	_cleanup_(json_object_putp) struct json_object *doc = NULL;
	struct json_object *files;
	int r;

	r = collect_support_bundle(co, &doc);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(doc, "files", &files))
		return -EBADMSG;
	*ret = json_object_get(files);
	return 0;
}

static int print_result(const char *path, uint64_t bytes, const char *sha256, unsigned files,
			unsigned failed, struct json_object *redactions)
{
	uint64_t total = 0;

	if (arg_json) {
		_cleanup_(json_object_putp) struct json_object *doc = json_object_new_object();

		if (!doc || alga_json_add(doc, "version", json_object_new_int(1)) < 0 ||
		    alga_json_add(doc, "ok", json_object_new_boolean(true)) < 0 ||
		    (path ? alga_json_add(doc, "path", json_object_new_string(path)) :
			    json_object_object_add(doc, "path", NULL)) < 0 ||
		    alga_json_add(doc, "bytes", json_object_new_int64((int64_t)bytes)) < 0 ||
		    alga_json_add(doc, "sha256", json_object_new_string(sha256)) < 0 ||
		    alga_json_add(doc, "files", json_object_new_int((int)files)) < 0 ||
		    alga_json_add(doc, "failed", json_object_new_int((int)failed)) < 0 ||
		    alga_json_add(doc, "redactions",
				  redactions ? json_object_get(redactions) : json_object_new_object()) < 0)
			return log_oom();
		return alga_json_print(doc, stdout);
	}
	if (arg_quiet)
		return 0;
	if (redactions) {
		json_object_object_foreach(redactions, k, v) {
			(void)k;
			total += (uint64_t)json_object_get_int64(v);
		}
	}
	/* the archive itself may be on stdout: the summary goes to stderr then */
	fprintf(path ? stdout : stderr,
		"%s\n  %" PRIu64 " bytes, sha256 %s\n  %u files, %u failed, %" PRIu64
		" redactions\n",
		strna(path), bytes, sha256, files, failed, total);
	return 0;
}

static int open_output(const char *root, struct alga_bundle_output **ret)
{
	_cleanup_free_ char *dir = NULL;
	int r;

	if (arg_output && streq(arg_output, "-")) {
		if (isatty(STDOUT_FILENO))
			return log_error_errno(EINVAL, "Refusing to write the archive to a terminal");
		r = alga_bundle_output_open_fd(STDOUT_FILENO, ret);
	} else if (arg_output) {
		r = alga_bundle_output_open_file(arg_output, ret);
		if (r < 0 && r != -ENOMEM)
			log_error_errno(r, "Failed to create '%s': %m", arg_output);
	} else {
		dir = arg_output_dir ? strdup(arg_output_dir) : alga_fs_path_join(root, ALGA_BUNDLE_DIR);
		if (!dir)
			return log_oom();
		r = alga_bundle_output_open_dir(dir, ret);
		if (r < 0 && r != -ENOMEM)
			log_error_errno(r, "Failed to create a bundle in '%s': %m", dir);
	}
	if (r == -ENOMEM)
		return log_oom();
	if (r < 0)
		return ALGA_EXIT_CANTCREAT;
	return 0;
}

static int write_bundle(void)
{
	_cleanup_(alga_bundle_output_freep) struct alga_bundle_output *out = NULL;
	_cleanup_(alga_bundle_result_freep) struct alga_bundle_result *res = NULL;
	const char *root = alga_root_pick(arg_root);
	struct collect_options co = {
		.root = root,
		.journal_dir = arg_journal_dir,
		.registry = arg_no_network_checks ? NULL : REGISTRY_HOST,
		.skip_journal = true,
	};
	struct alga_bundle_options o = {
		.root = root,
		.journal_dir = arg_journal_dir,
		.kubeconfig = arg_kubeconfig,
		.no_cluster = arg_no_cluster,
		.journal_lines = arg_journal_lines,
		.log_lines = arg_log_lines,
		.generator = "alga-bundle",
		.host = collect_host,
		.host_userdata = &co,
	};
	int r;

	/* naming a kubeconfig one may not read is not permitted, not a cluster failure */
	if (arg_kubeconfig && access(arg_kubeconfig, R_OK) < 0) {
		r = negative_errno();
		log_error_errno(r, "Cannot read the kubeconfig '%s': %m", arg_kubeconfig);
		return r == -EACCES || r == -EPERM ? ALGA_EXIT_NOPERM : -EINVAL;
	}

	r = open_output(root, &out);
	if (r != 0)
		return r;

	if (!arg_quiet && !arg_json && alga_on_tty())
		fprintf(stderr, "Collecting the support bundle...\n");
	r = alga_bundle_write(&o, TAKE_PTR(out), &res);
	if (r == -ENOMEM)
		return log_oom();
	if (r < 0)
		return log_error_errno(r, "Failed to write the support bundle: %m");

	return print_result(res->path, res->bytes, res->sha256, res->files, res->failed,
			    res->redactions);
}

/* --via-agent */

struct agent_reply {
	char *buf;
	size_t len;
};

static size_t agent_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct agent_reply *a = userdata;
	size_t n = size * nmemb;
	char *p;

	if (a->len + n > AGENT_RESPONSE_MAX)
		return 0;
	p = realloc(a->buf, a->len + n + 1);
	if (!p)
		return 0;
	memcpy(p + a->len, ptr, n);
	a->buf = p;
	a->len += n;
	a->buf[a->len] = '\0';
	return n;
}

static int via_agent(void)
{
	_cleanup_free_ char *sock = alga_fs_path_join(alga_root_pick(arg_root), AGENT_SOCKET);
	_cleanup_(json_object_putp) struct json_object *body = NULL, *reply = NULL;
	_cleanup_free_ char *detail = NULL;
	struct agent_reply a = {};
	struct curl_slist *hdr = NULL;
	const char *b, *path = NULL, *sha = "", *err = NULL;
	struct json_object *v, *red = NULL;
	long code = 0;
	CURL *c;
	CURLcode cc;
	int r;

	if (!sock)
		return log_oom();
	if (access(sock, W_OK) < 0) {
		r = negative_errno();
		log_error_errno(r, "Cannot use the agent's socket '%s': %m", sock);
		return r == -EACCES || r == -EPERM ? ALGA_EXIT_NOPERM : r;
	}

	body = json_object_new_object();
	if (!body)
		return log_oom();
	if ((arg_journal_lines &&
	     alga_json_add(body, "journalLines", json_object_new_int((int)arg_journal_lines)) < 0) ||
	    (arg_log_lines &&
	     alga_json_add(body, "logLines", json_object_new_int((int)arg_log_lines)) < 0) ||
	    alga_json_add(body, "cluster", json_object_new_boolean(!arg_no_cluster)) < 0)
		return log_oom();
	b = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return log_error_errno(EIO, "Failed to initialise libcurl");
	c = curl_easy_init();
	if (!c) {
		curl_global_cleanup();
		return log_oom();
	}
	hdr = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(c, CURLOPT_URL, "http://localhost/v1/support-bundles");
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, b);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, AGENT_TIMEOUT_SEC);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, agent_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdr);
	curl_global_cleanup();

	if (cc != CURLE_OK) {
		free(a.buf);
		return log_error_errno(EIO, "Failed to reach alga-agent at '%s': %s", sock,
				       curl_easy_strerror(cc));
	}
	r = alga_json_parse(a.buf ?: "", a.len, NULL, &reply, &detail);
	free(a.buf);
	if (r == -ENOMEM)
		return log_oom();
	if (r < 0)
		return log_error_errno(EPROTO, "alga-agent answered %ld with a bad body: %s", code,
				       strna(detail));
	if (json_object_object_get_ex(reply, "error", &v))
		err = json_object_get_string(v);
	if (code != 201)
		return log_error_errno(EIO, "alga-agent answered %ld: %s", code, strna(err));

	if (json_object_object_get_ex(reply, "path", &v))
		path = json_object_get_string(v);
	if (json_object_object_get_ex(reply, "sha256", &v))
		sha = json_object_get_string(v);
	(void)json_object_object_get_ex(reply, "redactions", &red);
	return print_result(path,
			    json_object_object_get_ex(reply, "bytes", &v) ?
				    (uint64_t)json_object_get_int64(v) : 0,
			    sha,
			    json_object_object_get_ex(reply, "files", &v) ?
				    (unsigned)json_object_get_int(v) : 0,
			    json_object_object_get_ex(reply, "failed", &v) ?
				    (unsigned)json_object_get_int(v) : 0,
			    json_object_is_type(red, json_type_object) ? red : NULL);
}

/* redact [FILE] */

static int stdout_write(const char *buf, size_t len, void *userdata)
{
	if (fwrite(buf, 1, len, stdout) != len)
		return -EIO;
	return 0;
}

static int verb_redact(int argc, char *argv[], void *userdata)
{
	_cleanup_(alga_redact_freep) struct alga_redact *r = NULL;
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	const char *path = argc > 1 ? argv[1] : "-";
	ssize_t n;
	int k;

	k = alga_bundle_redact_new(alga_root_pick(arg_root), stdout_write, NULL, &r);
	if (k < 0)
		return log_error_errno(k, "Failed to set up the redaction rules: %m");

	if (streq(path, "-"))
		fd = STDIN_FILENO;
	else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return log_error_errno(errno, "Failed to open '%s': %m", path);
	}
	buf = malloc(REDACT_READ_BUFFER);
	if (!buf)
		return log_oom();
	while ((n = read(fd, buf, REDACT_READ_BUFFER)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return log_error_errno(errno, "Failed to read '%s': %m", path);
		k = alga_redact_feed(r, buf, (size_t)n);
		if (k < 0)
			return log_error_errno(k, "Failed to redact '%s': %m", path);
	}
	if (fd == STDIN_FILENO)
		fd = -EBADF;
	k = alga_redact_finish(r);
	if (k < 0)
		return log_error_errno(k, "Failed to redact '%s': %m", path);
	if (fflush(stdout) != 0)
		return log_error_errno(EIO, "Failed to write the output: %m");
	return 0;
}

static int verb_rules(int argc, char *argv[], void *userdata)
{
	const struct alga_redact_rule_info *rules;
	size_t n;

	rules = alga_redact_rules(&n);
	if (arg_json) {
		_cleanup_(json_object_putp) struct json_object *doc = json_object_new_object(),
							       *list = json_object_new_array();

		if (!doc || !list)
			return log_oom();
		for (size_t i = 0; i < n; i++) {
			_cleanup_(json_object_putp) struct json_object *e = json_object_new_object();

			if (!e || alga_json_add(e, "id", json_object_new_string(rules[i].id)) < 0 ||
			    alga_json_add(e, "matches", json_object_new_string(rules[i].summary)) < 0 ||
			    alga_json_add(e, "becomes",
					  json_object_new_string(rules[i].replacement)) < 0 ||
			    alga_json_append(list, TAKE_PTR(e)) < 0)
				return log_oom();
		}
		if (alga_json_add(doc, "version", json_object_new_int(1)) < 0 ||
		    alga_json_add(doc, "rulesVersion", json_object_new_int(ALGA_REDACT_RULES_VERSION)) <
			    0 ||
		    alga_json_add(doc, "rules", TAKE_PTR(list)) < 0)
			return log_oom();
		return alga_json_print(doc, stdout);
	}

	printf("%-4s %-60s %s\n", "ID", "MATCHES", "BECOMES");
	for (size_t i = 0; i < n; i++)
		printf("%-4s %-60s %s\n", rules[i].id, rules[i].summary, rules[i].replacement);
	return 0;
}

static int verb_write(int argc, char *argv[], void *userdata)
{
	if (arg_via_agent)
		return via_agent();
	return write_bundle();
}

static int run(int argc, char *argv[])
{
	static const struct alga_verb verbs[] = {
		{ "write", 0, 0, verb_write },
		{ "redact", 0, 1, verb_redact },
		{ "rules", 0, 0, verb_rules },
		{}
	};
	int r;

	alga_log_open("alga-bundle");
	r = parse_argv(argc, argv);
	if (r <= 0)
		return r;
	if (optind == argc)
		return verb_write(0, NULL, NULL);
	return alga_verb_dispatch(verbs, NULL, argc - optind, argv + optind, NULL);
}

int main(int argc, char *argv[])
{
	return alga_exit_status(run(argc, argv));
}
