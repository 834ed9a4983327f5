/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The manifest/index parser (release.md §4.2): no crash, no leak; every
 * refusal but -ENOMEM names its field; whatever parses has one shape and
 * the digest of its bytes. An input starting "CT:<type>\n" is served with
 * that Content-Type, otherwise with none.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(alga_oci_manifest_freep) struct alga_oci_manifest *m = NULL;
	_cleanup_free_ char *detail = NULL, *ct = NULL, *d2 = NULL;
	const char *buf = (const char *)data;
	size_t len = size;
	int r;

	if (size > ALGA_OCI_MANIFEST_MAX + 1024)
		return 0;
	if (size >= 3 && memcmp(data, "CT:", 3) == 0) {
		const char *nl = memchr(data, '\n', size);

		if (!nl)
			return 0;
		ct = strndup(buf + 3, (size_t)(nl - buf - 3));
		if (!ct)
			return 0;
		len = size - (size_t)(nl + 1 - buf);
		buf = nl + 1;
	}

	r = alga_oci_manifest_parse(buf, len, ct, &m, &detail);
	if (r < 0) {
		if (r != -ENOMEM && !detail)
			abort();
		if (r != -ENOMEM && r != -E2BIG && r != -EBADMSG && r != -EMEDIUMTYPE)
			abort();
		if (m)
			abort();
		return 0;
	}

	if (!alga_oci_digest_is_valid(m->digest) || m->size != len || memcmp(m->data, buf, len) != 0)
		abort();
	if (m->kind == ALGA_OCI_MANIFEST_INDEX) {
		if (m->n_layers || m->config.digest || m->n_manifests > ALGA_OCI_INDEX_ENTRIES_MAX)
			abort();
		for (size_t i = 0; i < m->n_manifests; i++)
			if (!alga_oci_digest_is_valid(m->manifests[i].digest) || m->manifests[i].size < 0 ||
			    !alga_oci_media_type_is_valid(m->manifests[i].media_type))
				abort();
	} else {
		if (m->n_manifests || !alga_oci_digest_is_valid(m->config.digest))
			abort();
		/* the shape checks never crash and explain themselves */
		r = alga_oci_manifest_check(m, alga_oci_want_release(), &d2);
		if (r < 0 && (r != -EMEDIUMTYPE || !d2))
			abort();
		free(d2);
		d2 = NULL;
		r = alga_oci_manifest_check(m, alga_oci_want_bundle(), &d2);
		if (r < 0 && (r != -EMEDIUMTYPE || !d2))
			abort();
	}
	return 0;
}
