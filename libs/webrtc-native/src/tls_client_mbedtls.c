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

struct tls_client {
	struct loop *loop;
	struct tcp_client *tcp;
	struct tls_client_ctx *ctx;
	mbedtls_ssl_context ssl;
	bool ssl_init;
	int fd;
	struct loop_timer deadline;
	struct tls_client_cb cb;
	void *user;
	char host[TCP_CLIENT_MAX_HOST + 1];
	uint32_t want;		 /* caller's interest */
	bool handshaking, ready;
	bool read_needs_write;	 /* last read said WANT_WRITE */
	bool write_needs_read;	 /* last write said WANT_READ */
	char detail[TLS_CLIENT_DETAIL_MAX];
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
	uint32_t vr;
	int rc;

	rc = mbedtls_ssl_handshake(&c->ssl);
	if (rc == 0) {
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
	if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
		if (tcp_client_set_events(c->tcp,
					  rc == MBEDTLS_ERR_SSL_WANT_READ ? EPOLLIN : EPOLLOUT) < 0)
			client_fail(c, TLS_CLIENT_E_NOMEM);
		return;
	}
	vr = mbedtls_ssl_get_verify_result(&c->ssl);
	if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && vr != 0 && vr != (uint32_t)-1) {
		note_verify_flags(c, vr);
		client_fail(c, TLS_CLIENT_E_VERIFY);
		return;
	}
	note_error(c, rc);
	client_fail(c, TLS_CLIENT_E_HANDSHAKE);
}

static int sock_send(void *arg, const unsigned char *buf, size_t len)
{
	struct tls_client *c = arg;
	ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);

	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int sock_recv(void *arg, unsigned char *buf, size_t len)
{
	struct tls_client *c = arg;
	ssize_t n = recv(c->fd, buf, len, 0);

	if (n >= 0)
		return (int)n; /* 0: EOF, mbedTLS reports MBEDTLS_ERR_SSL_CONN_EOF */
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_READ;
	return MBEDTLS_ERR_NET_RECV_FAILED;
}

static void on_tcp_connect(void *user)
{
	struct tls_client *c = user;
	int rc;

	mbedtls_ssl_init(&c->ssl);
	c->ssl_init = true;
	c->fd = tcp_client_fd(c->tcp);
	/* SNI and the name checked in the certificate (DNS name or IP address) */
	if ((rc = mbedtls_ssl_setup(&c->ssl, &c->ctx->conf)) ||
	    (rc = mbedtls_ssl_set_hostname(&c->ssl, c->host))) {
		note_error(c, rc);
		client_fail(c, TLS_CLIENT_E_NOMEM);
		return;
	}
	mbedtls_ssl_set_bio(&c->ssl, c, sock_send, sock_recv, NULL);
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

/* Map mbedtls_ssl_read / mbedtls_ssl_write failures. */
static ssize_t io_error(struct tls_client *c, int rc, bool reading)
{
	switch (rc) {
	case MBEDTLS_ERR_SSL_WANT_READ:
	case MBEDTLS_ERR_SSL_WANT_WRITE:
		if (reading)
			c->read_needs_write = rc == MBEDTLS_ERR_SSL_WANT_WRITE;
		else
			c->write_needs_read = rc == MBEDTLS_ERR_SSL_WANT_READ;
		update_events(c);
		return TLS_CLIENT_E_AGAIN;
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

ssize_t tls_client_read(struct tls_client *c, void *buf, size_t len)
{
	int rc;
	bool was = c->read_needs_write;

	if (!c->ready)
		return TLS_CLIENT_E_NOT_CONNECTED;
	rc = mbedtls_ssl_read(&c->ssl, buf, len > INT32_MAX ? INT32_MAX : len);
	/* mbedTLS returns 0 for a TCP close without close_notify, which has its own code */
	if (rc == 0 && len)
		rc = MBEDTLS_ERR_SSL_CONN_EOF;
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
	rc = mbedtls_ssl_write(&c->ssl, buf, len > INT32_MAX ? INT32_MAX : len);
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
	mbedtls_ssl_close_notify(&c->ssl); /* sends close_notify; we do not wait for the peer's */
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
	if (c->ssl_init)
		mbedtls_ssl_free(&c->ssl); /* before the socket closes */
	tcp_client_free(c->tcp);
	tls_client_ctx_unref(c->ctx);
	free(c);
}
