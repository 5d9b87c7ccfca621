#include "http_client.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net_stream.h"
#include "net_url.h"

struct http_client {
	struct loop *loop;
	struct net_stream *stream;
	struct loop_timer timeout;
	struct http_client_cb cb;
	void *user;
	struct http_client_opts o; /* strings below are our copies */
	struct tls_client_ctx *tls;
	char **headers;
	uint8_t *body;
	char *content_type;
	struct net_url url;
	unsigned redirects, max_redirects;
	uint64_t body_bytes, max_body;
	bool redirecting;
	char url_text[NET_URL_MAX + 320]; /* the URL asked last (after redirects) */
	unsigned depth; /* nesting of our callbacks: free is deferred while > 0 */
	bool freed, finished;
	char detail[TLS_CLIENT_DETAIL_MAX];
	struct http_resp resp;
	uint8_t buf[HTTP_CLIENT_RECV_BUF];
};

static void really_free(struct http_client *c)
{
	if (c->headers)
		for (char **h = c->headers; *h; h++)
			free(*h);
	free(c->headers);
	free(c->body);
	free(c->content_type);
	tls_client_ctx_unref(c->tls);
	free(c);
}

void http_client_free(struct http_client *c)
{
	if (!c || c->freed)
		return;
	c->freed = true;
	loop_timer_cancel(c->loop, &c->timeout);
	net_stream_free(c->stream); /* allowed from inside its callbacks */
	c->stream = NULL;
	if (!c->depth)
		really_free(c);
}

/* Enter/leave a loop callback; leave returns false when c is gone. */
static void enter(struct http_client *c)
{
	c->depth++;
}

static bool leave(struct http_client *c)
{
	if (--c->depth == 0 && c->freed) {
		really_free(c);
		return false;
	}
	return !c->freed;
}

static void finish(struct http_client *c, int err)
{
	if (c->finished || c->freed)
		return;
	c->finished = true;
	loop_timer_cancel(c->loop, &c->timeout);
	if (c->stream) {
		if (err && *net_stream_error_detail(c->stream))
			snprintf(c->detail, sizeof(c->detail), "%s",
				 net_stream_error_detail(c->stream));
		net_stream_free(c->stream);
		c->stream = NULL;
	}
	c->cb.on_done(c->user, err);
}

static const char *method_name(enum http_client_method m)
{
	return m == HTTP_CLIENT_HEAD ? "HEAD" : m == HTTP_CLIENT_POST ? "POST" : "GET";
}

/* Write the request head (and body) into the stream's queue (RFC 9112 §3). */
static int queue_request(struct http_client *c)
{
	char auth[300], head[NET_URL_MAX + 1024];
	int n;
	size_t len;

	if (net_url_authority(&c->url, auth, sizeof(auth)) < 0)
		return HTTP_CLIENT_E_INVALID;
	n = snprintf(head, sizeof(head),
		     "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: pear-fogd\r\n"
		     "Accept-Encoding: identity\r\nConnection: close\r\n",
		     method_name(c->o.method), c->url.target, auth);
	if (n < 0 || (size_t)n >= sizeof(head))
		return HTTP_CLIENT_E_INVALID;
	len = (size_t)n;
	if (c->o.range) {
		if (c->o.range_last == UINT64_MAX)
			n = snprintf(head + len, sizeof(head) - len, "Range: bytes=%" PRIu64 "-\r\n",
				     c->o.range_first);
		else
			n = snprintf(head + len, sizeof(head) - len,
				     "Range: bytes=%" PRIu64 "-%" PRIu64 "\r\n", c->o.range_first,
				     c->o.range_last);
		len += (size_t)n;
	}
	if (c->o.method == HTTP_CLIENT_POST) {
		n = snprintf(head + len, sizeof(head) - len,
			     "Content-Type: %s\r\nContent-Length: %zu\r\n",
			     c->content_type ? c->content_type : "application/octet-stream",
			     c->o.body_len);
		if (n < 0 || (size_t)n >= sizeof(head) - len)
			return HTTP_CLIENT_E_INVALID;
		len += (size_t)n;
	}
	if (net_stream_write(c->stream, head, len) < 0)
		return HTTP_CLIENT_E_NOMEM;
	for (char **h = c->headers; h && *h; h++)
		if (net_stream_write(c->stream, *h, strlen(*h)) < 0 ||
		    net_stream_write(c->stream, "\r\n", 2) < 0)
			return HTTP_CLIENT_E_NOMEM;
	if (net_stream_write(c->stream, "\r\n", 2) < 0)
		return HTTP_CLIENT_E_NOMEM;
	if (c->o.method == HTTP_CLIENT_POST && c->o.body_len &&
	    net_stream_write(c->stream, c->body, c->o.body_len) < 0)
		return HTTP_CLIENT_E_NOMEM;
	return 0;
}

static void on_connect(void *user)
{
	(void)user; /* the request was queued before connecting */
}

static int on_resp_head(void *user, const struct http_resp *r)
{
	struct http_client *c = user;
	const char *loc = r->known[HTTP_F_LOCATION];
	int rc;

	/* RFC 9110 §15.4: follow for GET/HEAD only */
	if ((r->status == 301 || r->status == 302 || r->status == 303 || r->status == 307 ||
	     r->status == 308) &&
	    loc && c->o.method != HTTP_CLIENT_POST && c->max_redirects) {
		struct net_url next;
		if (c->redirects >= c->max_redirects || net_url_resolve(&c->url, loc, &next) < 0 ||
		    (next.scheme != NET_URL_HTTP && next.scheme != NET_URL_HTTPS) ||
		    (c->url.tls && !next.tls))
			return HTTP_CLIENT_E_REDIRECT;
		c->url = next;
		c->redirects++;
		c->redirecting = true;
		return 1; /* stop reading this response */
	}
	if (r->status == 206 && c->o.range) {
		/* Content-Range: bytes first-last/complete (RFC 9110 §14.4) */
		const char *cr = r->known[HTTP_F_CONTENT_RANGE];
		uint64_t first;
		char *end;
		if (!cr || strncasecmp(cr, "bytes ", 6) != 0 || cr[6] < '0' || cr[6] > '9')
			return HTTP_CLIENT_E_RANGE;
		first = strtoull(cr + 6, &end, 10);
		if (*end != '-' || first != c->o.range_first)
			return HTTP_CLIENT_E_RANGE;
	}
	if (r->framing == HTTP_BODY_LENGTH && r->content_length > c->max_body)
		return HTTP_CLIENT_E_BODY_TOO_LARGE;
	rc = c->cb.on_head ? c->cb.on_head(c->user, r) : 0;
	if (c->freed)
		return HTTP_RESP_E_ABORTED;
	return rc ? HTTP_CLIENT_E_ABORTED : 0;
}

static int on_resp_body(void *user, const uint8_t *data, size_t len)
{
	struct http_client *c = user;

	if (len > c->max_body - c->body_bytes)
		return HTTP_CLIENT_E_BODY_TOO_LARGE;
	c->body_bytes += len;
	if (c->cb.on_body && c->cb.on_body(c->user, data, len))
		return HTTP_CLIENT_E_ABORTED;
	return c->freed ? HTTP_RESP_E_ABORTED : 0;
}

static const struct http_resp_cb resp_cb = { on_resp_head, on_resp_body };

static int start_connection(struct http_client *c);

static void on_readable(void *user)
{
	struct http_client *c = user;

	enter(c);
	for (;;) {
		ssize_t r = net_stream_read(c->stream, c->buf, sizeof(c->buf));
		size_t used;
		int rc;

		if (r == NET_STREAM_E_AGAIN)
			break;
		if (r == 0 || r == TLS_CLIENT_E_TRUNCATED) {
			/* a missing close_notify only matters for close-delimited bodies, and
			 * there it is how most servers end them */
			rc = http_resp_eof(&c->resp);
			finish(c, rc == HTTP_RESP_DONE ? 0 : rc);
			break;
		}
		if (r < 0) {
			finish(c, (int)r);
			break;
		}
		rc = http_resp_feed(&c->resp, c->buf, (size_t)r, &used);
		if (c->freed)
			break;
		if (rc == HTTP_RESP_NEED_MORE)
			continue;
		if (rc == HTTP_RESP_DONE && c->redirecting) {
			c->redirecting = false;
			net_stream_free(c->stream);
			c->stream = NULL;
			rc = start_connection(c);
			if (rc < 0)
				finish(c, rc);
			break;
		}
		finish(c, rc);
		break;
	}
	leave(c);
}

static void on_error(void *user, int err)
{
	struct http_client *c = user;

	enter(c);
	finish(c, err);
	leave(c);
}

static void on_timeout(struct loop_timer *t)
{
	struct http_client *c = container_of(t, struct http_client, timeout);

	enter(c);
	finish(c, HTTP_CLIENT_E_TIMEOUT);
	leave(c);
}

static void url_text_update(struct http_client *c)
{
	static const char *const names[] = { "http", "https", "ws", "wss" };
	char auth[300];

	if (net_url_authority(&c->url, auth, sizeof(auth)) < 0)
		auth[0] = 0;
	snprintf(c->url_text, sizeof(c->url_text), "%s://%s%s", names[c->url.scheme], auth,
		 c->url.target);
}

static int start_connection(struct http_client *c)
{
	static const struct net_stream_cb scb = { on_connect, on_readable, NULL, on_error };
	struct net_stream_opts so = { .host = c->url.host,
				      .port = c->url.port,
				      .tls = c->url.tls,
				      .connect_timeout_ms = c->o.timeout_ms,
				      .dns = c->o.dns };
	int rc, err;

	if (c->url.tls && !c->tls) {
		c->tls = tls_client_ctx_new(NULL, &err);
		if (!c->tls)
			return err;
	}
	so.tls_ctx = c->tls;
	url_text_update(c);
	http_resp_init(&c->resp, c->o.method == HTTP_CLIENT_HEAD, &resp_cb, c);
	rc = net_stream_open(&c->stream, c->loop, &so, &scb, c);
	if (rc < 0)
		return rc;
	return queue_request(c);
}

/* RFC 9110 §5.1/§5.5: "Name: value" with a token name and no CR/LF/NUL in the value;
 * fields we set ourselves cannot be overridden. */
static bool header_valid(const char *h)
{
	static const char *const ours[] = { "host",	      "connection", "content-length",
					    "transfer-encoding", "range",      "accept-encoding" };
	const char *colon = strchr(h, ':');
	size_t nl;

	if (!colon || colon == h || strlen(h) > 4096)
		return false;
	nl = (size_t)(colon - h);
	for (const char *p = h; p < colon; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("!#$%&'*+-.^_`|~", *p)))
			return false;
	for (const char *p = colon + 1; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return false;
	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		if (strlen(ours[i]) == nl && strncasecmp(h, ours[i], nl) == 0)
			return false;
	return true;
}

int http_client_request(struct http_client **out, struct loop *l,
			const struct http_client_opts *o, const struct http_client_cb *cb,
			void *user)
{
	struct http_client *c;
	size_t nh = 0;
	int rc;

	*out = NULL;
	if (!o || !o->url || !cb || !cb->on_done || o->method > HTTP_CLIENT_POST ||
	    (o->range && o->range_last < o->range_first) || o->body_len > HTTP_CLIENT_MAX_POST ||
	    (o->body_len && o->method != HTTP_CLIENT_POST) ||
	    (o->content_type && strpbrk(o->content_type, "\r\n")))
		return HTTP_CLIENT_E_INVALID;
	while (o->headers && o->headers[nh]) {
		if (nh == HTTP_CLIENT_MAX_EXTRA_HEADERS || !header_valid(o->headers[nh]))
			return HTTP_CLIENT_E_INVALID;
		nh++;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return HTTP_CLIENT_E_NOMEM;
	c->loop = l;
	c->cb = *cb;
	c->user = user;
	c->o = *o;
	c->o.url = NULL; /* parsed into c->url */
	if (net_url_parse(o->url, &c->url) < 0 ||
	    (c->url.scheme != NET_URL_HTTP && c->url.scheme != NET_URL_HTTPS)) {
		free(c);
		return HTTP_CLIENT_E_INVALID;
	}
	c->max_body = o->max_body_bytes ? o->max_body_bytes : HTTP_CLIENT_MAX_BODY;
	c->max_redirects = o->max_redirects < 0 || o->max_redirects > HTTP_CLIENT_MAX_REDIRECTS
				   ? HTTP_CLIENT_MAX_REDIRECTS
				   : (unsigned)o->max_redirects;
	if (!o->timeout_ms)
		c->o.timeout_ms = HTTP_CLIENT_TIMEOUT_MS;
	c->timeout.cb = on_timeout;
	if (o->tls) {
		c->tls = o->tls;
		tls_client_ctx_ref(c->tls);
	}
	rc = HTTP_CLIENT_E_NOMEM;
	if (nh) {
		c->headers = calloc(nh + 1, sizeof(char *));
		if (!c->headers)
			goto fail;
		for (size_t i = 0; i < nh; i++)
			if (!(c->headers[i] = strdup(o->headers[i])))
				goto fail;
	}
	c->o.headers = NULL;
	if (o->body_len) {
		if (!(c->body = malloc(o->body_len)))
			goto fail;
		memcpy(c->body, o->body, o->body_len);
	}
	c->o.body = NULL;
	if (o->content_type && !(c->content_type = strdup(o->content_type)))
		goto fail;
	c->o.content_type = NULL;
	c->o.dns = o->dns; /* tests only; must outlive the request */
	if ((rc = start_connection(c)) < 0 || loop_timer_set(l, &c->timeout, c->o.timeout_ms) < 0) {
		net_stream_free(c->stream);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	really_free(c);
	return rc < 0 ? rc : HTTP_CLIENT_E_NOMEM;
}

uint64_t http_client_body_bytes(const struct http_client *c)
{
	return c->body_bytes;
}

unsigned http_client_redirects(const struct http_client *c)
{
	return c->redirects;
}

const char *http_client_url(const struct http_client *c)
{
	return c->url_text;
}

const char *http_client_error_detail(const struct http_client *c)
{
	return c->detail;
}

const char *http_client_strerror(int err)
{
	switch (err) {
	case 0:
		return "ok";
	case HTTP_CLIENT_E_INVALID:
		return "invalid request";
	case HTTP_CLIENT_E_NOMEM:
		return "out of memory";
	case HTTP_CLIENT_E_TIMEOUT:
		return "request timed out";
	case HTTP_CLIENT_E_BODY_TOO_LARGE:
		return "response body over the limit";
	case HTTP_CLIENT_E_REDIRECT:
		return "redirect refused";
	case HTTP_CLIENT_E_RANGE:
		return "response is not for the requested range";
	case HTTP_CLIENT_E_ABORTED:
		return "aborted by the caller";
	default:
		if (err <= -170 && err > -190)
			return http_resp_strerror(err);
		return net_stream_strerror(err);
	}
}
