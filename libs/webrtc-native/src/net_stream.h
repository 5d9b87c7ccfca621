/* net_stream: one outgoing byte stream, plain TCP (tcp_client) or TLS (tls_client), with
 * a bounded output queue, for http_client and ws_client.
 *
 * Writes are queued whole (up to max_queued bytes, else NET_STREAM_E_QUEUE_FULL) and
 * flushed as the socket takes them; cb->on_drain tells when the queue empties.  Reads go
 * straight to the caller's buffer: on cb->on_readable, call net_stream_read() until it
 * returns NET_STREAM_E_AGAIN (or 0 / an error).  net_stream_pause_reading() stops
 * on_readable calls (backpressure) until resumed.
 *
 * Callbacks never run from inside net_stream_open(); the stream may be freed from inside
 * any callback.  Error codes are net_stream_err ([-169, -160]) or those of tls_client,
 * tcp_client and dns_client; net_stream_strerror() knows all of them. */
#ifndef PEARFOG_NET_STREAM_H
#define PEARFOG_NET_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "loop.h"
#include "tls_client.h"

#define NET_STREAM_MAX_QUEUED (4u << 20) /* default output queue cap, bytes */

enum net_stream_err {
	NET_STREAM_E_AGAIN = -160,
	NET_STREAM_E_NOMEM = -161,
	NET_STREAM_E_QUEUE_FULL = -162, /* write would exceed max_queued */
	NET_STREAM_E_CLOSED = -163,	/* write after close / error */
};

struct net_stream_opts {
	const char *host;
	uint16_t port;
	bool tls;
	struct tls_client_ctx *tls_ctx; /* required when tls */
	uint32_t connect_timeout_ms;	/* 0: TCP_CLIENT_CONNECT_TIMEOUT_MS */
	int family;			/* AF_UNSPEC, AF_INET, AF_INET6 */
	size_t max_queued;		/* 0: NET_STREAM_MAX_QUEUED */
	const struct dns_lookup_opts *dns;
};

struct net_stream_cb {
	void (*on_connect)(void *user);	 /* connected (and TLS verified) */
	void (*on_readable)(void *user); /* read until NET_STREAM_E_AGAIN */
	void (*on_drain)(void *user);	 /* optional: the output queue became empty */
	/* Connecting or flushing failed; nothing more will be sent or called. */
	void (*on_error)(void *user, int err);
};

struct net_stream;

int net_stream_open(struct net_stream **out, struct loop *l, const struct net_stream_opts *o,
		    const struct net_stream_cb *cb, void *user);
/* >0 bytes, 0 at end of stream, NET_STREAM_E_AGAIN, or an error. */
ssize_t net_stream_read(struct net_stream *s, void *buf, size_t len);
/* Queue len bytes (before on_connect too).  0 or an error. */
int net_stream_write(struct net_stream *s, const void *data, size_t len);
/* Reserve len bytes at the end of the queue to fill in place (ws frame masking); commit
 * with net_stream_write_commit(s, len).  NULL when over max_queued or out of memory. */
uint8_t *net_stream_write_reserve(struct net_stream *s, size_t len);
void net_stream_write_commit(struct net_stream *s, size_t len);
size_t net_stream_queued(const struct net_stream *s);
void net_stream_pause_reading(struct net_stream *s, bool paused);
/* TLS: send close_notify; TCP: nothing.  Queued bytes not yet sent are dropped. */
void net_stream_shutdown(struct net_stream *s);
bool net_stream_is_tls(const struct net_stream *s);
const char *net_stream_error_detail(const struct net_stream *s);
void net_stream_free(struct net_stream *s);

const char *net_stream_strerror(int err);

#endif
