/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <glib.h>
#include <string.h>

#include "crypto.h"
#include "oci-auth.h"

/* release.md §4.3 step 2: WWW-Authenticate (RFC 7235) parsed robustly */
static void test_parse_valid(void)
{
	static const struct {
		const char *in;
		size_t n;
		const char *scheme0, *realm0, *service0, *scope0;
	} cases[] = {
		{ "Bearer realm=\"https://auth.example/token\",service=\"registry.example\","
		  "scope=\"repository:a/b:pull\"",
		  1, "bearer", "https://auth.example/token", "registry.example", "repository:a/b:pull" },
		/* case-insensitive scheme and names, white space around '=' and commas */
		{ "BEARER Realm = \"https://r/t\" ,  SERVICE=svc", 1, "bearer", "https://r/t", "svc", NULL },
		/* token values, escapes inside quotes, commas inside quotes */
		{ "Bearer realm=\"https://r/t?a=1,b=2\",scope=\"repository:x:pull,push\"", 1, "bearer",
		  "https://r/t?a=1,b=2", NULL, "repository:x:pull,push" },
		{ "Basic dXNlcg==", 1, "basic", NULL, NULL, NULL },
		{ "Bearer realm=\"https://r/\\\"q\\\"\",service=\"s\\\\x\"", 1, "bearer",
		  "https://r/\"q\"", "s\\x", NULL },
		/* several challenges in one value; empty list elements */
		{ ", Basic realm=\"blobhost\", , Bearer realm=\"https://r/t\",service=s,", 2, "basic",
		  "blobhost", NULL, NULL },
		/* RFC 7235 §4.1 example */
		{ "Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", Basic realm=\"simple\"", 2,
		  "newauth", "apps", NULL, NULL },
		/* token68 */
		{ "Negotiate abc+/def==, Bearer realm=\"https://r\"", 2, "negotiate", NULL, NULL, NULL },
		{ "Bearer", 1, "bearer", NULL, NULL, NULL },
		{ "Bearer realm=\"\"", 1, "bearer", "", NULL, NULL },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_(alga_oci_auth_challenges_freep) struct alga_oci_auth_challenges *c = NULL;
		_cleanup_free_ char *d = NULL;

		if (g_test_verbose())
			g_test_message("case %zu: %s", i, cases[i].in);
		g_assert_cmpint(alga_oci_auth_parse(cases[i].in, strlen(cases[i].in), &c, &d), ==, 0);
		g_assert_null(d);
		g_assert_cmpuint(c->n, ==, cases[i].n);
		g_assert_cmpstr(c->items[0].scheme, ==, cases[i].scheme0);
		g_assert_cmpstr(alga_oci_auth_challenge_get(&c->items[0], "realm"), ==, cases[i].realm0);
		g_assert_cmpstr(alga_oci_auth_challenge_get(&c->items[0], "service"), ==,
				cases[i].service0);
		g_assert_cmpstr(alga_oci_auth_challenge_get(&c->items[0], "scope"), ==, cases[i].scope0);
	}
}

static void test_parse_find(void)
{
	_cleanup_(alga_oci_auth_challenges_freep) struct alga_oci_auth_challenges *c = NULL;
	const char *s = "Basic realm=\"x\", Bearer realm=\"https://r/t\", service=\"s\"";
	const struct alga_oci_auth_challenge *b;

	g_assert_cmpint(alga_oci_auth_parse(s, strlen(s), &c, NULL), ==, 0);
	b = alga_oci_auth_find(c, "BEARER");
	g_assert_nonnull(b);
	g_assert_cmpstr(alga_oci_auth_challenge_get(b, "Realm"), ==, "https://r/t");
	g_assert_cmpstr(alga_oci_auth_challenge_get(b, "service"), ==, "s");
	g_assert_null(alga_oci_auth_find(c, "digest"));

	/* the Negotiate token68 is kept as is */
	c = alga_oci_auth_challenges_free(c);
	s = "Negotiate abc+/def==";
	g_assert_cmpint(alga_oci_auth_parse(s, strlen(s), &c, NULL), ==, 0);
	g_assert_cmpstr(c->items[0].token68, ==, "abc+/def==");
}

static void test_parse_invalid(void)
{
	static const struct {
		const char *in;
		int r;
	} cases[] = {
		{ "", -EBADMSG },
		{ " , ,", -EBADMSG },
		{ "Bearer realm=\"https://r", -EBADMSG },           /* unterminated */
		{ "Bearer realm=\"https://r\\", -EBADMSG },         /* escape at the end */
		{ "Bearer realm=\"a\x01b\"", -EBADMSG },            /* control byte */
		{ "Bearer realm=\"a\x7f\"", -EBADMSG },
		{ "Bearer realm=\"x\", service=", -EBADMSG },      /* no value */
		{ "Bearer realm=\"x\", service=a\\b", -EBADMSG },  /* backslash outside quotes */
		{ "Bearer realm=a b", -EBADMSG },                   /* junk after a value */
		{ "Bearer realm=\"x\" service=y", -EBADMSG },       /* missing comma */
		{ "Bearer realm=\"x\", realm=\"y\"", -EBADMSG },    /* ambiguous: twice */
		{ "Bearer REALM=\"x\",realm=\"y\"", -EBADMSG },     /* case-insensitively twice */
		{ "=x", -EBADMSG },
		{ "Bearer =x", -EBADMSG },
		{ "Be(arer realm=x", -EBADMSG },
		{ "\"Bearer\"", -EBADMSG },
		{ "Bearer realm=\"x\",, =", -EBADMSG },
		{ "Bearer, realm=x", -EBADMSG },                    /* parameter without a scheme */
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_(alga_oci_auth_challenges_freep) struct alga_oci_auth_challenges *c = NULL;
		_cleanup_free_ char *d = NULL;

		if (g_test_verbose())
			g_test_message("case %zu: %s", i, cases[i].in);
		g_assert_cmpint(alga_oci_auth_parse(cases[i].in, strlen(cases[i].in), &c, &d), ==,
				cases[i].r);
		g_assert_null(c);
		g_assert_nonnull(d);
	}
}

static void test_parse_nul(void)
{
	_cleanup_(alga_oci_auth_challenges_freep) struct alga_oci_auth_challenges *c = NULL;

	g_assert_cmpint(alga_oci_auth_parse("Bearer realm=\"a\0\"", 17, &c, NULL), ==, -EBADMSG);
}

static void test_parse_limits(void)
{
	_cleanup_(alga_oci_auth_challenges_freep) struct alga_oci_auth_challenges *c = NULL;
	GString *s = g_string_new("Bearer realm=\"");
	_cleanup_free_ char *d = NULL;

	/* exactly ALGA_OCI_AUTH_HEADER_MAX parses, one more byte does not */
	while (s->len < ALGA_OCI_AUTH_HEADER_MAX - 1)
		g_string_append_c(s, 'a');
	g_string_append_c(s, '"');
	g_assert_cmpint(alga_oci_auth_parse(s->str, s->len, &c, NULL), ==, 0);
	c = alga_oci_auth_challenges_free(c);
	g_string_insert_c(s, 14, 'a');
	g_assert_cmpint(alga_oci_auth_parse(s->str, s->len, &c, &d), ==, -E2BIG);
	g_string_free(s, TRUE);

	/* parameters and challenges per list */
	s = g_string_new("Bearer ");
	for (unsigned i = 0; i < ALGA_OCI_AUTH_PARAMS_MAX; i++)
		g_string_append_printf(s, "p%u=v,", i);
	g_assert_cmpint(alga_oci_auth_parse(s->str, s->len, &c, NULL), ==, 0);
	c = alga_oci_auth_challenges_free(c);
	g_string_append(s, "one=more");
	g_assert_cmpint(alga_oci_auth_parse(s->str, s->len, &c, NULL), ==, -E2BIG);
	g_string_free(s, TRUE);

	s = g_string_new(NULL);
	for (unsigned i = 0; i < ALGA_OCI_AUTH_CHALLENGES_MAX; i++)
		g_string_append_printf(s, "S%u x=y, ", i);
	g_assert_cmpint(alga_oci_auth_parse(s->str, s->len, &c, NULL), ==, 0);
	c = alga_oci_auth_challenges_free(c);
	g_string_append(s, "Last");
	g_assert_cmpint(alga_oci_auth_parse(s->str, s->len, &c, NULL), ==, -E2BIG);
	g_string_free(s, TRUE);
}

static void token_url_case(const char *header, const char *scope, bool allow_http, int r_expected,
			   const char *url_expected)
{
	_cleanup_(alga_oci_auth_challenges_freep) struct alga_oci_auth_challenges *c = NULL;
	_cleanup_free_ char *url = NULL, *d = NULL;

	g_assert_cmpint(alga_oci_auth_parse(header, strlen(header), &c, NULL), ==, 0);
	g_assert_cmpint(alga_oci_auth_token_url(&c->items[0], scope, allow_http, &url, &d), ==,
			r_expected);
	if (r_expected == 0) {
		g_assert_cmpstr(url, ==, url_expected);
		g_assert_null(d);
	} else {
		g_assert_null(url);
		g_assert_nonnull(d);
	}
}

/* T18 (query shape), T21 (realm must be https) at the library level */
static void test_token_url(void)
{
	token_url_case("Bearer realm=\"https://127.0.0.1:5001/token\",service=\"alga-test-registry\"",
		       "repository:alga-appliance-release:pull", false, 0,
		       "https://127.0.0.1:5001/token?service=alga-test-registry&"
		       "scope=repository:alga-appliance-release:pull");
	/* the challenge's scope wins; realm with a query gets '&'; escapes */
	token_url_case("Bearer realm=\"https://r/t?x=1\",service=\"a b&c\",scope=\"repository:a:pull\"",
		       "repository:b:pull", false, 0,
		       "https://r/t?x=1&service=a%20b%26c&scope=repository:a:pull");
	token_url_case("Bearer realm=\"https://r/t\"", NULL, false, 0, "https://r/t?");
	token_url_case("Bearer realm=\"http://r/t\"", "s", true, 0, "http://r/t?scope=s");
	token_url_case("Bearer realm=\"http://r/t\"", "s", false, -EPERM, NULL);
	token_url_case("Bearer service=x", "s", false, -EBADMSG, NULL);
	token_url_case("Bearer realm=\"\"", "s", false, -EBADMSG, NULL);
	token_url_case("Bearer realm=\"file:///etc/passwd\"", "s", true, -EBADMSG, NULL);
	token_url_case("Bearer realm=\"not a url\"", "s", true, -EBADMSG, NULL);
	token_url_case("Bearer realm=\"https://u:p@r/t\"", "s", false, -EBADMSG, NULL);
}

static void token_case(const char *body, int r_expected, const char *token_expected,
		       unsigned expires_expected)
{
	_cleanup_erase_free_ char *tok = NULL;
	_cleanup_free_ char *d = NULL;
	unsigned expires = 0;

	if (g_test_verbose())
		g_test_message("body: %.60s", body);
	g_assert_cmpint(alga_oci_auth_parse_token(body, strlen(body), &tok, &expires, &d), ==,
			r_expected);
	if (r_expected == 0) {
		g_assert_cmpstr(tok, ==, token_expected);
		g_assert_cmpuint(expires, ==, expires_expected);
	} else {
		g_assert_null(tok);
		g_assert_nonnull(d);
	}
}

/* T20 at the library level: garbage, space token, huge token */
static void test_parse_token(void)
{
	GString *huge;

	token_case("{\"token\":\"abc\",\"expires_in\":300}", 0, "abc", 300);
	token_case("{\"access_token\":\"xyz\"}", 0, "xyz", 60);
	token_case("{\"token\":\"\",\"access_token\":\"xyz\"}", 0, "xyz", 60);
	token_case("{\"token\":\"a\",\"access_token\":\"b\",\"expires_in\":0}", 0, "a", 60);
	token_case("{\"token\":\"a\",\"expires_in\":-5}", 0, "a", 60);
	token_case("{\"token\":\"a\",\"expires_in\":99999999}", 0, "a", ALGA_OCI_AUTH_EXPIRES_MAX_SEC);
	token_case("{\"token\":\"alga fixture token with spaces\"}", -EBADMSG, NULL, 0);
	token_case("{\"token\":\"a\\u0001\"}", -EBADMSG, NULL, 0);
	token_case("{\"token\":\"caf\xc3\xa9\"}", -EBADMSG, NULL, 0);
	token_case("{\"token\":", -EBADMSG, NULL, 0);
	token_case("[\"token\"]", -EBADMSG, NULL, 0);
	token_case("{}", -EBADMSG, NULL, 0);
	token_case("{\"token\":1}", -EBADMSG, NULL, 0);
	token_case("{\"token\":\"a\",\"expires_in\":\"60\"}", -EBADMSG, NULL, 0);
	token_case("{\"token\":\"a\",\"expires_in\":1.5}", -EBADMSG, NULL, 0);

	huge = g_string_new("{\"token\":\"");
	for (unsigned i = 0; i < ALGA_OCI_AUTH_TOKEN_MAX; i++)
		g_string_append_c(huge, 'a');
	g_string_append(huge, "\"}");
	{
		_cleanup_erase_free_ char *tok = NULL;

		g_assert_cmpint(alga_oci_auth_parse_token(huge->str, huge->len, &tok, NULL, NULL), ==, 0);
		g_assert_cmpuint(strlen(tok), ==, ALGA_OCI_AUTH_TOKEN_MAX);
	}
	g_string_insert_c(huge, 12, 'a');
	token_case(huge->str, -E2BIG, NULL, 0);
	g_string_free(huge, TRUE);

	/* a body over 64 KiB is refused before parsing */
	huge = g_string_new("{\"token\":\"a\",\"x\":\"");
	while (huge->len < ALGA_OCI_AUTH_TOKEN_RESPONSE_MAX)
		g_string_append_c(huge, 'x');
	g_string_append(huge, "\"}");
	token_case(huge->str, -E2BIG, NULL, 0);
	g_string_free(huge, TRUE);
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/oci-auth/parse/valid", test_parse_valid);
	g_test_add_func("/oci-auth/parse/find", test_parse_find);
	g_test_add_func("/oci-auth/parse/invalid", test_parse_invalid);
	g_test_add_func("/oci-auth/parse/nul", test_parse_nul);
	g_test_add_func("/oci-auth/parse/limits", test_parse_limits);
	g_test_add_func("/oci-auth/token-url/cases", test_token_url);
	g_test_add_func("/oci-auth/parse-token/cases", test_parse_token);
	return g_test_run();
}
