/* http_server: pear-fogd's HTTP/1.1 endpoint (RFC 9112), on the event loop.
 *
 *   GET|HEAD /chunks/<64 hex>   a chunk by SHA-256, Range supported (206/416), ETag = id
 *   GET|HEAD /metrics           Prometheus text (metrics.h)
 *   GET|HEAD /healthz           "ok"
 * Anything else is 404; other methods 405.  Malformed requests get the parser's status
 * and the connection is closed.  Limits: HTTP_SERVER_MAX_CONNS connections (more are
 * closed on accept), HTTP_SERVER_IDLE_MS idle timeout, one response in flight per
 * connection (pipelined requests wait their turn). */
#ifndef PEARFOG_HTTP_SERVER_H
#define PEARFOG_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "chunk_id.h"
#include "ctl_json.h"
#include "loop.h"

#define HTTP_SERVER_MAX_CONNS 64
#define HTTP_SERVER_IDLE_MS 30000

/* Where responses come from; the daemon wires these to the store and metrics. */
struct http_server_source {
	/* 0 with a malloc'd copy of the verified chunk in *data, or negative when absent. */
	int (*get_chunk)(void *user, const struct chunk_id *id, uint8_t **data, size_t *len);
	/* Append the /metrics body. */
	void (*render_metrics)(void *user, struct ctl_json_out *out);
	/* Count bytes sent as chunk payload (for upload accounting). */
	void (*on_chunk_bytes)(void *user, uint64_t n);
};

struct http_server;

struct http_server *http_server_new(struct loop *l, const char *host, uint16_t port,
				    const struct http_server_source *src, void *user, int *err);
void http_server_free(struct http_server *s);
uint16_t http_server_port(const struct http_server *s);

#endif
