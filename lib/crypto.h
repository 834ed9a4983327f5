/* SPDX-License-Identifier: AGPL-3.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define ALGA_SHA256_SIZE 32u
#define ALGA_SHA256_HEX_SIZE (2u * ALGA_SHA256_SIZE + 1u)
/* scrypt parameters a caller may ask for: memory is 128 * r * N bytes */
#define ALGA_SCRYPT_MEM_MAX (64u * 1024u * 1024u)

/* streaming SHA-256 (EVP) */
struct alga_sha256;

/*
 * Fills buf with n bytes from OpenSSL's CSPRNG (RAND_bytes). -EIO when the
 * generator refuses; buf is then cleansed, never half random.
 */
int alga_crypto_random_bytes(void *buf, size_t n);

/* SHA-256 of data into out (ALGA_SHA256_SIZE bytes). 0 or -ENOMEM/-EIO. */
int alga_crypto_sha256(const void *data, size_t len, uint8_t out[static ALGA_SHA256_SIZE]);

/* starts a streaming digest; free with alga_sha256_free() */
int alga_sha256_new(struct alga_sha256 **ret);
int alga_sha256_update(struct alga_sha256 *h, const void *data, size_t len);
/* ends the digest; h may not be updated afterwards */
int alga_sha256_final(struct alga_sha256 *h, uint8_t out[static ALGA_SHA256_SIZE]);
struct alga_sha256 *alga_sha256_free(struct alga_sha256 *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct alga_sha256 *, alga_sha256_free);

/* HMAC-SHA256 of data under key into out. 0 or -EIO. */
int alga_crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
			    uint8_t out[static ALGA_SHA256_SIZE]);

/*
 * scrypt (RFC 7914) of pass and salt with cost n (a power of 2), r, p into
 * out_len bytes. -EINVAL for parameters over ALGA_SCRYPT_MEM_MAX or not a
 * power of 2, -EIO when OpenSSL fails.
 */
int alga_crypto_scrypt(const void *pass, size_t pass_len, const void *salt, size_t salt_len,
		       uint64_t n, uint64_t r, uint64_t p, void *out, size_t out_len);

/* constant-time comparison of n bytes */
bool alga_crypto_equal(const void *a, const void *b, size_t n);

/* wipes n bytes where the compiler cannot optimise it away */
void alga_crypto_cleanse(void *p, size_t n);

/* lower-case hex of data into out (2 * len + 1 bytes, NUL-terminated) */
void alga_hex_encode(const void *data, size_t len, char *out);

/* unpadded base64url (RFC 4648 §5) of data into a new string */
int alga_base64url_encode(const void *data, size_t len, char **ret);

/* frees a string holding a secret, wiping it first */
static inline void erase_and_freep(char **p)
{
	if (*p) {
		alga_crypto_cleanse(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}
#define _cleanup_erase_free_ _cleanup_(erase_and_freep)
