/* ws_client: a WebSocket client (RFC 6455) on pear-fogd's loop, for the agent's link to
 * the coordinator.  ws:// over TCP, wss:// over TLS (net_stream), URLs as net_url.h takes
 * them.
 *
 *   - opening handshake (§4.1): GET with Upgrade, a random Sec-WebSocket-Key; the answer
 *     must be 101 with "Upgrade: websocket", "Connection: upgrade" and the
 *     Sec-WebSocket-Accept of our key (SHA-1, §4.2.2), no extension, and no subprotocol
 *     we did not offer; the response head is parsed by http_resp;
 *   - messages: text and binary out (one frame each, masked with a fresh key, §5.3),
 *     whole messages in (ws_frame: fragments joined, UTF-8 checked, max_message cap);
 *   - ping → pong (§5.5.2); a ping of our own after idle_timeout_ms / 2 without a byte
 *     received, failure (WS_CLIENT_E_IDLE) after idle_timeout_ms;
 *   - close handshake (§7.1.2): ws_client_close() sends a close frame and on_close runs
 *     when the server's close frame arrives (or close_timeout_ms passes); a server's close
 *     is answered with the same code, and on_close runs once the answer is written;
 *   - a protocol error from the server (ws_frame's list) is answered with a close frame
 *     carrying the matching status code (1002, 1007, 1009); the connection ends when the
 *     server closes it (or close_timeout_ms passes), on_close reporting the error;
 *   - bounded output: at most max_queued bytes wait for the socket; a send over that
 *     fails with WS_CLIENT_E_QUEUE_FULL (a slow server cannot grow our memory).
 *
 * Callbacks: on_open once, on_message any number of times, on_close exactly once and last
 * (unless the client is freed first).  Any of them may call ws_client_send/close/free.
 * None runs from inside ws_client_connect().  Error codes are in [-239, -220], or those
 * of ws_frame, http_resp, net_stream, tls_client, tcp_client and dns_client;
 * ws_client_strerror() knows all of them. */
#ifndef PEARFOG_WS_CLIENT_H
#define PEARFOG_WS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "tls_client.h"
#include "ws_frame.h"

#define WS_CLIENT_HANDSHAKE_TIMEOUT_MS 10000 /* default: connect + TLS + upgrade */
#define WS_CLIENT_CLOSE_TIMEOUT_MS 3000	     /* default: wait for the server's close */
#define WS_CLIENT_MAX_QUEUED (1u << 20)	     /* default output queue cap, bytes */
#define WS_CLIENT_RECV_BUF 4096		     /* receive buffer, bytes */
#define WS_CLIENT_MAX_REASON WS_FRAME_MAX_CONTROL

enum ws_client_err {
	WS_CLIENT_E_INVALID = -220,   /* bad URL, option or argument */
	WS_CLIENT_E_NOMEM = -221,
	WS_CLIENT_E_HANDSHAKE = -222, /* not a 101, or its Upgrade/Connection/extensions wrong */
	WS_CLIENT_E_ACCEPT = -223,    /* Sec-WebSocket-Accept is not for our key */
	WS_CLIENT_E_TIMEOUT = -224,   /* handshake or close handshake took too long */
	WS_CLIENT_E_IDLE = -225,      /* nothing received for idle_timeout_ms */
	WS_CLIENT_E_DROPPED = -226,   /* the connection ended without a close frame (1006) */
	WS_CLIENT_E_STATE = -227,     /* send before on_open or after close */
	WS_CLIENT_E_QUEUE_FULL = -228, /* the output queue would pass max_queued */
};

enum ws_client_state { WS_CLIENT_CONNECTING, WS_CLIENT_OPEN, WS_CLIENT_CLOSING, WS_CLIENT_DONE };

struct ws_client_opts {
	const char *url;		/* ws://host[:port]/path or wss://... */
	const char *protocol;		/* Sec-WebSocket-Protocol to offer, or NULL */
	struct tls_client_ctx *tls;	/* for wss; the client takes a reference.  NULL: a
					 * private context with the system CA store */
	uint32_t handshake_timeout_ms;	/* 0: WS_CLIENT_HANDSHAKE_TIMEOUT_MS */
	uint32_t idle_timeout_ms;	/* 0: no idle check */
	uint32_t close_timeout_ms;	/* 0: WS_CLIENT_CLOSE_TIMEOUT_MS */
	size_t max_message;		/* received message cap; 0: WS_FRAME_MAX_MESSAGE */
	size_t max_queued;		/* output queue cap; 0: WS_CLIENT_MAX_QUEUED */
	const struct dns_lookup_opts *dns; /* NULL: defaults */
};

struct ws_client_cb {
	void (*on_open)(void *user);
	/* A whole message; text is UTF-8 (not NUL-terminated). */
	void (*on_message)(void *user, bool text, const uint8_t *data, size_t len);
	/* The end.  err 0: the close handshake completed, code/reason are the server's (code
	 * 1005 when its close frame had none).  Otherwise err says why and code is the status
	 * we closed with (1002/1007/1009 after a protocol error) or 1006. */
	void (*on_close)(void *user, int err, unsigned code, const char *reason);
};

struct ws_client;

/* Start connecting.  0 and the client in *out, or an error (nothing is called then). */
int ws_client_connect(struct ws_client **out, struct loop *l, const struct ws_client_opts *o,
		      const struct ws_client_cb *cb, void *user);
/* Queue one message.  0, WS_CLIENT_E_STATE (not open), WS_CLIENT_E_QUEUE_FULL,
 * WS_CLIENT_E_INVALID (text that is not UTF-8) or WS_CLIENT_E_NOMEM. */
int ws_client_send(struct ws_client *c, bool text, const void *data, size_t len);
/* Start the close handshake with code (0: no code; else one ws_close_code_valid() takes)
 * and a reason (cut to fit).  on_close follows.  Before on_open: the connection is
 * abandoned and on_close(WS_CLIENT_E_DROPPED, 1006) follows on the next loop turn. */
int ws_client_close(struct ws_client *c, unsigned code, const char *reason);
/* Cancel (no further callbacks) and free; fine from inside a callback.  NULL is fine. */
void ws_client_free(struct ws_client *c);

enum ws_client_state ws_client_state(const struct ws_client *c);
/* Bytes queued and not yet taken by the socket. */
size_t ws_client_buffered(const struct ws_client *c);
/* More detail on a failure: the HTTP status of a refused upgrade, a TLS error, ... */
const char *ws_client_error_detail(const struct ws_client *c);

/* Sec-WebSocket-Accept for a key (§4.2.2): base64(SHA-1(key + GUID)); out ≥ 29 bytes. */
int ws_client_accept_key(const char *key, char *out, size_t cap);

const char *ws_client_strerror(int err);

#endif
