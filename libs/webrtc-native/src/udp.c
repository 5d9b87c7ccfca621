#include "udp.h"

#include "sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* linux/udp.h; older libc headers lack it */
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif

struct udp_socket {
	struct loop_fd lfd;
	struct loop *loop;
	struct udp_callbacks cb;
	void *user;
	uint16_t port;
	uint8_t bufs[UDP_RECV_BATCH][UDP_MAX_DATAGRAM];
	struct udp_addr from[UDP_RECV_BATCH];
	/* Outgoing datagrams queued by udp_send, written by one sendmmsg (udp_flush). */
	struct loop_timer flush_timer;
	unsigned nsend;
	bool gso; /* UDP_SEGMENT usable (until the kernel says otherwise) */
	uint16_t slen[UDP_SEND_BATCH];
	struct udp_addr sto[UDP_SEND_BATCH];
	uint8_t sbufs[UDP_SEND_BATCH][UDP_MAX_DATAGRAM];
};

/* UDP GSO (Linux ≥ 4.18, UDP_SEGMENT): consecutive queued datagrams to one address
 * of one size (the last may be shorter) go down the stack as one send and are cut
 * into datagrams at the bottom, so the per-packet kernel cost is paid once per run. */
#define UDP_GSO_MAX_BYTES 65000 /* under the 64 KiB IP payload limit */

static bool same_run(const struct udp_socket *s, unsigned first, unsigned i, size_t bytes)
{
	return udp_addr_equal(&s->sto[i], &s->sto[first]) && s->slen[i - 1] == s->slen[first] &&
	       s->slen[i] <= s->slen[first] && bytes + s->slen[i] <= UDP_GSO_MAX_BYTES;
}

/* Send queued datagrams [from, s->nsend).  Returns 0 or the last -errno. */
static int send_queued(struct udp_socket *s, unsigned from)
{
	struct mmsghdr msgs[UDP_SEND_BATCH];
	struct iovec iov[UDP_SEND_BATCH];
	unsigned first_pkt[UDP_SEND_BATCH], nmsg = 0, done = 0;
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctl[UDP_SEND_BATCH];
	int rc = 0;

	for (unsigned i = from; i < s->nsend;) {
		unsigned first = i;
		size_t bytes = s->slen[i];
		struct msghdr *h = &msgs[nmsg].msg_hdr;

		iov[i] = (struct iovec){ s->sbufs[i], s->slen[i] };
		for (i++; s->gso && i < s->nsend && same_run(s, first, i, bytes); i++) {
			iov[i] = (struct iovec){ s->sbufs[i], s->slen[i] };
			bytes += s->slen[i];
		}
		*h = (struct msghdr){
			.msg_name = &s->sto[first].ss,
			.msg_namelen = s->sto[first].len,
			.msg_iov = &iov[first],
			.msg_iovlen = i - first,
		};
		if (i - first > 1) {
			struct cmsghdr *c;
			uint16_t seg = s->slen[first];

			h->msg_control = ctl[nmsg].buf;
			h->msg_controllen = sizeof(ctl[nmsg].buf);
			c = CMSG_FIRSTHDR(h);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(seg));
			memcpy(CMSG_DATA(c), &seg, sizeof(seg));
		}
		first_pkt[nmsg++] = first;
	}
	while (done < nmsg) {
		int n = sendmmsg(s->lfd.fd, msgs + done, nmsg - done, MSG_DONTWAIT);
		if (n > 0) {
			done += (unsigned)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && msgs[done].msg_hdr.msg_controllen &&
		    (errno == EINVAL || errno == EIO || errno == ENOPROTOOPT || errno == EOPNOTSUPP)) {
			/* No GSO here (old kernel, a device without it): plain datagrams from
			 * now on, starting with this run. */
			s->gso = false;
			return send_queued(s, first_pkt[done]);
		}
		/* EAGAIN (kernel buffer full) or an error for the message at the head (e.g.
		 * unreachable address): drop it, as sendto would have, and go on. */
		rc = n < 0 ? -errno : -EIO;
		done++;
	}
	return rc;
}

int udp_flush(struct udp_socket *s)
{
	int rc;

	if (!s->nsend)
		return 0;
	loop_timer_cancel(s->loop, &s->flush_timer);
	rc = send_queued(s, 0);
	s->nsend = 0;
	return rc;
}

static void flush_timer_cb(struct loop_timer *t)
{
	udp_flush(container_of(t, struct udp_socket, flush_timer));
}

static void udp_cb(struct loop_fd *lfd, uint32_t events)
{
	struct udp_socket *s = container_of(lfd, struct udp_socket, lfd);
	struct mmsghdr msgs[UDP_RECV_BATCH];
	struct iovec iov[UDP_RECV_BATCH];

	/* Bounded per wake-up so one busy socket cannot starve timers and other fds. */
	for (int round = 0; round < 8; round++) {
		int n;
		for (int i = 0; i < UDP_RECV_BATCH; i++) {
			iov[i] = (struct iovec){ s->bufs[i], UDP_MAX_DATAGRAM };
			msgs[i] = (struct mmsghdr){ .msg_hdr = {
							    .msg_name = &s->from[i].ss,
							    .msg_namelen = sizeof(s->from[i].ss),
							    .msg_iov = &iov[i],
							    .msg_iovlen = 1,
						    } };
		}
		n = recvmmsg(lfd->fd, msgs, UDP_RECV_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
				continue;
			s->from[i].len = msgs[i].msg_hdr.msg_namelen;
			s->cb.on_datagram(s->user, s->bufs[i], msgs[i].msg_len, &s->from[i]);
		}
		if (n < UDP_RECV_BATCH)
			break;
	}
	/* Answers to this batch (SACK-clocked DTLS records, STUN responses) go out now. */
	udp_flush(s);
}

struct udp_socket *udp_socket_new(struct loop *l, const char *host, uint16_t port,
				  const struct udp_callbacks *cb, void *user, int *err)
{
	struct udp_socket *s;
	int fd, bufsz = 1 << 20;
	uint16_t bound = 0;

	if ((fd = sock_bind(host, port, SOCK_DGRAM, &bound)) < 0) {
		*err = fd;
		return NULL;
	}
	/* Bursts of DTLS records from many peers: bigger kernel buffers than the default. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	if (!(s = calloc(1, sizeof(*s)))) {
		close(fd);
		*err = -ENOMEM;
		return NULL;
	}
	s->cb = *cb;
	s->loop = l;
	s->gso = true;
	s->flush_timer.cb = flush_timer_cb;
	s->user = user;
	s->port = bound;
	s->lfd.fd = fd;
	s->lfd.cb = udp_cb;
	if ((*err = loop_fd_add(l, &s->lfd, EPOLLIN)) < 0) {
		close(fd);
		free(s);
		return NULL;
	}
	return s;
}

void udp_socket_free(struct udp_socket *s)
{
	if (!s)
		return;
	udp_flush(s);
	loop_timer_cancel(s->loop, &s->flush_timer);
	close(s->lfd.fd); /* closing removes it from epoll */
	free(s);
}

uint16_t udp_socket_port(const struct udp_socket *s)
{
	return s->port;
}

int udp_socket_fd(const struct udp_socket *s)
{
	return s->lfd.fd;
}

int udp_send(struct udp_socket *s, const uint8_t *data, size_t len, const struct udp_addr *to)
{
	int rc = 0;

	if (len > UDP_MAX_DATAGRAM)
		return -EMSGSIZE;
	if (s->nsend == UDP_SEND_BATCH)
		rc = udp_flush(s);
	memcpy(s->sbufs[s->nsend], data, len);
	s->slen[s->nsend] = (uint16_t)len;
	s->sto[s->nsend] = *to;
	if (s->nsend++ == 0 && !loop_timer_pending(&s->flush_timer))
		loop_timer_set(s->loop, &s->flush_timer, 0);
	return rc;
}

bool udp_addr_equal(const struct udp_addr *a, const struct udp_addr *b)
{
	if (a->ss.ss_family != b->ss.ss_family)
		return false;
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)&a->ss, *y = (const void *)&b->ss;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)&a->ss, *y = (const void *)&b->ss;
		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return false;
}

const char *udp_addr_format(const struct udp_addr *a, char *buf, size_t cap)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)&a->ss;
		inet_ntop(AF_INET, &x->sin_addr, host, sizeof(host));
		snprintf(buf, cap, "%s:%u", host, ntohs(x->sin_port));
	} else if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)&a->ss;
		inet_ntop(AF_INET6, &x->sin6_addr, host, sizeof(host));
		snprintf(buf, cap, "[%s]:%u", host, ntohs(x->sin6_port));
	} else {
		snprintf(buf, cap, "?");
	}
	return buf;
}

uint32_t udp_addr_hash(const struct udp_addr *a)
{
	/* FNV-1a over address and port. */
	const uint8_t *p;
	size_t n;
	uint32_t h = 2166136261u;

	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)&a->ss;
		h = (h ^ (x->sin_port & 0xff)) * 16777619u;
		h = (h ^ (x->sin_port >> 8)) * 16777619u;
		p = (const uint8_t *)&x->sin_addr;
		n = sizeof(x->sin_addr);
	} else {
		const struct sockaddr_in6 *x = (const void *)&a->ss;
		h = (h ^ (x->sin6_port & 0xff)) * 16777619u;
		h = (h ^ (x->sin6_port >> 8)) * 16777619u;
		p = (const uint8_t *)&x->sin6_addr;
		n = sizeof(x->sin6_addr);
	}
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}
