/* libFuzzer: the full ICE agent (ice_agent), the STUN client (stun_client) and the trickled
 * candidate parser (sdp_candidate_parse) never crash, leak or break their invariants.
 *
 * One agent (remote "rEm1"/"remote+password/remote+", IPv4 socket) with two remote
 * candidates and a check in flight, one STUN client with a request in flight.  The input is
 *   - parsed as a trickled candidate line and, if it parses, added to the agent;
 *   - fed as a datagram twice: as it is, and with the transaction id of the agent's
 *     in-flight check (or the client's request) patched in and MESSAGE-INTEGRITY (remote
 *     pwd) and FINGERPRINT recomputed, so the response paths behind authentication run.
 * Invariants: n_pairs <= ICE_MAX_PAIRS; every check ice_agent_poll writes parses, carries
 * FINGERPRINT and MESSAGE-INTEGRITY valid with the remote pwd and goes to a pair's address;
 * a mapped address the client reports has the server's family. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>


#include "crypto.h"
#include "ice_agent.h"
#include "sdp.h"
#include "stun.h"
#include "stun_client.h"

#define R_UFRAG "rEm1"
#define R_PWD "remote+password/remote+"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fix_up(uint8_t *buf, const struct stun_msg *m)
{
	uint8_t tmp[STUN_MAX_MSG_LEN];
	uint8_t mac[CRYPTO_MAX_MD_LEN];
	uint32_t crc;
	size_t off;

	if (m->present & STUN_HAS_MI) {
		off = m->mi_offset;
		memcpy(tmp, buf, off);
		tmp[2] = (uint8_t)((off + 24 - STUN_HEADER_LEN) >> 8);
		tmp[3] = (uint8_t)(off + 24 - STUN_HEADER_LEN);
		struct crypto_buf whole = { tmp, off };

		if (crypto_hmac(CRYPTO_SHA1, (const uint8_t *)R_PWD, strlen(R_PWD), &whole, 1, mac) ==
		    0)
			memcpy(buf + off + 4, mac, STUN_MI_LEN);
	}
	if (m->present & STUN_HAS_FINGERPRINT) {
		off = m->fingerprint_offset;
		memcpy(tmp, buf, STUN_HEADER_LEN);
		tmp[2] = (uint8_t)((off + 8 - STUN_HEADER_LEN) >> 8);
		tmp[3] = (uint8_t)(off + 8 - STUN_HEADER_LEN);
		crc = stun_crc32(0, tmp, STUN_HEADER_LEN);
		crc = stun_crc32(crc, buf + STUN_HEADER_LEN, off - STUN_HEADER_LEN);
		crc ^= STUN_FINGERPRINT_XOR;
		buf[off + 4] = (uint8_t)(crc >> 24);
		buf[off + 5] = (uint8_t)(crc >> 16);
		buf[off + 6] = (uint8_t)(crc >> 8);
		buf[off + 7] = (uint8_t)crc;
	}
}

static void check_poll(struct ice_agent *a, uint64_t now)
{
	uint8_t buf[ICE_REQ_MAX];
	struct sockaddr_storage to;
	socklen_t tolen = 0;
	struct stun_msg m;
	size_t n = ice_agent_poll(a, now, buf, sizeof(buf), &to, &tolen);

	if (a->n_pairs > ICE_MAX_PAIRS)
		abort();
	if (!n)
		return;
	if (stun_msg_parse(buf, n, &m) != STUN_OK || !stun_msg_check_fingerprint(buf, n, &m) ||
	    !stun_msg_check_integrity(buf, n, &m, (const uint8_t *)R_PWD, strlen(R_PWD)) ||
	    !(m.present & STUN_HAS_ICE_CONTROLLED) || to.ss_family != AF_INET)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const lines[] = {
		"candidate:1 1 udp 2122260223 192.0.2.7 50000 typ host",
		"candidate:2 1 udp 1686052607 198.51.100.9 40000 typ srflx raddr 0.0.0.0 rport 0",
	};
	struct sockaddr_in srv = { 0 }, from = { 0 };
	struct ice_agent a;
	struct stun_client c;
	struct sdp_candidate cand;
	uint8_t buf[STUN_MAX_MSG_LEN], req[ICE_REQ_MAX], resp[ICE_LITE_RESP_MAX];
	struct sockaddr_storage to;
	socklen_t tolen = 0;
	struct stun_msg m;
	size_t n, rl;

	if (size > STUN_MAX_MSG_LEN)
		return 0;
	if (ice_agent_init(&a, R_UFRAG, R_PWD, true, AF_INET) != ICE_LITE_OK)
		abort();
	for (size_t i = 0; i < 2; i++) {
		if (sdp_candidate_parse(lines[i], strlen(lines[i]), &cand) != SDP_OK ||
		    ice_agent_add_remote(&a, &cand, 0) != ICE_AGENT_OK)
			abort();
	}
	if (sdp_candidate_parse((const char *)data, size, &cand) == SDP_OK)
		(void)ice_agent_add_remote(&a, &cand, 0);
	n = ice_agent_poll(&a, 0, req, sizeof(req), &to, &tolen);
	if (!n)
		abort();
	srv.sin_family = AF_INET;
	srv.sin_port = htons(3478);
	srv.sin_addr.s_addr = htonl(0xC6336402);
	stun_client_init(&c, (struct sockaddr *)&srv, sizeof(srv), 0);
	if (!stun_client_poll(&c, 0, buf, sizeof(buf)))
		abort();

	/* as it is, from the first pair's address */
	memcpy(&from, &to, sizeof(from));
	rl = sizeof(resp);
	(void)ice_agent_on_stun(&a, data, size, (struct sockaddr *)&from, sizeof(from), 10, resp,
				&rl);
	check_poll(&a, 60);
	/* with our transaction id, MI and FINGERPRINT fixed */
	memcpy(buf, data, size);
	if (size >= STUN_HEADER_LEN) {
		memcpy(buf + 8, req + 8, STUN_TXID_LEN);
		if (stun_msg_parse(buf, size, &m) == STUN_OK) {
			fix_up(buf, &m);
			rl = sizeof(resp);
			(void)ice_agent_on_stun(&a, buf, size, (struct sockaddr *)&from,
						sizeof(from), 20, resp, &rl);
			check_poll(&a, 200);
			memcpy(buf + 8, c.txid, STUN_TXID_LEN);
			fix_up(buf, &m);
			if (stun_msg_parse(buf, size, &m) == STUN_OK &&
			    stun_client_on_response(&c, buf, size, &m, (struct sockaddr *)&srv,
						    sizeof(srv), 30) >= STUN_CLIENT_MAPPED &&
			    c.have_mapped && c.mapped.ss_family != AF_INET)
				abort();
		}
	}
	(void)ice_lite_expired(&a.lite, 100000);
	return 0;
}
