/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * host.md acceptance tests 6-14 for alga-token: the real binary against a
 * scratch root (--root), as root so that owners can be set.
 */
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alga-test.h"

#define ALGA_GID 10001
#define TOKEN_RE "^[0-9]{4}(-[0-9]{4}){4}\n$"

struct run {
	int status; /* raw wait status */
	char *out;
	char *err;
};

static void run_clear(struct run *r)
{
	g_free(r->out);
	g_free(r->err);
	memset(r, 0, sizeof(*r));
}

static const char *token_bin(void)
{
	const char *b = g_getenv("ALGA_TOKEN_BIN");

	g_assert_nonnull(b);
	return b;
}

/* a scratch root with the group alga and tmpfiles' /var/lib/alga */
struct sandbox {
	char *root;
	char *state;
};

static void write_file(const char *path, const char *data, mode_t mode)
{
	g_assert_true(g_file_set_contents(path, data, -1, NULL));
	g_assert_cmpint(chmod(path, mode), ==, 0);
}

static void sandbox_setup(struct sandbox *s, gconstpointer data)
{
	g_autofree char *etc = NULL, *passwd = NULL, *group = NULL, *setup = NULL;

	s->root = g_dir_make_tmp("test-alga-token-XXXXXX", NULL);
	etc = g_build_filename(s->root, "etc", NULL);
	passwd = g_build_filename(etc, "passwd", NULL);
	group = g_build_filename(etc, "group", NULL);
	g_assert_cmpint(g_mkdir(etc, 0755), ==, 0);
	write_file(passwd, "root:x:0:0:root:/root:/bin/sh\nalga:x:10001:10001::/:/usr/sbin/nologin\n",
		   0644);
	write_file(group, "root:x:0:\nalga:x:10001:\n", 0644);

	s->state = g_build_filename(s->root, "var", "lib", "alga", NULL);
	g_assert_cmpint(g_mkdir_with_parents(s->state, 0750), ==, 0);
	g_assert_cmpint(chown(s->state, 0, ALGA_GID), ==, 0);
	g_assert_cmpint(chmod(s->state, 0750), ==, 0);
	setup = g_build_filename(s->state, "setup", NULL);
	g_assert_cmpint(g_mkdir(setup, 0750), ==, 0);
	g_assert_cmpint(chown(setup, ALGA_GID, ALGA_GID), ==, 0);
}

static void sandbox_teardown(struct sandbox *s, gconstpointer data)
{
	alga_test_rm_rf(s->root);
	g_free(s->root);
	g_free(s->state);
}

static char *state_path(const struct sandbox *s, const char *rel)
{
	return g_build_filename(s->state, rel, NULL);
}

static char *slurp(const char *path)
{
	char *c = NULL;

	if (!g_file_get_contents(path, &c, NULL, NULL))
		return NULL;
	return c;
}

/* runs alga-token with args (NULL-terminated) and extra env "K=V" entries */
static void run_tool(struct run *r, const char *const *env_extra, const char *first, ...)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_auto(GStrv) envp = g_get_environ();
	g_autoptr(GError) error = NULL;
	const char *a;
	va_list ap;

	g_ptr_array_add(argv, (char *)token_bin());
	va_start(ap, first);
	for (a = first; a; a = va_arg(ap, const char *))
		g_ptr_array_add(argv, (char *)a);
	va_end(ap);
	g_ptr_array_add(argv, NULL);

	envp = g_environ_unsetenv(envp, "ALGA_TEST_CRASH_AT");
	envp = g_environ_unsetenv(envp, "JOURNAL_STREAM");
	for (size_t i = 0; env_extra && env_extra[i]; i++) {
		g_autofree char *k = g_strndup(env_extra[i], strcspn(env_extra[i], "="));

		envp = g_environ_setenv(envp, k, strchr(env_extra[i], '=') + 1, TRUE);
	}

	run_clear(r);
	g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, envp, G_SPAWN_DEFAULT, NULL, NULL,
				   &r->out, &r->err, &r->status, &error));
	if (g_test_verbose())
		g_test_message("%s %s -> %d\nstdout: %s\nstderr: %s", token_bin(),
			       (char *)argv->pdata[1], r->status, r->out, r->err);
}

static int exit_code(const struct run *r)
{
	g_assert_true(WIFEXITED(r->status));
	return WEXITSTATUS(r->status);
}

static bool need_root(void)
{
	if (geteuid() == 0)
		return true;
	g_test_skip("needs root to own files as root:alga");
	return false;
}

static bool need_test_hooks(void)
{
	if (g_strcmp0(g_getenv("ALGA_TEST_HOOKS"), "1") == 0)
		return true;
	g_test_skip("built without -Dtest-hooks=true, no crash hook");
	return false;
}

static unsigned count_dir(const char *path, const char *const *allowed)
{
	GDir *d = g_dir_open(path, 0, NULL);
	const char *n;
	unsigned count = 0;

	g_assert_nonnull(d);
	while ((n = g_dir_read_name(d))) {
		if (!g_strv_contains(allowed, n))
			g_test_message("unexpected entry '%s' in %s", n, path);
		g_assert_true(g_strv_contains(allowed, n));
		count++;
	}
	g_dir_close(d);
	return count;
}

static void assert_state_clean(const struct sandbox *s)
{
	static const char *const top[] = { "setup-token", ".token.lock", "secrets", "setup", NULL };
	static const char *const sec[] = { "session-secret", "alga-auth-key", NULL };
	g_autofree char *secrets = state_path(s, "secrets");

	count_dir(s->state, top);
	g_assert_cmpuint(count_dir(secrets, sec), ==, 2);
}

static void assert_secret_file(const char *path, const char *re)
{
	g_autofree char *c = slurp(path);
	struct stat st;

	g_assert_nonnull(c);
	g_assert_true(g_regex_match_simple(re, c, 0, 0));
	g_assert_cmpint(lstat(path, &st), ==, 0);
	g_assert_true(S_ISREG(st.st_mode));
	g_assert_cmpint(st.st_mode & 07777, ==, 0640);
	g_assert_cmpuint(st.st_uid, ==, 0);
	g_assert_cmpuint(st.st_gid, ==, ALGA_GID);
}

/* test 6 */
static void test_ensure_creates(struct sandbox *s, gconstpointer data)
{
	g_autofree char *tok = state_path(s, "setup-token");
	g_autofree char *key = state_path(s, "secrets/session-secret");
	g_autofree char *auth = state_path(s, "secrets/alga-auth-key");
	g_autofree char *secrets = state_path(s, "secrets");
	struct run r = {};
	struct stat st;

	if (!need_root())
		return;

	run_tool(&r, NULL, "--root", s->root, "ensure", NULL);
	g_assert_cmpint(exit_code(&r), ==, 0);
	assert_secret_file(tok, TOKEN_RE);
	assert_secret_file(key, "^[0-9a-f]{64}\n$");
	assert_secret_file(auth, "^[A-Za-z0-9_-]{43}\n$");
	g_assert_cmpint(lstat(secrets, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 07777, ==, 0750);
	g_assert_cmpuint(st.st_gid, ==, ALGA_GID);
	assert_state_clean(s);

	run_tool(&r, NULL, "--root", s->root, "check", NULL);
	g_assert_cmpint(exit_code(&r), ==, 0);
	run_clear(&r);
}

/* test 7 */
static void test_ensure_keeps(struct sandbox *s, gconstpointer data)
{
	g_autofree char *tok = state_path(s, "setup-token");
	g_autofree char *key = state_path(s, "secrets/session-secret");
	g_autofree char *a = NULL, *b = NULL, *ka = NULL, *kb = NULL;
	struct stat s1, s2;
	struct run r = {};

	if (!need_root())
		return;

	run_tool(&r, NULL, "--root", s->root, "ensure", NULL);
	g_assert_cmpint(exit_code(&r), ==, 0);
	a = slurp(tok);
	ka = slurp(key);
	g_assert_cmpint(stat(tok, &s1), ==, 0);

	run_tool(&r, NULL, "--root", s->root, "ensure", NULL);
	g_assert_cmpint(exit_code(&r), ==, 0);
	b = slurp(tok);
	kb = slurp(key);
	g_assert_cmpint(stat(tok, &s2), ==, 0);

	g_assert_cmpstr(a, ==, b);
	g_assert_cmpstr(ka, ==, kb);
	g_assert_cmpuint(s1.st_ino, ==, s2.st_ino);
	g_assert_cmpint(s1.st_mtim.tv_sec, ==, s2.st_mtim.tv_sec);
	g_assert_cmpint(s1.st_mtim.tv_nsec, ==, s2.st_mtim.tv_nsec);
	run_clear(&r);
}

/* test 8 */
static void test_ensure_parallel(struct sandbox *s, gconstpointer data)
{
	enum { N = 32 };
	g_autofree char *tok = state_path(s, "setup-token");
	g_autofree char *first = NULL;
	GPid pids[N];

	if (!need_root())
		return;

	for (int i = 0; i < N; i++) {
		const char *argv[] = { token_bin(), "--root", s->root, "ensure", NULL };
		g_autoptr(GError) error = NULL;

		g_assert_true(g_spawn_async(NULL, (char **)argv, NULL,
					    G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
					    NULL, NULL, &pids[i], &error));
	}
	for (int i = 0; i < N; i++) {
		int status;

		g_assert_cmpint(waitpid(pids[i], &status, 0), ==, pids[i]);
		g_assert_true(WIFEXITED(status));
		g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	}

	assert_secret_file(tok, TOKEN_RE);
	assert_state_clean(s);
	first = slurp(tok);

	/* every later reader sees the one token */
	for (int i = 0; i < 3; i++) {
		struct run r = {};

		run_tool(&r, NULL, "--root", s->root, "show", NULL);
		g_assert_cmpint(exit_code(&r), ==, 0);
		g_assert_cmpstr(r.out, ==, first);
		run_clear(&r);
	}
}

/* test 9 */
static void test_crash_after_write(struct sandbox *s, gconstpointer data)
{
	static const char *const crash1[] = { "ALGA_TEST_CRASH_AT=after-write", NULL };
	static const char *const crash2[] = { "ALGA_TEST_CRASH_AT=after-write:2", NULL };
	g_autofree char *tok = state_path(s, "setup-token");
	g_autofree char *key = state_path(s, "secrets/session-secret");
	g_autofree char *before = NULL, *after = NULL;
	struct run r = {};

	if (!need_root() || !need_test_hooks())
		return;

	run_tool(&r, crash1, "--root", s->root, "ensure", NULL);
	g_assert_true(WIFSIGNALED(r.status));
	g_assert_cmpint(WTERMSIG(r.status), ==, SIGKILL);
	g_assert_false(g_file_test(tok, G_FILE_TEST_EXISTS));

	/* killed while making the second file: the first stays as it is */
	run_tool(&r, crash2, "--root", s->root, "ensure", NULL);
	g_assert_true(WIFSIGNALED(r.status));
	before = slurp(tok);
	g_assert_nonnull(before);
	g_assert_false(g_file_test(key, G_FILE_TEST_EXISTS));

	run_tool(&r, NULL, "--root", s->root, "ensure", NULL);
	g_assert_cmpint(exit_code(&r), ==, 0);
	after = slurp(tok);
	g_assert_cmpstr(before, ==, after);
	assert_secret_file(key, "^[0-9a-f]{64}\n$");
	assert_state_clean(s);
	run_clear(&r);
}

/* test 10, first half: malformed files are replaced, with a warning */
static void test_malformed_replaced(struct sandbox *s, gconstpointer data)
{
	g_autofree char *tok = state_path(s, "setup-token");
	g_autofree char *longer = g_strnfill(200, '1');
	struct run r = {};

	if (!need_root())
		return;

	write_file(tok, "12\n", 0640);
	run_tool(&r, NULL, "--root", s->root, "ensure", NULL);
	g_assert_cmpint(exit_code(&r), ==, 0);
	g_assert_nonnull(strstr(r.err, "malformed"));
	assert_secret_file(tok, TOKEN_RE);

	write_file(tok, longer, 0640);
	run_tool(&r, NULL, "--root", s->root, "ensure", NULL);
	g_assert_cmpint(exit_code(&r), ==, 0);
	g_assert_nonnull(strstr(r.err, "malformed"));
	assert_secret_file(tok, TOKEN_RE);
	assert_state_clean(s);
	run_clear(&r);
}

static void assert_refused_unchanged(struct sandbox *s, const char *path, const char *why)
{
	struct run r = {};
	struct stat before, after;

	g_assert_cmpint(lstat(path, &before), ==, 0);
	run_tool(&r, NULL, "--root", s->root, "ensure", NULL);
	g_assert_cmpint(exit_code(&r), ==, 1);
	g_assert_nonnull(strstr(r.err, why));
	/* one clear message */
	g_assert_cmpuint(g_strv_length(g_strsplit(r.err, "\n", -1)), ==, 2);
	g_assert_cmpint(lstat(path, &after), ==, 0);
	g_assert_cmpuint(before.st_ino, ==, after.st_ino);
	g_assert_cmpuint(before.st_mode, ==, after.st_mode);
	g_assert_cmpuint(before.st_uid, ==, after.st_uid);
	g_assert_cmpint(before.st_mtim.tv_nsec, ==, after.st_mtim.tv_nsec);
	run_clear(&r);
}

/* test 10, second half: what alga-token must not touch */
static void test_symlink_refused(struct sandbox *s, gconstpointer data)
{
	g_autofree char *tok = state_path(s, "setup-token");
	g_autofree char *passwd = NULL;
	g_autofree char *after = NULL;
	struct stat before_st, after_st;

	if (!need_root())
		return;

	passwd = slurp("/etc/passwd");
	g_assert_cmpint(stat("/etc/passwd", &before_st), ==, 0);
	g_assert_cmpint(symlink("/etc/passwd", tok), ==, 0);

	assert_refused_unchanged(s, tok, "symbolic link");

	after = slurp("/etc/passwd");
	g_assert_cmpstr(passwd, ==, after);
	g_assert_cmpint(stat("/etc/passwd", &after_st), ==, 0);
	g_assert_cmpuint(before_st.st_mode, ==, after_st.st_mode);
	g_assert_cmpuint(before_st.st_uid, ==, after_st.st_uid);
	g_assert_cmpuint(before_st.st_gid, ==, after_st.st_gid);
}

static void test_foreign_refused(struct sandbox *s, gconstpointer data)
{
	g_autofree char *tok = state_path(s, "setup-token");

	if (!need_root())
		return;

	write_file(tok, "1111-2222-3333-4444-5555\n", 0640);
	g_assert_cmpint(chown(tok, ALGA_GID, ALGA_GID), ==, 0);
	assert_refused_unchanged(s, tok, "not root");
}

static void test_directory_refused(struct sandbox *s, gconstpointer data)
{
	g_autofree char *tok = state_path(s, "setup-token");

	if (!need_root())
		return;

	g_assert_cmpint(g_mkdir(tok, 0700), ==, 0);
	assert_refused_unchanged(s, tok, "not a regular file");
}

static void test_mode_fixed(struct sandbox *s, gconstpointer data)
{
	g_autofree char *tok = state_path(s, "setup-token");
	g_autofree char *c = NULL;
	struct run r = {};

	if (!need_root())
		return;

	write_file(tok, "1111-2222-3333-4444-5555\n", 0644);
	run_tool(&r, NULL, "--root", s->root, "ensure", NULL);
	g_assert_cmpint(exit_code(&r), ==, 0);
	assert_secret_file(tok, TOKEN_RE);
	c = slurp(tok);
	g_assert_cmpstr(c, ==, "1111-2222-3333-4444-5555\n");
	run_clear(&r);
}

static void test_upstream_adopted(struct sandbox *s, gconstpointer data)
{
	g_autofree char *old_dir = g_build_filename(s->root, "var/lib/alga-appliance", NULL);
	g_autofree char *old = g_build_filename(old_dir, "setup-token", NULL);
	g_autofree char *tok = state_path(s, "setup-token");
	g_autofree char *c = NULL;
	struct run r = {};

	if (!need_root())
		return;

	g_assert_cmpint(g_mkdir(old_dir, 0755), ==, 0);
	write_file(old, "9876-5432-1098-7654-3210", 0644);
	run_tool(&r, NULL, "--root", s->root, "ensure", NULL);
	g_assert_cmpint(exit_code(&r), ==, 0);
	c = slurp(tok);
	g_assert_cmpstr(c, ==, "9876-5432-1098-7654-3210\n");
	assert_secret_file(tok, TOKEN_RE);
	run_clear(&r);
}

static void test_upstream_foreign_ignored(struct sandbox *s, gconstpointer data)
{
	g_autofree char *old_dir = g_build_filename(s->root, "var/lib/alga-appliance", NULL);
	g_autofree char *old = g_build_filename(old_dir, "setup-token", NULL);
	g_autofree char *tok = state_path(s, "setup-token");
	g_autofree char *c = NULL;
	struct run r = {};

	if (!need_root())
		return;

	/* a token someone other than root planted is never adopted */
	g_assert_cmpint(g_mkdir(old_dir, 0755), ==, 0);
	write_file(old, "9876-5432-1098-7654-3210\n", 0644);
	g_assert_cmpint(chown(old, ALGA_GID, ALGA_GID), ==, 0);
	run_tool(&r, NULL, "--root", s->root, "ensure", NULL);
	g_assert_cmpint(exit_code(&r), ==, 0);
	c = slurp(tok);
	g_assert_cmpstr(c, !=, "9876-5432-1098-7654-3210\n");
	run_clear(&r);
}

/* test 11, second half: RAND_bytes refusing, through an LD_PRELOAD shim */
static void test_rand_failure(struct sandbox *s, gconstpointer data)
{
	const char *shim = g_getenv("ALGA_RAND_FAIL_SHIM");
	g_autofree char *preload = NULL;
	g_autofree char *tok = state_path(s, "setup-token");
	const char *env[2] = {};
	struct run r = {};

	if (!need_root())
		return;
	if (!shim || !g_file_test(shim, G_FILE_TEST_EXISTS)) {
		g_test_skip("RAND_bytes failure shim not built");
		return;
	}

	preload = g_strdup_printf("LD_PRELOAD=%s", shim);
	env[0] = preload;
	run_tool(&r, env, "--root", s->root, "ensure", NULL);
	g_assert_cmpint(exit_code(&r), ==, 1);
	g_assert_nonnull(strstr(r.err, "random"));
	g_assert_false(g_file_test(tok, G_FILE_TEST_EXISTS));
	run_clear(&r);
}

static void make_credential(const struct sandbox *s)
{
	g_autofree char *cred = state_path(s, "setup/admin-credential.json");
	g_autofree char *sessions = state_path(s, "setup/sessions.json");

	write_file(cred, "{\"version\":1}\n", 0600);
	write_file(sessions, "{\"version\":1,\"sessions\":[]}\n", 0600);
}

/* test 12 */
static void test_reset_order(struct sandbox *s, gconstpointer data)
{
	g_autofree char *tok = state_path(s, "setup-token");
	g_autofree char *key = state_path(s, "secrets/session-secret");
	g_autofree char *secrets = state_path(s, "secrets");
	g_autofree char *setup = state_path(s, "setup");
	g_autofree char *t0 = NULL, *k0 = NULL, *t1 = NULL, *k1 = NULL;
	int wd_state, wd_secrets, wd_setup, ifd;
	g_autoptr(GString) order = g_string_new(NULL);
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct run r = {};
	ssize_t n;

	if (!need_root())
		return;

	run_tool(&r, NULL, "--root", s->root, "ensure", NULL);
	g_assert_cmpint(exit_code(&r), ==, 0);
	make_credential(s);
	t0 = slurp(tok);
	k0 = slurp(key);

	ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	g_assert_cmpint(ifd, >=, 0);
	wd_state = inotify_add_watch(ifd, s->state, IN_MOVED_TO | IN_DELETE);
	wd_secrets = inotify_add_watch(ifd, secrets, IN_MOVED_TO | IN_DELETE);
	wd_setup = inotify_add_watch(ifd, setup, IN_MOVED_TO | IN_DELETE);
	g_assert_cmpint(wd_state, >=, 0);
	g_assert_cmpint(wd_secrets, >=, 0);
	g_assert_cmpint(wd_setup, >=, 0);

	run_tool(&r, NULL, "--root", s->root, "reset-admin", "--yes", NULL);
	g_assert_cmpint(exit_code(&r), ==, 0);

	while ((n = read(ifd, buf, sizeof(buf))) > 0)
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *e = (struct inotify_event *)p;

			if (e->len > 0 && e->name[0] != '.')
				g_string_append_printf(order, "%s %s;",
						       (e->mask & IN_MOVED_TO) ? "rename" : "unlink",
						       e->name);
			p += sizeof(*e) + e->len;
		}
	close(ifd);

	g_assert_cmpstr(order->str, ==,
			"rename setup-token;rename session-secret;unlink admin-credential.json;"
			"unlink sessions.json;");

	t1 = slurp(tok);
	k1 = slurp(key);
	g_assert_cmpstr(t0, !=, t1);
	g_assert_cmpstr(k0, !=, k1);
	assert_secret_file(tok, TOKEN_RE);
	assert_secret_file(key, "^[0-9a-f]{64}\n$");
	/* the new token is printed, and only on stdout */
	g_assert_nonnull(strstr(r.out, g_strchomp(t1)));
	g_assert_null(strstr(r.err, t1));
	run_clear(&r);
}

/* test 13 */
static void test_reset_killed(struct sandbox *s, gconstpointer data)
{
	static const char *const points[] = { "ALGA_TEST_CRASH_AT=reset-token",
					      "ALGA_TEST_CRASH_AT=reset-key",
					      "ALGA_TEST_CRASH_AT=reset-credential" };
	g_autofree char *tok = state_path(s, "setup-token");
	g_autofree char *key = state_path(s, "secrets/session-secret");
	g_autofree char *cred = state_path(s, "setup/admin-credential.json");

	if (!need_root() || !need_test_hooks())
		return;

	for (size_t i = 0; i < G_N_ELEMENTS(points); i++) {
		const char *env[] = { points[i], NULL };
		g_autofree char *t0 = NULL, *k0 = NULL, *t1 = NULL, *k1 = NULL;
		struct run r = {};

		run_tool(&r, NULL, "--root", s->root, "ensure", NULL);
		g_assert_cmpint(exit_code(&r), ==, 0);
		make_credential(s);
		t0 = slurp(tok);
		k0 = slurp(key);

		run_tool(&r, env, "--root", s->root, "reset-admin", "--yes", NULL);
		g_assert_true(WIFSIGNALED(r.status));

		run_tool(&r, NULL, "--root", s->root, "reset-admin", "--yes", NULL);
		g_assert_cmpint(exit_code(&r), ==, 0);
		t1 = slurp(tok);
		k1 = slurp(key);
		g_assert_cmpstr(t0, !=, t1);
		g_assert_cmpstr(k0, !=, k1);
		g_assert_false(g_file_test(cred, G_FILE_TEST_EXISTS));
		assert_secret_file(tok, TOKEN_RE);
		assert_secret_file(key, "^[0-9a-f]{64}\n$");
		assert_state_clean(s);
		run_clear(&r);
	}
}

/* test 14 (the part outside a booted system): no token on stderr */
static void test_no_token_in_logs(struct sandbox *s, gconstpointer data)
{
	g_autofree char *tok = state_path(s, "setup-token");
	g_autofree char *t = NULL;
	struct run r = {};

	if (!need_root())
		return;

	run_tool(&r, (const char *const[]){ "ALGA_LOG_LEVEL=debug", NULL }, "--root", s->root,
		 "ensure", NULL);
	g_assert_cmpint(exit_code(&r), ==, 0);
	t = g_strchomp(slurp(tok));
	g_assert_null(strstr(r.err, t));
	g_assert_null(strstr(r.out, t));

	static const char *const verbs[][3] = {
		{ "show", NULL }, { "show", "--json" }, { "check", NULL }, { "check", "--json" },
		{ "ensure", "--json" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++) {
		run_tool(&r, (const char *const[]){ "ALGA_LOG_LEVEL=debug", NULL }, "--root",
			 s->root, verbs[i][0], verbs[i][1], NULL);
		g_assert_cmpint(exit_code(&r), ==, 0);
		g_assert_null(strstr(r.err, t));
		if (!g_str_equal(verbs[i][0], "show"))
			g_assert_null(strstr(r.out, t));
	}

	make_credential(s);
	run_tool(&r, (const char *const[]){ "ALGA_LOG_LEVEL=debug", NULL }, "--root", s->root,
		 "reset-admin", "--yes", NULL);
	g_assert_cmpint(exit_code(&r), ==, 0);
	g_free(t);
	t = g_strchomp(slurp(tok));
	g_assert_null(strstr(r.err, t));
	g_assert_nonnull(strstr(r.out, t));
	run_clear(&r);
}

static void test_show_json_state(struct sandbox *s, gconstpointer data)
{
	struct run r = {};

	if (!need_root())
		return;

	run_tool(&r, NULL, "--root", s->root, "show", NULL);
	g_assert_cmpint(exit_code(&r), ==, 1);
	g_assert_nonnull(strstr(r.err, "alga-token ensure"));

	run_tool(&r, NULL, "--root", s->root, "ensure", NULL);
	run_tool(&r, NULL, "--root", s->root, "show", "--json", NULL);
	g_assert_cmpint(exit_code(&r), ==, 0);
	g_assert_true(g_regex_match_simple(
		"^\\{\"version\":1,\"token\":\"[0-9]{4}(-[0-9]{4}){4}\",\"state\":\"unused\"\\}\n$",
		r.out, 0, 0));
	make_credential(s);
	run_tool(&r, NULL, "--root", s->root, "show", "--json", NULL);
	g_assert_nonnull(strstr(r.out, "\"state\":\"used\""));
	run_clear(&r);
}

static void test_check_reports(struct sandbox *s, gconstpointer data)
{
	g_autofree char *tok = state_path(s, "setup-token");
	struct run r = {};

	if (!need_root())
		return;

	run_tool(&r, NULL, "--root", s->root, "ensure", NULL);
	g_assert_cmpint(chmod(tok, 0644), ==, 0);
	run_tool(&r, NULL, "--root", s->root, "check", "--json", NULL);
	g_assert_cmpint(exit_code(&r), ==, 1);
	g_assert_nonnull(strstr(r.out, "mode 0644, want 0640"));
	g_assert_nonnull(strstr(r.out, "\"ok\":false"));
	run_clear(&r);
}

/* exit 75 when another process holds the lock for more than 10 s */
static void test_lock_busy(struct sandbox *s, gconstpointer data)
{
	g_autofree char *lock = state_path(s, ".token.lock");
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	g_autofree char *pid = NULL;
	struct run r = {};
	int fd;

	if (!need_root())
		return;

	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(fcntl(fd, F_OFD_SETLK, &fl), ==, 0);
	pid = g_strdup_printf("%d\n", (int)getpid());
	g_assert_cmpint(write(fd, pid, strlen(pid)), ==, (ssize_t)strlen(pid));

	run_tool(&r, NULL, "--root", s->root, "ensure", NULL);
	g_assert_cmpint(exit_code(&r), ==, 75);
	g_assert_nonnull(strstr(r.err, g_strchomp(pid)));
	close(fd);
	run_clear(&r);
}

static void drop_to_nobody(gpointer data)
{
	if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
		_exit(99);
}

static void test_reset_refusals(struct sandbox *s, gconstpointer data)
{
	g_autofree char *link = g_build_filename(s->root, "alga-appliance-reset-admin", NULL);
	const char *argv[] = { token_bin(), "--root", s->root, "reset-admin", "--yes", NULL };
	g_autofree char *out = NULL, *err = NULL;
	struct run r = {};
	int status;

	if (!need_root())
		return;

	run_tool(&r, NULL, "--root", s->root, "ensure", NULL);
	/* no terminal and no --yes: refused as misuse */
	run_tool(&r, NULL, "--root", s->root, "reset-admin", NULL);
	g_assert_cmpint(exit_code(&r), ==, 2);
	g_assert_nonnull(strstr(r.err, "--yes"));

	/* nobody may not be able to reach the build tree: run a copy */
	{
		g_autofree char *pub = g_dir_make_tmp("test-alga-token-bin-XXXXXX", NULL);
		g_autofree char *copy = g_build_filename(pub, "alga-token", NULL);
		g_autofree char *bytes = NULL;
		gsize len;

		g_assert_true(g_file_get_contents(token_bin(), &bytes, &len, NULL));
		g_assert_true(g_file_set_contents(copy, bytes, (gssize)len, NULL));
		g_assert_cmpint(chmod(copy, 0755), ==, 0);
		g_assert_cmpint(chmod(pub, 0755), ==, 0);
		argv[0] = copy;

		g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, drop_to_nobody,
					   NULL, &out, &err, &status, NULL));
		g_assert_true(WIFEXITED(status));
		g_assert_cmpint(WEXITSTATUS(status), ==, 77);
		g_assert_nonnull(strstr(err, "root"));
		unlink(copy);
		rmdir(pub);
	}

	/* upstream's command name runs reset-admin */
	g_assert_cmpint(symlink(token_bin(), link), ==, 0);
	{
		const char *argv2[] = { link, "--root", s->root, "--yes", "--json", NULL };
		g_autofree char *o2 = NULL, *e2 = NULL;

		g_assert_true(g_spawn_sync(NULL, (char **)argv2, NULL, G_SPAWN_DEFAULT, NULL, NULL,
					   &o2, &e2, &status, NULL));
		g_assert_true(WIFEXITED(status));
		g_assert_cmpint(WEXITSTATUS(status), ==, 0);
		g_assert_nonnull(strstr(o2, "\"cookiesRevoked\":true"));
	}
	run_clear(&r);
}

#define ADD(path, fn) g_test_add(path, struct sandbox, NULL, sandbox_setup, fn, sandbox_teardown)

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);

	ADD("/alga-token/ensure/creates", test_ensure_creates);
	ADD("/alga-token/ensure/keeps", test_ensure_keeps);
	ADD("/alga-token/ensure/parallel-32", test_ensure_parallel);
	ADD("/alga-token/ensure/crash-after-write", test_crash_after_write);
	ADD("/alga-token/ensure/malformed-replaced", test_malformed_replaced);
	ADD("/alga-token/ensure/symlink-refused", test_symlink_refused);
	ADD("/alga-token/ensure/foreign-owner-refused", test_foreign_refused);
	ADD("/alga-token/ensure/directory-refused", test_directory_refused);
	ADD("/alga-token/ensure/mode-fixed", test_mode_fixed);
	ADD("/alga-token/ensure/upstream-adopted", test_upstream_adopted);
	ADD("/alga-token/ensure/upstream-foreign-ignored", test_upstream_foreign_ignored);
	ADD("/alga-token/ensure/rand-failure", test_rand_failure);
	ADD("/alga-token/ensure/lock-busy", test_lock_busy);
	ADD("/alga-token/show/json-state", test_show_json_state);
	ADD("/alga-token/check/reports", test_check_reports);
	ADD("/alga-token/reset-admin/order", test_reset_order);
	ADD("/alga-token/reset-admin/killed", test_reset_killed);
	ADD("/alga-token/reset-admin/refusals", test_reset_refusals);
	ADD("/alga-token/logs/no-token", test_no_token_in_logs);

	return g_test_run();
}
