/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <glib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "redact.h"

#define KNOWN "kn0wn-Secret-4242"
#define KNOWN_URL "p@ss/w0rd+key"
#define SHORT7 "shrt7by"

struct tcase {
	char *rule;
	char *in, *out;
	size_t in_len, out_len;
	char *counts;
};

static struct alga_redact *ctx_new(void)
{
	struct alga_redact *r = NULL;

	g_assert_cmpint(alga_redact_new(NULL, NULL, &r), ==, 0);
	g_assert_cmpint(alga_redact_add_secret(r, KNOWN, strlen(KNOWN)), ==, 1);
	g_assert_cmpint(alga_redact_add_secret(r, KNOWN_URL, strlen(KNOWN_URL)), ==, 1);
	g_assert_cmpint(alga_redact_add_secret(r, SHORT7, strlen(SHORT7)), ==, 0);
	return r;
}

static char *unescape(const char *s, size_t *ret_len)
{
	GString *o = g_string_new(NULL);

	for (; *s; s++) {
		if (*s != '\\' || !s[1]) {
			g_string_append_c(o, *s);
			continue;
		}
		s++;
		switch (*s) {
		case 'n':
			g_string_append_c(o, '\n');
			break;
		case 't':
			g_string_append_c(o, '\t');
			break;
		case 'r':
			g_string_append_c(o, '\r');
			break;
		default:
			g_string_append_c(o, *s);
		}
	}
	*ret_len = o->len;
	return g_string_free(o, FALSE);
}

static GPtrArray *load_cases(void)
{
	g_autofree char *path = g_test_build_filename(G_TEST_DIST, "fixtures", "redact", "cases.tsv",
						      NULL);
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	GPtrArray *a = g_ptr_array_new();

	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		g_auto(GStrv) f = NULL;
		struct tcase *c;

		if (**l == '#' || **l == 0)
			continue;
		f = g_strsplit(*l, "\t", -1);
		g_assert_cmpuint(g_strv_length(f), ==, 4);
		c = g_new0(struct tcase, 1);
		c->rule = g_strdup(f[0]);
		c->in = unescape(f[1], &c->in_len);
		c->out = unescape(f[2], &c->out_len);
		c->counts = g_strdup(f[3]);
		g_ptr_array_add(a, c);
	}
	return a;
}

static void free_case(gpointer p)
{
	struct tcase *c = p;

	g_free(c->rule);
	g_free(c->in);
	g_free(c->out);
	g_free(c->counts);
	g_free(c);
}

/* "T7=1,T8=2" or "-" into want[] */
static void parse_counts(const char *s, uint64_t want[static _ALGA_REDACT_RULE_MAX])
{
	g_auto(GStrv) parts = NULL;

	memset(want, 0, sizeof(uint64_t) * _ALGA_REDACT_RULE_MAX);
	if (streq(s, "-"))
		return;
	parts = g_strsplit(s, ",", -1);
	for (char **p = parts; *p; p++) {
		char *eq = strchr(*p, '=');
		int rule;

		g_assert_nonnull(eq);
		*eq = 0;
		rule = alga_redact_rule_from_string(*p);
		g_assert_cmpint(rule, >=, 0);
		want[rule] = g_ascii_strtoull(eq + 1, NULL, 10);
	}
}

static void check_same(const char *what, const char *got, size_t got_len, const char *want,
		       size_t want_len)
{
	if (got_len != want_len || memcmp(got, want, want_len) != 0) {
		g_autofree char *g = g_strescape(got, NULL), *w = g_strescape(want, NULL);

		g_test_message("%s:\n  got  '%s'\n  want '%s'", what, g, w);
		g_assert_not_reached();
	}
}

static int collect(const char *buf, size_t len, void *userdata)
{
	g_string_append_len(userdata, buf, len);
	return 0;
}

/* host.md test 38: every case exact, counted, idempotent, split anywhere */
static void test_cases(void)
{
	g_autoptr(GPtrArray) cases = load_cases();
	unsigned pos[_ALGA_REDACT_RULE_MAX] = {}, neg[_ALGA_REDACT_RULE_MAX] = {};

	g_ptr_array_set_free_func(cases, free_case);
	for (guint i = 0; i < cases->len; i++) {
		struct tcase *c = cases->pdata[i];
		_cleanup_(alga_redact_freep) struct alga_redact *r = ctx_new(), *r2 = ctx_new();
		_cleanup_free_ char *out = NULL, *again = NULL;
		uint64_t want[_ALGA_REDACT_RULE_MAX];
		size_t n, n2;
		int rule = alga_redact_rule_from_string(c->rule);

		g_test_message("case %u (%s): %s", i, c->rule, c->in);
		g_assert_cmpint(alga_redact_string(r, c->in, c->in_len, &out, &n), ==, 0);
		check_same("output", out, n, c->out, c->out_len);

		parse_counts(c->counts, want);
		for (int k = 0; k < _ALGA_REDACT_RULE_MAX; k++) {
			if (alga_redact_get_count(r, k) != want[k])
				g_test_message("rule %s: %" G_GUINT64_FORMAT " matches, want %" G_GUINT64_FORMAT,
					       alga_redact_rule_to_string(k), alga_redact_get_count(r, k),
					       want[k]);
			g_assert_cmpuint(alga_redact_get_count(r, k), ==, want[k]);
		}
		if (rule >= 0) {
			if (want[rule] > 0)
				pos[rule]++;
			else
				neg[rule]++;
		}

		/* idempotent: a second pass changes nothing and matches nothing */
		g_assert_cmpint(alga_redact_string(r2, out, n, &again, &n2), ==, 0);
		check_same("second pass", again, n2, out, n);
		g_assert_cmpuint(alga_redact_get_total(r2), ==, 0);

		/* the stream gives the same output however the input is cut */
		for (size_t cut = 0; cut <= c->in_len; cut++) {
			_cleanup_(alga_redact_freep) struct alga_redact *s = NULL;
			g_autoptr(GString) o = g_string_new(NULL);

			g_assert_cmpint(alga_redact_new(collect, o, &s), ==, 0);
			g_assert_cmpint(alga_redact_add_secret(s, KNOWN, strlen(KNOWN)), ==, 1);
			g_assert_cmpint(alga_redact_add_secret(s, KNOWN_URL, strlen(KNOWN_URL)), ==, 1);
			g_assert_cmpint(alga_redact_feed(s, c->in, cut), ==, 0);
			g_assert_cmpint(alga_redact_feed(s, c->in + cut, c->in_len - cut), ==, 0);
			g_assert_cmpint(alga_redact_finish(s), ==, 0);
			check_same("split", o->str, o->len, c->out, c->out_len);
		}
	}

	/* at least two positive and one negative case per text rule */
	for (int k = ALGA_REDACT_RULE_T0; k <= ALGA_REDACT_RULE_T12; k++) {
		g_test_message("%s: %u positive, %u negative", alga_redact_rule_to_string(k), pos[k],
			       neg[k]);
		g_assert_cmpuint(pos[k], >=, 2);
		g_assert_cmpuint(neg[k], >=, 1);
	}
}

static void test_rules_table(void)
{
	const struct alga_redact_rule_info *t;
	size_t n;

	t = alga_redact_rules(&n);
	g_assert_cmpuint(n, ==, _ALGA_REDACT_RULE_MAX);
	for (size_t i = 0; i < n; i++) {
		g_assert_cmpint(t[i].rule, ==, (int)i);
		g_assert_nonnull(t[i].summary);
		g_assert_nonnull(t[i].replacement);
		g_assert_cmpint(alga_redact_rule_from_string(t[i].id), ==, (int)i);
		g_assert_cmpstr(alga_redact_rule_to_string(i), ==, t[i].id);
	}
	g_assert_cmpstr(t[ALGA_REDACT_RULE_T12].id, ==, "T12");
	g_assert_cmpint(alga_redact_rule_from_string("T13"), ==, -EINVAL);
	g_assert_cmpint(alga_redact_rule_from_string(""), ==, -EINVAL);
	g_assert_null(alga_redact_rule_to_string(_ALGA_REDACT_RULE_MAX));
}

static char *redact(struct alga_redact *r, const char *s)
{
	char *out = NULL;

	g_assert_cmpint(alga_redact_string(r, s, strlen(s), &out, NULL), ==, 0);
	return out;
}

/* host.md test 39 */
static void test_known_secrets(void)
{
	static const char *const token = "4821-0937-5512-6604-1189";
	_cleanup_(alga_redact_freep) struct alga_redact *r = NULL;
	_cleanup_free_ char *url = NULL, *json = NULL, *log = NULL, *seven = NULL;
	char big[ALGA_REDACT_SECRET_MAX + 2];

	g_assert_cmpint(alga_redact_new(NULL, NULL, &r), ==, 0);
	g_assert_cmpint(alga_redact_add_secret(r, token, strlen(token)), ==, 1);
	g_assert_cmpint(alga_redact_add_secret(r, token, strlen(token)), ==, 0);
	g_assert_cmpint(alga_redact_add_secret(r, "1234567", 7), ==, 0);

	url = redact(r, "http://10.0.0.5:8080/setup#t=4821-0937-5512-6604-1189");
	g_assert_cmpstr(url, ==, "http://10.0.0.5:8080/setup#t=[REDACTED KNOWN]");
	json = redact(r, "{\"setupToken\":\"4821-0937-5512-6604-1189\",\"n\":\"4821-0937-5512-6604-1189\"}");
	g_assert_cmpstr(json, ==, "{\"setupToken\":\"[REDACTED KNOWN]\",\"n\":\"[REDACTED KNOWN]\"}");
	log = redact(r, "Jan 1 alga-token[1]: issued 4821-0937-5512-6604-1189 to console");
	g_assert_cmpstr(log, ==, "Jan 1 alga-token[1]: issued [REDACTED KNOWN] to console");
	seven = redact(r, "pin 1234567 kept");
	g_assert_cmpstr(seven, ==, "pin 1234567 kept");
	g_assert_cmpuint(alga_redact_get_count(r, ALGA_REDACT_RULE_T0), ==, 4);

	/* refused: placeholders, newlines, over the limits */
	g_assert_cmpint(alga_redact_add_secret(r, "[REDACTED KNOWN]", 16), ==, -EINVAL);
	g_assert_cmpint(alga_redact_add_secret(r, "REDACTED", 8), ==, -EINVAL);
	g_assert_cmpint(alga_redact_add_secret(r, "two\nlines!", 10), ==, -EINVAL);
	memset(big, 'a', sizeof(big));
	g_assert_cmpint(alga_redact_add_secret(r, big, ALGA_REDACT_SECRET_MAX + 1), ==, -E2BIG);
	g_assert_cmpint(alga_redact_add_secret(r, big, ALGA_REDACT_SECRET_MAX), ==, 1);
	for (unsigned i = 2; i < ALGA_REDACT_SECRETS_MAX; i++) {
		char s[32];

		(void)snprintf(s, sizeof(s), "secret-number-%u", i);
		g_assert_cmpint(alga_redact_add_secret(r, s, strlen(s)), ==, 1);
	}
	g_assert_cmpint(alga_redact_add_secret(r, "one-too-many", 12), ==, -E2BIG);
}

/* lines over 64 KiB are redacted whole; over ALGA_REDACT_LINE_MAX the tail goes */
static void test_long_lines(void)
{
	_cleanup_(alga_redact_freep) struct alga_redact *r = NULL;
	_cleanup_free_ char *out = NULL, *out2 = NULL;
	g_autoptr(GString) in = g_string_new(NULL);
	size_t n;

	g_assert_cmpint(alga_redact_new(NULL, NULL, &r), ==, 0);
	g_string_append(in, "head password=hunter2 ");
	while (in->len < 100 * 1024)
		g_string_append(in, "abcdefgh ");
	g_string_append(in, "\"token\":\"tail-secret\" end\nnext\n");
	g_assert_cmpint(alga_redact_string(r, in->str, in->len, &out, &n), ==, 0);
	g_assert_null(strstr(out, "hunter2"));
	g_assert_null(strstr(out, "tail-secret"));
	g_assert_nonnull(strstr(out, "\"token\":\"[REDACTED]\" end\nnext\n"));
	g_assert_cmpuint(n, ==, in->len - strlen("hunter2") - strlen("tail-secret") + 2 * strlen("[REDACTED]"));
	g_assert_cmpuint(alga_redact_get_long_lines(r), ==, 0);

	/* past the limit: the head is redacted, the rest replaced, never leaked */
	g_string_truncate(in, 0);
	g_string_append(in, "start password=hunter2 ");
	while (in->len < ALGA_REDACT_LINE_MAX + 1000)
		g_string_append(in, "abcdefgh ");
	g_string_append(in, "password=beyond-the-limit\nafter password=x\n");
	g_assert_cmpint(alga_redact_string(r, in->str, in->len, &out2, &n), ==, 0);
	g_assert_null(strstr(out2, "hunter2"));
	g_assert_null(strstr(out2, "beyond-the-limit"));
	g_assert_nonnull(strstr(out2, " bytes]\nafter password=[REDACTED]\n"));
	g_assert_nonnull(strstr(out2, "[REDACTED LONG LINE: "));
	g_assert_cmpuint(alga_redact_get_long_lines(r), ==, 1);
}

static int fail_writer(const char *buf, size_t len, void *userdata)
{
	return -EIO;
}

static void test_stream(void)
{
	static const char doc[] =
		"l1 password=a\n"
		"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n"
		"data:\n  k: c2VjcmV0dmFsdWU=\nkind: Secret\n"
		"Authorization: Bearer xyz\nlast";
	_cleanup_(alga_redact_freep) struct alga_redact *r = NULL, *f = NULL;
	g_autoptr(GString) o = g_string_new(NULL), bytewise = g_string_new(NULL);

	g_assert_cmpint(alga_redact_new(collect, o, &r), ==, 0);
	g_assert_cmpint(alga_redact_feed(r, doc, strlen(doc)), ==, 0);
	g_assert_cmpint(alga_redact_finish(r), ==, 0);
	g_assert_cmpstr(o->str, ==,
			"l1 password=[REDACTED]\n[REDACTED PRIVATE KEY]\n"
			"data:\n  k: [REDACTED]\nkind: Secret\n"
			"Authorization: Bearer [REDACTED]\nlast");

	/* one byte at a time */
	alga_redact_free(r);
	r = NULL;
	g_assert_cmpint(alga_redact_new(collect, bytewise, &r), ==, 0);
	for (size_t i = 0; i < strlen(doc); i++)
		g_assert_cmpint(alga_redact_feed(r, doc + i, 1), ==, 0);
	g_assert_cmpint(alga_redact_finish(r), ==, 0);
	g_assert_cmpstr(bytewise->str, ==, o->str);

	/* finish ends an open key block; the next stream starts clean */
	g_string_truncate(o, 0);
	alga_redact_free(r);
	r = NULL;
	g_assert_cmpint(alga_redact_new(collect, o, &r), ==, 0);
	g_assert_cmpint(alga_redact_feed(r, "-----BEGIN PRIVATE KEY-----\nabc\n", 32), ==, 0);
	g_assert_cmpint(alga_redact_finish(r), ==, 0);
	g_assert_cmpint(alga_redact_feed(r, "visible\n", 8), ==, 0);
	g_assert_cmpint(alga_redact_finish(r), ==, 0);
	g_assert_cmpstr(o->str, ==, "[REDACTED PRIVATE KEY]\nvisible\n");

	/* the writer's error comes back */
	g_assert_cmpint(alga_redact_new(fail_writer, NULL, &f), ==, 0);
	g_assert_cmpint(alga_redact_feed(f, "x\n", 2), ==, -EIO);
}

/* NUL bytes inside a line do not hide what follows them */
static void test_nul(void)
{
	static const char in[] = "a\0password=hunter2 eyJabcdefgh.ijklmnopq.r\n";
	_cleanup_(alga_redact_freep) struct alga_redact *r = NULL;
	_cleanup_free_ char *out = NULL;
	size_t n;

	g_assert_cmpint(alga_redact_new(NULL, NULL, &r), ==, 0);
	g_assert_cmpint(alga_redact_string(r, in, sizeof(in) - 1, &out, &n), ==, 0);
	g_assert_cmpuint(n, ==, 2 + strlen("password=[REDACTED] [REDACTED JWT]\n"));
	g_assert_cmpmem(out + 2, n - 2, "password=[REDACTED] [REDACTED JWT]\n", n - 2);
}

static void test_performance(void)
{
	static const char *const lines[] = {
		"2024-05-01T10:00:00.123Z INFO  [alga-core] GET /api/v1/tickets 200 12ms user=42\n",
		"May  1 10:00:00 alga k3s[812]: I0501 10:00:00.1 reconciler.go:91 \"pod ready\" pod=\"msp/web-0\"\n",
		"{\"level\":\"info\",\"ts\":1714557600,\"msg\":\"reconciliation finished\",\"revision\":\"v1.2.3\"}\n",
		"  - name: alga-core\n",
	};
	_cleanup_(alga_redact_freep) struct alga_redact *r = NULL;
	g_autoptr(GString) in = g_string_new(NULL);
	_cleanup_free_ char *out = NULL;
	size_t target = getenv("ALGA_TEST_QUICK") ? 1024 * 1024 : 10 * 1024 * 1024, n;
	struct timespec a, b;
	double secs;

	while (in->len < target)
		for (size_t i = 0; i < ELEMENTSOF(lines); i++)
			g_string_append(in, lines[i]);
	g_assert_cmpint(alga_redact_new(NULL, NULL, &r), ==, 0);
	g_assert_cmpint(alga_redact_add_secret(r, KNOWN, strlen(KNOWN)), ==, 1);
	clock_gettime(CLOCK_MONOTONIC, &a);
	g_assert_cmpint(alga_redact_string(r, in->str, in->len, &out, &n), ==, 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	g_test_message("%zu bytes in %.3f s", in->len, secs);
	g_assert_cmpuint(n, ==, in->len);
	g_assert_cmpuint(alga_redact_get_total(r), ==, 0);
	if (!getenv("ALGA_TEST_QUICK"))
		g_assert_cmpfloat(secs, <, 1.0);
}

static struct json_object *parse(const char *s)
{
	struct json_object *o = NULL;

	g_assert_cmpint(alga_json_parse(s, strlen(s), NULL, &o, NULL), ==, 0);
	return o;
}

static void assert_json(struct json_object *o, const char *want)
{
	_cleanup_free_ char *s = NULL;

	g_assert_cmpint(alga_json_format(o, 0, &s), ==, 0);
	g_assert_cmpstr(s, ==, want);
}

/* S1 (data printed before kind, as kubectl does), S2 */
static void test_json_secret(void)
{
	_cleanup_(alga_redact_freep) struct alga_redact *r = NULL;
	_cleanup_(json_object_putp) struct json_object *o = NULL, *l = NULL, *cm = NULL;

	g_assert_cmpint(alga_redact_new(NULL, NULL, &r), ==, 0);
	o = parse("{\"apiVersion\":\"v1\",\"data\":{\"password\":\"aHVudGVyMg==\",\"u\":\"YQ==\"},"
		  "\"stringData\":{\"x\":\"plain\"},\"kind\":\"Secret\",\"metadata\":{\"name\":\"db\","
		  "\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":"
		  "\"{\\\"data\\\":{\\\"password\\\":\\\"aHVudGVyMg==\\\"}}\",\"a\":\"b\"},"
		  "\"managedFields\":[{\"manager\":\"kubectl\"}]},\"type\":\"Opaque\"}");
	g_assert_cmpint(alga_redact_json(r, o), ==, 5);
	assert_json(o, "{\"apiVersion\":\"v1\",\"data\":{\"password\":\"[REDACTED len=12]\","
		       "\"u\":\"[REDACTED len=4]\"},\"stringData\":{\"x\":\"[REDACTED len=5]\"},"
		       "\"kind\":\"Secret\",\"metadata\":{\"name\":\"db\",\"annotations\":{\"a\":\"b\"}},"
		       "\"type\":\"Opaque\"}");
	g_assert_cmpuint(alga_redact_get_count(r, ALGA_REDACT_RULE_S1), ==, 3);
	g_assert_cmpuint(alga_redact_get_count(r, ALGA_REDACT_RULE_S2), ==, 2);
	/* idempotent */
	g_assert_cmpint(alga_redact_json(r, o), ==, 0);

	/* API lists carry no kind on their items */
	l = parse("{\"kind\":\"SecretList\",\"items\":[{\"metadata\":{\"name\":\"a\"},"
		  "\"data\":{\"k\":\"dmFsdWU=\"}}]}");
	g_assert_cmpint(alga_redact_json(r, l), ==, 1);
	assert_json(l, "{\"kind\":\"SecretList\",\"items\":[{\"metadata\":{\"name\":\"a\"},"
		       "\"data\":{\"k\":\"[REDACTED len=8]\"}}]}");

	/* a ConfigMap keeps its data */
	cm = parse("{\"kind\":\"ConfigMap\",\"data\":{\"mode\":\"ZmFzdGZhc3Q=\"}}");
	g_assert_cmpint(alga_redact_json(r, cm), ==, 0);
	assert_json(cm, "{\"kind\":\"ConfigMap\",\"data\":{\"mode\":\"ZmFzdGZhc3Q=\"}}");
}

/* S3 any value type; S4 HelmRelease values.db.password (host.md test 43) */
static void test_json_keys(void)
{
	_cleanup_(alga_redact_freep) struct alga_redact *r = NULL;
	_cleanup_(json_object_putp) struct json_object *o = NULL, *hr = NULL;

	g_assert_cmpint(alga_redact_new(NULL, NULL, &r), ==, 0);
	g_assert_cmpint(alga_redact_add_secret(r, KNOWN, strlen(KNOWN)), ==, 1);
	o = parse("{\"apiKey\":{\"a\":1},\"session_id\":7,\"list\":[{\"Client-Secret\":true}],"
		  "\"note\":\"has " KNOWN " inside\",\"arr\":[\"" KNOWN "\"],\"ok\":\"fine\"}");
	g_assert_cmpint(alga_redact_json(r, o), ==, 5);
	assert_json(o, "{\"apiKey\":\"[REDACTED]\",\"session_id\":\"[REDACTED]\","
		       "\"list\":[{\"Client-Secret\":\"[REDACTED]\"}],"
		       "\"note\":\"has [REDACTED KNOWN] inside\",\"arr\":[\"[REDACTED KNOWN]\"],"
		       "\"ok\":\"fine\"}");
	g_assert_cmpuint(alga_redact_get_count(r, ALGA_REDACT_RULE_S3), ==, 3);
	g_assert_cmpuint(alga_redact_get_count(r, ALGA_REDACT_RULE_T0), ==, 2);

	hr = parse("{\"apiVersion\":\"helm.toolkit.fluxcd.io/v2\",\"kind\":\"HelmRelease\","
		   "\"metadata\":{\"name\":\"alga-core\",\"managedFields\":[]},"
		   "\"spec\":{\"chart\":{\"spec\":{\"chart\":\"alga\"}},\"values\":{\"db\":"
		   "{\"host\":\"pg\",\"password\":\"pw\"},\"redis\":[{\"authToken\":\"t\"}]}}}");
	g_assert_cmpint(alga_redact_json(r, hr), ==, 3);
	assert_json(hr, "{\"apiVersion\":\"helm.toolkit.fluxcd.io/v2\",\"kind\":\"HelmRelease\","
			"\"metadata\":{\"name\":\"alga-core\"},"
			"\"spec\":{\"chart\":{\"spec\":{\"chart\":\"alga\"}},\"values\":{\"db\":"
			"{\"host\":\"pg\",\"password\":\"[REDACTED]\"},"
			"\"redis\":[{\"authToken\":\"[REDACTED]\"}]}}}");
	g_assert_cmpuint(alga_redact_get_count(r, ALGA_REDACT_RULE_S4), ==, 2);
}

static void test_json_depth(void)
{
	_cleanup_(alga_redact_freep) struct alga_redact *r = NULL;
	_cleanup_(json_object_putp) struct json_object *root = json_object_new_array();
	struct json_object *cur = root;

	for (unsigned i = 0; i < ALGA_REDACT_JSON_DEPTH_MAX + 2; i++) {
		struct json_object *n = json_object_new_array();

		g_assert_cmpint(alga_json_append(cur, n), ==, 0);
		cur = n;
	}
	g_assert_cmpint(alga_redact_new(NULL, NULL, &r), ==, 0);
	g_assert_cmpint(alga_redact_json(r, root), ==, -E2BIG);
}

static void test_counts_json(void)
{
	_cleanup_(alga_redact_freep) struct alga_redact *r = NULL;
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	_cleanup_free_ char *s = NULL;

	g_assert_cmpint(alga_redact_new(NULL, NULL, &r), ==, 0);
	s = redact(r, "password=x token=y eyJabcdefgh.ijklmnopq.r");
	g_assert_cmpint(alga_redact_counts_to_json(r, &o), ==, 0);
	assert_json(o, "{\"T8\":2,\"T9\":1}");
	g_assert_cmpuint(alga_redact_get_total(r), ==, 3);
	alga_redact_reset_counts(r);
	g_assert_cmpuint(alga_redact_get_total(r), ==, 0);
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/redact/rules/table", test_rules_table);
	g_test_add_func("/redact/string/cases", test_cases);
	g_test_add_func("/redact/add_secret/known", test_known_secrets);
	g_test_add_func("/redact/feed/long-lines", test_long_lines);
	g_test_add_func("/redact/feed/stream", test_stream);
	g_test_add_func("/redact/feed/nul", test_nul);
	g_test_add_func("/redact/feed/performance", test_performance);
	g_test_add_func("/redact/json/secret", test_json_secret);
	g_test_add_func("/redact/json/keys", test_json_keys);
	g_test_add_func("/redact/json/depth", test_json_depth);
	g_test_add_func("/redact/counts/json", test_counts_json);
	return g_test_run();
}
