/* SPDX-License-Identifier: AGPL-3.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/*
 * The anonymous bearer flow of the distribution spec (release.md §4.3
 * step 2): the WWW-Authenticate parser (RFC 9110 §11.6.1 / RFC 7235), the
 * token request URL, and the token response.
 */

#define ALGA_OCI_AUTH_HEADER_MAX (8u * 1024u)      /* WWW-Authenticate, all values joined */
#define ALGA_OCI_AUTH_CHALLENGES_MAX 16u
#define ALGA_OCI_AUTH_PARAMS_MAX 32u               /* per challenge */
#define ALGA_OCI_AUTH_TOKEN_RESPONSE_MAX (64u * 1024u)
#define ALGA_OCI_AUTH_TOKEN_MAX (16u * 1024u)      /* visible ASCII */
#define ALGA_OCI_AUTH_EXPIRES_DEFAULT_SEC 60u
#define ALGA_OCI_AUTH_EXPIRES_MAX_SEC (24u * 3600u)

struct alga_oci_auth_param {
	char *name;  /* lower case */
	char *value; /* unquoted, escapes resolved */
};

struct alga_oci_auth_challenge {
	char *scheme;   /* lower case ("bearer", "basic") */
	char *token68;  /* a token68 instead of parameters, or NULL */
	struct alga_oci_auth_param *params;
	size_t n_params;
};

struct alga_oci_auth_challenges {
	struct alga_oci_auth_challenge *items;
	size_t n;
};

/*
 * Parses a WWW-Authenticate field value (several header lines joined with
 * ", "): one or more challenges, each a scheme and either a token68 or
 * comma-separated name=value parameters (token or quoted-string with
 * backslash escapes), empty list elements allowed. Scheme and parameter
 * names are case-insensitive. On success *ret owns the list. -E2BIG over
 * ALGA_OCI_AUTH_HEADER_MAX or a count limit; -EBADMSG malformed (bad token,
 * unterminated quote, control byte, a parameter given twice in one
 * challenge), with *reterr_detail (optional, caller frees).
 */
int alga_oci_auth_parse(const char *s, size_t len, struct alga_oci_auth_challenges **ret,
			char **reterr_detail);
struct alga_oci_auth_challenges *alga_oci_auth_challenges_free(struct alga_oci_auth_challenges *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct alga_oci_auth_challenges *, alga_oci_auth_challenges_free);

/* the first challenge with scheme (case-insensitive), or NULL */
const struct alga_oci_auth_challenge *
alga_oci_auth_find(const struct alga_oci_auth_challenges *c, const char *scheme);
/* value of parameter name (case-insensitive) of c, or NULL */
const char *alga_oci_auth_challenge_get(const struct alga_oci_auth_challenge *c, const char *name);

/*
 * The token URL of a Bearer challenge: realm ? service=&scope= (percent-
 * encoded, appended with '&' when the realm has a query). realm is
 * required and must be https unless allow_http (the registry itself is
 * plain http); scope defaults to default_scope. Returns 0 with *ret_url,
 * -EBADMSG without realm or with a bad one, -EPERM for an http realm not
 * allowed, -E2BIG for a URL over ALGA_HTTP_URL_MAX.
 */
int alga_oci_auth_token_url(const struct alga_oci_auth_challenge *c, const char *default_scope,
			    bool allow_http, char **ret_url, char **reterr_detail);

/*
 * Parses a token response body: "token", else "access_token" (a string of
 * 1..ALGA_OCI_AUTH_TOKEN_MAX visible ASCII bytes), "expires_in" (optional
 * integer; absent, 0 or negative: ALGA_OCI_AUTH_EXPIRES_DEFAULT_SEC, capped
 * at ALGA_OCI_AUTH_EXPIRES_MAX_SEC). *ret_token is a new string the caller
 * must wipe (erase_and_freep). -E2BIG over a limit, -EBADMSG malformed.
 */
int alga_oci_auth_parse_token(const char *body, size_t len, char **ret_token,
			      unsigned *ret_expires_sec, char **reterr_detail);
