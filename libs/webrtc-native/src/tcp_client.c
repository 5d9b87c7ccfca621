#include "tcp_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns_client.h"

struct tcp_client {
	struct loop *loop;
	struct loop_fd lfd;
	struct loop_timer deadline; /* whole connect (resolve included) */
	struct loop_timer kick;	    /* deferred start: no callback from inside open */
	struct tcp_client_cb cb;
	void *user;
	struct tcp_client_opts opts;
	struct dns_lookup_opts dns_opts; /* copy of *opts.dns (its strings are the caller's) */
	char host[TCP_CLIENT_MAX_HOST + 1];
	struct dns_lookup *lookup;
	struct dns_addr addrs[DNS_MAX_ADDRS];
	size_t n_addrs, next_addr;
	int last_err;
	bool connected;
};

static void client_fail(struct tcp_client *c, int err)
{
	void (*on_error)(void *, int) = c->cb.on_error;

	loop_timer_cancel(c->loop, &c->deadline);
	loop_timer_cancel(c->loop, &c->kick);
	if (c->lfd.fd >= 0) {
		loop_fd_del(c->loop, &c->lfd);
		close(c->lfd.fd);
		c->lfd.fd = -1;
	}
	if (c->lookup) {
		dns_lookup_cancel(c->lookup);
		c->lookup = NULL;
	}
	on_error(c->user, err); /* may free c */
}

static void try_next_address(struct tcp_client *c);

static void on_fd(struct loop_fd *lfd, uint32_t events)
{
	struct tcp_client *c = container_of(lfd, struct tcp_client, lfd);
	int soerr = 0, one = 1;
	socklen_t sl = sizeof(soerr);

	if (c->connected) {
		c->cb.on_event(c->user, events);
		return;
	}
	/* connect() finished: SO_ERROR tells how (connect(2), EINPROGRESS) */
	if (getsockopt(lfd->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		soerr = errno;
	if (soerr) {
		loop_fd_del(c->loop, &c->lfd);
		close(c->lfd.fd);
		c->lfd.fd = -1;
		c->last_err = TCP_CLIENT_E_REFUSED;
		try_next_address(c);
		return;
	}
	c->connected = true;
	loop_timer_cancel(c->loop, &c->deadline);
	setsockopt(lfd->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (loop_fd_mod(c->loop, &c->lfd, EPOLLIN) < 0) {
		client_fail(c, TCP_CLIENT_E_NOMEM);
		return;
	}
	c->cb.on_connect(c->user);
}

static void try_next_address(struct tcp_client *c)
{
	while (c->next_addr < c->n_addrs) {
		const struct dns_addr *a = &c->addrs[c->next_addr++];
		struct sockaddr_storage ss = { 0 };
		socklen_t sl;
		int fd;

		if (a->family == AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
			s4->sin_family = AF_INET;
			s4->sin_port = htons(c->opts.port);
			memcpy(&s4->sin_addr, a->addr, 4);
			sl = sizeof(*s4);
		} else {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(c->opts.port);
			memcpy(&s6->sin6_addr, a->addr, 16);
			sl = sizeof(*s6);
		}
		fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			c->last_err = TCP_CLIENT_E_REFUSED;
			continue;
		}
		if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
			close(fd);
			c->last_err = TCP_CLIENT_E_REFUSED;
			continue;
		}
		c->lfd.fd = fd;
		if (loop_fd_add(c->loop, &c->lfd, EPOLLOUT) < 0) {
			close(fd);
			c->lfd.fd = -1;
			client_fail(c, TCP_CLIENT_E_NOMEM);
			return;
		}
		return; /* on_fd reports the outcome */
	}
	client_fail(c, c->last_err ? c->last_err : TCP_CLIENT_E_REFUSED);
}

static void on_resolved(void *user, int err, const struct dns_addr *addrs, size_t n)
{
	struct tcp_client *c = user;

	c->lookup = NULL;
	if (err) {
		client_fail(c, err);
		return;
	}
	memcpy(c->addrs, addrs, n * sizeof(addrs[0]));
	c->n_addrs = n;
	try_next_address(c);
}

static void on_deadline(struct loop_timer *t)
{
	client_fail(container_of(t, struct tcp_client, deadline), TCP_CLIENT_E_TIMEOUT);
}

static void on_kick(struct loop_timer *t)
{
	struct tcp_client *c = container_of(t, struct tcp_client, kick);
	struct dns_lookup_opts dopts = { 0 };
	int rc;

	if (c->n_addrs) {
		try_next_address(c);
		return;
	}
	if (c->opts.dns)
		dopts = *c->opts.dns;
	dopts.family = c->opts.family;
	rc = dns_lookup_start(&c->lookup, c->loop, c->host, &dopts, on_resolved, c);
	if (rc < 0)
		client_fail(c, rc);
}

int tcp_client_open(struct tcp_client **out, struct loop *l, const struct tcp_client_opts *o,
		    const struct tcp_client_cb *cb, void *user)
{
	struct tcp_client *c;
	size_t hlen;
	const char *h;

	*out = NULL;
	if (!o || !o->host || !o->port || !cb || !cb->on_connect || !cb->on_event ||
	    !cb->on_error)
		return TCP_CLIENT_E_INVALID;
	h = o->host;
	hlen = strlen(h);
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') { /* URL form of IPv6 */
		h++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen > TCP_CLIENT_MAX_HOST)
		return TCP_CLIENT_E_INVALID;
	c = calloc(1, sizeof(*c));
	if (!c)
		return TCP_CLIENT_E_NOMEM;
	c->loop = l;
	c->cb = *cb;
	c->user = user;
	c->opts = *o;
	memcpy(c->host, h, hlen);
	c->host[hlen] = 0;
	c->opts.host = c->host;
	if (o->dns) {
		c->dns_opts = *o->dns;
		c->opts.dns = &c->dns_opts;
	}
	c->lfd.fd = -1;
	c->lfd.cb = on_fd;
	c->deadline.cb = on_deadline;
	c->kick.cb = on_kick;
	if (inet_pton(AF_INET, c->host, c->addrs[0].addr) == 1)
		c->addrs[c->n_addrs++].family = AF_INET;
	else if (inet_pton(AF_INET6, c->host, c->addrs[0].addr) == 1)
		c->addrs[c->n_addrs++].family = AF_INET6;
	if (c->n_addrs && o->family && o->family != c->addrs[0].family) {
		free(c);
		return TCP_CLIENT_E_INVALID;
	}
	if (loop_timer_set(l, &c->kick, 0) < 0 ||
	    loop_timer_set(l, &c->deadline, o->connect_timeout_ms ? o->connect_timeout_ms
								  : TCP_CLIENT_CONNECT_TIMEOUT_MS) < 0) {
		loop_timer_cancel(l, &c->kick);
		free(c);
		return TCP_CLIENT_E_NOMEM;
	}
	*out = c;
	return 0;
}

ssize_t tcp_client_read(struct tcp_client *c, void *buf, size_t len)
{
	ssize_t r;

	if (!c->connected)
		return TCP_CLIENT_E_NOT_CONNECTED;
	r = recv(c->lfd.fd, buf, len, 0);
	if (r >= 0)
		return r;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return TCP_CLIENT_E_AGAIN;
	return TCP_CLIENT_E_IO;
}

ssize_t tcp_client_write(struct tcp_client *c, const void *buf, size_t len)
{
	ssize_t r;

	if (!c->connected)
		return TCP_CLIENT_E_NOT_CONNECTED;
	r = send(c->lfd.fd, buf, len, MSG_NOSIGNAL);
	if (r >= 0)
		return r;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return TCP_CLIENT_E_AGAIN;
	return TCP_CLIENT_E_IO;
}

int tcp_client_set_events(struct tcp_client *c, uint32_t events)
{
	if (!c->connected)
		return TCP_CLIENT_E_NOT_CONNECTED;
	if (c->lfd.events == events)
		return 0;
	return loop_fd_mod(c->loop, &c->lfd, events) < 0 ? TCP_CLIENT_E_NOMEM : 0;
}

void tcp_client_shutdown_write(struct tcp_client *c)
{
	if (c->connected)
		shutdown(c->lfd.fd, SHUT_WR);
}

int tcp_client_fd(const struct tcp_client *c)
{
	return c->connected ? c->lfd.fd : -1;
}

bool tcp_client_connected(const struct tcp_client *c)
{
	return c->connected;
}

void tcp_client_free(struct tcp_client *c)
{
	if (!c)
		return;
	loop_timer_cancel(c->loop, &c->deadline);
	loop_timer_cancel(c->loop, &c->kick);
	if (c->lookup)
		dns_lookup_cancel(c->lookup);
	if (c->lfd.fd >= 0) {
		loop_fd_del(c->loop, &c->lfd);
		close(c->lfd.fd);
	}
	free(c);
}

const char *tcp_client_strerror(int err)
{
	switch (err) {
	case 0:
		return "ok";
	case TCP_CLIENT_E_AGAIN:
		return "would block";
	case TCP_CLIENT_E_NOMEM:
		return "out of memory";
	case TCP_CLIENT_E_INVALID:
		return "invalid host or port";
	case TCP_CLIENT_E_REFUSED:
		return "connection refused or unreachable";
	case TCP_CLIENT_E_TIMEOUT:
		return "connect timed out";
	case TCP_CLIENT_E_IO:
		return "connection error";
	case TCP_CLIENT_E_NOT_CONNECTED:
		return "not connected";
	default:
		if (err <= -100 && err > -120)
			return dns_strerror(err);
		return "unknown tcp client error";
	}
}
