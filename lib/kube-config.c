/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "crypto.h"
#include "fsutil.h"
#include "kube-config.h"

/*
 * The YAML is read event by event into a small tree of our own, so every
 * scalar (keys and certificates among them) lives in memory we cleanse,
 * and so depth, node count and scalar size are checked before anything
 * grows. Aliases are refused: kubeconfigs have none, and they are the
 * billion-laughs door.
 */
enum ynode_type {
	YNODE_SCALAR,
	YNODE_SEQUENCE,
	YNODE_MAPPING,
};

struct ynode {
	enum ynode_type type;
	char *value; /* scalar */
	size_t len;
	size_t line;
	struct ynode **items; /* sequence: elements; mapping: key, value, key, value ... */
	size_t n_items;
	size_t alloc;
};

static struct ynode *ynode_free(struct ynode *n)
{
	if (!n)
		return NULL;
	for (size_t i = 0; i < n->n_items; i++)
		ynode_free(n->items[i]);
	free(n->items);
	if (n->value) {
		alga_crypto_cleanse(n->value, n->len);
		free(n->value);
	}
	free(n);
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct ynode *, ynode_free);

struct parse_ctx {
	const char *path;
	char **reterr_detail;
	size_t nodes;
};

_printf_(3, 4) static int fail(struct parse_ctx *ctx, int r, const char *format, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	if (!ctx->reterr_detail)
		return r;
	va_start(ap, format);
	if (vasprintf(&msg, format, ap) < 0)
		msg = NULL;
	va_end(ap);
	free(*ctx->reterr_detail);
	*ctx->reterr_detail = NULL;
	if (msg && asprintf(ctx->reterr_detail, "Kubeconfig '%s': %s", ctx->path, msg) < 0)
		*ctx->reterr_detail = NULL;
	return r;
}

static void event_cleanse_and_delete(yaml_event_t *e)
{
	if (e->type == YAML_SCALAR_EVENT && e->data.scalar.value)
		alga_crypto_cleanse(e->data.scalar.value, e->data.scalar.length);
	yaml_event_delete(e);
}

static int ynode_append(struct ynode *parent, struct ynode *child)
{
	if (parent->n_items == parent->alloc) {
		size_t a = parent->alloc ? parent->alloc * 2 : 8;
		struct ynode **p = reallocarray(parent->items, a, sizeof(*p));

		if (!p)
			return -ENOMEM;
		parent->items = p;
		parent->alloc = a;
	}
	parent->items[parent->n_items++] = child;
	return 0;
}

/* reads one node whose first event is e (taken), recursing into collections */
static int read_node(struct parse_ctx *ctx, yaml_parser_t *p, yaml_event_t *e, unsigned depth,
		     struct ynode **ret)
{
	_cleanup_(ynode_freep) struct ynode *n = NULL;
	int r;

	if (++ctx->nodes > ALGA_KUBECONFIG_NODES_MAX) {
		event_cleanse_and_delete(e);
		return fail(ctx, -E2BIG, "more than %u YAML nodes.", ALGA_KUBECONFIG_NODES_MAX);
	}

	n = calloc(1, sizeof(*n));
	if (!n) {
		event_cleanse_and_delete(e);
		return -ENOMEM;
	}
	n->line = e->start_mark.line + 1;

	switch (e->type) {
	case YAML_ALIAS_EVENT:
		event_cleanse_and_delete(e);
		return fail(ctx, -EBADMSG, "line %zu: YAML aliases are not allowed.", n->line);
	case YAML_SCALAR_EVENT:
		n->type = YNODE_SCALAR;
		if (e->data.scalar.length > ALGA_KUBECONFIG_SCALAR_MAX) {
			event_cleanse_and_delete(e);
			return fail(ctx, -E2BIG, "line %zu: a value is longer than %u bytes.", n->line,
				    ALGA_KUBECONFIG_SCALAR_MAX);
		}
		n->len = e->data.scalar.length;
		n->value = malloc(n->len + 1);
		if (!n->value) {
			event_cleanse_and_delete(e);
			return -ENOMEM;
		}
		memcpy(n->value, e->data.scalar.value, n->len);
		n->value[n->len] = '\0';
		event_cleanse_and_delete(e);
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		yaml_event_type_t end = e->type == YAML_SEQUENCE_START_EVENT ? YAML_SEQUENCE_END_EVENT
									      : YAML_MAPPING_END_EVENT;

		n->type = e->type == YAML_SEQUENCE_START_EVENT ? YNODE_SEQUENCE : YNODE_MAPPING;
		event_cleanse_and_delete(e);
		if (depth >= ALGA_KUBECONFIG_DEPTH_MAX)
			return fail(ctx, -E2BIG, "line %zu: nested deeper than %u levels.", n->line,
				    ALGA_KUBECONFIG_DEPTH_MAX);
		for (;;) {
			struct ynode *child = NULL;
			yaml_event_t ev;

			if (!yaml_parser_parse(p, &ev))
				return fail(ctx, -EBADMSG, "line %zu: %s.",
					    (size_t)p->problem_mark.line + 1,
					    p->problem ? p->problem : "invalid YAML");
			if (ev.type == end) {
				yaml_event_delete(&ev);
				break;
			}
			r = read_node(ctx, p, &ev, depth + 1, &child);
			if (r < 0)
				return r;
			r = ynode_append(n, child);
			if (r < 0) {
				ynode_free(child);
				return r;
			}
		}
		if (n->type == YNODE_MAPPING) {
			/* keys must be scalars, else lookups would silently miss */
			for (size_t i = 0; i < n->n_items; i += 2)
				if (n->items[i]->type != YNODE_SCALAR)
					return fail(ctx, -EBADMSG,
						    "line %zu: a mapping key is not a scalar.",
						    n->items[i]->line);
		}
		break;
	}
	case YAML_NO_EVENT:
	case YAML_STREAM_START_EVENT:
	case YAML_STREAM_END_EVENT:
	case YAML_DOCUMENT_START_EVENT:
	case YAML_DOCUMENT_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		event_cleanse_and_delete(e);
		return fail(ctx, -EBADMSG, "line %zu: unexpected YAML event.", n->line);
	}

	*ret = TAKE_PTR(n);
	return 0;
}

static void parser_cleanse_and_delete(yaml_parser_t *p)
{
	/* the scanner's copies of the input hold the key too */
	if (p->buffer.start)
		alga_crypto_cleanse(p->buffer.start, (size_t)(p->buffer.end - p->buffer.start));
	if (p->raw_buffer.start)
		alga_crypto_cleanse(p->raw_buffer.start,
				    (size_t)(p->raw_buffer.end - p->raw_buffer.start));
	yaml_parser_delete(p);
}

/* the one document of buf as a tree; an empty document is -EBADMSG */
static int read_document(struct parse_ctx *ctx, const char *buf, size_t len, struct ynode **ret)
{
	_cleanup_(ynode_freep) struct ynode *root = NULL;
	yaml_parser_t p;
	int r = 0;

	if (!yaml_parser_initialize(&p))
		return -ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);

	for (;;) {
		yaml_event_t e;

		if (!yaml_parser_parse(&p, &e)) {
			r = fail(ctx, -EBADMSG, "line %zu: %s.", (size_t)p.problem_mark.line + 1,
				 p.problem ? p.problem : "invalid YAML");
			break;
		}
		if (e.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&e);
			break;
		}
		if (e.type == YAML_STREAM_START_EVENT || e.type == YAML_DOCUMENT_START_EVENT ||
		    e.type == YAML_DOCUMENT_END_EVENT) {
			yaml_event_delete(&e);
			continue;
		}
		if (root) {
			event_cleanse_and_delete(&e);
			r = fail(ctx, -EBADMSG, "more than one YAML document.");
			break;
		}
		r = read_node(ctx, &p, &e, 0, &root);
		if (r < 0)
			break;
	}
	parser_cleanse_and_delete(&p);
	if (r < 0)
		return r;

	if (!root || root->type != YNODE_MAPPING)
		return fail(ctx, -EBADMSG, "the document is not a mapping.");

	*ret = TAKE_PTR(root);
	return 0;
}

static struct ynode *map_get(const struct ynode *map, const char *key)
{
	if (!map || map->type != YNODE_MAPPING)
		return NULL;
	for (size_t i = 0; i + 1 < map->n_items; i += 2)
		if (streq(map->items[i]->value, key))
			return map->items[i + 1];
	return NULL;
}

/* a YAML null ("", "~", "null") reads as absent, as kubectl does */
static bool is_null(const struct ynode *n)
{
	return !n || (n->type == YNODE_SCALAR &&
		      (n->len == 0 || streq(n->value, "~") || streq(n->value, "null") ||
		       streq(n->value, "Null") || streq(n->value, "NULL")));
}

/* the scalar at map.key: 1 found, 0 absent, -EBADMSG not a scalar */
static int get_scalar(struct parse_ctx *ctx, const struct ynode *map, const char *key,
		      const char *where, const struct ynode **ret)
{
	const struct ynode *v = map_get(map, key);

	if (is_null(v))
		return 0;
	if (v->type != YNODE_SCALAR)
		return fail(ctx, -EBADMSG, "field '%s%s' must be a string.", where, key);
	*ret = v;
	return 1;
}

static int get_bool(struct parse_ctx *ctx, const struct ynode *map, const char *key,
		    const char *where, bool *ret)
{
	const struct ynode *v;
	int r;

	r = get_scalar(ctx, map, key, where, &v);
	if (r <= 0) {
		if (r == 0)
			*ret = false;
		return r;
	}
	if (streq(v->value, "true") || streq(v->value, "True") || streq(v->value, "TRUE"))
		*ret = true;
	else if (streq(v->value, "false") || streq(v->value, "False") || streq(v->value, "FALSE"))
		*ret = false;
	else
		return fail(ctx, -EBADMSG, "field '%s%s' must be true or false.", where, key);
	return 1;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* standard base64 with padding; white space (folded YAML) is skipped */
static int base64_decode(const char *s, size_t len, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *out = NULL;
	unsigned acc = 0, bits = 0, pad = 0;
	size_t n = 0;

	out = malloc(len / 4 * 3 + 4);
	if (!out)
		return -ENOMEM;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int v;

		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0)
			goto bad;
		v = b64_value(c);
		if (v < 0)
			goto bad;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	/* leftover bits must be zero padding, and '=' must fill the quantum */
	if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0 || bits / 2 != pad)
		goto bad;
	if (n == 0)
		goto bad;

	out[n] = '\0';
	*ret_len = n;
	*ret = TAKE_PTR(out);
	return 0;
bad:
	alga_crypto_cleanse(out, len / 4 * 3 + 4);
	return -EBADMSG;
}

static void cleanse_free(char *p, size_t n)
{
	if (!p)
		return;
	alga_crypto_cleanse(p, n);
	free(p);
}

/* directory of path with a trailing slash, "" for none */
static int dir_of(const char *path, char **ret)
{
	const char *slash = path ? strrchr(path, '/') : NULL;
	char *d;

	if (!slash)
		d = strdup("");
	else
		d = strndup(path, (size_t)(slash - path + 1));
	if (!d)
		return -ENOMEM;
	*ret = d;
	return 0;
}

static int read_ref_file(struct parse_ctx *ctx, const char *base_dir, const char *file,
			 const char *field, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *full = NULL;
	char *data = NULL;
	size_t n = 0;
	int r;

	if (file[0] == '/')
		full = strdup(file);
	else if (asprintf(&full, "%s%s", base_dir, file) < 0)
		full = NULL;
	if (!full)
		return -ENOMEM;

	r = alga_fs_read_file(AT_FDCWD, full, max, &data, &n, NULL);
	if (r == -ENOMEM)
		return r;
	if (r == -E2BIG)
		return fail(ctx, r, "file '%s' named by '%s' is over %zu bytes.", full, field, max);
	if (r < 0)
		return fail(ctx, r, "cannot read file '%s' named by '%s': %s.", full, field,
			    strerror(-r));
	if (n == 0) {
		free(data);
		return fail(ctx, -EBADMSG, "file '%s' named by '%s' is empty.", full, field);
	}
	*ret = data;
	*ret_len = n;
	return 0;
}

/*
 * One credential that may come inline as base64 (<name>-data) or from a
 * file (<name>). Both at once is refused: kubectl's "-data wins" hides a
 * stale file. Returns 1 found, 0 neither.
 */
static int get_blob(struct parse_ctx *ctx, const struct ynode *map, const char *name,
		    const char *where, const char *base_dir, unsigned flags, char **ret,
		    size_t *ret_len)
{
	_cleanup_free_ char *data_key = NULL;
	const struct ynode *inline_v = NULL, *file_v = NULL;
	int r, rf;

	if (asprintf(&data_key, "%s-data", name) < 0)
		return -ENOMEM;

	r = get_scalar(ctx, map, data_key, where, &inline_v);
	if (r < 0)
		return r;
	rf = get_scalar(ctx, map, name, where, &file_v);
	if (rf < 0)
		return rf;
	if (r > 0 && rf > 0)
		return fail(ctx, -EBADMSG, "fields '%s%s' and '%s%s' are both set; use one.", where,
			    name, where, data_key);
	if (r > 0) {
		r = base64_decode(inline_v->value, inline_v->len, ret, ret_len);
		if (r == -EBADMSG)
			return fail(ctx, r, "field '%s%s' is not valid base64.", where, data_key);
		if (r < 0)
			return r;
		return 1;
	}
	if (rf > 0) {
		_cleanup_free_ char *field = NULL;

		if (flags & ALGA_KUBECONFIG_NO_FILES)
			return fail(ctx, -EPERM, "field '%s%s' names a file, which is not allowed here.",
				    where, name);
		if (asprintf(&field, "%s%s", where, name) < 0)
			return -ENOMEM;
		r = read_ref_file(ctx, base_dir, file_v->value, field, ALGA_KUBECONFIG_FILE_MAX, ret,
				  ret_len);
		if (r < 0)
			return r;
		return 1;
	}
	return 0;
}

/*
 * The entry named name in the list key ("clusters") whose elements are
 * {name, <inner>: {...}}: returns the inner mapping. Checks every element
 * so a malformed or duplicated one is refused even when not chosen.
 */
static int find_named(struct parse_ctx *ctx, const struct ynode *root, const char *key,
		      const char *inner, const char *name, const struct ynode **ret)
{
	const struct ynode *list = map_get(root, key), *found = NULL;

	if (is_null(list))
		return 0;
	if (list->type != YNODE_SEQUENCE)
		return fail(ctx, -EBADMSG, "field '%s' must be a list.", key);
	if (list->n_items > ALGA_KUBECONFIG_NODES_MAX)
		return fail(ctx, -E2BIG, "field '%s' has too many entries.", key);

	for (size_t i = 0; i < list->n_items; i++) {
		const struct ynode *e = list->items[i], *n, *body;

		if (e->type != YNODE_MAPPING)
			return fail(ctx, -EBADMSG, "field '%s[%zu]' must be a mapping.", key, i);
		n = map_get(e, "name");
		if (is_null(n) || n->type != YNODE_SCALAR)
			return fail(ctx, -EBADMSG, "field '%s[%zu].name' is missing or not a string.",
				    key, i);
		if (n->len > ALGA_KUBECONFIG_NAME_MAX)
			return fail(ctx, -E2BIG, "field '%s[%zu].name' is longer than %u bytes.", key,
				    i, ALGA_KUBECONFIG_NAME_MAX);
		body = map_get(e, inner);
		if (!is_null(body) && body->type != YNODE_MAPPING)
			return fail(ctx, -EBADMSG, "field '%s[%s].%s' must be a mapping.", key,
				    n->value, inner);
		for (size_t j = 0; j < i; j++) {
			const struct ynode *o = map_get(list->items[j], "name");

			if (streq(o->value, n->value))
				return fail(ctx, -EBADMSG, "field '%s' has two entries named '%s'.",
					    key, n->value);
		}
		if (name && streq(n->value, name))
			found = is_null(body) ? e : body;
	}
	if (!found)
		return 0;
	*ret = found;
	return 1;
}

static int parse_cluster(struct parse_ctx *ctx, const struct ynode *cl, const char *name,
			 const char *base_dir, unsigned flags, struct alga_kubeconfig *c)
{
	_cleanup_free_ char *where = NULL;
	const struct ynode *server = NULL;
	int r;

	if (asprintf(&where, "clusters[%s].cluster.", name) < 0)
		return -ENOMEM;

	r = get_scalar(ctx, cl, "server", where, &server);
	if (r < 0)
		return r;
	if (r == 0)
		return fail(ctx, -EBADMSG, "field '%sserver' is missing.", where);
	if (server->len > ALGA_KUBECONFIG_SERVER_MAX)
		return fail(ctx, -E2BIG, "field '%sserver' is longer than %u bytes.", where,
			    ALGA_KUBECONFIG_SERVER_MAX);
	if (!str_has_prefix(server->value, "https://") || server->len <= strlen("https://"))
		return fail(ctx, -EPROTONOSUPPORT, "field '%sserver' must be an https:// URL.", where);
	for (size_t i = 0; i < server->len; i++)
		if ((unsigned char)server->value[i] <= ' ' || server->value[i] == 0x7f ||
		    server->value[i] == '?' || server->value[i] == '#')
			return fail(ctx, -EBADMSG,
				    "field '%sserver' must be a URL without spaces, query or fragment.",
				    where);
	c->server = strndup(server->value, server->len);
	if (!c->server)
		return -ENOMEM;
	while (strlen(c->server) > strlen("https://") && c->server[strlen(c->server) - 1] == '/')
		c->server[strlen(c->server) - 1] = '\0';

	r = get_bool(ctx, cl, "insecure-skip-tls-verify", where, &c->insecure_skip_tls_verify);
	if (r < 0)
		return r;
	if (c->insecure_skip_tls_verify && !(flags & ALGA_KUBECONFIG_ALLOW_INSECURE))
		return fail(ctx, -EPERM,
			    "field '%sinsecure-skip-tls-verify' is true, which is refused here.", where);

	r = get_blob(ctx, cl, "certificate-authority", where, base_dir, flags, &c->ca, &c->ca_len);
	if (r < 0)
		return r;
	return 0;
}

static int parse_user(struct parse_ctx *ctx, const struct ynode *u, const char *name,
		      const char *base_dir, unsigned flags, struct alga_kubeconfig *c)
{
	static const char *const unsupported[] = { "exec", "auth-provider", "username", "password" };
	_cleanup_free_ char *where = NULL;
	const struct ynode *token = NULL, *token_file = NULL;
	int r, rf;

	if (asprintf(&where, "users[%s].user.", name) < 0)
		return -ENOMEM;

	for (size_t i = 0; i < ELEMENTSOF(unsupported); i++)
		if (!is_null(map_get(u, unsupported[i])))
			return fail(ctx, -EOPNOTSUPP, "field '%s%s' is not supported.", where,
				    unsupported[i]);

	r = get_blob(ctx, u, "client-certificate", where, base_dir, flags, &c->cert, &c->cert_len);
	if (r < 0)
		return r;
	r = get_blob(ctx, u, "client-key", where, base_dir, flags, &c->key, &c->key_len);
	if (r < 0)
		return r;
	if (!!c->cert != !!c->key)
		return fail(ctx, -EBADMSG, "field '%s%s' is missing: a client certificate needs its key.",
			    where, c->cert ? "client-key-data" : "client-certificate-data");

	r = get_scalar(ctx, u, "token", where, &token);
	if (r < 0)
		return r;
	rf = get_scalar(ctx, u, "tokenFile", where, &token_file);
	if (rf < 0)
		return rf;
	if (r > 0 && rf > 0)
		return fail(ctx, -EBADMSG, "fields '%stoken' and '%stokenFile' are both set; use one.",
			    where, where);
	if (r > 0) {
		if (token->len > ALGA_KUBECONFIG_TOKEN_MAX)
			return fail(ctx, -E2BIG, "field '%stoken' is longer than %u bytes.", where,
				    ALGA_KUBECONFIG_TOKEN_MAX);
		c->token = strndup(token->value, token->len);
		if (!c->token)
			return -ENOMEM;
	} else if (rf > 0) {
		_cleanup_free_ char *field = NULL;
		size_t n;

		if (flags & ALGA_KUBECONFIG_NO_FILES)
			return fail(ctx, -EPERM,
				    "field '%stokenFile' names a file, which is not allowed here.", where);
		if (asprintf(&field, "%stokenFile", where) < 0)
			return -ENOMEM;
		r = read_ref_file(ctx, base_dir, token_file->value, field, ALGA_KUBECONFIG_TOKEN_MAX,
				  &c->token, &n);
		if (r < 0)
			return r;
		/* the file usually ends in a newline, which is not part of the token */
		while (n > 0 && (c->token[n - 1] == '\n' || c->token[n - 1] == '\r'))
			c->token[--n] = '\0';
		if (n == 0)
			return fail(ctx, -EBADMSG, "field '%stokenFile' names an empty file.", where);
	}
	if (c->token) {
		/* it goes into an HTTP header: no line breaks or controls */
		for (const char *p = c->token; *p; p++)
			if ((unsigned char)*p < 0x21 || *p == 0x7f)
				return fail(ctx, -EBADMSG,
					    "field '%s%s' holds characters a bearer token may not have.",
					    where, token ? "token" : "tokenFile");
	}
	return 0;
}

int alga_kubeconfig_parse(const char *buf, size_t len, const char *path, const char *context,
			  unsigned flags, struct alga_kubeconfig **ret, char **reterr_detail)
{
	_cleanup_(alga_kubeconfig_freep) struct alga_kubeconfig *c = NULL;
	_cleanup_(ynode_freep) struct ynode *root = NULL;
	_cleanup_free_ char *base_dir = NULL, *where = NULL;
	struct parse_ctx ctx = {
		.path = path ?: "<memory>",
		.reterr_detail = reterr_detail,
	};
	const struct ynode *cur = NULL, *ctxn = NULL, *cl = NULL, *u = NULL, *cluster_name = NULL,
			   *user_name = NULL;
	const char *want;
	int r;

	if (!buf && len > 0)
		return -EINVAL;
	if (len > ALGA_KUBECONFIG_SIZE_MAX)
		return fail(&ctx, -E2BIG, "the file is over %u bytes.", ALGA_KUBECONFIG_SIZE_MAX);
	if (len > 0 && memchr(buf, '\0', len))
		return fail(&ctx, -EBADMSG, "the file contains a NUL byte.");

	r = dir_of(path, &base_dir);
	if (r < 0)
		return r;

	r = read_document(&ctx, buf, len, &root);
	if (r < 0)
		return r;

	want = context;
	if (!want) {
		r = get_scalar(&ctx, root, "current-context", "", &cur);
		if (r < 0)
			return r;
		if (r == 0)
			return fail(&ctx, -EBADMSG, "field 'current-context' is missing.");
		want = cur->value;
	}

	r = find_named(&ctx, root, "contexts", "context", want, &ctxn);
	if (r < 0)
		return r;
	if (r == 0) {
		if (context)
			return fail(&ctx, -ENOENT, "field 'contexts' has no context named '%s'.", want);
		return fail(&ctx, -EBADMSG,
			    "field 'current-context' names '%s', which is not in 'contexts'.", want);
	}

	if (asprintf(&where, "contexts[%s].context.", want) < 0)
		return -ENOMEM;
	r = get_scalar(&ctx, ctxn, "cluster", where, &cluster_name);
	if (r < 0)
		return r;
	if (r == 0)
		return fail(&ctx, -EBADMSG, "field 'contexts[%s].context.cluster' is missing.", want);
	r = get_scalar(&ctx, ctxn, "user", where, &user_name);
	if (r < 0)
		return r;

	r = find_named(&ctx, root, "clusters", "cluster", cluster_name->value, &cl);
	if (r < 0)
		return r;
	if (r == 0)
		return fail(&ctx, -EBADMSG,
			    "field 'contexts[%s].context.cluster' names '%s', which is not in 'clusters'.",
			    want, cluster_name->value);
	if (user_name) {
		r = find_named(&ctx, root, "users", "user", user_name->value, &u);
		if (r < 0)
			return r;
		if (r == 0)
			return fail(&ctx, -EBADMSG,
				    "field 'contexts[%s].context.user' names '%s', which is not in 'users'.",
				    want, user_name->value);
	} else {
		/* still check the list's shape */
		r = find_named(&ctx, root, "users", "user", NULL, &u);
		if (r < 0)
			return r;
		u = NULL;
	}

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->path = strdup(ctx.path);
	c->context = strdup(want);
	c->cluster = strdup(cluster_name->value);
	if (!c->path || !c->context || !c->cluster)
		return -ENOMEM;
	if (user_name) {
		c->user = strdup(user_name->value);
		if (!c->user)
			return -ENOMEM;
	}

	r = parse_cluster(&ctx, cl, cluster_name->value, base_dir, flags, c);
	if (r < 0)
		return r;
	if (u) {
		r = parse_user(&ctx, u, user_name->value, base_dir, flags, c);
		if (r < 0)
			return r;
	}

	*ret = TAKE_PTR(c);
	return 0;
}

int alga_kubeconfig_load(const char *path, const char *context, unsigned flags,
			 struct alga_kubeconfig **ret, char **reterr_detail)
{
	struct parse_ctx ctx = { .path = path, .reterr_detail = reterr_detail };
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (!path)
		return -EINVAL;

	r = alga_fs_read_file(AT_FDCWD, path, ALGA_KUBECONFIG_SIZE_MAX, &buf, &len, NULL);
	if (r == -ENOMEM)
		return r;
	if (r == -E2BIG)
		return fail(&ctx, r, "the file is over %u bytes.", ALGA_KUBECONFIG_SIZE_MAX);
	if (r < 0)
		return fail(&ctx, r, "cannot read it: %s.", strerror(-r));

	r = alga_kubeconfig_parse(buf, len, path, context, flags, ret, reterr_detail);
	cleanse_free(buf, len);
	return r;
}

static int dup_blob(const char *src, size_t len, char **ret)
{
	char *p;

	if (!src) {
		*ret = NULL;
		return 0;
	}
	p = malloc(len + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p, src, len);
	p[len] = '\0';
	*ret = p;
	return 0;
}

int alga_kubeconfig_copy(const struct alga_kubeconfig *c, struct alga_kubeconfig **ret)
{
	_cleanup_(alga_kubeconfig_freep) struct alga_kubeconfig *n = NULL;

	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->insecure_skip_tls_verify = c->insecure_skip_tls_verify;
	n->ca_len = c->ca_len;
	n->cert_len = c->cert_len;
	n->key_len = c->key_len;
	if (dup_blob(c->path, c->path ? strlen(c->path) : 0, &n->path) < 0 ||
	    dup_blob(c->context, c->context ? strlen(c->context) : 0, &n->context) < 0 ||
	    dup_blob(c->cluster, c->cluster ? strlen(c->cluster) : 0, &n->cluster) < 0 ||
	    dup_blob(c->user, c->user ? strlen(c->user) : 0, &n->user) < 0 ||
	    dup_blob(c->server, c->server ? strlen(c->server) : 0, &n->server) < 0 ||
	    dup_blob(c->ca, c->ca_len, &n->ca) < 0 || dup_blob(c->cert, c->cert_len, &n->cert) < 0 ||
	    dup_blob(c->key, c->key_len, &n->key) < 0 ||
	    dup_blob(c->token, c->token ? strlen(c->token) : 0, &n->token) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(n);
	return 0;
}

struct alga_kubeconfig *alga_kubeconfig_free(struct alga_kubeconfig *c)
{
	if (!c)
		return NULL;
	free(c->path);
	free(c->context);
	free(c->cluster);
	free(c->user);
	free(c->server);
	cleanse_free(c->ca, c->ca_len);
	cleanse_free(c->cert, c->cert_len);
	cleanse_free(c->key, c->key_len);
	if (c->token)
		cleanse_free(c->token, strlen(c->token));
	free(c);
	return NULL;
}
