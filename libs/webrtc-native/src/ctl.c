#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct ctl_client {
	struct loop_fd lfd;
	struct ctl_server *srv;
	char *in;
	size_t in_len, in_cap;
	struct ctl_json_out out;
	size_t out_sent;
	bool closing; /* close once the output is flushed */
};

struct ctl_server {
	struct loop_fd lfd;
	struct loop *loop;
	char *path;
	const struct ctl_op *ops;
	size_t n_ops;
	void *ctx;
	struct ctl_client *clients[CTL_MAX_CLIENTS];
};

void ctl_reply_error(struct ctl_reply *r, const char *code, const char *fmt, ...)
{
	va_list ap;

	r->error = code;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
}

static void client_free(struct ctl_client *c)
{
	struct ctl_server *s = c->srv;

	for (size_t i = 0; i < CTL_MAX_CLIENTS; i++)
		if (s->clients[i] == c)
			s->clients[i] = NULL;
	loop_fd_del(s->loop, &c->lfd);
	close(c->lfd.fd);
	free(c->in);
	ctl_json_out_free(&c->out);
	free(c);
}

/* Returns false when the client was freed. */
static bool client_flush(struct ctl_client *c)
{
	while (c->out_sent < c->out.len) {
		ssize_t n = send(c->lfd.fd, c->out.buf + c->out_sent, c->out.len - c->out_sent,
				 MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			client_free(c);
			return false;
		}
		c->out_sent += (size_t)n;
	}
	if (c->out_sent == c->out.len) {
		c->out.len = c->out_sent = 0;
		if (c->closing) {
			client_free(c);
			return false;
		}
		loop_fd_mod(c->srv->loop, &c->lfd, EPOLLIN);
	} else {
		if (c->out.len - c->out_sent > CTL_MAX_PENDING_OUT) {
			client_free(c);
			return false;
		}
		loop_fd_mod(c->srv->loop, &c->lfd, EPOLLIN | EPOLLOUT);
	}
	return true;
}

static void write_id(struct ctl_json_out *o, const struct ctl_json *req)
{
	const struct ctl_json_member *id = req ? ctl_json_get(req, "id") : NULL;

	if (id && id->type == CTL_JSON_NUMBER)
		ctl_json_out_fmt(o, "{\"id\":%.17g", id->number);
	else if (id && id->type == CTL_JSON_STRING)
		ctl_json_out_raw(o, "{\"id\":", 6), ctl_json_out_str(o, id->str, id->str_len);
	else
		ctl_json_out_raw(o, "{\"id\":null", 10);
}

static void write_error(struct ctl_json_out *o, const char *code, const char *message)
{
	ctl_json_out_raw(o, ",\"ok\":false,\"error\":", 20);
	ctl_json_out_str(o, code, strlen(code));
	ctl_json_out_raw(o, ",\"message\":", 11);
	ctl_json_out_str(o, message, strlen(message));
	ctl_json_out_raw(o, "}\n", 2);
}

static void handle_line(struct ctl_client *c, char *line, size_t len)
{
	struct ctl_server *s = c->srv;
	struct ctl_json req;
	struct ctl_json_out body = { 0 };
	struct ctl_reply reply = { .out = &body };
	const char *op;
	int rc = ctl_json_parse(line, len, &req);

	write_id(&c->out, rc == 0 ? &req : NULL);
	if (rc < 0) {
		write_error(&c->out, "bad_request", ctl_json_strerror(rc));
		return;
	}
	op = ctl_json_get_str(&req, "op");
	if (!op) {
		write_error(&c->out, "bad_request", "missing \"op\"");
		return;
	}
	for (size_t i = 0; i < s->n_ops; i++) {
		if (strcmp(s->ops[i].name, op) != 0)
			continue;
		s->ops[i].handler(s->ctx, &req, &reply);
		if (body.oom)
			ctl_reply_error(&reply, "internal", "out of memory");
		if (reply.error) {
			write_error(&c->out, reply.error, reply.message);
		} else {
			ctl_json_out_raw(&c->out, ",\"ok\":true", 10);
			if (body.len)
				ctl_json_out_raw(&c->out, body.buf, body.len);
			ctl_json_out_raw(&c->out, "}\n", 2);
		}
		ctl_json_out_free(&body);
		return;
	}
	write_error(&c->out, "unknown_op", op);
}

static void client_cb(struct loop_fd *lfd, uint32_t events)
{
	struct ctl_client *c = container_of(lfd, struct ctl_client, lfd);

	if (events & EPOLLOUT && !client_flush(c))
		return;
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)) || c->closing)
		return;
	for (;;) {
		ssize_t n;
		char *nl;

		if (c->in_cap - c->in_len < 4096) {
			size_t cap = c->in_cap ? c->in_cap * 2 : 8192;
			char *b;
			if (cap > CTL_MAX_LINE + 4096)
				cap = CTL_MAX_LINE + 4096;
			if (cap <= c->in_cap) {
				/* The line outgrew CTL_MAX_LINE: answer once, then hang up. */
				write_id(&c->out, NULL);
				write_error(&c->out, "too_large", "request line over the limit");
				c->closing = true;
				client_flush(c);
				return;
			}
			if (!(b = realloc(c->in, cap))) {
				client_free(c);
				return;
			}
			c->in = b;
			c->in_cap = cap;
		}
		n = recv(lfd->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			client_free(c);
			return;
		}
		c->in_len += (size_t)n;
		while ((nl = memchr(c->in, '\n', c->in_len))) {
			size_t line_len = (size_t)(nl - c->in);
			if (line_len > CTL_MAX_LINE) {
				c->in_len = 0;
				break;
			}
			handle_line(c, c->in, line_len);
			memmove(c->in, nl + 1, c->in_len - line_len - 1);
			c->in_len -= line_len + 1;
		}
	}
	client_flush(c);
}

static void server_cb(struct loop_fd *lfd, uint32_t events)
{
	struct ctl_server *s = container_of(lfd, struct ctl_server, lfd);

	for (;;) {
		int fd = accept4(lfd->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ctl_client *c;
		size_t slot = CTL_MAX_CLIENTS;

		if (fd < 0)
			return;
		for (size_t i = 0; i < CTL_MAX_CLIENTS; i++)
			if (!s->clients[i]) {
				slot = i;
				break;
			}
		if (slot == CTL_MAX_CLIENTS || !(c = calloc(1, sizeof(*c)))) {
			close(fd);
			continue;
		}
		c->srv = s;
		c->lfd.fd = fd;
		c->lfd.cb = client_cb;
		if (loop_fd_add(s->loop, &c->lfd, EPOLLIN) < 0) {
			close(fd);
			free(c);
			continue;
		}
		s->clients[slot] = c;
	}
}

static bool socket_is_live(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return live;
}

struct ctl_server *ctl_server_new(struct loop *l, const char *path, const struct ctl_op *ops,
				  size_t n_ops, void *ctx, int *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ctl_server *s;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		*err = -ENAMETOOLONG;
		return NULL;
	}
	strcpy(sa.sun_path, path);
	if (socket_is_live(&sa)) {
		*err = -EADDRINUSE;
		return NULL;
	}
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		*err = -errno;
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path))) {
		free(s);
		close(fd);
		*err = -ENOMEM;
		return NULL;
	}
	s->loop = l;
	s->ops = ops;
	s->n_ops = n_ops;
	s->ctx = ctx;
	s->lfd.fd = fd;
	s->lfd.cb = server_cb;
	if ((*err = loop_fd_add(l, &s->lfd, EPOLLIN)) < 0) {
		close(fd);
		free(s->path);
		free(s);
		return NULL;
	}
	return s;
}

void ctl_server_free(struct ctl_server *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < CTL_MAX_CLIENTS; i++)
		if (s->clients[i])
			client_free(s->clients[i]);
	loop_fd_del(s->loop, &s->lfd);
	close(s->lfd.fd);
	unlink(s->path);
	free(s->path);
	free(s);
}
