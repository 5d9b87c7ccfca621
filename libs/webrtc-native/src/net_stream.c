#include "net_stream.h"

#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

struct net_stream {
	struct tcp_client *tcp; /* exactly one of tcp / tls */
	struct tls_client *tls;
	struct net_stream_cb cb;
	void *user;
	uint8_t *out; /* queue: out[out_off .. out_len) is unsent */
	size_t out_off, out_len, out_cap, max_queued;
	bool connected, paused, dead;
};

static ssize_t raw_read(struct net_stream *s, void *buf, size_t len)
{
	ssize_t r = s->tls ? tls_client_read(s->tls, buf, len) : tcp_client_read(s->tcp, buf, len);

	if (r == TLS_CLIENT_E_AGAIN || r == TCP_CLIENT_E_AGAIN)
		return NET_STREAM_E_AGAIN;
	return r;
}

static ssize_t raw_write(struct net_stream *s, const void *buf, size_t len)
{
	ssize_t r = s->tls ? tls_client_write(s->tls, buf, len) : tcp_client_write(s->tcp, buf, len);

	if (r == TLS_CLIENT_E_AGAIN || r == TCP_CLIENT_E_AGAIN)
		return NET_STREAM_E_AGAIN;
	return r;
}

static void set_events(struct net_stream *s)
{
	uint32_t ev = (s->paused ? 0 : EPOLLIN) | (s->out_len > s->out_off ? EPOLLOUT : 0);

	if (!s->connected || s->dead)
		return;
	if (s->tls)
		tls_client_set_events(s->tls, ev);
	else
		tcp_client_set_events(s->tcp, ev);
}

static void stream_fail(struct net_stream *s, int err)
{
	s->dead = true;
	s->cb.on_error(s->user, err); /* may free s */
}

/* Write what the socket takes.  Returns 0, or an error after which s may be gone. */
static int flush(struct net_stream *s)
{
	while (s->out_off < s->out_len) {
		ssize_t w = raw_write(s, s->out + s->out_off, s->out_len - s->out_off);
		if (w == NET_STREAM_E_AGAIN)
			break;
		if (w <= 0) {
			int err = w < 0 ? (int)w : TCP_CLIENT_E_IO;
			stream_fail(s, err);
			return err;
		}
		s->out_off += (size_t)w;
	}
	if (s->out_off == s->out_len)
		s->out_off = s->out_len = 0;
	set_events(s);
	return 0;
}

static void on_connect(void *user)
{
	struct net_stream *s = user;

	s->connected = true;
	if (flush(s) < 0)
		return;
	s->cb.on_connect(s->user);
}

static void on_event(void *user, uint32_t events)
{
	struct net_stream *s = user;

	if (events & EPOLLOUT) {
		bool had = s->out_len > 0;
		if (flush(s) < 0)
			return;
		if (had && s->out_len == 0 && s->cb.on_drain) {
			s->cb.on_drain(s->user);
			return; /* s may be gone; EPOLLIN is level-triggered and comes back */
		}
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !s->paused)
		s->cb.on_readable(s->user);
}

static void on_error(void *user, int err)
{
	stream_fail(user, err);
}

int net_stream_open(struct net_stream **out, struct loop *l, const struct net_stream_opts *o,
		    const struct net_stream_cb *cb, void *user)
{
	struct net_stream *s;
	int rc;

	*out = NULL;
	if (!o || !cb || !cb->on_connect || !cb->on_readable || !cb->on_error)
		return TCP_CLIENT_E_INVALID;
	if (o->tls && !o->tls_ctx)
		return TLS_CLIENT_E_INVALID;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NET_STREAM_E_NOMEM;
	s->cb = *cb;
	s->user = user;
	s->max_queued = o->max_queued ? o->max_queued : NET_STREAM_MAX_QUEUED;
	if (o->tls) {
		static const struct tls_client_cb tcb = { on_connect, on_event, on_error };
		struct tls_client_opts to = { .host = o->host,
					      .port = o->port,
					      .connect_timeout_ms = o->connect_timeout_ms,
					      .family = o->family,
					      .ctx = o->tls_ctx,
					      .dns = o->dns };
		rc = tls_client_open(&s->tls, l, &to, &tcb, s);
	} else {
		static const struct tcp_client_cb ccb = { on_connect, on_event, on_error };
		struct tcp_client_opts to = { .host = o->host,
					      .port = o->port,
					      .connect_timeout_ms = o->connect_timeout_ms,
					      .family = o->family,
					      .dns = o->dns };
		rc = tcp_client_open(&s->tcp, l, &to, &ccb, s);
	}
	if (rc < 0) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

ssize_t net_stream_read(struct net_stream *s, void *buf, size_t len)
{
	if (s->dead)
		return NET_STREAM_E_CLOSED;
	return raw_read(s, buf, len);
}

uint8_t *net_stream_write_reserve(struct net_stream *s, size_t len)
{
	size_t used = s->out_len - s->out_off;

	if (s->dead || len > s->max_queued - used)
		return NULL;
	if (s->out_off && s->out_len + len > s->out_cap) { /* compact first */
		memmove(s->out, s->out + s->out_off, used);
		s->out_off = 0;
		s->out_len = used;
	}
	if (s->out_len + len > s->out_cap) {
		size_t cap = s->out_cap ? s->out_cap : 4096;
		uint8_t *n;
		while (cap < s->out_len + len)
			cap *= 2;
		n = realloc(s->out, cap);
		if (!n)
			return NULL;
		s->out = n;
		s->out_cap = cap;
	}
	return s->out + s->out_len;
}

void net_stream_write_commit(struct net_stream *s, size_t len)
{
	s->out_len += len;
	/* try at once when connected; errors arrive through on_error from the loop */
	if (s->connected && !s->dead)
		set_events(s);
}

int net_stream_write(struct net_stream *s, const void *data, size_t len)
{
	uint8_t *p;

	if (s->dead)
		return NET_STREAM_E_CLOSED;
	if (!len)
		return 0;
	if (len > s->max_queued - (s->out_len - s->out_off))
		return NET_STREAM_E_QUEUE_FULL;
	p = net_stream_write_reserve(s, len);
	if (!p)
		return NET_STREAM_E_NOMEM;
	memcpy(p, data, len);
	net_stream_write_commit(s, len);
	return 0;
}

size_t net_stream_queued(const struct net_stream *s)
{
	return s->out_len - s->out_off;
}

void net_stream_pause_reading(struct net_stream *s, bool paused)
{
	s->paused = paused;
	set_events(s);
}

void net_stream_shutdown(struct net_stream *s)
{
	if (s->tls && s->connected && !s->dead)
		tls_client_shutdown(s->tls);
	s->dead = true;
}

bool net_stream_is_tls(const struct net_stream *s)
{
	return s->tls != NULL;
}

const char *net_stream_error_detail(const struct net_stream *s)
{
	return s->tls ? tls_client_error_detail(s->tls) : "";
}

void net_stream_free(struct net_stream *s)
{
	if (!s)
		return;
	tls_client_free(s->tls);
	tcp_client_free(s->tcp);
	free(s->out);
	free(s);
}

const char *net_stream_strerror(int err)
{
	switch (err) {
	case 0:
		return "ok";
	case NET_STREAM_E_AGAIN:
		return "would block";
	case NET_STREAM_E_NOMEM:
		return "out of memory";
	case NET_STREAM_E_QUEUE_FULL:
		return "output queue full";
	case NET_STREAM_E_CLOSED:
		return "stream closed";
	default:
		return tls_client_strerror(err);
	}
}
