/* dtls_openssl: the DTLS backend on OpenSSL 3 (TLS=openssl, the Debian host build); the
 * session logic is dtls.c's, see dtls_backend.h.
 *
 * Each session has one BIO of our own kind for both directions: reads hand OpenSSL the
 * datagram dtls_on_packet() is processing (one read = one datagram, RFC 6347 §4.1.1), and
 * each write OpenSSL makes is one outgoing datagram, passed straight to the send callback.
 * No memory BIOs: nothing is copied or kept per session between datagrams.  OpenSSL runs
 * the retransmission timer (RFC 6347 §4.2.4) itself; dtls_timer_cb sets its values. */
#include "dtls_backend.h"

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

struct dtls_backend_cert {
	X509 *x509;
	EVP_PKEY *pkey;
};

struct dtls_backend_ctx {
	SSL_CTX *ssl_ctx;
	BIO_METHOD *bio_method;
};

struct dtls_backend_session {
	SSL *ssl;
};

/* OpenSSL's error queue must be empty before an SSL_* call for SSL_get_error() to be
 * right.  ERR_clear_error() walks and resets every slot of the thread's queue (it was
 * ~9% of the sender's instructions when called around every record); peeking first
 * makes the common, already-empty case two loads. */
static inline void dtls_clear_errors(void)
{
	if (ERR_peek_error())
		ERR_clear_error();
}

/* ---- certificate ---- */

static bool dtls_x509_fingerprint(X509 *x, uint8_t fp[DTLS_FP_LEN])
{
	unsigned n = 0;

	return X509_digest(x, EVP_sha256(), fp, &n) == 1 && n == DTLS_FP_LEN;
}

static int dtls_cert_build(struct dtls_backend_cert *c, uint8_t fp[DTLS_FP_LEN])
{
	uint8_t serial[8];
	BIGNUM *bn = NULL;
	X509_NAME *name;
	int ok = 0;

	c->pkey = EVP_EC_gen("P-256");
	c->x509 = X509_new();
	if (!c->pkey || !c->x509 || RAND_bytes(serial, sizeof(serial)) != 1)
		return 0;
	/* Positive and nonzero (RFC 5280 §4.1.2.2). */
	serial[0] = (serial[0] & 0x7f) | 0x01;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	name = X509_get_subject_name(c->x509);
	if (bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c->x509)) &&
	    X509_set_version(c->x509, X509_VERSION_3) &&
	    X509_gmtime_adj(X509_getm_notBefore(c->x509), -DTLS_CERT_BACKDATE_S) &&
	    X509_gmtime_adj(X509_getm_notAfter(c->x509), DTLS_CERT_LIFETIME_S) &&
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				       (const unsigned char *)"pear-fog", -1, -1, 0) &&
	    X509_set_issuer_name(c->x509, name) && X509_set_pubkey(c->x509, c->pkey) &&
	    X509_sign(c->x509, c->pkey, EVP_sha256()) > 0 && dtls_x509_fingerprint(c->x509, fp))
		ok = 1;
	BN_free(bn);
	return ok;
}

int dtls_backend_cert_new(struct dtls_backend_cert **out, uint8_t fp[DTLS_FP_LEN])
{
	struct dtls_backend_cert *c = calloc(1, sizeof(*c));

	if (!(*out = c))
		return DTLS_E_NOMEM;
	if (!dtls_cert_build(c, fp)) {
		dtls_clear_errors();
		return DTLS_E_SSL;
	}
	return DTLS_OK;
}

void dtls_backend_cert_free(struct dtls_backend_cert *c)
{
	if (!c)
		return;
	X509_free(c->x509);
	EVP_PKEY_free(c->pkey);
	free(c);
}

char *dtls_backend_cert_pem(const struct dtls_backend_cert *c, bool private_key)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long n;
	int ok;

	if (!b)
		return NULL;
	ok = private_key ? PEM_write_bio_PrivateKey(b, c->pkey, NULL, NULL, 0, NULL, NULL)
			 : PEM_write_bio_X509(b, c->x509);
	n = BIO_get_mem_data(b, &data);
	if (ok && n > 0 && (out = malloc((size_t)n + 1))) {
		memcpy(out, data, (size_t)n);
		out[n] = '\0';
	}
	BIO_free(b);
	dtls_clear_errors();
	return out;
}

/* ---- context ---- */

/* BIO of one session: see the comment at the top. */
static int dtls_bio_write(BIO *b, const char *data, int len)
{
	if (len <= 0)
		return 0;
	dtls_io_send(BIO_get_data(b), (const uint8_t *)data, (size_t)len);
	return len;
}

static int dtls_bio_read(BIO *b, char *out, int cap)
{
	size_t n;

	BIO_clear_retry_flags(b);
	if (cap <= 0 || !(n = dtls_io_recv(BIO_get_data(b), (uint8_t *)out, (size_t)cap))) {
		BIO_set_retry_read(b);
		return -1;
	}
	return (int)n;
}

static long dtls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct dtls *s = BIO_get_data(b);

	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_PENDING:
		return (long)s->in_len;
	case BIO_CTRL_DGRAM_QUERY_MTU:
	case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
		return s->ctx->cfg.mtu;
	default:
		return 0; /* WPENDING, GET_MTU_OVERHEAD (mtu counts whole datagrams), … */
	}
}

/* Replaces chain verification: dtls_peer_fp_check decides (RFC 8122 §5, RFC 8827 §6.5). */
static int dtls_verify_cert(X509_STORE_CTX *store, void *arg)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct dtls *s = ssl ? SSL_get_app_data(ssl) : NULL;
	X509 *peer = X509_STORE_CTX_get0_cert(store);
	uint8_t fp[DTLS_FP_LEN];

	if (s && peer && dtls_x509_fingerprint(peer, fp) && dtls_peer_fp_check(s, fp))
		return 1;
	if (s)
		s->fp_mismatch = true;
	X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
	return 0;
}

/* Retransmission timer (RFC 6347 §4.2.4.1): initial value, doubled on each expiry up to
 * the cap.  prev_us is 0 when a new flight starts its timer. */
static unsigned int dtls_timer_cb(SSL *ssl, unsigned int prev_us)
{
	struct dtls *s = SSL_get_app_data(ssl);
	uint64_t next, max = (uint64_t)s->ctx->cfg.timer_max_ms * 1000;

	if (prev_us)
		s->stats.retransmits++; /* called on expiry, before the flight is resent */
	next = prev_us ? (uint64_t)prev_us * 2 : (uint64_t)s->ctx->cfg.timer_initial_ms * 1000;
	return (unsigned int)(next > max ? max : next);
}

static int dtls_ctx_setup(SSL_CTX *sc, const struct dtls_ctx_config *cfg,
			  const struct dtls_backend_cert *cert)
{
	char list[128];

	dtls_cipher_list(cfg->ciphers, cfg->prefer_chacha, list, sizeof(list));
	SSL_CTX_set_options(sc, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
					SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(sc, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(sc, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_verify(sc, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_cert_verify_callback(sc, dtls_verify_cert, NULL);
	return SSL_CTX_set_min_proto_version(sc, DTLS1_2_VERSION) &&
	       SSL_CTX_set_max_proto_version(sc, DTLS1_2_VERSION) &&
	       SSL_CTX_set_max_send_fragment(sc, DTLS_MAX_APP_DATA) &&
	       SSL_CTX_set_cipher_list(sc, list) && SSL_CTX_set1_groups_list(sc, "X25519:P-256") &&
	       SSL_CTX_use_certificate(sc, cert->x509) && SSL_CTX_use_PrivateKey(sc, cert->pkey) &&
	       SSL_CTX_check_private_key(sc);
}

int dtls_backend_ctx_new(struct dtls_ctx *ctx, const struct dtls_cert *cert)
{
	struct dtls_backend_ctx *b = calloc(1, sizeof(*b));

	if (!(ctx->b = b))
		return DTLS_E_NOMEM;
	b->ssl_ctx = SSL_CTX_new(DTLS_method());
	b->bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "pear-fog dtls");
	if (!b->ssl_ctx || !b->bio_method || !BIO_meth_set_write(b->bio_method, dtls_bio_write) ||
	    !BIO_meth_set_read(b->bio_method, dtls_bio_read) ||
	    !BIO_meth_set_ctrl(b->bio_method, dtls_bio_ctrl) ||
	    !dtls_ctx_setup(b->ssl_ctx, &ctx->cfg, cert->b)) {
		dtls_clear_errors();
		return DTLS_E_SSL;
	}
	return DTLS_OK;
}

void dtls_backend_ctx_free(struct dtls_backend_ctx *b)
{
	if (!b)
		return;
	SSL_CTX_free(b->ssl_ctx);
	BIO_meth_free(b->bio_method);
	free(b);
}

/* ---- session ---- */

int dtls_backend_session_new(struct dtls *s)
{
	struct dtls_backend_session *b = calloc(1, sizeof(*b));
	BIO *bio;

	if (!(s->b = b))
		return DTLS_E_NOMEM;
	if (!(b->ssl = SSL_new(s->ctx->b->ssl_ctx)) || !(bio = BIO_new(s->ctx->b->bio_method))) {
		dtls_clear_errors();
		return DTLS_E_NOMEM;
	}
	BIO_set_data(bio, s);
	BIO_set_init(bio, 1);
	SSL_set_bio(b->ssl, bio, bio); /* the SSL owns it now */
	SSL_set_app_data(b->ssl, s);
	DTLS_set_timer_cb(b->ssl, dtls_timer_cb);
	if (!SSL_set_mtu(b->ssl, s->ctx->cfg.mtu)) {
		dtls_clear_errors();
		return DTLS_E_SSL;
	}
	if (s->role == DTLS_ROLE_SERVER)
		SSL_set_accept_state(b->ssl);
	else
		SSL_set_connect_state(b->ssl);
	return DTLS_OK;
}

void dtls_backend_session_free(struct dtls_backend_session *b)
{
	if (!b)
		return;
	SSL_free(b->ssl);
	free(b);
}

/* After a failed SSL call: why, from OpenSSL's error queue (emptied). */
static int dtls_failure_reason(int fallback)
{
	int reason = fallback;
	unsigned long e;

	while ((e = ERR_get_error()) != 0) {
		if (reason != fallback || ERR_GET_LIB(e) != ERR_LIB_SSL)
			continue;
		if (ERR_GET_REASON(e) == SSL_R_READ_TIMEOUT_EXPIRED)
			reason = DTLS_E_TIMEOUT;
		else if (ERR_GET_REASON(e) >= SSL_AD_REASON_OFFSET)
			reason = DTLS_E_PEER_ALERT; /* SSL_R_*_ALERT_* are offset alert codes */
	}
	return reason;
}

int dtls_backend_handshake(struct dtls *s)
{
	int r;

	dtls_clear_errors();
	r = SSL_do_handshake(s->b->ssl);
	if (r == 1)
		return DTLS_OK;
	switch (SSL_get_error(s->b->ssl, r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		dtls_clear_errors();
		return DTLS_BACKEND_AGAIN;
	default:
		return dtls_failure_reason(DTLS_E_HANDSHAKE);
	}
}

void dtls_backend_connected(struct dtls *s)
{
	/* SSL_set_max_send_fragment already makes one record per dtls_send() */
}

int dtls_backend_read(struct dtls *s, uint8_t *buf, size_t cap)
{
	int n;

	dtls_clear_errors();
	n = SSL_read(s->b->ssl, buf, (int)cap);
	if (n > 0)
		return n;
	switch (SSL_get_error(s->b->ssl, n)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		dtls_clear_errors();
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		return DTLS_BACKEND_CLOSE_NOTIFY;
	default:
		return dtls_failure_reason(DTLS_E_PROTOCOL);
	}
}

int dtls_backend_write(struct dtls *s, const uint8_t *data, size_t len)
{
	dtls_clear_errors();
	if (SSL_write(s->b->ssl, data, (int)len) == (int)len)
		return DTLS_OK;
	return dtls_failure_reason(DTLS_E_PROTOCOL);
}

void dtls_backend_close_notify(struct dtls *s)
{
	dtls_clear_errors();
	SSL_shutdown(s->b->ssl);
	dtls_clear_errors();
}

int64_t dtls_backend_timeout_ms(struct dtls *s)
{
	struct timeval tv;

	if (DTLSv1_get_timeout(s->b->ssl, &tv) != 1)
		return -1;
	/* Rounded up: waking early would only find the timer not yet expired. */
	return (int64_t)tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000;
}

int dtls_backend_on_timeout(struct dtls *s)
{
	/* resends the last flight (RFC 6347 §4.2.4); fails after DTLS_MAX_EXPIRIES expiries */
	dtls_clear_errors();
	if (DTLSv1_handle_timeout(s->b->ssl) < 0)
		return dtls_failure_reason(DTLS_E_TIMEOUT);
	dtls_clear_errors();
	return DTLS_OK;
}

/* SSL_MODE_RELEASE_BUFFERS does not cover DTLS in OpenSSL 3.0, so the buffers are freed by
 * hand.  OpenSSL 3.0's DTLS write path does not reallocate them (the read path does). */
bool dtls_backend_release_buffers(struct dtls *s, bool now)
{
	return SSL_free_buffers(s->b->ssl) == 1;
}

/* Before a write: a read with no datagram available sets the buffers up and returns
 * WANT_READ (application data still queued inside OpenSSL stays for the next read). */
int dtls_backend_restore_buffers(struct dtls *s, bool reading)
{
	uint8_t b;

	if (reading)
		return DTLS_OK;
	SSL_peek(s->b->ssl, &b, 1);
	dtls_clear_errors();
	return DTLS_OK;
}

int dtls_backend_cipher_id(const struct dtls *s)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(s->b->ssl);

	return c ? SSL_CIPHER_get_protocol_id(c) : 0;
}
