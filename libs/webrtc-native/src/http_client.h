/* http_client: one HTTP/1.1 request (GET, HEAD, or a small POST) over TCP or TLS on
 * pear-fogd's loop, for origin fills from the node agent.
 *
 * One connection per request ("Connection: close"; RFC 9112 §9.6), so the body ends at
 * the latest when the server closes.  Features:
 *   - http:// and https:// URLs (net_url.h); https needs a tls_client_ctx (or gets a
 *     private one with the system CA store, which costs a CA load per request);
 *   - Range: "bytes=first-last" (RFC 9110 §14.2); a 206 answer must start at first
 *     (Content-Range checked), else HTTP_CLIENT_E_RANGE; a 200 is passed on as it is;
 *   - body byte limit (max_body_bytes): Content-Length above it fails at once, a longer
 *     chunked / close-delimited body fails when it passes the limit;
 *   - one overall timeout (connect, TLS, request, whole body);
 *   - redirects 301/302/303/307/308 for GET and HEAD, at most max_redirects, to the same
 *     scheme or from http to https (never https to http);
 *   - the body streams through cb->on_body in slices of the receive buffer (one copy:
 *     socket to a 16 KiB buffer; chunked framing is removed without copying).
 *
 * Callbacks: on_head once (the final response after redirects), on_body any number of
 * times, on_done exactly once, last (0 = complete).  Any of them may call
 * http_client_free().  None runs from inside http_client_request().  Error codes are in
 * [-199, -190] or those of http_resp, net_stream, tls_client, tcp_client, dns_client;
 * http_client_strerror() knows all of them. */
#ifndef PEARFOG_HTTP_CLIENT_H
#define PEARFOG_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_resp.h"
#include "loop.h"
#include "tls_client.h"

#define HTTP_CLIENT_TIMEOUT_MS 30000	    /* default timeout_ms: whole request */
#define HTTP_CLIENT_MAX_BODY (64ull << 20) /* default max_body_bytes */
#define HTTP_CLIENT_MAX_REDIRECTS 5	    /* default, and the cap, of max_redirects */
#define HTTP_CLIENT_MAX_EXTRA_HEADERS 16   /* extra header lines */
#define HTTP_CLIENT_MAX_POST (1u << 20)	    /* request body bytes */
#define HTTP_CLIENT_RECV_BUF 16384	    /* receive buffer, bytes */

enum http_client_err {
	HTTP_CLIENT_E_INVALID = -190,	     /* bad URL, method, header or body */
	HTTP_CLIENT_E_NOMEM = -191,
	HTTP_CLIENT_E_TIMEOUT = -192,	     /* timeout_ms passed */
	HTTP_CLIENT_E_BODY_TOO_LARGE = -193, /* over max_body_bytes */
	HTTP_CLIENT_E_REDIRECT = -194,	     /* too many, or to a refused scheme/URL */
	HTTP_CLIENT_E_RANGE = -195,	     /* 206 not for the range asked */
	HTTP_CLIENT_E_ABORTED = -196,	     /* a callback returned an error */
};

enum http_client_method { HTTP_CLIENT_GET, HTTP_CLIENT_HEAD, HTTP_CLIENT_POST };

struct http_client_opts {
	const char *url;
	enum http_client_method method; /* default GET (0) */
	const char *const *headers;	/* extra "Name: value" lines, NULL-terminated, or NULL */
	const void *body;		/* POST only; copied */
	size_t body_len;		/* POST only; <= HTTP_CLIENT_MAX_POST */
	const char *content_type;	/* POST only; NULL: application/octet-stream */
	bool range;			/* send Range: bytes=range_first-range_last */
	uint64_t range_first;
	uint64_t range_last;		/* UINT64_MAX: to the end ("bytes=first-") */
	uint64_t max_body_bytes;	/* 0: HTTP_CLIENT_MAX_BODY */
	uint32_t timeout_ms;		/* 0: HTTP_CLIENT_TIMEOUT_MS */
	int max_redirects;		/* -1: HTTP_CLIENT_MAX_REDIRECTS; 0: none followed */
	struct tls_client_ctx *tls;	/* for https; the client takes a reference */
	const struct dns_lookup_opts *dns; /* NULL: defaults */
};

struct http_client;

struct http_client_cb {
	/* The final response head (status, fields).  Return 0, or non-zero to abort. */
	int (*on_head)(void *user, const struct http_resp *resp);
	/* A body slice.  Return 0, or non-zero to abort (HTTP_CLIENT_E_ABORTED). */
	int (*on_body)(void *user, const uint8_t *data, size_t len);
	/* The end: 0 when the whole response arrived, else an error code. */
	void (*on_done)(void *user, int err);
};

/* Start a request.  0 and the client in *out, or an error (nothing is called then). */
int http_client_request(struct http_client **out, struct loop *l,
			const struct http_client_opts *o, const struct http_client_cb *cb,
			void *user);
/* Cancel (no further callbacks) and free; fine from inside a callback.  NULL is fine. */
void http_client_free(struct http_client *c);
/* After on_done: body bytes delivered, redirects followed, and the final URL. */
uint64_t http_client_body_bytes(const struct http_client *c);
unsigned http_client_redirects(const struct http_client *c);
const char *http_client_url(const struct http_client *c);
/* More detail on a TLS failure ("" otherwise). */
const char *http_client_error_detail(const struct http_client *c);

const char *http_client_strerror(int err);

#endif
