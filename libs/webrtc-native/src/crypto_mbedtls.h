/* crypto_mbedtls: the process-wide CTR-DRBG of crypto_mbedtls.c, shared with the mbedTLS
 * DTLS and TLS code (mbedtls_ssl_conf_rng, key generation, certificate signing). */
#ifndef PEARFOG_CRYPTO_MBEDTLS_H
#define PEARFOG_CRYPTO_MBEDTLS_H

#include <stddef.h>

#include <mbedtls/ctr_drbg.h>

/* The generator, seeded on first use; NULL if seeding failed. */
mbedtls_ctr_drbg_context *crypto_mbedtls_drbg(void);
/* mbedTLS f_rng shape over it (p_rng unused). */
int crypto_mbedtls_rng(void *p_rng, unsigned char *out, size_t len);

#endif
