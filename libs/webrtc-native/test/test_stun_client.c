/* stun_client: Binding requests, retransmissions, the mapped address, and what is refused. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "stun.h"
#include "stun_client.h"
#include "test.h"

static struct sockaddr_in addr4(const char *ip, uint16_t port)
{
	struct sockaddr_in s;

	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_port = htons(port);
	inet_pton(AF_INET, ip, &s.sin_addr);
	return s;
}

/* What a STUN server answers (RFC 8489 §6.3.1): XOR-MAPPED-ADDRESS, FINGERPRINT. */
static size_t server_answer(const uint8_t *req, size_t len, const struct sockaddr_in *mapped,
			    uint8_t *out, size_t cap)
{
	struct stun_msg m;
	size_t n = 0;

	CHECK_EQ_INT(stun_msg_parse(req, len, &m), STUN_OK);
	CHECK_EQ_INT(stun_build_binding_success(out, cap, m.txid, (const struct sockaddr *)mapped,
						sizeof(*mapped), NULL, 0, &n),
		     STUN_OK);
	return n;
}

static enum stun_client_result feed(struct stun_client *c, const uint8_t *pkt, size_t len,
				    const struct sockaddr_in *from, uint64_t now)
{
	struct stun_msg m;

	if (stun_msg_parse(pkt, len, &m) != STUN_OK)
		return STUN_CLIENT_NOT_OURS;
	return stun_client_on_response(c, pkt, len, &m, (const struct sockaddr *)from,
				       sizeof(*from), now);
}

TEST(request_and_mapping)
{
	struct sockaddr_in srv = addr4("198.51.100.2", 3478), me = addr4("203.0.113.9", 4242);
	struct stun_client c;
	uint8_t req[STUN_CLIENT_REQ_MAX], resp[128];
	struct stun_msg m;
	socklen_t ml = 0;
	const struct sockaddr_in *got;
	size_t n, rl;

	CHECK_EQ_INT(stun_client_init(&c, (struct sockaddr *)&srv, sizeof(srv), 100), STUN_OK);
	CHECK(stun_client_mapped(&c, 100, NULL) == NULL);
	n = stun_client_poll(&c, 100, req, sizeof(req));
	CHECK_EQ_INT(n, 28); /* header + FINGERPRINT */
	CHECK_EQ_INT(stun_msg_parse(req, n, &m), STUN_OK);
	CHECK_EQ_INT(m.cls, STUN_CLASS_REQUEST);
	CHECK_EQ_INT(m.method, STUN_METHOD_BINDING);
	CHECK(stun_msg_check_fingerprint(req, n, &m));
	CHECK_EQ_INT(stun_client_poll(&c, 100, req, sizeof(req)), 0); /* not due yet */
	rl = server_answer(req, n, &me, resp, sizeof(resp));
	CHECK_EQ_INT(feed(&c, resp, rl, &srv, 150), STUN_CLIENT_CHANGED);
	got = (const struct sockaddr_in *)stun_client_mapped(&c, 150, &ml);
	CHECK(got != NULL);
	CHECK_EQ_INT(ml, sizeof(struct sockaddr_in));
	CHECK_EQ_INT(got->sin_port, htons(4242));
	CHECK_EQ_INT(got->sin_addr.s_addr, me.sin_addr.s_addr);
	/* the same answer again is not ours any more (transaction over) */
	CHECK_EQ_INT(feed(&c, resp, rl, &srv, 160), STUN_CLIENT_NOT_OURS);
	/* refreshed after STUN_CLIENT_REFRESH_MS; an unchanged mapping is MAPPED */
	CHECK_EQ_INT(stun_client_poll(&c, 150 + STUN_CLIENT_REFRESH_MS - 1, req, sizeof(req)), 0);
	n = stun_client_poll(&c, 150 + STUN_CLIENT_REFRESH_MS, req, sizeof(req));
	CHECK(n > 0);
	rl = server_answer(req, n, &me, resp, sizeof(resp));
	CHECK_EQ_INT(feed(&c, resp, rl, &srv, 150 + STUN_CLIENT_REFRESH_MS), STUN_CLIENT_MAPPED);
	/* stale after STUN_CLIENT_STALE_MS without answers */
	CHECK(stun_client_mapped(&c, 150 + STUN_CLIENT_REFRESH_MS + STUN_CLIENT_STALE_MS + 1,
				 NULL) == NULL);
}

TEST(not_ours)
{
	struct sockaddr_in srv = addr4("198.51.100.2", 3478), other = addr4("198.51.100.3", 3478);
	struct sockaddr_in me = addr4("203.0.113.9", 4242);
	struct stun_client c;
	uint8_t req[STUN_CLIENT_REQ_MAX], resp[128];
	size_t n, rl;

	stun_client_init(&c, (struct sockaddr *)&srv, sizeof(srv), 0);
	n = stun_client_poll(&c, 0, req, sizeof(req));
	rl = server_answer(req, n, &me, resp, sizeof(resp));
	/* from another address than the server (RFC 8489 §6.3.3 / spoofing) */
	CHECK_EQ_INT(feed(&c, resp, rl, &other, 1), STUN_CLIENT_NOT_OURS);
	/* another transaction id */
	resp[8] ^= 1;
	CHECK_EQ_INT(feed(&c, resp, rl, &srv, 1), STUN_CLIENT_NOT_OURS);
	resp[8] ^= 1;
	/* a broken FINGERPRINT */
	resp[rl - 1] ^= 1;
	CHECK_EQ_INT(feed(&c, resp, rl, &srv, 1), STUN_CLIENT_NOT_OURS);
	resp[rl - 1] ^= 1;
	CHECK_EQ_INT(feed(&c, resp, rl, &srv, 1), STUN_CLIENT_CHANGED);
}

TEST(error_and_no_address)
{
	struct sockaddr_in srv = addr4("198.51.100.2", 3478);
	struct stun_client c;
	uint8_t req[STUN_CLIENT_REQ_MAX], resp[128];
	struct stun_msg m;
	struct stun_builder b;
	size_t n, rl = 0;

	stun_client_init(&c, (struct sockaddr *)&srv, sizeof(srv), 0);
	n = stun_client_poll(&c, 0, req, sizeof(req));
	CHECK_EQ_INT(stun_msg_parse(req, n, &m), STUN_OK);
	CHECK_EQ_INT(stun_build_error(resp, sizeof(resp), STUN_METHOD_BINDING, m.txid, 400, NULL, 0,
				      NULL, 0, &rl),
		     STUN_OK);
	CHECK_EQ_INT(feed(&c, resp, rl, &srv, 1), STUN_CLIENT_REFUSED);
	CHECK_EQ_INT(c.errors, 1);
	/* a success without any mapped address is refused too */
	CHECK_EQ_INT(stun_client_poll(&c, 1, req, sizeof(req)), 0);
	n = stun_client_poll(&c, 1 + STUN_CLIENT_RETRY_MS, req, sizeof(req));
	CHECK(n > 0);
	CHECK_EQ_INT(stun_msg_parse(req, n, &m), STUN_OK);
	stun_builder_init(&b, resp, sizeof(resp), stun_msg_type(STUN_METHOD_BINDING, STUN_CLASS_SUCCESS),
			  m.txid);
	CHECK_EQ_INT(stun_builder_finish(&b, NULL, 0, &rl), STUN_OK);
	CHECK_EQ_INT(feed(&c, resp, rl, &srv, 2 + STUN_CLIENT_RETRY_MS), STUN_CLIENT_REFUSED);
	CHECK(stun_client_mapped(&c, 3 + STUN_CLIENT_RETRY_MS, NULL) == NULL);
}

TEST(retransmissions)
{
	struct sockaddr_in srv = addr4("198.51.100.2", 3478);
	struct stun_client c;
	uint8_t req[STUN_CLIENT_REQ_MAX], first[12];
	struct stun_msg m;
	unsigned sent = 0;
	uint64_t now;
	size_t n;

	stun_client_init(&c, (struct sockaddr *)&srv, sizeof(srv), 0);
	/* RFC 8489 §6.2.1: Rc transmissions of one transaction (same txid), RTO doubling */
	for (now = 0; now < 70000 && c.failures == 0; now += 10) {
		if (!(n = stun_client_poll(&c, now, req, sizeof(req))))
			continue;
		CHECK_EQ_INT(stun_msg_parse(req, n, &m), STUN_OK);
		if (sent++ == 0)
			memcpy(first, m.txid, 12);
		else
			CHECK_MEM(first, m.txid, 12);
	}
	CHECK_EQ_INT(sent, STUN_CLIENT_RC);
	CHECK_EQ_INT(c.failures, 1);
	/* 500 * (1 + 2 + ... + 64) ms */
	CHECK(now >= (uint64_t)STUN_CLIENT_RTO_MS * ((1u << STUN_CLIENT_RC) - 1));
	/* the next transaction has a new id */
	n = stun_client_poll(&c, now + STUN_CLIENT_RETRY_MS, req, sizeof(req));
	CHECK(n > 0);
	CHECK_EQ_INT(stun_msg_parse(req, n, &m), STUN_OK);
	CHECK(memcmp(first, m.txid, 12) != 0);
}

int main(void)
{
	RUN(request_and_mapping);
	RUN(not_ours);
	RUN(error_and_no_address);
	RUN(retransmissions);
	return test_summary();
}
