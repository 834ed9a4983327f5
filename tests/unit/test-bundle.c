/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lib/bundle without a cluster or a journal: a --root tree in a scratch
 * directory, an empty journal directory, --no-cluster, and a host
 * callback that plays alga-agent's collectors. Bundles are read back with
 * libarchive.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-c/json.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alga-test.h"
#include "bundle.h"
#include "redact.h"

#define MARKER_LINE "\n" ALGA_BUNDLE_TRUNCATED_MARKER "\n"

struct fx {
	char *dir;     /* scratch */
	char *root;    /* --root */
	char *journal; /* --journal-dir, empty */
	char *out;     /* -o */
	struct alga_bundle_options o;
	/* the host callback */
	struct json_object *host_files; /* array handed out (a reference) */
	int host_error;
	unsigned host_calls;
};

struct entry {
	char *name;
	mode_t type, perm;
	int64_t uid, gid;
	char *uname, *gname;
	GByteArray *data;
};

static void entry_free(gpointer p)
{
	struct entry *e = p;

	g_free(e->name);
	g_free(e->uname);
	g_free(e->gname);
	g_byte_array_unref(e->data);
	g_free(e);
}

static void put_file(const char *root, const char *rel, const char *text, mode_t mode)
{
	g_autofree char *p = g_build_filename(root, rel, NULL);
	g_autofree char *d = g_path_get_dirname(p);

	g_assert_cmpint(g_mkdir_with_parents(d, 0755), ==, 0);
	g_assert_true(g_file_set_contents(p, text, -1, NULL));
	g_assert_cmpint(chmod(p, mode), ==, 0);
}

static void put_link(const char *root, const char *rel, const char *target)
{
	g_autofree char *p = g_build_filename(root, rel, NULL);
	g_autofree char *d = g_path_get_dirname(p);

	g_assert_cmpint(g_mkdir_with_parents(d, 0755), ==, 0);
	g_assert_cmpint(symlink(target, p), ==, 0);
}

static int host_cb(void *userdata, struct json_object **ret)
{
	struct fx *f = userdata;

	f->host_calls++;
	if (f->host_error < 0)
		return f->host_error;
	*ret = json_object_get(f->host_files);
	return 0;
}

static void host_add(struct fx *f, const char *path, int status, const char *content, bool truncated)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(o, "ok", json_object_new_boolean(status == 0));
	json_object_object_add(o, "status", json_object_new_int(status));
	json_object_object_add(o, "content", json_object_new_string(content));
	json_object_object_add(o, "truncated", json_object_new_boolean(truncated));
	json_object_object_add(o, "source", json_object_new_string("test"));
	json_object_array_add(f->host_files, o);
}

static void fx_setup(struct fx *f, gconstpointer data)
{
	f->dir = g_dir_make_tmp("test-bundle-XXXXXX", NULL);
	g_assert_nonnull(f->dir);
	f->root = g_build_filename(f->dir, "root", NULL);
	f->journal = g_build_filename(f->dir, "journal", NULL);
	f->out = g_build_filename(f->dir, "out", NULL);
	g_assert_cmpint(g_mkdir_with_parents(f->journal, 0755), ==, 0);
	g_assert_cmpint(g_mkdir_with_parents(f->root, 0755), ==, 0);

	put_file(f->root, "etc/os-release", "PRETTY_NAME=\"Test OS\"\n", 0644);
	put_file(f->root, "var/lib/alga/setup-token", "4821-0937-5564-1209-8876\n", 0640);
	put_file(f->root, "var/lib/alga/bootstrap.json", "{\"phase\":\"ready\",\"token\":\"tk-123\"}\n",
		 0644);
	put_file(f->root, "var/lib/alga/setup/setup.json",
		 "{\"adminPassword\":\"pw-ABCDEFGH\",\"step\":3}\n", 0640);

	f->host_files = json_object_new_array();
	f->o = (struct alga_bundle_options){
		.root = f->root,
		.journal_dir = f->journal,
		.no_cluster = true,
		.generator = "test-bundle",
		.host = host_cb,
		.host_userdata = f,
	};
}

static void fx_teardown(struct fx *f, gconstpointer data)
{
	json_object_put(f->host_files);
	alga_test_rm_rf(f->dir);
	g_free(f->dir);
	g_free(f->root);
	g_free(f->journal);
	g_free(f->out);
}

/* the entries of a .tar.gz, in order */
static GPtrArray *read_bundle_fd(int fd)
{
	GPtrArray *a = g_ptr_array_new_with_free_func(entry_free);
	struct archive *ar = archive_read_new();
	struct archive_entry *ae;
	char buf[16384];

	g_assert_nonnull(ar);
	archive_read_support_format_tar(ar);
	archive_read_support_filter_gzip(ar);
	g_assert_cmpint(lseek(fd, 0, SEEK_SET), ==, 0);
	g_assert_cmpint(archive_read_open_fd(ar, fd, sizeof(buf)), ==, ARCHIVE_OK);
	while (archive_read_next_header(ar, &ae) == ARCHIVE_OK) {
		struct entry *e = g_new0(struct entry, 1);
		la_ssize_t n;

		e->name = g_strdup(archive_entry_pathname(ae));
		e->type = archive_entry_filetype(ae);
		e->perm = archive_entry_perm(ae);
		e->uid = archive_entry_uid(ae);
		e->gid = archive_entry_gid(ae);
		e->uname = g_strdup(archive_entry_uname(ae));
		e->gname = g_strdup(archive_entry_gname(ae));
		e->data = g_byte_array_new();
		while ((n = archive_read_data(ar, buf, sizeof(buf))) > 0)
			g_byte_array_append(e->data, (const guint8 *)buf, (guint)n);
		g_assert_cmpint(n, ==, 0);
		g_ptr_array_add(a, e);
	}
	g_assert_cmpint(archive_read_free(ar), ==, ARCHIVE_OK);
	return a;
}

static GPtrArray *read_bundle(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	GPtrArray *a;

	g_assert_cmpint(fd, >=, 0);
	a = read_bundle_fd(fd);
	close(fd);
	return a;
}

static const struct entry *find(GPtrArray *a, const char *name)
{
	for (guint i = 0; i < a->len; i++) {
		const struct entry *e = g_ptr_array_index(a, i);

		if (g_str_equal(e->name, name))
			return e;
	}
	return NULL;
}

/* the entry as a string (the test's copy) */
static char *text_of(GPtrArray *a, const char *name)
{
	const struct entry *e = find(a, name);

	g_assert_nonnull(e);
	return g_strndup((const char *)e->data->data, e->data->len);
}

static struct json_object *manifest_of(GPtrArray *a)
{
	const struct entry *e = find(a, "meta/manifest.json");
	g_autofree char *s = NULL;
	struct json_object *m;

	g_assert_nonnull(e);
	s = g_strndup((const char *)e->data->data, e->data->len);
	m = json_tokener_parse(s);
	g_assert_nonnull(m);
	return m;
}

static struct json_object *manifest_file(struct json_object *m, const char *path)
{
	struct json_object *files, *v;

	g_assert_true(json_object_object_get_ex(m, "files", &files));
	for (size_t i = 0; i < json_object_array_length(files); i++) {
		struct json_object *f = json_object_array_get_idx(files, i);

		if (json_object_object_get_ex(f, "path", &v) &&
		    g_str_equal(json_object_get_string(v), path))
			return f;
	}
	return NULL;
}

static struct json_object *field(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;

	g_assert_true(json_object_object_get_ex(o, k, &v));
	return v;
}

static unsigned count_dir(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	unsigned n = 0;

	g_assert_nonnull(d);
	while (g_dir_read_name(d))
		n++;
	g_dir_close(d);
	return n;
}

/* one bundle into f->out; returns the result */
static struct alga_bundle_result *write_dir(struct fx *f)
{
	struct alga_bundle_output *out = NULL;
	struct alga_bundle_result *res = NULL;

	g_assert_cmpint(alga_bundle_output_open_dir(f->out, &out), ==, 0);
	g_assert_cmpint(alga_bundle_write(&f->o, out, &res), ==, 0);
	g_assert_nonnull(res);
	return res;
}

static void stamp(time_t t, char *buf, size_t size)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y%m%dT%H%M%SZ", &tm);
}

/* names */

static void test_name_is_valid(void)
{
	g_assert_true(alga_bundle_name_is_valid("alga-appliance-support-20260101T000000Z.tar.gz"));
	g_assert_true(alga_bundle_name_is_valid("alga-appliance-support-20260101T000000Z-2.tar.gz"));
	g_assert_true(alga_bundle_name_is_valid("alga-appliance-support-20260101T000000Z-1000.tar.gz"));
	g_assert_false(alga_bundle_name_is_valid(NULL));
	g_assert_false(alga_bundle_name_is_valid(""));
	g_assert_false(alga_bundle_name_is_valid("alga-appliance-support-20260101T000000Z.tar"));
	g_assert_false(alga_bundle_name_is_valid("alga-appliance-support-20260101T000000.tar.gz"));
	g_assert_false(alga_bundle_name_is_valid("alga-appliance-support-20260101T000000Z-.tar.gz"));
	g_assert_false(alga_bundle_name_is_valid("../alga-appliance-support-20260101T000000Z.tar.gz"));
	g_assert_false(alga_bundle_name_is_valid("alga-appliance-support-20260101T000000Z.tar.gz/x"));
	g_assert_false(alga_bundle_name_is_valid(".alga-bundle.0123456789ab"));
}

/* the denylist */

static void test_denied_files(struct fx *f, gconstpointer data)
{
	static const char *const denied[] = {
		"/var/lib/alga/setup-token",       "/var/lib/alga/session-secret",
		"/var/lib/alga/kubeconfig",        "/etc/rancher/k3s/k3s.yaml",
		"/var/lib/rancher/k3s/server/token", "/var/lib/alga/setup/admin-credential.json",
		"/var/lib/alga/secrets/alga-auth-key", "/var/lib/rancher/k3s/server/tls/ca.key",
		"/var/lib/rancher/k3s/server/cred/passwd",
	};

	for (size_t i = 0; i < G_N_ELEMENTS(denied); i++)
		put_file(f->root, denied[i], "secret\n", 0644);
	for (size_t i = 0; i < G_N_ELEMENTS(denied); i++)
		g_assert_true(alga_bundle_path_is_denied(f->root, denied[i]));

	g_assert_false(alga_bundle_path_is_denied(f->root, "/etc/os-release"));
	g_assert_false(alga_bundle_path_is_denied(f->root, "/var/lib/alga/bootstrap.json"));
	/* 0640 in setup/ is not secret; 0600 is */
	g_assert_false(alga_bundle_path_is_denied(f->root, "/var/lib/alga/setup/setup.json"));
	put_file(f->root, "var/lib/alga/setup/pending.json", "{}", 0600);
	g_assert_true(alga_bundle_path_is_denied(f->root, "/var/lib/alga/setup/pending.json"));
	/* a prefix that is not a directory boundary */
	put_file(f->root, "var/lib/alga/secrets-readme", "x", 0644);
	g_assert_false(alga_bundle_path_is_denied(f->root, "/var/lib/alga/secrets-readme"));
	/* what cannot be resolved is denied */
	g_assert_true(alga_bundle_path_is_denied(f->root, "/var/lib/alga/absent.json"));
}

static void test_denied_symlinks(struct fx *f, gconstpointer data)
{
	put_file(f->root, "etc/rancher/k3s/k3s.yaml", "apiVersion: v1\n", 0644);
	put_file(f->root, "var/lib/rancher/k3s/server/tls/server.key", "k", 0644);
	put_file(f->root, "outside-is-fine", "x", 0644);

	/* a link to a denied file, relative and absolute-in-root */
	put_link(f->root, "var/lib/alga/bootstrap-link.json", "setup-token");
	g_assert_true(alga_bundle_path_is_denied(f->root, "/var/lib/alga/bootstrap-link.json"));
	{
		g_autofree char *abs = g_build_filename(f->root, "etc/rancher/k3s/k3s.yaml", NULL);

		put_link(f->root, "tmp/k.yaml", abs);
		g_assert_true(alga_bundle_path_is_denied(f->root, "/tmp/k.yaml"));
	}
	/* a directory link into a denied directory */
	put_link(f->root, "tmp/tls", "../var/lib/rancher/k3s/server/tls");
	g_assert_true(alga_bundle_path_is_denied(f->root, "/tmp/tls/server.key"));
	/* the denied path itself a link to an innocent name: still denied */
	{
		g_autofree char *tok = g_build_filename(f->root, "var/lib/alga/setup-token", NULL);

		g_assert_cmpint(unlink(tok), ==, 0);
	}
	put_link(f->root, "var/lib/alga/setup-token", "../../../outside-is-fine");
	g_assert_true(alga_bundle_path_is_denied(f->root, "/outside-is-fine"));
	/* out of the root */
	put_link(f->root, "tmp/passwd", "/etc/passwd");
	g_assert_true(alga_bundle_path_is_denied(f->root, "/tmp/passwd"));
	/* a dangling link */
	put_link(f->root, "tmp/dangling", "nowhere");
	g_assert_true(alga_bundle_path_is_denied(f->root, "/tmp/dangling"));
}

/* outputs */

static void test_output_errors(struct fx *f, gconstpointer data)
{
	struct alga_bundle_output *out = NULL;
	g_autofree char *file = g_build_filename(f->dir, "a-file", NULL);
	g_autofree char *below = g_build_filename(file, "x", NULL);
	g_autofree char *missing = g_build_filename(f->dir, "missing", "x.tar.gz", NULL);

	put_file(f->dir, "a-file", "x", 0644);
	g_assert_cmpint(alga_bundle_output_open_dir(file, &out), ==, -ENOTDIR);
	g_assert_cmpint(alga_bundle_output_open_dir(below, &out), ==, -ENOTDIR);
	g_assert_cmpint(alga_bundle_output_open_file("", &out), ==, -EINVAL);
	g_assert_cmpint(alga_bundle_output_open_file("dir/", &out), ==, -EINVAL);
	g_assert_cmpint(alga_bundle_output_open_file(missing, &out), ==, -ENOENT);
	g_assert_cmpint(alga_bundle_output_open_file(below, &out), ==, -ENOTDIR);
	g_assert_cmpint(alga_bundle_output_open_fd(-1, &out), ==, -EBADF);
	g_assert_null(out);
	g_assert_null(alga_bundle_output_free(NULL));
	g_assert_null(alga_bundle_result_free(NULL));
}

static void test_output_dir_created(struct fx *f, gconstpointer data)
{
	g_autofree char *deep = g_build_filename(f->dir, "a", "b", NULL);
	struct alga_bundle_output *out = NULL;
	struct stat st;

	g_assert_cmpint(alga_bundle_output_open_dir(deep, &out), ==, 0);
	g_assert_cmpint(stat(deep, &st), ==, 0);
	g_assert_true(S_ISDIR(st.st_mode));
	/* discarded: nothing stays behind */
	g_assert_null(alga_bundle_output_free(out));
	g_assert_cmpuint(count_dir(deep), ==, 0);
}

/* the archive */

static void test_write_layout(struct fx *f, gconstpointer data)
{
	static const char *const order[] = {
		"meta/",
		"meta/bootstrap.json",
		"meta/setup-state.json",
		"meta/release-selection.json",
		"meta/build-info.json",
		"host/",
		"host/appliance-journal.txt",
		"host/disk-usage.txt",
		"host/routes.txt",
		"host/units.txt",
		"host/journal-errors.txt",
		"host/kernel.txt",
		"host/os.txt",
		"meta/manifest.json",
		"meta/summary.txt",
	};
	g_autoptr(GPtrArray) a = NULL;
	g_autofree char *bs = NULL, *ss = NULL, *disk = NULL;
	g_autofree char *want = NULL;
	struct alga_bundle_result *res;
	struct stat st;

	host_add(f, "host/disk-usage.txt", 0, "/ 10%\ntoken=abc123def\n", false);
	/* the agent's copy of the journal is streamed by lib/bundle instead */
	host_add(f, "host/appliance-journal.txt", 0, "IGNORED\n", false);
	host_add(f, "host/routes.txt", 1, "Failed: no netlink\n", false);
	/* never outside host/ */
	host_add(f, "host/../escape.txt", 0, "x", false);
	host_add(f, "meta/forged.json", 0, "x", false);

	res = write_dir(f);
	g_assert_cmpuint(f->host_calls, ==, 1);
	g_assert_true(alga_bundle_name_is_valid(res->name));
	want = g_build_filename(f->out, res->name, NULL);
	g_assert_cmpstr(res->path, ==, want);
	g_assert_cmpint(stat(res->path, &st), ==, 0);
	g_assert_cmpuint(st.st_mode & 07777, ==, 0640);
	g_assert_cmpuint((uint64_t)st.st_size, ==, res->bytes);
	g_assert_cmpuint(strlen(res->sha256), ==, 64);
	/* the output dir holds the bundle and nothing else (no spool, no temp) */
	g_assert_cmpuint(count_dir(f->out), ==, 1);

	a = read_bundle(res->path);
	g_assert_cmpuint(a->len, ==, G_N_ELEMENTS(order));
	for (guint i = 0; i < a->len; i++) {
		const struct entry *e = g_ptr_array_index(a, i);
		bool dir = g_str_has_suffix(e->name, "/");

		g_assert_cmpstr(e->name, ==, order[i]);
		g_assert_cmpuint(e->type, ==, dir ? AE_IFDIR : AE_IFREG);
		g_assert_cmpuint(e->perm, ==, dir ? 0700 : 0600);
		g_assert_cmpint(e->uid, ==, 0);
		g_assert_cmpint(e->gid, ==, 0);
		g_assert_cmpstr(e->uname, ==, "root");
		g_assert_cmpstr(e->gname, ==, "root");
	}
	/* 13 regular entries, two of them meta/'s own */
	g_assert_cmpuint(res->files, ==, 11);

	/* structural redaction of the state files, then the text rules per string */
	bs = text_of(a, "meta/bootstrap.json");
	g_assert_nonnull(strstr(bs, "\"token\": \"[REDACTED]\""));
	g_assert_nonnull(strstr(bs, "\"phase\": \"ready\""));
	ss = text_of(a, "meta/setup-state.json");
	g_assert_nonnull(strstr(ss, "\"adminPassword\": \"[REDACTED]\""));
	g_assert_null(strstr(ss, "pw-ABCDEFGH"));
	/* host files go through the line rules */
	disk = text_of(a, "host/disk-usage.txt");
	g_assert_cmpstr(disk, ==, "/ 10%\ntoken=[REDACTED]\n");
	g_assert_null(find(a, "escape.txt"));
	g_assert_null(find(a, "meta/forged.json"));
	alga_bundle_result_free(res);
}

static void test_write_manifest(struct fx *f, gconstpointer data)
{
	g_autoptr(GPtrArray) a = NULL;
	struct json_object *m, *files, *fe, *red;
	g_autofree char *summary = NULL, *nf = NULL, *nfail = NULL;
	struct alga_bundle_result *res;
	unsigned failed = 0;

	host_add(f, "host/disk-usage.txt", 0, "password=hunter2\nBearer abcdefgh\n", false);
	host_add(f, "host/routes.txt", 1, "Failed: no netlink\n", false);
	res = write_dir(f);
	a = read_bundle(res->path);
	m = manifest_of(a);

	g_assert_cmpint(json_object_get_int(field(m, "version")), ==, 1);
	g_assert_cmpstr(json_object_get_string(field(m, "generator")), ==, "test-bundle");
	g_assert_cmpint(json_object_get_int(field(m, "rulesVersion")), ==, ALGA_REDACT_RULES_VERSION);
	files = field(m, "files");
	/* every regular entry but meta/'s own two, in archive order, with its size */
	g_assert_cmpuint(json_object_array_length(files) + 2, ==, res->files + 2);
	for (size_t i = 0, j = 0; i < a->len; i++) {
		const struct entry *e = g_ptr_array_index(a, i);
		struct json_object *fi;

		if (e->type != AE_IFREG || g_str_equal(e->name, "meta/manifest.json") ||
		    g_str_equal(e->name, "meta/summary.txt"))
			continue;
		fi = json_object_array_get_idx(files, j++);
		g_assert_nonnull(fi);
		g_assert_cmpstr(json_object_get_string(field(fi, "path")), ==, e->name);
		g_assert_cmpint(json_object_get_int64(field(fi, "bytes")), ==, e->data->len);
		g_assert_true(json_object_is_type(field(fi, "source"), json_type_string));
		g_assert_true(json_object_is_type(field(fi, "ok"), json_type_boolean));
		g_assert_true(json_object_is_type(field(fi, "status"), json_type_int));
		g_assert_true(json_object_is_type(field(fi, "truncated"), json_type_boolean));
		g_assert_true(json_object_is_type(field(fi, "redactions"), json_type_object));
		g_assert_true(json_object_is_type(field(fi, "ms"), json_type_int));
		if (json_object_get_boolean(field(fi, "ok")))
			g_assert_null(field(fi, "error"));
		else {
			g_assert_true(json_object_is_type(field(fi, "error"), json_type_string));
			failed++;
		}
	}
	g_assert_cmpuint(failed, ==, res->failed);

	fe = manifest_file(m, "host/disk-usage.txt");
	g_assert_nonnull(fe);
	red = field(fe, "redactions");
	g_assert_cmpint(json_object_get_int(field(red, "T8")), ==, 1);
	g_assert_cmpint(json_object_get_int(field(red, "T5")), ==, 1);
	fe = manifest_file(m, "host/routes.txt");
	g_assert_false(json_object_get_boolean(field(fe, "ok")));
	g_assert_cmpint(json_object_get_int(field(fe, "status")), ==, 1);
	g_assert_cmpstr(json_object_get_string(field(fe, "error")), ==, "collector failed");
	/* absent state files: recorded, with the errno's text */
	fe = manifest_file(m, "meta/build-info.json");
	g_assert_false(json_object_get_boolean(field(fe, "ok")));
	g_assert_cmpstr(json_object_get_string(field(fe, "error")), ==,
			"not read: No such file or directory");
	/* the bundle's totals and the result's agree */
	g_assert_true(json_object_equal(field(m, "redactions"), res->redactions));
	g_assert_cmpint(json_object_get_int(field(res->redactions, "T8")), >=, 1);

	summary = text_of(a, "meta/summary.txt");
	g_assert_nonnull(strstr(summary, "\ngenerator=test-bundle "));
	g_assert_nonnull(strstr(summary, "\nos=Test OS\n"));
	g_assert_nonnull(strstr(summary, "\nkubeconfig=none (--no-cluster)\n"));
	nf = g_strdup_printf("\nfiles=%u\n", res->files);
	nfail = g_strdup_printf("\nfailed=%u\n", res->failed);
	g_assert_nonnull(strstr(summary, nf));
	g_assert_nonnull(strstr(summary, nfail));
	g_assert_true(g_str_has_prefix(summary, "time="));
	json_object_put(m);
	alga_bundle_result_free(res);
}

static void test_write_state_files(struct fx *f, gconstpointer data)
{
	g_autoptr(GPtrArray) a = NULL;
	g_autofree char *bs = NULL, *ss = NULL, *rs = NULL, *want = NULL;
	struct alga_bundle_result *res;
	struct json_object *m;
	g_autofree char *bpath = g_build_filename(f->root, "var/lib/alga/bootstrap.json", NULL);

	/* bootstrap.json a link to the setup token; setup.json not JSON; a FIFO */
	g_assert_cmpint(unlink(bpath), ==, 0);
	put_link(f->root, "var/lib/alga/bootstrap.json", "setup-token");
	put_file(f->root, "var/lib/alga/setup/setup.json", "not json password=pw-ABCDEFGH\n", 0640);
	{
		g_autofree char *fifo = g_build_filename(f->root, "var/lib/alga/setup/release-selection.json",
							 NULL);

		g_assert_cmpint(mkfifo(fifo, 0644), ==, 0);
	}
	res = write_dir(f);
	a = read_bundle(res->path);
	m = manifest_of(a);

	bs = text_of(a, "meta/bootstrap.json");
	g_assert_cmpstr(bs, ==, "skipped: the file is on the bundle denylist\n");
	g_assert_false(json_object_get_boolean(field(manifest_file(m, "meta/bootstrap.json"), "ok")));
	ss = text_of(a, "meta/setup-state.json");
	/* never copied raw */
	g_assert_null(strstr(ss, "pw-ABCDEFGH"));
	g_assert_true(g_str_has_prefix(ss, "not valid JSON: "));
	rs = text_of(a, "meta/release-selection.json");
	want = g_strdup_printf("not read: %s\n", strerror(EBADFD));
	g_assert_cmpstr(rs, ==, want);
	json_object_put(m);
	alga_bundle_result_free(res);
}

static void test_write_known_secret(struct fx *f, gconstpointer data)
{
	g_autoptr(GPtrArray) a = NULL;
	g_autofree char *t = NULL;
	struct alga_bundle_result *res;

	/* T0: the setup token, read from root, wherever it shows up */
	host_add(f, "host/disk-usage.txt", 0, "x 4821-0937-5564-1209-8876 y\n", false);
	put_file(f->root, "var/lib/alga/secrets/session-secret", "s3ss10n-secret-value\n", 0600);
	host_add(f, "host/routes.txt", 0, "via s3ss10n-secret-value\n", false);
	res = write_dir(f);
	a = read_bundle(res->path);
	t = text_of(a, "host/disk-usage.txt");
	g_assert_null(strstr(t, "4821-0937"));
	g_free(t);
	t = text_of(a, "host/routes.txt");
	g_assert_cmpstr(t, ==, "via [REDACTED KNOWN]\n");
	alga_bundle_result_free(res);
}

static void test_redact_new(struct fx *f, gconstpointer data)
{
	struct alga_redact *r = NULL;
	g_autofree char *out = NULL;
	size_t n = 0;

	put_file(f->root, "var/lib/rancher/k3s/server/token", "k3s-server-token-xyz\r\n", 0600);
	g_assert_cmpint(alga_bundle_redact_new(f->root, NULL, NULL, &r), ==, 0);
	g_assert_cmpint(alga_redact_string(r, "a k3s-server-token-xyz b", 24, &out, &n), >=, 0);
	g_assert_cmpstr(out, ==, "a [REDACTED KNOWN] b");
	alga_redact_free(r);
}

/* spooling and the caps */

static void test_entry_max(struct fx *f, gconstpointer data)
{
	g_autoptr(GPtrArray) a = NULL;
	g_autoptr(GString) big = g_string_new(NULL);
	struct alga_bundle_result *res;
	const struct entry *e;
	struct json_object *m;
	size_t ml = strlen(MARKER_LINE);

	/* 9 MiB of lines: the default 8 MiB cap, marker included */
	while (big->len < 9u * 1024u * 1024u)
		g_string_append(big, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n");
	host_add(f, "host/disk-usage.txt", 0, big->str, false);
	host_add(f, "host/routes.txt", 0, "small\n", false);
	res = write_dir(f);
	a = read_bundle(res->path);
	e = find(a, "host/disk-usage.txt");
	g_assert_cmpuint(e->data->len, <=, ALGA_BUNDLE_ENTRY_MAX);
	g_assert_cmpuint(e->data->len, >, ALGA_BUNDLE_ENTRY_MAX - 1024);
	g_assert_cmpmem(e->data->data + e->data->len - ml, ml, MARKER_LINE, ml);
	g_assert_cmpmem(e->data->data, 64, big->str, 64);
	m = manifest_of(a);
	g_assert_true(json_object_get_boolean(field(manifest_file(m, "host/disk-usage.txt"), "truncated")));
	g_assert_false(json_object_get_boolean(field(manifest_file(m, "host/routes.txt"), "truncated")));
	g_assert_cmpint(json_object_get_int64(field(manifest_file(m, "host/disk-usage.txt"), "bytes")),
			==, e->data->len);
	json_object_put(m);
	alga_bundle_result_free(res);
}

static void test_entry_max_utf8(struct fx *f, gconstpointer data)
{
	g_autoptr(GPtrArray) a = NULL;
	g_autoptr(GString) s = g_string_new(NULL);
	struct alga_bundle_result *res;
	const struct entry *e;
	size_t ml = strlen(MARKER_LINE);

	/* a cap that falls inside a 3-byte sequence, and the agent's own truncated flag */
	f->o.entry_max = 1001;
	for (unsigned i = 0; i < 600; i++)
		g_string_append(s, "\xe2\x82\xac");
	host_add(f, "host/disk-usage.txt", 0, s->str, false);
	host_add(f, "host/routes.txt", 0, "cut by the agent\n", true);
	res = write_dir(f);
	a = read_bundle(res->path);
	e = find(a, "host/disk-usage.txt");
	g_assert_cmpuint(e->data->len, <=, 1001);
	g_assert_true(g_utf8_validate((const char *)e->data->data, e->data->len, NULL));
	/* 1001 - marker reserve, down to a whole character */
	g_assert_cmpuint((e->data->len - ml) % 3, ==, 0);
	g_assert_cmpuint(e->data->len - ml, >, 1001 - ml - 3);
	e = find(a, "host/routes.txt");
	g_assert_cmpmem(e->data->data, e->data->len, "cut by the agent\n" MARKER_LINE,
			strlen("cut by the agent\n" MARKER_LINE));
	alga_bundle_result_free(res);
}

static void test_total_max(struct fx *f, gconstpointer data)
{
	g_autoptr(GPtrArray) a = NULL;
	g_autoptr(GString) s = g_string_new(NULL);
	struct alga_bundle_result *res;
	struct json_object *m, *files;
	uint64_t sum = 0;
	size_t ml = strlen(MARKER_LINE);
	const struct entry *e;

	/* a 20 KiB total: the third 8 KiB host file hits it, the rest are empty but marked */
	f->o.total_max = 20 * 1024;
	while (s->len < 8 * 1024)
		g_string_append(s, "abcdefghijklmnopqrstuvwxyz012345678901234567890123456789abcdef\n");
	host_add(f, "host/disk-usage.txt", 0, s->str, false);
	host_add(f, "host/routes.txt", 0, s->str, false);
	host_add(f, "host/ip-addresses.txt", 0, s->str, false);
	host_add(f, "host/resolv-conf.txt", 0, s->str, false);
	res = write_dir(f);
	a = read_bundle(res->path);
	m = manifest_of(a);
	files = field(m, "files");
	for (size_t i = 0; i < json_object_array_length(files); i++)
		sum += (uint64_t)json_object_get_int64(field(json_object_array_get_idx(files, i), "bytes"));
	g_assert_cmpuint(sum, <=, 20 * 1024);
	g_assert_cmpuint(sum, ==, 20 * 1024);
	/* cut where the total ran out, with the marker within it */
	e = find(a, "host/ip-addresses.txt");
	g_assert_cmpuint(e->data->len, <, s->len);
	g_assert_cmpmem(e->data->data + e->data->len - ml, ml, MARKER_LINE, ml);
	/* after it: empty, and truncated:true says why */
	e = find(a, "host/resolv-conf.txt");
	g_assert_cmpuint(e->data->len, ==, 0);
	g_assert_true(json_object_get_boolean(field(manifest_file(m, "host/resolv-conf.txt"), "truncated")));
	/* meta/'s own documents are never cut by the total */
	e = find(a, "meta/summary.txt");
	g_assert_null(g_strstr_len((const char *)e->data->data, e->data->len, "[truncated"));
	g_assert_nonnull(g_strstr_len((const char *)e->data->data, e->data->len, "\ntruncated="));
	json_object_put(m);
	alga_bundle_result_free(res);
}

/* publishing */

static void test_suffix(struct fx *f, gconstpointer data)
{
	struct alga_bundle_result *res;
	time_t now = time(NULL);
	char st[32];

	/* the next few seconds taken already: the bundle gets -2 */
	g_assert_cmpint(g_mkdir_with_parents(f->out, 0750), ==, 0);
	for (time_t t = now; t < now + 5; t++) {
		g_autofree char *n = NULL;

		stamp(t, st, sizeof(st));
		n = g_strdup_printf("alga-appliance-support-%s.tar.gz", st);
		put_file(f->out, n, "", 0640);
	}
	res = write_dir(f);
	g_assert_true(g_str_has_suffix(res->name, "Z-2.tar.gz"));
	alga_bundle_result_free(res);
	res = write_dir(f);
	g_assert_true(g_str_has_suffix(res->name, "Z-2.tar.gz") ||
		      g_str_has_suffix(res->name, "Z-3.tar.gz"));
	alga_bundle_result_free(res);
}

static void test_suffix_exhausted(struct fx *f, gconstpointer data)
{
	struct alga_bundle_output *out = NULL;
	struct alga_bundle_result *res = NULL;
	time_t now = time(NULL);
	char st[32];

	/* every name of the next seconds taken: -EEXIST and nothing published */
	g_assert_cmpint(g_mkdir_with_parents(f->out, 0750), ==, 0);
	for (time_t t = now; t < now + 3; t++) {
		stamp(t, st, sizeof(st));
		for (unsigned i = 1; i <= ALGA_BUNDLE_SUFFIX_MAX; i++) {
			g_autofree char *n = i == 1 ?
				g_strdup_printf("%s/alga-appliance-support-%s.tar.gz", f->out, st) :
				g_strdup_printf("%s/alga-appliance-support-%s-%u.tar.gz", f->out, st, i);
			int fd = open(n, O_CREAT | O_WRONLY | O_CLOEXEC, 0640);

			g_assert_cmpint(fd, >=, 0);
			close(fd);
		}
	}
	g_assert_cmpint(alga_bundle_output_open_dir(f->out, &out), ==, 0);
	g_assert_cmpint(alga_bundle_write(&f->o, out, &res), ==, -EEXIST);
	g_assert_null(res);
	g_assert_cmpuint(count_dir(f->out), ==, 3 * ALGA_BUNDLE_SUFFIX_MAX);
}

static void test_retention(struct fx *f, gconstpointer data)
{
	static const char *const old[] = {
		"alga-appliance-support-20200101T000000Z.tar.gz",
		"alga-appliance-support-20200101T000000Z-2.tar.gz",
		"alga-appliance-support-20200101T000000Z-10.tar.gz",
		"alga-appliance-support-20200101T000001Z.tar.gz",
		"alga-appliance-support-20200101T000002Z.tar.gz",
		"alga-appliance-support-20200101T000003Z.tar.gz",
		"alga-appliance-support-20200101T000004Z.tar.gz",
		"alga-appliance-support-20200101T000005Z.tar.gz",
		"alga-appliance-support-20200101T000006Z.tar.gz",
		"alga-appliance-support-20200101T000007Z.tar.gz",
		"alga-appliance-support-20200101T000008Z.tar.gz",
	};
	struct alga_bundle_result *res;
	g_autofree char *p = NULL;

	g_assert_cmpint(g_mkdir_with_parents(f->out, 0750), ==, 0);
	for (size_t i = 0; i < G_N_ELEMENTS(old); i++)
		put_file(f->out, old[i], "", 0640);
	/* not ours: never touched */
	put_file(f->out, "notes.txt", "", 0644);
	put_file(f->out, "alga-appliance-support-latest.tar.gz", "", 0644);

	res = write_dir(f);
	/* 11 old + 1 new: the two oldest go, -10 is newer than -2 */
	g_assert_cmpuint(count_dir(f->out), ==, 10 + 2);
	for (size_t i = 0; i < G_N_ELEMENTS(old); i++) {
		g_autofree char *o = g_build_filename(f->out, old[i], NULL);

		g_assert_cmpint(g_file_test(o, G_FILE_TEST_EXISTS), ==, i >= 2);
	}
	g_assert_true(g_file_test(res->path, G_FILE_TEST_EXISTS));
	p = g_build_filename(f->out, "notes.txt", NULL);
	g_assert_true(g_file_test(p, G_FILE_TEST_EXISTS));
	alga_bundle_result_free(res);
}

static void test_output_file(struct fx *f, gconstpointer data)
{
	g_autofree char *path = g_build_filename(f->dir, "my.tar.gz", NULL);
	struct alga_bundle_output *out = NULL;
	struct alga_bundle_result *res = NULL;
	g_autoptr(GPtrArray) a = NULL;

	/* an existing file is replaced whole */
	put_file(f->dir, "my.tar.gz", "old", 0644);
	g_assert_cmpint(alga_bundle_output_open_file(path, &out), ==, 0);
	g_assert_cmpint(alga_bundle_write(&f->o, out, &res), ==, 0);
	g_assert_cmpstr(res->name, ==, "my.tar.gz");
	g_assert_cmpstr(res->path, ==, path);
	a = read_bundle(path);
	g_assert_nonnull(find(a, "meta/manifest.json"));
	/* scratch: root, journal, out (absent), the file: no temp left */
	g_assert_cmpuint(count_dir(f->dir), ==, 3);
	alga_bundle_result_free(res);
}

static void test_output_fd(struct fx *f, gconstpointer data)
{
	g_autofree char *path = g_build_filename(f->dir, "fd.tar.gz", NULL);
	struct alga_bundle_output *out = NULL;
	struct alga_bundle_result *res = NULL;
	g_autoptr(GPtrArray) a = NULL;
	int fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	struct stat st;

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(alga_bundle_output_open_fd(fd, &out), ==, 0);
	g_assert_cmpint(alga_bundle_write(&f->o, out, &res), ==, 0);
	g_assert_null(res->name);
	g_assert_null(res->path);
	/* not owned: still open */
	g_assert_cmpint(fstat(fd, &st), ==, 0);
	g_assert_cmpuint((uint64_t)st.st_size, ==, res->bytes);
	a = read_bundle_fd(fd);
	g_assert_cmpstr(((const struct entry *)g_ptr_array_index(a, 0))->name, ==, "meta/");
	close(fd);
	alga_bundle_result_free(res);
}

/* failures of the archive fail the bundle; a collector's does not */

static void test_enospc(struct fx *f, gconstpointer data)
{
	struct alga_bundle_output *out = NULL;
	struct alga_bundle_result *res = NULL;
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);

	if (fd < 0) {
		g_test_skip("no /dev/full");
		return;
	}
	g_assert_cmpint(alga_bundle_output_open_fd(fd, &out), ==, 0);
	g_assert_cmpint(alga_bundle_write(&f->o, out, &res), ==, -ENOSPC);
	g_assert_null(res);
	close(fd);
}

static void test_host_enomem(struct fx *f, gconstpointer data)
{
	struct alga_bundle_output *out = NULL;
	struct alga_bundle_result *res = NULL;

	f->host_error = -ENOMEM;
	g_assert_cmpint(alga_bundle_output_open_dir(f->out, &out), ==, 0);
	g_assert_cmpint(alga_bundle_write(&f->o, out, &res), ==, -ENOMEM);
	g_assert_null(res);
	/* nothing published, nothing left */
	g_assert_cmpuint(count_dir(f->out), ==, 0);
}

static void test_host_error(struct fx *f, gconstpointer data)
{
	g_autoptr(GPtrArray) a = NULL;
	g_autofree char *t = NULL;
	struct alga_bundle_result *res;
	struct json_object *m, *fe;

	f->host_error = -EIO;
	res = write_dir(f);
	a = read_bundle(res->path);
	t = text_of(a, "host/collectors-error.txt");
	g_assert_cmpstr(t, ==, "host collectors failed: Input/output error\n");
	m = manifest_of(a);
	fe = manifest_file(m, "host/collectors-error.txt");
	g_assert_false(json_object_get_boolean(field(fe, "ok")));
	g_assert_cmpstr(json_object_get_string(field(fe, "error")), ==,
			"host collectors failed: Input/output error");
	g_assert_cmpuint(res->failed, >=, 1);
	json_object_put(m);
	alga_bundle_result_free(res);
}

static void test_no_host(struct fx *f, gconstpointer data)
{
	g_autoptr(GPtrArray) a = NULL;
	struct alga_bundle_result *res;
	g_autofree char *j = NULL;

	f->o.host = NULL;
	f->o.journal_dir = g_build_filename(f->dir, "no-journal", NULL);
	res = write_dir(f);
	a = read_bundle(res->path);
	g_assert_cmpuint(f->host_calls, ==, 0);
	g_assert_null(find(a, "host/disk-usage.txt"));
	/* an absent journal directory: recorded in the file, the bundle goes on */
	j = text_of(a, "host/appliance-journal.txt");
	g_assert_true(g_str_has_prefix(j, "Failed to open the journal: ") ||
		      g_str_equal(j, "No journal entries match.\n"));
	g_free((char *)f->o.journal_dir);
	f->o.journal_dir = f->journal;
	alga_bundle_result_free(res);
}

#define FX(path, fn) g_test_add(path, struct fx, NULL, fx_setup, fn, fx_teardown)

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/bundle/name_is_valid/cases", test_name_is_valid);
	FX("/bundle/path_is_denied/files", test_denied_files);
	FX("/bundle/path_is_denied/symlinks", test_denied_symlinks);
	FX("/bundle/output_open/errors", test_output_errors);
	FX("/bundle/output_open_dir/created", test_output_dir_created);
	FX("/bundle/output_open_file/replaced", test_output_file);
	FX("/bundle/output_open_fd/not-owned", test_output_fd);
	FX("/bundle/redact_new/known-secrets", test_redact_new);
	FX("/bundle/write/layout", test_write_layout);
	FX("/bundle/write/manifest", test_write_manifest);
	FX("/bundle/write/state-files", test_write_state_files);
	FX("/bundle/write/known-secret", test_write_known_secret);
	FX("/bundle/write/entry-max", test_entry_max);
	FX("/bundle/write/entry-max-utf8", test_entry_max_utf8);
	FX("/bundle/write/total-max", test_total_max);
	FX("/bundle/write/enospc", test_enospc);
	FX("/bundle/write/host-enomem", test_host_enomem);
	FX("/bundle/write/host-error", test_host_error);
	FX("/bundle/write/no-host", test_no_host);
	FX("/bundle/publish/suffix", test_suffix);
	FX("/bundle/publish/suffix-exhausted", test_suffix_exhausted);
	FX("/bundle/publish/retention", test_retention);
	return g_test_run();
}
