/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "fsutil.h"
#include "tool.h"

static void test_exit_status(void)
{
	g_assert_cmpint(alga_exit_status(0), ==, 0);
	g_assert_cmpint(alga_exit_status(75), ==, 75);
	g_assert_cmpint(alga_exit_status(300), ==, 255);
	g_assert_cmpint(alga_exit_status(-EINVAL), ==, 2);
	g_assert_cmpint(alga_exit_status(-ENOENT), ==, 1);
	g_assert_cmpint(alga_exit_status(-ENOMEM), ==, 1);
}

static int seen;

static int verb_a(int argc, char *argv[], void *userdata)
{
	seen = argc * 10 + (userdata ? 1 : 0);
	return 7;
}

static void test_verb_dispatch(void)
{
	static const struct alga_verb verbs[] = {
		{ "a", 0, 1, verb_a },
		{}
	};
	char *one[] = { (char *)"a", NULL };
	char *two[] = { (char *)"a", (char *)"x", NULL };
	char *three[] = { (char *)"a", (char *)"x", (char *)"y", NULL };
	char *bad[] = { (char *)"b", NULL };
	int ud;

	g_assert_cmpint(alga_verb_dispatch(verbs, NULL, 1, one, &ud), ==, 7);
	g_assert_cmpint(seen, ==, 11);
	g_assert_cmpint(alga_verb_dispatch(verbs, NULL, 2, two, NULL), ==, 7);
	g_assert_cmpint(seen, ==, 20);
	g_assert_cmpint(alga_verb_dispatch(verbs, NULL, 3, three, NULL), ==, -EINVAL);
	g_assert_cmpint(alga_verb_dispatch(verbs, NULL, 1, bad, NULL), ==, -EINVAL);
	g_assert_cmpint(alga_verb_dispatch(verbs, NULL, 0, NULL, NULL), ==, -EINVAL);
	g_assert_cmpint(alga_verb_dispatch(verbs, "a", 0, NULL, NULL), ==, 7);
	g_assert_cmpint(seen, ==, 10);
}

static void test_root_pick(void)
{
	g_unsetenv("ALGA_ROOT");
	g_assert_null(alga_root_pick(NULL));
	g_assert_null(alga_root_pick("/"));
	g_assert_cmpstr(alga_root_pick("/tmp/r"), ==, "/tmp/r");
	g_setenv("ALGA_ROOT", "/tmp/env", TRUE);
	g_assert_cmpstr(alga_root_pick(NULL), ==, "/tmp/env");
	g_assert_cmpstr(alga_root_pick("/tmp/arg"), ==, "/tmp/arg");
	g_unsetenv("ALGA_ROOT");
}

static void test_lookup_under_root(void)
{
	g_autofree char *root = g_dir_make_tmp("test-tool-XXXXXX", NULL);
	g_autofree char *etc = g_build_filename(root, "etc", NULL);
	g_autofree char *passwd = g_build_filename(etc, "passwd", NULL);
	g_autofree char *group = g_build_filename(etc, "group", NULL);
	uid_t uid = 0;
	gid_t gid = 0;

	g_assert_cmpint(g_mkdir(etc, 0755), ==, 0);
	/* deliberately not the host's numbers: the root's files must win */
	g_assert_true(g_file_set_contents(passwd,
					  "root:x:0:0:root:/root:/bin/sh\n"
					  "alga:x:2345:2346:Alga:/:/usr/sbin/nologin\n", -1, NULL));
	g_assert_true(g_file_set_contents(group, "root:x:0:\nalga:x:2346:\n", -1, NULL));

	g_assert_cmpint(alga_lookup_user(root, "alga", &uid, &gid), ==, 0);
	g_assert_cmpuint(uid, ==, 2345);
	g_assert_cmpuint(gid, ==, 2346);
	g_assert_cmpint(alga_lookup_group(root, "alga", &gid), ==, 0);
	g_assert_cmpuint(gid, ==, 2346);
	g_assert_cmpint(alga_lookup_user(root, "nobody-here", &uid, &gid), ==, -ESRCH);
	g_assert_cmpint(alga_lookup_group(root, "nobody-here", &gid), ==, -ESRCH);

	/* the real root goes through NSS */
	g_assert_cmpint(alga_lookup_user(NULL, "root", &uid, &gid), ==, 0);
	g_assert_cmpuint(uid, ==, 0);

	unlink(passwd);
	unlink(group);
	g_assert_cmpint(alga_lookup_group(root, "alga", &gid), ==, -ESRCH);
	rmdir(etc);
	rmdir(root);
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/tool/exit_status/mapping", test_exit_status);
	g_test_add_func("/tool/verb_dispatch/cases", test_verb_dispatch);
	g_test_add_func("/tool/root_pick/env", test_root_pick);
	g_test_add_func("/tool/lookup/under-root", test_lookup_under_root);

	return g_test_run();
}
