/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "kube-config.h"

#define B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJpbmxpbmUKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="
#define PEM "-----BEGIN CERTIFICATE-----\nMIIBinline\n-----END CERTIFICATE-----\n"

#define HEAD "apiVersion: v1\nkind: Config\n"
#define CLUSTER(extra)                                                                       \
	"clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443\n" extra
#define USER(body) "users:\n- name: u\n  user:\n" body
#define CONTEXT "contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n"

struct config_case {
	const char *name;
	const char *yaml;
	const char *context;
	unsigned flags;
	int error;          /* 0: parses */
	const char *detail; /* substring of the detail */
};

static const struct config_case cases[] = {
	{ "cert", HEAD CLUSTER("    certificate-authority-data: " B64 "\n")
			  USER("    client-certificate-data: " B64 "\n    client-key-data: " B64 "\n")
				  CONTEXT,
	  NULL, ALGA_KUBECONFIG_NO_FILES, 0, NULL },
	{ "token", HEAD CLUSTER("") USER("    token: abc.def\n") CONTEXT, NULL, 0, 0, NULL },
	{ "no-user", HEAD CLUSTER("") "contexts:\n- name: x\n  context: {cluster: c}\ncurrent-context: x\n",
	  NULL, 0, 0, NULL },
	{ "insecure-allowed", HEAD CLUSTER("    insecure-skip-tls-verify: true\n") USER("    token: t\n") CONTEXT,
	  NULL, ALGA_KUBECONFIG_ALLOW_INSECURE, 0, NULL },
	{ "named-context", HEAD CLUSTER("") USER("    token: t\n") CONTEXT
	  "", "x", 0, 0, NULL },
	/* refusals */
	{ "empty", "", NULL, 0, -EBADMSG, "not a mapping" },
	{ "not-yaml", "a: [b\n", NULL, 0, -EBADMSG, "line" },
	{ "scalar-doc", "hello\n", NULL, 0, -EBADMSG, "not a mapping" },
	{ "two-docs", HEAD "---\n" HEAD, NULL, 0, -EBADMSG, "more than one YAML document" },
	{ "alias", HEAD "a: &x [1]\nb: *x\n", NULL, 0, -EBADMSG, "aliases" },
	{ "no-current-context", HEAD CLUSTER("") USER("    token: t\n"), NULL, 0, -EBADMSG,
	  "'current-context' is missing" },
	{ "current-context-dangling", HEAD CLUSTER("") "current-context: nope\n", NULL, 0, -EBADMSG,
	  "names 'nope'" },
	{ "context-missing", HEAD CLUSTER("") USER("    token: t\n") CONTEXT, "other", 0, -ENOENT,
	  "no context named 'other'" },
	{ "context-no-cluster", HEAD "contexts:\n- name: x\n  context: {user: u}\ncurrent-context: x\n",
	  NULL, 0, -EBADMSG, "'contexts[x].context.cluster' is missing" },
	{ "cluster-dangling", HEAD "contexts:\n- name: x\n  context: {cluster: zz}\ncurrent-context: x\n",
	  NULL, 0, -EBADMSG, "names 'zz', which is not in 'clusters'" },
	{ "user-dangling", HEAD CLUSTER("") "contexts:\n- name: x\n  context: {cluster: c, user: zz}\ncurrent-context: x\n",
	  NULL, 0, -EBADMSG, "names 'zz', which is not in 'users'" },
	{ "no-server", HEAD "clusters:\n- name: c\n  cluster: {}\n" USER("    token: t\n") CONTEXT, NULL,
	  0, -EBADMSG, "'clusters[c].cluster.server' is missing" },
	{ "http-server", HEAD "clusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:6443\n"
	  USER("    token: t\n") CONTEXT, NULL, 0, -EPROTONOSUPPORT, "must be an https:// URL" },
	{ "server-query", HEAD "clusters:\n- name: c\n  cluster:\n    server: https://h/?x=1\n"
	  USER("    token: t\n") CONTEXT, NULL, 0, -EBADMSG, "without spaces, query or fragment" },
	{ "insecure-refused", HEAD CLUSTER("    insecure-skip-tls-verify: true\n") USER("    token: t\n") CONTEXT,
	  NULL, 0, -EPERM, "'clusters[c].cluster.insecure-skip-tls-verify' is true" },
	{ "insecure-not-bool", HEAD CLUSTER("    insecure-skip-tls-verify: maybe\n") USER("    token: t\n") CONTEXT,
	  NULL, 0, -EBADMSG, "must be true or false" },
	{ "bad-base64", HEAD CLUSTER("    certificate-authority-data: '!!notbase64'\n") USER("    token: t\n") CONTEXT,
	  NULL, 0, -EBADMSG, "'clusters[c].cluster.certificate-authority-data' is not valid base64" },
	{ "base64-no-padding", HEAD CLUSTER("    certificate-authority-data: QQ\n") USER("    token: t\n") CONTEXT,
	  NULL, 0, -EBADMSG, "not valid base64" },
	{ "ca-twice", HEAD CLUSTER("    certificate-authority-data: " B64 "\n    certificate-authority: /x\n")
	  USER("    token: t\n") CONTEXT, NULL, 0, -EBADMSG, "are both set" },
	{ "cert-without-key", HEAD CLUSTER("") USER("    client-certificate-data: " B64 "\n") CONTEXT, NULL,
	  0, -EBADMSG, "'users[u].user.client-key-data' is missing" },
	{ "key-without-cert", HEAD CLUSTER("") USER("    client-key-data: " B64 "\n") CONTEXT, NULL, 0,
	  -EBADMSG, "'users[u].user.client-certificate-data' is missing" },
	{ "token-and-file", HEAD CLUSTER("") USER("    token: t\n    tokenFile: /x\n") CONTEXT, NULL, 0,
	  -EBADMSG, "'users[u].user.token' and 'users[u].user.tokenFile' are both set" },
	{ "token-newline", HEAD CLUSTER("") USER("    token: \"a\\nb\"\n") CONTEXT, NULL, 0, -EBADMSG,
	  "characters a bearer token may not have" },
	{ "exec", HEAD CLUSTER("") USER("    exec: {command: aws}\n") CONTEXT, NULL, 0, -EOPNOTSUPP,
	  "'users[u].user.exec' is not supported" },
	{ "auth-provider", HEAD CLUSTER("") USER("    auth-provider: {name: gcp}\n") CONTEXT, NULL, 0,
	  -EOPNOTSUPP, "auth-provider" },
	{ "basic-auth", HEAD CLUSTER("") USER("    username: a\n    password: b\n") CONTEXT, NULL, 0,
	  -EOPNOTSUPP, "username" },
	{ "file-refused", HEAD CLUSTER("    certificate-authority: /etc/hostname\n") USER("    token: t\n") CONTEXT,
	  NULL, ALGA_KUBECONFIG_NO_FILES, -EPERM, "names a file" },
	{ "tokenfile-refused", HEAD CLUSTER("") USER("    tokenFile: /etc/hostname\n") CONTEXT, NULL,
	  ALGA_KUBECONFIG_NO_FILES, -EPERM, "'users[u].user.tokenFile' names a file" },
	{ "clusters-not-list", HEAD "clusters: {a: b}\n" CONTEXT, NULL, 0, -EBADMSG,
	  "'clusters' must be a list" },
	{ "entry-no-name", HEAD "clusters:\n- cluster: {server: https://h}\n" CONTEXT, NULL, 0, -EBADMSG,
	  "'clusters[0].name' is missing" },
	{ "duplicate-name", HEAD CLUSTER("") "- name: c\n  cluster: {server: https://h}\n"
	  USER("    token: t\n") CONTEXT, NULL, 0, -EBADMSG, "two entries named 'c'" },
	{ "server-not-scalar", HEAD "clusters:\n- name: c\n  cluster:\n    server: [a]\n" USER("    token: t\n") CONTEXT, NULL, 0,
	  -EBADMSG, "'clusters[c].cluster.server' must be a string" },
	{ "key-not-scalar", HEAD "? [a]\n: b\n", NULL, 0, -EBADMSG, "key is not a scalar" },
};

static void test_parse_table(void)
{
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		const struct config_case *c = &cases[i];
		_cleanup_(alga_kubeconfig_freep) struct alga_kubeconfig *k = NULL;
		_cleanup_free_ char *detail = NULL;
		int r;

		r = alga_kubeconfig_parse(c->yaml, strlen(c->yaml), "/t/kc", c->context, c->flags, &k,
					  &detail);
		if (g_test_verbose() || r != c->error)
			g_test_message("case %s: r=%d detail=%s", c->name, r, strna(detail));
		g_assert_cmpint(r, ==, c->error);
		if (c->error == 0) {
			g_assert_nonnull(k);
			g_assert_cmpstr(k->server, ==, "https://127.0.0.1:6443");
			g_assert_cmpstr(k->cluster, ==, "c");
			continue;
		}
		g_assert_null(k);
		g_assert_nonnull(detail);
		g_assert_true(g_str_has_prefix(detail, "Kubeconfig '/t/kc': "));
		if (!strstr(detail, c->detail))
			g_error("case %s: detail '%s' lacks '%s'", c->name, detail, c->detail);
	}
}

static void test_parse_inline(void)
{
	const char *y = cases[0].yaml;
	_cleanup_(alga_kubeconfig_freep) struct alga_kubeconfig *k = NULL;

	g_assert_cmpint(alga_kubeconfig_parse(y, strlen(y), NULL, NULL, 0, &k, NULL), ==, 0);
	g_assert_cmpstr(k->path, ==, "<memory>");
	g_assert_cmpstr(k->context, ==, "x");
	g_assert_cmpstr(k->user, ==, "u");
	g_assert_cmpuint(k->ca_len, ==, strlen(PEM));
	g_assert_cmpmem(k->ca, k->ca_len, PEM, strlen(PEM));
	g_assert_cmpmem(k->cert, k->cert_len, PEM, strlen(PEM));
	g_assert_cmpmem(k->key, k->key_len, PEM, strlen(PEM));
	g_assert_null(k->token);
	g_assert_false(k->insecure_skip_tls_verify);
}

static void test_parse_token(void)
{
	const char *y = cases[1].yaml;
	_cleanup_(alga_kubeconfig_freep) struct alga_kubeconfig *k = NULL, *copy = NULL;

	g_assert_cmpint(alga_kubeconfig_parse(y, strlen(y), NULL, NULL, 0, &k, NULL), ==, 0);
	g_assert_cmpstr(k->token, ==, "abc.def");
	g_assert_null(k->ca);
	g_assert_null(k->cert);
	g_assert_cmpint(alga_kubeconfig_copy(k, &copy), ==, 0);
	g_assert_cmpstr(copy->token, ==, "abc.def");
	g_assert_cmpstr(copy->server, ==, k->server);
}

static void test_load_k3s(void)
{
	g_autofree char *path = g_test_build_filename(G_TEST_DIST, "fixtures", "kube", "k3s.yaml", NULL);
	_cleanup_(alga_kubeconfig_freep) struct alga_kubeconfig *k = NULL;

	g_assert_cmpint(alga_kubeconfig_load(path, NULL, 0, &k, NULL), ==, 0);
	g_assert_cmpstr(k->context, ==, "default");
	g_assert_cmpmem(k->cert, k->cert_len, PEM, strlen(PEM));
}

static void test_load_files(void)
{
	g_autofree char *path =
		g_test_build_filename(G_TEST_DIST, "fixtures", "kube", "files.kubeconfig", NULL);
	g_autofree char *ca = NULL, *cert = NULL, *key = NULL;
	_cleanup_(alga_kubeconfig_freep) struct alga_kubeconfig *k = NULL, *t = NULL, *m = NULL,
								*nf = NULL;
	_cleanup_free_ char *detail = NULL, *detail2 = NULL;
	gsize n;

	g_assert_cmpint(alga_kubeconfig_load(path, NULL, 0, &k, NULL), ==, 0);
	/* a trailing slash of the server goes */
	g_assert_cmpstr(k->server, ==, "https://127.0.0.1:6443");
	g_assert_true(g_file_get_contents(g_test_get_filename(G_TEST_DIST, "fixtures", "kube", "ca.crt",
							      NULL),
					  &ca, &n, NULL));
	g_assert_cmpmem(k->ca, k->ca_len, ca, n);
	g_assert_true(g_file_get_contents(
		g_test_get_filename(G_TEST_DIST, "fixtures", "kube", "client.crt", NULL), &cert, &n, NULL));
	g_assert_cmpmem(k->cert, k->cert_len, cert, n);
	g_assert_true(g_file_get_contents(
		g_test_get_filename(G_TEST_DIST, "fixtures", "kube", "client.key", NULL), &key, &n, NULL));
	g_assert_cmpmem(k->key, k->key_len, key, n);

	/* tokenFile: the newline is not part of the token */
	g_assert_cmpint(alga_kubeconfig_load(path, "tok", 0, &t, NULL), ==, 0);
	g_assert_cmpstr(t->token, ==, "fixture-token-123");

	g_assert_cmpint(alga_kubeconfig_load(path, "missing-file", 0, &m, &detail), ==, -ENOENT);
	g_assert_nonnull(strstr(detail, "does-not-exist.crt"));
	g_assert_nonnull(strstr(detail, "users[nofile].user.client-certificate"));
	g_assert_nonnull(strstr(detail, path));

	g_assert_cmpint(alga_kubeconfig_load("/nonexistent/kubeconfig", NULL, 0, &nf, &detail2), ==,
			-ENOENT);
	g_assert_nonnull(strstr(detail2, "/nonexistent/kubeconfig"));
}

static void test_limit_size(void)
{
	size_t n = ALGA_KUBECONFIG_SIZE_MAX + 1;
	g_autofree char *big = g_malloc(n);
	_cleanup_(alga_kubeconfig_freep) struct alga_kubeconfig *k = NULL;
	_cleanup_free_ char *detail = NULL;

	memset(big, '#', n);
	g_assert_cmpint(alga_kubeconfig_parse(big, n, NULL, NULL, 0, &k, &detail), ==, -E2BIG);
	g_assert_nonnull(strstr(detail, "over"));
}

static void test_limit_depth(void)
{
	GString *s = g_string_new("a: ");
	_cleanup_(alga_kubeconfig_freep) struct alga_kubeconfig *k = NULL;
	_cleanup_free_ char *detail = NULL;

	/* the root mapping is level 0: depth_max more levels pass, one more fails */
	for (unsigned i = 0; i < ALGA_KUBECONFIG_DEPTH_MAX; i++)
		g_string_append_c(s, '[');
	for (unsigned i = 0; i < ALGA_KUBECONFIG_DEPTH_MAX; i++)
		g_string_append_c(s, ']');
	g_string_append(s, "\n");
	g_assert_cmpint(alga_kubeconfig_parse(s->str, s->len, NULL, NULL, 0, &k, &detail), ==, -E2BIG);
	g_assert_nonnull(strstr(detail, "deeper than"));

	g_string_assign(s, "a: ");
	for (unsigned i = 0; i < ALGA_KUBECONFIG_DEPTH_MAX - 1; i++)
		g_string_append_c(s, '[');
	for (unsigned i = 0; i < ALGA_KUBECONFIG_DEPTH_MAX - 1; i++)
		g_string_append_c(s, ']');
	g_string_append(s, "\n");
	free(detail);
	detail = NULL;
	/* deep enough to pass the limit; then refused for the missing context */
	g_assert_cmpint(alga_kubeconfig_parse(s->str, s->len, NULL, NULL, 0, &k, &detail), ==, -EBADMSG);
	g_assert_nonnull(strstr(detail, "current-context"));
	g_string_free(s, TRUE);
}

static void test_limit_nodes(void)
{
	GString *s = g_string_new("a: [");
	_cleanup_(alga_kubeconfig_freep) struct alga_kubeconfig *k = NULL;
	_cleanup_free_ char *detail = NULL;

	for (unsigned i = 0; i < ALGA_KUBECONFIG_NODES_MAX; i++)
		g_string_append(s, "1,");
	g_string_append(s, "1]\n");
	g_assert_cmpint(alga_kubeconfig_parse(s->str, s->len, NULL, NULL, 0, &k, &detail), ==, -E2BIG);
	g_assert_nonnull(strstr(detail, "YAML nodes"));
	g_string_free(s, TRUE);
}

static void test_limit_token(void)
{
	GString *s = g_string_new(HEAD CLUSTER("") USER("    token: "));
	_cleanup_(alga_kubeconfig_freep) struct alga_kubeconfig *k = NULL;
	_cleanup_free_ char *detail = NULL;

	for (unsigned i = 0; i < ALGA_KUBECONFIG_TOKEN_MAX + 1; i++)
		g_string_append_c(s, 'a');
	g_string_append(s, "\n" CONTEXT);
	g_assert_cmpint(alga_kubeconfig_parse(s->str, s->len, NULL, NULL, 0, &k, &detail), ==, -E2BIG);
	g_assert_nonnull(strstr(detail, "'users[u].user.token' is longer"));
	g_string_free(s, TRUE);
}

static void test_nul(void)
{
	static const char y[] = "a: b\0c: d\n";
	_cleanup_(alga_kubeconfig_freep) struct alga_kubeconfig *k = NULL;
	_cleanup_free_ char *detail = NULL;

	g_assert_cmpint(alga_kubeconfig_parse(y, sizeof(y) - 1, NULL, NULL, 0, &k, &detail), ==,
			-EBADMSG);
	g_assert_nonnull(strstr(detail, "NUL"));
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/kube-config/parse/table", test_parse_table);
	g_test_add_func("/kube-config/parse/inline", test_parse_inline);
	g_test_add_func("/kube-config/parse/token", test_parse_token);
	g_test_add_func("/kube-config/parse/nul", test_nul);
	g_test_add_func("/kube-config/load/k3s", test_load_k3s);
	g_test_add_func("/kube-config/load/files", test_load_files);
	g_test_add_func("/kube-config/limit/size", test_limit_size);
	g_test_add_func("/kube-config/limit/depth", test_limit_depth);
	g_test_add_func("/kube-config/limit/nodes", test_limit_nodes);
	g_test_add_func("/kube-config/limit/token", test_limit_token);
	return g_test_run();
}
