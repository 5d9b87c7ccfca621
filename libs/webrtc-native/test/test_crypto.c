/* crypto: known-answer vectors for whichever backend the build links (TLS=openssl|mbedtls):
 * FIPS 180-4 examples (NIST CSRC), RFC 2202 / RFC 4231 HMAC, RFC 4648 §10 base64. */
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "test.h"

static const char *hexof(const uint8_t *p, size_t n)
{
	static char out[2 * CRYPTO_MAX_MD_LEN + 1];
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
	return out;
}

TEST(sha_vectors)
{
	uint8_t md[CRYPTO_MAX_MD_LEN];

	CHECK_EQ_INT(crypto_sha1("abc", 3, md), 0);
	CHECK_EQ_STR(hexof(md, CRYPTO_SHA1_LEN), "a9993e364706816aba3e25717850c26c9cd0d89d");
	CHECK_EQ_INT(crypto_sha256("abc", 3, md), 0);
	CHECK_EQ_STR(hexof(md, CRYPTO_SHA256_LEN),
		     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CHECK_EQ_INT(crypto_sha512("abc", 3, md), 0);
	CHECK_EQ_STR(hexof(md, CRYPTO_SHA512_LEN),
		     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
		     "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
	CHECK_EQ_INT(crypto_sha256("", 0, md), 0);
	CHECK_EQ_STR(hexof(md, CRYPTO_SHA256_LEN),
		     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	CHECK_EQ_INT((int)crypto_hash_len(CRYPTO_SHA1), 20);
	CHECK_EQ_INT((int)crypto_hash_len(CRYPTO_SHA512), 64);
}

/* The digest of parts equals the digest of their concatenation. */
TEST(hash_parts)
{
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	struct crypto_buf parts[3] = { { two, 5 }, { two + 5, 0 }, { two + 5, strlen(two) - 5 } };
	uint8_t a[CRYPTO_SHA256_LEN], b[CRYPTO_SHA256_LEN];

	CHECK_EQ_INT(crypto_hash(CRYPTO_SHA256, parts, 3, a), 0);
	CHECK_EQ_INT(crypto_sha256(two, strlen(two), b), 0);
	CHECK_MEM(a, b, sizeof(a));
	CHECK_EQ_STR(hexof(a, sizeof(a)),
		     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(hmac_vectors)
{
	uint8_t key[20], mac[CRYPTO_MAX_MD_LEN];
	struct crypto_buf hi = { "Hi There", 8 };
	struct crypto_buf what[2] = { { "what do ya want ", 16 }, { "for nothing?", 12 } };

	/* RFC 2202 §3 test case 1 (HMAC-SHA1) and RFC 4231 §4.2 test case 1 (HMAC-SHA256) */
	memset(key, 0x0b, sizeof(key));
	CHECK_EQ_INT(crypto_hmac(CRYPTO_SHA1, key, 20, &hi, 1, mac), 0);
	CHECK_EQ_STR(hexof(mac, 20), "b617318655057264e28bc0b6fb378c8ef146be00");
	CHECK_EQ_INT(crypto_hmac(CRYPTO_SHA256, key, 20, &hi, 1, mac), 0);
	CHECK_EQ_STR(hexof(mac, 32),
		     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	/* RFC 4231 §4.3 test case 2, the message in two parts */
	CHECK_EQ_INT(crypto_hmac(CRYPTO_SHA256, (const uint8_t *)"Jefe", 4, what, 2, mac), 0);
	CHECK_EQ_STR(hexof(mac, 32),
		     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* an empty key is allowed (STUN with an empty password) */
	CHECK_EQ_INT(crypto_hmac(CRYPTO_SHA1, NULL, 0, &hi, 1, mac), 0);
	/* SHA-512 HMAC is not offered */
	CHECK_EQ_INT(crypto_hmac(CRYPTO_SHA512, key, 20, &hi, 1, mac), -1);
}

TEST(base64_vectors)
{
	static const char *const want[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
					    "Zm9vYmFy" };
	char out[16];

	for (size_t n = 0; n <= 6; n++) {
		memset(out, 'x', sizeof(out));
		CHECK_EQ_INT((int)crypto_base64_encode(out, (const uint8_t *)"foobar", n),
			     (int)strlen(want[n]));
		CHECK_EQ_STR(out, want[n]);
	}
}

TEST(random_and_compare)
{
	uint8_t a[64], b[64], zero[64] = { 0 };

	CHECK_EQ_INT(crypto_random(a, sizeof(a)), 0);
	CHECK_EQ_INT(crypto_random(b, sizeof(b)), 0);
	CHECK(!crypto_memeq(a, b, sizeof(a))); /* 2^-512 */
	CHECK(!crypto_memeq(a, zero, sizeof(a)));
	CHECK(crypto_memeq(a, a, sizeof(a)));
	memcpy(b, a, sizeof(a));
	b[63] ^= 1;
	CHECK(!crypto_memeq(a, b, sizeof(a)));
	CHECK(crypto_memeq(a, b, 63));
	crypto_cleanse(a, sizeof(a));
	CHECK_MEM(a, zero, sizeof(a));
	/* more than one DRBG request's worth (mbedTLS: 1024 bytes a call) */
	{
		static uint8_t big[5000];

		CHECK_EQ_INT(crypto_random(big, sizeof(big)), 0);
		CHECK(!crypto_memeq(big + 4000, zero, 64));
	}
	printf("# backend: %s\n", crypto_backend());
}

int main(void)
{
	RUN(sha_vectors);
	RUN(hash_parts);
	RUN(hmac_vectors);
	RUN(base64_vectors);
	RUN(random_and_compare);
	return test_summary();
}
