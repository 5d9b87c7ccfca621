/* sock: non-blocking sockets bound to a numeric host and port (UDP for WebRTC, TCP for
 * HTTP), shared by udp.c and http_server.c. */
#ifndef PEARFOG_SOCK_H
#define PEARFOG_SOCK_H

#include <stdint.h>

/* Bind a SOCK_DGRAM or SOCK_STREAM socket to host ("0.0.0.0", "::", "127.0.0.1": numeric
 * only) and port (0: ephemeral), SO_REUSEADDR set, non-blocking, close-on-exec; stream
 * sockets also listen.  Returns the fd and the bound port in *bound, or -errno (-EINVAL
 * for a host that is not a numeric address). */
int sock_bind(const char *host, uint16_t port, int type, uint16_t *bound);

#endif
