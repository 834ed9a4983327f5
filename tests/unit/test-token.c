/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "token.h"

static void test_generate_format(void)
{
	for (unsigned i = 0; i < 100; i++) {
		char t[ALGA_TOKEN_LEN + 1];

		g_assert_cmpint(alga_token_generate(t), ==, 0);
		g_assert_cmpuint(strlen(t), ==, ALGA_TOKEN_LEN);
		g_assert_true(g_regex_match_simple("^[0-9]{4}(-[0-9]{4}){4}$", t, 0, 0));
		g_assert_true(alga_token_is_valid(t, strlen(t)));
	}
}

/*
 * host.md test 11: 10^5 tokens, per digit position a chi-square test of
 * uniformity over 10 digits (9 degrees of freedom): p > 0.001 means the
 * statistic stays below 27.877.
 */
static void test_generate_uniform(void)
{
	enum { N = 100000, POSITIONS = 20 };
	unsigned counts[POSITIONS][10] = {};
	const double expected = N / 10.0, critical = 27.877;
	/* the valgrind pass sets ALGA_TEST_QUICK: the test stays the same, smaller */
	unsigned n = getenv("ALGA_TEST_QUICK") ? N / 10 : N;

	for (unsigned i = 0; i < n; i++) {
		char t[ALGA_TOKEN_LEN + 1];
		unsigned pos = 0;

		g_assert_cmpint(alga_token_generate(t), ==, 0);
		for (unsigned j = 0; j < ALGA_TOKEN_LEN; j++)
			if (t[j] != '-')
				counts[pos++][t[j] - '0']++;
	}

	for (unsigned p = 0; p < POSITIONS; p++) {
		double chi = 0, e = expected * n / N;

		for (unsigned d = 0; d < 10; d++)
			chi += (counts[p][d] - e) * (counts[p][d] - e) / e;
		if (g_test_verbose())
			g_test_message("position %u: chi2 = %.2f", p, chi);
		g_assert_cmpfloat(chi, <, critical);
	}
}

static void test_token_valid(void)
{
	static const struct {
		const char *s;
		bool valid;
	} cases[] = {
		{ "1234-5678-9012-3456-7890\n", true },
		{ "0000-0000-0000-0000-0000\n", true },
		{ "1234-5678-9012-3456-7890", false },
		{ "1234-5678-9012-3456-7890\n\n", false },
		{ "12\n", false },
		{ "1234-5678-9012-3456-789a\n", false },
		{ "1234_5678-9012-3456-7890\n", false },
		{ "12345678-9012-3456-7890-\n", false },
		{ "", false },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++)
		g_assert_cmpint(alga_token_file_is_valid(cases[i].s, strlen(cases[i].s)), ==,
				cases[i].valid);
}

static void test_secrets_generate(void)
{
	_cleanup_free_ char *a = NULL, *b = NULL, *k = NULL, *t = NULL;

	g_assert_cmpint(alga_session_secret_generate_file(&a), ==, 0);
	g_assert_cmpint(alga_session_secret_generate_file(&b), ==, 0);
	g_assert_true(g_regex_match_simple("^[0-9a-f]{64}\n$", a, 0, 0));
	g_assert_true(alga_session_secret_file_is_valid(a, strlen(a)));
	g_assert_cmpstr(a, !=, b);

	g_assert_cmpint(alga_auth_key_generate_file(&k), ==, 0);
	g_assert_true(g_regex_match_simple("^[A-Za-z0-9_-]{43}\n$", k, 0, 0));
	g_assert_true(alga_auth_key_file_is_valid(k, strlen(k)));

	g_assert_cmpint(alga_token_generate_file(&t), ==, 0);
	g_assert_true(alga_token_file_is_valid(t, strlen(t)));
}

static void test_secrets_valid(void)
{
	g_autofree char *hex = g_strnfill(64, 'a');
	g_autofree char *hexn = g_strconcat(hex, "\n", NULL);
	g_autofree char *upper = g_strdup(hexn);
	g_autofree char *key = g_strnfill(43, '_');
	g_autofree char *keyn = g_strconcat(key, "\n", NULL);
	g_autofree char *keyplus = g_strdup(keyn);

	upper[3] = 'A';
	keyplus[0] = '+';
	g_assert_true(alga_session_secret_file_is_valid(hexn, strlen(hexn)));
	g_assert_false(alga_session_secret_file_is_valid(hex, strlen(hex)));
	g_assert_false(alga_session_secret_file_is_valid(upper, strlen(upper)));
	g_assert_true(alga_auth_key_file_is_valid(keyn, strlen(keyn)));
	g_assert_false(alga_auth_key_file_is_valid(keyplus, strlen(keyplus)));
	g_assert_false(alga_auth_key_file_is_valid(hexn, strlen(hexn)));
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/token/generate/format", test_generate_format);
	g_test_add_func("/token/generate/uniform", test_generate_uniform);
	g_test_add_func("/token/file_is_valid/cases", test_token_valid);
	g_test_add_func("/token/secrets/generate", test_secrets_generate);
	g_test_add_func("/token/secrets/valid", test_secrets_valid);

	return g_test_run();
}
