/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "fsutil.h"
#include "json.h"
#include "log.h"

/* walks the tree once, counting items and measuring strings and keys */
static int check_tree(struct json_object *o, const struct alga_json_limits *l, size_t *items,
		      char **reterr_detail)
{
	size_t n;

	if (++*items > l->items_max) {
		alga_set_detail(0, reterr_detail, "JSON document has more than %zu items.", l->items_max);
		return -E2BIG;
	}

	switch (json_object_get_type(o)) {
	case json_type_string:
		if ((size_t)json_object_get_string_len(o) > l->string_max) {
			alga_set_detail(0, reterr_detail, "JSON string is longer than the limit of %zu bytes.",
			       l->string_max);
			return -E2BIG;
		}
		return 0;
	case json_type_object: {
		json_object_object_foreach(o, key, val)
		{
			int r;

			if (strlen(key) > l->string_max) {
				alga_set_detail(0, reterr_detail,
				       "JSON object key is longer than the limit of %zu bytes.",
				       l->string_max);
				return -E2BIG;
			}
			if (!val)
				continue;
			r = check_tree(val, l, items, reterr_detail);
			if (r < 0)
				return r;
		}
		return 0;
	}
	case json_type_array:
		n = json_object_array_length(o);
		for (size_t i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(o, i);
			int r;

			if (!e)
				continue;
			r = check_tree(e, l, items, reterr_detail);
			if (r < 0)
				return r;
		}
		return 0;
	case json_type_null:
	case json_type_boolean:
	case json_type_double:
	case json_type_int:
		return 0;
	}
	return 0;
}

static bool only_white_space(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr(" \t\r\n", p[i]))
			return false;
	return true;
}

/* length of an RFC 8259 number at p, 0 if there is none */
static size_t number_len(const char *p, size_t n)
{
	size_t i = 0;

	if (i < n && p[i] == '-')
		i++;
	if (i < n && p[i] == '0')
		i++;
	else if (i < n && p[i] >= '1' && p[i] <= '9')
		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++;
	else
		return 0;
	if (i < n && p[i] == '.') {
		size_t start = ++i;

		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++;
		if (i == start)
			return 0;
	}
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		size_t start;

		i++;
		if (i < n && (p[i] == '+' || p[i] == '-'))
			i++;
		start = i;
		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++;
		if (i == start)
			return 0;
	}
	/* "01": a number may not run into another digit */
	if (i < n && p[i] >= '0' && p[i] <= '9')
		return 0;
	return i;
}

/*
 * The length of the UTF-8 sequence at s (RFC 3629: shortest form, no
 * surrogates, nothing above U+10FFFF), or 0 when it is not one.
 */
static size_t utf8_sequence_len(const unsigned char *s, size_t len)
{
	uint32_t cp, min;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (len < n)
		return 0;
	for (size_t k = 1; k < n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * json-c, even in strict mode, takes single-quoted strings, NaN, Infinity,
 * "1.", raw control characters in strings and UTF-8 that RFC 3629 forbids
 * (overlong forms, surrogates, code points above U+10FFFF). This lexical pass rejects
 * them before json-c builds anything; json-c still checks the structure.
 */
static int check_lexical(const char *buf, size_t len, char **reterr_detail)
{
	static const char *const literals[] = { "true", "false", "null" };
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)buf[i];

		if (strchr(" \t\r\n{}[]:,", c) && c != '\0') {
			i++;
			continue;
		}
		if (c == '"') {
			size_t start = i;

			for (i++; i < len && buf[i] != '"'; i++) {
				if ((unsigned char)buf[i] < 0x20) {
					alga_set_detail(0, reterr_detail,
					       "Invalid JSON at offset %zu: control character in a string.", i);
					return -EBADMSG;
				}
				if ((unsigned char)buf[i] >= 0x80) {
					size_t n = utf8_sequence_len((const unsigned char *)buf + i, len - i);

					if (n == 0) {
						alga_set_detail(0, reterr_detail,
							"Invalid JSON at offset %zu: invalid UTF-8 in a string.", i);
						return -EBADMSG;
					}
					i += n - 1;
					continue;
				}
				if (buf[i] == '\\')
					i++;
			}
			if (i >= len) {
				alga_set_detail(0, reterr_detail,
				       "Invalid JSON at offset %zu: string not terminated.", start);
				return -EBADMSG;
			}
			i++;
			continue;
		}
		if (c == '-' || (c >= '0' && c <= '9')) {
			size_t n = number_len(buf + i, len - i);

			if (n == 0) {
				alga_set_detail(0, reterr_detail, "Invalid JSON at offset %zu: malformed number.", i);
				return -EBADMSG;
			}
			i += n;
			continue;
		}

		for (size_t l = 0; l < ELEMENTSOF(literals); l++) {
			size_t n = strlen(literals[l]);

			if (len - i >= n && memcmp(buf + i, literals[l], n) == 0) {
				i += n;
				goto next;
			}
		}
		alga_set_detail(0, reterr_detail, "Invalid JSON at offset %zu: unexpected character.", i);
		return -EBADMSG;
	next:;
	}
	return 0;
}

int alga_json_parse(const char *buf, size_t len, const struct alga_json_limits *limits,
		    struct json_object **ret, char **reterr_detail)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	struct alga_json_limits l = limits ? *limits : ALGA_JSON_LIMITS_DEFAULT;
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	size_t items = 0, end;
	int r;

	if (!buf && len > 0)
		return -EINVAL;

	if (len > l.size_max) {
		alga_set_detail(0, reterr_detail, "JSON document is %zu bytes, over the limit of %zu bytes.", len,
		       l.size_max);
		return -E2BIG;
	}
	if (len > INT32_MAX)
		return -E2BIG;
	if (len == 0 || only_white_space(buf, len)) {
		alga_set_detail(0, reterr_detail, "JSON document is empty.");
		return -EBADMSG;
	}
	if (memchr(buf, '\0', len)) {
		alga_set_detail(0, reterr_detail, "JSON document contains a NUL byte at offset %zu.",
		       (size_t)((const char *)memchr(buf, '\0', len) - buf));
		return -EBADMSG;
	}

	r = check_lexical(buf, len, reterr_detail);
	if (r < 0)
		return r;

	tok = json_tokener_new_ex((int)l.depth_max);
	if (!tok)
		return -ENOMEM;
	/* no JSON_TOKENER_VALIDATE_UTF8: check_lexical() checked every string, more strictly */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);

	o = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue) {
		/* a bare number or an unterminated document: the NUL says "end" */
		o = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		end = len;
	} else
		end = json_tokener_get_parse_end(tok);

	if (jerr != json_tokener_success) {
		if (jerr == json_tokener_error_depth) {
			alga_set_detail(0, reterr_detail, "JSON document is nested deeper than %u levels.",
			       l.depth_max);
			r = -E2BIG;
		} else {
			alga_set_detail(0, reterr_detail, "Invalid JSON at offset %zu: %s.",
			       json_tokener_get_parse_end(tok), json_tokener_error_desc(jerr));
			r = -EBADMSG;
		}
		json_tokener_free(tok);
		json_object_put(TAKE_PTR(o));
		return r;
	}
	json_tokener_free(tok);

	if (end < len && !only_white_space(buf + end, len - end)) {
		alga_set_detail(0, reterr_detail, "Invalid JSON at offset %zu: data after the document.", end);
		return -EBADMSG;
	}

	if (o) {
		r = check_tree(o, &l, &items, reterr_detail);
		if (r < 0)
			return r;
	}

	*ret = TAKE_PTR(o);
	return 0;
}

int alga_json_parse_fd(int fd, const struct alga_json_limits *limits, struct json_object **ret,
		       char **reterr_detail)
{
	struct alga_json_limits l = limits ? *limits : ALGA_JSON_LIMITS_DEFAULT;
	_cleanup_free_ char *buf = NULL;
	size_t size = 0;
	int r;

	r = alga_fs_read_fd(fd, l.size_max, &buf, &size);
	if (r == -E2BIG)
		alga_set_detail(0, reterr_detail, "JSON document is over the limit of %zu bytes.", l.size_max);
	if (r < 0)
		return r;

	return alga_json_parse(buf, size, &l, ret, reterr_detail);
}

static const char *type_name(enum json_type t)
{
	switch (t) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
		return "a number with a fraction";
	case json_type_int:
		return "an integer";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	}
	return "unknown";
}

/*
 * Finds field (a dotted path) in obj: 1 found, 0 absent, -EBADMSG when an
 * intermediate member is not an object.
 */
static int lookup(struct json_object *obj, const char *field, struct json_object **ret,
		  char **reterr_detail)
{
	char key[ALGA_JSON_PATH_MAX];
	const char *p = field;

	if (strlen(field) >= sizeof(key))
		return -EINVAL;

	for (;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		struct json_object *v;

		if (!obj || !json_object_is_type(obj, json_type_object)) {
			alga_set_detail(0, reterr_detail, "Field '%.*s' must be an object, not %s.",
			       (int)(p - field - 1), field,
			       type_name(json_object_get_type(obj)));
			return -EBADMSG;
		}

		memcpy(key, p, n);
		key[n] = '\0';
		if (!json_object_object_get_ex(obj, key, &v) || !v)
			return 0;
		if (!dot) {
			*ret = v;
			return 1;
		}
		obj = v;
		p = dot + 1;
	}
}

static int get_typed(struct json_object *obj, const char *field, enum alga_json_presence p,
		     enum json_type want, struct json_object **ret, char **reterr_detail)
{
	struct json_object *v = NULL;
	int r;

	r = lookup(obj, field, &v, reterr_detail);
	if (r < 0)
		return r;
	if (r == 0) {
		if (p == ALGA_JSON_OPTIONAL)
			return 0;
		alga_set_detail(0, reterr_detail, "Required field '%s' is missing, must be %s.", field,
		       type_name(want));
		return -EBADMSG;
	}
	if (!json_object_is_type(v, want)) {
		alga_set_detail(0, reterr_detail, "Field '%s' must be %s, not %s.", field, type_name(want),
		       type_name(json_object_get_type(v)));
		return -EBADMSG;
	}

	*ret = v;
	return 1;
}

int alga_json_get_string(struct json_object *obj, const char *field, enum alga_json_presence p,
			 const char **ret, char **reterr_detail)
{
	struct json_object *v;
	int r;

	r = get_typed(obj, field, p, json_type_string, &v, reterr_detail);
	if (r <= 0)
		return r;
	*ret = json_object_get_string(v);
	return 1;
}

int alga_json_get_bool(struct json_object *obj, const char *field, enum alga_json_presence p,
		       bool *ret, char **reterr_detail)
{
	struct json_object *v;
	int r;

	r = get_typed(obj, field, p, json_type_boolean, &v, reterr_detail);
	if (r <= 0)
		return r;
	*ret = json_object_get_boolean(v);
	return 1;
}

int alga_json_get_int64(struct json_object *obj, const char *field, enum alga_json_presence p,
			int64_t min, int64_t max, int64_t *ret, char **reterr_detail)
{
	struct json_object *v;
	int64_t i;
	int r;

	r = get_typed(obj, field, p, json_type_int, &v, reterr_detail);
	if (r <= 0)
		return r;

	errno = 0;
	i = json_object_get_int64(v);
	if (errno != 0 || i < min || i > max) {
		alga_set_detail(0, reterr_detail, "Field '%s' must be an integer from %" PRId64 " to %" PRId64 ".",
		       field, min, max);
		return -EBADMSG;
	}
	*ret = i;
	return 1;
}

int alga_json_get_object(struct json_object *obj, const char *field, enum alga_json_presence p,
			 struct json_object **ret, char **reterr_detail)
{
	return get_typed(obj, field, p, json_type_object, ret, reterr_detail);
}

int alga_json_get_array(struct json_object *obj, const char *field, enum alga_json_presence p,
			struct json_object **ret, char **reterr_detail)
{
	return get_typed(obj, field, p, json_type_array, ret, reterr_detail);
}

int alga_json_format(struct json_object *obj, unsigned flags, char **ret)
{
	int jflags = JSON_C_TO_STRING_NOSLASHESCAPE;
	const char *s;
	char *copy;

	if (flags & ALGA_JSON_FORMAT_PRETTY)
		jflags |= JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED;
	else
		jflags |= JSON_C_TO_STRING_PLAIN;

	s = json_object_to_json_string_ext(obj, jflags);
	if (!s)
		return -ENOMEM;

	if (asprintf(&copy, "%s%s", s, (flags & ALGA_JSON_FORMAT_NEWLINE) ? "\n" : "") < 0)
		return -ENOMEM;

	*ret = copy;
	return 0;
}

int alga_json_print(struct json_object *obj, FILE *f)
{
	_cleanup_free_ char *s = NULL;
	unsigned flags = ALGA_JSON_FORMAT_NEWLINE;
	int r;

	if (isatty(fileno(f)))
		flags |= ALGA_JSON_FORMAT_PRETTY;

	r = alga_json_format(obj, flags, &s);
	if (r < 0)
		return r;

	if (fputs(s, f) < 0 || fflush(f) != 0)
		return -EIO;
	return 0;
}

int alga_json_add(struct json_object *obj, const char *key, struct json_object *val)
{
	if (!val)
		return -ENOMEM;
	if (json_object_object_add(obj, key, val) < 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

int alga_json_append(struct json_object *arr, struct json_object *val)
{
	if (!val)
		return -ENOMEM;
	if (json_object_array_add(arr, val) < 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}
