/* SPDX-License-Identifier: AGPL-3.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "kube-config.h"
#include "macro.h"

/*
 * Kubernetes API client (status.md §4.1-§4.2, setup.md §2.4, host.md
 * §4.3). One struct alga_kube holds one CURLM multi handle: HTTP/2
 * multiplexing when the server offers it, else up to max_connections
 * keep-alive HTTP/1.1 connections, reused across requests.
 *
 * Two ways to drive it:
 * - blocking (CLI tools): alga_kube_submit() any number of requests, then
 *   alga_kube_run() until they complete; or the one-call wrappers
 *   (alga_kube_get() ...), which run the multi until their request is done.
 * - event-driven (daemons): alga_kube_attach_event() wires the multi's
 *   socket and timer callbacks into an sd_event loop; alga_kube_submit()
 *   returns at once and the callback runs from the loop. The blocking
 *   calls then return -EBUSY, so a daemon never blocks on the API.
 *
 * Every request has a deadline and a cap on its body. JSON bodies stream
 * into json_tokener as they arrive (the write callback counts decoded
 * bytes and aborts at the cap). Failures are a negative errno:
 *   HTTP 404 -ENOENT; 409 AlreadyExists -EEXIST, other 409 (Conflict)
 *   -EBUSY; 401 and 403 -EACCES; 400 and 422 -EINVAL; 405 -EOPNOTSUPP;
 *   410 -ESTALE (an expired continue token); 413 -E2BIG; 429 -EAGAIN;
 *   5xx -EIO (504 or reason Timeout: -ETIMEDOUT); other statuses -EPROTO.
 *   Transport: deadline passed or a hung server -ETIMEDOUT; connection
 *   refused -ECONNREFUSED; reset, cut short or nothing received
 *   -ECONNRESET; TLS handshake or verification -EKEYREJECTED; body over
 *   its cap -E2BIG; body not JSON (or not the shape asked for) -EBADMSG.
 * With each failure but -ENOMEM comes one sentence: the server's Status
 * message, or what went wrong on the wire (alga_kube_request_message(),
 * or *reterr_detail of the wrappers).
 *
 * Library code: logs at debug only. Not thread-safe: one thread per
 * struct alga_kube.
 */

/* limits */
#define ALGA_KUBE_BODY_MAX (64u * 1024u * 1024u)      /* ceiling of any body cap */
#define ALGA_KUBE_BODY_DEFAULT (8u * 1024u * 1024u)   /* cap when the caller sets none */
#define ALGA_KUBE_JSON_DEPTH_MAX 64u                 /* status.md §4.2 */
#define ALGA_KUBE_REQUEST_BODY_MAX (4u * 1024u * 1024u) /* bytes we send */
#define ALGA_KUBE_PATH_MAX 4096u                     /* path plus query */
#define ALGA_KUBE_MESSAGE_MAX 512u                   /* kept message bytes, UTF-8-safe cut */
#define ALGA_KUBE_NAME_MAX 253u                      /* a resource or object name */
#define ALGA_KUBE_LIST_ITEMS_MAX 100000u             /* items alga_kube_list_all() gathers */
#define ALGA_KUBE_LIST_PAGES_MAX 1000u               /* pages alga_kube_list_all() follows */
#define ALGA_KUBE_CONNECTIONS_MAX 4u                 /* default HTTP/1.1 connections per host */
#define ALGA_KUBE_TIMEOUT_USEC (30u * USEC_PER_SEC)  /* default per-request deadline */
#define ALGA_KUBE_CONNECT_TIMEOUT_USEC (5u * USEC_PER_SEC)
#define ALGA_KUBE_DISCOVERY_BODY_MAX (4u * 1024u * 1024u)

struct alga_kube;
struct alga_kube_request;

struct alga_kube_options {
	const char *kubeconfig;               /* path; ignored when config is set */
	const struct alga_kubeconfig *config; /* already loaded; copied */
	const char *context;                  /* NULL: current-context */
	bool allow_insecure;                  /* accept insecure-skip-tls-verify */
	const char *field_manager;            /* SSA manager: "alga-bootstrap", "alga-setup" */
	const char *user_agent;               /* NULL: "alga/<version>" */
	uint64_t timeout_usec;                /* per-request default, 0: ALGA_KUBE_TIMEOUT_USEC */
	uint64_t connect_timeout_usec;        /* 0: ALGA_KUBE_CONNECT_TIMEOUT_USEC */
	unsigned max_connections;             /* per host; 0: ALGA_KUBE_CONNECTIONS_MAX */
	size_t body_max;                      /* default cap; 0: ALGA_KUBE_BODY_DEFAULT */
};

/*
 * Loads the kubeconfig (alga_kubeconfig_load() errors, *reterr_detail
 * naming file and field) and makes the multi handle. -EINVAL without a
 * kubeconfig, or with options out of range.
 */
int alga_kube_new(const struct alga_kube_options *o, struct alga_kube **ret, char **reterr_detail);
/* cancels requests in flight (no callbacks), detaches, frees; takes NULL, returns NULL */
struct alga_kube *alga_kube_free(struct alga_kube *kube);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct alga_kube *, alga_kube_free);

/* the resolved kubeconfig (server, context); owned by kube */
const struct alga_kubeconfig *alga_kube_get_config(struct alga_kube *kube);

/*
 * Event-driven mode: the multi's sockets become sd_event io sources and its
 * timer a CLOCK_MONOTONIC time source at priority. -EBUSY when already
 * attached or while requests are in flight.
 */
int alga_kube_attach_event(struct alga_kube *kube, sd_event *event, int64_t priority);
/* back to blocking mode; -EBUSY while requests are in flight */
int alga_kube_detach_event(struct alga_kube *kube);

/* request building */
enum alga_kube_method {
	ALGA_KUBE_GET,
	ALGA_KUBE_POST,
	ALGA_KUBE_PUT,
	ALGA_KUBE_PATCH,
	ALGA_KUBE_DELETE,
	_ALGA_KUBE_METHOD_MAX,
};
const char *alga_kube_method_to_string(enum alga_kube_method m);
int alga_kube_method_from_string(const char *s);

/*
 * A request for path ("/api/v1/nodes?limit=16": absolute, printable
 * ASCII, at most ALGA_KUBE_PATH_MAX bytes, else -EINVAL) with the
 * defaults: Accept application/json, JSON response, the kube's body cap
 * and timeout. The caller owns it; free it when done with the result.
 */
int alga_kube_request_new(struct alga_kube *kube, enum alga_kube_method method, const char *path,
			  struct alga_kube_request **ret);
/* frees req; one still in flight is cancelled first (no callback); takes NULL */
struct alga_kube_request *alga_kube_request_free(struct alga_kube_request *req);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct alga_kube_request *, alga_kube_request_free);

/* appends key=value (value percent-encoded) to the query; -E2BIG past ALGA_KUBE_PATH_MAX */
int alga_kube_request_add_query(struct alga_kube_request *req, const char *key, const char *value);
/* a copy of body is sent with content_type; -E2BIG over ALGA_KUBE_REQUEST_BODY_MAX */
int alga_kube_request_set_body(struct alga_kube_request *req, const char *content_type,
			       const void *body, size_t len);
/* body serialised compactly */
int alga_kube_request_set_json_body(struct alga_kube_request *req, const char *content_type,
				    struct json_object *body);
/* Accept header value; NULL resets to application/json */
int alga_kube_request_set_accept(struct alga_kube_request *req, const char *accept);
/* cap on the decoded response body, 1..ALGA_KUBE_BODY_MAX (else -E2BIG/-EINVAL) */
int alga_kube_request_set_body_max(struct alga_kube_request *req, size_t max);
/* keep the body as bytes (pods/log) instead of parsing JSON */
void alga_kube_request_set_text(struct alga_kube_request *req, bool text);
/* relative timeout from submission (0: the kube's default) */
void alga_kube_request_set_timeout(struct alga_kube_request *req, uint64_t usec);
/* absolute CLOCK_MONOTONIC deadline (0: none beyond the timeout); the earlier one wins */
void alga_kube_request_set_deadline(struct alga_kube_request *req, uint64_t usec);

/* called once per submitted request, with its result (0 or -errno) */
typedef void (*alga_kube_done_fn)(struct alga_kube_request *req, int result, void *userdata);

/*
 * Starts req (done may be NULL). -EBUSY when it is already in flight,
 * -ETIMEDOUT when its deadline has passed (then no callback). The request
 * may be resubmitted after it completed; its old result is dropped.
 */
int alga_kube_submit(struct alga_kube *kube, struct alga_kube_request *req, alga_kube_done_fn done,
		     void *userdata);

/*
 * Blocking mode: drives the multi until no request is in flight. deadline
 * is CLOCK_MONOTONIC usec (0: none; each request has its own anyway); when
 * it passes, what is still in flight completes with -ETIMEDOUT and so does
 * this call. -EBUSY in event mode. Callbacks run from inside this call.
 */
int alga_kube_run(struct alga_kube *kube, uint64_t deadline);
/* as alga_kube_run(), but returns once req has completed (others keep going) */
int alga_kube_run_until(struct alga_kube *kube, struct alga_kube_request *req, uint64_t deadline);
/* requests in flight */
unsigned alga_kube_in_flight(struct alga_kube *kube);

/* results: valid after the request completed */
/* 0 or -errno as above; -EINPROGRESS before completion */
int alga_kube_request_result(struct alga_kube_request *req);
/* the HTTP status, 0 when none arrived */
long alga_kube_request_http_status(struct alga_kube_request *req);
/* the parsed body, owned by req (NULL for text requests or an empty body) */
struct json_object *alga_kube_request_json(struct alga_kube_request *req);
/* hands the parsed body over (-ENODATA when there is none) */
int alga_kube_request_steal_json(struct alga_kube_request *req, struct json_object **ret);
/* the body of a text request (NUL-terminated, may be NULL when empty) */
const char *alga_kube_request_text(struct alga_kube_request *req, size_t *ret_len);
/* the failure's sentence (server message or transport), NULL on success */
const char *alga_kube_request_message(struct alga_kube_request *req);
/* a Status body's reason ("AlreadyExists", "Conflict", ...), NULL if none */
const char *alga_kube_request_reason(struct alga_kube_request *req);
/* wall time from submission to completion */
uint64_t alga_kube_request_duration_usec(struct alga_kube_request *req);
/* the HTTP version the response came over: 1 or 2 (0 before) */
int alga_kube_request_http_version(struct alga_kube_request *req);

/*
 * The errno for an HTTP status and its (optional) Status body of len
 * bytes, as the table above; 0 for 2xx. ret_reason and ret_message
 * (optional, caller frees) get the body's reason and message (message cut
 * at ALGA_KUBE_MESSAGE_MAX on a UTF-8 boundary, controls replaced by
 * spaces), or a sentence naming the status when the body has none. Parses
 * outside input: fuzzed by fuzz-kube-status.
 */
int alga_kube_status_to_errno(long http_status, const char *body, size_t len, char **ret_reason,
			      char **ret_message);

/*
 * The JSON body reader the write callback uses, exposed for
 * fuzz-kube-status: feed chunks, then finish. feed returns 0, -E2BIG past
 * max bytes, -EBADMSG for bytes that cannot be an API body (a NUL, a
 * document that does not start as an object or array). finish parses the
 * whole body strictly (lib/json) and returns 0 with *ret (NULL for an
 * empty body), -E2BIG past ALGA_KUBE_JSON_DEPTH_MAX, or -EBADMSG for
 * anything that is not one JSON document.
 */
struct alga_kube_body;
int alga_kube_body_new(size_t max, struct alga_kube_body **ret);
int alga_kube_body_feed(struct alga_kube_body *b, const void *data, size_t len);
int alga_kube_body_finish(struct alga_kube_body *b, struct json_object **ret);
struct alga_kube_body *alga_kube_body_free(struct alga_kube_body *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct alga_kube_body *, alga_kube_body_free);

/* flags of the write wrappers */
enum alga_kube_flags {
	ALGA_KUBE_DRY_RUN = 1 << 0,       /* dryRun=All: the server validates, stores nothing */
	ALGA_KUBE_APPLY_NO_FORCE = 1 << 1, /* SSA without force=true: conflicts are -EBUSY */
};

/*
 * Blocking wrappers. Each builds one request, runs the multi until it is
 * done and returns its result; *ret (optional) gets the response body,
 * *reterr_detail (optional, caller frees) the sentence of a failure.
 * -EBUSY in event mode (use alga_kube_submit() there).
 */
int alga_kube_get(struct alga_kube *kube, const char *path, struct json_object **ret,
		  char **reterr_detail);

struct alga_kube_list_options {
	const char *label_selector; /* "app=web,tier!=db" */
	const char *field_selector; /* "type=Warning" */
	unsigned limit;             /* 0: no limit= */
	const char *continue_token; /* from metadata.continue of the previous page */
};
/* one page of path (a collection); -EBADMSG when items is not an array */
int alga_kube_list(struct alga_kube *kube, const char *path,
		   const struct alga_kube_list_options *o, struct json_object **ret,
		   char **reterr_detail);
/*
 * Follows continue tokens (o->limit per page, 0: 500) and returns one array
 * of all items; -E2BIG past ALGA_KUBE_LIST_ITEMS_MAX items or
 * ALGA_KUBE_LIST_PAGES_MAX pages.
 */
int alga_kube_list_all(struct alga_kube *kube, const char *path,
		       const struct alga_kube_list_options *o, struct json_object **ret_items,
		       char **reterr_detail);

/* POST obj to the collection path; -EEXIST when it exists */
int alga_kube_create(struct alga_kube *kube, const char *path, struct json_object *obj,
		     unsigned flags, struct json_object **ret, char **reterr_detail);
/*
 * Server-side apply of obj at its object path: PATCH
 * application/apply-patch+yaml with a JSON body, fieldManager from the
 * options (-EINVAL when none was given), force=true unless
 * ALGA_KUBE_APPLY_NO_FORCE. An identical re-apply leaves resourceVersion.
 */
int alga_kube_apply(struct alga_kube *kube, const char *path, struct json_object *obj,
		    unsigned flags, struct json_object **ret, char **reterr_detail);
/* the same, the path found through discovery from obj's apiVersion, kind and metadata */
int alga_kube_apply_object(struct alga_kube *kube, struct json_object *obj, unsigned flags,
			   struct json_object **ret, char **reterr_detail);
/* application/merge-patch+json */
int alga_kube_patch_merge(struct alga_kube *kube, const char *path, struct json_object *patch,
			  unsigned flags, struct json_object **ret, char **reterr_detail);
/* application/json-patch+json; ops is an array of operations */
int alga_kube_patch_json(struct alga_kube *kube, const char *path, struct json_object *ops,
			 unsigned flags, struct json_object **ret, char **reterr_detail);

enum alga_kube_propagation {
	ALGA_KUBE_PROPAGATION_DEFAULT, /* the server's choice per kind */
	ALGA_KUBE_PROPAGATION_BACKGROUND,
	ALGA_KUBE_PROPAGATION_FOREGROUND,
	ALGA_KUBE_PROPAGATION_ORPHAN,
	_ALGA_KUBE_PROPAGATION_MAX,
};
const char *alga_kube_propagation_to_string(enum alga_kube_propagation p);
int alga_kube_propagation_from_string(const char *s);
/* DELETE path with a DeleteOptions body; -ENOENT when it is already gone */
int alga_kube_delete(struct alga_kube *kube, const char *path, enum alga_kube_propagation p,
		     unsigned flags, struct json_object **ret, char **reterr_detail);

struct alga_kube_log_options {
	const char *container; /* NULL: the pod's only one */
	int64_t tail_lines;    /* <0: all (no tailLines=) */
	int64_t limit_bytes;   /* <=0: none */
	bool previous;         /* the last terminated instance */
	bool timestamps;
};
/* GET pods/<pod>/log as text; *ret NUL-terminated (caller frees), ret_len optional */
int alga_kube_log(struct alga_kube *kube, const char *ns, const char *pod,
		  const struct alga_kube_log_options *o, char **ret, size_t *ret_len,
		  char **reterr_detail);

enum alga_kube_include_object {
	ALGA_KUBE_INCLUDE_NONE,     /* rows carry no object at all */
	ALGA_KUBE_INCLUDE_METADATA, /* the server's default */
	ALGA_KUBE_INCLUDE_OBJECT,
	_ALGA_KUBE_INCLUDE_MAX,
};
/* server-side Table (Accept as=Table;v=v1;g=meta.k8s.io) of path; -EBADMSG not a Table */
int alga_kube_table(struct alga_kube *kube, const char *path, enum alga_kube_include_object inc,
		    struct json_object **ret, char **reterr_detail);

/*
 * Discovery. The resource list of each group-version is cached; a kind not
 * in the cache (a CRD installed since) makes that group-version be fetched
 * again once before -ENOENT.
 */
struct alga_kube_resource {
	char name[ALGA_KUBE_NAME_MAX + 1]; /* plural: "deployments" */
	bool namespaced;
};
int alga_kube_discover(struct alga_kube *kube, const char *api_version, const char *kind,
		       struct alga_kube_resource *ret, char **reterr_detail);
/* forgets the cache (after CRDs were installed or removed) */
void alga_kube_discovery_invalidate(struct alga_kube *kube);
/*
 * The path of an object ("/apis/apps/v1/namespaces/msp/deployments/web"),
 * or of its collection when name is NULL. namespace is ignored for
 * cluster-scoped kinds; a namespaced kind without one is -EINVAL. Names are
 * checked as DNS subdomains (-EINVAL). Caller frees *ret.
 */
int alga_kube_object_path(struct alga_kube *kube, const char *api_version, const char *kind,
			  const char *ns, const char *name, char **ret, char **reterr_detail);
