/* SPDX-License-Identifier: AGPL-3.0-or-later */
#pragma once

#include <stddef.h>

#include <json-c/json.h>

#include "json.h"

/*
 * JSON trees as YAML and back, through libyaml.
 *
 * alga_yaml_format() writes obj as one block-style YAML document, as
 * `kubectl get -o yaml` would: mappings in their order, empty collections
 * as {} and [], multi-line strings as literal blocks where they can be.
 * A string is written plain only when no YAML reader can take it for
 * something else: neither a YAML 1.2 core nor a YAML 1.1 resolver (PyYAML,
 * go-yaml v2) may see a null, bool, number, timestamp, merge key or value
 * indicator in it; every other string is quoted. Numbers keep their JSON
 * value (a float always has a '.'), so alga_yaml_parse() of the output
 * gives back an equal tree. -EILSEQ: a string is not valid UTF-8. *ret is
 * NUL-terminated; *ret_len (optional) is its length.
 */
int alga_yaml_format(struct json_object *obj, char **ret, size_t *ret_len);

/*
 * Parses one YAML document of len bytes into a JSON tree with the YAML 1.2
 * core schema: plain null/~/empty → null, true/false → bool, decimal,
 * 0o and 0x integers, floats, .inf/.nan are rejected (JSON has none);
 * quoted and block scalars are strings. Mapping keys are their text and
 * must be unique scalars. Aliases, tags other than the core ones and more
 * than one document are refused. limits as alga_json_parse() (NULL: the
 * defaults); items_max counts every node. An empty stream is JSON null.
 * -E2BIG: over a limit; -EBADMSG: not such YAML; both fill *reterr_detail
 * (optional, caller frees) with one sentence naming the line.
 */
int alga_yaml_parse(const char *buf, size_t len, const struct alga_json_limits *limits,
		    struct json_object **ret, char **reterr_detail);
