/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "release-values.h"
#include "log.h"

struct frame {
	bool is_map;
	bool want_key; /* maps: the next node is a key */
	char *path;    /* dotted path of this mapping; "" is the root; NULL untracked */
	char *key;     /* the current key when it is a scalar */
};

struct out_buf {
	char *data;
	size_t len, cap;
	bool over;
};

struct patcher {
	yaml_parser_t parser;
	yaml_emitter_t emitter;
	bool emitting;
	struct out_buf out;
	struct frame stack[ALGA_RELEASE_VALUES_DEPTH_MAX];
	size_t depth;
	const struct alga_release_values_override *ov;
	bool done[ALGA_RELEASE_VALUES_OVERRIDES_MAX];
	size_t n_ov;
	size_t n_docs, n_events;
	char **reterr_detail;
};

static int write_handler(void *data, unsigned char *buffer, size_t size)
{
	struct out_buf *b = data;

	if (b->len + size > ALGA_RELEASE_VALUES_OUTPUT_MAX) {
		b->over = true;
		return 0;
	}
	if (b->len + size + 1 > b->cap) {
		size_t cap = MAX(b->cap * 2, b->len + size + 1);
		char *p;

		cap = MIN(cap, (size_t)ALGA_RELEASE_VALUES_OUTPUT_MAX + 1);
		p = realloc(b->data, cap);
		if (!p)
			return 0;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, buffer, size);
	b->len += size;
	b->data[b->len] = '\0';
	return 1;
}

/*
 * The non-specific tag "!" survives no round trip through libyaml: it is
 * emitted as "!<%21>", which reads back as another tag (fuzz-release-values).
 * It only says "a string" for a scalar and nothing for a collection, so
 * the scalar becomes a quoted untagged one and a collection loses it.
 * Rendering the rendered text must change nothing (fuzz-release-values).
 */
static void drop_non_specific_tag(yaml_event_t *ev)
{
	yaml_char_t **tag = NULL;

	if (ev->type == YAML_SCALAR_EVENT)
		tag = &ev->data.scalar.tag;
	else if (ev->type == YAML_SEQUENCE_START_EVENT)
		tag = &ev->data.sequence_start.tag;
	else if (ev->type == YAML_MAPPING_START_EVENT)
		tag = &ev->data.mapping_start.tag;
	/*
	 * A plain scalar the emitter cannot write plain (empty inside a flow
	 * collection, a key holding ": ") is quoted, and without
	 * quoted_implicit libyaml adds "! " to keep it "plain", which reads
	 * back as another event. A scalar that needs quoting is a string
	 * anyway, so allowing the quoted form untagged keeps the text stable;
	 * scalars that can stay plain do.
	 */
	if (ev->type == YAML_SCALAR_EVENT && !ev->data.scalar.tag && ev->data.scalar.plain_implicit)
		ev->data.scalar.quoted_implicit = 1;

	if (!tag || !*tag || strcmp((const char *)*tag, "!") != 0)
		return;

	/* libyaml allocates event strings with malloc() */
	free(*tag);
	*tag = NULL;
	if (ev->type == YAML_SCALAR_EVENT) {
		ev->data.scalar.plain_implicit = 0;
		ev->data.scalar.quoted_implicit = 1;
		if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ||
		    ev->data.scalar.style == YAML_ANY_SCALAR_STYLE)
			ev->data.scalar.style = YAML_SINGLE_QUOTED_SCALAR_STYLE;
	} else if (ev->type == YAML_SEQUENCE_START_EVENT)
		ev->data.sequence_start.implicit = 1;
	else
		ev->data.mapping_start.implicit = 1;
}

/* hands ev to the emitter, which owns it from here on, or deletes it */
static int emit(struct patcher *p, yaml_event_t *ev)
{
	if (!p->emitting) {
		yaml_event_delete(ev);
		return 0;
	}
	drop_non_specific_tag(ev);
	if (!yaml_emitter_emit(&p->emitter, ev)) {
		if (p->out.over)
			return alga_set_detail(-E2BIG, p->reterr_detail,
				    "Rendered values are over the limit of %u bytes.",
				    ALGA_RELEASE_VALUES_OUTPUT_MAX);
		if (p->emitter.error == YAML_MEMORY_ERROR || !p->out.data)
			return -ENOMEM;
		return alga_set_detail(-EBADMSG, p->reterr_detail, "Cannot emit the values: %s.",
			    strna(p->emitter.problem));
	}
	return 0;
}

static int emit_scalar(struct patcher *p, const char *value, bool quoted)
{
	yaml_event_t ev;

	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)value,
					  (int)strlen(value), !quoted, quoted,
					  quoted ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
						 : YAML_ANY_SCALAR_STYLE))
		return -ENOMEM;
	return emit(p, &ev);
}

static char *join_path(const char *parent, const char *key)
{
	char *s;

	if (!parent || !key)
		return NULL;
	if (!*parent)
		return strdup(key);
	if (asprintf(&s, "%s.%s", parent, key) < 0)
		return NULL;
	return s;
}

/* is path a proper prefix (a parent mapping) of target? */
static bool is_parent_of(const char *path, const char *target)
{
	size_t n = strlen(path);

	if (n == 0)
		return true;
	return strncmp(path, target, n) == 0 && target[n] == '.';
}

/* the override whose target is path, or whose target lies beneath path */
static int find_target(struct patcher *p, const char *path, bool *ret_exact)
{
	if (!path)
		return -1;
	for (size_t i = 0; i < p->n_ov; i++) {
		if (streq(p->ov[i].path, path)) {
			*ret_exact = true;
			return (int)i;
		}
		if (*path && is_parent_of(path, p->ov[i].path)) {
			*ret_exact = false;
			return (int)i;
		}
	}
	return -1;
}

/* a node finished in the frame on top of the stack */
static void complete_node(struct patcher *p)
{
	struct frame *f;

	if (p->depth == 0)
		return;
	f = &p->stack[p->depth - 1];
	if (!f->is_map)
		return;
	if (!f->want_key) {
		free(f->key);
		f->key = NULL;
	}
	f->want_key = !f->want_key;
}

/* the path of a value node about to start in the top frame, NULL if untracked */
static int value_path(struct patcher *p, bool *ret_is_key, char **ret)
{
	struct frame *f;

	*ret = NULL;
	*ret_is_key = false;
	if (p->depth == 0) {
		/* the root node */
		*ret = strdup("");
		return *ret ? 0 : -ENOMEM;
	}
	f = &p->stack[p->depth - 1];
	if (f->is_map && f->want_key) {
		*ret_is_key = true;
		return 0;
	}
	if (!f->is_map || !f->path || !f->key)
		return 0;
	*ret = join_path(f->path, f->key);
	return *ret ? 0 : -ENOMEM;
}

static int push(struct patcher *p, bool is_map, char *path)
{
	if (p->depth >= ELEMENTSOF(p->stack)) {
		free(path);
		return alga_set_detail(-E2BIG, p->reterr_detail,
			    "Values document is nested deeper than %u levels.",
			    ALGA_RELEASE_VALUES_DEPTH_MAX);
	}
	p->stack[p->depth++] = (struct frame){ .is_map = is_map, .want_key = is_map, .path = path };
	return 0;
}

static void pop(struct patcher *p)
{
	struct frame *f = &p->stack[--p->depth];

	free(f->path);
	free(f->key);
}

/*
 * Emits the undone targets beneath path (already inside its mapping), the
 * targets sharing a missing parent grouped under one new mapping.
 */
static int emit_missing(struct patcher *p, const char *path)
{
	size_t plen = strlen(path);
	int r;

	for (size_t i = 0; i < p->n_ov; i++) {
		const char *rest, *dot;
		_cleanup_free_ char *comp = NULL, *sub = NULL;
		yaml_event_t ev;

		if (p->done[i] || !is_parent_of(path, p->ov[i].path))
			continue;
		rest = p->ov[i].path + plen + (plen ? 1 : 0);
		dot = strchr(rest, '.');
		if (!dot) {
			r = emit_scalar(p, rest, false);
			if (r < 0)
				return r;
			r = emit_scalar(p, p->ov[i].value, true);
			if (r < 0)
				return r;
			p->done[i] = true;
			continue;
		}

		comp = strndup(rest, (size_t)(dot - rest));
		if (!comp)
			return -ENOMEM;
		sub = join_path(path, comp);
		if (!sub)
			return -ENOMEM;
		r = emit_scalar(p, comp, false);
		if (r < 0)
			return r;
		if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_ANY_MAPPING_STYLE))
			return -ENOMEM;
		r = emit(p, &ev);
		if (r < 0)
			return r;
		r = emit_missing(p, sub);
		if (r < 0)
			return r;
		if (!yaml_mapping_end_event_initialize(&ev))
			return -ENOMEM;
		r = emit(p, &ev);
		if (r < 0)
			return r;
	}
	return 0;
}

static int wrong_shape(struct patcher *p, int target, bool exact, const char *what)
{
	return alga_set_detail(-EBADMSG, p->reterr_detail,
		    "Values path '%s' %s; allowed: %s (line %zu).", p->ov[target].path, what,
		    exact ? "a scalar to replace" : "mappings on the way to it",
		    (size_t)p->parser.mark.line + 1);
}

static int on_node(struct patcher *p, yaml_event_t *ev)
{
	_cleanup_free_ char *path = NULL;
	bool is_key, exact = false;
	int target, r;

	r = value_path(p, &is_key, &path);
	if (r < 0)
		goto fail_delete;
	if (p->depth == 0 && ev->type != YAML_MAPPING_START_EVENT) {
		r = alga_set_detail(-EBADMSG, p->reterr_detail,
			 "Values document root is not a mapping (line %zu).",
			 (size_t)ev->start_mark.line + 1);
		goto fail_delete;
	}
	target = find_target(p, path, &exact);

	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		if (is_key) {
			struct frame *f = &p->stack[p->depth - 1];

			f->key = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
			if (!f->key) {
				r = -ENOMEM;
				goto fail_delete;
			}
		} else if (target >= 0 && exact) {
			yaml_event_t rep;
			yaml_char_t *anchor = ev->data.scalar.anchor;

			if (!yaml_scalar_event_initialize(&rep, anchor, NULL,
							  (yaml_char_t *)p->ov[target].value,
							  (int)strlen(p->ov[target].value), 0, 1,
							  YAML_DOUBLE_QUOTED_SCALAR_STYLE)) {
				r = -ENOMEM;
				goto fail_delete;
			}
			yaml_event_delete(ev);
			p->done[target] = true;
			r = emit(p, &rep);
			if (r < 0)
				return r;
			complete_node(p);
			return 0;
		} else if (target >= 0) {
			r = wrong_shape(p, target, false, "passes through a scalar");
			goto fail_delete;
		}
		r = emit(p, ev);
		if (r < 0)
			return r;
		complete_node(p);
		return 0;

	case YAML_ALIAS_EVENT:
		if (!is_key && target >= 0) {
			r = wrong_shape(p, target, exact, exact ? "holds an alias" : "passes through an alias");
			goto fail_delete;
		}
		if (is_key)
			free(TAKE_PTR(p->stack[p->depth - 1].key));
		r = emit(p, ev);
		if (r < 0)
			return r;
		complete_node(p);
		return 0;

	case YAML_SEQUENCE_START_EVENT:
		if (!is_key && target >= 0) {
			r = wrong_shape(p, target, exact,
					exact ? "holds a sequence" : "passes through a sequence");
			goto fail_delete;
		}
		r = emit(p, ev);
		if (r < 0)
			return r;
		return push(p, false, NULL);

	case YAML_MAPPING_START_EVENT:
		if (!is_key && target >= 0 && exact) {
			r = wrong_shape(p, target, true, "holds a mapping");
			goto fail_delete;
		}
		r = emit(p, ev);
		if (r < 0)
			return r;
		/* a complex key's mapping is untracked, as are its contents */
		return push(p, true, is_key ? NULL : TAKE_PTR(path));

	default:
		break;
	}
	r = emit(p, ev);
	return r;

fail_delete:
	yaml_event_delete(ev);
	return r;
}

static int on_event(struct patcher *p, yaml_event_t *ev)
{
	int r;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++p->n_docs > 1) {
			r = alga_set_detail(-EBADMSG, p->reterr_detail,
				 "Values text holds more than one YAML document (line %zu); allowed: "
				 "one.",
				 (size_t)ev->start_mark.line + 1);
			yaml_event_delete(ev);
			return r;
		}
		return emit(p, ev);

	case YAML_MAPPING_END_EVENT:
		if (p->stack[p->depth - 1].path) {
			_cleanup_free_ char *path = strdup(p->stack[p->depth - 1].path);

			if (!path) {
				yaml_event_delete(ev);
				return -ENOMEM;
			}
			r = emit_missing(p, path);
			if (r < 0) {
				yaml_event_delete(ev);
				return r;
			}
		}
		r = emit(p, ev);
		if (r < 0)
			return r;
		pop(p);
		complete_node(p);
		return 0;

	case YAML_SEQUENCE_END_EVENT:
		r = emit(p, ev);
		if (r < 0)
			return r;
		pop(p);
		complete_node(p);
		return 0;

	case YAML_SCALAR_EVENT:
	case YAML_ALIAS_EVENT:
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		return on_node(p, ev);

	case YAML_NO_EVENT:
	case YAML_STREAM_START_EVENT:
	case YAML_STREAM_END_EVENT:
	case YAML_DOCUMENT_END_EVENT:
		break;
	}
	return emit(p, ev);
}

static int run(struct patcher *p)
{
	for (;;) {
		yaml_event_t ev;
		bool end;
		int r;

		if (!yaml_parser_parse(&p->parser, &ev)) {
			if (p->parser.error == YAML_MEMORY_ERROR)
				return -ENOMEM;
			return alga_set_detail(-EBADMSG, p->reterr_detail,
				    "Values text is not valid YAML at line %zu: %s.",
				    (size_t)p->parser.problem_mark.line + 1, strna(p->parser.problem));
		}
		if (++p->n_events > ALGA_RELEASE_VALUES_EVENTS_MAX) {
			yaml_event_delete(&ev);
			return alga_set_detail(-E2BIG, p->reterr_detail,
				    "Values text has more than %u YAML events.",
				    ALGA_RELEASE_VALUES_EVENTS_MAX);
		}
		end = ev.type == YAML_STREAM_END_EVENT;
		r = on_event(p, &ev);
		if (r < 0)
			return r;
		if (end)
			break;
	}
	if (p->n_docs == 0)
		return alga_set_detail(-EBADMSG, p->reterr_detail,
			    "Values text holds no YAML document; allowed: one mapping.");
	return 0;
}

static void patcher_done(struct patcher *p)
{
	while (p->depth > 0)
		pop(p);
	yaml_parser_delete(&p->parser);
	if (p->emitting)
		yaml_emitter_delete(&p->emitter);
	free(p->out.data);
}

static int check_overrides(const struct alga_release_values_override *ov, size_t n)
{
	if (n > ALGA_RELEASE_VALUES_OVERRIDES_MAX || (n > 0 && !ov))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		const char *s = ov[i].path;

		if (!s || !ov[i].value || !*s || strlen(s) >= ALGA_RELEASE_VALUES_PATH_MAX ||
		    s[0] == '.' || s[strlen(s) - 1] == '.' || strstr(s, ".."))
			return -EINVAL;
		for (size_t j = 0; j < n; j++)
			if (i != j && (streq(s, ov[j].path) || is_parent_of(s, ov[j].path)))
				return -EINVAL;
	}
	return 0;
}

static int patch(const char *text, size_t len, const struct alga_release_values_override *ov,
		 size_t n, bool emitting, char **ret, size_t *ret_len, char **reterr_detail)
{
	struct patcher p = { .ov = ov, .n_ov = n, .emitting = emitting,
			     .reterr_detail = reterr_detail };
	int r;

	if (!text && len > 0)
		return -EINVAL;
	r = check_overrides(ov, n);
	if (r < 0)
		return r;
	if (len > ALGA_RELEASE_VALUES_MAX)
		return alga_set_detail(-E2BIG, reterr_detail,
			    "Values text is %zu bytes, over the limit of %u bytes.", len,
			    ALGA_RELEASE_VALUES_MAX);

	if (!yaml_parser_initialize(&p.parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&p.parser, (const unsigned char *)(text ?: ""), len);
	if (emitting) {
		if (!yaml_emitter_initialize(&p.emitter)) {
			yaml_parser_delete(&p.parser);
			return -ENOMEM;
		}
		yaml_emitter_set_output(&p.emitter, write_handler, &p.out);
		yaml_emitter_set_unicode(&p.emitter, 1);
		/* never fold long values; the charts read them as written */
		yaml_emitter_set_width(&p.emitter, -1);
	}

	r = run(&p);
	if (r >= 0 && emitting && !yaml_emitter_flush(&p.emitter))
		r = p.out.over ? alga_set_detail(-E2BIG, reterr_detail,
				      "Rendered values are over the limit of %u bytes.",
				      ALGA_RELEASE_VALUES_OUTPUT_MAX)
			       : -ENOMEM;
	if (r >= 0 && emitting) {
		if (!p.out.data) {
			p.out.data = strdup("");
			if (!p.out.data)
				r = -ENOMEM;
		}
		if (r >= 0) {
			if (ret_len)
				*ret_len = p.out.len;
			*ret = TAKE_PTR(p.out.data);
		}
	}
	patcher_done(&p);
	return r;
}

int alga_release_values_check(const char *text, size_t len, char **reterr_detail)
{
	return patch(text, len, NULL, 0, false, NULL, NULL, reterr_detail);
}

int alga_release_values_patch(const char *text, size_t len,
			      const struct alga_release_values_override *overrides, size_t n,
			      char **ret, size_t *ret_len, char **reterr_detail)
{
	if (!ret)
		return -EINVAL;
	return patch(text, len, overrides, n, true, ret, ret_len, reterr_detail);
}

/* splits an app hostname or URL into the URL to use and its host */
static int split_app_url(const char *in, char **ret_url, char **ret_host)
{
	_cleanup_free_ char *url = NULL, *host = NULL;
	const char *h, *end;

	if (isempty(in) || strlen(in) > 2048)
		return -EINVAL;
	for (const char *c = in; *c; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
			return -EINVAL;

	if (str_has_prefix(in, "https://") || str_has_prefix(in, "http://"))
		url = strdup(in);
	else if (strstr(in, "://"))
		return -EINVAL;
	else if (asprintf(&url, "https://%s", in) < 0)
		url = NULL;
	if (!url)
		return -ENOMEM;

	h = strstr(url, "://") + 3;
	if (*h == '[') {
		end = strchr(h, ']');
		if (!end)
			return -EINVAL;
		end++;
	} else
		end = h + strcspn(h, ":/?#");
	if (end == h || memchr(h, '@', strcspn(h, "/?#")))
		return -EINVAL;
	for (const char *c = h; c < end; c++)
		if (!(*c >= 'a' && *c <= 'z') && !(*c >= 'A' && *c <= 'Z') && !(*c >= '0' && *c <= '9') &&
		    !strchr(".-[]:", *c))
			return -EINVAL;
	if (*end && !strchr(":/?#", *end))
		return -EINVAL;
	host = strndup(h, (size_t)(end - h));
	if (!host)
		return -ENOMEM;

	*ret_url = TAKE_PTR(url);
	*ret_host = TAKE_PTR(host);
	return 0;
}

int alga_release_render_values(const struct alga_release *r,
			       const struct alga_release_values_input *input,
			       struct alga_release_values **ret, char **reterr_detail)
{
	_cleanup_(alga_release_values_freep) struct alga_release_values *v = NULL;
	_cleanup_free_ char *url = NULL, *host = NULL;
	static const enum alga_release_image worker_image[_ALGA_RELEASE_COMPONENT_MAX] = {
		[ALGA_RELEASE_COMPONENT_WORKFLOW_WORKER] = ALGA_RELEASE_IMAGE_WORKFLOW_WORKER,
		[ALGA_RELEASE_COMPONENT_EMAIL_SERVICE] = ALGA_RELEASE_IMAGE_EMAIL_SERVICE,
		[ALGA_RELEASE_COMPONENT_TEMPORAL_WORKER] = ALGA_RELEASE_IMAGE_TEMPORAL_WORKER,
	};
	int k;

	if (!r || !ret)
		return -EINVAL;
	if (input && input->app_url) {
		k = split_app_url(input->app_url, &url, &host);
		if (k == -EINVAL)
			return alga_set_detail(-EINVAL, reterr_detail,
				    "App URL is not a host name or an http(s) URL.");
		if (k < 0)
			return k;
	}

	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;

	for (size_t c = 0; c < _ALGA_RELEASE_COMPONENT_MAX; c++) {
		struct alga_release_values_override ov[8];
		_cleanup_free_ char *detail = NULL;
		size_t n = 0;

		switch ((enum alga_release_component)c) {
		case ALGA_RELEASE_COMPONENT_ALGA_CORE:
			/* C6: never "fresh"; on an existing volume it would reseed the database */
			ov[n++] = (struct alga_release_values_override){ "bootstrap.mode", "recover" };
			if (url) {
				ov[n++] = (struct alga_release_values_override){ "appUrl", url };
				ov[n++] = (struct alga_release_values_override){ "host", host };
				ov[n++] = (struct alga_release_values_override){ "domainSuffix", "" };
			}
			ov[n++] = (struct alga_release_values_override){
				"setup.image.tag", r->images[ALGA_RELEASE_IMAGE_ALGA_CORE]
			};
			ov[n++] = (struct alga_release_values_override){
				"server.image.tag", r->images[ALGA_RELEASE_IMAGE_ALGA_CORE]
			};
			break;
		case ALGA_RELEASE_COMPONENT_WORKFLOW_WORKER:
		case ALGA_RELEASE_COMPONENT_EMAIL_SERVICE:
		case ALGA_RELEASE_COMPONENT_TEMPORAL_WORKER:
			if (r->images[worker_image[c]])
				ov[n++] = (struct alga_release_values_override){
					"image.tag", r->images[worker_image[c]]
				};
			if (c == ALGA_RELEASE_COMPONENT_TEMPORAL_WORKER && url)
				ov[n++] = (struct alga_release_values_override){ "publicBaseUrl", url };
			break;
		case ALGA_RELEASE_COMPONENT_PGBOUNCER:
		case ALGA_RELEASE_COMPONENT_TEMPORAL:
		case _ALGA_RELEASE_COMPONENT_MAX:
			break;
		}

		if (!r->profile_values[c])
			return -EINVAL;
		if (n == 0) {
			/* nothing to change: the text as the release has it */
			v->text[c] = strndup(r->profile_values[c], r->profile_values_len[c]);
			if (!v->text[c])
				return -ENOMEM;
			v->len[c] = strlen(v->text[c]);
			continue;
		}
		k = alga_release_values_patch(r->profile_values[c], r->profile_values_len[c], ov, n,
					      &v->text[c], &v->len[c], &detail);
		if (k == -ENOMEM)
			return k;
		if (k < 0)
			return alga_set_detail(k, reterr_detail, "profileValues.%s.%s.yaml: %s",
				    alga_release_component_to_string(c), r->values_profile,
				    strna(detail));
	}

	*ret = TAKE_PTR(v);
	return 0;
}

struct alga_release_values *alga_release_values_free(struct alga_release_values *v)
{
	if (!v)
		return NULL;
	for (size_t i = 0; i < _ALGA_RELEASE_COMPONENT_MAX; i++)
		free(v->text[i]);
	free(v);
	return NULL;
}
