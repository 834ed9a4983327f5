/* SPDX-License-Identifier: AGPL-3.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "macro.h"

/* "do not change" for the owner arguments */
#define ALGA_UID_KEEP ((uid_t)-1)
#define ALGA_GID_KEEP ((gid_t)-1)

/* names of the temp files alga_fs_write_atomic() leaves on a crash */
#define ALGA_FS_TEMP_SUFFIX_LEN 7 /* ".XXXXXX" */

/*
 * Replaces dirfd/name with data atomically: a temp ".name.XXXXXX" made with
 * O_EXCL|O_NOFOLLOW, owner and mode set on its fd, data written and
 * fsync'd, renamed over name, the directory fsync'd. A crash leaves the old
 * file or the new one, never a torn one. name is a plain file name.
 * Returns 0; on failure the temp is removed and name is unchanged.
 */
int alga_fs_write_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
			 uid_t uid, gid_t gid);

/*
 * Creates dirfd/name with data unless it exists: an O_TMPFILE (fallback: an
 * O_EXCL temp) written, owned, fsync'd and linked in with linkat(), so the
 * name appears complete or not at all, then the directory fsync'd. Returns
 * 1 when this call created it, 0 when name already existed (the other
 * writer won; nothing changed).
 */
int alga_fs_create_once(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
			uid_t uid, gid_t gid);

/*
 * Reads the regular file dirfd/name, refusing to follow a symlink in its
 * last component (-ELOOP), anything but a regular file (-EBADFD) and files
 * over max bytes (-E2BIG, nothing read). *ret is NUL-terminated;
 * ret_len and ret_st are optional.
 */
int alga_fs_read_file(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len,
		      struct stat *ret_st);

/*
 * Reads fd from its current offset to the end, at most max bytes (-E2BIG
 * beyond). *ret is NUL-terminated; ret_len is optional.
 */
int alga_fs_read_fd(int fd, size_t max, char **ret, size_t *ret_len);

/* sets mode and owner on fd when they differ; returns 1 if it changed any */
int alga_fs_fix_mode_owner(int fd, mode_t mode, uid_t uid, gid_t gid);

/*
 * Opens (creating when missing) the directory dirfd/name without following a
 * symlink, and sets mode and owner on it. Returns the O_DIRECTORY fd.
 * -ENOTDIR when name is something else, -ELOOP for a symlink.
 */
int alga_fs_open_dir(int dirfd, const char *name, bool create, mode_t mode, uid_t uid, gid_t gid);

/* mkdir -p of an absolute or dirfd-relative path, mode for new components */
int alga_fs_mkdir_p(const char *path, mode_t mode);

/* fsync of a directory, after a rename or link in it */
int alga_fs_fsync_dir(int dirfd);

/*
 * Takes an exclusive (or shared) OFD lock on fd, retrying until timeout_usec
 * passes: -EBUSY then. 0 on success. The lock belongs to the open file
 * description, so threads and children holding other fds do not share it.
 */
int alga_fs_lock_fd(int fd, bool exclusive, uint64_t timeout_usec);

/*
 * Opens (creating 0600) dirfd/name as a lock file and locks it as
 * alga_fs_lock_fd() does. Returns the fd that holds the lock.
 */
int alga_fs_lock_file(int dirfd, const char *name, bool exclusive, uint64_t timeout_usec);

/* the PID holding a conflicting lock on fd, 0 if none or unknown */
pid_t alga_fs_lock_holder(int fd);

/*
 * Removes stale temps ".name.XXXXXX" of alga_fs_write_atomic() in dirfd.
 * Only safe while holding the lock that serialises writers of name.
 * Returns how many it removed.
 */
int alga_fs_remove_stale_temps(int dirfd, const char *name);

/* joins root (NULL or "/" is no root) and an absolute path into a new string */
char *alga_fs_path_join(const char *root, const char *path);
