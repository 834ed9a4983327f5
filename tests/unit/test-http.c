/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "http.h"

/* ---- parsers and mappings (table-driven) ----------------------------------- */

static void test_header_line(void)
{
	static const struct {
		const char *in;
		int r;
		const char *name, *value;
	} cases[] = {
		{ "Content-Type: application/json\r\n", 1, "Content-Type", "application/json" },
		{ "x:y", 1, "x", "y" },
		{ "X-Empty:\r\n", 1, "X-Empty", "" },
		{ "Name: \t spaced value \t\r\n", 1, "Name", "spaced value" },
		{ "Www-Authenticate: Bearer realm=\"a:b\"\n", 1, "Www-Authenticate", "Bearer realm=\"a:b\"" },
		{ "\r\n", 0, NULL, NULL },
		{ "\n", 0, NULL, NULL },
		{ "HTTP/1.1 200 OK\r\n", 0, NULL, NULL },
		{ "no colon\r\n", -EBADMSG, NULL, NULL },
		{ ": value\r\n", -EBADMSG, NULL, NULL },
		{ "Bad Name: v\r\n", -EBADMSG, NULL, NULL },
		{ " folded: v\r\n", -EBADMSG, NULL, NULL },   /* obs-fold */
		{ "\tfolded\r\n", -EBADMSG, NULL, NULL },
		{ "Ctl: a\x01z\r\n", -EBADMSG, NULL, NULL },
		{ "Del: a\x7fz\r\n", -EBADMSG, NULL, NULL },
		{ "Cr: a\rb\r\n", -EBADMSG, NULL, NULL },
		{ "N\xc3\xa9: v\r\n", -EBADMSG, NULL, NULL },
		{ "Bearer realm=\"a:b\"\r\n", -EBADMSG, NULL, NULL },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *n = NULL, *v = NULL;

		g_assert_cmpint(alga_http_header_line_parse(cases[i].in, strlen(cases[i].in), &n, &v),
				==, cases[i].r);
		g_assert_cmpstr(n, ==, cases[i].name);
		g_assert_cmpstr(v, ==, cases[i].value);
	}
}

static void test_header_line_limit(void)
{
	_cleanup_free_ char *n = NULL, *v = NULL;
	char *line = g_malloc(ALGA_HTTP_HEADER_LINE_MAX + 2);

	memset(line, 'a', ALGA_HTTP_HEADER_LINE_MAX + 1);
	memcpy(line, "X: ", 3);
	g_assert_cmpint(alga_http_header_line_parse(line, ALGA_HTTP_HEADER_LINE_MAX, &n, &v), ==, 1);
	free(n);
	free(v);
	n = v = NULL;
	g_assert_cmpint(alga_http_header_line_parse(line, ALGA_HTTP_HEADER_LINE_MAX + 1, &n, &v), ==,
			-E2BIG);
	g_free(line);
}

static void test_status_to_errno(void)
{
	static const struct {
		long status;
		int r;
		enum alga_error_class class;
	} cases[] = {
		{ 200, 0, ALGA_ERROR_NONE },
		{ 204, 0, ALGA_ERROR_NONE },
		{ 401, -EACCES, ALGA_ERROR_AUTH },
		{ 403, -EACCES, ALGA_ERROR_AUTH },
		{ 404, -ENOENT, ALGA_ERROR_NOT_FOUND },
		{ 408, -ETIMEDOUT, ALGA_ERROR_NETWORK },
		{ 429, -EAGAIN, ALGA_ERROR_NETWORK },
		{ 500, -EPROTO, ALGA_ERROR_NETWORK },
		{ 502, -EAGAIN, ALGA_ERROR_NETWORK },
		{ 503, -EAGAIN, ALGA_ERROR_NETWORK },
		{ 504, -ETIMEDOUT, ALGA_ERROR_NETWORK },
		{ 302, -EPROTO, ALGA_ERROR_NETWORK },
		{ 100, -EPROTO, ALGA_ERROR_NETWORK },
		{ 418, -EPROTO, ALGA_ERROR_NETWORK },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		int r = alga_http_status_to_errno(cases[i].status);

		g_assert_cmpint(r, ==, cases[i].r);
		g_assert_cmpint(alga_http_errno_to_class(r), ==, cases[i].class);
	}

	g_assert_cmpint(alga_http_errno_to_class(-EKEYREJECTED), ==, ALGA_ERROR_TLS);
	g_assert_cmpint(alga_http_errno_to_class(-EPERM), ==, ALGA_ERROR_INTEGRITY);
	g_assert_cmpint(alga_http_errno_to_class(-ELOOP), ==, ALGA_ERROR_NETWORK);
	g_assert_cmpint(alga_http_errno_to_class(-EMEDIUMTYPE), ==, ALGA_ERROR_ARTIFACT);
}

static void test_error_helpers(void)
{
	struct alga_error e = {};
	_cleanup_free_ char *s = NULL;

	g_assert_cmpint(alga_error_set(&e, -EIO, ALGA_ERROR_NETWORK, 503,
				       "https://h/v2/x?token=secret#frag", "f", "x %d", 1), ==, -EIO);
	g_assert_cmpstr(e.url, ==, "https://h/v2/x");
	g_assert_cmpstr(e.field, ==, "f");
	g_assert_cmpstr(e.message, ==, "x 1");
	g_assert_cmpint(e.http_status, ==, 503);
	/* -ENOMEM leaves the details alone (nothing can be allocated) */
	g_assert_cmpint(alga_error_set(&e, -ENOMEM, ALGA_ERROR_INTERNAL, 0, NULL, NULL, "y"), ==,
			-ENOMEM);
	g_assert_cmpstr(e.message, ==, "x 1");
	/* rewriting an error from its own fields (oci.c does) */
	g_assert_cmpint(alga_error_set(&e, -E2BIG, ALGA_ERROR_INTEGRITY, e.http_status, e.url, e.field,
				       "again: %s", e.message), ==, -E2BIG);
	g_assert_cmpstr(e.url, ==, "https://h/v2/x");
	g_assert_cmpstr(e.field, ==, "f");
	g_assert_cmpstr(e.message, ==, "again: x 1");
	alga_error_clear(&e);
	g_assert_null(e.message);
	alga_error_clear(NULL);
	g_assert_cmpint(alga_error_set(NULL, -EIO, ALGA_ERROR_NETWORK, 0, NULL, NULL, "z"), ==, -EIO);

	for (unsigned c = 0; c < _ALGA_ERROR_CLASS_MAX; c++)
		g_assert_cmpint(alga_error_class_from_string(alga_error_class_to_string(c)), ==, (int)c);
	g_assert_cmpint(alga_error_class_from_string("bogus"), ==, -EINVAL);
	g_assert_null(alga_error_class_to_string(_ALGA_ERROR_CLASS_MAX));

	g_assert_cmpint(alga_http_url_strip_query("http://a/b?c", &s), ==, 0);
	g_assert_cmpstr(s, ==, "http://a/b");
}

/* ---- against blobhost ------------------------------------------------------ */

struct blobhost {
	GPid pid;
	char *dir;
	char *url; /* http://127.0.0.x:PORT */
	char *log;
};

static char *fixture_bin(const char *name)
{
	const char *root = g_getenv("ALGA_BUILD_ROOT");
	char *p;

	if (!root)
		return NULL;
	p = g_build_filename(root, "tests", "fixtures", "registry", name, NULL);
	if (!g_file_test(p, G_FILE_TEST_IS_EXECUTABLE)) {
		g_free(p);
		return NULL;
	}
	return p;
}

static void write_file(const char *dir, const char *rel, const char *data, gssize len)
{
	char *p = g_build_filename(dir, rel, NULL);
	char *d = g_path_get_dirname(p);

	g_assert_cmpint(g_mkdir_with_parents(d, 0755), ==, 0);
	g_assert_true(g_file_set_contents(p, data, len, NULL));
	g_free(d);
	g_free(p);
}

/* starts blobhost on addr with extra args; false (test skipped) when not built */
static bool blobhost_start(struct blobhost *b, const char *dir, const char *addr,
			   const char *const *extra)
{
	GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
	char *bin = fixture_bin("blobhost"), *ready, *contents = NULL;
	GError *error = NULL;

	if (!bin) {
		g_ptr_array_free(argv, TRUE);
		g_test_skip("blobhost not built (tests/fixtures/registry); ALGA_BUILD_ROOT unset?");
		return false;
	}
	*b = (struct blobhost){ .dir = g_strdup(dir) };
	ready = g_strdup_printf("%s.ready.%s", dir, addr);
	b->log = g_strdup_printf("%s.log.%s", dir, addr);
	(void)unlink(ready);
	g_ptr_array_add(argv, bin);
	g_ptr_array_add(argv, g_strdup("--dir"));
	g_ptr_array_add(argv, g_strdup(dir));
	g_ptr_array_add(argv, g_strdup("--addr"));
	g_ptr_array_add(argv, g_strdup(addr));
	g_ptr_array_add(argv, g_strdup("--ready-file"));
	g_ptr_array_add(argv, g_strdup(ready));
	g_ptr_array_add(argv, g_strdup("--log"));
	g_ptr_array_add(argv, g_strdup(b->log));
	for (const char *const *e = extra; e && *e; e++)
		g_ptr_array_add(argv, g_strdup(*e));
	g_ptr_array_add(argv, NULL);

	g_assert_true(g_spawn_async(NULL, (char **)argv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
				    NULL, NULL, &b->pid, &error));
	g_assert_no_error(error);
	for (unsigned i = 0; i < 500; i++) {
		if (g_file_get_contents(ready, &contents, NULL, NULL) && contents[0])
			break;
		g_free(contents);
		contents = NULL;
		g_usleep(10 * 1000);
	}
	g_assert_nonnull(contents);
	g_strstrip(contents);
	b->url = g_strdup_printf("http://%s", contents);
	g_free(contents);
	g_free(ready);
	g_ptr_array_free(argv, TRUE);
	return true;
}

static void blobhost_stop(struct blobhost *b)
{
	if (b->pid > 0) {
		(void)kill(b->pid, SIGTERM);
		(void)waitpid(b->pid, NULL, 0);
		g_spawn_close_pid(b->pid);
	}
	if (b->log)
		(void)unlink(b->log);
	g_free(b->dir);
	g_free(b->url);
	g_free(b->log);
	*b = (struct blobhost){};
}

static char *blobhost_log(const struct blobhost *b)
{
	char *s = NULL;

	(void)g_file_get_contents(b->log, &s, NULL, NULL);
	return s ?: g_strdup("");
}

static char *make_tree(void)
{
	char *dir = g_dir_make_tmp("test-http-XXXXXX", NULL);
	GString *many = g_string_new(NULL);
	char big[4096];

	g_assert_nonnull(dir);
	memset(big, 'b', sizeof(big));
	write_file(dir, "small", "hello", 5);
	write_file(dir, "big", big, sizeof(big));
	for (unsigned i = 0; i < ALGA_HTTP_HEADER_COUNT_MAX + 1; i++)
		g_string_append_printf(many, "X-H%u: v\n", i);
	write_file(dir, "many", "x", 1);
	write_file(dir, "many.headers", many->str, (gssize)many->len);
	g_string_free(many, TRUE);
	write_file(dir, "noloc", "x", 1);
	write_file(dir, "noloc.headers", "Status: 302\n", -1);
	return dir;
}

static void rm_rf(const char *dir)
{
	char *argv[] = { (char *)"rm", (char *)"-rf", (char *)dir, NULL };

	g_assert_true(g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
				   NULL, NULL));
}

static struct alga_http *client(bool allow_http, unsigned low_speed_sec)
{
	struct alga_http_options o = {
		.allow_http = allow_http,
		.low_speed_time_sec = low_speed_sec,
		.timeout_sec = 20,
	};
	struct alga_http *h = NULL;

	g_assert_cmpint(alga_http_new(&o, &h), ==, 0);
	return h;
}

static int get(struct alga_http *h, const char *url, const char *auth, size_t cap,
	       struct alga_http_response **ret, struct alga_error *e)
{
	struct alga_http_request req = { .url = url, .authorization = auth, .body_max = cap };

	return alga_http_get(h, &req, ret, e);
}

static void test_get_basic(void)
{
	_cleanup_(alga_http_freep) struct alga_http *h = NULL;
	char *dir = make_tree(), *url;
	struct blobhost b;

	if (!blobhost_start(&b, dir, "127.0.0.2", NULL))
		goto out;
	h = client(true, 0);

	/* buffer mode; 404 is a response, not a failure */
	url = g_strdup_printf("%s/small", b.url);
	{
		_cleanup_(alga_http_response_freep) struct alga_http_response *r = NULL;

		g_assert_cmpint(get(h, url, NULL, 0, &r, NULL), ==, 0);
		g_assert_cmpint(r->status, ==, 200);
		g_assert_cmpstr(r->body, ==, "hello");
		g_assert_cmpuint(r->body_size, ==, 5);
		g_assert_cmpint(r->content_length, ==, 5);
		g_assert_cmpstr(alga_http_response_get_header(r, "content-type"), ==,
				"application/octet-stream");
	}
	g_free(url);
	url = g_strdup_printf("%s/v2/x/blobs/none", b.url);
	{
		_cleanup_(alga_http_response_freep) struct alga_http_response *r = NULL;

		g_assert_cmpint(get(h, url, NULL, 0, &r, NULL), ==, 0);
		g_assert_cmpint(r->status, ==, 404);
		g_assert_nonnull(strstr(r->body, "BLOB_UNKNOWN"));
	}
	g_free(url);

	/* http refused unless allowed; other schemes always */
	{
		_cleanup_(alga_http_freep) struct alga_http *strict = client(false, 0);
		_cleanup_(alga_http_response_freep) struct alga_http_response *r = NULL;
		struct alga_error e = {};

		url = g_strdup_printf("%s/small", b.url);
		g_assert_cmpint(get(strict, url, NULL, 0, &r, &e), ==, -EPROTONOSUPPORT);
		g_assert_null(r);
		g_assert_nonnull(e.message);
		alga_error_clear(&e);
		g_free(url);
		g_assert_cmpint(get(h, "file:///etc/passwd", NULL, 0, &r, &e), ==, -EPROTONOSUPPORT);
		alga_error_clear(&e);
		g_assert_cmpint(get(h, "ftp://127.0.0.1/x", NULL, 0, &r, &e), ==, -EPROTONOSUPPORT);
		alga_error_clear(&e);
		g_assert_cmpint(get(h, "::not a url", NULL, 0, &r, &e), ==, -EINVAL);
		alga_error_clear(&e);
		/* ALGA_HTTP_URL_MAX, one past it */
		{
			char *longurl = g_strdup_printf("%s/%0*d", b.url,
							(int)(ALGA_HTTP_URL_MAX - strlen(b.url)), 0);

			g_assert_cmpint(get(h, longurl, NULL, 0, &r, &e), ==, -E2BIG);
			alga_error_clear(&e);
			g_free(longurl);
		}
	}

	/* Authorization never in the caller's header list */
	{
		_cleanup_(alga_http_response_freep) struct alga_http_response *r = NULL;
		const char *hdrs[] = { "authorization: Bearer x", NULL };
		struct alga_http_request req = { .headers = hdrs };

		url = g_strdup_printf("%s/small", b.url);
		req.url = url;
		g_assert_cmpint(alga_http_get(h, &req, &r, NULL), ==, -EINVAL);
		g_free(url);
	}
	blobhost_stop(&b);
out:
	rm_rf(dir);
	g_free(dir);
}

/* the counting cap: exactly at the cap passes, one byte more is -E2BIG */
static void test_get_cap(void)
{
	_cleanup_(alga_http_freep) struct alga_http *h = NULL;
	char *dir = make_tree(), *url;
	struct blobhost b;

	if (!blobhost_start(&b, dir, "127.0.0.2", NULL))
		goto out;
	h = client(true, 0);
	url = g_strdup_printf("%s/big", b.url);
	{
		_cleanup_(alga_http_response_freep) struct alga_http_response *r = NULL;

		g_assert_cmpint(get(h, url, NULL, 4096, &r, NULL), ==, 0);
		g_assert_cmpuint(r->body_size, ==, 4096);
	}
	{
		_cleanup_(alga_http_response_freep) struct alga_http_response *r = NULL;
		struct alga_error e = {};

		g_assert_cmpint(get(h, url, NULL, 4095, &r, &e), ==, -E2BIG);
		g_assert_null(r);
		g_assert_cmpint(e.class, ==, ALGA_ERROR_INTEGRITY);
		alga_error_clear(&e);
	}
	{
		_cleanup_(alga_http_response_freep) struct alga_http_response *r = NULL;

		g_assert_cmpint(get(h, url, NULL, ALGA_HTTP_BODY_MAX + 1, &r, NULL), ==, -EINVAL);
	}
	g_free(url);

	/* headers: over the count limit */
	url = g_strdup_printf("%s/many", b.url);
	{
		_cleanup_(alga_http_response_freep) struct alga_http_response *r = NULL;

		g_assert_cmpint(get(h, url, NULL, 0, &r, NULL), ==, -E2BIG);
	}
	g_free(url);
	/* a 3xx without Location */
	url = g_strdup_printf("%s/noloc", b.url);
	{
		_cleanup_(alga_http_response_freep) struct alga_http_response *r = NULL;

		g_assert_cmpint(get(h, url, NULL, 0, &r, NULL), ==, -EBADMSG);
	}
	g_free(url);
	blobhost_stop(&b);
out:
	rm_rf(dir);
	g_free(dir);
}

struct sink_state {
	size_t total;
	unsigned calls;
	int fail_with;
};

static int sink(const void *data, size_t len, void *userdata)
{
	struct sink_state *s = userdata;

	s->calls++;
	s->total += len;
	return s->fail_with;
}

static void test_get_stream(void)
{
	_cleanup_(alga_http_freep) struct alga_http *h = NULL;
	char *dir = make_tree(), *url;
	struct blobhost b;

	if (!blobhost_start(&b, dir, "127.0.0.2", NULL))
		goto out;
	h = client(true, 0);
	url = g_strdup_printf("%s/big", b.url);
	{
		_cleanup_(alga_http_response_freep) struct alga_http_response *r = NULL;
		struct sink_state s = {};
		struct alga_http_request req = { .url = url, .sink = sink, .sink_userdata = &s };

		g_assert_cmpint(alga_http_get(h, &req, &r, NULL), ==, 0);
		g_assert_null(r->body);
		g_assert_cmpuint(r->body_size, ==, 4096);
		g_assert_cmpuint(s.total, ==, 4096);
		g_assert_cmpuint(s.calls, >=, 1);
	}
	{
		_cleanup_(alga_http_response_freep) struct alga_http_response *r = NULL;
		struct sink_state s = { .fail_with = -ENOSPC };
		struct alga_http_request req = { .url = url, .sink = sink, .sink_userdata = &s };

		g_assert_cmpint(alga_http_get(h, &req, &r, NULL), ==, -ENOSPC);
		g_assert_cmpuint(s.calls, ==, 1);
	}
	g_free(url);
	blobhost_stop(&b);
out:
	rm_rf(dir);
	g_free(dir);
}

/* T24 at the HTTP level: hop limit, scheme rule */
static void test_redirects(void)
{
	_cleanup_(alga_http_freep) struct alga_http *h = NULL;
	const char *chain5[] = { "--redirect-chain", "5", NULL };
	const char *chain6[] = { "--redirect-chain", "6", NULL };
	const char *file[] = { "--redirect-to", "file:///etc/passwd", NULL };
	char *dir = make_tree(), *url;
	struct blobhost b;

	h = client(true, 0);

	if (!blobhost_start(&b, dir, "127.0.0.2", chain5))
		goto out;
	url = g_strdup_printf("%s/small", b.url);
	{
		_cleanup_(alga_http_response_freep) struct alga_http_response *r = NULL;
		char *log;

		g_assert_cmpint(get(h, url, "Bearer same-origin", 0, &r, NULL), ==, 0);
		g_assert_cmpint(r->status, ==, 200);
		g_assert_cmpuint(r->redirects, ==, 5);
		g_assert_cmpstr(r->body, ==, "hello");
		/* same origin all the way: the Authorization stays */
		log = blobhost_log(&b);
		g_assert_null(strstr(log, "auth=no"));
		g_free(log);
	}
	g_free(url);
	blobhost_stop(&b);

	g_assert_true(blobhost_start(&b, dir, "127.0.0.2", chain6));
	url = g_strdup_printf("%s/small", b.url);
	{
		_cleanup_(alga_http_response_freep) struct alga_http_response *r = NULL;
		struct alga_error e = {};

		g_assert_cmpint(get(h, url, NULL, 0, &r, &e), ==, -ELOOP);
		g_assert_cmpint(e.class, ==, ALGA_ERROR_NETWORK);
		alga_error_clear(&e);
	}
	g_free(url);
	blobhost_stop(&b);

	g_assert_true(blobhost_start(&b, dir, "127.0.0.2", file));
	url = g_strdup_printf("%s/small", b.url);
	{
		_cleanup_(alga_http_response_freep) struct alga_http_response *r = NULL;
		struct alga_error e = {};

		g_assert_cmpint(get(h, url, NULL, 0, &r, &e), ==, -EPROTONOSUPPORT);
		g_assert_cmpint(e.class, ==, ALGA_ERROR_INTEGRITY);
		g_assert_cmpstr(e.field, ==, "Location");
		alga_error_clear(&e);
	}
	g_free(url);
	blobhost_stop(&b);
out:
	rm_rf(dir);
	g_free(dir);
}

/* the origin rule: Authorization is not sent to another origin (T23 at the HTTP level) */
static void test_redirect_origin(void)
{
	_cleanup_(alga_http_freep) struct alga_http *h = NULL;
	char *dir = make_tree(), *url, *target, *log;
	struct blobhost other, b;

	if (!blobhost_start(&other, dir, "127.0.0.1", NULL))
		goto out;
	target = g_strdup_printf("%s/small", other.url);
	{
		const char *args[] = { "--redirect-to", target, NULL };

		g_assert_true(blobhost_start(&b, dir, "127.0.0.2", args));
	}
	h = client(true, 0);
	url = g_strdup_printf("%s/small?X-Amz-Signature=secret", b.url);
	{
		_cleanup_(alga_http_response_freep) struct alga_http_response *r = NULL;

		g_assert_cmpint(get(h, url, "Bearer origin-only", 0, &r, NULL), ==, 0);
		g_assert_cmpint(r->status, ==, 200);
		g_assert_cmpuint(r->redirects, ==, 1);
		g_assert_cmpstr(r->body, ==, "hello");
	}
	log = blobhost_log(&b);
	g_assert_nonnull(strstr(log, "auth=yes"));
	g_free(log);
	log = blobhost_log(&other);
	g_assert_nonnull(strstr(log, "auth=no"));
	g_assert_null(strstr(log, "auth=yes"));
	g_free(log);
	g_free(url);
	g_free(target);
	blobhost_stop(&b);
	blobhost_stop(&other);
out:
	rm_rf(dir);
	g_free(dir);
}

static int pin(const char *host, unsigned port, char **ret_addr, void *userdata)
{
	unsigned *calls = userdata;

	(*calls)++;
	if (!streq(host, "registry.alga.invalid"))
		return 0;
	*ret_addr = strdup("127.0.0.2");
	return *ret_addr ? 1 : -ENOMEM;
}

/* CURLOPT_RESOLVE pinning (alga-resolve --dns-server) */
static void test_resolve_pin(void)
{
	_cleanup_(alga_http_freep) struct alga_http *h = NULL;
	char *dir = make_tree(), *url;
	unsigned calls = 0;
	struct blobhost b;
	struct alga_http_options o = { .allow_http = true, .resolve = pin, .resolve_userdata = &calls };

	if (!blobhost_start(&b, dir, "127.0.0.2", NULL))
		goto out;
	g_assert_cmpint(alga_http_new(&o, &h), ==, 0);
	url = g_strdup_printf("http://registry.alga.invalid:%s/small", strrchr(b.url, ':') + 1);
	{
		_cleanup_(alga_http_response_freep) struct alga_http_response *r = NULL;

		g_assert_cmpint(get(h, url, NULL, 0, &r, NULL), ==, 0);
		g_assert_cmpstr(r->body, ==, "hello");
		g_assert_cmpuint(calls, ==, 1);
	}
	g_free(url);
	blobhost_stop(&b);
out:
	rm_rf(dir);
	g_free(dir);
}

/* T25/T26 at the HTTP level: refused, dropped, trickled */
static void test_transport_errors(void)
{
	_cleanup_(alga_http_freep) struct alga_http *h = NULL;
	const char *drop[] = { "--drop", NULL };
	const char *slow[] = { "--slow", NULL };
	char *dir = make_tree(), *url;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	struct blobhost b;
	int fd;

	h = client(true, 1);

	/* a port nobody listens on */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &sl), ==, 0);
	close(fd);
	url = g_strdup_printf("http://127.0.0.1:%u/x", ntohs(sa.sin_port));
	{
		_cleanup_(alga_http_response_freep) struct alga_http_response *r = NULL;
		struct alga_error e = {};

		g_assert_cmpint(get(h, url, NULL, 0, &r, &e), ==, -ECONNREFUSED);
		g_assert_cmpint(e.class, ==, ALGA_ERROR_NETWORK);
		g_assert_nonnull(e.url);
		alga_error_clear(&e);
	}
	g_free(url);

	if (!blobhost_start(&b, dir, "127.0.0.2", drop))
		goto out;
	url = g_strdup_printf("%s/small", b.url);
	{
		_cleanup_(alga_http_response_freep) struct alga_http_response *r = NULL;

		g_assert_cmpint(get(h, url, NULL, 0, &r, NULL), ==, -ECONNRESET);
	}
	g_free(url);
	blobhost_stop(&b);

	g_assert_true(blobhost_start(&b, dir, "127.0.0.2", slow));
	url = g_strdup_printf("%s/big", b.url);
	{
		_cleanup_(alga_http_response_freep) struct alga_http_response *r = NULL;
		gint64 t0 = g_get_monotonic_time();

		/* under 1 KiB/s for low_speed_time: a stall, not retried by oci */
		g_assert_cmpint(get(h, url, NULL, 0, &r, NULL), ==, -ETIME);
		g_assert_cmpint(g_get_monotonic_time() - t0, <, 10 * G_USEC_PER_SEC);
	}
	g_free(url);
	blobhost_stop(&b);
out:
	rm_rf(dir);
	g_free(dir);
}

/* ---- a one-answer server for shapes blobhost cannot send ------------------- */

struct canned {
	int fd;
	char *answer;
	size_t len;
	unsigned port;
	pthread_t thread;
};

static void *canned_serve(void *userdata)
{
	struct canned *c = userdata;
	char buf[4096];
	int conn;

	conn = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return NULL;
	(void)read(conn, buf, sizeof(buf));
	for (size_t off = 0; off < c->len;) {
		ssize_t n = write(conn, c->answer + off, c->len - off);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(conn);
	return NULL;
}

static void canned_start(struct canned *c, char *answer)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);

	*c = (struct canned){ .answer = answer, .len = strlen(answer) };
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(c->fd, >=, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_assert_cmpint(bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_assert_cmpint(listen(c->fd, 4), ==, 0);
	g_assert_cmpint(getsockname(c->fd, (struct sockaddr *)&sa, &sl), ==, 0);
	c->port = ntohs(sa.sin_port);
	g_assert_cmpint(pthread_create(&c->thread, NULL, canned_serve, c), ==, 0);
}

static void canned_stop(struct canned *c)
{
	g_assert_cmpint(pthread_join(c->thread, NULL), ==, 0);
	close(c->fd);
	g_free(c->answer);
}

static int canned_get(char *answer, struct alga_http_response **ret)
{
	_cleanup_(alga_http_freep) struct alga_http *h = client(true, 0);
	struct canned c;
	char *url;
	int r;

	canned_start(&c, answer);
	url = g_strdup_printf("http://127.0.0.1:%u/x", c.port);
	r = get(h, url, NULL, 0, ret, NULL);
	g_free(url);
	canned_stop(&c);
	return r;
}

/* header byte limit (one past), malformed lines, relative Location */
static void test_canned(void)
{
	GString *s = g_string_new("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n");

	for (unsigned i = 0; s->len + 1100 < ALGA_HTTP_HEADERS_MAX; i++)
		g_string_append_printf(s, "X-Fat%u: %01000d\r\n", i, 0);
	{
		_cleanup_(alga_http_response_freep) struct alga_http_response *r = NULL;
		GString *ok = g_string_new(s->str);

		g_string_append(ok, "\r\nok");
		g_assert_cmpint(canned_get(g_string_free(ok, FALSE), &r), ==, 0);
		g_assert_cmpstr(r->body, ==, "ok");
	}
	while (s->len <= ALGA_HTTP_HEADERS_MAX + 64)
		g_string_append(s, "X-More: 0123456789012345678901234567890123456789\r\n");
	g_string_append(s, "\r\nok");
	{
		_cleanup_(alga_http_response_freep) struct alga_http_response *r = NULL;

		g_assert_cmpint(canned_get(g_string_free(s, FALSE), &r), ==, -E2BIG);
	}
	{
		_cleanup_(alga_http_response_freep) struct alga_http_response *r = NULL;

		g_assert_cmpint(canned_get(g_strdup("HTTP/1.1 200 OK\r\nBad Header: x\r\n"
						    "Content-Length: 0\r\n\r\n"), &r), ==, -EBADMSG);
	}
	{
		_cleanup_(alga_http_response_freep) struct alga_http_response *r = NULL;
		char *both;

		/* several WWW-Authenticate lines are joined (RFC 9110 §5.3) */
		g_assert_cmpint(canned_get(g_strdup("HTTP/1.1 401 Unauthorized\r\n"
						    "WWW-Authenticate: Basic realm=\"x\"\r\n"
						    "Www-Authenticate: Bearer realm=\"https://r\"\r\n"
						    "Content-Length: 0\r\n\r\n"), &r), ==, 0);
		g_assert_cmpint(r->status, ==, 401);
		g_assert_cmpint(alga_http_response_join_header(r, "www-authenticate", &both), ==, 1);
		g_assert_cmpstr(both, ==, "Basic realm=\"x\", Bearer realm=\"https://r\"");
		g_free(both);
		g_assert_cmpint(alga_http_response_join_header(r, "x-none", &both), ==, 0);
		g_assert_null(both);
	}
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/http/header-line-parse/cases", test_header_line);
	g_test_add_func("/http/header-line-parse/limit", test_header_line_limit);
	g_test_add_func("/http/status-to-errno/cases", test_status_to_errno);
	g_test_add_func("/http/error/helpers", test_error_helpers);
	g_test_add_func("/http/get/basic", test_get_basic);
	g_test_add_func("/http/get/cap", test_get_cap);
	g_test_add_func("/http/get/stream", test_get_stream);
	g_test_add_func("/http/get/redirects", test_redirects);
	g_test_add_func("/http/get/redirect-origin", test_redirect_origin);
	g_test_add_func("/http/get/resolve-pin", test_resolve_pin);
	g_test_add_func("/http/get/transport-errors", test_transport_errors);
	g_test_add_func("/http/get/canned", test_canned);
	return g_test_run();
}
