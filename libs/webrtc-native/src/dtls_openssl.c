/* dtls: DTLS 1.2 endpoints on OpenSSL 3 for WebRTC data channels; see dtls.h.
 *
 * Each session has one BIO of our own kind for both directions: reads hand OpenSSL the
 * datagram dtls_on_packet() is processing (one read = one datagram, RFC 6347 §4.1.1), and
 * each write OpenSSL makes is one outgoing datagram, passed straight to the send callback.
 * No memory BIOs: nothing is copied or kept per session between datagrams. */
#include "dtls.h"

#include <stdio.h>
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

#define DTLS_RECORD_HEADER_LEN 13 /* type, version, epoch, sequence_number, length */
#define DTLS_READ_BUF 16384       /* one record's plaintext at most (RFC 6347 §4.1) */
#define DTLS_CERT_BACKDATE_S (30L * 86400)
#define DTLS_CERT_LIFETIME_S (365L * 86400)

struct dtls_cert {
	X509 *x509;
	EVP_PKEY *pkey;
	uint8_t fp[DTLS_FP_LEN];
	char fp_text[DTLS_FP_TEXT_LEN + 1];
};

struct dtls_ctx {
	SSL_CTX *ssl_ctx;
	BIO_METHOD *bio_method;
	struct dtls_ctx_config cfg;
};

struct dtls {
	struct dtls_ctx *ctx;
	SSL *ssl;
	struct dtls_callbacks cb;
	void *user;
	const uint8_t *in; /* datagram being processed, for the BIO */
	size_t in_len;
	uint8_t remote_fp[DTLS_FP_LEN];
	enum dtls_role role;
	enum dtls_state state;
	unsigned depth;    /* dtls_* calls on this session currently on the stack */
	bool busy;         /* inside an OpenSSL call: no reentry at all */
	bool free_pending; /* dtls_free() from a callback: free on the way out */
	bool fp_mismatch;  /* the certificate callback refused the peer */
	bool trimmed;      /* record buffers released, see dtls_trim() */
	bool handshake_done;
	struct dtls_stats stats;
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

static int dtls_cert_build(struct dtls_cert *c)
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
	    X509_sign(c->x509, c->pkey, EVP_sha256()) > 0 && dtls_x509_fingerprint(c->x509, c->fp))
		ok = 1;
	BN_free(bn);
	return ok;
}

int dtls_cert_generate(struct dtls_cert **out)
{
	struct dtls_cert *c;

	if (!out)
		return DTLS_E_INVALID;
	*out = NULL;
	if (!(c = calloc(1, sizeof(*c))))
		return DTLS_E_NOMEM;
	if (!dtls_cert_build(c)) {
		dtls_clear_errors();
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
	X509_free(c->x509);
	EVP_PKEY_free(c->pkey);
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


/* BIO of one session: see the comment at the top. */
static int dtls_bio_write(BIO *b, const char *data, int len)
{
	struct dtls *s = BIO_get_data(b);

	if (len <= 0)
		return 0;
	s->stats.tx_datagrams++;
	if (s->cb.send)
		s->cb.send(s->user, (const uint8_t *)data, (size_t)len);
	return len;
}

static int dtls_bio_read(BIO *b, char *out, int cap)
{
	struct dtls *s = BIO_get_data(b);
	size_t n = s->in_len;

	BIO_clear_retry_flags(b);
	if (!n || cap <= 0) {
		BIO_set_retry_read(b);
		return -1;
	}
	if (n > (size_t)cap)
		n = (size_t)cap; /* datagram semantics: the rest is lost */
	memcpy(out, s->in, n);
	s->in_len = 0;
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

/* RFC 8122 §5 / RFC 8827 §6.5: the peer is who its SDP fingerprint says.  Replaces chain
 * verification (certificates are self-signed); CertificateVerify still proves the key. */
static int dtls_verify_cert(X509_STORE_CTX *store, void *arg)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct dtls *s = ssl ? SSL_get_app_data(ssl) : NULL;
	X509 *peer = X509_STORE_CTX_get0_cert(store);
	uint8_t fp[DTLS_FP_LEN];

	if (s && peer && dtls_x509_fingerprint(peer, fp) &&
	    CRYPTO_memcmp(fp, s->remote_fp, DTLS_FP_LEN) == 0)
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

static int dtls_ctx_setup(struct dtls_ctx *ctx, const struct dtls_cert *cert)
{
	SSL_CTX *sc = ctx->ssl_ctx;
	char list[128];

	dtls_cipher_list(ctx->cfg.ciphers, ctx->cfg.prefer_chacha, list, sizeof(list));
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
	ctx->ssl_ctx = SSL_CTX_new(DTLS_method());
	ctx->bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "pear-fog dtls");
	if (!ctx->ssl_ctx || !ctx->bio_method || !BIO_meth_set_write(ctx->bio_method, dtls_bio_write) ||
	    !BIO_meth_set_read(ctx->bio_method, dtls_bio_read) ||
	    !BIO_meth_set_ctrl(ctx->bio_method, dtls_bio_ctrl) || !dtls_ctx_setup(ctx, cert)) {
		dtls_clear_errors();
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
	SSL_CTX_free(ctx->ssl_ctx);
	BIO_meth_free(ctx->bio_method);
	free(ctx);
}

/* ---- session ---- */

struct dtls *dtls_new(struct dtls_ctx *ctx, enum dtls_role role,
		      const uint8_t remote_fp[DTLS_FP_LEN], const struct dtls_callbacks *cb,
		      void *user, int *err)
{
	struct dtls *s;
	BIO *bio;
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
	if (!(s->ssl = SSL_new(ctx->ssl_ctx)) || !(bio = BIO_new(ctx->bio_method))) {
		*err = DTLS_E_NOMEM;
		goto fail;
	}
	BIO_set_data(bio, s);
	BIO_set_init(bio, 1);
	SSL_set_bio(s->ssl, bio, bio); /* the SSL owns it now */
	SSL_set_app_data(s->ssl, s);
	DTLS_set_timer_cb(s->ssl, dtls_timer_cb);
	if (!SSL_set_mtu(s->ssl, ctx->cfg.mtu)) {
		*err = DTLS_E_SSL;
		goto fail;
	}
	if (role == DTLS_ROLE_SERVER)
		SSL_set_accept_state(s->ssl);
	else
		SSL_set_connect_state(s->ssl);
	*err = DTLS_OK;
	return s;
fail:
	dtls_clear_errors();
	SSL_free(s->ssl);
	free(s);
	return NULL;
}

static void dtls_destroy(struct dtls *s)
{
	SSL_free(s->ssl);
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

static void dtls_enter(struct dtls *s)
{
	s->depth++;
}

/* Give OpenSSL's record buffers back between datagrams (SSL_MODE_RELEASE_BUFFERS does not
 * cover DTLS in OpenSSL 3.0): ~21 KB per idle session.  Only from the outermost call, never
 * between two SSL_read()s of one datagram, and only when connected: OpenSSL 3.0's DTLS
 * write path does not reallocate them (the read path does), so dtls_untrim() must run
 * before anything that writes outside a read. */
static void dtls_trim(struct dtls *s)
{
	if (s->depth == 1 && s->state == DTLS_STATE_CONNECTED && !s->free_pending &&
	    !s->trimmed && SSL_free_buffers(s->ssl))
		s->trimmed = true;
}

/* Reallocate the buffers: a read with no datagram available sets them up and returns
 * WANT_READ (application data still queued inside OpenSSL stays for the next read). */
static void dtls_untrim(struct dtls *s)
{
	uint8_t b;

	if (!s->trimmed)
		return;
	s->trimmed = false;
	s->busy = true;
	SSL_peek(s->ssl, &b, 1);
	s->busy = false;
	dtls_clear_errors();
}

/* Frees s if dtls_free() was deferred.  Sends do not trim: the peer's answer (an SCTP
 * SACK) follows soon and trims, so a burst of sends costs one buffer set-up, not one each. */
static void dtls_leave(struct dtls *s, bool trim)
{
	if (trim && s->ctx->cfg.release_buffers)
		dtls_trim(s);
	if (--s->depth == 0 && s->free_pending)
		dtls_destroy(s);
}

/* close_notify (RFC 5246 §7.2.1), e.g. in answer to the peer's. */
static void dtls_send_close_notify(struct dtls *s)
{
	dtls_clear_errors();
	s->busy = true;
	SSL_shutdown(s->ssl);
	s->busy = false;
	dtls_clear_errors();
}

static void dtls_set_closed(struct dtls *s, int reason)
{
	if (s->state == DTLS_STATE_CLOSED)
		return;
	s->state = DTLS_STATE_CLOSED;
	if (s->cb.on_closed && !s->free_pending)
		s->cb.on_closed(s->user, reason);
}

/* After a failed SSL call: why, from our flags and OpenSSL's error queue (emptied). */
static int dtls_failure_reason(struct dtls *s, int fallback)
{
	int reason = s->fp_mismatch ? DTLS_E_FINGERPRINT : fallback;
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

static void dtls_fail(struct dtls *s, int fallback)
{
	dtls_set_closed(s, dtls_failure_reason(s, fallback));
}

static void dtls_handshake_done(struct dtls *s)
{
	X509 *peer = SSL_get0_peer_certificate(s->ssl);
	uint8_t fp[DTLS_FP_LEN];

	/* The certificate callback already checked; this guards any path that skips it. */
	if (!peer || !dtls_x509_fingerprint(peer, fp) ||
	    CRYPTO_memcmp(fp, s->remote_fp, DTLS_FP_LEN) != 0) {
		dtls_send_close_notify(s);
		dtls_set_closed(s, DTLS_E_FINGERPRINT);
		return;
	}
	s->state = DTLS_STATE_CONNECTED;
	s->handshake_done = true;
	if (s->cb.on_connected)
		s->cb.on_connected(s->user);
}

static void dtls_handshake(struct dtls *s)
{
	int r;

	dtls_clear_errors();
	s->busy = true;
	r = SSL_do_handshake(s->ssl);
	s->busy = false;
	if (r == 1) {
		dtls_handshake_done(s);
		return;
	}
	switch (SSL_get_error(s->ssl, r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		dtls_clear_errors();
		return;
	default:
		dtls_fail(s, DTLS_E_HANDSHAKE);
	}
}

/* Deliver every record OpenSSL can decrypt now (RFC 6347 §4.1.2.7: bad records are
 * silently discarded by OpenSSL; a close_notify ends the session, RFC 5246 §7.2.1). */
static void dtls_read_all(struct dtls *s)
{
	uint8_t buf[DTLS_READ_BUF];
	int n;

	while (s->state == DTLS_STATE_CONNECTED && !s->free_pending) {
		dtls_clear_errors();
		s->busy = true;
		n = SSL_read(s->ssl, buf, sizeof(buf));
		s->busy = false;
		if (n > 0) {
			s->stats.rx_app_bytes += (uint64_t)n;
			if (s->cb.on_data)
				s->cb.on_data(s->user, buf, (size_t)n);
			continue;
		}
		switch (SSL_get_error(s->ssl, n)) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			dtls_clear_errors();
			return;
		case SSL_ERROR_ZERO_RETURN:
			dtls_send_close_notify(s);
			dtls_set_closed(s, DTLS_OK);
			return;
		default:
			dtls_fail(s, DTLS_E_PROTOCOL);
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
	s->trimmed = false; /* reading sets the record buffers up again */
	dtls_enter(s);
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
	int n, rc = DTLS_OK;

	if (!s || !data || !len)
		return DTLS_E_INVALID;
	if (len > DTLS_MAX_APP_DATA)
		return DTLS_E_TOO_BIG;
	if (s->busy)
		return DTLS_E_BUSY;
	if (s->state != DTLS_STATE_CONNECTED || s->free_pending)
		return DTLS_E_STATE;
	dtls_enter(s);
	dtls_untrim(s);
	dtls_clear_errors();
	s->busy = true;
	n = SSL_write(s->ssl, data, (int)len);
	s->busy = false;
	if (n == (int)len) {
		s->stats.tx_app_bytes += len;
	} else {
		dtls_fail(s, DTLS_E_PROTOCOL);
		rc = DTLS_E_CLOSED;
	}
	dtls_leave(s, false);
	return rc;
}

int64_t dtls_timeout_ms(struct dtls *s)
{
	struct timeval tv;

	if (!s || s->state == DTLS_STATE_CLOSED || s->state == DTLS_STATE_NEW || s->busy)
		return -1;
	if (DTLSv1_get_timeout(s->ssl, &tv) != 1)
		return -1;
	/* Rounded up: waking early would only find the timer not yet expired. */
	return (int64_t)tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000;
}

void dtls_on_timeout(struct dtls *s)
{
	struct timeval tv;
	int r;

	if (!s || s->depth ||
	    (s->state != DTLS_STATE_HANDSHAKING && s->state != DTLS_STATE_CONNECTED))
		return;
	/* not running or not yet due: nothing to do (and no buffers to set up) */
	if (DTLSv1_get_timeout(s->ssl, &tv) != 1 || tv.tv_sec || tv.tv_usec)
		return;
	dtls_enter(s);
	dtls_untrim(s);
	dtls_clear_errors();
	s->busy = true;
	r = DTLSv1_handle_timeout(s->ssl);
	s->busy = false;
	if (r < 0)
		dtls_fail(s, DTLS_E_TIMEOUT);
	else
		dtls_clear_errors();
	dtls_leave(s, true);
}

void dtls_close(struct dtls *s)
{
	if (!s || s->busy || s->state == DTLS_STATE_CLOSED)
		return;
	dtls_enter(s);
	if (s->state == DTLS_STATE_CONNECTED) {
		dtls_untrim(s);
		dtls_send_close_notify(s);
	}
	dtls_set_closed(s, DTLS_OK);
	dtls_leave(s, true);
}

void dtls_release_buffers(struct dtls *s)
{
	if (!s || s->depth)
		return;
	s->depth++;
	dtls_trim(s);
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
	const SSL_CIPHER *c;

	if (!s->handshake_done)
		return NULL;
	c = SSL_get_current_cipher(s->ssl);
	return c ? SSL_CIPHER_get_name(c) : NULL;
}

const struct dtls_stats *dtls_stats(const struct dtls *s)
{
	return &s->stats;
}
