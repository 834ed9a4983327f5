/* SPDX-License-Identifier: AGPL-3.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"
#include "release.h"

/*
 * The last-known-good release cache (release.md §4.5, resolutions.md A8):
 * /var/lib/alga/releases/release.json (0750 alga:alga dir from tmpfiles),
 * {"version":1,"entries":[{"key":"<registry>/<repository>:<ref>",
 * "manifestDigest","indexDigest","configDigest","fetchedAt","config":
 * "<verified blob text>"}]}, newest last. Writers hold .release.lock and
 * replace the file with alga_fs_write_atomic(), so a kill leaves the old or
 * the new file. On load every entry is re-hashed and re-validated; a bad
 * one stays in memory marked invalid (with the reason) so --cached can say
 * "failed verification", and is dropped by the next save.
 */

#define ALGA_RELEASE_CACHE_DIR "/var/lib/alga/releases"
#define ALGA_RELEASE_CACHE_FILE "release.json"
#define ALGA_RELEASE_CACHE_LOCK ".release.lock"
#define ALGA_RELEASE_CACHE_MODE 0660
#define ALGA_RELEASE_CACHE_VERSION 1
#define ALGA_RELEASE_CACHE_ENTRIES_MAX 16u
#define ALGA_RELEASE_CACHE_SIZE_MAX (4u * 1024u * 1024u)
/* "<registry>/<repository>:<ref>" */
#define ALGA_RELEASE_CACHE_KEY_MAX 512u
/* how long a writer waits for the lock */
#define ALGA_RELEASE_CACHE_LOCK_TIMEOUT_USEC (10u * 1000u * 1000u)

struct alga_release_cache_entry {
	char *key;
	char *manifest_digest;
	char *index_digest; /* NULL when the tag named a manifest */
	char *config_digest;
	char *fetched_at; /* RFC 3339 UTC */
	char *config;	  /* the verified blob, NUL-terminated */
	size_t config_len;
	/* set by load: false when the entry failed verification, invalid_reason says why */
	bool valid;
	char *invalid_reason;
};

struct alga_release_cache {
	struct alga_release_cache_entry *entries; /* oldest first */
	size_t n_entries;
};

/* "<registry>/<repository>:<ref>" (ref a tag or "sha256:..." after '@'), new string */
int alga_release_cache_key(const char *registry, const char *repository, const char *ref,
			   char **ret);

/* an empty cache */
int alga_release_cache_new(struct alga_release_cache **ret);
struct alga_release_cache *alga_release_cache_free(struct alga_release_cache *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct alga_release_cache *, alga_release_cache_free);

/*
 * Parses a cache file's text. Entries whose config does not hash to
 * configDigest, or fails alga_release_parse() (no channel check: the
 * caller applies R4 for its own key), are kept with valid = false.
 * -EBADMSG when the file itself is malformed or of another version,
 * -E2BIG over ALGA_RELEASE_CACHE_SIZE_MAX or the entry limit; detail as
 * release.h says.
 */
int alga_release_cache_parse(const char *text, size_t len, struct alga_release_cache **ret,
			     char **reterr_detail);

/*
 * Reads dirfd/release.json (no lock needed: the file is replaced
 * atomically). A missing file is an empty cache (0); errors as
 * alga_release_cache_parse() plus the fs errno.
 */
int alga_release_cache_load(int dirfd, struct alga_release_cache **ret, char **reterr_detail);

/*
 * The entry for key: 0 with *ret pointing into c; -ENOENT when there is
 * none; -EBADMSG when it failed verification (detail: its reason).
 */
int alga_release_cache_find(const struct alga_release_cache *c, const char *key,
			    const struct alga_release_cache_entry **ret, char **reterr_detail);

/*
 * Adds or replaces the entry for e->key (copied), as the newest; the
 * oldest are dropped past ALGA_RELEASE_CACHE_ENTRIES_MAX. The caller has
 * verified e->config against e->config_digest. -EINVAL for a bad entry.
 */
int alga_release_cache_put(struct alga_release_cache *c, const struct alga_release_cache_entry *e);

/* the file's text, valid entries only, dropping the oldest until it fits 4 MiB */
int alga_release_cache_format(const struct alga_release_cache *c, char **ret, size_t *ret_len);

/*
 * Writes c to dirfd/release.json atomically, mode ALGA_RELEASE_CACHE_MODE,
 * owned by uid:gid (ALGA_UID_KEEP/ALGA_GID_KEEP to keep the writer's; a
 * root writer passes alga's so alga-setup can rewrite it, A8) on the temp
 * before it is renamed in. Take the lock first.
 */
int alga_release_cache_save(int dirfd, const struct alga_release_cache *c, uid_t uid, gid_t gid);

/*
 * Takes the writers' lock dirfd/.release.lock (exclusive, waiting up to
 * ALGA_RELEASE_CACHE_LOCK_TIMEOUT_USEC, then -EBUSY) and removes stale
 * temps of release.json. Returns the fd holding the lock.
 */
int alga_release_cache_lock(int dirfd, uid_t uid, gid_t gid);
