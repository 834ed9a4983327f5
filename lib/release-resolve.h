/* SPDX-License-Identifier: AGPL-3.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "fsutil.h"
#include "http.h"
#include "macro.h"
#include "oci.h"
#include "release-cache.h"
#include "release.h"

/*
 * From a channel or a pin to a verified, validated release (release.md
 * §4.3, §4.5): lib/oci fetches the manifest (an index is narrowed to the
 * one release artifact) and the config blob, verified by digest and size;
 * alga_release_parse() applies R1-R15, with R4's channel check only when
 * a channel was followed; the last good copy of each reference is kept in
 * the cache, written only after full success. Failures fill the optional
 * `struct alga_error *reterr` whose class is alga-resolve's exit code.
 */

#define ALGA_RELEASE_RESOLVE_REGISTRY_DEFAULT "ghcr.io"
#define ALGA_RELEASE_RESOLVE_REPOSITORY_DEFAULT "nine-minds/alga-appliance-release"
#define ALGA_RELEASE_RESOLVE_TIMEOUT_MIN_SEC 1u
#define ALGA_RELEASE_RESOLVE_TIMEOUT_MAX_SEC 120u
#define ALGA_RELEASE_RESOLVE_DNS_SERVERS_MAX 3u

/* the cache is lib/release-cache's (§4.5, A8): <state>/releases/release.json */

/* the config bundle listing (--verify-bundle, §4.3 limits) */
#define ALGA_RELEASE_BUNDLE_GZ_MAX (16u * 1024u * 1024u)
#define ALGA_RELEASE_BUNDLE_UNPACKED_MAX (64u * 1024u * 1024u)
#define ALGA_RELEASE_BUNDLE_ENTRIES_MAX 4096u
#define ALGA_RELEASE_BUNDLE_PATH_MAX 1024u
/* one YAML file of the bundle read for the HelmRelease cross-check */
#define ALGA_RELEASE_BUNDLE_YAML_MAX (1024u * 1024u)

/* how the cache is used (--cached, --fallback-cache, --no-cache) */
enum alga_release_cache_mode {
	ALGA_RELEASE_CACHE_USE,      /* registry; reuse an unchanged blob; write after success */
	ALGA_RELEASE_CACHE_ONLY,     /* cache only, no network */
	ALGA_RELEASE_CACHE_FALLBACK, /* as USE, the cache on a network or TLS failure */
	ALGA_RELEASE_CACHE_NONE,     /* neither read nor written */
	_ALGA_RELEASE_CACHE_MODE_MAX,
};

struct alga_release_resolve_options {
	const char *registry;    /* host[:port]; NULL: ALGA_RELEASE_RESOLVE_REGISTRY_DEFAULT */
	const char *repository;  /* NULL: ALGA_RELEASE_RESOLVE_REPOSITORY_DEFAULT */
	const char *channel;     /* the tag followed, R4 compared; or NULL with ref */
	const char *ref;         /* a version tag or manifest digest (R4 skipped) */
	bool insecure;           /* plain http (tests, lab mirrors) */
	const char *ca_file;     /* extra PEM trust */
	const char *const *dns_servers; /* NULL-terminated numeric addresses, or NULL */
	unsigned timeout_sec;    /* per request; 0: 30 */
	unsigned retry_delay_ms; /* 0: lib/oci's default */
	const char *user_agent;  /* NULL: "alga-resolve/<version>" */
	const char *host_version; /* R11; NULL: this build's */
	enum alga_release_cache_mode cache_mode;
	const char *cache_dir;   /* the releases/ directory; NULL: no cache */
	uid_t cache_uid;         /* owner given to a new cache file; ALGA_UID_KEEP: the writer */
	bool verify_bundle;      /* also fetch and check config.repository@config.digest */
};

/* what --verify-bundle saw */
struct alga_release_bundle_report {
	char **files;            /* regular files of the bundle, in tar order; NULL-terminated */
	size_t n_files;
	size_t n_entries;        /* files and directories */
	uint64_t unpacked_size;
	size_t n_helm_releases;  /* HelmReleases checked against charts and profileValues */
};

struct alga_release_resolved {
	struct alga_release *release;
	bool from_cache;
	bool stale;              /* the cache stood in for a failed registry */
	char *fetched_at;        /* RFC 3339 UTC */
	char *registry;
	char *repository;
	char *reference;         /* the channel or the --ref as given */
	char *manifest_digest;
	char *index_digest;      /* NULL unless an index was resolved */
	char *config_digest;
	char *config_media_type; /* NULL when unknown (an older cache entry) */
	char *config;            /* the verified blob bytes, NUL-terminated */
	size_t config_size;
	bool blob_reused;        /* the manifest was unchanged: blob from the cache */
	bool cache_written;
	int cache_error;         /* <0: the write failed (the resolve still succeeded) */
	struct alga_error fallback_error; /* with stale: why the registry failed */
	struct alga_oci_stats stats;
	struct alga_release_bundle_report *bundle; /* with verify_bundle */
};

/*
 * Resolves o's channel or ref (exactly one of them) as described at the
 * top. On success *ret owns the result (alga_release_resolved_free()).
 * Errors: -EINVAL bad options (class usage); -ENOENT not found (tag,
 * repository, cache entry); lib/oci's errnos with their classes;
 * -EBADMSG/-E2BIG from the release rules (class invalid); -ESTALE when
 * --cached found only entries failing verification (class not found).
 * A stale fallback succeeds with stale set (alga-resolve exits 10).
 */
int alga_release_resolve(const struct alga_release_resolve_options *o,
			 struct alga_release_resolved **ret, struct alga_error *reterr);

struct alga_release_resolved *alga_release_resolved_free(struct alga_release_resolved *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct alga_release_resolved *, alga_release_resolved_free);

/*
 * The --json document of §4.5: {"version":1,"source","stale","fetchedAt",
 * "registry","repository","reference","manifestDigest","indexDigest",
 * "configDigest","configMediaType","release":{normalized}} (plus "bundle"
 * after --verify-bundle). *ret is new. 0 or -ENOMEM.
 */
int alga_release_resolved_to_json(const struct alga_release_resolved *r, struct json_object **ret);

/*
 * The failure document of §4.5: {"version":1,"error":{"class","code",
 * "field","message","httpStatus","url"}}. 0 or -ENOMEM.
 */
int alga_release_error_to_json(const struct alga_error *e, struct json_object **ret);

/*
 * Lists a Flux config bundle layer (tar+gzip, len bytes) in memory and
 * checks it against r: only regular files and directories, no absolute
 * path, no "..", no link or device; at most ALGA_RELEASE_BUNDLE_* bytes,
 * entries and path bytes; each HelmRelease's chart version must equal
 * r's charts entry and each valuesFrom key must be one of profileValues.
 * Nothing is written to disk. -EPERM unsafe entry, -E2BIG over a cap
 * (class integrity), -EBADMSG a cross-check failed (class invalid) or
 * a broken archive (class integrity). *ret is the caller's.
 */
int alga_release_bundle_check(const void *data, size_t len, const struct alga_release *r,
			      struct alga_release_bundle_report **ret, struct alga_error *reterr);
struct alga_release_bundle_report *
alga_release_bundle_report_free(struct alga_release_bundle_report *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct alga_release_bundle_report *, alga_release_bundle_report_free);
