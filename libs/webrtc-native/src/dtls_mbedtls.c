/* dtls: DTLS 1.2 endpoints on mbedTLS 3.6 for WebRTC data channels (TLS=mbedtls, the
 * router builds); see dtls.h.  Same API and behaviour as dtls_openssl.c, with these
 * differences of the library:
 *
 *   - The I/O callbacks hand mbedTLS the datagram dtls_on_packet() is processing (one read
 *     = one datagram, RFC 6347 §4.1.1) and pass each datagram it writes to the send callback.
 *     mbedTLS packs handshake records into datagrams of at most cfg.mtu bytes; after the
 *     handshake the MTU limit is lifted so one dtls_send() is one record of up to
 *     DTLS_MAX_APP_DATA bytes, as with OpenSSL.
 *   - The retransmission timer (RFC 6347 §4.2.4.1) is ours: mbedTLS sets and polls a
 *     deadline on CLOCK_MONOTONIC; dtls_timeout_ms() reports it to the event loop.  As with
 *     OpenSSL: timer_initial_ms, doubled per expiry up to timer_max_ms, DTLS_E_TIMEOUT after
 *     12 expiries.
 *   - No HelloVerifyRequest (MBEDTLS_SSL_DTLS_HELLO_VERIFY is off in mbedtls_config.h):
 *     ICE already proved the peer's return routability (RFC 8445 §2).
 *   - mbedTLS allocates its record buffers per session at set-up (16 KiB in + 4 KiB out,
 *     mbedtls_config.h) and keeps them: release_buffers and dtls_release_buffers() are
 *     no-ops here.
 *
 * The peer certificate is accepted iff its SHA-256 fingerprint equals the SDP's (RFC 8122
 * §5, RFC 8827 §6.5): the verify callback replaces chain validation for the leaf and the
 * handshake fails with a bad_certificate alert otherwise; CertificateVerify still proves the
 * private key. */
#include "dtls.h"

#include "crypto.h"
#include "crypto_mbedtls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/ecp.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <mbedtls/x509_crt.h>

#define DTLS_RECORD_HEADER_LEN 13 /* type, version, epoch, sequence_number, length */
#define DTLS_READ_BUF 16384	  /* one record's plaintext at most (RFC 6347 §4.1) */
#define DTLS_CERT_BACKDATE_S (30L * 86400)
#define DTLS_CERT_LIFETIME_S (365L * 86400)
#define DTLS_CERT_DER_MAX 1024 /* a P-256 self-signed certificate is ~400 bytes */
/* Timer expiries before the handshake gives up, as OpenSSL 3 does. */
#define DTLS_MAX_EXPIRIES 12

struct dtls_cert {
	mbedtls_pk_context key;
	uint8_t der[DTLS_CERT_DER_MAX];
	size_t der_len;
	uint8_t fp[DTLS_FP_LEN];
	char fp_text[DTLS_FP_TEXT_LEN + 1];
};

struct dtls_ctx {
	mbedtls_ssl_config conf[2]; /* [DTLS_ROLE_SERVER], [DTLS_ROLE_CLIENT] */
	mbedtls_x509_crt crt;
	mbedtls_pk_context key;
	int suites[4]; /* preference order, 0-terminated */
	struct dtls_ctx_config cfg;
	bool conf_init;
};

struct dtls {
	struct dtls_ctx *ctx;
	mbedtls_ssl_context ssl;
	struct dtls_callbacks cb;
	void *user;
	const uint8_t *in; /* datagram being processed, for dtls_recv */
	size_t in_len;
	uint8_t remote_fp[DTLS_FP_LEN];
	enum dtls_role role;
	enum dtls_state state;
	unsigned depth;	   /* dtls_* calls on this session currently on the stack */
	bool busy;	   /* inside an mbedTLS call: no reentry at all */
	bool free_pending; /* dtls_free() from a callback: free on the way out */
	bool fp_mismatch;  /* the verify callback refused the peer */
	bool fp_ok;	   /* the verify callback saw the SDP's certificate */
	bool handshake_done;
	bool timer_running;
	bool retransmitting; /* inside dtls_on_timeout: the next timer is the doubled one */
	uint32_t timeout_ms;  /* current retransmission timeout */
	uint64_t timer_int_ms, timer_fin_ms; /* CLOCK_MONOTONIC deadlines */
	struct dtls_stats stats;
};

static const struct {
	unsigned bit;
	int id;
	const char *name; /* OpenSSL's names, as dtls_openssl.c reports them */
} dtls_mbedtls_suites[] = {
	{ DTLS_CIPHER_AES128_GCM, MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	  "ECDHE-ECDSA-AES128-GCM-SHA256" },
	{ DTLS_CIPHER_AES256_GCM, MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	  "ECDHE-ECDSA-AES256-GCM-SHA384" },
	{ DTLS_CIPHER_CHACHA20, MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	  "ECDHE-ECDSA-CHACHA20-POLY1305" },
};

/* X25519 first, as browsers offer it (RFC 8422 §5.1.1). */
static const uint16_t dtls_groups[] = { MBEDTLS_SSL_IANA_TLS_GROUP_X25519,
					MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1,
					MBEDTLS_SSL_IANA_TLS_GROUP_NONE };

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- certificate ---- */

static void utc_stamp(char out[15], time_t t)
{
	struct tm tm;

	/* X.509 validity as mbedtls_x509write_crt_set_validity wants it: YYYYMMDDhhmmss UTC */
	if (!gmtime_r(&t, &tm) || strftime(out, 15, "%Y%m%d%H%M%S", &tm) != 14)
		out[0] = '\0';
}

static int dtls_cert_build(struct dtls_cert *c)
{
	unsigned char buf[DTLS_CERT_DER_MAX];
	char from[15], to[15];
	uint8_t serial[8];
	mbedtls_x509write_cert w;
	time_t now = time(NULL);
	int len = -1;

	if (!crypto_mbedtls_drbg() ||
	    mbedtls_pk_setup(&c->key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) ||
	    mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(c->key),
				crypto_mbedtls_rng, NULL) ||
	    crypto_random(serial, sizeof(serial)) < 0)
		return 0;
	/* Positive and nonzero (RFC 5280 §4.1.2.2). */
	serial[0] = (serial[0] & 0x7f) | 0x01;
	utc_stamp(from, now - DTLS_CERT_BACKDATE_S);
	utc_stamp(to, now + DTLS_CERT_LIFETIME_S);
	mbedtls_x509write_crt_init(&w);
	mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&w, &c->key);
	mbedtls_x509write_crt_set_issuer_key(&w, &c->key);
	if (!mbedtls_x509write_crt_set_serial_raw(&w, serial, sizeof(serial)) &&
	    !mbedtls_x509write_crt_set_subject_name(&w, "CN=pear-fog") &&
	    !mbedtls_x509write_crt_set_issuer_name(&w, "CN=pear-fog") &&
	    !mbedtls_x509write_crt_set_validity(&w, from, to))
		len = mbedtls_x509write_crt_der(&w, buf, sizeof(buf), crypto_mbedtls_rng, NULL);
	mbedtls_x509write_crt_free(&w);
	if (len <= 0)
		return 0;
	/* written at the end of buf */
	memcpy(c->der, buf + sizeof(buf) - len, (size_t)len);
	c->der_len = (size_t)len;
	/* RFC 8122 §5: the fingerprint is the hash of the DER certificate */
	return crypto_sha256(c->der, c->der_len, c->fp) == 0;
}

int dtls_cert_generate(struct dtls_cert **out)
{
	struct dtls_cert *c;

	if (!out)
		return DTLS_E_INVALID;
	*out = NULL;
	if (!(c = calloc(1, sizeof(*c))))
		return DTLS_E_NOMEM;
	mbedtls_pk_init(&c->key);
	if (!dtls_cert_build(c)) {
		dtls_cert_free(c);
		return DTLS_E_SSL;
	}
	dtls_fingerprint_format(c->fp, c->fp_text);
	*out = c;
	return DTLS_OK;
}

void dtls_cert_free(struct dtls_cert *c)
{
	if (!c)
		return;
	mbedtls_pk_free(&c->key);
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
	size_t cap = 2048, olen = 0;
	char *out = malloc(cap);

	if (!out)
		return NULL;
	if (private_key) {
		/* mbedtls_pk_write_key_pem takes a non-const context but does not change it */
		if (mbedtls_pk_write_key_pem((mbedtls_pk_context *)&c->key, (unsigned char *)out,
					     cap) == 0)
			return out;
	} else if (mbedtls_pem_write_buffer("-----BEGIN CERTIFICATE-----\n",
					    "-----END CERTIFICATE-----\n", c->der, c->der_len,
					    (unsigned char *)out, cap, &olen) == 0) {
		return out;
	}
	free(out);
	return NULL;
}

/* ---- context ---- */

/* RFC 8122 §5 / RFC 8827 §6.5: the peer is who its SDP fingerprint says.  Called for each
 * certificate of the peer's chain, leaf last (depth 0); only the leaf counts. */
static int dtls_verify_cert(void *arg, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct dtls *s = arg;
	uint8_t fp[DTLS_FP_LEN];

	if (depth != 0) {
		*flags = 0; /* WebRTC certificates are self-signed; a chain is not looked at */
		return 0;
	}
	if (crypto_sha256(crt->raw.p, crt->raw.len, fp) == 0 &&
	    crypto_memeq(fp, s->remote_fp, DTLS_FP_LEN)) {
		s->fp_ok = true;
		*flags = 0;
		return 0;
	}
	s->fp_mismatch = true;
	*flags |= MBEDTLS_X509_BADCERT_NOT_TRUSTED;
	return 0;
}

static int dtls_conf_setup(struct dtls_ctx *ctx, enum dtls_role role)
{
	mbedtls_ssl_config *c = &ctx->conf[role];

	if (mbedtls_ssl_config_defaults(c,
					role == DTLS_ROLE_SERVER ? MBEDTLS_SSL_IS_SERVER
								 : MBEDTLS_SSL_IS_CLIENT,
					MBEDTLS_SSL_TRANSPORT_DATAGRAM, MBEDTLS_SSL_PRESET_DEFAULT))
		return 0;
	mbedtls_ssl_conf_rng(c, crypto_mbedtls_rng, NULL);
	mbedtls_ssl_conf_min_tls_version(c, MBEDTLS_SSL_VERSION_TLS1_2);
	mbedtls_ssl_conf_max_tls_version(c, MBEDTLS_SSL_VERSION_TLS1_2);
	mbedtls_ssl_conf_ciphersuites(c, ctx->suites);
	mbedtls_ssl_conf_groups(c, dtls_groups);
	/* Both sides present certificates (RFC 8827 §6.5); the CA chain is only there because
	 * mbedTLS wants one: the verify callback decides. */
	mbedtls_ssl_conf_authmode(c, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(c, &ctx->crt, NULL);
	/* see dtls_set_timer: the timeouts are ours, mbedTLS must never reach its max */
	mbedtls_ssl_conf_handshake_timeout(c, ctx->cfg.timer_initial_ms, UINT32_MAX);
	mbedtls_ssl_conf_extended_master_secret(c, MBEDTLS_SSL_EXTENDED_MS_ENABLED);
	mbedtls_ssl_conf_dtls_anti_replay(c, MBEDTLS_SSL_ANTI_REPLAY_ENABLED);
	if (role == DTLS_ROLE_SERVER)
		mbedtls_ssl_conf_cert_req_ca_list(c, MBEDTLS_SSL_CERT_REQ_CA_LIST_DISABLED);
	return mbedtls_ssl_conf_own_cert(c, &ctx->crt, &ctx->key) == 0;
}

static int dtls_ctx_setup(struct dtls_ctx *ctx, const struct dtls_cert *cert)
{
	static const int aes_first[] = { 0, 1, 2 }, chacha_first[] = { 2, 0, 1 };
	const int *order = ctx->cfg.prefer_chacha ? chacha_first : aes_first;
	unsigned char key[256];
	int n = 0, len;

	for (size_t i = 0; i < 3; i++)
		if (ctx->cfg.ciphers & dtls_mbedtls_suites[order[i]].bit)
			ctx->suites[n++] = dtls_mbedtls_suites[order[i]].id;
	ctx->suites[n] = 0;
	/* The context's own copies of the certificate and key: cert may be freed. */
	len = mbedtls_pk_write_key_der((mbedtls_pk_context *)&cert->key, key, sizeof(key));
	if (len <= 0 || mbedtls_x509_crt_parse_der(&ctx->crt, cert->der, cert->der_len) ||
	    mbedtls_pk_parse_key(&ctx->key, key + sizeof(key) - len, (size_t)len, NULL, 0,
				 crypto_mbedtls_rng, NULL)) {
		crypto_cleanse(key, sizeof(key));
		return 0;
	}
	crypto_cleanse(key, sizeof(key));
	return dtls_conf_setup(ctx, DTLS_ROLE_SERVER) && dtls_conf_setup(ctx, DTLS_ROLE_CLIENT);
}

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
	mbedtls_ssl_config_init(&ctx->conf[0]);
	mbedtls_ssl_config_init(&ctx->conf[1]);
	mbedtls_x509_crt_init(&ctx->crt);
	mbedtls_pk_init(&ctx->key);
	ctx->conf_init = true;
	if (!crypto_mbedtls_drbg() || !dtls_ctx_setup(ctx, cert)) {
		dtls_ctx_free(ctx);
		*err = DTLS_E_SSL;
		return NULL;
	}
	*err = DTLS_OK;
	return ctx;
}

void dtls_ctx_free(struct dtls_ctx *ctx)
{
	if (!ctx)
		return;
	if (ctx->conf_init) {
		mbedtls_ssl_config_free(&ctx->conf[0]);
		mbedtls_ssl_config_free(&ctx->conf[1]);
		mbedtls_x509_crt_free(&ctx->crt);
		mbedtls_pk_free(&ctx->key);
	}
	free(ctx);
}

/* ---- I/O and timer callbacks ---- */

static int dtls_send_cb(void *arg, const unsigned char *buf, size_t len)
{
	struct dtls *s = arg;

	s->stats.tx_datagrams++;
	if (s->cb.send)
		s->cb.send(s->user, buf, len);
	return (int)len;
}

static int dtls_recv_cb(void *arg, unsigned char *buf, size_t cap)
{
	struct dtls *s = arg;
	size_t n = s->in_len;

	if (!n)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (n > cap)
		n = cap; /* datagram semantics: the rest is lost */
	memcpy(buf, s->in, n);
	s->in_len = 0;
	return (int)n;
}

/* mbedtls_ssl_set_timer_t: fin_ms 0 cancels.  The retransmission timeout is ours (RFC 6347
 * §4.2.4.1, as OpenSSL keeps it): timer_initial_ms for each new flight, doubled on each
 * expiry up to timer_max_ms; mbedTLS' own value (which would end the handshake at its max)
 * is ignored and its max set out of reach. */
static void dtls_set_timer(void *arg, uint32_t int_ms, uint32_t fin_ms)
{
	struct dtls *s = arg;
	uint64_t now = now_ms();

	s->timer_running = fin_ms != 0;
	if (!fin_ms)
		return;
	if (!s->retransmitting)
		s->timeout_ms = s->ctx->cfg.timer_initial_ms;
	else if ((s->timeout_ms *= 2) > s->ctx->cfg.timer_max_ms)
		s->timeout_ms = s->ctx->cfg.timer_max_ms;
	s->timer_fin_ms = now + s->timeout_ms;
	s->timer_int_ms = now + s->timeout_ms / 4; /* mbedTLS' int_ms is a quarter of fin_ms */
}

/* mbedtls_ssl_get_timer_t: -1 cancelled, 0 running, 1 intermediate passed, 2 final passed. */
static int dtls_get_timer(void *arg)
{
	struct dtls *s = arg;
	uint64_t now;

	if (!s->timer_running)
		return -1;
	now = now_ms();
	if (now >= s->timer_fin_ms)
		return 2;
	return now >= s->timer_int_ms ? 1 : 0;
}

/* ---- session ---- */

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
	mbedtls_ssl_init(&s->ssl);
	if (mbedtls_ssl_setup(&s->ssl, &ctx->conf[role])) {
		*err = DTLS_E_NOMEM;
		goto fail;
	}
	/* Peers are identified by fingerprint, not by name: no host name to check. */
	if (role == DTLS_ROLE_CLIENT && mbedtls_ssl_set_hostname(&s->ssl, NULL)) {
		*err = DTLS_E_SSL;
		goto fail;
	}
	mbedtls_ssl_set_verify(&s->ssl, dtls_verify_cert, s);
	mbedtls_ssl_set_bio(&s->ssl, s, dtls_send_cb, dtls_recv_cb, NULL);
	mbedtls_ssl_set_timer_cb(&s->ssl, s, dtls_set_timer, dtls_get_timer);
	mbedtls_ssl_set_mtu(&s->ssl, ctx->cfg.mtu);
	*err = DTLS_OK;
	return s;
fail:
	mbedtls_ssl_free(&s->ssl);
	free(s);
	return NULL;
}

static void dtls_destroy(struct dtls *s)
{
	mbedtls_ssl_free(&s->ssl);
	free(s);
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

static void dtls_leave(struct dtls *s)
{
	if (--s->depth == 0 && s->free_pending)
		dtls_destroy(s);
}

/* close_notify (RFC 5246 §7.2.1), e.g. in answer to the peer's. */
static void dtls_send_close_notify(struct dtls *s)
{
	s->busy = true;
	mbedtls_ssl_close_notify(&s->ssl);
	s->busy = false;
}

static void dtls_set_closed(struct dtls *s, int reason)
{
	if (s->state == DTLS_STATE_CLOSED)
		return;
	s->state = DTLS_STATE_CLOSED;
	s->timer_running = false;
	if (s->cb.on_closed && !s->free_pending)
		s->cb.on_closed(s->user, reason);
}

/* After a failed mbedTLS call: why, from our flags and its error code. */
static void dtls_fail(struct dtls *s, int rc, int fallback)
{
	int reason = fallback;

	if (s->fp_mismatch)
		reason = DTLS_E_FINGERPRINT;
	else if (rc == MBEDTLS_ERR_SSL_TIMEOUT)
		reason = DTLS_E_TIMEOUT;
	else if (rc == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE)
		reason = DTLS_E_PEER_ALERT;
	else if (rc == MBEDTLS_ERR_SSL_ALLOC_FAILED)
		reason = DTLS_E_NOMEM;
	dtls_set_closed(s, reason);
}

static void dtls_handshake_done(struct dtls *s)
{
	/* The verify callback already checked; this guards any path that skips it. */
	if (!s->fp_ok || s->fp_mismatch) {
		dtls_send_close_notify(s);
		dtls_set_closed(s, DTLS_E_FINGERPRINT);
		return;
	}
	/* Handshake flights are fragmented to the MTU; application data is one record of up
	 * to DTLS_MAX_APP_DATA (= MBEDTLS_SSL_OUT_CONTENT_LEN) per datagram, as with OpenSSL. */
	mbedtls_ssl_set_mtu(&s->ssl, 0);
	s->state = DTLS_STATE_CONNECTED;
	s->handshake_done = true;
	if (s->cb.on_connected)
		s->cb.on_connected(s->user);
}

static void dtls_handshake(struct dtls *s)
{
	int rc;

	s->busy = true;
	rc = mbedtls_ssl_handshake(&s->ssl);
	s->busy = false;
	if (rc == 0) {
		dtls_handshake_done(s);
		return;
	}
	if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
		return;
	dtls_fail(s, rc, DTLS_E_HANDSHAKE);
}

/* Deliver every record mbedTLS can decrypt now (RFC 6347 §4.1.2.7: bad records are silently
 * discarded; a close_notify ends the session, RFC 5246 §7.2.1). */
static void dtls_read_all(struct dtls *s)
{
	uint8_t buf[DTLS_READ_BUF];
	int n;

	while (s->state == DTLS_STATE_CONNECTED && !s->free_pending) {
		s->busy = true;
		n = mbedtls_ssl_read(&s->ssl, buf, sizeof(buf));
		s->busy = false;
		if (n > 0) {
			s->stats.rx_app_bytes += (uint64_t)n;
			if (s->cb.on_data)
				s->cb.on_data(s->user, buf, (size_t)n);
			continue;
		}
		switch (n) {
		case 0: /* "EOF": our receive callback never says that; nothing more here */
		case MBEDTLS_ERR_SSL_WANT_READ:
		case MBEDTLS_ERR_SSL_WANT_WRITE:
		case MBEDTLS_ERR_SSL_TIMEOUT: /* no datagram: nothing to wait for here */
			return;
		case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
			dtls_send_close_notify(s);
			dtls_set_closed(s, DTLS_OK);
			return;
		default:
			dtls_fail(s, n, DTLS_E_PROTOCOL);
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
	s->depth++;
	dtls_handshake(s);
	rc = s->state == DTLS_STATE_CLOSED ? DTLS_E_CLOSED : DTLS_OK;
	dtls_leave(s);
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
	s->depth++;
	if (s->state == DTLS_STATE_NEW)
		s->state = DTLS_STATE_HANDSHAKING;
	if (s->state == DTLS_STATE_HANDSHAKING)
		dtls_handshake(s);
	if (s->state == DTLS_STATE_CONNECTED)
		dtls_read_all(s);
	s->in = NULL;
	s->in_len = 0;
	rc = s->state == DTLS_STATE_CLOSED ? DTLS_E_CLOSED : DTLS_OK;
	dtls_leave(s);
	return rc;
}

int dtls_send(struct dtls *s, const uint8_t *data, size_t len)
{
	int n, rc = DTLS_OK;

	if (!s || !data || !len)
		return DTLS_E_INVALID;
	if (len > DTLS_MAX_APP_DATA)
		return DTLS_E_TOO_BIG;
	if (s->busy)
		return DTLS_E_BUSY;
	if (s->state != DTLS_STATE_CONNECTED || s->free_pending)
		return DTLS_E_STATE;
	s->depth++;
	s->busy = true;
	n = mbedtls_ssl_write(&s->ssl, data, len);
	s->busy = false;
	if (n == (int)len) {
		s->stats.tx_app_bytes += len;
	} else {
		dtls_fail(s, n, DTLS_E_PROTOCOL);
		rc = DTLS_E_CLOSED;
	}
	dtls_leave(s);
	return rc;
}

int64_t dtls_timeout_ms(struct dtls *s)
{
	uint64_t now;

	if (!s || s->state == DTLS_STATE_CLOSED || s->state == DTLS_STATE_NEW || s->busy ||
	    !s->timer_running)
		return -1;
	now = now_ms();
	return now >= s->timer_fin_ms ? 0 : (int64_t)(s->timer_fin_ms - now);
}

void dtls_on_timeout(struct dtls *s)
{
	if (!s || s->depth || s->state != DTLS_STATE_HANDSHAKING || !s->timer_running ||
	    now_ms() < s->timer_fin_ms)
		return;
	s->depth++;
	/* The handshake step sees the expired timer and resends the last flight
	 * (RFC 6347 §4.2.4); after DTLS_MAX_EXPIRIES expiries the handshake is given up. */
	if (++s->stats.retransmits >= DTLS_MAX_EXPIRIES) {
		dtls_set_closed(s, DTLS_E_TIMEOUT);
	} else {
		s->retransmitting = true;
		dtls_handshake(s);
		s->retransmitting = false;
	}
	dtls_leave(s);
}

void dtls_close(struct dtls *s)
{
	if (!s || s->busy || s->state == DTLS_STATE_CLOSED)
		return;
	s->depth++;
	if (s->state == DTLS_STATE_CONNECTED)
		dtls_send_close_notify(s);
	dtls_set_closed(s, DTLS_OK);
	dtls_leave(s);
}

void dtls_release_buffers(struct dtls *s)
{
	/* mbedTLS keeps its per-session buffers (see the top of this file). */
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
	id = mbedtls_ssl_get_ciphersuite_id_from_ssl(&s->ssl);
	for (size_t i = 0; i < sizeof(dtls_mbedtls_suites) / sizeof(dtls_mbedtls_suites[0]); i++)
		if (dtls_mbedtls_suites[i].id == id)
			return dtls_mbedtls_suites[i].name;
	return NULL;
}

const struct dtls_stats *dtls_stats(const struct dtls *s)
{
	return &s->stats;
}
