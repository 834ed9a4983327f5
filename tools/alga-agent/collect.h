/* SPDX-License-Identifier: AGPL-3.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "macro.h"
#include "redact.h"

/*
 * The agent's native collectors (host.md §4.4): nothing is spawned, each
 * has a deadline, the whole run stays under COLLECT_BUDGET_USEC. Runs on
 * the server's worker thread with its own sd-journal and sd-bus.
 */

#define COLLECT_BUDGET_USEC (25 * USEC_PER_SEC)
#define COLLECT_JOURNAL_USEC (2 * USEC_PER_SEC)
#define COLLECT_BUS_USEC (2 * USEC_PER_SEC)
#define COLLECT_DNS_USEC (5 * USEC_PER_SEC)
#define COLLECT_HTTPS_USEC (10 * USEC_PER_SEC)

#define COLLECT_JOURNAL_LINES 1000u
#define COLLECT_MESSAGE_MAX (8u * 1024u)
#define COLLECT_FILE_MAX (1024u * 1024u)
#define COLLECT_RESPONSE_MAX (4u * 1024u * 1024u)
#define COLLECT_RESOLV_MAX (64u * 1024u)
#define COLLECT_MOUNTS_MAX 512u
#define COLLECT_ROUTES_MAX 4096u

/* the status values of upstream's files[] */
#define COLLECT_STATUS_OK 0
#define COLLECT_STATUS_ERROR 1
#define COLLECT_STATUS_TIMEOUT 124

struct collect_options {
	const char *root;        /* NULL: the real root */
	const char *journal_dir; /* NULL: the system journal */
	const char *registry;    /* host name checked by the DNS and HTTPS files; NULL: skipped */
	unsigned journal_lines;
	bool skip_journal;       /* no appliance-journal.txt: lib/bundle streams its own */
};

/*
 * Collects the 10 files of host.md §2.1 and builds the response of
 * POST /v1/support-bundle in *ret: {"ok":true,"generatedAt",...,"files"}.
 * Collector failures are in the files (ok false, status 1 or 124); only
 * -ENOMEM fails the whole run.
 */
int collect_support_bundle(const struct collect_options *o, struct json_object **ret);

/* exported for tests and the fuzzer */

/*
 * Replaces invalid UTF-8 in buf with U+FFFD; *ret is new, NUL-terminated,
 * its length in *ret_len.
 */
int collect_utf8_sanitize(const char *buf, size_t len, char **ret, size_t *ret_len);

/*
 * A lib/redact context for the collected files: every rule, and as T0 the
 * known secrets under root that the agent's group may read, as
 * alga_bundle_redact_new() gives the bundle writer. 0 or a negative errno.
 */
int collect_redact_new(const char *root, struct alga_redact **ret);

/* formats one journal MESSAGE for appliance-journal.txt (cut, binary) */
int collect_format_message(const void *data, size_t len, char **ret);
