/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "httpd.h"
#include "json.h"
#include "log.h"

#define JSON_TYPE "application/json; charset=utf-8"
#define LISTEN_BACKLOG 64
/* connections MHD itself accepts beyond ours, so that they get a 503, not a reset */
#define CONNECTIONS_SLACK 8u
/* MHD's per-connection pool: headers over our limit must still fit to get our 431 */
#define CONNECTION_MEMORY (32u * 1024u)

struct job {
	struct job *next;
	int (*work)(void *data);
	void (*done)(void *data, int result);
	void *data;
	int result;
};

struct daemon {
	struct alga_httpd *server;
	struct MHD_Daemon *mhd;
	sd_event_source *io;
	sd_event_source *timer;
};

struct alga_httpd {
	sd_event *event;
	const struct alga_httpd_route *routes;
	void *userdata;
	struct alga_httpd_limits limits;
	uint64_t idle_usec;
	sd_event_source *idle;

	struct daemon daemons[ALGA_HTTPD_DAEMONS_MAX];
	unsigned n_daemons;
	unsigned n_connections;
	struct alga_httpd_request *requests; /* all live ones, for shutdown */

	/* worker: queue and done are under lock; n_jobs is the loop's count */
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool quit;
	struct job *queue, *queue_tail;
	struct job *done, *done_tail;
	unsigned n_jobs;
	int efd;
	sd_event_source *efd_source;
};

struct alga_httpd_request {
	struct alga_httpd *server;
	struct daemon *daemon;
	struct MHD_Connection *conn;
	struct alga_httpd_request *prev, *next;
	char method[ALGA_HTTPD_METHOD_MAX];
	char *path;
	char *body;
	size_t body_len;
	bool body_too_big;
	bool dispatched;
	bool suspended;     /* the handler will answer later */
	bool mhd_suspended; /* MHD_suspend_connection() was called */
	bool answered;
	struct MHD_Response *response;
	unsigned status;
};

static void idle_update(struct alga_httpd *h);

const char *alga_httpd_status_reason(unsigned status)
{
	const char *s = MHD_get_reason_phrase_for(status);

	return isempty(s) ? "Unknown" : s;
}

static bool path_matches(const char *route, const char *path)
{
	size_t n = strlen(route);

	if (n > 0 && route[n - 1] == '/')
		return strneq(route, path, n) && path[n] != '\0';
	return streq(route, path);
}

int alga_httpd_route_find(const struct alga_httpd_route *routes, const char *method,
			  const char *path, const struct alga_httpd_route **ret_route, char *allow,
			  size_t allow_size)
{
	bool found = false;
	size_t used = 0;

	if (allow && allow_size > 0)
		allow[0] = '\0';

	for (const struct alga_httpd_route *r = routes; r->method; r++) {
		if (!path_matches(r->path, path))
			continue;
		if (streq(r->method, method)) {
			if (ret_route)
				*ret_route = r;
			return 1;
		}
		found = true;
		if (allow && allow_size > 0) {
			int n = snprintf(allow + used, allow_size - used, "%s%s", used ? ", " : "",
					 r->method);
			if (n > 0 && (size_t)n < allow_size - used)
				used += (size_t)n;
		}
	}

	return found ? 0 : -ENOENT;
}

/* sockets */

int alga_httpd_listen_unix(const char *path, mode_t mode, int *ret_fd)
{
	_cleanup_close_ int fd = -EBADF;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;

	if (isempty(path) || strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);

	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		if (unlink(path) < 0)
			return negative_errno();
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return negative_errno();
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return negative_errno();
	/* before listen(): no client can connect while the mode is still wrong
	 * (upstream chmod-ed after listen(), host.md §3 item 10) */
	if (chmod(path, mode) < 0)
		return negative_errno();
	if (listen(fd, LISTEN_BACKLOG) < 0)
		return negative_errno();

	*ret_fd = TAKE_FD(fd);
	return 0;
}

int alga_httpd_listen_tcp(const char *address, uint16_t port, int *ret_fd)
{
	_cleanup_close_ int fd = -EBADF;
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in sa4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr *sa;
	socklen_t salen;
	int one = 1;

	if (!address || streq(address, "::")) {
		sa6.sin6_addr = in6addr_any;
		sa = (struct sockaddr *)&sa6;
		salen = sizeof(sa6);
	} else if (inet_pton(AF_INET6, address, &sa6.sin6_addr) == 1) {
		sa = (struct sockaddr *)&sa6;
		salen = sizeof(sa6);
	} else if (inet_pton(AF_INET, address, &sa4.sin_addr) == 1) {
		sa = (struct sockaddr *)&sa4;
		salen = sizeof(sa4);
	} else
		return -EINVAL;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return negative_errno();
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return negative_errno();
	if (bind(fd, sa, salen) < 0)
		return negative_errno();
	if (listen(fd, LISTEN_BACKLOG) < 0)
		return negative_errno();

	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* responses */

static int add_headers(struct MHD_Response *resp, const char *content_type,
		       const char *const *extra_headers)
{
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				    content_type ?: JSON_TYPE) != MHD_YES)
		return -ENOMEM;
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES)
		return -ENOMEM;
	for (const char *const *p = extra_headers; p && p[0] && p[1]; p += 2)
		if (MHD_add_response_header(resp, p[0], p[1]) != MHD_YES)
			return -EINVAL;
	return 0;
}

/* hands the answer to MHD: now when inside the access callback, else via resume */
static int set_response(struct alga_httpd_request *req, unsigned status, struct MHD_Response *resp)
{
	req->response = resp;
	req->status = status;
	req->answered = true;

	if (req->suspended) {
		req->suspended = false;
		if (req->mhd_suspended) {
			req->mhd_suspended = false;
			MHD_resume_connection(req->conn);
			/* not MHD_run() here: this may be inside another connection's callback */
			(void)sd_event_source_set_time(req->daemon->timer, 1);
			(void)sd_event_source_set_enabled(req->daemon->timer, SD_EVENT_ONESHOT);
		}
	}
	return 0;
}

int alga_httpd_respond(struct alga_httpd_request *req, unsigned status, const char *content_type,
		       const void *body, size_t len, const char *const *extra_headers)
{
	struct MHD_Response *resp;
	int r;

	if (req->answered)
		return -EALREADY;

	resp = MHD_create_response_from_buffer(len, (void *)(body ?: ""), MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return -ENOMEM;
	r = add_headers(resp, content_type, extra_headers);
	if (r < 0) {
		MHD_destroy_response(resp);
		return r;
	}
	return set_response(req, status, resp);
}

int alga_httpd_respond_fd(struct alga_httpd_request *req, unsigned status, const char *content_type,
			  int fd, uint64_t size, const char *const *extra_headers)
{
	struct MHD_Response *resp;
	int r;

	if (req->answered)
		return -EALREADY;

	resp = MHD_create_response_from_fd64(size, fd);
	if (!resp)
		return -ENOMEM;
	r = add_headers(resp, content_type, extra_headers);
	if (r < 0) {
		/* the fd goes with the response */
		MHD_destroy_response(resp);
		return r;
	}
	return set_response(req, status, resp);
}

int alga_httpd_respond_json(struct alga_httpd_request *req, unsigned status,
			    struct json_object *doc)
{
	_cleanup_free_ char *s = NULL;
	int r;

	r = alga_json_format(doc, ALGA_JSON_FORMAT_COMPACT | ALGA_JSON_FORMAT_NEWLINE, &s);
	if (r < 0)
		return r;
	return alga_httpd_respond(req, status, JSON_TYPE, s, strlen(s), NULL);
}

int alga_httpd_respond_error(struct alga_httpd_request *req, unsigned status, const char *message)
{
	_cleanup_(json_object_putp) struct json_object *doc = NULL;

	doc = json_object_new_object();
	if (!doc)
		return -ENOMEM;
	if (alga_json_add(doc, "ok", json_object_new_boolean(false)) < 0 ||
	    alga_json_add(doc, "error", json_object_new_string(message)) < 0)
		return -ENOMEM;
	return alga_httpd_respond_json(req, status, doc);
}

/* requests */

const char *alga_httpd_request_method(struct alga_httpd_request *req)
{
	return req->method;
}

const char *alga_httpd_request_path(struct alga_httpd_request *req)
{
	return req->path;
}

const char *alga_httpd_request_body(struct alga_httpd_request *req, size_t *ret_len)
{
	if (ret_len)
		*ret_len = req->body_len;
	return req->body;
}

const char *alga_httpd_request_header(struct alga_httpd_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

struct alga_httpd *alga_httpd_request_server(struct alga_httpd_request *req)
{
	return req->server;
}

int alga_httpd_request_peer(struct alga_httpd_request *req, struct ucred *ret)
{
	const union MHD_ConnectionInfo *ci;
	socklen_t len = sizeof(*ret);

	ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		return -EINVAL;
	if (getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, ret, &len) < 0)
		return negative_errno();
	if (ret->pid <= 0)
		return -EINVAL;
	return 0;
}

int alga_httpd_request_suspend(struct alga_httpd_request *req)
{
	if (req->answered)
		return -EALREADY;
	req->suspended = true;
	return 0;
}

struct header_sum {
	size_t total;
};

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
				    const char *value)
{
	struct header_sum *s = cls;

	/* "Key: value\r\n" */
	s->total += strlen(key) + 4 + (value ? strlen(value) : 0);
	return MHD_YES;
}

static void request_free(struct alga_httpd_request *req)
{
	if (!req)
		return;
	if (req->response)
		MHD_destroy_response(req->response);
	if (req->prev)
		req->prev->next = req->next;
	else if (req->server->requests == req)
		req->server->requests = req->next;
	if (req->next)
		req->next->prev = req->prev;
	free(req->path);
	free(req->body);
	free(req);
}

/* checks what the headers alone decide; answers when they do */
static void request_start(struct alga_httpd_request *req, const char *url, const char *method,
			  const char *version)
{
	struct alga_httpd *h = req->server;
	struct header_sum sum = { strlen(method) + strlen(url) + strlen(version) + 4 };
	char allow[128];
	const char *cl;
	int r;

	/* query strings are ignored (host.md §4.4); MHD already cut them off url */
	req->path = strndup(url, strcspn(url, "?#"));
	if (!req->path) {
		(void)alga_httpd_respond_error(req, 500, "out of memory");
		return;
	}

	if (h->n_connections > h->limits.connections_max) {
		(void)alga_httpd_respond_error(req, 503, "too many connections");
		return;
	}

	MHD_get_connection_values(req->conn, MHD_HEADER_KIND, count_header, &sum);
	if (sum.total > h->limits.header_max) {
		(void)alga_httpd_respond_error(req, 431, "request header fields too large");
		return;
	}

	r = alga_httpd_route_find(h->routes, method, req->path, NULL, allow, sizeof(allow));
	if (r == -ENOENT) {
		(void)alga_httpd_respond_error(req, 404, "not found");
		return;
	}
	if (r == 0) {
		const char *hdrs[] = { MHD_HTTP_HEADER_ALLOW, allow, NULL };

		(void)alga_httpd_respond(req, 405, JSON_TYPE,
					 "{\"ok\":false,\"error\":\"method not allowed\"}\n",
					 strlen("{\"ok\":false,\"error\":\"method not allowed\"}\n"), hdrs);
		return;
	}

	cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl) {
		char *end;
		unsigned long long n;

		errno = 0;
		n = strtoull(cl, &end, 10);
		if (errno != 0 || end == cl || n > h->limits.body_max)
			(void)alga_httpd_respond_error(req, 413, "request body too large");
	}
}

static void request_dispatch(struct alga_httpd_request *req)
{
	struct alga_httpd *h = req->server;
	const struct alga_httpd_route *route;
	int r;

	req->dispatched = true;
	if (req->body_too_big) {
		(void)alga_httpd_respond_error(req, 413, "request body too large");
		return;
	}

	r = alga_httpd_route_find(h->routes, req->method, req->path, &route, NULL, 0);
	if (r <= 0) {
		(void)alga_httpd_respond_error(req, 404, "not found");
		return;
	}

	r = route->handler(req, h->userdata);
	if (r < 0 && !req->answered) {
		req->suspended = false;
		log_debug_errno(r, "Handler for %s %s failed: %m", req->method, req->path);
		(void)alga_httpd_respond_error(req, 500, "internal error");
	}
}

static enum MHD_Result queue_answer(struct alga_httpd_request *req)
{
	enum MHD_Result m;

	m = MHD_queue_response(req->conn, req->status, req->response);
	MHD_destroy_response(req->response);
	req->response = NULL;
	return m;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *upload_data,
				 size_t *upload_data_size, void **con_cls)
{
	struct daemon *d = cls;
	struct alga_httpd *h = d->server;
	struct alga_httpd_request *req = *con_cls;

	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		req->server = h;
		req->daemon = d;
		req->conn = conn;
		req->next = h->requests;
		if (h->requests)
			h->requests->prev = req;
		h->requests = req;
		snprintf(req->method, sizeof(req->method), "%s", method);
		*con_cls = req;

		request_start(req, url, method, version);
		if (req->response)
			return queue_answer(req);
		return MHD_YES;
	}

	if (req->response)
		return queue_answer(req);
	if (req->answered)
		return MHD_NO;

	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (req->body_too_big || req->body_len + n > h->limits.body_max) {
			/* counted but dropped, answered with 413 at the end */
			req->body_too_big = true;
			free(req->body);
			req->body = NULL;
			req->body_len = 0;
			return MHD_YES;
		}
		char *b = realloc(req->body, req->body_len + n + 1);
		if (!b)
			return MHD_NO;
		memcpy(b + req->body_len, upload_data, n);
		req->body = b;
		req->body_len += n;
		req->body[req->body_len] = '\0';
		return MHD_YES;
	}

	if (!req->dispatched)
		request_dispatch(req);
	if (req->response)
		return queue_answer(req);
	if (req->suspended) {
		req->mhd_suspended = true;
		MHD_suspend_connection(conn);
		return MHD_YES;
	}

	(void)alga_httpd_respond_error(req, 500, "no answer");
	return req->response ? queue_answer(req) : MHD_NO;
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	request_free(*con_cls);
	*con_cls = NULL;
}

static void connection_cb(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct daemon *d = cls;
	struct alga_httpd *h = d->server;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		h->n_connections++;
	else if (h->n_connections > 0)
		h->n_connections--;
	idle_update(h);
}

static void mhd_log(void *cls, const char *fm, va_list ap)
{
	char buf[512];

	/* MHD's own format strings */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	vsnprintf(buf, sizeof(buf), fm, ap);
#pragma GCC diagnostic pop
	buf[strcspn(buf, "\n")] = '\0';
	log_debug("libmicrohttpd: %s", buf);
}

/* the loop */

static void run_daemon(struct daemon *d)
{
	MHD_UNSIGNED_LONG_LONG ms;
	uint64_t now;

	(void)MHD_run(d->mhd);

	if (MHD_get_timeout(d->mhd, &ms) != MHD_YES) {
		(void)sd_event_source_set_enabled(d->timer, SD_EVENT_OFF);
		return;
	}
	if (sd_event_now(d->server->event, CLOCK_MONOTONIC, &now) < 0)
		return;
	(void)sd_event_source_set_time(d->timer, now + (uint64_t)ms * USEC_PER_MSEC);
	(void)sd_event_source_set_enabled(d->timer, SD_EVENT_ONESHOT);
}

static int on_epoll(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	run_daemon(userdata);
	return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	run_daemon(userdata);
	return 0;
}

static int on_idle(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct alga_httpd *h = userdata;

	log_debug("Idle for %" PRIu64 " ms, exiting", h->idle_usec / USEC_PER_MSEC);
	return sd_event_exit(h->event, 0);
}

static void idle_update(struct alga_httpd *h)
{
	uint64_t now;

	if (!h->idle)
		return;
	if (h->n_connections > 0 || h->n_jobs > 0) {
		(void)sd_event_source_set_enabled(h->idle, SD_EVENT_OFF);
		return;
	}
	if (sd_event_now(h->event, CLOCK_MONOTONIC, &now) < 0)
		return;
	(void)sd_event_source_set_time(h->idle, now + h->idle_usec);
	(void)sd_event_source_set_enabled(h->idle, SD_EVENT_ONESHOT);
}

unsigned alga_httpd_n_connections(struct alga_httpd *h)
{
	return h->n_connections;
}

int alga_httpd_add_fd(struct alga_httpd *h, int fd)
{
	struct daemon *d;
	const union MHD_DaemonInfo *info;
	int r;

	if (h->n_daemons >= ALGA_HTTPD_DAEMONS_MAX)
		return -E2BIG;
	d = &h->daemons[h->n_daemons];
	d->server = h;

	d->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0,
				  NULL, NULL, access_cb, d,
				  MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
				  MHD_OPTION_CONNECTION_LIMIT,
				  (unsigned)(h->limits.connections_max + CONNECTIONS_SLACK),
				  MHD_OPTION_CONNECTION_TIMEOUT, h->limits.connection_timeout_sec,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
				  MHD_OPTION_NOTIFY_COMPLETED, completed_cb, d,
				  MHD_OPTION_NOTIFY_CONNECTION, connection_cb, d,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				  MHD_OPTION_END);
	if (!d->mhd)
		return -EIO;

	info = MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		r = -EIO;
		goto fail;
	}
	r = sd_event_add_io(h->event, &d->io, info->epoll_fd, EPOLLIN, on_epoll, d);
	if (r < 0)
		goto fail;
	r = sd_event_add_time(h->event, &d->timer, CLOCK_MONOTONIC, 0, 0, on_timer, d);
	if (r < 0)
		goto fail;
	(void)sd_event_source_set_enabled(d->timer, SD_EVENT_OFF);

	h->n_daemons++;
	return 0;

fail:
	d->io = sd_event_source_disable_unref(d->io);
	d->timer = sd_event_source_disable_unref(d->timer);
	/* MHD closes the listening socket it was given; undo that for the caller */
	(void)MHD_quiesce_daemon(d->mhd);
	MHD_stop_daemon(d->mhd);
	d->mhd = NULL;
	return r;
}

int alga_httpd_add_listen_fds(struct alga_httpd *h)
{
	_cleanup_strv_free_ char **names = NULL;
	int n, r;

	n = sd_listen_fds_with_names(true, &names);
	if (n < 0)
		return n;

	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;

		r = alga_httpd_add_fd(h, fd);
		if (r < 0)
			return r;
		log_debug("Serving fd %d (%s)", fd, names && names[i] ? names[i] : "unknown");
	}
	return n;
}

/* worker */

static void *worker_main(void *p)
{
	struct alga_httpd *h = p;
	uint64_t one = 1;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		struct job *j;

		while (!h->quit && !h->queue)
			pthread_cond_wait(&h->cond, &h->lock);
		if (h->quit)
			break;

		j = h->queue;
		h->queue = j->next;
		if (!h->queue)
			h->queue_tail = NULL;
		pthread_mutex_unlock(&h->lock);

		j->result = j->work(j->data);
		j->next = NULL;

		pthread_mutex_lock(&h->lock);
		if (h->done_tail)
			h->done_tail->next = j;
		else
			h->done = j;
		h->done_tail = j;
		(void)!write(h->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

static int on_worker_done(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct alga_httpd *h = userdata;
	struct job *list;
	uint64_t v;

	(void)!read(h->efd, &v, sizeof(v));

	pthread_mutex_lock(&h->lock);
	list = h->done;
	h->done = h->done_tail = NULL;
	pthread_mutex_unlock(&h->lock);

	while (list) {
		struct job *j = list;

		list = j->next;
		if (h->n_jobs > 0)
			h->n_jobs--;
		if (j->done)
			j->done(j->data, j->result);
		free(j);
	}
	idle_update(h);
	return 0;
}

int alga_httpd_defer(struct alga_httpd *h, int (*work)(void *data),
		     void (*done)(void *data, int result), void *data)
{
	struct job *j;

	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->work = work;
	j->done = done;
	j->data = data;

	pthread_mutex_lock(&h->lock);
	if (h->queue_tail)
		h->queue_tail->next = j;
	else
		h->queue = j;
	h->queue_tail = j;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);

	h->n_jobs++;
	idle_update(h);
	return 0;
}

static int worker_start(struct alga_httpd *h)
{
	sigset_t all, old;
	int r;

	/* signals stay with the loop thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&h->thread, NULL, worker_main, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return -r;
	h->thread_started = true;
	return 0;
}

int alga_httpd_new(sd_event *event, const struct alga_httpd_route *routes, void *userdata,
		   const struct alga_httpd_limits *limits, uint64_t idle_timeout_usec,
		   struct alga_httpd **ret)
{
	_cleanup_(alga_httpd_freep) struct alga_httpd *h = NULL;
	int r;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->efd = -EBADF;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	h->event = sd_event_ref(event);
	h->routes = routes;
	h->userdata = userdata;
	h->limits = limits ? *limits : ALGA_HTTPD_LIMITS_DEFAULT;
	h->idle_usec = idle_timeout_usec;

	h->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->efd < 0)
		return negative_errno();
	r = sd_event_add_io(event, &h->efd_source, h->efd, EPOLLIN, on_worker_done, h);
	if (r < 0)
		return r;

	if (idle_timeout_usec > 0) {
		r = sd_event_add_time_relative(event, &h->idle, CLOCK_MONOTONIC, idle_timeout_usec, 0,
					       on_idle, h);
		if (r < 0)
			return r;
	}

	r = worker_start(h);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(h);
	return 0;
}

struct alga_httpd *alga_httpd_free(struct alga_httpd *h)
{
	if (!h)
		return NULL;

	if (h->thread_started) {
		pthread_mutex_lock(&h->lock);
		h->quit = true;
		pthread_cond_signal(&h->cond);
		pthread_mutex_unlock(&h->lock);
		pthread_join(h->thread, NULL);
	}
	/* undelivered jobs: their data is the caller's, done is not called */
	for (struct job *j = h->queue, *n; j; j = n) {
		n = j->next;
		free(j);
	}
	for (struct job *j = h->done, *n; j; j = n) {
		n = j->next;
		free(j);
	}

	/* MHD must not be stopped with suspended connections */
	for (struct alga_httpd_request *req = h->requests; req; req = req->next)
		if (req->mhd_suspended) {
			req->mhd_suspended = false;
			MHD_resume_connection(req->conn);
		}

	for (unsigned i = 0; i < h->n_daemons; i++) {
		struct daemon *d = &h->daemons[i];

		d->io = sd_event_source_disable_unref(d->io);
		d->timer = sd_event_source_disable_unref(d->timer);
		MHD_stop_daemon(d->mhd);
	}

	h->idle = sd_event_source_disable_unref(h->idle);
	h->efd_source = sd_event_source_disable_unref(h->efd_source);
	safe_close(h->efd);
	sd_event_unref(h->event);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
	free(h);
	return NULL;
}
