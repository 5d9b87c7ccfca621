#include "http_server.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "http.h"
#include "metrics.h"
#include "sock.h"

struct http_conn {
	struct loop_fd lfd;
	struct loop_timer idle;
	struct http_server *srv;
	struct http_req req;
	char in[4096]; /* bytes read but not yet fed (pipelining) */
	size_t in_len;
	char head[1024];
	size_t head_len, head_sent;
	uint8_t *body; /* owned; chunk data or rendered text */
	size_t body_off, body_len;
	bool chunk_body; /* body counts as chunk bytes served */
	bool close_after;
};

struct http_server {
	struct loop_fd lfd;
	struct loop *loop;
	struct http_server_source src;
	void *user;
	uint16_t port;
	struct http_conn *conns[HTTP_SERVER_MAX_CONNS];
};

static void conn_free(struct http_conn *c)
{
	struct http_server *s = c->srv;

	for (size_t i = 0; i < HTTP_SERVER_MAX_CONNS; i++)
		if (s->conns[i] == c)
			s->conns[i] = NULL;
	loop_timer_cancel(s->loop, &c->idle);
	loop_fd_del(s->loop, &c->lfd);
	close(c->lfd.fd);
	free(c->body);
	free(c);
}

static void set_response(struct http_conn *c, int status, const struct http_head_fields *f,
			 uint8_t *body, size_t off, size_t len, bool head_only)
{
	int n = http_write_head(c->head, sizeof(c->head), status, f);

	if (n < 0) { /* cannot happen with our fixed fields; fail closed */
		n = snprintf(c->head, sizeof(c->head),
			     "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n"
			     "Connection: close\r\n\r\n");
		c->close_after = true;
		head_only = true;
	}
	c->head_len = (size_t)n;
	c->head_sent = 0;
	free(c->body);
	c->body = head_only ? (free(body), NULL) : body;
	c->body_off = off;
	c->body_len = head_only ? 0 : len;
	metrics_add(M_HTTP_REQUESTS, 1);
}

static void respond_text(struct http_conn *c, int status, const char *type, const char *text,
			 size_t len, bool head_only)
{
	struct http_head_fields f = { .content_type = type, .has_content_length = true,
				      .content_length = len, .close = c->close_after,
				      .keep_alive = !c->close_after && c->req.version_minor == 0,
				      .cache_control = "no-store" };
	uint8_t *body = malloc(len ? len : 1);

	if (!body) {
		c->close_after = true;
		len = 0;
	} else {
		memcpy(body, text, len);
	}
	c->chunk_body = false;
	set_response(c, status, &f, body, 0, len, head_only);
}

static void respond_error(struct http_conn *c, int status, bool head_only)
{
	char text[64];
	int n = snprintf(text, sizeof(text), "%d %s\n", status,
			 http_status_text(status) ? http_status_text(status) : "Error");

	respond_text(c, status, "text/plain; charset=utf-8", text, (size_t)n, head_only);
}

static void serve_chunk(struct http_conn *c, const char *hex, bool head_only)
{
	struct http_server *s = c->srv;
	struct chunk_id id;
	uint8_t *data = NULL;
	size_t len = 0;
	uint64_t first = 0, last = 0;
	char etag[CHUNK_ID_HEX_LEN + 3];
	struct http_head_fields f = { .content_type = "application/octet-stream",
				      .has_content_length = true, .accept_ranges = true,
				      .cache_control = "public, max-age=31536000, immutable",
				      .close = c->close_after,
				      .keep_alive = !c->close_after && c->req.version_minor == 0 };
	int status = 200, rr = HTTP_RANGE_IGNORE;

	if (!chunk_id_parse(&id, hex, strlen(hex))) {
		metrics_add(M_BAD_HTTP, 1);
		respond_error(c, 400, head_only);
		return;
	}
	if (s->src.get_chunk(s->user, &id, &data, &len) < 0) {
		metrics_add(M_CHUNK_NOT_FOUND, 1);
		respond_error(c, 404, head_only);
		return;
	}
	etag[0] = '"';
	chunk_id_format(&id, etag + 1);
	etag[CHUNK_ID_HEX_LEN + 1] = '"';
	etag[CHUNK_ID_HEX_LEN + 2] = '\0';
	f.etag = etag;
	if (c->req.if_none_match && strcmp(c->req.if_none_match, etag) == 0) {
		f.has_content_length = false;
		free(data);
		c->chunk_body = false;
		set_response(c, 304, &f, NULL, 0, 0, true);
		return;
	}
	if (c->req.range)
		rr = http_range_parse(c->req.range, len, &first, &last);
	if (rr == HTTP_RANGE_UNSATISFIABLE) {
		f.has_content_range = true;
		f.range_first = f.range_last = UINT64_MAX; /* "bytes * /size" form */
		f.range_size = len;
		f.content_length = 0;
		free(data);
		c->chunk_body = false;
		set_response(c, 416, &f, NULL, 0, 0, true);
		return;
	}
	if (rr == HTTP_RANGE_OK) {
		status = 206;
		f.has_content_range = true;
		f.range_first = first;
		f.range_last = last;
		f.range_size = len;
	} else {
		first = 0;
		last = len ? len - 1 : 0;
	}
	f.content_length = len ? last - first + 1 : 0;
	c->chunk_body = true;
	set_response(c, status, &f, data, (size_t)first, (size_t)f.content_length, head_only);
}

static void route(struct http_conn *c)
{
	struct http_server *s = c->srv;
	const char *t = c->req.target;
	bool head_only = c->req.method == HTTP_METHOD_HEAD;

	if (!c->req.keep_alive)
		c->close_after = true;
	if (c->req.method == HTTP_METHOD_OTHER) {
		respond_error(c, 405, false);
		return;
	}
	if (strncmp(t, "/chunks/", 8) == 0) {
		serve_chunk(c, t + 8, head_only);
	} else if (strcmp(t, "/healthz") == 0) {
		respond_text(c, 200, "text/plain; charset=utf-8", "ok\n", 3, head_only);
	} else if (strcmp(t, "/metrics") == 0) {
		struct ctl_json_out o = { 0 };
		s->src.render_metrics(s->user, &o);
		if (o.oom) {
			respond_error(c, 500, head_only);
		} else {
			respond_text(c, 200, "text/plain; version=0.0.4", o.buf ? o.buf : "", o.len,
				     head_only);
		}
		ctl_json_out_free(&o);
	} else {
		respond_error(c, 404, head_only);
	}
}

static bool response_pending(const struct http_conn *c)
{
	return c->head_sent < c->head_len || c->body_len > 0;
}

/* Write as much of the current response as the socket takes.  False when freed. */
static bool conn_write(struct http_conn *c)
{
	while (c->head_sent < c->head_len || c->body_len > 0) {
		struct iovec iov[2];
		int n_iov = 0;
		ssize_t n;
		size_t head_left = c->head_len - c->head_sent;

		if (head_left)
			iov[n_iov++] = (struct iovec){ c->head + c->head_sent, head_left };
		if (c->body_len)
			iov[n_iov++] = (struct iovec){ c->body + c->body_off, c->body_len };
		n = writev(c->lfd.fd, iov, n_iov);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			loop_fd_mod(c->srv->loop, &c->lfd, EPOLLOUT);
			return true;
		}
		if (n <= 0) {
			conn_free(c);
			return false;
		}
		if ((size_t)n <= head_left) {
			c->head_sent += (size_t)n;
		} else {
			size_t b = (size_t)n - head_left;
			c->head_sent = c->head_len;
			c->body_off += b;
			c->body_len -= b;
			if (c->chunk_body && c->srv->src.on_chunk_bytes)
				c->srv->src.on_chunk_bytes(c->srv->user, b);
			if (c->chunk_body)
				metrics_add(M_BYTES_SERVED_HTTP, (int64_t)b);
		}
	}
	free(c->body);
	c->body = NULL;
	c->head_len = c->head_sent = 0;
	if (c->close_after) {
		shutdown(c->lfd.fd, SHUT_WR);
		conn_free(c);
		return false;
	}
	loop_fd_mod(c->srv->loop, &c->lfd, EPOLLIN);
	return true;
}

/* Parse buffered input into at most one request and start its response. */
static bool conn_process(struct http_conn *c)
{
	while (!response_pending(c) && c->in_len > 0) {
		size_t used = 0;
		int rc = http_req_feed(&c->req, c->in, c->in_len, &used);

		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
		if (rc == HTTP_NEED_MORE)
			break;
		if (rc < 0) {
			metrics_add(M_BAD_HTTP, 1);
			c->close_after = true;
			c->in_len = 0;
			respond_error(c, -rc, false);
		} else {
			route(c);
		}
		http_req_init(&c->req);
		if (!conn_write(c))
			return false;
	}
	return true;
}

static void conn_idle_cb(struct loop_timer *t)
{
	conn_free(container_of(t, struct http_conn, idle));
}

static void conn_cb(struct loop_fd *lfd, uint32_t events)
{
	struct http_conn *c = container_of(lfd, struct http_conn, lfd);

	loop_timer_set(c->srv->loop, &c->idle, HTTP_SERVER_IDLE_MS);
	if (events & EPOLLOUT) {
		if (!conn_write(c))
			return;
		if (!conn_process(c))
			return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	while (!response_pending(c) && c->in_len < sizeof(c->in)) {
		ssize_t n = read(lfd->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_free(c);
			return;
		}
		c->in_len += (size_t)n;
		if (!conn_process(c))
			return;
	}
}

static void server_cb(struct loop_fd *lfd, uint32_t events)
{
	struct http_server *s = container_of(lfd, struct http_server, lfd);

	for (;;) {
		int fd = accept4(lfd->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct http_conn *c = NULL;
		size_t slot = HTTP_SERVER_MAX_CONNS;

		if (fd < 0)
			return;
		for (size_t i = 0; i < HTTP_SERVER_MAX_CONNS; i++)
			if (!s->conns[i]) {
				slot = i;
				break;
			}
		if (slot == HTTP_SERVER_MAX_CONNS || !(c = calloc(1, sizeof(*c)))) {
			close(fd);
			continue;
		}
		c->srv = s;
		c->lfd.fd = fd;
		c->lfd.cb = conn_cb;
		c->idle.cb = conn_idle_cb;
		http_req_init(&c->req);
		if (loop_fd_add(s->loop, &c->lfd, EPOLLIN) < 0) {
			close(fd);
			free(c);
			continue;
		}
		loop_timer_set(s->loop, &c->idle, HTTP_SERVER_IDLE_MS);
		s->conns[slot] = c;
	}
}

struct http_server *http_server_new(struct loop *l, const char *host, uint16_t port,
				    const struct http_server_source *src, void *user, int *err)
{
	struct http_server *s;
	uint16_t bound = 0;
	int fd;

	if ((fd = sock_bind(host, port, SOCK_STREAM, &bound)) < 0) {
		*err = fd;
		return NULL;
	}
	if (!(s = calloc(1, sizeof(*s)))) {
		close(fd);
		*err = -ENOMEM;
		return NULL;
	}
	s->loop = l;
	s->src = *src;
	s->user = user;
	s->port = bound;
	s->lfd.fd = fd;
	s->lfd.cb = server_cb;
	if ((*err = loop_fd_add(l, &s->lfd, EPOLLIN)) < 0) {
		close(fd);
		free(s);
		return NULL;
	}
	return s;
}

void http_server_free(struct http_server *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < HTTP_SERVER_MAX_CONNS; i++)
		if (s->conns[i])
			conn_free(s->conns[i]);
	loop_fd_del(s->loop, &s->lfd);
	close(s->lfd.fd);
	free(s);
}

uint16_t http_server_port(const struct http_server *s)
{
	return s->port;
}
