/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The WWW-Authenticate parser, the token URL builder and the token
 * response parser (release.md §4.3 step 2) on the same bytes: no crash, no
 * leak, every refusal names what was wrong, and what parses is sane.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "fuzz.h"
#include "oci-auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(alga_oci_auth_challenges_freep) struct alga_oci_auth_challenges *c = NULL;
	_cleanup_free_ char *detail = NULL;
	_cleanup_erase_free_ char *token = NULL;
	unsigned expires = 0;
	int r;

	r = alga_oci_auth_parse((const char *)data, size, &c, &detail);
	if (r < 0) {
		if (r != -ENOMEM && (!detail || c))
			abort();
	} else {
		if (c->n == 0 || c->n > ALGA_OCI_AUTH_CHALLENGES_MAX)
			abort();
		for (size_t i = 0; i < c->n; i++) {
			const struct alga_oci_auth_challenge *ch = &c->items[i];
			_cleanup_free_ char *url = NULL, *d = NULL;

			if (isempty(ch->scheme) || ch->n_params > ALGA_OCI_AUTH_PARAMS_MAX)
				abort();
			for (const char *p = ch->scheme; *p; p++)
				if (isupper((unsigned char)*p))
					abort();
			for (size_t j = 0; j < ch->n_params; j++)
				if (alga_oci_auth_challenge_get(ch, ch->params[j].name) != ch->params[j].value)
					abort(); /* names are unique */

			r = alga_oci_auth_token_url(ch, "repository:a/b:pull", i % 2, &url, &d);
			if (r < 0 && r != -ENOMEM && (!d || url))
				abort();
			if (r == 0 && (!url || strpbrk(url, " \r\n")))
				abort();
		}
	}

	r = alga_oci_auth_parse_token((const char *)data, size, &token, &expires, NULL);
	if (r == 0) {
		size_t n = strlen(token);

		if (n == 0 || n > ALGA_OCI_AUTH_TOKEN_MAX || expires == 0 ||
		    expires > ALGA_OCI_AUTH_EXPIRES_MAX_SEC)
			abort();
		for (size_t i = 0; i < n; i++)
			if (token[i] < 0x21 || token[i] > 0x7e)
				abort();
	}
	return 0;
}
