/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "alga-config.h"
#include "crypto.h"
#include "json.h"
#include "release-values.h"
#include "release.h"
#include "log.h"

static const char *const channel_table[_ALGA_RELEASE_CHANNEL_MAX] = {
	[ALGA_RELEASE_CHANNEL_STABLE] = "stable",
	[ALGA_RELEASE_CHANNEL_NIGHTLY] = "nightly",
};

static const char *const image_table[_ALGA_RELEASE_IMAGE_MAX] = {
	[ALGA_RELEASE_IMAGE_ALGA_CORE] = "algaCore",
	[ALGA_RELEASE_IMAGE_WORKFLOW_WORKER] = "workflowWorker",
	[ALGA_RELEASE_IMAGE_EMAIL_SERVICE] = "emailService",
	[ALGA_RELEASE_IMAGE_TEMPORAL_WORKER] = "temporalWorker",
};

static const char *const chart_table[_ALGA_RELEASE_CHART_MAX] = {
	[ALGA_RELEASE_CHART_SEBASTIAN] = "sebastian",
	[ALGA_RELEASE_CHART_PGBOUNCER] = "pgbouncer",
	[ALGA_RELEASE_CHART_TEMPORAL] = "temporal",
	[ALGA_RELEASE_CHART_TEMPORAL_WORKER] = "temporal-worker",
	[ALGA_RELEASE_CHART_WORKFLOW_WORKER] = "workflow-worker",
	[ALGA_RELEASE_CHART_EMAIL_SERVICE] = "email-service",
};

static const char *const component_table[_ALGA_RELEASE_COMPONENT_MAX] = {
	[ALGA_RELEASE_COMPONENT_ALGA_CORE] = "alga-core",
	[ALGA_RELEASE_COMPONENT_PGBOUNCER] = "pgbouncer",
	[ALGA_RELEASE_COMPONENT_TEMPORAL] = "temporal",
	[ALGA_RELEASE_COMPONENT_WORKFLOW_WORKER] = "workflow-worker",
	[ALGA_RELEASE_COMPONENT_EMAIL_SERVICE] = "email-service",
	[ALGA_RELEASE_COMPONENT_TEMPORAL_WORKER] = "temporal-worker",
};

DEFINE_STRING_TABLE_LOOKUP(alga_release_channel, enum alga_release_channel, channel_table)
DEFINE_STRING_TABLE_LOOKUP(alga_release_image, enum alga_release_image, image_table)
DEFINE_STRING_TABLE_LOOKUP(alga_release_chart, enum alga_release_chart, chart_table)
DEFINE_STRING_TABLE_LOOKUP(alga_release_component, enum alga_release_component, component_table)

/* the value as a detail may quote it: cut, with bytes outside ASCII escaped */
static void quote_value(const char *v, size_t len, char *out, size_t out_size)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 8 < out_size; i++) {
		unsigned char c = (unsigned char)v[i];

		if (i >= ALGA_RELEASE_DETAIL_VALUE_MAX) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c == '\\' || c == '\'') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(out + o, out_size - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

/* a failure that quotes the offending string value */
static int fail_value(int r, char **reterr_detail, const char *path, const char *rule,
		      const char *value, const char *allowed)
{
	char q[ALGA_RELEASE_DETAIL_VALUE_MAX * 4 + 8];

	quote_value(value, strlen(value), q, sizeof(q));
	return alga_set_detail(r, reterr_detail, "Field '%s' (%s) is '%s'; allowed: %s.", path, rule, q,
		    allowed);
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_lower_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f');
}

/* [A-Za-z0-9_][A-Za-z0-9_.-]* of any length */
static bool is_tag_shape(const char *s)
{
	if (!is_alnum(s[0]) && s[0] != '_')
		return false;
	for (const char *p = s + 1; *p; p++)
		if (!is_alnum(*p) && !strchr("_.-", *p))
			return false;
	return true;
}

bool alga_release_tag_is_valid(const char *s)
{
	return s && is_tag_shape(s) && strlen(s) <= ALGA_RELEASE_TAG_MAX;
}

static bool is_hex_digest(const char *s, const char *algo, size_t n)
{
	size_t l = strlen(algo);

	if (strncmp(s, algo, l) != 0 || s[l] != ':' || strlen(s + l + 1) != n)
		return false;
	for (const char *p = s + l + 1; *p; p++)
		if (!is_lower_hex(*p))
			return false;
	return true;
}

bool alga_release_digest_is_valid(const char *s)
{
	return s && is_hex_digest(s, "sha256", 64);
}

/* §4.4: sha256 or sha512 digests in references */
static bool is_reference_digest(const char *s)
{
	return is_hex_digest(s, "sha256", 64) || is_hex_digest(s, "sha512", 128);
}

/* one repository component, [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*, of n bytes */
static bool is_path_component(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0)
		return false;
	for (;;) {
		size_t start = i;

		while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || is_digit(s[i])))
			i++;
		if (i == start)
			return false;
		if (i == n)
			return true;
		if (s[i] == '.')
			i++;
		else if (s[i] == '_') {
			i++;
			if (i < n && s[i] == '_')
				i++;
		} else if (s[i] == '-')
			while (i < n && s[i] == '-')
				i++;
		else
			return false;
	}
}

/* components joined by '/' */
static bool is_repository_path(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || n > ALGA_RELEASE_REPOSITORY_MAX)
		return false;
	while (i <= n) {
		const char *slash = memchr(s + i, '/', n - i);
		size_t end = slash ? (size_t)(slash - s) : n;

		if (!is_path_component(s + i, end - i))
			return false;
		i = end + 1;
		if (!slash)
			break;
	}
	return true;
}

/* host[:port]: [A-Za-z0-9.-]+ or a bracketed IPv6 address, port 1-65535 */
static bool is_registry_host(const char *s, size_t n)
{
	size_t i = 0, start;

	if (n == 0)
		return false;
	if (s[0] == '[') {
		for (i = 1; i < n && s[i] != ']'; i++)
			if (!is_lower_hex(s[i]) && !(s[i] >= 'A' && s[i] <= 'F') && s[i] != ':' &&
			    s[i] != '.')
				return false;
		if (i >= n || i < 3)
			return false;
		i++;
	} else {
		while (i < n && (is_alnum(s[i]) || s[i] == '.' || s[i] == '-'))
			i++;
		if (i == 0 || s[0] == '.' || s[0] == '-')
			return false;
	}
	if (i == n)
		return true;
	if (s[i] != ':')
		return false;
	start = ++i;
	while (i < n && is_digit(s[i]))
		i++;
	if (i != n || i == start || i - start > 5)
		return false;
	return atoi(s + start) > 0 && atoi(s + start) <= 65535;
}

/* host[:port]/path: the registry part must look like a host (a dot, a port or localhost) */
static bool is_repository_with_host(const char *s, size_t n)
{
	const char *slash = memchr(s, '/', n);
	size_t h;

	if (!slash)
		return false;
	h = (size_t)(slash - s);
	if (!is_registry_host(s, h))
		return false;
	if (!memchr(s, '.', h) && !memchr(s, ':', h) && !(h == 9 && strneq(s, "localhost", 9)))
		return false;
	return is_repository_path(slash + 1, n - h - 1);
}

bool alga_release_repository_is_valid(const char *s)
{
	return s && strlen(s) <= ALGA_RELEASE_REPOSITORY_MAX && is_repository_with_host(s, strlen(s));
}

/* §4.4 full image reference: host[:port]/path[:tag][@digest], at least one of the two */
static bool is_image_reference(const char *s)
{
	const char *at = strchr(s, '@'), *name_end, *colon, *slash;
	size_t n;

	if (strlen(s) > ALGA_RELEASE_REFERENCE_MAX)
		return false;
	if (at && !is_reference_digest(at + 1))
		return false;
	name_end = at ? at : s + strlen(s);
	slash = memrchr(s, '/', (size_t)(name_end - s));
	if (!slash)
		return false;
	colon = memchr(slash, ':', (size_t)(name_end - slash));
	if (colon) {
		_cleanup_free_ char *tag = strndup(colon + 1, (size_t)(name_end - colon - 1));

		if (!tag || !alga_release_tag_is_valid(tag))
			return false;
		n = (size_t)(colon - s);
	} else {
		if (!at)
			return false;
		n = (size_t)(name_end - s);
	}
	return is_repository_with_host(s, n);
}

/*
 * R1: after JSON escapes are decoded, no control bytes (NUL, C0, DEL) in
 * keys or strings; multi-line members (values files, PEM keys) may hold
 * newlines and tabs.
 */
static bool has_control_bytes(const char *s, size_t len, bool multi_line)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (multi_line && (c == '\n' || c == '\t' || c == '\r'))
			continue;
		if (c < 0x20 || c == 0x7f)
			return true;
	}
	return false;
}

static int check_controls(struct json_object *o, char *path, size_t path_len, bool multi_line,
			  unsigned depth, char **reterr_detail)
{
	size_t n;

	switch (json_object_get_type(o)) {
	case json_type_string:
		if (has_control_bytes(json_object_get_string(o), (size_t)json_object_get_string_len(o),
				      multi_line))
			return alga_set_detail(-EBADMSG, reterr_detail,
				    "Field '%s' (R1) holds a control character; allowed: printable "
				    "text%s.",
				    path_len ? path : "(root)",
				    multi_line ? ", newlines and tabs" : "");
		return 0;
	case json_type_object: {
		json_object_object_foreach(o, key, val)
		{
			size_t kl = strlen(key);
			bool ml;
			int r;

			if (has_control_bytes(key, kl, false))
				return alga_set_detail(-EBADMSG, reterr_detail,
					    "A key under '%s' (R1) holds a control character; allowed: "
					    "printable text.",
					    path_len ? path : "(root)");
			if (!val)
				continue;
			if (path_len + 1 + kl >= ALGA_JSON_PATH_MAX) {
				r = check_controls(val, path, path_len, multi_line, depth + 1,
						   reterr_detail);
				if (r < 0)
					return r;
				continue;
			}
			if (path_len)
				path[path_len] = '.';
			memcpy(path + path_len + (path_len ? 1 : 0), key, kl + 1);
			ml = multi_line || (depth == 0 && (streq(key, "profileValues") ||
							   streq(key, "supportReceiptKeys")));
			r = check_controls(val, path, path_len + (path_len ? 1 : 0) + kl, ml,
					   depth + 1, reterr_detail);
			path[path_len] = '\0';
			if (r < 0)
				return r;
		}
		return 0;
	}
	case json_type_array:
		n = json_object_array_length(o);
		for (size_t i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(o, i);
			int r;

			if (!e)
				continue;
			r = check_controls(e, path, path_len, multi_line, depth + 1, reterr_detail);
			if (r < 0)
				return r;
		}
		return 0;
	case json_type_null:
	case json_type_boolean:
	case json_type_double:
	case json_type_int:
		return 0;
	}
	return 0;
}

/*
 * A string member: R15 (no coercion, null = absent) through the typed
 * getter, whose detail names the field.
 */
static int get_string(struct json_object *obj, const char *key, const char *path, bool required,
		      const char **ret, char **reterr_detail)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !v) {
		if (!required)
			return 0;
		return alga_set_detail(-EBADMSG, reterr_detail,
			    "Required field '%s' (R15) is missing or null; allowed: a string.", path);
	}
	if (!json_object_is_type(v, json_type_string))
		return alga_set_detail(-EBADMSG, reterr_detail,
			    "Field '%s' (R15) must be a string, not %s; no type coercion.", path,
			    json_type_to_name(json_object_get_type(v)));
	*ret = json_object_get_string(v);
	return 1;
}

static int get_object(struct json_object *obj, const char *key, bool required,
		      struct json_object **ret, char **reterr_detail)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !v) {
		if (!required)
			return 0;
		return alga_set_detail(-EBADMSG, reterr_detail,
			    "Required field '%s' (R15) is missing or null; allowed: an object.", key);
	}
	if (!json_object_is_type(v, json_type_object))
		return alga_set_detail(-EBADMSG, reterr_detail,
			    "Field '%s' (R15) must be an object, not %s %s.", key,
			    json_object_is_type(v, json_type_array) ? "an" : "a",
			    json_type_to_name(json_object_get_type(v)));
	*ret = v;
	return 1;
}

/* a tag-shaped string with its own length limit: shape -EBADMSG, length -E2BIG */
static int check_tag(const char *path, const char *rule, const char *v, size_t max,
		     char **reterr_detail)
{
	char allowed[96];

	snprintf(allowed, sizeof(allowed), "an OCI tag ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,%zu}$",
		 max - 1);
	if (!is_tag_shape(v))
		return fail_value(-EBADMSG, reterr_detail, path, rule, v, allowed);
	if (strlen(v) > max)
		return alga_set_detail(-E2BIG, reterr_detail,
			    "Field '%s' (%s) is %zu bytes long; allowed: at most %zu.", path, rule,
			    strlen(v), max);
	return 0;
}

/* keys of obj must come from names (NULL-padded table of n) */
static int check_keys(struct json_object *obj, const char *path, const char *rule,
		      const char *const *names, size_t n, const char *allowed,
		      char **reterr_detail)
{
	json_object_object_foreach(obj, key, val)
	{
		(void)val;
		if (string_table_lookup(names, n, key) < 0) {
			char q[ALGA_RELEASE_DETAIL_VALUE_MAX * 4 + 8];

			quote_value(key, strlen(key), q, sizeof(q));
			return alga_set_detail(-EBADMSG, reterr_detail,
				    "Unknown key '%s.%s' (%s, R14); allowed: %s.", path, q, rule,
				    allowed);
		}
	}
	return 0;
}

static int parse_images(struct alga_release *rel, char **reterr_detail)
{
	struct json_object *images;
	int r;

	r = get_object(rel->doc, "images", true, &images, reterr_detail);
	if (r < 0)
		return r;
	r = check_keys(images, "images", "R6", image_table, ELEMENTSOF(image_table),
		       "algaCore, workflowWorker, emailService, temporalWorker", reterr_detail);
	if (r < 0)
		return r;

	for (size_t i = 0; i < _ALGA_RELEASE_IMAGE_MAX; i++) {
		char path[64];

		snprintf(path, sizeof(path), "images.%s", image_table[i]);
		r = get_string(images, image_table[i], path, i == ALGA_RELEASE_IMAGE_ALGA_CORE,
			       &rel->images[i], reterr_detail);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		/* D8: a digest reference ends up in image.tag upstream; tags only */
		r = check_tag(path, "R6", rel->images[i], ALGA_RELEASE_TAG_MAX, reterr_detail);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_control_plane(struct alga_release *rel, char **reterr_detail)
{
	const char *v;
	int r;

	r = get_string(rel->doc, "controlPlane", "controlPlane", false, &rel->control_plane,
		       reterr_detail);
	if (r <= 0)
		return r;
	v = rel->control_plane;
	if (strlen(v) > ALGA_RELEASE_REFERENCE_MAX)
		return alga_set_detail(-E2BIG, reterr_detail,
			    "Field 'controlPlane' (R7) is %zu bytes long; allowed: at most %u.",
			    strlen(v), ALGA_RELEASE_REFERENCE_MAX);
	if (is_tag_shape(v) && strlen(v) <= ALGA_RELEASE_TAG_MAX)
		return 0;
	if (is_image_reference(v))
		return 0;
	return fail_value(-EBADMSG, reterr_detail, "controlPlane", "R7", v,
			  "an image tag or a full reference host[:port]/path[:tag][@digest]");
}

static int parse_config(struct alga_release *rel, char **reterr_detail)
{
	static const char *const keys[] = { "repository", "tag", "digest" };
	struct json_object *config;
	const char *repo;
	int r;

	r = get_object(rel->doc, "config", true, &config, reterr_detail);
	if (r < 0)
		return r;
	r = check_keys(config, "config", "R8", keys, ELEMENTSOF(keys), "repository, tag, digest",
		       reterr_detail);
	if (r < 0)
		return r;

	r = get_string(config, "repository", "config.repository", true, &rel->config_repository,
		       reterr_detail);
	if (r < 0)
		return r;
	repo = rel->config_repository;
	/* D7: upstream turned "oci://x" into "oci://oci://x" */
	if (strstr(repo, "://"))
		return fail_value(-EBADMSG, reterr_detail, "config.repository", "R8", repo,
				  "host[:port]/path without a scheme");
	if (strlen(repo) > ALGA_RELEASE_REPOSITORY_MAX)
		return alga_set_detail(-E2BIG, reterr_detail,
			    "Field 'config.repository' (R8) is %zu bytes long; allowed: at most %u.",
			    strlen(repo), ALGA_RELEASE_REPOSITORY_MAX);
	if (!is_repository_with_host(repo, strlen(repo)))
		return fail_value(-EBADMSG, reterr_detail, "config.repository", "R8", repo,
				  "host[:port]/path with lower-case path components, no tag or "
				  "digest");

	r = get_string(config, "tag", "config.tag", false, &rel->config_tag, reterr_detail);
	if (r < 0)
		return r;
	if (r == 0)
		rel->config_tag = rel->version;
	else {
		r = check_tag("config.tag", "R8", rel->config_tag, ALGA_RELEASE_TAG_MAX,
			      reterr_detail);
		if (r < 0)
			return r;
	}

	r = get_string(config, "digest", "config.digest", true, &rel->config_digest,
		       reterr_detail);
	if (r < 0)
		return r;
	if (!alga_release_digest_is_valid(rel->config_digest))
		return fail_value(-EBADMSG, reterr_detail, "config.digest", "R8", rel->config_digest,
				  "^sha256:[a-f0-9]{64}$");
	return 0;
}

/* ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ */
static bool is_chart_version(const char *s)
{
	const char *p = s;

	for (int part = 0; part < 3; part++) {
		const char *start = p;

		while (is_digit(*p))
			p++;
		if (p == start)
			return false;
		if (part < 2) {
			if (*p != '.')
				return false;
			p++;
		}
	}
	if (*p == '\0')
		return true;
	if (*p != '-' || p[1] == '\0')
		return false;
	for (p++; *p; p++)
		if (!is_alnum(*p) && *p != '.' && *p != '-')
			return false;
	return true;
}

static int parse_charts(struct alga_release *rel, char **reterr_detail)
{
	struct json_object *charts;
	int r;

	r = get_object(rel->doc, "charts", false, &charts, reterr_detail);
	if (r <= 0)
		return r;
	r = check_keys(charts, "charts", "R9", chart_table, ELEMENTSOF(chart_table),
		       "sebastian, pgbouncer, temporal, temporal-worker, workflow-worker, "
		       "email-service",
		       reterr_detail);
	if (r < 0)
		return r;

	for (size_t i = 0; i < _ALGA_RELEASE_CHART_MAX; i++) {
		char path[64];
		const char *v;

		snprintf(path, sizeof(path), "charts.%s", chart_table[i]);
		r = get_string(charts, chart_table[i], path, false, &rel->charts[i], reterr_detail);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		v = rel->charts[i];
		if (!is_chart_version(v))
			return fail_value(-EBADMSG, reterr_detail, path, "R9", v,
					  "a chart version X.Y.Z[-pre]");
		if (strlen(v) > ALGA_RELEASE_CHART_VERSION_MAX)
			return alga_set_detail(-E2BIG, reterr_detail,
				    "Field '%s' (R9) is %zu bytes long; allowed: at most %u.", path,
				    strlen(v), ALGA_RELEASE_CHART_VERSION_MAX);
	}
	return 0;
}

static int parse_profile_values(struct alga_release *rel, char **reterr_detail)
{
	struct json_object *pv;
	int r;

	r = get_object(rel->doc, "profileValues", true, &pv, reterr_detail);
	if (r < 0)
		return r;

	json_object_object_foreach(pv, key, val)
	{
		const char *dot = strchr(key, '.');
		_cleanup_free_ char *name = NULL;

		(void)val;
		if (dot && streq(dot, "." ALGA_RELEASE_VALUES_PROFILE ".yaml")) {
			name = strndup(key, (size_t)(dot - key));
			if (!name)
				return -ENOMEM;
		}
		if (!name || alga_release_component_from_string(name) < 0) {
			char q[ALGA_RELEASE_DETAIL_VALUE_MAX * 4 + 8];

			quote_value(key, strlen(key), q, sizeof(q));
			return alga_set_detail(-EBADMSG, reterr_detail,
				    "Unknown key 'profileValues.%s' (R10, R14); allowed: "
				    "<component>.single-node.yaml for alga-core, pgbouncer, temporal, "
				    "workflow-worker, email-service, temporal-worker.",
				    q);
		}
	}

	for (size_t i = 0; i < _ALGA_RELEASE_COMPONENT_MAX; i++) {
		_cleanup_free_ char *yaml_detail = NULL;
		char pv_key[64], path[96];
		struct json_object *v;
		size_t len;

		snprintf(pv_key, sizeof(pv_key), "%s." ALGA_RELEASE_VALUES_PROFILE ".yaml",
			 component_table[i]);
		snprintf(path, sizeof(path), "profileValues.%s", pv_key);
		r = get_string(pv, pv_key, path, false, &rel->profile_values[i], reterr_detail);
		if (r < 0)
			return r;
		if (r == 0)
			return alga_set_detail(-EBADMSG, reterr_detail,
				    "Required field '%s' (R10) is missing or null; allowed: the six "
				    "<component>.single-node.yaml values files.",
				    path);
		json_object_object_get_ex(pv, pv_key, &v);
		len = (size_t)json_object_get_string_len(v);
		rel->profile_values_len[i] = len;
		if (len > ALGA_RELEASE_VALUES_MAX)
			return alga_set_detail(-E2BIG, reterr_detail,
				    "Field '%s' (R10) is %zu bytes long; allowed: at most %u.", path, len,
				    ALGA_RELEASE_VALUES_MAX);
		r = alga_release_values_check(rel->profile_values[i], len, &yaml_detail);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			return alga_set_detail(r, reterr_detail, "Field '%s' (R10) is not a YAML mapping: %s",
				    path, strna(yaml_detail));
	}
	return 0;
}

/* ^[0-9]+\.[0-9]+\.[0-9]+$ */
static bool is_plain_version(const char *s)
{
	return is_chart_version(s) && !strchr(s, '-');
}

/* compares one dotted number part of a and b, any length, no overflow */
static int compare_part(const char **a, const char **b)
{
	const char *pa = *a, *pb = *b, *ea, *eb;
	size_t la, lb;
	int c;

	while (*pa == '0' && is_digit(pa[1]))
		pa++;
	while (*pb == '0' && is_digit(pb[1]))
		pb++;
	for (ea = pa; is_digit(*ea); ea++)
		;
	for (eb = pb; is_digit(*eb); eb++)
		;
	la = (size_t)(ea - pa);
	lb = (size_t)(eb - pb);
	c = la != lb ? (la < lb ? -1 : 1) : strncmp(pa, pb, la);
	*a = *ea == '.' ? ea + 1 : ea;
	*b = *eb == '.' ? eb + 1 : eb;
	return c;
}

static int compare_versions(const char *a, const char *b)
{
	for (int i = 0; i < 3; i++) {
		int c = compare_part(&a, &b);

		if (c != 0)
			return c;
	}
	return 0;
}

static int parse_min_host_version(struct alga_release *rel, const char *host,
				  char **reterr_detail)
{
	int r;

	r = get_string(rel->doc, "minHostVersion", "minHostVersion", false,
		       &rel->min_host_version, reterr_detail);
	if (r <= 0)
		return r;
	if (!is_plain_version(rel->min_host_version))
		return fail_value(-EBADMSG, reterr_detail, "minHostVersion", "R11",
				  rel->min_host_version, "^[0-9]+\\.[0-9]+\\.[0-9]+$");
	if (strlen(rel->min_host_version) > ALGA_RELEASE_VERSION_MAX)
		return alga_set_detail(-E2BIG, reterr_detail,
			    "Field 'minHostVersion' (R11) is %zu bytes long; allowed: at most %u.",
			    strlen(rel->min_host_version), ALGA_RELEASE_VERSION_MAX);
	if (!is_plain_version(host))
		return -EINVAL;
	if (compare_versions(rel->min_host_version, host) > 0)
		return alga_set_detail(-EBADMSG, reterr_detail,
			    "Field 'minHostVersion' (R11): release %s needs host suite >= %s, this "
			    "host runs %s.",
			    rel->version, rel->min_host_version, host);
	return 0;
}

static int parse_support_agent(struct alga_release *rel, char **reterr_detail)
{
	static const char prefix[] = "ghcr.io/nine-minds/alga-appliance-support-agent@";
	int r;

	r = get_string(rel->doc, "supportAgent", "supportAgent", false, &rel->support_agent,
		       reterr_detail);
	if (r <= 0)
		return r;
	if (!str_has_prefix(rel->support_agent, prefix) ||
	    !alga_release_digest_is_valid(rel->support_agent + strlen(prefix)))
		return fail_value(-EBADMSG, reterr_detail, "supportAgent", "R12",
				  rel->support_agent,
				  "ghcr.io/nine-minds/alga-appliance-support-agent@sha256:<64 hex>");
	return 0;
}

static bool is_receipt_key_name(const char *s)
{
	if (!*s)
		return false;
	for (const char *p = s; *p; p++)
		if (!is_alnum(*p) && !strchr("_.-", *p))
			return false;
	return true;
}

static bool is_public_key_pem(const char *pem, size_t len)
{
	BIO *bio;
	EVP_PKEY *key;

	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return false;
	key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!key)
		return false;
	EVP_PKEY_free(key);
	return true;
}

static int parse_receipt_keys(struct alga_release *rel, char **reterr_detail)
{
	struct json_object *keys;
	size_t n;
	int r;

	r = get_object(rel->doc, "supportReceiptKeys", false, &keys, reterr_detail);
	if (r <= 0)
		return r;
	n = (size_t)json_object_object_length(keys);
	if (n == 0)
		return alga_set_detail(-EBADMSG, reterr_detail,
			    "Field 'supportReceiptKeys' (R13) is empty; allowed: 1 to %u keys.",
			    ALGA_RELEASE_RECEIPT_KEYS_MAX);
	if (n > ALGA_RELEASE_RECEIPT_KEYS_MAX)
		return alga_set_detail(-E2BIG, reterr_detail,
			    "Field 'supportReceiptKeys' (R13) has %zu keys; allowed: 1 to %u.", n,
			    ALGA_RELEASE_RECEIPT_KEYS_MAX);

	json_object_object_foreach(keys, key, val)
	{
		char q[ALGA_RELEASE_DETAIL_VALUE_MAX * 4 + 8];
		char path[ALGA_RELEASE_DETAIL_VALUE_MAX * 4 + 32];
		size_t len;

		quote_value(key, strlen(key), q, sizeof(q));
		snprintf(path, sizeof(path), "supportReceiptKeys.%s", q);
		if (!is_receipt_key_name(key))
			return alga_set_detail(-EBADMSG, reterr_detail,
				    "Key '%s' (R13) is not a key name; allowed: "
				    "^[A-Za-z0-9_.-]{1,64}$.",
				    path);
		if (strlen(key) > ALGA_RELEASE_RECEIPT_KEY_NAME_MAX)
			return alga_set_detail(-E2BIG, reterr_detail,
				    "Key '%s' (R13) is %zu bytes long; allowed: at most %u.", path,
				    strlen(key), ALGA_RELEASE_RECEIPT_KEY_NAME_MAX);
		if (!val)
			return alga_set_detail(-EBADMSG, reterr_detail,
				    "Field '%s' (R13, R15) is null; allowed: a PEM public key.", path);
		if (!json_object_is_type(val, json_type_string))
			return alga_set_detail(-EBADMSG, reterr_detail,
				    "Field '%s' (R15) must be a string, not %s; no type coercion.",
				    path, json_type_to_name(json_object_get_type(val)));
		len = (size_t)json_object_get_string_len(val);
		if (len > ALGA_RELEASE_RECEIPT_KEY_MAX)
			return alga_set_detail(-E2BIG, reterr_detail,
				    "Field '%s' (R13) is %zu bytes long; allowed: at most %u.", path,
				    len, ALGA_RELEASE_RECEIPT_KEY_MAX);
		if (!is_public_key_pem(json_object_get_string(val), len))
			return alga_set_detail(-EBADMSG, reterr_detail,
				    "Field '%s' (R13) is not a PEM public key; allowed: a "
				    "SubjectPublicKeyInfo PEM block.",
				    path);
		rel->receipt_keys[rel->n_receipt_keys].name = key;
		rel->receipt_keys[rel->n_receipt_keys].pem = json_object_get_string(val);
		rel->n_receipt_keys++;
	}
	return 0;
}

static int parse_top(struct alga_release *rel, const struct alga_release_check *check,
		     char **reterr_detail)
{
	static const char *const known[] = {
		"schema",	 "version", "channel", "valuesProfile", "minHostVersion",
		"images",	 "controlPlane", "config", "charts", "profileValues",
		"supportAgent", "supportReceiptKeys",
	};
	const char *schema, *v;
	int r;

	/* R14: x-* members are kept raw, any other unknown key fails */
	json_object_object_foreach(rel->doc, key, val)
	{
		char q[ALGA_RELEASE_DETAIL_VALUE_MAX * 4 + 8];

		(void)val;
		if (string_table_lookup(known, ELEMENTSOF(known), key) >= 0 || str_has_prefix(key, "x-"))
			continue;
		quote_value(key, strlen(key), q, sizeof(q));
		return alga_set_detail(-EBADMSG, reterr_detail,
			    "Unknown top-level key '%s' (R14); allowed: the v1 fields and x-* "
			    "extensions.",
			    q);
	}

	r = get_string(rel->doc, "schema", "schema", true, &schema, reterr_detail);
	if (r < 0)
		return r;
	if (!streq(schema, ALGA_RELEASE_SCHEMA))
		return fail_value(-EBADMSG, reterr_detail, "schema", "R2", schema,
				  ALGA_RELEASE_SCHEMA);

	r = get_string(rel->doc, "version", "version", true, &rel->version, reterr_detail);
	if (r < 0)
		return r;
	r = check_tag("version", "R3", rel->version, ALGA_RELEASE_VERSION_MAX, reterr_detail);
	if (r < 0)
		return r;

	r = get_string(rel->doc, "channel", "channel", false, &rel->channel, reterr_detail);
	if (r < 0)
		return r;
	if (r > 0 && alga_release_channel_from_string(rel->channel) < 0)
		return fail_value(-EBADMSG, reterr_detail, "channel", "R4", rel->channel,
				  "stable, nightly");
	if (r > 0 && check && check->channel && !streq(rel->channel, check->channel))
		return alga_set_detail(-EBADMSG, reterr_detail,
			    "Field 'channel' (R4) is '%s' but the release was resolved through "
			    "channel '%s'; allowed: '%s' or no channel field.",
			    rel->channel, check->channel, check->channel);

	r = get_string(rel->doc, "valuesProfile", "valuesProfile", false, &v, reterr_detail);
	if (r < 0)
		return r;
	if (r > 0 && !streq(v, ALGA_RELEASE_VALUES_PROFILE))
		return fail_value(-EBADMSG, reterr_detail, "valuesProfile", "R5", v,
				  ALGA_RELEASE_VALUES_PROFILE);
	rel->values_profile = ALGA_RELEASE_VALUES_PROFILE;

	r = parse_min_host_version(rel, check && check->host_version ? check->host_version
								   : ALGA_VERSION,
				   reterr_detail);
	if (r < 0)
		return r;
	r = parse_images(rel, reterr_detail);
	if (r < 0)
		return r;
	r = parse_control_plane(rel, reterr_detail);
	if (r < 0)
		return r;
	r = parse_config(rel, reterr_detail);
	if (r < 0)
		return r;
	r = parse_charts(rel, reterr_detail);
	if (r < 0)
		return r;
	r = parse_profile_values(rel, reterr_detail);
	if (r < 0)
		return r;
	r = parse_support_agent(rel, reterr_detail);
	if (r < 0)
		return r;
	return parse_receipt_keys(rel, reterr_detail);
}

int alga_release_parse(const char *json, size_t len, const struct alga_release_check *check,
		       struct alga_release **ret, char **reterr_detail)
{
	_cleanup_(alga_release_freep) struct alga_release *rel = NULL;
	_cleanup_free_ char *jdetail = NULL;
	struct alga_json_limits limits = {
		.size_max = ALGA_RELEASE_SIZE_MAX,
		.depth_max = ALGA_RELEASE_DEPTH_MAX,
		/* per-field limits below name the field; this only bounds the parse */
		.string_max = ALGA_RELEASE_SIZE_MAX,
		.items_max = ALGA_JSON_ITEMS_MAX,
	};
	char path[ALGA_JSON_PATH_MAX] = "";
	int r;

	if (!json && len > 0)
		return -EINVAL;
	if (!ret)
		return -EINVAL;

	rel = calloc(1, sizeof(*rel));
	if (!rel)
		return -ENOMEM;

	r = alga_json_parse(json, len, &limits, &rel->doc, &jdetail);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return alga_set_detail(r, reterr_detail, "Release manifest (R1): %s", strna(jdetail));
	if (!rel->doc || !json_object_is_type(rel->doc, json_type_object))
		return alga_set_detail(-EBADMSG, reterr_detail,
			    "Release manifest (R1) must be one JSON object, not %s.",
			    json_type_to_name(json_object_get_type(rel->doc)));

	r = check_controls(rel->doc, path, 0, false, 0, reterr_detail);
	if (r < 0)
		return r;

	r = parse_top(rel, check, reterr_detail);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(rel);
	return 0;
}

struct alga_release *alga_release_free(struct alga_release *r)
{
	if (!r)
		return NULL;
	json_object_put(r->doc);
	free(r);
	return NULL;
}

static int add_string(struct json_object *o, const char *key, const char *v)
{
	struct json_object *s;

	if (!v)
		return 0;
	s = json_object_new_string(v);
	if (!s)
		return -ENOMEM;
	return alga_json_add(o, key, s);
}

static int add_table(struct json_object *o, const char *key, const char *const *names,
		     const char *const *values, size_t n, bool always)
{
	_cleanup_(json_object_putp) struct json_object *sub = NULL;
	bool any = false;
	int r;

	sub = json_object_new_object();
	if (!sub)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!values[i])
			continue;
		r = add_string(sub, names[i], values[i]);
		if (r < 0)
			return r;
		any = true;
	}
	if (!any && !always)
		return 0;
	return alga_json_add(o, key, TAKE_PTR(sub));
}

int alga_release_to_json(const struct alga_release *r, struct json_object **ret)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL, *config = NULL, *keys = NULL;
	const char *pv_names[_ALGA_RELEASE_COMPONENT_MAX];
	char pv_keys[_ALGA_RELEASE_COMPONENT_MAX][64];
	int k;

	o = json_object_new_object();
	if (!o)
		return -ENOMEM;

	if ((k = add_string(o, "schema", ALGA_RELEASE_SCHEMA)) < 0 ||
	    (k = add_string(o, "version", r->version)) < 0 ||
	    (k = add_string(o, "channel", r->channel)) < 0 ||
	    (k = add_string(o, "valuesProfile", r->values_profile)) < 0 ||
	    (k = add_string(o, "minHostVersion", r->min_host_version)) < 0 ||
	    (k = add_table(o, "images", image_table, r->images, _ALGA_RELEASE_IMAGE_MAX, true)) <
		    0 ||
	    (k = add_string(o, "controlPlane", r->control_plane)) < 0)
		return k;

	config = json_object_new_object();
	if (!config)
		return -ENOMEM;
	if ((k = add_string(config, "repository", r->config_repository)) < 0 ||
	    (k = add_string(config, "tag", r->config_tag)) < 0 ||
	    (k = add_string(config, "digest", r->config_digest)) < 0 ||
	    (k = alga_json_add(o, "config", TAKE_PTR(config))) < 0)
		return k;

	k = add_table(o, "charts", chart_table, r->charts, _ALGA_RELEASE_CHART_MAX, false);
	if (k < 0)
		return k;

	for (size_t i = 0; i < _ALGA_RELEASE_COMPONENT_MAX; i++) {
		snprintf(pv_keys[i], sizeof(pv_keys[i]), "%s." ALGA_RELEASE_VALUES_PROFILE ".yaml",
			 component_table[i]);
		pv_names[i] = pv_keys[i];
	}
	k = add_table(o, "profileValues", pv_names, r->profile_values, _ALGA_RELEASE_COMPONENT_MAX,
		      true);
	if (k < 0)
		return k;

	k = add_string(o, "supportAgent", r->support_agent);
	if (k < 0)
		return k;
	if (r->n_receipt_keys > 0) {
		keys = json_object_new_object();
		if (!keys)
			return -ENOMEM;
		for (size_t i = 0; i < r->n_receipt_keys; i++) {
			k = add_string(keys, r->receipt_keys[i].name, r->receipt_keys[i].pem);
			if (k < 0)
				return k;
		}
		k = alga_json_add(o, "supportReceiptKeys", TAKE_PTR(keys));
		if (k < 0)
			return k;
	}

	json_object_object_foreach(r->doc, key, val)
	{
		if (!str_has_prefix(key, "x-"))
			continue;
		k = alga_json_add(o, key, json_object_get(val));
		if (k < 0)
			return k;
	}

	*ret = TAKE_PTR(o);
	return 0;
}

int alga_release_check_artifact(const char *config_type, const char *artifact_type,
				char **reterr_detail)
{
	/* oras-published releases carry one of these and no artifactType (§4.2) */
	static const char *const compat[] = {
		"application/vnd.oci.image.config.v1+json",
		"application/vnd.unknown.config.v1+json",
		"application/json",
	};
	char q[ALGA_RELEASE_DETAIL_VALUE_MAX * 4 + 8];

	if (artifact_type && !streq(artifact_type, ALGA_RELEASE_ARTIFACT_TYPE)) {
		quote_value(artifact_type, strlen(artifact_type), q, sizeof(q));
		return alga_set_detail(-EBADMSG, reterr_detail,
			    "Manifest field 'artifactType' (R16) is '%s'; allowed: "
			    ALGA_RELEASE_ARTIFACT_TYPE " or absent.",
			    q);
	}
	if (!config_type)
		return alga_set_detail(-EBADMSG, reterr_detail,
			    "Manifest field 'config.mediaType' (R16) is missing; allowed: "
			    ALGA_RELEASE_CONFIG_TYPE ".");
	if (streq(config_type, ALGA_RELEASE_CONFIG_TYPE) ||
	    string_table_lookup(compat, ELEMENTSOF(compat), config_type) >= 0)
		return 0;
	quote_value(config_type, strlen(config_type), q, sizeof(q));
	return alga_set_detail(-EBADMSG, reterr_detail,
		    "Manifest field 'config.mediaType' (R16) is '%s'; allowed: "
		    ALGA_RELEASE_CONFIG_TYPE ", application/vnd.oci.image.config.v1+json, "
		    "application/vnd.unknown.config.v1+json, application/json.",
		    q);
}

int alga_release_digest(const void *data, size_t len, char ret[static ALGA_RELEASE_DIGEST_SIZE])
{
	uint8_t md[ALGA_SHA256_SIZE];
	int r;

	r = alga_crypto_sha256(data, len, md);
	if (r < 0)
		return r;
	memcpy(ret, "sha256:", 7);
	alga_hex_encode(md, sizeof(md), ret + 7);
	return 0;
}

int alga_release_verify_blob(const void *data, size_t len, const char *digest, uint64_t size,
			     char **reterr_detail)
{
	char got[ALGA_RELEASE_DIGEST_SIZE];
	int r;

	if (!digest || !alga_release_digest_is_valid(digest))
		return alga_set_detail(-EBADMSG, reterr_detail,
			    "Descriptor field 'digest' (R16) is not sha256:<64 hex>.");
	if ((uint64_t)len > size)
		return alga_set_detail(-E2BIG, reterr_detail,
			    "Blob %s (R16) is larger than its descriptor: %zu bytes, declared %" PRIu64
			    ".",
			    digest, len, size);
	if ((uint64_t)len < size)
		return alga_set_detail(-EBADMSG, reterr_detail,
			    "Blob %s (R16) is shorter than its descriptor: %zu bytes, declared %" PRIu64
			    ".",
			    digest, len, size);
	r = alga_release_digest(data, len, got);
	if (r < 0)
		return r;
	if (!streq(got, digest))
		return alga_set_detail(-EBADMSG, reterr_detail, "Blob (R16) digest mismatch: expected %s, got %s.",
			    digest, got);
	return 0;
}
