/* dtls_mbedtls: the DTLS backend on mbedTLS 3.6 (TLS=mbedtls, the router builds); the
 * session logic is dtls.c's, see dtls_backend.h.  What differs from OpenSSL:
 *
 *   - The I/O callbacks hand mbedTLS the datagram dtls_on_packet() is processing (one read
 *     = one datagram, RFC 6347 §4.1.1) and pass each datagram it writes to the send callback.
 *     mbedTLS packs handshake records into datagrams of at most cfg.mtu bytes; after the
 *     handshake the MTU limit is lifted so one dtls_send() is one record of up to
 *     DTLS_MAX_APP_DATA bytes, as with OpenSSL.
 *   - The retransmission timer (RFC 6347 §4.2.4.1) is ours: mbedTLS sets and polls a
 *     deadline on CLOCK_MONOTONIC; dtls_timeout_ms() reports it to the event loop.  As with
 *     OpenSSL: timer_initial_ms, doubled per expiry up to timer_max_ms, DTLS_E_TIMEOUT after
 *     DTLS_MAX_EXPIRIES expiries.
 *   - No HelloVerifyRequest (MBEDTLS_SSL_DTLS_HELLO_VERIFY is off in mbedtls_config.h, and
 *     turned off at run time in a library built with it, e.g. OpenWrt's libmbedtls for the
 *     SDK build): ICE already proved the peer's return routability (RFC 8445 §2).
 *   - mbedTLS allocates its record buffers per session at set-up (16 KiB in + 4 KiB out,
 *     mbedtls_config.h) and has no call to free them.  release_buffers therefore serializes
 *     a connected session that has been quiet for release_idle_ms (mbedtls_ssl_context_save:
 *     keys, sequence numbers, replay window; MBEDTLS_SSL_CONTEXT_SERIALIZATION) and frees the
 *     library session; the next datagram or send sets one up from that again
 *     (mbedtls_ssl_context_load re-derives the keys, hence not after every datagram).  The
 *     peer sees nothing of it.
 *
 * The verify callback replaces chain validation for the leaf (dtls_peer_fp_check, RFC 8122
 * §5, RFC 8827 §6.5) and the handshake fails with a bad_certificate alert otherwise;
 * CertificateVerify still proves the private key. */
#include "dtls_backend.h"

#include "crypto.h"
#include "crypto_mbedtls.h"
#include "monotime.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/ecp.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <mbedtls/x509_crt.h>

#define DTLS_CERT_DER_MAX 1024 /* a P-256 self-signed certificate is ~400 bytes */
/* release_buffers needs mbedtls_ssl_context_save/load: on in mbedtls_config.h and in
 * mbedTLS' default; a libmbedtls without them (an SDK build) keeps its buffers. */
#if defined(MBEDTLS_SSL_CONTEXT_SERIALIZATION)
#define DTLS_CAN_RELEASE 1
#else
#define DTLS_CAN_RELEASE 0
#endif

struct dtls_backend_cert {
	mbedtls_pk_context key;
	uint8_t der[DTLS_CERT_DER_MAX];
	size_t der_len;
};

struct dtls_backend_ctx {
	mbedtls_ssl_config conf[2]; /* [DTLS_ROLE_SERVER], [DTLS_ROLE_CLIENT] */
	mbedtls_x509_crt crt;
	mbedtls_pk_context key;
	int suites[DTLS_N_SUITES + 1]; /* preference order, 0-terminated */
};

struct dtls_backend_session {
	mbedtls_ssl_context ssl;	     /* freed (only initialised) while saved */
	bool timer_running;
	bool retransmitting;		     /* the next timer is the doubled one */
	uint32_t timeout_ms;		     /* current retransmission timeout */
	uint64_t timer_int_ms, timer_fin_ms; /* CLOCK_MONOTONIC deadlines */
	uint64_t last_rx_ms;		     /* last datagram read (or connected), for release */
	uint8_t *saved;			     /* the serialized connection while released */
	size_t saved_len;
	int cipher_id;			     /* the negotiated suite, kept across release */
};

/* X25519 first, as browsers offer it (RFC 8422 §5.1.1). */
static const uint16_t dtls_groups[] = { MBEDTLS_SSL_IANA_TLS_GROUP_X25519,
					MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1,
					MBEDTLS_SSL_IANA_TLS_GROUP_NONE };

/* ---- certificate ---- */

static void utc_stamp(char out[15], time_t t)
{
	struct tm tm;

	/* X.509 validity as mbedtls_x509write_crt_set_validity wants it: YYYYMMDDhhmmss UTC */
	if (!gmtime_r(&t, &tm) || strftime(out, 15, "%Y%m%d%H%M%S", &tm) != 14)
		out[0] = '\0';
}

static int dtls_cert_build(struct dtls_backend_cert *c, uint8_t fp[DTLS_FP_LEN])
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
	return crypto_sha256(c->der, c->der_len, fp) == 0;
}

int dtls_backend_cert_new(struct dtls_backend_cert **out, uint8_t fp[DTLS_FP_LEN])
{
	struct dtls_backend_cert *c = calloc(1, sizeof(*c));

	if (!(*out = c))
		return DTLS_E_NOMEM;
	mbedtls_pk_init(&c->key);
	return dtls_cert_build(c, fp) ? DTLS_OK : DTLS_E_SSL;
}

void dtls_backend_cert_free(struct dtls_backend_cert *c)
{
	if (!c)
		return;
	mbedtls_pk_free(&c->key);
	free(c);
}

char *dtls_backend_cert_pem(const struct dtls_backend_cert *c, bool private_key)
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

/* dtls_peer_fp_check decides.  Called for each certificate of the peer's chain, leaf last
 * (depth 0); only the leaf counts. */
static int dtls_verify_cert(void *arg, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct dtls *s = arg;
	uint8_t fp[DTLS_FP_LEN];

	if (depth != 0) {
		*flags = 0; /* WebRTC certificates are self-signed; a chain is not looked at */
		return 0;
	}
	if (crypto_sha256(crt->raw.p, crt->raw.len, fp) == 0 && dtls_peer_fp_check(s, fp)) {
		*flags = 0;
		return 0;
	}
	s->fp_mismatch = true;
	*flags |= MBEDTLS_X509_BADCERT_NOT_TRUSTED;
	return 0;
}

static int dtls_conf_setup(struct dtls_backend_ctx *b, const struct dtls_ctx_config *cfg,
			   enum dtls_role role)
{
	mbedtls_ssl_config *c = &b->conf[role];

	if (mbedtls_ssl_config_defaults(c,
					role == DTLS_ROLE_SERVER ? MBEDTLS_SSL_IS_SERVER
								 : MBEDTLS_SSL_IS_CLIENT,
					MBEDTLS_SSL_TRANSPORT_DATAGRAM, MBEDTLS_SSL_PRESET_DEFAULT))
		return 0;
	mbedtls_ssl_conf_rng(c, crypto_mbedtls_rng, NULL);
	mbedtls_ssl_conf_min_tls_version(c, MBEDTLS_SSL_VERSION_TLS1_2);
	mbedtls_ssl_conf_max_tls_version(c, MBEDTLS_SSL_VERSION_TLS1_2);
	mbedtls_ssl_conf_ciphersuites(c, b->suites);
	mbedtls_ssl_conf_groups(c, dtls_groups);
	/* Both sides present certificates (RFC 8827 §6.5); the CA chain is only there because
	 * mbedTLS wants one: the verify callback decides. */
	mbedtls_ssl_conf_authmode(c, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(c, &b->crt, NULL);
	/* see dtls_set_timer: the timeouts are ours, mbedTLS must never reach its max */
	mbedtls_ssl_conf_handshake_timeout(c, cfg->timer_initial_ms, UINT32_MAX);
	mbedtls_ssl_conf_extended_master_secret(c, MBEDTLS_SSL_EXTENDED_MS_ENABLED);
	mbedtls_ssl_conf_dtls_anti_replay(c, MBEDTLS_SSL_ANTI_REPLAY_ENABLED);
	if (role == DTLS_ROLE_SERVER)
		mbedtls_ssl_conf_cert_req_ca_list(c, MBEDTLS_SSL_CERT_REQ_CA_LIST_DISABLED);
#if defined(MBEDTLS_SSL_DTLS_HELLO_VERIFY)
	/* A library built with HelloVerifyRequest (mbedTLS' default, OpenWrt's libmbedtls)
	 * would demand cookies from every ClientHello with its failing default callbacks:
	 * NULL callbacks turn it off, as mbedtls_config.h does at build time (RFC 6347 §4.2.1
	 * cookies guard return routability, which ICE has proved, RFC 8445 §2). */
	if (role == DTLS_ROLE_SERVER)
		mbedtls_ssl_conf_dtls_cookies(c, NULL, NULL, NULL);
#endif
	return mbedtls_ssl_conf_own_cert(c, &b->crt, &b->key) == 0;
}

static int dtls_ctx_setup(struct dtls_backend_ctx *b, const struct dtls_ctx_config *cfg,
			  const struct dtls_backend_cert *cert)
{
	unsigned char key[256];
	int len;

	dtls_suite_ids(cfg, b->suites);
	/* The context's own copies of the certificate and key: cert may be freed. */
	len = mbedtls_pk_write_key_der((mbedtls_pk_context *)&cert->key, key, sizeof(key));
	if (len <= 0 || mbedtls_x509_crt_parse_der(&b->crt, cert->der, cert->der_len) ||
	    mbedtls_pk_parse_key(&b->key, key + sizeof(key) - len, (size_t)len, NULL, 0,
				 crypto_mbedtls_rng, NULL)) {
		crypto_cleanse(key, sizeof(key));
		return 0;
	}
	crypto_cleanse(key, sizeof(key));
	return dtls_conf_setup(b, cfg, DTLS_ROLE_SERVER) &&
	       dtls_conf_setup(b, cfg, DTLS_ROLE_CLIENT);
}

int dtls_backend_ctx_new(struct dtls_ctx *ctx, const struct dtls_cert *cert)
{
	struct dtls_backend_ctx *b = calloc(1, sizeof(*b));

	if (!(ctx->b = b))
		return DTLS_E_NOMEM;
	mbedtls_ssl_config_init(&b->conf[0]);
	mbedtls_ssl_config_init(&b->conf[1]);
	mbedtls_x509_crt_init(&b->crt);
	mbedtls_pk_init(&b->key);
	return crypto_mbedtls_drbg() && dtls_ctx_setup(b, &ctx->cfg, cert->b) ? DTLS_OK
									       : DTLS_E_SSL;
}

void dtls_backend_ctx_free(struct dtls_backend_ctx *b)
{
	if (!b)
		return;
	mbedtls_ssl_config_free(&b->conf[0]);
	mbedtls_ssl_config_free(&b->conf[1]);
	mbedtls_x509_crt_free(&b->crt);
	mbedtls_pk_free(&b->key);
	free(b);
}

/* ---- I/O and timer callbacks ---- */

static int dtls_send_cb(void *arg, const unsigned char *buf, size_t len)
{
	dtls_io_send(arg, buf, len);
	return (int)len;
}

static int dtls_recv_cb(void *arg, unsigned char *buf, size_t cap)
{
	struct dtls *s = arg;
	size_t n = dtls_io_recv(s, buf, cap);

	if (!n)
		return MBEDTLS_ERR_SSL_WANT_READ;
	s->b->last_rx_ms = monotime_ms();
	return (int)n;
}

/* mbedtls_ssl_set_timer_t: fin_ms 0 cancels.  The retransmission timeout is ours (RFC 6347
 * §4.2.4.1, as OpenSSL keeps it): timer_initial_ms for each new flight, doubled on each
 * expiry up to timer_max_ms; mbedTLS' own value (which would end the handshake at its max)
 * is ignored and its max set out of reach. */
static void dtls_set_timer(void *arg, uint32_t int_ms, uint32_t fin_ms)
{
	struct dtls *s = arg;
	struct dtls_backend_session *b = s->b;
	uint64_t now = monotime_ms();

	b->timer_running = fin_ms != 0;
	if (!fin_ms)
		return;
	if (!b->retransmitting)
		b->timeout_ms = s->ctx->cfg.timer_initial_ms;
	else if ((b->timeout_ms *= 2) > s->ctx->cfg.timer_max_ms)
		b->timeout_ms = s->ctx->cfg.timer_max_ms;
	b->timer_fin_ms = now + b->timeout_ms;
	b->timer_int_ms = now + b->timeout_ms / 4; /* mbedTLS' int_ms is a quarter of fin_ms */
}

/* mbedtls_ssl_get_timer_t: -1 cancelled, 0 running, 1 intermediate passed, 2 final passed. */
static int dtls_get_timer(void *arg)
{
	struct dtls_backend_session *b = ((struct dtls *)arg)->b;
	uint64_t now;

	if (!b->timer_running)
		return -1;
	now = monotime_ms();
	if (now >= b->timer_fin_ms)
		return 2;
	return now >= b->timer_int_ms ? 1 : 0;
}

/* ---- session ---- */

/* What a library session needs of ours besides its configuration (also after a load). */
static void dtls_session_io(struct dtls *s)
{
	mbedtls_ssl_set_bio(&s->b->ssl, s, dtls_send_cb, dtls_recv_cb, NULL);
	mbedtls_ssl_set_timer_cb(&s->b->ssl, s, dtls_set_timer, dtls_get_timer);
}

int dtls_backend_session_new(struct dtls *s)
{
	struct dtls_backend_session *b = calloc(1, sizeof(*b));

	if (!(s->b = b))
		return DTLS_E_NOMEM;
	mbedtls_ssl_init(&b->ssl);
	if (mbedtls_ssl_setup(&b->ssl, &s->ctx->b->conf[s->role]))
		return DTLS_E_NOMEM;
	/* Peers are identified by fingerprint, not by name: no host name to check. */
	if (s->role == DTLS_ROLE_CLIENT && mbedtls_ssl_set_hostname(&b->ssl, NULL))
		return DTLS_E_SSL;
	mbedtls_ssl_set_verify(&b->ssl, dtls_verify_cert, s);
	dtls_session_io(s);
	mbedtls_ssl_set_mtu(&b->ssl, s->ctx->cfg.mtu);
	return DTLS_OK;
}

static void dtls_saved_free(struct dtls_backend_session *b)
{
	if (!b->saved)
		return;
	crypto_cleanse(b->saved, b->saved_len); /* the master secret and traffic keys */
	free(b->saved);
	b->saved = NULL;
}

void dtls_backend_session_free(struct dtls_backend_session *b)
{
	if (!b)
		return;
	dtls_saved_free(b);
	mbedtls_ssl_free(&b->ssl);
	free(b);
}

/* After a failed mbedTLS call: why, from its error code. */
static int dtls_failure_reason(int rc, int fallback)
{
	switch (rc) {
	case MBEDTLS_ERR_SSL_TIMEOUT:
		return DTLS_E_TIMEOUT;
	case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE:
		return DTLS_E_PEER_ALERT;
	case MBEDTLS_ERR_SSL_ALLOC_FAILED:
		return DTLS_E_NOMEM;
	default:
		return fallback;
	}
}

int dtls_backend_handshake(struct dtls *s)
{
	int rc = mbedtls_ssl_handshake(&s->b->ssl);

	s->b->retransmitting = false;
	if (rc == 0)
		return DTLS_OK;
	if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
		return DTLS_BACKEND_AGAIN;
	return dtls_failure_reason(rc, DTLS_E_HANDSHAKE);
}

void dtls_backend_connected(struct dtls *s)
{
	/* Handshake flights are fragmented to the MTU; application data is one record of up
	 * to DTLS_MAX_APP_DATA (= MBEDTLS_SSL_OUT_CONTENT_LEN) per datagram, as with OpenSSL. */
	mbedtls_ssl_set_mtu(&s->b->ssl, 0);
	s->b->cipher_id = mbedtls_ssl_get_ciphersuite_id_from_ssl(&s->b->ssl);
	s->b->last_rx_ms = monotime_ms();
}

int dtls_backend_read(struct dtls *s, uint8_t *buf, size_t cap)
{
	int n = mbedtls_ssl_read(&s->b->ssl, buf, cap);

	if (n >= 0)
		return n; /* 0, "EOF": our receive callback never says that; nothing more here */
	switch (n) {
	case MBEDTLS_ERR_SSL_WANT_READ:
	case MBEDTLS_ERR_SSL_WANT_WRITE:
	case MBEDTLS_ERR_SSL_TIMEOUT: /* no datagram: nothing to wait for here */
		return 0;
	case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
		return DTLS_BACKEND_CLOSE_NOTIFY;
	default:
		return dtls_failure_reason(n, DTLS_E_PROTOCOL);
	}
}

int dtls_backend_write(struct dtls *s, const uint8_t *data, size_t len)
{
	int n = mbedtls_ssl_write(&s->b->ssl, data, len);

	return n == (int)len ? DTLS_OK : dtls_failure_reason(n, DTLS_E_PROTOCOL);
}

void dtls_backend_close_notify(struct dtls *s)
{
	mbedtls_ssl_close_notify(&s->b->ssl);
}

int64_t dtls_backend_timeout_ms(struct dtls *s)
{
	struct dtls_backend_session *b = s->b;
	uint64_t due, now;

	if (b->timer_running)
		due = b->timer_fin_ms;
	else if (DTLS_CAN_RELEASE && s->state == DTLS_STATE_CONNECTED &&
		 s->ctx->cfg.release_buffers && !s->trimmed)
		due = b->last_rx_ms + s->ctx->cfg.release_idle_ms; /* see release_buffers */
	else
		return -1;
	now = monotime_ms();
	return now >= due ? 0 : (int64_t)(due - now);
}

int dtls_backend_on_timeout(struct dtls *s)
{
	if (s->state != DTLS_STATE_HANDSHAKING)
		return DTLS_OK;
	/* The handshake step sees the expired timer and resends the last flight
	 * (RFC 6347 §4.2.4); after DTLS_MAX_EXPIRIES expiries the handshake is given up. */
	if (++s->stats.retransmits >= DTLS_MAX_EXPIRIES)
		return DTLS_E_TIMEOUT;
	s->b->retransmitting = true;
	return DTLS_BACKEND_AGAIN;
}

/* See the top of this file.  mbedtls_ssl_context_save refuses while mbedTLS keeps the
 * handshake for resending its last flight (until the peer's first application data), or
 * with data pending: then the next try is after another quiet spell. */
#if DTLS_CAN_RELEASE
bool dtls_backend_release_buffers(struct dtls *s, bool now)
{
	struct dtls_backend_session *b = s->b;
	uint64_t t = monotime_ms();
	size_t len = 0;
	uint8_t *buf;

	if (!now && t - b->last_rx_ms < s->ctx->cfg.release_idle_ms)
		return false;
	if (mbedtls_ssl_context_save(&b->ssl, NULL, 0, &len) != MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL ||
	    !(buf = malloc(len))) {
		b->last_rx_ms = t;
		return false;
	}
	if (mbedtls_ssl_context_save(&b->ssl, buf, len, &len)) {
		crypto_cleanse(buf, len);
		free(buf);
		b->last_rx_ms = t;
		return false;
	}
	mbedtls_ssl_free(&b->ssl); /* its buffers, transform and session */
	mbedtls_ssl_init(&b->ssl);
	b->saved = buf;
	b->saved_len = len;
	b->timer_running = false;
	return true;
}

int dtls_backend_restore_buffers(struct dtls *s, bool reading)
{
	struct dtls_backend_session *b = s->b;
	int rc;

	if (!b->saved)
		return DTLS_OK;
	rc = mbedtls_ssl_setup(&b->ssl, &s->ctx->b->conf[s->role]);
	if (rc == 0)
		rc = mbedtls_ssl_context_load(&b->ssl, b->saved, b->saved_len);
	dtls_saved_free(b);
	if (rc) {
		mbedtls_ssl_free(&b->ssl);
		mbedtls_ssl_init(&b->ssl);
		return rc == MBEDTLS_ERR_SSL_ALLOC_FAILED ? DTLS_E_NOMEM : DTLS_E_SSL;
	}
	dtls_session_io(s);
	b->last_rx_ms = monotime_ms();
	return DTLS_OK;
}
#else
bool dtls_backend_release_buffers(struct dtls *s, bool now)
{
	return false;
}

int dtls_backend_restore_buffers(struct dtls *s, bool reading)
{
	return DTLS_OK;
}
#endif

int dtls_backend_cipher_id(const struct dtls *s)
{
	return s->b->cipher_id;
}
