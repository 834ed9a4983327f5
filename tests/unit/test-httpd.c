/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "httpd.h"

static int dummy(struct alga_httpd_request *req, void *userdata)
{
	return alga_httpd_respond(req, 200, "text/plain", "ok", 2, NULL);
}

static const struct alga_httpd_route table[] = {
	{ "GET", "/v1/health", dummy },
	{ "POST", "/v1/support-bundle", dummy },
	{ "GET", "/v1/support-bundles", dummy },
	{ "POST", "/v1/support-bundles", dummy },
	{ "GET", "/v1/support-bundles/", dummy },
	{ "DELETE", "/v1/support-bundles/", dummy },
	{}
};

static void test_route_find(void)
{
	static const struct {
		const char *method, *path;
		int r;
		const char *allow;
	} cases[] = {
		{ "GET", "/v1/health", 1, "" },
		{ "POST", "/v1/health", 0, "GET" },
		{ "GET", "/v1/support-bundle", 0, "POST" },
		{ "DELETE", "/v1/support-bundles", 0, "GET, POST" },
		{ "GET", "/v1/support-bundles/x.tar.gz", 1, "" },
		{ "PUT", "/v1/support-bundles/x", 0, "GET, DELETE" },
		{ "GET", "/v1/support-bundles/", -ENOENT, "" },
		{ "GET", "/v1/health/", -ENOENT, "" },
		{ "GET", "/v1/healthz", -ENOENT, "" },
		{ "GET", "/", -ENOENT, "" },
		{ "GET", "", -ENOENT, "" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		const struct alga_httpd_route *route = NULL;
		char allow[64];
		int r;

		r = alga_httpd_route_find(table, cases[i].method, cases[i].path, &route, allow,
					  sizeof(allow));
		g_assert_cmpint(r, ==, cases[i].r);
		if (r == 1) {
			g_assert_nonnull(route);
			g_assert_cmpstr(route->method, ==, cases[i].method);
		} else
			g_assert_cmpstr(allow, ==, cases[i].allow);
	}
}

static void test_status_reason(void)
{
	g_assert_cmpstr(alga_httpd_status_reason(404), ==, "Not Found");
	g_assert_cmpstr(alga_httpd_status_reason(431), ==, "Request Header Fields Too Large");
	g_assert_cmpstr(alga_httpd_status_reason(999), ==, "Unknown");
}

static void test_listen_unix(void)
{
	g_autofree char *dir = g_dir_make_tmp("test-httpd.XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "s.sock", NULL);
	g_autofree char *file = g_build_filename(dir, "file", NULL);
	char longpath[200];
	struct stat st;
	int fd = -1;

	g_assert_cmpint(alga_httpd_listen_unix(path, 0660, &fd), ==, 0);
	g_assert_cmpint(lstat(path, &st), ==, 0);
	g_assert_true(S_ISSOCK(st.st_mode));
	g_assert_cmpint(st.st_mode & 07777, ==, 0660);
	g_assert_cmpint(fcntl(fd, F_GETFD) & FD_CLOEXEC, ==, FD_CLOEXEC);
	close(fd);

	/* a stale socket is replaced */
	g_assert_cmpint(alga_httpd_listen_unix(path, 0600, &fd), ==, 0);
	close(fd);
	g_assert_cmpint(lstat(path, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 07777, ==, 0600);

	g_assert_true(g_file_set_contents(file, "x", 1, NULL));
	g_assert_cmpint(alga_httpd_listen_unix(file, 0660, &fd), ==, -EEXIST);

	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	g_assert_cmpint(alga_httpd_listen_unix(longpath, 0660, &fd), ==, -ENAMETOOLONG);

	unlink(path);
	unlink(file);
	rmdir(dir);
}

/* a live server: handlers, a deferred one, limits, idle exit */

struct live {
	char *path;
	unsigned n_work;
};

struct deferred {
	struct alga_httpd_request *req;
	struct live *live;
};

static int slow_work(void *data)
{
	struct deferred *d = data;
	struct live *l = d->live;

	g_usleep(100 * 1000);
	__atomic_add_fetch(&l->n_work, 1, __ATOMIC_SEQ_CST);
	return 7;
}

static void slow_done(void *data, int result)
{
	struct deferred *d = data;
	char body[32];

	snprintf(body, sizeof(body), "done %d", result);
	g_assert_cmpint(alga_httpd_respond(d->req, 200, "text/plain", body, strlen(body), NULL), ==,
			0);
	g_free(d);
}

static int on_slow(struct alga_httpd_request *req, void *userdata)
{
	struct deferred *d = g_new0(struct deferred, 1);

	d->req = req;
	d->live = userdata;
	g_assert_cmpint(alga_httpd_request_suspend(req), ==, 0);
	return alga_httpd_defer(alga_httpd_request_server(req), slow_work, slow_done, d);
}

static int on_echo(struct alga_httpd_request *req, void *userdata)
{
	size_t len;
	const char *b = alga_httpd_request_body(req, &len);

	return alga_httpd_respond(req, 201, "text/plain", b, len, NULL);
}

static int on_fail(struct alga_httpd_request *req, void *userdata)
{
	return -EIO;
}

static const struct alga_httpd_route live_routes[] = {
	{ "GET", "/ok", dummy },
	{ "GET", "/slow", on_slow },
	{ "POST", "/echo", on_echo },
	{ "GET", "/fail", on_fail },
	{}
};

static char *exchange(const char *path, const char *request, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	GString *out = g_string_new(NULL);
	char buf[4096];
	ssize_t n;
	int fd;

	g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_assert_cmpint(write(fd, request, len), ==, (ssize_t)len);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		g_string_append_len(out, buf, n);
	close(fd);
	return g_string_free(out, FALSE);
}

static void *client(void *p)
{
	struct live *l = p;
	g_autofree char *big = NULL, *bigreq = NULL, *body = NULL, *bodyreq = NULL;
	char *r;

	r = exchange(l->path, "GET /ok?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", 33);
	g_assert_true(g_str_has_prefix(r, "HTTP/1.1 200"));
	g_assert_nonnull(strstr(r, "Connection: close"));
	g_assert_true(g_str_has_suffix(r, "\r\n\r\nok"));
	g_free(r);

	r = exchange(l->path, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n", 31);
	g_assert_true(g_str_has_prefix(r, "HTTP/1.1 200"));
	g_assert_true(g_str_has_suffix(r, "done 7"));
	g_free(r);

	r = exchange(l->path, "POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 49);
	g_assert_true(g_str_has_prefix(r, "HTTP/1.1 405"));
	g_assert_nonnull(strstr(r, "Allow: GET\r\n"));
	g_free(r);

	r = exchange(l->path, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 31);
	g_assert_true(g_str_has_prefix(r, "HTTP/1.1 404"));
	g_assert_true(g_str_has_suffix(r, "{\"ok\":false,\"error\":\"not found\"}\n"));
	g_free(r);

	r = exchange(l->path, "GET /fail HTTP/1.1\r\nHost: x\r\n\r\n", 31);
	g_assert_true(g_str_has_prefix(r, "HTTP/1.1 500"));
	g_free(r);

	r = exchange(l->path, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 56);
	g_assert_true(g_str_has_prefix(r, "HTTP/1.1 201"));
	g_assert_true(g_str_has_suffix(r, "hello"));
	g_free(r);

	/* one past each limit */
	big = g_strnfill(ALGA_HTTPD_HEADER_MAX, 'a');
	bigreq = g_strdup_printf("GET /ok HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", big);
	r = exchange(l->path, bigreq, strlen(bigreq));
	g_assert_true(g_str_has_prefix(r, "HTTP/1.1 431"));
	g_free(r);

	body = g_strnfill(ALGA_HTTPD_BODY_MAX + 1, 'b');
	bodyreq = g_strdup_printf("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %u\r\n\r\n%s",
				  ALGA_HTTPD_BODY_MAX + 1, body);
	r = exchange(l->path, bodyreq, strlen(bodyreq));
	g_assert_true(g_str_has_prefix(r, "HTTP/1.1 413"));
	g_free(r);

	/* exactly at the body limit is fine */
	body[ALGA_HTTPD_BODY_MAX] = '\0';
	g_free(bodyreq);
	bodyreq = g_strdup_printf("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %u\r\n\r\n%s",
				  ALGA_HTTPD_BODY_MAX, body);
	r = exchange(l->path, bodyreq, strlen(bodyreq));
	g_assert_true(g_str_has_prefix(r, "HTTP/1.1 201"));
	g_free(r);
	return NULL;
}

static void test_serve(void)
{
	g_autofree char *dir = g_dir_make_tmp("test-httpd.XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "s.sock", NULL);
	sd_event *e = NULL;
	struct alga_httpd *h = NULL;
	struct live l = { .path = path };
	pthread_t t;
	int fd = -1;

	g_assert_cmpint(sd_event_new(&e), >=, 0);
	/* idle exit ends the loop once the client is done */
	g_assert_cmpint(alga_httpd_new(e, live_routes, &l, NULL, 300 * 1000, &h), ==, 0);
	g_assert_cmpint(alga_httpd_listen_unix(path, 0600, &fd), ==, 0);
	g_assert_cmpint(alga_httpd_add_fd(h, fd), ==, 0);

	g_assert_cmpint(pthread_create(&t, NULL, client, &l), ==, 0);
	g_assert_cmpint(sd_event_loop(e), ==, 0);
	pthread_join(t, NULL);

	g_assert_cmpuint(l.n_work, ==, 1);
	g_assert_cmpuint(alga_httpd_n_connections(h), ==, 0);
	h = alga_httpd_free(h);
	g_assert_null(h);
	sd_event_unref(e);
	unlink(path);
	rmdir(dir);
}

static void test_free_null(void)
{
	g_assert_null(alga_httpd_free(NULL));
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/httpd/route_find/table", test_route_find);
	g_test_add_func("/httpd/status_reason/known", test_status_reason);
	g_test_add_func("/httpd/listen_unix/mode", test_listen_unix);
	g_test_add_func("/httpd/serve/routes-limits-idle", test_serve);
	g_test_add_func("/httpd/free/null", test_free_null);
	return g_test_run();
}
