/* udp: the non-blocking UDP socket pear-fogd's WebRTC peers share (one port for all,
 * demultiplexed by the caller per RFC 7983 and by remote address). */
#ifndef PEARFOG_UDP_H
#define PEARFOG_UDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "loop.h"

#define UDP_MAX_DATAGRAM 2048 /* larger datagrams are truncated → dropped by their parser */
#define UDP_RECV_BATCH 32
#define UDP_SEND_BATCH 32 /* datagrams queued before a sendmmsg */

struct udp_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

struct udp_socket;

struct udp_callbacks {
	void (*on_datagram)(void *user, const uint8_t *data, size_t len, const struct udp_addr *from);
};

/* Bind host:port ("0.0.0.0", "::", "127.0.0.1"; port 0 = ephemeral). */
struct udp_socket *udp_socket_new(struct loop *l, const char *host, uint16_t port,
				  const struct udp_callbacks *cb, void *user, int *err);
void udp_socket_free(struct udp_socket *s);
uint16_t udp_socket_port(const struct udp_socket *s);
int udp_socket_fd(const struct udp_socket *s);
/* Queue one datagram; queued datagrams go out in order with one sendmmsg(2) when
 * UDP_SEND_BATCH are queued, after the socket's receive batch has been handled, or
 * from a zero-delay loop timer, whichever comes first (one syscall per batch instead
 * of one per packet: the kernel side was ~30% of the sender's CPU).  Returns 0, or
 * -errno of an earlier datagram of a full batch (EAGAIN: kernel buffer full, that
 * datagram dropped, as UDP may), -EMSGSIZE for a datagram over UDP_MAX_DATAGRAM. */
int udp_send(struct udp_socket *s, const uint8_t *data, size_t len, const struct udp_addr *to);
/* Write the queued datagrams now.  Returns 0 or the last -errno. */
int udp_flush(struct udp_socket *s);

bool udp_addr_equal(const struct udp_addr *a, const struct udp_addr *b);
/* "1.2.3.4:5" or "[::1]:5" into buf (at least 64 bytes). */
const char *udp_addr_format(const struct udp_addr *a, char *buf, size_t cap);
uint32_t udp_addr_hash(const struct udp_addr *a);

#endif
