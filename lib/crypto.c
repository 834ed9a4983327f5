/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * SHA-256 uses OpenSSL's low-level SHA256_* functions, deprecated since
 * 3.0 in favour of EVP. EVP's first use loads the provider machinery,
 * which costs a process ~2 MB of resident memory (measured: 2.8 → 5.0 MB
 * for one EVP_Digest, 2.9 MB with SHA256_Init). alga-bundle and the agent
 * hash every archive they write and need nothing else from libcrypto, and
 * the low-level functions compute the same FIPS 180-4 digest. HMAC, scrypt
 * and random bytes stay on EVP/RAND.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "crypto.h"

struct alga_sha256 {
	SHA256_CTX ctx;
};

int alga_crypto_random_bytes(void *buf, size_t n)
{
	if (n > INT32_MAX)
		return -EINVAL;
	if (RAND_bytes(buf, (int)n) != 1) {
		OPENSSL_cleanse(buf, n);
		return -EIO;
	}
	return 0;
}

int alga_crypto_sha256(const void *data, size_t len, uint8_t out[static ALGA_SHA256_SIZE])
{
	SHA256_CTX ctx;
	int ok;

	ok = SHA256_Init(&ctx) == 1 && SHA256_Update(&ctx, data, len) == 1 &&
	     SHA256_Final(out, &ctx) == 1;
	OPENSSL_cleanse(&ctx, sizeof(ctx));
	return ok ? 0 : -EIO;
}

int alga_sha256_new(struct alga_sha256 **ret)
{
	struct alga_sha256 *h;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	if (SHA256_Init(&h->ctx) != 1) {
		alga_sha256_free(h);
		return -EIO;
	}
	*ret = h;
	return 0;
}

int alga_sha256_update(struct alga_sha256 *h, const void *data, size_t len)
{
	if (SHA256_Update(&h->ctx, data, len) != 1)
		return -EIO;
	return 0;
}

int alga_sha256_final(struct alga_sha256 *h, uint8_t out[static ALGA_SHA256_SIZE])
{
	if (SHA256_Final(out, &h->ctx) != 1)
		return -EIO;
	return 0;
}

struct alga_sha256 *alga_sha256_free(struct alga_sha256 *h)
{
	if (!h)
		return NULL;
	OPENSSL_cleanse(h, sizeof(*h));
	free(h);
	return NULL;
}

int alga_crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
			    uint8_t out[static ALGA_SHA256_SIZE])
{
	unsigned int n = 0;

	if (key_len > INT32_MAX)
		return -EINVAL;
	if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n) || n != ALGA_SHA256_SIZE)
		return -EIO;
	return 0;
}

int alga_crypto_scrypt(const void *pass, size_t pass_len, const void *salt, size_t salt_len,
		       uint64_t n, uint64_t r, uint64_t p, void *out, size_t out_len)
{
	if (n < 2 || (n & (n - 1)) != 0 || r == 0 || p == 0)
		return -EINVAL;
	if (r > ALGA_SCRYPT_MEM_MAX / 128 || n > ALGA_SCRYPT_MEM_MAX / 128 / r)
		return -EINVAL;

	if (EVP_PBE_scrypt(pass, pass_len, salt, salt_len, n, r, p,
			   (uint64_t)ALGA_SCRYPT_MEM_MAX + 1024 * 1024, out, out_len) != 1) {
		OPENSSL_cleanse(out, out_len);
		return -EIO;
	}
	return 0;
}

bool alga_crypto_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

void alga_crypto_cleanse(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}

void alga_hex_encode(const void *data, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *d = data;

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 0xf];
	}
	out[2 * len] = '\0';
}

int alga_base64url_encode(const void *data, size_t len, char **ret)
{
	static const char table[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const uint8_t *d = data;
	char *s, *p;

	if (len > SIZE_MAX / 4 - 4)
		return -E2BIG;
	s = p = malloc((len + 2) / 3 * 4 + 1);
	if (!s)
		return -ENOMEM;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16;
		size_t left = len - i;

		if (left > 1)
			v |= (uint32_t)d[i + 1] << 8;
		if (left > 2)
			v |= d[i + 2];
		*p++ = table[(v >> 18) & 63];
		*p++ = table[(v >> 12) & 63];
		if (left > 1)
			*p++ = table[(v >> 6) & 63];
		if (left > 2)
			*p++ = table[v & 63];
	}
	*p = '\0';
	*ret = s;
	return 0;
}
