/* dtls: DTLS 1.2 (RFC 6347) endpoints for WebRTC data channels (RFC 8827 §6.5, RFC 8261),
 * event-driven and without sockets.  Two backends behind this one API, chosen by the
 * Makefile's TLS=: dtls_openssl.c (OpenSSL 3, the Debian host build) and dtls_mbedtls.c
 * (mbedTLS 3.6, the router builds); dtls.c holds what they share.
 *
 * The caller demultiplexes UDP (RFC 7983: first byte 20..63 is DTLS) and hands each DTLS
 * datagram to dtls_on_packet(); every datagram DTLS wants to send comes back through the
 * send callback, one call per datagram: handshake flights are fragmented to the configured
 * MTU (RFC 6347 §4.1.1.1), application data is one record per datagram.  Nothing here blocks
 * or reads the clock except the library's retransmission timer, exposed as dtls_timeout_ms() /
 * dtls_on_timeout() for the event loop.
 *
 * Authentication is WebRTC's (RFC 8122 §5, RFC 8827 §6.5): both sides present self-signed
 * certificates; the peer's certificate is accepted iff its SHA-256 fingerprint equals the
 * one from the peer's SDP.  The check runs inside the handshake, so a mismatch aborts it
 * with a bad_certificate alert and on_connected never fires.
 *
 * No HelloVerifyRequest cookie exchange: ICE connectivity checks have already proved the
 * peer's return routability before DTLS starts (RFC 8445 §2; the caller only passes DTLS
 * from the selected ICE pair).  No session resumption, tickets or renegotiation.
 *
 * Callbacks may call dtls_send(), dtls_close() and dtls_free() on their own session
 * (dtls_free() is deferred until the outermost dtls_* call returns); the send callback must
 * not call back into the session at all.  Reentrant driving calls return DTLS_E_BUSY. */
#ifndef PEARFOG_DTLS_H
#define PEARFOG_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DTLS_FP_LEN 32 /* SHA-256 certificate fingerprint (RFC 8122 §5) */
#define DTLS_FP_TEXT_LEN (DTLS_FP_LEN * 3 - 1) /* "AA:BB:…", uppercase hex */

#define DTLS_MTU 1200 /* default: largest datagram DTLS writes (handshake flights) */
#define DTLS_MTU_MIN 256
/* Largest plaintext one dtls_send() takes.  SCTP packets are sized to the path MTU, so this
 * is a generous cap; it also bounds OpenSSL's write buffer per session. */
#define DTLS_MAX_APP_DATA 4096
/* Bytes a record adds to its plaintext with our cipher suites: 13 header + 8 explicit nonce
 * + 16 tag for AES-GCM (RFC 5288 §3), 13 + 16 for ChaCha20-Poly1305 (RFC 7905). */
#define DTLS_RECORD_OVERHEAD_MAX 37
/* Datagrams longer than this are dropped unread: a record is at most 2^14 + 2048 bytes of
 * ciphertext plus its header (RFC 6347 §4.1, RFC 5246 §6.2.3). */
#define DTLS_MAX_DATAGRAM (16384 + 2048 + 13)
/* Smallest timer_initial_ms: OpenSSL 3.0 treats a timer with less than 15 ms left as
 * expired, and checks it inside every handshake step. */
#define DTLS_TIMER_MIN_MS 50

enum dtls_err {
	DTLS_OK = 0,
	DTLS_E_NOMEM = -1,
	DTLS_E_INVALID = -2,     /* bad argument */
	DTLS_E_SSL = -3,         /* the TLS library refused a setup step */
	DTLS_E_STATE = -4,       /* not possible in this state (send before connected, …) */
	DTLS_E_TOO_BIG = -5,     /* dtls_send() longer than DTLS_MAX_APP_DATA */
	DTLS_E_BUSY = -6,        /* reentrant call from inside a callback */
	DTLS_E_CLOSED = -7,      /* the session is (now) closed */
	DTLS_E_HANDSHAKE = -8,   /* handshake failed (bad peer message, no shared suite, …) */
	DTLS_E_FINGERPRINT = -9, /* peer certificate does not match the SDP fingerprint */
	DTLS_E_PEER_ALERT = -10, /* peer sent a fatal alert */
	DTLS_E_TIMEOUT = -11,    /* retransmissions exhausted (RFC 6347 §4.2.4) */
	DTLS_E_PROTOCOL = -12,   /* fatal error after the handshake */
};

enum dtls_role {
	DTLS_ROLE_SERVER, /* a=setup:passive — pear-fogd towards browsers */
	DTLS_ROLE_CLIENT, /* a=setup:active */
};

enum dtls_state {
	DTLS_STATE_NEW,         /* server: waiting for a ClientHello; client: before dtls_start */
	DTLS_STATE_HANDSHAKING,
	DTLS_STATE_CONNECTED,   /* handshake done and peer fingerprint verified */
	DTLS_STATE_CLOSED,      /* terminal; further datagrams are ignored */
};

/* Cipher suites (RFC 8422 ECDHE-ECDSA with RFC 5288 AES-GCM and RFC 7905 ChaCha20). */
enum dtls_cipher {
	DTLS_CIPHER_AES128_GCM = 1 << 0, /* ECDHE-ECDSA-AES128-GCM-SHA256 */
	DTLS_CIPHER_AES256_GCM = 1 << 1, /* ECDHE-ECDSA-AES256-GCM-SHA384 */
	DTLS_CIPHER_CHACHA20 = 1 << 2,   /* ECDHE-ECDSA-CHACHA20-POLY1305 */
	DTLS_CIPHER_ALL = 7,
};

/* One ECDSA P-256 key and self-signed X.509 certificate (CN "pear-fog", random serial,
 * valid from 30 days ago to 365 days on).  One per process is fine. */
struct dtls_cert;

int dtls_cert_generate(struct dtls_cert **out);
void dtls_cert_free(struct dtls_cert *c);
const uint8_t *dtls_cert_fingerprint(const struct dtls_cert *c); /* DTLS_FP_LEN bytes */
/* "AA:BB:…" (RFC 8122 §5 fingerprint syntax), for a=fingerprint:sha-256 in our SDP. */
const char *dtls_cert_fingerprint_text(const struct dtls_cert *c);
/* The certificate / private key in PEM (for tests and tools); caller frees.  NULL on OOM. */
char *dtls_cert_pem(const struct dtls_cert *c, bool private_key);
/* fp → "AA:BB:…" into out (DTLS_FP_TEXT_LEN + 1 bytes). */
void dtls_fingerprint_format(const uint8_t fp[DTLS_FP_LEN], char out[DTLS_FP_TEXT_LEN + 1]);

/* Options of a context, shared by all its sessions. */
struct dtls_ctx_config {
	bool prefer_chacha;        /* ChaCha20-Poly1305 first in our (server) preference;
				      default: !dtls_cpu_has_aes() */
	unsigned ciphers;          /* enum dtls_cipher bits offered/accepted; default ALL */
	uint16_t mtu;              /* largest handshake datagram, bytes; default DTLS_MTU,
				      DTLS_MTU_MIN..DTLS_MAX_APP_DATA */
	uint32_t timer_initial_ms; /* first retransmission timeout, ms; default 1000
				      (RFC 6347 §4.2.4.1), at least DTLS_TIMER_MIN_MS */
	uint32_t timer_max_ms;     /* the timeout doubles up to this, ms; default 60000,
				      at most 600000 */
	bool release_buffers;      /* free the library's record buffers of connected sessions
				      between datagrams; default true.  When false, see
				      dtls_release_buffers().
				      OpenSSL: its ~21 KB, after each received datagram:
				      ~39 KB instead of ~60 KB per idle session, for a
				      malloc/free per datagram (x86-64 -Os, AES-128-GCM,
				      1150-byte records: ~220 vs ~250 MB/s through a pair).
				      mbedTLS: its 20 KiB (16 KiB in + 4 KiB out), once the
				      session received nothing for release_idle_ms: the
				      connection is serialized (keys, sequence numbers,
				      replay window) and the library session freed, ~3 KB
				      instead of ~23 KB per idle session; the next datagram
				      or send sets it up again (re-deriving the keys: too
				      dear per datagram, hence the idle time). */
	uint32_t release_idle_ms;  /* mbedTLS with release_buffers: quiet time before a
				      connected session's buffers go, ms; default 500,
				      0..600000 (0: after every datagram).  Runs on the
				      dtls_timeout_ms() timer.  Unused with OpenSSL. */
};

/* Fill defaults (detects AES instructions for prefer_chacha). */
void dtls_ctx_config_default(struct dtls_ctx_config *cfg);
/* The ranges documented above hold (some cipher, mtu, timers); dtls_ctx_new() checks it. */
bool dtls_ctx_config_valid(const struct dtls_ctx_config *cfg);
/* True when this CPU has AES instructions (x86 AES-NI, ARMv8 AES): AES-GCM is then faster
 * than ChaCha20-Poly1305; without them (MIPS routers, most ARMv7) ChaCha20 wins. */
bool dtls_cpu_has_aes(void);
/* OpenSSL-style cipher list string for cfg, in preference order (for logs and tests; both
 * backends use these names). */
const char *dtls_cipher_list(unsigned ciphers, bool prefer_chacha, char *buf, size_t cap);

/* An SSL_CTX for DTLS 1.2 with cert; cfg NULL = defaults.  The cert may be freed after
 * this returns (the context holds its own reference); the context must outlive every
 * session made from it. */
struct dtls_ctx;
struct dtls_ctx *dtls_ctx_new(const struct dtls_cert *cert, const struct dtls_ctx_config *cfg,
			      int *err);
void dtls_ctx_free(struct dtls_ctx *ctx);

struct dtls_callbacks {
	/* One outgoing datagram (≤ mtu for handshake flights, one record for app data). */
	void (*send)(void *user, const uint8_t *pkt, size_t len);
	/* Handshake done and the peer fingerprint matched.  Called once. */
	void (*on_connected)(void *user);
	/* One decrypted application data record. */
	void (*on_data)(void *user, const uint8_t *data, size_t len);
	/* The session became CLOSED: reason 0 for an orderly close (close_notify either way,
	 * dtls_close()), else a negative enum dtls_err.  Called once; not from dtls_free(). */
	void (*on_closed)(void *user, int reason);
};

struct dtls_stats {
	uint64_t rx_datagrams;  /* handed to dtls_on_packet */
	uint64_t rx_dropped;    /* refused by record framing checks (or too long) */
	uint64_t rx_ignored;    /* arrived after close, or to a client not yet started */
	uint64_t tx_datagrams;
	uint64_t rx_app_bytes;
	uint64_t tx_app_bytes;
	uint32_t retransmits;   /* timer expiries that resent a flight */
};

struct dtls;

/* A session.  remote_fp is the SHA-256 fingerprint from the peer's SDP.  Server sessions
 * wait for the ClientHello; clients send it on dtls_start(). */
struct dtls *dtls_new(struct dtls_ctx *ctx, enum dtls_role role,
		      const uint8_t remote_fp[DTLS_FP_LEN], const struct dtls_callbacks *cb,
		      void *user, int *err);
/* Free without callbacks or alerts (dtls_close() first for a polite close). */
void dtls_free(struct dtls *s);

/* Client: send the ClientHello.  Server: no-op.  Returns 0 or a negative dtls_err. */
int dtls_start(struct dtls *s);
/* Feed one datagram: drives the handshake, delivers all application data.  Malformed
 * datagrams are dropped and counted.  Returns 0, DTLS_E_CLOSED when the session is (or
 * just became) closed, DTLS_E_BUSY on reentry. */
int dtls_on_packet(struct dtls *s, const uint8_t *pkt, size_t len);
/* Encrypt one application data record (one datagram), 1..DTLS_MAX_APP_DATA bytes.
 * Returns 0 or a negative dtls_err (DTLS_E_STATE before on_connected / after close). */
int dtls_send(struct dtls *s, const uint8_t *data, size_t len);
/* Milliseconds until dtls_on_timeout() must be called (0 = now), -1 = no timer running.
 * The timer is the retransmission timer, and with mbedTLS also release_idle_ms. */
int64_t dtls_timeout_ms(struct dtls *s);
/* Retransmit the last flight if its timer expired (RFC 6347 §4.2.4).  After 12 expiries
 * (OpenSSL's limit) the session closes with DTLS_E_TIMEOUT: with the default timers that is
 * minutes, so the caller should bound the handshake itself (e.g. with ICE consent). */
void dtls_on_timeout(struct dtls *s);
/* Send close_notify (if connected) and close; on_closed(0) follows. */
void dtls_close(struct dtls *s);
/* Free the library's record buffers of a connected session now (they come back on the
 * next datagram or send; see release_buffers).  For callers with release_buffers off that
 * trim idle sessions themselves, e.g. after each receive batch (OpenSSL) or in a periodic
 * sweep.  No-op from callbacks, and with mbedTLS while a flight may still need resending
 * (until the peer's first application data). */
void dtls_release_buffers(struct dtls *s);

enum dtls_state dtls_state(const struct dtls *s);
enum dtls_role dtls_role(const struct dtls *s);
/* OpenSSL's name of the negotiated suite ("ECDHE-ECDSA-AES128-GCM-SHA256", either backend),
 * NULL before. */
const char *dtls_cipher_name(const struct dtls *s);
const struct dtls_stats *dtls_stats(const struct dtls *s);
const char *dtls_strerror(int err);

/* Record framing check of one datagram (RFC 6347 §4.1): content type 20..23, version
 * DTLS 1.0/1.2, length within the datagram and ≤ 2^14 + 2048.  Returns the byte length of
 * the well-formed prefix (0 = nothing usable); *n_records (may be NULL) gets its count. */
size_t dtls_record_scan(const uint8_t *pkt, size_t len, unsigned *n_records);

#endif
