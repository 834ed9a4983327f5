/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Values rendering, release.md §4.6 with resolutions.md C6: T34 (the real
 * flux/profiles/single-node values: overrides at their paths, every other
 * node equal, compared through libyaml) and T35 (a block scalar holding
 * "tag: evil" untouched; a missing setup.image.tag created; `image` a
 * scalar refused naming image.tag), plus the patcher's shapes and limits.
 */
#include <glib.h>
#include <string.h>

#include <json-c/json.h>
#include <yaml.h>

#include "json.h"
#include "release-values.h"
#include "release.h"

#define DIGEST "sha256:7850e8cd86a158d163d21c7c4ee4b511185dc5050b460fe396ce841628b24e08"

/* "path=value" for every scalar of the document, paths dotted, items [i] */
static void flatten_node(yaml_document_t *d, yaml_node_t *n, const char *path, GPtrArray *out)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		g_ptr_array_add(out, g_strdup_printf("%s=%.*s", path, (int)n->data.scalar.length,
						     n->data.scalar.value));
		break;
	case YAML_SEQUENCE_NODE: {
		int i = 0;

		for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
		     it++, i++) {
			g_autofree char *p = g_strdup_printf("%s[%d]", path, i);

			flatten_node(d, yaml_document_get_node(d, *it), p, out);
		}
		break;
	}
	case YAML_MAPPING_NODE:
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
		     p++) {
			yaml_node_t *k = yaml_document_get_node(d, p->key);
			g_autofree char *sub = g_strdup_printf("%s%s%s", path, *path ? "." : "",
							       (const char *)k->data.scalar.value);

			flatten_node(d, yaml_document_get_node(d, p->value), sub, out);
		}
		break;
	case YAML_NO_NODE:
		break;
	}
}

static GPtrArray *flatten(const char *text)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	yaml_parser_t parser;
	yaml_document_t doc;

	g_assert_true(yaml_parser_initialize(&parser));
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
	g_assert_true(yaml_parser_load(&parser, &doc));
	g_assert_nonnull(yaml_document_get_root_node(&doc));
	flatten_node(&doc, yaml_document_get_root_node(&doc), "", out);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return out;
}

static bool has_line(GPtrArray *a, const char *line)
{
	for (guint i = 0; i < a->len; i++)
		if (strcmp(a->pdata[i], line) == 0)
			return true;
	return false;
}

/* the lines of a that are not at one of the paths */
static GPtrArray *without(GPtrArray *a, const char *const *paths)
{
	GPtrArray *out = g_ptr_array_new();

	for (guint i = 0; i < a->len; i++) {
		bool skip = false;

		for (const char *const *p = paths; *p; p++)
			if (g_str_has_prefix(a->pdata[i], *p) && ((char *)a->pdata[i])[strlen(*p)] == '=')
				skip = true;
		if (!skip)
			g_ptr_array_add(out, a->pdata[i]);
	}
	return out;
}

static struct alga_release *release_with_values(char *const texts[_ALGA_RELEASE_COMPONENT_MAX],
						bool workers)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	struct json_object *images = json_object_new_object(), *config = json_object_new_object(),
			   *pv = json_object_new_object();
	struct alga_release *rel = NULL;
	_cleanup_free_ char *detail = NULL;
	const char *s;

	json_object_object_add(o, "schema", json_object_new_string(ALGA_RELEASE_SCHEMA));
	json_object_object_add(o, "version", json_object_new_string("1.0.3"));
	json_object_object_add(images, "algaCore", json_object_new_string("62cdce38"));
	if (workers) {
		json_object_object_add(images, "workflowWorker", json_object_new_string("a2cbb43"));
		json_object_object_add(images, "emailService", json_object_new_string("61e4a00e"));
		json_object_object_add(images, "temporalWorker", json_object_new_string("b3dcc54"));
	}
	json_object_object_add(o, "images", images);
	json_object_object_add(config, "repository",
			       json_object_new_string("ghcr.io/nine-minds/alga-appliance-config"));
	json_object_object_add(config, "digest", json_object_new_string(DIGEST));
	json_object_object_add(o, "config", config);
	for (size_t c = 0; c < _ALGA_RELEASE_COMPONENT_MAX; c++) {
		g_autofree char *key =
			g_strdup_printf("%s.single-node.yaml", alga_release_component_to_string(c));

		json_object_object_add(pv, key, json_object_new_string(texts[c]));
	}
	json_object_object_add(o, "profileValues", pv);
	s = json_object_to_json_string(o);
	if (alga_release_parse(s, strlen(s), NULL, &rel, &detail) < 0)
		g_error("release: %s", detail);
	return rel;
}

static char *flux_values(enum alga_release_component c)
{
	g_autofree char *name =
		g_strdup_printf("%s.single-node.yaml", alga_release_component_to_string(c));
	g_autofree char *path = g_build_filename(g_getenv("ALGA_SOURCE_ROOT") ?: "..", "flux",
						 "profiles", "single-node", "values", name, NULL);
	char *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return NULL;
	return text;
}

/* T34 */
static void test_render_flux(void)
{
	static const char *const core_paths[] = { "bootstrap.mode", "appUrl", "host", "domainSuffix",
						  "setup.image.tag", "server.image.tag", NULL };
	static const char *const worker_paths[] = { "image.tag", "publicBaseUrl", NULL };
	_cleanup_(alga_release_freep) struct alga_release *rel = NULL;
	_cleanup_(alga_release_values_freep) struct alga_release_values *v = NULL;
	struct alga_release_values_input in = { .app_url = "psa.example.com" };
	char *texts[_ALGA_RELEASE_COMPONENT_MAX];

	for (size_t c = 0; c < _ALGA_RELEASE_COMPONENT_MAX; c++) {
		texts[c] = flux_values(c);
		if (!texts[c]) {
			for (size_t j = 0; j < c; j++)
				g_free(texts[j]);
			g_test_skip("flux/profiles/single-node/values not found");
			return;
		}
	}
	rel = release_with_values(texts, true);
	g_assert_cmpint(alga_release_render_values(rel, &in, &v, NULL), ==, 0);

	for (size_t c = 0; c < _ALGA_RELEASE_COMPONENT_MAX; c++) {
		g_autoptr(GPtrArray) before = flatten(texts[c]), after = flatten(v->text[c]);
		const char *const *paths = c == ALGA_RELEASE_COMPONENT_ALGA_CORE ? core_paths
									: worker_paths;
		g_autoptr(GPtrArray) b = without(before, paths), a = without(after, paths);

		/* every other node equal, in order */
		g_assert_cmpuint(a->len, ==, b->len);
		for (guint i = 0; i < a->len; i++)
			g_assert_cmpstr(a->pdata[i], ==, b->pdata[i]);
		g_assert_cmpuint(strlen(v->text[c]), ==, v->len[c]);
	}

	{
		g_autoptr(GPtrArray) core = flatten(v->text[ALGA_RELEASE_COMPONENT_ALGA_CORE]);
		g_autoptr(GPtrArray) tw = flatten(v->text[ALGA_RELEASE_COMPONENT_TEMPORAL_WORKER]);
		g_autoptr(GPtrArray) ww = flatten(v->text[ALGA_RELEASE_COMPONENT_WORKFLOW_WORKER]);
		g_autoptr(GPtrArray) es = flatten(v->text[ALGA_RELEASE_COMPONENT_EMAIL_SERVICE]);

		g_assert_true(has_line(core, "bootstrap.mode=recover"));
		g_assert_true(has_line(core, "appUrl=https://psa.example.com"));
		g_assert_true(has_line(core, "host=psa.example.com"));
		g_assert_true(has_line(core, "domainSuffix="));
		g_assert_true(has_line(core, "setup.image.tag=62cdce38"));
		g_assert_true(has_line(core, "server.image.tag=62cdce38"));
		g_assert_true(has_line(tw, "image.tag=b3dcc54"));
		g_assert_true(has_line(tw, "publicBaseUrl=https://psa.example.com"));
		g_assert_true(has_line(ww, "image.tag=a2cbb43"));
		g_assert_true(has_line(es, "image.tag=61e4a00e"));
		/* overrides are double-quoted */
		g_assert_nonnull(strstr(v->text[ALGA_RELEASE_COMPONENT_ALGA_CORE], "tag: \"62cdce38\""));
		g_assert_nonnull(strstr(v->text[ALGA_RELEASE_COMPONENT_ALGA_CORE], "mode: \"recover\""));
	}
	/* pgbouncer and temporal unchanged, byte for byte */
	g_assert_cmpstr(v->text[ALGA_RELEASE_COMPONENT_PGBOUNCER], ==,
			texts[ALGA_RELEASE_COMPONENT_PGBOUNCER]);
	g_assert_cmpstr(v->text[ALGA_RELEASE_COMPONENT_TEMPORAL], ==,
			texts[ALGA_RELEASE_COMPONENT_TEMPORAL]);

	for (size_t c = 0; c < _ALGA_RELEASE_COMPONENT_MAX; c++)
		g_free(texts[c]);
}

/* T35, C6: block scalar untouched, missing parents created, fresh -> recover */
static void test_render_t35(void)
{
	char *texts[_ALGA_RELEASE_COMPONENT_MAX] = {
		[ALGA_RELEASE_COMPONENT_ALGA_CORE] = (char *)"bootstrap:\n  mode: fresh\n"
							     "notes: |\n  setup:\n    image:\n      tag: evil\n"
							     "server:\n  image: {name: x, tag: old}\n",
		[ALGA_RELEASE_COMPONENT_PGBOUNCER] = (char *)"a: 1\n",
		[ALGA_RELEASE_COMPONENT_TEMPORAL] = (char *)"a: 1\n",
		[ALGA_RELEASE_COMPONENT_WORKFLOW_WORKER] = (char *)"doc: >\n  image:\n    tag: evil\n",
		[ALGA_RELEASE_COMPONENT_EMAIL_SERVICE] = (char *)"image:\n  pullPolicy: Always\n",
		[ALGA_RELEASE_COMPONENT_TEMPORAL_WORKER] = (char *)"image:\n  tag: latest\n",
	};
	_cleanup_(alga_release_freep) struct alga_release *rel = release_with_values(texts, true);
	_cleanup_(alga_release_values_freep) struct alga_release_values *v = NULL;
	g_autoptr(GPtrArray) core = NULL, ww = NULL, es = NULL, tw = NULL;

	g_assert_cmpint(alga_release_render_values(rel, NULL, &v, NULL), ==, 0);
	core = flatten(v->text[ALGA_RELEASE_COMPONENT_ALGA_CORE]);
	g_assert_true(has_line(core, "bootstrap.mode=recover"));
	g_assert_true(has_line(core, "notes=setup:\n  image:\n    tag: evil\n"));
	g_assert_true(has_line(core, "setup.image.tag=62cdce38"));
	g_assert_true(has_line(core, "server.image.name=x"));
	g_assert_true(has_line(core, "server.image.tag=62cdce38"));
	/* no app URL given: those keys are not invented */
	g_assert_false(strstr(v->text[ALGA_RELEASE_COMPONENT_ALGA_CORE], "appUrl"));

	ww = flatten(v->text[ALGA_RELEASE_COMPONENT_WORKFLOW_WORKER]);
	g_assert_true(has_line(ww, "doc=image:\n  tag: evil\n"));
	g_assert_true(has_line(ww, "image.tag=a2cbb43"));
	es = flatten(v->text[ALGA_RELEASE_COMPONENT_EMAIL_SERVICE]);
	g_assert_true(has_line(es, "image.pullPolicy=Always"));
	g_assert_true(has_line(es, "image.tag=61e4a00e"));
	tw = flatten(v->text[ALGA_RELEASE_COMPONENT_TEMPORAL_WORKER]);
	g_assert_false(strstr(v->text[ALGA_RELEASE_COMPONENT_TEMPORAL_WORKER], "publicBaseUrl"));
}

/* T35: `image` a scalar, and the other shapes a target may not have */
static void test_patch_errors(void)
{
	static const struct {
		const char *text, *path, *detail;
		int err;
	} c[] = {
		{ "image: busybox\n", "image.tag", "'image.tag' passes through a scalar", -EBADMSG },
		{ "image:\n  tag: [a]\n", "image.tag", "'image.tag' holds a sequence", -EBADMSG },
		{ "image:\n  tag: {a: 1}\n", "image.tag", "'image.tag' holds a mapping", -EBADMSG },
		{ "x: &t v\nimage:\n  tag: *t\n", "image.tag", "'image.tag' holds an alias", -EBADMSG },
		{ "base: &b {tag: 1}\nimage: *b\n", "image.tag", "passes through an alias", -EBADMSG },
		{ "image:\n  - tag: 1\n", "image.tag", "passes through a sequence", -EBADMSG },
		{ "a: 1\n---\nb: 2\n", "a", "more than one", -EBADMSG },
		{ "- a\n", "a", "root is not a mapping", -EBADMSG },
		{ "a: [1\n", "b", "not valid YAML at line", -EBADMSG },
		{ "", "a", "no YAML document", -EBADMSG },
	};

	for (size_t i = 0; i < ELEMENTSOF(c); i++) {
		struct alga_release_values_override ov = { c[i].path, "v" };
		_cleanup_free_ char *out = NULL, *detail = NULL;

		g_assert_cmpint(alga_release_values_patch(c[i].text, strlen(c[i].text), &ov, 1, &out,
							  NULL, &detail),
				==, c[i].err);
		g_assert_null(out);
		if (!strstr(detail, c[i].detail))
			g_error("case %zu: '%s' lacks '%s'", i, detail, c[i].detail);
	}
}

static void test_patch_shapes(void)
{
	static const struct {
		const char *text, *expect;
	} c[] = {
		/* flow mappings: replace, add, create the parent */
		{ "image: {tag: old, x: 1}\n", "image: {tag: \"v\", x: 1}\n" },
		{ "image: {x: 1}\n", "image: {x: 1, tag: \"v\"}\n" },
		{ "{a: 1}\n", "{a: 1, image: {tag: \"v\"}}\n" },
		/* block: key order kept, styles kept, comments dropped */
		{ "# c\nz: 'q'\nimage:\n  tag: old # c\n  y: \"2\"\n",
		  "z: 'q'\nimage:\n  tag: \"v\"\n  y: \"2\"\n" },
		{ "a: 1\n", "a: 1\nimage:\n  tag: \"v\"\n" },
		/* an anchored target keeps its anchor */
		{ "image:\n  tag: &t old\nagain: *t\n", "image:\n  tag: &t \"v\"\nagain: *t\n" },
		/* a sequence elsewhere is left alone */
		{ "l: [image, {tag: x}]\nimage: {tag: y}\n", "l: [image, {tag: x}]\nimage: {tag: \"v\"}\n" },
		/* a complex key is never a target */
		{ "? {image: 1}\n: x\nimage: {tag: y}\n", NULL },
	};

	for (size_t i = 0; i < ELEMENTSOF(c); i++) {
		struct alga_release_values_override ov = { "image.tag", "v" };
		_cleanup_free_ char *out = NULL, *detail = NULL;
		size_t len;

		g_assert_cmpint(alga_release_values_patch(c[i].text, strlen(c[i].text), &ov, 1, &out,
							  &len, &detail),
				==, 0);
		if (c[i].expect)
			g_assert_cmpstr(out, ==, c[i].expect);
		else
			g_assert_nonnull(strstr(out, "tag: \"v\""));
		g_assert_cmpuint(len, ==, strlen(out));
	}
}

static void test_patch_arguments(void)
{
	struct alga_release_values_override dup[] = { { "a.b", "1" }, { "a.b", "2" } };
	struct alga_release_values_override nested[] = { { "a", "1" }, { "a.b", "2" } };
	struct alga_release_values_override bad[] = { { "a..b", "1" } };
	_cleanup_free_ char *out = NULL;

	g_assert_cmpint(alga_release_values_patch("a: 1\n", 5, dup, 2, &out, NULL, NULL), ==, -EINVAL);
	g_assert_cmpint(alga_release_values_patch("a: 1\n", 5, nested, 2, &out, NULL, NULL), ==,
			-EINVAL);
	g_assert_cmpint(alga_release_values_patch("a: 1\n", 5, bad, 1, &out, NULL, NULL), ==, -EINVAL);
	g_assert_cmpint(alga_release_values_patch("a: 1\n", 5, NULL, 0, NULL, NULL, NULL), ==, -EINVAL);
	g_assert_cmpint(alga_release_values_patch("a: 1\n", 5, NULL, 0, &out, NULL, NULL), ==, 0);
	g_assert_cmpstr(out, ==, "a: 1\n");
}

/* limits, each one past it */
static void test_limits(void)
{
	g_autoptr(GString) deep = g_string_new(NULL), deeper = g_string_new(NULL);
	g_autofree char *big = NULL;
	_cleanup_free_ char *d1 = NULL, *d2 = NULL;

	for (unsigned i = 0; i < ALGA_RELEASE_VALUES_DEPTH_MAX; i++) {
		g_string_append(deep, "{a: ");
		g_string_append(deeper, "{a: ");
	}
	g_string_append(deeper, "{a: ");
	g_string_append(deep, "1");
	g_string_append(deeper, "1");
	for (unsigned i = 0; i < ALGA_RELEASE_VALUES_DEPTH_MAX; i++) {
		g_string_append_c(deep, '}');
		g_string_append_c(deeper, '}');
	}
	g_string_append_c(deeper, '}');
	g_assert_cmpint(alga_release_values_check(deep->str, deep->len, NULL), ==, 0);
	g_assert_cmpint(alga_release_values_check(deeper->str, deeper->len, &d1), ==, -E2BIG);
	g_assert_nonnull(strstr(d1, "deeper than 64"));

	big = g_strnfill(ALGA_RELEASE_VALUES_MAX + 1, 'x');
	memcpy(big, "a: ", 3);
	g_assert_cmpint(alga_release_values_check(big, ALGA_RELEASE_VALUES_MAX, NULL), ==, 0);
	g_assert_cmpint(alga_release_values_check(big, ALGA_RELEASE_VALUES_MAX + 1, &d2), ==, -E2BIG);
}

static void test_events_limit(void)
{
	g_autoptr(GString) s = g_string_new("a: [");
	_cleanup_free_ char *detail = NULL;

	/* ~ALGA_RELEASE_VALUES_EVENTS_MAX scalars in 256 KiB: "0," is 2 bytes */
	for (unsigned i = 0; s->len + 4 < ALGA_RELEASE_VALUES_MAX; i++)
		g_string_append(s, "0,");
	g_string_append(s, "0]");
	/* 131070 items fit in 256 KiB; the event cap is above that, so this passes */
	g_assert_cmpint(alga_release_values_check(s->str, s->len, &detail), ==, 0);
}

static void test_app_url(void)
{
	char *texts[_ALGA_RELEASE_COMPONENT_MAX];
	_cleanup_(alga_release_freep) struct alga_release *rel = NULL;
	static const struct {
		const char *in, *url, *host;
		int err;
	} c[] = {
		{ "psa.example.com", "https://psa.example.com", "psa.example.com", 0 },
		{ "https://psa.example.com:8443/x", "https://psa.example.com:8443/x", "psa.example.com", 0 },
		{ "http://10.0.0.5", "http://10.0.0.5", "10.0.0.5", 0 },
		{ "https://[fd00::1]:8443", "https://[fd00::1]:8443", "[fd00::1]", 0 },
		{ "ftp://psa", NULL, NULL, -EINVAL },
		{ "psa example", NULL, NULL, -EINVAL },
		{ "https://user@psa", NULL, NULL, -EINVAL },
		{ "https://", NULL, NULL, -EINVAL },
		{ "", NULL, NULL, -EINVAL },
	};

	for (size_t i = 0; i < _ALGA_RELEASE_COMPONENT_MAX; i++)
		texts[i] = (char *)"a: 1\n";
	rel = release_with_values(texts, false);
	for (size_t i = 0; i < ELEMENTSOF(c); i++) {
		_cleanup_(alga_release_values_freep) struct alga_release_values *v = NULL;
		struct alga_release_values_input in = { .app_url = c[i].in };
		g_autoptr(GPtrArray) core = NULL;
		g_autofree char *l1 = NULL, *l2 = NULL;

		g_assert_cmpint(alga_release_render_values(rel, &in, &v, NULL), ==, c[i].err);
		if (c[i].err)
			continue;
		core = flatten(v->text[ALGA_RELEASE_COMPONENT_ALGA_CORE]);
		l1 = g_strdup_printf("appUrl=%s", c[i].url);
		l2 = g_strdup_printf("host=%s", c[i].host);
		g_assert_true(has_line(core, l1));
		g_assert_true(has_line(core, l2));
		/* no worker image in the release: the worker files stay as they were */
		g_assert_cmpstr(v->text[ALGA_RELEASE_COMPONENT_EMAIL_SERVICE], ==, "a: 1\n");
	}
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/release-values/render/flux-profile", test_render_flux);
	g_test_add_func("/release-values/render/t35", test_render_t35);
	g_test_add_func("/release-values/render/app-url", test_app_url);
	g_test_add_func("/release-values/patch/errors", test_patch_errors);
	g_test_add_func("/release-values/patch/shapes", test_patch_shapes);
	g_test_add_func("/release-values/patch/arguments", test_patch_arguments);
	g_test_add_func("/release-values/check/limits", test_limits);
	g_test_add_func("/release-values/check/events", test_events_limit);

	return g_test_run();
}
