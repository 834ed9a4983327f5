/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The release parser (R1-R15): no crash or leak; every refusal but ENOMEM
 * names its field; whatever it accepts normalizes to a document that
 * parses again to the same normal form,.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "json.h"
#include "release.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(alga_release_freep) struct alga_release *rel = NULL, *again = NULL;
	_cleanup_(json_object_putp) struct json_object *n1 = NULL, *n2 = NULL;
	_cleanup_free_ char *detail = NULL;
	struct alga_release_check check = { .channel = "stable", .host_version = "0.1.0" };
	const char *s1;
	int r;

	r = alga_release_parse((const char *)data, size, &check, &rel, &detail);
	if (r < 0) {
		if (r != -ENOMEM && !detail)
			abort();
		if (r != -EBADMSG && r != -E2BIG && r != -ENOMEM)
			abort();
		return 0;
	}
	if (alga_release_to_json(rel, &n1) < 0)
		return 0;
	s1 = json_object_to_json_string_ext(n1, JSON_C_TO_STRING_PLAIN);
	if (alga_release_parse(s1, strlen(s1), &check, &again, NULL) < 0)
		abort();
	if (alga_release_to_json(again, &n2) < 0)
		return 0;
	if (strcmp(s1, json_object_to_json_string_ext(n2, JSON_C_TO_STRING_PLAIN)) != 0)
		abort();
	return 0;
}
