/* SPDX-License-Identifier: AGPL-3.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

/*
 * kubeconfig loader (libyaml). Reads clusters, users, contexts and
 * current-context, resolves one context into a server URL and in-memory
 * credentials (PEM blobs handed to libcurl as CURLOPT_*_BLOB, a bearer
 * token). Key material is cleansed when the struct is freed. Errors name
 * the file and the field in *reterr_detail.
 */

/* limits of the outside input */
#define ALGA_KUBECONFIG_SIZE_MAX (1024u * 1024u)   /* bytes of the kubeconfig */
#define ALGA_KUBECONFIG_DEPTH_MAX 16u              /* nesting of YAML collections */
#define ALGA_KUBECONFIG_NODES_MAX 4096u            /* YAML nodes in the document */
#define ALGA_KUBECONFIG_SCALAR_MAX (256u * 1024u)  /* bytes of one scalar (a -data field) */
#define ALGA_KUBECONFIG_FILE_MAX (256u * 1024u)    /* a certificate, key or token file */
#define ALGA_KUBECONFIG_TOKEN_MAX 8192u            /* bytes of a bearer token */
#define ALGA_KUBECONFIG_NAME_MAX 253u              /* a cluster, user or context name */
#define ALGA_KUBECONFIG_SERVER_MAX 2048u           /* bytes of the server URL */

/* how alga_kubeconfig_parse() behaves */
enum alga_kubeconfig_flags {
	/* accept insecure-skip-tls-verify: true (otherwise refused, -EPERM) */
	ALGA_KUBECONFIG_ALLOW_INSECURE = 1 << 0,
	/* refuse certificate-authority, client-certificate, client-key and
	 * tokenFile paths (-EPERM); for fuzzing and for configs from the network */
	ALGA_KUBECONFIG_NO_FILES = 1 << 1,
};

/* one context, resolved */
struct alga_kubeconfig {
	char *path;         /* the file it came from, or "<memory>" */
	char *context;      /* the context chosen */
	char *cluster;      /* its cluster's name */
	char *user;         /* its user's name, NULL when the context names none */
	char *server;       /* "https://host[:port][/prefix]" without a trailing slash */
	bool insecure_skip_tls_verify;
	char *ca;           /* PEM, NULL: the system trust store */
	size_t ca_len;
	char *cert;         /* client certificate PEM, NULL if none */
	size_t cert_len;
	char *key;          /* client key PEM; present exactly when cert is */
	size_t key_len;
	char *token;        /* bearer token, NUL-terminated, NULL if none */
};

/*
 * Parses a kubeconfig of len bytes. path names it in errors and anchors
 * relative file references (NULL: "<memory>", relative to the working
 * directory). context NULL picks current-context. Returns 0 with *ret;
 * -EBADMSG malformed YAML or a field of the wrong shape (missing
 * current-context, a context naming no cluster, bad base64, a client
 * certificate without its key, both a field and its -data twin, a
 * duplicated name); -E2BIG over a limit; -ENOENT the requested context or
 * a referenced file does not exist; -EPROTONOSUPPORT a server that is not
 * https://; -EPERM insecure-skip-tls-verify without
 * ALGA_KUBECONFIG_ALLOW_INSECURE, or a file reference with
 * ALGA_KUBECONFIG_NO_FILES; -EOPNOTSUPP exec, auth-provider or basic
 * auth users. Every failure but -ENOMEM fills *reterr_detail (optional,
 * caller frees) with one sentence naming the file and the field.
 */
int alga_kubeconfig_parse(const char *buf, size_t len, const char *path, const char *context,
			  unsigned flags, struct alga_kubeconfig **ret, char **reterr_detail);

/* reads path (at most ALGA_KUBECONFIG_SIZE_MAX bytes) and parses it as above */
int alga_kubeconfig_load(const char *path, const char *context, unsigned flags,
			 struct alga_kubeconfig **ret, char **reterr_detail);

/* a deep copy of c; 0 or -ENOMEM */
int alga_kubeconfig_copy(const struct alga_kubeconfig *c, struct alga_kubeconfig **ret);

/* cleanses key, certificate and token, frees everything; takes NULL, returns NULL */
struct alga_kubeconfig *alga_kubeconfig_free(struct alga_kubeconfig *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct alga_kubeconfig *, alga_kubeconfig_free);
