/* tls_client: a TLS client connection over a tcp_client, driven by the loop.  One backend
 * per TLS library (Makefile TLS=, behind tls_backend.h): tls_client_openssl.c (OpenSSL 3: TLS 1.2 or 1.3, RFC 8446,
 * RFC 5246) and tls_client_mbedtls.c (mbedTLS 3.6, the router builds: TLS 1.2 only).
 *
 * Never below TLS 1.2 (RFC 8996).  The server certificate is verified by
 * default: against the system CA store (OpenSSL's default paths; mbedTLS: the first of
 * TLS_CLIENT_CA_BUNDLES that loads, e.g. OpenWrt's ca-bundle), or only against a pinned CA
 * file; the name checked is the host (DNS name, RFC 6125 §6, or IP address).  SNI
 * (RFC 6066 §3) is sent for names, not for IP literals (mbedTLS sends those too).  The "insecure_skip_verify" context flag turns
 * verification off and exists for tests only.
 *
 * A tls_client_ctx holds the CA store and settings (an SSL_CTX / mbedtls_ssl_config, a few
 * hundred KiB with the system store loaded) and is shared by any number of connections; each
 * connection holds a reference.  OpenSSL: idle connections release their record buffers
 * (SSL_MODE_RELEASE_BUFFERS); mbedTLS keeps them (16 KiB in, 4 KiB out).
 *
 * The connection API mirrors tcp_client: cb->on_connect once the handshake is done and
 * the certificate checked; cb->on_event with EPOLLIN / EPOLLOUT as translated for the
 * caller (TLS may need to write in order to read and the reverse; this is hidden).  The
 * caller must read until TLS_CLIENT_E_AGAIN on EPOLLIN, because TLS can hold decrypted
 * bytes the socket no longer signals.  connect_timeout_ms bounds resolve, connect and
 * handshake.  Callbacks never run from inside tls_client_open(); the client may be freed
 * from inside its callbacks.
 *
 * Error codes are negative, in [-159, -140], or those of tcp_client / dns_client;
 * tls_client_strerror() knows all of them. */
#ifndef PEARFOG_TLS_CLIENT_H
#define PEARFOG_TLS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "loop.h"
#include "tcp_client.h"

#define TLS_CLIENT_DETAIL_MAX 128 /* bytes of the error detail text */
/* The system CA store of the mbedTLS backend: the first of these PEM files that parses
 * (OpenWrt's ca-bundle and Debian's ca-certificates install the first), else every
 * certificate file in TLS_CLIENT_CA_DIR (OpenWrt's ca-certificates package). */
#define TLS_CLIENT_CA_BUNDLES "/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/cert.pem"
#define TLS_CLIENT_CA_DIR "/etc/ssl/certs"

enum tls_client_err {
	TLS_CLIENT_E_AGAIN = -140,
	TLS_CLIENT_E_NOMEM = -141,
	TLS_CLIENT_E_INVALID = -142,   /* missing context or host */
	TLS_CLIENT_E_CA = -143,	       /* the CA file / system store could not be loaded */
	TLS_CLIENT_E_HANDSHAKE = -144, /* handshake failed (alert, protocol, version) */
	TLS_CLIENT_E_VERIFY = -145,    /* certificate not trusted or not for this host */
	TLS_CLIENT_E_PROTOCOL = -146,  /* TLS error after the handshake */
	TLS_CLIENT_E_TRUNCATED = -147, /* TCP closed without close_notify (RFC 8446 §6.1) */
	TLS_CLIENT_E_TIMEOUT = -148,   /* connect_timeout_ms passed during the handshake */
	TLS_CLIENT_E_NOT_CONNECTED = -149,
};

struct tls_client_ctx_opts {
	const char *ca_file;	   /* PEM; NULL: the system CA store */
	bool insecure_skip_verify; /* TESTS ONLY: accept any certificate */
};

struct tls_client_ctx;

/* A new context with one reference, or NULL with *err set (NOMEM or CA). */
struct tls_client_ctx *tls_client_ctx_new(const struct tls_client_ctx_opts *o, int *err);
void tls_client_ctx_ref(struct tls_client_ctx *ctx);
void tls_client_ctx_unref(struct tls_client_ctx *ctx);

struct tls_client_opts {
	const char *host; /* connected to, sent as SNI (names only), checked in the cert */
	uint16_t port;
	uint32_t connect_timeout_ms; /* 0: TCP_CLIENT_CONNECT_TIMEOUT_MS */
	int family;		     /* AF_UNSPEC, AF_INET, AF_INET6 */
	struct tls_client_ctx *ctx;  /* required; the connection takes a reference */
	const struct dns_lookup_opts *dns; /* NULL: defaults */
};

/* Same shape and rules as tcp_client_cb. */
struct tls_client_cb {
	void (*on_connect)(void *user);
	void (*on_event)(void *user, uint32_t events);
	void (*on_error)(void *user, int err);
};

struct tls_client;

int tls_client_open(struct tls_client **out, struct loop *l, const struct tls_client_opts *o,
		    const struct tls_client_cb *cb, void *user);
/* >0 bytes, 0 at close_notify, TLS_CLIENT_E_AGAIN, or an error (TRUNCATED, PROTOCOL,
 * or a tcp_client error). */
ssize_t tls_client_read(struct tls_client *c, void *buf, size_t len);
/* >0 bytes (maybe fewer than len), TLS_CLIENT_E_AGAIN, or an error.  After AGAIN, call
 * again with the same bytes (more may be appended) once on_event says EPOLLOUT. */
ssize_t tls_client_write(struct tls_client *c, const void *buf, size_t len);
/* What the caller wants to hear about: EPOLLIN, EPOLLOUT, both or 0. */
int tls_client_set_events(struct tls_client *c, uint32_t events);
/* Send close_notify (best effort, without waiting for the peer's). */
void tls_client_shutdown(struct tls_client *c);
/* Text with more detail on the last error (verification reason, OpenSSL reason), "". */
const char *tls_client_error_detail(const struct tls_client *c);
void tls_client_free(struct tls_client *c);

const char *tls_client_strerror(int err);

#endif
