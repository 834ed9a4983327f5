/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crash.h"
#include "fsutil.h"

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* errnos with which a kernel or file system says "no O_TMPFILE here" */
static bool tmpfile_unsupported(int e)
{
	return e == EOPNOTSUPP || e == EISDIR || e == EINVAL || e == ENOENT;
}

static bool lock_busy(int e)
{
	return e == EAGAIN || e == EACCES;
}

static bool is_plain_name(const char *name)
{
	return name && name[0] && !strchr(name, '/') && !streq(name, ".") && !streq(name, "..");
}

/* ".name.XXXXXX" with six random characters from [a-zA-Z0-9] */
static int temp_name(const char *name, char **ret)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char rnd[6];
	char suffix[7];
	char *t;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -EIO;
	for (size_t i = 0; i < sizeof(rnd); i++)
		suffix[i] = chars[rnd[i] % (sizeof(chars) - 1)];
	suffix[6] = '\0';

	if (asprintf(&t, ".%s.%s", name, suffix) < 0)
		return -ENOMEM;
	*ret = t;
	return 0;
}

int alga_fs_fix_mode_owner(int fd, mode_t mode, uid_t uid, gid_t gid)
{
	struct stat st;
	int changed = 0;

	if (fstat(fd, &st) < 0)
		return -errno;

	if ((uid != ALGA_UID_KEEP && st.st_uid != uid) || (gid != ALGA_GID_KEEP && st.st_gid != gid)) {
		if (fchown(fd, uid, gid) < 0)
			return -errno;
		changed = 1;
	}
	/* chown clears set-id bits, so the mode goes second */
	if ((st.st_mode & 07777) != (mode & 07777) || changed) {
		if (fchmod(fd, mode & 07777) < 0)
			return -errno;
		if ((st.st_mode & 07777) != (mode & 07777))
			changed = 1;
	}
	return changed;
}

/* writes, owns and syncs an open temp file */
static int fill_temp(int fd, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid)
{
	int r;

	r = write_all(fd, data, len);
	if (r < 0)
		return r;
	r = alga_fs_fix_mode_owner(fd, mode, uid, gid);
	if (r < 0)
		return r;
	if (fsync(fd) < 0)
		return -errno;

	/* a crash here must leave no partial file under the final name */
	alga_crash_point("after-write");
	return 0;
}

int alga_fs_fsync_dir(int dirfd)
{
	if (fsync(dirfd) < 0)
		return -errno;
	return 0;
}

static int open_temp(int dirfd, const char *name, char **ret_tmp)
{
	for (unsigned attempt = 0; attempt < 16; attempt++) {
		_cleanup_free_ char *tmp = NULL;
		int fd, r;

		r = temp_name(name, &tmp);
		if (r < 0)
			return r;

		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			if (errno == EEXIST)
				continue;
			return -errno;
		}
		*ret_tmp = TAKE_PTR(tmp);
		return fd;
	}
	return -EEXIST;
}

int alga_fs_write_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
			 uid_t uid, gid_t gid)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (!is_plain_name(name))
		return -EINVAL;

	fd = open_temp(dirfd, name, &tmp);
	if (fd < 0)
		return fd;

	r = fill_temp(fd, data, len, mode, uid, gid);
	if (r < 0)
		goto unlink_temp;

	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		r = -errno;
		goto unlink_temp;
	}

	return alga_fs_fsync_dir(dirfd);

unlink_temp:
	(void)unlinkat(dirfd, tmp, 0);
	return r;
}

static int link_tmpfile(int fd, int dirfd, const char *name)
{
	char proc[64];

	(void)snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW) >= 0)
		return 0;
	if (errno != ENOENT)
		return -errno;

	/* no /proc: AT_EMPTY_PATH works with CAP_DAC_READ_SEARCH */
	if (linkat(fd, "", dirfd, name, AT_EMPTY_PATH) < 0)
		return -errno;
	return 0;
}

int alga_fs_create_once(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
			uid_t uid, gid_t gid)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (!is_plain_name(name))
		return -EINVAL;

	fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd >= 0) {
		r = fill_temp(fd, data, len, mode, uid, gid);
		if (r < 0)
			return r;
		r = link_tmpfile(fd, dirfd, name);
		if (r == -EEXIST)
			return 0;
		if (r < 0)
			return r;
		r = alga_fs_fsync_dir(dirfd);
		return r < 0 ? r : 1;
	}
	if (!tmpfile_unsupported(errno))
		return -errno;

	/* file systems without O_TMPFILE: a named temp, linked, then removed */
	fd = open_temp(dirfd, name, &tmp);
	if (fd < 0)
		return fd;
	r = fill_temp(fd, data, len, mode, uid, gid);
	if (r >= 0) {
		r = linkat(dirfd, tmp, dirfd, name, 0) < 0 ? -errno : 1;
		if (r == -EEXIST)
			r = 0;
	}
	(void)unlinkat(dirfd, tmp, 0);
	if (r <= 0)
		return r;

	r = alga_fs_fsync_dir(dirfd);
	return r < 0 ? r : 1;
}

int alga_fs_read_fd(int fd, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = 0, alloc;
	struct stat st;

	if (max >= SIZE_MAX / 2)
		return -EINVAL;

	/* sized by the file when it says, else grown by doubling: a large max costs nothing */
	alloc = 16384;
	if (fstat(fd, &st) >= 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (uint64_t)st.st_size < max)
		alloc = (size_t)st.st_size + 1;
	if (alloc > max)
		alloc = max + 1;
	buf = malloc(alloc);
	if (!buf)
		return -ENOMEM;

	/* the file may grow while we read: never past max */
	for (;;) {
		ssize_t n;

		if (size == alloc) {
			size_t grow = alloc > (max + 1) / 2 ? max + 1 : alloc * 2;
			char *p;

			if (alloc == max + 1)
				return -E2BIG;
			p = realloc(buf, grow);
			if (!p)
				return -ENOMEM;
			buf = p;
			alloc = grow;
		}
		n = read(fd, buf + size, alloc - size);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		size += (size_t)n;
		if (size > max)
			return -E2BIG;
	}
	if (size == alloc) {
		char *p = realloc(buf, size + 1);

		if (!p)
			return -ENOMEM;
		buf = p;
	}
	buf[size] = '\0';

	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = size;
	return 0;
}

int alga_fs_read_file(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len,
		      struct stat *ret_st)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	int r;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADFD;
	if ((uintmax_t)st.st_size > max)
		return -E2BIG;

	r = alga_fs_read_fd(fd, max, ret, ret_len);
	if (r < 0)
		return r;
	if (ret_st)
		*ret_st = st;
	return 0;
}

int alga_fs_open_dir(int dirfd, const char *name, bool create, mode_t mode, uid_t uid, gid_t gid)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	int r;

	if (create && mkdirat(dirfd, name, mode & 07777) < 0 && errno != EEXIST)
		return -errno;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;

	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;

	r = alga_fs_fix_mode_owner(fd, mode, uid, gid);
	if (r < 0)
		return r;

	return TAKE_FD(fd);
}

int alga_fs_mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = NULL;

	p = strdup(path);
	if (!p)
		return -ENOMEM;

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int alga_fs_lock_fd(int fd, bool exclusive, uint64_t timeout_usec)
{
	struct timespec start, now;
	uint64_t waited, step = 5 * 1000; /* 5 ms, doubling up to 100 ms */

	if (clock_gettime(CLOCK_MONOTONIC, &start) < 0)
		return -errno;

	for (;;) {
		struct flock fl = {
			.l_type = exclusive ? F_WRLCK : F_RDLCK,
			.l_whence = SEEK_SET,
		};

		if (fcntl(fd, F_OFD_SETLK, &fl) >= 0)
			return 0;
		if (!lock_busy(errno))
			return -errno;

		if (clock_gettime(CLOCK_MONOTONIC, &now) < 0)
			return -errno;
		waited = (uint64_t)(now.tv_sec - start.tv_sec) * 1000000 +
			 (uint64_t)((now.tv_nsec - start.tv_nsec) / 1000);
		if (waited >= timeout_usec)
			return -EBUSY;

		step = MIN(step, timeout_usec - waited);
		(void)usleep((useconds_t)step);
		step = MIN(step * 2, (uint64_t)100 * 1000);
	}
}

int alga_fs_lock_file(int dirfd, const char *name, bool exclusive, uint64_t timeout_usec)
{
	_cleanup_close_ int fd = -EBADF;
	char pid[32];
	int r, n;

	fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;

	r = alga_fs_lock_fd(fd, exclusive, timeout_usec);
	if (r < 0)
		return r;

	/* OFD locks report no PID: the holder writes its own, for messages */
	if (exclusive) {
		n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
		if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n)
			return -errno;
	}

	return TAKE_FD(fd);
}

pid_t alga_fs_lock_holder(int fd)
{
	char buf[32];
	ssize_t n;
	long pid;

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pid = strtol(buf, NULL, 10);
	return pid > 0 ? (pid_t)pid : 0;
}

int alga_fs_remove_stale_temps(int dirfd, const char *name)
{
	DIR *d;
	struct dirent *de;
	size_t n = strlen(name);
	int fd, removed = 0;

	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		safe_close(fd);
		return -errno;
	}

	while ((de = readdir(d))) {
		const char *s = de->d_name;

		if (s[0] != '.' || strncmp(s + 1, name, n) != 0 || s[n + 1] != '.' ||
		    strlen(s + n + 2) != ALGA_FS_TEMP_SUFFIX_LEN - 1)
			continue;
		if (unlinkat(dirfd, s, 0) >= 0)
			removed++;
	}
	closedir(d);
	return removed;
}

char *alga_fs_path_join(const char *root, const char *path)
{
	size_t n;
	char *s;

	if (isempty(root) || streq(root, "/"))
		return strdup(path);

	n = strlen(root);
	while (n > 1 && root[n - 1] == '/')
		n--;
	if (asprintf(&s, "%.*s%s%s", (int)n, root, path[0] == '/' ? "" : "/", path) < 0)
		return NULL;
	return s;
}
