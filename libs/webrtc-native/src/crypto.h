/* crypto: the hashes, MACs and randomness pear-fogd uses outside DTLS/TLS, behind one seam
 * with one implementation per TLS library (Makefile TLS=openssl|mbedtls):
 * src/crypto_openssl.c (OpenSSL 3, the Debian host build) and src/crypto_mbedtls.c
 * (mbedTLS 3.6, the router builds; scripts/router/mbedtls_config.h).
 *
 *   SHA-1, SHA-256, SHA-512 (FIPS 180-4)     STUN, chunk ids, WebSocket, the agent
 *   HMAC-SHA1 / HMAC-SHA256 (RFC 2104)       STUN MESSAGE-INTEGRITY(-SHA256), RFC 8489 §14.5/6
 *   crypto_random                            a CSPRNG (ICE credentials, WebSocket masks, ids)
 *   crypto_base64_encode (RFC 4648 §4)       Sec-WebSocket-Key/-Accept
 *
 * Every call is one-shot over a list of byte ranges and cannot fail short of the library
 * failing to allocate (OpenSSL) or to seed (the random generator): those return -1. */
#ifndef PEARFOG_CRYPTO_H
#define PEARFOG_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA1_LEN 20
#define CRYPTO_SHA256_LEN 32
#define CRYPTO_SHA512_LEN 64
#define CRYPTO_MAX_MD_LEN 64

enum crypto_hash {
	CRYPTO_SHA1,
	CRYPTO_SHA256,
	CRYPTO_SHA512,
};

/* One input range of a digest or MAC. */
struct crypto_buf {
	const void *p;
	size_t len;
};

/* Output length of hash h in bytes. */
size_t crypto_hash_len(enum crypto_hash h);
/* Digest of the concatenation of parts[0..n) into out (crypto_hash_len(h) bytes).
 * Returns 0 or -1. */
int crypto_hash(enum crypto_hash h, const struct crypto_buf *parts, size_t n, uint8_t *out);
/* HMAC (RFC 2104) with hash h (SHA-1 or SHA-256) of the concatenation of parts[0..n);
 * key may be empty.  out gets crypto_hash_len(h) bytes.  Returns 0 or -1. */
int crypto_hmac(enum crypto_hash h, const uint8_t *key, size_t key_len,
		const struct crypto_buf *parts, size_t n, uint8_t *out);
/* len bytes from a cryptographically secure generator.  Returns 0 or -1. */
int crypto_random(void *out, size_t len);
/* Constant-time equality of a[0..len) and b[0..len). */
bool crypto_memeq(const void *a, const void *b, size_t len);
/* Zeroes len bytes in a way the compiler keeps. */
void crypto_cleanse(void *p, size_t len);
/* Base64 (RFC 4648 §4, padded) of in[0..len) into out, NUL-terminated: out must hold
 * 4 * ((len + 2) / 3) + 1 bytes.  Returns the length written (without the NUL). */
size_t crypto_base64_encode(char *out, const uint8_t *in, size_t len);

/* One-shot helpers over a single range. */
static inline int crypto_sha1(const void *p, size_t len, uint8_t out[CRYPTO_SHA1_LEN])
{
	struct crypto_buf b = { p, len };
	return crypto_hash(CRYPTO_SHA1, &b, 1, out);
}

static inline int crypto_sha256(const void *p, size_t len, uint8_t out[CRYPTO_SHA256_LEN])
{
	struct crypto_buf b = { p, len };
	return crypto_hash(CRYPTO_SHA256, &b, 1, out);
}

static inline int crypto_sha512(const void *p, size_t len, uint8_t out[CRYPTO_SHA512_LEN])
{
	struct crypto_buf b = { p, len };
	return crypto_hash(CRYPTO_SHA512, &b, 1, out);
}

/* Name of the library behind this seam ("OpenSSL 3.0.x" / "mbed TLS 3.6.x"), for --version
 * and logs. */
const char *crypto_backend(void);

#endif
