/* stun_client: server-reflexive address discovery and NAT keepalive (stun_client.h). */
#include "stun_client.h"
#include "crypto.h"

#include <netinet/in.h>
#include <string.h>

static bool same_addr(const struct sockaddr *a, socklen_t al, const struct sockaddr *b,
		      socklen_t bl)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET && al >= (socklen_t)sizeof(struct sockaddr_in) &&
	    bl >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6 && al >= (socklen_t)sizeof(struct sockaddr_in6) &&
	    bl >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return false;
}

int stun_client_init(struct stun_client *c, const struct sockaddr *server, socklen_t len,
		     uint64_t now_ms)
{
	memset(c, 0, sizeof(*c));
	if (!server || (server->sa_family != AF_INET && server->sa_family != AF_INET6) ||
	    (size_t)len > sizeof(c->server))
		return STUN_E_INVALID;
	memcpy(&c->server, server, (size_t)len);
	c->server_len = len;
	c->next_ms = now_ms;
	return STUN_OK;
}

uint64_t stun_client_next_ms(const struct stun_client *c)
{
	return c->next_ms;
}

size_t stun_client_poll(struct stun_client *c, uint64_t now_ms, uint8_t *buf, size_t cap)
{
	struct stun_builder b;
	size_t len = 0;

	if (now_ms < c->next_ms)
		return 0;
	if (c->in_flight && c->tries >= STUN_CLIENT_RC) {
		/* §6.2.1: Rc transmissions without an answer: the transaction failed */
		c->in_flight = false;
		c->failures++;
		c->next_ms = now_ms + STUN_CLIENT_RETRY_MS;
		return 0;
	}
	if (!c->in_flight) {
		if (crypto_random(c->txid, STUN_TXID_LEN) < 0)
			return 0;
		c->in_flight = true;
		c->tries = 0;
		c->rto_ms = STUN_CLIENT_RTO_MS;
	}
	/* §6.1: a Binding request with no attributes; FINGERPRINT lets the server (and
	 * us, demultiplexing) tell it from other protocols on the port (§7) */
	stun_builder_init(&b, buf, cap, stun_msg_type(STUN_METHOD_BINDING, STUN_CLASS_REQUEST),
			  c->txid);
	if (stun_builder_finish(&b, NULL, 0, &len) != STUN_OK)
		return 0;
	c->tries++;
	c->requests++;
	c->next_ms = now_ms + c->rto_ms;
	c->rto_ms *= 2;
	return len;
}

enum stun_client_result stun_client_on_response(struct stun_client *c, const uint8_t *pkt,
						size_t len, const struct stun_msg *msg,
						const struct sockaddr *from, socklen_t fromlen,
						uint64_t now_ms)
{
	const struct stun_addr *sa;
	struct sockaddr_storage ss;
	socklen_t sl;
	bool changed;

	if (!c->in_flight || msg->method != STUN_METHOD_BINDING ||
	    (msg->cls != STUN_CLASS_SUCCESS && msg->cls != STUN_CLASS_ERROR) ||
	    memcmp(msg->txid, c->txid, STUN_TXID_LEN) != 0)
		return STUN_CLIENT_NOT_OURS;
	/* RFC 8489 §6.3.3/§7: the response comes from where we sent the request */
	if (!same_addr(from, fromlen, (const struct sockaddr *)&c->server, c->server_len))
		return STUN_CLIENT_NOT_OURS;
	if ((msg->present & STUN_HAS_FINGERPRINT) && !stun_msg_check_fingerprint(pkt, len, msg))
		return STUN_CLIENT_NOT_OURS;
	c->in_flight = false;
	if (msg->cls == STUN_CLASS_ERROR) {
		c->errors++;
		c->next_ms = now_ms + STUN_CLIENT_RETRY_MS;
		return STUN_CLIENT_REFUSED;
	}
	/* §14.2 XOR-MAPPED-ADDRESS; §14.1 MAPPED-ADDRESS from RFC 3489 servers */
	sa = (msg->present & STUN_HAS_XOR_MAPPED) ? &msg->xor_mapped
	     : (msg->present & STUN_HAS_MAPPED)   ? &msg->mapped
						  : NULL;
	if (!sa || sa->family != c->server.ss_family || !(sl = stun_addr_to_sockaddr(sa, &ss))) {
		c->errors++;
		c->next_ms = now_ms + STUN_CLIENT_RETRY_MS;
		return STUN_CLIENT_REFUSED;
	}
	changed = !c->have_mapped ||
		  !same_addr((const struct sockaddr *)&ss, sl, (const struct sockaddr *)&c->mapped,
			     c->mapped_len);
	c->mapped = ss;
	c->mapped_len = sl;
	c->have_mapped = true;
	c->mapped_ms = now_ms;
	c->successes++;
	c->next_ms = now_ms + STUN_CLIENT_REFRESH_MS;
	return changed ? STUN_CLIENT_CHANGED : STUN_CLIENT_MAPPED;
}

const struct sockaddr *stun_client_mapped(const struct stun_client *c, uint64_t now_ms,
					  socklen_t *len)
{
	if (!c->have_mapped || now_ms - c->mapped_ms > STUN_CLIENT_STALE_MS)
		return NULL;
	if (len)
		*len = c->mapped_len;
	return (const struct sockaddr *)&c->mapped;
}
