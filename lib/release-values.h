/* SPDX-License-Identifier: AGPL-3.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"
#include "release.h"

/*
 * Values rendering (release.md §4.6, resolutions.md C6): the six
 * profileValues texts with the host's overrides, through libyaml parser
 * events and an emitter, never line edits (upstream defect D9). A path
 * tracker over block and flow mappings replaces the target scalars with
 * double-quoted ones; missing keys and parents are added at the parent's
 * MAPPING-END; a target (or a target's parent) holding a sequence, an
 * alias or a scalar where a mapping is needed, and multi-document input,
 * are -EBADMSG naming the dotted path. Comments are dropped; key order and
 * scalar styles are kept. This module owns libyaml for the suite's release
 * code (lib/yaml.h would shadow libyaml's <yaml.h>).
 */

/* one rendered text */
#define ALGA_RELEASE_VALUES_OUTPUT_MAX (512u * 1024u)
/* nesting of one values document */
#define ALGA_RELEASE_VALUES_DEPTH_MAX 64u
/* libyaml events of one document, a bound on the work per input */
#define ALGA_RELEASE_VALUES_EVENTS_MAX 262144u
/* overrides handed to alga_release_values_patch() */
#define ALGA_RELEASE_VALUES_OVERRIDES_MAX 16u
/* one dotted override path */
#define ALGA_RELEASE_VALUES_PATH_MAX 256u

/* one "set or create" of a scalar */
struct alga_release_values_override {
	const char *path;  /* dotted mapping keys: "setup.image.tag" */
	const char *value; /* emitted double-quoted */
};

/* what setup knows about the host */
struct alga_release_values_input {
	/*
	 * the app hostname or URL ("psa.example.com", "https://psa:8443");
	 * NULL leaves appUrl, host, domainSuffix and publicBaseUrl alone
	 */
	const char *app_url;
};

/* the six rendered texts, indexed by component, each NUL-terminated */
struct alga_release_values {
	char *text[_ALGA_RELEASE_COMPONENT_MAX];
	size_t len[_ALGA_RELEASE_COMPONENT_MAX];
};

/*
 * R10's check: text (len bytes, at most ALGA_RELEASE_VALUES_MAX) is one
 * YAML document whose root is a mapping. 0; -EBADMSG naming the problem
 * and the line; -E2BIG over a limit above.
 */
int alga_release_values_check(const char *text, size_t len, char **reterr_detail);

/*
 * Applies n overrides to the document text and writes the result into
 * *ret (NUL-terminated, caller frees; ret_len optional). Paths must be
 * distinct and none the parent of another (-EINVAL). -EBADMSG as above,
 * -E2BIG when the output would pass ALGA_RELEASE_VALUES_OUTPUT_MAX or the
 * input a limit above.
 */
int alga_release_values_patch(const char *text, size_t len,
			      const struct alga_release_values_override *overrides, size_t n,
			      char **ret, size_t *ret_len, char **reterr_detail);

/*
 * Renders the six values files of r for setup.md §2.4: alga-core
 * bootstrap.mode "recover" always (C6), setup.image.tag and
 * server.image.tag = images.algaCore, and with input->app_url: appUrl
 * ("https://" added when schemeless), host (the URL's host), domainSuffix
 * ""; the workers' image.tag from their images.* when present;
 * temporal-worker publicBaseUrl = the URL (C6); pgbouncer and temporal
 * unchanged. input may be NULL. *ret is new (alga_release_values_free()).
 * -EINVAL for an app_url that is not a host or http(s) URL; otherwise as
 * alga_release_values_patch(), the detail naming the file.
 */
int alga_release_render_values(const struct alga_release *r,
			       const struct alga_release_values_input *input,
			       struct alga_release_values **ret, char **reterr_detail);

struct alga_release_values *alga_release_values_free(struct alga_release_values *v);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct alga_release_values *, alga_release_values_free);
