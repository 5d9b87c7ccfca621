/* dtls: the DTLS session state machine of dtls.h, once for both TLS libraries (RFC 6347
 * DTLS 1.2 as WebRTC uses it: RFC 8261 for SCTP over DTLS, RFC 8827 §6.5 / RFC 8122 §5
 * fingerprints; no DTLS-SRTP, RFC 5764), plus record framing checks, fingerprint text,
 * cipher preferences and errors.  The library calls are behind dtls_backend.h
 * (dtls_openssl.c, dtls_mbedtls.c; Makefile TLS=). */
#include "dtls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "dtls_backend.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#elif defined(__linux__) && (defined(__aarch64__) || defined(__arm__))
#include <sys/auxv.h>
#endif

#define DTLS_MAX_CIPHERTEXT (16384 + 2048)
#define DTLS_TIMER_LIMIT_MS 600000 /* timer_max_ms cap; keeps microseconds in 32 bits */

/* Our suites: RFC 8422 ECDHE-ECDSA with RFC 5288 AES-GCM and RFC 7905 ChaCha20-Poly1305;
 * IANA ids, and OpenSSL's names, which dtls_cipher_name() reports with either backend. */
static const struct {
	unsigned bit;
	int id;
	const char *name;
} dtls_suites[DTLS_N_SUITES] = {
	{ DTLS_CIPHER_AES128_GCM, 0xC02B, "ECDHE-ECDSA-AES128-GCM-SHA256" },
	{ DTLS_CIPHER_AES256_GCM, 0xC02C, "ECDHE-ECDSA-AES256-GCM-SHA384" },
	{ DTLS_CIPHER_CHACHA20, 0xCCA9, "ECDHE-ECDSA-CHACHA20-POLY1305" },
};

/* Indexes into dtls_suites in preference order. */
static const int *dtls_suite_order(bool prefer_chacha)
{
	static const int aes_first[DTLS_N_SUITES] = { 0, 1, 2 },
			 chacha_first[DTLS_N_SUITES] = { 2, 0, 1 };

	return prefer_chacha ? chacha_first : aes_first;
}

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
		.release_idle_ms = 500,
	};
}

const char *dtls_cipher_list(unsigned ciphers, bool prefer_chacha, char *buf, size_t cap)
{
	const int *order = dtls_suite_order(prefer_chacha);
	size_t len = 0;

	if (!cap)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < DTLS_N_SUITES; i++) {
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
	       cfg->timer_max_ms >= cfg->timer_initial_ms && cfg->timer_max_ms <= DTLS_TIMER_LIMIT_MS &&
	       cfg->release_idle_ms <= DTLS_TIMER_LIMIT_MS;
}

void dtls_suite_ids(const struct dtls_ctx_config *cfg, int ids[DTLS_N_SUITES + 1])
{
	const int *order = dtls_suite_order(cfg->prefer_chacha);
	int n = 0;

	for (size_t i = 0; i < DTLS_N_SUITES; i++)
		if (cfg->ciphers & dtls_suites[order[i]].bit)
			ids[n++] = dtls_suites[order[i]].id;
	ids[n] = 0;
}

/* ---- certificate ---- */

int dtls_cert_generate(struct dtls_cert **out)
{
	struct dtls_cert *c;
	int rc;

	if (!out)
		return DTLS_E_INVALID;
	*out = NULL;
	if (!(c = calloc(1, sizeof(*c))))
		return DTLS_E_NOMEM;
	if ((rc = dtls_backend_cert_new(&c->b, c->fp)) != DTLS_OK) {
		dtls_cert_free(c);
		return rc;
	}
	dtls_fingerprint_format(c->fp, c->fp_text);
	*out = c;
	return DTLS_OK;
}

void dtls_cert_free(struct dtls_cert *c)
{
	if (!c)
		return;
	dtls_backend_cert_free(c->b);
	free(c);
}

const uint8_t *dtls_cert_fingerprint(const struct dtls_cert *c)
{
	return c->fp;
}

const char *dtls_cert_fingerprint_text(const struct dtls_cert *c)
{
	return c->fp_text;
}

char *dtls_cert_pem(const struct dtls_cert *c, bool private_key)
{
	return dtls_backend_cert_pem(c->b, private_key);
}

/* ---- context ---- */

struct dtls_ctx *dtls_ctx_new(const struct dtls_cert *cert, const struct dtls_ctx_config *cfg,
			      int *err)
{
	struct dtls_ctx *ctx;
	int dummy;

	if (!err)
		err = &dummy;
	if (!cert) {
		*err = DTLS_E_INVALID;
		return NULL;
	}
	if (!(ctx = calloc(1, sizeof(*ctx)))) {
		*err = DTLS_E_NOMEM;
		return NULL;
	}
	if (cfg)
		ctx->cfg = *cfg;
	else
		dtls_ctx_config_default(&ctx->cfg);
	if (!dtls_ctx_config_valid(&ctx->cfg)) {
		free(ctx);
		*err = DTLS_E_INVALID;
		return NULL;
	}
	if ((*err = dtls_backend_ctx_new(ctx, cert)) != DTLS_OK) {
		dtls_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

void dtls_ctx_free(struct dtls_ctx *ctx)
{
	if (!ctx)
		return;
	dtls_backend_ctx_free(ctx->b);
	free(ctx);
}

/* ---- backend I/O ---- */

void dtls_io_send(struct dtls *s, const uint8_t *pkt, size_t len)
{
	s->stats.tx_datagrams++;
	if (s->cb.send)
		s->cb.send(s->user, pkt, len);
}

size_t dtls_io_recv(struct dtls *s, uint8_t *out, size_t cap)
{
	size_t n = s->in_len;

	if (!n)
		return 0;
	if (n > cap)
		n = cap; /* datagram semantics: the rest is lost */
	memcpy(out, s->in, n);
	s->in_len = 0;
	return n;
}

/* RFC 8122 §5 / RFC 8827 §6.5: the peer is who its SDP fingerprint says.  This replaces
 * chain validation (certificates are self-signed); CertificateVerify still proves the key. */
bool dtls_peer_fp_check(struct dtls *s, const uint8_t fp[DTLS_FP_LEN])
{
	if (crypto_memeq(fp, s->remote_fp, DTLS_FP_LEN)) {
		s->fp_ok = true;
		return true;
	}
	s->fp_mismatch = true;
	return false;
}

/* ---- session ---- */

static void dtls_destroy(struct dtls *s)
{
	dtls_backend_session_free(s->b);
	free(s);
}

struct dtls *dtls_new(struct dtls_ctx *ctx, enum dtls_role role,
		      const uint8_t remote_fp[DTLS_FP_LEN], const struct dtls_callbacks *cb,
		      void *user, int *err)
{
	struct dtls *s;
	int dummy;

	if (!err)
		err = &dummy;
	if (!ctx || !remote_fp || !cb || (role != DTLS_ROLE_SERVER && role != DTLS_ROLE_CLIENT)) {
		*err = DTLS_E_INVALID;
		return NULL;
	}
	if (!(s = calloc(1, sizeof(*s)))) {
		*err = DTLS_E_NOMEM;
		return NULL;
	}
	s->ctx = ctx;
	s->cb = *cb;
	s->user = user;
	s->role = role;
	memcpy(s->remote_fp, remote_fp, DTLS_FP_LEN);
	if ((*err = dtls_backend_session_new(s)) != DTLS_OK) {
		dtls_destroy(s);
		return NULL;
	}
	return s;
}

void dtls_free(struct dtls *s)
{
	if (!s)
		return;
	if (s->depth) {
		s->free_pending = true;
		return;
	}
	dtls_destroy(s);
}

static void dtls_enter(struct dtls *s)
{
	s->depth++;
}

static void dtls_set_closed(struct dtls *s, int reason)
{
	if (s->state == DTLS_STATE_CLOSED)
		return;
	s->state = DTLS_STATE_CLOSED;
	if (s->cb.on_closed && !s->free_pending)
		s->cb.on_closed(s->user, reason);
}

/* After a failed library step: a refused peer certificate is the reason whatever the
 * library made of it (it reports a bad_certificate alert or a verify failure). */
static void dtls_fail(struct dtls *s, int reason)
{
	dtls_set_closed(s, s->fp_mismatch ? DTLS_E_FINGERPRINT : reason);
}

/* Give the library's record buffers back between datagrams (release_buffers, or now: by
 * dtls_release_buffers()).  Only from the outermost call, never between two reads of one
 * datagram, and only when connected: dtls_untrim() runs before the library is used again. */
static void dtls_trim(struct dtls *s, bool now)
{
	if (s->depth == 1 && s->state == DTLS_STATE_CONNECTED && !s->free_pending &&
	    !s->trimmed && dtls_backend_release_buffers(s, now))
		s->trimmed = true;
}

/* reading: a datagram follows (OpenSSL's read sets its buffers up by itself).  False when
 * the session could not be set up again and is now closed. */
static bool dtls_untrim(struct dtls *s, bool reading)
{
	int rc;

	if (!s->trimmed)
		return true;
	s->trimmed = false;
	s->busy = true;
	rc = dtls_backend_restore_buffers(s, reading);
	s->busy = false;
	if (rc == DTLS_OK)
		return true;
	dtls_fail(s, rc);
	return false;
}

/* Frees s if dtls_free() was deferred.  Sends do not trim: the peer's answer (an SCTP
 * SACK) follows soon and trims, so a burst of sends costs one buffer set-up, not one each. */
static void dtls_leave(struct dtls *s, bool trim)
{
	if (trim && s->ctx->cfg.release_buffers)
		dtls_trim(s, false);
	if (--s->depth == 0 && s->free_pending)
		dtls_destroy(s);
}

/* close_notify (RFC 5246 §7.2.1), e.g. in answer to the peer's. */
static void dtls_send_close_notify(struct dtls *s)
{
	s->busy = true;
	dtls_backend_close_notify(s);
	s->busy = false;
}

static void dtls_handshake_done(struct dtls *s)
{
	/* The library's certificate check already decided; this guards any path that skips
	 * it (no certificate seen means no fingerprint match). */
	if (!s->fp_ok || s->fp_mismatch) {
		dtls_send_close_notify(s);
		dtls_set_closed(s, DTLS_E_FINGERPRINT);
		return;
	}
	dtls_backend_connected(s);
	s->state = DTLS_STATE_CONNECTED;
	s->handshake_done = true;
	if (s->cb.on_connected)
		s->cb.on_connected(s->user);
}

static void dtls_handshake(struct dtls *s)
{
	int rc;

	s->busy = true;
	rc = dtls_backend_handshake(s);
	s->busy = false;
	if (rc == DTLS_OK)
		dtls_handshake_done(s);
	else if (rc < 0)
		dtls_fail(s, rc);
}

/* Deliver every record the library can decrypt now (RFC 6347 §4.1.2.7: bad records are
 * silently discarded by it; a close_notify ends the session, RFC 5246 §7.2.1). */
static void dtls_read_all(struct dtls *s)
{
	uint8_t buf[DTLS_READ_BUF];
	int n;

	while (s->state == DTLS_STATE_CONNECTED && !s->free_pending) {
		s->busy = true;
		n = dtls_backend_read(s, buf, sizeof(buf));
		s->busy = false;
		if (n > 0) {
			s->stats.rx_app_bytes += (uint64_t)n;
			if (s->cb.on_data)
				s->cb.on_data(s->user, buf, (size_t)n);
		} else if (n == 0) {
			return;
		} else if (n == DTLS_BACKEND_CLOSE_NOTIFY) {
			dtls_send_close_notify(s);
			dtls_set_closed(s, DTLS_OK);
			return;
		} else {
			dtls_fail(s, n);
			return;
		}
	}
}

int dtls_start(struct dtls *s)
{
	int rc;

	if (!s)
		return DTLS_E_INVALID;
	if (s->depth)
		return DTLS_E_BUSY;
	if (s->state == DTLS_STATE_CLOSED)
		return DTLS_E_CLOSED;
	if (s->role == DTLS_ROLE_SERVER)
		return DTLS_OK;
	if (s->state != DTLS_STATE_NEW)
		return DTLS_E_STATE;
	s->state = DTLS_STATE_HANDSHAKING;
	dtls_enter(s);
	dtls_handshake(s);
	rc = s->state == DTLS_STATE_CLOSED ? DTLS_E_CLOSED : DTLS_OK;
	dtls_leave(s, true);
	return rc;
}

int dtls_on_packet(struct dtls *s, const uint8_t *pkt, size_t len)
{
	size_t ok;
	int rc;

	if (!s || (!pkt && len))
		return DTLS_E_INVALID;
	if (s->depth)
		return DTLS_E_BUSY;
	s->stats.rx_datagrams++;
	if (s->state == DTLS_STATE_CLOSED) {
		s->stats.rx_ignored++;
		return DTLS_E_CLOSED;
	}
	if (s->role == DTLS_ROLE_CLIENT && s->state == DTLS_STATE_NEW) {
		s->stats.rx_ignored++;
		return DTLS_OK;
	}
	ok = len <= DTLS_MAX_DATAGRAM ? dtls_record_scan(pkt, len, NULL) : 0;
	/* A fresh server starts only on an epoch-0 ClientHello (RFC 6347 §4.2.2): a stray or
	 * forged record before it would otherwise end the session with an alert. */
	if (ok && s->state == DTLS_STATE_NEW &&
	    !(ok > DTLS_RECORD_HEADER_LEN && pkt[0] == 22 && pkt[3] == 0 && pkt[4] == 0 &&
	      pkt[DTLS_RECORD_HEADER_LEN] == 1))
		ok = 0;
	if (ok < len)
		s->stats.rx_dropped++;
	if (!ok)
		return DTLS_OK;
	s->in = pkt;
	s->in_len = ok;
	dtls_enter(s);
	dtls_untrim(s, true);
	if (s->state == DTLS_STATE_NEW)
		s->state = DTLS_STATE_HANDSHAKING;
	if (s->state == DTLS_STATE_HANDSHAKING)
		dtls_handshake(s);
	if (s->state == DTLS_STATE_CONNECTED)
		dtls_read_all(s);
	s->in = NULL;
	s->in_len = 0;
	rc = s->state == DTLS_STATE_CLOSED ? DTLS_E_CLOSED : DTLS_OK;
	dtls_leave(s, true);
	return rc;
}

int dtls_send(struct dtls *s, const uint8_t *data, size_t len)
{
	int rc;

	if (!s || !data || !len)
		return DTLS_E_INVALID;
	if (len > DTLS_MAX_APP_DATA)
		return DTLS_E_TOO_BIG;
	if (s->busy)
		return DTLS_E_BUSY;
	if (s->state != DTLS_STATE_CONNECTED || s->free_pending)
		return DTLS_E_STATE;
	dtls_enter(s);
	if (!dtls_untrim(s, false)) {
		rc = DTLS_E_CLOSED;
	} else {
		s->busy = true;
		rc = dtls_backend_write(s, data, len);
		s->busy = false;
		if (rc == DTLS_OK) {
			s->stats.tx_app_bytes += len;
		} else {
			dtls_fail(s, rc);
			rc = DTLS_E_CLOSED;
		}
	}
	dtls_leave(s, false);
	return rc;
}

int64_t dtls_timeout_ms(struct dtls *s)
{
	if (!s || s->state == DTLS_STATE_CLOSED || s->state == DTLS_STATE_NEW || s->busy)
		return -1;
	return dtls_backend_timeout_ms(s);
}

void dtls_on_timeout(struct dtls *s)
{
	int rc;

	if (!s || s->depth ||
	    (s->state != DTLS_STATE_HANDSHAKING && s->state != DTLS_STATE_CONNECTED))
		return;
	/* not running or not yet due: nothing to do (and no buffers to set up) */
	if (dtls_backend_timeout_ms(s) != 0)
		return;
	dtls_enter(s);
	if (!dtls_untrim(s, false)) {
		dtls_leave(s, false);
		return;
	}
	s->busy = true;
	rc = dtls_backend_on_timeout(s);
	s->busy = false;
	if (rc == DTLS_BACKEND_AGAIN)
		dtls_handshake(s);
	else if (rc < 0)
		dtls_fail(s, rc);
	dtls_leave(s, true);
}

void dtls_close(struct dtls *s)
{
	if (!s || s->busy || s->state == DTLS_STATE_CLOSED)
		return;
	dtls_enter(s);
	if (s->state == DTLS_STATE_CONNECTED && dtls_untrim(s, false))
		dtls_send_close_notify(s);
	dtls_set_closed(s, DTLS_OK);
	dtls_leave(s, true);
}

void dtls_release_buffers(struct dtls *s)
{
	if (!s || s->depth)
		return;
	s->depth++;
	dtls_trim(s, true);
	s->depth--;
}

enum dtls_state dtls_state(const struct dtls *s)
{
	return s->state;
}

enum dtls_role dtls_role(const struct dtls *s)
{
	return s->role;
}

const char *dtls_cipher_name(const struct dtls *s)
{
	int id;

	if (!s->handshake_done)
		return NULL;
	id = dtls_backend_cipher_id(s);
	for (size_t i = 0; i < DTLS_N_SUITES; i++)
		if (dtls_suites[i].id == id)
			return dtls_suites[i].name;
	return NULL;
}

const struct dtls_stats *dtls_stats(const struct dtls *s)
{
	return &s->stats;
}
