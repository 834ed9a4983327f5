/* SPDX-License-Identifier: AGPL-3.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "macro.h"

/*
 * libmicrohttpd on sd-event (design.md, host.md §4.4): one MHD daemon per
 * listening fd, each in MHD_USE_EPOLL mode without an internal thread, its
 * epoll fd and MHD_get_timeout() driven as sd-event sources. Handlers run
 * on the loop thread; blocking work goes to the server's worker thread
 * (alga_httpd_defer()) while the connection is suspended, and the answer is
 * queued from the loop when the work is done. Every response carries
 * Content-Length and "Connection: close".
 */

/* defaults of struct alga_httpd_limits (host.md §4.4) */
#define ALGA_HTTPD_HEADER_MAX (8u * 1024u)   /* request line + headers, else 431 */
#define ALGA_HTTPD_BODY_MAX (4u * 1024u)     /* request body, else 413 */
#define ALGA_HTTPD_CONNECTION_TIMEOUT 30u    /* seconds of inactivity per connection */
#define ALGA_HTTPD_CONNECTIONS_MAX 16u       /* open connections, the next gets 503 */
#define ALGA_HTTPD_DAEMONS_MAX 8u            /* listening fds */
#define ALGA_HTTPD_METHOD_MAX 16u

struct alga_httpd;
struct alga_httpd_request;

struct alga_httpd_limits {
	size_t header_max;
	size_t body_max;
	unsigned connection_timeout_sec;
	unsigned connections_max;
};

#define ALGA_HTTPD_LIMITS_DEFAULT                                                  \
	((struct alga_httpd_limits){ .header_max = ALGA_HTTPD_HEADER_MAX,           \
				     .body_max = ALGA_HTTPD_BODY_MAX,               \
				     .connection_timeout_sec = ALGA_HTTPD_CONNECTION_TIMEOUT, \
				     .connections_max = ALGA_HTTPD_CONNECTIONS_MAX })

/*
 * A handler answers with one of the alga_httpd_respond*() calls, or calls
 * alga_httpd_request_suspend() and answers later from the loop thread.
 * Returning a negative errno without an answer sends 500.
 */
struct alga_httpd_route {
	const char *method; /* "GET", "POST", "DELETE", ... */
	const char *path;   /* exact; a path ending in '/' matches everything below it */
	int (*handler)(struct alga_httpd_request *req, void *userdata);
};

/*
 * Creates a server on event (a reference is taken). routes ends with a
 * { NULL } entry and must outlive the server; userdata goes to every
 * handler. limits NULL means ALGA_HTTPD_LIMITS_DEFAULT. idle_timeout_usec
 * > 0 exits the loop with 0 after that long without connections or work in
 * flight. Returns 0, -ENOMEM, or the errno of the worker's creation.
 */
int alga_httpd_new(sd_event *event, const struct alga_httpd_route *routes, void *userdata,
		   const struct alga_httpd_limits *limits, uint64_t idle_timeout_usec,
		   struct alga_httpd **ret);

/* stops the daemons and the worker (waiting for its job); NULL is fine */
struct alga_httpd *alga_httpd_free(struct alga_httpd *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct alga_httpd *, alga_httpd_free);

/*
 * Serves a listening stream socket (Unix or TCP); the server owns fd on
 * success only. -E2BIG past ALGA_HTTPD_DAEMONS_MAX, -EIO when libmicrohttpd
 * refuses it.
 */
int alga_httpd_add_fd(struct alga_httpd *h, int fd);

/*
 * Serves every fd systemd passed (sd_listen_fds_with_names()). Returns
 * their number, 0 when not socket-activated.
 */
int alga_httpd_add_listen_fds(struct alga_httpd *h);

/*
 * Makes a listening Unix stream socket at path with mode set before
 * listen(), replacing a stale socket file. -EEXIST when path exists and is
 * not a socket, -ENAMETOOLONG past sun_path.
 */
int alga_httpd_listen_unix(const char *path, mode_t mode, int *ret_fd);

/* a listening TCP socket on address ("0.0.0.0", "::", NULL = any) and port */
int alga_httpd_listen_tcp(const char *address, uint16_t port, int *ret_fd);

/* number of open connections over all daemons */
unsigned alga_httpd_n_connections(struct alga_httpd *h);

/*
 * Runs work(data) on the server's worker thread (one job at a time, in
 * order), then done(data, result) on the loop thread. While a job is
 * queued or running the idle timer does not fire. -ENOMEM.
 */
int alga_httpd_defer(struct alga_httpd *h, int (*work)(void *data),
		     void (*done)(void *data, int result), void *data);

/* request accessors: valid until the answer is sent */
const char *alga_httpd_request_method(struct alga_httpd_request *req);
/* the path without the query string */
const char *alga_httpd_request_path(struct alga_httpd_request *req);
/* the body (NUL-terminated, not counted in *ret_len), NULL when none */
const char *alga_httpd_request_body(struct alga_httpd_request *req, size_t *ret_len);
/* a request header, NULL when absent */
const char *alga_httpd_request_header(struct alga_httpd_request *req, const char *name);
/* the peer of a Unix socket (SO_PEERCRED); -ENOTSOCK/-EINVAL elsewhere */
int alga_httpd_request_peer(struct alga_httpd_request *req, struct ucred *ret);
struct alga_httpd *alga_httpd_request_server(struct alga_httpd_request *req);

/*
 * Keeps the connection open without an answer: the handler (or a done
 * callback later, on the loop thread) answers with alga_httpd_respond*().
 */
int alga_httpd_request_suspend(struct alga_httpd_request *req);

/*
 * Answers with status and a copy of body. content_type NULL means
 * "application/json; charset=utf-8". extra_headers is NULL or a
 * NULL-terminated name, value, name, value... list. -EALREADY when the
 * request has an answer, -ENOMEM, -EIO.
 */
int alga_httpd_respond(struct alga_httpd_request *req, unsigned status, const char *content_type,
		       const void *body, size_t len, const char *const *extra_headers);

/* answers with doc as compact JSON plus "\n"; doc stays the caller's */
int alga_httpd_respond_json(struct alga_httpd_request *req, unsigned status,
			    struct json_object *doc);

/* answers {"ok":false,"error":message} */
int alga_httpd_respond_error(struct alga_httpd_request *req, unsigned status, const char *message);

/*
 * Streams size bytes of fd (taken on success, even if the send fails
 * later) with content_type and extra_headers.
 */
int alga_httpd_respond_fd(struct alga_httpd_request *req, unsigned status, const char *content_type,
			  int fd, uint64_t size, const char *const *extra_headers);

/*
 * Route matching, exported for the fuzzer and tests: 1 with *ret_route set
 * when method and path match, 0 when the path exists under other methods
 * (their names in allow, comma separated), -ENOENT when the path matches no
 * route.
 */
int alga_httpd_route_find(const struct alga_httpd_route *routes, const char *method,
			  const char *path, const struct alga_httpd_route **ret_route, char *allow,
			  size_t allow_size);

/* the reason phrase of status ("Not Found"), "Unknown" for others */
const char *alga_httpd_status_reason(unsigned status);
