/* tcp_client: a non-blocking outgoing TCP connection on pear-fogd's loop.
 *
 * The host is a numeric IPv4/IPv6 address (used directly) or a name (resolved with
 * dns_client, which never blocks the loop).  The addresses are tried in turn, IPv4 first,
 * each with a non-blocking connect(); connect_timeout_ms bounds resolving plus
 * connecting.  Once connected the caller drives I/O: tcp_client_set_events() chooses the
 * epoll interest and cb->on_event() reports readiness; tcp_client_read/write never block.
 *
 * Callbacks are never called from inside tcp_client_open() and the client may be freed
 * from inside any of its callbacks.  Error codes are negative, in [-139, -120], or a
 * dns_err (in [-119, -100]) when the name did not resolve; tcp_client_strerror() knows
 * both. */
#ifndef PEARFOG_TCP_CLIENT_H
#define PEARFOG_TCP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dns_client.h"
#include "loop.h"

#define TCP_CLIENT_CONNECT_TIMEOUT_MS 10000 /* default for connect_timeout_ms = 0 */
#define TCP_CLIENT_MAX_HOST 253		    /* bytes of host, as DNS_MAX_NAME */

enum tcp_client_err {
	TCP_CLIENT_E_AGAIN = -120,	/* would block: wait for on_event */
	TCP_CLIENT_E_NOMEM = -121,
	TCP_CLIENT_E_INVALID = -122,	/* bad host or port */
	TCP_CLIENT_E_REFUSED = -123,	/* every address refused or was unreachable */
	TCP_CLIENT_E_TIMEOUT = -124,	/* connect_timeout_ms passed */
	TCP_CLIENT_E_IO = -125,		/* socket error after connecting (reset, ...) */
	TCP_CLIENT_E_NOT_CONNECTED = -126, /* read/write before on_connect */
};

struct tcp_client_opts {
	const char *host;	     /* "192.0.2.1", "2001:db8::1", "[2001:db8::1]" or a name */
	uint16_t port;
	uint32_t connect_timeout_ms; /* 0: TCP_CLIENT_CONNECT_TIMEOUT_MS */
	int family;		     /* AF_UNSPEC (default 0), AF_INET or AF_INET6 */
	const struct dns_lookup_opts *dns; /* NULL: defaults (family is taken from above) */
};

struct tcp_client_cb {
	/* Connected; the interest is EPOLLIN until changed. */
	void (*on_connect)(void *user);
	/* Readiness once connected (EPOLLIN / EPOLLOUT / EPOLLHUP / EPOLLERR bits). */
	void (*on_event)(void *user, uint32_t events);
	/* Connecting failed (a tcp_client_err or dns_err); no more callbacks follow. */
	void (*on_error)(void *user, int err);
};

struct tcp_client;

/* Start connecting.  Returns 0 and the client in *out, or a tcp_client_err for invalid
 * options / no memory (no callback follows then). */
int tcp_client_open(struct tcp_client **out, struct loop *l, const struct tcp_client_opts *o,
		    const struct tcp_client_cb *cb, void *user);

/* >0 bytes read, 0 at end of stream, TCP_CLIENT_E_AGAIN, or another error. */
ssize_t tcp_client_read(struct tcp_client *c, void *buf, size_t len);
/* >0 bytes written (maybe fewer than len), TCP_CLIENT_E_AGAIN, or an error. */
ssize_t tcp_client_write(struct tcp_client *c, const void *buf, size_t len);
/* Set the epoll interest (EPOLLIN, EPOLLOUT or both; 0 for none).  0 or an error. */
int tcp_client_set_events(struct tcp_client *c, uint32_t events);
/* Half-close our side (shutdown(SHUT_WR)). */
void tcp_client_shutdown_write(struct tcp_client *c);
/* The connected socket (-1 before on_connect); for SSL_set_fd. */
int tcp_client_fd(const struct tcp_client *c);
bool tcp_client_connected(const struct tcp_client *c);
/* Close the socket and free; cancels a pending connect.  NULL is fine. */
void tcp_client_free(struct tcp_client *c);

const char *tcp_client_strerror(int err);

#endif
