/* crypto on OpenSSL 3 (TLS=openssl); see crypto.h.  Failures leave OpenSSL's thread error
 * queue empty: dtls_openssl.c reads that queue after its own calls. */
#include "crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

size_t crypto_hash_len(enum crypto_hash h)
{
	return h == CRYPTO_SHA1 ? CRYPTO_SHA1_LEN
	       : h == CRYPTO_SHA256 ? CRYPTO_SHA256_LEN
				    : CRYPTO_SHA512_LEN;
}

static const EVP_MD *md_of(enum crypto_hash h)
{
	switch (h) {
	case CRYPTO_SHA1:
		return EVP_sha1();
	case CRYPTO_SHA256:
		return EVP_sha256();
	case CRYPTO_SHA512:
		return EVP_sha512();
	}
	return NULL;
}

int crypto_hash(enum crypto_hash h, const struct crypto_buf *parts, size_t n, uint8_t *out)
{
	const EVP_MD *md = md_of(h);
	EVP_MD_CTX *c;
	int ok;

	if (!md)
		return -1;
	if (n == 1) /* one range: EVP_Digest, no context allocation */
		ok = EVP_Digest(parts[0].p, parts[0].len, out, NULL, md, NULL);
	else {
		ok = (c = EVP_MD_CTX_new()) && EVP_DigestInit_ex(c, md, NULL);
		for (size_t i = 0; ok && i < n; i++)
			ok = EVP_DigestUpdate(c, parts[i].p, parts[i].len);
		ok = ok && EVP_DigestFinal_ex(c, out, NULL);
		EVP_MD_CTX_free(c);
	}
	if (!ok)
		ERR_clear_error();
	return ok ? 0 : -1;
}

int crypto_hmac(enum crypto_hash h, const uint8_t *key, size_t key_len,
		const struct crypto_buf *parts, size_t n, uint8_t *out)
{
	static const uint8_t empty_key[1];
	OSSL_PARAM params[2];
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx = NULL;
	size_t out_len = 0;
	int ok;

	if (h != CRYPTO_SHA1 && h != CRYPTO_SHA256)
		return -1;
	if (!(mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL))) {
		ERR_clear_error();
		return -1;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     h == CRYPTO_SHA1 ? "SHA1" : "SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	ok = (ctx = EVP_MAC_CTX_new(mac)) &&
	     EVP_MAC_init(ctx, key_len ? key : empty_key, key_len, params);
	for (size_t i = 0; ok && i < n; i++)
		ok = EVP_MAC_update(ctx, parts[i].p, parts[i].len);
	ok = ok && EVP_MAC_final(ctx, out, &out_len, CRYPTO_MAX_MD_LEN) &&
	     out_len == crypto_hash_len(h);
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	if (!ok)
		ERR_clear_error();
	return ok ? 0 : -1;
}

int crypto_random(void *out, size_t len)
{
	if (len > INT32_MAX || RAND_bytes(out, (int)len) != 1) {
		ERR_clear_error();
		return -1;
	}
	return 0;
}

bool crypto_memeq(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

void crypto_cleanse(void *p, size_t len)
{
	OPENSSL_cleanse(p, len);
}

size_t crypto_base64_encode(char *out, const uint8_t *in, size_t len)
{
	return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

const char *crypto_backend(void)
{
	return OpenSSL_version(OPENSSL_VERSION);
}
