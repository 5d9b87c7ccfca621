/* tls_backend: what tls_client.c needs from a TLS library, private to tls_client*.c.
 *
 * tls_client.c owns the connection (TCP, deadline, event translation, the caller's
 * interest, errors); a backend (tls_client_openssl.c, tls_client_mbedtls.c, chosen by the
 * Makefile's TLS=) owns the context and one session per connection.  Backend calls set
 * c->detail when they fail. */
#ifndef PEARFOG_TLS_BACKEND_H
#define PEARFOG_TLS_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "tls_client.h"

/* The TLS library would block: it needs the socket readable / writable first. */
#define TLS_BACKEND_WANT_READ (-1)
#define TLS_BACKEND_WANT_WRITE (-2)

struct tls_session; /* the backend's per-connection state */

struct tls_client {
	struct loop *loop;
	struct tcp_client *tcp;
	struct tls_client_ctx *ctx;
	struct tls_session *session; /* NULL until TCP is up */
	struct loop_timer deadline;
	struct tls_client_cb cb;
	void *user;
	char host[TCP_CLIENT_MAX_HOST + 1];
	uint32_t want;		 /* caller's interest */
	bool handshaking, ready;
	bool read_needs_write;	 /* the last read wanted the socket writable */
	bool write_needs_read;	 /* the last write wanted the socket readable */
	char detail[TLS_CLIENT_DETAIL_MAX];
};

/* A session on the connected socket tcp_client_fd(c->tcp) for c->host: SNI for names
 * (RFC 6066 §3), the certificate checked for that name or address, ALPN http/1.1.
 * 0 or TLS_CLIENT_E_NOMEM. */
int tls_session_new(struct tls_client *c);
/* One handshake step: 0 done, TLS_BACKEND_WANT_READ / _WRITE, TLS_CLIENT_E_VERIFY or
 * TLS_CLIENT_E_HANDSHAKE. */
int tls_session_handshake(struct tls_client *c);
/* >0 bytes; read: 0 at close_notify; TLS_BACKEND_WANT_READ / _WRITE; or TLS_CLIENT_E_TRUNCATED,
 * TLS_CLIENT_E_PROTOCOL, TCP_CLIENT_E_IO.  len ≥ 1. */
ssize_t tls_session_read(struct tls_client *c, void *buf, size_t len);
ssize_t tls_session_write(struct tls_client *c, const void *buf, size_t len);
/* Send close_notify, best effort. */
void tls_session_close_notify(struct tls_client *c);
/* Before the socket closes; NULL-safe. */
void tls_session_free(struct tls_session *s);

#endif
