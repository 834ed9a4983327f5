/* SPDX-License-Identifier: AGPL-3.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "macro.h"

/* defaults for documents from outside; callers may tighten them */
#define ALGA_JSON_SIZE_MAX (1024u * 1024u)
#define ALGA_JSON_DEPTH_MAX 32u
#define ALGA_JSON_STRING_MAX (256u * 1024u)
#define ALGA_JSON_ITEMS_MAX 65536u
/* dotted field paths ("images.algaCore") handed to the getters */
#define ALGA_JSON_PATH_MAX 256u

struct alga_json_limits {
	size_t size_max;   /* bytes of the whole document */
	unsigned depth_max; /* nesting of arrays and objects */
	size_t string_max; /* bytes of one string or key */
	size_t items_max;  /* members and elements, counted over the document */
};

#define ALGA_JSON_LIMITS_DEFAULT                                                  \
	((struct alga_json_limits){ .size_max = ALGA_JSON_SIZE_MAX,                \
				    .depth_max = ALGA_JSON_DEPTH_MAX,              \
				    .string_max = ALGA_JSON_STRING_MAX,            \
				    .items_max = ALGA_JSON_ITEMS_MAX })

static inline void json_object_putp(struct json_object **p)
{
	if (*p)
		json_object_put(*p);
}

/*
 * Parses one JSON document of len bytes (strict RFC 8259: no comments,
 * single quotes or trailing garbage beyond white space; no NUL bytes).
 * limits NULL means ALGA_JSON_LIMITS_DEFAULT. On success *ret owns the
 * tree. -E2BIG: over a limit; -EBADMSG: not JSON. Both fill
 * *reterr_detail (optional, caller frees) with one sentence.
 */
int alga_json_parse(const char *buf, size_t len, const struct alga_json_limits *limits,
		    struct json_object **ret, char **reterr_detail);

/*
 * Reads fd to its end (at most limits->size_max bytes, else -E2BIG without
 * reading further) and parses it as alga_json_parse() does.
 */
int alga_json_parse_fd(int fd, const struct alga_json_limits *limits, struct json_object **ret,
		       char **reterr_detail);

/* how a getter treats an absent field */
enum alga_json_presence {
	ALGA_JSON_REQUIRED,
	ALGA_JSON_OPTIONAL,
	_ALGA_JSON_PRESENCE_MAX,
};

/*
 * Typed getters. field is a dotted path of object keys ("config.digest").
 * Return 1 with *ret set when present with the right type, 0 when absent
 * (or null) and optional (*ret untouched), -EBADMSG when absent and
 * required or of the wrong type, filling *reterr_detail with a sentence
 * naming the field and the type expected. Strings and objects stay owned
 * by obj.
 */
int alga_json_get_string(struct json_object *obj, const char *field, enum alga_json_presence p,
			 const char **ret, char **reterr_detail);
int alga_json_get_bool(struct json_object *obj, const char *field, enum alga_json_presence p,
		       bool *ret, char **reterr_detail);
/* integers only (no fraction, no exponent), within [min, max] */
int alga_json_get_int64(struct json_object *obj, const char *field, enum alga_json_presence p,
			int64_t min, int64_t max, int64_t *ret, char **reterr_detail);
int alga_json_get_object(struct json_object *obj, const char *field, enum alga_json_presence p,
			 struct json_object **ret, char **reterr_detail);
int alga_json_get_array(struct json_object *obj, const char *field, enum alga_json_presence p,
			struct json_object **ret, char **reterr_detail);

/* how alga_json_format() lays a document out */
enum alga_json_format_flags {
	ALGA_JSON_FORMAT_COMPACT = 0,
	ALGA_JSON_FORMAT_PRETTY = 1 << 0,
	ALGA_JSON_FORMAT_NEWLINE = 1 << 1,
};

/*
 * Serialises obj (object keys in insertion order, "/" unescaped) into a new
 * string in *ret. Returns 0 or -ENOMEM.
 */
int alga_json_format(struct json_object *obj, unsigned flags, char **ret);

/* prints obj and a newline to f: pretty on a tty, compact otherwise */
int alga_json_print(struct json_object *obj, FILE *f);

/*
 * Adds key=val to obj, taking val; on failure val is put and -ENOMEM
 * returned, so callers may chain json_object_new_*() calls directly.
 */
int alga_json_add(struct json_object *obj, const char *key, struct json_object *val);
/* appends val to the array arr, taking val as alga_json_add() does */
int alga_json_append(struct json_object *arr, struct json_object *val);
