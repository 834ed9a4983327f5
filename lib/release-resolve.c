/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <json-c/json.h>
#include <yaml.h>

#include "alga-config.h"
#include "crash.h"
#include "fsutil.h"
#include "json.h"
#include "log.h"
#include "release-cache.h"
#include "release-resolve.h"

/* ---- small helpers ------------------------------------------------------------ */

static int strdup_to(const char *s, char **ret)
{
	char *t = NULL;

	if (s) {
		t = strdup(s);
		if (!t)
			return -ENOMEM;
	}
	free(*ret);
	*ret = t;
	return 0;
}

static int now_rfc3339(char **ret)
{
	struct tm tm;
	time_t t = time(NULL);
	char buf[32];

	if (!gmtime_r(&t, &tm))
		return -EIO;
	if (strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return -EIO;
	return strdup_to(buf, ret);
}

/* the error class of an errno a callee returned without filling reterr */
static enum alga_error_class errno_to_class(int r)
{
	switch (r) {
	case -EINVAL:
		return ALGA_ERROR_USAGE;
	case -ENOENT:
		return ALGA_ERROR_NOT_FOUND;
	case -EACCES:
		return ALGA_ERROR_AUTH;
	case -EPERM:
	case -E2BIG:
	case -EILSEQ:
		return ALGA_ERROR_INTEGRITY;
	case -EBADMSG:
	case -EMEDIUMTYPE:
	case -ENOTUNIQ:
		return ALGA_ERROR_ARTIFACT;
	case -EKEYREJECTED:
	case -ECONNABORTED:
		return ALGA_ERROR_TLS;
	case -EAGAIN:
	case -ETIMEDOUT:
	case -ETIME:
	case -ECONNREFUSED:
	case -ECONNRESET:
	case -EHOSTUNREACH:
	case -ENETUNREACH:
	case -ELOOP:
	case -EPROTO:
		return ALGA_ERROR_NETWORK;
	default:
		return ALGA_ERROR_INTERNAL;
	}
}

/* makes sure a failure leaves a class in reterr, keeping what a callee said */
static int error_ensure(struct alga_error *e, int r, const char *what)
{
	if (!e || r == -ENOMEM)
		return r;
	if (e->class == ALGA_ERROR_NONE)
		e->class = errno_to_class(r);
	if (!e->message)
		(void)alga_error_set(e, r, e->class, e->http_status, e->url, e->field, "%s: %s",
				     what, strerror(-r));
	return r;
}

static bool class_allows_fallback(enum alga_error_class c)
{
	return c == ALGA_ERROR_NETWORK || c == ALGA_ERROR_TLS;
}

/* ---- --dns-server: res_ninit against the given servers, pinned by lib/http ---------- */

struct dns_ctx {
	const char *const *servers;
};

/* the first A record of an answer; dn_skipname() keeps us clear of libresolv */
static int dns_first_a(const unsigned char *msg, int len, char **ret_addr)
{
	const unsigned char *p = msg + NS_HFIXEDSZ, *end = msg + len;
	unsigned qd, an;

	if (len < NS_HFIXEDSZ)
		return -EBADMSG;
	qd = (unsigned)(msg[4] << 8 | msg[5]);
	an = (unsigned)(msg[6] << 8 | msg[7]);

	for (unsigned i = 0; i < qd; i++) {
		int n = dn_skipname(p, end);

		if (n < 0 || end - p < n + 4)
			return -EBADMSG;
		p += n + 4;
	}
	for (unsigned i = 0; i < an; i++) {
		int n = dn_skipname(p, end);
		unsigned type, rdlen;

		if (n < 0 || end - p < n + 10)
			return -EBADMSG;
		p += n;
		type = (unsigned)(p[0] << 8 | p[1]);
		rdlen = (unsigned)(p[8] << 8 | p[9]);
		p += 10;
		if ((size_t)(end - p) < rdlen)
			return -EBADMSG;
		if (type == ns_t_a && rdlen == 4) {
			char buf[INET_ADDRSTRLEN];

			if (!inet_ntop(AF_INET, p, buf, sizeof(buf)))
				return -EBADMSG;
			*ret_addr = strdup(buf);
			return *ret_addr ? 1 : -ENOMEM;
		}
		p += rdlen;
	}
	return -ENOENT;
}

static int dns_resolve(const char *host, unsigned port, char **ret_addr, void *userdata)
{
	struct dns_ctx *d = userdata;
	struct __res_state st = {};
	unsigned char answer[NS_PACKETSZ * 4];
	struct in_addr a4;
	struct in6_addr a6;
	size_t n = 0;
	int len, r;

	/* numeric hosts need no lookup */
	if (inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1)
		return 0;
	if (res_ninit(&st) < 0)
		return -EIO;

	for (const char *const *s = d->servers; *s && n < MAXNS; s++, n++) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };

		if (inet_pton(AF_INET, *s, &sa.sin_addr) != 1) {
			res_nclose(&st);
			return -EINVAL;
		}
		st.nsaddr_list[n] = sa;
	}
	st.nscount = (int)n;

	len = res_nquery(&st, host, ns_c_in, ns_t_a, answer, sizeof(answer));
	res_nclose(&st);
	if (len < 0)
		return -EHOSTUNREACH;
	r = dns_first_a(answer, len, ret_addr);
	if (r < 0)
		return r == -ENOMEM ? r : -EHOSTUNREACH;
	log_debug("Resolved '%s' through --dns-server to %s (port %u)", host, *ret_addr, port);
	return 1;
}

/* ---- the cache (§4.5, resolutions.md A8), kept by lib/release-cache ------------------- */

static int open_cache_dir(const char *path, bool create)
{
	int fd;

	if (create) {
		int r = alga_fs_mkdir_p(path, 0750);

		if (r < 0)
			return r;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? negative_errno() : fd;
}

/*
 * The entry for key, re-verified by the load and parsed here again with
 * the caller's check (R4 for a channel key). Returns 1 with *ret_cache
 * (owning *ret_entry) and *ret_release, 0 when there is no entry or no
 * readable cache, -ESTALE when the entry failed verification (warned).
 */
static int cache_lookup(const char *dir, const char *key, const struct alga_release_check *check,
			struct alga_release_cache **ret_cache,
			const struct alga_release_cache_entry **ret_entry,
			struct alga_release **ret_release)
{
	_cleanup_(alga_release_cache_freep) struct alga_release_cache *c = NULL;
	_cleanup_free_ char *detail = NULL;
	_cleanup_close_ int fd = -EBADF;
	const struct alga_release_cache_entry *e;
	int r;

	fd = open_cache_dir(dir, false);
	if (fd < 0)
		return 0;
	r = alga_release_cache_load(fd, &c, &detail);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		log_warning_errno(r, "Cache '%s/%s' is unreadable, ignoring: %s", dir,
				  ALGA_RELEASE_CACHE_FILE, detail ?: strerror(-r));
		return 0;
	}
	r = alga_release_cache_find(c, key, &e, &detail);
	if (r == -ENOENT)
		return 0;
	if (r == 0) {
		free(detail);
		detail = NULL;
		r = alga_release_parse(e->config, e->config_len, check, ret_release, &detail);
	}
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		log_warning("Cache entry '%s' failed verification, skipping it: %s", key,
			    strna(detail));
		return -ESTALE;
	}
	*ret_entry = e;
	*ret_cache = TAKE_PTR(c);
	return 1;
}

/* fills res from a verified cache entry, taking release */
static int resolved_from_entry(struct alga_release_resolved *res,
			       const struct alga_release_cache_entry *e, struct alga_release *release)
{
	res->release = release;
	res->from_cache = true;
	res->config_size = e->config_len;
	res->config = malloc(e->config_len + 1);
	if (!res->config)
		return -ENOMEM;
	memcpy(res->config, e->config, e->config_len);
	res->config[e->config_len] = '\0';
	if (strdup_to(e->manifest_digest, &res->manifest_digest) < 0 ||
	    strdup_to(e->index_digest, &res->index_digest) < 0 ||
	    strdup_to(e->config_digest, &res->config_digest) < 0 ||
	    strdup_to(e->fetched_at, &res->fetched_at) < 0)
		return -ENOMEM;
	return 0;
}

/*
 * Writes res as the newest entry for key under the writers' lock. The
 * file is 0660 with the directory's group: a set-group-ID directory hands
 * its group on by itself, otherwise root sets it; root also hands the file
 * (and the lock) to uid, alga, who shares it with alga-setup.
 */
static int cache_store(const char *dir, const char *key, const struct alga_release_resolved *res,
		       uid_t uid)
{
	_cleanup_(alga_release_cache_freep) struct alga_release_cache *c = NULL;
	_cleanup_close_ int fd = -EBADF, lock = -EBADF;
	struct alga_release_cache_entry e = {
		.key = (char *)key,
		.manifest_digest = res->manifest_digest,
		.index_digest = res->index_digest,
		.config_digest = res->config_digest,
		.fetched_at = res->fetched_at,
		.config = res->config,
		.config_len = res->config_size,
		.valid = true,
	};
	struct stat st;
	gid_t gid = ALGA_GID_KEEP;
	int r;

	fd = open_cache_dir(dir, true);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (geteuid() == 0)
		gid = st.st_gid;
	else
		uid = ALGA_UID_KEEP;

	lock = alga_release_cache_lock(fd, uid, gid);
	if (lock < 0)
		return lock;

	r = alga_release_cache_load(fd, &c, NULL);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		/* a broken file is replaced by one holding this entry */
		c = alga_release_cache_free(c);
		r = alga_release_cache_new(&c);
		if (r < 0)
			return r;
	}
	r = alga_release_cache_put(c, &e);
	if (r < 0)
		return r;

	alga_crash_point("cache-write");
	r = alga_release_cache_save(fd, c, uid, gid);
	if (r < 0)
		return r;
	alga_crash_point("cache-written");
	return 0;
}

/* ---- the bundle (--verify-bundle) ---------------------------------------------------- */

struct alga_release_bundle_report *
alga_release_bundle_report_free(struct alga_release_bundle_report *b)
{
	if (!b)
		return NULL;
	for (size_t i = 0; i < b->n_files; i++)
		free(b->files[i]);
	free(b->files);
	free(b);
	return NULL;
}

static void archive_read_freep(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}

/* a yaml node of a mapping by key, or NULL */
static yaml_node_t *yaml_map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);

		if (k && k->type == YAML_SCALAR_NODE && streq((const char *)k->data.scalar.value, key))
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

static const char *yaml_scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int bundle_fail(struct alga_error *reterr, int r, enum alga_error_class class,
		       const char *field, const char *format, ...) _printf_(5, 6);
static int bundle_fail(struct alga_error *reterr, int r, enum alga_error_class class,
		       const char *field, const char *format, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	va_start(ap, format);
	if (vasprintf(&msg, format, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg)
		return -ENOMEM;
	return alga_error_set(reterr, r, class, 0, NULL, field, "%s", msg);
}

/* checks one HelmRelease document against the release (§4.5 --verify-bundle) */
static int check_helm_release(yaml_document_t *doc, yaml_node_t *root, const char *path,
			      const struct alga_release *r, struct alga_error *reterr)
{
	yaml_node_t *spec = yaml_map_get(doc, root, "spec");
	yaml_node_t *cspec = yaml_map_get(doc, yaml_map_get(doc, spec, "chart"), "spec");
	yaml_node_t *vf = yaml_map_get(doc, spec, "valuesFrom");
	const char *name = yaml_scalar(yaml_map_get(doc, yaml_map_get(doc, root, "metadata"), "name"));
	const char *chart = yaml_scalar(yaml_map_get(doc, cspec, "chart"));
	const char *version = yaml_scalar(yaml_map_get(doc, cspec, "version"));
	bool any_chart = false;
	int c;

	for (size_t i = 0; i < _ALGA_RELEASE_CHART_MAX; i++)
		any_chart = any_chart || r->charts[i];

	if (chart && any_chart) {
		_cleanup_free_ char *field = NULL;

		if (asprintf(&field, "charts.%s", chart) < 0)
			return -ENOMEM;
		c = alga_release_chart_from_string(chart);
		if (c < 0 || !r->charts[c])
			return bundle_fail(reterr, -EBADMSG, ALGA_ERROR_INVALID, field,
					   "Bundle file '%s': HelmRelease '%s' uses chart '%s', which "
					   "charts does not list", path, strna(name), chart);
		if (!version || !streq(version, r->charts[c]))
			return bundle_fail(reterr, -EBADMSG, ALGA_ERROR_INVALID, field,
					   "Bundle file '%s': HelmRelease '%s' pins chart '%s' at %s, "
					   "but charts.%s is %s", path, strna(name), chart,
					   strna(version), chart, r->charts[c]);
	}

	if (vf && vf->type == YAML_SEQUENCE_NODE)
		for (yaml_node_item_t *it = vf->data.sequence.items.start;
		     it < vf->data.sequence.items.top; it++) {
			yaml_node_t *item = yaml_document_get_node(doc, *it);
			const char *key = yaml_scalar(yaml_map_get(doc, item, "valuesKey"));
			bool found = false;

			if (!key)
				continue;
			for (size_t i = 0; i < _ALGA_RELEASE_COMPONENT_MAX; i++) {
				_cleanup_free_ char *want = NULL;

				if (asprintf(&want, "%s.%s.yaml", alga_release_component_to_string(i),
					     ALGA_RELEASE_VALUES_PROFILE) < 0)
					return -ENOMEM;
				found = found || streq(want, key);
			}
			if (!found)
				return bundle_fail(reterr, -EBADMSG, ALGA_ERROR_INVALID,
						   "profileValues",
						   "Bundle file '%s': HelmRelease '%s' reads valuesKey "
						   "'%s', which profileValues does not hold",
						   path, strna(name), key);
		}
	return 1;
}

/* parses a YAML file of the bundle and checks its HelmReleases; returns how many */
static int check_yaml_file(const char *path, const unsigned char *buf, size_t len,
			   const struct alga_release *r, struct alga_error *reterr)
{
	yaml_parser_t parser;
	int n = 0, ret = 0;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, buf, len);

	for (;;) {
		yaml_document_t doc;
		yaml_node_t *root;
		const char *kind;

		if (!yaml_parser_load(&parser, &doc)) {
			ret = bundle_fail(reterr, -EBADMSG, ALGA_ERROR_INVALID, NULL,
					  "Bundle file '%s' is not YAML: %s", path,
					  strna(parser.problem));
			break;
		}
		root = yaml_document_get_root_node(&doc);
		if (!root) {
			yaml_document_delete(&doc);
			break;
		}
		kind = yaml_scalar(yaml_map_get(&doc, root, "kind"));
		if (kind && streq(kind, "HelmRelease")) {
			ret = check_helm_release(&doc, root, path, r, reterr);
			if (ret > 0)
				n++;
		}
		yaml_document_delete(&doc);
		if (ret < 0)
			break;
	}
	yaml_parser_delete(&parser);
	return ret < 0 ? ret : n;
}

static bool path_is_safe(const char *p)
{
	const char *s = p;

	if (p[0] == '/')
		return false;
	while (*s) {
		size_t n = strcspn(s, "/");

		if (n == 2 && strneq(s, "..", 2))
			return false;
		s += n;
		if (*s == '/')
			s++;
	}
	return true;
}

static bool path_is_yaml(const char *p)
{
	size_t n = strlen(p);

	return (n > 5 && streq(p + n - 5, ".yaml")) || (n > 4 && streq(p + n - 4, ".yml"));
}

int alga_release_bundle_check(const void *data, size_t len, const struct alga_release *rel,
			      struct alga_release_bundle_report **ret, struct alga_error *reterr)
{
	_cleanup_(alga_release_bundle_report_freep) struct alga_release_bundle_report *b = NULL;
	_cleanup_(archive_read_freep) struct archive *a = NULL;
	struct archive_entry *entry;
	int r2;

	if (len > ALGA_RELEASE_BUNDLE_GZ_MAX)
		return bundle_fail(reterr, -E2BIG, ALGA_ERROR_INTEGRITY, NULL,
				   "Bundle layer is %zu bytes, over the %u byte limit", len,
				   ALGA_RELEASE_BUNDLE_GZ_MAX);

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->files = calloc(1, sizeof(char *));
	if (!b->files)
		return -ENOMEM;

	a = archive_read_new();
	if (!a)
		return -ENOMEM;
	if (archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
	    archive_read_support_format_tar(a) != ARCHIVE_OK)
		return bundle_fail(reterr, -EIO, ALGA_ERROR_INTERNAL, NULL,
				   "libarchive lacks gzip or tar support");
	if (archive_read_open_memory(a, data, len) != ARCHIVE_OK)
		return bundle_fail(reterr, -EBADMSG, ALGA_ERROR_INTEGRITY, NULL,
				   "Bundle layer is not a tar+gzip archive: %s",
				   strna(archive_error_string(a)));

	while ((r2 = archive_read_next_header(a, &entry)) == ARCHIVE_OK) {
		const char *path = archive_entry_pathname(entry);
		mode_t type = archive_entry_filetype(entry);
		_cleanup_free_ unsigned char *buf = NULL;
		size_t have = 0;
		char **files;
		int r;

		if (b->n_entries == 0 && archive_filter_code(a, 0) != ARCHIVE_FILTER_GZIP)
			break;
		if (!path)
			return bundle_fail(reterr, -EBADMSG, ALGA_ERROR_INTEGRITY, NULL,
					   "Bundle entry without a path");
		if (strlen(path) > ALGA_RELEASE_BUNDLE_PATH_MAX)
			return bundle_fail(reterr, -E2BIG, ALGA_ERROR_INTEGRITY, NULL,
					   "Bundle path of %zu bytes, over the %u byte limit",
					   strlen(path), ALGA_RELEASE_BUNDLE_PATH_MAX);
		if (++b->n_entries > ALGA_RELEASE_BUNDLE_ENTRIES_MAX)
			return bundle_fail(reterr, -E2BIG, ALGA_ERROR_INTEGRITY, NULL,
					   "Bundle has more than %u entries",
					   ALGA_RELEASE_BUNDLE_ENTRIES_MAX);
		if (!path_is_safe(path))
			return bundle_fail(reterr, -EPERM, ALGA_ERROR_INTEGRITY, NULL,
					   "Bundle entry '%.200s' has an unsafe path", path);
		if (archive_entry_hardlink(entry) || archive_entry_symlink(entry) ||
		    (type != AE_IFREG && type != AE_IFDIR))
			return bundle_fail(reterr, -EPERM, ALGA_ERROR_INTEGRITY, NULL,
					   "Bundle entry '%.200s' has an unsafe path: only files "
					   "and directories are allowed", path);
		if (str_has_prefix(path, "./"))
			path += 2;
		if (type == AE_IFDIR)
			continue;

		if (archive_entry_size_is_set(entry) &&
		    (uint64_t)archive_entry_size(entry) >
			    ALGA_RELEASE_BUNDLE_UNPACKED_MAX - b->unpacked_size)
			return bundle_fail(reterr, -E2BIG, ALGA_ERROR_INTEGRITY, NULL,
					   "Bundle unpacks to more than %u bytes",
					   ALGA_RELEASE_BUNDLE_UNPACKED_MAX);

		for (;;) {
			unsigned char chunk[16384], *nb;
			la_ssize_t n = archive_read_data(a, chunk, sizeof(chunk));

			if (n < 0)
				return bundle_fail(reterr, -EBADMSG, ALGA_ERROR_INTEGRITY, NULL,
						   "Bundle entry '%.200s' is unreadable: %s", path,
						   strna(archive_error_string(a)));
			if (n == 0)
				break;
			b->unpacked_size += (uint64_t)n;
			if (b->unpacked_size > ALGA_RELEASE_BUNDLE_UNPACKED_MAX)
				return bundle_fail(reterr, -E2BIG, ALGA_ERROR_INTEGRITY, NULL,
						   "Bundle unpacks to more than %u bytes",
						   ALGA_RELEASE_BUNDLE_UNPACKED_MAX);
			if (!path_is_yaml(path))
				continue;
			if (have + (size_t)n > ALGA_RELEASE_BUNDLE_YAML_MAX)
				return bundle_fail(reterr, -E2BIG, ALGA_ERROR_INTEGRITY, NULL,
						   "Bundle file '%.200s' is over %u bytes", path,
						   ALGA_RELEASE_BUNDLE_YAML_MAX);
			nb = realloc(buf, have + (size_t)n + 1);
			if (!nb)
				return -ENOMEM;
			buf = nb;
			memcpy(buf + have, chunk, (size_t)n);
			have += (size_t)n;
		}

		files = reallocarray(b->files, b->n_files + 2, sizeof(char *));
		if (!files)
			return -ENOMEM;
		b->files = files;
		b->files[b->n_files] = strdup(path);
		if (!b->files[b->n_files])
			return -ENOMEM;
		b->files[++b->n_files] = NULL;

		if (path_is_yaml(path)) {
			r = check_yaml_file(path, buf ?: (const unsigned char *)"", have, rel,
					    reterr);
			if (r < 0)
				return r;
			b->n_helm_releases += (size_t)r;
		}
	}
	/* the layer is tar+gzip (§4.2); libarchive would read a bare tar too */
	if (archive_filter_code(a, 0) != ARCHIVE_FILTER_GZIP)
		return bundle_fail(reterr, -EBADMSG, ALGA_ERROR_INTEGRITY, NULL,
				   "Bundle layer is not gzip-compressed");
	if (r2 != ARCHIVE_EOF)
		return bundle_fail(reterr, -EBADMSG, ALGA_ERROR_INTEGRITY, NULL,
				   "Bundle layer is a broken archive: %s",
				   strna(archive_error_string(a)));

	*ret = TAKE_PTR(b);
	return 0;
}

/* ---- resolve -------------------------------------------------------------------------- */

struct alga_release_resolved *alga_release_resolved_free(struct alga_release_resolved *r)
{
	if (!r)
		return NULL;
	alga_release_free(r->release);
	free(r->fetched_at);
	free(r->registry);
	free(r->repository);
	free(r->reference);
	free(r->manifest_digest);
	free(r->index_digest);
	free(r->config_digest);
	free(r->config_media_type);
	free(r->config);
	alga_error_clear(&r->fallback_error);
	alga_release_bundle_report_free(r->bundle);
	free(r);
	return NULL;
}

static int check_options(const struct alga_release_resolve_options *o, struct alga_error *reterr)
{
	if (!!o->channel == !!o->ref)
		return alga_error_set(reterr, -EINVAL, ALGA_ERROR_USAGE, 0, NULL, NULL,
				      "Exactly one of a channel and a reference is needed");
	if (o->channel && alga_release_channel_from_string(o->channel) < 0)
		return alga_error_set(reterr, -EINVAL, ALGA_ERROR_USAGE, 0, NULL, "channel",
				      "Unknown channel '%s', allowed: stable, nightly", o->channel);
	if (o->ref && !alga_oci_tag_is_valid(o->ref) && !alga_oci_digest_is_valid(o->ref))
		return alga_error_set(reterr, -EINVAL, ALGA_ERROR_USAGE, 0, NULL, "ref",
				      "Invalid reference '%.80s': a version tag or sha256:<64 hex>",
				      o->ref);
	if (o->timeout_sec != 0 && (o->timeout_sec < ALGA_RELEASE_RESOLVE_TIMEOUT_MIN_SEC ||
				    o->timeout_sec > ALGA_RELEASE_RESOLVE_TIMEOUT_MAX_SEC))
		return alga_error_set(reterr, -EINVAL, ALGA_ERROR_USAGE, 0, NULL, "timeout",
				      "Timeout %u is out of range, allowed: %u-%u seconds",
				      o->timeout_sec, ALGA_RELEASE_RESOLVE_TIMEOUT_MIN_SEC,
				      ALGA_RELEASE_RESOLVE_TIMEOUT_MAX_SEC);
	if (o->cache_mode >= _ALGA_RELEASE_CACHE_MODE_MAX)
		return alga_error_set(reterr, -EINVAL, ALGA_ERROR_USAGE, 0, NULL, NULL,
				      "Unknown cache mode");
	return 0;
}

/* a failed release parse in error form: class invalid, the field the detail names */
static int release_error(struct alga_error *reterr, int r, const char *detail)
{
	_cleanup_free_ char *field = NULL;

	if (r == -ENOMEM)
		return r;
	/* details start with the JSON path ("images.algaCore: ...") when they name one */
	if (detail) {
		size_t n = strcspn(detail, ": ");

		if (n > 0 && detail[n] == ':')
			field = strndup(detail, n);
	}
	return alga_error_set(reterr, r, ALGA_ERROR_INVALID, 0, NULL, field, "Invalid release: %s",
			      strna(detail));
}

/* the cache only: --cached, or the fallback after a network or TLS failure */
static int resolve_from_cache(const struct alga_release_resolve_options *o, const char *key,
			      const struct alga_release_check *check,
			      struct alga_release_resolved *res, struct alga_error *reterr)
{
	_cleanup_(alga_release_cache_freep) struct alga_release_cache *c = NULL;
	_cleanup_(alga_release_freep) struct alga_release *release = NULL;
	const struct alga_release_cache_entry *e = NULL;
	int r;

	if (!o->cache_dir)
		return alga_error_set(reterr, -ENOENT, ALGA_ERROR_NOT_FOUND, 0, NULL, NULL,
				      "No cache directory");
	r = cache_lookup(o->cache_dir, key, check, &c, &e, &release);
	if (r == -ENOMEM)
		return r;
	if (r == -ESTALE)
		return alga_error_set(reterr, -ENOENT, ALGA_ERROR_NOT_FOUND, 0, NULL, NULL,
				      "Cache entry '%s' failed verification", key);
	if (r == 0)
		return alga_error_set(reterr, -ENOENT, ALGA_ERROR_NOT_FOUND, 0, NULL, NULL,
				      "No cache entry for '%s'", key);

	r = resolved_from_entry(res, e, release);
	if (r < 0)
		return r;
	TAKE_PTR(release);
	return 0;
}

/* the blob of an unchanged manifest, from the cache (T31); 1 when reused */
static int reuse_cached_blob(const struct alga_release_resolve_options *o, const char *key,
			     const struct alga_oci_manifest *m, char **ret_data, size_t *ret_size)
{
	_cleanup_(alga_release_cache_freep) struct alga_release_cache *c = NULL;
	_cleanup_(alga_release_freep) struct alga_release *release = NULL;
	const struct alga_release_cache_entry *e = NULL;
	int r;

	if (!o->cache_dir || o->cache_mode == ALGA_RELEASE_CACHE_NONE)
		return 0;
	/* no channel check here: the parse after this applies it */
	r = cache_lookup(o->cache_dir, key, NULL, &c, &e, &release);
	if (r <= 0)
		return r == -ENOMEM ? r : 0;
	if (!streq(e->manifest_digest, m->digest) || !streq(e->config_digest, m->config.digest) ||
	    m->config.size < 0 || e->config_len != (size_t)m->config.size)
		return 0;

	*ret_data = malloc(e->config_len + 1);
	if (!*ret_data)
		return -ENOMEM;
	memcpy(*ret_data, e->config, e->config_len);
	(*ret_data)[e->config_len] = '\0';
	*ret_size = e->config_len;
	return 1;
}

static int verify_bundle(struct alga_oci_client *c, struct alga_release_resolved *res,
			 struct alga_error *reterr)
{
	_cleanup_(alga_oci_ref_freep) struct alga_oci_ref *bref = NULL, *tmp = NULL;
	_cleanup_(alga_oci_artifact_freep) struct alga_oci_artifact *art = NULL;
	_cleanup_free_ char *detail = NULL, *data = NULL;
	const struct alga_oci_manifest *m;
	const struct alga_release *rel = res->release;
	size_t size;
	int r;

	r = alga_oci_ref_parse(rel->config_repository, NULL, &tmp, &detail);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return alga_error_set(reterr, -EBADMSG, ALGA_ERROR_INVALID, 0, NULL,
				      "config.repository", "Invalid config.repository: %s",
				      strna(detail));
	r = alga_oci_ref_new(tmp->registry, tmp->repository, NULL, rel->config_digest, &bref,
			     &detail);
	if (r < 0)
		return r == -ENOMEM ? r
				    : alga_error_set(reterr, -EBADMSG, ALGA_ERROR_INVALID, 0, NULL,
						     "config.digest", "Invalid config.digest");

	r = alga_oci_resolve_artifact(c, bref, alga_oci_want_bundle(), &art, reterr);
	if (r < 0)
		return error_ensure(reterr, r, "Failed to fetch the config bundle");
	m = art->manifest;
	if (m->n_layers != 1)
		return alga_error_set(reterr, -EMEDIUMTYPE, ALGA_ERROR_ARTIFACT, 0, NULL, "layers",
				      "Config bundle has %zu layers, expected 1", m->n_layers);
	if (m->layers[0].size < 0 || (uint64_t)m->layers[0].size > ALGA_RELEASE_BUNDLE_GZ_MAX)
		return alga_error_set(reterr, -E2BIG, ALGA_ERROR_INTEGRITY, 0, NULL, "layers[0].size",
				      "Config bundle layer is larger than %u bytes",
				      ALGA_RELEASE_BUNDLE_GZ_MAX);

	r = alga_oci_fetch_blob(c, bref, &m->layers[0], ALGA_RELEASE_BUNDLE_GZ_MAX, &data, &size,
				reterr);
	if (r < 0)
		return error_ensure(reterr, r, "Failed to fetch the config bundle layer");

	return alga_release_bundle_check(data, size, rel, &res->bundle, reterr);
}

static int resolve_from_registry(const struct alga_release_resolve_options *o, const char *key,
				 const struct alga_release_check *check,
				 struct alga_release_resolved *res, struct alga_error *reterr)
{
	_cleanup_(alga_oci_client_freep) struct alga_oci_client *c = NULL;
	_cleanup_(alga_oci_ref_freep) struct alga_oci_ref *ref = NULL;
	_cleanup_(alga_oci_artifact_freep) struct alga_oci_artifact *art = NULL;
	_cleanup_free_ char *detail = NULL, *data = NULL, *ua = NULL;
	struct dns_ctx dns = { .servers = o->dns_servers };
	struct alga_oci_options oo = {
		.insecure = o->insecure,
		.ca_file = o->ca_file,
		.timeout_sec = o->timeout_sec,
		.retry_delay_ms = o->retry_delay_ms,
		.user_agent = o->user_agent,
	};
	const struct alga_oci_manifest *m;
	size_t size = 0;
	int r;

	if (!oo.user_agent) {
		if (asprintf(&ua, "alga-resolve/%s", ALGA_VERSION) < 0)
			return -ENOMEM;
		oo.user_agent = ua;
	}
	if (o->dns_servers && o->dns_servers[0]) {
		oo.resolve = dns_resolve;
		oo.resolve_userdata = &dns;
	}

	r = alga_oci_ref_new(res->registry, res->repository,
			     o->channel ?: (alga_oci_digest_is_valid(o->ref) ? NULL : o->ref),
			     o->ref && alga_oci_digest_is_valid(o->ref) ? o->ref : NULL, &ref, &detail);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return alga_error_set(reterr, -EINVAL, ALGA_ERROR_USAGE, 0, NULL, NULL,
				      "Invalid reference: %s", strna(detail));

	r = alga_oci_client_new(&oo, &c);
	if (r < 0)
		return alga_error_set(reterr, r, ALGA_ERROR_INTERNAL, 0, NULL, NULL,
				      "Failed to set up the registry client: %s", strerror(-r));

	log_debug("Resolving %s/%s %s '%s'%s", res->registry, res->repository,
		  o->channel ? "channel" : "reference", res->reference,
		  o->insecure ? " over plain HTTP" : "");
	r = alga_oci_resolve_artifact(c, ref, alga_oci_want_release(), &art, reterr);
	alga_oci_client_get_stats(c, &res->stats);
	if (r < 0)
		return error_ensure(reterr, r, "Failed to fetch the release manifest");
	m = art->manifest;
	log_debug("Release manifest %s%s%s, config %s (%" PRIi64 " bytes, %s)", m->digest,
		  art->index_digest ? " from index " : "", strempty(art->index_digest),
		  m->config.digest, m->config.size, m->config.media_type);

	if (strdup_to(m->digest, &res->manifest_digest) < 0 ||
	    strdup_to(art->index_digest, &res->index_digest) < 0 ||
	    strdup_to(m->config.digest, &res->config_digest) < 0 ||
	    strdup_to(m->config.media_type, &res->config_media_type) < 0)
		return -ENOMEM;

	/* an unchanged manifest digest reuses the verified blob: no blob GET */
	r = reuse_cached_blob(o, key, m, &data, &size);
	if (r < 0)
		return r;
	res->blob_reused = r > 0;
	if (res->blob_reused)
		log_debug("Manifest unchanged since the cached copy: config blob reused");
	else {
		r = alga_oci_fetch_blob(c, ref, &m->config, ALGA_OCI_CONFIG_MAX, &data, &size, reterr);
		alga_oci_client_get_stats(c, &res->stats);
		if (r < 0)
			return error_ensure(reterr, r, "Failed to fetch the release config blob");
	}

	r = alga_release_parse(data, size, check, &res->release, &detail);
	if (r < 0)
		return release_error(reterr, r, detail);
	res->config = TAKE_PTR(data);
	res->config_size = size;

	r = now_rfc3339(&res->fetched_at);
	if (r < 0)
		return r;

	if (o->verify_bundle) {
		r = verify_bundle(c, res, reterr);
		alga_oci_client_get_stats(c, &res->stats);
		if (r < 0)
			return r;
	}
	return 0;
}

int alga_release_resolve(const struct alga_release_resolve_options *o,
			 struct alga_release_resolved **ret, struct alga_error *reterr)
{
	_cleanup_(alga_release_resolved_freep) struct alga_release_resolved *res = NULL;
	_cleanup_free_ char *key = NULL;
	struct alga_release_check check = { .channel = o->channel, .host_version = o->host_version };
	int r;

	r = check_options(o, reterr);
	if (r < 0)
		return r;

	res = calloc(1, sizeof(*res));
	if (!res)
		return -ENOMEM;
	if (strdup_to(o->registry ?: ALGA_RELEASE_RESOLVE_REGISTRY_DEFAULT, &res->registry) < 0 ||
	    strdup_to(o->repository ?: ALGA_RELEASE_RESOLVE_REPOSITORY_DEFAULT,
		      &res->repository) < 0 ||
	    strdup_to(o->channel ?: o->ref, &res->reference) < 0)
		return -ENOMEM;
	if (!alga_oci_registry_is_valid(res->registry))
		return alga_error_set(reterr, -EINVAL, ALGA_ERROR_USAGE, 0, NULL, "registry",
				      "Invalid registry '%.80s': host[:port]", res->registry);
	if (!alga_oci_repository_is_valid(res->repository))
		return alga_error_set(reterr, -EINVAL, ALGA_ERROR_USAGE, 0, NULL, "repository",
				      "Invalid repository '%.80s'", res->repository);
	r = alga_release_cache_key(res->registry, res->repository, res->reference, &key);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return alga_error_set(reterr, r, ALGA_ERROR_USAGE, 0, NULL, NULL,
				      "Reference too long for the cache key");

	if (o->cache_mode == ALGA_RELEASE_CACHE_ONLY) {
		r = resolve_from_cache(o, key, &check, res, reterr);
		if (r < 0)
			return r;
		*ret = TAKE_PTR(res);
		return 0;
	}

	r = resolve_from_registry(o, key, &check, res, reterr);
	if (r < 0 && o->cache_mode == ALGA_RELEASE_CACHE_FALLBACK && reterr &&
	    class_allows_fallback(reterr->class)) {
		struct alga_error cerr = {};
		struct alga_oci_stats stats = res->stats;

		/* a fresh result for the cached copy; the registry's error is kept */
		alga_release_free(TAKE_PTR(res->release));
		if (resolve_from_cache(o, key, &check, res, &cerr) < 0) {
			alga_error_clear(&cerr);
			return r;
		}
		res->stale = true;
		res->stats = stats;
		res->fallback_error = *reterr;
		*reterr = (struct alga_error){};
		*ret = TAKE_PTR(res);
		return 0;
	}
	if (r < 0)
		return r;

	/* written only after full success; a failed write warns, the resolve stands */
	if (o->cache_dir && o->cache_mode != ALGA_RELEASE_CACHE_NONE) {
		r = cache_store(o->cache_dir, key, res, o->cache_uid);
		if (r >= 0)
			log_debug("Cache entry '%s' written to '%s'", key, o->cache_dir);
		res->cache_written = r >= 0;
		res->cache_error = r < 0 ? r : 0;
	}

	*ret = TAKE_PTR(res);
	return 0;
}

/* ---- output ----------------------------------------------------------------------- */

/* key = the string, or null when value is NULL (alga_json_add() takes NULL for -ENOMEM) */
static int entry_add(struct json_object *o, const char *key, const char *value)
{
	if (!value)
		return json_object_object_add(o, key, NULL) < 0 ? -ENOMEM : 0;
	return alga_json_add(o, key, json_object_new_string(value));
}

int alga_release_resolved_to_json(const struct alga_release_resolved *r, struct json_object **ret)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	struct json_object *rel = NULL;
	int k;

	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	if (alga_release_to_json(r->release, &rel) < 0)
		return -ENOMEM;

	if (alga_json_add(o, "version", json_object_new_int(1)) < 0 ||
	    alga_json_add(o, "source", json_object_new_string(r->from_cache ? "cache" : "registry")) < 0 ||
	    alga_json_add(o, "stale", json_object_new_boolean(r->stale)) < 0 ||
	    entry_add(o, "fetchedAt", r->fetched_at) < 0 ||
	    entry_add(o, "registry", r->registry) < 0 ||
	    entry_add(o, "repository", r->repository) < 0 ||
	    entry_add(o, "reference", r->reference) < 0 ||
	    entry_add(o, "manifestDigest", r->manifest_digest) < 0 ||
	    entry_add(o, "indexDigest", r->index_digest) < 0 ||
	    entry_add(o, "configDigest", r->config_digest) < 0 ||
	    entry_add(o, "configMediaType", r->config_media_type) < 0 ||
	    alga_json_add(o, "release", rel) < 0)
		return -ENOMEM;

	if (r->bundle) {
		struct json_object *b = json_object_new_object(), *files = json_object_new_array();

		if (!b || !files) {
			json_object_put(b);
			json_object_put(files);
			return -ENOMEM;
		}
		if (alga_json_add(b, "files", files) < 0 ||
		    alga_json_add(b, "entries", json_object_new_int64((int64_t)r->bundle->n_entries)) < 0 ||
		    alga_json_add(b, "unpackedSize",
				  json_object_new_int64((int64_t)r->bundle->unpacked_size)) < 0 ||
		    alga_json_add(b, "helmReleases",
				  json_object_new_int64((int64_t)r->bundle->n_helm_releases)) < 0) {
			json_object_put(b);
			return -ENOMEM;
		}
		for (size_t i = 0; i < r->bundle->n_files; i++) {
			k = alga_json_append(files, json_object_new_string(r->bundle->files[i]));
			if (k < 0) {
				json_object_put(b);
				return k;
			}
		}
		if (alga_json_add(o, "bundle", b) < 0)
			return -ENOMEM;
	}

	*ret = TAKE_PTR(o);
	return 0;
}

int alga_release_error_to_json(const struct alga_error *e, struct json_object **ret)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	struct json_object *err;

	o = json_object_new_object();
	err = json_object_new_object();
	if (!o || !err) {
		json_object_put(err);
		return -ENOMEM;
	}
	if (alga_json_add(o, "version", json_object_new_int(1)) < 0 ||
	    alga_json_add(o, "error", err) < 0)
		return -ENOMEM;
	if (alga_json_add(err, "class", json_object_new_string(alga_error_class_to_string(e->class))) < 0 ||
	    entry_add(err, "code", e->code) < 0 ||
	    entry_add(err, "field", e->field) < 0 ||
	    entry_add(err, "message", e->message) < 0 ||
	    (e->http_status ? alga_json_add(err, "httpStatus", json_object_new_int64(e->http_status))
			     : entry_add(err, "httpStatus", NULL)) < 0 ||
	    entry_add(err, "url", e->url) < 0)
		return -ENOMEM;

	*ret = TAKE_PTR(o);
	return 0;
}
