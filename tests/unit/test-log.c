/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <fcntl.h>
#include <stdint.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* runs fn with stderr sent to a temp file and returns what it wrote */
static char *capture_stderr(void (*fn)(void))
{
	g_autofree char *path = NULL;
	char *out = NULL;
	int fd, saved;

	fd = g_file_open_tmp("test-log-XXXXXX", &path, NULL);
	g_assert_cmpint(fd, >=, 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	g_assert_cmpint(dup2(fd, STDERR_FILENO), ==, STDERR_FILENO);

	fn();

	fflush(stderr);
	g_assert_cmpint(dup2(saved, STDERR_FILENO), ==, STDERR_FILENO);
	close(saved);
	close(fd);
	g_assert_true(g_file_get_contents(path, &out, NULL, NULL));
	unlink(path);
	return out;
}

static void emit_basic(void)
{
	int r;

	alga_log_open("/usr/bin/alga-test");
	log_info("Hello %s", "world");
	r = log_error_errno(-ENOENT, "Failed to open '%s': %m", "x");
	g_assert_cmpint(r, ==, -ENOENT);
	r = log_error_errno(EACCES, "positive %d", 1);
	g_assert_cmpint(r, ==, -EACCES);
	log_debug("dropped at the default level");
	g_assert_cmpint(log_oom(), ==, -ENOMEM);
}

static void test_stderr_format(void)
{
	g_autofree char *out = NULL;

	g_unsetenv("JOURNAL_STREAM");
	g_unsetenv("ALGA_LOG_LEVEL");
	out = capture_stderr(emit_basic);
	g_assert_cmpstr(out, ==,
			"alga-test: Hello world\n"
			"alga-test: Failed to open 'x': No such file or directory\n"
			"alga-test: positive 1\n"
			"alga-test: Out of memory\n");
	g_assert_cmpint(alga_log_get_target(), ==, ALGA_LOG_TARGET_STDERR);
}

static void emit_debug(void)
{
	alga_log_open("alga-test");
	log_debug("now shown");
}

static void test_level_env(void)
{
	g_autofree char *out = NULL;

	g_setenv("ALGA_LOG_LEVEL", "debug", TRUE);
	out = capture_stderr(emit_debug);
	g_assert_cmpstr(out, ==, "alga-test: now shown\n");
	g_assert_cmpint(alga_log_get_max_level(), ==, LOG_DEBUG);
	g_unsetenv("ALGA_LOG_LEVEL");
	alga_log_set_max_level(LOG_INFO);
}

static void test_errno_preserved(void)
{
	errno = EXDEV;
	log_debug("nothing");
	(void)log_debug_errno(ENOENT, "nothing %m");
	g_assert_cmpint(errno, ==, EXDEV);
}

static void test_journal_stream_match(void)
{
	g_autofree char *path = NULL, *val = NULL;
	struct stat st;
	int fd, saved;
	bool matched;

	fd = g_file_open_tmp("test-log-js-XXXXXX", &path, NULL);
	saved = dup(STDERR_FILENO);
	g_assert_cmpint(dup2(fd, STDERR_FILENO), ==, STDERR_FILENO);
	g_assert_cmpint(fstat(STDERR_FILENO, &st), ==, 0);

	val = g_strdup_printf("%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
	g_setenv("JOURNAL_STREAM", val, TRUE);
	matched = alga_log_stderr_is_journal();
	g_setenv("JOURNAL_STREAM", "1:2", TRUE);
	g_assert_false(alga_log_stderr_is_journal());
	g_setenv("JOURNAL_STREAM", "garbage", TRUE);
	g_assert_false(alga_log_stderr_is_journal());
	g_unsetenv("JOURNAL_STREAM");
	g_assert_false(alga_log_stderr_is_journal());

	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	unlink(path);
	g_assert_true(matched);
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/log/stderr/format", test_stderr_format);
	g_test_add_func("/log/level/env", test_level_env);
	g_test_add_func("/log/errno/preserved", test_errno_preserved);
	g_test_add_func("/log/journal/stream-match", test_journal_stream_match);

	return g_test_run();
}
