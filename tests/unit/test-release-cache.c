/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The release cache of release.md §4.5 under resolutions.md A8: T28 (file
 * mode, version 1, same release back), T29 (atomic replace, no temps after
 * a clean write, stale temps removed under the lock), T30 (an edited
 * config fails verification and is named; the next save drops it), T31's
 * library half (the entry of an unchanged manifest digest is found), and
 * the 16-entry and 4 MiB limits one past them.
 */
#include <dirent.h>
#include <fcntl.h>
#include <glib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "fsutil.h"
#include "release-cache.h"
#include "release.h"

#define MD "sha256:1111111111111111111111111111111111111111111111111111111111111111"

static char *release_text(size_t *ret_len)
{
	g_autofree char *path = g_test_build_filename(G_TEST_DIST, "fixtures", "release",
						      "stable.json", NULL);
	char *text;
	gsize len;

	g_assert_true(g_file_get_contents(path, &text, &len, NULL));
	*ret_len = len;
	return text;
}

static void make_entry(struct alga_release_cache_entry *e, const char *key, char *config,
		       size_t len, char digest[static ALGA_RELEASE_DIGEST_SIZE])
{
	g_assert_cmpint(alga_release_digest(config, len, digest), ==, 0);
	*e = (struct alga_release_cache_entry){
		.key = (char *)key,
		.manifest_digest = (char *)MD,
		.config_digest = digest,
		.fetched_at = (char *)"2026-06-22T16:12:17Z",
		.config = config,
		.config_len = len,
	};
}

static int tmp_dir(char **ret_path)
{
	g_autoptr(GError) error = NULL;
	char *p = g_dir_make_tmp("release-cache-XXXXXX", &error);
	int fd;

	g_assert_no_error(error);
	fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	g_assert_cmpint(fd, >=, 0);
	*ret_path = p;
	return fd;
}

static void rm_rf(const char *path)
{
	g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", path);

	g_assert_cmpint(system(cmd), ==, 0);
}

static void test_key(void)
{
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

	g_assert_cmpint(alga_release_cache_key("ghcr.io", "nine-minds/alga-appliance-release",
					       "stable", &a), ==, 0);
	g_assert_cmpstr(a, ==, "ghcr.io/nine-minds/alga-appliance-release:stable");
	g_assert_cmpint(alga_release_cache_key("127.0.0.1:5000", "r", MD, &b), ==, 0);
	g_assert_cmpstr(b, ==, "127.0.0.1:5000/r@" MD);
	g_assert_cmpint(alga_release_cache_key("h", "", "x", &c), ==, -EINVAL);
}

/* T28 */
static void test_save_load(void)
{
	_cleanup_(alga_release_cache_freep) struct alga_release_cache *c = NULL, *back = NULL;
	const struct alga_release_cache_entry *found = NULL;
	struct alga_release_cache_entry e;
	char digest[ALGA_RELEASE_DIGEST_SIZE];
	g_autofree char *config = NULL, *dir = NULL, *file = NULL, *text = NULL;
	_cleanup_close_ int dfd = -EBADF;
	struct stat st;
	size_t len;

	config = release_text(&len);
	dfd = tmp_dir(&dir);

	/* no file yet: an empty cache, -ENOENT for any key */
	g_assert_cmpint(alga_release_cache_load(dfd, &c, NULL), ==, 0);
	g_assert_cmpuint(c->n_entries, ==, 0);
	g_assert_cmpint(alga_release_cache_find(c, "k", &found, NULL), ==, -ENOENT);

	make_entry(&e, "127.0.0.1:5000/alga-appliance-release:stable", config, len, digest);
	g_assert_cmpint(alga_release_cache_put(c, &e), ==, 0);
	g_assert_cmpint(alga_release_cache_save(dfd, c, ALGA_UID_KEEP, ALGA_GID_KEEP), ==, 0);

	g_assert_cmpint(fstatat(dfd, ALGA_RELEASE_CACHE_FILE, &st, 0), ==, 0);
	g_assert_cmpint(st.st_mode & 07777, ==, 0660);
	file = g_build_filename(dir, ALGA_RELEASE_CACHE_FILE, NULL);
	g_assert_true(g_file_get_contents(file, &text, NULL, NULL));
	g_assert_true(g_str_has_prefix(text, "{\"version\":1,\"entries\":["));

	g_assert_cmpint(alga_release_cache_load(dfd, &back, NULL), ==, 0);
	g_assert_cmpuint(back->n_entries, ==, 1);
	g_assert_cmpint(alga_release_cache_find(back, e.key, &found, NULL), ==, 0);
	g_assert_true(found->valid);
	g_assert_cmpstr(found->config_digest, ==, digest);
	g_assert_cmpstr(found->manifest_digest, ==, MD);
	g_assert_null(found->index_digest);
	g_assert_cmpuint(found->config_len, ==, len);
	g_assert_cmpmem(found->config, len, config, len);

	/* no temp left behind (T29) */
	{
		g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
		const char *name;

		while ((name = g_dir_read_name(d)))
			g_assert_true(strcmp(name, ALGA_RELEASE_CACHE_FILE) == 0);
	}
	rm_rf(dir);
}

/* T30 */
static void test_tampered(void)
{
	_cleanup_(alga_release_cache_freep) struct alga_release_cache *c = NULL, *back = NULL,
								      *again = NULL;
	const struct alga_release_cache_entry *found = NULL;
	struct alga_release_cache_entry e1, e2;
	char d1[ALGA_RELEASE_DIGEST_SIZE], d2[ALGA_RELEASE_DIGEST_SIZE];
	g_autofree char *config = NULL, *text = NULL, *bad = NULL;
	_cleanup_free_ char *detail = NULL, *formatted = NULL;
	char *p;
	size_t len;

	config = release_text(&len);
	g_assert_cmpint(alga_release_cache_new(&c), ==, 0);
	make_entry(&e1, "r/a:stable", config, len, d1);
	g_assert_cmpint(alga_release_cache_put(c, &e1), ==, 0);
	/* a blob that hashes right but is no valid release */
	make_entry(&e2, "r/a:nightly", (char *)"{\"schema\":1}", 12, d2);
	g_assert_cmpint(alga_release_cache_put(c, &e2), ==, 0);
	g_assert_cmpint(alga_release_cache_format(c, &formatted, NULL), ==, 0);

	/* edit the stable entry's config in the file text: 62cdce38 -> 62cdce39 */
	bad = g_strdup(formatted);
	p = strstr(bad, "62cdce38");
	g_assert_nonnull(p);
	p[7] = '9';
	g_assert_cmpint(alga_release_cache_parse(bad, strlen(bad), &back, NULL), ==, 0);
	g_assert_cmpint(alga_release_cache_find(back, "r/a:stable", &found, &detail), ==, -EBADMSG);
	g_assert_nonnull(strstr(detail, "failed verification"));
	g_assert_nonnull(strstr(detail, "digest mismatch"));
	free(TAKE_PTR(detail));
	g_assert_cmpint(alga_release_cache_find(back, "r/a:nightly", &found, &detail), ==, -EBADMSG);
	g_assert_nonnull(strstr(detail, "'schema' (R15)"));

	/* the next write keeps only what verified */
	g_assert_cmpint(alga_release_cache_format(back, &text, NULL), ==, 0);
	g_assert_cmpint(alga_release_cache_parse(text, strlen(text), &again, NULL), ==, 0);
	g_assert_cmpuint(again->n_entries, ==, 0);
}

static void test_entries_limit(void)
{
	_cleanup_(alga_release_cache_freep) struct alga_release_cache *c = NULL, *back = NULL;
	const struct alga_release_cache_entry *found;
	char digest[ALGA_RELEASE_DIGEST_SIZE];
	g_autofree char *config = NULL;
	_cleanup_free_ char *text = NULL, *detail = NULL;
	size_t len;

	config = release_text(&len);
	g_assert_cmpint(alga_release_cache_new(&c), ==, 0);
	for (unsigned i = 0; i <= ALGA_RELEASE_CACHE_ENTRIES_MAX; i++) {
		g_autofree char *key = g_strdup_printf("r/a:v%u", i);
		struct alga_release_cache_entry e;

		make_entry(&e, key, config, len, digest);
		g_assert_cmpint(alga_release_cache_put(c, &e), ==, 0);
	}
	/* 17 put, the oldest dropped */
	g_assert_cmpuint(c->n_entries, ==, ALGA_RELEASE_CACHE_ENTRIES_MAX);
	g_assert_cmpint(alga_release_cache_find(c, "r/a:v0", &found, NULL), ==, -ENOENT);
	g_assert_cmpint(alga_release_cache_find(c, "r/a:v16", &found, NULL), ==, 0);

	/* a re-put key becomes the newest and is not duplicated */
	{
		struct alga_release_cache_entry e;

		make_entry(&e, "r/a:v1", config, len, digest);
		g_assert_cmpint(alga_release_cache_put(c, &e), ==, 0);
		g_assert_cmpuint(c->n_entries, ==, ALGA_RELEASE_CACHE_ENTRIES_MAX);
		g_assert_cmpstr(c->entries[c->n_entries - 1].key, ==, "r/a:v1");
	}

	/* a file with 17 entries is refused */
	g_assert_cmpint(alga_release_cache_format(c, &text, NULL), ==, 0);
	{
		struct json_object *doc = json_tokener_parse(text), *arr;
		const char *s;

		g_assert_true(json_object_object_get_ex(doc, "entries", &arr));
		json_object_array_add(arr, json_object_get(json_object_array_get_idx(arr, 0)));
		s = json_object_to_json_string(doc);
		g_assert_cmpint(alga_release_cache_parse(s, strlen(s), &back, &detail), ==, -E2BIG);
		g_assert_nonnull(strstr(detail, "17 entries"));
		json_object_put(doc);
	}
}

/* the 4 MiB file limit: the newest entries are kept, a bigger file refused */
static void test_size_limit(void)
{
	_cleanup_(alga_release_cache_freep) struct alga_release_cache *c = NULL, *back = NULL;
	_cleanup_free_ char *text = NULL, *detail = NULL;
	g_autofree char *big = g_strnfill(1000 * 1000, 'x');
	char digest[ALGA_RELEASE_DIGEST_SIZE];
	g_autofree char *huge = NULL;
	size_t len;

	g_assert_cmpint(alga_release_cache_new(&c), ==, 0);
	for (unsigned i = 0; i < 6; i++) {
		g_autofree char *key = g_strdup_printf("r/a:v%u", i);
		struct alga_release_cache_entry e;

		make_entry(&e, key, big, strlen(big), digest);
		g_assert_cmpint(alga_release_cache_put(c, &e), ==, 0);
	}
	g_assert_cmpint(alga_release_cache_format(c, &text, &len), ==, 0);
	g_assert_cmpuint(len, <=, ALGA_RELEASE_CACHE_SIZE_MAX);
	g_assert_null(strstr(text, "r/a:v1\""));
	g_assert_nonnull(strstr(text, "r/a:v5\""));

	huge = g_strnfill(ALGA_RELEASE_CACHE_SIZE_MAX + 1, ' ');
	memcpy(huge, "{}", 2);
	g_assert_cmpint(alga_release_cache_parse(huge, ALGA_RELEASE_CACHE_SIZE_MAX + 1, &back, &detail),
			==, -E2BIG);
}

static void test_malformed(void)
{
	static const char *const docs[] = {
		"{\"version\":2,\"entries\":[]}",
		"{\"version\":1}",
		"{\"version\":\"1\",\"entries\":[]}",
		"{\"version\":1,\"entries\":[1]}",
		"{\"version\":1,\"entries\":[{\"key\":\"k\"}]}",
		"{\"version\":1,\"entries\":[{\"key\":\"k\",\"manifestDigest\":\"x\",\"configDigest\":"
		"\"" MD "\",\"fetchedAt\":\"t\",\"config\":\"{}\"}]}",
		"[]",
		"{",
	};

	for (size_t i = 0; i < ELEMENTSOF(docs); i++) {
		_cleanup_(alga_release_cache_freep) struct alga_release_cache *c = NULL;
		_cleanup_free_ char *detail = NULL;

		g_assert_cmpint(alga_release_cache_parse(docs[i], strlen(docs[i]), &c, &detail), ==,
				-EBADMSG);
		g_assert_nonnull(detail);
	}
}

/* T29: stale temps are removed by the writer that holds the lock */
static void test_lock(void)
{
	g_autofree char *dir = NULL, *stale = NULL;
	_cleanup_close_ int dfd = -EBADF, lock = -EBADF;
	struct stat st;

	dfd = tmp_dir(&dir);
	stale = g_build_filename(dir, ".release.json.Ab12Cd", NULL);
	g_assert_true(g_file_set_contents(stale, "torn", -1, NULL));
	lock = alga_release_cache_lock(dfd, ALGA_UID_KEEP, ALGA_GID_KEEP);
	g_assert_cmpint(lock, >=, 0);
	g_assert_false(g_file_test(stale, G_FILE_TEST_EXISTS));
	g_assert_cmpint(fstat(lock, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 07777, ==, 0660);
	lock = safe_close(lock);
	rm_rf(dir);
}

static void test_put_invalid(void)
{
	_cleanup_(alga_release_cache_freep) struct alga_release_cache *c = NULL;
	struct alga_release_cache_entry e;
	char digest[ALGA_RELEASE_DIGEST_SIZE];

	g_assert_cmpint(alga_release_cache_new(&c), ==, 0);
	make_entry(&e, "k", (char *)"{}", 2, digest);
	e.manifest_digest = (char *)"sha256:xyz";
	g_assert_cmpint(alga_release_cache_put(c, &e), ==, -EINVAL);
	make_entry(&e, "", (char *)"{}", 2, digest);
	g_assert_cmpint(alga_release_cache_put(c, &e), ==, -EINVAL);
	g_assert_cmpuint(c->n_entries, ==, 0);
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/release-cache/key/format", test_key);
	g_test_add_func("/release-cache/save/round-trip", test_save_load);
	g_test_add_func("/release-cache/parse/tampered", test_tampered);
	g_test_add_func("/release-cache/put/entries-limit", test_entries_limit);
	g_test_add_func("/release-cache/format/size-limit", test_size_limit);
	g_test_add_func("/release-cache/parse/malformed", test_malformed);
	g_test_add_func("/release-cache/lock/stale-temps", test_lock);
	g_test_add_func("/release-cache/put/invalid", test_put_invalid);

	return g_test_run();
}
