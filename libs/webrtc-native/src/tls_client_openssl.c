/* tls_client on OpenSSL 3 (TLS=openssl); see tls_client.h. */
#include "tls_client.h"

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

struct tls_client {
	struct loop *loop;
	struct tcp_client *tcp;
	struct tls_client_ctx *ctx;
	SSL *ssl;
	struct loop_timer deadline;
	struct tls_client_cb cb;
	void *user;
	char host[TCP_CLIENT_MAX_HOST + 1];
	uint32_t want;		 /* caller's interest */
	bool handshaking, ready;
	bool read_needs_write;	 /* last SSL_read said WANT_WRITE */
	bool write_needs_read;	 /* last SSL_write said WANT_READ */
	char detail[TLS_CLIENT_DETAIL_MAX];
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

static void client_fail(struct tls_client *c, int err)
{
	void (*on_error)(void *, int) = c->cb.on_error;

	loop_timer_cancel(c->loop, &c->deadline);
	c->handshaking = false;
	c->ready = false;
	if (c->tcp) {
		tcp_client_free(c->tcp);
		c->tcp = NULL;
	}
	on_error(c->user, err); /* may free c */
}

/* epoll interest from what the caller wants and what TLS is blocked on */
static int update_events(struct tls_client *c)
{
	uint32_t ev = 0;

	if (!c->tcp)
		return TLS_CLIENT_E_NOT_CONNECTED;
	if (c->want & EPOLLIN)
		ev |= c->read_needs_write ? EPOLLOUT : EPOLLIN;
	if (c->want & EPOLLOUT)
		ev |= c->write_needs_read ? EPOLLIN : EPOLLOUT;
	return tcp_client_set_events(c->tcp, ev);
}

static void handshake_step(struct tls_client *c)
{
	int rc, e;
	long vr;

	clear_queue();
	rc = SSL_do_handshake(c->ssl);
	if (rc == 1) {
		c->handshaking = false;
		c->ready = true;
		loop_timer_cancel(c->loop, &c->deadline);
		c->want = EPOLLIN;
		if (update_events(c) < 0) {
			client_fail(c, TLS_CLIENT_E_NOMEM);
			return;
		}
		c->cb.on_connect(c->user);
		return;
	}
	e = SSL_get_error(c->ssl, rc);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		if (tcp_client_set_events(c->tcp, e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT) < 0)
			client_fail(c, TLS_CLIENT_E_NOMEM);
		return;
	}
	vr = SSL_get_verify_result(c->ssl);
	if (vr != X509_V_OK) {
		snprintf(c->detail, sizeof(c->detail), "%s", X509_verify_cert_error_string(vr));
		ERR_clear_error();
		client_fail(c, TLS_CLIENT_E_VERIFY);
		return;
	}
	note_openssl_error(c);
	client_fail(c, TLS_CLIENT_E_HANDSHAKE);
}

static void on_tcp_connect(void *user)
{
	struct tls_client *c = user;
	struct in6_addr tmp;
	bool ip = inet_pton(AF_INET, c->host, &tmp) == 1 || inet_pton(AF_INET6, c->host, &tmp) == 1;

	c->ssl = SSL_new(c->ctx->ssl_ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, tcp_client_fd(c->tcp)) != 1) {
		note_openssl_error(c);
		client_fail(c, TLS_CLIENT_E_NOMEM);
		return;
	}
	SSL_set_connect_state(c->ssl);
	/* SNI carries DNS names only (RFC 6066 §3); the certificate check covers both */
	if ((!ip && SSL_set_tlsext_host_name(c->ssl, c->host) != 1) ||
	    (ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), c->host)
		: SSL_set1_host(c->ssl, c->host)) != 1 ||
	    SSL_set_alpn_protos(c->ssl, (const unsigned char *)"\x08http/1.1", 9) != 0) {
		note_openssl_error(c);
		client_fail(c, TLS_CLIENT_E_NOMEM);
		return;
	}
	c->handshaking = true;
	handshake_step(c);
}

static void on_tcp_event(void *user, uint32_t events)
{
	struct tls_client *c = user;
	uint32_t out = 0;

	if (c->handshaking) {
		handshake_step(c);
		return;
	}
	if (events & (EPOLLERR | EPOLLHUP))
		out |= c->want & (EPOLLIN | EPOLLOUT); /* let read/write report it */
	if (events & EPOLLIN) {
		if (!c->read_needs_write)
			out |= EPOLLIN;
		if (c->write_needs_read)
			out |= EPOLLOUT;
	}
	if (events & EPOLLOUT) {
		if (!c->write_needs_read)
			out |= EPOLLOUT;
		if (c->read_needs_write)
			out |= EPOLLIN;
	}
	out &= c->want | (events & (EPOLLERR | EPOLLHUP) ? (EPOLLIN | EPOLLOUT) : 0);
	if (out)
		c->cb.on_event(c->user, out);
}

static void on_tcp_error(void *user, int err)
{
	struct tls_client *c = user;

	client_fail(c, err); /* frees the tcp_client: allowed from its callback */
}

static void on_deadline(struct loop_timer *t)
{
	struct tls_client *c = container_of(t, struct tls_client, deadline);

	client_fail(c, TLS_CLIENT_E_TIMEOUT);
}

int tls_client_open(struct tls_client **out, struct loop *l, const struct tls_client_opts *o,
		    const struct tls_client_cb *cb, void *user)
{
	static const struct tcp_client_cb tcp_cb = { on_tcp_connect, on_tcp_event, on_tcp_error };
	struct tcp_client_opts to;
	struct tls_client *c;
	const char *h;
	size_t hlen;
	int rc;

	*out = NULL;
	if (!o || !o->ctx || !o->host || !cb || !cb->on_connect || !cb->on_event || !cb->on_error)
		return TLS_CLIENT_E_INVALID;
	h = o->host;
	hlen = strlen(h);
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (!hlen || hlen > TCP_CLIENT_MAX_HOST)
		return TLS_CLIENT_E_INVALID;
	c = calloc(1, sizeof(*c));
	if (!c)
		return TLS_CLIENT_E_NOMEM;
	c->loop = l;
	c->cb = *cb;
	c->user = user;
	memcpy(c->host, h, hlen);
	c->ctx = o->ctx;
	c->deadline.cb = on_deadline;
	to = (struct tcp_client_opts){ .host = c->host,
				       .port = o->port,
				       .connect_timeout_ms = o->connect_timeout_ms,
				       .family = o->family,
				       .dns = o->dns };
	rc = tcp_client_open(&c->tcp, l, &to, &tcp_cb, c);
	if (rc < 0) {
		free(c);
		return rc;
	}
	if (loop_timer_set(l, &c->deadline, o->connect_timeout_ms ? o->connect_timeout_ms
								  : TCP_CLIENT_CONNECT_TIMEOUT_MS) < 0) {
		tcp_client_free(c->tcp);
		free(c);
		return TLS_CLIENT_E_NOMEM;
	}
	tls_client_ctx_ref(c->ctx);
	*out = c;
	return 0;
}

/* Map SSL_read / SSL_write failures (SSL_get_error(3)). */
static ssize_t io_error(struct tls_client *c, int rc, bool reading)
{
	int e = SSL_get_error(c->ssl, rc);

	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		if (reading)
			c->read_needs_write = e == SSL_ERROR_WANT_WRITE;
		else
			c->write_needs_read = e == SSL_ERROR_WANT_READ;
		update_events(c);
		return TLS_CLIENT_E_AGAIN;
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

ssize_t tls_client_read(struct tls_client *c, void *buf, size_t len)
{
	int rc;
	bool was = c->read_needs_write;

	if (!c->ready)
		return TLS_CLIENT_E_NOT_CONNECTED;
	clear_queue();
	rc = SSL_read(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	if (rc > 0) {
		if (was) {
			c->read_needs_write = false;
			update_events(c);
		}
		return rc;
	}
	return io_error(c, rc, true);
}

ssize_t tls_client_write(struct tls_client *c, const void *buf, size_t len)
{
	int rc;
	bool was = c->write_needs_read;

	if (!c->ready)
		return TLS_CLIENT_E_NOT_CONNECTED;
	if (!len)
		return 0;
	clear_queue();
	rc = SSL_write(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	if (rc > 0) {
		if (was) {
			c->write_needs_read = false;
			update_events(c);
		}
		return rc;
	}
	return io_error(c, rc, false);
}

int tls_client_set_events(struct tls_client *c, uint32_t events)
{
	if (!c->ready)
		return TLS_CLIENT_E_NOT_CONNECTED;
	c->want = events & (EPOLLIN | EPOLLOUT);
	return update_events(c);
}

void tls_client_shutdown(struct tls_client *c)
{
	if (!c->ready)
		return;
	clear_queue();
	SSL_shutdown(c->ssl); /* sends close_notify; we do not wait for the peer's */
	ERR_clear_error();
	c->ready = false;
}

const char *tls_client_error_detail(const struct tls_client *c)
{
	return c->detail;
}

void tls_client_free(struct tls_client *c)
{
	if (!c)
		return;
	loop_timer_cancel(c->loop, &c->deadline);
	SSL_free(c->ssl); /* before the socket closes */
	tcp_client_free(c->tcp);
	tls_client_ctx_unref(c->ctx);
	free(c);
}
