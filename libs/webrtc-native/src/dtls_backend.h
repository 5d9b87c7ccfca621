/* dtls_backend: what dtls.c needs from a TLS library, private to dtls*.c.
 *
 * dtls.c owns the session state machine of dtls.h once for both libraries: argument and
 * state checks, the ClientHello gate of a fresh server (RFC 6347 §4.2.2), reentrancy and
 * deferred free, the fingerprint decision (RFC 8122 §5, RFC 8827 §6.5), close_notify
 * handling (RFC 5246 §7.2.1), the retransmission-timer entry points (RFC 6347 §4.2.4),
 * record-buffer trimming, statistics and the public error codes.  A backend
 * (dtls_openssl.c, dtls_mbedtls.c, chosen by the Makefile's TLS=) only calls its library:
 * it makes the certificate, the per-context configuration and one library session per
 * struct dtls, and runs one library step per call below.
 *
 * Calls that run a library step (handshake, read, write, close_notify, on_timeout,
 * restore_buffers) are made by dtls.c with s->busy set, so callbacks reached from inside
 * them cannot reenter the session.  A backend reports failures as negative enum dtls_err
 * values; dtls.c turns any of them into DTLS_E_FINGERPRINT when the peer was refused. */
#ifndef PEARFOG_DTLS_BACKEND_H
#define PEARFOG_DTLS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dtls.h"

#define DTLS_RECORD_HEADER_LEN 13 /* type, version, epoch, sequence_number, length */
#define DTLS_READ_BUF 16384       /* one record's plaintext at most (RFC 6347 §4.1) */
#define DTLS_CERT_BACKDATE_S (30L * 86400)
#define DTLS_CERT_LIFETIME_S (365L * 86400)
/* Timer expiries before the handshake gives up (OpenSSL 3's fixed limit; mbedTLS counts
 * to the same). */
#define DTLS_MAX_EXPIRIES 12
#define DTLS_N_SUITES 3

/* dtls_backend_handshake / dtls_backend_on_timeout: the handshake goes on (datagram or
 * timer needed); on_timeout: run a handshake step now, it resends the flight. */
#define DTLS_BACKEND_AGAIN 1
/* dtls_backend_read: the peer sent close_notify (RFC 5246 §7.2.1). */
#define DTLS_BACKEND_CLOSE_NOTIFY (-100)

struct dtls_backend_cert;    /* key pair and certificate in the library's form */
struct dtls_backend_ctx;     /* the library's configuration, shared by sessions */
struct dtls_backend_session; /* the library's session */

struct dtls_cert {
	struct dtls_backend_cert *b;
	uint8_t fp[DTLS_FP_LEN];
	char fp_text[DTLS_FP_TEXT_LEN + 1];
};

struct dtls_ctx {
	struct dtls_ctx_config cfg; /* valid (dtls_ctx_config_valid) */
	struct dtls_backend_ctx *b;
};

struct dtls {
	struct dtls_ctx *ctx;
	struct dtls_backend_session *b;
	struct dtls_callbacks cb;
	void *user;
	const uint8_t *in; /* datagram being processed, for dtls_io_recv */
	size_t in_len;
	uint8_t remote_fp[DTLS_FP_LEN];
	enum dtls_role role;
	enum dtls_state state;
	unsigned depth;	   /* dtls_* calls on this session currently on the stack */
	bool busy;	   /* inside a library call: no reentry at all */
	bool free_pending; /* dtls_free() from a callback: free on the way out */
	bool fp_ok;	   /* the library's certificate check saw the SDP's certificate */
	bool fp_mismatch;  /* ... or refused the peer's */
	bool trimmed;	   /* record buffers released, see dtls_backend_release_buffers */
	bool handshake_done;
	struct dtls_stats stats;
};

/* ---- provided by dtls.c for the backends ---- */

/* One datagram the library writes: counted and passed to the send callback. */
void dtls_io_send(struct dtls *s, const uint8_t *pkt, size_t len);
/* The datagram being processed, once (one read = one datagram, RFC 6347 §4.1.1; longer
 * than cap: the rest is lost).  0 when there is none. */
size_t dtls_io_recv(struct dtls *s, uint8_t *out, size_t cap);
/* The library's certificate check of the peer's leaf certificate, by its SHA-256
 * fingerprint: true iff it is the SDP's (records the answer in fp_ok / fp_mismatch). */
bool dtls_peer_fp_check(struct dtls *s, const uint8_t fp[DTLS_FP_LEN]);
/* The configured suites in preference order as IANA ids (RFC 8422, RFC 5288, RFC 7905),
 * 0-terminated. */
void dtls_suite_ids(const struct dtls_ctx_config *cfg, int ids[DTLS_N_SUITES + 1]);

/* ---- implemented by each backend ---- */

/* The constructors below set *out / ctx->b / s->b as soon as they allocate it; when they
 * fail, dtls.c frees what they set with the matching *_free. */

/* A fresh ECDSA P-256 key and self-signed certificate (dtls.h) and its fingerprint.
 * DTLS_OK, DTLS_E_NOMEM or DTLS_E_SSL. */
int dtls_backend_cert_new(struct dtls_backend_cert **out, uint8_t fp[DTLS_FP_LEN]);
void dtls_backend_cert_free(struct dtls_backend_cert *b); /* NULL-safe */
char *dtls_backend_cert_pem(const struct dtls_backend_cert *b, bool private_key);

/* ctx->b for ctx->cfg with its own copy of cert.  DTLS_OK, DTLS_E_NOMEM or DTLS_E_SSL. */
int dtls_backend_ctx_new(struct dtls_ctx *ctx, const struct dtls_cert *cert);
void dtls_backend_ctx_free(struct dtls_backend_ctx *b); /* NULL-safe */

/* s->b for s->role: I/O through dtls_io_*, the certificate check through
 * dtls_peer_fp_check, handshake datagrams ≤ cfg.mtu.  DTLS_OK, DTLS_E_NOMEM or DTLS_E_SSL. */
int dtls_backend_session_new(struct dtls *s);
void dtls_backend_session_free(struct dtls_backend_session *b); /* NULL-safe */

/* One handshake step: DTLS_OK when done, DTLS_BACKEND_AGAIN, or a negative dtls_err. */
int dtls_backend_handshake(struct dtls *s);
/* The handshake is done and the peer verified: switch to application data (one record of
 * up to DTLS_MAX_APP_DATA per datagram). */
void dtls_backend_connected(struct dtls *s);
/* One decrypted record into buf: its length, 0 when there is no more now,
 * DTLS_BACKEND_CLOSE_NOTIFY, or a negative dtls_err. */
int dtls_backend_read(struct dtls *s, uint8_t *buf, size_t cap);
/* One record of len (1..DTLS_MAX_APP_DATA) bytes: DTLS_OK or a negative dtls_err. */
int dtls_backend_write(struct dtls *s, const uint8_t *data, size_t len);
/* Send close_notify, best effort. */
void dtls_backend_close_notify(struct dtls *s);

/* Milliseconds until the backend's timer expires (0 = expired), -1 = not running: the
 * retransmission timer, or a timer of its own for release_buffers. */
int64_t dtls_backend_timeout_ms(struct dtls *s);
/* The timer expired (state HANDSHAKING or CONNECTED): DTLS_OK (flight resent or nothing
 * to do; dtls.c then tries dtls_backend_release_buffers), DTLS_BACKEND_AGAIN (dtls.c runs a
 * handshake step, which resends), or a negative dtls_err (DTLS_E_TIMEOUT after
 * DTLS_MAX_EXPIRIES). */
int dtls_backend_on_timeout(struct dtls *s);

/* Free the record buffers of a connected session between datagrams (cfg.release_buffers,
 * after each datagram and timer; now: dtls_release_buffers()): true if freed, false when the
 * backend keeps them for now. */
bool dtls_backend_release_buffers(struct dtls *s, bool now);
/* Set them up again before the library is used: reading, a datagram is about to be read.
 * DTLS_OK or a negative dtls_err (the session is then closed with it). */
int dtls_backend_restore_buffers(struct dtls *s, bool reading);

/* The negotiated suite's IANA id, 0 if unknown. */
int dtls_backend_cipher_id(const struct dtls *s);

#endif
