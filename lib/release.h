/* SPDX-License-Identifier: AGPL-3.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "macro.h"

/*
 * The release manifest v1 (release.md §4.1): the config blob of the release
 * artifact. alga_release_parse() applies R1-R15 and keeps the document;
 * alga_release_check_artifact() and alga_release_verify_blob() are R16's
 * checks for lib/oci's caller. Every failure but -ENOMEM fills the optional
 * reterr_detail with one sentence naming the JSON path, the rule and what
 * is allowed (values cut at ALGA_RELEASE_DETAIL_VALUE_MAX bytes, escaped).
 * -EBADMSG: the document breaks a rule; -E2BIG: it is over a limit below.
 */

/* R1 */
#define ALGA_RELEASE_SIZE_MAX (1024u * 1024u)
#define ALGA_RELEASE_DEPTH_MAX 16u
/* R3: an OCI tag of at most 64 bytes */
#define ALGA_RELEASE_VERSION_MAX 64u
/* R6, R8 config.tag: OCI tags */
#define ALGA_RELEASE_TAG_MAX 128u
/* R7: a full image reference */
#define ALGA_RELEASE_REFERENCE_MAX 512u
/* R8 config.repository, and a repository path (§4.4) */
#define ALGA_RELEASE_REPOSITORY_MAX 255u
/* R9 */
#define ALGA_RELEASE_CHART_VERSION_MAX 64u
/* R10: one values file */
#define ALGA_RELEASE_VALUES_MAX (256u * 1024u)
/* R13 */
#define ALGA_RELEASE_RECEIPT_KEYS_MAX 2u
#define ALGA_RELEASE_RECEIPT_KEY_NAME_MAX 64u
#define ALGA_RELEASE_RECEIPT_KEY_MAX 8192u
/* how much of an offending value a detail sentence quotes */
#define ALGA_RELEASE_DETAIL_VALUE_MAX 80u

#define ALGA_RELEASE_SCHEMA "alga.appliance.release/v1"
#define ALGA_RELEASE_VALUES_PROFILE "single-node"
/* §4.2 */
#define ALGA_RELEASE_ARTIFACT_TYPE "application/vnd.alga.appliance.release.v1"
#define ALGA_RELEASE_CONFIG_TYPE "application/vnd.alga.appliance.release.config.v1+json"

/* the release channels (R4), which are also the tags a channel follows */
enum alga_release_channel {
	ALGA_RELEASE_CHANNEL_STABLE,
	ALGA_RELEASE_CHANNEL_NIGHTLY,
	_ALGA_RELEASE_CHANNEL_MAX,
};

/* images.* (R6), in schema order */
enum alga_release_image {
	ALGA_RELEASE_IMAGE_ALGA_CORE,
	ALGA_RELEASE_IMAGE_WORKFLOW_WORKER,
	ALGA_RELEASE_IMAGE_EMAIL_SERVICE,
	ALGA_RELEASE_IMAGE_TEMPORAL_WORKER,
	_ALGA_RELEASE_IMAGE_MAX,
};

/* charts.* (R9): Helm chart names */
enum alga_release_chart {
	ALGA_RELEASE_CHART_SEBASTIAN,
	ALGA_RELEASE_CHART_PGBOUNCER,
	ALGA_RELEASE_CHART_TEMPORAL,
	ALGA_RELEASE_CHART_TEMPORAL_WORKER,
	ALGA_RELEASE_CHART_WORKFLOW_WORKER,
	ALGA_RELEASE_CHART_EMAIL_SERVICE,
	_ALGA_RELEASE_CHART_MAX,
};

/*
 * The six HelmReleases of the bundle; profileValues keys (R10) are
 * "<name>.single-node.yaml", the values ConfigMaps appliance-values-<name>.
 */
enum alga_release_component {
	ALGA_RELEASE_COMPONENT_ALGA_CORE,
	ALGA_RELEASE_COMPONENT_PGBOUNCER,
	ALGA_RELEASE_COMPONENT_TEMPORAL,
	ALGA_RELEASE_COMPONENT_WORKFLOW_WORKER,
	ALGA_RELEASE_COMPONENT_EMAIL_SERVICE,
	ALGA_RELEASE_COMPONENT_TEMPORAL_WORKER,
	_ALGA_RELEASE_COMPONENT_MAX,
};

/* what the caller knows about how the document was reached */
struct alga_release_check {
	/* resolved through --channel (R4 compares); NULL for a --ref pin */
	const char *channel;
	/* R11: the host suite's X.Y.Z; NULL means this build's ALGA_VERSION */
	const char *host_version;
};

struct alga_release_receipt_key {
	const char *name;
	const char *pem;
};

/*
 * A validated release. Every string points into doc and lives as long as
 * the struct; NULL means absent. values_profile and config_tag hold their
 * defaults when the document left them out.
 */
struct alga_release {
	struct json_object *doc; /* the document as parsed, x-* members included */
	const char *version;
	const char *channel;
	const char *values_profile;
	const char *min_host_version;
	const char *images[_ALGA_RELEASE_IMAGE_MAX]; /* [ALGA_CORE] always set */
	const char *control_plane;
	const char *config_repository;
	const char *config_tag;
	const char *config_digest;
	const char *charts[_ALGA_RELEASE_CHART_MAX];
	const char *profile_values[_ALGA_RELEASE_COMPONENT_MAX]; /* all set */
	size_t profile_values_len[_ALGA_RELEASE_COMPONENT_MAX];
	const char *support_agent;
	struct alga_release_receipt_key receipt_keys[ALGA_RELEASE_RECEIPT_KEYS_MAX];
	size_t n_receipt_keys;
};

/* the spellings of the enums; _from_string() returns the value or -EINVAL */
const char *alga_release_channel_to_string(enum alga_release_channel c);
int alga_release_channel_from_string(const char *s);
/* "algaCore", "workflowWorker", ... */
const char *alga_release_image_to_string(enum alga_release_image i);
int alga_release_image_from_string(const char *s);
/* "sebastian", "pgbouncer", ... */
const char *alga_release_chart_to_string(enum alga_release_chart c);
int alga_release_chart_from_string(const char *s);
/* "alga-core", "pgbouncer", ... */
const char *alga_release_component_to_string(enum alga_release_component c);
int alga_release_component_from_string(const char *s);

/*
 * Parses len bytes of a release manifest and applies R1-R15. check may be
 * NULL (no channel comparison, this build's version for R11). On success
 * *ret owns a new release (free with alga_release_free()). -EBADMSG and
 * -E2BIG as at the top of this header; -EINVAL for a bad argument.
 */
int alga_release_parse(const char *json, size_t len, const struct alga_release_check *check,
		       struct alga_release **ret, char **reterr_detail);

/* frees r (NULL is fine); returns NULL */
struct alga_release *alga_release_free(struct alga_release *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct alga_release *, alga_release_free);

/*
 * The normalized form used by --json and setup: the schema's members in
 * schema order, defaults filled (valuesProfile, config.tag), absent optional
 * members left out, x-* members copied as they were. *ret is a new object
 * the caller puts. 0 or -ENOMEM.
 */
int alga_release_to_json(const struct alga_release *r, struct json_object **ret);

/*
 * R16, media types (§4.2): config_type is the config descriptor's
 * mediaType, artifact_type the manifest's artifactType (NULL when absent).
 * 0 when allowed; -EBADMSG naming the field and the allowed values.
 */
int alga_release_check_artifact(const char *config_type, const char *artifact_type,
				char **reterr_detail);

/*
 * R16, digest and size: data must be exactly size bytes (-E2BIG when
 * larger than its descriptor, -EBADMSG when shorter) and hash to digest,
 * "sha256:<64 hex>" (-EBADMSG "digest mismatch: expected ..., got ...").
 */
int alga_release_verify_blob(const void *data, size_t len, const char *digest, uint64_t size,
			     char **reterr_detail);

/*
 * The "sha256:<hex>" digest of data into ret (ALGA_RELEASE_DIGEST_SIZE
 * bytes, NUL-terminated). 0, -ENOMEM or -EIO.
 */
#define ALGA_RELEASE_DIGEST_SIZE (7u + 64u + 1u)
int alga_release_digest(const void *data, size_t len, char ret[static ALGA_RELEASE_DIGEST_SIZE]);

/* predicates on the §4.4 grammar, shared with the cache and the tests */
bool alga_release_tag_is_valid(const char *s);        /* [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} */
bool alga_release_digest_is_valid(const char *s);     /* sha256:[a-f0-9]{64} */
bool alga_release_repository_is_valid(const char *s); /* host[:port]/path, no scheme */
