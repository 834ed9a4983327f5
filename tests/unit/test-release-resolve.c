/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lib/release-resolve without a registry: the option checks (T32's
 * library side), the cache read with re-verification (T28, T30), the
 * failure document of §4.5, and the bundle lister of --verify-bundle
 * (T38, T39), each cap at one past its limit.
 */
#include <fcntl.h>
#include <glib.h>
#include <string.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>
#include <json-c/json.h>

#include "alga-test.h"
#include "json.h"
#include "release-resolve.h"

static char *read_release(size_t *ret_len)
{
	g_autofree char *path =
		g_test_build_filename(G_TEST_DIST, "fixtures", "release", "stable.json", NULL);
	g_autoptr(GError) error = NULL;
	char *text = NULL;
	gsize len;

	g_assert_true(g_file_get_contents(path, &text, &len, &error));
	*ret_len = len;
	return text;
}

static struct alga_release *parse_release(void)
{
	g_autofree char *text = NULL;
	struct alga_release *r = NULL;
	size_t len;

	text = read_release(&len);
	g_assert_cmpint(alga_release_parse(text, len, NULL, &r, NULL), ==, 0);
	return r;
}

/* ---- tar.gz built in memory ------------------------------------------------------ */

struct entry {
	const char *path;
	mode_t type;        /* AE_IFREG, AE_IFDIR, AE_IFLNK */
	const char *data;   /* file contents, or the link target */
	size_t zeros;       /* a file of this many zero bytes instead */
	bool hardlink;
};

static GByteArray *make_tgz(const struct entry *entries, size_t n)
{
	struct archive *a = archive_write_new();
	size_t cap = 1024 * 1024 + 64 * 1024 * 1024 / 512, used = 0;
	GByteArray *out;
	void *buf = g_malloc(cap);

	g_assert_cmpint(archive_write_add_filter_gzip(a), ==, ARCHIVE_OK);
	g_assert_cmpint(archive_write_set_format_pax_restricted(a), ==, ARCHIVE_OK);
	g_assert_cmpint(archive_write_set_bytes_in_last_block(a, 1), ==, ARCHIVE_OK);
	g_assert_cmpint(archive_write_open_memory(a, buf, cap, &used), ==, ARCHIVE_OK);

	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		const struct entry *x = &entries[i];
		size_t size = x->zeros ?: (x->type == AE_IFREG && x->data ? strlen(x->data) : 0);

		archive_entry_set_pathname(e, x->path);
		archive_entry_set_filetype(e, x->hardlink ? AE_IFREG : x->type);
		archive_entry_set_perm(e, x->type == AE_IFDIR ? 0755 : 0644);
		if (x->type == AE_IFLNK)
			archive_entry_set_symlink(e, x->data);
		if (x->hardlink)
			archive_entry_set_hardlink(e, x->data);
		if (x->type == AE_IFREG && !x->hardlink)
			archive_entry_set_size(e, (la_int64_t)size);
		g_assert_cmpint(archive_write_header(a, e), ==, ARCHIVE_OK);
		if (x->type == AE_IFREG && !x->hardlink) {
			if (x->zeros) {
				g_autofree char *z = g_malloc0(1024 * 1024);

				for (size_t left = x->zeros; left > 0;) {
					size_t k = MIN(left, (size_t)1024 * 1024);

					g_assert_cmpint(archive_write_data(a, z, k), ==, (la_ssize_t)k);
					left -= k;
				}
			} else if (size > 0)
				g_assert_cmpint(archive_write_data(a, x->data, size), ==,
						(la_ssize_t)size);
		}
		archive_entry_free(e);
	}
	g_assert_cmpint(archive_write_close(a), ==, ARCHIVE_OK);
	archive_write_free(a);

	out = g_byte_array_new();
	g_byte_array_append(out, buf, (guint)used);
	g_free(buf);
	return out;
}

static int check(const struct entry *entries, size_t n, struct alga_error *e,
		 struct alga_release_bundle_report **ret)
{
	g_autoptr(GByteArray) tgz = make_tgz(entries, n);
	_cleanup_(alga_release_freep) struct alga_release *r = parse_release();

	return alga_release_bundle_check(tgz->data, tgz->len, r, ret, e);
}

#define HELM_RELEASE(chart, version, key)                                  \
	"apiVersion: helm.toolkit.fluxcd.io/v2\n"                            \
	"kind: HelmRelease\n"                                                \
	"metadata:\n  name: " chart "\n  namespace: alga-system\n"          \
	"spec:\n  chart:\n    spec:\n      chart: " chart "\n"              \
	"      version: " version "\n"                                       \
	"  valuesFrom:\n    - kind: ConfigMap\n      name: appliance-values-" \
	chart "\n      valuesKey: " key "\n"

static void test_bundle_ok(void)
{
	const struct entry entries[] = {
		{ "base", AE_IFDIR },
		{ "base/kustomization.yaml", AE_IFREG, "resources: [background]\n" },
		{ "./base/background/temporal.yaml", AE_IFREG,
		  "---\n" HELM_RELEASE("temporal", "0.1.0", "temporal.single-node.yaml")
		  "---\nkind: ConfigMap\nmetadata: {name: x}\n" },
	};
	_cleanup_(alga_release_bundle_report_freep) struct alga_release_bundle_report *b = NULL;
	struct alga_error e = {};

	g_assert_cmpint(check(entries, G_N_ELEMENTS(entries), &e, &b), ==, 0);
	g_assert_cmpuint(b->n_files, ==, 2);
	g_assert_cmpstr(b->files[0], ==, "base/kustomization.yaml");
	g_assert_cmpstr(b->files[1], ==, "base/background/temporal.yaml");
	g_assert_null(b->files[2]);
	g_assert_cmpuint(b->n_entries, ==, 3);
	g_assert_cmpuint(b->n_helm_releases, ==, 1);
	alga_error_clear(&e);
}

static void test_bundle_chart_mismatch(void)
{
	const struct entry entries[] = {
		{ "t.yaml", AE_IFREG, HELM_RELEASE("temporal", "0.2.0", "temporal.single-node.yaml") },
	};
	struct alga_release_bundle_report *b = NULL;
	struct alga_error e = {};

	g_assert_cmpint(check(entries, 1, &e, &b), ==, -EBADMSG);
	g_assert_null(b);
	g_assert_cmpint(e.class, ==, ALGA_ERROR_INVALID);
	g_assert_cmpstr(e.field, ==, "charts.temporal");
	g_assert_nonnull(strstr(e.message, "0.2.0"));
	alga_error_clear(&e);
}

static void test_bundle_chart_unlisted(void)
{
	const struct entry entries[] = {
		{ "t.yaml", AE_IFREG, HELM_RELEASE("redis", "1.0.0", "temporal.single-node.yaml") },
	};
	struct alga_release_bundle_report *b = NULL;
	struct alga_error e = {};

	g_assert_cmpint(check(entries, 1, &e, &b), ==, -EBADMSG);
	g_assert_cmpstr(e.field, ==, "charts.redis");
	alga_error_clear(&e);
}

static void test_bundle_values_key(void)
{
	const struct entry entries[] = {
		{ "t.yaml", AE_IFREG, HELM_RELEASE("temporal", "0.1.0", "temporal.multi-node.yaml") },
	};
	struct alga_release_bundle_report *b = NULL;
	struct alga_error e = {};

	g_assert_cmpint(check(entries, 1, &e, &b), ==, -EBADMSG);
	g_assert_cmpint(e.class, ==, ALGA_ERROR_INVALID);
	g_assert_cmpstr(e.field, ==, "profileValues");
	g_assert_nonnull(strstr(e.message, "temporal.multi-node.yaml"));
	alga_error_clear(&e);
}

static void test_bundle_unsafe(void)
{
	const struct entry cases[][2] = {
		{ { "base/x.yaml", AE_IFREG, "a: 1\n" }, { "../../etc/passwd", AE_IFREG, "root\n" } },
		{ { "base/x.yaml", AE_IFREG, "a: 1\n" }, { "/abs", AE_IFREG, "x\n" } },
		{ { "base/x.yaml", AE_IFREG, "a: 1\n" }, { "base/../../x", AE_IFREG, "x\n" } },
		{ { "base/x.yaml", AE_IFREG, "a: 1\n" }, { "base/evil", AE_IFLNK, "/etc/shadow" } },
		{ { "base/x.yaml", AE_IFREG, "a: 1\n" },
		  { "base/hard", AE_IFREG, "base/x.yaml", 0, true } },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct alga_release_bundle_report *b = NULL;
		struct alga_error e = {};

		g_assert_cmpint(check(cases[i], 2, &e, &b), ==, -EPERM);
		g_assert_null(b);
		g_assert_cmpint(e.class, ==, ALGA_ERROR_INTEGRITY);
		g_assert_nonnull(strstr(e.message, "unsafe path"));
		alga_error_clear(&e);
	}
}

static void test_bundle_dotdot_names_are_fine(void)
{
	/* "..." and "a..b" are names, not parent references */
	const struct entry entries[] = {
		{ "base/...", AE_IFREG, "x\n" },
		{ "base/a..b", AE_IFREG, "x\n" },
	};
	_cleanup_(alga_release_bundle_report_freep) struct alga_release_bundle_report *b = NULL;

	g_assert_cmpint(check(entries, 2, NULL, &b), ==, 0);
	g_assert_cmpuint(b->n_files, ==, 2);
}

static void test_bundle_entries_max(void)
{
	for (size_t n = ALGA_RELEASE_BUNDLE_ENTRIES_MAX; n <= ALGA_RELEASE_BUNDLE_ENTRIES_MAX + 1; n++) {
		g_autofree struct entry *entries = g_new0(struct entry, n);
		g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
		struct alga_release_bundle_report *b = NULL;
		struct alga_error e = {};
		int r;

		for (size_t i = 0; i < n; i++) {
			char *p = g_strdup_printf("d%zu", i);

			g_ptr_array_add(names, p);
			entries[i] = (struct entry){ p, AE_IFDIR };
		}
		r = check(entries, n, &e, &b);
		if (n == ALGA_RELEASE_BUNDLE_ENTRIES_MAX) {
			g_assert_cmpint(r, ==, 0);
			g_assert_cmpuint(b->n_entries, ==, n);
			alga_release_bundle_report_free(b);
		} else {
			g_assert_cmpint(r, ==, -E2BIG);
			g_assert_cmpint(e.class, ==, ALGA_ERROR_INTEGRITY);
		}
		alga_error_clear(&e);
	}
}

static void test_bundle_path_max(void)
{
	for (size_t n = ALGA_RELEASE_BUNDLE_PATH_MAX; n <= ALGA_RELEASE_BUNDLE_PATH_MAX + 1; n++) {
		g_autofree char *path = g_malloc(n + 1);
		struct entry entries[1] = { { path, AE_IFREG, "x\n" } };
		struct alga_release_bundle_report *b = NULL;
		struct alga_error e = {};

		memset(path, 'a', n);
		for (size_t i = 100; i < n; i += 100)
			path[i] = '/';
		path[n] = '\0';
		g_assert_cmpint(check(entries, 1, &e, &b), ==,
				n == ALGA_RELEASE_BUNDLE_PATH_MAX ? 0 : -E2BIG);
		alga_release_bundle_report_free(b);
		alga_error_clear(&e);
	}
}

static void test_bundle_unpacked_max(void)
{
	const struct entry at[] = {
		{ "zeros", AE_IFREG, NULL, ALGA_RELEASE_BUNDLE_UNPACKED_MAX },
	};
	const struct entry past[] = {
		{ "zeros", AE_IFREG, NULL, ALGA_RELEASE_BUNDLE_UNPACKED_MAX - 10 },
		{ "more", AE_IFREG, NULL, 11 },
	};
	_cleanup_(alga_release_bundle_report_freep) struct alga_release_bundle_report *b = NULL;
	struct alga_release_bundle_report *b2 = NULL;
	struct alga_error e = {};

	if (getenv("ALGA_TEST_QUICK")) {
		g_test_skip("64 MiB archives are slow under valgrind");
		return;
	}
	g_assert_cmpint(check(at, 1, NULL, &b), ==, 0);
	g_assert_cmpuint(b->unpacked_size, ==, ALGA_RELEASE_BUNDLE_UNPACKED_MAX);
	g_assert_cmpint(check(past, 2, &e, &b2), ==, -E2BIG);
	g_assert_nonnull(strstr(e.message, "67108864"));
	alga_error_clear(&e);
}

static void test_bundle_gz_max(void)
{
	g_autofree char *big = g_malloc0(ALGA_RELEASE_BUNDLE_GZ_MAX + 1);
	_cleanup_(alga_release_freep) struct alga_release *r = parse_release();
	struct alga_release_bundle_report *b = NULL;
	struct alga_error e = {};

	g_assert_cmpint(alga_release_bundle_check(big, ALGA_RELEASE_BUNDLE_GZ_MAX + 1, r, &b, &e), ==,
			-E2BIG);
	g_assert_cmpint(e.class, ==, ALGA_ERROR_INTEGRITY);
	alga_error_clear(&e);
	/* at the cap it is read, and zeros are no archive */
	g_assert_cmpint(alga_release_bundle_check(big, ALGA_RELEASE_BUNDLE_GZ_MAX, r, &b, &e), ==,
			-EBADMSG);
	alga_error_clear(&e);
}

/* ---- options ------------------------------------------------------------------------ */

static void test_resolve_usage(void)
{
	const struct alga_release_resolve_options cases[] = {
		{ .channel = "stable", .ref = "1.0.3" },
		{},
		{ .channel = "beta" },
		{ .ref = "a b" },
		{ .ref = "sha256:abc" },
		{ .channel = "stable", .timeout_sec = 121 },
		{ .channel = "stable", .registry = "no such" },
		{ .channel = "stable", .repository = "UPPER/case" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct alga_release_resolved *res = NULL;
		struct alga_error e = {};

		g_assert_cmpint(alga_release_resolve(&cases[i], &res, &e), ==, -EINVAL);
		g_assert_null(res);
		g_assert_cmpint(e.class, ==, ALGA_ERROR_USAGE);
		g_assert_nonnull(e.message);
		alga_error_clear(&e);
	}
}

/* ---- the cache ---------------------------------------------------------------------------- */

static char *write_cache(const char *dir, const char *key, const char *config, const char *digest)
{
	_cleanup_(json_object_putp) struct json_object *doc = json_object_new_object();
	struct json_object *entries = json_object_new_array(), *e = json_object_new_object();
	g_autofree char *path = g_build_filename(dir, ALGA_RELEASE_CACHE_FILE, NULL);

	json_object_object_add(e, "key", json_object_new_string(key));
	json_object_object_add(e, "manifestDigest", json_object_new_string(
		"sha256:1111111111111111111111111111111111111111111111111111111111111111"));
	json_object_object_add(e, "indexDigest", NULL);
	json_object_object_add(e, "configDigest", json_object_new_string(digest));
	json_object_object_add(e, "fetchedAt", json_object_new_string("2026-01-01T00:00:00Z"));
	json_object_object_add(e, "config", json_object_new_string(config));
	json_object_array_add(entries, e);
	json_object_object_add(doc, "version", json_object_new_int(1));
	json_object_object_add(doc, "entries", entries);
	g_assert_true(g_file_set_contents(path, json_object_to_json_string(doc), -1, NULL));
	return g_steal_pointer(&path);
}

static void test_resolve_cached(void)
{
	g_autofree char *dir = g_dir_make_tmp("test-release-resolve.XXXXXX", NULL);
	g_autofree char *text = NULL, *tampered = NULL, *path = NULL;
	char digest[ALGA_RELEASE_DIGEST_SIZE];
	struct alga_release_resolve_options o = {
		.registry = "127.0.0.1:5000",
		.repository = "alga-appliance-release",
		.channel = "stable",
		.cache_mode = ALGA_RELEASE_CACHE_ONLY,
		.cache_dir = dir,
		.cache_uid = ALGA_UID_KEEP,
	};
	struct alga_release_resolved *res = NULL;
	struct alga_error e = {};
	size_t len;
	char *p;

	/* no entry */
	g_assert_cmpint(alga_release_resolve(&o, &res, &e), ==, -ENOENT);
	g_assert_cmpint(e.class, ==, ALGA_ERROR_NOT_FOUND);
	alga_error_clear(&e);

	text = read_release(&len);
	g_assert_cmpint(alga_release_digest(text, len, digest), ==, 0);
	path = write_cache(dir, "127.0.0.1:5000/alga-appliance-release:stable", text, digest);

	g_assert_cmpint(alga_release_resolve(&o, &res, &e), ==, 0);
	g_assert_true(res->from_cache);
	g_assert_false(res->stale);
	g_assert_cmpstr(res->config_digest, ==, digest);
	g_assert_cmpstr(res->release->version, ==, "1.0.3");
	g_assert_null(res->index_digest);
	g_assert_cmpuint(res->stats.manifest_gets, ==, 0);
	res = alga_release_resolved_free(res);

	/* another key is not this one */
	o.channel = "nightly";
	g_assert_cmpint(alga_release_resolve(&o, &res, &e), ==, -ENOENT);
	alga_error_clear(&e);
	o.channel = "stable";

	/* T30: an edited blob fails its digest */
	tampered = g_strdup(text);
	p = strstr(tampered, "62cdce38");
	g_assert_nonnull(p);
	p[0] = '7';
	(void)unlink(path);
	g_free(write_cache(dir, "127.0.0.1:5000/alga-appliance-release:stable", tampered, digest));
	g_assert_cmpint(alga_release_resolve(&o, &res, &e), ==, -ENOENT);
	g_assert_nonnull(strstr(e.message, "failed verification"));
	alga_error_clear(&e);

	alga_test_rm_rf(dir);
}

static void test_error_to_json(void)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	struct json_object *err, *v;
	struct alga_error e = {};

	(void)alga_error_set(&e, -ENOENT, ALGA_ERROR_NOT_FOUND, 404,
			     "https://r.example/v2/x/manifests/nightly?secret=1", NULL,
			     "manifest unknown");
	g_assert_cmpint(alga_release_error_to_json(&e, &o), ==, 0);
	g_assert_true(json_object_object_get_ex(o, "version", &v));
	g_assert_cmpint(json_object_get_int(v), ==, 1);
	g_assert_true(json_object_object_get_ex(o, "error", &err));
	g_assert_true(json_object_object_get_ex(err, "class", &v));
	g_assert_cmpstr(json_object_get_string(v), ==, alga_error_class_to_string(ALGA_ERROR_NOT_FOUND));
	g_assert_true(json_object_object_get_ex(err, "httpStatus", &v));
	g_assert_cmpint(json_object_get_int(v), ==, 404);
	g_assert_true(json_object_object_get_ex(err, "field", &v));
	g_assert_null(v);
	g_assert_true(json_object_object_get_ex(err, "url", &v));
	g_assert_null(strchr(json_object_get_string(v), '?'));
	alga_error_clear(&e);
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/release-resolve/bundle_check/ok", test_bundle_ok);
	g_test_add_func("/release-resolve/bundle_check/chart-mismatch", test_bundle_chart_mismatch);
	g_test_add_func("/release-resolve/bundle_check/chart-unlisted", test_bundle_chart_unlisted);
	g_test_add_func("/release-resolve/bundle_check/values-key", test_bundle_values_key);
	g_test_add_func("/release-resolve/bundle_check/unsafe", test_bundle_unsafe);
	g_test_add_func("/release-resolve/bundle_check/dot-names", test_bundle_dotdot_names_are_fine);
	g_test_add_func("/release-resolve/bundle_check/entries-max", test_bundle_entries_max);
	g_test_add_func("/release-resolve/bundle_check/path-max", test_bundle_path_max);
	g_test_add_func("/release-resolve/bundle_check/unpacked-max", test_bundle_unpacked_max);
	g_test_add_func("/release-resolve/bundle_check/gz-max", test_bundle_gz_max);
	g_test_add_func("/release-resolve/resolve/usage", test_resolve_usage);
	g_test_add_func("/release-resolve/resolve/cached", test_resolve_cached);
	g_test_add_func("/release-resolve/error_to_json/shape", test_error_to_json);
	return g_test_run();
}
