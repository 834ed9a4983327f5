/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The response header line splitter of lib/http, one line per input line,
 * and the status mapping: no crash, no leak; a header it accepts has a
 * token name and a value without control bytes or surrounding blanks.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http.h"

static bool is_tchar(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		_cleanup_free_ char *name = NULL, *value = NULL;
		int r;

		r = alga_http_header_line_parse(p, len, &name, &value);
		if (r == 1) {
			size_t vl = strlen(value);

			if (!name[0])
				abort();
			for (const char *q = name; *q; q++)
				if (!is_tchar(*q))
					abort();
			for (const char *q = value; *q; q++)
				if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f)
					abort();
			if (vl && (value[0] == ' ' || value[0] == '\t' || value[vl - 1] == ' ' ||
				   value[vl - 1] == '\t'))
				abort();
		} else if (r == 0) {
			if (name || value)
				abort();
		} else if (r != -EBADMSG && r != -E2BIG && r != -ENOMEM)
			abort();
		p += len;
	}

	if (size >= 2) {
		long status = (long)data[0] * 4 + data[1] % 4;
		int r = alga_http_status_to_errno(status);

		if ((status >= 200 && status < 300) != (r == 0))
			abort();
		(void)alga_http_errno_to_class(r);
	}
	return 0;
}
