/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The two readers of API server bodies: the Status-to-errno mapping and
 * the streaming JSON body reader the curl write callback feeds. The first
 * two bytes pick the HTTP status and the chunk size; the rest is the body.
 * Any split into chunks must accept exactly what one chunk accepts, with
 * the same document.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "json.h"
#include "kube.h"

static const long statuses[] = { 200, 201, 400, 401, 403, 404, 405, 409, 410,
				 413, 422, 429, 500, 503, 504, 302, 418, 0 };

static int stream(const uint8_t *data, size_t size, size_t chunk, size_t max, char **ret)
{
	_cleanup_(alga_kube_body_freep) struct alga_kube_body *b = NULL;
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	int r;

	r = alga_kube_body_new(max, &b);
	if (r < 0)
		return r;
	for (size_t i = 0; i < size; i += chunk) {
		r = alga_kube_body_feed(b, data + i, size - i < chunk ? size - i : chunk);
		if (r < 0)
			return r;
	}
	r = alga_kube_body_finish(b, &o);
	if (r < 0)
		return r;
	if (o && ret) {
		const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

		*ret = strdup(s ? s : "");
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *reason = NULL, *message = NULL, *one = NULL, *many = NULL;
	long status;
	size_t chunk;
	int r, r1, r2;

	if (size < 2)
		return 0;
	status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
	chunk = (size_t)data[1] % 17 + 1;
	data += 2;
	size -= 2;

	r = alga_kube_status_to_errno(status, (const char *)data, size, &reason, &message);
	if (status >= 200 && status < 300) {
		if (r != 0)
			abort();
	} else {
		if (r >= 0 || (r != -ENOMEM && !message))
			abort();
		if (message && strlen(message) > ALGA_KUBE_MESSAGE_MAX + 64)
			abort();
	}

	r1 = stream(data, size, size ? size : 1, 64 * 1024, &one);
	r2 = stream(data, size, chunk, 64 * 1024, &many);
	if (r1 == -ENOMEM || r2 == -ENOMEM)
		return 0;
	/* both refuse or both accept; which refusal comes first (a NUL seen in
	 * a whole chunk before the depth is reached) may differ */
	if ((r1 == 0) != (r2 == 0))
		abort();
	if (r1 == 0 && (!one != !many || (one && strcmp(one, many) != 0)))
		abort();
	return 0;
}
