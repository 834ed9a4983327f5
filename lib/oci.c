/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "oci-auth.h"
#include "oci.h"

#define DIGEST_SHA256_PREFIX "sha256:"
#define DIGEST_SHA256_SIZE (7u + 64u + 1u)

/* ---- grammar -------------------------------------------------------------------- */

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool hex_lower(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[n] == 0;
}

bool alga_oci_digest_is_valid(const char *s)
{
	if (!s)
		return false;
	if (str_has_prefix(s, "sha256:"))
		return strlen(s + 7) == 64 && hex_lower(s + 7, 64);
	if (str_has_prefix(s, "sha512:"))
		return strlen(s + 7) == 128 && hex_lower(s + 7, 128);
	return false;
}

bool alga_oci_tag_is_valid(const char *s)
{
	size_t n;

	if (!s)
		return false;
	n = strlen(s);
	if (n == 0 || n > ALGA_OCI_TAG_MAX)
		return false;
	if (!(isalnum((unsigned char)s[0]) || s[0] == '_') || !isascii((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isascii((unsigned char)s[i]) ||
		    !(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return false;
	return true;
}

/* one path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
static bool component_is_valid(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || !is_lower_alnum(s[0]))
		return false;
	while (i < n) {
		size_t sep;

		while (i < n && is_lower_alnum(s[i]))
			i++;
		if (i == n)
			return true;
		sep = i;
		if (s[i] == '.')
			i++;
		else if (s[i] == '_')
			i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
		else if (s[i] == '-')
			while (i < n && s[i] == '-')
				i++;
		else
			return false;
		if (i == sep || i >= n || !is_lower_alnum(s[i]))
			return false;
	}
	return true;
}

bool alga_oci_repository_is_valid(const char *s)
{
	size_t n;

	if (!s)
		return false;
	n = strlen(s);
	if (n == 0 || n > ALGA_OCI_REPOSITORY_MAX)
		return false;
	for (const char *p = s;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (!component_is_valid(p, len))
			return false;
		if (!slash)
			return true;
		p = slash + 1;
	}
}

static bool port_is_valid(const char *s)
{
	unsigned long v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

bool alga_oci_registry_is_valid(const char *s)
{
	const char *port = NULL;
	size_t n;

	if (!s)
		return false;
	n = strlen(s);
	if (n == 0 || n > ALGA_OCI_REGISTRY_MAX)
		return false;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close == s + 1)
			return false;
		for (const char *p = s + 1; p < close; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
				return false;
		if (close[1] == 0)
			return true;
		return close[1] == ':' && port_is_valid(close + 2);
	}

	port = strchr(s, ':');
	n = port ? (size_t)(port - s) : n;
	if (n == 0 || s[0] == '.' || s[0] == '-' || s[n - 1] == '.' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isascii((unsigned char)s[i]) ||
		    !(isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '-'))
			return false;
	return !port || port_is_valid(port + 1);
}

/* RFC 6838 type/subtype: restricted-name "/" restricted-name */
static bool restricted_name_is_valid(const char *s, size_t n)
{
	if (n == 0 || n > 127 || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isascii((unsigned char)s[i]) ||
		    !(isalnum((unsigned char)s[i]) || strchr("!#$&^_.+-", s[i])))
			return false;
	return true;
}

bool alga_oci_media_type_is_valid(const char *s)
{
	const char *slash;

	if (!s || strlen(s) > ALGA_OCI_MEDIA_TYPE_MAX)
		return false;
	slash = strchr(s, '/');
	if (!slash)
		return false;
	return restricted_name_is_valid(s, (size_t)(slash - s)) &&
	       restricted_name_is_valid(slash + 1, strlen(slash + 1));
}

/* ---- references ------------------------------------------------------------------- */

struct alga_oci_ref *alga_oci_ref_free(struct alga_oci_ref *ref)
{
	if (!ref)
		return NULL;
	free(ref->registry);
	free(ref->repository);
	free(ref->tag);
	free(ref->digest);
	free(ref);
	return NULL;
}

bool alga_oci_ref_is_digest(const struct alga_oci_ref *ref)
{
	return ref && ref->digest;
}

int alga_oci_ref_new(const char *registry, const char *repository, const char *tag,
		     const char *digest, struct alga_oci_ref **ret, char **reterr_detail)
{
	_cleanup_(alga_oci_ref_freep) struct alga_oci_ref *ref = NULL;

	if (!alga_oci_registry_is_valid(registry)) {
		alga_set_detail(0, reterr_detail, "invalid registry '%.80s' (host[:port])", strempty(registry));
		return -EINVAL;
	}
	if (!alga_oci_repository_is_valid(repository)) {
		alga_set_detail(0, reterr_detail,
		       "invalid repository '%.80s' (lower-case components joined by '/', at most 255 bytes)",
		       strempty(repository));
		return -EINVAL;
	}
	if (tag && !alga_oci_tag_is_valid(tag)) {
		alga_set_detail(0, reterr_detail, "invalid tag '%.80s' ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})", tag);
		return -EINVAL;
	}
	if (digest && !alga_oci_digest_is_valid(digest)) {
		alga_set_detail(0, reterr_detail, "invalid digest '%.80s' (sha256:<64 hex> or sha512:<128 hex>)",
		       digest);
		return -EINVAL;
	}

	ref = calloc(1, sizeof(*ref));
	if (!ref)
		return -ENOMEM;
	ref->registry = strdup(registry);
	ref->repository = strdup(repository);
	if (!ref->registry || !ref->repository)
		return -ENOMEM;
	if (tag && !(ref->tag = strdup(tag)))
		return -ENOMEM;
	if (digest && !(ref->digest = strdup(digest)))
		return -ENOMEM;

	*ret = TAKE_PTR(ref);
	return 0;
}

static bool looks_like_registry(const char *s, size_t n)
{
	return memchr(s, '.', n) || memchr(s, ':', n) || (n > 0 && s[0] == '[') ||
	       (n == 9 && memcmp(s, "localhost", 9) == 0);
}

int alga_oci_ref_parse(const char *s, const char *default_registry, struct alga_oci_ref **ret,
		       char **reterr_detail)
{
	_cleanup_free_ char *copy = NULL, *registry = NULL;
	char *name, *at, *tag = NULL, *slash, *lastslash;

	if (!s || !ret)
		return -EINVAL;
	if (strlen(s) > ALGA_OCI_REFERENCE_MAX) {
		alga_set_detail(0, reterr_detail, "reference longer than %u bytes", ALGA_OCI_REFERENCE_MAX);
		return -E2BIG;
	}
	if (str_has_prefix(s, "oci://"))
		s += 6;

	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	name = copy;

	at = strchr(name, '@');
	if (at)
		*at++ = 0;

	lastslash = strrchr(name, '/');
	tag = strrchr(lastslash ? lastslash : name, ':');
	/* "host:port" alone has no tag: the colon is the port's */
	if (tag && !lastslash)
		tag = NULL;
	if (tag)
		*tag++ = 0;

	slash = strchr(name, '/');
	if (slash && looks_like_registry(name, (size_t)(slash - name))) {
		registry = strndup(name, (size_t)(slash - name));
		if (!registry)
			return -ENOMEM;
		name = slash + 1;
	} else if (default_registry) {
		registry = strdup(default_registry);
		if (!registry)
			return -ENOMEM;
	} else {
		alga_set_detail(0, reterr_detail, "reference '%.80s' names no registry (host[:port]/path)", s);
		return -EINVAL;
	}

	return alga_oci_ref_new(registry, name, tag, at, ret, reterr_detail);
}

int alga_oci_ref_to_string(const struct alga_oci_ref *ref, char **ret)
{
	if (asprintf(ret, "%s/%s%s%s%s%s", ref->registry, ref->repository, ref->tag ? ":" : "",
		     strempty(ref->tag), ref->digest ? "@" : "", strempty(ref->digest)) < 0)
		return -ENOMEM;
	return 0;
}

/* ---- manifests ---------------------------------------------------------------------- */

static void descriptor_done(struct alga_oci_descriptor *d)
{
	free(d->media_type);
	free(d->digest);
	free(d->artifact_type);
	free(d->platform_os);
	free(d->platform_architecture);
	*d = (struct alga_oci_descriptor){};
}

static void descriptors_free(struct alga_oci_descriptor *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		descriptor_done(&d[i]);
	free(d);
}

struct alga_oci_manifest *alga_oci_manifest_free(struct alga_oci_manifest *m)
{
	if (!m)
		return NULL;
	free(m->media_type);
	free(m->digest);
	free(m->artifact_type);
	descriptor_done(&m->config);
	descriptors_free(m->layers, m->n_layers);
	descriptors_free(m->manifests, m->n_manifests);
	free(m->data);
	free(m);
	return NULL;
}

static int dup_string(const char *s, char **ret)
{
	if (!s) {
		*ret = NULL;
		return 0;
	}
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

static int get_media_type(struct json_object *o, const char *field, const char *path,
			  enum alga_json_presence p, char **ret, char **reterr_detail)
{
	const char *s = NULL;
	int r;

	r = alga_json_get_string(o, field, p, &s, NULL);
	if (r < 0) {
		alga_set_detail(0, reterr_detail, "%s: %s a media type string", path,
		       p == ALGA_JSON_REQUIRED ? "required," : "expected");
		return -EBADMSG;
	}
	if (r == 0) {
		*ret = NULL;
		return 0;
	}
	if (!alga_oci_media_type_is_valid(s)) {
		alga_set_detail(0, reterr_detail, "%s: '%.80s' is not a media type (type/subtype)", path, s);
		return -EBADMSG;
	}
	return dup_string(s, ret);
}

static int parse_descriptor(struct json_object *o, const char *path, bool platform,
			    struct alga_oci_descriptor *d, char **reterr_detail)
{
	struct json_object *plat = NULL;
	const char *digest = NULL, *s = NULL;
	int64_t size = 0;
	int r;

	if (!json_object_is_type(o, json_type_object)) {
		alga_set_detail(0, reterr_detail, "%s: expected a descriptor object", path);
		return -EBADMSG;
	}
	r = get_media_type(o, "mediaType", path, ALGA_JSON_REQUIRED, &d->media_type, reterr_detail);
	if (r < 0)
		return r;
	r = alga_json_get_string(o, "digest", ALGA_JSON_REQUIRED, &digest, NULL);
	if (r < 0 || !alga_oci_digest_is_valid(digest)) {
		alga_set_detail(0, reterr_detail, "%s.digest: required, sha256:<64 hex> or sha512:<128 hex>", path);
		return -EBADMSG;
	}
	r = dup_string(digest, &d->digest);
	if (r < 0)
		return r;
	r = alga_json_get_int64(o, "size", ALGA_JSON_REQUIRED, 0, INT64_MAX, &size, NULL);
	if (r < 0) {
		alga_set_detail(0, reterr_detail, "%s.size: required, an integer >= 0", path);
		return -EBADMSG;
	}
	d->size = size;
	r = get_media_type(o, "artifactType", path, ALGA_JSON_OPTIONAL, &d->artifact_type,
			   reterr_detail);
	if (r < 0)
		return r;

	if (!platform)
		return 0;
	r = alga_json_get_object(o, "platform", ALGA_JSON_OPTIONAL, &plat, NULL);
	if (r < 0) {
		alga_set_detail(0, reterr_detail, "%s.platform: expected an object", path);
		return -EBADMSG;
	}
	if (r == 0)
		return 0;
	if (alga_json_get_string(plat, "os", ALGA_JSON_OPTIONAL, &s, NULL) < 0) {
		alga_set_detail(0, reterr_detail, "%s.platform.os: expected a string", path);
		return -EBADMSG;
	}
	r = dup_string(s, &d->platform_os);
	if (r < 0)
		return r;
	s = NULL;
	if (alga_json_get_string(plat, "architecture", ALGA_JSON_OPTIONAL, &s, NULL) < 0) {
		alga_set_detail(0, reterr_detail, "%s.platform.architecture: expected a string", path);
		return -EBADMSG;
	}
	return dup_string(s, &d->platform_architecture);
}

static int parse_descriptor_array(struct json_object *arr, const char *name, size_t max,
				  bool platform, struct alga_oci_descriptor **ret, size_t *ret_n,
				  char **reterr_detail)
{
	struct alga_oci_descriptor *d;
	size_t n = json_object_array_length(arr);
	int r;

	if (n > max) {
		alga_set_detail(0, reterr_detail, "%s: %zu entries, at most %zu allowed", name, n, max);
		return -E2BIG;
	}
	d = calloc(n ? n : 1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char path[64];

		snprintf(path, sizeof(path), "%s[%zu]", name, i);
		r = parse_descriptor(json_object_array_get_idx(arr, i), path, platform, &d[i],
				     reterr_detail);
		if (r < 0) {
			descriptors_free(d, n);
			return r;
		}
	}
	*ret = d;
	*ret_n = n;
	return 0;
}

/* the media type part of a Content-Type, lower case, without parameters */
static int content_type_base(const char *ct, char **ret)
{
	size_t b, e;
	char *s;

	b = strspn(ct, " \t");
	e = b + strcspn(ct + b, ";");
	while (e > b && (ct[e - 1] == ' ' || ct[e - 1] == '\t'))
		e--;
	s = strndup(ct + b, e - b);
	if (!s)
		return -ENOMEM;
	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	*ret = s;
	return 0;
}

static bool is_schema1(const char *mt)
{
	return str_has_prefix(mt, "application/vnd.docker.distribution.manifest.v1");
}

static bool has_key(struct json_object *o, const char *k)
{
	return json_object_object_get_ex(o, k, NULL);
}

static int sha256_digest_string(const void *data, size_t len, char ret[static DIGEST_SHA256_SIZE])
{
	uint8_t md[ALGA_SHA256_SIZE];
	int r;

	r = alga_crypto_sha256(data, len, md);
	if (r < 0)
		return r;
	memcpy(ret, DIGEST_SHA256_PREFIX, 7);
	alga_hex_encode(md, sizeof(md), ret + 7);
	return 0;
}

int alga_oci_manifest_parse(const char *buf, size_t len, const char *content_type,
			    struct alga_oci_manifest **ret, char **reterr_detail)
{
	_cleanup_(alga_oci_manifest_freep) struct alga_oci_manifest *m = NULL;
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	_cleanup_free_ char *ct = NULL, *mt_field = NULL;
	struct json_object *config = NULL, *arr = NULL;
	struct alga_json_limits l = ALGA_JSON_LIMITS_DEFAULT;
	char digest[DIGEST_SHA256_SIZE];
	const char *mt;
	int64_t version = 0;
	int r;

	if (len > ALGA_OCI_MANIFEST_MAX) {
		alga_set_detail(0, reterr_detail, "manifest of %zu bytes, at most %u allowed", len,
		       ALGA_OCI_MANIFEST_MAX);
		return -E2BIG;
	}
	l.size_max = ALGA_OCI_MANIFEST_MAX;
	l.depth_max = ALGA_OCI_MANIFEST_DEPTH_MAX;

	r = alga_json_parse(buf, len, &l, &o, reterr_detail);
	if (r < 0)
		return r;
	if (!json_object_is_type(o, json_type_object)) {
		alga_set_detail(0, reterr_detail, "manifest is not a JSON object");
		return -EBADMSG;
	}

	if (content_type) {
		r = content_type_base(content_type, &ct);
		if (r < 0)
			return r;
		if (isempty(ct)) {
			free(ct);
			ct = NULL;
		}
	}
	r = get_media_type(o, "mediaType", "mediaType", ALGA_JSON_OPTIONAL, &mt_field,
			   reterr_detail);
	if (r < 0)
		return r;

	/* schema 1 has schemaVersion 1 and fsLayers; say so rather than "bad version" */
	if ((mt_field && is_schema1(mt_field)) || (ct && is_schema1(ct)) || has_key(o, "fsLayers") ||
	    has_key(o, "signatures")) {
		alga_set_detail(0, reterr_detail, "Docker schema 1 manifests are refused");
		return -EMEDIUMTYPE;
	}
	r = alga_json_get_int64(o, "schemaVersion", ALGA_JSON_REQUIRED, INT64_MIN, INT64_MAX,
				&version, NULL);
	if (r < 0 || version != 2) {
		alga_set_detail(0, reterr_detail, "schemaVersion: required, must be 2");
		return -EBADMSG;
	}

	if (mt_field && ct && strcasecmp(mt_field, ct) != 0) {
		alga_set_detail(0, reterr_detail, "mediaType '%.80s' differs from Content-Type '%.80s'", mt_field,
		       ct);
		return -EMEDIUMTYPE;
	}
	mt = mt_field ?: ct;
	if (!mt) {
		alga_set_detail(0, reterr_detail, "mediaType: neither the field nor a Content-Type names it");
		return -EMEDIUMTYPE;
	}

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;

	if (streq(mt, ALGA_OCI_MT_IMAGE_INDEX) || streq(mt, ALGA_OCI_MT_DOCKER_LIST))
		m->kind = ALGA_OCI_MANIFEST_INDEX;
	else if (streq(mt, ALGA_OCI_MT_IMAGE_MANIFEST) || streq(mt, ALGA_OCI_MT_DOCKER_MANIFEST))
		m->kind = ALGA_OCI_MANIFEST_IMAGE;
	else {
		alga_set_detail(0, reterr_detail,
		       "mediaType: '%.80s' is not an OCI or Docker v2 manifest or index type", mt);
		return -EMEDIUMTYPE;
	}
	r = dup_string(mt, &m->media_type);
	if (r < 0)
		return r;

	/* CVE-2021-41190: a document must not read as both an index and a manifest */
	if (m->kind == ALGA_OCI_MANIFEST_INDEX) {
		if (has_key(o, "config") || has_key(o, "layers")) {
			alga_set_detail(0, reterr_detail, "index with config or layers is ambiguous");
			return -EBADMSG;
		}
		r = alga_json_get_array(o, "manifests", ALGA_JSON_REQUIRED, &arr, NULL);
		if (r < 0) {
			alga_set_detail(0, reterr_detail, "manifests: required, an array of descriptors");
			return -EBADMSG;
		}
		r = parse_descriptor_array(arr, "manifests", ALGA_OCI_INDEX_ENTRIES_MAX, true,
					   &m->manifests, &m->n_manifests, reterr_detail);
		if (r < 0)
			return r;
	} else {
		if (has_key(o, "manifests")) {
			alga_set_detail(0, reterr_detail, "manifest with manifests is ambiguous");
			return -EBADMSG;
		}
		r = alga_json_get_object(o, "config", ALGA_JSON_REQUIRED, &config, NULL);
		if (r < 0) {
			alga_set_detail(0, reterr_detail, "config: required, a descriptor object");
			return -EBADMSG;
		}
		r = parse_descriptor(config, "config", false, &m->config, reterr_detail);
		if (r < 0)
			return r;
		r = alga_json_get_array(o, "layers", ALGA_JSON_REQUIRED, &arr, NULL);
		if (r < 0) {
			alga_set_detail(0, reterr_detail, "layers: required, an array of descriptors");
			return -EBADMSG;
		}
		r = parse_descriptor_array(arr, "layers", ALGA_OCI_LAYERS_MAX, false, &m->layers,
					   &m->n_layers, reterr_detail);
		if (r < 0)
			return r;
	}
	r = get_media_type(o, "artifactType", "artifactType", ALGA_JSON_OPTIONAL, &m->artifact_type,
			   reterr_detail);
	if (r < 0)
		return r;

	r = sha256_digest_string(buf, len, digest);
	if (r < 0)
		return r;
	r = dup_string(digest, &m->digest);
	if (r < 0)
		return r;
	m->data = malloc(len + 1);
	if (!m->data)
		return -ENOMEM;
	memcpy(m->data, buf, len);
	m->data[len] = 0;
	m->size = len;

	*ret = TAKE_PTR(m);
	return 0;
}

/* ---- what an artifact must be ------------------------------------------------------- */

static const char *const release_config_types[] = {
	ALGA_OCI_MT_RELEASE_CONFIG, ALGA_OCI_MT_IMAGE_CONFIG, ALGA_OCI_MT_UNKNOWN_CONFIG,
	ALGA_OCI_MT_JSON,           NULL,
};
static const char *const release_layer_types[] = { ALGA_OCI_MT_EMPTY, NULL };
static const struct alga_oci_want want_release = {
	.artifact_type = ALGA_OCI_MT_RELEASE_ARTIFACT,
	.config_types = release_config_types,
	.layer_types = release_layer_types,
	.layers_min = 0,
	.layers_max = 1,
};

static const char *const bundle_config_types[] = { ALGA_OCI_MT_FLUX_CONFIG, NULL };
static const char *const bundle_layer_types[] = { ALGA_OCI_MT_FLUX_CONTENT, NULL };
static const struct alga_oci_want want_bundle = {
	.artifact_type = NULL,
	.config_types = bundle_config_types,
	.layer_types = bundle_layer_types,
	.layers_min = 1,
	.layers_max = 1,
};

const struct alga_oci_want *alga_oci_want_release(void)
{
	return &want_release;
}

const struct alga_oci_want *alga_oci_want_bundle(void)
{
	return &want_bundle;
}

static bool strv_contains(const char *const *l, const char *s)
{
	for (; l && *l; l++)
		if (streq(*l, s))
			return true;
	return false;
}

int alga_oci_manifest_check(const struct alga_oci_manifest *m, const struct alga_oci_want *want,
			    char **reterr_detail)
{
	if (m->kind != ALGA_OCI_MANIFEST_IMAGE || !streq(m->media_type, ALGA_OCI_MT_IMAGE_MANIFEST)) {
		alga_set_detail(0, reterr_detail, "mediaType: '%.80s', expected %s", m->media_type,
		       ALGA_OCI_MT_IMAGE_MANIFEST);
		return -EMEDIUMTYPE;
	}
	if (m->artifact_type && (!want->artifact_type || !streq(m->artifact_type, want->artifact_type))) {
		alga_set_detail(0, reterr_detail, "artifactType: '%.80s', expected %s", m->artifact_type,
		       strna(want->artifact_type));
		return -EMEDIUMTYPE;
	}
	if (!strv_contains(want->config_types, m->config.media_type)) {
		alga_set_detail(0, reterr_detail, "config.mediaType: '%.80s' not allowed", m->config.media_type);
		return -EMEDIUMTYPE;
	}
	if (m->n_layers < want->layers_min || m->n_layers > want->layers_max) {
		alga_set_detail(0, reterr_detail, "layers: %zu entries, expected %zu to %zu", m->n_layers,
		       want->layers_min, want->layers_max);
		return -EMEDIUMTYPE;
	}
	for (size_t i = 0; i < m->n_layers; i++)
		if (!strv_contains(want->layer_types, m->layers[i].media_type)) {
			alga_set_detail(0, reterr_detail, "layers[%zu].mediaType: '%.80s' not allowed", i,
			       m->layers[i].media_type);
			return -EMEDIUMTYPE;
		}
	return 0;
}

/* ---- client ------------------------------------------------------------------------- */

struct token {
	char *registry;
	char *scope;
	char *value; /* "Bearer <token>", wiped on free */
	uint64_t expires_usec;
};

struct alga_oci_client {
	struct alga_http *http;
	bool insecure;
	unsigned retry_delay_ms;
	struct token tokens[ALGA_OCI_TOKENS_MAX];
	struct alga_oci_stats stats;
};

static uint64_t now_usec(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / NSEC_PER_USEC;
}

static void token_done(struct token *t)
{
	free(t->registry);
	free(t->scope);
	if (t->value) {
		OPENSSL_cleanse(t->value, strlen(t->value));
		free(t->value);
	}
	*t = (struct token){};
}

struct alga_oci_client *alga_oci_client_free(struct alga_oci_client *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < ALGA_OCI_TOKENS_MAX; i++)
		token_done(&c->tokens[i]);
	alga_http_free(c->http);
	free(c);
	return NULL;
}

int alga_oci_client_new(const struct alga_oci_options *o, struct alga_oci_client **ret)
{
	_cleanup_(alga_oci_client_freep) struct alga_oci_client *c = NULL;
	static const struct alga_oci_options defaults = {};
	struct alga_http_options ho;
	int r;

	if (!o)
		o = &defaults;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->insecure = o->insecure;
	c->retry_delay_ms = o->retry_delay_ms ?: ALGA_OCI_RETRY_DELAY_MS;

	ho = (struct alga_http_options){
		.ca_file = o->ca_file,
		.ca_path = o->ca_path,
		.allow_http = o->insecure,
		.connect_timeout_sec = o->connect_timeout_sec,
		.timeout_sec = o->timeout_sec,
		.low_speed_time_sec = o->low_speed_time_sec,
		.user_agent = o->user_agent,
		.resolve = o->resolve,
		.resolve_userdata = o->resolve_userdata,
	};
	r = alga_http_new(&ho, &c->http);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(c);
	return 0;
}

void alga_oci_client_get_stats(const struct alga_oci_client *c, struct alga_oci_stats *ret)
{
	*ret = c->stats;
}

static const char *token_lookup(struct alga_oci_client *c, const char *registry,
				const char *scope)
{
	uint64_t now = now_usec();

	for (size_t i = 0; i < ALGA_OCI_TOKENS_MAX; i++) {
		struct token *t = &c->tokens[i];

		if (!t->value || !streq(t->registry, registry) || !streq(t->scope, scope))
			continue;
		if (t->expires_usec <= now) {
			token_done(t);
			return NULL;
		}
		return t->value;
	}
	return NULL;
}

/* takes token (wiped on every path) */
static int token_store(struct alga_oci_client *c, const char *registry, const char *scope,
		       char *token, unsigned expires_sec)
{
	_cleanup_erase_free_ char *tok = token, *value = NULL;
	struct token *slot = &c->tokens[0];

	for (size_t i = 0; i < ALGA_OCI_TOKENS_MAX; i++) {
		struct token *t = &c->tokens[i];

		if (!t->value || (streq(t->registry, registry) && streq(t->scope, scope))) {
			slot = t;
			break;
		}
		if (t->expires_usec < slot->expires_usec)
			slot = t;
	}
	token_done(slot);

	if (asprintf(&value, "Bearer %s", tok) < 0) {
		value = NULL;
		return -ENOMEM;
	}
	slot->registry = strdup(registry);
	slot->scope = strdup(scope);
	if (!slot->registry || !slot->scope) {
		token_done(slot);
		return -ENOMEM;
	}
	slot->value = TAKE_PTR(value);
	slot->expires_usec = now_usec() + (uint64_t)expires_sec * USEC_PER_SEC;
	return 0;
}

/* reads errors[0].code and .message of a registry error body into e */
static void registry_error_code(const struct alga_http_response *resp, char **ret_code,
				char **ret_message)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	struct alga_json_limits l = ALGA_JSON_LIMITS_DEFAULT;
	struct json_object *errors = NULL, *first;
	const char *code = NULL, *message = NULL;

	*ret_code = *ret_message = NULL;
	if (!resp->body || resp->body_size == 0)
		return;
	l.size_max = ALGA_OCI_ERROR_BODY_MAX;
	l.depth_max = 16;
	if (alga_json_parse(resp->body, resp->body_size, &l, &o, NULL) < 0)
		return;
	if (!json_object_is_type(o, json_type_object) ||
	    alga_json_get_array(o, "errors", ALGA_JSON_OPTIONAL, &errors, NULL) <= 0 ||
	    json_object_array_length(errors) == 0)
		return;
	first = json_object_array_get_idx(errors, 0);
	if (!json_object_is_type(first, json_type_object))
		return;
	if (alga_json_get_string(first, "code", ALGA_JSON_OPTIONAL, &code, NULL) > 0 &&
	    alga_oci_tag_is_valid(code))
		*ret_code = strdup(code);
	if (alga_json_get_string(first, "message", ALGA_JSON_OPTIONAL, &message, NULL) > 0)
		*ret_message = strndup(message, 200);
}

static bool errno_is_retryable(int r)
{
	/* connect failures and connect timeouts; a stalled transfer (-ETIME) is not retried */
	return r == -ECONNREFUSED || r == -ETIMEDOUT || r == -EHOSTUNREACH;
}

static bool status_is_retryable(long s)
{
	return s == 429 || s == 502 || s == 503 || s == 504;
}

static void retry_sleep(struct alga_oci_client *c, unsigned attempt,
			const struct alga_http_response *resp)
{
	uint64_t ms = (uint64_t)c->retry_delay_ms * (attempt == 0 ? 1 : 3);
	const char *ra = resp ? alga_http_response_get_header(resp, "Retry-After") : NULL;
	struct timespec ts;

	if (ra && ra[0] && strspn(ra, "0123456789") == strlen(ra) && strlen(ra) <= 6) {
		unsigned long sec = strtoul(ra, NULL, 10);

		ms = (uint64_t)MIN(sec, (unsigned long)ALGA_OCI_RETRY_AFTER_MAX_SEC) * 1000u;
	}
	c->stats.retries++;
	ts = (struct timespec){ .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* runs the bearer flow of §4.3 step 2 on a 401 answer */
static int bearer_flow(struct alga_oci_client *c, const struct alga_http_response *resp,
		       const char *registry, const char *scope, struct alga_error *reterr)
{
	_cleanup_(alga_oci_auth_challenges_freep) struct alga_oci_auth_challenges *ch = NULL;
	_cleanup_(alga_http_response_freep) struct alga_http_response *tresp = NULL;
	_cleanup_free_ char *header = NULL, *url = NULL, *d = NULL;
	const struct alga_oci_auth_challenge *bearer;
	struct alga_http_request req;
	char *token = NULL;
	unsigned expires = 0;
	int r;

	r = alga_http_response_join_header(resp, "WWW-Authenticate", &header);
	if (r < 0 && r != -E2BIG)
		return r;
	if (r <= 0)
		return alga_error_set(reterr, -EACCES, ALGA_ERROR_AUTH, resp->status, resp->url,
				      "WWW-Authenticate", "Registry answered 401 without a usable challenge");

	r = alga_oci_auth_parse(header, strlen(header), &ch, &d);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return alga_error_set(reterr, -EACCES, ALGA_ERROR_AUTH, resp->status, resp->url,
				      "WWW-Authenticate", "Bad authentication challenge: %s", strna(d));

	bearer = alga_oci_auth_find(ch, "bearer");
	if (!bearer) {
		if (alga_oci_auth_find(ch, "basic"))
			return alga_error_set(reterr, -EACCES, ALGA_ERROR_AUTH, resp->status,
					      resp->url, "WWW-Authenticate",
					      "Registry requires credentials (Basic authentication)");
		return alga_error_set(reterr, -EACCES, ALGA_ERROR_AUTH, resp->status, resp->url,
				      "WWW-Authenticate", "Registry asks for authentication scheme '%.40s'",
				      ch->items[0].scheme);
	}

	r = alga_oci_auth_token_url(bearer, scope, c->insecure, &url, &d);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return alga_error_set(reterr, r == -EPERM ? -EPERM : -EACCES, ALGA_ERROR_AUTH,
				      resp->status, resp->url, "WWW-Authenticate", "%s%s",
				      r == -EPERM ? "Bearer realm must be https: " : "Bad Bearer challenge: ",
				      strna(d));

	req = (struct alga_http_request){
		.url = url,
		.body_max = ALGA_OCI_AUTH_TOKEN_RESPONSE_MAX,
	};
	c->stats.token_gets++;
	r = alga_http_get(c->http, &req, &tresp, reterr);
	if (r == -E2BIG)
		return alga_error_set(reterr, -EACCES, ALGA_ERROR_AUTH, 0, url, NULL,
				      "Token response larger than %u bytes",
				      ALGA_OCI_AUTH_TOKEN_RESPONSE_MAX);
	if (r == -EPERM || r == -EPROTONOSUPPORT) {
		if (reterr)
			reterr->class = ALGA_ERROR_AUTH;
		return r;
	}
	if (r < 0)
		return r;
	if (tresp->status != 200)
		return alga_error_set(reterr, -EACCES, ALGA_ERROR_AUTH, tresp->status, url, NULL,
				      "Token service answered HTTP %ld", tresp->status);

	r = alga_oci_auth_parse_token(tresp->body, tresp->body_size, &token, &expires, &d);
	if (tresp->body)
		OPENSSL_cleanse(tresp->body, tresp->body_size);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return alga_error_set(reterr, -EACCES, ALGA_ERROR_AUTH, tresp->status, url, NULL,
				      "Bad token response: %s", strna(d));

	log_debug("Got a bearer token for '%s' (Bearer <redacted>, %u s)", scope, expires);
	return token_store(c, registry, scope, token, expires);
}

/* what a request fetches, for counters and messages */
enum fetch_kind {
	FETCH_MANIFEST,
	FETCH_BLOB,
};

/* a streaming sink that survives retries: restarts the hash and tells the caller */
struct blob_sink {
	struct alga_sha256 *hash;
	alga_http_sink_fn user;
	void *user_data;
	char *buf;     /* buffer mode */
	size_t size;
	size_t alloc;
	bool started;
};

static int blob_sink_cb(const void *data, size_t len, void *userdata)
{
	struct blob_sink *s = userdata;
	int r;

	s->started = true;
	r = alga_sha256_update(s->hash, data, len);
	if (r < 0)
		return r;
	if (s->user)
		return s->user(data, len, s->user_data);

	if (s->size + len + 1 > s->alloc) {
		size_t want = MAX(MAX(s->alloc * 2, s->size + len + 1), (size_t)4096);
		char *b = realloc(s->buf, want);

		if (!b)
			return -ENOMEM;
		s->buf = b;
		s->alloc = want;
	}
	memcpy(s->buf + s->size, data, len);
	s->size += len;
	s->buf[s->size] = 0;
	return 0;
}

static int blob_sink_restart(struct blob_sink *s)
{
	int r;

	s->hash = alga_sha256_free(s->hash);
	r = alga_sha256_new(&s->hash);
	if (r < 0)
		return r;
	s->size = 0;
	if (s->started && s->user) {
		r = s->user(NULL, 0, s->user_data);
		if (r < 0)
			return r;
	}
	s->started = false;
	return 0;
}

static int registry_get(struct alga_oci_client *c, const struct alga_oci_ref *ref,
			enum fetch_kind kind, const char *what, size_t body_max,
			struct blob_sink *sink, struct alga_http_response **ret,
			struct alga_error *reterr)
{
	_cleanup_free_ char *url = NULL, *scope = NULL;
	const char *scheme = c->insecure ? "http" : "https";
	const char *headers[] = { "Accept: " ALGA_OCI_MANIFEST_ACCEPT, NULL };
	bool auth_tried = false;
	unsigned attempt = 0;
	int r;

	if (asprintf(&url, "%s://%s/v2/%s/%s/%s", scheme, ref->registry, ref->repository,
		     kind == FETCH_MANIFEST ? "manifests" : "blobs", what) < 0 ||
	    asprintf(&scope, "repository:%s:pull", ref->repository) < 0)
		return -ENOMEM;

	for (;;) {
		_cleanup_(alga_http_response_freep) struct alga_http_response *resp = NULL;
		_cleanup_free_ char *code = NULL, *message = NULL;
		struct alga_http_request req = {
			.url = url,
			.headers = kind == FETCH_MANIFEST ? headers : NULL,
			.authorization = token_lookup(c, ref->registry, scope),
			.body_max = body_max,
			.sink = sink ? blob_sink_cb : NULL,
			.sink_userdata = sink,
		};

		if (sink) {
			r = blob_sink_restart(sink);
			if (r < 0)
				return r;
		}
		if (kind == FETCH_MANIFEST)
			c->stats.manifest_gets++;
		else
			c->stats.blob_gets++;

		r = alga_http_get(c->http, &req, &resp, reterr);
		if (r < 0) {
			if (errno_is_retryable(r) && attempt < ALGA_OCI_RETRIES) {
				retry_sleep(c, attempt++, NULL);
				continue;
			}
			return r;
		}

		if (resp->status >= 200 && resp->status < 300) {
			*ret = TAKE_PTR(resp);
			return 0;
		}

		if (resp->status == 401) {
			if (auth_tried)
				return alga_error_set(reterr, -EACCES, ALGA_ERROR_AUTH, 401, url, NULL,
						      "Registry refused the bearer token");
			auth_tried = true;
			r = bearer_flow(c, resp, ref->registry, scope, reterr);
			if (r < 0)
				return r;
			continue;
		}

		if (status_is_retryable(resp->status) && attempt < ALGA_OCI_RETRIES) {
			retry_sleep(c, attempt++, resp);
			continue;
		}

		registry_error_code(resp, &code, &message);
		r = alga_http_status_to_errno(resp->status);
		r = alga_error_set(reterr, r,
				   resp->status == 404   ? ALGA_ERROR_NOT_FOUND
				   : resp->status == 403 ? ALGA_ERROR_AUTH
							 : ALGA_ERROR_NETWORK,
				   resp->status, url, NULL, "%s/%s:%s: HTTP %ld%s%s%s%s", ref->registry,
				   ref->repository, what, resp->status, code ? " " : "", strempty(code),
				   message ? ": " : "", strempty(message));
		if (reterr && code)
			reterr->code = TAKE_PTR(code);
		return r;
	}
}

static int fetch_manifest_by(struct alga_oci_client *c, const struct alga_oci_ref *ref,
			     const char *what, const char *expect_digest,
			     struct alga_oci_manifest **ret, struct alga_error *reterr)
{
	_cleanup_(alga_http_response_freep) struct alga_http_response *resp = NULL;
	_cleanup_free_ char *d = NULL;
	char digest[DIGEST_SHA256_SIZE];
	const char *header;
	int r;

	if (expect_digest && !str_has_prefix(expect_digest, DIGEST_SHA256_PREFIX))
		return alga_error_set(reterr, -EMEDIUMTYPE, ALGA_ERROR_ARTIFACT, 0, NULL, "digest",
				      "Only sha256 digests can be verified, not '%.80s'", expect_digest);

	r = registry_get(c, ref, FETCH_MANIFEST, what, ALGA_OCI_MANIFEST_MAX, NULL, &resp, reterr);
	if (r == -E2BIG && reterr)
		(void)alga_error_set(reterr, r, ALGA_ERROR_INTEGRITY, reterr->http_status, reterr->url,
				     NULL, "Manifest larger than %u bytes", ALGA_OCI_MANIFEST_MAX);
	if (r < 0)
		return r;

	r = sha256_digest_string(resp->body ?: "", resp->body_size, digest);
	if (r < 0)
		return r;
	if (expect_digest && !streq(expect_digest, digest))
		return alga_error_set(reterr, -EILSEQ, ALGA_ERROR_INTEGRITY, resp->status, resp->url,
				      NULL, "Manifest digest mismatch: expected %s, got %s",
				      expect_digest, digest);
	header = alga_http_response_get_header(resp, "Docker-Content-Digest");
	if (header && str_has_prefix(header, DIGEST_SHA256_PREFIX) && !streq(header, digest))
		return alga_error_set(reterr, -EILSEQ, ALGA_ERROR_INTEGRITY, resp->status, resp->url,
				      "Docker-Content-Digest",
				      "Manifest digest mismatch: expected %.80s, got %s", header, digest);

	r = alga_oci_manifest_parse(resp->body ?: "", resp->body_size,
				    alga_http_response_get_header(resp, "Content-Type"), ret, &d);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return alga_error_set(reterr, r, ALGA_ERROR_ARTIFACT, resp->status, resp->url, NULL,
				      "Bad manifest %s: %s", digest, strna(d));
	return 0;
}

int alga_oci_fetch_manifest(struct alga_oci_client *c, const struct alga_oci_ref *ref,
			    struct alga_oci_manifest **ret, struct alga_error *reterr)
{
	if (!c || !ref || !ret || (!ref->tag && !ref->digest))
		return alga_error_set(reterr, -EINVAL, ALGA_ERROR_USAGE, 0, NULL, NULL,
				      "Reference without tag or digest");
	return fetch_manifest_by(c, ref, ref->digest ?: ref->tag, ref->digest, ret, reterr);
}

static int fetch_blob(struct alga_oci_client *c, const struct alga_oci_ref *ref,
		      const struct alga_oci_descriptor *d, size_t cap, struct blob_sink *sink,
		      struct alga_error *reterr)
{
	_cleanup_(alga_http_response_freep) struct alga_http_response *resp = NULL;
	uint8_t md[ALGA_SHA256_SIZE];
	char got[DIGEST_SHA256_SIZE];
	int r;

	if (!c || !ref || !d || !d->digest)
		return -EINVAL;
	if (!str_has_prefix(d->digest, DIGEST_SHA256_PREFIX) || !alga_oci_digest_is_valid(d->digest))
		return alga_error_set(reterr, -EMEDIUMTYPE, ALGA_ERROR_ARTIFACT, 0, NULL, "digest",
				      "Only sha256 digests can be verified, not '%.80s'", d->digest);
	cap = MIN(cap, (size_t)ALGA_HTTP_BODY_MAX);
	if (d->size < 0 || (uint64_t)d->size > cap)
		return alga_error_set(reterr, -E2BIG, ALGA_ERROR_INTEGRITY, 0, NULL, "size",
				      "Blob %s of %" PRId64 " bytes is larger than %zu bytes", d->digest,
				      d->size, cap);

	/* abort past the descriptor's size; a 0-byte blob still gets a 1-byte cap */
	r = registry_get(c, ref, FETCH_BLOB, d->digest, (size_t)d->size ?: 1, sink, &resp, reterr);
	if (r == -E2BIG && reterr)
		(void)alga_error_set(reterr, r, ALGA_ERROR_INTEGRITY, reterr->http_status, reterr->url,
				     NULL, "Blob %s is larger than its descriptor (%" PRId64 " bytes)",
				     d->digest, d->size);
	if (r < 0)
		return r;

	if (resp->content_length >= 0 && resp->content_length != d->size)
		return alga_error_set(reterr, -EILSEQ, ALGA_ERROR_INTEGRITY, resp->status, resp->url,
				      "Content-Length",
				      "Blob %s: digest mismatch: wrong Content-Length %" PRId64
				      ", descriptor says %" PRId64,
				      d->digest, resp->content_length, d->size);
	if (resp->body_size != (size_t)d->size)
		return alga_error_set(reterr, -EILSEQ, ALGA_ERROR_INTEGRITY, resp->status, resp->url,
				      "size",
				      "Blob %s: digest mismatch: got %zu bytes, descriptor says %" PRId64,
				      d->digest, resp->body_size, d->size);

	r = alga_sha256_final(sink->hash, md);
	if (r < 0)
		return r;
	memcpy(got, DIGEST_SHA256_PREFIX, 7);
	alga_hex_encode(md, sizeof(md), got + 7);
	if (!streq(got, d->digest))
		return alga_error_set(reterr, -EILSEQ, ALGA_ERROR_INTEGRITY, resp->status, resp->url,
				      "digest", "digest mismatch: expected %s, got %s", d->digest, got);
	return 0;
}

int alga_oci_fetch_blob(struct alga_oci_client *c, const struct alga_oci_ref *ref,
			const struct alga_oci_descriptor *d, size_t cap, char **ret_data,
			size_t *ret_size, struct alga_error *reterr)
{
	struct blob_sink s = {};
	int r;

	r = fetch_blob(c, ref, d, cap, &s, reterr);
	s.hash = alga_sha256_free(s.hash);
	if (r < 0) {
		free(s.buf);
		return r;
	}
	if (!s.buf) {
		s.buf = strdup("");
		if (!s.buf)
			return -ENOMEM;
	}
	*ret_data = s.buf;
	if (ret_size)
		*ret_size = s.size;
	return 0;
}

int alga_oci_fetch_blob_stream(struct alga_oci_client *c, const struct alga_oci_ref *ref,
			       const struct alga_oci_descriptor *d, size_t cap,
			       alga_http_sink_fn sink, void *userdata, struct alga_error *reterr)
{
	struct blob_sink s = { .user = sink, .user_data = userdata };
	int r;

	if (!sink)
		return -EINVAL;
	r = fetch_blob(c, ref, d, cap, &s, reterr);
	s.hash = alga_sha256_free(s.hash);
	return r;
}

struct alga_oci_artifact *alga_oci_artifact_free(struct alga_oci_artifact *a)
{
	if (!a)
		return NULL;
	alga_oci_manifest_free(a->manifest);
	free(a->index_digest);
	free(a);
	return NULL;
}

static bool error_is_artifact(const struct alga_error *e, int r)
{
	return r == -EBADMSG || r == -EMEDIUMTYPE || (e && e->class == ALGA_ERROR_ARTIFACT);
}

static int select_from_index(struct alga_oci_client *c, const struct alga_oci_ref *ref,
			     const struct alga_oci_manifest *index, const struct alga_oci_want *want,
			     struct alga_oci_manifest **ret, struct alga_error *reterr)
{
	_cleanup_(alga_oci_manifest_freep) struct alga_oci_manifest *chosen = NULL;
	const struct alga_oci_descriptor *cand[ALGA_OCI_INDEX_ENTRIES_MAX];
	size_t n = 0, passed = 0;
	int r;

	/* entries carrying the canonical artifactType, else every entry */
	for (size_t i = 0; want->artifact_type && i < index->n_manifests; i++)
		if (index->manifests[i].artifact_type &&
		    streq(index->manifests[i].artifact_type, want->artifact_type))
			cand[n++] = &index->manifests[i];
	if (n == 0)
		for (size_t i = 0; i < index->n_manifests; i++)
			cand[n++] = &index->manifests[i];

	if (n > ALGA_OCI_INDEX_CANDIDATES_MAX)
		return alga_error_set(reterr, -E2BIG, ALGA_ERROR_ARTIFACT, 0, NULL, "manifests",
				      "Index %s has %zu candidate manifests, at most %u allowed",
				      index->digest, n, ALGA_OCI_INDEX_CANDIDATES_MAX);

	for (size_t i = 0; i < n; i++) {
		_cleanup_(alga_oci_manifest_freep) struct alga_oci_manifest *m = NULL;
		struct alga_error e = {};

		r = fetch_manifest_by(c, ref, cand[i]->digest, cand[i]->digest, &m, &e);
		if (r < 0) {
			if (r == -ENOMEM || !error_is_artifact(&e, r)) {
				if (reterr) {
					alga_error_clear(reterr);
					*reterr = e;
				} else
					alga_error_clear(&e);
				return r;
			}
			alga_error_clear(&e);
			continue;
		}
		if ((int64_t)m->size != cand[i]->size)
			return alga_error_set(reterr, -EILSEQ, ALGA_ERROR_INTEGRITY, 0, NULL, "size",
					      "Manifest %s: %zu bytes, index says %" PRId64, m->digest,
					      m->size, cand[i]->size);
		/* a child index never passes */
		if (m->kind != ALGA_OCI_MANIFEST_IMAGE || alga_oci_manifest_check(m, want, NULL) < 0)
			continue;
		passed++;
		if (!chosen)
			chosen = TAKE_PTR(m);
	}

	if (passed == 0)
		return alga_error_set(reterr, -EMEDIUMTYPE, ALGA_ERROR_ARTIFACT, 0, NULL, "manifests",
				      "Index %s holds no release artifact", index->digest);
	if (passed > 1)
		return alga_error_set(reterr, -ENOTUNIQ, ALGA_ERROR_ARTIFACT, 0, NULL, "manifests",
				      "Index %s is ambiguous: %zu manifests qualify", index->digest,
				      passed);
	*ret = TAKE_PTR(chosen);
	return 0;
}

int alga_oci_resolve_artifact(struct alga_oci_client *c, const struct alga_oci_ref *ref,
			      const struct alga_oci_want *want, struct alga_oci_artifact **ret,
			      struct alga_error *reterr)
{
	_cleanup_(alga_oci_artifact_freep) struct alga_oci_artifact *a = NULL;
	_cleanup_(alga_oci_manifest_freep) struct alga_oci_manifest *m = NULL;
	_cleanup_free_ char *d = NULL;
	int r;

	if (!want)
		return -EINVAL;
	r = alga_oci_fetch_manifest(c, ref, &m, reterr);
	if (r < 0)
		return r;

	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;

	if (m->kind == ALGA_OCI_MANIFEST_INDEX) {
		a->index_digest = strdup(m->digest);
		if (!a->index_digest)
			return -ENOMEM;
		r = select_from_index(c, ref, m, want, &a->manifest, reterr);
		if (r < 0)
			return r;
	} else {
		r = alga_oci_manifest_check(m, want, &d);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			return alga_error_set(reterr, r, ALGA_ERROR_ARTIFACT, 0, NULL, NULL,
					      "Manifest %s is not the artifact wanted: %s", m->digest,
					      strna(d));
		a->manifest = TAKE_PTR(m);
	}

	*ret = TAKE_PTR(a);
	return 0;
}
