/* stun_client: learn pear-fogd's server-reflexive address (RFC 8445 §5.1.1.2) from one
 * STUN server with Binding requests sent from the gateway's own UDP socket, and keep the
 * NAT mapping alive by asking again every STUN_CLIENT_REFRESH_MS.
 *
 * No I/O and no clock, like ice_lite: the caller asks stun_client_poll() for a request to
 * send (when one is due) and hands every STUN success/error response that arrives on the
 * socket to stun_client_on_response(), which says whether it was ours.
 *
 * Transactions (RFC 8489 §6.2.1): RTO starts at STUN_CLIENT_RTO_MS and doubles, Rc = 7
 * transmissions; a transaction that gets no answer fails, and the next one starts after
 * STUN_CLIENT_RETRY_MS.  The last mapped address is kept until a response says otherwise
 * (a NAT reboot changes it) or STUN_CLIENT_STALE_MS pass without any answer.
 * A response counts only when its transaction id is ours, it comes from the server's
 * address, it passes FINGERPRINT when present and carries an XOR-MAPPED-ADDRESS (or the
 * RFC 3489 MAPPED-ADDRESS) of the socket's family. */
#ifndef PEARFOG_STUN_CLIENT_H
#define PEARFOG_STUN_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "stun.h"

#define STUN_CLIENT_RTO_MS 500	   /* RFC 8489 §6.2.1 initial RTO */
#define STUN_CLIENT_RC 7	   /* transmissions per transaction */
#define STUN_CLIENT_REFRESH_MS 20000 /* re-ask (and keep the mapping) after a success */
#define STUN_CLIENT_RETRY_MS 10000 /* after a failed transaction */
#define STUN_CLIENT_STALE_MS 120000 /* forget the mapping after this long without answers */
#define STUN_CLIENT_REQ_MAX 64	   /* Binding request with FINGERPRINT: 28 bytes */

enum stun_client_result {
	STUN_CLIENT_NOT_OURS = 0,	/* not our transaction: try the ICE agents */
	STUN_CLIENT_MAPPED,		/* success; the mapped address is fresh */
	STUN_CLIENT_CHANGED,		/* success; the mapped address changed (or is new) */
	STUN_CLIENT_REFUSED,		/* ours, but an error response or unusable */
};

struct stun_client {
	struct sockaddr_storage server;
	socklen_t server_len;
	uint8_t txid[STUN_TXID_LEN];
	bool in_flight;
	unsigned tries;
	uint64_t next_ms;		/* next transmission due */
	uint64_t rto_ms;
	bool have_mapped;
	struct sockaddr_storage mapped;
	socklen_t mapped_len;
	uint64_t mapped_ms;		/* last success */
	uint64_t requests, successes, failures, errors;
};

/* Start with a request due at now_ms.  server: an AF_INET/AF_INET6 address. */
int stun_client_init(struct stun_client *c, const struct sockaddr *server, socklen_t len,
		     uint64_t now_ms);
/* If a transmission is due at now_ms, write the Binding request into buf and return its
 * length (0: nothing due).  Fresh transaction ids come from crypto_random. */
size_t stun_client_poll(struct stun_client *c, uint64_t now_ms, uint8_t *buf, size_t cap);
/* When stun_client_poll next wants to send. */
uint64_t stun_client_next_ms(const struct stun_client *c);
/* A parsed STUN response (msg, from pkt/len) that arrived from `from`. */
enum stun_client_result stun_client_on_response(struct stun_client *c, const uint8_t *pkt,
						size_t len, const struct stun_msg *msg,
						const struct sockaddr *from, socklen_t fromlen,
						uint64_t now_ms);
/* The current server-reflexive address, NULL when none (or stale at now_ms). */
const struct sockaddr *stun_client_mapped(const struct stun_client *c, uint64_t now_ms,
					  socklen_t *len);

#endif
