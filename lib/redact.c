/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Redaction rules of host.md §4.5. Upstream (support-bundle.mjs,
 * host-agent.mjs) had four regexes that leaked most shapes (§3 item 11);
 * here each rule is a scanner over one line, prefiltered with memmem() on
 * a lower-cased (and a separator-free) copy so ordinary lines cost a few
 * searches. Regexes (regex.h ERE, REG_STARTEND so NUL bytes do not end a
 * line early) are used for the fixed token shapes; quoted strings are
 * scanned by hand, escape-aware at any nesting of JSON in JSON.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "crypto.h"
#include "json.h"
#include "redact.h"

#define PH "[REDACTED]"
#define PH_PREFIX "[REDACTED"
#define PH_KNOWN "[REDACTED KNOWN]"
#define PH_PRIVATE_KEY "[REDACTED PRIVATE KEY]"
#define PH_JWT "[REDACTED JWT]"
#define PH_TOKEN "[REDACTED TOKEN]"
#define PH_K3S "[REDACTED K3S TOKEN]"
#define PH_PEM "[REDACTED PEM]"
/* JSON keys longer than this are not keys for T7 */
#define T7_KEY_MAX 512u
/* emitted output is handed to the writer in blocks of about this size */
#define EMIT_FLUSH (64u * 1024u)
/* rounds of the stateless rules over one line */
#define RULE_PASSES_MAX 8u

static const struct alga_redact_rule_info rules[_ALGA_REDACT_RULE_MAX] = {
	{ ALGA_REDACT_RULE_S1, "S1", "Secret data/stringData/binaryData values (parsed JSON)",
	  "\"[REDACTED len=N]\"" },
	{ ALGA_REDACT_RULE_S2, "S2", "managedFields and the kubectl last-applied-configuration annotation",
	  "(removed)" },
	{ ALGA_REDACT_RULE_S3, "S3", "keys holding a secret word (password, token, apikey, ...), any value type",
	  "\"[REDACTED]\"" },
	{ ALGA_REDACT_RULE_S4, "S4", "HelmRelease spec.values walked with S3", "\"[REDACTED]\"" },
	{ ALGA_REDACT_RULE_T0, "T0", "known secrets of 8 bytes or more (setup token, keys, k3s and license tokens, credential)",
	  PH_KNOWN },
	{ ALGA_REDACT_RULE_T1, "T1", "PEM private key blocks, BEGIN to END (unterminated: to the end)",
	  PH_PRIVATE_KEY },
	{ ALGA_REDACT_RULE_T2, "T2", "values in indented data:/stringData:/binaryData: blocks",
	  "k: " PH },
	{ ALGA_REDACT_RULE_T3, "T3", "(proxy-)authorization values after an optional scheme",
	  "Authorization: Bearer " PH },
	{ ALGA_REDACT_RULE_T4, "T4", "cookie and set-cookie headers, alga_(appliance_)session values",
	  PH },
	{ ALGA_REDACT_RULE_T5, "T5", "bearer tokens", "Bearer " PH },
	{ ALGA_REDACT_RULE_T6, "T6", "passwords in URLs (scheme://user:pass@)", "scheme://user:" PH "@" },
	{ ALGA_REDACT_RULE_T7, "T7", "JSON values (string, number, bool) of secret-word keys, escape-aware",
	  "\"KEY\":\"" PH "\"" },
	{ ALGA_REDACT_RULE_T8, "T8", "KEY: v, KEY=v, --KEY v for secret-word keys", "KEY=" PH },
	{ ALGA_REDACT_RULE_T9, "T9", "JSON web tokens", PH_JWT },
	{ ALGA_REDACT_RULE_T10, "T10", "setup-token shaped numbers (NNNN-NNNN-NNNN-NNNN-NNNN)", PH_TOKEN },
	{ ALGA_REDACT_RULE_T11, "T11", "k3s server/agent tokens (K10<hash>::user:pass)", PH_K3S },
	{ ALGA_REDACT_RULE_T12, "T12", "base64 of a PEM block (LS0tLS1CRUdJTi...)", PH_PEM },
};

/* S3 words, matched against keys lower-cased with "-_. " removed */
static const char *const secret_words[] = {
	"password", "passwd", "passphrase", "secret", "token", "apikey", "accesskey", "privatekey",
	"clientkey", "credential", "cookie", "sessionid", "authorization", "dsn", "connectionstring",
};

/* every placeholder any rule writes: known secrets inside them are refused */
static const char *const placeholders[] = {
	PH, PH_KNOWN, PH_PRIVATE_KEY, PH_JWT, PH_TOKEN, PH_K3S, PH_PEM, "[REDACTED len=",
	"[REDACTED LONG LINE: ", " bytes]",
};

struct buf {
	char *p;
	size_t len, alloc;
};

struct edit {
	size_t start, end;
	const char *pre; /* written before the placeholder (quotes), may be NULL */
	size_t pre_len;
	const char *text;
	const char *post;
	size_t post_len;
};

struct edits {
	struct edit *v;
	size_t n, alloc;
};

struct secret {
	char *p;
	size_t len;
};

/* JSON key candidate windows of T7 whose inside is skipped */
struct window {
	size_t open, close;
};

struct alga_redact {
	alga_redact_write_t write;
	void *userdata;

	regex_t re_bearer, re_jwt, re_k3s, re_pem;
	bool re_ok;

	struct secret secrets[ALGA_REDACT_SECRETS_MAX * 5];
	size_t n_secrets;  /* forms stored */
	size_t n_distinct; /* secrets registered */

	struct buf line;   /* pending partial line */
	struct buf cur, alt;
	struct buf lower, norm, tok;
	struct buf emit;
	struct edits edits;
	struct window *win;
	size_t n_win, alloc_win;
	bool view_valid;
	int view_secret_word; /* any_secret_word() of the view; -1: not asked yet */

	bool overflow;
	uint64_t overflow_bytes;

	bool in_pem;
	bool in_data;
	bool data_string; /* stringData: every value goes */
	size_t data_indent;
	bool in_scalar;
	size_t scalar_indent;

	uint64_t counts[_ALGA_REDACT_RULE_MAX];
	uint64_t long_lines;
};

static void buf_wipe(struct buf *b)
{
	if (b->p) {
		alga_crypto_cleanse(b->p, b->alloc);
		free(b->p);
	}
	*b = (struct buf){};
}

static int buf_reserve(struct buf *b, size_t extra)
{
	size_t want, a;
	char *n;

	if (extra > SIZE_MAX - b->len - 1)
		return -ENOMEM;
	want = b->len + extra + 1;
	if (want <= b->alloc)
		return 0;
	a = b->alloc ? b->alloc : 256;
	while (a < want)
		a = a > SIZE_MAX / 2 ? want : a * 2;
	/* not realloc(): the old block may hold secrets and is wiped */
	n = malloc(a);
	if (!n)
		return -ENOMEM;
	if (b->p) {
		memcpy(n, b->p, b->len);
		alga_crypto_cleanse(b->p, b->alloc);
		free(b->p);
	}
	b->p = n;
	b->alloc = a;
	return 0;
}

static int buf_put(struct buf *b, const void *s, size_t n)
{
	int r;

	r = buf_reserve(b, n);
	if (r < 0)
		return r;
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
	return 0;
}

static int buf_puts(struct buf *b, const char *s)
{
	return buf_put(b, s, strlen(s));
}

static void *memmem_or_null(const char *h, size_t hn, const char *n, size_t nn)
{
	/* an empty buffer may come as NULL: say so, for memmem()'s nonnull */
	if (!h || !n || nn == 0 || hn < nn)
		return NULL;
	return memmem(h, hn, n, nn);
}

static bool has(const char *h, size_t hn, const char *needle)
{
	return memmem_or_null(h, hn, needle, strlen(needle));
}

static bool is_key_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-';
}

static bool is_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static size_t skip_blank(const char *s, size_t i, size_t n)
{
	while (i < n && is_blank(s[i]))
		i++;
	return i;
}

static size_t match_digits_then(const char *s, size_t i, size_t n, const char *tail)
{
	size_t j = i, l = strlen(tail);

	while (j < n && j - i < 20 && isdigit((unsigned char)s[j]))
		j++;
	if (j == i || n - j < l || memcmp(s + j, tail, l) != 0)
		return 0;
	return j + l;
}

/*
 * Length of the placeholder at s[i..n), or 0. Text that is one is taken as
 * redacted already: that is what makes every rule idempotent. Only the
 * exact placeholders count, so "[REDACTED password=x]" hides nothing.
 */
static size_t placeholder_at(const char *s, size_t i, size_t n)
{
	static const char *const exact[] = { PH, PH_KNOWN, PH_PRIVATE_KEY, PH_JWT,
					     PH_TOKEN, PH_K3S, PH_PEM };
	static const char len_prefix[] = "[REDACTED len=", long_prefix[] = "[REDACTED LONG LINE: ";
	size_t pl = strlen(PH_PREFIX), e;

	if (n - i < pl + 1 || memcmp(s + i, PH_PREFIX, pl) != 0)
		return 0;
	for (size_t k = 0; k < ELEMENTSOF(exact); k++) {
		size_t l = strlen(exact[k]);

		if (n - i >= l && memcmp(s + i, exact[k], l) == 0)
			return l;
	}
	if (n - i > strlen(len_prefix) && memcmp(s + i, len_prefix, strlen(len_prefix)) == 0) {
		e = match_digits_then(s, i + strlen(len_prefix), n, "]");
		if (e)
			return e - i;
	}
	if (n - i > strlen(long_prefix) && memcmp(s + i, long_prefix, strlen(long_prefix)) == 0) {
		e = match_digits_then(s, i + strlen(long_prefix), n, " bytes]");
		if (e)
			return e - i;
	}
	return 0;
}

/*
 * The JSON nesting level of a quote preceded by r backslashes: 0 for a
 * plain quote, 1 for \" inside a string, 2 for \\\" inside a string inside
 * a string, ... ("\\\\\"" closes a level-1 string after an escaped
 * backslash).
 */
static unsigned quote_level(size_t r)
{
	unsigned l = 0;

	while (r & 1) {
		l++;
		r = (r - 1) / 2;
	}
	return l;
}

static size_t backslashes_before(const char *s, size_t i, size_t floor)
{
	size_t r = 0;

	while (i > floor && s[i - 1] == '\\') {
		i--;
		r++;
	}
	return r;
}

/*
 * Scans a string opened at level lvl whose content starts at i; returns the
 * index of the closing quote at that level (*ret_closed true, *ret_bs the
 * backslashes before it), or the index where an outer level closes or the
 * line ends (*ret_closed false, content ends before *ret_bs backslashes).
 */
static size_t scan_string(const char *s, size_t i, size_t n, unsigned lvl, bool *ret_closed,
			  size_t *ret_bs)
{
	for (;;) {
		const char *q = memchr(s + i, '"', n - i);
		size_t j, bs;
		unsigned l;

		if (!q) {
			*ret_closed = false;
			*ret_bs = 0;
			return n;
		}
		j = q - s;
		bs = backslashes_before(s, j, i);
		l = quote_level(bs);
		if (l <= lvl) {
			*ret_closed = l == lvl;
			*ret_bs = bs;
			return j;
		}
		i = j + 1;
	}
}

static bool has_secret_word_norm(const char *s, size_t n)
{
	for (size_t k = 0; k < ELEMENTSOF(secret_words); k++)
		if (has(s, n, secret_words[k]))
			return true;
	return false;
}

/* does the key s[0..n), lower-cased without "-_. ", hold an S3 word? */
static int key_is_secret(struct alga_redact *r, const char *s, size_t n, bool *ret)
{
	int k;

	r->tok.len = 0;
	k = buf_reserve(&r->tok, n);
	if (k < 0)
		return k;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '-' || c == '_' || c == '.' || c == ' ')
			continue;
		r->tok.p[r->tok.len++] = (char)tolower((unsigned char)c);
	}
	*ret = has_secret_word_norm(r->tok.p, r->tok.len);
	return 0;
}

static int edits_add(struct edits *e, size_t start, size_t end, const char *pre, size_t pre_len,
		     const char *text, const char *post, size_t post_len)
{
	if (e->n == e->alloc) {
		size_t a = e->alloc ? e->alloc * 2 : 16;
		struct edit *v = reallocarray(e->v, a, sizeof(*v));

		if (!v)
			return -ENOMEM;
		e->v = v;
		e->alloc = a;
	}
	e->v[e->n++] = (struct edit){ .start = start, .end = end, .pre = pre, .pre_len = pre_len,
				      .text = text, .post = post, .post_len = post_len };
	return 0;
}

static int edit_cmp(const void *a, const void *b)
{
	const struct edit *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* writes in with the edits applied to out; returns 1, or 0 when there are none */
static int edits_apply(struct edits *e, const char *in, size_t n, struct buf *out)
{
	size_t at = 0;
	int r;

	if (e->n == 0)
		return 0;
	if (e->n > 1)
		qsort(e->v, e->n, sizeof(e->v[0]), edit_cmp);
	out->len = 0;
	for (size_t i = 0; i < e->n; i++) {
		struct edit *x = &e->v[i];

		if (x->start < at) /* overlapping: the earlier edit covers it */
			continue;
		r = buf_put(out, in + at, x->start - at);
		if (r >= 0 && x->pre_len)
			r = buf_put(out, x->pre, x->pre_len);
		if (r >= 0)
			r = buf_puts(out, x->text);
		if (r >= 0 && x->post_len)
			r = buf_put(out, x->post, x->post_len);
		if (r < 0)
			return r;
		at = x->end;
	}
	r = buf_put(out, in + at, n - at);
	if (r < 0)
		return r;
	e->n = 0;
	return 1;
}

static int edit(struct alga_redact *r, size_t start, size_t end, const char *text,
		enum alga_redact_rule rule)
{
	r->counts[rule]++;
	return edits_add(&r->edits, start, end, NULL, 0, text, NULL, 0);
}

/* lower-cased and separator-free copies of the current line, for the prefilters */
static int view(struct alga_redact *r, const char *s, size_t n)
{
	int k;

	if (r->view_valid)
		return 0;
	r->lower.len = r->norm.len = 0;
	k = buf_reserve(&r->lower, n);
	if (k < 0)
		return k;
	k = buf_reserve(&r->norm, n);
	if (k < 0)
		return k;
	for (size_t i = 0; i < n; i++) {
		char c = (char)tolower((unsigned char)s[i]);

		r->lower.p[i] = c;
		if (c != '-' && c != '_' && c != '.' && c != ' ')
			r->norm.p[r->norm.len++] = c;
	}
	r->lower.len = n;
	r->view_valid = true;
	r->view_secret_word = -1;
	return 0;
}

/* T0: known secrets, in every stored form */
static int rule_t0(struct alga_redact *r, const char *s, size_t n)
{
	int k;

	for (size_t f = 0; f < r->n_secrets; f++) {
		const struct secret *sec = &r->secrets[f];
		size_t i = 0;

		for (;;) {
			const char *m = memmem_or_null(s + i, n - i, sec->p, sec->len);

			if (!m)
				break;
			k = edit(r, m - s, m - s + sec->len, PH_KNOWN, ALGA_REDACT_RULE_T0);
			if (k < 0)
				return k;
			i = m - s + sec->len;
		}
	}
	return 0;
}

static bool pem_label_ok(const char *s, size_t i, size_t n, size_t *ret_end, bool need_private)
{
	size_t j = i;

	while (j < n && (isupper((unsigned char)s[j]) || isdigit((unsigned char)s[j]) || s[j] == ' '))
		j++;
	if (n - j < 5 || memcmp(s + j, "-----", 5) != 0)
		return false;
	if (need_private && !memmem_or_null(s + i, j - i, "PRIVATE KEY", 11))
		return false;
	*ret_end = j + 5;
	return true;
}

/* end of the first "-----END <LABEL>-----" at or after i, or 0 */
static size_t pem_find_end(const char *s, size_t i, size_t n)
{
	for (;;) {
		const char *m = memmem_or_null(s + i, n - i, "-----END ", 9);
		size_t e;

		if (!m)
			return 0;
		if (pem_label_ok(s, m - s + 9, n, &e, false))
			return e;
		i = m - s + 1;
	}
}

/*
 * T1: private key blocks. Inside a block every line is dropped up to the
 * END marker; what follows the marker on its line is kept. A block opened
 * and closed on one line (JSON with \n escapes) becomes one placeholder.
 * *ret_drop: emit nothing for this line.
 */
static int rule_t1(struct alga_redact *r, const char *s, size_t n, size_t *ret_from, bool *ret_drop)
{
	size_t i = 0;
	int k;

	*ret_drop = false;
	*ret_from = 0;
	if (r->in_pem) {
		size_t e = pem_find_end(s, 0, n);

		if (e == 0) {
			*ret_drop = true;
			return 0;
		}
		r->in_pem = false;
		if (e == n) {
			*ret_drop = true;
			return 0;
		}
		*ret_from = i = e;
	}
	if (!memmem_or_null(s + i, n - i, "PRIVATE KEY", 11))
		return 0;
	for (;;) {
		const char *m = memmem_or_null(s + i, n - i, "-----BEGIN ", 11);
		size_t b, le, e;

		if (!m)
			return 0;
		b = m - s;
		if (!pem_label_ok(s, b + 11, n, &le, true)) {
			i = b + 1;
			continue;
		}
		e = pem_find_end(s, le, n);
		if (e == 0) {
			r->in_pem = true;
			return edit(r, b, n, PH_PRIVATE_KEY, ALGA_REDACT_RULE_T1);
		}
		k = edit(r, b, e, PH_PRIVATE_KEY, ALGA_REDACT_RULE_T1);
		if (k < 0)
			return k;
		i = e;
	}
}

static size_t indent_of(const char *s, size_t n)
{
	return skip_blank(s, 0, n);
}

static bool is_base64ish(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '/' || s[i] == '-' ||
			 s[i] == '_'))
		i++;
	if (i == 0)
		return false;
	for (size_t pad = 0; i < n && s[i] == '=' && pad < 2; pad++)
		i++;
	return i == n && n >= ALGA_REDACT_SECRET_MIN;
}

/* "data:" / "stringData:" / "binaryData:" (YAML or pretty JSON) opening a block */
static bool is_data_opener(const char *s, size_t n, size_t *ret_col, bool *ret_string)
{
	static const char *const names[] = { "data", "stringData", "binaryData" };
	size_t i = indent_of(s, n), e;

	if (i + 1 < n && s[i] == '-' && s[i + 1] == ' ')
		i = skip_blank(s, i + 1, n);
	*ret_col = i;
	if (i < n && (s[i] == '"' || s[i] == '\''))
		i++;
	for (size_t k = 0; k < ELEMENTSOF(names); k++) {
		size_t l = strlen(names[k]);

		if (n - i < l || memcmp(s + i, names[k], l) != 0)
			continue;
		e = i + l;
		if (e < n && (s[e] == '"' || s[e] == '\''))
			e++;
		e = skip_blank(s, e, n);
		if (e >= n || s[e] != ':')
			return false;
		e = skip_blank(s, e + 1, n);
		if (e < n && s[e] == '{')
			e = skip_blank(s, e + 1, n);
		if (e < n && s[e] == '#')
			e = n;
		if (e != n)
			return false;
		*ret_string = k == 1;
		return true;
	}
	return false;
}

/*
 * T2: inside a data block, "k: v" (or "\"k\": \"v\",") lines more indented
 * than the opener: every stringData value, base64-looking ones elsewhere.
 * A block scalar (k: |) is redacted on its key line and its lines dropped.
 * Upstream needed "kind: Secret" before "data:"; kubectl prints data first.
 */
static int rule_t2(struct alga_redact *r, const char *s, size_t n, bool *ret_drop)
{
	size_t ind, i, v, ve, col;
	bool str;

	*ret_drop = false;
	ind = indent_of(s, n);
	if (ind == n) /* blank lines keep the state */
		return 0;

	if (r->in_scalar) {
		if (ind > r->scalar_indent) {
			*ret_drop = true;
			return 0;
		}
		r->in_scalar = false;
	}
	if (r->in_data && ind <= r->data_indent)
		r->in_data = false;

	if (!r->in_data) {
		if (is_data_opener(s, n, &col, &str)) {
			r->in_data = true;
			r->data_indent = col;
			r->data_string = str;
		}
		return 0;
	}

	/* the key: quoted, or up to ": " */
	i = ind;
	if (i < n && s[i] == '-' && i + 1 < n && s[i + 1] == ' ')
		i = skip_blank(s, i + 1, n);
	v = i;
	if (i < n && (s[i] == '"' || s[i] == '\'')) {
		const char *q = memchr(s + i + 1, s[i], n - i - 1);

		if (q) {
			size_t c = skip_blank(s, q - s + 1, n);

			if (c < n && s[c] == ':')
				v = c + 1;
		}
	} else {
		for (size_t j = i; j < n; j++)
			if (s[j] == ':' && (j + 1 == n || is_blank(s[j + 1]))) {
				v = j + 1;
				break;
			}
	}
	/* no key: a list item or the continuation of a plain scalar */
	v = skip_blank(s, v, n);
	ve = n;
	while (ve > v && is_blank(s[ve - 1]))
		ve--;
	if (ve > v && s[ve - 1] == ',')
		ve--;
	if (ve == v)
		return 0;

	if (s[v] == '|' || s[v] == '>') {
		bool ind_only = true;

		for (size_t j = v + 1; j < ve; j++)
			if (!(s[j] == '-' || s[j] == '+' || isdigit((unsigned char)s[j])))
				ind_only = false;
		if (ind_only) {
			r->in_scalar = true;
			r->scalar_indent = ind;
			return edit(r, v, ve, PH, ALGA_REDACT_RULE_T2);
		}
	}
	if (ve - v >= 2 && (s[v] == '"' || s[v] == '\'') && s[ve - 1] == s[v]) {
		v++;
		ve--;
	}
	if (placeholder_at(s, v, ve) == ve - v && ve > v)
		return 0;
	if (!r->data_string && !is_base64ish(s + v, ve - v))
		return 0;
	if (ve == v)
		return 0;
	return edit(r, v, ve, PH, ALGA_REDACT_RULE_T2);
}

/* skips a quote closing a key: ", ', \" or \\\" */
static size_t skip_key_quote(const char *s, size_t i, size_t n)
{
	size_t j = i;

	while (j < n && s[j] == '\\')
		j++;
	if (j < n && (s[j] == '"' || (s[j] == '\'' && j == i)))
		return j + 1;
	return i;
}

/*
 * A value starting at v: quoted (content [*cs, *ce), whole [v, *end)) or
 * bare. Returns true for a quoted one; *ret_pre is the opening quote text.
 */
static bool quoted_value(const char *s, size_t v, size_t n, size_t *ret_cs, size_t *ret_ce,
			 size_t *ret_end)
{
	size_t j = v, bs, c;
	bool closed;

	while (j < n && s[j] == '\\')
		j++;
	if (j >= n)
		return false;
	if (s[j] == '\'' && j == v) {
		const char *q = memchr(s + v + 1, '\'', n - v - 1);

		*ret_cs = v + 1;
		*ret_ce = q ? (size_t)(q - s) : n;
		*ret_end = q ? *ret_ce + 1 : n;
		return true;
	}
	if (s[j] != '"')
		return false;
	c = scan_string(s, j + 1, n, quote_level(j - v), &closed, &bs);
	*ret_cs = j + 1;
	*ret_ce = c - bs;
	*ret_end = closed ? c + 1 : c - bs;
	return true;
}

/*
 * T3: (proxy-)authorization: [scheme ]credentials. The scheme is kept,
 * the credentials go (to the closing quote, else to the end of the line).
 */
static int rule_t3(struct alga_redact *r, const char *s, size_t n)
{
	size_t i = 0;

	if (!has(r->lower.p, n, "authorization"))
		return 0;
	for (;;) {
		const char *m = memmem_or_null(r->lower.p + i, n - i, "authorization", 13);
		size_t p, v, cs, ce, end, rs;
		int k;

		if (!m)
			return 0;
		p = m - r->lower.p + 13;
		i = p;
		p = skip_key_quote(s, p, n);
		p = skip_blank(s, p, n);
		if (p >= n || (s[p] != ':' && s[p] != '='))
			continue;
		v = skip_blank(s, p + 1, n);
		if (!quoted_value(s, v, n, &cs, &ce, &end)) {
			cs = v;
			ce = end = n;
		}
		while (ce > cs && is_blank(s[ce - 1]))
			ce--;
		/* an optional scheme word followed by credentials */
		rs = cs;
		while (rs < ce && (isalnum((unsigned char)s[rs]) || s[rs] == '-'))
			rs++;
		if (rs > cs && rs < ce && is_blank(s[rs]) && isalpha((unsigned char)s[cs]))
			rs = skip_blank(s, rs, ce);
		else
			rs = cs;
		if (rs >= ce || placeholder_at(s, rs, ce))
			continue;
		k = edit(r, rs, ce, PH, ALGA_REDACT_RULE_T3);
		if (k < 0)
			return k;
		i = end > i ? end : i;
	}
}

/* skips placeholders (and blanks) from i; returns the first other byte */
static size_t skip_placeholders(const char *s, size_t i, size_t n)
{
	for (;;) {
		size_t l = placeholder_at(s, i, n);

		if (l == 0)
			return i;
		i = skip_blank(s, i + l, n);
	}
}

static bool is_value_end(char c)
{
	return is_blank(c) || c == '&' || c == ';' || c == ',' || c == '\r' || c == '\n';
}

/* T4: cookie headers to the end of the line; alga_(appliance_)session values */
static int rule_t4(struct alga_redact *r, const char *s, size_t n)
{
	size_t i = 0, limit = n;
	int k;

	while (i < n) {
		const char *m = memmem_or_null(r->lower.p + i, n - i, "cookie", 6);
		size_t p, v;

		if (!m)
			break;
		p = skip_blank(s, m - r->lower.p + 6, n);
		i = m - r->lower.p + 6;
		if (p >= n || s[p] != ':')
			continue;
		v = skip_placeholders(s, skip_blank(s, p + 1, n), n);
		if (v >= n)
			continue;
		k = edit(r, v, n, PH, ALGA_REDACT_RULE_T4);
		if (k < 0)
			return k;
		/* the rest of the line is gone: session values only before it */
		limit = v;
		break;
	}

	i = 0;
	n = limit;
	while (i < n) {
		const char *m = memmem_or_null(r->lower.p + i, n - i, "alga_", 5);
		size_t p, v, e, cs, ce, end;

		if (!m)
			break;
		p = m - r->lower.p + 5;
		i = p;
		if (n - p >= 10 && memcmp(r->lower.p + p, "appliance_", 10) == 0)
			p += 10;
		if (n - p < 7 || memcmp(r->lower.p + p, "session", 7) != 0)
			continue;
		p += 7;
		if (p < n && s[p] == '=') {
			v = p + 1;
			if (placeholder_at(s, v, n))
				continue;
			for (e = v; e < n && !is_value_end(s[e]) && s[e] != '"' && s[e] != '\''; e++)
				;
			while (e > v && s[e - 1] == ':')
				e--;
			if (e == v)
				continue;
			k = edit(r, v, e, PH, ALGA_REDACT_RULE_T4);
		} else {
			p = skip_key_quote(s, p, n);
			p = skip_blank(s, p, n);
			if (p >= n || s[p] != ':')
				continue;
			v = skip_blank(s, p + 1, n);
			if (!quoted_value(s, v, n, &cs, &ce, &end) || ce == cs ||
			    placeholder_at(s, cs, ce))
				continue;
			k = edit(r, cs, ce, PH, ALGA_REDACT_RULE_T4);
		}
		if (k < 0)
			return k;
	}
	return 0;
}

static int regex_rule(struct alga_redact *r, regex_t *re, const char *s, size_t n, const char *text,
		      enum alga_redact_rule rule, bool word_start, size_t keep)
{
	size_t i = 0;
	int k;

	while (i < n) {
		regmatch_t m[1] = { { .rm_so = (regoff_t)i, .rm_eo = (regoff_t)n } };
		size_t so, eo;

		if (regexec(re, s, 1, m, REG_STARTEND) != 0)
			return 0;
		so = (size_t)m[0].rm_so;
		eo = (size_t)m[0].rm_eo;
		if (eo <= so)
			return 0;
		if (word_start && so > 0 && is_word_char(s[so - 1])) {
			i = so + 1;
			continue;
		}
		if (keep) {
			/* T5 keeps "bearer " and its blanks */
			size_t t = so + keep;

			while (t < eo && isspace((unsigned char)s[t]))
				t++;
			/* "bearer --client-secret x": an option, not a token */
			if (eo - t >= 2 && s[t] == '-' && s[t + 1] == '-') {
				i = t;
				continue;
			}
			k = edit(r, t, eo, text, rule);
		} else
			k = edit(r, so, eo, text, rule);
		if (k < 0)
			return k;
		i = eo;
	}
	return 0;
}

/* T6: scheme://user:pass@ → scheme://user:[REDACTED]@ */
static int rule_t6(struct alga_redact *r, const char *s, size_t n)
{
	size_t i = 0;
	int k;

	for (;;) {
		const char *m = memmem_or_null(s + i, n - i, "://", 3);
		size_t a, e, at = SIZE_MAX, colon = SIZE_MAX, b;

		if (!m)
			return 0;
		a = m - s + 3;
		i = a;
		b = m - s;
		while (b > 0 && (isalnum((unsigned char)s[b - 1]) || s[b - 1] == '+' || s[b - 1] == '.' ||
				 s[b - 1] == '-'))
			b--;
		if (b == (size_t)(m - s) || !isalpha((unsigned char)s[b]))
			continue;
		for (e = a; e < n; e++) {
			char c = s[e];

			if (c == '/' || c == '?' || c == '#' || isspace((unsigned char)c) || c == '"' ||
			    c == '\'' || c == '<' || c == '>' || c == '\\' || c == '`')
				break;
			if (c == '@')
				at = e;
		}
		if (at == SIZE_MAX)
			continue;
		for (size_t j = a; j < at; j++)
			if (s[j] == ':') {
				colon = j;
				break;
			}
		if (colon == SIZE_MAX || colon + 1 == at || placeholder_at(s, colon + 1, at))
			continue;
		k = edit(r, colon + 1, at, PH, ALGA_REDACT_RULE_T6);
		if (k < 0)
			return k;
		i = at;
	}
}

/*
 * Where the value at s[v..n) stops being redacted already: past leading
 * placeholders, and for authorization keys past "Scheme [REDACTED]" (T3's
 * output, which T7 and T8 must leave as it is).
 */
static size_t redacted_prefix(const char *s, size_t v, size_t n, bool auth)
{
	size_t w = v;

	if (auth) {
		while (w < n && (isalnum((unsigned char)s[w]) || s[w] == '-'))
			w++;
		if (w > v && w < n && is_blank(s[w]) && placeholder_at(s, skip_blank(s, w, n), n))
			return skip_placeholders(s, skip_blank(s, w, n), n);
	}
	return skip_placeholders(s, v, n);
}

static bool key_is_auth(struct alga_redact *r)
{
	return memmem_or_null(r->tok.p, r->tok.len, "authorization", 13);
}

static int win_push(struct alga_redact *r, size_t open, size_t close)
{
	if (r->n_win == r->alloc_win) {
		size_t a = r->alloc_win ? r->alloc_win * 2 : 8;
		struct window *w = reallocarray(r->win, a, sizeof(*w));

		if (!w)
			return -ENOMEM;
		r->win = w;
		r->alloc_win = a;
	}
	r->win[r->n_win++] = (struct window){ open, close };
	return 0;
}

/*
 * T7: "KEY": value at any JSON nesting ("k", \"k\", \\\"k\\\"), the value a
 * string (escape-aware: {"password":"a\"bc"} loses all of a\"bc), a number
 * or a bool. Every quote is tried as a key opener, so keys holding JSON are
 * looked into too; only the inside of values already redacted is skipped.
 */
static int rule_t7(struct alga_redact *r, const char *s, size_t n)
{
	size_t i = 0;
	int k;

	r->n_win = 0;
	for (;;) {
		const char *q = memchr(s + i, '"', n - i);
		size_t o, bs, kc, kbs, p, vo, cs, ce, end;
		bool closed, secret;
		unsigned lvl;

		if (!q)
			return 0;
		o = q - s;
		i = o + 1;
		while (r->n_win > 0 && o >= r->win[r->n_win - 1].close)
			r->n_win--;
		if (r->n_win > 0 && o > r->win[r->n_win - 1].open)
			continue;

		bs = backslashes_before(s, o, 0);
		lvl = quote_level(bs);
		kc = scan_string(s, o + 1, n, lvl, &closed, &kbs);
		if (!closed || kc - kbs - (o + 1) > T7_KEY_MAX)
			continue;
		p = skip_blank(s, kc + 1, n);
		if (p >= n || s[p] != ':')
			continue;
		vo = skip_blank(s, p + 1, n);
		if (vo >= n)
			continue;

		k = key_is_secret(r, s + o + 1, kc - kbs - (o + 1), &secret);
		if (k < 0)
			return k;
		if (!secret)
			continue;

		if (s[vo] == '"' || s[vo] == '\\') {
			size_t j = vo;

			while (j < n && s[j] == '\\')
				j++;
			if (j >= n || s[j] != '"' || quote_level(j - vo) != lvl)
				continue;
			ce = scan_string(s, j + 1, n, lvl, &closed, &kbs);
			cs = j + 1;
			end = closed ? ce + 1 : ce - kbs;
			ce -= kbs;
			if (redacted_prefix(s, cs, ce, key_is_auth(r)) != cs)
				continue;
			r->counts[ALGA_REDACT_RULE_T7]++;
			if (closed)
				k = edits_add(&r->edits, cs, ce, NULL, 0, PH, NULL, 0);
			else
				k = edits_add(&r->edits, cs, end, NULL, 0, PH, NULL, 0);
			if (k >= 0)
				k = win_push(r, j, closed ? end - 1 : end);
		} else {
			size_t e = vo;
			bool digit = false;

			if (n - vo >= 4 && memcmp(s + vo, "true", 4) == 0)
				e = vo + 4;
			else if (n - vo >= 5 && memcmp(s + vo, "false", 5) == 0)
				e = vo + 5;
			else {
				while (e < n && (isdigit((unsigned char)s[e]) || s[e] == '-' || s[e] == '+' ||
						 s[e] == '.' || s[e] == 'e' || s[e] == 'E')) {
					digit = digit || isdigit((unsigned char)s[e]);
					e++;
				}
				if (!digit)
					continue;
			}
			if (e < n && is_word_char(s[e]))
				continue;
			/* quoted like the key, so the document stays JSON */
			r->counts[ALGA_REDACT_RULE_T7]++;
			k = edits_add(&r->edits, vo, e, s + o - bs, bs + 1, PH, s + o - bs, bs + 1);
			if (k >= 0)
				k = win_push(r, vo, e);
		}
		if (k < 0)
			return k;
	}
}

/*
 * An earlier rule may have replaced a key with its value ("bearer
 * x-api_key: v" loses "x-api_key" to T5): a placeholder those rules write,
 * followed by a separator, is taken as a secret key.
 */
static size_t key_placeholder_at(const char *s, size_t i, size_t n)
{
	size_t l = placeholder_at(s, i, n);

	if (l == strlen(PH) && memcmp(s + i, PH, l) == 0)
		return l;
	if (l == strlen(PH_KNOWN) && memcmp(s + i, PH_KNOWN, l) == 0)
		return l;
	if (l == strlen(PH_PRIVATE_KEY) && memcmp(s + i, PH_PRIVATE_KEY, l) == 0)
		return l;
	return 0;
}

/*
 * T8: KEY[quote] [:=] value and --KEY value, KEY a run of [A-Za-z0-9_.-]
 * holding an S3 word. Quoted values go whole (quotes kept), after ":" to
 * the end of the line, after "=" or a flag to a blank or one of "&;,".
 */
static int rule_t8(struct alga_redact *r, const char *s, size_t n)
{
	size_t i = 0;
	int k;

	while (i < n) {
		size_t t, e, p, v, cs, ce, end;
		bool secret, flag = false, colon, quoted_key;
		size_t pk;

		pk = s[i] == '[' ? key_placeholder_at(s, i, n) : 0;
		if (pk == 0 && (!is_key_char(s[i]) || (i > 0 && is_key_char(s[i - 1])))) {
			i++;
			continue;
		}
		t = i;
		if (pk)
			e = t + pk;
		else
			for (e = t; e < n && is_key_char(s[e]); e++)
				;
		i = e;
		p = skip_key_quote(s, e, n);
		quoted_key = p != e;
		p = skip_blank(s, p, n);
		if (p < n && (s[p] == ':' || s[p] == '='))
			colon = s[p++] == ':';
		else if (e - t > 2 && s[t] == '-' && s[t + 1] == '-' && e < n && is_blank(s[e])) {
			flag = true;
			colon = false;
		} else
			continue;

		if (pk) {
			secret = true;
			r->tok.len = 0;
		} else {
			k = key_is_secret(r, s + t, e - t, &secret);
			if (k < 0)
				return k;
			if (!secret)
				continue;
		}

		v = skip_blank(s, p, n);
		if (v >= n)
			continue;
		if (redacted_prefix(s, v, n, key_is_auth(r)) != v) {
			/* the placeholder itself may be a key: "t=[REDACTED]: v" */
			i = v;
			continue;
		}
		/* {"password":null} holds nothing */
		if (quoted_key && n - v >= 4 && memcmp(s + v, "null", 4) == 0 &&
		    (v + 4 == n || !is_word_char(s[v + 4])))
			continue;
		if (quoted_value(s, v, n, &cs, &ce, &end)) {
			if (redacted_prefix(s, cs, ce, key_is_auth(r)) != cs || ce == cs) {
				i = cs;
				continue;
			}
			k = edit(r, cs, ce, PH, ALGA_REDACT_RULE_T8);
			if (k < 0)
				return k;
			i = end;
			continue;
		}
		if (colon && !flag) {
			size_t rs = redacted_prefix(s, v, n, key_is_auth(r));
			size_t re = n;

			if (rs != v) {
				i = v;
				continue;
			}
			while (re > rs && is_blank(s[re - 1]))
				re--;
			if (re == rs)
				continue;
			k = edit(r, rs, re, PH, ALGA_REDACT_RULE_T8);
			if (k < 0)
				return k;
			return 0;
		}
		/* "--token --client-secret x", "t= --flag x": the next option, not a value */
		if ((flag || v > p) && n - v >= 2 && s[v] == '-' && s[v + 1] == '-') {
			i = v;
			continue;
		}
		for (e = v; e < n && !is_value_end(s[e]); e++)
			;
		/* "t=x api_key: v": the colon is the next key's, see key_placeholder_at() */
		while (e > v && s[e - 1] == ':')
			e--;
		if (e == v)
			continue;
		k = edit(r, v, e, PH, ALGA_REDACT_RULE_T8);
		if (k < 0)
			return k;
		i = e;
	}
	return 0;
}

/* T10: \b[0-9]{4}(-[0-9]{4}){4}\b */
static int rule_t10(struct alga_redact *r, const char *s, size_t n)
{
	int k;

	for (size_t i = 0; i + 24 <= n; i++) {
		bool ok = true;

		if (!isdigit((unsigned char)s[i]) || (i > 0 && is_word_char(s[i - 1])))
			continue;
		for (size_t j = 0; j < 24 && ok; j++)
			ok = j % 5 == 4 ? s[i + j] == '-' : isdigit((unsigned char)s[i + j]);
		if (!ok || (i + 24 < n && is_word_char(s[i + 24])))
			continue;
		k = edit(r, i, i + 24, PH_TOKEN, ALGA_REDACT_RULE_T10);
		if (k < 0)
			return k;
		i += 23;
	}
	return 0;
}

/* swaps the result of a rule in as the current line */
static int commit(struct alga_redact *r, const char **s, size_t *n)
{
	struct buf tmp;
	int k;

	k = edits_apply(&r->edits, *s, *n, &r->alt);
	if (k <= 0)
		return k;
	tmp = r->cur;
	r->cur = r->alt;
	r->alt = tmp;
	*s = r->cur.p;
	*n = r->cur.len;
	r->view_valid = false;
	return 0;
}

/* asked by T7's and T8's prefilters of the same view: scanned once */
static bool any_secret_word(struct alga_redact *r)
{
	if (r->view_secret_word < 0)
		r->view_secret_word = has_secret_word_norm(r->norm.p, r->norm.len);
	return r->view_secret_word;
}

static int rule_t5(struct alga_redact *r, const char *s, size_t n)
{
	return regex_rule(r, &r->re_bearer, s, n, PH, ALGA_REDACT_RULE_T5, true, 6);
}

static int rule_t9(struct alga_redact *r, const char *s, size_t n)
{
	return regex_rule(r, &r->re_jwt, s, n, PH_JWT, ALGA_REDACT_RULE_T9, false, 0);
}

static int rule_t11(struct alga_redact *r, const char *s, size_t n)
{
	return regex_rule(r, &r->re_k3s, s, n, PH_K3S, ALGA_REDACT_RULE_T11, false, 0);
}

static int rule_t12(struct alga_redact *r, const char *s, size_t n)
{
	return regex_rule(r, &r->re_pem, s, n, PH_PEM, ALGA_REDACT_RULE_T12, false, 0);
}

/*
 * The prefilters: cheap tests that a rule could match at all. r->lower and
 * r->norm are the view of the line as the last refresh left it.
 */
static bool wants_t3(struct alga_redact *r, const char *s, size_t n)
{
	return has(r->lower.p, n, "authorization");
}

static bool wants_t4(struct alga_redact *r, const char *s, size_t n)
{
	return has(r->lower.p, n, "cookie") || has(r->lower.p, n, "alga_");
}

static bool wants_t5(struct alga_redact *r, const char *s, size_t n)
{
	return has(r->lower.p, n, "bearer");
}

static bool wants_t6(struct alga_redact *r, const char *s, size_t n)
{
	return has(s, n, "://");
}

static bool wants_t8(struct alga_redact *r, const char *s, size_t n)
{
	return any_secret_word(r) || has(s, n, PH_PREFIX);
}

static bool wants_t7(struct alga_redact *r, const char *s, size_t n)
{
	return memchr(s, '"', n) && wants_t8(r, s, n);
}

static bool wants_t9(struct alga_redact *r, const char *s, size_t n)
{
	return has(s, n, "eyJ");
}

static bool wants_t10(struct alga_redact *r, const char *s, size_t n)
{
	return memchr(s, '-', n);
}

static bool wants_t11(struct alga_redact *r, const char *s, size_t n)
{
	return has(s, n, "K10");
}

static bool wants_t12(struct alga_redact *r, const char *s, size_t n)
{
	return has(s, n, "LS0tLS1CRUdJTi");
}

/* T3-T12 over the current line */
static int stateless_rules(struct alga_redact *r, const char **ps, size_t *pn)
{
	static const struct {
		bool (*wants)(struct alga_redact *r, const char *s, size_t n);
		int (*apply)(struct alga_redact *r, const char *s, size_t n);
		bool refresh; /* later prefilters read the view of this rule's output */
	} stateless[] = {
		{ wants_t3, rule_t3, true },	 { wants_t4, rule_t4, true },
		{ wants_t5, rule_t5, true },	 { wants_t6, rule_t6, true },
		{ wants_t7, rule_t7, false },	 { wants_t8, rule_t8, false },
		{ wants_t9, rule_t9, false },	 { wants_t10, rule_t10, false },
		{ wants_t11, rule_t11, false }, { wants_t12, rule_t12, false },
	};
	const char *s = *ps;
	size_t n = *pn;
	int k;

	k = view(r, s, n);
	if (k < 0)
		return k;
	for (size_t i = 0; i < ELEMENTSOF(stateless); i++) {
		if (!stateless[i].wants(r, s, n))
			continue;
		k = stateless[i].apply(r, s, n);
		if (k >= 0)
			k = commit(r, &s, &n);
		if (k >= 0 && stateless[i].refresh)
			k = view(r, s, n);
		if (k < 0)
			return k;
	}

	*ps = s;
	*pn = n;
	return 0;
}

/* runs T0-T12 over one line (without its newline) and emits it */
static int process_line(struct alga_redact *r, const char *s, size_t n, bool newline)
{
	bool cr = false, drop;
	size_t from;
	int k;

	if (n > 0 && s[n - 1] == '\r') {
		cr = true;
		n--;
	}
	r->view_valid = false;
	r->edits.n = 0;

	/* a NUL-terminated copy: sanitizers' regexec() ignores REG_STARTEND */
	r->cur.len = 0;
	k = buf_put(&r->cur, s, n);
	if (k < 0)
		return k;
	s = r->cur.p;

	k = rule_t0(r, s, n);
	if (k >= 0)
		k = commit(r, &s, &n);
	if (k < 0)
		return k;

	k = rule_t1(r, s, n, &from, &drop);
	if (k < 0)
		return k;
	if (drop) {
		r->edits.n = 0;
		return 0;
	}
	if (from > 0) {
		/* after an END marker: only the rest of the line goes on */
		size_t off = from;

		for (size_t e = 0; e < r->edits.n; e++) {
			r->edits.v[e].start -= off;
			r->edits.v[e].end -= off;
		}
		s += off;
		n -= off;
	}
	k = commit(r, &s, &n);
	if (k < 0)
		return k;

	k = rule_t2(r, s, n, &drop);
	if (k < 0)
		return k;
	if (drop) {
		r->edits.n = 0;
		return 0;
	}
	k = commit(r, &s, &n);
	if (k < 0)
		return k;

	/*
	 * The stateless rules repeat until the line stops changing (a rule's
	 * output may expose what an earlier one must see), so redacting the
	 * output again finds nothing.
	 */
	for (unsigned pass = 0; pass < RULE_PASSES_MAX; pass++) {
		uint64_t before = alga_redact_get_total(r);

		if (pass > 0) {
			k = rule_t0(r, s, n);
			if (k >= 0)
				k = commit(r, &s, &n);
			if (k < 0)
				return k;
			/*
			 * Inside a data block T2 judges the line as changed, as a
			 * second redaction would: "k: \"\"" after "\"apiKey\":x"
			 * was a key line, "...\"apiKey\":[REDACTED]" is not
			 * (fuzz-redact). The block state was settled above.
			 */
			if (r->in_data && !r->in_scalar) {
				k = rule_t2(r, s, n, &drop);
				if (k < 0)
					return k;
				if (drop) {
					r->edits.n = 0;
					return 0;
				}
				k = commit(r, &s, &n);
				if (k < 0)
					return k;
			}
		}
		k = stateless_rules(r, &s, &n);
		if (k < 0)
			return k;
		if (alga_redact_get_total(r) == before)
			break;
	}

	k = buf_put(&r->emit, s, n);
	if (k >= 0 && cr)
		k = buf_put(&r->emit, "\r", 1);
	if (k >= 0 && newline)
		k = buf_put(&r->emit, "\n", 1);
	return k;
}

static int flush(struct alga_redact *r)
{
	int k = 0;

	if (r->emit.len == 0)
		return 0;
	if (r->write)
		k = r->write(r->emit.p, r->emit.len, r->userdata);
	alga_crypto_cleanse(r->emit.p, r->emit.len);
	r->emit.len = 0;
	return k < 0 ? k : 0;
}

static int emit_long_line_marker(struct alga_redact *r, bool newline)
{
	char m[96];

	(void)snprintf(m, sizeof(m), "[REDACTED LONG LINE: %" PRIu64 " bytes]%s", r->overflow_bytes,
		       newline ? "\n" : "");
	r->overflow = false;
	r->overflow_bytes = 0;
	return buf_puts(&r->emit, m);
}

int alga_redact_feed(struct alga_redact *r, const void *data, size_t len)
{
	const char *p = data;
	int k;

	if (!r || (!p && len))
		return -EINVAL;
	while (len > 0) {
		const char *nl = memchr(p, '\n', len);
		size_t take;

		if (r->overflow) {
			if (!nl) {
				r->overflow_bytes += len;
				break;
			}
			r->overflow_bytes += nl - p;
			k = emit_long_line_marker(r, true);
			if (k < 0)
				return k;
			len -= nl - p + 1;
			p = nl + 1;
			continue;
		}

		take = nl ? (size_t)(nl - p) : len;
		if (r->line.len == 0 && nl && take <= ALGA_REDACT_LINE_MAX) {
			/* the usual case: a whole line in the chunk, no copy */
			k = process_line(r, p, take, true);
		} else if (r->line.len + take > ALGA_REDACT_LINE_MAX) {
			size_t room = ALGA_REDACT_LINE_MAX - r->line.len;

			k = buf_put(&r->line, p, room);
			if (k >= 0)
				k = process_line(r, r->line.p, r->line.len, false);
			alga_crypto_cleanse(r->line.p, r->line.len);
			r->line.len = 0;
			r->overflow = true;
			r->overflow_bytes = 0;
			r->long_lines++;
			if (k < 0)
				return k;
			p += room;
			len -= room;
			continue;
		} else {
			k = buf_put(&r->line, p, take);
			if (k >= 0 && nl) {
				k = process_line(r, r->line.p, r->line.len, true);
				alga_crypto_cleanse(r->line.p, r->line.len);
				r->line.len = 0;
			}
		}
		if (k < 0)
			return k;
		if (!nl)
			break;
		len -= take + 1;
		p += take + 1;
		if (r->emit.len >= EMIT_FLUSH) {
			k = flush(r);
			if (k < 0)
				return k;
		}
	}
	return flush(r);
}

static void reset_stream(struct alga_redact *r)
{
	if (r->line.p)
		alga_crypto_cleanse(r->line.p, r->line.len);
	r->line.len = 0;
	r->overflow = false;
	r->overflow_bytes = 0;
	r->in_pem = r->in_data = r->in_scalar = false;
}

int alga_redact_finish(struct alga_redact *r)
{
	int k = 0;

	if (!r)
		return -EINVAL;
	if (r->overflow)
		k = emit_long_line_marker(r, false);
	else if (r->line.len > 0)
		k = process_line(r, r->line.p, r->line.len, false);
	reset_stream(r);
	if (k < 0)
		return k;
	return flush(r);
}

static int write_to_buf(const char *p, size_t len, void *userdata)
{
	return buf_put(userdata, p, len);
}

int alga_redact_string(struct alga_redact *r, const char *in, size_t len, char **ret,
		       size_t *ret_len)
{
	struct buf saved_line, out = {};
	alga_redact_write_t saved_write;
	void *saved_userdata;
	bool pem, data, ds, sc, of;
	uint64_t ob;
	size_t di, si;
	int k;

	if (!r || !ret || (!in && len))
		return -EINVAL;
	saved_line = r->line;
	saved_write = r->write;
	saved_userdata = r->userdata;
	pem = r->in_pem;
	data = r->in_data;
	ds = r->data_string;
	sc = r->in_scalar;
	of = r->overflow;
	ob = r->overflow_bytes;
	di = r->data_indent;
	si = r->scalar_indent;
	r->line = (struct buf){};
	r->write = write_to_buf;
	r->userdata = &out;
	reset_stream(r);

	k = alga_redact_feed(r, in, len);
	if (k >= 0)
		k = alga_redact_finish(r);
	if (k >= 0)
		k = buf_reserve(&out, 0);

	buf_wipe(&r->line);
	r->line = saved_line;
	r->write = saved_write;
	r->userdata = saved_userdata;
	r->in_pem = pem;
	r->in_data = data;
	r->data_string = ds;
	r->in_scalar = sc;
	r->overflow = of;
	r->overflow_bytes = ob;
	r->data_indent = di;
	r->scalar_indent = si;
	if (k < 0) {
		buf_wipe(&out);
		return k;
	}
	out.p[out.len] = 0;
	if (ret_len)
		*ret_len = out.len;
	*ret = out.p;
	return 0;
}

static bool inside_placeholder(const char *s, size_t n)
{
	for (size_t k = 0; k < ELEMENTSOF(placeholders); k++)
		if (memmem_or_null(placeholders[k], strlen(placeholders[k]), s, n) ||
		    memmem_or_null(s, n, PH_PREFIX, strlen(PH_PREFIX)))
			return true;
	return false;
}

static int add_form(struct alga_redact *r, const char *p, size_t n)
{
	char *c;

	if (n < ALGA_REDACT_SECRET_MIN)
		return 0;
	for (size_t i = 0; i < r->n_secrets; i++)
		if (r->secrets[i].len == n && memcmp(r->secrets[i].p, p, n) == 0)
			return 0;
	if (r->n_secrets >= ELEMENTSOF(r->secrets))
		return -E2BIG;
	c = malloc(n);
	if (!c)
		return -ENOMEM;
	memcpy(c, p, n);
	r->secrets[r->n_secrets++] = (struct secret){ c, n };
	return 1;
}

static int secret_cmp(const void *a, const void *b)
{
	const struct secret *x = a, *y = b;

	return x->len > y->len ? -1 : x->len < y->len;
}

int alga_redact_add_secret(struct alga_redact *r, const void *secret, size_t len)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char hex_upper[] = "0123456789ABCDEF", hex_lower[] = "0123456789abcdef";
	_cleanup_erase_free_ char *pu = NULL, *pl = NULL, *js = NULL, *b = NULL;
	const unsigned char *s = secret;
	size_t npu = 0, njs = 0, nb = 0;
	int k;

	if (!r || (!secret && len))
		return -EINVAL;
	if (len < ALGA_REDACT_SECRET_MIN)
		return 0;
	if (len > ALGA_REDACT_SECRET_MAX)
		return -E2BIG;
	if (memchr(s, '\n', len) || memchr(s, 0, len) || memchr(s, '\r', len) ||
	    inside_placeholder(secret, len))
		return -EINVAL;
	for (size_t i = 0; i < r->n_secrets; i++)
		if (r->secrets[i].len == len && memcmp(r->secrets[i].p, s, len) == 0)
			return 0;
	if (r->n_distinct >= ALGA_REDACT_SECRETS_MAX)
		return -E2BIG;

	/* zeroed: erase_and_freep() measures them with strlen() */
	pu = calloc(1, 3 * len + 1);
	pl = calloc(1, 3 * len + 1);
	js = calloc(1, 6 * len + 1);
	b = calloc(1, 4 * (len / 3 + 1) + 1);
	if (!pu || !pl || !js || !b)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			pu[npu] = pl[npu] = (char)c;
			npu++;
		} else {
			pu[npu] = pl[npu] = '%';
			pu[npu + 1] = hex_upper[c >> 4];
			pl[npu + 1] = hex_lower[c >> 4];
			pu[npu + 2] = hex_upper[c & 15];
			pl[npu + 2] = hex_lower[c & 15];
			npu += 3;
		}
		if (c == '"' || c == '\\' || c == '/') {
			js[njs++] = '\\';
			js[njs++] = (char)c;
		} else if (c < 0x20) {
			njs += (size_t)snprintf(js + njs, 7, "\\u%04x", c);
		} else
			js[njs++] = (char)c;
	}
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		size_t m = MIN(len - i, (size_t)3);

		if (m > 1)
			v |= (uint32_t)s[i + 1] << 8;
		if (m > 2)
			v |= s[i + 2];
		b[nb++] = b64[(v >> 18) & 63];
		b[nb++] = b64[(v >> 12) & 63];
		if (m > 1)
			b[nb++] = b64[(v >> 6) & 63];
		if (m > 2)
			b[nb++] = b64[v & 63];
	}

	if (r->n_secrets + 5 > ELEMENTSOF(r->secrets))
		return -E2BIG;
	k = add_form(r, secret, len);
	if (k >= 0)
		k = add_form(r, pu, npu);
	if (k >= 0)
		k = add_form(r, pl, npu);
	if (k >= 0)
		k = add_form(r, js, njs);
	if (k >= 0)
		k = add_form(r, b, nb);
	if (k < 0)
		return k;
	r->n_distinct++;
	/* longest first, so a form holding another is replaced whole */
	qsort(r->secrets, r->n_secrets, sizeof(r->secrets[0]), secret_cmp);
	return 1;
}

int alga_redact_new(alga_redact_write_t write, void *userdata, struct alga_redact **ret)
{
	_cleanup_(alga_redact_freep) struct alga_redact *r = NULL;

	if (!ret)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->write = write;
	r->userdata = userdata;

	if (regcomp(&r->re_bearer, "bearer[[:space:]]+[A-Za-z0-9._~+/=-]+", REG_EXTENDED | REG_ICASE) != 0)
		return -EINVAL;
	if (regcomp(&r->re_jwt, "eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]*",
		    REG_EXTENDED) != 0) {
		regfree(&r->re_bearer);
		return -EINVAL;
	}
	if (regcomp(&r->re_k3s, "K10[0-9a-f]{64}::[A-Za-z0-9_]+:[A-Za-z0-9]+", REG_EXTENDED) != 0) {
		regfree(&r->re_bearer);
		regfree(&r->re_jwt);
		return -EINVAL;
	}
	if (regcomp(&r->re_pem, "LS0tLS1CRUdJTi[A-Za-z0-9+/=]{20,}", REG_EXTENDED) != 0) {
		regfree(&r->re_bearer);
		regfree(&r->re_jwt);
		regfree(&r->re_k3s);
		return -EINVAL;
	}
	r->re_ok = true;

	if (buf_reserve(&r->line, ALGA_REDACT_LINE_BUFFER) < 0 ||
	    buf_reserve(&r->emit, EMIT_FLUSH + ALGA_REDACT_LINE_BUFFER) < 0)
		return -ENOMEM;

	*ret = TAKE_PTR(r);
	return 0;
}

struct alga_redact *alga_redact_free(struct alga_redact *r)
{
	if (!r)
		return NULL;
	if (r->re_ok) {
		regfree(&r->re_bearer);
		regfree(&r->re_jwt);
		regfree(&r->re_k3s);
		regfree(&r->re_pem);
	}
	for (size_t i = 0; i < r->n_secrets; i++) {
		alga_crypto_cleanse(r->secrets[i].p, r->secrets[i].len);
		free(r->secrets[i].p);
	}
	buf_wipe(&r->line);
	buf_wipe(&r->cur);
	buf_wipe(&r->alt);
	buf_wipe(&r->lower);
	buf_wipe(&r->norm);
	buf_wipe(&r->tok);
	buf_wipe(&r->emit);
	free(r->edits.v);
	free(r->win);
	free(r);
	return NULL;
}

const struct alga_redact_rule_info *alga_redact_rules(size_t *ret_n)
{
	if (ret_n)
		*ret_n = ELEMENTSOF(rules);
	return rules;
}

const char *alga_redact_rule_to_string(enum alga_redact_rule rule)
{
	if ((unsigned)rule >= _ALGA_REDACT_RULE_MAX)
		return NULL;
	return rules[rule].id;
}

int alga_redact_rule_from_string(const char *s)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < ELEMENTSOF(rules); i++)
		if (strcasecmp(rules[i].id, s) == 0)
			return (int)i;
	return -EINVAL;
}

uint64_t alga_redact_get_count(const struct alga_redact *r, enum alga_redact_rule rule)
{
	if (!r || (unsigned)rule >= _ALGA_REDACT_RULE_MAX)
		return 0;
	return r->counts[rule];
}

uint64_t alga_redact_get_total(const struct alga_redact *r)
{
	uint64_t t = 0;

	if (!r)
		return 0;
	for (size_t i = 0; i < _ALGA_REDACT_RULE_MAX; i++)
		t += r->counts[i];
	return t;
}

uint64_t alga_redact_get_long_lines(const struct alga_redact *r)
{
	return r ? r->long_lines : 0;
}

void alga_redact_reset_counts(struct alga_redact *r)
{
	if (!r)
		return;
	memset(r->counts, 0, sizeof(r->counts));
	r->long_lines = 0;
}

int alga_redact_counts_to_json(const struct alga_redact *r, struct json_object **ret)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;

	if (!r || !ret)
		return -EINVAL;
	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	for (size_t i = 0; i < _ALGA_REDACT_RULE_MAX; i++) {
		struct json_object *v;

		if (r->counts[i] == 0)
			continue;
		v = json_object_new_int64(r->counts[i] > INT64_MAX ? INT64_MAX : (int64_t)r->counts[i]);
		if (!v)
			return -ENOMEM;
		if (json_object_object_add(o, rules[i].id, v) < 0) {
			json_object_put(v);
			return -ENOMEM;
		}
	}
	*ret = TAKE_PTR(o);
	return 0;
}

/* ---- structural rules ---- */

/* where the walk is, for S4 (HelmRelease spec.values) */
enum walk_place {
	WALK_PLAIN,
	WALK_HELMRELEASE,
	WALK_HELMRELEASE_SPEC,
	WALK_HELM_VALUES,
};

static bool is_placeholder_string(struct json_object *v)
{
	return json_object_is_type(v, json_type_string) &&
	       str_has_prefix(json_object_get_string(v), PH_PREFIX);
}

static int replace_member(struct json_object *o, const char *key, const char *text)
{
	struct json_object *v = json_object_new_string(text);

	if (!v)
		return -ENOMEM;
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int replace_element(struct json_object *a, size_t i, const char *text, size_t len)
{
	struct json_object *v = json_object_new_string_len(text, (int)len);

	if (!v)
		return -ENOMEM;
	if (json_object_array_put_idx(a, i, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

/* T0 on one string value; returns 1 with *ret (new, caller frees) when changed */
static int json_string_t0(struct alga_redact *r, struct json_object *v, char **ret, size_t *ret_len)
{
	const char *s = json_object_get_string(v);
	size_t n = (size_t)json_object_get_string_len(v);
	int k;

	if (r->n_secrets == 0)
		return 0;
	r->edits.n = 0;
	k = rule_t0(r, s, n);
	if (k < 0)
		return k;
	if (r->edits.n == 0)
		return 0;
	k = edits_apply(&r->edits, s, n, &r->alt);
	if (k < 0)
		return k;
	*ret = strndup(r->alt.p, r->alt.len);
	if (!*ret)
		return -ENOMEM;
	*ret_len = r->alt.len;
	return 1;
}

static bool is_secret_type(struct json_object *o)
{
	struct json_object *t;
	const char *s;

	if (!json_object_object_get_ex(o, "type", &t) || !json_object_is_type(t, json_type_string))
		return false;
	s = json_object_get_string(t);
	return streq(s, "Opaque") || str_has_prefix(s, "kubernetes.io/") ||
	       str_has_prefix(s, "helm.sh/") || str_has_prefix(s, "bootstrap.kubernetes.io/");
}

static int redact_secret_data(struct alga_redact *r, struct json_object *o)
{
	static const char *const fields[] = { "data", "stringData", "binaryData" };
	int n = 0, k;

	for (size_t f = 0; f < ELEMENTSOF(fields); f++) {
		struct json_object *d;

		if (!json_object_object_get_ex(o, fields[f], &d) || !d)
			continue;
		if (!json_object_is_type(d, json_type_object)) {
			if (is_placeholder_string(d))
				continue;
			k = replace_member(o, fields[f], PH);
			if (k < 0)
				return k;
			r->counts[ALGA_REDACT_RULE_S1]++;
			n++;
			continue;
		}
		json_object_object_foreach(d, key, val) {
			char text[64];

			if (is_placeholder_string(val))
				continue;
			if (json_object_is_type(val, json_type_string))
				(void)snprintf(text, sizeof(text), "[REDACTED len=%d]",
					       json_object_get_string_len(val));
			else
				(void)snprintf(text, sizeof(text), "%s", PH);
			k = replace_member(d, key, text);
			if (k < 0)
				return k;
			r->counts[ALGA_REDACT_RULE_S1]++;
			n++;
		}
	}
	return n;
}

static int walk(struct alga_redact *r, struct json_object *o, unsigned depth, enum walk_place place,
		bool secret_items);

static int walk_array(struct alga_redact *r, struct json_object *a, unsigned depth,
		      enum walk_place place, bool secret_items)
{
	size_t len = json_object_array_length(a);
	int n = 0, k;

	for (size_t i = 0; i < len; i++) {
		struct json_object *e = json_object_array_get_idx(a, i);

		if (json_object_is_type(e, json_type_string)) {
			_cleanup_free_ char *s = NULL;
			size_t sl;

			k = json_string_t0(r, e, &s, &sl);
			if (k < 0)
				return k;
			if (k == 0)
				continue;
			k = replace_element(a, i, s, sl);
			if (k < 0)
				return k;
			n++;
			continue;
		}
		k = walk(r, e, depth + 1, place == WALK_HELM_VALUES ? place : WALK_PLAIN, secret_items);
		if (k < 0)
			return k;
		n += k;
	}
	return n;
}

static int walk(struct alga_redact *r, struct json_object *o, unsigned depth, enum walk_place place,
		bool secret_item)
{
	struct json_object *kind_o, *v;
	const char *kind = NULL;
	bool secret, secret_list;
	int n = 0, k;

	if (!o)
		return 0;
	if (depth > ALGA_REDACT_JSON_DEPTH_MAX)
		return -E2BIG;
	if (json_object_is_type(o, json_type_array))
		return walk_array(r, o, depth, place, false);
	if (!json_object_is_type(o, json_type_object))
		return 0;

	if (json_object_object_get_ex(o, "kind", &kind_o) &&
	    json_object_is_type(kind_o, json_type_string))
		kind = json_object_get_string(kind_o);
	secret = (kind && streq(kind, "Secret")) || secret_item ||
		 ((json_object_object_get_ex(o, "data", &v) ||
		   json_object_object_get_ex(o, "stringData", &v)) &&
		  is_secret_type(o));
	secret_list = kind && streq(kind, "SecretList");
	if (kind && streq(kind, "HelmRelease") && place == WALK_PLAIN)
		place = WALK_HELMRELEASE;

	/* S1 */
	if (secret) {
		k = redact_secret_data(r, o);
		if (k < 0)
			return k;
		n += k;
	}

	/* S2 */
	if (json_object_object_get_ex(o, "managedFields", NULL)) {
		json_object_object_del(o, "managedFields");
		r->counts[ALGA_REDACT_RULE_S2]++;
		n++;
	}
	if (json_object_object_get_ex(o, "kubectl.kubernetes.io/last-applied-configuration", NULL)) {
		json_object_object_del(o, "kubectl.kubernetes.io/last-applied-configuration");
		r->counts[ALGA_REDACT_RULE_S2]++;
		n++;
	}

	/* S3, S4, T0 and the walk down */
	json_object_object_foreach(o, key, val) {
		enum walk_place child = WALK_PLAIN;
		bool is_secret;

		if (secret && (streq(key, "data") || streq(key, "stringData") || streq(key, "binaryData")))
			continue;
		k = key_is_secret(r, key, strlen(key), &is_secret);
		if (k < 0)
			return k;
		if (is_secret) {
			if (is_placeholder_string(val))
				continue;
			k = replace_member(o, key, PH);
			if (k < 0)
				return k;
			r->counts[place == WALK_HELM_VALUES ? ALGA_REDACT_RULE_S4 : ALGA_REDACT_RULE_S3]++;
			n++;
			continue;
		}
		if (json_object_is_type(val, json_type_string)) {
			_cleanup_free_ char *s = NULL;
			size_t sl;
			struct json_object *nv;

			k = json_string_t0(r, val, &s, &sl);
			if (k < 0)
				return k;
			if (k == 0)
				continue;
			nv = json_object_new_string_len(s, (int)sl);
			if (!nv || json_object_object_add(o, key, nv) < 0) {
				json_object_put(nv);
				return -ENOMEM;
			}
			n++;
			continue;
		}
		if (place == WALK_HELMRELEASE && streq(key, "spec"))
			child = WALK_HELMRELEASE_SPEC;
		else if (place == WALK_HELMRELEASE_SPEC && streq(key, "values"))
			child = WALK_HELM_VALUES;
		else if (place == WALK_HELM_VALUES)
			child = WALK_HELM_VALUES;
		if (secret_list && streq(key, "items") && json_object_is_type(val, json_type_array))
			k = walk_array(r, val, depth + 1, child, true);
		else
			k = walk(r, val, depth + 1, child, false);
		if (k < 0)
			return k;
		n += k;
	}
	return n;
}

int alga_redact_json(struct alga_redact *r, struct json_object *obj)
{
	if (!r)
		return -EINVAL;
	return walk(r, obj, 0, WALK_PLAIN, false);
}
