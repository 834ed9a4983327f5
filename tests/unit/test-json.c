/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <fcntl.h>
#include <glib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"

static void test_parse_valid(void)
{
	static const char *const docs[] = {
		"{}", "[]", "1", "-1.5e3", "\"s\"", "true", "null", " {\"a\": [1, 2, {\"b\": null}]}\n",
		"{\"u\":\"\\u00e9\\ud83d\\ude00\"}",
	};

	for (size_t i = 0; i < ELEMENTSOF(docs); i++) {
		_cleanup_(json_object_putp) struct json_object *o = NULL;
		_cleanup_free_ char *detail = NULL;

		g_assert_cmpint(alga_json_parse(docs[i], strlen(docs[i]), NULL, &o, &detail), ==, 0);
		g_assert_null(detail);
	}
}

static void test_parse_malformed(void)
{
	static const char *const docs[] = {
		"", "   ", "{", "[1,", "{\"a\":1}x", "{'a':1}", "[1,]", "{\"a\" 1}", "tru", "/*c*/1",
		"{\"a\":1}{\"b\":2}", "\"unterminated", "01", "NaN", "Infinity", "-Infinity", "1.",
		"[.5]", "[+1]", "[\"a\tb\"]", "[\"\\x\"]", "\"\\u12\"", "[\"\xff\"]", "-", "truex",
		/* RFC 3629: overlong, surrogate, above U+10FFFF, F7 lead, cut short */
		"\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xf7\xab\xad\xaa/\"",
		"\"\xe2\x82\"",
	};

	for (size_t i = 0; i < ELEMENTSOF(docs); i++) {
		_cleanup_(json_object_putp) struct json_object *o = NULL;
		_cleanup_free_ char *detail = NULL;

		if (g_test_verbose())
			g_test_message("case %zu: %s", i, docs[i]);
		g_assert_cmpint(alga_json_parse(docs[i], strlen(docs[i]), NULL, &o, &detail), ==, -EBADMSG);
		g_assert_null(o);
		g_assert_nonnull(detail);
	}
}

static void test_parse_offset(void)
{
	static const struct {
		const char *doc, *detail;
	} cases[] = {
		{ "{\"a\":1}x", "Invalid JSON at offset 7: unexpected character." },
		{ "{\"a\": \"b", "Invalid JSON at offset 6: string not terminated." },
		{ "[1, 01]", "Invalid JSON at offset 4: malformed number." },
		{ "[1, @]", "Invalid JSON at offset 4: unexpected character." },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_(json_object_putp) struct json_object *o = NULL;
		_cleanup_free_ char *detail = NULL;

		g_assert_cmpint(alga_json_parse(cases[i].doc, strlen(cases[i].doc), NULL, &o, &detail),
				==, -EBADMSG);
		g_assert_cmpstr(detail, ==, cases[i].detail);
	}
}

static void test_parse_nul(void)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	_cleanup_free_ char *detail = NULL;

	g_assert_cmpint(alga_json_parse("{\"a\":\0}", 7, NULL, &o, &detail), ==, -EBADMSG);
	g_assert_nonnull(strstr(detail, "NUL"));
}

static char *nested(unsigned depth)
{
	GString *s = g_string_new(NULL);

	for (unsigned i = 0; i < depth; i++)
		g_string_append_c(s, '[');
	for (unsigned i = 0; i < depth; i++)
		g_string_append_c(s, ']');
	return g_string_free(s, FALSE);
}

static void test_limit_depth(void)
{
	struct alga_json_limits l = ALGA_JSON_LIMITS_DEFAULT;
	g_autofree char *ok = NULL, *over = NULL;
	_cleanup_free_ char *detail = NULL;
	struct json_object *o = NULL;

	l.depth_max = 5;
	ok = nested(5);
	over = nested(6);
	g_assert_cmpint(alga_json_parse(ok, strlen(ok), &l, &o, NULL), ==, 0);
	json_object_put(o);
	o = NULL;
	g_assert_cmpint(alga_json_parse(over, strlen(over), &l, &o, &detail), ==, -E2BIG);
	g_assert_null(o);
	g_assert_nonnull(strstr(detail, "deeper than 5"));
}

static void test_limit_size(void)
{
	struct alga_json_limits l = ALGA_JSON_LIMITS_DEFAULT;
	_cleanup_free_ char *detail = NULL;
	struct json_object *o = NULL;

	l.size_max = 7;
	g_assert_cmpint(alga_json_parse("[1,2,3]", 7, &l, &o, NULL), ==, 0);
	json_object_put(o);
	o = NULL;
	g_assert_cmpint(alga_json_parse("[1,2,34]", 8, &l, &o, &detail), ==, -E2BIG);
	g_assert_nonnull(strstr(detail, "limit of 7 bytes"));
}

static void test_limit_string(void)
{
	struct alga_json_limits l = ALGA_JSON_LIMITS_DEFAULT;
	struct json_object *o = NULL;

	l.string_max = 3;
	g_assert_cmpint(alga_json_parse("\"abc\"", 5, &l, &o, NULL), ==, 0);
	json_object_put(o);
	o = NULL;
	g_assert_cmpint(alga_json_parse("\"abcd\"", 6, &l, &o, NULL), ==, -E2BIG);
	/* keys count too */
	g_assert_cmpint(alga_json_parse("{\"abcd\":1}", 10, &l, &o, NULL), ==, -E2BIG);
	g_assert_null(o);
}

static void test_limit_items(void)
{
	struct alga_json_limits l = ALGA_JSON_LIMITS_DEFAULT;
	struct json_object *o = NULL;

	/* the array itself is an item */
	l.items_max = 4;
	g_assert_cmpint(alga_json_parse("[1,2,3]", 7, &l, &o, NULL), ==, 0);
	json_object_put(o);
	o = NULL;
	g_assert_cmpint(alga_json_parse("[1,2,3,4]", 9, &l, &o, NULL), ==, -E2BIG);
	g_assert_null(o);
}

static void test_parse_fd(void)
{
	struct alga_json_limits l = ALGA_JSON_LIMITS_DEFAULT;
	g_autofree char *path = NULL, *big = NULL;
	struct json_object *o = NULL;
	int fd;

	fd = g_file_open_tmp("test-json-XXXXXX", &path, NULL);
	g_assert_cmpint(fd, >=, 0);
	big = g_strnfill(10000, ' ');
	big[0] = '[';
	big[9999] = ']';
	g_assert_cmpint(write(fd, big, 10000), ==, 10000);

	l.size_max = 10000;
	g_assert_cmpint(lseek(fd, 0, SEEK_SET), ==, 0);
	g_assert_cmpint(alga_json_parse_fd(fd, &l, &o, NULL), ==, 0);
	json_object_put(o);
	o = NULL;

	l.size_max = 9999;
	g_assert_cmpint(lseek(fd, 0, SEEK_SET), ==, 0);
	g_assert_cmpint(alga_json_parse_fd(fd, &l, &o, NULL), ==, -E2BIG);
	g_assert_null(o);

	close(fd);
	unlink(path);
}

static struct json_object *doc(const char *s)
{
	struct json_object *o = NULL;

	g_assert_cmpint(alga_json_parse(s, strlen(s), NULL, &o, NULL), ==, 0);
	return o;
}

static void test_get_string(void)
{
	_cleanup_(json_object_putp) struct json_object *o =
		doc("{\"a\":\"x\",\"n\":1,\"images\":{\"algaCore\":\"62cd\"},\"z\":null}");
	_cleanup_free_ char *detail = NULL;
	const char *s = "untouched";

	g_assert_cmpint(alga_json_get_string(o, "a", ALGA_JSON_REQUIRED, &s, NULL), ==, 1);
	g_assert_cmpstr(s, ==, "x");
	g_assert_cmpint(alga_json_get_string(o, "images.algaCore", ALGA_JSON_REQUIRED, &s, NULL), ==, 1);
	g_assert_cmpstr(s, ==, "62cd");

	s = "untouched";
	g_assert_cmpint(alga_json_get_string(o, "missing", ALGA_JSON_OPTIONAL, &s, NULL), ==, 0);
	g_assert_cmpint(alga_json_get_string(o, "z", ALGA_JSON_OPTIONAL, &s, NULL), ==, 0);
	g_assert_cmpstr(s, ==, "untouched");

	g_assert_cmpint(alga_json_get_string(o, "images.workflowWorker", ALGA_JSON_REQUIRED, &s, &detail),
			==, -EBADMSG);
	g_assert_cmpstr(detail, ==, "Required field 'images.workflowWorker' is missing, must be a string.");
	free(detail);
	detail = NULL;

	g_assert_cmpint(alga_json_get_string(o, "n", ALGA_JSON_REQUIRED, &s, &detail), ==, -EBADMSG);
	g_assert_cmpstr(detail, ==, "Field 'n' must be a string, not an integer.");
	free(detail);
	detail = NULL;

	g_assert_cmpint(alga_json_get_string(o, "a.b", ALGA_JSON_OPTIONAL, &s, &detail), ==, -EBADMSG);
	g_assert_cmpstr(detail, ==, "Field 'a' must be an object, not a string.");
	g_assert_cmpstr(s, ==, "untouched");
}

static void test_get_int64(void)
{
	_cleanup_(json_object_putp) struct json_object *o = doc("{\"n\":42,\"f\":1.5,\"big\":99}");
	_cleanup_free_ char *detail = NULL;
	int64_t i = -1;

	g_assert_cmpint(alga_json_get_int64(o, "n", ALGA_JSON_REQUIRED, 0, 100, &i, NULL), ==, 1);
	g_assert_cmpint(i, ==, 42);
	g_assert_cmpint(alga_json_get_int64(o, "f", ALGA_JSON_REQUIRED, 0, 100, &i, NULL), ==, -EBADMSG);
	g_assert_cmpint(alga_json_get_int64(o, "big", ALGA_JSON_REQUIRED, 0, 98, &i, &detail), ==, -EBADMSG);
	g_assert_cmpstr(detail, ==, "Field 'big' must be an integer from 0 to 98.");
	g_assert_cmpint(i, ==, 42);
}

static void test_get_other(void)
{
	_cleanup_(json_object_putp) struct json_object *o = doc("{\"b\":true,\"o\":{},\"a\":[1]}");
	struct json_object *v = NULL;
	bool b = false;

	g_assert_cmpint(alga_json_get_bool(o, "b", ALGA_JSON_REQUIRED, &b, NULL), ==, 1);
	g_assert_true(b);
	g_assert_cmpint(alga_json_get_object(o, "o", ALGA_JSON_REQUIRED, &v, NULL), ==, 1);
	g_assert_cmpint(alga_json_get_array(o, "a", ALGA_JSON_REQUIRED, &v, NULL), ==, 1);
	g_assert_cmpint(json_object_array_length(v), ==, 1);
	g_assert_cmpint(alga_json_get_array(o, "o", ALGA_JSON_REQUIRED, &v, NULL), ==, -EBADMSG);
	g_assert_cmpint(alga_json_get_bool(o, "a", ALGA_JSON_OPTIONAL, &b, NULL), ==, -EBADMSG);
}

static void test_format(void)
{
	_cleanup_(json_object_putp) struct json_object *o = doc("{\"b\":\"a/b\",\"a\":[1,2]}");
	_cleanup_free_ char *s = NULL, *p = NULL;

	g_assert_cmpint(alga_json_format(o, ALGA_JSON_FORMAT_NEWLINE, &s), ==, 0);
	g_assert_cmpstr(s, ==, "{\"b\":\"a/b\",\"a\":[1,2]}\n");
	g_assert_cmpint(alga_json_format(o, ALGA_JSON_FORMAT_PRETTY, &p), ==, 0);
	g_assert_nonnull(strchr(p, '\n'));
}

static void test_add(void)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	_cleanup_(json_object_putp) struct json_object *a = json_object_new_array();

	g_assert_cmpint(alga_json_add(o, "k", json_object_new_int(1)), ==, 0);
	g_assert_cmpint(alga_json_add(o, "k2", NULL), ==, -ENOMEM);
	g_assert_cmpint(alga_json_append(a, json_object_new_string("x")), ==, 0);
	g_assert_cmpint(json_object_array_length(a), ==, 1);
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/json/parse/valid", test_parse_valid);
	g_test_add_func("/json/parse/malformed", test_parse_malformed);
	g_test_add_func("/json/parse/nul", test_parse_nul);
	g_test_add_func("/json/parse/offset", test_parse_offset);
	g_test_add_func("/json/parse/limit-depth", test_limit_depth);
	g_test_add_func("/json/parse/limit-size", test_limit_size);
	g_test_add_func("/json/parse/limit-string", test_limit_string);
	g_test_add_func("/json/parse/limit-items", test_limit_items);
	g_test_add_func("/json/parse_fd/limit-size", test_parse_fd);
	g_test_add_func("/json/get_string/cases", test_get_string);
	g_test_add_func("/json/get_int64/cases", test_get_int64);
	g_test_add_func("/json/get/other-types", test_get_other);
	g_test_add_func("/json/format/compact-pretty", test_format);
	g_test_add_func("/json/add/ownership", test_add);

	return g_test_run();
}
