/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "http.h"
#include "json.h"
#include "oci-auth.h"
#include "log.h"

struct parser {
	const char *s;
	size_t len;
	size_t pos;
	char **detail;
};

static int fail(struct parser *p, int r, const char *what)
{
	if (p->detail && !*p->detail &&
	    asprintf(p->detail, "WWW-Authenticate: %s at offset %zu", what, p->pos) < 0)
		*p->detail = NULL;
	return r;
}

static bool is_tchar(char c)
{
	return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_t68char(char c)
{
	return isalnum((unsigned char)c) || (c && strchr("-._~+/", c));
}

static bool at_end(const struct parser *p)
{
	return p->pos >= p->len;
}

static char peek(const struct parser *p)
{
	return at_end(p) ? 0 : p->s[p->pos];
}

static void skip_ows(struct parser *p)
{
	while (!at_end(p) && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t'))
		p->pos++;
}

/* length of the token at pos (0 if none) */
static size_t token_span(const struct parser *p, size_t pos)
{
	size_t n = 0;

	while (pos + n < p->len && is_tchar(p->s[pos + n]))
		n++;
	return n;
}

static char *lower_ndup(const char *s, size_t n)
{
	char *d = strndup(s, n);

	for (char *i = d; d && *i; i++)
		*i = (char)tolower((unsigned char)*i);
	return d;
}

static int parse_quoted(struct parser *p, char **ret)
{
	_cleanup_free_ char *v = NULL;
	size_t n = 0;

	/* at the opening quote; the value is never longer than the rest of the input */
	v = malloc(p->len - p->pos);
	if (!v)
		return -ENOMEM;
	p->pos++;
	for (;;) {
		unsigned char c;

		if (at_end(p))
			return fail(p, -EBADMSG, "unterminated quoted string");
		c = (unsigned char)p->s[p->pos];
		if (c == '"') {
			p->pos++;
			break;
		}
		if (c == '\\') {
			p->pos++;
			if (at_end(p))
				return fail(p, -EBADMSG, "unterminated quoted string");
			c = (unsigned char)p->s[p->pos];
		}
		/* qdtext / quoted-pair: HTAB, SP, VCHAR, obs-text; no other control bytes */
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(p, -EBADMSG, "control byte in quoted string");
		v[n++] = (char)c;
		p->pos++;
	}
	v[n] = 0;
	*ret = TAKE_PTR(v);
	return 0;
}

static int challenge_add_param(struct parser *p, struct alga_oci_auth_challenge *c, char *name,
			       char *value)
{
	struct alga_oci_auth_param *a;

	for (size_t i = 0; i < c->n_params; i++)
		if (streq(c->params[i].name, name)) {
			free(name);
			free(value);
			return fail(p, -EBADMSG, "parameter given twice in one challenge");
		}
	if (c->n_params >= ALGA_OCI_AUTH_PARAMS_MAX) {
		free(name);
		free(value);
		return fail(p, -E2BIG, "too many parameters");
	}
	a = reallocarray(c->params, c->n_params + 1, sizeof(*a));
	if (!a) {
		free(name);
		free(value);
		return -ENOMEM;
	}
	c->params = a;
	a[c->n_params++] = (struct alga_oci_auth_param){ .name = name, .value = value };
	return 0;
}

/* auth-param = token BWS "=" BWS ( token / quoted-string ), at a token */
static int parse_param(struct parser *p, struct alga_oci_auth_challenge *c)
{
	_cleanup_free_ char *name = NULL, *value = NULL;
	size_t n;
	int r;

	n = token_span(p, p->pos);
	if (n == 0)
		return fail(p, -EBADMSG, "expected a parameter name");
	name = lower_ndup(p->s + p->pos, n);
	if (!name)
		return -ENOMEM;
	p->pos += n;
	skip_ows(p);
	if (peek(p) != '=')
		return fail(p, -EBADMSG, "expected '=' after a parameter name");
	p->pos++;
	skip_ows(p);

	if (peek(p) == '"') {
		r = parse_quoted(p, &value);
		if (r < 0)
			return r;
	} else {
		n = token_span(p, p->pos);
		if (n == 0)
			return fail(p, -EBADMSG, "expected a parameter value");
		value = strndup(p->s + p->pos, n);
		if (!value)
			return -ENOMEM;
		p->pos += n;
	}

	return challenge_add_param(p, c, TAKE_PTR(name), TAKE_PTR(value));
}

/* a token68 that ends the challenge (followed by OWS and the end or a comma) */
static size_t token68_span(const struct parser *p)
{
	size_t i = p->pos;

	while (i < p->len && is_t68char(p->s[i]))
		i++;
	if (i == p->pos)
		return 0;
	while (i < p->len && p->s[i] == '=')
		i++;
	for (size_t j = i; j <= p->len; j++) {
		if (j == p->len || p->s[j] == ',')
			return i - p->pos;
		if (p->s[j] != ' ' && p->s[j] != '\t')
			return 0;
	}
	return 0;
}

/* true when the token at pos is followed by BWS "=": a parameter, not a scheme */
static bool looks_like_param(const struct parser *p)
{
	size_t i = p->pos + token_span(p, p->pos);

	while (i < p->len && (p->s[i] == ' ' || p->s[i] == '\t'))
		i++;
	return i < p->len && p->s[i] == '=';
}

static void challenge_done(struct alga_oci_auth_challenge *c)
{
	for (size_t i = 0; i < c->n_params; i++) {
		free(c->params[i].name);
		free(c->params[i].value);
	}
	free(c->params);
	free(c->scheme);
	free(c->token68);
}

struct alga_oci_auth_challenges *alga_oci_auth_challenges_free(struct alga_oci_auth_challenges *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < c->n; i++)
		challenge_done(&c->items[i]);
	free(c->items);
	free(c);
	return NULL;
}

static int parse_challenge(struct parser *p, struct alga_oci_auth_challenge *c)
{
	size_t n;
	int r;

	n = token_span(p, p->pos);
	if (n == 0)
		return fail(p, -EBADMSG, "expected an authentication scheme");
	c->scheme = lower_ndup(p->s + p->pos, n);
	if (!c->scheme)
		return -ENOMEM;
	p->pos += n;

	if (at_end(p) || peek(p) == ',')
		return 0;
	if (peek(p) != ' ' && peek(p) != '\t')
		return fail(p, -EBADMSG, "expected white space after the scheme");
	skip_ows(p);
	if (at_end(p) || peek(p) == ',')
		return 0;

	n = token68_span(p);
	if (n > 0) {
		c->token68 = strndup(p->s + p->pos, n);
		if (!c->token68)
			return -ENOMEM;
		p->pos += n;
		skip_ows(p);
		return 0;
	}

	for (;;) {
		r = parse_param(p, c);
		if (r < 0)
			return r;
		skip_ows(p);
		if (at_end(p))
			return 0;
		if (peek(p) != ',')
			return fail(p, -EBADMSG, "expected ',' between parameters");
		/* skip empty list elements; then a parameter or the next challenge */
		while (peek(p) == ',' || peek(p) == ' ' || peek(p) == '\t')
			p->pos++;
		if (at_end(p) || !looks_like_param(p))
			return 0;
	}
}

int alga_oci_auth_parse(const char *s, size_t len, struct alga_oci_auth_challenges **ret,
			char **reterr_detail)
{
	_cleanup_(alga_oci_auth_challenges_freep) struct alga_oci_auth_challenges *list = NULL;
	struct parser p = { .s = s, .len = len, .detail = reterr_detail };
	int r;

	if (len > ALGA_OCI_AUTH_HEADER_MAX)
		return fail(&p, -E2BIG, "header longer than 8 KiB");
	if (memchr(s, 0, len))
		return fail(&p, -EBADMSG, "NUL byte");

	list = calloc(1, sizeof(*list));
	if (!list)
		return -ENOMEM;

	for (;;) {
		struct alga_oci_auth_challenge *a;

		while (peek(&p) == ',' || peek(&p) == ' ' || peek(&p) == '\t')
			p.pos++;
		if (at_end(&p))
			break;
		if (list->n >= ALGA_OCI_AUTH_CHALLENGES_MAX)
			return fail(&p, -E2BIG, "too many challenges");
		a = reallocarray(list->items, list->n + 1, sizeof(*a));
		if (!a)
			return -ENOMEM;
		list->items = a;
		a[list->n] = (struct alga_oci_auth_challenge){};
		list->n++;
		r = parse_challenge(&p, &a[list->n - 1]);
		if (r < 0)
			return r;
	}

	if (list->n == 0)
		return fail(&p, -EBADMSG, "no challenge");

	*ret = TAKE_PTR(list);
	return 0;
}

const struct alga_oci_auth_challenge *
alga_oci_auth_find(const struct alga_oci_auth_challenges *c, const char *scheme)
{
	for (size_t i = 0; c && i < c->n; i++)
		if (strcasecmp(c->items[i].scheme, scheme) == 0)
			return &c->items[i];
	return NULL;
}

const char *alga_oci_auth_challenge_get(const struct alga_oci_auth_challenge *c, const char *name)
{
	for (size_t i = 0; c && i < c->n_params; i++)
		if (strcasecmp(c->params[i].name, name) == 0)
			return c->params[i].value;
	return NULL;
}

/* percent-encodes a query value; keeps RFC 3986 pchar minus '&', '=', '+' */
static int query_escape(const char *s, FILE *f)
{
	for (const unsigned char *i = (const unsigned char *)s; *i; i++)
		if (isalnum(*i) || strchr("-._~!$'()*,;:@/?", *i))
			fputc(*i, f);
		else
			fprintf(f, "%%%02X", *i);
	return 0;
}

static void curl_url_cleanupp(CURLU **u)
{
	if (*u)
		curl_url_cleanup(*u);
}

int alga_oci_auth_token_url(const struct alga_oci_auth_challenge *c, const char *default_scope,
			    bool allow_http, char **ret_url, char **reterr_detail)
{
	_cleanup_(curl_url_cleanupp) CURLU *u = NULL;
	_cleanup_free_ char *buf = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	const char *realm, *service, *scope;
	char *scheme = NULL, *fragment = NULL, *user = NULL;
	bool https;
	size_t n = 0;

	realm = alga_oci_auth_challenge_get(c, "realm");
	if (isempty(realm)) {
		alga_set_detail(0, reterr_detail, "Bearer challenge without realm");
		return -EBADMSG;
	}
	if (strlen(realm) > ALGA_HTTP_URL_MAX) {
		alga_set_detail(0, reterr_detail, "Bearer realm longer than %u bytes", ALGA_HTTP_URL_MAX);
		return -E2BIG;
	}

	u = curl_url();
	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, realm, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
		alga_set_detail(0, reterr_detail, "Bearer realm is not a URL");
		return -EBADMSG;
	}
	https = strcasecmp(scheme, "https") == 0;
	if (!https && strcasecmp(scheme, "http") != 0) {
		curl_free(scheme);
		alga_set_detail(0, reterr_detail, "Bearer realm must be https");
		return -EBADMSG;
	}
	curl_free(scheme);
	if (!https && !allow_http) {
		alga_set_detail(0, reterr_detail, "Bearer realm must be https");
		return -EPERM;
	}
	/* a realm carrying credentials or a fragment is not something we send on */
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_OK) {
		curl_free(user);
		curl_free(fragment);
		alga_set_detail(0, reterr_detail, "Bearer realm with user info or fragment");
		return -EBADMSG;
	}

	service = alga_oci_auth_challenge_get(c, "service");
	scope = alga_oci_auth_challenge_get(c, "scope") ?: default_scope;

	f = open_memstream(&buf, &n);
	if (!f)
		return -ENOMEM;
	fputs(realm, f);
	fputc(strchr(realm, '?') ? '&' : '?', f);
	if (service) {
		fputs("service=", f);
		query_escape(service, f);
	}
	if (scope) {
		if (service)
			fputc('&', f);
		fputs("scope=", f);
		query_escape(scope, f);
	}
	if (fflush(f) != 0 || ferror(f))
		return -ENOMEM;
	fclose(TAKE_PTR(f));

	if (n > ALGA_HTTP_URL_MAX) {
		alga_set_detail(0, reterr_detail, "token URL longer than %u bytes", ALGA_HTTP_URL_MAX);
		return -E2BIG;
	}
	*ret_url = TAKE_PTR(buf);
	return 0;
}

int alga_oci_auth_parse_token(const char *body, size_t len, char **ret_token,
			      unsigned *ret_expires_sec, char **reterr_detail)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	struct alga_json_limits l = {
		.size_max = ALGA_OCI_AUTH_TOKEN_RESPONSE_MAX,
		.depth_max = 8,
		.string_max = ALGA_OCI_AUTH_TOKEN_RESPONSE_MAX,
		.items_max = 1024,
	};
	const char *tok = NULL;
	int64_t expires = 0;
	size_t tl;
	char *t;
	int r;

	r = alga_json_parse(body, len, &l, &o, reterr_detail);
	if (r < 0)
		return r;
	if (!json_object_is_type(o, json_type_object)) {
		alga_set_detail(0, reterr_detail, "token response is not a JSON object");
		return -EBADMSG;
	}

	r = alga_json_get_string(o, "token", ALGA_JSON_OPTIONAL, &tok, reterr_detail);
	if (r < 0)
		return r;
	if (r == 0 || isempty(tok)) {
		r = alga_json_get_string(o, "access_token", ALGA_JSON_REQUIRED, &tok, reterr_detail);
		if (r < 0)
			return r;
	}
	tl = strlen(tok);
	if (tl == 0) {
		alga_set_detail(0, reterr_detail, "token response with an empty token");
		return -EBADMSG;
	}
	if (tl > ALGA_OCI_AUTH_TOKEN_MAX) {
		alga_set_detail(0, reterr_detail, "token longer than %u bytes", ALGA_OCI_AUTH_TOKEN_MAX);
		return -E2BIG;
	}
	for (size_t i = 0; i < tl; i++)
		if (tok[i] < 0x21 || tok[i] > 0x7e) {
			alga_set_detail(0, reterr_detail, "token holds a byte other than visible ASCII");
			return -EBADMSG;
		}

	r = alga_json_get_int64(o, "expires_in", ALGA_JSON_OPTIONAL, INT64_MIN, INT64_MAX, &expires,
				reterr_detail);
	if (r < 0)
		return r;
	if (expires <= 0)
		expires = ALGA_OCI_AUTH_EXPIRES_DEFAULT_SEC;

	t = strdup(tok);
	if (!t)
		return -ENOMEM;
	*ret_token = t;
	if (ret_expires_sec)
		*ret_expires_sec = (unsigned)MIN(expires, (int64_t)ALGA_OCI_AUTH_EXPIRES_MAX_SEC);
	return 0;
}
