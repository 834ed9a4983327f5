/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * alga-token: the setup token and the secrets every later tool relies on
 * (host.md §4.2, resolutions.md A4, A5, C8). Created once under an OFD
 * lock, linked in complete with linkat(), never rotated except by
 * reset-admin, never logged.
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

#include <json-c/json.h>

#include "crash.h"
#include "crypto.h"
#include "fsutil.h"
#include "json.h"
#include "log.h"
#include "token.h"
#include "tool.h"

#define STATE_DIR "/var/lib/alga"
#define UPSTREAM_TOKEN "/var/lib/alga-appliance/setup-token"
#define LOCK_NAME ".token.lock"
#define LOCK_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define FILE_MODE 0640
#define DIR_MODE 0750
#define CONFIRM_MAX 64

static const char *arg_root;
static bool arg_json;
static bool arg_yes;

/* one file alga-token owns */
struct secret {
	const char *dir; /* under STATE_DIR; NULL for STATE_DIR itself */
	const char *name;
	const char *what;
	bool (*valid)(const char *buf, size_t len);
	int (*generate)(char **ret);
};

static const struct secret secrets[] = {
	{ NULL, "setup-token", "setup token", alga_token_file_is_valid, alga_token_generate_file },
	{ "secrets", "session-secret", "session secret", alga_session_secret_file_is_valid,
	  alga_session_secret_generate_file },
	{ "secrets", "alga-auth-key", "auth key", alga_auth_key_file_is_valid,
	  alga_auth_key_generate_file },
};

/* the open state tree of one run */
struct ctx {
	const char *root;
	char *state_path;
	int state_fd;
	int secrets_fd;
	gid_t gid;
	struct json_object *created; /* ensure --json: paths made */
	struct json_object *fixed;   /* paths whose mode or owner was fixed */
	struct json_object *replaced;
};

static void ctx_done(struct ctx *c)
{
	free(c->state_path);
	safe_close(c->state_fd);
	safe_close(c->secrets_fd);
	json_object_put(c->created);
	json_object_put(c->fixed);
	json_object_put(c->replaced);
}

static int help(void)
{
	printf("%s [OPTIONS] COMMAND\n"
	       "\n"
	       "Create and check the appliance's setup token and secrets.\n"
	       "\n"
	       "Commands:\n"
	       "  ensure           Create the setup token and secrets unless present\n"
	       "  show             Print the setup token\n"
	       "  check            Check presence, format, modes and owners\n"
	       "  reset-admin      Issue a new token, sign everyone out, remove the admin\n"
	       "\n"
	       "Options:\n"
	       "  -h --help        Show this help\n"
	       "     --version     Show the version\n"
	       "     --root=DIR    Operate on the tree under DIR\n"
	       "     --json        Print one JSON document\n"
	       "  -y --yes         Do not ask before reset-admin\n"
	       "\n"
	       "See alga-token(8).\n",
	       program_invocation_short_name);
	return 0;
}

static int parse_argv(int argc, char *argv[])
{
	enum {
		ARG_VERSION = 0x100,
		ARG_ROOT,
		ARG_JSON,
	};
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, ARG_VERSION },
		{ "root", required_argument, NULL, ARG_ROOT },
		{ "json", no_argument, NULL, ARG_JSON },
		{ "yes", no_argument, NULL, 'y' },
		{}
	};
	int c;

	/* getopt's own message is the one stderr line for a bad option */
	while ((c = getopt_long(argc, argv, "hy", options, NULL)) >= 0)
		switch (c) {
		case 'h':
			return help();
		case ARG_VERSION:
			return alga_print_version(program_invocation_short_name);
		case ARG_ROOT:
			arg_root = optarg;
			break;
		case ARG_JSON:
			arg_json = true;
			break;
		case 'y':
			arg_yes = true;
			break;
		case '?':
			return -EINVAL;
		default:
			assert(!"unhandled option");
		}

	return 1;
}

static int errno_to_exit(int r)
{
	if (r == -EBUSY)
		return ALGA_EXIT_BUSY;
	if (r == -EACCES || r == -EPERM)
		return ALGA_EXIT_NOPERM;
	return r;
}

static int path_of(const struct ctx *c, const struct secret *s, char **ret)
{
	if (asprintf(ret, "%s/%s%s%s", c->state_path, s->dir ?: "", s->dir ? "/" : "", s->name) < 0)
		return -ENOMEM;
	return 0;
}

static int secret_dirfd(const struct ctx *c, const struct secret *s)
{
	return s->dir ? c->secrets_fd : c->state_fd;
}

/*
 * Opens the state tree. create: make missing directories (ensure);
 * otherwise they must exist. Refuses a state dir that is a symlink or not
 * root's, since everything below would then be someone else's to swap.
 */
static int ctx_open(struct ctx *c, bool create)
{
	struct stat st;
	int r;

	c->root = alga_root_pick(arg_root);
	c->state_fd = c->secrets_fd = -EBADF;

	c->state_path = alga_fs_path_join(c->root, STATE_DIR);
	if (!c->state_path)
		return log_oom();

	r = alga_lookup_group(c->root, ALGA_GROUP, &c->gid);
	if (r == -ESRCH)
		return log_error_errno(r, "Group '%s' does not exist%s%s, run systemd-sysusers first",
				       ALGA_GROUP, c->root ? " under " : "", strempty(c->root));
	if (r < 0)
		return log_error_errno(r, "Failed to look up group '%s': %m", ALGA_GROUP);

	if (create) {
		_cleanup_free_ char *parent = strdup(c->state_path);

		if (!parent)
			return log_oom();
		*strrchr(parent, '/') = '\0';
		r = alga_fs_mkdir_p(parent, 0755);
		if (r < 0)
			return log_error_errno(r, "Failed to create '%s': %m", parent);
		if (mkdir(c->state_path, DIR_MODE) < 0 && errno != EEXIST)
			return log_error_errno(errno, "Failed to create '%s': %m", c->state_path);
	}

	if (lstat(c->state_path, &st) < 0)
		return log_error_errno(errno, "Failed to open '%s': %m", c->state_path);
	if (!S_ISDIR(st.st_mode))
		return log_error_errno(ENOTDIR, "'%s' is not a directory, refusing", c->state_path);
	if (st.st_uid != 0)
		return log_error_errno(EBADFD, "'%s' is owned by UID %u, not root, refusing",
				       c->state_path, (unsigned)st.st_uid);

	c->state_fd = open(c->state_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (c->state_fd < 0)
		return log_error_errno(errno, "Failed to open '%s': %m", c->state_path);

	if (create) {
		r = alga_fs_fix_mode_owner(c->state_fd, DIR_MODE, 0, c->gid);
		if (r < 0)
			return log_error_errno(r, "Failed to set mode of '%s': %m", c->state_path);
	}

	r = alga_fs_open_dir(c->state_fd, "secrets", create, DIR_MODE, 0, c->gid);
	if (r == -ENOENT && !create)
		return 0;
	if (r == -ELOOP || r == -ENOTDIR)
		return log_error_errno(r, "'%s/secrets' is not a directory, refusing", c->state_path);
	if (r < 0)
		return log_error_errno(r, "Failed to open '%s/secrets': %m", c->state_path);
	c->secrets_fd = r;
	return 0;
}

static int note(struct json_object **list, const char *path)
{
	if (!*list) {
		*list = json_object_new_array();
		if (!*list)
			return -ENOMEM;
	}
	return alga_json_append(*list, json_object_new_string(path));
}

/*
 * Reads upstream's token (/var/lib/alga-appliance/setup-token) when it is
 * a root-owned regular file holding a valid token, with or without the
 * final newline. Returns 1 with new file contents, 0 when there is none
 * to adopt.
 */
static int upstream_token(const struct ctx *c, char **ret)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_erase_free_ char *buf = NULL;
	struct stat st;
	size_t len;
	int r;

	path = alga_fs_path_join(c->root, UPSTREAM_TOKEN);
	if (!path)
		return -ENOMEM;

	r = alga_fs_read_file(AT_FDCWD, path, ALGA_TOKEN_FILE_MAX, &buf, &len, &st);
	if (r == -ENOMEM)
		return r;
	if (r < 0 || st.st_uid != 0)
		return 0;
	while (len > 0 && strchr(" \t\r\n", buf[len - 1]))
		len--;
	if (!alga_token_is_valid(buf, len))
		return 0;

	if (asprintf(ret, "%.*s\n", (int)len, buf) < 0)
		return -ENOMEM;
	return 1;
}

/* draws new contents for s; logs and returns the error */
static int generate_secret(const struct secret *s, char **ret)
{
	int r;

	r = s->generate(ret);
	if (r == -ENOMEM)
		return log_oom();
	if (r < 0)
		return log_error_errno(r, "Failed to draw random bytes for the %s, nothing written",
				       s->what);
	return 0;
}

/* makes a new file for s: adopting upstream's token, else fresh */
static int create_secret(struct ctx *c, const struct secret *s, const char *path)
{
	_cleanup_erase_free_ char *data = NULL;
	bool adopted = false;
	int r;

	if (s == &secrets[0]) {
		r = upstream_token(c, &data);
		if (r < 0)
			return log_oom();
		adopted = r > 0;
	}
	if (!data) {
		r = generate_secret(s, &data);
		if (r < 0)
			return r;
	}

	r = alga_fs_create_once(secret_dirfd(c, s), s->name, data, strlen(data), FILE_MODE, 0,
				c->gid);
	if (r < 0)
		return log_error_errno(r, "Failed to create '%s': %m", path);
	if (r == 0)
		return 0; /* another writer won; the caller checks theirs */

	if (s == &secrets[0])
		log_struct(LOG_NOTICE,
			   ((const char *const[]){ "MESSAGE_ID=" ALGA_MESSAGE_TOKEN_CREATED, NULL }),
			   "%s setup token '%s'", adopted ? "Adopted upstream's" : "Created", path);
	else
		log_info("Created %s '%s'", s->what, path);

	r = note(&c->created, path);
	if (r < 0)
		return log_oom();
	return 1;
}

static int replace_secret(struct ctx *c, const struct secret *s)
{
	_cleanup_erase_free_ char *data = NULL;
	_cleanup_free_ char *path = NULL;
	int r;

	if (path_of(c, s, &path) < 0)
		return log_oom();

	r = generate_secret(s, &data);
	if (r < 0)
		return r;

	r = alga_fs_write_atomic(secret_dirfd(c, s), s->name, data, strlen(data), FILE_MODE, 0,
				 c->gid);
	if (r < 0)
		return log_error_errno(r, "Failed to write '%s': %m", path);
	return 0;
}

/*
 * Opens an existing secret without following links and checks what it is:
 * 1 with its contents when it is a root-owned regular file with one link,
 * -ENOENT when absent, another negative errno (logged) when it is
 * something alga-token must not touch.
 */
static int open_secret(const struct ctx *c, const struct secret *s, const char *path, int *ret_fd,
		       char **ret_buf, size_t *ret_len)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	int r;

	fd = openat(secret_dirfd(c, s), s->name,
		    O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return -ENOENT;
	if (fd < 0 && errno == ELOOP)
		return log_error_errno(ELOOP, "'%s' is a symbolic link, refusing to touch it", path);
	if (fd < 0)
		return log_error_errno(errno, "Failed to open '%s': %m", path);
	if (fstat(fd, &st) < 0)
		return log_error_errno(errno, "Failed to stat '%s': %m", path);
	if (!S_ISREG(st.st_mode))
		return log_error_errno(EBADFD, "'%s' is not a regular file, refusing to touch it",
				       path);
	if (st.st_uid != 0)
		return log_error_errno(EBADFD, "'%s' is owned by UID %u, not root, refusing to touch it",
				       path, (unsigned)st.st_uid);
	if (st.st_nlink != 1)
		return log_error_errno(EMLINK, "'%s' has %ju hard links, refusing to touch it", path,
				       (uintmax_t)st.st_nlink);

	r = alga_fs_read_fd(fd, ALGA_TOKEN_FILE_MAX, ret_buf, ret_len);
	if (r == -E2BIG) {
		*ret_buf = NULL;
		*ret_len = 0;
	} else if (r < 0)
		return log_error_errno(r, "Failed to read '%s': %m", path);

	*ret_fd = TAKE_FD(fd);
	return 1;
}

static int ensure_secret(struct ctx *c, const struct secret *s)
{
	_cleanup_free_ char *path = NULL;
	int r;

	r = path_of(c, s, &path);
	if (r < 0)
		return log_oom();

	/* a lost create race means someone else's file: check that one once */
	for (unsigned attempt = 0; attempt < 2; attempt++) {
		_cleanup_erase_free_ char *buf = NULL;
		_cleanup_close_ int fd = -EBADF;
		size_t len = 0;

		r = open_secret(c, s, path, &fd, &buf, &len);
		if (r == -ENOENT) {
			r = create_secret(c, s, path);
			if (r != 0)
				return r < 0 ? r : 0;
			continue;
		}
		if (r < 0)
			return r;

		if (!buf || !s->valid(buf, len)) {
			log_warning("'%s' is malformed, replacing it with a new %s", path, s->what);
			r = replace_secret(c, s);
			if (r < 0)
				return r;
			return note(&c->replaced, path) < 0 ? log_oom() : 0;
		}

		r = alga_fs_fix_mode_owner(fd, FILE_MODE, 0, c->gid);
		if (r < 0)
			return log_error_errno(r, "Failed to set mode and owner of '%s': %m", path);
		if (r > 0) {
			log_notice("Fixed mode and owner of '%s' to 0640 root:%s", path, ALGA_GROUP);
			if (note(&c->fixed, path) < 0)
				return log_oom();
		}
		return 0;
	}

	return log_error_errno(EAGAIN, "'%s' keeps changing under the lock, giving up", path);
}

static int lock_state(struct ctx *c)
{
	int fd;

	fd = alga_fs_lock_file(c->state_fd, LOCK_NAME, true, LOCK_TIMEOUT_USEC);
	if (fd == -EBUSY) {
		_cleanup_close_ int probe = openat(c->state_fd, LOCK_NAME, O_RDONLY | O_CLOEXEC);
		pid_t pid = probe >= 0 ? alga_fs_lock_holder(probe) : 0;

		if (pid > 0)
			return log_error_errno(EBUSY, "'%s/%s' is held by PID %d for more than 10 s",
					       c->state_path, LOCK_NAME, (int)pid);
		return log_error_errno(EBUSY, "'%s/%s' is held by another process for more than 10 s",
				       c->state_path, LOCK_NAME);
	}
	if (fd < 0)
		return log_error_errno(fd, "Failed to lock '%s/%s': %m", c->state_path, LOCK_NAME);
	return fd;
}

static int print_paths(struct json_object *doc, const char *key, struct json_object *list)
{
	struct json_object *l = list ? json_object_get(list) : json_object_new_array();

	return alga_json_add(doc, key, l);
}

static int verb_ensure(int argc, char *argv[], void *userdata)
{
	_cleanup_(ctx_done) struct ctx c = { .state_fd = -EBADF, .secrets_fd = -EBADF };
	_cleanup_close_ int lock = -EBADF;
	int r;

	r = ctx_open(&c, true);
	if (r < 0)
		return r;

	lock = lock_state(&c);
	if (lock < 0)
		return lock;

	/* under the lock no other writer is mid-write: its temps are stale */
	for (size_t i = 0; i < ELEMENTSOF(secrets); i++)
		(void)alga_fs_remove_stale_temps(secret_dirfd(&c, &secrets[i]), secrets[i].name);

	for (size_t i = 0; i < ELEMENTSOF(secrets); i++) {
		r = ensure_secret(&c, &secrets[i]);
		if (r < 0)
			return r;
	}

	if (arg_json) {
		_cleanup_(json_object_putp) struct json_object *doc = json_object_new_object();

		if (!doc || alga_json_add(doc, "version", json_object_new_int(1)) < 0 ||
		    print_paths(doc, "created", c.created) < 0 ||
		    print_paths(doc, "replaced", c.replaced) < 0 ||
		    print_paths(doc, "fixed", c.fixed) < 0)
			return log_oom();
		r = alga_json_print(doc, stdout);
		if (r < 0)
			return log_error_errno(r, "Failed to write output: %m");
	}
	return 0;
}

static int read_token(struct ctx *c, char **ret)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_erase_free_ char *buf = NULL;
	_cleanup_close_ int fd = -EBADF;
	size_t len = 0;
	int r;

	r = path_of(c, &secrets[0], &path);
	if (r < 0)
		return log_oom();

	r = open_secret(c, &secrets[0], path, &fd, &buf, &len);
	if (r == -ENOENT)
		return log_error_errno(r, "No setup token at '%s', run 'alga-token ensure'", path);
	if (r < 0)
		return r;
	if (!buf || !alga_token_file_is_valid(buf, len))
		return log_error_errno(EBADMSG, "'%s' is malformed, run 'alga-token ensure'", path);

	buf[ALGA_TOKEN_LEN] = '\0';
	*ret = TAKE_PTR(buf);
	return 0;
}

/* "used" once an admin credential exists (setup.md: the token is then dead) */
static bool credential_exists(const struct ctx *c)
{
	return faccessat(c->state_fd, "setup/admin-credential.json", F_OK, AT_SYMLINK_NOFOLLOW) >= 0;
}

static int verb_show(int argc, char *argv[], void *userdata)
{
	_cleanup_(ctx_done) struct ctx c = { .state_fd = -EBADF, .secrets_fd = -EBADF };
	_cleanup_erase_free_ char *token = NULL;
	const char *state;
	int r;

	r = ctx_open(&c, false);
	if (r < 0)
		return r;

	r = read_token(&c, &token);
	if (r < 0)
		return r;
	state = credential_exists(&c) ? "used" : "unused";

	if (arg_json) {
		_cleanup_(json_object_putp) struct json_object *doc = json_object_new_object();

		if (!doc || alga_json_add(doc, "version", json_object_new_int(1)) < 0 ||
		    alga_json_add(doc, "token", json_object_new_string(token)) < 0 ||
		    alga_json_add(doc, "state", json_object_new_string(state)) < 0)
			return log_oom();
		r = alga_json_print(doc, stdout);
	} else
		r = printf("%s\n", token) < 0 ? -EIO : 0;
	if (r < 0)
		return log_error_errno(r, "Failed to write output: %m");
	return 0;
}

/* appends problems of one path (or "ok") to the check report */
static int check_path(struct json_object *items, int dirfd, const char *name, const char *path,
		      bool dir, gid_t gid, bool (*valid)(const char *, size_t))
{
	_cleanup_(json_object_putp) struct json_object *item = json_object_new_object();
	_cleanup_(json_object_putp) struct json_object *problems = json_object_new_array();
	_cleanup_free_ char *p1 = NULL, *p2 = NULL, *p3 = NULL;
	mode_t want = dir ? DIR_MODE : FILE_MODE;
	struct stat st;
	int r = 0;

	if (!item || !problems)
		return -ENOMEM;

	if ((dirfd < 0 && dirfd != AT_FDCWD) || fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		r = alga_json_append(problems, json_object_new_string("missing"));
	else if (S_ISLNK(st.st_mode))
		r = alga_json_append(problems, json_object_new_string("is a symbolic link"));
	else if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
		r = alga_json_append(problems,
				     json_object_new_string(dir ? "not a directory" :
								  "not a regular file"));
	else {
		if ((st.st_mode & 07777) != want) {
			if (asprintf(&p1, "mode %04o, want %04o", (unsigned)(st.st_mode & 07777),
				     (unsigned)want) < 0)
				return -ENOMEM;
			r = alga_json_append(problems, json_object_new_string(p1));
		}
		if (r >= 0 && (st.st_uid != 0 || st.st_gid != gid)) {
			if (asprintf(&p2, "owner %u:%u, want 0:%u (root:%s)", (unsigned)st.st_uid,
				     (unsigned)st.st_gid, (unsigned)gid, ALGA_GROUP) < 0)
				return -ENOMEM;
			r = alga_json_append(problems, json_object_new_string(p2));
		}
		if (r >= 0 && valid) {
			_cleanup_erase_free_ char *buf = NULL;
			size_t len = 0;
			int q;

			q = alga_fs_read_file(dirfd, name, ALGA_TOKEN_FILE_MAX, &buf, &len, NULL);
			if (q == -ENOMEM)
				return q;
			if (q < 0) {
				if (asprintf(&p3, "unreadable: %s", strerror(-q)) < 0)
					return -ENOMEM;
				r = alga_json_append(problems, json_object_new_string(p3));
			} else if (!valid(buf, len))
				r = alga_json_append(problems, json_object_new_string("malformed"));
		}
	}
	if (r < 0)
		return r;

	if (alga_json_add(item, "path", json_object_new_string(path)) < 0 ||
	    alga_json_add(item, "ok", json_object_new_boolean(json_object_array_length(problems) == 0)) <
		    0 ||
	    alga_json_add(item, "problems", TAKE_PTR(problems)) < 0)
		return -ENOMEM;
	return alga_json_append(items, TAKE_PTR(item));
}

static int print_check_table(struct json_object *items)
{
	size_t n = json_object_array_length(items), width = 4;

	for (size_t i = 0; i < n; i++) {
		struct json_object *item = json_object_array_get_idx(items, i), *p;

		json_object_object_get_ex(item, "path", &p);
		width = MAX(width, strlen(json_object_get_string(p)));
	}

	printf("%-*s  %s\n", (int)width, "PATH", "STATE");
	for (size_t i = 0; i < n; i++) {
		struct json_object *item = json_object_array_get_idx(items, i), *p, *probs;
		size_t np;

		json_object_object_get_ex(item, "path", &p);
		json_object_object_get_ex(item, "problems", &probs);
		np = json_object_array_length(probs);
		printf("%-*s  ", (int)width, json_object_get_string(p));
		if (np == 0)
			printf("ok");
		for (size_t j = 0; j < np; j++)
			printf("%s%s", j ? "; " : "",
			       json_object_get_string(json_object_array_get_idx(probs, j)));
		printf("\n");
	}
	return fflush(stdout) == 0 ? 0 : -EIO;
}

static int verb_check(int argc, char *argv[], void *userdata)
{
	_cleanup_(json_object_putp) struct json_object *items = json_object_new_array();
	_cleanup_free_ char *state_path = NULL, *secrets_path = NULL;
	_cleanup_close_ int state_fd = -EBADF, secrets_fd = -EBADF;
	const char *root = alga_root_pick(arg_root);
	bool ok = true;
	gid_t gid;
	int r;

	if (!items)
		return log_oom();

	r = alga_lookup_group(root, ALGA_GROUP, &gid);
	if (r == -ESRCH)
		return log_error_errno(r, "Group '%s' does not exist, run systemd-sysusers first",
				       ALGA_GROUP);
	if (r < 0)
		return log_error_errno(r, "Failed to look up group '%s': %m", ALGA_GROUP);

	state_path = alga_fs_path_join(root, STATE_DIR);
	if (!state_path || asprintf(&secrets_path, "%s/secrets", state_path) < 0)
		return log_oom();

	state_fd = open(state_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (state_fd >= 0)
		secrets_fd = openat(state_fd, "secrets", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (state_fd < 0 && (errno == EACCES || errno == EPERM))
		return log_error_errno(errno, "Failed to open '%s': %m", state_path);

	r = check_path(items, AT_FDCWD, state_path, state_path, true, gid, NULL);
	if (r >= 0)
		r = check_path(items, state_fd, "secrets", secrets_path, true, gid, NULL);
	for (size_t i = 0; r >= 0 && i < ELEMENTSOF(secrets); i++) {
		const struct secret *s = &secrets[i];
		_cleanup_free_ char *path = NULL;

		if (asprintf(&path, "%s/%s%s%s", state_path, s->dir ?: "", s->dir ? "/" : "",
			     s->name) < 0)
			return log_oom();
		r = check_path(items, s->dir ? secrets_fd : state_fd, s->name, path, false, gid,
			       s->valid);
	}
	if (r < 0)
		return log_oom();

	for (size_t i = 0; i < json_object_array_length(items); i++) {
		struct json_object *o;

		json_object_object_get_ex(json_object_array_get_idx(items, i), "ok", &o);
		ok = ok && json_object_get_boolean(o);
	}

	if (arg_json) {
		_cleanup_(json_object_putp) struct json_object *doc = json_object_new_object();

		if (!doc || alga_json_add(doc, "version", json_object_new_int(1)) < 0 ||
		    alga_json_add(doc, "ok", json_object_new_boolean(ok)) < 0 ||
		    alga_json_add(doc, "files", json_object_get(items)) < 0)
			return log_oom();
		r = alga_json_print(doc, stdout);
	} else
		r = print_check_table(items);
	if (r < 0)
		return log_error_errno(r, "Failed to write output: %m");

	if (!ok) {
		log_error("Problems found under '%s'", state_path);
		return ALGA_EXIT_FAILURE;
	}
	return 0;
}

static int confirm_reset(void)
{
	char answer[CONFIRM_MAX];

	if (arg_yes)
		return 0;
	if (!alga_on_tty())
		return log_error_errno(EINVAL,
				       "Refusing to reset the admin without a terminal, pass --yes");

	fputs("This issues a new setup token, signs every session out and removes the\n"
	      "admin credential. Type 'yes' to go on: ",
	      stdout);
	fflush(stdout);
	if (!fgets(answer, sizeof(answer), stdin) || !streq(answer, "yes\n"))
		return log_error_errno(ECANCELED, "Not confirmed, nothing changed");
	return 0;
}

/* unlinks setup/name and syncs the directory; 1 removed, 0 absent */
static int remove_setup_file(const struct ctx *c, int setup_fd, const char *name)
{
	if (setup_fd < 0)
		return 0;
	if (unlinkat(setup_fd, name, 0) < 0) {
		if (errno == ENOENT)
			return 0;
		return log_error_errno(errno, "Failed to remove '%s/setup/%s': %m", c->state_path,
				       name);
	}
	if (alga_fs_fsync_dir(setup_fd) < 0)
		return log_error_errno(errno, "Failed to sync '%s/setup': %m", c->state_path);
	return 1;
}

static int verb_reset_admin(int argc, char *argv[], void *userdata)
{
	_cleanup_(ctx_done) struct ctx c = { .state_fd = -EBADF, .secrets_fd = -EBADF };
	_cleanup_erase_free_ char *token = NULL;
	_cleanup_close_ int lock = -EBADF, setup_fd = -EBADF;
	_cleanup_free_ char *uid_field = NULL, *sudo_field = NULL;
	const char *sudo_user = getenv("SUDO_USER");
	bool removed;
	int r;

	if (geteuid() != 0)
		return log_error_errno(EPERM, "reset-admin must run as root");

	r = confirm_reset();
	if (r < 0)
		return r;

	r = ctx_open(&c, true);
	if (r < 0)
		return r;

	lock = lock_state(&c);
	if (lock < 0)
		return lock;

	/* host.md §4.2: token, then cookie key, then credential, so the old
	 * token is dead before the account can be claimed again */
	r = replace_secret(&c, &secrets[0]);
	if (r < 0)
		return r;
	alga_crash_point("reset-token");

	r = replace_secret(&c, &secrets[1]);
	if (r < 0)
		return r;
	alga_crash_point("reset-key");

	setup_fd = openat(c.state_fd, "setup", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (setup_fd < 0 && errno != ENOENT)
		return log_error_errno(errno, "Failed to open '%s/setup': %m", c.state_path);
	r = remove_setup_file(&c, setup_fd, "admin-credential.json");
	if (r < 0)
		return r;
	removed = r > 0;
	alga_crash_point("reset-credential");

	/* resolutions.md C8: sessions go last */
	r = remove_setup_file(&c, setup_fd, "sessions.json");
	if (r < 0)
		return r;

	if (asprintf(&uid_field, "ALGA_UID=%u", (unsigned)getuid()) < 0 ||
	    asprintf(&sudo_field, "SUDO_USER=%s", strempty(sudo_user)) < 0)
		return log_oom();
	log_struct(LOG_NOTICE,
		   ((const char *const[]){ "MESSAGE_ID=" ALGA_MESSAGE_ADMIN_RESET, uid_field,
					   sudo_field, NULL }),
		   "Admin reset by UID %u%s%s: new setup token, sessions revoked%s",
		   (unsigned)getuid(), sudo_user ? " via sudo user " : "", strempty(sudo_user),
		   removed ? ", credential removed" : "");

	r = read_token(&c, &token);
	if (r < 0)
		return r;

	if (arg_json) {
		_cleanup_(json_object_putp) struct json_object *doc = json_object_new_object();

		if (!doc || alga_json_add(doc, "version", json_object_new_int(1)) < 0 ||
		    alga_json_add(doc, "ok", json_object_new_boolean(true)) < 0 ||
		    alga_json_add(doc, "token", json_object_new_string(token)) < 0 ||
		    alga_json_add(doc, "credentialRemoved", json_object_new_boolean(removed)) < 0 ||
		    alga_json_add(doc, "cookiesRevoked", json_object_new_boolean(true)) < 0)
			return log_oom();
		r = alga_json_print(doc, stdout);
	} else
		r = printf("Sessions revoked%s.\nSetup token: %s\n",
			   removed ? ", admin credential removed" : "", token) < 0 ?
			    -EIO :
			    0;
	if (r < 0)
		return log_error_errno(r, "Failed to write output: %m");
	return 0;
}

static int run(int argc, char *argv[])
{
	static const struct alga_verb verbs[] = {
		{ "ensure", 0, 0, verb_ensure },
		{ "show", 0, 0, verb_show },
		{ "check", 0, 0, verb_check },
		{ "reset-admin", 0, 0, verb_reset_admin },
		{}
	};
	int r;

	alga_log_open(program_invocation_short_name);

	r = parse_argv(argc, argv);
	if (r <= 0)
		return r;

	/* upstream's alga-appliance-reset-admin is kept as a link to us */
	if (streq(program_invocation_short_name, "alga-appliance-reset-admin"))
		return errno_to_exit(verb_reset_admin(0, NULL, NULL));

	return errno_to_exit(alga_verb_dispatch(verbs, NULL, argc - optind, argv + optind, NULL));
}

int main(int argc, char *argv[])
{
	return alga_exit_status(run(argc, argv));
}
