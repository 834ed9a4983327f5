/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "yaml-json.h"

static struct json_object *parse_json(const char *s)
{
	struct json_object *o = NULL;

	g_assert_cmpint(alga_json_parse(s, strlen(s), NULL, &o, NULL), ==, 0);
	return o;
}

static char *format(const char *json)
{
	_cleanup_(json_object_putp) struct json_object *o = parse_json(json);
	char *y = NULL;
	size_t len = 0;

	g_assert_cmpint(alga_yaml_format(o, &y, &len), ==, 0);
	g_assert_cmpuint(len, ==, strlen(y));
	return y;
}

static void test_format_object(void)
{
	_cleanup_free_ char *y = format(
		"{\"apiVersion\":\"source.toolkit.fluxcd.io/v1\",\"kind\":\"OCIRepository\","
		"\"metadata\":{\"name\":\"alga\",\"labels\":{},\"generation\":3},"
		"\"spec\":{\"interval\":\"10m\",\"ref\":{\"tag\":\"1.0\"},\"suspend\":false,"
		"\"ignore\":\"a\\nb\\n\",\"layers\":[],\"ratio\":0.5,\"none\":null},"
		"\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}");

	g_assert_cmpstr(y, ==,
			"apiVersion: source.toolkit.fluxcd.io/v1\n"
			"kind: OCIRepository\n"
			"metadata:\n"
			"  name: alga\n"
			"  labels: {}\n"
			"  generation: 3\n"
			"spec:\n"
			"  interval: \"10m\"\n"
			"  ref:\n"
			"    tag: \"1.0\"\n"
			"  suspend: false\n"
			"  ignore: |\n"
			"    a\n"
			"    b\n"
			"  layers: []\n"
			"  ratio: 0.5\n"
			"  none: null\n"
			"status:\n"
			"  conditions:\n"
			"  - type: Ready\n"
			"    status: \"True\"\n");
}

/* strings some YAML reader would take for another type go out quoted */
static void test_format_quoting(void)
{
	static const struct {
		const char *json, *yaml;
	} cases[] = {
		{ "\"plain words\"", "plain words" },
		{ "\"/var/lib/alga\"", "/var/lib/alga" },
		{ "\"_x\"", "_x" },
		{ "\"yes\"", "\"yes\"" },
		{ "\"Off\"", "\"Off\"" },
		{ "\"y\"", "\"y\"" },
		{ "\"NULL\"", "\"NULL\"" },
		{ "\"~\"", "\"~\"" },
		{ "\"\"", "\"\"" },
		{ "\"123\"", "\"123\"" },
		{ "\"0x1F\"", "\"0x1F\"" },
		{ "\"1:20\"", "\"1:20\"" },
		{ "\"2001-12-14\"", "\"2001-12-14\"" },
		{ "\".inf\"", "\".inf\"" },
		{ "\"=\"", "\"=\"" },
		{ "\"<<\"", "\"<<\"" },
		{ "\"-\"", "\"-\"" },
		{ "\"a: b\"", "'a: b'" },
		{ "\"a #b\"", "'a #b'" },
		{ "\" lead\"", "\" lead\"" },
		{ "\"tab\\there\"", "\"tab\\there\"" },
		{ "\"caf\\u00e9\"", "café" },
		{ "\"\\u00e9t\\u00e9\"", "\"été\"" },
		{ "1", "1" },
		{ "-7", "-7" },
		{ "18446744073709551615", "18446744073709551615" },
		{ "1.5", "1.5" },
		{ "1e20", "1.0e+20" },
		{ "2.0", "2.0" },
		{ "true", "true" },
		{ "null", "null" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *json = g_strdup_printf("{\"k\":%s}", cases[i].json),
				    *want = g_strdup_printf("k: %s\n", cases[i].yaml);
		_cleanup_free_ char *y = format(json);

		if (g_test_verbose())
			g_test_message("case %zu: %s", i, cases[i].json);
		g_assert_cmpstr(y, ==, want);
	}
}

static void test_format_long_line(void)
{
	GString *s = g_string_new("{\"k\":\"");
	_cleanup_free_ char *y = NULL;

	for (int i = 0; i < 200; i++)
		g_string_append(s, "word ");
	g_string_append(s, "end\"}");
	y = format(s->str);
	/* no folding: the value stays on its line */
	g_assert_cmpuint(strlen(y), ==, strlen("k: ") + 200 * 5 + 3 + 1);
	g_assert_true(strchr(y, '\n') == y + strlen(y) - 1);
	g_string_free(s, TRUE);
}

/* whatever alga_yaml_format() writes, alga_yaml_parse() reads back equal */
static void test_round_trip(void)
{
	static const char *const docs[] = {
		"{}",
		"[]",
		"null",
		"\"yes\"",
		"{\"a\":[1,-2,3.25,true,false,null,\"\",\"x\\ny\",\"x\\n\",\"\\n\",\"  x\\n\\n\"]}",
		"{\"k\":{\"nested\":{\"deeper\":[[],[{}],[[1]]]}}}",
		"[\"0o17\",\"0x1f\",\"+1\",\"1e3\",\".5\",\"1.\",\"-.inf\",\"True\",\"~\"]",
		"{\"tricky key: x\":1,\"null\":2,\"\":3,\"- a\":4,\"#c\":5}",
		"[\"\\u0001\\u007f\",\"\\ud83d\\ude00\",\"trailing \",\"a\\tb\",\"\\\"q\\\"\",\"'\"]",
		"[9223372036854775807,-9223372036854775808,18446744073709551615,-0.0,1e-300]",
		"[\"a\\r\\nb\",\"\\u2028\",\"x\\u0085y\",\"\\ufeffbom\"]",
		"[\"a\\u0000b\",\"\\u0000\"]",
	};

	for (size_t i = 0; i < ELEMENTSOF(docs); i++) {
		_cleanup_(json_object_putp) struct json_object *in = parse_json(docs[i]), *out = NULL;
		_cleanup_free_ char *y = NULL, *detail = NULL;
		size_t len;

		if (g_test_verbose())
			g_test_message("case %zu: %s", i, docs[i]);
		g_assert_cmpint(alga_yaml_format(in, &y, &len), ==, 0);
		g_assert_cmpint(alga_yaml_parse(y, len, NULL, &out, &detail), ==, 0);
		g_assert_null(detail);
		if (!json_object_equal(in, out))
			g_error("case %zu: %s\n%s→ %s", i, docs[i], y,
				json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
	}
}

static void test_parse_core_schema(void)
{
	static const struct {
		const char *yaml, *json;
	} cases[] = {
		{ "a: 1\nb: -2\nc: 0o17\nd: 0x1F\n", "{\"a\":1,\"b\":-2,\"c\":15,\"d\":31}" },
		{ "[1.5, 1e3, .5, -1., 2E-2]", "[1.5,1000.0,0.5,-1.0,0.02]" },
		{ "[true, True, FALSE, null, ~, Null, ]", "[true,true,false,null,null,null]" },
		{ "[yes, no, on, off, y, n]", "[\"yes\",\"no\",\"on\",\"off\",\"y\",\"n\"]" },
		{ "['1', \"true\", !!str 2, ! 3]", "[\"1\",\"true\",\"2\",\"3\"]" },
		{ "k:\n", "{\"k\":null}" },
		{ "k: |\n  a\n  b\n", "{\"k\":\"a\\nb\\n\"}" },
		{ "k: >-\n  a\n  b\n", "{\"k\":\"a b\"}" },
		{ "1: x\ntrue: y\n", "{\"1\":\"x\",\"true\":\"y\"}" },
		{ "--- {a: [b, c]}\n...\n", "{\"a\":[\"b\",\"c\"]}" },
		{ "&anchor {a: 1}", "{\"a\":1}" },
		{ "2001-12-14", "\"2001-12-14\"" },
		{ "12345678901234567890123", "1.2345678901234568e+22" },
		{ "", "null" },
		{ "# only a comment\n", "null" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_(json_object_putp) struct json_object *o = NULL, *want = parse_json(cases[i].json);
		_cleanup_free_ char *detail = NULL;

		if (g_test_verbose())
			g_test_message("case %zu: %s", i, cases[i].yaml);
		g_assert_cmpint(alga_yaml_parse(cases[i].yaml, strlen(cases[i].yaml), NULL, &o, &detail),
				==, 0);
		if (!json_object_equal(o, want))
			g_error("case %zu: %s → %s", i, cases[i].yaml,
				json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	}
}

static void test_parse_refused(void)
{
	static const struct {
		const char *yaml, *detail;
		int r;
	} cases[] = {
		{ "a: &x 1\nb: *x\n", "YAML line 2: aliases are not allowed.", -EBADMSG },
		{ "a: 1\na: 2\n", "YAML line 2: the key 'a' is repeated.", -EBADMSG },
		{ "? [a]\n: 1\n", "YAML line 1: a mapping key is not a scalar.", -EBADMSG },
		{ "a: !!binary aGk=\n", "YAML line 1: the tag 'tag:yaml.org,2002:binary' is not supported.",
		  -EBADMSG },
		{ "a: !custom x\n", "YAML line 1: the tag '!custom' is not supported.", -EBADMSG },
		{ "a: .inf\n", "YAML line 1: '.inf' has no JSON value.", -EBADMSG },
		{ "a: 1\n---\nb: 2\n", "YAML line 2: more than one document.", -EBADMSG },
		{ "a: [1, 2\n", NULL, -EBADMSG },
		{ "a: b: c\n", NULL, -EBADMSG },
		{ "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
		  "YAML line 1: nested deeper than 32 levels.", -E2BIG },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_(json_object_putp) struct json_object *o = NULL;
		_cleanup_free_ char *detail = NULL;

		if (g_test_verbose())
			g_test_message("case %zu: %s", i, cases[i].yaml);
		g_assert_cmpint(alga_yaml_parse(cases[i].yaml, strlen(cases[i].yaml), NULL, &o, &detail),
				==, cases[i].r);
		g_assert_null(o);
		g_assert_nonnull(detail);
		if (cases[i].detail)
			g_assert_cmpstr(detail, ==, cases[i].detail);
		else
			g_assert_true(g_str_has_prefix(detail, "YAML line "));
	}
}

static void test_parse_limits(void)
{
	struct alga_json_limits l = ALGA_JSON_LIMITS_DEFAULT;
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	_cleanup_free_ char *detail = NULL;
	static const char doc[] = "[a, b, c, d]";

	l.items_max = 4;
	g_assert_cmpint(alga_yaml_parse(doc, strlen(doc), &l, &o, &detail), ==, -E2BIG);
	g_assert_cmpstr(detail, ==, "YAML line 1: more than 4 nodes.");
	detail = mfree(detail);
	l.items_max = 5;
	g_assert_cmpint(alga_yaml_parse(doc, strlen(doc), &l, &o, &detail), ==, 0);
	o = (json_object_put(o), NULL);
	l.size_max = 4;
	g_assert_cmpint(alga_yaml_parse(doc, strlen(doc), &l, &o, &detail), ==, -E2BIG);
	g_assert_cmpstr(detail, ==, "YAML: the document is larger than 4 bytes.");
	detail = mfree(detail);
	l = ALGA_JSON_LIMITS_DEFAULT;
	l.string_max = 3;
	g_assert_cmpint(alga_yaml_parse("abcd", 4, &l, &o, &detail), ==, -E2BIG);
	g_assert_cmpstr(detail, ==, "YAML line 1: a value is longer than 3 bytes.");
}

static void test_format_refused(void)
{
	_cleanup_(json_object_putp) struct json_object *nan = json_object_new_double(NAN),
						       *bad = json_object_new_string("\xff\xfe");
	char *y = NULL;

	g_assert_cmpint(alga_yaml_format(nan, &y, NULL), ==, -EDOM);
	g_assert_cmpint(alga_yaml_format(bad, &y, NULL), ==, -EILSEQ);
	g_assert_null(y);
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/yaml/format/object", test_format_object);
	g_test_add_func("/yaml/format/quoting", test_format_quoting);
	g_test_add_func("/yaml/format/long-line", test_format_long_line);
	g_test_add_func("/yaml/format/refused", test_format_refused);
	g_test_add_func("/yaml/parse/round-trip", test_round_trip);
	g_test_add_func("/yaml/parse/core-schema", test_parse_core_schema);
	g_test_add_func("/yaml/parse/refused", test_parse_refused);
	g_test_add_func("/yaml/parse/limits", test_parse_limits);
	return g_test_run();
}
