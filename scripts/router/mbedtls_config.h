/* mbedtls_config.h: the mbedTLS 3.6 build of pear-fogd's router builds (TLS=mbedtls), only
 * what libs/webrtc-native/src/{crypto,dtls,tls_client}_mbedtls.c use.  scripts/router/deps.mjs
 * copies it over include/mbedtls/mbedtls_config.h of the unpacked source before building, so
 * the installed headers and the library agree on it.
 *
 *   DTLS 1.2 server+client for WebRTC data channels (RFC 6347, RFC 8827 §6.5):
 *     ECDHE-ECDSA with AES-128/256-GCM (RFC 5289) and ChaCha20-Poly1305 (RFC 7905),
 *     X25519 / P-256 (RFC 8422), self-signed P-256 certificates made at start, anti-replay,
 *     extended master secret (RFC 7627); no HelloVerifyRequest (ICE proved the address).
 *   TLS 1.2 client for wss/https (RFC 5246): ECDHE-ECDSA / ECDHE-RSA with GCM or ChaCha20,
 *     RSA and ECDSA (P-256, P-384) certificate chains, SNI (RFC 6066 §3), ALPN (RFC 7301).
 *   SHA-1 (STUN MESSAGE-INTEGRITY, WebSocket accept), SHA-256, SHA-512, HMAC, CTR-DRBG.
 *
 * Left out: TLS 1.3 and PSA (TLS 1.2 is what the coordinator and browsers' DTLS speak; 1.3
 * costs ~60 KB more), CBC and all legacy ciphers, DHE, PSK, renegotiation, session tickets,
 * compression, CRLs, CSRs, the debug module, error strings, certificate info text, mbedTLS'
 * own sockets and timers (pear-fogd's loop drives both). */
#ifndef PEARFOG_MBEDTLS_CONFIG_H
#define PEARFOG_MBEDTLS_CONFIG_H

/* ---- system ---- */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_HAVE_TIME
#define MBEDTLS_HAVE_TIME_DATE /* certificate validity of the TLS server's chain */
#define MBEDTLS_FS_IO	       /* the CA bundle file */
#define MBEDTLS_PLATFORM_C

/* ---- randomness: getrandom(2) / /dev/urandom into CTR-DRBG (NIST SP 800-90A) ---- */
#define MBEDTLS_ENTROPY_C
#define MBEDTLS_CTR_DRBG_C

/* ---- symmetric ---- */
#define MBEDTLS_CIPHER_C
#define MBEDTLS_AES_C
#define MBEDTLS_AESNI_C /* x86-64 AES-NI; compiled out elsewhere */
#define MBEDTLS_AESCE_C /* ARMv8 crypto extension; compiled out elsewhere */
#define MBEDTLS_GCM_C
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C

/* ---- hashes ---- */
#define MBEDTLS_MD_C
#define MBEDTLS_SHA1_C
#define MBEDTLS_SHA224_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA384_C
#define MBEDTLS_SHA512_C

/* ---- public key ---- */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C
#define MBEDTLS_RSA_C /* verify only: CA chains and ECDHE-RSA servers */
#define MBEDTLS_PKCS1_V15
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_PK_WRITE_C
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_OID_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_PEM_PARSE_C
#define MBEDTLS_PEM_WRITE_C

/* ---- X.509 ---- */
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_X509_CREATE_C
#define MBEDTLS_X509_CRT_WRITE_C
#define MBEDTLS_X509_REMOVE_INFO /* no certificate-to-text; tls_client_mbedtls.c names flags */

/* ---- TLS / DTLS ---- */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_SRV_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_SSL_PROTO_DTLS
#define MBEDTLS_SSL_DTLS_ANTI_REPLAY /* RFC 6347 §4.1.2.6 */
#define MBEDTLS_SSL_DTLS_BADMAC_LIMIT
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_ALPN
#define MBEDTLS_SSL_ALL_ALERT_MESSAGES
/* mbedtls_ssl_context_save/load: dtls_mbedtls.c frees idle DTLS sessions' 20 KiB of record
 * buffers (release_buffers) and loads the connection again on the next datagram. */
#define MBEDTLS_SSL_CONTEXT_SERIALIZATION

/* Incoming records can be 2^14 bytes (RFC 5246 §6.2.1) from a TLS server; outgoing ones are
 * ours: dtls_send() takes at most DTLS_MAX_APP_DATA (4096), TLS writes are split.  Per session
 * this saves 12 KiB of RAM. */
#define MBEDTLS_SSL_IN_CONTENT_LEN 16384
#define MBEDTLS_SSL_OUT_CONTENT_LEN 4096
/* Only TLS 1.2's ciphersuites matter: no CBC, no static RSA/ECDH. */
#define MBEDTLS_SSL_CIPHERSUITES                                                              \
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,                                      \
		MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,                              \
		MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,                        \
		MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,                                \
		MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,                                \
		MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256

#endif
