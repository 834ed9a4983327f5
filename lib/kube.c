/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "alga-config.h"
#include "crypto.h"
#include "http.h"
#include "json.h"
#include "kube.h"
#include "log.h"

/* Status bodies are small; an error body past this is kept cut, not parsed */
#define STATUS_BODY_MAX (64u * 1024u)
#define REASON_MAX 128u
/* sockets the multi watches at once in event mode */
#define WATCHED_MAX 64u

/* a response body, collected under its cap and parsed once at the end */
struct alga_kube_body {
	char *buf;
	size_t size;
	size_t alloc;
	size_t max;
	bool started;
};

struct watched {
	curl_socket_t fd;
	sd_event_source *source;
};

struct alga_kube {
	struct alga_kubeconfig *config;
	char *field_manager;
	char *user_agent;
	char *auth_header; /* "Authorization: Bearer ...", cleansed on free */
	uint64_t timeout_usec;
	uint64_t connect_timeout_usec;
	size_t body_max;
	unsigned max_connections;

	CURLM *multi;
	struct alga_kube_request *in_flight; /* doubly linked */
	unsigned n_in_flight;

	sd_event *event;
	sd_event_source *timer;
	int64_t priority;
	struct watched watched[WATCHED_MAX];
	size_t n_watched;

	struct json_object *discovery; /* apiVersion -> resources array */
};

struct alga_kube_request {
	struct alga_kube *kube;
	enum alga_kube_method method;
	char *path;
	char *accept;
	char *content_type;
	char *body;
	size_t body_len;
	size_t body_max;
	bool text;
	uint64_t timeout_usec;
	uint64_t deadline;

	/* while in flight */
	CURL *easy;
	struct curl_slist *headers;
	char curl_error[CURL_ERROR_SIZE];
	alga_kube_done_fn done;
	void *userdata;
	bool in_flight;
	struct alga_kube_request *prev, *next;
	uint64_t started;
	int abort_errno;
	char *abort_message;

	/* response */
	struct alga_kube_body *json_body;
	char *buf; /* text body, or a failed request's Status body */
	size_t buf_len;
	size_t buf_alloc;
	size_t received;

	/* result */
	bool completed;
	int result;
	long http_status;
	int http_version;
	uint64_t duration;
	struct json_object *json;
	char *message;
	char *reason;
};

static uint64_t now_usec(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / NSEC_PER_USEC;
}

static const char *const method_table[_ALGA_KUBE_METHOD_MAX] = {
	[ALGA_KUBE_GET] = "GET",       [ALGA_KUBE_POST] = "POST",     [ALGA_KUBE_PUT] = "PUT",
	[ALGA_KUBE_PATCH] = "PATCH",   [ALGA_KUBE_DELETE] = "DELETE",
};

DEFINE_STRING_TABLE_LOOKUP(alga_kube_method, enum alga_kube_method, method_table)

static const char *const propagation_table[_ALGA_KUBE_PROPAGATION_MAX] = {
	[ALGA_KUBE_PROPAGATION_DEFAULT] = "default",
	[ALGA_KUBE_PROPAGATION_BACKGROUND] = "Background",
	[ALGA_KUBE_PROPAGATION_FOREGROUND] = "Foreground",
	[ALGA_KUBE_PROPAGATION_ORPHAN] = "Orphan",
};

DEFINE_STRING_TABLE_LOOKUP(alga_kube_propagation, enum alga_kube_propagation, propagation_table)

/* a copy of s cut at max bytes on a UTF-8 boundary, controls made spaces */
static char *sanitize(const char *s, size_t len, size_t max)
{
	char *out;

	if (len > max) {
		len = max;
		/* never end inside a multi-byte sequence */
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	out = strndup(s, len);
	if (!out)
		return NULL;
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return out;
}

static int errno_for_status(long status, const char *reason)
{
	if (status >= 200 && status < 300)
		return 0;
	switch (status) {
	case 400:
	case 422:
		return -EINVAL;
	case 401:
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 405:
		return -EOPNOTSUPP;
	case 409:
		return reason && streq(reason, "AlreadyExists") ? -EEXIST : -EBUSY;
	case 410:
		return -ESTALE;
	case 413:
		return -E2BIG;
	case 429:
		return -EAGAIN;
	case 504:
		return -ETIMEDOUT;
	default:
		break;
	}
	if (status >= 500 && status < 600)
		return reason && (streq(reason, "Timeout") || streq(reason, "ServerTimeout"))
			       ? -ETIMEDOUT
			       : -EIO;
	return -EPROTO;
}

int alga_kube_status_to_errno(long http_status, const char *body, size_t len, char **ret_reason,
			      char **ret_message)
{
	static const struct alga_json_limits limits = {
		.size_max = STATUS_BODY_MAX,
		.depth_max = 16,
		.string_max = 16 * 1024,
		.items_max = 1024,
	};
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	_cleanup_free_ char *reason = NULL, *message = NULL;
	const char *s;
	int r;

	if (http_status >= 200 && http_status < 300)
		return 0;

	if (body && len > 0 && alga_json_parse(body, len, &limits, &o, NULL) >= 0 &&
	    json_object_is_type(o, json_type_object)) {
		if (alga_json_get_string(o, "reason", ALGA_JSON_OPTIONAL, &s, NULL) > 0 && *s) {
			reason = sanitize(s, strlen(s), REASON_MAX);
			if (!reason)
				return -ENOMEM;
		}
		if (alga_json_get_string(o, "message", ALGA_JSON_OPTIONAL, &s, NULL) > 0 && *s) {
			message = sanitize(s, strlen(s), ALGA_KUBE_MESSAGE_MAX);
			if (!message)
				return -ENOMEM;
		}
	}

	r = errno_for_status(http_status, reason);
	if (!message) {
		if (reason) {
			if (asprintf(&message, "The API server answered HTTP %ld (%s).", http_status,
				     reason) < 0)
				return -ENOMEM;
		} else if (asprintf(&message, "The API server answered HTTP %ld.", http_status) < 0)
			return -ENOMEM;
	}

	if (ret_reason)
		*ret_reason = TAKE_PTR(reason);
	if (ret_message)
		*ret_message = TAKE_PTR(message);
	return r;
}

int alga_kube_body_new(size_t max, struct alga_kube_body **ret)
{
	struct alga_kube_body *b;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->max = max;
	*ret = b;
	return 0;
}

struct alga_kube_body *alga_kube_body_free(struct alga_kube_body *b)
{
	if (!b)
		return NULL;
	free(b->buf);
	free(b);
	return NULL;
}

int alga_kube_body_feed(struct alga_kube_body *b, const void *data, size_t len)
{
	const char *p = data;

	if (len == 0)
		return 0;
	/* the cap is enforced as bytes arrive, before anything grows */
	if (len > b->max - b->size)
		return -E2BIG;
	if (memchr(p, '\0', len))
		return -EBADMSG;
	if (!b->started) {
		size_t i = 0;

		while (i < len && strchr(" \t\r\n", p[i]))
			i++;
		if (i == len)
			return 0;
		/* API bodies are objects (or arrays): refuse anything else at once */
		if (p[i] != '{' && p[i] != '[')
			return -EBADMSG;
		b->started = true;
	}

	if (b->size + len > b->alloc) {
		size_t want = MAX(b->alloc * 2, b->size + len);
		char *n;

		want = MIN(want, b->max);
		n = realloc(b->buf, want);
		if (!n)
			return -ENOMEM;
		b->buf = n;
		b->alloc = want;
	}
	memcpy(b->buf + b->size, p, len);
	b->size += len;
	return 0;
}

int alga_kube_body_finish(struct alga_kube_body *b, struct json_object **ret)
{
	struct alga_json_limits limits = {
		.size_max = b->max,
		.depth_max = ALGA_KUBE_JSON_DEPTH_MAX,
		/* a body holds no more items or string bytes than bytes */
		.string_max = b->max,
		.items_max = b->max,
	};
	int r;

	if (!b->started) {
		*ret = NULL;
		return 0;
	}
	/*
	 * One strict parse of the whole body: json-c's incremental tokener
	 * took NaN, raw control characters and numbers split by a chunk
	 * boundary differently depending on where TCP cut the body
	 * (fuzz-kube-status), so what was accepted depended on the network.
	 */
	r = alga_json_parse(b->buf, b->size, &limits, ret, NULL);
	if (r == -E2BIG || r == -ENOMEM)
		return r;
	return r < 0 ? -EBADMSG : 0;
}

static int curl_to_errno(CURLcode c)
{
	switch (c) {
	case CURLE_OK:
		return 0;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_FILESIZE_EXCEEDED:
		return -E2BIG;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
		return -EKEYREJECTED;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_HTTP3:
	case CURLE_BAD_CONTENT_ENCODING:
		return -ECONNRESET;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -EPROTO;
	default:
		return -EIO;
	}
}

/* request lifecycle */

static void request_unlink(struct alga_kube_request *req)
{
	struct alga_kube *kube = req->kube;

	if (!req->in_flight)
		return;
	if (req->easy) {
		(void)curl_multi_remove_handle(kube->multi, req->easy);
		curl_easy_cleanup(req->easy);
		req->easy = NULL;
	}
	if (req->prev)
		req->prev->next = req->next;
	else
		kube->in_flight = req->next;
	if (req->next)
		req->next->prev = req->prev;
	req->prev = req->next = NULL;
	req->in_flight = false;
	kube->n_in_flight--;
}

static void headers_free(struct curl_slist **l)
{
	/* the Authorization line holds the token */
	for (struct curl_slist *i = *l; i; i = i->next)
		alga_crypto_cleanse(i->data, strlen(i->data));
	curl_slist_free_all(*l);
	*l = NULL;
}

static void response_reset(struct alga_kube_request *req)
{
	req->json_body = alga_kube_body_free(req->json_body);
	free(req->buf);
	req->buf = NULL;
	req->buf_len = req->buf_alloc = req->received = 0;
	json_object_put(req->json);
	req->json = NULL;
	free(req->message);
	req->message = NULL;
	free(req->reason);
	req->reason = NULL;
	free(req->abort_message);
	req->abort_message = NULL;
	req->abort_errno = 0;
	req->http_status = 0;
	req->http_version = 0;
	req->duration = 0;
	req->completed = false;
	req->result = -EINPROGRESS;
	req->curl_error[0] = '\0';
}

struct alga_kube_request *alga_kube_request_free(struct alga_kube_request *req)
{
	if (!req)
		return NULL;
	request_unlink(req);
	headers_free(&req->headers);
	response_reset(req);
	free(req->path);
	free(req->accept);
	free(req->content_type);
	if (req->body) {
		alga_crypto_cleanse(req->body, req->body_len);
		free(req->body);
	}
	free(req);
	return NULL;
}

static bool path_is_valid(const char *path)
{
	size_t n;

	if (!path || path[0] != '/')
		return false;
	n = strlen(path);
	if (n > ALGA_KUBE_PATH_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)path[i] <= ' ' || (unsigned char)path[i] >= 0x7f ||
		    path[i] == '#')
			return false;
	return true;
}

int alga_kube_request_new(struct alga_kube *kube, enum alga_kube_method method, const char *path,
			  struct alga_kube_request **ret)
{
	_cleanup_(alga_kube_request_freep) struct alga_kube_request *req = NULL;

	if (!kube || (unsigned)method >= _ALGA_KUBE_METHOD_MAX || !path_is_valid(path))
		return -EINVAL;

	req = calloc(1, sizeof(*req));
	if (!req)
		return -ENOMEM;
	req->kube = kube;
	req->method = method;
	req->body_max = kube->body_max;
	req->result = -EINPROGRESS;
	req->path = strdup(path);
	if (!req->path)
		return -ENOMEM;

	*ret = TAKE_PTR(req);
	return 0;
}

static bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* percent-encodes s (RFC 3986 unreserved kept) into a new string */
static char *escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out, *o;

	out = malloc(n * 3 + 1);
	if (!out)
		return NULL;
	o = out;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (is_unreserved(*p))
			*o++ = (char)*p;
		else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

int alga_kube_request_add_query(struct alga_kube_request *req, const char *key, const char *value)
{
	_cleanup_free_ char *k = NULL, *v = NULL;
	char *n;

	if (!req || isempty(key) || !value)
		return -EINVAL;
	k = escape(key);
	v = escape(value);
	if (!k || !v)
		return -ENOMEM;
	if (strlen(req->path) + strlen(k) + strlen(v) + 2 > ALGA_KUBE_PATH_MAX)
		return -E2BIG;
	if (asprintf(&n, "%s%c%s=%s", req->path, strchr(req->path, '?') ? '&' : '?', k, v) < 0)
		return -ENOMEM;
	free(req->path);
	req->path = n;
	return 0;
}

int alga_kube_request_set_body(struct alga_kube_request *req, const char *content_type,
			       const void *body, size_t len)
{
	char *ct, *b;

	if (!req || isempty(content_type) || (!body && len > 0) || req->in_flight)
		return -EINVAL;
	if (strpbrk(content_type, "\r\n"))
		return -EINVAL;
	if (len > ALGA_KUBE_REQUEST_BODY_MAX)
		return -E2BIG;
	ct = strdup(content_type);
	b = malloc(len + 1);
	if (!ct || !b) {
		free(ct);
		free(b);
		return -ENOMEM;
	}
	if (len > 0)
		memcpy(b, body, len);
	b[len] = '\0';
	free(req->content_type);
	req->content_type = ct;
	if (req->body) {
		alga_crypto_cleanse(req->body, req->body_len);
		free(req->body);
	}
	req->body = b;
	req->body_len = len;
	return 0;
}

int alga_kube_request_set_json_body(struct alga_kube_request *req, const char *content_type,
				    struct json_object *body)
{
	_cleanup_free_ char *s = NULL;
	int r;

	if (!body)
		return -EINVAL;
	r = alga_json_format(body, ALGA_JSON_FORMAT_COMPACT, &s);
	if (r < 0)
		return r;
	r = alga_kube_request_set_body(req, content_type, s, strlen(s));
	/* Secrets travel in bodies */
	alga_crypto_cleanse(s, strlen(s));
	return r;
}

int alga_kube_request_set_accept(struct alga_kube_request *req, const char *accept)
{
	char *a = NULL;

	if (!req || req->in_flight)
		return -EINVAL;
	if (accept) {
		if (strpbrk(accept, "\r\n"))
			return -EINVAL;
		a = strdup(accept);
		if (!a)
			return -ENOMEM;
	}
	free(req->accept);
	req->accept = a;
	return 0;
}

int alga_kube_request_set_body_max(struct alga_kube_request *req, size_t max)
{
	if (!req || max == 0)
		return -EINVAL;
	if (max > ALGA_KUBE_BODY_MAX)
		return -E2BIG;
	req->body_max = max;
	return 0;
}

void alga_kube_request_set_text(struct alga_kube_request *req, bool text)
{
	req->text = text;
}

void alga_kube_request_set_timeout(struct alga_kube_request *req, uint64_t usec)
{
	req->timeout_usec = usec;
}

void alga_kube_request_set_deadline(struct alga_kube_request *req, uint64_t usec)
{
	req->deadline = usec;
}

static int buf_append(struct alga_kube_request *req, const char *p, size_t n, size_t max)
{
	if (n > max - req->buf_len)
		return -E2BIG;
	if (req->buf_len + n + 1 > req->buf_alloc) {
		size_t a = MAX(req->buf_alloc * 2, req->buf_len + n + 1);
		char *b;

		a = MIN(a, max + 1);
		b = realloc(req->buf, a);
		if (!b)
			return -ENOMEM;
		req->buf = b;
		req->buf_alloc = a;
	}
	memcpy(req->buf + req->buf_len, p, n);
	req->buf_len += n;
	req->buf[req->buf_len] = '\0';
	return 0;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct alga_kube_request *req = userdata;
	size_t n = size * nmemb;
	long status = 0;
	int r;

	(void)curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
	req->received += n;

	if (status < 200 || status >= 300) {
		/* a Status body: keep its head for the message, never fail on it */
		if (req->buf_len < STATUS_BODY_MAX)
			(void)buf_append(req, ptr, MIN(n, STATUS_BODY_MAX - req->buf_len),
					 STATUS_BODY_MAX);
		return n;
	}

	if (req->text) {
		r = buf_append(req, ptr, n, req->body_max);
		if (r == -E2BIG)
			goto too_big;
		if (r < 0) {
			req->abort_errno = r;
			return 0;
		}
		return n;
	}

	if (!req->json_body) {
		r = alga_kube_body_new(req->body_max, &req->json_body);
		if (r < 0) {
			req->abort_errno = r;
			return 0;
		}
	}
	r = alga_kube_body_feed(req->json_body, ptr, n);
	if (r == -E2BIG && req->received > req->body_max)
		goto too_big;
	if (r < 0) {
		req->abort_errno = r;
		if (r == -E2BIG)
			r = asprintf(&req->abort_message,
				     "Response body is nested deeper than %u levels.",
				     ALGA_KUBE_JSON_DEPTH_MAX);
		else
			r = asprintf(&req->abort_message,
				     "Response body is not valid JSON (within its first %zu bytes).",
				     req->received);
		if (r < 0)
			req->abort_message = NULL;
		return 0;
	}
	return n;

too_big:
	req->abort_errno = -E2BIG;
	if (asprintf(&req->abort_message, "Response body is over the limit of %zu bytes.",
		     req->body_max) < 0)
		req->abort_message = NULL;
	return 0;
}

static int message_set(char **m, const char *s)
{
	char *n = strdup(s);

	if (!n)
		return -ENOMEM;
	free(*m);
	*m = n;
	return 0;
}

_printf_(2, 3) static void message_printf(struct alga_kube_request *req, const char *format, ...)
{
	va_list ap;

	free(req->message);
	va_start(ap, format);
	if (vasprintf(&req->message, format, ap) < 0)
		req->message = NULL;
	va_end(ap);
}

/* fills result, message and json from the finished transfer */
static void request_conclude(struct alga_kube_request *req, CURLcode cc)
{
	long version = 0;
	int r;

	(void)curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &req->http_status);
	(void)curl_easy_getinfo(req->easy, CURLINFO_HTTP_VERSION, &version);
	req->http_version = version == CURL_HTTP_VERSION_2_0 ? 2 : version ? 1 : 0;

	if (cc != CURLE_OK) {
		r = req->abort_errno ?: curl_to_errno(cc);
		req->result = r;
		if (req->abort_message)
			req->message = TAKE_PTR(req->abort_message);
		else if (r == -ETIMEDOUT)
			message_printf(req, "Request timed out after %" PRIu64 " ms.",
				       (now_usec() - req->started) / USEC_PER_MSEC);
		else if (r == -E2BIG)
			message_printf(req, "Response body is over the limit of %zu bytes.",
				       req->body_max);
		else
			message_printf(req, "%s.",
				       req->curl_error[0] ? req->curl_error : curl_easy_strerror(cc));
		return;
	}

	if (req->http_status < 200 || req->http_status >= 300) {
		r = alga_kube_status_to_errno(req->http_status, req->buf, req->buf_len, &req->reason,
					      &req->message);
		req->result = r;
		free(req->buf);
		req->buf = NULL;
		req->buf_len = req->buf_alloc = 0;
		return;
	}

	if (req->text) {
		req->result = 0;
		return;
	}

	if (req->json_body) {
		r = alga_kube_body_finish(req->json_body, &req->json);
		req->json_body = alga_kube_body_free(req->json_body);
		if (r < 0) {
			req->result = r;
			(void)message_set(&req->message,
					  "Response body is truncated or not valid JSON.");
			return;
		}
	}
	req->result = 0;
}

static void request_complete(struct alga_kube_request *req, CURLcode cc, int forced)
{
	alga_kube_done_fn done = req->done;
	void *userdata = req->userdata;

	if (forced < 0) {
		req->result = forced;
		(void)curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &req->http_status);
		message_printf(req, "Request timed out after %" PRIu64 " ms.",
			       (now_usec() - req->started) / USEC_PER_MSEC);
	} else
		request_conclude(req, cc);
	req->duration = now_usec() - req->started;
	request_unlink(req);
	headers_free(&req->headers);
	req->completed = true;
	log_debug("%s %s: %d (HTTP %ld) in %" PRIu64 " ms", method_table[req->method], req->path,
		  req->result, req->http_status, req->duration / USEC_PER_MSEC);
	/* last: the callback may free req */
	if (done)
		done(req, req->result, userdata);
}

static void process_done(struct alga_kube *kube)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(kube->multi, &left))) {
		struct alga_kube_request *req = NULL;
		CURLcode cc;

		if (m->msg != CURLMSG_DONE)
			continue;
		cc = m->data.result;
		(void)curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&req);
		if (req)
			request_complete(req, cc, 0);
	}
}

#define SETOPT(e, opt, val)                                   \
	do {                                                  \
		if (curl_easy_setopt((e), (opt), (val)) != CURLE_OK) \
			return -EIO;                          \
	} while (0)

static int headers_add(struct curl_slist **l, const char *line)
{
	struct curl_slist *n = curl_slist_append(*l, line);

	if (!n)
		return -ENOMEM;
	*l = n;
	return 0;
}

static int request_setup(struct alga_kube *kube, struct alga_kube_request *req, uint64_t timeout)
{
	_cleanup_free_ char *url = NULL, *accept = NULL, *ctype = NULL;
	uint64_t connect = MIN(kube->connect_timeout_usec, timeout);
	CURL *e;
	int r;

	if (asprintf(&url, "%s%s", kube->config->server, req->path) < 0)
		return -ENOMEM;
	if (asprintf(&accept, "Accept: %s", req->accept ?: "application/json") < 0)
		return -ENOMEM;

	r = headers_add(&req->headers, accept);
	if (r < 0)
		return r;
	if (req->content_type) {
		if (asprintf(&ctype, "Content-Type: %s", req->content_type) < 0)
			return -ENOMEM;
		r = headers_add(&req->headers, ctype);
		if (r < 0)
			return r;
	}
	/* no 100-continue round trip for our small bodies */
	r = headers_add(&req->headers, "Expect:");
	if (r < 0)
		return r;
	if (kube->auth_header) {
		r = headers_add(&req->headers, kube->auth_header);
		if (r < 0)
			return r;
	}

	e = req->easy = curl_easy_init();
	if (!e)
		return -ENOMEM;

	SETOPT(e, CURLOPT_URL, url);
	SETOPT(e, CURLOPT_PROTOCOLS_STR, "https");
	SETOPT(e, CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(e, CURLOPT_NOSIGNAL, 1L);
	SETOPT(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	/* wait for a connection that can multiplex rather than open another */
	SETOPT(e, CURLOPT_PIPEWAIT, 1L);
	SETOPT(e, CURLOPT_TIMEOUT_MS, (long)MAX(timeout / USEC_PER_MSEC, 1));
	SETOPT(e, CURLOPT_CONNECTTIMEOUT_MS, (long)MAX(connect / USEC_PER_MSEC, 1));
	SETOPT(e, CURLOPT_ACCEPT_ENCODING, "");
	SETOPT(e, CURLOPT_USERAGENT, kube->user_agent);
	SETOPT(e, CURLOPT_HTTPHEADER, req->headers);
	SETOPT(e, CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(e, CURLOPT_WRITEFUNCTION, write_cb);
	SETOPT(e, CURLOPT_WRITEDATA, req);
	SETOPT(e, CURLOPT_PRIVATE, req);
	SETOPT(e, CURLOPT_ERRORBUFFER, req->curl_error);
	SETOPT(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)req->body_max);

	switch (req->method) {
	case ALGA_KUBE_GET:
		SETOPT(e, CURLOPT_HTTPGET, 1L);
		break;
	case ALGA_KUBE_POST:
	case ALGA_KUBE_PUT:
	case ALGA_KUBE_PATCH:
	case ALGA_KUBE_DELETE:
		SETOPT(e, CURLOPT_CUSTOMREQUEST, method_table[req->method]);
		if (req->body || req->method != ALGA_KUBE_DELETE) {
			SETOPT(e, CURLOPT_POSTFIELDS, req->body ?: "");
			SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		}
		break;
	case _ALGA_KUBE_METHOD_MAX:
		return -EINVAL;
	}

	if (kube->config->insecure_skip_tls_verify) {
		SETOPT(e, CURLOPT_SSL_VERIFYPEER, 0L);
		SETOPT(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (kube->config->ca) {
		/* NOCOPY: the kubeconfig outlives every handle, and one copy is enough */
		struct curl_blob b = { .data = kube->config->ca,
				       .len = kube->config->ca_len,
				       .flags = CURL_BLOB_NOCOPY };

		SETOPT(e, CURLOPT_CAINFO_BLOB, &b);
	}
	if (kube->config->cert) {
		struct curl_blob c = { .data = kube->config->cert,
				       .len = kube->config->cert_len,
				       .flags = CURL_BLOB_NOCOPY };
		struct curl_blob k = { .data = kube->config->key,
				       .len = kube->config->key_len,
				       .flags = CURL_BLOB_NOCOPY };

		SETOPT(e, CURLOPT_SSLCERT_BLOB, &c);
		SETOPT(e, CURLOPT_SSLCERTTYPE, "PEM");
		SETOPT(e, CURLOPT_SSLKEY_BLOB, &k);
		SETOPT(e, CURLOPT_SSLKEYTYPE, "PEM");
	}
	return 0;
}

int alga_kube_submit(struct alga_kube *kube, struct alga_kube_request *req, alga_kube_done_fn done,
		     void *userdata)
{
	uint64_t now, deadline, timeout;
	int r;

	if (!kube || !req || req->kube != kube)
		return -EINVAL;
	if (req->in_flight)
		return -EBUSY;

	response_reset(req);
	headers_free(&req->headers);

	now = now_usec();
	timeout = req->timeout_usec ?: kube->timeout_usec;
	deadline = now + timeout;
	if (req->deadline && req->deadline < deadline)
		deadline = req->deadline;
	if (deadline <= now + USEC_PER_MSEC) {
		req->result = -ETIMEDOUT;
		req->completed = true;
		(void)message_set(&req->message, "The request's deadline has passed.");
		return -ETIMEDOUT;
	}

	r = request_setup(kube, req, deadline - now);
	if (r < 0)
		goto fail;

	req->done = done;
	req->userdata = userdata;
	req->started = now;
	req->next = kube->in_flight;
	if (req->next)
		req->next->prev = req;
	req->prev = NULL;
	kube->in_flight = req;
	kube->n_in_flight++;
	req->in_flight = true;

	if (curl_multi_add_handle(kube->multi, req->easy) != CURLM_OK) {
		curl_easy_cleanup(TAKE_PTR(req->easy));
		request_unlink(req);
		r = -EIO;
		goto fail;
	}
	return 0;

fail:
	if (req->easy) {
		curl_easy_cleanup(req->easy);
		req->easy = NULL;
	}
	headers_free(&req->headers);
	req->result = r;
	return r;
}

/* completes every request in flight with r, as a deadline passing does */
static void expire_all(struct alga_kube *kube, int r)
{
	while (kube->in_flight)
		request_complete(kube->in_flight, CURLE_OK, r);
}

int alga_kube_run_until(struct alga_kube *kube, struct alga_kube_request *req, uint64_t deadline)
{
	if (!kube)
		return -EINVAL;
	if (kube->event)
		return -EBUSY;

	for (;;) {
		uint64_t now;
		int running, timeout_ms = 1000;
		CURLMcode mc;

		mc = curl_multi_perform(kube->multi, &running);
		if (mc != CURLM_OK)
			return mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EIO;
		process_done(kube);

		if (req ? !req->in_flight : kube->n_in_flight == 0)
			return 0;

		now = now_usec();
		if (deadline) {
			if (now >= deadline) {
				expire_all(kube, -ETIMEDOUT);
				return -ETIMEDOUT;
			}
			timeout_ms = (int)MIN((deadline - now + 999) / USEC_PER_MSEC, 1000u);
		}
		mc = curl_multi_poll(kube->multi, NULL, 0, timeout_ms, NULL);
		if (mc != CURLM_OK)
			return mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EIO;
	}
}

int alga_kube_run(struct alga_kube *kube, uint64_t deadline)
{
	return alga_kube_run_until(kube, NULL, deadline);
}

unsigned alga_kube_in_flight(struct alga_kube *kube)
{
	return kube ? kube->n_in_flight : 0;
}

/* event mode */

static struct watched *watched_find(struct alga_kube *kube, curl_socket_t fd)
{
	for (size_t i = 0; i < kube->n_watched; i++)
		if (kube->watched[i].fd == fd)
			return &kube->watched[i];
	return NULL;
}

static void watched_remove(struct alga_kube *kube, struct watched *w)
{
	w->source = sd_event_source_disable_unref(w->source);
	*w = kube->watched[--kube->n_watched];
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct alga_kube *kube = userdata;
	int flags = 0, running;

	if (revents & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (revents & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (revents & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	(void)curl_multi_socket_action(kube->multi, fd, flags, &running);
	process_done(kube);
	return 0;
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct alga_kube *kube = userp;
	struct watched *w = watched_find(kube, fd);
	uint32_t events = 0;
	int r;

	if (what == CURL_POLL_REMOVE) {
		if (w)
			watched_remove(kube, w);
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		events |= EPOLLOUT;

	if (w) {
		r = sd_event_source_set_io_events(w->source, events);
		if (r >= 0)
			r = sd_event_source_set_enabled(w->source, SD_EVENT_ON);
		return r < 0 ? -1 : 0;
	}
	if (kube->n_watched >= WATCHED_MAX)
		return -1;
	w = &kube->watched[kube->n_watched];
	r = sd_event_add_io(kube->event, &w->source, fd, events, on_io, kube);
	if (r < 0)
		return -1;
	(void)sd_event_source_set_priority(w->source, kube->priority);
	(void)sd_event_source_set_description(w->source, "alga-kube-io");
	w->fd = fd;
	kube->n_watched++;
	return 0;
}

static int on_time(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct alga_kube *kube = userdata;
	int running;

	(void)curl_multi_socket_action(kube->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	process_done(kube);
	return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct alga_kube *kube = userp;
	uint64_t now, when;
	int r;

	if (timeout_ms < 0) {
		if (kube->timer)
			(void)sd_event_source_set_enabled(kube->timer, SD_EVENT_OFF);
		return 0;
	}

	r = sd_event_now(kube->event, CLOCK_MONOTONIC, &now);
	if (r < 0)
		now = now_usec();
	when = now + (uint64_t)timeout_ms * USEC_PER_MSEC;

	if (!kube->timer) {
		r = sd_event_add_time(kube->event, &kube->timer, CLOCK_MONOTONIC, when,
				      USEC_PER_MSEC, on_time, kube);
		if (r < 0)
			return -1;
		(void)sd_event_source_set_priority(kube->timer, kube->priority);
		(void)sd_event_source_set_description(kube->timer, "alga-kube-timer");
		return 0;
	}
	r = sd_event_source_set_time(kube->timer, when);
	if (r >= 0)
		r = sd_event_source_set_enabled(kube->timer, SD_EVENT_ONESHOT);
	return r < 0 ? -1 : 0;
}

int alga_kube_attach_event(struct alga_kube *kube, sd_event *event, int64_t priority)
{
	if (!kube || !event)
		return -EINVAL;
	if (kube->event || kube->n_in_flight > 0)
		return -EBUSY;

	if (curl_multi_setopt(kube->multi, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK ||
	    curl_multi_setopt(kube->multi, CURLMOPT_SOCKETDATA, kube) != CURLM_OK ||
	    curl_multi_setopt(kube->multi, CURLMOPT_TIMERFUNCTION, on_timer) != CURLM_OK ||
	    curl_multi_setopt(kube->multi, CURLMOPT_TIMERDATA, kube) != CURLM_OK)
		return -EIO;
	kube->event = sd_event_ref(event);
	kube->priority = priority;
	return 0;
}

static void event_release(struct alga_kube *kube)
{
	while (kube->n_watched > 0)
		watched_remove(kube, &kube->watched[kube->n_watched - 1]);
	kube->timer = sd_event_source_disable_unref(kube->timer);
	kube->event = sd_event_unref(kube->event);
}

int alga_kube_detach_event(struct alga_kube *kube)
{
	if (!kube)
		return -EINVAL;
	if (!kube->event)
		return 0;
	if (kube->n_in_flight > 0)
		return -EBUSY;

	(void)curl_multi_setopt(kube->multi, CURLMOPT_SOCKETFUNCTION, NULL);
	(void)curl_multi_setopt(kube->multi, CURLMOPT_TIMERFUNCTION, NULL);
	event_release(kube);
	return 0;
}

/* the client */

int alga_kube_new(const struct alga_kube_options *o, struct alga_kube **ret, char **reterr_detail)
{
	_cleanup_(alga_kube_freep) struct alga_kube *kube = NULL;
	unsigned flags = 0;
	int r;

	if (!o || (!o->config && !o->kubeconfig))
		return -EINVAL;
	if (o->body_max > ALGA_KUBE_BODY_MAX)
		return -E2BIG;
	if (o->field_manager &&
	    (strlen(o->field_manager) == 0 || strlen(o->field_manager) > 128))
		return -EINVAL;

	r = alga_http_global_init();
	if (r < 0)
		return r;

	kube = calloc(1, sizeof(*kube));
	if (!kube)
		return -ENOMEM;

	if (o->allow_insecure)
		flags |= ALGA_KUBECONFIG_ALLOW_INSECURE;
	if (o->config) {
		if (o->config->insecure_skip_tls_verify && !o->allow_insecure) {
			alga_set_detail(0, reterr_detail,
				   "Kubeconfig '%s': insecure-skip-tls-verify is refused here.",
				   strna(o->config->path));
			return -EPERM;
		}
		if (!o->config->server)
			return -EINVAL;
		r = alga_kubeconfig_copy(o->config, &kube->config);
	} else
		r = alga_kubeconfig_load(o->kubeconfig, o->context, flags, &kube->config,
					 reterr_detail);
	if (r < 0)
		return r;

	kube->timeout_usec = o->timeout_usec ?: ALGA_KUBE_TIMEOUT_USEC;
	kube->connect_timeout_usec = o->connect_timeout_usec ?: ALGA_KUBE_CONNECT_TIMEOUT_USEC;
	kube->body_max = o->body_max ?: ALGA_KUBE_BODY_DEFAULT;
	kube->max_connections = o->max_connections ?: ALGA_KUBE_CONNECTIONS_MAX;

	if (o->field_manager) {
		kube->field_manager = strdup(o->field_manager);
		if (!kube->field_manager)
			return -ENOMEM;
	}
	if (o->user_agent)
		kube->user_agent = strdup(o->user_agent);
	else
		kube->user_agent = strdup("alga/" ALGA_VERSION);
	if (!kube->user_agent)
		return -ENOMEM;
	if (kube->config->token &&
	    asprintf(&kube->auth_header, "Authorization: Bearer %s", kube->config->token) < 0) {
		kube->auth_header = NULL;
		return -ENOMEM;
	}

	kube->multi = curl_multi_init();
	if (!kube->multi)
		return -ENOMEM;
	if (curl_multi_setopt(kube->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX) != CURLM_OK ||
	    curl_multi_setopt(kube->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
			      (long)kube->max_connections) != CURLM_OK)
		return -EIO;

	kube->discovery = json_object_new_object();
	if (!kube->discovery)
		return -ENOMEM;

	*ret = TAKE_PTR(kube);
	return 0;
}

struct alga_kube *alga_kube_free(struct alga_kube *kube)
{
	if (!kube)
		return NULL;
	/* cancel, without callbacks: their owners are going away too */
	while (kube->in_flight) {
		struct alga_kube_request *req = kube->in_flight;

		request_unlink(req);
		headers_free(&req->headers);
		req->result = -ECANCELED;
		req->completed = true;
	}
	if (kube->multi)
		(void)curl_multi_cleanup(kube->multi);
	event_release(kube);
	json_object_put(kube->discovery);
	free(kube->field_manager);
	free(kube->user_agent);
	if (kube->auth_header) {
		alga_crypto_cleanse(kube->auth_header, strlen(kube->auth_header));
		free(kube->auth_header);
	}
	alga_kubeconfig_free(kube->config);
	free(kube);
	return NULL;
}

const struct alga_kubeconfig *alga_kube_get_config(struct alga_kube *kube)
{
	return kube->config;
}

/* results */

int alga_kube_request_result(struct alga_kube_request *req)
{
	return req->completed ? req->result : -EINPROGRESS;
}

long alga_kube_request_http_status(struct alga_kube_request *req)
{
	return req->http_status;
}

struct json_object *alga_kube_request_json(struct alga_kube_request *req)
{
	return req->json;
}

int alga_kube_request_steal_json(struct alga_kube_request *req, struct json_object **ret)
{
	if (!req->json)
		return -ENODATA;
	*ret = TAKE_PTR(req->json);
	return 0;
}

const char *alga_kube_request_text(struct alga_kube_request *req, size_t *ret_len)
{
	if (ret_len)
		*ret_len = req->text ? req->buf_len : 0;
	return req->text ? req->buf : NULL;
}

const char *alga_kube_request_message(struct alga_kube_request *req)
{
	return req->completed && req->result < 0 ? req->message : NULL;
}

const char *alga_kube_request_reason(struct alga_kube_request *req)
{
	return req->reason;
}

uint64_t alga_kube_request_duration_usec(struct alga_kube_request *req)
{
	return req->duration;
}

int alga_kube_request_http_version(struct alga_kube_request *req)
{
	return req->http_version;
}

/* blocking wrappers */

/* runs req to completion; its failure's sentence goes to *reterr_detail */
static int run_one(struct alga_kube *kube, struct alga_kube_request *req, char **reterr_detail)
{
	int r;

	if (kube->event)
		return -EBUSY;

	r = alga_kube_submit(kube, req, NULL, NULL);
	if (r < 0) {
		if (r != -ENOMEM)
			alga_set_detail(0, reterr_detail, "Cannot start %s %s: %s", method_table[req->method],
				   req->path, req->message ?: strerror(-r));
		return r;
	}
	r = alga_kube_run_until(kube, req, 0);
	if (r < 0)
		return r;
	r = req->result;
	if (r < 0 && r != -ENOMEM)
		alga_set_detail(0, reterr_detail, "%s", req->message ?: strerror(-r));
	return r;
}

static int run_json(struct alga_kube *kube, struct alga_kube_request *req,
		    struct json_object **ret, char **reterr_detail)
{
	int r;

	r = run_one(kube, req, reterr_detail);
	if (r < 0)
		return r;
	if (ret)
		*ret = TAKE_PTR(req->json);
	return 0;
}

int alga_kube_get(struct alga_kube *kube, const char *path, struct json_object **ret,
		  char **reterr_detail)
{
	_cleanup_(alga_kube_request_freep) struct alga_kube_request *req = NULL;
	int r;

	r = alga_kube_request_new(kube, ALGA_KUBE_GET, path, &req);
	if (r < 0)
		return r;
	r = run_one(kube, req, reterr_detail);
	if (r < 0)
		return r;
	if (!req->json || !json_object_is_type(req->json, json_type_object)) {
		alga_set_detail(0, reterr_detail, "Response to GET %s is not a JSON object.", path);
		return -EBADMSG;
	}
	if (ret)
		*ret = TAKE_PTR(req->json);
	return 0;
}

static int list_request(struct alga_kube *kube, const char *path,
			const struct alga_kube_list_options *o, const char *continue_token,
			struct alga_kube_request **ret)
{
	_cleanup_(alga_kube_request_freep) struct alga_kube_request *req = NULL;
	char limit[32];
	int r;

	r = alga_kube_request_new(kube, ALGA_KUBE_GET, path, &req);
	if (r < 0)
		return r;
	if (o && !isempty(o->label_selector)) {
		r = alga_kube_request_add_query(req, "labelSelector", o->label_selector);
		if (r < 0)
			return r;
	}
	if (o && !isempty(o->field_selector)) {
		r = alga_kube_request_add_query(req, "fieldSelector", o->field_selector);
		if (r < 0)
			return r;
	}
	if (o && o->limit > 0) {
		(void)snprintf(limit, sizeof(limit), "%u", o->limit);
		r = alga_kube_request_add_query(req, "limit", limit);
		if (r < 0)
			return r;
	}
	if (!isempty(continue_token)) {
		r = alga_kube_request_add_query(req, "continue", continue_token);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(req);
	return 0;
}

static int check_list(struct json_object *o, const char *path, char **reterr_detail)
{
	struct json_object *items;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    alga_json_get_array(o, "items", ALGA_JSON_OPTIONAL, &items, NULL) < 0) {
		alga_set_detail(0, reterr_detail, "Response to GET %s is not a list: 'items' must be an array.",
			   path);
		return -EBADMSG;
	}
	return 0;
}

int alga_kube_list(struct alga_kube *kube, const char *path,
		   const struct alga_kube_list_options *o, struct json_object **ret,
		   char **reterr_detail)
{
	_cleanup_(alga_kube_request_freep) struct alga_kube_request *req = NULL;
	int r;

	r = list_request(kube, path, o, o ? o->continue_token : NULL, &req);
	if (r < 0)
		return r;
	r = run_one(kube, req, reterr_detail);
	if (r < 0)
		return r;
	r = check_list(req->json, path, reterr_detail);
	if (r < 0)
		return r;
	if (ret)
		*ret = TAKE_PTR(req->json);
	return 0;
}

int alga_kube_list_all(struct alga_kube *kube, const char *path,
		       const struct alga_kube_list_options *o, struct json_object **ret_items,
		       char **reterr_detail)
{
	_cleanup_(json_object_putp) struct json_object *all = NULL;
	struct alga_kube_list_options page = o ? *o : (struct alga_kube_list_options){};
	_cleanup_free_ char *token = NULL;
	int r;

	if (page.limit == 0)
		page.limit = 500;
	all = json_object_new_array();
	if (!all)
		return -ENOMEM;
	if (o && o->continue_token) {
		token = strdup(o->continue_token);
		if (!token)
			return -ENOMEM;
	}

	for (unsigned n = 0;; n++) {
		_cleanup_(alga_kube_request_freep) struct alga_kube_request *req = NULL;
		struct json_object *items = NULL;
		const char *next = NULL;
		size_t len;

		if (n >= ALGA_KUBE_LIST_PAGES_MAX) {
			alga_set_detail(0, reterr_detail, "List %s has more than %u pages.", path,
				   ALGA_KUBE_LIST_PAGES_MAX);
			return -E2BIG;
		}
		r = list_request(kube, path, &page, token, &req);
		if (r < 0)
			return r;
		r = run_one(kube, req, reterr_detail);
		if (r < 0)
			return r;
		r = check_list(req->json, path, reterr_detail);
		if (r < 0)
			return r;

		(void)alga_json_get_array(req->json, "items", ALGA_JSON_OPTIONAL, &items, NULL);
		len = items ? json_object_array_length(items) : 0;
		if (json_object_array_length(all) + len > ALGA_KUBE_LIST_ITEMS_MAX) {
			alga_set_detail(0, reterr_detail, "List %s has more than %u items.", path,
				   ALGA_KUBE_LIST_ITEMS_MAX);
			return -E2BIG;
		}
		for (size_t i = 0; i < len; i++) {
			r = alga_json_append(all, json_object_get(json_object_array_get_idx(items, i)));
			if (r < 0)
				return r;
		}

		if (alga_json_get_string(req->json, "metadata.continue", ALGA_JSON_OPTIONAL, &next,
					 NULL) < 0) {
			alga_set_detail(0, reterr_detail, "List %s: 'metadata.continue' must be a string.",
				   path);
			return -EBADMSG;
		}
		free(token);
		token = NULL;
		if (isempty(next))
			break;
		token = strdup(next);
		if (!token)
			return -ENOMEM;
	}

	if (ret_items)
		*ret_items = TAKE_PTR(all);
	return 0;
}

static int write_request(struct alga_kube *kube, enum alga_kube_method m, const char *path,
			 const char *content_type, struct json_object *body, unsigned flags,
			 bool apply, struct json_object **ret, char **reterr_detail)
{
	_cleanup_(alga_kube_request_freep) struct alga_kube_request *req = NULL;
	int r;

	if (!body)
		return -EINVAL;
	if (apply && !kube->field_manager) {
		alga_set_detail(0, reterr_detail, "Server-side apply needs a field manager.");
		return -EINVAL;
	}

	r = alga_kube_request_new(kube, m, path, &req);
	if (r < 0)
		return r;
	if (kube->field_manager) {
		r = alga_kube_request_add_query(req, "fieldManager", kube->field_manager);
		if (r < 0)
			return r;
	}
	if (apply && !(flags & ALGA_KUBE_APPLY_NO_FORCE)) {
		r = alga_kube_request_add_query(req, "force", "true");
		if (r < 0)
			return r;
	}
	if (flags & ALGA_KUBE_DRY_RUN) {
		r = alga_kube_request_add_query(req, "dryRun", "All");
		if (r < 0)
			return r;
	}
	r = alga_kube_request_set_json_body(req, content_type, body);
	if (r < 0)
		return r;
	return run_json(kube, req, ret, reterr_detail);
}

int alga_kube_create(struct alga_kube *kube, const char *path, struct json_object *obj,
		     unsigned flags, struct json_object **ret, char **reterr_detail)
{
	return write_request(kube, ALGA_KUBE_POST, path, "application/json", obj, flags, false,
			     ret, reterr_detail);
}

int alga_kube_apply(struct alga_kube *kube, const char *path, struct json_object *obj,
		    unsigned flags, struct json_object **ret, char **reterr_detail)
{
	/* JSON is YAML: the server takes a JSON body under the apply type */
	return write_request(kube, ALGA_KUBE_PATCH, path, "application/apply-patch+yaml", obj,
			     flags, true, ret, reterr_detail);
}

int alga_kube_apply_object(struct alga_kube *kube, struct json_object *obj, unsigned flags,
			   struct json_object **ret, char **reterr_detail)
{
	_cleanup_free_ char *path = NULL;
	const char *av, *kind, *name, *ns = NULL;
	int r;

	if (!obj)
		return -EINVAL;
	if (alga_json_get_string(obj, "apiVersion", ALGA_JSON_REQUIRED, &av, reterr_detail) < 0 ||
	    alga_json_get_string(obj, "kind", ALGA_JSON_REQUIRED, &kind, reterr_detail) < 0 ||
	    alga_json_get_string(obj, "metadata.name", ALGA_JSON_REQUIRED, &name, reterr_detail) < 0 ||
	    alga_json_get_string(obj, "metadata.namespace", ALGA_JSON_OPTIONAL, &ns, reterr_detail) < 0)
		return -EINVAL;

	r = alga_kube_object_path(kube, av, kind, ns, name, &path, reterr_detail);
	if (r < 0)
		return r;
	return alga_kube_apply(kube, path, obj, flags, ret, reterr_detail);
}

int alga_kube_patch_merge(struct alga_kube *kube, const char *path, struct json_object *patch,
			  unsigned flags, struct json_object **ret, char **reterr_detail)
{
	return write_request(kube, ALGA_KUBE_PATCH, path, "application/merge-patch+json", patch,
			     flags, false, ret, reterr_detail);
}

int alga_kube_patch_json(struct alga_kube *kube, const char *path, struct json_object *ops,
			 unsigned flags, struct json_object **ret, char **reterr_detail)
{
	if (!ops || !json_object_is_type(ops, json_type_array))
		return -EINVAL;
	return write_request(kube, ALGA_KUBE_PATCH, path, "application/json-patch+json", ops, flags,
			     false, ret, reterr_detail);
}

int alga_kube_delete(struct alga_kube *kube, const char *path, enum alga_kube_propagation p,
		     unsigned flags, struct json_object **ret, char **reterr_detail)
{
	_cleanup_(alga_kube_request_freep) struct alga_kube_request *req = NULL;
	_cleanup_(json_object_putp) struct json_object *opts = NULL;
	int r;

	if ((unsigned)p >= _ALGA_KUBE_PROPAGATION_MAX)
		return -EINVAL;

	opts = json_object_new_object();
	if (!opts)
		return -ENOMEM;
	r = alga_json_add(opts, "kind", json_object_new_string("DeleteOptions"));
	if (r >= 0)
		r = alga_json_add(opts, "apiVersion", json_object_new_string("v1"));
	if (r >= 0 && p != ALGA_KUBE_PROPAGATION_DEFAULT)
		r = alga_json_add(opts, "propagationPolicy",
				  json_object_new_string(propagation_table[p]));
	if (r >= 0 && (flags & ALGA_KUBE_DRY_RUN)) {
		struct json_object *a = json_object_new_array();

		r = alga_json_add(opts, "dryRun", a);
		if (r >= 0)
			r = alga_json_append(a, json_object_new_string("All"));
	}
	if (r < 0)
		return r;

	r = alga_kube_request_new(kube, ALGA_KUBE_DELETE, path, &req);
	if (r < 0)
		return r;
	if (flags & ALGA_KUBE_DRY_RUN) {
		r = alga_kube_request_add_query(req, "dryRun", "All");
		if (r < 0)
			return r;
	}
	r = alga_kube_request_set_json_body(req, "application/json", opts);
	if (r < 0)
		return r;
	return run_json(kube, req, ret, reterr_detail);
}

/* a name that goes into a path: printable, no '/', not "." or ".." */
static bool name_is_valid(const char *s)
{
	size_t n;

	if (isempty(s))
		return false;
	n = strlen(s);
	if (n > ALGA_KUBE_NAME_MAX || streq(s, ".") || streq(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f || s[i] == '/' ||
		    s[i] == '?' || s[i] == '#' || s[i] == '%')
			return false;
	return true;
}

int alga_kube_log(struct alga_kube *kube, const char *ns, const char *pod,
		  const struct alga_kube_log_options *o, char **ret, size_t *ret_len,
		  char **reterr_detail)
{
	_cleanup_(alga_kube_request_freep) struct alga_kube_request *req = NULL;
	_cleanup_free_ char *path = NULL;
	char num[32];
	int r;

	if (!name_is_valid(ns) || !name_is_valid(pod) ||
	    (o && o->container && !name_is_valid(o->container)))
		return -EINVAL;
	if (asprintf(&path, "/api/v1/namespaces/%s/pods/%s/log", ns, pod) < 0)
		return -ENOMEM;

	r = alga_kube_request_new(kube, ALGA_KUBE_GET, path, &req);
	if (r < 0)
		return r;
	alga_kube_request_set_text(req, true);
	r = alga_kube_request_set_accept(req, "text/plain, */*");
	if (r < 0)
		return r;
	if (o && o->container) {
		r = alga_kube_request_add_query(req, "container", o->container);
		if (r < 0)
			return r;
	}
	if (o && o->tail_lines >= 0) {
		(void)snprintf(num, sizeof(num), "%" PRId64, o->tail_lines);
		r = alga_kube_request_add_query(req, "tailLines", num);
		if (r < 0)
			return r;
	}
	if (o && o->limit_bytes > 0) {
		(void)snprintf(num, sizeof(num), "%" PRId64, o->limit_bytes);
		r = alga_kube_request_add_query(req, "limitBytes", num);
		if (r < 0)
			return r;
	}
	if (o && o->previous) {
		r = alga_kube_request_add_query(req, "previous", "true");
		if (r < 0)
			return r;
	}
	if (o && o->timestamps) {
		r = alga_kube_request_add_query(req, "timestamps", "true");
		if (r < 0)
			return r;
	}

	r = run_one(kube, req, reterr_detail);
	if (r < 0)
		return r;
	if (ret_len)
		*ret_len = req->buf_len;
	if (ret) {
		if (!req->buf) {
			req->buf = strdup("");
			if (!req->buf)
				return -ENOMEM;
		}
		*ret = TAKE_PTR(req->buf);
	}
	return 0;
}

int alga_kube_table(struct alga_kube *kube, const char *path, enum alga_kube_include_object inc,
		    struct json_object **ret, char **reterr_detail)
{
	static const char *const include[_ALGA_KUBE_INCLUDE_MAX] = {
		[ALGA_KUBE_INCLUDE_NONE] = "None",
		[ALGA_KUBE_INCLUDE_METADATA] = "Metadata",
		[ALGA_KUBE_INCLUDE_OBJECT] = "Object",
	};
	_cleanup_(alga_kube_request_freep) struct alga_kube_request *req = NULL;
	const char *kind;
	int r;

	if ((unsigned)inc >= _ALGA_KUBE_INCLUDE_MAX)
		return -EINVAL;

	r = alga_kube_request_new(kube, ALGA_KUBE_GET, path, &req);
	if (r < 0)
		return r;
	r = alga_kube_request_set_accept(req, "application/json;as=Table;v=v1;g=meta.k8s.io");
	if (r < 0)
		return r;
	r = alga_kube_request_add_query(req, "includeObject", include[inc]);
	if (r < 0)
		return r;
	r = run_one(kube, req, reterr_detail);
	if (r < 0)
		return r;
	if (!req->json || alga_json_get_string(req->json, "kind", ALGA_JSON_OPTIONAL, &kind, NULL) <= 0 ||
	    !streq(kind, "Table")) {
		alga_set_detail(0, reterr_detail, "Response to GET %s is not a Table.", path);
		return -EBADMSG;
	}
	if (ret)
		*ret = TAKE_PTR(req->json);
	return 0;
}

/* discovery */

static bool api_version_is_valid(const char *av)
{
	const char *slash;

	if (isempty(av) || strlen(av) > 2 * ALGA_KUBE_NAME_MAX)
		return false;
	slash = strchr(av, '/');
	if (slash && (slash == av || strchr(slash + 1, '/') || !slash[1]))
		return false;
	for (const char *p = av; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		      *p == '-' || *p == '/'))
			return false;
	return true;
}

static int api_prefix(const char *av, char **ret)
{
	if (strchr(av, '/'))
		return asprintf(ret, "/apis/%s", av) < 0 ? -ENOMEM : 0;
	return asprintf(ret, "/api/%s", av) < 0 ? -ENOMEM : 0;
}

static int resources_fetch(struct alga_kube *kube, const char *av, char **reterr_detail)
{
	_cleanup_(alga_kube_request_freep) struct alga_kube_request *req = NULL;
	_cleanup_free_ char *path = NULL;
	struct json_object *res;
	int r;

	r = api_prefix(av, &path);
	if (r < 0)
		return r;
	r = alga_kube_request_new(kube, ALGA_KUBE_GET, path, &req);
	if (r < 0)
		return r;
	r = alga_kube_request_set_body_max(req, ALGA_KUBE_DISCOVERY_BODY_MAX);
	if (r < 0)
		return r;
	r = run_one(kube, req, reterr_detail);
	if (r == -ENOENT) {
		json_object_object_del(kube->discovery, av);
		alga_set_detail(0, reterr_detail, "The API server does not serve '%s'.", av);
		return r;
	}
	if (r < 0)
		return r;
	if (!req->json ||
	    alga_json_get_array(req->json, "resources", ALGA_JSON_REQUIRED, &res, NULL) < 0) {
		alga_set_detail(0, reterr_detail, "Discovery of '%s': 'resources' must be an array.", av);
		return -EBADMSG;
	}
	return alga_json_add(kube->discovery, av, json_object_get(res));
}

/* 1 found, 0 not in the cached list */
static int resources_lookup(struct alga_kube *kube, const char *av, const char *kind,
			    struct alga_kube_resource *ret)
{
	struct json_object *res;
	size_t n;

	if (!json_object_object_get_ex(kube->discovery, av, &res))
		return 0;
	n = json_object_array_length(res);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(res, i);
		const char *k, *name;
		bool namespaced = false;

		if (alga_json_get_string(e, "kind", ALGA_JSON_OPTIONAL, &k, NULL) <= 0 ||
		    alga_json_get_string(e, "name", ALGA_JSON_OPTIONAL, &name, NULL) <= 0)
			continue;
		/* subresources ("pods/log") share their parent's kind */
		if (!streq(k, kind) || strchr(name, '/') || !name_is_valid(name))
			continue;
		(void)alga_json_get_bool(e, "namespaced", ALGA_JSON_OPTIONAL, &namespaced, NULL);
		(void)snprintf(ret->name, sizeof(ret->name), "%s", name);
		ret->namespaced = namespaced;
		return 1;
	}
	return 0;
}

int alga_kube_discover(struct alga_kube *kube, const char *api_version, const char *kind,
		       struct alga_kube_resource *ret, char **reterr_detail)
{
	bool cached;
	int r;

	if (!kube || !api_version_is_valid(api_version) || isempty(kind) ||
	    strlen(kind) > ALGA_KUBE_NAME_MAX)
		return -EINVAL;

	cached = json_object_object_get_ex(kube->discovery, api_version, NULL);
	r = resources_lookup(kube, api_version, kind, ret);
	if (r > 0)
		return 0;

	/* not known: the group-version may have grown since (a CRD installed) */
	r = resources_fetch(kube, api_version, reterr_detail);
	if (r < 0)
		return r;
	r = resources_lookup(kube, api_version, kind, ret);
	if (r > 0)
		return 0;
	log_debug("Kind %s not in %s (%s)", kind, api_version, cached ? "re-discovered" : "fetched");
	alga_set_detail(0, reterr_detail, "The API server does not serve kind '%s' in '%s'.", kind,
		   api_version);
	return -ENOENT;
}

void alga_kube_discovery_invalidate(struct alga_kube *kube)
{
	struct json_object *n = json_object_new_object();

	/* on ENOMEM keep the old cache: lookups miss and fetch anyway */
	if (!n)
		return;
	json_object_put(kube->discovery);
	kube->discovery = n;
}

int alga_kube_object_path(struct alga_kube *kube, const char *api_version, const char *kind,
			  const char *ns, const char *name, char **ret, char **reterr_detail)
{
	_cleanup_free_ char *prefix = NULL, *ename = NULL, *path = NULL;
	struct alga_kube_resource res;
	int r;

	if (name && !name_is_valid(name)) {
		alga_set_detail(0, reterr_detail, "Object name '%s' is not allowed.", name);
		return -EINVAL;
	}
	r = alga_kube_discover(kube, api_version, kind, &res, reterr_detail);
	if (r < 0)
		return r;
	r = api_prefix(api_version, &prefix);
	if (r < 0)
		return r;

	if (res.namespaced) {
		if (isempty(ns) || !name_is_valid(ns)) {
			alga_set_detail(0, reterr_detail, "Kind '%s' is namespaced and needs a namespace.", kind);
			return -EINVAL;
		}
		r = asprintf(&path, "%s/namespaces/%s/%s", prefix, ns, res.name);
	} else
		r = asprintf(&path, "%s/%s", prefix, res.name);
	if (r < 0)
		return -ENOMEM;

	if (name) {
		char *full;

		ename = escape(name);
		if (!ename)
			return -ENOMEM;
		if (asprintf(&full, "%s/%s", path, ename) < 0)
			return -ENOMEM;
		free(path);
		path = full;
	}
	if (strlen(path) > ALGA_KUBE_PATH_MAX)
		return -E2BIG;
	*ret = TAKE_PTR(path);
	return 0;
}
