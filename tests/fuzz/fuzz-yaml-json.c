/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * YAML ↔ JSON trees: the reader never crashes and names every refusal;
 * whatever it accepts, and every JSON document, survives a format/parse
 * round trip as an equal tree, and formatting is stable.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "yaml-json.h"

static const struct alga_json_limits limits = {
	.size_max = 64 * 1024, .depth_max = 16, .string_max = 4096, .items_max = 4096
};

static void round_trip(struct json_object *o)
{
	_cleanup_(json_object_putp) struct json_object *again = NULL;
	_cleanup_free_ char *y1 = NULL, *y2 = NULL, *detail = NULL;
	struct alga_json_limits l = limits;
	size_t n1, n2;
	int r;

	r = alga_yaml_format(o, &y1, &n1);
	/* json-c reads 1e999 as infinity, which YAML-for-JSON cannot hold */
	if (r == -ENOMEM || r == -EDOM)
		return;
	if (r < 0)
		abort(); /* valid UTF-8 always formats */
	if (strlen(y1) != n1)
		abort();
	l.size_max = n1;
	r = alga_yaml_parse(y1, n1, &l, &again, &detail);
	if (r == -ENOMEM)
		return;
	if (r < 0 || !json_object_equal(o, again))
		abort();
	if (alga_yaml_format(again, &y2, &n2) < 0)
		return;
	if (n1 != n2 || memcmp(y1, y2, n1) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(json_object_putp) struct json_object *y = NULL, *j = NULL;
	_cleanup_free_ char *detail = NULL;
	int r;

	r = alga_yaml_parse((const char *)data, size, &limits, &y, &detail);
	if (r < 0) {
		if (r != -ENOMEM && !detail)
			abort();
	} else
		round_trip(y);

	if (alga_json_parse((const char *)data, size, &limits, &j, NULL) >= 0)
		round_trip(j);
	return 0;
}
