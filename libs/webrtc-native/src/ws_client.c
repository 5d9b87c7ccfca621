#include "ws_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


#include "crypto.h"
#include "http_resp.h"
#include "net_stream.h"
#include "net_url.h"

/* §1.3 / §4.2.2 */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

struct ws_client {
	struct loop *loop;
	struct net_stream *stream;
	struct loop_timer timer; /* handshake deadline, idle check or close deadline */
	struct ws_client_cb cb;
	void *user;
	struct tls_client_ctx *tls;
	struct net_url url;
	enum ws_client_state state;
	uint32_t handshake_ms, idle_ms, close_ms;
	size_t max_queued;
	struct http_resp *resp; /* during the handshake only */
	struct ws_parser parser;
	char key[25];		/* Sec-WebSocket-Key we sent */
	char *protocol;
	uint64_t last_rx_ms;
	bool ping_out;		/* our idle ping is unanswered */
	bool close_sent, close_received;
	int fail_err;		/* error to report once our close frame is out */
	unsigned close_code;	/* for on_close */
	char close_reason[WS_CLIENT_MAX_REASON + 1];
	unsigned depth;		/* nesting of our callbacks: free is deferred while > 0 */
	bool freed, finished;
	uint8_t rnd[64];	/* mask keys (§5.3: fresh, unpredictable per frame) */
	size_t rnd_off;
	char detail[TLS_CLIENT_DETAIL_MAX];
	uint8_t buf[WS_CLIENT_RECV_BUF];
};

static void really_free(struct ws_client *c)
{
	ws_parser_free(&c->parser);
	free(c->resp);
	free(c->protocol);
	tls_client_ctx_unref(c->tls);
	free(c);
}

void ws_client_free(struct ws_client *c)
{
	if (!c || c->freed)
		return;
	c->freed = true;
	loop_timer_cancel(c->loop, &c->timer);
	net_stream_free(c->stream); /* allowed from inside its callbacks */
	c->stream = NULL;
	if (!c->depth)
		really_free(c);
}

static void enter(struct ws_client *c)
{
	c->depth++;
}

/* Leave a loop callback; false when c is gone. */
static bool leave(struct ws_client *c)
{
	if (--c->depth == 0 && c->freed) {
		really_free(c);
		return false;
	}
	return !c->freed;
}

/* The end: one on_close, then the connection is gone (c stays until freed). */
static void finish(struct ws_client *c, int err)
{
	if (c->finished || c->freed)
		return;
	c->finished = true;
	c->state = WS_CLIENT_DONE;
	loop_timer_cancel(c->loop, &c->timer);
	if (c->stream) {
		if (err && !c->detail[0] && *net_stream_error_detail(c->stream))
			snprintf(c->detail, sizeof(c->detail), "%s",
				 net_stream_error_detail(c->stream));
		net_stream_free(c->stream);
		c->stream = NULL;
	}
	if (err && !c->close_code)
		c->close_code = WS_CLOSE_ABNORMAL;
	if (c->cb.on_close)
		c->cb.on_close(c->user, err, c->close_code, c->close_reason);
}

static int random_bytes(struct ws_client *c, uint8_t *out, size_t n)
{
	if (c->rnd_off + n > sizeof(c->rnd)) {
		if (crypto_random(c->rnd, sizeof(c->rnd)) < 0)
			return WS_CLIENT_E_NOMEM;
		c->rnd_off = 0;
	}
	memcpy(out, c->rnd + c->rnd_off, n);
	c->rnd_off += n;
	return 0;
}

/* One masked frame into the output queue (§5.2, §5.3). */
static int send_frame(struct ws_client *c, enum ws_opcode op, const void *data, size_t len)
{
	uint8_t hdr[WS_FRAME_MAX_HEADER], mask[4], *p;
	size_t limit;
	int hl;

	if (!c->stream)
		return WS_CLIENT_E_STATE;
	if (random_bytes(c, mask, 4) < 0)
		return WS_CLIENT_E_NOMEM;
	if ((hl = ws_frame_header(hdr, op, true, len, mask)) < 0)
		return WS_CLIENT_E_INVALID;
	/* data frames stop at max_queued; one control frame more still fits (the stream's cap
	 * has that slack), so a close or pong can follow a full queue */
	limit = c->max_queued + (op >= WS_OP_CLOSE ? WS_FRAME_MAX_HEADER + WS_FRAME_MAX_CONTROL : 0);
	if (len > limit || (size_t)hl + len + net_stream_queued(c->stream) > limit)
		return WS_CLIENT_E_QUEUE_FULL;
	if (!(p = net_stream_write_reserve(c->stream, (size_t)hl + len)))
		return WS_CLIENT_E_NOMEM;
	memcpy(p, hdr, (size_t)hl);
	if (len)
		memcpy(p + hl, data, len);
	ws_frame_mask(p + hl, len, mask, 0);
	net_stream_write_commit(c->stream, (size_t)hl + len);
	return 0;
}

/* Queue our close frame (once) and wait for the server's (or for the queue to drain when
 * theirs already came).  code 0: a close frame without a code. */
static void start_closing(struct ws_client *c, unsigned code, const char *reason, int err)
{
	uint8_t payload[WS_FRAME_MAX_CONTROL];
	int n;

	if (err && !c->fail_err) {
		c->fail_err = err;
		c->close_code = code ? code : WS_CLOSE_ABNORMAL;
		c->close_reason[0] = 0;
	}
	if (!c->close_sent) {
		c->close_sent = true;
		n = ws_close_payload(payload, code, reason);
		if (n < 0 || send_frame(c, WS_OP_CLOSE, payload, (size_t)n) < 0) {
			finish(c, c->fail_err ? c->fail_err : WS_CLIENT_E_DROPPED);
			return;
		}
	}
	c->state = WS_CLIENT_CLOSING;
	/* After their close and ours: done once ours is out.  After an error: wait for the
	 * server to close the TCP connection (§7.1.1), reading and dropping what comes, so
	 * that closing first with unread bytes (a TCP reset) cannot destroy our close frame. */
	if (c->close_received && net_stream_queued(c->stream) == 0) {
		finish(c, c->fail_err);
		return;
	}
	loop_timer_set(c->loop, &c->timer, c->close_ms);
}

static void on_drain(void *user)
{
	struct ws_client *c = user;

	enter(c);
	if (c->state == WS_CLIENT_CLOSING && c->close_received)
		finish(c, c->fail_err);
	leave(c);
}

/* ---- the opening handshake ---------------------------------------------------------- */

int ws_client_accept_key(const char *key, char *out, size_t cap)
{
	uint8_t md[CRYPTO_SHA1_LEN];
	char in[128];
	int n = snprintf(in, sizeof(in), "%s%s", key, ws_guid);

	if (n < 0 || (size_t)n >= sizeof(in) || cap < 29 ||
	    crypto_sha1(in, (size_t)n, md) < 0)
		return WS_CLIENT_E_INVALID;
	crypto_base64_encode(out, md, sizeof(md)); /* 28 chars + NUL */
	return 0;
}

/* Does the comma-separated list contain token (case-insensitive, RFC 9110 §5.6.1)? */
static bool has_token(const char *list, const char *token)
{
	size_t tl = strlen(token);

	while (list && *list) {
		const char *end;
		while (*list == ' ' || *list == '\t' || *list == ',')
			list++;
		end = list;
		while (*end && *end != ',' && *end != ' ' && *end != '\t')
			end++;
		if ((size_t)(end - list) == tl && strncasecmp(list, token, tl) == 0)
			return true;
		list = end;
		while (*list && *list != ',')
			list++;
	}
	return false;
}

/* §4.1, the client's checks of the server's handshake (items 1-6). */
static int on_resp_head(void *user, const struct http_resp *r)
{
	struct ws_client *c = user;
	const char *up = r->known[HTTP_F_UPGRADE], *conn = r->known[HTTP_F_CONNECTION];
	const char *acc = r->known[HTTP_F_SEC_WEBSOCKET_ACCEPT];
	const char *proto = r->known[HTTP_F_SEC_WEBSOCKET_PROTOCOL];
	char want[32];

	if (r->status != 101) {
		snprintf(c->detail, sizeof(c->detail), "HTTP %d %s", r->status,
			 r->reason ? r->reason : "");
		return WS_CLIENT_E_HANDSHAKE;
	}
	if (!up || strcasecmp(up, "websocket") != 0 || !has_token(conn, "upgrade")) {
		snprintf(c->detail, sizeof(c->detail), "101 without Upgrade: websocket");
		return WS_CLIENT_E_HANDSHAKE;
	}
	if (r->known[HTTP_F_SEC_WEBSOCKET_EXTENSIONS]) {
		snprintf(c->detail, sizeof(c->detail), "extension we did not offer");
		return WS_CLIENT_E_HANDSHAKE;
	}
	if (proto && (!c->protocol || strcmp(proto, c->protocol) != 0)) {
		snprintf(c->detail, sizeof(c->detail), "subprotocol we did not offer");
		return WS_CLIENT_E_HANDSHAKE;
	}
	if (ws_client_accept_key(c->key, want, sizeof(want)) < 0 || !acc || strcmp(acc, want) != 0)
		return WS_CLIENT_E_ACCEPT;
	return 1; /* the frames start after the head */
}

static int on_resp_body(void *user, const uint8_t *data, size_t len)
{
	return 0; /* a refused upgrade's body is not read */
}

static const struct http_resp_cb resp_cb = { on_resp_head, on_resp_body };

static int queue_handshake(struct ws_client *c)
{
	uint8_t raw[16];
	char auth[300], head[NET_URL_MAX + 1024];
	int n;

	if (random_bytes(c, raw, sizeof(raw)) < 0)
		return WS_CLIENT_E_NOMEM;
	crypto_base64_encode(c->key, raw, sizeof(raw)); /* 24 chars + NUL */
	if (net_url_authority(&c->url, auth, sizeof(auth)) < 0)
		return WS_CLIENT_E_INVALID;
	n = snprintf(head, sizeof(head),
		     "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
		     "User-Agent: pear-fogd\r\n%s%s%s\r\n",
		     c->url.target, auth, c->key, c->protocol ? "Sec-WebSocket-Protocol: " : "",
		     c->protocol ? c->protocol : "", c->protocol ? "\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		return WS_CLIENT_E_INVALID;
	return net_stream_write(c->stream, head, (size_t)n) < 0 ? WS_CLIENT_E_NOMEM : 0;
}

/* ---- frames in ----------------------------------------------------------------------- */

static int on_frame(void *user, const struct ws_message *m)
{
	struct ws_client *c = user;

	switch (m->opcode) {
	case WS_OP_TEXT:
	case WS_OP_BINARY:
		if (c->state == WS_CLIENT_OPEN && c->cb.on_message)
			c->cb.on_message(c->user, m->opcode == WS_OP_TEXT, m->data, m->len);
		break;
	case WS_OP_PING: /* §5.5.2: answer with the same payload; dropped if the queue is full */
		if (c->state == WS_CLIENT_OPEN)
			send_frame(c, WS_OP_PONG, m->data, m->len);
		break;
	case WS_OP_CLOSE:
		c->close_received = true;
		if (!c->fail_err) {
			c->close_code = m->code;
			snprintf(c->close_reason, sizeof(c->close_reason), "%.*s",
				 (int)m->reason_len, m->reason ? m->reason : "");
		}
		break;
	default:
		break;
	}
	return c->freed ? -1 : 0;
}

static const struct ws_parser_cb frame_cb = { on_frame };

/* Frames in data[0..len): 0 to go on reading, -1 when done with the connection. */
static int feed_frames(struct ws_client *c, const uint8_t *data, size_t len)
{
	size_t used;
	int rc = ws_parser_feed(&c->parser, data, len, &used);

	if (c->freed || c->finished)
		return -1;
	if (rc == WS_FRAME_NEED_MORE)
		return 0;
	if (rc == WS_FRAME_CLOSED) {
		/* §5.5.1: echo the code (if any) unless we sent ours already */
		unsigned echo = c->close_code == WS_CLOSE_NO_STATUS ? 0 : c->close_code;
		start_closing(c, echo, NULL, 0);
		return -1;
	}
	/* §7.1.7: fail the connection, telling the server why */
	start_closing(c, ws_frame_close_code(rc), NULL, rc);
	return -1;
}

static void handshake_done(struct ws_client *c, const uint8_t *rest, size_t len)
{
	free(c->resp);
	c->resp = NULL;
	c->state = WS_CLIENT_OPEN;
	c->last_rx_ms = loop_now_ms(c->loop);
	loop_timer_cancel(c->loop, &c->timer);
	if (c->idle_ms)
		loop_timer_set(c->loop, &c->timer, c->idle_ms / 2);
	if (c->cb.on_open)
		c->cb.on_open(c->user);
	if (c->freed || c->finished || c->state != WS_CLIENT_OPEN || !len)
		return;
	feed_frames(c, rest, len);
}

static void on_readable(void *user)
{
	struct ws_client *c = user;

	enter(c);
	while (c->stream && !c->finished) {
		ssize_t r = net_stream_read(c->stream, c->buf, sizeof(c->buf));
		size_t used;
		int rc;

		if (r == NET_STREAM_E_AGAIN)
			break;
		if (r <= 0) {
			/* the end of the stream: clean only after the close handshake */
			finish(c, c->fail_err ? c->fail_err
					      : c->close_received ? 0
					      : r == 0 || r == TLS_CLIENT_E_TRUNCATED ? WS_CLIENT_E_DROPPED
										    : (int)r);
			break;
		}
		c->last_rx_ms = loop_now_ms(c->loop);
		c->ping_out = false;
		if (c->state == WS_CLIENT_CONNECTING) {
			rc = http_resp_feed(c->resp, c->buf, (size_t)r, &used);
			if (c->freed)
				break;
			if (rc == HTTP_RESP_NEED_MORE)
				continue;
			if (rc != HTTP_RESP_DONE) {
				finish(c, rc == HTTP_RESP_E_ABORTED ? WS_CLIENT_E_HANDSHAKE : rc);
				break;
			}
			handshake_done(c, c->buf + used, (size_t)r - used);
			continue;
		}
		if (c->fail_err || c->close_received)
			continue; /* after a close or an error: read and drop until the end */
		if (feed_frames(c, c->buf, (size_t)r) < 0 && (c->freed || c->finished))
			break;
	}
	leave(c);
}

static void on_error(void *user, int err)
{
	struct ws_client *c = user;

	enter(c);
	finish(c, c->fail_err ? c->fail_err : c->close_received ? 0 : err);
	leave(c);
}

static void on_connect(void *user)
{
	(void)user; /* the handshake was queued before connecting */
}

static void on_timer(struct loop_timer *t)
{
	struct ws_client *c = container_of(t, struct ws_client, timer);
	uint64_t now = loop_now_ms(c->loop), silent = now - c->last_rx_ms;

	enter(c);
	switch (c->state) {
	case WS_CLIENT_CONNECTING:
		if (c->stream && !c->detail[0] && *net_stream_error_detail(c->stream))
			snprintf(c->detail, sizeof(c->detail), "%s", net_stream_error_detail(c->stream));
		finish(c, WS_CLIENT_E_TIMEOUT);
		break;
	case WS_CLIENT_OPEN:
		if (silent >= c->idle_ms) {
			start_closing(c, WS_CLOSE_GOING_AWAY, "idle", WS_CLIENT_E_IDLE);
		} else if (silent >= c->idle_ms / 2 && !c->ping_out) {
			c->ping_out = true;
			send_frame(c, WS_OP_PING, NULL, 0);
			loop_timer_set(c->loop, &c->timer, c->idle_ms - silent);
		} else {
			uint64_t half = c->idle_ms / 2;
			loop_timer_set(c->loop, &c->timer,
				       silent < half ? half - silent : c->idle_ms - silent);
		}
		break;
	case WS_CLIENT_CLOSING:
		if (!c->fail_err)
			c->close_code = WS_CLOSE_ABNORMAL;
		finish(c, c->fail_err ? c->fail_err : WS_CLIENT_E_TIMEOUT);
		break;
	case WS_CLIENT_DONE:
		break;
	}
	leave(c);
}

/* ---- API ----------------------------------------------------------------------------- */

int ws_client_connect(struct ws_client **out, struct loop *l, const struct ws_client_opts *o,
		      const struct ws_client_cb *cb, void *user)
{
	static const struct net_stream_cb scb = { on_connect, on_readable, on_drain, on_error };
	struct net_stream_opts so = { 0 };
	struct ws_client *c;
	int rc, err;

	*out = NULL;
	if (!o || !o->url || !cb || !cb->on_close)
		return WS_CLIENT_E_INVALID;
	if (o->protocol) { /* a token (RFC 9110 §5.6.2), as §4.1 item 10 asks */
		if (!*o->protocol || strlen(o->protocol) > 128)
			return WS_CLIENT_E_INVALID;
		for (const char *p = o->protocol; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || strchr("!#$%&'*+-.^_`|~", *p)))
				return WS_CLIENT_E_INVALID;
	}
	if (!(c = calloc(1, sizeof(*c))))
		return WS_CLIENT_E_NOMEM;
	c->rnd_off = sizeof(c->rnd);
	if (net_url_parse(o->url, &c->url) < 0 ||
	    (c->url.scheme != NET_URL_WS && c->url.scheme != NET_URL_WSS)) {
		free(c);
		return WS_CLIENT_E_INVALID;
	}
	c->loop = l;
	c->cb = *cb;
	c->user = user;
	c->handshake_ms = o->handshake_timeout_ms ? o->handshake_timeout_ms
						  : WS_CLIENT_HANDSHAKE_TIMEOUT_MS;
	c->idle_ms = o->idle_timeout_ms;
	c->close_ms = o->close_timeout_ms ? o->close_timeout_ms : WS_CLIENT_CLOSE_TIMEOUT_MS;
	c->max_queued = o->max_queued ? o->max_queued : WS_CLIENT_MAX_QUEUED;
	c->timer.cb = on_timer;
	c->state = WS_CLIENT_CONNECTING;
	ws_parser_init(&c->parser, o->max_message, &frame_cb, c);
	rc = WS_CLIENT_E_NOMEM;
	if (o->protocol && !(c->protocol = strdup(o->protocol)))
		goto fail;
	if (!(c->resp = malloc(sizeof(*c->resp))))
		goto fail;
	http_resp_init(c->resp, false, &resp_cb, c);
	if (o->tls) {
		c->tls = o->tls;
		tls_client_ctx_ref(c->tls);
	} else if (c->url.tls && !(c->tls = tls_client_ctx_new(NULL, &err))) {
		rc = err;
		goto fail;
	}
	so.host = c->url.host;
	so.port = c->url.port;
	so.tls = c->url.tls;
	so.tls_ctx = c->tls;
	so.connect_timeout_ms = c->handshake_ms;
	so.max_queued = c->max_queued + 2 * (WS_FRAME_MAX_HEADER + WS_FRAME_MAX_CONTROL);
	so.dns = o->dns;
	if ((rc = net_stream_open(&c->stream, l, &so, &scb, c)) < 0)
		goto fail;
	if ((rc = queue_handshake(c)) < 0 || loop_timer_set(l, &c->timer, c->handshake_ms) < 0) {
		net_stream_free(c->stream);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	really_free(c);
	return rc < 0 ? rc : WS_CLIENT_E_NOMEM;
}

int ws_client_send(struct ws_client *c, bool text, const void *data, size_t len)
{
	if (c->state != WS_CLIENT_OPEN || c->finished)
		return WS_CLIENT_E_STATE;
	if (text && !ws_utf8_valid(data, len))
		return WS_CLIENT_E_INVALID;
	return send_frame(c, text ? WS_OP_TEXT : WS_OP_BINARY, data, len);
}

/* Before on_open: abandon on the next loop turn (the CONNECTING timer fires at once). */
int ws_client_close(struct ws_client *c, unsigned code, const char *reason)
{
	uint8_t scratch[WS_FRAME_MAX_CONTROL];
	int n;

	if (c->finished || c->state == WS_CLIENT_CLOSING)
		return c->finished ? WS_CLIENT_E_STATE : 0;
	if ((n = ws_close_payload(scratch, code, reason)) < 0)
		return WS_CLIENT_E_INVALID;
	if (c->state == WS_CLIENT_CONNECTING) {
		net_stream_free(c->stream);
		c->stream = NULL;
		snprintf(c->detail, sizeof(c->detail), "closed before the handshake completed");
		c->close_code = WS_CLOSE_ABNORMAL;
		c->state = WS_CLIENT_CLOSING;
		c->fail_err = WS_CLIENT_E_DROPPED;
		loop_timer_set(c->loop, &c->timer, 0);
		return 0;
	}
	start_closing(c, code, reason, 0);
	return 0;
}

enum ws_client_state ws_client_state(const struct ws_client *c)
{
	return c->state;
}

size_t ws_client_buffered(const struct ws_client *c)
{
	return c->stream ? net_stream_queued(c->stream) : 0;
}

const char *ws_client_error_detail(const struct ws_client *c)
{
	return c->detail;
}

const char *ws_client_strerror(int err)
{
	switch (err) {
	case 0:
		return "ok";
	case WS_CLIENT_E_INVALID:
		return "invalid WebSocket URL, option or argument";
	case WS_CLIENT_E_NOMEM:
		return "out of memory";
	case WS_CLIENT_E_HANDSHAKE:
		return "WebSocket upgrade refused";
	case WS_CLIENT_E_ACCEPT:
		return "Sec-WebSocket-Accept does not match our key";
	case WS_CLIENT_E_TIMEOUT:
		return "WebSocket handshake timed out";
	case WS_CLIENT_E_IDLE:
		return "WebSocket idle timeout";
	case WS_CLIENT_E_DROPPED:
		return "connection closed without a close frame";
	case WS_CLIENT_E_STATE:
		return "WebSocket not open";
	case WS_CLIENT_E_QUEUE_FULL:
		return "WebSocket output queue full";
	default:
		if (err <= -200 && err > -220)
			return ws_frame_strerror(err);
		if (err <= -170 && err > -190)
			return http_resp_strerror(err);
		return net_stream_strerror(err);
	}
}
