/* SPDX-License-Identifier: AGPL-3.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

/*
 * The setup token and the secrets alga-token makes (host.md §4.2,
 * resolutions.md A4/A5): formats, generation and validation, shared by
 * alga-token and alga-setup.
 */

/* "DDDD-DDDD-DDDD-DDDD-DDDD": 5 groups of 4 digits, 66.4 bits */
#define ALGA_TOKEN_GROUPS 5u
#define ALGA_TOKEN_LEN 24u
/* a token, cookie-key or auth-key file larger than this is malformed */
#define ALGA_TOKEN_FILE_MAX 128u
/* session-secret: 32 random bytes as 64 lower-case hex digits */
#define ALGA_SESSION_SECRET_BYTES 32u
#define ALGA_SESSION_SECRET_LEN 64u
/* alga-auth-key: 32 random bytes as 43 unpadded base64url characters */
#define ALGA_AUTH_KEY_BYTES 32u
#define ALGA_AUTH_KEY_LEN 43u

/*
 * Draws a new token into ret (NUL-terminated): each group one 16-bit
 * draw, values >= 60000 drawn again, then mod 10000, so every group is
 * uniform. -EIO when the CSPRNG refuses; ret is then zeroed.
 */
int alga_token_generate(char ret[static ALGA_TOKEN_LEN + 1]);

/* true when s[0..len) is exactly a token, with no newline */
bool alga_token_is_valid(const char *s, size_t len);

/*
 * Formats of the files on disk: the value and one "\n", nothing else.
 * The three predicates check a whole file's contents.
 */
bool alga_token_file_is_valid(const char *buf, size_t len);
bool alga_session_secret_file_is_valid(const char *buf, size_t len);
bool alga_auth_key_file_is_valid(const char *buf, size_t len);

/* new file contents (value + "\n") in *ret; -EIO when the CSPRNG refuses */
int alga_token_generate_file(char **ret);
int alga_session_secret_generate_file(char **ret);
int alga_auth_key_generate_file(char **ret);
