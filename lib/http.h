/* SPDX-License-Identifier: AGPL-3.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/*
 * libcurl client for registries and their CDNs (release.md §4.3). One
 * struct alga_http per caller (it keeps a curl easy handle, so connections
 * are reused); nothing global but curl_global_init(), done once per process
 * through pthread_once. Redirects are followed here, hop by hop, never by
 * libcurl: only http(s), never https to http, at most max_redirects hops,
 * and Authorization only while scheme, host and port equal the first URL's.
 * So a token reaches plain http only when the caller itself asked for an
 * http URL with allow_http (an insecure registry, release.md §4.5).
 */

/* limits of outside input (release.md §4.3) */
#define ALGA_HTTP_BODY_MAX (64u * 1024u * 1024u) /* hard ceiling of any body cap */
#define ALGA_HTTP_HEADERS_MAX (64u * 1024u)      /* bytes of one response's headers */
#define ALGA_HTTP_HEADER_LINE_MAX (16u * 1024u)  /* bytes of one header line */
#define ALGA_HTTP_HEADER_COUNT_MAX 128u          /* header lines of one response */
#define ALGA_HTTP_URL_MAX 8192u
#define ALGA_HTTP_REDIRECTS_MAX 5u
#define ALGA_HTTP_CONNECT_TIMEOUT_SEC 10u
#define ALGA_HTTP_TIMEOUT_SEC 30u
#define ALGA_HTTP_LOW_SPEED_LIMIT 1024u /* bytes per second ... */
#define ALGA_HTTP_LOW_SPEED_TIME_SEC 15u /* ... for this long aborts */
#define ALGA_HTTP_CA_PATH "/etc/ssl/certs"

/*
 * Error classes: the exit codes of alga-resolve(8) (release.md §4.5), so a
 * tool maps a failure to its exit status at the boundary.
 */
enum alga_error_class {
	ALGA_ERROR_NONE = 0,
	ALGA_ERROR_INTERNAL = 1,
	ALGA_ERROR_USAGE = 2,
	ALGA_ERROR_NOT_FOUND = 3,
	ALGA_ERROR_NETWORK = 4,
	ALGA_ERROR_TLS = 5,
	ALGA_ERROR_AUTH = 6,
	ALGA_ERROR_INTEGRITY = 7,
	ALGA_ERROR_ARTIFACT = 8,
	ALGA_ERROR_INVALID = 9,
	_ALGA_ERROR_CLASS_MAX,
};

/*
 * Failure details (resolutions.md E3), filled by calls taking an optional
 * last `struct alga_error *reterr` on any failure but -ENOMEM. Strings are
 * owned by the struct; release them with alga_error_clear(). Nothing in it
 * ever holds a token or a query string.
 */
struct alga_error {
	enum alga_error_class class;
	char *code;        /* registry errors[0].code ("MANIFEST_UNKNOWN"), or NULL */
	char *field;       /* JSON path or header named by the failure, or NULL */
	char *message;     /* one sentence, no final full stop */
	long http_status;  /* last HTTP status seen, 0 if none */
	char *url;         /* URL of the failing request without query/fragment, or NULL */
};

/* frees the strings and zeroes e; NULL is fine */
void alga_error_clear(struct alga_error *e);
/* "none", "internal", "usage", "not-found", "network", "tls", "auth", ... */
const char *alga_error_class_to_string(enum alga_error_class c);
int alga_error_class_from_string(const char *s);
/*
 * Replaces e's contents (e may be NULL: then a no-op): class, status, url
 * (its query and fragment are cut here), field and a printf message.
 * Returns r, so `return alga_error_set(reterr, r, ...)` is one statement.
 */
int alga_error_set(struct alga_error *e, int r, enum alga_error_class class, long http_status,
		   const char *url, const char *field, const char *format, ...) _printf_(7, 8);

/* a copy of url without "?query" and "#fragment", for logs and errors */
int alga_http_url_strip_query(const char *url, char **ret);

/*
 * Optional pin for name resolution (alga-resolve --dns-server): asked once
 * per hop for host and port; return 1 with *ret_addr (a numeric address,
 * caller frees) to pin it with CURLOPT_RESOLVE, 0 to let libcurl resolve,
 * <0 to fail the request with that errno.
 */
typedef int (*alga_http_resolve_fn)(const char *host, unsigned port, char **ret_addr,
				    void *userdata);

struct alga_http_options {
	const char *ca_file;          /* extra PEM trust: CAINFO, plus CAPATH=ALGA_HTTP_CA_PATH */
	const char *ca_path;          /* NULL: ALGA_HTTP_CA_PATH (tests point it elsewhere) */
	bool allow_http;              /* permit http:// URLs (insecure registry) */
	unsigned connect_timeout_sec; /* 0: ALGA_HTTP_CONNECT_TIMEOUT_SEC */
	unsigned timeout_sec;         /* whole request, each hop; 0: ALGA_HTTP_TIMEOUT_SEC */
	unsigned low_speed_limit;     /* 0: ALGA_HTTP_LOW_SPEED_LIMIT */
	unsigned low_speed_time_sec;  /* 0: ALGA_HTTP_LOW_SPEED_TIME_SEC */
	unsigned max_redirects;       /* 0: ALGA_HTTP_REDIRECTS_MAX; capped at 16 */
	const char *user_agent;       /* NULL: "alga/<ALGA_VERSION>" */
	alga_http_resolve_fn resolve;
	void *resolve_userdata;
};

/*
 * Streaming body sink: called per chunk as it arrives (after the cap
 * check). A negative return aborts the transfer with that errno.
 */
typedef int (*alga_http_sink_fn)(const void *data, size_t len, void *userdata);

struct alga_http_request {
	const char *url;                  /* http(s) only */
	const char *const *headers;       /* NULL-terminated "Name: value"; no Authorization */
	const char *authorization;        /* Authorization value, sent to the URL's origin only */
	size_t body_max;                  /* cap on the final body; 0: 64 KiB; <= ALGA_HTTP_BODY_MAX */
	alga_http_sink_fn sink;           /* NULL: buffer mode (response->body) */
	void *sink_userdata;
};

struct alga_http_header {
	char *name;  /* as received */
	char *value; /* leading and trailing white space cut */
};

struct alga_http_response {
	long status;                      /* final status after redirects */
	char *url;                        /* final URL (may carry a query; do not log) */
	unsigned redirects;               /* hops followed */
	struct alga_http_header *headers; /* of the final response */
	size_t n_headers;
	char *body;                       /* buffer mode: body bytes, NUL-terminated; else NULL */
	size_t body_size;                 /* bytes received (both modes) */
	int64_t content_length;           /* Content-Length of the final response, -1 if none */
};

struct alga_http;

/* curl_global_init() once per process; safe from any thread. 0 or -EIO. */
int alga_http_global_init(void);

/* a client with o (NULL: defaults); -ENOMEM, -EIO (curl refused) */
int alga_http_new(const struct alga_http_options *o, struct alga_http **ret);
struct alga_http *alga_http_free(struct alga_http *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct alga_http *, alga_http_free);

/*
 * GET req->url, following redirects as described above. Returns 0 with
 * *ret for any final HTTP status (the caller decides what a status means,
 * alga_http_status_to_errno() helps), or:
 *   -EINVAL          bad URL or request
 *   -EPROTONOSUPPORT a scheme other than http(s), or http without allow_http
 *   -EPERM           a redirect from https to http
 *   -ELOOP           more than max_redirects hops
 *   -E2BIG           body over body_max (transfer aborted), headers over a limit
 *   -EBADMSG         a malformed header line or a 3xx without Location
 *   -ETIMEDOUT       timeout before the connection was up (retryable)
 *   -ETIME           total or low-speed timeout after connecting (a stall: not retried)
 *   -ECONNREFUSED, -EHOSTUNREACH, -ECONNRESET  transport failures
 *   -EKEYREJECTED    TLS peer verification failed; -ECONNABORTED other TLS failures
 *   -EIO             anything else libcurl reports
 *   or the sink's errno; with reterr filled (class, url without query).
 */
int alga_http_get(struct alga_http *h, const struct alga_http_request *req,
		  struct alga_http_response **ret, struct alga_error *reterr);

struct alga_http_response *alga_http_response_free(struct alga_http_response *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct alga_http_response *, alga_http_response_free);

/* value of the last header called name (case-insensitive), or NULL */
const char *alga_http_response_get_header(const struct alga_http_response *r, const char *name);
/*
 * All values of name joined with ", " (RFC 9110 §5.3) into a new string in
 * *ret; 0 when absent (*ret = NULL), 1 when found, -ENOMEM, -E2BIG.
 */
int alga_http_response_join_header(const struct alga_http_response *r, const char *name,
				   char **ret);

/*
 * Splits one raw header line ("Name: value\r\n") into a new name and value
 * (white space around the value cut). Returns 1 for a header, 0 for the
 * blank end-of-headers line or a status line ("HTTP/..."), -EBADMSG for a
 * malformed line (no colon, bad token, control bytes, obs-fold), -E2BIG over
 * ALGA_HTTP_HEADER_LINE_MAX.
 */
int alga_http_header_line_parse(const char *line, size_t len, char **ret_name, char **ret_value);

/*
 * HTTP status to errno, the one mapping of the suite: 2xx 0, 401/403
 * -EACCES, 404 -ENOENT, 408/504 -ETIMEDOUT, 429/502/503 -EAGAIN, other
 * 4xx/5xx and 1xx/3xx -EPROTO.
 */
int alga_http_status_to_errno(long status);
/* errno of alga_http_get() to the error class a tool reports */
enum alga_error_class alga_http_errno_to_class(int r);
