/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <glib.h>
#include <string.h>

#include "crypto.h"

static void hex_of(const void *data, size_t n, char *out)
{
	alga_hex_encode(data, n, out);
}

static void test_sha256_vectors(void)
{
	uint8_t d[ALGA_SHA256_SIZE];
	char hex[ALGA_SHA256_HEX_SIZE];

	g_assert_cmpint(alga_crypto_sha256("abc", 3, d), ==, 0);
	hex_of(d, sizeof(d), hex);
	g_assert_cmpstr(hex, ==, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

	g_assert_cmpint(alga_crypto_sha256("", 0, d), ==, 0);
	hex_of(d, sizeof(d), hex);
	g_assert_cmpstr(hex, ==, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_sha256_streaming(void)
{
	_cleanup_(alga_sha256_freep) struct alga_sha256 *h = NULL;
	uint8_t a[ALGA_SHA256_SIZE], b[ALGA_SHA256_SIZE];
	const char *msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

	g_assert_cmpint(alga_sha256_new(&h), ==, 0);
	for (const char *p = msg; *p; p += 7)
		g_assert_cmpint(alga_sha256_update(h, p, MIN(strlen(p), (size_t)7)), ==, 0);
	g_assert_cmpint(alga_sha256_final(h, a), ==, 0);
	g_assert_cmpint(alga_crypto_sha256(msg, strlen(msg), b), ==, 0);
	g_assert_cmpmem(a, sizeof(a), b, sizeof(b));
}

static void test_hmac_rfc4231(void)
{
	uint8_t d[ALGA_SHA256_SIZE];
	char hex[ALGA_SHA256_HEX_SIZE];

	/* RFC 4231 test case 2 */
	g_assert_cmpint(alga_crypto_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d), ==, 0);
	hex_of(d, sizeof(d), hex);
	g_assert_cmpstr(hex, ==, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_scrypt_rfc7914(void)
{
	uint8_t out[64];
	char hex[129];

	/* RFC 7914 §12, first vector */
	g_assert_cmpint(alga_crypto_scrypt("", 0, "", 0, 16, 1, 1, out, sizeof(out)), ==, 0);
	hex_of(out, sizeof(out), hex);
	g_assert_cmpstr(hex, ==,
			"77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
			"fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906");

	/* second vector */
	g_assert_cmpint(alga_crypto_scrypt("password", 8, "NaCl", 4, 1024, 8, 16, out, sizeof(out)), ==, 0);
	hex_of(out, sizeof(out), hex);
	g_assert_cmpstr(hex, ==,
			"fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
			"2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
}

static void test_scrypt_bad_params(void)
{
	uint8_t out[16];

	g_assert_cmpint(alga_crypto_scrypt("p", 1, "s", 1, 1000, 8, 1, out, sizeof(out)), ==, -EINVAL);
	g_assert_cmpint(alga_crypto_scrypt("p", 1, "s", 1, 0, 8, 1, out, sizeof(out)), ==, -EINVAL);
	g_assert_cmpint(alga_crypto_scrypt("p", 1, "s", 1, 16, 0, 1, out, sizeof(out)), ==, -EINVAL);
	/* one power of two past the memory cap: 128 * 8 * 2^17 = 128 MiB */
	g_assert_cmpint(alga_crypto_scrypt("p", 1, "s", 1, 1u << 17, 8, 1, out, sizeof(out)), ==, -EINVAL);
}

static void test_equal(void)
{
	g_assert_true(alga_crypto_equal("abcd", "abcd", 4));
	g_assert_false(alga_crypto_equal("abcd", "abce", 4));
	g_assert_true(alga_crypto_equal("x", "y", 0));
}

static void test_cleanse(void)
{
	char buf[8] = "secret!";

	alga_crypto_cleanse(buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		g_assert_cmpint(buf[i], ==, 0);
}

static void test_random_bytes(void)
{
	uint8_t a[32] = {}, b[32] = {};

	g_assert_cmpint(alga_crypto_random_bytes(a, sizeof(a)), ==, 0);
	g_assert_cmpint(alga_crypto_random_bytes(b, sizeof(b)), ==, 0);
	g_assert_false(memcmp(a, b, sizeof(a)) == 0);
}

static void test_base64url(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", "" },	      { "f", "Zg" },	     { "fo", "Zm8" },
		{ "foo", "Zm9v" },    { "foob", "Zm9vYg" },  { "fooba", "Zm9vYmE" },
		{ "foobar", "Zm9vYmFy" }, { "\xfb\xff", "-_8" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *s = NULL;

		g_assert_cmpint(alga_base64url_encode(cases[i].in, strlen(cases[i].in), &s), ==, 0);
		g_assert_cmpstr(s, ==, cases[i].out);
	}
}

static void test_hex(void)
{
	char out[7];

	alga_hex_encode("\x00\xab\xff", 3, out);
	g_assert_cmpstr(out, ==, "00abff");
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/crypto/sha256/vectors", test_sha256_vectors);
	g_test_add_func("/crypto/sha256/streaming", test_sha256_streaming);
	g_test_add_func("/crypto/hmac_sha256/rfc4231", test_hmac_rfc4231);
	g_test_add_func("/crypto/scrypt/rfc7914", test_scrypt_rfc7914);
	g_test_add_func("/crypto/scrypt/bad-params", test_scrypt_bad_params);
	g_test_add_func("/crypto/equal/basic", test_equal);
	g_test_add_func("/crypto/cleanse/zeroes", test_cleanse);
	g_test_add_func("/crypto/random_bytes/differ", test_random_bytes);
	g_test_add_func("/crypto/base64url/rfc4648", test_base64url);
	g_test_add_func("/crypto/hex/encode", test_hex);

	return g_test_run();
}
