/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "token.h"

/* largest multiple of 10000 below 2^16: draws at or above it are redrawn */
#define TOKEN_DRAW_LIMIT 60000u

int alga_token_generate(char ret[static ALGA_TOKEN_LEN + 1])
{
	char *p = ret;

	for (unsigned g = 0; g < ALGA_TOKEN_GROUPS; g++) {
		uint16_t v;
		int r;

		do {
			r = alga_crypto_random_bytes(&v, sizeof(v));
			if (r < 0) {
				alga_crypto_cleanse(ret, ALGA_TOKEN_LEN + 1);
				return r;
			}
		} while (v >= TOKEN_DRAW_LIMIT);

		(void)snprintf(p, 6, g + 1 < ALGA_TOKEN_GROUPS ? "%04u-" : "%04u",
			       (unsigned)(v % 10000u));
		p += g + 1 < ALGA_TOKEN_GROUPS ? 5 : 4;
	}
	return 0;
}

bool alga_token_is_valid(const char *s, size_t len)
{
	if (len != ALGA_TOKEN_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (i % 5 == 4) {
			if (s[i] != '-')
				return false;
		} else if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return true;
}

static bool is_line(const char *buf, size_t len, size_t want)
{
	return len == want + 1 && buf[want] == '\n';
}

bool alga_token_file_is_valid(const char *buf, size_t len)
{
	return is_line(buf, len, ALGA_TOKEN_LEN) && alga_token_is_valid(buf, ALGA_TOKEN_LEN);
}

bool alga_session_secret_file_is_valid(const char *buf, size_t len)
{
	if (!is_line(buf, len, ALGA_SESSION_SECRET_LEN))
		return false;
	for (size_t i = 0; i < ALGA_SESSION_SECRET_LEN; i++)
		if (!strchr("0123456789abcdef", buf[i]) || buf[i] == '\0')
			return false;
	return true;
}

bool alga_auth_key_file_is_valid(const char *buf, size_t len)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

	if (!is_line(buf, len, ALGA_AUTH_KEY_LEN))
		return false;
	for (size_t i = 0; i < ALGA_AUTH_KEY_LEN; i++)
		if (buf[i] == '\0' || !strchr(alphabet, buf[i]))
			return false;
	return true;
}

int alga_token_generate_file(char **ret)
{
	char token[ALGA_TOKEN_LEN + 1];
	char *s;
	int r;

	r = alga_token_generate(token);
	if (r < 0)
		return r;
	r = asprintf(&s, "%s\n", token);
	alga_crypto_cleanse(token, sizeof(token));
	if (r < 0)
		return -ENOMEM;
	*ret = s;
	return 0;
}

int alga_session_secret_generate_file(char **ret)
{
	uint8_t key[ALGA_SESSION_SECRET_BYTES];
	char *s;
	int r;

	r = alga_crypto_random_bytes(key, sizeof(key));
	if (r < 0)
		return r;
	s = malloc(ALGA_SESSION_SECRET_LEN + 2);
	if (!s) {
		alga_crypto_cleanse(key, sizeof(key));
		return -ENOMEM;
	}
	alga_hex_encode(key, sizeof(key), s);
	alga_crypto_cleanse(key, sizeof(key));
	s[ALGA_SESSION_SECRET_LEN] = '\n';
	s[ALGA_SESSION_SECRET_LEN + 1] = '\0';
	*ret = s;
	return 0;
}

int alga_auth_key_generate_file(char **ret)
{
	uint8_t key[ALGA_AUTH_KEY_BYTES];
	_cleanup_erase_free_ char *b = NULL;
	char *s;
	int r;

	r = alga_crypto_random_bytes(key, sizeof(key));
	if (r < 0)
		return r;
	r = alga_base64url_encode(key, sizeof(key), &b);
	alga_crypto_cleanse(key, sizeof(key));
	if (r < 0)
		return r;
	if (asprintf(&s, "%s\n", b) < 0)
		return -ENOMEM;
	*ret = s;
	return 0;
}
