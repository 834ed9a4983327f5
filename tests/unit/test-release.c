/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * release.md §4.1 rules R1-R16 as library tests: T15 (one failing document
 * per rule, exact field path and errno; x-note accepted), T16 (channel
 * compared with the tag only when resolved through a channel), T17
 * (minHostVersion naming both versions), T13 (truncated JSON, trailing
 * garbage), T09 (over 1 MiB), T07/T10/T14 (R16: digest, size, media types).
 * Each limit is tested at the limit and one past it.
 */
#include <glib.h>
#include <string.h>

#include <json-c/json.h>

#include "json.h"
#include "release.h"

#define PEM_KEY                                                                \
	"-----BEGIN PUBLIC KEY-----\n"                                          \
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEGhABlwPDBBvDQUEtt9OnnMI4sT0\n" \
	"lz7TjrEe40GdTSoGW+d45sMJduoFCAT8Ud6P3hsceRP1ZECdpUPEr3hhZg==\n"     \
	"-----END PUBLIC KEY-----\n"

#define DIGEST "sha256:7850e8cd86a158d163d21c7c4ee4b511185dc5050b460fe396ce841628b24e08"

static char *read_fixture(const char *name, size_t *ret_len)
{
	g_autofree char *path = g_test_build_filename(G_TEST_DIST, "fixtures", "release", name, NULL);
	g_autoptr(GError) error = NULL;
	char *text = NULL;
	gsize len;

	g_assert_true(g_file_get_contents(path, &text, &len, &error));
	*ret_len = len;
	return text;
}

static struct json_object *load_fixture(const char *name)
{
	g_autofree char *text = NULL;
	size_t len;
	struct json_object *o;

	text = read_fixture(name, &len);
	o = json_tokener_parse(text);
	g_assert_nonnull(o);
	return o;
}

/*
 * Sets the '/'-separated path (keys may hold dots) in o to the JSON text
 * value, or removes it when value is NULL. Parents are created.
 */
static void set_path(struct json_object *o, const char *path, struct json_object *value,
		     bool null_value)
{
	g_auto(GStrv) parts = g_strsplit(path, "/", -1);
	guint n = g_strv_length(parts);

	for (guint i = 0; i + 1 < n; i++) {
		struct json_object *next;

		if (!json_object_object_get_ex(o, parts[i], &next) ||
		    !json_object_is_type(next, json_type_object)) {
			next = json_object_new_object();
			json_object_object_add(o, parts[i], next);
		}
		o = next;
	}
	if (value || null_value)
		json_object_object_add(o, parts[n - 1], value);
	else
		json_object_object_del(o, parts[n - 1]);
}

/* one mutation of stable.json and what parsing it must give */
struct release_case {
	const char *name;
	const char *path;  /* '/'-separated; NULL: the document itself */
	const char *json;  /* the new value as JSON; NULL deletes */
	/* or a string of rep times c between prefix and suffix */
	const char *prefix;
	char c;
	size_t rep;
	const char *suffix;
	const char *channel; /* resolved through this channel (R4) */
	int err;
	const char *detail; /* substring the detail must hold */
};

static const struct release_case cases[] = {
	/* baseline */
	{ "good", NULL, NULL, .err = 0 },
	{ "x-note", "x-note", "{\"a\":[1,2]}", .err = 0 },

	/* R1: object, UTF-8, control bytes (size and depth have their own tests) */
	{ "r1-control-escaped", "version", "\"1.0\\u0001\"", .err = -EBADMSG, .detail = "'version' (R1)" },
	{ "r1-control-in-key", "x-a\x07", "1", .err = -EBADMSG, .detail = "control character" },
	{ "r1-control-in-values-ok", "profileValues/pgbouncer.single-node.yaml",
	  "\"namespace:\\tmsp\\n\"", .err = 0 },
	{ "r1-nul-in-values", "profileValues/pgbouncer.single-node.yaml", "\"a: b\\u0000\"",
	  .err = -EBADMSG, .detail = "profileValues.pgbouncer.single-node.yaml" },

	/* R2 */
	{ "r2-absent", "schema", NULL, .err = -EBADMSG, .detail = "'schema'" },
	{ "r2-other", "schema", "\"alga.appliance.release/v2\"", .err = -EBADMSG,
	  .detail = "'schema' (R2)" },

	/* R3 */
	{ "r3-space", "version", "\"1.0 beta\"", .err = -EBADMSG, .detail = "'version' (R3)" },
	{ "r3-leading-dot", "version", "\".1\"", .err = -EBADMSG, .detail = "'version' (R3)" },
	{ "r3-at-limit", "version", .prefix = "v", .c = '1', .rep = 63, .err = 0 },
	{ "r3-over-limit", "version", .prefix = "v", .c = '1', .rep = 64, .err = -E2BIG,
	  .detail = "'version' (R3)" },
	{ "r3-absent", "version", NULL, .err = -EBADMSG, .detail = "'version'" },

	/* R4 */
	{ "r4-beta", "channel", "\"beta\"", .err = -EBADMSG, .detail = "'channel' (R4)" },
	{ "r4-matches", NULL, NULL, .channel = "stable", .err = 0 },
	{ "r4-mismatch", "channel", "\"nightly\"", .channel = "stable", .err = -EBADMSG,
	  .detail = "'channel' (R4) is 'nightly'" },
	{ "r4-pinned", "channel", "\"nightly\"", .err = 0 },
	{ "r4-absent", "channel", NULL, .channel = "nightly", .err = 0 },

	/* R5 */
	{ "r5-other", "valuesProfile", "\"talos-single-node\"", .err = -EBADMSG,
	  .detail = "'valuesProfile' (R5)" },
	{ "r5-absent", "valuesProfile", NULL, .err = 0 },

	/* R6 */
	{ "r6-core-absent", "images/algaCore", NULL, .err = -EBADMSG, .detail = "'images.algaCore'" },
	{ "r6-core-full-ref", "images/algaCore",
	  "\"ghcr.io/nine-minds/alga-psa-ee@" DIGEST "\"", .err = -EBADMSG,
	  .detail = "'images.algaCore' (R6)" },
	{ "r6-unknown", "images/controlPlane", "\"abc\"", .err = -EBADMSG,
	  .detail = "'images.controlPlane'" },
	{ "r6-at-limit", "images/emailService", .c = 'a', .rep = 128, .err = 0 },
	{ "r6-over-limit", "images/emailService", .c = 'a', .rep = 129, .err = -E2BIG,
	  .detail = "'images.emailService' (R6)" },
	{ "r6-not-object", "images", "[\"a\"]", .err = -EBADMSG, .detail = "'images'" },

	/* R7 */
	{ "r7-full-ref", "controlPlane", "\"ghcr.io/nine-minds/alga-psa-ee:1.0@" DIGEST "\"", .err = 0 },
	{ "r7-digest-ref", "controlPlane", "\"127.0.0.1:5000/alga/cp@" DIGEST "\"", .err = 0 },
	{ "r7-no-host", "controlPlane", "\"nine-minds/cp:1.0\"", .err = -EBADMSG,
	  .detail = "'controlPlane' (R7)" },
	{ "r7-upper", "controlPlane", "\"ghcr.io/Nine/cp:1\"", .err = -EBADMSG,
	  .detail = "'controlPlane' (R7)" },
	{ "r7-over-limit", "controlPlane", .prefix = "ghcr.io/", .c = 'a', .rep = 513 - 8 - 2,
	  .suffix = ":1", .err = -E2BIG, .detail = "'controlPlane' (R7)" },

	/* R8 */
	{ "r8-oci-scheme", "config/repository", "\"oci://ghcr.io/nine-minds/alga-appliance-config\"",
	  .err = -EBADMSG, .detail = "'config.repository' (R8)" },
	{ "r8-tag-in-repo", "config/repository", "\"ghcr.io/nine-minds/cfg:1.0\"", .err = -EBADMSG,
	  .detail = "'config.repository' (R8)" },
	{ "r8-no-host", "config/repository", "\"nine-minds/cfg\"", .err = -EBADMSG,
	  .detail = "'config.repository' (R8)" },
	{ "r8-at-limit", "config/repository", .prefix = "ghcr.io/", .c = 'a', .rep = 247, .err = 0 },
	{ "r8-over-limit", "config/repository", .prefix = "ghcr.io/", .c = 'a', .rep = 248,
	  .err = -E2BIG, .detail = "'config.repository' (R8)" },
	{ "r8-unknown", "config/mediaType", "\"x\"", .err = -EBADMSG, .detail = "'config.mediaType'" },
	{ "r8-digest-upper", "config/digest",
	  "\"sha256:7850E8CD86a158d163d21c7c4ee4b511185dc5050b460fe396ce841628b24e08\"",
	  .err = -EBADMSG, .detail = "'config.digest' (R8)" },
	{ "r8-digest-absent", "config/digest", NULL, .err = -EBADMSG, .detail = "'config.digest'" },
	{ "r8-tag-bad", "config/tag", "\"-1\"", .err = -EBADMSG, .detail = "'config.tag' (R8)" },
	{ "r8-tag-over-limit", "config/tag", .c = 't', .rep = 129, .err = -E2BIG,
	  .detail = "'config.tag' (R8)" },
	{ "r8-tag-absent", "config/tag", NULL, .err = 0 },
	{ "r8-absent", "config", NULL, .err = -EBADMSG, .detail = "'config'" },

	/* R9 */
	{ "r9-latest", "charts/temporal", "\"latest\"", .err = -EBADMSG,
	  .detail = "'charts.temporal' (R9)" },
	{ "r9-prerelease", "charts/temporal", "\"0.2.0-rc.1\"", .err = 0 },
	{ "r9-unknown", "charts/redis", "\"1.0.0\"", .err = -EBADMSG, .detail = "'charts.redis'" },
	{ "r9-at-limit", "charts/temporal", .prefix = "1.0.0-", .c = 'a', .rep = 58, .err = 0 },
	{ "r9-over-limit", "charts/temporal", .prefix = "1.0.0-", .c = 'a', .rep = 59,
	  .err = -E2BIG, .detail = "'charts.temporal' (R9)" },
	{ "r9-absent", "charts", NULL, .err = 0 },

	/* R10 */
	{ "r10-missing", "profileValues/temporal.single-node.yaml", NULL, .err = -EBADMSG,
	  .detail = "'profileValues.temporal.single-node.yaml' (R10)" },
	{ "r10-extra", "profileValues/redis.single-node.yaml", "\"a: 1\\n\"", .err = -EBADMSG,
	  .detail = "'profileValues.redis.single-node.yaml'" },
	{ "r10-sequence", "profileValues/temporal.single-node.yaml", "\"- a\\n- b\\n\"",
	  .err = -EBADMSG, .detail = "'profileValues.temporal.single-node.yaml' (R10)" },
	{ "r10-scalar", "profileValues/temporal.single-node.yaml", "\"just text\"",
	  .err = -EBADMSG, .detail = "(R10)" },
	{ "r10-two-docs", "profileValues/temporal.single-node.yaml", "\"a: 1\\n---\\nb: 2\\n\"",
	  .err = -EBADMSG, .detail = "more than one" },
	{ "r10-bad-yaml", "profileValues/temporal.single-node.yaml", "\"a: [1\\n\"",
	  .err = -EBADMSG, .detail = "not valid YAML" },
	{ "r10-empty", "profileValues/temporal.single-node.yaml", "\"\"", .err = -EBADMSG,
	  .detail = "no YAML document" },
	{ "r10-at-limit", "profileValues/temporal.single-node.yaml", .prefix = "a: ", .c = 'x',
	  .rep = 256 * 1024 - 3, .err = 0 },
	{ "r10-over-limit", "profileValues/temporal.single-node.yaml", .prefix = "a: ", .c = 'x',
	  .rep = 256 * 1024 - 2, .err = -E2BIG, .detail = "(R10)" },
	{ "r10-not-string", "profileValues/temporal.single-node.yaml", "{\"a\":1}",
	  .err = -EBADMSG, .detail = "must be a string" },

	/* R11 (T17) */
	{ "r11-too-new", "minHostVersion", "\"99.0.0\"", .err = -EBADMSG,
	  .detail = "release 1.0.3 needs host suite >= 99.0.0, this host runs 0.1.0" },
	{ "r11-equal", "minHostVersion", "\"0.1.0\"", .err = 0 },
	{ "r11-leading-zero", "minHostVersion", "\"0.01.0\"", .err = 0 },
	{ "r11-huge-part", "minHostVersion", "\"0.1.99999999999999999999999\"", .err = -EBADMSG,
	  .detail = "needs host suite" },
	{ "r11-shape", "minHostVersion", "\"0.1\"", .err = -EBADMSG, .detail = "'minHostVersion' (R11)" },
	{ "r11-pre", "minHostVersion", "\"0.1.0-rc1\"", .err = -EBADMSG, .detail = "(R11)" },

	/* R12 */
	{ "r12-good", "supportAgent", "\"ghcr.io/nine-minds/alga-appliance-support-agent@" DIGEST "\"",
	  .err = 0 },
	{ "r12-tag", "supportAgent", "\"ghcr.io/nine-minds/alga-appliance-support-agent:1.0\"",
	  .err = -EBADMSG, .detail = "'supportAgent' (R12)" },
	{ "r12-other-repo", "supportAgent", "\"ghcr.io/evil/alga-appliance-support-agent@" DIGEST "\"",
	  .err = -EBADMSG, .detail = "'supportAgent' (R12)" },

	/* R13 */
	{ "r13-one", "supportReceiptKeys", "{\"k1\":\"" PEM_KEY "\"}", .err = 0 },
	{ "r13-two", "supportReceiptKeys", "{\"k1\":\"" PEM_KEY "\",\"k2\":\"" PEM_KEY "\"}", .err = 0 },
	{ "r13-three", "supportReceiptKeys",
	  "{\"k1\":\"" PEM_KEY "\",\"k2\":\"" PEM_KEY "\",\"k3\":\"" PEM_KEY "\"}", .err = -E2BIG,
	  .detail = "'supportReceiptKeys' (R13)" },
	{ "r13-empty", "supportReceiptKeys", "{}", .err = -EBADMSG, .detail = "'supportReceiptKeys' (R13)" },
	{ "r13-bad-name", "supportReceiptKeys", "{\"k 1\":\"" PEM_KEY "\"}", .err = -EBADMSG,
	  .detail = "(R13)" },
	{ "r13-not-pem", "supportReceiptKeys", "{\"k1\":\"hello\"}", .err = -EBADMSG,
	  .detail = "'supportReceiptKeys.k1' (R13)" },
	{ "r13-number", "supportReceiptKeys", "{\"k1\":1}", .err = -EBADMSG, .detail = "(R15)" },
	{ "r13-name-over-limit", "supportReceiptKeys/", .c = 'n', .rep = 65, .err = -E2BIG,
	  .detail = "(R13)" },
	{ "r13-key-over-limit", "supportReceiptKeys/k1", .c = 'A', .rep = 8193, .err = -E2BIG,
	  .detail = "'supportReceiptKeys.k1' (R13)" },

	/* R14 */
	{ "r14-unknown-top", "mirror", "\"x\"", .err = -EBADMSG, .detail = "'mirror' (R14)" },
	{ "r14-unknown-nested", "images/x-extra", "\"a\"", .err = -EBADMSG,
	  .detail = "'images.x-extra'" },

	/* R15 */
	{ "r15-version-number", "version", "103", .err = -EBADMSG, .detail = "'version' (R15)" },
	{ "r15-required-null", "version", "null", .err = -EBADMSG, .detail = "'version' (R15)" },
	{ "r15-optional-null", "channel", "null", .err = 0 },
	{ "r15-channel-bool", "channel", "true", .err = -EBADMSG, .detail = "'channel' (R15)" },
	{ "r15-chart-number", "charts/temporal", "1", .err = -EBADMSG, .detail = "'charts.temporal' (R15)" },
	{ "r15-profile-null", "profileValues", "null", .err = -EBADMSG, .detail = "'profileValues'" },
};

static char *case_document(const struct release_case *c)
{
	_cleanup_(json_object_putp) struct json_object *o = load_fixture("stable.json");

	if (c->path) {
		struct json_object *v = NULL;
		g_autofree char *path = NULL;

		if (c->rep) {
			g_autofree char *fill = g_strnfill(c->rep, c->c);
			g_autofree char *s = g_strconcat(strempty(c->prefix), fill,
							  strempty(c->suffix), NULL);

			if (g_str_has_suffix(c->path, "/")) {
				/* the repeated string is a key under path */
				path = g_strconcat(c->path, s, NULL);
				v = json_object_new_string(PEM_KEY);
				json_object_object_del(o, "supportReceiptKeys");
			} else
				v = json_object_new_string(s);
		} else if (c->json) {
			v = json_tokener_parse(c->json);
			if (!v && !streq(c->json, "null"))
				g_error("case %s: bad JSON %s", c->name, c->json);
		}
		if (!path)
			path = g_strdup(c->path);
		set_path(o, path, v, c->json && streq(c->json, "null"));
	}
	return g_strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
}

static void test_parse_case(gconstpointer data)
{
	const struct release_case *c = data;
	_cleanup_(alga_release_freep) struct alga_release *rel = NULL;
	_cleanup_free_ char *detail = NULL;
	g_autofree char *doc = case_document(c);
	struct alga_release_check check = { .channel = c->channel, .host_version = "0.1.0" };
	int r;

	r = alga_release_parse(doc, strlen(doc), &check, &rel, &detail);
	if (g_test_verbose() || r != c->err)
		g_test_message("%s: r=%d detail=%s", c->name, r, strna(detail));
	g_assert_cmpint(r, ==, c->err);
	if (c->err == 0) {
		g_assert_nonnull(rel);
		g_assert_null(detail);
		return;
	}
	g_assert_null(rel);
	g_assert_nonnull(detail);
	if (c->detail && !strstr(detail, c->detail))
		g_error("%s: detail '%s' lacks '%s'", c->name, detail, c->detail);
	/* one sentence */
	g_assert_true(g_str_has_suffix(detail, "."));
	g_assert_null(strchr(detail, '\n'));
}

/* a profileValues key (with dots) set to null: json-c needs the leaf object */
static void test_parse_null_required_nested(void)
{
	_cleanup_(json_object_putp) struct json_object *o = load_fixture("stable.json");
	_cleanup_(alga_release_freep) struct alga_release *rel = NULL;
	_cleanup_free_ char *detail = NULL;
	struct json_object *pv;
	const char *doc;

	json_object_object_get_ex(o, "profileValues", &pv);
	json_object_object_add(pv, "temporal.single-node.yaml", NULL);
	json_object_object_get_ex(o, "images", &pv);
	json_object_object_add(pv, "algaCore", NULL);
	doc = json_object_to_json_string(o);
	g_assert_cmpint(alga_release_parse(doc, strlen(doc), NULL, &rel, &detail), ==, -EBADMSG);
	g_assert_nonnull(strstr(detail, "'images.algaCore' (R15)"));
}

static void test_parse_null_optional(void)
{
	_cleanup_(json_object_putp) struct json_object *o = load_fixture("stable.json");
	_cleanup_(alga_release_freep) struct alga_release *rel = NULL;
	struct json_object *images;
	const char *doc;

	json_object_object_add(o, "channel", NULL);
	json_object_object_add(o, "minHostVersion", NULL);
	json_object_object_get_ex(o, "images", &images);
	json_object_object_add(images, "emailService", NULL);
	doc = json_object_to_json_string(o);
	g_assert_cmpint(alga_release_parse(doc, strlen(doc), NULL, &rel, NULL), ==, 0);
	g_assert_null(rel->channel);
	g_assert_null(rel->min_host_version);
	g_assert_null(rel->images[ALGA_RELEASE_IMAGE_EMAIL_SERVICE]);
}

/* R15 for a required member set to null, at the top level */
static void test_parse_required_null(void)
{
	_cleanup_(json_object_putp) struct json_object *o = load_fixture("stable.json");
	_cleanup_(alga_release_freep) struct alga_release *rel = NULL;
	_cleanup_free_ char *detail = NULL;
	const char *doc;

	json_object_object_add(o, "version", NULL);
	doc = json_object_to_json_string(o);
	g_assert_cmpint(alga_release_parse(doc, strlen(doc), NULL, &rel, &detail), ==, -EBADMSG);
	g_assert_nonnull(strstr(detail, "'version' (R15)"));
}

/* R1: the document at 1 MiB and one byte past it (T09) */
static void test_parse_size(void)
{
	g_autofree char *text = NULL;
	size_t len;

	text = read_fixture("minimal.json", &len);
	for (int over = 0; over <= 1; over++) {
		_cleanup_(alga_release_freep) struct alga_release *rel = NULL;
		_cleanup_free_ char *detail = NULL;
		g_autoptr(GString) s = g_string_new(NULL);
		size_t fixed;

		/* {"x-pad":"<pad>",  + the fixture without its '{' */
		g_string_append(s, "{\"x-pad\":\"");
		fixed = s->len + 2 + (len - 1);
		for (size_t i = fixed; i < ALGA_RELEASE_SIZE_MAX + (size_t)over; i++)
			g_string_append_c(s, 'p');
		g_string_append(s, "\",");
		g_string_append_len(s, text + 1, (gssize)len - 1);
		g_assert_cmpuint(s->len, ==, ALGA_RELEASE_SIZE_MAX + (size_t)over);
		g_assert_cmpint(alga_release_parse(s->str, s->len, NULL, &rel, &detail), ==,
				over ? -E2BIG : 0);
		if (over)
			g_assert_nonnull(strstr(detail, "(R1)"));
	}
}

/* R1: depth 16 including the root, and 17 (T15 "depth 17") */
static void test_parse_depth(void)
{
	g_autofree char *text = NULL;
	size_t len;

	text = read_fixture("minimal.json", &len);
	for (unsigned depth = 16; depth <= 17; depth++) {
		_cleanup_(alga_release_freep) struct alga_release *rel = NULL;
		_cleanup_free_ char *detail = NULL;
		g_autoptr(GString) s = g_string_new("{\"x-deep\":");

		for (unsigned i = 1; i < depth; i++)
			g_string_append_c(s, '[');
		for (unsigned i = 1; i < depth; i++)
			g_string_append_c(s, ']');
		g_string_append_c(s, ',');
		g_string_append_len(s, text + 1, (gssize)len - 1);
		g_assert_cmpint(alga_release_parse(s->str, s->len, NULL, &rel, &detail), ==,
				depth > ALGA_RELEASE_DEPTH_MAX ? -E2BIG : 0);
		if (depth > ALGA_RELEASE_DEPTH_MAX)
			g_assert_nonnull(strstr(detail, "deeper than 16"));
	}
}

/* R1: text-level failures: invalid UTF-8, not an object, T13's two documents */
static void test_parse_text(void)
{
	g_autofree char *text = NULL, *truncated = NULL, *trailing = NULL, *utf8 = NULL;
	size_t len;
	const char *docs[6];

	text = read_fixture("minimal.json", &len);
	truncated = g_strndup(text, len / 2);
	trailing = g_strconcat(text, " x", NULL);
	utf8 = g_strdup(text);
	*strstr(utf8, "kept") = '\xff';
	docs[0] = truncated;
	docs[1] = trailing;
	docs[2] = utf8;
	docs[3] = "[]";
	docs[4] = "\"release\"";
	docs[5] = "";

	for (size_t i = 0; i < ELEMENTSOF(docs); i++) {
		_cleanup_(alga_release_freep) struct alga_release *rel = NULL;
		_cleanup_free_ char *detail = NULL;

		g_assert_cmpint(alga_release_parse(docs[i], strlen(docs[i]), NULL, &rel, &detail), ==,
				-EBADMSG);
		g_assert_nonnull(strstr(detail, "(R1)"));
	}
}

/* detail quotes are cut at 80 bytes and escaped */
static void test_parse_detail_quote(void)
{
	_cleanup_(json_object_putp) struct json_object *o = load_fixture("stable.json");
	_cleanup_(alga_release_freep) struct alga_release *rel = NULL;
	_cleanup_free_ char *detail = NULL;
	g_autofree char *value = g_strnfill(200, 'z');
	const char *doc, *q;

	value[0] = '\'';
	json_object_object_add(o, "schema", json_object_new_string(value));
	doc = json_object_to_json_string(o);
	g_assert_cmpint(alga_release_parse(doc, strlen(doc), NULL, &rel, &detail), ==, -EBADMSG);
	q = strstr(detail, "\\'zzz");
	g_assert_nonnull(q);
	g_assert_nonnull(strstr(detail, "zzz...'"));
	g_assert_cmpuint(strlen(detail), <, 200);
}

static void test_normalize(void)
{
	_cleanup_(alga_release_freep) struct alga_release *rel = NULL;
	_cleanup_(json_object_putp) struct json_object *n = NULL, *again_json = NULL;
	_cleanup_(alga_release_freep) struct alga_release *again = NULL;
	g_autofree char *text = NULL;
	const char *s, *out;
	size_t len;

	text = read_fixture("minimal.json", &len);
	g_assert_cmpint(alga_release_parse(text, len, NULL, &rel, NULL), ==, 0);
	g_assert_cmpint(alga_release_to_json(rel, &n), ==, 0);

	g_assert_cmpint(alga_json_get_string(n, "valuesProfile", ALGA_JSON_REQUIRED, &s, NULL), ==, 1);
	g_assert_cmpstr(s, ==, "single-node");
	g_assert_cmpint(alga_json_get_string(n, "config.tag", ALGA_JSON_REQUIRED, &s, NULL), ==, 1);
	g_assert_cmpstr(s, ==, "1.0.3");
	g_assert_cmpint(alga_json_get_string(n, "x-note", ALGA_JSON_REQUIRED, &s, NULL), ==, 1);
	g_assert_cmpstr(s, ==, "kept");
	g_assert_cmpint(alga_json_get_string(n, "channel", ALGA_JSON_OPTIONAL, &s, NULL), ==, 0);
	g_assert_false(json_object_object_get_ex(n, "charts", NULL));

	/* the normalized form is itself a valid release with the same normal form */
	out = json_object_to_json_string_ext(n, JSON_C_TO_STRING_PLAIN);
	g_assert_cmpint(alga_release_parse(out, strlen(out), NULL, &again, NULL), ==, 0);
	g_assert_cmpint(alga_release_to_json(again, &again_json), ==, 0);
	g_assert_cmpstr(out, ==, json_object_to_json_string_ext(again_json, JSON_C_TO_STRING_PLAIN));
}

static void test_normalize_order(void)
{
	_cleanup_(alga_release_freep) struct alga_release *rel = NULL;
	_cleanup_(json_object_putp) struct json_object *n = NULL;
	static const char *const order[] = { "schema", "version", "channel", "valuesProfile",
					     "minHostVersion", "images", "controlPlane",
					     "config", "charts", "profileValues" };
	g_autofree char *text = NULL;
	size_t len, i = 0;

	text = read_fixture("stable.json", &len);
	g_assert_cmpint(alga_release_parse(text, len, NULL, &rel, NULL), ==, 0);
	g_assert_cmpint(alga_release_to_json(rel, &n), ==, 0);
	json_object_object_foreach(n, key, val)
	{
		(void)val;
		g_assert_cmpuint(i, <, ELEMENTSOF(order));
		g_assert_cmpstr(key, ==, order[i++]);
	}
	g_assert_cmpuint(i, ==, ELEMENTSOF(order));
	g_assert_cmpstr(rel->images[ALGA_RELEASE_IMAGE_TEMPORAL_WORKER], ==, "a2cbb43");
	g_assert_cmpstr(rel->charts[ALGA_RELEASE_CHART_PGBOUNCER], ==, "0.1.0");
	g_assert_cmpstr(rel->config_digest, ==, DIGEST);
}

/* R16 media types (T14) */
static void test_check_artifact(void)
{
	static const struct {
		const char *config, *artifact;
		int err;
	} c[] = {
		{ ALGA_RELEASE_CONFIG_TYPE, ALGA_RELEASE_ARTIFACT_TYPE, 0 },
		{ ALGA_RELEASE_CONFIG_TYPE, NULL, 0 },
		{ "application/vnd.oci.image.config.v1+json", NULL, 0 },
		{ "application/vnd.unknown.config.v1+json", NULL, 0 },
		{ "application/json", NULL, 0 },
		{ "application/vnd.oci.empty.v1+json", NULL, -EBADMSG },
		{ "application/vnd.oci.image.config.v1+json", "application/vnd.example.other", -EBADMSG },
		{ NULL, NULL, -EBADMSG },
		{ "text/plain", ALGA_RELEASE_ARTIFACT_TYPE, -EBADMSG },
	};

	for (size_t i = 0; i < ELEMENTSOF(c); i++) {
		_cleanup_free_ char *detail = NULL;

		g_assert_cmpint(alga_release_check_artifact(c[i].config, c[i].artifact, &detail), ==,
				c[i].err);
		if (c[i].err)
			g_assert_nonnull(strstr(detail, "(R16)"));
	}
}

/* R16 digest and size (T07, T10) */
static void test_verify_blob(void)
{
	static const char blob[] = "{\"a\":1}";
	char digest[ALGA_RELEASE_DIGEST_SIZE];
	_cleanup_free_ char *d1 = NULL, *d2 = NULL, *d3 = NULL, *d4 = NULL;

	g_assert_cmpint(alga_release_digest(blob, strlen(blob), digest), ==, 0);
	g_assert_true(alga_release_digest_is_valid(digest));
	g_assert_cmpint(alga_release_verify_blob(blob, strlen(blob), digest, strlen(blob), NULL), ==, 0);
	g_assert_cmpint(alga_release_verify_blob(blob, strlen(blob), DIGEST, strlen(blob), &d1), ==,
			-EBADMSG);
	g_assert_nonnull(strstr(d1, "digest mismatch: expected " DIGEST ", got sha256:"));
	g_assert_cmpint(alga_release_verify_blob(blob, strlen(blob), digest, strlen(blob) - 1, &d2),
			==, -E2BIG);
	g_assert_nonnull(strstr(d2, "larger than its descriptor"));
	g_assert_cmpint(alga_release_verify_blob(blob, strlen(blob), digest, strlen(blob) + 1, &d3),
			==, -EBADMSG);
	g_assert_cmpint(alga_release_verify_blob(blob, strlen(blob), "sha256:abc", 7, &d4), ==,
			-EBADMSG);
}

static void test_enums(void)
{
	for (int i = 0; i < _ALGA_RELEASE_IMAGE_MAX; i++)
		g_assert_cmpint(alga_release_image_from_string(alga_release_image_to_string(i)), ==, i);
	for (int i = 0; i < _ALGA_RELEASE_CHART_MAX; i++)
		g_assert_cmpint(alga_release_chart_from_string(alga_release_chart_to_string(i)), ==, i);
	for (int i = 0; i < _ALGA_RELEASE_COMPONENT_MAX; i++)
		g_assert_cmpint(alga_release_component_from_string(alga_release_component_to_string(i)),
				==, i);
	for (int i = 0; i < _ALGA_RELEASE_CHANNEL_MAX; i++)
		g_assert_cmpint(alga_release_channel_from_string(alga_release_channel_to_string(i)), ==, i);
	g_assert_cmpint(alga_release_channel_from_string("beta"), ==, -EINVAL);
	g_assert_cmpint(alga_release_chart_from_string(NULL), ==, -EINVAL);
	g_assert_null(alga_release_image_to_string(_ALGA_RELEASE_IMAGE_MAX));
}

static void test_grammar(void)
{
	g_assert_true(alga_release_repository_is_valid("ghcr.io/nine-minds/alga-appliance-config"));
	g_assert_true(alga_release_repository_is_valid("127.0.0.1:5000/a/b__c"));
	g_assert_true(alga_release_repository_is_valid("[::1]:5000/a"));
	g_assert_true(alga_release_repository_is_valid("localhost/a"));
	g_assert_false(alga_release_repository_is_valid("a/b"));
	g_assert_false(alga_release_repository_is_valid("ghcr.io/a//b"));
	g_assert_false(alga_release_repository_is_valid("ghcr.io/a_-b"));
	g_assert_false(alga_release_repository_is_valid("ghcr.io:99999/a"));
	g_assert_false(alga_release_repository_is_valid("ghcr.io/"));
	g_assert_false(alga_release_repository_is_valid(NULL));
	g_assert_true(alga_release_tag_is_valid("_a.b-c"));
	g_assert_false(alga_release_tag_is_valid("-a"));
	g_assert_false(alga_release_tag_is_valid(""));
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		g_autofree char *path = g_strdup_printf("/release/parse/%s", cases[i].name);

		g_test_add_data_func(path, &cases[i], test_parse_case);
	}
	g_test_add_func("/release/parse/r1-size", test_parse_size);
	g_test_add_func("/release/parse/r1-depth", test_parse_depth);
	g_test_add_func("/release/parse/r1-text", test_parse_text);
	g_test_add_func("/release/parse/r15-required-null-top", test_parse_required_null);
	g_test_add_func("/release/parse/r15-required-null-nested", test_parse_null_required_nested);
	g_test_add_func("/release/parse/r15-optional-null-all", test_parse_null_optional);
	g_test_add_func("/release/parse/detail-quote", test_parse_detail_quote);
	g_test_add_func("/release/to_json/defaults", test_normalize);
	g_test_add_func("/release/to_json/order", test_normalize_order);
	g_test_add_func("/release/check_artifact/r16", test_check_artifact);
	g_test_add_func("/release/verify_blob/r16", test_verify_blob);
	g_test_add_func("/release/enums/round-trip", test_enums);
	g_test_add_func("/release/grammar/predicates", test_grammar);

	return g_test_run();
}
