/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fsutil.h"
#include "json.h"
#include "release-cache.h"
#include "release.h"
#include "log.h"

int alga_release_cache_key(const char *registry, const char *repository, const char *ref,
			   char **ret)
{
	char *s;

	if (isempty(registry) || isempty(repository) || isempty(ref) || !ret)
		return -EINVAL;
	if (asprintf(&s, "%s/%s%s%s", registry, repository, str_has_prefix(ref, "sha256:") ? "@" : ":",
		     ref) < 0)
		return -ENOMEM;
	if (strlen(s) > ALGA_RELEASE_CACHE_KEY_MAX) {
		free(s);
		return -E2BIG;
	}
	*ret = s;
	return 0;
}

static void entry_done(struct alga_release_cache_entry *e)
{
	free(e->key);
	free(e->manifest_digest);
	free(e->index_digest);
	free(e->config_digest);
	free(e->fetched_at);
	free(e->config);
	free(e->invalid_reason);
	*e = (struct alga_release_cache_entry){};
}

int alga_release_cache_new(struct alga_release_cache **ret)
{
	struct alga_release_cache *c;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->entries = calloc(ALGA_RELEASE_CACHE_ENTRIES_MAX, sizeof(*c->entries));
	if (!c->entries) {
		free(c);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

struct alga_release_cache *alga_release_cache_free(struct alga_release_cache *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < c->n_entries; i++)
		entry_done(&c->entries[i]);
	free(c->entries);
	free(c);
	return NULL;
}

static int dup_opt(const char *s, char **ret)
{
	*ret = NULL;
	if (!s)
		return 0;
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

static int entry_copy(struct alga_release_cache_entry *dst, const struct alga_release_cache_entry *src)
{
	int r;

	*dst = (struct alga_release_cache_entry){ .valid = src->valid };
	if ((r = dup_opt(src->key, &dst->key)) < 0 ||
	    (r = dup_opt(src->manifest_digest, &dst->manifest_digest)) < 0 ||
	    (r = dup_opt(src->index_digest, &dst->index_digest)) < 0 ||
	    (r = dup_opt(src->config_digest, &dst->config_digest)) < 0 ||
	    (r = dup_opt(src->fetched_at, &dst->fetched_at)) < 0 ||
	    (r = dup_opt(src->invalid_reason, &dst->invalid_reason)) < 0)
		goto fail;
	dst->config = malloc(src->config_len + 1);
	if (!dst->config) {
		r = -ENOMEM;
		goto fail;
	}
	memcpy(dst->config, src->config, src->config_len);
	dst->config[src->config_len] = '\0';
	dst->config_len = src->config_len;
	return 0;
fail:
	entry_done(dst);
	return r;
}

/* re-hash and re-validate one entry read from disk; fills valid/invalid_reason */
static int verify_entry(struct alga_release_cache_entry *e)
{
	_cleanup_(alga_release_freep) struct alga_release *rel = NULL;
	_cleanup_free_ char *detail = NULL;
	int r;

	r = alga_release_verify_blob(e->config, e->config_len, e->config_digest, e->config_len,
				     &detail);
	if (r == -ENOMEM)
		return r;
	if (r >= 0) {
		r = alga_release_parse(e->config, e->config_len, NULL, &rel, &detail);
		if (r == -ENOMEM)
			return r;
	}
	e->valid = r >= 0;
	if (r < 0) {
		if (asprintf(&e->invalid_reason, "Cache entry '%s' failed verification: %s", e->key,
			     strna(detail)) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int parse_entry(struct json_object *o, size_t i, struct alga_release_cache_entry *e,
		       char **reterr_detail)
{
	const char *key, *md, *id = NULL, *cd, *at, *config;
	struct json_object *cfg;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return alga_set_detail(-EBADMSG, reterr_detail, "Cache field 'entries[%zu]' must be an object.", i);
	if ((r = alga_json_get_string(o, "key", ALGA_JSON_REQUIRED, &key, reterr_detail)) < 0 ||
	    (r = alga_json_get_string(o, "manifestDigest", ALGA_JSON_REQUIRED, &md, reterr_detail)) < 0 ||
	    (r = alga_json_get_string(o, "indexDigest", ALGA_JSON_OPTIONAL, &id, reterr_detail)) < 0 ||
	    (r = alga_json_get_string(o, "configDigest", ALGA_JSON_REQUIRED, &cd, reterr_detail)) < 0 ||
	    (r = alga_json_get_string(o, "fetchedAt", ALGA_JSON_REQUIRED, &at, reterr_detail)) < 0 ||
	    (r = alga_json_get_string(o, "config", ALGA_JSON_REQUIRED, &config, reterr_detail)) < 0)
		return r;
	if (strlen(key) > ALGA_RELEASE_CACHE_KEY_MAX || !alga_release_digest_is_valid(md) ||
	    (id && !alga_release_digest_is_valid(id)) || !alga_release_digest_is_valid(cd))
		return alga_set_detail(-EBADMSG, reterr_detail,
			    "Cache entry %zu has a bad key or digest; allowed: sha256:<64 hex>.", i);

	json_object_object_get_ex(o, "config", &cfg);
	*e = (struct alga_release_cache_entry){
		.key = (char *)key,
		.manifest_digest = (char *)md,
		.index_digest = (char *)id,
		.config_digest = (char *)cd,
		.fetched_at = (char *)at,
		.config = (char *)config,
		.config_len = (size_t)json_object_get_string_len(cfg),
	};
	return 0;
}

int alga_release_cache_parse(const char *text, size_t len, struct alga_release_cache **ret,
			     char **reterr_detail)
{
	_cleanup_(alga_release_cache_freep) struct alga_release_cache *c = NULL;
	_cleanup_(json_object_putp) struct json_object *doc = NULL;
	struct alga_json_limits l = {
		.size_max = ALGA_RELEASE_CACHE_SIZE_MAX,
		.depth_max = 4,
		.string_max = ALGA_RELEASE_SIZE_MAX,
		.items_max = 1024,
	};
	struct json_object *entries;
	int64_t version;
	size_t n;
	int r;

	if (!ret)
		return -EINVAL;
	r = alga_json_parse(text, len, &l, &doc, reterr_detail);
	if (r < 0)
		return r;
	if (!json_object_is_type(doc, json_type_object))
		return alga_set_detail(-EBADMSG, reterr_detail, "Release cache must be a JSON object.");
	r = alga_json_get_int64(doc, "version", ALGA_JSON_REQUIRED, 1, INT64_MAX, &version,
				reterr_detail);
	if (r < 0)
		return r;
	if (version != ALGA_RELEASE_CACHE_VERSION)
		return alga_set_detail(-EBADMSG, reterr_detail,
			    "Release cache has version %" PRId64 "; this tool knows version %d.",
			    version, ALGA_RELEASE_CACHE_VERSION);
	r = alga_json_get_array(doc, "entries", ALGA_JSON_REQUIRED, &entries, reterr_detail);
	if (r < 0)
		return r;
	n = json_object_array_length(entries);
	if (n > ALGA_RELEASE_CACHE_ENTRIES_MAX)
		return alga_set_detail(-E2BIG, reterr_detail, "Release cache has %zu entries; allowed: at most %u.",
			    n, ALGA_RELEASE_CACHE_ENTRIES_MAX);

	r = alga_release_cache_new(&c);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		struct alga_release_cache_entry view, *e = &c->entries[c->n_entries];

		r = parse_entry(json_object_array_get_idx(entries, i), i, &view, reterr_detail);
		if (r < 0)
			return r;
		view.valid = true;
		r = entry_copy(e, &view);
		if (r < 0)
			return r;
		c->n_entries++;
		r = verify_entry(e);
		if (r < 0)
			return r;
	}

	*ret = TAKE_PTR(c);
	return 0;
}

int alga_release_cache_load(int dirfd, struct alga_release_cache **ret, char **reterr_detail)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	r = alga_fs_read_file(dirfd, ALGA_RELEASE_CACHE_FILE, ALGA_RELEASE_CACHE_SIZE_MAX, &text,
			      &len, NULL);
	if (r == -ENOENT)
		return alga_release_cache_new(ret);
	if (r == -E2BIG)
		return alga_set_detail(r, reterr_detail, "Release cache is over %u bytes.",
			    ALGA_RELEASE_CACHE_SIZE_MAX);
	if (r < 0)
		return r;
	return alga_release_cache_parse(text, len, ret, reterr_detail);
}

int alga_release_cache_find(const struct alga_release_cache *c, const char *key,
			    const struct alga_release_cache_entry **ret, char **reterr_detail)
{
	if (!c || !key || !ret)
		return -EINVAL;
	for (size_t i = c->n_entries; i > 0; i--) {
		const struct alga_release_cache_entry *e = &c->entries[i - 1];

		if (!streq(e->key, key))
			continue;
		if (!e->valid)
			return alga_set_detail(-EBADMSG, reterr_detail, "%s.", strna(e->invalid_reason));
		*ret = e;
		return 0;
	}
	return -ENOENT;
}

int alga_release_cache_put(struct alga_release_cache *c, const struct alga_release_cache_entry *e)
{
	struct alga_release_cache_entry copy;
	int r;

	if (!c || !e || isempty(e->key) || strlen(e->key) > ALGA_RELEASE_CACHE_KEY_MAX ||
	    !alga_release_digest_is_valid(e->manifest_digest) ||
	    !alga_release_digest_is_valid(e->config_digest) ||
	    (e->index_digest && !alga_release_digest_is_valid(e->index_digest)) ||
	    isempty(e->fetched_at) || !e->config || e->config_len > ALGA_RELEASE_SIZE_MAX)
		return -EINVAL;

	r = entry_copy(&copy, e);
	if (r < 0)
		return r;
	copy.valid = true;
	free(TAKE_PTR(copy.invalid_reason));

	/* drop an older entry of the same key, then the oldest when full */
	for (size_t i = 0; i < c->n_entries; i++)
		if (streq(c->entries[i].key, e->key)) {
			entry_done(&c->entries[i]);
			memmove(&c->entries[i], &c->entries[i + 1],
				(c->n_entries - i - 1) * sizeof(*c->entries));
			c->n_entries--;
			break;
		}
	if (c->n_entries == ALGA_RELEASE_CACHE_ENTRIES_MAX) {
		entry_done(&c->entries[0]);
		memmove(&c->entries[0], &c->entries[1], (c->n_entries - 1) * sizeof(*c->entries));
		c->n_entries--;
	}
	c->entries[c->n_entries++] = copy;
	return 0;
}

static int format_from(const struct alga_release_cache *c, size_t first, char **ret)
{
	_cleanup_(json_object_putp) struct json_object *doc = NULL, *arr = NULL;
	int r;

	doc = json_object_new_object();
	arr = json_object_new_array();
	if (!doc || !arr)
		return -ENOMEM;
	r = alga_json_add(doc, "version", json_object_new_int(ALGA_RELEASE_CACHE_VERSION));
	if (r < 0)
		return r;
	for (size_t i = first; i < c->n_entries; i++) {
		const struct alga_release_cache_entry *e = &c->entries[i];
		_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

		if (!o)
			return -ENOMEM;
		if (!e->valid)
			continue;
		if ((r = alga_json_add(o, "key", json_object_new_string(e->key))) < 0 ||
		    (r = alga_json_add(o, "manifestDigest", json_object_new_string(e->manifest_digest))) < 0 ||
		    (e->index_digest &&
		     (r = alga_json_add(o, "indexDigest", json_object_new_string(e->index_digest))) < 0) ||
		    (r = alga_json_add(o, "configDigest", json_object_new_string(e->config_digest))) < 0 ||
		    (r = alga_json_add(o, "fetchedAt", json_object_new_string(e->fetched_at))) < 0 ||
		    (r = alga_json_add(o, "config",
				       json_object_new_string_len(e->config, (int)e->config_len))) < 0 ||
		    (r = alga_json_append(arr, TAKE_PTR(o))) < 0)
			return r;
	}
	r = alga_json_add(doc, "entries", TAKE_PTR(arr));
	if (r < 0)
		return r;
	return alga_json_format(doc, ALGA_JSON_FORMAT_NEWLINE, ret);
}

int alga_release_cache_format(const struct alga_release_cache *c, char **ret, size_t *ret_len)
{
	if (!c || !ret)
		return -EINVAL;
	/* the newest entries win the 4 MiB */
	for (size_t first = 0; first <= c->n_entries; first++) {
		_cleanup_free_ char *s = NULL;
		int r;

		r = format_from(c, first, &s);
		if (r < 0)
			return r;
		if (strlen(s) <= ALGA_RELEASE_CACHE_SIZE_MAX) {
			if (ret_len)
				*ret_len = strlen(s);
			*ret = TAKE_PTR(s);
			return 0;
		}
	}
	return -E2BIG;
}

int alga_release_cache_save(int dirfd, const struct alga_release_cache *c, uid_t uid, gid_t gid)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	r = alga_release_cache_format(c, &text, &len);
	if (r < 0)
		return r;
	return alga_fs_write_atomic(dirfd, ALGA_RELEASE_CACHE_FILE, text, len,
				    ALGA_RELEASE_CACHE_MODE, uid, gid);
}

int alga_release_cache_lock(int dirfd, uid_t uid, gid_t gid)
{
	_cleanup_close_ int fd = -EBADF;
	int r;

	fd = alga_fs_lock_file(dirfd, ALGA_RELEASE_CACHE_LOCK, true,
			       ALGA_RELEASE_CACHE_LOCK_TIMEOUT_USEC);
	if (fd < 0)
		return fd;
	/* root and alga-setup share the lock (A8) */
	r = alga_fs_fix_mode_owner(fd, ALGA_RELEASE_CACHE_MODE, uid, gid);
	if (r < 0)
		return r;
	r = alga_fs_remove_stale_temps(dirfd, ALGA_RELEASE_CACHE_FILE);
	if (r < 0)
		return r;
	return TAKE_FD(fd);
}
