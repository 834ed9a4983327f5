/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alga-config.h"
#include "fsutil.h"
#include "log.h"
#include "tool.h"

int alga_exit_status(int r)
{
	if (r >= 0)
		return r > 255 ? 255 : r;
	if (r == -EINVAL)
		return ALGA_EXIT_USAGE;
	return ALGA_EXIT_FAILURE;
}

int alga_verb_dispatch(const struct alga_verb *verbs, const char *default_verb, int argc,
		       char *argv[], void *userdata)
{
	const char *name = argc > 0 ? argv[0] : default_verb;
	unsigned nargs = argc > 0 ? (unsigned)argc - 1 : 0;

	if (!name)
		return log_error_errno(EINVAL, "A command is required, see --help");

	for (const struct alga_verb *v = verbs; v->name; v++) {
		if (!streq(v->name, name))
			continue;
		if (nargs < v->min_args)
			return log_error_errno(EINVAL, "Too few arguments for '%s'", name);
		if (nargs > v->max_args)
			return log_error_errno(EINVAL, "Too many arguments for '%s'", name);
		return v->run(argc > 0 ? argc : 1, argc > 0 ? argv : (char *[]){ (char *)name, NULL },
			      userdata);
	}

	return log_error_errno(EINVAL, "Unknown command '%s', see --help", name);
}

const char *alga_root_pick(const char *arg)
{
	const char *r = arg ?: getenv("ALGA_ROOT");

	if (isempty(r) || streq(r, "/"))
		return NULL;
	return r;
}

static bool root_is_real(const char *root)
{
	return isempty(root) || streq(root, "/");
}

/* opens root's copy of an /etc database; -ESRCH when it has none */
static int open_root_db(const char *root, const char *db, FILE **ret)
{
	_cleanup_free_ char *path = NULL;
	FILE *f;

	path = alga_fs_path_join(root, db);
	if (!path)
		return -ENOMEM;
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	*ret = f;
	return 0;
}

int alga_lookup_user(const char *root, const char *name, uid_t *ret_uid, gid_t *ret_gid)
{
	_cleanup_fclose_ FILE *f = NULL;
	struct passwd pw, *res = NULL;
	char buf[4096];
	int r;

	if (root_is_real(root)) {
		r = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
		if (r != 0)
			return -r;
		if (!res)
			return -ESRCH;
		goto found;
	}

	r = open_root_db(root, "/etc/passwd", &f);
	if (r < 0)
		return r;

	for (;;) {
		r = fgetpwent_r(f, &pw, buf, sizeof(buf), &res);
		if (r == ENOENT)
			return -ESRCH;
		if (r != 0)
			return -r;
		if (streq(pw.pw_name, name))
			break;
	}

found:
	if (ret_uid)
		*ret_uid = pw.pw_uid;
	if (ret_gid)
		*ret_gid = pw.pw_gid;
	return 0;
}

int alga_lookup_group(const char *root, const char *name, gid_t *ret_gid)
{
	_cleanup_fclose_ FILE *f = NULL;
	struct group gr, *res = NULL;
	char buf[4096];
	int r;

	if (root_is_real(root)) {
		r = getgrnam_r(name, &gr, buf, sizeof(buf), &res);
		if (r != 0)
			return -r;
		if (!res)
			return -ESRCH;
		*ret_gid = gr.gr_gid;
		return 0;
	}

	r = open_root_db(root, "/etc/group", &f);
	if (r < 0)
		return r;

	for (;;) {
		r = fgetgrent_r(f, &gr, buf, sizeof(buf), &res);
		if (r == ENOENT)
			return -ESRCH;
		if (r != 0)
			return -r;
		if (streq(gr.gr_name, name)) {
			*ret_gid = gr.gr_gid;
			return 0;
		}
	}
}

int alga_print_version(const char *program)
{
	if (printf("%s %s\n", program, ALGA_VERSION) < 0)
		return -EIO;
	return 0;
}

bool alga_on_tty(void)
{
	return isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
}
