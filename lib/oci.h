/* SPDX-License-Identifier: AGPL-3.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "macro.h"

/*
 * OCI distribution client (release.md §4.2–§4.4): references, manifests
 * and indexes with the media-type rules, index selection, the anonymous
 * bearer flow, verified blobs. Every fetched byte is hashed: the manifest
 * digest is computed from the body, never taken from a header, and blobs
 * are checked against the descriptor's digest and size while streaming.
 *
 * Errors are negative errno with an optional last `struct alga_error
 * *reterr` (http.h) whose class is alga-resolve's exit code:
 *   -EINVAL    bad reference or argument (usage)
 *   -ENOENT    404: tag, digest or repository unknown (not found)
 *   -EACCES    401 after a token, 403, token flow failure (auth)
 *   -EPERM     Bearer realm over http for an https registry (auth),
 *              or a redirect from https to http (integrity)
 *   -E2BIG     over a cap (integrity; artifact for index limits)
 *   -EILSEQ    digest or size mismatch (integrity)
 *   -EBADMSG   malformed manifest or index (artifact)
 *   -EMEDIUMTYPE  media type refused, no artifact in an index (artifact)
 *   -ENOTUNIQ  ambiguous index (artifact)
 *   -EAGAIN, -ETIMEDOUT, -ETIME, -ECONNREFUSED, ...  network (after retries)
 *   -EKEYREJECTED, -ECONNABORTED  TLS
 */

/* limits (release.md §4.3, §4.4) */
#define ALGA_OCI_MANIFEST_MAX (4u * 1024u * 1024u)
#define ALGA_OCI_MANIFEST_DEPTH_MAX 32u
#define ALGA_OCI_INDEX_ENTRIES_MAX 64u
#define ALGA_OCI_INDEX_CANDIDATES_MAX 4u
#define ALGA_OCI_LAYERS_MAX 256u
#define ALGA_OCI_CONFIG_MAX (1024u * 1024u)  /* release config blob */
#define ALGA_OCI_BUNDLE_MAX (16u * 1024u * 1024u)
#define ALGA_OCI_ERROR_BODY_MAX (64u * 1024u)
#define ALGA_OCI_REFERENCE_MAX 1024u
#define ALGA_OCI_REGISTRY_MAX 255u
#define ALGA_OCI_REPOSITORY_MAX 255u
#define ALGA_OCI_TAG_MAX 128u
#define ALGA_OCI_MEDIA_TYPE_MAX 255u
#define ALGA_OCI_RETRIES 2u               /* for 429/502/503/504, connect errors */
#define ALGA_OCI_RETRY_DELAY_MS 1000u     /* first retry; the second waits 3x */
#define ALGA_OCI_RETRY_AFTER_MAX_SEC 10u
#define ALGA_OCI_TOKENS_MAX 8u            /* cached bearer tokens per client */

/* media types of §4.2 */
#define ALGA_OCI_MT_IMAGE_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define ALGA_OCI_MT_IMAGE_INDEX "application/vnd.oci.image.index.v1+json"
#define ALGA_OCI_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define ALGA_OCI_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define ALGA_OCI_MT_EMPTY "application/vnd.oci.empty.v1+json"
#define ALGA_OCI_MT_IMAGE_CONFIG "application/vnd.oci.image.config.v1+json"
#define ALGA_OCI_MT_UNKNOWN_CONFIG "application/vnd.unknown.config.v1+json"
#define ALGA_OCI_MT_JSON "application/json"
#define ALGA_OCI_MT_RELEASE_ARTIFACT "application/vnd.alga.appliance.release.v1"
#define ALGA_OCI_MT_RELEASE_CONFIG "application/vnd.alga.appliance.release.config.v1+json"
#define ALGA_OCI_MT_FLUX_CONFIG "application/vnd.cncf.flux.config.v1+json"
#define ALGA_OCI_MT_FLUX_CONTENT "application/vnd.cncf.flux.content.v1.tar+gzip"
/* the manifest Accept header of §4.2 */
#define ALGA_OCI_MANIFEST_ACCEPT                                                           \
	"application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, " \
	"application/vnd.docker.distribution.manifest.list.v2+json, "                           \
	"application/vnd.docker.distribution.manifest.v2+json"

/* ---- references --------------------------------------------------------- */

/*
 * host[:port]/repository[:tag][@digest]. registry is host[:port]
 * ([A-Za-z0-9.-]+ or a bracketed IPv6 address); repository is components
 * [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* joined by '/', <= 255 bytes; tag
 * [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; digest sha256:[a-f0-9]{64} or
 * sha512:[a-f0-9]{128}.
 */
struct alga_oci_ref {
	char *registry;   /* never NULL */
	char *repository; /* never NULL */
	char *tag;        /* NULL when absent */
	char *digest;     /* NULL when absent */
};

/*
 * Parses s. A leading "oci://" is accepted (never emitted). The first
 * component is the registry when it holds '.' or ':', is "localhost" or
 * a bracketed address; otherwise default_registry is used, and with
 * default_registry NULL the registry is required. Returns 0 with *ret,
 * -EINVAL for anything that breaks the grammar above (*reterr_detail
 * names the part), -E2BIG over ALGA_OCI_REFERENCE_MAX.
 */
int alga_oci_ref_parse(const char *s, const char *default_registry, struct alga_oci_ref **ret,
		       char **reterr_detail);
/* a reference from parts (validated as alga_oci_ref_parse() does); tag, digest may be NULL */
int alga_oci_ref_new(const char *registry, const char *repository, const char *tag,
		     const char *digest, struct alga_oci_ref **ret, char **reterr_detail);
struct alga_oci_ref *alga_oci_ref_free(struct alga_oci_ref *ref);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct alga_oci_ref *, alga_oci_ref_free);
/* "registry/repository[:tag][@digest]" into a new string */
int alga_oci_ref_to_string(const struct alga_oci_ref *ref, char **ret);
bool alga_oci_ref_is_digest(const struct alga_oci_ref *ref);

/* grammar predicates of §4.4, for validators of release fields (R6, R8) */
bool alga_oci_registry_is_valid(const char *s);
bool alga_oci_repository_is_valid(const char *s);
bool alga_oci_tag_is_valid(const char *s);
bool alga_oci_digest_is_valid(const char *s);
bool alga_oci_media_type_is_valid(const char *s);

/* ---- manifests and indexes -------------------------------------------------- */

enum alga_oci_manifest_kind {
	ALGA_OCI_MANIFEST_IMAGE, /* OCI image manifest or Docker v2 manifest */
	ALGA_OCI_MANIFEST_INDEX, /* OCI index or Docker manifest list */
	_ALGA_OCI_MANIFEST_KIND_MAX,
};

struct alga_oci_descriptor {
	char *media_type;
	char *digest;
	int64_t size;
	char *artifact_type;         /* NULL when absent */
	char *platform_os;           /* index entries: NULL when absent */
	char *platform_architecture;
};

struct alga_oci_manifest {
	enum alga_oci_manifest_kind kind;
	char *media_type;    /* effective: mediaType field or Content-Type, which agree */
	char *digest;        /* "sha256:<hex>" computed from data */
	char *artifact_type; /* NULL when absent */
	struct alga_oci_descriptor config;  /* image only */
	struct alga_oci_descriptor *layers; /* image only */
	size_t n_layers;
	struct alga_oci_descriptor *manifests; /* index only */
	size_t n_manifests;
	char *data; /* the exact bytes, NUL-terminated */
	size_t size;
};

/*
 * Parses a manifest or index of len bytes as served with content_type
 * (the Content-Type header; parameters ignored; NULL when unknown).
 * Rules (§4.2): JSON <= ALGA_OCI_MANIFEST_MAX bytes and depth
 * ALGA_OCI_MANIFEST_DEPTH_MAX; schemaVersion 2; mediaType, if present,
 * equal to content_type, if present; one of the four types of the Accept
 * header (Docker schema 1 refused); an index has "manifests" and neither
 * "config" nor "layers", a manifest has "config" and "layers" and no
 * "manifests" (CVE-2021-41190); descriptors have a media type, a valid
 * digest and a size >= 0; <= ALGA_OCI_INDEX_ENTRIES_MAX entries and
 * ALGA_OCI_LAYERS_MAX layers. *ret->digest is the sha256 of the bytes.
 * -E2BIG over a limit, -EBADMSG malformed, -EMEDIUMTYPE a media type
 * refused, each with *reterr_detail (optional, caller frees) naming the field.
 */
int alga_oci_manifest_parse(const char *buf, size_t len, const char *content_type,
			    struct alga_oci_manifest **ret, char **reterr_detail);
struct alga_oci_manifest *alga_oci_manifest_free(struct alga_oci_manifest *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct alga_oci_manifest *, alga_oci_manifest_free);

/* what an artifact must look like (§4.2); the two of this suite below */
struct alga_oci_want {
	const char *artifact_type;         /* canonical artifactType; present ones must equal it */
	const char *const *config_types;   /* NULL-terminated allowed config media types */
	const char *const *layer_types;    /* NULL-terminated allowed layer media types */
	size_t layers_min;
	size_t layers_max;
};

/* release artifact: release config (or the compat config types), 0 or 1 empty layer */
const struct alga_oci_want *alga_oci_want_release(void);
/* Flux config bundle: Flux config, exactly one Flux content layer */
const struct alga_oci_want *alga_oci_want_bundle(void);

/*
 * Checks an image manifest against want: OCI image manifest type,
 * artifactType (if any) == want->artifact_type, config type and layers.
 * 0, or -EMEDIUMTYPE with *reterr_detail naming the field.
 */
int alga_oci_manifest_check(const struct alga_oci_manifest *m, const struct alga_oci_want *want,
			    char **reterr_detail);

/* ---- client ------------------------------------------------------------------ */

struct alga_oci_options {
	bool insecure;                /* plain http to registries (realm may then be http) */
	const char *ca_file;          /* extra PEM trust */
	const char *ca_path;          /* NULL: ALGA_HTTP_CA_PATH */
	unsigned timeout_sec;         /* per request; 0: ALGA_HTTP_TIMEOUT_SEC */
	unsigned connect_timeout_sec; /* 0: ALGA_HTTP_CONNECT_TIMEOUT_SEC */
	unsigned low_speed_time_sec;  /* 0: ALGA_HTTP_LOW_SPEED_TIME_SEC */
	unsigned retry_delay_ms;      /* 0: ALGA_OCI_RETRY_DELAY_MS (tests shorten it) */
	const char *user_agent;       /* NULL: "alga/<ALGA_VERSION>"; alga-resolve passes its own */
	alga_http_resolve_fn resolve; /* CURLOPT_RESOLVE pinning for registry, realm, redirects */
	void *resolve_userdata;
};

/* counters for tests and -v output */
struct alga_oci_stats {
	unsigned manifest_gets; /* HTTP GETs of manifests, retries and 401s included */
	unsigned blob_gets;
	unsigned token_gets;
	unsigned retries;
};

struct alga_oci_client;

/* 0, -ENOMEM, -EIO (libcurl) */
int alga_oci_client_new(const struct alga_oci_options *o, struct alga_oci_client **ret);
/* frees the client; held tokens are wiped (OPENSSL_cleanse) first */
struct alga_oci_client *alga_oci_client_free(struct alga_oci_client *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct alga_oci_client *, alga_oci_client_free);
void alga_oci_client_get_stats(const struct alga_oci_client *c, struct alga_oci_stats *ret);

/*
 * GET /v2/<repository>/manifests/<digest or tag> of ref with the §4.2
 * Accept header, running the bearer flow on a 401 (once), retrying
 * 429/502/503/504 and connect failures twice (1 s, 3 s, or Retry-After up
 * to 10 s). The body is capped at ALGA_OCI_MANIFEST_MAX; its sha256 must
 * equal ref's digest and Docker-Content-Digest when sent; then it is
 * parsed as alga_oci_manifest_parse() does. *ret is the caller's.
 */
int alga_oci_fetch_manifest(struct alga_oci_client *c, const struct alga_oci_ref *ref,
			    struct alga_oci_manifest **ret, struct alga_error *reterr);

/*
 * GET /v2/<repository>/blobs/<digest> of d in ref's repository (tag and
 * digest of ref unused). d->size over cap fails before any request; the
 * transfer aborts past d->size; a wrong Content-Length, a short body or a
 * sha256 != d->digest is -EILSEQ ("digest mismatch: expected …, got …").
 * Buffer mode: *ret_data (NUL-terminated, caller frees) and *ret_size,
 * handed out only once verified.
 */
int alga_oci_fetch_blob(struct alga_oci_client *c, const struct alga_oci_ref *ref,
			const struct alga_oci_descriptor *d, size_t cap, char **ret_data,
			size_t *ret_size, struct alga_error *reterr);
/*
 * Streaming mode: sink gets each chunk as it arrives (hashed on the way);
 * before a retried attempt it is called once with (NULL, 0) to start over.
 * The data is verified only when this returns 0: callers must discard what
 * they got on failure.
 */
int alga_oci_fetch_blob_stream(struct alga_oci_client *c, const struct alga_oci_ref *ref,
			       const struct alga_oci_descriptor *d, size_t cap,
			       alga_http_sink_fn sink, void *userdata, struct alga_error *reterr);

struct alga_oci_artifact {
	struct alga_oci_manifest *manifest; /* the selected image manifest */
	char *index_digest;                 /* digest of the index it came from, or NULL */
};

/*
 * Fetches ref and, for an index, selects the artifact (§4.3 step 4):
 * candidates are entries whose artifactType is want's, else every entry;
 * more than ALGA_OCI_INDEX_CANDIDATES_MAX is -E2BIG; each is fetched by
 * digest and exactly one may pass alga_oci_manifest_check() (none:
 * -EMEDIUMTYPE "no artifact", several: -ENOTUNIQ "ambiguous index"); a
 * child index never passes. A plain manifest must pass the check itself.
 */
int alga_oci_resolve_artifact(struct alga_oci_client *c, const struct alga_oci_ref *ref,
			      const struct alga_oci_want *want, struct alga_oci_artifact **ret,
			      struct alga_error *reterr);
struct alga_oci_artifact *alga_oci_artifact_free(struct alga_oci_artifact *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct alga_oci_artifact *, alga_oci_artifact_free);
