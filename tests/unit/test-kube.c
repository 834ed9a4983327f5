/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lib/kube against a real fakekube (tests/fixtures/fakekube), started once
 * for this program. Skipped with the reason when /usr/bin/python3 or
 * python3-yaml is missing.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glib.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "json.h"
#include "kube-wait.h"
#include "kube.h"

#define PY "/usr/bin/python3"
#define NS "/api/v1/namespaces/kt"

static struct {
	char *dir;
	char *kubeconfig;
	pid_t pid;
	unsigned port;
	struct alga_kube *kube; /* field manager alga-bootstrap */
} fk = { .pid = -1 };

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

static struct json_object *J(const char *s)
{
	struct json_object *o = json_tokener_parse(s);

	g_assert_nonnull(o);
	return o;
}

static const char *skip_reason(void)
{
	if (access(PY, X_OK) < 0)
		return PY " is missing";
	if (system(PY " -c 'import yaml' >/dev/null 2>&1") != 0)
		return "python3-yaml is missing";
	return NULL;
}

static int fk_start(void)
{
	const char *src = g_getenv("ALGA_SOURCE_ROOT");
	g_autofree char *script = NULL, *out = NULL, *tmpl = NULL;

	script = g_build_filename(src ?: ".", "tests", "fixtures", "fakekube", "fakekube", NULL);
	tmpl = g_build_filename(g_get_tmp_dir(), "test-kube.XXXXXX", NULL);
	fk.dir = g_strdup(g_mkdtemp(tmpl));
	g_assert_nonnull(fk.dir);
	out = g_build_filename(fk.dir, "stdout", NULL);

	fk.pid = fork();
	g_assert_cmpint(fk.pid, >=, 0);
	if (fk.pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		/* an aborted test must not leave the server behind */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || fd < 0 || dup2(fd, 1) < 0)
			_exit(127);
		execl(PY, PY, script, "--state-dir", fk.dir, (char *)NULL);
		_exit(127);
	}

	for (unsigned i = 0; i < 400; i++) {
		g_autofree char *text = NULL;

		if (g_file_get_contents(out, &text, NULL, NULL) && sscanf(text, "READY %u", &fk.port) == 1)
			break;
		if (waitpid(fk.pid, NULL, WNOHANG) == fk.pid) {
			fk.pid = -1;
			return -ESRCH;
		}
		g_usleep(25000);
	}
	if (fk.port == 0)
		return -ETIMEDOUT;
	fk.kubeconfig = g_build_filename(fk.dir, "kubeconfig", NULL);
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	return remove(path);
}

static void fk_stop(void)
{
	if (fk.pid > 0) {
		kill(fk.pid, SIGTERM);
		waitpid(fk.pid, NULL, 0);
	}
	if (fk.dir && !g_getenv("FK_KEEP"))
		nftw(fk.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	g_free(fk.dir);
	g_free(fk.kubeconfig);
}

static struct alga_kube *kube_new_with(const char *manager, const char *context)
{
	struct alga_kube_options o = {
		.kubeconfig = fk.kubeconfig,
		.context = context,
		.field_manager = manager,
		.timeout_usec = 10 * USEC_PER_SEC,
	};
	_cleanup_free_ char *detail = NULL;
	struct alga_kube *k = NULL;

	if (alga_kube_new(&o, &k, &detail) < 0)
		g_error("alga_kube_new: %s", strna(detail));
	return k;
}

/* a control call (fakekube's /_control/...), which must answer 2xx */
static void ctl(enum alga_kube_method m, const char *path, const char *body)
{
	_cleanup_(alga_kube_request_freep) struct alga_kube_request *req = NULL;

	g_assert_cmpint(alga_kube_request_new(fk.kube, m, path, &req), ==, 0);
	if (body)
		g_assert_cmpint(alga_kube_request_set_body(req, "application/json", body, strlen(body)), ==, 0);
	g_assert_cmpint(alga_kube_submit(fk.kube, req, NULL, NULL), ==, 0);
	g_assert_cmpint(alga_kube_run_until(fk.kube, req, 0), ==, 0);
	if (alga_kube_request_result(req) < 0)
		g_error("control %s: %s", path, strna(alga_kube_request_message(req)));
}

static void fault(const char *json)
{
	ctl(ALGA_KUBE_POST, "/_control/faults", json);
}

static void clear_faults(void)
{
	ctl(ALGA_KUBE_DELETE, "/_control/faults", NULL);
}

static void apply_ok(struct alga_kube *k, const char *path, const char *json,
		     struct json_object **ret)
{
	_cleanup_(json_object_putp) struct json_object *o = J(json);
	_cleanup_free_ char *detail = NULL;

	if (alga_kube_apply(k, path, o, 0, ret, &detail) < 0)
		g_error("apply %s: %s", path, strna(detail));
}

static const char *str_at(struct json_object *o, const char *field)
{
	const char *s = NULL;

	g_assert_cmpint(alga_json_get_string(o, field, ALGA_JSON_REQUIRED, &s, NULL), ==, 1);
	return s;
}

static void test_get(void)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	_cleanup_free_ char *detail = NULL;

	g_assert_cmpint(alga_kube_get(fk.kube, "/api/v1/namespaces/default", &o, NULL), ==, 0);
	g_assert_cmpstr(str_at(o, "kind"), ==, "Namespace");

	g_assert_cmpint(alga_kube_get(fk.kube, NS "/configmaps/absent", NULL, &detail), ==, -ENOENT);
	g_assert_nonnull(strstr(detail, "not found"));

	g_assert_cmpint(alga_kube_get(fk.kube, "no-slash", NULL, NULL), ==, -EINVAL);
	g_assert_cmpint(alga_kube_get(fk.kube, "/api/v1/a b", NULL, NULL), ==, -EINVAL);
}

static void test_token_context(void)
{
	_cleanup_(alga_kube_freep) struct alga_kube *k = kube_new_with(NULL, "fakekube-token");
	_cleanup_(json_object_putp) struct json_object *o = NULL;

	g_assert_nonnull(alga_kube_get_config(k)->token);
	g_assert_cmpint(alga_kube_get(k, "/api/v1/namespaces/default", &o, NULL), ==, 0);
}

static void test_tls_refused(void)
{
	_cleanup_(alga_kubeconfig_freep) struct alga_kubeconfig *c = NULL;
	_cleanup_(alga_kube_freep) struct alga_kube *k = NULL;
	_cleanup_free_ char *detail = NULL, *ca_path = NULL;
	struct alga_kube_options o = {};
	gchar *ca = NULL;
	gsize n;

	/* trust the client CA instead of the server's: verification must fail */
	g_assert_cmpint(alga_kubeconfig_load(fk.kubeconfig, NULL, 0, &c, NULL), ==, 0);
	ca_path = g_build_filename(fk.dir, "tls", "client-ca.crt", NULL);
	g_assert_true(g_file_get_contents(ca_path, &ca, &n, NULL));
	free(c->ca);
	c->ca = (char *)g_memdup2(ca, n);
	c->ca_len = n;
	g_free(ca);
	o.config = c;
	g_assert_cmpint(alga_kube_new(&o, &k, NULL), ==, 0);
	g_assert_cmpint(alga_kube_get(k, "/api/v1/namespaces", NULL, &detail), ==, -EKEYREJECTED);
	g_assert_nonnull(detail);
}

static void test_refused(void)
{
	_cleanup_(alga_kubeconfig_freep) struct alga_kubeconfig *c = NULL;
	_cleanup_(alga_kube_freep) struct alga_kube *k = NULL;
	struct alga_kube_options o = {};

	g_assert_cmpint(alga_kubeconfig_load(fk.kubeconfig, NULL, 0, &c, NULL), ==, 0);
	free(c->server);
	c->server = strdup("https://127.0.0.1:1");
	o.config = c;
	g_assert_cmpint(alga_kube_new(&o, &k, NULL), ==, 0);
	g_assert_cmpint(alga_kube_get(k, "/version", NULL, NULL), ==, -ECONNREFUSED);

	/* a kubeconfig that is missing, and no kubeconfig at all */
	o.config = NULL;
	o.kubeconfig = "/nonexistent";
	g_assert_cmpint(alga_kube_new(&o, &k, NULL), ==, -ENOENT);
	o.kubeconfig = NULL;
	g_assert_cmpint(alga_kube_new(&o, &k, NULL), ==, -EINVAL);
}

static void test_create(void)
{
	_cleanup_(json_object_putp) struct json_object *cm =
		J("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"created\"},"
		  "\"data\":{\"a\":\"1\"}}");
	_cleanup_(json_object_putp) struct json_object *dry =
		J("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"dry\"}}");
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	_cleanup_free_ char *detail = NULL;

	g_assert_cmpint(alga_kube_create(fk.kube, NS "/configmaps", cm, 0, &o, NULL), ==, 0);
	g_assert_cmpstr(str_at(o, "metadata.uid"), !=, "");
	g_assert_cmpint(alga_kube_create(fk.kube, NS "/configmaps", cm, 0, NULL, &detail), ==, -EEXIST);
	g_assert_nonnull(strstr(detail, "already exists"));

	g_assert_cmpint(alga_kube_create(fk.kube, NS "/configmaps", dry, ALGA_KUBE_DRY_RUN, NULL, NULL),
			==, 0);
	g_assert_cmpint(alga_kube_get(fk.kube, NS "/configmaps/dry", NULL, NULL), ==, -ENOENT);
}

#define CM_SSA "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"ssa\",\"namespace\":\"kt\"},\"data\":{\"k\":\"%s\"}}"

static void test_apply(void)
{
	_cleanup_(alga_kube_freep) struct alga_kube *setup = kube_new_with("alga-setup", NULL);
	_cleanup_(alga_kube_freep) struct alga_kube *nomgr = kube_new_with(NULL, NULL);
	_cleanup_(json_object_putp) struct json_object *a = NULL, *b = NULL, *c = NULL, *d = NULL,
							*other = NULL, *dry = NULL;
	g_autofree char *v1 = g_strdup_printf(CM_SSA, "v1"), *v2 = g_strdup_printf(CM_SSA, "v2"),
			*v3 = g_strdup_printf(CM_SSA, "v3");
	_cleanup_free_ char *detail = NULL;
	struct json_object *mf;

	apply_ok(fk.kube, NS "/configmaps/ssa", v1, &a);
	apply_ok(fk.kube, NS "/configmaps/ssa", v1, &b);
	/* an identical re-apply changes nothing */
	g_assert_cmpstr(str_at(a, "metadata.resourceVersion"), ==, str_at(b, "metadata.resourceVersion"));
	g_assert_cmpint(alga_json_get_array(b, "metadata.managedFields", ALGA_JSON_REQUIRED, &mf, NULL), ==, 1);
	g_assert_cmpstr(str_at(json_object_array_get_idx(mf, 0), "manager"), ==, "alga-bootstrap");
	g_assert_cmpstr(str_at(json_object_array_get_idx(mf, 0), "operation"), ==, "Apply");

	/* another manager, without force: a conflict */
	other = J(v2);
	g_assert_cmpint(alga_kube_apply(setup, NS "/configmaps/ssa", other, ALGA_KUBE_APPLY_NO_FORCE,
					NULL, &detail),
			==, -EBUSY);
	g_assert_nonnull(detail);
	/* dry run with force: the answer has v2, the store keeps v1 */
	g_assert_cmpint(alga_kube_apply(setup, NS "/configmaps/ssa", other, ALGA_KUBE_DRY_RUN, &dry, NULL), ==, 0);
	g_assert_cmpstr(str_at(dry, "data.k"), ==, "v2");
	g_assert_cmpint(alga_kube_get(fk.kube, NS "/configmaps/ssa", &c, NULL), ==, 0);
	g_assert_cmpstr(str_at(c, "data.k"), ==, "v1");
	/* with force (the default) the field moves */
	g_assert_cmpint(alga_kube_apply(setup, NS "/configmaps/ssa", other, 0, &d, NULL), ==, 0);
	g_assert_cmpstr(str_at(d, "data.k"), ==, "v2");

	/* no field manager: refused before anything is sent */
	json_object_put(other);
	other = J(v3);
	free(detail);
	detail = NULL;
	g_assert_cmpint(alga_kube_apply(nomgr, NS "/configmaps/ssa", other, 0, NULL, &detail), ==, -EINVAL);
	g_assert_nonnull(strstr(detail, "field manager"));
}

static void test_apply_object(void)
{
	_cleanup_(json_object_putp) struct json_object *dep = J(
		"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\",\"namespace\":\"kt\"},"
		"\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},"
		"\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"busybox\"}]}}}}");
	_cleanup_(json_object_putp) struct json_object *o = NULL, *nons = NULL;
	_cleanup_free_ char *path = NULL, *detail = NULL;

	g_assert_cmpint(alga_kube_apply_object(fk.kube, dep, 0, &o, NULL), ==, 0);
	g_assert_cmpstr(str_at(o, "metadata.namespace"), ==, "kt");
	g_assert_cmpint(alga_kube_object_path(fk.kube, "apps/v1", "Deployment", "kt", "web", &path, NULL),
			==, 0);
	g_assert_cmpstr(path, ==, "/apis/apps/v1/namespaces/kt/deployments/web");
	free(path);
	path = NULL;
	g_assert_cmpint(alga_kube_object_path(fk.kube, "v1", "Namespace", "ignored", "kt", &path, NULL), ==, 0);
	g_assert_cmpstr(path, ==, "/api/v1/namespaces/kt");

	nons = J("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"x\"}}");
	g_assert_cmpint(alga_kube_apply_object(fk.kube, nons, 0, NULL, &detail), ==, -EINVAL);
	g_assert_nonnull(strstr(detail, "namespaced"));
	g_assert_cmpint(alga_kube_object_path(fk.kube, "v1", "NoSuchKind", NULL, NULL, &path, NULL), ==,
			-ENOENT);
	g_assert_cmpint(alga_kube_object_path(fk.kube, "nosuch.example/v9", "X", NULL, NULL, &path, NULL),
			==, -ENOENT);
	g_assert_cmpint(alga_kube_object_path(fk.kube, "v1", "ConfigMap", "kt", "a/b", &path, NULL), ==,
			-EINVAL);
}

static void test_patch(void)
{
	_cleanup_(json_object_putp) struct json_object *cm =
		J("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"patched\"},\"data\":{\"x\":\"0\"}}");
	_cleanup_(json_object_putp) struct json_object *merge = J("{\"data\":{\"x\":\"1\",\"y\":\"1\"}}");
	_cleanup_(json_object_putp) struct json_object *ops =
		J("[{\"op\":\"replace\",\"path\":\"/data/x\",\"value\":\"2\"},{\"op\":\"remove\",\"path\":\"/data/y\"}]");
	_cleanup_(json_object_putp) struct json_object *bad =
		J("[{\"op\":\"test\",\"path\":\"/data/x\",\"value\":\"nope\"}]");
	_cleanup_(json_object_putp) struct json_object *a = NULL, *b = NULL;
	struct json_object *y;

	g_assert_cmpint(alga_kube_create(fk.kube, NS "/configmaps", cm, 0, NULL, NULL), ==, 0);
	g_assert_cmpint(alga_kube_patch_merge(fk.kube, NS "/configmaps/patched", merge, 0, &a, NULL), ==, 0);
	g_assert_cmpstr(str_at(a, "data.x"), ==, "1");
	g_assert_cmpstr(str_at(a, "data.y"), ==, "1");
	g_assert_cmpint(alga_kube_patch_json(fk.kube, NS "/configmaps/patched", ops, 0, &b, NULL), ==, 0);
	g_assert_cmpstr(str_at(b, "data.x"), ==, "2");
	g_assert_false(json_object_object_get_ex(json_object_object_get(b, "data"), "y", &y));
	g_assert_cmpint(alga_kube_patch_json(fk.kube, NS "/configmaps/patched", bad, 0, NULL, NULL), <, 0);
	g_assert_cmpint(alga_kube_patch_json(fk.kube, NS "/configmaps/patched", merge, 0, NULL, NULL), ==,
			-EINVAL);
	g_assert_cmpint(alga_kube_patch_merge(fk.kube, NS "/configmaps/absent", merge, 0, NULL, NULL), ==,
			-ENOENT);
}

static void test_delete(void)
{
	_cleanup_(json_object_putp) struct json_object *cm =
		J("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"del\"}}");
	_cleanup_(json_object_putp) struct json_object *fin = J(
		"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"held\",\"finalizers\":[\"example.alga.test/hold\"]}}");
	_cleanup_(json_object_putp) struct json_object *release = J("{\"metadata\":{\"finalizers\":null}}");
	_cleanup_free_ char *detail = NULL;

	g_assert_cmpint(alga_kube_create(fk.kube, NS "/configmaps", cm, 0, NULL, NULL), ==, 0);
	g_assert_cmpint(alga_kube_delete(fk.kube, NS "/configmaps/del", ALGA_KUBE_PROPAGATION_FOREGROUND,
					 ALGA_KUBE_DRY_RUN, NULL, NULL),
			==, 0);
	g_assert_cmpint(alga_kube_get(fk.kube, NS "/configmaps/del", NULL, NULL), ==, 0);
	g_assert_cmpint(alga_kube_delete_wait(fk.kube, NS "/configmaps/del",
					      ALGA_KUBE_PROPAGATION_FOREGROUND, 5 * USEC_PER_SEC, NULL),
			==, 0);
	g_assert_cmpint(alga_kube_get(fk.kube, NS "/configmaps/del", NULL, NULL), ==, -ENOENT);
	g_assert_cmpint(alga_kube_delete(fk.kube, NS "/configmaps/del", ALGA_KUBE_PROPAGATION_BACKGROUND,
					 0, NULL, NULL),
			==, -ENOENT);
	g_assert_cmpint(alga_kube_delete_wait(fk.kube, NS "/configmaps/del", 0, USEC_PER_SEC, NULL), ==, 0);

	/* a finalizer holds it: the wait times out naming it, then goes once released */
	g_assert_cmpint(alga_kube_create(fk.kube, NS "/configmaps", fin, 0, NULL, NULL), ==, 0);
	g_assert_cmpint(alga_kube_delete(fk.kube, NS "/configmaps/held", ALGA_KUBE_PROPAGATION_DEFAULT, 0,
					 NULL, NULL),
			==, 0);
	g_assert_cmpint(alga_kube_wait_gone(fk.kube, NS "/configmaps/held", 300 * USEC_PER_MSEC, &detail),
			==, -ETIMEDOUT);
	if (!strstr(detail, "example.alga.test/hold"))
		g_error("detail: %s", detail);
	g_assert_cmpint(alga_kube_patch_merge(fk.kube, NS "/configmaps/held", release, 0, NULL, NULL), ==, 0);
	g_assert_cmpint(alga_kube_wait_gone(fk.kube, NS "/configmaps/held", 5 * USEC_PER_SEC, NULL), ==, 0);
}

static void test_list(void)
{
	struct alga_kube_list_options o = { .label_selector = "page=yes", .limit = 3 };
	_cleanup_(json_object_putp) struct json_object *page = NULL, *all = NULL, *a = NULL, *f = NULL,
							*none = NULL;
	struct json_object *items;
	const char *cont = NULL;

	for (int i = 0; i < 7; i++) {
		g_autofree char *path = g_strdup_printf(NS "/configmaps/page-%d", i);
		g_autofree char *doc = g_strdup_printf(
			"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"page-%d\","
			"\"labels\":{\"page\":\"yes\",\"tier\":\"%s\"}}}",
			i, i % 2 ? "a" : "b");

		apply_ok(fk.kube, path, doc, NULL);
	}

	g_assert_cmpint(alga_kube_list(fk.kube, NS "/configmaps", &o, &page, NULL), ==, 0);
	g_assert_cmpint(alga_json_get_array(page, "items", ALGA_JSON_REQUIRED, &items, NULL), ==, 1);
	g_assert_cmpuint(json_object_array_length(items), ==, 3);
	g_assert_cmpint(alga_json_get_string(page, "metadata.continue", ALGA_JSON_REQUIRED, &cont, NULL), ==, 1);
	g_assert_cmpstr(cont, !=, "");

	g_assert_cmpint(alga_kube_list_all(fk.kube, NS "/configmaps", &o, &all, NULL), ==, 0);
	g_assert_cmpuint(json_object_array_length(all), ==, 7);

	o = (struct alga_kube_list_options){ .label_selector = "page=yes,tier=a" };
	g_assert_cmpint(alga_kube_list(fk.kube, NS "/configmaps", &o, &a, NULL), ==, 0);
	g_assert_cmpint(alga_json_get_array(a, "items", ALGA_JSON_REQUIRED, &items, NULL), ==, 1);
	g_assert_cmpuint(json_object_array_length(items), ==, 3);

	o = (struct alga_kube_list_options){ .field_selector = "metadata.name=page-3" };
	g_assert_cmpint(alga_kube_list(fk.kube, NS "/configmaps", &o, &f, NULL), ==, 0);
	g_assert_cmpint(alga_json_get_array(f, "items", ALGA_JSON_REQUIRED, &items, NULL), ==, 1);
	g_assert_cmpuint(json_object_array_length(items), ==, 1);
	g_assert_cmpstr(str_at(json_object_array_get_idx(items, 0), "metadata.name"), ==, "page-3");

	o = (struct alga_kube_list_options){ .label_selector = "page in (no, never)" };
	g_assert_cmpint(alga_kube_list(fk.kube, NS "/configmaps", &o, &none, NULL), ==, 0);
	g_assert_cmpint(alga_json_get_array(none, "items", ALGA_JSON_REQUIRED, &items, NULL), ==, 1);
	g_assert_cmpuint(json_object_array_length(items), ==, 0);
}

static void test_log(void)
{
	_cleanup_(json_object_putp) struct json_object *pod = J(
		"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"logger\"},"
		"\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"busybox\"}]}}");
	struct alga_kube_log_options o = { .container = "app", .tail_lines = -1 };
	_cleanup_free_ char *all = NULL, *tail = NULL, *lim = NULL, *prev = NULL, *detail = NULL;
	size_t n;

	g_assert_cmpint(alga_kube_create(fk.kube, NS "/pods", pod, 0, NULL, NULL), ==, 0);
	ctl(ALGA_KUBE_POST, "/_control/logs",
	    "{\"namespace\":\"kt\",\"pod\":\"logger\",\"container\":\"app\",\"text\":\"l1\\nl2\\nl3\\n\"}");
	ctl(ALGA_KUBE_POST, "/_control/logs",
	    "{\"namespace\":\"kt\",\"pod\":\"logger\",\"container\":\"app\",\"text\":\"crashed\\n\",\"previous\":true}");

	g_assert_cmpint(alga_kube_log(fk.kube, "kt", "logger", &o, &all, &n, NULL), ==, 0);
	g_assert_cmpstr(all, ==, "l1\nl2\nl3\n");
	g_assert_cmpuint(n, ==, 9);
	o.tail_lines = 2;
	g_assert_cmpint(alga_kube_log(fk.kube, "kt", "logger", &o, &tail, NULL, NULL), ==, 0);
	g_assert_cmpstr(tail, ==, "l2\nl3\n");
	o.tail_lines = -1;
	o.limit_bytes = 4;
	g_assert_cmpint(alga_kube_log(fk.kube, "kt", "logger", &o, &lim, NULL, NULL), ==, 0);
	g_assert_cmpstr(lim, ==, "l1\nl");
	o.limit_bytes = 0;
	o.previous = true;
	g_assert_cmpint(alga_kube_log(fk.kube, "kt", "logger", &o, &prev, NULL, NULL), ==, 0);
	g_assert_cmpstr(prev, ==, "crashed\n");

	g_assert_cmpint(alga_kube_log(fk.kube, "kt", "nopod", NULL, NULL, NULL, &detail), ==, -ENOENT);
	g_assert_cmpint(alga_kube_log(fk.kube, "kt", "../x", NULL, NULL, NULL, NULL), ==, -EINVAL);
}

static void test_table_secrets(void)
{
	/* base64 of "s3cr3t-value" */
	_cleanup_(json_object_putp) struct json_object *sec = J(
		"{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"tbl\"},\"type\":\"Opaque\","
		"\"data\":{\"password\":\"czNjcjN0LXZhbHVl\"}}");
	_cleanup_(json_object_putp) struct json_object *none = NULL, *full = NULL;
	struct json_object *rows, *obj;
	const char *s;

	g_assert_cmpint(alga_kube_create(fk.kube, NS "/secrets", sec, 0, NULL, NULL), ==, 0);
	g_assert_cmpint(alga_kube_table(fk.kube, NS "/secrets", ALGA_KUBE_INCLUDE_NONE, &none, NULL), ==, 0);
	g_assert_cmpstr(str_at(none, "kind"), ==, "Table");
	g_assert_cmpint(alga_json_get_array(none, "rows", ALGA_JSON_REQUIRED, &rows, NULL), ==, 1);
	g_assert_cmpuint(json_object_array_length(rows), >=, 1);
	for (size_t i = 0; i < json_object_array_length(rows); i++)
		g_assert_cmpint(alga_json_get_object(json_object_array_get_idx(rows, i), "object",
						     ALGA_JSON_OPTIONAL, &obj, NULL),
				==, 0);
	s = json_object_to_json_string(none);
	g_assert_null(strstr(s, "czNjcjN0LXZhbHVl"));

	/* the check above can fail: with the object, the value is there */
	g_assert_cmpint(alga_kube_table(fk.kube, NS "/secrets", ALGA_KUBE_INCLUDE_OBJECT, &full, NULL), ==, 0);
	g_assert_nonnull(strstr(json_object_to_json_string(full), "czNjcjN0LXZhbHVl"));
}

static struct json_object *fixture_json(const char *name)
{
	g_autofree char *path = g_test_build_filename(G_TEST_DIST, "fixtures", "kube", name, NULL);
	g_autofree char *text = NULL;

	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	return J(text);
}

static void test_discovery_crd(void)
{
	_cleanup_(json_object_putp) struct json_object *w = fixture_json("crd-widgets.json");
	_cleanup_(json_object_putp) struct json_object *g = fixture_json("crd-gadgets.json");
	_cleanup_(json_object_putp) struct json_object *obj = J(
		"{\"apiVersion\":\"example.alga.test/v1\",\"kind\":\"Gadget\",\"metadata\":{\"name\":\"g1\",\"namespace\":\"kt\"},\"spec\":{\"size\":3}}");
	_cleanup_free_ char *detail = NULL;
	struct alga_kube_resource res;

	g_assert_cmpint(alga_kube_discover(fk.kube, "example.alga.test/v1", "Widget", &res, &detail), ==,
			-ENOENT);
	g_assert_cmpint(alga_kube_discover(fk.kube, "v1", "ConfigMap", &res, NULL), ==, 0);
	g_assert_cmpstr(res.name, ==, "configmaps");
	g_assert_true(res.namespaced);
	g_assert_cmpint(alga_kube_discover(fk.kube, "v1", "Namespace", &res, NULL), ==, 0);
	g_assert_false(res.namespaced);
	g_assert_cmpint(alga_kube_discover(fk.kube, "Bad/Version/x", "X", &res, NULL), ==, -EINVAL);

	g_assert_cmpint(alga_kube_apply_object(fk.kube, w, 0, NULL, NULL), ==, 0);
	g_assert_cmpint(alga_kube_wait_condition(fk.kube,
						 "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.alga.test",
						 ALGA_KUBE_CONDITION_ESTABLISHED, 5 * USEC_PER_SEC, NULL),
			==, 0);
	g_assert_cmpint(alga_kube_discover(fk.kube, "example.alga.test/v1", "Widget", &res, NULL), ==, 0);
	g_assert_cmpstr(res.name, ==, "widgets");

	/* the group-version is cached now; a second CRD in it must be found */
	g_assert_cmpint(alga_kube_apply_object(fk.kube, g, 0, NULL, NULL), ==, 0);
	g_assert_cmpint(alga_kube_apply_object(fk.kube, obj, 0, NULL, NULL), ==, 0);
	g_assert_cmpint(alga_kube_get(fk.kube, "/apis/example.alga.test/v1/namespaces/kt/gadgets/g1", NULL,
				      NULL),
			==, 0);
	alga_kube_discovery_invalidate(fk.kube);
	g_assert_cmpint(alga_kube_discover(fk.kube, "example.alga.test/v1", "Gadget", &res, NULL), ==, 0);
}

static void test_wait_condition(void)
{
	_cleanup_free_ char *detail = NULL;
	const char *path = "/apis/apps/v1/namespaces/kt/deployments/waiter";

	apply_ok(fk.kube, path,
		 "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"waiter\",\"namespace\":\"kt\"},"
		 "\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"w\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"w\"}},"
		 "\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"busybox\"}]}}}}",
		 NULL);
	g_assert_cmpint(alga_kube_wait_condition(fk.kube, path, ALGA_KUBE_CONDITION_AVAILABLE,
						 300 * USEC_PER_MSEC, &detail),
			==, -ETIMEDOUT);
	g_assert_nonnull(strstr(detail, "Available"));

	ctl(ALGA_KUBE_POST, "/_control/status",
	    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"namespace\":\"kt\",\"name\":\"waiter\",\"preset\":\"available\"}");
	g_assert_cmpint(alga_kube_wait_condition(fk.kube, path, ALGA_KUBE_CONDITION_AVAILABLE,
						 5 * USEC_PER_SEC, NULL),
			==, 0);

	/* Ready=False with a reason: the timeout names it */
	ctl(ALGA_KUBE_POST, "/_control/status",
	    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"namespace\":\"kt\",\"name\":\"waiter\","
	    "\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\",\"reason\":\"Broken\",\"message\":\"it broke\"}]}");
	free(detail);
	detail = NULL;
	g_assert_cmpint(alga_kube_wait_condition(fk.kube, path, ALGA_KUBE_CONDITION_READY,
						 300 * USEC_PER_MSEC, &detail),
			==, -ETIMEDOUT);
	g_assert_nonnull(strstr(detail, "Ready is False: Broken: it broke"));
	/* an object that never appears */
	g_assert_cmpint(alga_kube_wait_condition(fk.kube, NS "/configmaps/never", "Ready",
						 200 * USEC_PER_MSEC, NULL),
			==, -ETIMEDOUT);
}

static void test_condition_parse(void)
{
	_cleanup_(json_object_putp) struct json_object *stale = J(
		"{\"metadata\":{\"generation\":3},\"status\":{\"observedGeneration\":2,\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}");
	_cleanup_(json_object_putp) struct json_object *cur = J(
		"{\"metadata\":{\"generation\":3},\"status\":{\"observedGeneration\":3,\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Ok\"}]}}");
	_cleanup_(json_object_putp) struct json_object *bad = J("{\"status\":{\"conditions\":{}}}");
	const char *status = NULL, *reason = NULL;

	g_assert_cmpint(alga_kube_condition(stale, "Ready", &status, NULL, NULL), ==, 0);
	g_assert_cmpint(alga_kube_condition(cur, "Ready", &status, &reason, NULL), ==, 1);
	g_assert_cmpstr(status, ==, "True");
	g_assert_cmpstr(reason, ==, "Ok");
	g_assert_cmpint(alga_kube_condition(cur, "Stalled", &status, NULL, NULL), ==, 0);
	g_assert_cmpint(alga_kube_condition(bad, "Ready", &status, NULL, NULL), ==, -EBADMSG);
}

/* one GET of a path that a fault targets, with a short timeout */
static int faulted_get(const char *path, size_t body_max, uint64_t timeout, char **ret_message,
		       long *ret_status)
{
	_cleanup_(alga_kube_request_freep) struct alga_kube_request *req = NULL;
	int r;

	g_assert_cmpint(alga_kube_request_new(fk.kube, ALGA_KUBE_GET, path, &req), ==, 0);
	if (body_max)
		g_assert_cmpint(alga_kube_request_set_body_max(req, body_max), ==, 0);
	alga_kube_request_set_timeout(req, timeout);
	g_assert_cmpint(alga_kube_submit(fk.kube, req, NULL, NULL), ==, 0);
	g_assert_cmpint(alga_kube_run(fk.kube, 0), ==, 0);
	r = alga_kube_request_result(req);
	if (ret_message)
		*ret_message = g_strdup(alga_kube_request_message(req));
	if (ret_status)
		*ret_status = alga_kube_request_http_status(req);
	return r;
}

static void test_faults(void)
{
	static const struct {
		const char *fault;
		int error;
		const char *message;
	} cases[] = {
		{ "{\"mode\":\"delay\",\"ms\":1500,\"path\":\"^/api/v1/namespaces/default$\"}", -ETIMEDOUT, "timed out" },
		{ "{\"mode\":\"hang\",\"ms\":3000,\"path\":\"^/api/v1/namespaces/default$\"}", -ETIMEDOUT, "timed out" },
		{ "{\"mode\":\"reset\",\"bytes\":150,\"path\":\"^/api/v1/namespaces/default$\"}", -ECONNRESET, NULL },
		{ "{\"mode\":\"status\",\"status\":401,\"path\":\"^/api/v1/namespaces/default$\"}", -EACCES, NULL },
		{ "{\"mode\":\"status\",\"status\":403,\"message\":\"forbidden by test\",\"path\":\"^/api/v1/namespaces/default$\"}",
		  -EACCES, "forbidden by test" },
		{ "{\"mode\":\"status\",\"status\":429,\"retryAfter\":1,\"path\":\"^/api/v1/namespaces/default$\"}", -EAGAIN, NULL },
		{ "{\"mode\":\"status\",\"status\":500,\"path\":\"^/api/v1/namespaces/default$\"}", -EIO, NULL },
		{ "{\"mode\":\"status\",\"status\":422,\"reason\":\"Invalid\",\"path\":\"^/api/v1/namespaces/default$\"}", -EINVAL, NULL },
		{ "{\"mode\":\"oversize\",\"bytes\":300000,\"path\":\"^/api/v1/namespaces/default$\"}", -E2BIG, "limit" },
		{ "{\"mode\":\"malformed\",\"path\":\"^/api/v1/namespaces/default$\"}", -EBADMSG, "JSON" },
		{ "{\"mode\":\"body\",\"body\":\"{\\\"a\\\":1} trailing\",\"path\":\"^/api/v1/namespaces/default$\"}", -EBADMSG, "JSON" },
		{ "{\"mode\":\"body\",\"body\":\"<html>\",\"status\":502,\"contentType\":\"text/html\",\"path\":\"^/api/v1/namespaces/default$\"}",
		  -EIO, "HTTP 502" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		g_autofree char *message = NULL;
		uint64_t t0 = now_usec();
		long status = 0;
		int r;

		fault(cases[i].fault);
		r = faulted_get("/api/v1/namespaces/default", 100000, 500 * USEC_PER_MSEC, &message, &status);
		if (g_test_verbose() || r != cases[i].error)
			g_test_message("fault %zu: r=%d status=%ld message=%s (%" PRIu64 " ms)", i, r,
				       status, strna(message), (now_usec() - t0) / 1000);
		g_assert_cmpint(r, ==, cases[i].error);
		g_assert_nonnull(message);
		if (cases[i].message && !strstr(message, cases[i].message))
			g_error("fault %zu: message '%s' lacks '%s'", i, message, cases[i].message);
		/* the deadline holds */
		g_assert_cmpuint(now_usec() - t0, <, 1500 * USEC_PER_MSEC);
		clear_faults();
	}

	/* a fault gone, the same client goes on */
	g_assert_cmpint(faulted_get("/api/v1/namespaces/default", 0, USEC_PER_SEC, NULL, NULL), ==, 0);
}

static void test_run_deadline(void)
{
	_cleanup_(alga_kube_request_freep) struct alga_kube_request *req = NULL;
	uint64_t t0;

	fault("{\"mode\":\"hang\",\"ms\":3000,\"path\":\"^/api/v1/namespaces/kube-system$\"}");
	g_assert_cmpint(alga_kube_request_new(fk.kube, ALGA_KUBE_GET, "/api/v1/namespaces/kube-system", &req), ==, 0);
	g_assert_cmpint(alga_kube_submit(fk.kube, req, NULL, NULL), ==, 0);
	g_assert_cmpint(alga_kube_submit(fk.kube, req, NULL, NULL), ==, -EBUSY);
	t0 = now_usec();
	g_assert_cmpint(alga_kube_run(fk.kube, t0 + 300 * USEC_PER_MSEC), ==, -ETIMEDOUT);
	g_assert_cmpuint(now_usec() - t0, <, USEC_PER_SEC);
	g_assert_cmpint(alga_kube_request_result(req), ==, -ETIMEDOUT);
	g_assert_cmpuint(alga_kube_in_flight(fk.kube), ==, 0);
	clear_faults();

	/* a deadline already past */
	alga_kube_request_set_deadline(req, now_usec() - 1);
	g_assert_cmpint(alga_kube_submit(fk.kube, req, NULL, NULL), ==, -ETIMEDOUT);
	g_assert_cmpint(alga_kube_request_result(req), ==, -ETIMEDOUT);
}

/* status.md §4.1's wave 1, less the login probe, plus /version */
static const char *const wave1[] = {
	"/api/v1/nodes?limit=16",
	"/api/v1/pods?limit=500",
	"/apis/batch/v1/namespaces/msp/jobs?limit=100",
	"/apis/apps/v1/namespaces/msp/deployments?limit=100",
	"/apis/apps/v1/namespaces/msp/statefulsets?limit=50",
	"/apis/apps/v1/namespaces/kt/deployments?limit=50",
	"/api/v1/namespaces/kt/configmaps?limit=50",
	"/api/v1/namespaces/kt/secrets?limit=50",
	"/api/v1/events?fieldSelector=type%3DWarning&limit=250",
	"/api/v1/namespaces/msp/events?limit=250",
	"/api/v1/namespaces/alga-system/configmaps/appliance-release-selection",
	"/version",
};

struct counter {
	unsigned done;
	unsigned failed;
	unsigned expected;
};

static void on_done(struct alga_kube_request *req, int result, void *userdata)
{
	struct counter *c = userdata;
	long st = alga_kube_request_http_status(req);

	c->done++;
	/* 404 for the absent ConfigMap is an answer too */
	if (result < 0 && st != 404)
		c->failed++;
}

static void test_concurrent(void)
{
	struct alga_kube_request *reqs[ELEMENTSOF(wave1)] = {};
	struct counter c = { .expected = ELEMENTSOF(wave1) };
	uint64_t t0;

	/* each answer takes 300 ms: one at a time would be 3.6 s */
	fault("{\"mode\":\"delay\",\"ms\":300,\"count\":12}");
	for (size_t i = 0; i < ELEMENTSOF(wave1); i++) {
		g_assert_cmpint(alga_kube_request_new(fk.kube, ALGA_KUBE_GET, wave1[i], &reqs[i]), ==, 0);
		g_assert_cmpint(alga_kube_submit(fk.kube, reqs[i], on_done, &c), ==, 0);
	}
	g_assert_cmpuint(alga_kube_in_flight(fk.kube), ==, 12);
	t0 = now_usec();
	g_assert_cmpint(alga_kube_run(fk.kube, t0 + 5 * USEC_PER_SEC), ==, 0);
	g_test_message("12 delayed GETs in %" PRIu64 " ms", (now_usec() - t0) / 1000);
	g_assert_cmpuint(c.done, ==, 12);
	g_assert_cmpuint(c.failed, ==, 0);
	g_assert_cmpuint(now_usec() - t0, <, 1800 * USEC_PER_MSEC);
	for (size_t i = 0; i < ELEMENTSOF(wave1); i++) {
		g_assert_cmpint(alga_kube_request_http_version(reqs[i]), ==, 1);
		alga_kube_request_free(reqs[i]);
	}
	clear_faults();
}

static void test_event(void)
{
	_cleanup_(alga_kube_freep) struct alga_kube *k = kube_new_with("alga-setup", NULL);
	struct alga_kube_request *reqs[ELEMENTSOF(wave1)] = {};
	struct counter c = { .expected = ELEMENTSOF(wave1) };
	sd_event *e = NULL;
	uint64_t t0;

	g_assert_cmpint(sd_event_new(&e), >=, 0);
	g_assert_cmpint(alga_kube_attach_event(k, e, 0), ==, 0);
	g_assert_cmpint(alga_kube_attach_event(k, e, 0), ==, -EBUSY);

	/* two rounds through one loop: the second reuses the connections */
	for (int round = 0; round < 2; round++) {
		fault("{\"mode\":\"delay\",\"ms\":300,\"count\":12}");
		c.done = c.failed = 0;
		for (size_t i = 0; i < ELEMENTSOF(wave1); i++) {
			g_assert_cmpint(alga_kube_request_new(k, ALGA_KUBE_GET, wave1[i], &reqs[i]), ==, 0);
			g_assert_cmpint(alga_kube_submit(k, reqs[i], on_done, &c), ==, 0);
		}
		/* submit returned at once; a blocking call is refused */
		g_assert_cmpuint(c.done, ==, 0);
		g_assert_cmpint(alga_kube_get(k, "/version", NULL, NULL), ==, -EBUSY);
		g_assert_cmpint(alga_kube_run(k, 0), ==, -EBUSY);
		g_assert_cmpint(alga_kube_detach_event(k), ==, -EBUSY);

		t0 = now_usec();
		/* sd_event_run(), not _loop(): an exited loop cannot run again */
		while (c.done < c.expected && now_usec() - t0 < 5 * USEC_PER_SEC)
			g_assert_cmpint(sd_event_run(e, 100 * USEC_PER_MSEC), >=, 0);
		g_test_message("event round %d: %" PRIu64 " ms", round, (now_usec() - t0) / 1000);
		g_assert_cmpuint(c.done, ==, 12);
		g_assert_cmpuint(c.failed, ==, 0);
		g_assert_cmpuint(now_usec() - t0, <, 1800 * USEC_PER_MSEC);
		for (size_t i = 0; i < ELEMENTSOF(wave1); i++)
			reqs[i] = alga_kube_request_free(reqs[i]);
		clear_faults();
	}

	/* a request freed while in flight is cancelled without a callback */
	g_assert_cmpint(alga_kube_request_new(k, ALGA_KUBE_GET, "/version", &reqs[0]), ==, 0);
	g_assert_cmpint(alga_kube_submit(k, reqs[0], on_done, &c), ==, 0);
	reqs[0] = alga_kube_request_free(reqs[0]);
	g_assert_cmpuint(alga_kube_in_flight(k), ==, 0);

	g_assert_cmpint(alga_kube_detach_event(k), ==, 0);
	g_assert_cmpint(alga_kube_get(k, "/version", NULL, NULL), ==, 0);
	sd_event_unref(e);
}

static void test_request_api(void)
{
	_cleanup_(alga_kube_request_freep) struct alga_kube_request *req = NULL;
	g_autofree char *big = g_malloc0(ALGA_KUBE_REQUEST_BODY_MAX + 2);

	g_assert_cmpint(alga_kube_request_new(fk.kube, _ALGA_KUBE_METHOD_MAX, "/x", &req), ==, -EINVAL);
	g_assert_cmpint(alga_kube_request_new(fk.kube, ALGA_KUBE_GET, "/api/v1/namespaces", &req), ==, 0);
	g_assert_cmpint(alga_kube_request_result(req), ==, -EINPROGRESS);
	g_assert_cmpint(alga_kube_request_add_query(req, "labelSelector", "a in (b, c)"), ==, 0);
	g_assert_cmpint(alga_kube_request_set_body_max(req, ALGA_KUBE_BODY_MAX + 1), ==, -E2BIG);
	g_assert_cmpint(alga_kube_request_set_body(req, "application/json", big,
						   ALGA_KUBE_REQUEST_BODY_MAX + 1),
			==, -E2BIG);
	g_assert_cmpint(alga_kube_request_set_accept(req, "a\r\nb"), ==, -EINVAL);
	g_assert_cmpint(alga_kube_submit(fk.kube, req, NULL, NULL), ==, 0);
	g_assert_cmpint(alga_kube_run_until(fk.kube, req, 0), ==, 0);
	g_assert_cmpint(alga_kube_request_result(req), ==, 0);
	g_assert_cmpint(alga_kube_request_http_status(req), ==, 200);
	g_assert_null(alga_kube_request_message(req));
	g_assert_nonnull(alga_kube_request_json(req));
	g_assert_cmpuint(alga_kube_request_duration_usec(req), >, 0);

	g_assert_cmpstr(alga_kube_method_to_string(ALGA_KUBE_PATCH), ==, "PATCH");
	g_assert_cmpint(alga_kube_method_from_string("DELETE"), ==, ALGA_KUBE_DELETE);
	g_assert_cmpint(alga_kube_method_from_string("TRACE"), ==, -EINVAL);
	g_assert_cmpint(alga_kube_propagation_from_string("Foreground"), ==, ALGA_KUBE_PROPAGATION_FOREGROUND);
	g_assert_cmpint(alga_kube_propagation_from_string("x"), ==, -EINVAL);
}

static void test_status_errno(void)
{
	static const struct {
		long status;
		const char *body;
		int error;
	} cases[] = {
		{ 200, NULL, 0 },
		{ 404, "{\"kind\":\"Status\",\"reason\":\"NotFound\",\"message\":\"x not found\"}", -ENOENT },
		{ 409, "{\"kind\":\"Status\",\"reason\":\"AlreadyExists\"}", -EEXIST },
		{ 409, "{\"kind\":\"Status\",\"reason\":\"Conflict\"}", -EBUSY },
		{ 401, "", -EACCES },
		{ 403, "not json", -EACCES },
		{ 422, "{}", -EINVAL },
		{ 429, NULL, -EAGAIN },
		{ 500, NULL, -EIO },
		{ 503, "{\"reason\":\"Timeout\"}", -ETIMEDOUT },
		{ 504, NULL, -ETIMEDOUT },
		{ 410, NULL, -ESTALE },
		{ 413, NULL, -E2BIG },
		{ 302, NULL, -EPROTO },
		{ 418, NULL, -EPROTO },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *reason = NULL, *message = NULL;
		int r = alga_kube_status_to_errno(cases[i].status, cases[i].body,
						  cases[i].body ? strlen(cases[i].body) : 0, &reason, &message);

		g_assert_cmpint(r, ==, cases[i].error);
		if (r < 0)
			g_assert_nonnull(message);
	}

	{
		/* a long message is cut on a UTF-8 boundary, controls blanked */
		GString *s = g_string_new("{\"message\":\"a\\u0007");
		_cleanup_free_ char *message = NULL;

		for (int i = 0; i < 400; i++)
			g_string_append(s, "\xc3\xa9");
		g_string_append(s, "\"}");
		g_assert_cmpint(alga_kube_status_to_errno(500, s->str, s->len, NULL, &message), ==, -EIO);
		g_assert_cmpuint(strlen(message), <=, ALGA_KUBE_MESSAGE_MAX);
		g_assert_true(g_utf8_validate(message, -1, NULL));
		g_assert_true(g_str_has_prefix(message, "a "));
		g_string_free(s, TRUE);
	}
}

static void test_body_stream(void)
{
	static const char doc[] = "  {\"a\": [1, 2, {\"b\": \"c\"}], \"d\": 12345}\n";
	_cleanup_(alga_kube_body_freep) struct alga_kube_body *b = NULL, *small = NULL, *bad = NULL;
	_cleanup_(json_object_putp) struct json_object *o = NULL;

	/* one byte at a time parses as one chunk does */
	g_assert_cmpint(alga_kube_body_new(1024, &b), ==, 0);
	for (size_t i = 0; i < sizeof(doc) - 1; i++)
		g_assert_cmpint(alga_kube_body_feed(b, doc + i, 1), ==, 0);
	g_assert_cmpint(alga_kube_body_finish(b, &o), ==, 0);
	g_assert_cmpstr(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), ==,
			"{\"a\":[1,2,{\"b\":\"c\"}],\"d\":12345}");

	g_assert_cmpint(alga_kube_body_new(10, &small), ==, 0);
	g_assert_cmpint(alga_kube_body_feed(small, doc, 10), ==, 0);
	g_assert_cmpint(alga_kube_body_feed(small, doc + 10, 1), ==, -E2BIG);

	g_assert_cmpint(alga_kube_body_new(1024, &bad), ==, 0);
	g_assert_cmpint(alga_kube_body_feed(bad, " 4", 2), ==, -EBADMSG);
	bad = alga_kube_body_free(bad);
	g_assert_cmpint(alga_kube_body_new(1024, &bad), ==, 0);
	g_assert_cmpint(alga_kube_body_feed(bad, "{\"a\":", 5), ==, 0);
	{
		struct json_object *none = NULL;

		g_assert_cmpint(alga_kube_body_finish(bad, &none), ==, -EBADMSG);
		g_assert_null(none);
	}
}

static void test_skip(gconstpointer reason)
{
	g_test_skip(reason);
}

int main(int argc, char *argv[])
{
	const char *why;
	int r;

	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/kube/status_to_errno/table", test_status_errno);
	g_test_add_func("/kube/body/stream", test_body_stream);
	g_test_add_func("/kube/condition/parse", test_condition_parse);

	why = skip_reason();
	if (why) {
		g_test_add_data_func("/kube/fakekube/skipped", why, test_skip);
		return g_test_run();
	}
	r = fk_start();
	if (r < 0) {
		g_test_add_data_func("/kube/fakekube/skipped", "fakekube did not start", test_skip);
		r = g_test_run();
		fk_stop();
		return r;
	}
	fk.kube = kube_new_with("alga-bootstrap", NULL);
	apply_ok(fk.kube, "/api/v1/namespaces/kt",
		 "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"kt\"}}", NULL);

	g_test_add_func("/kube/get/basic", test_get);
	g_test_add_func("/kube/get/token-context", test_token_context);
	g_test_add_func("/kube/get/tls-refused", test_tls_refused);
	g_test_add_func("/kube/get/connection-refused", test_refused);
	g_test_add_func("/kube/request/api", test_request_api);
	g_test_add_func("/kube/create/exists-and-dry-run", test_create);
	g_test_add_func("/kube/apply/twice-conflict-force", test_apply);
	g_test_add_func("/kube/apply/object", test_apply_object);
	g_test_add_func("/kube/patch/merge-and-json", test_patch);
	g_test_add_func("/kube/delete/propagation-and-wait", test_delete);
	g_test_add_func("/kube/list/paging-and-selectors", test_list);
	g_test_add_func("/kube/log/tail-limit-previous", test_log);
	g_test_add_func("/kube/table/secrets-without-object", test_table_secrets);
	g_test_add_func("/kube/discover/crd-rediscovery", test_discovery_crd);
	g_test_add_func("/kube/wait/condition", test_wait_condition);
	g_test_add_func("/kube/faults/each-mode", test_faults);
	g_test_add_func("/kube/run/deadline", test_run_deadline);
	g_test_add_func("/kube/concurrent/twelve-gets", test_concurrent);
	g_test_add_func("/kube/event/sd-event", test_event);

	r = g_test_run();
	fk.kube = alga_kube_free(fk.kube);
	fk_stop();
	return r;
}
