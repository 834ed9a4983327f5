/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The bounded JSON parser: no crash, no leak, and whatever it accepts
 * survives a format/parse round trip with the same serialisation.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL, *again = NULL;
	_cleanup_free_ char *detail = NULL, *s1 = NULL, *s2 = NULL;
	struct alga_json_limits l = {
		.size_max = 64 * 1024, .depth_max = 16, .string_max = 4096, .items_max = 4096
	};
	const char *str;
	int64_t i;
	bool b;
	int r;

	r = alga_json_parse((const char *)data, size, &l, &o, &detail);
	if (r < 0) {
		/* every refusal but ENOMEM names what was wrong */
		if (r != -ENOMEM && !detail)
			abort();
		return 0;
	}

	/* the getters never crash on any shape */
	(void)alga_json_get_string(o, "a.b.c", ALGA_JSON_OPTIONAL, &str, NULL);
	(void)alga_json_get_int64(o, "version", ALGA_JSON_OPTIONAL, 0, 10, &i, NULL);
	(void)alga_json_get_bool(o, "ok", ALGA_JSON_OPTIONAL, &b, NULL);

	if (!o)
		return 0;
	if (alga_json_format(o, 0, &s1) < 0)
		return 0;
	/* a round trip may only grow by escapes; allow it */
	l.size_max = strlen(s1);
	l.string_max = l.size_max;
	r = alga_json_parse(s1, strlen(s1), &l, &again, NULL);
	if (r < 0)
		abort();
	if (alga_json_format(again, 0, &s2) < 0)
		return 0;
	if (strcmp(s1, s2) != 0)
		abort();
	return 0;
}
