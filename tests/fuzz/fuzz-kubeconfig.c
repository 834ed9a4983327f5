/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The kubeconfig loader: no crash, no leak, no file read (NO_FILES), and
 * every refusal but ENOMEM names the file and the field.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "kube-config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const contexts[] = { NULL, "x", "default" };
	unsigned flags = ALGA_KUBECONFIG_NO_FILES;

	if (size > 0 && (data[0] & 1))
		flags |= ALGA_KUBECONFIG_ALLOW_INSECURE;

	for (size_t i = 0; i < sizeof(contexts) / sizeof(contexts[0]); i++) {
		_cleanup_(alga_kubeconfig_freep) struct alga_kubeconfig *c = NULL, *copy = NULL;
		_cleanup_free_ char *detail = NULL;
		int r;

		r = alga_kubeconfig_parse((const char *)data, size, "fuzz", contexts[i], flags, &c,
					  &detail);
		if (r < 0) {
			if (r != -ENOMEM && (!detail || strncmp(detail, "Kubeconfig 'fuzz': ", 19) != 0))
				abort();
			if (c)
				abort();
			continue;
		}
		/* what it accepts is usable */
		if (!c->server || strncmp(c->server, "https://", 8) != 0)
			abort();
		if (!!c->cert != !!c->key)
			abort();
		if (c->insecure_skip_tls_verify && !(flags & ALGA_KUBECONFIG_ALLOW_INSECURE))
			abort();
		if (alga_kubeconfig_copy(c, &copy) == 0 && strcmp(copy->server, c->server) != 0)
			abort();
	}
	return 0;
}
