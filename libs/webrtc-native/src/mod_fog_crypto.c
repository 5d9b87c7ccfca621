/* mod_fog_crypto: hashing and Ed25519 for the agent (see mod_fog.h).
 *
 * Pure-JS SHA-256 runs at ~6 ms/KiB on QuickJS-ng (x86_64; a MIPS router is 10-20x slower),
 * so the agent's bundle for pear-fogd maps @noble's sha256/sha512/ed25519 onto these
 * (src/platform/native/noble-*.ts).  Ed25519 is RFC 8032 (OpenSSL's EVP_PKEY_ED25519: a
 * 32-byte seed as the private key, 64-byte signatures, strict verification).
 * Every failure path clears OpenSSL's thread error queue: the DTLS code on the same thread
 * reads that queue after its own calls (dtls_openssl.c).
 *
 * SHA-256/512 go through crypto.h (either TLS library).  Ed25519 is OpenSSL's only: mbedTLS
 * has none, so a TLS=mbedtls build's agent bundle keeps @noble's pure-TS Ed25519 (the
 * Makefile drops that esbuild alias; its SHA-512 still comes from here) and these three
 * functions throw if called. */
#include "crypto.h"
#include "mod_fog.h"

#include <string.h>

#ifdef PEARFOG_TLS_OPENSSL
#include <openssl/err.h>
#include <openssl/evp.h>
#endif

static const uint8_t *get_bytes(JSContext *ctx, JSValueConst v, size_t *len, const char *what)
{
	const uint8_t *p = JS_GetUint8Array(ctx, len, v);

	if (!p) {
		JS_FreeValue(ctx, JS_GetException(ctx));
		JS_ThrowTypeError(ctx, "%s must be a Uint8Array", what);
	}
	return p;
}

static JSValue digest(JSContext *ctx, JSValueConst data, enum crypto_hash h, const char *name)
{
	uint8_t out[CRYPTO_MAX_MD_LEN];
	struct crypto_buf b;
	const uint8_t *p = get_bytes(ctx, data, &b.len, name);

	if (!p)
		return JS_EXCEPTION;
	b.p = p;
	if (crypto_hash(h, &b, 1, out) < 0)
		return JS_ThrowInternalError(ctx, "%s: digest failed", name);
	return JS_NewUint8ArrayCopy(ctx, out, crypto_hash_len(h));
}

JSValue mod_fog_sha256(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	return digest(ctx, argv[0], CRYPTO_SHA256, "sha256");
}

JSValue mod_fog_sha512(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	return digest(ctx, argv[0], CRYPTO_SHA512, "sha512");
}

#ifdef PEARFOG_TLS_OPENSSL
static EVP_PKEY *seed_key(JSContext *ctx, JSValueConst v)
{
	size_t len;
	const uint8_t *seed = get_bytes(ctx, v, &len, "ed25519 secret key");
	EVP_PKEY *k;

	if (!seed)
		return NULL;
	if (len != 32) {
		JS_ThrowRangeError(ctx, "ed25519 secret key: 32 bytes, not %zu", len);
		return NULL;
	}
	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	if (!k) {
		ERR_clear_error();
		JS_ThrowInternalError(ctx, "ed25519: OpenSSL refused the key");
	}
	return k;
}

/* ed25519PublicKey(seed) → 32 bytes */
JSValue mod_fog_ed25519_public_key(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	EVP_PKEY *k = seed_key(ctx, argv[0]);
	uint8_t pub[32];
	size_t len = sizeof(pub);
	JSValue rv;

	if (!k)
		return JS_EXCEPTION;
	rv = EVP_PKEY_get_raw_public_key(k, pub, &len) == 1 && len == 32
		     ? JS_NewUint8ArrayCopy(ctx, pub, 32)
		     : JS_ThrowInternalError(ctx, "ed25519: no public key");
	EVP_PKEY_free(k);
	return rv;
}

/* ed25519Sign(message, seed) → 64 bytes (argument order as @noble's sign) */
JSValue mod_fog_ed25519_sign(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	size_t mlen, slen = 64;
	const uint8_t *msg = get_bytes(ctx, argv[0], &mlen, "message");
	EVP_PKEY *k = msg ? seed_key(ctx, argv[1]) : NULL;
	EVP_MD_CTX *mctx = NULL;
	uint8_t sig[64];
	JSValue rv = JS_EXCEPTION;

	if (!k)
		return JS_EXCEPTION;
	if ((mctx = EVP_MD_CTX_new()) && EVP_DigestSignInit(mctx, NULL, NULL, NULL, k) == 1 &&
	    EVP_DigestSign(mctx, sig, &slen, msg, mlen) == 1 && slen == 64)
		rv = JS_NewUint8ArrayCopy(ctx, sig, 64);
	else {
		ERR_clear_error();
		JS_ThrowInternalError(ctx, "ed25519: signing failed");
	}
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_free(k);
	return rv;
}

/* ed25519Verify(signature, message, publicKey) → boolean; malformed inputs → false */
JSValue mod_fog_ed25519_verify(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	size_t slen, mlen, plen;
	const uint8_t *sig = get_bytes(ctx, argv[0], &slen, "signature");
	const uint8_t *msg = sig ? get_bytes(ctx, argv[1], &mlen, "message") : NULL;
	const uint8_t *pub = msg ? get_bytes(ctx, argv[2], &plen, "public key") : NULL;
	EVP_PKEY *k;
	EVP_MD_CTX *mctx;
	bool ok = false;

	if (!pub)
		return JS_EXCEPTION;
	if (slen != 64 || plen != 32)
		return JS_FALSE;
	if (!(k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32))) {
		ERR_clear_error();
		return JS_FALSE;
	}
	if ((mctx = EVP_MD_CTX_new()) && EVP_DigestVerifyInit(mctx, NULL, NULL, NULL, k) == 1)
		ok = EVP_DigestVerify(mctx, sig, slen, msg, mlen) == 1;
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_free(k);
	if (!ok)
		ERR_clear_error();
	return JS_NewBool(ctx, ok);
}
#else
static JSValue no_ed25519(JSContext *ctx)
{
	return JS_ThrowInternalError(ctx, "ed25519: not in this build (mbedTLS has none; "
					  "the agent uses @noble/curves)");
}

JSValue mod_fog_ed25519_public_key(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	return no_ed25519(ctx);
}

JSValue mod_fog_ed25519_sign(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	return no_ed25519(ctx);
}

JSValue mod_fog_ed25519_verify(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	return no_ed25519(ctx);
}
#endif
