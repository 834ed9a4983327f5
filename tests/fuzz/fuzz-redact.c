/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The redaction engine (host.md test 45): no crash or leak; redacting the
 * output again changes nothing; the stream gives the same output wherever
 * the input is cut; a T7/T8-shaped canary spliced in anywhere never
 * survives, nor does a known secret; structural redaction of whatever
 * parses as JSON is idempotent too.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "json.h"
#include "redact.h"

#define KNOWN "fuzz-known-secret-0042"
#define CANARY "CANARYq7Zx"

struct sink {
	char *p;
	size_t len;
};

static int sink_write(const char *buf, size_t len, void *userdata)
{
	struct sink *s = userdata;
	char *n = realloc(s->p, s->len + len + 1);

	if (!n)
		return -ENOMEM;
	memcpy(n + s->len, buf, len);
	s->p = n;
	s->len += len;
	return 0;
}

static struct alga_redact *ctx(alga_redact_write_t w, void *userdata)
{
	struct alga_redact *r = NULL;

	if (alga_redact_new(w, userdata, &r) < 0)
		abort();
	if (alga_redact_add_secret(r, KNOWN, strlen(KNOWN)) != 1)
		abort();
	return r;
}

static char *redact(const char *in, size_t len, size_t *ret_len)
{
	_cleanup_(alga_redact_freep) struct alga_redact *r = ctx(NULL, NULL);
	char *out = NULL;

	if (alga_redact_string(r, in, len, &out, ret_len) < 0)
		abort();
	return out;
}

static bool contains(const char *h, size_t hn, const char *needle)
{
	return memmem(h, hn, needle, strlen(needle)) != NULL;
}

static void check_text(const char *in, size_t len, size_t cut)
{
	_cleanup_(alga_redact_freep) struct alga_redact *s = NULL;
	_cleanup_free_ char *out = NULL, *again = NULL;
	struct sink split = {};
	size_t n, n2;

	out = redact(in, len, &n);
	again = redact(out, n, &n2);
	if (n != n2 || memcmp(out, again, n) != 0)
		abort();
	if (contains(out, n, KNOWN))
		abort();

	s = ctx(sink_write, &split);
	if (alga_redact_feed(s, in, cut) < 0 || alga_redact_feed(s, in + cut, len - cut) < 0 ||
	    alga_redact_finish(s) < 0)
		abort();
	if (split.len != n || (n && memcmp(split.p, out, n) != 0))
		abort();
	free(split.p);
}

/* in with text inserted at pos */
static char *splice(const uint8_t *data, size_t size, size_t pos, const char *text, size_t *ret_len)
{
	size_t tl = strlen(text);
	char *b = malloc(size + tl + 1);

	if (!b)
		abort();
	memcpy(b, data, pos);
	memcpy(b + pos, text, tl);
	memcpy(b + pos + tl, data + pos, size - pos);
	*ret_len = size + tl;
	return b;
}

static void check_json(const uint8_t *data, size_t size)
{
	_cleanup_(alga_redact_freep) struct alga_redact *r = ctx(NULL, NULL);
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	_cleanup_free_ char *s1 = NULL, *s2 = NULL;

	if (alga_json_parse((const char *)data, size, NULL, &o, NULL) < 0)
		return;
	if (alga_redact_json(r, o) < 0)
		return;
	if (alga_json_format(o, 0, &s1) < 0)
		abort();
	if (alga_redact_json(r, o) != 0)
		abort();
	if (alga_json_format(o, 0, &s2) < 0 || strcmp(s1, s2) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const canaries[] = {
		"password=" CANARY,
		"\"password\":\"" CANARY "\"",
		" --client-secret " CANARY " ",
		"api_key: " CANARY,
		"{\"Token\": \"" CANARY "\"}",
	};
	size_t pos, cut, n, on;

	if (size > 64 * 1024)
		return 0;
	cut = size ? ((size_t)data[0] * 251u + (size > 1 ? data[size - 1] : 0)) % (size + 1) : 0;
	check_text((const char *)data, size, cut);
	check_json(data, size);

	/* a canary at a point the input picks, in each shape */
	pos = size ? ((size_t)data[size / 2] * 257u + size) % (size + 1) : 0;
	for (size_t c = 0; c < sizeof(canaries) / sizeof(canaries[0]); c++) {
		_cleanup_free_ char *in = NULL, *out = NULL;

		in = splice(data, size, pos, canaries[c], &n);
		if (contains(in, pos, CANARY) ||
		    contains(in + pos + strlen(canaries[c]), n - pos - strlen(canaries[c]), CANARY))
			continue; /* the input brought its own copy */
		out = redact(in, n, &on);
		if (contains(out, on, CANARY))
			abort();
	}

	/* and the known secret spliced in, too */
	{
		_cleanup_free_ char *in = NULL, *out = NULL;

		in = splice(data, size, pos, KNOWN, &n);
		out = redact(in, n, &on);
		if (contains(out, on, KNOWN))
			abort();
	}
	return 0;
}
