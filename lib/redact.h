/* SPDX-License-Identifier: AGPL-3.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "macro.h"

/*
 * The redaction rule table of host.md §4.5, used by lib/bundle, alga-agent
 * and `alga-bundle redact|rules`.
 *
 * Structural rules (S1-S4) rewrite parsed JSON trees; text rules (T0-T12)
 * run, in table order, on every line of a stream. Each replacement is a
 * placeholder ("[REDACTED]", "[REDACTED KNOWN]", ...) that no rule matches,
 * so redacting an output again changes nothing. Only the value is
 * replaced: the key, separator, quotes and spacing around it are kept
 * ("password: x" -> "password: [REDACTED]", "PASSWORD=\"x\"" ->
 * "PASSWORD=\"[REDACTED]\"", {"token":98765} -> {"token":"[REDACTED]"}).
 *
 * T0 replaces each known secret verbatim, and also its percent-encoded
 * (upper and lower-case hex), JSON-escaped and unpadded base64 forms
 * wherever they differ from it; other encodings (base64 at another
 * alignment, case changes of hex keys) are not searched.
 *
 * T0 and T3-T12 repeat over a line until it stops changing, and a
 * "[REDACTED]" followed by ":" or "=" is taken as a secret key (an earlier
 * rule may have eaten the key: "bearer x-api_key: v"), so a second pass
 * over the output finds nothing.
 *
 * Lines are buffered whole up to ALGA_REDACT_LINE_MAX bytes. A longer line
 * is redacted as its first ALGA_REDACT_LINE_MAX bytes and the rest of it is
 * replaced by "[REDACTED LONG LINE: N bytes]": never emitted unredacted,
 * never dropped silently.
 *
 * Residual gaps (copied into alga-bundle(8)):
 * - unlabelled secrets in prose ("the password is hunter2") are kept;
 * - secrets split across lines, inside binary data, or after a YAML block
 *   scalar indicator outside data/stringData/binaryData ("password: |"
 *   redacts only the "|" line), and JSON escaped more than the rules can
 *   see through in unlabelled form;
 * - known secrets shorter than ALGA_REDACT_SECRET_MIN bytes are ignored;
 * - base64 secrets outside data blocks (and outside Secret objects for the
 *   structural rules), and flow-style data maps ("data: {k: v}") in text;
 * - passwords in URLs holding an unencoded '/', '?', '#' or white space;
 * - a "KEY= value" (blank after "=") glued to the end of another value
 *   ("t=xapi_key= v"); "KEY: v" and "KEY=v" there are caught;
 * - PII (e-mail addresses, host names, IP addresses) is kept on purpose;
 * - over-redaction is accepted ("max_tokens=5" -> "max_tokens=[REDACTED]",
 *   "authorization: denied", base64-looking ConfigMap values under data:);
 * - text that already looks like a placeholder ("[REDACTED...") is taken as
 *   redacted, so a value written to start with one is kept after it;
 * - a line over ALGA_REDACT_LINE_MAX bytes whose redacted head grows past
 *   that limit may be cut at another place when redacted again.
 */

/* lines are buffered in blocks of this size, grown up to ALGA_REDACT_LINE_MAX */
#define ALGA_REDACT_LINE_BUFFER (64u * 1024u)
#define ALGA_REDACT_LINE_MAX (1024u * 1024u)
/* known secrets: at least this long (shorter ones are ignored), at most ... */
#define ALGA_REDACT_SECRET_MIN 8u
#define ALGA_REDACT_SECRET_MAX 4096u
/* ... and at most this many per context */
#define ALGA_REDACT_SECRETS_MAX 32u
/* nesting the structural walk follows (deeper: -E2BIG) */
#define ALGA_REDACT_JSON_DEPTH_MAX 128u

/* the rules, in the order of host.md §4.5; text rules run in this order */
enum alga_redact_rule {
	ALGA_REDACT_RULE_S1,
	ALGA_REDACT_RULE_S2,
	ALGA_REDACT_RULE_S3,
	ALGA_REDACT_RULE_S4,
	ALGA_REDACT_RULE_T0,
	ALGA_REDACT_RULE_T1,
	ALGA_REDACT_RULE_T2,
	ALGA_REDACT_RULE_T3,
	ALGA_REDACT_RULE_T4,
	ALGA_REDACT_RULE_T5,
	ALGA_REDACT_RULE_T6,
	ALGA_REDACT_RULE_T7,
	ALGA_REDACT_RULE_T8,
	ALGA_REDACT_RULE_T9,
	ALGA_REDACT_RULE_T10,
	ALGA_REDACT_RULE_T11,
	ALGA_REDACT_RULE_T12,
	_ALGA_REDACT_RULE_MAX,
};

/* one row of `alga-bundle rules` */
struct alga_redact_rule_info {
	enum alga_redact_rule rule;
	const char *id;          /* "T7" */
	const char *summary;     /* what it matches, one line */
	const char *replacement; /* what the match becomes */
};

/* version of the rule table, written to meta/summary.txt */
#define ALGA_REDACT_RULES_VERSION 1

/* the redaction context of one stream (or one bundle) */
struct alga_redact;

/*
 * Receives redacted output: len bytes at buf, not NUL-terminated. A
 * negative return stops the feed and is passed back to its caller.
 */
typedef int (*alga_redact_write_t)(const char *buf, size_t len, void *userdata);

/* the rule table (static, _ALGA_REDACT_RULE_MAX rows in order); ret_n optional */
const struct alga_redact_rule_info *alga_redact_rules(size_t *ret_n);

/* "S1".."T12"; from_string returns the rule or -EINVAL */
const char *alga_redact_rule_to_string(enum alga_redact_rule rule);
int alga_redact_rule_from_string(const char *s);

/*
 * A new context writing redacted text to write(userdata) (write may be
 * NULL when only alga_redact_string() and alga_redact_json() are used).
 * 0, -ENOMEM, or -EINVAL if a rule's expression fails to compile.
 */
int alga_redact_new(alga_redact_write_t write, void *userdata, struct alga_redact **ret);

/* frees r, wiping its secrets and buffers; takes NULL, returns NULL */
struct alga_redact *alga_redact_free(struct alga_redact *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct alga_redact *, alga_redact_free);

/*
 * Registers a known secret for T0 (the setup token, cookie key, k3s server
 * token, ALGA_AUTH_KEY, license token, appliance credential). The bytes
 * are copied (and wiped on free). Returns 1 when added, 0 when ignored:
 * shorter than ALGA_REDACT_SECRET_MIN or already known. -E2BIG over
 * ALGA_REDACT_SECRET_MAX bytes or ALGA_REDACT_SECRETS_MAX secrets,
 * -EINVAL when the secret contains a newline or NUL or occurs inside a
 * placeholder (it would break idempotency), -ENOMEM.
 */
int alga_redact_add_secret(struct alga_redact *r, const void *secret, size_t len);

/*
 * Feeds len bytes of a stream; complete lines are redacted and written.
 * Returns 0, -ENOMEM, or the writer's error.
 */
int alga_redact_feed(struct alga_redact *r, const void *buf, size_t len);

/*
 * Ends the stream: redacts and writes the last line if it had no newline
 * (and writes none), then forgets the multi-line state (an open private
 * key block or data block) so the next feed starts a new stream. Counts
 * are kept. Returns as alga_redact_feed().
 */
int alga_redact_finish(struct alga_redact *r);

/*
 * Redacts one whole document of len bytes into a new NUL-terminated string
 * (*ret, caller frees; ret_len optional), as a separate stream: the stream
 * state of r is untouched, its counts grow. 0 or -ENOMEM.
 */
int alga_redact_string(struct alga_redact *r, const char *in, size_t len, char **ret,
		       size_t *ret_len);

/*
 * Applies S1-S4 in place to a parsed JSON tree (Kubernetes objects,
 * lists, HelmReleases, our state files), and T0 to every string value.
 * Counts go to r. Returns the number of replacements and removals,
 * -E2BIG deeper than ALGA_REDACT_JSON_DEPTH_MAX, -ENOMEM.
 */
int alga_redact_json(struct alga_redact *r, struct json_object *obj);

/* how many times rule matched in this context so far */
uint64_t alga_redact_get_count(const struct alga_redact *r, enum alga_redact_rule rule);
/* the sum over all rules */
uint64_t alga_redact_get_total(const struct alga_redact *r);
/* lines longer than ALGA_REDACT_LINE_MAX seen so far */
uint64_t alga_redact_get_long_lines(const struct alga_redact *r);
/* sets every count to 0 (per-file counts in the bundle manifest) */
void alga_redact_reset_counts(struct alga_redact *r);

/*
 * The counts as a JSON object {"T7":3,...} of the rules that matched
 * (empty object when none), in *ret. 0 or -ENOMEM.
 */
int alga_redact_counts_to_json(const struct alga_redact *r, struct json_object **ret);
