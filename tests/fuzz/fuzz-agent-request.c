/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The agent's request handling below libmicrohttpd: the first line is
 * "METHOD PATH", matched against the agent's route table with the query
 * cut off as lib/httpd does; the rest is the body of POST
 * /v1/support-bundles, parsed and checked with the agent's limits. No
 * crash, no leak, and a match is always consistent with the table.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "httpd.h"
#include "json.h"

static int nop(struct alga_httpd_request *req, void *userdata)
{
	return 0;
}

static const struct alga_httpd_route routes[] = {
	{ "GET", "/v1/health", nop },
	{ "POST", "/v1/support-bundle", nop },
	{ "POST", "/v1/support-bundles", nop },
	{ "GET", "/v1/support-bundles", nop },
	{ "GET", "/v1/support-bundles/", nop },
	{ "DELETE", "/v1/support-bundles/", nop },
	{}
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct alga_json_limits limits = {
		.size_max = ALGA_HTTPD_BODY_MAX, .depth_max = 2, .string_max = 256, .items_max = 16,
	};
	const char *nl = memchr(data, '\n', size);
	size_t line = nl ? (size_t)(nl - (const char *)data) : size;
	char *first, *path, method[ALGA_HTTPD_METHOD_MAX];
	const struct alga_httpd_route *route = NULL;
	char allow[128];
	int r;

	first = strndup((const char *)data, line);
	if (!first)
		return 0;
	path = strchr(first, ' ');
	if (path) {
		size_t ml = (size_t)(path - first);

		memcpy(method, first, MIN(ml, sizeof(method) - 1));
		method[MIN(ml, sizeof(method) - 1)] = '\0';
		path++;
		path[strcspn(path, "?#")] = '\0';
		r = alga_httpd_route_find(routes, method, path, &route, allow, sizeof(allow));
		if (r == 1 && (!route || strcmp(route->method, method) != 0))
			abort();
		if (r == 0 && allow[0] == '\0')
			abort();
	}
	free(first);

	if (nl && size - line - 1 <= ALGA_HTTPD_BODY_MAX) {
		struct json_object *o = NULL;
		char *detail = NULL;
		int64_t v;
		bool b;

		r = alga_json_parse(nl + 1, size - line - 1, &limits, &o, &detail);
		if (r >= 0 && json_object_is_type(o, json_type_object)) {
			free(detail);
			detail = NULL;
			(void)alga_json_get_int64(o, "journalLines", ALGA_JSON_OPTIONAL, 1, 20000, &v,
						  &detail);
			free(detail);
			detail = NULL;
			(void)alga_json_get_bool(o, "cluster", ALGA_JSON_OPTIONAL, &b, &detail);
		}
		free(detail);
		json_object_put(o);
	}
	return 0;
}
