/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "alga-config.h"
#include "crypto.h"
#include "http.h"
#include "log.h"

/* bodies of non-2xx answers are kept up to this (registry errors[0], §4.3 step 7) */
#define ERROR_BODY_MAX (64u * 1024u)
/* bodies of 3xx answers are read and dropped up to this */
#define REDIRECT_BODY_MAX (64u * 1024u)
#define BODY_MAX_DEFAULT (64u * 1024u)
#define REDIRECTS_HARD_MAX 16u

struct alga_http {
	CURL *curl;
	char *ca_file;
	char *ca_path;
	char *user_agent;
	bool allow_http;
	unsigned connect_timeout_sec;
	unsigned timeout_sec;
	unsigned low_speed_limit;
	unsigned low_speed_time_sec;
	unsigned max_redirects;
	alga_http_resolve_fn resolve;
	void *resolve_userdata;
};

struct origin {
	char *scheme; /* lower case, from CURLU */
	char *host;   /* lower case */
	unsigned port;
};

/* one hop's transfer state, shared by the write and header callbacks */
struct transfer {
	struct alga_http_response *resp;
	const struct alga_http_request *req;
	size_t body_max;
	size_t body_alloc;
	size_t header_bytes;
	size_t dropped;       /* body bytes of 3xx answers */
	bool error_truncated; /* a non-2xx body was cut at ERROR_BODY_MAX */
	int error;            /* first errno a callback hit */
};

/* ---- errors ---------------------------------------------------------------- */

void alga_error_clear(struct alga_error *e)
{
	if (!e)
		return;
	free(e->code);
	free(e->field);
	free(e->message);
	free(e->url);
	*e = (struct alga_error){};
}

static const char *const error_class_table[_ALGA_ERROR_CLASS_MAX] = {
	[ALGA_ERROR_NONE] = "none",         [ALGA_ERROR_INTERNAL] = "internal",
	[ALGA_ERROR_USAGE] = "usage",       [ALGA_ERROR_NOT_FOUND] = "not-found",
	[ALGA_ERROR_NETWORK] = "network",   [ALGA_ERROR_TLS] = "tls",
	[ALGA_ERROR_AUTH] = "auth",         [ALGA_ERROR_INTEGRITY] = "integrity",
	[ALGA_ERROR_ARTIFACT] = "artifact", [ALGA_ERROR_INVALID] = "invalid-release",
};

DEFINE_STRING_TABLE_LOOKUP(alga_error_class, enum alga_error_class, error_class_table)

int alga_http_url_strip_query(const char *url, char **ret)
{
	size_t n = strcspn(url, "?#");
	char *s;

	s = strndup(url, n);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

int alga_error_set(struct alga_error *e, int r, enum alga_error_class class, long http_status,
		   const char *url, const char *field, const char *format, ...)
{
	char *m = NULL, *u = NULL, *f = NULL;
	va_list ap;

	if (!e || r == -ENOMEM)
		return r;

	/* build first: url, field and the arguments may point into e itself */
	if (url)
		(void)alga_http_url_strip_query(url, &u);
	if (field)
		f = strdup(field);
	va_start(ap, format);
	if (vasprintf(&m, format, ap) < 0)
		m = NULL;
	va_end(ap);

	alga_error_clear(e);
	e->class = class;
	e->http_status = http_status;
	e->url = u;
	e->field = f;
	e->message = m;
	return r;
}

/* ---- errno mapping, the one place ----------------------------------------- */

int alga_http_status_to_errno(long status)
{
	if (status >= 200 && status < 300)
		return 0;
	switch (status) {
	case 401:
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 408:
	case 504:
		return -ETIMEDOUT;
	case 429:
	case 502:
	case 503:
		return -EAGAIN;
	default:
		return -EPROTO;
	}
}

enum alga_error_class alga_http_errno_to_class(int r)
{
	switch (r) {
	case 0:
		return ALGA_ERROR_NONE;
	case -EKEYREJECTED:
	case -ECONNABORTED:
		return ALGA_ERROR_TLS;
	case -EPERM:
	case -EPROTONOSUPPORT:
	case -E2BIG:
	case -EILSEQ:
		return ALGA_ERROR_INTEGRITY;
	case -EACCES:
		return ALGA_ERROR_AUTH;
	case -ENOENT:
		return ALGA_ERROR_NOT_FOUND;
	case -EBADMSG:
	case -EMEDIUMTYPE:
	case -ENOTUNIQ:
		return ALGA_ERROR_ARTIFACT;
	case -EINVAL:
		return ALGA_ERROR_USAGE;
	case -ENOMEM:
		return ALGA_ERROR_INTERNAL;
	default:
		return ALGA_ERROR_NETWORK;
	}
}

/* CURLcode to errno; connected tells a connect timeout from a stalled transfer */
static int curlcode_to_errno(CURLcode c, bool connected)
{
	switch (c) {
	case CURLE_OK:
		return 0;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_URL_MALFORMAT:
		return -EINVAL;
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -EPROTONOSUPPORT;
	case CURLE_OPERATION_TIMEDOUT:
		/* a stall after connecting is not retried (T26 bounds it at 35 s) */
		return connected ? -ETIME : -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_FILESIZE_EXCEEDED:
		return -E2BIG;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return -EKEYREJECTED;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_USE_SSL_FAILED:
		return -ECONNABORTED;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return -ECONNRESET;
	default:
		return -EIO;
	}
}

/* ---- global init ----------------------------------------------------------- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_result = CURLE_OK;

static void global_init_once(void)
{
	global_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int alga_http_global_init(void)
{
	if (pthread_once(&global_once, global_init_once) != 0)
		return -EIO;
	return global_result == CURLE_OK ? 0 : -EIO;
}

/* ---- client ---------------------------------------------------------------- */

struct alga_http *alga_http_free(struct alga_http *h)
{
	if (!h)
		return NULL;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	free(h->ca_file);
	free(h->ca_path);
	free(h->user_agent);
	free(h);
	return NULL;
}

static int strdup_opt(const char *s, char **ret)
{
	if (!s) {
		*ret = NULL;
		return 0;
	}
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

int alga_http_new(const struct alga_http_options *o, struct alga_http **ret)
{
	_cleanup_(alga_http_freep) struct alga_http *h = NULL;
	static const struct alga_http_options defaults = {};
	int r;

	if (!o)
		o = &defaults;

	r = alga_http_global_init();
	if (r < 0)
		return r;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;

	h->curl = curl_easy_init();
	if (!h->curl)
		return -EIO;

	if (strdup_opt(o->ca_file, &h->ca_file) < 0 ||
	    strdup_opt(o->ca_path ?: ALGA_HTTP_CA_PATH, &h->ca_path) < 0 ||
	    strdup_opt(o->user_agent ?: "alga/" ALGA_VERSION, &h->user_agent) < 0)
		return -ENOMEM;

	h->allow_http = o->allow_http;
	h->connect_timeout_sec = o->connect_timeout_sec ?: ALGA_HTTP_CONNECT_TIMEOUT_SEC;
	h->timeout_sec = o->timeout_sec ?: ALGA_HTTP_TIMEOUT_SEC;
	h->low_speed_limit = o->low_speed_limit ?: ALGA_HTTP_LOW_SPEED_LIMIT;
	h->low_speed_time_sec = o->low_speed_time_sec ?: ALGA_HTTP_LOW_SPEED_TIME_SEC;
	h->max_redirects = MIN(o->max_redirects ?: ALGA_HTTP_REDIRECTS_MAX, REDIRECTS_HARD_MAX);
	h->resolve = o->resolve;
	h->resolve_userdata = o->resolve_userdata;

	*ret = TAKE_PTR(h);
	return 0;
}

/* ---- responses and headers ------------------------------------------------- */

static void headers_clear(struct alga_http_response *r)
{
	for (size_t i = 0; i < r->n_headers; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	r->headers = NULL;
	r->n_headers = 0;
}

struct alga_http_response *alga_http_response_free(struct alga_http_response *r)
{
	if (!r)
		return NULL;
	headers_clear(r);
	free(r->url);
	free(r->body);
	free(r);
	return NULL;
}

const char *alga_http_response_get_header(const struct alga_http_response *r, const char *name)
{
	for (size_t i = r->n_headers; i > 0; i--)
		if (strcasecmp(r->headers[i - 1].name, name) == 0)
			return r->headers[i - 1].value;
	return NULL;
}

int alga_http_response_join_header(const struct alga_http_response *r, const char *name,
				   char **ret)
{
	char *s = NULL;
	size_t len = 0;

	for (size_t i = 0; i < r->n_headers; i++) {
		size_t vl;
		char *t;

		if (strcasecmp(r->headers[i].name, name) != 0)
			continue;
		vl = strlen(r->headers[i].value);
		if (len + vl + 3 > ALGA_HTTP_HEADERS_MAX) {
			free(s);
			return -E2BIG;
		}
		t = realloc(s, len + vl + 3);
		if (!t) {
			free(s);
			return -ENOMEM;
		}
		s = t;
		if (len > 0) {
			memcpy(s + len, ", ", 2);
			len += 2;
		}
		memcpy(s + len, r->headers[i].value, vl);
		len += vl;
		s[len] = 0;
	}

	*ret = s;
	return s ? 1 : 0;
}

static bool is_tchar(char c)
{
	/* RFC 9110 §5.6.2 token characters */
	return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

int alga_http_header_line_parse(const char *line, size_t len, char **ret_name, char **ret_value)
{
	_cleanup_free_ char *name = NULL;
	const char *colon, *v, *end;
	char *value;

	if (len > ALGA_HTTP_HEADER_LINE_MAX)
		return -E2BIG;

	/* the line ends in CRLF (or a bare LF from a sloppy server) */
	end = line + len;
	if (end > line && end[-1] == '\n')
		end--;
	if (end > line && end[-1] == '\r')
		end--;
	if (end == line)
		return 0;
	if (end - line >= 5 && memcmp(line, "HTTP/", 5) == 0)
		return 0;

	colon = memchr(line, ':', (size_t)(end - line));
	if (!colon || colon == line)
		return -EBADMSG;
	for (const char *p = line; p < colon; p++)
		if (!is_tchar(*p))
			return -EBADMSG; /* also refuses obs-fold, which starts with white space */

	v = colon + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	for (const char *p = v; p < end; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return -EBADMSG;
		else if (*p == 0x7f)
			return -EBADMSG;

	name = strndup(line, (size_t)(colon - line));
	if (!name)
		return -ENOMEM;
	value = strndup(v, (size_t)(end - v));
	if (!value)
		return -ENOMEM;

	*ret_name = TAKE_PTR(name);
	*ret_value = value;
	return 1;
}

/* a status line starts a new response: 1xx, proxy CONNECT, or the real one */
static void transfer_status_line(struct transfer *t, const char *line, size_t len)
{
	const char *sp = memchr(line, ' ', len);
	long status = 0;

	headers_clear(t->resp);
	t->header_bytes = 0;
	if (sp && (size_t)(sp - line) + 4 <= len && isdigit((unsigned char)sp[1]) &&
	    isdigit((unsigned char)sp[2]) && isdigit((unsigned char)sp[3]))
		status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
	t->resp->status = status;
}

static size_t header_cb(char *data, size_t size, size_t nitems, void *userdata)
{
	struct transfer *t = userdata;
	struct alga_http_header *a;
	size_t len = size * nitems;
	char *name = NULL, *value = NULL;
	int r;

	if (t->error < 0)
		return 0;
	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		transfer_status_line(t, data, len);
		return len;
	}

	t->header_bytes += len;
	if (t->header_bytes > ALGA_HTTP_HEADERS_MAX) {
		t->error = -E2BIG;
		return 0;
	}

	r = alga_http_header_line_parse(data, len, &name, &value);
	if (r < 0) {
		t->error = r;
		return 0;
	}
	if (r == 0)
		return len;

	if (t->resp->n_headers >= ALGA_HTTP_HEADER_COUNT_MAX) {
		free(name);
		free(value);
		t->error = -E2BIG;
		return 0;
	}
	a = reallocarray(t->resp->headers, t->resp->n_headers + 1, sizeof(*a));
	if (!a) {
		free(name);
		free(value);
		t->error = -ENOMEM;
		return 0;
	}
	t->resp->headers = a;
	a[t->resp->n_headers++] = (struct alga_http_header){ .name = name, .value = value };
	return len;
}

static bool status_is_redirect(long s)
{
	return s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
}

static int body_append(struct transfer *t, const char *data, size_t len)
{
	struct alga_http_response *resp = t->resp;

	if (resp->body_size + len + 1 > t->body_alloc) {
		size_t want = MAX(t->body_alloc * 2, resp->body_size + len + 1);
		char *b;

		want = MAX(want, (size_t)4096);
		b = realloc(resp->body, want);
		if (!b)
			return -ENOMEM;
		resp->body = b;
		t->body_alloc = want;
	}
	memcpy(resp->body + resp->body_size, data, len);
	resp->body_size += len;
	resp->body[resp->body_size] = 0;
	return 0;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct transfer *t = userdata;
	size_t len = size * nmemb;
	long status = t->resp->status;
	int r;

	if (t->error < 0)
		return 0;

	if (status_is_redirect(status)) {
		t->dropped += len;
		if (t->dropped > REDIRECT_BODY_MAX) {
			t->error = -E2BIG;
			return 0;
		}
		return len;
	}

	if (status < 200 || status >= 300) {
		/* keep the head of an error body for errors[0]; the rest is not needed */
		size_t room = ERROR_BODY_MAX - MIN(t->resp->body_size, (size_t)ERROR_BODY_MAX);

		r = body_append(t, data, MIN(room, len));
		if (r < 0) {
			t->error = r;
			return 0;
		}
		if (len > room) {
			t->error_truncated = true;
			return 0;
		}
		return len;
	}

	/* the counting cap: abort the moment the body passes body_max */
	if (len > t->body_max - t->resp->body_size) {
		t->error = -E2BIG;
		return 0;
	}

	if (t->req->sink) {
		r = t->req->sink(data, len, t->req->sink_userdata);
		if (r < 0) {
			t->error = r;
			return 0;
		}
		t->resp->body_size += len;
		return len;
	}

	r = body_append(t, data, len);
	if (r < 0) {
		t->error = r;
		return 0;
	}
	return len;
}

/* ---- URLs and origins ------------------------------------------------------ */

static void origin_done(struct origin *o)
{
	free(o->scheme);
	free(o->host);
	*o = (struct origin){};
}

static void curl_url_cleanupp(CURLU **u)
{
	if (*u)
		curl_url_cleanup(*u);
}

static void curl_slist_free_allp(struct curl_slist **l)
{
	if (*l)
		curl_slist_free_all(*l);
}

/* header lists may carry a token: wipe each entry before libcurl frees it */
static void curl_slist_erase_freep(struct curl_slist **l)
{
	for (struct curl_slist *i = *l; i; i = i->next)
		alga_crypto_cleanse(i->data, strlen(i->data));
	curl_slist_free_allp(l);
}

static char *str_lower(char *s)
{
	for (char *p = s; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

/* scheme, host and effective port of an absolute URL */
static int url_origin(CURLU *u, struct origin *ret)
{
	char *scheme = NULL, *host = NULL, *port = NULL;
	char *end;
	unsigned long p;
	bool bad_port;

	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
		return -EINVAL;
	/* file: and friends have no host or port; the scheme check refuses them next */
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		host = NULL;
	if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		port = NULL;

	errno = 0;
	p = port ? strtoul(port, &end, 10) : 0;
	if (!port)
		end = (char *)"";
	bad_port = errno != 0 || *end || p > 65535 ||
		   (p == 0 && (streq(scheme, "http") || streq(scheme, "https")));
	*ret = (struct origin){
		.scheme = str_lower(strdup(scheme)),
		.host = str_lower(strdup(host ?: "")),
		.port = (unsigned)p,
	};
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	if (!ret->scheme || !ret->host) {
		origin_done(ret);
		return -ENOMEM;
	}
	if (bad_port) {
		origin_done(ret);
		return -EINVAL;
	}
	return 0;
}

static bool origin_equal(const struct origin *a, const struct origin *b)
{
	return streq(a->scheme, b->scheme) && streq(a->host, b->host) && a->port == b->port;
}

/* checks a hop's scheme against the rules; 0 or -EPROTONOSUPPORT/-EPERM */
static int check_scheme(const struct alga_http *h, const struct origin *prev,
			const struct origin *next)
{
	if (streq(next->scheme, "https"))
		return 0;
	if (!streq(next->scheme, "http"))
		return -EPROTONOSUPPORT;
	if (prev && streq(prev->scheme, "https"))
		return -EPERM;
	if (!h->allow_http)
		return -EPROTONOSUPPORT;
	return 0;
}

/* ---- one hop ----------------------------------------------------------------- */

static int build_headers(const struct alga_http_request *req, bool with_auth,
			 struct curl_slist **ret)
{
	_cleanup_(curl_slist_erase_freep) struct curl_slist *l = NULL;
	struct curl_slist *n;

	for (const char *const *hd = req->headers; hd && *hd; hd++) {
		/* credentials go through req->authorization only, so the origin rule holds */
		if (strncasecmp(*hd, "Authorization:", 14) == 0 || strpbrk(*hd, "\r\n"))
			return -EINVAL;
		n = curl_slist_append(l, *hd);
		if (!n)
			return -ENOMEM;
		l = n;
	}
	if (with_auth) {
		_cleanup_free_ char *a = NULL;

		if (strpbrk(req->authorization, "\r\n"))
			return -EINVAL;
		if (asprintf(&a, "Authorization: %s", req->authorization) < 0)
			return -ENOMEM;
		n = curl_slist_append(l, a);
		alga_crypto_cleanse(a, strlen(a));
		if (!n)
			return -ENOMEM;
		l = n;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

static int build_resolve(struct alga_http *h, const struct origin *o, struct curl_slist **ret)
{
	_cleanup_free_ char *addr = NULL, *entry = NULL;
	struct curl_slist *l;
	int r;

	*ret = NULL;
	if (!h->resolve || o->host[0] == '[')
		return 0;

	r = h->resolve(o->host, o->port, &addr, h->resolve_userdata);
	if (r <= 0)
		return r;
	if (asprintf(&entry, "%s:%u:%s%s%s", o->host, o->port, strchr(addr, ':') ? "[" : "", addr,
		     strchr(addr, ':') ? "]" : "") < 0)
		return -ENOMEM;
	l = curl_slist_append(NULL, entry);
	if (!l)
		return -ENOMEM;
	*ret = l;
	return 0;
}

static int setup_handle(struct alga_http *h, const char *url, struct curl_slist *headers,
			struct curl_slist *resolve, struct transfer *t)
{
	CURL *c = h->curl;
	const char *protos = h->allow_http ? "http,https" : "https";
	size_t filesize_max = MAX(t->body_max, (size_t)ERROR_BODY_MAX);

	/* reset keeps the connection cache; everything else is set again per hop */
	curl_easy_reset(c);

	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protos) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, protos) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, h->user_agent) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)h->connect_timeout_sec) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)h->timeout_sec) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, (long)h->low_speed_limit) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)h->low_speed_time_sec) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)filesize_max) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, t) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HEADERDATA, t) != CURLE_OK)
		return -EIO;

	/* proxies: libcurl reads https_proxy/http_proxy/no_proxy itself (no CURLOPT_PROXY) */
	if (h->ca_file && (curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file) != CURLE_OK ||
			   curl_easy_setopt(c, CURLOPT_CAPATH, h->ca_path) != CURLE_OK))
		return -EIO;
	if (resolve && curl_easy_setopt(c, CURLOPT_RESOLVE, resolve) != CURLE_OK)
		return -EIO;
	return 0;
}

static int hop(struct alga_http *h, const struct alga_http_request *req, const char *url,
	       const struct origin *o, bool with_auth, struct alga_http_response **ret,
	       struct alga_error *reterr)
{
	_cleanup_(alga_http_response_freep) struct alga_http_response *resp = NULL;
	_cleanup_(curl_slist_erase_freep) struct curl_slist *headers = NULL;
	_cleanup_(curl_slist_free_allp) struct curl_slist *resolve = NULL;
	struct transfer t = {};
	curl_off_t cl = -1, connect_us = 0;
	CURLcode c;
	int r;

	resp = calloc(1, sizeof(*resp));
	if (!resp)
		return -ENOMEM;
	resp->content_length = -1;
	resp->url = strdup(url);
	if (!resp->url)
		return -ENOMEM;

	r = build_headers(req, with_auth, &headers);
	if (r < 0)
		return alga_error_set(reterr, r, ALGA_ERROR_USAGE, 0, url, NULL,
				      "Bad request header");
	r = build_resolve(h, o, &resolve);
	if (r < 0)
		return alga_error_set(reterr, r, ALGA_ERROR_NETWORK, 0, url, NULL,
				      "Failed to resolve '%s'", o->host);

	t = (struct transfer){ .resp = resp, .req = req, .body_max = req->body_max };
	r = setup_handle(h, url, headers, resolve, &t);
	if (r < 0)
		return alga_error_set(reterr, r, ALGA_ERROR_INTERNAL, 0, url, NULL,
				      "Failed to set up the HTTP request");

	c = curl_easy_perform(h->curl);
	/* the header list holds the token: drop libcurl's pointer before it is freed */
	(void)curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
	(void)curl_easy_getinfo(h->curl, CURLINFO_CONNECT_TIME_T, &connect_us);

	if (c == CURLE_WRITE_ERROR && t.error == 0 && t.error_truncated)
		c = CURLE_OK;
	if (c != CURLE_OK) {
		r = t.error < 0 && (c == CURLE_WRITE_ERROR || c == CURLE_ABORTED_BY_CALLBACK ||
				    c == CURLE_RECV_ERROR)
			    ? t.error
			    : curlcode_to_errno(c, connect_us > 0);
		if (r == -E2BIG)
			return alga_error_set(reterr, r, ALGA_ERROR_INTEGRITY, resp->status, url, NULL,
					      "Answer of HTTP %ld is larger than %zu bytes",
					      resp->status, t.body_max);
		return alga_error_set(reterr, r, alga_http_errno_to_class(r), resp->status, url,
				      NULL, "HTTP request failed: %s", curl_easy_strerror(c));
	}

	(void)curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	if (curl_easy_getinfo(h->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK)
		resp->content_length = cl;

	*ret = TAKE_PTR(resp);
	return 0;
}

/* resolves Location against base into a new absolute URL in u */
static int resolve_location(CURLU *u, const char *location)
{
	CURLUcode uc;

	if (strlen(location) > ALGA_HTTP_URL_MAX)
		return -E2BIG;
	uc = curl_url_set(u, CURLUPART_URL, location, CURLU_NON_SUPPORT_SCHEME);
	if (uc == CURLUE_OUT_OF_MEMORY)
		return -ENOMEM;
	return uc == CURLUE_OK ? 0 : -EBADMSG;
}

int alga_http_get(struct alga_http *h, const struct alga_http_request *req,
		  struct alga_http_response **ret, struct alga_error *reterr)
{
	_cleanup_(curl_url_cleanupp) CURLU *u = NULL;
	_cleanup_free_ char *url = NULL;
	_cleanup_(origin_done) struct origin first = {}, cur = {};
	struct alga_http_request hreq;
	unsigned hops = 0;
	int r;

	if (!h || !req || !req->url || !ret)
		return -EINVAL;
	if (strlen(req->url) > ALGA_HTTP_URL_MAX)
		return alga_error_set(reterr, -E2BIG, ALGA_ERROR_USAGE, 0, NULL, NULL,
				      "URL longer than %u bytes", ALGA_HTTP_URL_MAX);
	if (req->body_max > ALGA_HTTP_BODY_MAX)
		return -EINVAL;
	hreq = *req;
	if (hreq.body_max == 0)
		hreq.body_max = BODY_MAX_DEFAULT;

	u = curl_url();
	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, req->url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
		return alga_error_set(reterr, -EINVAL, ALGA_ERROR_USAGE, 0, req->url, NULL,
				      "Invalid URL");
	r = url_origin(u, &first);
	if (r < 0)
		return alga_error_set(reterr, r, ALGA_ERROR_USAGE, 0, req->url, NULL, "Invalid URL");
	r = check_scheme(h, NULL, &first);
	if (r < 0)
		return alga_error_set(reterr, r, ALGA_ERROR_USAGE, 0, req->url, NULL,
				      "URL scheme '%s' not allowed (https%s only)", first.scheme,
				      h->allow_http ? ", http" : "");

	url = strdup(req->url);
	if (!url)
		return -ENOMEM;
	r = url_origin(u, &cur);
	if (r < 0)
		return r;

	for (;;) {
		_cleanup_(alga_http_response_freep) struct alga_http_response *resp = NULL;
		_cleanup_free_ char *shown = NULL;
		_cleanup_(origin_done) struct origin next = {};
		const char *location;
		char *nurl = NULL;
		bool with_auth;

		/* the origin rule (release.md §4.3 step 6) */
		with_auth = hreq.authorization && origin_equal(&first, &cur);

		r = hop(h, &hreq, url, &cur, with_auth, &resp, reterr);
		if (r < 0)
			return r;

		location = alga_http_response_get_header(resp, "Location");
		if (!status_is_redirect(resp->status)) {
			resp->redirects = hops;
			*ret = TAKE_PTR(resp);
			return 0;
		}
		if (!location)
			return alga_error_set(reterr, -EBADMSG, ALGA_ERROR_NETWORK, resp->status, url,
					      "Location", "Redirect without a Location header");
		if (++hops > h->max_redirects)
			return alga_error_set(reterr, -ELOOP, ALGA_ERROR_NETWORK, resp->status, url,
					      NULL, "More than %u redirects", h->max_redirects);

		r = resolve_location(u, location);
		if (r < 0)
			return alga_error_set(reterr, r, ALGA_ERROR_INTEGRITY, resp->status, url,
					      "Location", "Redirect to an invalid URL");
		if (curl_url_get(u, CURLUPART_URL, &nurl, 0) != CURLUE_OK)
			return alga_error_set(reterr, -EBADMSG, ALGA_ERROR_INTEGRITY, resp->status, url,
					      "Location", "Redirect to an invalid URL");
		free(url);
		url = strdup(nurl);
		curl_free(nurl);
		if (!url)
			return -ENOMEM;

		r = url_origin(u, &next);
		if (r < 0)
			return alga_error_set(reterr, r, ALGA_ERROR_INTEGRITY, resp->status, url,
					      "Location", "Redirect to an invalid URL");
		r = check_scheme(h, &cur, &next);
		if (r == -EPERM)
			return alga_error_set(reterr, r, ALGA_ERROR_INTEGRITY, resp->status, url,
					      "Location", "Redirect from https to http refused");
		if (r < 0)
			return alga_error_set(reterr, r, ALGA_ERROR_INTEGRITY, resp->status, url,
					      "Location", "Redirect to scheme '%s' refused", next.scheme);

		(void)alga_http_url_strip_query(url, &shown);
		log_debug("HTTP %ld redirect to '%s'", resp->status, strna(shown));
		origin_done(&cur);
		cur = next;
		next = (struct origin){};
	}

}
