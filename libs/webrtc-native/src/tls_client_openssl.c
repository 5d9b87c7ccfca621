/* tls_client on OpenSSL 3 (TLS=openssl); see tls_client.h. */
#include "tls_client.h"

#include "tls_backend.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct tls_client_ctx {
	SSL_CTX *ssl_ctx;
	unsigned refs;
};

struct tls_session {
	SSL *ssl;
};

struct tls_client_ctx *tls_client_ctx_new(const struct tls_client_ctx_opts *o, int *err)
{
	struct tls_client_ctx *ctx = calloc(1, sizeof(*ctx));
	SSL_CTX *s;

	*err = TLS_CLIENT_E_NOMEM;
	if (!ctx)
		return NULL;
	s = SSL_CTX_new(TLS_client_method());
	if (!s) {
		free(ctx);
		return NULL;
	}
	/* TLS 1.2+ only; RFC 8996 deprecates 1.0 and 1.1 */
	SSL_CTX_set_min_proto_version(s, TLS1_2_VERSION);
	SSL_CTX_set_mode(s, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				    SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_options(s, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	if (o && o->insecure_skip_verify) {
		SSL_CTX_set_verify(s, SSL_VERIFY_NONE, NULL);
	} else {
		int ok = o && o->ca_file ? SSL_CTX_load_verify_locations(s, o->ca_file, NULL)
					 : SSL_CTX_set_default_verify_paths(s);
		if (ok != 1) {
			ERR_clear_error();
			SSL_CTX_free(s);
			free(ctx);
			*err = TLS_CLIENT_E_CA;
			return NULL;
		}
		SSL_CTX_set_verify(s, SSL_VERIFY_PEER, NULL);
	}
	ctx->ssl_ctx = s;
	ctx->refs = 1;
	*err = 0;
	return ctx;
}

void tls_client_ctx_ref(struct tls_client_ctx *ctx)
{
	ctx->refs++;
}

void tls_client_ctx_unref(struct tls_client_ctx *ctx)
{
	if (!ctx || --ctx->refs)
		return;
	SSL_CTX_free(ctx->ssl_ctx);
	free(ctx);
}

/* Keep the OpenSSL reason for logs, then leave the error queue empty for the next
 * SSL_get_error() (it is only reliable on an empty queue). */
static void note_openssl_error(struct tls_client *c)
{
	unsigned long e = ERR_peek_last_error();

	if (e)
		ERR_error_string_n(e, c->detail, sizeof(c->detail));
	ERR_clear_error();
}

static void clear_queue(void)
{
	if (ERR_peek_error())
		ERR_clear_error();
}

int tls_session_handshake(struct tls_client *c)
{
	SSL *ssl = c->session->ssl;
	int rc, e;
	long vr;

	clear_queue();
	rc = SSL_do_handshake(ssl);
	if (rc == 1)
		return 0;
	e = SSL_get_error(ssl, rc);
	if (e == SSL_ERROR_WANT_READ)
		return TLS_BACKEND_WANT_READ;
	if (e == SSL_ERROR_WANT_WRITE)
		return TLS_BACKEND_WANT_WRITE;
	vr = SSL_get_verify_result(ssl);
	if (vr != X509_V_OK) {
		snprintf(c->detail, sizeof(c->detail), "%s", X509_verify_cert_error_string(vr));
		ERR_clear_error();
		return TLS_CLIENT_E_VERIFY;
	}
	note_openssl_error(c);
	return TLS_CLIENT_E_HANDSHAKE;
}

int tls_session_new(struct tls_client *c)
{
	struct in6_addr tmp;
	bool ip = inet_pton(AF_INET, c->host, &tmp) == 1 || inet_pton(AF_INET6, c->host, &tmp) == 1;
	SSL *ssl;

	if (!(c->session = calloc(1, sizeof(*c->session))))
		return TLS_CLIENT_E_NOMEM;
	c->session->ssl = ssl = SSL_new(c->ctx->ssl_ctx);
	if (!ssl || SSL_set_fd(ssl, tcp_client_fd(c->tcp)) != 1) {
		note_openssl_error(c);
		return TLS_CLIENT_E_NOMEM;
	}
	SSL_set_connect_state(ssl);
	/* SNI carries DNS names only (RFC 6066 §3); the certificate check covers both */
	if ((!ip && SSL_set_tlsext_host_name(ssl, c->host) != 1) ||
	    (ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), c->host)
		: SSL_set1_host(ssl, c->host)) != 1 ||
	    SSL_set_alpn_protos(ssl, (const unsigned char *)"\x08http/1.1", 9) != 0) {
		note_openssl_error(c);
		return TLS_CLIENT_E_NOMEM;
	}
	return 0;
}

/* Map SSL_read / SSL_write failures (SSL_get_error(3)). */
static ssize_t io_error(struct tls_client *c, int rc)
{
	switch (SSL_get_error(c->session->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		return TLS_BACKEND_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_BACKEND_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return 0; /* close_notify */
	case SSL_ERROR_SSL:
		if (ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			note_openssl_error(c);
			return TLS_CLIENT_E_TRUNCATED;
		}
		note_openssl_error(c);
		return TLS_CLIENT_E_PROTOCOL;
	case SSL_ERROR_SYSCALL:
		note_openssl_error(c);
		return TCP_CLIENT_E_IO;
	default:
		note_openssl_error(c);
		return TLS_CLIENT_E_PROTOCOL;
	}
}

ssize_t tls_session_read(struct tls_client *c, void *buf, size_t len)
{
	int rc;

	clear_queue();
	rc = SSL_read(c->session->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	return rc > 0 ? rc : io_error(c, rc);
}

ssize_t tls_session_write(struct tls_client *c, const void *buf, size_t len)
{
	int rc;

	clear_queue();
	rc = SSL_write(c->session->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	return rc > 0 ? rc : io_error(c, rc);
}

void tls_session_close_notify(struct tls_client *c)
{
	clear_queue();
	SSL_shutdown(c->session->ssl);
	ERR_clear_error();
}

void tls_session_free(struct tls_session *s)
{
	if (!s)
		return;
	SSL_free(s->ssl);
	free(s);
}
