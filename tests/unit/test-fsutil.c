/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alga-test.h"
#include "fsutil.h"

/* a fresh directory per test, removed by the fixture */
struct dir {
	char *path;
	int fd;
};

static void dir_setup(struct dir *d, gconstpointer data)
{
	d->path = g_dir_make_tmp("test-fsutil-XXXXXX", NULL);
	g_assert_nonnull(d->path);
	d->fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	g_assert_cmpint(d->fd, >=, 0);
}

static void dir_teardown(struct dir *d, gconstpointer data)
{
	close(d->fd);
	alga_test_rm_rf(d->path);
	g_free(d->path);
}

static unsigned count_entries(const struct dir *d)
{
	GDir *dir = g_dir_open(d->path, 0, NULL);
	unsigned n = 0;

	while (g_dir_read_name(dir))
		n++;
	g_dir_close(dir);
	return n;
}

static char *slurp(const struct dir *d, const char *name)
{
	g_autofree char *p = g_build_filename(d->path, name, NULL);
	char *s = NULL;

	g_assert_true(g_file_get_contents(p, &s, NULL, NULL));
	return s;
}

static void test_write_atomic(struct dir *d, gconstpointer data)
{
	g_autofree char *a = NULL, *b = NULL;
	struct stat st;

	g_assert_cmpint(alga_fs_write_atomic(d->fd, "f", "one\n", 4, 0640, ALGA_UID_KEEP,
					     ALGA_GID_KEEP), ==, 0);
	a = slurp(d, "f");
	g_assert_cmpstr(a, ==, "one\n");
	g_assert_cmpint(fstatat(d->fd, "f", &st, 0), ==, 0);
	g_assert_cmpint(st.st_mode & 07777, ==, 0640);

	g_assert_cmpint(alga_fs_write_atomic(d->fd, "f", "two", 3, 0600, ALGA_UID_KEEP,
					     ALGA_GID_KEEP), ==, 0);
	b = slurp(d, "f");
	g_assert_cmpstr(b, ==, "two");
	g_assert_cmpint(fstatat(d->fd, "f", &st, 0), ==, 0);
	g_assert_cmpint(st.st_mode & 07777, ==, 0600);
	/* no temp file left behind */
	g_assert_cmpuint(count_entries(d), ==, 1);
}

static void test_write_atomic_bad_name(struct dir *d, gconstpointer data)
{
	g_assert_cmpint(alga_fs_write_atomic(d->fd, "a/b", "x", 1, 0600, ALGA_UID_KEEP,
					     ALGA_GID_KEEP), ==, -EINVAL);
	g_assert_cmpint(alga_fs_write_atomic(d->fd, "..", "x", 1, 0600, ALGA_UID_KEEP,
					     ALGA_GID_KEEP), ==, -EINVAL);
	g_assert_cmpuint(count_entries(d), ==, 0);
}

static void test_write_atomic_replaces_symlink_not_target(struct dir *d, gconstpointer data)
{
	g_autofree char *target = g_build_filename(d->path, "target", NULL);
	g_autofree char *t = NULL;
	struct stat st;

	g_assert_true(g_file_set_contents(target, "keep", -1, NULL));
	g_assert_cmpint(symlinkat("target", d->fd, "link"), ==, 0);
	/* rename replaces the link itself; the target keeps its bytes */
	g_assert_cmpint(alga_fs_write_atomic(d->fd, "link", "new", 3, 0600, ALGA_UID_KEEP,
					     ALGA_GID_KEEP), ==, 0);
	t = slurp(d, "target");
	g_assert_cmpstr(t, ==, "keep");
	g_assert_cmpint(fstatat(d->fd, "link", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
	g_assert_true(S_ISREG(st.st_mode));
}

static void test_create_once(struct dir *d, gconstpointer data)
{
	g_autofree char *s = NULL;
	struct stat st1, st2;

	g_assert_cmpint(alga_fs_create_once(d->fd, "t", "first", 5, 0640, ALGA_UID_KEEP,
					    ALGA_GID_KEEP), ==, 1);
	g_assert_cmpint(fstatat(d->fd, "t", &st1, 0), ==, 0);
	g_assert_cmpint(alga_fs_create_once(d->fd, "t", "second", 6, 0640, ALGA_UID_KEEP,
					    ALGA_GID_KEEP), ==, 0);
	g_assert_cmpint(fstatat(d->fd, "t", &st2, 0), ==, 0);
	s = slurp(d, "t");
	g_assert_cmpstr(s, ==, "first");
	g_assert_cmpuint(st1.st_ino, ==, st2.st_ino);
	g_assert_cmpint(st1.st_mode & 07777, ==, 0640);
	g_assert_cmpuint(count_entries(d), ==, 1);
}

static void test_create_once_parallel(struct dir *d, gconstpointer data)
{
	enum { N = 16 };
	pid_t pids[N];
	int created = 0;

	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		g_assert_cmpint(pids[i], >=, 0);
		if (pids[i] == 0) {
			char buf[16];
			int n = snprintf(buf, sizeof(buf), "writer %d", i);

			_exit(alga_fs_create_once(d->fd, "race", buf, (size_t)n, 0600, ALGA_UID_KEEP,
						  ALGA_GID_KEEP) == 1 ? 10 : 11);
		}
	}
	for (int i = 0; i < N; i++) {
		int status;

		g_assert_cmpint(waitpid(pids[i], &status, 0), ==, pids[i]);
		g_assert_true(WIFEXITED(status));
		created += WEXITSTATUS(status) == 10;
	}
	g_assert_cmpint(created, ==, 1);
	g_assert_cmpuint(count_entries(d), ==, 1);
}

static void test_read_file(struct dir *d, gconstpointer data)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	struct stat st;

	g_assert_cmpint(alga_fs_write_atomic(d->fd, "f", "12345", 5, 0600, ALGA_UID_KEEP,
					     ALGA_GID_KEEP), ==, 0);
	g_assert_cmpint(alga_fs_read_file(d->fd, "f", 5, &buf, &len, &st), ==, 0);
	g_assert_cmpstr(buf, ==, "12345");
	g_assert_cmpuint(len, ==, 5);
	g_assert_cmpint(st.st_size, ==, 5);
	free(TAKE_PTR(buf));

	/* one past the limit */
	g_assert_cmpint(alga_fs_read_file(d->fd, "f", 4, &buf, &len, NULL), ==, -E2BIG);
	g_assert_null(buf);
	g_assert_cmpint(alga_fs_read_file(d->fd, "missing", 4, &buf, &len, NULL), ==, -ENOENT);

	g_assert_cmpint(symlinkat("f", d->fd, "l"), ==, 0);
	g_assert_cmpint(alga_fs_read_file(d->fd, "l", 100, &buf, &len, NULL), ==, -ELOOP);
	g_assert_cmpint(mkdirat(d->fd, "dir", 0700), ==, 0);
	g_assert_cmpint(alga_fs_read_file(d->fd, "dir", 100, &buf, &len, NULL), ==, -EBADFD);
	g_assert_cmpint(mkfifoat(d->fd, "fifo", 0600), ==, 0);
	g_assert_cmpint(alga_fs_read_file(d->fd, "fifo", 100, &buf, &len, NULL), ==, -EBADFD);
}

static void test_fix_mode_owner(struct dir *d, gconstpointer data)
{
	_cleanup_close_ int fd = -EBADF;

	fd = openat(d->fd, "f", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(alga_fs_fix_mode_owner(fd, 0640, ALGA_UID_KEEP, ALGA_GID_KEEP), ==, 1);
	g_assert_cmpint(alga_fs_fix_mode_owner(fd, 0640, ALGA_UID_KEEP, ALGA_GID_KEEP), ==, 0);
	g_assert_cmpint(alga_fs_fix_mode_owner(fd, 0640, getuid(), getgid()), ==, 0);
}

static void test_open_dir(struct dir *d, gconstpointer data)
{
	_cleanup_close_ int a = -EBADF;
	struct stat st;

	a = alga_fs_open_dir(d->fd, "sub", true, 0750, ALGA_UID_KEEP, ALGA_GID_KEEP);
	g_assert_cmpint(a, >=, 0);
	g_assert_cmpint(fstat(a, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 07777, ==, 0750);

	g_assert_cmpint(alga_fs_open_dir(d->fd, "none", false, 0750, ALGA_UID_KEEP, ALGA_GID_KEEP),
			==, -ENOENT);
	g_assert_cmpint(symlinkat("sub", d->fd, "link"), ==, 0);
	g_assert_cmpint(alga_fs_open_dir(d->fd, "link", true, 0750, ALGA_UID_KEEP, ALGA_GID_KEEP),
			==, -ELOOP);
	g_assert_cmpint(alga_fs_write_atomic(d->fd, "file", "x", 1, 0600, ALGA_UID_KEEP,
					     ALGA_GID_KEEP), ==, 0);
	g_assert_cmpint(alga_fs_open_dir(d->fd, "file", true, 0750, ALGA_UID_KEEP, ALGA_GID_KEEP),
			==, -ENOTDIR);
}

static void test_lock_timeout(struct dir *d, gconstpointer data)
{
	_cleanup_close_ int a = -EBADF, b = -EBADF, c = -EBADF;
	struct timespec t0, t1;
	double waited;

	a = alga_fs_lock_file(d->fd, ".lock", true, 0);
	g_assert_cmpint(a, >=, 0);
	g_assert_cmpint(alga_fs_lock_holder(a), ==, getpid());

	/* an OFD lock conflicts with another open file description, even in
	 * the same process */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	b = alga_fs_lock_file(d->fd, ".lock", true, 200 * 1000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	g_assert_cmpint(b, ==, -EBUSY);
	waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	g_assert_cmpfloat(waited, >=, 0.19);
	g_assert_cmpfloat(waited, <, 2.0);

	a = safe_close(a);
	c = alga_fs_lock_file(d->fd, ".lock", true, 200 * 1000);
	g_assert_cmpint(c, >=, 0);
}

static void test_remove_stale_temps(struct dir *d, gconstpointer data)
{
	static const char *const names[] = { ".tok.AbC123", ".tok.zzzzzz", "tok", ".tok.short",
					     ".other.AbC123", ".tok.AbC1234" };

	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		g_autofree char *p = g_build_filename(d->path, names[i], NULL);

		g_assert_true(g_file_set_contents(p, "x", 1, NULL));
	}
	g_assert_cmpint(alga_fs_remove_stale_temps(d->fd, "tok"), ==, 2);
	g_assert_cmpuint(count_entries(d), ==, 4);
}

static void test_path_join(void)
{
	static const struct {
		const char *root, *path, *want;
	} cases[] = {
		{ NULL, "/var/lib/alga", "/var/lib/alga" },
		{ "", "/var/lib/alga", "/var/lib/alga" },
		{ "/", "/var/lib/alga", "/var/lib/alga" },
		{ "/tmp/r", "/var/lib/alga", "/tmp/r/var/lib/alga" },
		{ "/tmp/r//", "/etc", "/tmp/r/etc" },
		{ "/tmp/r", "etc", "/tmp/r/etc" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *s = alga_fs_path_join(cases[i].root, cases[i].path);

		g_assert_cmpstr(s, ==, cases[i].want);
	}
}

static void test_mkdir_p(struct dir *d, gconstpointer data)
{
	g_autofree char *p = g_build_filename(d->path, "a", "b", "c", NULL);

	g_assert_cmpint(alga_fs_mkdir_p(p, 0755), ==, 0);
	g_assert_true(g_file_test(p, G_FILE_TEST_IS_DIR));
	g_assert_cmpint(alga_fs_mkdir_p(p, 0755), ==, 0);
}

#define ADD(path, fn) g_test_add(path, struct dir, NULL, dir_setup, fn, dir_teardown)

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);

	ADD("/fsutil/write_atomic/replace", test_write_atomic);
	ADD("/fsutil/write_atomic/bad-name", test_write_atomic_bad_name);
	ADD("/fsutil/write_atomic/symlink", test_write_atomic_replaces_symlink_not_target);
	ADD("/fsutil/create_once/keeps-first", test_create_once);
	ADD("/fsutil/create_once/parallel", test_create_once_parallel);
	ADD("/fsutil/read_file/cases", test_read_file);
	ADD("/fsutil/fix_mode_owner/changed", test_fix_mode_owner);
	ADD("/fsutil/open_dir/cases", test_open_dir);
	ADD("/fsutil/lock_file/timeout", test_lock_timeout);
	ADD("/fsutil/remove_stale_temps/names", test_remove_stale_temps);
	ADD("/fsutil/mkdir_p/nested", test_mkdir_p);
	g_test_add_func("/fsutil/path_join/cases", test_path_join);

	return g_test_run();
}
