/* tls_client: the connection logic both TLS backends share (tcp_client underneath, the
 * handshake deadline, the caller's interest and event translation, error mapping); the TLS
 * library calls are behind tls_backend.h (tls_client_openssl.c, tls_client_mbedtls.c). */
#include "tls_client.h"

#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "tls_backend.h"

static void client_fail(struct tls_client *c, int err)
{
	void (*on_error)(void *, int) = c->cb.on_error;

	loop_timer_cancel(c->loop, &c->deadline);
	c->handshaking = false;
	c->ready = false;
	if (c->tcp) {
		tcp_client_free(c->tcp);
		c->tcp = NULL;
	}
	on_error(c->user, err); /* may free c */
}

/* epoll interest from what the caller wants and what TLS is blocked on */
static int update_events(struct tls_client *c)
{
	uint32_t ev = 0;

	if (!c->tcp)
		return TLS_CLIENT_E_NOT_CONNECTED;
	if (c->want & EPOLLIN)
		ev |= c->read_needs_write ? EPOLLOUT : EPOLLIN;
	if (c->want & EPOLLOUT)
		ev |= c->write_needs_read ? EPOLLIN : EPOLLOUT;
	return tcp_client_set_events(c->tcp, ev);
}

static void handshake_step(struct tls_client *c)
{
	int rc = tls_session_handshake(c);

	if (rc == 0) {
		c->handshaking = false;
		c->ready = true;
		loop_timer_cancel(c->loop, &c->deadline);
		c->want = EPOLLIN;
		if (update_events(c) < 0) {
			client_fail(c, TLS_CLIENT_E_NOMEM);
			return;
		}
		c->cb.on_connect(c->user);
		return;
	}
	if (rc == TLS_BACKEND_WANT_READ || rc == TLS_BACKEND_WANT_WRITE) {
		if (tcp_client_set_events(c->tcp, rc == TLS_BACKEND_WANT_READ ? EPOLLIN : EPOLLOUT) < 0)
			client_fail(c, TLS_CLIENT_E_NOMEM);
		return;
	}
	client_fail(c, rc);
}

static void on_tcp_connect(void *user)
{
	struct tls_client *c = user;

	if (tls_session_new(c) < 0) {
		client_fail(c, TLS_CLIENT_E_NOMEM);
		return;
	}
	c->handshaking = true;
	handshake_step(c);
}

static void on_tcp_event(void *user, uint32_t events)
{
	struct tls_client *c = user;
	uint32_t out = 0;

	if (c->handshaking) {
		handshake_step(c);
		return;
	}
	if (events & (EPOLLERR | EPOLLHUP))
		out |= c->want & (EPOLLIN | EPOLLOUT); /* let read/write report it */
	if (events & EPOLLIN) {
		if (!c->read_needs_write)
			out |= EPOLLIN;
		if (c->write_needs_read)
			out |= EPOLLOUT;
	}
	if (events & EPOLLOUT) {
		if (!c->write_needs_read)
			out |= EPOLLOUT;
		if (c->read_needs_write)
			out |= EPOLLIN;
	}
	out &= c->want | (events & (EPOLLERR | EPOLLHUP) ? (EPOLLIN | EPOLLOUT) : 0);
	if (out)
		c->cb.on_event(c->user, out);
}

static void on_tcp_error(void *user, int err)
{
	struct tls_client *c = user;

	client_fail(c, err); /* frees the tcp_client: allowed from its callback */
}

static void on_deadline(struct loop_timer *t)
{
	struct tls_client *c = container_of(t, struct tls_client, deadline);

	client_fail(c, TLS_CLIENT_E_TIMEOUT);
}

int tls_client_open(struct tls_client **out, struct loop *l, const struct tls_client_opts *o,
		    const struct tls_client_cb *cb, void *user)
{
	static const struct tcp_client_cb tcp_cb = { on_tcp_connect, on_tcp_event, on_tcp_error };
	struct tcp_client_opts to;
	struct tls_client *c;
	const char *h;
	size_t hlen;
	int rc;

	*out = NULL;
	if (!o || !o->ctx || !o->host || !cb || !cb->on_connect || !cb->on_event || !cb->on_error)
		return TLS_CLIENT_E_INVALID;
	h = o->host;
	hlen = strlen(h);
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (!hlen || hlen > TCP_CLIENT_MAX_HOST)
		return TLS_CLIENT_E_INVALID;
	c = calloc(1, sizeof(*c));
	if (!c)
		return TLS_CLIENT_E_NOMEM;
	c->loop = l;
	c->cb = *cb;
	c->user = user;
	memcpy(c->host, h, hlen);
	c->ctx = o->ctx;
	c->deadline.cb = on_deadline;
	to = (struct tcp_client_opts){ .host = c->host,
				       .port = o->port,
				       .connect_timeout_ms = o->connect_timeout_ms,
				       .family = o->family,
				       .dns = o->dns };
	rc = tcp_client_open(&c->tcp, l, &to, &tcp_cb, c);
	if (rc < 0) {
		free(c);
		return rc;
	}
	if (loop_timer_set(l, &c->deadline, o->connect_timeout_ms ? o->connect_timeout_ms
								  : TCP_CLIENT_CONNECT_TIMEOUT_MS) < 0) {
		tcp_client_free(c->tcp);
		free(c);
		return TLS_CLIENT_E_NOMEM;
	}
	tls_client_ctx_ref(c->ctx);
	*out = c;
	return 0;
}


/* A backend's read/write result for the caller: the wants become TLS_CLIENT_E_AGAIN and the
 * socket interest that unblocks them. */
static ssize_t io_result(struct tls_client *c, ssize_t rc, bool reading)
{
	bool *needs = reading ? &c->read_needs_write : &c->write_needs_read;
	bool blocked_on_other = rc == (reading ? TLS_BACKEND_WANT_WRITE : TLS_BACKEND_WANT_READ);

	if (rc == TLS_BACKEND_WANT_READ || rc == TLS_BACKEND_WANT_WRITE) {
		*needs = blocked_on_other;
		update_events(c);
		return TLS_CLIENT_E_AGAIN;
	}
	if (rc > 0 && *needs) {
		*needs = false;
		update_events(c);
	}
	return rc;
}

ssize_t tls_client_read(struct tls_client *c, void *buf, size_t len)
{
	if (!c->ready)
		return TLS_CLIENT_E_NOT_CONNECTED;
	if (!len)
		return TLS_CLIENT_E_INVALID;
	return io_result(c, tls_session_read(c, buf, len), true);
}

ssize_t tls_client_write(struct tls_client *c, const void *buf, size_t len)
{
	if (!c->ready)
		return TLS_CLIENT_E_NOT_CONNECTED;
	if (!len)
		return 0;
	return io_result(c, tls_session_write(c, buf, len), false);
}

int tls_client_set_events(struct tls_client *c, uint32_t events)
{
	if (!c->ready)
		return TLS_CLIENT_E_NOT_CONNECTED;
	c->want = events & (EPOLLIN | EPOLLOUT);
	return update_events(c);
}

void tls_client_shutdown(struct tls_client *c)
{
	if (!c->ready)
		return;
	tls_session_close_notify(c); /* we do not wait for the peer's */
	c->ready = false;
}

const char *tls_client_error_detail(const struct tls_client *c)
{
	return c->detail;
}

void tls_client_free(struct tls_client *c)
{
	if (!c)
		return;
	loop_timer_cancel(c->loop, &c->deadline);
	tls_session_free(c->session); /* before the socket closes */
	tcp_client_free(c->tcp);
	tls_client_ctx_unref(c->ctx);
	free(c);
}

const char *tls_client_strerror(int err)
{
	switch (err) {
	case TLS_CLIENT_E_AGAIN:
		return "would block";
	case TLS_CLIENT_E_NOMEM:
		return "out of memory";
	case TLS_CLIENT_E_INVALID:
		return "invalid TLS options";
	case TLS_CLIENT_E_CA:
		return "cannot load the CA certificates";
	case TLS_CLIENT_E_HANDSHAKE:
		return "TLS handshake failed";
	case TLS_CLIENT_E_VERIFY:
		return "server certificate not trusted";
	case TLS_CLIENT_E_PROTOCOL:
		return "TLS protocol error";
	case TLS_CLIENT_E_TRUNCATED:
		return "connection closed without TLS close_notify";
	case TLS_CLIENT_E_TIMEOUT:
		return "TLS connect timed out";
	case TLS_CLIENT_E_NOT_CONNECTED:
		return "TLS not connected";
	default:
		return tcp_client_strerror(err);
	}
}
