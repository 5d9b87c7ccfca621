/* crypto on mbedTLS 3.6 (TLS=mbedtls, the router builds); see crypto.h.
 *
 * crypto_random is a process-wide CTR-DRBG (NIST SP 800-90A, AES-256) seeded from
 * getrandom(2) / /dev/urandom by mbedTLS' entropy module on first use; dtls_mbedtls.c and
 * tls_client_mbedtls.c draw from the same generator (crypto_mbedtls_rng). pear-fogd is one
 * thread, so no locking.  A fork()ed child (mod_fog_proc) execs at once and draws nothing. */
#include "crypto.h"
#include "crypto_mbedtls.h"

#include <string.h>

#include <mbedtls/base64.h>
#include <mbedtls/constant_time.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/version.h>

static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;
static bool drbg_ready;

size_t crypto_hash_len(enum crypto_hash h)
{
	return h == CRYPTO_SHA1 ? CRYPTO_SHA1_LEN
	       : h == CRYPTO_SHA256 ? CRYPTO_SHA256_LEN
				    : CRYPTO_SHA512_LEN;
}

static const mbedtls_md_info_t *md_of(enum crypto_hash h)
{
	switch (h) {
	case CRYPTO_SHA1:
		return mbedtls_md_info_from_type(MBEDTLS_MD_SHA1);
	case CRYPTO_SHA256:
		return mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	case CRYPTO_SHA512:
		return mbedtls_md_info_from_type(MBEDTLS_MD_SHA512);
	}
	return NULL;
}

static int md_run(const mbedtls_md_info_t *info, const uint8_t *key, size_t key_len, bool hmac,
		  const struct crypto_buf *parts, size_t n, uint8_t *out)
{
	mbedtls_md_context_t c;
	int rc;

	if (!info)
		return -1;
	if (!hmac && n == 1)
		return mbedtls_md(info, parts[0].p, parts[0].len, out) ? -1 : 0;
	mbedtls_md_init(&c);
	rc = mbedtls_md_setup(&c, info, hmac);
	if (!rc)
		rc = hmac ? mbedtls_md_hmac_starts(&c, key, key_len) : mbedtls_md_starts(&c);
	for (size_t i = 0; !rc && i < n; i++)
		rc = hmac ? mbedtls_md_hmac_update(&c, parts[i].p, parts[i].len)
			  : mbedtls_md_update(&c, parts[i].p, parts[i].len);
	if (!rc)
		rc = hmac ? mbedtls_md_hmac_finish(&c, out) : mbedtls_md_finish(&c, out);
	mbedtls_md_free(&c);
	return rc ? -1 : 0;
}

int crypto_hash(enum crypto_hash h, const struct crypto_buf *parts, size_t n, uint8_t *out)
{
	return md_run(md_of(h), NULL, 0, false, parts, n, out);
}

int crypto_hmac(enum crypto_hash h, const uint8_t *key, size_t key_len,
		const struct crypto_buf *parts, size_t n, uint8_t *out)
{
	static const uint8_t empty_key[1];

	if (h != CRYPTO_SHA1 && h != CRYPTO_SHA256)
		return -1;
	return md_run(md_of(h), key_len ? key : empty_key, key_len, true, parts, n, out);
}

mbedtls_ctr_drbg_context *crypto_mbedtls_drbg(void)
{
	static const char pers[] = "pear-fogd";

	if (!drbg_ready) {
		mbedtls_entropy_init(&entropy);
		mbedtls_ctr_drbg_init(&drbg);
		if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
					  (const unsigned char *)pers, sizeof(pers) - 1)) {
			mbedtls_ctr_drbg_free(&drbg);
			mbedtls_entropy_free(&entropy);
			return NULL;
		}
		drbg_ready = true;
	}
	return &drbg;
}

int crypto_mbedtls_rng(void *unused, unsigned char *out, size_t len)
{
	mbedtls_ctr_drbg_context *d = crypto_mbedtls_drbg();

	return d ? mbedtls_ctr_drbg_random(d, out, len) : MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
}

int crypto_random(void *out, size_t len)
{
	/* mbedtls_ctr_drbg_random gives at most MBEDTLS_CTR_DRBG_MAX_REQUEST bytes a call */
	for (size_t off = 0; off < len;) {
		size_t n = len - off > MBEDTLS_CTR_DRBG_MAX_REQUEST ? MBEDTLS_CTR_DRBG_MAX_REQUEST
								    : len - off;
		if (crypto_mbedtls_rng(NULL, (unsigned char *)out + off, n))
			return -1;
		off += n;
	}
	return 0;
}

bool crypto_memeq(const void *a, const void *b, size_t len)
{
	return mbedtls_ct_memcmp(a, b, len) == 0;
}

void crypto_cleanse(void *p, size_t len)
{
	mbedtls_platform_zeroize(p, len);
}

size_t crypto_base64_encode(char *out, const uint8_t *in, size_t len)
{
	size_t olen = 0;

	/* cap as crypto.h promises: 4 * ceil(len / 3) + 1; mbedTLS writes no NUL for len 0 */
	if (mbedtls_base64_encode((unsigned char *)out, 4 * ((len + 2) / 3) + 1, &olen, in, len))
		olen = 0;
	out[olen] = '\0';
	return olen;
}

const char *crypto_backend(void)
{
	return "mbed TLS " MBEDTLS_VERSION_STRING;
}
