/* tls_client on mbedTLS 3.6 (TLS=mbedtls, the router builds); see tls_client.h.
 *
 * TLS 1.2 only (RFC 5246; mbedtls_config.h leaves 1.3 out), ECDHE with AES-GCM or
 * ChaCha20-Poly1305, RSA or ECDSA certificates.  The system CA store is the first of
 * TLS_CLIENT_CA_BUNDLES that parses (OpenWrt's ca-bundle package installs
 * /etc/ssl/certs/ca-certificates.crt, as Debian does), else the certificates in
 * TLS_CLIENT_CA_DIR.  mbedtls_ssl_set_hostname() sets both
 * SNI and the name checked (RFC 6125 §6; IP literals against iPAddress SANs) — mbedTLS also
 * sends an IP literal as SNI, which RFC 6066 §3 does not allow and servers ignore.
 * The socket I/O is ours (send/recv on the tcp_client's non-blocking fd). */
#include "tls_client.h"

#include "tls_backend.h"

#include "crypto_mbedtls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <mbedtls/net_sockets.h> /* only its error codes: MBEDTLS_NET_C is off */
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

struct tls_client_ctx {
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca;
	unsigned refs;
};

struct tls_session {
	mbedtls_ssl_context ssl;
	int fd;
};

static const char *const alpn_list[] = { "http/1.1", NULL };

static int load_system_cas(mbedtls_x509_crt *ca)
{
	static const char *const bundles[] = { TLS_CLIENT_CA_BUNDLES };

	for (size_t i = 0; i < sizeof(bundles) / sizeof(bundles[0]); i++) {
		/* >= 0: parsed, with that many certificates skipped as unparsable */
		if (mbedtls_x509_crt_parse_file(ca, bundles[i]) >= 0 && ca->version)
			return 0;
		mbedtls_x509_crt_free(ca);
		mbedtls_x509_crt_init(ca);
	}
	if (mbedtls_x509_crt_parse_path(ca, TLS_CLIENT_CA_DIR) >= 0 && ca->version)
		return 0;
	return -1;
}

struct tls_client_ctx *tls_client_ctx_new(const struct tls_client_ctx_opts *o, int *err)
{
	struct tls_client_ctx *ctx = calloc(1, sizeof(*ctx));
	mbedtls_ssl_config *s;

	*err = TLS_CLIENT_E_NOMEM;
	if (!ctx)
		return NULL;
	s = &ctx->conf;
	mbedtls_ssl_config_init(s);
	mbedtls_x509_crt_init(&ctx->ca);
	if (!crypto_mbedtls_drbg() ||
	    mbedtls_ssl_config_defaults(s, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
					MBEDTLS_SSL_PRESET_DEFAULT) ||
	    mbedtls_ssl_conf_alpn_protocols(s, (const char **)alpn_list))
		goto fail;
	mbedtls_ssl_conf_rng(s, crypto_mbedtls_rng, NULL);
	/* TLS 1.2+ only; RFC 8996 deprecates 1.0 and 1.1 */
	mbedtls_ssl_conf_min_tls_version(s, MBEDTLS_SSL_VERSION_TLS1_2);
	if (o && o->insecure_skip_verify) {
		mbedtls_ssl_conf_authmode(s, MBEDTLS_SSL_VERIFY_NONE);
	} else {
		int ok = o && o->ca_file ? mbedtls_x509_crt_parse_file(&ctx->ca, o->ca_file) >= 0 &&
						   ctx->ca.version
					 : load_system_cas(&ctx->ca) == 0;
		if (!ok) {
			*err = TLS_CLIENT_E_CA;
			goto fail;
		}
		mbedtls_ssl_conf_ca_chain(s, &ctx->ca, NULL);
		mbedtls_ssl_conf_authmode(s, MBEDTLS_SSL_VERIFY_REQUIRED);
	}
	ctx->refs = 1;
	*err = 0;
	return ctx;
fail:
	mbedtls_ssl_config_free(s);
	mbedtls_x509_crt_free(&ctx->ca);
	free(ctx);
	return NULL;
}

void tls_client_ctx_ref(struct tls_client_ctx *ctx)
{
	ctx->refs++;
}

void tls_client_ctx_unref(struct tls_client_ctx *ctx)
{
	if (!ctx || --ctx->refs)
		return;
	mbedtls_ssl_config_free(&ctx->conf);
	mbedtls_x509_crt_free(&ctx->ca);
	free(ctx);
}

/* Keep mbedTLS' code for logs (no error strings in this build: MBEDTLS_ERROR_C is off). */
static void note_error(struct tls_client *c, int rc)
{
	snprintf(c->detail, sizeof(c->detail), "mbedTLS error -0x%04x", (unsigned)-rc);
}

/* The verification flags as text (MBEDTLS_X509_REMOVE_INFO drops mbedTLS' own). */
static void note_verify_flags(struct tls_client *c, uint32_t flags)
{
	static const struct {
		uint32_t bit;
		const char *text;
	} reasons[] = {
		{ MBEDTLS_X509_BADCERT_CN_MISMATCH, "certificate is not for this host" },
		{ MBEDTLS_X509_BADCERT_NOT_TRUSTED, "unable to get local issuer certificate" },
		{ MBEDTLS_X509_BADCERT_EXPIRED, "certificate has expired" },
		{ MBEDTLS_X509_BADCERT_FUTURE, "certificate is not yet valid" },
		{ MBEDTLS_X509_BADCERT_KEY_USAGE, "key usage does not allow TLS" },
		{ MBEDTLS_X509_BADCERT_EXT_KEY_USAGE, "extended key usage does not allow TLS" },
		{ MBEDTLS_X509_BADCERT_BAD_MD, "certificate signed with an unacceptable hash" },
		{ MBEDTLS_X509_BADCERT_BAD_KEY, "certificate key unacceptable" },
	};

	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (flags & reasons[i].bit) {
			snprintf(c->detail, sizeof(c->detail), "%s", reasons[i].text);
			return;
		}
	snprintf(c->detail, sizeof(c->detail), "certificate verify failed (flags 0x%x)",
		 (unsigned)flags);
}

int tls_session_handshake(struct tls_client *c)
{
	int rc = mbedtls_ssl_handshake(&c->session->ssl);
	uint32_t vr;

	if (rc == 0)
		return 0;
	if (rc == MBEDTLS_ERR_SSL_WANT_READ)
		return TLS_BACKEND_WANT_READ;
	if (rc == MBEDTLS_ERR_SSL_WANT_WRITE)
		return TLS_BACKEND_WANT_WRITE;
	vr = mbedtls_ssl_get_verify_result(&c->session->ssl);
	if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && vr != 0 && vr != (uint32_t)-1) {
		note_verify_flags(c, vr);
		return TLS_CLIENT_E_VERIFY;
	}
	note_error(c, rc);
	return TLS_CLIENT_E_HANDSHAKE;
}

static int sock_send(void *arg, const unsigned char *buf, size_t len)
{
	struct tls_session *t = arg;
	ssize_t n = send(t->fd, buf, len, MSG_NOSIGNAL);

	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int sock_recv(void *arg, unsigned char *buf, size_t len)
{
	struct tls_session *t = arg;
	ssize_t n = recv(t->fd, buf, len, 0);

	if (n >= 0)
		return (int)n; /* 0: EOF, mbedTLS reports MBEDTLS_ERR_SSL_CONN_EOF */
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_READ;
	return MBEDTLS_ERR_NET_RECV_FAILED;
}

int tls_session_new(struct tls_client *c)
{
	struct tls_session *t = calloc(1, sizeof(*t));
	int rc;

	if (!(c->session = t))
		return TLS_CLIENT_E_NOMEM;
	mbedtls_ssl_init(&t->ssl);
	t->fd = tcp_client_fd(c->tcp);
	/* SNI and the name checked in the certificate (DNS name or IP address) */
	if ((rc = mbedtls_ssl_setup(&t->ssl, &c->ctx->conf)) ||
	    (rc = mbedtls_ssl_set_hostname(&t->ssl, c->host))) {
		note_error(c, rc);
		return TLS_CLIENT_E_NOMEM;
	}
	mbedtls_ssl_set_bio(&t->ssl, t, sock_send, sock_recv, NULL);
	return 0;
}

/* Map mbedtls_ssl_read / mbedtls_ssl_write failures. */
static ssize_t io_error(struct tls_client *c, int rc)
{
	switch (rc) {
	case MBEDTLS_ERR_SSL_WANT_READ:
		return TLS_BACKEND_WANT_READ;
	case MBEDTLS_ERR_SSL_WANT_WRITE:
		return TLS_BACKEND_WANT_WRITE;
	case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
		return 0; /* close_notify */
	case MBEDTLS_ERR_SSL_CONN_EOF:
		note_error(c, rc);
		return TLS_CLIENT_E_TRUNCATED; /* RFC 8446 §6.1 / RFC 5246 §7.2.1 */
	case MBEDTLS_ERR_NET_SEND_FAILED:
	case MBEDTLS_ERR_NET_RECV_FAILED:
		note_error(c, rc);
		return TCP_CLIENT_E_IO;
	default:
		note_error(c, rc);
		return TLS_CLIENT_E_PROTOCOL;
	}
}

ssize_t tls_session_read(struct tls_client *c, void *buf, size_t len)
{
	int rc = mbedtls_ssl_read(&c->session->ssl, buf, len > INT32_MAX ? INT32_MAX : len);

	/* mbedTLS returns 0 for a TCP close without close_notify, which has its own code */
	if (rc == 0)
		rc = MBEDTLS_ERR_SSL_CONN_EOF;
	return rc > 0 ? rc : io_error(c, rc);
}

ssize_t tls_session_write(struct tls_client *c, const void *buf, size_t len)
{
	int rc = mbedtls_ssl_write(&c->session->ssl, buf, len > INT32_MAX ? INT32_MAX : len);

	return rc > 0 ? rc : io_error(c, rc);
}

void tls_session_close_notify(struct tls_client *c)
{
	mbedtls_ssl_close_notify(&c->session->ssl);
}

void tls_session_free(struct tls_session *s)
{
	if (!s)
		return;
	mbedtls_ssl_free(&s->ssl);
	free(s);
}
