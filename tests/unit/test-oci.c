/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lib/oci: parser tables, and release.md §5 T01–T27 at the library level
 * against the real fixtures (tests/fixtures/registry): one registry-up per
 * test group, skipped with the reason when docker-registry or skopeo is
 * missing. The CLI-level halves (exit codes, stdout, cache) belong to
 * alga-resolve's integration tests.
 */
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json.h"
#include "oci.h"

/* ---- references ---------------------------------------------------------------- */

#define D64 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_ref_parse_valid(void)
{
	static const struct {
		const char *in, *def;
		const char *registry, *repository, *tag, *digest;
	} cases[] = {
		{ "ghcr.io/nine-minds/alga-appliance-release:stable", NULL, "ghcr.io",
		  "nine-minds/alga-appliance-release", "stable", NULL },
		{ "oci://ghcr.io/nine-minds/charts/sebastian:0.0.1", NULL, "ghcr.io",
		  "nine-minds/charts/sebastian", "0.0.1", NULL },
		{ "127.0.0.1:5000/alga-appliance-config@" D64, NULL, "127.0.0.1:5000",
		  "alga-appliance-config", NULL, D64 },
		{ "127.0.0.1:5000/a/b:1.0.3@" D64, NULL, "127.0.0.1:5000", "a/b", "1.0.3", D64 },
		{ "localhost/x", NULL, "localhost", "x", NULL, NULL },
		{ "[::1]:5000/x:_t", NULL, "[::1]:5000", "x", "_t", NULL },
		{ "nine-minds/alga:stable", "ghcr.io", "ghcr.io", "nine-minds/alga", "stable", NULL },
		{ "alga", "ghcr.io", "ghcr.io", "alga", NULL, NULL },
		{ "r.example/a.b_c__d---e/f", NULL, "r.example", "a.b_c__d---e/f", NULL, NULL },
		{ "r.example:443/x:" "A234567890123456789012345678901234567890123456789012345678901234"
		  "5678901234567890123456789012345678901234567890123456789012345678",
		  NULL, "r.example:443", "x",
		  "A234567890123456789012345678901234567890123456789012345678901234"
		  "5678901234567890123456789012345678901234567890123456789012345678",
		  NULL },
		{ "r.example/x@sha512:" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		  NULL, "r.example", "x", NULL,
		  "sha512:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_(alga_oci_ref_freep) struct alga_oci_ref *ref = NULL;
		_cleanup_free_ char *d = NULL, *s = NULL;

		if (g_test_verbose())
			g_test_message("case %zu: %s", i, cases[i].in);
		g_assert_cmpint(alga_oci_ref_parse(cases[i].in, cases[i].def, &ref, &d), ==, 0);
		g_assert_null(d);
		g_assert_cmpstr(ref->registry, ==, cases[i].registry);
		g_assert_cmpstr(ref->repository, ==, cases[i].repository);
		g_assert_cmpstr(ref->tag, ==, cases[i].tag);
		g_assert_cmpstr(ref->digest, ==, cases[i].digest);
		g_assert_cmpint(alga_oci_ref_is_digest(ref), ==, !!cases[i].digest);
		/* oci:// is accepted, never emitted */
		g_assert_cmpint(alga_oci_ref_to_string(ref, &s), ==, 0);
		g_assert_false(g_str_has_prefix(s, "oci://"));
	}
}

static void test_ref_parse_invalid(void)
{
	static const struct {
		const char *in, *def;
		int r;
	} cases[] = {
		{ "", NULL, -EINVAL },
		{ "alga", NULL, -EINVAL },                        /* no registry and no default */
		{ "nine-minds/alga", NULL, -EINVAL },
		{ "ghcr.io/", NULL, -EINVAL },
		{ "ghcr.io/Upper", NULL, -EINVAL },
		{ "ghcr.io/a//b", NULL, -EINVAL },
		{ "ghcr.io/a/", NULL, -EINVAL },
		{ "ghcr.io/-a", NULL, -EINVAL },
		{ "ghcr.io/a-", NULL, -EINVAL },
		{ "ghcr.io/a..b", NULL, -EINVAL },
		{ "ghcr.io/a___b", NULL, -EINVAL },
		{ "ghcr.io/a:", NULL, -EINVAL },
		{ "ghcr.io/a:.tag", NULL, -EINVAL },
		{ "ghcr.io/a:t@g", NULL, -EINVAL },
		{ "ghcr.io/a:ta g", NULL, -EINVAL },
		{ "ghcr.io/a@sha256:abc", NULL, -EINVAL },
		{ "ghcr.io/a@sha256:" "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
		  NULL, -EINVAL },
		{ "ghcr.io/a@md5:0123456789abcdef0123456789abcdef", NULL, -EINVAL },
		{ "ghcr.io:0/a", NULL, -EINVAL },
		{ "ghcr.io:65536/a", NULL, -EINVAL },
		{ "ghcr.io:x/a", NULL, -EINVAL },
		{ "gh_cr.io/a", NULL, -EINVAL },
		{ "-ghcr.io/a", NULL, -EINVAL },
		{ "[::1/a", NULL, -EINVAL },
		{ "[]/a", NULL, -EINVAL },
		{ "https://ghcr.io/a", NULL, -EINVAL },
		{ "ghcr.io/a:" "A2345678901234567890123456789012345678901234567890123456789012345"
		  "6789012345678901234567890123456789012345678901234567890123456789",
		  NULL, -EINVAL }, /* 129 bytes */
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_(alga_oci_ref_freep) struct alga_oci_ref *ref = NULL;
		_cleanup_free_ char *d = NULL;

		if (g_test_verbose())
			g_test_message("case %zu: %s", i, cases[i].in);
		g_assert_cmpint(alga_oci_ref_parse(cases[i].in, cases[i].def, &ref, &d), ==,
				cases[i].r);
		g_assert_null(ref);
		g_assert_nonnull(d);
	}
}

static void test_ref_limits(void)
{
	_cleanup_(alga_oci_ref_freep) struct alga_oci_ref *ref = NULL;
	GString *s = g_string_new("r.example/");
	char *repo;

	/* repository: 255 bytes pass, 256 do not */
	while (s->len < strlen("r.example/") + ALGA_OCI_REPOSITORY_MAX)
		g_string_append_c(s, 'a');
	g_assert_cmpint(alga_oci_ref_parse(s->str, NULL, &ref, NULL), ==, 0);
	ref = alga_oci_ref_free(ref);
	g_string_append_c(s, 'a');
	g_assert_cmpint(alga_oci_ref_parse(s->str, NULL, &ref, NULL), ==, -EINVAL);
	while (s->len <= ALGA_OCI_REFERENCE_MAX)
		g_string_append_c(s, 'a');
	g_assert_cmpint(alga_oci_ref_parse(s->str, NULL, &ref, NULL), ==, -E2BIG);
	g_string_free(s, TRUE);

	repo = g_strnfill(ALGA_OCI_REPOSITORY_MAX, 'b');
	g_assert_true(alga_oci_repository_is_valid(repo));
	g_free(repo);
	g_assert_true(alga_oci_tag_is_valid("1.0.3"));
	g_assert_false(alga_oci_tag_is_valid("-x"));
	g_assert_false(alga_oci_tag_is_valid(NULL));
	g_assert_true(alga_oci_media_type_is_valid(ALGA_OCI_MT_FLUX_CONTENT));
	g_assert_false(alga_oci_media_type_is_valid("application"));
	g_assert_false(alga_oci_media_type_is_valid("a/b/c"));
	g_assert_false(alga_oci_media_type_is_valid("/b"));
}

/* ---- manifests ----------------------------------------------------------------------- */

#define CFG "{\"mediaType\":\"" ALGA_OCI_MT_RELEASE_CONFIG "\",\"digest\":\"" D64 "\",\"size\":958}"
#define EMPTY_LAYER "{\"mediaType\":\"" ALGA_OCI_MT_EMPTY "\",\"digest\":\"" D64 "\",\"size\":2}"
#define MANIFEST_MT "\"mediaType\":\"" ALGA_OCI_MT_IMAGE_MANIFEST "\""
#define INDEX_MT "\"mediaType\":\"" ALGA_OCI_MT_IMAGE_INDEX "\""
#define ART "\"artifactType\":\"" ALGA_OCI_MT_RELEASE_ARTIFACT "\""
#define ENTRY "{" MANIFEST_MT ",\"digest\":\"" D64 "\",\"size\":461," ART "}"

static void test_manifest_parse(void)
{
	static const struct {
		const char *json, *ct;
		int r;
		enum alga_oci_manifest_kind kind;
	} cases[] = {
		{ "{\"schemaVersion\":2," MANIFEST_MT "," ART ",\"config\":" CFG ",\"layers\":[" EMPTY_LAYER "]}",
		  ALGA_OCI_MT_IMAGE_MANIFEST, 0, ALGA_OCI_MANIFEST_IMAGE },
		/* Content-Type parameters and case are ignored */
		{ "{\"schemaVersion\":2," MANIFEST_MT ",\"config\":" CFG ",\"layers\":[]}",
		  "Application/Vnd.Oci.Image.Manifest.V1+json; charset=utf-8", 0, ALGA_OCI_MANIFEST_IMAGE },
		/* mediaType absent: the Content-Type decides; no Content-Type: the field does */
		{ "{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[]}", ALGA_OCI_MT_IMAGE_MANIFEST, 0,
		  ALGA_OCI_MANIFEST_IMAGE },
		{ "{\"schemaVersion\":2," INDEX_MT ",\"manifests\":[" ENTRY "]}", NULL, 0,
		  ALGA_OCI_MANIFEST_INDEX },
		{ "{\"schemaVersion\":2,\"manifests\":[]}", ALGA_OCI_MT_DOCKER_LIST, 0,
		  ALGA_OCI_MANIFEST_INDEX },
		{ "{\"schemaVersion\":2,\"mediaType\":\"" ALGA_OCI_MT_DOCKER_MANIFEST "\",\"config\":" CFG
		  ",\"layers\":[]}",
		  ALGA_OCI_MT_DOCKER_MANIFEST, 0, ALGA_OCI_MANIFEST_IMAGE },

		/* T12: mediaType != Content-Type */
		{ "{\"schemaVersion\":2," MANIFEST_MT ",\"config\":" CFG ",\"layers\":[]}",
		  ALGA_OCI_MT_IMAGE_INDEX, -EMEDIUMTYPE, 0 },
		{ "{\"schemaVersion\":2," INDEX_MT ",\"manifests\":[]}", ALGA_OCI_MT_IMAGE_MANIFEST,
		  -EMEDIUMTYPE, 0 },
		{ "{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[]}", NULL, -EMEDIUMTYPE, 0 },
		{ "{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[]}", "application/json",
		  -EMEDIUMTYPE, 0 },
		{ "{\"schemaVersion\":2,\"mediaType\":\"text/plain\",\"config\":" CFG ",\"layers\":[]}",
		  "text/plain", -EMEDIUMTYPE, 0 },
		/* Docker schema 1 */
		{ "{\"schemaVersion\":1,\"name\":\"a\",\"fsLayers\":[]}",
		  "application/vnd.docker.distribution.manifest.v1+prettyjws", -EMEDIUMTYPE, 0 },
		{ "{\"schemaVersion\":1,\"signatures\":[]}", NULL, -EMEDIUMTYPE, 0 },
		/* T12: CVE-2021-41190, both shapes */
		{ "{\"schemaVersion\":2," MANIFEST_MT ",\"config\":" CFG ",\"layers\":[],\"manifests\":[]}",
		  NULL, -EBADMSG, 0 },
		{ "{\"schemaVersion\":2," INDEX_MT ",\"manifests\":[],\"layers\":[]}", NULL, -EBADMSG, 0 },
		{ "{\"schemaVersion\":2," INDEX_MT ",\"manifests\":[],\"config\":" CFG "}", NULL, -EBADMSG,
		  0 },
		{ "{\"schemaVersion\":2,\"manifests\":[]}", ALGA_OCI_MT_IMAGE_MANIFEST, -EBADMSG, 0 },
		/* T12: truncated; not an object; missing parts */
		{ "{\"schemaVersion\":2," MANIFEST_MT ",\"config\":{\"media", NULL, -EBADMSG, 0 },
		{ "[]", NULL, -EBADMSG, 0 },
		{ "{\"schemaVersion\":3," MANIFEST_MT ",\"config\":" CFG ",\"layers\":[]}", NULL, -EBADMSG, 0 },
		{ "{\"schemaVersion\":\"2\"," MANIFEST_MT ",\"config\":" CFG ",\"layers\":[]}", NULL, -EBADMSG,
		  0 },
		{ "{" MANIFEST_MT ",\"config\":" CFG ",\"layers\":[]}", NULL, -EBADMSG, 0 },
		{ "{\"schemaVersion\":2," MANIFEST_MT ",\"layers\":[]}", NULL, -EBADMSG, 0 },
		{ "{\"schemaVersion\":2," MANIFEST_MT ",\"config\":" CFG "}", NULL, -EBADMSG, 0 },
		{ "{\"schemaVersion\":2," MANIFEST_MT ",\"config\":[],\"layers\":[]}", NULL, -EBADMSG, 0 },
		{ "{\"schemaVersion\":2," INDEX_MT "}", NULL, -EBADMSG, 0 },
		{ "{\"schemaVersion\":2," INDEX_MT ",\"manifests\":{}}", NULL, -EBADMSG, 0 },
		{ "{\"schemaVersion\":2,\"mediaType\":7,\"config\":" CFG ",\"layers\":[]}", NULL, -EBADMSG, 0 },
		{ "{\"schemaVersion\":2,\"mediaType\":\"nonsense\",\"config\":" CFG ",\"layers\":[]}", NULL,
		  -EBADMSG, 0 },
		/* descriptors */
		{ "{\"schemaVersion\":2," MANIFEST_MT ",\"config\":{\"digest\":\"" D64 "\",\"size\":1},\"layers\":[]}",
		  NULL, -EBADMSG, 0 },
		{ "{\"schemaVersion\":2," MANIFEST_MT ",\"config\":{\"mediaType\":\"a/b\",\"digest\":\"sha256:x\",\"size\":1},\"layers\":[]}",
		  NULL, -EBADMSG, 0 },
		{ "{\"schemaVersion\":2," MANIFEST_MT ",\"config\":{\"mediaType\":\"a/b\",\"digest\":\"" D64 "\",\"size\":-1},\"layers\":[]}",
		  NULL, -EBADMSG, 0 },
		{ "{\"schemaVersion\":2," MANIFEST_MT ",\"config\":{\"mediaType\":\"a/b\",\"digest\":\"" D64 "\",\"size\":1.5},\"layers\":[]}",
		  NULL, -EBADMSG, 0 },
		{ "{\"schemaVersion\":2," MANIFEST_MT ",\"config\":{\"mediaType\":\"a/b\",\"digest\":\"" D64 "\"},\"layers\":[]}",
		  NULL, -EBADMSG, 0 },
		{ "{\"schemaVersion\":2," MANIFEST_MT ",\"config\":" CFG ",\"layers\":[7]}", NULL, -EBADMSG, 0 },
		{ "{\"schemaVersion\":2," INDEX_MT ",\"manifests\":[{" MANIFEST_MT ",\"digest\":\"" D64
		  "\",\"size\":1,\"platform\":\"linux\"}]}",
		  NULL, -EBADMSG, 0 },
		{ "{\"schemaVersion\":2," MANIFEST_MT ",\"artifactType\":\"x\",\"config\":" CFG ",\"layers\":[]}",
		  NULL, -EBADMSG, 0 },
		{ "{\"schemaVersion\":2," MANIFEST_MT ",\"config\":" CFG ",\"layers\":[]} x", NULL, -EBADMSG, 0 },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_(alga_oci_manifest_freep) struct alga_oci_manifest *m = NULL;
		_cleanup_free_ char *d = NULL;
		int r;

		r = alga_oci_manifest_parse(cases[i].json, strlen(cases[i].json), cases[i].ct, &m, &d);
		if (g_test_verbose() || r != cases[i].r)
			g_test_message("case %zu: %s -> %d (%s)", i, cases[i].json, r, strna(d));
		g_assert_cmpint(r, ==, cases[i].r);
		if (r == 0) {
			g_assert_null(d);
			g_assert_cmpint(m->kind, ==, cases[i].kind);
			g_assert_cmpuint(m->size, ==, strlen(cases[i].json));
			g_assert_true(alga_oci_digest_is_valid(m->digest));
		} else {
			g_assert_null(m);
			g_assert_nonnull(d);
		}
	}
}

static void test_manifest_fields(void)
{
	_cleanup_(alga_oci_manifest_freep) struct alga_oci_manifest *m = NULL;
	const char *j = "{\"schemaVersion\":2," INDEX_MT ",\"manifests\":[" ENTRY
			",{" MANIFEST_MT ",\"digest\":\"" D64 "\",\"size\":7,\"platform\":"
			"{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";

	g_assert_cmpint(alga_oci_manifest_parse(j, strlen(j), NULL, &m, NULL), ==, 0);
	g_assert_cmpuint(m->n_manifests, ==, 2);
	g_assert_cmpstr(m->manifests[0].artifact_type, ==, ALGA_OCI_MT_RELEASE_ARTIFACT);
	g_assert_cmpint(m->manifests[0].size, ==, 461);
	g_assert_cmpstr(m->manifests[1].platform_os, ==, "linux");
	g_assert_cmpstr(m->manifests[1].platform_architecture, ==, "amd64");
	/* the digest is the bytes' (sha256 of j) */
	{
		gchar *hex = g_compute_checksum_for_string(G_CHECKSUM_SHA256, j, -1);
		gchar *want = g_strconcat("sha256:", hex, NULL);

		g_assert_cmpstr(m->digest, ==, want);
		g_free(hex);
		g_free(want);
	}
}

static void test_manifest_limits(void)
{
	GString *s;

	/* index entries: 64 pass, 65 do not */
	for (unsigned n = ALGA_OCI_INDEX_ENTRIES_MAX; n <= ALGA_OCI_INDEX_ENTRIES_MAX + 1; n++) {
		_cleanup_(alga_oci_manifest_freep) struct alga_oci_manifest *m = NULL;

		s = g_string_new("{\"schemaVersion\":2," INDEX_MT ",\"manifests\":[");
		for (unsigned i = 0; i < n; i++)
			g_string_append_printf(s, "%s" ENTRY, i ? "," : "");
		g_string_append(s, "]}");
		g_assert_cmpint(alga_oci_manifest_parse(s->str, s->len, NULL, &m, NULL), ==,
				n > ALGA_OCI_INDEX_ENTRIES_MAX ? -E2BIG : 0);
		g_string_free(s, TRUE);
	}

	/* layers: 256 pass, 257 do not */
	for (unsigned n = ALGA_OCI_LAYERS_MAX; n <= ALGA_OCI_LAYERS_MAX + 1; n++) {
		_cleanup_(alga_oci_manifest_freep) struct alga_oci_manifest *m = NULL;

		s = g_string_new("{\"schemaVersion\":2," MANIFEST_MT ",\"config\":" CFG ",\"layers\":[");
		for (unsigned i = 0; i < n; i++)
			g_string_append_printf(s, "%s" EMPTY_LAYER, i ? "," : "");
		g_string_append(s, "]}");
		g_assert_cmpint(alga_oci_manifest_parse(s->str, s->len, NULL, &m, NULL), ==,
				n > ALGA_OCI_LAYERS_MAX ? -E2BIG : 0);
		g_string_free(s, TRUE);
	}

	/* T11 at the parser: one byte over 4 MiB */
	s = g_string_new("{\"schemaVersion\":2," MANIFEST_MT ",\"config\":" CFG ",\"layers\":[]}");
	while (s->len <= ALGA_OCI_MANIFEST_MAX)
		g_string_append_c(s, ' ');
	{
		_cleanup_(alga_oci_manifest_freep) struct alga_oci_manifest *m = NULL;
		_cleanup_free_ char *d = NULL;

		g_assert_cmpint(alga_oci_manifest_parse(s->str, s->len, NULL, &m, &d), ==, -E2BIG);
		g_assert_nonnull(d);
	}
	g_string_truncate(s, ALGA_OCI_MANIFEST_MAX);
	{
		_cleanup_(alga_oci_manifest_freep) struct alga_oci_manifest *m = NULL;

		g_assert_cmpint(alga_oci_manifest_parse(s->str, s->len, NULL, &m, NULL), ==, 0);
	}
	g_string_free(s, TRUE);

	/* depth 33 */
	s = g_string_new("{\"schemaVersion\":2," MANIFEST_MT ",\"config\":" CFG ",\"layers\":[],\"x\":");
	for (unsigned i = 0; i < ALGA_OCI_MANIFEST_DEPTH_MAX; i++)
		g_string_append_c(s, '[');
	for (unsigned i = 0; i < ALGA_OCI_MANIFEST_DEPTH_MAX; i++)
		g_string_append_c(s, ']');
	g_string_append_c(s, '}');
	{
		_cleanup_(alga_oci_manifest_freep) struct alga_oci_manifest *m = NULL;

		g_assert_cmpint(alga_oci_manifest_parse(s->str, s->len, NULL, &m, NULL), ==, -E2BIG);
	}
	g_string_free(s, TRUE);
}

/* T14 at the library level: §4.2 shapes */
static void test_manifest_check(void)
{
	static const struct {
		const char *json;
		bool bundle;
		int r;
	} cases[] = {
		{ "{\"schemaVersion\":2," MANIFEST_MT "," ART ",\"config\":" CFG ",\"layers\":[" EMPTY_LAYER "]}",
		  false, 0 },
		{ "{\"schemaVersion\":2," MANIFEST_MT ",\"config\":" CFG ",\"layers\":[]}", false, 0 },
		/* image-config type without artifactType: oras compat */
		{ "{\"schemaVersion\":2," MANIFEST_MT ",\"config\":{\"mediaType\":\"" ALGA_OCI_MT_IMAGE_CONFIG
		  "\",\"digest\":\"" D64 "\",\"size\":3},\"layers\":[]}",
		  false, 0 },
		{ "{\"schemaVersion\":2," MANIFEST_MT ",\"config\":{\"mediaType\":\"" ALGA_OCI_MT_JSON
		  "\",\"digest\":\"" D64 "\",\"size\":3},\"layers\":[]}",
		  false, 0 },
		/* foreign artifactType; empty config type; two layers; wrong layer type */
		{ "{\"schemaVersion\":2," MANIFEST_MT ",\"artifactType\":\"application/x-foreign\",\"config\":" CFG
		  ",\"layers\":[]}",
		  false, -EMEDIUMTYPE },
		{ "{\"schemaVersion\":2," MANIFEST_MT "," ART ",\"config\":{\"mediaType\":\"" ALGA_OCI_MT_EMPTY
		  "\",\"digest\":\"" D64 "\",\"size\":2},\"layers\":[]}",
		  false, -EMEDIUMTYPE },
		{ "{\"schemaVersion\":2," MANIFEST_MT ",\"config\":" CFG ",\"layers\":[" EMPTY_LAYER "," EMPTY_LAYER "]}",
		  false, -EMEDIUMTYPE },
		{ "{\"schemaVersion\":2," MANIFEST_MT ",\"config\":" CFG ",\"layers\":[{\"mediaType\":\"a/b\",\"digest\":\""
		  D64 "\",\"size\":2}]}",
		  false, -EMEDIUMTYPE },
		/* Docker v2 manifest is not a release artifact */
		{ "{\"schemaVersion\":2,\"mediaType\":\"" ALGA_OCI_MT_DOCKER_MANIFEST "\",\"config\":" CFG
		  ",\"layers\":[]}",
		  false, -EMEDIUMTYPE },
		/* the bundle */
		{ "{\"schemaVersion\":2," MANIFEST_MT ",\"config\":{\"mediaType\":\"" ALGA_OCI_MT_FLUX_CONFIG
		  "\",\"digest\":\"" D64 "\",\"size\":2},\"layers\":[{\"mediaType\":\"" ALGA_OCI_MT_FLUX_CONTENT
		  "\",\"digest\":\"" D64 "\",\"size\":2}]}",
		  true, 0 },
		{ "{\"schemaVersion\":2," MANIFEST_MT ",\"config\":{\"mediaType\":\"" ALGA_OCI_MT_FLUX_CONFIG
		  "\",\"digest\":\"" D64 "\",\"size\":2},\"layers\":[]}",
		  true, -EMEDIUMTYPE },
		{ "{\"schemaVersion\":2," MANIFEST_MT "," ART ",\"config\":" CFG ",\"layers\":[]}", true,
		  -EMEDIUMTYPE },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_(alga_oci_manifest_freep) struct alga_oci_manifest *m = NULL;
		_cleanup_free_ char *d = NULL;

		g_assert_cmpint(alga_oci_manifest_parse(cases[i].json, strlen(cases[i].json), NULL, &m,
							NULL), ==, 0);
		g_assert_cmpint(alga_oci_manifest_check(m,
							cases[i].bundle ? alga_oci_want_bundle()
									: alga_oci_want_release(),
							&d), ==, cases[i].r);
		g_assert_true(cases[i].r == 0 ? d == NULL : d != NULL);
	}
}

/* ---- fixtures ------------------------------------------------------------------------ */

struct registry {
	GPid pid;
	int stdin_fd;
	char *dir;
	GHashTable *env;
	unsigned n_layouts;
};

static bool have_tools(void)
{
	static const char *const tools[] = { "docker-registry", "skopeo", "openssl" };

	for (size_t i = 0; i < ELEMENTSOF(tools); i++) {
		char *p = g_find_program_in_path(tools[i]);

		if (!p) {
			char *m = g_strdup_printf("%s not installed", tools[i]);

			g_test_skip(m);
			g_free(m);
			return false;
		}
		g_free(p);
	}
	if (!g_getenv("ALGA_SOURCE_ROOT") || !g_getenv("ALGA_BUILD_ROOT")) {
		g_test_skip("ALGA_SOURCE_ROOT/ALGA_BUILD_ROOT unset: run under meson test");
		return false;
	}
	return true;
}

static void rm_rf(const char *dir)
{
	char *argv[] = { (char *)"rm", (char *)"-rf", (char *)dir, NULL };

	(void)g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
}

static const char *renv(const struct registry *r, const char *key)
{
	const char *v = g_hash_table_lookup(r->env, key);

	return v && v[0] ? v : NULL;
}

static bool registry_start(struct registry *r, const char *mode, const char *const *extra)
{
	GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
	char *envfile, *contents = NULL, **lines;
	GError *error = NULL;

	*r = (struct registry){ .stdin_fd = -1 };
	if (!have_tools()) {
		g_ptr_array_free(argv, TRUE);
		return false;
	}
	r->dir = g_dir_make_tmp("test-oci-XXXXXX", NULL);
	g_assert_nonnull(r->dir);
	g_ptr_array_add(argv, g_build_filename(g_getenv("ALGA_SOURCE_ROOT"), "tests", "fixtures",
					       "registry", "registry-up", NULL));
	g_ptr_array_add(argv, g_strdup(mode));
	g_ptr_array_add(argv, g_strdup("--state-dir"));
	g_ptr_array_add(argv, g_build_filename(r->dir, "reg", NULL));
	for (const char *const *e = extra; e && *e; e++)
		g_ptr_array_add(argv, g_strdup(*e));
	g_ptr_array_add(argv, NULL);

	/* the supervisor exits when our end of its stdin closes, or when we die */
	g_assert_true(g_spawn_async_with_pipes(NULL, (char **)argv->pdata, NULL,
					       G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
					       NULL, NULL, &r->pid, &r->stdin_fd, NULL, NULL, &error));
	g_assert_no_error(error);
	g_ptr_array_free(argv, TRUE);

	envfile = g_build_filename(r->dir, "reg", "env", NULL);
	for (unsigned i = 0; i < 3000 && !g_file_test(envfile, G_FILE_TEST_EXISTS); i++) {
		if (waitpid(r->pid, NULL, WNOHANG) == r->pid) {
			r->pid = 0;
			g_test_fail_printf("registry-up %s exited early", mode);
			g_free(envfile);
			return false;
		}
		g_usleep(10 * 1000);
	}
	g_assert_true(g_file_get_contents(envfile, &contents, NULL, NULL));
	g_free(envfile);

	r->env = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	lines = g_strsplit(contents, "\n", -1);
	for (char **l = lines; *l; l++) {
		char *eq = strchr(*l, '=');

		if (eq)
			g_hash_table_insert(r->env, g_strndup(*l, (gsize)(eq - *l)), g_strdup(eq + 1));
	}
	g_strfreev(lines);
	g_free(contents);
	g_assert_nonnull(renv(r, "REGISTRY"));
	return true;
}

static void registry_stop(struct registry *r)
{
	if (r->stdin_fd >= 0)
		close(r->stdin_fd);
	if (r->pid > 0) {
		(void)kill(r->pid, SIGTERM);
		(void)waitpid(r->pid, NULL, 0);
		g_spawn_close_pid(r->pid);
	}
	if (r->env)
		g_hash_table_destroy(r->env);
	if (r->dir) {
		rm_rf(r->dir);
		g_free(r->dir);
	}
	*r = (struct registry){ .stdin_fd = -1 };
}

/* runs scripts/mkrelease with args (+ --push to repo of r unless repo is NULL); its --json */
static struct json_object *mkrelease(struct registry *r, const char *repo, const char *const *args)
{
	GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
	struct json_object *o = NULL;
	char *out = NULL, *err = NULL;
	GError *error = NULL;
	int status = 0;

	g_ptr_array_add(argv, g_build_filename(g_getenv("ALGA_SOURCE_ROOT"), "scripts", "mkrelease",
					       NULL));
	g_ptr_array_add(argv, g_strdup("--out"));
	g_ptr_array_add(argv, g_strdup_printf("%s/L%u", r->dir, r->n_layouts++));
	g_ptr_array_add(argv, g_strdup("--no-bundle"));
	g_ptr_array_add(argv, g_strdup("--json"));
	if (repo) {
		g_ptr_array_add(argv, g_strdup("--push"));
		g_ptr_array_add(argv, g_strdup_printf("%s/%s", renv(r, "REGISTRY"), repo));
		if (renv(r, "PUSH_CREDS")) {
			g_ptr_array_add(argv, g_strdup("--creds"));
			g_ptr_array_add(argv, g_strdup(renv(r, "PUSH_CREDS")));
		}
		if (renv(r, "REGISTRY_CERT_DIR") && streq(strempty(renv(r, "REGISTRY_SCHEME")), "https")) {
			g_ptr_array_add(argv, g_strdup("--cert-dir"));
			g_ptr_array_add(argv, g_strdup(renv(r, "REGISTRY_CERT_DIR")));
		}
	}
	for (const char *const *a = args; a && *a; a++)
		g_ptr_array_add(argv, g_strdup(*a));
	g_ptr_array_add(argv, NULL);

	g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
				   &out, &err, &status, &error));
	g_assert_no_error(error);
	if (!g_spawn_check_wait_status(status, NULL))
		g_error("mkrelease failed: %s", err);
	g_assert_cmpint(alga_json_parse(out, strlen(out), NULL, &o, NULL), ==, 0);
	g_free(out);
	g_free(err);
	g_ptr_array_free(argv, TRUE);
	return o;
}

static const char *jstr(struct json_object *o, const char *path)
{
	const char *s = NULL;

	g_assert_cmpint(alga_json_get_string(o, path, ALGA_JSON_REQUIRED, &s, NULL), ==, 1);
	return s;
}

/* digest the registry holds for the last pushed reference */
static const char *pushed_digest(struct json_object *o)
{
	struct json_object *arr = NULL, *last;
	const char *s = NULL;

	g_assert_cmpint(alga_json_get_array(o, "pushed", ALGA_JSON_REQUIRED, &arr, NULL), ==, 1);
	last = json_object_array_get_idx(arr, json_object_array_length(arr) - 1);
	g_assert_cmpint(alga_json_get_string(last, "digest", ALGA_JSON_REQUIRED, &s, NULL), ==, 1);
	return s;
}

static struct alga_oci_client *client_new(bool insecure, const char *ca_file)
{
	struct alga_oci_options o = {
		.insecure = insecure,
		.ca_file = ca_file,
		.retry_delay_ms = 20,
		.low_speed_time_sec = 2,
		.timeout_sec = 20,
	};
	struct alga_oci_client *c = NULL;

	g_assert_cmpint(alga_oci_client_new(&o, &c), ==, 0);
	return c;
}

static struct alga_oci_ref *ref_new(const char *registry, const char *repo, const char *tag,
				    const char *digest)
{
	struct alga_oci_ref *ref = NULL;

	g_assert_cmpint(alga_oci_ref_new(registry, repo, tag, digest, &ref, NULL), ==, 0);
	return ref;
}

/* resolves ref and fetches the config blob; returns the first error */
static int resolve_full(struct alga_oci_client *c, const struct alga_oci_ref *ref,
			struct alga_oci_artifact **ret, struct alga_error *e)
{
	_cleanup_(alga_oci_artifact_freep) struct alga_oci_artifact *a = NULL;
	_cleanup_free_ char *blob = NULL;
	size_t size = 0;
	int r;

	r = alga_oci_resolve_artifact(c, ref, alga_oci_want_release(), &a, e);
	if (r < 0)
		return r;
	r = alga_oci_fetch_blob(c, ref, &a->manifest->config, ALGA_OCI_CONFIG_MAX, &blob, &size, e);
	if (r < 0)
		return r;
	g_assert_cmpuint(size, ==, (size_t)a->manifest->config.size);
	g_assert_cmpuint(strlen(blob), ==, size);
	if (ret)
		*ret = TAKE_PTR(a);
	return 0;
}

static int resolve_tag(struct registry *r, bool insecure, const char *ca, const char *repo,
		       const char *tag, struct alga_oci_stats *ret_stats, struct alga_error *e)
{
	_cleanup_(alga_oci_client_freep) struct alga_oci_client *c = client_new(insecure, ca);
	_cleanup_(alga_oci_ref_freep) struct alga_oci_ref *ref =
		ref_new(renv(r, "REGISTRY"), repo, tag, NULL);
	int rr;

	rr = resolve_full(c, ref, NULL, e);
	if (ret_stats)
		alga_oci_client_get_stats(c, ret_stats);
	return rr;
}

static char *storage_blob(const struct registry *r, const char *digest)
{
	const char *hex = digest + 7;
	char two[3] = { hex[0], hex[1], 0 };

	return g_build_filename(renv(r, "REGISTRY_STORAGE"), "docker", "registry", "v2", "blobs",
				"sha256", two, hex, "data", NULL);
}

/* flips one byte of a stored blob in place, keeping its length */
static void tamper(const struct registry *r, const char *digest, const char *from, const char *to)
{
	char *p = storage_blob(r, digest), *s = NULL, *hit;
	gsize n = 0;

	g_assert_true(g_file_get_contents(p, &s, &n, NULL));
	hit = strstr(s, from);
	g_assert_nonnull(hit);
	g_assert_cmpuint(strlen(from), ==, strlen(to));
	memcpy(hit, to, strlen(to));
	g_assert_true(g_file_set_contents(p, s, (gssize)n, NULL));
	g_free(s);
	g_free(p);
}

#define ERR_CHECK(e, cls) \
	do { \
		g_assert_cmpint((e).class, ==, (cls)); \
		g_assert_nonnull((e).message); \
		alga_error_clear(&(e)); \
	} while (0)

static int stream_sink(const void *data, size_t len, void *userdata)
{
	GByteArray *a = userdata;

	if (!data)
		g_byte_array_set_size(a, 0); /* a retry starts over */
	else
		g_byte_array_append(a, data, (guint)len);
	return 0;
}

/* T01–T10, T14, T25 on one plain registry */
static void test_plain(void)
{
	const char *REPO = "alga-appliance-release";
	struct json_object *rel, *o;
	struct alga_oci_stats st;
	struct alga_error e = {};
	struct registry r;

	if (!registry_start(&r, "plain", NULL))
		return;

	rel = mkrelease(&r, REPO, (const char *[]){ "--version", "1.0.3", "--channel", "stable", NULL });

	/* T01: stable resolves; digests are mkrelease's; 1 manifest GET, 1 blob GET */
	{
		_cleanup_(alga_oci_client_freep) struct alga_oci_client *c = client_new(true, NULL);
		_cleanup_(alga_oci_ref_freep) struct alga_oci_ref *ref =
			ref_new(renv(&r, "REGISTRY"), REPO, "stable", NULL);
		_cleanup_(alga_oci_artifact_freep) struct alga_oci_artifact *a = NULL;

		g_assert_cmpint(resolve_full(c, ref, &a, &e), ==, 0);
		g_assert_cmpstr(a->manifest->digest, ==, jstr(rel, "release.manifestDigest"));
		g_assert_cmpstr(a->manifest->config.digest, ==, jstr(rel, "release.configDigest"));
		g_assert_null(a->index_digest);
		alga_oci_client_get_stats(c, &st);
		g_assert_cmpuint(st.manifest_gets, ==, 1);
		g_assert_cmpuint(st.blob_gets, ==, 1);
		g_assert_cmpuint(st.token_gets, ==, 0);

		/* streaming mode hands out the same verified bytes */
		{
			GByteArray *got = g_byte_array_new();
			_cleanup_free_ char *blob = NULL;
			size_t size = 0;

			g_assert_cmpint(alga_oci_fetch_blob_stream(c, ref, &a->manifest->config,
								   ALGA_OCI_CONFIG_MAX, stream_sink, got,
								   NULL), ==, 0);
			g_assert_cmpint(alga_oci_fetch_blob(c, ref, &a->manifest->config,
							    ALGA_OCI_CONFIG_MAX, &blob, &size, NULL), ==, 0);
			g_assert_cmpuint(got->len, ==, size);
			g_assert_cmpmem(got->data, got->len, blob, size);
			g_byte_array_free(got, TRUE);
		}
		/* a cap below the descriptor size refuses before any request */
		g_assert_cmpint(alga_oci_fetch_blob(c, ref, &a->manifest->config,
						    (size_t)a->manifest->config.size - 1, &(char *){ NULL },
						    NULL, &e), ==, -E2BIG);
		ERR_CHECK(e, ALGA_ERROR_INTEGRITY);
		alga_oci_client_get_stats(c, &st);
		g_assert_cmpuint(st.blob_gets, ==, 3);
	}

	/* T02: by version and by digest, same digests */
	{
		_cleanup_(alga_oci_client_freep) struct alga_oci_client *c = client_new(true, NULL);
		_cleanup_(alga_oci_ref_freep) struct alga_oci_ref *byver =
			ref_new(renv(&r, "REGISTRY"), REPO, "1.0.3", NULL);
		_cleanup_(alga_oci_ref_freep) struct alga_oci_ref *bydig =
			ref_new(renv(&r, "REGISTRY"), REPO, NULL, jstr(rel, "release.manifestDigest"));
		_cleanup_(alga_oci_artifact_freep) struct alga_oci_artifact *a = NULL, *b = NULL;

		g_assert_cmpint(resolve_full(c, byver, &a, NULL), ==, 0);
		g_assert_cmpint(resolve_full(c, bydig, &b, NULL), ==, 0);
		g_assert_cmpstr(a->manifest->digest, ==, b->manifest->digest);
		g_assert_cmpstr(b->manifest->digest, ==, jstr(rel, "release.manifestDigest"));
	}

	/* T03: absent tag, absent repository: not found, MANIFEST_UNKNOWN / NAME_UNKNOWN */
	g_assert_cmpint(resolve_tag(&r, true, NULL, REPO, "nightly", NULL, &e), ==, -ENOENT);
	g_assert_cmpstr(e.code, ==, "MANIFEST_UNKNOWN");
	g_assert_nonnull(strstr(e.message, "nightly"));
	g_assert_cmpint(e.http_status, ==, 404);
	ERR_CHECK(e, ALGA_ERROR_NOT_FOUND);
	g_assert_cmpint(resolve_tag(&r, true, NULL, "no/such", "stable", NULL, &e), ==, -ENOENT);
	g_assert_nonnull(e.code);
	ERR_CHECK(e, ALGA_ERROR_NOT_FOUND);

	/* T04: index of one release via skopeo copy --all (descriptor artifactType lost) */
	o = mkrelease(&r, "idx-one", (const char *[]){ "--version", "1.0.4", "--index", NULL });
	{
		_cleanup_(alga_oci_client_freep) struct alga_oci_client *c = client_new(true, NULL);
		_cleanup_(alga_oci_ref_freep) struct alga_oci_ref *ref =
			ref_new(renv(&r, "REGISTRY"), "idx-one", "1.0.4", NULL);
		_cleanup_(alga_oci_artifact_freep) struct alga_oci_artifact *a = NULL;

		g_assert_cmpint(resolve_full(c, ref, &a, &e), ==, 0);
		g_assert_cmpstr(a->index_digest, ==, pushed_digest(o));
		g_assert_cmpstr(a->manifest->digest, ==, jstr(o, "release.manifestDigest"));
	}
	json_object_put(o);

	/* T05: raw index with a decoy image first: only the release is fetched */
	o = mkrelease(&r, "idx-decoy", (const char *[]){ "--version", "1.0.5", "--index", "--decoy",
							 "--push-method", "http", NULL });
	{
		_cleanup_(alga_oci_client_freep) struct alga_oci_client *c = client_new(true, NULL);
		_cleanup_(alga_oci_ref_freep) struct alga_oci_ref *ref =
			ref_new(renv(&r, "REGISTRY"), "idx-decoy", "1.0.5", NULL);
		_cleanup_(alga_oci_artifact_freep) struct alga_oci_artifact *a = NULL;

		g_assert_cmpint(resolve_full(c, ref, &a, &e), ==, 0);
		g_assert_cmpstr(a->manifest->digest, ==, jstr(o, "release.manifestDigest"));
		g_assert_nonnull(a->index_digest);
		alga_oci_client_get_stats(c, &st);
		g_assert_cmpuint(st.manifest_gets, ==, 2);
	}
	json_object_put(o);

	/* T06: two releases in one index; an index of an index */
	json_object_put(mkrelease(&r, "idx-two", (const char *[]){ "--version", "1.0.6", "--index",
								    "--index-releases", "2",
								    "--push-method", "http", NULL }));
	g_assert_cmpint(resolve_tag(&r, true, NULL, "idx-two", "1.0.6", NULL, &e), ==, -ENOTUNIQ);
	g_assert_nonnull(strstr(e.message, "ambiguous"));
	ERR_CHECK(e, ALGA_ERROR_ARTIFACT);
	/* more than 4 candidates */
	json_object_put(mkrelease(&r, "idx-five", (const char *[]){ "--version", "1.0.8", "--index",
								     "--index-releases", "5",
								     "--push-method", "http", NULL }));
	g_assert_cmpint(resolve_tag(&r, true, NULL, "idx-five", "1.0.8", &st, &e), ==, -E2BIG);
	g_assert_cmpuint(st.manifest_gets, ==, 1);
	ERR_CHECK(e, ALGA_ERROR_ARTIFACT);
	json_object_put(mkrelease(&r, "idx-nest", (const char *[]){ "--version", "1.0.7", "--index",
								     "--nest", "--push-method", "http",
								     NULL }));
	g_assert_cmpint(resolve_tag(&r, true, NULL, "idx-nest", "1.0.7", NULL, &e), ==, -EMEDIUMTYPE);
	ERR_CHECK(e, ALGA_ERROR_ARTIFACT);

	/* T07: the config blob edited in storage */
	o = mkrelease(&r, "tamper-cfg", (const char *[]){ "--version", "9.0.7", NULL });
	tamper(&r, jstr(o, "release.configDigest"), "9.0.7", "9.0.6");
	g_assert_cmpint(resolve_tag(&r, true, NULL, "tamper-cfg", "9.0.7", NULL, &e), ==, -EILSEQ);
	g_assert_nonnull(strstr(e.message, "digest mismatch"));
	g_assert_nonnull(strstr(e.message, jstr(o, "release.configDigest")));
	ERR_CHECK(e, ALGA_ERROR_INTEGRITY);
	json_object_put(o);

	/* T08: the manifest edited in storage: by tag and by digest */
	o = mkrelease(&r, "tamper-man", (const char *[]){ "--version", "9.0.8", NULL });
	tamper(&r, jstr(o, "release.manifestDigest"), "oci.empty", "oci.emptx");
	g_assert_cmpint(resolve_tag(&r, true, NULL, "tamper-man", "9.0.8", NULL, &e), ==, -EILSEQ);
	ERR_CHECK(e, ALGA_ERROR_INTEGRITY);
	{
		_cleanup_(alga_oci_client_freep) struct alga_oci_client *c = client_new(true, NULL);
		_cleanup_(alga_oci_ref_freep) struct alga_oci_ref *ref = ref_new(
			renv(&r, "REGISTRY"), "tamper-man", NULL, jstr(o, "release.manifestDigest"));

		g_assert_cmpint(resolve_full(c, ref, NULL, &e), ==, -EILSEQ);
		g_assert_nonnull(strstr(e.message, "mismatch"));
		ERR_CHECK(e, ALGA_ERROR_INTEGRITY);
	}
	json_object_put(o);

	/* T09: a 2 MiB release blob: refused before any blob GET */
	json_object_put(mkrelease(&r, "big", (const char *[]){ "--version", "1.0.9", "--pad", "2097152",
								NULL }));
	g_assert_cmpint(resolve_tag(&r, true, NULL, "big", "1.0.9", &st, &e), ==, -E2BIG);
	g_assert_cmpuint(st.blob_gets, ==, 0);
	ERR_CHECK(e, ALGA_ERROR_INTEGRITY);

	/* T10: descriptors lying about the size, both ways */
	json_object_put(mkrelease(&r, "lie-small", (const char *[]){ "--version", "1.0.10", "--pad",
								      "2097152", "--config-size", "300",
								      "--push-method", "http", NULL }));
	g_assert_cmpint(resolve_tag(&r, true, NULL, "lie-small", "1.0.10", NULL, &e), ==, -E2BIG);
	g_assert_nonnull(strstr(e.message, "larger than its descriptor"));
	ERR_CHECK(e, ALGA_ERROR_INTEGRITY);
	json_object_put(mkrelease(&r, "lie-big", (const char *[]){ "--version", "1.0.11", "--config-size",
								    "2000", "--push-method", "http",
								    NULL }));
	g_assert_cmpint(resolve_tag(&r, true, NULL, "lie-big", "1.0.11", NULL, &e), ==, -EILSEQ);
	ERR_CHECK(e, ALGA_ERROR_INTEGRITY);

	/* T14: foreign artifactType, empty config type, image config without artifactType */
	json_object_put(mkrelease(&r, "foreign", (const char *[]){ "--version", "1.0.14", "--artifact-type",
								    "application/vnd.example.other.v1",
								    NULL }));
	g_assert_cmpint(resolve_tag(&r, true, NULL, "foreign", "1.0.14", NULL, &e), ==, -EMEDIUMTYPE);
	ERR_CHECK(e, ALGA_ERROR_ARTIFACT);
	json_object_put(mkrelease(&r, "empty-config", (const char *[]){ "--version", "1.0.15",
									 "--config-type", ALGA_OCI_MT_EMPTY,
									 NULL }));
	g_assert_cmpint(resolve_tag(&r, true, NULL, "empty-config", "1.0.15", NULL, &e), ==,
			-EMEDIUMTYPE);
	ERR_CHECK(e, ALGA_ERROR_ARTIFACT);
	json_object_put(mkrelease(&r, "image-config", (const char *[]){ "--version", "1.0.16",
									 "--config-type", ALGA_OCI_MT_IMAGE_CONFIG,
									 "--artifact-type", "", NULL }));
	g_assert_cmpint(resolve_tag(&r, true, NULL, "image-config", "1.0.16", NULL, &e), ==, 0);

	/* the https client refuses the plain registry (no silent downgrade) */
	g_assert_cmpint(resolve_tag(&r, false, NULL, REPO, "stable", NULL, &e), <, 0);
	alga_error_clear(&e);

	/* T25: registry stopped: network error after 2 retries, quickly */
	{
		char *reg = g_strdup(renv(&r, "REGISTRY"));
		_cleanup_(alga_oci_client_freep) struct alga_oci_client *c = client_new(true, NULL);
		_cleanup_(alga_oci_ref_freep) struct alga_oci_ref *ref = ref_new(reg, REPO, "stable", NULL);
		_cleanup_(alga_oci_manifest_freep) struct alga_oci_manifest *m = NULL;
		gint64 t0;

		json_object_put(rel);
		registry_stop(&r);
		t0 = g_get_monotonic_time();
		g_assert_cmpint(alga_oci_fetch_manifest(c, ref, &m, &e), ==, -ECONNREFUSED);
		g_assert_cmpint(g_get_monotonic_time() - t0, <, 15 * G_USEC_PER_SEC);
		alga_oci_client_get_stats(c, &st);
		g_assert_cmpuint(st.retries, ==, ALGA_OCI_RETRIES);
		g_assert_cmpuint(st.manifest_gets, ==, 1 + ALGA_OCI_RETRIES);
		ERR_CHECK(e, ALGA_ERROR_NETWORK);
		g_free(reg);
	}
}

static unsigned count_lines(const char *path, const char *needle)
{
	char *s = NULL, **lines;
	unsigned n = 0;

	if (!g_file_get_contents(path, &s, NULL, NULL))
		return 0;
	lines = g_strsplit(s, "\n", -1);
	for (char **l = lines; *l; l++)
		if (strstr(*l, needle))
			n++;
	g_strfreev(lines);
	g_free(s);
	return n;
}

/* T18: the anonymous bearer flow; T19, T20: hostile issuers */
static void test_token(void)
{
	const char *REPO = "alga-appliance-release";
	static const struct {
		const char *arg, *arg2;
		int r;
	} hostile[] = {
		{ "--bad-key", NULL, -EACCES },       /* T19 */
		{ "--status", "500", -EACCES },       /* T20 */
		{ "--garbage", NULL, -EACCES },
		{ "--huge", NULL, -EACCES },          /* cut at 64 KiB */
		{ "--space-token", NULL, -EACCES },
	};
	struct json_object *rel;
	struct alga_oci_stats st;
	struct alga_error e = {};
	struct registry r;

	if (!registry_start(&r, "token", NULL))
		return;
	rel = mkrelease(&r, REPO, (const char *[]){ "--version", "1.0.3", "--channel", "stable", NULL });
	{
		_cleanup_(alga_oci_client_freep) struct alga_oci_client *c = client_new(true, NULL);
		_cleanup_(alga_oci_ref_freep) struct alga_oci_ref *ref =
			ref_new(renv(&r, "REGISTRY"), REPO, "stable", NULL);
		_cleanup_(alga_oci_artifact_freep) struct alga_oci_artifact *a = NULL;
		_cleanup_free_ char *blob = NULL;
		char *line;

		g_assert_cmpint(resolve_full(c, ref, &a, &e), ==, 0);
		g_assert_cmpstr(a->manifest->digest, ==, jstr(rel, "release.manifestDigest"));
		alga_oci_client_get_stats(c, &st);
		/* 401, token, 200; the blob reuses the token */
		g_assert_cmpuint(st.manifest_gets, ==, 2);
		g_assert_cmpuint(st.token_gets, ==, 1);
		g_assert_cmpuint(st.blob_gets, ==, 1);
		line = g_strdup_printf("GET /token?service=alga-test-registry&scope=repository:%s:pull "
				       "auth=none", REPO);
		g_assert_cmpuint(count_lines(renv(&r, "TOKEN_LOG"), line), ==, 1);
		g_assert_cmpuint(count_lines(renv(&r, "TOKEN_LOG"), "auth=none"), ==, 1);
		g_free(line);

		/* a second resolve on the same client needs no token request */
		g_assert_cmpint(alga_oci_fetch_blob(c, ref, &a->manifest->config, ALGA_OCI_CONFIG_MAX,
						    &blob, NULL, NULL), ==, 0);
		alga_oci_client_get_stats(c, &st);
		g_assert_cmpuint(st.token_gets, ==, 1);
	}
	json_object_put(rel);
	registry_stop(&r);

	/* §4.3 step 2: access_token alone; the token is reused until expires_in */
	if (!registry_start(&r, "token", (const char *[]){ "--issuer-arg", "--token-field",
							    "--issuer-arg", "access_token",
							    "--issuer-arg", "--expires-in",
							    "--issuer-arg", "1", NULL }))
		return;
	json_object_put(mkrelease(&r, REPO, (const char *[]){ "--version", "1.0.3", NULL }));
	{
		_cleanup_(alga_oci_client_freep) struct alga_oci_client *c = client_new(true, NULL);
		_cleanup_(alga_oci_ref_freep) struct alga_oci_ref *ref =
			ref_new(renv(&r, "REGISTRY"), REPO, "1.0.3", NULL);
		_cleanup_(alga_oci_artifact_freep) struct alga_oci_artifact *a = NULL;
		_cleanup_free_ char *blob = NULL;

		g_assert_cmpint(resolve_full(c, ref, &a, &e), ==, 0);
		alga_oci_client_get_stats(c, &st);
		g_assert_cmpuint(st.token_gets, ==, 1);
		g_usleep(1100 * 1000);
		g_assert_cmpint(alga_oci_fetch_blob(c, ref, &a->manifest->config, ALGA_OCI_CONFIG_MAX,
						    &blob, NULL, &e), ==, 0);
		alga_oci_client_get_stats(c, &st);
		g_assert_cmpuint(st.token_gets, ==, 2);
	}
	registry_stop(&r);

	for (size_t i = 0; i < ELEMENTSOF(hostile); i++) {
		const char *args[] = { "--issuer-arg", hostile[i].arg, hostile[i].arg2 ? "--issuer-arg" : NULL,
				       hostile[i].arg2, NULL };

		if (!registry_start(&r, "token", args))
			return;
		g_assert_cmpint(resolve_tag(&r, true, NULL, REPO, "stable", &st, &e), ==, hostile[i].r);
		if (g_test_verbose())
			g_test_message("%s: %s", hostile[i].arg, e.message);
		/* exactly two manifest GETs for the bad key, one for the others */
		g_assert_cmpuint(st.manifest_gets, ==, i == 0 ? 2 : 1);
		g_assert_cmpuint(st.token_gets, ==, 1);
		ERR_CHECK(e, ALGA_ERROR_AUTH);
		registry_stop(&r);
	}
}

/* T22: TLS trust; T21: http realm under https */
static void test_tls(void)
{
	const char *REPO = "alga-appliance-release";
	struct alga_error e = {};
	struct registry r;
	char *other;

	if (!registry_start(&r, "tls", NULL))
		return;
	json_object_put(mkrelease(&r, REPO, (const char *[]){ "--version", "1.0.3", "--channel", "stable",
							       NULL }));
	g_assert_cmpint(resolve_tag(&r, false, NULL, REPO, "stable", NULL, &e), ==, -EKEYREJECTED);
	ERR_CHECK(e, ALGA_ERROR_TLS);
	g_assert_cmpint(resolve_tag(&r, false, renv(&r, "REGISTRY_CA"), REPO, "stable", NULL, &e), ==, 0);
	g_assert_cmpint(resolve_tag(&r, false, renv(&r, "REGISTRY_OTHER_CA"), REPO, "stable", NULL, &e),
			==, -EKEYREJECTED);
	ERR_CHECK(e, ALGA_ERROR_TLS);
	other = g_strdup(renv(&r, "REGISTRY_CA"));
	registry_stop(&r);

	/* certificate for localhost only, reached as 127.0.0.1 */
	if (!registry_start(&r, "tls", (const char *[]){ "--cert-san", "DNS:localhost", NULL }))
		goto out;
	g_assert_cmpint(resolve_tag(&r, false, renv(&r, "REGISTRY_CA"), REPO, "stable", NULL, &e), ==,
			-EKEYREJECTED);
	ERR_CHECK(e, ALGA_ERROR_TLS);
	registry_stop(&r);

	/* T21: https registry advertising an http:// realm */
	if (!registry_start(&r, "token", (const char *[]){ "--tls", "--issuer-http", NULL }))
		goto out;
	g_assert_cmpint(resolve_tag(&r, false, renv(&r, "REGISTRY_CA"), REPO, "stable", NULL, &e), ==,
			-EPERM);
	g_assert_nonnull(strstr(e.message, "realm must be https"));
	ERR_CHECK(e, ALGA_ERROR_AUTH);
	registry_stop(&r);
out:
	g_free(other);
}

/* T23: blob redirect to another origin; T24: https to http */
static void test_redirect(void)
{
	const char *REPO = "alga-appliance-release";
	struct alga_error e = {};
	struct registry r;

	if (!registry_start(&r, "redirect", (const char *[]){ "--token", NULL }))
		return;
	json_object_put(mkrelease(&r, REPO, (const char *[]){ "--version", "1.0.3", "--channel", "stable",
							       NULL }));
	g_assert_cmpint(resolve_tag(&r, true, NULL, REPO, "stable", NULL, &e), ==, 0);
	/* blobhost served the blob, and never saw the Authorization */
	g_assert_cmpuint(count_lines(renv(&r, "BLOBHOST_LOG"), "/blobs/sha256/"), >=, 1);
	g_assert_cmpuint(count_lines(renv(&r, "BLOBHOST_LOG"), "auth=yes"), ==, 0);
	registry_stop(&r);

	if (!registry_start(&r, "redirect", (const char *[]){ "--tls", "--blobhost-scheme", "http", NULL }))
		return;
	json_object_put(mkrelease(&r, REPO, (const char *[]){ "--version", "1.0.3", "--channel", "stable",
							       NULL }));
	g_assert_cmpint(resolve_tag(&r, false, renv(&r, "REGISTRY_CA"), REPO, "stable", NULL, &e), ==,
			-EPERM);
	g_assert_nonnull(strstr(e.message, "https to http"));
	ERR_CHECK(e, ALGA_ERROR_INTEGRITY);
	registry_stop(&r);

	/* T24: a chain of 6 hops after the registry's own redirect */
	if (!registry_start(&r, "redirect", (const char *[]){ "--blobhost-arg", "--redirect-chain",
							       "--blobhost-arg", "6", NULL }))
		return;
	json_object_put(mkrelease(&r, REPO, (const char *[]){ "--version", "1.0.3", NULL }));
	g_assert_cmpint(resolve_tag(&r, true, NULL, REPO, "1.0.3", NULL, &e), ==, -ELOOP);
	ERR_CHECK(e, ALGA_ERROR_NETWORK);
	registry_stop(&r);
}

/* ---- blobhost as a read-only registry (mkrelease --tree) ------------------------- */

struct blobhost {
	GPid pid;
	char *registry; /* 127.0.0.2:PORT */
};

static bool blobhost_start(struct blobhost *b, const char *tree, const char *const *extra)
{
	GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
	char *ready = g_strdup_printf("%s.ready", tree), *contents = NULL;
	GError *error = NULL;

	*b = (struct blobhost){};
	g_ptr_array_add(argv, g_build_filename(g_getenv("ALGA_BUILD_ROOT"), "tests", "fixtures",
					       "registry", "blobhost", NULL));
	if (!g_file_test(argv->pdata[0], G_FILE_TEST_IS_EXECUTABLE)) {
		g_test_skip("blobhost not built");
		g_ptr_array_free(argv, TRUE);
		g_free(ready);
		return false;
	}
	(void)unlink(ready);
	g_ptr_array_add(argv, g_strdup("--dir"));
	g_ptr_array_add(argv, g_strdup(tree));
	g_ptr_array_add(argv, g_strdup("--ready-file"));
	g_ptr_array_add(argv, g_strdup(ready));
	for (const char *const *e = extra; e && *e; e++)
		g_ptr_array_add(argv, g_strdup(*e));
	g_ptr_array_add(argv, NULL);
	g_assert_true(g_spawn_async(NULL, (char **)argv->pdata, NULL,
				    G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
					    G_SPAWN_STDERR_TO_DEV_NULL,
				    NULL, NULL, &b->pid, &error));
	g_assert_no_error(error);
	for (unsigned i = 0; i < 500; i++) {
		if (g_file_get_contents(ready, &contents, NULL, NULL) && contents[0])
			break;
		g_free(contents);
		contents = NULL;
		g_usleep(10 * 1000);
	}
	g_assert_nonnull(contents);
	b->registry = g_strstrip(contents);
	g_free(ready);
	g_ptr_array_free(argv, TRUE);
	return true;
}

static void blobhost_stop(struct blobhost *b)
{
	if (b->pid > 0) {
		(void)kill(b->pid, SIGKILL);
		(void)waitpid(b->pid, NULL, 0);
		g_spawn_close_pid(b->pid);
	}
	g_free(b->registry);
	*b = (struct blobhost){};
}

static int tree_manifest(const struct blobhost *b, const char *tag, struct alga_oci_stats *ret_st,
			 struct alga_error *e)
{
	_cleanup_(alga_oci_client_freep) struct alga_oci_client *c = client_new(true, NULL);
	_cleanup_(alga_oci_ref_freep) struct alga_oci_ref *ref =
		ref_new(b->registry, "alga-appliance-release", tag, NULL);
	int r;

	r = resolve_full(c, ref, NULL, e);
	if (ret_st)
		alga_oci_client_get_stats(c, ret_st);
	return r;
}

static void *kill_later(void *userdata)
{
	GPid pid = *(GPid *)userdata;

	g_usleep(500 * 1000);
	(void)kill(pid, SIGKILL);
	return NULL;
}

/* T11, T12, T21 (Basic), T26, T27 */
static void test_blobhost(void)
{
	struct registry r = { .stdin_fd = -1 };
	struct alga_oci_stats st;
	struct alga_error e = {};
	struct blobhost b;
	char *tree, *man, *s = NULL, *p;
	gsize n;

	if (!have_tools())
		return;
	r.dir = g_dir_make_tmp("test-oci-XXXXXX", NULL);
	tree = g_build_filename(r.dir, "tree", NULL);
	json_object_put(mkrelease(&r, NULL, (const char *[]){ "--tree", tree, NULL }));
	man = g_build_filename(tree, "v2", "alga-appliance-release", "manifests", NULL);

	/* T12 variants beside the good tag */
	p = g_build_filename(man, "1.0.3", NULL);
	g_assert_true(g_file_get_contents(p, &s, &n, NULL));
	g_free(p);
	p = g_build_filename(man, "trunc", NULL);
	g_assert_true(g_file_set_contents(p, s, (gssize)n / 2, NULL));
	g_free(p);
	p = g_build_filename(man, "ctype", NULL);
	g_assert_true(g_file_set_contents(p, s, (gssize)n, NULL));
	g_free(p);
	p = g_build_filename(man, "ctype.headers", NULL);
	g_assert_true(g_file_set_contents(p, "Content-Type: " ALGA_OCI_MT_IMAGE_INDEX "\n", -1, NULL));
	g_free(p);
	g_free(s);
	p = g_build_filename(man, "both", NULL);
	g_assert_true(g_file_set_contents(
		p, "{\"schemaVersion\":2," MANIFEST_MT ",\"config\":" CFG ",\"layers\":[],\"manifests\":[]}",
		-1, NULL));
	g_free(p);

	if (!blobhost_start(&b, tree, NULL))
		goto out;
	g_assert_cmpint(tree_manifest(&b, "1.0.3", NULL, &e), ==, 0);
	g_assert_cmpint(tree_manifest(&b, "trunc", NULL, &e), ==, -EBADMSG);
	ERR_CHECK(e, ALGA_ERROR_ARTIFACT);
	g_assert_cmpint(tree_manifest(&b, "both", NULL, &e), ==, -EBADMSG);
	ERR_CHECK(e, ALGA_ERROR_ARTIFACT);
	g_assert_cmpint(tree_manifest(&b, "ctype", NULL, &e), ==, -EMEDIUMTYPE);
	ERR_CHECK(e, ALGA_ERROR_ARTIFACT);
	blobhost_stop(&b);

	/* T11: a 5 MiB manifest, cut at 4 MiB */
	g_assert_true(blobhost_start(&b, tree, (const char *[]){ "--oversize", "5242880", "--match",
								  "/manifests/", NULL }));
	g_assert_cmpint(tree_manifest(&b, "1.0.3", NULL, &e), ==, -E2BIG);
	ERR_CHECK(e, ALGA_ERROR_INTEGRITY);
	blobhost_stop(&b);

	/* T21: Basic only */
	g_assert_true(blobhost_start(&b, tree, (const char *[]){ "--basic-challenge", NULL }));
	g_assert_cmpint(tree_manifest(&b, "1.0.3", NULL, &e), ==, -EACCES);
	g_assert_nonnull(strstr(e.message, "requires credentials"));
	ERR_CHECK(e, ALGA_ERROR_AUTH);
	blobhost_stop(&b);

	/* T26: a stalled blob (then the host dies), a trickled blob: network, not retried */
	g_assert_true(blobhost_start(&b, tree, (const char *[]){ "--stall-after", "100", "--match",
								  "/blobs/", NULL }));
	{
		pthread_t t;
		gint64 t0 = g_get_monotonic_time();

		g_assert_cmpint(pthread_create(&t, NULL, kill_later, &b.pid), ==, 0);
		g_assert_cmpint(tree_manifest(&b, "1.0.3", NULL, &e), <, 0);
		g_assert_cmpint(pthread_join(t, NULL), ==, 0);
		g_assert_cmpint(g_get_monotonic_time() - t0, <, 10 * G_USEC_PER_SEC);
		ERR_CHECK(e, ALGA_ERROR_NETWORK);
	}
	blobhost_stop(&b);
	g_assert_true(blobhost_start(&b, tree, (const char *[]){ "--stall-after", "100", "--match",
								  "/blobs/", NULL }));
	g_assert_cmpint(tree_manifest(&b, "1.0.3", &st, &e), ==, -ETIME);
	g_assert_cmpuint(st.retries, ==, 0);
	ERR_CHECK(e, ALGA_ERROR_NETWORK);
	blobhost_stop(&b);

	/* T27: one 429 with Retry-After: 1, then fine; 503 for ever: two retries */
	g_assert_true(blobhost_start(&b, tree, (const char *[]){ "--fail-first", "429", "--match",
								  "/manifests/", NULL }));
	{
		gint64 t0 = g_get_monotonic_time();

		g_assert_cmpint(tree_manifest(&b, "1.0.3", &st, &e), ==, 0);
		g_assert_cmpuint(st.retries, ==, 1);
		g_assert_cmpint(g_get_monotonic_time() - t0, >=, G_USEC_PER_SEC);
	}
	blobhost_stop(&b);
	g_assert_true(blobhost_start(&b, tree, (const char *[]){ "--status", "503", NULL }));
	g_assert_cmpint(tree_manifest(&b, "1.0.3", &st, &e), ==, -EAGAIN);
	g_assert_cmpuint(st.retries, ==, 2);
	g_assert_cmpuint(st.manifest_gets, ==, 3);
	g_assert_cmpint(e.http_status, ==, 503);
	ERR_CHECK(e, ALGA_ERROR_NETWORK);
	blobhost_stop(&b);
out:
	g_free(man);
	g_free(tree);
	rm_rf(r.dir);
	g_free(r.dir);
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/oci/ref-parse/valid", test_ref_parse_valid);
	g_test_add_func("/oci/ref-parse/invalid", test_ref_parse_invalid);
	g_test_add_func("/oci/ref-parse/limits", test_ref_limits);
	g_test_add_func("/oci/manifest-parse/cases", test_manifest_parse);
	g_test_add_func("/oci/manifest-parse/fields", test_manifest_fields);
	g_test_add_func("/oci/manifest-parse/limits", test_manifest_limits);
	g_test_add_func("/oci/manifest-check/cases", test_manifest_check);
	g_test_add_func("/oci/fetch/plain", test_plain);
	g_test_add_func("/oci/fetch/token", test_token);
	g_test_add_func("/oci/fetch/tls", test_tls);
	g_test_add_func("/oci/fetch/redirect", test_redirect);
	g_test_add_func("/oci/fetch/blobhost", test_blobhost);
	return g_test_run();
}
