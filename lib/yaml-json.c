/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "log.h"
#include "macro.h"
#include "yaml-json.h"

#define TAG_PREFIX "tag:yaml.org,2002:"

/* the plain words some YAML reader resolves to a bool or null (1.1 and 1.2) */
static const char *const special_words[] = {
	"y", "n", "yes", "no", "true", "false", "on", "off", "null",
};

/*
 * Whether a string may go out plain. Conservative on purpose: a first
 * character that is a letter, '_' or '/' rules out every number, timestamp,
 * indicator, '~', '=' and '<<' of YAML 1.1 and 1.2, so only the words above
 * remain. Whatever else libyaml itself cannot write plain (": ", " #",
 * leading or trailing blanks) it quotes on its own.
 */
static bool plain_is_safe(const char *s, size_t len)
{
	unsigned char c;

	if (len == 0)
		return false;
	c = (unsigned char)s[0];
	if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '/'))
		return false;
	for (size_t i = 0; i < ELEMENTSOF(special_words); i++)
		if (strlen(special_words[i]) == len && strncasecmp(s, special_words[i], len) == 0)
			return false;
	return true;
}

struct emitter {
	yaml_emitter_t e;
	unsigned depth;
};

static int emit(struct emitter *em, yaml_event_t *ev)
{
	if (!yaml_emitter_emit(&em->e, ev))
		return em->e.error == YAML_MEMORY_ERROR ? -ENOMEM : -EINVAL;
	return 0;
}

static int emit_scalar(struct emitter *em, const char *s, size_t len, yaml_scalar_style_t style,
		       bool plain_ok)
{
	yaml_event_t ev;

	/* plain_implicit 0 makes libyaml quote; quoted_implicit 1 needs no tag */
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (const yaml_char_t *)s, (int)len,
					  plain_ok, 1, style))
		return -EILSEQ; /* the only reason libyaml gives: not UTF-8 */
	return emit(em, &ev);
}

static int emit_string(struct emitter *em, const char *s, size_t len)
{
	bool safe = plain_is_safe(s, len);
	yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;

	if (len > INT32_MAX)
		return -E2BIG;
	if (memchr(s, '\n', len))
		style = YAML_LITERAL_SCALAR_STYLE; /* libyaml falls back to quotes where it must */
	else if (!safe)
		style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	return emit_scalar(em, s, len, style, safe);
}

/* a float as YAML 1.1 and 1.2 both read it: with '.', exponent signed */
static int format_double(double d, char *buf, size_t size)
{
	char *e;
	int n;

	if (!isfinite(d))
		return -EDOM;
	n = snprintf(buf, size, "%.17g", d);
	if (n < 0 || (size_t)n + 3 > size)
		return -EINVAL;
	if (strchr(buf, '.'))
		return 0;
	e = strchr(buf, 'e');
	if (e) {
		memmove(e + 2, e, strlen(e) + 1);
		e[0] = '.';
		e[1] = '0';
	} else
		strcat(buf, ".0");
	return 0;
}

static int emit_node(struct emitter *em, struct json_object *obj)
{
	char buf[64];
	yaml_event_t ev;
	int r;

	switch (json_object_get_type(obj)) {
	case json_type_null:
		return emit_scalar(em, "null", 4, YAML_PLAIN_SCALAR_STYLE, true);
	case json_type_boolean:
		return json_object_get_boolean(obj) ? emit_scalar(em, "true", 4, YAML_PLAIN_SCALAR_STYLE, true)
						    : emit_scalar(em, "false", 5, YAML_PLAIN_SCALAR_STYLE, true);
	case json_type_int: {
		const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);

		return emit_scalar(em, s, strlen(s), YAML_PLAIN_SCALAR_STYLE, true);
	}
	case json_type_double:
		r = format_double(json_object_get_double(obj), buf, sizeof(buf));
		if (r < 0)
			return r;
		return emit_scalar(em, buf, strlen(buf), YAML_PLAIN_SCALAR_STYLE, true);
	case json_type_string:
		return emit_string(em, json_object_get_string(obj),
				   (size_t)json_object_get_string_len(obj));
	case json_type_array: {
		size_t n = json_object_array_length(obj);

		if (++em->depth > ALGA_JSON_DEPTH_MAX * 4)
			return -E2BIG;
		if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
							  n == 0 ? YAML_FLOW_SEQUENCE_STYLE
								 : YAML_BLOCK_SEQUENCE_STYLE))
			return -ENOMEM;
		r = emit(em, &ev);
		for (size_t i = 0; r >= 0 && i < n; i++)
			r = emit_node(em, json_object_array_get_idx(obj, i));
		if (r < 0)
			return r;
		em->depth--;
		if (!yaml_sequence_end_event_initialize(&ev))
			return -ENOMEM;
		return emit(em, &ev);
	}
	case json_type_object: {
		bool empty = json_object_object_length(obj) == 0;

		if (++em->depth > ALGA_JSON_DEPTH_MAX * 4)
			return -E2BIG;
		if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
							 empty ? YAML_FLOW_MAPPING_STYLE
							       : YAML_BLOCK_MAPPING_STYLE))
			return -ENOMEM;
		r = emit(em, &ev);
		if (r < 0)
			return r;
		json_object_object_foreach(obj, key, val) {
			r = emit_string(em, key, strlen(key));
			if (r < 0)
				return r;
			r = emit_node(em, val);
			if (r < 0)
				return r;
		}
		em->depth--;
		if (!yaml_mapping_end_event_initialize(&ev))
			return -ENOMEM;
		return emit(em, &ev);
	}
	}
	return -EINVAL;
}

int alga_yaml_format(struct json_object *obj, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *out = NULL;
	struct emitter em = {};
	size_t out_len = 0;
	yaml_event_t ev;
	FILE *f;
	int r;

	f = open_memstream(&out, &out_len);
	if (!f)
		return -ENOMEM;
	if (!yaml_emitter_initialize(&em.e)) {
		fclose(f);
		return -ENOMEM;
	}
	yaml_emitter_set_output_file(&em.e, f);
	yaml_emitter_set_unicode(&em.e, 1);
	yaml_emitter_set_width(&em.e, -1); /* no folding: one value, one line */
	yaml_emitter_set_indent(&em.e, 2);

	r = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) ? emit(&em, &ev) : -ENOMEM;
	if (r >= 0)
		r = yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) ? emit(&em, &ev)
										    : -ENOMEM;
	if (r >= 0)
		r = emit_node(&em, obj);
	if (r >= 0)
		r = yaml_document_end_event_initialize(&ev, 1) ? emit(&em, &ev) : -ENOMEM;
	if (r >= 0)
		r = yaml_stream_end_event_initialize(&ev) ? emit(&em, &ev) : -ENOMEM;
	if (r >= 0 && !yaml_emitter_flush(&em.e))
		r = -ENOMEM;
	yaml_emitter_delete(&em.e);
	if (fclose(f) != 0 && r >= 0)
		r = -ENOMEM;
	if (r < 0)
		return r;

	if (ret_len)
		*ret_len = out_len;
	*ret = TAKE_PTR(out);
	return 0;
}

/* reading */

struct reader {
	yaml_parser_t p;
	struct alga_json_limits limits;
	size_t nodes;
	char **reterr_detail;
};

_printf_(4, 5) static int fail(struct reader *rd, int r, size_t line, const char *format, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	va_start(ap, format);
	if (vasprintf(&msg, format, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (line > 0)
		return alga_set_detail(r, rd->reterr_detail, "YAML line %zu: %s.", line,
				       msg ?: "invalid");
	return alga_set_detail(r, rd->reterr_detail, "YAML: %s.", msg ?: "invalid");
}

static bool is_one_of(const char *s, const char *const *words, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (streq(s, words[i]))
			return true;
	return false;
}

static bool all_in(const char *s, const char *set)
{
	return *s && strspn(s, set) == strlen(s);
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool is_core_float(const char *s)
{
	size_t d;

	if (*s == '-' || *s == '+')
		s++;
	d = strspn(s, "0123456789");
	s += d;
	if (*s == '.') {
		size_t f = strspn(s + 1, "0123456789");

		if (d == 0 && f == 0)
			return false;
		s += 1 + f;
	} else if (d == 0)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		if (!all_in(s, "0123456789"))
			return false;
		return true;
	}
	return *s == '\0';
}

/* a plain scalar by the YAML 1.2 core schema */
static int resolve_plain(struct reader *rd, const char *s, size_t line, struct json_object **ret)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	static const char *const trues[] = { "true", "True", "TRUE" };
	static const char *const falses[] = { "false", "False", "FALSE" };
	static const char *const nonfinite[] = { ".inf", ".Inf", ".INF", "+.inf", "+.Inf",
						 "+.INF", "-.inf", "-.Inf", "-.INF", ".nan",
						 ".NaN", ".NAN" };
	const char *digits = s + (*s == '-' || *s == '+');
	char *end;

	if (is_one_of(s, nulls, ELEMENTSOF(nulls))) {
		*ret = NULL;
		return 0;
	}
	if (is_one_of(s, trues, ELEMENTSOF(trues)) || is_one_of(s, falses, ELEMENTSOF(falses))) {
		*ret = json_object_new_boolean(s[0] == 't' || s[0] == 'T');
		return *ret ? 0 : -ENOMEM;
	}
	if (is_one_of(s, nonfinite, ELEMENTSOF(nonfinite)))
		return fail(rd, -EBADMSG, line, "'%s' has no JSON value", s);

	if ((strncmp(s, "0o", 2) == 0 && all_in(s + 2, "01234567")) ||
	    (strncmp(s, "0x", 2) == 0 && all_in(s + 2, "0123456789abcdefABCDEF"))) {
		uint64_t u;

		errno = 0;
		u = strtoull(s + 2, &end, s[1] == 'o' ? 8 : 16);
		if (errno == ERANGE || *end)
			return fail(rd, -EBADMSG, line, "'%s' is out of range", s);
		*ret = u > INT64_MAX ? json_object_new_uint64(u) : json_object_new_int64((int64_t)u);
		return *ret ? 0 : -ENOMEM;
	}
	if (all_in(digits, "0123456789")) {
		errno = 0;
		if (*s == '-') {
			long long v = strtoll(s, &end, 10);

			if (errno != ERANGE) {
				*ret = json_object_new_int64(v);
				return *ret ? 0 : -ENOMEM;
			}
		} else {
			unsigned long long u = strtoull(digits, &end, 10);

			if (errno != ERANGE) {
				*ret = u > INT64_MAX ? json_object_new_uint64(u)
						     : json_object_new_int64((int64_t)u);
				return *ret ? 0 : -ENOMEM;
			}
		}
		/* beyond 64 bits: a float, as JSON readers take it */
	}
	if (is_core_float(s)) {
		double d;

		errno = 0;
		d = strtod(s, &end);
		if (*end || !isfinite(d))
			return fail(rd, -EBADMSG, line, "'%s' has no JSON value", s);
		*ret = json_object_new_double(d);
		return *ret ? 0 : -ENOMEM;
	}
	*ret = json_object_new_string(s);
	return *ret ? 0 : -ENOMEM;
}

static int tag_check(struct reader *rd, const yaml_char_t *tag, const char *want, size_t line)
{
	const char *t = (const char *)tag;

	if (!t || streq(t, "!"))
		return 0;
	if (strncmp(t, TAG_PREFIX, strlen(TAG_PREFIX)) == 0 && streq(t + strlen(TAG_PREFIX), want))
		return 0;
	return fail(rd, -EBADMSG, line, "the tag '%s' is not supported", t);
}

static int read_node(struct reader *rd, yaml_event_t *e, unsigned depth, struct json_object **ret);

static int next_event(struct reader *rd, yaml_event_t *e)
{
	if (!yaml_parser_parse(&rd->p, e)) {
		if (rd->p.error == YAML_MEMORY_ERROR)
			return -ENOMEM;
		return fail(rd, -EBADMSG, (size_t)rd->p.problem_mark.line + 1, "%s",
			    rd->p.problem ?: "invalid YAML");
	}
	return 0;
}

static int read_collection(struct reader *rd, bool mapping, unsigned depth, size_t line,
			   struct json_object **ret)
{
	_cleanup_(json_object_putp) struct json_object *c = NULL;
	yaml_event_type_t end = mapping ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
	int r;

	if (depth >= rd->limits.depth_max)
		return fail(rd, -E2BIG, line, "nested deeper than %u levels", rd->limits.depth_max);
	c = mapping ? json_object_new_object() : json_object_new_array();
	if (!c)
		return -ENOMEM;

	for (;;) {
		_cleanup_(json_object_putp) struct json_object *val = NULL;
		_cleanup_free_ char *key = NULL;
		yaml_event_t ev;
		size_t key_line;

		r = next_event(rd, &ev);
		if (r < 0)
			return r;
		if (ev.type == end) {
			yaml_event_delete(&ev);
			break;
		}
		if (!mapping) {
			r = read_node(rd, &ev, depth + 1, &val);
			if (r < 0)
				return r;
			/* val may be NULL, JSON null, which alga_json_append() would take for ENOMEM */
			if (json_object_array_add(c, val) < 0)
				return -ENOMEM;
			TAKE_PTR(val);
			continue;
		}

		key_line = ev.start_mark.line + 1;
		if (ev.type != YAML_SCALAR_EVENT) {
			yaml_event_delete(&ev);
			return fail(rd, -EBADMSG, key_line, "a mapping key is not a scalar");
		}
		if (++rd->nodes > rd->limits.items_max) {
			yaml_event_delete(&ev);
			return fail(rd, -E2BIG, key_line, "more than %zu nodes", rd->limits.items_max);
		}
		if (ev.data.scalar.length > rd->limits.string_max ||
		    memchr(ev.data.scalar.value, '\0', ev.data.scalar.length)) {
			yaml_event_delete(&ev);
			return fail(rd, -EBADMSG, key_line, "a key is longer than %zu bytes or holds NUL",
				    rd->limits.string_max);
		}
		r = tag_check(rd, ev.data.scalar.tag, "str", key_line);
		if (r >= 0) {
			key = strndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
			if (!key)
				r = -ENOMEM;
		}
		yaml_event_delete(&ev);
		if (r < 0)
			return r;
		if (json_object_object_get_ex(c, key, NULL))
			return fail(rd, -EBADMSG, key_line, "the key '%s' is repeated", key);

		r = next_event(rd, &ev);
		if (r < 0)
			return r;
		r = read_node(rd, &ev, depth + 1, &val);
		if (r < 0)
			return r;
		if (json_object_object_add(c, key, val) < 0)
			return -ENOMEM;
		TAKE_PTR(val);
	}

	*ret = TAKE_PTR(c);
	return 0;
}

/* one node whose first event is e (taken) */
static int read_node(struct reader *rd, yaml_event_t *e, unsigned depth, struct json_object **ret)
{
	size_t line = e->start_mark.line + 1;
	int r;

	if (++rd->nodes > rd->limits.items_max) {
		yaml_event_delete(e);
		return fail(rd, -E2BIG, line, "more than %zu nodes", rd->limits.items_max);
	}

	switch (e->type) {
	case YAML_ALIAS_EVENT:
		yaml_event_delete(e);
		return fail(rd, -EBADMSG, line, "aliases are not allowed");
	case YAML_SCALAR_EVENT: {
		_cleanup_free_ char *s = NULL;
		bool plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !e->data.scalar.tag;

		if (e->data.scalar.length > rd->limits.string_max ||
		    e->data.scalar.length > INT32_MAX) {
			yaml_event_delete(e);
			return fail(rd, -E2BIG, line, "a value is longer than %zu bytes",
				    rd->limits.string_max);
		}
		r = tag_check(rd, e->data.scalar.tag, "str", line);
		if (r < 0) {
			yaml_event_delete(e);
			return r;
		}
		if (!plain) {
			/* a quoted "\0" is a NUL, which JSON strings may hold too */
			*ret = json_object_new_string_len((const char *)e->data.scalar.value,
							  (int)e->data.scalar.length);
			yaml_event_delete(e);
			return *ret ? 0 : -ENOMEM;
		}
		/* libyaml refuses raw NUL bytes, so a plain scalar is a C string */
		s = strndup((const char *)e->data.scalar.value, e->data.scalar.length);
		yaml_event_delete(e);
		if (!s)
			return -ENOMEM;
		return resolve_plain(rd, s, line, ret);
	}
	case YAML_SEQUENCE_START_EVENT:
		r = tag_check(rd, e->data.sequence_start.tag, "seq", line);
		yaml_event_delete(e);
		if (r < 0)
			return r;
		return read_collection(rd, false, depth, line, ret);
	case YAML_MAPPING_START_EVENT:
		r = tag_check(rd, e->data.mapping_start.tag, "map", line);
		yaml_event_delete(e);
		if (r < 0)
			return r;
		return read_collection(rd, true, depth, line, ret);
	case YAML_NO_EVENT:
	case YAML_STREAM_START_EVENT:
	case YAML_STREAM_END_EVENT:
	case YAML_DOCUMENT_START_EVENT:
	case YAML_DOCUMENT_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		break;
	}
	yaml_event_delete(e);
	return fail(rd, -EBADMSG, line, "unexpected YAML event");
}

int alga_yaml_parse(const char *buf, size_t len, const struct alga_json_limits *limits,
		    struct json_object **ret, char **reterr_detail)
{
	_cleanup_(json_object_putp) struct json_object *root = NULL;
	struct reader rd = {
		.limits = limits ? *limits : ALGA_JSON_LIMITS_DEFAULT,
		.reterr_detail = reterr_detail,
	};
	bool have_doc = false;
	int r = 0;

	if (len > rd.limits.size_max)
		return fail(&rd, -E2BIG, 0, "the document is larger than %zu bytes",
			    rd.limits.size_max);
	if (!yaml_parser_initialize(&rd.p))
		return -ENOMEM;
	yaml_parser_set_input_string(&rd.p, (const unsigned char *)buf, len);

	for (;;) {
		yaml_event_t e;

		r = next_event(&rd, &e);
		if (r < 0)
			break;
		if (e.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&e);
			break;
		}
		if (e.type == YAML_STREAM_START_EVENT || e.type == YAML_DOCUMENT_END_EVENT) {
			yaml_event_delete(&e);
			continue;
		}
		if (e.type == YAML_DOCUMENT_START_EVENT) {
			size_t line = e.start_mark.line + 1;

			yaml_event_delete(&e);
			if (have_doc) {
				r = fail(&rd, -EBADMSG, line, "more than one document");
				break;
			}
			have_doc = true;
			continue;
		}
		r = read_node(&rd, &e, 0, &root);
		if (r < 0)
			break;
	}
	yaml_parser_delete(&rd.p);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(root);
	return 0;
}
