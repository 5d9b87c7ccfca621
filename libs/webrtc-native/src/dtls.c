/* dtls: what both DTLS backends share (dtls_openssl.c, dtls_mbedtls.c; Makefile TLS=):
 * record framing checks, fingerprint text, cipher preferences, errors.  See dtls.h. */
#include "dtls.h"

#include <stdio.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#elif defined(__linux__) && (defined(__aarch64__) || defined(__arm__))
#include <sys/auxv.h>
#endif

#define DTLS_RECORD_HEADER_LEN 13 /* type, version, epoch, sequence_number, length */
#define DTLS_MAX_CIPHERTEXT (16384 + 2048)
#define DTLS_TIMER_LIMIT_MS 600000 /* timer_max_ms cap; keeps microseconds in 32 bits */

static const struct {
	unsigned bit;
	const char *name;
} dtls_suites[] = {
	{ DTLS_CIPHER_AES128_GCM, "ECDHE-ECDSA-AES128-GCM-SHA256" },
	{ DTLS_CIPHER_AES256_GCM, "ECDHE-ECDSA-AES256-GCM-SHA384" },
	{ DTLS_CIPHER_CHACHA20, "ECDHE-ECDSA-CHACHA20-POLY1305" },
};

/* Record content types a DTLS 1.2 peer of ours may send (RFC 6347 §4.1, RFC 5246 §6.2.1);
 * heartbeat (24, RFC 6520) and tls12_cid (25, RFC 9146) are not negotiated, so refused. */
static const bool dtls_content_type_ok[256] = {
	[20] = true, /* change_cipher_spec */
	[21] = true, /* alert */
	[22] = true, /* handshake */
	[23] = true, /* application_data */
};

static const char *const dtls_errors[] = {
	[-DTLS_OK] = "ok",
	[-DTLS_E_NOMEM] = "out of memory",
	[-DTLS_E_INVALID] = "invalid argument",
	[-DTLS_E_SSL] = "TLS library setup failed",
	[-DTLS_E_STATE] = "not possible in this state",
	[-DTLS_E_TOO_BIG] = "application data too long for one record",
	[-DTLS_E_BUSY] = "reentrant call",
	[-DTLS_E_CLOSED] = "session closed",
	[-DTLS_E_HANDSHAKE] = "handshake failed",
	[-DTLS_E_FINGERPRINT] = "peer certificate fingerprint mismatch",
	[-DTLS_E_PEER_ALERT] = "peer sent a fatal alert",
	[-DTLS_E_TIMEOUT] = "retransmissions exhausted",
	[-DTLS_E_PROTOCOL] = "protocol error",
};

const char *dtls_strerror(int err)
{
	if (err > 0 || -err >= (int)(sizeof(dtls_errors) / sizeof(dtls_errors[0])) ||
	    !dtls_errors[-err])
		return "unknown error";
	return dtls_errors[-err];
}

/* ---- record framing ---- */

size_t dtls_record_scan(const uint8_t *pkt, size_t len, unsigned *n_records)
{
	size_t off = 0;
	unsigned n = 0;

	while (pkt && len - off >= DTLS_RECORD_HEADER_LEN) {
		const uint8_t *h = pkt + off;
		size_t rlen = (size_t)h[11] << 8 | h[12];

		/* ProtocolVersion {254, 253} is DTLS 1.2; {254, 255} (DTLS 1.0) is allowed on
		 * the records carrying a ClientHello (RFC 6347 §4.2.1). */
		if (!dtls_content_type_ok[h[0]] || h[1] != 254 || (h[2] != 253 && h[2] != 255) ||
		    rlen > DTLS_MAX_CIPHERTEXT || rlen > len - off - DTLS_RECORD_HEADER_LEN)
			break;
		off += DTLS_RECORD_HEADER_LEN + rlen;
		n++;
	}
	if (n_records)
		*n_records = n;
	return off;
}

/* ---- certificate ---- */

void dtls_fingerprint_format(const uint8_t fp[DTLS_FP_LEN], char out[DTLS_FP_TEXT_LEN + 1])
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < DTLS_FP_LEN; i++) {
		out[i * 3] = hex[fp[i] >> 4];
		out[i * 3 + 1] = hex[fp[i] & 15];
		out[i * 3 + 2] = i + 1 < DTLS_FP_LEN ? ':' : '\0';
	}
}

/* ---- context ---- */

bool dtls_cpu_has_aes(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b, c, d;

	return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_AES);
#elif defined(__linux__) && defined(__aarch64__)
	return getauxval(AT_HWCAP) & (1UL << 3); /* HWCAP_AES */
#elif defined(__linux__) && defined(__arm__)
	return getauxval(AT_HWCAP2) & (1UL << 0); /* HWCAP2_AES (ARMv8 in AArch32) */
#else
	return false; /* MIPS and the rest: no AES instructions */
#endif
}

void dtls_ctx_config_default(struct dtls_ctx_config *cfg)
{
	*cfg = (struct dtls_ctx_config){
		.prefer_chacha = !dtls_cpu_has_aes(),
		.ciphers = DTLS_CIPHER_ALL,
		.mtu = DTLS_MTU,
		.timer_initial_ms = 1000,
		.timer_max_ms = 60000,
		.release_buffers = true,
	};
}

const char *dtls_cipher_list(unsigned ciphers, bool prefer_chacha, char *buf, size_t cap)
{
	static const int aes_first[] = { 0, 1, 2 }, chacha_first[] = { 2, 0, 1 };
	const int *order = prefer_chacha ? chacha_first : aes_first;
	size_t len = 0;

	if (!cap)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < 3; i++) {
		const char *name = dtls_suites[order[i]].name;
		int n;

		if (!(ciphers & dtls_suites[order[i]].bit))
			continue;
		n = snprintf(buf + len, cap - len, "%s%s", len ? ":" : "", name);
		if (n < 0 || (size_t)n >= cap - len) {
			buf[len] = '\0';
			break;
		}
		len += (size_t)n;
	}
	return buf;
}

bool dtls_ctx_config_valid(const struct dtls_ctx_config *cfg)
{
	return (cfg->ciphers & DTLS_CIPHER_ALL) && cfg->mtu >= DTLS_MTU_MIN &&
	       cfg->mtu <= DTLS_MAX_APP_DATA && cfg->timer_initial_ms >= DTLS_TIMER_MIN_MS &&
	       cfg->timer_max_ms >= cfg->timer_initial_ms && cfg->timer_max_ms <= DTLS_TIMER_LIMIT_MS;
}
