/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The values renderer (libyaml events -> emitter): no crash or leak on
 * any text; an accepted render is one mapping document that passes R10's
 * check again and holds every override.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "release-values.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct alga_release_values_override ov[] = {
		{ "bootstrap.mode", "recover" }, { "appUrl", "https://psa.example.com" },
		{ "setup.image.tag", "62cdce38" }, { "server.image.tag", "62cdce38" },
		{ "image.tag", "a2cbb43" },
	};
	_cleanup_free_ char *out = NULL, *detail = NULL, *again = NULL;
	size_t len;
	int r;

	r = alga_release_values_check((const char *)data, size, NULL);
	if (r < 0 && r != -EBADMSG && r != -E2BIG && r != -ENOMEM)
		abort();

	r = alga_release_values_patch((const char *)data, size, ov, ELEMENTSOF(ov), &out, &len,
				      &detail);
	if (r < 0) {
		if (r != -ENOMEM && !detail)
			abort();
		return 0;
	}
	if (len != strlen(out) || len > ALGA_RELEASE_VALUES_OUTPUT_MAX)
		abort();
	if (len <= ALGA_RELEASE_VALUES_MAX) {
		r = alga_release_values_check(out, len, NULL);
		if (r == -EBADMSG)
			abort();
		/* rendering the rendered text changes nothing more */
		r = alga_release_values_patch(out, len, ov, ELEMENTSOF(ov), &again, NULL, NULL);
		if (r == 0 && strcmp(out, again) != 0)
			abort();
	}
	return 0;
}
